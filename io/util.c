/* SPDX-License-Identifier: MIT */
/* Small pieces the other io/ files share: thread counts, the descriptor budget, full writes and
 * a string set. No global state. */
#include "io_internal.h"

#include <errno.h>
#include <omp.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fmd_hash.h"

int fmd__io_threads(int nthreads)
{
    return nthreads > 0 ? nthreads : omp_get_max_threads();
}

size_t fmd__io_fd_budget(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 64;
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > ((rlim_t)1 << 24))
        return (size_t)1 << 22;
    return (size_t)rl.rlim_cur / 4;
}

int fmd__io_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            int e = errno;
            if (e == EINTR)
                continue;
            return e;
        }
        if (w == 0)
            return EIO; /* a regular file never accepts 0 bytes of a non-empty write */
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

void fmd__io_populate(void *p, size_t len)
{
#ifdef MADV_POPULATE_WRITE
    long page = sysconf(_SC_PAGESIZE);
    if (p == NULL || page <= 0)
        return;
    /* Only the whole pages inside the range: the bytes around it may be malloc's. */
    uintptr_t mask = (uintptr_t)page - 1;
    uintptr_t lo = ((uintptr_t)p + mask) & ~mask, hi = ((uintptr_t)p + len) & ~mask;
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
#else
    (void)p;
    (void)len;
#endif
}

/*** String set ***/

static fmd__io_set_entry *probe(const fmd__io_set *s, const char *key, size_t len, uint64_t h)
{
    size_t mask = s->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        fmd__io_set_entry *e = &s->slots[i];
        if (e->key == NULL)
            return e;
        if (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0)
            return e;
    }
}

fmd__io_set_entry *fmd__io_set_find(const fmd__io_set *s, const char *key, size_t len)
{
    if (s->cap == 0)
        return NULL;
    fmd__io_set_entry *e = probe(s, key, len, fmd_fnv1a64(key, len));
    return e->key != NULL ? e : NULL;
}

/* Grow the table to @p cap slots (a power of two, more than twice the count) and re-insert every
 * key. A large calloc is fresh zero pages that probe() would read first (mapping the shared zero
 * page) and then write (a second fault, copy-on-write, with a TLB flush across the process's
 * CPUs): the table is made present for writing in one call instead. (A memset would be folded
 * back into calloc by the compiler.) */
static fmd_status rehash_to(fmd__io_set *s, size_t cap)
{
    fmd__io_set_entry *old = s->slots;
    size_t old_cap = s->cap;
    if (cap > SIZE_MAX / sizeof *old)
        return FMD_E_NOMEM;
    fmd__io_set_entry *slots = calloc(cap, sizeof *slots);
    if (slots == NULL)
        return FMD_E_NOMEM;
    fmd__io_populate(slots, cap * sizeof *slots);
    s->slots = slots;
    s->cap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].key != NULL)
            *probe(s, old[i].key, old[i].len, old[i].hash) = old[i];
    }
    free(old);
    return FMD_OK;
}

fmd_status fmd__io_set_reserve(fmd__io_set *s, size_t n)
{
    size_t cap = 64;
    while (cap / 2 < n + 1) {
        if (cap > SIZE_MAX / 4)
            return FMD_E_NOMEM;
        cap *= 2;
    }
    return cap > s->cap ? rehash_to(s, cap) : FMD_OK;
}

fmd_status fmd__io_set_insert(fmd__io_set *s, const char *key, size_t len, uint32_t value,
                              fmd__io_set_entry **found, bool *inserted)
{
    /* Keep the load factor under 1/2 so that probe sequences stay short. */
    if ((s->count + 1) * 2 > s->cap) {
        fmd_status st = rehash_to(s, s->cap ? s->cap * 2 : 64);
        if (st != FMD_OK)
            return st;
    }
    uint64_t h = fmd_fnv1a64(key, len);
    fmd__io_set_entry *e = probe(s, key, len, h);
    *inserted = e->key == NULL;
    if (*inserted) {
        e->key = key;
        e->len = len;
        e->hash = h;
        e->value = value;
        s->count++;
    }
    *found = e;
    return FMD_OK;
}

void fmd__io_set_free(fmd__io_set *s)
{
    free(s->slots);
    s->slots = NULL;
    s->cap = 0;
    s->count = 0;
}

int fmd_io_writev_all(int fd, struct iovec *iov, int cnt)
{
    while (cnt > 0) {
        ssize_t w = writev(fd, iov, cnt);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        size_t left = (size_t)w;
        while (cnt > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) { /* a short write: go on from the middle of this entry */
            iov->iov_base = (char *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return 0;
}
