/* SPDX-License-Identifier: MIT */
/* Per-page messages and the --stats table (fmd_engine_report.h). Formats into memory; never
 * prints or exits. */
#include "fmd_engine_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmd_engine_summary.h"

/* A page's warnings and error, one line each. */
static fmd_status put_page(fmd_buf *b, const char *path, const fmd_result *r)
{
    fmd_status st = FMD_OK;
    for (size_t w = 0; w < r->n_warnings; w++) {
        FMD_TRY(fmd_buf_puts(b, path));
        FMD_TRY(FMD_BUF_PUT_LIT(b, ": warning: "));
        FMD_TRY(fmd_buf_append(b, r->warnings[w].ptr, r->warnings[w].len));
        FMD_TRY(fmd_buf_putc(b, '\n'));
    }
    if (r->status == FMD_OK)
        return FMD_OK;
    FMD_TRY(fmd_buf_puts(b, path));
    if (r->err_line != 0)
        FMD_TRY(fmd_buf_printf(b, ":%u", r->err_line));
    if (r->err_line != 0 && r->err_column != 0)
        FMD_TRY(fmd_buf_printf(b, ":%u", r->err_column));
    FMD_TRY(FMD_BUF_PUT_LIT(b, ": error: "));
    FMD_TRY(fmd_buf_puts(b, fmd_status_str(r->status)));
    if (r->err_message.len != 0) {
        FMD_TRY(FMD_BUF_PUT_LIT(b, ": "));
        FMD_TRY(fmd_buf_append(b, r->err_message.ptr, r->err_message.len));
    }
    FMD_TRY(fmd_buf_putc(b, '\n'));
fail:
    return st;
}

char *fmd_engine_page_message(const char *name, fmd_status load_status, int err,
                              const fmd_result *res, void *userdata)
{
    (void)userdata;
    fmd_arena *a = NULL;
    if (fmd_arena_create(&a, 0) != FMD_OK)
        return NULL;
    fmd_buf b;
    fmd_buf_reset(&b, a);
    fmd_status st;
    if (res->status == FMD_OK && load_status != FMD_OK)
        st = fmd_buf_printf(&b, "%s: error: %s%s%s\n", name, fmd_status_str(load_status),
                            err ? ": " : "", err ? strerror(err) : "");
    else
        st = put_page(&b, name, res);
    char *text = st == FMD_OK ? malloc(b.len + 1) : NULL;
    if (text != NULL) {
        if (b.len != 0)
            memcpy(text, b.ptr, b.len);
        text[b.len] = '\0';
    }
    fmd_arena_destroy(a);
    return text;
}

fmd_status fmd_engine_result_format_stats(const fmd_engine_result *r, fmd_buf *out)
{
    fmd_status st = FMD_OK;
    double busy;
    double util = fmd_engine_result_utilisation(r, &busy);
    FMD_TRY(
        fmd_buf_printf(out,
                       "phases: enumerate %.3f s, load %.3f s (render waited %.3f s for it), "
                       "render+write %.3f s, output open/close %.3f s, wall %.3f s, %zu window%s\n",
                       r->t_enumerate, r->t_load, r->t_load_wait, r->t_render, r->t_write, r->wall,
                       r->windows, r->windows == 1 ? "" : "s"));
    FMD_TRY(fmd_buf_printf(out, "%6s %8s %12s %10s %10s %10s\n", "thread", "pages", "bytes",
                           "busy s", "sink s", "idle s"));
    for (int t = 0; t < r->nthreads; t++) {
        const fmd_thread_stats *s = &r->thread_stats[t];
        double idle = r->t_render - s->busy_s;
        FMD_TRY(fmd_buf_printf(out, "%6d %8zu %12zu %10.3f %10.3f %10.3f\n", t, s->pages,
                               s->bytes_in, s->busy_s, s->wait_s, idle > 0 ? idle : 0));
    }
    FMD_TRY(fmd_buf_printf(out,
                           "CPU utilisation: %.1f%% (busy %.3f s over %d threads x %.3f s "
                           "wall)\n",
                           100 * util, busy, r->nthreads, r->wall));
fail:
    return st;
}
