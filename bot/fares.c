/* fares.c - the websocket side: each match message goes into the ledger
 * (fared riders and drivers, 202 -> match times), its distance into the
 * quality figures, its rider's latency into the histogram; a new ride with a
 * rating token gets a random rating (POST /rating). */
#include "bot.h"
#include "log.h"
#include "streamid.h"
#include "wsmsg.h"

#include <string.h>

void fares_latency(struct pend *e)
{
	if (e->latency_done || !e->accepted_us || !e->fare_us)
		return;
	e->latency_done = 1;
	lhist_add(&B.st.match_latency,
	          e->fare_us > e->accepted_us ? e->fare_us - e->accepted_us : 0);
	B.st.fares_own_rider++;
}

/* A new ride of a rider of ours: its latency by stage (bsplit.h), when its
 * rider's and driver's 202s have both come (else counted as unsplit). */
static void split_fare(const struct wsmsg *m, const struct pend *rider)
{
	const struct pend *d =
	    m->driver_id[0] ? pend_get(&B.led.map, m->driver_id, strlen(m->driver_id)) : NULL;
	struct streamid cur = {0, 0};
	struct bsplit_fare f = {
	    .rider_202_us = rider->accepted_us,
	    .driver_202_us = d ? d->accepted_us : 0,
	    .fare_us = rider->fare_us,
	    .matched_at_ms = m->matched_at_ms > 0 ? (uint64_t)m->matched_at_ms : 0,
	};

	if (streamid_parse(m->cursor, 0, &cur) == 0)
		f.cursor_ms = cur.ms;
	bsplit_add(&B.split, &f);
}

static void on_rating(void *user, int status, const char *body, size_t len, uint64_t lat_us)
{
	drive_count_reply(KIND_RATING, status);
	if (status >= 0)
		ledger_rating_done(&B.led, status == 201);
	if (status > 0)
		lhist_add(&B.st.http_latency, lat_us);
	if (status != 201 && status > 0 && B.st.k[KIND_RATING].rejected <= 3)
		log_warn("POST /rating: %d %.*s", status, (int)(len > 200 ? 200 : len), body);
}

static void on_ws_message(void *user, const char *buf, size_t len)
{
	struct wsmsg m;
	struct pend *p;
	uint64_t fares;
	int rate;

	B.st.ws_messages++;
	if (wsmsg_parse(buf, len, &m) < 0) {
		B.st.ws_bad_messages++;
		return;
	}
	/* resume from the last match received. A welcome's cursor is the
	 * server's newest: taken only before any match came (a first connect),
	 * never after a resume, whose replay may still be under way. */
	if (m.cursor[0] && B.ws &&
	    (m.type == WSMSG_MATCH || (m.type == WSMSG_WELCOME && !B.have_cursor))) {
		wsc_set_cursor(B.ws, m.cursor);
		B.have_cursor = 1;
	}
	if (m.type == WSMSG_WELCOME)
		drive_start(); /* our hello is registered: our fares will reach us */
	if (m.type == WSMSG_WELCOME && m.recovered == 0) {
		B.st.ws_unrecovered++;
		log_warn(
		    "websocket: the server could not replay every missed fare (recovered:false): "
		    "fares older than its resume ring are gone");
	}
	if (m.type == WSMSG_ERROR) {
		log_warn("websocket: server says %.*s", (int)(len > 200 ? 200 : len), buf);
		return;
	}
	if (m.type != WSMSG_MATCH)
		return;
	fares = B.led.c.fares;
	rate = ledger_fare(&B.led, m.rider_id, m.driver_id, m.token[0] != 0, bot_now_us(), &p);
	if (rate < 0 || !p) {
		B.st.ws_bad_messages++;
		return;
	}
	if (B.led.c.fares != fares) { /* a ride new to us */
		fares_latency(p);
		split_fare(&m, p);
		bquality_pair(&B.qual, m.distance);
	}
	if (m.matched_at_ms > 0)
		ledger_match_time(&B.led, m.rider_id, m.driver_id, (uint64_t)m.matched_at_ms);
	if (rate == 1) {
		B.body.len = 0;
		B.body.oom = 0;
		gen_rating_json(&B.body, m.ride_id, 1 + (int)gen_below(&B.rng, 5), m.token);
		if (!B.finished && !B.body.oom &&
		    hc_post(B.http_rating, B.path_rating, B.body.p, B.body.len, on_rating, NULL) ==
		        0) {
			B.st.k[KIND_RATING].sent++;
			ledger_rating_sent(&B.led);
		}
	}
}

static void on_ws_state(void *user, int up)
{
	if (up)
		B.st.ws_connects++;
	else
		B.st.ws_disconnects++;
}

static void on_ws_closed(void *user, int code, const char *reason)
{
	bstats_ws_closed(&B.st, code);
}

static void on_ws_dropped(void *user)
{
	B.st.ws_messages++;
	B.st.ws_bad_messages++;
}

const struct wsc_ops fares_ws_ops = {on_ws_message, on_ws_state, on_ws_dropped, on_ws_closed};
