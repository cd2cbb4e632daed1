/* httpc.c - see httpc.h. Each connection owns a uv_tcp_t (opened on demand,
 * closed on error or when the server does not keep it alive) and a
 * uv_timer_t (for the request on it). The pool owns the connections, the
 * queue and the requests in it; a connection owns the request it carries. */
#include "httpc.h"

#include "http_parse.h"
#include "log.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { C_CLOSED, C_CONNECTING, C_IDLE, C_BUSY, C_CLOSING };

struct hc_req {
	struct hc_req *next;
	char *data; /* head + body, owned */
	size_t len;
	hc_done_fn cb;
	void *user;
	uint64_t t0_ns;
	int retried;
};

struct hc_conn {
	uv_tcp_t tcp;
	uv_connect_t connect;
	uv_write_t write;
	uv_timer_t timer;
	struct hc_pool *pool;
	int state;
	int reused;    /* carried a request before this one */
	int got_bytes; /* bytes of the current response arrived */
	struct hc_req *req;
	struct hresp resp;
};

struct hc_pool {
	uv_loop_t *loop;
	struct sockaddr_storage addr;
	char hostport[300];
	int timeout_ms;
	int nconns;
	struct hc_conn *conns; /* owned array */
	struct hc_req *qhead, *qtail;
	size_t queued, active;
	int closing;
	int open_handles; /* handles not yet closed, while closing */
};

static char rbuf[65536]; /* reads are handled at once: one buffer serves all */

static void pump(struct hc_pool *p);
static void conn_close(struct hc_conn *c);

static void req_done(struct hc_req *r, int status, const char *body, size_t len)
{
	r->cb(r->user, status, body, len, (uv_hrtime() - r->t0_ns) / 1000);
	free(r->data);
	free(r);
}

static void pool_maybe_free(struct hc_pool *p)
{
	if (p->closing && p->open_handles == 0) {
		for (int i = 0; i < p->nconns; i++)
			hresp_free(&p->conns[i].resp);
		free(p->conns);
		free(p);
	}
}

static void on_handle_closed(uv_handle_t *h)
{
	struct hc_conn *c = h->data;
	struct hc_pool *p = c->pool;

	if (p->closing) {
		p->open_handles--;
		pool_maybe_free(p);
		return;
	}
	c->state = C_CLOSED;
	pump(p);
}

/* Takes the request off the connection and completes it. */
static void conn_fail(struct hc_conn *c, const char *why)
{
	struct hc_req *r = c->req;

	c->req = NULL;
	uv_timer_stop(&c->timer);
	if (!r)
		return;
	c->pool->active--;
	log_debug("http: %s", why);
	req_done(r, 0, why, strlen(why));
}

static void conn_close(struct hc_conn *c)
{
	if (c->state == C_CLOSED || c->state == C_CLOSING)
		return;
	c->state = C_CLOSING;
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

static void on_timeout(uv_timer_t *t)
{
	struct hc_conn *c = t->data;

	conn_fail(c, "timeout");
	conn_close(c);
}

static void on_write(uv_write_t *w, int status)
{
	struct hc_conn *c = w->data;

	if (status < 0 && status != UV_ECANCELED && c->req) {
		conn_fail(c, "write failed");
		conn_close(c);
	}
}

static void start(struct hc_conn *c)
{
	uv_buf_t b = uv_buf_init(c->req->data, (unsigned)c->req->len);
	int rc;

	c->state = C_BUSY;
	c->got_bytes = 0;
	hresp_reset(&c->resp);
	uv_timer_start(&c->timer, on_timeout, (uint64_t)c->pool->timeout_ms, 0);
	rc = uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, on_write);
	if (rc < 0) {
		conn_fail(c, "write failed");
		conn_close(c);
	}
}

static void finish(struct hc_conn *c)
{
	struct hc_req *r = c->req;
	struct hc_pool *p = c->pool;
	size_t blen;
	const char *body = hresp_body(&c->resp, &blen);

	c->req = NULL;
	p->active--;
	uv_timer_stop(&c->timer);
	c->reused = 1;
	if (c->resp.keep_alive && !p->closing)
		c->state = C_IDLE;
	else
		conn_close(c);
	/* the body lives in c->resp until the next request on c starts, which
	 * cannot happen before pump() below... unless the callback posts: copy
	 * nothing, but keep c busy-looking during the call. */
	if (c->state == C_IDLE)
		c->state = C_BUSY;
	req_done(r, c->resp.status, body, blen);
	if (c->state == C_BUSY && !c->req)
		c->state = C_IDLE;
	pump(p);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	*buf = uv_buf_init(rbuf, sizeof(rbuf));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct hc_conn *c = s->data;
	int st;

	if (nread == 0)
		return;
	if (!c->req) {
		/* idle: the server closed it, or sent bytes nobody asked for */
		conn_close(c);
		return;
	}
	if (nread < 0) {
		if (nread == UV_EOF && hresp_eof(&c->resp) == HRESP_DONE) {
			c->resp.keep_alive = 0;
			finish(c);
			return;
		}
		if (c->reused && !c->got_bytes && !c->req->retried) {
			/* a kept-alive connection the server had closed: once more */
			struct hc_req *r = c->req;

			c->req = NULL;
			c->pool->active--;
			r->retried = 1;
			r->next = c->pool->qhead;
			c->pool->qhead = r;
			if (!c->pool->qtail)
				c->pool->qtail = r;
			c->pool->queued++;
			conn_close(c);
			return;
		}
		conn_fail(c, nread == UV_EOF ? "connection closed before the response"
		                             : "read failed");
		conn_close(c);
		return;
	}
	c->got_bytes = 1;
	st = hresp_feed(&c->resp, buf->base, (size_t)nread);
	if (st == HRESP_DONE) {
		finish(c);
	} else if (st == HRESP_ERROR) {
		conn_fail(c, c->resp.error ? c->resp.error : "bad response");
		conn_close(c);
	}
}

static void on_connect(uv_connect_t *cr, int status)
{
	struct hc_conn *c = cr->data;

	if (c->state != C_CONNECTING)
		return; /* closed meanwhile (pool closing) */
	if (status < 0) {
		conn_fail(c, "connect failed");
		conn_close(c);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) {
		conn_fail(c, "read failed");
		conn_close(c);
		return;
	}
	start(c);
}

static int conn_open(struct hc_conn *c)
{
	int rc;

	uv_tcp_init(c->pool->loop, &c->tcp);
	c->tcp.data = c;
	c->connect.data = c;
	c->state = C_CONNECTING;
	c->reused = 0;
	rc = uv_tcp_connect(&c->connect, &c->tcp, (const struct sockaddr *)&c->pool->addr,
	                    on_connect);
	if (rc < 0) {
		conn_fail(c, "connect failed");
		conn_close(c);
		return -1;
	}
	return 0;
}

static struct hc_req *dequeue(struct hc_pool *p)
{
	struct hc_req *r = p->qhead;

	if (r) {
		p->qhead = r->next;
		if (!p->qhead)
			p->qtail = NULL;
		r->next = NULL;
		p->queued--;
		p->active++;
	}
	return r;
}

static void pump(struct hc_pool *p)
{
	if (p->closing)
		return;
	for (int i = 0; i < p->nconns && p->qhead; i++) {
		struct hc_conn *c = &p->conns[i];

		if (c->state == C_IDLE) {
			c->req = dequeue(p);
			start(c);
		}
	}
	for (int i = 0; i < p->nconns && p->qhead; i++) {
		struct hc_conn *c = &p->conns[i];

		if (c->state == C_CLOSED) {
			c->req = dequeue(p);
			conn_open(c); /* on failure the request is completed and c closes */
		}
	}
}

struct hc_pool *hc_new(uv_loop_t *loop, const char *host, int port, int nconns, int timeout_ms)
{
	struct hc_pool *p;
	uv_getaddrinfo_t gai;
	struct addrinfo hints;
	char portstr[16];
	int rc;

	if (nconns < 1)
		nconns = 1;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->conns = calloc((size_t)nconns, sizeof(*p->conns));
	if (!p->conns) {
		free(p);
		return NULL;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%d", port);
	/* no callback: synchronous, before the loop runs */
	rc = uv_getaddrinfo(loop, &gai, NULL, host, portstr, &hints);
	if (rc < 0 || !gai.addrinfo) {
		log_error("http: cannot resolve %s: %s", host, uv_strerror(rc));
		free(p->conns);
		free(p);
		return NULL;
	}
	memcpy(&p->addr, gai.addrinfo->ai_addr, gai.addrinfo->ai_addrlen);
	uv_freeaddrinfo(gai.addrinfo);
	snprintf(p->hostport, sizeof(p->hostport), strchr(host, ':') ? "[%s]:%d" : "%s:%d", host,
	         port);
	p->loop = loop;
	p->nconns = nconns;
	p->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
	for (int i = 0; i < nconns; i++) {
		struct hc_conn *c = &p->conns[i];

		c->pool = p;
		c->state = C_CLOSED;
		c->write.data = c;
		hresp_init(&c->resp);
		uv_timer_init(loop, &c->timer);
		c->timer.data = c;
	}
	return p;
}

int hc_post(struct hc_pool *p, const char *path, const char *body, size_t len, hc_done_fn cb,
            void *user)
{
	struct hc_req *r;
	int n;

	if (p->closing)
		return -1;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -1;
	n = snprintf(NULL, 0,
	             "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
	             "Content-Length: %zu\r\n\r\n",
	             path, p->hostport, len);
	r->data = malloc((size_t)n + len + 1);
	if (n < 0 || !r->data) {
		free(r->data);
		free(r);
		return -1;
	}
	snprintf(r->data, (size_t)n + 1,
	         "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
	         "Content-Length: %zu\r\n\r\n",
	         path, p->hostport, len);
	memcpy(r->data + n, body, len);
	r->len = (size_t)n + len;
	r->cb = cb;
	r->user = user;
	r->t0_ns = uv_hrtime();
	if (p->qtail)
		p->qtail->next = r;
	else
		p->qhead = r;
	p->qtail = r;
	p->queued++;
	pump(p);
	return 0;
}

size_t hc_inflight(const struct hc_pool *p)
{
	return p->queued + p->active;
}

void hc_close(struct hc_pool *p)
{
	struct hc_req *r;

	if (p->closing)
		return;
	p->closing = 1;
	while ((r = p->qhead)) {
		p->qhead = r->next;
		req_done(r, -1, "closed", 6);
	}
	p->qtail = NULL;
	p->queued = 0;
	for (int i = 0; i < p->nconns; i++) {
		struct hc_conn *c = &p->conns[i];

		if (c->req) {
			r = c->req;
			c->req = NULL;
			req_done(r, -1, "closed", 6);
		}
		if (c->state != C_CLOSED && c->state != C_CLOSING) {
			p->open_handles++;
			uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
		} else if (c->state == C_CLOSING) {
			p->open_handles++; /* its close callback is still to come */
		}
		c->state = C_CLOSING;
		uv_timer_stop(&c->timer);
		p->open_handles++;
		c->timer.data = c;
		uv_close((uv_handle_t *)&c->timer, on_handle_closed);
	}
	p->active = 0;
	pool_maybe_free(p);
}
