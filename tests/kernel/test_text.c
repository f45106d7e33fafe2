/* SPDX-License-Identifier: MIT */
/* kernel/text.c: the SSE2 escaping and word counting agree with a byte-at-a-time reference on
 * every length around the 16-byte steps and on random bytes, including runs across calls. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

static size_t ref_escape(const char *s, size_t n, char *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *e = NULL;
        switch (s[i]) {
        case '&': e = "&amp;"; break;
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '"': e = "&quot;"; break;
        default: out[k++] = s[i]; continue;
        }
        memcpy(out + k, e, strlen(e));
        k += strlen(e);
    }
    return k;
}

static size_t ref_words(const char *s, size_t n, bool *in_word)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        bool ws = strchr(" \t\n\v\f\r", s[i]) != NULL && s[i] != '\0';
        if (!ws && !*in_word)
            w++;
        *in_word = !ws;
    }
    return w;
}

/* Bytes drawn mostly from letters, with the specials, whitespace and high bytes mixed in. */
static void fill(char *s, size_t n, unsigned *seed)
{
    static const char pool[] = "abcdefgh  \t\n\r\v\f&<>\"'xyz\x80\xff\xc3\xa9";
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        s[i] = pool[(*seed >> 16) % (sizeof pool - 1)];
    }
}

static void test_text_escape_matches_reference(void **state)
{
    (void)state;
    fmd_arena *a = NULL;
    assert_int_equal(fmd_arena_create(&a, 0), FMD_OK);
    char s[200], want[1200];
    unsigned seed = 1;
    for (size_t n = 0; n < 200; n++) {
        for (int rep = 0; rep < 20; rep++) {
            fill(s, n, &seed);
            fmd_buf b;
            fmd_buf_reset(&b, a);
            assert_int_equal(fmd__kernel_escape_html(&b, s, n), FMD_OK);
            size_t k = ref_escape(s, n, want);
            assert_int_equal(b.len, k);
            assert_memory_equal(b.ptr, want, k);
            fmd_arena_reset(a);
        }
    }
    fmd_arena_destroy(a);
}

static void test_text_words_match_reference_across_calls(void **state)
{
    (void)state;
    char s[300];
    unsigned seed = 7;
    for (size_t n = 0; n < 300; n++) {
        fill(s, n, &seed);
        for (size_t cut = 0; cut <= n; cut += 1 + n / 7) {
            bool a = false, b = false;
            size_t got = fmd__kernel_count_words(s, cut, &a);
            got += fmd__kernel_count_words(s + cut, n - cut, &a);
            size_t want = ref_words(s, n, &b);
            assert_int_equal(got, want);
            assert_int_equal(a, b);
        }
    }
}

static void test_text_words_examples(void **state)
{
    (void)state;
    bool in = false;
    const char *t = "  one two\tthree\nfour  ";
    assert_int_equal(fmd__kernel_count_words(t, strlen(t), &in), 4);
    assert_false(in);
    /* "abc" then "def" with no separator between the calls: one word. */
    in = false;
    assert_int_equal(fmd__kernel_count_words("abc", 3, &in), 1);
    assert_true(in);
    assert_int_equal(fmd__kernel_count_words("def ghi", 7, &in), 1);
    /* Sixteen-byte boundaries: a word that spans one is counted once. */
    in = false;
    const char *u = "aaaaaaaaaaaaaaa bbbbbbbbbbbbbbbbbbbbbbbbbbbbb c";
    assert_int_equal(fmd__kernel_count_words(u, strlen(u), &in), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_escape_matches_reference),
        cmocka_unit_test(test_text_words_match_reference_across_calls),
        cmocka_unit_test(test_text_words_examples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
