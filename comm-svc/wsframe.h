/* wsframe.h - websocket frames as a server writes them (RFC 6455 5.2):
 * unmasked, so several can be laid end to end in one buffer and handed to
 * the socket in one write (ws.c does, for the frames of one writeable
 * callback). Pure code. */
#ifndef RS_COMM_WSFRAME_H
#define RS_COMM_WSFRAME_H

#include <stddef.h>
#include <stdint.h>

/* The longest frame header (64-bit length). */
#define WSFRAME_HEAD_MAX 10

/* Writes at p the header of a final, unmasked text frame of len payload
 * bytes (p has room for WSFRAME_HEAD_MAX); returns its length, 2, 4 or 10. */
size_t wsframe_text_head(unsigned char *p, uint64_t len);

#endif
