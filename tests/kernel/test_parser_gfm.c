/* SPDX-License-Identifier: MIT */
/* The GFM extensions of fastmd's own parser (kernel/parser.c, through fmd_kernel_own): extended
 * autolinks and footnote references, held to the HTML cmark-gfm 0.29.0.gfm.6 writes for the same
 * input (`cmark-gfm -e autolink -e strikethrough -e table -e tasklist [-e footnotes]`; the
 * expected strings below are its output, pasted in). Also: --dialect commonmark turns them off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "render_env.h"

/* Render md with the gfm dialect (and footnotes when asked), unsafe, without heading ids. */
static const char *render(env *e, const char *md, bool gfm, bool footnotes)
{
    fmd_options o;
    fmd_kernel_options_default(&o);
    fmd_kernel_options_set_dialect(&o, gfm ? FMD_DIALECT_GFM : FMD_DIALECT_COMMONMARK);
    if (footnotes)
        o.extensions |= FMD_EXT_FOOTNOTES;
    o.unsafe = true;
    o.heading_ids = false;
    fmd_buf b;
    fmd_buf_reset(&b, e->out);
    e->st = fmd__kernel_render_html(md, strlen(md), &o, (size_t)16 << 20, &b, e->scratch, &e->meta);
    assert_int_equal(e->st, FMD_OK);
    assert_int_equal(fmd_buf_putc(&b, '\0'), FMD_OK);
    return b.ptr;
}

/* clang-format off */
static const struct { const char *md, *html; } autolink_cases[] = {
    {"www.commonmark.org\n",
     "<p><a href=\"http://www.commonmark.org\">www.commonmark.org</a></p>\n"},
    {"Visit www.commonmark.org/a.b.\n",
     "<p>Visit <a href=\"http://www.commonmark.org/a.b\">www.commonmark.org/a.b</a>.</p>\n"},
    {"(www.google.com/search?q=Markup+(business))\n",
     "<p>(<a href=\"http://www.google.com/search?q=Markup+(business)\">www.google.com/sea"
     "rch?q=Markup+(business)</a>)</p>\n"},
    {"www.google.com/search?q=Markup+(business)))\n",
     "<p><a href=\"http://www.google.com/search?q=Markup+(business)\">www.google.com/sear"
     "ch?q=Markup+(business)</a>))</p>\n"},
    {"www.google.com/search?q=commonmark&hl;\n",
     "<p><a href=\"http://www.google.com/search?q=commonmark\">www.google.com/search?q=co"
     "mmonmark</a>&amp;hl;</p>\n"},
    {"www.commonmark.org/he<lp\n",
     "<p><a href=\"http://www.commonmark.org/he\">www.commonmark.org/he</a>&lt;lp</p>\n"},
    {"a.b-c_d@a.b.\n",
     "<p><a href=\"mailto:a.b-c_d@a.b\">a.b-c_d@a.b</a>.</p>\n"},
    {"a.b-c_d@a.b_\n",
     "<p>a.b-c_d@a.b_</p>\n"},
    {"hello@mail+xyz.example no, hello+xyz@mail.example yes\n",
     "<p>hello@mail+xyz.example no, <a href=\"mailto:hello+xyz@mail.example\">hello+xyz@m"
     "ail.example</a> yes</p>\n"},
    {"mailto:foo@bar.baz\n",
     "<p><a href=\"mailto:foo@bar.baz\">mailto:foo@bar.baz</a></p>\n"},
    {"xmpp:foo@bar.baz/txt\n",
     "<p><a href=\"xmpp:foo@bar.baz/txt\">xmpp:foo@bar.baz/txt</a></p>\n"},
    {"xmpp:foo@bar.baz/txt@bin.com\n",
     "<p>xmpp:foo@bar.baz/<a href=\"mailto:txt@bin.com\">txt@bin.com</a></p>\n"},
    {"xmpp:a@b.c/\n",
     "<p>xmpp:a@b.c/</p>\n"},
    {"xmailto:a@b.c\n",
     "<p>xmailto:<a href=\"mailto:a@b.c\">a@b.c</a></p>\n"},
    {"say \"http://a.b/c\" now\n",
     "<p>say &quot;<a href=\"http://a.b/c\">http://a.b/c</a>&quot; now</p>\n"},
    {"x\"www.a.b\n",
     "<p>x&quot;www.a.b</p>\n"},
    {"http://ünicode.com/x\n",
     "<p><a href=\"http://%C3%BCnicode.com/x\">http://ünicode.com/x</a></p>\n"},
    {"www.bücher.de\n",
     "<p><a href=\"http://www.b%C3%BCcher.de\">www.bücher.de</a></p>\n"},
    {"www.a_b.c\n",
     "<p>www.a_b.c</p>\n"},
    {"www._x.y.z\n",
     "<p><a href=\"http://www._x.y.z\">www._x.y.z</a></p>\n"},
    {"foohttp://a.b\n",
     "<p>foohttp://a.b</p>\n"},
    {"_http://a.b_\n",
     "<p><em><a href=\"http://a.b\">http://a.b</a></em></p>\n"},
    {"HTTP://A.B\n",
     "<p><a href=\"HTTP://A.B\">HTTP://A.B</a></p>\n"},
    {"ftp://foo.bar.baz.\n",
     "<p><a href=\"ftp://foo.bar.baz\">ftp://foo.bar.baz</a>.</p>\n"},
    {"http://-a.b\n",
     "<p>http://-a.b</p>\n"},
    {"x@y.z@w.v\n",
     "<p>x@<a href=\"mailto:y.z@w.v\">y.z@w.v</a></p>\n"},
    {"a@b.c1\n",
     "<p>a@b.c1</p>\n"},
    {"x_a@b.c\n",
     "<p><a href=\"mailto:x_a@b.c\">x_a@b.c</a></p>\n"},
    {"www.a.b/_x_\n",
     "<p><a href=\"http://www.a.b/_x\">www.a.b/_x</a>_</p>\n"},
    {"*www.a.b*\n",
     "<p><em><a href=\"http://www.a.b\">www.a.b</a></em></p>\n"},
    {"~~www.a.b~~\n",
     "<p><del><a href=\"http://www.a.b\">www.a.b</a></del></p>\n"},
    {"[x www.a.b]\n",
     "<p>[x www.a.b]</p>\n"},
    {"[www.a.b](x)\n",
     "<p><a href=\"x\">www.a.b</a></p>\n"},
    {"[a@b.c](x)\n",
     "<p><a href=\"x\">a@b.c</a></p>\n"},
    {"www._www._www._\n",
     "<p>www._www.<em><a href=\"http://www\">www</a>.</em></p>\n"},
    {"www._www._www._x\n",
     "<p>www._www._www._x</p>\n"},
    {"www.a.b/x&a1;\n",
     "<p><a href=\"http://www.a.b/x&amp;a1\">www.a.b/x&amp;a1</a>;</p>\n"},
    {"www.a.b/(x\n",
     "<p><a href=\"http://www.a.b/(x\">www.a.b/(x</a></p>\n"},
    {"http://a.b/x_\n",
     "<p><a href=\"http://a.b/x\">http://a.b/x</a>_</p>\n"},
    {"http://a.b/'\n",
     "<p><a href=\"http://a.b/\">http://a.b/</a>'</p>\n"},
    {"www.a.b*c*\n",
     "<p><a href=\"http://www.a.b*c\">www.a.b*c</a>*</p>\n"},
    {"a<www.a.b>\n",
     "<p>a&lt;www.a.b&gt;</p>\n"},
};
static const struct { const char *md, *html; } footnote_cases[] = {
    {"Hi[^_a_].\n\n[^_a_]: note\n",
     "<p>Hi<sup class=\"footnote-ref\"><a href=\"#fn-_a_\" id=\"fnref-_a_\" data-footnote"
     "-ref>1</a></sup>.</p>\n<section class=\"footnotes\" data-footnotes>\n<ol>\n<li id=\""
     "fn-_a_\">\n<p>note <a href=\"#fnref-_a_\" class=\"footnote-backref\" data-footnote-"
     "backref aria-label=\"Back to content\">↩</a></p>\n</li>\n</ol>\n</section>\n"},
    {"a[^1] b[^2]\n\n[^1]: [^2]: baz\n",
     "<p>a<sup class=\"footnote-ref\"><a href=\"#fn-1\" id=\"fnref-1\" data-footnote-ref>"
     "1</a></sup> b<sup class=\"footnote-ref\"><a href=\"#fn-2\" id=\"fnref-2\" data-foot"
     "note-ref>2</a></sup></p>\n<section class=\"footnotes\" data-footnotes>\n<ol>\n<li i"
     "d=\"fn-1\">\n<a href=\"#fnref-1\" class=\"footnote-backref\" data-footnote-backref "
     "aria-label=\"Back to content\">↩</a>\n</li>\n<li id=\"fn-2\">\n<p>baz <a href=\"#fn"
     "ref-2\" class=\"footnote-backref\" data-footnote-backref aria-label=\"Back to conte"
     "nt\">↩</a></p>\n</li>\n</ol>\n</section>\n"},
    {"x[^__proto__] y[^`c`]\n\n[^__proto__]: p\n[^`c`]: c\n",
     "<p>x<sup class=\"footnote-ref\"><a href=\"#fn-__proto__\" id=\"fnref-__proto__\" da"
     "ta-footnote-ref>1</a></sup> y<sup class=\"footnote-ref\"><a href=\"#fn-%60c%60\" id"
     "=\"fnref-%60c%60\" data-footnote-ref>2</a></sup></p>\n<section class=\"footnotes\" "
     "data-footnotes>\n<ol>\n<li id=\"fn-__proto__\">\n<p>p <a href=\"#fnref-__proto__\" "
     "class=\"footnote-backref\" data-footnote-backref aria-label=\"Back to content\">↩</"
     "a></p>\n</li>\n<li id=\"fn-%60c%60\">\n<p>c <a href=\"#fnref-%60c%60\" class=\"foot"
     "note-backref\" data-footnote-backref aria-label=\"Back to content\">↩</a></p>\n</li"
     ">\n</ol>\n</section>\n"},
    {"z[^a&amp;b] w[^me@x.com] v[^~~s~~]\n\n[^a&amp;b]: amp\n[^me@x.com]: mail\n[^~~s~~]:"
     " del\n",
     "<p>z<sup class=\"footnote-ref\"><a href=\"#fn-a&amp;amp;b\" id=\"fnref-a&amp;amp;b\""
     " data-footnote-ref>1</a></sup> w<sup class=\"footnote-ref\"><a href=\"#fn-me@x.com\""
     " id=\"fnref-me@x.com\" data-footnote-ref>2</a></sup> v<sup class=\"footnote-ref\"><"
     "a href=\"#fn-~~s~~\" id=\"fnref-~~s~~\" data-footnote-ref>3</a></sup></p>\n<section"
     " class=\"footnotes\" data-footnotes>\n<ol>\n<li id=\"fn-a&amp;amp;b\">\n<p>amp <a h"
     "ref=\"#fnref-a&amp;amp;b\" class=\"footnote-backref\" data-footnote-backref aria-la"
     "bel=\"Back to content\">↩</a></p>\n</li>\n<li id=\"fn-me@x.com\">\n<p>mail <a href="
     "\"#fnref-me@x.com\" class=\"footnote-backref\" data-footnote-backref aria-label=\"B"
     "ack to content\">↩</a></p>\n</li>\n<li id=\"fn-~~s~~\">\n<p>del <a href=\"#fnref-~~"
     "s~~\" class=\"footnote-backref\" data-footnote-backref aria-label=\"Back to content"
     "\">↩</a></p>\n</li>\n</ol>\n</section>\n"},
    {"[^*a*] stays text\n",
     "<p>[^*a*] stays text</p>\n"},
    {"![^a] and [x[^a]](y)\n\n[^a]: z\n",
     "<p>!<sup class=\"footnote-ref\"><a href=\"#fn-a\" id=\"fnref-a\" data-footnote-ref>"
     "1</a></sup> and <a href=\"y\">x<sup class=\"footnote-ref\"><a href=\"#fn-a\" id=\"f"
     "nref-a-2\" data-footnote-ref>1</a></sup></a></p>\n<section class=\"footnotes\" data"
     "-footnotes>\n<ol>\n<li id=\"fn-a\">\n<p>z <a href=\"#fnref-a\" class=\"footnote-bac"
     "kref\" data-footnote-backref aria-label=\"Back to content\">↩</a> <a href=\"#fnref-"
     "a-2\" class=\"footnote-backref\" data-footnote-backref aria-label=\"Back to content"
     "\">↩<sup class=\"footnote-ref\">2</sup></a></p>\n</li>\n</ol>\n</section>\n"},
    {"[^a](x) is a link\n\n[^a]: z\n",
     "<p><a href=\"x\">^a</a> is a link</p>\n"},
};
/* clang-format on */

static void test_parser_extended_autolinks(void **state)
{
    env *e = *state;
    for (size_t k = 0; k < sizeof autolink_cases / sizeof autolink_cases[0]; k++)
        assert_string_equal(render(e, autolink_cases[k].md, true, false), autolink_cases[k].html);
}

static void test_parser_footnotes(void **state)
{
    env *e = *state;
    for (size_t k = 0; k < sizeof footnote_cases / sizeof footnote_cases[0]; k++)
        assert_string_equal(render(e, footnote_cases[k].md, true, true), footnote_cases[k].html);
}

static void test_parser_commonmark_has_no_extensions(void **state)
{
    env *e = *state;
    assert_string_equal(render(e, "www.a.b http://a.b a@b.c ~~x~~\n", false, false),
                        "<p>www.a.b http://a.b a@b.c ~~x~~</p>\n");
    assert_string_equal(render(e, "| a |\n| - |\n| b |\n", false, false),
                        "<p>| a |\n| - |\n| b |</p>\n");
    assert_string_equal(render(e, "- [x] done\n", false, false),
                        "<ul>\n<li>[x] done</li>\n</ul>\n");
}

/* Many "www." starts that share one domain are answered from the first scan: only the last
 * one links (its domain scan stops one byte before the end, as cmark-gfm's does), as in the
 * three-start case of autolink_cases. */
static void test_parser_www_underscores(void **state)
{
    env *e = *state;
    size_t n = 20000;
    char *md = malloc(5 * n + 2);
    assert_non_null(md);
    for (size_t k = 0; k < n; k++)
        memcpy(md + 5 * k, "www._", 5);
    md[5 * n] = '\n';
    md[5 * n + 1] = '\0';
    const char *html = render(e, md, true, false);
    const char *a = strstr(html, "<a ");
    assert_non_null(a);
    assert_null(strstr(a + 1, "<a "));
    assert_non_null(strstr(html, "<em><a href=\"http://www\">www</a>.</em></p>\n"));
    free(md);
}

/* The page deadline stops the parser inside its own loops: a 16 MB paragraph of unclosed
 * brackets and emphasis (one paragraph, so no block boundary where a check could hide) with a
 * 1 ms deadline fails with FMD_E_DEADLINE long before the whole page could be parsed. */
static void test_parser_deadline(void **state)
{
    env *e = *state;
    size_t n = (size_t)16 << 20;
    char *md = malloc(n + 1);
    assert_non_null(md);
    for (size_t k = 0; k < n; k++)
        md[k] = "[*a_`"[k % 5];
    md[n] = '\0';
    fmd_options o;
    fmd_kernel_options_default(&o);
    o.deadline_ms = 1;
    fmd_buf b;
    fmd_buf_reset(&b, e->out);
    fmd_status st = fmd__kernel_render_html(md, n, &o, (size_t)1 << 30, &b, e->scratch, &e->meta);
    assert_int_equal(st, FMD_E_DEADLINE);
    /* without a deadline the same page renders: the failure above came from the deadline */
    o.deadline_ms = 0;
    fmd_arena_reset(e->scratch);
    fmd_buf_reset(&b, e->out);
    assert_int_equal(fmd__kernel_render_html(md, n, &o, (size_t)1 << 30, &b, e->scratch, &e->meta),
                     FMD_OK);
    free(md);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_parser_extended_autolinks, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_parser_footnotes, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_parser_commonmark_has_no_extensions, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_parser_www_underscores, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_parser_deadline, env_setup, env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
