/* reqgen.c - see reqgen.h. The PRNG is splitmix64: tiny, fast, good enough for
 * load generation (not for anything secret). */
#include "reqgen.h"

#include <math.h>
#include <stdio.h>

static const char *const names[] = {
    "Rahim",   "Karim",  "Abdul", "Fatema", "Ayesha", "Nusrat",  "Tanvir",   "Sakib",
    "Mushfiq", "Tamim",  "Rafiq", "Jamal",  "Shirin", "Nasrin",  "Farhana",  "Sumaiya",
    "Mahmud",  "Habib",  "Rubel", "Sohel",  "Anika",  "Tahmina", "Arif",     "Imran",
    "Rezaul",  "Shakil", "Mitu",  "Rina",   "Joya",   "Babul",   "Kamal",    "Jahid",
    "Sabina",  "Parvin", "Hasan", "Mehedi", "Liton",  "Shanto",  "Moushumi", "Bithi",
};
static const char *const cities[] = {"DHA", "CTG", "SYL", "KHU", "RAJ", "BAR", "RNG", "MYM"};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

void gen_seed(struct gen_rng *r, uint64_t seed)
{
	r->s = seed;
}

uint64_t gen_u64(struct gen_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint32_t gen_below(struct gen_rng *r, uint32_t n)
{
	return n ? (uint32_t)(((gen_u64(r) >> 32) * (uint64_t)n) >> 32) : 0;
}

double gen_unit(struct gen_rng *r)
{
	return (double)(gen_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

struct gen_point gen_point(struct gen_rng *r, double area)
{
	struct gen_point p;

	if (!(area > 0) || !isfinite(area))
		area = 1;
	p.x = floor(gen_unit(r) * area * 100) / 100;
	p.y = floor(gen_unit(r) * area * 100) / 100;
	return p;
}

void gen_hot_init(struct gen_hot *h, struct gen_rng *r, double area, int n)
{
	if (!(area > 0) || !isfinite(area))
		area = 1;
	if (n < 0)
		n = 0;
	if (n > GEN_HOT_MAX)
		n = GEN_HOT_MAX;
	h->n = n;
	h->frac = 0.8;
	h->spread = area / 20;
	for (int i = 0; i < n; i++) {
		h->c[i].x = area * (0.1 + 0.8 * gen_unit(r));
		h->c[i].y = area * (0.1 + 0.8 * gen_unit(r));
	}
}

static double near(struct gen_rng *r, double c, double spread, double area)
{
	double v =
	    c + (gen_unit(r) - gen_unit(r)) * spread; /* triangular in (c-spread, c+spread) */

	v = floor(v * 100) / 100;
	if (v < 0)
		v = 0;
	if (v >= area)
		v = floor((area - 0.01) * 100) / 100;
	return v;
}

struct gen_point gen_point_hot(struct gen_rng *r, double area, const struct gen_hot *h)
{
	struct gen_point p;
	const struct gen_point *c;

	if (!h || h->n <= 0)
		return gen_point(r, area);
	if (!(area > 0) || !isfinite(area))
		area = 1;
	if (gen_unit(r) >= h->frac)
		return gen_point(r, area);
	c = &h->c[gen_below(r, (uint32_t)h->n)];
	p.x = near(r, c->x, h->spread, area);
	p.y = near(r, c->y, h->spread, area);
	return p;
}

const char *gen_name(struct gen_rng *r)
{
	return names[gen_below(r, NELEM(names))];
}

size_t gen_name_count(void)
{
	return NELEM(names);
}

char *gen_car_number(struct gen_rng *r, char *buf, size_t size)
{
	if (size < 12) {
		if (size)
			buf[0] = 0;
		return buf;
	}
	snprintf(buf, size, "%s-%02u-%04u", cities[gen_below(r, NELEM(cities))],
	         11 + gen_below(r, 89), gen_below(r, 10000));
	return buf;
}

static void point(struct sbuf *b, const char *key, struct gen_point p)
{
	sbuf_printf(b, "\"%s\":{\"x\":%.2f,\"y\":%.2f}", key, p.x, p.y);
}

static void client(struct sbuf *b, const char *client_id)
{
	if (client_id && *client_id) {
		sbuf_append(b, ",\"client_id\":", 13);
		sbuf_json_str(b, client_id);
	}
}

void gen_rider_json(struct sbuf *b, const char *name, struct gen_point loc, struct gen_point dest,
                    const char *client_id)
{
	sbuf_append(b, "{\"name\":", 8);
	sbuf_json_str(b, name);
	sbuf_append(b, ",", 1);
	point(b, "location", loc);
	sbuf_append(b, ",", 1);
	point(b, "destination", dest);
	client(b, client_id);
	sbuf_append(b, "}", 1);
}

void gen_driver_json(struct sbuf *b, const char *name, const char *car_number, struct gen_point loc,
                     const char *client_id)
{
	sbuf_append(b, "{\"name\":", 8);
	sbuf_json_str(b, name);
	sbuf_append(b, ",\"car_number\":", 14);
	sbuf_json_str(b, car_number);
	sbuf_append(b, ",", 1);
	point(b, "location", loc);
	client(b, client_id);
	sbuf_append(b, "}", 1);
}

void gen_rating_json(struct sbuf *b, const char *ride_id, int rating, const char *token)
{
	sbuf_append(b, "{\"ride_id\":", 11);
	sbuf_json_str(b, ride_id);
	sbuf_printf(b, ",\"rating\":%d,\"rating_token\":", rating);
	sbuf_json_str(b, token);
	sbuf_append(b, "}", 1);
}
