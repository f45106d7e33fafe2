/* SPDX-License-Identifier: MIT */
/* Assets: every file under SRC that is not a page, copied into OUT beside the pages, and
 * recorded in OUT/.fastmd/assets so that a rebuild copies only what changed and removes only
 * the copies it made. It never reads a page and never follows a symbolic link out of SRC. */
#define _GNU_SOURCE /* copy_file_range, O_DIRECTORY, O_CLOEXEC, fdopendir */
#include "fmd_io_assets.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fmd_io.h"
#include "fmd_io_state.h"

/* Directories nested deeper than this under SRC are not searched (a bound on recursion). */
#define ASSETS_MAX_DEPTH 256
/* The record file's first line; a change of format makes old records unreadable, and then every
 * asset is copied again and no old copy is removed. */
#define ASSETS_HEADER "fastmd-assets 1\n"

typedef struct asset {
    char *path; /* relative to SRC and to OUT */
    char *real; /* NULL, or the resolved target of a symbolic link (inside SRC) */
    long long size, mtime_ns;
    unsigned long long ino;
    mode_t mode;
} asset;

typedef struct asset_list {
    asset *v;
    size_t n, cap;
} asset_list;

typedef struct walker {
    int srcfd;
    const char *src_real; /* realpath of SRC */
    dev_t out_dev;
    ino_t out_ino;
    asset_list found;
    fmd_io_assets_result *r;
} walker;

static fmd_status fail(fmd_io_assets_result *r, fmd_status st, int err, const char *what)
{
    r->err = err;
    snprintf(r->what, sizeof r->what, "%s", what);
    return st;
}

static bool ends_with_ci(const char *s, size_t n, const char *ext)
{
    size_t el = strlen(ext);
    return n >= el && strcasecmp(s + n - el, ext) == 0;
}

static bool is_page_name(const char *name)
{
    size_t n = strlen(name);
    return ends_with_ci(name, n, ".md") || ends_with_ci(name, n, ".markdown");
}

static fmd_status push(asset_list *l, asset a)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        asset *v = realloc(l->v, cap * sizeof *v);
        if (v == NULL)
            return FMD_E_NOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = a;
    return FMD_OK;
}

static void list_free(asset_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].path);
        free(l->v[i].real);
    }
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (p == NULL)
        return NULL;
    if (a != 0) {
        memcpy(p, dir, a);
        p[a++] = '/';
    }
    memcpy(p + a, name, b + 1);
    return p;
}

static long long mtime_ns(const struct stat *st)
{
    return (long long)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

/*** The walk ***/

/* A symbolic link @p rel: an asset when it resolves to a regular file inside SRC. */
static fmd_status take_link(walker *w, char *rel)
{
    char *full = join(w->src_real, rel);
    if (full == NULL)
        return FMD_E_NOMEM;
    char *real = realpath(full, NULL);
    free(full);
    size_t sl = strlen(w->src_real);
    struct stat st;
    if (real == NULL || strncmp(real, w->src_real, sl) != 0 || real[sl] != '/' ||
        stat(real, &st) != 0 || !S_ISREG(st.st_mode)) {
        free(real);
        free(rel);
        w->r->skipped++;
        return FMD_OK;
    }
    asset a = {rel,       real, (long long)st.st_size, mtime_ns(&st), (unsigned long long)st.st_ino,
               st.st_mode};
    fmd_status s = push(&w->found, a);
    if (s != FMD_OK) {
        free(rel);
        free(real);
    }
    return s;
}

static fmd_status walk_dir(walker *w, int dfd, const char *rel, int depth)
{
    int fd2 = dup(dfd);
    DIR *d = fd2 >= 0 ? fdopendir(fd2) : NULL;
    if (d == NULL) {
        if (fd2 >= 0)
            close(fd2);
        w->r->skipped++; /* an unreadable directory: its assets are not copied */
        return FMD_OK;
    }
    fmd_status st = FMD_OK;
    struct dirent *e;
    while (st == FMD_OK && (e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        struct stat sb;
        if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
            continue; /* gone since readdir */
        if (S_ISDIR(sb.st_mode)) {
            if ((sb.st_dev == w->out_dev && sb.st_ino == w->out_ino) || depth >= ASSETS_MAX_DEPTH) {
                w->r->skipped += depth >= ASSETS_MAX_DEPTH;
                continue; /* OUT inside SRC: never copy the output into itself */
            }
            int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            char *p = join(rel, name);
            if (p == NULL)
                st = FMD_E_NOMEM;
            else if (sub >= 0)
                st = walk_dir(w, sub, p, depth + 1);
            free(p);
            if (sub >= 0)
                close(sub);
            continue;
        }
        if (is_page_name(name))
            continue;
        if (strchr(name, '\n') != NULL || (!S_ISREG(sb.st_mode) && !S_ISLNK(sb.st_mode))) {
            w->r->skipped++; /* the record is one line per asset; FIFOs and devices are no asset */
            continue;
        }
        char *p = join(rel, name);
        if (p == NULL) {
            st = FMD_E_NOMEM;
        } else if (S_ISLNK(sb.st_mode)) {
            st = take_link(w, p);
        } else {
            asset a = {p,
                       NULL,
                       (long long)sb.st_size,
                       mtime_ns(&sb),
                       (unsigned long long)sb.st_ino,
                       sb.st_mode};
            st = push(&w->found, a);
            if (st != FMD_OK)
                free(p);
        }
    }
    closedir(d);
    return st;
}

static int cmp_asset(const void *a, const void *b)
{
    return strcmp(((const asset *)a)->path, ((const asset *)b)->path);
}

static const asset *find(const asset_list *l, const char *path)
{
    asset key = {(char *)path, NULL, 0, 0, 0, 0};
    return l->n ? bsearch(&key, l->v, l->n, sizeof *l->v, cmp_asset) : NULL;
}

/* Is @p path ("d/x.html") the output of a page of SRC ("d/x.md" or "d/x.markdown")? */
static bool page_output(int srcfd, const char *path)
{
    size_t n = strlen(path);
    if (n < 5 || strcmp(path + n - 5, ".html") != 0 || n + 5 > PATH_MAX)
        return false;
    char buf[PATH_MAX + 8];
    static const char *const exts[] = {".md", ".markdown"};
    for (size_t k = 0; k < 2; k++) {
        memcpy(buf, path, n - 5);
        strcpy(buf + n - 5, exts[k]);
        struct stat sb;
        if (fstatat(srcfd, buf, &sb, 0) == 0 && S_ISREG(sb.st_mode))
            return true;
    }
    return false;
}

/*** The record ***/

/* Parse OUT/.fastmd/assets: the header, then "size mtime_ns inode path\n" per asset. A line
 * that does not parse ends the record (a torn write): what it no longer lists is copied again. */
static fmd_status read_record(int statefd, asset_list *old)
{
    int fd = openat(statefd, FMD_IO_ASSETS_NAME, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return FMD_OK; /* a first build */
    fmd_arena *a = NULL;
    fmd_slice text = {NULL, 0};
    int err = 0;
    fmd_status st = fmd_arena_create(&a, 0);
    if (st == FMD_OK)
        st = fmd_io_fd_read(fd, (size_t)1 << 30, a, &text, &err);
    close(fd);
    if (st == FMD_OK && text.len >= sizeof ASSETS_HEADER - 1 &&
        memcmp(text.ptr, ASSETS_HEADER, sizeof ASSETS_HEADER - 1) == 0) {
        const char *p = text.ptr + sizeof ASSETS_HEADER - 1, *end = text.ptr + text.len;
        while (st == FMD_OK && p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            if (nl == NULL)
                break;
            asset x = {0};
            int used = 0;
            char line[64];
            size_t head = (size_t)(nl - p) < sizeof line - 1 ? (size_t)(nl - p) : sizeof line - 1;
            memcpy(line, p, head);
            line[head] = '\0';
            if (sscanf(line, "%lld %lld %llu %n", &x.size, &x.mtime_ns, &x.ino, &used) != 3 ||
                used == 0 || p + used >= nl)
                break;
            x.path = strndup(p + used, (size_t)(nl - p - used));
            if (x.path == NULL || (st = push(old, x)) != FMD_OK)
                free(x.path);
            p = nl + 1;
        }
        if (st == FMD_OK)
            qsort(old->v, old->n, sizeof *old->v, cmp_asset);
    }
    fmd_arena_destroy(a);
    return st == FMD_E_NOMEM ? st : FMD_OK;
}

static fmd_status write_record(int statefd, const asset_list *l, fmd_io_assets_result *r)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL)
        return fail(r, FMD_E_NOMEM, errno, FMD_IO_ASSETS_NAME);
    fputs(ASSETS_HEADER, f);
    for (size_t i = 0; i < l->n; i++)
        fprintf(f, "%lld %lld %llu %s\n", l->v[i].size, l->v[i].mtime_ns, l->v[i].ino,
                l->v[i].path);
    if (fclose(f) != 0) {
        free(text);
        return fail(r, FMD_E_NOMEM, errno, FMD_IO_ASSETS_NAME);
    }
    int err = 0;
    fmd_status st = fmd_io_file_write_atomic(statefd, FMD_IO_ASSETS_NAME, text, len, &err);
    free(text);
    return st == FMD_OK ? st : fail(r, st, err, FMD_IO_STATE_DIR "/" FMD_IO_ASSETS_NAME);
}

/*** Copying ***/

/* Create the directories of @p path (not its last component) under @p outfd. */
static int make_parents(int outfd, const char *path)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n >= sizeof buf)
        return ENAMETOOLONG;
    memcpy(buf, path, n + 1);
    for (char *s = strchr(buf, '/'); s != NULL; s = strchr(s + 1, '/')) {
        *s = '\0';
        if (mkdirat(outfd, buf, 0777) != 0 && errno != EEXIST)
            return errno;
        *s = '/';
    }
    return 0;
}

/* Copy @p in to @p out: a reflink when the file system shares blocks, else copy_file_range(),
 * else read and write. @return 0 or errno. */
static int copy_bytes(int in, int out, bool *cloned)
{
    *cloned = ioctl(out, FICLONE, in) == 0;
    if (*cloned)
        return 0;
    bool first = true;
    for (;;) {
        ssize_t k = copy_file_range(in, NULL, out, NULL, (size_t)1 << 30, 0);
        if (k == 0)
            return 0;
        if (k < 0 && first &&
            (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP))
            break; /* not here: plain reads and writes */
        if (k < 0)
            return errno;
        first = false;
    }
    char buf[1 << 16];
    for (;;) {
        ssize_t k = read(in, buf, sizeof buf);
        if (k == 0)
            return 0;
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        for (ssize_t off = 0; off < k;) {
            ssize_t w = write(out, buf + off, (size_t)(k - off));
            if (w < 0 && errno != EINTR)
                return errno;
            off += w > 0 ? w : 0;
        }
    }
}

static fmd_status copy_asset(int srcfd, int outfd, const asset *a, unsigned seq,
                             fmd_io_assets_result *r)
{
    int e = make_parents(outfd, a->path);
    if (e != 0)
        return fail(r, FMD_E_CANTCREATE, e, a->path);
    int in = a->real ? open(a->real, O_RDONLY | O_CLOEXEC)
                     : openat(srcfd, a->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0)
        return fail(r, FMD_E_IO, errno, a->path);
    char tmp[PATH_MAX];
    const char *slash = strrchr(a->path, '/');
    int dl = slash ? (int)(slash - a->path) + 1 : 0;
    int k = snprintf(tmp, sizeof tmp, "%.*s" FMD_IO_TMP_PREFIX "asset.%ld.%u", dl, a->path,
                     (long)getpid(), seq);
    if (k < 0 || (size_t)k >= sizeof tmp) {
        close(in);
        return fail(r, FMD_E_CANTCREATE, ENAMETOOLONG, a->path);
    }
    int out = openat(outfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                     (a->mode & 0777) | 0600);
    if (out < 0) {
        e = errno;
        close(in);
        return fail(r, FMD_E_CANTCREATE, e, a->path);
    }
    bool cloned = false;
    e = copy_bytes(in, out, &cloned);
    close(in);
    if (close(out) != 0 && e == 0)
        e = errno;
    if (e == 0 && renameat(outfd, tmp, outfd, a->path) != 0)
        e = errno;
    if (e != 0) {
        unlinkat(outfd, tmp, 0);
        return fail(r, FMD_E_IO, e, a->path);
    }
    r->copied++;
    r->cloned += cloned;
    return FMD_OK;
}

/*** The whole step ***/

fmd_status fmd_io_assets_sync(const char *src, const char *out, fmd_io_assets_result *r)
{
    static const fmd_io_assets_result zero = {0};
    *r = zero;
    fmd_status st = FMD_OK;
    asset_list old = {0};
    walker w = {.srcfd = -1, .r = r};
    int outfd = -1, statefd = -1;
    char *src_real = realpath(src, NULL);
    w.srcfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (src_real == NULL || w.srcfd < 0) {
        st = fail(r, FMD_E_NOINPUT, errno, ".");
        goto done;
    }
    w.src_real = src_real;
    outfd = open(out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    statefd = outfd >= 0 ? openat(outfd, FMD_IO_STATE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    struct stat os, ss;
    if (statefd < 0 || fstat(outfd, &os) != 0 || fstat(w.srcfd, &ss) != 0) {
        st = fail(r, FMD_E_CANTCREATE, errno, FMD_IO_STATE_DIR);
        goto done;
    }
    w.out_dev = os.st_dev;
    w.out_ino = os.st_ino;
    if (!(os.st_dev == ss.st_dev && os.st_ino == ss.st_ino)) /* OUT = SRC: no asset */
        st = walk_dir(&w, w.srcfd, "", 0);
    if (st == FMD_OK)
        st = read_record(statefd, &old);
    if (st != FMD_OK) {
        fail(r, st, 0, ".");
        goto done;
    }
    qsort(w.found.v, w.found.n, sizeof *w.found.v, cmp_asset);

    /* Copy what is new or changed; drop from the list what a page's output takes. */
    size_t keep = 0;
    for (size_t i = 0; i < w.found.n; i++) {
        asset *a = &w.found.v[i];
        if (page_output(w.srcfd, a->path)) {
            r->skipped++;
            free(a->path);
            free(a->real);
            continue;
        }
        w.found.v[keep++] = *a;
        a = &w.found.v[keep - 1];
        r->found++;
        const asset *o = find(&old, a->path);
        struct stat cs;
        if (o != NULL && o->size == a->size && o->mtime_ns == a->mtime_ns && o->ino == a->ino &&
            fstatat(outfd, a->path, &cs, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(cs.st_mode)) {
            r->unchanged++;
            continue;
        }
        st = copy_asset(w.srcfd, outfd, a, (unsigned)i, r);
        if (st != FMD_OK) {
            w.found.n = keep;
            goto done; /* the old record stays: nothing it names is forgotten */
        }
    }
    w.found.n = keep;

    /* Remove the copies of assets that are gone: only paths the last run recorded. */
    for (size_t i = 0; i < old.n; i++) {
        if (find(&w.found, old.v[i].path) != NULL || page_output(w.srcfd, old.v[i].path))
            continue;
        if (unlinkat(outfd, old.v[i].path, 0) == 0)
            r->removed++;
        else if (errno != ENOENT) {
            st = fail(r, FMD_E_IO, errno, old.v[i].path);
            goto done;
        }
    }
    st = write_record(statefd, &w.found, r);

done:
    list_free(&old);
    list_free(&w.found);
    if (w.srcfd >= 0)
        close(w.srcfd);
    if (outfd >= 0)
        close(outfd);
    if (statefd >= 0)
        close(statefd);
    free(src_real);
    return st;
}
