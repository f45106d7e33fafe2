/* SPDX-License-Identifier: MIT */
/* fastmd serve: the JSON-RPC 2.0 sidecar (docs/protocol.md), its one entry point
 * fmd_serve_run(): the start-up (root, lanes, the batch executor), the reader loop on the calling
 * thread, which parses every line and answers the cheap methods itself, and the drain at
 * shutdown. The output descriptor carries protocol lines only; warnings go to the caller's
 * callback. Never prints, never exits. */
#define _GNU_SOURCE /* pthread_setname_np */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve_internal.h"

/*** Answers ***/

void serve_count_error(serve *s, int code)
{
    int k;
    for (k = 0; k < SERVE_N_ERRCODES - 1; k++)
        if (serve_errcodes[k] == code)
            break;
    atomic_fetch_add_explicit(&s->stats.errors[k], 1, memory_order_relaxed);
}

void serve_send(serve *s, const fmd_buf *b)
{
    fmd_slice part = fmd_buf_slice(b);
    /* A failed write means the client is gone: nothing to tell it, and the end of its input
     * will stop the server. */
    (void)fmd_rpc_write(s->w, &part, 1);
}

void serve_done(serve *s, const fmd_rpc_request *req)
{
    /* Called just before the answer is written, so that a client that has the answer and then
     * asks for stats sees it counted. */
    double ms = (fmd_clock_now() - req->t_read) * 1e3;
    int k = 0;
    while (k < SERVE_N_BUCKETS && ms > serve_buckets_ms[k])
        k++;
    unsigned m =
        (unsigned)req->method < FMD_RPC_METHOD_COUNT ? (unsigned)req->method : FMD_RPC_INVALID;
    atomic_fetch_add_explicit(&s->stats.lat_counts[m][k], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->stats.lat_sum_ns[m], (uint_fast64_t)(ms * 1e6),
                              memory_order_relaxed);
    if (s->trace != NULL)
        serve_trace_span(s->trace, fmd_rpc_method_name(req->method), serve_trace_tid(), req->t_read,
                         req->t_read + ms * 1e-3, req, NULL);
}

void serve_send_error(serve *s, const fmd_rpc_request *req, int code, const char *message,
                      const char *data_json, size_t data_len)
{
    if (req != NULL && req->id == NULL)
        return; /* a notification is never answered */
    serve_count_error(s, code);
    fmd_arena *a = NULL;
    if (fmd_arena_create(&a, 0) != FMD_OK)
        return;
    fmd_buf b;
    fmd_buf_reset(&b, a);
    if (req != NULL)
        serve_done(s, req);
    if (fmd_rpc_put_error(&b, req ? req->id : NULL, code, message, data_json, data_len) == FMD_OK)
        serve_send(s, &b);
    fmd_arena_destroy(a);
}

/* Answer @p req with the result object in @p body (appended after the head by @p fn). */
static void answer_inline(serve *s, fmd_rpc_request *req, fmd_arena *a)
{
    fmd_buf b;
    fmd_buf_reset(&b, a);
    fmd_status st = fmd_rpc_put_response_head(&b, req->id);
    double t0 = fmd_clock_now();
    switch (req->method) {
    case FMD_RPC_PING:
        if (st == FMD_OK)
            st = fmd_buf_puts(&b, "{\"pong\":true}");
        break;
    case FMD_RPC_HEALTH:
        serve_alerts_check(s);
        if (st == FMD_OK)
            st = serve_format_health(s, &b);
        break;
    case FMD_RPC_STATS:
        serve_alerts_check(s);
        if (st == FMD_OK)
            st = serve_format_stats(s, &b, req->prometheus);
        break;
    case FMD_RPC_CANCEL:
    case FMD_RPC_CANCEL_REQUEST: {
        bool found = req->method == FMD_RPC_CANCEL ? serve_batch_cancel(s, req->batch_id, false)
                                                   : serve_batch_cancel(s, req->cancel_id, true);
        if (st == FMD_OK)
            st = fmd_buf_puts(&b, found ? "{\"cancelled\":true}" : "{\"cancelled\":false}");
        break;
    }
    case FMD_RPC_SHUTDOWN:
        if (st == FMD_OK)
            st = fmd_buf_puts(&b, "{\"ok\":true}");
        break;
    default: break;
    }
    if (st == FMD_OK)
        st = fmd_buf_puts(&b, "}\n");
    serve_add_time(&s->stats.serialize_ns, fmd_clock_now() - t0);
    if (st == FMD_OK) {
        serve_done(s, req);
        serve_send(s, &b);
    } else {
        serve_send_error(s, req, FMD_RPC_INTERNAL_ERROR, FMD_RPC_NOMEM_MESSAGE, NULL, 0);
    }
    fmd_arena_reset(a);
}

/*** The small lane ***/

static void *lane_main(void *arg)
{
    serve *s = arg;
    pthread_setname_np(pthread_self(), "fastmd-lane");
    char name[32];
    int k = atomic_fetch_add(&s->lanes_started, 1);
    snprintf(name, sizeof name, "lane %d", k);
    serve_trace_thread(s->trace, SERVE_TID_LANE + k, name);
    serve_lane lane = {0};
    bool ok = fmd_arena_create(&lane.out, 0) == FMD_OK &&
              fmd_arena_create(&lane.scratch, 0) == FMD_OK &&
              fmd_arena_create(&lane.fmt, 0) == FMD_OK;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (s->small_head == NULL && !s->draining)
            pthread_cond_wait(&s->cv_small, &s->mu);
        serve_job *job = s->small_head;
        if (job == NULL) { /* draining and nothing left */
            pthread_mutex_unlock(&s->mu);
            break;
        }
        s->small_head = job->next;
        if (s->small_head == NULL)
            s->small_tail = NULL;
        s->small_queued--;
        s->small_running++;
        pthread_mutex_unlock(&s->mu);
        serve_mark_progress(s);
        size_t mem = job->req->mem_bytes;
        if (ok) {
            serve_answer_small(s, &lane, job->req);
        } else {
            serve_send_error(s, job->req, FMD_RPC_INTERNAL_ERROR, FMD_RPC_NOMEM_MESSAGE, NULL, 0);
            fmd_rpc_request_free(job->req);
        }
        free(job);
        atomic_fetch_sub(&s->stats.mem_requests, mem);
        serve_mark_progress(s);
        serve_alerts_check(s);
        pthread_mutex_lock(&s->mu);
        s->small_running--;
        pthread_mutex_unlock(&s->mu);
    }
    fmd_arena_destroy(lane.out);
    fmd_arena_destroy(lane.scratch);
    fmd_arena_destroy(lane.fmt);
    return NULL;
}

static void submit_small(serve *s, fmd_rpc_request *req)
{
    serve_job *job = malloc(sizeof *job);
    if (job == NULL) {
        serve_send_error(s, req, FMD_RPC_INTERNAL_ERROR, FMD_RPC_NOMEM_MESSAGE, NULL, 0);
        fmd_rpc_request_free(req);
        return;
    }
    job->next = NULL;
    job->req = req;
    pthread_mutex_lock(&s->mu);
    size_t queued = s->small_queued;
    if (queued >= s->max_queued) {
        pthread_mutex_unlock(&s->mu);
        char data[96];
        int n =
            snprintf(data, sizeof data, "{\"queued\":%zu,\"limit\":%zu}", queued, s->max_queued);
        serve_send_error(s, req, FMD_RPC_OVERLOADED,
                         "Overloaded: too many requests waiting; try again later", data, (size_t)n);
        fmd_rpc_request_free(req);
        free(job);
        return;
    }
    if (s->small_queued == 0 && s->small_running == 0 && s->running == NULL &&
        s->batches_queued == 0)
        serve_mark_progress(s); /* idle until now: the stall clock starts here */
    atomic_fetch_add(&s->stats.mem_requests, req->mem_bytes);
    if (s->small_tail != NULL)
        s->small_tail->next = job;
    else
        s->small_head = job;
    s->small_tail = job;
    s->small_queued++;
    pthread_cond_signal(&s->cv_small);
    pthread_mutex_unlock(&s->mu);
}

/*** The metrics file ***/

/* Write the Prometheus text to cfg->metrics_path: atomically (a temporary file renamed over it)
 * when it is missing or a regular file, in place when it is a device, FIFO or link target, so that
 * a special file is never replaced (fmd_io_output_write). */
static void write_metrics(serve *s)
{
    fmd_arena *a = NULL;
    if (fmd_arena_create(&a, 0) != FMD_OK)
        return;
    fmd_buf b;
    fmd_buf_reset(&b, a);
    int err = 0;
    fmd_status st = serve_format_prometheus(s, &b);
    if (st == FMD_OK)
        st = fmd_io_output_write(AT_FDCWD, s->cfg->metrics_path, b.ptr, b.len, &err);
    if (st != FMD_OK && s->cfg->warn != NULL)
        s->cfg->warn("writing --metrics-file", st, err, s->cfg->userdata);
    fmd_arena_destroy(a);
}

/* The metrics writer: every metrics_s seconds, and once more when the server drains. */
static void *metrics_main(void *arg)
{
    serve *s = arg;
    pthread_setname_np(pthread_self(), "fastmd-metrics");
    double every = s->cfg->metrics_s > 0 ? s->cfg->metrics_s : 10.0;
    for (;;) {
        write_metrics(s);
        pthread_mutex_lock(&s->mu);
        struct timespec ts = fmd_clock_deadline(every);
        while (!s->draining && pthread_cond_timedwait(&s->cv_metrics, &s->mu, &ts) == 0) {
        }
        bool draining = s->draining;
        pthread_mutex_unlock(&s->mu);
        if (draining)
            return NULL; /* the last round is written after the drain, by fmd_serve_run() */
    }
}

/*** The reader ***/

/* A failure to read the input: the caller's warning callback, if any. */
static void warn(const serve *s, fmd_status st, int err)
{
    if (s->cfg->warn != NULL)
        s->cfg->warn("reading the input", st, err, s->cfg->userdata);
}

static bool blank(fmd_slice line)
{
    for (size_t i = 0; i < line.len; i++)
        if (line.ptr[i] != ' ' && line.ptr[i] != '\t' && line.ptr[i] != '\r')
            return false;
    return true;
}

/* Read and dispatch lines until shutdown or the end of input. Returns the shutdown request to
 * answer once the work is done, or NULL. */
/* Whether @p req, holding @p bytes, is refused for --max-memory; answers it then. */
static bool refuse_for_memory(serve *s, fmd_rpc_request *req)
{
    if (!serve_mem_over(s, req->mem_bytes))
        return false;
    atomic_fetch_add(&s->stats.mem_refused, 1);
    char data[160];
    int n = snprintf(data, sizeof data,
                     "{\"used\":%zu,\"request\":%zu,\"limit\":%zu,"
                     "\"retryAfterMs\":%d}",
                     serve_mem_used(s), req->mem_bytes, s->max_memory, SERVE_RETRY_AFTER_MS);
    serve_send_error(s, req, FMD_RPC_OVERLOADED,
                     "Overloaded: over --max-memory; try again later, or send smaller requests",
                     data, (size_t)n);
    return true;
}

static bool stopping(const serve *s)
{
    return s->cfg->stop != NULL && *s->cfg->stop != 0;
}

static fmd_rpc_request *read_loop(serve *s, fmd_rpc_reader *rd)
{
    fmd_arena *a = NULL;
    if (fmd_arena_create(&a, 0) != FMD_OK)
        return NULL;
    fmd_rpc_request *shutdown_req = NULL;
    for (;;) {
        if (stopping(s))
            break; /* SIGTERM or SIGINT: drain as at the end of input */
        fmd_slice line;
        int err = 0;
        fmd_status st = fmd_rpc_reader_next(rd, &line, &err);
        double t_read = fmd_clock_now();
        atomic_store_explicit(&s->stats.bytes_read, fmd_rpc_reader_bytes(rd), memory_order_relaxed);
        if (st == FMD_E_NOINPUT)
            break;
        if (st == FMD_E_INPUT_LIMIT) {
            atomic_fetch_add_explicit(&s->stats.requests[FMD_RPC_INVALID], 1, memory_order_relaxed);
            serve_send_error(s, NULL, FMD_RPC_INVALID_REQUEST,
                             "Invalid Request: line longer than --max-line-bytes", NULL, 0);
            continue;
        }
        if (st != FMD_OK) {
            warn(s, st, err);
            break;
        }
        if (blank(line))
            continue;
        fmd_rpc_request *req = NULL;
        st = fmd_rpc_parse(line.ptr, line.len, &s->defaults, fmd_rpc_reader_max(rd), &req);
        if (st != FMD_OK) {
            serve_add_time(&s->stats.parse_ns, fmd_clock_now() - t_read);
            atomic_fetch_add_explicit(&s->stats.requests[FMD_RPC_INVALID], 1, memory_order_relaxed);
            serve_send_error(s, NULL, FMD_RPC_INTERNAL_ERROR,
                             FMD_RPC_NOMEM_MESSAGE " parsing the request", NULL, 0);
            continue;
        }
        /* Its raw bytes (transformBatch with params.bytes) follow the line: read them now. */
        st = fmd_rpc_read_attachment(req, rd, &err);
        serve_add_time(&s->stats.parse_ns, fmd_clock_now() - t_read);
        if (st == FMD_E_IO) {
            warn(s, st, err);
            fmd_rpc_request_free(req);
            break;
        }
        req->t_read = t_read;
        req->mem_bytes = line.len + req->base_len;
        serve_trace_ids(s, req);
        atomic_fetch_add_explicit(&s->stats.requests[req->method], 1, memory_order_relaxed);
        if (req->error != 0) {
            const char *data = req->error_data;
            serve_send_error(s, req, req->error, req->error_message, data, data ? strlen(data) : 0);
            fmd_rpc_request_free(req);
            continue;
        }
        switch (req->method) {
        case FMD_RPC_CANCEL_REQUEST:
            if (req->id == NULL) { /* as LSP sends it: a notification */
                serve_batch_cancel(s, req->cancel_id, true);
                fmd_rpc_request_free(req);
                continue;
            }
            break; /* sent as a request: answered like cancel */
        case FMD_RPC_CANCEL:
            if (req->id == NULL) {
                serve_batch_cancel(s, req->batch_id, false);
                fmd_rpc_request_free(req);
                continue;
            }
            break;
        case FMD_RPC_SHUTDOWN: shutdown_req = req; goto out;
        default: break;
        }
        if (req->id == NULL) { /* other notifications are ignored */
            fmd_rpc_request_free(req);
            continue;
        }
        switch (req->method) {
        case FMD_RPC_PING:
        case FMD_RPC_HEALTH:
        case FMD_RPC_STATS:
        case FMD_RPC_CANCEL:
        case FMD_RPC_CANCEL_REQUEST:
            answer_inline(s, req, a);
            fmd_rpc_request_free(req);
            break;
        case FMD_RPC_TRANSFORM:
        case FMD_RPC_NORMALIZE:
        case FMD_RPC_COMPUTE_DIGEST:
            if (refuse_for_memory(s, req))
                fmd_rpc_request_free(req);
            else
                submit_small(s, req);
            break;
        case FMD_RPC_TRANSFORM_BATCH:
            if (refuse_for_memory(s, req))
                fmd_rpc_request_free(req);
            else
                serve_batch_submit(s, req);
            serve_alerts_check(s); /* the queue may have grown */
            break;
        default: fmd_rpc_request_free(req); break;
        }
    }
out:
    fmd_arena_destroy(a);
    return shutdown_req;
}

/*** Start and stop ***/

/* The cache's bound: --cache-bytes, and at most half of --max-memory (the cache counts in it, and
 * must leave room for the work itself). */
static size_t cache_bound(const fmd_serve_cfg *cfg)
{
    if (cfg->max_memory != 0 && cfg->cache_bytes > cfg->max_memory / 2)
        return cfg->max_memory / 2;
    return cfg->cache_bytes;
}

/* The root's absolute names: as given (made absolute) and resolved. Best effort: a name that
 * cannot be had only means absolute paths under it are refused. */
static void root_names(serve *s, const char *root_path)
{
    size_t k = 0;
    char *real = realpath(root_path, NULL);
    if (real != NULL)
        s->root_abs_mem[k++] = real;
    char *given = NULL;
    if (root_path[0] == '/') {
        given = strdup(root_path);
    } else {
        char *cwd = getcwd(NULL, 0);
        if (cwd != NULL && (given = malloc(strlen(cwd) + strlen(root_path) + 2)) != NULL)
            sprintf(given, "%s/%s", cwd, root_path);
        free(cwd);
    }
    if (given != NULL && (real == NULL || strcmp(given, real) != 0))
        s->root_abs_mem[k++] = given;
    else
        free(given);
    for (size_t i = 0; i < k; i++)
        s->root_abs[i] = s->root_abs_mem[i];
    s->root_abs[k] = NULL;
}

/* Undo what fmd_serve_run() set up; each part may be missing (a failed start). */
static void serve_close(serve *s, pthread_t *lane_tids, fmd_rpc_reader *rd)
{
    free(lane_tids);
    fmd_rpc_reader_destroy(rd);
    fmd_rpc_writer_destroy(s->w);
    fmd_io_root_close(s->root);
    for (int t = 0; s->sink_slots != NULL && t < s->nthreads; t++) {
        fmd_arena_destroy(s->sink_slots[t].fmt);
        fmd_arena_destroy(s->sink_slots[t].out);
        fmd_arena_destroy(s->sink_slots[t].scratch);
    }
    free(s->sink_slots);
    fmd_kernel_batch_destroy(s->kb);
    serve_rules_destroy(&s->rules);
    serve_cache_destroy(s->cache);
    serve_store_close(s->store);
    serve_trace_close(s->trace);
    free(s->root_abs_mem[0]);
    free(s->root_abs_mem[1]);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv_small);
    pthread_cond_destroy(&s->cv_batch);
    pthread_cond_destroy(&s->cv_metrics);
}

fmd_status fmd_serve_run(const fmd_serve_cfg *cfg, fmd_serve_failure *fail)
{
    fail->what = NULL;
    fail->err = 0;
    fail->root = false;
    fmd_rpc_init();

    serve *s = calloc(1, sizeof *s); /* large (the counters): not on the stack */
    if (s == NULL) {
        fail->what = FMD_NOMEM_TEXT " at start-up";
        return FMD_E_NOMEM;
    }
    s->cfg = cfg;
    s->t0 = fmd_clock_now();
    s->defaults = cfg->defaults;
    s->lanes = cfg->lanes;
    s->max_queued = cfg->max_queued;
    s->max_memory = cfg->max_memory;
    s->stall_s = cfg->stall_s > 0 ? cfg->stall_s : SERVE_STALL_S_DEFAULT;
    s->hang_file = cfg->hang_file;
    memcpy(s->alert_at, cfg->alerts, sizeof s->alert_at);
    serve_mark_progress(s);
    s->root_path = cfg->root_path;
    s->fault_every = cfg->fault_every;
    s->delay_us = cfg->delay_us;
    s->pl = *cfg->placement;
    s->nthreads = s->pl.plan->n_threads;
    s->auto_threads = cfg->auto_threads;
    serve_rules_init(&s->rules);
    s->rules.defaults = cfg->defaults.rules;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv_small, NULL);
    pthread_cond_init(&s->cv_batch, NULL);
    pthread_cond_init(&s->cv_metrics, NULL);
    pthread_t *lane_tids = NULL;
    fmd_rpc_reader *rd = NULL;
    fmd_status st = fmd_io_root_open(cfg->root_path, &s->root, &fail->err);
    if (st != FMD_OK) {
        fail->root = true;
        goto fail;
    }
    root_names(s, cfg->root_path);
    st = FMD_E_NOMEM;
    fail->what = FMD_NOMEM_TEXT " at start-up";
    s->sink_slots = aligned_alloc(64, sizeof(serve_sink_slot) * (size_t)s->nthreads);
    if (cfg->rules_text != NULL)
        serve_cache_digest(cfg->rules_text, cfg->rules_len, s->rules_digest);
    if (s->sink_slots == NULL || fmd_kernel_batch_create(&s->kb, s->nthreads) != FMD_OK ||
        serve_cache_create(&s->cache, cache_bound(cfg)) != FMD_OK ||
        serve_trace_open(&s->trace, cfg->trace_fd) != FMD_OK ||
        fmd_rpc_writer_create(&s->w, cfg->out_fd) != FMD_OK ||
        fmd_rpc_reader_create(&rd, cfg->in_fd, cfg->max_line) != FMD_OK)
        goto fail;
    memset(s->sink_slots, 0, sizeof(serve_sink_slot) * (size_t)s->nthreads);
    if (cfg->cache_dir != NULL && s->cache != NULL) {
        st = serve_store_open(&s->store, cfg->cache_dir,
                              cfg->cache_dir_bytes ? cfg->cache_dir_bytes : SERVE_STORE_DEFAULT,
                              &fail->err);
        if (st != FMD_OK) {
            fail->cache_dir = true;
            fail->what = st == FMD_E_NOMEM ? FMD_NOMEM_TEXT : "cannot be opened";
            goto fail;
        }
        serve_cache_set_store(s->cache, s->store);
    }
    if (cfg->warm_path != NULL && s->cache != NULL) { /* before ready: the first request hits */
        st = serve_warm(s, cfg->warm_path, &s->warm);
        if (st != FMD_OK) {
            fail->warm = true;
            fail->what = s->warm.what;
            fail->err = s->warm.err;
            goto fail;
        }
    }
    st = FMD_E_NOMEM;
    fail->what = FMD_NOMEM_TEXT " at start-up";

    lane_tids = calloc((size_t)cfg->lanes, sizeof *lane_tids);
    pthread_t batch_tid;
    if (lane_tids == NULL)
        goto fail;
    fmd_rpc_reader_set_stop(rd, cfg->stop);
    /* SIGTERM and SIGINT go to this (the reading) thread only: the threads started here (and
     * theirs: the OpenMP team, the stream writers) inherit a mask that blocks them, so the
     * signal interrupts the reader's read() and the loop sees cfg->stop. */
    sigset_t stop_sigs, old_mask;
    sigemptyset(&stop_sigs);
    sigaddset(&stop_sigs, SIGTERM);
    sigaddset(&stop_sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_sigs, &old_mask);
    /* A thread that cannot start at start-up: the process is about to exit, so the threads
     * already started are not joined. */
    st = FMD_E_NOMEM;
    for (int i = 0; i < cfg->lanes; i++) {
        if (pthread_create(&lane_tids[i], NULL, lane_main, s) != 0) {
            fail->what = "cannot start a lane thread";
            return st;
        }
    }
    if (pthread_create(&batch_tid, NULL, serve_batch_main, s) != 0) {
        fail->what = "cannot start the batch thread";
        return st;
    }
    pthread_t metrics_tid;
    if (cfg->metrics_path != NULL && pthread_create(&metrics_tid, NULL, metrics_main, s) != 0) {
        fail->what = "cannot start the metrics thread";
        return st;
    }
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    serve_trace_thread(s->trace, SERVE_TID_READER, "reader");
    fail->what = NULL;
    if (cfg->ready != NULL)
        cfg->ready(s->nthreads, cfg->lanes, cfg->userdata);

    fmd_rpc_request *shutdown_req = read_loop(s, rd);

    /* Drain: every request already read is answered, then the shutdown itself. */
    pthread_mutex_lock(&s->mu);
    s->draining = true;
    pthread_cond_broadcast(&s->cv_small);
    pthread_cond_broadcast(&s->cv_batch);
    pthread_cond_broadcast(&s->cv_metrics);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < cfg->lanes; i++)
        pthread_join(lane_tids[i], NULL);
    pthread_join(batch_tid, NULL);
    if (cfg->metrics_path != NULL) {
        pthread_join(metrics_tid, NULL);
        write_metrics(s); /* the final counters */
    }
    if (shutdown_req != NULL) {
        if (shutdown_req->id != NULL) {
            fmd_arena *a = NULL;
            if (fmd_arena_create(&a, 0) == FMD_OK) {
                answer_inline(s, shutdown_req, a);
                fmd_arena_destroy(a);
            }
        }
        fmd_rpc_request_free(shutdown_req);
    }
    serve_close(s, lane_tids, rd);
    free(s);
    return FMD_OK;

fail:
    serve_close(s, lane_tids, rd);
    free(s);
    return st;
}
