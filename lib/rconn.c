/* rconn.c - see rconn.h. */
#include "rconn.h"

#include "config.h"
#include "hiredis_uv.h"
#include "log.h"
#include "schema.h"

#include <hiredis/async.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct rconn {
	uv_loop_t *loop;
	redisAsyncContext *ac;
	uv_timer_t timer; /* 100 ms housekeeping: reconnect, ping, hang check */
	char host[128];
	int port;
	char name[32];
	int ping_ms, dead_ms;
	rconn_state_fn on_state;
	void *priv;
	int up; /* connected and usable */
	int closing;
	int backoff_ms;
	uint64_t next_connect_ms;
	uint64_t last_reply_ms; /* last reply or connect */
	uint64_t last_send_ms;
	unsigned pending;
	int failures_logged;
	unsigned conn_id;   /* counts connections, for scripts' SHA1s */
	char password[256]; /* AUTH on every connect when set (REDIS_PASSWORD) */
};

struct rcmd {
	struct rconn *rc;
	rconn_reply_fn fn;
	void *priv;
	struct rconn_script *script; /* for EVALSHA: forget the SHA1 on NOSCRIPT */
};

static void rconn_lost(struct rconn *rc, const char *why)
{
	int was_up = rc->up;

	rc->ac = NULL;
	rc->up = 0;
	rc->pending = 0;
	rc->next_connect_ms = uv_now(rc->loop) + (uint64_t)rc->backoff_ms;
	if (rc->backoff_ms < 1000)
		rc->backoff_ms *= 2;
	if (was_up) {
		log_warn("%s %s:%d lost: %s", rc->name, rc->host, rc->port, why);
		if (rc->on_state && !rc->closing)
			rc->on_state(rc, 0, rc->priv);
	} else if (!rc->failures_logged++) {
		log_warn("%s %s:%d unavailable: %s (retrying)", rc->name, rc->host, rc->port, why);
	}
}

static void rconn_ready(struct rconn *rc)
{
	rc->up = 1;
	rc->conn_id++;
	rc->backoff_ms = 100;
	rc->failures_logged = 0;
	rc->last_reply_ms = uv_now(rc->loop);
	log_info("%s connected to %s:%d", rc->name, rc->host, rc->port);
	if (rc->on_state)
		rc->on_state(rc, 1, rc->priv);
}

static void rconn_drop(struct rconn *rc, const char *why);

/* The reply to AUTH, the first command on a new connection. NULL: the
 * connection went away (its disconnect callback says so). */
static void on_auth(redisAsyncContext *ac, void *reply, void *priv)
{
	struct rconn *rc = priv;
	redisReply *r = reply;
	char why[160];

	if (!r || rc->ac != ac || rc->closing)
		return;
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(why, sizeof(why), "AUTH refused: %s", r->str);
		rconn_drop(rc, why);
		return;
	}
	rconn_ready(rc);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct rconn *rc = ac->data;

	if (status != REDIS_OK) {
		rconn_lost(rc, ac->errstr[0] ? ac->errstr : "connect failed");
		return;
	}
	if (rc->password[0]) {
		/* not up until AUTH succeeds; on_timer drops it after dead_ms */
		rc->last_reply_ms = uv_now(rc->loop);
		/* (when it cannot even be queued, on_timer drops the connection: hiredis
		 * must not be freed from inside its connect callback) */
		redisAsyncCommand(rc->ac, on_auth, rc, "AUTH %s", rc->password);
		return;
	}
	rconn_ready(rc);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct rconn *rc = ac->data;

	if (rc->ac == ac)
		rconn_lost(rc,
		           status == REDIS_OK ? "closed" : (ac->errstr[0] ? ac->errstr : "error"));
}

static void rconn_connect(struct rconn *rc)
{
	redisAsyncContext *ac = redisAsyncConnect(rc->host, rc->port);

	if (!ac) {
		rconn_lost(rc, "out of memory");
		return;
	}
	if (ac->err) {
		char why[128];

		snprintf(why, sizeof(why), "%s", ac->errstr);
		redisAsyncFree(ac);
		rconn_lost(rc, why);
		return;
	}
	ac->data = rc;
	if (rs_redis_uv_attach(ac, rc->loop) != REDIS_OK) {
		redisAsyncFree(ac);
		rconn_lost(rc, "cannot attach to the loop");
		return;
	}
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	rc->ac = ac;
	rc->last_reply_ms = uv_now(rc->loop);
}

/* Drops the connection: hiredis calls every pending callback with NULL. */
static void rconn_drop(struct rconn *rc, const char *why)
{
	redisAsyncContext *ac = rc->ac;

	if (!ac)
		return;
	rconn_lost(rc, why);
	redisAsyncFree(ac);
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct rcmd *cmd = privdata;
	struct rconn *rc = cmd->rc;

	if (reply && rc->ac == ac) {
		rc->last_reply_ms = uv_now(rc->loop);
		if (rc->pending)
			rc->pending--;
	}
	if (cmd->script && reply && ((redisReply *)reply)->type == REDIS_REPLY_ERROR &&
	    !strncmp(((redisReply *)reply)->str, "NOSCRIPT", 8))
		cmd->script->sha[0] = 0;
	if (cmd->fn)
		cmd->fn(rc, reply, cmd->priv);
	free(cmd);
}

static void on_timer(uv_timer_t *t)
{
	struct rconn *rc = t->data;
	uint64_t now = uv_now(rc->loop);

	if (rc->closing)
		return;
	if (!rc->ac) {
		if (now >= rc->next_connect_ms)
			rconn_connect(rc);
		return;
	}
	if (!rc->up) {
		if (now - rc->last_reply_ms > (uint64_t)rc->dead_ms)
			rconn_drop(rc, "connect timed out");
		return;
	}
	if (rc->pending && now - rc->last_reply_ms > (uint64_t)rc->dead_ms) {
		rconn_drop(rc, "no reply (server hung?)");
		return;
	}
	if (!rc->pending && now - rc->last_reply_ms >= (uint64_t)rc->ping_ms &&
	    now - rc->last_send_ms >= (uint64_t)rc->ping_ms)
		rconn_cmd(rc, NULL, NULL, "PING");
}

struct rconn *rconn_new(uv_loop_t *loop, const struct rconn_opts *o)
{
	struct rconn *rc = calloc(1, sizeof(*rc));

	if (!rc)
		return NULL;
	rc->loop = loop;
	snprintf(rc->host, sizeof(rc->host), "%s", o->host && *o->host ? o->host : "127.0.0.1");
	rc->port = o->port > 0 ? o->port : cfg_stack_port(RS_PORT_REDIS);
	snprintf(rc->name, sizeof(rc->name), "%s", o->name ? o->name : "redis");
	rc->ping_ms = o->ping_ms > 0 ? o->ping_ms : 1000;
	rc->dead_ms = o->dead_ms > 0 ? o->dead_ms : 3000;
	rc->on_state = o->on_state;
	rc->priv = o->priv;
	if (o->password && *o->password)
		snprintf(rc->password, sizeof(rc->password), "%s", o->password);
	else if (getenv("REDIS_PASSWORD"))
		snprintf(rc->password, sizeof(rc->password), "%s", getenv("REDIS_PASSWORD"));
	rc->backoff_ms = 100;
	uv_timer_init(loop, &rc->timer);
	rc->timer.data = rc;
	uv_timer_start(&rc->timer, on_timer, 100, 100);
	rconn_connect(rc);
	return rc;
}

int rconn_up(const struct rconn *rc)
{
	return rc->up;
}

unsigned rconn_pending(const struct rconn *rc)
{
	return rc->pending;
}

static struct rcmd *rcmd_new(struct rconn *rc, rconn_reply_fn fn, void *priv)
{
	struct rcmd *cmd;

	if (!rc->up || !rc->ac || rc->closing)
		return NULL;
	cmd = malloc(sizeof(*cmd));
	if (!cmd)
		return NULL;
	cmd->rc = rc;
	cmd->fn = fn;
	cmd->priv = priv;
	cmd->script = NULL;
	return cmd;
}

static int rcmd_queued(struct rconn *rc, struct rcmd *cmd, int status)
{
	if (status != REDIS_OK) {
		free(cmd);
		return -1;
	}
	if (!rc->pending++)
		rc->last_reply_ms = uv_now(rc->loop); /* the hang clock starts now */
	rc->last_send_ms = uv_now(rc->loop);
	return 0;
}

int rconn_cmd(struct rconn *rc, rconn_reply_fn fn, void *priv, const char *fmt, ...)
{
	struct rcmd *cmd = rcmd_new(rc, fn, priv);
	va_list ap;
	int st;

	if (!cmd)
		return -1;
	va_start(ap, fmt);
	st = redisvAsyncCommand(rc->ac, on_reply, cmd, fmt, ap);
	va_end(ap);
	return rcmd_queued(rc, cmd, st);
}

int rconn_cmd_argv(struct rconn *rc, rconn_reply_fn fn, void *priv, int argc, const char **argv,
                   const size_t *lens)
{
	struct rcmd *cmd = rcmd_new(rc, fn, priv);

	if (!cmd)
		return -1;
	return rcmd_queued(rc, cmd, redisAsyncCommandArgv(rc->ac, on_reply, cmd, argc, argv, lens));
}

static void on_script_loaded(struct rconn *rc, redisReply *r, void *priv)
{
	struct rconn_script *s = priv;

	s->loading = 0;
	if (r && r->type == REDIS_REPLY_STRING && r->len == 40) {
		memcpy(s->sha, r->str, 41);
		s->conn = rc->conn_id;
	}
}

int rconn_eval(struct rconn *rc, struct rconn_script *script, rconn_reply_fn fn, void *priv,
               int nkeys, int n, const char **args, const size_t *lens)
{
	const char *argv_small[32], **argv = argv_small;
	size_t argl_small[32], *argl = argl_small;
	char nk[12];
	int use_sha = script->sha[0] && script->conn == rc->conn_id, st;
	struct rcmd *cmd;

	if (n < 0 || n > RCONN_EVAL_MAX_ARGS)
		return -1;
	if (n + 3 > 32) {
		argv = malloc((size_t)(n + 3) * sizeof(*argv));
		argl = malloc((size_t)(n + 3) * sizeof(*argl));
		if (!argv || !argl) {
			st = -1;
			goto out;
		}
	}
	if (!use_sha && !script->loading &&
	    rconn_cmd(rc, on_script_loaded, script, "SCRIPT LOAD %s", script->src) == 0)
		script->loading = 1;
	snprintf(nk, sizeof(nk), "%d", nkeys);
	argv[0] = use_sha ? "EVALSHA" : "EVAL";
	argv[1] = use_sha ? script->sha : script->src;
	argv[2] = nk;
	for (int i = 0; i < 3; i++)
		argl[i] = strlen(argv[i]);
	for (int i = 0; i < n; i++) {
		argv[3 + i] = args[i];
		argl[3 + i] = lens[i];
	}
	cmd = rcmd_new(rc, fn, priv);
	if (!cmd) {
		st = -1;
		goto out;
	}
	cmd->script = use_sha ? script : NULL;
	st = rcmd_queued(rc, cmd, redisAsyncCommandArgv(rc->ac, on_reply, cmd, n + 3, argv, argl));
out:
	if (argv != argv_small) {
		free(argv);
		free(argl);
	}
	return st;
}

static void on_timer_closed(uv_handle_t *h)
{
	free(h->data);
}

void rconn_free(struct rconn *rc)
{
	if (!rc)
		return;
	rc->closing = 1;
	if (rc->ac) {
		redisAsyncContext *ac = rc->ac;

		rc->ac = NULL;
		rc->up = 0;
		redisAsyncFree(ac);
	}
	uv_timer_stop(&rc->timer);
	uv_close((uv_handle_t *)&rc->timer, on_timer_closed);
}
