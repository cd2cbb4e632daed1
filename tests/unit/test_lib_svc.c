/* test_lib_svc.c - unit tests (cmocka) for the pure part of lib/svc: the
 * "host:port" parser behind every --redis flag (svc_hostport), the stack's
 * default Redis address (svc_redis_addr), svc_now_ms, and a service's
 * frame on a real loop: svc_init, a SIGTERM to this process, the stop
 * function ending in svc_stop_http, svc_run returning once every handle is
 * closed. The services' own stop paths: tests/integration (test_ops.py
 * stops them with SIGTERM). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "svc.h"

static int clear_port(void **state)
{
	unsetenv("PORT");
	return 0;
}

static void test_hostport_accepts(void **state)
{
	char host[64];
	int port = 0;

	assert_int_equal(svc_hostport("127.0.0.1:6379", host, sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 6379);
	assert_int_equal(svc_hostport("redis:1", host, sizeof(host), &port), 0);
	assert_string_equal(host, "redis");
	assert_int_equal(port, 1);
	assert_int_equal(svc_hostport("10.77.0.3:65535", host, sizeof(host), &port), 0);
	assert_int_equal(port, 65535);
	/* the last colon splits: an IPv6 address without brackets works */
	assert_int_equal(svc_hostport("::1:6380", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 6380);
}

static void test_hostport_refuses(void **state)
{
	static const char *bad[] = {
	    "",
	    "redis",
	    "redis:",
	    ":6379",
	    "redis:0",
	    "redis:65536",
	    "redis:-1",
	    "redis:63x",
	    "redis:6379 ",
	    "redis: 6379",
	    "redis:+6379",
	    "redis:99999999999999999999",
	};
	char host[64];
	int port;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(host, "untouched");
		port = 42;
		if (svc_hostport(bad[i], host, sizeof(host), &port) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_string_equal(host, "untouched");
		assert_int_equal(port, 42);
	}
}

static void test_hostport_host_must_fit(void **state)
{
	char host[8];
	int port;

	assert_int_equal(svc_hostport("1234567:80", host, sizeof(host), &port), 0);
	assert_string_equal(host, "1234567");
	assert_int_equal(svc_hostport("12345678:80", host, sizeof(host), &port), -1);
}

static void test_redis_addr_default_follows_port(void **state)
{
	char host[64] = "";
	int port = 0;

	assert_int_equal(svc_redis_addr(NULL, host, sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 8081);
	setenv("PORT", "28080", 1);
	assert_int_equal(svc_redis_addr(NULL, host, sizeof(host), &port), 0);
	assert_int_equal(port, 28081);
	assert_int_equal(svc_redis_addr("redis:6379", host, sizeof(host), &port), 0);
	assert_string_equal(host, "redis");
	assert_int_equal(port, 6379);
}

static void test_redis_addr_malformed_is_logged(void **state)
{
	char host[64], path[] = "/tmp/test_lib_svc.XXXXXX", out[512];
	int port, tmp = mkstemp(path), saved;
	ssize_t n;

	assert_true(tmp >= 0);
	unlink(path);
	saved = dup(2);
	dup2(tmp, 2);
	assert_int_equal(svc_redis_addr("redis", host, sizeof(host), &port), -1);
	dup2(saved, 2);
	close(saved);
	n = pread(tmp, out, sizeof(out) - 1, 0);
	out[n > 0 ? n : 0] = 0;
	close(tmp);
	assert_non_null(strstr(out, "--redis must be host:port, got \"redis\""));
}

static void test_now_ms_is_wall_clock(void **state)
{
	uint64_t before = (uint64_t)time(NULL) * 1000, now = svc_now_ms(),
		 after = ((uint64_t)time(NULL) + 1) * 1000;

	assert_true(now >= before);
	assert_true(now <= after);
}

/* Parses argv (NULL-terminated, after the program name) with a table of
 * the common rows and one flag of the service's own; returns
 * svc_begin_net's answer. */
static int parse_net(struct svc_net *net, int *own, const char *const *args)
{
	char *argv[16] = {"svc-test"};
	int argc = 1;
	struct opt opts[] = {
	    SVC_NET_OPTS(net, "port to listen on (PORT+30)"),
	    {"own", NULL, OPT_INT, own, "a flag of the service's own"},
	    {NULL, NULL, 0, NULL, NULL},
	};

	while (*args && argc < 15)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	return svc_begin_net(argc, argv, opts, "test", net);
}

static void test_net_defaults_follow_port(void **state)
{
	struct svc_net net;
	int own = 7;

	setenv("PORT", "28080", 1);
	svc_net_init(&net, 30);
	assert_int_equal(parse_net(&net, &own, (const char *const[]){NULL}), -1);
	assert_string_equal(net.listen, "127.0.0.1");
	assert_int_equal(net.port, 28110);
	assert_null(net.redis_addr);
	assert_string_equal(net.redis_host, "127.0.0.1");
	assert_int_equal(net.redis_port, 28081);
	assert_int_equal(own, 7);
}

static void test_net_flags_over_environment(void **state)
{
	struct svc_net net;
	int own = 0;

	setenv("LISTEN", "10.0.0.1", 1);
	setenv("REDIS_ADDR", "redis:7000", 1);
	svc_net_init(&net, 40);
	assert_int_equal(parse_net(&net, &own, (const char *const[]){"--own", "3", NULL}), -1);
	assert_string_equal(net.listen, "10.0.0.1");
	assert_string_equal(net.redis_host, "redis");
	assert_int_equal(net.redis_port, 7000);
	assert_int_equal(own, 3);
	svc_net_init(&net, 40);
	assert_int_equal(parse_net(&net, &own,
	                           (const char *const[]){"--listen", "0.0.0.0", "--port", "9000",
	                                                 "--redis", "10.77.0.3:6380", NULL}),
	                 -1);
	assert_string_equal(net.listen, "0.0.0.0");
	assert_int_equal(net.port, 9000);
	assert_string_equal(net.redis_host, "10.77.0.3");
	assert_int_equal(net.redis_port, 6380);
	unsetenv("LISTEN");
	unsetenv("REDIS_ADDR");
}

static void test_net_refusals_are_exit_status_2(void **state)
{
	struct svc_net net;
	int own = 0;

	svc_net_init(&net, 30);
	/* a malformed --redis, then an unknown flag: 2, reported on stderr */
	assert_int_equal(parse_net(&net, &own, (const char *const[]){"--redis", "redis", NULL}), 2);
	assert_int_equal(net.redis_port, 8081); /* untouched */
	assert_int_equal(parse_net(&net, &own, (const char *const[]){"--nope", NULL}), 2);
}

static int stops;

/* A service's stop function: its stores would go first, then this. */
static void stop_service(void *priv)
{
	struct http_server **http = priv;

	stops++;
	svc_stop_http(http);
}

static void test_sigterm_stops_the_loop(void **state)
{
	uv_loop_t *loop = uv_default_loop();
	struct http_server *http = NULL;

	alarm(20); /* a handle left open would keep svc_run from returning */
	svc_init(loop, stop_service, &http);
	assert_true(uv_loop_alive(loop));
	assert_int_equal(uv_kill(getpid(), SIGTERM), 0);
	assert_int_equal(svc_run(loop, 1), 0);
	alarm(0);
	assert_int_equal(stops, 1);
	assert_null(http);
}

static void test_failed_setup_stops_and_returns_1(void **state)
{
	uv_loop_t loop;
	struct http_server *http = NULL;

	stops = 0;
	assert_int_equal(uv_loop_init(&loop), 0);
	alarm(20);
	svc_init(&loop, stop_service, &http);
	/* the setup failed: svc_run calls the stop function itself */
	assert_int_equal(svc_run(&loop, 0), 1);
	alarm(0);
	assert_int_equal(stops, 1);
	assert_false(uv_loop_alive(&loop));
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hostport_accepts),
	    cmocka_unit_test(test_hostport_refuses),
	    cmocka_unit_test(test_hostport_host_must_fit),
	    cmocka_unit_test_setup(test_redis_addr_default_follows_port, clear_port),
	    cmocka_unit_test_setup(test_redis_addr_malformed_is_logged, clear_port),
	    cmocka_unit_test(test_now_ms_is_wall_clock),
	    cmocka_unit_test_setup(test_net_defaults_follow_port, clear_port),
	    cmocka_unit_test_setup(test_net_flags_over_environment, clear_port),
	    cmocka_unit_test_setup(test_net_refusals_are_exit_status_2, clear_port),
	    cmocka_unit_test(test_sigterm_stops_the_loop),
	    cmocka_unit_test(test_failed_setup_stops_and_returns_1),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
