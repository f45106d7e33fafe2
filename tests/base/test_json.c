/* SPDX-License-Identifier: MIT */
/* Unit tests of base/json.c: the one JSON string writer (plain and template-literal escaping,
 * null strings, quoted hex), including bodies longer than one reservation chunk, and the SSE2
 * escaper held to the scalar one's bytes on random and adversarial input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fmd_json.h"

typedef struct env {
    fmd_arena *a;
    fmd_buf b;
} env;

static int setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    if (e == NULL || fmd_arena_create(&e->a, 0) != FMD_OK)
        return -1;
    fmd_buf_reset(&e->b, e->a);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    fmd_arena_destroy(e->a);
    free(e);
    return 0;
}

/* The buffer's bytes must be exactly want (NUL-terminated, no NUL inside). */
static void assert_buf(const fmd_buf *b, const char *want)
{
    if (b->len != strlen(want) || memcmp(b->ptr, want, b->len) != 0)
        fail_msg("got '%.*s', want '%s'", (int)b->len, b->ptr, want);
}

static void test_json_string_escapes(void **state)
{
    env *e = *state;
    static const char in[] = "a\"b\\c\n\t\r\b\f\x01\x1f/\x7f\xc3\xa9";
    assert_int_equal(fmd_buf_put_json_string(&e->b, in, sizeof in - 1), FMD_OK);
    assert_buf(&e->b, "\"a\\\"b\\\\c\\n\\t\\r\\b\\f\\u0001\\u001f/\x7f\xc3\xa9\"");
}

static void test_json_string_nul_and_empty(void **state)
{
    env *e = *state;
    assert_int_equal(fmd_buf_put_json_string(&e->b, "x\0y", 3), FMD_OK);
    assert_int_equal(fmd_buf_put_json_string(&e->b, NULL, 0), FMD_OK);
    assert_buf(&e->b, "\"x\\u0000y\"\"\"");
}

/* U+2028 and U+2029 are escaped (JavaScript); other E2 sequences and a cut-off one are not. */
static void test_json_string_line_separators(void **state)
{
    env *e = *state;
    static const char in[] = "\xe2\x80\xa8|\xe2\x80\xa9|\xe2\x80\xa6|\xe2\x80";
    assert_int_equal(fmd_buf_put_json_string(&e->b, in, sizeof in - 1), FMD_OK);
    assert_buf(&e->b, "\"\\u2028|\\u2029|\xe2\x80\xa6|\xe2\x80\"");
}

static void test_json_template_body(void **state)
{
    env *e = *state;
    static const char in[] = "`a\\b${c}$d\r\n\"";
    assert_int_equal(fmd_json_put_body(&e->b, in, sizeof in - 1, FMD_JSON_JS_TEMPLATE), FMD_OK);
    assert_buf(&e->b, "\\\\`a\\\\\\\\b\\\\${c}$d\\\\r\\n\\\"");
    /* Without the flag, '`' and '$' are plain bytes. */
    e->b.len = 0;
    assert_int_equal(fmd_json_put_body(&e->b, in, sizeof in - 1, 0), FMD_OK);
    assert_buf(&e->b, "`a\\\\b${c}$d\\r\\n\\\"");
}

/* A body longer than the writer's reservation chunk, with an escape across every boundary. */
static void test_json_long_body(void **state)
{
    env *e = *state;
    size_t n = 3 * 4096 + 7;
    char *in = malloc(n);
    assert_non_null(in);
    size_t quotes = 0;
    for (size_t i = 0; i < n; i++) {
        in[i] = i % 4095 == 0 ? '"' : 'x';
        quotes += in[i] == '"';
    }
    assert_int_equal(fmd_json_put_body(&e->b, in, n, 0), FMD_OK);
    assert_int_equal(e->b.len, n + quotes);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i] == '"')
            assert_int_equal(e->b.ptr[j++], '\\');
        assert_int_equal(e->b.ptr[j++], in[i]);
    }
    free(in);
}

/* A small deterministic generator (xorshift64*), so that a failure can be replayed. */
static uint64_t rnd_next(uint64_t *x)
{
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    return *x * 0x2545F4914F6CDD1DULL;
}

/* The bytes the escaper treats specially, and their neighbours, for the adversarial inputs. */
static const unsigned char tricky[] = {'"',  '\\', '`',  '$',  '{',  '\n', '\r', '\t', '\b', '\f',
                                       0x00, 0x01, 0x1F, 0x20, 0x7F, 0x80, 0xA8, 0xA9, 0xE2, 0xC3,
                                       0xA9, 0xF0, 0x9F, 0xFF, 'a',  '<',  '>',  '&'};

/* Fill in[0..n) in one of several styles: uniform random bytes, mostly the tricky bytes, or
 * plain text with U+2028/U+2029 (and cut-off E2 80 prefixes) planted at random offsets. */
static void fill_random(unsigned char *in, size_t n, int style, uint64_t *x)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t r = rnd_next(x);
        if (style == 0)
            in[i] = (unsigned char)r;
        else if (style == 1)
            in[i] = tricky[r % sizeof tricky];
        else
            in[i] = (unsigned char)('a' + r % 26);
    }
    if (style == 2 && n > 0) {
        size_t plants = 1 + n / 16;
        for (size_t k = 0; k < plants; k++) {
            uint64_t r = rnd_next(x);
            size_t at = (size_t)(r % n);
            static const unsigned char seqs[][3] = {
                {0xE2, 0x80, 0xA8}, {0xE2, 0x80, 0xA9}, {0xE2, 0x80, 0xA6}, {0xE2, 0x80, '"'}};
            const unsigned char *q = seqs[(r >> 32) % 4];
            for (size_t j = 0; j < 3 && at + j < n; j++)
                in[at + j] = q[j];
        }
    }
}

/* The vector escaper and the scalar one give the same bytes on random and adversarial inputs
 * of every length from 0 to past two reservation chunks, at every alignment, with both flags.
 * Each input is also appended after a prefix already in the buffer, as callers do. */
static void test_json_vector_matches_scalar(void **state)
{
    env *e = *state;
    enum { MAXN = 2 * 4096 + 80 };
    unsigned char *in = malloc(MAXN + 16);
    assert_non_null(in);
    fmd_buf ref;
    fmd_buf_reset(&ref, e->a);
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    size_t checked = 0;
    for (int round = 0; round < 600; round++) {
        int style = round % 3;
        size_t n = round < 100 ? (size_t)round : (size_t)(rnd_next(&x) % MAXN);
        if (round % 50 == 7)
            n = 4096 - 1 + (size_t)(round % 4); /* around the chunk boundary */
        size_t off = (size_t)(rnd_next(&x) % 16);
        fill_random(in + off, n, style, &x);
        for (unsigned flags = 0; flags <= FMD_JSON_JS_TEMPLATE; flags++) {
            e->b.len = 0;
            ref.len = 0;
            assert_int_equal(fmd_buf_append(&e->b, "p", 1), FMD_OK);
            assert_int_equal(fmd_buf_append(&ref, "p", 1), FMD_OK);
            assert_int_equal(fmd_json_put_body(&e->b, (const char *)in + off, n, flags), FMD_OK);
            assert_int_equal(fmd_json_put_body_scalar(&ref, (const char *)in + off, n, flags),
                             FMD_OK);
            if (e->b.len != ref.len || memcmp(e->b.ptr, ref.ptr, ref.len) != 0)
                fail_msg("round %d (style %d, n %zu, offset %zu, flags %u): %zu bytes vs %zu",
                         round, style, n, off, flags, e->b.len, ref.len);
            checked++;
        }
        fmd_arena_reset(e->a);
        fmd_buf_reset(&e->b, e->a);
        fmd_buf_reset(&ref, e->a);
    }
    assert_int_equal(checked, 1200);
    free(in);
}

/* Every escape at every position of a 16-byte block and across it: one special byte (or
 * U+2028/9) in plain text at each offset 0..40, for each special byte, both paths equal and the
 * scalar path equal to the expected escape. */
static void test_json_vector_each_position(void **state)
{
    env *e = *state;
    static const struct {
        const char *in;
        const char *out;
    } cases[] = {{"\"", "\\\""},
                 {"\\", "\\\\"},
                 {"\n", "\\n"},
                 {"\x01", "\\u0001"},
                 {"\x1f", "\\u001f"},
                 {"\xe2\x80\xa8", "\\u2028"},
                 {"\xe2\x80\xa9", "\\u2029"},
                 {"\xe2\x80\xa6", "\xe2\x80\xa6"},
                 {"\x7f", "\x7f"},
                 {" ", " "}};
    char in[64], want[128];
    fmd_buf ref;
    fmd_buf_reset(&ref, e->a);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t cl = strlen(cases[c].in), ol = strlen(cases[c].out);
        for (size_t at = 0; at <= 40; at++) {
            size_t n = 48;
            memset(in, 'x', n);
            memcpy(in + at, cases[c].in, cl);
            memset(want, 'x', sizeof want);
            memcpy(want + at, cases[c].out, ol);
            size_t wn = n - cl + ol;
            e->b.len = 0;
            ref.len = 0;
            assert_int_equal(fmd_json_put_body(&e->b, in, n, 0), FMD_OK);
            assert_int_equal(fmd_json_put_body_scalar(&ref, in, n, 0), FMD_OK);
            if (e->b.len != wn || memcmp(e->b.ptr, want, wn) != 0)
                fail_msg("case %zu at %zu: got '%.*s'", c, at, (int)e->b.len, e->b.ptr);
            if (ref.len != wn || memcmp(ref.ptr, want, wn) != 0)
                fail_msg("scalar, case %zu at %zu: got '%.*s'", c, at, (int)ref.len, ref.ptr);
        }
    }
}

static void test_json_string_or_null(void **state)
{
    env *e = *state;
    assert_int_equal(fmd_json_put_string_or_null(&e->b, NULL, 0), FMD_OK);
    assert_int_equal(fmd_buf_putc(&e->b, ','), FMD_OK);
    assert_int_equal(fmd_json_put_string_or_null(&e->b, "ab", 1), FMD_OK);
    assert_buf(&e->b, "null,\"a\"");
}

static void test_json_hex64(void **state)
{
    env *e = *state;
    assert_int_equal(fmd_json_put_hex64(&e->b, 0x0123456789abcdefULL), FMD_OK);
    assert_int_equal(fmd_json_put_hex64(&e->b, 0), FMD_OK);
    assert_int_equal(fmd_json_put_hex64(&e->b, UINT64_MAX), FMD_OK);
    assert_buf(&e->b, "\"0123456789abcdef\"\"0000000000000000\"\"ffffffffffffffff\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_json_string_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_string_nul_and_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_string_line_separators, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_template_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_long_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_vector_matches_scalar, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_vector_each_position, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_string_or_null, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_hex64, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
