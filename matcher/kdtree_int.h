/* kdtree_int.h - the k-d tree's layout (see kdtree.c), shared by kdtree.c
 * (memory, building, removal) and kdsearch.c (queries, curve keys). Private
 * to the matcher's core. */
#ifndef RS_MATCHER_KDTREE_INT_H
#define RS_MATCHER_KDTREE_INT_H

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
	size_t bytes;
};

#endif
