/* SPDX-License-Identifier: MIT */
/* Which CPU the calling thread is on, asked of the OS directly: for plans made without an hwloc
 * topology (the stub build, a failed load) and for topologies of another machine. sched_getcpu()
 * is a GNU extension, hence _GNU_SOURCE here and only here (it would change strerror_r's type). */
#define _GNU_SOURCE
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
