/* SPDX-License-Identifier: MIT */
/* Unit tests of the small text helpers of base/: the UTF-8 decoder, FNV-1a and hex, the title
 * rule and the status helpers (transient failures, the out-of-memory text). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fmd_arena.h"
#include "fmd_hash.h"
#include "fmd_status.h"
#include "fmd_title.h"
#include "fmd_utf8.h"

/*** UTF-8 ***/

/* Decode s (its strlen) and expect length want_len and, when valid, code point want_cp. */
static void check_decode(const char *s, size_t want_len, uint32_t want_cp)
{
    uint32_t cp = 0xDEADu;
    size_t len = fmd_utf8_decode((const unsigned char *)s, strlen(s), &cp);
    if (len != want_len)
        fail_msg("%02x...: length %zu, want %zu", (unsigned char)s[0], len, want_len);
    assert_int_equal(cp, want_len != 0 ? want_cp : 0xDEADu);
}

static void test_utf8_decode(void **state)
{
    (void)state;
    check_decode("A", 1, 'A');
    check_decode("\xc3\xa9", 2, 0xE9);
    check_decode("\xe2\x82\xac", 3, 0x20AC);
    check_decode("\xef\xbf\xbd", 3, 0xFFFD);
    check_decode("\xf0\x9f\x98\x80", 4, 0x1F600);
    check_decode("\xf4\x8f\xbf\xbf", 4, 0x10FFFF);
    check_decode("\xc0\xaf", 0, 0);         /* overlong '/' */
    check_decode("\xc1\xbf", 0, 0);         /* overlong */
    check_decode("\xe0\x9f\xbf", 0, 0);     /* overlong 3-byte form */
    check_decode("\xed\xa0\x80", 0, 0);     /* a surrogate */
    check_decode("\xf0\x8f\xbf\xbf", 0, 0); /* overlong 4-byte form */
    check_decode("\xf4\x90\x80\x80", 0, 0); /* past U+10FFFF */
    check_decode("\xf5\x80\x80\x80", 0, 0);
    check_decode("\x80", 0, 0);         /* a lone continuation byte */
    check_decode("\xe2\x82", 0, 0);     /* cut short */
    check_decode("\xe2\x28\xa1", 0, 0); /* a bad continuation byte */
    /* The length bound is honoured: a valid sequence cut by n is invalid. */
    assert_int_equal(fmd_utf8_decode((const unsigned char *)"\xc3\xa9", 1, NULL), 0);
}

static void test_utf8_valid(void **state)
{
    (void)state;
    assert_true(fmd_utf8_valid(NULL, 0));
    assert_true(fmd_utf8_valid("plain ascii", 11));
    assert_true(fmd_utf8_valid("caf\xc3\xa9 \xf0\x9f\x98\x80", 10));
    assert_false(fmd_utf8_valid("caf\xc3", 4));
    assert_false(fmd_utf8_valid("a\xffz", 3));
    assert_false(fmd_utf8_valid("\xed\xbf\xbf", 3));
}

/* The maximal subpart of s (its strlen): the bytes one U+FFFD replaces. */
static size_t subpart(const char *s)
{
    return fmd_utf8_subpart((const unsigned char *)s, strlen(s));
}

static void test_utf8_subpart(void **state)
{
    (void)state;
    assert_int_equal(subpart("\x80z"), 1);         /* a lone continuation byte */
    assert_int_equal(subpart("\xc0\xaf"), 1);      /* C0 starts no sequence */
    assert_int_equal(subpart("\xf5\x80\x80"), 1);  /* past U+10FFFF */
    assert_int_equal(subpart("\xe0\x80\x80"), 1);  /* overlong: the second byte is out of range */
    assert_int_equal(subpart("\xed\xa0\x80"), 1);  /* a surrogate: likewise */
    assert_int_equal(subpart("\xc3("), 1);         /* a 2-byte lead without its continuation */
    assert_int_equal(subpart("\xe2\x82("), 2);     /* lead and one continuation byte */
    assert_int_equal(subpart("\xe2\x82"), 2);      /* cut short by the end */
    assert_int_equal(subpart("\xf0\x9f\x98("), 3); /* three of four bytes */
    assert_int_equal(subpart("\xf0\x9f"), 2);
}

/*** Hashes and hex ***/

static void test_hex(void **state)
{
    (void)state;
    char h[17];
    fmd_hex_u64(0x0123456789abcdefULL, h);
    assert_string_equal(h, "0123456789abcdef");
    fmd_hex_u64(0xf, h);
    assert_string_equal(h, "000000000000000f");
    static const unsigned char bytes[] = {0xab, 0x01, 0x00, 0xff};
    char b[9];
    fmd_hex_bytes(bytes, sizeof bytes, b);
    assert_string_equal(b, "ab0100ff");
    fmd_hex_bytes(NULL, 0, b);
    assert_string_equal(b, "");
}

/* FNV-1a's published test values. */
static void test_fnv1a64(void **state)
{
    (void)state;
    assert_true(fmd_fnv1a64(NULL, 0) == 0xcbf29ce484222325ULL);
    assert_true(fmd_fnv1a64("a", 1) == 0xaf63dc4c8601ec8cULL);
    assert_true(fmd_fnv1a64("foobar", 6) == 0x85944171f73967e8ULL);
}

/*** The title rule ***/

static void test_title_from_path(void **state)
{
    (void)state;
    static const char *cases[][2] = {
        {"docs/ref-and-relref.md", "Ref and relref"},
        {"guide/_index.md", "Guide"},
        {"a/b/index.markdown", "B"},
        {"a/index/index.md", "A"},
        {"_index.md", "Index"},
        {"notes__draft--2.md", "Notes draft 2"},
        {"-lead and trail_.md", "Lead and trail"},
        {"readme.txt", "Readme.txt"},
        {"..md", ""},
        {"x/---.md", ""},
        {"über.md", "über"},
        /* Not UTF-8: each ill-formed sequence becomes one U+FFFD, never copied raw. */
        {"caf\xE9.md", "Caf\xEF\xBF\xBD"},
        {"a-\xFF\xFE.md", "A \xEF\xBF\xBD\xEF\xBF\xBD"},
        {"\xE2\x82-x.md", "\xEF\xBF\xBD x"},
        {"\xED\xA0\x80.md", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, /* a surrogate */
    };
    fmd_arena *a = NULL;
    assert_int_equal(fmd_arena_create(&a, 0), FMD_OK);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fmd_slice t;
        assert_int_equal(fmd_title_from_path(cases[i][0], strlen(cases[i][0]), a, &t), FMD_OK);
        if (t.len != strlen(cases[i][1]) || memcmp(t.ptr, cases[i][1], t.len) != 0)
            fail_msg("%s: got '%.*s', want '%s'", cases[i][0], (int)t.len, t.ptr, cases[i][1]);
    }
    fmd_arena_destroy(a);
}

static void test_title_fallback(void **state)
{
    (void)state;
    fmd_arena *a = NULL;
    assert_int_equal(fmd_arena_create(&a, 0), FMD_OK);
    fmd_slice t = {NULL, 0};
    fmd_title_fallback(&t, "blog/my-post.md", a); /* no title: the file name */
    assert_int_equal(t.len, 7);
    assert_memory_equal(t.ptr, "My post", 7);
    fmd_slice kept = {"Front", 5};
    fmd_title_fallback(&kept, "blog/my-post.md", a); /* a title is kept */
    assert_memory_equal(kept.ptr, "Front", 5);
    fmd_slice empty = {"", 0};
    fmd_title_fallback(&empty, "blog/my-post.md", a); /* an empty title is still a title */
    assert_int_equal(empty.len, 0);
    assert_string_equal(empty.ptr, "");
    fmd_slice none = {NULL, 0};
    fmd_title_fallback(&none, "x/---.md", a); /* no letters: still no title */
    assert_null(none.ptr);
    fmd_title_fallback(&none, NULL, a); /* no file name */
    assert_null(none.ptr);
    fmd_arena_destroy(a);
}

/*** Status ***/

/* fmd_buf_printf() appends what printf would print, and grows the buffer only when the text does
 * not fit: 1,000 short lines stay within a few KiB (before, each call doubled the buffer). */
static void test_buf_printf(void **state)
{
    (void)state;
    fmd_arena *a = NULL;
    fmd_buf b;
    assert_int_equal(fmd_arena_create(&a, 0), FMD_OK);
    fmd_buf_reset(&b, a);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(fmd_buf_printf(&b, "line %d\n", i), FMD_OK);
    assert_int_equal(b.len, 10 * 7 + 90 * 8 + 900 * 9);
    assert_true(b.cap < 4 * b.len);
    assert_memory_equal(b.ptr + b.len - 9, "line 999\n", 9);
    char big[600];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(fmd_buf_printf(&b, "%s", big), FMD_OK);
    assert_memory_equal(b.ptr + b.len - (sizeof big - 1), big, sizeof big - 1);
    fmd_arena_destroy(a);
}

static void test_status_helpers(void **state)
{
    (void)state;
    assert_true(fmd_status_is_transient(FMD_E_NOMEM));
    assert_false(fmd_status_is_transient(FMD_E_DEADLINE)); /* deterministic: never retried */
    for (int st = 0; st < FMD_STATUS_COUNT; st++) {
        if (st != FMD_E_NOMEM)
            assert_false(fmd_status_is_transient((fmd_status)st));
    }
    assert_string_equal(fmd_status_str(FMD_E_NOMEM), FMD_NOMEM_TEXT);
    assert_string_equal(fmd_status_name(FMD_E_NOMEM), "out-of-memory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_decode),    cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_utf8_subpart),   cmocka_unit_test(test_hex),
        cmocka_unit_test(test_fnv1a64),        cmocka_unit_test(test_title_from_path),
        cmocka_unit_test(test_title_fallback), cmocka_unit_test(test_status_helpers),
        cmocka_unit_test(test_buf_printf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
