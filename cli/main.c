/* SPDX-License-Identifier: MIT */
/* fastmd's entry point: global flags and the dispatch to one command. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "Usage: fastmd <command> [options]\n"
    "\n"
    "Turn batches of Markdown pages (with YAML front matter) into HTML and metadata,\n"
    "on every core of the machine.\n"
    "\n"
    "Commands:\n"
    "  render [FILE|-]     render one page's HTML to stdout (stdin when FILE is - or absent)\n"
    "  build SRC OUT       render every *.md and *.markdown under SRC into OUT, with\n"
    "                      OUT/manifest.ndjson\n"
    "  bench SRC           strong-scaling sweep: speedup, efficiency, Amdahl fit\n"
    "  serve               JSON-RPC 2.0 sidecar on stdin/stdout (docs/protocol.md)\n"
    "  topology            show the cores, NUMA nodes and thread binding fastmd would use\n"
    "  merge OUT           write OUT/manifest.ndjson of a build split by 'build --shard K/N'\n"
    "\n"
    "Options:\n"
    "  --help              show this help; 'fastmd <command> --help' shows a command's\n"
    "  --version           print the version\n"
    "\n"
    "Exit status: 0 all pages ok, 1 some pages failed, 64 usage error, 66 input missing,\n"
    "73 cannot create output, 74 I/O error.\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return FMD_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return FMD_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("fastmd %s\n", FMD_VERSION);
        return FMD_EXIT_OK;
    }
    if (strcmp(cmd, "render") == 0)
        return cli_cmd_render(argc - 1, argv + 1);
    if (strcmp(cmd, "build") == 0)
        return cli_cmd_build(argc - 1, argv + 1);
    if (strcmp(cmd, "bench") == 0)
        return cli_cmd_bench(argc - 1, argv + 1);
    if (strcmp(cmd, "serve") == 0)
        return cli_cmd_serve(argc - 1, argv + 1);
    if (strcmp(cmd, "topology") == 0)
        return cli_cmd_topology(argc - 1, argv + 1);
    if (strcmp(cmd, "merge") == 0)
        return cli_cmd_merge(argc - 1, argv + 1);
    fprintf(stderr, "fastmd: unknown command '%s'\n\n%s", cmd, usage);
    return FMD_EXIT_USAGE;
}
