/* SPDX-License-Identifier: MIT */
/* Clocks: monotonic seconds for measuring, and absolute deadlines for pthread_cond_timedwait().
 * libc only; no state. */
#ifndef FMD_CLOCK_H
#define FMD_CLOCK_H

#include <time.h>

/** Seconds on CLOCK_MONOTONIC, for differences only.
 * @return the time in seconds. Threads: safe. */
double fmd_clock_now(void);

/** The CLOCK_REALTIME time @p seconds from now (negative counts as 0), the absolute form that
 * pthread_cond_timedwait() takes on a default condition variable.
 * @return the deadline. Threads: safe. */
struct timespec fmd_clock_deadline(double seconds);

/* Thread safety: reentrant; no state. */

#endif
