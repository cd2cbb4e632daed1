/* test_bench_wscframe.c - bench/lib/wscframe: a client frame unmasks to its
 * payload (7-bit and 16-bit lengths, too long refused); the server's frames
 * are read the same however the stream is cut (every cut, byte at a time),
 * with 7-, 16- and 64-bit lengths, a fragmented message with a ping
 * between its frames (the ping's payload handed over, the message's
 * continuation still text), a masked server frame refused, and reading
 * stopped when frame_end asks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wscframe.h"

/* what the reader reported */
struct seen {
	unsigned char text[80000];
	size_t tlen;
	int frames, msgs, pings, closes, stop_at_close;
	unsigned char ping[125];
	size_t ping_len;
};

static void on_payload(void *priv, const unsigned char *p, size_t len)
{
	struct seen *s = priv;

	assert_true(s->tlen + len <= sizeof(s->text));
	memcpy(s->text + s->tlen, p, len);
	s->tlen += len;
}

static int on_frame_end(void *priv, int op, int fin, const unsigned char *ctl, size_t ctl_len)
{
	struct seen *s = priv;

	s->frames++;
	if (op == 9) {
		s->pings++;
		memcpy(s->ping, ctl, ctl_len);
		s->ping_len = ctl_len;
	} else if (op == 8) {
		s->closes++;
		return s->stop_at_close;
	} else if (fin) {
		s->msgs++;
	}
	return 0;
}

static const struct wscframe_ops ops = {.payload = on_payload, .frame_end = on_frame_end};

/* a server frame (unmasked) */
static size_t server_frame(unsigned char *out, int fin, int op, const void *data, size_t len)
{
	size_t h = 2;

	out[0] = (unsigned char)((fin ? 0x80 : 0) | op);
	if (len < 126) {
		out[1] = (unsigned char)len;
	} else if (len < 65536) {
		out[1] = 126;
		out[2] = (unsigned char)(len >> 8);
		out[3] = (unsigned char)len;
		h = 4;
	} else {
		out[1] = 127;
		for (int i = 0; i < 8; i++)
			out[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
		h = 10;
	}
	memcpy(out + h, data, len);
	return h + len;
}

static void test_write_unmasks_to_payload(void **state)
{
	unsigned char out[400 + WSCFRAME_HDR_OUT], data[400];

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7);
	for (size_t len = 0; len <= sizeof(data); len += 100) {
		size_t n = wscframe_write(out, 1, data, len), hl = len < 126 ? 6 : 8;

		assert_int_equal(n, hl + len);
		assert_int_equal(out[0], 0x81);
		assert_true(out[1] & 0x80); /* masked */
		if (len < 126)
			assert_int_equal(out[1] & 0x7f, len);
		else
			assert_int_equal((size_t)(out[2] << 8 | out[3]), len);
		for (size_t i = 0; i < len; i++)
			assert_int_equal(out[hl + i] ^ out[hl - 4 + (i & 3)], data[i]);
	}
	assert_int_equal(wscframe_write(out, 1, data, WSCFRAME_OUT_MAX + 1), 0);
}

/* text "hello " + ping "p!" + continuation "world" (fin), then a 300-byte
 * and a 70000-byte message */
static size_t stream(unsigned char *out, unsigned char *big)
{
	size_t n = 0;

	n += server_frame(out + n, 0, 1, "hello ", 6);
	n += server_frame(out + n, 1, 9, "p!", 2);
	n += server_frame(out + n, 1, 0, "world", 5);
	memset(big, 'a', 300);
	n += server_frame(out + n, 1, 1, big, 300);
	memset(big, 'b', 70000);
	n += server_frame(out + n, 1, 1, big, 70000);
	return n;
}

static void check(const struct seen *s)
{
	assert_int_equal(s->tlen, 11 + 300 + 70000);
	assert_memory_equal(s->text, "hello world", 11);
	assert_int_equal(s->text[11], 'a');
	assert_int_equal(s->text[11 + 299], 'a');
	assert_int_equal(s->text[11 + 300], 'b');
	assert_int_equal(s->text[s->tlen - 1], 'b');
	assert_int_equal(s->frames, 5);
	assert_int_equal(s->msgs, 3);
	assert_int_equal(s->pings, 1);
	assert_int_equal(s->ping_len, 2);
	assert_memory_equal(s->ping, "p!", 2);
}

static void test_read_every_cut(void **state)
{
	static unsigned char buf[71000], big[70000];
	static struct seen s;
	size_t n = stream(buf, big);

	(void)state;
	/* every cut in the first 400 bytes (every header but the last, with
	 * the first bytes of its payload) and in the last 20 */
	for (size_t cut = 0; cut <= n; cut = cut < 400      ? cut + 1
	                                     : cut < n - 20 ? n - 20
	                                                    : cut + 1) {
		struct wscframe_in in = {0};

		memset(&s, 0, sizeof(s));
		assert_int_equal(wscframe_read(&in, buf, cut, &ops, &s), 0);
		assert_int_equal(wscframe_read(&in, buf + cut, n - cut, &ops, &s), 0);
		check(&s);
	}
}

static void test_read_byte_at_a_time(void **state)
{
	static unsigned char buf[71000], big[70000];
	static struct seen s;
	struct wscframe_in in = {0};
	size_t n = stream(buf, big);

	(void)state;
	memset(&s, 0, sizeof(s));
	for (size_t i = 0; i < n; i++)
		assert_int_equal(wscframe_read(&in, buf + i, 1, &ops, &s), 0);
	check(&s);
}

static void test_masked_frame_refused(void **state)
{
	unsigned char f[16];
	struct wscframe_in in = {0};
	static struct seen s;

	(void)state;
	memset(&s, 0, sizeof(s));
	f[0] = 0x81;
	f[1] = 0x80 | 2;
	memset(f + 2, 0, 6);
	assert_int_equal(wscframe_read(&in, f, 8, &ops, &s), -1);
	assert_int_equal(s.frames, 0);
}

static void test_stop_at_close(void **state)
{
	unsigned char f[64];
	struct wscframe_in in = {0};
	static struct seen s;
	size_t n = 0;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.stop_at_close = 1;
	n += server_frame(f + n, 1, 8, "\x03\xe8", 2);
	n += server_frame(f + n, 1, 1, "after", 5);
	assert_int_equal(wscframe_read(&in, f, n, &ops, &s), 1);
	assert_int_equal(s.closes, 1);
	assert_int_equal(s.tlen, 0); /* nothing read past the close */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_write_unmasks_to_payload),
	    cmocka_unit_test(test_read_every_cut),
	    cmocka_unit_test(test_read_byte_at_a_time),
	    cmocka_unit_test(test_masked_frame_refused),
	    cmocka_unit_test(test_stop_at_close),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
