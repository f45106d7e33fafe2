/* SPDX-License-Identifier: MIT */
/* fastmd serve's counters, and the health and stats answers built from them: JSON by default,
 * the Prometheus text exposition format on request. Counters are relaxed atomics: each is
 * exact, a snapshot of several is not (they are read while work goes on). */
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "serve_internal.h"

const double serve_buckets_ms[SERVE_N_BUCKETS] = {0.1, 0.25, 0.5, 1,   2.5,  5,    10,   25,
                                                  50,  100,  250, 500, 1000, 2500, 5000, 10000};

const int serve_errcodes[SERVE_N_ERRCODES] = {
    FMD_RPC_PARSE_ERROR,    FMD_RPC_INVALID_REQUEST, FMD_RPC_METHOD_NOT_FOUND,
    FMD_RPC_INVALID_PARAMS, FMD_RPC_INTERNAL_ERROR,  FMD_RPC_OVERLOADED,
    FMD_RPC_PAGE_FAILED,    FMD_RPC_CANCELLED,       0 /* any other */};

#define PUT_LIT FMD_BUF_PUT_LIT

void serve_add_time(atomic_uint_fast64_t *ns, double seconds)
{
    if (seconds > 0)
        atomic_fetch_add_explicit(ns, (uint_fast64_t)(seconds * 1e9), memory_order_relaxed);
}

static size_t ld(atomic_size_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

static double secs(atomic_uint_fast64_t *ns)
{
    return (double)atomic_load_explicit(ns, memory_order_relaxed) * 1e-9;
}

/* printf into the buffer (short pieces only). */
/*** Memory ***/

size_t serve_mem_used(serve *s)
{
    serve_stats *c = &s->stats;
    serve_cache_stats cs;
    serve_cache_counters(s->cache, &cs);
    return ld(&c->mem_requests) + ld(&c->mem_pending) + ld(&c->mem_held) + cs.bytes;
}

bool serve_mem_over(serve *s, size_t extra)
{
    return s->max_memory != 0 && serve_mem_used(s) + extra > s->max_memory;
}

void serve_mark_progress(serve *s)
{
    atomic_store_explicit(&s->stats.last_progress_ns, (uint_fast64_t)(fmd_clock_now() * 1e9),
                          memory_order_relaxed);
}

/* The process's resident set and its peak, in bytes (Linux /proc; 0 where unknown). Read on
 * the reader thread, for health and stats only. */
static void rss(size_t *now, size_t *peak)
{
    *now = *peak = 0;
    FILE *f = fopen("/proc/self/status", "re");
    if (f == NULL)
        return;
    char line[256];
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned long long kb;
        if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
            *now = (size_t)kb * 1024;
        else if (sscanf(line, "VmHWM: %llu kB", &kb) == 1)
            *peak = (size_t)kb * 1024;
    }
    fclose(f);
}

/* The memory object of health and stats. */
static fmd_status put_memory(serve *s, fmd_buf *b)
{
    size_t now, peak;
    rss(&now, &peak);
    serve_stats *c = &s->stats;
    serve_cache_stats cs;
    serve_cache_counters(s->cache, &cs);
    return fmd_buf_printf(b,
                          "\"memory\":{\"rss\":%zu,\"peakRss\":%zu,\"used\":%zu,\"limit\":%zu,"
                          "\"requests\":%zu,\"pending\":%zu,\"held\":%zu,\"cache\":%zu,"
                          "\"refused\":%zu}",
                          now, peak, serve_mem_used(s), s->max_memory, ld(&c->mem_requests),
                          ld(&c->mem_pending), ld(&c->mem_held), cs.bytes, ld(&c->mem_refused));
}

/*** Alerts ***/

static const char *const alert_names[FMD_SERVE_ALERT_COUNT] = {
    [FMD_SERVE_ALERT_QUEUE] = "queue",
    [FMD_SERVE_ALERT_P99_MS] = "p99Ms",
    [FMD_SERVE_ALERT_FAILURE_RATE] = "failureRate",
    [FMD_SERVE_ALERT_MEMORY] = "memory",
    [FMD_SERVE_ALERT_STALL_S] = "stallSeconds",
};

const char *fmd_serve_alert_name(fmd_serve_alert a)
{
    return (unsigned)a < FMD_SERVE_ALERT_COUNT ? alert_names[a] : NULL;
}

/* The p99 latency of transform and transformBatch since start, in ms: the upper bound of the
 * histogram bucket that holds it (the last bound when it is beyond them); 0 with no request. */
static double p99_ms(serve *s)
{
    size_t counts[SERVE_N_BUCKETS + 1] = {0}, total = 0;
    const int ms[2] = {FMD_RPC_TRANSFORM, FMD_RPC_TRANSFORM_BATCH};
    for (int m = 0; m < 2; m++)
        for (int k = 0; k <= SERVE_N_BUCKETS; k++) {
            size_t v = ld(&s->stats.lat_counts[ms[m]][k]);
            counts[k] += v;
            total += v;
        }
    if (total == 0)
        return 0;
    size_t want = total - total / 100, cum = 0; /* the 99th percentile's rank, rounded up */
    for (int k = 0; k <= SERVE_N_BUCKETS; k++) {
        cum += counts[k];
        if (cum >= want)
            return serve_buckets_ms[k < SERVE_N_BUCKETS ? k : SERVE_N_BUCKETS - 1];
    }
    return serve_buckets_ms[SERVE_N_BUCKETS - 1];
}

/* Under s->mu: the measured value of each alert. */
static void alert_values(serve *s, double v[FMD_SERVE_ALERT_COUNT])
{
    size_t ok = ld(&s->stats.pages_ok), failed = ld(&s->stats.pages_failed);
    bool busy =
        s->running != NULL || s->batches_queued > 0 || s->small_queued > 0 || s->small_running > 0;
    v[FMD_SERVE_ALERT_QUEUE] = (double)(s->batches_queued + s->small_queued);
    v[FMD_SERVE_ALERT_P99_MS] = p99_ms(s);
    v[FMD_SERVE_ALERT_FAILURE_RATE] = ok + failed ? (double)failed / (double)(ok + failed) : 0;
    v[FMD_SERVE_ALERT_MEMORY] = (double)serve_mem_used(s);
    v[FMD_SERVE_ALERT_STALL_S] =
        busy ? fmd_clock_now() - (double)atomic_load(&s->stats.last_progress_ns) * 1e-9 : 0;
}

/* The alert's JSON object. */
static fmd_status put_alert(fmd_buf *b, const serve *s, int a, double value)
{
    fmd_status st = fmd_buf_printf(b, "{\"name\":\"%s\",\"value\":", alert_names[a]);
    if (st == FMD_OK)
        st = fmd_rpc_put_number(b, value);
    if (st == FMD_OK)
        st = PUT_LIT(b, ",\"threshold\":");
    if (st == FMD_OK)
        st = fmd_rpc_put_number(b, s->alert_at[a]);
    return st;
}

void serve_alerts_check(serve *s)
{
    bool any = false;
    for (int a = 0; a < FMD_SERVE_ALERT_COUNT; a++)
        any |= s->alert_at[a] > 0;
    if (!any)
        return;
    double v[FMD_SERVE_ALERT_COUNT];
    pthread_mutex_lock(&s->mu);
    alert_values(s, v);
    unsigned now = 0;
    for (int a = 0; a < FMD_SERVE_ALERT_COUNT; a++)
        if (s->alert_at[a] > 0 && v[a] >= s->alert_at[a])
            now |= 1u << a;
    unsigned changed = now ^ s->alerts_active;
    s->alerts_active = now;
    pthread_mutex_unlock(&s->mu);
    for (int a = 0; changed != 0 && a < FMD_SERVE_ALERT_COUNT; a++) {
        if (!(changed & (1u << a)))
            continue;
        fmd_arena *ar = NULL;
        if (fmd_arena_create(&ar, 512) != FMD_OK)
            return;
        fmd_buf b;
        fmd_buf_reset(&b, ar);
        fmd_status st = fmd_rpc_put_notification_head(&b, "alert");
        if (st == FMD_OK)
            st = put_alert(&b, s, a, v[a]);
        if (st == FMD_OK)
            st = (now & (1u << a)) ? PUT_LIT(&b, ",\"state\":\"raised\"}}\n")
                                   : PUT_LIT(&b, ",\"state\":\"cleared\"}}\n");
        if (st == FMD_OK)
            serve_send(s, &b);
        fmd_arena_destroy(ar);
    }
}

/* Under s->mu: "alerts":[...] of the alerts raised at the last check. */
static fmd_status put_active_alerts(fmd_buf *b, serve *s)
{
    double v[FMD_SERVE_ALERT_COUNT];
    alert_values(s, v);
    fmd_status st = PUT_LIT(b, "\"alerts\":[");
    bool first = true;
    for (int a = 0; a < FMD_SERVE_ALERT_COUNT && st == FMD_OK; a++) {
        if (!(s->alerts_active & (1u << a)))
            continue;
        if (!first)
            st = fmd_buf_putc(b, ',');
        first = false;
        if (st == FMD_OK)
            st = put_alert(b, s, a, v[a]);
        if (st == FMD_OK)
            st = fmd_buf_putc(b, '}');
    }
    if (st == FMD_OK)
        st = fmd_buf_putc(b, ']');
    return st;
}

/*** health ***/

/** Fraction of a bound (memory, queue) from which health says "degraded". */
#define HEALTH_NEAR 0.9

fmd_status serve_format_health(serve *s, fmd_buf *b)
{
    fmd_status st = FMD_OK;
    double now = fmd_clock_now();
    double since = now - (double)atomic_load(&s->stats.last_progress_ns) * 1e-9;
    size_t used = serve_mem_used(s);
    pthread_mutex_lock(&s->mu);
    /* The engine's own progress, not the reader's: a batch (or a lane) that has not finished a
     * page for stall_s while work waits is stalled, however quickly this answer comes. */
    bool busy =
        s->running != NULL || s->batches_queued > 0 || s->small_queued > 0 || s->small_running > 0;
    bool stalled = busy && since > s->stall_s;
    const char *reasons[5];
    char stall_text[128];
    int nr = 0;
    if (stalled) {
        snprintf(stall_text, sizeof stall_text,
                 "no page finished for %.0f s while work is running or queued", since);
        reasons[nr++] = stall_text;
    }
    if (s->max_memory != 0 && (double)used >= HEALTH_NEAR * (double)s->max_memory)
        reasons[nr++] = "memory near --max-memory";
    if ((double)s->batches_queued >= HEALTH_NEAR * (double)s->max_queued ||
        (double)s->small_queued >= HEALTH_NEAR * (double)s->max_queued)
        reasons[nr++] = "queue near --max-queued";
    if (s->alerts_active != 0)
        reasons[nr++] = "an alert threshold is crossed (see alerts)";
    const char *status = s->draining ? "draining" : stalled ? "stalled" : nr ? "degraded" : "ok";
    FMD_TRY(fmd_buf_printf(b, "{\"status\":\"%s\",\"reasons\":[", status));
    for (int i = 0; i < nr; i++) {
        if (i != 0)
            FMD_TRY(fmd_buf_putc(b, ','));
        FMD_TRY(fmd_rpc_put_string(b, reasons[i], strlen(reasons[i])));
    }
    FMD_TRY(PUT_LIT(b, "],\"uptime\":"));
    FMD_TRY(fmd_rpc_put_number(b, now - s->t0));
    FMD_TRY(PUT_LIT(b, ",\"sinceProgress\":"));
    FMD_TRY(fmd_rpc_put_number(b, since));
    FMD_TRY(PUT_LIT(b, ",\"stallSeconds\":"));
    FMD_TRY(fmd_rpc_put_number(b, s->stall_s));
    FMD_TRY(fmd_buf_printf(b,
                           ",\"workers\":%d,\"lanes\":%d,\"queued\":%zu,\"running\":%d,"
                           "\"smallQueued\":%zu,",
                           s->nthreads, s->lanes, s->batches_queued, s->running != NULL ? 1 : 0,
                           s->small_queued));
    FMD_TRY(put_memory(s, b));
    FMD_TRY(fmd_buf_putc(b, ','));
    FMD_TRY(put_active_alerts(b, s));
    FMD_TRY(PUT_LIT(b, ",\"batches\":["));
    bool first = true;
    for (int pass = 0; pass < 2; pass++) {
        for (serve_batch *x = pass == 0 ? s->running : s->bq_head; x != NULL;
             x = pass == 0 ? NULL : x->next) {
            FMD_TRY(first ? PUT_LIT(b, "{\"batchId\":") : PUT_LIT(b, ",{\"batchId\":"));
            first = false;
            FMD_TRY(fmd_rpc_put_string(b, x->id, strlen(x->id)));
            FMD_TRY(fmd_buf_printf(b, ",\"state\":\"%s\",\"completed\":%zu,\"total\":%zu}",
                                   pass == 0 ? "running" : "queued", ld(&x->completed), x->total));
        }
    }
    FMD_TRY(PUT_LIT(b, "]}"));
fail:
    pthread_mutex_unlock(&s->mu);
    return st;
}

/*** stats: JSON ***/

static fmd_status format_json(serve *s, fmd_buf *b)
{
    fmd_status st = FMD_OK;
    serve_stats *c = &s->stats;
    size_t wbytes;
    double wsecs;
    fmd_rpc_writer_counters(s->w, &wbytes, &wsecs);
    FMD_TRY(PUT_LIT(b, "{\"uptime\":"));
    FMD_TRY(fmd_rpc_put_number(b, fmd_clock_now() - s->t0));
    FMD_TRY(fmd_buf_printf(b, ",\"workers\":%d,", s->nthreads));
    FMD_TRY(put_memory(s, b));
    FMD_TRY(fmd_buf_putc(b, ','));
    pthread_mutex_lock(&s->mu);
    st = put_active_alerts(b, s);
    pthread_mutex_unlock(&s->mu);
    FMD_TRY(st);
    serve_cache_stats cs;
    serve_cache_counters(s->cache, &cs);
    FMD_TRY(
        fmd_buf_printf(b,
                       ",\"cache\":{\"hits\":%zu,\"misses\":%zu,\"evictions\":%zu,\"bytes\":%zu,"
                       "\"entries\":%zu,\"limit\":%zu,\"hitRatio\":",
                       cs.hits, cs.misses, cs.evictions, cs.bytes, cs.entries, cs.limit));
    FMD_TRY(fmd_rpc_put_number(
        b, cs.hits + cs.misses ? (double)cs.hits / (double)(cs.hits + cs.misses) : 0));
    FMD_TRY(fmd_buf_printf(b, ",\"warmed\":%zu,\"warmStale\":%zu", s->warm.loaded, s->warm.stale));
    if (s->store != NULL) {
        serve_store_stats ds;
        serve_store_counters(s->store, &ds);
        FMD_TRY(fmd_buf_printf(b,
                               ",\"dir\":{\"hits\":%zu,\"misses\":%zu,\"writes\":%zu,"
                               "\"evictions\":%zu,\"failures\":%zu,\"bytes\":%zu,"
                               "\"entries\":%zu,\"limit\":%zu}",
                               ds.hits, ds.misses, ds.writes, ds.evictions, ds.failures, ds.bytes,
                               ds.entries, ds.limit));
    }
    FMD_TRY(fmd_buf_putc(b, '}'));
    FMD_TRY(PUT_LIT(b, ",\"requests\":{"));
    bool first = true;
    for (int m = 0; m < FMD_RPC_METHOD_COUNT; m++) {
        size_t v = ld(&c->requests[m]);
        if (v == 0)
            continue;
        FMD_TRY(fmd_buf_printf(b, "%s\"%s\":%zu", first ? "" : ",",
                               fmd_rpc_method_name((fmd_rpc_method)m), v));
        first = false;
    }
    FMD_TRY(PUT_LIT(b, "},\"errors\":{"));
    first = true;
    for (int k = 0; k < SERVE_N_ERRCODES; k++) {
        size_t v = ld(&c->errors[k]);
        if (v == 0)
            continue;
        if (serve_errcodes[k] != 0)
            FMD_TRY(fmd_buf_printf(b, "%s\"%d\":%zu", first ? "" : ",", serve_errcodes[k], v));
        else
            FMD_TRY(fmd_buf_printf(b, "%s\"other\":%zu", first ? "" : ",", v));
        first = false;
    }
    size_t ok = ld(&c->pages_ok), failed = ld(&c->pages_failed);
    FMD_TRY(fmd_buf_printf(b,
                           "},\"pages\":{\"total\":%zu,\"ok\":%zu,\"failed\":%zu,\"retried\":%zu,"
                           "\"cancelled\":%zu},\"bytes\":{\"in\":%zu,\"out\":%zu,\"read\":%zu,"
                           "\"written\":%zu},\"batches\":{\"total\":%zu,\"cancelled\":%zu}",
                           ok + failed, ok, failed, ld(&c->pages_retried), ld(&c->pages_cancelled),
                           ld(&c->bytes_in), ld(&c->bytes_out), ld(&c->bytes_read), wbytes,
                           ld(&c->batches), ld(&c->batches_cancelled)));
    FMD_TRY(fmd_buf_printf(b,
                           ",\"time\":{\"parseSeconds\":%.6f,\"serializeSeconds\":%.6f,"
                           "\"writeSeconds\":%.6f,\"loadSeconds\":%.6f,\"renderSeconds\":%.6f}",
                           secs(&c->parse_ns), secs(&c->serialize_ns), wsecs, secs(&c->load_ns),
                           secs(&c->render_ns)));
    FMD_TRY(PUT_LIT(b, ",\"latency\":{\"unit\":\"ms\",\"buckets\":["));
    for (int k = 0; k < SERVE_N_BUCKETS; k++) {
        if (k != 0)
            FMD_TRY(fmd_buf_putc(b, ','));
        FMD_TRY(fmd_rpc_put_number(b, serve_buckets_ms[k]));
    }
    FMD_TRY(PUT_LIT(b, "],\"methods\":{"));
    first = true;
    for (int m = 0; m < FMD_RPC_METHOD_COUNT; m++) {
        size_t count = 0;
        for (int k = 0; k <= SERVE_N_BUCKETS; k++)
            count += ld(&c->lat_counts[m][k]);
        if (count == 0)
            continue;
        FMD_TRY(fmd_buf_printf(b, "%s\"%s\":{\"count\":%zu,\"sum\":", first ? "" : ",",
                               fmd_rpc_method_name((fmd_rpc_method)m), count));
        first = false;
        FMD_TRY(fmd_rpc_put_number(b, secs(&c->lat_sum_ns[m]) * 1e3));
        FMD_TRY(PUT_LIT(b, ",\"counts\":["));
        for (int k = 0; k <= SERVE_N_BUCKETS; k++)
            FMD_TRY(fmd_buf_printf(b, "%s%zu", k ? "," : "", ld(&c->lat_counts[m][k])));
        FMD_TRY(PUT_LIT(b, "]}"));
    }
    FMD_TRY(PUT_LIT(b, "}}}"));
fail:
    return st;
}

/*** stats: Prometheus text ***/

fmd_status serve_format_prometheus(serve *s, fmd_buf *b)
{
    fmd_status st = FMD_OK;
    serve_stats *c = &s->stats;
    size_t wbytes;
    double wsecs;
    fmd_rpc_writer_counters(s->w, &wbytes, &wsecs);
    FMD_TRY(PUT_LIT(b, "# HELP fastmd_requests_total Requests and notifications received.\n"
                       "# TYPE fastmd_requests_total counter\n"));
    for (int m = 0; m < FMD_RPC_METHOD_COUNT; m++)
        FMD_TRY(fmd_buf_printf(b, "fastmd_requests_total{method=\"%s\"} %zu\n",
                               fmd_rpc_method_name((fmd_rpc_method)m), ld(&c->requests[m])));
    FMD_TRY(PUT_LIT(b, "# HELP fastmd_errors_total Error responses sent, by JSON-RPC code.\n"
                       "# TYPE fastmd_errors_total counter\n"));
    for (int k = 0; k < SERVE_N_ERRCODES; k++) {
        if (serve_errcodes[k] != 0)
            FMD_TRY(fmd_buf_printf(b, "fastmd_errors_total{code=\"%d\"} %zu\n", serve_errcodes[k],
                                   ld(&c->errors[k])));
        else
            FMD_TRY(
                fmd_buf_printf(b, "fastmd_errors_total{code=\"other\"} %zu\n", ld(&c->errors[k])));
    }
    FMD_TRY(fmd_buf_printf(b,
                           "# HELP fastmd_pages_total Pages transformed, by outcome.\n"
                           "# TYPE fastmd_pages_total counter\n"
                           "fastmd_pages_total{status=\"ok\"} %zu\n"
                           "fastmd_pages_total{status=\"failed\"} %zu\n"
                           "fastmd_pages_total{status=\"cancelled\"} %zu\n",
                           ld(&c->pages_ok), ld(&c->pages_failed), ld(&c->pages_cancelled)));
    FMD_TRY(fmd_buf_printf(
        b,
        "# HELP fastmd_pages_retried_total Retries of pages that failed for a transient "
        "cause.\n# TYPE fastmd_pages_retried_total counter\n"
        "fastmd_pages_retried_total %zu\n",
        ld(&c->pages_retried)));
    FMD_TRY(fmd_buf_printf(b,
                           "# HELP fastmd_page_bytes_total Markdown bytes in, HTML bytes out.\n"
                           "# TYPE fastmd_page_bytes_total counter\n"
                           "fastmd_page_bytes_total{direction=\"in\"} %zu\n"
                           "fastmd_page_bytes_total{direction=\"out\"} %zu\n",
                           ld(&c->bytes_in), ld(&c->bytes_out)));
    FMD_TRY(fmd_buf_printf(b,
                           "# HELP fastmd_protocol_bytes_total Protocol bytes read and written.\n"
                           "# TYPE fastmd_protocol_bytes_total counter\n"
                           "fastmd_protocol_bytes_total{direction=\"read\"} %zu\n"
                           "fastmd_protocol_bytes_total{direction=\"written\"} %zu\n",
                           ld(&c->bytes_read), wbytes));
    FMD_TRY(fmd_buf_printf(b,
                           "# HELP fastmd_batches_total transformBatch requests run.\n"
                           "# TYPE fastmd_batches_total counter\nfastmd_batches_total %zu\n"
                           "# HELP fastmd_batches_cancelled_total Batches answered as cancelled.\n"
                           "# TYPE fastmd_batches_cancelled_total counter\n"
                           "fastmd_batches_cancelled_total %zu\n",
                           ld(&c->batches), ld(&c->batches_cancelled)));
    FMD_TRY(fmd_buf_printf(
        b,
        "# HELP fastmd_time_seconds_total Seconds spent, summed over threads, by phase.\n"
        "# TYPE fastmd_time_seconds_total counter\n"
        "fastmd_time_seconds_total{phase=\"parse\"} %.6f\n"
        "fastmd_time_seconds_total{phase=\"serialize\"} %.6f\n"
        "fastmd_time_seconds_total{phase=\"write\"} %.6f\n"
        "fastmd_time_seconds_total{phase=\"load\"} %.6f\n"
        "fastmd_time_seconds_total{phase=\"render\"} %.6f\n",
        secs(&c->parse_ns), secs(&c->serialize_ns), wsecs, secs(&c->load_ns), secs(&c->render_ns)));
    FMD_TRY(PUT_LIT(b, "# HELP fastmd_request_duration_seconds Time from a request line read "
                       "to its answer ready to write.\n"
                       "# TYPE fastmd_request_duration_seconds histogram\n"));
    for (int m = 0; m < FMD_RPC_METHOD_COUNT; m++) {
        const char *name = fmd_rpc_method_name((fmd_rpc_method)m);
        size_t cum = 0;
        for (int k = 0; k < SERVE_N_BUCKETS; k++) {
            cum += ld(&c->lat_counts[m][k]);
            FMD_TRY(fmd_buf_printf(
                b, "fastmd_request_duration_seconds_bucket{method=\"%s\",le=\"%g\"} %zu\n", name,
                serve_buckets_ms[k] / 1e3, cum));
        }
        cum += ld(&c->lat_counts[m][SERVE_N_BUCKETS]);
        FMD_TRY(
            fmd_buf_printf(b,
                           "fastmd_request_duration_seconds_bucket{method=\"%s\",le=\"+Inf\"} %zu\n"
                           "fastmd_request_duration_seconds_sum{method=\"%s\"} %.6f\n"
                           "fastmd_request_duration_seconds_count{method=\"%s\"} %zu\n",
                           name, cum, name, secs(&c->lat_sum_ns[m]), name, cum));
    }
    FMD_TRY(fmd_buf_printf(b,
                           "# HELP fastmd_uptime_seconds Seconds since the server started.\n"
                           "# TYPE fastmd_uptime_seconds gauge\nfastmd_uptime_seconds %.3f\n"
                           "# HELP fastmd_workers Threads of the batch engine.\n"
                           "# TYPE fastmd_workers gauge\nfastmd_workers %d\n",
                           fmd_clock_now() - s->t0, s->nthreads));
    size_t now, peak;
    rss(&now, &peak);
    FMD_TRY(fmd_buf_printf(
        b,
        "# HELP fastmd_memory_bytes Bytes held, by kind (limit: --max-memory, 0 none).\n"
        "# TYPE fastmd_memory_bytes gauge\n"
        "fastmd_memory_bytes{kind=\"rss\"} %zu\n"
        "fastmd_memory_bytes{kind=\"peak_rss\"} %zu\n"
        "fastmd_memory_bytes{kind=\"used\"} %zu\n"
        "fastmd_memory_bytes{kind=\"limit\"} %zu\n",
        now, peak, serve_mem_used(s), s->max_memory));
    serve_cache_stats cs;
    serve_cache_counters(s->cache, &cs);
    FMD_TRY(fmd_buf_printf(
        b,
        "# HELP fastmd_cache_lookups_total Result cache lookups, by outcome.\n"
        "# TYPE fastmd_cache_lookups_total counter\n"
        "fastmd_cache_lookups_total{result=\"hit\"} %zu\n"
        "fastmd_cache_lookups_total{result=\"miss\"} %zu\n"
        "# HELP fastmd_cache_evictions_total Results dropped from the cache for room.\n"
        "# TYPE fastmd_cache_evictions_total counter\nfastmd_cache_evictions_total %zu\n"
        "# HELP fastmd_cache_bytes Bytes the result cache holds (limit: --cache-bytes).\n"
        "# TYPE fastmd_cache_bytes gauge\nfastmd_cache_bytes %zu\n"
        "fastmd_cache_bytes{kind=\"limit\"} %zu\n"
        "# HELP fastmd_cache_entries Results the cache holds.\n"
        "# TYPE fastmd_cache_entries gauge\nfastmd_cache_entries %zu\n",
        cs.hits, cs.misses, cs.evictions, cs.bytes, cs.limit, cs.entries));
    if (s->store != NULL) {
        serve_store_stats ds;
        serve_store_counters(s->store, &ds);
        FMD_TRY(fmd_buf_printf(
            b,
            "# HELP fastmd_cache_dir_lookups_total --cache-dir lookups after a memory miss.\n"
            "# TYPE fastmd_cache_dir_lookups_total counter\n"
            "fastmd_cache_dir_lookups_total{result=\"hit\"} %zu\n"
            "fastmd_cache_dir_lookups_total{result=\"miss\"} %zu\n"
            "# HELP fastmd_cache_dir_bytes Bytes of the results in --cache-dir.\n"
            "# TYPE fastmd_cache_dir_bytes gauge\nfastmd_cache_dir_bytes %zu\n"
            "fastmd_cache_dir_bytes{kind=\"limit\"} %zu\n",
            ds.hits, ds.misses, ds.bytes, ds.limit));
    }
fail:
    return st;
}

fmd_status serve_format_stats(serve *s, fmd_buf *b, bool prometheus)
{
    if (!prometheus)
        return format_json(s, b);
    fmd_arena *a = NULL;
    fmd_status st = fmd_arena_create(&a, 0);
    if (st != FMD_OK)
        return st;
    fmd_buf text;
    fmd_buf_reset(&text, a);
    FMD_TRY(serve_format_prometheus(s, &text));
    FMD_TRY(PUT_LIT(b, "{\"contentType\":\"text/plain; version=0.0.4\",\"text\":"));
    FMD_TRY(fmd_rpc_put_string(b, text.ptr, text.len));
    FMD_TRY(fmd_buf_putc(b, '}'));
fail:
    fmd_arena_destroy(a);
    return st;
}
