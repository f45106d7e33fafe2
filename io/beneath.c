/* SPDX-License-Identifier: MIT */
/* Pages read by path from beneath a root directory (fastmd serve's pages given by path): openat2
 * with RESOLVE_BENEATH where the kernel has it, else realpath and a prefix check. Reads whole
 * regular files into malloc'ed buffers; never parses them. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__linux__) && defined(SYS_openat2)
#include <linux/openat2.h>
#define HAVE_OPENAT2 1
#endif

#include "io_internal.h"

struct fmd_io_root {
    int fd;           /* O_DIRECTORY descriptor of the root */
    char *real;       /* realpath of the root, for the fallback without openat2 */
    size_t real_len;
    atomic_int no_openat2; /* set once openat2 answered ENOSYS */
};

fmd_status fmd_io_root_open(const char *dir, fmd_io_root **out, int *err)
{
    *out = NULL;
    *err = 0;
    fmd_io_root *root = calloc(1, sizeof *root);
    if (root == NULL)
        return FMD_E_NOMEM;
    root->fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root->fd < 0) {
        *err = errno;
        free(root);
        return FMD_E_NOINPUT;
    }
    root->real = realpath(dir, NULL);
    if (root->real == NULL) {
        *err = errno;
        close(root->fd);
        free(root);
        return *err == ENOMEM ? FMD_E_NOMEM : FMD_E_NOINPUT;
    }
    root->real_len = strlen(root->real);
    atomic_init(&root->no_openat2, 0);
    *out = root;
    return FMD_OK;
}

void fmd_io_root_close(fmd_io_root *root)
{
    if (root == NULL)
        return;
    close(root->fd);
    free(root->real);
    free(root);
}

#define OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

/* Open @p path beneath the root. Returns the descriptor, or -1 with *err set and *outside true
 * when the path leads out of the root. O_NONBLOCK: a FIFO must not hang the loader (it is then
 * refused as not a regular file). */
static int open_beneath(const fmd_io_root *root, const char *path, int *err, bool *outside)
{
    *outside = false;
    if (path[0] == '/') {
        *outside = true;
        *err = EXDEV;
        return -1;
    }
#ifdef HAVE_OPENAT2
    if (!atomic_load_explicit(&root->no_openat2, memory_order_relaxed)) {
        struct open_how how;
        memset(&how, 0, sizeof how);
        how.flags = OPEN_FLAGS;
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
        for (int attempt = 0; attempt < 8; attempt++) {
            long fd = syscall(SYS_openat2, root->fd, path, &how, sizeof how);
            if (fd >= 0)
                return (int)fd;
            int e = errno;
            /* EAGAIN: a concurrent rename made ".." resolution unsure; try again. */
            if (e == EAGAIN || e == EINTR)
                continue;
            if (e == EXDEV) {
                *outside = true;
                *err = e;
                return -1;
            }
            if (e != ENOSYS) {
                *err = e;
                return -1;
            }
            atomic_store_explicit((atomic_int *)&root->no_openat2, 1, memory_order_relaxed);
            break;
        }
    }
#endif
    /* Without openat2: resolve every link, then check the result is inside the root. A link
     * swapped between the check and the open is a race this fallback cannot close. */
    size_t n = strlen(path);
    char *full = malloc(root->real_len + n + 2);
    if (full == NULL) {
        *err = ENOMEM;
        return -1;
    }
    memcpy(full, root->real, root->real_len);
    full[root->real_len] = '/';
    memcpy(full + root->real_len + 1, path, n + 1);
    char *res = realpath(full, NULL);
    free(full);
    if (res == NULL) {
        *err = errno;
        return -1;
    }
    bool inside = strncmp(res, root->real, root->real_len) == 0 &&
                  (res[root->real_len] == '/' || res[root->real_len] == '\0' ||
                   (root->real_len == 1 && root->real[0] == '/'));
    if (!inside) {
        free(res);
        *outside = true;
        *err = EXDEV;
        return -1;
    }
    int fd = open(res, OPEN_FLAGS);
    *err = errno;
    free(res);
    return fd;
}

/* Read one page: open beneath the root, check it is a regular file within the limit, read it
 * whole into a malloc'ed buffer (with a NUL after it). */
fmd_status fmd_io_root_read(const fmd_io_root *root, const char *path, size_t max, char **buf,
                            size_t *len, int *err, bool *outside, bool *special)
{
    *buf = NULL;
    *len = 0;
    *err = 0;
    int fd = open_beneath(root, path, err, outside);
    if (fd < 0)
        return *err == ENOMEM ? FMD_E_NOMEM : FMD_E_NOINPUT;
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        *err = errno;
        close(fd);
        return FMD_E_IO;
    }
    if (!S_ISREG(sb.st_mode)) {
        *special = true;
        *err = S_ISDIR(sb.st_mode) ? EISDIR : 0;
        close(fd);
        return FMD_E_NOINPUT;
    }
    size_t size = (size_t)sb.st_size;
    if (size > max) {
        close(fd);
        return FMD_E_INPUT_LIMIT;
    }
    size_t cap = size + 1, got = 0;
    char *p = malloc(cap + 1);
    if (p == NULL) {
        close(fd);
        return FMD_E_NOMEM;
    }
    for (;;) {
        ssize_t r = read(fd, p + got, cap - got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            *err = errno;
            free(p);
            close(fd);
            return FMD_E_IO;
        }
        if (r == 0)
            break;
        got += (size_t)r;
        if (got > max) {
            free(p);
            close(fd);
            return FMD_E_INPUT_LIMIT;
        }
        if (got == cap) { /* it grew since fstat: keep reading */
            cap *= 2;
            char *np = realloc(p, cap + 1);
            if (np == NULL) {
                free(p);
                close(fd);
                return FMD_E_NOMEM;
            }
            p = np;
        }
    }
    close(fd); /* read-only: close cannot lose data */
    p[got] = '\0';
    *buf = p;
    *len = got;
    return FMD_OK;
}
