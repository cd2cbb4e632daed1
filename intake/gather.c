/* gather.c - see gather.h. */
#include "gather.h"

#include <string.h>

int gather_add(struct gather *g, void *req, char *json)
{
	if (g->n >= GATHER_MAX)
		return -1;
	g->req[g->n] = req;
	g->json[g->n] = json;
	return ++g->n;
}

int gather_args(const struct gather *g, const char *const fixed[GATHER_FIXED],
                const char *argv[GATHER_ARGC_MAX], size_t lens[GATHER_ARGC_MAX])
{
	int argc = 0;

	for (int i = 0; i < GATHER_FIXED; i++, argc++) {
		argv[argc] = fixed[i];
		lens[argc] = strlen(fixed[i]);
	}
	for (int i = 0; i < g->n; i++, argc++) {
		argv[argc] = g->json[i];
		lens[argc] = strlen(g->json[i]);
	}
	return argc;
}
