/* SPDX-License-Identifier: MIT */
/* SIGINT and SIGTERM during a build: the first one asks the engine to stop (its cancel flag);
 * the engine finishes or drops the pages in flight and the command exits 130 or 143. A second
 * signal of the same kind ends the process at once (the default action). */
#ifndef FMD_CLI_SIGNALS_H
#define FMD_CLI_SIGNALS_H

/* Install the handlers. @return the flag to hand to fmd_engine_cfg.cancel; it becomes non-zero
 * when SIGINT or SIGTERM arrives. Threads: call from the main thread before the engine starts
 * its threads (they inherit nothing; the handler runs on whichever thread the kernel picks). */
const _Atomic int *cli_signals_install(void);

/* The same, but the flag and the signal are stored at @p flag and @p sig (a region shared by a
 * supervisor and its worker, so that a signal to either stops the build). @return @p flag. */
const _Atomic int *cli_signals_install_shared(_Atomic int *flag, _Atomic int *sig);

/* The signal that set the flag (SIGINT, SIGTERM), or 0. */
int cli_signals_caught(void);

/* Put the default actions back. */
void cli_signals_restore(void);

#endif
