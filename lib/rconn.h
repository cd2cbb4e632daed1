/* rconn.h - one Redis connection on the libuv loop that reconnects by itself.
 *
 * hiredis 0.14 has no reconnect and no command timeout. rconn adds both: while
 * the connection is down, rconn_cmd() refuses at once (the caller answers 503);
 * a dead or hung server (no reply for dead_ms while commands are pending, or
 * to a ping) is dropped, every pending callback is called with reply NULL, and
 * a new connection is tried every 100..1000 ms until one succeeds. With a
 * password (REDIS_PASSWORD), AUTH is the first command on every connection
 * and the connection is up only once it succeeded; a refused AUTH is a
 * failed connect (retried; the password is never logged). */
#ifndef RS_LIB_RCONN_H
#define RS_LIB_RCONN_H

#include <hiredis/hiredis.h>
#include <uv.h>

#include "rreply.h" /* the reply helpers every user of a reply needs */

struct rconn;

/* reply is NULL when the connection was lost before the reply came; it is
 * owned by hiredis and valid only during the call. */
typedef void (*rconn_reply_fn)(struct rconn *rc, redisReply *reply, void *priv);
/* Called with up = 1 after each successful connect, up = 0 once per loss. */
typedef void (*rconn_state_fn)(struct rconn *rc, int up, void *priv);

struct rconn_opts {
	const char *host; /* default 127.0.0.1 */
	int port;         /* default: the stack's Redis port (PORT+1) */
	const char *name; /* for logs, e.g. "redis" */
	int ping_ms;      /* idle heartbeat, default 1000 */
	int dead_ms;      /* no reply for this long = dead, default 3000 */
	rconn_state_fn on_state;
	void *priv;           /* passed to on_state */
	const char *password; /* AUTH on connect; default: env REDIS_PASSWORD (none when unset) */
};

/* Starts connecting; never NULL except on OOM. */
struct rconn *rconn_new(uv_loop_t *loop, const struct rconn_opts *opts);
int rconn_up(const struct rconn *rc);
/* Commands sent and not yet answered (for flow control). */
unsigned rconn_pending(const struct rconn *rc);
/* Queues a command (hiredis format, %s %b %d ...). Returns 0 when queued:
 * fn (may be NULL) is then called exactly once. Returns -1 when the
 * connection is down or the command is malformed: fn is not called. */
int rconn_cmd(struct rconn *rc, rconn_reply_fn fn, void *priv, const char *fmt, ...);
int rconn_cmd_argv(struct rconn *rc, rconn_reply_fn fn, void *priv, int argc, const char **argv,
                   const size_t *lens);
/* A Lua script run with EVALSHA once Redis knows it. The first call on each
 * connection sends EVAL and loads the script; later calls send only its
 * SHA1. A NOSCRIPT reply (the script cache was flushed) is passed to the
 * caller as an error and the next call loads it again. Declare one static
 * struct rconn_script per script: { .src = "..." }. */
struct rconn_script {
	const char *src;
	char sha[41];  /* "" until loaded on the current connection */
	unsigned conn; /* the connection the sha was loaded on */
	int loading;
};
/* Runs script with nkeys keys followed by the other arguments (args[0..n),
 * n at most RCONN_EVAL_MAX_ARGS). hiredis copies them before it returns. */
#define RCONN_EVAL_MAX_ARGS 4096
int rconn_eval(struct rconn *rc, struct rconn_script *script, rconn_reply_fn fn, void *priv,
               int nkeys, int n, const char **args, const size_t *lens);

/* Pending callbacks are called with NULL; handles close on the loop; the
 * struct is freed once they have. */
void rconn_free(struct rconn *rc);

#endif
