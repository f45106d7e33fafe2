/* SPDX-License-Identifier: MIT */
/* Helpers the io/ tests share: build a temporary tree under a mkdtemp() directory, read files
 * back, and remove the tree. They abort the test (via cmocka asserts) on any set-up failure;
 * never call them from an OpenMP worker. */
#ifndef FMD_IO_TEST_UTIL_H
#define FMD_IO_TEST_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* <setjmp.h>, <stdarg.h> and <stddef.h> must come before cmocka.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

/** Make a fresh directory under TMPDIR (or /tmp) into @p buf (PATH_MAX bytes). */
static inline void tu_mktemp(char *buf)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(buf, PATH_MAX, "%s/fmd-io-test.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(buf));
}

/** root + "/" + rel into @p buf (PATH_MAX bytes); returns buf. */
static inline char *tu_path(char *buf, const char *root, const char *rel)
{
    int n = snprintf(buf, PATH_MAX, "%s/%s", root, rel);
    assert_true(n > 0 && n < PATH_MAX);
    return buf;
}

/** mkdir -p root/rel. */
static inline void tu_mkdir(const char *root, const char *rel)
{
    char p[PATH_MAX];
    tu_path(p, root, rel);
    for (char *s = p + strlen(root) + 1; *s; s++) {
        if (*s == '/') {
            *s = '\0';
            assert_true(mkdir(p, 0777) == 0 || errno == EEXIST);
            *s = '/';
        }
    }
    assert_true(mkdir(p, 0777) == 0 || errno == EEXIST);
}

/** Write @p len bytes to root/rel, creating its directories. */
static inline void tu_write_n(const char *root, const char *rel, const void *data, size_t len)
{
    char p[PATH_MAX];
    const char *slash = strrchr(rel, '/');
    if (slash != NULL) {
        char dir[PATH_MAX];
        memcpy(dir, rel, (size_t)(slash - rel));
        dir[slash - rel] = '\0';
        tu_mkdir(root, dir);
    }
    int fd = open(tu_path(p, root, rel), O_WRONLY | O_CREAT | O_TRUNC, 0666);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

static inline void tu_write(const char *root, const char *rel, const char *text)
{
    tu_write_n(root, rel, text, strlen(text));
}

/** A symbolic link root/rel whose content is @p target. */
static inline void tu_symlink(const char *target, const char *root, const char *rel)
{
    char p[PATH_MAX];
    assert_int_equal(symlink(target, tu_path(p, root, rel)), 0);
}

/** The bytes of @p path, malloc'ed and NUL-terminated, or NULL when it cannot be read. */
static inline char *tu_read(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    char *buf = malloc((size_t)st.st_size + 1);
    assert_non_null(buf);
    ssize_t n = read(fd, buf, (size_t)st.st_size);
    close(fd);
    assert_int_equal(n, st.st_size);
    buf[n] = '\0';
    if (len)
        *len = (size_t)n;
    return buf;
}

/** Number of entries under root (recursively) whose name contains @p needle. */
static inline size_t tu_count_names(const char *root, const char *needle)
{
    DIR *d = opendir(root);
    if (d == NULL)
        return 0;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (strstr(de->d_name, needle) != NULL)
            n++;
        char p[PATH_MAX];
        struct stat st;
        if (lstat(tu_path(p, root, de->d_name), &st) == 0 && S_ISDIR(st.st_mode))
            n += tu_count_names(p, needle);
    }
    closedir(d);
    return n;
}

/** rm -rf @p path (does not follow links). */
static inline void tu_rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        chmod(path, 0700);
        DIR *d = opendir(path);
        if (d != NULL) {
            struct dirent *de;
            while ((de = readdir(d)) != NULL) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                    continue;
                char p[PATH_MAX];
                tu_rm_rf(tu_path(p, path, de->d_name));
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

#endif
