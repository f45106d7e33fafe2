/* SPDX-License-Identifier: MIT */
/* fastmd serve's persistent result store (--cache-dir): one file per rendered page, named by its
 * cache key, holding the page's result as `fastmd build --ndjson` writes it. Written to a
 * temporary name inside the directory and renamed, so a reader sees a whole file or none; only
 * names this file makes are ever read, replaced or removed, and no symbolic link is followed.
 * Bounded in bytes: the least recently used file goes first. Also the reader of such a result
 * line, shared with --warm (warm.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "fmd_hash.h"
#include "fmd_io.h"
#include "serve_internal.h"

/** Buckets of the store's index of files (chained). */
#define STORE_BUCKETS 4096
/** A stored file larger than this is not read (it is no result fastmd wrote for a sane page). */
#define STORE_MAX_FILE ((size_t)1 << 30)
/** The suffix of a stored result; the name is the key's 64 hex digits, then this. */
#define STORE_SUFFIX ".fmdr"
/** The start of a temporary file's name (a kill mid-write leaves one; the next start removes it).
 */
#define STORE_TMP_PREFIX ".tmp-"

/*** Reading a result line ***/

/* The end of the JSON value that starts at p (no leading white space), or NULL. Strings and
 * nesting only: the line was checked by jansson before this runs. */
static const char *skip_value(const char *p, const char *end)
{
    int depth = 0;
    do {
        if (p >= end)
            return NULL;
        if (*p == '"') {
            for (p++; p < end && *p != '"'; p++)
                if (*p == '\\')
                    p++;
            if (p >= end)
                return NULL;
            p++;
        } else if (*p == '{' || *p == '[') {
            depth++;
            p++;
        } else if (*p == '}' || *p == ']') {
            depth--;
            p++;
        } else {
            while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ')
                p++;
        }
        while (depth > 0 && p < end && (*p == ',' || *p == ':' || *p == ' '))
            p++;
    } while (depth > 0);
    return p;
}

/* The raw text of top-level member @p name of the object @p line (compact, as fastmd writes
 * it), or a NULL slice. jansson gives values, not their bytes; the front matter must stay the
 * bytes the kernel wrote. */
static fmd_slice raw_member(const char *line, size_t len, const char *name)
{
    const char *p = line, *end = line + len;
    size_t nl = strlen(name);
    if (p >= end || *p != '{')
        return (fmd_slice){NULL, 0};
    p++;
    while (p < end && *p == '"') {
        const char *k = p + 1;
        const char *v = skip_value(p, end); /* the key */
        if (v == NULL || v >= end || *v != ':')
            break;
        v++;
        const char *ve = skip_value(v, end);
        if (ve == NULL)
            break;
        if ((size_t)(v - 1 - k - 1) == nl && memcmp(k, name, nl) == 0)
            return (fmd_slice){v, (size_t)(ve - v)};
        p = ve < end && *ve == ',' ? ve + 1 : end;
    }
    return (fmd_slice){NULL, 0};
}

static bool copy_string(json_t *v, fmd_arena *a, fmd_slice *out)
{
    if (!json_is_string(v))
        return false;
    size_t n = json_string_length(v);
    char *p = fmd_arena_alloc(a, n + 1);
    if (p == NULL)
        return false;
    memcpy(p, json_string_value(v), n);
    p[n] = '\0';
    *out = (fmd_slice){p, n};
    return true;
}

static bool get_count(json_t *o, const char *name, size_t *out)
{
    json_t *v = json_object_get(o, name);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return false;
    *out = (size_t)json_integer_value(v);
    return true;
}

static bool parse_hex64(const char *s, uint64_t *out)
{
    if (s == NULL || strlen(s) != 16)
        return false;
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        char c = s[i];
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                                            : 16;
        if (d == 16)
            return false;
        v = v << 4 | d;
    }
    *out = v;
    return true;
}

fmd_status serve_result_parse(const char *line, size_t len, fmd_arena *a, fmd_result *res,
                              serve_result_names *names)
{
    memset(res, 0, sizeof *res);
    if (names != NULL)
        memset(names, 0, sizeof *names);
    json_error_t jerr;
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    fmd_status st = FMD_E_PARSE;
    if (!json_is_object(o))
        goto done;
    json_t *status = json_object_get(o, "status");
    if (!json_is_string(status) || strcmp(json_string_value(status), "ok") != 0)
        goto done; /* failures are never cached */
    if (names != NULL) {
        json_t *path = json_object_get(o, "path"), *output = json_object_get(o, "output");
        if (json_is_string(path) && !copy_string(path, a, &names->path))
            goto nomem;
        if (json_is_string(output) && !copy_string(output, a, &names->output))
            goto nomem;
    }
    json_t *title = json_object_get(o, "title");
    if (json_is_string(title)) {
        if (!copy_string(title, a, &res->title))
            goto nomem;
    } else if (!json_is_null(title)) {
        goto done;
    }
    fmd_slice fm = raw_member(line, len, "frontmatter");
    if (fm.ptr == NULL)
        goto done;
    if (!(fm.len == 4 && memcmp(fm.ptr, "null", 4) == 0)) {
        char *p = fmd_arena_dup(a, fm.ptr, fm.len);
        if (p == NULL)
            goto nomem;
        res->frontmatter = (fmd_slice){p, fm.len};
    }
    json_t *hs = json_object_get(o, "headings");
    if (!json_is_array(hs))
        goto done;
    size_t nh = json_array_size(hs);
    fmd_heading *h = fmd_arena_alloc(a, sizeof *h * (nh ? nh : 1));
    if (h == NULL)
        goto nomem;
    for (size_t i = 0; i < nh; i++) {
        json_t *e = json_array_get(hs, i);
        size_t level;
        if (!get_count(e, "level", &level) || level < 1 || level > 6 ||
            !copy_string(json_object_get(e, "text"), a, &h[i].text) ||
            !copy_string(json_object_get(e, "id"), a, &h[i].id))
            goto done;
        h[i].level = (int)level;
    }
    res->headings = h;
    res->n_headings = nh;
    json_t *ws = json_object_get(o, "warnings");
    if (ws != NULL) {
        if (!json_is_array(ws))
            goto done;
        size_t nw = json_array_size(ws);
        fmd_slice *w = fmd_arena_alloc(a, sizeof *w * (nw ? nw : 1));
        if (w == NULL)
            goto nomem;
        for (size_t i = 0; i < nw; i++)
            if (!copy_string(json_array_get(ws, i), a, &w[i]))
                goto done;
        res->warnings = w;
        res->n_warnings = nw;
    }
    size_t bytes_out = 0;
    json_t *hash = json_object_get(o, "hash");
    if (!get_count(o, "words", &res->words) || !get_count(o, "links", &res->links) ||
        !get_count(o, "images", &res->images) || !get_count(o, "codeBlocks", &res->code_blocks) ||
        !get_count(o, "bytesIn", &res->bytes_in) || !get_count(o, "bytesOut", &bytes_out) ||
        !json_is_string(hash) || !parse_hex64(json_string_value(hash), &res->hash))
        goto done;
    json_t *html = json_object_get(o, "html");
    if (html != NULL) {
        if (!copy_string(html, a, &res->html) || res->html.len != bytes_out)
            goto done;
    } else if (names != NULL) {
        names->html_missing = true; /* a manifest line: the HTML is in its output file */
    } else {
        goto done;
    }
    if (names != NULL) {
        names->bytes_out = bytes_out;
        /* A build's line has the title made from the file name where the page has none; the
         * kernel's title comes from the front matter's title or a heading, so without either
         * it had none (and a request under another name makes its own). */
        json_t *fmo = json_object_get(o, "frontmatter");
        if (nh == 0 && !(json_is_object(fmo) && json_object_get(fmo, "title") != NULL))
            res->title = (fmd_slice){NULL, 0};
    }
    res->status = FMD_OK;
    st = FMD_OK;
    goto done;
nomem:
    st = FMD_E_NOMEM;
done:
    json_decref(o);
    return st;
}

/*** The store ***/

/* One file of the store. */
typedef struct node {
    struct node *chain;       /* next in its bucket */
    struct node *prev, *next; /* by use: prev is more recent */
    unsigned char key[SERVE_CACHE_KEY];
    size_t bytes;
    time_t used; /* its mtime (when read back from the directory at start) */
} node;

struct serve_store {
    int dirfd;
    size_t max_bytes;
    pthread_mutex_t mu;
    node *buckets[STORE_BUCKETS];
    node *head, *tail; /* most and least recently used */
    size_t bytes, entries;
    atomic_size_t hits, misses, writes, evictions, failures;
    atomic_size_t seq; /* numbers temporary files */
};

static size_t bucket_of(const unsigned char *key)
{
    size_t h;
    memcpy(&h, key + 2, sizeof h);
    return h % STORE_BUCKETS;
}

static node **find_node(serve_store *st, const unsigned char *key)
{
    node **p = &st->buckets[bucket_of(key)];
    while (*p != NULL && memcmp((*p)->key, key, SERVE_CACHE_KEY) != 0)
        p = &(*p)->chain;
    return p;
}

static void list_unlink(serve_store *st, node *n)
{
    if (n->prev != NULL)
        n->prev->next = n->next;
    else
        st->head = n->next;
    if (n->next != NULL)
        n->next->prev = n->prev;
    else
        st->tail = n->prev;
    n->prev = n->next = NULL;
}

static void list_push(serve_store *st, node *n)
{
    n->prev = NULL;
    n->next = st->head;
    if (st->head != NULL)
        st->head->prev = n;
    st->head = n;
    if (st->tail == NULL)
        st->tail = n;
}

/* The file name of @p key: 64 hex digits and the suffix. */
static void key_name(const unsigned char *key, char name[SERVE_CACHE_KEY * 2 + sizeof STORE_SUFFIX])
{
    fmd_hex_bytes(key, SERVE_CACHE_KEY, name);
    memcpy(name + SERVE_CACHE_KEY * 2, STORE_SUFFIX, sizeof STORE_SUFFIX);
}

/* Whether @p s starts with 64 lower-case hex digits; their bytes go to @p key. */
static bool hex_key(const char *s, unsigned char *key)
{
    for (size_t i = 0; i < SERVE_CACHE_KEY; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = s[2 * i + (size_t)k];
            unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                         : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                                                : 16;
            if (d == 16)
                return false;
            v = v * 16 + d;
        }
        key[i] = (unsigned char)v;
    }
    return true;
}

/* Drop the least recently used files until the store fits (not @p keep). Under st->mu; the
 * nodes to free and whose files to remove go to *drop. */
static void evict(serve_store *st, const node *keep, node **drop)
{
    while (st->bytes > st->max_bytes && st->tail != NULL && st->tail != keep) {
        node *old = st->tail;
        list_unlink(st, old);
        *find_node(st, old->key) = old->chain;
        st->bytes -= old->bytes;
        st->entries--;
        old->chain = *drop;
        *drop = old;
    }
}

static void remove_dropped(serve_store *st, node *drop)
{
    while (drop != NULL) {
        node *n = drop->chain;
        char name[SERVE_CACHE_KEY * 2 + sizeof STORE_SUFFIX];
        key_name(drop->key, name);
        unlinkat(st->dirfd, name, 0);
        atomic_fetch_add_explicit(&st->evictions, 1, memory_order_relaxed);
        free(drop);
        drop = n;
    }
}

static int cmp_used(const void *a, const void *b)
{
    const node *x = *(node *const *)a, *y = *(node *const *)b;
    if (x->used != y->used)
        return x->used < y->used ? -1 : 1;
    return memcmp(x->key, y->key, SERVE_CACHE_KEY); /* a stable order for equal times */
}

/* Index the files already in the directory, oldest first; remove temporary files left by a
 * killed run. Names of any other form are left alone. */
static fmd_status scan(serve_store *st, int *err)
{
    int fd = dup(st->dirfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        *err = errno;
        if (fd >= 0)
            close(fd);
        return FMD_E_NOINPUT;
    }
    node **found = NULL;
    size_t n = 0, cap = 0;
    fmd_status rc = FMD_OK;
    struct dirent *de;
    const size_t hex = SERVE_CACHE_KEY * 2, plen = sizeof STORE_TMP_PREFIX - 1;
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        size_t len = strlen(name);
        unsigned char key[SERVE_CACHE_KEY];
        struct stat sb;
        if (len > plen + hex && memcmp(name, STORE_TMP_PREFIX, plen) == 0 &&
            hex_key(name + plen, key) && name[plen + hex] == '.') {
            unlinkat(st->dirfd, name, 0);
            continue;
        }
        if (len != hex + sizeof STORE_SUFFIX - 1 || strcmp(name + hex, STORE_SUFFIX) != 0 ||
            !hex_key(name, key) || fstatat(st->dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(sb.st_mode))
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 256;
            node **g = realloc(found, sizeof *g * nc);
            if (g == NULL) {
                rc = FMD_E_NOMEM;
                break;
            }
            found = g;
            cap = nc;
        }
        node *e = calloc(1, sizeof *e);
        if (e == NULL) {
            rc = FMD_E_NOMEM;
            break;
        }
        memcpy(e->key, key, SERVE_CACHE_KEY);
        e->bytes = (size_t)sb.st_size;
        e->used = sb.st_mtime;
        found[n++] = e;
    }
    closedir(d);
    if (n > 1)
        qsort(found, n, sizeof *found, cmp_used);
    for (size_t i = 0; i < n; i++) { /* oldest first: the newest ends at the head */
        node **slot = find_node(st, found[i]->key);
        *slot = found[i];
        list_push(st, found[i]);
        st->bytes += found[i]->bytes;
        st->entries++;
    }
    free(found);
    node *drop = NULL;
    evict(st, NULL, &drop); /* a smaller bound than the last run's */
    remove_dropped(st, drop);
    return rc;
}

fmd_status serve_store_open(serve_store **out, const char *dir, size_t max_bytes, int *err)
{
    *out = NULL;
    *err = 0;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        *err = errno;
        return FMD_E_CANTCREATE;
    }
    serve_store *st = calloc(1, sizeof *st);
    if (st == NULL)
        return FMD_E_NOMEM;
    st->max_bytes = max_bytes;
    st->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (st->dirfd < 0) {
        *err = errno;
        free(st);
        return FMD_E_NOINPUT;
    }
    pthread_mutex_init(&st->mu, NULL);
    fmd_status rc = scan(st, err);
    if (rc != FMD_OK) {
        serve_store_close(st);
        return rc;
    }
    *out = st;
    return FMD_OK;
}

void serve_store_close(serve_store *st)
{
    if (st == NULL)
        return;
    for (node *n = st->head, *next; n != NULL; n = next) {
        next = n->next;
        free(n);
    }
    close(st->dirfd);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

/* Forget @p key's file (it could not be read back): remove it and its node. */
static void forget(serve_store *st, const unsigned char *key)
{
    pthread_mutex_lock(&st->mu);
    node **slot = find_node(st, key);
    node *n = *slot;
    if (n != NULL) {
        *slot = n->chain;
        list_unlink(st, n);
        st->bytes -= n->bytes;
        st->entries--;
    }
    pthread_mutex_unlock(&st->mu);
    if (n != NULL) {
        char name[SERVE_CACHE_KEY * 2 + sizeof STORE_SUFFIX];
        key_name(key, name);
        unlinkat(st->dirfd, name, 0);
        free(n);
    }
    atomic_fetch_add_explicit(&st->failures, 1, memory_order_relaxed);
}

bool serve_store_get(serve_store *st, const unsigned char key[SERVE_CACHE_KEY], fmd_arena *a,
                     fmd_result *res)
{
    if (st == NULL)
        return false;
    pthread_mutex_lock(&st->mu);
    node *n = *find_node(st, key);
    if (n != NULL) { /* used now: last to go */
        list_unlink(st, n);
        list_push(st, n);
    }
    pthread_mutex_unlock(&st->mu);
    if (n == NULL) { /* the index knows every file: no open() for a page never stored */
        atomic_fetch_add_explicit(&st->misses, 1, memory_order_relaxed);
        return false;
    }
    char name[SERVE_CACHE_KEY * 2 + sizeof STORE_SUFFIX];
    key_name(key, name);
    int fd = openat(st->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat sb;
    bool ok = false;
    fmd_arena_mark mark = fmd_arena_get_mark(a);
    if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 &&
        (size_t)sb.st_size <= STORE_MAX_FILE) {
        size_t len = (size_t)sb.st_size, got = 0;
        char *buf = malloc(len);
        while (buf != NULL && got < len) {
            ssize_t r = read(fd, buf + got, len - got);
            if (r <= 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        if (buf != NULL && got == len && buf[len - 1] == '\n' &&
            serve_result_parse(buf, len - 1, a, res, NULL) == FMD_OK) {
            ok = true;
            futimens(fd, NULL); /* its use survives a restart: the scan orders by mtime */
        }
        free(buf);
    }
    if (fd >= 0)
        close(fd);
    if (!ok) {
        fmd_arena_rewind(a, mark);
        forget(st, key); /* gone, replaced by something else, or torn by a crash */
    }
    atomic_fetch_add_explicit(ok ? &st->hits : &st->misses, 1, memory_order_relaxed);
    return ok;
}

/* Write all of @p len bytes to @p fd. */
static bool write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        len -= (size_t)w;
    }
    return true;
}

void serve_store_put(serve_store *st, const unsigned char key[SERVE_CACHE_KEY], const fmd_result *r,
                     fmd_arena *scratch)
{
    if (st == NULL || r->status != FMD_OK)
        return;
    pthread_mutex_lock(&st->mu);
    bool known = *find_node(st, key) != NULL;
    pthread_mutex_unlock(&st->mu);
    if (known)
        return;
    fmd_arena_mark mark = fmd_arena_get_mark(scratch);
    fmd_buf b;
    fmd_buf_reset(&b, scratch);
    char name[SERVE_CACHE_KEY * 2 + sizeof STORE_SUFFIX];
    key_name(key, name);
    char tmp[sizeof STORE_TMP_PREFIX + SERVE_CACHE_KEY * 2 + 48];
    snprintf(tmp, sizeof tmp, STORE_TMP_PREFIX "%.64s.%ld.%zu", name, (long)getpid(),
             atomic_fetch_add_explicit(&st->seq, 1, memory_order_relaxed));
    bool ok = fmd_io_page_format_json(&b, NULL, NULL, r, FMD_OK, 0, FMD_IO_JSON_HTML) == FMD_OK &&
              fmd_buf_putc(&b, '\n') == FMD_OK;
    size_t len = b.len;
    int fd = ok ? openat(st->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666)
                : -1;
    ok = fd >= 0 && write_all(fd, b.ptr, len);
    if (fd >= 0 && close(fd) != 0)
        ok = false;
    fmd_arena_rewind(scratch, mark);
    if (ok && renameat(st->dirfd, tmp, st->dirfd, name) != 0)
        ok = false;
    if (!ok) {
        if (fd >= 0)
            unlinkat(st->dirfd, tmp, 0);
        atomic_fetch_add_explicit(&st->failures, 1, memory_order_relaxed);
        return;
    }
    node *n = calloc(1, sizeof *n);
    node *drop = NULL;
    pthread_mutex_lock(&st->mu);
    node **slot = find_node(st, key);
    if (n != NULL && *slot == NULL) {
        memcpy(n->key, key, SERVE_CACHE_KEY);
        n->bytes = len;
        *slot = n;
        list_push(st, n);
        st->bytes += len;
        st->entries++;
        evict(st, n, &drop);
        n = NULL;
    }
    pthread_mutex_unlock(&st->mu);
    free(n); /* another thread stored it first (the same bytes), or no memory for its node */
    remove_dropped(st, drop);
    atomic_fetch_add_explicit(&st->writes, 1, memory_order_relaxed);
}

void serve_store_counters(serve_store *st, serve_store_stats *out)
{
    memset(out, 0, sizeof *out);
    if (st == NULL)
        return;
    pthread_mutex_lock(&st->mu);
    out->bytes = st->bytes;
    out->entries = st->entries;
    pthread_mutex_unlock(&st->mu);
    out->limit = st->max_bytes;
    out->hits = atomic_load(&st->hits);
    out->misses = atomic_load(&st->misses);
    out->writes = atomic_load(&st->writes);
    out->evictions = atomic_load(&st->evictions);
    out->failures = atomic_load(&st->failures);
}
