/* test_lib_pg.c - unit tests (cmocka) for the pure helpers of lib/pg (in
 * pg_query.c): which results are ok, which failures mean "the store is
 * unavailable" (503) rather than "the query failed", why a batch was not
 * committed, and the messages for logs. Results are made without a server
 * (PQmakeEmptyPGresult). The connection and the FIFO need a server:
 * tests/integration/test_rating.py (group commit, Postgres stopped, hung,
 * a refused row). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "pg.h"

static void test_result_ok(void **state)
{
	PGresult *cmd = PQmakeEmptyPGresult(NULL, PGRES_COMMAND_OK);
	PGresult *tuples = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	PGresult *fatal = PQmakeEmptyPGresult(NULL, PGRES_FATAL_ERROR);
	PGresult *aborted = PQmakeEmptyPGresult(NULL, PGRES_PIPELINE_ABORTED);

	assert_true(pg_result_ok(cmd));
	assert_true(pg_result_ok(tuples));
	assert_false(pg_result_ok(fatal));
	assert_false(pg_result_ok(aborted));
	assert_false(pg_result_ok(NULL));
	assert_string_equal(pg_result_err(cmd), "ok");
	assert_string_equal(pg_result_err(NULL), "connection lost");
	PQclear(cmd);
	PQclear(tuples);
	PQclear(fatal);
	PQclear(aborted);
}

static void test_result_unavailable(void **state)
{
	PGresult *ok = PQmakeEmptyPGresult(NULL, PGRES_COMMAND_OK);
	PGresult *fatal = PQmakeEmptyPGresult(NULL, PGRES_FATAL_ERROR);

	/* NULL: the connection was lost or the query timed out */
	assert_true(pg_result_unavailable(NULL));
	assert_false(pg_result_unavailable(ok));
	/* an error without SQLSTATE is libpq's own (the connection) */
	assert_true(pg_result_unavailable(fatal));
	assert_int_equal(pg_up(NULL), 0);
	PQclear(ok);
	PQclear(fatal);
}

static void test_batch_cause(void **state)
{
	PGresult *ok = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	PGresult *bad = PQmakeEmptyPGresult(NULL, PGRES_FATAL_ERROR);
	PGresult *aborted = PQmakeEmptyPGresult(NULL, PGRES_PIPELINE_ABORTED);
	PGresult *commit = PQmakeEmptyPGresult(NULL, PGRES_FATAL_ERROR);
	const PGresult *rows[4] = {ok, bad, aborted, aborted};
	const PGresult *clean[2] = {ok, ok};
	const PGresult *lost[2] = {NULL, NULL};

	/* the row's own error, not the aborted ones after it, nor the commit */
	assert_ptr_equal(pg_batch_cause(commit, rows, 4), bad);
	/* no row failed: the COMMIT's answer (e.g. a deferred constraint) */
	assert_ptr_equal(pg_batch_cause(commit, clean, 2), commit);
	/* only aborted rows (BEGIN failed): the commit */
	assert_ptr_equal(pg_batch_cause(commit, rows + 2, 2), commit);
	/* connection lost: nothing */
	assert_null(pg_batch_cause(NULL, lost, 2));
	assert_null(pg_batch_cause(NULL, NULL, 0));
	PQclear(ok);
	PQclear(bad);
	PQclear(aborted);
	PQclear(commit);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_result_ok),
	    cmocka_unit_test(test_result_unavailable),
	    cmocka_unit_test(test_batch_cause),
	};

	return cmocka_run_group_tests_name("lib_pg", tests, NULL, NULL);
}
