/* countstr.c - see countstr.h. */
#include "countstr.h"

#include <string.h>

int countstr_init(struct countstr *c, const char *needle)
{
	size_t nl = strlen(needle);

	if (nl == 0 || nl > COUNTSTR_MAX)
		return -1;
	c->needle = needle;
	c->nl = nl;
	c->tlen = 0;
	return 0;
}

long countstr_feed(struct countstr *c, const void *data, size_t len)
{
	const char *p = data, *q = p, *end = p + len, *hit;
	size_t nl = c->nl, k = len < nl - 1 ? len : nl - 1;
	char b[2 * COUNTSTR_MAX];
	long n = 0;

	/* occurrences that start in the tail and end in p */
	memcpy(b, c->tail, c->tlen);
	memcpy(b + c->tlen, p, k);
	for (size_t i = 0; i < c->tlen; i++)
		if (i + nl <= c->tlen + k && i + nl > c->tlen && !memcmp(b + i, c->needle, nl))
			n++;
	while (q < end && (hit = memmem(q, (size_t)(end - q), c->needle, nl))) {
		n++;
		q = hit + nl;
	}
	/* the new tail: the last nl - 1 bytes of tail + p */
	memcpy(b + c->tlen, p + len - k, k);
	if (c->tlen + k > nl - 1) {
		memmove(b, b + c->tlen + k - (nl - 1), nl - 1);
		c->tlen = nl - 1;
	} else {
		c->tlen += k;
	}
	memcpy(c->tail, b, c->tlen);
	return n;
}
