/* bstats.c - see bstats.h. */
#include "bstats.h"

static const char *const kind_names[KIND_N] = {"riders", "drivers", "ratings"};

void bstats_ws_closed(struct bot_stats *s, int code)
{
	if (code == 0) { /* WSC_CLOSE_LIVENESS */
		s->ws_liveness_closes++;
		return;
	}
	for (int i = 0; i < s->ws_nclose; i++)
		if (s->ws_closes[i].code == code) {
			s->ws_closes[i].n++;
			return;
		}
	if (s->ws_nclose == STATS_MAX_CLOSES) {
		s->ws_closes_other++;
		return;
	}
	s->ws_closes[s->ws_nclose].code = code;
	s->ws_closes[s->ws_nclose].n = 1;
	s->ws_nclose++;
}

void bstats_closes_text(struct sbuf *out, const struct bot_stats *s)
{
	int any = 0;

	for (int i = 0; i < s->ws_nclose; i++, any = 1)
		sbuf_printf(out, "%s%d=%llu", any ? ", " : "", s->ws_closes[i].code,
		            (unsigned long long)s->ws_closes[i].n);
	if (s->ws_closes_other) {
		sbuf_printf(out, "%sother=%llu", any ? ", " : "",
		            (unsigned long long)s->ws_closes_other);
		any = 1;
	}
	if (s->ws_liveness_closes) {
		sbuf_printf(out, "%sno-pong(ours)=%llu", any ? ", " : "",
		            (unsigned long long)s->ws_liveness_closes);
		any = 1;
	}
	if (!any)
		sbuf_append(out, "none", 4);
}

int bstats_strict(const struct bot_stats *s, struct sbuf *why)
{
	int bad = 0;

	if (s->led.riders_lost) {
		if (why)
			sbuf_printf(why,
			            "%s%llu accepted riders got no fare though a driver of ours "
			            "was free with them",
			            bad ? "; " : "", (unsigned long long)s->led.riders_lost);
		bad = 1;
	}
	if (s->fares_unrated) {
		if (why)
			sbuf_printf(why, "%s%llu fares were not rated", bad ? "; " : "",
			            (unsigned long long)s->fares_unrated);
		bad = 1;
	}
	return bad ? -1 : 0;
}

static void strict_json(struct sbuf *out, const struct bot_stats *s, const struct bstats_meta *m)
{
	struct sbuf why = {0};
	int ok = bstats_strict(s, &why) == 0;

	sbuf_printf(out,
	            ",\"strict\":{\"enabled\":%s,\"ok\":%s,\"why\":", m->strict ? "true" : "false",
	            ok ? "true" : "false");
	sbuf_json_str(out, why.p && !why.oom ? why.p : "");
	sbuf_append(out, "}", 1);
	sbuf_free(&why);
}

static void by_status(struct sbuf *out, const struct kind_stats *k)
{
	int first = 1;

	sbuf_append(out, "{", 1);
	for (int i = 0; i < STATS_MAX_STATUS; i++)
		if (k->status[i]) {
			sbuf_printf(out, "%s\"%d\":%llu", first ? "" : ",", i,
			            (unsigned long long)k->status[i]);
			first = 0;
		}
	sbuf_append(out, "}", 1);
}

static void lhist_json(struct sbuf *out, const struct lhist *h)
{
	sbuf_printf(
	    out,
	    "{\"count\":%llu,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f,\"mean\":%.3f}",
	    (unsigned long long)h->count, lhist_quantile(h, 0.5) / 1e3,
	    lhist_quantile(h, 0.9) / 1e3, lhist_quantile(h, 0.99) / 1e3, lhist_quantile(h, 1) / 1e3,
	    lhist_mean(h) / 1e3);
}

/* Counters printed both ways from one table: JSON members ("key":v,...)
 * or text ("v text, ..."). */
struct row {
	const char *key, *text;
	uint64_t v;
};

static void rows_out(struct sbuf *out, int json, const struct row *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (json)
			sbuf_printf(out, "%s\"%s\":%llu", i ? "," : "", r[i].key,
			            (unsigned long long)r[i].v);
		else
			sbuf_printf(out, "%s%llu %s", i ? ", " : "", (unsigned long long)r[i].v,
			            r[i].text);
}

/* one kind of request: {"sent":..,...,"rejected_by_status":{..}} or
 * "  riders   N sent, N accepted, ... (by status: 400=N)" */
static void kind_out(struct sbuf *out, int json, const char *label, const struct kind_stats *k)
{
	const struct row r[] = {
	    {"sent", "sent", k->sent},
	    {"accepted", "accepted", k->accepted},
	    {"rejected", "rejected", k->rejected},
	    {"transport_errors", "transport errors", k->transport_errors},
	};

	sbuf_printf(out, json ? ",\"%s\":{" : "  %-9s", label);
	rows_out(out, json, r, 4);
	if (json) {
		sbuf_append(out, ",\"rejected_by_status\":", 22);
		by_status(out, k);
		sbuf_append(out, "}", 1);
		return;
	}
	if (k->rejected) {
		sbuf_append(out, " (by status:", 12);
		for (int i = 0; i < STATS_MAX_STATUS; i++)
			if (k->status[i])
				sbuf_printf(out, " %d=%llu", i, (unsigned long long)k->status[i]);
		sbuf_append(out, ")", 1);
	}
	sbuf_append(out, "\n", 1);
}

/* The ledger's account: "riders_fate":{...}, "drivers_fate":{...} or
 * "  our riders  N accepted, ..." */
static void fate_out(struct sbuf *out, int json, const char *name, const struct row *r, size_t n)
{
	sbuf_printf(out, json ? ",\"%s\":{" : "  %-12s", name);
	rows_out(out, json, r, n);
	sbuf_append(out, json ? "}" : "\n", 1);
}

static void fates(struct sbuf *out, const struct bot_stats *s, int json)
{
	const struct ledger_counts *c = &s->led;
	const struct row riders[] = {
	    {"accepted", "accepted", c->riders_accepted},
	    {"fared", "got their fare", c->riders_fared},
	    {"fared_late", "of them late", c->riders_fared_late},
	    {"waiting", "still waiting", s->riders_waiting},
	    {"lost", "lost (no fare though a driver of ours was free)", c->riders_lost},
	    {"expired_unmatched", "expired unmatched", c->riders_expired},
	};
	const struct row drivers[] = {
	    {"accepted", "accepted", c->drivers_accepted},
	    {"matched", "matched", c->drivers_matched},
	    {"no_fare", "without a fare", c->drivers_no_fare},
	};

	fate_out(out, json, json ? "riders_fate" : "our riders", riders, 6);
	fate_out(out, json, json ? "drivers_fate" : "our drivers", drivers, 3);
}

static const char *const side_names[2] = {"riders", "drivers"};

/* "quality":{"pairs":..,"pickup":{"mean":..,"p95":..},"riders":{"matched":..,
 * "expired":..,"matched_share":..|null,"wait_ms":{"p50":..,"p99":..}},"drivers":{..}}
 * (the matcher's stats format, matcher/README.md) */
static void quality_json(struct sbuf *out, const struct bquality_figures *q)
{
	sbuf_printf(out, ",\"quality\":{\"pairs\":%llu,\"pickup\":{\"mean\":%.3f,\"p95\":%.3f}",
	            (unsigned long long)q->pairs, q->pickup_mean, q->pickup_p95);
	for (int i = 0; i < 2; i++) {
		const struct bquality_side *d = &q->side[i];

		sbuf_printf(out, ",\"%s\":{\"matched\":%llu,\"expired\":%llu,\"matched_share\":",
		            side_names[i], (unsigned long long)d->matched,
		            (unsigned long long)d->expired);
		if (d->share < 0)
			sbuf_append(out, "null", 4);
		else
			sbuf_printf(out, "%.4f", d->share);
		sbuf_printf(out, ",\"wait_ms\":{\"count\":%llu,\"p50\":%.1f,\"p99\":%.1f}}",
		            (unsigned long long)d->waits, d->wait_p50_ms, d->wait_p99_ms);
	}
	sbuf_append(out, "}", 1);
}

/* "latency_split":{"fares":..,"unsplit":..,"driver_later_share":..,
 * "p50_ms":{"match_latency":..,...},"p99_ms":{..},"slowest_1pct":{"fares":..,"mean_ms":{..}}} */
static void split_stages(struct sbuf *out, const char *name, const double *v)
{
	sbuf_printf(out, ",\"%s\":{", name);
	for (int k = 0; k < BSPLIT_N; k++)
		sbuf_printf(out, "%s\"%s\":%.3f", k ? "," : "", bsplit_names[k], v[k]);
	sbuf_append(out, "}", 1);
}

static void split_json(struct sbuf *out, const struct bsplit_figures *f)
{
	sbuf_printf(
	    out, ",\"latency_split\":{\"fares\":%llu,\"unsplit\":%llu,\"driver_later_share\":%.4f",
	    (unsigned long long)f->fares, (unsigned long long)f->unsplit, f->driver_later_share);
	split_stages(out, "p50_ms", f->p50_ms);
	split_stages(out, "p99_ms", f->p99_ms);
	sbuf_printf(out, ",\"slowest_1pct\":{\"fares\":%llu", (unsigned long long)f->slowest);
	split_stages(out, "mean_ms", f->slowest_ms);
	sbuf_append(out, "}}", 2);
}

static void split_text(struct sbuf *out, const struct bsplit_figures *f)
{
	const double *rows[3] = {f->p50_ms, f->p99_ms, f->slowest_ms};
	const char *labels[3] = {"p50", "p99", "slowest 1% mean"};

	if (!f->fares) {
		sbuf_printf(out, "  split     none (%llu fares not split)\n",
		            (unsigned long long)f->unsplit);
		return;
	}
	sbuf_printf(out,
	            "  split     %llu fares (%llu not split), driver's 202 after the rider's in "
	            "%.1f%%; ms:\n",
	            (unsigned long long)f->fares, (unsigned long long)f->unsplit,
	            100 * f->driver_later_share);
	for (int r = 0; r < 3; r++) {
		sbuf_printf(out, "    %-16s", labels[r]);
		for (int k = 0; k < BSPLIT_N; k++)
			sbuf_printf(out, " %s %.1f", bsplit_names[k], rows[r][k]);
		sbuf_append(out, "\n", 1);
	}
}

static void quality_text(struct sbuf *out, const struct bquality_figures *q)
{
	sbuf_printf(out, "  quality   pickup distance mean %.2f, p95 %.2f (%llu pairs)\n",
	            q->pickup_mean, q->pickup_p95, (unsigned long long)q->pairs);
	for (int i = 0; i < 2; i++) {
		const struct bquality_side *d = &q->side[i];

		sbuf_printf(out, "  %-9s %llu matched, %llu expired", side_names[i],
		            (unsigned long long)d->matched, (unsigned long long)d->expired);
		if (d->share >= 0)
			sbuf_printf(out, " (%.1f %% matched)", 100 * d->share);
		sbuf_printf(out, "; 202 -> match p50 %.0f ms, p99 %.0f ms (%llu)\n", d->wait_p50_ms,
		            d->wait_p99_ms, (unsigned long long)d->waits);
	}
}

static const struct trace_hdr no_run;

void bstats_json(struct sbuf *out, const struct bot_stats *s, const struct bstats_meta *m)
{
	const struct trace_hdr *run = m->run ? m->run : &no_run;
	const struct kind_stats *r = &s->k[KIND_RIDER], *d = &s->k[KIND_DRIVER];
	struct kind_stats all = {0};

	all.sent = r->sent + d->sent;
	all.accepted = r->accepted + d->accepted;
	all.rejected = r->rejected + d->rejected;
	all.transport_errors = r->transport_errors + d->transport_errors;
	for (int i = 0; i < STATS_MAX_STATUS; i++)
		all.status[i] = r->status[i] + d->status[i];

	sbuf_append(out, "{\"url\":", 7);
	sbuf_json_str(out, m->url ? m->url : "");
	sbuf_append(out, ",\"client_id\":", 13);
	sbuf_json_str(out, run->client_id);
	sbuf_printf(
	    out,
	    ",\"config\":{\"riders\":%d,\"drivers\":%d,\"interval_ms\":%d,"
	    "\"target_rate_per_s\":%.1f,\"open_loop\":%s,\"max_inflight\":%d,\"connections\":%d}",
	    run->riders, run->drivers, run->interval_ms, m->rate_per_s,
	    run->open_loop ? "true" : "false", m->max_inflight, run->connections);
	if (m->replay_file) {
		sbuf_append(out, ",\"replay\":{\"file\":", 18);
		sbuf_json_str(out, m->replay_file);
		sbuf_printf(out,
		            ",\"speed\":%g,\"requests\":%llu,\"recorded_as\":", m->replay_speed,
		            (unsigned long long)m->replay_requests);
		sbuf_json_str(out, m->replay_recorded_as ? m->replay_recorded_as : "");
		sbuf_append(out, "}", 1);
	} else {
		sbuf_append(out, ",\"replay\":null", 14);
	}
	sbuf_printf(out, ",\"elapsed_s\":%.3f,\"send_s\":%.3f", m->elapsed_s, m->send_s);
	sbuf_printf(
	    out,
	    ",\"sent\":%llu,\"accepted\":%llu,\"rejected\":%llu,\"transport_errors\":%llu,"
	    "\"unsent\":%llu,\"deferred\":%llu,\"requests_per_s\":%.1f,\"accepted_per_s\":%.1f,"
	    "\"rejected_by_status\":",
	    (unsigned long long)all.sent, (unsigned long long)all.accepted,
	    (unsigned long long)all.rejected, (unsigned long long)all.transport_errors,
	    (unsigned long long)s->unsent, (unsigned long long)s->deferred,
	    m->send_s > 0 ? all.sent / m->send_s : 0, m->send_s > 0 ? all.accepted / m->send_s : 0);
	by_status(out, &all);
	for (int i = 0; i < KIND_N; i++)
		kind_out(out, 1, kind_names[i], &s->k[i]);
	sbuf_printf(out, ",\"matched\":%llu,\"fares_with_token\":%llu,\"fares_own_rider\":%llu",
	            (unsigned long long)s->matched, (unsigned long long)s->fares_with_token,
	            (unsigned long long)s->fares_own_rider);
	sbuf_append(out, ",\"match_latency_ms\":", 20);
	lhist_json(out, &s->match_latency);
	sbuf_append(out, ",\"http_latency_ms\":", 19);
	lhist_json(out, &s->http_latency);
	fates(out, s, 1);
	quality_json(out, &s->q);
	split_json(out, &s->split);
	sbuf_printf(out, ",\"fares_unknown_rider\":%llu,\"fares_unrated\":%llu",
	            (unsigned long long)s->led.fares_unknown, (unsigned long long)s->fares_unrated);
	sbuf_printf(out,
	            ",\"ws\":{\"connects\":%llu,\"disconnects\":%llu,\"messages\":%llu,\"bad_"
	            "messages\":%llu,"
	            "\"liveness_closes\":%llu,\"unrecovered_resumes\":%llu,\"closes_other\":%llu,"
	            "\"closes_by_code\":{",
	            (unsigned long long)s->ws_connects, (unsigned long long)s->ws_disconnects,
	            (unsigned long long)s->ws_messages, (unsigned long long)s->ws_bad_messages,
	            (unsigned long long)s->ws_liveness_closes,
	            (unsigned long long)s->ws_unrecovered, (unsigned long long)s->ws_closes_other);
	for (int i = 0; i < s->ws_nclose; i++)
		sbuf_printf(out, "%s\"%d\":%llu", i ? "," : "", s->ws_closes[i].code,
		            (unsigned long long)s->ws_closes[i].n);
	sbuf_append(out, "}}", 2);
	strict_json(out, s, m);
	sbuf_append(out, "}", 1);
}

static void lhist_text(struct sbuf *out, const char *label, const struct lhist *h)
{
	if (!h->count) {
		sbuf_printf(out, "  %-14s none\n", label);
		return;
	}
	sbuf_printf(out,
	            "  %-14s p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms (%llu samples)\n",
	            label, lhist_quantile(h, 0.5) / 1e3, lhist_quantile(h, 0.9) / 1e3,
	            lhist_quantile(h, 0.99) / 1e3, lhist_quantile(h, 1) / 1e3,
	            (unsigned long long)h->count);
}

void bstats_text(struct sbuf *out, const struct bot_stats *s, const struct bstats_meta *m)
{
	const struct trace_hdr *run = m->run ? m->run : &no_run;
	uint64_t sent = s->k[KIND_RIDER].sent + s->k[KIND_DRIVER].sent;

	sbuf_printf(out,
	            "bot summary: %s as client %s, %.1f s (%d riders + %d drivers every %d ms, "
	            "target %.0f req/s, %s loop)\n",
	            m->url ? m->url : "", run->client_id, m->elapsed_s, run->riders, run->drivers,
	            run->interval_ms, m->rate_per_s, run->open_loop ? "open" : "closed");
	sbuf_printf(out, "  requests  %llu sent, %.1f req/s", (unsigned long long)sent,
	            m->send_s > 0 ? sent / m->send_s : 0);
	if (s->unsent)
		sbuf_printf(out, ", %llu not sent (over max in-flight)",
		            (unsigned long long)s->unsent);
	if (s->deferred)
		sbuf_printf(out, ", %llu sent late (previous still in flight)",
		            (unsigned long long)s->deferred);
	sbuf_append(out, "\n", 1);
	kind_out(out, 0, "riders", &s->k[KIND_RIDER]);
	kind_out(out, 0, "drivers", &s->k[KIND_DRIVER]);
	sbuf_printf(
	    out, "  fares     %llu rides matched, %llu with a rating token, %llu of our riders\n",
	    (unsigned long long)s->matched, (unsigned long long)s->fares_with_token,
	    (unsigned long long)s->fares_own_rider);
	fates(out, s, 0);
	kind_out(out, 0, "ratings", &s->k[KIND_RATING]);
	sbuf_printf(out, "  unrated   %llu fares with a token got no accepted rating\n",
	            (unsigned long long)s->fares_unrated);
	lhist_text(out, "match latency", &s->match_latency);
	lhist_text(out, "http latency", &s->http_latency);
	quality_text(out, &s->q);
	split_text(out, &s->split);
	sbuf_printf(out,
	            "  websocket %llu connects, %llu disconnects, %llu messages (%llu unreadable); "
	            "closes by code: ",
	            (unsigned long long)s->ws_connects, (unsigned long long)s->ws_disconnects,
	            (unsigned long long)s->ws_messages, (unsigned long long)s->ws_bad_messages);
	bstats_closes_text(out, s);
	if (s->ws_unrecovered)
		sbuf_printf(out, "; %llu resumes not fully recovered",
		            (unsigned long long)s->ws_unrecovered);
	sbuf_append(out, "\n", 1);
	if (m->strict) {
		struct sbuf why = {0};

		if (bstats_strict(s, &why) == 0)
			sbuf_printf(out, "  strict    ok: every settled rider got its fare or "
			                 "expired unmatched, every fare rated\n");
		else
			sbuf_printf(out, "  strict    FAILED: %s\n",
			            why.p && !why.oom ? why.p : "");
		sbuf_free(&why);
	}
}
