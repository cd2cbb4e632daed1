/* ride.c - see ride.h. */
#include "ride.h"

#include "pairing.h"
#include "schema.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

static int copy_str(json_t *obj, const char *key, char *out, size_t len, int required)
{
	const char *s = json_string_value(json_object_get(obj, key));

	if (!s) {
		out[0] = 0;
		return required ? -1 : 0;
	}
	snprintf(out, len, "%s", s);
	return 0;
}

char *ride_match_json(const char *rider_id, const char *rider_json, const char *driver_id,
                      const char *driver_json, double distance, uint64_t matched_at_ms,
                      const char *rating_token, struct ride_info *info)
{
	json_error_t jerr;
	json_t *r = json_loads(rider_json, 0, &jerr), *d = json_loads(driver_json, 0, &jerr);
	json_t *msg = NULL, *rider = NULL, *driver = NULL;
	char *out = NULL;

	memset(info, 0, sizeof(*info));
	if (!json_is_object(r) || !json_is_object(d))
		goto done;
	snprintf(info->ride_id, sizeof(info->ride_id), RS_RIDE_ID, rider_id);
	if (copy_str(d, "car_number", info->car_number, sizeof(info->car_number), 1) < 0 ||
	    copy_str(d, "name", info->driver_name, sizeof(info->driver_name), 1) < 0)
		goto done;
	copy_str(r, "client_id", info->rider_client, sizeof(info->rider_client), 0);
	copy_str(d, "client_id", info->driver_client, sizeof(info->driver_client), 0);

	rider = json_pack("{s:s, s:O, s:O, s:O}", "id", rider_id, "name",
	                  json_object_get(r, "name"), "location", json_object_get(r, "location"),
	                  "destination", json_object_get(r, "destination"));
	driver =
	    json_pack("{s:s, s:O, s:O, s:O}", "id", driver_id, "name", json_object_get(d, "name"),
	              "car_number", json_object_get(d, "car_number"), "location",
	              json_object_get(d, "location"));
	if (!rider || !driver)
		goto done;
	msg = json_pack("{s:s, s:s, s:O, s:O, s:f, s:f, s:s, s:I, s:s}", "type", "match", "ride_id",
	                info->ride_id, "rider", rider, "driver", driver, "distance", distance,
	                "fare", pairing_fare_taka(distance), "currency", "BDT", "matched_at_ms",
	                (json_int_t)matched_at_ms, "rating_token", rating_token);
	if (msg)
		out = json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
done:
	json_decref(msg);
	json_decref(rider);
	json_decref(driver);
	json_decref(r);
	json_decref(d);
	return out;
}

int ride_token(char out[33])
{
	unsigned char raw[16];
	static const char hex[] = "0123456789abcdef";

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -1;
	for (int i = 0; i < 16; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[32] = 0;
	return 0;
}
