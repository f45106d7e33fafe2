/* SPDX-License-Identifier: MIT */
/* Unit tests of fastmd bench's sweep (fmd_engine_bench_sweep_*): kernel-only and end-to-end
 * sweeps on a small tree, their rows and the placement callback, and the failures it reports
 * (a missing source, a scratch folder that cannot be made). Pages live in a temporary tree
 * under /tmp that each test removes. */
#define _XOPEN_SOURCE 700 /* mkdtemp */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fmd_engine_bench.h"

typedef struct tree {
    char root[64], src[96], out[96];
} tree;

/* ROOT/src with @p n pages, and ROOT/out, the scratch folder. */
static void tree_make(tree *t, int n)
{
    strcpy(t->root, "/tmp/fmd-sweep-XXXXXX");
    assert_non_null(mkdtemp(t->root));
    snprintf(t->src, sizeof t->src, "%s/src", t->root);
    snprintf(t->out, sizeof t->out, "%s/out", t->root);
    assert_int_equal(mkdir(t->src, 0777), 0);
    assert_int_equal(mkdir(t->out, 0777), 0);
    for (int i = 0; i < n; i++) {
        char path[160];
        snprintf(path, sizeof path, "%s/p%d.md", t->src, i);
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fprintf(f, "# Page %d\n\nSome *text* and a [link](x.md).\n", i);
        assert_int_equal(fclose(f), 0);
    }
}

/* The bench's own remover (no link followed); then nothing of the tree may be left. */
static void tree_remove(const tree *t)
{
    fmd_engine_bench_remove_tree(t->root);
    assert_int_equal(access(t->root, F_OK), -1);
}

static const int counts[] = {1, 2};

/* The placement callback counts its calls and keeps the last plan's thread count. */
typedef struct seen {
    int calls, last_threads;
} seen;

static void placed(const fmd_placement *pl, fmd_status topo_st, int topo_err, void *userdata)
{
    (void)topo_st;
    (void)topo_err;
    seen *s = userdata;
    s->calls++;
    s->last_threads = pl->plan->n_threads;
}

static void sweep_cfg(fmd_engine_bench_sweep_cfg *c, const tree *t, seen *s)
{
    memset(c, 0, sizeof *c);
    fmd_kernel_options_default(&c->cfg.opt);
    c->cfg.src = t->src;
    c->cfg.queue_size = 1;
    c->out = t->out;
    c->repeat = 3;
    c->counts = counts;
    c->n_counts = 2;
    c->place.no_bind = true;
    c->placed = placed;
    c->userdata = s;
}

/* The rows of a finished sweep: one per count, ordered figures, the mode and the pages. */
static void check_rows(const fmd_engine_bench_sweep *sw, const char *mode, size_t pages)
{
    assert_string_equal(sw->rep.mode, mode);
    assert_int_equal(sw->rep.n_pages, pages);
    assert_int_equal(sw->rep.repeat, 3);
    assert_int_equal(sw->rep.n_rows, 2);
    for (int i = 0; i < 2; i++) {
        const fmd_engine_bench_row *r = &sw->rep.rows[i];
        assert_int_equal(r->threads, counts[i]);
        assert_true(r->min > 0);
        assert_true(r->min <= r->median && r->median <= r->max);
        assert_true(r->p50 <= r->p95 && r->p95 <= r->p99);
        assert_true(r->util >= 0);
    }
}

static void test_sweep_kernel_only(void **state)
{
    (void)state;
    tree t;
    tree_make(&t, 12);
    seen s = {0};
    fmd_engine_bench_sweep_cfg c;
    sweep_cfg(&c, &t, &s);
    c.kernel_only = true;
    c.single = true;
    fmd_engine_bench_sweep sw;
    assert_int_equal(fmd_engine_bench_sweep_open(&sw, &c), FMD_OK);
    assert_int_equal(sw.n_pages, 12);
    assert_int_equal(fmd_engine_bench_sweep_run(&sw), FMD_OK);
    check_rows(&sw, "kernel", 12);
    assert_true(sw.rep.single_median > 0);
    assert_true(sw.rep.rows[0].p99 > 0); /* every page's render time was recorded */
    assert_false(sw.rep.io_floor);
    assert_int_equal(s.calls, 2);
    assert_int_equal(s.last_threads, 2);
    fmd_engine_bench_sweep_close(&sw);
    tree_remove(&t);
}

static void test_sweep_end_to_end_with_floor(void **state)
{
    (void)state;
    tree t;
    tree_make(&t, 5);
    seen s = {0};
    fmd_engine_bench_sweep_cfg c;
    sweep_cfg(&c, &t, &s);
    c.io_floor = true;
    fmd_engine_bench_sweep sw;
    assert_int_equal(fmd_engine_bench_sweep_open(&sw, &c), FMD_OK);
    assert_int_equal(fmd_engine_bench_sweep_run(&sw), FMD_OK);
    check_rows(&sw, "tree", 5);
    assert_true(sw.rep.io_floor);
    assert_true(sw.rep.rows[0].floor_median > 0 && sw.rep.rows[1].floor_median > 0);
    assert_true(sw.rep.single_median == 0); /* not asked for */
    /* The last run (the floor) wrote its pages into the scratch folder. */
    char page[160];
    snprintf(page, sizeof page, "%s/p0.html", t.out);
    assert_int_equal(access(page, F_OK), 0);
    fmd_engine_bench_sweep_close(&sw);
    tree_remove(&t);
}

static void test_sweep_default_counts(void **state)
{
    (void)state;
    tree t;
    tree_make(&t, 2);
    seen s = {0};
    fmd_engine_bench_sweep_cfg c;
    sweep_cfg(&c, &t, &s);
    c.kernel_only = true;
    c.repeat = 1;
    c.n_counts = 0; /* 1..the plan's threads: 3 here */
    c.place.threads = 3;
    fmd_engine_bench_sweep sw;
    assert_int_equal(fmd_engine_bench_sweep_open(&sw, &c), FMD_OK);
    assert_int_equal(sw.c.n_counts, 3);
    assert_int_equal(fmd_engine_bench_sweep_run(&sw), FMD_OK);
    assert_int_equal(sw.rep.n_rows, 3);
    assert_int_equal(sw.rep.rows[2].threads, 3);
    assert_int_equal(s.calls, 3);
    fmd_engine_bench_sweep_close(&sw);
    tree_remove(&t);
}

static void test_sweep_missing_source(void **state)
{
    (void)state;
    tree t;
    tree_make(&t, 0);
    seen s = {0};
    fmd_engine_bench_sweep_cfg c;
    sweep_cfg(&c, &t, &s);
    char missing[128];
    snprintf(missing, sizeof missing, "%s/nope", t.root);
    c.cfg.src = missing;
    fmd_engine_bench_sweep sw;
    assert_int_equal(fmd_engine_bench_sweep_open(&sw, &c), FMD_E_NOINPUT);
    assert_string_equal(sw.what, missing);
    fmd_engine_bench_sweep_close(&sw);
    assert_int_equal(s.calls, 0);
    tree_remove(&t);
}

static void test_sweep_run_failure_stops(void **state)
{
    (void)state;
    tree t;
    tree_make(&t, 3);
    seen s = {0};
    fmd_engine_bench_sweep_cfg c;
    sweep_cfg(&c, &t, &s);
    char blocked[128]; /* a regular file where the scratch folder should be */
    snprintf(blocked, sizeof blocked, "%s/file", t.root);
    FILE *f = fopen(blocked, "wb");
    assert_non_null(f);
    assert_int_equal(fclose(f), 0);
    char below[160]; /* a folder below it cannot be made */
    snprintf(below, sizeof below, "%s/out", blocked);
    c.out = below;
    fmd_engine_bench_sweep sw;
    assert_int_equal(fmd_engine_bench_sweep_open(&sw, &c), FMD_OK);
    fmd_status st = fmd_engine_bench_sweep_run(&sw);
    assert_int_not_equal(st, FMD_OK);
    assert_int_equal(s.calls, 0); /* the first count failed: no row, no callback */
    assert_null(sw.rep.rows);
    fmd_engine_bench_sweep_close(&sw);
    tree_remove(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sweep_kernel_only),
        cmocka_unit_test(test_sweep_end_to_end_with_floor),
        cmocka_unit_test(test_sweep_default_counts),
        cmocka_unit_test(test_sweep_missing_source),
        cmocka_unit_test(test_sweep_run_failure_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
