/* SPDX-License-Identifier: MIT */
/* fmd_numa plans on hwloc synthetic topologies: thread count, close placement, binding sets, node
 * of each thread, the allowed-PU restriction, --threads auto and the report text. The topologies
 * are foreign (not this machine), so nothing here binds or depends on the host. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hwloc.h>

#include "fmd_numa.h"

/* 2 packages x 2 NUMA nodes x 4 cores x 2 PUs: 4 nodes, 16 cores, 32 PUs (hwloc puts a Group
 * per node). */
#define TWO_BY_TWO "pack:2 numa:2 core:4 pu:2"

static fmd_numa_topology *load(const char *desc, const char *allowed)
{
    fmd_numa_source src = {FMD_NUMA_SOURCE_SYNTHETIC, desc, false, allowed};
    fmd_numa_topology *t = NULL;
    int err = -1;
    assert_int_equal(fmd_numa_topology_create(&t, &src, &err), FMD_OK);
    assert_int_equal(err, 0);
    assert_non_null(t);
    return t;
}

static fmd_numa_plan *plan(const fmd_numa_topology *t, int threads)
{
    fmd_numa_plan_opts o = {0};
    fmd_numa_plan *p = NULL;
    o.threads = threads;
    assert_int_equal(fmd_numa_plan_create(&p, t, &o), FMD_OK);
    assert_non_null(p);
    return p;
}

static void assert_pus(const fmd_numa_thread *th, size_t n, unsigned first)
{
    assert_int_equal(th->n_pus, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(th->pus[i], first + i);
}

/* Every thread is listed once, by its own node. */
static void assert_nodes_consistent(const fmd_numa_plan *p)
{
    size_t seen = 0, cores = 0;
    for (size_t k = 0; k < p->n_nodes; k++) {
        cores += p->nodes[k].n_cores;
        for (size_t i = 0; i < p->nodes[k].n_threads; i++) {
            int t = p->nodes[k].threads[i];
            assert_true(t >= 0 && t < p->n_threads);
            assert_int_equal(p->threads[t].node, (int)k);
            if (i > 0)
                assert_true(p->nodes[k].threads[i - 1] < t);
            seen++;
        }
    }
    assert_int_equal(seen, (size_t)p->n_threads);
    assert_int_equal(cores, p->n_cores);
}

static char *text_of(fmd_buf *b)
{
    assert_int_equal(fmd_buf_putc(b, '\0'), FMD_OK);
    return b->ptr;
}

static void test_plan_counts_of_synthetic(void **state)
{
    (void)state;
    fmd_numa_topology *t = load(TWO_BY_TWO, NULL);
    fmd_numa_counts c;
    fmd_numa_counts_get(t, &c);
    assert_int_equal(c.packages, 2);
    assert_int_equal(c.nodes, 4);
    assert_int_equal(c.cores, 16);
    assert_int_equal(c.pus, 32);
    assert_int_equal(c.machine_pus, 32);
    assert_int_equal(fmd_numa_warnings_get(t)->n, 0);
    fmd_numa_topology_destroy(t);
}

static void test_plan_default_is_physical_cores(void **state)
{
    (void)state;
    fmd_numa_topology *t = load(TWO_BY_TWO, NULL);
    fmd_numa_plan *p = plan(t, 0);
    assert_int_equal(p->n_threads, 16);
    assert_int_equal(p->n_cores, 16);
    assert_int_equal(p->n_pus, 32);
    assert_int_equal(p->n_nodes, 4);
    assert_int_equal(p->binding, FMD_NUMA_BINDING_OFF_FOREIGN);
    for (int th = 0; th < 16; th++) {
        assert_int_equal(p->threads[th].core, th);
        assert_int_equal(p->threads[th].node, th / 4);
        assert_pus(&p->threads[th], 2, 2u * (unsigned)th); /* a whole core: both hyperthreads */
    }
    for (size_t k = 0; k < 4; k++) {
        assert_int_equal(p->nodes[k].os_index, k);
        assert_int_equal(p->nodes[k].n_cores, 4);
        assert_int_equal(p->nodes[k].n_threads, 4);
        assert_int_equal(p->nodes[k].threads[0], 4 * (int)k);
        assert_true(p->nodes[k].memory > 0);
    }
    assert_nodes_consistent(p);
    assert_int_equal(p->warnings.n, 0);
    fmd_numa_plan_destroy(p);
    fmd_numa_topology_destroy(t);
}

static void test_plan_bindings_distinct_and_close(void **state)
{
    (void)state;
    fmd_numa_topology *t = load(TWO_BY_TWO, NULL);
    fmd_numa_plan *p = plan(t, 0);
    char used[32] = {0};
    for (int th = 0; th < p->n_threads; th++) {
        if (th > 0)
            assert_true(p->threads[th - 1].node <= p->threads[th].node);
        for (size_t i = 0; i < p->threads[th].n_pus; i++) {
            unsigned pu = p->threads[th].pus[i];
            assert_true(pu < 32);
            assert_int_equal(used[pu], 0);
            used[pu] = 1;
        }
    }
    fmd_numa_plan_destroy(p);
    fmd_numa_topology_destroy(t);
}

static void test_plan_single_node(void **state)
{
    (void)state;
    fmd_numa_topology *t = load("pack:1 core:2 pu:2", NULL);
    fmd_numa_counts c;
    fmd_numa_counts_get(t, &c);
    assert_int_equal(c.nodes, 1);
    assert_int_equal(c.cores, 2);
    assert_int_equal(c.pus, 4);
    fmd_numa_plan *p = plan(t, 0);
    assert_int_equal(p->n_threads, 2);
    assert_int_equal(p->n_nodes, 1);
    assert_pus(&p->threads[0], 2, 0);
    assert_pus(&p->threads[1], 2, 2);
    assert_int_equal(p->threads[1].node, 0);
    assert_int_equal(p->nodes[0].n_threads, 2);
    assert_nodes_consistent(p);
    fmd_numa_plan_destroy(p);
    fmd_numa_topology_destroy(t);
}

static void test_plan_four_nodes_without_smt(void **state)
{
    (void)state;
    fmd_numa_topology *t = load("pack:1 numa:4 core:4 pu:1", NULL);
    fmd_numa_plan *p = plan(t, 0);
    assert_int_equal(p->n_threads, 16);
    assert_int_equal(p->n_nodes, 4);
    for (int th = 0; th < 16; th++) {
        assert_int_equal(p->threads[th].node, th / 4);
        assert_pus(&p->threads[th], 1, (unsigned)th);
    }
    assert_nodes_consistent(p);
    fmd_numa_plan_destroy(p);
    fmd_numa_topology_destroy(t);
}

static void test_plan_fewer_threads_fill_node_zero_first(void **state)
{
    (void)state;
    fmd_numa_topology *t = load(TWO_BY_TWO, NULL);
    fmd_numa_plan *p = plan(t, 6);
    assert_int_equal(p->n_threads, 6);
    assert_int_equal(p->n_nodes, 4); /* every node with cores is listed, used or not */
    assert_int_equal(p->nodes[0].n_threads, 4);
    assert_int_equal(p->nodes[1].n_threads, 2);
    assert_int_equal(p->nodes[2].n_threads, 0);
    assert_int_equal(p->nodes[3].n_threads, 0);
    assert_pus(&p->threads[5], 2, 10);
    assert_nodes_consistent(p);
    fmd_numa_plan_destroy(p);
    fmd_numa_topology_destroy(t);
}

static void test_plan_more_threads_than_cores_use_pus(void **state)
{
    (void)state;
    fmd_numa_topology *t = load(TWO_BY_TWO, NULL);
    fmd_numa_plan *p = plan(t, 20);
    char used[32] = {0};
    assert_int_equal(p->n_threads, 20);
    for (int th = 0; th < 20; th++) {
        unsigned want = th < 16 ? 2u * (unsigned)th : 2u * (unsigned)(th - 16) + 1;
        assert_int_equal(p->threads[th].core, th % 16);
        assert_pus(&p->threads[th], 1, want);
        assert_int_equal(used[want], 0);
        used[want] = 1;
    }
    assert_int_equal(p->nodes[0].n_threads, 8); /* threads 0-3 and 16-19 */
    assert_int_equal(p->nodes[0].threads[4], 16);
    assert_int_equal(p->nodes[1].n_threads, 4);
    assert_int_equal(p->warnings.n, 0);
    assert_nodes_consistent(p);

    /* The byte split follows the thread counts: 8:4:4:4. */
    size_t sizes[100], first[5], bytes[4];
    for (size_t i = 0; i < 100; i++)
        sizes[i] = 100;
    assert_int_equal(fmd_numa_pages_split(p, sizes, 100, first, bytes), FMD_OK);
    assert_int_equal(bytes[0], 4000);
    assert_int_equal(bytes[3], 2000);
    assert_int_equal(first[4], 100);
    fmd_numa_plan_destroy(p);
    fmd_numa_topology_destroy(t);
}

static void test_plan_more_threads_than_pus_wrap(void **state)
{
    (void)state;
    fmd_numa_topology *t = load(TWO_BY_TWO, NULL);
    fmd_numa_plan *p = plan(t, 40);
    assert_int_equal(p->n_threads, 40);
    assert_pus(&p->threads[32], 1, 0); /* third round: PU 0 again */
    assert_pus(&p->threads[39], 1, 14);
    assert_int_equal(p->warnings.n, 1);
    assert_int_equal(p->warnings.items[0].code, FMD_NUMA_W_OVERSUBSCRIBED);
    assert_int_equal(p->warnings.items[0].value, 40);
    assert_nodes_consistent(p);
    fmd_numa_plan_destroy(p);
    fmd_numa_topology_destroy(t);
}

static void test_plan_rejects_bad_counts(void **state)
{
    (void)state;
    fmd_numa_topology *t = load("pack:1 core:2 pu:2", NULL);
    fmd_numa_plan_opts o = {0};
    fmd_numa_plan *p = (fmd_numa_plan *)&o; /* must be reset to NULL */
    o.threads = -1;
    assert_int_equal(fmd_numa_plan_create(&p, t, &o), FMD_E_USAGE);
    assert_null(p);
    o.threads = FMD_NUMA_MAX_THREADS + 1;
    assert_int_equal(fmd_numa_plan_create(&p, t, &o), FMD_E_USAGE);
    assert_int_equal(fmd_numa_plan_create(NULL, t, &o), FMD_E_USAGE);
    o.threads = 1;
    assert_int_equal(fmd_numa_plan_create(&p, t, &o), FMD_OK);
    assert_int_equal(p->n_threads, 1);
    fmd_numa_plan_destroy(p);
    fmd_numa_topology_destroy(t);
}

static void test_plan_allowed_list_restricts(void **state)
{
    (void)state;
    /* Like a cgroup or taskset: all of node 0, one core of node 1. */
    fmd_numa_topology *t = load(TWO_BY_TWO, "0-7,8-9");
    fmd_numa_counts c;
    fmd_numa_counts_get(t, &c);
    assert_int_equal(c.cores, 5);
    assert_int_equal(c.pus, 10);
    assert_int_equal(c.nodes, 2);
    assert_int_equal(c.packages, 1);
    assert_int_equal(c.machine_pus, 32);
    fmd_numa_plan *p = plan(t, 0);
    assert_int_equal(p->n_threads, 5);
    assert_int_equal(p->n_nodes, 2);
    assert_int_equal(p->nodes[0].n_threads, 4);
    assert_int_equal(p->nodes[1].n_threads, 1);
    assert_int_equal(p->nodes[1].os_index, 1);
    assert_pus(&p->threads[4], 2, 8);
    fmd_numa_plan_destroy(p);
    fmd_numa_topology_destroy(t);

    /* A core partly allowed keeps only its allowed PU. */
    t = load(TWO_BY_TWO, "0-2");
    p = plan(t, 0);
    assert_int_equal(p->n_threads, 2);
    assert_pus(&p->threads[0], 2, 0);
    assert_pus(&p->threads[1], 1, 2);
    fmd_numa_plan_destroy(p);
    fmd_numa_topology_destroy(t);
}

static void test_plan_bad_sources(void **state)
{
    (void)state;
    fmd_numa_topology *t = (fmd_numa_topology *)state;
    fmd_numa_source syn = {FMD_NUMA_SOURCE_SYNTHETIC, "bogus:3", false, NULL};
    fmd_numa_source xml = {FMD_NUMA_SOURCE_XML, "/nonexistent/fastmd-topology.xml", false, NULL};
    fmd_numa_source disjoint = {FMD_NUMA_SOURCE_SYNTHETIC, "pack:1 core:2 pu:2", false, "40-50"};
    fmd_numa_source garbage = {FMD_NUMA_SOURCE_SYNTHETIC, "pack:1 core:2 pu:2", false, "x-y"};
    fmd_numa_source no_spec = {FMD_NUMA_SOURCE_SYNTHETIC, NULL, false, NULL};
    int err = 0;
    assert_int_equal(fmd_numa_topology_create(&t, &syn, &err), FMD_E_USAGE);
    assert_null(t);
    assert_int_equal(fmd_numa_topology_create(&t, &xml, &err), FMD_E_NOINPUT);
    assert_true(err != 0);
    assert_null(t);
    assert_int_equal(fmd_numa_topology_create(&t, &disjoint, NULL), FMD_E_USAGE);
    assert_int_equal(fmd_numa_topology_create(&t, &garbage, NULL), FMD_E_USAGE);
    assert_int_equal(fmd_numa_topology_create(&t, &no_spec, NULL), FMD_E_USAGE);
    assert_int_equal(fmd_numa_topology_create(NULL, &syn, NULL), FMD_E_USAGE);
}

static void test_plan_xml_same_as_synthetic(void **state)
{
    (void)state;
    char path[] = "/tmp/fmd-numa-test-XXXXXX";
    int fd = mkstemp(path);
    hwloc_topology_t h;
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(hwloc_topology_init(&h), 0);
    assert_int_equal(hwloc_topology_set_synthetic(h, TWO_BY_TWO), 0);
    assert_int_equal(hwloc_topology_load(h), 0);
    assert_int_equal(hwloc_topology_export_xml(h, path, 0), 0);
    hwloc_topology_destroy(h);

    fmd_numa_source src = {FMD_NUMA_SOURCE_XML, path, false, NULL};
    fmd_numa_topology *t = NULL;
    assert_int_equal(fmd_numa_topology_create(&t, &src, NULL), FMD_OK);
    unlink(path);
    fmd_numa_plan *p = plan(t, 0);
    assert_int_equal(p->n_threads, 16);
    assert_int_equal(p->n_nodes, 4);
    assert_int_equal(p->binding, FMD_NUMA_BINDING_OFF_FOREIGN);
    assert_int_equal(p->threads[13].node, 3);
    assert_pus(&p->threads[13], 2, 26);
    fmd_numa_plan_destroy(p);
    fmd_numa_topology_destroy(t);
}

static void test_plan_auto_threads(void **state)
{
    (void)state;
    fmd_numa_topology *t = load(TWO_BY_TWO, NULL);
    assert_int_equal(fmd_numa_threads_auto(t, 0.0), 16);
    assert_int_equal(fmd_numa_threads_auto(t, 3.4), 13);
    assert_int_equal(fmd_numa_threads_auto(t, 3.5), 12);
    assert_int_equal(fmd_numa_threads_auto(t, 15.6), 1);
    assert_int_equal(fmd_numa_threads_auto(t, 100.0), 1);
    assert_int_equal(fmd_numa_threads_auto(t, -2.0), 16);
    assert_int_equal(fmd_numa_threads_auto(t, NAN), 16);
    fmd_numa_topology_destroy(t);
    t = load("pack:1 core:2 pu:2", NULL);
    assert_int_equal(fmd_numa_threads_auto(t, 0.4), 2); /* cores, not PUs */
    assert_int_equal(fmd_numa_threads_auto(t, 1.6), 1);
    fmd_numa_topology_destroy(t);
}

static void test_plan_user_binding_binds_nothing(void **state)
{
    (void)state;
    assert_false(fmd_numa_binding_user(NULL, NULL));
    assert_false(fmd_numa_binding_user("", ""));
    assert_true(fmd_numa_binding_user("close", NULL));
    assert_true(fmd_numa_binding_user("false", NULL));
    assert_true(fmd_numa_binding_user(NULL, "cores"));

    fmd_numa_topology *t = load(TWO_BY_TWO, NULL);
    fmd_numa_plan_opts o = {0};
    fmd_numa_plan *p = NULL;
    o.user_binding = true;
    assert_int_equal(fmd_numa_plan_create(&p, t, &o), FMD_OK);
    assert_int_equal(p->binding, FMD_NUMA_BINDING_OFF_USER);
    assert_int_equal(p->n_threads, 16); /* the count is still ours */
    for (int th = 0; th < p->n_threads; th++)
        fmd_numa_thread_hook(th, p->n_threads, p);
    for (int th = 0; th < p->n_threads; th++) {
        assert_int_equal(p->reports[th].bind, FMD_NUMA_BIND_OFF);
        assert_int_equal(p->reports[th].team_size, 16);
        assert_int_equal(p->reports[th].cpu, -1); /* record_affinity off */
    }
    fmd_numa_thread_hook(16, 17, p); /* no slot: ignored */
    assert_int_equal(fmd_numa_thread_bind(p, 16), FMD_E_USAGE);
    assert_int_equal(fmd_numa_thread_bind(p, -1), FMD_E_USAGE);
    fmd_numa_plan_destroy(p);
    fmd_numa_topology_destroy(t);
}

static void test_plan_report_slots_own_cache_lines(void **state)
{
    (void)state;
    fmd_numa_topology *t = load(TWO_BY_TWO, NULL);
    fmd_numa_plan *p = plan(t, 3);
    assert_int_equal(sizeof(fmd_numa_report), 64);
    assert_int_equal((uintptr_t)p->reports % 64, 0);
    for (int th = 0; th < 3; th++) {
        assert_int_equal(p->reports[th].bind, FMD_NUMA_BIND_NOT_RUN);
        assert_int_equal(p->reports[th].cpu, -1);
    }
    fmd_numa_plan_destroy(p);
    fmd_numa_topology_destroy(t);
}

static void test_plan_null_topology_is_flat(void **state)
{
    (void)state;
    fmd_numa_plan *p = NULL;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    assert_int_equal(fmd_numa_plan_create(&p, NULL, NULL), FMD_OK);
    assert_int_equal(p->binding, FMD_NUMA_BINDING_OFF_NO_HWLOC);
    assert_int_equal(p->n_threads, online < 1 ? 1 : online);
    assert_int_equal(p->n_nodes, 1);
    assert_int_equal(p->threads[0].n_pus, 0);
    fmd_numa_thread_hook(0, 1, p);
    assert_int_equal(p->reports[0].bind, FMD_NUMA_BIND_OFF);
    assert_int_equal(fmd_numa_node_current(p), 0);
    fmd_numa_plan_destroy(p);
}

static void test_plan_format_topology(void **state)
{
    (void)state;
    fmd_arena *a = NULL;
    fmd_buf b;
    assert_int_equal(fmd_arena_create(&a, 0), FMD_OK);
    fmd_buf_reset(&b, a);
    fmd_numa_topology *t = load(TWO_BY_TWO, NULL);
    fmd_numa_plan *p = plan(t, 0);
    assert_int_equal(fmd_numa_topology_format(t, p, &b), FMD_OK);
    const char *s = text_of(&b);
    assert_non_null(strstr(s, "topology: 2 packages, 4 NUMA nodes, 16 cores, 32 PUs (not this "
                              "machine)\n"));
    assert_non_null(strstr(s, "allowed PUs: 0-31 (32 of 32)\n"));
    assert_non_null(strstr(s, "package 1: PUs 16-31\n"));
    assert_non_null(strstr(s, "NUMA node 2 (P#2, "));
    assert_non_null(strstr(s, "core 5 (package 0, node 1): PUs 10-11\n"));
    assert_non_null(strstr(s, "plan: 16 threads, not bound: the topology describes another "
                              "machine\n"));
    assert_non_null(strstr(s, "  node 3: 4 cores, 4 threads (12-15)\n"));
    assert_non_null(strstr(s, "  thread 15: core 15, node 3, PUs 30-31\n"));

    fmd_buf_reset(&b, a);
    fmd_numa_thread_hook(0, 16, p);
    assert_int_equal(fmd_numa_affinity_format(p, &b), FMD_OK);
    s = text_of(&b);
    assert_non_null(strstr(s, "  thread 0: core 0 (node 0, PUs 0-1): not bound, PU not "
                              "recorded\n"));
    assert_non_null(strstr(s, "  thread 1: core 1 (node 0, PUs 2-3): did not run\n"));

    fmd_buf_reset(&b, a);
    assert_int_equal(fmd_numa_warnings_format(t, p, &b), FMD_OK);
    assert_int_equal(b.len, 0);
    fmd_numa_plan_destroy(p);
    fmd_numa_topology_destroy(t);
    fmd_arena_destroy(a);
}

static void test_plan_foreign_memory_binding_is_a_no_op(void **state)
{
    (void)state;
    fmd_numa_topology *t = load(TWO_BY_TWO, NULL);
    fmd_numa_plan *p = plan(t, 0);
    fmd_numa_warning w = {FMD_NUMA_W_OVERSUBSCRIBED, 1, 1};
    char buf[64];
    assert_int_equal(fmd_numa_memory_bind(p, buf, sizeof buf, 1, false, &w), FMD_OK);
    assert_int_equal(w.code, FMD_NUMA_W_NONE);
    assert_int_equal(fmd_numa_memory_bind(p, buf, sizeof buf, 4, false, &w), FMD_E_USAGE);
    assert_int_equal(fmd_numa_memory_bind(p, buf, sizeof buf, -1, false, NULL), FMD_E_USAGE);
    fmd_numa_plan_destroy(p);
    fmd_numa_topology_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_counts_of_synthetic),
        cmocka_unit_test(test_plan_default_is_physical_cores),
        cmocka_unit_test(test_plan_bindings_distinct_and_close),
        cmocka_unit_test(test_plan_single_node),
        cmocka_unit_test(test_plan_four_nodes_without_smt),
        cmocka_unit_test(test_plan_fewer_threads_fill_node_zero_first),
        cmocka_unit_test(test_plan_more_threads_than_cores_use_pus),
        cmocka_unit_test(test_plan_more_threads_than_pus_wrap),
        cmocka_unit_test(test_plan_rejects_bad_counts),
        cmocka_unit_test(test_plan_allowed_list_restricts),
        cmocka_unit_test(test_plan_bad_sources),
        cmocka_unit_test(test_plan_xml_same_as_synthetic),
        cmocka_unit_test(test_plan_auto_threads),
        cmocka_unit_test(test_plan_user_binding_binds_nothing),
        cmocka_unit_test(test_plan_report_slots_own_cache_lines),
        cmocka_unit_test(test_plan_null_topology_is_flat),
        cmocka_unit_test(test_plan_format_topology),
        cmocka_unit_test(test_plan_foreign_memory_binding_is_a_no_op),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
