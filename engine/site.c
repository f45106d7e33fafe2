/* SPDX-License-Identifier: MIT */
/* A site build's links to pages (fmd_engine_site.h): collected under a mutex while the build
 * runs, then sorted and checked against SRC's pages by binary search. Never prints. */
#define _GNU_SOURCE /* strndup */
#include "fmd_engine_site.h"

#include <stdlib.h>
#include <string.h>

void fmd_engine_links_create(fmd_engine_links *l, const char *src)
{
    memset(l, 0, sizeof *l);
    l->src = src;
    pthread_mutex_init(&l->mu, NULL);
}

void fmd_engine_links_destroy(fmd_engine_links *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].page);
        free(l->v[i].target);
    }
    free(l->v);
    pthread_mutex_destroy(&l->mu);
    l->v = NULL;
    l->n = l->cap = 0;
}

/* Append one link; false when out of memory (nothing is kept then). */
static bool push(fmd_engine_links *l, const char *rel, const fmd_page_link *pl, size_t seq)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        fmd_engine_site_link *v = realloc(l->v, cap * sizeof *v);
        if (v == NULL)
            return false;
        l->v = v;
        l->cap = cap;
    }
    fmd_engine_site_link k = {strdup(rel), strndup(pl->target.ptr, pl->target.len), pl->line, seq};
    if (k.page == NULL || k.target == NULL) {
        free(k.page);
        free(k.target);
        return false;
    }
    l->v[l->n++] = k;
    return true;
}

void fmd_engine_links_add(fmd_engine_links *l, const char *name, const fmd_result *res)
{
    if (res->n_page_links == 0)
        return;
    size_t sl = strlen(l->src);
    const char *rel = strncmp(name, l->src, sl) == 0 && name[sl] == '/' ? name + sl + 1 : name;
    pthread_mutex_lock(&l->mu);
    for (size_t k = 0; k < res->n_page_links && !l->nomem; k++)
        if (!push(l, rel, &res->page_links[k], k))
            l->nomem = true;
    pthread_mutex_unlock(&l->mu);
}

static int cmp_link(const void *a, const void *b)
{
    const fmd_engine_site_link *x = a, *y = b;
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

bool fmd_engine_site_resolve(const char *page, const char *target, char *out, size_t cap)
{
    char buf[8192];
    const char *slash = strrchr(page, '/');
    size_t n = slash ? (size_t)(slash - page) + 1 : 0;
    if (n >= sizeof buf || cap == 0)
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

size_t fmd_engine_links_check(fmd_engine_links *l, const fmd_io_page *pages, size_t np,
                              fmd_engine_link_missing_fn *fn, void *userdata, size_t *n_missing)
{
    if (l->n != 0)
        qsort(l->v, l->n, sizeof *l->v, cmp_link);
    size_t missing = 0, bad_pages = 0;
    const char *last_bad = NULL;
    for (size_t i = 0; i < l->n; i++) {
        const fmd_engine_site_link *k = &l->v[i];
        char to[8192];
        /* Pages are sorted by path (byte order), so a binary search finds one. With no page,
         * pages may be NULL, which bsearch must not be given even for 0 elements. */
        if (fmd_engine_site_resolve(k->page, k->target, to, sizeof to) && np != 0 &&
            bsearch(to, pages, np, sizeof *pages, cmp_path) != NULL)
            continue;
        if (last_bad == NULL || strcmp(last_bad, k->page) != 0)
            bad_pages++;
        last_bad = k->page;
        if (fn != NULL)
            fn(k, missing, userdata);
        missing++;
    }
    *n_missing = missing;
    return bad_pages;
}

fmd_status fmd_engine_site_template_load(const char *path, fmd_arena *arena, fmd_template **out,
                                         fmd_buf *msg, int *err, bool *unreadable)
{
    *out = NULL;
    *err = 0;
    *unreadable = false;
    const char *text = fmd_kernel_template_builtin();
    size_t len = strlen(text);
    if (path != NULL) {
        fmd_slice bytes;
        fmd_status st = fmd_io_file_read(path, (size_t)16 << 20, arena, &bytes, err);
        if (st != FMD_OK) {
            *unreadable = true;
            return st;
        }
        text = bytes.ptr;
        len = bytes.len;
    }
    return fmd_kernel_template_compile(text, len, arena, out, msg);
}
