/* http_req.c - a request of lib/http.c: made from the headers lws parsed
 * (method, path, query, the raw path nginx passes on), reference counted,
 * and what a handler reads of it (http.h). */
#include "http_int.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	enum lws_token_indexes tok;
	const char *name;
} methods[] = {
    {WSI_TOKEN_GET_URI, "GET"},     {WSI_TOKEN_POST_URI, "POST"},
    {WSI_TOKEN_PUT_URI, "PUT"},     {WSI_TOKEN_DELETE_URI, "DELETE"},
    {WSI_TOKEN_PATCH_URI, "PATCH"}, {WSI_TOKEN_OPTIONS_URI, "OPTIONS"},
    {WSI_TOKEN_HEAD_URI, "HEAD"},
};

/* Finished requests kept for the next ones, with their body and reply
 * buffers (the loop's thread only): a request is ~2.2 KiB, above malloc's
 * per-thread cache, so every new one went into malloc's bins, and its body
 * and reply were two more blocks. */
#define REQ_POOL_MAX (64 * HTTP_KEEP_FREED)
/* larger buffers (a big body, a /metrics reply) are not kept */
#define REQ_POOL_BUF_MAX 4096

static struct http_req *req_pool[REQ_POOL_MAX + 1];
static int req_pool_n;

static void req_free(struct http_req *req)
{
	free(req->body);
	free(req->reply_buf);
	free(req);
}

void http_req_pool_drain(void)
{
	while (req_pool_n > 0)
		req_free(req_pool[--req_pool_n]);
}

static void req_closed_cb(uv_handle_t *h)
{
	struct http_req *req = h->data;

	if (req_pool_n >= REQ_POOL_MAX) {
		req_free(req);
		return;
	}
	if (req->body_cap > REQ_POOL_BUF_MAX) {
		free(req->body);
		req->body = NULL;
		req->body_cap = 0;
	}
	if (req->reply_cap > REPLY_HEADROOM + REQ_POOL_BUF_MAX) {
		free(req->reply_buf);
		req->reply_buf = NULL;
		req->reply_cap = 0;
	}
	req_pool[req_pool_n++] = req;
}

/* A pooled request (its buffers kept, the rest to be set) or a new one. */
static struct http_req *req_alloc(void)
{
	struct http_req *req;
	char *body;
	size_t body_cap, reply_cap;
	unsigned char *reply_buf;

	if (!req_pool_n) {
		req = malloc(sizeof(*req));
		if (req)
			memset(req, 0, offsetof(struct http_req, path));
		return req;
	}
	req = req_pool[--req_pool_n];
	body = req->body;
	body_cap = req->body_cap;
	reply_buf = req->reply_buf;
	reply_cap = req->reply_cap;
	memset(req, 0, offsetof(struct http_req, path));
	req->body = body;
	req->body_cap = body_cap;
	req->reply_buf = reply_buf;
	req->reply_cap = reply_cap;
	if (body)
		body[0] = 0;
	return req;
}

void http_req_hold(struct http_req *req)
{
	req->refs++;
}

void http_req_release(struct http_req *req)
{
	if (--req->refs == 0)
		uv_close((uv_handle_t *)&req->timer, req_closed_cb);
}

void http_req_done(struct http_req *req)
{
	if (req->server_done)
		return;
	req->server_done = 1;
	http_req_release(req);
}

void *http_req_app(const struct http_req *req)
{
	return req->srv->o.app;
}
const char *http_req_method(const struct http_req *req)
{
	return req->method;
}
const char *http_req_path(const struct http_req *req)
{
	return req->path;
}
int http_req_replied(const struct http_req *req)
{
	return req->replied;
}

const char *http_req_body(const struct http_req *req, size_t *len)
{
	*len = req->body_len;
	return req->body ? req->body : "";
}

int http_req_query(const struct http_req *req, const char *name, char *buf, size_t len)
{
	size_t nlen = strlen(name);
	const char *p = req->query, *end = req->query + req->query_len;

	for (; p < end; p += strlen(p) + 1) {
		size_t seg = strlen(p);

		if (seg > nlen && !strncmp(p, name, nlen) && p[nlen] == '=') {
			size_t vlen = seg - nlen - 1;

			if (vlen >= len)
				return -1;
			memcpy(buf, p + nlen + 1, vlen);
			buf[vlen] = 0;
			return (int)vlen;
		}
	}
	return -1;
}

const char *http_req_raw_path(const struct http_req *req)
{
	return req->raw_path[0] ? req->raw_path : NULL;
}

struct http_req *http_req_new(struct http_server *srv, struct lws *wsi, const char *uri)
{
	/* path, query and raw_path are written below: zeroing their 2 KiB for
	 * every request would cost more than the rest of this */
	struct http_req *req = req_alloc();
	int qtotal;

	if (!req)
		return NULL;
	req->query[0] = 0;
	req->srv = srv;
	req->wsi = wsi;
	req->refs = 1;
	req->method = "?";
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (lws_hdr_total_length(wsi, methods[i].tok) > 0) {
			req->method = methods[i].name;
			break;
		}
	{
		/* what snprintf "%s" wrote, without printf: cut to fit */
		const char *u = uri ? uri : "/";
		size_t n = strnlen(u, sizeof(req->path) - 1);

		memcpy(req->path, u, n);
		req->path[n] = 0;
	}
	qtotal = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS);
	if (qtotal > HTTP_QUERY_MAX) {
		/* refused (414) rather than cut short */
		req->query_too_long = 1;
	} else if (qtotal > 0) {
		/* every fragment, also empty ones: they need qtotal + 1 bytes
		 * (lws counts one '&' between two) */
		size_t n = 0;
		int len;

		for (int frag = 0; n < sizeof(req->query) &&
		                   (len = lws_hdr_copy_fragment(
					wsi, req->query + n, (int)(sizeof(req->query) - n),
					WSI_TOKEN_HTTP_URI_ARGS, frag)) >= 0;
		     frag++)
			n += (size_t)len + 1;
		req->query_len = n;
	}
	{
		/* nginx passes the URI as the client sent it (not decoded, not
		 * normalised), for paths that carry data (rating-svc's car numbers) */
		static const char hname[] = "x-original-uri:";
		int rl = lws_hdr_custom_length(wsi, hname, (int)sizeof(hname) - 1);

		if (rl > 0 && rl < (int)sizeof(req->raw_path) &&
		    lws_hdr_custom_copy(wsi, req->raw_path, (int)sizeof(req->raw_path), hname,
		                        (int)sizeof(hname) - 1) > 0) {
			char *q = strchr(req->raw_path, '?');

			if (q)
				*q = 0;
		} else
			req->raw_path[0] = 0;
	}
	uv_timer_init(srv->loop, &req->timer);
	req->timer.data = req;
	/* the body's deadline; dispatch restarts it as the store's */
	uv_timer_start(&req->timer, http_req_timeout_cb, (uint64_t)srv->o.body_timeout_ms, 0);
	srv->stats.requests++;
	return req;
}
