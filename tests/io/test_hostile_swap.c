/* SPDX-License-Identifier: MIT */
/* build's traversal race: a page reached through a symbolic link is checked at walk time and read
 * later (in a windowed build, long after). A directory on its resolved path swapped for a link
 * out of SRC in between must not lead the loader out of SRC. First the swap made once, between
 * the walk and the load, as a windowed build would meet it; then another thread swapping the
 * directory back and forth while this one loads the page again and again: no load may return
 * the outside file. */
#include "io_test_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "fmd_io.h"

#define RACE_LOADS 3000

typedef struct fixture {
    char top[PATH_MAX]; /* mkdtemp: holds src/ and out/ */
    char src[PATH_MAX];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    tu_mktemp(f->top);
    tu_path(f->src, f->top, "src");
    assert_int_equal(mkdir(f->src, 0777), 0);
    tu_write(f->src, "docs/real.md", "inside\n");
    tu_write(f->top, "out/real.md", "SECRET\n");
    /* The page through a link: its resolved path is docs/real.md. */
    tu_symlink("docs/real.md", f->src, "link.md");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_rm_rf(f->top);
    free(f);
    return 0;
}

/* Swap src/docs for a link to ../out (docs moved aside to docs.real), or back. */
static int swap_docs(const fixture *f, bool out)
{
    char docs[PATH_MAX], aside[PATH_MAX], tmp[PATH_MAX];
    tu_path(docs, f->src, "docs");
    tu_path(aside, f->src, "docs.real");
    tu_path(tmp, f->src, "docs.tmp");
    if (out) {
        unlink(tmp);
        if (symlink("../out", tmp) != 0 || rename(docs, aside) != 0)
            return -1;
        return rename(tmp, docs);
    }
    if (unlink(docs) != 0)
        return -1;
    return rename(aside, docs);
}

static size_t page_index(fmd_io_batch *b, const char *path)
{
    size_t n;
    fmd_io_page *p = fmd_io_batch_pages(b, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(p[i].path, path) == 0)
            return i;
    fail_msg("no page %s", path);
    return 0;
}

/* Load page @p i alone. @return 1 inside, 2 the outside file (a leak), 0 failed. */
static int load_one(fmd_io_batch *b, size_t i)
{
    fmd_io_batch_reset_status(b);
    fmd_io_input in;
    if (fmd_io_pages_load(b, i, 1, 0, 1, &in) != FMD_OK)
        return 0;
    int r = 0;
    if (in.refs[0].load_status == FMD_OK && in.refs[0].len == 7)
        r = memcmp(in.base + in.refs[0].offset, "SECRET\n", 7) == 0 ? 2 : 1;
    fmd_io_input_destroy(&in);
    return r;
}

static void test_swap_between_walk_and_load(void **state)
{
    const fixture *f = *state;
    fmd_io_batch *b = NULL;
    int err = 0;
    assert_int_equal(fmd_io_tree_enumerate(f->src, 1, &b, &err), FMD_OK);
    size_t i = page_index(b, "link.md");
    assert_int_equal(load_one(b, i), 1); /* before the swap: the page inside */
    assert_int_equal(swap_docs(f, true), 0);
    assert_int_equal(load_one(b, i), 0); /* refused, never the outside file */
    size_t n;
    fmd_io_page *p = fmd_io_batch_pages(b, &n);
    assert_int_equal(p[i].status, FMD_E_NOINPUT);
    assert_int_equal(p[i].err, EXDEV);
    assert_int_equal(swap_docs(f, false), 0);
    assert_int_equal(load_one(b, i), 1);
    fmd_io_batch_destroy(b);
}

typedef struct swapper {
    const fixture *f;
    atomic_bool stop;
    long swaps;
} swapper;

static void *swap_main(void *arg)
{
    swapper *s = arg;
    while (!atomic_load(&s->stop)) {
        if (swap_docs(s->f, true) != 0 || swap_docs(s->f, false) != 0)
            break;
        s->swaps++;
    }
    return NULL;
}

static void test_swap_race(void **state)
{
    const fixture *f = *state;
    fmd_io_batch *b = NULL;
    int err = 0;
    assert_int_equal(fmd_io_tree_enumerate(f->src, 1, &b, &err), FMD_OK);
    size_t i = page_index(b, "link.md");
    swapper s = {.f = f};
    atomic_init(&s.stop, false);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, swap_main, &s), 0);
    long counts[3] = {0, 0, 0};
    for (int k = 0; k < RACE_LOADS; k++)
        counts[load_one(b, i)]++;
    atomic_store(&s.stop, true);
    pthread_join(t, NULL);
    print_message("swap race: %ld loads inside, %ld refused, %ld leaked, %ld swaps\n", counts[1],
                  counts[0], counts[2], s.swaps);
    assert_int_equal(counts[2], 0);
    assert_true(counts[1] > 0); /* the page was read while the tree was as walked */
    assert_true(s.swaps > 0);
    fmd_io_batch_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_swap_between_walk_and_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_swap_race, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
