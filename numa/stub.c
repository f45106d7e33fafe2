/* SPDX-License-Identifier: MIT */
/* The numa/ backend built with FMD_WITH_HWLOC=OFF: the machine is sysconf(_SC_NPROCESSORS_ONLN)
 * PUs, each taken as a core, on one node. Plans never bind and memory is placed by first touch.
 * Same API and same warnings-as-data contract as hwloc.c; synthetic and XML sources are refused. */
#include "numa_internal.h"

#include <errno.h>
#include <stdlib.h>

struct fmd_numa_topology {
    size_t pus;
    fmd_numa_warnings warnings;
};

struct fmd__numa_backend {
    int unused; /* a stub plan has no backend data; the type exists for internal.h */
};

static const fmd_numa_warnings no_warnings;

fmd_status fmd_numa_topology_create(fmd_numa_topology **out, const fmd_numa_source *src, int *err)
{
    if (err != NULL)
        *err = 0;
    if (out == NULL)
        return FMD_E_USAGE;
    *out = NULL;
    if (src != NULL && (src->kind != FMD_NUMA_SOURCE_SYSTEM || src->allowed != NULL)) {
        if (err != NULL)
            *err = ENOSYS;
        return FMD_E_USAGE; /* only hwloc reads synthetic descriptions, XML and PU lists */
    }
    fmd_numa_topology *t = calloc(1, sizeof *t);
    if (t == NULL) {
        if (err != NULL)
            *err = ENOMEM;
        return FMD_E_NOMEM;
    }
    t->pus = fmd__numa_online_pus();
    *out = t;
    return FMD_OK;
}

void fmd_numa_topology_destroy(fmd_numa_topology *t)
{
    free(t);
}

const fmd_numa_warnings *fmd_numa_warnings_get(const fmd_numa_topology *t)
{
    return t == NULL ? &no_warnings : &t->warnings;
}

void fmd_numa_counts_get(const fmd_numa_topology *t, fmd_numa_counts *out)
{
    size_t pus = t != NULL ? t->pus : fmd__numa_online_pus();
    out->packages = 1;
    out->nodes = 1;
    out->cores = out->pus = out->machine_pus = pus;
}

int fmd_numa_threads_auto(const fmd_numa_topology *t, double loadavg)
{
    fmd_numa_counts c;
    fmd_numa_counts_get(t, &c);
    return fmd__numa_auto_threads(c.cores, loadavg);
}

fmd_status fmd_numa_plan_create(fmd_numa_plan **out, const fmd_numa_topology *t,
                                const fmd_numa_plan_opts *opts)
{
    static const fmd_numa_plan_opts defaults;
    if (out == NULL)
        return FMD_E_USAGE;
    *out = NULL;
    return fmd__numa_make_flat_plan(out, t != NULL ? t->pus : fmd__numa_online_pus(),
                                    opts != NULL ? opts : &defaults);
}

void fmd__numa_free_backend(struct fmd__numa_backend *be)
{
    free(be);
}

fmd_status fmd_numa_thread_bind(const fmd_numa_plan *p, int thread)
{
    if (p == NULL || thread < 0 || thread >= p->n_threads)
        return FMD_E_USAGE;
    p->reports[thread].bind = FMD_NUMA_BIND_OFF;
    p->reports[thread].err = 0;
    return FMD_OK;
}

fmd_status fmd_numa_companion_bind(const fmd_numa_plan *p, int thread, int *err)
{
    if (err != NULL)
        *err = 0;
    if (p == NULL || thread < 0 || thread >= p->n_threads)
        return FMD_E_USAGE;
    return FMD_OK;
}

fmd_status fmd_numa_thread_unbind(const fmd_numa_plan *p, fmd_numa_warning *w)
{
    if (w != NULL) {
        w->code = FMD_NUMA_W_NONE;
        w->err = 0;
        w->value = 0;
    }
    return p == NULL ? FMD_E_USAGE : FMD_OK;
}

fmd_status fmd_numa_affinity_record(const fmd_numa_plan *p, int thread)
{
    if (p == NULL || thread < 0 || thread >= p->n_threads)
        return FMD_E_USAGE;
    int cpu = fmd__numa_os_current_cpu();
    p->reports[thread].cpu = cpu;
    p->reports[thread].cpu_node = cpu >= 0 ? 0 : -1;
    return FMD_OK;
}

int fmd_numa_node_current(const fmd_numa_plan *p)
{
    return p == NULL ? -1 : 0;
}

fmd_status fmd_numa_memory_bind(const fmd_numa_plan *p, void *addr, size_t len, int node,
                                bool migrate, fmd_numa_warning *w)
{
    (void)migrate;
    if (w != NULL) {
        w->code = FMD_NUMA_W_NONE;
        w->err = 0;
        w->value = 0;
    }
    if (p == NULL || node < 0 || (size_t)node >= p->n_nodes || (addr == NULL && len > 0))
        return FMD_E_USAGE;
    return FMD_OK; /* first touch places it */
}

fmd_status fmd_numa_topology_format(const fmd_numa_topology *t, const fmd_numa_plan *p,
                                    fmd_buf *out)
{
    fmd_status st = FMD_OK;
    fmd_numa_counts c;
    if (out == NULL)
        return FMD_E_USAGE;
    fmd_numa_counts_get(t, &c);
    FMD_TRY(fmd_buf_printf(out,
                           "topology: built without hwloc; %zu PUs online, taken as cores "
                           "on one node\n",
                           c.pus));
    if (p != NULL)
        FMD_TRY(fmd__numa_format_plan(p, out));
fail:
    return st;
}
