/* hiredis_uv.h - hiredis' libuv adapter, fixed.
 *
 * The copy shipped with hiredis 0.14.1 (Debian 12) returns early from its poll
 * callback when libuv reports an error status, so a refused connection never
 * reaches the connect callback, a Redis that dies gives no disconnect callback
 * and pending replies never fire. As upstream did in hiredis 1.0, an error
 * status is treated as readable + writable so that hiredis itself sees the
 * error on its next read/write. Attach also frees its state when uv_poll_init
 * fails. Include this instead of <hiredis/adapters/libuv.h>. */
#ifndef RS_LIB_HIREDIS_UV_H
#define RS_LIB_HIREDIS_UV_H

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

typedef struct rs_uv_events {
	redisAsyncContext *context;
	uv_poll_t handle;
	int events;
} rs_uv_events;

static void rs_uv_poll(uv_poll_t *handle, int status, int events)
{
	rs_uv_events *p = (rs_uv_events *)handle->data;
	int ev = status ? p->events : events;

	if (p->context != NULL && (ev & UV_READABLE))
		redisAsyncHandleRead(p->context);
	if (p->context != NULL && (ev & UV_WRITABLE))
		redisAsyncHandleWrite(p->context);
}

static void rs_uv_update(rs_uv_events *p)
{
	if (p->events)
		uv_poll_start(&p->handle, p->events, rs_uv_poll);
	else
		uv_poll_stop(&p->handle);
}

static void rs_uv_add_read(void *privdata)
{
	rs_uv_events *p = (rs_uv_events *)privdata;
	p->events |= UV_READABLE;
	rs_uv_update(p);
}

static void rs_uv_del_read(void *privdata)
{
	rs_uv_events *p = (rs_uv_events *)privdata;
	p->events &= ~UV_READABLE;
	rs_uv_update(p);
}

static void rs_uv_add_write(void *privdata)
{
	rs_uv_events *p = (rs_uv_events *)privdata;
	p->events |= UV_WRITABLE;
	rs_uv_update(p);
}

static void rs_uv_del_write(void *privdata)
{
	rs_uv_events *p = (rs_uv_events *)privdata;
	p->events &= ~UV_WRITABLE;
	rs_uv_update(p);
}

static void rs_uv_on_close(uv_handle_t *handle)
{
	free(handle->data);
}

static void rs_uv_cleanup(void *privdata)
{
	rs_uv_events *p = (rs_uv_events *)privdata;
	p->context = NULL; /* the context is being freed */
	uv_close((uv_handle_t *)&p->handle, rs_uv_on_close);
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
	ac->ev.addRead = rs_uv_add_read;
	ac->ev.delRead = rs_uv_del_read;
	ac->ev.addWrite = rs_uv_add_write;
	ac->ev.delWrite = rs_uv_del_write;
	ac->ev.cleanup = rs_uv_cleanup;
	ac->ev.data = p;
	p->handle.data = p;
	p->context = ac;
	return REDIS_OK;
}

#endif
