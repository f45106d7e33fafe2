/* SPDX-License-Identifier: MIT */
/* Unit tests of smart punctuation (FMD_EXT_SMART, kernel/smart.c and its use in kernel/render.c):
 * curly quotes and apostrophes by cmark's rules, en and em dashes, ellipses, and the places they
 * must never appear (code, raw HTML, URLs and attributes, autolinks). Also the xhtml option.
 * The expected HTML is cmark-gfm's (0.29.0.gfm.6, --smart). */
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

enum { SMART = 1, UNSAFE = 2, HTML5 = 4, IDS = 8 };

/* Render md (GFM) with the flags; NUL-terminated HTML. */
static const char *render_flags(env *e, const char *md, unsigned flags)
{
    fmd_options o;
    fmd_kernel_options_default(&o);
    if (flags & SMART)
        o.extensions |= FMD_EXT_SMART;
    o.unsafe = (flags & UNSAFE) != 0;
    o.xhtml = (flags & HTML5) == 0;
    o.heading_ids = (flags & IDS) != 0;
    fmd_buf b;
    fmd_buf_reset(&b, e->out);
    assert_int_equal(fmd__kernel_render_html(md, strlen(md), &o, 1 << 20, &b, e->scratch, &e->meta),
                     FMD_OK);
    assert_int_equal(fmd_buf_putc(&b, '\0'), FMD_OK);
    return b.ptr;
}

static const char *render(env *e, const char *md)
{
    return render_flags(e, md, SMART);
}

#define LSQ "\xE2\x80\x98"
#define RSQ "\xE2\x80\x99"
#define LDQ "\xE2\x80\x9C"
#define RDQ "\xE2\x80\x9D"
#define NDASH "\xE2\x80\x93"
#define MDASH "\xE2\x80\x94"
#define ELL "\xE2\x80\xA6"

/*** Quotes ***/

static void test_smart_double_quotes(void **state)
{
    env *e = *state;
    assert_string_equal(render(e, "\"Hello,\" she said.\n"),
                        "<p>" LDQ "Hello," RDQ " she said.</p>\n");
    assert_string_equal(render(e, "(\"paren\") [\"brack\"] \"a\"b \"a\".\n"),
                        "<p>(" LDQ "paren" RDQ ") [" LDQ "brack" RDQ "] " LDQ "a" RDQ "b " LDQ
                        "a" RDQ ".</p>\n");
    /* An unmatched opener stays an opening quote; quotes pair across a soft break. */
    assert_string_equal(render(e, "\"open\nand \"x\" end\"\n"),
                        "<p>" LDQ "open\nand " LDQ "x" RDQ " end" RDQ "</p>\n");
}

static void test_smart_single_quotes_and_apostrophes(void **state)
{
    env *e = *state;
    assert_string_equal(render(e, "'Hi' it's the '90s. \"a 'b' c\"\n"),
                        "<p>" LSQ "Hi" RSQ " it" RSQ "s the " RSQ "90s. " LDQ "a " LSQ "b" RSQ
                        " c" RDQ "</p>\n");
    assert_string_equal(render(e, "It's Joe's. rock 'n' roll. don't\n"),
                        "<p>It" RSQ "s Joe" RSQ "s. rock " LSQ "n" RSQ " roll. don" RSQ "t</p>\n");
    /* An opener that never finds its closer is an apostrophe (’), as in cmark. */
    assert_string_equal(render(e, "'tis 'single\n"), "<p>" RSQ "tis " RSQ "single</p>\n");
}

static void test_smart_quotes_and_spans(void **state)
{
    env *e = *state;
    assert_string_equal(render(e, "*\"em\"* \"*em*\" **'b'**\n"),
                        "<p><em>" LDQ "em" RDQ "</em> " LDQ "<em>em</em>" RDQ " <strong>" LSQ
                        "b" RSQ "</strong></p>\n");
    /* A closer inside emphasis pairs with an opener before it... */
    assert_string_equal(render(e, "'a *b' c*\n"), "<p>" LSQ "a <em>b" RSQ " c</em></p>\n");
    /* ...but an opener inside emphasis is dropped when the emphasis ends, and quotes pair only
     * inside link text. */
    assert_string_equal(render(e, "*'a* b' ['x](/u) y'\n"),
                        "<p><em>" RSQ "a</em> b" RSQ " <a href=\"/u\">" RSQ "x</a> y" RSQ "</p>\n");
}

static void test_smart_quotes_in_heading_text(void **state)
{
    env *e = *state;
    /* The heading's plain text (metadata, slug) gets the same characters, pairs included. */
    assert_string_equal(render_flags(e, "# 'Quoted' -- title\n", SMART | IDS),
                        "<h1 id=\"quoted--title\">" LSQ "Quoted" RSQ " " NDASH " title</h1>\n");
    assert_int_equal(e->meta.n_headings, 1);
    const char *want = LSQ "Quoted" RSQ " " NDASH " title";
    assert_int_equal(e->meta.headings[0].text.len, strlen(want));
    assert_memory_equal(e->meta.headings[0].text.ptr, want, strlen(want));
}

/*** Dashes and ellipses ***/

static void test_smart_dashes(void **state)
{
    env *e = *state;
    assert_string_equal(render(e, "a - b -- c --- d ---- e ----- f ------ g -------\n"),
                        "<p>a - b " NDASH " c " MDASH " d " NDASH NDASH " e " MDASH NDASH
                        " f " MDASH MDASH " g " MDASH NDASH NDASH "</p>\n");
    assert_string_equal(render(e, "1--2 a\\-\\-b \\---\n"), "<p>1" NDASH "2 a--b -" NDASH "</p>\n");
    size_t em, en;
    fmd__kernel_smart_dashes(7, &em, &en);
    assert_true(em == 1 && en == 2);
    fmd__kernel_smart_dashes(9, &em, &en);
    assert_true(em == 3 && en == 0);
}

static void test_smart_ellipsis(void **state)
{
    env *e = *state;
    assert_string_equal(render(e, "wait... .... ..... end.\n"),
                        "<p>wait" ELL " " ELL ". " ELL ".. end.</p>\n");
}

/*** Where it must not apply ***/

static void test_smart_never_in_code(void **state)
{
    env *e = *state;
    assert_string_equal(render(e, "`\"a\" -- ...`\n\n```\n\"b\" -- ...\n```\n\n    'c' --\n"),
                        "<p><code>&quot;a&quot; -- ...</code></p>\n"
                        "<pre><code>&quot;b&quot; -- ...\n</code></pre>\n"
                        "<pre><code>'c' --\n</code></pre>\n");
}

static void test_smart_never_in_raw_html(void **state)
{
    env *e = *state;
    assert_string_equal(render_flags(e,
                                     "<span title=\"a--b\">x -- \"y\"</span>\n\n"
                                     "<div class=\"it's\">\n'z' -- ...\n</div>\n",
                                     SMART | UNSAFE),
                        "<p><span title=\"a--b\">x " NDASH " " LDQ "y" RDQ "</span></p>\n"
                        "<div class=\"it's\">\n'z' -- ...\n</div>\n");
}

static void test_smart_never_in_urls_or_attributes(void **state)
{
    env *e = *state;
    assert_string_equal(render(e, "[l--k](/a--b \"t--t 'q'\") ![\"alt\" -- x](/i...png)\n"),
                        "<p><a href=\"/a--b\" title=\"t--t 'q'\">l" NDASH "k</a> "
                        "<img src=\"/i...png\" alt=\"" LDQ "alt" RDQ " " NDASH " x\" /></p>\n");
    assert_string_equal(render(e, "<http://x.org/a--b...c> www.example.com/a--b x--y@z.org\n"),
                        "<p><a href=\"http://x.org/a--b...c\">http://x.org/a--b...c</a> "
                        "<a href=\"http://www.example.com/a--b\">www.example.com/a--b</a> "
                        "<a href=\"mailto:x--y@z.org\">x--y@z.org</a></p>\n");
}

static void test_smart_escapes_and_entities(void **state)
{
    env *e = *state;
    assert_string_equal(render(e, "\\\"a\\\" \\'b\\' &quot;c&quot; a\\.\\.\\.\n"),
                        "<p>&quot;a&quot; 'b' &quot;c&quot; a...</p>\n");
    /* An escaped backslash does not escape the quote after it. */
    assert_string_equal(render(e, "\\\\\"x\"\n"), "<p>\\" LDQ "x" RDQ "</p>\n");
}

static void test_smart_off_is_unchanged(void **state)
{
    env *e = *state;
    assert_string_equal(render_flags(e, "\"a\" -- 'b' ...\n", 0),
                        "<p>&quot;a&quot; -- 'b' ...</p>\n");
}

/*** Character classes ***/

static void test_smart_classes(void **state)
{
    (void)state;
    assert_true(fmd__kernel_smart_is_punct('!'));
    assert_true(fmd__kernel_smart_is_punct('~'));
    assert_true(fmd__kernel_smart_is_punct(0x2014)); /* em dash */
    assert_true(fmd__kernel_smart_is_punct(0x3002)); /* ideographic full stop */
    assert_false(fmd__kernel_smart_is_punct('a'));
    assert_false(fmd__kernel_smart_is_punct(0x4E2D));
    assert_true(fmd__kernel_smart_is_space(0xA0));
    assert_true(fmd__kernel_smart_is_space('\n'));
    assert_false(fmd__kernel_smart_is_space('x'));
    const char *s = "a\xC3\xA9"
                    "b";
    assert_int_equal(fmd__kernel_utf8_before(s, s + 3), 0xE9);
    assert_int_equal(fmd__kernel_utf8_before(s, s), '\n');
    assert_int_equal(fmd__kernel_utf8_at(s + 1, s + 4), 0xE9);
    assert_int_equal(fmd__kernel_utf8_at(s + 4, s + 4), '\n');
    bool open, close;
    fmd__kernel_smart_flanking(' ', 'a', &open, &close);
    assert_true(open && !close);
    fmd__kernel_smart_flanking('a', ' ', &open, &close);
    assert_true(!open && close);
    fmd__kernel_smart_flanking('a', 'b', &open, &close);
    assert_true(!open && close);
    fmd__kernel_smart_flanking(')', 'b', &open, &close);
    assert_true(!open && !close);
}

/*** xhtml: void elements ***/

static void test_xhtml_void_elements(void **state)
{
    env *e = *state;
    const char *md = "a  \nb\n\n---\n\n![i](/x.png)\n\n- [x] t\n";
    assert_string_equal(render_flags(e, md, 0),
                        "<p>a<br />\nb</p>\n<hr />\n<p><img src=\"/x.png\" alt=\"i\" /></p>\n<ul>\n"
                        "<li class=\"task-list-item\"><input type=\"checkbox\" "
                        "class=\"task-list-item-checkbox\" checked disabled /> t</li>\n</ul>\n");
    assert_string_equal(render_flags(e, md, HTML5),
                        "<p>a<br>\nb</p>\n<hr>\n<p><img src=\"/x.png\" alt=\"i\"></p>\n<ul>\n"
                        "<li class=\"task-list-item\"><input type=\"checkbox\" "
                        "class=\"task-list-item-checkbox\" checked disabled> t</li>\n</ul>\n");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, env_setup, env_teardown)
    const struct CMUnitTest tests[] = {
        T(test_smart_double_quotes),
        T(test_smart_single_quotes_and_apostrophes),
        T(test_smart_quotes_and_spans),
        T(test_smart_quotes_in_heading_text),
        T(test_smart_dashes),
        T(test_smart_ellipsis),
        T(test_smart_never_in_code),
        T(test_smart_never_in_raw_html),
        T(test_smart_never_in_urls_or_attributes),
        T(test_smart_escapes_and_entities),
        T(test_smart_off_is_unchanged),
        T(test_smart_classes),
        T(test_xhtml_void_elements),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
