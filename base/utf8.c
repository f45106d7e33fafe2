/* SPDX-License-Identifier: MIT */
/* The out-of-line parts of the strict UTF-8 decoder (fmd_utf8.h): whole-string validation and
 * the maximal subpart of an ill-formed sequence. The decoder itself is inline in the header. */
#include "fmd_utf8.h"

size_t fmd_utf8_subpart(const unsigned char *s, size_t n)
{
    unsigned lo = 0, hi = 0;
    size_t len = fmd_utf8_lead(s[0], &lo, &hi);
    if (len < 2 || n < 2 || s[1] < lo || s[1] > hi)
        return 1;
    size_t i = 2; /* the lead and its second byte fit; count the continuation bytes after */
    while (i < len && i < n && (s[i] & 0xC0u) == 0x80)
        i++;
    return i;
}

bool fmd_utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t l = fmd_utf8_decode(u + i, n - i, NULL);
        if (l == 0)
            return false;
        i += l;
    }
    return true;
}
