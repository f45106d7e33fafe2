/* SPDX-License-Identifier: MIT */
/* The build's supervisor: a small parent process that runs the engine in a worker process,
 * restarts it when it dies, and pins the death (or a hang) on the page it had in flight. */
#ifndef FMD_CLI_SUPERVISE_H
#define FMD_CLI_SUPERVISE_H

#include <stdbool.h>

#include "fmd_guard.h"

/* Fork the worker and supervise it. Returns only in a worker process, whose task is g->mode:
 * build every page (FMD_GUARD_ALL), or render only the suspects, one thread, and exit 0
 * (FMD_GUARD_RETRY). The supervisor never returns: it exits with the status of the worker that
 * finished the build. @p page_timeout_ms 0: no page is ever killed for time. @p src prefixes
 * page paths in messages. Call before any OpenMP team was started, with the handlers of
 * cli_signals_install_shared() writing into @p g already installed.
 * @p first_forked (may be NULL) runs in the supervisor once, right after the first worker was
 * forked, with @p ud: there it drops what only that worker goes on with (a planned engine).
 * @return true in the first worker, false in any later one. */
bool cli_supervise(fmd_guard *g, unsigned page_timeout_ms, const char *src, const char *command,
                   void (*first_forked)(void *), void *ud);

#endif
