/* SPDX-License-Identifier: MIT */
/* The memory a build's supervisor shares with its worker process: which page each rendering
 * thread has in flight, the pages that ended a worker and what became of them, and the stop
 * request of a signal. One anonymous MAP_SHARED region, made before the fork, so that it
 * outlives a worker that dies at any moment. No printing, no processes: cli/ forks and waits. */
#ifndef FMD_GUARD_H
#define FMD_GUARD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fmd_status.h"

/* The longest page path (relative to SRC) a slot or a verdict keeps: Linux's PATH_MAX. A longer
 * path is cut, so two such pages may share one verdict. */
#define FMD_GUARD_PATH_MAX 4096
/* The most pages that may end a worker in one build: bounds the region (1 MiB of verdicts) and
 * the number of worker restarts. */
#define FMD_GUARD_MAX_PAGES 256

/** What the next worker does. */
typedef enum fmd_guard_mode {
    FMD_GUARD_ALL = 0, /**< build every page; pages with a verdict fail with it */
    FMD_GUARD_RETRY, /**< render only the suspects, one at a time, journal them, publish nothing */
} fmd_guard_mode;

/** What became of a page that was in flight when a worker died. */
typedef enum fmd_guard_verdict {
    FMD_GUARD_SUSPECT = 0, /**< ended a worker once: retried alone in a fresh worker */
    FMD_GUARD_CRASHED,     /**< ended a worker twice: fails with FMD_E_CRASHED */
    FMD_GUARD_TIMEOUT,     /**< outlived its deadline plus the grace: fails with FMD_E_TIMEOUT */
    FMD_GUARD_CLEARED,     /**< was retried alone and went through */
} fmd_guard_verdict;

/** One rendering thread's page in flight. Written by that thread only; read by the supervisor
 * (while the worker runs, for the deadline; after it died, to know what it was doing). The path
 * and start are written first, then `page` with release order, so a reader that loads `page`
 * with acquire order and sees the same value before and after reading them has a consistent
 * copy. */
typedef struct fmd_guard_slot {
    _Alignas(64) _Atomic uint64_t page; /**< 1 + the page's index in the batch; 0: none */
    _Atomic int64_t start_ns;           /**< CLOCK_MONOTONIC when it started */
    char path[FMD_GUARD_PATH_MAX];      /**< the page's path in SRC, NUL-terminated */
} fmd_guard_slot;

/** A page that was in flight when a worker died. Written by the supervisor between workers. */
typedef struct fmd_guard_page {
    int verdict; /**< fmd_guard_verdict */
    int deaths;  /**< workers that died with it in flight */
    char path[FMD_GUARD_PATH_MAX];
} fmd_guard_page;

/** The region. Layout: this header, then n_slots slots (one per rendering thread). */
typedef struct fmd_guard {
    _Atomic int cancel; /**< set by a SIGINT/SIGTERM handler in either process: the engine's
                             cancel flag */
    _Atomic int signal; /**< the signal that set it */
    int mode;           /**< fmd_guard_mode of the worker being started */
    int n_slots;
    size_t n_pages;
    fmd_guard_page pages[FMD_GUARD_MAX_PAGES];
    fmd_guard_slot slots[]; /**< n_slots */
} fmd_guard;

/** Map a zeroed region with @p n_slots slots (>= 1), shared with every process forked after.
 * @return FMD_OK, FMD_E_USAGE (n_slots < 1) or FMD_E_NOMEM (mmap failed).
 * Ownership: unmap with fmd_guard_destroy(). Threads: call before any fork. */
fmd_status fmd_guard_create(int n_slots, fmd_guard **out);
void fmd_guard_destroy(fmd_guard *g);

/** CLOCK_MONOTONIC in nanoseconds (the clock of fmd_guard_slot.start_ns). Threads: safe. */
int64_t fmd_guard_now_ns(void);

/** Worker: thread @p thread starts page @p page (@p path). A thread past n_slots publishes
 * nothing (its pages cannot be told apart after a death). Threads: each thread its own slot. */
void fmd_guard_begin(fmd_guard *g, int thread, size_t page, const char *path);
/** Worker: thread @p thread is done with its page (its file and record are written). */
void fmd_guard_end(fmd_guard *g, int thread);

/** The verdict entry for @p path, or NULL. Threads: while no supervisor writes (in a worker). */
const fmd_guard_page *fmd_guard_find(const fmd_guard *g, const char *path);

/** Supervisor: a worker died with @p path in flight (@p verdict FMD_GUARD_SUSPECT: count a
 * death; a second one makes it FMD_GUARD_CRASHED), or it timed out (FMD_GUARD_TIMEOUT).
 * @return FMD_OK, or FMD_E_NOMEM when FMD_GUARD_MAX_PAGES pages are known already. */
fmd_status fmd_guard_note(fmd_guard *g, const char *path, fmd_guard_verdict verdict);
/** Supervisor: whether a page waits for its retry (FMD_GUARD_SUSPECT). */
bool fmd_guard_has_suspects(const fmd_guard *g);
/** Supervisor: a retry worker went through: every suspect becomes FMD_GUARD_CLEARED. */
void fmd_guard_clear_suspects(fmd_guard *g);
/** Supervisor: empty every slot before a worker starts. */
void fmd_guard_reset_slots(fmd_guard *g);

/* Thread safety: the region is shared by two processes. Each slot has one writer (its thread);
 * the verdicts have one writer (the supervisor, while no worker runs). */

#endif
