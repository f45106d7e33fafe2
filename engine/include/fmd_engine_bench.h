/* SPDX-License-Identifier: MIT */
/* Timed runs for a strong-scaling benchmark: the kernel alone on pages held in memory, one thread
 * without the parallel machinery, and the whole pipeline into a scratch folder; plus the
 * statistics a sweep reports (median, nearest-rank percentile, Karp-Flatt and the Amdahl fit).
 * Measures and computes only; the caller prints. */
#ifndef FMD_ENGINE_BENCH_H
#define FMD_ENGINE_BENCH_H

#include <stdbool.h>
#include <stddef.h>

#include "fmd_engine.h"
#include "fmd_engine_placement.h"

/** Pages loaded once and kept in memory for kernel-only runs. The caller fills batch, in and n
 * (fmd_io_pages_load()) and allocates results (n slots); fmd_engine_bench_pages_destroy() frees
 * all three. */
typedef struct fmd_engine_bench_pages {
    fmd_io_batch *batch;
    fmd_io_input in;
    fmd_result *results;
    size_t n;
} fmd_engine_bench_pages;

/** Free what @p kb holds and zero it. Safe on a zeroed struct. */
void fmd_engine_bench_pages_destroy(fmd_engine_bench_pages *kb);

/** One timed kernel run of @p kb's pages on @p pl's threads with batch state @p k.
 * @param lat receives each page's render time in seconds (kb->n slots); may be NULL.
 * @param util receives the CPU utilisation (busy time over threads x wall).
 * @return the wall time in seconds. Threads: call from one thread; it unbinds itself after. */
double fmd_engine_bench_kernel(fmd_engine_bench_pages *kb, fmd_kernel_batch *k, fmd_placement *pl,
                               const fmd_engine_cfg *cfg, double *lat, double *util);

/** One thread, a plain loop over @p kb's pages: no parallel region, no scheduler, no hook.
 * @return the wall time in seconds, or 0 when the arenas could not be made. */
double fmd_engine_bench_kernel_single(fmd_engine_bench_pages *kb, const fmd_engine_cfg *cfg);

/** One end-to-end run of @p cfg into the scratch folder @p out, which it empties first (and
 * makes, for an NDJSON stream, which goes to OUT/out.ndjson). @p floor times the I/O floor
 * instead: every page's bytes passed through unrendered.
 * @param lat receives each page's latency (cfg->collect_latency is set when not NULL).
 * @param n_pages, util, wall receive the pages, CPU utilisation and wall seconds.
 * @param what, what_len receive what failed, on a failure.
 * @return FMD_OK or the run's failure. Threads: call from one thread. */
fmd_status fmd_engine_bench_e2e(const fmd_engine_cfg *cfg, fmd_placement *pl, const char *out,
                                bool floor, double *lat, size_t *n_pages, double *util,
                                double *wall, char *what, size_t what_len);

/** Make a fresh scratch folder PARENT/fastmd-bench.XXXXXX for end-to-end runs, so that only a
 * folder the benchmark made is ever emptied or removed, never the user's own files.
 * @param parent the folder to make it in (made when missing); NULL: /dev/shm when writable,
 * else /tmp. @param out, out_len receive its path.
 * @return FMD_OK; FMD_E_USAGE when the path does not fit in @p out_len; FMD_E_CANTCREATE with
 * *err (an errno) when a folder cannot be made. Ownership: remove it with
 * fmd_engine_bench_remove_tree(). Threads: reentrant. */
fmd_status fmd_engine_bench_scratch_create(const char *parent, char *out, size_t out_len, int *err);

/** Remove the folder @p dir and everything under it (no link is followed). Best effort. */
void fmd_engine_bench_remove_tree(const char *dir);

/** Sort @p v ascending. */
void fmd_engine_bench_sort(double *v, size_t n);
/** The median of @p v (n >= 1), which it sorts in place. */
double fmd_engine_bench_median(double *v, size_t n);
/** Percentile @p q (0 to 1) of the sorted @p v, nearest rank; 0 when n is 0. */
double fmd_engine_bench_percentile(const double *v, size_t n, double q);

/** Speedup *s of a median @p t against the one-thread median @p t1 (0: none) at @p p threads,
 * and its Karp-Flatt serial fraction *kf. @return whether there is one (p > 1, a speedup). */
bool fmd_engine_bench_scaling(int p, double t, double t1, double *s, double *kf);

/*** The report of a sweep: the table, the Amdahl fit, JSON ***/

/** Most thread counts one sweep measures. */
#define FMD_ENGINE_BENCH_MAX_COUNTS 256

/** One thread count's figures. */
typedef struct fmd_engine_bench_row {
    int threads;
    double median, min, max; /**< seconds over the timed runs */
    double util;             /**< CPU utilisation, 0 to 1 */
    double p50, p95, p99;    /**< seconds per page */
    double floor_median;     /**< I/O floor at this thread count, 0 when not measured */
} fmd_engine_bench_row;

/** A finished sweep. Speedups are against the first row when it has one thread. */
typedef struct fmd_engine_bench_report {
    const char *mode; /**< "kernel", "ndjson" or "tree" */
    size_t n_pages;
    int repeat;
    bool io_floor; /**< the rows have floor_median */
    const fmd_engine_bench_row *rows;
    int n_rows;           /**< >= 1 */
    double single_median; /**< one thread without the parallel machinery; 0 when not timed */
} fmd_engine_bench_report;

/** Parse a list of thread counts such as "1,2,4" or "1-16" (each from 1 to 4096) into @p out
 * (@p cap slots). @return how many, or -1 on a malformed list or more than @p cap.
 * Threads: reentrant. */
int fmd_engine_bench_counts_parse(const char *s, int *out, int cap);

/** Append the scaling table (a blank line, a heading, one line per row), then, when there is
 * anything to fit, the Amdahl fit line, then with single_median the comparison line.
 * @return FMD_OK or FMD_E_NOMEM. Ownership: appends to @p out. Threads: reentrant. */
fmd_status fmd_engine_bench_table_format(const fmd_engine_bench_report *r, fmd_buf *out);

/** Append every figure of @p r as one JSON object and a newline.
 * @return FMD_OK or FMD_E_NOMEM. Ownership: appends to @p out. Threads: reentrant. */
fmd_status fmd_engine_bench_json_format(const fmd_engine_bench_report *r, fmd_buf *out);

/*** The sweep: every timed run of a benchmark, open/run/close ***/

/** What one sweep measures. Zero-initialise, then set what the flags say. */
typedef struct fmd_engine_bench_sweep_cfg {
    fmd_engine_cfg cfg; /**< source, options, schedule, windows; ndjson_path set: NDJSON mode */
    const char *out;    /**< the scratch folder end-to-end runs write into (emptied before each) */
    bool kernel_only;   /**< time the kernel on pages loaded once; no I/O, no @p out */
    bool io_floor;      /**< also time the I/O floor beside each end-to-end run */
    bool single;        /**< also time one thread without the parallel machinery */
    int repeat;         /**< timed runs per thread count (>= 1), after one discarded warm-up */
    const int *counts;  /**< the thread counts, in order */
    /** 1 to FMD_ENGINE_BENCH_MAX_COUNTS; 0: 1, 2, ... up to the threads of a plan made from
     * @p place as given (at most FMD_ENGINE_BENCH_MAX_COUNTS) */
    int n_counts;
    /** How threads are placed; threads and auto_threads are set for each count. */
    fmd_engine_placement_opts place;
    /** Called after each thread count's runs with its placement and the topology's status and
     * errno (FMD_OK, 0 when it loaded), for warnings; may be NULL. */
    void (*placed)(const fmd_placement *pl, fmd_status topo_st, int topo_err, void *userdata);
    void *userdata;
} fmd_engine_bench_sweep_cfg;

/** A sweep: its pages, its figures and, after a failure, what failed. */
typedef struct fmd_engine_bench_sweep {
    fmd_engine_bench_sweep_cfg c;
    size_t n_pages;               /**< set by fmd_engine_bench_sweep_open() */
    fmd_engine_bench_report rep;  /**< the finished sweep, set by fmd_engine_bench_sweep_run() */
    char what[4200];              /**< on a failure: what failed (a path, "loading", ...) */
    fmd_engine_bench_pages kb;    /* kernel only: the pages in memory */
    double *lat, *times, *floors; /* per page; per timed run; per timed run of the floor */
    fmd_engine_bench_row *rows;   /* one per thread count */
    int counts[FMD_ENGINE_BENCH_MAX_COUNTS]; /* with n_counts 0: 1..the plan's threads */
} fmd_engine_bench_sweep;

/** Count the pages of @p c->cfg.src (kernel only: load them once), choose the thread counts
 * when c->n_counts is 0, and allocate the figures.
 * @return FMD_OK, the walk's, the load's or the plan's failure, or FMD_E_NOMEM; sw->what says
 * what failed.
 * Ownership: copies @p c (its pointers must outlive the sweep); close @p sw with
 * fmd_engine_bench_sweep_close(), also after a failure. Threads: call from one thread. */
fmd_status fmd_engine_bench_sweep_open(fmd_engine_bench_sweep *sw,
                                       const fmd_engine_bench_sweep_cfg *c);

/** Time every thread count (and, when asked, the single-thread loop): a warm-up, then
 * c.repeat timed runs each. On FMD_OK, sw->rep holds the figures (valid until close).
 * @return FMD_OK, or the first failing run's or placement's status with sw->what.
 * Threads: call from one thread, not inside a parallel region. */
fmd_status fmd_engine_bench_sweep_run(fmd_engine_bench_sweep *sw);

/** Free what @p sw holds and zero it. Safe on a zeroed or failed sweep. Leaves c.out alone. */
void fmd_engine_bench_sweep_close(fmd_engine_bench_sweep *sw);

/* Thread safety: reentrant; all state is in the caller's structures. */

#endif
