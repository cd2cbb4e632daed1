/* wsguard.h - notices websocket frames a client sent unmasked.
 *
 * RFC 6455 5.1: a server MUST close the connection (1002) when a client's
 * frame is not masked. libwebsockets 4.1.6 accepts such frames (its parser
 * records the mask bit and unmasks only when it is set) and tells the program
 * nothing, so comm-svc follows the bytes lws reads itself: per descriptor,
 * the HTTP requests until the connection becomes a websocket, then the frame
 * headers. Bytes that follow a request header and do not start with a method
 * are frames a client sent before it read the 101 (a race it can lose under
 * load; lws serves them), so they are checked as frames from there on. Pure
 * code: main.c feeds it from the recv() that lws calls and switches it at
 * ESTABLISHED. */
#ifndef RS_COMM_WSGUARD_H
#define RS_COMM_WSGUARD_H

#include <stddef.h>
#include <stdint.h>

struct wsg {
	int ws;        /* 0: HTTP request bytes; 1: websocket frames */
	int bad;       /* a violation was reported */
	unsigned crlf; /* how much of "\r\n\r\n" was just seen (0..3) */
	int after;     /* the last byte ended a request header */
	/* frame header parser */
	unsigned hpos; /* byte of the header being read; 0 = none yet */
	unsigned ext;  /* extended length bytes (0, 2 or 8) */
	unsigned masked;
	uint64_t len, skip; /* payload length; payload bytes still to skip */
};

/* A fresh connection (or the same descriptor reused). Must be called once
 * before the first wsg_feed (a zeroed struct is reset too). */
void wsg_reset(struct wsg *g);
/* Bytes lws read from the connection. Returns 1 the first time a violation
 * (an unmasked frame) is seen, else 0. */
int wsg_feed(struct wsg *g, const unsigned char *p, size_t n);
/* The connection became a websocket: frames follow (unless frames sent early
 * already switched it). Returns 1 when a violation was already seen (in
 * frames sent before the 101), so the caller can act on it now. */
int wsg_start_ws(struct wsg *g);

#endif
