/* SPDX-License-Identifier: MIT */
/* fastmd serve as a library: a JSON-RPC 2.0 server over NDJSON (docs/protocol.md) on two file
 * descriptors, with its lanes, batch executor, rules cache and counters. One entry point,
 * fmd_serve_run(). Never prints and never exits: warnings go to a callback. */
#ifndef FMD_SERVE_H
#define FMD_SERVE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "fmd_engine.h"
#include "fmd_kernel.h"
#include "fmd_status.h"

/** A warning while serving (the input could not be read: the server then drains and stops). */
typedef void (*fmd_serve_warn_fn)(const char *what, fmd_status st, int err, void *userdata);
/** Called once the threads are started, before the first request is read. */
typedef void (*fmd_serve_ready_fn)(int nthreads, int lanes, void *userdata);

/** Alert thresholds (--alert NAME=VALUE); docs/protocol.md, "Alerts". */
typedef enum fmd_serve_alert {
    FMD_SERVE_ALERT_QUEUE = 0,    /**< "queue": requests waiting (batches and small) */
    FMD_SERVE_ALERT_P99_MS,       /**< "p99Ms": p99 latency of transform and transformBatch */
    FMD_SERVE_ALERT_FAILURE_RATE, /**< "failureRate": failed / finished pages, 0..1 */
    FMD_SERVE_ALERT_MEMORY,       /**< "memory": bytes held (memory.used) */
    FMD_SERVE_ALERT_STALL_S,      /**< "stallSeconds": seconds without a finished page, busy */
    FMD_SERVE_ALERT_COUNT
} fmd_serve_alert;

/** The protocol name of alert @p a ("p99Ms"), or NULL. */
const char *fmd_serve_alert_name(fmd_serve_alert a);

typedef struct fmd_serve_cfg {
    fmd_options defaults;  /**< under each request's options */
    const char *root_path; /**< pages given by path are read from beneath this directory */
    int lanes;             /**< threads for single transforms, normalize and computeDigest */
    size_t max_queued;     /**< requests waiting per queue before an Overloaded error */
    size_t max_line;       /**< longest request line; 0: the reader's default */
    /** Bound on the bytes serve holds: queued requests, formatted items not yet written, held
     * (non-streamed) results and the result cache. Over it, new work gets -32001. 0: none. */
    size_t max_memory;
    /** health reports "stalled" when work is running or queued and no page has finished for
     * this many seconds. 0: the default, 30. */
    double stall_s;
    /** Set (by a signal handler) to stop reading: the server then drains as at the end of input.
     * May be NULL. The server blocks SIGTERM and SIGINT in the threads it starts, so that the
     * signal interrupts the reader's read(). */
    volatile sig_atomic_t *stop;
    const char *hang_file; /**< test hook: while this file exists, batch pages wait; NULL */
    size_t cache_bytes;    /**< the result cache's bound; 0: no cache */
    /** A persistent store of results behind the cache (needs cache_bytes > 0), created when
     * missing; NULL: none. Files named by their key, written to a temporary name in it and
     * renamed; only files of that form are touched. */
    const char *cache_dir;
    size_t cache_dir_bytes; /**< the store's bound; 0: 1 GiB */
    /** A `fastmd build SRC --ndjson FILE` stream to load into the cache before the first
     * request (root_path must be SRC); NULL: none. */
    const char *warm_path;
    /** Where the trace goes (Chrome Trace Event JSON, docs/protocol.md "Tracing"); the caller
     * opens and closes it. -1: no trace. */
    int trace_fd;
    /** Where to write the Prometheus text of `stats` every metrics_s seconds and at exit
     * (atomically: a temporary file renamed over it), for a scraper without the pipe; NULL:
     * never. Relative to the working directory. */
    const char *metrics_path;
    double metrics_s; /**< 0: 10 seconds */
    /** Thresholds; a value <= 0 leaves that alert off (the default for every alert). */
    double alerts[FMD_SERVE_ALERT_COUNT];
    /** The --rules file's bytes (part of every cache key of a request without rules); may be
     * NULL when there is none. */
    const char *rules_text;
    size_t rules_len;
    size_t fault_every;       /**< test hook: fmd_rpc_load_items()'s; 0 in production */
    size_t delay_us;          /**< test hook: each batch page takes this much longer; 0 */
    fmd_placement *placement; /**< the engine's threads (the caller opens and closes it) */
    /** --threads auto: each batch runs on a team sized from the allowed CPUs, the cgroup's CPU
     * quota and the load average at its start, at most the placement's threads. */
    bool auto_threads;
    int in_fd, out_fd;        /**< requests in, protocol lines out */
    fmd_serve_warn_fn warn;   /**< may be NULL */
    fmd_serve_ready_fn ready; /**< may be NULL */
    void *userdata;
} fmd_serve_cfg;

/** Why fmd_serve_run() could not start. */
typedef struct fmd_serve_failure {
    bool root;        /**< the root could not be opened (err holds errno) */
    bool cache_dir;   /**< the --cache-dir store could not be opened (what, err) */
    bool warm;        /**< --warm failed (what: why, after the file's name; err) */
    const char *what; /**< otherwise what failed, as a message; NULL when it did not fail */
    int err;
} fmd_serve_failure;

/** Serve requests from cfg->in_fd until a shutdown request or the end of input, then answer
 * everything already read and return.
 * @pre cfg->placement->plan is not NULL; cfg->lanes >= 1.
 * @return FMD_OK after shutdown or the end of input; at start-up FMD_E_NOINPUT or FMD_E_NOMEM
 * (the root cannot be opened; memory or a thread could not be had), FMD_E_CANTCREATE (the cache
 * directory), FMD_E_USAGE (--warm's results differ from serve's), with @p fail saying which.
 * Threads: call from one thread; it starts and joins its own lanes and batch thread. A failed
 * start may leave threads running: the caller is expected to exit. */
fmd_status fmd_serve_run(const fmd_serve_cfg *cfg, fmd_serve_failure *fail);

/* Thread safety: reentrant apart from the process-wide setup of the JSON library, done once
 * (fmd_rpc_init()); all other state is in the run. */

#endif
