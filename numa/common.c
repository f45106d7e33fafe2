/* SPDX-License-Identifier: MIT */
/* The parts of numa/ that need no hwloc, shared by both backends: plan memory, the thread-count
 * rules, the byte split across nodes, the per-thread hook, and the report and warning text.
 * Nothing here prints: text goes into the caller's fmd_buf. */
#include "numa_internal.h"

#include <assert.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*** Plan memory ***/

fmd_status fmd__numa_plan_alloc(fmd__numa_builder *b, int n_threads, size_t n_nodes)
{
    fmd_status st = FMD_OK;
    fmd_numa_plan *p = NULL;
    fmd_arena *arena = NULL;
    struct fmd__numa_plan_priv *priv;
    char *raw;

    assert(n_threads >= 1 && n_threads <= FMD_NUMA_MAX_THREADS && n_nodes >= 1);
    memset(b, 0, sizeof *b);
    p = calloc(1, sizeof *p);
    if (p == NULL)
        return FMD_E_NOMEM;
    FMD_TRY(fmd_arena_create(&arena, 0));
    priv = fmd_arena_alloc(arena, sizeof *priv);
    b->threads = fmd_arena_alloc(arena, (size_t)n_threads * sizeof *b->threads);
    b->nodes = fmd_arena_alloc(arena, n_nodes * sizeof *b->nodes);
    /* The arena aligns to 16 only; report slots need 64 so that no two threads share a line. */
    raw = fmd_arena_alloc(arena, (size_t)n_threads * sizeof(fmd_numa_report) + 64);
    if (priv == NULL || b->threads == NULL || b->nodes == NULL || raw == NULL) {
        st = FMD_E_NOMEM;
        goto fail;
    }
    memset(b->threads, 0, (size_t)n_threads * sizeof *b->threads);
    memset(b->nodes, 0, n_nodes * sizeof *b->nodes);
    priv->arena = arena;
    priv->backend = NULL;
    p->priv = priv;
    p->reports = (fmd_numa_report *)(raw + (64 - (uintptr_t)raw % 64) % 64);
    p->n_threads = n_threads;
    p->n_nodes = n_nodes;
    p->threads = b->threads;
    p->nodes = b->nodes;
    fmd_numa_reports_clear(p);
    b->plan = p;
    b->arena = arena;
    return FMD_OK;
fail:
    fmd_arena_destroy(arena);
    free(p);
    memset(b, 0, sizeof *b);
    return st;
}

void *fmd__numa_plan_mem(fmd__numa_builder *b, size_t n)
{
    return fmd_arena_alloc(b->arena, n);
}

fmd_status fmd__numa_index_nodes(fmd__numa_builder *b)
{
    fmd_numa_plan *p = b->plan;
    int *all = fmd__numa_plan_mem(b, (size_t)p->n_threads * sizeof *all);
    size_t pos = 0;

    if (all == NULL)
        return FMD_E_NOMEM;
    /* One pass per node keeps each list ascending; nodes are few. */
    for (size_t k = 0; k < p->n_nodes; k++) {
        b->nodes[k].threads = all + pos;
        b->nodes[k].n_threads = 0;
        for (int t = 0; t < p->n_threads; t++) {
            if (b->threads[t].node == (int)k) {
                all[pos++] = t;
                b->nodes[k].n_threads++;
            }
        }
    }
    assert(pos == (size_t)p->n_threads);
    return FMD_OK;
}

void fmd_numa_plan_destroy(fmd_numa_plan *p)
{
    if (p == NULL)
        return;
    if (p->priv != NULL) {
        fmd_arena *arena = p->priv->arena; /* priv itself lives in the arena */
        fmd__numa_free_backend(p->priv->backend);
        fmd_arena_destroy(arena);
    }
    free(p);
}

void fmd_numa_reports_clear(fmd_numa_plan *p)
{
    if (p == NULL)
        return;
    for (int t = 0; t < p->n_threads; t++) {
        fmd_numa_report *r = &p->reports[t];
        r->bind = FMD_NUMA_BIND_NOT_RUN;
        r->err = 0;
        r->team_size = 0;
        r->cpu = -1;
        r->cpu_node = -1;
    }
}

/*** Thread counts ***/

fmd_status fmd__numa_thread_count(const fmd_numa_plan_opts *opts, size_t cores, int *out)
{
    int n = opts->threads;
    if (n < 0 || n > FMD_NUMA_MAX_THREADS)
        return FMD_E_USAGE;
    if (n == 0)
        n = cores == 0 ? 1 : cores > FMD_NUMA_MAX_THREADS ? FMD_NUMA_MAX_THREADS : (int)cores;
    *out = n;
    return FMD_OK;
}

size_t fmd__numa_online_pus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (size_t)n;
}

int fmd__numa_auto_threads(size_t cores, double loadavg)
{
    if (cores > FMD_NUMA_MAX_THREADS)
        cores = FMD_NUMA_MAX_THREADS;
    if (cores <= 1)
        return 1;
    if (!(loadavg > 0.0)) /* also NaN */
        loadavg = 0.0;
    if (loadavg >= (double)cores)
        return 1;
    size_t busy = (size_t)(loadavg + 0.5); /* round half up; loadavg < cores, so this fits */
    return busy >= cores ? 1 : (int)(cores - busy);
}

bool fmd_numa_binding_user(const char *omp_proc_bind, const char *omp_places)
{
    return (omp_proc_bind != NULL && omp_proc_bind[0] != '\0') ||
           (omp_places != NULL && omp_places[0] != '\0');
}

fmd_status fmd__numa_make_flat_plan(fmd_numa_plan **out, size_t n_pus,
                                    const fmd_numa_plan_opts *opts)
{
    fmd_status st = FMD_OK;
    fmd__numa_builder b;
    int n = 0;

    *out = NULL;
    FMD_TRY(fmd__numa_thread_count(opts, n_pus, &n));
    FMD_TRY(fmd__numa_plan_alloc(&b, n, 1));
    b.plan->binding = FMD_NUMA_BINDING_OFF_NO_HWLOC;
    b.plan->record_affinity = opts->record_affinity;
    b.plan->n_cores = n_pus;
    b.plan->n_pus = n_pus;
    b.nodes[0].os_index = FMD_NUMA_NO_OS_INDEX;
    b.nodes[0].n_cores = n_pus;
    for (int t = 0; t < n; t++) {
        b.threads[t].core = (int)((size_t)t % n_pus);
        b.threads[t].node = 0;
    }
    if ((size_t)n > n_pus)
        fmd__numa_warn(&b.plan->warnings, FMD_NUMA_W_OVERSUBSCRIBED, 0, n);
    st = fmd__numa_index_nodes(&b);
    if (st != FMD_OK) {
        fmd_numa_plan_destroy(b.plan);
        return st;
    }
    *out = b.plan;
    return FMD_OK;
fail:
    return st;
}

void fmd_numa_thread_hook(int thread, int nthreads, void *plan)
{
    const fmd_numa_plan *p = plan;
    if (p == NULL || thread < 0 || thread >= p->n_threads)
        return; /* no slot for it: leave it as the runtime made it */
    p->reports[thread].team_size = nthreads;
    (void)fmd_numa_thread_bind(p, thread);
    if (p->record_affinity)
        (void)fmd_numa_affinity_record(p, thread);
}

void fmd__numa_warn(fmd_numa_warnings *w, fmd_numa_warning_code code, int err, long value)
{
    if (w->n == FMD_NUMA_MAX_WARNINGS) {
        w->dropped++;
        return;
    }
    w->items[w->n].code = code;
    w->items[w->n].err = err;
    w->items[w->n].value = value;
    w->n++;
}

/*** Splitting pages across nodes ***/

typedef unsigned (*weight_fn)(const void *ctx, size_t k);

static unsigned array_weight(const void *ctx, size_t k)
{
    return ((const unsigned *)ctx)[k];
}

static unsigned node_weight(const void *ctx, size_t k)
{
    size_t n = ((const fmd_numa_plan *)ctx)->nodes[k].n_threads;
    return n > UINT32_MAX ? UINT32_MAX : (unsigned)n;
}

/* The cost of page i: its bytes, or 1 each when the batch has no bytes at all. */
static double cost(const size_t *sizes, size_t i, bool by_count)
{
    return by_count ? 1.0 : (double)sizes[i];
}

/* Boundary j goes where the prefix total is nearest total * (w_0 + .. + w_{j-1}) / W. The walk
 * only moves forward, so the ranges are contiguous, ordered and cover every page once. Targets
 * are doubles: exact for byte totals below 2^53, and a boundary off by one ulp is still valid. */
static fmd_status split(const size_t *sizes, size_t n, weight_fn weight, const void *ctx,
                        size_t n_parts, size_t *first, size_t *bytes)
{
    double w_total = 0.0, w_cum = 0.0, total = 0.0, prefix = 0.0;
    size_t i = 0;
    bool by_count;

    if (n_parts == 0 || first == NULL || (n > 0 && sizes == NULL))
        return FMD_E_USAGE;
    for (size_t k = 0; k < n_parts; k++)
        w_total += weight(ctx, k);
    if (w_total == 0.0)
        return FMD_E_USAGE;
    for (size_t k = 0; k < n; k++)
        total += (double)sizes[k];
    by_count = total == 0.0;
    if (by_count)
        total = (double)n;

    first[0] = 0;
    for (size_t j = 1; j < n_parts; j++) {
        unsigned w = weight(ctx, j - 1);
        w_cum += w;
        if (w == 0) { /* not even empty pages go to a part without threads */
            first[j] = i;
            continue;
        }
        if (w_cum == w_total) { /* the parts left have weight 0: this one takes the rest */
            i = n;
            first[j] = i;
            continue;
        }
        double target = total * w_cum / w_total;
        while (i < n && prefix + cost(sizes, i, by_count) <= target)
            prefix += cost(sizes, i++, by_count);
        /* Page i straddles the target: take it when that lands nearer (ties stay out). */
        if (i < n && prefix < target &&
            prefix + cost(sizes, i, by_count) - target < target - prefix)
            prefix += cost(sizes, i++, by_count);
        first[j] = i;
    }
    first[n_parts] = n;
    if (bytes != NULL) {
        for (size_t k = 0; k < n_parts; k++) {
            bytes[k] = 0;
            for (size_t x = first[k]; x < first[k + 1]; x++)
                bytes[k] += sizes[x];
        }
    }
    return FMD_OK;
}

fmd_status fmd_numa_bytes_split(const size_t *sizes, size_t n, const unsigned *weights,
                                size_t n_parts, size_t *first, size_t *bytes)
{
    if (weights == NULL)
        return FMD_E_USAGE;
    return split(sizes, n, array_weight, weights, n_parts, first, bytes);
}

fmd_status fmd_numa_pages_split(const fmd_numa_plan *p, const size_t *sizes, size_t n,
                                size_t *first, size_t *bytes)
{
    if (p == NULL)
        return FMD_E_USAGE;
    return split(sizes, n, node_weight, p, p->n_nodes, first, bytes);
}

/*** Text ***/

/* "0-3,8,10-11" for an ascending list given by get(ctx, i). */
static fmd_status put_ranges(fmd_buf *out, size_t n, unsigned long (*get)(const void *, size_t),
                             const void *ctx)
{
    fmd_status st = FMD_OK;
    size_t i = 0;
    if (n == 0)
        return fmd_buf_puts(out, "none");
    while (i < n) {
        size_t j = i;
        while (j + 1 < n && get(ctx, j + 1) == get(ctx, j) + 1)
            j++;
        if (i > 0)
            FMD_TRY(fmd_buf_putc(out, ','));
        FMD_TRY(fmd_buf_put_u64(out, get(ctx, i)));
        if (j > i) {
            FMD_TRY(fmd_buf_putc(out, '-'));
            FMD_TRY(fmd_buf_put_u64(out, get(ctx, j)));
        }
        i = j + 1;
    }
fail:
    return st;
}

static unsigned long get_unsigned(const void *ctx, size_t i)
{
    return ((const unsigned *)ctx)[i];
}

static unsigned long get_int(const void *ctx, size_t i)
{
    return (unsigned long)((const int *)ctx)[i];
}

fmd_status fmd__numa_put_pu_list(fmd_buf *out, const unsigned *pus, size_t n)
{
    return put_ranges(out, n, get_unsigned, pus);
}

static const char *binding_text(fmd_numa_binding b)
{
    switch (b) {
    case FMD_NUMA_BINDING_ON: return "bound close: one thread per core, node by node";
    case FMD_NUMA_BINDING_OFF_USER:
        return "not bound by fastmd: OMP_PROC_BIND or OMP_PLACES is set, the OpenMP runtime "
               "places threads";
    case FMD_NUMA_BINDING_OFF_REQUESTED: return "not bound: binding was turned off";
    case FMD_NUMA_BINDING_OFF_FOREIGN: return "not bound: the topology describes another machine";
    case FMD_NUMA_BINDING_OFF_NO_HWLOC:
        return "not bound: built without hwloc, or the topology could not be loaded";
    }
    return "unknown";
}

static fmd_status put_node(fmd_buf *out, const fmd_numa_plan *p, int node)
{
    if (node < 0 || (size_t)node >= p->n_nodes)
        return fmd_buf_puts(out, "?");
    return fmd_buf_printf(out, "%d", node);
}

fmd_status fmd__numa_format_plan(const fmd_numa_plan *p, fmd_buf *out)
{
    fmd_status st = FMD_OK;
    FMD_TRY(fmd_buf_printf(out, "plan: %d thread%s, %s\n", p->n_threads,
                           p->n_threads == 1 ? "" : "s", binding_text(p->binding)));
    for (size_t k = 0; k < p->n_nodes; k++) {
        const fmd_numa_node *nd = &p->nodes[k];
        FMD_TRY(fmd_buf_printf(out, "  node %zu: %zu core%s, %zu thread%s", k, nd->n_cores,
                               nd->n_cores == 1 ? "" : "s", nd->n_threads,
                               nd->n_threads == 1 ? "" : "s"));
        if (nd->n_threads > 0) {
            FMD_TRY(fmd_buf_puts(out, " ("));
            FMD_TRY(put_ranges(out, nd->n_threads, get_int, nd->threads));
            FMD_TRY(fmd_buf_putc(out, ')'));
        }
        FMD_TRY(fmd_buf_putc(out, '\n'));
    }
    for (int t = 0; t < p->n_threads; t++) {
        const fmd_numa_thread *th = &p->threads[t];
        FMD_TRY(fmd_buf_printf(out, "  thread %d: core %d, node %d, PUs ", t, th->core, th->node));
        FMD_TRY(th->n_pus > 0 ? fmd__numa_put_pu_list(out, th->pus, th->n_pus)
                              : fmd_buf_puts(out, "any"));
        FMD_TRY(fmd_buf_putc(out, '\n'));
    }
fail:
    return st;
}

static fmd_status put_errno(fmd_buf *out, int err)
{
    char msg[128];
    /* XSI strerror_r (this file does not define _GNU_SOURCE): reentrant, unlike strerror(). */
    if (strerror_r(err, msg, sizeof msg) != 0)
        return fmd_buf_printf(out, "errno %d", err);
    return fmd_buf_puts(out, msg);
}

fmd_status fmd_numa_affinity_format(const fmd_numa_plan *p, fmd_buf *out)
{
    fmd_status st = FMD_OK;
    if (p == NULL || out == NULL)
        return FMD_E_USAGE;
    FMD_TRY(fmd_buf_printf(out, "affinity: %d planned thread%s, %s\n", p->n_threads,
                           p->n_threads == 1 ? "" : "s", binding_text(p->binding)));
    for (int t = 0; t < p->n_threads; t++) {
        const fmd_numa_thread *th = &p->threads[t];
        const fmd_numa_report *r = &p->reports[t];
        FMD_TRY(fmd_buf_printf(out, "  thread %d: core %d (node %d, PUs ", t, th->core, th->node));
        FMD_TRY(th->n_pus > 0 ? fmd__numa_put_pu_list(out, th->pus, th->n_pus)
                              : fmd_buf_puts(out, "any"));
        FMD_TRY(fmd_buf_puts(out, "): "));
        switch (r->bind) {
        case FMD_NUMA_BIND_NOT_RUN: FMD_TRY(fmd_buf_puts(out, "did not run\n")); continue;
        case FMD_NUMA_BIND_OK: FMD_TRY(fmd_buf_puts(out, "bound")); break;
        case FMD_NUMA_BIND_OFF: FMD_TRY(fmd_buf_puts(out, "not bound")); break;
        case FMD_NUMA_BIND_REFUSED:
            FMD_TRY(fmd_buf_puts(out, "binding refused ("));
            FMD_TRY(put_errno(out, r->err));
            FMD_TRY(fmd_buf_putc(out, ')'));
            break;
        }
        if (r->cpu >= 0) {
            FMD_TRY(fmd_buf_printf(out, ", ran on PU %d (node ", r->cpu));
            FMD_TRY(put_node(out, p, r->cpu_node));
            FMD_TRY(fmd_buf_putc(out, ')'));
        } else {
            FMD_TRY(fmd_buf_puts(out, ", PU not recorded"));
        }
        if (r->team_size != p->n_threads)
            FMD_TRY(fmd_buf_printf(out, ", team of %d", r->team_size));
        FMD_TRY(fmd_buf_putc(out, '\n'));
    }
fail:
    return st;
}

static fmd_status put_warning(fmd_buf *out, const fmd_numa_warning *w)
{
    fmd_status st = FMD_OK;
    FMD_TRY(fmd_buf_puts(out, "numa: warning: "));
    switch (w->code) {
    case FMD_NUMA_W_NONE: FMD_TRY(fmd_buf_puts(out, "none")); break;
    case FMD_NUMA_W_CPUBIND_QUERY:
        FMD_TRY(fmd_buf_puts(out, "could not read this process's CPU binding ("));
        FMD_TRY(put_errno(out, w->err));
        FMD_TRY(fmd_buf_puts(out, "); every PU of the topology is taken as allowed"));
        break;
    case FMD_NUMA_W_CPUBIND_DISJOINT:
        FMD_TRY(fmd_buf_puts(out, "this process's CPU binding shares no PU with the topology; "
                                  "it is ignored"));
        break;
    case FMD_NUMA_W_NO_CORES:
        FMD_TRY(fmd_buf_puts(out, "the topology reports no cores; each PU counts as a core"));
        break;
    case FMD_NUMA_W_OVERSUBSCRIBED:
        FMD_TRY(fmd_buf_printf(out,
                               "%ld threads for fewer PUs: some PUs run more than one "
                               "thread",
                               w->value));
        break;
    case FMD_NUMA_W_BIND_REFUSED:
        FMD_TRY(fmd_buf_printf(out, "could not bind %ld thread%s to %s core (", w->value,
                               w->value == 1 ? "" : "s", w->value == 1 ? "its" : "their"));
        FMD_TRY(put_errno(out, w->err));
        FMD_TRY(fmd_buf_puts(out, "); they run where the OS places them"));
        break;
    case FMD_NUMA_W_UNBIND_REFUSED:
        FMD_TRY(fmd_buf_puts(out, "could not restore a thread's CPU binding ("));
        FMD_TRY(put_errno(out, w->err));
        FMD_TRY(fmd_buf_putc(out, ')'));
        break;
    case FMD_NUMA_W_MEMBIND_REFUSED:
        FMD_TRY(fmd_buf_printf(out, "could not bind memory to NUMA node %ld (", w->value));
        FMD_TRY(put_errno(out, w->err));
        FMD_TRY(fmd_buf_puts(out, "); it stays where it was first touched"));
        break;
    }
    FMD_TRY(fmd_buf_putc(out, '\n'));
fail:
    return st;
}

static fmd_status put_warnings(fmd_buf *out, const fmd_numa_warnings *w)
{
    fmd_status st = FMD_OK;
    for (size_t i = 0; i < w->n; i++)
        FMD_TRY(put_warning(out, &w->items[i]));
    if (w->dropped > 0)
        FMD_TRY(fmd_buf_printf(out, "numa: warning: %zu more warning%s not shown\n", w->dropped,
                               w->dropped == 1 ? "" : "s"));
fail:
    return st;
}

fmd_status fmd_numa_warnings_format(const fmd_numa_topology *t, const fmd_numa_plan *p,
                                    fmd_buf *out)
{
    fmd_status st = FMD_OK;
    if (out == NULL)
        return FMD_E_USAGE;
    if (t != NULL)
        FMD_TRY(put_warnings(out, fmd_numa_warnings_get(t)));
    if (p != NULL) {
        fmd_numa_warning refused = {FMD_NUMA_W_BIND_REFUSED, 0, 0};
        FMD_TRY(put_warnings(out, &p->warnings));
        /* One line for all refused threads: in a container they are refused alike. */
        for (int i = 0; i < p->n_threads; i++) {
            if (p->reports[i].bind == FMD_NUMA_BIND_REFUSED) {
                if (refused.value++ == 0)
                    refused.err = p->reports[i].err;
            }
        }
        if (refused.value > 0)
            FMD_TRY(put_warning(out, &refused));
    }
fail:
    return st;
}
