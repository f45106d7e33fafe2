/* SPDX-License-Identifier: MIT */
/* fastmd serve: the flags, the environment's test hooks and the messages; the server itself is
 * serve/ (fmd_serve_run()). Standard output carries protocol lines only; logs go to stderr. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "fmd_io.h"
#include "fmd_number.h"
#include "fmd_serve_options.h"

static const char help[] =
    "Usage: fastmd serve [options]\n"
    "\n"
    "Speak JSON-RPC 2.0 on standard input and output, one message per line (NDJSON), until\n"
    "a shutdown request or the end of input. Methods: ping, shutdown, transform,\n"
    "transformBatch, normalize, computeDigest, cancel, $/cancelRequest, health, stats;\n"
    "notifications batchItem and progress. See docs/protocol.md.\n"
    "\n"
    "Options:\n";

static const char help_serve[] =
    "  --root DIR                read pages given by path from beneath DIR (default: the\n"
    "                            working directory); paths leading out of it are refused\n"
    "  --max-queued N            requests waiting per queue before an Overloaded error\n"
    "                            (default 256)\n"
    "  --lanes N                 threads answering single transforms, normalize and\n"
    "                            computeDigest beside the batch engine (default 2)\n"
    "  --max-line-bytes N        longest request line (default 1G; K/M/G suffixes)\n"
    "  --max-memory BYTES        bound on what serve holds (queued requests, results not yet\n"
    "                            written, held batch results): over it, requests are answered\n"
    "                            -32001 Overloaded with a retry hint (default: no bound)\n"
    "  --cache-bytes BYTES       bound of the result cache, keyed by the page's and the options'\n"
    "                            digests (default 256M; 0 turns it off)\n"
    "  --cache-dir DIR           keep every rendered page's result in DIR too (created when\n"
    "                            missing), so that a restarted server finds it: one file per\n"
    "                            key, written atomically; only files of that form are touched\n"
    "  --cache-dir-bytes BYTES   bound of --cache-dir, least recently used out (default 1G)\n"
    "  --warm FILE               before the first request, load the results of a `fastmd\n"
    "                            build SRC --ndjson FILE` stream into the cache; --root must\n"
    "                            be that SRC and the build's options serve's (a sample of\n"
    "                            pages is rendered again to check; changed pages are skipped)\n"
    "  --trace FILE              write a trace of every request, batch phase and page (Chrome\n"
    "                            Trace Event JSON: open it in Perfetto or chrome://tracing)\n"
    "  --alert NAME=VALUE        raise an alert (an `alert` notification, and in health and\n"
    "                            stats) while NAME reaches VALUE: queue, p99Ms, failureRate,\n"
    "                            memory (bytes, K/M/G), stallSeconds; repeatable; none by default\n"
    "  --metrics-file FILE       write the Prometheus text of stats to FILE every\n"
    "                            --metrics-interval seconds (default 10) and at exit (a\n"
    "                            regular file is replaced atomically; a FIFO or device is\n"
    "                            written in place, never replaced)\n"
    "  --stall-seconds S         health says \"stalled\" when no page finished for S seconds\n"
    "                            while work is running or queued (default 30)\n"
    "  --no-bind                 do not bind the engine's threads to cores\n"
    "\n"
    "The engine's thread count comes from --threads, else FASTMD_WORKERS, else\n"
    "OMP_NUM_THREADS, else one per physical core; with --threads auto each batch runs on\n"
    "a team sized from the allowed CPUs, the cgroup's CPU quota and the load average.\n"
    "The Markdown flags above (the same defaults as build and render) are the defaults\n"
    "under each request's options; --rules applies to every request that sends no\n"
    "options.rules of its own. Exit status: 0 after\n"
    "shutdown, the end of input or SIGTERM/SIGINT, 64 usage, 70 start-up failure.\n";

enum {
    OPT_ROOT = OPT_COMMAND_BASE,
    OPT_MAX_QUEUED,
    OPT_LANES,
    OPT_MAX_LINE,
    OPT_NO_BIND,
    OPT_CACHE_BYTES,
    OPT_TRACE,
    OPT_ALERT,
    OPT_METRICS_FILE,
    OPT_METRICS_INTERVAL,
    OPT_CACHE_DIR,
    OPT_CACHE_DIR_BYTES,
    OPT_WARM,
    OPT_STALL,
    OPT_SERVE_MAX_MEMORY, /* serve's own meaning, not build's (cli.h's OPT_MAX_MEMORY) */
};

/* Set by SIGTERM and SIGINT: the server stops reading, answers what it has, and exits 0. */
static volatile sig_atomic_t stop_flag;

static void on_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static const char *const cmd = "serve";

static void serve_warn(const char *what, fmd_status st, int err, void *userdata)
{
    (void)userdata;
    cli_warn(cmd, "%s: %s%s%s", what, fmd_status_str(st), err ? ": " : "",
             err ? strerror(err) : "");
}

static void serve_ready(int nthreads, int lanes, void *userdata)
{
    const char *root_path = userdata;
    fprintf(stderr, "fastmd: serve: ready: %d worker%s, %d lane%s, root %s\n", nthreads,
            nthreads == 1 ? "" : "s", lanes, lanes == 1 ? "" : "s", root_path);
}

#ifdef FMD_TEST_HOOKS
/* A test hook's whole number from the environment; exits with a usage error on a bad one. */
static size_t env_count(const char *name, const char *v, unsigned long long hi)
{
    unsigned long long n;
    if (!fmd_uint_parse(v, 1, hi, &n))
        cli_die(FMD_EXIT_USAGE, cmd, "%s must be a whole number from 1 to %llu, not '%s'", name, hi,
                v);
    return (size_t)n;
}
#endif

int cli_cmd_serve(int argc, char **argv)
{
    static const struct option longopts[] = {CLI_COMMON_LONG_OPTIONS,
                                             {"root", 1, NULL, OPT_ROOT},
                                             {"max-queued", 1, NULL, OPT_MAX_QUEUED},
                                             {"lanes", 1, NULL, OPT_LANES},
                                             {"max-line-bytes", 1, NULL, OPT_MAX_LINE},
                                             {"no-bind", 0, NULL, OPT_NO_BIND},
                                             {"max-memory", 1, NULL, OPT_SERVE_MAX_MEMORY},
                                             {"stall-seconds", 1, NULL, OPT_STALL},
                                             {"cache-bytes", 1, NULL, OPT_CACHE_BYTES},
                                             {"cache-dir", 1, NULL, OPT_CACHE_DIR},
                                             {"cache-dir-bytes", 1, NULL, OPT_CACHE_DIR_BYTES},
                                             {"warm", 1, NULL, OPT_WARM},
                                             {"trace", 1, NULL, OPT_TRACE},
                                             {"alert", 1, NULL, OPT_ALERT},
                                             {"metrics-file", 1, NULL, OPT_METRICS_FILE},
                                             {"metrics-interval", 1, NULL, OPT_METRICS_INTERVAL},
                                             {NULL, 0, NULL, 0}};
    cli_common c;
    cli_common_init(&c);
    fmd_serve_cfg cfg;
    fmd_serve_cfg_default(&cfg);
    const char *rules_path = NULL, *trace_path = NULL;
    char msg[512];
    int code, li = -1;
    while ((code = cli_getopt(argc, argv, longopts, &li)) != -1) {
        switch (code) {
        case OPT_HELP: printf("%s%s%s", help, cli_common_help, help_serve); return FMD_EXIT_OK;
        case OPT_NO_BIND: c.no_bind = true; break;
        case OPT_TRACE: trace_path = optarg; break;
        default:
            if (code >= OPT_ROOT) { /* the flags serve owns (fmd_serve_options.h) */
                if (fmd_serve_option_apply(&cfg, longopts[li].name, optarg, msg, sizeof msg) !=
                    FMD_OK)
                    cli_die(FMD_EXIT_USAGE, cmd, "%s", msg);
                break;
            }
            if (code == OPT_RULES)
                rules_path = optarg; /* its bytes are part of the cache keys (below) */
            if (code == '?' || code == ':' || !cli_common_option(&c, code, optarg, cmd))
                cli_bad_option(cmd, argv, code);
        }
    }
    if (optind != argc)
        cli_die(FMD_EXIT_USAGE, cmd, "unexpected argument '%s'", argv[optind]);
    if (cfg.cache_bytes == 0 && (cfg.cache_dir != NULL || cfg.warm_path != NULL))
        cli_die(FMD_EXIT_USAGE, cmd, "%s needs the result cache (--cache-bytes above 0)",
                cfg.cache_dir != NULL ? "--cache-dir" : "--warm");

    /* A client that goes away must not kill the server mid-write: write() then fails with
     * EPIPE, and the end of input follows. */
    signal(SIGPIPE, SIG_IGN);
    /* No SA_RESTART: the signal interrupts the reader's read(), which then sees the flag. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    cfg.defaults = c.opt;
    cfg.stop = &stop_flag;
    cfg.warn = serve_warn;
    cfg.ready = c.quiet ? NULL : serve_ready;
    cfg.userdata = (void *)cfg.root_path;
    const char *hook;
#ifdef FMD_TEST_HOOKS /* test builds only (-DFMD_TEST_HOOKS=ON): never in a release binary */
    hook = getenv("FASTMD_SERVE_TEST_FAULT_EVERY");
    if (hook != NULL && *hook != '\0')
        cfg.fault_every = env_count("FASTMD_SERVE_TEST_FAULT_EVERY", hook, SIZE_MAX);
    hook = getenv("FASTMD_SERVE_TEST_HANG_FILE"); /* batch pages wait while this file exists */
    if (hook != NULL && *hook != '\0')
        cfg.hang_file = hook;
    hook = getenv("FASTMD_SERVE_TEST_DELAY_US"); /* each batch page takes this much longer */
    if (hook != NULL && *hook != '\0')
        cfg.delay_us = env_count("FASTMD_SERVE_TEST_DELAY_US", hook, 10000000);
#else
    (void)hook;
#endif
    fmd_arena *rules_arena = NULL; /* the --rules file's bytes, read once more for the keys */
    if (rules_path != NULL) {
        fmd_slice bytes;
        int err = 0;
        if (fmd_arena_create(&rules_arena, 0) != FMD_OK)
            cli_die(FMD_EXIT_OSERR, cmd, FMD_NOMEM_TEXT);
        fmd_status rst = fmd_io_file_read(rules_path, SIZE_MAX, rules_arena, &bytes, &err);
        if (rst != FMD_OK)
            cli_die(FMD_EXIT_NOINPUT, cmd, "--rules %s: %s", rules_path,
                    err ? strerror(err) : fmd_status_str(rst));
        cfg.rules_text = bytes.ptr;
        cfg.rules_len = bytes.len;
    }
    /* Standard output carries the protocol: neither file may be it. */
    if (trace_path != NULL && strcmp(trace_path, "-") == 0)
        cli_die(FMD_EXIT_USAGE, cmd,
                "--trace -: standard output carries the JSON-RPC answers; name a file");
    if (trace_path != NULL) {
        cfg.trace_fd = open(trace_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (cfg.trace_fd < 0)
            cli_die(FMD_EXIT_CANTCREAT, cmd, "--trace %s: %s", trace_path, strerror(errno));
    }
    fmd_placement pl;
    fmd_status st = cli_placement_open(&pl, &c, cmd);
    if (st != FMD_OK)
        cli_die(cli_exit_code(st), cmd, "cannot plan threads: %s", fmd_status_str(st));
    cfg.placement = &pl;
    cfg.auto_threads = c.threads_arg != NULL && strcmp(c.threads_arg, "auto") == 0;
    fmd_serve_failure fail;
    st = fmd_serve_run(&cfg, &fail);
    if (st != FMD_OK && fail.root)
        cli_die(cli_exit_code(st), cmd, "--root %s: %s%s%s", cfg.root_path, fmd_status_str(st),
                fail.err ? ": " : "", fail.err ? strerror(fail.err) : "");
    if (st != FMD_OK && (fail.cache_dir || fail.warm))
        cli_die(fail.warm && st == FMD_E_USAGE ? FMD_EXIT_USAGE : cli_exit_code(st), cmd,
                "%s %s: %s%s%s", fail.warm ? "--warm" : "--cache-dir",
                fail.warm ? cfg.warm_path : cfg.cache_dir, fail.what, fail.err ? ": " : "",
                fail.err ? strerror(fail.err) : "");
    if (st != FMD_OK)
        cli_die(FMD_EXIT_SOFTWARE, cmd, "%s", fail.what);
    cli_placement_report(&pl, cmd);
    cli_placement_close(&pl);
    fmd_arena_destroy(rules_arena);
    if (cfg.trace_fd >= 0)
        close(cfg.trace_fd);
    cli_common_free(&c); /* the compiled --rules */
    return FMD_EXIT_OK;
}
