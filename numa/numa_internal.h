/* SPDX-License-Identifier: MIT */
/* Functions shared between the files of numa/ (fmd__numa_*). Not installed, not API.
 * common.c holds what does not need hwloc (plan memory, the split, text); hwloc.c or stub.c is
 * the backend; cpu.c asks the OS which CPU the thread is on when there is no hwloc topology. */
#ifndef FMD_NUMA_INTERNAL_H
#define FMD_NUMA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "fmd_arena.h"
#include "fmd_numa.h"

/*** common.c ***/

/** The backend's part of a plan (hwloc cpusets); defined by hwloc.c, NULL in flat plans. */
struct fmd__numa_backend;

/** What the public plan hides: the arena its arrays live in, and the backend's data. */
struct fmd__numa_plan_priv {
    fmd_arena *arena;
    struct fmd__numa_backend *backend;
};

/** A plan under construction: the public struct plus writable views of its arrays, which live
 * in @c arena (freed with the plan). The backend fills threads[] and nodes[] (but not
 * nodes[].threads: fmd__numa_index_nodes() does that), and may set plan->priv->backend. */
typedef struct fmd__numa_builder {
    fmd_numa_plan *plan;
    fmd_numa_thread *threads; /* n_threads */
    fmd_numa_node *nodes;     /* n_nodes */
    fmd_arena *arena;
} fmd__numa_builder;

/** Allocate a plan of @p n_threads threads and @p n_nodes nodes, zeroed, its reports cleared,
 * record_affinity and warnings empty. @return FMD_OK or FMD_E_NOMEM (then nothing is held). */
fmd_status fmd__numa_plan_alloc(fmd__numa_builder *b, int n_threads, size_t n_nodes);

/** Bytes in the plan's arena, freed with the plan. @return NULL when out of memory. */
void *fmd__numa_plan_mem(fmd__numa_builder *b, size_t n);

/** Fill nodes[k].threads / n_threads from threads[t].node. @return FMD_OK or FMD_E_NOMEM. */
fmd_status fmd__numa_index_nodes(fmd__numa_builder *b);

/** The thread count the options ask for, given @p cores: opts->threads, or @p cores when 0.
 * @return FMD_OK or FMD_E_USAGE (negative, or above FMD_NUMA_MAX_THREADS). */
fmd_status fmd__numa_thread_count(const fmd_numa_plan_opts *opts, size_t cores, int *out);

/** An unbound plan over @p n_pus PUs on one node of unknown OS index (stub build, or no
 * topology): thread t has core t % n_pus, node 0, no PUs. */
fmd_status fmd__numa_make_flat_plan(fmd_numa_plan **out, size_t n_pus,
                                    const fmd_numa_plan_opts *opts);

/** sysconf(_SC_NPROCESSORS_ONLN), at least 1. */
size_t fmd__numa_online_pus(void);

/** cores - round(loadavg), clamped to 1 .. max(cores, 1). */
int fmd__numa_auto_threads(size_t cores, double loadavg);

/** Append a warning; count it in dropped when the list is full. */
void fmd__numa_warn(fmd_numa_warnings *w, fmd_numa_warning_code code, int err, long value);

/** Append "0-3,8" for the ascending list @p pus[0..n). @return FMD_OK or FMD_E_NOMEM. */
fmd_status fmd__numa_put_pu_list(fmd_buf *out, const unsigned *pus, size_t n);

/** Append the plan part of the topology report. @return FMD_OK or FMD_E_NOMEM. */
fmd_status fmd__numa_format_plan(const fmd_numa_plan *p, fmd_buf *out);

/*** hwloc.c / stub.c: the backend ***/

/** Free the backend's part of a plan. @p be may be NULL. */
void fmd__numa_free_backend(struct fmd__numa_backend *be);

/*** cpu.c ***/

/** The CPU the calling thread is running on (sched_getcpu()), or -1 when the OS cannot say. */
int fmd__numa_os_current_cpu(void);

/** The CPUs (OS indexes) of OpenMP's places, up to @p cap of them into @p ids; 0 when OpenMP has
 * no places (no OMP_PLACES, OMP_PROC_BIND or GOMP_CPU_AFFINITY). With any of those set, libgomp
 * binds the initial thread to its first place while the program loads, before main, so the
 * process's own affinity then shows one place only; the places, built from the affinity libgomp
 * found first, give back what the process was allowed. Starts no thread. */
size_t fmd__numa_omp_place_cpus(int *ids, size_t cap);
/** The most place CPUs read (a bound on the stack buffer; more than any machine hwloc plans). */
#define FMD_NUMA_MAX_PLACE_CPUS 4096

#endif
