/* SPDX-License-Identifier: MIT */
/* fmd-own-render: `fastmd render` for one page on stdin, with the kernel built on fastmd's own
 * parser (fmd_kernel_own) whatever FMD_OWN_PARSER says, so that tests/spec/run-spec.mjs can hold
 * that parser to the CommonMark spec. Takes the same arguments as `fastmd render` that the spec
 * runners use: --dialect commonmark|gfm, --unsafe, --no-heading-ids. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmd_kernel.h"

int main(int argc, char **argv)
{
    fmd_options opt;
    fmd_kernel_options_default(&opt);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dialect") == 0 && i + 1 < argc) {
            i++;
            fmd_kernel_options_set_dialect(
                &opt, strcmp(argv[i], "gfm") == 0 ? FMD_DIALECT_GFM : FMD_DIALECT_COMMONMARK);
        } else if (strcmp(argv[i], "--unsafe") == 0) {
            opt.unsafe = true;
        } else if (strcmp(argv[i], "--no-heading-ids") == 0) {
            opt.heading_ids = false;
        }
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (buf == NULL)
            return 1;
        size_t k = fread(buf + len, 1, cap - len, stdin);
        len += k;
        if (k == 0)
            break;
        if (len == cap)
            buf = realloc(buf, cap *= 2);
    }
    fmd_arena *out, *scratch;
    if (fmd_arena_create(&out, 0) != FMD_OK || fmd_arena_create(&scratch, 0) != FMD_OK)
        return 1;
    fmd_result res;
    fmd_status st = fmd_kernel_page_render(buf, len, &opt, out, scratch, &res);
    if (st != FMD_OK || res.status != FMD_OK) {
        fprintf(stderr, "fmd-own-render: page failed (status %d)\n", (int)res.status);
        return 1;
    }
    fwrite(res.html.ptr, 1, res.html.len, stdout);
    fmd_arena_destroy(out);
    fmd_arena_destroy(scratch);
    free(buf);
    return 0;
}
