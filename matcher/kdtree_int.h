/* kdtree_int.h - the k-d tree's layout (see kdtree.c), shared by kdtree.c
 * (memory, building, removal) and kdsearch.c (queries, curve keys). Private
 * to the matcher's core. */
#ifndef RS_MATCHER_KDTREE_INT_H
#define RS_MATCHER_KDTREE_INT_H

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "kdtree.h"

#define KD_LEAF_SHIFT 3
#define KD_LEAF       (1u << KD_LEAF_SHIFT) /* points per leaf */

struct kd_rec {
	double x, y;
	uint32_t id;
	uint32_t pad;
};

struct kd_fbox {
	float x0, y0, x1, y1;
};

struct kd_tree {
	size_t n, live;
	uint32_t nleaves; /* L, a power of two */
	uint32_t nused;   /* leaves that hold slots: ceil(n / 8) */
	int built;
	double fx0, fy0, fsx, fsy; /* curve frame: key coordinate = (x - fx0) * fsx */
	struct kd_rec *rec;        /* n: build work; slot order after a build */
	uint32_t *pos;             /* n: slot of point index i */
	double *lxy;               /* 16 per used leaf: x[8], y[8] */
	uint8_t *dead;             /* per used leaf: bit k = slot 8j+k dead or absent */
	struct kd_fbox *box;       /* 2L: [1] root, [L + j] leaf j; [0] unused */
	size_t cap_n, cap_leaves;  /* what the buffers hold */
	unsigned nparts;           /* kd_build_start's parts: the subtrees at depth log2(nparts) */
	struct kd_part {
		double cx0, cy0, cx1, cy1; /* the cell its points lie in */
	} part[KD_PARTS_MAX];
	size_t bytes;
};

/* Rounding for the boxes: the largest float <= v, the smallest float >= v. */
static inline float kd_f_down(double v)
{
	if (v > FLT_MAX)
		return FLT_MAX;
	if (v < -FLT_MAX)
		return -INFINITY;
	float f = (float)v;
	return (double)f > v ? nextafterf(f, -INFINITY) : f;
}

static inline float kd_f_up(double v)
{
	return -kd_f_down(-v);
}

#endif
