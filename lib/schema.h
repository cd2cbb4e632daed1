/* schema.h - the code's only copy of the Redis schema and the stack's port
 * offsets (docs/INTERNALS.md describes them; this header is what the code
 * uses). Pure: macros and constants only, no functions, no I/O.
 *
 * Names are string literals so that they splice into command formats and
 * Lua sources ("XADD " RS_STREAM_STATS " ..."); numbers that go into a
 * command text are plain integer literals, made text with RS_STR(). */
#ifndef RS_LIB_SCHEMA_H
#define RS_LIB_SCHEMA_H

#define RS_STR_(x) #x
/* The text of a macro's value: RS_STR(RS_STATS_MAXLEN) is "64". */
#define RS_STR(x) RS_STR_(x)

/* ---- ports: PORT + offset (cfg_stack_port) ---- */
#define RS_PORT_REDIS   1
#define RS_PORT_PG      2
#define RS_PORT_RIDER   10 /* rider-svc #i: +10+i */
#define RS_PORT_DRIVER  20 /* driver-svc #i: +20+i */
#define RS_PORT_RATING  30 /* rating-svc #i: +30+i */
#define RS_PORT_COMM    40 /* comm-svc #i: +40+i */
#define RS_PORT_MATCHER 50 /* matcher #i (health): +50+i */

/* ---- streams and their caps (XADD ... MAXLEN ~ cap) ---- */
#define RS_STREAM_REQUESTS "requests"
#define RS_STREAM_MATCHES  "matches"
#define RS_STREAM_STATS    "stats"
#define RS_REQUESTS_MAXLEN 200000
#define RS_MATCHES_MAXLEN  100000
#define RS_STATS_MAXLEN    64

/* ---- fields of the stream entries ---- */
#define RS_F_KIND          "kind"          /* requests: RS_KIND_RIDER or RS_KIND_DRIVER */
#define RS_F_JSON          "json"          /* requests, matches, stats */
#define RS_F_RIDER_CLIENT  "rider_client"  /* matches: the rider's client_id or "" */
#define RS_F_DRIVER_CLIENT "driver_client" /* matches: the driver's client_id or "" */

/* ---- request kinds; a request's key is "<kind>:<request id>" ---- */
#define RS_KIND_RIDER  "rider"
#define RS_KIND_DRIVER "driver"
#define RS_KIND_SEP    ":"
#define RS_KEY_RIDER   RS_KIND_RIDER RS_KIND_SEP "%s"  /* rider:<request id> */
#define RS_KEY_DRIVER  RS_KIND_DRIVER RS_KIND_SEP "%s" /* driver:<request id> */
/* a request key lives this long (SET ... PX); the matcher's default TTL */
#define RS_REQUEST_TTL_MS 5000

/* ---- the ride hash "ride:<ride_id>", ride_id = "ride-<rider request id>" ---- */
#define RS_KEY_RIDE         "ride:%s"
#define RS_RIDE_ID_PREFIX   "ride-"
#define RS_RIDE_ID          RS_RIDE_ID_PREFIX "%s"
#define RS_RIDE_TOKEN       "token"
#define RS_RIDE_CAR_NUMBER  "car_number"
#define RS_RIDE_DRIVER_NAME "driver_name"
#define RS_RIDE_DRIVER_ID   "driver_id"
#define RS_RIDE_RIDER_ID    "rider_id"
#define RS_RIDE_TTL_S       3600 /* EXPIRE of the hash: how long a ride can be rated */

/* ---- the matcher's lease (SET NX PX, value: the holder's name) ---- */
#define RS_KEY_LEASE "matcher:lease"

#endif
