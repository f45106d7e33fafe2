/* SPDX-License-Identifier: MIT */
/* The text a caller shows about a run: the per-page message (page errors and warnings in the
 * "path:line:col: error: message" form compilers use) and the --stats table. Formats only; the
 * caller prints. */
#ifndef FMD_ENGINE_REPORT_H
#define FMD_ENGINE_REPORT_H

#include "fmd_engine.h"

/** An fmd_engine_message_fn: the page's warnings ("NAME: warning: text"), then its error
 * ("NAME:LINE:COL: error: what: detail"), or, for a page that could not be read or written,
 * "NAME: error: what: strerror(err)". One line each.
 * @return a malloc'ed text, "" when there is nothing to say, or NULL when out of memory.
 * Ownership: the caller frees it (the engine does, for cfg->message). Threads: reentrant. */
char *fmd_engine_page_message(const char *name, fmd_status load_status, int err,
                              const fmd_result *res, void *userdata);

/** Append --stats' text for @p r: a line of phase times, a table of the threads (pages, bytes,
 * busy, sink and idle seconds) and the CPU utilisation line.
 * @return FMD_OK or FMD_E_NOMEM. Ownership: appends to @p out. Threads: reentrant. */
fmd_status fmd_engine_result_format_stats(const fmd_engine_result *r, fmd_buf *out);

/* Thread safety: reentrant; no state. */

#endif
