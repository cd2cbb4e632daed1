/* bstats.h - the bot's counters and latency histograms, and the summary it
 * prints at the end: human-readable text or one JSON object (for
 * benchmarks). Pure code: formatting only. */
#ifndef RS_BOT_BSTATS_H
#define RS_BOT_BSTATS_H

#include <stdint.h>

#include "bquality.h"
#include "bsplit.h"
#include "ledger.h"
#include "lhist.h"
#include "trace.h"
#include "sbuf.h"

#define STATS_MAX_STATUS 600
#define STATS_MAX_CLOSES 16 /* distinct websocket close codes kept */

enum { KIND_RIDER, KIND_DRIVER, KIND_RATING, KIND_N };

struct kind_stats {
	uint64_t sent;                     /* requests written (or queued for a connection) */
	uint64_t accepted;                 /* 202 for /rider, /driver; 201 for /rating */
	uint64_t rejected;                 /* any other status */
	uint64_t transport_errors;         /* no response: connect/read error, timeout, bad HTTP */
	uint64_t status[STATS_MAX_STATUS]; /* rejections by status (index = status) */
};

struct bot_stats {
	struct kind_stats k[KIND_N];
	uint64_t unsent;           /* open loop: due but over --max-inflight */
	uint64_t deferred;         /* closed loop: due while its previous was in flight */
	uint64_t matched;          /* distinct rides received */
	uint64_t fares_with_token; /* distinct rides whose token reached us */
	uint64_t fares_own_rider;  /* distinct rides of riders we got a 202 for */
	uint64_t ws_connects, ws_disconnects, ws_messages, ws_bad_messages;
	uint64_t ws_liveness_closes; /* closed by us: no pong nor message for too long */
	struct {
		int code;
		uint64_t n;
	} ws_closes[STATS_MAX_CLOSES]; /* by the peer's code, 1006: none */
	int ws_nclose;
	uint64_t ws_closes_other; /* codes beyond STATS_MAX_CLOSES distinct ones */
	uint64_t ws_unrecovered;  /* welcomes after a resume saying recovered:false */
	/* the ledger (ledger.h) and what it derives, filled in before printing */
	struct ledger_counts led;
	uint64_t riders_waiting;     /* accepted, no fare, not yet settled */
	uint64_t fares_unrated;      /* fares with a token whose rating was not accepted */
	struct lhist match_latency;  /* us: rider's 202 -> first copy of its fare */
	struct lhist http_latency;   /* us: request queued -> response (all kinds) */
	struct bquality_figures q;   /* pickup distance, matched shares, 202 -> match */
	struct bsplit_figures split; /* the match latency by stage */
};

struct bstats_meta {
	const char *url;
	const struct trace_hdr *run; /* riders, drivers, interval, loop, connections, client_id */
	int max_inflight;
	double rate_per_s; /* target requests/s, riders + drivers */
	double elapsed_s;  /* from the first request to the summary */
	double send_s;     /* the sending phase (for requests_per_s) */
	int strict;        /* --strict: the verdict goes into the summary */
	/* --replay (replay_file NULL otherwise): "replay":{file, speed, requests, recorded_as} */
	const char *replay_file, *replay_recorded_as;
	double replay_speed;
	uint64_t replay_requests;
};

/* Counts one ended websocket connection: code as from wsc's closed(). */
void bstats_ws_closed(struct bot_stats *s, int code);
/* Appends "code=n, code=n" (or "none") for the closes by code. */
void bstats_closes_text(struct sbuf *out, const struct bot_stats *s);
/* The --strict verdict: 0 when every accepted rider that settled got its
 * fare or expired unmatched (ledger.h), and every fare with a token was
 * rated (201); else -1, with the reasons appended to why (may be NULL) as
 * "; "-separated phrases. Riders still waiting are not counted. */
int bstats_strict(const struct bot_stats *s, struct sbuf *why);

/* Appends the summary as one JSON object (no newline). */
void bstats_json(struct sbuf *out, const struct bot_stats *s, const struct bstats_meta *m);
/* Appends the summary as a few lines of text. */
void bstats_text(struct sbuf *out, const struct bot_stats *s, const struct bstats_meta *m);

#endif
