/* ride.h - the match message the matcher hands to comm-svc for one pair
 * (DESIGN.md "GET /communication"), built from the two requests' canonical
 * JSON. Pure: no I/O. */
#ifndef RS_MATCHER_RIDE_H
#define RS_MATCHER_RIDE_H

#include <stddef.h>
#include <stdint.h>

struct ride_info {
	char ride_id[64];
	char car_number[33];
	char driver_name[65];
	char rider_client[65]; /* "" when the rider gave no client_id */
	char driver_client[65];
};

/* Returns the match message (malloc'd, caller frees) or NULL when a request
 * JSON is not what the intake writes or memory runs out. Fills *info. */
char *ride_match_json(const char *rider_id, const char *rider_json, const char *driver_id,
                      const char *driver_json, double distance, uint64_t matched_at_ms,
                      const char *rating_token, struct ride_info *info);

/* 32 lowercase hex characters of randomness from getrandom(2) into out[33].
 * Returns 0, or -1 when the kernel gives none. */
int ride_token(char out[33]);

#endif
