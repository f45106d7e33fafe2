/* SPDX-License-Identifier: MIT */
/* Binding threads and memory, with hwloc's binding calls replaced by mocks (-Wl,--wrap): success,
 * refusal (EPERM: a warning, the run goes on), the process's own binding restricting the plan,
 * OMP_PROC_BIND / OMP_PLACES set (no call at all), and the hook inside an OpenMP region.
 * The synthetic topology is declared this_system so that plans bind; only the mocks see it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hwloc.h>
#include <omp.h>

#include "fmd_numa.h"

#define TWO_BY_TWO "pack:2 numa:2 core:4 pu:2"
#define MAX_TEAM 64

/*** Mocks ***/

int __wrap_hwloc_set_cpubind(hwloc_topology_t topo, hwloc_const_cpuset_t set, int flags);
int __wrap_hwloc_get_cpubind(hwloc_topology_t topo, hwloc_cpuset_t set, int flags);
int __wrap_hwloc_get_last_cpu_location(hwloc_topology_t topo, hwloc_cpuset_t set, int flags);
int __wrap_hwloc_set_area_membind(hwloc_topology_t topo, const void *addr, size_t len,
                                  hwloc_const_bitmap_t set, hwloc_membind_policy_t policy,
                                  int flags);

/* Set before a test, read by the mocks (from several threads: read-only while they run). */
static int bind_errno;          /* 0: set_cpubind succeeds; else it fails with this errno */
static const char *process_set; /* what get_cpubind answers; NULL: it fails with ENOSYS */
static int membind_errno;

/* Written by the mocks: per OpenMP thread, so the region needs no lock. */
static int bind_calls[MAX_TEAM];
static char bound_to[MAX_TEAM][64];
static int bind_flags[MAX_TEAM];
static _Thread_local int last_pu = -1;
static int membind_calls;
static char membind_set[64];
static int membind_policy, membind_flags;
static uintptr_t membind_addr;
static size_t membind_len;

static void reset_mocks(void)
{
    bind_errno = 0;
    process_set = "0-31";
    membind_errno = 0;
    memset(bind_calls, 0, sizeof bind_calls);
    memset(bound_to, 0, sizeof bound_to);
    memset(bind_flags, 0, sizeof bind_flags);
    last_pu = -1;
    membind_calls = 0;
}

int __wrap_hwloc_set_cpubind(hwloc_topology_t topo, hwloc_const_cpuset_t set, int flags)
{
    int me = omp_get_thread_num();
    (void)topo;
    if (me < MAX_TEAM) {
        bind_calls[me]++;
        bind_flags[me] = flags;
        hwloc_bitmap_list_snprintf(bound_to[me], sizeof bound_to[me], set);
    }
    if (bind_errno != 0) {
        errno = bind_errno;
        return -1;
    }
    last_pu = hwloc_bitmap_first(set);
    return 0;
}

int __wrap_hwloc_get_cpubind(hwloc_topology_t topo, hwloc_cpuset_t set, int flags)
{
    (void)topo;
    (void)flags;
    if (process_set == NULL) {
        errno = ENOSYS;
        return -1;
    }
    return hwloc_bitmap_list_sscanf(set, process_set);
}

int __wrap_hwloc_get_last_cpu_location(hwloc_topology_t topo, hwloc_cpuset_t set, int flags)
{
    (void)topo;
    (void)flags;
    if (last_pu < 0) {
        errno = ENOSYS;
        return -1;
    }
    hwloc_bitmap_only(set, (unsigned)last_pu);
    return 0;
}

int __wrap_hwloc_set_area_membind(hwloc_topology_t topo, const void *addr, size_t len,
                                  hwloc_const_bitmap_t set, hwloc_membind_policy_t policy,
                                  int flags)
{
    (void)topo;
    membind_calls++;
    membind_addr = (uintptr_t)addr;
    membind_len = len;
    membind_policy = (int)policy;
    membind_flags = flags;
    hwloc_bitmap_list_snprintf(membind_set, sizeof membind_set, set);
    if (membind_errno != 0) {
        errno = membind_errno;
        return -1;
    }
    return 0;
}

/*** Helpers ***/

static fmd_numa_topology *load_here(const char *desc)
{
    fmd_numa_source src = {FMD_NUMA_SOURCE_SYNTHETIC, desc, true, NULL};
    fmd_numa_topology *t = NULL;
    assert_int_equal(fmd_numa_topology_create(&t, &src, NULL), FMD_OK);
    return t;
}

static fmd_numa_plan *plan(const fmd_numa_topology *t, int threads, bool user_binding)
{
    fmd_numa_plan_opts o = {0};
    fmd_numa_plan *p = NULL;
    o.threads = threads;
    o.user_binding = user_binding;
    o.record_affinity = true;
    assert_int_equal(fmd_numa_plan_create(&p, t, &o), FMD_OK);
    return p;
}

static int setup(void **state)
{
    (void)state;
    reset_mocks();
    return 0;
}

/*** Tests ***/

static void test_bind_binds_each_thread_to_its_core(void **state)
{
    (void)state;
    fmd_numa_topology *t = load_here(TWO_BY_TWO);
    fmd_numa_plan *p = plan(t, 0, false);
    assert_int_equal(p->binding, FMD_NUMA_BINDING_ON);
    assert_int_equal(p->n_threads, 16);
    for (int th = 0; th < p->n_threads; th++) {
        char want[32];
        snprintf(want, sizeof want, "%d-%d", 2 * th, 2 * th + 1);
        bind_calls[0] = 0;
        fmd_numa_thread_hook(th, p->n_threads, p);
        assert_int_equal(bind_calls[0], 1);
        assert_string_equal(bound_to[0], want);
        assert_int_equal(bind_flags[0], HWLOC_CPUBIND_THREAD);
        assert_int_equal(p->reports[th].bind, FMD_NUMA_BIND_OK);
        assert_int_equal(p->reports[th].err, 0);
        assert_int_equal(p->reports[th].cpu, 2 * th);
        assert_int_equal(p->reports[th].cpu_node, th / 4);
        assert_int_equal(fmd_numa_node_current(p), th / 4);
    }
    fmd_numa_plan_destroy(p);
    fmd_numa_topology_destroy(t);
}

static void test_bind_refused_is_a_warning(void **state)
{
    (void)state;
    fmd_numa_topology *t = load_here(TWO_BY_TWO);
    fmd_numa_plan *p = plan(t, 0, false);
    fmd_arena *a = NULL;
    fmd_buf b;
    bind_errno = EPERM;
    for (int th = 0; th < p->n_threads; th++)
        assert_int_equal(fmd_numa_thread_bind(p, th), FMD_OK);
    for (int th = 0; th < p->n_threads; th++) {
        assert_int_equal(p->reports[th].bind, FMD_NUMA_BIND_REFUSED);
        assert_int_equal(p->reports[th].err, EPERM);
    }
    assert_int_equal(fmd_arena_create(&a, 0), FMD_OK);
    fmd_buf_reset(&b, a);
    assert_int_equal(fmd_numa_warnings_format(t, p, &b), FMD_OK);
    assert_int_equal(fmd_buf_putc(&b, '\0'), FMD_OK);
    assert_non_null(strstr(b.ptr, "numa: warning: could not bind 16 threads to their core ("));
    assert_non_null(strstr(b.ptr, "); they run where the OS places them\n"));
    size_t lines = 0;
    for (const char *c = b.ptr; *c != '\0'; c++)
        lines += *c == '\n';
    assert_int_equal(lines, 1); /* one line for all the threads */

    fmd_buf_reset(&b, a);
    assert_int_equal(fmd_numa_affinity_format(p, &b), FMD_OK);
    assert_int_equal(fmd_buf_putc(&b, '\0'), FMD_OK);
    assert_non_null(strstr(b.ptr, "  thread 3: core 3 (node 0, PUs 6-7): binding refused ("));
    fmd_arena_destroy(a);
    fmd_numa_plan_destroy(p);
    fmd_numa_topology_destroy(t);
}

static void test_bind_user_binding_makes_no_call(void **state)
{
    (void)state;
    fmd_numa_topology *t = load_here(TWO_BY_TWO);
    fmd_numa_plan *p = plan(t, 4, true);
    fmd_numa_warning w;
    char buf[8192];
    assert_int_equal(p->binding, FMD_NUMA_BINDING_OFF_USER);
#pragma omp parallel num_threads(4) default(none) shared(p)
    fmd_numa_thread_hook(omp_get_thread_num(), omp_get_num_threads(), p);
    for (int th = 0; th < MAX_TEAM; th++)
        assert_int_equal(bind_calls[th], 0);
    for (int th = 0; th < 4; th++)
        assert_int_equal(p->reports[th].bind, FMD_NUMA_BIND_OFF);
    assert_int_equal(fmd_numa_thread_unbind(p, &w), FMD_OK);
    assert_int_equal(bind_calls[0], 0);
    assert_int_equal(fmd_numa_memory_bind(p, buf, sizeof buf, 1, false, &w), FMD_OK);
    assert_int_equal(membind_calls, 0);
    fmd_numa_plan_destroy(p);
    fmd_numa_topology_destroy(t);
}

static void test_bind_hook_in_parallel_region(void **state)
{
    (void)state;
    fmd_numa_topology *t = load_here(TWO_BY_TWO);
    fmd_numa_plan *p = plan(t, 6, false);
    /* Never assert inside the region: record per thread, check after. */
#pragma omp parallel num_threads(6) default(none) shared(p)
    fmd_numa_thread_hook(omp_get_thread_num(), omp_get_num_threads(), p);
    for (int th = 0; th < 6; th++) {
        const fmd_numa_report *r = &p->reports[th];
        char want[32];
        snprintf(want, sizeof want, "%d-%d", 2 * th, 2 * th + 1);
        assert_int_equal(r->team_size, 6);
        assert_int_equal(r->bind, FMD_NUMA_BIND_OK);
        assert_int_equal(bind_calls[th], 1);
        assert_string_equal(bound_to[th], want);
        assert_int_equal(r->cpu, 2 * th);
        assert_int_equal(r->cpu_node, th < 4 ? 0 : 1);
    }
    fmd_numa_reports_clear(p);
    assert_int_equal(p->reports[5].bind, FMD_NUMA_BIND_NOT_RUN);
    fmd_numa_plan_destroy(p);
    fmd_numa_topology_destroy(t);
}

static void test_bind_process_binding_restricts_plan(void **state)
{
    (void)state;
    fmd_numa_topology *t;
    fmd_numa_counts c;
    process_set = "0-5"; /* as after `taskset -c 0-5` */
    t = load_here(TWO_BY_TWO);
    fmd_numa_counts_get(t, &c);
    assert_int_equal(c.cores, 3);
    assert_int_equal(c.pus, 6);
    assert_int_equal(c.nodes, 1);
    assert_int_equal(c.machine_pus, 32);
    fmd_numa_plan *p = plan(t, 0, false);
    assert_int_equal(p->n_threads, 3);
    assert_int_equal(p->n_nodes, 1);
    assert_int_equal(fmd_numa_threads_auto(t, 1.0), 2);
    /* Unbinding gives the thread every allowed PU, not the whole machine. */
    fmd_numa_warning w;
    assert_int_equal(fmd_numa_thread_unbind(p, &w), FMD_OK);
    assert_int_equal(w.code, FMD_NUMA_W_NONE);
    assert_string_equal(bound_to[0], "0-5");
    fmd_numa_plan_destroy(p);
    fmd_numa_topology_destroy(t);
}

static void test_bind_unreadable_process_binding_warns(void **state)
{
    (void)state;
    fmd_numa_topology *t;
    process_set = NULL;
    t = load_here(TWO_BY_TWO);
    const fmd_numa_warnings *w = fmd_numa_warnings_get(t);
    assert_int_equal(w->n, 1);
    assert_int_equal(w->items[0].code, FMD_NUMA_W_CPUBIND_QUERY);
    assert_int_equal(w->items[0].err, ENOSYS);
    fmd_numa_plan *p = plan(t, 0, false);
    assert_int_equal(p->n_threads, 16);
    fmd_numa_plan_destroy(p);
    fmd_numa_topology_destroy(t);

    process_set = "100-101"; /* a binding that shares nothing with the topology is ignored */
    t = load_here(TWO_BY_TWO);
    assert_int_equal(fmd_numa_warnings_get(t)->items[0].code, FMD_NUMA_W_CPUBIND_DISJOINT);
    fmd_numa_topology_destroy(t);
}

static void test_bind_unbind_refused_warns(void **state)
{
    (void)state;
    fmd_numa_topology *t = load_here("pack:1 core:2 pu:2");
    fmd_numa_plan *p = plan(t, 0, false);
    fmd_numa_warning w;
    bind_errno = EINVAL;
    assert_int_equal(fmd_numa_thread_unbind(p, &w), FMD_OK);
    assert_int_equal(w.code, FMD_NUMA_W_UNBIND_REFUSED);
    assert_int_equal(w.err, EINVAL);
    fmd_numa_plan_destroy(p);
    fmd_numa_topology_destroy(t);
}

static void test_bind_memory_to_node(void **state)
{
    (void)state;
    fmd_numa_topology *t = load_here(TWO_BY_TWO);
    fmd_numa_plan *p = plan(t, 0, false);
    fmd_numa_warning w;
    static char buf[3 * 65536];
    char *mid = buf + 65536 + 100;
    assert_int_equal(fmd_numa_memory_bind(p, mid, 5000, 2, true, &w), FMD_OK);
    assert_int_equal(w.code, FMD_NUMA_W_NONE);
    assert_int_equal(membind_calls, 1);
    assert_string_equal(membind_set, "2");
    assert_int_equal(membind_policy, HWLOC_MEMBIND_BIND);
    assert_int_equal(membind_flags, HWLOC_MEMBIND_BYNODESET | HWLOC_MEMBIND_MIGRATE);
    /* Widened to whole pages around [mid, mid + 5000). */
    assert_true(membind_addr <= (uintptr_t)mid);
    assert_true(membind_addr + membind_len >= (uintptr_t)mid + 5000);
    assert_int_equal(membind_addr % 4096, 0);
    assert_int_equal(membind_len % 4096, 0);

    membind_errno = EPERM;
    assert_int_equal(fmd_numa_memory_bind(p, mid, 5000, 3, false, &w), FMD_OK);
    assert_int_equal(w.code, FMD_NUMA_W_MEMBIND_REFUSED);
    assert_int_equal(w.err, EPERM);
    assert_int_equal(w.value, 3);
    assert_int_equal(membind_flags, HWLOC_MEMBIND_BYNODESET);
    assert_int_equal(fmd_numa_memory_bind(p, mid, 0, 3, false, &w), FMD_OK);
    assert_int_equal(membind_calls, 2);
    fmd_numa_plan_destroy(p);
    fmd_numa_topology_destroy(t);

    /* One node: nothing to choose, no call. */
    t = load_here("pack:1 core:2 pu:2");
    p = plan(t, 0, false);
    assert_int_equal(fmd_numa_memory_bind(p, mid, 5000, 0, false, &w), FMD_OK);
    assert_int_equal(membind_calls, 2);
    fmd_numa_plan_destroy(p);
    fmd_numa_topology_destroy(t);
}

static void test_bind_foreign_topology_makes_no_call(void **state)
{
    (void)state;
    fmd_numa_source src = {FMD_NUMA_SOURCE_SYNTHETIC, TWO_BY_TWO, false, NULL};
    fmd_numa_topology *t = NULL;
    process_set = "0"; /* would restrict if it were asked: it must not be */
    assert_int_equal(fmd_numa_topology_create(&t, &src, NULL), FMD_OK);
    fmd_numa_plan *p = plan(t, 0, false);
    assert_int_equal(p->n_threads, 16);
    assert_int_equal(p->binding, FMD_NUMA_BINDING_OFF_FOREIGN);
    fmd_numa_thread_hook(0, 16, p);
    assert_int_equal(bind_calls[0], 0);
    assert_int_equal(p->reports[0].bind, FMD_NUMA_BIND_OFF);
    assert_int_equal(p->reports[0].cpu_node, -1); /* a PU of this machine means nothing there */
    fmd_numa_plan_destroy(p);
    fmd_numa_topology_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_bind_binds_each_thread_to_its_core, setup),
        cmocka_unit_test_setup(test_bind_refused_is_a_warning, setup),
        cmocka_unit_test_setup(test_bind_user_binding_makes_no_call, setup),
        cmocka_unit_test_setup(test_bind_hook_in_parallel_region, setup),
        cmocka_unit_test_setup(test_bind_process_binding_restricts_plan, setup),
        cmocka_unit_test_setup(test_bind_unreadable_process_binding_warns, setup),
        cmocka_unit_test_setup(test_bind_unbind_refused_warns, setup),
        cmocka_unit_test_setup(test_bind_memory_to_node, setup),
        cmocka_unit_test_setup(test_bind_foreign_topology_makes_no_call, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
