/* SPDX-License-Identifier: MIT */
/* fastmd serve --warm: load the results of a `fastmd build --ndjson` stream into the result cache
 * at start-up, before the first request is read. (A build's OUT is refused: its HTML has links to
 * pages rewritten to .html, which serve does not do.) Each result is keyed as a request without
 * options would key it, by the page's bytes as they are now beneath --root; a page that changed
 * since the build (its content hash differs), or is gone, is not loaded. A sample of pages is
 * rendered again first: when one differs (the build ran with other options), nothing is loaded. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fmd_io.h"
#include "serve_internal.h"

/** Pages rendered again to check that the build's options are serve's. */
#define WARM_SAMPLES 8
/** The largest --warm file (a build's stream of every page, HTML included). */
#define WARM_MAX_FILE ((size_t)4 << 30)

/* One line of the warm file, read back with its page: the key and the result, in @p a. */
typedef struct warm_page {
    unsigned char key[SERVE_CACHE_KEY];
    fmd_result res;
    const char *src; /* the page's bytes now (malloc'ed) */
    size_t src_len;
} warm_page;

/* Read line [line, line + len) into @p wp. Returns FMD_OK, FMD_E_PARSE (skip the line: a failed
 * page or not a result), FMD_E_NOINPUT (skip: the page is gone or changed) or FMD_E_NOMEM. */
static fmd_status read_line(serve *s, const unsigned char od[16], const char *line, size_t len,
                            fmd_arena *a, warm_page *wp)
{
    serve_result_names nm;
    wp->src = NULL;
    fmd_status st = serve_result_parse(line, len, a, &wp->res, &nm);
    if (st != FMD_OK)
        return st;
    if (nm.path.ptr == NULL)
        return FMD_E_PARSE;
    if (nm.html_missing) /* a manifest line: no HTML */
        return FMD_E_PARSE;
    char *src = NULL;
    size_t sl = 0;
    int err;
    bool outside, special;
    if (fmd_io_root_read(s->root, nm.path.ptr, wp->res.bytes_in + 1, &src, &sl, &err, &outside,
                         &special) != FMD_OK)
        return FMD_E_NOINPUT;
    if (sl != wp->res.bytes_in || fmd_kernel_hash(src, sl) != wp->res.hash) {
        free(src);
        return FMD_E_NOINPUT; /* changed since the build */
    }
    serve_cache_key(src, sl, od, wp->key);
    wp->src = src;
    wp->src_len = sl;
    return FMD_OK;
}

/* Whether rendering @p wp's page now gives the bytes the build wrote (HTML and metadata). */
static bool same_as_render(serve *s, const warm_page *wp, fmd_arena *a)
{
    fmd_arena *out = NULL, *scratch = NULL;
    bool same = false;
    if (fmd_arena_create(&out, 0) == FMD_OK && fmd_arena_create(&scratch, 0) == FMD_OK) {
        fmd_result fresh;
        fmd_options opt = s->defaults;
        opt.rules = s->rules.defaults;
        fmd_kernel_page_render(wp->src, wp->src_len, &opt, out, scratch, &fresh);
        fmd_buf x, y;
        fmd_buf_reset(&x, a);
        fmd_buf_reset(&y, a);
        same = fresh.status == FMD_OK &&
               fmd_io_page_format_json(&x, NULL, NULL, &fresh, FMD_OK, 0, FMD_IO_JSON_HTML) ==
                   FMD_OK &&
               fmd_io_page_format_json(&y, NULL, NULL, &wp->res, FMD_OK, 0, FMD_IO_JSON_HTML) ==
                   FMD_OK &&
               x.len == y.len && memcmp(x.ptr, y.ptr, x.len) == 0;
    }
    fmd_arena_destroy(out);
    fmd_arena_destroy(scratch);
    return same;
}

/* The options digest of a request that gives no options. */
static fmd_status default_digest(serve *s, unsigned char od[16])
{
    static const char line[] =
        "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"transform\",\"params\":{\"content\":\"\"}}";
    fmd_rpc_request *req = NULL;
    fmd_status st = fmd_rpc_parse(line, sizeof line - 1, &s->defaults, 0, &req);
    if (st == FMD_OK && req->error != 0)
        st = FMD_E_USAGE;
    if (st == FMD_OK)
        serve_options_digest(s, req, od);
    fmd_rpc_request_free(req);
    return st;
}

fmd_status serve_warm(serve *s, const char *path, serve_warm_report *rep)
{
    memset(rep, 0, sizeof *rep);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        rep->err = errno;
        rep->what = "cannot be read";
        return FMD_E_NOINPUT;
    }
    if (S_ISDIR(sb.st_mode)) {
        rep->what = "is a directory: a build's OUT has its links to pages rewritten to .html; "
                    "warm from a `fastmd build SRC --ndjson FILE` stream";
        return FMD_E_USAGE;
    }
    fmd_arena *file = NULL, *a = NULL;
    fmd_status st = FMD_E_NOMEM;
    rep->what = FMD_NOMEM_TEXT;
    if (fmd_arena_create(&file, 0) != FMD_OK || fmd_arena_create(&a, 0) != FMD_OK)
        goto done;
    fmd_slice bytes;
    st = fmd_io_file_read(path, WARM_MAX_FILE, file, &bytes, &rep->err);
    if (st != FMD_OK) {
        rep->what = "cannot be read";
        goto done;
    }
    unsigned char od[16];
    st = default_digest(s, od);
    if (st != FMD_OK) {
        rep->what = "the default options";
        goto done;
    }
    size_t n_lines = 0;
    for (size_t i = 0; i < bytes.len; i++)
        n_lines += bytes.ptr[i] == '\n';
    size_t every = n_lines / WARM_SAMPLES + 1;
    /* Two passes: the sample is checked before anything is loaded. */
    for (int pass = 0; pass < 2; pass++) {
        size_t k = 0;
        for (const char *p = bytes.ptr, *end = bytes.ptr + bytes.len; p < end; k++) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
            const char *line = p;
            p += len + 1;
            if (pass == 0 && k % every != 0)
                continue;
            warm_page wp;
            st = read_line(s, od, line, len, a, &wp);
            /* Nothing sampled could be checked (the sampled pages changed): the first page
             * loaded is checked instead. */
            if (st == FMD_OK && (pass == 0 || rep->checked == 0)) {
                bool same = same_as_render(s, &wp, a);
                rep->checked++;
                if (!same) {
                    rep->what = "holds results that differ from what serve renders (a build "
                                "with other options?); nothing was loaded";
                    free((void *)wp.src);
                    st = FMD_E_USAGE;
                    goto done;
                }
            }
            if (st == FMD_OK && pass == 1) {
                serve_cache_warm(s->cache, wp.key, &wp.res, a);
                rep->loaded++;
            } else if (pass == 1 && st == FMD_E_NOINPUT) {
                rep->stale++;
            } else if (pass == 1 && st == FMD_E_PARSE) {
                rep->skipped++;
            }
            free((void *)wp.src);
            fmd_arena_reset(a);
            if (st == FMD_E_NOMEM) {
                rep->what = FMD_NOMEM_TEXT;
                goto done;
            }
        }
    }
    st = FMD_OK;
    rep->what = NULL;
done:
    fmd_arena_destroy(file);
    fmd_arena_destroy(a);
    return st;
}
