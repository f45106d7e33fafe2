/* SPDX-License-Identifier: MIT */
/* fastmd topology: the machine as numa/ sees it (packages, NUMA nodes, cores, PUs), the thread
 * count fastmd would choose and each thread's binding; with --report-affinity, where each thread
 * of a short parallel region actually ran. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "fmd_engine_placement.h"
#include "cli.h"

static const char help[] =
    "Usage: fastmd topology [options]\n"
    "\n"
    "Print the packages, NUMA nodes, cores and PUs this process may use, the thread count\n"
    "fastmd chooses (--threads, FASTMD_WORKERS, OMP_NUM_THREADS, else one per physical core)\n"
    "and each thread's binding. Threads are bound to cores (close) unless OMP_PROC_BIND or\n"
    "OMP_PLACES is set, or --no-bind is given.\n"
    "\n"
    "Options:\n"
    "  --threads N|auto          thread count to plan for\n"
    "  --no-bind                 plan without binding\n"
    "  --report-affinity         run one parallel region and print where each thread ran\n"
    "  --help                    show this help\n";

enum { OPT_NO_BIND = OPT_COMMAND_BASE, OPT_REPORT_AFFINITY };

int cli_cmd_topology(int argc, char **argv)
{
    static const char *cmd = "topology";
    static const struct option longopts[] = {{"threads", 1, NULL, OPT_THREADS},
                                             {"no-bind", 0, NULL, OPT_NO_BIND},
                                             {"report-affinity", 0, NULL, OPT_REPORT_AFFINITY},
                                             {"help", 0, NULL, OPT_HELP},
                                             {NULL, 0, NULL, 0}};
    cli_common c;
    cli_common_init(&c);
    int code;
    while ((code = cli_getopt(argc, argv, longopts, NULL)) != -1) {
        switch (code) {
        case OPT_HELP: printf("%s", help); return FMD_EXIT_OK;
        case OPT_THREADS: c.threads_arg = optarg; break;
        case OPT_NO_BIND: c.no_bind = true; break;
        case OPT_REPORT_AFFINITY: c.report_affinity = true; break;
        default: cli_bad_option(cmd, argv, code);
        }
    }
    if (optind != argc)
        cli_die(FMD_EXIT_USAGE, cmd, "unexpected argument '%s'", argv[optind]);
    fmd_placement pl;
    fmd_status st = cli_placement_open(&pl, &c, cmd);
    if (st != FMD_OK)
        cli_die(cli_exit_code(st), cmd, "cannot plan threads: %s", fmd_status_str(st));
    if (c.report_affinity)
        fmd_engine_placement_warm(&pl);

    fmd_arena *a = NULL;
    if (fmd_arena_create(&a, 0) != FMD_OK)
        cli_die(FMD_EXIT_OSERR, cmd, FMD_NOMEM_TEXT);
    fmd_buf b;
    fmd_buf_reset(&b, a);
    st = fmd_numa_topology_format(pl.topo, pl.plan, &b);
    if (st == FMD_OK && c.report_affinity)
        st = fmd_numa_affinity_format(pl.plan, &b);
    if (st != FMD_OK)
        cli_die(FMD_EXIT_OSERR, cmd, FMD_NOMEM_TEXT);
    fwrite(b.ptr, 1, b.len, stdout);
    cli_placement_report(&pl, cmd);
    fmd_arena_destroy(a);
    cli_placement_close(&pl);
    return FMD_EXIT_OK;
}
