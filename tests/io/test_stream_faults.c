/* SPDX-License-Identifier: MIT */
/* The ordered stream's failure paths (io/stream.c): allocations, the writer thread, the temporary
 * file, writev, close and rename fail on demand through -Wl,--wrap= (this test only; nothing in
 * io/ is built differently). Each failure must come back as its status and errno, and leave no
 * temporary file and no final file behind. Also standard output ("-"), writing through a link,
 * a directory in the way, a short or interrupted writev, and a close with a line never put. */
#define _GNU_SOURCE /* F_OFD_* */
#include "io_test_util.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/uio.h>

#include "fmd_io.h"

/*** Fault injection ***/

/* Each wrapped call has a countdown: 0 is off; k > 0 makes the k-th call from now fail with
 * fault_errno; -1 makes every call fail (the writer thread reads them too, hence atomics). */
static atomic_int fail_malloc, fail_calloc, fail_aligned, fail_thread, fail_openat, fail_writev,
    fail_close, fail_renameat, fail_fcntl;
static atomic_int fault_errno;
/* writev: this many calls write a single byte only (a short write), or fail with EINTR. */
static atomic_int short_writev, eintr_writev;

static bool trip(atomic_int *counter)
{
    int v = atomic_load(counter);
    if (v < 0)
        return true;
    while (v > 0 && !atomic_compare_exchange_weak(counter, &v, v - 1)) {
    }
    return v == 1;
}

static void disarm(void)
{
    atomic_int *all[] = {&fail_malloc, &fail_calloc,  &fail_aligned, &fail_thread,
                         &fail_openat, &fail_writev,  &fail_close,   &fail_renameat,
                         &fail_fcntl,  &short_writev, &eintr_writev};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        atomic_store(all[i], 0);
}

void *__real_malloc(size_t n);
void *__wrap_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__real_aligned_alloc(size_t align, size_t n);
void *__wrap_aligned_alloc(size_t align, size_t n);
int __real_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg);
int __real_openat(int dirfd, const char *path, int flags, ...);
int __wrap_openat(int dirfd, const char *path, int flags, ...);
ssize_t __real_writev(int fd, const struct iovec *iov, int cnt);
ssize_t __wrap_writev(int fd, const struct iovec *iov, int cnt);
int __real_close(int fd);
int __wrap_close(int fd);
int __real_renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);
int __wrap_renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);
int __real_fcntl(int fd, int cmd, ...);
int __wrap_fcntl(int fd, int cmd, ...);

void *__wrap_malloc(size_t n)
{
    return trip(&fail_malloc) ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return trip(&fail_calloc) ? NULL : __real_calloc(n, size);
}

void *__wrap_aligned_alloc(size_t align, size_t n)
{
    return trip(&fail_aligned) ? NULL : __real_aligned_alloc(align, n);
}

int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg)
{
    return trip(&fail_thread) ? EAGAIN : __real_pthread_create(t, a, fn, arg);
}

int __wrap_openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    int mode = (flags & O_CREAT) ? va_arg(ap, int) : 0;
    va_end(ap);
    if (trip(&fail_openat)) {
        errno = atomic_load(&fault_errno);
        return -1;
    }
    return __real_openat(dirfd, path, flags, mode);
}

ssize_t __wrap_writev(int fd, const struct iovec *iov, int cnt)
{
    if (trip(&fail_writev)) {
        errno = atomic_load(&fault_errno);
        return -1;
    }
    if (atomic_load(&eintr_writev) > 0) {
        atomic_fetch_sub(&eintr_writev, 1);
        errno = EINTR;
        return -1;
    }
    if (atomic_load(&short_writev) > 0 && cnt > 0 && iov[0].iov_len > 1) {
        atomic_fetch_sub(&short_writev, 1);
        struct iovec one = {iov[0].iov_base, 1};
        return __real_writev(fd, &one, 1);
    }
    return __real_writev(fd, iov, cnt);
}

int __wrap_close(int fd)
{
    if (trip(&fail_close)) {
        __real_close(fd); /* the descriptor is gone, as after a real EIO from close */
        errno = atomic_load(&fault_errno);
        return -1;
    }
    return __real_close(fd);
}

int __wrap_renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
    if (trip(&fail_renameat)) {
        errno = atomic_load(&fault_errno);
        return -1;
    }
    return __real_renameat(olddirfd, oldpath, newdirfd, newpath);
}

int __wrap_fcntl(int fd, int cmd, ...)
{
    /* The lock commands take a pointer; every other one io/ and this test use, an int or none. */
    bool ptr = cmd == F_GETLK || cmd == F_SETLK || cmd == F_SETLKW || cmd == F_OFD_GETLK ||
               cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW;
    va_list ap;
    va_start(ap, cmd);
    void *p = ptr ? va_arg(ap, void *) : NULL;
    int arg = ptr ? 0 : va_arg(ap, int);
    va_end(ap);
    if (trip(&fail_fcntl)) {
        errno = atomic_load(&fault_errno);
        return -1;
    }
    return ptr ? __real_fcntl(fd, cmd, p) : __real_fcntl(fd, cmd, arg);
}

/*** Helpers ***/

typedef struct fixture {
    char dir[PATH_MAX], path[PATH_MAX];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    tu_mktemp(f->dir);
    tu_path(f->path, f->dir, "out.ndjson");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    disarm();
    tu_rm_rf(f->dir);
    free(f);
    return 0;
}

/* Nothing in the folder: neither the final file nor a temporary one. */
static void assert_empty(const fixture *f)
{
    assert_int_equal(tu_count_names(f->dir, ".tmp."), 0);
    assert_int_equal(access(f->path, F_OK), -1);
}

/* Put "0\n" .. "n-1\n" in reverse order. */
static void put_all(fmd_io_stream *s, size_t n)
{
    for (size_t i = n; i-- > 0;) {
        char line[32];
        int len = snprintf(line, sizeof line, "%zu\n", i);
        assert_int_equal(fmd_io_stream_put(s, i, line, (size_t)len), FMD_OK);
    }
}

static void assert_lines(const char *path, size_t n)
{
    size_t len = 0;
    char *text = tu_read(path, &len);
    assert_non_null(text);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        char line[32];
        int l = snprintf(line, sizeof line, "%zu\n", i);
        assert_true(at + (size_t)l <= len);
        assert_memory_equal(text + at, line, (size_t)l);
        at += (size_t)l;
    }
    assert_int_equal(at, len);
    free(text);
}

static fmd_status drop_lines(const fmd_slice *lines, const size_t *index, size_t n, void *ud)
{
    (void)lines;
    (void)index;
    (void)n;
    (void)ud;
    return FMD_OK;
}

static void no_tick(bool last, void *ud)
{
    (void)last;
    (void)ud;
}

/*** Tests ***/

/* Each allocation of opening a stream fails in turn: the stream struct, the temporary name, the
 * slots; then the writer thread cannot start. Every one is FMD_E_NOMEM with nothing left. */
static void test_stream_open_nomem(void **state)
{
    fixture *f = *state;
    fmd_io_stream *s = NULL;
    atomic_store(&fail_calloc, 1);
    assert_int_equal(fmd_io_stream_open_path(&s, f->path, 4, NULL), FMD_E_NOMEM);
    assert_null(s);
    atomic_store(&fail_malloc, 1); /* the temporary name */
    assert_int_equal(fmd_io_stream_open_path(&s, f->path, 4, NULL), FMD_E_NOMEM);
    atomic_store(&fail_calloc, 2); /* the slots, once the temporary file exists */
    assert_int_equal(fmd_io_stream_open_path(&s, f->path, 4, NULL), FMD_E_NOMEM);
    assert_empty(f);
    atomic_store(&fail_thread, 1);
    assert_int_equal(fmd_io_stream_open_path(&s, f->path, 4, NULL), FMD_E_NOMEM);
    assert_empty(f);
    assert_null(s);

    fmd_io_out *o = NULL;
    assert_int_equal(fmd_io_out_open(f->dir, &o, NULL), FMD_OK);
    atomic_store(&fail_calloc, 1);
    assert_int_equal(fmd_io_stream_open_file(&s, o, "out.ndjson", 4, NULL), FMD_E_NOMEM);
    atomic_store(&fail_thread, 1);
    assert_int_equal(fmd_io_stream_open_file(&s, o, "out.ndjson", 4, NULL), FMD_E_NOMEM);
    assert_empty(f);
    /* The output directory cannot be duplicated (EMFILE): the file cannot be created. */
    atomic_store(&fault_errno, EMFILE);
    atomic_store(&fail_fcntl, 1);
    int err = 0;
    assert_int_equal(fmd_io_stream_open_file(&s, o, "out.ndjson", 4, &err), FMD_E_CANTCREATE);
    assert_int_equal(err, EMFILE);
    fmd_io_out_close(o);

    fmd_io_stream_sink sink = {.write = NULL};
    assert_int_equal(fmd_io_stream_open_sink(&s, 4, NULL, NULL), FMD_E_USAGE);
    assert_int_equal(fmd_io_stream_open_sink(&s, 4, &sink, NULL), FMD_E_USAGE);
    sink.write = drop_lines;
    sink.tick = no_tick; /* a tick needs an interval */
    assert_int_equal(fmd_io_stream_open_sink(&s, 4, &sink, NULL), FMD_E_USAGE);
    sink.tick = NULL;
    atomic_store(&fail_calloc, 1);
    assert_int_equal(fmd_io_stream_open_sink(&s, 4, &sink, NULL), FMD_E_NOMEM);
    atomic_store(&fail_calloc, 2);
    assert_int_equal(fmd_io_stream_open_sink(&s, 4, &sink, NULL), FMD_E_NOMEM);
    disarm();
    assert_null(s);
    assert_empty(f);
}

/* The temporary file cannot be created (EACCES), or every one of its names is taken. */
static void test_stream_open_tmp_fails(void **state)
{
    fixture *f = *state;
    fmd_io_stream *s = NULL;
    int err = 0;
    atomic_store(&fault_errno, EACCES);
    atomic_store(&fail_openat, 1);
    assert_int_equal(fmd_io_stream_open_path(&s, f->path, 1, &err), FMD_E_CANTCREATE);
    assert_int_equal(err, EACCES);
    atomic_store(&fault_errno, EEXIST);
    atomic_store(&fail_openat, -1);
    assert_int_equal(fmd_io_stream_open_path(&s, f->path, 1, &err), FMD_E_CANTCREATE);
    assert_int_equal(err, EEXIST);
    disarm();
    assert_empty(f);
    /* A directory in the way, and a parent that does not exist. */
    tu_mkdir(f->dir, "out.ndjson");
    assert_int_equal(fmd_io_stream_open_path(&s, f->path, 1, &err), FMD_E_CANTCREATE);
    assert_int_equal(err, EISDIR);
    char p[PATH_MAX];
    assert_int_equal(fmd_io_stream_open_path(&s, tu_path(p, f->dir, "no/out.ndjson"), 1, &err),
                     FMD_E_CANTCREATE);
    assert_int_equal(err, ENOENT);
    assert_null(s);
}

/* writev fails (ENOSPC): close returns FMD_E_IO with the errno, the lines after it are dropped,
 * and neither the temporary file nor the final file is left. */
static void test_stream_writev_fails(void **state)
{
    fixture *f = *state;
    fmd_io_stream *s = NULL;
    assert_int_equal(fmd_io_stream_open_path(&s, f->path, 3, NULL), FMD_OK);
    atomic_store(&fault_errno, ENOSPC);
    atomic_store(&fail_writev, 1);
    put_all(s, 3);
    int err = 0;
    assert_int_equal(fmd_io_stream_close(s, &err), FMD_E_IO);
    assert_int_equal(err, ENOSPC);
    assert_empty(f);
}

/* A write cut short, or interrupted by a signal, goes on where it stopped: every byte arrives. */
static void test_stream_short_and_interrupted_writes(void **state)
{
    fixture *f = *state;
    fmd_io_stream *s = NULL;
    assert_int_equal(fmd_io_stream_open_path(&s, f->path, 200, NULL), FMD_OK);
    atomic_store(&short_writev, 3);
    atomic_store(&eintr_writev, 2);
    put_all(s, 200);
    int err = -1;
    assert_int_equal(fmd_io_stream_close(s, &err), FMD_OK);
    assert_int_equal(err, 0);
    assert_int_equal(atomic_load(&eintr_writev), 0);
    assert_lines(f->path, 200);
}

/* close() of the temporary file fails (EIO, as NFS reports a lost write), then rename fails
 * (EXDEV): both are FMD_E_IO with the errno, and the temporary file is removed. */
static void test_stream_close_and_rename_fail(void **state)
{
    fixture *f = *state;
    fmd_io_stream *s = NULL;
    int err = 0;
    assert_int_equal(fmd_io_stream_open_path(&s, f->path, 2, NULL), FMD_OK);
    put_all(s, 2);
    atomic_store(&fault_errno, EIO);
    atomic_store(&fail_close, 1);
    assert_int_equal(fmd_io_stream_close(s, &err), FMD_E_IO);
    assert_int_equal(err, EIO);
    assert_empty(f);

    assert_int_equal(fmd_io_stream_open_path(&s, f->path, 2, NULL), FMD_OK);
    put_all(s, 2);
    atomic_store(&fault_errno, EXDEV);
    atomic_store(&fail_renameat, 1);
    assert_int_equal(fmd_io_stream_close(s, &err), FMD_E_IO);
    assert_int_equal(err, EXDEV);
    assert_empty(f);

    /* Inside an output directory: the same through open_file's descriptor. */
    fmd_io_out *o = NULL;
    assert_int_equal(fmd_io_out_open(f->dir, &o, NULL), FMD_OK);
    assert_int_equal(fmd_io_stream_open_file(&s, o, "out.ndjson", 2, NULL), FMD_OK);
    put_all(s, 2);
    atomic_store(&fail_renameat, 1);
    assert_int_equal(fmd_io_stream_close(s, &err), FMD_E_IO);
    assert_int_equal(err, EXDEV);
    assert_empty(f);
    assert_int_equal(fmd_io_stream_open_file(&s, o, "out.ndjson", 2, NULL), FMD_OK);
    put_all(s, 2);
    assert_int_equal(fmd_io_stream_close(s, &err), FMD_OK);
    fmd_io_out_close(o);
    assert_lines(f->path, 2);
}

/* A line that cannot be allocated is FMD_E_NOMEM (the stream goes on); so is a lane's first
 * block, and the lanes themselves. Indexes out of range are refused. */
static void test_stream_put_fails(void **state)
{
    fixture *f = *state;
    fmd_io_stream *s = NULL;
    assert_int_equal(fmd_io_stream_open_path(&s, f->path, 2, NULL), FMD_OK);
    atomic_store(&fail_malloc, 1);
    assert_int_equal(fmd_io_stream_put(s, 0, "0\n", 2), FMD_E_NOMEM);
    assert_int_equal(fmd_io_stream_put(s, 2, "2\n", 2), FMD_E_USAGE);
    char *owned = strdup("9\n");
    assert_int_equal(fmd_io_stream_put_owned(s, 2, owned, 2), FMD_E_USAGE);
    atomic_store(&fail_aligned, 1);
    assert_int_equal(fmd_io_stream_set_lanes(s, 1), FMD_E_NOMEM);
    assert_int_equal(fmd_io_stream_set_lanes(s, 1), FMD_OK);
    atomic_store(&fail_malloc, 1);
    assert_int_equal(fmd_io_stream_put_lane(s, 0, 0, "0\n", 2), FMD_E_NOMEM);
    assert_int_equal(fmd_io_stream_put_lane(s, 0, 0, "0\n", 2), FMD_OK);
    owned[0] = '1';
    assert_int_equal(fmd_io_stream_put_owned(s, 1, owned, 2), FMD_OK); /* the stream frees it */
    assert_int_equal(fmd_io_stream_close(s, NULL), FMD_OK);
    assert_lines(f->path, 2);
}

/* Closing with a line never put is a caller's bug: FMD_E_USAGE, and no file is left. */
static void test_stream_close_with_a_hole(void **state)
{
    fixture *f = *state;
    fmd_io_stream *s = NULL;
    assert_int_equal(fmd_io_stream_open_path(&s, f->path, 3, NULL), FMD_OK);
    assert_int_equal(fmd_io_stream_put(s, 0, "0\n", 2), FMD_OK);
    assert_int_equal(fmd_io_stream_put(s, 2, "2\n", 2), FMD_OK);
    int err = -1;
    assert_int_equal(fmd_io_stream_close(s, &err), FMD_E_USAGE);
    assert_int_equal(err, 0);
    assert_empty(f);
}

/* "-" writes to standard output (here a file put in its place), which close leaves open. */
static void test_stream_stdout(void **state)
{
    fixture *f = *state;
    int saved = dup(STDOUT_FILENO);
    assert_true(saved >= 0);
    int fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    assert_true(fd >= 0);
    assert_int_equal(dup2(fd, STDOUT_FILENO), STDOUT_FILENO);
    close(fd);
    fmd_io_stream *s = NULL;
    fmd_status st = fmd_io_stream_open_path(&s, "-", 5, NULL);
    if (st == FMD_OK) {
        put_all(s, 5);
        st = fmd_io_stream_close(s, NULL);
    }
    int still_open = fcntl(STDOUT_FILENO, F_GETFD);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    assert_int_equal(st, FMD_OK);
    assert_true(still_open >= 0);
    assert_lines(f->path, 5);
}

/* A link is written through, in place: the link stays a link, its target gets the lines (the
 * old, longer content truncated), and no temporary file is made. */
static void test_stream_through_a_link(void **state)
{
    fixture *f = *state;
    tu_write(f->dir, "target", "old content, longer than the lines\n");
    tu_symlink("target", f->dir, "out.ndjson");
    fmd_io_stream *s = NULL;
    assert_int_equal(fmd_io_stream_open_path(&s, f->path, 3, NULL), FMD_OK);
    put_all(s, 3);
    assert_int_equal(fmd_io_stream_close(s, NULL), FMD_OK);
    struct stat st;
    assert_int_equal(lstat(f->path, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    char p[PATH_MAX];
    assert_lines(tu_path(p, f->dir, "target"), 3);
    assert_int_equal(tu_count_names(f->dir, ".tmp."), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stream_open_nomem, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_open_tmp_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_writev_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_short_and_interrupted_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_close_and_rename_fail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_put_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_close_with_a_hole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_stdout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_through_a_link, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
