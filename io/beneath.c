/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* O_PATH */
/* Pages read by path from beneath a root directory (fastmd serve's pages given by path): openat2
 * with RESOLVE_BENEATH where the kernel has it, else a walk one component at a time that resolves
 * symbolic links by hand and never lets the kernel follow one. Reads whole regular files into
 * malloc'ed buffers; never parses them. */
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
    int fd;                /* O_DIRECTORY descriptor of the root */
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
    atomic_init(&root->no_openat2, 0);
    *out = root;
    return FMD_OK;
}

void fmd_io_root_close(fmd_io_root *root)
{
    if (root == NULL)
        return;
    close(root->fd);
    free(root);
}

#define OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

/*** The walk without openat2 ***/

/* Why by hand: realpath() followed by open() checks one path and opens another, so a link flipped
 * in between is followed out of the root. Here every open is relative to a directory descriptor
 * already held and carries O_NOFOLLOW, ".." pops our own stack of descriptors instead of asking
 * the kernel, and a link's text is spliced into the rest of the path. Nothing the walk opens can
 * lie outside the root, whatever changes on disk while it runs (a directory renamed out of the
 * root after it was opened is the one case left, as with openat2). */

#define WALK_MAX_LINKS 40 /* as the kernel's own limit: more is ELOOP */
#define WALK_MAX_RETRY 8  /* a name that keeps changing between open and readlink */

typedef struct walk {
    int *dirs; /* dirs[0] is the root (not ours); the rest are O_PATH descriptors we own */
    size_t depth, cap;
    char *rest; /* the path still to resolve */
    size_t rest_len;
} walk;

static void walk_free(walk *w)
{
    for (size_t i = 1; i <= w->depth; i++)
        close(w->dirs[i]);
    free(w->dirs);
    free(w->rest);
}

static int walk_push(walk *w, int fd)
{
    if (w->depth + 1 >= w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        int *d = realloc(w->dirs, cap * sizeof *d);
        if (d == NULL) {
            close(fd);
            return ENOMEM;
        }
        w->dirs = d;
        w->cap = cap;
    }
    w->dirs[++w->depth] = fd;
    return 0;
}

/* The rest of the path becomes @p link, '/', then what followed the link (from @p next on). */
static int walk_splice(walk *w, size_t next, const char *link, size_t link_len)
{
    size_t tail = w->rest_len - next;
    char *r = malloc(link_len + 1 + tail + 1);
    if (r == NULL)
        return ENOMEM;
    memcpy(r, link, link_len);
    r[link_len] = '/';
    memcpy(r + link_len + 1, w->rest + next, tail + 1);
    free(w->rest);
    w->rest = r;
    w->rest_len = link_len + 1 + tail;
    return 0;
}

/* Read the link @p name in @p dirfd. @return its length, or -1 with errno (EINVAL: not a link). */
static ssize_t walk_readlink(int dirfd, const char *name, char *buf, size_t cap)
{
    ssize_t n = readlinkat(dirfd, name, buf, cap);
    if (n >= 0 && (size_t)n >= cap) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return n;
}

int fmd__io_open_beneath_walk(int rootfd, const char *path, int flags, int *err, bool *outside)
{
    *outside = false;
    *err = 0;
    if (path[0] == '/') {
        *outside = true;
        *err = EXDEV;
        return -1;
    }
    walk w = {0};
    w.rest_len = strlen(path);
    w.rest = malloc(w.rest_len + 1);
    w.cap = 16;
    w.dirs = malloc(w.cap * sizeof *w.dirs);
    char *link = malloc(PATH_MAX);
    if (w.rest == NULL || w.dirs == NULL || link == NULL) {
        free(link);
        walk_free(&w);
        *err = ENOMEM;
        return -1;
    }
    memcpy(w.rest, path, w.rest_len + 1);
    w.dirs[0] = rootfd;
    int links = 0, retries = 0, fd = -1, e = ENOENT;
    size_t pos = 0;
    for (;;) {
        while (w.rest[pos] == '/')
            pos++;
        if (w.rest[pos] == '\0')
            break; /* an empty path: ENOENT */
        size_t end = pos;
        while (w.rest[end] != '/' && w.rest[end] != '\0')
            end++;
        size_t next = end;
        while (w.rest[next] == '/')
            next++;
        bool last = w.rest[next] == '\0';
        bool trailing_slash = next > end;
        char saved = w.rest[end];
        w.rest[end] = '\0';
        const char *name = w.rest + pos;
        int cur = w.dirs[w.depth];
        if (strcmp(name, ".") == 0) {
            w.rest[end] = saved;
            pos = next;
            if (last) { /* the directory itself: the caller's fstat sees what it is */
                if ((fd = openat(cur, ".", flags)) < 0)
                    e = errno;
                break;
            }
            continue;
        }
        if (strcmp(name, "..") == 0) {
            w.rest[end] = saved;
            if (w.depth == 0) {
                *outside = true;
                e = EXDEV;
                break;
            }
            close(w.dirs[w.depth--]);
            pos = next;
            if (last) {
                if ((fd = openat(w.dirs[w.depth], ".", flags)) < 0)
                    e = errno;
                break;
            }
            continue;
        }
        int o = last ? (flags | O_NOFOLLOW | (trailing_slash ? O_DIRECTORY : 0))
                     : (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int got = openat(cur, name, o);
        if (got >= 0) {
            w.rest[end] = saved;
            if (last) {
                fd = got;
                break;
            }
            if ((e = walk_push(&w, got)) != 0)
                break;
            pos = next;
            retries = 0;
            continue;
        }
        int oe = errno;
        if (oe != ELOOP && oe != ENOTDIR) {
            w.rest[end] = saved;
            e = oe;
            break;
        }
        /* A symbolic link (or, for ENOTDIR, maybe a plain file): read it. */
        ssize_t n = walk_readlink(cur, name, link, PATH_MAX);
        w.rest[end] = saved;
        if (n < 0) {
            if (errno == EINVAL && oe == ENOTDIR) {
                e = ENOTDIR; /* a file where a directory was needed */
                break;
            }
            if (errno == EINVAL && ++retries <= WALK_MAX_RETRY)
                continue; /* it stopped being a link in between: open it again */
            e = errno == EINVAL ? ELOOP : errno;
            break;
        }
        if (++links > WALK_MAX_LINKS) {
            e = ELOOP;
            break;
        }
        if (n == 0 || link[0] == '/') { /* absolute links leave the root, as RESOLVE_BENEATH says */
            *outside = n != 0;
            e = n == 0 ? ENOENT : EXDEV;
            break;
        }
        if ((e = walk_splice(&w, next, link, (size_t)n)) != 0)
            break;
        /* A link named last with no trailing slash must not gain one: drop the added '/'. */
        if (last && !trailing_slash) {
            w.rest_len--;
            w.rest[w.rest_len] = '\0';
        }
        pos = 0;
    }
    free(link);
    walk_free(&w);
    if (fd < 0)
        *err = e;
    return fd;
}

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
    /* Without openat2: walk the path one component at a time from the root's descriptor. */
    return fmd__io_open_beneath_walk(root->fd, path, OPEN_FLAGS, err, outside);
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
