/* driver-svc - accepts POST /driver, validates it and caches it in Redis for
 * the matcher (all of it in intake/intake.c; this file only names the kind). */
#include "intake.h"
#include "schema.h"

#include <stdlib.h>

static int parse_driver(const char *body, size_t len, char **json, struct validate_error *err)
{
	struct validate_driver d;

	if (validate_parse_driver(body, len, &d, err) < 0)
		return -1;
	*json = validate_driver_json(&d);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct intake_kind kind = {RS_KIND_DRIVER, "/driver", RS_PORT_DRIVER,
	                                        parse_driver};

	return intake_main(argc, argv, &kind);
}
