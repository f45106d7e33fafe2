/* SPDX-License-Identifier: MIT */
/* kernel/text.c: the SSE2 escaping and word counting, apart and in one pass, agree with a
 * byte-at-a-time reference on every length around the 16-byte steps and on random bytes,
 * including runs across calls and texts at every place in a readable window. */
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

/* The one-pass escape-and-count against the references, for every text inside windows of
 * every size around 16 (each window is its own exact-size allocation, so that an ASan build
 * catches a load outside it), without a window, and appended after earlier output. */
static void test_text_escape_text_matches_reference(void **state)
{
    (void)state;
    fmd_arena *a = NULL;
    assert_int_equal(fmd_arena_create(&a, 0), FMD_OK);
    char src[48], want[400];
    unsigned seed = 3;
    for (size_t wn = 0; wn <= sizeof src; wn++) {
        fill(src, sizeof src, &seed);
        char *w = malloc(wn ? wn : 1);
        assert_non_null(w);
        memcpy(w, src, wn);
        for (size_t off = 0; off <= wn; off++) {
            for (size_t n = 0; off + n <= wn; n++) {
                for (int mode = 0; mode < 3; mode++) {
                    /* 0: window and words, 1: no window, 2: window, escaping only */
                    fmd_buf b;
                    fmd_buf_reset(&b, a);
                    assert_int_equal(fmd_buf_append(&b, "pre", 3), FMD_OK);
                    bool in = (off + n) % 2 == 0, ref_in = in;
                    size_t words = 5;
                    assert_int_equal(fmd__kernel_escape_text(&b, w + off, n, mode == 1 ? NULL : w,
                                                             mode == 1 ? NULL : w + wn,
                                                             mode == 2 ? NULL : &in, &words),
                                     FMD_OK);
                    size_t k = ref_escape(w + off, n, want);
                    assert_int_equal(b.len, 3 + k);
                    assert_memory_equal(b.ptr, "pre", 3);
                    assert_memory_equal(b.ptr + 3, want, k);
                    size_t ref = ref_words(w + off, n, &ref_in);
                    if (mode == 2) {
                        assert_int_equal(words, 5);
                    } else {
                        assert_int_equal(words, 5 + ref);
                        assert_int_equal(in, ref_in);
                    }
                    fmd_arena_reset(a);
                }
            }
        }
        free(w);
    }
    /* Long texts: more than 255 whole blocks, past where the per-byte counters are summed. */
    static char big[16 * 600 + 7], bigwant[6 * sizeof big];
    for (size_t n = 16 * 250; n <= sizeof big; n += 16 * 50 + 3) {
        fill(big, n, &seed);
        fmd_buf b;
        fmd_buf_reset(&b, a);
        bool in = false, ref_in = false;
        size_t words = 0;
        assert_int_equal(fmd__kernel_escape_text(&b, big, n, big, big + n, &in, &words), FMD_OK);
        size_t k = ref_escape(big, n, bigwant);
        assert_int_equal(b.len, k);
        assert_memory_equal(b.ptr, bigwant, k);
        assert_int_equal(words, ref_words(big, n, &ref_in));
        assert_int_equal(in, ref_in);
        fmd_arena_reset(a);
    }
    /* A word starting in the same byte of every block: one counter gets 600 starts. */
    for (size_t k = 0; k < 600; k++) {
        memset(big + 16 * k, ' ', 16);
        big[16 * k] = 'a';
    }
    fmd_buf b;
    fmd_buf_reset(&b, a);
    bool in = false;
    size_t words = 0;
    assert_int_equal(fmd__kernel_escape_text(&b, big, 16 * 600, big, big + 16 * 600, &in, &words),
                     FMD_OK);
    assert_int_equal(words, 600);
    fmd_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_escape_matches_reference),
        cmocka_unit_test(test_text_words_match_reference_across_calls),
        cmocka_unit_test(test_text_words_examples),
        cmocka_unit_test(test_text_escape_text_matches_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
