/* SPDX-License-Identifier: MIT */
/* Normalisation of a page's bytes before anything parses them: no BOM, LF line ends only, no NUL,
 * valid UTF-8 (each maximal subpart of an ill-formed sequence becomes U+FFFD).
 * Most pages need none of it, so one fast scan proves that and returns the input itself; only a
 * page that changes is copied, once, into the scratch arena. No I/O, no global state. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "fmd_utf8.h"
#include "internal.h"

/* U+FFFD REPLACEMENT CHARACTER in UTF-8. */
static const char replacement[3] = {'\xEF', '\xBF', '\xBD'};

/*** Scanning ***/

/* True when the 16 bytes at p are all ASCII and none is CR or NUL: nothing to do there. */
static inline int block_clean(const unsigned char *p)
{
#if defined(__SSE2__)
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i special = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_setzero_si128()),
                                   _mm_cmpeq_epi8(v, _mm_set1_epi8('\r')));
    /* movemask takes each byte's top bit: set for non-ASCII bytes and for the matches. */
    return _mm_movemask_epi8(_mm_or_si128(v, special)) == 0;
#else
    /* Two 64-bit words, with the classic "has a zero byte" test (exact as a yes/no answer). */
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    for (int k = 0; k < 2; k++) {
        uint64_t w;
        memcpy(&w, p + 8 * k, 8);
        uint64_t cr = w ^ (ones * '\r');
        if (((w | ((w - ones) & ~w) | ((cr - ones) & ~cr)) & highs) != 0)
            return 0;
    }
    return 1;
#endif
}

/* True when the 64 bytes at p are clean, as block_clean() says of 16. */
static inline int blocks4_clean(const unsigned char *p)
{
#if defined(__SSE2__)
    const __m128i z = _mm_setzero_si128(), cr = _mm_set1_epi8('\r');
    __m128i acc = z;
    for (int k = 0; k < 4; k++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k));
        acc = _mm_or_si128(
            acc, _mm_or_si128(v, _mm_or_si128(_mm_cmpeq_epi8(v, z), _mm_cmpeq_epi8(v, cr))));
    }
    return _mm_movemask_epi8(acc) == 0;
#else
    return block_clean(p) && block_clean(p + 16) && block_clean(p + 32) && block_clean(p + 48);
#endif
}

/* Index of the first byte at or after @p i that normalisation must change: a CR, a NUL or the
 * start of an ill-formed UTF-8 sequence; @p n when there is none. Well-formed text is skipped
 * 16 bytes at a time while it is plain ASCII. */
static size_t next_fault(const unsigned char *p, size_t i, size_t n)
{
    while (i < n) {
        /* Four blocks per test first: most pages are long runs of clean ASCII. */
        while (n - i >= 64 && blocks4_clean(p + i))
            i += 64;
        while (n - i >= 16 && block_clean(p + i))
            i += 16;
        /* Look at the bytes one by one until the end of the block that stopped the fast loop. */
        size_t stop = n - i >= 16 ? i + 16 : n;
        while (i < stop) {
            unsigned char c = p[i];
            if (c < 0x80) {
                if (c == '\r' || c == 0)
                    return i;
                i++;
            } else {
                size_t k = fmd_utf8_decode(p + i, n - i, NULL);
                if (k == 0)
                    return i;
                i += k; /* may step past stop: the outer loop carries on from there */
            }
        }
    }
    return n;
}

/* 1-based line of offset @p end in @p p, counting LF, CRLF and a lone CR as one line break each
 * (the line it will have once normalised). */
static unsigned line_of(const unsigned char *p, size_t end)
{
    unsigned line = 1;
    for (size_t i = 0; i < end; i++) {
        if (p[i] == '\n' || (p[i] == '\r' && (i + 1 >= end || p[i + 1] != '\n')))
            line++;
    }
    return line;
}

/*** The transform ***/

fmd_status fmd__kernel_normalize(const char *src, size_t len, fmd_arena *scratch, fmd_slice *out,
                                 fmd__norm_report *rep)
{
    const unsigned char *p = (const unsigned char *)src;
    fmd__norm_report r = {false, 0, 0, 0};

    if (len >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) {
        /* Dropping the BOM needs no copy: the text starts 3 bytes later. */
        p += 3;
        len -= 3;
        r.changed = true;
    }

    size_t first = next_fault(p, 0, len);
    if (first == len) {
        out->ptr = (const char *)p;
        out->len = len;
        *rep = r;
        return FMD_OK;
    }

    /* Pass 1: the exact size of the output and the report, so that the copy is sized once.
     * A CRLF loses a byte, a NUL (1 byte) and each maximal subpart (1 to 3 bytes) become 3. */
    size_t out_len = len;
    for (size_t i = first; i < len; i = next_fault(p, i, len)) {
        if (p[i] == '\r') {
            if (i + 1 < len && p[i + 1] == '\n')
                out_len--;
            i++;
        } else if (p[i] == 0) {
            r.nul_bytes++;
            out_len += 2;
            i++;
        } else {
            size_t bad = fmd_utf8_subpart(p + i, len - i);
            if (r.invalid_utf8 == 0)
                r.first_invalid_line = line_of(p, i);
            r.invalid_utf8++;
            out_len += 3 - bad; /* bad <= 3, so this never underflows */
            i += bad;
        }
    }

    char *dst = fmd_arena_alloc(scratch, out_len);
    if (dst == NULL)
        return FMD_E_NOMEM;

    /* Pass 2: copy the clean runs and rewrite the faults between them. */
    size_t o = first;
    memcpy(dst, p, first);
    for (size_t i = first; i < len;) {
        if (p[i] == '\r') {
            dst[o++] = '\n';
            i += (i + 1 < len && p[i + 1] == '\n') ? 2 : 1;
        } else {
            size_t bad = p[i] != 0 ? fmd_utf8_subpart(p + i, len - i) : 1;
            memcpy(dst + o, replacement, 3);
            o += 3;
            i += bad;
        }
        size_t next = next_fault(p, i, len);
        memcpy(dst + o, p + i, next - i);
        o += next - i;
        i = next;
    }

    assert(o == out_len);
    out->ptr = dst;
    out->len = o;
    r.changed = true;
    *rep = r;
    return FMD_OK;
}
