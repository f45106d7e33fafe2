/* SPDX-License-Identifier: MIT */
/* The ordered stream: worker threads hand in line i in any order; one writer thread writes the
 * lines in index order as soon as each prefix is complete, many lines per writev(). Used for the
 * manifest (a temporary file renamed at close, so readers never see half of it) and for the NDJSON
 * output of `build --ndjson` (a file, renamed likewise, or standard output; a device, FIFO or link
 * is written in place, never renamed over: io/target.c). */
#define _GNU_SOURCE /* pthread_setname_np */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "fmd_clock.h"
#include "fmd_io.h"
#include "io_internal.h"

/* Lines gathered into one writev() or one sink call; Linux's IOV_MAX is 1024. */
#define STREAM_IOV 512
/* The default wake policy: the writer sleeps until the next STREAM_GROUP lines are all in (the
 * put of the one it waits for wakes it), or until the next line is in and STREAM_LINGER seconds
 * have passed, so that it wakes about once per STREAM_GROUP lines and no line waits long. */
#define STREAM_GROUP 64
#define STREAM_LINGER 0.05
/* Lines put through a lane are copied into blocks of LINE_BLOCK bytes, one malloc per block (and
 * blocks are reused once written) rather than one per line. A line longer than
 * LINE_BLOCK_MAX_LINE gets a malloc of its own, so that a block wastes at most that at its end. */
#define LINE_BLOCK ((size_t)128 << 10)
#define LINE_BLOCK_MAX_LINE (LINE_BLOCK / 4)

/* A block of lines. refs counts its lines not yet written, plus one while it is a lane's current
 * block; the thread that drops it to 0 puts the block on the stream's free list. */
typedef struct line_block {
    atomic_size_t refs;
    struct line_block *next_all;  /* every block of the stream, for free_stream() */
    struct line_block *next_free; /* under pool_mu */
    size_t used;                  /* bytes of data taken (by the lane's thread) */
    char data[];                  /* LINE_BLOCK bytes */
} line_block;

/* One putting thread's current block, on a cache line of its own. */
typedef struct lane {
    _Alignas(64) line_block *cur;
} lane;

/* One line: its bytes (owned by the stream until written; NULL: nothing to write for this index)
 * and length; block is the line block holding them, or NULL when ptr was malloc'ed. ready is set
 * last by the thread that puts the line; the writer reads it with acquire order. */
typedef struct slot {
    char *ptr;
    size_t len;
    line_block *block;
    atomic_int ready;
} slot;

struct fmd_io_stream {
    int fd; /* -1 with a sink */
    bool close_fd;
    int dirfd;      /* where tmp_name lives, for the rename; -1 when writing in place */
    char *tmp_name; /* temporary name, renamed to final_name at close */
    char *final_name;
    fmd_io_stream_sink sink; /* sink.write NULL: lines go to fd */
    fmd_io_stream_wake wake;
    slot *slots;
    size_t n;
    size_t next;               /* the writer's position: lines [0, next) are written */
    atomic_size_t waiting_for; /* the index whose put wakes the writer; SIZE_MAX: none */
    pthread_t writer;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool closing, aborting; /* under mu */
    fmd_status st;          /* the first write failure */
    int err;
    lane *lanes; /* fmd_io_stream_set_lanes(), or NULL */
    int n_lanes;
    pthread_mutex_t pool_mu; /* guards the two block lists */
    line_block *all_blocks, *free_blocks;
    bool pool_ready; /* pool_mu is initialised */
};

/* Under s->mu: whether the writer has something to do now. @p timed_out: the last wait ran its
 * whole linger. Publishes waiting_for when it has not. */
static bool writer_should_run(fmd_io_stream *s, bool timed_out)
{
    if (s->aborting || s->next >= s->n)
        return true;
    bool head = atomic_load_explicit(&s->slots[s->next].ready, memory_order_acquire);
    if (s->closing)
        return true; /* every line is put (or never will be): write or fail now */
    size_t end = s->next + s->wake.group - 1 < s->n ? s->next + s->wake.group - 1 : s->n - 1;
    if (head && (timed_out || atomic_load(&s->slots[end].ready)))
        return true;
    /* Wait for the group's last line; if that one is in already, for the first. Then look
     * again: a put may have come in between (both sides are sequentially consistent: either
     * the writer sees ready, or the putting thread sees waiting_for). */
    atomic_store(&s->waiting_for, atomic_load(&s->slots[end].ready) ? s->next : end);
    return atomic_load(&s->slots[s->next].ready) && atomic_load(&s->slots[end].ready);
}

/* Drop one reference to @p b; the last one puts it on the free list, to be reused. */
static void release_block(fmd_io_stream *s, line_block *b)
{
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
        return;
    pthread_mutex_lock(&s->pool_mu);
    b->next_free = s->free_blocks;
    s->free_blocks = b;
    pthread_mutex_unlock(&s->pool_mu);
}

/* A block with no lines and one reference (its lane's): a reused one, or a new one. */
static line_block *get_block(fmd_io_stream *s)
{
    bool fresh = false;
    pthread_mutex_lock(&s->pool_mu);
    line_block *b = s->free_blocks;
    if (b != NULL) {
        s->free_blocks = b->next_free;
    } else {
        b = malloc(sizeof *b + LINE_BLOCK);
        fresh = true;
        if (b != NULL) {
            b->next_all = s->all_blocks;
            s->all_blocks = b;
        }
    }
    pthread_mutex_unlock(&s->pool_mu);
    /* A new block's pages are made present in one call, outside the lock: the lines copied in
     * would otherwise take a fault per 4 KiB (32 per block), and under largest-first scheduling
     * most lines wait for page 0, so nearly every block of the run is a new one. */
    if (b != NULL && fresh)
        fmd__io_populate(b->data, LINE_BLOCK);
    if (b != NULL) {
        b->used = 0;
        atomic_store_explicit(&b->refs, 1, memory_order_relaxed);
    }
    return b;
}

/* Write (or drop, after a failure) the ready prefix from s->next, up to STREAM_IOV lines. Returns
 * whether it took any. */
static bool write_ready(fmd_io_stream *s)
{
    struct iovec iov[STREAM_IOV];
    fmd_slice lines[STREAM_IOV];
    size_t idx[STREAM_IOV];
    int cnt = 0;
    size_t k = s->next;
    while (k < s->n && cnt < STREAM_IOV &&
           atomic_load_explicit(&s->slots[k].ready, memory_order_acquire)) {
        if (s->slots[k].ptr != NULL) {
            iov[cnt].iov_base = s->slots[k].ptr;
            iov[cnt].iov_len = s->slots[k].len;
            lines[cnt] = (fmd_slice){s->slots[k].ptr, s->slots[k].len};
            idx[cnt] = k;
            cnt++;
        }
        k++;
    }
    if (k == s->next)
        return false;
    if (cnt > 0 && s->st == FMD_OK) {
        if (s->sink.write != NULL) {
            fmd_status st = s->sink.write(lines, idx, (size_t)cnt, s->sink.userdata);
            if (st != FMD_OK)
                s->st = st;
        } else {
            int e = fmd_io_writev_all(s->fd, iov, cnt);
            if (e != 0) {
                s->st = FMD_E_IO;
                s->err = e;
            }
        }
    }
    for (int i = 0; i < cnt; i++) {
        slot *sl = &s->slots[idx[i]];
        if (sl->block != NULL)
            release_block(s, sl->block);
        else
            free(sl->ptr);
        sl->ptr = NULL;
    }
    s->next = k;
    return true;
}

static void *writer_main(void *arg)
{
    fmd_io_stream *s = arg;
    pthread_setname_np(pthread_self(), "fastmd-stream"); /* for top -H, perf, gdb */
    double linger = s->wake.linger_s > 0 ? s->wake.linger_s : STREAM_LINGER;
    double next_tick = s->sink.tick != NULL ? fmd_clock_now() + s->sink.tick_s : 0;
    bool timed_out = false;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (!writer_should_run(s, timed_out)) {
            /* Nothing to write: sleep. A put wakes the writer only when it is the line waited
             * for (a wake-up per line costs a context switch per page, as much as rendering a
             * small page); otherwise it sleeps for the linger, and close() wakes it at once. */
            double wait = linger;
            if (s->sink.tick != NULL) {
                double now = fmd_clock_now();
                if (now >= next_tick)
                    break;
                if (next_tick - now < wait)
                    wait = next_tick - now;
            }
            struct timespec ts = fmd_clock_deadline(wait);
            timed_out = pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT;
        }
        atomic_store(&s->waiting_for, SIZE_MAX);
        bool aborting = s->aborting, closing = s->closing;
        pthread_mutex_unlock(&s->mu);
        if (aborting)
            return NULL;
        while (write_ready(s)) {
            /* the whole ready prefix, STREAM_IOV lines at a time */
        }
        timed_out = false;
        if (s->next >= s->n) {
            if (!closing) { /* every line written: wait for close (or abort) */
                pthread_mutex_lock(&s->mu);
                while (!s->closing && !s->aborting)
                    pthread_cond_wait(&s->cv, &s->mu);
                aborting = s->aborting;
                pthread_mutex_unlock(&s->mu);
                if (aborting)
                    return NULL;
            }
            if (s->sink.tick != NULL)
                s->sink.tick(true, s->sink.userdata);
            return NULL;
        }
        if (closing && !atomic_load_explicit(&s->slots[s->next].ready, memory_order_acquire)) {
            /* Closed with a line never put: a caller bug; fail rather than wait forever. */
            if (s->st == FMD_OK)
                s->st = FMD_E_USAGE;
            return NULL;
        }
        if (s->sink.tick != NULL && fmd_clock_now() >= next_tick) {
            s->sink.tick(false, s->sink.userdata);
            next_tick = fmd_clock_now() + s->sink.tick_s;
        }
    }
}

static fmd_status start(fmd_io_stream **out, fmd_io_stream *s, size_t n)
{
    s->n = n;
    if (s->wake.group == 0)
        s->wake.group = STREAM_GROUP;
    pthread_mutex_init(&s->pool_mu, NULL);
    s->pool_ready = true;
    s->slots = calloc(n ? n : 1, sizeof *s->slots);
    if (s->slots == NULL)
        return FMD_E_NOMEM;
    for (size_t i = 0; i < n; i++)
        atomic_init(&s->slots[i].ready, 0);
    atomic_init(&s->waiting_for, SIZE_MAX);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
        return FMD_E_NOMEM;
    }
    *out = s;
    return FMD_OK;
}

static void free_stream(fmd_io_stream *s)
{
    if (s->close_fd && s->fd >= 0)
        close(s->fd);
    if (s->dirfd >= 0 && s->dirfd != AT_FDCWD)
        close(s->dirfd);
    for (size_t i = 0; i < s->n && s->slots != NULL; i++)
        if (s->slots[i].block == NULL)
            free(s->slots[i].ptr);
    free(s->slots);
    for (line_block *b = s->all_blocks, *next; b != NULL; b = next) {
        next = b->next_all;
        free(b);
    }
    free(s->lanes);
    if (s->pool_ready)
        pthread_mutex_destroy(&s->pool_mu);
    free(s->tmp_name);
    free(s->final_name);
    free(s);
}

/* Open @p name in @p dirfd (which the stream then owns) for the stream: a temporary file beside
 * it, renamed over it at close, when it is missing or a regular file; else (a device, a FIFO, a
 * link) the path itself, written in place and never renamed over. */
static fmd_status open_tmp(fmd_io_stream *s, int dirfd, const char *name, int *err)
{
    s->dirfd = dirfd;
    fmd_io_target_kind kind;
    fmd_status st = fmd_io_target_classify(dirfd, name, &kind, err);
    if (st != FMD_OK)
        return st;
    if (kind != FMD_IO_TARGET_REPLACE) /* "-" never reaches here: open_path handles it */
        return fmd_io_target_open_through(dirfd, name, &s->fd, err);
    s->final_name = strdup(name);
    size_t len = strlen(name) + 64;
    s->tmp_name = malloc(len);
    if (s->final_name == NULL || s->tmp_name == NULL)
        return FMD_E_NOMEM;
    const char *slash = strrchr(name, '/');
    size_t dir_len = slash ? (size_t)(slash - name) + 1 : 0;
    for (unsigned attempt = 0; attempt < 100; attempt++) {
        snprintf(s->tmp_name, len, "%.*s.%s.tmp.%ld.%u", (int)dir_len, name, name + dir_len,
                 (long)getpid(), attempt);
        s->fd = openat(dirfd, s->tmp_name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (s->fd >= 0)
            return FMD_OK;
        if (errno != EEXIST) {
            if (err)
                *err = errno;
            return FMD_E_CANTCREATE;
        }
    }
    if (err)
        *err = EEXIST;
    return FMD_E_CANTCREATE;
}

fmd_status fmd_io_stream_open_file(fmd_io_stream **out, fmd_io_out *o, const char *name, size_t n,
                                   int *err)
{
    *out = NULL;
    if (err)
        *err = 0;
    fmd_io_stream *s = calloc(1, sizeof *s);
    if (s == NULL)
        return FMD_E_NOMEM;
    s->fd = -1;
    s->close_fd = true;
    int dirfd = fcntl(fmd__io_out_dirfd(o), F_DUPFD_CLOEXEC, 0);
    if (dirfd < 0) {
        if (err)
            *err = errno;
        free(s);
        return FMD_E_CANTCREATE;
    }
    fmd_status st = open_tmp(s, dirfd, name, err);
    if (st == FMD_OK)
        st = start(out, s, n);
    if (st != FMD_OK) {
        if (s->fd >= 0 && s->tmp_name != NULL)
            unlinkat(s->dirfd, s->tmp_name, 0);
        free_stream(s);
    }
    return st;
}

fmd_status fmd_io_stream_open_path(fmd_io_stream **out, const char *path, size_t n, int *err)
{
    *out = NULL;
    if (err)
        *err = 0;
    fmd_io_stream *s = calloc(1, sizeof *s);
    if (s == NULL)
        return FMD_E_NOMEM;
    s->fd = -1;
    s->dirfd = -1;
    fmd_status st;
    if (strcmp(path, "-") == 0) {
        s->fd = STDOUT_FILENO;
        s->close_fd = false;
        st = start(out, s, n);
    } else {
        s->close_fd = true;
        st = open_tmp(s, AT_FDCWD, path, err);
        if (st == FMD_OK)
            st = start(out, s, n);
    }
    if (st != FMD_OK) {
        if (s->fd >= 0 && s->tmp_name)
            unlinkat(AT_FDCWD, s->tmp_name, 0);
        free_stream(s);
    }
    return st;
}

fmd_status fmd_io_stream_open_sink(fmd_io_stream **out, size_t n, const fmd_io_stream_sink *sink,
                                   const fmd_io_stream_wake *wake)
{
    *out = NULL;
    if (sink == NULL || sink->write == NULL || (sink->tick != NULL && !(sink->tick_s > 0)))
        return FMD_E_USAGE;
    fmd_io_stream *s = calloc(1, sizeof *s);
    if (s == NULL)
        return FMD_E_NOMEM;
    s->fd = -1;
    s->dirfd = -1;
    s->sink = *sink;
    if (wake != NULL)
        s->wake = *wake;
    fmd_status st = start(out, s, n);
    if (st != FMD_OK)
        free_stream(s);
    return st;
}

/* Mark line @p index ready; wake the writer if it waits for exactly this one (wake policy). */
static void publish(fmd_io_stream *s, size_t index)
{
    atomic_store(&s->slots[index].ready, 1);
    if (atomic_load(&s->waiting_for) == index) {
        pthread_mutex_lock(&s->mu);
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
}

fmd_status fmd_io_stream_put(fmd_io_stream *s, size_t index, const char *line, size_t len)
{
    if (index >= s->n)
        return FMD_E_USAGE;
    slot *sl = &s->slots[index];
    sl->ptr = malloc(len ? len : 1);
    if (sl->ptr == NULL)
        return FMD_E_NOMEM;
    memcpy(sl->ptr, line, len);
    sl->len = len;
    publish(s, index);
    return FMD_OK;
}

fmd_status fmd_io_stream_set_lanes(fmd_io_stream *s, int n_lanes)
{
    if (n_lanes < 1 || s->lanes != NULL)
        return FMD_E_USAGE;
    s->lanes = aligned_alloc(_Alignof(lane), sizeof *s->lanes * (size_t)n_lanes);
    if (s->lanes == NULL)
        return FMD_E_NOMEM;
    for (int k = 0; k < n_lanes; k++)
        s->lanes[k].cur = NULL;
    s->n_lanes = n_lanes;
    return FMD_OK;
}

fmd_status fmd_io_stream_put_lane(fmd_io_stream *s, int lane_index, size_t index, const char *line,
                                  size_t len)
{
    if (index >= s->n || lane_index < 0 || lane_index >= s->n_lanes)
        return FMD_E_USAGE;
    if (len > LINE_BLOCK_MAX_LINE)
        return fmd_io_stream_put(s, index, line, len);
    lane *l = &s->lanes[lane_index];
    line_block *b = l->cur;
    if (b == NULL || LINE_BLOCK - b->used < len) {
        line_block *fresh = get_block(s);
        if (fresh == NULL)
            return FMD_E_NOMEM;
        if (b != NULL)
            release_block(s, b); /* the lane's reference: its lines keep it until written */
        l->cur = b = fresh;
    }
    slot *sl = &s->slots[index];
    sl->ptr = b->data + b->used;
    memcpy(sl->ptr, line, len);
    b->used += len;
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    sl->block = b;
    sl->len = len;
    publish(s, index);
    return FMD_OK;
}

fmd_status fmd_io_stream_put_owned(fmd_io_stream *s, size_t index, char *line, size_t len)
{
    if (index >= s->n)
        return FMD_E_USAGE;
    slot *sl = &s->slots[index];
    sl->ptr = line;
    sl->len = len;
    publish(s, index);
    return FMD_OK;
}

fmd_status fmd_io_stream_close(fmd_io_stream *s, int *err)
{
    if (err)
        *err = 0;
    pthread_mutex_lock(&s->mu);
    s->closing = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->writer, NULL);
    fmd_status st = s->st;
    int e = s->err;
    if (st == FMD_OK && s->close_fd) {
        if (close(s->fd) != 0) {
            st = FMD_E_IO;
            e = errno;
        }
        s->fd = -1;
    }
    if (s->tmp_name != NULL) {
        if (st == FMD_OK && renameat(s->dirfd < 0 ? AT_FDCWD : s->dirfd, s->tmp_name,
                                     s->dirfd < 0 ? AT_FDCWD : s->dirfd, s->final_name) != 0) {
            st = FMD_E_IO;
            e = errno;
        }
        if (st != FMD_OK)
            unlinkat(s->dirfd < 0 ? AT_FDCWD : s->dirfd, s->tmp_name, 0);
    }
    if (err)
        *err = e;
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free_stream(s);
    return st;
}

void fmd_io_stream_abort(fmd_io_stream *s)
{
    pthread_mutex_lock(&s->mu);
    s->aborting = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->writer, NULL);
    if (s->tmp_name != NULL && s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
        unlinkat(s->dirfd < 0 ? AT_FDCWD : s->dirfd, s->tmp_name, 0);
    }
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free_stream(s);
}
