/* test_bot_quality.c - unit tests of the bot's quality figures: bot/bquality
 * (pickup distance mean and nearest-rank p95 against a sorted copy, matched
 * shares per side from the ledger's account), the ledger's 202 -> match
 * times (either order of 202 and match, both sides, once per request,
 * unknown ids left alone) and wsmsg's distance and matched_at_ms, and that
 * both summaries (JSON and text) carry the figures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "bquality.h"
#include "bstats.h"
#include "ledger.h"
#include "testrng.h"
#include "wsmsg.h"

#define MS 1000ull
#define S  1000000ull
#define T0 (1000 * S)
/* the wall clock at T0 (ms since the epoch) */
#define WALL0 1763800000000ull

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* mean and p95 against a brute force over a copy, for many sizes */
static void test_pickup(void **state)
{
	rng_state = 14;
	for (int n = 0; n < 300; n += 1 + n / 10) {
		struct bquality q;
		struct ledger l;
		struct bquality_figures f;
		double *copy = calloc(n ? (size_t)n : 1, sizeof(double)), sum = 0;

		assert_non_null(copy);
		assert_int_equal(ledger_init(&l, 0, 0), 0);
		bquality_init(&q);
		for (int i = 0; i < n; i++) {
			/* duplicates and zeroes too */
			copy[i] = i % 7 == 0 ? 0 : (double)below(50) * 1.25;
			sum += copy[i];
			assert_int_equal(bquality_pair(&q, copy[i]), 0);
		}
		assert_int_equal(bquality_pair(&q, -1), 0); /* unknown: ignored */
		qsort(copy, (size_t)n, sizeof(double), cmp);
		bquality_figures(&q, &l, &f);
		assert_int_equal(f.pairs, n);
		if (n) {
			int rank = (95 * n + 99) / 100; /* smallest k with k >= 0.95 n */

			assert_true(rank >= 0.95 * n && rank - 1 < 0.95 * n);
			assert_true(f.pickup_p95 == copy[rank - 1]);
			assert_true(f.pickup_mean > sum / n - 1e-9 &&
			            f.pickup_mean < sum / n + 1e-9);
		} else {
			assert_true(f.pickup_p95 == 0 && f.pickup_mean == 0);
		}
		assert_true(f.side[0].share == -1 && f.side[1].share == -1);
		bquality_free(&q);
		ledger_free(&l);
		free(copy);
	}
}

/* 20 riders and 10 drivers of ours: 8 pairs made, the rest expire; the
 * match times come before and after the 202s */
static void test_shares_and_waits(void **state)
{
	struct ledger l;
	struct bquality q;
	struct bquality_figures f;
	char r[32], d[32];

	assert_int_equal(ledger_init(&l, 3000, 2000), 0);
	ledger_set_clock(&l, WALL0, T0);
	bquality_init(&q);
	for (int i = 0; i < 20; i++) {
		snprintf(r, sizeof(r), "r-%d", i);
		snprintf(d, sizeof(d), "d-%d", i);
		if (i < 4) { /* the match (told 1 s late) before the 202 */
			ledger_fare(&l, r, d, 1, T0 + i * MS + S, NULL);
			ledger_match_time(&l, r, d, WALL0 + i + 300);
		}
		ledger_accepted(&l, LEDGER_RIDER, r, 5000, T0 + i * MS);
		if (i < 10)
			ledger_accepted(&l, LEDGER_DRIVER, d, 5000, T0 + i * MS);
		if (i >= 4 && i < 8) { /* after: rider waited 100 ms * i */
			ledger_fare(&l, r, d, 1, T0 + i * 100 * MS + 20 * MS, NULL);
			ledger_match_time(&l, r, d, WALL0 + (uint64_t)i * 100 + i);
			/* a second copy changes nothing */
			ledger_match_time(&l, r, d, WALL0 + 4000);
		}
		if (i < 8)
			bquality_pair(&q, 10.0 * i);
	}
	ledger_match_time(&l, "nobody", "", WALL0 + 5); /* unknown: left */
	ledger_match_time(&l, "r-19", "d-19", 0);       /* no time: left */
	ledger_finish(&l, T0 + 60 * S);
	bquality_figures(&q, &l, &f);
	assert_int_equal(f.pairs, 8);
	assert_true(f.pickup_mean == 35.0);
	assert_true(f.pickup_p95 == 70.0);
	assert_int_equal(f.side[0].matched, 8);
	assert_int_equal(f.side[0].expired, 12);
	assert_true(f.side[0].share == 8.0 / 20);
	assert_int_equal(f.side[1].matched, 8);
	assert_int_equal(f.side[1].expired, 2);
	assert_true(f.side[1].share == 0.8);
	/* waits: 300 ms x4 (match first: from the 202 at T0 + i ms to WALL0 + i + 300),
	 * then 400, 500, 600, 700 ms; both sides alike */
	for (int k = 0; k < 2; k++) {
		assert_int_equal(f.side[k].waits, 8);
		assert_true(f.side[k].wait_p50_ms >= 300 && f.side[k].wait_p50_ms <= 300 * 1.04);
		assert_true(f.side[k].wait_p99_ms >= 700 && f.side[k].wait_p99_ms <= 700 * 1.04);
	}
	bquality_free(&q);
	ledger_free(&l);
}

/* a match told before its 202 whose wall time is before the 202's: 0 */
static void test_wait_never_negative(void **state)
{
	struct ledger l;

	assert_int_equal(ledger_init(&l, 0, 0), 0);
	ledger_set_clock(&l, WALL0, T0);
	ledger_fare(&l, "r-1", "", 1, T0, NULL);
	ledger_match_time(&l, "r-1", "", WALL0 + 10);
	ledger_accepted(&l, LEDGER_RIDER, "r-1", 5000, T0 + 50 * MS);
	assert_int_equal(l.wait[0].count, 1);
	assert_int_equal(lhist_quantile(&l.wait[0], 1), 0);
	assert_int_equal(l.wait[1].count, 0);
	ledger_free(&l);
}

static void test_wsmsg_fields(void **state)
{
	const char *m = "{\"type\":\"match\",\"ride_id\":\"ride-1\",\"rider\":{\"id\":\"1-0\"},"
			"\"driver\":{\"id\":\"2-0\"},\"distance\":31.97,\"fare\":63.94,"
			"\"matched_at_ms\":1763800000123}";
	const char *none = "{\"type\":\"match\",\"ride_id\":\"ride-1\",\"rider\":{\"id\":\"1-0\"},"
			   "\"distance\":\"far\",\"matched_at_ms\":1.5}";
	struct wsmsg w;

	assert_int_equal(wsmsg_parse(m, strlen(m), &w), 0);
	assert_true(w.distance == 31.97);
	assert_true(w.matched_at_ms == 1763800000123LL);
	assert_int_equal(wsmsg_parse(none, strlen(none), &w), 0);
	assert_true(w.distance == -1);
	assert_true(w.matched_at_ms == 0);
}

/* the summaries carry the figures: JSON parsed back, text by its words */
static void test_summaries(void **state)
{
	static struct bot_stats st;
	struct trace_hdr run = {.client_id = "c", .riders = 2};
	struct bstats_meta meta = {.url = "http://x", .run = &run};
	struct sbuf js = {0}, tx = {0};
	json_t *root, *q;

	st.q.pairs = 3;
	st.q.pickup_mean = 2.5;
	st.q.pickup_p95 = 4.25;
	st.q.side[0] = (struct bquality_side){7, 3, 0.7, 480, 1010, 7};
	st.q.side[1] = (struct bquality_side){0, 0, -1, 0, 0, 0};
	st.led.riders_accepted = 10;
	st.led.riders_fared = 7;
	st.k[KIND_RIDER].sent = 12;
	st.k[KIND_RIDER].rejected = 2;
	st.k[KIND_RIDER].status[429] = 2;
	bstats_json(&js, &st, &meta);
	bstats_text(&tx, &st, &meta);
	assert_false(js.oom || tx.oom);
	root = json_loadb(js.p, js.len, 0, NULL);
	assert_non_null(root);
	q = json_object_get(root, "quality");
	assert_int_equal(json_integer_value(json_object_get(q, "pairs")), 3);
	assert_true(json_real_value(json_object_get(json_object_get(q, "pickup"), "p95")) == 4.25);
	assert_true(
	    json_real_value(json_object_get(json_object_get(q, "riders"), "matched_share")) == 0.7);
	assert_true(json_is_null(json_object_get(json_object_get(q, "drivers"), "matched_share")));
	assert_true(json_real_value(json_object_get(
			json_object_get(json_object_get(q, "riders"), "wait_ms"), "p99")) == 1010);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(root, "riders_fate"), "fared")), 7);
	/* the per-kind objects, from the same table as the text */
	assert_true(json_is_object(
	    json_object_get(json_object_get(root, "ratings"), "rejected_by_status")));
	assert_int_equal(json_integer_value(
			     json_object_get(json_object_get(root, "drivers"), "transport_errors")),
	                 0);
	assert_non_null(strstr(tx.p, "pickup distance mean 2.50, p95 4.25 (3 pairs)"));
	assert_non_null(strstr(tx.p, "7 matched, 3 expired (70.0 % matched)"));
	assert_non_null(strstr(tx.p, "our riders  10 accepted, 7 got their fare"));
	assert_non_null(strstr(tx.p, "riders   12 sent, 0 accepted, 2 rejected, 0 transport errors "
	                             "(by status: 429=2)"));
	assert_int_equal(
	    json_integer_value(json_object_get(
		json_object_get(json_object_get(root, "riders"), "rejected_by_status"), "429")),
	    2);
	json_decref(root);
	sbuf_free(&js);
	sbuf_free(&tx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pickup),
	    cmocka_unit_test(test_shares_and_waits),
	    cmocka_unit_test(test_wait_never_negative),
	    cmocka_unit_test(test_wsmsg_fields),
	    cmocka_unit_test(test_summaries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
