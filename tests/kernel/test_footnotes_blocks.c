/* SPDX-License-Identifier: MIT */
/* Footnotes among the other blocks (kernel/footnotes.c's pre-pass): a "[^x]:" line inside an HTML
 * block of each CommonMark type is not a definition; what ends a definition's lazy continuation;
 * the page's link reference definitions copied into a definition; a definition nested in
 * another. The expected HTML is cmark-gfm's (0.29.0.gfm.6, --extension footnotes --unsafe).
 * Then every allocation of such a page fails in turn (aligned_alloc, the arena's chunks, through
 * -Wl,--wrap): each failure is FMD_E_NOMEM, never a crash or a partial page. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

#include "render_env.h"

/*** Fault injection: the k-th aligned_alloc from now fails (0: none) ***/

static atomic_int fail_aligned;

void *__real_aligned_alloc(size_t align, size_t n);
void *__wrap_aligned_alloc(size_t align, size_t n);

void *__wrap_aligned_alloc(size_t align, size_t n)
{
    int v = atomic_load(&fail_aligned);
    if (v > 0 && atomic_fetch_sub(&fail_aligned, 1) == 1)
        return NULL;
    return __real_aligned_alloc(align, n);
}

/*** Cases ***/

/* The reference to footnote a from the paragraph "a[^a]", and the section that holds footnote a
 * with the text "A.", as cmark-gfm writes them. */
#define REF_A                                                                                      \
    "<p>a<sup class=\"footnote-ref\"><a href=\"#fn-a\" id=\"fnref-a\" "                            \
    "data-footnote-ref>1</a></sup></p>\n"
#define SECTION_A                                                                                  \
    "<section class=\"footnotes\" data-footnotes>\n"                                               \
    "<ol>\n"                                                                                       \
    "<li id=\"fn-a\">\n"                                                                           \
    "<p>A. <a href=\"#fnref-a\" class=\"footnote-backref\" data-footnote-backref "                 \
    "aria-label=\"Back to content\">\xE2\x86\xA9"                                                  \
    "</a></p>\n"                                                                                   \
    "</li>\n"                                                                                      \
    "</ol>\n"                                                                                      \
    "</section>\n"

typedef struct fcase {
    const char *md, *html;
} fcase;

/* clang-format off */
static const fcase cases[] = {
    /* an HTML block of type 1 (script) hides a definition until its end tag */
    {"a[^a]\n"
         "\n"
         "<script>\n"
         "[^a]: in script\n"
         "</script>\n"
         "\n"
         "[^a]: A.\n",
     REF_A
         "<script>\n"
         "[^a]: in script\n"
         "</script>\n"
         SECTION_A},
    /* type 2, a comment */
    {"a[^a]\n"
         "\n"
         "<!--\n"
         "[^a]: in comment\n"
         "-->\n"
         "\n"
         "[^a]: A.\n",
     REF_A
         "<!--\n"
         "[^a]: in comment\n"
         "-->\n"
         SECTION_A},
    /* type 3, a processing instruction */
    {"a[^a]\n"
         "\n"
         "<?php\n"
         "[^a]: in pi\n"
         "?>\n"
         "\n"
         "[^a]: A.\n",
     REF_A
         "<?php\n"
         "[^a]: in pi\n"
         "?>\n"
         SECTION_A},
    /* type 4, a declaration */
    {"a[^a]\n"
         "\n"
         "<!DOCTYPE html\n"
         "[^a]: in decl\n"
         ">\n"
         "\n"
         "[^a]: A.\n",
     REF_A
         "<!DOCTYPE html\n"
         "[^a]: in decl\n"
         ">\n"
         SECTION_A},
    /* type 5, CDATA */
    {"a[^a]\n"
         "\n"
         "<![CDATA[\n"
         "[^a]: in cdata\n"
         "]]>\n"
         "\n"
         "[^a]: A.\n",
     REF_A
         "<![CDATA[\n"
         "[^a]: in cdata\n"
         "]]>\n"
         SECTION_A},
    /* type 6 (div) until a blank line */
    {"a[^a]\n"
         "\n"
         "<div class=\"x\">\n"
         "[^a]: in div\n"
         "\n"
         "[^a]: A.\n",
     REF_A
         "<div class=\"x\">\n"
         "[^a]: in div\n"
         SECTION_A},
    /* type 7, a custom tag alone on its line */
    {"a[^a]\n"
         "\n"
         "<my-tag attr=\"1\">\n"
         "[^a]: in custom\n"
         "\n"
         "[^a]: A.\n",
     REF_A
         "<my-tag attr=\"1\">\n"
         "[^a]: in custom\n"
         SECTION_A},
    /* blocks opened and closed on one line, in any case */
    {"a[^a]\n"
         "\n"
         "<!-- one line -->\n"
         "[^a]: A.\n"
         "\n"
         "<PRE class=x>one</PRE>\n"
         "\n"
         "<style>p{}</style>\n"
         "<textarea>\n"
         "t\n"
         "</textarea>\n",
     REF_A
         "<!-- one line -->\n"
         "<PRE class=x>one</PRE>\n"
         "<style>p{}</style>\n"
         "<textarea>\n"
         "t\n"
         "</textarea>\n"
         SECTION_A},
    /* what ends a definition's lazy continuation: heading, quote, bullet, ordered item, break; an indented line continues it */
    {"a[^a] b[^b] c[^c] d[^d] e[^e] f[^f]\n"
         "\n"
         "[^a]: A\n"
         "lazy\n"
         "# heading\n"
         "\n"
         "[^b]: B\n"
         "> quote\n"
         "\n"
         "[^c]: C\n"
         "- item\n"
         "\n"
         "[^d]: D\n"
         "1. one\n"
         "\n"
         "[^e]: E\n"
         "***\n"
         "\n"
         "[^f]: F\n"
         "    indented continuation\n",
     "<p>a<sup class=\"footnote-ref\"><a href=\"#fn-a\" id=\"fnref-a\" data-footnote-ref>1</a></sup> b<sup class=\"footnote-ref\"><a href=\"#fn-b\" id=\"fnref-b\" data-footnote-ref>2</a></sup> c<sup class=\"footnote-ref\"><a href=\"#fn-c\" id=\"fnref-c\" data-footnote-ref>3</a></sup> d<sup class=\"footnote-ref\"><a href=\"#fn-d\" id=\"fnref-d\" data-footnote-ref>4</a></sup> e<sup class=\"footnote-ref\"><a href=\"#fn-e\" id=\"fnref-e\" data-footnote-ref>5</a></sup> f<sup class=\"footnote-ref\"><a href=\"#fn-f\" id=\"fnref-f\" data-footnote-ref>6</a></sup></p>\n"
         "<h1>heading</h1>\n"
         "<blockquote>\n"
         "<p>quote</p>\n"
         "</blockquote>\n"
         "<ul>\n"
         "<li>item</li>\n"
         "</ul>\n"
         "<ol>\n"
         "<li>one</li>\n"
         "</ol>\n"
         "<hr />\n"
         "<section class=\"footnotes\" data-footnotes>\n"
         "<ol>\n"
         "<li id=\"fn-a\">\n"
         "<p>A\n"
         "lazy <a href=\"#fnref-a\" class=\"footnote-backref\" data-footnote-backref aria-label=\"Back to content\">\xE2\x86\xA9""</a></p>\n"
         "</li>\n"
         "<li id=\"fn-b\">\n"
         "<p>B <a href=\"#fnref-b\" class=\"footnote-backref\" data-footnote-backref aria-label=\"Back to content\">\xE2\x86\xA9""</a></p>\n"
         "</li>\n"
         "<li id=\"fn-c\">\n"
         "<p>C <a href=\"#fnref-c\" class=\"footnote-backref\" data-footnote-backref aria-label=\"Back to content\">\xE2\x86\xA9""</a></p>\n"
         "</li>\n"
         "<li id=\"fn-d\">\n"
         "<p>D <a href=\"#fnref-d\" class=\"footnote-backref\" data-footnote-backref aria-label=\"Back to content\">\xE2\x86\xA9""</a></p>\n"
         "</li>\n"
         "<li id=\"fn-e\">\n"
         "<p>E <a href=\"#fnref-e\" class=\"footnote-backref\" data-footnote-backref aria-label=\"Back to content\">\xE2\x86\xA9""</a></p>\n"
         "</li>\n"
         "<li id=\"fn-f\">\n"
         "<p>F\n"
         "indented continuation <a href=\"#fnref-f\" class=\"footnote-backref\" data-footnote-backref aria-label=\"Back to content\">\xE2\x86\xA9""</a></p>\n"
         "</li>\n"
         "</ol>\n"
         "</section>\n"},
    /* one-line link reference definitions copied into a definition, and lines that are not ones */
    {"p[^a] [x] [y] [z] [w] [v]\n"
         "\n"
         "[x]: /u \"t\"\n"
         "[y]: </a b> (paren)\n"
         "[z]: /f(o)o 's'\n"
         "[w]: /q\n"
         "[v]: <\n"
         "[bad]: /a(b\n"
         "[bad2]: /a \"t\" junk\n"
         "[bad3]:/a\"t\"\n"
         "\n"
         "[^a]: see [x], [y], [z], [w] and [v]\n",
     "<p>p<sup class=\"footnote-ref\"><a href=\"#fn-a\" id=\"fnref-a\" data-footnote-ref>1</a></sup> <a href=\"/u\" title=\"t\">x</a> <a href=\"/a%20b\" title=\"paren\">y</a> <a href=\"/f(o)o\" title=\"s\">z</a> <a href=\"/q\">w</a> [v]</p>\n"
         "<p>[v]: &lt;\n"
         "[bad]: /a(b\n"
         "[bad2]: /a &quot;t&quot; junk\n"
         "[bad3]:/a&quot;t&quot;</p>\n"
         "<section class=\"footnotes\" data-footnotes>\n"
         "<ol>\n"
         "<li id=\"fn-a\">\n"
         "<p>see <a href=\"/u\" title=\"t\">x</a>, <a href=\"/a%20b\" title=\"paren\">y</a>, <a href=\"/f(o)o\" title=\"s\">z</a>, <a href=\"/q\">w</a> and [v] <a href=\"#fnref-a\" class=\"footnote-backref\" data-footnote-backref aria-label=\"Back to content\">\xE2\x86\xA9""</a></p>\n"
         "</li>\n"
         "</ol>\n"
         "</section>\n"},
    /* type 7 cannot interrupt a paragraph; setext underline; a definition inside a definition; lines that look like blocks but are not */
    {"para\n"
         "<div>\n"
         "not a type 7 <my-tag>\n"
         "\n"
         "text\n"
         "setext\n"
         "===\n"
         "[^a]: A\n"
         "\n"
         "[^b]: [^c]: nested\n"
         "\n"
         "q[^a] r[^c] s[^b]\n"
         "\n"
         "<a href=\"x\">\n"
         "[^z]: in type 7\n"
         "\n"
         "<\n"
         "![img](i.png)\n"
         "- - -\n"
         "#notheading\n"
         "####### seven\n",
     "<p>para</p>\n"
         "<div>\n"
         "not a type 7 <my-tag>\n"
         "<h1>text\n"
         "setext</h1>\n"
         "<p>q<sup class=\"footnote-ref\"><a href=\"#fn-a\" id=\"fnref-a\" data-footnote-ref>1</a></sup> r<sup class=\"footnote-ref\"><a href=\"#fn-c\" id=\"fnref-c\" data-footnote-ref>2</a></sup> s<sup class=\"footnote-ref\"><a href=\"#fn-b\" id=\"fnref-b\" data-footnote-ref>3</a></sup></p>\n"
         "<a href=\"x\">\n"
         "[^z]: in type 7\n"
         "<p>&lt;\n"
         "<img src=\"i.png\" alt=\"img\" /></p>\n"
         "<hr />\n"
         "<p>#notheading\n"
         "####### seven</p>\n"
         "<section class=\"footnotes\" data-footnotes>\n"
         "<ol>\n"
         "<li id=\"fn-a\">\n"
         "<p>A <a href=\"#fnref-a\" class=\"footnote-backref\" data-footnote-backref aria-label=\"Back to content\">\xE2\x86\xA9""</a></p>\n"
         "</li>\n"
         "<li id=\"fn-c\">\n"
         "<p>nested <a href=\"#fnref-c\" class=\"footnote-backref\" data-footnote-backref aria-label=\"Back to content\">\xE2\x86\xA9""</a></p>\n"
         "</li>\n"
         "<li id=\"fn-b\">\n"
         "<a href=\"#fnref-b\" class=\"footnote-backref\" data-footnote-backref aria-label=\"Back to content\">\xE2\x86\xA9""</a>\n"
         "</li>\n"
         "</ol>\n"
         "</section>\n"},
};
/* clang-format on */

static const char *render(env *e, const char *md)
{
    fmd_options o;
    fmd_kernel_options_default(&o);
    o.extensions |= FMD_EXT_FOOTNOTES;
    o.heading_ids = false;
    o.unsafe = true;
    fmd_buf b;
    fmd_buf_reset(&b, e->out);
    e->st = fmd__kernel_render_html(md, strlen(md), &o, (size_t)16 << 20, &b, e->scratch, &e->meta);
    if (e->st != FMD_OK)
        return NULL;
    if (fmd_buf_putc(&b, '\0') != FMD_OK) {
        e->st = FMD_E_NOMEM;
        return NULL;
    }
    return b.ptr;
}

static void test_footnotes_among_blocks(void **state)
{
    env *e = *state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *html = render(e, cases[i].md);
        if (e->st != FMD_OK || strcmp(html, cases[i].html) != 0)
            fail_msg("case %zu: status %d\n%s\nwant\n%s", i, (int)e->st, html ? html : "(none)",
                     cases[i].html);
        fmd_arena_reset(e->out);
        fmd_arena_reset(e->scratch);
    }
}

/* Arenas of small chunks, so that a page takes many; the k-th new chunk fails, for k = 1, 2, ...
 * until the page renders: each earlier try must be FMD_E_NOMEM, and the last must give the same
 * HTML as with no failure. */
static void test_footnotes_allocation_failures(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int nomem = 0;
        bool done = false;
        for (int k = 1; k < 10000 && !done; k++) {
            env e = {0};
            assert_int_equal(fmd_arena_create(&e.out, 256), FMD_OK);
            assert_int_equal(fmd_arena_create(&e.scratch, 256), FMD_OK);
            atomic_store(&fail_aligned, k);
            const char *html = render(&e, cases[i].md);
            bool tripped = atomic_load(&fail_aligned) == 0;
            atomic_store(&fail_aligned, 0);
            if (tripped) {
                if (e.st != FMD_E_NOMEM)
                    fail_msg("case %zu, chunk %d failed: status %d", i, k, (int)e.st);
                nomem++;
            } else {
                assert_int_equal(e.st, FMD_OK);
                assert_string_equal(html, cases[i].html);
                done = true;
            }
            fmd_arena_destroy(e.out);
            fmd_arena_destroy(e.scratch);
        }
        assert_true(done);
        assert_true(nomem > 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_footnotes_among_blocks, env_setup, env_teardown),
        cmocka_unit_test(test_footnotes_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
