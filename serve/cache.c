/* SPDX-License-Identifier: MIT */
/* fastmd serve's result cache: the kernel's result of a page that rendered (never a failure),
 * kept in memory under its key, the XXH3-128 digest of the page's bytes beside the XXH3-128
 * digest of the effective options (output-format version, every option, the rules' text).
 * Bounded in bytes, least recently used first out. The table is split in shards, each with its
 * own lock, so that the engine's threads rarely meet on one lock. With --cache-dir, a persistent
 * store (store.c) sits behind it: misses are looked up there, and what is put is stored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve_internal.h"

/** Shards of the table; a key's shard is its first byte's. */
#define CACHE_SHARDS 64
/** Buckets per shard (chained). */
#define CACHE_BUCKETS 1024
/** Bytes an entry costs beyond its blob (the entry struct and the allocator's share). */
#define CACHE_ENTRY_OVERHEAD 96

/* One cached result. The blob holds, back to back: the headings (fmd_heading, slices pointing
 * into the blob), the warnings (fmd_slice), then html, title, frontmatter, heading texts and ids,
 * warning texts, and last the metadata formatted as the wire has it (fmd_rpc_put_page_meta():
 * it does not depend on the request, so a hit copies it instead of formatting it again).
 * res's slices point into it; res.title.ptr NULL: the page had no title. */
typedef struct entry {
    struct entry *chain;       /* next in its bucket */
    struct entry *prev, *next; /* LRU: prev is more recent */
    unsigned char key[SERVE_CACHE_KEY];
    size_t cost;
    fmd_slice meta;             /* the formatted metadata, in the blob */
    size_t title_at, title_end; /* the title's value in meta */
    fmd_result res;
    char blob[];
} entry;

typedef struct shard {
    _Alignas(64) pthread_mutex_t mu;
    entry *buckets[CACHE_BUCKETS];
    entry *head, *tail; /* most and least recently used */
    size_t bytes;
} shard;

struct serve_cache {
    size_t cap_per_shard;
    serve_store *store; /* --cache-dir: behind the memory, or NULL */
    atomic_size_t hits, misses, evictions, inserts, bytes, entries;
    shard shards[CACHE_SHARDS];
};

fmd_status serve_cache_create(serve_cache **out, size_t max_bytes)
{
    *out = NULL;
    if (max_bytes == 0)
        return FMD_OK;
    serve_cache *c = aligned_alloc(64, sizeof *c);
    if (c == NULL)
        return FMD_E_NOMEM;
    memset(c, 0, sizeof *c);
    c->cap_per_shard = max_bytes / CACHE_SHARDS;
    for (int i = 0; i < CACHE_SHARDS; i++)
        pthread_mutex_init(&c->shards[i].mu, NULL);
    *out = c;
    return FMD_OK;
}

void serve_cache_destroy(serve_cache *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < CACHE_SHARDS; i++) {
        for (entry *e = c->shards[i].head, *n; e != NULL; e = n) {
            n = e->next;
            free(e);
        }
        pthread_mutex_destroy(&c->shards[i].mu);
    }
    free(c);
}

static void hex_to_bytes(const char *hex, unsigned char *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char h = hex[2 * i + (size_t)k];
            v = v * 16 + (unsigned)(h <= '9' ? h - '0' : h - 'a' + 10);
        }
        out[i] = (unsigned char)v;
    }
}

void serve_cache_key(const char *page, size_t len, const unsigned char opts[16],
                     unsigned char key[SERVE_CACHE_KEY])
{
    char hex[33];
    fmd_kernel_hash128_format(page, len, hex);
    hex_to_bytes(hex, key, 16);
    memcpy(key + 16, opts, 16);
}

void serve_cache_digest(const char *text, size_t len, unsigned char out[16])
{
    char hex[33];
    fmd_kernel_hash128_format(text, len, hex);
    hex_to_bytes(hex, out, 16);
}

static size_t bucket_of(const unsigned char *key)
{
    size_t h;
    memcpy(&h, key + 1, sizeof h);
    return h % CACHE_BUCKETS;
}

/* Under sh->mu. */
static void lru_unlink(shard *sh, entry *e)
{
    if (e->prev != NULL)
        e->prev->next = e->next;
    else
        sh->head = e->next;
    if (e->next != NULL)
        e->next->prev = e->prev;
    else
        sh->tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push(shard *sh, entry *e)
{
    e->prev = NULL;
    e->next = sh->head;
    if (sh->head != NULL)
        sh->head->prev = e;
    sh->head = e;
    if (sh->tail == NULL)
        sh->tail = e;
}

static entry **find_slot(shard *sh, const unsigned char *key)
{
    entry **p = &sh->buckets[bucket_of(key)];
    while (*p != NULL && memcmp((*p)->key, key, SERVE_CACHE_KEY) != 0)
        p = &(*p)->chain;
    return p;
}

/* Copy @p src into the blob at *at; returns the copy. */
static fmd_slice put(char **at, fmd_slice src)
{
    fmd_slice d = {*at, src.len};
    if (src.len != 0)
        memcpy(*at, src.ptr, src.len);
    *at += src.len;
    return d;
}

/* Bytes of the blob that holds a copy of @p r. */
static size_t blob_size(const fmd_result *r)
{
    size_t bytes = sizeof(fmd_heading) * r->n_headings + sizeof(fmd_slice) * r->n_warnings +
                   r->html.len + r->title.len + r->frontmatter.len;
    for (size_t i = 0; i < r->n_headings; i++)
        bytes += r->headings[i].text.len + r->headings[i].id.len;
    for (size_t i = 0; i < r->n_warnings; i++)
        bytes += r->warnings[i].len;
    return bytes;
}

/* Copy @p r into @p blob (blob_size(r) bytes, aligned for fmd_heading); @p dst is r with its
 * slices pointing into the blob. */
static void fill_blob(char *blob, const fmd_result *r, fmd_result *dst)
{
    *dst = *r;
    fmd_heading *hs = (fmd_heading *)(void *)blob;
    fmd_slice *ws = (fmd_slice *)(void *)(blob + sizeof(fmd_heading) * r->n_headings);
    char *at = (char *)(ws + r->n_warnings);
    dst->html = put(&at, r->html);
    dst->title = r->title.ptr != NULL ? put(&at, r->title) : (fmd_slice){NULL, 0};
    dst->frontmatter = r->frontmatter.ptr != NULL ? put(&at, r->frontmatter) : (fmd_slice){NULL, 0};
    for (size_t i = 0; i < r->n_headings; i++) {
        hs[i].level = r->headings[i].level;
        hs[i].text = put(&at, r->headings[i].text);
        hs[i].id = put(&at, r->headings[i].id);
    }
    for (size_t i = 0; i < r->n_warnings; i++)
        ws[i] = put(&at, r->warnings[i]);
    dst->headings = hs;
    dst->warnings = ws;
    dst->err_message = (fmd_slice){NULL, 0};
    dst->render_s = 0;
}

static entry *make_entry(const unsigned char *key, const fmd_result *r, fmd_slice meta,
                         size_t title_at, size_t title_end)
{
    size_t bytes = blob_size(r);
    entry *e = malloc(sizeof *e + bytes + meta.len + 1);
    if (e == NULL)
        return NULL;
    memset(e, 0, sizeof *e);
    memcpy(e->key, key, SERVE_CACHE_KEY);
    e->cost = sizeof *e + bytes + meta.len + CACHE_ENTRY_OVERHEAD;
    fill_blob(e->blob, r, &e->res);
    e->meta.ptr = e->blob + bytes;
    e->meta.len = meta.len;
    memcpy(e->blob + bytes, meta.ptr, meta.len);
    e->title_at = title_at;
    e->title_end = title_end;
    return e;
}

void serve_cache_set_store(serve_cache *c, serve_store *st)
{
    if (c != NULL)
        c->store = st;
}

/* Keep a copy of @p r in memory; returns whether the key is there afterwards. */
static bool insert(serve_cache *c, const unsigned char key[SERVE_CACHE_KEY], const fmd_result *r,
                   fmd_arena *scratch)
{
    fmd_arena_mark mark = fmd_arena_get_mark(scratch);
    fmd_buf meta;
    fmd_buf_reset(&meta, scratch);
    size_t title_at = 0, title_end = 0;
    entry *e = fmd_rpc_put_page_meta(&meta, r, &title_at, &title_end) == FMD_OK
                   ? make_entry(key, r, fmd_buf_slice(&meta), title_at, title_end)
                   : NULL;
    fmd_arena_rewind(scratch, mark);
    if (e == NULL)
        return false;
    if (e->cost > c->cap_per_shard) { /* larger than its shard: never kept */
        free(e);
        return false;
    }
    shard *sh = &c->shards[key[0] % CACHE_SHARDS];
    size_t evicted = 0, freed = 0;
    entry *drop = NULL; /* freed after the lock */
    pthread_mutex_lock(&sh->mu);
    entry **slot = find_slot(sh, key);
    if (*slot != NULL) { /* another thread put it first: keep that one */
        pthread_mutex_unlock(&sh->mu);
        free(e);
        return true;
    }
    *slot = e;
    lru_push(sh, e);
    sh->bytes += e->cost;
    while (sh->bytes > c->cap_per_shard && sh->tail != NULL && sh->tail != e) {
        entry *old = sh->tail;
        lru_unlink(sh, old);
        *find_slot(sh, old->key) = old->chain;
        sh->bytes -= old->cost;
        freed += old->cost;
        evicted++;
        old->chain = drop;
        drop = old;
    }
    pthread_mutex_unlock(&sh->mu);
    while (drop != NULL) {
        entry *n = drop->chain;
        free(drop);
        drop = n;
    }
    atomic_fetch_add_explicit(&c->inserts, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->evictions, evicted, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->entries, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&c->entries, evicted, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->bytes, e->cost, memory_order_relaxed);
    atomic_fetch_sub_explicit(&c->bytes, freed, memory_order_relaxed);
    return true;
}

void serve_cache_put(serve_cache *c, const unsigned char key[SERVE_CACHE_KEY], const fmd_result *r,
                     fmd_arena *scratch)
{
    if (c == NULL || r->status != FMD_OK)
        return;
    insert(c, key, r, scratch);
    serve_store_put(c->store, key, r, scratch);
}

void serve_cache_warm(serve_cache *c, const unsigned char key[SERVE_CACHE_KEY], const fmd_result *r,
                      fmd_arena *scratch)
{
    if (c != NULL && r->status == FMD_OK)
        insert(c, key, r, scratch);
}

/* A memory miss: read @p key from the store into memory (not written back). Returns whether the
 * memory now holds it. @p a is only borrowed. */
static bool from_store(serve_cache *c, const unsigned char key[SERVE_CACHE_KEY], fmd_arena *a)
{
    if (c->store == NULL)
        return false;
    fmd_arena_mark mark = fmd_arena_get_mark(a);
    fmd_result r;
    bool ok = serve_store_get(c->store, key, a, &r) && insert(c, key, &r, a);
    fmd_arena_rewind(a, mark);
    return ok;
}

static bool mem_get(serve_cache *c, const unsigned char key[SERVE_CACHE_KEY], fmd_arena *out,
                    fmd_result *res)
{
    shard *sh = &c->shards[key[0] % CACHE_SHARDS];
    bool hit = false;
    pthread_mutex_lock(&sh->mu);
    entry *e = *find_slot(sh, key);
    if (e != NULL) {
        lru_unlink(sh, e);
        lru_push(sh, e);
        /* Copied out under the lock: the entry may be evicted as soon as it is released. */
        char *mem = fmd_arena_alloc(out, blob_size(&e->res) + 1);
        if (mem != NULL) {
            fill_blob(mem, &e->res, res);
            hit = true;
        }
    }
    pthread_mutex_unlock(&sh->mu);
    return hit;
}

bool serve_cache_get(serve_cache *c, const unsigned char key[SERVE_CACHE_KEY], fmd_arena *out,
                     fmd_result *res)
{
    if (c == NULL)
        return false;
    bool hit = mem_get(c, key, out, res) || (from_store(c, key, out) && mem_get(c, key, out, res));
    atomic_fetch_add_explicit(hit ? &c->hits : &c->misses, 1, memory_order_relaxed);
    return hit;
}

static bool mem_get_formatted(serve_cache *c, const unsigned char key[SERVE_CACHE_KEY],
                              fmd_arena *out, bool html_malloc, serve_cache_hit *hit)
{
    memset(hit, 0, sizeof *hit);
    shard *sh = &c->shards[key[0] % CACHE_SHARDS];
    bool ok = false;
    pthread_mutex_lock(&sh->mu);
    entry *e = *find_slot(sh, key);
    if (e != NULL) {
        lru_unlink(sh, e);
        lru_push(sh, e);
        /* Copied out under the lock: the entry may be evicted as soon as it is released. Two
         * copies and no formatting: the HTML, and the metadata as it goes on the wire. */
        const fmd_slice html = e->res.html;
        char *meta = fmd_arena_alloc(out, e->meta.len + 1);
        char *h = html.len == 0 ? NULL
                  : html_malloc ? malloc(html.len)
                                : fmd_arena_alloc(out, html.len);
        if (meta != NULL && (h != NULL || html.len == 0)) {
            memcpy(meta, e->meta.ptr, e->meta.len);
            if (html.len != 0)
                memcpy(h, html.ptr, html.len);
            hit->meta = (fmd_slice){meta, e->meta.len};
            hit->title_at = e->title_at;
            hit->title_end = e->title_end;
            hit->has_title = e->res.title.ptr != NULL;
            hit->html = (fmd_slice){h, html.len};
            hit->html_owned = html_malloc ? h : NULL;
            hit->hash = e->res.hash;
            ok = true;
        } else if (html_malloc) {
            free(h);
        }
    }
    pthread_mutex_unlock(&sh->mu);
    return ok;
}

bool serve_cache_get_formatted(serve_cache *c, const unsigned char key[SERVE_CACHE_KEY],
                               fmd_arena *out, bool html_malloc, serve_cache_hit *hit)
{
    if (c == NULL)
        return false;
    bool ok = mem_get_formatted(c, key, out, html_malloc, hit) ||
              (from_store(c, key, out) && mem_get_formatted(c, key, out, html_malloc, hit));
    atomic_fetch_add_explicit(ok ? &c->hits : &c->misses, 1, memory_order_relaxed);
    return ok;
}

void serve_cache_counters(serve_cache *c, serve_cache_stats *out)
{
    memset(out, 0, sizeof *out);
    if (c == NULL)
        return;
    out->hits = atomic_load(&c->hits);
    out->misses = atomic_load(&c->misses);
    out->evictions = atomic_load(&c->evictions);
    out->bytes = atomic_load(&c->bytes);
    out->entries = atomic_load(&c->entries);
    out->limit = c->cap_per_shard * CACHE_SHARDS;
}

void serve_options_digest(const serve *s, const fmd_rpc_request *req, unsigned char out[16])
{
    /* Everything that changes a rendered page, in one canonical line. The deadline is left out:
     * a page that rendered in time renders the same without one (failures are never cached).
     * The title from the file name and includeCode are applied when the result is formatted. */
    const fmd_options *o = &req->options.opt;
    char head[320];
    int n =
        snprintf(head, sizeof head, "%s d%d e%u x%d u%d h%d p%d i%zu o%zu f%zu r%c ",
                 SERVE_CACHE_FORMAT, (int)o->dialect, o->extensions, (int)o->xhtml, (int)o->unsafe,
                 (int)o->heading_ids, (int)o->passthrough, o->max_input_bytes, o->max_output_bytes,
                 o->max_frontmatter_bytes, req->options.rules_given ? 'R' : 'D');
    /* The ID prefix: at most FMD_MAX_ID_PREFIX_BYTES, so it fits (none: empty). */
    n += snprintf(head + n, sizeof head - (size_t)n, "ip=%s ",
                  o->id_prefix != NULL ? o->id_prefix : "");
    size_t rules_len =
        req->options.rules_given ? req->options.rules_json.len : sizeof s->rules_digest;
    char *text = malloc((size_t)n + rules_len + 1);
    if (text == NULL) { /* no digest: a key no page shares with another option set */
        memset(out, 0xff, 16);
        return;
    }
    memcpy(text, head, (size_t)n);
    if (!req->options.rules_given)
        memcpy(text + n, s->rules_digest, rules_len);
    else if (rules_len != 0) /* rules: [] has no text */
        memcpy(text + n, req->options.rules_json.ptr, rules_len);
    serve_cache_digest(text, (size_t)n + rules_len, out);
    free(text);
}
