/* stats.h - the matcher's counters, rates and match-latency percentiles, and
 * the per-tick `stats` message for dashboards (docs/INTERNALS.md). Pure. */
#ifndef RS_MATCHER_STATS_H
#define RS_MATCHER_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "pool.h"
#include "quality.h"
#include "sbuf.h"

#define STATS_LAT_CAP 16384 /* latency samples kept (the newest) */
#define STATS_HIST    64    /* totals snapshots kept for rates */

struct stats_totals {
	uint64_t requests, matched, expired, claim_failed;
};

struct stats {
	struct stats_totals t;
	struct {
		uint64_t at_ms;
		uint32_t latency_ms;
	} lat[STATS_LAT_CAP];
	size_t lat_n, lat_next;
	struct {
		uint64_t at_ms;
		struct stats_totals t;
	} hist[STATS_HIST];
	size_t hist_n, hist_next;
	double tick_duration_ms;
	struct quality q; /* pickup distance, matched share, waits */
};

void stats_latency(struct stats *s, uint64_t now_ms, uint32_t latency_ms);
/* p50, p90, p99, max over samples of the last window_ms; 0s when none. */
void stats_percentiles(const struct stats *s, uint64_t now_ms, uint64_t window_ms, double out[4]);
/* Records the totals now and gives per-second rates over the last ~second:
 * requests, matched, expired. */
void stats_rates(struct stats *s, uint64_t now_ms, double out[3]);
/* Appends the stats JSON: counters, rates, latency, the quality figures
 * (last 10 s and since the start), and up to max_points positions of live
 * riders and drivers (waiting, or being claimed). */
void stats_json(struct stats *s, struct sbuf *out, uint64_t now_ms, int tick_ms,
                const struct pool *riders, const struct pool *drivers, size_t max_points);

/* Appends the quality figures as one JSON object:
 * {"window_ms":..,"pairs":..,"pickup":{"mean":..,"p95":..},"riders":{...},...}. */
void stats_quality_json(struct sbuf *out, const struct quality_figures *f, uint64_t window_ms);

#endif
