/* SPDX-License-Identifier: MIT */
/* The build state folder OUT/.fastmd/: the lock, the state file and the journal (fmd_io_state.h
 * describes the record format), and the removal of fastmd's own temporary files. It stores keys
 * that the caller computes; it never reads a page. */
#define _GNU_SOURCE /* O_DIRECTORY, O_CLOEXEC, fdopendir */
#include "io_internal.h"
#include "fmd_hash.h"
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
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The journal's buffer is written out once it holds this much. */
#define JOURNAL_FLUSH_BYTES ((size_t)64 << 10)
/* Directories nested deeper than this are not searched for leftovers. */
#define LEFTOVER_MAX_DEPTH 256
/* The state file format; a change makes old files unreadable, so every page is rebuilt. */
#define STATE_FORMAT 1

struct fmd_io_state {
    int dirfd;      /* OUT/.fastmd */
    int lockfd;     /* OUT/.fastmd/lock, flock'ed */
    char *files[2]; /* state and journal, mapped read-only (NULL: missing or empty) */
    size_t file_len[2];
    fmd_io_state_rec *recs;
    size_t n_recs;
    size_t *slots; /* the records by path, open addressing: record index + 1, 0 empty */
    size_t mask;   /* slots has mask + 1 entries, a power of two */
    char *strings; /* the records' paths and outputs as C strings */
    bool interrupted;
    bool exact;   /* the state file is exactly the loaded records (fmd_io_state_exact) */
    int jfd;      /* the journal, O_APPEND; -1 until journal_open */
    off_t jstart; /* where this run's records start in it */
    bool jfresh;  /* the journal held nothing before this run's header */
    pthread_mutex_t mu;
    char *jbuf;
    size_t jlen, jcap;
    fmd_status jst; /* the first write failure */
    int jerr;
};

/*** Records ***/

/* The record check: a 64-bit multiply-xor hash taken 8 bytes at a time (FNV-1a's byte loop was
 * a tenth of a no-change rebuild). It detects torn and edited records; it is no defence against
 * someone forging a state file, who could as well edit OUT. */
static uint64_t check64(const char *p, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    uint64_t w = 0;
    memcpy(&w, p + i, n - i);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 29);
}

char *fmd_io_state_format(const fmd_io_state_rec *rec, size_t *len)
{
    char head[256];
    int hl = snprintf(head, sizeof head,
                      "R %.32s %" PRIu64 " %" PRId64 " %" PRIu64 " %" PRId64 " %" PRId64
                      " %u %zu %zu %zu\n",
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
    snprintf(check, sizeof check, "%016" PRIx64, check64(b, body));
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
/* Read an unsigned decimal number ending in @p sep at *p (before @p end). */
static bool num_u(const char **p, const char *end, char sep, uint64_t *out)
{
    const char *q = *p;
    uint64_t v = 0;
    if (q >= end || *q < '0' || *q > '9')
        return false;
    /* 19 digits always fit in 64 bits: check for overflow only from the 20th on (the times of
     * a record are 19 digits each, and this loop runs for every number of every record). */
    const char *fast = end - q > 19 ? q + 19 : end;
    while (q < fast && (unsigned)(*q - '0') <= 9)
        v = v * 10 + (uint64_t)(*q++ - '0');
    while (q < end && *q >= '0' && *q <= '9') {
        if (v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(*q++ - '0');
    }
    if (q >= end || *q != sep)
        return false;
    *p = q + 1;
    *out = v;
    return true;
}

static bool num_i(const char **p, const char *end, char sep, int64_t *out)
{
    bool neg = *p < end && **p == '-';
    if (neg)
        (*p)++;
    uint64_t v;
    if (!num_u(p, end, sep, &v) || v > (uint64_t)INT64_MAX)
        return false;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return true;
}

/* Whether the 16 lowercase hex digits at @p hex spell @p h: the check of every record of a
 * no-change rebuild goes through here, and an snprintf per record was a tenth of that run. */
static bool check_matches(const char *hex, uint64_t h)
{
    for (int i = 15; i >= 0; i--, h >>= 4)
        if (hex[i] != fmd_hex_digits[h & 0xf])
            return false;
    return true;
}

static size_t parse_record(const char *p, size_t n, fmd_io_state_rec *r)
{
    const char *end = p + n;
    memset(r, 0, sizeof *r);
    if (n < 36 || p[0] != 'R' || p[1] != ' ' || p[34] != ' ')
        return 0;
    for (int i = 0; i < 32; i++) {
        char c = p[2 + i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
    }
    const char *q = p + 35;
    uint64_t flags, pl, ol, ll;
    if (!num_u(&q, end, ' ', &r->size) || !num_i(&q, end, ' ', &r->mtime_ns) ||
        !num_u(&q, end, ' ', &r->ino) || !num_i(&q, end, ' ', &r->ctime_ns) ||
        !num_i(&q, end, ' ', &r->t0_ns) || !num_u(&q, end, ' ', &flags) ||
        !num_u(&q, end, ' ', &pl) || !num_u(&q, end, ' ', &ol) || !num_u(&q, end, '\n', &ll))
        return 0;
    size_t hl = (size_t)(q - p);
    if (pl > n || ol > n || ll > n || hl + pl + ol + ll + 17 > n)
        return 0;
    size_t body = hl + pl + ol + ll;
    if (!check_matches(p + body, check64(p, body)) || p[body + 16] != '\n')
        return 0;
    const char *path = p + hl, *output = path + pl, *line = output + ol;
    if (!safe_relative(path, pl) || !safe_relative(output, ol))
        return 0;
    memcpy(r->key, p + 2, 32);
    r->key[32] = '\0';
    r->flags = (unsigned)flags & (FMD_IO_REC_FILE | FMD_IO_REC_FAILED);
    r->path = path; /* not NUL-terminated: fmd_io_state_load() copies them */
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
    return fmd_io_state_open_at(out_dirfd, FMD_IO_STATE_DIR, wait, out, err);
}

fmd_status fmd_io_state_open_at(int parent_dirfd, const char *name, bool wait, fmd_io_state **out,
                                int *err)
{
    *out = NULL;
    *err = 0;
    if (mkdirat(parent_dirfd, name, 0777) != 0 && errno != EEXIST) {
        *err = errno;
        return FMD_E_CANTCREATE;
    }
    int dfd = openat(parent_dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
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
    /* A build killed with SIGKILL leaves its worker process holding the lock for the few
     * milliseconds it takes to die (PR_SET_PDEATHSIG): a rerun right after the kill would see a
     * held lock. So "busy" means busy for FMD_IO_LOCK_GRACE_MS, not for one try. */
    for (int waited = 0; rc != 0 && errno == EWOULDBLOCK && waited < FMD_IO_LOCK_GRACE_MS;
         waited += 10) {
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
        rc = flock(lfd, LOCK_EX | LOCK_NB);
    }
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
    for (int f = 0; f < 2; f++)
        if (s->files[f] != NULL)
            munmap(s->files[f], s->file_len[f]);
    free(s->strings);
    free(s->slots);
    free(s->recs);
    free(s->jbuf);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/*** Loading ***/

/* Map @p name whole, read-only and populated (one call instead of a fault per page, and no
 * copy); *buf NULL when it does not exist or is empty. */
static fmd_status map_whole(int dfd, const char *name, char **buf, size_t *len, int *err)
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
    if (st.st_size == 0) {
        close(fd);
        return FMD_OK;
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    int e = errno;
    close(fd);
    if (m == MAP_FAILED) {
        *err = e;
        return FMD_E_IO;
    }
    *buf = m;
    *len = (size_t)st.st_size;
    return FMD_OK;
}

/* Parse a state or journal file: headers "fastmd-state|fastmd-journal <format> <digest>\n" and
 * records. Appends to *v. @p whole receives whether the file is one header naming @p digest
 * followed by records up to its last byte (nothing torn, nothing under another digest). */
static fmd_status parse_file(const char *b, size_t n, const char *digest, fmd_io_state_rec **v,
                             size_t *count, size_t *cap, bool *whole)
{
    size_t i = 0;
    int headers = 0;
    bool current = false, known = false;
    *whole = false;
    while (i < n) {
        if (b[i] == '\n') { /* the blank line a journal header starts with */
            i++;
            continue;
        }
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
            headers++;
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
    *whole = i == n && headers == 1 && current;
    return FMD_OK;
}

/* The slot of @p path in the index: where its record's index is, or the empty slot it would
 * take. */
static size_t *index_slot(size_t *slots, size_t mask, const fmd_io_state_rec *v, const char *path,
                          size_t len)
{
    size_t h = (size_t)check64(path, len) & mask;
    while (slots[h] != 0) {
        const fmd_io_state_rec *r = &v[slots[h] - 1];
        if (r->path_len == len && memcmp(r->path, path, len) == 0)
            return &slots[h];
        h = (h + 1) & mask;
    }
    return &slots[h];
}

fmd_status fmd_io_state_load(fmd_io_state *s, const char *digest, int *err)
{
    static const char *const names[2] = {"state", "journal"};
    fmd_io_state_rec *v = NULL;
    size_t count = 0, cap = 0;
    fmd_status st = FMD_OK;
    bool whole = false;
    *err = 0;
    for (int f = 0; f < 2; f++) {
        size_t len;
        FMD_TRY(map_whole(s->dirfd, names[f], &s->files[f], &len, err));
        s->file_len[f] = len;
        if (f == 1 && (s->files[1] != NULL || faccessat(s->dirfd, "journal", F_OK, 0) == 0))
            s->interrupted = true;
        bool w = false;
        if (s->files[f] != NULL)
            FMD_TRY(parse_file(s->files[f], len, digest, &v, &count, &cap, &w));
        if (f == 0)
            whole = w;
    }
    /* One record per path, the last one read (a journal's replaces the state's), found through
     * a hash index: no sort (the records of a build on several threads are in the order the
     * pages finished, and sorting them was a fifth of a no-change rebuild). */
    size_t nslots = 16;
    while (nslots < 2 * count)
        nslots *= 2;
    s->mask = nslots - 1;
    s->slots = calloc(nslots, sizeof *s->slots);
    unsigned char *dead = calloc(count ? count : 1, 1);
    if (s->slots == NULL || dead == NULL) {
        free(dead);
        st = FMD_E_NOMEM;
        goto fail;
    }
    size_t m = count;
    for (size_t i = 0; i < count; i++) {
        size_t *slot = index_slot(s->slots, s->mask, v, v[i].path, v[i].path_len);
        if (*slot != 0) {
            dead[*slot - 1] = 1; /* replaced by this later record */
            m--;
        }
        *slot = i + 1;
    }
    if (m != count) { /* keep the live records, in file order, and index them again */
        size_t k = 0;
        for (size_t i = 0; i < count; i++)
            if (!dead[i])
                v[k++] = v[i];
        memset(s->slots, 0, nslots * sizeof *s->slots);
        for (size_t i = 0; i < m; i++)
            *index_slot(s->slots, s->mask, v, v[i].path, v[i].path_len) = i + 1;
    }
    free(dead);
    /* No journal, and every record of the state file is one of these (none replaced). */
    s->exact = whole && !s->interrupted && m == count;
    /* C strings: path and output copied out of the record bytes (kept intact for the commit),
     * all into one block. */
    size_t total = 0;
    for (size_t i = 0; i < m; i++)
        total += v[i].path_len + v[i].output_len + 2;
    s->strings = malloc(total ? total : 1);
    if (s->strings == NULL) {
        st = FMD_E_NOMEM;
        goto fail;
    }
    char *q = s->strings;
    for (size_t i = 0; i < m; i++) {
        memcpy(q, v[i].path, v[i].path_len);
        q[v[i].path_len] = '\0';
        v[i].path = q;
        q += v[i].path_len + 1;
        memcpy(q, v[i].output, v[i].output_len);
        q[v[i].output_len] = '\0';
        v[i].output = q;
        q += v[i].output_len + 1;
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

const fmd_io_state_rec *fmd_io_state_find(const fmd_io_state *s, const char *path)
{
    if (s->slots == NULL)
        return NULL;
    size_t i = *index_slot(s->slots, s->mask, s->recs, path, strlen(path));
    return i != 0 ? &s->recs[i - 1] : NULL;
}

bool fmd_io_state_interrupted(const fmd_io_state *s)
{
    return s->interrupted;
}

bool fmd_io_state_exact(const fmd_io_state *s)
{
    return s->exact;
}

/*** The journal ***/

fmd_status fmd_io_state_journal_open(fmd_io_state *s, const char *digest, int *err)
{
    *err = 0;
    s->jfd =
        openat(s->dirfd, "journal", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (s->jfd < 0) {
        *err = errno;
        return FMD_E_CANTCREATE;
    }
    off_t before = lseek(s->jfd, 0, SEEK_END);
    s->jfresh = before == 0;
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
    if (n == 0 && s->jfresh && s->jfd >= 0) {
        /* Nothing carried over and the journal holds this run's records only (a first or full
         * build): it is the new state as it stands. One rename, no copy. */
        close(s->jfd);
        s->jfd = -1;
        if (renameat(s->dirfd, "journal", s->dirfd, "state") != 0) {
            *err = errno;
            return FMD_E_IO;
        }
        return FMD_OK;
    }
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
    /* No fsync: the HTML files are not fsync'ed either, so a state that survived a power loss
     * could still name files that did not (docs/builds.md: rebuild with --force after one). A
     * state lost or torn by one only costs a rebuild; the rename keeps it whole for readers. */
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

fmd_status fmd_io_leftovers_remove(int out_dirfd, size_t *removed)
{
    *removed = 0;
    return remove_in(out_dirfd, 0, removed);
}
