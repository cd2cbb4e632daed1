/* test_lib_log.c - unit tests (cmocka) for lib/log's rotation by size: the
 * rename chain keeps exactly `keep` old files, a capped log rotates at the
 * cap without losing or splitting a line, stderr follows the new file, a file
 * removed or rotated by someone else is reopened, LOG_MAX_BYTES parsing, and
 * held lines (log_hold/log_flush) written in order, none lost.
 * Each test works in its own mkdtemp directory and puts fd 2 back after. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

struct tmp {
	char dir[64];
	char path[128];
	int saved_err;
};

static int setup(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "/tmp/test_lib_log.XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	snprintf(t->path, sizeof(t->path), "%s/svc.log", t->dir);
	t->saved_err = dup(STDERR_FILENO);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tmp *t = *state;
	DIR *d;
	struct dirent *e;
	char p[512];

	log_open_file("/dev/null", 0, 1); /* forget the temp file */
	dup2(t->saved_err, STDERR_FILENO);
	close(t->saved_err);
	if ((d = opendir(t->dir))) {
		while ((e = readdir(d)))
			if (e->d_name[0] != '.') {
				snprintf(p, sizeof(p), "%s/%s", t->dir, e->d_name);
				if (!getenv("KEEP_TMP"))
					unlink(p);
			}
		closedir(d);
	}
	if (!getenv("KEEP_TMP"))
		rmdir(t->dir);
	free(t);
	return 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The file's contents (malloc'd), or NULL when it does not exist. */
static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static int exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static void numbered(char *out, size_t n, const char *path, int i)
{
	if (i == 0)
		snprintf(out, n, "%s", path);
	else
		snprintf(out, n, "%s.%d", path, i);
}

static void test_rotate_files_shifts_and_drops_oldest(void **state)
{
	struct tmp *t = *state;
	char p[160], *s;

	/* svc.log, .1, .2, .3 exist; keep 3: .3 is dropped, the rest shift */
	for (int i = 0; i <= 3; i++) {
		char text[8];
		numbered(p, sizeof(p), t->path, i);
		snprintf(text, sizeof(text), "g%d\n", i);
		write_file(p, text);
	}
	assert_int_equal(log_rotate_files(t->path, 3), 0);
	assert_false(exists(t->path));
	for (int i = 1; i <= 3; i++) {
		char want[8];
		numbered(p, sizeof(p), t->path, i);
		s = read_file(p);
		assert_non_null(s);
		snprintf(want, sizeof(want), "g%d\n", i - 1);
		assert_string_equal(s, want);
		free(s);
	}
	numbered(p, sizeof(p), t->path, 4);
	assert_false(exists(p));
}

static void test_rotate_files_with_gaps_and_missing(void **state)
{
	struct tmp *t = *state;
	char p[160], *s;

	/* only svc.log: it becomes .1, nothing else appears */
	write_file(t->path, "only\n");
	assert_int_equal(log_rotate_files(t->path, 3), 0);
	numbered(p, sizeof(p), t->path, 1);
	s = read_file(p);
	assert_string_equal(s, "only\n");
	free(s);
	numbered(p, sizeof(p), t->path, 2);
	assert_false(exists(p));
	/* no svc.log at all: an error, and .1 stays where it is */
	assert_int_equal(log_rotate_files(t->path, 3), -1);
	numbered(p, sizeof(p), t->path, 2);
	assert_true(exists(p)); /* .1 moved up to .2 anyway */
	/* keep out of range */
	assert_int_equal(log_rotate_files(t->path, 0), -1);
	assert_int_equal(log_rotate_files(t->path, LOG_MAX_KEEP + 1), -1);
}

static void test_capped_log_rotates_keeps_n_and_loses_no_line(void **state)
{
	struct tmp *t = *state;
	const int64_t cap = 1000;
	const int lines = 120;
	char p[160];
	int seen_next = lines - 1; /* walking newest to oldest */

	log_init("t");
	assert_int_equal(log_open_file(t->path, cap, 3), 0);
	for (int i = 0; i < lines; i++)
		log_msg(LOG_INFO, "line %04d %s", i, "padding-padding-padding");
	/* fd 2 is the current file: what else writes to stderr lands there */
	fprintf(stderr, "raw stderr\n");
	dup2(t->saved_err, STDERR_FILENO);

	/* each line is ~60 bytes: 120 lines are ~7 files; 1 current + 3 kept */
	for (int i = 0; i <= 4; i++) {
		numbered(p, sizeof(p), t->path, i);
		if (i == 4) {
			assert_false(exists(p));
			break;
		}
		char *s = read_file(p);
		assert_non_null(s);
		struct stat st;
		assert_int_equal(stat(p, &st), 0);
		/* rotated at the first line that reached the cap */
		assert_true(st.st_size < cap + 100);
		assert_int_equal(st.st_mode & 0777, 0600);
		if (i > 0)
			assert_true(st.st_size >= cap);
		/* lines are whole and consecutive, newest file last */
		int nl = 0, first = -1, last = -1;
		for (char *q = s; (q = strstr(q, "INFO t: line ")); q++) {
			int k = atoi(q + strlen("INFO t: line "));
			if (first < 0)
				first = k;
			else
				assert_int_equal(k, last + 1);
			last = k;
			nl++;
		}
		for (char *q = s; *q; q++)
			nl -= *q == '\n';
		if (i == 0) {
			assert_non_null(strstr(s, "raw stderr\n"));
			nl++;
		}
		assert_int_equal(nl, 0); /* every newline belongs to a line */
		if (first < 0) {         /* rotated right at the last line */
			assert_int_equal(i, 0);
		} else {
			assert_int_equal(last, seen_next);
			seen_next = first - 1;
		}
		free(s);
	}
	assert_true(seen_next > 0); /* the oldest lines were dropped */
}

static void test_file_removed_or_rotated_by_someone_else(void **state)
{
	struct tmp *t = *state;
	char p[160];

	assert_int_equal(log_open_file(t->path, 400, 2), 0);
	log_msg(LOG_WARN, "before");
	/* someone (logrotate, a hand) moved it away: we write to a fresh file at
	 * the next rotation check rather than renaming theirs again */
	numbered(p, sizeof(p), t->path, 1);
	assert_int_equal(rename(t->path, p), 0);
	for (int i = 0; i < 10; i++)
		log_msg(LOG_WARN, "after %d 0123456789", i);
	dup2(t->saved_err, STDERR_FILENO);
	char *cur = read_file(t->path), *old = read_file(p);
	assert_non_null(cur);
	assert_non_null(old);
	assert_non_null(strstr(old, "before"));
	assert_non_null(strstr(old, "after 6"));
	assert_null(strstr(cur, "after 6"));
	assert_non_null(strstr(cur, "after 7"));
	assert_non_null(strstr(cur, "after 9"));
	free(cur);
	free(old);
	numbered(p, sizeof(p), t->path, 2);
	assert_false(exists(p));
	assert_true(log_file_size() < 400);
}

static void test_no_cap_never_rotates(void **state)
{
	struct tmp *t = *state;
	char p[160];

	assert_int_equal(log_open_file(t->path, 0, 3), 0);
	for (int i = 0; i < 200; i++)
		log_msg(LOG_ERROR, "line %d", i);
	dup2(t->saved_err, STDERR_FILENO);
	numbered(p, sizeof(p), t->path, 1);
	assert_false(exists(p));
	assert_true(log_file_size() > 200 * 20);
}

static void test_open_rejects_bad_arguments(void **state)
{
	struct tmp *t = *state;

	assert_int_equal(log_open_file(NULL, 10, 1), -1);
	assert_int_equal(log_open_file(t->path, -1, 1), -1);
	assert_int_equal(log_open_file(t->path, 10, 0), -1);
	assert_int_equal(log_open_file("/nonexistent-dir/x.log", 10, 1), -1);
	assert_int_equal(log_file_size(), -1);
}

static void test_parse_bytes(void **state)
{
	int64_t v;

	assert_int_equal(log_parse_bytes("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(log_parse_bytes("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(log_parse_bytes("10M", &v), 0);
	assert_int_equal(v, 10 * 1024 * 1024);
	assert_int_equal(log_parse_bytes("3k", &v), 0);
	assert_int_equal(v, 3072);
	assert_int_equal(log_parse_bytes("1G", &v), 0);
	assert_int_equal(v, 1LL << 30);
	assert_int_equal(log_parse_bytes("", &v), -1);
	assert_int_equal(log_parse_bytes("-1", &v), -1);
	assert_int_equal(log_parse_bytes("10MB", &v), -1);
	assert_int_equal(log_parse_bytes("x", &v), -1);
	assert_int_equal(log_parse_bytes("99999999999999999999", &v), -1);
	assert_int_equal(log_parse_bytes("9999999999999G", &v), -1);
}

static int count_lines(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; p && (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* Held lines wait for log_flush() and keep their order; a warning flushes
 * what was held before it and goes out at once; a full buffer is written
 * before it overflows; log_hold(0) writes the rest. */
static void test_hold_flush_order(void **state)
{
	struct tmp *t = *state;
	char *text;

	assert_int_equal(log_open_file(t->path, 0, 1), 0);
	log_hold(1);
	log_info("held one");
	log_info("held two");
	text = read_file(t->path);
	assert_non_null(text);
	assert_null(strstr(text, "held one"));
	free(text);

	log_flush();
	text = read_file(t->path);
	assert_non_null(strstr(text, "held one"));
	assert_true(strstr(text, "held one") < strstr(text, "held two"));
	free(text);

	log_info("before the warning");
	log_warn("the warning");
	text = read_file(t->path);
	assert_non_null(strstr(text, "the warning"));
	assert_true(strstr(text, "before the warning") < strstr(text, "the warning"));
	free(text);

	/* ~200 KiB of lines: more than the buffer holds, none lost, in order */
	for (int i = 0; i < 2000; i++)
		log_info("line %04d %0100d", i, 0);
	text = read_file(t->path);
	assert_true(count_lines(text, " line ") > 0); /* some went out already */
	free(text);
	log_hold(0);
	text = read_file(t->path);
	assert_int_equal(count_lines(text, " line "), 2000);
	{
		const char *p = text;
		char want[32];

		for (int i = 0; i < 2000; i++) {
			snprintf(want, sizeof(want), " line %04d ", i);
			p = strstr(p, want);
			assert_non_null(p);
		}
	}
	free(text);

	/* not holding: written at once */
	log_info("direct");
	text = read_file(t->path);
	assert_non_null(strstr(text, "direct"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_rotate_files_shifts_and_drops_oldest, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_rotate_files_with_gaps_and_missing, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_capped_log_rotates_keeps_n_and_loses_no_line,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_file_removed_or_rotated_by_someone_else, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_no_cap_never_rotates, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_rejects_bad_arguments, setup, teardown),
	    cmocka_unit_test(test_parse_bytes),
	    cmocka_unit_test_setup_teardown(test_hold_flush_order, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
