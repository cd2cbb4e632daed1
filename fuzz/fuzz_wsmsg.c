/* fuzz_wsmsg.c - libFuzzer harness for the bot's reading of what the server
 * sends (bot/wsmsg.c): every input is parsed as a websocket message and as a
 * 202 body. Whatever is accepted must hold only what the parser promises:
 * NUL-terminated ids and tokens within their sizes, made of [A-Za-z0-9_.-]
 * (they are echoed back to the server), and a match always has its ride_id
 * and rider id. Any crash, sanitizer report or abort() is a finding.
 * Built and run by `make fuzz` (see fuzz/README.md). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wsmsg.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)

static void check_id(const char *s, size_t size, int required)
{
	size_t n = strnlen(s, size);

	CHECK(n < size);
	CHECK(!required || n > 0);
	for (size_t i = 0; i < n; i++)
		CHECK((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' || s[i] == '-');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wsmsg m;
	char id[33];

	if (wsmsg_parse((const char *)data, size, &m) == 0) {
		CHECK(m.type == WSMSG_OTHER || m.type == WSMSG_WELCOME || m.type == WSMSG_MATCH ||
		      m.type == WSMSG_ERROR);
		check_id(m.cursor, sizeof(m.cursor), 0);
		if (m.type == WSMSG_MATCH) {
			check_id(m.ride_id, sizeof(m.ride_id), 1);
			check_id(m.rider_id, sizeof(m.rider_id), 1);
			check_id(m.driver_id, sizeof(m.driver_id), 0);
			check_id(m.token, sizeof(m.token), 0);
		}
	}
	memset(id, 'x', sizeof(id));
	if (wsmsg_parse_accepted((const char *)data, size, id, sizeof(id) - 1) == 0)
		check_id(id, sizeof(id), 1);
	return 0;
}
