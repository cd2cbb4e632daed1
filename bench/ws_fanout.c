/* ws_fanout.c - websocket fan-out benchmark client (bench/run.sh, part 4).
 *
 * Opens N websockets to comm-svc, directly or through nginx, says hello on
 * each as a viewer (every match goes to every socket) or as client fan-<i>
 * (each match goes to one socket), waits until every socket is welcomed, then
 * appends synthetic match entries to the Redis `matches` stream at --rate per
 * second (XADD, as the matcher does) for --duration seconds and counts the
 * match messages received. Prints what it measured (text, or one JSON object
 * with --json). Never judges the figures.
 *
 * --batch: the hello asks for batches ({"type":"matches","items":[...]}).
 * --nchan-pub URL: the same measurement against nchan: no hello (a socket
 * counts as welcomed once open), each match POSTed to URL (HTTP/1.1
 * keep-alive, pipelined) instead of XADDed. Matches are counted the same way
 * in every mode: each `"type":"match",` in the bytes received (across
 * fragment boundaries), so a batch counts its items. delivered_ratio is of
 * what was published (XADDed or POSTed); delivered_of_offered of what the
 * rate asked for, which tells a publisher that could not keep up (nchan
 * answers a POST only once it has fanned the message out).
 *
 * The websocket client is a small one of its own on libuv (RFC 6455: the
 * upgrade, frame headers, masked frames out, pong for ping; the framing is
 * lib/wscframe.c), not lws: lws
 * 4.1.6's client walks every payload byte through its state machine and
 * looks each descriptor up by a scan of its poll table, which made this
 * client, not the servers measured, the first thing to saturate (about
 * three quarters of a core at 200k messages/s). Here a read costs a memmem
 * over its bytes. */
#include "countstr.h"
#include "hiredis_uv.h"
#include "wscframe.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <uv.h>

#define NEEDLE "\"type\":\"match\","

enum conn_state { C_CONNECTING, C_UPGRADING, C_OPEN, C_GONE };

struct conn {
	uv_tcp_t tcp;
	uv_connect_t creq;
	int idx;
	enum conn_state state;
	int hello_sent, welcomed, up;
	char resp[1024]; /* the upgrade's answer, until its blank line */
	size_t resp_len;
	struct wscframe_in in; /* the frame being read */
	int msg_start;
	struct countstr matches; /* "type":"match", in the payloads */
	long fm;                 /* matches in the message being received */
};

enum phase { CONNECTING, RUNNING, DRAINING, DONE };

static struct {
	/* flags */
	char host[128], path[128];
	int port, nconn, viewer, rate, tick_ms, duration_s, drain_ms, connect_timeout_ms, json,
	    batch;
	/* nchan mode: POST to http://pub_host:pub_port pub_path */
	int nchan, pub_port, pub_inflight_max;
	char pub_host[128], pub_path[128];
	uv_tcp_t pub;
	uv_connect_t pub_conn;
	int pub_up, pub_inflight;
	long pub_resps;
	char redis_host[128];
	int redis_port;
	/* state */
	uv_loop_t *loop;
	uv_timer_t tick;
	struct sockaddr_in addr;
	long open_handles;
	redisAsyncContext *rc;
	struct conn *conns;
	enum phase phase;
	uint64_t t_start, t_connected, t_run, t_run_end, t_done;
	long connected, welcomed, closed, conn_errors;
	long xadd_sent, xadd_ok, xadd_err;
	long rx_msgs, rx_match, rx_match_window, rx_other, rx_frames_with_match;
	uint64_t first_match_ns, last_match_ns;
} g = {.nconn = 1000,
       .viewer = 1,
       .rate = 100,
       .tick_ms = 1,
       .duration_s = 10,
       .drain_ms = 2000,
       .connect_timeout_ms = 15000,
       .pub_inflight_max = 256};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---------------------------------------------------------------- websocket */

static void conn_written(uv_write_t *w, int status)
{
	(void)status;
	free(w);
}

/* One frame from the client (wscframe.h). */
static void conn_send(struct conn *c, int opcode, const void *data, size_t len)
{
	uv_write_t *w;
	size_t n;
	uv_buf_t b;

	if (c->state != C_OPEN || len > WSCFRAME_OUT_MAX)
		return;
	w = malloc(sizeof(*w) + WSCFRAME_HDR_OUT + len);
	if (!w)
		return;
	n = wscframe_write((unsigned char *)(w + 1), opcode, data, len);
	b = uv_buf_init((char *)(w + 1), (unsigned)n);
	if (uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, conn_written) < 0)
		free(w);
}

static void send_hello(struct conn *c)
{
	char buf[128];
	int n;

	if (g.viewer)
		n = snprintf(buf, sizeof(buf), "{\"type\":\"hello\",\"role\":\"viewer\"%s}",
		             g.batch ? ",\"batch\":true" : "");
	else
		n = snprintf(buf, sizeof(buf), "{\"type\":\"hello\",\"client_id\":\"fan-%d\"%s}",
		             c->idx, g.batch ? ",\"batch\":true" : "");
	conn_send(c, 1, buf, (size_t)n);
	c->hello_sent = 1;
}

static void conn_closed(uv_handle_t *h)
{
	(void)h;
	g.open_handles--;
}

/* The connection is over (the server closed it, or a read failed, or we
 * finish): counted as closed when it was open and the run not over. */
static void conn_drop(struct conn *c)
{
	if (c->state == C_GONE)
		return;
	if (c->up && g.phase != DONE)
		g.closed++;
	c->up = 0;
	c->state = C_GONE;
	uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void conn_open(struct conn *c)
{
	c->state = C_OPEN;
	c->up = 1;
	g.connected++;
	if (g.nchan) {
		/* nchan: subscribed once open, nothing to say */
		c->welcomed = 1;
		g.welcomed++;
	} else {
		send_hello(c);
	}
}

/* Payload bytes of a text message. */
static void on_payload(void *priv, const unsigned char *p, size_t len)
{
	struct conn *c = priv;
	long n;

	if (c->msg_start) {
		size_t k = len < 40 ? len : 40;

		c->msg_start = 0;
		if (!c->welcomed && memmem(p, k, "\"type\":\"welcome\"", 16)) {
			c->welcomed = 1;
			g.welcomed++;
		}
	}
	n = countstr_feed(&c->matches, p, len);
	if (n) {
		uint64_t t = now_ns();

		g.rx_match += n;
		if (g.phase == RUNNING)
			g.rx_match_window += n;
		if (!g.first_match_ns)
			g.first_match_ns = t;
		g.last_match_ns = t;
		c->fm += n;
	}
}

/* A frame is complete: a ping is answered, a close ends the connection, the
 * last frame of a message counts it. */
static int on_frame_end(void *priv, int op, int fin, const unsigned char *ctl, size_t ctl_len)
{
	struct conn *c = priv;

	if (op == 9) {
		conn_send(c, 10, ctl, ctl_len); /* pong with the ping's payload */
	} else if (op == 8) {
		conn_drop(c);
		return 1;
	} else if (op < 8 && fin) {
		g.rx_msgs++;
		c->matches.tlen = 0; /* a needle never spans two messages */
		if (c->fm)
			g.rx_frames_with_match++;
		else
			g.rx_other++;
		c->fm = 0;
		c->msg_start = 1;
	}
	return 0;
}

static const struct wscframe_ops frame_ops = {.payload = on_payload, .frame_end = on_frame_end};

static void conn_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
	static char buf[256 * 1024]; /* one read at a time on this loop */

	(void)h;
	(void)sz;
	b->base = buf;
	b->len = sizeof(buf);
}

static void conn_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	struct conn *c = st->data;
	const unsigned char *p = (const unsigned char *)b->base;
	size_t len = n > 0 ? (size_t)n : 0;

	if (n < 0) {
		if (c->state == C_UPGRADING)
			g.conn_errors++;
		conn_drop(c);
		return;
	}
	if (c->state == C_UPGRADING) {
		/* the answer to the upgrade: up to its blank line, then frames */
		size_t k = 0;
		char *eoh;

		while (k < len && c->resp_len < sizeof(c->resp) - 1) {
			c->resp[c->resp_len++] = (char)p[k++];
			c->resp[c->resp_len] = 0;
			if (c->resp_len >= 4 && !memcmp(c->resp + c->resp_len - 4, "\r\n\r\n", 4))
				break;
		}
		eoh = strstr(c->resp, "\r\n\r\n");
		if (!eoh) {
			if (c->resp_len < sizeof(c->resp) - 1)
				return;
			g.conn_errors++;
			conn_drop(c);
			return;
		}
		if (strncmp(c->resp, "HTTP/1.1 101", 12)) {
			g.conn_errors++;
			conn_drop(c);
			return;
		}
		conn_open(c);
		p += k;
		len -= k;
	}
	if (len && c->state == C_OPEN && wscframe_read(&c->in, p, len, &frame_ops, c) < 0)
		conn_drop(c); /* a masked server frame: not a websocket */
}

static void conn_connected(uv_connect_t *req, int status)
{
	struct conn *c = req->data;
	char *r;
	uv_write_t *w;
	uv_buf_t b;
	int n;

	if (c->state == C_GONE)
		return;
	if (status < 0) {
		g.conn_errors++;
		conn_drop(c);
		return;
	}
	w = malloc(sizeof(*w) + 512);
	if (!w) {
		g.conn_errors++;
		conn_drop(c);
		return;
	}
	r = (char *)(w + 1);
	n = snprintf(r, 512,
	             "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
	             "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	             "Sec-WebSocket-Version: 13\r\nOrigin: http://%s:%d\r\n\r\n",
	             g.path, g.host, g.port, g.host, g.port);
	b = uv_buf_init(r, (unsigned)n);
	c->state = C_UPGRADING;
	uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read);
	if (uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, conn_written) < 0) {
		free(w);
		g.conn_errors++;
		conn_drop(c);
	}
}

static void conn_start(struct conn *c)
{
	c->msg_start = 1;
	c->state = C_CONNECTING;
	c->tcp.data = c;
	c->creq.data = c;
	if (uv_tcp_init(g.loop, &c->tcp)) {
		c->state = C_GONE;
		g.conn_errors++;
		return;
	}
	g.open_handles++;
	uv_tcp_nodelay(&c->tcp, 1);
	if (uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&g.addr, conn_connected)) {
		g.conn_errors++;
		conn_drop(c);
	}
}

static void on_xadd(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply *reply = r;

	if (reply && reply->type == REDIS_REPLY_STRING)
		g.xadd_ok++;
	else
		g.xadd_err++;
}

/* ---------------------------------------------------------------- nchan publisher */

#define HTTP_OK  "HTTP/1.1 2"
#define HTTP_ANY "HTTP/1.1 "

static struct countstr pub_ok, pub_any; /* status lines: 2xx, any */

static void pub_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
	static char buf[65536];

	(void)h;
	(void)sz;
	b->base = buf;
	b->len = sizeof(buf);
}

static void pub_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	long ok, any;

	if (n < 0) {
		g.pub_up = 0;
		uv_read_stop(st);
		return;
	}
	ok = countstr_feed(&pub_ok, b->base, (size_t)n);
	any = countstr_feed(&pub_any, b->base, (size_t)n);
	g.xadd_ok += ok;
	g.xadd_err += any - ok;
	g.pub_inflight -= (int)any;
}

static void pub_written(uv_write_t *w, int status)
{
	(void)status;
	free(w->data);
	free(w);
}

static void pub_connected(uv_connect_t *req, int status)
{
	if (status < 0) {
		fprintf(stderr, "ws_fanout: cannot connect to the publisher: %s\n",
		        uv_strerror(status));
		return;
	}
	g.pub_up = 1;
	uv_read_start((uv_stream_t *)&g.pub, pub_alloc, pub_read);
}

static void publish(const char *json, int len)
{
	char *req = malloc((size_t)len + 256);
	uv_write_t *w = malloc(sizeof(*w));
	uv_buf_t b;
	int hl;

	if (!req || !w) {
		free(req);
		free(w);
		g.xadd_err++;
		return;
	}
	hl = snprintf(req, 256,
	              "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
	              "Content-Length: %d\r\n\r\n",
	              g.pub_path, g.pub_host, g.pub_port, len);
	memcpy(req + hl, json, (size_t)len);
	w->data = req;
	b = uv_buf_init(req, (unsigned)(hl + len));
	g.pub_inflight++;
	if (uv_write(w, (uv_stream_t *)&g.pub, &b, 1, pub_written) < 0) {
		g.pub_inflight--;
		g.xadd_err++;
		free(req);
		free(w);
	}
}

static void xadd_one(void)
{
	char json[600], rider[64];
	long n = g.xadd_sent++;
	int len;

	len = snprintf(
	    json, sizeof(json),
	    "{\"type\":\"match\",\"ride_id\":\"ride-fan-%ld\","
	    "\"rider\":{\"id\":\"fan-%ld\",\"name\":\"Rahim\",\"location\":{\"x\":12.5,\"y\":40},"
	    "\"destination\":{\"x\":70.1,\"y\":3.2}},"
	    "\"driver\":{\"id\":\"fan-d-%ld\",\"name\":\"Karim\",\"car_number\":\"DHA-11-2345\","
	    "\"location\":{\"x\":3,\"y\":9.5}},"
	    "\"distance\":31.97,\"fare\":63.94,\"currency\":\"BDT\",\"matched_at_ms\":%ld,"
	    "\"rating_token\":\"0123456789abcdef0123456789abcdef\"}",
	    n, n, n, (long)time(NULL) * 1000);
	if (g.nchan) {
		publish(json, len);
		return;
	}
	if (g.viewer)
		rider[0] = 0;
	else
		snprintf(rider, sizeof(rider), "fan-%ld", n % g.nconn);
	redisAsyncCommand(g.rc, on_xadd, NULL,
	                  "XADD matches MAXLEN ~ 100000 * json %b rider_client %s driver_client %s",
	                  json, (size_t)len, rider, "");
}

static void finish(void)
{
	g.phase = DONE;
	g.t_done = now_ns();
	uv_timer_stop(&g.tick);
	uv_close((uv_handle_t *)&g.tick, NULL);
	if (g.rc)
		redisAsyncDisconnect(g.rc);
	g.rc = NULL;
	if (g.nchan && !uv_is_closing((uv_handle_t *)&g.pub))
		uv_close((uv_handle_t *)&g.pub, NULL);
	for (int i = 0; i < g.nconn; i++)
		conn_drop(&g.conns[i]);
}

static void on_tick(uv_timer_t *t)
{
	uint64_t now = now_ns();

	switch (g.phase) {
	case CONNECTING:
		if (g.welcomed >= g.nconn ||
		    now - g.t_start > (uint64_t)g.connect_timeout_ms * 1000000u) {
			g.t_connected = now;
			g.t_run = now;
			g.phase = RUNNING;
		}
		break;
	case RUNNING: {
		double el = (double)(now - g.t_run) / 1e9;
		/* a tick's matches at once, as the matcher writes them */
		long due =
		    (long)((double)(long)(el * 1000 / g.tick_ms) * g.tick_ms / 1000 * g.rate);
		int burst = 0;

		if (el >= g.duration_s) {
			g.t_run_end = now;
			g.phase = DRAINING;
			break;
		}
		if (g.nchan) {
			while (g.pub_up && g.xadd_sent < due &&
			       g.pub_inflight < g.pub_inflight_max && burst++ < 5000)
				xadd_one();
		} else {
			while (g.rc && g.xadd_sent < due && burst++ < 5000)
				xadd_one();
		}
		break;
	}
	case DRAINING:
		if (now - g.t_run_end > (uint64_t)g.drain_ms * 1000000u ||
		    (g.welcomed && g.rx_match >= (g.viewer ? g.xadd_ok * g.welcomed : g.xadd_ok) &&
		     g.xadd_ok + g.xadd_err >= g.xadd_sent))
			finish();
		break;
	case DONE: break;
	}
}

static int parse_url(const char *url)
{
	const char *p = url, *slash, *colon;
	size_t hl;

	if (strncmp(p, "ws://", 5))
		return -1;
	p += 5;
	slash = strchr(p, '/');
	if (!slash)
		slash = p + strlen(p);
	colon = memchr(p, ':', (size_t)(slash - p));
	hl = (size_t)((colon ? colon : slash) - p);
	if (!hl || hl >= sizeof(g.host))
		return -1;
	memcpy(g.host, p, hl);
	g.host[hl] = 0;
	g.port = colon ? atoi(colon + 1) : 80;
	snprintf(g.path, sizeof(g.path), "%s", *slash ? slash : "/");
	return g.port > 0 ? 0 : -1;
}

static void usage(FILE *f, const char *argv0)
{
	fprintf(
	    f,
	    "usage: %s [options]\n"
	    "Websocket fan-out benchmark: N sockets to comm-svc, synthetic matches XADDed to\n"
	    "the Redis `matches` stream at a set rate, match messages received counted.\n\n"
	    "  --url ws://HOST:PORT/PATH  where to connect (default "
	    "ws://127.0.0.1:8080/communication)\n"
	    "  --connections N            websockets (default 1000)\n"
	    "  --role viewer|client       viewer: every match to every socket; client: fan-<i>, "
	    "one\n"
	    "                             socket per match (default viewer)\n"
	    "  --redis HOST:PORT          the stack's Redis (default 127.0.0.1:8081)\n"
	    "  --rate N                   matches per second to XADD (default 100)\n"
	    "  --tick-ms N                add a tick's matches together every N ms, as the\n"
	    "                             matcher does (default 1: spread evenly)\n"
	    "  --duration S               seconds of sending (default 10)\n"
	    "  --drain-ms N               wait for late messages after sending (default 2000)\n"
	    "  --connect-timeout-ms N     start anyway after this long (default 15000)\n"
	    "  --batch                    ask comm-svc for batches (hello \"batch\":true); every\n"
	    "                             match in a batch is counted\n"
	    "  --nchan-pub http://IP:PORT/PATH  measure nchan instead: --url is its websocket\n"
	    "                             subscriber location, matches are POSTed here (no Redis)\n"
	    "  --json                     one JSON object on stdout\n",
	    argv0);
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	struct rusage ru;
	const char *url = "ws://127.0.0.1:8080/communication", *redis = "127.0.0.1:8081";
	double run_s, rx_per_s, span_s, cpu_s;
	long expected, due, offered;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--help")) {
			usage(stdout, argv[0]);
			return 0;
		} else if (!strcmp(a, "--json")) {
			g.json = 1;
			continue;
		} else if (!strcmp(a, "--batch")) {
			g.batch = 1;
			continue;
		} else if (!v) {
			usage(stderr, argv[0]);
			return 2;
		} else if (!strcmp(a, "--url")) {
			url = v;
		} else if (!strcmp(a, "--connections")) {
			g.nconn = atoi(v);
		} else if (!strcmp(a, "--role")) {
			g.viewer = strcmp(v, "client") != 0;
		} else if (!strcmp(a, "--redis")) {
			redis = v;
		} else if (!strcmp(a, "--nchan-pub")) {
			const char *p = v + 7, *sl, *co;

			if (strncmp(v, "http://", 7) || !(sl = strchr(p, '/')) ||
			    !(co = memchr(p, ':', (size_t)(sl - p))) ||
			    (size_t)(co - p) >= sizeof(g.pub_host)) {
				usage(stderr, argv[0]);
				return 2;
			}
			g.nchan = 1;
			memcpy(g.pub_host, p, (size_t)(co - p));
			g.pub_host[co - p] = 0;
			g.pub_port = atoi(co + 1);
			snprintf(g.pub_path, sizeof(g.pub_path), "%s", sl);
		} else if (!strcmp(a, "--rate")) {
			g.rate = atoi(v);
		} else if (!strcmp(a, "--tick-ms")) {
			g.tick_ms = atoi(v);
		} else if (!strcmp(a, "--duration")) {
			g.duration_s = atoi(v);
		} else if (!strcmp(a, "--drain-ms")) {
			g.drain_ms = atoi(v);
		} else if (!strcmp(a, "--connect-timeout-ms")) {
			g.connect_timeout_ms = atoi(v);
		} else {
			usage(stderr, argv[0]);
			return 2;
		}
		i++;
	}
	if (parse_url(url) || g.nconn < 1 || g.rate < 0 || g.duration_s < 1 || g.tick_ms < 1) {
		usage(stderr, argv[0]);
		return 2;
	}
	{
		const char *c = strrchr(redis, ':');
		size_t hl = c ? (size_t)(c - redis) : 0;

		if (!c || !hl || hl >= sizeof(g.redis_host)) {
			usage(stderr, argv[0]);
			return 2;
		}
		memcpy(g.redis_host, redis, hl);
		g.redis_host[hl] = 0;
		g.redis_port = atoi(c + 1);
	}
	/* one descriptor per socket and then some */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (uv_ip4_addr(g.host, g.port, &g.addr)) {
		fprintf(stderr, "ws_fanout: --url wants a numeric IPv4 address\n");
		return 2;
	}

	g.loop = uv_default_loop();
	if (g.nchan) {
		struct sockaddr_in sa;

		if (uv_ip4_addr(g.pub_host, g.pub_port, &sa) || uv_tcp_init(g.loop, &g.pub) ||
		    uv_tcp_connect(&g.pub_conn, &g.pub, (const struct sockaddr *)&sa,
		                   pub_connected)) {
			fprintf(stderr, "ws_fanout: --nchan-pub wants a numeric IPv4 address\n");
			return 2;
		}
		uv_tcp_nodelay(&g.pub, 1);
	} else {
		g.rc = redisAsyncConnect(g.redis_host, g.redis_port);
		if (!g.rc || g.rc->err || rs_redis_uv_attach(g.rc, g.loop) != REDIS_OK) {
			fprintf(stderr, "ws_fanout: cannot connect to Redis at %s\n", redis);
			return 1;
		}
		/* the stack's Redis wants its password first (queued before any XADD) */
		if (getenv("REDIS_PASSWORD") && *getenv("REDIS_PASSWORD"))
			redisAsyncCommand(g.rc, NULL, NULL, "AUTH %s", getenv("REDIS_PASSWORD"));
	}

	countstr_init(&pub_ok, HTTP_OK);
	countstr_init(&pub_any, HTTP_ANY);
	g.conns = calloc((size_t)g.nconn, sizeof(*g.conns));
	if (!g.conns)
		return 1;
	g.t_start = now_ns();
	for (int i = 0; i < g.nconn; i++) {
		g.conns[i].idx = i;
		countstr_init(&g.conns[i].matches, NEEDLE);
		conn_start(&g.conns[i]);
	}
	uv_timer_init(g.loop, &g.tick);
	uv_timer_start(&g.tick, on_tick, 1, 1);
	uv_run(g.loop, UV_RUN_DEFAULT);

	getrusage(RUSAGE_SELF, &ru);
	cpu_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	        (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	run_s = (double)(g.t_run_end - g.t_run) / 1e9;
	rx_per_s = run_s > 0 ? g.rx_match_window / run_s : 0;
	span_s = g.last_match_ns > g.first_match_ns
	             ? (double)(g.last_match_ns - g.first_match_ns) / 1e9
	             : 0;
	expected = g.viewer ? g.xadd_ok * g.welcomed : g.xadd_ok;
	/* what the run offered, whether or not the publisher got it all out
	 * (nchan's publisher waits while nchan fans out) */
	due = (long)(run_s * g.rate);
	offered = g.viewer ? due * g.welcomed : due;
	if (g.json) {
		printf("{\"url\":\"ws://"
		       "%s:%d%s\",\"server\":\"%s\",\"batch\":%s,\"frames_with_match\":%ld,"
		       "\"role\":\"%s\",\"connections\":%d,\"connected\":%ld,"
		       "\"welcomed\":%ld,\"connect_errors\":%ld,\"closed\":%ld,\"connect_ms\":%.1f,"
		       "\"rate\":%d,\"tick_ms\":%d,\"duration_s\":%.3f,\"xadd_sent\":%ld,\"xadd_"
		       "ok\":%ld,\"xadd_"
		       "errors\":%ld,"
		       "\"offered_msgs_per_s\":%.1f,\"received_match\":%ld,\"expected_match\":%ld,"
		       "\"received_other\":%ld,\"received_in_window\":%ld,\"msgs_per_s\":%.1f,"
		       "\"msgs_per_s_span\":%.1f,\"delivered_ratio\":%.4f,\"offered_match\":%ld,"
		       "\"delivered_of_offered\":%.4f,\"client_cpu_s\":%.3f}\n",
		       g.host, g.port, g.path, g.nchan ? "nchan" : "comm-svc",
		       g.batch ? "true" : "false", g.rx_frames_with_match,
		       g.viewer ? "viewer" : "client", g.nconn, g.connected, g.welcomed,
		       g.conn_errors, g.closed, (double)(g.t_connected - g.t_start) / 1e6, g.rate,
		       g.tick_ms, run_s, g.xadd_sent, g.xadd_ok, g.xadd_err,
		       (double)g.rate * (g.viewer ? (double)g.welcomed : 1.0), g.rx_match, expected,
		       g.rx_other, g.rx_match_window, rx_per_s,
		       span_s > 0 ? g.rx_match / span_s : 0,
		       expected ? (double)g.rx_match / (double)expected : 0, offered,
		       offered ? (double)g.rx_match / (double)offered : 0, cpu_s);
	} else {
		printf("%ld/%d sockets welcomed in %.0f ms (%ld closed, %ld connect errors)\n"
		       "%ld matches XADDed at %d/s for %.1f s; %ld of %ld match messages received "
		       "(%.1f%%)\n"
		       "%.0f match messages/s during sending; client CPU %.2f s\n",
		       g.welcomed, g.nconn, (double)(g.t_connected - g.t_start) / 1e6, g.closed,
		       g.conn_errors, g.xadd_ok, g.rate, run_s, g.rx_match, expected,
		       expected ? 100.0 * (double)g.rx_match / (double)expected : 0, rx_per_s,
		       cpu_s);
	}
	free(g.conns);
	return g.welcomed ? 0 : 1;
}
