/* SPDX-License-Identifier: MIT */
/* Unit tests of a site build's link check (fmd_engine_site.h): resolving a link against its
 * page, collecting links from results, and checking them against a sorted page list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fmd_engine_site.h"

static void test_site_resolve(void **state)
{
    (void)state;
    char out[64];
    assert_true(fmd_engine_site_resolve("a/b.md", "c.md", out, sizeof out));
    assert_string_equal(out, "a/c.md");
    assert_true(fmd_engine_site_resolve("a/b.md", "../c.md", out, sizeof out));
    assert_string_equal(out, "c.md");
    assert_true(fmd_engine_site_resolve("a/b.md", "./x/./y%20z.md", out, sizeof out));
    assert_string_equal(out, "a/x/y z.md");
    assert_true(fmd_engine_site_resolve("top.md", "d//e.md", out, sizeof out));
    assert_string_equal(out, "d/e.md");
    /* Above SRC, empty, or too long for the buffer: no page. */
    assert_false(fmd_engine_site_resolve("a/b.md", "../../c.md", out, sizeof out));
    assert_false(fmd_engine_site_resolve("b.md", ".", out, sizeof out));
    assert_false(fmd_engine_site_resolve("b.md", "a-rather-long-name.md", out, 8));
}

/* What the missing-link callback saw, in order. */
typedef struct seen {
    char text[8][64];
    size_t n;
} seen;

static void on_missing(const fmd_engine_site_link *l, size_t index, void *userdata)
{
    seen *s = userdata;
    assert_int_equal(index, s->n);
    assert_true(s->n < 8);
    snprintf(s->text[s->n++], sizeof s->text[0], "%s:%u>%s", l->page, l->line, l->target);
}

static fmd_result links_result(const fmd_page_link *v, size_t n)
{
    fmd_result r;
    memset(&r, 0, sizeof r);
    r.page_links = v;
    r.n_page_links = n;
    return r;
}

static void test_site_links_check(void **state)
{
    (void)state;
    fmd_engine_links l;
    fmd_engine_links_create(&l, "src");
    /* Added out of page order, as threads finish: the check sorts by page, then link order. */
    fmd_page_link b_links[] = {{{"../a.md", 7}, 2}, {{"gone.md", 7}, 5}, {{"x/y.md", 6}, 9}};
    fmd_page_link a_links[] = {{{"missing.md", 10}, 1}, {{"sub/b.md", 8}, 3}};
    fmd_result rb = links_result(b_links, 3), ra = links_result(a_links, 2), none;
    memset(&none, 0, sizeof none);
    fmd_engine_links_add(&l, "src/sub/b.md", &rb);
    fmd_engine_links_add(&l, "src/a.md", &ra);
    fmd_engine_links_add(&l, "src/c.md", &none);
    assert_int_equal(l.n, 5);
    assert_false(l.nomem);

    fmd_io_page pages[3];
    memset(pages, 0, sizeof pages);
    pages[0].path = "a.md";
    pages[1].path = "sub/b.md";
    pages[2].path = "sub/x/y.md";
    seen s = {0};
    size_t missing = 0;
    size_t bad = fmd_engine_links_check(&l, pages, 3, on_missing, &s, &missing);
    assert_int_equal(bad, 2);
    assert_int_equal(missing, 2);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.text[0], "a.md:1>missing.md");
    assert_string_equal(s.text[1], "sub/b.md:5>gone.md");

    /* With no pages at all, every link is missing; no callback is fine. */
    bad = fmd_engine_links_check(&l, NULL, 0, NULL, NULL, &missing);
    assert_int_equal(bad, 2);
    assert_int_equal(missing, 5);
    fmd_engine_links_destroy(&l);
}

static void test_site_template(void **state)
{
    (void)state;
    fmd_arena *a = NULL;
    assert_int_equal(fmd_arena_create(&a, 0), FMD_OK);
    fmd_buf msg;
    fmd_buf_reset(&msg, a);
    fmd_template *t = NULL;
    int err = -1;
    bool unreadable = true;
    assert_int_equal(fmd_engine_site_template_load(NULL, a, &t, &msg, &err, &unreadable), FMD_OK);
    assert_non_null(t);
    assert_false(unreadable);
    fmd_status st = fmd_engine_site_template_load("/nonexistent/fastmd-template.html", a, &t, &msg,
                                                  &err, &unreadable);
    assert_int_not_equal(st, FMD_OK);
    assert_true(unreadable);
    assert_null(t);
    fmd_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_site_resolve),
        cmocka_unit_test(test_site_links_check),
        cmocka_unit_test(test_site_template),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
