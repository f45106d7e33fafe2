/* SPDX-License-Identifier: MIT */
/* Shards of one build (fmd_io_shard.h): the partition by bytes, each shard's folder under
 * OUT/.fastmd/ with its "done" record, and the merge of the partial manifests. It never reads a
 * page's bytes and never parses Markdown; the options digest and the SRC hash come from the
 * caller. */
#define _GNU_SOURCE /* O_DIRECTORY, O_CLOEXEC, fdopendir */
#include "io_internal.h"
#include "fmd_io_shard.h"
#include "fmd_io_state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The "done" record's first line; a change of its format makes older records unfinished. */
#define DONE_MAGIC "fastmd-shard 1"
/* The merged manifest is copied through a buffer of this size. */
#define COPY_BYTES ((size_t)1 << 20)

/*** The partition ***/

/* Exact integer arithmetic for the partition, wide enough that no SRC overflows it: a float would
 * round differently on different machines, and two machines must cut the same shards. */
__extension__ typedef unsigned __int128 wide;

fmd_status fmd_io_shard_range(const size_t *sizes, size_t n_pages, unsigned k, unsigned n,
                              size_t *first, size_t *count)
{
    *first = 0;
    *count = 0;
    if (n == 0 || n > FMD_IO_SHARD_MAX || k == 0 || k > n)
        return FMD_E_USAGE;
    wide total = 0;
    for (size_t i = 0; i < n_pages; i++)
        total += (wide)sizes[i] + FMD_IO_SHARD_PAGE_BYTES;
    /* Page i goes to shard floor(n * (2 P_i + w_i) / (2 W)) (0-based): where its midpoint falls. */
    wide prefix = 0;
    size_t lo = n_pages, hi = n_pages;
    for (size_t i = 0; i < n_pages; i++) {
        wide w = (wide)sizes[i] + FMD_IO_SHARD_PAGE_BYTES;
        wide s = (wide)n * (2 * prefix + w) / (2 * total);
        unsigned shard = s >= n ? n - 1 : (unsigned)s;
        if (shard >= k - 1 && lo == n_pages)
            lo = i;
        if (shard >= k) {
            hi = i;
            break;
        }
        prefix += w;
    }
    *first = lo;
    *count = hi - lo;
    return FMD_OK;
}

fmd_status fmd_io_batch_keep(fmd_io_batch *b, size_t first, size_t count)
{
    if (first > b->n_pages || count > b->n_pages - first)
        return FMD_E_USAGE;
    if (first != 0 && count != 0) {
        /* A page's private source fields live beside it, at the same index: move both. */
        memmove(b->pages, b->pages + first, count * sizeof *b->pages);
        memmove(b->srcs, b->srcs + first, count * sizeof *b->srcs);
    }
    b->n_pages = count;
    return FMD_OK;
}

/*** A shard's folder ***/

struct fmd_io_shard {
    int parent; /* OUT/.fastmd */
    int lockfd; /* OUT/.fastmd/lock, shared flock */
    int dirfd;  /* OUT/.fastmd/shard-K-of-N */
    char name[48];
    char manifest[96];
};

/* Open (creating it) directory @p name under @p at. */
static int open_dir(int at, const char *name, bool create, int *err)
{
    if (create && mkdirat(at, name, 0777) != 0 && errno != EEXIST) {
        *err = errno;
        return -1;
    }
    int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        *err = errno;
    return fd;
}

/* Open OUT/.fastmd/lock (creating it) and flock it with @p how, retrying on EINTR. */
static int lock_top(int parent, int how, int *err)
{
    int fd = openat(parent, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (fd < 0) {
        *err = errno;
        return -1;
    }
    int rc;
    do
        rc = flock(fd, how);
    while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        *err = errno;
        close(fd);
        return -1;
    }
    return fd;
}

fmd_status fmd_io_shard_open(int out_dirfd, unsigned k, unsigned n, bool wait, fmd_io_shard **out,
                             int *err)
{
    *out = NULL;
    *err = 0;
    if (n == 0 || n > FMD_IO_SHARD_MAX || k == 0 || k > n)
        return FMD_E_USAGE;
    fmd_io_shard *s = calloc(1, sizeof *s);
    if (s == NULL)
        return FMD_E_NOMEM;
    s->parent = s->lockfd = s->dirfd = -1;
    snprintf(s->name, sizeof s->name, "shard-%u-of-%u", k, n);
    snprintf(s->manifest, sizeof s->manifest, "%s/%s/%s", FMD_IO_STATE_DIR, s->name,
             FMD_IO_MANIFEST_NAME);
    fmd_status st = FMD_E_CANTCREATE;
    s->parent = open_dir(out_dirfd, FMD_IO_STATE_DIR, true, err);
    if (s->parent < 0)
        goto fail;
    s->lockfd = lock_top(s->parent, LOCK_SH | (wait ? 0 : LOCK_NB), err);
    if (s->lockfd < 0) {
        st = *err == EWOULDBLOCK ? FMD_E_IO : FMD_E_CANTCREATE;
        goto fail;
    }
    s->dirfd = open_dir(s->parent, s->name, true, err);
    if (s->dirfd < 0)
        goto fail;
    *out = s;
    return FMD_OK;
fail:
    fmd_io_shard_close(s);
    return st;
}

int fmd_io_shard_parent_fd(const fmd_io_shard *s)
{
    return s->parent;
}

const char *fmd_io_shard_name(const fmd_io_shard *s)
{
    return s->name;
}

const char *fmd_io_shard_manifest(const fmd_io_shard *s)
{
    return s->manifest;
}

fmd_status fmd_io_shard_unpublish(fmd_io_shard *s, int *err)
{
    *err = 0;
    if (unlinkat(s->dirfd, "done", 0) != 0 && errno != ENOENT) {
        *err = errno;
        return FMD_E_IO;
    }
    return FMD_OK;
}

fmd_status fmd_io_shard_publish(fmd_io_shard *s, const fmd_io_shard_info *info, int *err)
{
    *err = 0;
    struct stat sb;
    if (fstatat(s->dirfd, FMD_IO_MANIFEST_NAME, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
        *err = errno;
        return FMD_E_NOINPUT;
    }
    char text[512];
    int len = snprintf(text, sizeof text,
                       DONE_MAGIC "\nversion %s\ndigest %s\nsource %s\nshard %u %u\n"
                                  "pages %" PRIu64 " %" PRIu64 "\nmanifest %" PRIu64 "\n",
                       info->version, info->digest, info->list, info->k, info->n, info->pages,
                       info->all_pages, (uint64_t)sb.st_size);
    if (len <= 0 || (size_t)len >= sizeof text)
        return FMD_E_USAGE;
    return fmd_io_file_write_atomic(s->dirfd, "done", text, (size_t)len, err);
}

/* Remove the partial manifest's temporary files (".manifest.ndjson.tmp.*") in folder @p dfd. */
static fmd_status remove_manifest_tmps(int dfd, size_t *removed)
{
    static const char prefix[] = "." FMD_IO_MANIFEST_NAME ".tmp.";
    int fd = dup(dfd);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return FMD_E_IO;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strncmp(de->d_name, prefix, sizeof prefix - 1) == 0 &&
            unlinkat(dfd, de->d_name, 0) == 0)
            (*removed)++;
    closedir(d);
    return FMD_OK;
}

fmd_status fmd_io_shard_leftovers_remove(fmd_io_shard *s, size_t *removed)
{
    return remove_manifest_tmps(s->dirfd, removed);
}

void fmd_io_shard_close(fmd_io_shard *s)
{
    if (s == NULL)
        return;
    if (s->dirfd >= 0)
        close(s->dirfd);
    if (s->lockfd >= 0)
        close(s->lockfd); /* releases the shared lock */
    if (s->parent >= 0)
        close(s->parent);
    free(s);
}

/*** The merge ***/

/* Read shard @p k of @p n's "done" record into @p info. Returns false when it is missing or does
 * not parse (an unfinished shard). */
static bool read_done(int parent, unsigned k, unsigned n, fmd_io_shard_info *info)
{
    char path[96];
    snprintf(path, sizeof path, "shard-%u-of-%u/done", k, n);
    int fd = openat(parent, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return false;
    char text[512];
    ssize_t got = read(fd, text, sizeof text - 1);
    close(fd);
    if (got <= 0)
        return false;
    text[got] = '\0';
    memset(info, 0, sizeof *info);
    int used = 0;
    int m = sscanf(text,
                   DONE_MAGIC "\nversion %63s\ndigest %32s\nsource %32s\nshard %u %u\n"
                              "pages %" SCNu64 " %" SCNu64 "\nmanifest %" SCNu64 "\n%n",
                   info->version, info->digest, info->list, &info->k, &info->n, &info->pages,
                   &info->all_pages, &info->manifest_bytes, &used);
    return m == 8 && used == got && info->k == k && info->n == n;
}

/* The shard counts N of the folders "shard-K-of-N" in OUT/.fastmd/: the only one in *n, or 0
 * with the list in @p counts when there are several. */
static fmd_status find_count(int parent, unsigned *n, char *counts, size_t counts_len)
{
    int fd = dup(parent);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return FMD_E_IO;
    }
    unsigned seen[8];
    size_t n_seen = 0, more = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        unsigned k = 0, c = 0;
        int used = 0;
        if (sscanf(de->d_name, "shard-%u-of-%u%n", &k, &c, &used) != 2 ||
            de->d_name[used] != '\0' || c == 0 || c > FMD_IO_SHARD_MAX)
            continue;
        bool known = false;
        for (size_t i = 0; i < n_seen; i++)
            known = known || seen[i] == c;
        if (known)
            continue;
        if (n_seen < sizeof seen / sizeof seen[0])
            seen[n_seen++] = c;
        else
            more++;
    }
    closedir(d);
    *n = n_seen == 1 ? seen[0] : 0;
    counts[0] = '\0';
    size_t at = 0;
    for (size_t i = 0; i < n_seen && at < counts_len; i++)
        at += (size_t)snprintf(counts + at, counts_len - at, "%s%u", i ? ", " : "", seen[i]);
    if (more && at < counts_len)
        snprintf(counts + at, counts_len - at, ", ...");
    return FMD_OK;
}

/* Refuse with @p problem about shard @p k. */
static fmd_status refuse(fmd_io_merge_result *r, fmd_io_merge_problem problem, unsigned k,
                         fmd_status st)
{
    r->problem = problem;
    r->shard = k;
    return st;
}

/* Append shard @p k's partial manifest to @p out_fd; its size must be @p bytes. */
static fmd_status copy_manifest(int parent, unsigned k, unsigned n, uint64_t bytes, int out_fd,
                                char *buf, fmd_io_merge_result *r)
{
    char path[96];
    snprintf(path, sizeof path, "shard-%u-of-%u/" FMD_IO_MANIFEST_NAME, k, n);
    int fd = openat(parent, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return refuse(r, FMD_IO_MERGE_DAMAGED, k, FMD_E_USAGE);
    uint64_t copied = 0;
    fmd_status st = FMD_OK;
    for (;;) {
        ssize_t got = read(fd, buf, COPY_BYTES);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            r->err = errno;
            r->what = path;
            st = FMD_E_IO;
            break;
        }
        if (got == 0)
            break;
        for (ssize_t i = 0; i < got; i++)
            r->pages += buf[i] == '\n';
        int e = fmd__io_write_all(out_fd, buf, (size_t)got);
        if (e != 0) {
            r->err = e;
            r->what = FMD_IO_MANIFEST_NAME;
            st = FMD_E_IO;
            break;
        }
        copied += (uint64_t)got;
    }
    close(fd);
    if (st == FMD_OK && copied != bytes)
        st = refuse(r, FMD_IO_MERGE_DAMAGED, k, FMD_E_USAGE);
    r->bytes += copied;
    return st;
}

/* Check every shard, then write the manifest through a temporary file. */
static fmd_status merge_locked(int out_fd, int parent, unsigned n, fmd_io_merge_result *r)
{
    fmd_io_shard_info first, info;
    for (unsigned k = 1; k <= n; k++) {
        char name[48];
        snprintf(name, sizeof name, "shard-%u-of-%u", k, n);
        struct stat sb;
        if (fstatat(parent, name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(sb.st_mode))
            return refuse(r, FMD_IO_MERGE_MISSING, k, FMD_E_NOINPUT);
        fmd_io_shard_info *in = k == 1 ? &first : &info;
        if (!read_done(parent, k, n, in))
            return refuse(r, FMD_IO_MERGE_UNFINISHED, k, FMD_E_NOINPUT);
        if (k == 1)
            continue;
        if (strcmp(info.version, first.version) != 0) {
            snprintf(r->found, sizeof r->found, "%s", info.version);
            snprintf(r->want, sizeof r->want, "%s", first.version);
            return refuse(r, FMD_IO_MERGE_VERSION, k, FMD_E_USAGE);
        }
        if (strcmp(info.digest, first.digest) != 0) {
            snprintf(r->found, sizeof r->found, "%s", info.digest);
            snprintf(r->want, sizeof r->want, "%s", first.digest);
            return refuse(r, FMD_IO_MERGE_OPTIONS, k, FMD_E_USAGE);
        }
        if (strcmp(info.list, first.list) != 0 || info.all_pages != first.all_pages)
            return refuse(r, FMD_IO_MERGE_SOURCE, k, FMD_E_USAGE);
    }
    /* Nothing runs (the lock is exclusive): every partial manifest's temporary file in a shard
     * folder is a killed run's. */
    for (unsigned k = 1; k <= n; k++) {
        char name[48];
        snprintf(name, sizeof name, "shard-%u-of-%u", k, n);
        int dfd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd >= 0) {
            remove_manifest_tmps(dfd, &r->leftovers);
            close(dfd);
        }
    }
    char *buf = malloc(COPY_BYTES);
    if (buf == NULL)
        return FMD_E_NOMEM;
    char tmp[64];
    snprintf(tmp, sizeof tmp, "." FMD_IO_MANIFEST_NAME ".tmp.%ld.m", (long)getpid());
    int fd = openat(out_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (fd < 0) {
        free(buf);
        r->err = errno;
        r->what = FMD_IO_MANIFEST_NAME;
        return FMD_E_CANTCREATE;
    }
    fmd_status st = FMD_OK;
    uint64_t pages = 0;
    for (unsigned k = 1; k <= n && st == FMD_OK; k++) {
        uint64_t bytes = 0;
        if (k == 1)
            bytes = first.manifest_bytes;
        else if (read_done(parent, k, n, &info))
            bytes = info.manifest_bytes;
        st = copy_manifest(parent, k, n, bytes, fd, buf, r);
        pages += k == 1 ? first.pages : info.pages;
    }
    free(buf);
    if (close(fd) != 0 && st == FMD_OK) {
        r->err = errno;
        r->what = FMD_IO_MANIFEST_NAME;
        st = FMD_E_IO;
    }
    if (st == FMD_OK && (pages != first.all_pages || r->pages != pages))
        st = refuse(r, FMD_IO_MERGE_DAMAGED, 0, FMD_E_USAGE);
    if (st == FMD_OK && renameat(out_fd, tmp, out_fd, FMD_IO_MANIFEST_NAME) != 0) {
        r->err = errno;
        r->what = FMD_IO_MANIFEST_NAME;
        st = FMD_E_IO;
    }
    if (st != FMD_OK)
        unlinkat(out_fd, tmp, 0);
    return st;
}

fmd_status fmd_io_shard_merge(const char *out_dir, unsigned n, bool wait, fmd_io_merge_result *r)
{
    memset(r, 0, sizeof *r);
    int out_fd = open(out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (out_fd < 0) {
        r->err = errno;
        r->what = out_dir;
        return FMD_E_NOINPUT;
    }
    int err = 0;
    int parent = open_dir(out_fd, FMD_IO_STATE_DIR, false, &err);
    if (parent < 0) {
        close(out_fd);
        return refuse(r, FMD_IO_MERGE_NO_SHARDS, 0, FMD_E_NOINPUT);
    }
    fmd_status st = FMD_OK;
    /* Exclusive: no shard (shared holders) and no plain build (exclusive) runs meanwhile. */
    int lockfd = lock_top(parent, LOCK_EX | (wait ? 0 : LOCK_NB), &err);
    if (lockfd < 0) {
        st = err == EWOULDBLOCK ? refuse(r, FMD_IO_MERGE_LOCKED, 0, FMD_E_IO) : FMD_E_CANTCREATE;
        r->err = err;
        r->what = FMD_IO_STATE_DIR "/lock";
        goto done;
    }
    if (n == 0) {
        if (find_count(parent, &n, r->counts, sizeof r->counts) != FMD_OK) {
            r->err = errno;
            r->what = FMD_IO_STATE_DIR;
            st = FMD_E_IO;
            goto done;
        }
        if (n == 0) {
            st = r->counts[0] != '\0' ? refuse(r, FMD_IO_MERGE_COUNTS, 0, FMD_E_USAGE)
                                      : refuse(r, FMD_IO_MERGE_NO_SHARDS, 0, FMD_E_NOINPUT);
            goto done;
        }
    }
    r->n = n;
    if (n > FMD_IO_SHARD_MAX) {
        st = FMD_E_USAGE;
        goto done;
    }
    /* No build runs: every temporary file in OUT is a killed build's. */
    fmd_io_leftovers_remove(out_fd, &r->leftovers);
    st = merge_locked(out_fd, parent, n, r);
done:
    if (lockfd >= 0)
        close(lockfd);
    close(parent);
    close(out_fd);
    return st;
}
