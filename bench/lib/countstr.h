/* countstr.h - counts the occurrences of a fixed string in a byte stream
 * that arrives in pieces (a socket's reads), so that an occurrence split
 * across two pieces counts once. ws_fanout counts match messages in
 * websocket payloads and HTTP status lines in nchan's answers with it.
 * Pure (tests/unit/test_bench_countstr.c). */
#ifndef RS_BENCH_COUNTSTR_H
#define RS_BENCH_COUNTSTR_H

#include <stddef.h>

#define COUNTSTR_MAX 63 /* longest needle */

struct countstr {
	const char *needle; /* NUL-terminated, 1..COUNTSTR_MAX bytes */
	size_t nl;
	char tail[COUNTSTR_MAX]; /* the stream's last nl - 1 bytes (fewer at first) */
	size_t tlen;
};

/* Starts counting needle (kept by pointer); -1 if it is empty or too long. */
int countstr_init(struct countstr *c, const char *needle);

/* Occurrences that end in p[0..len) (those starting in earlier pieces
 * included). Occurrences do not overlap within a piece. */
long countstr_feed(struct countstr *c, const void *p, size_t len);

#endif
