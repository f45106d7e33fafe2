/* SPDX-License-Identifier: MIT */
/* The figures of a finished run, as numbers and as the one JSON object of --summary-json.
 * Formatting only: the caller decides where the bytes go. */
#ifndef FMD_ENGINE_SUMMARY_H
#define FMD_ENGINE_SUMMARY_H

#include "fmd_arena.h"
#include "fmd_engine.h"

/** CPU utilisation of a run: the time its threads spent on pages over threads x wall time.
 * @param busy_out receives the summed busy seconds; may be NULL.
 * @return 0 to about 1; 0 when the wall time is 0. Threads: reentrant. */
double fmd_engine_result_utilisation(const fmd_engine_result *r, double *busy_out);

/** Append the run's figures to @p b as one JSON object and a newline: pages, bytes, threads,
 * wall time, rates, this process's peak resident memory (VmHWM), the phases and one entry a
 * thread, and the paths the walk skipped by kind. @p src is the source folder as given; with
 * @p durable (a build into OUT) the incremental counts (rendered, unchanged, notRead, removed,
 * leftoversRemoved, resumed) are included.
 * @return FMD_OK or FMD_E_NOMEM (b then holds part of the object).
 * Ownership: the bytes are @p b's arena's. Threads: reentrant; reads /proc/self/status. */
fmd_status fmd_engine_result_format_summary(const fmd_engine_result *r, const char *src,
                                            bool durable, fmd_buf *b);

/* Thread safety: reentrant; no state. */

#endif
