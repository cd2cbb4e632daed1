/* test_bot_http.c - unit tests of bot/http_parse: whole responses and the
 * same split at every byte, keep-alive rules, bodies until close, 204, and
 * malformed input (bad status lines, bad or conflicting Content-Length,
 * chunked, oversized heads and bodies, bytes after the body, random bytes),
 * which must give errors and never crash. Also hurl_parse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http_parse.h"

static const char ok202[] =
    "HTTP/1.1 202 Accepted\r\nServer: nginx\r\nContent-Type: application/json\r\n"
    "Content-Length: 45\r\nConnection: keep-alive\r\n\r\n"
    "{\"id\":\"1763800000000-0\",\"expires_in_ms\":5000}";

#define feed_all(h, lit, n_unused) hresp_feed((h), (lit), sizeof(lit) - 1)

/* a finished response: its status, keep-alive and body; then freed */
static void expect_response(struct hresp *h, int status, int keep_alive, const char *body)
{
	size_t bl;
	const char *b = hresp_body(h, &bl);

	assert_int_equal(h->status, status);
	assert_int_equal(h->keep_alive, keep_alive);
	assert_int_equal(bl, strlen(body));
	assert_memory_equal(b, body, bl);
	hresp_free(h);
}

static void test_whole_and_split(void **state)
{
	size_t n = strlen(ok202);

	for (size_t cut = 0; cut <= n; cut++) {
		struct hresp h;
		int st;

		hresp_init(&h);
		st = hresp_feed(&h, ok202, cut);
		if (cut < n)
			assert_int_equal(st, HRESP_MORE);
		st = hresp_feed(&h, ok202 + cut, n - cut);
		assert_int_equal(st, HRESP_DONE);
		expect_response(&h, 202, 1, "{\"id\":\"1763800000000-0\",\"expires_in_ms\":5000}");
	}
}

static void test_byte_by_byte_and_reset(void **state)
{
	struct hresp h;
	size_t n = strlen(ok202);

	hresp_init(&h);
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < n; i++)
			assert_int_equal(hresp_feed(&h, ok202 + i, 1),
			                 i + 1 == n ? HRESP_DONE : HRESP_MORE);
		assert_int_equal(h.status, 202);
		hresp_reset(&h);
	}
	hresp_free(&h);
}

static void test_keep_alive_rules(void **state)
{
	struct hresp h;

	hresp_init(&h);
	assert_int_equal(
	    feed_all(&h, "HTTP/1.1 201 Created\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
	             62),
	    HRESP_DONE);
	assert_int_equal(h.keep_alive, 0);
	hresp_reset(&h);
	assert_int_equal(feed_all(&h, "HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n", 38),
	                 HRESP_DONE);
	assert_int_equal(h.keep_alive, 0);
	hresp_reset(&h);
	assert_int_equal(
	    feed_all(&h, "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n",
	             62),
	    HRESP_DONE);
	assert_int_equal(h.keep_alive, 1);
	hresp_reset(&h);
	assert_int_equal(feed_all(&h, "HTTP/1.1 204 No Content\r\n\r\n", 27), HRESP_DONE);
	assert_int_equal(h.status, 204);
	hresp_free(&h);
}

static void test_body_until_close(void **state)
{
	struct hresp h;
	size_t bl;

	hresp_init(&h);
	assert_int_equal(feed_all(&h, "HTTP/1.1 503 Service Unavailable\r\n\r\n{\"error\"", 44),
	                 HRESP_MORE);
	assert_int_equal(feed_all(&h, ":\"x\"}", 5), HRESP_MORE);
	assert_int_equal(hresp_eof(&h), HRESP_DONE);
	expect_response(&h, 503, 0, "{\"error\":\"x\"}");

	hresp_init(&h);
	assert_int_equal(feed_all(&h, "HTTP/1.1 202 OK\r\nContent-Length: 10\r\n\r\nabc", 42),
	                 HRESP_MORE);
	assert_int_equal(hresp_eof(&h), HRESP_ERROR);
	hresp_body(&h, &bl);
	assert_int_equal(bl, 0);
	hresp_free(&h);

	hresp_init(&h);
	assert_int_equal(hresp_eof(&h), HRESP_ERROR);
	hresp_free(&h);
}

static void expect_error(const char *s, size_t n)
{
	struct hresp h;

	hresp_init(&h);
	assert_int_equal(hresp_feed(&h, s, n), HRESP_ERROR);
	assert_non_null(h.error);
	/* sticky */
	assert_int_equal(hresp_feed(&h, "x", 1), HRESP_ERROR);
	hresp_free(&h);
}

#define ERR(lit) expect_error(lit, sizeof(lit) - 1)

static void test_malformed(void **state)
{
	ERR("HTTP/2 200 OK\r\n\r\n");
	ERR("HTTP/1.1 20 OK\r\n\r\n");
	ERR("HTTP/1.1 2000 OK\r\n\r\n");
	ERR("HTTP/1.1 abc OK\r\n\r\n");
	ERR("HTTP/1.1 100 Continue\r\n\r\n");
	ERR("HTTP/1.1 600 What\r\n\r\n");
	ERR("http/1.1 200 OK\r\n\r\n");
	ERR("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n");
	ERR("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n");
	ERR("HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n");
	ERR("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n");
	ERR("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n");
	ERR("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
	ERR("HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n");
	ERR("HTTP/1.1 200 OK\r\n: empty name\r\n\r\n");
	ERR("HTTP/1.1 200 OK\r\nBad\rHeader: x\r\n\r\n");
	ERR("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab");
	ERR("HTTP/1.1 204 No Content\r\n\r\nx");
	ERR("HTTP/1.1 200 OK\r\nX\x01Y: 1\r\n\r\n");
}

static void test_limits(void **state)
{
	struct hresp h;
	char *big = malloc(HRESP_MAX_HEADER + 100);
	int st = HRESP_MORE;

	assert_non_null(big);
	memset(big, 'a', HRESP_MAX_HEADER + 100);
	hresp_init(&h);
	for (size_t i = 0; i < HRESP_MAX_HEADER + 100 && st == HRESP_MORE; i += 1000)
		st = hresp_feed(&h, big, 1000);
	assert_int_equal(st, HRESP_ERROR);
	hresp_free(&h);

	hresp_init(&h);
	assert_int_equal(feed_all(&h, "HTTP/1.1 200 OK\r\n\r\n", 19), HRESP_MORE);
	st = HRESP_MORE;
	for (size_t i = 0; i < (size_t)HRESP_MAX_BODY + 5000 && st == HRESP_MORE; i += 1000)
		st = hresp_feed(&h, big, 1000);
	assert_int_equal(st, HRESP_ERROR);
	hresp_free(&h);
	free(big);
}

static void test_random_bytes(void **state)
{
	uint64_t s = 7;
	char buf[512];

	for (int round = 0; round < 20000; round++) {
		struct hresp h;
		size_t n;
		int st;

		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		n = (s >> 40) % sizeof(buf);
		/* half the time start from a valid prefix, then noise from a small alphabet */
		for (size_t i = 0; i < n; i++) {
			s = s * 6364136223846793005ULL + 1442695040888963407ULL;
			buf[i] = "HTTP/1. 0123456789\r\n:Content-Length keep-alive close\x00\xff"
			    [(s >> 33) % 54];
		}
		if (round & 1 && n > 17)
			memcpy(buf, "HTTP/1.1 200 OK\r\n", 17);
		hresp_init(&h);
		st = hresp_feed(&h, buf, n / 2);
		if (st == HRESP_MORE)
			st = hresp_feed(&h, buf + n / 2, n - n / 2);
		if (st == HRESP_MORE)
			st = hresp_eof(&h);
		if (st == HRESP_DONE) {
			size_t bl;

			hresp_body(&h, &bl);
			assert_true(bl <= n);
			assert_true(h.status >= 200 && h.status <= 599);
		}
		hresp_free(&h);
	}
}

static void test_url(void **state)
{
	char host[64], prefix[64];
	int port;

	assert_int_equal(
	    hurl_parse("http://127.0.0.1:8080", host, sizeof(host), &port, prefix, sizeof(prefix)),
	    0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 8080);
	assert_string_equal(prefix, "");
	assert_int_equal(hurl_parse("HTTP://example.org/api/", host, sizeof(host), &port, prefix,
	                            sizeof(prefix)),
	                 0);
	assert_string_equal(host, "example.org");
	assert_int_equal(port, 80);
	assert_string_equal(prefix, "/api");
	assert_int_equal(
	    hurl_parse("http://[::1]:9/", host, sizeof(host), &port, prefix, sizeof(prefix)), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 9);
	/* refused: -1 */
	static const char *const bad[] = {
	    "https://x",    "http://",   "http://x:0",  "http://x:65536",
	    "http://x:80a", "http://x:", "http://x/?q", "http://[::1"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		    hurl_parse(bad[i], host, sizeof(host), &port, prefix, sizeof(prefix)), -1);
	assert_int_equal(
	    hurl_parse("http://aaaaaaaaaaaaaaaa", host, 8, &port, prefix, sizeof(prefix)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_whole_and_split),  cmocka_unit_test(test_byte_by_byte_and_reset),
	    cmocka_unit_test(test_keep_alive_rules), cmocka_unit_test(test_body_until_close),
	    cmocka_unit_test(test_malformed),        cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_random_bytes),     cmocka_unit_test(test_url),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
