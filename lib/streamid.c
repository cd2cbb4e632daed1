/* streamid.c - see streamid.h. */
#include "streamid.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

int streamid_parse(const char *s, unsigned flags, struct streamid *out)
{
	char *end;
	unsigned long long ms, seq = 0;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	ms = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (*end == '-') {
		const char *p = end + 1;

		if (*p < '0' || *p > '9')
			return -1;
		seq = strtoull(p, &end, 10);
		if (errno)
			return -1;
	} else if (!(flags & STREAMID_SEQ_OPTIONAL)) {
		return -1;
	}
	if (*end)
		return -1;
	out->ms = ms;
	out->seq = seq;
	return 0;
}

int streamid_cmp(struct streamid a, struct streamid b)
{
	if (a.ms != b.ms)
		return a.ms < b.ms ? -1 : 1;
	if (a.seq != b.seq)
		return a.seq < b.seq ? -1 : 1;
	return 0;
}

void streamid_format(struct streamid id, char *buf, size_t len)
{
	snprintf(buf, len, "%" PRIu64 "-%" PRIu64, id.ms, id.seq);
}
