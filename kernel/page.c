/* SPDX-License-Identifier: MIT */
/* One page, end to end: limits -> hash -> normalise -> front matter -> render -> metadata.
 * The HTML grows in place as the newest allocation of the output arena; everything else is built
 * in the scratch arena and copied out once the HTML is final. No I/O, no global state. */
#include <limits.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

void fmd_kernel_options_default(fmd_options *o)
{
    o->dialect = FMD_DIALECT_GFM;
    o->unsafe = false;
    o->heading_ids = true;
    o->max_input_bytes = FMD_MAX_INPUT_BYTES_DEFAULT;
    o->max_output_bytes = 0;
    o->max_frontmatter_bytes = FMD_MAX_FRONTMATTER_BYTES_DEFAULT;
    o->passthrough = false;
    o->deadline_ms = 0;
    o->extensions = FMD_EXT_GFM;
    o->xhtml = true;
    o->rules = NULL;
    o->links = 0;
    o->page_template = NULL;
    o->id_prefix = NULL;
}

void fmd_kernel_options_set_dialect(fmd_options *o, fmd_dialect d)
{
    unsigned keep = o->extensions & (FMD_EXT_FOOTNOTES | FMD_EXT_SMART);
    o->dialect = d;
    o->extensions = keep | (d == FMD_DIALECT_GFM ? FMD_EXT_GFM : 0u);
}

/* The output cap of a page of @p len bytes. */
static size_t output_limit(const fmd_options *opt, size_t len)
{
    if (opt->max_output_bytes != 0)
        return opt->max_output_bytes;
    size_t scaled =
        len > SIZE_MAX / FMD_OUTPUT_RATIO_DEFAULT ? SIZE_MAX : len * FMD_OUTPUT_RATIO_DEFAULT;
    return scaled > FMD_MAX_OUTPUT_BYTES_DEFAULT ? scaled : FMD_MAX_OUTPUT_BYTES_DEFAULT;
}

/* Format a message into @p a. snprintf writes to memory only: no I/O. */
static fmd_slice message(fmd_arena *a, const char *fmt, size_t x, size_t y)
{
    fmd_slice s = {NULL, 0};
    char tmp[160];
    int n = snprintf(tmp, sizeof tmp, fmt, x, y);
    if (n < 0)
        return s;
    if ((size_t)n >= sizeof tmp)
        n = (int)sizeof tmp - 1;
    s.ptr = fmd_arena_dup(a, tmp, (size_t)n);
    s.len = s.ptr ? (size_t)n : 0;
    return s;
}

static fmd_slice dup_slice(fmd_arena *a, fmd_slice s, fmd_status *st)
{
    fmd_slice d = {NULL, 0};
    if (s.ptr == NULL)
        return d;
    d.ptr = fmd_arena_dup(a, s.ptr, s.len);
    if (d.ptr == NULL) {
        *st = FMD_E_NOMEM;
        return d;
    }
    d.len = s.len;
    return d;
}

/* Copy the metadata gathered in scratch into @p out, next to the finished HTML. */
static fmd_status copy_metadata(fmd_arena *out, const fmd__render_meta *meta,
                                const fmd__frontmatter *fm, fmd_result *res)
{
    fmd_status st = FMD_OK;
    /* Title rules: front matter title, else the first h1, else the first heading of any level. */
    fmd_slice title = fm->title;
    if (title.ptr == NULL)
        title = meta->first_h1;
    if (title.ptr == NULL && meta->n_headings != 0)
        title = meta->headings[0].text;
    res->title = dup_slice(out, title, &st);
    if (fm->present && fm->st == FMD_OK)
        res->frontmatter = dup_slice(out, fm->json, &st);
    if (meta->n_headings != 0) {
        fmd_heading *h = fmd_arena_alloc(out, meta->n_headings * sizeof *h);
        if (h == NULL)
            return FMD_E_NOMEM;
        for (size_t i = 0; i < meta->n_headings; i++) {
            h[i].level = meta->headings[i].level;
            h[i].text = dup_slice(out, meta->headings[i].text, &st);
            h[i].id = dup_slice(out, meta->headings[i].id, &st);
        }
        res->headings = h;
        res->n_headings = meta->n_headings;
    }
    res->words = meta->words;
    res->links = meta->links;
    res->images = meta->images;
    res->code_blocks = meta->code_blocks;
    return st;
}

/* The whole milliseconds left before @p deadline (omp_get_wtime() seconds; 0: none), at least 1,
 * in *left (0 without a deadline). Returns false when the deadline has passed. One deadline
 * covers the page from its start: front matter, custom rules and rendering share it, so that
 * slow rules leave less time to the renderer instead of a fresh allowance. */
static bool time_left(double deadline, unsigned *left)
{
    *left = 0;
    if (deadline == 0)
        return true;
    double ms = (deadline - omp_get_wtime()) * 1e3;
    if (ms <= 0)
        return false;
    *left = ms >= (double)UINT_MAX ? UINT_MAX : ms < 1 ? 1u : (unsigned)ms;
    return true;
}

static void fail(fmd_result *res, fmd_status st, fmd_slice msg, unsigned line, unsigned col)
{
    res->status = st;
    res->err_message = msg;
    res->err_line = line;
    res->err_column = col;
}

fmd_status fmd_kernel_page_render(const char *src, size_t len, const fmd_options *opt,
                                  fmd_arena *out, fmd_arena *scratch, fmd_result *res)
{
    static const fmd_result empty = {0};
    *res = empty;
    res->bytes_in = len;
    if (opt->passthrough) {
        res->html.ptr = src;
        res->html.len = len;
        return FMD_OK;
    }
    res->hash = fmd__kernel_hash(src ? src : "", len);

    size_t max_in = opt->max_input_bytes ? opt->max_input_bytes : FMD_MAX_INPUT_BYTES_DEFAULT;
    /* md4c sizes are `unsigned`: a page must also fit in one. */
    if (len > max_in || len > UINT_MAX) {
        fail(res, FMD_E_INPUT_LIMIT,
             message(out, "page is %zu bytes, over the input limit of %zu bytes", len, max_in), 0,
             0);
        return res->status;
    }

    double deadline = opt->deadline_ms ? omp_get_wtime() + opt->deadline_ms / 1000.0 : 0;
    fmd_options ropt = *opt; /* the renderer gets what the rules left of the deadline */
    fmd_arena_mark scratch_mark = fmd_arena_get_mark(scratch);
    fmd_arena_mark out_mark = fmd_arena_get_mark(out);
    fmd_status st;
    fmd_slice text;
    fmd__norm_report norm = {0};
    fmd__frontmatter fm = {0};
    fmd__render_meta meta = {0};

    st = fmd__kernel_normalize(src ? src : "", len, scratch, &text, &norm);
    if (st != FMD_OK)
        goto fail;
    if (opt->extensions & FMD_EXT_FRONTMATTER) {
        st = fmd__kernel_frontmatter(text.ptr, text.len, opt->max_frontmatter_bytes, scratch, &fm);
        if (st != FMD_OK)
            goto fail;
    }

    size_t max_out = output_limit(opt, len);
    fmd_slice body = {text.ptr + fm.body_offset, text.len - fm.body_offset};
    if (opt->rules != NULL) {
        /* Custom rules rewrite the body (into scratch) before md4c sees it. */
        size_t bad = 0;
        unsigned left = 0;
        fmd_buf why;
        fmd_buf_reset(&why, out);
        st = time_left(deadline, &left)
                 ? fmd__kernel_rules_apply(opt->rules, body.ptr, body.len, max_out, left, scratch,
                                           &body, &bad, &why)
                 : FMD_E_DEADLINE;
        if (st == FMD_E_OUTPUT_LIMIT || st == FMD_E_RULE || st == FMD_E_DEADLINE) {
            fmd_arena_rewind(scratch, scratch_mark);
            fail(res, st,
                 st == FMD_E_RULE ? fmd_buf_slice(&why)
                 : st == FMD_E_DEADLINE
                     ? message(out, "custom rule %zu passed the page deadline of %zu ms", bad,
                               (size_t)opt->deadline_ms)
                     : message(out,
                               "custom rules grew the page past the output limit of %zu "
                               "bytes (input %zu bytes)",
                               max_out, len),
                 0, 0);
            return res->status;
        }
        if (st != FMD_OK)
            goto fail;
    }
    fmd_buf html;
    fmd_buf_reset(&html, out);
    /* One guess at the final size avoids most regrowth: HTML is typically ~1.2x Markdown. */
    st = fmd_buf_grow(&html, text.len + text.len / 4 + 64 < max_out ? text.len + text.len / 4 + 64
                                                                    : max_out);
    if (st != FMD_OK)
        goto fail;
    if (opt->links != 0) {
        meta.page_links = fmd__kernel_links_create(opt->links, body.ptr, body.len,
                                                   fm.present ? fm.body_line : 1, scratch);
        if (meta.page_links == NULL) {
            st = FMD_E_NOMEM;
            goto fail;
        }
    }
    if (!time_left(deadline, &ropt.deadline_ms))
        st = FMD_E_DEADLINE;
    else
        st = fmd__kernel_render_html(body.ptr, body.len, &ropt, max_out, &html, scratch, &meta);
    if (st == FMD_E_OUTPUT_LIMIT) {
        fmd_arena_rewind(out, out_mark); /* drop the partial HTML */
        fail(res, st, message(out, "%zu bytes (input %zu bytes)", max_out, len), 0, 0);
        fmd_arena_rewind(scratch, scratch_mark);
        return res->status;
    }
    if (st == FMD_E_DEADLINE) {
        fmd_arena_rewind(out, out_mark);
        fail(res, st,
             message(out, "rendering took longer than the deadline of %zu ms (input %zu bytes)",
                     (size_t)opt->deadline_ms, len),
             0, 0);
        fmd_arena_rewind(scratch, scratch_mark);
        return res->status;
    }
    if (st != FMD_OK)
        goto fail;
    fmd_arena_shrink(out, html.ptr, html.len); /* return the unused reserve */
    res->html = fmd_buf_slice(&html);

    st = copy_metadata(out, &meta, &fm, res);
    if (st == FMD_OK)
        st = fmd__kernel_links_copy(meta.page_links, out, res);
    if (st != FMD_OK)
        goto fail;
    if (opt->page_template != NULL && fm.st == FMD_OK) {
        /* The full page goes after the fragment in the output arena; the fragment stays there
         * unused until the arena is rewound. */
        fmd_buf page;
        fmd_buf_reset(&page, out);
        st = fmd_buf_grow(&page, res->html.len + 1024);
        if (st == FMD_OK)
            st = fmd_kernel_template_fill(opt->page_template, res, &page);
        if (st != FMD_OK)
            goto fail;
        res->html = fmd_buf_slice(&page);
    }

    if (norm.invalid_utf8 != 0) {
        fmd_slice *w = fmd_arena_alloc(out, sizeof *w);
        if (w == NULL) {
            st = FMD_E_NOMEM;
            goto fail;
        }
        *w = message(out, "line %zu: invalid UTF-8 replaced with U+FFFD (%zu sequences)",
                     norm.first_invalid_line, norm.invalid_utf8);
        res->warnings = w;
        res->n_warnings = 1;
    }
    if (fm.st != FMD_OK) {
        fmd_status dup_st = FMD_OK;
        fmd_slice msg = dup_slice(out, fm.err_message, &dup_st);
        fail(res, fm.st, msg, fm.err_line, fm.err_column);
    }
    fmd_arena_rewind(scratch, scratch_mark);
    return res->status;

fail:
    fmd_arena_rewind(out, out_mark);
    fmd_arena_rewind(scratch, scratch_mark);
    *res = empty;
    res->bytes_in = len;
    res->hash = fmd__kernel_hash(src ? src : "", len);
    fail(res, st, (fmd_slice){NULL, 0}, 0, 0);
    return st;
}
