/* SPDX-License-Identifier: MIT */
/* Run figures for --stats (a table on stderr) and --summary-json (one JSON object). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fmd_io.h"
#include "cli.h"

/* CPU utilisation: time threads spent on pages over threads x wall time. */
static double utilisation(const fmd_engine_result *r, double *busy_out)
{
    double busy = 0;
    for (int t = 0; t < r->nthreads; t++)
        busy += r->thread_stats[t].busy_s;
    if (busy_out)
        *busy_out = busy;
    return r->wall > 0 ? busy / ((double)r->nthreads * r->wall) : 0;
}

void cli_print_stats(FILE *f, const fmd_engine_result *r)
{
    double busy;
    double util = utilisation(r, &busy);
    fprintf(f,
            "phases: enumerate %.3f s, load %.3f s (render waited %.3f s for it), "
            "render+write %.3f s, output open/close %.3f s, wall %.3f s, %zu window%s\n",
            r->t_enumerate, r->t_load, r->t_load_wait, r->t_render, r->t_write, r->wall, r->windows,
            r->windows == 1 ? "" : "s");
    fprintf(f, "%6s %8s %12s %10s %10s %10s\n", "thread", "pages", "bytes", "busy s", "sink s",
            "idle s");
    for (int t = 0; t < r->nthreads; t++) {
        const fmd_thread_stats *s = &r->thread_stats[t];
        double idle = r->t_render - s->busy_s;
        fprintf(f, "%6d %8zu %12zu %10.3f %10.3f %10.3f\n", t, s->pages, s->bytes_in, s->busy_s,
                s->wait_s, idle > 0 ? idle : 0);
    }
    fprintf(f, "CPU utilisation: %.1f%% (busy %.3f s over %d threads x %.3f s wall)\n", 100 * util,
            busy, r->nthreads, r->wall);
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

fmd_status cli_write_summary_json(const char *path, const fmd_engine_result *r,
                                  const fmd_engine_cfg *cfg, int *err)
{
    *err = 0;
    fmd_arena *a = NULL;
    fmd_status st = fmd_arena_create(&a, 0);
    if (st != FMD_OK)
        return st;
    fmd_buf b;
    fmd_buf_init(&b, a);
    double busy;
    double util = utilisation(r, &busy);
    FMD_TRY(fmd_buf_puts(&b, "{\"src\":"));
    FMD_TRY(fmd_buf_put_json_string(&b, cfg->src, strlen(cfg->src)));
    FMD_TRY(put_num(&b, "pages", (double)r->pages, 0));
    FMD_TRY(put_num(&b, "failed", (double)r->failed, 0));
    if (cfg->durable) {
        /* What an incremental build did with each page (docs/builds.md). */
        FMD_TRY(put_num(&b, "rendered", (double)r->rendered, 0));
        FMD_TRY(put_num(&b, "unchanged", (double)r->unchanged, 0));
        FMD_TRY(put_num(&b, "notRead", (double)r->skipped, 0));
        FMD_TRY(put_num(&b, "removed", (double)r->removed, 0));
        FMD_TRY(put_num(&b, "leftoversRemoved", (double)r->leftovers, 0));
        FMD_TRY(fmd_buf_puts(&b, r->resumed ? ",\"resumed\":true" : ",\"resumed\":false"));
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
    FMD_TRY(fmd_buf_puts(&b, ",\"skipped\":{"));
    for (int k = 0; k < FMD_IO_WARN_NAME_UTF8; k++)
        FMD_TRY(put_num(&b, kinds[k], (double)by_kind[k], k == 0));
    FMD_TRY(fmd_buf_putc(&b, '}'));
    FMD_TRY(put_num(&b, kinds[FMD_IO_WARN_NAME_UTF8], (double)by_kind[FMD_IO_WARN_NAME_UTF8], 0));
    FMD_TRY(put_num(&b, "bytesIn", (double)r->bytes_in, 0));
    FMD_TRY(put_num(&b, "bytesOut", (double)r->bytes_out, 0));
    FMD_TRY(put_num(&b, "threads", r->nthreads, 0));
    FMD_TRY(put_num(&b, "windows", (double)r->windows, 0));
    FMD_TRY(put_num(&b, "wallSeconds", r->wall, 0));
    FMD_TRY(put_num(&b, "pagesPerSecond", r->wall > 0 ? (double)r->pages / r->wall : 0, 0));
    FMD_TRY(put_num(&b, "cpuUtilisation", util, 0));
    /* Peak resident memory of this process so far, measured by the kernel. */
    FMD_TRY(put_num(&b, "peakRssBytes", (double)peak_rss_bytes(), 0));
    FMD_TRY(fmd_buf_puts(&b, ",\"phases\":{"));
    FMD_TRY(put_num(&b, "enumerate", r->t_enumerate, 1));
    FMD_TRY(put_num(&b, "load", r->t_load, 0));
    FMD_TRY(put_num(&b, "loadWait", r->t_load_wait, 0));
    FMD_TRY(put_num(&b, "render", r->t_render, 0));
    FMD_TRY(put_num(&b, "write", r->t_write, 0));
    FMD_TRY(fmd_buf_puts(&b, "},\"perThread\":["));
    for (int t = 0; t < r->nthreads; t++) {
        const fmd_thread_stats *s = &r->thread_stats[t];
        double idle = r->t_render - s->busy_s;
        FMD_TRY(fmd_buf_puts(&b, t ? ",{" : "{"));
        FMD_TRY(put_num(&b, "thread", t, 1));
        FMD_TRY(put_num(&b, "pages", (double)s->pages, 0));
        FMD_TRY(put_num(&b, "bytes", (double)s->bytes_in, 0));
        FMD_TRY(put_num(&b, "busySeconds", s->busy_s, 0));
        FMD_TRY(put_num(&b, "sinkSeconds", s->wait_s, 0));
        FMD_TRY(put_num(&b, "idleSeconds", idle > 0 ? idle : 0, 0));
        FMD_TRY(fmd_buf_putc(&b, '}'));
    }
    FMD_TRY(fmd_buf_puts(&b, "]}\n"));
    if (strcmp(path, "-") == 0) {
        if (fwrite(b.ptr, 1, b.len, stdout) != b.len || fflush(stdout) != 0)
            st = FMD_E_IO;
    } else {
        st = fmd_io_write_output(AT_FDCWD, path, b.ptr, b.len, err);
    }
fail:
    fmd_arena_destroy(a);
    return st;
}
