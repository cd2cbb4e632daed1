/* bot - the spamming client that drives the system: simulated riders and
 * drivers post their requests every interval (spread evenly over it), one
 * websocket receives their fares, each fare with a rating token gets a
 * random rating; it measures what came back and prints a summary (text, or
 * one JSON object with --json). All on one libuv loop: the HTTP client
 * (httpc.c), the websocket (wsc.c, libwebsockets) and the timers here. */
#include "config.h"
#include "reqgen.h"
#include "httpc.h"
#include "log.h"
#include "wsmsg.h"
#include "ledger.h"
#include "bstats.h"
#include "svc.h"
#include "wsc.h"
#include "http_parse.h"
#include "trace.h"

#include <errno.h>
#include <libwebsockets.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PER_TICK 20000 /* requests issued per 1 ms tick at most */

struct entity {
	const char *name;
	char car[12];
	unsigned in_flight : 1;
	unsigned deferred : 1;
};

struct bot {
	uv_loop_t *loop;
	/* options */
	const char *url, *client_id_opt, *ws_path;
	int riders, drivers, interval_ms, duration_s, area, json, open_loop;
	int max_inflight, connections, timeout_ms, drain_ms, seed, no_ws, progress_s;
	int rate_riders, rate_drivers;
	int strict, grace_ms, window_ms, ping_ms, dead_ms, hotspots;
	const char *record_path, *replay_path, *replay_speed_opt;
	/* derived */
	char host[256], prefix[200], path_rider[256], path_driver[256], path_rating[256];
	char client_id[65];
	int port;
	double rate[2]; /* per second, riders and drivers */
	/* state */
	struct gen_rng rng;
	struct entity *ent[2];
	int nent[2];
	uint64_t issued[2]; /* slots issued so far */
	uint64_t start_ns, stop_ns, end_ns;
	struct hc_pool *http;
	struct wsc *ws;
	struct ledger led;
	struct bot_stats st;
	uv_timer_t tick, housekeeping, drain;
	int sending, draining, finished, hurry, exit_code;
	int have_cursor;
	uint64_t drain_deadline_ns;
	struct sbuf body;   /* scratch for request bodies */
	struct gen_hot hot; /* --hotspots */
	uint64_t used_seed;
	/* --record: the trace, kept in memory and written when the loop ends */
	FILE *rec_f;
	struct sbuf rec;
	/* --replay */
	struct trace tr;
	double replay_speed;
	size_t replay_next;
};

static struct bot B;

static uint64_t now_us(void)
{
	return uv_hrtime() / 1000;
}

/* user pointer of a request: kind in the low 2 bits, entity index above */
static void *pack(int kind, int idx)
{
	return (void *)(((uintptr_t)idx << 2) | (uintptr_t)kind);
}

static void send_one(int kind, int idx);

static void count_reply(int kind, int status)
{
	struct kind_stats *k = &B.st.k[kind];
	int ok = kind == KIND_RATING ? 201 : 202;

	if (status == ok)
		k->accepted++;
	else if (status > 0) {
		k->rejected++;
		if (status < STATS_MAX_STATUS)
			k->status[status]++;
	} else if (status == 0) {
		k->transport_errors++;
	}
	/* status -1: abandoned at shutdown, not counted as anything */
}

static void record_latency(struct pend *e)
{
	if (e->latency_done || !e->accepted_us || !e->fare_us)
		return;
	e->latency_done = 1;
	lhist_add(&B.st.match_latency,
	          e->fare_us > e->accepted_us ? e->fare_us - e->accepted_us : 0);
	B.st.fares_own_rider++;
}

static void on_reply(void *user, int status, const char *body, size_t len, uint64_t lat_us)
{
	uintptr_t u = (uintptr_t)user;
	int kind = (int)(u & 3), idx = (int)(u >> 2);
	struct entity *e = &B.ent[kind][idx];

	count_reply(kind, status);
	if (status > 0)
		lhist_add(&B.st.http_latency, lat_us);
	if (status == 0 && B.st.k[kind].transport_errors <= 3)
		log_warn("POST %s: %.*s", kind == KIND_RIDER ? "/rider" : "/driver", (int)len,
		         body);
	if (status == 202) {
		char id[WSMSG_ID_MAX + 1];
		struct pend *p;

		if (wsmsg_parse_accepted(body, len, id, WSMSG_ID_MAX) == 0 &&
		    (p = ledger_accepted(&B.led, kind == KIND_RIDER ? LEDGER_RIDER : LEDGER_DRIVER,
		                         id, wsmsg_accepted_ttl(body, len), now_us())) &&
		    kind == KIND_RIDER)
			record_latency(p); /* when the fare came first */
	}
	e->in_flight = 0;
	if (e->deferred && B.sending && status >= 0) {
		e->deferred = 0;
		send_one(kind, idx);
	}
}

static void stop_sending(int interrupted);

/* POSTs B.body for a rider or driver; records it with --record */
static int post_body(int kind, void *user)
{
	const char *path = kind == KIND_RIDER ? B.path_rider : B.path_driver;

	if (B.body.oom || hc_post(B.http, path, B.body.p, B.body.len, on_reply, user) < 0)
		return -1;
	if (B.rec_f)
		trace_format_req(&B.rec, (uv_hrtime() - B.start_ns) / 1000000, kind, B.body.p,
		                 B.body.len);
	return 0;
}

static void send_one(int kind, int idx)
{
	struct entity *e = &B.ent[kind][idx];

	B.body.len = 0;
	B.body.oom = 0;
	if (kind == KIND_RIDER) {
		struct gen_point loc = gen_point_hot(&B.rng, B.area, &B.hot);
		struct gen_point dst = gen_point_hot(&B.rng, B.area, &B.hot);

		gen_rider_json(&B.body, e->name, loc, dst, B.client_id);
	} else {
		gen_driver_json(&B.body, e->name, e->car, gen_point_hot(&B.rng, B.area, &B.hot),
		                B.client_id);
	}
	if (post_body(kind, pack(kind, idx)) < 0) {
		B.st.unsent++;
		return;
	}
	e->in_flight = 1;
	B.st.k[kind].sent++;
}

/* --replay: the recorded request i, its client_id made ours */
static void send_replayed(size_t i)
{
	const struct trace_req *r = &B.tr.req[i];

	B.body.len = 0;
	B.body.oom = 0;
	trace_rewrite_client(&B.body, r->body, r->len, B.tr.h.client_id, B.client_id);
	if (post_body(r->kind, pack(r->kind, 0)) < 0) {
		B.st.unsent++;
		return;
	}
	B.st.k[r->kind].sent++;
}

static void on_replay_tick(uint64_t el)
{
	double at_ms = (double)el / 1e6 * B.replay_speed;
	int budget = MAX_PER_TICK;

	while (budget-- > 0 && B.replay_next < B.tr.n &&
	       (double)B.tr.req[B.replay_next].t_ms <= at_ms)
		send_replayed(B.replay_next++);
	if (B.replay_next == B.tr.n)
		stop_sending(0);
}

static void on_rating(void *user, int status, const char *body, size_t len, uint64_t lat_us)
{
	count_reply(KIND_RATING, status);
	if (status >= 0)
		ledger_rating_done(&B.led, status == 201);
	if (status > 0)
		lhist_add(&B.st.http_latency, lat_us);
	if (status != 201 && status > 0 && B.st.k[KIND_RATING].rejected <= 3)
		log_warn("POST /rating: %d %.*s", status, (int)(len > 200 ? 200 : len), body);
}

static void on_ws_message(void *user, const char *buf, size_t len)
{
	struct wsmsg m;
	struct pend *p;
	uint64_t fares;
	int rate;

	B.st.ws_messages++;
	if (wsmsg_parse(buf, len, &m) < 0) {
		B.st.ws_bad_messages++;
		return;
	}
	/* resume from the last match received. A welcome's cursor is the
	 * server's newest: taken only before any match came (a first connect),
	 * never after a resume, whose replay may still be under way. */
	if (m.cursor[0] && B.ws &&
	    (m.type == WSMSG_MATCH || (m.type == WSMSG_WELCOME && !B.have_cursor))) {
		wsc_set_cursor(B.ws, m.cursor);
		B.have_cursor = 1;
	}
	if (m.type == WSMSG_WELCOME && m.recovered == 0) {
		B.st.ws_unrecovered++;
		log_warn(
		    "websocket: the server could not replay every missed fare (recovered:false): "
		    "fares older than its resume ring are gone");
	}
	if (m.type == WSMSG_ERROR) {
		log_warn("websocket: server says %.*s", (int)(len > 200 ? 200 : len), buf);
		return;
	}
	if (m.type != WSMSG_MATCH)
		return;
	fares = B.led.c.fares;
	rate = ledger_fare(&B.led, m.rider_id, m.driver_id, m.token[0] != 0, now_us(), &p);
	if (rate < 0 || !p) {
		B.st.ws_bad_messages++;
		return;
	}
	if (B.led.c.fares != fares)
		record_latency(p);
	if (rate == 1) {
		B.body.len = 0;
		B.body.oom = 0;
		gen_rating_json(&B.body, m.ride_id, 1 + (int)gen_below(&B.rng, 5), m.token);
		if (!B.finished && !B.body.oom &&
		    hc_post(B.http, B.path_rating, B.body.p, B.body.len, on_rating, NULL) == 0) {
			B.st.k[KIND_RATING].sent++;
			ledger_rating_sent(&B.led);
		}
	}
}

static void on_ws_state(void *user, int up)
{
	if (up)
		B.st.ws_connects++;
	else
		B.st.ws_disconnects++;
}

static void on_ws_closed(void *user, int code, const char *reason)
{
	bstats_ws_closed(&B.st, code);
}

static void on_ws_dropped(void *user)
{
	B.st.ws_messages++;
	B.st.ws_bad_messages++;
}

static void finish(void);

static void stop_sending(int interrupted)
{
	if (!B.sending)
		return;
	B.sending = 0;
	B.stop_ns = uv_hrtime();
	uv_timer_stop(&B.tick);
	B.draining = 1;
	/* after a Ctrl-C only the replies in flight are awaited */
	B.drain_deadline_ns = B.stop_ns + (interrupted ? 0 : (uint64_t)B.drain_ms * 1000000);
}

/* how long a --strict exit waits beyond the drain for riders to settle */
static uint64_t settle_ns(void)
{
	return ((uint64_t)B.led.keep_us / 2 + (uint64_t)B.timeout_ms * 1000) * 1000;
}

static void on_drain(uv_timer_t *t)
{
	uint64_t now = uv_hrtime();

	if (!B.draining)
		return;
	ledger_settle(&B.led, now_us());
	/* --strict: wait (bounded) until every accepted rider is settled */
	if (B.strict && !B.hurry && now < B.drain_deadline_ns + settle_ns() &&
	    ledger_settled_by(&B.led) * 1000 > now)
		return;
	if (now >= B.drain_deadline_ns &&
	    (hc_inflight(B.http) == 0 ||
	     now >= B.drain_deadline_ns + (uint64_t)B.timeout_ms * 1000000))
		finish();
}

static void on_tick(uv_timer_t *t)
{
	uint64_t now = uv_hrtime(), el = now - B.start_ns;
	int budget = MAX_PER_TICK;

	if (B.duration_s > 0 && el >= (uint64_t)B.duration_s * 1000000000ull) {
		stop_sending(0);
		return;
	}
	if (B.replay_path) {
		on_replay_tick(el);
		return;
	}
	uint64_t due[2] = {0, 0};

	for (int kind = 0; kind < 2; kind++)
		if (B.rate[kind] > 0 && B.nent[kind])
			due[kind] = (uint64_t)((double)el / 1e9 * B.rate[kind]) +
			            1; /* the first goes at once */
	/* riders and drivers in turn, so that when the budget or the in-flight
	 * cap runs short both sides fall behind alike */
	while (budget > 0 && (B.issued[0] < due[0] || B.issued[1] < due[1])) {
		for (int kind = 0; kind < 2 && budget > 0; kind++) {
			int idx;
			struct entity *e;

			if (B.issued[kind] >= due[kind])
				continue;
			idx = (int)(B.issued[kind] % (uint64_t)B.nent[kind]);
			e = &B.ent[kind][idx];
			B.issued[kind]++;
			budget--;
			if (B.open_loop) {
				if (hc_inflight(B.http) >= (size_t)B.max_inflight)
					B.st.unsent++;
				else
					send_one(kind, idx);
			} else if (e->in_flight) {
				if (!e->deferred)
					B.st.deferred++;
				e->deferred = 1;
			} else {
				send_one(kind, idx);
			}
		}
	}
}

static void on_housekeeping(uv_timer_t *t)
{
	static uint64_t last_ns, last_sent;
	uint64_t now = uv_hrtime(), sent;

	ledger_settle(&B.led, now_us());
	if (B.progress_s <= 0 || !B.sending)
		return;
	if (!last_ns)
		last_ns = B.start_ns;
	if (now - last_ns < (uint64_t)B.progress_s * 1000000000ull)
		return;
	sent = B.st.k[KIND_RIDER].sent + B.st.k[KIND_DRIVER].sent;
	{
		struct sbuf closes = {0};
		const struct ledger_counts *c = &B.led.c;

		bstats_closes_text(&closes, &B.st);
		log_info(
		    "%.0f req/s; accepted %llu, rejected %llu, errors %llu; riders %llu: fared "
		    "%llu, "
		    "waiting %llu, NO FARE %llu (+%llu expired unmatched); fares %llu, rated %llu, "
		    "unrated %llu; p50 %.0f ms; websocket %s, %llu connects, closes %s",
		    (double)(sent - last_sent) * 1e9 / (double)(now - last_ns),
		    (unsigned long long)(B.st.k[0].accepted + B.st.k[1].accepted),
		    (unsigned long long)(B.st.k[0].rejected + B.st.k[1].rejected),
		    (unsigned long long)(B.st.k[0].transport_errors + B.st.k[1].transport_errors),
		    (unsigned long long)c->riders_accepted, (unsigned long long)c->riders_fared,
		    (unsigned long long)ledger_riders_waiting(&B.led),
		    (unsigned long long)c->riders_lost, (unsigned long long)c->riders_expired,
		    (unsigned long long)c->fares, (unsigned long long)B.st.k[KIND_RATING].accepted,
		    (unsigned long long)ledger_fares_unrated(&B.led, 0),
		    lhist_quantile(&B.st.match_latency, 0.5) / 1e3,
		    B.ws ? (wsc_connected(B.ws) ? "up" : "down") : "off",
		    (unsigned long long)B.st.ws_connects,
		    closes.p && !closes.oom ? closes.p : "none");
		sbuf_free(&closes);
	}
	last_ns = now;
	last_sent = sent;
}

static void print_summary(void)
{
	struct sbuf out = {0};
	struct bstats_meta m = {
	    .url = B.url,
	    .client_id = B.client_id,
	    .riders = B.riders,
	    .drivers = B.drivers,
	    .interval_ms = B.interval_ms,
	    .open_loop = B.open_loop,
	    .max_inflight = B.max_inflight,
	    .connections = B.connections,
	    .rate_per_s = B.rate[0] + B.rate[1],
	    .elapsed_s = (double)(B.end_ns - B.start_ns) / 1e9,
	    .send_s = (double)((B.stop_ns ? B.stop_ns : B.end_ns) - B.start_ns) / 1e9,
	    .strict = B.strict,
	    .replay_file = B.replay_path,
	    .replay_speed = B.replay_speed,
	    .replay_requests = B.tr.n,
	    .replay_recorded_as = B.tr.h.client_id,
	};

	ledger_finish(&B.led, now_us());
	B.st.led = B.led.c;
	B.st.matched = B.led.c.fares;
	B.st.fares_with_token = B.led.c.fares_with_token;
	B.st.riders_waiting = ledger_riders_waiting(&B.led);
	B.st.fares_unrated = ledger_fares_unrated(&B.led, 1);
	if (B.strict && bstats_strict(&B.st, NULL) < 0)
		B.exit_code = 3;

	if (B.json)
		bstats_json(&out, &B.st, &m);
	else
		bstats_text(&out, &B.st, &m);
	if (!out.oom && out.p)
		printf("%s%s", out.p, B.json ? "\n" : "");
	fflush(stdout);
	sbuf_free(&out);
}

static void close_timer(uv_timer_t *t)
{
	if (!uv_is_closing((uv_handle_t *)t))
		uv_close((uv_handle_t *)t, NULL);
}

static void finish(void)
{
	if (B.finished)
		return;
	B.finished = 1;
	B.draining = 0;
	B.end_ns = uv_hrtime();
	print_summary();
	close_timer(&B.tick);
	close_timer(&B.housekeeping);
	close_timer(&B.drain);
	if (B.ws)
		wsc_close(B.ws);
	hc_close(B.http);
	svc_close();
}

static void on_stop(void *priv)
{
	if (B.sending)
		stop_sending(1);
	else if (B.draining) {
		B.drain_deadline_ns = uv_hrtime(); /* stop waiting for fares */
		B.hurry = 1;
	}
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
	FILE *f = strcmp(B.replay_path, "-") == 0 ? stdin : fopen(B.replay_path, "rb");
	char *buf = NULL, err[300];
	size_t len = 0, cap = 0, n;

	if (!f) {
		fprintf(stderr, "bot: --replay %s: %s\n", B.replay_path, strerror(errno));
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
		fprintf(stderr, "bot: --replay %s: cannot read it\n", B.replay_path);
		free(buf);
		if (f != stdin)
			fclose(f);
		return -1;
	}
	if (f != stdin)
		fclose(f);
	if (trace_load(&B.tr, buf, len, err, sizeof(err)) < 0) {
		fprintf(stderr, "bot: --replay %s: %s\n", B.replay_path, err);
		return -1;
	}
	if (!B.tr.n) {
		fprintf(stderr, "bot: --replay %s: no requests in it\n", B.replay_path);
		return -1;
	}
	B.replay_speed = 1;
	if (B.replay_speed_opt) {
		char *end;

		B.replay_speed = strtod(B.replay_speed_opt, &end);
		if (*end || !(B.replay_speed > 0) || B.replay_speed > 1000) {
			fprintf(stderr,
			        "bot: --replay-speed must be a number in (0, 1000], got \"%s\"\n",
			        B.replay_speed_opt);
			return -1;
		}
	}
	/* what the summary shows: the recorded settings; one entity per kind */
	B.riders = B.tr.h.riders;
	B.drivers = B.tr.h.drivers;
	B.interval_ms = B.tr.h.interval_ms ? B.tr.h.interval_ms : B.interval_ms;
	B.open_loop = 1;
	B.rate_riders = B.rate_drivers = 0;
	return 0;
}

static int setup(void)
{
	if (hurl_parse(B.url, B.host, sizeof(B.host), &B.port, B.prefix, sizeof(B.prefix)) < 0) {
		fprintf(stderr, "bot: --url must look like http://host:port, got \"%s\"\n", B.url);
		return -1;
	}
	snprintf(B.path_rider, sizeof(B.path_rider), "%s/rider", B.prefix);
	snprintf(B.path_driver, sizeof(B.path_driver), "%s/driver", B.prefix);
	snprintf(B.path_rating, sizeof(B.path_rating), "%s/rating", B.prefix);
	if (B.client_id_opt && *B.client_id_opt) {
		if (strlen(B.client_id_opt) >= sizeof(B.client_id)) {
			fprintf(stderr, "bot: --client-id is 1-64 of [A-Za-z0-9_.-]\n");
			return -1;
		}
		strcpy(B.client_id, B.client_id_opt);
	} else {
		snprintf(B.client_id, sizeof(B.client_id), "bot-%d-%04x", (int)getpid(),
		         (unsigned)(gen_u64(&B.rng) & 0xffff));
	}
	for (const char *c = B.client_id; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '_' || *c == '.' || *c == '-')) {
			fprintf(stderr, "bot: --client-id is 1-64 of [A-Za-z0-9_.-]\n");
			return -1;
		}
	if (B.interval_ms < 1 || B.riders < 0 || B.drivers < 0 || B.area < 1 || B.connections < 1 ||
	    B.max_inflight < 1 || B.duration_s < 0 || B.rate_riders < 0 || B.rate_drivers < 0) {
		fprintf(stderr,
		        "bot: --interval-ms, --area, --connections and --max-inflight must be "
		        "positive; counts, rates and --duration not negative\n");
		return -1;
	}
	if (B.record_path) {
		struct trace_hdr h = {
		    .seed = B.used_seed,
		    .riders = B.riders,
		    .drivers = B.drivers,
		    .interval_ms = B.interval_ms,
		    .rate_riders = B.rate_riders,
		    .rate_drivers = B.rate_drivers,
		    .area = B.area,
		    .duration_s = B.duration_s,
		    .open_loop = B.open_loop,
		    .hotspots = B.hotspots,
		    .connections = B.connections,
		};

		B.rec_f = fopen(B.record_path, "wb");
		if (!B.rec_f) {
			fprintf(stderr, "bot: --record %s: %s\n", B.record_path, strerror(errno));
			return -1;
		}
		strcpy(h.client_id, B.client_id);
		trace_format_header(&B.rec, &h);
	}
	if (B.hotspots < 0 || B.hotspots > GEN_HOT_MAX) {
		fprintf(stderr, "bot: --hotspots is 0 to %d\n", GEN_HOT_MAX);
		return -1;
	}
	gen_hot_init(&B.hot, &B.rng, B.area, B.hotspots);
	B.rate[KIND_RIDER] = B.rate_riders > 0 ? B.rate_riders : B.riders * 1000.0 / B.interval_ms;
	B.rate[KIND_DRIVER] =
	    B.rate_drivers > 0 ? B.rate_drivers : B.drivers * 1000.0 / B.interval_ms;
	if (B.replay_path) { /* the summary's target rate: the trace's */
		double span = B.tr.req[B.tr.n - 1].t_ms / 1000.0 / B.replay_speed;

		for (size_t i = 0; i < B.tr.n; i++)
			B.rate[B.tr.req[i].kind] += 1;
		for (int kind = 0; kind < 2; kind++)
			B.rate[kind] = span > 0 ? B.rate[kind] / span : B.rate[kind];
	}
	for (int kind = 0; kind < 2; kind++) {
		int n = kind == KIND_RIDER ? B.riders : B.drivers;

		if (B.replay_path)
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

	B.riders = 50;
	B.drivers = 50;
	B.interval_ms = 1000;
	B.area = 1000;
	B.max_inflight = 1000;
	B.connections = 16;
	B.timeout_ms = 5000;
	B.drain_ms = 2000;
	B.progress_s = 5;
	B.grace_ms = 3000;
	B.window_ms = 2000;
	B.ping_ms = 5000;
	B.dead_ms = 15000;
	B.ws_path = "/communication";
	snprintf(url_buf, sizeof(url_buf), "http://127.0.0.1:%d", cfg_stack_port(0));
	B.url = url_buf;

	const struct opt opts[] = {
	    {"riders", "BOT_RIDERS", OPT_INT, &B.riders,
	     "simulated riders, each posting once per interval"},
	    {"drivers", "BOT_DRIVERS", OPT_INT, &B.drivers,
	     "simulated drivers, each posting once per interval"},
	    {"interval-ms", "BOT_INTERVAL_MS", OPT_INT, &B.interval_ms,
	     "how often each rider and driver posts"},
	    {"rate-riders", "BOT_RATE_RIDERS", OPT_INT, &B.rate_riders,
	     "rider requests per second instead of riders*1000/interval (0: derived)"},
	    {"rate-drivers", "BOT_RATE_DRIVERS", OPT_INT, &B.rate_drivers,
	     "driver requests per second instead of drivers*1000/interval (0: derived)"},
	    {"duration", "BOT_DURATION", OPT_INT, &B.duration_s,
	     "seconds of sending, then a summary (0: until Ctrl-C)"},
	    {"url", "BOT_URL", OPT_STR, &B.url,
	     "the stack's public address (nginx); default from PORT"},
	    {"ws-path", "BOT_WS_PATH", OPT_STR, &B.ws_path, "websocket path under --url"},
	    {"no-ws", "BOT_NO_WS", OPT_FLAG, &B.no_ws, "no websocket: no fares, no ratings"},
	    {"client-id", "BOT_CLIENT_ID", OPT_STR, &B.client_id_opt,
	     "client_id on requests and hello (default bot-<pid>-<random>)"},
	    {"area", "BOT_AREA", OPT_INT, &B.area, "coordinates are uniform in [0, area) squared"},
	    {"json", "BOT_JSON", OPT_FLAG, &B.json,
	     "print the summary as one JSON object on stdout"},
	    {"open-loop", "BOT_OPEN_LOOP", OPT_FLAG, &B.open_loop,
	     "send on schedule without waiting for replies (up to --max-inflight); "
	     "otherwise a rider/driver whose previous request is in flight sends when it returns"},
	    {"max-inflight", "BOT_MAX_INFLIGHT", OPT_INT, &B.max_inflight,
	     "open loop: requests queued or on the wire at most; more are counted unsent"},
	    {"connections", "BOT_CONNECTIONS", OPT_INT, &B.connections,
	     "HTTP keep-alive connections"},
	    {"timeout-ms", "BOT_TIMEOUT_MS", OPT_INT, &B.timeout_ms,
	     "per-request timeout (a transport error)"},
	    {"drain-ms", "BOT_DRAIN_MS", OPT_INT, &B.drain_ms,
	     "after --duration, wait this long for fares and ratings"},
	    {"seed", "BOT_SEED", OPT_INT, &B.seed, "random seed (0: from the clock)"},
	    {"progress-s", "BOT_PROGRESS_S", OPT_INT, &B.progress_s,
	     "a progress line on stderr every N seconds (0: none)"},
	    {"strict", "BOT_STRICT", OPT_FLAG, &B.strict,
	     "exit 3 when an accepted rider got no fare though a driver of ours was free "
	     "with it, or a fare went unrated; waits (bounded) after sending for the last riders "
	     "to settle"},
	    {"grace-ms", "BOT_GRACE_MS", OPT_INT, &B.grace_ms,
	     "a fare may come this long after its rider's TTL and still count as on time"},
	    {"pair-window-ms", "BOT_PAIR_WINDOW_MS", OPT_INT, &B.window_ms,
	     "a rider without a fare is lost (not expired) when a driver of ours "
	     "accepted within this many ms of it also got none"},
	    {"ping-ms", "BOT_PING_MS", OPT_INT, &B.ping_ms,
	     "websocket PING (with payload) this often"},
	    {"dead-ms", "BOT_DEAD_MS", OPT_INT, &B.dead_ms,
	     "no PONG nor message this long: close the websocket and reconnect"},
	    {"hotspots", "BOT_HOTSPOTS", OPT_INT, &B.hotspots,
	     "0: points uniform; N (1-16): 80 % of points within area/20 of one of N random "
	     "centres"},
	    {"record", "BOT_RECORD", OPT_STR, &B.record_path,
	     "write every rider/driver request sent (t_ms, kind, exact body) to FILE as JSON "
	     "lines, "
	     "after a header with the seed and settings"},
	    {"replay", "BOT_REPLAY", OPT_STR, &B.replay_path,
	     "send the requests of a --record FILE (- for stdin) in order at their recorded pace, "
	     "client_id rewritten to ours; ends after the last one"},
	    {"replay-speed", "BOT_REPLAY_SPEED", OPT_STR, &B.replay_speed_opt,
	     "--replay pace factor: 2 = twice as fast (default 1)"},
	    {NULL, NULL, 0, NULL, NULL},
	};

	log_init("bot");
	rc = opt_parse(
	    argc, argv, opts,
	    "The spamming client: riders and drivers post every interval, fares arrive\n"
	    "on the websocket, each fare with a token is rated; prints what it measured.");
	if (rc)
		return rc > 0 ? 0 : 2;
	if (B.replay_path && load_replay() < 0)
		return 2;
	if (B.replay_path && !B.seed)
		B.used_seed = B.tr.h.seed; /* the ratings' random values as recorded */
	else
		B.used_seed = B.seed ? (uint64_t)B.seed : uv_hrtime() ^ ((uint64_t)getpid() << 32);
	gen_seed(&B.rng, B.used_seed);
	if (setup() < 0)
		return 2;

	B.loop = uv_default_loop();
	svc_init(B.loop, on_stop, NULL);
	if (ledger_init(&B.led, (uint32_t)B.grace_ms, (uint32_t)B.window_ms) < 0)
		return 1;
	B.http = hc_new(B.loop, B.host, B.port, B.connections, B.timeout_ms);
	if (!B.http)
		return 1;
	if (!B.no_ws) {
		static const struct wsc_ops ops = {on_ws_message, on_ws_state, on_ws_dropped,
		                                   on_ws_closed};
		struct wsc_opts wo = {
		    .ping_ms = B.ping_ms, .dead_ms = B.dead_ms, .seed = gen_u64(&B.rng)};
		char path[300];

		lws_set_log_level(LLL_ERR, lws_emit);
		snprintf(path, sizeof(path), "%s%s", B.prefix, B.ws_path);
		B.ws = wsc_new(B.loop, B.host, B.port, path, B.client_id, &ops, &wo, NULL);
		if (!B.ws)
			return 1;
	}
	uv_timer_init(B.loop, &B.tick);
	uv_timer_init(B.loop, &B.housekeeping);
	uv_timer_init(B.loop, &B.drain);
	B.start_ns = uv_hrtime();
	B.sending = 1;
	if (!B.json && B.replay_path)
		log_info("%s: replaying %zu requests of %s at %gx as client %s (recorded as %s)",
		         B.url, B.tr.n, B.replay_path, B.replay_speed, B.client_id,
		         B.tr.h.client_id);
	else if (!B.json)
		log_info(
		    "%s: %d riders + %d drivers (%.0f req/s) as client %s; Ctrl-C for the summary",
		    B.url, B.nent[0], B.nent[1], B.rate[0] + B.rate[1], B.client_id);
	uv_timer_start(&B.tick, on_tick, 0, 1);
	uv_timer_start(&B.housekeeping, on_housekeeping, 1000, 1000);
	uv_timer_start(&B.drain, on_drain, 20, 20);
	uv_run(B.loop, UV_RUN_DEFAULT);

	if (B.rec_f) {
		int bad =
		    B.rec.oom || (B.rec.len && fwrite(B.rec.p, 1, B.rec.len, B.rec_f) != B.rec.len);

		if (fclose(B.rec_f) != 0 || bad) {
			fprintf(stderr, "bot: --record %s: could not write the trace\n",
			        B.record_path);
			if (!B.exit_code)
				B.exit_code = 1;
		}
		sbuf_free(&B.rec);
	}
	trace_free(&B.tr);
	wsc_free(B.ws);
	ledger_free(&B.led);
	sbuf_free(&B.body);
	free(B.ent[0]);
	free(B.ent[1]);
	uv_loop_close(B.loop);
	return B.exit_code;
}
