/* SPDX-License-Identifier: MIT */
/* A built site's links to pages: collected from the results while a build runs, then checked
 * against the pages of SRC; and the page template a site build fills. Computes and reports
 * through a callback; the caller prints. */
#ifndef FMD_ENGINE_SITE_H
#define FMD_ENGINE_SITE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "fmd_io.h"
#include "fmd_kernel.h"

/** One link to a page, as a rendering thread reported it (fmd_result.page_links). */
typedef struct fmd_engine_site_link {
    char *page;   /**< the linking page, relative to SRC */
    char *target; /**< as written, without #anchor or ?query */
    unsigned line;
    size_t seq; /**< its place among the page's links */
} fmd_engine_site_link;

/** The links of a build, collected from many threads.
 * Example: SRC "docs", page "docs/a/b.md" links to "../c.md" on line 3: one link
 * {page "a/b.md", target "../c.md", line 3, seq 0}; it is missing unless SRC has "c.md". */
typedef struct fmd_engine_links {
    const char *src; /**< SRC as given; page names under it are stored relative to it */
    pthread_mutex_t mu;
    fmd_engine_site_link *v; /**< under mu */
    size_t n, cap;
    bool nomem; /**< a link could not be stored: the check is incomplete */
} fmd_engine_links;

/** Start an empty collection for the pages under @p src.
 * Ownership: @p src is borrowed for the collection's life. Threads: call before the build. */
void fmd_engine_links_create(fmd_engine_links *l, const char *src);

/** Free what @p l holds. Threads: after the build. */
void fmd_engine_links_destroy(fmd_engine_links *l);

/** Keep the page links of one result. @p name is the page's path as the engine names it (under
 * SRC). Out of memory sets l->nomem and drops the rest.
 * Ownership: copies what it keeps. Threads: safe from many threads at once (the engine's
 * message callback). */
void fmd_engine_links_add(fmd_engine_links *l, const char *name, const fmd_result *res);

/** Called once per link to a missing page, in page order then link order; @p index counts the
 * missing links from 0. */
typedef void fmd_engine_link_missing_fn(const fmd_engine_site_link *link, size_t index,
                                        void *userdata);

/** Check every collected link against @p pages (sorted by path in byte order, as a batch's
 * pages are). Sorts the links.
 * @param n_missing receives the number of links to missing pages.
 * @return the number of pages with at least one link to a missing page.
 * Threads: after the build, from one thread. */
size_t fmd_engine_links_check(fmd_engine_links *l, const fmd_io_page *pages, size_t np,
                              fmd_engine_link_missing_fn *fn, void *userdata, size_t *n_missing);

/** The page a link leads to, relative to SRC: the linking @p page's folder joined with the
 * percent-decoded @p target, "." and ".." resolved, into @p out (@p cap bytes).
 * @return false when it leaves SRC, is empty or does not fit. Threads: reentrant. */
bool fmd_engine_site_resolve(const char *page, const char *target, char *out, size_t cap);

/** Read (at most 16 MiB) and compile the page template @p path, or the built-in one when NULL.
 * @param msg receives why a template is refused (FMD_E_USAGE).
 * @param err receives the errno of a read failure.
 * @param unreadable set when the file could not be read (the status then says why).
 * @return FMD_OK, a read failure, FMD_E_USAGE or FMD_E_NOMEM.
 * Ownership: *out and msg live in @p arena. Threads: reentrant. */
fmd_status fmd_engine_site_template_load(const char *path, fmd_arena *arena, fmd_template **out,
                                         fmd_buf *msg, int *err, bool *unreadable);

/* Thread safety: reentrant; a collection's state is under its own mutex. */

#endif
