/* svc.h - what every service process does around its loop: ignore SIGPIPE,
 * raise the descriptor limit, and call a stop function once on SIGINT or
 * SIGTERM (a second signal exits at once). */
#ifndef RS_LIB_SVC_H
#define RS_LIB_SVC_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef void (*svc_stop_fn)(void *priv);

struct opt;

/* The opening of a service's main(): log_init(argv[0]), then opt_parse.
 * Returns -1 when main should go on, else its exit status: 0 after --help,
 * 2 after a bad option (already reported). */
int svc_begin(int argc, char **argv, const struct opt *opts, const char *summary);

/* The flags every service has: where it listens and where Redis is. */
struct svc_net {
	const char *listen;     /* --listen, env LISTEN; default 127.0.0.1 */
	int port;               /* --port; default PORT + the service's offset */
	const char *redis_addr; /* --redis host:port, env REDIS_ADDR; NULL: the stack's */
	char redis_host[128];   /* set by svc_begin_net from redis_addr */
	int redis_port;
};
/* Their three rows, first in a service's struct opt table (config.h). */
#define SVC_NET_OPTS(net, port_help)                                                               \
	{"listen", "LISTEN", OPT_STR, &(net)->listen, "address to listen on"},                     \
	    {"port", NULL, OPT_INT, &(net)->port, port_help},                                      \
	{                                                                                          \
		"redis", "REDIS_ADDR", OPT_STR, &(net)->redis_addr,                                \
		    "Redis host:port (default 127.0.0.1:PORT+1)"                                   \
	}
/* The defaults: 127.0.0.1, PORT + port_offset (lib/schema.h RS_PORT_*), the
 * stack's Redis. */
void svc_net_init(struct svc_net *net, int port_offset);
/* svc_begin, then the Redis address of net into redis_host/redis_port
 * (svc_redis_addr). The same returns as svc_begin: -1 go on, 0 after
 * --help, 2 after a bad option or a malformed --redis (reported). */
int svc_begin_net(int argc, char **argv, const struct opt *opts, const char *summary,
                  struct svc_net *net);
/* The end of a service's main(), after svc_init and its setup: runs loop
 * until the stop function has closed every handle, lets lib/http finish
 * (http_servers_finish), then closes the loop and logs "stopped"; returns 0.
 * With started 0 (the setup failed) the stop function is called first and
 * the status is 1 (the loop is not closed). */
int svc_run(uv_loop_t *loop, int started);
/* Installs the signal handlers on loop, and the prepare/check callbacks
 * that flush the held log lines and drive lib/uvpoll (enabled on loop: its
 * poll handles' changes are applied once per loop turn, before the poll). */
void svc_init(uv_loop_t *loop, svc_stop_fn stop, void *priv);
/* Closes the signal handles and those callbacks; lib/uvpoll applies what is
 * pending and from then on applies changes at once (call from the stop
 * function). */
void svc_close(void);
struct http_server;
/* The last call of every stop function, after the stores are freed (their
 * pending callbacks still answer through the server): frees *http (may be
 * NULL), sets it to NULL, then svc_close(). */
void svc_stop_http(struct http_server **http);
/* Wall-clock milliseconds since the epoch. */
uint64_t svc_now_ms(void);
/* The Redis address from a --redis flag value ("host:port"), or the stack's
 * default (127.0.0.1:PORT+1) when addr is NULL. Logs and returns -1 when
 * addr is malformed. */
int svc_redis_addr(const char *addr, char *host, size_t hostlen, int *port);
/* Parses "host:port" (split at the last colon; host not empty, port
 * 1-65535 in digits) into host (buf) and port; returns 0, or -1 leaving
 * both untouched. */
int svc_hostport(const char *s, char *host, size_t hostlen, int *port);

#endif
