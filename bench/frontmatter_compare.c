/* SPDX-License-Identifier: MIT */
/* fmd-frontmatter-compare: the front matter fast path against the libfyaml path over every page
 * of a tree. Each page is normalised as fastmd normalises it, its block found, and the block
 * converted both ways; json, title and status must be the same bytes whenever the fast path
 * takes a block. Prints the counts and every difference; exits 1 on a difference.
 * With --time N it also times both paths over the blocks (N interleaved runs, medians); with
 * --only auto|libfyaml it converts every block once more with that path alone, for instruction
 * counts under callgrind (subtract a run with --only none: the walk and the comparison).
 *   fmd-frontmatter-compare [--time N | --only auto|libfyaml|none] DIR */
#include "page_walk.h" /* first: it defines _GNU_SOURCE */

#include <stdbool.h>
#include <time.h>

#include "bench_time.h"
#include "internal.h"

typedef struct block {
    char *yaml;
    size_t n;
} block;

typedef struct state {
    fmd_arena *arena;
    block *blocks;
    size_t n_blocks, cap;
    size_t with_fm, taken, differ;
} state;

/* Where the YAML of a closed block ends: the start of the closing line, which ends at body. */
static size_t close_line_start(const char *s, size_t body)
{
    size_t end = body > 0 && s[body - 1] == '\n' ? body - 1 : body;
    while (end > 0 && s[end - 1] != '\n')
        end--;
    return end;
}

static bool same(const fmd__frontmatter *a, const fmd__frontmatter *b)
{
    return a->st == b->st && a->json.len == b->json.len &&
           (a->json.len == 0 || memcmp(a->json.ptr, b->json.ptr, a->json.len) == 0) &&
           (a->title.ptr == NULL) == (b->title.ptr == NULL) && a->title.len == b->title.len &&
           (a->title.len == 0 || memcmp(a->title.ptr, b->title.ptr, a->title.len) == 0);
}

static void on_page(int dirfd, const char *name, const char *rel, const char *text, size_t len,
                    void *ud)
{
    (void)dirfd;
    (void)name;
    state *s = ud;
    fmd_arena_reset(s->arena);
    fmd_slice norm;
    fmd__norm_report rep;
    fmd__frontmatter fm;
    if (fmd__kernel_normalize(text, len, s->arena, &norm, &rep) != FMD_OK ||
        fmd__kernel_frontmatter(norm.ptr, norm.len, 0, s->arena, &fm) != FMD_OK)
        abort();
    if (!fm.present || fm.body_offset == 0)
        return;
    s->with_fm++;
    const char *nl = memchr(norm.ptr, '\n', norm.len);
    size_t from = (size_t)(nl - norm.ptr) + 1;
    size_t to = close_line_start(norm.ptr, fm.body_offset);
    fmd__frontmatter fast, slow;
    bool used = false;
    memset(&fast, 0, sizeof fast);
    memset(&slow, 0, sizeof slow);
    if (fmd__kernel_frontmatter_yaml(norm.ptr + from, to - from, FMD__FM_PATH_FAST, s->arena, &fast,
                                     &used) != FMD_OK ||
        fmd__kernel_frontmatter_yaml(norm.ptr + from, to - from, FMD__FM_PATH_LIBFYAML, s->arena,
                                     &slow, NULL) != FMD_OK)
        abort();
    if (used) {
        s->taken++;
        if (!same(&fast, &slow)) {
            s->differ++;
            printf("DIFFERENT %s\n  fast:     %.*s\n  libfyaml: %.*s\n", rel, (int)fast.json.len,
                   fast.json.ptr ? fast.json.ptr : "", (int)slow.json.len,
                   slow.json.ptr ? slow.json.ptr : "");
        }
    }
    if (s->n_blocks == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 1024;
        if ((s->blocks = realloc(s->blocks, s->cap * sizeof *s->blocks)) == NULL)
            abort();
    }
    block *b = &s->blocks[s->n_blocks++];
    b->n = to - from;
    if ((b->yaml = malloc(b->n + 1)) == NULL)
        abort();
    memcpy(b->yaml, norm.ptr + from, b->n);
}

static double time_path(state *s, fmd__fm_path path)
{
    double t0 = bench_now();
    for (size_t i = 0; i < s->n_blocks; i++) {
        fmd__frontmatter fm;
        memset(&fm, 0, sizeof fm);
        fmd_arena_reset(s->arena);
        if (fmd__kernel_frontmatter_yaml(s->blocks[i].yaml, s->blocks[i].n, path, s->arena, &fm,
                                         NULL) != FMD_OK)
            abort();
    }
    return bench_now() - t0;
}

int main(int argc, char **argv)
{
    int runs = 0, only = -1;
    if (argc == 4 && strcmp(argv[1], "--time") == 0)
        runs = atoi(argv[2]);
    if (argc == 4 && strcmp(argv[1], "--only") == 0)
        only = strcmp(argv[2], "auto") == 0       ? FMD__FM_PATH_AUTO
               : strcmp(argv[2], "libfyaml") == 0 ? FMD__FM_PATH_LIBFYAML
               : strcmp(argv[2], "none") == 0     ? 99
                                                  : -1;
    if (argc != 2 && !(argc == 4 && ((runs > 0 && runs <= 1000) || only >= 0))) {
        fprintf(stderr, "usage: %s [--time N | --only auto|libfyaml|none] DIR\n", argv[0]);
        return 2;
    }
    state s = {0};
    if (fmd_arena_create(&s.arena, 0) != FMD_OK)
        return 1;
    page_walk w = {.fn = on_page, .ud = &s};
    if (page_walk_run(&w, argv[argc - 1]) != 0)
        return 1;
    printf("%zu pages, %zu with a closed front matter block, %zu taken by the fast path, "
           "%zu different from libfyaml\n",
           w.pages, s.with_fm, s.taken, s.differ);
    if (only >= 0 && only != 99)
        (void)time_path(&s, (fmd__fm_path)only);
    if (runs > 0) {
        double *fast = malloc((size_t)runs * sizeof *fast);
        double *slow = malloc((size_t)runs * sizeof *slow);
        if (fast == NULL || slow == NULL)
            abort();
        for (int r = 0; r < runs; r++) {
            fast[r] = time_path(&s, FMD__FM_PATH_AUTO);
            slow[r] = time_path(&s, FMD__FM_PATH_LIBFYAML);
        }
        double mf = bench_median(fast, runs), ms = bench_median(slow, runs);
        printf("all blocks, median of %d interleaved runs: fast path + fallback %.2f ms, libfyaml "
               "only %.2f ms, ratio %.3f\n",
               runs, mf * 1e3, ms * 1e3, mf / ms);
        free(fast);
        free(slow);
    }
    for (size_t i = 0; i < s.n_blocks; i++)
        free(s.blocks[i].yaml);
    free(s.blocks);
    fmd_arena_destroy(s.arena);
    return s.differ != 0;
}
