/* test_bot_ledger.c - unit tests of bot/ledger (the bot's account of its
 * riders, drivers, fares and ratings) and of the --strict verdict built on
 * it (bstats_strict): fared riders, a rider lost beside a free driver of
 * ours, a rider expired unmatched when our drivers were all taken or too far
 * apart in time, late fares correcting the counts, fares before their 202,
 * duplicate copies rated once, ratings in flight vs final, riders still
 * waiting at the end, the TTL from the 202, and that old entries are
 * forgotten (bounded memory over a long run). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bstats.h"
#include "ledger.h"

#define MS 1000ull
#define S  1000000ull
#define T0 (1000 * S)

static struct ledger L;

static int setup(void **state)
{
	assert_int_equal(ledger_init(&L, 3000, 2000), 0);
	return 0;
}

static int teardown(void **state)
{
	ledger_free(&L);
	return 0;
}

static const char *id(const char *p, int i)
{
	static char buf[8][32];
	static int k;

	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "%s-%d", p, i);
	return buf[k];
}

static void test_all_fared(void **state)
{
	for (int i = 0; i < 100; i++) {
		uint64_t t = T0 + (uint64_t)i * 10 * MS;

		assert_non_null(ledger_accepted(&L, LEDGER_RIDER, id("r", i), 5000, t));
		assert_non_null(ledger_accepted(&L, LEDGER_DRIVER, id("d", i), 5000, t + MS));
		assert_int_equal(ledger_fare(&L, id("r", i), id("d", i), 1, t + 500 * MS, NULL), 1);
		ledger_rating_sent(&L);
	}
	assert_int_equal(ledger_fares_unrated(&L, 0), 0);   /* all in flight */
	assert_int_equal(ledger_fares_unrated(&L, 1), 100); /* at the end: none accepted */
	for (int i = 0; i < 100; i++)
		ledger_rating_done(&L, 1);
	ledger_settle(&L, T0 + 60 * S);
	assert_int_equal(L.c.riders_accepted, 100);
	assert_int_equal(L.c.riders_fared, 100);
	assert_int_equal(L.c.drivers_matched, 100);
	assert_int_equal(L.c.fares, 100);
	assert_int_equal(L.c.riders_lost + L.c.riders_expired + L.c.drivers_no_fare, 0);
	assert_int_equal(ledger_riders_waiting(&L), 0);
	assert_int_equal(ledger_fares_unrated(&L, 1), 0);
	assert_int_equal(ledger_settled_by(&L), 0);
}

static void test_lost_beside_free_driver(void **state)
{
	struct bot_stats st;
	struct sbuf why = {0};

	/* a rider and a driver of ours 1.5 s apart, neither hears a fare */
	ledger_accepted(&L, LEDGER_RIDER, "r1", 5000, T0);
	ledger_accepted(&L, LEDGER_DRIVER, "d1", 5000, T0 + 1500 * MS);
	ledger_settle(&L, T0 + 7 * S); /* inside TTL + grace */
	assert_int_equal(ledger_riders_waiting(&L), 1);
	assert_int_equal(L.c.riders_lost, 0);
	ledger_settle(&L, T0 + 8 * S + 1); /* A passed, not B yet */
	assert_int_equal(L.c.riders_lost + L.c.riders_expired, 0);
	assert_int_equal(ledger_riders_waiting(&L), 1);
	assert_true(ledger_settled_by(&L) == T0 + 10 * S);
	ledger_settle(&L, T0 + 11 * S);
	assert_int_equal(L.c.riders_lost, 1);
	assert_int_equal(L.c.riders_expired, 0);
	assert_int_equal(L.c.drivers_no_fare, 1);
	assert_int_equal(ledger_riders_waiting(&L), 0);

	memset(&st, 0, sizeof(st));
	st.led = L.c;
	assert_int_equal(bstats_strict(&st, &why), -1);
	assert_non_null(strstr(why.p, "1 accepted riders got no fare"));
	sbuf_free(&why);
}

static void test_expired_when_drivers_taken(void **state)
{
	struct bot_stats st;

	/* 3 riders, 2 drivers: the drivers' fares come, one rider expires */
	for (int i = 0; i < 3; i++)
		ledger_accepted(&L, LEDGER_RIDER, id("r", i), 5000, T0 + (uint64_t)i * MS);
	for (int i = 0; i < 2; i++)
		ledger_accepted(&L, LEDGER_DRIVER, id("d", i), 5000, T0 + (uint64_t)i * MS);
	ledger_fare(&L, "r-0", "d-1", 1, T0 + S, NULL);
	ledger_fare(&L, "r-2", "d-0", 1, T0 + S, NULL);
	ledger_rating_sent(&L);
	ledger_rating_sent(&L);
	ledger_rating_done(&L, 1);
	ledger_rating_done(&L, 1);
	ledger_settle(&L, T0 + 20 * S);
	assert_int_equal(L.c.riders_fared, 2);
	assert_int_equal(L.c.riders_expired, 1);
	assert_int_equal(L.c.riders_lost, 0);
	memset(&st, 0, sizeof(st));
	st.led = L.c;
	st.fares_unrated = ledger_fares_unrated(&L, 1);
	assert_int_equal(bstats_strict(&st, NULL), 0);
}

static void test_free_driver_too_far_apart(void **state)
{
	/* a driver of ours without a fare, but accepted 3 s after the rider
	 * (window 2 s): they may never have shared a tick long enough */
	ledger_accepted(&L, LEDGER_RIDER, "r1", 5000, T0);
	ledger_accepted(&L, LEDGER_DRIVER, "d1", 5000, T0 + 3 * S);
	ledger_settle(&L, T0 + 30 * S);
	assert_int_equal(L.c.riders_expired, 1);
	assert_int_equal(L.c.riders_lost, 0);
	assert_int_equal(L.c.drivers_no_fare, 1);
}

static void test_late_fare_corrects(void **state)
{
	ledger_accepted(&L, LEDGER_RIDER, "r1", 5000, T0);
	ledger_accepted(&L, LEDGER_DRIVER, "d1", 5000, T0);
	ledger_settle(&L, T0 + 12 * S);
	assert_int_equal(L.c.riders_lost, 1);
	/* a resumed delivery brings it after all */
	assert_int_equal(ledger_fare(&L, "r1", "d1", 1, T0 + 13 * S, NULL), 1);
	assert_int_equal(L.c.riders_lost, 0);
	assert_int_equal(L.c.riders_fared, 1);
	assert_int_equal(L.c.riders_fared_late, 1);
	assert_int_equal(L.c.drivers_no_fare, 0);
	assert_int_equal(L.c.drivers_matched, 1);
	assert_int_equal(ledger_riders_waiting(&L), 0);
	/* late between phase A and B: no lost/expired count to undo */
	ledger_accepted(&L, LEDGER_RIDER, "r2", 5000, T0 + 20 * S);
	ledger_settle(&L, T0 + 28 * S + 1);
	ledger_fare(&L, "r2", "", 0, T0 + 29 * S, NULL);
	ledger_settle(&L, T0 + 40 * S);
	assert_int_equal(L.c.riders_lost + L.c.riders_expired, 0);
	assert_int_equal(L.c.riders_fared_late, 2);
}

static void test_fare_before_202_and_copies(void **state)
{
	struct pend *p;

	/* the fare (two copies: driver's, then rider's with token) before the 202s */
	assert_int_equal(ledger_fare(&L, "r1", "d1", 0, T0, &p), 0);
	assert_non_null(p);
	assert_int_equal(ledger_fare(&L, "r1", "d1", 1, T0 + 1, NULL), 1);
	assert_int_equal(ledger_fare(&L, "r1", "d1", 1, T0 + 2, NULL), 0); /* rated once */
	assert_int_equal(L.c.fares, 1);
	assert_int_equal(L.c.fares_with_token, 1);
	assert_int_equal(L.c.riders_fared, 0); /* not ours (yet) */
	ledger_accepted(&L, LEDGER_RIDER, "r1", 5000, T0 + 3);
	ledger_accepted(&L, LEDGER_DRIVER, "d1", 5000, T0 + 4);
	assert_int_equal(L.c.riders_fared, 1);
	assert_int_equal(L.c.drivers_matched, 1);
	/* a second 202 for the same id changes nothing */
	ledger_accepted(&L, LEDGER_RIDER, "r1", 5000, T0 + 5);
	assert_int_equal(L.c.riders_accepted, 1);
	/* a fare for a rider we never got a 202 for */
	ledger_fare(&L, "stranger", "", 1, T0 + 6, NULL);
	ledger_settle(&L, T0 + 60 * S);
	assert_int_equal(L.c.fares_unknown, 1);
	assert_int_equal(L.c.riders_accepted, 1);
	assert_int_equal(ledger_riders_waiting(&L), 0);
	/* bad ids */
	assert_int_equal(ledger_fare(&L, "", "d", 0, T0 + 61 * S, NULL), -1);
	assert_null(ledger_accepted(&L, LEDGER_RIDER, "", 5000, T0 + 61 * S));
}

static void test_unrated(void **state)
{
	struct bot_stats st;
	struct sbuf why = {0};

	for (int i = 0; i < 10; i++) {
		ledger_accepted(&L, LEDGER_RIDER, id("r", i), 5000, T0);
		ledger_fare(&L, id("r", i), "", 1, T0 + S, NULL);
	}
	for (int i = 0; i < 8; i++)
		ledger_rating_sent(&L); /* 2 never sent (the bot was finishing) */
	for (int i = 0; i < 5; i++)
		ledger_rating_done(&L, 1);
	ledger_rating_done(&L, 0); /* a 503 */
	/* in flight: 2; not final: 2 unsent + 1 failed */
	assert_int_equal(ledger_fares_unrated(&L, 0), 3);
	assert_int_equal(ledger_fares_unrated(&L, 1), 5);
	memset(&st, 0, sizeof(st));
	st.led = L.c;
	st.fares_unrated = ledger_fares_unrated(&L, 1);
	assert_int_equal(bstats_strict(&st, &why), -1);
	assert_non_null(strstr(why.p, "5 fares were not rated"));
	sbuf_free(&why);
}

static void test_finish_waiting(void **state)
{
	/* at the end: r1 past TTL + grace (judged now), r2 still inside its TTL */
	ledger_accepted(&L, LEDGER_RIDER, "r1", 5000, T0);
	ledger_accepted(&L, LEDGER_DRIVER, "d1", 5000, T0 + 100 * MS);
	ledger_fare(&L, "x", "d1", 0, T0 + S, NULL); /* d1 taken by someone else's rider */
	ledger_accepted(&L, LEDGER_RIDER, "r2", 5000, T0 + 6 * S);
	ledger_accepted(&L, LEDGER_DRIVER, "d2", 5000, T0 + 6 * S);
	ledger_finish(&L, T0 + 9 * S);
	assert_int_equal(L.c.riders_expired, 1);
	assert_int_equal(L.c.riders_lost, 0);
	assert_int_equal(ledger_riders_waiting(&L), 1); /* r2: neither lost nor expired */
	assert_true(ledger_settled_by(&L) == T0 + 16 * S);
}

static void test_ttl_from_202(void **state)
{
	ledger_accepted(&L, LEDGER_RIDER, "r1", 1000, T0); /* 1 s TTL */
	ledger_accepted(&L, LEDGER_RIDER, "r2", 0, T0);    /* none said: 5 s */
	ledger_settle(&L, T0 + 6 * S + 1);                 /* 1 + 3 + 2 */
	assert_int_equal(L.c.riders_expired, 1);
	assert_int_equal(ledger_riders_waiting(&L), 1);
}

static void test_bounded_memory(void **state)
{
	/* an hour at 100 riders + 100 drivers per second, a lost fare now and
	 * then: the map holds about keep_us worth, never the hour */
	uint64_t t = T0;
	size_t most = 0;

	for (int s = 0; s < 3600; s++) {
		for (int i = 0; i < 100; i++) {
			const char *r = id("r", s * 100 + i), *d = id("d", s * 100 + i);

			t += 10 * MS;
			ledger_accepted(&L, LEDGER_RIDER, r, 5000, t);
			ledger_accepted(&L, LEDGER_DRIVER, d, 5000, t);
			if (i != 7 || s % 60)
				ledger_fare(&L, r, d, 0, t + 500 * MS, NULL);
		}
		ledger_settle(&L, t);
		most = L.map.count > most ? L.map.count : most;
	}
	ledger_finish(&L, t + 60 * S);
	assert_true(most <= 200 * (L.keep_us / S + 2));
	assert_int_equal(L.c.riders_accepted, 360000);
	assert_int_equal(L.c.riders_lost, 60);
	assert_int_equal(L.c.riders_fared, 360000 - 60);
	assert_int_equal(L.c.drivers_no_fare, 60);
	assert_int_equal(ledger_riders_waiting(&L), 0);
	assert_true(L.fd_len <= 60);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_all_fared),
	    T(test_lost_beside_free_driver),
	    T(test_expired_when_drivers_taken),
	    T(test_free_driver_too_far_apart),
	    T(test_late_fare_corrects),
	    T(test_fare_before_202_and_copies),
	    T(test_unrated),
	    T(test_finish_waiting),
	    T(test_ttl_from_202),
	    T(test_bounded_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
