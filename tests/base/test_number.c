/* SPDX-License-Identifier: MIT */
/* Unit tests of base/'s number parsing (fmd_number.h): whole numbers in a range and byte sizes
 * with binary suffixes, and every way a flag's value can be malformed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "fmd_number.h"

static void test_uint_parse(void **state)
{
    (void)state;
    unsigned long long v = 7;
    assert_true(fmd_uint_parse("256", 1, 1024, &v));
    assert_int_equal(v, 256);
    assert_true(fmd_uint_parse("1", 1, 1, &v));
    assert_int_equal(v, 1);
    assert_true(fmd_uint_parse("18446744073709551615", 0, UINT64_MAX, &v));
    assert_true(v == UINT64_MAX);
    v = 7;
    assert_false(fmd_uint_parse("0", 1, 1024, &v));    /* below */
    assert_false(fmd_uint_parse("1025", 1, 1024, &v)); /* above */
    assert_false(fmd_uint_parse("", 1, 1024, &v));
    assert_false(fmd_uint_parse(NULL, 1, 1024, &v));
    assert_false(fmd_uint_parse("-1", 0, 1024, &v));
    assert_false(fmd_uint_parse("+1", 0, 1024, &v));
    assert_false(fmd_uint_parse(" 1", 0, 1024, &v));
    assert_false(fmd_uint_parse("1 ", 0, 1024, &v));
    assert_false(fmd_uint_parse("12x", 0, 1024, &v));
    assert_false(fmd_uint_parse("18446744073709551616", 0, UINT64_MAX, &v)); /* overflow */
    assert_int_equal(v, 7); /* untouched by every failure */
}

static void check_size(const char *s, size_t want)
{
    size_t v = 0;
    if (!fmd_size_parse(s, &v))
        fail_msg("'%s' did not parse", s);
    if (v != want)
        fail_msg("'%s' gave %zu, want %zu", s, v, want);
}

static void test_size_parse(void **state)
{
    (void)state;
    check_size("0", 0);
    check_size("65536", 65536);
    check_size("64K", (size_t)64 << 10);
    check_size("64k", (size_t)64 << 10);
    check_size("16M", (size_t)16 << 20);
    check_size("16MiB", (size_t)16 << 20);
    check_size("16MB", (size_t)16 << 20);
    check_size("1G", (size_t)1 << 30);
    check_size("1g", (size_t)1 << 30);
    check_size("100B", 100);
    size_t v = 5;
    const char *bad[] = {"", "-1", "+1", " 1", "1T", "1KX", "1Mi B", "M", "1.5M", "K1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (fmd_size_parse(bad[i], &v))
            fail_msg("'%s' parsed as %zu", bad[i], v);
    assert_false(fmd_size_parse(NULL, &v));
    char big[64]; /* one more than fits after the shift */
    snprintf(big, sizeof big, "%zuG", (SIZE_MAX >> 30) + 1);
    assert_false(fmd_size_parse(big, &v));
    snprintf(big, sizeof big, "%zuG", SIZE_MAX >> 30);
    assert_true(fmd_size_parse(big, &v));
    assert_true(v == (SIZE_MAX >> 30) << 30);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uint_parse),
        cmocka_unit_test(test_size_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
