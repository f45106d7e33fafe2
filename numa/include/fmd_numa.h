/* SPDX-License-Identifier: MIT */
/* fmd_numa: the machine's topology, the thread count, where each thread runs (a plan), binding
 * threads to cores, placing memory on NUMA nodes, and text for `fastmd topology`. The only module
 * that uses hwloc; its header shows plain data only. numa/ never prints, exits or reads the
 * environment: warnings come back as data, and the caller (cli/) passes what the user asked for.
 * With FMD_WITH_HWLOC=OFF the same API is a stub: one node, sysconf()'s PU count, no binding. */
#ifndef FMD_NUMA_H
#define FMD_NUMA_H

#include <stdbool.h>
#include <stddef.h>

#include "fmd_arena.h"
#include "fmd_status.h"

/** Largest thread count a plan accepts: above this a request is a typo, not a machine.
 * (Each thread costs a 64-byte report slot, a PU list and, with hwloc, a cpuset.) */
#define FMD_NUMA_MAX_THREADS 4096
/** Warnings kept per topology or plan; later ones are counted in fmd_numa_warnings.dropped. */
#define FMD_NUMA_MAX_WARNINGS 8
/** fmd_numa_node.os_index when the OS number of the node is unknown (stub, no NUMA info). */
#define FMD_NUMA_NO_OS_INDEX ((unsigned)-1)

/*** Warnings: numa/ degrades, it does not fail ***/

typedef enum fmd_numa_warning_code {
    FMD_NUMA_W_NONE = 0,
    FMD_NUMA_W_CPUBIND_QUERY,    /**< the process's CPU binding could not be read (err); every PU
                                      of the topology is taken as allowed */
    FMD_NUMA_W_CPUBIND_DISJOINT, /**< the process's CPU binding shares no PU with the topology
                                     (a foreign XML file?); it is ignored */
    FMD_NUMA_W_NO_CORES,         /**< the topology has no Core objects: each PU counts as a core */
    FMD_NUMA_W_OVERSUBSCRIBED,   /**< value threads for fewer PUs: some PUs run several threads */
    FMD_NUMA_W_BIND_REFUSED,     /**< value threads could not be bound (err: the first errno) */
    FMD_NUMA_W_UNBIND_REFUSED,   /**< the calling thread's binding could not be restored (err) */
    FMD_NUMA_W_MEMBIND_REFUSED,  /**< memory could not be bound to node value (err) */
} fmd_numa_warning_code;

/** One warning: a code, the errno copied right after the failing call (0 if none), and a number
 * whose meaning the code gives. Turn it into a sentence with fmd_numa_warnings_format(). */
typedef struct fmd_numa_warning {
    fmd_numa_warning_code code;
    int err;
    long value;
} fmd_numa_warning;

typedef struct fmd_numa_warnings {
    fmd_numa_warning items[FMD_NUMA_MAX_WARNINGS];
    size_t n;       /**< items used */
    size_t dropped; /**< warnings that did not fit */
} fmd_numa_warnings;

/*** The topology: loaded once, then read-only ***/

/** The loaded machine description (an hwloc topology restricted to what this process may use).
 * Opaque. */
typedef struct fmd_numa_topology fmd_numa_topology;

typedef enum fmd_numa_source_kind {
    FMD_NUMA_SOURCE_SYSTEM = 0, /**< the machine this process runs on */
    FMD_NUMA_SOURCE_SYNTHETIC,  /**< an hwloc synthetic description, "pack:2 numa:2 core:4 pu:2" */
    FMD_NUMA_SOURCE_XML,        /**< an XML file exported by lstopo / hwloc */
} fmd_numa_source_kind;

/** Where the topology comes from. A zero-initialised value means the real machine. */
typedef struct fmd_numa_source {
    fmd_numa_source_kind kind;
    const char *spec; /**< SYNTHETIC: the description; XML: the file's path; SYSTEM: unused */
    /** SYNTHETIC/XML only: the description is this machine (an XML exported here, say). Plans
     * then bind threads for real and the process's CPU binding restricts the allowed PUs, as
     * for SYSTEM. Without it a plan from a foreign topology binds nothing
     * (FMD_NUMA_BINDING_OFF_FOREIGN). Tests set it with the hwloc binding calls wrapped. */
    bool this_system;
    /** NULL, or a list of PU OS indexes ("0-3,8") the process may use, on top of what the OS
     * allows: emulates a cgroup or `taskset` in tests, or narrows the machine for a run. */
    const char *allowed;
} fmd_numa_source;

/** Load a topology. For the real machine (and this_system sources) the allowed PUs are those the
 * OS lets this process use: hwloc already drops PUs and nodes outside the cgroup / cpuset
 * (containers, Slurm, Kubernetes CPU manager), and this function also intersects them with the
 * process's CPU binding (`taskset`, `numactl --physcpubind`, a parent's affinity). A CPU *quota*
 * (cgroup cpu.max, `docker --cpus`) is not a cpuset and is not seen here: the caller may pass a
 * thread count for it. Everything after this call sees only the allowed part of the machine.
 * @param out receives the topology; NULL on failure.
 * @param src NULL for the real machine.
 * @param err may be NULL; receives the errno of the failing hwloc call (0 on success).
 * @return FMD_OK (warnings, if any, via fmd_numa_warnings_get()); FMD_E_USAGE for a bad synthetic
 * description, a bad or empty allowed list, or an unsupported source (stub build);
 * FMD_E_NOINPUT when the XML file cannot be read; FMD_E_NOMEM; FMD_E_IO when hwloc cannot
 * discover the machine. After a failure the caller may still make an unbound plan from a NULL
 * topology.
 * Ownership: free *out with fmd_numa_topology_destroy(), after every plan made from it.
 * Threads: call before any parallel region; loading is not thread-safe. */
fmd_status fmd_numa_topology_create(fmd_numa_topology **out, const fmd_numa_source *src, int *err);

/** Free a topology. @p t may be NULL. Every plan made from it must be destroyed first.
 * Threads: outside any region that uses it. */
void fmd_numa_topology_destroy(fmd_numa_topology *t);

/** Warnings raised while loading. @return never NULL (an empty list for t == NULL).
 * Ownership: valid until the topology is destroyed. */
const fmd_numa_warnings *fmd_numa_warnings_get(const fmd_numa_topology *t);

/** What a topology holds, counting only the PUs this process may use. */
typedef struct fmd_numa_counts {
    size_t packages;
    size_t nodes;       /**< NUMA nodes with at least one allowed PU */
    size_t cores;       /**< physical cores (PUs when the topology has no cores) */
    size_t pus;         /**< hardware threads */
    size_t machine_pus; /**< PUs before the process binding / allowed list narrowed them */
} fmd_numa_counts;

/** Fill @p out for @p t (NULL: the stub's view, sysconf(_SC_NPROCESSORS_ONLN) PUs on one node).
 * Threads: reentrant on a loaded topology. */
void fmd_numa_counts_get(const fmd_numa_topology *t, fmd_numa_counts *out);

/** The thread count for `--threads auto`: the allowed physical cores minus round(@p loadavg),
 * at least 1. The load average counts the whole machine (and a container shares its host's), so
 * on a partly allowed machine this is conservative. The caller reads it (getloadavg(),
 * /proc/loadavg); a negative or NaN load counts as 0.
 * @param t NULL: the stub's view. Threads: reentrant. */
int fmd_numa_threads_auto(const fmd_numa_topology *t, double loadavg);

/** Whether the user asked the OpenMP runtime to place threads: true when @p omp_proc_bind or
 * @p omp_places is set and not empty (OMP_PROC_BIND=false counts too: the user chose). The caller
 * passes getenv("OMP_PROC_BIND") and getenv("OMP_PLACES"); numa/ reads no environment, so that
 * cli/ alone owns configuration and tests need no setenv(). cli may OR in GOMP_CPU_AFFINITY or
 * KMP_AFFINITY. Threads: reentrant. */
bool fmd_numa_binding_user(const char *omp_proc_bind, const char *omp_places);

/*** The plan: how many threads, and where each one runs ***/

/** Why a plan binds or not. */
typedef enum fmd_numa_binding {
    FMD_NUMA_BINDING_ON = 0,        /**< the hook binds each thread to its core (or PU) */
    FMD_NUMA_BINDING_OFF_USER,      /**< the user set OMP_PROC_BIND / OMP_PLACES: the OpenMP runtime
                                         places threads, numa/ does not */
    FMD_NUMA_BINDING_OFF_REQUESTED, /**< the caller asked for none (fmd_numa_plan_opts.no_bind) */
    FMD_NUMA_BINDING_OFF_FOREIGN,   /**< the topology is not this machine (synthetic or XML) */
    FMD_NUMA_BINDING_OFF_NO_HWLOC,  /**< stub build, or no topology: nothing is known to bind to */
} fmd_numa_binding;

typedef struct fmd_numa_plan_opts {
    /** 0: one thread per allowed physical core (not per hyperthread). > 0: exactly this many;
     * at most FMD_NUMA_MAX_THREADS. The caller resolves --threads, FASTMD_WORKERS,
     * OMP_NUM_THREADS and auto (fmd_numa_threads_auto()) into this number. */
    int threads;
    bool user_binding;    /**< fmd_numa_binding_user() said true: bind nothing */
    bool no_bind;         /**< bind nothing (e.g. a --no-bind flag) */
    bool record_affinity; /**< the hook also records where each thread runs (--report-affinity) */
} fmd_numa_plan_opts;

/** Where one thread runs. */
typedef struct fmd_numa_thread {
    int core;            /**< its core's position in close order, 0 .. n_cores-1 (for the usual
                              topology this is hwloc's logical index, L#) */
    int node;            /**< index into fmd_numa_plan.nodes */
    const unsigned *pus; /**< the PUs (OS indexes, ascending) it is bound to; n_pus == 0 in an
                              unbound stub plan */
    size_t n_pus;
} fmd_numa_thread;

/** A NUMA node that holds at least one allowed core. */
typedef struct fmd_numa_node {
    unsigned os_index;         /**< the OS's number (hwloc P#), or FMD_NUMA_NO_OS_INDEX */
    unsigned long long memory; /**< bytes of local memory; 0 when unknown */
    size_t n_cores;            /**< allowed cores in the node */
    const int *threads;        /**< the plan's threads placed here, ascending */
    size_t n_threads;          /**< may be 0: fewer threads than cores fill the first nodes */
} fmd_numa_node;

typedef enum fmd_numa_bind_state {
    FMD_NUMA_BIND_NOT_RUN = 0, /**< the hook has not run on this thread since the last clear */
    FMD_NUMA_BIND_OK,          /**< bound to fmd_numa_thread.pus */
    FMD_NUMA_BIND_OFF,         /**< the plan does not bind (see fmd_numa_plan.binding) */
    FMD_NUMA_BIND_REFUSED,     /**< the OS refused (err: EPERM in a locked-down container,
                                    EINVAL for a PU outside the cpuset, ENOSYS, ...) */
} fmd_numa_bind_state;

/** What one thread did, written only by that thread during the region, read by the caller
 * after it. Each slot has its own cache line so that threads never share one. */
typedef struct fmd_numa_report {
    _Alignas(64) fmd_numa_bind_state bind;
    int err;       /**< errno copied after a refused bind; else 0 */
    int team_size; /**< nthreads the hook was called with; 0 until it runs */
    int cpu;       /**< PU (OS index) the thread was on when recorded; -1: not recorded/unknown */
    int cpu_node;  /**< plan node of cpu; -1 when unknown or outside the plan */
} fmd_numa_report;

/** The plan: plain data, read-only once made, except that thread t writes reports[t].
 *
 * Example, synthetic "pack:2 numa:2 core:4 pu:2" (2 packages x 2 nodes x 4 cores x 2 PUs: 4 nodes,
 * 16 cores, 32 PUs), default options:
 *   n_threads 16; thread t: core t, node t / 4, pus {2t, 2t+1}; nodes[k].threads {4k .. 4k+3}.
 * With threads = 6 (close: fill node 0, then node 1):
 *   threads 0-3 on node 0, threads 4-5 on node 1, nodes 2 and 3 have no thread.
 * With threads = 20 (more than cores: one thread per core, then round again over the cores, each
 * thread on a single PU): thread t runs on core t % 16, PU (t / 16) % 2 of that core, so threads
 * 0-15 get PUs 0,2,4..30 and threads 16-19 get PUs 1,3,5,7; node 0 has threads 0-3 and 16-19.
 * Beyond the PU count the rounds wrap again (two threads per PU) with FMD_NUMA_W_OVERSUBSCRIBED.
 *
 * Invariants: 1 <= n_threads <= FMD_NUMA_MAX_THREADS; 1 <= n_nodes; every thread appears in
 * exactly one nodes[k].threads, the k == threads[t].node; sum of nodes[k].n_cores == n_cores. */
typedef struct fmd_numa_plan {
    int n_threads;
    fmd_numa_binding binding;
    bool record_affinity;           /**< from the options: the hook records where threads run */
    size_t n_cores;                 /**< allowed physical cores */
    size_t n_pus;                   /**< allowed PUs */
    const fmd_numa_thread *threads; /**< n_threads entries */
    const fmd_numa_node *nodes;     /**< n_nodes entries, in the topology's order */
    size_t n_nodes;
    fmd_numa_report *reports; /**< n_threads slots, 64-byte aligned */
    fmd_numa_warnings warnings;
    struct fmd__numa_plan_priv *priv; /**< the backend's data (hwloc cpusets); do not touch */
} fmd_numa_plan;

/** Make the plan: thread count, and each thread's core, PUs and node, placed "close" (node 0's
 * cores first, in order, then node 1's ...), as OMP_PROC_BIND=close with OMP_PLACES=cores would.
 * Binding is ON unless the options, a foreign topology or the stub say otherwise.
 * @param t the topology; NULL gives an unbound plan over sysconf()'s PUs (a fallback when
 * loading failed), as in the stub build.
 * @param opts NULL for the defaults.
 * @return FMD_OK; FMD_E_USAGE (opts->threads < 0 or > FMD_NUMA_MAX_THREADS); FMD_E_NOMEM.
 * Ownership: free *out with fmd_numa_plan_destroy() before destroying @p t.
 * Threads: call outside the parallel region. */
fmd_status fmd_numa_plan_create(fmd_numa_plan **out, const fmd_numa_topology *t,
                                const fmd_numa_plan_opts *opts);

/** Free a plan and everything it points to. @p p may be NULL. Threads: outside the region. */
void fmd_numa_plan_destroy(fmd_numa_plan *p);

/** Reset every report slot to FMD_NUMA_BIND_NOT_RUN / cpu -1, before a new run.
 * Threads: outside the region. */
void fmd_numa_reports_clear(fmd_numa_plan *p);

/** Bind the calling thread to plan thread @p thread's PUs (hwloc_set_cpubind with
 * HWLOC_CPUBIND_THREAD) and write the outcome into p->reports[thread]. A refusal is not an error:
 * the slot records FMD_NUMA_BIND_REFUSED and the errno, the thread runs unbound, and
 * fmd_numa_warnings_format() later turns it into one sentence. A plan that does not bind only
 * records FMD_NUMA_BIND_OFF.
 * @return FMD_OK, or FMD_E_USAGE when @p thread is outside 0 .. n_threads-1.
 * Threads: call from the thread being bound, from many threads at once with distinct @p thread. */
fmd_status fmd_numa_thread_bind(const fmd_numa_plan *p, int thread);

/** fmd_thread_hook.fn for the kernel's batch loop, with userdata = the plan: records nthreads,
 * binds the thread (fmd_numa_thread_bind) and, when the plan says so, records where it runs
 * (fmd_numa_affinity_record). Threads numbered n_threads or above (a team larger than the plan)
 * are left alone: they have no slot.
 * Note: thread 0 is the caller's own thread and stays bound after the region; threads it creates
 * later inherit that binding. Call fmd_numa_thread_unbind() on it after the batch if it goes on to
 * start other threads.
 * Threads: as fmd_numa_thread_bind(). */
void fmd_numa_thread_hook(int thread, int nthreads, void *plan);

/** Bind the calling thread to plan thread @p thread's PUs without touching its report slot: for
 * a helper thread that shares a core with kernel thread @p thread (io/'s writer k runs on the
 * core of render thread k, so that a writer blocked in the kernel leaves its core to rendering
 * and a run on N threads never uses more than N cores). A refusal only sets *err.
 * @param err may be NULL; receives the errno of a refused binding, else 0.
 * @return FMD_OK, or FMD_E_USAGE when @p thread is out of range. A plan that does not bind does
 * nothing. Threads: reentrant. */
fmd_status fmd_numa_companion_bind(const fmd_numa_plan *p, int thread, int *err);

/** Give the calling thread back every allowed PU (undo fmd_numa_thread_bind on it).
 * @param w may be NULL; receives FMD_NUMA_W_UNBIND_REFUSED, or FMD_NUMA_W_NONE.
 * @return FMD_OK (a refusal is only a warning). A plan that does not bind does nothing.
 * Threads: reentrant. */
fmd_status fmd_numa_thread_unbind(const fmd_numa_plan *p, fmd_numa_warning *w);

/** Record in p->reports[thread] the PU the calling thread is on now and its node
 * (hwloc_get_last_cpu_location; sched_getcpu() in the stub). For --report-affinity; the hook calls
 * it when the plan's record_affinity is set; other parallel loops may call it too.
 * @return FMD_OK, or FMD_E_USAGE when @p thread is out of range.
 * Threads: from the thread itself; distinct @p thread per thread. */
fmd_status fmd_numa_affinity_record(const fmd_numa_plan *p, int thread);

/*** Memory placement ***/

/** The plan node the calling thread runs on now, or -1 when unknown (the PU is outside the plan,
 * the OS cannot say). A bound thread stays on its node; fmd_numa_plan.threads[t].node is the same
 * answer without a system call. Stub: 0. Threads: reentrant. */
int fmd_numa_node_current(const fmd_numa_plan *p);

/** Bind the pages of [addr, addr+len) to plan node @p node (hwloc_set_area_membind, policy BIND;
 * the range is widened to whole pages, so share no page with another node's data). Pages not
 * yet touched are allocated there; with @p migrate, pages already touched move there. When the
 * plan does not bind, or the call is refused, the memory stays where first touch puts it: the
 * default placement, which is right when the thread that fills the memory runs on @p node
 * (fill each thread's arena, and each node's input pages, from that node's threads).
 * @param w may be NULL; receives FMD_NUMA_W_MEMBIND_REFUSED with the errno, or FMD_NUMA_W_NONE.
 * @return FMD_OK (a refusal is a warning); FMD_E_USAGE when @p node is out of range.
 * Threads: reentrant. */
fmd_status fmd_numa_memory_bind(const fmd_numa_plan *p, void *addr, size_t len, int node,
                                bool migrate, fmd_numa_warning *w);

/*** Splitting a batch across nodes by bytes (pure functions) ***/

/** Split pages 0..n-1 into @p n_parts contiguous ranges whose byte totals are proportional to
 * @p weights: part k gets pages first[k] .. first[k+1]-1. Each boundary is the page boundary
 * nearest the ideal prefix total, so a part's bytes differ from its share by at most the largest
 * page. Contiguous, not LPT-interleaved, on purpose: pages average about 1 KB, four to an OS page,
 * so only a contiguous range of the input arena can be placed on one node; the kernel orders each
 * range largest first and lets threads steal across nodes to absorb what is left of the imbalance.
 * When every page is empty the split is by page count. A part of weight 0 gets no page.
 * Example: sizes {4,4,4,4,8,8}, weights {1,1}: first {0,4,6}, bytes {16,16}.
 * @param sizes may be NULL when @p n is 0. @param first receives n_parts + 1 entries,
 * first[0] = 0 and first[n_parts] = n. @param bytes may be NULL, else receives n_parts totals.
 * @return FMD_OK, or FMD_E_USAGE when n_parts is 0 or every weight is 0.
 * Threads: reentrant. */
fmd_status fmd_numa_bytes_split(const size_t *sizes, size_t n, const unsigned *weights,
                                size_t n_parts, size_t *first, size_t *bytes);

/** fmd_numa_bytes_split() over the plan's nodes, weighted by each node's thread count: node k
 * takes pages first[k] .. first[k+1]-1. @p first has p->n_nodes + 1 entries, @p bytes (may be
 * NULL) p->n_nodes. @return as fmd_numa_bytes_split(). Threads: reentrant. */
fmd_status fmd_numa_pages_split(const fmd_numa_plan *p, const size_t *sizes, size_t n,
                                size_t *first, size_t *bytes);

/*** Text for cli/ to print ***/

/** Append the report of `fastmd topology` to @p out: counts, packages, NUMA nodes, cores with
 * their PUs, then (if @p p) the plan: thread count, binding and each thread's core, PUs and node.
 * @param t may be NULL (the stub's view). @param p may be NULL.
 * @return FMD_OK or FMD_E_NOMEM. Ownership: the text is in out's arena.
 * Threads: outside the region. */
fmd_status fmd_numa_topology_format(const fmd_numa_topology *t, const fmd_numa_plan *p,
                                    fmd_buf *out);

/** Append one line per thread for --report-affinity: planned core, PUs and node, the binding
 * outcome, and the PU and node it was seen on. Read after the region.
 * @return FMD_OK or FMD_E_NOMEM. Threads: outside the region. */
fmd_status fmd_numa_affinity_format(const fmd_numa_plan *p, fmd_buf *out);

/** Append one line ("numa: warning: ...\n") per warning of @p t and of @p p, and one line that
 * sums up the threads whose binding was refused (from p->reports). Nothing when all went well.
 * Either pointer may be NULL. @return FMD_OK or FMD_E_NOMEM. Threads: outside the region. */
fmd_status fmd_numa_warnings_format(const fmd_numa_topology *t, const fmd_numa_plan *p,
                                    fmd_buf *out);

/* Thread safety: reentrant: all state is in the fmd_numa_topology and fmd_numa_plan passed in.
 * Load the topology and make the plan before the parallel region; inside it, read them only,
 * and let thread t write only reports[t] (fmd_numa_thread_bind, fmd_numa_affinity_record, the
 * hook). hwloc permits concurrent binding calls on a topology that is no longer modified. */

#endif
