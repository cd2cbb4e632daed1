/* fuzz_http_parse.c - libFuzzer harness for the bot's HTTP response parser
 * and URL splitter (bot/http_parse.c). The first byte chooses how the rest
 * is cut into reads (1..64 bytes each, or all at once), so every split of a
 * response is tried; then the connection "closes" (hresp_eof), and the same
 * bytes go through the parser again after hresp_reset (the reuse path of a
 * keep-alive connection). A DONE response must have a status 200..599 and a
 * body inside the buffer that matches its Content-Length. The input is also
 * split as a URL into small buffers. Built and run by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_parse.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)

static void check_done(const struct hresp *h)
{
	size_t blen;
	const char *body = hresp_body(h, &blen);

	CHECK(h->status >= 200 && h->status <= 599);
	CHECK(h->hdr_len > 0 && h->hdr_len <= h->len);
	CHECK(blen <= HRESP_MAX_BODY);
	CHECK(blen == 0 || (body >= h->buf && body + blen <= h->buf + h->len));
	if (h->content_length >= 0)
		CHECK((long long)blen == h->content_length);
}

static void run(struct hresp *h, const uint8_t *data, size_t size, size_t step)
{
	int st = HRESP_MORE;

	for (size_t off = 0; off < size && st == HRESP_MORE; off += step) {
		size_t n = size - off < step ? size - off : step;

		st = hresp_feed(h, (const char *)data + off, n);
		CHECK(st == HRESP_MORE || st == HRESP_DONE || st == HRESP_ERROR);
		CHECK(h->len <= HRESP_MAX_HEADER + HRESP_MAX_BODY + 1);
	}
	if (st == HRESP_MORE)
		st = hresp_eof(h);
	if (st == HRESP_DONE)
		check_done(h);
	else
		CHECK(st == HRESP_ERROR && h->error);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hresp h;
	size_t step;
	char host[16], prefix[16], *url;
	int port = -1;

	if (!size)
		return 0;
	step = data[0] % 65;
	data++, size--;
	if (!step)
		step = size ? size : 1;
	hresp_init(&h);
	run(&h, data, size, step);
	hresp_reset(&h);
	run(&h, data, size, step);
	hresp_free(&h);

	url = malloc(size + 1);
	if (!url)
		return 0;
	memcpy(url, data, size);
	url[size] = 0;
	if (hurl_parse(url, host, sizeof(host), &port, prefix, sizeof(prefix)) == 0) {
		CHECK(strnlen(host, sizeof(host)) < sizeof(host) && host[0]);
		CHECK(strnlen(prefix, sizeof(prefix)) < sizeof(prefix));
		CHECK(port > 0 && port <= 65535);
	}
	free(url);
	return 0;
}
