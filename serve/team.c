/* SPDX-License-Identifier: MIT */
/* The team of one batch under `serve --threads auto`: the engine's threads, capped by the CPUs
 * this process may run on (sched_getaffinity), by the cgroup's CPU quota (cgroup v2 cpu.max, else
 * v1 cpu.cfs_quota_us / cpu.cfs_period_us) and by the load average at that moment. The readers
 * take the file system's root as a parameter, so that tests can give them files of their own. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "serve_internal.h"

/* Read the first line of @p dir/@p name into @p buf; false when there is none. */
static bool read_line(const char *dir, const char *name, char *buf, size_t cap)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof path)
        return false;
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return false;
    bool ok = fgets(buf, (int)cap, f) != NULL;
    fclose(f);
    return ok;
}

/* The quota in @p dir, in CPUs (v2 cpu.max, then v1), or 0 when it has none. */
static double dir_quota(const char *dir)
{
    char line[128];
    if (read_line(dir, "cpu.max", line, sizeof line)) {
        double quota = 0, period = 0;
        if (strncmp(line, "max", 3) == 0)
            return 0;
        if (sscanf(line, "%lf %lf", &quota, &period) == 2 && quota > 0 && period > 0)
            return quota / period;
        return 0;
    }
    double quota = 0, period = 0;
    if (read_line(dir, "cpu.cfs_quota_us", line, sizeof line) && sscanf(line, "%lf", &quota) == 1 &&
        quota > 0 && read_line(dir, "cpu.cfs_period_us", line, sizeof line) &&
        sscanf(line, "%lf", &period) == 1 && period > 0)
        return quota / period;
    return 0;
}

double serve_cgroup_quota(const char *root)
{
    if (root == NULL)
        root = "";
    /* cgroup v2: "0::/path" in /proc/self/cgroup names this process's group under
     * /sys/fs/cgroup. Inside a cgroup namespace the path is "/" and the group is the mount's
     * root. A v1 hierarchy mounts the cpu controller at /sys/fs/cgroup/cpu,cpuacct (or cpu). */
    char self[4096], dir[4096 + 64];
    snprintf(dir, sizeof dir, "%s/proc/self", root);
    if (read_line(dir, "cgroup", self, sizeof self) && strncmp(self, "0::", 3) == 0) {
        self[strcspn(self, "\n")] = '\0';
        int n = snprintf(dir, sizeof dir, "%s/sys/fs/cgroup%s", root,
                         strcmp(self + 3, "/") == 0 ? "" : self + 3);
        if (n > 0 && (size_t)n < sizeof dir) {
            double q = dir_quota(dir);
            if (q > 0)
                return q;
        }
    }
    static const char *const mounts[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/cpu,cpuacct",
                                         "/sys/fs/cgroup/cpu"};
    for (size_t i = 0; i < sizeof mounts / sizeof mounts[0]; i++) {
        snprintf(dir, sizeof dir, "%s%s", root, mounts[i]);
        double q = dir_quota(dir);
        if (q > 0)
            return q;
    }
    return 0;
}

double serve_load_average(const char *root)
{
    char dir[4096], line[128];
    snprintf(dir, sizeof dir, "%s/proc", root == NULL ? "" : root);
    double load = 0;
    if (!read_line(dir, "loadavg", line, sizeof line) || sscanf(line, "%lf", &load) != 1 ||
        !(load > 0))
        return 0;
    return load;
}

int serve_allowed_cpus(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 0;
    return CPU_COUNT(&set);
}

int serve_team_size(int max, int allowed_cpus, double quota_cpus, double loadavg)
{
    if (max < 1)
        return 1;
    int n = max;
    if (allowed_cpus > 0 && allowed_cpus < n)
        n = allowed_cpus;
    if (quota_cpus > 0) {
        /* A quota of 1.5 CPUs keeps two threads busy half the time: round up, at least 1. */
        double q = quota_cpus < (double)n ? quota_cpus : (double)n;
        int qn = (int)q;
        if ((double)qn < q)
            qn++;
        n = qn < 1 ? 1 : qn;
    }
    /* Each runnable task counted in the load average keeps a CPU busy: leave that many. */
    if (loadavg > 0) {
        int busy = (int)(loadavg + 0.5);
        n = busy >= n ? 1 : n - busy;
    }
    return n;
}

void serve_team_choose(serve_team *t, int max, const char *root)
{
    t->allowed_cpus = serve_allowed_cpus();
    t->quota_cpus = serve_cgroup_quota(root);
    t->loadavg = serve_load_average(root);
    t->threads = serve_team_size(max, t->allowed_cpus, t->quota_cpus, t->loadavg);
}
