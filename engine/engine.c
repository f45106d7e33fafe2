/* SPDX-License-Identifier: MIT */
/* The build pipeline (fmd_engine.h), shared by `build` and `bench`: enumerate -> windows of
 * pages loaded by a loader thread one window ahead -> the kernel's parallel loop, whose sink
 * writes each page's file and formats its line on the worker thread -> io/'s ordered stream,
 * which writes the manifest (or the NDJSON stream) in input order as soon as each prefix is
 * complete. Durable builds add the state folder: pages recorded as unchanged are not read, each
 * completed page is journaled, and the state is rewritten at the end (docs/builds.md).
 * Memory is bounded by the windows: at most queue_size windows are loaded ahead. Never prints:
 * progress and page messages go to the caller's callbacks. */
#define _GNU_SOURCE /* pthread_setname_np */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fmd_clock.h"
#include "fmd_engine.h"
#include "fmd_title.h"
#include "fmd_io_shard.h"
#include "fmd_io_state.h"

/* Rendered pages that may wait for the writer pool, per thread, before rendering blocks. */
#define WRITER_QUEUE_PER_THREAD 32
/* What one thread holds beyond the windows: its output and scratch arenas (1 MiB + 256 KiB
 * chunks), its formatting arena and stack. For the --max-memory model. */
#define PER_THREAD_BYTES ((size_t)2 << 20)
/* The smallest window: below this, per-window costs (one parallel region, one load) dominate. */
#define MIN_WINDOW_BYTES ((size_t)1 << 20)
/* A page modified this close to (or after) the start of the run that hashed it is "racy": its
 * stat data may not show a second change made in the same timestamp tick, so the next run reads
 * and hashes it again rather than trusting them (as git does with its index). Two seconds
 * covers file systems with coarse timestamps (FAT: 2 s); Linux's are a few ms. */
#define RACY_NS ((int64_t)2000000000)
/* Bumped whenever the output of the same fastmd version and options would change: part of every
 * page's key. */
#define OUTPUT_FORMAT "fastmd-output-1"

/* What a page's verdict under a supervisor makes of it (engine.fate). */
enum {
    FATE_RENDER = 0, /* as usual */
    FATE_DROP,       /* a retry worker renders only the suspects: not this page, this time */
    FATE_FAILED,     /* a verdict (crashed, timeout): fails with it, no HTML, not recorded */
};

/* Per-thread counters of the sink, one cache line each. */
typedef struct sink_slot {
    _Alignas(64) fmd_arena *arena; /* formatting scratch, rewound after every page */
    atomic_size_t done;            /* pages through the sink (read by the progress thread) */
    size_t rendered, unchanged, skipped;
    size_t bytes_out;
    double write_s;
} sink_slot;

/* One window: pages [first, first + count) of the batch and their loaded bytes. */
typedef struct window {
    size_t first, count;
    fmd_io_input in;
    fmd_status st;
    double load_s;
    size_t *part_first; /* NUMA split of the window (n_nodes + 1), or NULL: one node */
} window;

typedef struct fmd_engine engine;

/* The progress thread. */
typedef struct progress {
    engine *e;
    bool stop; /* under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t tid;
} progress;

struct fmd_engine {
    const fmd_engine_cfg *cfg;
    fmd_engine_result *r; /* filled by fmd_engine_close() */
    double t_start;
    bool opened, rendered;
    fmd_kernel_batch *kb;
    fmd_result *results;  /* one window's worth */
    fmd_thread_stats *ts; /* per thread, per window */
    fmd_io_batch *batch;
    fmd_io_page *pages;
    size_t n;
    fmd_io_out *out;       /* tree mode */
    fmd_io_stream *stream; /* manifest or NDJSON, in input order */
    fmd_io_writer *writer; /* tree mode: the pool that creates the files */
    int *thread_part;      /* with several NUMA nodes: each thread's node, else NULL */
    size_t writer_bytes;   /* HTML bytes the pool may hold; 0: no bound but its page count */
    fmd_placement *pl;
    sink_slot *slots;
    int nthreads;
    size_t win_first;           /* batch index of the window being rendered */
    double *latency;            /* per page, seconds; NULL when not collected */
    char **messages;            /* per page: what to print about it, or NULL */
    unsigned char *render_st;   /* per page: the kernel's status, as the sink saw it */
    unsigned char *load_st;     /* per page: io's status when the sink saw it (before writing) */
    unsigned char *sunk;        /* per page: 1 once it went through the sink (not cancelled) */
    const fmd_io_input *cur_in; /* the window being rendered: the pages' bytes, for their keys */

    /* Durable builds: the state folder and what this run does with it. */
    fmd_io_state *state;
    char digest[33];              /* the options digest */
    int64_t t0_ns;                /* wall clock at the start of the run */
    const fmd_io_state_rec **old; /* per page: its record under this digest, or NULL */
    unsigned char *skip;          /* per page: 1 when not read (stat data matched its record) */
    char **rec;                   /* with the writer pool: records waiting for their files */
    size_t *rec_len;
    const fmd_io_state_rec **gone; /* records of sources that are gone, with a file */
    size_t n_gone;
    unsigned char *fate; /* under a supervisor: per page, a FATE_* (NULL: every page renders) */
    bool untouched;      /* nothing changed: no journal, manifest and state left as they are */

    /* Shards (cfg->shard_n != 0): the folder, and every page of SRC, not only this shard's. */
    fmd_io_shard *shard;
    const char **all_paths, **all_outputs; /* sorted by path; strings owned by the batch */
    size_t n_all;
    char source_hash[33]; /* XXH3-128 of every path and size of SRC */

    /* The loader thread and its bounded queue of loaded windows. */
    window *wins;
    size_t n_wins;
    size_t loaded, consumed; /* windows loaded so far / handed back by the renderer */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    bool loader_done; /* under mu: the loader returned (all windows, or stopped early) */
    pthread_t loader;
    bool loader_started;
    progress pr;
    bool progress_started;
};

/*** Windows ***/

/* Bytes this process holds now (resident set), from /proc/self/statm; 0 when unknown. */
static size_t resident_bytes(void)
{
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return 0;
    if (fscanf(f, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* What @p nthreads rendering threads hold beyond the windows, saturating at SIZE_MAX: their
 * arenas, and the front matter each may be parsing. */
static size_t threads_bytes(const fmd_engine_cfg *cfg, int nthreads)
{
    size_t fm = fmd_kernel_frontmatter_peak_bytes(cfg->opt.max_frontmatter_bytes);
    size_t one = fm > SIZE_MAX - PER_THREAD_BYTES ? SIZE_MAX : PER_THREAD_BYTES + fm;
    size_t n = nthreads > 0 ? (size_t)nthreads : 1;
    return one > SIZE_MAX / n ? SIZE_MAX : one * n;
}

/* Input bytes per window under --max-memory. The memory model: what the process holds already
 * (code, libraries, the batch's page table), each thread's arenas and front matter parse
 * (fmd_kernel_frontmatter_peak_bytes: the block's bytes cost the YAML parser many times their
 * size, so they are counted apart from the page's), and (queue_size + 3) windows:
 * the one rendering, queue_size loading ahead, at most one window of HTML queued for the writer
 * pool and one of lines waiting for the ordered stream. */
static size_t window_bytes(const fmd_engine_cfg *cfg, int nthreads)
{
    if (cfg->max_memory == 0)
        return 0;
    size_t threads = threads_bytes(cfg, nthreads), res = resident_bytes();
    size_t fixed = threads > SIZE_MAX - res ? SIZE_MAX : res + threads;
    size_t left = cfg->max_memory > fixed ? cfg->max_memory - fixed : 0;
    size_t w = left / (cfg->queue_size + 3);
    return w < MIN_WINDOW_BYTES ? MIN_WINDOW_BYTES : w;
}

/* Cut the batch into consecutive windows of at most @p budget input bytes (one page at least). */
static size_t plan_windows(engine *e, size_t budget)
{
    size_t nw = 0, i = 0;
    e->wins = calloc(e->n ? e->n : 1, sizeof *e->wins);
    if (e->wins == NULL)
        return 0;
    while (i < e->n) {
        size_t first = i, bytes = 0;
        do {
            bytes += e->pages[i].status == FMD_OK ? e->pages[i].size : 0;
            i++;
        } while (i < e->n && (budget == 0 || bytes + e->pages[i].size <= budget));
        e->wins[nw].first = first;
        e->wins[nw].count = i - first;
        nw++;
    }
    return nw;
}

/* The loader's threads run on the cores of the rendering threads with the same numbers, so that
 * the pages a node's threads will render are read, and first touched, on that node. */
static void bind_loader(int thread, void *userdata)
{
    const fmd_numa_plan *plan = userdata;
    fmd_numa_companion_bind(plan, thread % plan->n_threads, NULL);
}

/* With several NUMA nodes: split window @p w across them by bytes (the enumerated sizes), for
 * both the load and the render. Leaves w->part_first NULL when there is one node. */
static void split_window(engine *e, window *w, size_t *sizes)
{
    const fmd_numa_plan *plan = e->pl->plan;
    if (plan->n_nodes < 2 || sizes == NULL)
        return;
    w->part_first = malloc(sizeof *w->part_first * (plan->n_nodes + 1));
    if (w->part_first == NULL)
        return;
    for (size_t i = 0; i < w->count; i++) {
        const fmd_io_page *p = &e->pages[w->first + i];
        sizes[i] = p->status == FMD_OK ? p->size : 0;
    }
    if (fmd_numa_pages_split(plan, sizes, w->count, w->part_first, NULL) != FMD_OK) {
        free(w->part_first);
        w->part_first = NULL;
    }
}

static void *loader_main(void *arg)
{
    engine *e = arg;
    if (e->n_wins > 1) /* on a thread of its own (one window: the main thread loads it) */
        pthread_setname_np(pthread_self(), "fastmd-loader");
    const fmd_engine_cfg *cfg = e->cfg;
    int io_threads = e->nthreads;
    size_t *sizes = NULL;
    if (e->pl->plan->n_nodes > 1) {
        size_t max_count = 0;
        for (size_t k = 0; k < e->n_wins; k++)
            max_count = e->wins[k].count > max_count ? e->wins[k].count : max_count;
        sizes = malloc(sizeof *sizes * (max_count ? max_count : 1));
    }
    for (size_t k = 0; k < e->n_wins; k++) {
        pthread_mutex_lock(&e->mu);
        while (!e->stop && e->loaded - e->consumed >= cfg->queue_size)
            pthread_cond_wait(&e->cv, &e->mu);
        int stop = e->stop;
        pthread_mutex_unlock(&e->mu);
        if (stop ||
            (cfg->cancel != NULL && atomic_load_explicit(cfg->cancel, memory_order_relaxed) != 0))
            break; /* cancelled: load no more windows */
        window *w = &e->wins[k];
        double t0 = fmd_clock_now();
        split_window(e, w, sizes);
        fmd_io_placement place = {.start = bind_loader,
                                  .userdata = e->pl->plan,
                                  .n_parts = w->part_first ? e->pl->plan->n_nodes : 0,
                                  .part_first = w->part_first,
                                  .thread_part = e->thread_part};
        w->st = fmd_io_pages_load_placed(e->batch, w->first, w->count, cfg->opt.max_input_bytes,
                                         io_threads, e->thread_part ? &place : NULL, &w->in);
        w->load_s = fmd_clock_now() - t0;
        pthread_mutex_lock(&e->mu);
        e->loaded++;
        pthread_cond_broadcast(&e->cv);
        pthread_mutex_unlock(&e->mu);
    }
    free(sizes);
    pthread_mutex_lock(&e->mu);
    e->loader_done = true;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

/*** Lines and messages ***/

/* Format page gi's line (manifest or NDJSON) into the thread's formatting arena: *line is valid
 * until the arena is reset at the end of the page (engine_sink). No malloc per line: the stream
 * copies it into the thread's lane of line blocks, and only the writer pool gets its own copy. */
static fmd_status format_line(engine *e, sink_slot *me, size_t gi, fmd_result *res,
                              const char **line, size_t *len)
{
    fmd_io_page *p = &e->pages[gi];
    /* No front matter title and no heading: the file name, as static site tools do. */
    if (p->status == FMD_OK && !e->cfg->opt.passthrough)
        fmd_title_fallback(&res->title, p->path, me->arena);
    fmd_buf b;
    fmd_buf_reset(&b, me->arena);
    unsigned flags = e->cfg->ndjson_path != NULL ? FMD_IO_JSON_HTML : 0;
    fmd_status st = fmd_io_page_format_json(&b, p->path, e->out ? p->output : NULL, res, p->status,
                                            p->err, flags);
    if (st == FMD_OK)
        st = fmd_buf_putc(&b, '\n');
    *line = st == FMD_OK ? b.ptr : NULL;
    *len = st == FMD_OK ? b.len : 0;
    return st;
}

static void note_messages(engine *e, size_t gi, const fmd_result *res)
{
    fmd_io_page *p = &e->pages[gi];
    if (e->cfg->message == NULL || (res->status == FMD_OK && p->status == FMD_OK &&
                                    res->n_warnings == 0 && res->n_page_links == 0))
        return;
    /* Kept for the end of the run, when the caller prints them in path order. */
    char name[4096];
    snprintf(name, sizeof name, "%s/%s", e->cfg->src, p->path);
    char *text = e->cfg->message(name, p->status, p->err, res, e->cfg->userdata);
    free(e->messages[gi]);
    e->messages[gi] = text;
}

/*** Durable builds: keys, records, the recorded pages ***/

/* The outcomes that depend only on the page's bytes and the options: recorded in the state, so
 * that an unchanged page is not rendered again. A load or write failure, a deadline or a lack of
 * memory may pass on the next try: such pages are not recorded. */
static bool deterministic(fmd_status st)
{
    return st == FMD_OK || st == FMD_E_FRONTMATTER || st == FMD_E_UTF8 ||
           st == FMD_E_OUTPUT_LIMIT || st == FMD_E_PARSE;
}

/* The page's key: XXH3-128 over the output format, the options digest and the XXH3-128 of the
 * page's bytes (the kernel hashes one buffer at a time, so the bytes are hashed first). */
static void page_key(const engine *e, const char *bytes, size_t len, char key[33])
{
    char buf[128];
    char inner[33];
    fmd_kernel_hash128_format(bytes, len, inner);
    int n = snprintf(buf, sizeof buf, "%s %s %s", OUTPUT_FORMAT, e->digest, inner);
    fmd_kernel_hash128_format(buf, (size_t)n, key);
}

/* This run's record of page gi: appended to the journal now (@p journal: the page's file, if
 * any, is complete), or kept until the writer pool has written the file. */
static void record_page(engine *e, size_t gi, const char key[33], bool ok, const char *line,
                        size_t line_len, bool journal)
{
    const fmd_io_page *p = &e->pages[gi];
    fmd_io_state_rec rec = {.size = p->size,
                            .ino = p->ino,
                            .mtime_ns = p->mtime_ns,
                            .ctime_ns = p->ctime_ns,
                            .t0_ns = e->t0_ns,
                            .flags = ok ? FMD_IO_REC_FILE : FMD_IO_REC_FAILED,
                            .path = p->path,
                            .path_len = strlen(p->path),
                            .output = p->output,
                            .output_len = strlen(p->output),
                            .line = line,
                            .line_len = line_len};
    memcpy(rec.key, key, 33);
    size_t len = 0;
    char *bytes = fmd_io_state_format(&rec, &len);
    if (bytes == NULL)
        return; /* not recorded: rendered again next time */
    if (journal) {
        fmd_io_state_journal_add(e->state, bytes, len);
        free(bytes); /* the commit reads it back from the journal */
        return;
    }
    free(e->rec[gi]);
    e->rec[gi] = bytes;
    e->rec_len[gi] = len;
}

/* A page whose stat data matched its record: not read, not rendered; its line is the recorded
 * one (the same bytes a render would give) and its record is carried over. */
static void sink_recorded(engine *e, sink_slot *me, size_t gi)
{
    fmd_io_page *p = &e->pages[gi];
    const fmd_io_state_rec *old = e->old[gi];
    p->status = FMD_OK; /* it was marked so that the loader would not read it */
    p->err = 0;
    char *line = e->stream != NULL ? malloc(old->line_len ? old->line_len : 1) : NULL;
    if (e->stream == NULL) {
        /* untouched: the manifest in OUT already holds this line */
    } else if (line != NULL) {
        memcpy(line, old->line, old->line_len);
        if (fmd_io_stream_put_owned(e->stream, gi, line, old->line_len) != FMD_OK)
            free(line);
    } else {
        e->render_st[gi] = FMD_E_NOMEM;
    }
    if (e->render_st[gi] == FMD_OK)
        e->render_st[gi] = (unsigned char)((old->flags & FMD_IO_REC_FAILED) ? FMD_E_PARSE : FMD_OK);
    e->load_st[gi] = FMD_OK;
    e->sunk[gi] = 1;
    me->unchanged++;
    me->skipped++;
}

/*** The sink: runs on the kernel's worker threads ***/

#ifdef FMD_TEST_HOOKS
/* Fault injection for the supervisor's tests (test builds only): a page that crashes the worker,
 * one that hangs where no deadline is checked, and a delay per page that keeps a small corpus
 * in flight long enough to kill its worker in the middle. */
static void test_hooks(const engine *e, const fmd_io_page *p)
{
    const fmd_engine_cfg *cfg = e->cfg;
    if (cfg->test_delay_ms != 0) {
        struct timespec ts = {.tv_sec = cfg->test_delay_ms / 1000,
                              .tv_nsec = (long)(cfg->test_delay_ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
    }
    if (cfg->test_crash_page != NULL && strcmp(p->path, cfg->test_crash_page) == 0)
        raise(SIGSEGV);
    while (cfg->test_hang_page != NULL && strcmp(p->path, cfg->test_hang_page) == 0)
        pause();
}
#endif

/* Called before a page is rendered: under a supervisor, publish it as this thread's page in
 * flight, so that a death or a hang can be pinned on it. Pages that are not rendered (recorded,
 * dropped, failed by a verdict or by io/) publish nothing. */
static void engine_begin(size_t page, int thread, void *ud)
{
    engine *e = ud;
    size_t gi = e->win_first + page;
    const fmd_io_page *p = &e->pages[gi];
    if (p->status != FMD_OK)
        return;
    if (e->cfg->guard != NULL)
        fmd_guard_begin(e->cfg->guard, thread, gi, p->path);
#ifdef FMD_TEST_HOOKS
    test_hooks(e, p);
#endif
}

static fmd_status engine_sink(size_t page, int thread, fmd_result *res, double *wait_s, void *ud)
{
    engine *e = ud;
    size_t gi = e->win_first + page;
    fmd_io_page *p = &e->pages[gi];
    sink_slot *me = &e->slots[thread];
    if (e->fate != NULL && e->fate[gi] == FATE_DROP)
        return FMD_OK; /* not this worker's: no line, no record, not done */
    double t0 = fmd_clock_now();
    if (e->skip != NULL && e->skip[gi]) {
        sink_recorded(e, me, gi);
        me->write_s += fmd_clock_now() - t0;
        atomic_store_explicit(&me->done, atomic_load_explicit(&me->done, memory_order_relaxed) + 1,
                              memory_order_relaxed);
        return FMD_OK;
    }
    if (p->status != FMD_OK) /* not loaded: report the size enumeration found */
        res->bytes_in = p->size;
    fmd_status enum_st = p->status;
    /* One rule for failed pages: only a page that rendered fine has HTML in OUT. */
    bool has_file = e->out != NULL && p->status == FMD_OK && res->status == FMD_OK;
    char key[33] = {0};
    bool keyed = false, unchanged = false;
    if (e->state != NULL && p->status == FMD_OK && deterministic(res->status)) {
        const fmd_page_ref *ref = &e->cur_in->refs[page];
        page_key(e, e->cur_in->base + ref->offset, ref->len, key);
        keyed = true;
        const fmd_io_state_rec *old = e->old[gi];
        /* The same key and the same outcome: the output in OUT is already this page's. */
        unchanged = old != NULL && memcmp(old->key, key, 32) == 0 &&
                    ((old->flags & FMD_IO_REC_FILE) != 0) == (res->status == FMD_OK);
    }
    const char *line = NULL;
    size_t line_len = 0;
    fmd_status st = FMD_OK;

    if (e->stream != NULL)
        st = format_line(e, me, gi, res, &line, &line_len);
    if (has_file && !unchanged && e->writer != NULL) {
        /* The writer pool creates the file; its status comes back through the page. Its record
         * is journaled once the pool is done (fmd_engine_render). The pool owns what it gets. */
        char *html = malloc(res->html.len ? res->html.len : 1);
        char *owned = line != NULL ? malloc(line_len ? line_len : 1) : NULL;
        if (html == NULL || (line != NULL && owned == NULL)) {
            free(html);
            free(owned);
            st = FMD_E_NOMEM;
        } else {
            memcpy(html, res->html.ptr, res->html.len);
            if (owned != NULL)
                memcpy(owned, line, line_len);
            if (keyed && line != NULL)
                record_page(e, gi, key, true, line, line_len, false);
            fmd_io_writer_push(e->writer, gi, html, res->html.len, owned, line_len, wait_s);
            line = NULL;
        }
    } else if (has_file && !unchanged) {
        fmd_io_page_write(e->out, e->batch, gi, res); /* inline, on this thread */
    } else if (!has_file && e->out != NULL && enum_st != FMD_E_COLLISION) {
        /* A failed page: no HTML in OUT, so an older file at its output path goes (a collision
         * loser's path belongs to the page that won it). */
        int err = 0;
        fmd_io_out_remove(e->out, p->output, &err);
    }
    if (line != NULL) {
        if (e->writer == NULL && has_file && p->status != FMD_OK) {
            /* An inline write failed after the line was formatted: format it again. */
            st = format_line(e, me, gi, res, &line, &line_len);
        } else if (keyed && st == FMD_OK) {
            record_page(e, gi, key, res->status == FMD_OK, line, line_len, true);
        }
        if (line != NULL) {
            fmd_status put = fmd_io_stream_put_lane(e->stream, thread, gi, line, line_len);
            if (put != FMD_OK && st == FMD_OK)
                st = put;
        }
    }
    if (st != FMD_OK && res->status == FMD_OK)
        res->status = st;
    /* Failures are counted after the run: a file the pool fails to write fails the page later. */
    e->render_st[gi] = (unsigned char)res->status;
    /* Before writing: the pool may change p->status on its own thread (read after the run). */
    e->load_st[gi] = (unsigned char)enum_st;
    e->sunk[gi] = 1;
    if (unchanged)
        me->unchanged++;
    else
        me->rendered++;
    me->bytes_out += res->html.len;
    if (e->latency != NULL)
        e->latency[gi] = res->render_s;
    note_messages(e, gi, res);
    if (e->cfg->guard != NULL)
        fmd_guard_end(e->cfg->guard, thread); /* its file and record are complete */
    fmd_arena_reset(me->arena); /* the line and the fallback title were this page's scratch */
    me->write_s += fmd_clock_now() - t0;
    atomic_store_explicit(&me->done, atomic_load_explicit(&me->done, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    return FMD_OK;
}

static void bind_writer(int index, void *ud)
{
    engine *e = ud;
    fmd_numa_companion_bind(e->pl->plan, index % e->pl->plan->n_threads, NULL);
}

/*** Progress ***/

/* How often progress is reported. */
#define PROGRESS_S 0.2

static void report_progress(engine *e, double t0, bool final)
{
    size_t done = 0;
    for (int t = 0; t < e->nthreads; t++)
        done += atomic_load_explicit(&e->slots[t].done, memory_order_relaxed);
    e->cfg->progress(done, e->n, fmd_clock_now() - t0, final, e->cfg->userdata);
}

/* Report progress every PROGRESS_S until stopped (a condition wait, so that stopping does not
 * wait for the next tick), then once more, final. */
static void *progress_main(void *arg)
{
    progress *pr = arg;
    pthread_setname_np(pthread_self(), "fastmd-progress");
    double t0 = fmd_clock_now();
    pthread_mutex_lock(&pr->mu);
    while (!pr->stop) {
        struct timespec ts = fmd_clock_deadline(PROGRESS_S);
        if (pthread_cond_timedwait(&pr->cv, &pr->mu, &ts) != 0 && !pr->stop)
            report_progress(pr->e, t0, false);
    }
    pthread_mutex_unlock(&pr->mu);
    report_progress(pr->e, t0, true);
    return NULL;
}

static void progress_stop(progress *pr)
{
    pthread_mutex_lock(&pr->mu);
    pr->stop = true;
    pthread_cond_signal(&pr->cv);
    pthread_mutex_unlock(&pr->mu);
    pthread_join(pr->tid, NULL);
    pthread_mutex_destroy(&pr->mu);
    pthread_cond_destroy(&pr->cv);
}

/*** Open, render, close ***/

static fmd_status fail_with(fmd_engine_result *r, fmd_status st, int err, const char *what)
{
    if (r->st != FMD_OK)
        return r->st; /* the first failure is the one reported */
    r->st = st;
    r->err = err;
    r->what = what;
    return st;
}

static bool cancelled(const engine *e)
{
    return e->cfg->cancel != NULL &&
           atomic_load_explicit(e->cfg->cancel, memory_order_relaxed) != 0;
}

/*** Shards ***/

/* Keep only shard K of N's pages (a contiguous range, fmd_io_shard_range()), after noting every
 * page of SRC: its paths and outputs (so that a record of a page now in another shard is not
 * taken for a gone source) and a hash of every path and size (so that `fastmd merge` can tell
 * that all shards saw the same SRC). */
static fmd_status keep_shard(engine *e)
{
    fmd_engine_result *r = e->r;
    size_t n1 = e->n ? e->n : 1;
    size_t *sizes = malloc(n1 * sizeof *sizes);
    e->all_paths = malloc(n1 * sizeof *e->all_paths);
    e->all_outputs = malloc(n1 * sizeof *e->all_outputs);
    size_t list_len = 0;
    for (size_t i = 0; i < e->n; i++)
        list_len += strlen(e->pages[i].path) + 24;
    char *list = malloc(list_len + 1);
    if (sizes == NULL || e->all_paths == NULL || e->all_outputs == NULL || list == NULL) {
        free(sizes);
        free(list);
        return fail_with(r, FMD_E_NOMEM, 0, "shard");
    }
    size_t at = 0;
    for (size_t i = 0; i < e->n; i++) {
        const fmd_io_page *p = &e->pages[i];
        sizes[i] = p->size;
        e->all_paths[i] = p->path;
        e->all_outputs[i] = p->output;
        at += (size_t)snprintf(list + at, list_len + 1 - at, "%s%c%zu\n", p->path, '\0', p->size);
    }
    e->n_all = e->n;
    fmd_kernel_hash128_format(list, at, e->source_hash);
    free(list);
    size_t first = 0, count = 0;
    fmd_status st =
        fmd_io_shard_range(sizes, e->n, e->cfg->shard_k, e->cfg->shard_n, &first, &count);
    free(sizes);
    if (st == FMD_OK)
        st = fmd_io_batch_keep(e->batch, first, count);
    if (st != FMD_OK)
        return fail_with(r, st, 0, "shard");
    e->pages = fmd_io_batch_pages(e->batch, &e->n);
    return FMD_OK;
}

static int cmp_str_ptr(const void *a, const void *b);

/* Whether @p path is a page of SRC (any shard's). Without shards: whether it is one of ours. */
static bool in_source(const engine *e, const char *path)
{
    if (e->all_paths == NULL)
        return false; /* plan_incremental() matched every page of ours already */
    return bsearch(&path, e->all_paths, e->n_all, sizeof *e->all_paths, cmp_str_ptr) != NULL;
}

/* The shard is finished: record what `fastmd merge` checks. */
static void publish_shard(engine *e)
{
    fmd_io_shard_info info = {
        .k = e->cfg->shard_k, .n = e->cfg->shard_n, .pages = e->n, .all_pages = e->n_all};
    snprintf(info.version, sizeof info.version, "%s", FMD_VERSION);
    memcpy(info.digest, e->digest, sizeof info.digest);
    memcpy(info.list, e->source_hash, sizeof info.list);
    int err = 0;
    fmd_status st = fmd_io_shard_publish(e->shard, &info, &err);
    if (st != FMD_OK)
        fail_with(e->r, st, err, FMD_IO_STATE_DIR);
}

/*** Durable builds: the state folder ***/

/* The options digest: XXH3-128 over fastmd's version, the output format and every option that
 * changes output, the rules file's bytes included. The deadline is left out: a page that runs
 * out of time is never recorded, so it cannot make a stale output look current. */
static fmd_status options_digest(engine *e)
{
    const fmd_options *o = &e->cfg->opt;
    char rules[33] = "none";
    if (e->cfg->rules_path != NULL) {
        fmd_arena *a = NULL;
        fmd_slice bytes;
        int err = 0;
        if (fmd_arena_create(&a, 0) != FMD_OK)
            return fail_with(e->r, FMD_E_NOMEM, 0, "options");
        fmd_status st = fmd_io_file_read(e->cfg->rules_path, 0, a, &bytes, &err);
        if (st == FMD_OK)
            fmd_kernel_hash128_format(bytes.ptr, bytes.len, rules);
        fmd_arena_destroy(a);
        if (st != FMD_OK)
            return fail_with(e->r, st, err, e->cfg->rules_path);
    } else if (o->rules != NULL) {
        /* Rules compiled by a caller that did not say where they came from: no digest can stand
         * for them, so nothing recorded under it is ever trusted. */
        snprintf(rules, sizeof rules, "unknown-%lld", (long long)e->t0_ns);
    }
    char buf[512];
    int n = snprintf(buf, sizeof buf,
                     "fastmd %s %s dialect=%d ext=%u xhtml=%d unsafe=%d ids=%d in=%zu out=%zu "
                     "fm=%zu pass=%d rules=%s",
                     FMD_VERSION, OUTPUT_FORMAT, (int)o->dialect, o->extensions, (int)o->xhtml,
                     (int)o->unsafe, (int)o->heading_ids, o->max_input_bytes, o->max_output_bytes,
                     o->max_frontmatter_bytes, (int)o->passthrough, rules);
    /* Link rewriting and the page template (its text's hash) change output too. */
    n += snprintf(buf + n, sizeof buf - (size_t)n, " links=%u tpl=%016llx",
                  o->links & FMD_LINKS_REWRITE,
                  (unsigned long long)fmd_kernel_template_hash(o->page_template));
    /* The ID prefix (at most FMD_MAX_ID_PREFIX_BYTES, so it fits); none is "". */
    if (o->id_prefix != NULL && o->id_prefix[0] != '\0')
        n += snprintf(buf + n, sizeof buf - (size_t)n, " idp=%s", o->id_prefix);
    fmd_kernel_hash128_format(buf, (size_t)n, e->digest);
    return FMD_OK;
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Match the pages with the records: which pages may be skipped, which records belong to sources
 * that are gone. */
static fmd_status plan_incremental(engine *e)
{
    size_t n_recs;
    const fmd_io_state_rec *recs = fmd_io_state_records(e->state, &n_recs);
    size_t n1 = e->n ? e->n : 1;
    e->old = calloc(n1, sizeof *e->old);
    e->skip = calloc(n1, 1);
    if (e->cfg->writer_pool) {
        e->rec = calloc(n1, sizeof *e->rec);
        e->rec_len = calloc(n1, sizeof *e->rec_len);
        if (e->rec == NULL || e->rec_len == NULL)
            return fail_with(e->r, FMD_E_NOMEM, 0, "state");
    }
    e->gone = malloc((n_recs ? n_recs : 1) * sizeof *e->gone);
    if (e->old == NULL || e->skip == NULL || e->gone == NULL)
        return fail_with(e->r, FMD_E_NOMEM, 0, "state");
    /* Each page looks its record up by path; a record no page claimed is a gone source's. */
    unsigned char *claimed = calloc(n_recs ? n_recs : 1, 1);
    if (claimed == NULL)
        return fail_with(e->r, FMD_E_NOMEM, 0, "state");
    for (size_t i = 0; i < e->n; i++) {
        fmd_io_page *p = &e->pages[i];
        const fmd_io_state_rec *r = fmd_io_state_find(e->state, p->path);
        if (r == NULL)
            continue;
        claimed[r - recs] = 1;
        if ((r->flags & FMD_IO_REC_CURRENT) && !e->cfg->force) {
            e->old[i] = r;
            bool same = p->status == FMD_OK && r->size == p->size && r->ino == p->ino &&
                        r->mtime_ns == p->mtime_ns && r->ctime_ns == p->ctime_ns &&
                        strcmp(r->output, p->output) == 0;
            bool racy = r->mtime_ns + RACY_NS >= r->t0_ns || r->ctime_ns + RACY_NS >= r->t0_ns;
            if (same && !racy && !e->cfg->verify) {
                e->skip[i] = 1;
                p->status = FMD_E_CANCELLED; /* the loader reads no byte of it */
            }
        }
    }
    /* A shard's record of a page now in another shard: dropped, its file is that shard's. */
    for (size_t j = 0; j < n_recs; j++)
        if (!claimed[j] && (recs[j].flags & FMD_IO_REC_FILE) && !in_source(e, recs[j].path))
            e->gone[e->n_gone++] = &recs[j];
    free(claimed);
    /* A gone source's output that a current page now writes (x.markdown gone, x.md still
     * there) is that page's: not removed. */
    if (e->n_gone != 0) {
        size_t n_outs = e->all_outputs != NULL ? e->n_all : e->n;
        const char **outs = malloc((n_outs ? n_outs : 1) * sizeof *outs);
        if (outs == NULL)
            return fail_with(e->r, FMD_E_NOMEM, 0, "state");
        for (size_t k = 0; k < n_outs; k++)
            outs[k] = e->all_outputs != NULL ? e->all_outputs[k] : e->pages[k].output;
        qsort(outs, n_outs, sizeof *outs, cmp_str_ptr);
        size_t m = 0;
        for (size_t k = 0; k < e->n_gone; k++) {
            const char *key = e->gone[k]->output;
            if (bsearch(&key, outs, n_outs, sizeof *outs, cmp_str_ptr) == NULL)
                e->gone[m++] = e->gone[k];
        }
        e->n_gone = m;
        free(outs);
    }
    return FMD_OK;
}

/* Whether this run would leave OUT exactly as it is: every page of SRC is skipped on its stat
 * data, every record of the state file is one of them (so none is dropped or gone), and the
 * manifest in OUT has the size of the recorded lines together. Then the manifest and the state
 * would be written again byte for byte: they are left alone, and no journal is started. */
static bool nothing_changed(engine *e)
{
    size_t n_recs;
    fmd_io_state_records(e->state, &n_recs);
    const fmd_guard *g = e->cfg->guard;
    if (e->shard != NULL || e->cfg->no_manifest || e->n_gone != 0 || n_recs != e->n ||
        !fmd_io_state_exact(e->state) ||
        (g != NULL && (g->mode == FMD_GUARD_RETRY || g->n_pages != 0)))
        return false;
    uint64_t lines = 0;
    for (size_t i = 0; i < e->n; i++) {
        if (!e->skip[i])
            return false;
        lines += e->old[i]->line_len;
    }
    struct stat st;
    return fstatat(fmd_io_out_fd(e->out), FMD_IO_MANIFEST_NAME, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
           S_ISREG(st.st_mode) && (uint64_t)st.st_size == lines;
}

/* Lock OUT, load the state, clean up after a killed run, plan what to skip, start the journal.
 * The old manifest is removed: until this run publishes its own, OUT is visibly incomplete. */
static fmd_status open_state(engine *e)
{
    fmd_engine_result *r = e->r;
    int err = 0;
    int outfd = fmd_io_out_fd(e->out);
    fmd_status st;
    if (e->cfg->shard_n != 0) {
        /* A shard: a shared lock on OUT/.fastmd/lock (other shards run beside it; a plain build
         * or a merge holds it alone), then its own folder's lock, state and journal. */
        st = fmd_io_shard_open(outfd, e->cfg->shard_k, e->cfg->shard_n, e->cfg->wait_lock,
                               &e->shard, &err);
        if (st == FMD_OK)
            st = fmd_io_state_open_at(fmd_io_shard_parent_fd(e->shard), fmd_io_shard_name(e->shard),
                                      e->cfg->wait_lock, &e->state, &err);
    } else {
        st = fmd_io_state_open(outfd, e->cfg->wait_lock, &e->state, &err);
    }
    if (st == FMD_E_IO && err == EWOULDBLOCK) {
        r->locked = true;
        return fail_with(r, st, err, FMD_IO_STATE_DIR "/lock");
    }
    if (st != FMD_OK)
        return fail_with(r, st, err, FMD_IO_STATE_DIR);
    FMD_TRY(options_digest(e));
    st = fmd_io_state_load(e->state, e->digest, &err);
    if (st != FMD_OK)
        return fail_with(r, st, err, FMD_IO_STATE_DIR);
    r->resumed = fmd_io_state_interrupted(e->state);
    /* Until this run publishes it again, the shard is not finished: a merge refuses it. */
    if (e->shard != NULL && fmd_io_shard_unpublish(e->shard, &err) != FMD_OK)
        return fail_with(r, FMD_E_IO, err, FMD_IO_STATE_DIR);
    /* A shard leaves the temporary files alone: in a shared OUT they may be another running
     * shard's. `fastmd merge`, which runs alone, removes those of killed runs. */
    if (r->resumed && e->shard == NULL && fmd_io_leftovers_remove(outfd, &r->leftovers) != FMD_OK)
        return fail_with(r, FMD_E_NOMEM, 0, "leftovers");
    /* The shard's own folder is this run's alone (its state is locked): a partial manifest's
     * temporary file there is a killed run's. */
    if (e->shard != NULL && fmd_io_shard_leftovers_remove(e->shard, &r->leftovers) != FMD_OK)
        return fail_with(r, FMD_E_IO, errno, FMD_IO_STATE_DIR);
    FMD_TRY(plan_incremental(e));
    e->untouched = nothing_changed(e);
    if (e->untouched)
        return FMD_OK; /* OUT stays exactly as the last build left it: complete */
    st = fmd_io_state_journal_open(e->state, e->digest, &err);
    if (st != FMD_OK)
        return fail_with(r, st, err, FMD_IO_STATE_DIR "/journal");
    fmd_io_target_kind kind;
    if (fmd_io_target_classify(outfd, FMD_IO_MANIFEST_NAME, &kind, &err) == FMD_OK &&
        kind == FMD_IO_TARGET_REPLACE && unlinkat(outfd, FMD_IO_MANIFEST_NAME, 0) != 0 &&
        errno != ENOENT)
        return fail_with(r, FMD_E_IO, errno, FMD_IO_MANIFEST_NAME);
    return FMD_OK;
fail:
    return st;
}

/* After every page went through the sink: journal what the writer pool wrote, remove the outputs
 * of sources that are gone, and write the new state (which removes the journal). */
static fmd_status commit_state(engine *e)
{
    fmd_engine_result *r = e->r;
    int err = 0;
    if (e->cfg->writer_pool) {
        for (size_t i = 0; i < e->n; i++) {
            if (e->rec[i] == NULL || e->skip[i])
                continue;
            if (e->pages[i].status == FMD_OK && e->render_st[i] == FMD_OK)
                fmd_io_state_journal_add(e->state, e->rec[i], e->rec_len[i]);
            free(e->rec[i]);
            e->rec[i] = NULL;
        }
    }
    for (size_t k = 0; k < e->n_gone; k++) {
        if (fmd_io_out_remove(e->out, e->gone[k]->output, &err) == FMD_OK)
            r->removed++;
    }
    fmd_status st = fmd_io_state_journal_flush(e->state, false, &err);
    if (st != FMD_OK)
        return fail_with(r, st, err, FMD_IO_STATE_DIR "/journal");
    const char **parts = malloc((e->n ? e->n : 1) * sizeof *parts);
    size_t *lens = malloc((e->n ? e->n : 1) * sizeof *lens);
    if (parts == NULL || lens == NULL) {
        free(parts);
        free(lens);
        return fail_with(r, FMD_E_NOMEM, 0, "state");
    }
    size_t m = 0;
    for (size_t i = 0; i < e->n; i++) {
        if (e->skip[i]) {
            parts[m] = e->old[i]->raw;
            lens[m++] = e->old[i]->raw_len;
        }
    }
    st = fmd_io_state_commit(e->state, e->digest, (const char *const *)parts, lens, m, &err);
    free(parts);
    free(lens);
    if (st != FMD_OK)
        return fail_with(r, st, err, FMD_IO_STATE_DIR "/state");
    return FMD_OK;
}

/* Enumerate SRC and open the outputs. */
static fmd_status open_stream(engine *e);
static fmd_status open_io(engine *e)
{
    const fmd_engine_cfg *cfg = e->cfg;
    fmd_engine_result *r = e->r;
    int err = 0;
    fmd_status st = fmd_io_tree_enumerate(cfg->src, e->nthreads, &e->batch, &err);
    if (st != FMD_OK)
        return fail_with(r, st, err, cfg->src);
    e->pages = fmd_io_batch_pages(e->batch, &e->n);
    r->warnings = fmd_io_batch_warnings(e->batch, &r->n_warnings);
    r->t_enumerate = fmd_clock_now() - e->t_start;
    if (e->n == 0 && cfg->require_pages) {
        r->no_pages = true;
        return fail_with(r, FMD_E_NOINPUT, 0, cfg->src);
    }
    if (cfg->shard_n != 0 && keep_shard(e) != FMD_OK)
        return r->st;

    double t_open = fmd_clock_now();
    if (cfg->out_dir != NULL) {
        st = fmd_io_out_open(cfg->out_dir, &e->out, &err);
        if (st != FMD_OK)
            return fail_with(r, st, err, cfg->out_dir);
        if (cfg->durable && !cfg->no_manifest) {
            st = open_state(e);
            if (st != FMD_OK)
                return st;
        }
    }
    r->t_write += fmd_clock_now() - t_open;
    return FMD_OK;
}

/* Open the manifest (tree mode, unless nothing changed) or the NDJSON stream. */
static fmd_status open_stream(engine *e)
{
    const fmd_engine_cfg *cfg = e->cfg;
    fmd_engine_result *r = e->r;
    int err = 0;
    fmd_status st = FMD_OK;
    double t_open = fmd_clock_now();
    if (e->out != NULL && !cfg->no_manifest && !e->untouched) {
        const char *name =
            e->shard != NULL ? fmd_io_shard_manifest(e->shard) : FMD_IO_MANIFEST_NAME;
        st = fmd_io_stream_open_file(&e->stream, e->out, name, e->n, &err);
        if (st != FMD_OK)
            return fail_with(r, st, err, name);
    } else if (e->out == NULL && cfg->ndjson_path != NULL) {
        st = fmd_io_stream_open_path(&e->stream, cfg->ndjson_path, e->n, &err);
        if (st != FMD_OK)
            return fail_with(r, st, err, cfg->ndjson_path);
    }
    r->t_write += fmd_clock_now() - t_open;
    return FMD_OK;
}

/* Under a supervisor: what each page's verdict makes of it. A page that ended a worker twice, or
 * outlived its deadline, fails with that verdict; a retry worker renders only the suspects. Such
 * pages are marked so that the loader reads no byte of them. */
static fmd_status apply_guard(engine *e)
{
    const fmd_guard *g = e->cfg->guard;
    if (g == NULL || e->n == 0)
        return FMD_OK;
    e->fate = calloc(e->n, 1);
    if (e->fate == NULL)
        return fail_with(e->r, FMD_E_NOMEM, 0, "guard");
    bool retry = g->mode == FMD_GUARD_RETRY;
    if (g->n_pages == 0 && !retry)
        return FMD_OK;
    for (size_t i = 0; i < e->n; i++) {
        fmd_io_page *p = &e->pages[i];
        const fmd_guard_page *v = fmd_guard_find(g, p->path);
        if (retry) {
            if (v == NULL || v->verdict != FMD_GUARD_SUSPECT) {
                e->fate[i] = FATE_DROP;
                if (p->status == FMD_OK)
                    p->status = FMD_E_CANCELLED;
            }
            continue;
        }
        if (v == NULL || (v->verdict != FMD_GUARD_CRASHED && v->verdict != FMD_GUARD_TIMEOUT))
            continue;
        e->fate[i] = FATE_FAILED;
        if (e->skip != NULL)
            e->skip[i] = 0;
        p->status = v->verdict == FMD_GUARD_CRASHED ? FMD_E_CRASHED : FMD_E_TIMEOUT;
        p->err = 0;
    }
    return FMD_OK;
}

/* Per-thread sink state, per-page tables, the windows and the kernel's batch. */
static fmd_status open_threads(engine *e)
{
    const fmd_engine_cfg *cfg = e->cfg;
    fmd_engine_result *r = e->r;
    e->slots = aligned_alloc(64, sizeof(sink_slot) * (size_t)e->nthreads);
    if (e->slots == NULL)
        return fail_with(r, FMD_E_NOMEM, 0, "sink");
    /* Zeroed first: close frees every slot's arena, made or not. */
    memset(e->slots, 0, sizeof(sink_slot) * (size_t)e->nthreads);
    for (int t = 0; t < e->nthreads; t++)
        if (fmd_arena_create(&e->slots[t].arena, 0) != FMD_OK)
            return fail_with(r, FMD_E_NOMEM, 0, "sink");
    /* One lane of line blocks per rendering thread: no malloc per line (format_line). */
    if (e->stream != NULL && fmd_io_stream_set_lanes(e->stream, e->nthreads) != FMD_OK)
        return fail_with(r, FMD_E_NOMEM, 0, "stream");
    size_t n1 = e->n ? e->n : 1;
    e->messages = calloc(n1, sizeof *e->messages);
    e->render_st = calloc(n1, 1);
    e->load_st = calloc(n1, 1);
    e->sunk = calloc(n1, 1);
    if (e->messages == NULL || e->render_st == NULL || e->load_st == NULL || e->sunk == NULL)
        return fail_with(r, FMD_E_NOMEM, 0, "messages");
    if (cfg->collect_latency) {
        e->latency = calloc(n1, sizeof *e->latency);
        if (e->latency == NULL)
            return fail_with(r, FMD_E_NOMEM, 0, "latency");
    }
    size_t win_bytes = window_bytes(cfg, e->nthreads);
    if (cfg->max_memory != 0) {
        size_t need = resident_bytes() + threads_bytes(cfg, e->nthreads) +
                      (cfg->queue_size + 3) * MIN_WINDOW_BYTES;
        if (cfg->max_memory < need)
            r->memory_needed = need;
    }
    e->writer_bytes = win_bytes; /* the writer pool holds at most one window of HTML */
    e->n_wins = plan_windows(e, win_bytes);
    if (e->wins == NULL)
        return fail_with(r, FMD_E_NOMEM, 0, "windows");
    size_t max_count = 0;
    for (size_t k = 0; k < e->n_wins; k++)
        max_count = e->wins[k].count > max_count ? e->wins[k].count : max_count;
    e->results = calloc(max_count ? max_count : 1, sizeof *e->results);
    e->ts = calloc((size_t)e->nthreads, sizeof *e->ts);
    r->thread_stats = calloc((size_t)e->nthreads, sizeof *r->thread_stats);
    if (e->results == NULL || e->ts == NULL || r->thread_stats == NULL ||
        fmd_kernel_batch_create(&e->kb, e->nthreads) != FMD_OK)
        return fail_with(r, FMD_E_NOMEM, 0, "kernel");

    /* With several NUMA nodes, each thread's node, for the split of every window. */
    if (e->pl->plan->n_nodes > 1) {
        e->thread_part = malloc(sizeof *e->thread_part * (size_t)e->nthreads);
        for (int t = 0; e->thread_part != NULL && t < e->nthreads; t++)
            e->thread_part[t] = e->pl->plan->threads[t].node;
    }
    return FMD_OK;
}

fmd_status fmd_engine_plan(const fmd_engine_cfg *cfg, int walk_threads, fmd_engine_result *r,
                           fmd_engine **out)
{
    memset(r, 0, sizeof *r);
    *out = NULL;
    engine *e = calloc(1, sizeof *e);
    if (e == NULL)
        return fail_with(r, FMD_E_NOMEM, 0, "engine");
    e->cfg = cfg;
    e->r = r;
    e->nthreads = walk_threads > 0 ? walk_threads : 1;
    e->t_start = fmd_clock_now();
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    e->t0_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    *out = e;
    return open_io(e); /* on failure the caller closes the engine, which frees what was made */
}

bool fmd_engine_untouched(const fmd_engine *e)
{
    return e != NULL && e->untouched;
}

fmd_status fmd_engine_attach(fmd_engine *e, fmd_placement *pl)
{
    if (e->pl != NULL || e->r->st != FMD_OK)
        return fail_with(e->r, FMD_E_USAGE, 0, "engine");
    e->pl = pl;
    e->nthreads = pl->plan->n_threads;
    fmd_status st = FMD_OK;
    FMD_TRY(open_stream(e));
    FMD_TRY(apply_guard(e));
    FMD_TRY(open_threads(e));
    e->opened = true;
    return FMD_OK;
fail:
    return st;
}

fmd_status fmd_engine_open(const fmd_engine_cfg *cfg, fmd_placement *pl, fmd_engine_result *r,
                           fmd_engine **out)
{
    fmd_status st = fmd_engine_plan(cfg, pl->plan->n_threads, r, out);
    if (st != FMD_OK)
        return st;
    return fmd_engine_attach(*out, pl);
}

/* Nothing changed (fmd_engine_untouched), and no placement: every page is one of the last build's,
 * counted as unchanged and not read; no thread, no file written. */
static void finish_untouched(engine *e)
{
    fmd_engine_result *r = e->r;
    for (size_t i = 0; i < e->n; i++) {
        e->pages[i].status = FMD_OK; /* marked so that nothing would read it */
        e->pages[i].err = 0;
        r->done++;
        r->failed += (e->old[i]->flags & FMD_IO_REC_FAILED) != 0;
    }
    r->unchanged = r->skipped = e->n;
}

/* Render window @p w (loaded) through the sink. */
static fmd_status render_window(engine *e, window *w, fmd_page_sink *sink)
{
    const fmd_engine_cfg *cfg = e->cfg;
    fmd_engine_result *r = e->r;
    double tp = fmd_clock_now();
    if (e->out != NULL)
        fmd_io_out_prepare(e->out, e->batch, w->first, w->count);
    r->t_write += fmd_clock_now() - tp;

    e->win_first = w->first;
    e->cur_in = &w->in;
    /* More than one NUMA node: each node's threads take their node's share of the window
     * (contiguous, by bytes) first, then steal from the others. */
    size_t n_parts = w->part_first != NULL && e->thread_part != NULL ? e->pl->plan->n_nodes : 0;
    fmd_batch_run run = {.base = w->in.base,
                         .pages = w->in.refs,
                         .n = w->count,
                         .opt = &cfg->opt,
                         .results = e->results,
                         .hook = &e->pl->hook,
                         .sink = sink,
                         .cancel = cfg->cancel,
                         .stats = e->ts,
                         .schedule = cfg->schedule,
                         .n_parts = n_parts,
                         .part_first = w->part_first,
                         .thread_part = e->thread_part};
    double t0 = fmd_clock_now();
    fmd_status st = fmd_kernel_batch_run(e->kb, &run);
    r->t_render += fmd_clock_now() - t0;
    for (int t = 0; t < e->nthreads; t++) {
        r->thread_stats[t].pages += e->ts[t].pages;
        r->thread_stats[t].bytes_in += e->ts[t].bytes_in;
        r->thread_stats[t].busy_s += e->ts[t].busy_s;
    }
    for (size_t i = 0; i < w->count; i++)
        if (e->results[i].status != FMD_E_CANCELLED)
            r->bytes_in += e->results[i].bytes_in;
    return st;
}

/* Start the loader (or load the only window here) and the progress thread. */
static fmd_status start_threads(engine *e)
{
    /* Tree mode with --writer-pool: writer k shares the core of render thread k (io/writer.c).
     * Off by default: on the 2-core development machine it was slower than writing each file
     * on the thread that rendered it (docs/performance.md has the figures). */
    if (e->out != NULL && e->cfg->writer_pool) {
        fmd_status st = fmd_io_writer_open(&e->writer, e->out, e->batch, e->stream, e->nthreads,
                                           WRITER_QUEUE_PER_THREAD * (size_t)e->nthreads,
                                           e->writer_bytes, bind_writer, e);
        if (st != FMD_OK)
            return fail_with(e->r, st, 0, "writer threads");
    }
    /* One window: load it here, on the thread whose OpenMP team then renders it (a loader
     * thread would start a second team for nothing). */
    if (e->n_wins <= 1)
        loader_main(e);
    else if (pthread_create(&e->loader, NULL, loader_main, e) != 0)
        return fail_with(e->r, FMD_E_NOMEM, 0, "loader thread");
    else
        e->loader_started = true;
    if (e->cfg->progress != NULL) {
        e->pr.e = e;
        pthread_mutex_init(&e->pr.mu, NULL);
        pthread_cond_init(&e->pr.cv, NULL);
        if (pthread_create(&e->pr.tid, NULL, progress_main, &e->pr) == 0) {
            e->progress_started = true;
        } else {
            pthread_mutex_destroy(&e->pr.mu);
            pthread_cond_destroy(&e->pr.cv);
        }
    }
    return FMD_OK;
}

fmd_status fmd_engine_render(fmd_engine *e)
{
    fmd_engine_result *r = e->r;
    if (e->rendered || (!e->opened && !(e->untouched && e->pl == NULL && r->st == FMD_OK)))
        return fail_with(r, FMD_E_USAGE, 0, "engine");
    e->rendered = true;
    if (!e->opened) {
        finish_untouched(e);
        return FMD_OK;
    }
    fmd_status st = start_threads(e);
    if (st != FMD_OK)
        return st;

    fmd_page_sink sink = {.fn = engine_sink, .userdata = e, .release = true, .begin = engine_begin};
    for (size_t k = 0; k < e->n_wins; k++) {
        if (cancelled(e))
            break; /* take no new window */
        double tw = fmd_clock_now();
        pthread_mutex_lock(&e->mu);
        while (e->loaded <= k && !e->loader_done)
            pthread_cond_wait(&e->cv, &e->mu);
        bool have = e->loaded > k;
        pthread_mutex_unlock(&e->mu);
        r->t_load_wait += fmd_clock_now() - tw;
        if (!have)
            break; /* the loader stopped early: cancelled */
        window *w = &e->wins[k];
        r->t_load += w->load_s;
        if (w->st != FMD_OK) {
            fail_with(r, w->st, 0, "loading");
            break;
        }
        size_t to_render = w->count;
        if (e->skip != NULL || e->fate != NULL) {
            to_render = 0;
            for (size_t i = 0; i < w->count; i++)
                to_render += !(e->skip != NULL && e->skip[w->first + i]) &&
                             !(e->fate != NULL && e->fate[w->first + i] == FATE_DROP);
        }
        if (to_render == 0) {
            /* Every page of the window is recorded and unchanged (or not this worker's): no
             * team, no render. */
            size_t sunk = 0;
            for (size_t i = 0; i < w->count; i++) {
                if (e->fate != NULL && e->fate[w->first + i] == FATE_DROP)
                    continue;
                sink_recorded(e, &e->slots[0], w->first + i);
                sunk++;
            }
            atomic_fetch_add_explicit(&e->slots[0].done, sunk, memory_order_relaxed);
        } else {
            st = render_window(e, w, &sink);
        }
        fmd_io_input_destroy(&w->in);
        pthread_mutex_lock(&e->mu);
        e->consumed++;
        pthread_cond_broadcast(&e->cv);
        pthread_mutex_unlock(&e->mu);
        if (st != FMD_OK) {
            fail_with(r, st, 0, "rendering");
            break;
        }
    }
    fmd_numa_thread_unbind(e->pl->plan, NULL);
    if (e->writer != NULL) {
        double t0 = fmd_clock_now();
        fmd_status wst = fmd_io_writer_close(e->writer);
        e->writer = NULL;
        r->t_write += fmd_clock_now() - t0;
        if (wst != FMD_OK)
            fail_with(r, wst, 0, "writing");
        /* Pages whose file the pool could not write: report them now. */
        for (size_t i = 0; i < e->n; i++) {
            if (e->pages[i].status != FMD_OK && e->load_st[i] == FMD_OK && e->sunk[i]) {
                fmd_result none = {0};
                note_messages(e, i, &none); /* replaces a warning-only message, if any */
            }
        }
    }
    for (size_t i = 0; i < e->n; i++) {
        if (!e->sunk[i])
            continue;
        r->done++;
        if (e->render_st[i] != FMD_OK || e->pages[i].status != FMD_OK)
            r->failed++;
    }
    if (r->st == FMD_OK && r->done < e->n && cancelled(e)) {
        r->cancelled = true;
        fail_with(r, FMD_E_CANCELLED, 0, "cancelled");
    }
    if (r->st == FMD_OK && e->fate != NULL && e->cfg->guard->mode == FMD_GUARD_RETRY) {
        /* A retry worker: its suspects are journaled; the next worker publishes the build. */
        r->partial = true;
        fail_with(r, FMD_E_CANCELLED, 0, "retry");
    }

    /* The ordered stream: wait for its tail, then publish it (rename the manifest). A run that
     * failed or was cancelled leaves its lines unwritten: close() aborts the stream. */
    if (e->stream != NULL && r->st == FMD_OK) {
        int err = 0;
        double t0 = fmd_clock_now();
        fmd_status sst = fmd_io_stream_close(e->stream, &err);
        e->stream = NULL;
        r->t_write += fmd_clock_now() - t0;
        if (sst != FMD_OK)
            fail_with(r, sst, err, e->cfg->out_dir ? FMD_IO_MANIFEST_NAME : e->cfg->ndjson_path);
    }
    if (e->state != NULL && !e->untouched) {
        if (r->st == FMD_OK) {
            double t0 = fmd_clock_now();
            if (commit_state(e) == FMD_OK && e->shard != NULL)
                publish_shard(e);
            r->t_write += fmd_clock_now() - t0;
        } else {
            /* Interrupted or failed: what was done stays journaled for the next run. */
            int err = 0;
            fmd_io_state_journal_flush(e->state, true, &err);
        }
    }
    return r->st;
}

void fmd_engine_close(fmd_engine *e)
{
    if (e == NULL)
        return;
    fmd_engine_result *r = e->r;
    if (e->writer != NULL)
        fmd_io_writer_close(e->writer);
    if (e->loader_started) {
        pthread_mutex_lock(&e->mu);
        e->stop = 1;
        pthread_cond_broadcast(&e->cv);
        pthread_mutex_unlock(&e->mu);
        pthread_join(e->loader, NULL);
    }
    for (size_t k = 0; k < e->n_wins && e->wins != NULL; k++) {
        fmd_io_input_destroy(&e->wins[k].in);
        free(e->wins[k].part_first);
    }
    if (e->progress_started)
        progress_stop(&e->pr);
    if (e->stream != NULL)
        fmd_io_stream_abort(e->stream);
    r->pages = e->n;
    r->windows = e->n_wins;
    if (e->slots != NULL) {
        for (int t = 0; t < e->nthreads; t++) {
            r->rendered += e->slots[t].rendered;
            r->unchanged += e->slots[t].unchanged;
            r->skipped += e->slots[t].skipped;
            r->bytes_out += e->slots[t].bytes_out;
            if (r->thread_stats != NULL)
                r->thread_stats[t].wait_s = e->slots[t].write_s; /* time in the sink */
            fmd_arena_destroy(e->slots[t].arena);
        }
        free(e->slots);
    }
    r->nthreads = e->opened ? e->nthreads : 0; /* untouched, or failed: no team */
    r->latency = e->latency;
    r->messages = e->messages;
    r->wall = fmd_clock_now() - e->t_start;
    r->batch = e->batch; /* the caller reports page errors from it, then frees it */
    fmd_io_out_close(e->out);
    fmd_kernel_batch_destroy(e->kb);
    free(e->thread_part);
    free(e->results);
    free(e->ts);
    free(e->wins);
    free(e->render_st);
    free(e->load_st);
    free(e->sunk);
    for (size_t i = 0; e->skip != NULL && i < e->n; i++)
        if (e->skip[i] && e->pages[i].status == FMD_E_CANCELLED)
            e->pages[i].status = FMD_OK; /* never reached the sink: cancelled */
    for (size_t i = 0; e->rec != NULL && i < e->n; i++)
        free(e->rec[i]);
    free(e->rec);
    free(e->rec_len);
    free(e->old);
    free(e->fate);
    free(e->skip);
    free(e->gone);
    fmd_io_state_close(e->state); /* releases the lock */
    fmd_io_shard_close(e->shard); /* and a shard's shared lock on OUT, last */
    free(e->all_paths);
    free(e->all_outputs);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
    free(e);
}

fmd_status fmd_engine_run(const fmd_engine_cfg *cfg, fmd_placement *pl, fmd_engine_result *r)
{
    fmd_engine *e = NULL;
    if (fmd_engine_open(cfg, pl, r, &e) == FMD_OK)
        fmd_engine_render(e);
    fmd_engine_close(e);
    return r->st;
}

void fmd_engine_result_destroy(fmd_engine_result *r)
{
    fmd_io_batch_destroy(r->batch);
    free(r->thread_stats);
    free(r->latency);
    if (r->messages != NULL)
        for (size_t i = 0; i < r->pages; i++)
            free(r->messages[i]);
    free(r->messages);
    memset(r, 0, sizeof *r);
}
