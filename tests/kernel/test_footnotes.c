/* SPDX-License-Identifier: MIT */
/* Unit tests of GFM footnotes (FMD_EXT_FOOTNOTES): the pre-pass that takes definitions out of the
 * body (kernel/footnotes.c) and the references, numbering and section the renderer writes
 * (kernel/render.c). The expected HTML is cmark-gfm's (0.29.0.gfm.6, --footnotes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

/*** Fixture ***/

#include "render_env.h"

/* Render md with GFM + footnotes (+ @p ext) and no heading IDs; NUL-terminated HTML. */
static const char *render_ext(env *e, const char *md, unsigned ext, size_t max_output)
{
    fmd_options o;
    fmd_kernel_options_default(&o);
    o.extensions |= FMD_EXT_FOOTNOTES | ext;
    o.heading_ids = false;
    fmd_buf b;
    fmd_buf_reset(&b, e->out);
    e->st = fmd__kernel_render_html(md, strlen(md), &o, max_output, &b, e->scratch, &e->meta);
    assert_int_equal(fmd_buf_putc(&b, '\0'), FMD_OK);
    return b.ptr;
}

static const char *render(env *e, const char *md)
{
    const char *html = render_ext(e, md, 0, (size_t)16 << 20);
    assert_int_equal(e->st, FMD_OK);
    return html;
}

/* cmark-gfm's markup, spelled out once. */
#define REF(label, id, n)                                                                          \
    "<sup class=\"footnote-ref\"><a href=\"#fn-" label "\" id=\"fnref-" id                         \
    "\" data-footnote-ref>" n "</a></sup>"
#define BACK(id)                                                                                   \
    "<a href=\"#fnref-" id "\" class=\"footnote-backref\" data-footnote-backref "                  \
    "aria-label=\"Back to content\">\xE2\x86\xA9</a>"
#define BACKN(id, k)                                                                               \
    "<a href=\"#fnref-" id "-" k "\" class=\"footnote-backref\" data-footnote-backref "            \
    "aria-label=\"Back to content\">\xE2\x86\xA9<sup class=\"footnote-ref\">" k "</sup></a>"
#define SECTION(items)                                                                             \
    "<section class=\"footnotes\" data-footnotes>\n<ol>\n" items "</ol>\n</section>\n"

/*** Tests ***/

static void test_footnotes_basic(void **state)
{
    env *e = *state;
    assert_string_equal(render(e, "Text[^1].\n\n[^1]: The note.\n"),
                        "<p>Text" REF("1", "1", "1") ".</p>\n" SECTION(
                            "<li id=\"fn-1\">\n<p>The note. " BACK("1") "</p>\n</li>\n"));
}

static void test_footnotes_multiple_refs(void **state)
{
    env *e = *state;
    assert_string_equal(render(e, "a[^n] b[^n] c[^n]\n\n[^n]: N.\n"),
                        "<p>a" REF("n", "n", "1") " b" REF("n", "n-2", "1") " c" REF("n", "n-3", "1") "</p>\n" SECTION(
                            "<li id=\"fn-n\">\n<p>N. " BACK("n") " " BACKN("n", "2") " " BACKN(
                                "n", "3") "</p>\n</li>\n"));
}

static void test_footnotes_unused_definition_dropped(void **state)
{
    env *e = *state;
    assert_string_equal(render(e, "a[^used]\n\n[^unused]: Never.\n\n[^used]: Used.\n"),
                        "<p>a" REF("used", "used", "1") "</p>\n" SECTION(
                            "<li id=\"fn-used\">\n<p>Used. " BACK("used") "</p>\n</li>\n"));
    /* Only unused definitions: no section at all, and they are still gone from the text. */
    assert_string_equal(render(e, "Just text.\n\n[^x]: Unused.\n"), "<p>Just text.</p>\n");
}

static void test_footnotes_undefined_label_stays_text(void **state)
{
    env *e = *state;
    assert_string_equal(render(e, "a[^nope] b\n"), "<p>a[^nope] b</p>\n");
    assert_string_equal(render(e, "a[^nope] b[^x]\n\n[^x]: X.\n"),
                        "<p>a[^nope] b" REF("x", "x", "1") "</p>\n" SECTION(
                            "<li id=\"fn-x\">\n<p>X. " BACK("x") "</p>\n</li>\n"));
    /* Not labels: white space, an empty label, an escaped bracket. */
    assert_string_equal(render(e, "a[^x y] b[^] c\\[^x]\n\n[^x]: X.\n"),
                        "<p>a[^x y] b[^] c[^x]</p>\n");
}

static void test_footnotes_not_in_code(void **state)
{
    env *e = *state;
    assert_string_equal(
        render(e, "`a[^x]` b[^x]\n\n```\n[^x]: in a fence\n```\n\n    [^x]: indented code\n\n"
                  "[^x]: Real.\n"),
        "<p><code>a[^x]</code> b" REF(
            "x", "x", "1") "</p>\n"
                           "<pre><code>[^x]: in a fence\n</code></pre>\n"
                           "<pre><code>[^x]: indented code\n</code></pre>\n" SECTION(
                               "<li id=\"fn-x\">\n<p>Real. " BACK("x") "</p>\n</li>\n"));
}

static void test_footnotes_multi_paragraph_definition(void **state)
{
    env *e = *state;
    assert_string_equal(
        render(e, "a[^long]\n\n[^long]: First\n    continued.\n\n    Second paragraph.\n\n"
                  "        code in it\n\nAfter.\n"),
        "<p>a" REF("long", "long", "1") "</p>\n<p>After.</p>\n" SECTION(
            "<li id=\"fn-long\">\n<p>First\ncontinued.</p>\n<p>Second paragraph.</p>\n"
            "<pre><code>code in it\n</code></pre>\n" BACK("long") "\n</li>\n"));
    /* A lazy continuation line, and a definition that interrupts a paragraph. */
    assert_string_equal(render(e, "a[^1]\n[^1]: one\nlazy\n"),
                        "<p>a" REF("1", "1", "1") "</p>\n" SECTION(
                            "<li id=\"fn-1\">\n<p>one\nlazy " BACK("1") "</p>\n</li>\n"));
}

static void test_footnotes_ordering(void **state)
{
    env *e = *state;
    /* Numbered in order of first reference, not of definition; a reference from inside a
     * definition comes after those of the page. */
    assert_string_equal(
        render(e, "b[^b] a[^a]\n\n[^a]: A, see[^c].\n\n[^b]: B.\n\n[^c]: C.\n"),
        "<p>b" REF("b", "b", "1") " a" REF("a", "a", "2") "</p>\n" SECTION(
            "<li id=\"fn-b\">\n<p>B. " BACK(
                "b") "</p>\n</li>\n"
                     "<li id=\"fn-a\">\n<p>A, see" REF("c", "c", "3") ". " BACK(
                         "a") "</p>\n</li>\n"
                              "<li id=\"fn-c\">\n<p>C. " BACK("c") "</p>\n</li>\n"));
    /* A later definition referring back to an earlier one adds its back-reference. */
    assert_string_equal(
        render(e, "t[^a]\n\n[^a]: see[^b]\n[^b]: see[^a]\n"),
        "<p>t" REF("a", "a", "1") "</p>\n" SECTION(
            "<li id=\"fn-a\">\n<p>see" REF("b", "b", "2") " " BACK("a") " " BACKN(
                "a", "2") "</p>\n</li>\n<li id=\"fn-b\">\n<p>see" REF("a", "a-2",
                                                                      "1") " " BACK("b") "</p>\n</"
                                                                                         "li>\n"));
}

static void test_footnotes_labels(void **state)
{
    env *e = *state;
    /* Case-insensitive; the ids use the definition's spelling, URL-encoded. */
    assert_string_equal(
        render(e, "a[^Ab] b[^aB]\n\n[^AB]: X.\n"),
        "<p>a" REF("AB", "AB", "1") " b" REF("AB", "AB-2", "1") "</p>\n" SECTION(
            "<li id=\"fn-AB\">\n<p>X. " BACK("AB") " " BACKN("AB", "2") "</p>\n</li>\n"));
    assert_string_equal(
        render(e, "a[^a&\"\xC3\xA9]\n\n[^a&\"\xC3\xA9]: X.\n"),
        "<p>a" REF("a&amp;%22%C3%A9", "a&amp;%22%C3%A9", "1") "</p>\n" SECTION(
            "<li id=\"fn-a&amp;%22%C3%A9\">\n<p>X. " BACK("a&amp;%22%C3%A9") "</p>\n</li>\n"));
    /* The first definition of a label wins; the second is dropped too. */
    assert_string_equal(render(e, "a[^x]\n\n[^x]: first\n[^x]: second\n"),
                        "<p>a" REF("x", "x", "1") "</p>\n" SECTION(
                            "<li id=\"fn-x\">\n<p>first " BACK("x") "</p>\n</li>\n"));
}

static void test_footnotes_links_in_definitions(void **state)
{
    env *e = *state;
    /* A definition is rendered as a document of its own, with the page's link references. */
    assert_string_equal(render(e, "a[^1]\n\n[^1]: see [the docs][d].\n\n[d]: /docs \"Docs\"\n"),
                        "<p>a" REF("1", "1", "1") "</p>\n" SECTION(
                            "<li id=\"fn-1\">\n<p>see <a href=\"/docs\" title=\"Docs\">the "
                            "docs</a>. " BACK("1") "</p>\n</li>\n"));
}

static void test_footnotes_refdefs_budget(void **state)
{
    env *e = *state;
    /* Many footnotes that each could use many link reference definitions: the copies stop at
     * FMD_FOOTNOTE_REFDEFS_RATIO x the page (+ slack), so early footnotes get links and late
     * ones plain text, rather than the work growing as footnotes x definitions. */
    enum { NOTES = 200, DEFS = 200 };
    fmd_buf md;
    fmd_buf_reset(&md, e->scratch);
    char line[64];
    for (int i = 0; i < NOTES; i++) {
        snprintf(line, sizeof line, "[^%d] ", i);
        assert_int_equal(fmd_buf_puts(&md, line), FMD_OK);
    }
    assert_int_equal(fmd_buf_puts(&md, "\n\n"), FMD_OK);
    for (int i = 0; i < NOTES; i++) {
        snprintf(line, sizeof line, "[^%d]: see [r%d]\n", i, i % DEFS);
        assert_int_equal(fmd_buf_puts(&md, line), FMD_OK);
    }
    assert_int_equal(fmd_buf_puts(&md, "\n"), FMD_OK);
    for (int i = 0; i < DEFS; i++) {
        snprintf(line, sizeof line, "[r%d]: /a-rather-long-destination-for-r%d\n", i, i);
        assert_int_equal(fmd_buf_puts(&md, line), FMD_OK);
    }
    assert_int_equal(fmd_buf_putc(&md, '\0'), FMD_OK);
    const char *html = render(e, md.ptr);
    assert_non_null(strstr(html, "<p>see <a href=\"/a-rather-long-destination-for-r0\">r0</a>"));
    assert_non_null(strstr(html, "<p>see [r199] "));
}

static void test_footnotes_in_spans_and_alt(void **state)
{
    env *e = *state;
    assert_string_equal(
        render(e, "*a[^1]* [l[^1]](/u) ![i[^1]](/p.png)\n\n[^1]: X.\n"),
        "<p><em>a" REF("1", "1", "1") "</em> <a href=\"/u\">l" REF(
            "1", "1-2", "1") "</a> <img "
                             "src=\"/"
                             "p.png\" "
                             "alt=\"i\" "
                             "/></"
                             "p>\n" SECTION("<li "
                                            "id=\"fn-"
                                            "1\">\n<p>"
                                            "X. " BACK("1") " " BACKN("1", "2") "<"
                                                                                "/"
                                                                                "p"
                                                                                ">"
                                                                                "\n</li>\n"));
    /* In a heading, the number is not part of the heading's text. */
    render(e, "# Title[^1]\n\n[^1]: X.\n");
    assert_int_equal(e->meta.n_headings, 1);
    assert_int_equal(e->meta.headings[0].text.len, 5);
    assert_memory_equal(e->meta.headings[0].text.ptr, "Title", 5);
}

static void test_footnotes_off_is_unchanged(void **state)
{
    env *e = *state;
    fmd_options o;
    fmd_kernel_options_default(&o);
    o.heading_ids = false;
    fmd_buf b;
    fmd_buf_reset(&b, e->out);
    const char *md = "a[^1]\n\n[^1]: /url\n";
    assert_int_equal(fmd__kernel_render_html(md, strlen(md), &o, 1 << 20, &b, e->scratch, &e->meta),
                     FMD_OK);
    /* The parser reads the definition as a link reference definition, as CommonMark says. */
    assert_int_equal(b.len, strlen("<p>a<a href=\"/url\">^1</a></p>\n"));
    assert_memory_equal(b.ptr, "<p>a<a href=\"/url\">^1</a></p>\n", b.len);
}

static void test_footnotes_labels_as_written(void **state)
{
    env *e = *state;
    /* The label is matched as written in the source, backslash included, as cmark-gfm does. */
    assert_string_equal(
        render(e, "a[^x\\*y] b[^\\\\]\n\n[^x\\*y]: X.\n[^\\\\]: B.\n"),
        "<p>a" REF("x%5C*y", "x%5C*y", "1") " b" REF("%5C%5C", "%5C%5C", "2") "</p>\n" SECTION(
            "<li id=\"fn-x%5C*y\">\n<p>X. " BACK(
                "x%5C*y") "</p>\n</li>\n<li id=\"fn-%5C%5C\">\n<p>B. " BACK("%5C%5C") "</p>\n</"
                                                                                      "li>\n"));
    /* An entity in the label stays as written too (cmark-gfm 0.29.0.gfm.6's markup). */
    assert_string_equal(
        render(e, "a[^x\\*y&amp;] \\\"q\n\n[^x\\*y&amp;]: X.\n"),
        "<p>a" REF("x%5C*y&amp;amp;", "x%5C*y&amp;amp;", "1") " &quot;q</p>\n" SECTION(
            "<li id=\"fn-x%5C*y&amp;amp;\">\n<p>X. " BACK("x%5C*y&amp;amp;") "</p>\n</li>\n"));
}

static void test_footnotes_extract(void **state)
{
    env *e = *state;
    fmd__footnotes fn;
    fmd_slice rest;
    /* No definition: the body itself comes back, no copy. */
    const char *plain = "no footnotes [^x] here\n";
    assert_int_equal(fmd__kernel_footnotes_extract(plain, strlen(plain), e->scratch, &fn, &rest),
                     FMD_OK);
    assert_ptr_equal(rest.ptr, plain);
    assert_int_equal(fn.n, 0);

    const char *md = "para\n\n[^a]: A\n    more\n\n~~~\n[^b]: fenced\n~~~\n[^C]:\tC\n";
    assert_int_equal(fmd__kernel_footnotes_extract(md, strlen(md), e->scratch, &fn, &rest), FMD_OK);
    assert_int_equal(fn.n, 2);
    const char *want_rest = "para\n\n\n~~~\n[^b]: fenced\n~~~\n";
    assert_int_equal(rest.len, strlen(want_rest));
    assert_memory_equal(rest.ptr, want_rest, rest.len);
    const fmd__footnote *a = fmd__kernel_footnote_find(&fn, "A", 1);
    assert_non_null(a);
    assert_int_equal(a->body.len, strlen("A\nmore\n"));
    assert_memory_equal(a->body.ptr, "A\nmore\n", a->body.len);
    assert_non_null(fmd__kernel_footnote_find(&fn, "c", 1));
    assert_null(fmd__kernel_footnote_find(&fn, "b", 1));

    size_t label;
    assert_int_equal(fmd__kernel_footnote_ref("[^ab] x", 7, &label), 5);
    assert_int_equal(label, 2);
    assert_int_equal(fmd__kernel_footnote_ref("[^a b]", 6, &label), 0);
    assert_int_equal(fmd__kernel_footnote_ref("[^ab", 4, &label), 0);
    assert_int_equal(fmd__kernel_footnote_ref("[^]", 3, &label), 0);
}

static void test_footnotes_long_label(void **state)
{
    env *e = *state;
    /* A label past FMD_FOOTNOTE_LABEL_MAX is no label: the "definition" stays text. */
    size_t n = FMD_FOOTNOTE_LABEL_MAX + 1;
    char *md = malloc(2 * n + 32);
    assert_non_null(md);
    char *p = md;
    memcpy(p, "[^", 2), p += 2;
    memset(p, 'a', n), p += n;
    memcpy(p, "]: x\n", 6);
    const char *html = render(e, md);
    assert_int_equal(strncmp(html, "<p>[^aaa", 8), 0);
    free(md);
}

static void test_footnotes_output_limit(void **state)
{
    env *e = *state;
    /* The section counts against the output limit like the rest of the page. */
    render_ext(e, "a[^1]\n\n[^1]: A footnote that is long enough to pass the limit.\n", 0, 120);
    assert_int_equal(e->st, FMD_E_OUTPUT_LIMIT);
}

static void test_footnotes_with_smart(void **state)
{
    env *e = *state;
    assert_string_equal(render_ext(e, "\"a\"[^1]\n\n[^1]: it's -- \"q\"\n", FMD_EXT_SMART, 1 << 20),
                        "<p>\xE2\x80\x9C"
                        "a\xE2\x80\x9D" REF("1", "1", "1") "</p>\n" SECTION(
                            "<li id=\"fn-1\">\n<p>it\xE2\x80\x99s \xE2\x80\x93 \xE2\x80\x9Cq"
                            "\xE2\x80\x9D " BACK("1") "</p>\n</li>\n"));
}

static void test_footnotes_page_level(void **state)
{
    env *e = *state;
    /* Through fmd_kernel_page_render: front matter first, then footnotes; words count both. */
    fmd_options o;
    fmd_kernel_options_default(&o);
    o.extensions |= FMD_EXT_FOOTNOTES;
    fmd_result res;
    const char *md = "---\ntitle: T\n---\nOne two[^n].\n\n[^n]: Three four.\n";
    assert_int_equal(fmd_kernel_page_render(md, strlen(md), &o, e->out, e->scratch, &res), FMD_OK);
    assert_int_equal(res.words, 4);
    const char *want = "<li id=\"fn-n\">";
    bool found = false;
    for (size_t i = 0; i + strlen(want) <= res.html.len && !found; i++)
        found = memcmp(res.html.ptr + i, want, strlen(want)) == 0;
    assert_true(found);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, env_setup, env_teardown)
    const struct CMUnitTest tests[] = {
        T(test_footnotes_basic),
        T(test_footnotes_multiple_refs),
        T(test_footnotes_unused_definition_dropped),
        T(test_footnotes_undefined_label_stays_text),
        T(test_footnotes_not_in_code),
        T(test_footnotes_multi_paragraph_definition),
        T(test_footnotes_ordering),
        T(test_footnotes_labels),
        T(test_footnotes_links_in_definitions),
        T(test_footnotes_refdefs_budget),
        T(test_footnotes_in_spans_and_alt),
        T(test_footnotes_off_is_unchanged),
        T(test_footnotes_labels_as_written),
        T(test_footnotes_extract),
        T(test_footnotes_long_label),
        T(test_footnotes_output_limit),
        T(test_footnotes_with_smart),
        T(test_footnotes_page_level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
