/* SPDX-License-Identifier: MIT */
/* Unit tests of base/json.c: the one JSON string writer (plain and template-literal escaping,
 * null strings, quoted hex), including bodies longer than one reservation chunk. */
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
    fmd_buf_init(&e->b, e->a);
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
        cmocka_unit_test_setup_teardown(test_json_string_or_null, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_hex64, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
