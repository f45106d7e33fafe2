/* SPDX-License-Identifier: MIT */
/* Enumeration: recursion, page names, sorting, symbolic links (inside, outside, broken, cycles),
 * collisions, a missing SRC and an unreadable subdirectory (openat mocked with --wrap); the
 * string set behind the collision check, sized up front. */
#include "io_test_util.h"

#include <stdarg.h>

#include "fmd_io.h"
#include "io_internal.h"

/*** openat mock: fail for one name ***/

int __real_openat(int dirfd, const char *path, int flags, ...);
int __wrap_openat(int dirfd, const char *path, int flags, ...);

/* When set, openat() of an entry with this name fails with mock_openat_errno. */
static const char *mock_openat_name;
static int mock_openat_errno;

int __wrap_openat(int dirfd, const char *path, int flags, ...)
{
    mode_t mode = 0;
    if (flags & O_CREAT) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    if (mock_openat_name != NULL && strcmp(path, mock_openat_name) == 0) {
        errno = mock_openat_errno;
        return -1;
    }
    return __real_openat(dirfd, path, flags, mode);
}

/*** Helpers ***/

static fmd_io_batch *enumerate(const char *root, int nthreads)
{
    fmd_io_batch *b = NULL;
    int err = -1;
    assert_int_equal(fmd_io_tree_enumerate(root, nthreads, &b, &err), FMD_OK);
    assert_int_equal(err, 0);
    assert_non_null(b);
    return b;
}

static const fmd_io_page *find_page(fmd_io_batch *b, const char *path)
{
    size_t n;
    fmd_io_page *p = fmd_io_batch_pages(b, &n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(p[i].path, path) == 0)
            return &p[i];
    }
    return NULL;
}

static size_t count_warnings(fmd_io_batch *b, fmd_io_warning_kind kind, const char *path)
{
    size_t n, c = 0;
    const fmd_io_warning *w = fmd_io_batch_warnings(b, &n);
    for (size_t i = 0; i < n; i++) {
        if (w[i].kind == kind && (path == NULL || strcmp(w[i].path, path) == 0))
            c++;
    }
    return c;
}

/*** Tests ***/

static void test_walk_recursion_names_and_order(void **state)
{
    (void)state;
    char root[PATH_MAX];
    tu_mktemp(root);
    tu_write(root, "b.md", "bb");
    tu_write(root, "a/x.md", "x");
    tu_write(root, "a-b.md", "ab");
    tu_write(root, "..md", "dotdot");
    tu_write(root, ".hidden.md", "hidden");
    tu_write(root, "z.markdown", "zzz");
    tu_write(root, "a/deep/er/y.md", "yyyy");
    tu_write(root, "notes.txt", "no");
    tu_write(root, "README", "no");
    tu_write(root, "c.mdx", "no");
    tu_write(root, "d.md.bak", "no");
    tu_mkdir(root, "empty/dir");

    fmd_io_batch *b = enumerate(root, 2);
    static const char *const want[][2] = {
        {"..md", "..html"},       {".hidden.md", ".hidden.html"},
        {"a-b.md", "a-b.html"},   {"a/deep/er/y.md", "a/deep/er/y.html"},
        {"a/x.md", "a/x.html"},   {"b.md", "b.html"},
        {"z.markdown", "z.html"},
    };
    static const size_t sizes[] = {6, 6, 2, 4, 1, 2, 3};
    size_t n;
    fmd_io_page *p = fmd_io_batch_pages(b, &n);
    assert_int_equal(n, 7);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(p[i].path, want[i][0]);
        assert_string_equal(p[i].output, want[i][1]);
        assert_int_equal(p[i].size, sizes[i]);
        assert_int_equal(p[i].status, FMD_OK);
        if (i > 0)
            assert_true(strcmp(p[i - 1].path, p[i].path) < 0);
    }
    assert_int_equal(fmd_io_batch_bytes(b), 24);
    size_t nw;
    fmd_io_batch_warnings(b, &nw);
    assert_int_equal(nw, 0);
    fmd_io_batch_destroy(b);
    tu_rm_rf(root);
}

static void test_walk_sorts_like_strcmp_across_directories(void **state)
{
    (void)state;
    char root[PATH_MAX];
    tu_mktemp(root);
    /* '-' (0x2d) < '.' (0x2e) < '/' (0x2f) < '0': a per-directory sort must not put "a/" first. */
    static const char *const names[] = {"a/z.md",   "a.md", "a-1.md", "a0.md",   "a.b/c.md",
                                        "a/b/c.md", "A.md", "a!.md",  "ab/a.md", "a/.md"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        tu_write(root, names[i], names[i]);
    fmd_io_batch *b = enumerate(root, 1);
    size_t n;
    fmd_io_page *p = fmd_io_batch_pages(b, &n);
    assert_int_equal(n, sizeof names / sizeof *names);
    for (size_t i = 1; i < n; i++)
        assert_true(strcmp(p[i - 1].path, p[i].path) < 0);
    assert_non_null(find_page(b, "a/.md"));
    assert_string_equal(find_page(b, "a/.md")->output, "a/.html");
    fmd_io_batch_destroy(b);
    tu_rm_rf(root);
}

static void test_walk_follows_links_inside(void **state)
{
    (void)state;
    char root[PATH_MAX];
    tu_mktemp(root);
    tu_write(root, "docs/real.md", "real page");
    tu_symlink("docs/real.md", root, "link.md");
    tu_symlink("docs", root, "alias");
    tu_symlink("../docs/real.md", root, "docs/again.md");
    tu_symlink("real.md", root, "docs/notpage"); /* a link not named like a page: ignored */

    fmd_io_batch *b = enumerate(root, 2);
    size_t n;
    fmd_io_page *p = fmd_io_batch_pages(b, &n);
    static const char *const want[] = {"alias/again.md", "alias/real.md", "docs/again.md",
                                       "docs/real.md", "link.md"};
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(p[i].path, want[i]);
        assert_int_equal(p[i].size, 9);
        assert_int_equal(p[i].status, FMD_OK);
    }
    size_t nw;
    fmd_io_batch_warnings(b, &nw);
    assert_int_equal(nw, 0);

    /* And loading reads through the links. */
    fmd_io_input in;
    assert_int_equal(fmd_io_pages_load(b, 0, n, 0, 2, &in), FMD_OK);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(in.refs[i].load_status, FMD_OK);
        assert_int_equal(in.refs[i].len, 9);
        assert_memory_equal(in.base + in.refs[i].offset, "real page", 9);
    }
    fmd_io_input_destroy(&in);
    fmd_io_batch_destroy(b);
    tu_rm_rf(root);
}

static void test_walk_does_not_follow_links_out(void **state)
{
    (void)state;
    char root[PATH_MAX], outside[PATH_MAX], p1[PATH_MAX];
    tu_mktemp(root);
    tu_mktemp(outside);
    tu_write(outside, "secret.md", "secret");
    tu_write(outside, "sub/more.md", "more");
    tu_write(root, "page.md", "page");
    tu_symlink(tu_path(p1, outside, "secret.md"), root, "out.md");
    tu_symlink(outside, root, "outdir");
    tu_symlink("../..", root, "up");                        /* relative, and out */
    tu_symlink(tu_path(p1, outside, "sub"), root, "notmd"); /* a directory link, out */

    fmd_io_batch *b = enumerate(root, 1);
    size_t n;
    fmd_io_page *p = fmd_io_batch_pages(b, &n);
    assert_int_equal(n, 1);
    assert_string_equal(p[0].path, "page.md");
    assert_int_equal(count_warnings(b, FMD_IO_WARN_LINK_OUTSIDE, NULL), 4);
    assert_int_equal(count_warnings(b, FMD_IO_WARN_LINK_OUTSIDE, "out.md"), 1);
    assert_int_equal(count_warnings(b, FMD_IO_WARN_LINK_OUTSIDE, "outdir"), 1);
    fmd_io_batch_destroy(b);
    tu_rm_rf(root);
    tu_rm_rf(outside);
}

static void test_walk_breaks_directory_cycles(void **state)
{
    (void)state;
    char root[PATH_MAX];
    tu_mktemp(root);
    tu_write(root, "top.md", "t");
    tu_write(root, "sub/inner.md", "i");
    tu_symlink("..", root, "sub/loop");      /* back to SRC */
    tu_symlink(".", root, "sub/self");       /* to itself */
    tu_symlink("../sub", root, "sub/again"); /* to itself by another path */

    fmd_io_batch *b = enumerate(root, 2);
    size_t n;
    fmd_io_page *p = fmd_io_batch_pages(b, &n);
    assert_int_equal(n, 2);
    assert_string_equal(p[0].path, "sub/inner.md");
    assert_string_equal(p[1].path, "top.md");
    assert_int_equal(count_warnings(b, FMD_IO_WARN_CYCLE, NULL), 3);
    assert_int_equal(count_warnings(b, FMD_IO_WARN_CYCLE, "sub/loop"), 1);
    fmd_io_batch_destroy(b);
    tu_rm_rf(root);
}

static void test_walk_reports_broken_links(void **state)
{
    (void)state;
    char root[PATH_MAX];
    tu_mktemp(root);
    tu_write(root, "ok.md", "ok");
    tu_symlink("nowhere.md", root, "dangling.md");
    tu_symlink("nowhere", root, "dangling-dir"); /* not a page name: silently ignored */
    fmd_io_batch *b = enumerate(root, 1);
    size_t n;
    fmd_io_batch_pages(b, &n);
    assert_int_equal(n, 1);
    size_t nw;
    const fmd_io_warning *w = fmd_io_batch_warnings(b, &nw);
    assert_int_equal(nw, 1);
    assert_int_equal(w[0].kind, FMD_IO_WARN_LINK_BROKEN);
    assert_string_equal(w[0].path, "dangling.md");
    assert_int_equal(w[0].err, ENOENT);
    assert_non_null(fmd_io_warning_str(w[0].kind));
    fmd_io_batch_destroy(b);
    tu_rm_rf(root);
}

static void test_walk_marks_collisions(void **state)
{
    (void)state;
    char root[PATH_MAX];
    tu_mktemp(root);
    tu_write(root, "a.md", "md");
    tu_write(root, "a.markdown", "markdown");
    tu_write(root, "x.html/y.md", "y");
    tu_write(root, "x.md", "x");
    tu_write(root, "sub/b.md", "b");

    fmd_io_batch *b = enumerate(root, 1);
    size_t n;
    fmd_io_batch_pages(b, &n);
    assert_int_equal(n, 5);
    /* "a.markdown" sorts before "a.md": the later one collides. */
    assert_int_equal(find_page(b, "a.markdown")->status, FMD_OK);
    assert_int_equal(find_page(b, "a.md")->status, FMD_E_COLLISION);
    assert_int_equal(find_page(b, "x.html/y.md")->status, FMD_OK);
    assert_int_equal(find_page(b, "x.md")->status, FMD_E_COLLISION);
    assert_int_equal(find_page(b, "sub/b.md")->status, FMD_OK);
    /* Colliding pages are not counted as bytes to load. */
    assert_int_equal(fmd_io_batch_bytes(b), 8 + 1 + 1);
    fmd_io_batch_destroy(b);
    tu_rm_rf(root);
}

static void test_walk_missing_source(void **state)
{
    (void)state;
    char root[PATH_MAX], p[PATH_MAX];
    tu_mktemp(root);
    fmd_io_batch *b = (fmd_io_batch *)1;
    int err = 0;
    assert_int_equal(fmd_io_tree_enumerate(tu_path(p, root, "nope"), 1, &b, &err), FMD_E_NOINPUT);
    assert_null(b);
    assert_int_equal(err, ENOENT);
    tu_write(root, "file.md", "f");
    assert_int_equal(fmd_io_tree_enumerate(tu_path(p, root, "file.md"), 1, &b, &err),
                     FMD_E_NOINPUT);
    assert_int_equal(err, ENOTDIR);
    assert_int_equal(fmd_io_tree_enumerate(NULL, 1, &b, &err), FMD_E_USAGE);
    tu_rm_rf(root);
}

static void test_walk_unreadable_directory_is_a_warning(void **state)
{
    (void)state;
    char root[PATH_MAX];
    tu_mktemp(root);
    tu_write(root, "a.md", "a");
    tu_write(root, "locked/hidden.md", "h");
    tu_write(root, "z/z.md", "z");
    mock_openat_name = "locked";
    mock_openat_errno = EACCES;
    fmd_io_batch *b = enumerate(root, 1);
    mock_openat_name = NULL;
    size_t n;
    fmd_io_page *p = fmd_io_batch_pages(b, &n);
    assert_int_equal(n, 2);
    assert_string_equal(p[0].path, "a.md");
    assert_string_equal(p[1].path, "z/z.md");
    size_t nw;
    const fmd_io_warning *w = fmd_io_batch_warnings(b, &nw);
    assert_int_equal(nw, 1);
    assert_int_equal(w[0].kind, FMD_IO_WARN_UNREADABLE_DIR);
    assert_string_equal(w[0].path, "locked");
    assert_int_equal(w[0].err, EACCES);
    fmd_io_batch_destroy(b);
    tu_rm_rf(root);
}

static void test_walk_empty_tree(void **state)
{
    (void)state;
    char root[PATH_MAX];
    tu_mktemp(root);
    fmd_io_batch *b = enumerate(root, 0);
    size_t n;
    fmd_io_batch_pages(b, &n);
    assert_int_equal(n, 0);
    fmd_io_input in;
    assert_int_equal(fmd_io_pages_load(b, 0, 0, 0, 0, &in), FMD_OK);
    assert_int_equal(in.count, 0);
    fmd_io_input_destroy(&in);
    fmd_io_batch_destroy(b);
    tu_rm_rf(root);
}

/* The collision check sizes its set once for every page and directory: after
 * fmd__io_set_reserve(n), n distinct keys go in without the table growing, all are found, the
 * set refuses duplicates, and a smaller reserve later keeps the table. */
static void test_walk_set_reserve_holds_n_keys(void **state)
{
    (void)state;
    enum { KEYS = 5000 };
    static char keys[KEYS][16];
    fmd__io_set set = {0};
    assert_int_equal(fmd__io_set_reserve(&set, KEYS), FMD_OK);
    size_t cap = set.cap;
    assert_true(cap >= 2 * KEYS);
    for (int i = 0; i < KEYS; i++) {
        int len = snprintf(keys[i], sizeof keys[i], "dir/%d.html", i);
        fmd__io_set_entry *e = NULL;
        bool ins = false;
        assert_int_equal(fmd__io_set_insert(&set, keys[i], (size_t)len, (uint32_t)i, &e, &ins),
                         FMD_OK);
        assert_true(ins);
    }
    assert_int_equal(set.cap, cap); /* no growth while inserting */
    assert_int_equal(set.count, KEYS);
    for (int i = 0; i < KEYS; i++) {
        fmd__io_set_entry *e = fmd__io_set_find(&set, keys[i], strlen(keys[i]));
        assert_non_null(e);
        assert_int_equal(e->value, (uint32_t)i);
        bool ins = true;
        assert_int_equal(fmd__io_set_insert(&set, keys[i], strlen(keys[i]), 0, &e, &ins), FMD_OK);
        assert_false(ins);
    }
    assert_null(fmd__io_set_find(&set, "dir/5000.html", strlen("dir/5000.html")));
    assert_int_equal(fmd__io_set_reserve(&set, 10), FMD_OK);
    assert_int_equal(set.cap, cap);
    fmd__io_set_free(&set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walk_recursion_names_and_order),
        cmocka_unit_test(test_walk_sorts_like_strcmp_across_directories),
        cmocka_unit_test(test_walk_follows_links_inside),
        cmocka_unit_test(test_walk_does_not_follow_links_out),
        cmocka_unit_test(test_walk_breaks_directory_cycles),
        cmocka_unit_test(test_walk_reports_broken_links),
        cmocka_unit_test(test_walk_marks_collisions),
        cmocka_unit_test(test_walk_missing_source),
        cmocka_unit_test(test_walk_unreadable_directory_is_a_warning),
        cmocka_unit_test(test_walk_empty_tree),
        cmocka_unit_test(test_walk_set_reserve_holds_n_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
