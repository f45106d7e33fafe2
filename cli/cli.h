/* SPDX-License-Identifier: MIT */
/* Shared pieces of the fastmd command line: flag parsing, thread count, messages, exit codes.
 * cli/ is the only module that prints or calls exit(). */
#ifndef FMD_CLI_INTERNAL_H
#define FMD_CLI_INTERNAL_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "fmd_clock.h"
#include "fmd_engine.h"
#include "fmd_engine_placement.h"
#include "fmd_engine_report.h"
#include "fmd_kernel.h"
#include "fmd_numa.h"

/* sysexits(3) codes, plus 1 for "some pages failed". */
enum {
    FMD_EXIT_OK = 0,
    FMD_EXIT_PAGES_FAILED = 1,
    FMD_EXIT_USAGE = 64,
    FMD_EXIT_NOINPUT = 66,
    FMD_EXIT_SOFTWARE = 70,
    FMD_EXIT_OSERR = 71,
    FMD_EXIT_CANTCREAT = 73,
    FMD_EXIT_IOERR = 74,
    FMD_EXIT_TEMPFAIL = 75, /* another build holds OUT's lock */
};

/* Flags shared by render and build. */
typedef struct cli_common {
    fmd_options opt;
    const char *threads_arg; /* --threads value as given, NULL when absent */
    bool quiet;
    bool no_bind;         /* --no-bind */
    bool report_affinity; /* --report-affinity */
    int profile_div;      /* --profile: threads = cores / profile_div unless set explicitly */
    fmd_rules *rules;     /* --rules FILE, compiled once; freed by cli_common_free() */
} cli_common;

/* Free what the common flags hold (the compiled rules). */
void cli_common_free(cli_common *c);

/* --max-memory, --queue-size and --profile, resolved into window sizes. */
typedef struct cli_tuning {
    size_t max_memory; /* 0: unbounded (one window) */
    size_t queue_size; /* 0 until resolved; then >= 1 */
    const char *profile;
    bool max_memory_set, queue_size_set;
} cli_tuning;

void cli_tuning_option(cli_tuning *t, int code, const char *arg, const char *command);
/* Apply the profile under the explicit flags. */
void cli_tuning_apply(cli_tuning *t, cli_common *c, const char *command);

/* Resolve the thread count, load the topology once and make the plan. Warnings are printed;
 * a topology that cannot be loaded gives an unbound plan. Exits on a usage error. */
fmd_status cli_placement_open(fmd_placement *pl, const cli_common *c, const char *command);
/* What cli_placement_open() passes to the engine: the flags and the environment, resolved. */
fmd_engine_placement_opts cli_placement_opts(const cli_common *c, const char *command);
/* The warning for a topology that could not be loaded (@p topo_st not FMD_OK), else nothing. */
void cli_topology_warn(fmd_status topo_st, int err, const char *command);
/* Print the plan's warnings (binding refused, ...) after a run. */
void cli_placement_report(const fmd_placement *pl, const char *command);
void cli_placement_close(fmd_placement *pl);

/* Option codes above the ASCII range, for long-only options. */
enum {
    OPT_DIALECT = 256,
    OPT_UNSAFE,
    OPT_NO_HEADING_IDS,
    OPT_THREADS,
    OPT_MAX_INPUT,
    OPT_MAX_OUTPUT,
    OPT_MAX_FRONTMATTER,
    OPT_HELP,
    OPT_QUIET,
    OPT_FOOTNOTES,
    OPT_SMART,
    OPT_HTML5,
    OPT_RULES,
    OPT_MAX_MEMORY, /* build and bench: cli_tuning_option() */
    OPT_QUEUE_SIZE,
    OPT_PROFILE,
    OPT_ID_PREFIX,
    OPT_COMMAND_BASE /* commands number their own options from here */
};

/* getopt_long entries for the common flags; a command appends its own and a terminator. */
#define CLI_COMMON_LONG_OPTIONS                                                                    \
    {"dialect", 1, NULL, OPT_DIALECT}, {"unsafe", 0, NULL, OPT_UNSAFE},                            \
        {"no-heading-ids", 0, NULL, OPT_NO_HEADING_IDS}, {"threads", 1, NULL, OPT_THREADS},        \
        {"max-input-bytes", 1, NULL, OPT_MAX_INPUT},                                               \
        {"max-output-bytes", 1, NULL, OPT_MAX_OUTPUT}, {"help", 0, NULL, OPT_HELP},                \
        {"max-frontmatter-bytes", 1, NULL, OPT_MAX_FRONTMATTER}, {"quiet", 0, NULL, OPT_QUIET},    \
        {"footnotes", 0, NULL, OPT_FOOTNOTES}, {"smart", 0, NULL, OPT_SMART},                      \
        {"html5", 0, NULL, OPT_HTML5}, {"id-prefix", 1, NULL, OPT_ID_PREFIX},                      \
    {                                                                                              \
        "rules", 1, NULL, OPT_RULES                                                                \
    }

/* getopt_long() for every command: -h is --help (OPT_HELP), and an option given without its
 * value returns ':', so that cli_bad_option() can say which it was. */
int cli_getopt(int argc, char **argv, const struct option *longopts, int *longindex);

/* Exit 64 for getopt's answer @p code: ':' an option without its value, else an unknown one. */
_Noreturn void cli_bad_option(const char *command, char **argv, int code);

/* Help text for the common flags, for each command's --help. */
extern const char cli_common_help[];

void cli_common_init(cli_common *c);

/* Handle one common option. Returns 1 if handled, 0 if not a common option, and exits with a
 * usage error on a bad value. */
int cli_common_option(cli_common *c, int code, const char *arg, const char *command);

/* The thread count: --threads, FASTMD_WORKERS, OMP_NUM_THREADS; 0 when none is set (then the
 * plan uses the physical cores). Exits with a usage error on a bad value. */
int cli_resolve_threads(const cli_common *c, const char *command);

/* --schedule lpt|dynamic; exits with a usage error on anything else. */
fmd_schedule cli_parse_schedule(const char *arg, const char *command);

/* Print "fastmd: <command>: <message>" to stderr and exit with @p code. */
_Noreturn void cli_die(int code, const char *command, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Print "fastmd: <command>: <message>" to stderr. */
void cli_warn(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The exit code for a batch-level failure status. */
int cli_exit_code(fmd_status st);

/*** What the command line adds to the engine (engine: fmd_engine.h) ***/

/* The engine's progress callback: the progress line on stderr. */
void cli_progress_line(size_t done, size_t total, double elapsed_s, bool final, void *userdata);

/* --stats: per-thread and per-phase figures (fmd_engine_result_format_stats()). */
void cli_print_stats(FILE *f, const fmd_engine_result *r);
/* --summary-json: the run's figures as one JSON object ("-": stdout; a device, FIFO or link is
 * written in place, never replaced). *err receives the errno of a failure. */
fmd_status cli_write_summary_json(const char *path, const fmd_engine_result *r,
                                  const fmd_engine_cfg *cfg, int *err);
/* Check, before any page is rendered, that @p path can take an output file (its directory exists
 * and it is not a directory). Exits with 73 and the reason when it cannot. */
void cli_check_output_path(const char *path, const char *what, const char *command);

int cli_cmd_render(int argc, char **argv);
int cli_cmd_build(int argc, char **argv);
int cli_cmd_topology(int argc, char **argv);
int cli_cmd_bench(int argc, char **argv);
int cli_cmd_serve(int argc, char **argv);
int cli_cmd_merge(int argc, char **argv);
/* build --shard K/N|auto (cmd_merge.c): K and N, from the value or Slurm's job array variables;
 * exits with a usage error on a bad value. */
void cli_shard_option(const char *arg, unsigned *k, unsigned *n, const char *command);

#endif
