/* client.c - sockets by client_id: a chained hash table of struct
 * hub_client (several sockets may share an id), grown as ids come. */
#include "hub_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t client_hash(const char *s, size_t nb)
{
	uint64_t x = 1469598103934665603ULL;

	for (; *s; s++)
		x = (x ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)(x & (nb - 1));
}

struct hub_client *client_find(const struct hub *h, const char *id)
{
	if (!id || !*id)
		return NULL;
	for (struct hub_client *c = h->buckets[client_hash(id, h->nbuckets)]; c; c = c->next)
		if (!strcmp(c->id, id))
			return c;
	return NULL;
}

static void client_table_grow(struct hub *h)
{
	size_t nb = h->nbuckets * 2;
	struct hub_client **b = calloc(nb, sizeof(*b));

	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < h->nbuckets; i++) {
		struct hub_client *c = h->buckets[i], *next;

		for (; c; c = next) {
			size_t k = client_hash(c->id, nb);

			next = c->next;
			c->next = b[k];
			b[k] = c;
		}
	}
	free(h->buckets);
	h->buckets = b;
	h->nbuckets = nb;
}

struct hub_client *client_get(struct hub *h, const char *id)
{
	struct hub_client *c = client_find(h, id);
	size_t k;

	if (c)
		return c;
	if (h->nclients >= h->nbuckets)
		client_table_grow(h);
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	snprintf(c->id, sizeof(c->id), "%s", id);
	k = client_hash(id, h->nbuckets);
	c->next = h->buckets[k];
	h->buckets[k] = c;
	h->nclients++;
	h->c.client_ids = h->nclients;
	return c;
}

void client_remove(struct hub *h, struct hub_client *c)
{
	struct hub_client **pp = &h->buckets[client_hash(c->id, h->nbuckets)];

	for (; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	free(c);
	h->nclients--;
	h->c.client_ids = h->nclients;
}
