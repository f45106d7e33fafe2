/* SPDX-License-Identifier: MIT */
/* Unit tests of the engine's placement (a synthetic topology, so the host does not matter), the
 * summary figures and the benchmark statistics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fmd_engine_bench.h"
#include "fmd_engine_placement.h"
#include "fmd_engine_summary.h"

static const char synthetic[] = "pack:2 numa:2 core:2 pu:1"; /* 8 cores */

static void test_placement_threads(void **state)
{
    (void)state;
    fmd_placement pl;
    fmd_status topo_st;
    int err;
    fmd_engine_placement_opts o = {.threads = 3, .no_bind = true, .synthetic = synthetic};
    assert_int_equal(fmd_engine_placement_open(&pl, &o, &topo_st, &err), FMD_OK);
    assert_int_equal(topo_st, FMD_OK);
    assert_non_null(pl.plan);
    assert_int_equal(pl.plan->n_threads, 3);
    assert_ptr_equal(pl.hook.userdata, pl.plan);
    fmd_engine_placement_close(&pl);
    assert_null(pl.plan);
    assert_null(pl.topo);
    fmd_engine_placement_close(&pl); /* closing twice is safe */

    /* threads 0 with a profile divisor: cores / divisor. */
    fmd_engine_placement_opts half = {.profile_div = 2, .no_bind = true, .synthetic = synthetic};
    assert_int_equal(fmd_engine_placement_open(&pl, &half, &topo_st, &err), FMD_OK);
    assert_int_equal(pl.plan->n_threads, 4);
    fmd_engine_placement_warm(&pl); /* one empty region on the plan: must not crash or hang */
    fmd_engine_placement_close(&pl);
}

static void test_placement_bad_topology(void **state)
{
    (void)state;
    fmd_placement pl;
    fmd_status topo_st;
    int err;
    /* A topology that cannot be read degrades to an unbound plan, and says why. */
    fmd_engine_placement_opts o = {.threads = 2, .synthetic = "not a topology"};
    assert_int_equal(fmd_engine_placement_open(&pl, &o, &topo_st, &err), FMD_OK);
    assert_int_not_equal(topo_st, FMD_OK);
    assert_null(pl.topo);
    assert_int_equal(pl.plan->n_threads, 2);
    fmd_engine_placement_close(&pl);
}

static void test_summary(void **state)
{
    (void)state;
    fmd_thread_stats ts[2];
    memset(ts, 0, sizeof ts);
    ts[0].busy_s = 1.0;
    ts[1].busy_s = 0.5;
    fmd_engine_result r;
    memset(&r, 0, sizeof r);
    r.nthreads = 2;
    r.thread_stats = ts;
    r.wall = 1.0;
    r.pages = 7;
    double busy;
    assert_float_equal(fmd_engine_result_utilisation(&r, &busy), 0.75, 1e-12);
    assert_float_equal(busy, 1.5, 1e-12);

    fmd_arena *a = NULL;
    assert_int_equal(fmd_arena_create(&a, 0), FMD_OK);
    fmd_buf b;
    fmd_buf_reset(&b, a);
    assert_int_equal(fmd_engine_result_format_summary(&r, "src\"dir", false, &b), FMD_OK);
    assert_int_equal(fmd_buf_putc(&b, '\0'), FMD_OK);
    assert_non_null(strstr(b.ptr, "{\"src\":\"src\\\"dir\",\"pages\":7,\"failed\":0,"));
    assert_null(strstr(b.ptr, "\"rendered\""));
    /* A build into OUT adds its incremental counts. */
    r.rendered = 5;
    fmd_buf_reset(&b, a);
    assert_int_equal(fmd_engine_result_format_summary(&r, "s", true, &b), FMD_OK);
    assert_int_equal(fmd_buf_putc(&b, '\0'), FMD_OK);
    assert_non_null(strstr(b.ptr, "\"failed\":0,\"rendered\":5,"));
    assert_non_null(strstr(b.ptr, "\"cpuUtilisation\":0.75,"));
    assert_non_null(strstr(b.ptr, "{\"thread\":1,\"pages\":0,\"bytes\":0,\"busySeconds\":0.5,"));
    assert_int_equal(b.ptr[b.len - 2], '\n');
    fmd_arena_destroy(a);
}

static void test_bench_statistics(void **state)
{
    (void)state;
    double odd[] = {3, 1, 2};
    assert_float_equal(fmd_engine_bench_median(odd, 3), 2, 0);
    assert_float_equal(odd[0], 1, 0); /* sorted in place */
    double even[] = {4, 1, 3, 2};
    assert_float_equal(fmd_engine_bench_median(even, 4), 2.5, 0);
    double v[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    assert_float_equal(fmd_engine_bench_percentile(v, 10, 0.50), 5, 0);
    assert_float_equal(fmd_engine_bench_percentile(v, 10, 0.95), 10, 0);
    assert_float_equal(fmd_engine_bench_percentile(v, 10, 0.0), 1, 0);
    assert_float_equal(fmd_engine_bench_percentile(NULL, 0, 0.5), 0, 0);
    double s, kf;
    /* 4 threads, 3 times faster: Karp-Flatt (1/3 - 1/4) / (1 - 1/4) = 1/9. */
    assert_true(fmd_engine_bench_scaling(4, 1.0, 3.0, &s, &kf));
    assert_float_equal(s, 3.0, 1e-12);
    assert_float_equal(kf, 1.0 / 9, 1e-12);
    assert_false(fmd_engine_bench_scaling(1, 1.0, 1.0, &s, &kf)); /* one thread: none */
    assert_false(fmd_engine_bench_scaling(4, 1.0, 0, &s, &kf));   /* no one-thread time */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_placement_threads),
        cmocka_unit_test(test_placement_bad_topology),
        cmocka_unit_test(test_summary),
        cmocka_unit_test(test_bench_statistics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
