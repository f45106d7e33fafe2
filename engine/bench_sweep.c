/* SPDX-License-Identifier: MIT */
/* The sweep of fastmd bench (fmd_engine_bench.h): load the pages, then for each thread count a
 * placement, one discarded warm-up and the timed runs, reduced to one row of figures. Never
 * prints or exits: the caller prints the heading, the warnings and the report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmd_engine_bench.h"

fmd_status fmd_engine_bench_sweep_open(fmd_engine_bench_sweep *sw,
                                       const fmd_engine_bench_sweep_cfg *c)
{
    memset(sw, 0, sizeof *sw);
    sw->c = *c;
    fmd_status st;
    fmd_io_batch *batch = NULL;
    int err = 0;
    snprintf(sw->what, sizeof sw->what, "%s", c->cfg.src);
    FMD_TRY(fmd_io_tree_enumerate(c->cfg.src, 0, &batch, &err));
    fmd_io_batch_pages(batch, &sw->n_pages);
    if (c->kernel_only) {
        sw->kb.batch = batch; /* the pages keep it: fmd_engine_bench_pages_destroy() frees it */
        sw->kb.n = sw->n_pages;
        snprintf(sw->what, sizeof sw->what, "loading");
        FMD_TRY(fmd_io_pages_load(batch, 0, sw->kb.n, c->cfg.opt.max_input_bytes, 0, &sw->kb.in));
        sw->kb.results = calloc(sw->kb.n ? sw->kb.n : 1, sizeof *sw->kb.results);
    } else {
        fmd_io_batch_destroy(batch);
    }
    if (c->n_counts == 0) { /* 1..the threads a plan gives */
        fmd_placement probe;
        fmd_status topo_st;
        snprintf(sw->what, sizeof sw->what, "cannot plan threads");
        st = fmd_engine_placement_open(&probe, &c->place, &topo_st, &err);
        int n = st == FMD_OK ? probe.plan->n_threads : 0;
        fmd_engine_placement_close(&probe);
        FMD_TRY(st);
        sw->c.n_counts = n < FMD_ENGINE_BENCH_MAX_COUNTS ? n : FMD_ENGINE_BENCH_MAX_COUNTS;
        for (int i = 0; i < sw->c.n_counts; i++)
            sw->counts[i] = i + 1;
        sw->c.counts = sw->counts;
    }
    sw->what[0] = '\0';
    sw->lat = calloc(sw->n_pages ? sw->n_pages : 1, sizeof *sw->lat);
    sw->times = calloc((size_t)c->repeat, sizeof *sw->times);
    sw->floors = calloc((size_t)c->repeat, sizeof *sw->floors);
    sw->rows = calloc((size_t)sw->c.n_counts, sizeof *sw->rows);
    if (sw->lat == NULL || sw->times == NULL || sw->floors == NULL || sw->rows == NULL ||
        (c->kernel_only && sw->kb.results == NULL))
        return FMD_E_NOMEM;
    return FMD_OK;
fail:
    return st;
}

/* Open a placement of @p threads threads (with @p no_bind, else as c.place says). */
static fmd_status place(fmd_engine_bench_sweep *sw, fmd_placement *pl, int threads, bool no_bind,
                        fmd_status *topo_st, int *topo_err)
{
    fmd_engine_placement_opts o = sw->c.place;
    o.threads = threads;
    o.auto_threads = false;
    o.profile_div = 0;
    o.no_bind = o.no_bind || no_bind;
    fmd_status st = fmd_engine_placement_open(pl, &o, topo_st, topo_err);
    if (st != FMD_OK)
        snprintf(sw->what, sizeof sw->what, "cannot plan %d thread%s", threads,
                 threads == 1 ? "" : "s");
    return st;
}

/* One end-to-end run into c.out; its wall seconds in *t. */
static fmd_status e2e(fmd_engine_bench_sweep *sw, const fmd_engine_cfg *cfg, fmd_placement *pl,
                      bool floor, double *lat, double *util, double *t)
{
    size_t n;
    return fmd_engine_bench_e2e(cfg, pl, sw->c.out, floor, lat, &n, util, t, sw->what,
                                sizeof sw->what);
}

/* --compare-single: the median of one thread without the parallel machinery. */
static fmd_status time_single(fmd_engine_bench_sweep *sw)
{
    fmd_status st = FMD_OK;
    for (int r = -1; r < sw->c.repeat && st == FMD_OK; r++) {
        double t = 0;
        if (sw->c.kernel_only) {
            t = fmd_engine_bench_kernel_single(&sw->kb, &sw->c.cfg);
        } else {
            /* One thread end to end, no windows, in the engine: the closest serial form of the
             * pipeline (its loader and sink still run, on one thread). */
            fmd_placement p1;
            fmd_status topo_st;
            int topo_err;
            double u;
            fmd_engine_cfg sc = sw->c.cfg;
            sc.schedule = FMD_SCHED_DYNAMIC;
            st = place(sw, &p1, 1, true, &topo_st, &topo_err);
            if (st == FMD_OK)
                st = e2e(sw, &sc, &p1, false, NULL, &u, &t);
            fmd_engine_placement_close(&p1);
        }
        if (r >= 0)
            sw->times[r] = t;
    }
    if (st == FMD_OK)
        sw->rep.single_median = fmd_engine_bench_median(sw->times, (size_t)sw->c.repeat);
    return st;
}

/* The timed runs of one placement, warm-up first, into sw->times, floors and lat. */
static fmd_status timed_runs(fmd_engine_bench_sweep *sw, fmd_placement *pl, double *util_sum)
{
    fmd_status st = FMD_OK;
    fmd_kernel_batch *kbatch = NULL;
    if (sw->c.kernel_only)
        FMD_TRY(fmd_kernel_batch_create(&kbatch, pl->plan->n_threads));
    for (int r = -1; r < sw->c.repeat; r++) {
        double u = 0, t, tf = 0, fu;
        if (sw->c.kernel_only)
            t = fmd_engine_bench_kernel(&sw->kb, kbatch, pl, &sw->c.cfg, sw->lat, &u);
        else
            FMD_TRY(e2e(sw, &sw->c.cfg, pl, false, sw->lat, &u, &t));
        if (sw->c.io_floor)
            FMD_TRY(e2e(sw, &sw->c.cfg, pl, true, NULL, &fu, &tf));
        if (r >= 0) {
            sw->times[r] = t;
            sw->floors[r] = tf;
            *util_sum += u;
        }
    }
fail:
    fmd_kernel_batch_destroy(kbatch);
    return st;
}

/* Time thread count number @p ci into its row. */
static fmd_status measure_count(fmd_engine_bench_sweep *sw, int ci)
{
    fmd_placement pl;
    fmd_status topo_st = FMD_OK;
    int topo_err = 0;
    double util_sum = 0;
    fmd_status st = place(sw, &pl, sw->c.counts[ci], false, &topo_st, &topo_err);
    if (st == FMD_OK)
        st = timed_runs(sw, &pl, &util_sum);
    if (st == FMD_OK) {
        size_t reps = (size_t)sw->c.repeat;
        fmd_engine_bench_row *rw = &sw->rows[ci];
        rw->threads = pl.plan->n_threads;
        rw->util = util_sum / sw->c.repeat;
        rw->median = fmd_engine_bench_median(sw->times, reps);
        rw->min = sw->times[0]; /* the median sorted them */
        rw->max = sw->times[reps - 1];
        rw->floor_median = sw->c.io_floor ? fmd_engine_bench_median(sw->floors, reps) : 0;
        fmd_engine_bench_sort(sw->lat, sw->n_pages);
        rw->p50 = fmd_engine_bench_percentile(sw->lat, sw->n_pages, 0.50);
        rw->p95 = fmd_engine_bench_percentile(sw->lat, sw->n_pages, 0.95);
        rw->p99 = fmd_engine_bench_percentile(sw->lat, sw->n_pages, 0.99);
        if (sw->c.placed != NULL)
            sw->c.placed(&pl, topo_st, topo_err, sw->c.userdata);
    }
    fmd_engine_placement_close(&pl);
    return st;
}

fmd_status fmd_engine_bench_sweep_run(fmd_engine_bench_sweep *sw)
{
    fmd_status st = FMD_OK;
    if (sw->c.single)
        FMD_TRY(time_single(sw));
    for (int ci = 0; ci < sw->c.n_counts; ci++)
        FMD_TRY(measure_count(sw, ci));
    sw->rep.mode = sw->c.kernel_only ? "kernel" : (sw->c.cfg.ndjson_path ? "ndjson" : "tree");
    sw->rep.n_pages = sw->n_pages;
    sw->rep.repeat = sw->c.repeat;
    sw->rep.io_floor = sw->c.io_floor;
    sw->rep.rows = sw->rows;
    sw->rep.n_rows = sw->c.n_counts;
fail:
    return st;
}

void fmd_engine_bench_sweep_close(fmd_engine_bench_sweep *sw)
{
    free(sw->lat);
    free(sw->times);
    free(sw->floors);
    free(sw->rows);
    fmd_engine_bench_pages_destroy(&sw->kb);
    memset(sw, 0, sizeof *sw);
}
