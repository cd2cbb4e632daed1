/* uvpoll.c - see uvpoll.h: libuv's uv_poll_start/uv_poll_stop/uv_close
 * wrapped so that lws' libuv event plugin stops costing an EPOLL_CTL_DEL
 * and an EPOLL_CTL_ADD per event change. The bookkeeping is lib/polltab.c.
 *
 * Why it is safe (libuv 1.44's uv_run: timers, pending, idle, prepare,
 * poll, check, closing handles):
 * - A change is deferred only for a handle libuv watches, and only to other
 *   events (a stop is done at once: uv_is_active stays exact); it is applied by
 *   uvpoll_before_poll, which lib/svc calls from a prepare callback, before
 *   the poll. A change made after that (by a prepare callback run later)
 *   and before the poll returns is applied at once: the window is open from
 *   uvpoll_before_poll until the first callback of a handle of this module
 *   or uvpoll_after_poll (a check callback), whichever comes first. So the
 *   loop never blocks without the events its owners asked for.
 * - Until a removal is applied libuv may still report the removed events;
 *   the owner never sees them (poll_cb masks with what it wants now).
 *   Additions are seen from the next poll on, as with libuv's own
 *   uv_poll_start (uv__io_start queues them for the next poll).
 * - libuv may stop a handle itself (POLLERR: the callback gets UV_EBADF);
 *   what counts as applied is then nothing (uv_is_active), so the next start
 *   reaches libuv.
 * - uv_close forgets the handle first; libuv's close stops it; a slot is
 *   never settled after its handle was closed, so a freed handle is never
 *   touched. Slots are found by descriptor and checked to hold the handle. */
#include "uvpoll.h"

#include "log.h"
#include "polltab.h"

#include <dlfcn.h>
#include <stdlib.h>

#define UVPOLL_EVENTS (UV_READABLE | UV_WRITABLE)

static int (*real_start)(uv_poll_t *, int, uv_poll_cb);
static int (*real_stop)(uv_poll_t *);
static void (*real_close)(uv_handle_t *, uv_close_cb);

static struct polltab tab;
static uv_loop_t *deferring; /* the loop whose changes are deferred */
static int window;           /* between uvpoll_before_poll and the poll's return */
static struct uvpoll_stats stats;

static void *real_fn(const char *name)
{
	void *fn = dlsym(RTLD_NEXT, name);

	if (!fn) {
		log_error("uvpoll: %s not found in libuv: %s", name, dlerror());
		abort();
	}
	return fn;
}

static void load_real(void)
{
	if (real_start)
		return;
	*(void **)&real_start = real_fn("uv_poll_start");
	*(void **)&real_stop = real_fn("uv_poll_stop");
	*(void **)&real_close = real_fn("uv_close");
}

static int handle_fd(uv_poll_t *h)
{
	uv_os_fd_t fd;

	return uv_fileno((uv_handle_t *)h, &fd) ? -1 : fd;
}

/* libuv's callback for every handle in the table: the owner's, with only
 * the events it asks for now. */
static void poll_cb(uv_poll_t *h, int status, int events)
{
	struct polltab_slot *s = polltab_find(&tab, handle_fd(h), h);
	uv_poll_cb cb;

	window = 0; /* the poll has returned */
	if (!s || !s->cb)
		return;
	cb = (uv_poll_cb)s->cb;
	if (status == 0) {
		events &= (int)s->wanted;
		if (!events)
			return;
	}
	cb(h, status, events);
}

static int apply(uv_poll_t *h, struct polltab_slot *s, enum polltab_op op)
{
	int rc;

	switch (op) {
	case POLLTAB_START:
		stats.applied++;
		rc = real_start(h, (int)s->wanted, poll_cb);
		if (rc)
			s->applied = 0;
		return rc;
	case POLLTAB_STOP: stats.applied++; return real_stop(h);
	default: return 0;
	}
}

static int deferred(const uv_poll_t *h)
{
	return h->loop == deferring && !window;
}

int uv_poll_start(uv_poll_t *h, int events, uv_poll_cb cb)
{
	int fd = handle_fd(h);
	struct polltab_slot *s;

	load_real();
	stats.calls++;
	s = polltab_find(&tab, fd, h);
	if (!s) {
		if (!deferring || h->loop != deferring || (events & ~UVPOLL_EVENTS) ||
		    uv_is_active((uv_handle_t *)h) || !(s = polltab_add(&tab, fd, h))) {
			stats.applied++;
			return real_start(h, events, cb);
		}
	} else if (events & ~UVPOLL_EVENTS) {
		/* events this module does not handle: libuv's own from now on */
		polltab_remove(&tab, fd, h);
		stats.applied++;
		return real_start(h, events, cb);
	}
	s->cb = (void (*)(void))cb;
	return apply(h, s,
	             polltab_want(&tab, s, fd, (unsigned)events, uv_is_active((uv_handle_t *)h),
	                          deferred(h)));
}

int uv_poll_stop(uv_poll_t *h)
{
	int fd = handle_fd(h);
	struct polltab_slot *s = polltab_find(&tab, fd, h);

	load_real();
	stats.calls++;
	if (!s) {
		stats.applied++;
		return real_stop(h);
	}
	return apply(h, s,
	             polltab_want(&tab, s, fd, 0, uv_is_active((uv_handle_t *)h), deferred(h)));
}

void uv_close(uv_handle_t *h, uv_close_cb cb)
{
	load_real();
	if (h->type == UV_POLL && tab.count) {
		polltab_remove(&tab, handle_fd((uv_poll_t *)h), h);
		if (!tab.count && !deferring)
			polltab_free(&tab);
	}
	real_close(h, cb);
}

void uvpoll_enable(uv_loop_t *loop)
{
	load_real();
	deferring = loop;
	window = 0;
}

void uvpoll_before_poll(void)
{
	int fd;

	while (polltab_next(&tab, &fd)) {
		struct polltab_slot *s = polltab_at(&tab, fd);
		uv_poll_t *h = s ? s->h : NULL;
		int rc;

		if (!h)
			continue;
		rc = apply(h, s, polltab_settle(s, uv_is_active((uv_handle_t *)h)));
		if (rc)
			log_warn("uvpoll: uv_poll_start on fd %d: %s", fd, uv_strerror(rc));
	}
	window = 1;
}

void uvpoll_after_poll(void)
{
	window = 0;
}

void uvpoll_disable(void)
{
	uvpoll_before_poll();
	deferring = NULL;
	window = 0;
	if (!tab.count)
		polltab_free(&tab);
}

struct uvpoll_stats uvpoll_stats(void)
{
	return stats;
}
