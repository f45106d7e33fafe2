/* SPDX-License-Identifier: MIT */
/* fmd__kernel_normalize: BOM, CRLF / lone CR, NUL, each class of ill-formed UTF-8 (maximal
 * subparts), the no-copy fast path, the report, and a randomised comparison with a plain
 * byte-by-byte reference. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

#define FFFD "\xEF\xBF\xBD"

static int setup(void **state)
{
    fmd_arena *a;
    if (fmd_arena_create(&a, 0) != FMD_OK)
        return -1;
    *state = a;
    return 0;
}

static int teardown(void **state)
{
    fmd_arena_destroy(*state);
    return 0;
}

/* Normalise @p n bytes of @p in and check the result is @p want (@p want_n bytes). */
static fmd__norm_report check(void **state, const char *in, size_t n, const char *want,
                              size_t want_n)
{
    fmd_slice out;
    fmd__norm_report rep;
    assert_int_equal(fmd__kernel_normalize(in, n, *state, &out, &rep), FMD_OK);
    assert_int_equal(out.len, want_n);
    if (want_n != 0)
        assert_memory_equal(out.ptr, want, want_n);
    assert_int_equal(rep.changed, n != want_n || memcmp(in, want, n) != 0);
    return rep;
}

#define CHECK(in, want) check(state, in, sizeof(in) - 1, want, sizeof(want) - 1)

static void test_normalize_clean_ascii_is_not_copied(void **state)
{
    static const char page[] = "---\ntitle: x\n---\n# Heading\n\nSome text,\ttabs and\nlines.\n";
    fmd_slice out;
    fmd__norm_report rep;
    assert_int_equal(fmd__kernel_normalize(page, sizeof page - 1, *state, &out, &rep), FMD_OK);
    assert_ptr_equal(out.ptr, page);
    assert_int_equal(out.len, sizeof page - 1);
    assert_false(rep.changed);
    assert_int_equal(rep.invalid_utf8, 0);
    assert_int_equal(rep.first_invalid_line, 0);
    assert_int_equal(rep.nul_bytes, 0);
    assert_int_equal(fmd_arena_used(*state), 0);
}

static void test_normalize_clean_utf8_is_not_copied(void **state)
{
    /* The boundaries of every well-formed range of Table 3-7, at varying offsets from the
     * 16-byte blocks of the fast scan. */
    static const char page[] = "U+0080 \xC2\x80 U+07FF \xDF\xBF U+0800 \xE0\xA0\x80 "
                               "U+D7FF \xED\x9F\xBF U+E000 \xEE\x80\x80 U+FFFF \xEF\xBF\xBF "
                               "U+10000 \xF0\x90\x80\x80 U+10FFFF \xF4\x8F\xBF\xBF "
                               "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 "
                               "\xE6\x97\xA5\xE6\x9C\xAC\n"
                               "\xEF\xBB\xBF a BOM that is not at the start stays\n";
    for (size_t skip = 0; skip < 20; skip++) {
        if (((unsigned char)page[skip] & 0xC0) == 0x80)
            continue; /* starting inside a sequence would make it ill-formed */
        fmd_slice out;
        fmd__norm_report rep;
        assert_int_equal(
            fmd__kernel_normalize(page + skip, sizeof page - 1 - skip, *state, &out, &rep), FMD_OK);
        assert_ptr_equal(out.ptr, page + skip);
        assert_false(rep.changed);
    }
}

static void test_normalize_empty(void **state)
{
    fmd_slice out;
    fmd__norm_report rep;
    assert_int_equal(fmd__kernel_normalize(NULL, 0, *state, &out, &rep), FMD_OK);
    assert_int_equal(out.len, 0);
    assert_false(rep.changed);
}

static void test_normalize_bom_is_stripped_without_copy(void **state)
{
    static const char page[] = "\xEF\xBB\xBF# Title\n";
    fmd_slice out;
    fmd__norm_report rep;
    assert_int_equal(fmd__kernel_normalize(page, sizeof page - 1, *state, &out, &rep), FMD_OK);
    assert_ptr_equal(out.ptr, page + 3);
    assert_int_equal(out.len, sizeof page - 4);
    assert_true(rep.changed);
    /* Only one: a second U+FEFF is text. */
    CHECK("\xEF\xBB\xBF\xEF\xBB\xBFx", "\xEF\xBB\xBFx");
    CHECK("\xEF\xBB\xBF", "");
    CHECK("\xEF\xBB", FFFD);
}

static void test_normalize_crlf(void **state)
{
    CHECK("a\r\nb\r\n", "a\nb\n");
    CHECK("\r\n", "\n");
    CHECK("\r\n\r\n\r\n", "\n\n\n");
    CHECK("\xEF\xBB\xBF---\r\ntitle: x\r\n---\r\n", "---\ntitle: x\n---\n");
    CHECK("a long line of plain ASCII text, longer than a block\r\nend",
          "a long line of plain ASCII text, longer than a block\nend");
}

static void test_normalize_lone_cr(void **state)
{
    CHECK("a\rb\r", "a\nb\n");
    CHECK("\r", "\n");
    CHECK("\r\r\n", "\n\n");
    CHECK("\n\r", "\n\n");
    fmd__norm_report rep = CHECK("x\ry", "x\ny");
    assert_int_equal(rep.invalid_utf8, 0);
}

static void test_normalize_nul(void **state)
{
    fmd__norm_report rep = CHECK("a\0b\0", "a" FFFD "b" FFFD);
    assert_int_equal(rep.nul_bytes, 2);
    assert_int_equal(rep.invalid_utf8, 0);
    assert_int_equal(rep.first_invalid_line, 0);
    CHECK("\0", FFFD);
}

static void test_normalize_stray_bytes(void **state)
{
    fmd__norm_report rep = CHECK("\x80", FFFD);
    assert_int_equal(rep.invalid_utf8, 1);
    assert_int_equal(rep.first_invalid_line, 1);
    rep = CHECK("a\xBF\x80z", "a" FFFD FFFD "z");
    assert_int_equal(rep.invalid_utf8, 2);
    CHECK("\xFE\xFF", FFFD FFFD);
    CHECK("\xF5\x80\x80\x80", FFFD FFFD FFFD FFFD); /* F5..FF never start a sequence */
}

static void test_normalize_overlong(void **state)
{
    CHECK("\xC0\xAF", FFFD FFFD); /* C0 and C1 are always overlong */
    CHECK("\xC1\xBF", FFFD FFFD);
    CHECK("\xE0\x80\xAF", FFFD FFFD FFFD); /* E0 needs A0..BF next */
    CHECK("\xE0\x9F\xBF", FFFD FFFD FFFD);
    CHECK("\xF0\x80\x80\xAF", FFFD FFFD FFFD FFFD); /* F0 needs 90..BF next */
    CHECK("\xF0\x8F\xBF\xBF", FFFD FFFD FFFD FFFD);
}

static void test_normalize_surrogates(void **state)
{
    fmd__norm_report rep = CHECK("\xED\xA0\x80", FFFD FFFD FFFD); /* U+D800 */
    assert_int_equal(rep.invalid_utf8, 3);
    CHECK("\xED\xBF\xBF", FFFD FFFD FFFD);                            /* U+DFFF */
    CHECK("\xED\xA0\x80\xED\xB0\x80", FFFD FFFD FFFD FFFD FFFD FFFD); /* a CESU-8 pair */
}

static void test_normalize_above_max(void **state)
{
    CHECK("\xF4\x90\x80\x80", FFFD FFFD FFFD FFFD); /* U+110000 */
    CHECK("\xF7\xBF\xBF\xBF", FFFD FFFD FFFD FFFD);
}

static void test_normalize_truncated(void **state)
{
    /* A valid start cut short is one maximal subpart: one U+FFFD for all its bytes. */
    fmd__norm_report rep = CHECK("\xE2\x82", FFFD);
    assert_int_equal(rep.invalid_utf8, 1);
    CHECK("\xE2\x82x", FFFD "x");
    CHECK("\xC3", FFFD);
    CHECK("\xC3 ", FFFD " ");
    CHECK("\xF0\x9F\x98"
          "a",
          FFFD "a");
    CHECK("\xF0\x9F", FFFD);
    CHECK("\xF0\x9F\x98\xE2\x82\xAC", FFFD "\xE2\x82\xAC");
    /* Unicode 15, Table 3-8. */
    rep = CHECK("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64",
                "a" FFFD FFFD FFFD "b" FFFD "c" FFFD FFFD "d");
    assert_int_equal(rep.invalid_utf8, 6);
}

static void test_normalize_first_invalid_line(void **state)
{
    fmd__norm_report rep = CHECK("ok\r\nok\rok\nbad \xFF\n\xFF", "ok\nok\nok\nbad " FFFD "\n" FFFD);
    assert_int_equal(rep.first_invalid_line, 4);
    assert_int_equal(rep.invalid_utf8, 2);
    rep = CHECK("\0\n\xC0", FFFD "\n" FFFD); /* a NUL is not "invalid UTF-8" */
    assert_int_equal(rep.first_invalid_line, 2);
    assert_int_equal(rep.nul_bytes, 1);
}

static void test_normalize_everything_at_once(void **state)
{
    CHECK("\xEF\xBB\xBF"
          "0123456789abcdef0123456789abcdef\r\n\0\xC3\xA9\xFF\r"
          "0123456789abcdef0123456789abcdef\xE2\x82",
          "0123456789abcdef0123456789abcdef\n" FFFD "\xC3\xA9" FFFD "\n"
          "0123456789abcdef0123456789abcdef" FFFD);
}

/*** A randomised comparison with an obviously correct reference ***/

/* The well-formed byte sequences of Table 3-7 as (lead range, second-byte range, length). */
static size_t ref_valid(const unsigned char *p, size_t n)
{
    static const struct {
        unsigned char lead_lo, lead_hi, lo, hi, len;
    } rows[] = {
        {0xC2, 0xDF, 0x80, 0xBF, 2}, {0xE0, 0xE0, 0xA0, 0xBF, 3}, {0xE1, 0xEC, 0x80, 0xBF, 3},
        {0xED, 0xED, 0x80, 0x9F, 3}, {0xEE, 0xEF, 0x80, 0xBF, 3}, {0xF0, 0xF0, 0x90, 0xBF, 4},
        {0xF1, 0xF3, 0x80, 0xBF, 4}, {0xF4, 0xF4, 0x80, 0x8F, 4},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        if (p[0] < rows[r].lead_lo || p[0] > rows[r].lead_hi)
            continue;
        size_t k = 1;
        if (k < n && p[1] >= rows[r].lo && p[1] <= rows[r].hi) {
            k = 2;
            while (k < rows[r].len && k < n && p[k] >= 0x80 && p[k] <= 0xBF)
                k++;
        }
        return k; /* == len when well-formed; else the maximal subpart */
    }
    return 1;
}

static size_t reference(const unsigned char *p, size_t n, unsigned char *out)
{
    size_t o = 0, i = 0;
    if (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
        i = 3;
    while (i < n) {
        unsigned char c = p[i];
        if (c == '\r') {
            out[o++] = '\n';
            i += (i + 1 < n && p[i + 1] == '\n') ? 2 : 1;
        } else if (c == 0) {
            memcpy(out + o, FFFD, 3), o += 3, i++;
        } else if (c < 0x80) {
            out[o++] = c, i++;
        } else {
            size_t k = ref_valid(p + i, n - i);
            size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
            if (c >= 0xC2 && c <= 0xF4 && k == need) {
                memcpy(out + o, p + i, k), o += k;
            } else {
                memcpy(out + o, FFFD, 3), o += 3;
            }
            i += k;
        }
    }
    return o;
}

static void test_normalize_matches_reference(void **state)
{
    static const char *const pieces[] = {
        "a",
        "b c",
        "0123456789abcdef",
        "\n",
        "\r",
        "\r\n",
        "\0",
        "\xC3\xA9",
        "\xE2\x82\xAC",
        "\xF0\x9F\x98\x80",
        "\x80",
        "\xBF",
        "\xC0",
        "\xC3",
        "\xE0\x80",
        "\xE2\x82",
        "\xED\xA0",
        "\xF0\x9F",
        "\xF0\x9F\x98",
        "\xF4\x90",
        "\xFF",
        "\xEF\xBB\xBF",
    };
    enum { N_PIECES = sizeof pieces / sizeof pieces[0] };
    unsigned char in[512], want[2048];
    uint32_t seed = 12345;
    for (int round = 0; round < 20000; round++) {
        size_t n = 0;
        int count = (int)(seed % 24);
        for (int k = 0; k < count; k++) {
            seed = seed * 1664525u + 1013904223u;
            const char *piece = pieces[(seed >> 16) % N_PIECES];
            size_t pl = piece[0] == 0 ? 1 : strlen(piece);
            memcpy(in + n, piece, pl);
            n += pl;
        }
        seed = seed * 1664525u + 1013904223u;
        size_t want_n = reference(in, n, want);
        fmd_slice out;
        fmd__norm_report rep;
        assert_int_equal(fmd__kernel_normalize((const char *)in, n, *state, &out, &rep), FMD_OK);
        assert_int_equal(out.len, want_n);
        if (want_n != 0)
            assert_memory_equal(out.ptr, want, want_n);
        fmd_arena_reset(*state);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_normalize_clean_ascii_is_not_copied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_normalize_clean_utf8_is_not_copied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_normalize_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_normalize_bom_is_stripped_without_copy, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_normalize_crlf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_normalize_lone_cr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_normalize_nul, setup, teardown),
        cmocka_unit_test_setup_teardown(test_normalize_stray_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_normalize_overlong, setup, teardown),
        cmocka_unit_test_setup_teardown(test_normalize_surrogates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_normalize_above_max, setup, teardown),
        cmocka_unit_test_setup_teardown(test_normalize_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_normalize_first_invalid_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_normalize_everything_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_normalize_matches_reference, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
