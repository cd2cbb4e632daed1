/* wsmsg.h - reads what comm-svc pushes on the websocket (welcome, match,
 * stats, error) into a plain struct: the fields the bot needs and nothing
 * else. Pure code (jansson), safe on any bytes: anything malformed is
 * reported, never trusted. */
#ifndef RS_BOT_WSMSG_H
#define RS_BOT_WSMSG_H

#include <stddef.h>

#define WSMSG_ID_MAX    96 /* ride ids, request ids, cursors */
#define WSMSG_TOKEN_MAX 64

enum wsmsg_type { WSMSG_OTHER, WSMSG_WELCOME, WSMSG_MATCH, WSMSG_ERROR };

struct wsmsg {
	enum wsmsg_type type;
	char ride_id[WSMSG_ID_MAX + 1];   /* match */
	char rider_id[WSMSG_ID_MAX + 1];  /* match: rider.id */
	char driver_id[WSMSG_ID_MAX + 1]; /* match: driver.id, "" if absent */
	char token[WSMSG_TOKEN_MAX + 1];  /* match: rating_token, "" when absent */
	char cursor[WSMSG_ID_MAX + 1];    /* any: "cursor", "" when absent */
	double fare;                      /* match: fare, 0 when absent */
	double distance;                  /* match: "distance" (>= 0), -1 when absent */
	long long matched_at_ms; /* match: "matched_at_ms" (server's wall clock), 0 when absent */
	int recovered;           /* welcome: "recovered" 1/0, -1 when absent */
};

/* Parses one whole message of len bytes (any bytes). Returns 0 and fills
 * *out for a JSON object with a string "type"; other types than the three
 * above are WSMSG_OTHER. Returns -1 (out undefined) for anything else, and for
 * a match without a usable ride_id or rider.id. A rating_token or cursor
 * that is too long or holds other than [A-Za-z0-9_.-] is dropped (left ""),
 * so it is never echoed back. */
int wsmsg_parse(const char *buf, size_t len, struct wsmsg *out);

/* The body of a 202 from POST /rider or /driver: copies "id" (a safe id of
 * at most max bytes) into id (size max + 1). Returns 0, or -1 when absent or
 * malformed. */
int wsmsg_parse_accepted(const char *buf, size_t len, char *id, size_t max);

/* The "expires_in_ms" of a 202 body: an integer 1..3600000, or -1. */
long wsmsg_accepted_ttl(const char *buf, size_t len);

#endif
