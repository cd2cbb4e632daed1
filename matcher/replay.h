/* replay.h - the rules by which the matcher reads the `requests` stream into
 * its pools: which entries are requests, where a request is, and which
 * entries are only taken after checking that their key still exists (the
 * replay of what came before the start). Pure C: no I/O.
 *
 * On start the matcher reads the stream from one TTL (plus a second) back.
 * An entry older than its start may have been claimed or expired already, so
 * it is taken only if its key (`rider:<id>` / `driver:<id>`) still exists.
 * While any such check is unanswered, later entries are checked too, so that
 * the pools still receive entries in stream order. A check without an answer
 * (connection lost) keeps the entry: a claim of a request whose key is gone
 * fails and drops it. */
#ifndef RS_MATCHER_REPLAY_H
#define RS_MATCHER_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "pairing.h"

/* The entry's fields as name, value, name, value... (NULL for a value that is
 * not a string). Returns 1 for a rider request, 0 for a driver request,
 * -1 if it is neither (no `kind` rider/driver or no `json`); *json is then
 * the request JSON. */
int replay_kind(const char *const *fields, size_t n, const char **json);

/* 1 if an entry accepted at ms must be checked before it is taken: it is
 * from before start_ms, or checks are still pending. */
int replay_must_check(uint64_t ms, uint64_t start_ms, unsigned pending);

/* 1 if a checked entry is taken: answered = 0 (no reply) or exists = 1. */
int replay_keep(int answered, long long exists);

/* The Redis key of a request: "rider:<id>" or "driver:<id>". */
void replay_key(int is_rider, const char *id, char *buf, size_t len);

/* Reads location.x and location.y (numbers) from a request JSON. Returns 0,
 * or -1 if the JSON or the location is not readable. */
int replay_location(const char *json, struct pairing_point *loc);

#endif
