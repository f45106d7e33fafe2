/* SPDX-License-Identifier: MIT */
/* io/shard.c: the partition of a page list into shards (every page once, contiguous, in order,
 * balanced by weight within one page), the narrowing of a batch to one shard, and the locks of a
 * shard's folder (shards side by side, a plain build or a merge alone). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fmd_io.h"
#include "fmd_io_shard.h"
#include "fmd_io_state.h"

/* Every shard's range, checked against what any partition must satisfy; returns the ranges. */
static void check_partition(const size_t *sizes, size_t n_pages, unsigned n, size_t *firsts,
                            size_t *counts)
{
    double total = 0, max_w = 0;
    for (size_t i = 0; i < n_pages; i++) {
        double w = (double)sizes[i] + FMD_IO_SHARD_PAGE_BYTES;
        total += w;
        max_w = w > max_w ? w : max_w;
    }
    size_t next = 0;
    for (unsigned k = 1; k <= n; k++) {
        size_t first = 99, count = 99;
        assert_int_equal(fmd_io_shard_range(sizes, n_pages, k, n, &first, &count), FMD_OK);
        /* Contiguous and in order: shard k starts where shard k - 1 ended. */
        assert_int_equal(first, next);
        next = first + count;
        assert_true(next <= n_pages);
        double w = 0;
        for (size_t i = first; i < first + count; i++)
            w += (double)sizes[i] + FMD_IO_SHARD_PAGE_BYTES;
        double share = total / n;
        assert_true(w <= share + max_w);
        assert_true(w >= share - max_w);
        if (firsts != NULL) {
            firsts[k - 1] = first;
            counts[k - 1] = count;
        }
    }
    assert_int_equal(next, n_pages); /* every page in exactly one shard */
}

static void test_header_example(void **state)
{
    (void)state;
    const size_t sizes[4] = {0, 0, 0, 0};
    size_t first[2], count[2];
    check_partition(sizes, 4, 2, first, count);
    assert_int_equal(first[0], 0);
    assert_int_equal(count[0], 2);
    assert_int_equal(first[1], 2);
    assert_int_equal(count[1], 2);
}

/* Pseudo-random page sizes (a fixed LCG, so the test is repeatable), skewed like a real corpus:
 * mostly small pages, a few large ones. */
static void test_random_sizes_balanced(void **state)
{
    (void)state;
    size_t n_pages = 5000;
    size_t *sizes = malloc(n_pages * sizeof *sizes);
    assert_non_null(sizes);
    uint64_t x = 12345;
    for (size_t i = 0; i < n_pages; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        size_t s = (size_t)(x >> 40) % 8000;
        if ((x >> 20) % 50 == 0)
            s *= 40;
        sizes[i] = s;
    }
    for (unsigned n = 1; n <= 9; n++)
        check_partition(sizes, n_pages, n, NULL, NULL);
    check_partition(sizes, n_pages, 64, NULL, NULL);
    check_partition(sizes, n_pages, 1000, NULL, NULL);
    free(sizes);
}

static void test_one_shard_is_everything(void **state)
{
    (void)state;
    const size_t sizes[3] = {10, 1 << 20, 0};
    size_t first = 9, count = 9;
    assert_int_equal(fmd_io_shard_range(sizes, 3, 1, 1, &first, &count), FMD_OK);
    assert_int_equal(first, 0);
    assert_int_equal(count, 3);
}

/* More shards than pages: some shards are empty, none holds a page twice. */
static void test_more_shards_than_pages(void **state)
{
    (void)state;
    const size_t sizes[3] = {100, 100, 100};
    size_t first[7], count[7];
    check_partition(sizes, 3, 7, first, count);
    size_t empty = 0;
    for (int k = 0; k < 7; k++) {
        empty += count[k] == 0;
        assert_true(count[k] <= 1);
    }
    assert_int_equal(empty, 4);
}

static void test_no_pages(void **state)
{
    (void)state;
    for (unsigned k = 1; k <= 3; k++) {
        size_t first = 9, count = 9;
        assert_int_equal(fmd_io_shard_range(NULL, 0, k, 3, &first, &count), FMD_OK);
        assert_int_equal(first, 0);
        assert_int_equal(count, 0);
    }
}

/* One page far larger than the rest takes a shard of its own; the others share the rest. */
static void test_huge_page(void **state)
{
    (void)state;
    size_t sizes[9] = {10, 10, 10, 10, (size_t)1 << 30, 10, 10, 10, 10};
    size_t first[3], count[3];
    check_partition(sizes, 9, 3, first, count);
    int holder = -1;
    for (int k = 0; k < 3; k++)
        if (first[k] <= 4 && 4 < first[k] + count[k])
            holder = k;
    assert_true(holder >= 0);
}

/* Sizes whose sum overflows 64 bits: still every page once, in order. */
static void test_no_overflow(void **state)
{
    (void)state;
    const size_t sizes[4] = {SIZE_MAX / 2, SIZE_MAX / 2, SIZE_MAX / 2, 1};
    size_t next = 0;
    for (unsigned k = 1; k <= 2; k++) {
        size_t first, count;
        assert_int_equal(fmd_io_shard_range(sizes, 4, k, 2, &first, &count), FMD_OK);
        assert_int_equal(first, next);
        next += count;
    }
    assert_int_equal(next, 4);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    const size_t sizes[1] = {1};
    size_t first, count;
    assert_int_equal(fmd_io_shard_range(sizes, 1, 0, 2, &first, &count), FMD_E_USAGE);
    assert_int_equal(fmd_io_shard_range(sizes, 1, 3, 2, &first, &count), FMD_E_USAGE);
    assert_int_equal(fmd_io_shard_range(sizes, 1, 1, 0, &first, &count), FMD_E_USAGE);
    assert_int_equal(fmd_io_shard_range(sizes, 1, 1, FMD_IO_SHARD_MAX + 1, &first, &count),
                     FMD_E_USAGE);
}

/*** A batch narrowed to a shard, and the locks, in a temporary folder ***/

static char tmp[64];

static void write_file(const char *rel, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", tmp, rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup_tmp(void **state)
{
    (void)state;
    snprintf(tmp, sizeof tmp, "%s/fastmd-shard-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    return mkdtemp(tmp) == NULL ? -1 : 0;
}

static int teardown_tmp(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_batch_keep(void **state)
{
    (void)state;
    char src[128];
    snprintf(src, sizeof src, "%s/src", tmp);
    assert_int_equal(mkdir(src, 0777), 0);
    /* Each page's text names its file, so a page read from another page's file shows. */
    /* Different folders and name lengths: a page opened from another page's folder or name
     * offset fails to open or reads the wrong text. */
    const char *names[5] = {"src/a.md", "src/b/b.md", "src/c/cc/c.md", "src/d.md", "src/e/e.md"};
    const char *dirs[4] = {"src/b", "src/c", "src/c/cc", "src/e"};
    for (int i = 0; i < 4; i++) {
        char d[256];
        snprintf(d, sizeof d, "%s/%s", tmp, dirs[i]);
        assert_int_equal(mkdir(d, 0777), 0);
    }
    const char *texts[5] = {"# a\n", "# bb\n", "# ccc\n", "# dddd\n", "# eeeee\n"};
    for (int i = 0; i < 5; i++)
        write_file(names[i], texts[i]);
    fmd_io_batch *b = NULL;
    assert_int_equal(fmd_io_tree_enumerate(src, 1, &b, NULL), FMD_OK);
    size_t n = 0;
    fmd_io_page *pages = fmd_io_batch_pages(b, &n);
    assert_int_equal(n, 5);
    const char *third = pages[2].path;
    assert_int_equal(fmd_io_batch_keep(b, 1, 5), FMD_E_USAGE);
    assert_int_equal(fmd_io_batch_keep(b, 6, 0), FMD_E_USAGE);
    assert_int_equal(fmd_io_batch_keep(b, 1, 3), FMD_OK);
    pages = fmd_io_batch_pages(b, &n);
    assert_int_equal(n, 3);
    assert_string_equal(pages[0].path, "b/b.md");
    assert_string_equal(pages[2].path, "d.md");
    assert_string_equal(third, "c/cc/c.md"); /* earlier pointers stay valid */
    /* The kept pages load from their own directories. */
    fmd_io_input in;
    assert_int_equal(fmd_io_pages_load(b, 0, n, 1 << 20, 1, &in), FMD_OK);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(in.refs[i].load_status, FMD_OK);
        assert_int_equal(in.refs[i].len, strlen(texts[i + 1]));
        assert_memory_equal(in.base + in.refs[i].offset, texts[i + 1], in.refs[i].len);
    }
    fmd_io_input_destroy(&in);
    fmd_io_batch_destroy(b);
}

static void test_locks(void **state)
{
    (void)state;
    char out[128];
    snprintf(out, sizeof out, "%s/out", tmp);
    assert_int_equal(mkdir(out, 0777), 0);
    int ofd = open(out, O_RDONLY | O_DIRECTORY);
    assert_true(ofd >= 0);
    int err = 0;
    fmd_io_shard *s1 = NULL, *s2 = NULL;
    assert_int_equal(fmd_io_shard_open(ofd, 1, 2, false, &s1, &err), FMD_OK);
    assert_int_equal(fmd_io_shard_open(ofd, 2, 2, false, &s2, &err), FMD_OK);
    assert_string_equal(fmd_io_shard_name(s2), "shard-2-of-2");
    assert_string_equal(fmd_io_shard_manifest(s1), ".fastmd/shard-1-of-2/manifest.ndjson");
    /* Each shard's own state: its lock is its own. */
    fmd_io_state *st1 = NULL, *st2 = NULL, *again = NULL;
    assert_int_equal(
        fmd_io_state_open_at(fmd_io_shard_parent_fd(s1), fmd_io_shard_name(s1), false, &st1, &err),
        FMD_OK);
    assert_int_equal(
        fmd_io_state_open_at(fmd_io_shard_parent_fd(s2), fmd_io_shard_name(s2), false, &st2, &err),
        FMD_OK);
    assert_int_equal(fmd_io_state_open_at(fmd_io_shard_parent_fd(s2), fmd_io_shard_name(s2), false,
                                          &again, &err),
                     FMD_E_IO);
    assert_int_equal(err, EWOULDBLOCK);
    /* A plain build of OUT and a merge wait for the shards. */
    fmd_io_state *plain = NULL;
    assert_int_equal(fmd_io_state_open(ofd, false, &plain, &err), FMD_E_IO);
    assert_int_equal(err, EWOULDBLOCK);
    fmd_io_merge_result r;
    assert_int_equal(fmd_io_shard_merge(out, 0, false, &r), FMD_E_IO);
    assert_int_equal(r.problem, FMD_IO_MERGE_LOCKED);
    fmd_io_state_close(st1);
    fmd_io_state_close(st2);
    fmd_io_shard_close(s1);
    fmd_io_shard_close(s2);
    /* Shards closed: a plain build locks OUT, and then no shard may start. */
    assert_int_equal(fmd_io_state_open(ofd, false, &plain, &err), FMD_OK);
    assert_int_equal(fmd_io_shard_open(ofd, 1, 2, false, &s1, &err), FMD_E_IO);
    assert_int_equal(err, EWOULDBLOCK);
    fmd_io_state_close(plain);
    /* Nothing finished: the merge names shard 1 as unfinished. */
    assert_int_equal(fmd_io_shard_merge(out, 0, false, &r), FMD_E_NOINPUT);
    assert_int_equal(r.problem, FMD_IO_MERGE_UNFINISHED);
    assert_int_equal(r.shard, 1);
    assert_int_equal(r.n, 2);
    close(ofd);
}

/* A killed shard's partial manifest's temporary file is removed by the next run of that shard
 * (and by a merge); the shard's other files stay. */
static void test_shard_leftovers(void **state)
{
    (void)state;
    char out[128];
    snprintf(out, sizeof out, "%s/out", tmp);
    assert_int_equal(mkdir(out, 0777), 0);
    int ofd = open(out, O_RDONLY | O_DIRECTORY);
    assert_true(ofd >= 0);
    int err = 0;
    fmd_io_shard *s = NULL;
    assert_int_equal(fmd_io_shard_open(ofd, 2, 3, false, &s, &err), FMD_OK);
    write_file("out/.fastmd/shard-2-of-3/.manifest.ndjson.tmp.4242.0", "{\"half\":");
    write_file("out/.fastmd/shard-2-of-3/.manifest.ndjson.tmp.4243.1", "");
    write_file("out/.fastmd/shard-2-of-3/manifest.ndjson", "{}\n");
    write_file("out/.fastmd/shard-2-of-3/.other.tmp.1", "kept");
    size_t removed = 0;
    assert_int_equal(fmd_io_shard_leftovers_remove(s, &removed), FMD_OK);
    assert_int_equal(removed, 2);
    struct stat sb;
    char p[256];
    snprintf(p, sizeof p, "%s/.fastmd/shard-2-of-3/.manifest.ndjson.tmp.4242.0", out);
    assert_int_equal(stat(p, &sb), -1);
    snprintf(p, sizeof p, "%s/.fastmd/shard-2-of-3/manifest.ndjson", out);
    assert_int_equal(stat(p, &sb), 0);
    snprintf(p, sizeof p, "%s/.fastmd/shard-2-of-3/.other.tmp.1", out);
    assert_int_equal(stat(p, &sb), 0);
    fmd_io_shard_close(s);
    close(ofd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_example),
        cmocka_unit_test(test_random_sizes_balanced),
        cmocka_unit_test(test_one_shard_is_everything),
        cmocka_unit_test(test_more_shards_than_pages),
        cmocka_unit_test(test_no_pages),
        cmocka_unit_test(test_huge_page),
        cmocka_unit_test(test_no_overflow),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test_setup_teardown(test_batch_keep, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_locks, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_shard_leftovers, setup_tmp, teardown_tmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
