/* stats.c - see stats.h. */
#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void stats_latency(struct stats *s, uint64_t now_ms, uint32_t latency_ms)
{
	s->lat[s->lat_next].at_ms = now_ms;
	s->lat[s->lat_next].latency_ms = latency_ms;
	s->lat_next = (s->lat_next + 1) % STATS_LAT_CAP;
	if (s->lat_n < STATS_LAT_CAP)
		s->lat_n++;
}

void stats_percentiles(const struct stats *s, uint64_t now_ms, uint64_t window_ms, double out[4])
{
	static double v[STATS_LAT_CAP];
	size_t n = 0;

	memset(out, 0, 4 * sizeof(double));
	for (size_t i = 0; i < s->lat_n; i++)
		if (s->lat[i].at_ms + window_ms >= now_ms) {
			v[n] = s->lat[i].latency_ms;
			if (v[n] > out[3])
				out[3] = v[n];
			n++;
		}
	if (!n)
		return;
	/* the ranks they would have in the sorted samples */
	out[0] = quality_rank(v, n, (n - 1) * 50 / 100);
	out[1] = quality_rank(v, n, (n - 1) * 90 / 100);
	out[2] = quality_rank(v, n, (n - 1) * 99 / 100);
}

void stats_rates(struct stats *s, uint64_t now_ms, double out[3])
{
	size_t best = STATS_HIST;

	/* the newest snapshot at least 1 s old (or the oldest there is) gives
	 * the rate: with a 1 s tick the previous snapshot is often 1001 ms old */
	for (size_t k = 0; k < s->hist_n; k++) {
		size_t i = (s->hist_next + STATS_HIST - 1 - k) % STATS_HIST;

		best = i;
		if (s->hist[i].at_ms + 1000 <= now_ms)
			break;
	}
	memset(out, 0, 3 * sizeof(double));
	if (best != STATS_HIST && s->hist[best].at_ms < now_ms) {
		double secs = (double)(now_ms - s->hist[best].at_ms) / 1000.0;

		out[0] = (double)(s->t.requests - s->hist[best].t.requests) / secs;
		out[1] = (double)(s->t.matched - s->hist[best].t.matched) / secs;
		out[2] = (double)(s->t.expired - s->hist[best].t.expired) / secs;
	}
	s->hist[s->hist_next].at_ms = now_ms;
	s->hist[s->hist_next].t = s->t;
	s->hist_next = (s->hist_next + 1) % STATS_HIST;
	if (s->hist_n < STATS_HIST)
		s->hist_n++;
}

/* Formatted here and appended, not by sbuf_printf (which formats twice: to
 * size, then to write): thousands of points per stats message, on the loop.
 * A %.6g is at most 13 characters ("-1.23457e+308"): a point always fits. */
static void points(struct sbuf *out, const struct pool *p, size_t max_points)
{
	size_t k = 0;
	char pt[64];

	sbuf_append(out, "[", 1);
	for (size_t i = p->head; i < p->n && k < max_points; i++) {
		int n;

		if (p->v[i].state == POOL_GONE)
			continue;
		n = snprintf(pt, sizeof(pt), "%s[%.6g,%.6g]", k ? "," : "", p->v[i].loc.x,
		             p->v[i].loc.y);
		if (n > 0)
			sbuf_append(out, pt, (size_t)n < sizeof(pt) ? (size_t)n : sizeof(pt) - 1);
		k++;
	}
	sbuf_append(out, "]", 1);
}

/* Waiting includes the few entries whose claim is in flight. */
static size_t waiting(const struct pool *p)
{
	return p->live;
}

void stats_json(struct stats *s, struct sbuf *out, uint64_t now_ms, int tick_ms,
                const struct pool *riders, const struct pool *drivers, size_t max_points)
{
	double rates[3], lat[4];
	struct quality_figures f;

	stats_rates(s, now_ms, rates);
	stats_percentiles(s, now_ms, 10000, lat);
	sbuf_printf(
	    out,
	    "{\"type\":\"stats\",\"ts_ms\":%llu,\"tick_ms\":%d,\"tick_duration_ms\":%.3f,"
	    "\"waiting\":{\"riders\":%zu,\"drivers\":%zu},"
	    "\"rates\":{\"requests_per_s\":%.1f,\"matches_per_s\":%.1f,\"expired_per_s\":%.1f},"
	    "\"totals\":{\"requests\":%llu,\"matched\":%llu,\"expired\":%llu},"
	    "\"latency_ms\":{\"p50\":%.0f,\"p90\":%.0f,\"p99\":%.0f,\"max\":%.0f},",
	    (unsigned long long)now_ms, tick_ms, s->tick_duration_ms, waiting(riders),
	    waiting(drivers), rates[0], rates[1], rates[2], (unsigned long long)s->t.requests,
	    (unsigned long long)s->t.matched, (unsigned long long)s->t.expired, lat[0], lat[1],
	    lat[2], lat[3]);
	quality_window(&s->q, now_ms, 10000, &f);
	sbuf_printf(out, "\"quality\":");
	stats_quality_json(out, &f, 10000);
	quality_total(&s->q, &f);
	sbuf_printf(out, ",\"quality_total\":");
	stats_quality_json(out, &f, 0);
	sbuf_printf(out, ",\"riders\":");
	points(out, riders, max_points);
	sbuf_append(out, ",\"drivers\":", 11);
	points(out, drivers, max_points);
	sbuf_append(out, "}", 1);
}

static void share_json(struct sbuf *out, double v)
{
	if (v < 0)
		sbuf_append(out, "null", 4);
	else
		sbuf_printf(out, "%.4f", v);
}

void stats_quality_json(struct sbuf *out, const struct quality_figures *f, uint64_t window_ms)
{
	sbuf_printf(out,
	            "{\"window_ms\":%llu,\"pairs\":%zu,\"pickup\":{\"mean\":%.6g,\"p95\":%.6g},"
	            "\"riders\":{\"matched\":%llu,\"expired\":%llu,\"matched_share\":",
	            (unsigned long long)window_ms, f->pairs, f->pickup_mean, f->pickup_p95,
	            (unsigned long long)f->matched, (unsigned long long)f->r_expired);
	share_json(out, f->r_share);
	sbuf_printf(out,
	            ",\"wait_ms\":{\"p50\":%.0f,\"p99\":%.0f}},"
	            "\"drivers\":{\"matched\":%llu,\"expired\":%llu,\"matched_share\":",
	            f->r_wait_p50, f->r_wait_p99, (unsigned long long)f->matched,
	            (unsigned long long)f->d_expired);
	share_json(out, f->d_share);
	sbuf_printf(out, ",\"wait_ms\":{\"p50\":%.0f,\"p99\":%.0f}}}", f->d_wait_p50,
	            f->d_wait_p99);
}
