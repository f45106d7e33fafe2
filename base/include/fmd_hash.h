/* SPDX-License-Identifier: MIT */
/* Small hashes for tables (FNV-1a) and the one hash-to-hex formatter: bytes and 64-bit values as
 * lower-case hex, big-endian (the canonical form xxHash prints). The content hash (XXH3) is the
 * kernel's. libc only; no state. */
#ifndef FMD_HASH_H
#define FMD_HASH_H

#include <stddef.h>
#include <stdint.h>

/** FNV-1a, 64 bits, of the @p n bytes at @p s: a fast hash for hash tables and cache keys (not
 * for content: see the kernel's XXH3). fmd_fnv1a64("", 0) is 14695981039346656037.
 * @param s may be NULL when n is 0. Threads: reentrant. */
uint64_t fmd_fnv1a64(const char *s, size_t n);

/** The lower-case hex digits, "0123456789abcdef": the one table of them, for the formatters
 * below and the JSON writer's \u00XX escapes. */
extern const char fmd_hex_digits[17];

/** Write @p v as 16 lower-case hex digits, most significant first, then a NUL:
 * 0x0123456789abcdef gives "0123456789abcdef". @param out 17 bytes.
 * Threads: reentrant. */
void fmd_hex_u64(uint64_t v, char out[17]);

/** Write the @p n bytes at @p p as 2 * n lower-case hex digits, in order, then a NUL:
 * {0xAB, 0x01} gives "ab01". @param p may be NULL when n is 0. @param out 2 * n + 1 bytes.
 * Threads: reentrant. */
void fmd_hex_bytes(const void *p, size_t n, char *out);

/* Thread safety: reentrant; no state. */

#endif
