/* SPDX-License-Identifier: MIT */
/* Links between pages, for `fastmd build`: a relative link to a page ("x.md", "d/x.markdown#a")
 * is rewritten to the page's output name ("x.html", "d/x.html#a"), and each such link is
 * reported with its line so that the caller can check it against the pages it has. Pure: no
 * I/O, no global state; everything lives in the arenas passed in. */
#include <string.h>

#include "internal.h"

/* The extensions of a page, as the walk of a source tree recognises them (case-sensitive). */
static const struct {
    const char *ext;
    size_t len;
} page_exts[] = {{".md", 3}, {".markdown", 9}};

static bool is_alpha(unsigned char c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

/* Does @p s start with a URL scheme ("[A-Za-z][A-Za-z0-9+.-]*:") before any '/', '?' or '#'? */
static bool has_scheme(const char *s, size_t n)
{
    if (n == 0 || !is_alpha((unsigned char)s[0]))
        return false;
    for (size_t i = 1; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ':')
            return true;
        if (!is_alpha(c) && !(c >= '0' && c <= '9') && c != '+' && c != '.' && c != '-')
            return false;
    }
    return false;
}

fmd_status fmd_kernel_link_rewrite(const char *href, size_t n, fmd_buf *out, fmd_slice *target)
{
    target->ptr = NULL;
    target->len = 0;
    /* Left alone: empty, "#anchor", "?query", "/root" and "//host" (no site root to resolve them
     * against), and anything with a scheme (https:, mailto:, ...). */
    if (n == 0 || href[0] == '#' || href[0] == '?' || href[0] == '/' || has_scheme(href, n))
        return FMD_OK;
    size_t path = 0;
    while (path < n && href[path] != '?' && href[path] != '#')
        path++;
    for (size_t k = 0; k < sizeof page_exts / sizeof page_exts[0]; k++) {
        size_t el = page_exts[k].len;
        if (path < el || memcmp(href + path - el, page_exts[k].ext, el) != 0)
            continue;
        fmd_status st = fmd_buf_append(out, href, path - el);
        if (st == FMD_OK)
            st = FMD_BUF_PUT_LIT(out, ".html");
        if (st == FMD_OK)
            st = fmd_buf_append(out, href + path, n - path);
        if (st != FMD_OK)
            return st;
        target->ptr = href;
        target->len = path;
        return FMD_OK;
    }
    return FMD_OK;
}

/*** The renderer's hook ***/

/* Bytes the search for a link's line may look at, per page, beyond the page's own length twice:
 * keeps the search linear in the page whatever its links look like. */
#define SEARCH_SLACK ((size_t)64 << 10)

struct fmd__links {
    unsigned mode;    /* FMD_LINKS_* */
    const char *body; /* the Markdown the renderer parses, and its first line in the page */
    size_t len;
    unsigned line0;
    fmd_arena *scratch;
    size_t *nl; /* offsets of the body's newlines, made at the first page link */
    size_t n_nl;
    bool nl_done;
    size_t cursor;    /* where the last link was found: the search for the next starts here */
    size_t budget;    /* bytes the search may still look at */
    fmd_buf href;     /* the rewritten destination of the current link */
    fmd_page_link *v; /* the links reported so far (scratch) */
    size_t n, cap;
};

fmd__links *fmd__kernel_links_create(unsigned mode, const char *body, size_t len, unsigned line0,
                                     fmd_arena *scratch)
{
    fmd__links *lk = fmd_arena_alloc(scratch, sizeof *lk);
    if (lk == NULL)
        return NULL;
    memset(lk, 0, sizeof *lk);
    lk->mode = mode;
    lk->body = body;
    lk->len = len;
    lk->line0 = line0 ? line0 : 1;
    lk->scratch = scratch;
    lk->budget = 2 * len + SEARCH_SLACK;
    fmd_buf_reset(&lk->href, scratch);
    return lk;
}

/* The newline offsets of the body, once per page and only for pages with page links. */
static fmd_status index_lines(fmd__links *lk)
{
    lk->nl_done = true;
    size_t count = 0;
    for (const char *p = lk->body; (p = memchr(p, '\n', (size_t)(lk->body + lk->len - p))); p++)
        count++;
    if (count == 0)
        return FMD_OK;
    lk->nl = fmd_arena_alloc(lk->scratch, count * sizeof *lk->nl);
    if (lk->nl == NULL)
        return FMD_E_NOMEM;
    for (const char *p = lk->body; (p = memchr(p, '\n', (size_t)(lk->body + lk->len - p))); p++)
        lk->nl[lk->n_nl++] = (size_t)(p - lk->body);
    return FMD_OK;
}

/* The page line of body offset @p at: line0 plus the newlines before it (binary search). */
static unsigned line_at(const fmd__links *lk, size_t at)
{
    size_t lo = 0, hi = lk->n_nl;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (lk->nl[mid] < at)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lk->line0 + (unsigned)lo;
}

/* Where the link whose destination was written as @p raw is in the body: @p raw itself when the
 * parser points into the body, else (a block the parser copied, a footnote) the next place after
 * the last link where those bytes appear. 0: not found. */
static unsigned find_line(fmd__links *lk, const char *raw, size_t raw_n)
{
    if (!lk->nl_done && index_lines(lk) != FMD_OK)
        return 0;
    if (raw != NULL && (uintptr_t)raw >= (uintptr_t)lk->body &&
        (uintptr_t)raw < (uintptr_t)(lk->body + lk->len)) {
        lk->cursor = (size_t)(raw - lk->body);
        return line_at(lk, lk->cursor);
    }
    if (raw == NULL || raw_n == 0 || lk->cursor >= lk->len)
        return 0;
    /* memchr for the first byte, memcmp for the rest; every byte looked at is paid from the
     * budget, so a page full of links that cannot be found costs at most budget bytes. */
    const char *p = lk->body + lk->cursor, *end = lk->body + lk->len;
    while (lk->budget != 0 && (size_t)(end - p) >= raw_n) {
        size_t span = (size_t)(end - p) - raw_n + 1;
        if (span > lk->budget)
            span = lk->budget;
        const char *c = memchr(p, raw[0], span);
        if (c == NULL) {
            lk->budget -= span;
            return 0;
        }
        size_t cost = (size_t)(c - p) + raw_n;
        lk->budget -= cost < lk->budget ? cost : lk->budget;
        if (memcmp(c, raw, raw_n) == 0) {
            lk->cursor = (size_t)(c - lk->body);
            return line_at(lk, lk->cursor);
        }
        p = c + 1;
    }
    return 0;
}

fmd_status fmd__kernel_links_href(fmd__links *lk, const char *raw, size_t raw_n, const char **s,
                                  size_t *n)
{
    fmd_slice target;
    lk->href.len = 0;
    fmd_status st = fmd_kernel_link_rewrite(*s, *n, &lk->href, &target);
    if (st != FMD_OK || target.ptr == NULL)
        return st;
    if ((lk->mode & FMD_LINKS_REPORT) && lk->n < FMD_MAX_PAGE_LINKS) {
        if (lk->n == lk->cap) {
            size_t cap = lk->cap ? 2 * lk->cap : 16;
            fmd_page_link *v = fmd_arena_alloc(lk->scratch, cap * sizeof *v);
            if (v == NULL)
                return FMD_E_NOMEM;
            if (lk->n != 0)
                memcpy(v, lk->v, lk->n * sizeof *v);
            lk->v = v;
            lk->cap = cap;
        }
        /* Index the lines here, where a failure can fail the page: find_line() would report
         * it as line 0, "not found", and every later link on line0. */
        if (!lk->nl_done && (st = index_lines(lk)) != FMD_OK)
            return st;
        /* *s may be the renderer's temporary buffer: keep a copy of the target. */
        char *t = fmd_arena_dup(lk->scratch, target.ptr, target.len);
        if (t == NULL && target.len != 0)
            return FMD_E_NOMEM;
        lk->v[lk->n].target.ptr = t;
        lk->v[lk->n].target.len = target.len;
        lk->v[lk->n].line = find_line(lk, raw, raw_n);
        lk->n++;
    }
    if (lk->mode & FMD_LINKS_REWRITE) {
        *s = lk->href.ptr;
        *n = lk->href.len;
    }
    return FMD_OK;
}

fmd_status fmd__kernel_links_copy(const fmd__links *lk, fmd_arena *out, fmd_result *res)
{
    if (lk == NULL || lk->n == 0)
        return FMD_OK;
    fmd_page_link *v = fmd_arena_alloc(out, lk->n * sizeof *v);
    if (v == NULL)
        return FMD_E_NOMEM;
    for (size_t i = 0; i < lk->n; i++) {
        v[i].line = lk->v[i].line;
        v[i].target.len = lk->v[i].target.len;
        v[i].target.ptr = fmd_arena_dup(out, lk->v[i].target.ptr, lk->v[i].target.len);
        if (v[i].target.ptr == NULL && v[i].target.len != 0)
            return FMD_E_NOMEM;
    }
    res->page_links = v;
    res->n_page_links = lk->n;
    return FMD_OK;
}
