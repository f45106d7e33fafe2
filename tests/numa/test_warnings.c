/* SPDX-License-Identifier: MIT */
/* numa/'s warnings as the user reads them (fmd_numa_warnings_format): a topology without cores
 * and a plan with more threads than PUs raise theirs for real; every other kind is put into a
 * plan's list by hand and must read as its own sentence, with its errno and value; threads whose
 * binding was refused make one line; warnings past the list's room are counted. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmd_numa.h"

static fmd_numa_topology *load(const char *desc)
{
    fmd_numa_source src = {FMD_NUMA_SOURCE_SYNTHETIC, desc, false, NULL};
    fmd_numa_topology *t = NULL;
    assert_int_equal(fmd_numa_topology_create(&t, &src, NULL), FMD_OK);
    return t;
}

static fmd_numa_plan *plan(const fmd_numa_topology *t, int threads)
{
    fmd_numa_plan_opts o = {0};
    o.threads = threads;
    fmd_numa_plan *p = NULL;
    assert_int_equal(fmd_numa_plan_create(&p, t, &o), FMD_OK);
    return p;
}

/* The formatted warnings, NUL-terminated, in @p a. */
static const char *format(fmd_arena *a, const fmd_numa_topology *t, const fmd_numa_plan *p)
{
    fmd_buf b;
    fmd_buf_reset(&b, a);
    assert_int_equal(fmd_numa_warnings_format(t, p, &b), FMD_OK);
    assert_int_equal(fmd_buf_putc(&b, '\0'), FMD_OK);
    return b.ptr;
}

static void test_numa_warnings_raised(void **state)
{
    (void)state;
    fmd_arena *a = NULL;
    assert_int_equal(fmd_arena_create(&a, 0), FMD_OK);
    fmd_numa_topology *t = load("pack:1 core:2 pu:1");
    fmd_numa_plan *p = plan(t, 5);
    const char *s = format(a, t, p);
    assert_non_null(strstr(s, "5"));
    assert_non_null(strstr(s, "numa: warning: "));
    assert_int_equal(p->warnings.n, 1);
    assert_int_equal(p->warnings.items[0].code, FMD_NUMA_W_OVERSUBSCRIBED);
    fmd_numa_plan_destroy(p);
    fmd_numa_topology_destroy(t);
    assert_int_equal(fmd_numa_warnings_format(NULL, NULL, NULL), FMD_E_USAGE);
    assert_string_equal(format(a, NULL, NULL), "");
    fmd_arena_destroy(a);
}

static void test_numa_warnings_every_kind(void **state)
{
    (void)state;
    fmd_arena *a = NULL;
    assert_int_equal(fmd_arena_create(&a, 0), FMD_OK);
    fmd_numa_topology *t = load("pack:1 core:2 pu:1");
    fmd_numa_plan *p = plan(t, 2);
    static const struct {
        fmd_numa_warning w;
        const char *want;
    } kinds[] = {
        {{FMD_NUMA_W_CPUBIND_QUERY, EPERM, 0}, "could not read this process's CPU binding"},
        {{FMD_NUMA_W_CPUBIND_DISJOINT, 0, 0}, "shares no PU with the topology"},
        {{FMD_NUMA_W_NO_CORES, 0, 0}, "reports no cores"},
        {{FMD_NUMA_W_UNBIND_REFUSED, EINVAL, 0}, "could not restore a thread's CPU binding"},
        {{FMD_NUMA_W_MEMBIND_REFUSED, ENOSYS, 3}, "could not bind memory to NUMA node 3"},
        {{FMD_NUMA_W_NONE, 0, 0}, "none"},
    };
    size_t n = sizeof kinds / sizeof kinds[0];
    for (size_t i = 0; i < n; i++)
        p->warnings.items[i] = kinds[i].w;
    p->warnings.n = n;
    p->warnings.dropped = 2;
    const char *s = format(a, NULL, p);
    for (size_t i = 0; i < n; i++)
        if (strstr(s, kinds[i].want) == NULL)
            fail_msg("warning %zu: no \"%s\" in\n%s", i, kinds[i].want, s);
    /* The errno of each, as text, and the count of those not shown. */
    assert_non_null(strstr(s, strerror(EPERM)));
    assert_non_null(strstr(s, strerror(ENOSYS)));
    assert_non_null(strstr(s, "2 more warnings not shown"));
    p->warnings.dropped = 1;
    assert_non_null(strstr(format(a, NULL, p), "1 more warning not shown"));
    /* Two threads refused: one line for both, with the first errno. */
    p->warnings.n = 0;
    p->warnings.dropped = 0;
    for (int i = 0; i < p->n_threads; i++) {
        p->reports[i].bind = FMD_NUMA_BIND_REFUSED;
        p->reports[i].err = i == 0 ? EPERM : EINVAL;
    }
    s = format(a, NULL, p);
    assert_non_null(strstr(s, "numa: warning: "));
    assert_non_null(strstr(s, "2"));
    assert_non_null(strstr(s, strerror(EPERM)));
    assert_null(strstr(s, strerror(EINVAL)));
    assert_null(strchr(strchr(s, '\n') + 1, '\n')); /* one line */
    fmd_numa_plan_destroy(p);
    fmd_numa_topology_destroy(t);
    fmd_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numa_warnings_raised),
        cmocka_unit_test(test_numa_warnings_every_kind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
