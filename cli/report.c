/* SPDX-License-Identifier: MIT */
/* Run figures for --stats (a table on stderr) and --summary-json (one JSON object), both
 * formatted by the engine. */
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
    fmd_arena *a = NULL;
    if (fmd_arena_create(&a, 0) != FMD_OK)
        return;
    fmd_buf b;
    fmd_buf_reset(&b, a);
    if (fmd_engine_result_format_stats(r, &b) == FMD_OK)
        fwrite(b.ptr, 1, b.len, f);
    fmd_arena_destroy(a);
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
