/* uvpoll.h - uv_poll_start/uv_poll_stop without epoll_ctl churn: this
 * module defines uv_poll_start, uv_poll_stop and uv_close over libuv's own
 * (the executable exports them, so libwebsockets' dlopen()ed libuv event
 * plugin binds to them too; Makefile, UVPOLL_EXPORTS).
 *
 * Why: lws 4.1.6's libuv event lib (lib/event-libs/libuv/libuv.c,
 * elops_io_uv) calls uv_poll_start for every POLLIN/POLLOUT change lws
 * makes, and for many that change nothing; libuv 1.44's uv_poll_start
 * (src/unix/poll.c) first stops the handle, whose uv__platform_invalidate_fd
 * takes the descriptor out of epoll at once (EPOLL_CTL_DEL), then queues an
 * EPOLL_CTL_ADD for the next poll. An HTTP request cost ~6 epoll_ctl: lws
 * turns POLLOUT on when a transaction completes, off twice when it is
 * served in the same loop turn, and re-asks POLLIN when the next request
 * takes a header table.
 *
 * What it does, with libuv's public API only, on the loop given to
 * uvpoll_enable (other loops' handles go straight to libuv):
 * - a call that asks a handle for the events it already has does nothing;
 * - a change of a watched handle's events to other events is recorded and
 *   applied once, by uvpoll_before_poll just before the loop polls, so an
 *   on-then-off within a loop turn costs nothing and several changes cost
 *   one uv_poll_start; a change made after that point (a later prepare
 *   callback) is applied at once, so nothing asked for is missing when the
 *   loop blocks (no lost wakeup); a start of a handle the loop does not
 *   watch and a stop are applied at once, so uv_is_active() always says
 *   what the owner asked for (lws' client connect checks it);
 * - libuv calls a callback of this module, which hands the owner only the
 *   events it asks for now (a removal not yet applied is never seen by the
 *   owner) and skips the call when none is left;
 * - uv_close forgets the handle before libuv's close, so nothing pending
 *   outlives it (lws frees its poll handles in their close callbacks).
 * A handle asked for other events than UV_READABLE/UV_WRITABLE is left to
 * libuv as it is. Single-threaded, like libuv's loop. */
#ifndef RS_LIB_UVPOLL_H
#define RS_LIB_UVPOLL_H

#include <uv.h>

/* Defers changes of the poll handles of loop from now on (one loop per
 * process). The caller must call uvpoll_before_poll from a uv_prepare
 * callback and uvpoll_after_poll from a uv_check callback of that loop
 * until uvpoll_disable (lib/svc does). */
void uvpoll_enable(uv_loop_t *loop);
/* Applies every recorded change (the loop is about to poll); until the
 * poll returns, changes are applied at once. */
void uvpoll_before_poll(void);
/* The poll has returned: changes are recorded again. */
void uvpoll_after_poll(void);
/* Applies what is recorded and stops deferring (the prepare/check callbacks
 * are going away); frees the table when no handle is left in it. */
void uvpoll_disable(void);

/* How many uv_poll_start/uv_poll_stop calls the owners made (calls) and
 * how many reached libuv's (applied), since the process started (tests). */
struct uvpoll_stats {
	unsigned long long calls, applied;
};
struct uvpoll_stats uvpoll_stats(void);

#endif
