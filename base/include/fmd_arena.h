/* SPDX-License-Identifier: MIT */
/* fmd_arena: a chunked bump allocator; fmd_buf: a growable byte buffer inside one; and the JSON
 * string writer every module shares. libc only: kernel/, io/ and cli/ all build on it.
 * Threads: reentrant: all state is in the fmd_arena / fmd_buf passed in; one arena must not be
 * used by two threads at once. */
#ifndef FMD_ARENA_H
#define FMD_ARENA_H

#include <stddef.h>
#include <string.h>

#include "fmd_status.h"

/** A view of bytes it does not own. ptr may be NULL only when len is 0. */
typedef struct fmd_slice {
    const char *ptr;
    size_t len;
} fmd_slice;

/** Default size of one arena chunk. Larger objects get a chunk of their own. */
#define FMD_ARENA_CHUNK_DEFAULT ((size_t)256 * 1024)
/** Every chunk starts on a cache line, so two threads' arenas never share one. */
#define FMD_ARENA_CHUNK_ALIGN 64
/** Every allocation is aligned to this. */
#define FMD_ARENA_ALIGN 16

typedef struct fmd_arena fmd_arena;

/** A position in an arena, to rewind to. Layout is private; copy it by value. */
typedef struct fmd_arena_mark {
    void *chunk;
    size_t used;
} fmd_arena_mark;

/** Create an empty arena; no chunk is allocated until the first fmd_arena_alloc().
 * @param out receives the arena. @param chunk_size bytes per chunk; 0 selects
 * FMD_ARENA_CHUNK_DEFAULT.
 * @return FMD_OK, or FMD_E_NOMEM (then *out is NULL).
 * Ownership: the caller owns *out and frees it with fmd_arena_destroy().
 * Threads: reentrant. The chunks are touched first by whichever thread allocates from them. */
fmd_status fmd_arena_create(fmd_arena **out, size_t chunk_size);

/** Free the arena and every chunk. @p a may be NULL. */
void fmd_arena_destroy(fmd_arena *a);

/** Allocate @p n bytes, aligned to FMD_ARENA_ALIGN. n may be 0 (a valid unique pointer).
 * @return the memory, or NULL when out of memory.
 * Ownership: valid until fmd_arena_reset(a), fmd_arena_rewind() past it, or destroy. */
void *fmd_arena_alloc(fmd_arena *a, size_t n);

/** Grow the allocation @p p of @p old_n bytes to @p new_n bytes (new_n >= old_n).
 * When p is the arena's last allocation and its chunk has room, it grows in place;
 * otherwise the bytes move to a new allocation. p may be NULL when old_n is 0.
 * @return the (maybe moved) memory, or NULL when out of memory; p is then still valid.
 * Ownership: as fmd_arena_alloc(). */
void *fmd_arena_grow(fmd_arena *a, void *p, size_t old_n, size_t new_n);

/** Give back the tail of the arena's last allocation @p p, keeping its first @p new_n bytes.
 * Does nothing when p is not the last allocation. Ownership: p stays valid. */
void fmd_arena_shrink(fmd_arena *a, void *p, size_t new_n);

/** Copy @p n bytes of @p src into the arena. @return the copy, or NULL when out of memory. */
void *fmd_arena_dup(fmd_arena *a, const void *src, size_t n);

/** The current position, for fmd_arena_rewind(). */
fmd_arena_mark fmd_arena_get_mark(const fmd_arena *a);

/** Free everything allocated after @p m (which must come from this arena, since its last reset).
 * Chunks are kept for reuse. */
void fmd_arena_rewind(fmd_arena *a, fmd_arena_mark m);

/** Free every allocation; the chunks stay, for reuse. */
void fmd_arena_reset(fmd_arena *a);

/** Bytes handed out since the last reset (including alignment padding). */
size_t fmd_arena_used(const fmd_arena *a);

/** Bytes of chunk memory the arena holds from the system. */
size_t fmd_arena_reserved(const fmd_arena *a);

/*** fmd_buf: a growable byte buffer in an arena ***/

/** Owns bytes in @c arena (until that arena is reset). Invariant: len <= cap; ptr is NULL only
 * while cap is 0. Appends amortise to O(1): the buffer grows in place while it is the arena's last
 * allocation, and doubles otherwise. */
typedef struct fmd_buf {
    fmd_arena *arena;
    char *ptr;
    size_t len;
    size_t cap;
} fmd_buf;

/** Start an empty buffer in @p arena. Allocates nothing. */
static inline void fmd_buf_reset(fmd_buf *b, fmd_arena *arena)
{
    b->arena = arena;
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
}

/** Make room for @p extra more bytes. @return FMD_OK or FMD_E_NOMEM (the buffer is unchanged). */
fmd_status fmd_buf_grow(fmd_buf *b, size_t extra);

/** Append @p n bytes. @return FMD_OK or FMD_E_NOMEM. */
static inline fmd_status fmd_buf_append(fmd_buf *b, const void *s, size_t n)
{
    if (b->cap - b->len < n) {
        fmd_status st = fmd_buf_grow(b, n);
        if (st != FMD_OK)
            return st;
    }
    if (n != 0)
        memcpy(b->ptr + b->len, s, n);
    b->len += n;
    return FMD_OK;
}

/** Append a string literal @p lit (without its NUL). */
#define FMD_BUF_PUT_LIT(b, lit) fmd_buf_append((b), (lit), sizeof(lit) - 1)

/** Append a NUL-terminated string (the NUL is not appended). */
static inline fmd_status fmd_buf_puts(fmd_buf *b, const char *s)
{
    return fmd_buf_append(b, s, strlen(s));
}

/** Append one byte. */
static inline fmd_status fmd_buf_putc(fmd_buf *b, char c)
{
    if (b->cap == b->len) {
        fmd_status st = fmd_buf_grow(b, 1);
        if (st != FMD_OK)
            return st;
    }
    b->ptr[b->len++] = c;
    return FMD_OK;
}

/** Append the decimal form of @p v. */
fmd_status fmd_buf_put_u64(fmd_buf *b, unsigned long long v);

/** Append what printf(@p fmt, ...) would print, of any length.
 * @return FMD_OK, FMD_E_NOMEM (the buffer is unchanged), or FMD_E_USAGE when vsnprintf() reports
 * an encoding error. */
fmd_status fmd_buf_printf(fmd_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** A view of the bytes written so far. Valid until the next append or the arena's reset. */
static inline fmd_slice fmd_buf_slice(const fmd_buf *b)
{
    fmd_slice s = {b->ptr, b->len};
    return s;
}

/** Append @p s as a JSON string literal, quotes included. Escapes '"', '\\' and the control
 * characters (as \n, \t, ... or \u00XX) and U+2028/U+2029 (as \u2028, \u2029, so that the output
 * is also valid JavaScript). Other bytes are copied: the caller passes valid UTF-8.
 * Written in base/json.c with fmd_json_put_body() (fmd_json.h), the one JSON string writer.
 * @return FMD_OK or FMD_E_NOMEM. */
fmd_status fmd_buf_put_json_string(fmd_buf *b, const char *s, size_t n);

#endif
