/* hub_impl.h - the hub's shared state, private to comm-svc/hub*.c and the
 * files it is split into (hub.h is the public API):
 *   hub.c    (hub_)    the hub: messages, drop counters and their log, the
 *                      cursor, stream entries in (hub_match, hub_stats) and
 *                      their delivery, hub_flush, hub_tick
 *   client.c (client_) sockets by client_id (a chained hash table)
 *   sock.c   (hub_sock_) a socket: its life, what it says (hello, ping,
 *                      garbage), what it writes next (hub_sock_next/sent)
 *   queue.c  (queue_)  per-socket queues and back-pressure: the caps, the
 *                      closes they cause
 *   ring.c   (ring_)   the ring of recent matches and resume cursors
 *   batch.c  (batch_)  batch frames, one shared by the sockets that have
 *                      the same matches waiting
 *   live.c   (live_)   liveness: pings, pong timeouts, hello timeouts,
 *                      closes that could not be written
 * Data structures:
 *   - every socket is on h->all (for ticks); hello'd viewers also on h->viewers;
 *   - sockets with a client_id hang off a struct hub_client in a chained hash
 *     table keyed by client_id (several sockets may share an id);
 *   - a socket's queue is a ring of message pointers that grows up to the cap:
 *     live traffic and replies only;
 *   - recent matches are a ring of struct hub_entry, oldest first; entry k
 *     (counted from the start) sits at ring[(rhead + k - rbase) % resume_max].
 *     A resuming socket keeps the number of the next entry to look at (rnext)
 *     and is given entries from the ring as it drains; live matches skip it
 *     until it has caught up, so nothing comes twice or out of order, and a
 *     resume burst never counts against the slow-reader cap.
 * A live match is delivered once per socket: each socket carries the
 * sequence number of the last match it was given (stamp).
 * Batching: for a socket that asked for it, hub_sock_next coalesces the run
 * of matches at the head of its queue (or, while resuming, the next missed
 * matches in the ring) into one frame; hub_sock_sent then takes all of them
 * off. Items are the same shared per-match messages, so the token rules are
 * the per-message ones. */
#ifndef RS_COMM_HUB_IMPL_H
#define RS_COMM_HUB_IMPL_H

#include "hub.h"
#include "sbuf.h"
#include "validate.h"

struct hub_client {
	struct hub_client *next; /* hash chain */
	struct hub_sock *socks;  /* via hub_sock.cnext */
	char id[VALIDATE_CLIENT_ID_MAX + 1];
};

struct hub_sock {
	struct hub *h;
	void *user;
	struct hub_sock *prev, *next;   /* h->all */
	struct hub_sock *vprev, *vnext; /* h->viewers */
	struct hub_sock *cprev, *cnext; /* client->socks */
	struct hub_client *client;
	char cid[VALIDATE_CLIENT_ID_MAX + 1];
	int hello, viewer;
	/* a hello received before the ring was loaded */
	char *held;
	size_t held_len;
	/* outgoing */
	struct hub_msg **q;
	unsigned qhead, qlen, qcap;
	size_t qbytes;
	uint64_t stamp;
	/* resume: the next ring entry to look at; out_ring: the frame
	 * hub_sock_next gave came from the ring */
	int resuming, out_ring;
	uint64_t rnext;
	/* batching ("batch":true in the hello): bmsg is the batch frame
	 * hub_sock_next built, of bq queued messages or, out_ring, of bitems
	 * ring entries ending before entry brend */
	int batch, flush_due; /* flush_due: matches queued, write asked at hub_flush */
	struct hub_msg *bmsg;
	unsigned bq, bitems;
	uint64_t brend;
	/* incoming */
	char *rx;
	size_t rx_len;
	unsigned errors;
	/* liveness */
	uint64_t created_ms, last_rx_ms, ping_sent_ms, closing_ms;
	int ping_due;
	/* closing: close_now skips what is queued */
	int closing, close_now, close_code;
	char close_reason[100];
};

struct hub_entry {
	struct streamid id;
	char ride_id[97];
	char rider[VALIDATE_CLIENT_ID_MAX + 1], driver[VALIDATE_CLIENT_ID_MAX + 1];
	struct hub_msg *with_token, *without_token;
};

/* A log line at most once a second per kind; the rest are counted into it. */
struct rlog {
	uint64_t last_ms;
	unsigned long long skipped;
};

enum { RLOG_DROP = 0, RLOG_PING = HUB_DROP_N, RLOG_ENTRY, RLOG_N };

struct hub {
	struct hub_cfg cfg;
	struct hub_ops ops;
	struct hub_sock *all, *viewers;
	struct hub_client **buckets;
	size_t nbuckets, nclients;
	struct hub_entry *ring;
	unsigned rhead, rlen;
	uint64_t rbase;        /* number of ring[rhead] */
	struct streamid floor; /* every match after it is in the ring */
	int ready;
	unsigned flush_due;      /* sockets waiting for hub_flush */
	struct hub_msg *scratch; /* where batch frames are built (one at a time) */
	size_t scratch_cap;
	/* the items of the batch frame in scratch when it was built from a
	 * queue (one reference each, so no pointer is reused meanwhile): the
	 * next socket whose queue starts with the same run (every caught-up
	 * batching viewer) is given that frame as it is, not a copy */
	struct hub_msg **bitems;
	unsigned bn, bitems_cap;
	uint64_t seq;
	uint64_t now; /* the latest time given by the caller */
	char cursor[STREAMID_STR_MAX];
	char rx_reason[64];
	struct rlog rlog[RLOG_N];
	struct hub_counters c;
};

/* ---------------------------------------------------------------- hub.c */
/* 1 when a line of kind k may be logged now; *skipped gets how many were not. */
int hub_log_ok(struct hub *h, int k, unsigned long long *skipped);
/* n messages for s thrown away: counted, and logged (rate-limited). */
void hub_drop(struct hub_sock *s, enum hub_drop why, unsigned long long n);

/* ---------------------------------------------------------------- client.c */
/* The client of id, or NULL. */
struct hub_client *client_find(const struct hub *h, const char *id);
/* The client of id, made when there is none; NULL on OOM. */
struct hub_client *client_get(struct hub *h, const char *id);
/* Forgets c (no socket left) and frees it. */
void client_remove(struct hub *h, struct hub_client *c);

/* ---------------------------------------------------------------- sock.c */
/* A hello (or one held until the ring was loaded). */
void hub_sock_hello(struct hub_sock *s, const char *data, size_t len);

/* ---------------------------------------------------------------- queue.c */
/* Starts the close of s. With why >= 0 it closes now: what is queued is
 * dropped (counted under why) and the resume stops; otherwise the queue is
 * written first. */
void queue_close(struct hub_sock *s, int code, const char *reason, int why);
/* Queues m (takes a new reference). 0, or -1 when it was not queued (s
 * closing, or closed now for being too slow; counted). */
int queue_push(struct hub_sock *s, struct hub_msg *m);
/* Queues a private text (a reply); an sbuf is freed (closed on its OOM). */
void queue_text(struct hub_sock *s, const char *text, size_t len);
void queue_sbuf(struct hub_sock *s, struct sbuf *b);
/* Empties s's queue; why >= 0: counted as dropped for that reason. */
void queue_clear(struct hub_sock *s, int why);
/* The head of s's queue was written. */
void queue_pop(struct hub_sock *s);

/* ---------------------------------------------------------------- ring.c */
struct hub_entry *ring_at(const struct hub *h, uint64_t k);
/* A new newest entry (the oldest goes when the ring is full); NULL on OOM
 * (logged). */
struct hub_entry *ring_put(struct hub *h, struct streamid id, const struct msg_match *mc,
                           const char *rider_client, const char *driver_client);
void ring_pop(struct hub *h);
/* Forgets matches older than resume_ms. */
void ring_prune(struct hub *h, uint64_t now);
/* The stream id after which a resuming socket wants matches; -1 when
 * resume_after is neither a cursor nor a ride id. */
int ring_point(const struct hub *h, const char *after, struct streamid *out);
/* The copy of e for s, or NULL when e is not for s. */
struct hub_msg *ring_copy_for(const struct hub_sock *s, const struct hub_entry *e);
/* How many kept matches after `after` are for s; *first gets the number of
 * the first entry after it. */
unsigned ring_count_after(const struct hub_sock *s, struct streamid after, uint64_t *first);
/* The next missed match for a resuming socket; NULL when it has caught up
 * (then live delivery takes over) or was overrun (closed). */
struct hub_msg *ring_next(struct hub_sock *s);

/* ---------------------------------------------------------------- batch.c */
/* s's batch frame is no longer wanted (not owned by s). */
void batch_forget(struct hub_sock *s);
/* Drops the references the shared frame holds (hub_free). */
void batch_uncache(struct hub *h);
/* The run of matches at the head of s's queue as one frame (s->bmsg, s->bq);
 * NULL on OOM. */
struct hub_msg *batch_from_queue(struct hub_sock *s);
/* The next missed matches of a resuming socket, from the ring, as one frame
 * (s->bmsg, s->bitems, s->brend); first is the first of them (ring_next). */
struct hub_msg *batch_from_ring(struct hub_sock *s, struct hub_msg *first);

/* ---------------------------------------------------------------- live.c */
/* Pings quiet sockets, closes dead ones and ones that never said hello,
 * kills closes that could not be written. */
void live_tick(struct hub *h, uint64_t now);

#endif
