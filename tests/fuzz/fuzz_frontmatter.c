/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the front matter fast path (FMD_FUZZ=ON, clang): the input is the YAML
 * between the markers; whenever the fast path takes it, its JSON, title and status must be the
 * bytes the libfyaml path gives, else the harness aborts. The seeds are fast-path shapes.
 *   ./build/fuzz/tests/fuzz_frontmatter -max_total_time=60 CORPUS_COPY tests/fuzz/fm-corpus */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_slice(fmd_slice a, fmd_slice b)
{
    return (a.ptr == NULL) == (b.ptr == NULL) && a.len == b.len &&
           (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fmd_arena *arena; /* the harness's own state, not the kernel's */
    if (arena == NULL && fmd_arena_create(&arena, 0) != FMD_OK)
        return 0;
    const char *yaml = (const char *)data;
    fmd__frontmatter fast, slow;
    bool used = false;
    memset(&fast, 0, sizeof fast);
    memset(&slow, 0, sizeof slow);
    if (fmd__kernel_frontmatter_yaml(yaml, size, FMD__FM_PATH_FAST, arena, &fast, &used) !=
            FMD_OK ||
        !used) {
        fmd_arena_reset(arena);
        return 0;
    }
    if (fmd__kernel_frontmatter_yaml(yaml, size, FMD__FM_PATH_LIBFYAML, arena, &slow, NULL) !=
        FMD_OK) {
        fmd_arena_reset(arena);
        return 0;
    }
    if (slow.st != fast.st || !same_slice(slow.json, fast.json) ||
        !same_slice(slow.title, fast.title))
        abort(); /* the fast path wrote something libfyaml's path does not */
    fmd_arena_reset(arena);
    return 0;
}
