/* fuzz_hub.c - libFuzzer harness for what comm-svc parses from outside:
 * websocket client messages (comm-svc/hub.c: hello, resume_after, ping,
 * garbage, fragments, binary frames, size limits) and the match texts it
 * rewrites (comm-svc/msg.c: the token cut out by a hand-written scanner,
 * the cursor added; stream ids).
 *
 * The input is a script of operations on one hub with up to four fake
 * sockets, each operation [op byte][length byte][length bytes]:
 *   0 connect a socket   1 whole text message   2 fragment (not final)
 *   3 binary frame       4 match entry (JSON)   5 a (fixed) stats entry
 *   6 one second passes (hub_tick)   7 drain a socket's queue
 *   8 the socket closes  9 msg_match_rewrite/streamid_parse on the bytes alone
 *  10 the ring is loaded (hub_set_ready). The hub is ready from the start
 *     unless the script begins with op 10: then hellos are held until the
 *     next op 10.
 * The op byte's high bits pick the socket. Whatever the hub sends must be
 * valid JSON; a rewritten match keeps every member but the token, which is
 * gone from the copy for everybody else. A close code from hub_sock_rx or a
 * kill closes the socket, as the glue does. Built and run by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hub.h"
#include "log.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)
#define NSOCK 4

struct fake {
	struct hub_sock *s;
	int killed;
};

static const char STATS[] = "{\"type\":\"stats\",\"waiting\":{\"riders\":1,\"drivers\":0}}";

static void op_want(void *u)
{
	(void)u;
}
static void op_kill(void *u)
{
	((struct fake *)u)->killed = 1;
}
static const struct hub_ops OPS = {op_want, op_kill};

static void check_json_text(const unsigned char *t, size_t n)
{
	json_t *j = json_loadb((const char *)t, n, 0, NULL);

	CHECK(json_is_object(j));
	CHECK(json_is_string(json_object_get(j, "type")));
	json_decref(j);
}

static void drain(struct fake *f)
{
	struct hub_out o;

	for (int i = 0; i < 4096; i++) {
		hub_sock_next(f->s, &o);
		if (o.kind == HUB_OUT_NONE || o.kind == HUB_OUT_CLOSE) {
			if (o.kind == HUB_OUT_CLOSE)
				f->killed = 1;
			return;
		}
		if (o.kind == HUB_OUT_TEXT)
			check_json_text(hub_msg_data(o.msg), o.msg->len);
		hub_sock_sent(f->s, o.kind);
	}
}

static void close_sock(struct fake *f)
{
	if (f->s)
		hub_sock_free(f->s);
	f->s = NULL;
	f->killed = 0;
}

static void check_rewrite(const char *text, size_t n)
{
	struct msg_match c;
	const char *why = NULL;
	json_t *orig, *with, *without;
	struct streamid id;
	char buf[STREAMID_STR_MAX], *z;

	if (msg_match_rewrite(text, n, "17-3", &c, &why) == 0) {
		orig = json_loadb(text, n, 0, NULL);
		with = json_loads(c.with_token, 0, NULL);
		without = json_loads(c.without_token, 0, NULL);
		CHECK(strlen(c.with_token) == c.with_len &&
		      strlen(c.without_token) == c.without_len);
		CHECK(json_is_object(orig) && json_is_object(with) && json_is_object(without));
		CHECK(!strcmp(json_string_value(json_object_get(with, "cursor")), "17-3"));
		CHECK(!strcmp(json_string_value(json_object_get(without, "cursor")), "17-3"));
		CHECK(json_object_get(without, "rating_token") == NULL);
		/* the rider's copy is the original plus the cursor */
		json_object_del(with, "cursor");
		CHECK(json_equal(with, orig));
		/* everybody else's: the original without the token */
		json_object_del(without, "cursor");
		json_object_del(orig, "rating_token");
		CHECK(json_equal(without, orig));
		json_decref(orig);
		json_decref(with);
		json_decref(without);
		msg_match_free(&c);
	} else {
		CHECK(why != NULL);
	}
	z = malloc(n + 1);
	if (!z)
		return;
	memcpy(z, text, n);
	z[n] = 0;
	if (streamid_parse(z, STREAMID_SEQ_OPTIONAL, &id) == 0) {
		streamid_format(id, buf, STREAMID_STR_MAX);
		CHECK(strlen(buf) < STREAMID_STR_MAX);
	}
	free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	struct hub_cfg cfg = {.max_rx = 512,
	                      .max_queue_msgs = 16,
	                      .max_queue_bytes = 8192,
	                      .max_errors = 3,
	                      .resume_max = 8,
	                      .resume_ms = 10000,
	                      .ping_ms = 3000,
	                      .ping_timeout_ms = 2000,
	                      .hello_timeout_ms = 5000};
	struct fake f[NSOCK];
	struct hub *h;
	uint64_t now = 1000000, seq = 0;
	size_t off = 0;

	if (!quiet) {
		log_init("fuzz_hub");
		setenv("LOG_LEVEL", "error", 1);
		log_init("fuzz_hub");
		quiet = 1;
	}
	memset(f, 0, sizeof(f));
	h = hub_new(&cfg, &OPS);
	if (!h)
		return 0;
	if (!(size >= 2 && (data[0] & 15) == 10))
		hub_set_ready(h, "0-0");
	while (off + 2 <= size) {
		unsigned op = data[off] & 15, which = (data[off] >> 4) % NSOCK;
		size_t n = data[off + 1];
		const char *p = (const char *)data + off + 2;
		struct fake *s = &f[which];
		char id[STREAMID_STR_MAX];
		int code;

		if (off + 2 + n > size)
			n = size - off - 2;
		off += 2 + n;
		switch (op) {
		case 0:
			if (!s->s)
				s->s = hub_sock_new(h, s, now);
			break;
		case 1:
		case 2:
		case 3:
			if (!s->s)
				break;
			code = hub_sock_rx(s->s, p, n, op == 3, op != 2, now);
			if (code) {
				CHECK(code >= 1000 && code < 5000);
				CHECK(hub_sock_close_reason(s->s) != NULL);
				close_sock(s);
			}
			break;
		case 4:
			snprintf(id, sizeof(id), "%llu-%llu", (unsigned long long)now,
			         (unsigned long long)seq++);
			hub_match(h, id, p, n, which & 1 ? "a" : "b", which & 2 ? "b" : "", 1, now);
			break;
		case 5: /* stats come from our matcher and are forwarded as they are */
			hub_stats(h, STATS, strlen(STATS));
			break;
		case 6:
			now += 1000;
			hub_tick(h, now);
			break;
		case 7:
			if (s->s)
				drain(s);
			break;
		case 8: close_sock(s); break;
		case 10:
			if (off != 2 + n) /* not the first op */
				hub_set_ready(h, "0-0");
			break;
		default: check_rewrite(p, n); break;
		}
		for (int i = 0; i < NSOCK; i++)
			if (f[i].s && f[i].killed)
				close_sock(&f[i]);
	}
	for (int i = 0; i < NSOCK; i++) {
		if (f[i].s)
			drain(&f[i]);
		close_sock(&f[i]);
	}
	hub_free(h);
	return 0;
}
