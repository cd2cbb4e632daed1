/* streamid.h - Redis stream ids "<ms>-<seq>": parse, compare, format. The
 * one copy (the matcher's pool and comm-svc's cursors use it). Pure: no I/O,
 * no globals. */
#ifndef RS_LIB_STREAMID_H
#define RS_LIB_STREAMID_H

#include <stddef.h>
#include <stdint.h>

/* A Redis stream id "<ms>-<seq>", both parts unsigned 64-bit. */
struct streamid {
	uint64_t ms, seq;
};

#define STREAMID_STR_MAX 44 /* two 20-digit numbers, '-', NUL */

/* streamid_parse flags: also take a bare "<ms>" (seq 0), as Redis does in
 * XRANGE/XREAD arguments. Without it the "-<seq>" part is required. */
#define STREAMID_SEQ_OPTIONAL 1u

/* Parses "ms-seq": decimal digits only (no sign, no space), each part must
 * fit 64 bits. Returns 0 and sets *out, or -1 (then *out is untouched). */
int streamid_parse(const char *s, unsigned flags, struct streamid *out);
/* <0, 0, >0 as a is before, equal to, after b (numeric order). */
int streamid_cmp(struct streamid a, struct streamid b);
/* Writes "ms-seq" into buf (len bytes; STREAMID_STR_MAX always suffice). */
void streamid_format(struct streamid id, char *buf, size_t len);

#endif
