/* SPDX-License-Identifier: MIT */
/* Unit tests of the text the engine formats for its callers: fastmd bench's report
 * (fmd_engine_bench.h: the thread-count list, the scaling table with its Amdahl fit, the JSON
 * object, on figures made up here) and the per-page messages (fmd_engine_report.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fmd_engine_bench.h"
#include "fmd_engine_report.h"

static void test_bench_counts_parse(void **state)
{
    (void)state;
    int v[8];
    assert_int_equal(fmd_engine_bench_counts_parse("1,2,4", v, 8), 3);
    assert_int_equal(v[2], 4);
    assert_int_equal(fmd_engine_bench_counts_parse("2-5,8", v, 8), 5);
    assert_int_equal(v[0], 2);
    assert_int_equal(v[3], 5);
    assert_int_equal(v[4], 8);
    assert_int_equal(fmd_engine_bench_counts_parse("1-9", v, 8), -1); /* more than fit */
    assert_int_equal(fmd_engine_bench_counts_parse("0", v, 8), -1);
    assert_int_equal(fmd_engine_bench_counts_parse("4-2", v, 8), -1);
    assert_int_equal(fmd_engine_bench_counts_parse("1;2", v, 8), -1);
    assert_int_equal(fmd_engine_bench_counts_parse("5000", v, 8), -1);
}

/* One thread in 4 s, two in 2.5 s: speedup 1.6, Karp-Flatt 0.25, and that is also the fit. */
static const fmd_engine_bench_row rows[] = {
    {1, 4.0, 3.9, 4.2, 0.98, 0.001, 0.002, 0.003, 0},
    {2, 2.5, 2.4, 2.6, 0.80, 0.001, 0.002, 0.004, 0},
};

static void test_bench_table_format(void **state)
{
    (void)state;
    fmd_arena *a = NULL;
    assert_int_equal(fmd_arena_create(&a, 0), FMD_OK);
    fmd_buf out;
    fmd_buf_reset(&out, a);
    fmd_engine_bench_report r = {"tree", 100, 3, false, rows, 2, 5.0};
    assert_int_equal(fmd_engine_bench_table_format(&r, &out), FMD_OK);
    assert_int_equal(fmd_buf_putc(&out, '\0'), FMD_OK);
    const char *want =
        "\nthreads   median s           min-max s  speedup    eff karp-flatt    cpu    pages/s"
        "   p50 us   p95 us   p99 us\n"
        "      1     4.0000       3.9000-4.2000     1.00   100%          -    98%         25"
        "   1000.0   2000.0   3000.0\n"
        "      2     2.5000       2.4000-2.6000     1.60    80%     0.2500    80%         40"
        "   1000.0   2000.0   4000.0\n"
        "\nAmdahl fit: serial fraction f = 0.2500; predicted speedup 8: 2.9x, 16: 3.4x,"
        " 64: 3.8x, 256: 4.0x\n"
        "one thread without the parallel machinery: median 5.0000 s; 1-thread run / single = "
        "0.800\n";
    assert_string_equal(out.ptr, want);
    fmd_arena_destroy(a);
}

static void test_bench_json_format(void **state)
{
    (void)state;
    fmd_arena *a = NULL;
    assert_int_equal(fmd_arena_create(&a, 0), FMD_OK);
    fmd_buf out;
    fmd_buf_reset(&out, a);
    fmd_engine_bench_report r = {"kernel", 100, 3, false, rows + 1, 1, 0};
    assert_int_equal(fmd_engine_bench_json_format(&r, &out), FMD_OK);
    assert_int_equal(fmd_buf_putc(&out, '\0'), FMD_OK);
    /* No one-thread row: no speedup and nothing to fit. */
    const char *want =
        "{\"pages\":100,\"mode\":\"kernel\",\"repeat\":3,\"rows\":[{\"threads\":2,"
        "\"median\":2.500000,\"min\":2.400000,\"max\":2.600000,\"speedup\":0.0000,"
        "\"efficiency\":0.0000,\"karpFlatt\":0.00000,\"cpuUtilisation\":0.8000,"
        "\"pagesPerSecond\":40.0,\"p50\":0.001000000,\"p95\":0.002000000,\"p99\":0.004000000,"
        "\"ioFloor\":0.000000}],\"amdahlSerialFraction\":0.000000,\"amdahlFit\":0.000000,"
        "\"predicted\":{\"8\":8.000,\"16\":16.000,\"64\":64.000,\"256\":256.000},"
        "\"singleMedian\":0.000000}\n";
    assert_string_equal(out.ptr, want);
    fmd_arena_destroy(a);
}

static void test_page_message(void **state)
{
    (void)state;
    fmd_result r;
    memset(&r, 0, sizeof r);
    char *m = fmd_engine_page_message("src/a.md", FMD_OK, 0, &r, NULL);
    assert_non_null(m);
    assert_string_equal(m, ""); /* nothing to say */
    free(m);
    fmd_slice w[] = {{"odd byte", 8}};
    r.warnings = w;
    r.n_warnings = 1;
    r.status = FMD_E_FRONTMATTER;
    r.err_line = 3;
    r.err_column = 7;
    r.err_message = (fmd_slice){"bad key", 7};
    m = fmd_engine_page_message("src/a.md", FMD_OK, 0, &r, NULL);
    assert_non_null(m);
    char want[256];
    snprintf(want, sizeof want, "src/a.md: warning: odd byte\nsrc/a.md:3:7: error: %s: bad key\n",
             fmd_status_str(FMD_E_FRONTMATTER));
    assert_string_equal(m, want);
    free(m);
    /* A page that could not be read: io's status and errno, not the kernel's result. */
    memset(&r, 0, sizeof r);
    m = fmd_engine_page_message("src/b.md", FMD_E_NOINPUT, 2, &r, NULL);
    assert_non_null(m);
    snprintf(want, sizeof want, "src/b.md: error: %s: %s\n", fmd_status_str(FMD_E_NOINPUT),
             strerror(2));
    assert_string_equal(m, want);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bench_counts_parse),
        cmocka_unit_test(test_bench_table_format),
        cmocka_unit_test(test_bench_json_format),
        cmocka_unit_test(test_page_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
