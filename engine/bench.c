/* SPDX-License-Identifier: MIT */
/* Timed runs and statistics for fastmd bench (fmd_engine_bench.h). Never prints or exits. */
#define _XOPEN_SOURCE 700 /* nftw() is an XSI extension; mkdtemp() */
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fmd_clock.h"
#include "fmd_engine_bench.h"
#include "fmd_engine_summary.h"

void fmd_engine_bench_pages_destroy(fmd_engine_bench_pages *kb)
{
    free(kb->results);
    fmd_io_input_destroy(&kb->in);
    fmd_io_batch_destroy(kb->batch);
    memset(kb, 0, sizeof *kb);
}

double fmd_engine_bench_kernel(fmd_engine_bench_pages *kb, fmd_kernel_batch *k, fmd_placement *pl,
                               const fmd_engine_cfg *cfg, double *lat, double *util)
{
    int nt = pl->plan->n_threads;
    fmd_thread_stats ts[FMD_NUMA_MAX_THREADS];
    fmd_batch_run run = {.base = kb->in.base,
                         .pages = kb->in.refs,
                         .n = kb->n,
                         .opt = &cfg->opt,
                         .results = kb->results,
                         .hook = &pl->hook,
                         .stats = ts,
                         .schedule = cfg->schedule};
    double t0 = fmd_clock_now();
    fmd_kernel_batch_run(k, &run);
    double dt = fmd_clock_now() - t0;
    fmd_numa_thread_unbind(pl->plan, NULL);
    double busy = 0;
    for (int t = 0; t < nt; t++)
        busy += ts[t].busy_s;
    *util = dt > 0 ? busy / ((double)nt * dt) : 0;
    for (size_t i = 0; i < kb->n && lat; i++)
        lat[i] = kb->results[i].render_s;
    return dt;
}

double fmd_engine_bench_kernel_single(fmd_engine_bench_pages *kb, const fmd_engine_cfg *cfg)
{
    fmd_arena *out = NULL, *scratch = NULL;
    if (fmd_arena_create(&out, (size_t)1 << 20) != FMD_OK ||
        fmd_arena_create(&scratch, 0) != FMD_OK) {
        fmd_arena_destroy(out);
        return 0;
    }
    double t0 = fmd_clock_now();
    for (size_t i = 0; i < kb->n; i++)
        fmd_kernel_page_render(kb->in.base + kb->in.refs[i].offset, kb->in.refs[i].len, &cfg->opt,
                               out, scratch, &kb->results[i]);
    double dt = fmd_clock_now() - t0;
    fmd_arena_destroy(out);
    fmd_arena_destroy(scratch);
    return dt;
}

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    return remove(path);
}

fmd_status fmd_engine_bench_scratch_create(const char *parent, char *out, size_t out_len, int *err)
{
    *err = 0;
    if (parent == NULL)
        parent = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    else if (mkdir(parent, 0777) != 0 && errno != EEXIST)
        *err = errno;
    if (*err == 0 && (size_t)snprintf(out, out_len, "%s/fastmd-bench.XXXXXX", parent) >= out_len)
        return FMD_E_USAGE;
    if (*err == 0 && mkdtemp(out) == NULL)
        *err = errno;
    return *err ? FMD_E_CANTCREATE : FMD_OK;
}

void fmd_engine_bench_remove_tree(const char *dir)
{
    nftw(dir, remove_entry, 64, FTW_DEPTH | FTW_PHYS);
}

fmd_status fmd_engine_bench_e2e(const fmd_engine_cfg *cfg, fmd_placement *pl, const char *out,
                                bool floor, double *lat, size_t *n_pages, double *util,
                                double *wall, char *what, size_t what_len)
{
    fmd_engine_bench_remove_tree(out);
    fmd_engine_cfg c = *cfg;
    char ndjson[4200];
    if (cfg->ndjson_path != NULL) {
        mkdir(out, 0777);
        snprintf(ndjson, sizeof ndjson, "%s/out.ndjson", out);
        c.ndjson_path = ndjson;
        c.out_dir = NULL;
    } else {
        c.out_dir = out;
    }
    if (floor) {
        c.opt.passthrough = true;
        /* The floor of the tree mode writes no manifest; that of the NDJSON mode streams the
         * bytes, and the stream is its manifest. */
        c.no_manifest = c.ndjson_path == NULL;
    }
    c.collect_latency = lat != NULL;
    fmd_engine_result r;
    fmd_status st = fmd_engine_run(&c, pl, &r);
    if (st != FMD_OK) {
        snprintf(what, what_len, "%s", r.what ? r.what : "");
    } else {
        *util = fmd_engine_result_utilisation(&r, NULL);
        if (lat && r.latency)
            memcpy(lat, r.latency, r.pages * sizeof *lat);
        *n_pages = r.pages;
        *wall = r.wall;
    }
    fmd_engine_result_destroy(&r);
    return st;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void fmd_engine_bench_sort(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
}

double fmd_engine_bench_median(double *v, size_t n)
{
    fmd_engine_bench_sort(v, n);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double fmd_engine_bench_percentile(const double *v, size_t n, double q)
{
    if (n == 0)
        return 0;
    size_t k = (size_t)ceil(q * (double)n);
    return v[k ? k - 1 : 0];
}

bool fmd_engine_bench_scaling(int p, double t, double t1, double *s, double *kf)
{
    *s = t1 > 0 ? t1 / t : 0;
    bool has = p > 1 && *s > 0;
    *kf = has ? (1 / *s - 1 / (double)p) / (1 - 1 / (double)p) : 0;
    return has;
}
