/* SPDX-License-Identifier: MIT */
/* Writing: HTML files in nested directories with exact contents and no temporary file left over,
 * which pages are skipped, rewriting an existing OUT, failures of write() and renameat() (mocked
 * with --wrap, cmocka's will_return/mock), blocked directories, and the atomic file helper. */
#include "io_test_util.h"

#include "fmd_io.h"

/*** Mocks: while armed, each call takes its fate from will_return(): 0 passes through, an errno
 * value fails the call with it. Only armed around single-threaded calls (cmocka's queue is not
 * for OpenMP workers; with one thread the region runs on the calling thread). ***/

ssize_t __real_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n);
int __real_renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);
int __wrap_renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);

static bool mock_write_armed, mock_renameat_armed;

ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
    if (mock_write_armed) {
        int e = mock_type(int);
        if (e != 0) {
            errno = e;
            return -1;
        }
    }
    return __real_write(fd, buf, n);
}

/* Linking an unnamed file by descriptor is refused here, so every write takes the path these
 * tests exercise: a temporary name, then rename (test_writer.c covers the linked path). */
int __wrap_linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags);
int __wrap_linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)
{
    (void)olddirfd;
    (void)oldpath;
    (void)newdirfd;
    (void)newpath;
    (void)flags;
    errno = EPERM;
    return -1;
}

int __wrap_renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
    if (mock_renameat_armed) {
        int e = mock_type(int);
        if (e != 0) {
            errno = e;
            return -1;
        }
    }
    return __real_renameat(olddirfd, oldpath, newdirfd, newpath);
}

/*** Helpers ***/

/* A source tree of @p n pages and results whose HTML names the page. */
typedef struct fixture {
    char src[PATH_MAX], out[PATH_MAX];
    fmd_io_batch *b;
    fmd_io_page *pages;
    size_t n;
    fmd_result *res;
    char **html;
} fixture;

static void fixture_init(fixture *f, const char *const *paths, size_t n)
{
    memset(f, 0, sizeof *f);
    tu_mktemp(f->src);
    tu_mktemp(f->out);
    for (size_t i = 0; i < n; i++)
        tu_write(f->src, paths[i], "# page\n");
    assert_int_equal(fmd_io_tree_enumerate(f->src, 2, &f->b, NULL), FMD_OK);
    f->pages = fmd_io_batch_pages(f->b, &f->n);
    assert_int_equal(f->n, n);
    f->res = calloc(n, sizeof *f->res);
    f->html = calloc(n, sizeof *f->html);
    for (size_t i = 0; i < n; i++) {
        f->html[i] = malloc(PATH_MAX + 32);
        snprintf(f->html[i], PATH_MAX + 32, "<p>%s</p>\n", f->pages[i].path);
        f->res[i].status = f->pages[i].status;
        f->res[i].html.ptr = f->html[i];
        f->res[i].html.len = strlen(f->html[i]);
    }
}

static void fixture_free(fixture *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->html[i]);
    free(f->html);
    free(f->res);
    fmd_io_batch_destroy(f->b);
    tu_rm_rf(f->src);
    tu_rm_rf(f->out);
}

static size_t page_index(const fixture *f, const char *path)
{
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->pages[i].path, path) == 0)
            return i;
    }
    fail_msg("no page %s", path);
    return 0;
}

/* The file OUT/rel holds exactly @p want (NULL: it does not exist). */
static void assert_file(const char *out, const char *rel, const char *want)
{
    char p[PATH_MAX];
    size_t len;
    char *got = tu_read(tu_path(p, out, rel), &len);
    if (want == NULL) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_int_equal(len, strlen(want));
    assert_string_equal(got, want);
    free(got);
}

/*** Tests ***/

static void test_write_nested_pages_exact(void **state)
{
    (void)state;
    static const char *const paths[] = {"index.md", "a/b/c/deep.md", "a/one.markdown",
                                        "a/two.md", "z/..md",        "empty.md"};
    fixture f;
    fixture_init(&f, paths, 6);
    size_t e = page_index(&f, "empty.md");
    f.res[e].html.ptr = NULL;
    f.res[e].html.len = 0;

    fmd_io_out *o;
    char outdir[PATH_MAX];
    /* OUT does not exist yet, nor its parent. */
    assert_int_equal(fmd_io_out_open(tu_path(outdir, f.out, "site/public"), &o, NULL), FMD_OK);
    assert_int_equal(fmd_io_pages_write(o, f.b, 0, f.n, f.res, 2), FMD_OK);
    for (size_t i = 0; i < f.n; i++) {
        assert_int_equal(f.pages[i].status, FMD_OK);
        assert_file(outdir, f.pages[i].output, i == e ? "" : f.html[i]);
    }
    assert_file(outdir, "a/one.html", "<p>a/one.markdown</p>\n");
    assert_file(outdir, "z/..html", "<p>z/..md</p>\n");
    assert_int_equal(tu_count_names(f.out, "tmp."), 0);

    /* Again over the same OUT, with new contents: files are replaced. */
    for (size_t i = 0; i < f.n; i++) {
        if (i != e)
            f.html[i][1] = 'P';
    }
    assert_int_equal(fmd_io_pages_write(o, f.b, 0, f.n, f.res, 1), FMD_OK);
    assert_file(outdir, "a/two.html", "<P>a/two.md</p>\n");
    assert_int_equal(tu_count_names(f.out, "tmp."), 0);
    fmd_io_out_close(o);
    fixture_free(&f);
}

static void test_write_skips_pages_without_html(void **state)
{
    (void)state;
    static const char *const paths[] = {"fm.md",    "limit.md", "ok.md",
                                        "parse.md", "coll.md",  "coll.markdown"};
    fixture f;
    fixture_init(&f, paths, 6);
    f.res[page_index(&f, "fm.md")].status = FMD_E_FRONTMATTER; /* body rendered: written */
    f.res[page_index(&f, "limit.md")].status = FMD_E_OUTPUT_LIMIT;
    f.res[page_index(&f, "limit.md")].html.len = 0;
    f.res[page_index(&f, "parse.md")].status = FMD_E_PARSE;
    assert_int_equal(f.pages[page_index(&f, "coll.md")].status, FMD_E_COLLISION);

    fmd_io_out *o;
    assert_int_equal(fmd_io_out_open(f.out, &o, NULL), FMD_OK);
    /* A stale file where a failed page would go is left alone. */
    tu_write(f.out, "limit.html", "stale");
    assert_int_equal(fmd_io_pages_write(o, f.b, 0, f.n, f.res, 2), FMD_OK);
    assert_file(f.out, "fm.html", "<p>fm.md</p>\n");
    assert_file(f.out, "ok.html", "<p>ok.md</p>\n");
    assert_file(f.out, "limit.html", "stale");
    assert_file(f.out, "parse.html", NULL);
    assert_file(f.out, "coll.html", "<p>coll.markdown</p>\n");
    assert_true(fmd_io_result_has_html(&f.res[page_index(&f, "fm.md")]));
    assert_false(fmd_io_result_has_html(&f.res[page_index(&f, "parse.md")]));
    fmd_io_out_close(o);
    fixture_free(&f);
}

static void test_write_rename_failure_cleans_up(void **state)
{
    (void)state;
    static const char *const paths[] = {"a.md", "b.md", "c.md"};
    fixture f;
    fixture_init(&f, paths, 3);
    fmd_io_out *o;
    assert_int_equal(fmd_io_out_open(f.out, &o, NULL), FMD_OK);
    will_return(__wrap_renameat, 0);
    will_return(__wrap_renameat, EXDEV);
    will_return(__wrap_renameat, 0);
    mock_renameat_armed = true;
    fmd_status st = fmd_io_pages_write(o, f.b, 0, f.n, f.res, 1);
    mock_renameat_armed = false;
    assert_int_equal(st, FMD_E_IO);
    assert_int_equal(f.pages[0].status, FMD_OK);
    assert_int_equal(f.pages[1].status, FMD_E_IO);
    assert_int_equal(f.pages[1].err, EXDEV);
    assert_int_equal(f.pages[2].status, FMD_OK);
    assert_file(f.out, "a.html", "<p>a.md</p>\n");
    assert_file(f.out, "b.html", NULL);
    assert_file(f.out, "c.html", "<p>c.md</p>\n");
    assert_int_equal(tu_count_names(f.out, "tmp."), 0);
    fmd_io_out_close(o);
    fixture_free(&f);
}

static void test_write_write_failure_cleans_up(void **state)
{
    (void)state;
    static const char *const paths[] = {"full.md"};
    fixture f;
    fixture_init(&f, paths, 1);
    fmd_io_out *o;
    assert_int_equal(fmd_io_out_open(f.out, &o, NULL), FMD_OK);
    tu_write(f.out, "full.html", "old");
    will_return(__wrap_write, ENOSPC);
    mock_write_armed = true;
    fmd_status st = fmd_io_pages_write(o, f.b, 0, f.n, f.res, 1);
    mock_write_armed = false;
    assert_int_equal(st, FMD_E_IO);
    assert_int_equal(f.pages[0].status, FMD_E_IO);
    assert_int_equal(f.pages[0].err, ENOSPC);
    assert_file(f.out, "full.html", NULL); /* a failed page has no HTML, not even the old one */
    assert_int_equal(tu_count_names(f.out, ".fastmd-tmp."), 0);
    fmd_io_out_close(o);
    fixture_free(&f);
}

static void test_write_blocked_directory_fails_its_pages_only(void **state)
{
    (void)state;
    static const char *const paths[] = {"blocked/x.md", "blocked/y/z.md", "free/x.md"};
    fixture f;
    fixture_init(&f, paths, 3);
    tu_write(f.out, "blocked", "a file where a directory should be");
    fmd_io_out *o;
    assert_int_equal(fmd_io_out_open(f.out, &o, NULL), FMD_OK);
    assert_int_equal(fmd_io_pages_write(o, f.b, 0, f.n, f.res, 2), FMD_E_IO);
    assert_int_equal(f.pages[0].status, FMD_E_CANTCREATE);
    assert_int_equal(f.pages[0].err, ENOTDIR);
    assert_int_equal(f.pages[1].status, FMD_E_CANTCREATE);
    assert_int_equal(f.pages[2].status, FMD_OK);
    assert_file(f.out, "free/x.html", "<p>free/x.md</p>\n");
    fmd_io_out_close(o);
    fixture_free(&f);
}

static void test_write_out_cannot_be_created(void **state)
{
    (void)state;
    char root[PATH_MAX], p[PATH_MAX];
    tu_mktemp(root);
    tu_write(root, "file", "x");
    fmd_io_out *o = (fmd_io_out *)1;
    int err = 0;
    assert_int_equal(fmd_io_out_open(tu_path(p, root, "file/out"), &o, &err), FMD_E_CANTCREATE);
    assert_null(o);
    assert_int_equal(err, ENOTDIR);
    assert_int_equal(fmd_io_out_open(tu_path(p, root, "file"), &o, &err), FMD_E_CANTCREATE);
    assert_int_equal(err, ENOTDIR);
    tu_rm_rf(root);
}

static void test_write_window_and_many_pages(void **state)
{
    (void)state;
    enum { N = 300 };
    char *names[N];
    for (int i = 0; i < N; i++) {
        names[i] = malloc(32);
        snprintf(names[i], 32, "s%d/t%d/p%03d.md", i % 5, i % 3, i);
    }
    fixture f;
    fixture_init(&f, (const char *const *)names, N);
    fmd_io_out *o;
    assert_int_equal(fmd_io_out_open(f.out, &o, NULL), FMD_OK);
    /* Two windows, as a windowed build writes them. */
    assert_int_equal(fmd_io_pages_write(o, f.b, 0, 120, f.res, 2), FMD_OK);
    assert_int_equal(fmd_io_pages_write(o, f.b, 120, N - 120, f.res + 120, 2), FMD_OK);
    for (size_t i = 0; i < f.n; i++) {
        assert_int_equal(f.pages[i].status, FMD_OK);
        assert_file(f.out, f.pages[i].output, f.html[i]);
    }
    assert_int_equal(tu_count_names(f.out, "tmp."), 0);
    assert_int_equal(fmd_io_pages_write(o, f.b, N, 1, f.res, 2), FMD_E_USAGE);
    fmd_io_out_close(o);
    fixture_free(&f);
    for (int i = 0; i < N; i++)
        free(names[i]);
}

/* As the kernel's page sink does: prepare once, then write single pages from two threads. */
static void test_write_single_pages_from_threads(void **state)
{
    (void)state;
    enum { N = 64 };
    char *names[N];
    for (int i = 0; i < N; i++) {
        names[i] = malloc(32);
        snprintf(names[i], 32, "u%d/p%02d.md", i % 4, i);
    }
    fixture f;
    fixture_init(&f, (const char *const *)names, N);
    fmd_io_out *o;
    assert_int_equal(fmd_io_out_open(f.out, &o, NULL), FMD_OK);
    assert_int_equal(fmd_io_page_write(o, f.b, 0, &f.res[0]), FMD_E_USAGE); /* not prepared */
    assert_int_equal(fmd_io_out_prepare(o, f.b, 0, f.n), FMD_OK);
    fmd_status st[N];
    fmd_io_batch *b = f.b;
    const fmd_result *res = f.res;
    /* Record per page; assert after the region (never inside a worker). */
#pragma omp parallel for num_threads(2) schedule(dynamic, 1) default(none) shared(o, b, res, st)
    for (int i = 0; i < N; i++)
        st[i] = fmd_io_page_write(o, b, (size_t)i, &res[i]);
    for (size_t i = 0; i < f.n; i++) {
        assert_int_equal(st[i], FMD_OK);
        assert_file(f.out, f.pages[i].output, f.html[i]);
    }
    assert_int_equal(fmd_io_page_write(o, f.b, N, &f.res[0]), FMD_E_USAGE);
    assert_int_equal(tu_count_names(f.out, "tmp."), 0);
    fmd_io_out_close(o);
    fixture_free(&f);
    for (int i = 0; i < N; i++)
        free(names[i]);
}

static int count_open_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 4096; fd++)
        n += fcntl(fd, F_GETFD) != -1;
    return n;
}

/* Every descriptor the batch and the output handle hold is closed again, also after failures. */
static void test_write_leaks_no_descriptor(void **state)
{
    (void)state;
    int before = count_open_fds();
    static const char *const paths[] = {"a/b/c.md", "a/d.md", "e/f.md", "blocked/g.md", "h.md"};
    fixture f;
    fixture_init(&f, paths, 5);
    tu_write(f.out, "blocked", "file");
    fmd_io_input in;
    assert_int_equal(fmd_io_pages_load(f.b, 0, f.n, 0, 2, &in), FMD_OK);
    fmd_io_out *o;
    assert_int_equal(fmd_io_out_open(f.out, &o, NULL), FMD_OK);
    assert_int_equal(fmd_io_pages_write(o, f.b, 0, f.n, f.res, 2), FMD_E_IO);
    assert_int_equal(fmd_io_out_write_file(o, FMD_IO_MANIFEST_NAME, "{}\n", 3, NULL), FMD_OK);
    assert_true(count_open_fds() > before);
    fmd_io_out_close(o);
    fmd_io_input_destroy(&in);
    fixture_free(&f);
    assert_int_equal(count_open_fds(), before);
}

static void test_write_file_atomic(void **state)
{
    (void)state;
    char root[PATH_MAX], p[PATH_MAX];
    tu_mktemp(root);
    int err = -1;
    tu_path(p, root, "f.json");
    assert_int_equal(fmd_io_file_write_atomic(AT_FDCWD, p, "{}\n", 3, &err), FMD_OK);
    assert_int_equal(err, 0);
    assert_file(root, "f.json", "{}\n");
    /* Replace, relative to a directory descriptor. */
    int dfd = open(root, O_RDONLY | O_DIRECTORY);
    assert_true(dfd >= 0);
    assert_int_equal(fmd_io_file_write_atomic(dfd, "f.json", "[1]", 3, &err), FMD_OK);
    assert_file(root, "f.json", "[1]");
    tu_mkdir(root, "sub");
    assert_int_equal(fmd_io_file_write_atomic(dfd, "sub/g", "", 0, &err), FMD_OK);
    assert_file(root, "sub/g", "");
    /* A failed rename leaves the old file and no temporary one. */
    will_return(__wrap_renameat, EIO);
    mock_renameat_armed = true;
    fmd_status st = fmd_io_file_write_atomic(dfd, "f.json", "new", 3, &err);
    mock_renameat_armed = false;
    assert_int_equal(st, FMD_E_IO);
    assert_int_equal(err, EIO);
    assert_file(root, "f.json", "[1]");
    /* A missing directory: the temporary file cannot be created. */
    assert_int_equal(fmd_io_file_write_atomic(dfd, "nodir/f", "x", 1, &err), FMD_E_CANTCREATE);
    assert_int_equal(err, ENOENT);
    assert_int_equal(fmd_io_file_write_atomic(dfd, "sub/", "x", 1, &err), FMD_E_USAGE);
    /* A stale temporary file of this very process does not block the write. */
    char stale[64];
    snprintf(stale, sizeof stale, ".fastmd-tmp.%ld.0", (long)getpid());
    tu_write(root, stale, "stale");
    assert_int_equal(fmd_io_file_write_atomic(dfd, "h", "fresh", 5, &err), FMD_OK);
    assert_file(root, "h", "fresh");
    assert_file(root, stale, "stale");
    close(dfd);
    assert_int_equal(tu_count_names(root, "tmp."), 1);
    tu_rm_rf(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_nested_pages_exact),
        cmocka_unit_test(test_write_skips_pages_without_html),
        cmocka_unit_test(test_write_rename_failure_cleans_up),
        cmocka_unit_test(test_write_write_failure_cleans_up),
        cmocka_unit_test(test_write_blocked_directory_fails_its_pages_only),
        cmocka_unit_test(test_write_out_cannot_be_created),
        cmocka_unit_test(test_write_window_and_many_pages),
        cmocka_unit_test(test_write_single_pages_from_threads),
        cmocka_unit_test(test_write_leaks_no_descriptor),
        cmocka_unit_test(test_write_file_atomic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
