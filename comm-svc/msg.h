/* msg.h - the texts comm-svc sends and the rewriting of match messages.
 *
 * Pure code (jansson and libc; no I/O, no loop): stream ids, the copy of a
 * match message for the rider's client (token kept) and for everybody else
 * (token removed), both with "cursor" added, and the small replies (welcome,
 * error, pong). The match JSON comes from the matcher; its text is kept as it
 * is (numbers are not reformatted) apart from the two edits. */
#ifndef RS_COMM_MSG_H
#define RS_COMM_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "sbuf.h"
#include "streamid.h"

/* Stream ids (cursors, resume_after) are lib/streamid.h's: parsed with
 * STREAMID_SEQ_OPTIONAL ("ms" alone is "ms-0"). */

/* The two copies of one match. Both malloc'd, NUL-terminated, owned by the
 * caller. */
struct msg_match {
	char *with_token;    /* for the rider's client: the text plus "cursor" */
	char *without_token; /* everybody else: "rating_token" removed, "cursor" added */
	size_t with_len, without_len;
	char ride_id[97]; /* "" when the message has none */
};

/* Checks that json[0..len) is a JSON object with "type":"match" and makes its
 * copies with "cursor": cursor (a stream id). 0, or -1 with *why set to a
 * static reason (nothing allocated). */
int msg_match_rewrite(const char *json, size_t len, const char *cursor, struct msg_match *out,
                      const char **why);
void msg_match_free(struct msg_match *c);

/* {"type":"error","error":message[,"field":field]} */
void msg_error(struct sbuf *b, const char *message, const char *field);
/* {"type":"welcome","client_id":...,"role":"client"|"viewer","cursor":...,"resumed":n
 *  [,"recovered":true|false][,"batch":true]}
 * client_id is omitted when empty (a viewer without one); recovered only for
 * a resume (1 or 0; -1 leaves it out): false when matches after the resume
 * point are no longer kept, so some of them cannot follow. batch: the socket
 * asked for batches and gets them (said back so a client knows). */
void msg_welcome(struct sbuf *b, const char *client_id, int viewer, const char *cursor,
                 unsigned resumed, int recovered, int batch);

#endif
