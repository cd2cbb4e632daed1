/* test_comm_wsguard.c - unit tests of comm-svc/wsguard: unmasked client
 * frames noticed in the bytes lws reads (across reads of any size, with
 * 7-, 16- and 64-bit lengths), frames sent before the 101, keep-alive
 * requests before the upgrade. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "wsguard.h"

static const char UPGRADE[] = "GET /communication HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
			      "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n";

/* A frame with payload length n (filled with '\r\n' to tempt the header
 * matcher); masked or not. Returns its size. */
static size_t frame(unsigned char *out, int opcode, size_t n, int masked)
{
	size_t k = 0;

	out[k++] = (unsigned char)(0x80 | opcode);
	if (n < 126) {
		out[k++] = (unsigned char)((masked ? 0x80 : 0) | n);
	} else if (n < 65536) {
		out[k++] = (unsigned char)((masked ? 0x80 : 0) | 126);
		out[k++] = (unsigned char)(n >> 8);
		out[k++] = (unsigned char)n;
	} else {
		out[k++] = (unsigned char)((masked ? 0x80 : 0) | 127);
		for (int i = 7; i >= 0; i--)
			out[k++] = (unsigned char)((uint64_t)n >> (8 * i));
	}
	if (masked)
		for (int i = 0; i < 4; i++)
			out[k++] = (unsigned char)(0x11 * (i + 1));
	for (size_t i = 0; i < n; i++)
		out[k++] = i % 2 ? '\n' : '\r';
	return k;
}

static unsigned char buf[200000];

/* Feeds p in pieces of step bytes; the number of violations reported. */
static int feed(struct wsg *g, const unsigned char *p, size_t n, size_t step)
{
	int v = 0;

	for (size_t i = 0; i < n; i += step)
		v += wsg_feed(g, p + i, n - i < step ? n - i : step);
	return v;
}

static void test_masked_frames_pass_unmasked_caught(void **state)
{
	static const size_t steps[] = {1, 3, 7, 4096, 200000};

	(void)state;
	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		struct wsg g;
		size_t k = 0;

		wsg_reset(&g);
		assert_int_equal(
		    feed(&g, (const unsigned char *)UPGRADE, strlen(UPGRADE), steps[s]), 0);
		assert_int_equal(wsg_start_ws(&g), 0);
		k += frame(buf + k, 1, 5, 1);
		k += frame(buf + k, 1, 0, 1);
		k += frame(buf + k, 9, 125, 1);
		k += frame(buf + k, 1, 300, 1);
		k += frame(buf + k, 2, 70000, 1);
		k += frame(buf + k, 10, 1, 1);
		assert_int_equal(feed(&g, buf, k, steps[s]), 0);
		k = frame(buf, 10, 1, 0); /* a 1-byte pong, unmasked */
		k += frame(buf + k, 1, 5, 0);
		assert_int_equal(feed(&g, buf, k, steps[s]), 1); /* reported once */
		assert_int_equal(feed(&g, buf, k, steps[s]), 0);
	}
}

static void test_before_the_handshake_answer(void **state)
{
	struct wsg g;
	size_t k;

	(void)state;
	/* keep-alive requests first, then the upgrade: fine */
	wsg_reset(&g);
	assert_int_equal(
	    wsg_feed(&g, (const unsigned char *)"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 34), 0);
	assert_int_equal(wsg_feed(&g, (const unsigned char *)UPGRADE, strlen(UPGRADE)), 0);
	assert_int_equal(wsg_start_ws(&g), 0);
	/* a masked frame in the same read as the upgrade (sent before the
	 * client read the 101, a race a busy client loses): served, and the
	 * frames after it are still checked */
	for (size_t step = 1; step <= 4096; step *= 4) {
		wsg_reset(&g);
		memcpy(buf, UPGRADE, strlen(UPGRADE));
		k = strlen(UPGRADE) + frame(buf + strlen(UPGRADE), 1, 4, 1);
		k += frame(buf + k, 1, 300, 1);
		assert_int_equal(feed(&g, buf, k, step), 0);
		assert_int_equal(wsg_start_ws(&g), 0);
		k = frame(buf, 1, 5, 1);
		assert_int_equal(feed(&g, buf, k, step), 0);
		k = frame(buf, 1, 5, 0);
		assert_int_equal(feed(&g, buf, k, step), 1);
	}
	/* an unmasked frame sent early: seen at once, and said again when the
	 * connection becomes a websocket (only then can it be closed) */
	wsg_reset(&g);
	memcpy(buf, UPGRADE, strlen(UPGRADE));
	k = strlen(UPGRADE) + frame(buf + strlen(UPGRADE), 1, 4, 0);
	assert_int_equal(wsg_feed(&g, buf, k), 1);
	assert_int_equal(wsg_start_ws(&g), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_masked_frames_pass_unmasked_caught),
	    cmocka_unit_test(test_before_the_handshake_answer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
