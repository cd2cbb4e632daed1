/* test_lib_rreply.c - unit tests (cmocka) for lib/rreply.c, the reply
 * helpers, on replies built by hand: rreply_field finds the first pair whose
 * name is exactly the name (not a prefix, not past an embedded NUL), skips
 * pairs that are not two strings, ignores an odd last element and non-arrays;
 * rreply_xread_each visits every entry of every well-formed stream in order
 * and skips malformed streams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "rreply.h"

#define MAXR 64
static redisReply pool[MAXR];
static redisReply *kids[MAXR][8];
static int used;

static redisReply *str(const char *s, size_t len)
{
	redisReply *r = &pool[used++];

	memset(r, 0, sizeof(*r));
	r->type = REDIS_REPLY_STRING;
	r->str = (char *)s;
	r->len = len;
	return r;
}

static redisReply *s0(const char *s)
{
	return str(s, strlen(s));
}

static redisReply *integer(long long v)
{
	redisReply *r = &pool[used++];

	memset(r, 0, sizeof(*r));
	r->type = REDIS_REPLY_INTEGER;
	r->integer = v;
	return r;
}

static redisReply *arr(size_t n, ...)
{
	int me = used++;
	redisReply *r = &pool[me];
	va_list ap;

	memset(r, 0, sizeof(*r));
	r->type = REDIS_REPLY_ARRAY;
	r->elements = n;
	r->element = kids[me];
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		kids[me][i] = va_arg(ap, redisReply *);
	va_end(ap);
	return r;
}

static void test_field_exact_first_string_pair(void **state)
{
	redisReply *f;

	(void)state;
	used = 0;
	f = arr(8, s0("jsonx"), s0("A"), integer(1), s0("B"), s0("json"), integer(2), s0("json"),
	        s0("C"));
	assert_string_equal(rreply_field(f, "json")->str, "C");
	assert_null(rreply_field(f, "js"));
	assert_string_equal(rreply_field(f, "jsonx")->str, "A");
	used = 0;
	f = arr(5, str("json\0x", 6), s0("D"), s0("json"), s0("E"), s0("kind"));
	assert_string_equal(rreply_field(f, "json")->str, "E"); /* not past the NUL */
	assert_null(rreply_field(f, "kind"));                   /* odd last element */
	assert_null(rreply_field(s0("json"), "json"));
	assert_null(rreply_field(NULL, "json"));
	used = 0;
	f = arr(4, s0("json"), s0("F"), s0("json"), s0("G"));
	assert_string_equal(rreply_field(f, "json")->str, "F"); /* the first */
}

struct seen {
	char log[256];
	int n;
};

static void note(const char *stream, const redisReply *entry, void *priv)
{
	struct seen *s = priv;
	size_t at = strlen(s->log);

	snprintf(s->log + at, sizeof(s->log) - at, "%s/%s ", stream,
	         entry->type == REDIS_REPLY_ARRAY && entry->elements ? entry->element[0]->str
	                                                             : "?");
	s->n++;
}

static void test_xread_walk(void **state)
{
	struct seen s = {"", 0};
	redisReply *r;

	(void)state;
	used = 0;
	r = arr(5,
	        arr(2, s0("matches"), arr(2, arr(2, s0("1-0"), arr(0)), arr(2, s0("2-0"), arr(0)))),
	        arr(1, s0("bad")),                                     /* not [name, entries] */
	        arr(2, integer(3), arr(1, arr(2, s0("9-9"), arr(0)))), /* name not a string */
	        arr(2, s0("x"), s0("not entries")),                    /* entries not an array */
	        arr(2, s0("stats"), arr(1, integer(7)))); /* malformed entry: passed on */
	rreply_xread_each(r, note, &s);
	assert_string_equal(s.log, "matches/1-0 matches/2-0 stats/? ");
	assert_int_equal(s.n, 3);
	s.n = 0;
	rreply_xread_each(NULL, note, &s);
	rreply_xread_each(s0("OK"), note, &s);
	assert_int_equal(s.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_field_exact_first_string_pair),
	    cmocka_unit_test(test_xread_walk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
