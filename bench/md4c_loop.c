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
    return page_walk_main(argc, argv, render, "md4c loop");
}
