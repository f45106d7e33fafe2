/* SPDX-License-Identifier: MIT */
/* fastmd build SRC OUT | SRC --ndjson FILE: flags, profiles and reporting around the pipeline
 * of engine.c (enumerate -> windows loaded ahead -> parallel render + write -> ordered stream). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fmd_io.h"
#include "fmd_io_state.h"
#include "cli.h"
#include "site.h"
#include "signals.h"
#include "supervise.h"

static const char help[] =
    "Usage: fastmd build [options] SRC OUT\n"
    "       fastmd build [options] SRC --ndjson FILE|-\n"
    "\n"
    "Render every *.md and *.markdown file under SRC (recursively) to OUT, under the same\n"
    "relative path ending in .html, and write OUT/manifest.ndjson: one JSON line per page,\n"
    "sorted by path, with its status, title, front matter, headings, counts and hash.\n"
    "Symbolic links that lead out of SRC are not followed. Each file is written to a\n"
    "temporary name and renamed, so no reader sees half a page. With --ndjson, no file is\n"
    "written per page: every result (path, html, metadata, status) goes to one NDJSON\n"
    "stream in path order.\n"
    "\n"
    "Builds into OUT are incremental: OUT/.fastmd/ keeps each page's key (a hash of fastmd's\n"
    "version, the options, the --rules file and the page's bytes) and its stat data. A page\n"
    "whose size, mtime, ctime and inode match, and that was not modified within 2 s of the\n"
    "last build's start, is not read; one whose key matches is not written again. When no\n"
    "page changed, neither the manifest nor the state is written again, and no worker\n"
    "process or thread is started. A change of version or options rebuilds every page.\n"
    "Outputs of sources that are gone are removed (only files fastmd recorded). A failed\n"
    "page has no HTML file in OUT (an old one is removed); its manifest line says why.\n"
    "Pages are journaled as they complete, so a killed or interrupted build resumes where\n"
    "it stopped when run again. OUT is complete when OUT/manifest.ndjson exists and\n"
    "OUT/.fastmd/journal does not. The pages are rendered in a worker process under a small\n"
    "supervisor: when the worker dies (a crash, the OOM killer), a fresh one resumes from\n"
    "the journal and retries the pages it had in flight alone; a page that ends a worker\n"
    "twice fails with error code \"crashed\". One build at a time: a second one into the\n"
    "same OUT exits 75 within 1 s (or waits, with --wait).\n"
    "See docs/builds.md.\n"
    "\n"
    "Options:\n";

static const char help_build[] =
    "  --ndjson FILE|-           stream results as NDJSON to FILE (- for stdout) instead of OUT\n"
    "  --max-memory BYTES        bound the input held at once: larger batches run in windows,\n"
    "                            the next window loading while one renders (K/M/G suffixes)\n"
    "  --queue-size N            windows loaded ahead of the renderer (default 1)\n"
    "  --profile low|medium|high thread count, queue size and memory limit together\n"
    "                            (see docs/configuration.md); explicit flags win\n"
    "  --stats                   print per-thread and per-phase figures\n"
    "  --summary-json FILE       write the run's figures as JSON\n"
    "  --progress, --no-progress a progress line on stderr (default: when stderr is a tty)\n"
    "  --no-bind                 do not bind threads to cores\n"
    "  --report-affinity         print where each thread ran\n"
    "  --schedule lpt|dynamic    page order: largest first (default) or input order\n"
    "  --writer-pool             create files in writer threads (one per rendering thread,\n"
    "                            on its core) instead of on the rendering threads\n"
    "  --force                   render and write every page, whatever the state says\n"
    "  --verify                  read and hash every page (trust no stat data); unchanged\n"
    "                            pages are still not written\n"
    "  --wait                    wait for another build of OUT to finish instead of exiting 75\n"
    "  --page-timeout SECONDS    a page whose rendering takes longer fails with error code\n"
    "                            \"deadline\" (default 10; 0: no limit); it is not recorded, so\n"
    "                            the next build tries it again; a page still rendering\n"
    "                            2 s after it gets its worker killed (error code \"timeout\")\n"
    "  --no-supervisor           run the build in this process (no worker process: a page\n"
    "                            that crashes or hangs ends or stalls the build)\n"
    "  --shard K/N|auto          build only shard K of N (consecutive pages, balanced by\n"
    "                            bytes) into OUT; 'fastmd merge OUT' then writes the manifest.\n"
    "                            auto: from SLURM_ARRAY_TASK_ID, _MIN, _MAX or _COUNT, _STEP.\n"
    "                            With --ndjson: the shard's lines only (see docs/scale-out.md)\n"
    "                            Under MPI, 'mpirun -n R fastmd-mpi SRC OUT' runs shard r+1\n"
    "                            on rank r and merges at the end\n"
    "  --verbose                 list every skipped path (special files named like pages,\n"
    "                            .MD names, names that are not UTF-8), not one line per kind\n"
    "\n"
    "The thread count comes from --threads, else FASTMD_WORKERS, else OMP_NUM_THREADS, else\n"
    "one per physical core. A summary line goes to stderr at the end: pages rendered,\n"
    "unchanged and removed. SIGINT or SIGTERM stops the build cleanly: pages in flight are\n"
    "finished or dropped, the journal is flushed, and a rerun resumes. Exit status: 0 all\n"
    "pages ok, 1 some pages failed (every other page is still written), 64 usage, 66 SRC\n"
    "missing or without pages, 73 OUT cannot be created, 74 I/O error, 75 OUT is locked by\n"
    "another build, 130/143 interrupted by SIGINT/SIGTERM.\n";

enum {
    OPT_NO_BIND = OPT_COMMAND_BASE,
    OPT_REPORT_AFFINITY,
    OPT_NDJSON,
    OPT_STATS,
    OPT_SUMMARY_JSON,
    OPT_PROGRESS,
    OPT_NO_PROGRESS,
    OPT_SCHEDULE,
    OPT_WRITER_POOL,
    OPT_FORCE,
    OPT_VERIFY,
    OPT_WAIT,
    OPT_VERBOSE,
    OPT_PAGE_TIMEOUT,
    OPT_NO_SUPERVISOR,
    OPT_SHARD,
};

/* --page-timeout's default, in seconds: far above any real page (the corpus's slowest renders in
 * milliseconds), low enough that a page built to make the parser crawl cannot hold a thread for
 * minutes. */
#define DEFAULT_PAGE_TIMEOUT_S 10

/* sysexits(3) EX_TEMPFAIL: another build holds OUT's lock. */

/* Per-page error lines printed before the rest are only counted. */
#define MAX_REPORTED_PAGES 200

static void human_bytes(char *buf, size_t n, double bytes)
{
    if (bytes >= 1e9)
        snprintf(buf, n, "%.2f GB", bytes / 1e9);
    else if (bytes >= 1e6)
        snprintf(buf, n, "%.2f MB", bytes / 1e6);
    else if (bytes >= 1e3)
        snprintf(buf, n, "%.1f kB", bytes / 1e3);
    else
        snprintf(buf, n, "%.0f B", bytes);
}

/* What the walk skipped or refused: one line per kind with its count and an example, or with
 * --verbose every path. */
static void report_walk_warnings(const char *cmd, const char *src, const fmd_engine_result *r,
                                 bool verbose)
{
    if (verbose) {
        for (size_t i = 0; i < r->n_warnings; i++)
            cli_warn(cmd, "%s/%s: warning: %s%s%s", src, r->warnings[i].path,
                     fmd_io_warning_str(r->warnings[i].kind), r->warnings[i].err ? ": " : "",
                     r->warnings[i].err ? strerror(r->warnings[i].err) : "");
        return;
    }
    for (int kind = 0; kind <= FMD_IO_WARN_NAME_UTF8; kind++) {
        size_t count = 0, first = 0;
        for (size_t i = 0; i < r->n_warnings; i++)
            if ((int)r->warnings[i].kind == kind && count++ == 0)
                first = i;
        if (count == 1)
            cli_warn(cmd, "%s/%s: warning: %s%s%s", src, r->warnings[first].path,
                     fmd_io_warning_str((fmd_io_warning_kind)kind),
                     r->warnings[first].err ? ": " : "",
                     r->warnings[first].err ? strerror(r->warnings[first].err) : "");
        else if (count > 1)
            cli_warn(cmd, "warning: %zu paths: %s (e.g. %s/%s; --verbose lists them all)", count,
                     fmd_io_warning_str((fmd_io_warning_kind)kind), src, r->warnings[first].path);
    }
}

/* Whether OUT has the state of an earlier build: only then may a rebuild find nothing changed. */
static bool has_state(const char *out)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/" FMD_IO_STATE_DIR "/state", out);
    return n > 0 && (size_t)n < sizeof path && access(path, F_OK) == 0;
}

/* The engine planned before the supervisor forks: the first worker goes on with it. */
typedef struct planned_build {
    fmd_engine **eng;
    fmd_engine_result *r;
} planned_build;

/* In the supervisor, once the first worker has its copy: close this process's (its lock
 * descriptor included: the worker's copy keeps the lock), so that later workers start afresh. */
static void drop_plan(void *ud)
{
    planned_build *pb = ud;
    if (*pb->eng == NULL)
        return;
    fmd_engine_close(*pb->eng);
    fmd_engine_result_destroy(pb->r);
    *pb->eng = NULL;
}

int cli_cmd_build(int argc, char **argv)
{
    static const char *cmd = "build";
    static const struct option longopts[] = {CLI_COMMON_LONG_OPTIONS,
                                             {"no-bind", 0, NULL, OPT_NO_BIND},
                                             {"report-affinity", 0, NULL, OPT_REPORT_AFFINITY},
                                             {"ndjson", 1, NULL, OPT_NDJSON},
                                             {"max-memory", 1, NULL, OPT_MAX_MEMORY},
                                             {"queue-size", 1, NULL, OPT_QUEUE_SIZE},
                                             {"profile", 1, NULL, OPT_PROFILE},
                                             {"stats", 0, NULL, OPT_STATS},
                                             {"summary-json", 1, NULL, OPT_SUMMARY_JSON},
                                             {"progress", 0, NULL, OPT_PROGRESS},
                                             {"no-progress", 0, NULL, OPT_NO_PROGRESS},
                                             {"schedule", 1, NULL, OPT_SCHEDULE},
                                             {"writer-pool", 0, NULL, OPT_WRITER_POOL},
                                             {"force", 0, NULL, OPT_FORCE},
                                             {"verify", 0, NULL, OPT_VERIFY},
                                             {"wait", 0, NULL, OPT_WAIT},
                                             {"verbose", 0, NULL, OPT_VERBOSE},
                                             {"page-timeout", 1, NULL, OPT_PAGE_TIMEOUT},
                                             {"no-supervisor", 0, NULL, OPT_NO_SUPERVISOR},
                                             CLI_SITE_LONG_OPTIONS,
                                             {"shard", 1, NULL, OPT_SHARD},
                                             {NULL, 0, NULL, 0}};
    cli_common c;
    cli_common_init(&c);
    cli_site site;
    cli_site_init(&site);
    fmd_engine_cfg cfg = {0};
    cli_tuning tune = {0};
    const char *summary_json = NULL;
    bool stats = false;
    bool verbose = false;
    bool supervised = true;
    unsigned page_timeout_ms = DEFAULT_PAGE_TIMEOUT_S * 1000;
    int progress = -1; /* -1: when stderr is a terminal */
    int code;
    while ((code = cli_getopt(argc, argv, longopts, NULL)) != -1) {
        switch (code) {
        case OPT_HELP:
            printf("%s%s%s%s", help, cli_common_help, help_build, cli_site_help);
            return FMD_EXIT_OK;
        case OPT_NO_BIND: c.no_bind = true; break;
        case OPT_REPORT_AFFINITY: c.report_affinity = true; break;
        case OPT_NDJSON: cfg.ndjson_path = optarg; break;
        case OPT_MAX_MEMORY:
        case OPT_QUEUE_SIZE:
        case OPT_PROFILE: cli_tuning_option(&tune, code, optarg, cmd); break;
        case OPT_STATS: stats = true; break;
        case OPT_SUMMARY_JSON: summary_json = optarg; break;
        case OPT_PROGRESS: progress = 1; break;
        case OPT_NO_PROGRESS: progress = 0; break;
        case OPT_WRITER_POOL: cfg.writer_pool = true; break;
        case OPT_FORCE: cfg.force = true; break;
        case OPT_VERIFY: cfg.verify = true; break;
        case OPT_WAIT: cfg.wait_lock = true; break;
        case OPT_VERBOSE: verbose = true; break;
        case OPT_NO_SUPERVISOR: supervised = false; break;
        case OPT_PAGE_TIMEOUT: {
            char *end = NULL;
            double sec = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || !(sec >= 0) || sec > 86400)
                cli_die(FMD_EXIT_USAGE, cmd,
                        "--page-timeout must be seconds from 0 (none) to 86400, not '%s'", optarg);
            page_timeout_ms = (unsigned)(sec * 1000 + 0.5);
            if (sec > 0 && page_timeout_ms == 0)
                page_timeout_ms = 1;
            break;
        }
        case OPT_SCHEDULE: cfg.schedule = cli_parse_schedule(optarg, cmd); break;
        case OPT_SHARD: cli_shard_option(optarg, &cfg.shard_k, &cfg.shard_n, cmd); break;
        default:
            if (cli_site_option(&site, code, optarg))
                break;
            if (code == OPT_RULES)
                cfg.rules_path = optarg; /* its bytes are part of the options digest */
            if (code == '?' || code == ':' || !cli_common_option(&c, code, optarg, cmd))
                cli_bad_option(cmd, argv, code);
        }
    }
    int want = cfg.ndjson_path ? 1 : 2;
    if (argc - optind != want)
        cli_die(FMD_EXIT_USAGE, cmd, "expected %s, got %d argument%s",
                cfg.ndjson_path ? "SRC (with --ndjson)" : "SRC and OUT", argc - optind,
                argc - optind == 1 ? "" : "s");
    cfg.src = argv[optind];
    cfg.out_dir = cfg.ndjson_path ? NULL : argv[optind + 1];
    if (cfg.ndjson_path && strcmp(cfg.ndjson_path, "-") == 0 && summary_json &&
        strcmp(summary_json, "-") == 0)
        cli_die(FMD_EXIT_USAGE, cmd, "--ndjson - and --summary-json - both want stdout");

    if (summary_json != NULL)
        cli_check_output_path(summary_json, "--summary-json", cmd);
#ifdef FMD_TEST_HOOKS /* test builds only (-DFMD_TEST_HOOKS=ON): never in a release binary */
    cfg.test_crash_page = getenv("FASTMD_TEST_CRASH_PAGE");
    cfg.test_hang_page = getenv("FASTMD_TEST_HANG_PAGE");
    const char *delay = getenv("FASTMD_TEST_PAGE_DELAY_MS");
    cfg.test_delay_ms = delay != NULL ? (unsigned)strtoul(delay, NULL, 10) : 0;
#endif
    cli_tuning_apply(&tune, &c, cmd);
    cfg.opt = c.opt;
    cfg.opt.deadline_ms = page_timeout_ms;
    cfg.max_memory = tune.max_memory;
    cfg.queue_size = tune.queue_size;
    bool show_progress = progress < 0 ? (!c.quiet && isatty(2)) : progress == 1;
    cfg.progress = show_progress ? cli_progress_line : NULL;
    cfg.message = fmd_engine_page_message;
    cfg.durable = cfg.out_dir != NULL;
    cfg.require_pages = true;
    cli_site_apply(&site, &cfg, cmd);

    /* A rebuild into OUT is planned here first, on this thread (walk, lock, state): when nothing
     * changed there is nothing to render, so no worker, no placement and no OpenMP team; else
     * the plan goes on in the first worker, which inherits the lock and the walk. */
    fmd_engine_result r;
    fmd_engine *eng = NULL;
    fmd_status st = FMD_OK;
    bool in_process = false;
    if (cfg.out_dir != NULL && cfg.shard_n == 0 && !cfg.force && !cfg.verify &&
        !c.report_affinity && has_state(cfg.out_dir)) {
        st = fmd_engine_plan(&cfg, 1, &r, &eng);
        in_process = st != FMD_OK || fmd_engine_untouched(eng); /* done, or reported here */
    }

    /* A build into OUT runs in a worker process under a supervisor, forked here, before any
     * OpenMP construct: a page that crashes or hangs the worker costs that page, not the build.
     * From here on SIGINT and SIGTERM stop the build cleanly rather than kill it. */
    fmd_guard *guard = NULL;
    if (supervised && cfg.out_dir != NULL && !in_process) {
        bool autoth = c.threads_arg != NULL && strcmp(c.threads_arg, "auto") == 0;
        long slots = autoth ? 0 : cli_resolve_threads(&c, cmd);
        long ncpu = sysconf(_SC_NPROCESSORS_CONF);
        slots = slots > ncpu ? slots : ncpu;
        if (fmd_guard_create(slots > 0 ? (int)slots : 1, &guard) != FMD_OK)
            cli_die(FMD_EXIT_OSERR, cmd, "cannot map the supervisor's shared memory: %s",
                    strerror(errno));
        cfg.cancel = cli_signals_install_shared(&guard->cancel, &guard->signal);
        planned_build pb = {&eng, &r};
        /* Returns in a worker only; the plan is the first worker's. */
        if (!cli_supervise(guard, page_timeout_ms, cfg.src, cmd, drop_plan, &pb))
            eng = NULL; /* the supervisor dropped it before forking this one */
        cfg.guard = guard;
        if (guard->mode == FMD_GUARD_RETRY) {
            /* The suspects, one at a time: a second death is pinned on one page. */
            c.threads_arg = "1";
            cfg.writer_pool = false;
            cfg.progress = NULL;
        }
    } else {
        cfg.cancel = cli_signals_install();
    }
    fmd_placement pl;
    if (!in_process) {
        st = cli_placement_open(&pl, &c, cmd);
        if (st != FMD_OK)
            cli_die(cli_exit_code(st), cmd, "cannot plan threads: %s", fmd_status_str(st));
        st = eng != NULL ? fmd_engine_attach(eng, &pl) : fmd_engine_open(&cfg, &pl, &r, &eng);
        if (r.memory_needed != 0)
            cli_warn(cmd,
                     "--max-memory %zu bytes is below what %d threads need at least (about %zu "
                     "MB); the run goes on but will use more",
                     cfg.max_memory, pl.plan->n_threads, (r.memory_needed + (1u << 20) - 1) >> 20);
    }
    if (st == FMD_OK)
        st = fmd_engine_render(eng);
    if (st == FMD_OK)
        cli_site_copy_assets(&site, &cfg); /* OUT is still locked */
    fmd_engine_close(eng);
    cli_signals_restore();
    if (r.partial) {
        /* A retry worker: the suspects are journaled; the next worker reports the build. */
        fmd_engine_result_destroy(&r);
        if (!in_process)
            cli_placement_close(&pl);
        cli_common_free(&c);
        return FMD_EXIT_OK;
    }
    report_walk_warnings(cmd, cfg.src, &r, verbose);
    if (r.no_pages)
        cli_die(FMD_EXIT_NOINPUT, cmd, "%s: no pages (*.md, *.markdown) found; nothing written",
                cfg.src);
    if (r.locked)
        cli_die(FMD_EXIT_TEMPFAIL, cmd,
                "%s is being built by another fastmd (it holds %s/" FMD_IO_STATE_DIR "/lock); "
                "try again when it is done, or pass --wait",
                cfg.out_dir, cfg.out_dir);
    if (r.cancelled) {
        int sig = cli_signals_caught();
        cli_warn(cmd, "interrupted%s: %zu of %zu pages done%s; run the same command again to %s",
                 sig == SIGINT    ? " by SIGINT"
                 : sig == SIGTERM ? " by SIGTERM"
                                  : "",
                 r.done, r.pages, cfg.out_dir ? " and journaled in OUT/" FMD_IO_STATE_DIR : "",
                 cfg.out_dir ? "resume" : "start over");
        int rc = sig ? 128 + sig : FMD_EXIT_SOFTWARE;
        fmd_engine_result_destroy(&r);
        if (!in_process)
            cli_placement_close(&pl);
        cli_common_free(&c);
        return rc;
    }
    if (st != FMD_OK)
        cli_die(cli_exit_code(st), cmd, "%s: %s%s%s", r.what ? r.what : "", fmd_status_str(st),
                r.err ? ": " : "", r.err ? strerror(r.err) : "");

    /* Per-page errors and warnings, in path order. */
    size_t shown = 0;
    for (size_t i = 0; i < r.pages && r.messages; i++) {
        if (r.messages[i] == NULL)
            continue;
        if (shown++ < MAX_REPORTED_PAGES)
            fputs(r.messages[i], stderr);
    }
    if (shown > MAX_REPORTED_PAGES)
        cli_warn(cmd, "... and %zu more pages with errors or warnings (see the manifest)",
                 shown - MAX_REPORTED_PAGES);
    if (c.report_affinity) {
        fmd_arena *a = NULL;
        if (fmd_arena_create(&a, 0) == FMD_OK) {
            fmd_buf b;
            fmd_buf_reset(&b, a);
            if (fmd_numa_affinity_format(pl.plan, &b) == FMD_OK)
                fprintf(stderr, "%.*s", (int)b.len, b.ptr);
            fmd_arena_destroy(a);
        }
    }
    size_t bad_links = cli_site_report(&site, cmd, &r, c.quiet);
    if (!in_process)
        cli_placement_report(&pl, cmd);
    if (stats)
        cli_print_stats(stderr, &r);
    if (summary_json != NULL) {
        int jerr = 0;
        fmd_status js = cli_write_summary_json(summary_json, &r, &cfg, &jerr);
        if (js != FMD_OK)
            cli_die(cli_exit_code(js), cmd, "%s: cannot write the summary: %s%s%s", summary_json,
                    fmd_status_str(js), jerr ? ": " : "", jerr ? strerror(jerr) : "");
    }
    if (!c.quiet) {
        char in_s[32], out_s[32];
        human_bytes(in_s, sizeof in_s, (double)r.bytes_in);
        human_bytes(out_s, sizeof out_s, (double)r.bytes_out);
        char inc[160] = "";
        if (cfg.durable)
            snprintf(inc, sizeof inc, "%zu rendered, %zu unchanged, %zu removed, ", r.rendered,
                     r.unchanged, r.removed);
        fprintf(stderr,
                "fastmd: %zu page%s, %zu failed, %s%s in, %s out, %.3f s, %.0f pages/s, "
                "%.1f MB/s, %d thread%s\n",
                r.pages, r.pages == 1 ? "" : "s", r.failed, inc, in_s, out_s, r.wall,
                r.wall > 0 ? (double)r.pages / r.wall : 0,
                r.wall > 0 ? (double)r.bytes_in / r.wall / 1e6 : 0.0, r.nthreads,
                r.nthreads == 1 ? "" : "s");
    }
    int rc = r.failed || bad_links ? FMD_EXIT_PAGES_FAILED : FMD_EXIT_OK;
    cli_site_free(&site);
    fmd_engine_result_destroy(&r);
    if (!in_process)
        cli_placement_close(&pl);
    cli_common_free(&c);
    return rc;
}
