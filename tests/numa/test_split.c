/* SPDX-License-Identifier: MIT */
/* fmd_numa_bytes_split: pages split across nodes by bytes, proportional to the weights, every
 * page exactly once, in contiguous ranges. Pure: runs in the hwloc and the stub build. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "fmd_numa.h"

/* Checks what every split must satisfy, and that each part is within one largest page of its
 * proportional share. */
static void check_split(const size_t *sizes, size_t n, const unsigned *w, size_t parts,
                        const size_t *first, const size_t *bytes)
{
    size_t total = 0, max_page = 0, sum = 0;
    unsigned w_total = 0;
    for (size_t i = 0; i < n; i++) {
        total += sizes[i];
        if (sizes[i] > max_page)
            max_page = sizes[i];
    }
    for (size_t k = 0; k < parts; k++)
        w_total += w[k];
    assert_int_equal(first[0], 0);
    assert_int_equal(first[parts], n);
    for (size_t k = 0; k < parts; k++) {
        size_t b = 0;
        assert_true(first[k] <= first[k + 1]);
        for (size_t i = first[k]; i < first[k + 1]; i++)
            b += sizes[i];
        assert_int_equal(b, bytes[k]);
        sum += b;
        double share = (double)total * w[k] / w_total;
        double dev = (double)b > share ? (double)b - share : share - (double)b;
        assert_true(dev <= (double)max_page);
        if (w[k] == 0)
            assert_int_equal(first[k], first[k + 1]);
    }
    assert_int_equal(sum, total);
}

static void test_split_header_example(void **state)
{
    (void)state;
    const size_t sizes[] = {4, 4, 4, 4, 8, 8};
    const unsigned w[] = {1, 1};
    size_t first[3], bytes[2];
    assert_int_equal(fmd_numa_bytes_split(sizes, 6, w, 2, first, bytes), FMD_OK);
    assert_int_equal(first[0], 0);
    assert_int_equal(first[1], 4);
    assert_int_equal(first[2], 6);
    assert_int_equal(bytes[0], 16);
    assert_int_equal(bytes[1], 16);
}

static void test_split_proportional_to_threads(void **state)
{
    (void)state;
    /* Node 0 with 8 threads, three nodes with 4 (the 20-thread plan on pack:2 numa:2 core:4). */
    enum { N = 5000 };
    static size_t sizes[N];
    const unsigned w[] = {8, 4, 4, 4};
    size_t first[5], bytes[4];
    uint32_t x = 12345;
    for (size_t i = 0; i < N; i++) { /* a deterministic spread of 0 .. ~64 KiB */
        x = x * 1664525u + 1013904223u;
        sizes[i] = (x >> 8) % 65536 / (1 + (x & 7));
    }
    assert_int_equal(fmd_numa_bytes_split(sizes, N, w, 4, first, bytes), FMD_OK);
    check_split(sizes, N, w, 4, first, bytes);
}

static void test_split_uniform_pages_exact(void **state)
{
    (void)state;
    size_t sizes[100];
    const unsigned w[] = {8, 4, 4, 4};
    size_t first[5], bytes[4];
    for (size_t i = 0; i < 100; i++)
        sizes[i] = 100;
    assert_int_equal(fmd_numa_bytes_split(sizes, 100, w, 4, first, bytes), FMD_OK);
    assert_int_equal(bytes[0], 4000);
    assert_int_equal(bytes[1], 2000);
    assert_int_equal(bytes[2], 2000);
    assert_int_equal(bytes[3], 2000);
}

static void test_split_zero_weight_gets_nothing(void **state)
{
    (void)state;
    /* Empty pages too: a node without threads must not get any page. */
    const size_t sizes[] = {0, 10, 0, 10, 0, 10, 0};
    const unsigned w1[] = {0, 1, 0, 1, 0};
    const unsigned w2[] = {1, 0, 0};
    size_t first[6], bytes[5];
    assert_int_equal(fmd_numa_bytes_split(sizes, 7, w1, 5, first, bytes), FMD_OK);
    check_split(sizes, 7, w1, 5, first, bytes);
    assert_int_equal(bytes[1] + bytes[3], 30);
    assert_int_equal(fmd_numa_bytes_split(sizes, 7, w2, 3, first, bytes), FMD_OK);
    assert_int_equal(first[1], 7);
    assert_int_equal(first[2], 7);
    assert_int_equal(bytes[0], 30);
}

static void test_split_empty_pages_by_count(void **state)
{
    (void)state;
    const size_t sizes[9] = {0};
    const unsigned w[] = {1, 2};
    size_t first[3], bytes[2];
    assert_int_equal(fmd_numa_bytes_split(sizes, 9, w, 2, first, bytes), FMD_OK);
    assert_int_equal(first[1], 3);
    assert_int_equal(first[2], 9);
}

static void test_split_huge_page_nearest_boundary(void **state)
{
    (void)state;
    const size_t sizes[] = {1000, 1, 1, 1};
    const unsigned w[] = {1, 1};
    size_t first[3], bytes[2];
    assert_int_equal(fmd_numa_bytes_split(sizes, 4, w, 2, first, bytes), FMD_OK);
    assert_int_equal(first[1], 1); /* 1000 | 3 is nearer 501.5 than 0 | 1003 */
    check_split(sizes, 4, w, 2, first, bytes);
}

static void test_split_no_pages_and_one_part(void **state)
{
    (void)state;
    const size_t sizes[] = {5, 6, 7};
    const unsigned w3[] = {1, 1, 1};
    const unsigned w1[] = {3};
    size_t first[4], bytes[3];
    assert_int_equal(fmd_numa_bytes_split(NULL, 0, w3, 3, first, bytes), FMD_OK);
    for (size_t k = 0; k < 4; k++)
        assert_int_equal(first[k], 0);
    assert_int_equal(fmd_numa_bytes_split(sizes, 3, w1, 1, first, NULL), FMD_OK);
    assert_int_equal(first[0], 0);
    assert_int_equal(first[1], 3);
}

static void test_split_rejects_bad_arguments(void **state)
{
    (void)state;
    const size_t sizes[] = {1, 2};
    const unsigned zero[] = {0, 0};
    const unsigned w[] = {1, 1};
    size_t first[3];
    assert_int_equal(fmd_numa_bytes_split(sizes, 2, w, 0, first, NULL), FMD_E_USAGE);
    assert_int_equal(fmd_numa_bytes_split(sizes, 2, zero, 2, first, NULL), FMD_E_USAGE);
    assert_int_equal(fmd_numa_bytes_split(NULL, 2, w, 2, first, NULL), FMD_E_USAGE);
    assert_int_equal(fmd_numa_bytes_split(sizes, 2, NULL, 2, first, NULL), FMD_E_USAGE);
    assert_int_equal(fmd_numa_pages_split(NULL, sizes, 2, first, NULL), FMD_E_USAGE);
}

static void test_split_pages_by_plan_nodes(void **state)
{
    (void)state;
    /* A plan from no topology has one node: it takes every page, in either build. */
    fmd_numa_plan *p = NULL;
    const size_t sizes[] = {3, 1, 4, 1, 5};
    size_t first[2], bytes[1];
    assert_int_equal(fmd_numa_plan_create(&p, NULL, NULL), FMD_OK);
    assert_int_equal(p->n_nodes, 1);
    assert_int_equal(fmd_numa_pages_split(p, sizes, 5, first, bytes), FMD_OK);
    assert_int_equal(first[1], 5);
    assert_int_equal(bytes[0], 14);
    fmd_numa_plan_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_header_example),
        cmocka_unit_test(test_split_proportional_to_threads),
        cmocka_unit_test(test_split_uniform_pages_exact),
        cmocka_unit_test(test_split_zero_weight_gets_nothing),
        cmocka_unit_test(test_split_empty_pages_by_count),
        cmocka_unit_test(test_split_huge_page_nearest_boundary),
        cmocka_unit_test(test_split_no_pages_and_one_part),
        cmocka_unit_test(test_split_rejects_bad_arguments),
        cmocka_unit_test(test_split_pages_by_plan_nodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
