/* SPDX-License-Identifier: MIT */
/* Parsing the numbers that flags and environment variables carry: whole numbers in a range and
 * byte sizes with binary suffixes. Strict: the whole string must be the number, with no sign,
 * space or trailing text. libc only; never prints. */
#ifndef FMD_NUMBER_H
#define FMD_NUMBER_H

#include <stdbool.h>
#include <stddef.h>

/** Parse a whole decimal number from @p lo to @p hi, such as "256".
 * @pre @p s may be NULL (false). @return true and *out on success; false on an empty string, a
 * sign, trailing text, overflow or a value outside [lo, hi] (*out is then unchanged).
 * Threads: reentrant. */
bool fmd_uint_parse(const char *s, unsigned long long lo, unsigned long long hi,
                    unsigned long long *out);

/** Parse a size such as 65536, 64K, 16M or 1G (binary units; k/m/g too, and an optional "B" or
 * "iB" after the suffix, so 16MiB and 16MB are 16M).
 * @pre @p s may be NULL (false). @return true and *out on success; false on an empty string, a
 * sign, an unknown suffix or a size that does not fit in size_t (*out is then unchanged).
 * Threads: reentrant. */
bool fmd_size_parse(const char *s, size_t *out);

/* Thread safety: reentrant; no state. */

#endif
