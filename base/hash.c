/* SPDX-License-Identifier: MIT */
/* FNV-1a and the one hash-to-hex formatter (fmd_hash.h). */
#include "fmd_hash.h"

const char fmd_hex_digits[17] = "0123456789abcdef";

void fmd_hex_u64(uint64_t v, char out[17])
{
    /* Big-endian, like XXH64_canonicalFromHash: the most significant digit first. */
    for (int i = 15; i >= 0; i--) {
        out[i] = fmd_hex_digits[v & 15];
        v >>= 4;
    }
    out[16] = '\0';
}

void fmd_hex_bytes(const void *p, size_t n, char *out)
{
    const unsigned char *u = p;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = fmd_hex_digits[u[i] >> 4];
        out[2 * i + 1] = fmd_hex_digits[u[i] & 15];
    }
    out[2 * n] = '\0';
}

uint64_t fmd_fnv1a64(const char *s, size_t n)
{
    uint64_t h = 14695981039346656037ull; /* the FNV-1a 64-bit offset basis and prime */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}
