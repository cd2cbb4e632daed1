/* batch.c - see batch.h. */
#include "batch.h"

#include <stdlib.h>
#include <string.h>

int rb_plan(const char *const *ride_ids, int n, int *row_of, int *first_of_row)
{
	int nrows = 0;

	/* insertion into a sorted list of distinct ids: n is at most a few
	 * hundred, and this keeps the function free of allocation */
	for (int i = 0; i < n; i++) {
		int lo = 0, hi = nrows, found = -1;

		while (lo < hi) {
			int mid = (lo + hi) / 2;
			int c = strcmp(ride_ids[i], ride_ids[first_of_row[mid]]);

			if (c == 0) {
				found = mid;
				break;
			}
			if (c < 0)
				hi = mid;
			else
				lo = mid + 1;
		}
		if (found >= 0) {
			row_of[i] = found;
			continue;
		}
		/* a new row at lo: later rows move up by one */
		memmove(&first_of_row[lo + 1], &first_of_row[lo],
		        (size_t)(nrows - lo) * sizeof(int));
		first_of_row[lo] = i;
		for (int j = 0; j < i; j++)
			if (row_of[j] >= lo)
				row_of[j]++;
		row_of[i] = lo;
		nrows++;
	}
	return nrows;
}

void rb_answers(int n, const int *row_of, const int *first_of_row, int nrows,
                enum rb_outcome outcome, const int *inserted, int *answers)
{
	for (int i = 0; i < n; i++) {
		int r = row_of[i], first = first_of_row[r] == i;

		switch (outcome) {
		case RB_COMMITTED:
			answers[i] = first && inserted[r] ? RB_CREATED : RB_DUPLICATE;
			break;
		case RB_REFUSED: answers[i] = nrows > 1 ? RB_REPLAY : RB_FAILED; break;
		default: answers[i] = RB_UNAVAILABLE; break;
		}
	}
}
