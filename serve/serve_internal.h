/* SPDX-License-Identifier: MIT */
/* fastmd serve: what its files share (cmd_serve.c: flags, the reader thread and dispatch;
 * serve_methods.c: the small-request lane; serve_batch.c: the batch queue, the executor on the
 * kernel's parallel loop, the ordered emitter and progress; serve_stats.c: counters, health and
 * stats; serve_rules.c: the compiled-rules cache). The wire format is io/'s (fmd_rpc.h). */
#ifndef FMD_SERVE_INTERNAL_H
#define FMD_SERVE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc.h"
#include "fmd_clock.h"
#include "fmd_engine.h"
#include "fmd_serve.h"

/** health's default stall threshold (seconds without a finished page while work waits). */
#define SERVE_STALL_S_DEFAULT 30.0
/** The retry hint of an Overloaded answer, in milliseconds. */
#define SERVE_RETRY_AFTER_MS 200

/*** Counters (serve_stats.c) ***/

/** Upper bounds of the latency histogram's buckets, in milliseconds (docs/protocol.md). */
#define SERVE_N_BUCKETS 16
extern const double serve_buckets_ms[SERVE_N_BUCKETS];

/** The error codes counted one by one; anything else counts as the last entry. */
#define SERVE_N_ERRCODES 9
extern const int serve_errcodes[SERVE_N_ERRCODES];

typedef struct serve_stats {
    atomic_size_t requests[FMD_RPC_METHOD_COUNT];
    atomic_size_t errors[SERVE_N_ERRCODES];
    atomic_size_t pages_ok, pages_failed, pages_retried, pages_cancelled;
    atomic_size_t bytes_in, bytes_out;
    atomic_size_t bytes_read; /* protocol bytes on standard input */
    atomic_size_t batches, batches_cancelled;
    atomic_uint_fast64_t parse_ns, serialize_ns, load_ns, render_ns;
    atomic_size_t lat_counts[FMD_RPC_METHOD_COUNT][SERVE_N_BUCKETS + 1];
    /* Memory held, in bytes (docs/protocol.md, "Memory"): accepted requests not yet answered,
     * formatted items not yet written, held results of non-streamed batches. */
    atomic_size_t mem_requests, mem_pending, mem_held;
    atomic_size_t mem_refused; /* requests answered -32001 for memory */
    /* When a page last finished, or work last started (fmd_clock_now() in nanoseconds). */
    atomic_uint_fast64_t last_progress_ns;
    atomic_uint_fast64_t lat_sum_ns[FMD_RPC_METHOD_COUNT];
} serve_stats;

/** Add @p seconds to a nanosecond counter. */
void serve_add_time(atomic_uint_fast64_t *ns, double seconds);

/*** The compiled-rules cache (serve_rules.c) ***/

/** Rule sets kept compiled; the least recently used one not in use is dropped first. */
#define SERVE_RULES_CACHE 16

typedef struct serve_rules_entry serve_rules_entry;

typedef struct serve_rules_cache {
    const fmd_rules *defaults; /* the server's rules (--rules), for requests without rules */
    pthread_mutex_t mu;
    serve_rules_entry *e[SERVE_RULES_CACHE];
    unsigned long tick;
} serve_rules_cache;

void serve_rules_init(serve_rules_cache *c);
void serve_rules_destroy(serve_rules_cache *c);

/** The compiled set for @p o's rules, from the cache or compiled now: the server's rules
 * (c->defaults, possibly NULL) when the request gave no options.rules, NULL when it gave [].
 * On a rule that does not compile, fails @p req with -32602 naming the rule and returns
 * FMD_E_RULE. @param handle receives what to pass to serve_rules_release().
 * @return FMD_OK, FMD_E_RULE, FMD_E_NOMEM. Threads: safe. */
fmd_status serve_rules_acquire(serve_rules_cache *c, fmd_rpc_request *req, const fmd_rules **out,
                               serve_rules_entry **handle);
void serve_rules_release(serve_rules_cache *c, serve_rules_entry *handle);

/*** The result cache (serve_cache.c) ***/

/** A key: XXH3-128 of the page's bytes, then XXH3-128 of the effective options (canonical). */
#define SERVE_CACHE_KEY 32
/** The version of what a cached result holds: bump it when the kernel's output changes shape. */
#define SERVE_CACHE_FORMAT "fastmd-result-1"

typedef struct serve_cache serve_cache;
typedef struct serve_cache_stats {
    size_t hits, misses, evictions, bytes, entries, limit;
} serve_cache_stats;

/** A cache of at most @p max_bytes; 0: none (*out NULL, and every call below is a miss).
 * @return FMD_OK or FMD_E_NOMEM. */
fmd_status serve_cache_create(serve_cache **out, size_t max_bytes);
void serve_cache_destroy(serve_cache *c);
/** The key of page @p page under options digest @p opts. Threads: reentrant. */
void serve_cache_key(const char *page, size_t len, const unsigned char opts[16],
                     unsigned char key[SERVE_CACHE_KEY]);
/** XXH3-128 of @p text (an options digest). */
void serve_cache_digest(const char *text, size_t len, unsigned char out[16]);
/** Look @p key up; on a hit, copy the result into @p out and fill @p res (its slices point into
 * @p out). Counts a hit or a miss. Threads: safe (one lock per shard, held for the copy). */
bool serve_cache_get(serve_cache *c, const unsigned char key[SERVE_CACHE_KEY], fmd_arena *out,
                     fmd_result *res);
/** A hit as the wire needs it (serve_cache_get_formatted()). */
typedef struct serve_cache_hit {
    fmd_slice html;   /**< the page's HTML */
    char *html_owned; /**< html.ptr when it was malloc'ed for the caller (free() it); else NULL */
    fmd_slice meta;   /**< fmd_rpc_put_page_meta()'s bytes */
    size_t title_at;  /**< the title's value is meta[title_at, title_end) */
    size_t title_end;
    bool has_title; /**< false: the title is null there, and the caller may put its own */
    uint64_t hash;
} serve_cache_hit;

/** Look @p key up; on a hit, copy the HTML (malloc'ed when @p html_malloc, else into @p out)
 * and the formatted metadata (into @p out) into @p hit: a hit costs two copies and no
 * formatting. Counts a hit or a miss. Threads: safe (one lock per shard, held for the copy). */
bool serve_cache_get_formatted(serve_cache *c, const unsigned char key[SERVE_CACHE_KEY],
                               fmd_arena *out, bool html_malloc, serve_cache_hit *hit);
/** Keep a copy of @p r (only when r->status is FMD_OK) under @p key, with its metadata formatted
 * (in @p scratch, rewound before it returns), evicting the least recently used entries of its
 * shard past the bound. Threads: safe. */
void serve_cache_put(serve_cache *c, const unsigned char key[SERVE_CACHE_KEY], const fmd_result *r,
                     fmd_arena *scratch);
/** serve_cache_put() for a result loaded at start-up (--warm): kept in memory, not stored. */
void serve_cache_warm(serve_cache *c, const unsigned char key[SERVE_CACHE_KEY], const fmd_result *r,
                      fmd_arena *scratch);
/** The counters (all 0 without a cache). Threads: safe. */
void serve_cache_counters(serve_cache *c, serve_cache_stats *out);

/*** The persistent store (store.c) and warming (warm.c) ***/

/** What a result line names besides the result (serve_result_parse()). */
typedef struct serve_result_names {
    fmd_slice path;    /**< "path" (ptr NULL: none) */
    fmd_slice output;  /**< "output": the HTML file of a build's OUT (ptr NULL: none) */
    size_t bytes_out;  /**< "bytesOut" */
    bool html_missing; /**< the line has no "html" (a manifest line) */
} serve_result_names;

/** Read one result line as `fastmd build` writes it (fmd_io_page_format_json(), with or without
 * the HTML) back into @p res: a page with status "ok" only. The front matter keeps the line's
 * bytes. Without @p names the line must hold its HTML; with it, the line is a build's, whose title
 * came from the file name when the page had no front matter title and no heading: then
 * res->title is NULL, as the kernel left it.
 * @return FMD_OK; FMD_E_PARSE (not such a line, or a failed page); FMD_E_NOMEM.
 * Ownership: @p res's slices and @p names point into @p a. Threads: reentrant. */
fmd_status serve_result_parse(const char *line, size_t len, fmd_arena *a, fmd_result *res,
                              serve_result_names *names);

/** --cache-dir's bound when none is given: 1 GiB. */
#define SERVE_STORE_DEFAULT ((size_t)1 << 30)

typedef struct serve_store serve_store;
typedef struct serve_store_stats {
    size_t hits, misses, writes, evictions, failures, bytes, entries, limit;
} serve_store_stats;

/** Open (creating it when missing, not its parents) the store in @p dir, bounded by @p max_bytes:
 * index the results already there (oldest use first), remove temporary files a killed run left,
 * and evict down to the bound. Only names of the store's own form are touched.
 * @param err receives errno on failure. @return FMD_OK, FMD_E_CANTCREATE, FMD_E_NOINPUT,
 * FMD_E_NOMEM. Ownership: close with serve_store_close(). */
fmd_status serve_store_open(serve_store **out, const char *dir, size_t max_bytes, int *err);
void serve_store_close(serve_store *st);
/** Read @p key's result back into @p a (a stored file that cannot be read is removed).
 * Threads: safe. */
bool serve_store_get(serve_store *st, const unsigned char key[SERVE_CACHE_KEY], fmd_arena *a,
                     fmd_result *res);
/** Store @p r (FMD_OK only) under @p key unless it is there: a temporary file in the directory,
 * renamed into place; then the least recently used files go past the bound. @p scratch is
 * rewound before it returns. Threads: safe. */
void serve_store_put(serve_store *st, const unsigned char key[SERVE_CACHE_KEY], const fmd_result *r,
                     fmd_arena *scratch);
/** The counters (all 0 without a store). Threads: safe. */
void serve_store_counters(serve_store *st, serve_store_stats *out);

/** What serve_warm() did. */
typedef struct serve_warm_report {
    size_t loaded;    /**< results put in the cache */
    size_t stale;     /**< pages gone or changed since the build (or their HTML file) */
    size_t skipped;   /**< failed pages and lines that are no result */
    size_t checked;   /**< pages rendered again to compare */
    const char *what; /**< on failure: why, as a phrase after the file's name */
    int err;          /**< errno, or 0 */
} serve_warm_report;

/** Behind the memory cache @p c: misses are looked up in @p st, and what is put is stored. */
void serve_cache_set_store(serve_cache *c, serve_store *st);

/*** The trace (serve_trace.c) ***/

typedef struct serve_trace serve_trace;
/** Pages of one batch traced one by one; above it, every (n / limit + 1)-th page. */
#define SERVE_TRACE_PAGES 1000
/** Track (tid) numbers: the reader, the batch executor, lane k, engine worker k. */
enum { SERVE_TID_READER = 1, SERVE_TID_BATCH = 2, SERVE_TID_LANE = 10, SERVE_TID_WORKER = 100 };

/** Start a trace on @p fd (the caller's; -1: no trace, *out NULL). Writes the array's head.
 * @return FMD_OK or FMD_E_NOMEM. */
fmd_status serve_trace_open(serve_trace **out, int fd);
void serve_trace_close(serve_trace *t);
/** Write whole lines (one write per call, under the trace's lock). */
void serve_trace_write(serve_trace *t, const char *line, size_t len);
/** Name the calling thread's track @p tid (a metadata event) and remember it for
 * serve_trace_tid(). @p t may be NULL (then only remembered). */
void serve_trace_thread(serve_trace *t, int tid, const char *name);
/** Whether @p s can go into a JSON string as it is (no quote, backslash or control character). */
bool serve_trace_plain(const char *s);
/** The calling thread's track (0: none set). */
int serve_trace_tid(void);
/** One complete span ("ph":"X") named @p name on track @p tid from @p start to @p end
 * (fmd_clock_now() seconds), with the request's trace id, span id, parent span and id, and
 * @p extra_args (JSON members without braces, or NULL). Nothing when @p t is NULL. */
void serve_trace_span(serve_trace *t, const char *name, int tid, double start, double end,
                      const fmd_rpc_request *req, const char *extra_args);

/*** The server ***/

typedef struct serve_batch serve_batch;

/** A queued small request. */
typedef struct serve_job {
    struct serve_job *next;
    fmd_rpc_request *req;
} serve_job;

/** Per-thread arenas of the batch sink, one cache line each, kept from batch to batch. */
typedef struct serve_sink_slot {
    _Alignas(64) fmd_arena *fmt; /* formatting, reset after every page */
    fmd_arena *out, *scratch;    /* re-rendering a page (retry), reset after it */
} serve_sink_slot;

/*** The team of a batch under --threads auto (team.c) ***/

/** What one batch's team was sized from, and the size. */
typedef struct serve_team {
    int threads;       /**< the team: 1 .. the engine's threads */
    int allowed_cpus;  /**< CPUs in this process's affinity mask; 0: unknown */
    double quota_cpus; /**< the cgroup's CPU quota in CPUs (cpu.max); 0: none */
    double loadavg;    /**< the 1-minute load average when the batch started */
} serve_team;

/** min(@p max, @p allowed_cpus, the quota rounded up) minus the load average rounded, at least 1;
 * an input <= 0 does not cap. Threads: any (pure). */
int serve_team_size(int max, int allowed_cpus, double quota_cpus, double loadavg);

/** The cgroup CPU quota of this process in CPUs, or 0 when it has none: cgroup v2's cpu.max of
 * the group that @p root/proc/self/cgroup names, else cpu.max or v1's cpu.cfs_quota_us and
 * cpu.cfs_period_us under @p root/sys/fs/cgroup. @p root: "" or NULL for the real system, a
 * folder for tests. Threads: any. */
double serve_cgroup_quota(const char *root);

/** The 1-minute load average from @p root/proc/loadavg, 0 when it cannot be read. */
double serve_load_average(const char *root);

/** CPUs in this process's affinity mask (sched_getaffinity), 0 when it cannot be read. */
int serve_allowed_cpus(void);

/** Fill @p t for a batch now: the inputs read from @p root ("" or NULL: the system), and the size
 * for at most @p max threads. Threads: any; reads a few small files. */
void serve_team_choose(serve_team *t, int max, const char *root);

typedef struct serve {
    /* Fixed once started. */
    const fmd_serve_cfg *cfg;
    fmd_rpc_writer *w;
    fmd_io_root *root;
    const char *root_path;
    /* The root's absolute names (as given, resolved), NULL-terminated: an absolute path under
     * either is read relative to the root. */
    char *root_abs_mem[2];
    const char *root_abs[3];
    fmd_options defaults;
    fmd_placement pl;
    int nthreads;
    bool auto_threads; /* size each batch's team with serve_team_choose() */
    int lanes;
    size_t max_queued;
    size_t max_memory; /* 0: none */
    double stall_s;
    double alert_at[FMD_SERVE_ALERT_COUNT]; /* <= 0: off */
    const char *hang_file;                  /* test hook (FMD_TEST_HOOKS builds) */
    /* Test hooks, from the environment, 0 in production: FASTMD_SERVE_TEST_FAULT_EVERY (see
     * fmd_rpc_load_items()) and FASTMD_SERVE_TEST_DELAY_US (each batch page then takes this much
     * longer, so that tests can cancel or query a batch while it runs on any machine). */
    size_t fault_every;
    size_t delay_us;
    double t0;
    serve_stats stats;
    serve_rules_cache rules;
    serve_cache *cache;       /* NULL: --cache-bytes 0 */
    serve_trace *trace;       /* NULL: no --trace */
    atomic_int lanes_started; /* numbers the lanes' trace tracks */
    atomic_uint_fast64_t trace_seq;
    unsigned char rules_digest[16]; /* of the --rules file's bytes (zero without one) */
    serve_store *store;             /* NULL: no --cache-dir */
    serve_warm_report warm;         /* what --warm loaded */

    /* The batch executor's own. */
    fmd_kernel_batch *kb;
    serve_sink_slot *sink_slots; /* nthreads */

    /* Under mu. */
    pthread_mutex_t mu;
    pthread_cond_t cv_small;   /* a small job came, or draining */
    pthread_cond_t cv_batch;   /* a batch came, or draining */
    pthread_cond_t cv_metrics; /* draining: the metrics writer's last round */
    serve_job *small_head, *small_tail;
    size_t small_queued;
    size_t small_running;
    serve_batch *bq_head, *bq_tail; /* queued batches, FIFO */
    size_t batches_queued;
    serve_batch *running;
    unsigned long next_batch_no;
    bool draining;
    unsigned alerts_active; /* bit a: alert a is raised */
} serve;

/** A batch, from submission to its answer. The reader reads id, req->id, cancel, completed and
 * total under serve.mu (health, cancel); the executor owns the rest. */
struct serve_batch {
    serve_batch *next;
    fmd_rpc_request *req;
    char *id;
    _Atomic int cancel;
    atomic_size_t completed, failed;
    size_t total;
    const fmd_rules *rules;
    serve_rules_entry *rules_handle;
    size_t mem_counted; /* bytes of mem_requests this batch holds */
};

/** Load the results of a build (its --ndjson stream, or its OUT directory) from @p path into the
 * cache, keyed as for a request without options (warm.c).
 * @return FMD_OK; FMD_E_NOINPUT (unreadable), FMD_E_USAGE (the build's results differ from
 * serve's), FMD_E_NOMEM, with @p rep saying why. Threads: call before any request is read. */
fmd_status serve_warm(serve *s, const char *path, serve_warm_report *rep);

/** The options digest of @p req (its options as resolved, its rules or the server's): the second
 * half of every cache key of the request (serve_cache.c). */
void serve_options_digest(const serve *s, const fmd_rpc_request *req, unsigned char out[16]);

/** Give @p req its span id, and a trace id when its traceparent gave none (serve_trace.c). */
void serve_trace_ids(serve *s, fmd_rpc_request *req);

/** When @p req gave a traceparent: `,"_meta":{"traceparent":"00-<trace>-<its span>-<flags>"}`
 * (or without the leading comma, with a trailing one, when @p before_more); else nothing. */
fmd_status serve_put_traceparent(fmd_buf *b, const fmd_rpc_request *req, bool before_more);

/*** Answers (cmd_serve.c) ***/

/** Write @p b (whole lines) to the client; count the serialisation seconds @p ser_s. */
void serve_send(serve *s, const fmd_buf *b);
/** Answer @p req with an error (nothing for a notification); counts it. */
void serve_send_error(serve *s, const fmd_rpc_request *req, int code, const char *message,
                      const char *data_json, size_t data_len);
/** Record that @p req is answered now (latency histogram); call just before writing. */
void serve_done(serve *s, const fmd_rpc_request *req);
/** Count an error response with @p code. */
void serve_count_error(serve *s, int code);

/*** The small lane (serve_methods.c) ***/

typedef struct serve_lane {
    fmd_arena *out, *scratch, *fmt;
} serve_lane;

/** Answer a transform, normalize or computeDigest request on a lane thread; frees @p req. */
void serve_answer_small(serve *s, serve_lane *lane, fmd_rpc_request *req);

/*** Batches (serve_batch.c) ***/

/** Queue a transformBatch (reader thread): checks the batch ID and the queue limit, compiles
 * the rules, then hands @p req to the executor. Answers errors itself. Takes @p req. */
void serve_batch_submit(serve *s, fmd_rpc_request *req);
/** The executor thread: runs queued batches one at a time until draining and empty. */
void *serve_batch_main(void *arg);
/** Set the cancel flag of the live batch with this batch ID (or, with @p by_request, whose
 * request id is @p key). @return whether one was found. Threads: any. */
bool serve_batch_cancel(serve *s, const char *key, bool by_request);

/*** Memory (serve_stats.c) ***/

/** Bytes held now (the sum of the mem_* counters). */
size_t serve_mem_used(serve *s);
/** Whether @p extra more bytes would go over --max-memory. */
bool serve_mem_over(serve *s, size_t extra);
/** Record that the engine made progress now (a page finished, a batch started). */
void serve_mark_progress(serve *s);

/*** Alerts (serve_stats.c) ***/

/** Measure every alert with a threshold, and send an `alert` notification for each that is
 * raised or cleared since the last look. Threads: any (takes serve.mu). */
void serve_alerts_check(serve *s);

/*** health and stats (serve_stats.c) ***/

/** Append health's result object. Takes serve.mu. */
fmd_status serve_format_health(serve *s, fmd_buf *b);
/** Append the Prometheus text exposition of the counters. */
fmd_status serve_format_prometheus(serve *s, fmd_buf *b);
/** Append stats' result object (JSON counters, or {contentType, text} for Prometheus). */
fmd_status serve_format_stats(serve *s, fmd_buf *b, bool prometheus);

#endif
