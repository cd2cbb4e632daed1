/* batch.h - the pure core of rating-svc's group commit: which rating goes
 * into which row of a batch, and which answer each rating gets from the
 * batch's outcome. No I/O, no libpq: the glue (main.c) turns Postgres'
 * results into the plain values below.
 *
 * A batch is the ratings that queued while the previous batch was in
 * flight (at most --batch-max). They are inserted in ONE transaction (one
 * row per distinct ride_id, INSERT ... ON CONFLICT DO NOTHING RETURNING),
 * so a rating's 201 still means its row is committed. */
#ifndef RS_RATING_BATCH_H
#define RS_RATING_BATCH_H

/* The answer of one rating. RB_REPLAY: the transaction was refused because
 * of one row's data (not the store's availability): the rating is inserted
 * again on its own, so one bad rating cannot fail its neighbours. */
enum rb_answer {
	RB_CREATED = 201,     /* its row was inserted, and committed */
	RB_DUPLICATE = 409,   /* the ride was rated already (before, or earlier in this batch) */
	RB_FAILED = 500,      /* its own row was refused by Postgres */
	RB_UNAVAILABLE = 503, /* nothing of the batch is known to be committed */
	RB_REPLAY = 1,        /* insert it again, alone */
};

/* How the transaction ended, as the glue read it. */
enum rb_outcome {
	RB_COMMITTED, /* COMMIT succeeded: every row's result is known */
	RB_UNKNOWN,   /* connection lost, timed out, store unavailable: 503 */
	RB_REFUSED,   /* a statement failed for its data (or a deadlock, ...) */
};

/* Plans the rows of a batch of n ratings (n >= 1) with the given ride ids:
 * one row per distinct ride id, rows ordered by ride id (bytewise), so two
 * batches running at the same time (several instances) take their row locks
 * in the same order and cannot deadlock. Sets row_of[i] (the row of rating
 * i) and first_of_row[r] (the first rating, in arrival order, whose ride id
 * row r holds: the one that gets the row's result; the others with the same
 * ride id are duplicates inside the batch). Both arrays have n entries.
 * Returns the number of rows. */
int rb_plan(const char *const *ride_ids, int n, int *row_of, int *first_of_row);

/* The answer of each of n ratings (answers[i]). inserted[r] is 1 when row r
 * returned its ride id (inserted), 0 when ON CONFLICT skipped it; read only
 * for RB_COMMITTED. For a duplicate inside the batch: 409 when the batch
 * committed (the first one's row, or an older one, holds the ride), else
 * the same as the first. RB_REFUSED: RB_REPLAY for all when the batch had
 * more than one row, RB_FAILED when its only row was the refused one. */
void rb_answers(int n, const int *row_of, const int *first_of_row, int nrows,
                enum rb_outcome outcome, const int *inserted, int *answers);

#endif
