/* test_comm_hub.c - unit tests of comm-svc/hub without sockets: fake
 * connections record what the hub asks (writes, kills) and drain their queue
 * through hub_sock_next/hub_sock_sent. Covers hello/welcome, errors and the
 * close after repeated garbage, size/binary limits, delivery to exactly the
 * rider's and driver's sockets and viewers (token only to the rider's),
 * one copy for a socket that is both, stats to viewers, resumes by cursor
 * and ride_id, ring bounds, slow-consumer closes, pings and timeouts; the
 * resume cursor drained past the queue cap, overruns, recovered:false, hellos
 * held until the ring is loaded, tokens never to viewers or drivers' clients
 * (live or resumed), counters and the total memory cap; batches (one frame
 * of the queued matches, token rules, size cap, order around stats, cursor,
 * resumes batched from the ring, the hello's "batch" field). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hub.h"

struct fake {
	struct hub_sock *s;
	int wants, kills;
};

static void op_want(void *u)
{
	((struct fake *)u)->wants++;
}
static void op_kill(void *u)
{
	((struct fake *)u)->kills++;
}
static const struct hub_ops OPS = {op_want, op_kill};

static struct hub *mkhub(unsigned qmax, unsigned ring)
{
	struct hub_cfg cfg = {.max_queue_msgs = qmax,
	                      .resume_max = ring,
	                      .max_errors = 3,
	                      .ping_ms = 1000,
	                      .ping_timeout_ms = 500,
	                      .hello_timeout_ms = 2000};
	struct hub *h = hub_new(&cfg, &OPS);

	assert_non_null(h);
	hub_set_ready(h, "0-0");
	return h;
}

static int rx(struct fake *f, const char *text, uint64_t now)
{
	return hub_sock_rx(f->s, text, strlen(text), 0, 1, now);
}

/* The next text frame (pings are written and skipped), or NULL; the caller
 * reads it, then calls hub_sock_sent(f->s, HUB_OUT_TEXT). */
static struct hub_msg *next_frame(struct fake *f)
{
	struct hub_out o;

	for (hub_sock_next(f->s, &o); o.kind == HUB_OUT_PING; hub_sock_next(f->s, &o))
		hub_sock_sent(f->s, o.kind);
	return o.kind == HUB_OUT_TEXT ? o.msg : NULL;
}

/* Pops the next text frame into buf (skipping pings); 0 when none. */
static int next_text(struct fake *f, char *buf, size_t len)
{
	struct hub_msg *m = next_frame(f);

	if (!m)
		return 0;
	snprintf(buf, len, "%s", (char *)hub_msg_data(m));
	hub_sock_sent(f->s, HUB_OUT_TEXT);
	return 1;
}

static void connect_as(struct hub *h, struct fake *f, const char *hello, uint64_t now)
{
	char buf[512];

	memset(f, 0, sizeof(*f));
	f->s = hub_sock_new(h, f, now);
	assert_non_null(f->s);
	assert_int_equal(rx(f, hello, now), 0);
	assert_true(next_text(f, buf, sizeof(buf)));
	assert_non_null(strstr(buf, "\"type\":\"welcome\""));
}

static int count_texts(struct fake *f, const char *needle)
{
	char buf[1024];
	int n = 0;

	while (next_text(f, buf, sizeof(buf)))
		if (!needle || strstr(buf, needle))
			n++;
	return n;
}

static char *match_json(int i)
{
	static char buf[256];

	snprintf(
	    buf, sizeof(buf),
	    "{\"type\":\"match\",\"ride_id\":\"ride-%d-0\",\"fare\":2,\"rating_token\":\"tok%d\"}",
	    i, i);
	return buf;
}

static void add_match(struct hub *h, int i, const char *rc, const char *dc, uint64_t now)
{
	char id[32];
	const char *m = match_json(i);

	snprintf(id, sizeof(id), "%d-0", i);
	assert_int_equal(hub_match(h, id, m, strlen(m), rc, dc, 1, now), 0);
}

static void test_hello_and_errors(void **state)
{
	struct hub *h = mkhub(0, 0);
	struct fake f, v;
	char buf[512];
	struct hub_out o;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.s = hub_sock_new(h, &f, 1000);
	assert_int_equal(rx(&f, "{\"type\":\"hello\",\"client_id\":\"bot-7\"}", 1000), 0);
	assert_true(next_text(&f, buf, sizeof(buf)));
	assert_string_equal(buf,
	                    "{\"type\":\"welcome\",\"client_id\":\"bot-7\",\"role\":\"client\","
	                    "\"cursor\":\"0-0\",\"resumed\":0}");
	assert_int_equal(hub_counters(h)->clients, 1);
	assert_int_equal(hub_counters(h)->client_ids, 1);
	/* garbage is answered, and the third error closes (max_errors 3) */
	assert_int_equal(rx(&f, "not json", 1000), 0);
	assert_true(next_text(&f, buf, sizeof(buf)));
	assert_string_equal(buf,
	                    "{\"type\":\"error\",\"error\":\"message must be a JSON object\"}");
	assert_int_equal(rx(&f, "{\"type\":\"dance\"}", 1000), 0);
	assert_true(next_text(&f, buf, sizeof(buf)));
	assert_non_null(strstr(buf, "unknown message type"));
	assert_int_equal(rx(&f, "{\"type\":\"ping\"}", 1000), 0);
	assert_true(next_text(&f, buf, sizeof(buf)));
	assert_string_equal(buf, "{\"type\":\"pong\"}");
	assert_int_equal(rx(&f, "{\"type\":\"hello\",\"client_id\":\"x\"}", 1000), 0);
	assert_true(next_text(&f, buf, sizeof(buf)));
	assert_non_null(strstr(buf, "hello already received"));
	hub_sock_next(f.s, &o);
	assert_int_equal(o.kind, HUB_OUT_CLOSE);
	assert_int_equal(o.close_code, 1008);
	hub_sock_free(f.s);

	/* bad hellos, then a viewer */
	memset(&v, 0, sizeof(v));
	v.s = hub_sock_new(h, &v, 1000);
	assert_int_equal(rx(&v, "{\"type\":\"hello\"}", 1000), 0);
	assert_true(next_text(&v, buf, sizeof(buf)));
	assert_non_null(strstr(buf, "\"field\":\"client_id\""));
	assert_int_equal(rx(&v, "{\"type\":\"hello\",\"role\":\"viewer\"}", 1000), 0);
	assert_true(next_text(&v, buf, sizeof(buf)));
	assert_string_equal(
	    buf, "{\"type\":\"welcome\",\"role\":\"viewer\",\"cursor\":\"0-0\",\"resumed\":0}");
	assert_int_equal(hub_counters(h)->viewers, 1);
	hub_sock_free(v.s);
	assert_int_equal(hub_counters(h)->viewers, 0);
	assert_int_equal(hub_counters(h)->clients, 0);
	assert_int_equal(hub_counters(h)->client_ids, 0);
	hub_free(h);
}

static void test_limits(void **state)
{
	struct hub *h = mkhub(0, 0);
	struct fake f;
	char big[5000], buf[256];

	(void)state;
	memset(&f, 0, sizeof(f));
	f.s = hub_sock_new(h, &f, 0);
	assert_int_equal(hub_sock_rx(f.s, "{}", 2, 1, 1, 0), 1003);
	memset(big, ' ', sizeof(big));
	/* pieces: fine up to 4096, then 1009 */
	assert_int_equal(hub_sock_rx(f.s, big, 4000, 0, 0, 0), 0);
	assert_int_equal(hub_sock_rx(f.s, big, 97, 0, 0, 0), 1009);
	assert_non_null(strstr(hub_sock_close_reason(f.s), "too large"));
	hub_sock_free(f.s);
	/* a message in pieces is assembled */
	memset(&f, 0, sizeof(f));
	f.s = hub_sock_new(h, &f, 0);
	assert_int_equal(hub_sock_rx(f.s, "{\"type\":\"hel", 12, 0, 0, 0), 0);
	assert_int_equal(hub_sock_rx(f.s, "lo\",\"client_id\":\"p\"}", 20, 0, 1, 0), 0);
	assert_true(next_text(&f, buf, sizeof(buf)));
	assert_non_null(strstr(buf, "welcome"));
	hub_free(h);
}

static void test_delivery(void **state)
{
	struct hub *h = mkhub(0, 0);
	struct fake r1, r2, d, both, v, other, pre;
	char buf[512];

	(void)state;
	connect_as(h, &r1, "{\"type\":\"hello\",\"client_id\":\"rider\"}", 0);
	connect_as(h, &r2, "{\"type\":\"hello\",\"client_id\":\"rider\"}", 0);
	connect_as(h, &d, "{\"type\":\"hello\",\"client_id\":\"driver\"}", 0);
	connect_as(h, &v, "{\"type\":\"hello\",\"role\":\"viewer\"}", 0);
	connect_as(h, &other, "{\"type\":\"hello\",\"client_id\":\"other\"}", 0);
	connect_as(h, &both, "{\"type\":\"hello\",\"client_id\":\"bot\"}", 0);
	memset(&pre, 0, sizeof(pre));
	pre.s = hub_sock_new(h, &pre, 0); /* never says hello */

	add_match(h, 10, "rider", "driver", 10);
	assert_true(next_text(&r1, buf, sizeof(buf)));
	assert_non_null(strstr(buf, "\"rating_token\":\"tok10\""));
	assert_non_null(strstr(buf, "\"cursor\":\"10-0\""));
	assert_int_equal(count_texts(&r1, NULL), 0);
	assert_int_equal(count_texts(&r2, "tok10"), 1);
	assert_true(next_text(&d, buf, sizeof(buf)));
	assert_null(strstr(buf, "rating_token"));
	assert_non_null(strstr(buf, "\"cursor\":\"10-0\""));
	assert_int_equal(count_texts(&v, "\"ride_id\":\"ride-10-0\""), 1);
	assert_int_equal(count_texts(&other, NULL), 0);
	assert_int_equal(count_texts(&pre, NULL), 0);

	/* one socket that is rider and driver: one copy, with the token */
	add_match(h, 11, "bot", "bot", 11);
	assert_int_equal(count_texts(&both, "tok11"), 1);
	assert_int_equal(count_texts(&both, NULL), 0);
	assert_int_equal(count_texts(&v, "tok11"), 0);
	assert_string_equal(hub_cursor(h), "11-0");

	/* no client ids: viewers only */
	add_match(h, 12, "", "", 12);
	assert_int_equal(count_texts(&v, "ride-12-0"), 1);
	assert_int_equal(count_texts(&r1, NULL) + count_texts(&d, NULL) + count_texts(&both, NULL),
	                 0);

	/* a malformed entry is skipped */
	assert_int_equal(hub_match(h, "13-0", "{\"type\":\"x\"}", 12, "rider", "", 1, 13), -1);
	assert_int_equal(hub_counters(h)->bad_entries, 1);

	hub_stats(h, "{\"type\":\"stats\"}", 16);
	assert_int_equal(count_texts(&v, "stats"), 1);
	assert_int_equal(count_texts(&r1, NULL), 0);
	hub_free(h); /* frees the sockets still registered */
}

static void test_resume(void **state)
{
	struct hub *h = mkhub(0, 5);
	struct fake a, b, v;
	char buf[512];

	(void)state;
	add_match(h, 100, "a", "x", 100);
	add_match(h, 101, "x", "a", 101);
	add_match(h, 102, "y", "z", 102);
	add_match(h, 103, "a", "a", 103);
	/* after a cursor: 101 (as driver, no token) and 103 (as rider) */
	memset(&a, 0, sizeof(a));
	a.s = hub_sock_new(h, &a, 200);
	assert_int_equal(
	    rx(&a, "{\"type\":\"hello\",\"client_id\":\"a\",\"resume_after\":\"100-0\"}", 200), 0);
	assert_true(next_text(&a, buf, sizeof(buf)));
	assert_non_null(strstr(buf, "\"resumed\":2"));
	assert_non_null(strstr(buf, "\"recovered\":true"));
	assert_non_null(strstr(buf, "\"cursor\":\"103-0\""));
	assert_true(next_text(&a, buf, sizeof(buf)));
	assert_non_null(strstr(buf, "ride-101-0"));
	assert_null(strstr(buf, "rating_token"));
	assert_true(next_text(&a, buf, sizeof(buf)));
	assert_non_null(strstr(buf, "tok103"));
	assert_int_equal(count_texts(&a, NULL), 0);
	/* then new ones, once */
	add_match(h, 104, "a", "", 104);
	assert_int_equal(count_texts(&a, "tok104"), 1);

	/* after a ride id in the ring */
	memset(&b, 0, sizeof(b));
	b.s = hub_sock_new(h, &b, 200);
	assert_int_equal(
	    rx(&b, "{\"type\":\"hello\",\"client_id\":\"a\",\"resume_after\":\"ride-103-0\"}", 200),
	    0);
	assert_true(next_text(&b, buf, sizeof(buf)));
	assert_non_null(strstr(buf, "\"resumed\":1"));
	assert_int_equal(count_texts(&b, "tok104"), 1);
	hub_sock_free(b.s);

	/* a viewer resuming gets everything later, without tokens */
	connect_as(h, &v, "{\"type\":\"hello\",\"role\":\"viewer\",\"resume_after\":\"101-0\"}",
	           200);
	assert_int_equal(count_texts(&v, "\"type\":\"match\""), 3);
	hub_sock_free(v.s);

	/* the ring holds 5: 100 is gone, so a cursor before it gets 101.. */
	add_match(h, 105, "a", "", 105);
	assert_int_equal(hub_counters(h)->ring, 5);
	memset(&b, 0, sizeof(b));
	b.s = hub_sock_new(h, &b, 200);
	assert_int_equal(
	    rx(&b, "{\"type\":\"hello\",\"client_id\":\"a\",\"resume_after\":\"1-0\"}", 200), 0);
	assert_true(next_text(&b, buf, sizeof(buf)));
	assert_non_null(strstr(buf, "\"resumed\":4"));
	assert_non_null(strstr(buf, "\"recovered\":false")); /* 100 is lost to it */
	assert_int_equal(hub_counters(h)->unrecovered, 1);
	hub_sock_free(b.s);

	/* and by age: everything older than resume_ms (60 s) is forgotten */
	hub_tick(h, 105 + 60001);
	assert_int_equal(hub_counters(h)->ring, 0);
	hub_free(h);
}

static void test_slow_consumer(void **state)
{
	struct hub *h = mkhub(8, 0);
	struct fake v, fast;
	struct hub_out o;

	(void)state;
	connect_as(h, &v, "{\"type\":\"hello\",\"role\":\"viewer\"}", 0);
	connect_as(h, &fast, "{\"type\":\"hello\",\"role\":\"viewer\"}", 0);
	for (int i = 0; i < 8; i++) {
		hub_stats(h, "{\"type\":\"stats\"}", 16);
		assert_int_equal(count_texts(&fast, NULL), 1);
	}
	assert_int_equal(hub_sock_queued(v.s), 8);
	hub_stats(h, "{\"type\":\"stats\"}", 16);
	assert_int_equal(hub_counters(h)->slow_closes, 1);
	assert_int_equal(hub_sock_queued(v.s), 0);
	hub_sock_next(v.s, &o);
	assert_int_equal(o.kind, HUB_OUT_CLOSE);
	assert_int_equal(o.close_code, 1008);
	assert_int_equal(count_texts(&fast, NULL), 1); /* the others go on */
	/* what it had queued is counted, with the one that did not fit */
	assert_int_equal(hub_counters(h)->dropped[HUB_DROP_SLOW], 9);
	/* a close that cannot be written is forced after close_grace_ms */
	hub_tick(h, 100);
	assert_int_equal(v.kills, 0);
	hub_tick(h, 2000);
	assert_true(v.kills >= 1);
	hub_free(h);
}

static void test_pings(void **state)
{
	struct hub *h = mkhub(0, 0);
	struct fake a, b, quiet;
	struct hub_out o;

	(void)state;
	connect_as(h, &a, "{\"type\":\"hello\",\"client_id\":\"a\"}", 0);
	connect_as(h, &b, "{\"type\":\"hello\",\"client_id\":\"b\"}", 0);
	hub_tick(h, 500);
	hub_sock_next(a.s, &o);
	assert_int_equal(o.kind, HUB_OUT_NONE);
	hub_tick(h, 1000); /* quiet for ping_ms: pinged */
	hub_sock_next(a.s, &o);
	assert_int_equal(o.kind, HUB_OUT_PING);
	hub_sock_sent(a.s, o.kind);
	hub_sock_next(b.s, &o);
	assert_int_equal(o.kind, HUB_OUT_PING);
	hub_sock_sent(b.s, o.kind);
	hub_sock_alive(a.s, 1200); /* a answers, b does not */
	hub_tick(h, 1400);
	assert_int_equal(a.kills + b.kills, 0);
	hub_tick(h, 1501 + 500);
	assert_int_equal(hub_counters(h)->ping_timeouts, 1);
	/* b is closed with a close frame and a reason, not cut */
	assert_int_equal(a.kills + b.kills, 0);
	hub_sock_next(a.s, &o);
	assert_int_equal(o.kind, HUB_OUT_NONE);
	hub_sock_next(b.s, &o);
	assert_int_equal(o.kind, HUB_OUT_CLOSE);
	assert_int_equal(o.close_code, 1008);
	assert_non_null(strstr(o.reason, "no pong in 500 ms"));
	/* cut only when that close could not be written within close_grace_ms */
	hub_tick(h, 2001 + 1999);
	assert_int_equal(b.kills, 0);
	hub_tick(h, 2001 + 2000);
	assert_int_equal(a.kills, 0);
	assert_int_equal(b.kills, 1);
	assert_int_equal(hub_counters(h)->kills, 1);
	/* never said hello: closed with 1008 after hello_timeout_ms */
	memset(&quiet, 0, sizeof(quiet));
	quiet.s = hub_sock_new(h, &quiet, 2001);
	hub_tick(h, 2002);
	hub_sock_next(quiet.s, &o);
	assert_int_equal(o.kind, HUB_OUT_NONE);
	hub_tick(h, 4002);
	hub_sock_next(quiet.s, &o);
	assert_int_equal(o.kind, HUB_OUT_CLOSE);
	assert_int_equal(o.close_code, 1008);
	hub_free(h);
}

/* Every text a socket receives; none may carry a token unless allow_token. */
static int drain_checked(struct fake *f, int allow_token, int *tokens)
{
	char buf[1024];
	int n = 0;

	while (next_text(f, buf, sizeof(buf))) {
		if (strstr(buf, "rating_token")) {
			assert_true(allow_token);
			if (tokens)
				(*tokens)++;
		}
		n++;
	}
	return n;
}

/* A resume is walked from the ring as the socket drains: the welcome first,
 * then every missed match in order, however many, with a queue cap far
 * below their number; matches made meanwhile follow in order, once. */
static void test_resume_drains_past_the_queue_cap(void **state)
{
	struct hub *h = mkhub(8, 1000);
	struct fake a;
	struct hub_out o;
	char buf[512], want[64];
	int next = 1000;

	(void)state;
	for (int i = 1000; i < 1300; i++)
		add_match(h, i, "a", "d", (uint64_t)i);
	memset(&a, 0, sizeof(a));
	a.s = hub_sock_new(h, &a, 2000);
	assert_int_equal(
	    rx(&a, "{\"type\":\"hello\",\"client_id\":\"a\",\"resume_after\":\"999-0\"}", 2000), 0);
	assert_true(next_text(&a, buf, sizeof(buf)));
	assert_non_null(strstr(buf, "\"type\":\"welcome\""));
	assert_non_null(strstr(buf, "\"resumed\":300"));
	assert_non_null(strstr(buf, "\"recovered\":true"));
	assert_int_equal(hub_sock_queued(a.s), 0); /* nothing pre-filled */
	assert_true(hub_sock_resuming(a.s));
	for (int k = 0; k < 400; k++) {
		if (k % 3 == 0 && k < 300) /* live traffic while it drains */
			add_match(h, 1300 + k / 3, "a", "", 2000);
		if (!next_text(&a, buf, sizeof(buf)))
			break;
		snprintf(want, sizeof(want), "\"ride_id\":\"ride-%d-0\"", next);
		assert_non_null(strstr(buf, want));
		snprintf(want, sizeof(want), "tok%d\"", next);
		assert_non_null(strstr(buf, want));
		next++;
	}
	assert_int_equal(next, 1400); /* 300 missed + 100 made meanwhile */
	assert_false(next_text(&a, buf, sizeof(buf)));
	assert_false(hub_sock_resuming(a.s));
	assert_int_equal(hub_counters(h)->slow_closes, 0);
	assert_int_equal(hub_counters(h)->resumed, 400);
	/* caught up: live again, once */
	add_match(h, 1500, "a", "", 2000);
	assert_int_equal(hub_sock_queued(a.s), 1);
	assert_int_equal(count_texts(&a, "ride-1500-0"), 1);
	hub_sock_next(a.s, &o);
	assert_int_equal(o.kind, HUB_OUT_NONE);
	hub_free(h);
}

/* A resuming socket slower than the ring turns over is closed with a reason
 * (it resumes again and is told recovered:false), and the loss is counted. */
static void test_resume_overrun(void **state)
{
	struct hub *h = mkhub(8, 10);
	struct fake a;
	struct hub_out o;
	char buf[512];

	(void)state;
	for (int i = 100; i < 110; i++)
		add_match(h, i, "a", "", (uint64_t)i);
	memset(&a, 0, sizeof(a));
	a.s = hub_sock_new(h, &a, 200);
	assert_int_equal(
	    rx(&a, "{\"type\":\"hello\",\"client_id\":\"a\",\"resume_after\":\"99-0\"}", 200), 0);
	assert_true(next_text(&a, buf, sizeof(buf)));
	assert_true(next_text(&a, buf, sizeof(buf)));
	assert_non_null(strstr(buf, "ride-100-0"));
	for (int i = 110; i < 115; i++) /* 101..104 leave the ring unsent */
		add_match(h, i, "a", "", 200);
	hub_sock_next(a.s, &o);
	assert_int_equal(o.kind, HUB_OUT_CLOSE);
	assert_int_equal(o.close_code, 1013);
	assert_int_equal(hub_counters(h)->overrun_closes, 1);
	assert_int_equal(hub_counters(h)->dropped[HUB_DROP_OVERRUN], 4);
	hub_sock_free(a.s);
	/* resuming from its last cursor now says what is lost */
	memset(&a, 0, sizeof(a));
	a.s = hub_sock_new(h, &a, 300);
	assert_int_equal(
	    rx(&a, "{\"type\":\"hello\",\"client_id\":\"a\",\"resume_after\":\"100-0\"}", 300), 0);
	assert_true(next_text(&a, buf, sizeof(buf)));
	assert_non_null(strstr(buf, "\"recovered\":false"));
	assert_non_null(strstr(buf, "\"resumed\":10"));
	assert_int_equal(count_texts(&a, "\"type\":\"match\""), 10);
	hub_free(h);
}

/* Before the ring is loaded a hello is held, not answered "nothing missed";
 * hub_set_ready answers it with what was loaded. A floor past the resume
 * point says recovered:false. */
static void test_hello_held_until_ready(void **state)
{
	struct hub_cfg cfg = {.max_queue_msgs = 16, .resume_max = 100};
	struct hub *h = hub_new(&cfg, &OPS);
	struct fake a, b, c;
	struct hub_out o;
	char buf[512];

	(void)state;
	assert_non_null(h);
	memset(&a, 0, sizeof(a));
	a.s = hub_sock_new(h, &a, 100);
	assert_int_equal(
	    rx(&a, "{\"type\":\"hello\",\"client_id\":\"a\",\"resume_after\":\"100-0\"}", 100), 0);
	memset(&b, 0, sizeof(b));
	b.s = hub_sock_new(h, &b, 100);
	assert_int_equal(
	    rx(&b, "{\"type\":\"hello\",\"client_id\":\"b\",\"resume_after\":\"5-0\"}", 100), 0);
	hub_sock_next(a.s, &o);
	assert_int_equal(o.kind, HUB_OUT_NONE);
	assert_int_equal(hub_counters(h)->held, 2);
	assert_false(hub_ready(h));
	/* a ping is still answered; a second hello is not taken */
	assert_int_equal(rx(&a, "{\"type\":\"ping\"}", 100), 0);
	assert_true(next_text(&a, buf, sizeof(buf)));
	assert_non_null(strstr(buf, "pong"));
	/* held sockets are not closed for "no hello" */
	hub_tick(h, 100 + 31000);
	hub_sock_next(a.s, &o);
	assert_int_equal(o.kind, HUB_OUT_PING); /* pinged, as it was quiet */
	hub_sock_sent(a.s, o.kind);
	hub_sock_alive(a.s, 31000);
	hub_sock_alive(b.s, 31000);
	hub_sock_next(a.s, &o);
	assert_int_equal(o.kind, HUB_OUT_NONE);
	/* the start-up load (not delivered), then ready */
	for (int i = 101; i < 104; i++) {
		char id[16];
		const char *m = match_json(i);

		snprintf(id, sizeof(id), "%d-0", i);
		assert_int_equal(hub_match(h, id, m, strlen(m), "a", "b", 0, 31000), 0);
	}
	hub_sock_next(a.s, &o);
	assert_int_equal(o.kind, HUB_OUT_NONE);
	hub_set_ready(h, "50-0");
	assert_int_equal(hub_counters(h)->held, 0);
	assert_true(next_text(&a, buf, sizeof(buf)));
	assert_non_null(strstr(buf, "\"resumed\":3"));
	assert_non_null(strstr(buf, "\"recovered\":true"));
	assert_int_equal(count_texts(&a, "rating_token"), 3);
	assert_true(next_text(&b, buf, sizeof(buf)));
	assert_non_null(strstr(buf, "\"resumed\":3"));
	assert_non_null(strstr(buf, "\"recovered\":false")); /* 5-0 is before the floor */
	assert_int_equal(drain_checked(&b, 0, NULL), 3);
	/* once ready, a hello is answered at once */
	connect_as(h, &c, "{\"type\":\"hello\",\"role\":\"viewer\"}", 31000);
	hub_free(h);
}

/* rating_token goes only to the rider's client: never to a viewer or a
 * driver-only client, live or resumed, whatever they send in their hello. */
static void test_token_only_to_riders_client(void **state)
{
	struct hub *h = mkhub(64, 100);
	struct fake r, d, v, vr, dr, vc, other;
	int tokens = 0;

	(void)state;
	connect_as(h, &r, "{\"type\":\"hello\",\"client_id\":\"r\"}", 0);
	connect_as(h, &d, "{\"type\":\"hello\",\"client_id\":\"d\"}", 0);
	connect_as(h, &v, "{\"type\":\"hello\",\"role\":\"viewer\"}", 0);
	/* a viewer that names some other client_id */
	connect_as(h, &vc, "{\"type\":\"hello\",\"role\":\"viewer\",\"client_id\":\"zz\"}", 0);
	connect_as(h, &other, "{\"type\":\"hello\",\"client_id\":\"o\"}", 0);
	for (int i = 10; i < 20; i++)
		add_match(h, i, "r", "d", (uint64_t)i);
	assert_int_equal(drain_checked(&r, 1, &tokens), 10);
	assert_int_equal(tokens, 10);
	assert_int_equal(drain_checked(&d, 0, NULL), 10);
	assert_int_equal(drain_checked(&v, 0, NULL), 10);
	assert_int_equal(drain_checked(&vc, 0, NULL), 10);
	assert_int_equal(drain_checked(&other, 0, NULL), 0);
	/* resumed: a viewer, a viewer with a client_id, the driver's client */
	connect_as(h, &vr, "{\"type\":\"hello\",\"role\":\"viewer\",\"resume_after\":\"0-0\"}", 50);
	assert_int_equal(drain_checked(&vr, 0, NULL), 10);
	connect_as(h, &dr,
	           "{\"type\":\"hello\",\"client_id\":\"d\",\"resume_after\":\"ride-10-0\"}", 50);
	assert_int_equal(drain_checked(&dr, 0, NULL), 9);
	hub_sock_free(vr.s);
	connect_as(h, &vr,
	           "{\"type\":\"hello\",\"role\":\"viewer\",\"client_id\":\"zz\",\"resume_after\":"
	           "\"0-0\"}",
	           50);
	assert_int_equal(drain_checked(&vr, 0, NULL), 10);
	/* the rider's client resumed does get its tokens */
	hub_sock_free(r.s);
	tokens = 0;
	connect_as(h, &r, "{\"type\":\"hello\",\"client_id\":\"r\",\"resume_after\":\"0-0\"}", 50);
	assert_int_equal(drain_checked(&r, 1, &tokens), 10);
	assert_int_equal(tokens, 10);
	hub_free(h);
}

/* pushed counts only frames handed out for writing; whatever is thrown away
 * is counted by reason; the queued-bytes gauge returns to 0. */
static void test_counters_and_caps(void **state)
{
	struct hub_cfg cfg = {.max_queue_msgs = 100, .max_total_bytes = 100, .resume_max = 10};
	struct hub *h = hub_new(&cfg, &OPS);
	struct fake v1, v2;
	struct hub_out o;

	(void)state;
	hub_set_ready(h, "0-0");
	connect_as(h, &v1, "{\"type\":\"hello\",\"role\":\"viewer\"}", 0);
	connect_as(h, &v2, "{\"type\":\"hello\",\"role\":\"viewer\"}", 0);
	assert_int_equal(hub_counters(h)->replies, 2);
	assert_int_equal(hub_counters(h)->pushed, 0);
	hub_stats(h, "{\"type\":\"stats\",\"n\":1111111}", 28); /* 56 bytes queued */
	assert_int_equal(hub_counters(h)->queued_bytes, 56);
	assert_int_equal(hub_counters(h)->pushed, 0); /* nothing written yet */
	assert_int_equal(count_texts(&v2, NULL), 1);
	assert_int_equal(hub_counters(h)->pushed, 1);
	assert_int_equal(hub_counters(h)->queued_bytes, 28);
	/* the total cap (100 bytes): the third message would pass it for v2
	 * (pushed to first), which is closed, its queue dropped */
	hub_stats(h, "{\"type\":\"stats\",\"n\":2222222}", 28);
	hub_stats(h, "{\"type\":\"stats\",\"n\":3333333}", 28);
	assert_int_equal(hub_counters(h)->memory_closes, 1);
	assert_int_equal(hub_counters(h)->dropped[HUB_DROP_MEMORY], 2);
	hub_sock_next(v2.s, &o);
	assert_int_equal(o.kind, HUB_OUT_CLOSE);
	assert_int_equal(o.close_code, 1013);
	assert_int_equal(hub_sock_queued(v1.s), 3);
	assert_int_equal(hub_counters(h)->queued_bytes, 84);
	/* a socket that goes away with messages queued: counted as closed */
	hub_sock_free(v1.s);
	assert_int_equal(hub_counters(h)->dropped[HUB_DROP_CLOSED], 3);
	/* a closing socket counts what it no longer gets */
	hub_stats(h, "{\"type\":\"stats\",\"n\":4444444}", 28);
	assert_int_equal(hub_counters(h)->dropped[HUB_DROP_CLOSING], 1);
	assert_int_equal(hub_counters(h)->queued_bytes, 0);
	assert_int_equal(hub_counters(h)->pushed, 1);
	hub_sock_free(v2.s);
	assert_string_equal(hub_drop_name(HUB_DROP_SLOW), "slow");
	hub_free(h);
}

/* ---------------------------------------------------------------- batches */

#include <jansson.h>

static struct hub *mkhub_batch(unsigned ring, size_t batch_bytes)
{
	struct hub_cfg cfg = {.resume_max = ring,
	                      .max_errors = 3,
	                      .ping_ms = 100000,
	                      .ping_timeout_ms = 500,
	                      .hello_timeout_ms = 2000,
	                      .batch_bytes = batch_bytes};
	struct hub *h = hub_new(&cfg, &OPS);

	assert_non_null(h);
	hub_set_ready(h, "0-0");
	return h;
}

/* The next text frame, parsed (skipping pings); NULL when none. Checks that
 * a batch frame is well formed: count = items, cursor = the last item's. */
static json_t *next_json(struct fake *f)
{
	struct hub_msg *m = next_frame(f);
	json_t *j;

	if (!m)
		return NULL;
	assert_int_equal(strlen((char *)hub_msg_data(m)), m->len);
	j = json_loadb((char *)hub_msg_data(m), m->len, 0, NULL);
	assert_non_null(j);
	hub_sock_sent(f->s, HUB_OUT_TEXT);
	if (!strcmp(json_string_value(json_object_get(j, "type")), "matches")) {
		json_t *items = json_object_get(j, "items");
		size_t n = json_array_size(items);

		assert_true(n > 0);
		assert_int_equal(json_integer_value(json_object_get(j, "count")), n);
		assert_string_equal(
		    json_string_value(json_object_get(j, "cursor")),
		    json_string_value(json_object_get(json_array_get(items, n - 1), "cursor")));
	}
	return j;
}

static const char *jtype(json_t *j)
{
	return json_string_value(json_object_get(j, "type"));
}

/* Drains f: every match (single or in a batch) appended to ids (stream ms of
 * its cursor), tokens counted; returns the number of frames. */
static int drain_matches(struct fake *f, int *ids, int *n, int *tokens, int *batches)
{
	json_t *j;
	int frames = 0;

	while ((j = next_json(f))) {
		json_t *items = NULL, *one = NULL;

		frames++;
		if (!strcmp(jtype(j), "matches")) {
			items = json_object_get(j, "items");
			if (batches)
				(*batches)++;
		} else if (!strcmp(jtype(j), "match")) {
			one = json_array();
			json_array_append(one, j);
			items = one;
		}
		for (size_t i = 0; i < json_array_size(items); i++) {
			json_t *m = json_array_get(items, i);

			assert_string_equal(jtype(m), "match");
			ids[(*n)++] = atoi(json_string_value(json_object_get(m, "cursor")));
			if (json_object_get(m, "rating_token"))
				(*tokens)++;
		}
		json_decref(one);
		json_decref(j);
	}
	return frames;
}

static void test_batch_delivery_and_tokens(void **state)
{
	struct hub *h = mkhub_batch(100, 0);
	struct fake v, pv, r, d;
	int ids[64], n, tokens, batches;

	(void)state;
	connect_as(h, &v, "{\"type\":\"hello\",\"role\":\"viewer\",\"batch\":true}", 10);
	connect_as(h, &pv, "{\"type\":\"hello\",\"role\":\"viewer\"}", 10);
	connect_as(h, &r, "{\"type\":\"hello\",\"client_id\":\"r\",\"batch\":true}", 10);
	connect_as(h, &d, "{\"type\":\"hello\",\"client_id\":\"d\",\"batch\":true}", 10);
	assert_true(hub_sock_batching(v.s));
	assert_false(hub_sock_batching(pv.s));
	for (int i = 1; i <= 6; i++)
		add_match(h, i, i % 2 ? "r" : "x", "d", 20);
	/* the batching viewer: one frame, all six in order, no token */
	n = tokens = batches = 0;
	assert_true(hub_sock_pending(v.s));
	assert_int_equal(drain_matches(&v, ids, &n, &tokens, &batches), 1);
	assert_int_equal(n, 6);
	for (int i = 0; i < 6; i++)
		assert_int_equal(ids[i], i + 1);
	assert_int_equal(tokens, 0);
	assert_false(hub_sock_pending(v.s));
	/* the per-message viewer is unchanged: six frames */
	n = tokens = batches = 0;
	assert_int_equal(drain_matches(&pv, ids, &n, &tokens, &batches), 6);
	assert_int_equal(batches, 0);
	assert_int_equal(tokens, 0);
	/* the rider's client: its three, each with its token */
	n = tokens = batches = 0;
	assert_int_equal(drain_matches(&r, ids, &n, &tokens, &batches), 1);
	assert_int_equal(n, 3);
	assert_int_equal(tokens, 3);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[2], 5);
	/* the driver's client: all six, none with a token */
	n = tokens = 0;
	assert_int_equal(drain_matches(&d, ids, &n, &tokens, NULL), 1);
	assert_int_equal(n, 6);
	assert_int_equal(tokens, 0);
	assert_int_equal(hub_counters(h)->batches, 3);
	/* pushed counts matches, not frames: 6 + 6 + 3 + 6 */
	assert_int_equal(hub_counters(h)->pushed, 21);
	assert_int_equal(hub_counters(h)->queued_bytes, 0);
	hub_free(h);
}

static void test_batch_cap_and_order(void **state)
{
	/* a viewer's items are 60-62 bytes: two per 130-byte batch */
	struct hub *h = mkhub_batch(100, 130);
	struct fake v;
	struct hub_out o;
	int ids[64], n = 0, tokens = 0, frames;
	json_t *j;

	(void)state;
	connect_as(h, &v, "{\"type\":\"hello\",\"role\":\"viewer\",\"batch\":true}", 10);
	for (int i = 1; i <= 10; i++)
		add_match(h, i, "r", "d", 20);
	/* hub_sock_next without hub_sock_sent gives the same batch again */
	hub_sock_next(v.s, &o);
	assert_int_equal(o.kind, HUB_OUT_TEXT);
	assert_true(o.msg->len > 0);
	hub_sock_next(v.s, &o);
	assert_int_equal(o.kind, HUB_OUT_TEXT);
	assert_non_null(strstr((char *)hub_msg_data(o.msg), "\"cursor\":\"1-0\""));
	frames = drain_matches(&v, ids, &n, &tokens, NULL);
	assert_int_equal(n, 10);
	for (int i = 0; i < 10; i++)
		assert_int_equal(ids[i], i + 1);
	assert_int_equal(frames, 5);

	/* a stats message splits batches: matches stay in order around it */
	add_match(h, 11, "r", "d", 20);
	add_match(h, 12, "r", "d", 20);
	hub_stats(h, "{\"type\":\"stats\"}", 16);
	add_match(h, 13, "r", "d", 20);
	j = next_json(&v);
	assert_string_equal(jtype(j), "matches");
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 2);
	json_decref(j);
	j = next_json(&v);
	assert_string_equal(jtype(j), "stats");
	json_decref(j);
	j = next_json(&v);
	assert_string_equal(jtype(j), "matches");
	assert_string_equal(json_string_value(json_object_get(j, "cursor")), "13-0");
	json_decref(j);
	assert_null(next_json(&v));
	hub_free(h);
}

static void test_batch_single_item_over_cap(void **state)
{
	struct hub *h = mkhub_batch(100, 10);
	struct fake v;
	int ids[8], n = 0, tokens = 0;

	(void)state;
	connect_as(h, &v, "{\"type\":\"hello\",\"role\":\"viewer\",\"batch\":true}", 10);
	add_match(h, 1, "r", "d", 20);
	add_match(h, 2, "r", "d", 20);
	/* each item is larger than the cap: it still goes, alone */
	assert_int_equal(drain_matches(&v, ids, &n, &tokens, NULL), 2);
	assert_int_equal(n, 2);
	hub_free(h);
}

static void test_batch_resume(void **state)
{
	struct hub *h = mkhub_batch(100, 400);
	struct fake v, r;
	json_t *j;
	int ids[64], n = 0, tokens = 0;

	(void)state;
	for (int i = 1; i <= 12; i++)
		add_match(h, i, i % 3 ? "x" : "r", "d", 20);
	/* a batching viewer resuming after 2: 3..12, batched, in order, no token */
	memset(&v, 0, sizeof(v));
	v.s = hub_sock_new(h, &v, 30);
	assert_int_equal(
	    rx(&v,
	       "{\"type\":\"hello\",\"role\":\"viewer\",\"batch\":true,\"resume_after\":\"2-0\"}",
	       30),
	    0);
	j = next_json(&v);
	assert_string_equal(jtype(j), "welcome");
	assert_int_equal(json_integer_value(json_object_get(j, "resumed")), 10);
	assert_true(json_is_true(json_object_get(j, "batch")));
	json_decref(j);
	assert_true(hub_sock_resuming(v.s));
	/* a live match while resuming comes after the missed ones, once */
	add_match(h, 13, "x", "d", 40);
	assert_true(drain_matches(&v, ids, &n, &tokens, NULL) < 11);
	assert_int_equal(n, 11);
	for (int i = 0; i < 11; i++)
		assert_int_equal(ids[i], i + 3);
	assert_int_equal(tokens, 0);
	assert_false(hub_sock_resuming(v.s));
	/* 13 came while resuming: taken from the ring in its turn */
	assert_int_equal(hub_counters(h)->resumed, 11);

	/* the rider's client resuming by cursor: its own 3, 6, 9, 12, tokens kept */
	memset(&r, 0, sizeof(r));
	r.s = hub_sock_new(h, &r, 50);
	assert_int_equal(
	    rx(&r,
	       "{\"type\":\"hello\",\"client_id\":\"r\",\"batch\":true,\"resume_after\":\"1-0\"}",
	       50),
	    0);
	j = next_json(&r);
	assert_int_equal(json_integer_value(json_object_get(j, "resumed")), 4);
	json_decref(j);
	n = tokens = 0;
	drain_matches(&r, ids, &n, &tokens, NULL);
	assert_int_equal(n, 4);
	assert_int_equal(tokens, 4);
	assert_int_equal(ids[0], 3);
	assert_int_equal(ids[3], 12);
	hub_free(h);
}

static void test_batch_hello_validation(void **state)
{
	struct hub *h = mkhub_batch(10, 0);
	struct fake f;
	char buf[512];

	(void)state;
	memset(&f, 0, sizeof(f));
	f.s = hub_sock_new(h, &f, 10);
	assert_int_equal(rx(&f, "{\"type\":\"hello\",\"role\":\"viewer\",\"batch\":\"yes\"}", 10),
	                 0);
	assert_true(next_text(&f, buf, sizeof(buf)));
	assert_string_equal(
	    buf,
	    "{\"type\":\"error\",\"error\":\"batch must be true or false\",\"field\":\"batch\"}");
	/* batch:false is the per-message default, said by leaving it out of the welcome */
	assert_int_equal(rx(&f, "{\"type\":\"hello\",\"role\":\"viewer\",\"batch\":false}", 10), 0);
	assert_true(next_text(&f, buf, sizeof(buf)));
	assert_non_null(strstr(buf, "\"type\":\"welcome\""));
	assert_null(strstr(buf, "batch"));
	assert_false(hub_sock_batching(f.s));
	hub_free(h);
}

static void test_batch_deferred_write(void **state)
{
	struct hub_cfg cfg = {.resume_max = 100, .ping_ms = 100000, .batch_defer = 1};
	struct hub *h = hub_new(&cfg, &OPS);
	struct fake v, pv;
	int ids[16], n = 0, tokens = 0;

	(void)state;
	hub_set_ready(h, "0-0");
	connect_as(h, &v, "{\"type\":\"hello\",\"role\":\"viewer\",\"batch\":true}", 10);
	connect_as(h, &pv, "{\"type\":\"hello\",\"role\":\"viewer\"}", 10);
	v.wants = pv.wants = 0;
	add_match(h, 1, "r", "d", 20);
	add_match(h, 2, "r", "d", 20);
	add_match(h, 3, "r", "d", 20);
	/* the per-message viewer is asked at once; the batching one at the flush */
	assert_int_equal(pv.wants, 1);
	assert_int_equal(v.wants, 0);
	hub_flush(h);
	assert_int_equal(v.wants, 1);
	hub_flush(h);
	assert_int_equal(v.wants, 1);
	assert_int_equal(drain_matches(&v, ids, &n, &tokens, NULL), 1);
	assert_int_equal(n, 3);
	/* a reply behind deferred matches is not held back */
	add_match(h, 4, "r", "d", 20);
	assert_int_equal(v.wants, 1);
	assert_int_equal(rx(&v, "{\"type\":\"ping\"}", 20), 0);
	assert_int_equal(v.wants, 2);
	/* a socket freed while waiting for the flush is forgotten */
	hub_sock_free(v.s);
	hub_flush(h);
	hub_free(h);
}

/* Batching viewers with the same matches queued share one frame (the same
 * bytes, built once); a socket whose run differs (another client's, one
 * more match, a match sent meanwhile) gets a frame of its own, right. */
static void test_batch_shared_frame(void **state)
{
	struct hub *h = mkhub_batch(100, 0);
	struct fake v1, v2, v3, r;
	struct hub_out o;
	const struct hub_msg *first;
	char a[2048], b[2048];
	int ids[16], n = 0, tokens = 0;

	(void)state;
	connect_as(h, &v1, "{\"type\":\"hello\",\"role\":\"viewer\",\"batch\":true}", 10);
	connect_as(h, &v2, "{\"type\":\"hello\",\"role\":\"viewer\",\"batch\":true}", 10);
	connect_as(h, &r, "{\"type\":\"hello\",\"client_id\":\"r\",\"batch\":true}", 10);
	for (int i = 1; i <= 3; i++)
		add_match(h, i, "r", "d", 20);
	connect_as(h, &v3, "{\"type\":\"hello\",\"role\":\"viewer\",\"batch\":true}", 10);
	add_match(h, 4, "r", "d", 20);
	/* v1 and v2: 1-4, the very same frame */
	hub_sock_next(v1.s, &o);
	assert_int_equal(o.kind, HUB_OUT_TEXT);
	first = o.msg;
	snprintf(a, sizeof(a), "%s", (char *)hub_msg_data(o.msg));
	hub_sock_sent(v1.s, o.kind);
	hub_sock_next(v2.s, &o);
	assert_ptr_equal(o.msg, first);
	snprintf(b, sizeof(b), "%s", (char *)hub_msg_data(o.msg));
	assert_string_equal(a, b);
	assert_non_null(strstr(a, "\"count\":4,"));
	hub_sock_sent(v2.s, o.kind);
	/* the rider's client: the same matches, with tokens: its own frame */
	hub_sock_next(r.s, &o);
	assert_non_null(strstr((char *)hub_msg_data(o.msg), "\"rating_token\""));
	assert_non_null(strstr((char *)hub_msg_data(o.msg), "\"count\":4,"));
	hub_sock_sent(r.s, o.kind);
	/* v3 came after match 3: only 4 */
	assert_int_equal(drain_matches(&v3, ids, &n, &tokens, NULL), 1);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], 4);
	/* nothing is given twice, and the next frame is built afresh */
	assert_false(hub_sock_pending(v1.s));
	add_match(h, 5, "r", "d", 20);
	n = 0;
	assert_int_equal(drain_matches(&v1, ids, &n, &tokens, NULL), 1);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], 5);
	n = 0;
	assert_int_equal(drain_matches(&v2, ids, &n, &tokens, NULL), 1);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], 5);
	assert_int_equal(tokens, 0);
	assert_int_equal(hub_counters(h)->batches, 6);
	/* built: v1's 1-4 (v2 shares it), r's, v3's, v1's 5 (v2 shares it) */
	assert_int_equal(hub_counters(h)->batch_builds, 4);
	hub_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hello_and_errors),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_delivery),
	    cmocka_unit_test(test_resume),
	    cmocka_unit_test(test_slow_consumer),
	    cmocka_unit_test(test_pings),
	    cmocka_unit_test(test_resume_drains_past_the_queue_cap),
	    cmocka_unit_test(test_resume_overrun),
	    cmocka_unit_test(test_hello_held_until_ready),
	    cmocka_unit_test(test_token_only_to_riders_client),
	    cmocka_unit_test(test_counters_and_caps),
	    cmocka_unit_test(test_batch_delivery_and_tokens),
	    cmocka_unit_test(test_batch_cap_and_order),
	    cmocka_unit_test(test_batch_single_item_over_cap),
	    cmocka_unit_test(test_batch_resume),
	    cmocka_unit_test(test_batch_hello_validation),
	    cmocka_unit_test(test_batch_deferred_write),
	    cmocka_unit_test(test_batch_shared_frame),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
