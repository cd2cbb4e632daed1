/* ws.c - comm-svc's websocket glue: lws events -> hub_sock_* calls, and the
 * hub's writes and closes -> lws_write; the bytes lws reads pass through
 * recv() below, which feeds each descriptor's wsguard. */
#include "comm.h"
#include "log.h"
#include "svc.h"
#include "wsframe.h"
#include "wsguard.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

_Static_assert(HUB_PRE >= LWS_PRE, "hub headroom too small for lws");

#define FRAMES_PER_CALLBACK 256

struct comm_pss {
	struct hub_sock *sock;
};

/* ---------------------------------------------------------------- unmasked frames */

/* lws 4.1.6 accepts unmasked client frames without a word (wsguard.h). The
 * bytes it reads pass through this program's recv(), which lws calls through
 * the dynamic linker (the executable's definition comes first); each
 * descriptor's bytes go to its wsguard, and a violation closes the socket
 * with 1002 through the hub. Only lws calls recv() in this process (hiredis
 * and libuv use read()). */
#define GUARD_FDS 65536
struct guard {
	struct wsg g;
	struct lws *wsi; /* while a websocket */
};
static struct guard *guards[GUARD_FDS];

static struct guard *guard_of(int fd)
{
	if (fd < 0 || fd >= GUARD_FDS)
		return NULL;
	if (!guards[fd])
		guards[fd] = calloc(1, sizeof(struct guard));
	return guards[fd];
}

static void guard_violation(struct guard *gd, const char *why)
{
	struct comm_pss *pss = gd->wsi ? lws_wsi_user(gd->wsi) : NULL;

	if (pss && pss->sock) {
		log_info("closing a websocket (1002): %s", why);
		hub_sock_fail(pss->sock, 1002, why);
	}
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	static ssize_t (*real_recv)(int, void *, size_t, int);
	struct guard *gd;
	ssize_t n;

	if (!real_recv) {
		*(void **)&real_recv = dlsym(RTLD_NEXT, "recv");
		if (!real_recv)
			abort();
	}
	n = real_recv(fd, buf, len, flags);
	if (flags & MSG_PEEK)
		return n;
	if (n > 0 && (gd = guard_of(fd)) && wsg_feed(&gd->g, buf, (size_t)n))
		guard_violation(gd, "frames from a client must be masked");
	else if (n == 0 && (gd = guard_of(fd)) && !gd->wsi)
		wsg_reset(&gd->g); /* the peer closed: the next connection on fd starts afresh */
	return n;
}

/* A new connection starts with a fresh guard, whatever the last one on its
 * descriptor left behind: the reset in recv() above sees only a peer's
 * orderly close, and a connection lws drops after an error (ECONNRESET when
 * nginx is killed) or on a timeout may be gone before LWS_CALLBACK_CLOSED
 * could name its descriptor. A stale guard read the next client's HTTP
 * upgrade as unmasked frames and closed a healthy websocket with 1002. lws
 * 4.1.6 accepts with accept(); accept4() is covered as well. */
static void guard_fresh(int fd)
{
	struct guard *gd = fd >= 0 ? guard_of(fd) : NULL;

	if (gd) {
		gd->wsi = NULL;
		wsg_reset(&gd->g);
	}
}

int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	static int (*real_accept)(int, struct sockaddr *, socklen_t *);
	int c;

	if (!real_accept) {
		*(void **)&real_accept = dlsym(RTLD_NEXT, "accept");
		if (!real_accept)
			abort();
	}
	c = real_accept(fd, addr, len);
	guard_fresh(c);
	return c;
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	static int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);
	int c;

	if (!real_accept4) {
		*(void **)&real_accept4 = dlsym(RTLD_NEXT, "accept4");
		if (!real_accept4)
			abort();
	}
	c = real_accept4(fd, addr, len, flags);
	guard_fresh(c);
	return c;
}

void ws_guards_free(void)
{
	for (int i = 0; i < GUARD_FDS; i++) {
		free(guards[i]);
		guards[i] = NULL;
	}
}

/* ---------------------------------------------------------------- websocket */

void ws_want_write(void *user)
{
	lws_callback_on_writable(user);
}

/* A close frame that could not be written (the peer does not read): lws'
 * timeout path closes the socket without writing more. On a foreign libuv
 * loop an expired lws timeout is only acted on at lws' next service, so
 * lws_cancel_service() makes one happen now. The wsi is freed later, never
 * inside this call (hub_tick relies on it). */
void ws_kill(void *user)
{
	struct lws *wsi = user;

	lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	lws_cancel_service(lws_get_context(wsi));
}

static int close_with(struct lws *wsi, int code, const char *reason)
{
	lws_close_reason(wsi, (enum lws_close_status)code, (unsigned char *)reason,
	                 reason ? strlen(reason) : 0);
	return -1;
}

/* From WRITEABLE, lws 4.1 drops the close frame that lws_close_reason()
 * prepares when the callback returns -1 (from RECEIVE it sends it), so the
 * frame is written here: opcode 4 is lws' internal LWS_WRITE_CLOSE, which the
 * 4.1 header keeps out of the public enum. */
#define COMM_WRITE_CLOSE ((enum lws_write_protocol)4)
static int close_from_writeable(struct lws *wsi, int code, const char *reason)
{
	unsigned char buf[LWS_PRE + 125];
	size_t n = reason ? strlen(reason) : 0;

	if (n > 123)
		n = 123;
	buf[LWS_PRE] = (unsigned char)(code >> 8);
	buf[LWS_PRE + 1] = (unsigned char)code;
	if (n)
		memcpy(buf + LWS_PRE + 2, reason, n);
	lws_write(wsi, buf + LWS_PRE, n + 2, COMM_WRITE_CLOSE);
	return -1;
}

/* The frames of one writeable callback are laid end to end in out_buf and
 * written with one send (lws_write with LWS_WRITE_HTTP writes bytes as
 * they are, keeping what the socket does not take, like any lws_write),
 * not one send each: a viewer that is behind gets its backlog in a few
 * syscalls. A large frame (a batch, usually) is not copied: it goes after
 * them, alone, as it is. */
#define OUT_BUF_MAX    65536
#define GATHER_MAX_LEN 4096
static unsigned char out_buf[LWS_PRE + OUT_BUF_MAX];

static int write_gathered(struct lws *wsi, size_t *used)
{
	int n = (int)*used;

	*used = 0;
	return lws_write(wsi, out_buf + LWS_PRE, (size_t)n, LWS_WRITE_HTTP) < n ? -1 : 0;
}

/* A frame of a match (or a batch: its last) went to lws. */
static void written(struct lws *wsi, const struct hub_out *out)
{
	struct comm *c;

	if (out->kind == HUB_OUT_TEXT && out->msg->kind == HUB_MSG_MATCH &&
	    (c = http_server_app(wsi)))
		comm_stage(c, COMM_STAGE_WRITE, out->msg->id.ms);
}

static int ws_writeable(struct lws *wsi, struct hub_sock *s)
{
	struct hub_out out;
	size_t used = 0;
	int wrote = 0;

	for (int i = 0; i < FRAMES_PER_CALLBACK; i++) {
		hub_sock_next(s, &out);
		if (out.kind == HUB_OUT_TEXT && out.msg->len <= GATHER_MAX_LEN &&
		    used + WSFRAME_HEAD_MAX + out.msg->len <= OUT_BUF_MAX) {
			used += wsframe_text_head(out_buf + LWS_PRE + used, out.msg->len);
			memcpy(out_buf + LWS_PRE + used, hub_msg_data(out.msg), out.msg->len);
			used += out.msg->len;
			written(wsi, &out);
			hub_sock_sent(s, out.kind);
			continue;
		}
		if (used) {
			/* what was gathered goes first; out is asked for again */
			if (write_gathered(wsi, &used) < 0)
				return -1;
			wrote = 1;
			if (lws_send_pipe_choked(wsi))
				break;
			continue;
		}
		if (out.kind == HUB_OUT_NONE)
			break;
		if (out.kind == HUB_OUT_CLOSE) {
			/* lws drops the close frame when other frames went out in the
			 * same callback: close in a callback of its own */
			if (wrote)
				break;
			return close_from_writeable(wsi, out.close_code, out.reason);
		}
		if (out.kind == HUB_OUT_PING) {
			/* with a payload: lws 4.1 never reports an empty pong */
			unsigned char buf[LWS_PRE + 32];
			int n = snprintf((char *)buf + LWS_PRE, 32, "%llu",
			                 (unsigned long long)svc_now_ms());

			if (lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_PING) < n)
				return -1;
		} else if (lws_write(wsi, hub_msg_data(out.msg), out.msg->len, LWS_WRITE_TEXT) <
		           (int)out.msg->len) {
			return -1;
		}
		written(wsi, &out);
		hub_sock_sent(s, out.kind);
		wrote = 1;
		if (lws_send_pipe_choked(wsi))
			break;
	}
	if (used && write_gathered(wsi, &used) < 0)
		return -1;
	if (hub_sock_pending(s))
		lws_callback_on_writable(wsi);
	return 0;
}

static int cb_ws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len)
{
	struct comm_pss *pss = user;
	struct comm *c;
	int code;

	switch (reason) {
	/* upgrades other than websocket (h2c) are refused by lib/http.c before
	 * this callback sees them (counted in http_refused_total) */
	case LWS_CALLBACK_ESTABLISHED:
		c = http_server_app(wsi);
		if (!c)
			return -1;
		pss->sock = hub_sock_new(c->hub, wsi, svc_now_ms());
		if (!pss->sock)
			return -1;
		{
			struct guard *gd = guard_of(lws_get_socket_fd(wsi));

			if (gd) {
				gd->wsi = wsi;
				if (wsg_start_ws(&gd->g))
					guard_violation(gd, "frames from a client must be masked");
			}
		}
		return 0;

	case LWS_CALLBACK_RECEIVE:
		if (!pss->sock)
			return -1;
		code = hub_sock_rx(pss->sock, in, len, lws_frame_is_binary(wsi),
		                   lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi),
		                   svc_now_ms());
		if (code) {
			log_info("closing a websocket (%d): %s", code,
			         hub_sock_close_reason(pss->sock));
			return close_with(wsi, code, hub_sock_close_reason(pss->sock));
		}
		return 0;

	case LWS_CALLBACK_RECEIVE_PONG:
		/* lws passes only pongs with a payload (ours always have one) */
		if (pss->sock)
			hub_sock_alive(pss->sock, svc_now_ms());
		return 0;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (!pss->sock)
			return -1;
		return ws_writeable(wsi, pss->sock);

	case LWS_CALLBACK_CLOSED: {
		struct guard *gd = guard_of(lws_get_socket_fd(wsi));

		if (gd) {
			gd->wsi = NULL;
			wsg_reset(&gd->g);
		}
		hub_sock_free(pss->sock);
		pss->sock = NULL;
		return 0;
	}

	default: return 0;
	}
}

const struct lws_protocols ws_protocol = {
    "communication", cb_ws, sizeof(struct comm_pss), 4096, 0, NULL, 0};
