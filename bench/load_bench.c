/* SPDX-License-Identifier: MIT */
/* fmd-load-bench: load every page of a tree into one block, by a thread pool of openat + read +
 * close (fastmd's loader, and a minimal loop of the same calls) and by io_uring (liburing:
 * OPENAT -> READ -> CLOSE chains on direct descriptors), interleaved round by round. Prints
 * medians, min-max and the ratio to the 1-thread pool, and checks every method loads the same
 * bytes. A measurement for docs/adr/0003, not a test, and not part of fastmd.
 *   fmd-load-bench [--runs N>=11] [--cold N] [--only I,J,..] DIR */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <liburing.h>
#include <omp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fmd_io.h"

/* The flags fastmd's loader opens pages with (io/load.c: open_page). A direct descriptor is no
 * process fd, so OPENAT into the fixed table refuses O_CLOEXEC with EINVAL: drop it there. */
#define OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
#define OPEN_FLAGS_DIRECT (O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
/* Pages handed out per grab in the pool loops: FMD__IO_CHUNK in io/io_internal.h. */
#define POOL_CHUNK 4
/* Most rings one run may use (one per thread). */
#define MAX_RINGS 8

/*** The batch as the methods see it ***/

/** One page to load: opened as @c name relative to @c dfd (its directory's descriptor, as
 * fastmd's loader does), read into base + off, want = size + 1 bytes (the extra byte shows
 * growth). */
typedef struct job {
    int dfd;
    const char *name;
    size_t off;
    size_t size;
} job;

typedef struct batch {
    job *jobs;
    size_t n;
    char *base;   /* the block, allocated and touched once: methods time I/O, not page faults */
    size_t total; /* bytes of the block */
    long *got;    /* per page: bytes read, or -errno */
    int *dir_fds; /* the directory descriptors opened for the jobs */
    size_t n_dirs;
} batch;

static double clock_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

/* CPU time of the whole process: every thread, io_uring's io-wq workers included (they are
 * threads of the process), so work a method hands to the kernel's threads is not hidden. */
static double cpu_now(void)
{
    return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

/* How many io-wq workers (threads named "iou-wrk-*") the process has now. */
static int count_io_workers(void)
{
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        char path[64], comm[32] = "";
        snprintf(path, sizeof path, "/proc/self/task/%.20s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        if (fgets(comm, sizeof comm, f) != NULL && strncmp(comm, "iou-wrk", 7) == 0)
            n++;
        fclose(f);
    }
    if (d != NULL)
        closedir(d);
    return n;
}

/* The directory descriptor for @p dir (relative to @p root), opened once. Pages are sorted by
 * path, so a directory's pages are mostly together: search from the last one opened. */
static int dir_fd(batch *bt, char **names, int root, const char *dir)
{
    for (size_t i = bt->n_dirs; i-- > 0;)
        if (strcmp(names[i], dir) == 0)
            return bt->dir_fds[i];
    int fd = dir[0] ? openat(root, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : dup(root);
    if (fd < 0)
        return -1;
    names[bt->n_dirs] = strdup(dir);
    bt->dir_fds[bt->n_dirs++] = fd;
    return fd;
}

/* Build the job table from the enumerated pages: one directory descriptor per directory, the
 * block laid out as fmd_io_pages_load() lays it out (size + 1 bytes per readable page). */
static int batch_build(batch *bt, const char *src, fmd_io_page *pages, size_t n)
{
    int root = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return -1;
    bt->n = n;
    bt->jobs = calloc(n ? n : 1, sizeof *bt->jobs);
    bt->got = calloc(n ? n : 1, sizeof *bt->got);
    bt->dir_fds = calloc(n ? n : 1, sizeof *bt->dir_fds);
    char **names = calloc(n ? n : 1, sizeof *names);
    char *dir = malloc(PATH_MAX);
    if (!bt->jobs || !bt->got || !bt->dir_fds || !names || !dir)
        return -1;
    size_t total = 0;
    for (size_t k = 0; k < n; k++) {
        const char *path = pages[k].path;
        const char *slash = strrchr(path, '/');
        size_t dl = slash ? (size_t)(slash - path) : 0;
        if (dl >= PATH_MAX || pages[k].size + 1 > UINT_MAX)
            return -1;
        memcpy(dir, path, dl);
        dir[dl] = '\0';
        job *j = &bt->jobs[k];
        j->dfd = dir_fd(bt, names, root, dir);
        j->name = slash ? slash + 1 : path;
        j->off = total;
        j->size = pages[k].size;
        if (j->dfd < 0 || pages[k].status != FMD_OK)
            return -1; /* the corpus should load whole; a bench over a partial tree misleads */
        total += j->size + 1;
    }
    for (size_t i = 0; i < bt->n_dirs; i++)
        free(names[i]);
    free(names);
    free(dir);
    close(root);
    bt->total = total;
    bt->base = malloc(total ? total : 1);
    if (bt->base == NULL)
        return -1;
    memset(bt->base, 0, total);
    return 0;
}

static void batch_free(batch *bt)
{
    for (size_t i = 0; i < bt->n_dirs; i++)
        close(bt->dir_fds[i]);
    free(bt->dir_fds);
    free(bt->jobs);
    free(bt->got);
    free(bt->base);
}

/*** Method a: a thread pool of openat + read + close ***/

/* The same calls as io/load.c's read_page, without its status bookkeeping. */
static void pool_load(batch *bt, int nthreads)
{
    const job *jobs = bt->jobs;
    char *base = bt->base;
    long *got = bt->got;
    const long n = (long)bt->n;
#pragma omp parallel for schedule(dynamic, POOL_CHUNK) num_threads(nthreads) default(none)         \
    shared(jobs, base, got, n)
    for (long k = 0; k < n; k++) {
        const job *j = &jobs[k];
        int fd = openat(j->dfd, j->name, OPEN_FLAGS);
        if (fd < 0) {
            got[k] = -errno;
            continue;
        }
        ssize_t r;
        do
            r = read(fd, base + j->off, j->size + 1);
        while (r < 0 && errno == EINTR);
        got[k] = r < 0 ? -errno : (long)r;
        close(fd);
        if (r >= 0 && (size_t)r <= j->size)
            base[j->off + (size_t)r] = '\0';
    }
}

/*** Method b: io_uring ***/

/* user_data of a request: page index, direct slot, and which step of the chain it is. */
enum { OP_OPEN, OP_READ, OP_CLOSE };
#define UD(k, slot, op) (((uint64_t)(k) << 20) | ((uint64_t)(slot) << 2) | (uint64_t)(op))
#define UD_PAGE(u) ((size_t)((u) >> 20))
#define UD_SLOT(u) ((unsigned)(((u) >> 2) & 0x3ffff))
#define UD_OP(u) ((int)((u)&3))

typedef enum uring_mode {
    URING_DIRECT,  /* OPENAT_direct -LINK-> READ(fixed) -HARDLINK-> CLOSE_direct, one submit */
    URING_TWO_STEP /* OPENAT to a real fd; on its completion READ -HARDLINK-> CLOSE(fd) */
} uring_mode;

typedef struct uring {
    struct io_uring ring;
    unsigned qd;    /* pages in flight at most */
    unsigned *free; /* free direct slots, a stack */
    unsigned n_free;
    bool skip_open_cqe; /* IOSQE_CQE_SKIP_SUCCESS on the OPENAT of a direct chain */
    long enters;        /* io_uring_enter calls of the last run */
} uring;

/* Set up a ring for @p qd pages in flight: 3 SQEs per page, and a sparse table of qd direct
 * descriptors (slot i is only ever used by one page at a time). @return 0 or -errno. */
static int uring_init(uring *u, unsigned qd, unsigned setup_flags, bool skip_open_cqe)
{
    memset(u, 0, sizeof *u);
    u->qd = qd;
    u->skip_open_cqe = skip_open_cqe;
    int e = io_uring_queue_init(3 * qd, &u->ring, setup_flags);
    if (e < 0)
        return e;
    e = io_uring_register_files_sparse(&u->ring, qd);
    if (e < 0) {
        io_uring_queue_exit(&u->ring);
        return e;
    }
    u->free = malloc(qd * sizeof *u->free);
    if (u->free == NULL) {
        io_uring_queue_exit(&u->ring);
        return -ENOMEM;
    }
    return 0;
}

static void uring_exit(uring *u)
{
    if (u->free == NULL)
        return;
    io_uring_queue_exit(&u->ring);
    free(u->free);
    u->free = NULL;
}

/* An SQE, submitting what is queued if the SQ is full (it never is when sized 3 * qd). */
static struct io_uring_sqe *get_sqe(uring *u)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
    if (sqe == NULL) {
        io_uring_submit(&u->ring);
        u->enters++;
        sqe = io_uring_get_sqe(&u->ring);
    }
    return sqe;
}

/* Queue READ -HARDLINK-> CLOSE for page @p k open as @p fd (a direct slot when @p fixed). The
 * hard link makes CLOSE run even when the READ "fails" by being short, which it always is: it
 * asks for size + 1 bytes, and a plain IO_LINK would cancel the CLOSE after a short read. */
static void queue_read_close(uring *u, const job *j, char *base, size_t k, unsigned fd, bool fixed)
{
    struct io_uring_sqe *sqe = get_sqe(u);
    io_uring_prep_read(sqe, (int)fd, base + j->off, (unsigned)(j->size + 1), 0);
    sqe->flags |= IOSQE_IO_HARDLINK | (fixed ? IOSQE_FIXED_FILE : 0);
    io_uring_sqe_set_data64(sqe, UD(k, fixed ? fd : 0, OP_READ));
    sqe = get_sqe(u);
    if (fixed)
        io_uring_prep_close_direct(sqe, fd);
    else
        io_uring_prep_close(sqe, (int)fd);
    io_uring_sqe_set_data64(sqe, UD(k, fixed ? fd : 0, OP_CLOSE));
}

/* Load pages [lo, hi) through @p u, at most u->qd pages in flight. Each page ends with exactly one
 * CQE: that of its CLOSE (done, cancelled or failed), or that of its failed OPENAT in two-step
 * mode or under CQE_SKIP_SUCCESS. That CQE frees its slot. @return 0, or -errno when the ring
 * itself fails. */
static int uring_load(uring *u, batch *bt, size_t lo, size_t hi, uring_mode mode)
{
    const job *jobs = bt->jobs;
    char *base = bt->base;
    long *got = bt->got;
    size_t next = lo, done = 0, want = hi - lo;
    unsigned inflight = 0;
    u->n_free = 0;
    for (unsigned s = u->qd; s-- > 0;)
        u->free[u->n_free++] = s;
    u->enters = 0;
    while (done < want) {
        while (inflight < u->qd && next < hi) {
            const job *j = &jobs[next];
            struct io_uring_sqe *sqe = get_sqe(u);
            if (mode == URING_DIRECT) {
                unsigned slot = u->free[--u->n_free];
                io_uring_prep_openat_direct(sqe, j->dfd, j->name, OPEN_FLAGS_DIRECT, 0, slot);
                sqe->flags |= IOSQE_IO_LINK | (u->skip_open_cqe ? IOSQE_CQE_SKIP_SUCCESS : 0);
                io_uring_sqe_set_data64(sqe, UD(next, slot, OP_OPEN));
                queue_read_close(u, j, base, next, slot, true);
            } else {
                io_uring_prep_openat(sqe, j->dfd, j->name, OPEN_FLAGS, 0);
                io_uring_sqe_set_data64(sqe, UD(next, 0, OP_OPEN));
            }
            got[next] = -ECANCELED;
            next++;
            inflight++;
        }
        int e;
        do
            e = io_uring_submit_and_wait(&u->ring, 1);
        while (e == -EINTR);
        u->enters++;
        if (e < 0)
            return e;
        unsigned head, seen = 0;
        struct io_uring_cqe *cqe;
        io_uring_for_each_cqe(&u->ring, head, cqe)
        {
            uint64_t ud = cqe->user_data;
            size_t k = UD_PAGE(ud);
            seen++;
            switch (UD_OP(ud)) {
            case OP_OPEN:
                if (mode == URING_TWO_STEP && cqe->res >= 0) {
                    queue_read_close(u, &jobs[k], base, k, (unsigned)cqe->res, false);
                    break;
                }
                got[k] = cqe->res < 0 ? cqe->res : got[k];
                /* A failed OPENAT ends the page when nothing follows it: in two-step mode, and
                 * under CQE_SKIP_SUCCESS, which also skips the CQEs of the links it cancels. */
                if (mode == URING_TWO_STEP || (u->skip_open_cqe && cqe->res < 0)) {
                    if (mode == URING_DIRECT)
                        u->free[u->n_free++] = UD_SLOT(ud);
                    inflight--;
                    done++;
                }
                break;
            case OP_READ:
                if (cqe->res != -ECANCELED || got[k] == -ECANCELED)
                    got[k] = cqe->res;
                break;
            case OP_CLOSE:
                if (mode == URING_DIRECT)
                    u->free[u->n_free++] = UD_SLOT(ud);
                inflight--;
                done++;
                break;
            }
        }
        io_uring_cq_advance(&u->ring, seen);
    }
    for (size_t k = lo; k < hi; k++)
        if (got[k] >= 0 && (size_t)got[k] <= jobs[k].size)
            base[jobs[k].off + (size_t)got[k]] = '\0';
    return 0;
}

/*** Methods, rounds, checks ***/

typedef enum kind { K_LIB, K_POOL, K_URING } kind;

typedef struct method {
    const char *name;
    kind kind;
    int threads;
    unsigned qd; /* io_uring: pages in flight per ring */
    uring_mode mode;
    unsigned setup_flags; /* io_uring_queue_init flags */
    bool skip_open_cqe;
    bool cold;      /* also run in the cold rounds */
    bool cold_only; /* only there */
    /* filled in */
    uring rings[MAX_RINGS];
    bool usable;
    double *t;      /* per round, seconds */
    double *cpu;    /* per round, process CPU seconds */
    int io_workers; /* io-wq workers alive after its last run */
    long enters;    /* io_uring_enter calls per run (summed over rings) */
    size_t bad;     /* runs whose bytes differed from the reference */
    double setup_ms;
} method;

/* Run @p m once into bt->base. @return 0, or -errno when the method cannot run. */
static int run_method(method *m, batch *bt, fmd_io_batch *b, double *secs, double *cpu)
{
    double c0 = cpu_now(), t0 = now();
    int e = 0;
    if (m->kind == K_LIB) {
        fmd_io_input in;
        if (fmd_io_pages_load(b, 0, bt->n, 0, m->threads, &in) != FMD_OK)
            return -EIO;
        *secs = now() - t0;
        *cpu = cpu_now() - c0;
        /* Same layout: copy it into the block so one check covers every method. */
        memcpy(bt->base, in.base, in.size < bt->total ? in.size : bt->total);
        for (size_t k = 0; k < bt->n; k++)
            bt->got[k] = in.refs[k].load_status == FMD_OK ? (long)in.refs[k].len : -EIO;
        fmd_io_input_destroy(&in);
        return 0;
    }
    if (m->kind == K_POOL) {
        pool_load(bt, m->threads);
    } else if (m->threads == 1) {
        e = uring_load(&m->rings[0], bt, 0, bt->n, m->mode);
        m->enters = m->rings[0].enters;
    } else {
        /* One ring per thread, each on a contiguous share of the pages. */
        const int nt = m->threads;
        const size_t n = bt->n;
        int err = 0;
#pragma omp parallel num_threads(nt) default(none) shared(m, bt, n, nt) reduction(min : err)
        {
            int t = omp_get_thread_num();
            size_t lo = n * (size_t)t / (size_t)nt, hi = n * (size_t)(t + 1) / (size_t)nt;
            err = uring_load(&m->rings[t], bt, lo, hi, m->mode);
        }
        e = err;
        m->enters = 0;
        for (int t = 0; t < nt; t++)
            m->enters += m->rings[t].enters;
    }
    *secs = now() - t0;
    *cpu = cpu_now() - c0;
    return e;
}

static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3u;
    return h;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
    double *s = malloc((size_t)n * sizeof *s);
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double r = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    free(s);
    return r;
}

/* Drop the clean page cache, dentries and inodes (the corpus is only read, so no sync()).
 * @return 0 or errno. */
static int drop_caches(void)
{
    int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int e = write(fd, "3\n", 2) == 2 ? 0 : errno;
    close(fd);
    return e;
}

/* Rounds of every usable method (cold: only those marked cold, each after dropping caches), in
 * an order rotated each round so no method always follows the same one. Every run is checked
 * against the reference block. @return 0, or errno when caches cannot be dropped. */
static int run_rounds(method *ms, int nm, batch *bt, fmd_io_batch *b, int runs, bool cold,
                      const char *ref, const long *ref_got)
{
    for (int r = -1; r < runs; r++) { /* round -1: warm-up, discarded */
        for (int i = 0; i < nm; i++) {
            method *m = &ms[(i + (r < 0 ? 0 : r)) % nm];
            if (!m->usable || (cold ? !m->cold : m->cold_only))
                continue;
            memset(bt->base, 0xA5, bt->total); /* so a method that loads nothing cannot pass */
            if (cold) {
                int e = drop_caches();
                if (e != 0)
                    return e;
            }
            double s = 0, c = 0;
            int e = run_method(m, bt, b, &s, &c);
            if (e != 0) {
                fprintf(stderr, "%s: %s\n", m->name, strerror(-e));
                m->usable = false;
                continue;
            }
            if (memcmp(bt->base, ref, bt->total) != 0 ||
                memcmp(bt->got, ref_got, bt->n * sizeof *ref_got) != 0)
                m->bad++;
            if (r >= 0) {
                m->t[r] = s;
                m->cpu[r] = c;
            }
            if (m->kind == K_URING)
                m->io_workers = count_io_workers();
        }
    }
    return 0;
}

static void print_table(method *ms, int nm, size_t n, int runs, bool cold)
{
    double base = median(ms[1].t, runs); /* ms[1]: the 1-thread pool loop */
    printf("%-34s %3s %4s %9s %15s %7s %6s %6s %7s %8s %4s\n", "method", "thr", "qd", "median ms",
           "min-max ms", "us/file", "ratio", "paired", "cpu ms", "syscalls", "same");
    for (int i = 0; i < nm; i++) {
        method *m = &ms[i];
        if (!m->usable || (cold ? !m->cold : m->cold_only))
            continue;
        double lo = m->t[0], hi = m->t[0];
        double *pr = malloc((size_t)runs * sizeof *pr);
        for (int r = 0; r < runs; r++) {
            lo = m->t[r] < lo ? m->t[r] : lo;
            hi = m->t[r] > hi ? m->t[r] : hi;
            pr[r] = m->t[r] / ms[1].t[r]; /* same round: noise common to both cancels */
        }
        double md = median(m->t, runs);
        char qd[16] = "-", en[16] = "-", mm[32];
        if (m->kind == K_URING)
            snprintf(qd, sizeof qd, "%u", m->qd);
        if (m->kind == K_URING)
            snprintf(en, sizeof en, "%ld", m->enters); /* io_uring_enter calls */
        else if (m->kind == K_POOL)
            snprintf(en, sizeof en, "%zu", 3 * n); /* openat, read, close per file */
        snprintf(mm, sizeof mm, "%.1f-%.1f", lo * 1e3, hi * 1e3);
        printf("%-34s %3d %4s %9.2f %15s %7.2f %6.2f %6.2f %7.2f %8s %4s\n", m->name, m->threads,
               qd, md * 1e3, mm, md * 1e6 / (double)n, md / base, median(pr, runs),
               median(m->cpu, runs) * 1e3, en, m->bad ? "NO" : "yes");
        free(pr);
    }
}

/* The io-wq workers the process had after each io_uring method: 0 means every request completed
 * inline in io_uring_enter, on the submitting thread. */
static void print_workers(const method *ms, int nm, bool cold)
{
    printf("io-wq workers alive after the last run:");
    for (int i = 0; i < nm; i++)
        if (ms[i].kind == K_URING && ms[i].usable && (cold ? ms[i].cold : !ms[i].cold_only))
            printf(" %s/%dt/qd%u: %d;", ms[i].name, ms[i].threads, ms[i].qd, ms[i].io_workers);
    printf("\n");
}

/* Whether the comma-separated list @p list names @p i. */
static bool strstr_index(const char *list, int i)
{
    for (const char *p = list; *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p)
            return false;
        if (v == i)
            return true;
        p = *end == ',' ? end + 1 : end;
    }
    return false;
}

int main(int argc, char **argv)
{
    int runs = 21, cold_runs = 0;
    const char *dir = NULL, *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--cold") == 0 && i + 1 < argc)
            cold_runs = atoi(argv[++i]);
        else
            dir = argv[i];
    }
    if (dir == NULL || runs < 11 || cold_runs < 0) {
        fprintf(stderr, "usage: fmd-load-bench [--runs N>=11] [--cold N] [--only I,J,..] DIR\n");
        return 64;
    }

    fmd_io_batch *b = NULL;
    int err = 0;
    if (fmd_io_tree_enumerate(dir, 1, &b, &err) != FMD_OK) {
        fprintf(stderr, "cannot read %s: %s\n", dir, strerror(err));
        return 66;
    }
    size_t n;
    fmd_io_page *pages = fmd_io_batch_pages(b, &n);
    batch bt = {0};
    if (batch_build(&bt, dir, pages, n) != 0) {
        fprintf(stderr, "cannot lay out the batch of %s (unreadable page or directory)\n", dir);
        return 74;
    }

    const unsigned dt = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    method ms[] = {
        {.name = "fmd_io_pages_load (malloc+touch)", .kind = K_LIB, .threads = 1},
        {.name = "pool openat+read+close", .kind = K_POOL, .threads = 1, .cold = true},
        {.name = "fmd_io_pages_load (malloc+touch)", .kind = K_LIB, .threads = 2},
        {.name = "pool openat+read+close", .kind = K_POOL, .threads = 2, .cold = true},
        {.name = "pool openat+read+close", .kind = K_POOL, .threads = 8, .cold = true},
        {.name = "pool openat+read+close",
         .kind = K_POOL,
         .threads = 32,
         .cold = true,
         .cold_only = true}, /* cold reads wait on the disk: more threads than cores */
        {.name = "uring direct, linked", .kind = K_URING, .threads = 1, .qd = 32, .cold = true},
        {.name = "uring direct, linked", .kind = K_URING, .threads = 1, .qd = 128, .cold = true},
        {.name = "uring direct, linked", .kind = K_URING, .threads = 1, .qd = 256, .cold = true},
        {.name = "uring direct, skip open CQE",
         .kind = K_URING,
         .threads = 1,
         .qd = 128,
         .skip_open_cqe = true},
        {.name = "uring direct, DEFER_TASKRUN",
         .kind = K_URING,
         .threads = 1,
         .qd = 128,
         .setup_flags = dt},
        {.name = "uring two-step (plain fds)",
         .kind = K_URING,
         .threads = 1,
         .qd = 128,
         .mode = URING_TWO_STEP},
        {.name = "uring direct, ring per thread",
         .kind = K_URING,
         .threads = 2,
         .qd = 128,
         .cold = true},
    };
    const int nm = (int)(sizeof ms / sizeof ms[0]);
    int uring_err = 0;
    for (int i = 0; i < nm; i++) {
        method *m = &ms[i];
        int tot = runs > cold_runs ? runs : cold_runs;
        m->t = calloc((size_t)tot, sizeof *m->t);
        m->cpu = calloc((size_t)tot, sizeof *m->cpu);
        /* --only: the rows to run, numbered from 0 in the order of ms[]; row 1, the baseline,
         * always runs. */
        m->usable = only == NULL || i == 1 || strstr_index(only, i);
        if (m->kind != K_URING || !m->usable)
            continue;
        double t0 = now();
        for (int t = 0; t < m->threads && m->usable; t++) {
            int e = uring_init(&m->rings[t], m->qd, m->setup_flags, m->skip_open_cqe);
            if (e < 0) {
                fprintf(stderr, "%s (qd %u): io_uring setup failed: %s\n", m->name, m->qd,
                        strerror(-e));
                uring_err = e;
                m->usable = false;
            }
        }
        m->setup_ms = (now() - t0) * 1e3 / m->threads;
    }

    /* The reference: one load by the 1-thread pool loop, over the filler run_rounds() uses (a
     * page that fails leaves its slot as it was). */
    memset(bt.base, 0xA5, bt.total);
    pool_load(&bt, 1);
    char *ref = malloc(bt.total ? bt.total : 1);
    long *ref_got = malloc((n ? n : 1) * sizeof *ref_got);
    memcpy(ref, bt.base, bt.total);
    memcpy(ref_got, bt.got, n * sizeof *ref_got);
    size_t bytes = 0, failed = 0;
    for (size_t k = 0; k < n; k++) {
        if (ref_got[k] < 0 || (size_t)ref_got[k] != bt.jobs[k].size)
            failed++;
        else
            bytes += (size_t)ref_got[k];
    }

    printf("%zu files, %.2f MB in %zu directories, nproc %ld, %s\n", n, (double)bytes / 1e6,
           bt.n_dirs, sysconf(_SC_NPROCESSORS_ONLN), dir);
    printf("reference: FNV-1a 64 of the block = %016llx (%zu bytes), %zu files not read whole\n",
           (unsigned long long)fnv1a(ref, bt.total), bt.total, failed);
    if (uring_err)
        printf("io_uring unavailable for some methods: %s\n", strerror(-uring_err));
    for (int i = 0; i < nm; i++)
        if (ms[i].kind == K_URING && ms[i].usable)
            printf("ring setup (init + sparse file table), not timed below: %s qd %u: %.3f ms\n",
                   ms[i].name, ms[i].qd, ms[i].setup_ms);

    run_rounds(ms, nm, &bt, b, runs, false, ref, ref_got);
    printf("\nwarm page cache: %d rounds after 1 warm-up, order rotated per round; ratio = median "
           "/ median of the 1-thread pool loop; paired = median of per-round ratios\n",
           runs);
    print_table(ms, nm, n, runs, false);
    print_workers(ms, nm, false);

    if (cold_runs > 0) {
        for (int i = 0; i < nm; i++) {
            memset(ms[i].t, 0, (size_t)cold_runs * sizeof *ms[i].t);
            memset(ms[i].cpu, 0, (size_t)cold_runs * sizeof *ms[i].cpu);
        }
        int e = cold_runs >= 3 ? run_rounds(ms, nm, &bt, b, cold_runs, true, ref, ref_got) : 0;
        if (cold_runs < 3)
            printf("\ncold: need --cold 3 or more\n");
        else if (e != 0)
            printf("\ncold: cannot drop caches (/proc/sys/vm/drop_caches): %s\n", strerror(e));
        else {
            printf("\ncold-ish (echo 3 > drop_caches before every run; the host may still cache "
                   "the disk): %d rounds after 1 warm-up\n",
                   cold_runs);
            print_table(ms, nm, n, cold_runs, true);
            print_workers(ms, nm, true);
        }
    }

    for (int i = 0; i < nm; i++) {
        for (int t = 0; t < ms[i].threads && ms[i].kind == K_URING; t++)
            uring_exit(&ms[i].rings[t]);
        free(ms[i].t);
        free(ms[i].cpu);
    }
    free(ref);
    free(ref_got);
    batch_free(&bt);
    fmd_io_batch_destroy(b);
    return 0;
}
