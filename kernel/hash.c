/* SPDX-License-Identifier: MIT */
/* The content hash: XXH3-64, seed 0. The only file of the project that includes xxhash.h; it
 * inlines the whole of xxHash so the hash costs no call into a shared library. */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "fmd_hash.h"
#include "internal.h"

uint64_t fmd__kernel_hash(const void *p, size_t n)
{
    return (uint64_t)XXH3_64bits(p, n);
}

uint64_t fmd_kernel_hash(const void *p, size_t n)
{
    return (uint64_t)XXH3_64bits(p, n);
}

void fmd_kernel_hash_format(uint64_t hash, char hex[17])
{
    fmd_hex_u64(hash, hex); /* big-endian canonical form, like XXH64_canonicalFromHash */
}

void fmd_kernel_hash128_format(const void *p, size_t n, char hex[33])
{
    /* XXH3-128, seed 0, in its canonical form: big-endian, the high 64 bits first. */
    XXH128_canonical_t canon;
    XXH128_canonicalFromHash(&canon, XXH3_128bits(p, n));
    fmd_hex_bytes(canon.digest, sizeof canon.digest, hex);
}
