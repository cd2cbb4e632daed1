/* fastbody.h - a fast path of lib/validate.c for the bodies clients send
 * (the bot's, bench/post.lua's): a POST /rider or /driver body in the
 * members' usual order, ASCII text without escapes, plain numbers. Parsed
 * without jansson; anything else is not taken, and the caller parses it
 * with jansson as before. A body it takes is one validate_parse_rider
 * (_driver) accepts with the very same struct. Pure. */
#ifndef RS_LIB_FASTBODY_H
#define RS_LIB_FASTBODY_H

#include "validate.h"

#include <stddef.h>

/* 0 with *out written (zeroed, then the fields) when the body is
 *   {"name":S,"location":P,"destination":P[,"client_id":S]}
 * with JSON whitespace anywhere between tokens, S a string of bytes 0x20..0x7E
 * but '"' and '\\' that passes the field's check, P {"x":N,"y":N}, N a JSON
 * number without exponent of at most 15 digits within the coordinate
 * range. -1 (out untouched) otherwise, valid or not. */
int fastbody_rider(const char *body, size_t len, struct validate_rider *out);

/* The same for {"name":S,"car_number":S,"location":P[,"client_id":S]}. */
int fastbody_driver(const char *body, size_t len, struct validate_driver *out);

#endif
