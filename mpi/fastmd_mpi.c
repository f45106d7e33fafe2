/* SPDX-License-Identifier: MIT */
/* fastmd-mpi: one build split over the ranks of an MPI job (`mpirun -n R fastmd-mpi SRC OUT`).
 * Rank r builds shard r+1 of R with `fastmd build --shard r+1/R` (a child process: the build's
 * supervisor, its OpenMP threads and its journal work as in any build; a single-threaded keeper
 * between rank and build gives the build one SIGTERM when the rank ends, so that it journals
 * what it did), the ranks agree on the worst exit status (an allreduce), and rank 0 merges the
 * shards (fmd_io_shard_merge()) or joins the NDJSON parts in shard order. This small main is the
 * driver's only printer and exit. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT, pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
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

/* The write end of the pipe that the keeper watches (-1 before it starts). Only this rank holds
 * it: when the rank ends, however it ends, the keeper reads end of file. */
static int keeper_pipe = -1;
/* The signal that asked this rank to stop, or 0. */
static volatile sig_atomic_t stop_sig;

/* Set the disposition of @p sig (sigaction: async-signal-safe, unlike signal()). */
static void set_handler(int sig, void (*fn)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

/* SIGTERM or SIGINT to the rank (mpirun ending a failed job): tell the keeper to stop the build.
 * The rank then waits for the keeper, so that the build's journal is complete when it exits. */
static void on_stop(int sig)
{
    int saved = errno;
    stop_sig = sig;
    char c = (char)sig;
    if (keeper_pipe >= 0 && write(keeper_pipe, &c, 1) < 0) {
        /* the keeper is gone: nothing to tell */
    }
    errno = saved;
}

/* Write @p a then @p b to stderr with write(2) (a forked child of a threaded process may not
 * use stdio). */
static void child_say(const char *a, const char *b)
{
    if (write(2, a, strlen(a)) < 0 || write(2, b, strlen(b)) < 0 || write(2, "\n", 1) < 0) {
        /* stderr is gone: nothing else to tell */
    }
}

/* The keeper (a child of the rank, single-threaded, in a session of its own): run @p argv and
 * stop it with exactly one SIGTERM when @p watch reads anything or end of file, that is when the
 * rank asks or is gone. Exits with the build's status, or 128 + the signal that ended it.
 * Only async-signal-safe calls: the rank that forked it has threads. */
static _Noreturn void keeper(char **argv, int watch)
{
    /* mpirun ends a failed job's ranks by their process groups (SIGTERM, then SIGKILL soon
     * after): a session of its own keeps the build out of reach, and out of a terminal's
     * Ctrl-C, so that the one SIGTERM it gets is the keeper's. */
    setsid();
    /* Once mpirun is gone, so is the read end of stderr: a message written while stopping must
     * fail with EPIPE, not end the build before its journal is flushed. */
    set_handler(SIGPIPE, SIG_IGN);
    set_handler(SIGTERM, SIG_IGN); /* the rank's word comes through the pipe */
    set_handler(SIGINT, SIG_IGN);
    pid_t self = getpid();
    pid_t pid = fork();
    if (pid < 0)
        _exit(EX_OSERR);
    if (pid == 0) {
        close(watch);
        set_handler(SIGTERM, SIG_DFL);
        set_handler(SIGINT, SIG_DFL);
        /* Should the keeper itself be killed, the build stops rather than runs on alone. The
         * keeper has one thread, so this is one signal (a threaded parent sends one per thread
         * that exits, and the build's second SIGTERM would end it before its journal is
         * flushed). */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != self)
            _exit(128 + SIGTERM);
        execv(argv[0], argv);
        child_say("fastmd-mpi: cannot run ", argv[0]);
        _exit(127);
    }
    bool stopped = false;
    for (;;) {
        int ws;
        pid_t w = waitpid(pid, &ws, stopped ? 0 : WNOHANG);
        if (w == pid)
            _exit(WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws));
        if (w < 0 && errno != EINTR)
            _exit(EX_OSERR);
        if (stopped)
            continue;
        /* The build's end is seen within 50 ms; the rank's end or word at once. */
        struct pollfd p = {.fd = watch, .events = POLLIN};
        if (poll(&p, 1, 50) > 0) {
            kill(pid, SIGTERM);
            stopped = true;
        }
    }
}

/* Run @p argv to its end through a keeper; the exit status, or 128 + the signal that ended it.
 * When this rank is asked to stop (SIGTERM, SIGINT) or dies, the build gets one SIGTERM, stops
 * cleanly and flushes its journal, so that a rerun renders only what it had not done. */
static int run_child(char **argv)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return EX_OSERR;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return EX_OSERR;
    }
    if (pid == 0) {
        close(fds[1]);
        keeper(argv, fds[0]);
    }
    close(fds[0]);
    keeper_pipe = fds[1];
    set_handler(SIGTERM, on_stop);
    set_handler(SIGINT, on_stop);
    int ws;
    while (waitpid(pid, &ws, 0) < 0)
        if (errno != EINTR)
            return EX_OSERR;
    /* From here on a stop signal ends the rank at once, as it did before the build started. */
    set_handler(SIGTERM, SIG_DFL);
    set_handler(SIGINT, SIG_DFL);
    keeper_pipe = -1;
    close(fds[1]);
    int code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    return code;
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

#if defined(__SANITIZE_ADDRESS__)
/* LeakSanitizer's hook, in ASan builds only: no leak check at this process's exit. What is left
 * then is Open MPI's (a rank that ends through MPI_Abort or a dead peer frees nothing, and its
 * components are unloaded by then, so the reports carry no frame to suppress). fastmd-mpi's own
 * memory is freed on every path, and the build each rank runs is a separate fastmd process,
 * leak-checked as usual. */
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
    return 1;
}
#endif

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
    if (stop_sig != 0) {
        /* mpirun is ending the job: the build has stopped and journaled what it did. The other
         * ranks are being ended too, so no collective would complete. */
        say("stopped by %s: shard %d of %d journaled what it did; run the same command again to "
            "resume",
            strsignal(stop_sig), rank + 1, ranks);
        _exit(128 + stop_sig);
    }
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
