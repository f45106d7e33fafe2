/* SPDX-License-Identifier: MIT */
/* A stand-in for `fastmd render` with the options the cmark-gfm comparison needs, built on
 * fmd_kernel alone: `fmd_compare_render render [--footnotes] [--smart] [--unsafe]
 * [--no-heading-ids] [--html5]` renders stdin to stdout. compare.mjs runs it (or the real
 * binary, once `fastmd render` has --footnotes and --smart). Exit 1 when the page fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmd_kernel.h"

int main(int argc, char **argv)
{
    fmd_options o;
    fmd_kernel_options_init(&o);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "render") == 0 || strcmp(argv[i], "-") == 0)
            continue;
        if (strcmp(argv[i], "--footnotes") == 0)
            o.extensions |= FMD_EXT_FOOTNOTES;
        else if (strcmp(argv[i], "--smart") == 0)
            o.extensions |= FMD_EXT_SMART;
        else if (strcmp(argv[i], "--unsafe") == 0)
            o.unsafe = true;
        else if (strcmp(argv[i], "--no-heading-ids") == 0)
            o.heading_ids = false;
        else if (strcmp(argv[i], "--html5") == 0)
            o.xhtml = false;
        else {
            fprintf(stderr, "fmd_compare_render: unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (size_t n; buf != NULL && (n = fread(buf + len, 1, cap - len, stdin)) > 0;) {
        len += n;
        if (len == cap) {
            char *grown = realloc(buf, cap *= 2);
            if (grown == NULL)
                free(buf);
            buf = grown;
        }
    }
    fmd_arena *out = NULL, *scratch = NULL;
    if (buf == NULL || fmd_arena_create(&out, 0) != FMD_OK ||
        fmd_arena_create(&scratch, 0) != FMD_OK) {
        fprintf(stderr, "fmd_compare_render: out of memory\n");
        return 1;
    }
    fmd_result res;
    fmd_status st = fmd_kernel_render_page(buf, len, &o, out, scratch, &res);
    fwrite(res.html.ptr, 1, res.html.len, stdout);
    if (st != FMD_OK)
        fprintf(stderr, "fmd_compare_render: %s\n", fmd_status_str(st));
    fmd_arena_destroy(out);
    fmd_arena_destroy(scratch);
    free(buf);
    return st == FMD_OK ? 0 : 1;
}
