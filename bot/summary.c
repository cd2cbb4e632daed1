/* summary.c - what the bot says: a progress line every --progress-s while
 * sending, and at the end the summary (bstats.c formats it: text, or one
 * JSON object with --json). */
#include "bot.h"
#include "log.h"

void summary_progress(uv_timer_t *t)
{
	static uint64_t last_ns, last_sent;
	uint64_t now = uv_hrtime(), sent;

	ledger_settle(&B.led, bot_now_us());
	if (B.o.progress_s <= 0 || !B.sending)
		return;
	if (!last_ns)
		last_ns = B.start_ns;
	if (now - last_ns < (uint64_t)B.o.progress_s * 1000000000ull)
		return;
	sent = B.st.k[KIND_RIDER].sent + B.st.k[KIND_DRIVER].sent;
	{
		struct sbuf closes = {0};
		const struct ledger_counts *c = &B.led.c;

		bstats_closes_text(&closes, &B.st);
		log_info(
		    "%.0f req/s; accepted %llu, rejected %llu, errors %llu; riders %llu: fared "
		    "%llu, "
		    "waiting %llu, NO FARE %llu (+%llu expired unmatched); fares %llu, rated %llu, "
		    "unrated %llu; p50 %.0f ms; websocket %s, %llu connects, closes %s",
		    (double)(sent - last_sent) * 1e9 / (double)(now - last_ns),
		    (unsigned long long)(B.st.k[0].accepted + B.st.k[1].accepted),
		    (unsigned long long)(B.st.k[0].rejected + B.st.k[1].rejected),
		    (unsigned long long)(B.st.k[0].transport_errors + B.st.k[1].transport_errors),
		    (unsigned long long)c->riders_accepted, (unsigned long long)c->riders_fared,
		    (unsigned long long)ledger_riders_waiting(&B.led),
		    (unsigned long long)c->riders_lost, (unsigned long long)c->riders_expired,
		    (unsigned long long)c->fares, (unsigned long long)B.st.k[KIND_RATING].accepted,
		    (unsigned long long)ledger_fares_unrated(&B.led, 0),
		    lhist_quantile(&B.st.match_latency, 0.5) / 1e3,
		    B.ws ? (wsc_connected(B.ws) ? "up" : "down") : "off",
		    (unsigned long long)B.st.ws_connects,
		    closes.p && !closes.oom ? closes.p : "none");
		sbuf_free(&closes);
	}
	last_ns = now;
	last_sent = sent;
}

void summary_print(void)
{
	struct sbuf out = {0};
	struct bstats_meta m = {
	    .url = B.o.url,
	    .run = &B.run,
	    .max_inflight = B.o.max_inflight,
	    .rate_per_s = B.rate[0] + B.rate[1],
	    .elapsed_s = (double)(B.end_ns - B.start_ns) / 1e9,
	    .send_s = (double)((B.stop_ns ? B.stop_ns : B.end_ns) - B.start_ns) / 1e9,
	    .strict = B.o.strict,
	    .replay_file = B.o.replay_path,
	    .replay_speed = B.replay_speed,
	    .replay_requests = B.tr.n,
	    .replay_recorded_as = B.tr.h.client_id,
	};

	ledger_finish(&B.led, bot_now_us());
	B.st.led = B.led.c;
	B.st.matched = B.led.c.fares;
	B.st.fares_with_token = B.led.c.fares_with_token;
	B.st.riders_waiting = ledger_riders_waiting(&B.led);
	B.st.fares_unrated = ledger_fares_unrated(&B.led, 1);
	bquality_figures(&B.qual, &B.led, &B.st.q);
	bsplit_figures(&B.split, &B.st.split);
	if (B.o.strict && bstats_strict(&B.st, NULL) < 0)
		B.exit_code = 3;

	if (B.o.json)
		bstats_json(&out, &B.st, &m);
	else
		bstats_text(&out, &B.st, &m);
	if (!out.oom && out.p)
		printf("%s%s", out.p, B.o.json ? "\n" : "");
	fflush(stdout);
	sbuf_free(&out);
}
