/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for fmd_kernel_page_render (FMD_FUZZ=ON, clang). The first input byte picks
 * the options (dialect, unsafe, heading IDs, footnotes, smart, xhtml, a small output limit);
 * the rest is the page. Arenas are reused across inputs, as the batch loop reuses them.
 *   cmake -S . -B build/fuzz -DCMAKE_C_COMPILER=clang -DFMD_FUZZ=ON && cmake --build build/fuzz
 *   ./build/fuzz/tests/fuzz_render -max_total_time=60 tests/fuzz/corpus */
#include <stddef.h>
#include <stdint.h>

#include "fmd_kernel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fmd_arena *out, *scratch; /* the harness's own state, not the kernel's */
    if (out == NULL &&
        (fmd_arena_create(&out, 0) != FMD_OK || fmd_arena_create(&scratch, 0) != FMD_OK))
        return 0;
    unsigned sel = size ? data[0] : 0;
    fmd_options opt;
    fmd_kernel_options_default(&opt);
    fmd_kernel_options_set_dialect(&opt, (sel & 1) ? FMD_DIALECT_COMMONMARK : FMD_DIALECT_GFM);
    opt.unsafe = (sel & 2) != 0;
    opt.heading_ids = (sel & 4) == 0;
    if (sel & 8)
        opt.extensions |= FMD_EXT_FOOTNOTES;
    if (sel & 16)
        opt.extensions |= FMD_EXT_SMART;
    opt.xhtml = (sel & 32) == 0;
    if (sel & 64)
        opt.max_output_bytes = 4096; /* exercise the output limit's abort path */
    fmd_result r;
    fmd_kernel_page_render(size ? (const char *)data + 1 : "", size ? size - 1 : 0, &opt, out,
                           scratch, &r);
    fmd_arena_reset(out);
    fmd_arena_reset(scratch);
    return 0;
}
