/* SPDX-License-Identifier: MIT */
/* Opening beneath a root without openat2 (the component-wise walk in io/beneath.c): paths with
 * "." and "..", relative and absolute symbolic links, chains and loops, errors, and a race in which
 * another thread flips a link between a directory inside the root and one outside it while this
 * thread reads through it 100,000 times with fmd_io_root_read (openat2 answered ENOSYS by a
 * wrapper, so the walk is the path taken): no read may return the outside file. */
#include "io_test_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/syscall.h>

#include "fmd_io.h"
#include "io_internal.h"

/* The kernel here has openat2; answer ENOSYS for it, as an older kernel or a seccomp profile
 * would, so that fmd_io_root_read takes the walk. Every other system call goes through. */
static atomic_long openat2_refused;
long __real_syscall(long number, ...);
long __wrap_syscall(long number, ...);
long __wrap_syscall(long number, ...)
{
    va_list ap;
    va_start(ap, number);
    long a[6];
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
#ifdef SYS_openat2
    if (number == SYS_openat2) {
        atomic_fetch_add(&openat2_refused, 1);
        errno = ENOSYS;
        return -1;
    }
#endif
    return __real_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

#define RACE_READS 100000

typedef struct fixture {
    char top[PATH_MAX]; /* mkdtemp: holds root/ and out/ */
    char root[PATH_MAX];
    int rootfd;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    tu_mktemp(f->top);
    tu_path(f->root, f->top, "root");
    assert_int_equal(mkdir(f->root, 0777), 0);
    tu_write(f->root, "in/page.md", "inside\n");
    tu_write(f->root, "sub/deep/x.md", "deep\n");
    tu_write(f->top, "out/page.md", "SECRET\n");
    char abs_out[PATH_MAX];
    tu_path(abs_out, f->top, "out");
    tu_symlink("in", f->root, "l_in");
    tu_symlink("../out", f->root, "l_up");
    tu_symlink(abs_out, f->root, "l_abs");
    tu_symlink("page.md", f->root, "in/l_file");
    tu_symlink("../in/page.md", f->root, "in/l_dotdot");
    tu_symlink("../../out/page.md", f->root, "in/l_esc");
    tu_symlink("chain2", f->root, "chain1");
    tu_symlink("l_in", f->root, "chain2");
    tu_symlink("loop_b", f->root, "loop_a");
    tu_symlink("loop_a", f->root, "loop_b");
    f->rootfd = open(f->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(f->rootfd >= 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    close(f->rootfd);
    tu_rm_rf(f->top);
    free(f);
    return 0;
}

/* Open @p path with the walk; on success return the file's first line in @p buf. */
static int walk_read(const fixture *f, const char *path, char *buf, size_t cap, bool *outside)
{
    int err = 0;
    int fd = fmd__io_open_beneath_walk(f->rootfd, path, O_RDONLY | O_CLOEXEC, &err, outside);
    if (fd < 0) {
        assert_int_not_equal(err, 0);
        return -err;
    }
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return 0;
}

static void expect_content(const fixture *f, const char *path, const char *want)
{
    char buf[64];
    bool outside = true;
    int rc = walk_read(f, path, buf, sizeof buf, &outside);
    if (rc != 0)
        fail_msg("%s: errno %d", path, -rc);
    assert_false(outside);
    assert_string_equal(buf, want);
}

static void expect_error(const fixture *f, const char *path, int want_errno, bool want_outside)
{
    char buf[64];
    bool outside = !want_outside;
    int rc = walk_read(f, path, buf, sizeof buf, &outside);
    if (rc != -want_errno)
        fail_msg("%s: got %d (%s), want -%d", path, rc, rc == 0 ? buf : "error", want_errno);
    assert_int_equal(outside, want_outside);
}

static void test_plain_paths(void **state)
{
    const fixture *f = *state;
    expect_content(f, "in/page.md", "inside\n");
    expect_content(f, "./in//page.md", "inside\n");
    expect_content(f, "in/../in/page.md", "inside\n");
    expect_content(f, "sub/deep/../../in/page.md", "inside\n");
    expect_content(f, "sub/deep/x.md", "deep\n");
}

static void test_leaving_the_root(void **state)
{
    const fixture *f = *state;
    expect_error(f, "../out/page.md", EXDEV, true);
    expect_error(f, "in/../../out/page.md", EXDEV, true);
    expect_error(f, "/etc/passwd", EXDEV, true);
    expect_error(f, "l_up/page.md", EXDEV, true);  /* a relative link out through ".." */
    expect_error(f, "l_abs/page.md", EXDEV, true); /* an absolute link */
    expect_error(f, "in/l_esc", EXDEV, true);      /* a last component that leads out */
}

static void test_links_inside(void **state)
{
    const fixture *f = *state;
    expect_content(f, "l_in/page.md", "inside\n");
    expect_content(f, "in/l_file", "inside\n");
    expect_content(f, "in/l_dotdot", "inside\n");
    expect_content(f, "chain1/page.md", "inside\n");
    expect_content(f, "chain1/../in/page.md", "inside\n"); /* ".." from where the link led */
}

static void test_errors(void **state)
{
    const fixture *f = *state;
    expect_error(f, "in/missing.md", ENOENT, false);
    expect_error(f, "", ENOENT, false);
    expect_error(f, "in/page.md/x", ENOTDIR, false);
    expect_error(f, "loop_a", ELOOP, false);
    expect_error(f, "loop_a/x", ELOOP, false);
    /* A directory opens (the caller's fstat refuses it), as openat2 would. */
    char buf[8];
    bool outside = true;
    int err = 0;
    int fd = fmd__io_open_beneath_walk(f->rootfd, "sub/deep/", O_RDONLY, &err, &outside);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    close(fd);
    (void)buf;
}

typedef struct flipper {
    const fixture *f;
    atomic_bool stop;
    long flips;
} flipper;

/* Flip root/flip between "in" and "../out" by renaming a fresh link over it, as fast as it can. */
static void *flip_main(void *arg)
{
    flipper *fl = arg;
    char tmp[PATH_MAX], dst[PATH_MAX];
    tu_path(tmp, fl->f->root, "flip.tmp");
    tu_path(dst, fl->f->root, "flip");
    bool out = false;
    while (!atomic_load(&fl->stop)) {
        out = !out;
        unlink(tmp);
        if (symlink(out ? "../out" : "in", tmp) != 0 || rename(tmp, dst) != 0)
            break;
        fl->flips++;
    }
    return NULL;
}

static void test_race_flipping_link(void **state)
{
    const fixture *f = *state;
    tu_symlink("in", f->root, "flip");
    flipper fl = {.f = f};
    atomic_init(&fl.stop, false);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, flip_main, &fl), 0);
    fmd_io_root *root = NULL;
    int err = 0;
    assert_int_equal(fmd_io_root_open(f->root, &root, &err), FMD_OK);
    long inside = 0, refused = 0, leaked = 0, other = 0;
    for (int i = 0; i < RACE_READS; i++) {
        char *buf = NULL;
        size_t len = 0;
        bool outside = false, special = false;
        fmd_status st =
            fmd_io_root_read(root, "flip/page.md", 1024, &buf, &len, &err, &outside, &special);
        if (st == FMD_OK && strcmp(buf, "SECRET\n") == 0)
            leaked++;
        else if (st == FMD_OK)
            inside++;
        else if (outside)
            refused++;
        else
            other++;
        free(buf);
    }
    fmd_io_root_close(root);
    atomic_store(&fl.stop, true);
    pthread_join(t, NULL);
    print_message("race: %ld reads inside, %ld refused as outside, %ld other, %ld leaked, "
                  "%ld flips\n",
                  inside, refused, other, leaked, fl.flips);
    assert_int_equal(leaked, 0);
#ifdef SYS_openat2
    assert_true(atomic_load(&openat2_refused) > 0); /* the reads took the walk */
#endif
    /* Both states were seen, so the race was really run. */
    assert_true(inside > 0);
    assert_true(refused > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_plain_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leaving_the_root, setup, teardown),
        cmocka_unit_test_setup_teardown(test_links_inside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_race_flipping_link, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
