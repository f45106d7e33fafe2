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

/* Text with the bytes that need escaping from @p first on (s[first] is one of them,
 * or first == n). */
static fmd_status escape_from(fmd_buf *out, const char *s, size_t n, size_t first)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t run = 0, i = first;
    for (;;) {
        fmd_status st = fmd_buf_append(out, s + run, i - run);
        if (st != FMD_OK || i == n)
            return st;
        unsigned e = esc_class[p[i]];
        st = fmd_buf_append(out, esc_text[e], esc_len[e]);
        if (st != FMD_OK)
            return st;
        run = i + 1;
        i = next_special(p, run, n);
    }
}

fmd_status fmd__kernel_escape_html(fmd_buf *out, const char *s, size_t n)
{
    return escape_from(out, s, n, next_special((const unsigned char *)s, 0, n));
}

#ifdef FMD_TEXT_SSE2
/* Bits set in each byte value. */
#define B2(n) (n), (n) + 1, (n) + 1, (n) + 2
#define B4(n) B2(n), B2((n) + 1), B2((n) + 1), B2((n) + 2)
#define B6(n) B4(n), B4((n) + 1), B4((n) + 1), B4((n) + 2)
static const unsigned char bits8[256] = {B6(0), B6(1), B6(1), B6(2)};
#undef B6
#undef B4
#undef B2

/* Bits set in a 16-bit mask. Not __builtin_popcount: without -mpopcnt (not in the x86-64
 * baseline) that is a call into libgcc for every 16 bytes of text. Two lookups cost less than
 * the shift-and-add form; the table is 256 bytes. */
static inline unsigned popcount16(unsigned x)
{
    return (unsigned)bits8[x & 0xFFu] + bits8[(x >> 8) & 0xFFu];
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

#ifdef FMD_TEXT_SSE2
/* The bytes of v to escape (0xFF) and its ASCII whitespace (0xFF). */
static inline __m128i esc_bytes(__m128i v)
{
    return _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('&')), _mm_cmpeq_epi8(v, _mm_set1_epi8('<'))),
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('>')), _mm_cmpeq_epi8(v, _mm_set1_epi8('"'))));
}

static inline __m128i ws_bytes(__m128i v)
{
    /* \t..\r is 9..13: signed compares are fine, since bytes >= 0x80 are negative. */
    return _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')),
                        _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('\t' - 1)),
                                      _mm_cmplt_epi8(v, _mm_set1_epi8('\r' + 1))));
}

/* The sum of the 16 byte counters in acc. */
static inline size_t sum_bytes(__m128i acc)
{
    __m128i s = _mm_sad_epu8(acc, _mm_setzero_si128());
    return (size_t)_mm_cvtsi128_si64(s) + (size_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(s, s));
}
#endif

fmd_status fmd__kernel_escape_text(fmd_buf *out, const char *s, size_t n, const char *lo,
                                   const char *hi, bool *in_word, size_t *words)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t first = n, i = 0, count = 0;
    unsigned prev_ws = in_word != NULL && !*in_word;
    bool copied = false; /* s is in out past its end already (when nothing needs escaping) */
#ifdef FMD_TEXT_SSE2
    /* Each block loaded is stored into the output as it is looked at, so text with nothing to
     * escape (most of it) costs one pass and no memcpy; 16 bytes of room past the text let the
     * last store be whole. Bytes stored past the new end are spare capacity, never output. */
    if (out->cap - out->len < n + 16) {
        fmd_status st = fmd_buf_grow(out, n + 16);
        if (st != FMD_OK)
            return st;
    }
    char *dst = out->ptr + out->len;
    /* Whole blocks stay in vectors: a word starts at a non-space byte after a space one (the
     * previous block's last byte shifted in), and each start adds 1 to its byte's counter,
     * summed before a counter can pass 255. Escapes are only noted; found again if any. */
    __m128i prev = _mm_set1_epi8(prev_ws ? -1 : 0), starts = _mm_setzero_si128(),
            escs = _mm_setzero_si128();
    unsigned blocks = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        _mm_storeu_si128((__m128i *)(void *)(dst + i), v);
        escs = _mm_or_si128(escs, esc_bytes(v));
        __m128i w = ws_bytes(v);
        __m128i before = _mm_or_si128(_mm_slli_si128(w, 1), _mm_srli_si128(prev, 15));
        starts = _mm_sub_epi8(starts, _mm_andnot_si128(w, before));
        prev = w;
        if (++blocks == 255) {
            count += sum_bytes(starts);
            starts = _mm_setzero_si128();
            blocks = 0;
        }
    }
    if (i != 0) {
        count += sum_bytes(starts);
        prev_ws = ((unsigned)_mm_movemask_epi8(prev) >> 15) & 1u;
        if (_mm_movemask_epi8(escs) != 0)
            first = next_special(p, 0, i);
    }
    unsigned esc, ws;
    copied = i == n;
    /* The last part block: one 16-byte load that stays inside [lo, hi), from its start or, near
     * hi, from up to 15 bytes before it; the bits of bytes outside the text are dropped. Short
     * texts inside a block's buffer, the common case, take this path. */
    size_t t = n - i;
    uintptr_t a = (uintptr_t)(s + i), b = (uintptr_t)(s + n), l = (uintptr_t)lo, h = (uintptr_t)hi;
    if (t != 0 && lo != NULL && a >= l && b <= h && h - l >= 16) {
        size_t back = h - a >= 16 ? 0 : 16 - (size_t)(h - a); /* a - back >= lo */
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i - back));
        /* Stored where its bytes belong: those before the text's part block, if any, were
         * stored there already with the same values; a short text near hi is copied below. */
        if (back <= i) {
            _mm_storeu_si128((__m128i *)(void *)(dst + i - back), v);
            copied = true;
        }
        esc = (unsigned)_mm_movemask_epi8(esc_bytes(v));
        ws = (unsigned)_mm_movemask_epi8(ws_bytes(v));
        esc >>= back;
        ws >>= back;
        unsigned keep = (1u << t) - 1u;
        esc &= keep;
        ws &= keep;
        if (esc != 0 && first == n)
            first = i + (size_t)__builtin_ctz(esc);
        count += popcount16(~ws & ((ws << 1) | prev_ws) & keep);
        prev_ws = (ws >> (t - 1)) & 1u;
        i = n;
    }
#endif
    if (i < n) { /* no window: the remaining bytes one at a time */
        if (first == n)
            first = next_special(p, i, n);
        for (; i < n; i++) {
            unsigned w = ws_class[p[i]];
            count += prev_ws & (w ^ 1u);
            prev_ws = w;
        }
    }
    if (in_word != NULL) {
        if (n != 0)
            *in_word = !prev_ws;
        *words += count;
    }
    if (first < n)
        return escape_from(out, s, n, first);
    if (!copied)
        return fmd_buf_append(out, s, n);
    out->len += n;
    return FMD_OK;
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
