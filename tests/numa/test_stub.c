/* SPDX-License-Identifier: MIT */
/* numa/ built with FMD_WITH_HWLOC=OFF: a plan from sysconf(_SC_NPROCESSORS_ONLN) on one node that
 * binds nothing, the same API otherwise; synthetic and XML topologies are refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <unistd.h>

#include <omp.h>

#include "fmd_numa.h"

static void test_stub_plan_from_sysconf(void **state)
{
    (void)state;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    fmd_numa_topology *t = NULL;
    fmd_numa_counts c;
    fmd_numa_plan *p = NULL;
    fmd_numa_plan_opts o = {0};

    assert_int_equal(fmd_numa_topology_create(&t, NULL, NULL), FMD_OK);
    fmd_numa_counts_get(t, &c);
    assert_int_equal(c.pus, online);
    assert_int_equal(c.cores, online);
    assert_int_equal(c.nodes, 1);
    o.record_affinity = true;
    assert_int_equal(fmd_numa_plan_create(&p, t, &o), FMD_OK);
    assert_int_equal(p->n_threads, online);
    assert_int_equal(p->binding, FMD_NUMA_BINDING_OFF_NO_HWLOC);
    fmd_numa_plan *shared = p;
#pragma omp parallel num_threads(shared->n_threads) default(none) shared(shared)
    fmd_numa_thread_hook(omp_get_thread_num(), omp_get_num_threads(), shared);
    for (int th = 0; th < p->n_threads; th++) {
        assert_int_equal(p->reports[th].bind, FMD_NUMA_BIND_OFF);
        assert_true(p->reports[th].cpu_node == 0 || p->reports[th].cpu_node == -1);
        assert_int_equal(p->threads[th].n_pus, 0);
    }
    assert_int_equal(fmd_numa_node_current(p), 0);
    assert_int_equal(fmd_numa_threads_auto(t, 0.0), online);

    fmd_numa_warning w;
    char buf[64];
    assert_int_equal(fmd_numa_memory_bind(p, buf, sizeof buf, 0, false, &w), FMD_OK);
    assert_int_equal(w.code, FMD_NUMA_W_NONE);

    fmd_arena *a = NULL;
    fmd_buf b;
    assert_int_equal(fmd_arena_create(&a, 0), FMD_OK);
    fmd_buf_reset(&b, a);
    assert_int_equal(fmd_numa_topology_format(t, p, &b), FMD_OK);
    assert_int_equal(fmd_buf_putc(&b, '\0'), FMD_OK);
    assert_non_null(strstr(b.ptr, "built without hwloc"));
    fmd_arena_destroy(a);
    fmd_numa_plan_destroy(p);
    fmd_numa_topology_destroy(t);
}

static void test_stub_refuses_descriptions(void **state)
{
    (void)state;
    fmd_numa_source src = {FMD_NUMA_SOURCE_SYNTHETIC, "pack:1 core:2 pu:2", false, NULL};
    fmd_numa_topology *t = NULL;
    int err = 0;
    assert_int_equal(fmd_numa_topology_create(&t, &src, &err), FMD_E_USAGE);
    assert_null(t);
    assert_true(err != 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stub_plan_from_sysconf),
        cmocka_unit_test(test_stub_refuses_descriptions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
