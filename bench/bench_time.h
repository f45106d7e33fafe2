/* SPDX-License-Identifier: MIT */
/* The clock and the median shared by the in-memory benchmarks (kernel_bench, frontmatter_compare).
 * Benchmark code, not part of fastmd. */
#ifndef FMD_BENCH_TIME_H
#define FMD_BENCH_TIME_H

#include <stdlib.h>
#include <time.h>

/** Seconds on the monotonic clock. */
static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/** The median of @p v[0..n), n > 0; sorts @p v in place. */
static inline double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
