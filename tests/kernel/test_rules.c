/* SPDX-License-Identifier: MIT */
/* Unit tests of custom rules (kernel/rules.c): literal and PCRE2 replacements, their order,
 * patterns that match the empty string, compile errors that name the rule, the output limit,
 * rules applied by fmd_kernel_page_render, and one compiled set shared by two OpenMP threads;
 * PCRE2 limits scaled to the page (the ReDoS case) and the page deadline between matches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <omp.h>

#include "internal.h"

/*** Helpers ***/

typedef struct env {
    fmd_arena *arena;
} env;

static int env_setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    if (e == NULL || fmd_arena_create(&e->arena, 0) != FMD_OK)
        return -1;
    *state = e;
    return 0;
}

static int env_teardown(void **state)
{
    env *e = *state;
    fmd_arena_destroy(e->arena);
    free(e);
    return 0;
}

static fmd_rule_spec lit(const char *p, const char *r)
{
    return (fmd_rule_spec){p, strlen(p), r, strlen(r), false};
}

static fmd_rule_spec re(const char *p, const char *r)
{
    return (fmd_rule_spec){p, strlen(p), r, strlen(r), true};
}

static fmd_rules *compile(const fmd_rule_spec *specs, size_t n)
{
    fmd_rules *r = NULL;
    assert_int_equal(fmd_kernel_rules_create(specs, n, &r, NULL, NULL), FMD_OK);
    assert_non_null(r);
    return r;
}

/* Apply @p r to @p text; returns the result NUL-terminated (in e->arena). */
static const char *apply(env *e, const fmd_rules *r, const char *text)
{
    fmd_slice out;
    size_t failed = SIZE_MAX;
    assert_int_equal(
        fmd__kernel_rules_apply(r, text, strlen(text), 1 << 20, 0, e->arena, &out, &failed, NULL),
        FMD_OK);
    char *s = fmd_arena_alloc(e->arena, out.len + 1);
    assert_non_null(s);
    memcpy(s, out.ptr, out.len);
    s[out.len] = '\0';
    return s;
}

/* Compile specs, expecting failure: the status, the rule named, and a piece of the message. */
static void expect_bad(env *e, const fmd_rule_spec *specs, size_t n, size_t bad_index,
                       const char *msg_part)
{
    fmd_rules *r = (fmd_rules *)1;
    size_t bad = SIZE_MAX;
    fmd_buf msg;
    fmd_buf_reset(&msg, e->arena);
    assert_int_equal(fmd_kernel_rules_create(specs, n, &r, &bad, &msg), FMD_E_RULE);
    assert_null(r);
    assert_int_equal(bad, bad_index);
    assert_int_equal(fmd_buf_putc(&msg, '\0'), FMD_OK);
    if (strstr(msg.ptr, msg_part) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", msg.ptr, msg_part);
}

/*** Tests ***/

static void test_rules_literal(void **state)
{
    env *e = *state;
    fmd_rule_spec specs[] = {lit("cat", "dog")};
    fmd_rules *r = compile(specs, 1);
    assert_string_equal(apply(e, r, "cat concatenate cat"), "dog condogenate dog");
    /* Non-overlapping, left to right. */
    fmd_kernel_rules_destroy(r);
    fmd_rule_spec aa[] = {lit("aa", "b")};
    r = compile(aa, 1);
    assert_string_equal(apply(e, r, "aaaaa"), "bba");
    /* No match: the input comes back, not a copy. */
    const char *text = "nothing here";
    fmd_slice out;
    assert_int_equal(
        fmd__kernel_rules_apply(r, text, strlen(text), 100, 0, e->arena, &out, NULL, NULL), FMD_OK);
    assert_ptr_equal(out.ptr, text);
    assert_int_equal(fmd_kernel_rules_count(r), 1);
    fmd_kernel_rules_destroy(r);
}

static void test_rules_regex_groups(void **state)
{
    env *e = *state;
    fmd_rule_spec specs[] = {re("(\\w+)@(\\w+)\\.com", "$2 at ${1}"),
                             re("(?<year>\\d{4})-(?<m>\\d\\d)", "${m}/$year"),
                             re("\\$(\\d+)", "$$$1.00")};
    fmd_rules *r = compile(specs, 3);
    assert_string_equal(apply(e, r, "mail bob@example.com, 2024-05, $5"),
                        "mail example at bob, 05/2024, $5.00");
    fmd_kernel_rules_destroy(r);
    /* UTF mode: . is one character; an unset group is empty. */
    fmd_rule_spec u[] = {re("\xC3\xA9(.)", "[$1]"), re("(x)|y", "<$1>")};
    r = compile(u, 2);
    assert_string_equal(apply(e, r, "\xC3\xA9\xC3\xA9 xy"), "[\xC3\xA9] <x><>");
    fmd_kernel_rules_destroy(r);
}

static void test_rules_overlapping_in_order(void **state)
{
    env *e = *state;
    /* Each rule sees the previous one's output. */
    fmd_rule_spec specs[] = {lit("a", "b"), lit("b", "c"), re("c+", "[$0]")};
    fmd_rules *r = compile(specs, 3);
    assert_string_equal(apply(e, r, "abc"), "[ccc]");
    fmd_kernel_rules_destroy(r);
    fmd_rule_spec rev[] = {re("c+", "[$0]"), lit("b", "c"), lit("a", "b")};
    r = compile(rev, 3);
    assert_string_equal(apply(e, r, "abc"), "bc[c]");
    fmd_kernel_rules_destroy(r);
}

static void test_rules_empty_match(void **state)
{
    env *e = *state;
    /* A pattern that matches the empty string moves on one character after each empty match. */
    fmd_rule_spec specs[] = {re("x*", "-")};
    fmd_rules *r = compile(specs, 1);
    assert_string_equal(apply(e, r, "abc"), "-a-b-c-");
    assert_string_equal(apply(e, r, "axxb"), "-a--b-");
    assert_string_equal(apply(e, r, ""), "-");
    fmd_kernel_rules_destroy(r);
    fmd_rule_spec b[] = {re("\\b", "|"), re("(?=\xC3\xA9)", "^")};
    r = compile(b, 2);
    assert_string_equal(apply(e, r, "ab \xC3\xA9"), "|ab| ^\xC3\xA9");
    fmd_kernel_rules_destroy(r);
}

static void test_rules_bad_rules(void **state)
{
    env *e = *state;
    fmd_rule_spec paren[] = {lit("ok", "fine"), re("ok", "x"), re("a(b", "x")};
    expect_bad(e, paren, 3, 2, "rule 2: missing closing parenthesis at offset 3");
    fmd_rule_spec group[] = {re("(a)", "$2")};
    expect_bad(e, group, 1, 0, "rule 0: the replacement refers to a group");
    fmd_rule_spec name[] = {re("(?<n>a)", "${nope}")};
    expect_bad(e, name, 1, 0, "names a group");
    fmd_rule_spec dollar[] = {re("a", "5$")};
    expect_bad(e, dollar, 1, 0, "names no group");
    fmd_rule_spec empty[] = {lit("x", "y"), lit("", "y")};
    expect_bad(e, empty, 2, 1, "rule 1: the pattern is empty");
    fmd_rule_spec utf[] = {lit("\xC3", "y")};
    expect_bad(e, utf, 1, 0, "not valid UTF-8");
    fmd_rule_spec utf_re[] = {re("a", "\xFF")};
    expect_bad(e, utf_re, 1, 0, "replacement is not valid UTF-8");
    fmd_rules *r = NULL;
    assert_int_equal(fmd_kernel_rules_create(paren, FMD_MAX_RULES + 1, &r, NULL, NULL),
                     FMD_E_USAGE);
    /* No rules at all is a valid (empty) set. */
    assert_int_equal(fmd_kernel_rules_create(NULL, 0, &r, NULL, NULL), FMD_OK);
    assert_string_equal(apply(e, r, "same"), "same");
    fmd_kernel_rules_destroy(r);
    fmd_kernel_rules_destroy(NULL);
}

static void test_rules_output_limit(void **state)
{
    env *e = *state;
    fmd_rule_spec lits[] = {lit("a", "aaaa")};
    fmd_rules *r = compile(lits, 1);
    fmd_slice out;
    size_t failed = SIZE_MAX;
    assert_int_equal(fmd__kernel_rules_apply(r, "aaaaa", 5, 19, 0, e->arena, &out, &failed, NULL),
                     FMD_E_OUTPUT_LIMIT);
    assert_int_equal(failed, 0);
    assert_int_equal(fmd__kernel_rules_apply(r, "aaaaa", 5, 20, 0, e->arena, &out, NULL, NULL),
                     FMD_OK);
    fmd_kernel_rules_destroy(r);
    fmd_rule_spec res[] = {lit("z", "y"), re("a", "aaaa")};
    r = compile(res, 2);
    assert_int_equal(fmd__kernel_rules_apply(r, "aaaaa", 5, 19, 0, e->arena, &out, &failed, NULL),
                     FMD_E_OUTPUT_LIMIT);
    assert_int_equal(failed, 1);
    assert_int_equal(fmd__kernel_rules_apply(r, "aaaaa", 5, 20, 0, e->arena, &out, NULL, NULL),
                     FMD_OK);
    assert_int_equal(out.len, 20);
    fmd_kernel_rules_destroy(r);
}

static void test_rules_in_render_page(void **state)
{
    env *e = *state;
    /* Rules run on the body after the front matter is taken off, before Markdown is parsed. */
    fmd_rule_spec specs[] = {lit("TITLE", "Heading"), re("\\{\\{(\\w+)\\}\\}", "**$1**")};
    fmd_rules *r = compile(specs, 2);
    fmd_options o;
    fmd_kernel_options_default(&o);
    o.rules = r;
    o.heading_ids = false;
    fmd_arena *scratch;
    assert_int_equal(fmd_arena_create(&scratch, 0), FMD_OK);
    const char *md = "---\ntitle: TITLE\n---\n# TITLE\n\nA {{name}}.\n";
    fmd_result res;
    assert_int_equal(fmd_kernel_page_render(md, strlen(md), &o, e->arena, scratch, &res), FMD_OK);
    const char *want = "<h1>Heading</h1>\n<p>A <strong>name</strong>.</p>\n";
    assert_int_equal(res.html.len, strlen(want));
    assert_memory_equal(res.html.ptr, want, res.html.len);
    assert_int_equal(res.title.len, 5); /* front matter is not rewritten */
    assert_memory_equal(res.title.ptr, "TITLE", 5);

    /* A page the rules blow up past the output limit fails with a message. */
    fmd_rule_spec grow[] = {re("x", "xxxxxxxxxxxxxxxx")};
    fmd_rules *g = compile(grow, 1);
    o.rules = g;
    o.max_output_bytes = 1000;
    char page[200];
    memset(page, 'x', sizeof page - 1);
    page[sizeof page - 1] = '\n';
    assert_int_equal(fmd_kernel_page_render(page, sizeof page, &o, e->arena, scratch, &res),
                     FMD_E_OUTPUT_LIMIT);
    assert_true(res.err_message.len > 0);
    assert_int_equal(res.html.len, 0);
    fmd_kernel_rules_destroy(g);
    fmd_kernel_rules_destroy(r);
    fmd_arena_destroy(scratch);
}

static void test_rules_match_error(void **state)
{
    env *e = *state;
    /* Catastrophic backtracking hits PCRE2's match limit: FMD_E_RULE naming the rule, not a
     * hang. */
    fmd_rule_spec specs[] = {lit("q", "q"), re("(a+)+$", "x")};
    fmd_rules *r = compile(specs, 2);
    char text[64];
    memset(text, 'a', sizeof text - 2);
    text[sizeof text - 2] = 'b';
    text[sizeof text - 1] = '\0';
    fmd_slice out;
    size_t failed = SIZE_MAX;
    fmd_status st =
        fmd__kernel_rules_apply(r, text, strlen(text), 1 << 20, 0, e->arena, &out, &failed, NULL);
    assert_int_equal(st, FMD_E_RULE);
    assert_int_equal(failed, 1);
    fmd_kernel_rules_destroy(r);
}

/* The page ("a" x 20 + "!") x reps + ":": every run of letters backtracks 2^20 ways under
 * (\w+\s?)+: before the "!" stops it. Returns a malloc'd NUL-terminated page. */
static char *redos_page(size_t reps, size_t *len)
{
    *len = reps * 21 + 1;
    char *p = malloc(*len + 1);
    assert_non_null(p);
    for (size_t i = 0; i < reps; i++) {
        memset(p + i * 21, 'a', 20);
        p[i * 21 + 20] = '!';
    }
    p[*len - 1] = ':';
    p[*len] = '\0';
    return p;
}

static void test_rules_redos_is_bounded(void **state)
{
    env *e = *state;
    /* Without limits scaled to the page, 10 KB take seconds and 100 KB most of a minute. */
    fmd_rule_spec specs[] = {lit("q", "q"), re("(\\w+\\s?)+:", "**$0**")};
    fmd_rules *r = compile(specs, 2);
    static const size_t reps[] = {476, 4760};
    for (size_t k = 0; k < 2; k++) {
        size_t len;
        char *page = redos_page(reps[k], &len);
        fmd_slice out;
        size_t failed = SIZE_MAX;
        fmd_buf why;
        fmd_buf_reset(&why, e->arena);
        double t0 = omp_get_wtime();
        fmd_status st =
            fmd__kernel_rules_apply(r, page, len, 1 << 24, 0, e->arena, &out, &failed, &why);
        double s = omp_get_wtime() - t0;
        assert_int_equal(st, FMD_E_RULE);
        assert_int_equal(failed, 1);
        assert_true(s < 0.5);
        assert_non_null(why.ptr);
        char msg[512];
        snprintf(msg, sizeof msg, "%.*s", (int)why.len, why.ptr);
        assert_non_null(strstr(msg, "custom rule 1 (/(\\w+\\s?)+:/)"));
        assert_non_null(strstr(msg, "match limit"));
        free(page);

        /* Through the page: code rule, the rule named in the message, nothing rendered. */
        page = redos_page(reps[k], &len);
        fmd_options o;
        fmd_kernel_options_default(&o);
        o.rules = r;
        fmd_arena *scratch;
        assert_int_equal(fmd_arena_create(&scratch, 0), FMD_OK);
        fmd_result res;
        assert_int_equal(fmd_kernel_page_render(page, len, &o, e->arena, scratch, &res),
                         FMD_E_RULE);
        snprintf(msg, sizeof msg, "%.*s", (int)res.err_message.len, res.err_message.ptr);
        assert_non_null(strstr(msg, "custom rule 1"));
        assert_int_equal(res.html.len, 0);
        fmd_arena_destroy(scratch);
        free(page);
    }
    /* The same rule on a page where it matches, and ordinary text around it, still works. */
    assert_string_equal(apply(e, r, "Note: a b. Warning: c"), "**Note:** a b. **Warning:** c");
    fmd_kernel_rules_destroy(r);
}

static void test_rules_limits_leave_ordinary_rules_alone(void **state)
{
    env *e = *state;
    /* A 4 MB page and rules that scan all of it: the scaled limits never trip. */
    enum { LINES = 100000 };
    size_t cap = (size_t)LINES * 48 + 1;
    char *page = malloc(cap);
    assert_non_null(page);
    size_t n = 0;
    for (int i = 0; i < LINES; i++)
        n += (size_t)snprintf(page + n, cap - n, "Line %d mails bob%d@example.com today.\n", i,
                              i % 10);
    fmd_rule_spec specs[] = {re("(\\w+)@(\\w+)\\.com", "<$2:$1>"), re("\\bTODO\\b", "x"),
                             re("^Line (\\d+)", "L$1")};
    fmd_rules *r = compile(specs, 3);
    fmd_slice out;
    size_t failed = SIZE_MAX;
    assert_int_equal(
        fmd__kernel_rules_apply(r, page, n, (size_t)1 << 26, 0, e->arena, &out, &failed, NULL),
        FMD_OK);
    assert_true(out.len > 0);
    static const char want[] = "L0 mails <example:bob0> today.\nLine 1 mails <example:bob1>";
    assert_true(out.len > sizeof want);
    assert_memory_equal(out.ptr, want, sizeof want - 1);
    fmd_kernel_rules_destroy(r);
    free(page);
}

static void test_rules_deadline(void **state)
{
    env *e = *state;
    /* Many cheap matches: each call is fast, but together they pass a 1 ms deadline, which is
     * read between matches. */
    size_t n = (size_t)8 << 20;
    char *page = malloc(n);
    assert_non_null(page);
    memset(page, 'a', n);
    fmd_rule_spec specs[] = {lit("zz", "z"), re("a", "bb")};
    fmd_rules *r = compile(specs, 2);
    fmd_slice out;
    size_t failed = SIZE_MAX;
    fmd_buf why;
    fmd_buf_reset(&why, e->arena);
    double t0 = omp_get_wtime();
    fmd_status st =
        fmd__kernel_rules_apply(r, page, n, (size_t)1 << 26, 1, e->arena, &out, &failed, &why);
    double s = omp_get_wtime() - t0;
    assert_int_equal(st, FMD_E_DEADLINE);
    assert_int_equal(failed, 1);
    assert_true(s < 0.5);
    char msg[256];
    snprintf(msg, sizeof msg, "%.*s", (int)why.len, why.ptr);
    assert_non_null(strstr(msg, "custom rule 1 passed the page deadline of 1 ms"));
    fmd_arena_reset(e->arena);
    /* Without a deadline the same work completes. */
    assert_int_equal(
        fmd__kernel_rules_apply(r, page, n, (size_t)1 << 26, 0, e->arena, &out, &failed, NULL),
        FMD_OK);
    assert_int_equal(out.len, 2 * n);
    /* Through the page: code deadline. */
    fmd_arena_reset(e->arena);
    fmd_options o;
    fmd_kernel_options_default(&o);
    o.rules = r;
    o.deadline_ms = 1;
    fmd_arena *scratch;
    assert_int_equal(fmd_arena_create(&scratch, 0), FMD_OK);
    fmd_result res;
    assert_int_equal(fmd_kernel_page_render(page, n, &o, e->arena, scratch, &res), FMD_E_DEADLINE);
    assert_true(res.err_message.len > 0);
    fmd_arena_destroy(scratch);
    fmd_kernel_rules_destroy(r);
    free(page);
}

/* Apply @p r to each page into its own buffer of @p out. Returns the first failing status. */
static fmd_status apply_all(const fmd_rules *r, const char *const *pages, size_t n, char **out,
                            fmd_arena *a)
{
    for (size_t i = 0; i < n; i++) {
        fmd_slice s;
        fmd_status st =
            fmd__kernel_rules_apply(r, pages[i], strlen(pages[i]), 1 << 20, 0, a, &s, NULL, NULL);
        if (st != FMD_OK)
            return st;
        out[i] = malloc(s.len + 1);
        if (out[i] == NULL)
            return FMD_E_NOMEM;
        memcpy(out[i], s.ptr, s.len);
        out[i][s.len] = '\0';
        fmd_arena_reset(a);
    }
    return FMD_OK;
}

static void test_rules_two_threads(void **state)
{
    (void)state;
    /* One compiled set, read by two threads at once on different pages (the JIT code and the
     * pattern are shared; match data is per call). Results are compared with a serial run after
     * the region: no assert inside it. */
    fmd_rule_spec specs[] = {re("(?i)HELLO", "bye"), re("(\\w+)@(\\w+)", "$2:$1"), lit("--", "-"),
                             re("x*", ".")};
    fmd_rules *r = compile(specs, 4);
    enum { PAGES = 64, ROUNDS = 20 };
    static char bufs[PAGES][256];
    const char *pages[PAGES];
    for (int i = 0; i < PAGES; i++) {
        snprintf(bufs[i], sizeof bufs[i], "%d: u%d@h%d -- Hello x%dx", i, i, i * 7, i);
        pages[i] = bufs[i];
    }
    char *serial[PAGES] = {0}, *par[2][PAGES / 2] = {{0}};
    fmd_arena *a;
    assert_int_equal(fmd_arena_create(&a, 0), FMD_OK);
    assert_int_equal(apply_all(r, pages, PAGES, serial, a), FMD_OK);
    fmd_arena_destroy(a);
    assert_string_equal(serial[3], ".3.:. .h.2.1.:.u.3. .-. .b.y.e. ..3..");

    omp_set_dynamic(0);
    for (int round = 0; round < ROUNDS; round++) {
        fmd_status st[2] = {FMD_E_USAGE, FMD_E_USAGE};
        int team = 0;
#pragma omp parallel num_threads(2) default(none) shared(r, pages, par, st, team)
        {
            int t = omp_get_thread_num();
            if (t == 0)
                team = omp_get_num_threads();
            fmd_arena *ta = NULL;
            st[t] = fmd_arena_create(&ta, 0);
            for (int k = 0; k < PAGES / 2 && st[t] == FMD_OK; k++) {
                free(par[t][k]);
                par[t][k] = NULL;
            }
            if (st[t] == FMD_OK)
                st[t] = apply_all(r, pages + t * (PAGES / 2), PAGES / 2, par[t], ta);
            fmd_arena_destroy(ta);
        }
        assert_int_equal(team, 2);
        assert_int_equal(st[0], FMD_OK);
        assert_int_equal(st[1], FMD_OK);
        for (int t = 0; t < 2; t++)
            for (int k = 0; k < PAGES / 2; k++)
                assert_string_equal(par[t][k], serial[t * (PAGES / 2) + k]);
    }
    for (int i = 0; i < PAGES; i++)
        free(serial[i]);
    for (int t = 0; t < 2; t++)
        for (int k = 0; k < PAGES / 2; k++)
            free(par[t][k]);
    fmd_kernel_rules_destroy(r);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, env_setup, env_teardown)
    const struct CMUnitTest tests[] = {
        T(test_rules_literal),
        T(test_rules_regex_groups),
        T(test_rules_overlapping_in_order),
        T(test_rules_empty_match),
        T(test_rules_bad_rules),
        T(test_rules_output_limit),
        T(test_rules_in_render_page),
        T(test_rules_match_error),
        T(test_rules_redos_is_bounded),
        T(test_rules_limits_leave_ordinary_rules_alone),
        T(test_rules_deadline),
        T(test_rules_two_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
