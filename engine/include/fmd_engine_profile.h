/* SPDX-License-Identifier: MIT */
/* Profiles (--profile low|medium|high): thread count, windows loaded ahead and the memory bound,
 * chosen together for a machine shared with other work or not. Plain data; the caller applies
 * it under the explicit flags. */
#ifndef FMD_ENGINE_PROFILE_H
#define FMD_ENGINE_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

/** What one profile sets. */
typedef struct fmd_engine_profile {
    const char *name;  /**< "low", "medium" or "high" */
    int threads_div;   /**< threads = physical cores / this (fmd_engine_placement_opts) */
    size_t queue_size; /**< windows loaded ahead (fmd_engine_cfg.queue_size) */
    size_t max_memory; /**< bytes of input held at once (fmd_engine_cfg.max_memory) */
} fmd_engine_profile;

/** The profile called @p name. @return true and *out, or false for an unknown name.
 * Threads: reentrant. */
bool fmd_engine_profile_find(const char *name, fmd_engine_profile *out);

/* Thread safety: reentrant; the table is constant. */

#endif
