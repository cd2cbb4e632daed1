/* fuzz_http_server.c - libFuzzer harness for lib/http.c driven through
 * libwebsockets' own HTTP parser: the raw bytes a client could send to a
 * service port.
 *
 * One lws context runs on a libuv loop (as in the services) with a vhost
 * that has no listening socket. Each input is written into one end of a
 * socketpair whose other end is adopted into that vhost
 * (lws_adopt_socket_vhost), as if accepted from the network; then the
 * client half-closes and the loop runs until lws closes the connection.
 * The first input byte picks how the rest is written: all at once (so
 * requests arrive pipelined), or in chunks of 1..127 bytes with loop turns
 * in between (headers and bodies split anywhere).
 *
 * The routes answer at once (POST /sync, GET /q with query lookups) or
 * later from a timer (POST /async, as a handler waiting on Redis does), and
 * the request and body deadlines are a few milliseconds, so 408 and 503
 * happen too.
 *
 * Checked besides crashes and sanitizer reports: the connection is closed
 * within a bounded number of loop turns (lws 4.1.6 spun for good on two
 * pipelined POSTs; corpus/http_server/crash-pipelined-posts), nothing is
 * ever answered 101 (h2c), every reply lib/http.c writes is
 * application/json and parses as a JSON object, one with "error" for every
 * status >= 400 (but /metrics: Prometheus text, 200), and the only other
 * reply is lws' own HTML 403 for what
 * its parser forbids (unknown methods, broken %-escapes; nginx refuses
 * those before they reach a service). Built and run by `make fuzz`. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#include <libwebsockets.h>
#include <uv.h>

#include "http.h"
#include "log.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "CHECK failed: %s (line %d)\n", #c, __LINE__);             \
			abort();                                                                   \
		}                                                                                  \
	} while (0)
#define MAX_TURNS 4000 /* loop turns of at most ~1 ms each */
#define OUT_MAX   (256 * 1024)

static uv_loop_t loop;
static uv_timer_t tick; /* keeps uv_run(UV_RUN_ONCE) from blocking long */
static struct http_server *srv;
static struct lws_vhost *vhost;

static void tick_cb(uv_timer_t *t)
{
	(void)t;
}

static void h_sync(struct http_req *req, void *app)
{
	size_t len;
	const char *body = http_req_body(req, &len);
	json_t *j = json_loadb(body, len, 0, NULL);

	(void)app;
	if (j && json_is_object(j))
		http_reply(req, 200, "{\"ok\":true}", 11);
	else
		http_reply_error(req, 400, "body must be a JSON object", NULL);
	json_decref(j);
}

struct later {
	uv_timer_t t;
	struct http_req *req;
};

static void later_closed(uv_handle_t *h)
{
	free(h->data);
}

static void later_cb(uv_timer_t *t)
{
	struct later *l = t->data;

	http_reply(l->req, 202, "{\"id\":\"later\"}", 14);
	http_req_release(l->req);
	uv_close((uv_handle_t *)&l->t, later_closed);
}

static void h_async(struct http_req *req, void *app)
{
	struct later *l = calloc(1, sizeof(*l));
	size_t len;

	(void)app;
	http_req_body(req, &len);
	if (!l) {
		http_reply_error(req, 500, "out of memory", NULL);
		return;
	}
	l->req = req;
	http_req_hold(req);
	uv_timer_init(&loop, &l->t);
	l->t.data = l;
	uv_timer_start(&l->t, later_cb, len % 3, 0); /* 0..2 ms: some beat the 1 ms deadline */
}

static void h_query(struct http_req *req, void *app)
{
	static const char *names[] = {"limit", "a", "", "x", "limit="};
	char small[4], big[HTTP_QUERY_MAX + 1];

	(void)app;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int n = http_req_query(req, names[i], big, sizeof(big));

		CHECK(n < (int)sizeof(big));
		if (n >= 0)
			CHECK(strlen(big) == (size_t)n);
		n = http_req_query(req, names[i], small, sizeof(small));
		CHECK(n < (int)sizeof(small));
		if (n >= 0)
			CHECK(strlen(small) == (size_t)n);
	}
	CHECK(strlen(http_req_path(req)) < 256);
	http_reply(req, 200, "{\"q\":1}", 7);
}

static const struct http_route routes[] = {
    {"POST", "/sync", 0, h_sync}, {"POST", "/async", 0, h_async}, {"GET", "/q", 0, h_query},
    {"GET", "/p/", 1, h_query},   {NULL, NULL, 0, NULL},
};

static int init(void)
{
	signal(SIGPIPE, SIG_IGN);
	setenv("LOG_LEVEL", "error", 1);
	log_init("fuzz_http_server");
	uv_loop_init(&loop);
	uv_timer_init(&loop, &tick);
	uv_timer_start(&tick, tick_cb, 1, 1);
	srv = http_server_new(&loop, &(struct http_server_opts){.name = "fuzz",
	                                                        .port = -1,
	                                                        .routes = routes,
	                                                        .max_body = 256,
	                                                        .timeout_ms = 2,
	                                                        .body_timeout_ms = 3});
	CHECK(srv);
	vhost = lws_get_vhost_by_name(http_server_context(srv), "fuzz");
	CHECK(vhost);
	return 0;
}

/* Checks what the server wrote. */
static void check_output(const char *out, size_t len)
{
	while (len) {
		const char *end = memmem(out, len, "\r\n\r\n", 4), *p;
		size_t hlen, clen = 0;
		int status, json = 0, html = 0, text = 0;
		char line[64];

		if (!end)
			return; /* a reply cut short by the close: nothing to check */
		hlen = (size_t)(end - out) + 4;
		CHECK(len >= 12 && !memcmp(out, "HTTP/1.", 7));
		status = atoi(out + 9);
		CHECK(status != 101);
		CHECK(status >= 200 && status <= 599);
		for (p = out; p < end;) {
			const char *nl = memmem(p, (size_t)(end - p), "\r\n", 2);
			size_t n = (size_t)((nl ? nl : end) - p);

			snprintf(line, sizeof(line), "%.*s", (int)(n < 63 ? n : 63), p);
			if (!strncasecmp(line, "content-length:", 15))
				clen = strtoul(line + 15, NULL, 10);
			if (!strncasecmp(line, "content-type: application/json", 30))
				json = 1;
			if (!strncasecmp(line, "content-type: text/html", 23))
				html = 1;
			if (!strncasecmp(line, "content-type: text/plain", 24))
				text = 1;
			p = nl ? nl + 2 : end;
		}
		if (len - hlen < clen)
			return; /* cut short */
		if (html) {
			CHECK(status == 403); /* lws' own refusal, nobody else's */
		} else if (text) {
			CHECK(status == 200); /* /metrics, Prometheus text */
		} else {
			json_t *j;

			CHECK(json);
			j = json_loadb(out + hlen, clen, 0, NULL);
			CHECK(j && json_is_object(j));
			if (status >= 400)
				CHECK(json_is_string(json_object_get(j, "error")));
			json_decref(j);
		}
		out += hlen + clen;
		len -= hlen + clen;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready = -1;
	static char out[OUT_MAX];
	size_t olen = 0, off = 0, step;
	int sv[2], closed = 0, turns, all;

	if (ready < 0)
		ready = init();
	if (size < 1 || size > 60000)
		return 0;
	step = data[0] & 0x7f;
	data++;
	size--;
	if (!step)
		step = size;
	if (step < size / 256) /* at most ~256 chunks: inputs stay fast */
		step = size / 256;
	CHECK(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
	{
		/* room for the whole input at once (pipelining arrives in one read) */
		int buf = 256 * 1024;

		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
		setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	}
	CHECK(lws_adopt_socket_vhost(vhost, sv[1]) != NULL);
	if (!size)
		shutdown(sv[0], SHUT_WR);

	/* turns are counted from the client's half-close on */
	for (turns = 0, all = 0; turns < MAX_TURNS && all < MAX_TURNS + 1000 && !closed;
	     turns += off == size, all++) {
		if (off < size) {
			ssize_t n = write(sv[0], data + off, size - off < step ? size - off : step);

			if (n > 0)
				off += (size_t)n;
			else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
				off = size; /* lws closed early: nothing more to say */
			if (off == size)
				shutdown(sv[0], SHUT_WR);
		}
		uv_run(&loop, UV_RUN_ONCE);
		for (;;) {
			char buf[16384];
			ssize_t n = read(sv[0], buf, sizeof(buf));

			if (n > 0) {
				size_t k = (size_t)n < OUT_MAX - olen ? (size_t)n : OUT_MAX - olen;

				memcpy(out + olen, buf, k);
				olen += k;
				continue;
			}
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
				closed = 1;
			break;
		}
	}
	/* the connection must not stay open (or the loop wedged) once the
	 * client has said everything and half-closed */
	CHECK(closed);
	close(sv[0]);
	/* let lws and the handlers finish (CLOSED_HTTP, late replies) */
	for (int i = 0; i < 8; i++)
		uv_run(&loop, UV_RUN_ONCE);
	check_output(out, olen);
	return 0;
}
