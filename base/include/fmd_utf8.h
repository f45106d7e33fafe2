/* SPDX-License-Identifier: MIT */
/* The one UTF-8 decoder of fastmd: strict (shortest forms only, no surrogates, nothing past
 * U+10FFFF), as RFC 3629 and the Unicode standard (section 3.9, table 3-7) define it. The decoder
 * is static inline because the kernel calls it once per non-ASCII character of every page.
 * libc only; no state. */
#ifndef FMD_UTF8_H
#define FMD_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Classify a lead byte by table 3-7 of the Unicode standard.
 * Example: 0xE0 gives 3 with *lo = 0xA0, *hi = 0xBF (no overlong forms); 0xC0 gives 0.
 * @param c the first byte of a sequence. @param lo, hi receive the range allowed for the second
 * byte (set only when the result is 2 to 4).
 * @return the length of the sequence c starts (1 for ASCII, 2 to 4), or 0 when c starts none:
 * a continuation byte, C0/C1 (always overlong) or F5..FF (past U+10FFFF).
 * Threads: reentrant. */
static inline size_t fmd_utf8_lead(unsigned c, unsigned *lo, unsigned *hi)
{
    if (c < 0x80)
        return 1;
    *lo = 0x80;
    *hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        return 2;
    if (c >= 0xE0 && c <= 0xEF) {
        if (c == 0xE0)
            *lo = 0xA0; /* no overlong forms */
        else if (c == 0xED)
            *hi = 0x9F; /* no surrogates */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (c == 0xF0)
            *lo = 0x90; /* no overlong forms */
        else if (c == 0xF4)
            *hi = 0x8F; /* nothing past U+10FFFF */
        return 4;
    }
    return 0;
}

/** Decode the UTF-8 sequence at s[0..n).
 * Example: "\xC3\xA9" gives 2 and *cp = 0xE9; "\xC0\xAF" (an overlong '/') gives 0.
 * @param s at least one byte (@p n >= 1). @param cp receives the code point; may be NULL.
 * @return the sequence's length (1 to 4), or 0 when it is invalid or cut short (*cp unchanged).
 * Threads: reentrant. */
static inline size_t fmd_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned c = s[0];
    if (c < 0x80) { /* the common case, kept apart so that it stays two instructions */
        if (cp != NULL)
            *cp = c;
        return 1;
    }
    unsigned lo = 0, hi = 0;
    size_t len = fmd_utf8_lead(c, &lo, &hi);
    if (len == 0 || n < len || s[1] < lo || s[1] > hi)
        return 0;
    /* The lead byte's payload: 5, 4 or 3 bits for lengths 2, 3 and 4. */
    uint32_t v = c & (0x7Fu >> len);
    v = (v << 6) | (s[1] & 0x3Fu);
    for (size_t i = 2; i < len; i++) {
        if ((s[i] & 0xC0u) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3Fu);
    }
    if (cp != NULL)
        *cp = v;
    return len;
}

/** The length of the maximal subpart of the ill-formed sequence at s[0..n): the bytes that one
 * U+FFFD replaces ("U+FFFD Substitution of Maximal Subparts", Unicode section 3.9).
 * Example: "\xE2\x82(" gives 2; "\xC0\xAF" gives 1 (C0 starts no sequence, so it stands alone).
 * @pre n >= 1 and fmd_utf8_decode(s, n, NULL) == 0.
 * @return 1 to 3. Threads: reentrant. */
size_t fmd_utf8_subpart(const unsigned char *s, size_t n);

/** Whether s[0..n) is valid UTF-8 (n may be 0; s may then be NULL). Threads: reentrant. */
bool fmd_utf8_valid(const char *s, size_t n);

/* Thread safety: reentrant; no state. */

#endif
