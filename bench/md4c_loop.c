/* SPDX-License-Identifier: MIT */
/* The md4c baseline of bench/whole-process.sh: read every page under SRC and render it with
 * md4c's md_html (GitHub dialect, as fastmd's default) into one output file, one thread.
 *   fmd-md4c-loop SRC OUT */
#include "page_walk.h"

#include <md4c-html.h>

static void sink(const MD_CHAR *text, MD_SIZE size, void *ud)
{
    fwrite(text, 1, size, (FILE *)ud);
}

static void render(int dirfd, const char *name, const char *rel, const char *text, size_t len,
                   void *ud)
{
    (void)dirfd, (void)name, (void)rel;
    md_html(text, (MD_SIZE)len, sink, ud, MD_DIALECT_GITHUB, 0);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s SRC OUT\n", argv[0]);
        return 2;
    }
    FILE *out = fopen(argv[2], "w");
    if (out == NULL) {
        perror(argv[2]);
        return 1;
    }
    page_walk w = {.fn = render, .ud = out};
    int rc = page_walk_run(&w, argv[1]);
    if (fclose(out) != 0 || rc != 0)
        return 1;
    fprintf(stderr, "md4c loop: %zu pages, %zu bytes\n", w.pages, w.bytes);
    return 0;
}
