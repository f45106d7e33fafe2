/* SPDX-License-Identifier: MIT */
/* `fastmd build`'s site flags: --no-rewrite-links, --check-links, --template, --full-html and
 * --copy-assets. Collects the links to pages that the kernel reports while the build runs, and
 * checks them against the pages of SRC once it is done. */
#define _GNU_SOURCE /* open_memstream, strndup */
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
    pthread_mutex_init(&s->mu, NULL);
}

void cli_site_free(cli_site *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->links[i].page);
        free(s->links[i].target);
    }
    free(s->links);
    fmd_arena_destroy(s->arena);
    pthread_mutex_destroy(&s->mu);
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
    size_t sl = strlen(s->src);
    const char *rel = strncmp(name, s->src, sl) == 0 && name[sl] == '/' ? name + sl + 1 : name;
    if (res->n_page_links != 0) {
        pthread_mutex_lock(&s->mu);
        for (size_t k = 0; k < res->n_page_links && !s->nomem; k++) {
            if (s->n == s->cap) {
                size_t cap = s->cap ? 2 * s->cap : 256;
                cli_site_link *v = realloc(s->links, cap * sizeof *v);
                if (v == NULL) {
                    s->nomem = true;
                    break;
                }
                s->links = v;
                s->cap = cap;
            }
            cli_site_link l = {
                strdup(rel), strndup(res->page_links[k].target.ptr, res->page_links[k].target.len),
                res->page_links[k].line, k};
            if (l.page == NULL || l.target == NULL) {
                free(l.page);
                free(l.target);
                s->nomem = true;
                break;
            }
            s->links[s->n++] = l;
        }
        pthread_mutex_unlock(&s->mu);
    }
    if (res->status == FMD_OK && load_status == FMD_OK && res->n_warnings == 0)
        return NULL; /* only links: nothing to say about the page itself */
    return cli_page_message(name, load_status, err, res, NULL);
}

void cli_site_apply(cli_site *s, fmd_engine_cfg *cfg, const char *cmd)
{
    s->src = cfg->src;
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
        cli_die(FMD_EXIT_OSERR, cmd, "out of memory");
    const char *text = fmd_kernel_template_builtin();
    size_t len = strlen(text);
    if (s->template_path != NULL) {
        fmd_slice bytes;
        int err = 0;
        fmd_status st =
            fmd_io_file_read(s->template_path, (size_t)16 << 20, s->arena, &bytes, &err);
        if (st != FMD_OK)
            cli_die(FMD_EXIT_NOINPUT, cmd, "%s: cannot read the template: %s%s%s", s->template_path,
                    fmd_status_str(st), err ? ": " : "", err ? strerror(err) : "");
        text = bytes.ptr;
        len = bytes.len;
    }
    fmd_buf msg;
    fmd_buf_reset(&msg, s->arena);
    fmd_template *t = NULL;
    fmd_status st = fmd_kernel_template_compile(text, len, s->arena, &t, &msg);
    if (st == FMD_E_NOMEM)
        cli_die(FMD_EXIT_OSERR, cmd, "out of memory");
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

static int cmp_link(const void *a, const void *b)
{
    const cli_site_link *x = a, *y = b;
    int c = strcmp(x->page, y->page);
    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static int cmp_path(const void *key, const void *elem)
{
    return strcmp((const char *)key, ((const fmd_io_page *)elem)->path);
}

static int hexv(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        return (c | 0x20) - 'a' + 10;
    return -1;
}

/* The page a link leads to, relative to SRC: the linking page's directory joined with the
 * percent-decoded target, "." and ".." resolved. False when it leaves SRC or is too long. */
static bool resolve(const char *page, const char *target, char *out, size_t cap)
{
    char buf[8192];
    const char *slash = strrchr(page, '/');
    size_t n = slash ? (size_t)(slash - page) + 1 : 0;
    if (n >= sizeof buf)
        return false;
    memcpy(buf, page, n);
    for (const char *p = target; *p; p++) {
        char c = *p;
        if (c == '%' && hexv(p[1]) >= 0 && hexv(p[2]) >= 0) {
            c = (char)(hexv(p[1]) * 16 + hexv(p[2]));
            p += 2;
        }
        if (n + 1 >= sizeof buf)
            return false;
        buf[n++] = c;
    }
    buf[n] = '\0';
    /* Resolve segment by segment into out. */
    size_t o = 0;
    for (char *seg = buf, *next; seg != NULL; seg = next) {
        next = strchr(seg, '/');
        if (next != NULL)
            *next++ = '\0';
        if (*seg == '\0' || strcmp(seg, ".") == 0)
            continue;
        if (strcmp(seg, "..") == 0) {
            if (o == 0)
                return false; /* above SRC */
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
            continue;
        }
        size_t sl = strlen(seg);
        if (o + sl + 2 > cap)
            return false;
        if (o != 0)
            out[o++] = '/';
        memcpy(out + o, seg, sl);
        o += sl;
    }
    out[o] = '\0';
    return o != 0;
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
    if (s->nomem)
        cli_warn(cmd, "out of memory while collecting links: not every link was checked");
    if (s->n == 0 || r->batch == NULL)
        return 0;
    size_t np = 0;
    fmd_io_page *pages = fmd_io_batch_pages(r->batch, &np);
    qsort(s->links, s->n, sizeof *s->links, cmp_link);
    size_t missing = 0, bad_pages = 0;
    const char *last_bad = NULL;
    for (size_t i = 0; i < s->n; i++) {
        const cli_site_link *l = &s->links[i];
        char to[8192];
        /* Pages are sorted by path (byte order), so a binary search finds one. */
        if (resolve(l->page, l->target, to, sizeof to) &&
            bsearch(to, pages, np, sizeof *pages, cmp_path) != NULL)
            continue;
        if (last_bad == NULL || strcmp(last_bad, l->page) != 0)
            bad_pages++;
        last_bad = l->page;
        if (missing++ >= MAX_REPORTED_LINKS)
            continue;
        char line[24] = "";
        if (l->line != 0)
            snprintf(line, sizeof line, "%u:", l->line);
        fprintf(stderr, "%s/%s:%s %s: link to a missing page: %s\n", s->src, l->page, line,
                s->check_links ? "error" : "warning", l->target);
    }
    if (missing > MAX_REPORTED_LINKS)
        cli_warn(cmd, "... and %zu more links to missing pages", missing - MAX_REPORTED_LINKS);
    return s->check_links ? bad_pages : 0;
}
