/* SPDX-License-Identifier: MIT */
/* fastmd bench: a strong-scaling sweep on the build engine. For each thread count: median wall
 * time and range, speedup, efficiency, the Karp-Flatt serial fraction, CPU utilisation, pages/s
 * and per-page latency percentiles; then an Amdahl fit. Kernel only (pages in memory) or end to
 * end, optionally beside the I/O floor (same tree, same writer, no rendering) and a plain
 * one-thread loop without the parallel machinery. */
#define _XOPEN_SOURCE 700 /* nftw() is an XSI extension */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fmd_io.h"
#include "cli.h"

static const char help[] =
    "Usage: fastmd bench [options] SRC\n"
    "\n"
    "Strong-scaling sweep: time the pipeline on SRC at each thread count, REPEAT times after\n"
    "one discarded warm-up, and report the median, the min-max range, speedup, parallel\n"
    "efficiency, the Karp-Flatt serial fraction, CPU utilisation, pages/s and p50/p95/p99\n"
    "per-page latency, then fit Amdahl's law (serial fraction f, predicted speedup at 8, 16,\n"
    "64 and 256 cores).\n"
    "\n"
    "Options:\n"
    "  --threads LIST            thread counts, e.g. 1,2,4 or 1-16 (default 1..physical cores)\n"
    "  --repeat R                timed runs per thread count (default 5)\n"
    "  --kernel-only             time the kernel alone, pages already in memory\n"
    "  --io-floor                also time the I/O floor beside each end-to-end run: read every\n"
    "                            page and write its bytes to its output path, same writer\n"
    "  --compare-single          also time one thread without the parallel machinery\n"
    "  --ndjson                  end to end into one NDJSON stream instead of a file tree\n"
    "  --out DIR                 end-to-end output goes to a new folder fastmd-bench.XXXXXX\n"
    "                            that bench makes inside DIR (default /dev/shm, else /tmp) and\n"
    "                            removes at the end; nothing else in DIR is touched\n"
    "  --json FILE               also write every figure as JSON\n"
    "  --schedule lpt|dynamic    page schedule (default lpt; dynamic is the naive baseline)\n"
    "  --writer-pool             create files in a pool of writer threads, one per rendering\n"
    "                            thread and on its core, instead of on the rendering thread\n"
    "  --max-memory BYTES, --queue-size N, --profile P   as for build\n"
    "  --dialect, --unsafe, --no-heading-ids, --no-bind  as for build\n"
    "  --help                    show this help\n";

enum {
    OPT_REPEAT = OPT_COMMAND_BASE,
    OPT_KERNEL_ONLY,
    OPT_IO_FLOOR,
    OPT_COMPARE_SINGLE,
    OPT_BENCH_NDJSON,
    OPT_OUT,
    OPT_JSON,
    OPT_BENCH_SCHEDULE,
    OPT_BENCH_NO_BIND,
    OPT_WRITER_POOL,
};

#define MAX_COUNTS 256

typedef struct row {
    int threads;
    double median, min, max;
    double util;
    double p50, p95, p99; /* seconds per page */
    double floor_median;  /* I/O floor at this thread count, 0 when not measured */
} row;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Percentile q (0..1) of @p v (sorted in place), nearest rank. */
static double percentile(double *v, size_t n, double q)
{
    if (n == 0)
        return 0;
    size_t k = (size_t)ceil(q * (double)n);
    return v[k ? k - 1 : 0];
}

static int parse_counts(const char *s, int *out)
{
    int n = 0;
    while (*s) {
        char *end;
        long a = strtol(s, &end, 10), b = a;
        if (end == s || a < 1 || a > 4096)
            return -1;
        if (*end == '-') {
            s = end + 1;
            b = strtol(s, &end, 10);
            if (end == s || b < a || b > 4096)
                return -1;
        }
        for (long v = a; v <= b; v++) {
            if (n == MAX_COUNTS)
                return -1;
            out[n++] = (int)v;
        }
        s = end;
        if (*s == ',')
            s++;
        else if (*s != '\0')
            return -1;
    }
    return n;
}

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    return remove(path);
}

static void rm_tree(const char *dir)
{
    nftw(dir, rm_entry, 64, FTW_DEPTH | FTW_PHYS);
}

/*** Kernel only ***/

typedef struct kernel_bench {
    fmd_io_batch *batch;
    fmd_io_input in;
    fmd_result *results;
    size_t n;
} kernel_bench;

/* One timed kernel run on @p pl's threads; returns seconds, fills latencies. */
static double kernel_run(kernel_bench *kb, fmd_kernel_batch *k, fmd_placement *pl,
                         const fmd_engine_cfg *cfg, double *lat, double *util)
{
    int nt = pl->plan->n_threads;
    fmd_thread_stats ts[FMD_NUMA_MAX_THREADS];
    fmd_batch_run run = {.base = kb->in.base, .pages = kb->in.refs, .n = kb->n,
                         .opt = &cfg->opt, .results = kb->results, .hook = &pl->hook,
                         .stats = ts, .schedule = cfg->schedule};
    double t0 = fmd_clock_now();
    fmd_kernel_run_batch(k, &run);
    double dt = fmd_clock_now() - t0;
    fmd_numa_unbind_thread(pl->plan, NULL);
    double busy = 0;
    for (int t = 0; t < nt; t++)
        busy += ts[t].busy_s;
    *util = dt > 0 ? busy / ((double)nt * dt) : 0;
    for (size_t i = 0; i < kb->n && lat; i++)
        lat[i] = kb->results[i].render_s;
    return dt;
}

/* One thread, a plain loop over the pages: no parallel region, no scheduler, no hook. */
static double kernel_single(kernel_bench *kb, const fmd_engine_cfg *cfg)
{
    fmd_arena *out = NULL, *scratch = NULL;
    if (fmd_arena_create(&out, (size_t)1 << 20) != FMD_OK ||
        fmd_arena_create(&scratch, 0) != FMD_OK)
        return 0;
    double t0 = fmd_clock_now();
    for (size_t i = 0; i < kb->n; i++)
        fmd_kernel_render_page(kb->in.base + kb->in.refs[i].offset, kb->in.refs[i].len,
                               &cfg->opt, out, scratch, &kb->results[i]);
    double dt = fmd_clock_now() - t0;
    fmd_arena_destroy(out);
    fmd_arena_destroy(scratch);
    return dt;
}

/*** End to end ***/

static double e2e_run(fmd_engine_cfg *cfg, fmd_placement *pl, const char *out, bool floor,
                      double *lat, size_t *n_pages, double *util, const char *cmd)
{
    rm_tree(out);
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
        c.no_manifest = true;
        if (c.ndjson_path) { /* the floor of the NDJSON mode: the bytes, streamed */
            c.no_manifest = false;
        }
    }
    c.collect_latency = lat != NULL;
    fmd_engine_result r;
    fmd_status st = fmd_engine_run(&c, pl, &r);
    if (st != FMD_OK)
        cli_die(cli_exit_code(st), cmd, "%s: %s", r.what ? r.what : "", fmd_status_str(st));
    double busy = 0;
    for (int t = 0; t < r.nthreads; t++)
        busy += r.thread_stats[t].busy_s;
    *util = r.wall > 0 ? busy / ((double)r.nthreads * r.wall) : 0;
    if (lat && r.latency)
        memcpy(lat, r.latency, r.pages * sizeof *lat);
    *n_pages = r.pages;
    double wall = r.wall;
    fmd_engine_result_free(&r);
    return wall;
}

int cli_cmd_bench(int argc, char **argv)
{
    static const char *cmd = "bench";
    static const struct option longopts[] = {
        CLI_COMMON_LONG_OPTIONS,
        {"repeat", 1, NULL, OPT_REPEAT},
        {"kernel-only", 0, NULL, OPT_KERNEL_ONLY},
        {"io-floor", 0, NULL, OPT_IO_FLOOR},
        {"compare-single", 0, NULL, OPT_COMPARE_SINGLE},
        {"ndjson", 0, NULL, OPT_BENCH_NDJSON},
        {"out", 1, NULL, OPT_OUT},
        {"json", 1, NULL, OPT_JSON},
        {"schedule", 1, NULL, OPT_BENCH_SCHEDULE},
        {"no-bind", 0, NULL, OPT_BENCH_NO_BIND},
        {"writer-pool", 0, NULL, OPT_WRITER_POOL},
        {"max-memory", 1, NULL, OPT_MAX_MEMORY},
        {"queue-size", 1, NULL, OPT_QUEUE_SIZE},
        {"profile", 1, NULL, OPT_PROFILE},
        {NULL, 0, NULL, 0}};
    cli_common c;
    cli_common_init(&c);
    cli_tuning tune = {0};
    fmd_engine_cfg cfg = {0};
    int repeat = 5;
    bool kernel_only = false, io_floor = false, single = false;
    const char *out = NULL, *json = NULL;
    int code;
    opterr = 0;
    while ((code = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (code) {
        case OPT_HELP: printf("%s", help); return FMD_EXIT_OK;
        case OPT_REPEAT:
            repeat = atoi(optarg);
            if (repeat < 1 || repeat > 1000)
                cli_die(FMD_EXIT_USAGE, cmd, "--repeat must be from 1 to 1000, not '%s'", optarg);
            break;
        case OPT_KERNEL_ONLY: kernel_only = true; break;
        case OPT_IO_FLOOR: io_floor = true; break;
        case OPT_COMPARE_SINGLE: single = true; break;
        case OPT_BENCH_NDJSON: cfg.ndjson_path = "(bench)"; break;
        case OPT_OUT: out = optarg; break;
        case OPT_JSON: json = optarg; break;
        case OPT_BENCH_NO_BIND: c.no_bind = true; break;
        case OPT_WRITER_POOL: cfg.writer_pool = true; break;
        case OPT_BENCH_SCHEDULE:
            cfg.schedule = cli_parse_schedule(optarg, cmd);
            break;
        case OPT_MAX_MEMORY:
        case OPT_QUEUE_SIZE:
        case OPT_PROFILE: cli_tuning_option(&tune, code, optarg, cmd); break;
        default:
            if (code == OPT_THREADS) {
                c.threads_arg = optarg;
                break;
            }
            if (code == '?' || code == ':' || !cli_common_option(&c, code, optarg, cmd))
                cli_die(FMD_EXIT_USAGE, cmd, "unknown or incomplete option '%s'",
                        argv[optind - 1]);
        }
    }
    if (argc - optind != 1)
        cli_die(FMD_EXIT_USAGE, cmd, "expected SRC, got %d arguments", argc - optind);
    if (kernel_only && (io_floor || cfg.ndjson_path))
        cli_die(FMD_EXIT_USAGE, cmd, "--kernel-only times no I/O: drop --io-floor and --ndjson");
    cfg.src = argv[optind];
    cli_tuning_apply(&tune, &c, cmd);
    cfg.opt = c.opt;
    cfg.message = cli_page_message; /* formatted as build does, though bench prints none */
    cfg.max_memory = tune.max_memory;
    cfg.queue_size = tune.queue_size;

    /* The thread counts: the list, or 1..cores. */
    int counts[MAX_COUNTS], n_counts;
    const char *list = c.threads_arg;
    c.threads_arg = NULL;
    if (list != NULL) {
        n_counts = parse_counts(list, counts);
        if (n_counts <= 0)
            cli_die(FMD_EXIT_USAGE, cmd, "--threads: '%s' is not a list like 1,2,4 or 1-16",
                    list);
    } else {
        fmd_placement probe;
        cli_common pc = c;
        pc.threads_arg = NULL;
        if (cli_placement_open(&probe, &pc, cmd) != FMD_OK)
            cli_die(FMD_EXIT_SOFTWARE, cmd, "cannot plan threads");
        n_counts = probe.plan->n_threads > MAX_COUNTS ? MAX_COUNTS : probe.plan->n_threads;
        for (int i = 0; i < n_counts; i++)
            counts[i] = i + 1;
        cli_placement_close(&probe);
    }

    /* End-to-end output goes to a fresh folder that bench makes, under --out or /dev/shm (else
     * /tmp), and only that folder is ever emptied or removed: never the user's own files. */
    char out_buf[4096];
    if (!kernel_only) {
        const char *parent = out;
        if (parent == NULL)
            parent = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        else if (mkdir(parent, 0777) != 0 && errno != EEXIST)
            cli_die(FMD_EXIT_CANTCREAT, cmd, "--out %s: %s", parent, strerror(errno));
        if ((size_t)snprintf(out_buf, sizeof out_buf, "%s/fastmd-bench.XXXXXX", parent) >=
            sizeof out_buf)
            cli_die(FMD_EXIT_USAGE, cmd, "--out %s: path too long", parent);
        if (mkdtemp(out_buf) == NULL)
            cli_die(FMD_EXIT_CANTCREAT, cmd, "--out %s: %s", parent, strerror(errno));
        out = out_buf;
    }
    if (json != NULL)
        cli_check_output_path(json, "--json", cmd);

    /* Kernel only: enumerate and load once. */
    kernel_bench kb = {0};
    size_t n_pages = 0;
    if (kernel_only) {
        int err = 0;
        fmd_status st = fmd_io_enumerate_tree(cfg.src, 0, &kb.batch, &err);
        if (st != FMD_OK)
            cli_die(cli_exit_code(st), cmd, "%s: %s", cfg.src, fmd_status_str(st));
        fmd_io_batch_pages(kb.batch, &kb.n);
        st = fmd_io_load_pages(kb.batch, 0, kb.n, cfg.opt.max_input_bytes, 0, &kb.in);
        if (st != FMD_OK)
            cli_die(cli_exit_code(st), cmd, "loading: %s", fmd_status_str(st));
        kb.results = calloc(kb.n ? kb.n : 1, sizeof *kb.results);
        n_pages = kb.n;
    } else {
        fmd_io_batch *b = NULL;
        int err = 0;
        fmd_status st = fmd_io_enumerate_tree(cfg.src, 0, &b, &err);
        if (st != FMD_OK)
            cli_die(cli_exit_code(st), cmd, "%s: %s", cfg.src, fmd_status_str(st));
        fmd_io_batch_pages(b, &n_pages);
        fmd_io_batch_destroy(b);
    }
    double *lat = calloc(n_pages ? n_pages : 1, sizeof *lat);
    double *times = calloc((size_t)repeat, sizeof *times);
    double *floors = calloc((size_t)repeat, sizeof *floors);
    row *rows = calloc((size_t)n_counts, sizeof *rows);
    if (lat == NULL || times == NULL || floors == NULL || rows == NULL)
        cli_die(FMD_EXIT_OSERR, cmd, FMD_NOMEM_TEXT);

    printf("fastmd bench: %s, %zu pages, %s%s, %d timed runs per count (1 warm-up discarded), "
           "schedule %s\n",
           cfg.src, n_pages,
           kernel_only ? "kernel only (pages in memory)"
                       : (cfg.ndjson_path ? "end to end, NDJSON stream" : "end to end, file tree"),
           kernel_only ? "" : (io_floor ? " + I/O floor" : ""), repeat,
           cfg.schedule == FMD_SCHED_LPT ? "lpt" : "dynamic");
    if (!kernel_only)
        printf("output: %s\n", out);

    double single_median = 0;
    if (single) {
        for (int r = -1; r < repeat; r++) {
            double t = kernel_only ? kernel_single(&kb, &cfg) : 0;
            if (!kernel_only) {
                /* One thread end to end, no windows, in the engine: the closest serial form of
                 * the pipeline (its loader and sink still run, on one thread). */
                cli_common one = c;
                one.threads_arg = "1";
                one.no_bind = true;
                fmd_placement p1;
                if (cli_placement_open(&p1, &one, cmd) != FMD_OK)
                    cli_die(FMD_EXIT_SOFTWARE, cmd, "cannot plan threads");
                double u;
                size_t np;
                fmd_engine_cfg sc = cfg;
                sc.schedule = FMD_SCHED_DYNAMIC;
                t = e2e_run(&sc, &p1, out, false, NULL, &np, &u, cmd);
                cli_placement_close(&p1);
            }
            if (r >= 0)
                times[r] = t;
        }
        single_median = median_of(times, repeat);
    }

    fmd_kernel_batch *kbatch = NULL;
    for (int ci = 0; ci < n_counts; ci++) {
        char tbuf[16];
        snprintf(tbuf, sizeof tbuf, "%d", counts[ci]);
        c.threads_arg = tbuf;
        fmd_placement pl;
        if (cli_placement_open(&pl, &c, cmd) != FMD_OK)
            cli_die(FMD_EXIT_SOFTWARE, cmd, "cannot plan %d threads", counts[ci]);
        if (kernel_only &&
            fmd_kernel_batch_create(&kbatch, pl.plan->n_threads) != FMD_OK)
            cli_die(FMD_EXIT_OSERR, cmd, FMD_NOMEM_TEXT);
        double util_sum = 0;
        for (int r = -1; r < repeat; r++) {
            double u = 0, t;
            size_t np;
            if (kernel_only)
                t = kernel_run(&kb, kbatch, &pl, &cfg, lat, &u);
            else
                t = e2e_run(&cfg, &pl, out, false, lat, &np, &u, cmd);
            if (r >= 0) {
                times[r] = t;
                util_sum += u;
            }
            if (io_floor) {
                double fu;
                double tf = e2e_run(&cfg, &pl, out, true, NULL, &np, &fu, cmd);
                if (r >= 0)
                    floors[r] = tf;
            }
        }
        row *rw = &rows[ci];
        rw->threads = pl.plan->n_threads;
        rw->util = util_sum / repeat;
        rw->median = median_of(times, repeat);
        rw->min = times[0];
        rw->max = times[repeat - 1];
        rw->floor_median = io_floor ? median_of(floors, repeat) : 0;
        qsort(lat, n_pages, sizeof *lat, cmp_double);
        rw->p50 = percentile(lat, n_pages, 0.50);
        rw->p95 = percentile(lat, n_pages, 0.95);
        rw->p99 = percentile(lat, n_pages, 0.99);
        fmd_kernel_batch_destroy(kbatch);
        kbatch = NULL;
        cli_placement_report(&pl, cmd);
        cli_placement_close(&pl);
    }
    if (!kernel_only) {
        rm_tree(out); /* the folder bench made, with what its runs wrote */
        rmdir(out);
    }

    /* The table. Speedup is against the first row when it has one thread. */
    double t1 = rows[0].threads == 1 ? rows[0].median : 0;
    printf("\n%7s %10s %19s %8s %6s %10s %6s %10s %8s %8s %8s", "threads", "median s",
           "min-max s", "speedup", "eff", "karp-flatt", "cpu", "pages/s", "p50 us", "p95 us",
           "p99 us");
    if (io_floor)
        printf(" %10s %9s", "floor s", "e2e/floor");
    printf("\n");
    double sxx = 0, sxy = 0;
    fmd_arena *ja = NULL;
    fmd_buf jb;
    if (fmd_arena_create(&ja, 0) != FMD_OK)
        cli_die(FMD_EXIT_OSERR, cmd, FMD_NOMEM_TEXT);
    fmd_buf_init(&jb, ja);
    char tmp[512];
    snprintf(tmp, sizeof tmp, "{\"pages\":%zu,\"mode\":\"%s\",\"repeat\":%d,\"rows\":[", n_pages,
             kernel_only ? "kernel" : (cfg.ndjson_path ? "ndjson" : "tree"), repeat);
    fmd_buf_puts(&jb, tmp);
    for (int ci = 0; ci < n_counts; ci++) {
        row *rw = &rows[ci];
        double s = t1 > 0 ? t1 / rw->median : 0;
        double p = rw->threads;
        double kf = (p > 1 && s > 0) ? (1 / s - 1 / p) / (1 - 1 / p) : 0;
        if (p > 1 && s > 0) {
            double x = 1 - 1 / p, y = 1 / s - 1 / p;
            sxx += x * x;
            sxy += x * y;
        }
        char range[40], kfs[16];
        snprintf(range, sizeof range, "%.4f-%.4f", rw->min, rw->max);
        if (p > 1 && s > 0)
            snprintf(kfs, sizeof kfs, "%.4f", kf);
        else
            snprintf(kfs, sizeof kfs, "-");
        printf("%7d %10.4f %19s %8.2f %5.0f%% %10s %5.0f%% %10.0f %8.1f %8.1f %8.1f", rw->threads,
               rw->median, range, s, s > 0 ? 100 * s / p : 0, kfs, 100 * rw->util,
               (double)n_pages / rw->median, rw->p50 * 1e6, rw->p95 * 1e6, rw->p99 * 1e6);
        if (io_floor)
            printf(" %10.4f %9.2f", rw->floor_median, rw->median / rw->floor_median);
        printf("\n");
        snprintf(tmp, sizeof tmp,
                 "%s{\"threads\":%d,\"median\":%.6f,\"min\":%.6f,\"max\":%.6f,\"speedup\":%.4f,"
                 "\"efficiency\":%.4f,\"karpFlatt\":%.5f,\"cpuUtilisation\":%.4f,"
                 "\"pagesPerSecond\":%.1f,\"p50\":%.9f,\"p95\":%.9f,\"p99\":%.9f,"
                 "\"ioFloor\":%.6f}",
                 ci ? "," : "", rw->threads, rw->median, rw->min, rw->max, s, s > 0 ? s / p : 0,
                 p > 1 ? kf : 0, rw->util, (double)n_pages / rw->median, rw->p50, rw->p95,
                 rw->p99, rw->floor_median);
        fmd_buf_puts(&jb, tmp);
    }
    /* Least squares through the origin of 1/S - 1/p = f (1 - 1/p) over the runs with p > 1.
     * A serial fraction outside [0, 1] (superlinear speedup from caches, or noise) predicts
     * nothing: it is clamped, and the raw fit is printed beside it. */
    double f_raw = sxx > 0 ? sxy / sxx : 0;
    double f = f_raw < 0 ? 0 : (f_raw > 1 ? 1 : f_raw);
    const int cores[] = {8, 16, 64, 256};
    if (t1 > 0 && sxx > 0) {
        printf("\nAmdahl fit: serial fraction f = %.4f", f);
        if (f != f_raw)
            printf(" (the fit gave %.4f, clamped to [0, 1])", f_raw);
        printf("; predicted speedup");
        for (int i = 0; i < 4; i++)
            printf(" %d: %.1fx%s", cores[i], 1 / (f + (1 - f) / cores[i]), i < 3 ? "," : "\n");
    }
    snprintf(tmp, sizeof tmp, "],\"amdahlSerialFraction\":%.6f,\"amdahlFit\":%.6f,\"predicted\":{",
             f, f_raw);
    fmd_buf_puts(&jb, tmp);
    for (int i = 0; i < 4; i++) {
        snprintf(tmp, sizeof tmp, "%s\"%d\":%.3f", i ? "," : "", cores[i],
                 1 / (f + (1 - f) / cores[i]));
        fmd_buf_puts(&jb, tmp);
    }
    snprintf(tmp, sizeof tmp, "},\"singleMedian\":%.6f}\n", single_median);
    fmd_buf_puts(&jb, tmp);
    if (single)
        printf("one thread without the parallel machinery: median %.4f s; %d-thread run / "
               "single = %.3f\n",
               single_median, rows[0].threads, rows[0].median / single_median);
    int jerr = 0;
    fmd_status jst = json != NULL ? fmd_io_write_output(AT_FDCWD, json, jb.ptr, jb.len, &jerr)
                                  : FMD_OK;
    if (jst != FMD_OK)
        cli_die(cli_exit_code(jst), cmd, "%s: cannot write: %s%s%s", json, fmd_status_str(jst),
                jerr ? ": " : "", jerr ? strerror(jerr) : "");
    fmd_arena_destroy(ja);
    free(lat);
    free(times);
    free(floors);
    free(rows);
    free(kb.results);
    fmd_io_input_free(&kb.in);
    fmd_io_batch_destroy(kb.batch);
    return FMD_EXIT_OK;
}
