/* intake.h - the whole of rider-svc and driver-svc but their names: POST a
 * request, validate it, put it in Redis with its TTL and announce it on the
 * `requests` stream in one Lua script, answer 202 with its id
 * (docs/INTERNALS.md). The two mains only say which kind they take. */
#ifndef RS_INTAKE_INTAKE_H
#define RS_INTAKE_INTAKE_H

#include <stddef.h>

#include "validate.h"

struct intake_kind {
	const char *kind; /* "rider" or "driver": key prefix and stream field */
	const char *path; /* "/rider" */
	int port_offset;  /* default port = PORT + this */
	/* Validates body; on success returns 0 and a malloc'd canonical JSON. */
	int (*parse)(const char *body, size_t len, char **json, struct validate_error *err);
};

/* Runs the service until SIGINT/SIGTERM; returns the exit status. */
int intake_main(int argc, char **argv, const struct intake_kind *kind);

#endif
