/* SPDX-License-Identifier: MIT */
/* fastmd serve's small lane: single transform, normalize and computeDigest, answered by the
 * lane threads beside the batch engine, so that a small request never waits behind a batch.
 * Each lane thread owns its arenas; nothing here is shared but the counters and the writer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmd_title.h"
#include "serve_internal.h"

#define PUT_LIT FMD_BUF_PUT_LIT

/* Send @p b, or -32603 when formatting ran out of memory. */
static void finish(serve *s, fmd_rpc_request *req, fmd_buf *b, fmd_status st, double t0)
{
    if (st == FMD_OK)
        st = PUT_LIT(b, "}\n");
    serve_add_time(&s->stats.serialize_ns, fmd_clock_now() - t0);
    if (st == FMD_OK) {
        serve_done(s, req);
        serve_send(s, b);
    } else {
        serve_send_error(s, req, FMD_RPC_INTERNAL_ERROR, FMD_RPC_NOMEM_MESSAGE, NULL, 0);
    }
}

/*** transform ***/

static void transform(serve *s, serve_lane *lane, fmd_rpc_request *req)
{
    const fmd_rules *rules = NULL;
    serve_rules_entry *handle = NULL;
    fmd_status st = serve_rules_acquire(&s->rules, req, &rules, &handle);
    if (st == FMD_E_RULE) {
        serve_send_error(s, req, req->error, req->error_message, req->error_data,
                         req->error_data ? strlen(req->error_data) : 0);
        return;
    }
    if (st != FMD_OK) {
        serve_send_error(s, req, FMD_RPC_INTERNAL_ERROR, FMD_RPC_NOMEM_MESSAGE, NULL, 0);
        return;
    }
    fmd_options opt = req->options.opt;
    opt.rules = rules;
    fmd_rpc_item *item = &req->items[0];
    fmd_page_ref *ref = &req->refs[0];
    size_t retried = 0;
    if (!item->has_content) {
        double load_s = 0;
        st = fmd_rpc_load_items(req, s->root, s->root_abs, opt.max_input_bytes,
                                req->options.retries, 1, s->fault_every, &load_s);
        serve_add_time(&s->stats.load_ns, load_s);
        retried += item->attempts > 1 ? item->attempts - 1 : 0;
        if (st != FMD_OK) {
            serve_rules_release(&s->rules, handle);
            serve_send_error(s, req, FMD_RPC_INTERNAL_ERROR, FMD_RPC_NOMEM_MESSAGE, NULL, 0);
            return;
        }
    }
    fmd_result res = {0};
    unsigned char key[SERVE_CACHE_KEY];
    bool hit = false;
    if (ref->load_status == FMD_OK && s->cache != NULL) {
        unsigned char od[16];
        serve_options_digest(s, req, od);
        serve_cache_key(req->base + ref->offset, ref->len, od, key);
        hit = serve_cache_get(s->cache, key, lane->out, &res);
    }
    if (ref->load_status == FMD_OK && !hit) {
        double t0 = fmd_clock_now();
        for (unsigned a = 0;; a++) {
            fmd_kernel_page_render(req->base + ref->offset, ref->len, &opt, lane->out,
                                   lane->scratch, &res);
            if (!fmd_status_is_transient(res.status) || a >= req->options.retries)
                break;
            fmd_arena_reset(lane->out);
            retried++;
        }
        res.render_s = fmd_clock_now() - t0;
        serve_add_time(&s->stats.render_ns, res.render_s);
        if (s->cache != NULL) /* before the title from the file name */
            serve_cache_put(s->cache, key, &res, lane->fmt);
    }
    if (ref->load_status == FMD_OK && res.status == FMD_OK)
        fmd_title_fallback(&res.title, item->file, lane->out);
    atomic_fetch_add_explicit(&s->stats.pages_retried, retried, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->stats.bytes_in, ref->len, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->stats.bytes_out, res.html.len, memory_order_relaxed);

    double t0 = fmd_clock_now();
    fmd_buf b;
    fmd_buf_reset(&b, lane->fmt);
    if (ref->load_status != FMD_OK || res.status != FMD_OK) {
        atomic_fetch_add_explicit(&s->stats.pages_failed, 1, memory_order_relaxed);
        fmd_buf data;
        fmd_buf_reset(&data, lane->fmt);
        st = fmd_rpc_put_page_error(&data, item, ref->load_status, &res);
        char msg[512];
        fmd_status why = ref->load_status != FMD_OK ? ref->load_status : res.status;
        snprintf(msg, sizeof msg, "%.*s%s%s",
                 (int)fmd_rpc_utf8_cut(item->file ? item->file : "", 200),
                 item->file ? item->file : "", item->file ? ": " : "",
                 item->outside ? "path leads out of the root" : fmd_status_str(why));
        serve_add_time(&s->stats.serialize_ns, fmd_clock_now() - t0);
        if (st == FMD_OK)
            serve_send_error(s, req, FMD_RPC_PAGE_FAILED, msg, data.ptr, data.len);
        else
            serve_send_error(s, req, FMD_RPC_INTERNAL_ERROR, FMD_RPC_NOMEM_MESSAGE, NULL, 0);
    } else {
        atomic_fetch_add_explicit(&s->stats.pages_ok, 1, memory_order_relaxed);
        st = fmd_rpc_put_response_head(&b, req->id);
        if (st == FMD_OK)
            st = fmd_rpc_put_page_result(&b, item->file, &res,
                                         req->include_code ? FMD_RPC_RESULT_CODE : 0);
        if (st == FMD_OK && req->parent_span[0] != '\0') {
            b.len--; /* the result's closing brace: _meta goes inside it */
            st = serve_put_traceparent(&b, req, false);
            if (st == FMD_OK)
                st = fmd_buf_putc(&b, '}');
        }
        finish(s, req, &b, st, t0);
    }
    serve_rules_release(&s->rules, handle);
}

/*** normalize ***/

static void normalize(serve *s, serve_lane *lane, fmd_rpc_request *req)
{
    double t0 = fmd_clock_now();
    const char *in = req->content.ptr;
    size_t n = req->content.len;
    bool changed = false;
    if (req->remove_bom && n >= 3 && memcmp(in, "\xEF\xBB\xBF", 3) == 0) {
        in += 3;
        n -= 3;
        changed = true;
    }
    char *out = fmd_arena_alloc(lane->scratch, n ? n : 1);
    size_t m = 0;
    if (out == NULL) {
        serve_send_error(s, req, FMD_RPC_INTERNAL_ERROR, FMD_RPC_NOMEM_MESSAGE, NULL, 0);
        return;
    }
    if (req->normalize_lf) {
        for (size_t i = 0; i < n; i++) {
            if (in[i] == '\r') {
                out[m++] = '\n';
                if (i + 1 < n && in[i + 1] == '\n')
                    i++;
                changed = true;
            } else {
                out[m++] = in[i];
            }
        }
    } else {
        memcpy(out, in, n);
        m = n;
    }
    fmd_buf b;
    fmd_buf_reset(&b, lane->fmt);
    fmd_status st = fmd_rpc_put_response_head(&b, req->id);
    if (st == FMD_OK)
        st = PUT_LIT(&b, "{\"content\":");
    if (st == FMD_OK)
        st = fmd_rpc_put_string(&b, out, m);
    if (st == FMD_OK)
        st = changed ? PUT_LIT(&b, ",\"changed\":true}") : PUT_LIT(&b, ",\"changed\":false}");
    finish(s, req, &b, st, t0);
}

/*** computeDigest ***/

static void compute_digest(serve *s, serve_lane *lane, fmd_rpc_request *req)
{
    double t0 = fmd_clock_now();
    char text[33];
    fmd_kernel_hash128_format(req->digest_input.ptr, req->digest_input.len, text);
    fmd_buf b;
    fmd_buf_reset(&b, lane->fmt);
    fmd_status st = fmd_rpc_put_response_head(&b, req->id);
    if (st == FMD_OK)
        st = PUT_LIT(&b, "{\"digest\":");
    if (st == FMD_OK)
        st = fmd_rpc_put_string(&b, text, 32);
    if (st == FMD_OK)
        st = fmd_buf_putc(&b, '}');
    finish(s, req, &b, st, t0);
}

void serve_answer_small(serve *s, serve_lane *lane, fmd_rpc_request *req)
{
    switch (req->method) {
    case FMD_RPC_TRANSFORM: transform(s, lane, req); break;
    case FMD_RPC_NORMALIZE: normalize(s, lane, req); break;
    case FMD_RPC_COMPUTE_DIGEST: compute_digest(s, lane, req); break;
    default: break;
    }
    fmd_arena_reset(lane->out);
    fmd_arena_reset(lane->scratch);
    fmd_arena_reset(lane->fmt);
    fmd_rpc_request_free(req);
}
