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
    int counts[FMD_ENGINE_BENCH_MAX_COUNTS], n_counts;
    fmd_engine_bench_pages kb;
    size_t n_pages;
    double *lat, *times, *floors; /* per page; per timed run; per timed run of the floor */
    fmd_engine_bench_row *rows;   /* one per thread count */
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
    b->cfg.message =
        fmd_engine_page_message; /* formatted as build does, though bench prints none */
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
        b->n_counts = fmd_engine_bench_counts_parse(list, b->counts, FMD_ENGINE_BENCH_MAX_COUNTS);
        if (b->n_counts <= 0)
            cli_die(FMD_EXIT_USAGE, cmd, "--threads: '%s' is not a list like 1,2,4 or 1-16", list);
        return;
    }
    fmd_placement probe;
    cli_common pc = b->c;
    pc.threads_arg = NULL;
    if (cli_placement_open(&probe, &pc, cmd) != FMD_OK)
        cli_die(FMD_EXIT_SOFTWARE, cmd, "cannot plan threads");
    b->n_counts = probe.plan->n_threads > FMD_ENGINE_BENCH_MAX_COUNTS ? FMD_ENGINE_BENCH_MAX_COUNTS
                                                                      : probe.plan->n_threads;
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
    fmd_engine_bench_row *rw = &b->rows[ci];
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

/* The table and, with --json, the JSON object of the finished sweep. */
static void report(const bench *b)
{
    fmd_engine_bench_report rep = {
        .mode = b->kernel_only ? "kernel" : (b->cfg.ndjson_path ? "ndjson" : "tree"),
        .n_pages = b->n_pages,
        .repeat = b->repeat,
        .io_floor = b->io_floor,
        .rows = b->rows,
        .n_rows = b->n_counts,
        .single_median = b->single_median,
    };
    fmd_arena *a = NULL;
    if (fmd_arena_create(&a, 0) != FMD_OK)
        cli_die(FMD_EXIT_OSERR, cmd, FMD_NOMEM_TEXT);
    fmd_buf out;
    fmd_buf_reset(&out, a);
    if (fmd_engine_bench_table_format(&rep, &out) != FMD_OK)
        cli_die(FMD_EXIT_OSERR, cmd, FMD_NOMEM_TEXT);
    fwrite(out.ptr, 1, out.len, stdout);
    if (b->json != NULL) {
        fmd_buf_reset(&out, a);
        if (fmd_engine_bench_json_format(&rep, &out) != FMD_OK)
            cli_die(FMD_EXIT_OSERR, cmd, FMD_NOMEM_TEXT);
        int jerr = 0;
        fmd_status jst = fmd_io_output_write(AT_FDCWD, b->json, out.ptr, out.len, &jerr);
        if (jst != FMD_OK)
            cli_die(cli_exit_code(jst), cmd, "%s: cannot write: %s%s%s", b->json,
                    fmd_status_str(jst), jerr ? ": " : "", jerr ? strerror(jerr) : "");
    }
    fmd_arena_destroy(a);
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

    report(&b);
    bench_free(&b);
    return FMD_EXIT_OK;
}
