/* SPDX-License-Identifier: MIT */
/* The writer pool (io/writer.c) and the ordered stream (io/stream.c): pages pushed in any order
 * from several threads are all written, the manifest comes out in index order, a file that
 * cannot be renamed into place turns its manifest line into a valid "error" line, and the byte
 * bound makes push wait instead of queueing without limit. renameat is wrapped to fail on demand.
 */
#include <jansson.h>
#include <omp.h>
#include <pthread.h>

#include "fmd_io.h"
#include "io_test_util.h"

int __real_renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);
int __wrap_renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);

/* Fail the rename onto this file name (EACCES), or none when empty. */
static char fail_name[64];
/* false: linkat is refused (EPERM), so pages go through a temporary name and rename, which
 * fail_name can fail; true: the real linkat, the one-step write of io/write.c. */
static bool real_link;
static int links; /* successful linkat calls */

int __real_linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags);
int __wrap_linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags);

int __wrap_linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)
{
    if (!real_link) {
        errno = EPERM;
        return -1;
    }
    int rc = __real_linkat(olddirfd, oldpath, newdirfd, newpath, flags);
    if (rc == 0)
        __atomic_fetch_add(&links, 1, __ATOMIC_RELAXED);
    return rc;
}

int __wrap_renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
    const char *base = strrchr(newpath, '/');
    base = base ? base + 1 : newpath;
    if (fail_name[0] != '\0' && strcmp(base, fail_name) == 0) {
        errno = EACCES;
        return -1;
    }
    return __real_renameat(olddirfd, oldpath, newdirfd, newpath);
}

#define N 64

typedef struct fixture {
    char src[PATH_MAX], out[PATH_MAX];
    fmd_io_batch *batch;
    fmd_io_page *pages;
    size_t n;
    fmd_io_out *o;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    tu_mktemp(f->src);
    tu_mktemp(f->out);
    for (int i = 0; i < N; i++) {
        char rel[64], text[64];
        snprintf(rel, sizeof rel, "d%d/p%02d.md", i % 3, i);
        snprintf(text, sizeof text, "# page %d\n", i);
        tu_write(f->src, rel, text);
    }
    int err;
    assert_int_equal(fmd_io_tree_enumerate(f->src, 1, &f->batch, &err), FMD_OK);
    f->pages = fmd_io_batch_pages(f->batch, &f->n);
    assert_int_equal(f->n, N);
    assert_int_equal(fmd_io_out_open(f->out, &f->o, &err), FMD_OK);
    assert_int_equal(fmd_io_out_prepare(f->o, f->batch, 0, f->n), FMD_OK);
    fail_name[0] = '\0';
    real_link = false;
    links = 0;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    fmd_io_out_close(f->o);
    fmd_io_batch_destroy(f->batch);
    tu_rm_rf(f->src);
    tu_rm_rf(f->out);
    free(f);
    return 0;
}

/* The manifest line of a written page, as the engine formats it (tree mode). */
static char *line_for(const fixture *f, size_t i, const char *html, size_t *len)
{
    fmd_arena *a = NULL;
    assert_int_equal(fmd_arena_create(&a, 0), FMD_OK);
    fmd_buf b;
    fmd_buf_reset(&b, a);
    fmd_result r = {0};
    r.status = FMD_OK;
    r.html.ptr = html;
    r.html.len = strlen(html);
    assert_int_equal(
        fmd_io_page_format_json(&b, f->pages[i].path, f->pages[i].output, &r, FMD_OK, 0, 0),
        FMD_OK);
    assert_int_equal(fmd_buf_putc(&b, '\n'), FMD_OK);
    char *s = malloc(b.len);
    memcpy(s, b.ptr, b.len);
    *len = b.len;
    fmd_arena_destroy(a);
    return s;
}

static void run_pool(fixture *f, int threads, size_t max_bytes)
{
    /* Format every line first (cmocka asserts must not run in workers). */
    char *lines[N], *htmls[N];
    size_t lens[N];
    for (size_t i = 0; i < f->n; i++) {
        char html[64];
        snprintf(html, sizeof html, "<h1>page %zu</h1>\n", i);
        htmls[i] = strdup(html);
        lines[i] = line_for(f, i, html, &lens[i]);
    }
    fmd_io_stream *s = NULL;
    int err;
    assert_int_equal(fmd_io_stream_open_file(&s, f->o, FMD_IO_MANIFEST_NAME, f->n, &err), FMD_OK);
    fmd_io_writer *w = NULL;
    assert_int_equal(fmd_io_writer_open(&w, f->o, f->batch, s, threads, 4, max_bytes, NULL, NULL),
                     FMD_OK);
    int pushed = 0;
    /* Push from two threads, in reverse order, so the stream must restore the order. */
#pragma omp parallel for num_threads(2) schedule(dynamic, 1) reduction(+ : pushed)
    for (int k = N - 1; k >= 0; k--) {
        if (fmd_io_writer_push(w, (size_t)k, htmls[k], strlen(htmls[k]), lines[k], lens[k], NULL) ==
            FMD_OK)
            pushed++;
    }
    assert_int_equal(pushed, N);
    assert_int_equal(fmd_io_writer_close(w), FMD_OK);
    assert_int_equal(fmd_io_stream_close(s, &err), FMD_OK);
}

static json_t **read_manifest(const fixture *f, size_t *n)
{
    char p[PATH_MAX];
    size_t len;
    char *text = tu_read(tu_path(p, f->out, FMD_IO_MANIFEST_NAME), &len);
    json_t **rows = calloc(N + 1, sizeof *rows);
    size_t k = 0;
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        json_error_t e;
        assert_true(k < N);
        rows[k] = json_loads(line, 0, &e);
        if (rows[k] == NULL)
            fail_msg("line %zu is not JSON: %s (%s)", k, e.text, line);
        k++;
    }
    free(text);
    *n = k;
    return rows;
}

/* Every page is in the manifest, in order, "ok", and its file holds its HTML. */
static void assert_all_written(const fixture *f)
{
    size_t n;
    json_t **rows = read_manifest(f, &n);
    assert_int_equal(n, N);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(json_string_value(json_object_get(rows[i], "path")), f->pages[i].path);
        assert_string_equal(json_string_value(json_object_get(rows[i], "status")), "ok");
        char p[PATH_MAX], want[64];
        size_t len;
        char *html = tu_read(tu_path(p, f->out, f->pages[i].output), &len);
        snprintf(want, sizeof want, "<h1>page %zu</h1>\n", i);
        assert_string_equal(html, want);
        free(html);
        json_decref(rows[i]);
    }
    free(rows);
}

static void test_writer_all_pages_written_manifest_in_order(void **state)
{
    fixture *f = *state;
    run_pool(f, 2, 0);
    assert_all_written(f);
    assert_int_equal(tu_count_names(f->out, "tmp."), 0);
}

static void test_writer_failed_rename_becomes_an_error_line(void **state)
{
    fixture *f = *state;
    snprintf(fail_name, sizeof fail_name, "p07.html");
    run_pool(f, 3, 0);
    size_t n;
    json_t **rows = read_manifest(f, &n);
    assert_int_equal(n, N);
    for (size_t i = 0; i < n; i++) {
        const char *status = json_string_value(json_object_get(rows[i], "status"));
        if (strstr(f->pages[i].path, "p07.md") != NULL) {
            assert_string_equal(status, "error");
            json_t *err = json_object_get(rows[i], "error");
            assert_non_null(err);
            assert_string_equal(json_string_value(json_object_get(err, "code")), "io");
            assert_non_null(
                strstr(json_string_value(json_object_get(err, "message")), strerror(EACCES)));
            assert_true(json_is_null(json_object_get(err, "line")));
            /* Every other field survives the rewrite. */
            assert_non_null(json_object_get(rows[i], "bytesOut"));
            assert_int_equal(f->pages[i].status, FMD_E_IO);
            assert_int_equal(f->pages[i].err, EACCES);
        } else {
            assert_string_equal(status, "ok");
        }
        json_decref(rows[i]);
    }
    free(rows);
    assert_int_equal(tu_count_names(f->out, "tmp."), 0); /* the temporary file was removed */
}

static void test_writer_byte_bound_still_writes_everything(void **state)
{
    fixture *f = *state;
    run_pool(f, 1, 20); /* smaller than one page: one page at a time */
    size_t n;
    json_t **rows = read_manifest(f, &n);
    assert_int_equal(n, N);
    for (size_t i = 0; i < n; i++)
        json_decref(rows[i]);
    free(rows);
}

/* The one-step write: unnamed files linked into place. Every page is written, no temporary
 * file is left, and a second run over the same OUT (files there already) falls back to rename. */
static void test_writer_linked_files(void **state)
{
    fixture *f = *state;
    real_link = true;
    run_pool(f, 2, 0);
    assert_all_written(f);
    assert_int_equal(links, N); /* CI's file systems (ext4, tmpfs) and root allow it */
    assert_int_equal(tu_count_names(f->out, "tmp."), 0);

    /* Again over the same files: linkat finds them there (EEXIST), and the pool goes on through
     * temporary names and rename, which replace them. */
    run_pool(f, 2, 0);
    assert_int_equal(links, N);
    assert_all_written(f);
    assert_int_equal(tu_count_names(f->out, "tmp."), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_writer_all_pages_written_manifest_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_writer_failed_rename_becomes_an_error_line, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_writer_byte_bound_still_writes_everything, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_writer_linked_files, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
