/* SPDX-License-Identifier: MIT */
/* serve/team.c, the team of a batch under `serve --threads auto`: the sizing rule over the
 * affinity mask, the cgroup's CPU quota and the load average, and the readers of cpu.max (v2, in
 * the group /proc/self/cgroup names and at the mount's root), cpu.cfs_quota_us (v1) and
 * /proc/loadavg, on fake files under a temporary folder that is removed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "serve_internal.h"

static void test_team_size_rule(void **state)
{
    (void)state;
    /* Nothing caps: every thread. */
    assert_int_equal(serve_team_size(8, 0, 0, 0), 8);
    /* The affinity mask caps. */
    assert_int_equal(serve_team_size(8, 3, 0, 0), 3);
    assert_int_equal(serve_team_size(2, 16, 0, 0), 2);
    /* A quota caps, rounded up: 1.5 CPUs keep two threads half busy. */
    assert_int_equal(serve_team_size(8, 16, 2.0, 0), 2);
    assert_int_equal(serve_team_size(8, 16, 1.5, 0), 2);
    assert_int_equal(serve_team_size(8, 16, 0.2, 0), 1);
    assert_int_equal(serve_team_size(8, 16, 32.0, 0), 8);
    /* The load average takes its rounded count away, leaving at least 1. */
    assert_int_equal(serve_team_size(8, 8, 0, 2.4), 6);
    assert_int_equal(serve_team_size(8, 8, 0, 2.6), 5);
    assert_int_equal(serve_team_size(8, 8, 0, 40.0), 1);
    assert_int_equal(serve_team_size(8, 4, 3.0, 1.0), 2);
    /* Nonsense in, still at least 1. */
    assert_int_equal(serve_team_size(0, 4, 0, 0), 1);
    assert_int_equal(serve_team_size(4, -1, -2.0, -1.0), 4);
}

/* Write @p text to @p root/@p rel, making the folders on the way. */
static void put(const char *root, const char *rel, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    for (char *p = path + strlen(root) + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            (void)mkdir(path, 0700);
            *p = '/';
        }
    }
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Remove @p rel under @p root, ignoring what is not there. */
static void rm(const char *root, const char *rel)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    (void)unlink(path);
    (void)rmdir(path);
}

static void test_team_readers(void **state)
{
    (void)state;
    char root[] = "/tmp/fmd-test-team-XXXXXX";
    assert_non_null(mkdtemp(root));

    /* Nothing there: no quota, no load. */
    assert_true(serve_cgroup_quota(root) == 0.0);
    assert_true(serve_load_average(root) == 0.0);

    put(root, "proc/loadavg", "3.52 2.10 1.00 4/900 12345\n");
    assert_true(serve_load_average(root) > 3.51 && serve_load_average(root) < 3.53);

    /* v2, the process's own group. */
    put(root, "proc/self/cgroup", "0::/app.slice/fastmd.service\n");
    put(root, "sys/fs/cgroup/app.slice/fastmd.service/cpu.max", "150000 100000\n");
    assert_true(serve_cgroup_quota(root) > 1.49 && serve_cgroup_quota(root) < 1.51);
    /* "max": no quota in the group; the mount's root has none either. */
    put(root, "sys/fs/cgroup/app.slice/fastmd.service/cpu.max", "max 100000\n");
    assert_true(serve_cgroup_quota(root) == 0.0);
    /* A namespace: the group is "/", the file at the mount's root. */
    put(root, "proc/self/cgroup", "0::/\n");
    put(root, "sys/fs/cgroup/cpu.max", "50000 100000\n");
    assert_true(serve_cgroup_quota(root) > 0.49 && serve_cgroup_quota(root) < 0.51);
    rm(root, "sys/fs/cgroup/cpu.max");

    /* v1: quota and period of the cpu controller; -1 is none. */
    put(root, "proc/self/cgroup", "4:cpu,cpuacct:/\n");
    put(root, "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "300000\n");
    put(root, "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
    assert_true(serve_cgroup_quota(root) > 2.99 && serve_cgroup_quota(root) < 3.01);
    put(root, "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
    assert_true(serve_cgroup_quota(root) == 0.0);

    /* All together: 3 CPUs of quota, load 1: at most 2 threads whatever the mask says. */
    put(root, "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "300000\n");
    put(root, "proc/loadavg", "1.00 1.00 1.00 1/100 1\n");
    serve_team t;
    serve_team_choose(&t, 64, root);
    assert_true(t.quota_cpus > 2.99 && t.quota_cpus < 3.01);
    assert_true(t.loadavg > 0.99 && t.loadavg < 1.01);
    assert_int_equal(t.allowed_cpus, serve_allowed_cpus());
    assert_true(t.allowed_cpus >= 1);
    assert_int_equal(t.threads, serve_team_size(64, t.allowed_cpus, t.quota_cpus, t.loadavg));
    assert_true(t.threads >= 1 && t.threads <= 2);

    static const char *const files[] = {
        "proc/loadavg",
        "proc/self/cgroup",
        "proc/self",
        "proc",
        "sys/fs/cgroup/app.slice/fastmd.service/cpu.max",
        "sys/fs/cgroup/app.slice/fastmd.service",
        "sys/fs/cgroup/app.slice",
        "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us",
        "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us",
        "sys/fs/cgroup/cpu,cpuacct",
        "sys/fs/cgroup",
        "sys/fs",
        "sys",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        rm(root, files[i]);
    assert_int_equal(rmdir(root), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_team_size_rule),
        cmocka_unit_test(test_team_readers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
