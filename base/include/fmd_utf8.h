/* SPDX-License-Identifier: MIT */
/* The one UTF-8 decoder outside the kernel: strict (shortest forms only, no surrogates, nothing
 * past U+10FFFF), as RFC 3629 defines it. libc only; no state. */
#ifndef FMD_UTF8_H
#define FMD_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Decode the UTF-8 sequence at s[0..n).
 * Example: "\xC3\xA9" gives 2 and *cp = 0xE9; "\xC0\xAF" (an overlong '/') gives 0.
 * @param s at least one byte (@p n >= 1). @param cp receives the code point; may be NULL.
 * @return the sequence's length (1 to 4), or 0 when it is invalid or cut short (*cp unchanged).
 * Threads: reentrant. */
size_t fmd_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/** Whether s[0..n) is valid UTF-8 (n may be 0; s may then be NULL). Threads: reentrant. */
bool fmd_utf8_valid(const char *s, size_t n);

/* Thread safety: reentrant; no state. */

#endif
