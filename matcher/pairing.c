/* pairing.c — closest-pair-first pairing (see pairing.h) and the fare.
 *
 * Algorithm, in two stages. (1) The grid pre-pass (below), in rounds: the
 * greedy over only the pairs within a radius, found in a grid of cells and
 * sorted by their key, makes the greedy's first pairs without any tree
 * (~77% of them on uniform points in its first round, ~93% after its
 * rounds at 1e6). (2) The queue finishes on the riders and drivers left: a
 * k-d tree over the drivers; every rider's nearest live driver (smallest
 * squared distance, then lowest driver index) goes into a min-queue keyed
 * (d2, rider), carrying the driver. Pop the smallest entry: if its driver
 * is still free, that is the next pair; otherwise re-query that rider and
 * put it back. The queue is a radix heap (see below), since the keys come
 * out in increasing order. Below GRID_MIN (128) on a side, with far fewer
 * riders than drivers or the reverse (grid_pays), or when the grid would not
 * pay (clustered points, see below), the queue alone.
 *
 * Why the queue equals the brute force exactly: drivers only ever disappear, so a
 * rider's true best (d2, driver) over the live drivers can only grow, and so
 * can its key (d2, rider): every queued entry is a lower bound of its
 * rider's true best. When the smallest entry's driver is still live, the
 * entry is still its rider's true best (the minimum over a superset that is
 * still present), and every other rider's true best is >= its own entry >=
 * this one. So it is the minimum of (d2, rider, driver) over all free pairs,
 * which is exactly the pair the brute force takes (ties: lower rider, then
 * lower driver). Since the minimum only grows as pairs are removed, pairs
 * come out in increasing key order. Why the pre-pass does: the brute force
 * is the same as scanning all pairs sorted by (d2, rider, driver) and
 * taking each whose rider and driver are both still free; the pairs with
 * d2 <= t come first in that scan and whether one is taken depends on the
 * pairs before it only, so the scan of those alone takes exactly the
 * brute force's pairs up to t, in its order. After it every free pair has
 * d2 > t, above every pair made, and the rest (the next round, or the
 * queue) continues the same scan on the riders and drivers left: copied in
 * the order of their indices, so lower index is still lower and ties break
 * the same, with their d2 computed by the same expression. Output is the
 * concatenation, still in increasing key order.
 *
 * Riders are queried first in the order of the tree's Z-order curve (a radix
 * sort of their curve keys) so consecutive queries walk the same paths, on
 * several threads when there are many (below); the tree's parts are built
 * on threads too, the riders' sort meanwhile (build_all).
 *
 * Where the time goes (1e6 uniform, one thread, perf, cpu-clock samples,
 * shares of the pairing's samples): the grid's scans ~46% (two passes over
 * ~13.5 candidates per rider, 4.6 of them within the radius), the buckets'
 * sorts and the greedy's scan ~18%, the cells' counting sorts ~13%, the
 * queue's queries ~12% and the rest of the queue ~8%. The rounds leave ~5%
 * of the pairs to the queue (1e6: 772759, 124629, 34320, 12602 and 5453
 * pairs in five rounds, 50237 left; 1e5: 5.2% left). Next: one scan
 * instead of two (the pairs placed as found, per thread), or fewer
 * candidates per rider (cells of a fraction of the radius).
 *
 * The queue alone (before the pre-pass; 1e6 uniform, one thread, perf):
 * the queries ~50% (re-queries about two thirds of it, as split before),
 * the loop and its queue ~18% (the radix heap's redistribution about a
 * third of that), building ~12%, removals ~8%. There are ~1.1 re-queries
 * per rider, and a re-query walks about as much of the tree as a first
 * query (1e5: 18 nodes and 1.7 leaves against 15 and 1.5, counted), but
 * costs more: re-queries come in the order of distance, all over the map. So while one entry is
 * settled, what the next pop reads (its rider, its driver's dead byte, leaf
 * and box) is prefetched. The riders' places are read from a huge-page copy
 * (from the caller's array on small pages, the re-queries' loads missed the
 * TLB). Tried and not kept (no gain above the noise, or a loss):
 * rebuilding the tree over the live drivers when half or three quarters
 * are gone; a float copy of the leaves as a conservative prefilter (+17%:
 * the prefilter's arithmetic costs more than the misses it saves);
 * prefetching boxes deeper on a query's path or a removal's ancestors;
 * Floyd-Rivest selection for the build (-7% of the build only). Walking
 * several re-queries together so that their cache misses overlap (up to 16
 * searches taking turns a node at a time, each prefetching its next node;
 * the riders whose driver is gone set aside, the entries popped after them
 * held, and everything put back after the batch, below the heap's last key
 * into a small sorted side buffer): slower, 1e5 cold 120 ms against 95 ms
 * with batches of 8 (tree_ms, load ~1); alone (1e6 drivers, half removed, 1e6 queries in
 * random order) 540-555 ms one at a time, 640-670 ms as one lane, 620-785 ms
 * with 2-16 lanes, the same with the prefetch taken out: the out-of-order
 * core already overlaps the loads of consecutive independent queries (on
 * this box 16 MB of random independent loads cost 5 ns each, dependent ones
 * 135 ns), and taking turns likely costs the branch predictor. Box distances
 * without branches (max instead of if) and a leaf scanned as eight lanes at
 * once: no gain (the same alone, 410-445 ms against 415-440 ms along the
 * curve). Scanning the dead driver's leaf first for a tighter bound on a
 * re-query: +4-7% (that leaf is a miss of its own). The tree built from the
 * points' curve order (leaves of 8 consecutive points, boxes only): the
 * build is faster but the boxes overlap, 3.5 times slower in all. The radix
 * heap on digits of 4 bits (385 buckets) instead of single bits: entries
 * move less (1e6: 13.0 moves per rider instead of 23.4, counted), but the
 * time did not move above the noise (1e6, one thread, CPU per call,
 * medians of 3: 1542 against 1573 ms, load ~6). Pairing in rounds (a second
 * tree over the riders; every rider's best driver and the best rider of
 * every driver some rider points at, the round's queries on two threads;
 * all mutual bests are greedy pairs, taken at once; then only the bests
 * that died are redone): right (the oracle tests, TSan clean), but 224
 * rounds at 1e5 and 655 at 1e6, 3.8-4.0 queries per rider against ~2.1
 * here, so 25-40% more CPU per call (1e5 150 against 108 ms, 1e6 1840
 * against 1470); ctx_ms interleaved with this code, medians of 3 pairs,
 * load ~3: 1e5 159 against 122 ms, 1e6 1881 against 1570 (an earlier set:
 * 99 against 96, 1127 against 1259). Rounds until a quarter of the riders
 * is left, then this queue: 1e5 146 against 122 ms, 1e6 1299 against 1570
 * (CPU 140 and 1700 ms). Where it won (at 1e6 only), the second core did
 * the extra work; at 1e5 it never did.
 * With the grid pre-pass: the coarse buckets sorted on two threads (in
 * halves, then one scan): no gain (ctx_ms 1e6 835-860 against 831-840 ms,
 * 3 pairs, load ~2). Cells of 3 or 5 points instead of 1.5 in the rounds
 * after the first (the points left are sparser): 2-13% more CPU (1e6 709
 * and 639 against 627 ms), likely because the riders and drivers left lie
 * in different places, so bigger cells mostly add candidates. 0.7, 1, 2
 * or 3 points per cell in the first round instead of 1.5 (one round then):
 * 1e6 CPU 897, 805, 779, 897 against 765 ms (at 3 the candidates went over
 * the budget and the cells shrank).
 */
#include "pairing.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bigalloc.h"
#include "kdtree.h"

/* ---- monotone priority queue: a radix heap on 128-bit keys ----
 *
 * Key = (bits of d2, rider): the d2 bits (d2 >= +0, so they order like the
 * double) and the high half of lo; the low half carries the driver's slot in
 * the tree, which is no part of the key. Keys are unique (one entry per
 * rider), and a re-queried rider's new key is >= its old one. So keys popped
 * never decrease and keys pushed are never below the last popped one, which
 * is all a radix heap needs: an entry sits in the bucket numbered by the
 * highest bit in which it differs from the last popped key (0 = equal,
 * 1..32 = rider, 65..128 = d2). Popping empties the lowest non-empty bucket
 * into lower ones relative to its minimum. Buckets are lists of fixed chunks
 * from a pool sized up front (at most ceil(n/CH) chunks are full and each
 * bucket has at most one partial chunk, plus the one being emptied), so
 * nothing allocates after the start. Moving entries is sequential, unlike a
 * binary heap's random walk over the whole array. */

#define RQ_CH  63 /* entries per chunk: 16 + 63 * 16 = 1024 bytes */
#define RQ_NB  129
#define RQ_NIL UINT32_MAX

struct ent {
	uint64_t hi; /* bits of d2 */
	uint64_t lo; /* rider << 32 | driver slot */
};

struct chunk {
	uint32_t next, fill;
	uint64_t pad;
	struct ent e[RQ_CH];
};
/* The chunks of a queue for n entries hold n kd_kv (the sort's scratch). */
_Static_assert(sizeof(struct chunk) >= RQ_CH * sizeof(struct kd_kv), "chunks as sort scratch");

struct bucket {
	uint32_t head; /* chunk list; only the head chunk may be partial */
	struct ent min;
};

struct rq {
	struct chunk *pool;
	uint32_t free_list;
	uint64_t mask[3]; /* non-empty buckets */
	struct ent last;
	struct bucket b[RQ_NB];
};

static size_t rq_chunks_for(size_t n)
{
	return n / RQ_CH + RQ_NB + 4;
}

static inline int ent_less(struct ent a, struct ent b)
{
	return a.hi < b.hi || (a.hi == b.hi && a.lo >> 32 < b.lo >> 32);
}

static inline unsigned rq_index(const struct rq *q, struct ent e)
{
	if (e.hi != q->last.hi)
		return 65 + (63 - (unsigned)__builtin_clzll(e.hi ^ q->last.hi));
	uint64_t lo = (e.lo ^ q->last.lo) >> 32; /* the rider; the slot is no part of the key */
	if (lo)
		return 1 + (63 - (unsigned)__builtin_clzll(lo));
	return 0;
}

/* Starts an empty queue on a pool of nc chunks (nc >= rq_chunks_for(n)). */
static void rq_init(struct rq *q, struct chunk *pool, size_t nc)
{
	q->pool = pool;
	for (size_t i = 0; i < nc; i++)
		q->pool[i].next = i + 1 < nc ? (uint32_t)(i + 1) : RQ_NIL;
	q->free_list = 0;
	q->mask[0] = q->mask[1] = q->mask[2] = 0;
	q->last = (struct ent){0, 0};
	for (int i = 0; i < RQ_NB; i++)
		q->b[i].head = RQ_NIL;
}

static inline void rq_put(struct rq *q, struct ent e)
{
	unsigned i = rq_index(q, e);
	struct bucket *b = &q->b[i];
	struct chunk *c;
	if (b->head == RQ_NIL || (c = &q->pool[b->head])->fill == RQ_CH) {
		uint32_t k = q->free_list; /* never RQ_NIL: the pool is big enough */
		c = &q->pool[k];
		q->free_list = c->next;
		c->next = b->head;
		c->fill = 0;
		if (b->head == RQ_NIL) {
			b->min = e;
			q->mask[i >> 6] |= 1ULL << (i & 63);
		}
		b->head = k;
	}
	c->e[c->fill++] = e;
	if (ent_less(e, b->min))
		b->min = e;
}

/* Removes and returns the smallest entry; the queue must not be empty. */
static struct ent rq_pop(struct rq *q)
{
	if (!(q->mask[0] & 1)) {
		unsigned i = q->mask[0] & ~1ULL ? (unsigned)__builtin_ctzll(q->mask[0] & ~1ULL)
		             : q->mask[1]       ? 64 + (unsigned)__builtin_ctzll(q->mask[1])
		                                : 128;
		struct bucket *b = &q->b[i];
		uint32_t k = b->head;
		q->last = b->min;
		b->head = RQ_NIL;
		q->mask[i >> 6] &= ~(1ULL << (i & 63));
		while (k != RQ_NIL) {
			struct chunk *c = &q->pool[k];
			for (uint32_t j = 0; j < c->fill; j++)
				rq_put(q, c->e[j]); /* lands in a bucket below i */
			uint32_t next = c->next;
			c->next = q->free_list;
			q->free_list = k;
			k = next;
		}
	}
	/* Bucket 0 now holds exactly the last key (keys are unique: one per rider). */
	struct bucket *b0 = &q->b[0];
	struct chunk *c = &q->pool[b0->head];
	struct ent e = c->e[--c->fill];
	if (c->fill == 0) {
		b0->head = c->next;
		c->next = q->free_list;
		q->free_list = (uint32_t)(c - q->pool);
		if (b0->head == RQ_NIL)
			q->mask[0] &= ~1ULL;
	}
	return e;
}

/* The entry the next pop will return unless a smaller one is put first
 * (a hint for prefetching); the queue must not be empty. */
static inline struct ent rq_peek(const struct rq *q)
{
	unsigned i = q->mask[0]   ? (unsigned)__builtin_ctzll(q->mask[0])
	             : q->mask[1] ? 64 + (unsigned)__builtin_ctzll(q->mask[1])
	                          : 128;
	return q->b[i].min;
}

static inline struct ent make_ent(double d2, uint32_t rider, uint32_t z)
{
	struct ent e;
	memcpy(&e.hi, &d2, sizeof e.hi);
	e.lo = (uint64_t)rider << 32 | z;
	return e;
}

/* ---- the context ---- */

/* A rider's query result is its queue entry: (d2, rider) and its nearest
 * driver's slot (the smallest d2, then the lowest driver index); its place
 * is read from a copy of the caller's array in huge pages (the re-queries
 * read it in no order: on small pages it missed the TLB, and its loads in
 * the pop loop took 16% of the time more at 1e6). Keeping more candidates per rider was
 * measured (1e5 and 1e6 uniform): 4 save 55% of the re-queries, but each
 * query costs more and the re-queries that remain are the expensive ones
 * (in depleted areas), so one is the fastest. */

#define GRID_MIN      128 /* fewer on a side: the queue alone */
#define GRID_K        1.5
#define GRID_R        0.99
#define GRID_BUDGET   24
#define GRID_ROUNDS   12
#define GRID_MAX      (1u << 27)
#define GRID_CELLS(n) (4 * (uint64_t)(n) + 64) /* at most */
#define GRID_EDGES(m) (8 * (size_t)(m) + 4096) /* pairs, and the largest bucket's copy */

/* The grid pre-pass's buffers (see grid_pass), kept like the others. */
enum {
	GB_CELLS,
	GB_RCELLS,
	GB_DP,
	GB_DI,
	GB_RP,
	GB_RO,
	GB_DC,
	GB_RC,
	GB_BK,
	GB_FC,
	GB_EDGE,
	GB_TAKEN,
	GB_RMAP,
	GB_DMAP,
	GB_DL,
	GB_N
};
struct gbuf {
	void *p;
	size_t cap; /* bytes */
};

struct pairing_ctx {
	struct kd_tree *t;
	struct kd_kv *kv;         /* cap_r: the riders in curve order */
	struct pairing_point *pl; /* cap_r: the riders' places */
	struct chunk *pool;
	size_t cap_r, cap_chunks;
	unsigned threads; /* for the build and the riders' first queries */
	size_t grid_min;  /* the grid pre-pass from this many on each side */
	struct gbuf g[GB_N];
};

/* ---- the riders' first queries, on several threads ----
 *
 * Every rider's first query reads the tree only and writes its own kd_kv
 * (in curve order; the key becomes the bits of d2, pad the slot), so they
 * split over threads with the same result; the queue is filled afterwards,
 * on one thread (its pops depend on the keys only, not on the order of the
 * puts). Below PAR_MIN riders a thread costs more than it saves. */

#define PAR_MIN     16384
#define THREADS_MAX 8
_Static_assert(KD_PARTS_MAX <= THREADS_MAX, "a part per thread");

struct query_job {
	const struct kd_tree *t;
	struct kd_kv *kv; /* riders in curve order */
	const struct pairing_point *riders;
	size_t from, to; /* kv[from..to) */
};

static void *query_range(void *arg)
{
	const struct query_job *j = arg;

	for (size_t k = j->from; k < j->to; k++) {
		if (k + 16 < j->to) /* the gather below misses the cache: start it early */
			__builtin_prefetch(&j->riders[j->kv[k + 16].val]);
		const struct pairing_point *p = &j->riders[j->kv[k].val];
		double d2;
		/* nd > 0: at least one candidate */
		j->kv[k].pad = kd_nearest_slot(j->t, p->x, p->y, &d2);
		memcpy(&j->kv[k].key, &d2, sizeof d2);
	}
	return NULL;
}

/* Runs fn on jobs[0..n) (each size bytes), jobs 1.. on threads of their
 * own and job 0 on this one; a thread that cannot be started leaves its
 * job to this one. Returns when all are done. */
static void run_jobs(void *(*fn)(void *), void *jobs, size_t size, unsigned n)
{
	pthread_t th[THREADS_MAX];
	int started[THREADS_MAX] = {0};
	char *job = jobs;

	for (unsigned i = 1; i < n; i++)
		started[i] = pthread_create(&th[i], NULL, fn, job + i * size) == 0;
	fn(job);
	for (unsigned i = 1; i < n; i++) {
		if (started[i])
			pthread_join(th[i], NULL);
		else
			fn(job + i * size);
	}
}

static unsigned threads_for(size_t n, unsigned threads)
{
	unsigned k = n >= PAR_MIN && threads > 1 ? threads : 1;
	return k > THREADS_MAX ? THREADS_MAX : k;
}

/* Queries kv[0..nr) on up to `threads` threads. */
static void query_all(const struct query_job *all, size_t nr, unsigned threads)
{
	struct query_job jobs[THREADS_MAX];
	unsigned n = threads_for(nr, threads);

	for (unsigned i = 0; i < n; i++) {
		jobs[i] = *all;
		jobs[i].from = nr * i / n;
		jobs[i].to = nr * (i + 1) / n;
	}
	run_jobs(query_range, jobs, sizeof jobs[0], n);
}

/* ---- building the tree, and the riders' order meanwhile ----
 *
 * The tree's parts (kd_build_start) are built on threads, from PAR_MIN
 * drivers up; the first job then sorts the riders along the tree's curve
 * (its frame is known once the build has started), so that consecutive
 * queries share paths. */

struct build_job {
	struct kd_tree *t;
	unsigned part;
	const struct pairing_point *riders; /* job 0 only: riders to copy into pl (NULL: there), */
	struct pairing_point *pl;           /* and sort into kv */
	size_t nr;
	struct kd_kv *kv, *tmp; /* nr each */
};

static void *build_part(void *arg)
{
	const struct build_job *j = arg;

	kd_build_part(j->t, j->part);
	if (j->part == 0) {
		if (j->riders)
			memcpy(j->pl, j->riders, j->nr * sizeof *j->pl);
		for (size_t i = 0; i < j->nr; i++)
			j->kv[i] = (struct kd_kv){kd_curve_key(j->t, j->pl[i].x, j->pl[i].y),
			                          (uint32_t)i, 0};
		kd_sort_kv(j->kv, j->tmp, j->nr);
	}
	return NULL;
}

/* The queue's chunks are the sort's scratch: the queue is not in use yet,
 * and they hold more than nr kd_kv. */
static void build_all(struct pairing_ctx *c, const struct pairing_point *riders, size_t nr)
{
	struct build_job jobs[KD_PARTS_MAX];
	unsigned n = kd_build_start(c->t, threads_for(kd_size(c->t), c->threads));

	for (unsigned i = 0; i < n; i++)
		jobs[i] = (struct build_job){
		    c->t, i, riders, c->pl, nr, c->kv, (struct kd_kv *)(void *)c->pool};
	run_jobs(build_part, jobs, sizeof jobs[0], n);
	kd_build_finish(c->t);
}

static size_t riders_bytes(size_t nr)
{
	return nr * (sizeof(struct kd_kv) + sizeof(struct pairing_point)) +
	       rq_chunks_for(nr) * sizeof(struct chunk);
}

static size_t grid_bytes(size_t nr, size_t nd);

size_t pairing_match_bytes(size_t nr, size_t nd)
{
	if (nr == 0 || nd == 0)
		return 0;
	return sizeof(struct pairing_ctx) + kd_bytes_for(nd) + kd_build_scratch_for(nd) +
	       riders_bytes(nr) + grid_bytes(nr, nd);
}

struct pairing_ctx *pairing_ctx_new(void)
{
	struct pairing_ctx *c = calloc(1, sizeof(struct pairing_ctx));
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (c)
		c->grid_min = GRID_MIN;
	if (c)
		c->threads = cpus > 1 ? (unsigned)(cpus < THREADS_MAX ? cpus : THREADS_MAX) : 1;
	return c;
}

void pairing_ctx_set_grid_min(struct pairing_ctx *c, size_t n)
{
	c->grid_min = n;
}

void pairing_ctx_set_threads(struct pairing_ctx *c, unsigned threads)
{
	c->threads = threads < 1 ? 1 : threads > THREADS_MAX ? THREADS_MAX : threads;
}

static void free_riders(struct pairing_ctx *c)
{
	void *bufs[] = {c->kv, c->pl, c->pool};

	for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
		free(bufs[i]);
	c->kv = NULL;
	c->pl = NULL;
	c->pool = NULL;
	c->cap_r = c->cap_chunks = 0;
}

void pairing_ctx_free(struct pairing_ctx *c)
{
	if (!c)
		return;
	kd_free(c->t);
	free_riders(c);
	for (int i = 0; i < GB_N; i++)
		free(c->g[i].p);
	free(c);
}

size_t pairing_ctx_bytes(const struct pairing_ctx *c)
{
	size_t b = sizeof *c + (c->t ? kd_bytes(c->t) : 0);
	for (int i = 0; i < GB_N; i++)
		b += c->g[i].cap;
	if (c->cap_r)
		b += c->cap_r * (sizeof(struct kd_kv) + sizeof(struct pairing_point)) +
		     c->cap_chunks * sizeof(struct chunk);
	return b;
}

/* Buffers for nr riders: kept when big enough (and not over 4 times too
 * big), else reallocated with 1/8 to spare, so a slowly growing load does
 * not reallocate every tick. */
static int reserve_riders(struct pairing_ctx *c, size_t nr)
{
	if (nr <= c->cap_r && c->cap_r <= 4 * nr + 4096)
		return 0;
	free_riders(c);
	size_t cap = nr + nr / 8, nc = rq_chunks_for(cap);
	c->kv = big_alloc(cap * sizeof *c->kv);
	c->pl = big_alloc(cap * sizeof *c->pl);
	c->pool = big_alloc(nc * sizeof *c->pool);
	if (!c->kv || !c->pl || !c->pool) {
		free_riders(c);
		return -1;
	}
	c->cap_r = cap;
	c->cap_chunks = nc;
	return 0;
}

/* ---- the grid pre-pass ----
 *
 * The greedy restricted to the pairs with d2 <= t (sorted by the full key,
 * a pair taken when both ends are free) makes exactly the greedy's
 * decisions for every key <= t (see the top of the file). Afterwards every
 * free pair has d2 > t; the next round, and then the queue, finish the
 * greedy on the riders and drivers left (indices kept in order, so ties
 * break the same).
 *
 * The pairs with d2 <= t come from a grid: cells of side c over the
 * bounding box of both sides, about GRID_K points of the larger side per
 * cell, t = (GRID_R c)^2, so every driver within sqrt(t) of a rider lies in
 * the 3 x 3 cells around it (GRID_R < 1 leaves room for rounding: cell
 * numbers are off by far less than a hundredth of a cell). Drivers and
 * riders are counting-sorted into cells (one side per thread); each cell's
 * riders scan the three rows of cells around it (each row a contiguous run
 * of drivers) twice, the rows in two parts on two threads: to count the
 * pairs per coarse bucket of d2 (floor(d2 / t * B), monotone; a few
 * thousand pairs each), then to place them. Each coarse bucket is sorted
 * by a counting sort on finer buckets (a few pairs each: d2 is about
 * uniform on [0, t] for spread-out points) and those by hand, by the full
 * key, and scanned. About 4.6 pairs per pair made are found (pi GRID_K
 * GRID_R^2), the first round makes ~77% of the pairs on uniform points.
 * If the 3 x 3 cells hold more than GRID_BUDGET candidates per pair made,
 * the cells shrink to half (clustered points), once; then, or if the cells
 * or pairs would take more memory than GRID_CELLS / GRID_EDGES, the round
 * is skipped. Rounds repeat on what is left while one makes at least an
 * eighth of the pairs possible (at most GRID_ROUNDS): the cells grow as
 * the points thin out. */

/* A buffer of at least bytes: kept when big enough (and, in a call's first
 * round, not over 4 times too big: later rounds are smaller and must not
 * shrink it), else reallocated with 1/8 to spare. */
static void *gbuf_get(struct gbuf *b, size_t bytes, int first)
{
	if (bytes <= b->cap && (!first || b->cap <= 4 * bytes + 65536))
		return b->p;
	free(b->p);
	b->cap = bytes + bytes / 8 + 64;
	b->p = big_alloc(b->cap);
	if (!b->p)
		b->cap = 0;
	return b->p;
}

struct edge {
	uint64_t hi; /* bits of d2 */
	uint64_t lo; /* rider << 32 | driver */
};

static inline int edge_less(struct edge a, struct edge b)
{
	return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo);
}

static int cmp_edge(const void *a, const void *b)
{
	const struct edge *x = a, *y = b;
	return edge_less(*y, *x) - edge_less(*x, *y);
}

static void sort_edges(struct edge *e, size_t n)
{
	if (n > 32) {
		qsort(e, n, sizeof *e, cmp_edge);
		return;
	}
	for (size_t i = 1; i < n; i++) {
		struct edge x = e[i];
		size_t j = i;
		for (; j > 0 && edge_less(x, e[j - 1]); j--)
			e[j] = e[j - 1];
		e[j] = x;
	}
}

struct grid {
	double minx, miny, inv, t;
	uint32_t gx, gy;
};

static inline uint32_t grid_cell(const struct grid *g, struct pairing_point p)
{
	double u = (p.x - g->minx) * g->inv, v = (p.y - g->miny) * g->inv;
	uint32_t cx = u < (double)g->gx ? (uint32_t)u : g->gx - 1;
	uint32_t cy = v < (double)g->gy ? (uint32_t)v : g->gy - 1;
	return cy * g->gx + cx;
}

/* The cells around (cx, cy), itself included: columns [x0, x1], rows
 * [y0, y1], within the grid. */
static inline void grid_around(const struct grid *g, uint32_t cx, uint32_t cy, uint32_t *x0,
                               uint32_t *x1, uint32_t *y0, uint32_t *y1)
{
	*x0 = cx ? cx - 1 : 0;
	*x1 = cx + 1 < g->gx ? cx + 1 : cx;
	*y0 = cy ? cy - 1 : 0;
	*y1 = cy + 1 < g->gy ? cy + 1 : cy;
}

/* The grid for n points on the larger side over box (min x, min y, max x,
 * max y), cells scale times the usual side; -1 if there is none worth
 * having (all points at one spot, extents beyond the double range). */
static int grid_geom(struct grid *g, const double box[4], size_t n, double scale)
{
	double w = box[2] - box[0], h = box[3] - box[1];
	double c = fmax(sqrt(w * h * GRID_K / (double)n), fmax(w, h) * GRID_K / (double)n) * scale;
	if (!isfinite(w) || !isfinite(h) || !isfinite(c) || !(c > 0))
		return -1;
	double inv = 1 / c, fx = w * inv, fy = h * inv, r = GRID_R * c;
	if (!isfinite(inv) || !(fx < 1e9) || !(fy < 1e9) || !(r * r > 0) || !isfinite(r * r))
		return -1;
	uint64_t gx = (uint64_t)fx + 1, gy = (uint64_t)fy + 1;
	if (gx * gy > GRID_CELLS(n) || gx * gy >= 1ULL << 31)
		return -1;
	*g = (struct grid){box[0], box[1], inv, r * r, (uint32_t)gx, (uint32_t)gy};
	return 0;
}

static void bbox(double box[4], const struct pairing_point *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		double x = p[i].x, y = p[i].y;
		box[0] = x < box[0] ? x : box[0];
		box[1] = y < box[1] ? y : box[1];
		box[2] = x > box[2] ? x : box[2];
		box[3] = y > box[3] ? y : box[3];
	}
}

/* Counting sort of p[0..n) into cells, in two steps. cell_count: pc[i] =
 * the cell of point i, and cs[c + 1] = the start of cell c. cell_place then
 * places the points (sp) and their indices (si) in cell order, after which
 * cs[c] is the start of cell c and cs[c + 1] its end. */
static void cell_count(const struct grid *g, const struct pairing_point *p, size_t n, uint32_t *cs,
                       uint32_t *pc)
{
	size_t ncell = (size_t)g->gx * g->gy;
	memset(cs, 0, (ncell + 2) * sizeof *cs);
	for (size_t i = 0; i < n; i++) {
		pc[i] = grid_cell(g, p[i]);
		cs[pc[i] + 2]++;
	}
	for (size_t k = 1; k < ncell + 2; k++)
		cs[k] += cs[k - 1];
}

static void cell_place(const struct pairing_point *p, size_t n, uint32_t *cs, const uint32_t *pc,
                       struct pairing_point *sp, uint32_t *si)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t k = cs[pc[i] + 1]++;
		sp[k] = p[i];
		si[k] = (uint32_t)i;
	}
}

/* The drivers' and the riders' counting sorts, one per thread. */
struct cell_job {
	const struct grid *g;
	const struct pairing_point *p;
	size_t n;
	uint32_t *cs, *pc;
	struct pairing_point *sp; /* NULL: count only */
	uint32_t *si;
};

static void *cell_job(void *arg)
{
	const struct cell_job *j = arg;
	if (j->sp)
		cell_place(j->p, j->n, j->cs, j->pc, j->sp, j->si);
	else
		cell_count(j->g, j->p, j->n, j->cs, j->pc);
	return NULL;
}

/* Both jobs, on two threads if nt > 1. */
static void cell_jobs(struct cell_job cj[2], unsigned nt)
{
	if (nt > 1) {
		run_jobs(cell_job, cj, sizeof cj[0], 2);
	} else {
		cell_job(&cj[0]);
		cell_job(&cj[1]);
	}
}

/* The pairs with d2 <= t of the cells' rows [cy0, cy1): each cell's riders
 * (rp / ro, in cell order rs) against the drivers (dp / di, in cell order
 * cs) of the 3 x 3 cells around it. Without e, counts them per coarse
 * bucket of d2 (bk[b + 2]); with e, places them (at bk[b + 1]++). Jobs of
 * different rows share nothing they write, so they run on threads. */
struct scan_job {
	const struct grid *g;
	const uint32_t *cs, *rs, *ro, *di;
	const struct pairing_point *rp, *dp;
	uint32_t cy0, cy1;
	size_t nb;
	uint32_t *bk; /* nb + 2 */
	struct edge *e;
};

static void *grid_scan(void *arg)
{
	const struct scan_job *J = arg;
	const struct grid *g = J->g;
	const uint32_t *cs = J->cs, *rs = J->rs;
	const struct pairing_point *rp = J->rp, *dp = J->dp;
	const double t = g->t, bs = (double)J->nb / t;
	uint32_t *bk = J->bk;
	struct edge *e = J->e;
	size_t nb = J->nb;

	for (uint32_t cy = J->cy0; cy < J->cy1; cy++)
		for (uint32_t cx = 0; cx < g->gx; cx++) {
			uint32_t cell = cy * g->gx + cx, x0, x1, y0, y1;
			grid_around(g, cx, cy, &x0, &x1, &y0, &y1);
			for (uint32_t k = rs[cell]; k < rs[cell + 1]; k++)
				for (uint32_t y = y0; y <= y1; y++)
					for (uint32_t j = cs[y * g->gx + x0],
					              je = cs[y * g->gx + x1 + 1];
					     j < je; j++) {
						double dx = rp[k].x - dp[j].x,
						       dy = rp[k].y - dp[j].y;
						double d2 = dx * dx + dy * dy;
						if (!(d2 <= t))
							continue;
						size_t b = (size_t)(d2 * bs);
						if (b >= nb)
							b = nb - 1;
						if (!e) {
							bk[b + 2]++;
							continue;
						}
						struct edge *x = &e[bk[b + 1]++];
						memcpy(&x->hi, &d2, sizeof d2);
						x->lo = (uint64_t)J->ro[k] << 32 | J->di[j];
					}
		}
	return NULL;
}

/* Sorts e[0..n) by the full key, d2 in [lo_b / bs, ...) of coarse bucket
 * lo_b: counting sort on finer buckets into tmp (n), then each by hand;
 * fc is scratch for n / 2 + 3 counters. The result is in tmp. */
static void sort_bucket(const struct edge *e, size_t n, struct edge *tmp, uint32_t *fc, double bs,
                        size_t lo_b)
{
	size_t nf = n / 2 + 1, base = lo_b * nf;
	double bsf = bs * (double)nf;
	memset(fc, 0, (nf + 2) * sizeof *fc);
	for (size_t i = 0; i < n; i++) {
		double d2;
		memcpy(&d2, &e[i].hi, sizeof d2);
		size_t f = (size_t)(d2 * bsf);
		f = f < base ? 0 : f - base;
		fc[(f < nf ? f : nf - 1) + 2]++;
	}
	for (size_t f = 1; f < nf + 2; f++)
		fc[f] += fc[f - 1];
	for (size_t i = 0; i < n; i++) {
		double d2;
		memcpy(&d2, &e[i].hi, sizeof d2);
		size_t f = (size_t)(d2 * bsf);
		f = f < base ? 0 : f - base;
		tmp[fc[(f < nf ? f : nf - 1) + 1]++] = e[i];
	}
	for (size_t f = 0; f < nf; f++)
		sort_edges(tmp + fc[f], fc[f + 1] - fc[f]);
}

/* What the pre-pass's buffers (gbuf_get) come to at most. */
static size_t grid_bytes(size_t nr, size_t nd)
{
	if (nr < GRID_MIN || nd < GRID_MIN)
		return 0;
	size_t n = nr > nd ? nr : nd, m = nr < nd ? nr : nd, e = GRID_EDGES(m);
	size_t cells = ((size_t)GRID_CELLS(n) + 2) * sizeof(uint32_t);
	size_t need[GB_N] = {
	    [GB_CELLS] = cells,
	    [GB_RCELLS] = cells,
	    [GB_DP] = nd * sizeof(struct pairing_point),
	    [GB_DI] = nd * sizeof(uint32_t),
	    [GB_RP] = nr * sizeof(struct pairing_point),
	    [GB_RO] = nr * sizeof(uint32_t),
	    [GB_DC] = nd * sizeof(uint32_t),
	    [GB_RC] = nr * sizeof(uint32_t),
	    [GB_BK] = 2 * (m / 1024 + 3) * sizeof(uint32_t),
	    [GB_FC] = (e / 2 + 3) * sizeof(uint32_t),
	    [GB_EDGE] = e * sizeof(struct edge),
	    [GB_TAKEN] = ((nr + 63) / 64 + (nd + 63) / 64) * sizeof(uint64_t),
	    [GB_RMAP] = nr * sizeof(uint32_t),
	    [GB_DMAP] = nd * sizeof(uint32_t),
	    [GB_DL] = nd * sizeof(struct pairing_point),
	};
	size_t b = 0;
	for (int i = 0; i < GB_N; i++)
		b += need[i] + need[i] / 8 + 64;
	return b;
}

/* The pre-pass: writes the greedy's pairs with d2 <= t to out (in order)
 * and marks their riders and drivers in *taken (bits: nr riders, then nd
 * drivers). Returns the number of pairs (0 if skipped: then *taken is not
 * set), or -1 if memory runs out. */
static long grid_pass(struct pairing_ctx *c, const struct pairing_point *R, size_t nr,
                      const struct pairing_point *D, size_t nd, struct pairing_pair *out,
                      uint64_t **taken, int first)
{
	static const double scale[] = {1.0, 0.5};
	double box[4] = {INFINITY, INFINITY, -INFINITY, -INFINITY};
	size_t n = nr > nd ? nr : nd, m = nr < nd ? nr : nd, ncell = 0;
	struct grid g;
	uint32_t *cs = NULL, *rs = NULL, *dc = gbuf_get(&c->g[GB_DC], nd * sizeof *dc, first),
		 *rc = gbuf_get(&c->g[GB_RC], nr * sizeof *rc, first);

	if (!dc || !rc)
		return -1;
	unsigned nt = threads_for(n, c->threads) > 1 ? 2 : 1; /* jobs of two kinds below */
	bbox(box, R, nr);
	bbox(box, D, nd);
	for (unsigned tries = 0;; tries++) {
		if (tries == sizeof scale / sizeof scale[0] ||
		    grid_geom(&g, box, n, scale[tries]) < 0)
			return 0;
		ncell = (size_t)g.gx * g.gy;
		cs = gbuf_get(&c->g[GB_CELLS], (ncell + 2) * sizeof *cs, first);
		rs = gbuf_get(&c->g[GB_RCELLS], (ncell + 2) * sizeof *rs, first);
		if (!cs || !rs)
			return -1;
		struct cell_job cj[2] = {{&g, D, nd, cs, dc, NULL, NULL},
		                         {&g, R, nr, rs, rc, NULL, NULL}};
		cell_jobs(cj, nt);
		/* candidates: each cell's riders times the drivers around it
		 * (cs[c + 1] is the start of cell c before the placing) */
		uint64_t cand = 0;
		for (uint32_t cy = 0; cy < g.gy; cy++)
			for (uint32_t cx = 0; cx < g.gx; cx++) {
				uint32_t cell = cy * g.gx + cx, x0, x1, y0, y1;
				grid_around(&g, cx, cy, &x0, &x1, &y0, &y1);
				uint64_t nrc = rs[cell + 2] - rs[cell + 1], around = 0;
				if (!nrc)
					continue;
				for (uint32_t y = y0; y <= y1; y++)
					around += cs[y * g.gx + x1 + 2] - cs[y * g.gx + x0 + 1];
				cand += nrc * around;
			}
		if (cand <= (uint64_t)GRID_BUDGET * m)
			break;
	}
	struct pairing_point *dp = gbuf_get(&c->g[GB_DP], nd * sizeof *dp, first),
			     *rp = gbuf_get(&c->g[GB_RP], nr * sizeof *rp, first);
	uint32_t *di = gbuf_get(&c->g[GB_DI], nd * sizeof *di, first),
		 *ro = gbuf_get(&c->g[GB_RO], nr * sizeof *ro, first);
	if (!dp || !rp || !di || !ro)
		return -1;
	struct cell_job cj[2] = {{&g, D, nd, cs, dc, dp, di}, {&g, R, nr, rs, rc, rp, ro}};
	cell_jobs(cj, nt);

	/* count the pairs per coarse bucket of d2 (a few thousand each), then
	 * place them, the cells' rows in parts on threads */
	size_t nb = m / 1024 + 1;
	uint32_t *bk = gbuf_get(&c->g[GB_BK], 2 * (nb + 2) * sizeof *bk, first);
	if (!bk)
		return -1;
	memset(bk, 0, 2 * (nb + 2) * sizeof *bk);
	struct scan_job jobs[2];
	for (unsigned i = 0; i < nt; i++)
		jobs[i] = (struct scan_job){&g,
		                            cs,
		                            rs,
		                            ro,
		                            di,
		                            rp,
		                            dp,
		                            (uint32_t)(g.gy * i / nt),
		                            (uint32_t)(g.gy * (i + 1) / nt),
		                            nb,
		                            bk + i * (nb + 2),
		                            NULL};
	run_jobs(grid_scan, jobs, sizeof jobs[0], nt);
	/* bucket b: part 0's pairs, then part 1's */
	uint32_t *b0 = bk, *b1 = bk + nb + 2, sum = 0, most = 0;
	for (size_t b = 0; b < nb; b++) {
		uint32_t n0 = b0[b + 2], n1 = b1[b + 2];
		b0[b + 1] = sum;
		b1[b + 1] = sum + n0;
		sum += n0 + n1;
		most = n0 + n1 > most ? n0 + n1 : most;
	}
	b0[nb + 1] = sum;
	if ((size_t)sum + most > GRID_EDGES(m)) /* beyond the memory promised */
		return 0;
	struct edge *e = gbuf_get(&c->g[GB_EDGE], ((size_t)sum + most) * sizeof *e, first);
	uint32_t *fc = gbuf_get(&c->g[GB_FC], ((size_t)most / 2 + 3) * sizeof *fc, first);
	size_t words = (nr + 63) / 64 + (nd + 63) / 64;
	uint64_t *tk = gbuf_get(&c->g[GB_TAKEN], words * sizeof *tk, first);
	if (!e || !tk || !fc)
		return -1;
	for (unsigned i = 0; i < nt; i++)
		jobs[i].e = e;
	run_jobs(grid_scan, jobs, sizeof jobs[0], nt);
	/* now b1[b + 1] is the end of bucket b (whether part 1 ran or not) */

	/* the greedy over them, bucket by bucket */
	memset(tk, 0, words * sizeof *tk);
	uint64_t *tr = tk, *td = tk + (nr + 63) / 64;
	size_t made = 0, start = 0;
	struct edge *tmp = e + sum;
	for (size_t b = 0; b < nb && made < m; b++) {
		size_t end = b1[b + 1], ne = end - start;
		sort_bucket(e + start, ne, tmp, fc, (double)nb / g.t, b);
		start = end;
		for (size_t i = 0; i < ne; i++) {
			uint32_t r = (uint32_t)(tmp[i].lo >> 32), d = (uint32_t)tmp[i].lo;
			if ((tr[r >> 6] >> (r & 63) | td[d >> 6] >> (d & 63)) & 1)
				continue;
			tr[r >> 6] |= 1ULL << (r & 63);
			td[d >> 6] |= 1ULL << (d & 63);
			double d2;
			memcpy(&d2, &tmp[i].hi, sizeof d2);
			out[made++] = (struct pairing_pair){r, d, sqrt(d2)};
		}
	}
	*taken = tk;
	return (long)made;
}

/* The queue's pairing of riders[0..nr) (NULL: ctx->pl holds them already,
 * reserved by the caller) with drivers[0..nd), pairs written to out with
 * rider and driver numbered 0..nr, 0..nd as passed; nr, nd > 0. Returns
 * the number of pairs or -1 if memory runs out. */
static long queue_match(struct pairing_ctx *ctx, const struct pairing_point *riders, size_t nr,
                        const struct pairing_point *drivers, size_t nd, struct pairing_pair *out)
{
	struct kd_tree *t = kd_renew(ctx->t, nd, nd / 8);
	ctx->t = t;
	if (!t || (riders && reserve_riders(ctx, nr) < 0))
		return -1;
	for (size_t i = 0; i < nd; i++)
		kd_set(t, (uint32_t)i, drivers[i].x, drivers[i].y);
	build_all(ctx, riders, nr);
	struct kd_kv *kv = ctx->kv;
	const struct pairing_point *pl = ctx->pl;
	const uint8_t *dead = kd_dead_map(t);

	struct rq q;
	rq_init(&q, ctx->pool, rq_chunks_for(nr));

	/* The riders along the tree's curve (kv), each with its nearest
	 * driver, into the queue. */
	query_all(&(struct query_job){t, kv, pl, 0, nr}, nr, ctx->threads);
	for (size_t k = 0; k < nr; k++)
		rq_put(&q, (struct ent){kv[k].key, (uint64_t)kv[k].val << 32 | kv[k].pad});

	/* An entry (d2, rider) is a lower bound of the rider's best free pair
	 * (see the top of the file) and carries the slot of the driver it came
	 * from. If that driver is free, this is the next pair (only the dead
	 * map is read: it stays in cache). Otherwise the rider is queried again
	 * (some driver is live: fewer than want <= nd are taken): if its new
	 * best is at the popped d2 it is the next pair, else the rider goes back
	 * with its new key. Pairs first record the driver's slot; the indices
	 * are looked up at the end, in one pass of independent loads rather
	 * than a cache miss in the loop. */
	size_t want = nr < nd ? nr : nd, made = 0;
	while (made < want) {
		struct ent e = rq_pop(&q);
		uint32_t r = (uint32_t)(e.lo >> 32), slot = (uint32_t)e.lo;
		if (made + 1 < want) { /* the next pop's rider and driver: their loads miss */
			struct ent nx = rq_peek(&q);
			__builtin_prefetch(&pl[nx.lo >> 32]);
			__builtin_prefetch(&dead[(uint32_t)nx.lo >> 3]);
			kd_prefetch_slot(t, (uint32_t)nx.lo);
		}
		if (dead[slot >> 3] >> (slot & 7) & 1) {
			double d2;
			uint64_t bits;
			slot = kd_nearest_slot(t, pl[r].x, pl[r].y, &d2);
			memcpy(&bits, &d2, sizeof bits);
			if (bits != e.hi) {
				rq_put(&q, make_ent(d2, r, slot));
				continue;
			}
		}
		double d2;
		memcpy(&d2, &e.hi, sizeof d2);
		out[made].rider = r;
		out[made].driver = slot;
		out[made].distance = sqrt(d2);
		made++;
		kd_remove_slot(t, slot);
	}
	for (size_t k = 0; k < made; k++)
		out[k].driver = kd_slot_index(t, out[k].driver);
	return (long)made;
}

/* Whether the pre-pass pays for nr riders and nd drivers: both at least
 * grid_min, and not far fewer riders than drivers (its cells are sized by
 * the larger side and cost its size; the queue alone costs little more
 * than the tree then). Measured (ms, queue alone against the pre-pass,
 * uniform): 1000 x 1e5 15.9 / 24.3, 12000 x 1e5 19.8 / 26.3, 25000 x 1e5
 * 28.1 / 28.4; 1e5 x 1000 12.8 / 13.5, 1e5 x 6000 25.9 / 20.3. Up to
 * GRID_MAX a side, so that the pairs' counts (at most GRID_BUDGET per pair)
 * fit in 32 bits. */
static int grid_pays(const struct pairing_ctx *ctx, size_t nr, size_t nd)
{
	return nr >= ctx->grid_min && nd >= ctx->grid_min && nd / 4 <= nr && nr / 64 <= nd &&
	       nr <= GRID_MAX && nd <= GRID_MAX;
}

long pairing_match_ctx(struct pairing_ctx *ctx, const struct pairing_point *riders, size_t nr,
                       const struct pairing_point *drivers, size_t nd, struct pairing_pair *out)
{
	if (nr == 0 || nd == 0)
		return 0;
	if (nr >= KD_NONE || nd >= KD_NONE)
		return -1;
	if (!grid_pays(ctx, nr, nd))
		return queue_match(ctx, riders, nr, drivers, nd, out);

	/* Rounds of the pre-pass, each on the riders and drivers the last one
	 * left (copied in the order of their indices to pl / dl; rmap / dmap
	 * their indices), then the queue on what is left. */
	if (reserve_riders(ctx, nr) < 0)
		return -1;
	uint32_t *rmap = gbuf_get(&ctx->g[GB_RMAP], nr * sizeof *rmap, 1),
		 *dmap = gbuf_get(&ctx->g[GB_DMAP], nd * sizeof *dmap, 1);
	struct pairing_point *rl = ctx->pl, *dl = gbuf_get(&ctx->g[GB_DL], nd * sizeof *dl, 1);
	if (!rmap || !dmap || !dl)
		return -1;
	const struct pairing_point *cr = riders, *cd = drivers;
	size_t cnr = nr, cnd = nd, made = 0;
	for (unsigned round = 0; round < GRID_ROUNDS && grid_pays(ctx, cnr, cnd); round++) {
		uint64_t *tk = NULL;
		long g = grid_pass(ctx, cr, cnr, cd, cnd, out + made, &tk, round == 0);
		if (g < 0)
			return -1;
		if (g == 0)
			break;
		size_t m = cnr < cnd ? cnr : cnd, r2 = 0, d2 = 0;
		for (size_t k = made; round && k < made + (size_t)g; k++) {
			out[k].rider = rmap[out[k].rider];
			out[k].driver = dmap[out[k].driver];
		}
		made += (size_t)g;
		if ((size_t)g == m)
			return (long)made;
		const uint64_t *tr = tk, *td = tk + (cnr + 63) / 64;
		for (size_t i = 0; i < cnr; i++) /* in place from the second round: r2 <= i */
			if (!(tr[i >> 6] >> (i & 63) & 1)) {
				rl[r2] = cr[i];
				rmap[r2++] = round ? rmap[i] : (uint32_t)i;
			}
		for (size_t i = 0; i < cnd; i++)
			if (!(td[i >> 6] >> (i & 63) & 1)) {
				dl[d2] = cd[i];
				dmap[d2++] = round ? dmap[i] : (uint32_t)i;
			}
		cr = rl;
		cd = dl;
		cnr = r2;
		cnd = d2;
		if ((size_t)g < m / 8) /* no more rounds: they stop paying */
			break;
	}
	if (cr == riders)
		return queue_match(ctx, riders, nr, drivers, nd, out);
	long q = queue_match(ctx, NULL, cnr, dl, cnd, out + made);
	if (q < 0)
		return -1;
	for (size_t k = made; k < made + (size_t)q; k++) {
		out[k].rider = rmap[out[k].rider];
		out[k].driver = dmap[out[k].driver];
	}
	return (long)(made + (size_t)q);
}

long pairing_match(const struct pairing_point *riders, size_t nr,
                   const struct pairing_point *drivers, size_t nd, struct pairing_pair *out)
{
	if (nr == 0 || nd == 0)
		return 0;
	if (nr >= KD_NONE || nd >= KD_NONE)
		return -1;
	struct pairing_ctx *c = pairing_ctx_new();
	if (!c)
		return -1;
	long ret = pairing_match_ctx(c, riders, nr, drivers, nd, out);
	pairing_ctx_free(c);
	return ret;
}

double pairing_fare_taka(double distance)
{
	return 2.0 * distance;
}
