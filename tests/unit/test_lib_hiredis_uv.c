/* test_lib_hiredis_uv.c - the hiredis libuv adapter (lib/hiredis_uv.h)
 * against a small fake Redis on the same loop (127.0.0.1, an ephemeral
 * port): the commands queued in one loop turn leave in one write, replies
 * come back in order, a refused connection reaches the connect callback
 * and a server that goes away reaches the disconnect callback and every
 * pending callback (hiredis 0.14's own adapter misses both). Every test
 * runs its loop under a deadline timer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hiredis_uv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PING     "*1\r\n$4\r\nPING\r\n"
#define PING_LEN (sizeof(PING) - 1)

struct fake {
	uv_loop_t loop;
	uv_tcp_t server, peer;
	uv_timer_t deadline;
	int port;
	int peer_open;
	int close_after_bytes; /* > 0: close the connection once this much came */
	size_t bytes;          /* command bytes received */
	int reads;             /* reads that brought bytes */
	/* client side */
	redisAsyncContext *ac;
	int replies, in_order, nulls;
	int connected, connect_status, disconnected;
	int want;     /* stop the loop after this many replies */
	int timedout; /* the deadline fired */
};

static char rbuf[65536];

static void on_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
	(void)h;
	(void)sz;
	*b = uv_buf_init(rbuf, sizeof(rbuf));
}

static void on_written(uv_write_t *w, int status)
{
	(void)status;
	free(w->data);
	free(w);
}

static void on_peer_closed(uv_handle_t *h)
{
	struct fake *f = h->data;

	f->peer_open = 0;
}

/* Answers +PONG for every whole PING that has come. */
static void on_peer_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct fake *f = s->data;
	size_t before = f->bytes / PING_LEN, after, k;

	(void)b;
	if (n <= 0) {
		if (n < 0 && f->peer_open)
			uv_close((uv_handle_t *)s, on_peer_closed);
		return;
	}
	f->reads++;
	f->bytes += (size_t)n;
	if (f->close_after_bytes > 0 && f->bytes >= (size_t)f->close_after_bytes) {
		uv_close((uv_handle_t *)s, on_peer_closed);
		return;
	}
	after = f->bytes / PING_LEN;
	k = after - before;
	if (k) {
		uv_write_t *w = malloc(sizeof(*w));
		char *out = malloc(k * 7);
		uv_buf_t ob;

		assert_non_null(w);
		assert_non_null(out);
		for (size_t i = 0; i < k; i++)
			memcpy(out + i * 7, "+PONG\r\n", 7);
		w->data = out;
		ob = uv_buf_init(out, (unsigned)(k * 7));
		assert_int_equal(uv_write(w, s, &ob, 1, on_written), 0);
	}
}

static void on_conn(uv_stream_t *srv, int status)
{
	struct fake *f = srv->data;

	assert_int_equal(status, 0);
	assert_false(f->peer_open); /* one client per test */
	uv_tcp_init(&f->loop, &f->peer);
	f->peer.data = f;
	assert_int_equal(uv_accept(srv, (uv_stream_t *)&f->peer), 0);
	f->peer_open = 1;
	uv_read_start((uv_stream_t *)&f->peer, on_alloc, on_peer_read);
}

static void on_deadline(uv_timer_t *t)
{
	struct fake *f = t->data;

	f->timedout = 1;
	uv_stop(&f->loop);
}

static void fake_start(struct fake *f, int listen)
{
	struct sockaddr_in a;
	struct sockaddr_storage got;
	int len = sizeof(got);

	memset(f, 0, sizeof(*f));
	f->in_order = 1;
	assert_int_equal(uv_loop_init(&f->loop), 0);
	uv_tcp_init(&f->loop, &f->server);
	f->server.data = f;
	uv_ip4_addr("127.0.0.1", 0, &a);
	assert_int_equal(uv_tcp_bind(&f->server, (const struct sockaddr *)&a, 0), 0);
	assert_int_equal(uv_tcp_getsockname(&f->server, (struct sockaddr *)&got, &len), 0);
	f->port = ntohs(((struct sockaddr_in *)&got)->sin_port);
	if (listen)
		assert_int_equal(uv_listen((uv_stream_t *)&f->server, 16, on_conn), 0);
	uv_timer_init(&f->loop, &f->deadline);
	f->deadline.data = f;
	uv_timer_start(&f->deadline, on_deadline, 10000, 0);
}

static void close_cb(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void fake_stop(struct fake *f)
{
	if (f->ac) {
		redisAsyncFree(f->ac);
		f->ac = NULL;
	}
	uv_walk(&f->loop, close_cb, NULL);
	/* (a uv_stop from a callback above may end the first run early) */
	while (uv_loop_alive(&f->loop))
		uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct fake *f = ac->data;

	f->connected = 1;
	f->connect_status = status;
	if (status != REDIS_OK) {
		f->ac = NULL; /* hiredis frees it */
		uv_stop(&f->loop);
	}
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct fake *f = ac->data;

	(void)status;
	f->disconnected = 1;
	f->ac = NULL;
	uv_stop(&f->loop);
}

static void on_pong(redisAsyncContext *ac, void *reply, void *priv)
{
	struct fake *f = ac->data;
	redisReply *r = reply;

	if (!r) {
		f->nulls++;
		return;
	}
	if ((intptr_t)priv != f->replies || r->type != REDIS_REPLY_STATUS || strcmp(r->str, "PONG"))
		f->in_order = 0;
	if (++f->replies == f->want)
		uv_stop(&f->loop);
}

static redisAsyncContext *client(struct fake *f)
{
	redisAsyncContext *ac = redisAsyncConnect("127.0.0.1", f->port);

	assert_non_null(ac);
	assert_int_equal(ac->err, 0);
	ac->data = f;
	assert_int_equal(rs_redis_uv_attach(ac, &f->loop), REDIS_OK);
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	return ac;
}

static void send_pings(struct fake *f, int n)
{
	for (int i = 0; i < n; i++)
		assert_int_equal(
		    redisAsyncCommand(f->ac, on_pong, (void *)(intptr_t)(f->replies + i), "PING"),
		    REDIS_OK);
}

/* A first command connects; then 500 queued in one turn reach the server
 * in one write and are answered in order. */
static void one_turn_one_write(void **state)
{
	struct fake f;

	(void)state;
	fake_start(&f, 1);
	f.ac = client(&f);
	f.want = 1;
	send_pings(&f, 1);
	uv_run(&f.loop, UV_RUN_DEFAULT);
	assert_false(f.timedout);
	assert_true(f.connected);
	assert_int_equal(f.connect_status, REDIS_OK);
	assert_int_equal(f.replies, 1);

	f.reads = 0;
	f.want = 501;
	send_pings(&f, 500);
	uv_run(&f.loop, UV_RUN_DEFAULT);
	assert_false(f.timedout);
	assert_int_equal(f.replies, 501);
	assert_true(f.in_order);
	assert_int_equal(f.bytes, 501 * PING_LEN);
	assert_int_equal(f.reads, 1); /* 7 KB written at once, read at once */
	fake_stop(&f);
}

/* Nothing listens: the connect callback is called with an error. */
static void refused_connect_calls_back(void **state)
{
	struct fake f;

	(void)state;
	fake_start(&f, 0); /* bound, not listening: connections are refused */
	f.ac = client(&f);
	send_pings(&f, 3);
	uv_run(&f.loop, UV_RUN_DEFAULT);
	assert_false(f.timedout);
	assert_true(f.connected);
	assert_int_not_equal(f.connect_status, REDIS_OK);
	assert_int_equal(f.nulls, 3); /* the queued commands are answered NULL */
	fake_stop(&f);
}

/* The server closes with commands pending: every pending callback gets
 * NULL and the disconnect callback is called. */
static void server_gone_calls_back(void **state)
{
	struct fake f;

	(void)state;
	fake_start(&f, 1);
	f.close_after_bytes = (int)(3 * PING_LEN);
	f.ac = client(&f);
	send_pings(&f, 3);
	uv_run(&f.loop, UV_RUN_DEFAULT);
	assert_false(f.timedout);
	assert_true(f.disconnected);
	assert_int_equal(f.replies, 0);
	assert_int_equal(f.nulls, 3);
	fake_stop(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(one_turn_one_write),
	                                   cmocka_unit_test(refused_connect_calls_back),
	                                   cmocka_unit_test(server_gone_calls_back)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
