/* SPDX-License-Identifier: MIT */
/* The cmark-gfm baseline of bench/whole-process.sh: read every page under SRC and render it with
 * cmark-gfm and its GFM extensions (table, strikethrough, autolink, tasklist) into one output
 * file, one thread.   fmd-cmark-loop SRC OUT */
#include "page_walk.h"

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm.h>

static const char *const extensions[] = {"table", "strikethrough", "autolink", "tasklist"};

static void render(int dirfd, const char *name, const char *rel, const char *text, size_t len,
                   void *ud)
{
    (void)dirfd, (void)name, (void)rel;
    cmark_parser *p = cmark_parser_new(CMARK_OPT_DEFAULT);
    for (size_t i = 0; i < sizeof extensions / sizeof *extensions; i++)
        cmark_parser_attach_syntax_extension(p, cmark_find_syntax_extension(extensions[i]));
    cmark_parser_feed(p, text, len);
    cmark_node *doc = cmark_parser_finish(p);
    char *html = cmark_render_html(doc, CMARK_OPT_DEFAULT, cmark_parser_get_syntax_extensions(p));
    fputs(html, (FILE *)ud);
    free(html);
    cmark_node_free(doc);
    cmark_parser_free(p);
}

int main(int argc, char **argv)
{
    cmark_gfm_core_extensions_ensure_registered();
    return page_walk_main(argc, argv, render, "cmark-gfm loop");
}
