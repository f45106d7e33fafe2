/* SPDX-License-Identifier: MIT */
/* Unit test of the profiles' table (fmd_engine_profile.h): what low, medium and high set, as
 * docs/configuration.md states it, and an unknown name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fmd_engine_profile.h"

static void test_profile_find(void **state)
{
    (void)state;
    fmd_engine_profile p = {0};
    assert_true(fmd_engine_profile_find("low", &p));
    assert_string_equal(p.name, "low");
    assert_int_equal(p.threads_div, 4);
    assert_int_equal(p.queue_size, 1);
    assert_int_equal(p.max_memory, (size_t)256 << 20);
    assert_true(fmd_engine_profile_find("medium", &p));
    assert_int_equal(p.threads_div, 2);
    assert_int_equal(p.queue_size, 2);
    assert_int_equal(p.max_memory, (size_t)1 << 30);
    assert_true(fmd_engine_profile_find("high", &p));
    assert_int_equal(p.threads_div, 1);
    assert_int_equal(p.queue_size, 4);
    assert_int_equal(p.max_memory, (size_t)8 << 30);
    assert_false(fmd_engine_profile_find("HIGH", &p));
    assert_false(fmd_engine_profile_find("", &p));
    assert_string_equal(p.name, "high"); /* unchanged by a miss */
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_profile_find)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
