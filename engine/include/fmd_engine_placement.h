/* SPDX-License-Identifier: MIT */
/* Placement: the machine's topology, the thread plan made from it and the hook that binds the
 * kernel's threads, for one or more engine runs. The caller reads the flags and the environment
 * and passes what they say in fmd_engine_placement_opts; nothing here prints or exits. */
#ifndef FMD_ENGINE_PLACEMENT_H
#define FMD_ENGINE_PLACEMENT_H

#include <stdbool.h>

#include "fmd_engine.h"

/** What a placement is made from. Zero-initialise, then set what the flags say. */
typedef struct fmd_engine_placement_opts {
    int threads;           /**< >= 1: that many; 0: one per physical core (or profile_div) */
    bool auto_threads;     /**< threads from the physical cores minus the load average */
    int profile_div;       /**< >= 1 with threads 0 and not auto: cores / profile_div threads */
    bool user_binding;     /**< the user placed the threads (OMP_PROC_BIND, ...): bind nothing */
    bool no_bind;          /**< bind nothing */
    bool record_affinity;  /**< record each thread's CPU set for the affinity report */
    const char *synthetic; /**< an hwloc synthetic topology to plan for instead, or NULL */
} fmd_engine_placement_opts;

/** Load the topology once and make the thread plan.
 * A topology that cannot be loaded is not a failure: the plan is then unbound over the online
 * CPUs, and *topo_st (with *topo_err, an errno or 0) says why, for a warning.
 * @param pl receives the placement. @param o the choices. @param topo_st, topo_err receive the
 * topology's status and errno (FMD_OK and 0 when it loaded).
 * @return FMD_OK, or the plan's failure (FMD_E_NOMEM, FMD_E_USAGE): *pl is then empty.
 * Ownership: close *pl with fmd_engine_placement_close(), also after a failure.
 * Threads: call from one thread; reads /proc/loadavg when @p o asks for auto threads. */
fmd_status fmd_engine_placement_open(fmd_placement *pl, const fmd_engine_placement_opts *o,
                                     fmd_status *topo_st, int *topo_err);

/** Run one empty parallel region on @p pl's plan, so that every thread binds (and records its
 * affinity) without a page to render; the calling thread is unbound after.
 * Threads: call from one thread, not inside a parallel region. */
void fmd_engine_placement_warm(fmd_placement *pl);

/** Free the plan and the topology and zero @p pl. Safe on a zeroed or closed placement. */
void fmd_engine_placement_close(fmd_placement *pl);

/* Thread safety: reentrant; all state is in the fmd_placement the caller owns. */

#endif
