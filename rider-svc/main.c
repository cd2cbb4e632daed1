/* rider-svc - accepts POST /rider, validates it and caches it in Redis for
 * the matcher (all of it in intake/intake.c; this file only names the kind). */
#include "intake.h"
#include "schema.h"

#include <stdlib.h>

static int parse_rider(const char *body, size_t len, char **json, struct validate_error *err)
{
	struct validate_rider r;

	if (validate_parse_rider(body, len, &r, err) < 0)
		return -1;
	*json = validate_rider_json(&r);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct intake_kind kind = {RS_KIND_RIDER, "/rider", RS_PORT_RIDER,
	                                        parse_rider};

	return intake_main(argc, argv, &kind);
}
