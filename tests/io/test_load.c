/* SPDX-License-Identifier: MIT */
/* Loading: exact contents and layout, empty pages, the input limit, windows, 2 threads, pages
 * that vanish, grow or shrink after enumeration, the descriptor budget fallback, and single-file
 * reads. */
#include "io_test_util.h"

#include <stdint.h>
#include <sys/resource.h>

#include "fmd_io.h"

static fmd_io_batch *enumerate(const char *root)
{
    fmd_io_batch *b = NULL;
    assert_int_equal(fmd_io_tree_enumerate(root, 2, &b, NULL), FMD_OK);
    return b;
}

static void test_load_contents_exact(void **state)
{
    (void)state;
    char root[PATH_MAX];
    tu_mktemp(root);
    static const char bin[] = {'#', ' ', 0, '\r', '\n', (char)0xff, (char)0xfe, 'x'};
    tu_write(root, "a.md", "# A\n\nalpha\n");
    tu_write_n(root, "b.md", bin, sizeof bin);
    tu_write(root, "c/empty.md", "");
    tu_write(root, "d.markdown", "delta");

    fmd_io_batch *b = enumerate(root);
    size_t n;
    fmd_io_page *p = fmd_io_batch_pages(b, &n);
    assert_int_equal(n, 4);
    fmd_io_input in;
    assert_int_equal(fmd_io_pages_load(b, 0, n, 0, 1, &in), FMD_OK);
    assert_int_equal(in.first, 0);
    assert_int_equal(in.count, 4);
    /* Back to back, each followed by a NUL. */
    assert_int_equal(in.refs[0].offset, 0);
    assert_int_equal(in.refs[0].len, 11);
    assert_memory_equal(in.base, "# A\n\nalpha\n", 12);
    assert_int_equal(in.refs[1].offset, 12);
    assert_int_equal(in.refs[1].len, sizeof bin);
    assert_memory_equal(in.base + 12, bin, sizeof bin);
    assert_int_equal(in.base[12 + sizeof bin], '\0');
    assert_int_equal(in.refs[2].len, 0);
    assert_int_equal(in.refs[2].load_status, FMD_OK);
    assert_int_equal(in.base[in.refs[2].offset], '\0');
    assert_int_equal(in.refs[3].len, 5);
    assert_string_equal(in.base + in.refs[3].offset, "delta");
    assert_int_equal(in.size, 12 + sizeof bin + 1 + 1 + 6);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(in.refs[i].load_status, FMD_OK);
        assert_int_equal(p[i].status, FMD_OK);
    }
    fmd_io_input_destroy(&in);
    assert_null(in.base);
    fmd_io_input_destroy(&in); /* twice is fine */
    fmd_io_batch_destroy(b);
    tu_rm_rf(root);
}

static void test_load_input_limit(void **state)
{
    (void)state;
    char root[PATH_MAX];
    tu_mktemp(root);
    tu_write(root, "big.md", "01234567890"); /* 11 bytes */
    tu_write(root, "fits.md", "0123456789"); /* 10 bytes */
    fmd_io_batch *b = enumerate(root);
    size_t n;
    fmd_io_page *p = fmd_io_batch_pages(b, &n);
    fmd_io_input in;
    assert_int_equal(fmd_io_pages_load(b, 0, n, 10, 2, &in), FMD_OK);
    assert_int_equal(in.refs[0].load_status, FMD_E_INPUT_LIMIT);
    assert_int_equal(in.refs[0].len, 0);
    assert_int_equal(p[0].status, FMD_E_INPUT_LIMIT);
    assert_int_equal(in.refs[1].load_status, FMD_OK);
    assert_int_equal(in.refs[1].len, 10);
    assert_int_equal(in.size, 11); /* no space reserved for the refused page */
    fmd_io_input_destroy(&in);
    fmd_io_batch_destroy(b);
    tu_rm_rf(root);
}

/* 400 pages of different sizes, two threads; every byte checked after the region. */
static void test_load_parallel_two_threads(void **state)
{
    (void)state;
    char root[PATH_MAX];
    tu_mktemp(root);
    enum { N = 400 };
    char name[64], body[4200];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "d%d/p%03d.md", i % 7, i);
        size_t len = (size_t)(i * 37) % 4096;
        for (size_t k = 0; k < len; k++)
            body[k] = (char)('a' + (i + (int)k) % 26);
        tu_write_n(root, name, body, len);
    }
    fmd_io_batch *b = enumerate(root);
    size_t n;
    fmd_io_page *p = fmd_io_batch_pages(b, &n);
    assert_int_equal(n, N);
    fmd_io_input in;
    assert_int_equal(fmd_io_pages_load(b, 0, n, 0, 2, &in), FMD_OK);
    for (size_t j = 0; j < n; j++) {
        int i = atoi(strrchr(p[j].path, 'p') + 1);
        size_t len = (size_t)(i * 37) % 4096;
        assert_int_equal(in.refs[j].load_status, FMD_OK);
        assert_int_equal(in.refs[j].len, len);
        const char *got = in.base + in.refs[j].offset;
        for (size_t k = 0; k < len; k++)
            assert_int_equal(got[k], (char)('a' + (i + (int)k) % 26));
        assert_int_equal(got[len], '\0');
    }
    fmd_io_input_destroy(&in);
    fmd_io_batch_destroy(b);
    tu_rm_rf(root);
}

static void test_load_window(void **state)
{
    (void)state;
    char root[PATH_MAX];
    tu_mktemp(root);
    tu_write(root, "1.md", "one");
    tu_write(root, "2.md", "two!");
    tu_write(root, "3.md", "three");
    fmd_io_batch *b = enumerate(root);
    fmd_io_input in;
    assert_int_equal(fmd_io_pages_load(b, 1, 2, 0, 2, &in), FMD_OK);
    assert_int_equal(in.first, 1);
    assert_int_equal(in.count, 2);
    assert_string_equal(in.base + in.refs[0].offset, "two!");
    assert_string_equal(in.base + in.refs[1].offset, "three");
    fmd_io_input_destroy(&in);
    assert_int_equal(fmd_io_pages_load(b, 2, 2, 0, 2, &in), FMD_E_USAGE);
    assert_int_equal(fmd_io_pages_load(b, 4, 0, 0, 2, &in), FMD_E_USAGE);
    fmd_io_batch_destroy(b);
    tu_rm_rf(root);
}

static void test_load_pages_changed_after_enumeration(void **state)
{
    (void)state;
    char root[PATH_MAX], p1[PATH_MAX];
    tu_mktemp(root);
    tu_write(root, "gone.md", "soon gone");
    tu_write(root, "grows.md", "short");
    tu_write(root, "shrinks.md", "a long page");
    tu_write(root, "same.md", "same");
    fmd_io_batch *b = enumerate(root);
    size_t n;
    fmd_io_page *p = fmd_io_batch_pages(b, &n);
    assert_int_equal(n, 4);
    unlink(tu_path(p1, root, "gone.md"));
    tu_write(root, "grows.md", "much longer than before");
    tu_write(root, "shrinks.md", "short");

    fmd_io_input in;
    assert_int_equal(fmd_io_pages_load(b, 0, n, 0, 2, &in), FMD_OK);
    assert_int_equal(in.refs[0].load_status, FMD_E_NOINPUT);
    assert_int_equal(p[0].status, FMD_E_NOINPUT);
    assert_int_equal(p[0].err, ENOENT);
    assert_int_equal(in.refs[1].load_status, FMD_OK);
    assert_int_equal(in.refs[1].len, 23);
    assert_string_equal(in.base + in.refs[1].offset, "much longer than before");
    assert_int_equal(p[1].size, 23);
    /* Sorted: gone, grows, same, shrinks. */
    assert_string_equal(in.base + in.refs[2].offset, "same");
    assert_int_equal(in.refs[3].load_status, FMD_OK);
    assert_int_equal(in.refs[3].len, 5);
    assert_string_equal(in.base + in.refs[3].offset, "short");
    fmd_io_input_destroy(&in);

    /* Forget the load's verdicts: the vanished page is OK again, as enumeration saw it. */
    fmd_io_batch_reset_status(b);
    assert_int_equal(p[0].status, FMD_OK);
    assert_int_equal(p[0].err, 0);

    /* Grown past the limit: refused at the re-read. */
    tu_write(root, "same.md", "now it is much longer");
    assert_int_equal(fmd_io_pages_load(b, 2, 1, 10, 1, &in), FMD_OK);
    assert_int_equal(in.refs[0].load_status, FMD_E_INPUT_LIMIT);
    fmd_io_input_destroy(&in);
    fmd_io_batch_destroy(b);
    tu_rm_rf(root);
}

/* A block of 2 MiB or more is aligned for huge pages and still holds every page exactly, at 1 and
 * 2 threads; a page that grows after enumeration moves the block (realloc) and is re-read. */
static void test_load_large_block(void **state)
{
    (void)state;
    char root[PATH_MAX];
    tu_mktemp(root);
    const size_t big = (size_t)3 << 19; /* 1.5 MiB */
    char *text = malloc(big);
    assert_non_null(text);
    for (size_t i = 0; i < big; i++)
        text[i] = (char)('a' + i % 23);
    tu_write_n(root, "a.md", text, big);
    text[0] = 'B';
    tu_write_n(root, "b.md", text, big);
    tu_write(root, "c.md", "small");
    fmd_io_batch *b = enumerate(root);
    size_t n;
    fmd_io_batch_pages(b, &n);
    assert_int_equal(n, 3);
    for (int threads = 1; threads <= 2; threads++) {
        fmd_io_input in;
        assert_int_equal(fmd_io_pages_load(b, 0, n, 0, threads, &in), FMD_OK);
        assert_int_equal((uintptr_t)in.base % ((size_t)2 << 20), 0);
        assert_int_equal(in.size, 2 * (big + 1) + 6);
        assert_int_equal(in.refs[1].len, big);
        assert_memory_equal(in.base + in.refs[1].offset, text, big);
        text[0] = 'a';
        assert_memory_equal(in.base + in.refs[0].offset, text, big);
        text[0] = 'B';
        assert_string_equal(in.base + in.refs[2].offset, "small");
        fmd_io_input_destroy(&in);
    }
    tu_write(root, "c.md", "small no more");
    fmd_io_input in;
    assert_int_equal(fmd_io_pages_load(b, 0, n, 0, 2, &in), FMD_OK);
    assert_int_equal(in.refs[2].load_status, FMD_OK);
    assert_string_equal(in.base + in.refs[2].offset, "small no more");
    assert_memory_equal(in.base + in.refs[1].offset, text, big);
    fmd_io_input_destroy(&in);
    free(text);
    fmd_io_batch_destroy(b);
    tu_rm_rf(root);
}

/* With a tiny RLIMIT_NOFILE only a few directory descriptors are kept; the others' pages are
 * opened by path from SRC. The contents must not change. */
static void test_load_descriptor_budget_fallback(void **state)
{
    (void)state;
    char root[PATH_MAX];
    tu_mktemp(root);
    enum { DIRS = 60 };
    char name[64];
    for (int i = 0; i < DIRS; i++) {
        snprintf(name, sizeof name, "d%02d/e/p%d.md", i, i);
        tu_write(root, name, name);
    }
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = 48; /* budget 12 of the 121 directories */
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    fmd_io_batch *b = NULL;
    fmd_status st = fmd_io_tree_enumerate(root, 2, &b, NULL);
    fmd_io_input in = {0};
    fmd_status st2 = st == FMD_OK ? fmd_io_pages_load(b, 0, DIRS, 0, 2, &in) : st;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    assert_int_equal(st, FMD_OK);
    assert_int_equal(st2, FMD_OK);
    size_t n;
    fmd_io_page *p = fmd_io_batch_pages(b, &n);
    assert_int_equal(n, DIRS);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(in.refs[i].load_status, FMD_OK);
        assert_string_equal(in.base + in.refs[i].offset, p[i].path);
    }
    fmd_io_input_destroy(&in);
    fmd_io_batch_destroy(b);
    tu_rm_rf(root);
}

static void test_load_read_file_and_stream(void **state)
{
    (void)state;
    char root[PATH_MAX], path[PATH_MAX];
    tu_mktemp(root);
    tu_write(root, "one.md", "# One\n");
    fmd_arena *a;
    assert_int_equal(fmd_arena_create(&a, 0), FMD_OK);
    fmd_slice s;
    int err = -1;
    assert_int_equal(fmd_io_file_read(tu_path(path, root, "one.md"), 0, a, &s, &err), FMD_OK);
    assert_int_equal(err, 0);
    assert_int_equal(s.len, 6);
    assert_string_equal(s.ptr, "# One\n");
    assert_int_equal(fmd_io_file_read(tu_path(path, root, "one.md"), 5, a, &s, &err),
                     FMD_E_INPUT_LIMIT);
    assert_int_equal(fmd_io_file_read(tu_path(path, root, "missing.md"), 0, a, &s, &err),
                     FMD_E_NOINPUT);
    assert_int_equal(err, ENOENT);

    /* A pipe: no size is known, so the buffer grows as needed. */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    static const char text[] = "piped page\n";
    assert_int_equal(write(fds[1], text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fds[1]);
    assert_int_equal(fmd_io_fd_read(fds[0], 0, a, &s, &err), FMD_OK);
    close(fds[0]);
    assert_int_equal(s.len, sizeof text - 1);
    assert_string_equal(s.ptr, text);

    /* An empty stream. */
    assert_int_equal(pipe(fds), 0);
    close(fds[1]);
    assert_int_equal(fmd_io_fd_read(fds[0], 0, a, &s, &err), FMD_OK);
    close(fds[0]);
    assert_int_equal(s.len, 0);

    /* Over the limit on a stream: stops after max + 1 bytes. */
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fds[1]);
    assert_int_equal(fmd_io_fd_read(fds[0], 4, a, &s, &err), FMD_E_INPUT_LIMIT);
    close(fds[0]);

    /* A larger regular file, past the first buffer size. */
    static char big[300000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('0' + i % 10);
    tu_write_n(root, "big.md", big, sizeof big);
    assert_int_equal(fmd_io_file_read(tu_path(path, root, "big.md"), 0, a, &s, &err), FMD_OK);
    assert_int_equal(s.len, sizeof big);
    assert_memory_equal(s.ptr, big, sizeof big);
    fmd_arena_destroy(a);
    tu_rm_rf(root);
}

/* Placement: each thread's start hook runs once, on that thread; the pages of each part are read
 * (parts without a thread too) and the block is byte-identical to an unplaced load. */
static int started[4];

static void note_start(int thread, void *userdata)
{
    (void)userdata;
    if (thread >= 0 && thread < 4)
        __atomic_fetch_add(&started[thread], 1, __ATOMIC_RELAXED);
}

static void test_load_placed_matches_unplaced(void **state)
{
    (void)state;
    char root[PATH_MAX];
    tu_mktemp(root);
    enum { N = 120 };
    char name[64], body[3000];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "d%d/p%03d.md", i % 5, i);
        size_t len = (size_t)(i * 53) % 3000;
        for (size_t k = 0; k < len; k++)
            body[k] = (char)('a' + (i + (int)k) % 26);
        tu_write_n(root, name, body, len);
    }
    fmd_io_batch *b = enumerate(root);
    size_t n;
    fmd_io_batch_pages(b, &n);
    fmd_io_input ref, in;
    assert_int_equal(fmd_io_pages_load(b, 0, n, 0, 1, &ref), FMD_OK);
    /* Three parts, the middle one without a thread (it is read in the second pass). */
    size_t first[4] = {0, 30, 70, N};
    int thread_part[2] = {0, 2};
    fmd_io_placement pl = {
        .start = note_start, .n_parts = 3, .part_first = first, .thread_part = thread_part};
    memset(started, 0, sizeof started);
    assert_int_equal(fmd_io_pages_load_placed(b, 0, n, 0, 2, &pl, &in), FMD_OK);
    assert_int_equal(started[0], 1);
    assert_int_equal(started[1], 1);
    assert_int_equal(in.size, ref.size);
    assert_memory_equal(in.base, ref.base, ref.size);
    for (size_t j = 0; j < n; j++) {
        assert_int_equal(in.refs[j].offset, ref.refs[j].offset);
        assert_int_equal(in.refs[j].len, ref.refs[j].len);
        assert_int_equal(in.refs[j].load_status, FMD_OK);
    }
    fmd_io_input_destroy(&in);
    fmd_io_input_destroy(&ref);
    fmd_io_batch_destroy(b);
    tu_rm_rf(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_contents_exact),
        cmocka_unit_test(test_load_input_limit),
        cmocka_unit_test(test_load_parallel_two_threads),
        cmocka_unit_test(test_load_window),
        cmocka_unit_test(test_load_pages_changed_after_enumeration),
        cmocka_unit_test(test_load_large_block),
        cmocka_unit_test(test_load_descriptor_budget_fallback),
        cmocka_unit_test(test_load_read_file_and_stream),
        cmocka_unit_test(test_load_placed_matches_unplaced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
