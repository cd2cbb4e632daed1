/* bot.h - private to the bot: its state (one struct bot, B, shared by the
 * files of the program) and the calls between them. main.c: flags, set-up,
 * wiring, stop; drive.c: the schedule of requests (closed loop, open loop,
 * replay) and their replies; fares.c: the websocket side (fares -> ledger,
 * quality, ratings); summary.c: the progress line and the summary. */
#ifndef RS_BOT_BOT_H
#define RS_BOT_BOT_H

#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#include "bquality.h"
#include "bsplit.h"
#include "bstats.h"
#include "httpc.h"
#include "ledger.h"
#include "reqgen.h"
#include "sbuf.h"
#include "trace.h"
#include "wsc.h"

struct entity {
	const char *name;
	char car[12];
	unsigned in_flight : 1;
	unsigned deferred : 1;
};

struct bot {
	uv_loop_t *loop;
	/* the settings that shape the traffic (riders, drivers, rates, area,
	 * ...), the seed used and our client_id: what --record's header says */
	struct trace_hdr run;
	struct { /* the other options */
		const char *url, *client_id_opt, *ws_path;
		int json, max_inflight, timeout_ms, drain_ms, seed, no_ws, progress_s;
		int strict, grace_ms, window_ms, ping_ms, dead_ms;
		const char *record_path, *replay_path, *replay_speed_opt;
	} o;
	/* derived */
	char host[256], prefix[200], path_rider[256], path_driver[256], path_rating[256];
	int port;
	double rate[2]; /* per second, riders and drivers */
	/* state */
	struct gen_rng rng;
	struct entity *ent[2];
	int nent[2];
	uint64_t issued[2]; /* slots issued so far */
	uint64_t start_ns, stop_ns, end_ns;
	/* riders' and drivers' requests, and ratings: pools of their own, as
	 * a real rider rates from its own phone, not queued behind the next
	 * requests (at tick 1000 a second's fares come at once, and their
	 * ratings would hold the requests back and fill --max-inflight) */
	struct hc_pool *http, *http_rating;
	struct wsc *ws;
	struct ledger led;
	struct bot_stats st;
	struct bquality qual; /* pickup distances of the fares */
	struct bsplit split;  /* each fare's latency by stage */
	uv_timer_t tick, housekeeping, drain, wait_ws;
	int sending, draining, finished, hurry, exit_code;
	int have_cursor;
	uint64_t drain_deadline_ns;
	struct sbuf body;   /* scratch for request bodies */
	struct gen_hot hot; /* --hotspots */
	/* --record: the trace, kept in memory and written when the loop ends */
	FILE *rec_f;
	struct sbuf rec;
	/* --replay */
	struct trace tr;
	double replay_speed;
	size_t replay_next;
};

#define WS_WAIT_MS 3000 /* the longest the sending waits for the welcome */

extern struct bot B;

/* The bot's clock: monotonic microseconds. */
uint64_t bot_now_us(void);
/* Ends the run: the summary, then every handle closed (the loop ends). */
void bot_finish(void);

/* drive.c: a 1 ms timer issuing the due requests (or the trace's, with
 * --replay) until --duration; the drain after it. */
void drive_tick(uv_timer_t *t);
/* Starts sending (the schedule's time 0): once the websocket's welcome came,
 * so that the first fares find our hello registered (else, at a short tick,
 * the first pairs are pushed before we can see them), or after WS_WAIT_MS
 * without one, or at once with --no-ws. Once only. */
void drive_start(void);
void drive_drain(uv_timer_t *t);
/* Stops sending; after a Ctrl-C (interrupted) only the replies in flight are
 * awaited, else also --drain-ms. */
void drive_stop(int interrupted);
/* Counts a reply of kind KIND_* (status 0: transport error; -1: abandoned). */
void drive_count_reply(int kind, int status);

/* fares.c: the websocket's callbacks (wsc.h). */
extern const struct wsc_ops fares_ws_ops;
/* A rider's 202 -> fare latency, once both are known. */
void fares_latency(struct pend *e);

/* summary.c: the progress line (a 1 s timer) and the summary on stdout. */
void summary_progress(uv_timer_t *t);
void summary_print(void);

#endif
