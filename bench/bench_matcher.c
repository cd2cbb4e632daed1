/* bench_matcher.c — times pairing_match (matcher/pairing.c) on N riders x N
 * drivers uniform in a square, N = 1e3, 1e4, 1e5, 1e6, against a brute force
 * (every pair sorted by (d2, rider, driver), taken greedily) where that is
 * affordable, and reports the memory per waiting request. Then the steady
 * state: a backlog waiting on one side and a few arrivals on both per tick,
 * paired incrementally (matcher/incr.c) and from scratch (pairing_match_ctx over
 * the whole pool, the cold path). Output on stdout only: tables, or JSON
 * with --json. See --help. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "incr.h"
#include "pairing.h"

#include "../tests/unit/testoracle.h"
#include "../tests/unit/testrng.h"

/* CPU seconds of the whole process (all its threads): on a shared machine
 * it moves less with the load than the wall time. */
static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- brute force (tests/unit/testoracle.h): all pairs sorted by
 * (d2, rider, driver), taken greedily; 16 bytes a pair ---- */

static long brute(const struct pairing_point *R, size_t nr, const struct pairing_point *D,
                  size_t nd, struct pairing_pair *out, size_t *bytes)
{
	*bytes = nr * nd * sizeof(struct oracle_cand) + nr + nd;
	return oracle_pairs(R, nr, D, nd, out);
}

/* ---- peak resident memory: VmHWM, reset through /proc/self/clear_refs ---- */

static long status_kb(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	char line[256];
	long v = -1;
	size_t fl = strlen(field);
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, field, fl) && line[fl] == ':') {
			v = strtol(line + fl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static int reset_hwm(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");
	if (!f)
		return -1;
	int ok = fputs("5", f) >= 0;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* ---- driver ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

struct stats {
	double med, min, max;
};

static struct stats summarize(double *t, int k)
{
	qsort(t, (size_t)k, sizeof *t, cmp_double);
	struct stats s = {k % 2 ? t[k / 2] : (t[k / 2 - 1] + t[k / 2]) / 2, t[0], t[k - 1]};
	return s;
}

/* ---- steady state ---- */

struct steady {
	size_t backlog, arrivals;
	int backlog_riders;
	double incr_ms, add_ms, cold_ms; /* medians per tick */
	long pairs;
	int checked; /* 1: incremental == cold on every timed tick */
};

static int steady_pass(struct steady *st, int ticks, uint64_t seed, int with_cold);

/* A backlog of b requests on one side, then ticks of a arrivals on each
 * side: every new request of the other side pairs, so the backlog stays at
 * about b. incr_ms: incr_pair; add_ms: the 2a incr_add of the arrivals;
 * cold_ms: pairing_match_ctx over the whole waiting pool (the snapshot copy not
 * counted). Both results are compared pair for pair. */
static int steady_pass(struct steady *st, int ticks, uint64_t seed, int with_cold)
{
	size_t b = st->backlog, a = st->arrivals, cap = b + 2 * a + 16;
	struct pairing_point *pos[2]; /* [side][key - 1]: every request ever */
	size_t npos[2] = {0, 0};
	uint32_t *live[2]; /* keys waiting, in acceptance order */
	size_t nlive[2] = {0, 0};
	size_t total = b + (size_t)(ticks + 4) * a + 16;
	struct incr *c = incr_new(SIZE_MAX);
	struct pairing_ctx *ctx = pairing_ctx_new();
	double *ti = malloc((size_t)ticks * sizeof *ti), *ta = malloc((size_t)ticks * sizeof *ta),
	       *tc = malloc((size_t)ticks * sizeof *tc);
	struct pairing_point *rp = malloc(cap * sizeof *rp), *dp = malloc(cap * sizeof *dp);
	struct pairing_pair *pp = malloc(cap * sizeof *pp);
	int ok = 1, side_b = st->backlog_riders;

	pos[0] = malloc(total * sizeof *pos[0]);
	pos[1] = malloc(total * sizeof *pos[1]);
	live[0] = malloc(total * sizeof *live[0]);
	live[1] = malloc(total * sizeof *live[1]);
	if (!c || !ctx || !ti || !ta || !tc || !rp || !dp || !pp || !pos[0] || !pos[1] ||
	    !live[0] || !live[1])
		return -1;
	rng_state = seed ^ b ^ (a << 40);
	for (size_t i = 0; i < b; i++) {
		struct pairing_point p = {unif() * 1000, unif() * 1000};
		pos[side_b][npos[side_b]++] = p;
		if (incr_add(c, side_b, p.x, p.y, npos[side_b]) < 0)
			return -1;
	}
	/* the backlog's own first pairing has nothing to pair (one side) */
	const struct incr_pair *out;
	incr_forget_new(c);
	for (size_t i = 0; i < b; i++)
		live[side_b][nlive[side_b]++] = (uint32_t)(i + 1);
	st->pairs = 0;
	for (int t = -3; t < ticks; t++) {
		double t0 = now_s();
		for (size_t i = 0; i < 2 * a; i++) {
			int s = (int)(i & 1);
			struct pairing_point p = {unif() * 1000, unif() * 1000};
			pos[s][npos[s]++] = p;
			live[s][nlive[s]++] = (uint32_t)npos[s];
			if (incr_add(c, s, p.x, p.y, npos[s]) < 0)
				return -1;
		}
		double t1 = now_s();
		/* the cold path on the same pool, before it changes */
		size_t nr = 0, nd = 0;
		for (size_t i = 0; i < nlive[1]; i++)
			rp[nr++] = pos[1][live[1][i] - 1];
		for (size_t i = 0; i < nlive[0]; i++)
			dp[nd++] = pos[0][live[0][i] - 1];
		double t2 = now_s();
		long m = with_cold ? pairing_match_ctx(ctx, rp, nr, dp, nd, pp) : -2;
		double t3 = now_s();
		long g = incr_pair(c, &out);
		double t4 = now_s();
		if (with_cold && (m < 0 || g != m))
			ok = 0;
		for (long i = 0; ok && with_cold && i < m; i++)
			if (out[i].rider != live[1][pp[i].rider] ||
			    out[i].driver != live[0][pp[i].driver] ||
			    memcmp(&out[i].distance, &pp[i].distance, sizeof(double)))
				ok = 0;
		/* the pairs leave the pool */
		for (int s = 0; s < 2; s++) {
			char *gone = calloc(npos[s] + 1, 1);
			if (!gone)
				return -1;
			for (long i = 0; i < g; i++)
				gone[s ? out[i].rider : out[i].driver] = 1;
			size_t w = 0;
			for (size_t i = 0; i < nlive[s]; i++)
				if (!gone[live[s][i]])
					live[s][w++] = live[s][i];
			nlive[s] = w;
			free(gone);
		}
		if (t >= 0) {
			ta[t] = t1 - t0;
			tc[t] = t3 - t2;
			ti[t] = t4 - t3;
			st->pairs += g;
		}
	}
	if (with_cold) {
		st->cold_ms = summarize(tc, ticks).med * 1e3;
		st->checked = ok;
	} else {
		st->add_ms = summarize(ta, ticks).med * 1e3;
		st->incr_ms = summarize(ti, ticks).med * 1e3;
	}
	incr_free(c);
	pairing_ctx_free(ctx);
	free(ti);
	free(ta);
	free(tc);
	free(rp);
	free(dp);
	free(pp);
	free(pos[0]);
	free(pos[1]);
	free(live[0]);
	free(live[1]);
	return 0;
}

/* Two passes over the same ticks (same seed, so the same pools): the first
 * times the incremental path alone; the second also runs the cold path on
 * each tick's pool, times it and checks the two agree (the cold path
 * sweeps the caches, so it would slow the incremental one's figures). */
static int steady_run(struct steady *st, int ticks, uint64_t seed)
{
	if (steady_pass(st, ticks, seed, 0) < 0)
		return -1;
	st->pairs = 0;
	return steady_pass(st, ticks, seed, 1);
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: bench_matcher [--max-n N] [--runs K] [--brute-max N] [--seed S] [--no-ctx] "
	    "[--json]\n"
	    "Times pairing_match on N riders x N drivers uniform in a 1000 x 1000 square for\n"
	    "N = 1e3, 1e4, 1e5, 1e6 (up to --max-n, default 1e6), K runs each (default 5),\n"
	    "on one thread; wall time from CLOCK_MONOTONIC; median and min-max.\n"
	    "The brute force (all N^2 pairs sorted, then greedy; 16 N^2 bytes) runs for\n"
	    "N <= --brute-max (default 1000; 10000 needs 1.6 GB and some seconds per run),\n"
	    "its result is checked against pairing_match, and tree/brute is the ratio of medians.\n"
	    "Memory: 'alloc' is the byte count pairing_match allocates at its peak, at most\n"
	    "(pairing_match_bytes); 'hwm' is the rise of VmHWM (peak RSS) over one call, after\n"
	    "resetting it via /proc/self/clear_refs. Per request = bytes / (2 N).\n"
	    "ctx: pairing_match_ctx through one context (as the matcher process calls it each\n"
	    "tick): one untimed warm-up call, then K timed calls; ctx_B/req is what the\n"
	    "context holds (pairing_ctx_bytes). --no-ctx skips it.\n"
	    "Steady state (--steady-ticks T, default 20; 0 skips it; --steady-only skips the\n"
	    "above): a backlog of B = 1e3, 1e4, 5e4, 1e5, 1e6 (up to --max-n) uniform requests\n"
	    "waiting on one side,\n"
	    "then ticks of A = 10, 100, 1000 arrivals on each side; per tick (median of T,\n"
	    "after 3 untimed): incr_ms = incr_pair (the live path), add_ms = the 2A\n"
	    "incr_add of the arrivals, cold_ms = pairing_match_ctx over the whole waiting pool\n"
	    "(the path for a big backlog of new requests). The two results are compared\n"
	    "pair for pair on every tick ('ok'). --steady-backlog B and --steady-arrivals A\n"
	    "run that one case only (on both sides).\n");
}

int main(int argc, char **argv)
{
	size_t max_n = 1000000, brute_max = 1000;
	int runs = 5, json = 0, ctx_runs = 1, steady_ticks = 20, steady_only = 0;
	size_t steady_backlog = 0, steady_arrivals = 0; /* 0: all */
	uint64_t seed = 42;
	unsigned threads = 0; /* 0: the context's default */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--json")) {
			json = 1;
		} else if (!strcmp(a, "--no-ctx")) {
			ctx_runs = 0;
		} else if (!strcmp(a, "--steady-only")) {
			steady_only = 1;
		} else if (i + 1 < argc &&
		           (!strcmp(a, "--max-n") || !strcmp(a, "--runs") ||
		            !strcmp(a, "--brute-max") || !strcmp(a, "--seed") ||
		            !strcmp(a, "--steady-ticks") || !strcmp(a, "--steady-backlog") ||
		            !strcmp(a, "--steady-arrivals") || !strcmp(a, "--threads"))) {
			char *end;
			errno = 0;
			double v = strtod(argv[++i], &end); /* accepts 1e5 */
			if (errno || *end || v < 0 || v > 1e12) {
				fprintf(stderr, "bench_matcher: bad value for %s: %s\n", a,
				        argv[i]);
				return 2;
			}
			if (!strcmp(a, "--max-n"))
				max_n = (size_t)v;
			else if (!strcmp(a, "--runs"))
				runs = (int)v;
			else if (!strcmp(a, "--brute-max"))
				brute_max = (size_t)v;
			else if (!strcmp(a, "--steady-ticks"))
				steady_ticks = (int)v;
			else if (!strcmp(a, "--steady-backlog"))
				steady_backlog = (size_t)v;
			else if (!strcmp(a, "--steady-arrivals"))
				steady_arrivals = (size_t)v;
			else if (!strcmp(a, "--threads"))
				threads = (unsigned)v;
			else
				seed = (uint64_t)v;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (runs < 1)
		runs = 1;

	static const size_t sizes[] = {1000, 10000, 100000, 1000000};
	/* the steady state also at 5e4, where issue 12 sets a target */
	static const size_t steady_sizes[] = {1000, 10000, 50000, 100000, 1000000};
	if (json)
		printf("{\"bench\":\"matcher\",\"runs\":%d,\"seed\":%llu,\"results\":[", runs,
		       (unsigned long long)seed);
	else
		printf("%9s %10s %21s %10s %21s %10s %10s %8s %11s %11s %11s %11s\n", "N",
		       "tree_ms", "(min-max)", "ctx_ms", "(min-max)", "ctx_cpu_ms", "brute_ms",
		       "tree/br", "alloc_B/req", "hwm_B/req", "ctx_B/req", "pairs");
	int first = 1, bad = 0;
	for (size_t si = 0;
	     !steady_only && si < sizeof sizes / sizeof sizes[0] && sizes[si] <= max_n; si++) {
		size_t n = sizes[si];
		rng_state = seed ^ (uint64_t)n;
		struct pairing_point *R = malloc(n * sizeof *R), *D = malloc(n * sizeof *D);
		struct pairing_pair *out = malloc(n * sizeof *out), *ref = NULL;
		double *t = malloc((size_t)runs * sizeof *t);
		if (!R || !D || !out || !t) {
			fprintf(stderr, "bench_matcher: out of memory at N=%zu\n", n);
			return 1;
		}
		for (size_t i = 0; i < n; i++) {
			R[i] = (struct pairing_point){unif() * 1000, unif() * 1000};
			D[i] = (struct pairing_point){unif() * 1000, unif() * 1000};
		}
		memset(out, 0, n * sizeof *out); /* fault the output in before timing */
		long pairs = 0;
		long hwm_kb = -1;
		for (int k = 0; k < runs; k++) {
			int measure = k == 0 && reset_hwm() == 0;
			long base_kb = measure ? status_kb("VmRSS") : -1;
			double t0 = now_s();
			pairs = pairing_match(R, n, D, n, out);
			t[k] = now_s() - t0;
			if (measure && base_kb >= 0) {
				long h = status_kb("VmHWM");
				hwm_kb = h >= 0 ? h - base_kb : -1;
			}
			if (pairs != (long)n) {
				fprintf(stderr,
				        "bench_matcher: pairing_match returned %ld at N=%zu\n",
				        pairs, n);
				return 1;
			}
		}
		struct stats st = summarize(t, runs);
		/* The context variant as the matcher process runs it: one context,
		 * one warm-up call, then the timed calls (steady state). */
		struct stats sc = {NAN, NAN, NAN}, scpu = {NAN, NAN, NAN};
		size_t ctx_bytes = 0;
		if (ctx_runs) {
			struct pairing_ctx *ctx = pairing_ctx_new();
			double *tc = malloc((size_t)runs * sizeof *tc),
			       *tcpu = malloc((size_t)runs * sizeof *tcpu);
			if (ctx && threads)
				pairing_ctx_set_threads(ctx, threads);
			if (!ctx || !tc || !tcpu ||
			    pairing_match_ctx(ctx, R, n, D, n, out) != (long)n) {
				fprintf(stderr,
				        "bench_matcher: pairing_match_ctx failed at N=%zu\n", n);
				return 1;
			}
			for (int k = 0; k < runs; k++) {
				double t0 = now_s(), c0 = cpu_s();
				long p2 = pairing_match_ctx(ctx, R, n, D, n, out);
				tc[k] = now_s() - t0;
				tcpu[k] = cpu_s() - c0;
				if (p2 != (long)n) {
					fprintf(stderr,
					        "bench_matcher: pairing_match_ctx returned %ld at "
					        "N=%zu\n",
					        p2, n);
					return 1;
				}
			}
			ctx_bytes = pairing_ctx_bytes(ctx);
			sc = summarize(tc, runs);
			scpu = summarize(tcpu, runs);
			pairing_ctx_free(ctx);
			free(tc);
			free(tcpu);
		}
		struct stats sb = {NAN, NAN, NAN};
		int checked = 0;
		if (n <= brute_max) {
			ref = malloc(n * sizeof *ref);
			size_t bb = 0;
			for (int k = 0; ref && k < runs; k++) {
				double t0 = now_s();
				long m = brute(R, n, D, n, ref, &bb);
				t[k] = now_s() - t0;
				if (m != (long)n) {
					fprintf(stderr,
					        "bench_matcher: brute force failed at N=%zu\n", n);
					return 1;
				}
			}
			if (ref) {
				sb = summarize(t, runs);
				checked = 1;
				for (size_t i = 0; i < n; i++)
					if (ref[i].rider != out[i].rider ||
					    ref[i].driver != out[i].driver ||
					    memcmp(&ref[i].distance, &out[i].distance,
					           sizeof(double)))
						checked = -1;
				if (checked < 0) {
					fprintf(
					    stderr,
					    "bench_matcher: MISMATCH with brute force at N=%zu\n",
					    n);
					bad = 1;
				}
			}
			free(ref);
		}
		double alloc_req = (double)pairing_match_bytes(n, n) / (2.0 * (double)n);
		double hwm_req = hwm_kb >= 0 ? (double)hwm_kb * 1024.0 / (2.0 * (double)n) : NAN;
		if (json) {
			printf(
			    "%s{\"n\":%zu,\"tree_ms\":{\"median\":%.3f,\"min\":%.3f,\"max\":%.3f},",
			    first ? "" : ",", n, st.med * 1e3, st.min * 1e3, st.max * 1e3);
			if (checked)
				printf("\"brute_ms\":{\"median\":%.3f,\"min\":%.3f,\"max\":%.3f},"
				       "\"tree_over_brute\":%.6f,"
				       "\"matches_brute\":%s,",
				       sb.med * 1e3, sb.min * 1e3, sb.max * 1e3, st.med / sb.med,
				       checked > 0 ? "true" : "false");
			else
				printf("\"brute_ms\":null,\"tree_over_brute\":null,\"matches_"
				       "brute\":null,");
			printf("\"alloc_bytes\":%zu,\"alloc_bytes_per_request\":%.1f,",
			       pairing_match_bytes(n, n), alloc_req);
			if (hwm_kb >= 0)
				printf("\"hwm_bytes_per_request\":%.1f,", hwm_req);
			else
				printf("\"hwm_bytes_per_request\":null,");
			if (ctx_runs)
				printf("\"ctx_ms\":{\"median\":%.3f,\"min\":%.3f,\"max\":%.3f},"
				       "\"ctx_cpu_ms\":{\"median\":%.3f,\"min\":%.3f,\"max\":%.3f},"
				       "\"ctx_bytes_per_request\":%.1f,",
				       sc.med * 1e3, sc.min * 1e3, sc.max * 1e3, scpu.med * 1e3,
				       scpu.min * 1e3, scpu.max * 1e3,
				       (double)ctx_bytes / (2.0 * (double)n));
			printf("\"pairs\":%ld}", pairs);
		} else {
			char range[64], bs[32] = "-", rs[32] = "-", hs[32] = "-";
			snprintf(range, sizeof range, "(%.2f-%.2f)", st.min * 1e3, st.max * 1e3);
			if (checked) {
				snprintf(bs, sizeof bs, "%.2f", sb.med * 1e3);
				snprintf(rs, sizeof rs, "%.4f%s", st.med / sb.med,
				         checked < 0 ? "!" : "");
			}
			if (hwm_kb >= 0)
				snprintf(hs, sizeof hs, "%.1f", hwm_req);
			char crange[64] = "-", cms[32] = "-", cb[32] = "-", ccpu[32] = "-";
			if (ctx_runs) {
				snprintf(crange, sizeof crange, "(%.2f-%.2f)", sc.min * 1e3,
				         sc.max * 1e3);
				snprintf(cms, sizeof cms, "%.2f", sc.med * 1e3);
				snprintf(ccpu, sizeof ccpu, "%.2f", scpu.med * 1e3);
				snprintf(cb, sizeof cb, "%.1f",
				         (double)ctx_bytes / (2.0 * (double)n));
			}
			printf("%9zu %10.2f %21s %10s %21s %10s %10s %8s %11.1f %11s %11s %11ld\n",
			       n, st.med * 1e3, range, cms, crange, ccpu, bs, rs, alloc_req, hs, cb,
			       pairs);
		}
		fflush(stdout);
		first = 0;
		free(R);
		free(D);
		free(out);
		free(t);
	}
	if (json)
		printf("]");
	if (steady_ticks > 0) {
		static const size_t arr[] = {10, 100, 1000};
		if (json)
			printf(",\"steady_ticks\":%d,\"steady\":[", steady_ticks);
		else
			printf("\nsteady state: median per tick over %d ticks\n%9s %7s %6s %10s "
			       "%10s %10s %8s %3s\n",
			       steady_ticks, "backlog", "side", "arr", "incr_ms", "add_ms",
			       "cold_ms", "pairs", "ok");
		first = 1;
		size_t nb = steady_backlog ? 1 : sizeof steady_sizes / sizeof steady_sizes[0],
		       na = steady_arrivals ? 1 : 3;
		for (size_t si = 0; si < nb && (steady_backlog || steady_sizes[si] <= max_n); si++)
			for (int side = 0; side < 2; side++)
				for (size_t ai = 0; ai < na; ai++) {
					struct steady st = {
					    steady_backlog ? steady_backlog : steady_sizes[si],
					    steady_arrivals ? steady_arrivals : arr[ai],
					    side,
					    0,
					    0,
					    0,
					    0,
					    0};
					if (steady_run(&st, steady_ticks, seed) < 0) {
						fprintf(stderr, "bench_matcher: out of memory in "
						                "the steady state\n");
						return 1;
					}
					if (!st.checked) {
						fprintf(stderr,
						        "bench_matcher: MISMATCH incremental vs "
						        "cold at backlog %zu\n",
						        st.backlog);
						bad = 1;
					}
					if (json)
						printf("%s{\"backlog\":%zu,\"backlog_side\":\"%s\","
						       "\"arrivals\":%zu,\"incr_ms\":%.4f,"
						       "\"add_ms\":%.4f,\"cold_ms\":%.4f,\"pairs\":"
						       "%ld,\"matches_cold\":%s}",
						       first ? "" : ",", st.backlog,
						       side ? "riders" : "drivers", st.arrivals,
						       st.incr_ms, st.add_ms, st.cold_ms, st.pairs,
						       st.checked ? "true" : "false");
					else
						printf(
						    "%9zu %7s %6zu %10.3f %10.3f %10.3f %8ld %3s\n",
						    st.backlog, side ? "riders" : "drivers",
						    st.arrivals, st.incr_ms, st.add_ms, st.cold_ms,
						    st.pairs, st.checked ? "yes" : "NO");
					fflush(stdout);
					first = 0;
				}
		if (json)
			printf("]");
	}
	if (json)
		printf("}\n");
	return bad;
}
