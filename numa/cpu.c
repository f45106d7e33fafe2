/* SPDX-License-Identifier: MIT */
/* Which CPU the calling thread is on, asked of the OS directly: for plans made without an hwloc
 * topology (the stub build, a failed load) and for topologies of another machine. And the CPUs
 * of OpenMP's places, which are what the process was allowed before libgomp bound it.
 * sched_getcpu() is a GNU extension, hence _GNU_SOURCE here and only here (it would change
 * strerror_r's type). */
#define _GNU_SOURCE
#include <omp.h>
#include <sched.h>

#include "numa_internal.h"

int fmd__numa_os_current_cpu(void)
{
#if defined(__linux__)
    int cpu = sched_getcpu();
    return cpu < 0 ? -1 : cpu;
#else
    return -1;
#endif
}

size_t fmd__numa_omp_place_cpus(int *ids, size_t cap)
{
    size_t n = 0;
    /* Places matter only when threads are bound to them. LLVM's libomp (the tsan preset's)
     * reports places without OMP_PLACES and binds nothing; libgomp binds whenever one of the
     * three is set (OMP_PLACES implies OMP_PROC_BIND=true there). */
    if (omp_get_proc_bind() == omp_proc_bind_false)
        return 0;
    int places = omp_get_num_places();
    for (int p = 0; p < places; p++) {
        int k = omp_get_place_num_procs(p);
        if (k <= 0 || (size_t)k > cap - n)
            break;
        omp_get_place_proc_ids(p, ids + n);
        n += (size_t)k;
    }
    return n;
}
