/* rreply.h - pure helpers over hiredis replies, used by every service that
 * reads Redis: success or the error's text, a field of a flat reply (a stream
 * entry, HGETALL), and the XREAD reply walker. No I/O. */
#ifndef RS_LIB_RREPLY_H
#define RS_LIB_RREPLY_H

#include <hiredis/hiredis.h>

int rreply_ok(const redisReply *r);          /* non-NULL and not an error */
const char *rreply_err(const redisReply *r); /* message, or "connection lost" */
/* The value of field name in a flat [f1, v1, f2, v2, ...] reply (a stream
 * entry's fields, HGETALL): the first pair whose name is exactly name
 * (length and bytes) and whose name and value are both strings. NULL if there
 * is none or r is not an array. */
const redisReply *rreply_field(const redisReply *r, const char *name);
/* Walks an XREAD reply [[stream, [entry, ...]], ...]: calls fn for each entry
 * of each stream whose name is a string and whose entries are an array, in
 * reply order. An entry is passed as it is: its shape is the caller's to
 * check. Does nothing unless r is an array. */
typedef void (*rreply_entry_fn)(const char *stream, const redisReply *entry, void *priv);
void rreply_xread_each(const redisReply *r, rreply_entry_fn fn, void *priv);

#endif
