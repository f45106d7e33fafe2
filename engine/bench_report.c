/* SPDX-License-Identifier: MIT */
/* The report of a fastmd bench sweep (fmd_engine_bench.h): the thread-count list, the scaling
 * table, the Amdahl fit and the JSON object. Formats into a buffer; never prints or exits. */
#include <stdio.h>
#include <stdlib.h>

#include "fmd_engine_bench.h"

int fmd_engine_bench_counts_parse(const char *s, int *out, int cap)
{
    int n = 0;
    while (*s) {
        char *end;
        long a = strtol(s, &end, 10), b = a;
        if (end == s || a < 1 || a > 4096)
            return -1;
        if (*end == '-') {
            s = end + 1;
            b = strtol(s, &end, 10);
            if (end == s || b < a || b > 4096)
                return -1;
        }
        for (long v = a; v <= b; v++) {
            if (n == cap)
                return -1;
            out[n++] = (int)v;
        }
        s = end;
        if (*s == ',')
            s++;
        else if (*s != '\0')
            return -1;
    }
    return n;
}

/* The one-thread median the speedups are against, 0 when the first row is not one thread. */
static double t1_of(const fmd_engine_bench_report *r)
{
    return r->rows[0].threads == 1 ? r->rows[0].median : 0;
}

/* Amdahl's serial fraction: the least squares fit through the origin of 1/S - 1/p = f (1 - 1/p)
 * over the rows with p > 1. A fraction outside [0, 1] (superlinear speedup from caches, or noise)
 * predicts nothing: *f is clamped, *f_raw is the fit. Returns whether there was anything to fit. */
static bool fit_amdahl(const fmd_engine_bench_report *r, double *f, double *f_raw)
{
    double sxx = 0, sxy = 0, t1 = t1_of(r);
    for (int ci = 0; ci < r->n_rows; ci++) {
        double s, kf, p = r->rows[ci].threads;
        if (fmd_engine_bench_scaling(r->rows[ci].threads, r->rows[ci].median, t1, &s, &kf)) {
            double x = 1 - 1 / p, y = 1 / s - 1 / p;
            sxx += x * x;
            sxy += x * y;
        }
    }
    *f_raw = sxx > 0 ? sxy / sxx : 0;
    *f = *f_raw < 0 ? 0 : (*f_raw > 1 ? 1 : *f_raw);
    return t1 > 0 && sxx > 0;
}

static const int predicted_cores[] = {8, 16, 64, 256};

fmd_status fmd_engine_bench_table_format(const fmd_engine_bench_report *r, fmd_buf *out)
{
    fmd_status st = FMD_OK;
    double t1 = t1_of(r);
    FMD_TRY(fmd_buf_printf(out, "\n%7s %10s %19s %8s %6s %10s %6s %10s %8s %8s %8s", "threads",
                           "median s", "min-max s", "speedup", "eff", "karp-flatt", "cpu",
                           "pages/s", "p50 us", "p95 us", "p99 us"));
    if (r->io_floor)
        FMD_TRY(fmd_buf_printf(out, " %10s %9s", "floor s", "e2e/floor"));
    FMD_TRY(fmd_buf_putc(out, '\n'));
    for (int ci = 0; ci < r->n_rows; ci++) {
        const fmd_engine_bench_row *rw = &r->rows[ci];
        double s, kf, p = rw->threads;
        char range[40], kfs[16];
        snprintf(range, sizeof range, "%.4f-%.4f", rw->min, rw->max);
        if (fmd_engine_bench_scaling(rw->threads, rw->median, t1, &s, &kf))
            snprintf(kfs, sizeof kfs, "%.4f", kf);
        else
            snprintf(kfs, sizeof kfs, "-");
        FMD_TRY(fmd_buf_printf(
            out, "%7d %10.4f %19s %8.2f %5.0f%% %10s %5.0f%% %10.0f %8.1f %8.1f %8.1f", rw->threads,
            rw->median, range, s, s > 0 ? 100 * s / p : 0, kfs, 100 * rw->util,
            (double)r->n_pages / rw->median, rw->p50 * 1e6, rw->p95 * 1e6, rw->p99 * 1e6));
        if (r->io_floor)
            FMD_TRY(fmd_buf_printf(out, " %10.4f %9.2f", rw->floor_median,
                                   rw->median / rw->floor_median));
        FMD_TRY(fmd_buf_putc(out, '\n'));
    }
    double f, f_raw;
    if (fit_amdahl(r, &f, &f_raw)) {
        FMD_TRY(fmd_buf_printf(out, "\nAmdahl fit: serial fraction f = %.4f", f));
        if (f != f_raw)
            FMD_TRY(fmd_buf_printf(out, " (the fit gave %.4f, clamped to [0, 1])", f_raw));
        FMD_TRY(fmd_buf_printf(out, "; predicted speedup"));
        for (int i = 0; i < 4; i++)
            FMD_TRY(fmd_buf_printf(out, " %d: %.1fx%s", predicted_cores[i],
                                   1 / (f + (1 - f) / predicted_cores[i]), i < 3 ? "," : "\n"));
    }
    if (r->single_median > 0)
        FMD_TRY(fmd_buf_printf(
            out,
            "one thread without the parallel machinery: median %.4f s; %d-thread run / "
            "single = %.3f\n",
            r->single_median, r->rows[0].threads, r->rows[0].median / r->single_median));
fail:
    return st;
}

fmd_status fmd_engine_bench_json_format(const fmd_engine_bench_report *r, fmd_buf *out)
{
    fmd_status st = FMD_OK;
    double t1 = t1_of(r), f, f_raw;
    fit_amdahl(r, &f, &f_raw);
    FMD_TRY(fmd_buf_printf(out, "{\"pages\":%zu,\"mode\":\"%s\",\"repeat\":%d,\"rows\":[",
                           r->n_pages, r->mode, r->repeat));
    for (int ci = 0; ci < r->n_rows; ci++) {
        const fmd_engine_bench_row *rw = &r->rows[ci];
        double s, kf, p = rw->threads;
        fmd_engine_bench_scaling(rw->threads, rw->median, t1, &s, &kf);
        FMD_TRY(fmd_buf_printf(
            out,
            "%s{\"threads\":%d,\"median\":%.6f,\"min\":%.6f,\"max\":%.6f,\"speedup\":%.4f,"
            "\"efficiency\":%.4f,\"karpFlatt\":%.5f,\"cpuUtilisation\":%.4f,"
            "\"pagesPerSecond\":%.1f,\"p50\":%.9f,\"p95\":%.9f,\"p99\":%.9f,"
            "\"ioFloor\":%.6f}",
            ci ? "," : "", rw->threads, rw->median, rw->min, rw->max, s, s > 0 ? s / p : 0, kf,
            rw->util, (double)r->n_pages / rw->median, rw->p50, rw->p95, rw->p99,
            rw->floor_median));
    }
    FMD_TRY(fmd_buf_printf(
        out, "],\"amdahlSerialFraction\":%.6f,\"amdahlFit\":%.6f,\"predicted\":{", f, f_raw));
    for (int i = 0; i < 4; i++)
        FMD_TRY(fmd_buf_printf(out, "%s\"%d\":%.3f", i ? "," : "", predicted_cores[i],
                               1 / (f + (1 - f) / predicted_cores[i])));
    FMD_TRY(fmd_buf_printf(out, "},\"singleMedian\":%.6f}\n", r->single_median));
fail:
    return st;
}
