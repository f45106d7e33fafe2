/* SPDX-License-Identifier: MIT */
/* The flags of fastmd serve that serve owns: their defaults, their values' meaning and limits,
 * and the message for a bad value. The command line reads argv and prints; this parses only,
 * and never prints or exits. */
#ifndef FMD_SERVE_OPTIONS_H
#define FMD_SERVE_OPTIONS_H

#include <stddef.h>

#include "fmd_serve.h"

/** Zero @p cfg and set serve's defaults: root ".", 2 lanes, 256 queued requests per queue, a
 * 256M result cache, metrics every 10 s, no trace (trace_fd -1), standard input and output.
 * Threads: reentrant. */
void fmd_serve_cfg_default(fmd_serve_cfg *cfg);

/** Apply the flag --@p name with @p value to @p cfg. The names: root, max-queued, lanes,
 * max-line-bytes, max-memory, cache-bytes, stall-seconds, metrics-interval, metrics-file and
 * alert (NAME=VALUE, repeatable; see fmd_serve_alert_parse()).
 * @pre @p name, @p value not NULL.
 * @return FMD_OK, or FMD_E_USAGE for a bad value or an unknown name, with the message (which
 * names the flag) in @p msg. Ownership: @p cfg keeps @p value for root and metrics-file, so it
 * must outlive the server. Threads: reentrant; metrics-file stats its path. */
fmd_status fmd_serve_option_apply(fmd_serve_cfg *cfg, const char *name, const char *value,
                                  char *msg, size_t msg_len);

/** Parse one --alert NAME=VALUE into @p alerts (NAME an fmd_serve_alert_name(); memory takes
 * K/M/G sizes; failureRate is at most 1; every value is above 0).
 * @return FMD_OK, or FMD_E_USAGE with the message in @p msg. Threads: reentrant. */
fmd_status fmd_serve_alert_parse(const char *arg, double alerts[FMD_SERVE_ALERT_COUNT], char *msg,
                                 size_t msg_len);

/* Thread safety: reentrant; all state is in the caller's fmd_serve_cfg. */

#endif
