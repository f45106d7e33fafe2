/* SPDX-License-Identifier: MIT */
/* Unit tests of kernel/slug.c: GitHub-style slugs (case folding, punctuation, Unicode blocks)
 * and the per-page set that makes them unique. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

/* Slugify text (NUL-terminated) with a fresh arena and compare with want. */
static void check_slug(const char *text, const char *want)
{
    fmd_arena *a = NULL;
    assert_int_equal(fmd_arena_create(&a, 0), FMD_OK);
    fmd_buf b;
    fmd_buf_reset(&b, a);
    assert_int_equal(fmd__kernel_slugify(text, strlen(text), &b), FMD_OK);
    assert_int_equal(fmd_buf_putc(&b, '\0'), FMD_OK);
    assert_string_equal(b.ptr, want);
    fmd_arena_destroy(a);
}

/* Make each slug of in[] unique in one set, in order, and compare with want[]. */
static void check_unique(const char *const *in, const char *const *want, size_t n)
{
    fmd_arena *a = NULL;
    assert_int_equal(fmd_arena_create(&a, 0), FMD_OK);
    fmd__slug_set *set = fmd__kernel_slug_set_create(a);
    assert_non_null(set);
    for (size_t i = 0; i < n; i++) {
        fmd_slice s;
        assert_int_equal(fmd__kernel_slug_unique(set, in[i], strlen(in[i]), &s), FMD_OK);
        assert_int_equal(s.len, strlen(want[i]));
        assert_memory_equal(s.ptr, want[i], s.len);
    }
    fmd_arena_destroy(a);
}

static void test_slug_ascii_lowercase_and_spaces(void **state)
{
    (void)state;
    check_slug("Hello World", "hello-world");
    check_slug("API v2 Reference", "api-v2-reference");
    check_slug("a  b", "a--b"); /* GitHub does not collapse spaces */
    check_slug(" lead", "-lead");
    check_slug("snake_case and kebab-case", "snake_case-and-kebab-case");
}

static void test_slug_drops_ascii_punctuation(void **state)
{
    (void)state;
    check_slug("What's new? (v2.0)!", "whats-new-v20");
    check_slug("C++ & C#: <tips>", "c--c-tips");
    check_slug("\"quoted\" `code` {braces} [x] a|b ~t^ @h $d %p *s +p =e /s \\b",
               "quoted-code-braces-x-ab-t-h-d-p-s-p-e-s-b");
    check_slug("!!!", "");
}

static void test_slug_unicode_letters(void **state)
{
    (void)state;
    check_slug("Über Straße", "über-straße");
    check_slug("ÀÉÎÕÜ Ýýÿ", "àéîõü-ýýÿ");
    check_slug("ŁÓDŹ Żółć Ÿ", "łódź-żółć-ÿ");
    check_slug("Ωμέγα Άλφα ΈΉΊΌΎΏ", "ωμέγα-άλφα-έήίόύώ");
    check_slug("Привет Мир ЁЖИК Ђ", "привет-мир-ёжик-ђ");
    check_slug("TIẾNG VIỆT", "tiếng-việt");
    check_slug("日本語 テスト 한국어", "日本語-テスト-한국어");
    check_slug("ＡＢＣ", "ａｂｃ"); /* fullwidth capitals fold */
}

static void test_slug_drops_unicode_punctuation_and_symbols(void **state)
{
    (void)state;
    check_slug("a — b “c” …", "a--b-c-");
    check_slug("你好，世界。「引用」", "你好世界引用");
    check_slug("© 2024 ½ ×÷ ¿¡", "-2024-½--");
    check_slug("🎉 Party 🚀", "-party-");
    check_slug("x\xC2\xA0y", "xy"); /* no-break space is dropped, not a separator */
    check_slug("arrows → ⇒ ∀x", "arrows---x");
    check_slug("zero\xE2\x80\x8Bwidth", "zerowidth");
}

static void test_slug_empty_heading_becomes_section(void **state)
{
    (void)state;
    check_slug("", "");
    static const char *const in[] = {"", "", "section"};
    static const char *const want[] = {"section", "section-1", "section-2"};
    check_unique(in, want, 3);
}

static void test_slug_duplicates_get_suffixes(void **state)
{
    (void)state;
    static const char *const in[] = {"intro", "intro", "intro", "other", "intro"};
    static const char *const want[] = {"intro", "intro-1", "intro-2", "other", "intro-3"};
    check_unique(in, want, 5);
}

static void test_slug_literal_suffix_collision(void **state)
{
    (void)state;
    /* "a-1" is taken by a literal heading, so the second "a" keeps counting. */
    static const char *const in1[] = {"a", "a-1", "a", "a"};
    static const char *const want1[] = {"a", "a-1", "a-2", "a-3"};
    check_unique(in1, want1, 4);
    /* The other way round: a literal "a-1" after the generated one gets its own suffix. */
    static const char *const in2[] = {"a", "a", "a-1"};
    static const char *const want2[] = {"a", "a-1", "a-1-1"};
    check_unique(in2, want2, 3);
}

static void test_slug_many_entries_stay_unique(void **state)
{
    (void)state;
    fmd_arena *a = NULL;
    assert_int_equal(fmd_arena_create(&a, 4096), FMD_OK);
    fmd__slug_set *set = fmd__kernel_slug_set_create(a);
    assert_non_null(set);
    char want[32];
    for (unsigned i = 0; i < 2000; i++) {
        fmd_slice s;
        assert_int_equal(fmd__kernel_slug_unique(set, "x", 1, &s), FMD_OK);
        if (i == 0)
            snprintf(want, sizeof want, "x");
        else
            snprintf(want, sizeof want, "x-%u", i);
        assert_int_equal(s.len, strlen(want));
        assert_memory_equal(s.ptr, want, s.len);
    }
    fmd_arena_destroy(a);
}

static void test_slug_invalid_utf8_is_kept(void **state)
{
    (void)state;
    /* The renderer only sees valid UTF-8; stray bytes must still not be lost or crash. */
    check_slug("a\xFF"
               "b\xC3",
               "a\xFF"
               "b\xC3");
}

/* --id-prefix accepts only what needs no escaping in an attribute or a URL fragment. */
static void test_slug_id_prefix_valid(void **state)
{
    (void)state;
    assert_true(fmd_kernel_id_prefix_valid(""));
    assert_true(fmd_kernel_id_prefix_valid("user-content-"));
    assert_true(fmd_kernel_id_prefix_valid("a_b.c:D9"));
    const char *bad[] = {"a\"b", "a b", "<x>", "a&b", "a#b", "caf\xC3\xA9", "a/b", "a'b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(fmd_kernel_id_prefix_valid(bad[i]));
    char longest[FMD_MAX_ID_PREFIX_BYTES + 2];
    memset(longest, 'x', sizeof longest);
    longest[FMD_MAX_ID_PREFIX_BYTES] = '\0';
    assert_true(fmd_kernel_id_prefix_valid(longest));
    longest[FMD_MAX_ID_PREFIX_BYTES] = 'x';
    longest[FMD_MAX_ID_PREFIX_BYTES + 1] = '\0';
    assert_false(fmd_kernel_id_prefix_valid(longest));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slug_ascii_lowercase_and_spaces),
        cmocka_unit_test(test_slug_id_prefix_valid),
        cmocka_unit_test(test_slug_drops_ascii_punctuation),
        cmocka_unit_test(test_slug_unicode_letters),
        cmocka_unit_test(test_slug_drops_unicode_punctuation_and_symbols),
        cmocka_unit_test(test_slug_empty_heading_becomes_section),
        cmocka_unit_test(test_slug_duplicates_get_suffixes),
        cmocka_unit_test(test_slug_literal_suffix_collision),
        cmocka_unit_test(test_slug_many_entries_stay_unique),
        cmocka_unit_test(test_slug_invalid_utf8_is_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
