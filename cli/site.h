/* SPDX-License-Identifier: MIT */
/* `fastmd build`'s site flags: link rewriting and checking, page templates, asset copying. The
 * build command calls these; the work itself is in the kernel (links, templates), the engine
 * (the link check) and io/ (assets). */
#ifndef FMD_CLI_SITE_H
#define FMD_CLI_SITE_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"
#include "fmd_engine_site.h"
#include "fmd_io_assets.h"

/* Option codes of the site flags: far above any command's own. */
enum {
    OPT_SITE_NO_REWRITE = 0x1000,
    OPT_SITE_CHECK_LINKS,
    OPT_SITE_TEMPLATE,
    OPT_SITE_FULL_HTML,
    OPT_SITE_COPY_ASSETS,
};

#define CLI_SITE_LONG_OPTIONS                                                                      \
    {"no-rewrite-links", 0, NULL, OPT_SITE_NO_REWRITE},                                            \
        {"check-links", 0, NULL, OPT_SITE_CHECK_LINKS}, {"template", 1, NULL, OPT_SITE_TEMPLATE},  \
        {"full-html", 0, NULL, OPT_SITE_FULL_HTML},                                                \
    {                                                                                              \
        "copy-assets", 0, NULL, OPT_SITE_COPY_ASSETS                                               \
    }

/* Help text of the site flags, for build's --help. */
extern const char cli_site_help[];

typedef struct cli_site {
    bool no_rewrite, check_links, full_html, copy_assets;
    const char *template_path;
    fmd_arena *arena;       /* the compiled template */
    fmd_engine_links links; /* collected by the message callback */
    fmd_status assets_st;
    fmd_io_assets_result assets;
} cli_site;

void cli_site_init(cli_site *s);
void cli_site_free(cli_site *s);

/* Handle one site option: true if it was one. */
bool cli_site_option(cli_site *s, int code, const char *arg);

/* Check the flags together and set the engine's options: link rewriting and reporting, the
 * template (read and compiled here; exits 64 on a malformed one, 66 when it cannot be read),
 * the message callback that collects links. --check-links makes the engine read every page
 * (--verify), so that unchanged pages are checked too. */
void cli_site_apply(cli_site *s, fmd_engine_cfg *cfg, const char *cmd);

/* --copy-assets, between fmd_engine_render() and fmd_engine_close() (while OUT is locked). */
void cli_site_copy_assets(cli_site *s, const fmd_engine_cfg *cfg);

/* After the run: report the asset step (exits on its failure) and the links to missing pages,
 * as warnings, or errors with --check-links. @return the number of pages with a link to a
 * missing page when they are errors, else 0. */
size_t cli_site_report(cli_site *s, const char *cmd, fmd_engine_result *r, bool quiet);

#endif
