/* rreply.c - see rreply.h. */
#include "rreply.h"

#include <string.h>

int rreply_ok(const redisReply *r)
{
	return r && r->type != REDIS_REPLY_ERROR;
}

const char *rreply_err(const redisReply *r)
{
	if (!r)
		return "connection lost";
	if (r->type == REDIS_REPLY_ERROR)
		return r->str;
	return "unexpected reply";
}

const redisReply *rreply_field(const redisReply *r, const char *name)
{
	size_t len = strlen(name);

	if (!r || r->type != REDIS_REPLY_ARRAY)
		return NULL;
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const redisReply *k = r->element[i], *v = r->element[i + 1];

		if (k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING &&
		    k->len == len && !memcmp(k->str, name, len))
			return v;
	}
	return NULL;
}

void rreply_xread_each(const redisReply *r, rreply_entry_fn fn, void *priv)
{
	if (!r || r->type != REDIS_REPLY_ARRAY)
		return;
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *st = r->element[i];

		if (st->type != REDIS_REPLY_ARRAY || st->elements != 2 ||
		    st->element[0]->type != REDIS_REPLY_STRING ||
		    st->element[1]->type != REDIS_REPLY_ARRAY)
			continue;
		for (size_t j = 0; j < st->element[1]->elements; j++)
			fn(st->element[0]->str, st->element[1]->element[j], priv);
	}
}
