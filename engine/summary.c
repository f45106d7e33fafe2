/* SPDX-License-Identifier: MIT */
/* The figures of a finished run (fmd_engine_summary.h): utilisation and the summary JSON object.
 * Formats into a buffer; never prints or exits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmd_engine_summary.h"

double fmd_engine_result_utilisation(const fmd_engine_result *r, double *busy_out)
{
    double busy = 0;
    for (int t = 0; t < r->nthreads; t++)
        busy += r->thread_stats[t].busy_s;
    if (busy_out)
        *busy_out = busy;
    return r->wall > 0 ? busy / ((double)r->nthreads * r->wall) : 0;
}

/* The kernel's high-water mark of this process's resident set (VmHWM). Not getrusage()'s
 * ru_maxrss: that survives execve(), so it reports the parent's size when the parent forked
 * from a large process (node's child_process does). 0 when unknown. */
static size_t peak_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return 0;
    char line[256];
    size_t kb = 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "VmHWM:", 6) == 0) {
            kb = (size_t)strtoull(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb * 1024;
}

static fmd_status put_num(fmd_buf *b, const char *key, double v, int first)
{
    char tmp[96];
    int n = v == (double)(long long)v && v < 1e15 && v > -1e15
                ? snprintf(tmp, sizeof tmp, "%s\"%s\":%lld", first ? "" : ",", key, (long long)v)
                : snprintf(tmp, sizeof tmp, "%s\"%s\":%.6g", first ? "" : ",", key, v);
    return fmd_buf_append(b, tmp, (size_t)n);
}

fmd_status fmd_engine_result_format_summary(const fmd_engine_result *r, const char *src,
                                            bool durable, fmd_buf *b)
{
    fmd_status st = FMD_OK;
    double util = fmd_engine_result_utilisation(r, NULL);
    FMD_TRY(fmd_buf_puts(b, "{\"src\":"));
    FMD_TRY(fmd_buf_put_json_string(b, src, strlen(src)));
    FMD_TRY(put_num(b, "pages", (double)r->pages, 0));
    FMD_TRY(put_num(b, "failed", (double)r->failed, 0));
    if (durable) {
        /* What an incremental build did with each page (docs/builds.md). */
        FMD_TRY(put_num(b, "rendered", (double)r->rendered, 0));
        FMD_TRY(put_num(b, "unchanged", (double)r->unchanged, 0));
        FMD_TRY(put_num(b, "notRead", (double)r->skipped, 0));
        FMD_TRY(put_num(b, "removed", (double)r->removed, 0));
        FMD_TRY(put_num(b, "leftoversRemoved", (double)r->leftovers, 0));
        FMD_TRY(fmd_buf_puts(b, r->resumed ? ",\"resumed\":true" : ",\"resumed\":false"));
    }
    /* Paths the walk skipped, by kind, and pages whose name is not UTF-8 (kept, escaped). */
    static const char *const kinds[] = {[FMD_IO_WARN_UNREADABLE_DIR] = "unreadableDir",
                                        [FMD_IO_WARN_LINK_OUTSIDE] = "linkOutside",
                                        [FMD_IO_WARN_LINK_BROKEN] = "linkBroken",
                                        [FMD_IO_WARN_CYCLE] = "cycle",
                                        [FMD_IO_WARN_SPECIAL] = "special",
                                        [FMD_IO_WARN_NAME_CASE] = "nameCase",
                                        [FMD_IO_WARN_NAME_UTF8] = "nonUtf8Names"};
    size_t by_kind[FMD_IO_WARN_NAME_UTF8 + 1] = {0};
    for (size_t i = 0; i < r->n_warnings; i++)
        if ((int)r->warnings[i].kind <= FMD_IO_WARN_NAME_UTF8)
            by_kind[r->warnings[i].kind]++;
    FMD_TRY(fmd_buf_puts(b, ",\"skipped\":{"));
    for (int k = 0; k < FMD_IO_WARN_NAME_UTF8; k++)
        FMD_TRY(put_num(b, kinds[k], (double)by_kind[k], k == 0));
    FMD_TRY(fmd_buf_putc(b, '}'));
    FMD_TRY(put_num(b, kinds[FMD_IO_WARN_NAME_UTF8], (double)by_kind[FMD_IO_WARN_NAME_UTF8], 0));
    FMD_TRY(put_num(b, "bytesIn", (double)r->bytes_in, 0));
    FMD_TRY(put_num(b, "bytesOut", (double)r->bytes_out, 0));
    FMD_TRY(put_num(b, "threads", r->nthreads, 0));
    FMD_TRY(put_num(b, "windows", (double)r->windows, 0));
    FMD_TRY(put_num(b, "wallSeconds", r->wall, 0));
    FMD_TRY(put_num(b, "pagesPerSecond", r->wall > 0 ? (double)r->pages / r->wall : 0, 0));
    FMD_TRY(put_num(b, "cpuUtilisation", util, 0));
    /* Peak resident memory of this process so far, measured by the kernel. */
    FMD_TRY(put_num(b, "peakRssBytes", (double)peak_rss_bytes(), 0));
    FMD_TRY(fmd_buf_puts(b, ",\"phases\":{"));
    FMD_TRY(put_num(b, "enumerate", r->t_enumerate, 1));
    FMD_TRY(put_num(b, "load", r->t_load, 0));
    FMD_TRY(put_num(b, "loadWait", r->t_load_wait, 0));
    FMD_TRY(put_num(b, "render", r->t_render, 0));
    FMD_TRY(put_num(b, "write", r->t_write, 0));
    FMD_TRY(fmd_buf_puts(b, "},\"perThread\":["));
    for (int t = 0; t < r->nthreads; t++) {
        const fmd_thread_stats *s = &r->thread_stats[t];
        double idle = r->t_render - s->busy_s;
        FMD_TRY(fmd_buf_puts(b, t ? ",{" : "{"));
        FMD_TRY(put_num(b, "thread", t, 1));
        FMD_TRY(put_num(b, "pages", (double)s->pages, 0));
        FMD_TRY(put_num(b, "bytes", (double)s->bytes_in, 0));
        FMD_TRY(put_num(b, "busySeconds", s->busy_s, 0));
        FMD_TRY(put_num(b, "sinkSeconds", s->wait_s, 0));
        FMD_TRY(put_num(b, "idleSeconds", idle > 0 ? idle : 0, 0));
        FMD_TRY(fmd_buf_putc(b, '}'));
    }
    FMD_TRY(fmd_buf_puts(b, "]}\n"));
fail:
    return st;
}
