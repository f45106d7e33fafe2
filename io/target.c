/* SPDX-License-Identifier: MIT */
/* Output paths that the user names (--ndjson FILE, --summary-json FILE, bench --json FILE, and the
 * manifest inside OUT): how each is written. A missing path or a regular file is replaced
 * atomically, through a temporary file and a rename. Anything else that exists is written through
 * in place and never renamed over: a device (/dev/null, /dev/full), a FIFO, a socket, or a
 * symbolic link (the link stays; its target is written). Renaming over such a path would replace
 * a file fastmd did not create, such as the system's /dev/null. */
#include "io_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Whether the directory that would hold @p path exists (else *e says why not). */
static bool parent_is_dir(int dirfd, const char *path, int *e)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return true; /* dirfd itself */
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char dir[PATH_MAX];
    if (n >= sizeof dir) {
        *e = ENAMETOOLONG;
        return false;
    }
    memcpy(dir, path, n);
    dir[n] = '\0';
    struct stat st;
    if (fstatat(dirfd, dir, &st, 0) != 0) {
        *e = errno;
        return false;
    }
    if (!S_ISDIR(st.st_mode)) {
        *e = ENOTDIR;
        return false;
    }
    return true;
}

fmd_status fmd_io_target_classify(int dirfd, const char *path, fmd_io_target_kind *kind, int *err)
{
    if (err)
        *err = 0;
    if (path == NULL || kind == NULL || path[0] == '\0')
        return FMD_E_USAGE;
    if (strcmp(path, "-") == 0) {
        *kind = FMD_IO_TARGET_STDOUT;
        return FMD_OK;
    }
    struct stat st;
    if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        int e = errno;
        if (e == ENOENT && parent_is_dir(dirfd, path, &e)) {
            *kind = FMD_IO_TARGET_REPLACE; /* a new file in a directory that exists */
            return FMD_OK;
        }
        if (err)
            *err = e;
        return FMD_E_CANTCREATE;
    }
    if (S_ISDIR(st.st_mode)) {
        if (err)
            *err = EISDIR;
        return FMD_E_CANTCREATE;
    }
    if (S_ISLNK(st.st_mode)) {
        /* A link to a directory cannot be written either; any other link is written through. */
        if (fstatat(dirfd, path, &st, 0) == 0 && S_ISDIR(st.st_mode)) {
            if (err)
                *err = EISDIR;
            return FMD_E_CANTCREATE;
        }
        *kind = FMD_IO_TARGET_THROUGH;
        return FMD_OK;
    }
    *kind = S_ISREG(st.st_mode) ? FMD_IO_TARGET_REPLACE : FMD_IO_TARGET_THROUGH;
    return FMD_OK;
}

fmd_status fmd_io_target_open_through(int dirfd, const char *path, int *fd, int *err)
{
    if (err)
        *err = 0;
    /* O_CREAT only matters for a dangling link (its target is created); O_NOCTTY keeps a
     * terminal from becoming the controlling one. No O_TRUNC: it is undefined for devices. */
    int f = openat(dirfd, path, O_WRONLY | O_CREAT | O_NOCTTY | O_CLOEXEC, 0666);
    if (f < 0) {
        if (err)
            *err = errno;
        return FMD_E_CANTCREATE;
    }
    struct stat st;
    if (fstat(f, &st) == 0 && S_ISREG(st.st_mode) && ftruncate(f, 0) != 0) {
        if (err)
            *err = errno;
        close(f);
        return FMD_E_IO;
    }
    *fd = f;
    return FMD_OK;
}

fmd_status fmd_io_output_write(int dirfd, const char *path, const void *data, size_t len, int *err)
{
    fmd_io_target_kind kind;
    fmd_status st = fmd_io_target_classify(dirfd, path, &kind, err);
    if (st != FMD_OK)
        return st;
    if (kind == FMD_IO_TARGET_REPLACE)
        return fmd_io_file_write_atomic(dirfd, path, data, len, err);
    int fd = STDOUT_FILENO;
    if (kind == FMD_IO_TARGET_THROUGH) {
        st = fmd_io_target_open_through(dirfd, path, &fd, err);
        if (st != FMD_OK)
            return st;
    }
    int e = fmd__io_write_all(fd, data, len);
    if (kind == FMD_IO_TARGET_THROUGH) {
        if (close(fd) != 0 && e == 0)
            e = errno; /* a full disk or NFS may report a failed write only here */
    }
    if (err)
        *err = e;
    return e == 0 ? FMD_OK : FMD_E_IO;
}
