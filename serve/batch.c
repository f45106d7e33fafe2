/* SPDX-License-Identifier: MIT */
/* fastmd serve's batches: the queue (FIFO, bounded by --max-queued), the executor thread that
 * runs one batch at a time on the kernel's parallel loop, the sink that formats each page's
 * JSON on the worker thread that rendered it, and io/'s ordered stream, whose writer thread
 * writes batchItem lines or frames in input order as soon as each prefix is complete (or holds
 * the results of a batch that is not streamed) and a progress notification at most every 100 ms.
 * Cancellation sets the kernel's cancel flag: pages in flight finish, and every completed result
 * still reaches the client. */
#define _GNU_SOURCE /* pthread_setname_np */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <omp.h>

#include "fmd_json.h"
#include "fmd_title.h"
#include "fmd_hash.h"
#include "serve_internal.h"

#define PUT_LIT FMD_BUF_PUT_LIT

/** Progress notifications of one batch are at least this far apart (seconds). */
#define PROGRESS_INTERVAL 0.1

/*** Queue and registry ***/

/* Under s->mu: the live batch (running or queued) with this batch ID, or request id (compared
 * by JSON value: 8 and 8.0 are the same id). */
static serve_batch *find_live(serve *s, const char *key, bool by_request)
{
    for (int pass = 0; pass < 2; pass++) {
        for (serve_batch *x = pass == 0 ? s->running : s->bq_head; x != NULL;
             x = pass == 0 ? NULL : x->next) {
            if (by_request ? fmd_rpc_id_equal(x->req->id, key)
                           : x->id != NULL && strcmp(x->id, key) == 0)
                return x;
        }
    }
    return NULL;
}

bool serve_batch_cancel(serve *s, const char *key, bool by_request)
{
    if (key == NULL)
        return false;
    pthread_mutex_lock(&s->mu);
    serve_batch *b = find_live(s, key, by_request);
    if (b != NULL)
        atomic_store(&b->cancel, 1);
    pthread_mutex_unlock(&s->mu);
    return b != NULL;
}

static void batch_free(serve *s, serve_batch *b)
{
    atomic_fetch_sub(&s->stats.mem_requests, b->mem_counted);
    serve_rules_release(&s->rules, b->rules_handle);
    fmd_rpc_request_free(b->req);
    free(b->id);
    free(b);
}

void serve_batch_submit(serve *s, fmd_rpc_request *req)
{
    serve_batch *b = calloc(1, sizeof *b);
    if (b == NULL) {
        serve_send_error(s, req, FMD_RPC_INTERNAL_ERROR, FMD_RPC_NOMEM_MESSAGE, NULL, 0);
        fmd_rpc_request_free(req);
        return;
    }
    b->req = req;
    b->total = req->n_items;
    atomic_init(&b->cancel, 0);
    atomic_init(&b->completed, 0);
    atomic_init(&b->failed, 0);
    /* Rules are compiled here, so a bad rule is answered at once, not after the queue. */
    fmd_status st = serve_rules_acquire(&s->rules, req, &b->rules, &b->rules_handle);
    if (st != FMD_OK) {
        if (st == FMD_E_RULE)
            serve_send_error(s, req, req->error, req->error_message, req->error_data,
                             req->error_data ? strlen(req->error_data) : 0);
        else
            serve_send_error(s, req, FMD_RPC_INTERNAL_ERROR, FMD_RPC_NOMEM_MESSAGE, NULL, 0);
        batch_free(s, b);
        return;
    }

    pthread_mutex_lock(&s->mu);
    const char *why = NULL;
    int code = 0;
    char data[160] = "";
    if (s->batches_queued >= s->max_queued) {
        code = FMD_RPC_OVERLOADED;
        why = "Overloaded: too many batches waiting; try again later";
        snprintf(data, sizeof data, "{\"queued\":%zu,\"limit\":%zu}", s->batches_queued,
                 s->max_queued);
    } else if (req->batch_id != NULL) {
        if (find_live(s, req->batch_id, false) != NULL) {
            code = FMD_RPC_INVALID_PARAMS;
            why = "params.batchId: a live batch already has this ID";
            snprintf(data, sizeof data, "{\"field\":\"params.batchId\"}");
        } else {
            b->id = strdup(req->batch_id);
        }
    } else {
        /* A generated ID that no client-chosen live ID already holds. */
        char gen[32];
        do
            snprintf(gen, sizeof gen, "b%lu", ++s->next_batch_no);
        while (find_live(s, gen, false) != NULL);
        b->id = strdup(gen);
    }
    if (code == 0 && b->id == NULL) {
        code = FMD_RPC_INTERNAL_ERROR;
        why = FMD_RPC_NOMEM_MESSAGE;
    }
    if (code != 0) {
        pthread_mutex_unlock(&s->mu);
        serve_send_error(s, req, code, why, data[0] ? data : NULL, strlen(data));
        batch_free(s, b);
        return;
    }
    if (s->running == NULL && s->batches_queued == 0)
        serve_mark_progress(s); /* idle until now: the stall clock starts here */
    atomic_fetch_add(&s->stats.mem_requests, req->mem_bytes);
    b->mem_counted = req->mem_bytes;
    if (s->bq_tail != NULL)
        s->bq_tail->next = b;
    else
        s->bq_head = b;
    s->bq_tail = b;
    s->batches_queued++;
    pthread_cond_signal(&s->cv_batch);
    pthread_mutex_unlock(&s->mu);
}

/*** One batch's run ***/

/* One item's state beside its formatted JSON (which goes into the ordered stream): with frames,
 * its HTML, sent apart after the frame's line (malloc'ed; NULL when it has none). ready is set by
 * the sink that handled the item; items never handled were skipped (cancelled). */
typedef struct item_slot {
    char *html;
    size_t html_len;
    atomic_int ready;
} item_slot;

typedef struct batch_run {
    serve *s;
    serve_batch *b;
    fmd_rpc_request *req;
    fmd_options opt;
    item_slot *slots;
    size_t n;
    fmd_io_stream *stream; /* each item's formatted JSON, in input order (io/stream.c) */
    atomic_size_t retried;
    atomic_size_t last_done; /* index + 1 of the item completed last; 0: none yet */
    atomic_size_t ser_ns;    /* serialisation time of this batch, nanoseconds */
    atomic_size_t render_ns;
    atomic_size_t bytes_in, bytes_out;
    serve_team team; /* the engine's threads this batch runs on, and what chose them */
    /* The result cache: the key of every page (NULL without a cache), and the index in the
     * batch of the kernel's page j (NULL: j itself) when hits were taken out. */
    unsigned char (*keys)[SERVE_CACHE_KEY];
    const size_t *miss_idx;
    atomic_size_t cache_hits, cache_misses;
    atomic_size_t not_modified; /* items answered "notModified" (their ifNoneMatch matched) */

    /* The stream's writer thread's own. */
    size_t progress_sent; /* completed count of the last progress notification */
    /* Not streamed: the items of results, joined by commas, held until the answer. */
    char *held;
    size_t held_len, held_cap;
    bool held_over; /* the results went over --max-memory: answered -32001 */
} batch_run;

/* Append {"batchId":..,"index":i,"result":..} or ..,"error":..} (the params of batchItem, and,
 * without the batchId, an element of results). */
/* An item's opening: {"batchId":ID,"index":I with @p with_batch (a whole batchItem), else
 * {"index":I. */
static fmd_status put_item_head(fmd_buf *b, const batch_run *br, size_t i, bool with_batch)
{
    fmd_status st = FMD_OK;
    if (with_batch) {
        FMD_TRY(PUT_LIT(b, "{\"batchId\":"));
        FMD_TRY(fmd_rpc_put_string(b, br->b->id, strlen(br->b->id)));
        FMD_TRY(PUT_LIT(b, ",\"index\":"));
    } else {
        FMD_TRY(PUT_LIT(b, "{\"index\":"));
    }
    FMD_TRY(fmd_buf_put_u64(b, i));
fail:
    return st;
}

/* With params.etags: ,"etag":"<the key of page i, 64 hex digits>" (nothing without a key). */
static fmd_status put_etag(fmd_buf *b, const batch_run *br, size_t i)
{
    if (!br->req->etags || br->keys == NULL)
        return FMD_OK;
    char hex[SERVE_CACHE_KEY * 2 + 1];
    fmd_hex_bytes(br->keys[i], SERVE_CACHE_KEY, hex);
    fmd_status st = FMD_OK;
    FMD_TRY(PUT_LIT(b, ",\"etag\":\""));
    FMD_TRY(fmd_buf_append(b, hex, SERVE_CACHE_KEY * 2));
    FMD_TRY(fmd_buf_putc(b, '"'));
fail:
    return st;
}

static fmd_status put_item(fmd_buf *b, const batch_run *br, size_t i, const fmd_result *res,
                           bool with_batch, bool html_apart)
{
    fmd_status st = FMD_OK;
    const fmd_rpc_item *it = &br->req->items[i];
    fmd_status load = br->req->refs[i].load_status;
    FMD_TRY(put_item_head(b, br, i, with_batch));
    if (load == FMD_OK && res->status == FMD_OK) {
        FMD_TRY(put_etag(b, br, i));
        FMD_TRY(PUT_LIT(b, ",\"result\":"));
        FMD_TRY(fmd_rpc_put_page_result(b, it->file, res,
                                        (br->req->include_code ? FMD_RPC_RESULT_CODE : 0) |
                                            (html_apart ? FMD_RPC_RESULT_HTML_APART : 0)));
    } else {
        FMD_TRY(PUT_LIT(b, ",\"error\":"));
        FMD_TRY(fmd_rpc_put_page_error(b, it, load, res));
    }
    FMD_TRY(fmd_buf_putc(b, '}'));
fail:
    return st;
}

/* Re-render page @p i after a transient failure, with the sink slot's own arenas (the kernel's
 * are in use). Returns true when it then succeeded. */
static bool retry_page(batch_run *br, serve_sink_slot *me, size_t i, fmd_result *res)
{
    if ((me->out == NULL && fmd_arena_create(&me->out, 0) != FMD_OK) ||
        (me->scratch == NULL && fmd_arena_create(&me->scratch, 0) != FMD_OK))
        return false;
    const fmd_page_ref *ref = &br->req->refs[i];
    for (unsigned a = 0; a < br->req->options.retries; a++) {
        atomic_fetch_add_explicit(&br->retried, 1, memory_order_relaxed);
        fmd_arena_reset(me->out);
        fmd_kernel_page_render(br->req->base + ref->offset, ref->len, &br->opt, me->out,
                               me->scratch, res);
        if (!fmd_status_is_transient(res->status))
            return res->status == FMD_OK;
    }
    return false;
}

/* Format item @p i into @p b: a whole batchItem line (streaming), or the {"index":..} element of
 * results (not streaming) or of a batchFrame's items (frames, with its HTML kept apart in its
 * slot). */
static fmd_status format_item(batch_run *br, size_t i, fmd_result *res, fmd_buf *b)
{
    fmd_status st = FMD_OK;
    fmd_status load = br->req->refs[i].load_status;
    bool ok = load == FMD_OK && res->status == FMD_OK;
    if (br->req->frames) {
        FMD_TRY(put_item(b, br, i, res, false, true));
    } else if (br->req->stream) {
        FMD_TRY(fmd_rpc_put_notification_head(b, "batchItem"));
        FMD_TRY(put_item(b, br, i, res, true, false));
        FMD_TRY(PUT_LIT(b, "}\n"));
    } else {
        FMD_TRY(put_item(b, br, i, res, false, false));
    }
    if (br->req->frames && ok && res->html.len != 0) {
        item_slot *slot = &br->slots[i];
        slot->html = malloc(res->html.len);
        if (slot->html == NULL)
            return FMD_E_NOMEM;
        memcpy(slot->html, res->html.ptr, res->html.len);
        slot->html_len = res->html.len;
    }
fail:
    return st;
}

/* The test hooks of tests that must catch a batch while it runs (test builds only). */
static void test_hooks(const batch_run *br)
{
#ifdef FMD_TEST_HOOKS
    if (br->s->delay_us != 0) { /* the test hook of tests that must catch a batch running */
        struct timespec ts = {(time_t)(br->s->delay_us / 1000000),
                              (long)(br->s->delay_us % 1000000) * 1000};
        nanosleep(&ts, NULL);
    }
    /* The test hook of the health tests: the engine hangs while the file exists. */
    while (br->s->hang_file != NULL && access(br->s->hang_file, F_OK) == 0) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
#else
    (void)br;
#endif
}

/* The end of item @p i, formatted (and handed to the stream when @p sent) or not: the counters,
 * the progress mark, and an empty slot in the stream when it was not sent. */
static void finish_item(batch_run *br, serve_sink_slot *me, size_t i, bool sent, bool failed,
                        double t0)
{
    item_slot *slot = &br->slots[i];
    if (!sent) { /* not sent: neither is its HTML */
        free(slot->html);
        slot->html = NULL;
        slot->html_len = 0;
    }
    if (me->out != NULL)
        fmd_arena_reset(me->out);
    atomic_fetch_add_explicit(&br->ser_ns, (size_t)((fmd_clock_now() - t0) * 1e9),
                              memory_order_relaxed);
    if (failed)
        atomic_fetch_add_explicit(&br->b->failed, 1, memory_order_relaxed);
    atomic_store_explicit(&br->last_done, i + 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&br->b->completed, 1, memory_order_relaxed);
    serve_mark_progress(br->s);
    atomic_store_explicit(&slot->ready, 1, memory_order_relaxed);
    if (!sent)
        (void)fmd_io_stream_put_owned(br->stream, i, NULL, 0); /* the slot, empty */
}

/* Hand item @p i's formatted bytes @p b to the stream, counted in memory until written. */
static bool send_item(batch_run *br, size_t i, fmd_buf *b)
{
    /* Counted until the stream's writer has it out: before the put, so that the writer's
     * subtraction never comes first. */
    atomic_fetch_add_explicit(&br->s->stats.mem_pending, b->len, memory_order_relaxed);
    if (fmd_io_stream_put(br->stream, i, b->ptr, b->len) == FMD_OK)
        return true;
    atomic_fetch_sub_explicit(&br->s->stats.mem_pending, b->len, memory_order_relaxed);
    return false;
}

/* One page done (rendered, or found in the cache when @p cached): retry, cache, format, hand to
 * the stream. Runs on the worker thread @p thread. */
static void page_done(batch_run *br, size_t i, int thread, fmd_result *res, bool cached)
{
    serve_sink_slot *me = &br->s->sink_slots[thread];
    test_hooks(br);
    const fmd_rpc_item *it = &br->req->items[i];
    fmd_status load = br->req->refs[i].load_status;
    if (me->fmt == NULL && fmd_arena_create(&me->fmt, 0) != FMD_OK)
        me->fmt = NULL;
    fmd_result again;
    /* Transient failures (memory) are retried; I/O errors were retried on load; a deadline never.
     */
    if (load == FMD_OK && fmd_status_is_transient(res->status) && br->req->options.retries > 0 &&
        retry_page(br, me, i, &again))
        res = &again;
    if (!cached && br->keys != NULL && load == FMD_OK && me->fmt != NULL)
        serve_cache_put(br->s->cache, br->keys[i], res, me->fmt); /* before the title fallback */
    atomic_fetch_add_explicit(&br->render_ns, (size_t)(res->render_s * 1e9), memory_order_relaxed);
    if (br->s->trace != NULL && i % (br->n / SERVE_TRACE_PAGES + 1) == 0) {
        double now = fmd_clock_now();
        char args[96];
        snprintf(args, sizeof args, "\"index\":%zu,\"batchId\":\"%.40s\"", i,
                 serve_trace_plain(br->b->id) ? br->b->id : "");
        serve_trace_span(br->s->trace, cached ? "page (cache hit)" : "page",
                         SERVE_TID_WORKER + thread, now - res->render_s, now, br->req, args);
    }
    atomic_fetch_add_explicit(&br->bytes_in, br->req->refs[i].len, memory_order_relaxed);
    atomic_fetch_add_explicit(&br->bytes_out, res->html.len, memory_order_relaxed);

    double t0 = fmd_clock_now();
    bool sent = false;
    if (me->fmt != NULL) {
        /* No front matter title and no heading: the file name, as `fastmd build` does. */
        if (load == FMD_OK && res->status == FMD_OK)
            fmd_title_fallback(&res->title, it->file, me->fmt);
        fmd_buf b;
        fmd_buf_reset(&b, me->fmt);
        if (format_item(br, i, res, &b) == FMD_OK)
            sent = send_item(br, i, &b);
        fmd_arena_reset(me->fmt);
    }
    finish_item(br, me, i, sent, load != FMD_OK || res->status != FMD_OK, t0);
}

/* Format cache hit @p h as format_item() formats the same result without includeCode: the
 * item's head, its file, then the metadata as the cache keeps it (with the title from the file
 * name when the page has none). */
static fmd_status format_hit(batch_run *br, size_t i, const serve_cache_hit *h, fmd_arena *a,
                             fmd_buf *b)
{
    fmd_status st = FMD_OK;
    const fmd_rpc_item *it = &br->req->items[i];
    bool line = br->req->stream && !br->req->frames; /* a whole batchItem notification */
    if (line)
        FMD_TRY(fmd_rpc_put_notification_head(b, "batchItem"));
    FMD_TRY(put_item_head(b, br, i, line));
    FMD_TRY(put_etag(b, br, i));
    FMD_TRY(PUT_LIT(b, ",\"result\":{\"code\":null,\"html\":\""));
    if (!br->req->frames)
        FMD_TRY(fmd_json_put_body(b, h->html.ptr, h->html.len, 0));
    FMD_TRY(fmd_rpc_put_page_file(b, it->file));
    if (h->has_title) {
        FMD_TRY(fmd_buf_append(b, h->meta.ptr, h->meta.len));
    } else {
        fmd_slice title = {NULL, 0};
        fmd_title_fallback(&title, it->file, a);
        FMD_TRY(fmd_buf_append(b, h->meta.ptr, h->title_at));
        FMD_TRY(fmd_rpc_put_string(b, title.ptr, title.len));
        FMD_TRY(fmd_buf_append(b, h->meta.ptr + h->title_end, h->meta.len - h->title_end));
    }
    FMD_TRY(line ? PUT_LIT(b, "}}\n") : fmd_buf_putc(b, '}'));
fail:
    return st;
}

/* One page found in the cache in its formatted form (no includeCode): format and hand to the
 * stream, with the HTML kept apart for a frame. Runs on the worker thread @p thread. */
static void page_hit(batch_run *br, size_t i, int thread, serve_cache_hit *h)
{
    serve_sink_slot *me = &br->s->sink_slots[thread];
    test_hooks(br);
    if (br->s->trace != NULL && i % (br->n / SERVE_TRACE_PAGES + 1) == 0) {
        double now = fmd_clock_now();
        char args[96];
        snprintf(args, sizeof args, "\"index\":%zu,\"batchId\":\"%.40s\"", i,
                 serve_trace_plain(br->b->id) ? br->b->id : "");
        serve_trace_span(br->s->trace, "page (cache hit)", SERVE_TID_WORKER + thread, now, now,
                         br->req, args);
    }
    atomic_fetch_add_explicit(&br->bytes_in, br->req->refs[i].len, memory_order_relaxed);
    atomic_fetch_add_explicit(&br->bytes_out, h->html.len, memory_order_relaxed);
    double t0 = fmd_clock_now();
    item_slot *slot = &br->slots[i];
    if (br->req->frames && h->html.len != 0) { /* the frame's writer takes it from the slot */
        slot->html = h->html_owned;
        slot->html_len = h->html.len;
    } else {
        free(h->html_owned);
    }
    bool sent = false;
    if (me->fmt != NULL || fmd_arena_create(&me->fmt, 0) == FMD_OK) {
        fmd_buf b;
        fmd_buf_reset(&b, me->fmt);
        if (format_hit(br, i, h, me->fmt, &b) == FMD_OK)
            sent = send_item(br, i, &b);
        fmd_arena_reset(me->fmt);
    } else {
        me->fmt = NULL;
    }
    finish_item(br, me, i, sent, false, t0);
}

/* The kernel's sink: runs on the worker thread right after its page @p j is rendered. */
static fmd_status batch_sink(size_t j, int thread, fmd_result *res, double *wait_s, void *ud)
{
    (void)wait_s;
    batch_run *br = ud;
    page_done(br, br->miss_idx != NULL ? br->miss_idx[j] : j, thread, res, false);
    return FMD_OK;
}

/* Page @p i's ifNoneMatch is its key: answer {"index":i,"notModified":true,"etag":..} (no result,
 * no HTML: the client holds them). Runs on the worker thread @p thread. */
static void page_not_modified(batch_run *br, size_t i, int thread)
{
    serve_sink_slot *me = &br->s->sink_slots[thread];
    test_hooks(br);
    double t0 = fmd_clock_now();
    bool sent = false;
    if (me->fmt != NULL || fmd_arena_create(&me->fmt, 0) == FMD_OK) {
        bool line = br->req->stream && !br->req->frames;
        fmd_buf b;
        fmd_buf_reset(&b, me->fmt);
        fmd_status st = line ? fmd_rpc_put_notification_head(&b, "batchItem") : FMD_OK;
        if (st == FMD_OK)
            st = put_item_head(&b, br, i, line);
        if (st == FMD_OK)
            st = PUT_LIT(&b, ",\"notModified\":true,\"etag\":\"");
        if (st == FMD_OK)
            st = fmd_buf_append(&b, br->req->items[i].if_none_match, SERVE_CACHE_KEY * 2);
        if (st == FMD_OK)
            st = line ? PUT_LIT(&b, "\"}}\n") : PUT_LIT(&b, "\"}");
        if (st == FMD_OK)
            sent = send_item(br, i, &b);
        fmd_arena_reset(me->fmt);
    } else {
        me->fmt = NULL;
    }
    atomic_fetch_add_explicit(&br->not_modified, 1, memory_order_relaxed);
    finish_item(br, me, i, sent, false, t0);
}

/* Whether page @p i's ifNoneMatch names its key @p key. */
static bool etag_matches(const fmd_rpc_item *it, const unsigned char *key)
{
    if (it->if_none_match == NULL)
        return false;
    char hex[SERVE_CACHE_KEY * 2 + 1];
    fmd_hex_bytes(key, SERVE_CACHE_KEY, hex);
    return memcmp(hex, it->if_none_match, SERVE_CACHE_KEY * 2) == 0;
}

/* With a cache: the key of every page, and every hit answered now, in parallel on the engine's
 * threads. Returns the pages left to render (their indexes in *miss, malloc'ed) or SIZE_MAX when
 * memory ran out (then nothing was taken from the cache and every page renders). */
static size_t take_hits(batch_run *br, size_t **miss)
{
    serve *s = br->s;
    fmd_rpc_request *req = br->req;
    size_t n = br->n;
    *miss = NULL;
    br->keys = malloc(sizeof *br->keys * (n ? n : 1));
    bool *hit = calloc(n ? n : 1, sizeof *hit);
    if (br->keys == NULL || hit == NULL) {
        free(br->keys);
        br->keys = NULL;
        free(hit);
        return SIZE_MAX;
    }
    unsigned char od[16];
    serve_options_digest(s, req, od);
    unsigned char(*keys)[SERVE_CACHE_KEY] = br->keys;
    int nt = br->team.threads;
    size_t looked = 0;
    /* Page i writes only keys[i] and hit[i]; page_done writes only its own slot. */
#pragma omp parallel for num_threads(nt) schedule(dynamic, 16) default(none)                   \
    shared(br, s, req, n, keys, hit, od) reduction(+ : looked)
    for (size_t i = 0; i < n; i++) {
        const fmd_page_ref *ref = &req->refs[i];
        if (ref->load_status != FMD_OK || atomic_load(&br->b->cancel))
            continue;
        serve_cache_key(req->base + ref->offset, ref->len, od, keys[i]);
        int t = omp_get_thread_num();
        serve_sink_slot *me = &s->sink_slots[t];
        if (me->out == NULL && fmd_arena_create(&me->out, 0) != FMD_OK)
            continue;
        if (etag_matches(&req->items[i], keys[i])) { /* the client holds this result */
            hit[i] = true;
            page_not_modified(br, i, t);
            continue;
        }
        looked++;
        if (!req->include_code) { /* the formatted form: two copies, no formatting */
            serve_cache_hit h;
            if (serve_cache_get_formatted(s->cache, keys[i], me->out, req->frames, &h)) {
                hit[i] = true;
                page_hit(br, i, t, &h);
            }
            continue;
        }
        fmd_result res;
        if (serve_cache_get(s->cache, keys[i], me->out, &res)) {
            res.bytes_in = ref->len;
            hit[i] = true;
            page_done(br, i, t, &res, true);
        }
    }
    size_t n_miss = 0;
    for (size_t i = 0; i < n; i++)
        n_miss += !hit[i];
    atomic_store(&br->cache_hits, n - n_miss - atomic_load(&br->not_modified));
    atomic_store(&br->cache_misses, looked - (n - n_miss));
    size_t *idx = malloc(sizeof *idx * (n_miss ? n_miss : 1));
    if (idx == NULL) {
        /* Hits are answered already: the rest must still render, so fail those alone. */
        free(hit);
        return SIZE_MAX - 1;
    }
    for (size_t i = 0, k = 0; i < n; i++)
        if (!hit[i])
            idx[k++] = i;
    free(hit);
    *miss = idx;
    return n_miss;
}

/*** The stream's sink: ordered batchItem lines, frames, held results, progress ***/

/* Write items as one batchFrame: the notification line
 * {"jsonrpc":"2.0","method":"batchFrame","params":{"batchId":..,"bytes":N,"lengths":[..],
 * "items":[..]}}, then the N bytes of their HTML, item after item (lengths[k] bytes for items[k]),
 * in one fmd_rpc_write(), so that nothing else is written in between. */
static void emit_frame(batch_run *br, const fmd_slice *items, const size_t *index, size_t cnt)
{
    size_t bytes = 0;
    for (size_t m = 0; m < cnt; m++)
        bytes += br->slots[index[m]].html_len;
    fmd_arena *a = NULL;
    fmd_slice *parts = malloc(sizeof *parts * (3 * cnt + 2));
    if (parts == NULL || fmd_arena_create(&a, 4096) != FMD_OK) {
        free(parts);
        return;
    }
    double t0 = fmd_clock_now();
    fmd_buf head;
    fmd_buf_reset(&head, a);
    fmd_status st = fmd_rpc_put_notification_head(&head, "batchFrame");
    if (st == FMD_OK)
        st = PUT_LIT(&head, "{\"batchId\":");
    if (st == FMD_OK)
        st = fmd_rpc_put_string(&head, br->b->id, strlen(br->b->id));
    if (st == FMD_OK)
        st = PUT_LIT(&head, ",\"bytes\":");
    if (st == FMD_OK)
        st = fmd_buf_put_u64(&head, bytes);
    if (st == FMD_OK)
        st = PUT_LIT(&head, ",\"lengths\":[");
    for (size_t m = 0; m < cnt && st == FMD_OK; m++) {
        if (m != 0)
            st = fmd_buf_putc(&head, ',');
        if (st == FMD_OK)
            st = fmd_buf_put_u64(&head, br->slots[index[m]].html_len);
    }
    if (st == FMD_OK)
        st = PUT_LIT(&head, "],\"items\":[");
    serve_add_time(&br->s->stats.serialize_ns, fmd_clock_now() - t0);
    if (st == FMD_OK) {
        size_t k = 0;
        parts[k++] = fmd_buf_slice(&head);
        for (size_t m = 0; m < cnt; m++) {
            if (m != 0)
                parts[k++] = (fmd_slice){",", 1};
            parts[k++] = items[m];
        }
        parts[k++] = (fmd_slice){"]}}\n", 4};
        for (size_t m = 0; m < cnt; m++)
            if (br->slots[index[m]].html_len != 0)
                parts[k++] = (fmd_slice){br->slots[index[m]].html, br->slots[index[m]].html_len};
        fmd_rpc_write(br->s->w, parts, k);
    }
    fmd_arena_destroy(a);
    free(parts);
}

/* Not streamed: append items to the held results, joined by commas. */
static fmd_status hold_items(batch_run *br, const fmd_slice *items, size_t cnt)
{
    size_t need = 0;
    for (size_t m = 0; m < cnt; m++)
        need += items[m].len + 1;
    /* The bound: what is held now counts already (mem_held); growth must fit. */
    if (br->held_over || serve_mem_over(br->s, need)) {
        br->held_over = true; /* the rest is dropped; the answer says why */
        return FMD_OK;
    }
    if (br->held_cap - br->held_len < need) {
        size_t cap = br->held_cap ? br->held_cap : 4096;
        while (cap - br->held_len < need)
            cap *= 2;
        char *p = realloc(br->held, cap);
        if (p == NULL)
            return FMD_E_NOMEM;
        atomic_fetch_add(&br->s->stats.mem_held, cap - br->held_cap);
        br->held = p;
        br->held_cap = cap;
    }
    for (size_t m = 0; m < cnt; m++) {
        if (br->held_len != 0)
            br->held[br->held_len++] = ',';
        memcpy(br->held + br->held_len, items[m].ptr, items[m].len);
        br->held_len += items[m].len;
    }
    return FMD_OK;
}

/* The stream's write function (its writer thread): items in input order. */
static fmd_status write_items(const fmd_slice *items, const size_t *index, size_t cnt, void *ud)
{
    batch_run *br = ud;
    size_t bytes = 0;
    for (size_t m = 0; m < cnt; m++)
        bytes += items[m].len;
    atomic_fetch_sub_explicit(&br->s->stats.mem_pending, bytes, memory_order_relaxed);
    if (br->req->frames) {
        emit_frame(br, items, index, cnt);
        for (size_t m = 0; m < cnt; m++) {
            free(br->slots[index[m]].html);
            br->slots[index[m]].html = NULL;
        }
        return FMD_OK;
    }
    if (br->req->stream) {
        (void)fmd_rpc_write(br->s->w, items, cnt); /* a failed write: the client is gone */
        return FMD_OK;
    }
    return hold_items(br, items, cnt);
}

static void emit_progress(batch_run *br, size_t completed)
{
    serve *s = br->s;
    fmd_arena *a = NULL;
    if (fmd_arena_create(&a, 4096) != FMD_OK)
        return;
    double t0 = fmd_clock_now();
    fmd_buf b;
    fmd_buf_reset(&b, a);
    size_t last = atomic_load_explicit(&br->last_done, memory_order_relaxed);
    const char *file = last ? br->req->items[last - 1].file : NULL;
    char nums[128];
    int n = snprintf(nums, sizeof nums, ",\"completed\":%zu,\"total\":%zu,\"failed\":%zu",
                     completed, br->n, atomic_load(&br->b->failed));
    fmd_status st = fmd_rpc_put_notification_head(&b, "progress");
    if (st == FMD_OK)
        st = PUT_LIT(&b, "{\"batchId\":");
    if (st == FMD_OK)
        st = fmd_rpc_put_string(&b, br->b->id, strlen(br->b->id));
    if (st == FMD_OK)
        st = fmd_buf_append(&b, nums, (size_t)n);
    if (st == FMD_OK)
        st = PUT_LIT(&b, ",\"currentFile\":");
    if (st == FMD_OK)
        st = fmd_rpc_put_string(&b, file, file ? strlen(file) : 0);
    if (st == FMD_OK)
        st = PUT_LIT(&b, "}}\n");
    serve_add_time(&s->stats.serialize_ns, fmd_clock_now() - t0);
    if (st == FMD_OK)
        serve_send(s, &b);
    fmd_arena_destroy(a);
}

/* The stream's tick (its writer thread): a progress notification at most every
 * PROGRESS_INTERVAL while pages complete, and one at the end. */
static void tick_progress(bool last, void *ud)
{
    batch_run *br = ud;
    size_t completed = atomic_load(&br->b->completed);
    if (last || completed != br->progress_sent) {
        emit_progress(br, completed);
        br->progress_sent = completed;
    }
}

/* The writer wakes when the item STREAM_GROUP - 1 places after the next one to write is done, or
 * after STREAM_LINGER seconds, whichever comes first: at most one wake-up per group or per
 * linger, and no item waits longer than the linger. */
#define STREAM_GROUP 64
#define STREAM_LINGER 0.002

/*** The answer ***/

/* The stats object of a batch. */
static fmd_status put_stats(fmd_buf *b, const batch_run *br, size_t cancelled, double ms)
{
    char tmp[300];
    size_t completed = atomic_load(&br->b->completed), failed = atomic_load(&br->b->failed);
    int n = snprintf(tmp, sizeof tmp,
                     "\"stats\":{\"total\":%zu,\"ok\":%zu,\"failed\":%zu,\"retried\":%zu,"
                     "\"cancelled\":%zu,\"cacheHits\":%zu,\"cacheMisses\":%zu,"
                     "\"notModified\":%zu,\"ms\":",
                     br->n, completed - failed, failed, atomic_load(&br->retried), cancelled,
                     atomic_load(&br->cache_hits), atomic_load(&br->cache_misses),
                     atomic_load(&br->not_modified));
    fmd_status st = fmd_buf_append(b, tmp, (size_t)n);
    if (st == FMD_OK)
        st = fmd_rpc_put_number(b, ms);
    /* The team: its size, and under --threads auto what it was sized from. */
    const serve_team *t = &br->team;
    n = br->s->auto_threads
            ? snprintf(tmp, sizeof tmp,
                       ",\"threads\":{\"team\":%d,\"max\":%d,\"auto\":true,\"allowedCpus\":%d,"
                       "\"cpuQuota\":%.3f,\"loadAverage\":%.2f}",
                       t->threads, br->s->nthreads, t->allowed_cpus, t->quota_cpus, t->loadavg)
            : snprintf(tmp, sizeof tmp, ",\"threads\":{\"team\":%d,\"max\":%d,\"auto\":false}",
                       t->threads, br->s->nthreads);
    if (st == FMD_OK)
        st = fmd_buf_append(b, tmp, (size_t)n);
    if (st == FMD_OK)
        st = fmd_buf_putc(b, '}');
    return st;
}

/* Write the batch's answer: its result, or -32800 when it was cancelled before every item ran.
 * Non-streamed results go out as the held items, between the head and the tail in one writev. */
static void answer(batch_run *br, size_t cancelled, double ms)
{
    serve *s = br->s;
    fmd_rpc_request *req = br->req;
    fmd_arena *a = NULL;
    if (fmd_arena_create(&a, 4096) != FMD_OK)
        return;
    fmd_buf head, tail;
    fmd_buf_reset(&head, a);
    fmd_status st = FMD_OK;
    bool cancelled_answer = cancelled > 0;
    double t0 = fmd_clock_now();
    if (cancelled_answer) {
        char tmp[160];
        int n = snprintf(tmp, sizeof tmp, "%d,\"message\":", FMD_RPC_CANCELLED);
        FMD_TRY(PUT_LIT(&head, "{\"jsonrpc\":\"2.0\",\"id\":"));
        FMD_TRY(fmd_buf_puts(&head, req->id));
        FMD_TRY(PUT_LIT(&head, ",\"error\":{\"code\":"));
        FMD_TRY(fmd_buf_append(&head, tmp, (size_t)n));
        snprintf(tmp, sizeof tmp, "batch %.*s cancelled", (int)fmd_rpc_utf8_cut(br->b->id, 100),
                 br->b->id);
        FMD_TRY(fmd_rpc_put_string(&head, tmp, strlen(tmp)));
        FMD_TRY(PUT_LIT(&head, ",\"data\":{\"batchId\":"));
        FMD_TRY(fmd_rpc_put_string(&head, br->b->id, strlen(br->b->id)));
        n = snprintf(tmp, sizeof tmp, ",\"completed\":%zu,\"total\":%zu",
                     atomic_load(&br->b->completed), br->n);
        FMD_TRY(fmd_buf_append(&head, tmp, (size_t)n));
        if (!req->stream)
            FMD_TRY(PUT_LIT(&head, ",\"results\":["));
    } else {
        FMD_TRY(fmd_rpc_put_response_head(&head, req->id));
        FMD_TRY(PUT_LIT(&head, "{\"batchId\":"));
        FMD_TRY(fmd_rpc_put_string(&head, br->b->id, strlen(br->b->id)));
        FMD_TRY(req->stream ? fmd_buf_putc(&head, ',') : PUT_LIT(&head, ",\"results\":["));
    }
    fmd_buf_reset(&tail, a);
    if (cancelled_answer) {
        FMD_TRY(req->stream ? PUT_LIT(&tail, "}}}\n") : PUT_LIT(&tail, "]}}}\n"));
    } else {
        if (!req->stream)
            FMD_TRY(PUT_LIT(&tail, "],"));
        FMD_TRY(serve_put_traceparent(&tail, req, true));
        FMD_TRY(put_stats(&tail, br, cancelled, ms));
        FMD_TRY(PUT_LIT(&tail, "}}\n"));
    }
    serve_add_time(&s->stats.serialize_ns, fmd_clock_now() - t0);
    if (cancelled_answer)
        serve_count_error(s, FMD_RPC_CANCELLED);
    serve_done(s, req);

    if (req->stream) {
        fmd_slice parts[2] = {fmd_buf_slice(&head), fmd_buf_slice(&tail)};
        fmd_rpc_write(s->w, parts, 2);
    } else {
        fmd_slice parts[3] = {fmd_buf_slice(&head), {br->held, br->held_len}, fmd_buf_slice(&tail)};
        fmd_rpc_write(s->w, parts, 3);
    }
    fmd_arena_destroy(a);
    return;
fail:
    fmd_arena_destroy(a);
    (void)st;
    serve_send_error(s, req, FMD_RPC_INTERNAL_ERROR, FMD_RPC_NOMEM_MESSAGE, NULL, 0);
}

static void run_batch(serve *s, serve_batch *b)
{
    double t_start = fmd_clock_now();
    fmd_rpc_request *req = b->req;
    batch_run br = {0};
    br.s = s;
    br.b = b;
    br.req = req;
    if (s->auto_threads)
        serve_team_choose(&br.team, s->nthreads, NULL);
    else
        br.team.threads = s->nthreads;
    br.n = req->n_items;
    br.opt = req->options.opt;
    br.opt.rules = b->rules;
    br.slots = calloc(br.n ? br.n : 1, sizeof *br.slots);
    fmd_result *results = calloc(br.n ? br.n : 1, sizeof *results);
    fmd_io_stream_sink sink_out = {.write = write_items,
                                   .tick = req->progress ? tick_progress : NULL,
                                   .tick_s = PROGRESS_INTERVAL,
                                   .userdata = &br};
    fmd_io_stream_wake wake = {.group = STREAM_GROUP, .linger_s = STREAM_LINGER};
    if (br.slots == NULL || results == NULL ||
        fmd_io_stream_open_sink(&br.stream, br.n, &sink_out, &wake) != FMD_OK) {
        free(br.slots);
        free(results);
        serve_send_error(s, req, FMD_RPC_INTERNAL_ERROR, FMD_RPC_NOMEM_MESSAGE, NULL, 0);
        return;
    }

    fmd_status st = FMD_OK;
    serve_mark_progress(s);
    size_t base_before = req->base_len;
    if (!atomic_load(&b->cancel)) {
        double load_s = 0, t_load = fmd_clock_now();
        st = fmd_rpc_load_items(req, s->root, s->root_abs, br.opt.max_input_bytes,
                                req->options.retries, s->nthreads, s->fault_every, &load_s);
        serve_add_time(&s->stats.load_ns, load_s);
        serve_trace_span(s->trace, "load", SERVE_TID_BATCH, t_load, t_load + load_s, req, NULL);
        for (size_t i = 0; i < br.n; i++)
            if (req->items[i].attempts > 1)
                atomic_fetch_add(&br.retried, req->items[i].attempts - 1);
        /* Pages read by path are held from now on: count them with the request. */
        atomic_fetch_add(&s->stats.mem_requests, req->base_len - base_before);
        b->mem_counted += req->base_len - base_before;
    }
    size_t n_run = br.n, *miss = NULL;
    fmd_page_ref *miss_refs = NULL;
    if (st == FMD_OK && br.n > 0 && s->cache != NULL) {
        double t_cache = fmd_clock_now();
        n_run = take_hits(&br, &miss);
        serve_trace_span(s->trace, "cache lookup", SERVE_TID_BATCH, t_cache, fmd_clock_now(), req,
                         NULL);
        if (n_run == SIZE_MAX) {
            n_run = br.n; /* no keys: everything renders, nothing is cached */
        } else if (n_run == SIZE_MAX - 1) {
            n_run = 0;
            st = FMD_E_NOMEM;
        } else {
            miss_refs = malloc(sizeof *miss_refs * (n_run ? n_run : 1));
            if (miss_refs == NULL) {
                n_run = 0;
                st = FMD_E_NOMEM;
            } else {
                for (size_t j = 0; j < n_run; j++)
                    miss_refs[j] = req->refs[miss[j]];
                br.miss_idx = miss;
            }
        }
    }
    double t_render = fmd_clock_now();
    if (st == FMD_OK && n_run > 0) {
        fmd_page_sink sink = {.fn = batch_sink, .userdata = &br, .release = true};
        fmd_batch_run run = {.base = req->base,
                             .pages = miss_refs != NULL ? miss_refs : req->refs,
                             .n = n_run,
                             .opt = &br.opt,
                             .results = results,
                             .hook = &s->pl.hook,
                             .sink = &sink,
                             .cancel = &b->cancel,
                             .max_threads = br.team.threads};
        st = fmd_kernel_batch_run(s->kb, &run);
    }
    serve_trace_span(s->trace, "render", SERVE_TID_BATCH, t_render, fmd_clock_now(), req, NULL);
    /* Every slot the sink did not fill was skipped: cancelled (or the run failed as a whole). */
    size_t cancelled = 0;
    for (size_t i = 0; i < br.n; i++) {
        if (!atomic_load(&br.slots[i].ready)) {
            cancelled++;
            (void)fmd_io_stream_put_owned(br.stream, i, NULL, 0);
        }
    }
    /* Waits until every item is written (or held), and the last progress notification. */
    fmd_status held_st = fmd_io_stream_close(br.stream, NULL);

    serve_stats *c = &s->stats;
    size_t completed = atomic_load(&b->completed), failed = atomic_load(&b->failed);
    atomic_fetch_add(&c->pages_ok, completed - failed);
    atomic_fetch_add(&c->pages_failed, failed);
    atomic_fetch_add(&c->pages_cancelled, cancelled);
    atomic_fetch_add(&c->pages_retried, atomic_load(&br.retried));
    atomic_fetch_add(&c->bytes_in, atomic_load(&br.bytes_in));
    atomic_fetch_add(&c->bytes_out, atomic_load(&br.bytes_out));
    atomic_fetch_add(&c->serialize_ns, atomic_load(&br.ser_ns));
    atomic_fetch_add(&c->render_ns, atomic_load(&br.render_ns));
    atomic_fetch_add(&c->batches, 1);
    /* No longer live: once the client has the answer, its ID is free and cancel finds nothing. */
    pthread_mutex_lock(&s->mu);
    s->running = NULL;
    pthread_mutex_unlock(&s->mu);
    if (br.held_over) {
        char data[128];
        int dn = snprintf(data, sizeof data, "{\"limit\":%zu,\"retryAfterMs\":%d}", s->max_memory,
                          SERVE_RETRY_AFTER_MS);
        atomic_fetch_add(&c->mem_refused, 1);
        serve_send_error(s, req, FMD_RPC_OVERLOADED,
                         "Overloaded: the results of this batch would go over --max-memory; "
                         "send it with stream: true (or frames: true), or in smaller batches",
                         data, (size_t)dn);
    } else if ((st != FMD_OK && cancelled == br.n && br.n > 0) || held_st != FMD_OK) {
        serve_send_error(s, req, FMD_RPC_INTERNAL_ERROR, FMD_RPC_NOMEM_MESSAGE, NULL, 0);
    } else {
        if (cancelled > 0)
            atomic_fetch_add(&c->batches_cancelled, 1);
        answer(&br, cancelled, (fmd_clock_now() - t_start) * 1e3);
    }
    for (size_t i = 0; i < br.n; i++)
        free(br.slots[i].html);
    free(br.slots);
    free(br.keys);
    free(miss);
    free(miss_refs);
    free(br.held);
    atomic_fetch_sub(&c->mem_held, br.held_cap);
    free(results);
}

void *serve_batch_main(void *arg)
{
    serve *s = arg;
    pthread_setname_np(pthread_self(), "fastmd-batch");
    serve_trace_thread(s->trace, SERVE_TID_BATCH, "batch executor");
    for (int t = 0; s->trace != NULL && t < s->nthreads; t++) {
        char line[200];
        int n = snprintf(line, sizeof line,
                         "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%ld,\"tid\":%d,"
                         "\"args\":{\"name\":\"engine worker %d\"}},\n",
                         (long)getpid(), SERVE_TID_WORKER + t, t);
        serve_trace_write(s->trace, line, (size_t)n);
    }
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (s->bq_head == NULL && !s->draining)
            pthread_cond_wait(&s->cv_batch, &s->mu);
        serve_batch *b = s->bq_head;
        if (b == NULL) { /* draining and nothing left */
            pthread_mutex_unlock(&s->mu);
            break;
        }
        s->bq_head = b->next;
        if (s->bq_head == NULL)
            s->bq_tail = NULL;
        b->next = NULL;
        s->batches_queued--;
        s->running = b;
        pthread_mutex_unlock(&s->mu);

        run_batch(s, b); /* clears s->running before it answers */
        serve_alerts_check(s);
        pthread_mutex_lock(&s->mu);
        s->running = NULL; /* (also on the paths that answer nothing) */
        pthread_mutex_unlock(&s->mu);
        batch_free(s, b);
    }
    fmd_numa_thread_unbind(s->pl.plan, NULL);
    return NULL;
}
