/* svc.c - see svc.h. */
#include "svc.h"

#include "config.h"
#include "http.h"
#include "log.h"
#include "schema.h"
#include "uvpoll.h"

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static uv_signal_t sig_int, sig_term;
/* Before the loop may block and after each poll: the log's held lines go
 * out, and lib/uvpoll applies the poll handles' changes of the loop turn
 * (it needs this prepare callback to run before every poll). */
static uv_prepare_t log_before_poll;
static uv_check_t log_after_poll;
static int log_handles;

static void on_log_prepare(uv_prepare_t *h)
{
	log_flush();
	uvpoll_before_poll();
}

static void on_log_check(uv_check_t *h)
{
	uvpoll_after_poll();
	log_flush();
}

static void flush_at_exit(void)
{
	log_hold(0);
}
static svc_stop_fn stop_fn;
static void *stop_priv;
static int stopping;

static void on_signal(uv_signal_t *h, int signum)
{
	if (stopping++) {
		log_warn("second signal: exiting now");
		_exit(1);
	}
	log_info("signal %d: stopping", signum);
	if (stop_fn)
		stop_fn(stop_priv);
}

int svc_begin(int argc, char **argv, const struct opt *opts, const char *summary)
{
	int rc;

	log_init(argv[0]);
	rc = opt_parse(argc, argv, opts, summary);
	return rc == 0 ? -1 : rc > 0 ? 0 : 2;
}

void svc_net_init(struct svc_net *net, int port_offset)
{
	memset(net, 0, sizeof(*net));
	net->listen = "127.0.0.1";
	net->port = cfg_stack_port(port_offset);
	snprintf(net->redis_host, sizeof(net->redis_host), "127.0.0.1");
	net->redis_port = cfg_stack_port(RS_PORT_REDIS);
}

int svc_begin_net(int argc, char **argv, const struct opt *opts, const char *summary,
                  struct svc_net *net)
{
	int rc = svc_begin(argc, argv, opts, summary);

	if (rc >= 0)
		return rc;
	if (svc_redis_addr(net->redis_addr, net->redis_host, sizeof(net->redis_host),
	                   &net->redis_port) < 0)
		return 2;
	return -1;
}

int svc_run(uv_loop_t *loop, int started)
{
	if (!started && stop_fn)
		stop_fn(stop_priv);
	uv_run(loop, UV_RUN_DEFAULT);
	log_hold(0);
	http_servers_finish();
	if (!started)
		return 1;
	uv_loop_close(loop);
	log_info("stopped");
	return 0;
}

void svc_init(uv_loop_t *loop, svc_stop_fn stop, void *priv)
{
	struct rlimit rl;

	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	stop_fn = stop;
	stop_priv = priv;
	uv_signal_init(loop, &sig_int);
	uv_signal_init(loop, &sig_term);
	uv_signal_start(&sig_int, on_signal, SIGINT);
	uv_signal_start(&sig_term, on_signal, SIGTERM);
	if (!log_handles) {
		uv_prepare_init(loop, &log_before_poll);
		uv_check_init(loop, &log_after_poll);
		uv_prepare_start(&log_before_poll, on_log_prepare);
		uv_check_start(&log_after_poll, on_log_check);
		/* they never keep the loop alive */
		uv_unref((uv_handle_t *)&log_before_poll);
		uv_unref((uv_handle_t *)&log_after_poll);
		log_handles = 1;
		uvpoll_enable(loop);
		atexit(flush_at_exit);
	}
	log_hold(1);
}

void svc_close(void)
{
	if (!uv_is_closing((uv_handle_t *)&sig_int))
		uv_close((uv_handle_t *)&sig_int, NULL);
	if (!uv_is_closing((uv_handle_t *)&sig_term))
		uv_close((uv_handle_t *)&sig_term, NULL);
	if (log_handles == 1) {
		uv_close((uv_handle_t *)&log_before_poll, NULL);
		uv_close((uv_handle_t *)&log_after_poll, NULL);
		uvpoll_disable();
		log_handles = 2;
	}
	log_hold(0);
}

void svc_stop_http(struct http_server **http)
{
	http_server_free(*http);
	*http = NULL;
	svc_close();
}

uint64_t svc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int svc_hostport(const char *s, char *host, size_t hostlen, int *port)
{
	const char *colon = strrchr(s, ':');
	char *end;
	long p;

	/* a host, and a port of digits only (strtol would take " +80") */
	if (!colon || colon == s || (size_t)(colon - s) >= hostlen ||
	    !isdigit((unsigned char)colon[1]))
		return -1;
	p = strtol(colon + 1, &end, 10);
	if (*end || p <= 0 || p > 65535)
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = 0;
	*port = (int)p;
	return 0;
}

int svc_redis_addr(const char *addr, char *host, size_t hostlen, int *port)
{
	if (!addr) {
		snprintf(host, hostlen, "127.0.0.1");
		*port = cfg_stack_port(RS_PORT_REDIS);
		return 0;
	}
	if (svc_hostport(addr, host, hostlen, port) < 0) {
		log_error("--redis must be host:port, got \"%s\"", addr);
		return -1;
	}
	return 0;
}
