/* test_bot_trace.c - unit tests of bot/trace (the --record/--replay lines)
 * and of the hot-spot generator in bot/reqgen: a trace round-trips byte for
 * byte, malformed lines are refused with their line number, client_id is
 * rewritten only where the bot put it; hot-spot points stay in the area and
 * gather around their centres. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <math.h>

#include "bstats.h"
#include "reqgen.h"
#include "trace.h"

static char *dup_str(const char *s)
{
	char *p = malloc(strlen(s) + 1);

	assert_non_null(p);
	strcpy(p, s);
	return p;
}

static void test_round_trip(void **state)
{
	struct trace_hdr h = {.seed = 12345678901ULL,
	                      .riders = 150,
	                      .drivers = 50,
	                      .client_id = "rec-1",
	                      .interval_ms = 1000,
	                      .area = 1000,
	                      .duration_s = 30,
	                      .hotspots = 2,
	                      .connections = 16};
	struct sbuf b = {0}, bodies[200];
	struct gen_rng r;
	struct trace t;
	char err[300];

	gen_seed(&r, 7);
	trace_format_header(&b, &h);
	for (int i = 0; i < 200; i++) {
		memset(&bodies[i], 0, sizeof(bodies[i]));
		if (i % 3)
			gen_rider_json(&bodies[i], i % 2 ? "Rahim \"Q\"" : "Fatema\\x",
			               gen_point(&r, 1000), gen_point(&r, 1000), "rec-1");
		else
			gen_driver_json(&bodies[i], "Karim", "DHA-11-2345", gen_point(&r, 1000),
			                "rec-1");
		trace_format_req(&b, (uint64_t)i * 7 / 3, i % 3 ? TRACE_RIDER : TRACE_DRIVER,
		                 bodies[i].p, bodies[i].len);
	}
	assert_false(b.oom);
	assert_int_equal(trace_load(&t, dup_str(b.p), b.len, err, sizeof(err)), 0);
	assert_int_equal(t.n, 200);
	assert_true(t.h.seed == 12345678901ULL);
	assert_string_equal(t.h.client_id, "rec-1");
	assert_int_equal(t.h.riders, 150);
	assert_int_equal(t.h.drivers, 50);
	assert_int_equal(t.h.hotspots, 2);
	assert_int_equal(t.h.duration_s, 30);
	for (int i = 0; i < 200; i++) {
		assert_int_equal(t.req[i].kind, i % 3 ? TRACE_RIDER : TRACE_DRIVER);
		assert_int_equal(t.req[i].t_ms, (uint64_t)i * 7 / 3);
		assert_int_equal(t.req[i].len, bodies[i].len);
		assert_memory_equal(t.req[i].body, bodies[i].p, bodies[i].len);
		sbuf_free(&bodies[i]);
	}
	trace_free(&t);
	sbuf_free(&b);
}

static void expect_refused(const char *text, const char *want)
{
	struct trace t;
	char err[300] = "";

	assert_int_equal(trace_load(&t, dup_str(text), strlen(text), err, sizeof(err)), -1);
	if (!strstr(err, want))
		fail_msg("error \"%s\" does not say \"%s\"", err, want);
	trace_free(&t);
}

#define HDR "{\"trace\":\"rs-bot\",\"version\":1,\"seed\":1,\"client_id\":\"c\"}\n"
#define REQ "{\"t_ms\":5,\"kind\":\"rider\",\"body\":{\"name\":\"A\"}}\n"

static void test_malformed(void **state)
{
	expect_refused("", "line 1: empty file");
	expect_refused("hello\n", "line 1: header: not a JSON object");
	expect_refused("{\"trace\":\"other\",\"version\":1,\"seed\":1,\"client_id\":\"c\"}\n",
	               "line 1: header: not a bot trace");
	expect_refused("{\"trace\":\"rs-bot\",\"version\":2,\"seed\":1,\"client_id\":\"c\"}\n",
	               "line 1: header: unsupported");
	expect_refused("{\"trace\":\"rs-bot\",\"version\":1,\"client_id\":\"c\"}\n",
	               "line 1: header: \"seed\"");
	expect_refused("{\"trace\":\"rs-bot\",\"version\":1,\"seed\":1,\"client_id\":\"a b\"}\n",
	               "line 1: header: \"client_id\"");
	expect_refused(
	    "{\"trace\":\"rs-bot\",\"version\":1,\"seed\":1,\"client_id\":\"c\",\"riders\":-1}\n",
	    "line 1: header: \"riders\"");
	expect_refused(HDR REQ "\n" REQ, "line 3: empty line");
	expect_refused(HDR REQ "{\"t_ms\":\"5\",\"kind\":\"rider\",\"body\":{}}\n",
	               "line 3: \"t_ms\" must be an integer");
	expect_refused(HDR "{\"kind\":\"rider\",\"t_ms\":5,\"body\":{}}\n",
	               "line 2: not a request line");
	expect_refused(HDR REQ REQ "{\"t_ms\":6,\"kind\":\"rating\",\"body\":{}}\n",
	               "line 4: \"kind\" must be");
	expect_refused(HDR "{\"t_ms\":6,\"kind\":\"rider\",\"body\":{\"a\":1\n",
	               "line 2: the line must end");
	expect_refused(HDR "{\"t_ms\":6,\"kind\":\"rider\",\"body\":{\"a\":}}\n",
	               "line 2: \"body\" is not one JSON object");
	expect_refused(HDR "{\"t_ms\":6,\"kind\":\"rider\",\"body\":[1,2]}\n",
	               "line 2: \"body\" is not one JSON object");
	expect_refused(HDR "{\"t_ms\":6,\"kind\":\"rider\",\"body\":{\"a\":1,\"a\":2}}\n",
	               "line 2: \"body\" is not one JSON object");
	expect_refused(HDR "{\"t_ms\":6,\"kind\":\"driver\",\"body\":{}}\n" REQ,
	               "line 3: t_ms 5 is before the previous line's 6");
	expect_refused(HDR "{\"t_ms\":1234567890123456,\"kind\":\"rider\",\"body\":{}}\n",
	               "line 2: \"t_ms\" must be an integer of 1-15");
	expect_refused(HDR "{\"t_ms\":1,\"kind\":\"rider\",\"body\":{}}x\n",
	               "line 2: the line must end");
}

static void test_accepts_crlf_and_no_final_newline(void **state)
{
	const char *text = HDR REQ "{\"t_ms\":9,\"kind\":\"driver\",\"body\":{\"name\":\"B\"}}\r\n"
				   "{\"t_ms\":9,\"kind\":\"rider\",\"body\":{}}";
	struct trace t;
	char err[300];

	assert_int_equal(trace_load(&t, dup_str(text), strlen(text), err, sizeof(err)), 0);
	assert_int_equal(t.n, 3);
	assert_int_equal(t.req[1].kind, TRACE_DRIVER);
	assert_int_equal(t.req[1].len, strlen("{\"name\":\"B\"}"));
	assert_memory_equal(t.req[1].body, "{\"name\":\"B\"}", t.req[1].len);
	assert_int_equal(t.req[2].len, 2);
	trace_free(&t);
}

static void test_rewrite_client(void **state)
{
	struct sbuf b = {0};
	const char *body =
	    "{\"name\":\"client_id\",\"location\":{\"x\":1.00,\"y\":2.00},\"client_id\":\"rec-1\"}";

	trace_rewrite_client(&b, body, strlen(body), "rec-1", "bot-99-abcd");
	assert_string_equal(b.p, "{\"name\":\"client_id\",\"location\":{\"x\":1.00,\"y\":2.00},"
	                         "\"client_id\":\"bot-99-abcd\"}");
	b.len = 0;
	/* same id: byte for byte */
	trace_rewrite_client(&b, body, strlen(body), "rec-1", "rec-1");
	assert_int_equal(b.len, strlen(body));
	assert_memory_equal(b.p, body, b.len);
	b.len = 0;
	/* another id, or none: unchanged */
	trace_rewrite_client(&b, body, strlen(body), "rec-2", "x");
	assert_memory_equal(b.p, body, strlen(body));
	b.len = 0;
	trace_rewrite_client(&b, "{\"name\":\"A\"}", 12, "rec-1", "x");
	assert_int_equal(b.len, 12);
	sbuf_free(&b);
}

static void test_hotspots(void **state)
{
	struct gen_rng r;
	struct gen_hot h;
	int near = 0, n = 20000;

	gen_seed(&r, 3);
	gen_hot_init(&h, &r, 1000, 2);
	assert_int_equal(h.n, 2);
	for (int i = 0; i < 2; i++)
		assert_true(h.c[i].x >= 100 && h.c[i].x < 900 && h.c[i].y >= 100 && h.c[i].y < 900);
	for (int i = 0; i < n; i++) {
		struct gen_point p = gen_point_hot(&r, 1000, &h);

		assert_true(p.x >= 0 && p.x < 1000 && p.y >= 0 && p.y < 1000);
		assert_true(fabs(p.x * 100 - round(p.x * 100)) < 1e-6 &&
		            fabs(p.y * 100 - round(p.y * 100)) < 1e-6);
		for (int c = 0; c < 2; c++)
			if (p.x >= h.c[c].x - h.spread - 0.01 && p.x <= h.c[c].x + h.spread &&
			    p.y >= h.c[c].y - h.spread - 0.01 && p.y <= h.c[c].y + h.spread) {
				near++;
				break;
			}
	}
	/* 80 % by construction, plus the uniform ones that fall there (< 2 %) */
	assert_true(near > n * 0.77 && near < n * 0.85);

	/* no hot spots: exactly gen_point */
	{
		struct gen_rng a, b;
		struct gen_hot none;

		gen_seed(&a, 9);
		gen_seed(&b, 9);
		gen_hot_init(&none, &a, 1000, 0);
		for (int i = 0; i < 100; i++) {
			struct gen_point p = gen_point_hot(&a, 1000, &none),
					 q = gen_point(&b, 1000);

			assert_true(p.x == q.x && p.y == q.y);
		}
	}
	/* clamped count, and points near the edge stay inside */
	gen_hot_init(&h, &r, 10, 99);
	assert_int_equal(h.n, GEN_HOT_MAX);
	h.c[0].x = 9.99;
	h.c[0].y = 0;
	h.frac = 1;
	h.n = 1;
	for (int i = 0; i < 1000; i++) {
		struct gen_point p = gen_point_hot(&r, 10, &h);

		assert_true(p.x >= 0 && p.x < 10 && p.y >= 0 && p.y < 10);
	}
}

/* the summary's "replay" object: valid JSON, null when not replaying */
static void test_summary_replay(void **state)
{
	static struct bot_stats st;
	struct trace_hdr run = {.client_id = "me"};
	struct bstats_meta m = {.url = "http://x",
	                        .run = &run,
	                        .replay_file = "-",
	                        .replay_speed = 2.5,
	                        .replay_requests = 3000,
	                        .replay_recorded_as = "trace"};
	struct sbuf out = {0};
	json_t *o, *r;

	bstats_json(&out, &st, &m);
	assert_false(out.oom);
	o = json_loadb(out.p, out.len, 0, NULL);
	assert_non_null(o);
	r = json_object_get(o, "replay");
	assert_string_equal(json_string_value(json_object_get(r, "file")), "-");
	assert_true(json_real_value(json_object_get(r, "speed")) == 2.5);
	assert_int_equal(json_integer_value(json_object_get(r, "requests")), 3000);
	assert_string_equal(json_string_value(json_object_get(r, "recorded_as")), "trace");
	json_decref(o);
	out.len = 0;
	m.replay_file = NULL;
	bstats_json(&out, &st, &m);
	o = json_loadb(out.p, out.len, 0, NULL);
	assert_non_null(o);
	assert_true(json_is_null(json_object_get(o, "replay")));
	json_decref(o);
	sbuf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_accepts_crlf_and_no_final_newline),
	    cmocka_unit_test(test_rewrite_client),
	    cmocka_unit_test(test_hotspots),
	    cmocka_unit_test(test_summary_replay),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
