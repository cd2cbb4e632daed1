/* bot - the spamming client that drives the system: simulated riders and
 * drivers post their requests every interval (spread evenly over it), one
 * websocket receives their fares, each fare with a rating token gets a
 * random rating; it measures what came back and prints a summary (text, or
 * one JSON object with --json). All on one libuv loop: the HTTP client
 * (httpc.c), the websocket (wsc.c, libwebsockets) and the timers. This file:
 * the flags, the set-up (--replay's trace, --record's header, the
 * simulated riders and drivers), the wiring and the stop; the rest in the
 * files bot.h names. */
#include "bot.h"
#include "config.h"
#include "http_parse.h"
#include "log.h"
#include "svc.h"

#include <errno.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* the defaults of the flags (main's table) */
/* clang-format off */
struct bot B = {
    .run = {.riders = 50, .drivers = 50, .interval_ms = 1000, .area = 1000, .connections = 16},
    .o = {.ws_path = "/communication", .max_inflight = 1000, .timeout_ms = 5000, .drain_ms = 2000,
          .progress_s = 5, .grace_ms = 3000, .window_ms = 2000, .ping_ms = 5000, .dead_ms = 15000},
};
/* clang-format on */

uint64_t bot_now_us(void)
{
	return uv_hrtime() / 1000;
}

static void close_timer(uv_timer_t *t)
{
	if (!uv_is_closing((uv_handle_t *)t))
		uv_close((uv_handle_t *)t, NULL);
}

void bot_finish(void)
{
	if (B.finished)
		return;
	B.finished = 1;
	B.draining = 0;
	B.end_ns = uv_hrtime();
	summary_print();
	close_timer(&B.tick);
	close_timer(&B.housekeeping);
	close_timer(&B.drain);
	close_timer(&B.wait_ws);
	if (B.ws)
		wsc_close(B.ws);
	hc_close(B.http);
	hc_close(B.http_rating);
	svc_close();
}

static void on_stop(void *priv)
{
	if (!B.start_ns) { /* still waiting for the websocket: nothing sent */
		B.start_ns = uv_hrtime();
		bot_finish();
	} else if (B.sending)
		drive_stop(1);
	else if (B.draining) {
		B.drain_deadline_ns = uv_hrtime(); /* stop waiting for fares */
		B.hurry = 1;
	}
}

static void on_ws_wait(uv_timer_t *t)
{
	log_warn("websocket: no welcome within %d ms: sending anyway (fares pushed before it "
	         "connects do not reach us)",
	         WS_WAIT_MS);
	drive_start();
}

static void lws_emit(int level, const char *line)
{
	size_t n = strlen(line);

	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	log_msg(level == LLL_ERR ? LOG_ERROR : LOG_WARN, "lws: %.*s", (int)n, line);
}

/* --replay: the whole trace is read before the loop starts */
static int load_replay(void)
{
	FILE *f = strcmp(B.o.replay_path, "-") == 0 ? stdin : fopen(B.o.replay_path, "rb");
	char *buf = NULL, err[300];
	size_t len = 0, cap = 0, n;

	if (!f) {
		fprintf(stderr, "bot: --replay %s: %s\n", B.o.replay_path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (cap - len < 65536) {
			char *nb = realloc(buf, cap ? cap * 2 : 1 << 20);

			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap = cap ? cap * 2 : 1 << 20;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (!buf || ferror(f)) {
		fprintf(stderr, "bot: --replay %s: cannot read it\n", B.o.replay_path);
		free(buf);
		if (f != stdin)
			fclose(f);
		return -1;
	}
	if (f != stdin)
		fclose(f);
	if (trace_load(&B.tr, buf, len, err, sizeof(err)) < 0) {
		fprintf(stderr, "bot: --replay %s: %s\n", B.o.replay_path, err);
		return -1;
	}
	if (!B.tr.n) {
		fprintf(stderr, "bot: --replay %s: no requests in it\n", B.o.replay_path);
		return -1;
	}
	B.replay_speed = 1;
	if (B.o.replay_speed_opt) {
		char *end;

		B.replay_speed = strtod(B.o.replay_speed_opt, &end);
		if (*end || !(B.replay_speed > 0) || B.replay_speed > 1000) {
			fprintf(stderr,
			        "bot: --replay-speed must be a number in (0, 1000], got \"%s\"\n",
			        B.o.replay_speed_opt);
			return -1;
		}
	}
	/* what the summary shows: the recorded settings; one entity per kind */
	B.run.riders = B.tr.h.riders;
	B.run.drivers = B.tr.h.drivers;
	B.run.interval_ms = B.tr.h.interval_ms ? B.tr.h.interval_ms : B.run.interval_ms;
	B.run.open_loop = 1;
	B.run.rate_riders = B.run.rate_drivers = 0;
	return 0;
}

static int setup(void)
{
	if (hurl_parse(B.o.url, B.host, sizeof(B.host), &B.port, B.prefix, sizeof(B.prefix)) < 0) {
		fprintf(stderr, "bot: --url must look like http://host:port, got \"%s\"\n",
		        B.o.url);
		return -1;
	}
	snprintf(B.path_rider, sizeof(B.path_rider), "%s/rider", B.prefix);
	snprintf(B.path_driver, sizeof(B.path_driver), "%s/driver", B.prefix);
	snprintf(B.path_rating, sizeof(B.path_rating), "%s/rating", B.prefix);
	if (B.o.client_id_opt && *B.o.client_id_opt) {
		if (strlen(B.o.client_id_opt) >= sizeof(B.run.client_id)) {
			fprintf(stderr, "bot: --client-id is 1-64 of [A-Za-z0-9_.-]\n");
			return -1;
		}
		strcpy(B.run.client_id, B.o.client_id_opt);
	} else {
		snprintf(B.run.client_id, sizeof(B.run.client_id), "bot-%d-%04x", (int)getpid(),
		         (unsigned)(gen_u64(&B.rng) & 0xffff));
	}
	for (const char *c = B.run.client_id; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '_' || *c == '.' || *c == '-')) {
			fprintf(stderr, "bot: --client-id is 1-64 of [A-Za-z0-9_.-]\n");
			return -1;
		}
	if (B.run.interval_ms < 1 || B.run.riders < 0 || B.run.drivers < 0 || B.run.area < 1 ||
	    B.run.connections < 1 || B.o.max_inflight < 1 || B.run.duration_s < 0 ||
	    B.run.rate_riders < 0 || B.run.rate_drivers < 0) {
		fprintf(stderr,
		        "bot: --interval-ms, --area, --connections and --max-inflight must be "
		        "positive; counts, rates and --duration not negative\n");
		return -1;
	}
	if (B.o.record_path) {
		B.rec_f = fopen(B.o.record_path, "wb");
		if (!B.rec_f) {
			fprintf(stderr, "bot: --record %s: %s\n", B.o.record_path, strerror(errno));
			return -1;
		}
		trace_format_header(&B.rec, &B.run);
	}
	if (B.run.hotspots < 0 || B.run.hotspots > GEN_HOT_MAX) {
		fprintf(stderr, "bot: --hotspots is 0 to %d\n", GEN_HOT_MAX);
		return -1;
	}
	gen_hot_init(&B.hot, &B.rng, B.run.area, B.run.hotspots);
	B.rate[KIND_RIDER] =
	    B.run.rate_riders > 0 ? B.run.rate_riders : B.run.riders * 1000.0 / B.run.interval_ms;
	B.rate[KIND_DRIVER] = B.run.rate_drivers > 0 ? B.run.rate_drivers
	                                             : B.run.drivers * 1000.0 / B.run.interval_ms;
	if (B.o.replay_path) { /* the summary's target rate: the trace's */
		double span = B.tr.req[B.tr.n - 1].t_ms / 1000.0 / B.replay_speed;

		for (size_t i = 0; i < B.tr.n; i++)
			B.rate[B.tr.req[i].kind] += 1;
		for (int kind = 0; kind < 2; kind++)
			B.rate[kind] = span > 0 ? B.rate[kind] / span : B.rate[kind];
	}
	for (int kind = 0; kind < 2; kind++) {
		int n = kind == KIND_RIDER ? B.run.riders : B.run.drivers;

		if (B.o.replay_path)
			n = 1; /* on_reply's bookkeeping; the bodies come from the trace */
		if (n == 0 && B.rate[kind] > 0)
			n = 1;
		B.nent[kind] = n;
		B.ent[kind] = calloc(n ? (size_t)n : 1, sizeof(struct entity));
		if (!B.ent[kind])
			return -1;
		for (int i = 0; i < n; i++) {
			B.ent[kind][i].name = gen_name(&B.rng);
			gen_car_number(&B.rng, B.ent[kind][i].car, sizeof(B.ent[kind][i].car));
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static char url_buf[64];
	int rc;

	snprintf(url_buf, sizeof(url_buf), "http://127.0.0.1:%d", cfg_stack_port(0));
	B.o.url = url_buf;

	/* the flags, one a line (not wrapped) */
	/* clang-format off */
	const struct opt opts[] = {
	    {"riders", "BOT_RIDERS", OPT_INT, &B.run.riders, "simulated riders, each posting once per interval"},
	    {"drivers", "BOT_DRIVERS", OPT_INT, &B.run.drivers, "simulated drivers, each posting once per interval"},
	    {"interval-ms", "BOT_INTERVAL_MS", OPT_INT, &B.run.interval_ms, "how often each rider and driver posts"},
	    {"rate-riders", "BOT_RATE_RIDERS", OPT_INT, &B.run.rate_riders, "rider requests per second instead of riders*1000/interval (0: derived)"},
	    {"rate-drivers", "BOT_RATE_DRIVERS", OPT_INT, &B.run.rate_drivers, "driver requests per second instead of drivers*1000/interval (0: derived)"},
	    {"duration", "BOT_DURATION", OPT_INT, &B.run.duration_s, "seconds of sending, then a summary (0: until Ctrl-C)"},
	    {"url", "BOT_URL", OPT_STR, &B.o.url, "the stack's public address (nginx); default from PORT"},
	    {"ws-path", "BOT_WS_PATH", OPT_STR, &B.o.ws_path, "websocket path under --url"},
	    {"no-ws", "BOT_NO_WS", OPT_FLAG, &B.o.no_ws, "no websocket: no fares, no ratings"},
	    {"client-id", "BOT_CLIENT_ID", OPT_STR, &B.o.client_id_opt, "client_id on requests and hello (default bot-<pid>-<random>)"},
	    {"area", "BOT_AREA", OPT_INT, &B.run.area, "coordinates are uniform in [0, area) squared"},
	    {"json", "BOT_JSON", OPT_FLAG, &B.o.json, "print the summary as one JSON object on stdout"},
	    {"open-loop", "BOT_OPEN_LOOP", OPT_FLAG, &B.run.open_loop, "send on schedule without waiting for replies (up to --max-inflight); otherwise a rider/driver whose previous request is in flight sends when it returns"},
	    {"max-inflight", "BOT_MAX_INFLIGHT", OPT_INT, &B.o.max_inflight, "open loop: requests queued or on the wire at most; more are counted unsent"},
	    {"connections", "BOT_CONNECTIONS", OPT_INT, &B.run.connections, "HTTP keep-alive connections for requests (as many again for ratings)"},
	    {"timeout-ms", "BOT_TIMEOUT_MS", OPT_INT, &B.o.timeout_ms, "per-request timeout (a transport error)"},
	    {"drain-ms", "BOT_DRAIN_MS", OPT_INT, &B.o.drain_ms, "after --duration, wait this long for fares and ratings"},
	    {"seed", "BOT_SEED", OPT_INT, &B.o.seed, "random seed (0: from the clock)"},
	    {"progress-s", "BOT_PROGRESS_S", OPT_INT, &B.o.progress_s, "a progress line on stderr every N seconds (0: none)"},
	    {"strict", "BOT_STRICT", OPT_FLAG, &B.o.strict, "exit 3 when an accepted rider got no fare though a driver of ours was free with it, or a fare went unrated; waits (bounded) after sending for the last riders to settle"},
	    {"grace-ms", "BOT_GRACE_MS", OPT_INT, &B.o.grace_ms, "a fare may come this long after its rider's TTL and still count as on time"},
	    {"pair-window-ms", "BOT_PAIR_WINDOW_MS", OPT_INT, &B.o.window_ms, "a rider without a fare is lost (not expired) when a driver of ours accepted within this many ms of it also got none"},
	    {"ping-ms", "BOT_PING_MS", OPT_INT, &B.o.ping_ms, "websocket PING (with payload) this often"},
	    {"dead-ms", "BOT_DEAD_MS", OPT_INT, &B.o.dead_ms, "no PONG nor message this long: close the websocket and reconnect"},
	    {"hotspots", "BOT_HOTSPOTS", OPT_INT, &B.run.hotspots, "0: points uniform; N (1-16): 80 % of points within area/20 of one of N random centres"},
	    {"record", "BOT_RECORD", OPT_STR, &B.o.record_path, "write every rider/driver request sent (t_ms, kind, exact body) to FILE as JSON lines, after a header with the seed and settings"},
	    {"replay", "BOT_REPLAY", OPT_STR, &B.o.replay_path, "send the requests of a --record FILE (- for stdin) in order at their recorded pace, client_id rewritten to ours; ends after the last one"},
	    {"replay-speed", "BOT_REPLAY_SPEED", OPT_STR, &B.o.replay_speed_opt, "--replay pace factor: 2 = twice as fast (default 1)"},
	    {NULL, NULL, 0, NULL, NULL},
	};
	/* clang-format on */

	rc = svc_begin(argc, argv, opts,
	               "The spamming client: riders and drivers post every interval, fares arrive\n"
	               "on the websocket, each fare with a token is rated; prints what it "
	               "measured.");
	if (rc >= 0)
		return rc;
	if (B.o.replay_path && load_replay() < 0)
		return 2;
	if (B.o.replay_path && !B.o.seed)
		B.run.seed = B.tr.h.seed; /* the ratings' random values as recorded */
	else
		B.run.seed =
		    B.o.seed ? (uint64_t)B.o.seed : uv_hrtime() ^ ((uint64_t)getpid() << 32);
	gen_seed(&B.rng, B.run.seed);
	if (setup() < 0)
		return 2;

	B.loop = uv_default_loop();
	svc_init(B.loop, on_stop, NULL);
	if (ledger_init(&B.led, (uint32_t)B.o.grace_ms, (uint32_t)B.o.window_ms) < 0)
		return 1;
	ledger_set_clock(&B.led, svc_now_ms(), bot_now_us());
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		bsplit_init(&B.split, ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000) -
		                          (int64_t)bot_now_us());
	}
	B.http = hc_new(B.loop, B.host, B.port, B.run.connections, B.o.timeout_ms);
	B.http_rating = hc_new(B.loop, B.host, B.port, B.run.connections, B.o.timeout_ms);
	if (!B.http || !B.http_rating)
		return 1;
	if (!B.o.no_ws) {
		struct wsc_opts wo = {
		    .ping_ms = B.o.ping_ms, .dead_ms = B.o.dead_ms, .seed = gen_u64(&B.rng)};
		char path[300];

		lws_set_log_level(LLL_ERR, lws_emit);
		snprintf(path, sizeof(path), "%s%s", B.prefix, B.o.ws_path);
		B.ws = wsc_new(B.loop, B.host, B.port, path, B.run.client_id, &fares_ws_ops, &wo,
		               NULL);
		if (!B.ws)
			return 1;
	}
	uv_timer_init(B.loop, &B.tick);
	uv_timer_init(B.loop, &B.housekeeping);
	uv_timer_init(B.loop, &B.drain);
	uv_timer_init(B.loop, &B.wait_ws);
	if (!B.o.json && B.o.replay_path)
		log_info("%s: replaying %zu requests of %s at %gx as client %s (recorded as %s)",
		         B.o.url, B.tr.n, B.o.replay_path, B.replay_speed, B.run.client_id,
		         B.tr.h.client_id);
	else if (!B.o.json)
		log_info(
		    "%s: %d riders + %d drivers (%.0f req/s) as client %s; Ctrl-C for the summary",
		    B.o.url, B.nent[0], B.nent[1], B.rate[0] + B.rate[1], B.run.client_id);
	if (B.ws)
		uv_timer_start(&B.wait_ws, on_ws_wait, WS_WAIT_MS, 0);
	else
		drive_start();
	uv_timer_start(&B.housekeeping, summary_progress, 1000, 1000);
	uv_timer_start(&B.drain, drive_drain, 20, 20);
	/* not svc_run: a client's ending differs. The websocket's lws context is
	 * destroyed after the loop has drained and before the loop is closed
	 * (wsc_free; svc_run does that only for lib/http's servers), the trace
	 * is written after the loop, and the exit status is the verdict (3
	 * under --strict), not 0. */
	uv_run(B.loop, UV_RUN_DEFAULT);

	if (B.rec_f) {
		int bad =
		    B.rec.oom || (B.rec.len && fwrite(B.rec.p, 1, B.rec.len, B.rec_f) != B.rec.len);

		if (fclose(B.rec_f) != 0 || bad) {
			fprintf(stderr, "bot: --record %s: could not write the trace\n",
			        B.o.record_path);
			if (!B.exit_code)
				B.exit_code = 1;
		}
		sbuf_free(&B.rec);
	}
	trace_free(&B.tr);
	wsc_free(B.ws);
	ledger_free(&B.led);
	bquality_free(&B.qual);
	bsplit_free(&B.split);
	sbuf_free(&B.body);
	free(B.ent[0]);
	free(B.ent[1]);
	uv_loop_close(B.loop);
	return B.exit_code;
}
