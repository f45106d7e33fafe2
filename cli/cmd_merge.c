/* SPDX-License-Identifier: MIT */
/* fastmd merge OUT: the one manifest of a build split into shards (`build --shard K/N`), after
 * checking that every shard finished with the same version, options and SRC; and the parsing of
 * build's --shard K/N|auto (Slurm job arrays). The checks and the writing are io/'s. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmd_io.h"
#include "fmd_io_shard.h"
#include "fmd_io_state.h"
#include "cli.h"

/* sysexits(3) EX_DATAERR: the shards do not belong together (options, version, SRC). */
#define FMD_EXIT_DATAERR 65

static const char help[] =
    "Usage: fastmd merge [options] OUT\n"
    "\n"
    "Write OUT/manifest.ndjson for a build split into shards with 'fastmd build --shard K/N\n"
    "SRC OUT'. Every shard 1..N must have finished, with the same fastmd version, the same\n"
    "options (and --rules file) and the same SRC; the manifest is then their partial manifests\n"
    "in shard order, byte for byte the manifest of one 'fastmd build SRC OUT'. Nothing runs in\n"
    "OUT meanwhile: the merge holds OUT/.fastmd/lock, and removes the temporary files of killed\n"
    "builds. See docs/scale-out.md.\n"
    "\n"
    "Options:\n"
    "  --shards N    merge shards 1..N (default: the one shard count found in OUT/.fastmd)\n"
    "  --wait        wait for running builds of OUT instead of exiting 75\n"
    "  --quiet       no summary line\n"
    "  --help        show this help\n"
    "\n"
    "Exit status: 0 merged, 64 usage, 65 the shards do not belong together (version, options\n"
    "or SRC differ, or a partial manifest was changed), 66 OUT, a shard or a shard's end is\n"
    "missing, 73 the manifest cannot be created, 74 I/O error, 75 a build holds OUT.\n";

enum { OPT_SHARDS = OPT_COMMAND_BASE, OPT_WAIT }; /* and cli.h's OPT_QUIET, OPT_HELP */

/* A whole number from 0 to @p max, digits only. */
static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    if (s == NULL || *s < '0' || *s > '9')
        return false;
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return false;
    *out = v;
    return true;
}

/* --shard auto: Slurm's job array variables. Task K of an array --array=MIN-MAX[:STEP] is
 * (ID - MIN) / STEP + 1 of COUNT (or (MAX - MIN) / STEP + 1). */
static void shard_from_slurm(unsigned *k, unsigned *n, const char *cmd)
{
    unsigned long id, min, max, count, step = 1;
    const char *s_id = getenv("SLURM_ARRAY_TASK_ID");
    const char *s_min = getenv("SLURM_ARRAY_TASK_MIN");
    const char *s_max = getenv("SLURM_ARRAY_TASK_MAX");
    const char *s_count = getenv("SLURM_ARRAY_TASK_COUNT");
    const char *s_step = getenv("SLURM_ARRAY_TASK_STEP");
    if (s_id == NULL)
        cli_die(FMD_EXIT_USAGE, cmd,
                "--shard auto needs SLURM_ARRAY_TASK_ID (run it as a task of 'sbatch --array'), "
                "or give --shard K/N");
    if (!parse_uint(s_id, 0xffffffffUL, &id) || !parse_uint(s_min, id, &min))
        cli_die(FMD_EXIT_USAGE, cmd,
                "--shard auto: SLURM_ARRAY_TASK_ID '%s' and SLURM_ARRAY_TASK_MIN '%s' must be "
                "whole numbers, the minimum not above the task's",
                s_id, s_min ? s_min : "(unset)");
    if (s_step != NULL && (!parse_uint(s_step, 0xffffffffUL, &step) || step == 0))
        cli_die(FMD_EXIT_USAGE, cmd, "--shard auto: bad SLURM_ARRAY_TASK_STEP '%s'", s_step);
    if (s_count != NULL && parse_uint(s_count, FMD_IO_SHARD_MAX, &count) && count > 0) {
        /* COUNT is the number of tasks */
    } else if (s_max != NULL && parse_uint(s_max, 0xffffffffUL, &max) && max >= id) {
        count = (max - min) / step + 1;
    } else {
        cli_die(FMD_EXIT_USAGE, cmd,
                "--shard auto needs SLURM_ARRAY_TASK_COUNT or SLURM_ARRAY_TASK_MAX beside "
                "SLURM_ARRAY_TASK_ID");
    }
    unsigned long kk = (id - min) / step + 1;
    if ((id - min) % step != 0 || kk > count || count > FMD_IO_SHARD_MAX)
        cli_die(FMD_EXIT_USAGE, cmd,
                "--shard auto: task %lu is not one of %lu tasks from %lu by %lu; give the array "
                "as a range (--array=1-N) or pass --shard K/N",
                id, count, min, step);
    *k = (unsigned)kk;
    *n = (unsigned)count;
}

void cli_shard_option(const char *arg, unsigned *k, unsigned *n, const char *cmd)
{
    if (strcmp(arg, "auto") == 0) {
        shard_from_slurm(k, n, cmd);
        return;
    }
    const char *slash = strchr(arg, '/');
    char head[24];
    unsigned long kk = 0, nn = 0;
    size_t hl = slash ? (size_t)(slash - arg) : 0;
    if (slash != NULL && hl < sizeof head) {
        memcpy(head, arg, hl);
        head[hl] = '\0';
    }
    if (slash == NULL || hl >= sizeof head || !parse_uint(head, FMD_IO_SHARD_MAX, &kk) ||
        !parse_uint(slash + 1, FMD_IO_SHARD_MAX, &nn) || kk < 1 || kk > nn)
        cli_die(FMD_EXIT_USAGE, cmd,
                "--shard must be K/N with 1 <= K <= N <= %u, or auto, not '%s'", FMD_IO_SHARD_MAX,
                arg);
    *k = (unsigned)kk;
    *n = (unsigned)nn;
}

int cli_cmd_merge(int argc, char **argv)
{
    static const char *cmd = "merge";
    static const struct option longopts[] = {{"shards", 1, NULL, OPT_SHARDS},
                                             {"wait", 0, NULL, OPT_WAIT},
                                             {"quiet", 0, NULL, OPT_QUIET},
                                             {"help", 0, NULL, OPT_HELP},
                                             {NULL, 0, NULL, 0}};
    unsigned long shards = 0;
    bool wait = false, quiet = false;
    int code;
    while ((code = cli_getopt(argc, argv, longopts, NULL)) != -1) {
        switch (code) {
        case OPT_HELP: fputs(help, stdout); return FMD_EXIT_OK;
        case OPT_SHARDS:
            if (!parse_uint(optarg, FMD_IO_SHARD_MAX, &shards) || shards == 0)
                cli_die(FMD_EXIT_USAGE, cmd, "--shards must be a count from 1 to %u, not '%s'",
                        FMD_IO_SHARD_MAX, optarg);
            break;
        case OPT_WAIT: wait = true; break;
        case OPT_QUIET: quiet = true; break;
        default: cli_bad_option(cmd, argv, code);
        }
    }
    if (argc - optind != 1)
        cli_die(FMD_EXIT_USAGE, cmd, "expected OUT, got %d arguments", argc - optind);
    const char *out = argv[optind];

    fmd_io_merge_result r;
    fmd_status st = fmd_io_shard_merge(out, (unsigned)shards, wait, &r);
    unsigned n = r.n, k = r.shard;
    switch (r.problem) {
    case FMD_IO_MERGE_OK: break;
    case FMD_IO_MERGE_NO_SHARDS:
        cli_die(FMD_EXIT_NOINPUT, cmd,
                "%s holds no shards (no %s/" FMD_IO_STATE_DIR "/shard-K-of-N); build them with "
                "'fastmd build --shard K/N SRC %s'",
                out, out, out);
    case FMD_IO_MERGE_COUNTS:
        cli_die(FMD_EXIT_USAGE, cmd,
                "%s/" FMD_IO_STATE_DIR " holds shards of several counts (%s); pass --shards N, or "
                "delete the folders of the old count",
                out, r.counts);
    case FMD_IO_MERGE_MISSING:
        cli_die(FMD_EXIT_NOINPUT, cmd,
                "shard %u of %u is missing (no %s/" FMD_IO_STATE_DIR "/shard-%u-of-%u); run "
                "'fastmd build --shard %u/%u SRC %s'",
                k, n, out, k, n, k, n, out);
    case FMD_IO_MERGE_UNFINISHED:
        cli_die(FMD_EXIT_NOINPUT, cmd,
                "shard %u of %u has not finished (it failed, was interrupted or is running); run "
                "'fastmd build --shard %u/%u SRC %s' again",
                k, n, k, n, out);
    case FMD_IO_MERGE_VERSION:
        cli_die(FMD_EXIT_DATAERR, cmd,
                "shard %u of %u was built by fastmd %s, shard 1 by fastmd %s; build every shard "
                "with one fastmd",
                k, n, r.found, r.want);
    case FMD_IO_MERGE_OPTIONS:
        cli_die(FMD_EXIT_DATAERR, cmd,
                "shard %u of %u was built with other options than shard 1 (options digest %s, not "
                "%s); build every shard with the same flags and --rules file",
                k, n, r.found, r.want);
    case FMD_IO_MERGE_SOURCE:
        cli_die(FMD_EXIT_DATAERR, cmd,
                "shard %u of %u saw another SRC than shard 1 (other pages or sizes); every shard "
                "must build the same SRC: build the shards again",
                k, n);
    case FMD_IO_MERGE_DAMAGED:
        cli_die(FMD_EXIT_DATAERR, cmd,
                "the partial manifest of shard %u of %u is not the one it recorded (changed or "
                "truncated); build that shard again",
                k, n);
    case FMD_IO_MERGE_LOCKED:
        cli_die(FMD_EXIT_TEMPFAIL, cmd,
                "a build is running in %s (it holds %s/" FMD_IO_STATE_DIR "/lock); try again when "
                "it is done, or pass --wait",
                out, out);
    }
    if (st != FMD_OK)
        cli_die(cli_exit_code(st), cmd, "%s: %s%s%s", r.what ? r.what : out, fmd_status_str(st),
                r.err ? ": " : "", r.err ? strerror(r.err) : "");
    if (!quiet)
        fprintf(stderr, "fastmd: merge: %u shards, %llu pages, %s/%s (%llu bytes)%s\n", n,
                (unsigned long long)r.pages, out, FMD_IO_MANIFEST_NAME, (unsigned long long)r.bytes,
                r.leftovers ? ", leftovers of killed builds removed" : "");
    return FMD_EXIT_OK;
}
