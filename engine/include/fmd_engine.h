/* SPDX-License-Identifier: MIT */
/* The build pipeline as a library: enumerate a source tree, load it in windows on a loader
 * thread, render each window on the kernel's parallel loop, write each page's file and line
 * (manifest or NDJSON) in input order. It never prints and never exits: progress and per-page
 * messages go through the callbacks of fmd_engine_cfg, failures come back as fmd_status. */
#ifndef FMD_ENGINE_H
#define FMD_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

#include "fmd_guard.h"
#include "fmd_io.h"
#include "fmd_kernel.h"
#include "fmd_numa.h"
#include "fmd_status.h"

/** The topology and thread plan of one run, and the hook that binds the kernel's threads.
 * Filled by the caller (the command line resolves the thread count and loads the topology). */
typedef struct fmd_placement {
    fmd_numa_topology *topo; /**< NULL when the topology could not be loaded */
    fmd_numa_plan *plan;     /**< never NULL while a run uses it */
    fmd_thread_hook hook;
} fmd_placement;

/** Progress, from the engine's progress thread: @p done of @p total pages through the sink,
 * @p elapsed_s seconds since the run started. Called every 0.2 s while the run goes on, then
 * once more with @p final true. */
typedef void (*fmd_engine_progress_fn)(size_t done, size_t total, double elapsed_s, bool final,
                                       void *userdata);

/** The message about one page that failed or has warnings: @p name is SRC/path, @p load_status
 * and @p err io's status and errno for the page (a page that could not be read or written), @p res
 * the kernel's result. Called on a rendering thread, for distinct pages at once.
 * @return a malloc'ed NUL-terminated text (the engine keeps it in fmd_engine_result.messages and
 * frees it), or NULL for none. */
typedef char *(*fmd_engine_message_fn)(const char *name, fmd_status load_status, int err,
                                       const fmd_result *res, void *userdata);

typedef struct fmd_engine_cfg {
    const char *src;
    const char *out_dir;     /**< write a tree of HTML files and a manifest here, or NULL */
    const char *ndjson_path; /**< or stream every result as NDJSON here ("-": stdout) */
    bool no_manifest;        /**< tree mode without manifest (the I/O floor) */
    fmd_options opt;
    fmd_schedule schedule;
    size_t max_memory; /**< bound on the process's memory; 0: the whole batch in one window */
    size_t queue_size; /**< windows loaded ahead of the renderer (>= 1) */
    bool collect_latency;
    bool writer_pool; /**< create files in io/'s writer pool rather than on the rendering thread */
    fmd_engine_progress_fn progress; /**< NULL: no progress thread */
    fmd_engine_message_fn message;   /**< NULL: no per-page messages */
    void *userdata;                  /**< for both callbacks */
    /** NULL, or a flag another thread (a signal handler) may set at any time: once non-zero the
     * engine loads no further window and takes no new page; pages being rendered or written
     * finish, the rest are dropped (no file, no line), and the run ends with FMD_E_CANCELLED. */
    const _Atomic int *cancel;
    /** Tree mode with a manifest: keep the build state in OUT/.fastmd/ (docs/builds.md). Take
     * the lock, skip pages whose key and stat data match the state, leave unchanged outputs
     * alone, journal pages as they complete, remove the outputs of sources that are gone and
     * the temporary files a killed run left. Off: every page is rendered and written. */
    bool durable;
    bool wait_lock;         /**< durable: wait for another build's lock instead of failing */
    bool force;             /**< durable: ignore the state's keys, render and write every page */
    bool verify;            /**< durable: read and hash every page, even with matching stat data */
    const char *rules_path; /**< the --rules file, whose bytes are part of the options digest */
    bool require_pages;     /**< a SRC without pages fails with FMD_E_NOINPUT (r->no_pages) */
    /** Durable builds under a supervisor (cli/), or NULL: each rendering thread publishes its
     * page in flight here; pages with a verdict fail with it (FMD_E_CRASHED, FMD_E_TIMEOUT);
     * in FMD_GUARD_RETRY mode only the suspects are rendered and journaled, and the run ends
     * with r->partial, publishing nothing. */
    fmd_guard *guard;
    /** Fault injection, honoured in test builds only (FMD_TEST_HOOKS): the page with this path
     * in SRC raises SIGSEGV / sleeps forever without checking its deadline; every page sleeps
     * test_delay_ms first. Ignored by a release build. */
    const char *test_crash_page;
    const char *test_hang_page;
    unsigned test_delay_ms;
    /** Build only shard shard_k of shard_n (1 <= k <= n; n 0: no shards): the contiguous range
     * of the sorted page list that fmd_io_shard_range() gives. A durable tree build keeps its
     * lock, state, journal and partial manifest in OUT/.fastmd/shard-K-of-N/ and writes no
     * OUT/manifest.ndjson (`fastmd merge` does); with ndjson_path, the stream holds the shard's
     * lines only. Every shard enumerates all of SRC: a source is gone only when it left SRC. */
    unsigned shard_k, shard_n;
} fmd_engine_cfg;

typedef struct fmd_engine_result {
    fmd_status st; /**< batch-level failure, with errno and what failed */
    int err;
    const char *what;
    size_t pages, failed, bytes_in, bytes_out, windows;
    size_t done;      /**< pages through the sink (all of them unless cancelled or failed) */
    bool cancelled;   /**< st is FMD_E_CANCELLED: cfg->cancel was set before every page was done */
    bool locked;      /**< durable: another build holds OUT's lock (st FMD_E_IO, err EWOULDBLOCK) */
    size_t rendered;  /**< pages rendered and written (or failed) this run */
    size_t unchanged; /**< durable: pages whose key matched the state: output left alone */
    size_t skipped;   /**< of those, pages not even read (stat data matched) */
    size_t removed;   /**< durable: outputs removed because their source is gone */
    size_t leftovers; /**< durable: temporary files of a killed run removed */
    size_t memory_needed; /**< set when cfg->max_memory is below what the run needs at least
                               (its threads' arenas, the smallest windows, what the process holds
                               already): the bound cannot be kept; the run goes on regardless */
    bool no_pages;        /**< require_pages: SRC has no page; nothing was written */
    bool resumed;         /**< durable: the last run had not finished (its journal was used) */
    bool partial; /**< guard in FMD_GUARD_RETRY mode: the suspects were rendered and journaled */
    int nthreads;
    double wall, t_enumerate, t_load, t_load_wait, t_render, t_write;
    fmd_thread_stats *thread_stats; /**< nthreads; wait_s holds the time spent in the sink */
    double *latency;                /**< per page render seconds, when collected */
    char **messages;                /**< per page: what cfg->message returned, or NULL */
    fmd_io_batch *batch;
    const fmd_io_warning *warnings;
    size_t n_warnings;
} fmd_engine_result;

/** A build in progress: fmd_engine_open(), fmd_engine_render(), fmd_engine_close(). */
typedef struct fmd_engine fmd_engine;

/** Enumerate SRC, open the outputs, plan the windows and make the per-thread state. Nothing is
 * loaded or rendered yet, so a failure here (SRC missing, OUT not creatable) costs no page.
 * @pre cfg->queue_size >= 1; pl->plan is not NULL; @p cfg, @p pl and @p r outlive the engine.
 * @return FMD_OK, or the failure also stored in r->st (r->err, r->what say more).
 * Ownership: *out is set even on failure (or NULL when nothing could be allocated): always
 * fmd_engine_close() it, then fmd_engine_result_destroy(r).
 * Threads: call from one thread. */
fmd_status fmd_engine_open(const fmd_engine_cfg *cfg, fmd_placement *pl, fmd_engine_result *r,
                           fmd_engine **out);

/** The first half of fmd_engine_open(), which needs no placement: walk SRC (on @p walk_threads
 * threads: 1 starts no OpenMP team), open OUT, and for a durable build lock it, load the state
 * and plan which pages are skipped. A process may fork after it (with @p walk_threads 1) and
 * finish the open in the child with fmd_engine_attach(): the lock, the journal and the walk are
 * inherited; the parent then only closes its copy.
 * @return FMD_OK, or the failure also stored in r->st.
 * Ownership: as fmd_engine_open(): always fmd_engine_close() *out. Threads: one thread. */
fmd_status fmd_engine_plan(const fmd_engine_cfg *cfg, int walk_threads, fmd_engine_result *r,
                           fmd_engine **out);

/** Whether the planned durable build finds nothing changed: every page is skipped on its stat
 * data and the manifest and state in OUT are already this build's (docs/builds.md). Then
 * fmd_engine_render() may run without fmd_engine_attach(): it writes nothing, starts no thread
 * and needs no placement. @p e may be NULL (false). Threads: any. */
bool fmd_engine_untouched(const fmd_engine *e);

/** The second half of fmd_engine_open(): open the manifest or stream, apply the guard's verdicts,
 * make the per-thread state for @p pl's threads.
 * @return FMD_OK, or the failure also stored in r->st; FMD_E_USAGE when attached already or
 * the plan failed. Threads: the thread that renders. */
fmd_status fmd_engine_attach(fmd_engine *e, fmd_placement *pl);

/** Load, render and write every page of an opened engine, then publish the manifest or stream.
 * @return r->st: FMD_OK; FMD_E_CANCELLED when cfg->cancel stopped it (r->done pages were
 * finished, the manifest is not published); or a batch-level failure. Page failures are counted
 * in r->failed, not returned. Once only per engine (FMD_E_USAGE otherwise).
 * Threads: call from the thread that opened it; it starts the loader, progress and writer
 * threads and the kernel's OpenMP team, and joins the kernel's team before it returns. */
fmd_status fmd_engine_render(fmd_engine *e);

/** Stop and join every thread the engine started, remove what an unfinished run left (the
 * stream's temporary file), fill the figures of the result and free the engine. @p e may be
 * NULL. The one cleanup path, after a success, a failure or a cancellation. */
void fmd_engine_close(fmd_engine *e);

/** fmd_engine_open(), fmd_engine_render() and fmd_engine_close() in one call.
 * @pre cfg->queue_size >= 1; pl->plan is not NULL.
 * @return r->st: FMD_OK, or the batch-level failure (r->err, r->what say more). Page failures are
 * counted in r->failed, not returned.
 * Ownership: free @p r with fmd_engine_result_destroy(), also after a failure.
 * Threads: call from one thread; it starts the loader, progress and writer threads and the
 * kernel's OpenMP team, and joins them all before it returns. */
fmd_status fmd_engine_run(const fmd_engine_cfg *cfg, fmd_placement *pl, fmd_engine_result *r);

/** Read and compile the rules file @p path: a JSON array of {pattern, replacement, regex?}.
 * @param msg receives, on a failure other than FMD_E_NOMEM, what is wrong, to follow the path
 * (":LINE:COL: text" or ": text").
 * @return FMD_OK, FMD_E_NOINPUT (the file cannot be read), FMD_E_USAGE (not such an array),
 * FMD_E_RULE (the kernel refused a rule), FMD_E_NOMEM.
 * Ownership: free *out with fmd_kernel_rules_destroy(). Threads: safe. */
fmd_status fmd_engine_rules_load(const char *path, fmd_rules **out, char *msg, size_t msg_len);

/** Free what @p r holds (the batch, the messages, the figures) and zero it. */
void fmd_engine_result_destroy(fmd_engine_result *r);

/* Thread safety: reentrant. All state is in the run's own structures; two runs may go at once on
 * distinct placements. */

#endif
