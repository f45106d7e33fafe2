/* SPDX-License-Identifier: MIT */
/* The writer pool: rendering threads hand finished pages (HTML + manifest line) to a bounded
 * queue; writer threads create the files and pass the lines on to the ordered manifest stream.
 * Each writer shares a core with one rendering thread (the start callback binds it), so while a
 * writer sleeps in the kernel (a directory lock, the journal) its core renders: the rendering
 * hides behind the file creation, without using more cores than the run was given. */
#define _GNU_SOURCE /* pthread_setname_np */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fmd_clock.h"
#include "fmd_io.h"
#include "io_internal.h"

/* Pages queued before a sleeping writer is woken. */
#define WAKE_BATCH 8

typedef struct job {
    size_t page;
    char *html;
    size_t html_len;
    char *line;
    size_t line_len;
} job;

struct fmd_io_writer {
    fmd_io_out *out;
    fmd_io_batch *batch;
    fmd_io_stream *stream;
    fmd_io_writer_start_fn on_start;
    void *userdata;
    int nthreads;
    pthread_t *tids;
    int started;

    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    job *ring;
    size_t cap, head, len;
    size_t bytes, max_bytes; /* HTML bytes queued, and their bound (0: none) */
    bool done;
    fmd_status st; /* first batch-level failure (out of memory) */
};

typedef struct worker_arg {
    fmd_io_writer *w;
    int index;
} worker_arg;

/* The manifest line of a page whose file could not be written: status "error" and an error
 * object, in place of `,"status":"ok"`. The line was formatted by fmd_io_page_format_json(), so
 * the first `,"status":"ok"` is the field itself (quotes inside strings are escaped) and it ends
 * in "}\n" (tree mode has no "html" field). Returns a new line or NULL (then keep the old one). */
static char *patch_line(const char *line, size_t len, const fmd_io_page *p, size_t *out_len)
{
    static const char ok[] = ",\"status\":\"ok\"";
    const char *at = NULL;
    for (size_t i = 0; i + sizeof ok - 1 <= len; i++)
        if (memcmp(line + i, ok, sizeof ok - 1) == 0) {
            at = line + i;
            break;
        }
    if (at == NULL || len < 2 || line[len - 2] != '}')
        return NULL;
    char err[512];
    int n = snprintf(err, sizeof err,
                     ",\"error\":{\"code\":\"%s\",\"message\":\"%s: %s\",\"line\":null,"
                     "\"column\":null}}\n",
                     fmd_status_name(p->status), fmd_status_str(p->status),
                     p->err ? strerror(p->err) : "failed");
    if (n < 0 || (size_t)n >= sizeof err)
        return NULL;
    size_t head = (size_t)(at - line);
    size_t mid = len - 2 - head - (sizeof ok - 1); /* the fields after status, minus "}\n" */
    static const char bad[] = ",\"status\":\"error\"";
    size_t total = head + sizeof bad - 1 + mid + (size_t)n;
    char *s = malloc(total);
    if (s == NULL)
        return NULL;
    memcpy(s, line, head);
    memcpy(s + head, bad, sizeof bad - 1);
    memcpy(s + head + sizeof bad - 1, at + sizeof ok - 1, mid);
    memcpy(s + head + sizeof bad - 1 + mid, err, (size_t)n);
    *out_len = total;
    return s;
}

static void write_job(fmd_io_writer *w, job *j)
{
    fmd_result r = {0};
    r.status = FMD_OK;
    r.html.ptr = j->html;
    r.html.len = j->html_len;
    fmd_io_page_write(w->out, w->batch, j->page, &r);
    free(j->html);
    size_t n_pages;
    fmd_io_page *p = fmd_io_batch_pages(w->batch, &n_pages) + j->page;
    if (p->status != FMD_OK && j->line != NULL) {
        size_t nl;
        char *patched = patch_line(j->line, j->line_len, p, &nl);
        if (patched != NULL) {
            free(j->line);
            j->line = patched;
            j->line_len = nl;
        }
    }
    if (j->line == NULL || w->stream == NULL) {
        free(j->line);
        return;
    }
    if (fmd_io_stream_put_owned(w->stream, j->page, j->line, j->line_len) != FMD_OK) {
        free(j->line);
        pthread_mutex_lock(&w->mu);
        if (w->st == FMD_OK)
            w->st = FMD_E_NOMEM;
        pthread_mutex_unlock(&w->mu);
    }
}

static void *worker_main(void *arg)
{
    worker_arg *a = arg;
    pthread_setname_np(pthread_self(), "fastmd-writer");
    fmd_io_writer *w = a->w;
    if (w->on_start != NULL)
        w->on_start(a->index, w->userdata);
    free(a);
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (w->len == 0 && !w->done)
            pthread_cond_wait(&w->not_empty, &w->mu);
        if (w->len == 0) { /* done and drained */
            pthread_mutex_unlock(&w->mu);
            return NULL;
        }
        job j = w->ring[w->head];
        w->head = (w->head + 1) % w->cap;
        w->len--;
        w->bytes -= j.html_len;
        pthread_cond_broadcast(&w->not_full); /* a byte bound may free room for several */
        pthread_mutex_unlock(&w->mu);
        write_job(w, &j);
    }
}

fmd_status fmd_io_writer_open(fmd_io_writer **out, fmd_io_out *o, fmd_io_batch *b,
                              fmd_io_stream *stream, int nthreads, size_t queue_cap,
                              size_t max_bytes, fmd_io_writer_start_fn on_start, void *userdata)
{
    *out = NULL;
    if (o == NULL || b == NULL || nthreads < 1 || queue_cap < 1)
        return FMD_E_USAGE;
    fmd_io_writer *w = calloc(1, sizeof *w);
    if (w == NULL)
        return FMD_E_NOMEM;
    w->out = o;
    w->batch = b;
    w->stream = stream;
    w->on_start = on_start;
    w->userdata = userdata;
    w->nthreads = nthreads;
    w->cap = queue_cap;
    w->max_bytes = max_bytes;
    w->ring = malloc(sizeof *w->ring * queue_cap);
    w->tids = malloc(sizeof *w->tids * (size_t)nthreads);
    if (w->ring == NULL || w->tids == NULL) {
        free(w->ring);
        free(w->tids);
        free(w);
        return FMD_E_NOMEM;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->not_empty, NULL);
    pthread_cond_init(&w->not_full, NULL);
    for (int t = 0; t < nthreads; t++) {
        worker_arg *a = malloc(sizeof *a);
        if (a == NULL)
            break;
        a->w = w;
        a->index = t;
        if (pthread_create(&w->tids[t], NULL, worker_main, a) != 0) {
            free(a);
            break;
        }
        w->started++;
    }
    if (w->started == 0) {
        fmd_io_writer_close(w);
        return FMD_E_NOMEM;
    }
    *out = w;
    return FMD_OK;
}

fmd_status fmd_io_writer_push(fmd_io_writer *w, size_t page, char *html, size_t html_len,
                              char *line, size_t line_len, double *wait_s)
{
    pthread_mutex_lock(&w->mu);
    /* Backpressure: the renderer waits for the writers instead of piling up pages. A page larger
     * than the byte bound still goes in, alone. */
#define FULL(w)                                                                                    \
    ((w)->len == (w)->cap ||                                                                       \
     ((w)->max_bytes != 0 && (w)->len != 0 && (w)->bytes + html_len > (w)->max_bytes))
    if (FULL(w)) {
        double t0 = fmd_clock_now();
        /* Wake the writers before every sleep, not only the first: another producer may have
         * refilled the queue below WAKE_BATCH while the writers slept, and if no one else pushes
         * again, nothing else would wake them (a deadlock the writer test caught). */
        while (FULL(w)) {
            pthread_cond_broadcast(&w->not_empty);
            pthread_cond_wait(&w->not_full, &w->mu);
        }
        if (wait_s != NULL)
            *wait_s += fmd_clock_now() - t0;
    }
#undef FULL
    w->ring[(w->head + w->len) % w->cap] = (job){page, html, html_len, line, line_len};
    w->len++;
    w->bytes += html_len;
    /* Wake a writer once a few pages wait, not for every page: on a shared core each wake-up is
     * a context switch, about as costly as writing a small file. A writer that is awake keeps
     * going until the queue is empty. */
    if (w->len == WAKE_BATCH || w->len == w->cap)
        pthread_cond_signal(&w->not_empty);
    pthread_mutex_unlock(&w->mu);
    return FMD_OK;
}

fmd_status fmd_io_writer_close(fmd_io_writer *w)
{
    pthread_mutex_lock(&w->mu);
    w->done = true;
    pthread_cond_broadcast(&w->not_empty);
    pthread_mutex_unlock(&w->mu);
    for (int t = 0; t < w->started; t++)
        pthread_join(w->tids[t], NULL);
    fmd_status st = w->st;
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->not_empty);
    pthread_cond_destroy(&w->not_full);
    free(w->ring);
    free(w->tids);
    free(w);
    return st;
}
