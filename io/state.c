/* SPDX-License-Identifier: MIT */
/* The build state folder OUT/.fastmd/: the lock, the state file and the journal (fmd_io_state.h
 * describes the record format), and the removal of fastmd's own temporary files. It stores keys
 * that the caller computes; it never reads a page. */
#define _GNU_SOURCE /* O_DIRECTORY, O_CLOEXEC, fdopendir */
#include "io_internal.h"
#include "fmd_io_state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The journal's buffer is written out once it holds this much. */
#define JOURNAL_FLUSH_BYTES ((size_t)64 << 10)
/* Directories nested deeper than this are not searched for leftovers. */
#define LEFTOVER_MAX_DEPTH 256
/* The state file format; a change makes old files unreadable, so every page is rebuilt. */
#define STATE_FORMAT 1

struct fmd_io_state {
    int dirfd;  /* OUT/.fastmd */
    int lockfd; /* OUT/.fastmd/lock, flock'ed */
    char *files[2]; /* state and journal bytes as read */
    fmd_io_state_rec *recs;
    size_t n_recs;
    bool interrupted;
    int jfd; /* the journal, O_APPEND; -1 until journal_open */
    off_t jstart; /* where this run's records start in it */
    pthread_mutex_t mu;
    char *jbuf;
    size_t jlen, jcap;
    fmd_status jst; /* the first write failure */
    int jerr;
};

/*** Records ***/

static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

char *fmd_io_state_format(const fmd_io_state_rec *rec, size_t *len)
{
    char head[256];
    int hl = snprintf(head, sizeof head, "R %.32s %" PRIu64 " %" PRId64 " %" PRIu64 " %" PRId64
                      " %" PRId64 " %u %zu %zu %zu\n",
                      rec->key, rec->size, rec->mtime_ns, rec->ino, rec->ctime_ns, rec->t0_ns,
                      rec->flags & 0xffu, rec->path_len, rec->output_len, rec->line_len);
    if (hl <= 0 || (size_t)hl >= sizeof head)
        return NULL;
    size_t body = (size_t)hl + rec->path_len + rec->output_len + rec->line_len;
    char *b = malloc(body + 17);
    if (b == NULL)
        return NULL;
    char *q = b;
    memcpy(q, head, (size_t)hl);
    q += hl;
    memcpy(q, rec->path, rec->path_len);
    q += rec->path_len;
    memcpy(q, rec->output, rec->output_len);
    q += rec->output_len;
    memcpy(q, rec->line, rec->line_len);
    q += rec->line_len;
    char check[17];
    snprintf(check, sizeof check, "%016" PRIx64, fnv1a(b, body));
    memcpy(q, check, 16);
    q[16] = '\n';
    *len = body + 17;
    return b;
}

/* A relative path that stays inside its folder: no leading '/', no "." or ".." component, no
 * NUL. Records come from a file anyone may have edited; only such paths are ever used. */
static bool safe_relative(const char *p, size_t n)
{
    if (n == 0 || p[0] == '/' || memchr(p, '\0', n) != NULL)
        return false;
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && p[j] != '/')
            j++;
        size_t c = j - i;
        if (c == 0 || (c == 1 && p[i] == '.') || (c == 2 && p[i] == '.' && p[i + 1] == '.'))
            return false;
        i = j + 1;
    }
    return p[n - 1] != '/';
}

/* Parse one record at p (n bytes left). @return its length, or 0 when it is not a whole, valid
 * record. The strings point into the record (not NUL-terminated yet). */
static size_t parse_record(char *p, size_t n, fmd_io_state_rec *r)
{
    char *nl = memchr(p, '\n', n < 256 ? n : 256);
    if (nl == NULL || n < 2 || p[0] != 'R' || p[1] != ' ')
        return 0;
    char head[257];
    size_t hl = (size_t)(nl - p) + 1;
    memcpy(head, p, hl);
    head[hl] = '\0';
    char key[33];
    unsigned flags;
    size_t pl, ol, ll;
    int used = 0;
    memset(r, 0, sizeof *r);
    if (sscanf(head, "R %32s %" SCNu64 " %" SCNd64 " %" SCNu64 " %" SCNd64 " %" SCNd64
               " %u %zu %zu %zu\n%n",
               key, &r->size, &r->mtime_ns, &r->ino, &r->ctime_ns, &r->t0_ns, &flags, &pl, &ol,
               &ll, &used) != 10 ||
        (size_t)used != hl || strlen(key) != 32)
        return 0;
    if (pl > n || ol > n || ll > n || hl + pl + ol + ll + 17 > n)
        return 0;
    size_t body = hl + pl + ol + ll;
    char check[17];
    snprintf(check, sizeof check, "%016" PRIx64, fnv1a(p, body));
    if (memcmp(p + body, check, 16) != 0 || p[body + 16] != '\n')
        return 0;
    char *path = p + hl, *output = path + pl, *line = output + ol;
    if (!safe_relative(path, pl) || !safe_relative(output, ol))
        return 0;
    memcpy(r->key, key, 33);
    r->flags = flags & (FMD_IO_REC_FILE | FMD_IO_REC_FAILED);
    /* Copies with NULs, so that path and output are C strings; the record bytes stay intact. */
    r->path = path;
    r->path_len = pl;
    r->output = output;
    r->output_len = ol;
    r->line = line;
    r->line_len = ll;
    r->raw = p;
    r->raw_len = body + 17;
    return body + 17;
}

/*** Opening and locking ***/

fmd_status fmd_io_state_open(int out_dirfd, bool wait, fmd_io_state **out, int *err)
{
    *out = NULL;
    *err = 0;
    if (mkdirat(out_dirfd, FMD_IO_STATE_DIR, 0777) != 0 && errno != EEXIST) {
        *err = errno;
        return FMD_E_CANTCREATE;
    }
    int dfd = openat(out_dirfd, FMD_IO_STATE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (dfd < 0) {
        *err = errno;
        return FMD_E_CANTCREATE;
    }
    int lfd = openat(dfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (lfd < 0) {
        *err = errno;
        close(dfd);
        return FMD_E_CANTCREATE;
    }
    int rc;
    do
        rc = flock(lfd, LOCK_EX | (wait ? 0 : LOCK_NB));
    while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        *err = errno == EWOULDBLOCK ? EWOULDBLOCK : errno;
        close(lfd);
        close(dfd);
        return FMD_E_IO;
    }
    fmd_io_state *s = calloc(1, sizeof *s);
    if (s == NULL) {
        close(lfd);
        close(dfd);
        return FMD_E_NOMEM;
    }
    s->dirfd = dfd;
    s->lockfd = lfd;
    s->jfd = -1;
    pthread_mutex_init(&s->mu, NULL);
    *out = s;
    return FMD_OK;
}

void fmd_io_state_close(fmd_io_state *s)
{
    if (s == NULL)
        return;
    if (s->jfd >= 0)
        close(s->jfd);
    close(s->lockfd); /* releases the flock */
    close(s->dirfd);
    free(s->files[0]);
    free(s->files[1]);
    for (size_t i = 0; i < s->n_recs; i++)
        free((char *)s->recs[i].path); /* path and output share one allocation */
    free(s->recs);
    free(s->jbuf);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/*** Loading ***/

/* Read @p name whole (NUL-terminated); *buf NULL when it does not exist. */
static fmd_status read_whole(int dfd, const char *name, char **buf, size_t *len, int *err)
{
    *buf = NULL;
    *len = 0;
    int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT)
            return FMD_OK;
        *err = errno;
        return FMD_E_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        *err = errno ? errno : EINVAL;
        close(fd);
        return FMD_E_IO;
    }
    size_t cap = (size_t)st.st_size;
    char *b = malloc(cap + 1);
    if (b == NULL) {
        close(fd);
        return FMD_E_NOMEM;
    }
    size_t got = 0;
    while (got < cap) {
        ssize_t r = read(fd, b + got, cap - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            *err = errno;
            free(b);
            close(fd);
            return FMD_E_IO;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    b[got] = '\0';
    *buf = b;
    *len = got;
    return FMD_OK;
}

/* Parse a state or journal file: headers "fastmd-state|fastmd-journal <format> <digest>\n" and
 * records. Appends to *v. */
static fmd_status parse_file(char *b, size_t n, const char *digest, fmd_io_state_rec **v,
                             size_t *count, size_t *cap)
{
    size_t i = 0;
    bool current = false, known = false;
    while (i < n) {
        if (b[i] == 'f') {
            char *nl = memchr(b + i, '\n', n - i);
            if (nl == NULL)
                break;
            char kind[16], dg[65];
            int fmt = 0;
            size_t hl = (size_t)(nl - (b + i)) + 1;
            char head[128];
            if (hl >= sizeof head)
                break;
            memcpy(head, b + i, hl);
            head[hl] = '\0';
            if (sscanf(head, "fastmd-%15s %d %64s", kind, &fmt, dg) != 3 || fmt != STATE_FORMAT)
                break;
            known = true;
            current = strcmp(dg, digest) == 0;
            i += hl;
            continue;
        }
        if (!known)
            break;
        if (*count == *cap) {
            size_t nc = *cap ? *cap * 2 : 1024;
            fmd_io_state_rec *nv = realloc(*v, nc * sizeof *nv);
            if (nv == NULL)
                return FMD_E_NOMEM;
            *v = nv;
            *cap = nc;
        }
        fmd_io_state_rec *r = &(*v)[*count];
        size_t used = parse_record(b + i, n - i, r);
        if (used == 0)
            break; /* torn or edited: ignore the rest */
        if (current)
            r->flags |= FMD_IO_REC_CURRENT;
        (*count)++;
        i += used;
    }
    return FMD_OK;
}

/* Order by path, then by position (later files and records last). */
typedef struct ordered {
    fmd_io_state_rec r;
    size_t pos;
} ordered;

static int cmp_path_pos(const void *a, const void *b)
{
    const ordered *x = a, *y = b;
    size_t n = x->r.path_len < y->r.path_len ? x->r.path_len : y->r.path_len;
    int c = memcmp(x->r.path, y->r.path, n);
    if (c == 0)
        c = (x->r.path_len > y->r.path_len) - (x->r.path_len < y->r.path_len);
    if (c == 0)
        c = (x->pos > y->pos) - (x->pos < y->pos);
    return c;
}

fmd_status fmd_io_state_load(fmd_io_state *s, const char *digest, int *err)
{
    static const char *const names[2] = {"state", "journal"};
    fmd_io_state_rec *v = NULL;
    size_t count = 0, cap = 0;
    fmd_status st = FMD_OK;
    *err = 0;
    for (int f = 0; f < 2; f++) {
        size_t len;
        FMD_TRY(read_whole(s->dirfd, names[f], &s->files[f], &len, err));
        if (f == 1 && s->files[1] != NULL)
            s->interrupted = true;
        if (s->files[f] != NULL)
            FMD_TRY(parse_file(s->files[f], len, digest, &v, &count, &cap));
    }
    /* Paths are NUL-free; the records' strings are not NUL-terminated on disk. Sort, keep the
     * last record of each path. */
    ordered *o = malloc((count ? count : 1) * sizeof *o);
    if (o == NULL) {
        st = FMD_E_NOMEM;
        goto fail;
    }
    for (size_t i = 0; i < count; i++)
        o[i] = (ordered){v[i], i};
    qsort(o, count, sizeof *o, cmp_path_pos);
    size_t m = 0;
    for (size_t i = 0; i < count; i++) {
        if (i + 1 < count && o[i].r.path_len == o[i + 1].r.path_len &&
            memcmp(o[i].r.path, o[i + 1].r.path, o[i].r.path_len) == 0)
            continue; /* a later record of the same path replaces this one */
        v[m++] = o[i].r;
    }
    free(o);
    /* C strings: copy path and output out of the record bytes (kept intact for the commit). */
    for (size_t i = 0; i < m; i++) {
        char *pc = malloc(v[i].path_len + v[i].output_len + 2);
        if (pc == NULL) {
            for (size_t k = 0; k < i; k++)
                free((char *)v[k].path);
            st = FMD_E_NOMEM;
            goto fail;
        }
        memcpy(pc, v[i].path, v[i].path_len);
        pc[v[i].path_len] = '\0';
        memcpy(pc + v[i].path_len + 1, v[i].output, v[i].output_len);
        pc[v[i].path_len + 1 + v[i].output_len] = '\0';
        v[i].path = pc;
        v[i].output = pc + v[i].path_len + 1;
    }
    s->recs = v;
    s->n_recs = m;
    return FMD_OK;
fail:
    free(v);
    return st;
}

const fmd_io_state_rec *fmd_io_state_records(const fmd_io_state *s, size_t *n)
{
    *n = s->n_recs;
    return s->recs;
}

bool fmd_io_state_interrupted(const fmd_io_state *s)
{
    return s->interrupted;
}

/*** The journal ***/

fmd_status fmd_io_state_journal_open(fmd_io_state *s, const char *digest, int *err)
{
    *err = 0;
    s->jfd = openat(s->dirfd, "journal", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
                    0666);
    if (s->jfd < 0) {
        *err = errno;
        return FMD_E_CANTCREATE;
    }
    char head[128];
    int hl = snprintf(head, sizeof head, "fastmd-journal %d %s\n", STATE_FORMAT, digest);
    /* A torn record of a killed run may end the file: start on a line of its own, so that the
     * header is found (the parser stops at the torn record, which this run rewrites). */
    int e = fmd__io_write_all(s->jfd, "\n", 1);
    if (e == 0)
        e = fmd__io_write_all(s->jfd, head, (size_t)hl);
    if (e != 0) {
        *err = e;
        return FMD_E_IO;
    }
    s->jstart = lseek(s->jfd, 0, SEEK_END);
    if (s->jstart < 0) {
        *err = errno;
        return FMD_E_IO;
    }
    return FMD_OK;
}

/* Write the buffer out; call with mu held. */
static void journal_drain(fmd_io_state *s)
{
    if (s->jlen == 0 || s->jfd < 0)
        return;
    int e = fmd__io_write_all(s->jfd, s->jbuf, s->jlen);
    if (e != 0 && s->jst == FMD_OK) {
        s->jst = FMD_E_IO;
        s->jerr = e;
    }
    s->jlen = 0;
}

fmd_status fmd_io_state_journal_add(fmd_io_state *s, const char *bytes, size_t len)
{
    pthread_mutex_lock(&s->mu);
    if (s->jlen + len > s->jcap) {
        size_t nc = s->jcap ? s->jcap : JOURNAL_FLUSH_BYTES * 2;
        while (nc < s->jlen + len)
            nc *= 2;
        char *nb = realloc(s->jbuf, nc);
        if (nb == NULL) {
            journal_drain(s);
            if (len > s->jcap) { /* no room at all: write this record by itself */
                int e = fmd__io_write_all(s->jfd, bytes, len);
                if (e != 0 && s->jst == FMD_OK) {
                    s->jst = FMD_E_IO;
                    s->jerr = e;
                }
                fmd_status st = s->jst;
                pthread_mutex_unlock(&s->mu);
                return st;
            }
        } else {
            s->jbuf = nb;
            s->jcap = nc;
        }
    }
    memcpy(s->jbuf + s->jlen, bytes, len);
    s->jlen += len;
    if (s->jlen >= JOURNAL_FLUSH_BYTES)
        journal_drain(s);
    fmd_status st = s->jst;
    pthread_mutex_unlock(&s->mu);
    return st;
}

fmd_status fmd_io_state_journal_flush(fmd_io_state *s, bool sync, int *err)
{
    pthread_mutex_lock(&s->mu);
    journal_drain(s);
    if (sync && s->jfd >= 0 && fsync(s->jfd) != 0 && s->jst == FMD_OK) {
        s->jst = FMD_E_IO;
        s->jerr = errno;
    }
    fmd_status st = s->jst;
    *err = s->jerr;
    pthread_mutex_unlock(&s->mu);
    return st;
}

/*** The commit ***/

fmd_status fmd_io_state_commit(fmd_io_state *s, const char *digest, const char *const *parts,
                               const size_t *lens, size_t n, int *err)
{
    *err = 0;
    char tmp[64];
    snprintf(tmp, sizeof tmp, FMD_IO_TMP_PREFIX "state.%ld", (long)getpid());
    int fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (fd < 0) {
        *err = errno;
        return FMD_E_CANTCREATE;
    }
    char head[128];
    int hl = snprintf(head, sizeof head, "fastmd-state %d %s\n", STATE_FORMAT, digest);
    int e = fmd__io_write_all(fd, head, (size_t)hl);
    /* Many records per write: gather them into 256 KiB blocks. */
    size_t cap = (size_t)256 << 10, len = 0;
    char *blk = malloc(cap);
    if (blk == NULL)
        e = e ? e : ENOMEM;
    for (size_t i = 0; i < n && e == 0; i++) {
        if (len + lens[i] > cap) {
            e = fmd__io_write_all(fd, blk, len);
            len = 0;
        }
        if (e == 0 && lens[i] > cap)
            e = fmd__io_write_all(fd, parts[i], lens[i]);
        else if (e == 0) {
            memcpy(blk + len, parts[i], lens[i]);
            len += lens[i];
        }
    }
    if (e == 0 && len != 0)
        e = fmd__io_write_all(fd, blk, len);
    /* Then this run's journal records, read back from the journal file: the run does not keep
     * them in memory (a windowed build must stay within its memory bound). */
    if (e == 0 && s->jfd >= 0) {
        int rfd = openat(s->dirfd, "journal", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (rfd < 0)
            e = errno;
        off_t at = s->jstart;
        while (e == 0 && blk != NULL) {
            ssize_t got = pread(rfd, blk, cap, at);
            if (got < 0 && errno == EINTR)
                continue;
            if (got < 0)
                e = errno;
            if (got <= 0)
                break;
            e = fmd__io_write_all(fd, blk, (size_t)got);
            at += got;
        }
        if (rfd >= 0)
            close(rfd);
    }
    free(blk);
    if (e == 0 && fsync(fd) != 0)
        e = errno;
    if (close(fd) != 0 && e == 0)
        e = errno;
    if (e == 0 && renameat(s->dirfd, tmp, s->dirfd, "state") != 0)
        e = errno;
    if (e != 0) {
        unlinkat(s->dirfd, tmp, 0);
        *err = e;
        return FMD_E_IO;
    }
    if (s->jfd >= 0) {
        close(s->jfd);
        s->jfd = -1;
    }
    if (unlinkat(s->dirfd, "journal", 0) != 0 && errno != ENOENT) {
        *err = errno;
        return FMD_E_IO;
    }
    fsync(s->dirfd); /* the rename and the unlink, on file systems that need it */
    return FMD_OK;
}

/*** Leftovers ***/

static bool is_leftover(const char *name, bool top)
{
    static const char manifest_tmp[] = "." FMD_IO_MANIFEST_NAME ".tmp.";
    return strncmp(name, FMD_IO_TMP_PREFIX, sizeof FMD_IO_TMP_PREFIX - 1) == 0 ||
           (top && strncmp(name, manifest_tmp, sizeof manifest_tmp - 1) == 0);
}

static fmd_status remove_in(int dfd, size_t depth, size_t *removed)
{
    int dup_fd = dup(dfd);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (d == NULL) {
        if (dup_fd >= 0)
            close(dup_fd);
        return FMD_OK; /* unreadable: skipped */
    }
    fmd_status st = FMD_OK;
    struct dirent *de;
    while (st == FMD_OK && (de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
            continue;
        unsigned char type = de->d_type;
        struct stat sb;
        if (type == DT_UNKNOWN && fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
            type = S_ISDIR(sb.st_mode) ? DT_DIR : DT_REG;
        if (type == DT_DIR && depth < LEFTOVER_MAX_DEPTH) {
            int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
            if (sub >= 0) {
                st = remove_in(sub, depth + 1, removed);
                close(sub);
            }
        } else if (type != DT_DIR && is_leftover(name, depth == 0)) {
            if (unlinkat(dfd, name, 0) == 0)
                (*removed)++;
        }
    }
    closedir(d);
    return st;
}

fmd_status fmd_io_remove_leftovers(int out_dirfd, size_t *removed)
{
    *removed = 0;
    return remove_in(out_dirfd, 0, removed);
}
