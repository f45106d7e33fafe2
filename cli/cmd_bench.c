/* SPDX-License-Identifier: MIT */
/* fastmd bench: a strong-scaling sweep on the build engine. For each thread count: median wall
 * time and range, speedup, efficiency, the Karp-Flatt serial fraction, CPU utilisation, pages/s
 * and per-page latency percentiles; then an Amdahl fit. Kernel only (pages in memory) or end to
 * end, optionally beside the I/O floor (same tree, same writer, no rendering) and a plain
 * one-thread loop without the parallel machinery. */
#define _XOPEN_SOURCE 700 /* mkdtemp() */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fmd_engine_bench.h"
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

/* One end-to-end run (fmd_engine_bench_e2e()); its wall seconds, or exit on a failure. */
static double e2e_run(const fmd_engine_cfg *cfg, fmd_placement *pl, const char *out, bool floor,
                      double *lat, double *util)
{
    size_t n_pages;
    double wall = 0;
    char what[4200];
    fmd_status st =
        fmd_engine_bench_e2e(cfg, pl, out, floor, lat, &n_pages, util, &wall, what, sizeof what);
    if (st != FMD_OK)
        cli_die(cli_exit_code(st), "bench", "%s: %s", what, fmd_status_str(st));
    return wall;
}

/*** The command ***/

/* Everything one bench run holds, from the options to the rows of the table. */
typedef struct bench {
    cli_common c;
    fmd_engine_cfg cfg;
    int repeat;
    bool kernel_only, io_floor, single;
    const char *out, *json;
    char out_buf[4096];
    int counts[MAX_COUNTS], n_counts;
    fmd_engine_bench_pages kb;
    size_t n_pages;
    double *lat, *times, *floors; /* per page; per timed run; per timed run of the floor */
    row *rows;                    /* one per thread count */
    double single_median;         /* --compare-single, else 0 */
} bench;

static const char *const cmd = "bench";

/* Parse the options into @p b. Returns false when --help was shown (nothing more to do). */
static bool parse_args(bench *b, int argc, char **argv)
{
    static const struct option longopts[] = {CLI_COMMON_LONG_OPTIONS,
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
    cli_common_init(&b->c);
    cli_tuning tune = {0};
    b->repeat = 5;
    int code;
    opterr = 0;
    while ((code = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (code) {
        case OPT_HELP: printf("%s", help); return false;
        case OPT_REPEAT:
            b->repeat = atoi(optarg);
            if (b->repeat < 1 || b->repeat > 1000)
                cli_die(FMD_EXIT_USAGE, cmd, "--repeat must be from 1 to 1000, not '%s'", optarg);
            break;
        case OPT_KERNEL_ONLY: b->kernel_only = true; break;
        case OPT_IO_FLOOR: b->io_floor = true; break;
        case OPT_COMPARE_SINGLE: b->single = true; break;
        case OPT_BENCH_NDJSON: b->cfg.ndjson_path = "(bench)"; break;
        case OPT_OUT: b->out = optarg; break;
        case OPT_JSON: b->json = optarg; break;
        case OPT_BENCH_NO_BIND: b->c.no_bind = true; break;
        case OPT_WRITER_POOL: b->cfg.writer_pool = true; break;
        case OPT_BENCH_SCHEDULE: b->cfg.schedule = cli_parse_schedule(optarg, cmd); break;
        case OPT_MAX_MEMORY:
        case OPT_QUEUE_SIZE:
        case OPT_PROFILE: cli_tuning_option(&tune, code, optarg, cmd); break;
        default:
            if (code == OPT_THREADS) {
                b->c.threads_arg = optarg;
                break;
            }
            if (code == '?' || code == ':' || !cli_common_option(&b->c, code, optarg, cmd))
                cli_die(FMD_EXIT_USAGE, cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind != 1)
        cli_die(FMD_EXIT_USAGE, cmd, "expected SRC, got %d arguments", argc - optind);
    if (b->kernel_only && (b->io_floor || b->cfg.ndjson_path))
        cli_die(FMD_EXIT_USAGE, cmd, "--kernel-only times no I/O: drop --io-floor and --ndjson");
    b->cfg.src = argv[optind];
    cli_tuning_apply(&tune, &b->c, cmd);
    b->cfg.opt = b->c.opt;
    b->cfg.message = cli_page_message; /* formatted as build does, though bench prints none */
    b->cfg.max_memory = tune.max_memory;
    b->cfg.queue_size = tune.queue_size;
    return true;
}

/* The thread counts: the --threads list, or 1..cores. */
static void plan_counts(bench *b)
{
    const char *list = b->c.threads_arg;
    b->c.threads_arg = NULL;
    if (list != NULL) {
        b->n_counts = parse_counts(list, b->counts);
        if (b->n_counts <= 0)
            cli_die(FMD_EXIT_USAGE, cmd, "--threads: '%s' is not a list like 1,2,4 or 1-16", list);
        return;
    }
    fmd_placement probe;
    cli_common pc = b->c;
    pc.threads_arg = NULL;
    if (cli_placement_open(&probe, &pc, cmd) != FMD_OK)
        cli_die(FMD_EXIT_SOFTWARE, cmd, "cannot plan threads");
    b->n_counts = probe.plan->n_threads > MAX_COUNTS ? MAX_COUNTS : probe.plan->n_threads;
    for (int i = 0; i < b->n_counts; i++)
        b->counts[i] = i + 1;
    cli_placement_close(&probe);
}

/* End-to-end output goes to a fresh folder that bench makes, under --out or /dev/shm (else
 * /tmp), and only that folder is ever emptied or removed: never the user's own files. */
static void make_out_dir(bench *b)
{
    const char *parent = b->out;
    if (parent == NULL)
        parent = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    else if (mkdir(parent, 0777) != 0 && errno != EEXIST)
        cli_die(FMD_EXIT_CANTCREAT, cmd, "--out %s: %s", parent, strerror(errno));
    if ((size_t)snprintf(b->out_buf, sizeof b->out_buf, "%s/fastmd-bench.XXXXXX", parent) >=
        sizeof b->out_buf)
        cli_die(FMD_EXIT_USAGE, cmd, "--out %s: path too long", parent);
    if (mkdtemp(b->out_buf) == NULL)
        cli_die(FMD_EXIT_CANTCREAT, cmd, "--out %s: %s", parent, strerror(errno));
    b->out = b->out_buf;
}

/* Count the pages; kernel only, also load them once. Then allocate the figures. */
static void load_pages(bench *b)
{
    fmd_io_batch *batch = NULL;
    int err = 0;
    fmd_status st = fmd_io_tree_enumerate(b->cfg.src, 0, &batch, &err);
    if (st != FMD_OK)
        cli_die(cli_exit_code(st), cmd, "%s: %s", b->cfg.src, fmd_status_str(st));
    fmd_io_batch_pages(batch, &b->n_pages);
    if (b->kernel_only) {
        b->kb.batch = batch;
        b->kb.n = b->n_pages;
        st = fmd_io_pages_load(batch, 0, b->kb.n, b->cfg.opt.max_input_bytes, 0, &b->kb.in);
        if (st != FMD_OK)
            cli_die(cli_exit_code(st), cmd, "loading: %s", fmd_status_str(st));
        b->kb.results = calloc(b->kb.n ? b->kb.n : 1, sizeof *b->kb.results);
    } else {
        fmd_io_batch_destroy(batch);
    }
    b->lat = calloc(b->n_pages ? b->n_pages : 1, sizeof *b->lat);
    b->times = calloc((size_t)b->repeat, sizeof *b->times);
    b->floors = calloc((size_t)b->repeat, sizeof *b->floors);
    b->rows = calloc((size_t)b->n_counts, sizeof *b->rows);
    if (b->lat == NULL || b->times == NULL || b->floors == NULL || b->rows == NULL ||
        (b->kernel_only && b->kb.results == NULL))
        cli_die(FMD_EXIT_OSERR, cmd, FMD_NOMEM_TEXT);
}

static void print_heading(const bench *b)
{
    printf("fastmd bench: %s, %zu pages, %s%s, %d timed runs per count (1 warm-up discarded), "
           "schedule %s\n",
           b->cfg.src, b->n_pages,
           b->kernel_only
               ? "kernel only (pages in memory)"
               : (b->cfg.ndjson_path ? "end to end, NDJSON stream" : "end to end, file tree"),
           b->kernel_only ? "" : (b->io_floor ? " + I/O floor" : ""), b->repeat,
           b->cfg.schedule == FMD_SCHED_LPT ? "lpt" : "dynamic");
    if (!b->kernel_only)
        printf("output: %s\n", b->out);
}

/* --compare-single: the median of one thread without the parallel machinery. */
static double time_single(bench *b)
{
    for (int r = -1; r < b->repeat; r++) {
        double t = 0;
        if (b->kernel_only) {
            t = fmd_engine_bench_kernel_single(&b->kb, &b->cfg);
        } else {
            /* One thread end to end, no windows, in the engine: the closest serial form of the
             * pipeline (its loader and sink still run, on one thread). */
            cli_common one = b->c;
            one.threads_arg = "1";
            one.no_bind = true;
            fmd_placement p1;
            if (cli_placement_open(&p1, &one, cmd) != FMD_OK)
                cli_die(FMD_EXIT_SOFTWARE, cmd, "cannot plan threads");
            double u;
            fmd_engine_cfg sc = b->cfg;
            sc.schedule = FMD_SCHED_DYNAMIC;
            t = e2e_run(&sc, &p1, b->out, false, NULL, &u);
            cli_placement_close(&p1);
        }
        if (r >= 0)
            b->times[r] = t;
    }
    return fmd_engine_bench_median(b->times, (size_t)b->repeat);
}

/* Time thread count number @p ci (a warm-up, then --repeat runs) into its row. */
static void measure_count(bench *b, int ci)
{
    char tbuf[16];
    snprintf(tbuf, sizeof tbuf, "%d", b->counts[ci]);
    b->c.threads_arg = tbuf;
    fmd_placement pl;
    if (cli_placement_open(&pl, &b->c, cmd) != FMD_OK)
        cli_die(FMD_EXIT_SOFTWARE, cmd, "cannot plan %d threads", b->counts[ci]);
    b->c.threads_arg = NULL;
    fmd_kernel_batch *kbatch = NULL;
    if (b->kernel_only && fmd_kernel_batch_create(&kbatch, pl.plan->n_threads) != FMD_OK)
        cli_die(FMD_EXIT_OSERR, cmd, FMD_NOMEM_TEXT);
    double util_sum = 0;
    for (int r = -1; r < b->repeat; r++) {
        double u = 0, t;
        if (b->kernel_only)
            t = fmd_engine_bench_kernel(&b->kb, kbatch, &pl, &b->cfg, b->lat, &u);
        else
            t = e2e_run(&b->cfg, &pl, b->out, false, b->lat, &u);
        if (r >= 0) {
            b->times[r] = t;
            util_sum += u;
        }
        if (b->io_floor) {
            double fu;
            double tf = e2e_run(&b->cfg, &pl, b->out, true, NULL, &fu);
            if (r >= 0)
                b->floors[r] = tf;
        }
    }
    row *rw = &b->rows[ci];
    rw->threads = pl.plan->n_threads;
    rw->util = util_sum / b->repeat;
    rw->median = fmd_engine_bench_median(b->times, (size_t)b->repeat);
    rw->min = b->times[0]; /* the median sorted them */
    rw->max = b->times[b->repeat - 1];
    rw->floor_median = b->io_floor ? fmd_engine_bench_median(b->floors, (size_t)b->repeat) : 0;
    fmd_engine_bench_sort(b->lat, b->n_pages);
    rw->p50 = fmd_engine_bench_percentile(b->lat, b->n_pages, 0.50);
    rw->p95 = fmd_engine_bench_percentile(b->lat, b->n_pages, 0.95);
    rw->p99 = fmd_engine_bench_percentile(b->lat, b->n_pages, 0.99);
    fmd_kernel_batch_destroy(kbatch);
    cli_placement_report(&pl, cmd);
    cli_placement_close(&pl);
}

/* A row's speedup and Karp-Flatt serial fraction (fmd_engine_bench_scaling()). */
static bool row_scaling(const row *rw, double t1, double *s, double *kf)
{
    return fmd_engine_bench_scaling(rw->threads, rw->median, t1, s, kf);
}

/* The scaling table, one row per thread count. Speedup is against the first row when it has one
 * thread (t1). */
static void print_table(const bench *b, double t1)
{
    printf("\n%7s %10s %19s %8s %6s %10s %6s %10s %8s %8s %8s", "threads", "median s", "min-max s",
           "speedup", "eff", "karp-flatt", "cpu", "pages/s", "p50 us", "p95 us", "p99 us");
    if (b->io_floor)
        printf(" %10s %9s", "floor s", "e2e/floor");
    printf("\n");
    for (int ci = 0; ci < b->n_counts; ci++) {
        const row *rw = &b->rows[ci];
        double s, kf, p = rw->threads;
        char range[40], kfs[16];
        snprintf(range, sizeof range, "%.4f-%.4f", rw->min, rw->max);
        if (row_scaling(rw, t1, &s, &kf))
            snprintf(kfs, sizeof kfs, "%.4f", kf);
        else
            snprintf(kfs, sizeof kfs, "-");
        printf("%7d %10.4f %19s %8.2f %5.0f%% %10s %5.0f%% %10.0f %8.1f %8.1f %8.1f", rw->threads,
               rw->median, range, s, s > 0 ? 100 * s / p : 0, kfs, 100 * rw->util,
               (double)b->n_pages / rw->median, rw->p50 * 1e6, rw->p95 * 1e6, rw->p99 * 1e6);
        if (b->io_floor)
            printf(" %10.4f %9.2f", rw->floor_median, rw->median / rw->floor_median);
        printf("\n");
    }
}

/* Amdahl's serial fraction: the least squares fit through the origin of 1/S - 1/p = f (1 - 1/p)
 * over the rows with p > 1. A fraction outside [0, 1] (superlinear speedup from caches, or noise)
 * predicts nothing: *f is clamped, *f_raw is the fit. Returns whether there was anything to fit. */
static bool fit_amdahl(const bench *b, double t1, double *f, double *f_raw)
{
    double sxx = 0, sxy = 0;
    for (int ci = 0; ci < b->n_counts; ci++) {
        double s, kf, p = b->rows[ci].threads;
        if (row_scaling(&b->rows[ci], t1, &s, &kf)) {
            double x = 1 - 1 / p, y = 1 / s - 1 / p;
            sxx += x * x;
            sxy += x * y;
        }
    }
    *f_raw = sxx > 0 ? sxy / sxx : 0;
    *f = *f_raw < 0 ? 0 : (*f_raw > 1 ? 1 : *f_raw);
    return t1 > 0 && sxx > 0;
}

static const int predicted_cores[] = {8, 16, 64, 256};

static void print_amdahl(double f, double f_raw)
{
    printf("\nAmdahl fit: serial fraction f = %.4f", f);
    if (f != f_raw)
        printf(" (the fit gave %.4f, clamped to [0, 1])", f_raw);
    printf("; predicted speedup");
    for (int i = 0; i < 4; i++)
        printf(" %d: %.1fx%s", predicted_cores[i], 1 / (f + (1 - f) / predicted_cores[i]),
               i < 3 ? "," : "\n");
}

/* Every figure as one JSON object (--json). */
static fmd_status format_json(const bench *b, double t1, double f, double f_raw, fmd_buf *jb)
{
    fmd_status st = FMD_OK;
    char tmp[512];
    snprintf(tmp, sizeof tmp, "{\"pages\":%zu,\"mode\":\"%s\",\"repeat\":%d,\"rows\":[", b->n_pages,
             b->kernel_only ? "kernel" : (b->cfg.ndjson_path ? "ndjson" : "tree"), b->repeat);
    FMD_TRY(fmd_buf_puts(jb, tmp));
    for (int ci = 0; ci < b->n_counts; ci++) {
        const row *rw = &b->rows[ci];
        double s, kf, p = rw->threads;
        row_scaling(rw, t1, &s, &kf);
        snprintf(tmp, sizeof tmp,
                 "%s{\"threads\":%d,\"median\":%.6f,\"min\":%.6f,\"max\":%.6f,\"speedup\":%.4f,"
                 "\"efficiency\":%.4f,\"karpFlatt\":%.5f,\"cpuUtilisation\":%.4f,"
                 "\"pagesPerSecond\":%.1f,\"p50\":%.9f,\"p95\":%.9f,\"p99\":%.9f,"
                 "\"ioFloor\":%.6f}",
                 ci ? "," : "", rw->threads, rw->median, rw->min, rw->max, s, s > 0 ? s / p : 0, kf,
                 rw->util, (double)b->n_pages / rw->median, rw->p50, rw->p95, rw->p99,
                 rw->floor_median);
        FMD_TRY(fmd_buf_puts(jb, tmp));
    }
    snprintf(tmp, sizeof tmp, "],\"amdahlSerialFraction\":%.6f,\"amdahlFit\":%.6f,\"predicted\":{",
             f, f_raw);
    FMD_TRY(fmd_buf_puts(jb, tmp));
    for (int i = 0; i < 4; i++) {
        snprintf(tmp, sizeof tmp, "%s\"%d\":%.3f", i ? "," : "", predicted_cores[i],
                 1 / (f + (1 - f) / predicted_cores[i]));
        FMD_TRY(fmd_buf_puts(jb, tmp));
    }
    snprintf(tmp, sizeof tmp, "},\"singleMedian\":%.6f}\n", b->single_median);
    FMD_TRY(fmd_buf_puts(jb, tmp));
fail:
    return st;
}

static void write_json(const bench *b, double t1, double f, double f_raw)
{
    fmd_arena *ja = NULL;
    if (fmd_arena_create(&ja, 0) != FMD_OK)
        cli_die(FMD_EXIT_OSERR, cmd, FMD_NOMEM_TEXT);
    fmd_buf jb;
    fmd_buf_reset(&jb, ja);
    if (format_json(b, t1, f, f_raw, &jb) != FMD_OK)
        cli_die(FMD_EXIT_OSERR, cmd, FMD_NOMEM_TEXT);
    int jerr = 0;
    fmd_status jst = fmd_io_output_write(AT_FDCWD, b->json, jb.ptr, jb.len, &jerr);
    if (jst != FMD_OK)
        cli_die(cli_exit_code(jst), cmd, "%s: cannot write: %s%s%s", b->json, fmd_status_str(jst),
                jerr ? ": " : "", jerr ? strerror(jerr) : "");
    fmd_arena_destroy(ja);
}

static void bench_free(bench *b)
{
    free(b->lat);
    free(b->times);
    free(b->floors);
    free(b->rows);
    fmd_engine_bench_pages_destroy(&b->kb);
}

int cli_cmd_bench(int argc, char **argv)
{
    bench b = {0};
    if (!parse_args(&b, argc, argv))
        return FMD_EXIT_OK;
    plan_counts(&b);
    if (!b.kernel_only)
        make_out_dir(&b);
    if (b.json != NULL)
        cli_check_output_path(b.json, "--json", cmd);
    load_pages(&b);
    print_heading(&b);

    if (b.single)
        b.single_median = time_single(&b);
    for (int ci = 0; ci < b.n_counts; ci++)
        measure_count(&b, ci);
    if (!b.kernel_only) {
        fmd_engine_bench_remove_tree(b.out); /* the folder bench made, with what its runs wrote */
        rmdir(b.out);
    }

    double t1 = b.rows[0].threads == 1 ? b.rows[0].median : 0;
    print_table(&b, t1);
    double f, f_raw;
    if (fit_amdahl(&b, t1, &f, &f_raw))
        print_amdahl(f, f_raw);
    if (b.single)
        printf("one thread without the parallel machinery: median %.4f s; %d-thread run / "
               "single = %.3f\n",
               b.single_median, b.rows[0].threads, b.rows[0].median / b.single_median);
    if (b.json != NULL)
        write_json(&b, t1, f, f_raw);
    bench_free(&b);
    return FMD_EXIT_OK;
}
