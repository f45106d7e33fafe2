/* SPDX-License-Identifier: MIT */
/* Walking a tree (io/walk.c) that has a bit of everything: directories nested deeper than the
 * walk's first ancestor table, names in 2-, 3- and 4-byte UTF-8 and names that are not UTF-8
 * (a stray byte, a truncated sequence, an overlong form, a surrogate), a directory that cannot be
 * opened (openat mocked), a link cycle, a dangling link, a FIFO, an upper-case extension and a
 * collision. Then the same walk with the k-th allocation failing (malloc, calloc, realloc and
 * aligned_alloc through -Wl,--wrap; this executable only) for k = 1, 2, ... until it succeeds:
 * every earlier try must be FMD_E_NOMEM with no batch, and the last the same batch. */
#include "io_test_util.h"

#include <stdatomic.h>

#include "fmd_io.h"

/*** Fault injection ***/

#define FMD_FAULT_WRAP_REALLOC
#include "fault_alloc.h" /* fail_alloc: the k-th allocation from now fails (0: none) */

int __real_openat(int dirfd, const char *path, int flags, ...);
int __wrap_openat(int dirfd, const char *path, int flags, ...);

/* A directory named "locked" cannot be opened (EACCES): root ignores permission bits. */
int __wrap_openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    int mode = (flags & O_CREAT) ? va_arg(ap, int) : 0;
    va_end(ap);
    const char *base = strrchr(path, '/');
    if (strcmp(base ? base + 1 : path, "locked") == 0) {
        errno = EACCES;
        return -1;
    }
    return __real_openat(dirfd, path, flags, mode);
}

/*** The tree ***/

#define DEPTH 20

static const char *const good_names[] = {"caf\xC3\xA9.md", "\xE4\xB8\xAD.md",
                                         "\xF0\x9F\x98\x80.md"};
static const char *const bad_names[] = {
    "\xFF.md", "x\xC3.md", "\xC0\xAF.md", "\xED\xA0\x80.md", "\xF4\x90\x80\x80.md", "\xE4\xB8.md"};

static void make_tree(char *root)
{
    tu_mktemp(root);
    char rel[PATH_MAX] = "";
    size_t at = 0;
    for (int d = 0; d < DEPTH; d++)
        at += (size_t)snprintf(rel + at, sizeof rel - at, "%sd%d", d ? "/" : "", d);
    snprintf(rel + at, sizeof rel - at, "/deep.md");
    tu_write(root, rel, "# deep\n");
    for (size_t i = 0; i < sizeof good_names / sizeof *good_names; i++)
        tu_write(root, good_names[i], "ok\n");
    for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++)
        tu_write(root, bad_names[i], "bad\n");
    tu_write(root, "locked/hidden.md", "never read\n");
    tu_write(root, "c.md", "c\n");
    tu_write(root, "c.markdown", "c again\n");
    tu_write(root, "UPPER.MD", "not a page\n");
    tu_symlink("..", root, "d0/loop");
    tu_symlink("nowhere.md", root, "dead.md");
    char p[PATH_MAX];
    assert_int_equal(mkfifo(tu_path(p, root, "fifo.md"), 0600), 0);
}

static size_t count_warnings(const fmd_io_batch *b, fmd_io_warning_kind kind)
{
    size_t n, k = 0;
    const fmd_io_warning *w = fmd_io_batch_warnings(b, &n);
    for (size_t i = 0; i < n; i++)
        k += w[i].kind == kind;
    return k;
}

static const fmd_io_page *find(fmd_io_batch *b, const char *path)
{
    size_t n;
    fmd_io_page *p = fmd_io_batch_pages(b, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(p[i].path, path) == 0)
            return &p[i];
    return NULL;
}

/*** Tests ***/

static void test_walk_everything(void **state)
{
    (void)state;
    char root[PATH_MAX];
    make_tree(root);
    fmd_io_batch *b = NULL;
    int err = -1;
    assert_int_equal(fmd_io_tree_enumerate(root, 2, &b, &err), FMD_OK);
    assert_int_equal(err, 0);
    for (size_t i = 0; i < sizeof good_names / sizeof *good_names; i++) {
        const fmd_io_page *p = find(b, good_names[i]);
        assert_non_null(p);
        assert_int_equal(p->status, FMD_OK);
        assert_int_equal(p->size, 3);
    }
    for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++) {
        const fmd_io_page *p = find(b, bad_names[i]);
        if (p == NULL || p->status != FMD_E_UTF8)
            fail_msg("bad name %zu: %s", i, p ? "not refused" : "missing");
    }
    char deep[PATH_MAX] = "";
    size_t at = 0;
    for (int d = 0; d < DEPTH; d++)
        at += (size_t)snprintf(deep + at, sizeof deep - at, "d%d/", d);
    snprintf(deep + at, sizeof deep - at, "deep.md");
    assert_non_null(find(b, deep));
    assert_null(find(b, "locked/hidden.md"));
    assert_null(find(b, "UPPER.MD"));
    assert_int_equal(find(b, "c.markdown")->status, FMD_OK); /* first in path order */
    assert_int_equal(find(b, "c.md")->status, FMD_E_COLLISION);
    assert_int_equal(count_warnings(b, FMD_IO_WARN_UNREADABLE_DIR), 1);
    assert_int_equal(count_warnings(b, FMD_IO_WARN_CYCLE), 1);
    assert_int_equal(count_warnings(b, FMD_IO_WARN_LINK_BROKEN), 1);
    assert_int_equal(count_warnings(b, FMD_IO_WARN_SPECIAL), 1);
    assert_int_equal(count_warnings(b, FMD_IO_WARN_NAME_CASE), 1);
    assert_int_equal(count_warnings(b, FMD_IO_WARN_NAME_UTF8),
                     sizeof bad_names / sizeof *bad_names);
    size_t nw;
    const fmd_io_warning *w = fmd_io_batch_warnings(b, &nw);
    for (size_t i = 0; i < nw; i++) {
        const char *s = fmd_io_warning_str(w[i].kind);
        assert_true(strlen(s) > 10);
        assert_string_not_equal(s, fmd_io_warning_str((fmd_io_warning_kind)99));
        if (w[i].kind == FMD_IO_WARN_UNREADABLE_DIR)
            assert_int_equal(w[i].err, EACCES);
    }
    fmd_io_batch_destroy(b);
    tu_rm_rf(root);
}

static void test_walk_allocation_failures(void **state)
{
    (void)state;
    char root[PATH_MAX];
    make_tree(root);
    fmd_io_batch *ref = NULL;
    assert_int_equal(fmd_io_tree_enumerate(root, 1, &ref, NULL), FMD_OK);
    size_t nref, nwref;
    fmd_io_page *pref = fmd_io_batch_pages(ref, &nref);
    fmd_io_batch_warnings(ref, &nwref);
    int nomem = 0;
    bool done = false;
    for (int k = 1; k < 100000 && !done; k++) {
        fmd_io_batch *b = NULL;
        atomic_store(&fail_alloc, k);
        fmd_status st = fmd_io_tree_enumerate(root, 1, &b, NULL);
        bool tripped = atomic_load(&fail_alloc) == 0;
        atomic_store(&fail_alloc, 0);
        if (tripped) {
            if (st != FMD_E_NOMEM || b != NULL)
                fail_msg("allocation %d failed: status %d, batch %p", k, (int)st, (void *)b);
            nomem++;
            continue;
        }
        assert_int_equal(st, FMD_OK);
        size_t n, nw;
        fmd_io_page *p = fmd_io_batch_pages(b, &n);
        fmd_io_batch_warnings(b, &nw);
        assert_int_equal(n, nref);
        assert_int_equal(nw, nwref);
        for (size_t i = 0; i < n; i++) {
            assert_string_equal(p[i].path, pref[i].path);
            assert_int_equal(p[i].status, pref[i].status);
        }
        fmd_io_batch_destroy(b);
        done = true;
    }
    assert_true(done);
    assert_true(nomem > 10);
    fmd_io_batch_destroy(ref);
    tu_rm_rf(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walk_everything),
        cmocka_unit_test(test_walk_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
