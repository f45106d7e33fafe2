/* SPDX-License-Identifier: MIT */
/* fastmd render [FILE|-]: one page's HTML to stdout; errors and warnings to stderr. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmd_io.h"
#include "cli.h"

static const char help[] =
    "Usage: fastmd render [options] [FILE|-]\n"
    "\n"
    "Render one Markdown page to HTML on stdout. With no FILE, or with -, read stdin.\n"
    "Errors and warnings go to stderr as FILE:LINE:COLUMN: error: CAUSE.\n"
    "\n"
    "Options:\n";

int cli_cmd_render(int argc, char **argv)
{
    static const char *cmd = "render";
    static const struct option longopts[] = {CLI_COMMON_LONG_OPTIONS, {NULL, 0, NULL, 0}};
    cli_common c;
    cli_common_init(&c);
    int code;
    while ((code = cli_getopt(argc, argv, longopts, NULL)) != -1) {
        if (code == OPT_HELP) {
            printf("%s%s", help, cli_common_help);
            return FMD_EXIT_OK;
        }
        if (code == '?' || code == ':')
            cli_bad_option(cmd, argv, code);
        cli_common_option(&c, code, optarg, cmd);
    }
    if (argc - optind > 1)
        cli_die(FMD_EXIT_USAGE, cmd, "expected at most one FILE, got %d", argc - optind);
    (void)cli_resolve_threads(&c, cmd); /* validates the value; one page uses one thread */
    const char *path = optind < argc ? argv[optind] : "-";
    const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;

    fmd_arena *in = NULL, *out = NULL, *scratch = NULL;
    if (fmd_arena_create(&in, 0) != FMD_OK || fmd_arena_create(&out, 0) != FMD_OK ||
        fmd_arena_create(&scratch, 0) != FMD_OK)
        cli_die(FMD_EXIT_OSERR, cmd, FMD_NOMEM_TEXT);

    fmd_slice page;
    int err = 0;
    size_t max_in = c.opt.max_input_bytes;
    fmd_status st = fmd_io_file_read(path, max_in, in, &page, &err);
    if (st == FMD_E_INPUT_LIMIT)
        cli_die(FMD_EXIT_PAGES_FAILED, cmd,
                "%s: error: page is larger than the input limit of %zu bytes", name, max_in);
    if (st != FMD_OK && err == EISDIR) /* an input that is not a page: as a missing one */
        cli_die(FMD_EXIT_NOINPUT, cmd, "%s: is a folder, not a page ('fastmd build' takes folders)",
                name);
    if (st != FMD_OK)
        cli_die(cli_exit_code(st), cmd, "%s: %s%s%s", name, fmd_status_str(st), err ? ": " : "",
                err ? strerror(err) : "");

    fmd_result r;
    fmd_kernel_page_render(page.ptr, page.len, &c.opt, out, scratch, &r);
    if (r.html.len != 0 && fwrite(r.html.ptr, 1, r.html.len, stdout) != r.html.len)
        cli_die(FMD_EXIT_IOERR, cmd, "cannot write to stdout");
    if (fflush(stdout) != 0)
        cli_die(FMD_EXIT_IOERR, cmd, "cannot write to stdout");
    char *msg = fmd_engine_page_message(name, FMD_OK, 0, &r, NULL);
    if (msg != NULL)
        fputs(msg, stderr);
    free(msg);
    int rc = r.status == FMD_OK ? FMD_EXIT_OK : FMD_EXIT_PAGES_FAILED;
    fmd_arena_destroy(in);
    fmd_arena_destroy(out);
    fmd_arena_destroy(scratch);
    cli_common_free(&c);
    return rc;
}
