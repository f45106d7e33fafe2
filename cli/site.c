/* SPDX-License-Identifier: MIT */
/* `fastmd build`'s site flags: --no-rewrite-links, --check-links, --template, --full-html and
 * --copy-assets. The engine collects the links to pages that the kernel reports while the build
 * runs and checks them against the pages of SRC once it is done; this prints what it finds. */
#include "site.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char cli_site_help[] =
    "  --no-rewrite-links        keep links to pages as written (default: a relative link to\n"
    "                            x.md or x.markdown under SRC points at x.html, with its\n"
    "                            #anchor and ?query kept; --ndjson keeps them always)\n"
    "  --check-links             a link to a page that is not in SRC is an error of its page\n"
    "                            (exit status 1) rather than a warning; every page is read\n"
    "                            and checked, also unchanged ones\n"
    "  --template FILE           write each page as FILE filled in: {{title}}, {{content}},\n"
    "                            {{toc}}, {{fm.KEY}} (see docs/guide.md)\n"
    "  --full-html               write each page as a full HTML document (built-in template)\n"
    "  --copy-assets             copy every other file under SRC (images, ...) to OUT,\n"
    "                            incrementally; copies of removed files are removed\n";

/* Links to missing pages printed before the rest are only counted. */
#define MAX_REPORTED_LINKS 200

void cli_site_init(cli_site *s)
{
    memset(s, 0, sizeof *s);
    fmd_engine_links_create(&s->links, NULL); /* SRC is known in cli_site_apply() */
}

void cli_site_free(cli_site *s)
{
    fmd_engine_links_destroy(&s->links);
    fmd_arena_destroy(s->arena);
}

bool cli_site_option(cli_site *s, int code, const char *arg)
{
    switch (code) {
    case OPT_SITE_NO_REWRITE: s->no_rewrite = true; return true;
    case OPT_SITE_CHECK_LINKS: s->check_links = true; return true;
    case OPT_SITE_TEMPLATE: s->template_path = arg; return true;
    case OPT_SITE_FULL_HTML: s->full_html = true; return true;
    case OPT_SITE_COPY_ASSETS: s->copy_assets = true; return true;
    default: return false;
    }
}

/* The engine's per-page message callback: the usual message, plus the page's links kept. */
static char *site_message(const char *name, fmd_status load_status, int err, const fmd_result *res,
                          void *userdata)
{
    cli_site *s = userdata;
    fmd_engine_links_add(&s->links, name, res);
    if (res->status == FMD_OK && load_status == FMD_OK && res->n_warnings == 0)
        return NULL; /* only links: nothing to say about the page itself */
    return fmd_engine_page_message(name, load_status, err, res, NULL);
}

void cli_site_apply(cli_site *s, fmd_engine_cfg *cfg, const char *cmd)
{
    s->links.src = cfg->src;
    if (s->template_path != NULL && s->full_html)
        cli_die(FMD_EXIT_USAGE, cmd, "--template and --full-html both choose a template: pass one");
    if (s->copy_assets && cfg->out_dir == NULL)
        cli_die(FMD_EXIT_USAGE, cmd, "--copy-assets needs an OUT directory, not --ndjson");
    if (cfg->out_dir != NULL) {
        /* A site in OUT. --ndjson feeds tools, as serve does: its HTML keeps links as written. */
        cfg->opt.links = FMD_LINKS_REPORT | (s->no_rewrite ? 0u : FMD_LINKS_REWRITE);
        cfg->message = site_message;
        cfg->userdata = s;
    } else if (s->check_links) {
        cli_die(FMD_EXIT_USAGE, cmd, "--check-links needs an OUT directory, not --ndjson");
    }
    if (s->check_links)
        cfg->verify = true; /* unchanged pages are rendered too, so that their links are seen */
    if (s->template_path == NULL && !s->full_html)
        return;
    if (fmd_arena_create(&s->arena, 0) != FMD_OK)
        cli_die(FMD_EXIT_OSERR, cmd, FMD_NOMEM_TEXT);
    fmd_buf msg;
    fmd_buf_reset(&msg, s->arena);
    fmd_template *t = NULL;
    int err = 0;
    bool unreadable;
    fmd_status st =
        fmd_engine_site_template_load(s->template_path, s->arena, &t, &msg, &err, &unreadable);
    if (unreadable)
        cli_die(FMD_EXIT_NOINPUT, cmd, "%s: cannot read the template: %s%s%s", s->template_path,
                fmd_status_str(st), err ? ": " : "", err ? strerror(err) : "");
    if (st == FMD_E_NOMEM)
        cli_die(FMD_EXIT_OSERR, cmd, FMD_NOMEM_TEXT);
    if (st != FMD_OK)
        cli_die(FMD_EXIT_USAGE, cmd, "%s: %.*s", s->template_path ? s->template_path : "template",
                (int)msg.len, msg.ptr);
    cfg->opt.page_template = t; /* its hash goes into the options digest */
}

void cli_site_copy_assets(cli_site *s, const fmd_engine_cfg *cfg)
{
    if (s->copy_assets)
        s->assets_st = fmd_io_assets_sync(cfg->src, cfg->out_dir, &s->assets);
}

/* Print one link to a missing page; past MAX_REPORTED_LINKS they are only counted. */
static void print_missing(const fmd_engine_site_link *l, size_t index, void *userdata)
{
    const cli_site *s = userdata;
    if (index >= MAX_REPORTED_LINKS)
        return;
    char line[24] = "";
    if (l->line != 0)
        snprintf(line, sizeof line, "%u:", l->line);
    fprintf(stderr, "%s/%s:%s %s: link to a missing page: %s\n", s->links.src, l->page, line,
            s->check_links ? "error" : "warning", l->target);
}

size_t cli_site_report(cli_site *s, const char *cmd, fmd_engine_result *r, bool quiet)
{
    if (s->copy_assets) {
        if (s->assets_st != FMD_OK)
            cli_die(cli_exit_code(s->assets_st), cmd, "--copy-assets: %s: %s%s%s", s->assets.what,
                    fmd_status_str(s->assets_st), s->assets.err ? ": " : "",
                    s->assets.err ? strerror(s->assets.err) : "");
        if (!quiet)
            fprintf(stderr,
                    "fastmd: assets: %zu found, %zu copied (%zu as reflinks), %zu unchanged, "
                    "%zu removed, %zu skipped\n",
                    s->assets.found, s->assets.copied, s->assets.cloned, s->assets.unchanged,
                    s->assets.removed, s->assets.skipped);
    }
    if (s->links.nomem)
        cli_warn(cmd, "out of memory while collecting links: not every link was checked");
    if (s->links.n == 0 || r->batch == NULL)
        return 0;
    size_t np = 0, missing = 0;
    fmd_io_page *pages = fmd_io_batch_pages(r->batch, &np);
    size_t bad_pages = fmd_engine_links_check(&s->links, pages, np, print_missing, s, &missing);
    if (missing > MAX_REPORTED_LINKS)
        cli_warn(cmd, "... and %zu more links to missing pages", missing - MAX_REPORTED_LINKS);
    return s->check_links ? bad_pages : 0;
}
