/* SPDX-License-Identifier: MIT */
/* The chunked bump allocator behind every fmd_arena, and fmd_buf's growth.
 * No global state: an arena is a value its owner passes around. No locking: one thread per arena.
 */
#include "fmd_arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Layout: each chunk is one aligned_alloc() block, its header followed by the data area:
 *
 *   [chunk header | pad to 64 | data .................................. ]
 *                              ^ data()          ^ data()+used     ^ data()+size
 *
 * The list runs from `first`. `cur` is the chunk being filled; the chunks after it are empty
 * and kept for reuse after a rewind or reset. cur == NULL means nothing is allocated. */
typedef struct chunk {
    struct chunk *next;
    size_t size; /* bytes in the data area */
    size_t used; /* bytes handed out from the data area */
} chunk;

#define HEADER_SIZE                                                                                \
    ((sizeof(chunk) + FMD_ARENA_CHUNK_ALIGN - 1) & ~(size_t)(FMD_ARENA_CHUNK_ALIGN - 1))

struct fmd_arena {
    chunk *first;
    chunk *cur;
    char *last;        /* start of the newest allocation, for in-place growth */
    size_t chunk_size; /* data bytes of a normal chunk */
    size_t reserved;   /* sum of the data areas of every chunk */
};

static char *data(chunk *c)
{
    return (char *)c + HEADER_SIZE;
}

static size_t round_up(size_t n, size_t align)
{
    return (n + align - 1) & ~(align - 1);
}

fmd_status fmd_arena_create(fmd_arena **out, size_t chunk_size)
{
    fmd_arena *a = calloc(1, sizeof *a);
    *out = NULL;
    if (a == NULL)
        return FMD_E_NOMEM;
    a->chunk_size =
        round_up(chunk_size ? chunk_size : FMD_ARENA_CHUNK_DEFAULT, FMD_ARENA_CHUNK_ALIGN);
    *out = a;
    return FMD_OK;
}

void fmd_arena_destroy(fmd_arena *a)
{
    if (a == NULL)
        return;
    chunk *c = a->first;
    while (c != NULL) {
        chunk *next = c->next;
        free(c);
        c = next;
    }
    free(a);
}

/* Make a chunk with at least `need` data bytes current: reuse the next empty one if it is big
 * enough, otherwise link a new one in after `cur`. */
static chunk *next_chunk(fmd_arena *a, size_t need)
{
    chunk *cand = a->cur ? a->cur->next : a->first;
    if (cand != NULL && cand->size >= need) {
        cand->used = 0;
        a->cur = cand;
        return cand;
    }
    size_t size = need > a->chunk_size ? round_up(need, FMD_ARENA_CHUNK_ALIGN) : a->chunk_size;
    if (size > SIZE_MAX - HEADER_SIZE)
        return NULL;
    chunk *c = aligned_alloc(FMD_ARENA_CHUNK_ALIGN, HEADER_SIZE + size);
    if (c == NULL)
        return NULL;
    c->size = size;
    c->used = 0;
    if (a->cur != NULL) {
        c->next = a->cur->next;
        a->cur->next = c;
    } else {
        c->next = a->first;
        a->first = c;
    }
    a->reserved += size;
    a->cur = c;
    return c;
}

void *fmd_arena_alloc(fmd_arena *a, size_t n)
{
    chunk *c = a->cur;
    size_t need = round_up(n, FMD_ARENA_ALIGN);
    if (need < n)
        return NULL; /* overflow */
    if (c == NULL || c->size - c->used < need) {
        c = next_chunk(a, need);
        if (c == NULL)
            return NULL;
    }
    char *p = data(c) + c->used;
    c->used += need;
    a->last = p;
    return p;
}

void *fmd_arena_grow(fmd_arena *a, void *p, size_t old_n, size_t new_n)
{
    chunk *c = a->cur;
    if (p != NULL && p == a->last && c != NULL) {
        /* The newest allocation: extend it where it is if the chunk has room. */
        size_t start = (size_t)((char *)p - data(c));
        size_t need = round_up(new_n, FMD_ARENA_ALIGN);
        if (need >= new_n && c->size - start >= need) {
            c->used = start + need;
            return p;
        }
    }
    void *q = fmd_arena_alloc(a, new_n);
    if (q == NULL)
        return NULL;
    if (old_n != 0)
        memcpy(q, p, old_n);
    return q;
}

void fmd_arena_shrink(fmd_arena *a, void *p, size_t new_n)
{
    chunk *c = a->cur;
    if (p == NULL || p != a->last || c == NULL)
        return;
    size_t start = (size_t)((char *)p - data(c));
    size_t need = round_up(new_n, FMD_ARENA_ALIGN);
    if (start + need <= c->used)
        c->used = start + need;
}

void *fmd_arena_dup(fmd_arena *a, const void *src, size_t n)
{
    void *p = fmd_arena_alloc(a, n);
    if (p != NULL && n != 0)
        memcpy(p, src, n);
    return p;
}

fmd_arena_mark fmd_arena_get_mark(const fmd_arena *a)
{
    fmd_arena_mark m = {a->cur, a->cur ? a->cur->used : 0};
    return m;
}

void fmd_arena_rewind(fmd_arena *a, fmd_arena_mark m)
{
    a->cur = m.chunk;
    if (a->cur != NULL)
        a->cur->used = m.used;
    a->last = NULL;
}

void fmd_arena_reset(fmd_arena *a)
{
    a->cur = NULL;
    a->last = NULL;
}

size_t fmd_arena_used(const fmd_arena *a)
{
    size_t n = 0;
    for (chunk *c = a->first; c != NULL && a->cur != NULL; c = c->next) {
        n += c->used;
        if (c == a->cur)
            break;
    }
    return n;
}

size_t fmd_arena_reserved(const fmd_arena *a)
{
    return a->reserved;
}

/*** fmd_buf ***/

fmd_status fmd_buf_grow(fmd_buf *b, size_t extra)
{
    if (extra > SIZE_MAX / 2 - b->len)
        return FMD_E_NOMEM;
    size_t want = b->len + extra;
    size_t cap = b->cap ? b->cap * 2 : 256;
    while (cap < want)
        cap *= 2;
    char *p = fmd_arena_grow(b->arena, b->ptr, b->len, cap);
    if (p == NULL)
        return FMD_E_NOMEM;
    b->ptr = p;
    b->cap = cap;
    return FMD_OK;
}

fmd_status fmd_buf_put_u64(fmd_buf *b, unsigned long long v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return fmd_buf_append(b, tmp + i, sizeof tmp - i);
}

fmd_status fmd_buf_printf(fmd_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return FMD_E_USAGE;
    /* Room for the NUL that vsnprintf() writes, which is not counted in len. Grow only when it
     * does not fit: fmd_buf_grow() always doubles, so growing on every call would double the
     * buffer per line. */
    if (b->cap - b->len < (size_t)n + 1) {
        fmd_status st = fmd_buf_grow(b, (size_t)n + 1);
        if (st != FMD_OK)
            return st;
    }
    va_start(ap, fmt);
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return FMD_OK;
}
