/* SPDX-License-Identifier: MIT */
/* The page transform under allocation failure (kernel/): pages that use every block and inline
 * the renderer knows (front matter, headings with repeated slugs, tables, task lists, footnotes,
 * smart punctuation, links to pages, raw HTML, code, entities, custom rules, a page template),
 * rendered again and again with the k-th allocation failing (the arena's chunks through
 * aligned_alloc, and malloc/calloc, via -Wl,--wrap; this executable only), for k = 1, 2, ...
 * until the page renders. Every failed try must be FMD_E_NOMEM with a well-formed result, and the
 * last one byte-identical to the page rendered without failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fmd_kernel.h"

#include "fault_alloc.h" /* fail_alloc: the k-th allocation from now fails (0: none) */

/*** Pages ***/

static const char page_rich[] =
    "---\n"
    "title: \"A \\\"rich\\\" page\"\n"
    "tags: [a, b, {c: d}]\n"
    "nested:\n"
    "  list:\n"
    "    - 1\n"
    "    - 2.5\n"
    "    - true\n"
    "    - null\n"
    "  text: |\n"
    "    two\n"
    "    lines\n"
    "---\n"
    "# Intro\n"
    "\n"
    "Some *emphasis*, **strong**, ~~gone~~, `code`, and \"quotes\" -- dashes --- and... "
    "'single'.\n"
    "A [link](other.md#top \"title\"), a [ref][r], <https://example.com>, www.example.com, "
    "mail@example.com, ![an *image*](pic.png), &amp; &copy; &#123; &#x41; \\*escaped\\*.  \n"
    "Hard break above; <span class=\"x\">raw</span> and <!-- c -->.\n"
    "\n"
    "[r]: ./sub/page.markdown?q=1 'Ref'\n"
    "\n"
    "## Intro\n"
    "\n"
    "## Intro\n"
    "\n"
    "Setext *title*\n"
    "--------------\n"
    "\n"
    "| left | center | right |\n"
    "|:-----|:------:|------:|\n"
    "| a    | `b|c`  | **d** |\n"
    "| e    |\n"
    "\n"
    "- [ ] open\n"
    "- [x] done\n"
    "  1. nested\n"
    "  2. list\n"
    "     > quoted\n"
    "     > text\n"
    "\n"
    "```js title\n"
    "let x = 1 < 2;\n"
    "```\n"
    "\n"
    "    indented\n"
    "\n"
    "<div>\n"
    "block html\n"
    "</div>\n"
    "\n"
    "A note[^n] and another[^m].\n"
    "\n"
    "[^n]: The *note*, see [r].\n"
    "[^m]: Second.\n"
    "\n"
    "    continued\n"
    "\n"
    "***\n"
    "### Émoji ✓ and javascript:alert(1) [bad](javascript:alert(1))\n"
    "REPLACE_ME and digits 12345.\n";

/* CRLF line ends, a BOM, NUL and invalid UTF-8 (warnings), no front matter. */
static const char page_dirty[] = "\xEF\xBB\xBF# T\r\n\r\nx\x00y \xC3\x28 z\r\n- a\r\n- b\r\n";

/* Broken front matter: a per-page error, with the body still rendered. */
static const char page_bad_fm[] = "---\ntitle: [unclosed\n---\n# Body\n";

typedef struct variant {
    const char *name;
    const char *md;
    size_t len;
    bool unsafe, xhtml, commonmark;
} variant;

static const variant variants[] = {
    {"rich", page_rich, sizeof page_rich - 1, false, true, false},
    {"rich, unsafe, html5", page_rich, sizeof page_rich - 1, true, false, false},
    {"rich, commonmark", page_rich, sizeof page_rich - 1, false, true, true},
    {"dirty", page_dirty, sizeof page_dirty - 1, false, true, false},
    {"bad front matter", page_bad_fm, sizeof page_bad_fm - 1, false, true, false},
};

/*** Helpers ***/

static void options(const variant *v, const fmd_rules *rules, const fmd_template *t, fmd_options *o)
{
    fmd_kernel_options_default(o);
    if (v->commonmark)
        fmd_kernel_options_set_dialect(o, FMD_DIALECT_COMMONMARK);
    o->extensions |= FMD_EXT_FOOTNOTES | FMD_EXT_SMART;
    o->heading_ids = true;
    o->unsafe = v->unsafe;
    o->xhtml = v->xhtml;
    o->links = FMD_LINKS_REWRITE | FMD_LINKS_REPORT;
    o->rules = rules;
    o->page_template = t;
}

static bool slice_eq(fmd_slice a, fmd_slice b)
{
    return a.len == b.len && (a.ptr == NULL) == (b.ptr == NULL) &&
           (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* Everything a caller reads from a result, compared field by field. */
static void assert_same_result(const fmd_result *a, const fmd_result *b, const char *name)
{
    bool same = a->status == b->status && slice_eq(a->html, b->html) &&
                slice_eq(a->title, b->title) && slice_eq(a->frontmatter, b->frontmatter) &&
                a->n_headings == b->n_headings && a->n_warnings == b->n_warnings &&
                a->words == b->words && a->links == b->links && a->images == b->images &&
                a->code_blocks == b->code_blocks && a->hash == b->hash &&
                a->n_page_links == b->n_page_links && slice_eq(a->err_message, b->err_message);
    for (size_t i = 0; same && i < a->n_headings; i++)
        same = a->headings[i].level == b->headings[i].level &&
               slice_eq(a->headings[i].text, b->headings[i].text) &&
               slice_eq(a->headings[i].id, b->headings[i].id);
    for (size_t i = 0; same && i < a->n_warnings; i++)
        same = slice_eq(a->warnings[i], b->warnings[i]);
    for (size_t i = 0; same && i < a->n_page_links; i++)
        same = slice_eq(a->page_links[i].target, b->page_links[i].target) &&
               a->page_links[i].line == b->page_links[i].line;
    if (!same)
        fail_msg("%s: the page rendered after allocation failures differs", name);
}

/*** Tests ***/

static void test_page_allocation_failures(void **state)
{
    (void)state;
    fmd_rule_spec specs[] = {
        {"REPLACE_ME", 10, "replaced", 8, false},
        {"(\\d)(\\d+)", 10, "$2$1", 4, true},
    };
    fmd_rules *rules = NULL;
    assert_int_equal(fmd_kernel_rules_create(specs, 2, &rules, NULL, NULL), FMD_OK);
    fmd_arena *tarena = NULL;
    assert_int_equal(fmd_arena_create(&tarena, 0), FMD_OK);
    static const char ttext[] = "<title>{{title}}</title>{{content}}";
    fmd_template *t = NULL;
    assert_int_equal(fmd_kernel_template_compile(ttext, sizeof ttext - 1, tarena, &t, NULL),
                     FMD_OK);

    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        const variant *var = &variants[v];
        fmd_options o;
        options(var, rules, v == 0 ? t : NULL, &o);
        fmd_arena *ref_out = NULL, *ref_scratch = NULL;
        assert_int_equal(fmd_arena_create(&ref_out, 0), FMD_OK);
        assert_int_equal(fmd_arena_create(&ref_scratch, 0), FMD_OK);
        fmd_result ref;
        fmd_kernel_page_render(var->md, var->len, &o, ref_out, ref_scratch, &ref);
        assert_true(ref.status == FMD_OK || ref.status == FMD_E_FRONTMATTER);
        assert_true(ref.html.len > 0);

        int nomem = 0;
        bool done = false;
        for (int k = 1; k < 100000 && !done; k++) {
            /* Small chunks: a page takes many, and each can fail. */
            fmd_arena *out = NULL, *scratch = NULL;
            assert_int_equal(fmd_arena_create(&out, 512), FMD_OK);
            assert_int_equal(fmd_arena_create(&scratch, 512), FMD_OK);
            fmd_result r;
            atomic_store(&fail_alloc, k);
            fmd_status st = fmd_kernel_page_render(var->md, var->len, &o, out, scratch, &r);
            bool tripped = atomic_load(&fail_alloc) == 0;
            atomic_store(&fail_alloc, 0);
            assert_int_equal(st, r.status);
            if (tripped) {
                if (st != FMD_E_NOMEM)
                    fail_msg("%s: allocation %d failed, status %d", var->name, k, (int)st);
                nomem++;
            } else {
                assert_same_result(&r, &ref, var->name);
                done = true;
            }
            fmd_arena_destroy(out);
            fmd_arena_destroy(scratch);
        }
        assert_true(done);
        assert_true(nomem > 0);
        fmd_arena_destroy(ref_out);
        fmd_arena_destroy(ref_scratch);
    }
    fmd_kernel_rules_destroy(rules);
    fmd_arena_destroy(tarena);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_page_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
