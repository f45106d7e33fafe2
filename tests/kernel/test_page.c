/* SPDX-License-Identifier: MIT */
/* Unit tests of the page transform end to end (kernel/page.c): title rules, metadata counts,
 * limits, warnings, the hash; and of the batch loop (kernel/batch.c): identical results at any
 * thread count and schedule, the sink, release and cancellation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <xxhash.h>

#include "fmd_kernel.h"
#include "fmd_title.h"

typedef struct env {
    fmd_arena *out, *scratch;
    fmd_options opt;
    fmd_result r;
} env;

static int setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    assert_non_null(e);
    assert_int_equal(fmd_arena_create(&e->out, 0), FMD_OK);
    assert_int_equal(fmd_arena_create(&e->scratch, 0), FMD_OK);
    fmd_kernel_options_default(&e->opt);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    fmd_arena_destroy(e->out);
    fmd_arena_destroy(e->scratch);
    free(e);
    return 0;
}

static fmd_status page(env *e, const char *md)
{
    return fmd_kernel_page_render(md, strlen(md), &e->opt, e->out, e->scratch, &e->r);
}

static void assert_slice(fmd_slice s, const char *want)
{
    assert_non_null(s.ptr);
    assert_int_equal(s.len, strlen(want));
    assert_memory_equal(s.ptr, want, s.len);
}

/*** Title rules ***/

static void test_page_title_from_front_matter_wins(void **state)
{
    env *e = *state;
    assert_int_equal(page(e, "---\ntitle: From YAML\n---\n# From heading\n"), FMD_OK);
    assert_slice(e->r.title, "From YAML");
}

static void test_page_title_first_h1(void **state)
{
    env *e = *state;
    assert_int_equal(page(e, "## Second level\n\n# First *h1*\n\n# Other h1\n"), FMD_OK);
    assert_slice(e->r.title, "First h1");
}

static void test_page_title_first_heading_when_no_h1(void **state)
{
    env *e = *state;
    assert_int_equal(page(e, "---\nx: 1\n---\ntext\n\n### Deep\n\n## Shallow\n"), FMD_OK);
    assert_slice(e->r.title, "Deep");
}

static void test_page_title_none(void **state)
{
    env *e = *state;
    assert_int_equal(page(e, "just text\n"), FMD_OK);
    assert_null(e->r.title.ptr);
}

static void test_page_title_non_string_front_matter(void **state)
{
    env *e = *state;
    assert_int_equal(page(e, "---\ntitle: 2026\n---\n# H\n"), FMD_OK);
    assert_slice(e->r.title, "2026");
}

static void test_page_title_from_path(void **state)
{
    env *e = *state;
    static const char *cases[][2] = {
        {"docs/ref-and-relref.md", "Ref and relref"},
        {"guide/_index.md", "Guide"},
        {"a/b/index.markdown", "B"},
        {"_index.md", "Index"},
        {"notes__draft--2.md", "Notes draft 2"},
        {"..md", ""},
        {"x/---.md", ""},
        {"über.md", "über"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fmd_slice t;
        assert_int_equal(fmd_title_from_path(cases[i][0], strlen(cases[i][0]), e->out, &t), FMD_OK);
        if (t.len != strlen(cases[i][1]) || memcmp(t.ptr, cases[i][1], t.len) != 0)
            fail_msg("%s: got '%.*s', want '%s'", cases[i][0], (int)t.len, t.ptr, cases[i][1]);
    }
}

/*** Metadata ***/

static void test_page_metadata_counts(void **state)
{
    env *e = *state;
    const char *md = "---\ntitle: T\ntags: [a, b]\n---\n"
                     "# One two\n\n"
                     "Three [four](http://x) ![five](i.png) `six seven` www.example.com\n\n"
                     "```c\nint not_counted;\n```\n\n"
                     "    indented code\n\n"
                     "## Eight\n";
    assert_int_equal(page(e, md), FMD_OK);
    assert_int_equal(e->r.links, 2); /* [four] and the www autolink */
    assert_int_equal(e->r.images, 1);
    assert_int_equal(e->r.code_blocks, 2);
    assert_int_equal(e->r.n_headings, 2);
    assert_int_equal(e->r.headings[0].level, 1);
    assert_slice(e->r.headings[0].text, "One two");
    assert_slice(e->r.headings[0].id, "one-two");
    assert_int_equal(e->r.headings[1].level, 2);
    assert_slice(e->r.headings[1].id, "eight");
    /* One two / Three four six seven www.example.com / Eight: alt text and code blocks excluded */
    assert_int_equal(e->r.words, 8);
    assert_slice(e->r.frontmatter, "{\"title\":\"T\",\"tags\":[\"a\",\"b\"]}");
    assert_int_equal(e->r.bytes_in, strlen(md));
}

static void test_page_hash_is_xxh3_of_the_bytes(void **state)
{
    env *e = *state;
    const char *md = "\xef\xbb\xbf# Hash me\r\n";
    assert_int_equal(page(e, md), FMD_OK);
    assert_int_equal(e->r.hash, (uint64_t)XXH3_64bits(md, strlen(md)));
    char hex[17];
    fmd_kernel_hash_format(0x0123456789abcdefULL, hex);
    assert_string_equal(hex, "0123456789abcdef");
}

static void test_page_invalid_utf8_is_a_warning(void **state)
{
    env *e = *state;
    assert_int_equal(page(e, "ok\n\nbad \xc3\x28 here\n"), FMD_OK);
    assert_int_equal(e->r.n_warnings, 1);
    assert_non_null(strstr(e->r.warnings[0].ptr, "line 3"));
    assert_non_null(strstr(e->r.html.ptr, "\xef\xbf\xbd"));
}

static void test_page_front_matter_error_keeps_the_body(void **state)
{
    env *e = *state;
    assert_int_equal(page(e, "---\ntitle: [unclosed\n---\n# Body\n"), FMD_E_FRONTMATTER);
    assert_int_equal(e->r.status, FMD_E_FRONTMATTER);
    assert_true(e->r.err_line >= 2);
    assert_true(e->r.err_message.len > 0);
    assert_non_null(e->r.html.ptr);
    assert_non_null(strstr(e->r.html.ptr, "<h1 id=\"body\">Body</h1>"));
    assert_null(e->r.frontmatter.ptr);
}

static void test_page_commonmark_dialect_has_no_front_matter(void **state)
{
    env *e = *state;
    fmd_kernel_options_set_dialect(&e->opt, FMD_DIALECT_COMMONMARK);
    e->opt.heading_ids = false;
    assert_int_equal(page(e, "---\nFoo\n---\n"), FMD_OK);
    assert_int_equal(e->r.html.len, strlen("<hr />\n<h2>Foo</h2>\n"));
    assert_memory_equal(e->r.html.ptr, "<hr />\n<h2>Foo</h2>\n", e->r.html.len);
}

static void test_page_input_limit(void **state)
{
    env *e = *state;
    e->opt.max_input_bytes = 8;
    assert_int_equal(page(e, "# more than eight bytes\n"), FMD_E_INPUT_LIMIT);
    assert_int_equal(e->r.html.len, 0);
    assert_non_null(strstr(e->r.err_message.ptr, "input limit of 8 bytes"));
}

static void test_page_output_limit_discards_partial_html(void **state)
{
    env *e = *state;
    e->opt.max_output_bytes = 4096;
    char md[3000];
    size_t n = 0;
    n += (size_t)snprintf(md + n, sizeof md - n, "|");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(md + n, sizeof md - n, "a|");
    n += (size_t)snprintf(md + n, sizeof md - n, "\n|");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(md + n, sizeof md - n, "---|");
    n += (size_t)snprintf(md + n, sizeof md - n, "\n");
    for (int i = 0; i < 200 && n + 4 < sizeof md; i++)
        n += (size_t)snprintf(md + n, sizeof md - n, "|x\n");
    size_t before = fmd_arena_used(e->out);
    assert_int_equal(fmd_kernel_page_render(md, n, &e->opt, e->out, e->scratch, &e->r),
                     FMD_E_OUTPUT_LIMIT);
    assert_int_equal(e->r.html.len, 0);
    /* Only the message stays in the arena: the partial HTML was rewound. */
    assert_true(fmd_arena_used(e->out) - before < 256);
}

static void test_page_deadline(void **state)
{
    env *e = *state;
    /* About 4 MB of Markdown: well over a millisecond to render on any machine. */
    size_t n = 0, cap = (size_t)4 << 20;
    char *md = malloc(cap);
    assert_non_null(md);
    while (n + 64 < cap)
        n += (size_t)snprintf(md + n, cap - n, "*emphasis* and [a link](/x) and `code`\n\n");
    e->opt.deadline_ms = 1;
    assert_int_equal(fmd_kernel_page_render(md, n, &e->opt, e->out, e->scratch, &e->r),
                     FMD_E_DEADLINE);
    assert_int_equal(e->r.html.len, 0);
    assert_non_null(strstr(e->r.err_message.ptr, "deadline of 1 ms"));
    /* A generous deadline renders the same page. */
    e->opt.deadline_ms = 600000;
    assert_int_equal(fmd_kernel_page_render(md, n, &e->opt, e->out, e->scratch, &e->r), FMD_OK);
    assert_true(e->r.html.len > n);
    free(md);
}

static void test_page_passthrough(void **state)
{
    env *e = *state;
    e->opt.passthrough = true;
    const char *md = "# not rendered\n";
    assert_int_equal(page(e, md), FMD_OK);
    assert_ptr_equal(e->r.html.ptr, md);
    assert_int_equal(e->r.html.len, strlen(md));
}

/*** The batch loop ***/

#define N_PAGES 300

typedef struct corpus {
    char *base;
    fmd_page_ref refs[N_PAGES];
} corpus;

/* Pages of very different sizes and kinds, so that LPT order differs from input order. */
static void make_corpus(corpus *c)
{
    size_t cap = 4 << 20, len = 0;
    c->base = malloc(cap);
    assert_non_null(c->base);
    for (int i = 0; i < N_PAGES; i++) {
        size_t start = len;
        len += (size_t)snprintf(c->base + len, cap - len, "---\ntitle: Page %d\n---\n# H %d\n\n", i,
                                i % 7);
        int paras = (i * 37) % 50;
        for (int p = 0; p < paras; p++)
            len += (size_t)snprintf(c->base + len, cap - len,
                                    "Para %d with *em* and [link](/p/%d) and `code`.\n\n## Sub\n\n",
                                    p, p);
        c->refs[i].offset = start;
        c->refs[i].len = len - start;
        c->refs[i].load_status = i == 5 ? FMD_E_IO : FMD_OK; /* one page failed to load */
    }
}

/* A flat copy of what matters in a result, to compare runs whose arenas differ. */
static char *flatten(const fmd_result *r)
{
    size_t cap = r->html.len + 4096;
    char *s = malloc(cap);
    int n = snprintf(
        s, cap, "%d|%zu|%zu|%zu|%zu|%zu|%llx|%.*s|%.*s|", r->status, r->words, r->links, r->images,
        r->code_blocks, r->n_headings, (unsigned long long)r->hash, (int)r->title.len,
        r->title.ptr ? r->title.ptr : "", (int)r->html.len, r->html.ptr ? r->html.ptr : "");
    assert_true(n > 0 && (size_t)n < cap);
    return s;
}

static void run_and_flatten(corpus *c, int threads, fmd_schedule sched, char **flat)
{
    fmd_kernel_batch *b = NULL;
    assert_int_equal(fmd_kernel_batch_create(&b, threads), FMD_OK);
    assert_int_equal(fmd_kernel_batch_threads(b), threads);
    fmd_options opt;
    fmd_kernel_options_default(&opt);
    fmd_result *res = calloc(N_PAGES, sizeof *res);
    fmd_thread_stats *stats = calloc((size_t)threads, sizeof *stats);
    fmd_batch_run run = {.base = c->base,
                         .pages = c->refs,
                         .n = N_PAGES,
                         .opt = &opt,
                         .results = res,
                         .stats = stats,
                         .schedule = sched};
    assert_int_equal(fmd_kernel_batch_run(b, &run), FMD_OK);
    size_t pages = 0;
    for (int t = 0; t < threads; t++)
        pages += stats[t].pages;
    assert_int_equal(pages, N_PAGES);
    for (int i = 0; i < N_PAGES; i++)
        flat[i] = flatten(&res[i]);
    assert_int_equal(res[5].status, FMD_E_IO);
    free(res);
    free(stats);
    fmd_kernel_batch_destroy(b);
}

static void test_batch_identical_at_any_thread_count(void **state)
{
    (void)state;
    corpus c;
    make_corpus(&c);
    char *one[N_PAGES], *other[N_PAGES];
    run_and_flatten(&c, 1, FMD_SCHED_LPT, one);
    const struct {
        int threads;
        fmd_schedule sched;
    } runs[] = {{2, FMD_SCHED_LPT}, {3, FMD_SCHED_LPT}, {7, FMD_SCHED_LPT}, {2, FMD_SCHED_DYNAMIC}};
    for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
        run_and_flatten(&c, runs[k].threads, runs[k].sched, other);
        for (int i = 0; i < N_PAGES; i++) {
            assert_string_equal(one[i], other[i]);
            free(other[i]);
        }
    }
    for (int i = 0; i < N_PAGES; i++)
        free(one[i]);
    free(c.base);
}

/* The sink: counts calls per page (each page exactly once), and cancels after some pages. */
typedef struct sink_state {
    int calls[N_PAGES];
    int cancel_after; /* 0: never */
    _Atomic int seen;
    _Atomic int *cancel;
} sink_state;

static fmd_status count_sink(size_t page, int thread, fmd_result *res, double *wait_s, void *ud)
{
    (void)thread;
    (void)wait_s;
    sink_state *s = ud;
    s->calls[page]++; /* distinct pages per call: no two threads touch one slot */
    if (res->status == FMD_OK && res->html.len == 0)
        s->calls[page] += 1000; /* flags a result without HTML inside the sink */
    int seen = ++s->seen;
    if (s->cancel_after && seen >= s->cancel_after)
        *s->cancel = 1;
    return FMD_OK;
}

static void test_batch_sink_release_and_cancel(void **state)
{
    (void)state;
    corpus c;
    make_corpus(&c);
    fmd_options opt;
    fmd_kernel_options_default(&opt);
    fmd_result *res = calloc(N_PAGES, sizeof *res);
    sink_state *s = calloc(1, sizeof *s);
    _Atomic int cancel = 0;
    s->cancel = &cancel;
    fmd_page_sink sink = {.fn = count_sink, .userdata = s, .release = true};
    fmd_kernel_batch *b = NULL;
    assert_int_equal(fmd_kernel_batch_create(&b, 2), FMD_OK);

    fmd_batch_run run = {.base = c.base,
                         .pages = c.refs,
                         .n = N_PAGES,
                         .opt = &opt,
                         .results = res,
                         .sink = &sink,
                         .cancel = &cancel};
    assert_int_equal(fmd_kernel_batch_run(b, &run), FMD_OK);
    for (int i = 0; i < N_PAGES; i++) {
        assert_int_equal(s->calls[i], 1);
        assert_null(res[i].html.ptr); /* released after the sink */
    }

    /* Cancel after 50 pages: every page is either done (through the sink once) or cancelled. */
    memset(s, 0, sizeof *s);
    s->cancel = &cancel;
    s->cancel_after = 50;
    cancel = 0;
    assert_int_equal(fmd_kernel_batch_run(b, &run), FMD_OK);
    int done = 0, cancelled = 0;
    for (int i = 0; i < N_PAGES; i++) {
        if (res[i].status == FMD_E_CANCELLED) {
            assert_int_equal(s->calls[i], 0);
            cancelled++;
        } else {
            assert_int_equal(s->calls[i], 1);
            done++;
        }
    }
    assert_true(done >= 50);
    assert_true(cancelled > 0);
    assert_int_equal(done + cancelled, N_PAGES);

    fmd_kernel_batch_destroy(b);
    free(s);
    free(res);
    free(c.base);
}

/* NUMA parts: two queues with stealing still render every page exactly once, identically. */
static void test_batch_parts_with_stealing(void **state)
{
    (void)state;
    corpus c;
    make_corpus(&c);
    char *ref[N_PAGES];
    run_and_flatten(&c, 1, FMD_SCHED_LPT, ref);
    fmd_options opt;
    fmd_kernel_options_default(&opt);
    fmd_result *res = calloc(N_PAGES, sizeof *res);
    size_t first[3] = {0, 40, N_PAGES}; /* unbalanced on purpose: part 0 runs dry and steals */
    int thread_part[2] = {0, 1};
    fmd_kernel_batch *b = NULL;
    assert_int_equal(fmd_kernel_batch_create(&b, 2), FMD_OK);
    fmd_batch_run run = {.base = c.base,
                         .pages = c.refs,
                         .n = N_PAGES,
                         .opt = &opt,
                         .results = res,
                         .n_parts = 2,
                         .part_first = first,
                         .thread_part = thread_part};
    assert_int_equal(fmd_kernel_batch_run(b, &run), FMD_OK);
    for (int i = 0; i < N_PAGES; i++) {
        char *f = flatten(&res[i]);
        assert_string_equal(f, ref[i]);
        free(f);
        free(ref[i]);
    }
    size_t bad_first[3] = {0, N_PAGES + 1, N_PAGES};
    run.part_first = bad_first;
    assert_int_equal(fmd_kernel_batch_run(b, &run), FMD_E_USAGE);
    fmd_kernel_batch_destroy(b);
    free(res);
    free(c.base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_page_title_from_front_matter_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_title_first_h1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_title_first_heading_when_no_h1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_title_none, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_title_non_string_front_matter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_title_from_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_metadata_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_hash_is_xxh3_of_the_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_invalid_utf8_is_a_warning, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_front_matter_error_keeps_the_body, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_page_commonmark_dialect_has_no_front_matter, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_page_input_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_output_limit_discards_partial_html, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_page_passthrough, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_deadline, setup, teardown),
        cmocka_unit_test(test_batch_identical_at_any_thread_count),
        cmocka_unit_test(test_batch_sink_release_and_cancel),
        cmocka_unit_test(test_batch_parts_with_stealing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
