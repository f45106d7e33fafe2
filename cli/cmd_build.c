/* SPDX-License-Identifier: MIT */
/* fastmd build SRC OUT: enumerate -> load (parallel reads) -> render (kernel batch loop) ->
 * write HTML files atomically (parallel) -> manifest.ndjson -> summary. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmd_io.h"
#include "internal.h"

static const char help[] =
    "Usage: fastmd build [options] SRC OUT\n"
    "\n"
    "Render every *.md and *.markdown file under SRC (recursively) to OUT, under the same\n"
    "relative path ending in .html, and write OUT/manifest.ndjson: one JSON line per page,\n"
    "sorted by path, with its status, title, front matter, headings, counts and hash.\n"
    "Symbolic links that lead out of SRC are not followed. Each file is written to a\n"
    "temporary name and renamed, so no reader sees half a page.\n"
    "\n"
    "Options:\n";

static const char help_build[] =
    "  --no-bind                 do not bind threads to cores\n"
    "  --report-affinity         print where each thread ran\n"
    "\n"
    "A summary line goes to stderr at the end. Exit status: 0 all pages ok, 1 some pages\n"
    "failed (every other page is still written), 64 usage, 66 SRC missing, 73 OUT cannot be\n"
    "created, 74 I/O error.\n";

enum { OPT_NO_BIND = OPT_COMMAND_BASE, OPT_REPORT_AFFINITY };

/* Per-page errors printed before the rest are only counted. */
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

int cli_cmd_build(int argc, char **argv)
{
    static const char *cmd = "build";
    static const struct option longopts[] = {CLI_COMMON_LONG_OPTIONS,
                                             {"no-bind", 0, NULL, OPT_NO_BIND},
                                             {"report-affinity", 0, NULL, OPT_REPORT_AFFINITY},
                                             {NULL, 0, NULL, 0}};
    cli_common c;
    cli_common_init(&c);
    int code;
    opterr = 0;
    while ((code = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
        if (code == OPT_HELP) {
            printf("%s%s%s", help, cli_common_help, help_build);
            return FMD_EXIT_OK;
        }
        if (code == OPT_NO_BIND) {
            c.no_bind = true;
            continue;
        }
        if (code == OPT_REPORT_AFFINITY) {
            c.report_affinity = true;
            continue;
        }
        if (code == '?' || code == ':')
            cli_die(FMD_EXIT_USAGE, cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        cli_common_option(&c, code, optarg, cmd);
    }
    if (argc - optind != 2)
        cli_die(FMD_EXIT_USAGE, cmd, "expected SRC and OUT, got %d argument%s", argc - optind,
                argc - optind == 1 ? "" : "s");
    const char *src = argv[optind], *dst = argv[optind + 1];

    double t0 = cli_now();
    cli_placement pl;
    fmd_status st = cli_placement_open(&pl, &c, cmd);
    if (st != FMD_OK)
        cli_die(cli_exit_code(st), cmd, "cannot plan threads: %s", fmd_status_str(st));
    int nthreads = pl.plan->n_threads;

    /* Enumerate. */
    fmd_io_batch *batch = NULL;
    int err = 0;
    st = fmd_io_enumerate_tree(src, nthreads, &batch, &err);
    if (st != FMD_OK)
        cli_die(cli_exit_code(st), cmd, "%s: %s%s%s", src, fmd_status_str(st), err ? ": " : "",
                err ? strerror(err) : "");
    size_t nw;
    const fmd_io_warning *warns = fmd_io_batch_warnings(batch, &nw);
    for (size_t i = 0; i < nw; i++)
        cli_warn(cmd, "%s/%s: warning: %s%s%s", src, warns[i].path,
                 fmd_io_warning_str(warns[i].kind), warns[i].err ? ": " : "",
                 warns[i].err ? strerror(warns[i].err) : "");
    size_t n;
    fmd_io_page *pages = fmd_io_batch_pages(batch, &n);

    /* Load. */
    fmd_io_input in;
    st = fmd_io_load_pages(batch, 0, n, c.opt.max_input_bytes, nthreads, &in);
    if (st != FMD_OK)
        cli_die(cli_exit_code(st), cmd, "loading %s: %s", src, fmd_status_str(st));

    /* Render. */
    fmd_result *results = calloc(n ? n : 1, sizeof *results);
    fmd_kernel_batch *kb = NULL;
    if (results == NULL || fmd_kernel_batch_create(&kb, nthreads) != FMD_OK)
        cli_die(FMD_EXIT_OSERR, cmd, "out of memory");
    fmd_batch_run run = {.base = in.base, .pages = in.refs, .n = n, .opt = &c.opt,
                         .results = results, .hook = &pl.hook};
    st = fmd_kernel_run_batch(kb, &run);
    fmd_numa_unbind_thread(pl.plan, NULL); /* the main thread goes on to start other teams */
    if (st != FMD_OK)
        cli_die(cli_exit_code(st), cmd, "rendering: %s", fmd_status_str(st));

    /* Write. */
    fmd_io_out *out = NULL;
    st = fmd_io_out_open(dst, &out, &err);
    if (st != FMD_OK)
        cli_die(cli_exit_code(st), cmd, "%s: %s%s%s", dst, fmd_status_str(st), err ? ": " : "",
                err ? strerror(err) : "");
    st = fmd_io_write_pages(out, batch, 0, n, results, nthreads);
    if (st != FMD_OK && st != FMD_E_IO)
        cli_die(cli_exit_code(st), cmd, "writing %s: %s", dst, fmd_status_str(st));
    st = fmd_io_write_manifest(out, batch, results, &err);
    if (st != FMD_OK)
        cli_die(cli_exit_code(st), cmd, "%s/%s: %s%s%s", dst, FMD_IO_MANIFEST_NAME,
                fmd_status_str(st), err ? ": " : "", err ? strerror(err) : "");

    /* Report, in path order. */
    size_t failed = 0, bytes_in = 0, bytes_out = 0;
    for (size_t i = 0; i < n; i++) {
        const fmd_result *r = &results[i];
        bytes_in += r->bytes_in;
        bytes_out += r->html.len;
        bool bad = r->status != FMD_OK || pages[i].status != FMD_OK;
        if (bad)
            failed++;
        if ((bad || r->n_warnings) && failed <= MAX_REPORTED_PAGES) {
            char name[4096];
            snprintf(name, sizeof name, "%s/%s", src, pages[i].path);
            if (r->status == FMD_OK && pages[i].status != FMD_OK)
                cli_warn(NULL, "%s: error: %s%s%s", name, fmd_status_str(pages[i].status),
                         pages[i].err ? ": " : "", pages[i].err ? strerror(pages[i].err) : "");
            else
                cli_report_page(stderr, name, r);
        }
    }
    if (failed > MAX_REPORTED_PAGES)
        cli_warn(cmd, "... and %zu more failed pages (see %s/%s)", failed - MAX_REPORTED_PAGES,
                 dst, FMD_IO_MANIFEST_NAME);
    if (c.report_affinity) {
        fmd_arena *a = NULL;
        if (fmd_arena_create(&a, 0) == FMD_OK) {
            fmd_buf b;
            fmd_buf_init(&b, a);
            if (fmd_numa_format_affinity(pl.plan, &b) == FMD_OK)
                fprintf(stderr, "%.*s", (int)b.len, b.ptr);
            fmd_arena_destroy(a);
        }
    }
    cli_placement_report(&pl, cmd);

    double wall = cli_now() - t0;
    if (!c.quiet) {
        char in_s[32], out_s[32];
        human_bytes(in_s, sizeof in_s, (double)bytes_in);
        human_bytes(out_s, sizeof out_s, (double)bytes_out);
        fprintf(stderr,
                "fastmd: %zu pages, %zu failed, %s in, %s out, %.3f s, %.0f pages/s, %.1f MB/s, "
                "%d threads\n",
                n, failed, in_s, out_s, wall, wall > 0 ? (double)n / wall : 0.0,
                wall > 0 ? (double)bytes_in / wall / 1e6 : 0.0, nthreads);
    }

    fmd_io_out_close(out);
    fmd_kernel_batch_destroy(kb);
    free(results);
    fmd_io_input_free(&in);
    fmd_io_batch_destroy(batch);
    cli_placement_close(&pl);
    return failed ? FMD_EXIT_PAGES_FAILED : FMD_EXIT_OK;
}
