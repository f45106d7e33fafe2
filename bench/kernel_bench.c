/* SPDX-License-Identifier: MIT */
/* fmd-kernel-bench: fastmd's kernel against md4c's own HTML renderer (md4c-html), both looping
 * over the same pages already in memory, on one thread, interleaved run by run so that machine
 * noise hits both alike. Prints medians, min-max and the ratio. Not a test: a measurement.
 * `--only fastmd|md4c` runs one side alone (any N >= 1), for instruction counts under callgrind:
 *   valgrind --tool=callgrind fmd-kernel-bench --only fastmd --runs 1 DIR
 *   fmd-kernel-bench [--runs N] [--dialect gfm|commonmark] [--only fastmd|md4c] DIR */
#include <md4c-html.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_time.h"
#include "fmd_io.h"
#include "fmd_kernel.h"

/* md4c-html's output sink: append to a growing buffer, as md2html does. */
typedef struct sink {
    char *p;
    size_t len, cap;
} sink;

static void sink_append(const MD_CHAR *text, MD_SIZE size, void *ud)
{
    sink *s = ud;
    if (s->len + size > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + size)
            cap *= 2;
        char *p = realloc(s->p, cap);
        if (p == NULL)
            abort();
        s->p = p;
        s->cap = cap;
    }
    memcpy(s->p + s->len, text, size);
    s->len += size;
}

int main(int argc, char **argv)
{
    int runs = 11;
    fmd_dialect dialect = FMD_DIALECT_GFM;
    const char *dir = NULL;
    int only = 0; /* 0: both, 1: fastmd alone, 2: md4c-html alone */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--dialect") == 0 && i + 1 < argc)
            dialect =
                strcmp(argv[++i], "commonmark") == 0 ? FMD_DIALECT_COMMONMARK : FMD_DIALECT_GFM;
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            i++;
            only = strcmp(argv[i], "fastmd") == 0 ? 1 : strcmp(argv[i], "md4c") == 0 ? 2 : -1;
        } else
            dir = argv[i];
    }
    if (dir == NULL || only < 0 || runs < (only ? 1 : 3)) {
        fprintf(stderr, "usage: fmd-kernel-bench [--runs N>=3] [--dialect D] "
                        "[--only fastmd|md4c (then N>=1)] DIR\n");
        return 64;
    }

    fmd_io_batch *b = NULL;
    int err = 0;
    if (fmd_io_tree_enumerate(dir, 1, &b, &err) != FMD_OK) {
        fprintf(stderr, "cannot read %s\n", dir);
        return 66;
    }
    size_t n;
    fmd_io_batch_pages(b, &n);
    fmd_io_input in;
    if (fmd_io_pages_load(b, 0, n, 0, 1, &in) != FMD_OK)
        return 74;

    fmd_options opt;
    fmd_kernel_options_default(&opt);
    opt.dialect = dialect;
    unsigned md_flags = dialect == FMD_DIALECT_GFM ? MD_DIALECT_GITHUB : MD_DIALECT_COMMONMARK;

    fmd_arena *out = NULL, *scratch = NULL;
    fmd_arena_create(&out, (size_t)1 << 20);
    fmd_arena_create(&scratch, 0);
    sink s = {0};
    double *t_fmd = calloc((size_t)runs, sizeof(double));
    double *t_md4c = calloc((size_t)runs, sizeof(double));
    size_t out_fmd = 0, out_md4c = 0;

    /* One warm-up round of each, discarded, then interleaved timed rounds (none alone). */
    for (int r = only ? 0 : -1; r < runs; r++) {
        double t = bench_now();
        out_fmd = 0;
        for (size_t i = 0; only != 2 && i < n; i++) {
            fmd_result res;
            fmd_kernel_page_render(in.base + in.refs[i].offset, in.refs[i].len, &opt, out, scratch,
                                   &res);
            out_fmd += res.html.len;
            fmd_arena_reset(out);
        }
        double t1 = bench_now();
        out_md4c = 0;
        for (size_t i = 0; only != 1 && i < n; i++) {
            s.len = 0;
            md_html(in.base + in.refs[i].offset, (MD_SIZE)in.refs[i].len, sink_append, &s, md_flags,
                    0);
            out_md4c += s.len;
        }
        double t2 = bench_now();
        if (r >= 0) {
            t_fmd[r] = t1 - t;
            t_md4c[r] = t2 - t1;
        }
    }
    double lo_f = t_fmd[0], hi_f = t_fmd[0], lo_m = t_md4c[0], hi_m = t_md4c[0];
    for (int r = 0; r < runs; r++) {
        lo_f = t_fmd[r] < lo_f ? t_fmd[r] : lo_f;
        hi_f = t_fmd[r] > hi_f ? t_fmd[r] : hi_f;
        lo_m = t_md4c[r] < lo_m ? t_md4c[r] : lo_m;
        hi_m = t_md4c[r] > hi_m ? t_md4c[r] : hi_m;
    }
    double mf = bench_median(t_fmd, runs), mm = bench_median(t_md4c, runs);
    printf("pages %zu, input %.2f MB, %d runs (%s), 1 thread, dialect %s\n", n,
           (double)in.size / 1e6, runs, only ? "no warm-up" : "1 warm-up discarded",
           dialect == FMD_DIALECT_GFM ? "gfm" : "commonmark");
    printf("%-26s %10s %10s %10s %12s %10s\n", "renderer", "median ms", "min ms", "max ms",
           "us/page", "out MB");
    printf("%-26s %10.2f %10.2f %10.2f %12.2f %10.2f\n", "fastmd kernel (full page)", mf * 1e3,
           lo_f * 1e3, hi_f * 1e3, mf * 1e6 / (double)n, (double)out_fmd / 1e6);
    printf("%-26s %10.2f %10.2f %10.2f %12.2f %10.2f\n", "md4c-html (md_html)", mm * 1e3,
           lo_m * 1e3, hi_m * 1e3, mm * 1e6 / (double)n, (double)out_md4c / 1e6);
    if (only == 0)
        printf("ratio fastmd / md4c-html: %.3f (target <= 0.67)\n", mf / mm);

    free(s.p);
    free(t_fmd);
    free(t_md4c);
    fmd_arena_destroy(out);
    fmd_arena_destroy(scratch);
    fmd_io_input_destroy(&in);
    fmd_io_batch_destroy(b);
    return 0;
}
