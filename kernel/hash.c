/* SPDX-License-Identifier: MIT */
/* The content hash: XXH3-64, seed 0. The only file of the project that includes xxhash.h; it
 * inlines the whole of xxHash so the hash costs no call into a shared library. */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "internal.h"

uint64_t fmd__kernel_hash(const void *p, size_t n)
{
    return (uint64_t)XXH3_64bits(p, n);
}

void fmd_kernel_format_hash(uint64_t hash, char hex[17])
{
    /* Big-endian canonical form, like XXH64_canonicalFromHash: the most significant byte first. */
    static const char digits[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--) {
        hex[i] = digits[hash & 15];
        hash >>= 4;
    }
    hex[16] = '\0';
}

void fmd_kernel_hash128_hex(const void *p, size_t n, char hex[33])
{
    /* XXH3-128, seed 0, in its canonical form: big-endian, the high 64 bits first. */
    static const char digits[] = "0123456789abcdef";
    XXH128_canonical_t canon;
    XXH128_canonicalFromHash(&canon, XXH3_128bits(p, n));
    for (size_t i = 0; i < sizeof canon.digest; i++) {
        hex[2 * i] = digits[canon.digest[i] >> 4];
        hex[2 * i + 1] = digits[canon.digest[i] & 15];
    }
    hex[32] = '\0';
}
