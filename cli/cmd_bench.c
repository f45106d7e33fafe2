/* SPDX-License-Identifier: MIT */
/* fastmd bench: a strong-scaling sweep on the build engine. For each thread count: median wall
 * time and range, speedup, efficiency, the Karp-Flatt serial fraction, CPU utilisation, pages/s
 * and per-page latency percentiles; then an Amdahl fit. Kernel only (pages in memory) or end to
 * end, optionally beside the I/O floor (same tree, same writer, no rendering) and a plain
 * one-thread loop without the parallel machinery. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmd_engine_bench.h"
#include "fmd_io.h"
#include "fmd_number.h"
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

/*** The command ***/

/* Everything one bench run holds, from the options to the sweep. */
typedef struct bench {
    cli_common c;
    fmd_engine_bench_sweep_cfg sc; /* cfg, the modes, repeat and the thread counts */
    const char *out, *json;
    char out_buf[4096];
    int counts[FMD_ENGINE_BENCH_MAX_COUNTS];
    fmd_engine_bench_sweep sw;
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
    b->sc.repeat = 5;
    unsigned long long repeat;
    int code;
    while ((code = cli_getopt(argc, argv, longopts, NULL)) != -1) {
        switch (code) {
        case OPT_HELP: printf("%s", help); return false;
        case OPT_REPEAT:
            if (!fmd_uint_parse(optarg, 1, 1000, &repeat))
                cli_die(FMD_EXIT_USAGE, cmd, "--repeat must be from 1 to 1000, not '%s'", optarg);
            b->sc.repeat = (int)repeat;
            break;
        case OPT_KERNEL_ONLY: b->sc.kernel_only = true; break;
        case OPT_IO_FLOOR: b->sc.io_floor = true; break;
        case OPT_COMPARE_SINGLE: b->sc.single = true; break;
        case OPT_BENCH_NDJSON: b->sc.cfg.ndjson_path = "(bench)"; break;
        case OPT_OUT: b->out = optarg; break;
        case OPT_JSON: b->json = optarg; break;
        case OPT_BENCH_NO_BIND: b->c.no_bind = true; break;
        case OPT_WRITER_POOL: b->sc.cfg.writer_pool = true; break;
        case OPT_BENCH_SCHEDULE: b->sc.cfg.schedule = cli_parse_schedule(optarg, cmd); break;
        case OPT_MAX_MEMORY:
        case OPT_QUEUE_SIZE:
        case OPT_PROFILE: cli_tuning_option(&tune, code, optarg, cmd); break;
        default:
            if (code == OPT_THREADS) {
                b->c.threads_arg = optarg;
                break;
            }
            if (code == '?' || code == ':' || !cli_common_option(&b->c, code, optarg, cmd))
                cli_bad_option(cmd, argv, code);
        }
    }
    if (argc - optind != 1)
        cli_die(FMD_EXIT_USAGE, cmd, "expected SRC, got %d arguments", argc - optind);
    if (b->sc.kernel_only && (b->sc.io_floor || b->sc.cfg.ndjson_path))
        cli_die(FMD_EXIT_USAGE, cmd, "--kernel-only times no I/O: drop --io-floor and --ndjson");
    b->sc.cfg.src = argv[optind];
    cli_tuning_apply(&tune, &b->c, cmd);
    b->sc.cfg.opt = b->c.opt;
    b->sc.cfg.message =
        fmd_engine_page_message; /* formatted as build does, though bench prints none */
    b->sc.cfg.max_memory = tune.max_memory;
    b->sc.cfg.queue_size = tune.queue_size;
    return true;
}

/* The thread counts: the --threads list; without one, the sweep goes from 1 to the threads of
 * the plan (FASTMD_WORKERS, OMP_NUM_THREADS, else the physical cores). */
static void plan_counts(bench *b)
{
    const char *list = b->c.threads_arg;
    if (list != NULL) {
        b->sc.n_counts =
            fmd_engine_bench_counts_parse(list, b->counts, FMD_ENGINE_BENCH_MAX_COUNTS);
        if (b->sc.n_counts <= 0)
            cli_die(FMD_EXIT_USAGE, cmd, "--threads: '%s' is not a list like 1,2,4 or 1-16", list);
        b->c.threads_arg = "1"; /* each count is set by the sweep; the environment is not read */
    }
    b->sc.counts = b->counts;
    b->sc.place = cli_placement_opts(&b->c, cmd);
}

/* End-to-end output goes to a fresh folder that the engine makes, under --out or /dev/shm (else
 * /tmp), and only that folder is ever emptied or removed: never the user's own files. */
static void make_out_dir(bench *b)
{
    int err = 0;
    fmd_status st = fmd_engine_bench_scratch_create(b->out, b->out_buf, sizeof b->out_buf, &err);
    if (st != FMD_OK)
        cli_die(cli_exit_code(st), cmd, "--out %s: %s", b->out ? b->out : "/dev/shm or /tmp",
                err ? strerror(err) : "path too long");
    b->out = b->out_buf;
}

static void print_heading(const bench *b)
{
    printf("fastmd bench: %s, %zu pages, %s%s, %d timed runs per count (1 warm-up discarded), "
           "schedule %s\n",
           b->sc.cfg.src, b->sw.n_pages,
           b->sc.kernel_only
               ? "kernel only (pages in memory)"
               : (b->sc.cfg.ndjson_path ? "end to end, NDJSON stream" : "end to end, file tree"),
           b->sc.kernel_only ? "" : (b->sc.io_floor ? " + I/O floor" : ""), b->sc.repeat,
           b->sc.cfg.schedule == FMD_SCHED_LPT ? "lpt" : "dynamic");
    if (!b->sc.kernel_only)
        printf("output: %s\n", b->out);
}

/* The table and, with --json, the JSON object of the finished sweep. */
static void report(const bench *b)
{
    const fmd_engine_bench_report *rep = &b->sw.rep;
    fmd_arena *a = NULL;
    if (fmd_arena_create(&a, 0) != FMD_OK)
        cli_die(FMD_EXIT_OSERR, cmd, FMD_NOMEM_TEXT);
    fmd_buf out;
    fmd_buf_reset(&out, a);
    if (fmd_engine_bench_table_format(rep, &out) != FMD_OK)
        cli_die(FMD_EXIT_OSERR, cmd, FMD_NOMEM_TEXT);
    fwrite(out.ptr, 1, out.len, stdout);
    if (b->json != NULL) {
        fmd_buf_reset(&out, a);
        if (fmd_engine_bench_json_format(rep, &out) != FMD_OK)
            cli_die(FMD_EXIT_OSERR, cmd, FMD_NOMEM_TEXT);
        int jerr = 0;
        fmd_status jst = fmd_io_output_write(AT_FDCWD, b->json, out.ptr, out.len, &jerr);
        if (jst != FMD_OK)
            cli_die(cli_exit_code(jst), cmd, "%s: cannot write: %s%s%s", b->json,
                    fmd_status_str(jst), jerr ? ": " : "", jerr ? strerror(jerr) : "");
    }
    fmd_arena_destroy(a);
}

/* The sweep's placement callback: the warnings of each thread count, after its runs. */
static void placed(const fmd_placement *pl, fmd_status topo_st, int topo_err, void *userdata)
{
    (void)userdata;
    cli_topology_warn(topo_st, topo_err, cmd);
    cli_placement_report(pl, cmd);
}

int cli_cmd_bench(int argc, char **argv)
{
    bench b = {0};
    if (!parse_args(&b, argc, argv))
        return FMD_EXIT_OK;
    plan_counts(&b);
    if (b.json != NULL)
        cli_check_output_path(b.json, "--json", cmd);
    if (!b.sc.kernel_only)
        make_out_dir(&b);
    b.sc.out = b.out;
    b.sc.placed = placed;
    fmd_status st = fmd_engine_bench_sweep_open(&b.sw, &b.sc);
    if (st == FMD_OK) {
        print_heading(&b);
        st = fmd_engine_bench_sweep_run(&b.sw);
    }
    if (!b.sc.kernel_only)
        fmd_engine_bench_remove_tree(b.out); /* the folder bench made, with what its runs wrote */
    if (st != FMD_OK)
        cli_die(cli_exit_code(st), cmd, "%s%s%s", b.sw.what, *b.sw.what ? ": " : "",
                fmd_status_str(st));
    report(&b);
    fmd_engine_bench_sweep_close(&b.sw);
    cli_common_free(&b.c);
    return FMD_EXIT_OK;
}
