/* test_lib_config.c - unit tests (cmocka) for lib/config: a value comes from
 * the flag, else the environment, else the default already stored; both flag
 * forms (--name value, --name=value); switches; --help on stdout (1); bad
 * values, unknown options and stray arguments on stderr (-1) with the stored
 * value of a bad one left alone; cfg_stack_port's PORT handling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

/* out holds text */
#define HAS(out, text) assert_non_null(strstr((out), (text)))

struct vals {
	const char *listen;
	int port, verbose;
};

#define OPTS(v)                                                                                    \
	{                                                                                          \
		{"listen", "T_LISTEN", OPT_STR, &(v)->listen, "address"},                          \
		    {"port", "T_PORT", OPT_INT, &(v)->port, "port"},                               \
		    {"verbose", "T_VERBOSE", OPT_FLAG, &(v)->verbose, "more output"},              \
		    {NULL, NULL, 0, NULL, NULL},                                                   \
	}

static int clear_env(void **state)
{
	unsetenv("T_LISTEN");
	unsetenv("T_PORT");
	unsetenv("T_VERBOSE");
	unsetenv("PORT");
	return 0;
}

/* Runs opt_parse with fd (1 or 2) captured into out; returns its result. */
static int parse_capture(int fd, char *out, size_t outlen, struct vals *v, int argc, char **argv)
{
	struct opt opts[] = OPTS(v);
	char path[] = "/tmp/test_lib_config.XXXXXX";
	int tmp = mkstemp(path), saved, rc;
	ssize_t n;

	assert_true(tmp >= 0);
	unlink(path);
	fflush(fd == 1 ? stdout : stderr);
	saved = dup(fd);
	dup2(tmp, fd);
	rc = opt_parse(argc, argv, opts, "test summary line");
	fflush(fd == 1 ? stdout : stderr);
	dup2(saved, fd);
	close(saved);
	n = pread(tmp, out, outlen - 1, 0);
	out[n > 0 ? n : 0] = 0;
	close(tmp);
	return rc;
}

static int parse(struct vals *v, int argc, char **argv)
{
	char err[4096];

	return parse_capture(2, err, sizeof(err), v, argc, argv);
}

static void test_defaults_stay_without_env_or_flags(void **state)
{
	struct vals v = {"127.0.0.1", 8090, 0};
	char *argv[] = {"prog", NULL};

	assert_int_equal(parse(&v, 1, argv), 0);
	assert_string_equal(v.listen, "127.0.0.1");
	assert_int_equal(v.port, 8090);
	assert_int_equal(v.verbose, 0);
}

static void test_env_over_default_flag_over_env(void **state)
{
	struct vals v = {"127.0.0.1", 8090, 0};
	char *argv[] = {"prog", "--port", "9001", NULL};

	setenv("T_LISTEN", "0.0.0.0", 1);
	setenv("T_PORT", "7000", 1);
	assert_int_equal(parse(&v, 3, argv), 0);
	assert_string_equal(v.listen, "0.0.0.0"); /* env, no flag */
	assert_int_equal(v.port, 9001);           /* flag beats env */

	v.port = 1;
	char *none[] = {"prog", NULL};
	assert_int_equal(parse(&v, 1, none), 0);
	assert_int_equal(v.port, 7000); /* env beats default */
}

static void test_empty_env_is_ignored(void **state)
{
	struct vals v = {"d", 5, 1};
	char *argv[] = {"prog", NULL};

	setenv("T_LISTEN", "", 1);
	setenv("T_PORT", "", 1);
	setenv("T_VERBOSE", "", 1);
	assert_int_equal(parse(&v, 1, argv), 0);
	assert_string_equal(v.listen, "d");
	assert_int_equal(v.port, 5);
	assert_int_equal(v.verbose, 1);
}

static void test_equals_form_and_value_into_argv(void **state)
{
	struct vals v = {NULL, 0, 0};
	char *argv[] = {"prog", "--listen=::1", "--port=-3", NULL};

	assert_int_equal(parse(&v, 3, argv), 0);
	assert_ptr_equal(v.listen, argv[1] + 9); /* not copied */
	assert_string_equal(v.listen, "::1");
	assert_int_equal(v.port, -3);

	char *sep[] = {"prog", "--listen", "a b", NULL};
	assert_int_equal(parse(&v, 3, sep), 0);
	assert_ptr_equal(v.listen, sep[2]);
}

static void test_switches(void **state)
{
	struct vals v = {NULL, 0, 0};
	char *on[] = {"prog", "--verbose", NULL};
	char *off[] = {"prog", "--verbose=0", NULL};
	char *none[] = {"prog", NULL};

	assert_int_equal(parse(&v, 2, on), 0);
	assert_int_equal(v.verbose, 1);
	setenv("T_VERBOSE", "1", 1);
	assert_int_equal(parse(&v, 2, off), 0); /* flag beats env */
	assert_int_equal(v.verbose, 0);
	setenv("T_VERBOSE", "0", 1);
	v.verbose = 1;
	assert_int_equal(parse(&v, 1, none), 0);
	assert_int_equal(v.verbose, 0);
	setenv("T_VERBOSE", "yes", 1);
	assert_int_equal(parse(&v, 1, none), 0);
	assert_int_equal(v.verbose, 1);
}

static void test_help_prints_usage_to_stdout(void **state)
{
	struct vals v = {"127.0.0.1", 8090, 0};
	char out[4096];
	char *argv[] = {"prog", "--port", "1", "--help", "--bogus", NULL};
	char *h[] = {"prog", "-h", NULL};

	assert_int_equal(parse_capture(1, out, sizeof(out), &v, 5, argv), 1);
	HAS(out, "usage: prog [options]\ntest summary line\n");
	HAS(out, "--listen S");
	HAS(out, "(default 127.0.0.1); env T_LISTEN");
	/* the default shown is the value at that point: after --port 1 */
	HAS(out, "--port N");
	HAS(out, "(default 1); env T_PORT");
	HAS(out, "--verbose ");
	HAS(out, "--help");
	assert_int_equal(parse_capture(1, out, sizeof(out), &v, 2, h), 1);
	HAS(out, "usage: prog");
}

static void test_bad_values_are_refused(void **state)
{
	struct vals v = {"x", 77, 0};
	char err[4096];
	char *bad_int[] = {"prog", "--port", "12x", NULL};
	char *empty_int[] = {"prog", "--port=", NULL};
	char *too_big[] = {"prog", "--port", "2147483648", NULL};
	char *missing[] = {"prog", "--port", NULL};
	char *unknown[] = {"prog", "--prot", "1", NULL};
	char *prefix[] = {"prog", "--po", "1", NULL};
	char *stray[] = {"prog", "extra", NULL};
	char *single[] = {"prog", "-port", "1", NULL};
	char *none[] = {"prog", NULL};

	assert_int_equal(parse_capture(2, err, sizeof(err), &v, 3, bad_int), -1);
	HAS(err, "port needs a whole number, got \"12x\"");
	assert_int_equal(v.port, 77);
	assert_int_equal(parse(&v, 2, empty_int), -1);
	assert_int_equal(parse(&v, 3, too_big), -1);
	assert_int_equal(v.port, 77);
	assert_int_equal(parse_capture(2, err, sizeof(err), &v, 2, missing), -1);
	HAS(err, "--port needs a value");
	assert_int_equal(parse_capture(2, err, sizeof(err), &v, 3, unknown), -1);
	HAS(err, "unknown option --prot");
	HAS(err, "usage: prog");
	assert_int_equal(parse(&v, 3, prefix), -1);
	assert_int_equal(parse_capture(2, err, sizeof(err), &v, 2, stray), -1);
	HAS(err, "unexpected argument \"extra\"");
	assert_int_equal(parse(&v, 3, single), -1);

	setenv("T_PORT", "eighty", 1);
	assert_int_equal(parse_capture(2, err, sizeof(err), &v, 1, none), -1);
	HAS(err, "T_PORT: port needs a whole number");
	assert_int_equal(v.port, 77);
	assert_string_equal(v.listen, "x");
}

static void test_int_range(void **state)
{
	struct vals v = {NULL, 0, 0};
	char *max[] = {"prog", "--port", "2147483647", NULL};
	char *min[] = {"prog", "--port", "-2147483647", NULL};
	char *below[] = {"prog", "--port", "-2147483648", NULL};

	assert_int_equal(parse(&v, 3, max), 0);
	assert_int_equal(v.port, 2147483647);
	assert_int_equal(parse(&v, 3, min), 0);
	assert_int_equal(v.port, -2147483647);
	assert_int_equal(parse(&v, 3, below), -1);
}

static void test_stack_port(void **state)
{
	assert_int_equal(cfg_stack_port(0), 8080);
	assert_int_equal(cfg_stack_port(10), 8090);
	setenv("PORT", "28080", 1);
	assert_int_equal(cfg_stack_port(1), 28081);
	setenv("PORT", "65335", 1); /* room for every offset up to +200 */
	assert_int_equal(cfg_stack_port(50), 65385);
	setenv("PORT", "65336", 1);
	assert_int_equal(cfg_stack_port(0), 8080);
	setenv("PORT", "0", 1);
	assert_int_equal(cfg_stack_port(2), 8082);
	setenv("PORT", "80x", 1);
	assert_int_equal(cfg_stack_port(0), 8080);
	setenv("PORT", "", 1);
	assert_int_equal(cfg_stack_port(30), 8110);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_defaults_stay_without_env_or_flags, clear_env),
	    cmocka_unit_test_setup(test_env_over_default_flag_over_env, clear_env),
	    cmocka_unit_test_setup(test_empty_env_is_ignored, clear_env),
	    cmocka_unit_test_setup(test_equals_form_and_value_into_argv, clear_env),
	    cmocka_unit_test_setup(test_switches, clear_env),
	    cmocka_unit_test_setup(test_help_prints_usage_to_stdout, clear_env),
	    cmocka_unit_test_setup(test_bad_values_are_refused, clear_env),
	    cmocka_unit_test_setup(test_int_range, clear_env),
	    cmocka_unit_test_setup(test_stack_port, clear_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
