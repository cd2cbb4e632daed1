/* replay.c - see replay.h. */
#include "replay.h"
#include "schema.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

int replay_kind(const char *const *fields, size_t n, const char **json)
{
	const char *kind = NULL;

	*json = NULL;
	for (size_t i = 0; i + 1 < n; i += 2) {
		if (!fields[i] || !fields[i + 1])
			continue;
		if (!strcmp(fields[i], RS_F_KIND))
			kind = fields[i + 1];
		else if (!strcmp(fields[i], RS_F_JSON))
			*json = fields[i + 1];
	}
	if (!kind || !*json || (strcmp(kind, RS_KIND_RIDER) && strcmp(kind, RS_KIND_DRIVER)))
		return -1;
	return kind[0] == 'r';
}

int replay_must_check(uint64_t ms, uint64_t start_ms, unsigned pending)
{
	return ms < start_ms || pending > 0;
}

int replay_keep(int answered, long long exists)
{
	return !answered || exists == 1;
}

void replay_key(int is_rider, const char *id, char *buf, size_t len)
{
	snprintf(buf, len, is_rider ? RS_KEY_RIDER : RS_KEY_DRIVER, id);
}

int replay_location(const char *json, struct pairing_point *loc)
{
	json_t *doc = json_loads(json, 0, NULL), *l;
	int rc = -1;

	l = json_object_get(doc, "location");
	if (json_is_number(json_object_get(l, "x")) && json_is_number(json_object_get(l, "y"))) {
		loc->x = json_number_value(json_object_get(l, "x"));
		loc->y = json_number_value(json_object_get(l, "y"));
		rc = 0;
	}
	json_decref(doc);
	return rc;
}
