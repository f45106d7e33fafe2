/* SPDX-License-Identifier: MIT */
/* Placement for the engine's runs (fmd_engine_placement.h): topology, thread count and plan.
 * Never prints or exits: a topology that cannot be loaded is handed back for the caller to
 * report, and the plan degrades to unbound threads. */
#include <stdio.h>
#include <string.h>

#include "fmd_engine_placement.h"

/* The 1-minute load average from /proc/loadavg, or 0 when it cannot be read. */
static double load_average(void)
{
    double load = 0;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f != NULL) {
        if (fscanf(f, "%lf", &load) != 1)
            load = 0;
        fclose(f);
    }
    return load;
}

fmd_status fmd_engine_placement_open(fmd_placement *pl, const fmd_engine_placement_opts *o,
                                     fmd_status *topo_st, int *topo_err)
{
    memset(pl, 0, sizeof *pl);
    *topo_err = 0;
    fmd_numa_source src = {.kind = FMD_NUMA_SOURCE_SYNTHETIC, .spec = o->synthetic};
    *topo_st = fmd_numa_topology_create(&pl->topo, o->synthetic ? &src : NULL, topo_err);
    if (*topo_st != FMD_OK)
        pl->topo = NULL; /* an unbound plan over the online CPUs: the batch goes on */
    fmd_numa_plan_opts po = {0};
    po.threads = o->auto_threads ? fmd_numa_threads_auto(pl->topo, load_average()) : o->threads;
    if (!o->auto_threads && o->threads == 0 && o->profile_div >= 1) {
        fmd_numa_counts counts;
        fmd_numa_counts_get(pl->topo, &counts);
        po.threads = (int)(counts.cores / (size_t)o->profile_div);
        if (po.threads < 1)
            po.threads = 1;
    }
    po.user_binding = o->user_binding;
    po.no_bind = o->no_bind;
    po.record_affinity = o->record_affinity;
    fmd_status st = fmd_numa_plan_create(&pl->plan, pl->topo, &po);
    if (st != FMD_OK) {
        fmd_engine_placement_close(pl);
        return st;
    }
    pl->hook.fn = fmd_numa_thread_hook;
    pl->hook.userdata = pl->plan;
    return FMD_OK;
}

void fmd_engine_placement_warm(fmd_placement *pl)
{
    fmd_kernel_batch *kb = NULL;
    fmd_options opt;
    fmd_kernel_options_default(&opt);
    fmd_batch_run run = {.opt = &opt, .hook = &pl->hook};
    if (fmd_kernel_batch_create(&kb, pl->plan->n_threads) == FMD_OK)
        fmd_kernel_batch_run(kb, &run);
    fmd_kernel_batch_destroy(kb);
    fmd_numa_thread_unbind(pl->plan, NULL);
}

void fmd_engine_placement_close(fmd_placement *pl)
{
    fmd_numa_plan_destroy(pl->plan);
    fmd_numa_topology_destroy(pl->topo);
    memset(pl, 0, sizeof *pl);
}
