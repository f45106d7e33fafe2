/* SPDX-License-Identifier: MIT */
/* fastmd serve's trace (--trace FILE): Chrome Trace Event Format, which Perfetto and
 * chrome://tracing open. The file is a JSON array written one event per line ("[" on the first
 * line, every event followed by ","; the format allows the array to stay open), so that it can be
 * read while it grows and a crash loses at most the last line. One track per thread: the reader,
 * the batch executor, each lane, each engine worker. Every event carries the request's trace id
 * (its W3C traceparent's, or one made here) and span id. Writes go through one lock, one write()
 * per event; with no trace file nothing here runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "serve_internal.h"

/** The thread's track in the trace (0: not set). */
static _Thread_local int trace_tid;

struct serve_trace {
    int fd;
    pthread_mutex_t mu;
    double t0;
    long pid;
    bool broken; /* a write failed: the trace stops, serving goes on */
    atomic_uint_fast64_t seq;
};

fmd_status serve_trace_open(serve_trace **out, int fd)
{
    *out = NULL;
    if (fd < 0)
        return FMD_OK;
    serve_trace *t = calloc(1, sizeof *t);
    if (t == NULL)
        return FMD_E_NOMEM;
    t->fd = fd;
    t->t0 = fmd_clock_now();
    t->pid = (long)getpid();
    pthread_mutex_init(&t->mu, NULL);
    atomic_init(&t->seq, 0);
    *out = t;
    char head[160];
    int n = snprintf(head, sizeof head,
                     "[\n{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%ld,\"tid\":0,"
                     "\"args\":{\"name\":\"fastmd serve\"}},\n",
                     t->pid);
    serve_trace_write(t, head, (size_t)n);
    return FMD_OK;
}

void serve_trace_close(serve_trace *t)
{
    if (t == NULL)
        return;
    pthread_mutex_destroy(&t->mu);
    free(t);
}

void serve_trace_write(serve_trace *t, const char *line, size_t len)
{
    struct iovec iov = {(void *)line, len};
    pthread_mutex_lock(&t->mu);
    if (!t->broken && fmd_io_writev_all(t->fd, &iov, 1) != 0)
        t->broken = true; /* a trace that cannot be written stops; serving goes on */
    pthread_mutex_unlock(&t->mu);
}

void serve_trace_thread(serve_trace *t, int tid, const char *name)
{
    trace_tid = tid;
    if (t == NULL)
        return;
    char line[200];
    int n = snprintf(line, sizeof line,
                     "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%ld,\"tid\":%d,"
                     "\"args\":{\"name\":\"%s\"}},\n",
                     t->pid, tid, name);
    serve_trace_write(t, line, (size_t)n);
}

int serve_trace_tid(void)
{
    return trace_tid;
}

/* splitmix64: ids that differ from run to run and from request to request. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

void serve_trace_ids(serve *s, fmd_rpc_request *req)
{
    uint64_t seed = (uint64_t)(fmd_clock_now() * 1e9) ^ ((uint64_t)getpid() << 32);
    uint64_t k = atomic_fetch_add(&s->trace_seq, 1);
    uint64_t a = mix(seed + 3 * k), b = mix(seed + 3 * k + 1), c = mix(seed + 3 * k + 2);
    if (c == 0)
        c = 1;
    snprintf(req->span_id, sizeof req->span_id, "%016llx", (unsigned long long)c);
    if (req->trace_id[0] == '\0') {
        if (a == 0 && b == 0)
            a = 1;
        snprintf(req->trace_id, sizeof req->trace_id, "%016llx%016llx", (unsigned long long)a,
                 (unsigned long long)b);
    }
}

void serve_trace_span(serve_trace *t, const char *name, int tid, double start, double end,
                      const fmd_rpc_request *req, const char *extra_args)
{
    if (t == NULL)
        return;
    char line[1024];
    bool with_id = req->id != NULL && strlen(req->id) <= 200; /* else left out, never cut */
    double ts = (start - t->t0) * 1e6, dur = (end - start) * 1e6;
    int n =
        snprintf(line, sizeof line,
                 "{\"name\":\"%s\",\"cat\":\"fastmd\",\"ph\":\"X\",\"ts\":%.3f,\"dur\":%.3f,"
                 "\"pid\":%ld,\"tid\":%d,\"args\":{\"traceId\":\"%s\",\"spanId\":\"%s\"%s%s%s"
                 "%s%.200s%s%s%s}},\n",
                 name, ts, dur < 0 ? 0 : dur, t->pid, tid, req->trace_id, req->span_id,
                 req->parent_span[0] ? ",\"parentSpanId\":\"" : "", req->parent_span,
                 req->parent_span[0] ? "\"" : "", with_id ? ",\"id\":" : "", with_id ? req->id : "",
                 extra_args ? "," : "", extra_args ? extra_args : "", "");
    if (n > 0 && (size_t)n < sizeof line)
        serve_trace_write(t, line, (size_t)n);
}

fmd_status serve_put_traceparent(fmd_buf *b, const fmd_rpc_request *req, bool before_more)
{
    if (req->parent_span[0] == '\0')
        return FMD_OK;
    char text[120];
    int n = snprintf(text, sizeof text, "%s\"_meta\":{\"traceparent\":\"00-%s-%s-%02x\"}%s",
                     before_more ? "" : ",", req->trace_id, req->span_id, req->trace_flags,
                     before_more ? "," : "");
    return fmd_buf_append(b, text, (size_t)n);
}

bool serve_trace_plain(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == '"' || *s == '\\')
            return false;
    return true;
}
