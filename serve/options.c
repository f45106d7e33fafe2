/* SPDX-License-Identifier: MIT */
/* The flags fastmd serve owns (fmd_serve_options.h): defaults, limits and messages. Parses
 * only: argv, printing and exit codes are the command line's. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fmd_number.h"
#include "fmd_serve_options.h"

/* The message of a bad value, in @p msg; FMD_E_USAGE. */
__attribute__((format(printf, 3, 4))) static fmd_status usage(char *msg, size_t msg_len,
                                                              const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msg_len, fmt, ap);
    va_end(ap);
    return FMD_E_USAGE;
}

void fmd_serve_cfg_default(fmd_serve_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->root_path = ".";
    cfg->lanes = 2;
    cfg->max_queued = 256;
    cfg->cache_bytes = (size_t)256 << 20;
    cfg->metrics_s = 10;
    cfg->trace_fd = -1;
    cfg->in_fd = STDIN_FILENO;
    cfg->out_fd = STDOUT_FILENO;
}

fmd_status fmd_serve_alert_parse(const char *arg, double alerts[FMD_SERVE_ALERT_COUNT], char *msg,
                                 size_t msg_len)
{
    const char *eq = strchr(arg, '=');
    for (int a = 0; eq != NULL && a < FMD_SERVE_ALERT_COUNT; a++) {
        const char *name = fmd_serve_alert_name((fmd_serve_alert)a);
        if (strlen(name) != (size_t)(eq - arg) || strncmp(arg, name, (size_t)(eq - arg)) != 0)
            continue;
        char *end;
        errno = 0;
        double v = strtod(eq + 1, &end);
        size_t bytes;
        if (a == FMD_SERVE_ALERT_MEMORY && *end != '\0' && fmd_size_parse(eq + 1, &bytes)) {
            v = (double)bytes;
            end = (char *)eq + 1 + strlen(eq + 1);
        }
        if (eq[1] == '\0' || *end != '\0' || errno != 0 || !(v > 0) ||
            (a == FMD_SERVE_ALERT_FAILURE_RATE && v > 1))
            return usage(msg, msg_len, "--alert %s: the value must be a number above 0%s", arg,
                         a == FMD_SERVE_ALERT_FAILURE_RATE ? " and at most 1" : "");
        alerts[a] = v;
        return FMD_OK;
    }
    return usage(msg, msg_len,
                 "--alert '%s': expected NAME=VALUE, NAME one of queue, p99Ms, failureRate, "
                 "memory, stallSeconds",
                 arg);
}

/* The whole-number flags: their field is set through a size_t. */
static const struct {
    const char *name;
    unsigned long long lo, hi;
} counts[] = {
    {"max-queued", 1, 1u << 20},
    {"lanes", 1, 256},
    {"stall-seconds", 1, 86400},
    {"metrics-interval", 1, 86400},
};

/* The size flags; cache-bytes alone may be 0 (no cache). */
static const char *const sizes[] = {"max-line-bytes", "max-memory", "cache-bytes",
                                    "cache-dir-bytes"};

fmd_status fmd_serve_option_apply(fmd_serve_cfg *cfg, const char *name, const char *value,
                                  char *msg, size_t msg_len)
{
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        unsigned long long v;
        if (strcmp(name, counts[i].name) != 0)
            continue;
        if (!fmd_uint_parse(value, counts[i].lo, counts[i].hi, &v))
            return usage(msg, msg_len, "--%s must be a whole number from %llu to %llu, not '%s'",
                         name, counts[i].lo, counts[i].hi, value);
        if (i == 0)
            cfg->max_queued = (size_t)v;
        else if (i == 1)
            cfg->lanes = (int)v;
        else if (i == 2)
            cfg->stall_s = (double)v;
        else
            cfg->metrics_s = (double)v;
        return FMD_OK;
    }
    size_t *size_fields[] = {&cfg->max_line, &cfg->max_memory, &cfg->cache_bytes,
                             &cfg->cache_dir_bytes};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t v;
        if (strcmp(name, sizes[i]) != 0)
            continue;
        if (!fmd_size_parse(value, &v) || (v == 0 && size_fields[i] != &cfg->cache_bytes))
            return usage(msg, msg_len, "--%s: '%s' is not a size", name, value);
        *size_fields[i] = v;
        return FMD_OK;
    }
    struct stat sb;
    if (strcmp(name, "root") == 0) {
        cfg->root_path = value;
    } else if (strcmp(name, "cache-dir") == 0) {
        cfg->cache_dir = value;
    } else if (strcmp(name, "warm") == 0) {
        cfg->warm_path = value;
    } else if (strcmp(name, "alert") == 0) {
        return fmd_serve_alert_parse(value, cfg->alerts, msg, msg_len);
    } else if (strcmp(name, "metrics-file") == 0) {
        /* Standard output carries the protocol; a FIFO would block each rewrite. */
        if (strcmp(value, "-") == 0)
            return usage(msg, msg_len,
                         "--metrics-file -: standard output carries the JSON-RPC answers; name a "
                         "file");
        if (stat(value, &sb) == 0 && S_ISFIFO(sb.st_mode))
            return usage(msg, msg_len,
                         "--metrics-file %s is a FIFO: each rewrite would wait for a new reader; "
                         "name a regular file or a device",
                         value);
        cfg->metrics_path = value;
    } else {
        return usage(msg, msg_len, "--%s is not an option of serve", name);
    }
    return FMD_OK;
}
