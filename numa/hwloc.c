/* SPDX-License-Identifier: MIT */
/* The hwloc backend of numa/: load the topology once, restricted to the PUs this process may use,
 * turn it into a close plan, bind threads and memory, and describe the machine. The only file of
 * fastmd that includes hwloc.h. The topology is modified only while loading; afterwards every
 * call only reads it, which hwloc allows from many threads at once. */
#include "numa_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hwloc.h>

struct fmd_numa_topology {
    hwloc_topology_t topo;
    size_t machine_pus; /* PUs the OS allows before the process binding / allowed list */
    fmd_numa_warnings warnings;
};

/* What a plan needs to bind: one cpuset per thread, the whole allowed set (to unbind), and a
 * table from PU OS index to plan node (to say where a thread is). */
struct fmd__numa_backend {
    hwloc_topology_t topo; /* borrowed from the fmd_numa_topology, which outlives the plan */
    hwloc_bitmap_t *thread_sets;
    int n_sets;
    hwloc_bitmap_t allowed;
    int *pu_node;
    size_t pu_node_len;
};

/*** Loading ***/

static const fmd_numa_warnings no_warnings;

fmd_status fmd_numa_topology_create(fmd_numa_topology **out, const fmd_numa_source *src, int *err)
{
    static const fmd_numa_source system_source = {FMD_NUMA_SOURCE_SYSTEM, NULL, false, NULL};
    fmd_status st = FMD_OK;
    fmd_numa_topology *t = NULL;
    hwloc_bitmap_t allowed = NULL, bound = NULL, listed = NULL;
    unsigned long flags = 0;
    int e = 0;

    if (err != NULL)
        *err = 0;
    if (out == NULL)
        return FMD_E_USAGE;
    *out = NULL;
    if (src == NULL)
        src = &system_source;
    if (src->kind != FMD_NUMA_SOURCE_SYSTEM && src->spec == NULL)
        return FMD_E_USAGE;
    t = calloc(1, sizeof *t);
    if (t == NULL)
        return FMD_E_NOMEM;
    if (hwloc_topology_init(&t->topo) < 0) {
        e = errno;
        t->topo = NULL;
        st = FMD_E_NOMEM;
        goto fail;
    }
    switch (src->kind) {
    case FMD_NUMA_SOURCE_SYSTEM: break;
    case FMD_NUMA_SOURCE_SYNTHETIC:
        if (hwloc_topology_set_synthetic(t->topo, src->spec) < 0) {
            e = errno;
            st = FMD_E_USAGE;
            goto fail;
        }
        break;
    case FMD_NUMA_SOURCE_XML:
        if (hwloc_topology_set_xml(t->topo, src->spec) < 0) {
            e = errno;
            st = FMD_E_NOINPUT;
            goto fail;
        }
        break;
    default: st = FMD_E_USAGE; goto fail;
    }
    /* Without IS_THISSYSTEM, hwloc gives a synthetic or XML topology binding hooks that do
     * nothing and return success; with it, binding calls are real system calls. */
    if (src->kind != FMD_NUMA_SOURCE_SYSTEM && src->this_system)
        flags |= HWLOC_TOPOLOGY_FLAG_IS_THISSYSTEM;
    if (hwloc_topology_set_flags(t->topo, flags) < 0 || hwloc_topology_load(t->topo) < 0) {
        e = errno;
        st = src->kind == FMD_NUMA_SOURCE_XML ? FMD_E_NOINPUT : FMD_E_IO;
        goto fail;
    }

    /* hwloc has already removed what the cgroup / cpuset forbids (we do not pass
     * INCLUDE_DISALLOWED); intersect with the allowed set anyway in case a backend kept some. */
    allowed = hwloc_bitmap_dup(hwloc_topology_get_topology_cpuset(t->topo));
    bound = hwloc_bitmap_alloc();
    listed = hwloc_bitmap_alloc();
    if (allowed == NULL || bound == NULL || listed == NULL) {
        e = ENOMEM;
        st = FMD_E_NOMEM;
        goto fail;
    }
    hwloc_bitmap_and(allowed, allowed, hwloc_topology_get_allowed_cpuset(t->topo));
    t->machine_pus = (size_t)hwloc_bitmap_weight(allowed);

    /* The process's own affinity (taskset, numactl, a parent's mask) is not a cgroup: hwloc does
     * not apply it, so do it here. The union over the process's threads; the calling thread's
     * when the OS cannot give the process's. */
    if (hwloc_topology_is_thissystem(t->topo)) {
        if (hwloc_get_cpubind(t->topo, bound, HWLOC_CPUBIND_PROCESS) < 0) {
            int process_err = errno;
            if (hwloc_get_cpubind(t->topo, bound, HWLOC_CPUBIND_THREAD) < 0) {
                fmd__numa_warn(&t->warnings, FMD_NUMA_W_CPUBIND_QUERY, process_err, 0);
                hwloc_bitmap_fill(bound);
            }
        }
        /* OMP_PLACES, OMP_PROC_BIND or GOMP_CPU_AFFINITY: libgomp bound this thread to its
         * first place before main, so the binding shows one place. The places themselves were
         * cut from the affinity libgomp found at load time: add them back. */
        int ids[FMD_NUMA_MAX_PLACE_CPUS];
        size_t n_ids = fmd__numa_omp_place_cpus(ids, FMD_NUMA_MAX_PLACE_CPUS);
        for (size_t i = 0; i < n_ids; i++)
            if (ids[i] >= 0)
                hwloc_bitmap_set(bound, (unsigned)ids[i]);
        if (!hwloc_bitmap_intersects(allowed, bound))
            fmd__numa_warn(&t->warnings, FMD_NUMA_W_CPUBIND_DISJOINT, 0, 0);
        else
            hwloc_bitmap_and(allowed, allowed, bound);
    }
    if (src->allowed != NULL) {
        if (hwloc_bitmap_list_sscanf(listed, src->allowed) < 0) {
            e = EINVAL;
            st = FMD_E_USAGE;
            goto fail;
        }
        hwloc_bitmap_and(allowed, allowed, listed);
        if (hwloc_bitmap_iszero(allowed)) {
            e = EINVAL;
            st = FMD_E_USAGE;
            goto fail;
        }
    }
    /* From here on the topology holds only what we may use: cores and packages outside are
     * gone, cores partly outside keep their allowed PUs. Nodes keep their memory. */
    if (!hwloc_bitmap_isequal(allowed, hwloc_topology_get_topology_cpuset(t->topo)) &&
        hwloc_topology_restrict(t->topo, allowed, 0) < 0) {
        e = errno;
        st = e == ENOMEM ? FMD_E_NOMEM : FMD_E_USAGE;
        goto fail;
    }
    hwloc_bitmap_free(allowed);
    hwloc_bitmap_free(bound);
    hwloc_bitmap_free(listed);
    *out = t;
    return FMD_OK;
fail:
    if (err != NULL)
        *err = e;
    hwloc_bitmap_free(allowed);
    hwloc_bitmap_free(bound);
    hwloc_bitmap_free(listed);
    fmd_numa_topology_destroy(t);
    return st;
}

void fmd_numa_topology_destroy(fmd_numa_topology *t)
{
    if (t == NULL)
        return;
    if (t->topo != NULL)
        hwloc_topology_destroy(t->topo);
    free(t);
}

const fmd_numa_warnings *fmd_numa_warnings_get(const fmd_numa_topology *t)
{
    return t == NULL ? &no_warnings : &t->warnings;
}

/*** What is in it ***/

/* The type that stands for a core: Core, or PU on a topology that has no cores. */
static hwloc_obj_type_t core_type(hwloc_topology_t topo)
{
    return hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE) > 0 ? HWLOC_OBJ_CORE : HWLOC_OBJ_PU;
}

/* The core's NUMA node: the first (in logical order) whose PUs include the core's, else the first
 * that shares a PU with it. The first, because nodes may overlap (DRAM and HBM/MCDRAM nodes have
 * the same PUs; the DRAM one comes first). NULL when no node covers it. */
static hwloc_obj_t core_numa(hwloc_topology_t topo, hwloc_obj_t core)
{
    hwloc_obj_t node = NULL;
    while ((node = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_NUMANODE, node)) != NULL) {
        if (hwloc_bitmap_isincluded(core->cpuset, node->cpuset))
            return node;
    }
    while ((node = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_NUMANODE, node)) != NULL) {
        if (hwloc_bitmap_intersects(core->cpuset, node->cpuset))
            return node;
    }
    return NULL;
}

static size_t count_type(hwloc_topology_t topo, hwloc_obj_type_t type)
{
    int n = hwloc_get_nbobjs_by_type(topo, type);
    return n < 0 ? 0 : (size_t)n;
}

/* Objects of @p type holding an allowed PU: a restricted topology keeps the packages and nodes
 * whose PUs are all gone when they still hold memory. */
static size_t count_with_pus(hwloc_topology_t topo, hwloc_obj_type_t type)
{
    size_t n = 0;
    hwloc_obj_t obj = NULL;
    while ((obj = hwloc_get_next_obj_by_type(topo, type, obj)) != NULL)
        n += !hwloc_bitmap_iszero(obj->cpuset);
    return n;
}

void fmd_numa_counts_get(const fmd_numa_topology *t, fmd_numa_counts *out)
{
    if (t == NULL) {
        size_t pus = fmd__numa_online_pus();
        out->packages = 1;
        out->nodes = 1;
        out->cores = out->pus = out->machine_pus = pus;
        return;
    }
    out->packages = count_with_pus(t->topo, HWLOC_OBJ_PACKAGE);
    out->nodes = count_with_pus(t->topo, HWLOC_OBJ_NUMANODE);
    out->cores = count_type(t->topo, core_type(t->topo));
    out->pus = count_type(t->topo, HWLOC_OBJ_PU);
    out->machine_pus = t->machine_pus;
}

int fmd_numa_threads_auto(const fmd_numa_topology *t, double loadavg)
{
    fmd_numa_counts c;
    fmd_numa_counts_get(t, &c);
    return fmd__numa_auto_threads(c.cores, loadavg);
}

/*** The plan ***/

void fmd__numa_free_backend(struct fmd__numa_backend *be)
{
    if (be == NULL)
        return;
    if (be->thread_sets != NULL) {
        for (int i = 0; i < be->n_sets; i++)
            hwloc_bitmap_free(be->thread_sets[i]);
        free(be->thread_sets);
    }
    hwloc_bitmap_free(be->allowed);
    free(be->pu_node);
    free(be);
}

/* One core of the close order. */
typedef struct core_slot {
    hwloc_obj_t obj;
    int node; /* plan node */
    unsigned *pus;
    size_t n_pus;
} core_slot;

static fmd_numa_binding choose_binding(const fmd_numa_topology *t, const fmd_numa_plan_opts *o)
{
    if (o->user_binding)
        return FMD_NUMA_BINDING_OFF_USER;
    if (o->no_bind)
        return FMD_NUMA_BINDING_OFF_REQUESTED;
    if (!hwloc_topology_is_thissystem(t->topo))
        return FMD_NUMA_BINDING_OFF_FOREIGN;
    return FMD_NUMA_BINDING_ON;
}

fmd_status fmd_numa_plan_create(fmd_numa_plan **out, const fmd_numa_topology *t,
                                const fmd_numa_plan_opts *opts)
{
    static const fmd_numa_plan_opts defaults;
    fmd_status st = FMD_OK;
    fmd__numa_builder b = {0};
    struct fmd__numa_backend *be = NULL;
    hwloc_topology_t topo;
    hwloc_obj_type_t ctype;
    hwloc_obj_t *numa = NULL; /* hwloc NUMA node of each plan node; NULL: cores with none */
    core_slot *cores = NULL;
    unsigned *pu_pool = NULL;
    int *numa_plan = NULL; /* plan node of each hwloc NUMA node (logical index), or -1 */
    size_t n_hw_cores, n_numa, n_nodes = 0, n_cores = 0, n_pus = 0;
    bool orphans = false;
    int n_threads = 0;

    if (out == NULL)
        return FMD_E_USAGE;
    *out = NULL;
    if (opts == NULL)
        opts = &defaults;
    if (t == NULL)
        return fmd__numa_make_flat_plan(out, fmd__numa_online_pus(), opts);
    topo = t->topo;
    ctype = core_type(topo);
    n_hw_cores = count_type(topo, ctype);
    n_numa = count_type(topo, HWLOC_OBJ_NUMANODE);
    cores = calloc(n_hw_cores ? n_hw_cores : 1, sizeof *cores);
    numa = calloc(n_numa + 1, sizeof *numa);
    numa_plan = malloc((n_numa + 1) * sizeof *numa_plan);
    pu_pool = malloc((count_type(topo, HWLOC_OBJ_PU) + 1) * sizeof *pu_pool);
    if (cores == NULL || numa == NULL || numa_plan == NULL || pu_pool == NULL) {
        st = FMD_E_NOMEM;
        goto fail;
    }

    /* Plan nodes: the NUMA nodes that hold a core, in logical order, then one for cores that no
     * node covers (none on a sane machine). Close order: each plan node's cores in turn. */
    for (size_t m = 0; m < n_numa; m++)
        numa_plan[m] = -1;
    for (size_t c = 0; c < n_hw_cores; c++) {
        hwloc_obj_t core = hwloc_get_obj_by_type(topo, ctype, (unsigned)c);
        if (core == NULL || hwloc_bitmap_iszero(core->cpuset))
            continue;
        hwloc_obj_t node = core_numa(topo, core);
        if (node == NULL)
            orphans = true;
        else
            numa_plan[node->logical_index] = -2; /* holds a core; numbered below */
    }
    for (size_t m = 0; m < n_numa; m++) {
        if (numa_plan[m] == -2) {
            numa[n_nodes] = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, (unsigned)m);
            numa_plan[m] = (int)n_nodes++;
        }
    }
    if (orphans)
        numa[n_nodes++] = NULL;
    if (n_nodes == 0) { /* no core at all cannot happen after a successful load */
        st = FMD_E_IO;
        goto fail;
    }
    for (size_t k = 0; k < n_nodes; k++) {
        for (size_t c = 0; c < n_hw_cores; c++) {
            hwloc_obj_t core = hwloc_get_obj_by_type(topo, ctype, (unsigned)c);
            if (core == NULL || hwloc_bitmap_iszero(core->cpuset))
                continue;
            hwloc_obj_t node = core_numa(topo, core);
            if (node != numa[k])
                continue;
            core_slot *s = &cores[n_cores++];
            unsigned pu;
            s->obj = core;
            s->node = (int)k;
            s->pus = pu_pool + n_pus;
            hwloc_bitmap_foreach_begin(pu, core->cpuset)
            {
                s->pus[s->n_pus++] = pu;
            }
            hwloc_bitmap_foreach_end();
            n_pus += s->n_pus;
        }
    }

    FMD_TRY(fmd__numa_thread_count(opts, n_cores, &n_threads));
    FMD_TRY(fmd__numa_plan_alloc(&b, n_threads, n_nodes));
    b.plan->binding = choose_binding(t, opts);
    b.plan->record_affinity = opts->record_affinity;
    b.plan->n_cores = n_cores;
    b.plan->n_pus = n_pus;
    if (ctype != HWLOC_OBJ_CORE)
        fmd__numa_warn(&b.plan->warnings, FMD_NUMA_W_NO_CORES, 0, 0);
    if ((size_t)n_threads > n_pus)
        fmd__numa_warn(&b.plan->warnings, FMD_NUMA_W_OVERSUBSCRIBED, 0, n_threads);
    for (size_t k = 0; k < n_nodes; k++) {
        b.nodes[k].os_index = numa[k] != NULL ? numa[k]->os_index : FMD_NUMA_NO_OS_INDEX;
        b.nodes[k].memory = numa[k] != NULL ? numa[k]->attr->numanode.local_memory : 0;
    }
    for (size_t c = 0; c < n_cores; c++)
        b.nodes[cores[c].node].n_cores++;

    be = calloc(1, sizeof *be);
    if (be == NULL) {
        st = FMD_E_NOMEM;
        goto fail;
    }
    be->topo = topo;
    be->thread_sets = calloc((size_t)n_threads, sizeof *be->thread_sets);
    be->allowed = hwloc_bitmap_dup(hwloc_topology_get_topology_cpuset(topo));
    {
        int last = hwloc_bitmap_last(be->allowed);
        be->pu_node_len = last < 0 ? 0 : (size_t)last + 1;
    }
    be->pu_node = malloc((be->pu_node_len + 1) * sizeof *be->pu_node);
    if (be->thread_sets == NULL || be->allowed == NULL || be->pu_node == NULL) {
        st = FMD_E_NOMEM;
        goto fail;
    }
    for (size_t i = 0; i < be->pu_node_len; i++)
        be->pu_node[i] = -1;
    for (size_t c = 0; c < n_cores; c++) {
        for (size_t i = 0; i < cores[c].n_pus; i++) {
            if (cores[c].pus[i] < be->pu_node_len)
                be->pu_node[cores[c].pus[i]] = cores[c].node;
        }
    }

    /* Thread t: core t % n_cores. Up to one thread per core it gets the whole core; past that,
     * round r = t / n_cores puts it on PU r % n_pus(core) of its core alone. */
    for (int th = 0; th < n_threads; th++) {
        const core_slot *s = &cores[(size_t)th % n_cores];
        size_t round = (size_t)th / n_cores;
        bool whole = (size_t)n_threads <= n_cores;
        size_t n = whole ? s->n_pus : 1;
        unsigned *pus = fmd__numa_plan_mem(&b, n * sizeof *pus);
        hwloc_bitmap_t set = hwloc_bitmap_alloc();
        be->thread_sets[th] = set;
        be->n_sets = th + 1;
        if (pus == NULL || set == NULL) {
            st = FMD_E_NOMEM;
            goto fail;
        }
        if (whole)
            memcpy(pus, s->pus, n * sizeof *pus);
        else
            pus[0] = s->pus[round % s->n_pus];
        for (size_t i = 0; i < n; i++)
            hwloc_bitmap_set(set, pus[i]);
        b.threads[th].core = (int)((size_t)th % n_cores);
        b.threads[th].node = s->node;
        b.threads[th].pus = pus;
        b.threads[th].n_pus = n;
    }
    FMD_TRY(fmd__numa_index_nodes(&b));
    b.plan->priv->backend = be;
    *out = b.plan;
    free(cores);
    free(numa);
    free(numa_plan);
    free(pu_pool);
    return FMD_OK;
fail:
    fmd__numa_free_backend(be);
    fmd_numa_plan_destroy(b.plan);
    free(cores);
    free(numa);
    free(numa_plan);
    free(pu_pool);
    return st;
}

/*** Binding threads ***/

fmd_status fmd_numa_thread_bind(const fmd_numa_plan *p, int thread)
{
    if (p == NULL || thread < 0 || thread >= p->n_threads)
        return FMD_E_USAGE;
    fmd_numa_report *r = &p->reports[thread];
    const struct fmd__numa_backend *be = p->priv->backend;
    r->err = 0;
    if (p->binding != FMD_NUMA_BINDING_ON || be == NULL) {
        r->bind = FMD_NUMA_BIND_OFF;
        return FMD_OK;
    }
    if (hwloc_set_cpubind(be->topo, be->thread_sets[thread], HWLOC_CPUBIND_THREAD) < 0) {
        int e = errno; /* EPERM/ENOSYS/EINVAL/EXDEV: placement degrades, the batch goes on */
        r->bind = FMD_NUMA_BIND_REFUSED;
        r->err = e;
        return FMD_OK;
    }
    r->bind = FMD_NUMA_BIND_OK;
    return FMD_OK;
}

fmd_status fmd_numa_companion_bind(const fmd_numa_plan *p, int thread, int *err)
{
    if (err != NULL)
        *err = 0;
    if (p == NULL || thread < 0 || thread >= p->n_threads)
        return FMD_E_USAGE;
    const struct fmd__numa_backend *be = p->priv->backend;
    if (p->binding != FMD_NUMA_BINDING_ON || be == NULL)
        return FMD_OK;
    if (hwloc_set_cpubind(be->topo, be->thread_sets[thread], HWLOC_CPUBIND_THREAD) < 0 &&
        err != NULL)
        *err = errno;
    return FMD_OK;
}

fmd_status fmd_numa_thread_unbind(const fmd_numa_plan *p, fmd_numa_warning *w)
{
    fmd_numa_warning none = {FMD_NUMA_W_NONE, 0, 0};
    if (w != NULL)
        *w = none;
    if (p == NULL)
        return FMD_E_USAGE;
    const struct fmd__numa_backend *be = p->priv->backend;
    if (p->binding != FMD_NUMA_BINDING_ON || be == NULL)
        return FMD_OK;
    if (hwloc_set_cpubind(be->topo, be->allowed, HWLOC_CPUBIND_THREAD) < 0) {
        int e = errno;
        if (w != NULL) {
            w->code = FMD_NUMA_W_UNBIND_REFUSED;
            w->err = e;
        }
    }
    return FMD_OK;
}

/* The PU the calling thread last ran on, as the topology numbers it; -1 when unknown. For a
 * foreign topology hwloc would answer from its dummy hooks, so ask the OS instead. */
static int current_pu(const struct fmd__numa_backend *be, bool foreign)
{
    int cpu = -1;
    if (be == NULL || foreign)
        return fmd__numa_os_current_cpu();
    hwloc_bitmap_t s = hwloc_bitmap_alloc();
    if (s != NULL && hwloc_get_last_cpu_location(be->topo, s, HWLOC_CPUBIND_THREAD) == 0)
        cpu = hwloc_bitmap_first(s);
    hwloc_bitmap_free(s);
    return cpu;
}

static int pu_to_node(const fmd_numa_plan *p, int cpu)
{
    const struct fmd__numa_backend *be = p->priv->backend;
    if (cpu < 0)
        return -1;
    if (be == NULL)
        return 0; /* flat plan: one node */
    if (p->binding == FMD_NUMA_BINDING_OFF_FOREIGN || (size_t)cpu >= be->pu_node_len)
        return -1;
    return be->pu_node[cpu];
}

fmd_status fmd_numa_affinity_record(const fmd_numa_plan *p, int thread)
{
    if (p == NULL || thread < 0 || thread >= p->n_threads)
        return FMD_E_USAGE;
    fmd_numa_report *r = &p->reports[thread];
    r->cpu = current_pu(p->priv->backend, p->binding == FMD_NUMA_BINDING_OFF_FOREIGN);
    r->cpu_node = pu_to_node(p, r->cpu);
    return FMD_OK;
}

/*** Memory ***/

int fmd_numa_node_current(const fmd_numa_plan *p)
{
    if (p == NULL)
        return -1;
    return pu_to_node(p, current_pu(p->priv->backend, p->binding == FMD_NUMA_BINDING_OFF_FOREIGN));
}

fmd_status fmd_numa_memory_bind(const fmd_numa_plan *p, void *addr, size_t len, int node,
                                bool migrate, fmd_numa_warning *w)
{
    fmd_numa_warning none = {FMD_NUMA_W_NONE, 0, 0};
    if (w != NULL)
        *w = none;
    if (p == NULL || node < 0 || (size_t)node >= p->n_nodes || (addr == NULL && len > 0))
        return FMD_E_USAGE;
    const struct fmd__numa_backend *be = p->priv->backend;
    unsigned os_index = p->nodes[node].os_index;
    /* One node: nothing to choose. Not binding threads: nothing says where the users run. */
    if (len == 0 || p->n_nodes == 1 || be == NULL || p->binding != FMD_NUMA_BINDING_ON ||
        os_index == FMD_NUMA_NO_OS_INDEX)
        return FMD_OK;

    long page = sysconf(_SC_PAGESIZE);
    uintptr_t mask = (uintptr_t)(page > 0 ? page : 4096) - 1;
    uintptr_t lo = (uintptr_t)addr & ~mask;
    uintptr_t hi = ((uintptr_t)addr + len + mask) & ~mask;
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    int e = 0;
    if (set == NULL) {
        e = ENOMEM;
    } else {
        hwloc_bitmap_only(set, os_index);
        int flags = HWLOC_MEMBIND_BYNODESET | (migrate ? HWLOC_MEMBIND_MIGRATE : 0);
        if (hwloc_set_area_membind(be->topo, (void *)lo, hi - lo, set, HWLOC_MEMBIND_BIND, flags) <
            0)
            e = errno; /* EPERM: Docker's seccomp allows mbind only with CAP_SYS_NICE */
        hwloc_bitmap_free(set);
    }
    if (e != 0 && w != NULL) {
        w->code = FMD_NUMA_W_MEMBIND_REFUSED;
        w->err = e;
        w->value = node;
    }
    return FMD_OK;
}

/*** Text ***/

static fmd_status put_set(fmd_buf *out, hwloc_const_bitmap_t set)
{
    char *s = NULL;
    if (hwloc_bitmap_iszero(set))
        return fmd_buf_puts(out, "none");
    if (hwloc_bitmap_list_asprintf(&s, set) < 0 || s == NULL)
        return FMD_E_NOMEM;
    fmd_status st = fmd_buf_puts(out, s);
    free(s);
    return st;
}

fmd_status fmd_numa_topology_format(const fmd_numa_topology *t, const fmd_numa_plan *p,
                                    fmd_buf *out)
{
    fmd_status st = FMD_OK;
    fmd_numa_counts c;
    hwloc_obj_t obj = NULL;

    if (out == NULL)
        return FMD_E_USAGE;
    fmd_numa_counts_get(t, &c);
    if (t == NULL) {
        FMD_TRY(fmd_buf_printf(out,
                               "topology: not loaded; %zu PUs online, taken as cores on "
                               "one node\n",
                               c.pus));
        goto plan;
    }
    hwloc_topology_t topo = t->topo;
    hwloc_obj_type_t ctype = core_type(topo);
    FMD_TRY(fmd_buf_printf(out,
                           "topology: %zu package%s, %zu NUMA node%s, %zu core%s, %zu PU%s%s\n",
                           c.packages, c.packages == 1 ? "" : "s", c.nodes, c.nodes == 1 ? "" : "s",
                           c.cores, c.cores == 1 ? "" : "s", c.pus, c.pus == 1 ? "" : "s",
                           hwloc_topology_is_thissystem(topo) ? "" : " (not this machine)"));
    FMD_TRY(fmd_buf_puts(out, "allowed PUs: "));
    FMD_TRY(put_set(out, hwloc_topology_get_topology_cpuset(topo)));
    FMD_TRY(fmd_buf_printf(out, " (%zu of %zu)\n", c.pus, c.machine_pus));
    while ((obj = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_PACKAGE, obj)) != NULL) {
        FMD_TRY(fmd_buf_printf(out, "package %u: PUs ", obj->logical_index));
        FMD_TRY(put_set(out, obj->cpuset));
        FMD_TRY(fmd_buf_putc(out, '\n'));
    }
    while ((obj = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_NUMANODE, obj)) != NULL) {
        FMD_TRY(fmd_buf_printf(out, "NUMA node %u (P#%u, %llu MiB): PUs ", obj->logical_index,
                               obj->os_index,
                               (unsigned long long)obj->attr->numanode.local_memory >> 20));
        FMD_TRY(put_set(out, obj->cpuset));
        FMD_TRY(fmd_buf_putc(out, '\n'));
    }
    while ((obj = hwloc_get_next_obj_by_type(topo, ctype, obj)) != NULL) {
        hwloc_obj_t node = core_numa(topo, obj);
        hwloc_obj_t pack = hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_PACKAGE, obj);
        FMD_TRY(fmd_buf_printf(out, "core %u (", obj->logical_index));
        FMD_TRY(pack != NULL ? fmd_buf_printf(out, "package %u, ", pack->logical_index) : FMD_OK);
        FMD_TRY(node != NULL ? fmd_buf_printf(out, "node %u", node->logical_index)
                             : fmd_buf_puts(out, "no node"));
        FMD_TRY(fmd_buf_puts(out, "): PUs "));
        FMD_TRY(put_set(out, obj->cpuset));
        FMD_TRY(fmd_buf_putc(out, '\n'));
    }
plan:
    if (p != NULL)
        FMD_TRY(fmd__numa_format_plan(p, out));
fail:
    return st;
}
