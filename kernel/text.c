/* SPDX-License-Identifier: MIT */
/* The two loops that touch every byte of a page's text: HTML escaping and word counting.
 * With SSE2 (every x86-64 CPU) they look at 16 bytes per step: most text has nothing to escape,
 * so escaping is a scan plus one copy; words are counted from a whitespace bit mask. Elsewhere a
 * plain byte loop gives the same results. No state but what the caller passes. */
#include <stdint.h>

#include "internal.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#define FMD_TEXT_SSE2 1
#endif

static const char *const esc_text[5] = {"", "&amp;", "&lt;", "&gt;", "&quot;"};
static const unsigned char esc_len[5] = {0, 5, 4, 4, 6};
static const unsigned char esc_class[256] = {['&'] = 1, ['<'] = 2, ['>'] = 3, ['"'] = 4};
/* ASCII whitespace as word separators: space, \t, \n, \v, \f, \r. */
static const unsigned char ws_class[256] = {
    [' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\v'] = 1, ['\f'] = 1, ['\r'] = 1};

/* Position of the first byte in [i, n) that needs escaping, or n. */
static size_t next_special(const unsigned char *p, size_t i, size_t n)
{
#ifdef FMD_TEXT_SSE2
    const __m128i amp = _mm_set1_epi8('&'), lt = _mm_set1_epi8('<'), gt = _mm_set1_epi8('>'),
                  quot = _mm_set1_epi8('"');
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, amp), _mm_cmpeq_epi8(v, lt)),
                                 _mm_or_si128(_mm_cmpeq_epi8(v, gt), _mm_cmpeq_epi8(v, quot)));
        unsigned bits = (unsigned)_mm_movemask_epi8(m);
        if (bits != 0)
            return i + (size_t)__builtin_ctz(bits);
    }
#endif
    for (; i < n; i++)
        if (esc_class[p[i]])
            return i;
    return n;
}

fmd_status fmd__kernel_escape_html(fmd_buf *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t run = 0;
    for (;;) {
        size_t i = next_special(p, run, n);
        fmd_status st = fmd_buf_append(out, s + run, i - run);
        if (st != FMD_OK || i == n)
            return st;
        unsigned e = esc_class[p[i]];
        st = fmd_buf_append(out, esc_text[e], esc_len[e]);
        if (st != FMD_OK)
            return st;
        run = i + 1;
    }
}

#ifdef FMD_TEXT_SSE2
/* Bits set in a 16-bit mask. Not __builtin_popcount: without -mpopcnt (not in the x86-64
 * baseline) that is a call into libgcc for every 16 bytes of text. */
static unsigned popcount16(unsigned x)
{
    x = x - ((x >> 1) & 0x5555u);
    x = (x & 0x3333u) + ((x >> 2) & 0x3333u);
    x = (x + (x >> 4)) & 0x0F0Fu;
    return (x + (x >> 8)) & 0x1Fu;
}
#endif

size_t fmd__kernel_count_words(const char *s, size_t n, bool *in_word)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t words = 0, i = 0;
    unsigned prev_ws = !*in_word; /* 1: the byte before s was a separator (or there was none) */
#ifdef FMD_TEXT_SSE2
    const __m128i sp = _mm_set1_epi8(' '), lo = _mm_set1_epi8('\t' - 1),
                  hi = _mm_set1_epi8('\r' + 1);
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        /* \t..\r is 9..13: signed compares are fine, since bytes >= 0x80 are negative. */
        __m128i ws = _mm_or_si128(_mm_cmpeq_epi8(v, sp),
                                  _mm_and_si128(_mm_cmpgt_epi8(v, lo), _mm_cmplt_epi8(v, hi)));
        unsigned wsm = (unsigned)_mm_movemask_epi8(ws);
        /* A word starts at a non-separator whose previous byte is a separator. */
        unsigned before = ((wsm << 1) | prev_ws) & 0xFFFFu;
        words += popcount16(~wsm & before & 0xFFFFu);
        prev_ws = (wsm >> 15) & 1u;
    }
#endif
    for (; i < n; i++) {
        unsigned w = ws_class[p[i]];
        words += prev_ws & (w ^ 1u);
        prev_ws = w;
    }
    if (n != 0)
        *in_word = !prev_ws;
    return words;
}

size_t fmd__kernel_utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}
