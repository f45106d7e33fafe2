/* SPDX-License-Identifier: MIT */
/* Run figures for --stats (a table on stderr) and --summary-json (one JSON object). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fmd_engine_summary.h"
#include "fmd_io.h"
#include "cli.h"

void cli_print_stats(FILE *f, const fmd_engine_result *r)
{
    double busy;
    double util = fmd_engine_result_utilisation(r, &busy);
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

fmd_status cli_write_summary_json(const char *path, const fmd_engine_result *r,
                                  const fmd_engine_cfg *cfg, int *err)
{
    *err = 0;
    fmd_arena *a = NULL;
    fmd_status st = fmd_arena_create(&a, 0);
    if (st != FMD_OK)
        return st;
    fmd_buf b;
    fmd_buf_reset(&b, a);
    FMD_TRY(fmd_engine_result_format_summary(r, cfg->src, cfg->durable, &b));
    if (strcmp(path, "-") == 0) {
        if (fwrite(b.ptr, 1, b.len, stdout) != b.len || fflush(stdout) != 0)
            st = FMD_E_IO;
    } else {
        st = fmd_io_output_write(AT_FDCWD, path, b.ptr, b.len, err);
    }
fail:
    fmd_arena_destroy(a);
    return st;
}
