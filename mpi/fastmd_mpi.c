/* SPDX-License-Identifier: MIT */
/* fastmd-mpi: one build split over the ranks of an MPI job (`mpirun -n R fastmd-mpi SRC OUT`).
 * Rank r builds shard r+1 of R with `fastmd build --shard r+1/R` (a child process: the build's
 * supervisor, its OpenMP threads and its journal work as in any build), the ranks agree on the
 * worst exit status (an allreduce), and rank 0 merges the shards (fmd_io_shard_merge()) or joins
 * the NDJSON parts in shard order. This small main is the driver's only printer and exit. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mpi.h>
#include <sched.h>
#include <signal.h>
#include <sysexits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fmd_io.h"
#include "fmd_io_shard.h"

static const char help[] =
    "Usage: mpirun -n R fastmd-mpi [build options] SRC OUT\n"
    "       mpirun -n R fastmd-mpi [build options] SRC --ndjson FILE\n"
    "\n"
    "Build SRC over the R ranks of an MPI job: rank r runs 'fastmd build --shard r+1/R' with\n"
    "the options given (its own OpenMP threads: --threads T or OMP_NUM_THREADS), the ranks\n"
    "agree on the worst exit status, and rank 0 then writes OUT/manifest.ndjson as\n"
    "'fastmd merge' does (or, with --ndjson, joins the ranks' parts FILE.part-K-of-R in shard\n"
    "order into FILE and removes them). The result is byte for byte that of one\n"
    "'fastmd build'. A rank that fails fails the job; rerun the same command to resume: each\n"
    "shard renders only the pages its journal or state does not have.\n"
    "\n"
    "  --summary-json FILE   each rank writes its shard's figures to FILE.K-of-R\n"
    "  --help                show this help\n"
    "\n"
    "Other options go to 'fastmd build' unchanged (see 'fastmd build --help'); --shard and\n"
    "'--ndjson -' are refused. fastmd is FASTMD_BIN, else the fastmd beside this program.\n"
    "Open MPI binds each rank to one core when R <= 2: pass '--bind-to none' (or\n"
    "'--map-by slot:PE=T') to mpirun so that a rank's threads get their own cores.\n"
    "See docs/scale-out.md.\n";

static int rank, ranks;

/* Print "fastmd-mpi: rank K: message" to stderr. */
__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "fastmd-mpi: rank %d of %d: %s\n", rank, ranks, line);
}

/* Leave MPI and exit with @p code (every rank calls it: MPI_Finalize is collective). */
static _Noreturn void finish(int code)
{
    MPI_Finalize();
    exit(code);
}

/* Usage errors are the same on every rank (the same argv): rank 0 says it, all exit. */
static _Noreturn void usage(const char *what)
{
    if (rank == 0)
        say("%s (see fastmd-mpi --help)", what);
    finish(EX_USAGE);
}

/* The fastmd binary: FASTMD_BIN, else "fastmd" in this program's folder. */
static void find_fastmd(char *path, size_t len)
{
    const char *env = getenv("FASTMD_BIN");
    if (env != NULL && *env != '\0') {
        snprintf(path, len, "%s", env);
        return;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        snprintf(path, len, "fastmd");
        return;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    size_t dir = slash != NULL ? (size_t)(slash - self) : 0;
    if (dir == 0 || dir + sizeof "/fastmd" > len) {
        snprintf(path, len, "fastmd"); /* no folder, or too long: fastmd from PATH */
        return;
    }
    memcpy(path, self, dir);
    memcpy(path + dir, "/fastmd", sizeof "/fastmd");
}

/* Run @p argv to its end; the exit status, or 128 + the signal that ended it. The child gets
 * SIGTERM when this rank dies (mpirun kills the ranks of a failed job), so that it stops cleanly
 * and journals what it did rather than run on alone. */
static int run_child(char **argv)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return EX_OSERR;
    if (pid == 0) {
        /* A process group of its own: mpirun ends a failed job's ranks by their groups, with
         * SIGKILL soon after SIGTERM, which would lose the journal's last buffered records. The
         * build hears of its rank's end from the death signal alone. */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        /* Once mpirun is gone, so is the read end of stderr: a message written while stopping
         * must fail with EPIPE, not end the build before its journal is flushed. */
        signal(SIGPIPE, SIG_IGN);
        if (getppid() != parent)
            _exit(128 + SIGTERM);
        execv(argv[0], argv);
        fprintf(stderr, "fastmd-mpi: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int ws;
    while (waitpid(pid, &ws, 0) < 0)
        if (errno != EINTR)
            return EX_OSERR;
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

/* Append file @p from to descriptor @p to_fd. Returns 0 or an errno. */
static int append_file(const char *from, int to_fd)
{
    int fd = open(from, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    char buf[1 << 16];
    int e = 0;
    for (;;) {
        ssize_t got = read(fd, buf, sizeof buf);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            e = got < 0 ? errno : 0;
            break;
        }
        for (ssize_t at = 0; at < got;) {
            ssize_t put = write(to_fd, buf + at, (size_t)(got - at));
            if (put < 0 && errno == EINTR)
                continue;
            if (put < 0) {
                e = errno;
                break;
            }
            at += put;
        }
        if (e != 0)
            break;
    }
    close(fd);
    return e;
}

/* Rank 0, --ndjson: FILE is the parts in shard order, through a temporary file and a rename. */
static int join_ndjson(const char *file)
{
    char tmp[PATH_MAX], part[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", file, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        say("%s: cannot create: %s", tmp, strerror(errno));
        return EX_CANTCREAT;
    }
    int e = 0;
    for (int k = 1; k <= ranks && e == 0; k++) {
        snprintf(part, sizeof part, "%s.part-%d-of-%d", file, k, ranks);
        e = append_file(part, fd);
        if (e != 0)
            say("%s: %s", part, strerror(e));
    }
    if (close(fd) != 0 && e == 0)
        e = errno;
    if (e == 0 && rename(tmp, file) != 0) {
        e = errno;
        say("%s: %s", file, strerror(e));
    }
    if (e != 0) {
        unlink(tmp);
        return EX_IOERR;
    }
    return 0;
}

/* Rank 0: OUT/manifest.ndjson from the R shards. */
static int merge_out(const char *out)
{
    fmd_io_merge_result r;
    fmd_status st = fmd_io_shard_merge(out, (unsigned)ranks, true, &r);
    if (st == FMD_OK)
        return 0;
    static const char *const why[] = {
        [FMD_IO_MERGE_OK] = "",
        [FMD_IO_MERGE_NO_SHARDS] = "no shard folders",
        [FMD_IO_MERGE_COUNTS] = "shard folders of several counts",
        [FMD_IO_MERGE_MISSING] = "a shard folder is missing",
        [FMD_IO_MERGE_UNFINISHED] = "a shard has not finished",
        [FMD_IO_MERGE_VERSION] = "a shard was built by another fastmd version",
        [FMD_IO_MERGE_OPTIONS] = "a shard was built with other options",
        [FMD_IO_MERGE_SOURCE] = "a shard saw another SRC",
        [FMD_IO_MERGE_DAMAGED] = "a shard's partial manifest was changed",
        [FMD_IO_MERGE_LOCKED] = "another build holds OUT",
    };
    if (r.problem != FMD_IO_MERGE_OK)
        say("merge of %s: %s (shard %u of %d); run the same command again", out, why[r.problem],
            r.shard, ranks);
    else
        say("merge of %s: %s: %s%s%s", out, r.what ? r.what : out, fmd_status_str(st),
            r.err ? ": " : "", r.err ? strerror(r.err) : "");
    switch (st) {
    case FMD_E_NOINPUT: return EX_NOINPUT;
    case FMD_E_USAGE: return EX_DATAERR;
    case FMD_E_CANTCREATE: return EX_CANTCREAT;
    default: return EX_IOERR;
    }
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);

    /* The child's argv: fastmd build --shard K/R, then ours with --ndjson and --summary-json
     * pointed at this rank's own files. */
    char fastmd[PATH_MAX], shard[32], ndjson_part[PATH_MAX], summary_part[PATH_MAX];
    find_fastmd(fastmd, sizeof fastmd);
    snprintf(shard, sizeof shard, "%d/%d", rank + 1, ranks);
    char **child = calloc((size_t)argc + 5, sizeof *child);
    if (child == NULL)
        finish(EX_OSERR);
    int n = 0;
    child[n++] = fastmd;
    child[n++] = "build";
    child[n++] = "--shard";
    child[n++] = shard;
    const char *ndjson = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0) {
            if (rank == 0)
                fputs(help, stdout);
            finish(0);
        }
        if (strncmp(a, "--shard", 7) == 0)
            usage("--shard is set by the driver: rank r builds shard r+1 of R");
        if (strcmp(a, "--ndjson") == 0 || strcmp(a, "--summary-json") == 0) {
            if (i + 1 >= argc)
                usage("an option lacks its value");
            const char *v = argv[++i];
            bool is_ndjson = a[2] == 'n';
            if (is_ndjson && strcmp(v, "-") == 0)
                usage("--ndjson - is not supported: give a FILE, which rank 0 writes");
            if (is_ndjson)
                ndjson = v;
            char *part = is_ndjson ? ndjson_part : summary_part;
            snprintf(part, PATH_MAX, is_ndjson ? "%s.part-%d-of-%d" : "%s.%d-of-%d", v, rank + 1,
                     ranks);
            child[n++] = (char *)a;
            child[n++] = part;
            continue;
        }
        if (strncmp(a, "--ndjson=", 9) == 0 || strncmp(a, "--summary-json=", 15) == 0)
            usage("give --ndjson and --summary-json their value as the next argument");
        child[n++] = argv[i];
    }
    child[n] = NULL;
    /* OUT (or SRC, with --ndjson) comes last: the options go before it. */
    if (argc < 2 || argv[argc - 1][0] == '-' || (ndjson == NULL && argc < 3))
        usage("expected [options] SRC OUT or [options] SRC --ndjson FILE, operands last");

    /* Open MPI binds each rank to one core when R <= 2: T threads would share it. */
    cpu_set_t cpus;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    if (rank == 0 && sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) == 1 &&
        online > 1)
        say("this rank is bound to one core, and so are its threads; pass --bind-to none (or "
            "--map-by slot:PE=T) to mpirun to give each rank T cores");

    int code = run_child(child);
    int worst = 0;
    MPI_Allreduce(&code, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    int *codes = rank == 0 ? calloc((size_t)ranks, sizeof *codes) : NULL;
    MPI_Gather(&code, 1, MPI_INT, codes, 1, MPI_INT, 0, MPI_COMM_WORLD);
    int rc = worst;
    if (rank == 0) {
        if (worst > 1) {
            for (int k = 0; k < ranks && codes != NULL; k++)
                if (codes[k] > 1)
                    say("shard %d of %d (rank %d) failed with exit status %d; nothing merged: run "
                        "the same command again to resume",
                        k + 1, ranks, k, codes[k]);
        } else {
            /* 0 or 1 (some pages failed, every other page written): the shards are complete. */
            int m = ndjson != NULL ? join_ndjson(ndjson) : merge_out(argv[argc - 1]);
            if (m != 0)
                rc = m;
        }
    }
    free(codes);
    /* The parts are joined (or the job failed): every rank removes its own. */
    MPI_Barrier(MPI_COMM_WORLD);
    if (ndjson != NULL)
        unlink(ndjson_part);
    MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
    free(child);
    finish(rc);
}
