/* SPDX-License-Identifier: MIT */
/* numa/ on the machine the tests run on. It checks only what holds everywhere (a laptop, a
 * 2-core CI container, a 2-socket server; binding allowed or refused), and prints the topology
 * report and each thread's binding outcome for the log (ctest -V). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <omp.h>

#include "fmd_numa.h"

static void test_system_counts_and_plan(void **state)
{
    (void)state;
    fmd_numa_topology *t = NULL;
    fmd_numa_counts c;
    fmd_numa_plan *p = NULL;
    fmd_numa_plan_opts o = {0};
    int err = -1;

    assert_int_equal(fmd_numa_topology_create(&t, NULL, &err), FMD_OK);
    assert_int_equal(err, 0);
    fmd_numa_counts_get(t, &c);
    assert_true(c.cores >= 1);
    assert_true(c.pus >= c.cores);
    assert_true(c.machine_pus >= c.pus);
    assert_true(c.nodes >= 1);

    o.record_affinity = true;
    assert_int_equal(fmd_numa_plan_create(&p, t, &o), FMD_OK);
    assert_int_equal((size_t)p->n_threads, c.cores);
    assert_int_equal(p->binding, FMD_NUMA_BINDING_ON);
    fmd_numa_plan *shared = p;
#pragma omp parallel num_threads(shared->n_threads) default(none) shared(shared)
    fmd_numa_thread_hook(omp_get_thread_num(), omp_get_num_threads(), shared);

    for (int th = 0; th < p->n_threads; th++) {
        const fmd_numa_report *r = &p->reports[th];
        assert_true(r->bind == FMD_NUMA_BIND_OK || r->bind == FMD_NUMA_BIND_REFUSED);
        if (r->bind == FMD_NUMA_BIND_OK && r->cpu >= 0) {
            bool inside = false;
            for (size_t i = 0; i < p->threads[th].n_pus; i++)
                inside |= p->threads[th].pus[i] == (unsigned)r->cpu;
            assert_true(inside); /* a bound thread runs where it was bound */
            assert_int_equal(r->cpu_node, p->threads[th].node);
        }
    }
    fmd_numa_warning w;
    assert_int_equal(fmd_numa_thread_unbind(p, &w), FMD_OK);

    fmd_arena *a = NULL;
    fmd_buf b;
    assert_int_equal(fmd_arena_create(&a, 0), FMD_OK);
    fmd_buf_reset(&b, a);
    assert_int_equal(fmd_numa_topology_format(t, p, &b), FMD_OK);
    assert_int_equal(fmd_numa_affinity_format(p, &b), FMD_OK);
    assert_int_equal(fmd_numa_warnings_format(t, p, &b), FMD_OK);
    assert_int_equal(fmd_buf_putc(&b, '\0'), FMD_OK);
    print_message("%s", b.ptr);
    fmd_arena_destroy(a);
    fmd_numa_plan_destroy(p);
    fmd_numa_topology_destroy(t);
}

static void test_system_memory_binding_degrades(void **state)
{
    (void)state;
    fmd_numa_topology *t = NULL;
    fmd_numa_plan *p = NULL;
    fmd_numa_warning w;
    static char buf[1 << 16];
    assert_int_equal(fmd_numa_topology_create(&t, NULL, NULL), FMD_OK);
    assert_int_equal(fmd_numa_plan_create(&p, t, NULL), FMD_OK);
    int node = p->threads[0].node;
    assert_int_equal(fmd_numa_memory_bind(p, buf, sizeof buf, node, false, &w), FMD_OK);
    assert_true(w.code == FMD_NUMA_W_NONE || w.code == FMD_NUMA_W_MEMBIND_REFUSED);
    int now = fmd_numa_node_current(p);
    assert_true(now >= -1 && now < (int)p->n_nodes);
    fmd_numa_plan_destroy(p);
    fmd_numa_topology_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_system_counts_and_plan),
        cmocka_unit_test(test_system_memory_binding_degrades),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
