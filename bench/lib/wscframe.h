/* wscframe.h - the client's side of websocket framing (RFC 6455) for the
 * benchmark tools' own small client (ws_fanout): frames out, masked as a
 * client's must be, and the server's frames in, read from a stream that
 * arrives in pieces. Pure (tests/unit/test_bench_wscframe.c). */
#ifndef RS_BENCH_WSCFRAME_H
#define RS_BENCH_WSCFRAME_H

#include <stddef.h>
#include <stdint.h>

#define WSCFRAME_OUT_MAX 65535 /* longest payload wscframe_write frames */
#define WSCFRAME_HDR_OUT 8     /* most header bytes it writes (with the mask) */

/* Writes one FIN frame of opcode carrying data (masked with a fixed key:
 * the bytes measured are the server's) into out, which has room for len +
 * WSCFRAME_HDR_OUT bytes; returns the frame's length, 0 if len is over
 * WSCFRAME_OUT_MAX. */
size_t wscframe_write(unsigned char *out, int opcode, const void *data, size_t len);

/* The frame being read: its header (hlen of hneed bytes), then remain
 * payload bytes. opcode is the message's (continuations keep it). */
struct wscframe_in {
	unsigned char hdr[14];
	size_t hlen, hneed;
	uint64_t remain;
	int in_payload, opcode, fin;
	unsigned char ctl[125]; /* a control frame's payload (a ping's) */
	size_t ctl_len;
};

struct wscframe_ops {
	/* payload bytes of a text message (its frames and continuations) */
	void (*payload)(void *priv, const unsigned char *p, size_t len);
	/* a frame is complete: op its own opcode (0 continuation, 1 text, 8
	 * close, 9 ping, ...), fin its FIN bit, ctl the control frame's
	 * payload (up to 125 bytes); returns nonzero to stop reading */
	int (*frame_end)(void *priv, int op, int fin, const unsigned char *ctl, size_t ctl_len);
};

/* Reads p[0..len); returns 0 when all was read, 1 when frame_end asked to
 * stop, -1 on a masked frame (a server never masks: not a websocket). */
int wscframe_read(struct wscframe_in *r, const unsigned char *p, size_t len,
                  const struct wscframe_ops *ops, void *priv);

#endif
