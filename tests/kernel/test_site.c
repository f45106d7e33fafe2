/* SPDX-License-Identifier: MIT */
/* Unit tests of kernel/links.c and kernel/template.c: which link destinations are rewritten,
 * the links a page reports (with lines), the template's escaping, and malformed templates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fmd_kernel.h"

/* Rewrite href; want NULL: not a page link (nothing appended), else the rewritten form and the
 * target. */
static void check_link(const char *href, const char *want, const char *want_target)
{
    fmd_arena *a = NULL;
    assert_int_equal(fmd_arena_create(&a, 0), FMD_OK);
    fmd_buf b;
    fmd_buf_reset(&b, a);
    fmd_slice t;
    assert_int_equal(fmd_kernel_link_rewrite(href, strlen(href), &b, &t), FMD_OK);
    if (want == NULL) {
        assert_null(t.ptr);
        assert_int_equal(b.len, 0);
    } else {
        assert_non_null(t.ptr);
        assert_int_equal(b.len, strlen(want));
        assert_memory_equal(b.ptr, want, b.len);
        assert_int_equal(t.len, strlen(want_target));
        assert_memory_equal(t.ptr, want_target, t.len);
    }
    fmd_arena_destroy(a);
}

static void test_site_link_rewrite(void **state)
{
    (void)state;
    check_link("x.md", "x.html", "x.md");
    check_link("d/x.markdown", "d/x.html", "d/x.markdown");
    check_link("../a/b.md?x=1#y", "../a/b.html?x=1#y", "../a/b.md");
    check_link("b.md#s", "b.html#s", "b.md");
    check_link("https://example.org/x.md", NULL, NULL);
    check_link("mailto:a@b.md", NULL, NULL);
    check_link("//host/x.md", NULL, NULL);
    check_link("/root/x.md", NULL, NULL);
    check_link("#x.md", NULL, NULL);
    check_link("?q=x.md", NULL, NULL);
    check_link("x.MD", NULL, NULL); /* the walk takes only lower-case extensions */
    check_link("x.md.txt", NULL, NULL);
    check_link("image.png", NULL, NULL);
    check_link("", NULL, NULL);
}

/* Render src with opt into a fresh pair of arenas. */
static void render(const char *src, const fmd_options *opt, fmd_arena **out, fmd_result *res)
{
    fmd_arena *scratch = NULL;
    assert_int_equal(fmd_arena_create(out, 0), FMD_OK);
    assert_int_equal(fmd_arena_create(&scratch, 0), FMD_OK);
    assert_int_equal(fmd_kernel_page_render(src, strlen(src), opt, *out, scratch, res), FMD_OK);
    fmd_arena_destroy(scratch);
}

static void test_site_page_links_reported(void **state)
{
    (void)state;
    fmd_options opt;
    fmd_kernel_options_default(&opt);
    const char *src = "---\ntitle: T\n---\n# H\n\n[a](a.md#x) and [w](https://w.org/b.md)\n\n"
                      "> quote\n> [c](sub/c.markdown?q)\n\n[img](p.png) ![i](i.md)\n";
    fmd_arena *out = NULL;
    fmd_result res;
    /* Off by default: links as written, none reported. */
    render(src, &opt, &out, &res);
    assert_non_null(strstr(res.html.ptr, "href=\"a.md#x\""));
    assert_int_equal(res.n_page_links, 0);
    fmd_arena_destroy(out);

    opt.links = FMD_LINKS_REWRITE | FMD_LINKS_REPORT;
    render(src, &opt, &out, &res);
    assert_non_null(strstr(res.html.ptr, "href=\"a.html#x\""));
    assert_non_null(strstr(res.html.ptr, "href=\"sub/c.html?q\""));
    assert_non_null(strstr(res.html.ptr, "href=\"https://w.org/b.md\""));
    assert_non_null(strstr(res.html.ptr, "src=\"i.md\"")); /* images are not pages */
    assert_int_equal(res.n_page_links, 2);
    assert_int_equal(res.page_links[0].target.len, 4);
    assert_memory_equal(res.page_links[0].target.ptr, "a.md", 4);
    assert_int_equal(res.page_links[0].line, 6);
    assert_memory_equal(res.page_links[1].target.ptr, "sub/c.markdown", 14);
    assert_int_equal(res.page_links[1].line, 9);
    fmd_arena_destroy(out);

    /* Report only: the HTML keeps the links as written. */
    opt.links = FMD_LINKS_REPORT;
    render(src, &opt, &out, &res);
    assert_non_null(strstr(res.html.ptr, "href=\"a.md#x\""));
    assert_int_equal(res.n_page_links, 2);
    fmd_arena_destroy(out);
}

/* Compile tpl; on success fill it with page src and compare with want. */
static void check_fill(const char *tpl, const char *src, const char *want)
{
    fmd_arena *a = NULL, *out = NULL;
    assert_int_equal(fmd_arena_create(&a, 0), FMD_OK);
    fmd_template *t = NULL;
    assert_int_equal(fmd_kernel_template_compile(tpl, strlen(tpl), a, &t, NULL), FMD_OK);
    fmd_options opt;
    fmd_kernel_options_default(&opt);
    fmd_result res;
    render(src, &opt, &out, &res);
    fmd_buf b;
    fmd_buf_reset(&b, out);
    assert_int_equal(fmd_kernel_template_fill(t, &res, &b), FMD_OK);
    assert_int_equal(fmd_buf_putc(&b, '\0'), FMD_OK);
    assert_string_equal(b.ptr, want);
    fmd_arena_destroy(out);
    fmd_arena_destroy(a);
}

static void test_site_template_escaping(void **state)
{
    (void)state;
    const char *page = "---\ntitle: \"A <b> & \\\"q\\\"\"\ntags: [x, \"y<z\"]\nn: 3\n"
                       "o: {k: v}\nu: \"caf\\u00e9\"\n---\n# One < two\n\n## Three\n";
    check_fill("<title>{{ title }}</title>|{{fm.tags}}|{{fm.n}}|{{fm.o}}|{{fm.none}}|{{fm.u}}|"
               "{{content}}",
               page,
               "<title>A &lt;b&gt; &amp; &quot;q&quot;</title>|x, y&lt;z|3|||café|"
               "<h1 id=\"one--two\">One &lt; two</h1>\n<h2 id=\"three\">Three</h2>\n");
    check_fill("{{toc}}{{content}}", "# A & B\n",
               "<ul>\n<li class=\"toc-h1\"><a href=\"#a--b\">A &amp; B</a></li>\n</ul>\n"
               "<h1 id=\"a--b\">A &amp; B</h1>\n");
    check_fill("[{{title}}]{{content}}", "text\n", "[Untitled]<p>text</p>\n");
    /* The built-in template compiles, and has what a browser needs. */
    const char *b = fmd_kernel_template_builtin();
    assert_non_null(strstr(b, "<meta charset=\"utf-8\">"));
    assert_non_null(strstr(b, "<title>{{title}}</title>"));
    fmd_arena *a = NULL;
    assert_int_equal(fmd_arena_create(&a, 0), FMD_OK);
    fmd_template *t = NULL;
    assert_int_equal(fmd_kernel_template_compile(b, strlen(b), a, &t, NULL), FMD_OK);
    fmd_arena_destroy(a);
}

/* A malformed template: refused with FMD_E_USAGE and a message naming line and cause. */
static void check_bad(const char *tpl, const char *want_msg)
{
    fmd_arena *a = NULL;
    assert_int_equal(fmd_arena_create(&a, 0), FMD_OK);
    fmd_buf msg;
    fmd_buf_reset(&msg, a);
    fmd_template *t = (fmd_template *)1;
    assert_int_equal(fmd_kernel_template_compile(tpl, strlen(tpl), a, &t, &msg), FMD_E_USAGE);
    assert_null(t);
    assert_int_equal(fmd_buf_putc(&msg, '\0'), FMD_OK);
    assert_string_equal(msg.ptr, want_msg);
    fmd_arena_destroy(a);
}

static void test_site_template_malformed(void **state)
{
    (void)state;
    check_bad("<p>\n  {{titel}}{{content}}",
              "line 2, column 3: unknown placeholder (known: title, content, toc, fm.KEY): "
              "'titel'");
    check_bad("a\nb\n{{title", "line 3, column 1: no closing '}}' on the line of placeholder "
                               "'title'");
    check_bad("{{content}} {{ }}", "line 1, column 13: empty placeholder");
    check_bad("{{con tent}}", "line 1, column 1: a placeholder name may hold only A-Z a-z 0-9 _ - "
                              ". in 'con '");
    check_bad("<html>{{title}}</html>\n",
              "line 2, column 1: the template has no {{content}} placeholder");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_site_link_rewrite),
        cmocka_unit_test(test_site_page_links_reported),
        cmocka_unit_test(test_site_template_escaping),
        cmocka_unit_test(test_site_template_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
