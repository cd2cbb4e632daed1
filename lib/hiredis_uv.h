/* hiredis_uv.h - hiredis' libuv adapter, fixed and batched.
 *
 * Fixed: the copy shipped with hiredis 0.14.1 (Debian 12) returns early from
 * its poll callback when libuv reports an error status, so a refused
 * connection never reaches the connect callback, a Redis that dies gives no
 * disconnect callback and pending replies never fire. As upstream did in
 * hiredis 1.0, an error status is treated as readable + writable so that
 * hiredis itself sees the error on its next read/write. Attach also frees
 * its state when uv_poll_init fails.
 *
 * Batched: hiredis asks for write interest after every command it queues and
 * drops it once its buffer is written. With a uv_poll that costs an
 * epoll_ctl or two per command (libuv 1.44's uv_poll_start takes the
 * descriptor out of epoll and adds it back at the next poll, even when the
 * events do not change) and a write per command. Here the adapter keeps its
 * own record of what hiredis asked for and touches the poll handle only when
 * the events it must watch change. Once connected, write interest only
 * starts a uv_idle handle: every command queued since the last flush leaves
 * in one write at the next loop turn, before the loop waits (an active idle
 * handle also makes that wait zero, so a command queued late in a turn is
 * never left behind a blocking poll). The poll handle watches writable only
 * while connecting and while a write was left incomplete (the socket buffer
 * is full): then hiredis writes the rest when the kernel can take it.
 *
 * Include this instead of <hiredis/adapters/libuv.h>. */
#ifndef RS_LIB_HIREDIS_UV_H
#define RS_LIB_HIREDIS_UV_H

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

typedef struct rs_uv_events {
	redisAsyncContext *context; /* NULL once hiredis is freeing it */
	uv_poll_t handle;
	uv_idle_t flush;
	int reading, writing; /* what hiredis asked for */
	int blocked;          /* the last write was incomplete: wait for writable */
	int watching;         /* what the poll handle watches now */
	int open_handles;     /* the state is freed once both are closed */
} rs_uv_events;

static void rs_uv_poll(uv_poll_t *handle, int status, int events);

static int rs_uv_connected(const rs_uv_events *p)
{
	return p->context && (p->context->c.flags & REDIS_CONNECTED);
}

/* Watches what is needed now; no libuv call when that did not change. */
static void rs_uv_watch(rs_uv_events *p)
{
	int ev = 0;

	if (!p->context)
		return;
	if (p->reading)
		ev |= UV_READABLE;
	if (p->writing && (p->blocked || !rs_uv_connected(p)))
		ev |= UV_WRITABLE;
	if (ev == p->watching)
		return;
	p->watching = ev;
	if (ev)
		uv_poll_start(&p->handle, ev, rs_uv_poll);
	else
		uv_poll_stop(&p->handle);
}

/* Lets hiredis write; if it still wants to write afterwards, its buffer did
 * not empty: the socket is full. */
static void rs_uv_write(rs_uv_events *p)
{
	redisAsyncHandleWrite(p->context);
	if (!p->context)
		return; /* freed meanwhile (a write error) */
	p->blocked = p->writing;
	rs_uv_watch(p);
}

static void rs_uv_poll(uv_poll_t *handle, int status, int events)
{
	rs_uv_events *p = (rs_uv_events *)handle->data;
	int ev = status ? (UV_READABLE | UV_WRITABLE) : events;

	if (p->context != NULL && (ev & UV_READABLE))
		redisAsyncHandleRead(p->context);
	if (p->context != NULL && (ev & UV_WRITABLE) && (p->writing || status))
		rs_uv_write(p);
}

/* The next loop turn: one write for every command queued since. */
static void rs_uv_flush(uv_idle_t *h)
{
	rs_uv_events *p = (rs_uv_events *)h->data;

	uv_idle_stop(h);
	if (p->context != NULL && p->writing && !p->blocked)
		rs_uv_write(p);
}

/* hiredis' four event hooks: set or clear one wish, then act on it. */
static void rs_uv_set(void *privdata, int *wish, int on)
{
	rs_uv_events *p = (rs_uv_events *)privdata;

	*wish = on;
	if (wish == &p->writing && on && rs_uv_connected(p) && !p->blocked) {
		uv_idle_start(&p->flush, rs_uv_flush); /* a no-op when started */
		return;
	}
	if (wish == &p->writing && !on)
		p->blocked = 0;
	rs_uv_watch(p);
}

static void rs_uv_add_read(void *privdata)
{
	rs_uv_set(privdata, &((rs_uv_events *)privdata)->reading, 1);
}

static void rs_uv_del_read(void *privdata)
{
	rs_uv_set(privdata, &((rs_uv_events *)privdata)->reading, 0);
}

static void rs_uv_add_write(void *privdata)
{
	rs_uv_set(privdata, &((rs_uv_events *)privdata)->writing, 1);
}

static void rs_uv_del_write(void *privdata)
{
	rs_uv_set(privdata, &((rs_uv_events *)privdata)->writing, 0);
}

static void rs_uv_on_close(uv_handle_t *handle)
{
	rs_uv_events *p = (rs_uv_events *)handle->data;

	if (--p->open_handles == 0)
		free(p);
}

static void rs_uv_cleanup(void *privdata)
{
	rs_uv_events *p = (rs_uv_events *)privdata;

	p->context = NULL; /* the context is being freed */
	uv_close((uv_handle_t *)&p->handle, rs_uv_on_close);
	uv_close((uv_handle_t *)&p->flush, rs_uv_on_close);
}

static inline int rs_redis_uv_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
	rs_uv_events *p;

	if (ac->ev.data != NULL)
		return REDIS_ERR;
	p = (rs_uv_events *)calloc(1, sizeof(*p));
	if (!p)
		return REDIS_ERR;
	if (uv_poll_init(loop, &p->handle, ac->c.fd) != 0) {
		free(p);
		return REDIS_ERR;
	}
	uv_idle_init(loop, &p->flush);
	p->open_handles = 2;
	ac->ev.addRead = rs_uv_add_read;
	ac->ev.delRead = rs_uv_del_read;
	ac->ev.addWrite = rs_uv_add_write;
	ac->ev.delWrite = rs_uv_del_write;
	ac->ev.cleanup = rs_uv_cleanup;
	ac->ev.data = p;
	p->handle.data = p;
	p->flush.data = p;
	p->context = ac;
	return REDIS_OK;
}

#endif
