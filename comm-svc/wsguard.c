/* wsguard.c - see wsguard.h. */
#include "wsguard.h"

#include <string.h>

void wsg_reset(struct wsg *g)
{
	memset(g, 0, sizeof(*g));
}

/* One header byte of a frame; 1 when it completes an unmasked frame's
 * header. */
static int header_byte(struct wsg *g, unsigned char c)
{
	if (g->hpos == 0) { /* FIN, RSV, opcode */
		g->hpos = 1;
		return 0;
	}
	if (g->hpos == 1) { /* MASK, length */
		g->masked = c & 0x80;
		g->len = c & 0x7f;
		g->ext = g->len == 126 ? 2 : g->len == 127 ? 8 : 0;
		if (g->ext)
			g->len = 0;
	} else if (g->hpos < 2 + g->ext) { /* extended length */
		g->len = (g->len << 8) | c;
	} /* else a masking key byte */
	g->hpos++;
	if (g->hpos == 2 + g->ext + (g->masked ? 4 : 0)) {
		g->hpos = 0;
		g->skip = g->len;
		return !g->masked;
	}
	return 0;
}

static int frames(struct wsg *g, const unsigned char *p, size_t n)
{
	int found = 0;

	for (size_t i = 0; i < n; i++) {
		if (g->skip) { /* payload: skipped in one step */
			size_t k = n - i < g->skip ? n - i : (size_t)g->skip;

			g->skip -= k;
			i += k - 1;
			continue;
		}
		if (header_byte(g, p[i]) && !g->bad)
			found = g->bad = 1;
	}
	return found;
}

int wsg_feed(struct wsg *g, const unsigned char *p, size_t n)
{
	static const char end[] = "\r\n\r\n";

	if (g->ws)
		return frames(g, p, n);
	for (size_t i = 0; i < n; i++) {
		if (g->after && !(p[i] >= 'A' && p[i] <= 'Z')) {
			/* after a request header, what does not start with a
			 * method is a frame sent before the client read the 101
			 * (a race any client may lose): checked as frames */
			g->ws = 1;
			g->hpos = 0;
			g->skip = 0;
			return frames(g, p + i, n - i);
		}
		g->after = 0;
		if (p[i] == (unsigned char)end[g->crlf]) {
			if (++g->crlf == 4) {
				g->crlf = 0;
				g->after = 1;
			}
		} else {
			g->crlf = p[i] == '\r' ? 1 : 0;
		}
	}
	return 0;
}

int wsg_start_ws(struct wsg *g)
{
	if (!g->ws) {
		g->ws = 1;
		g->hpos = 0;
		g->skip = 0;
	}
	return g->bad;
}
