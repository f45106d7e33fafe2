/* SPDX-License-Identifier: MIT */
/* Loading: lay a window of pages out in one block, fill it with parallel reads (openat relative
 * to the page's directory descriptor, one read, close), and read single pages for `fastmd render`.
 * Interprets no page byte. */
#include "io_internal.h"

#include <omp.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Transparent huge page size on x86-64 and arm64 (4 KiB base pages). A block of at least this many
 * bytes is aligned to it and advised MADV_HUGEPAGE (see alloc_block()): filling 8 MiB of pages
 * page by page costs 2,000 page faults, each a trap into the kernel, and on a VM that is a large
 * part of the cost of loading. */
#define BLOCK_HUGE ((size_t)2 << 20)

/* Open a page for reading. A page found as a regular file is opened with O_NOFOLLOW, so a symlink
 * swapped in since the walk is refused (ELOOP) rather than followed out of SRC. A page reached
 * through a symlink is opened by its resolved path one component at a time from SRC's descriptor
 * (fmd__io_open_beneath_walk), so a directory on that path swapped for a link since the walk
 * (a windowed build loads long after it) cannot lead out of SRC: that open fails with EXDEV.
 * O_NONBLOCK keeps a FIFO swapped in from blocking the loader; it changes nothing for regular
 * files. On failure errno is set. */
static int open_page(const fmd_io_page *p, const fmd__io_page_src *ps, const fmd__io_dir *dirs)
{
    const int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
    if (ps->real != NULL) {
        int err = 0;
        bool outside = false;
        int fd = fmd__io_open_beneath_walk(dirs[0].fd, ps->real, flags, &err, &outside);
        if (fd < 0)
            errno = err;
        return fd;
    }
    int dfd = dirs[ps->dir].fd;
    if (dfd >= 0)
        return openat(dfd, p->path + ps->name_off, flags);
    return openat(dirs[0].fd, p->path, flags);
}

/* Read up to @p want bytes into @p dst, stopping early at @p stop bytes or at end of file.
 * The first read asks for `want` bytes at once, so a file of the expected size costs one call.
 * @return bytes read, or -1 with *e set. */
static ssize_t read_upto(int fd, char *dst, size_t want, size_t stop, int *e)
{
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd, dst + got, want - got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            *e = errno;
            return -1;
        }
        if (r == 0)
            break; /* end of file: the page shrank */
        got += (size_t)r;
        if (got >= stop)
            break;
    }
    return (ssize_t)got;
}

/* What the parallel pass found for one page. */
enum { READ_OK, READ_FAILED, READ_GREW, READ_NOT_YET };

/* Read page @p p into its slot of size p->size + 1. The extra byte shows growth: a page that
 * still has its enumerated size returns p->size bytes from the first read (a short read at the
 * known size is taken as end of file, saving a second read per page). */
static int read_page(fmd_io_page *p, const fmd__io_page_src *ps, const fmd__io_dir *dirs, char *dst,
                     fmd_page_ref *ref)
{
    int fd = open_page(p, ps, dirs);
    if (fd < 0) {
        p->err = errno;
        p->status = FMD_E_NOINPUT;
        ref->load_status = FMD_E_NOINPUT;
        return READ_FAILED;
    }
    int e = 0;
    ssize_t got = read_upto(fd, dst, p->size + 1, p->size, &e);
    close(fd); /* read-only: close cannot lose data */
    if (got < 0) {
        p->err = e;
        p->status = FMD_E_IO;
        ref->load_status = FMD_E_IO;
        return READ_FAILED;
    }
    if ((size_t)got > p->size)
        return READ_GREW;
    ref->len = (size_t)got;
    dst[got] = '\0';
    return READ_OK;
}

/* A page that grew during the parallel pass: read it again at its new size into a slot appended to
 * the block. Rare (someone is editing the tree), so it runs serially after the parallel pass. */
static fmd_status reread_grown(fmd_io_input *in, fmd_io_page *p, const fmd__io_page_src *ps,
                               const fmd__io_dir *dirs, size_t max, fmd_page_ref *ref)
{
    int fd = open_page(p, ps, dirs);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        p->err = errno;
        p->status = FMD_E_NOINPUT;
        if (fd >= 0)
            close(fd);
        ref->load_status = p->status;
        return FMD_OK;
    }
    size_t size = (size_t)st.st_size;
    if (size > max) {
        close(fd);
        p->size = size;
        p->status = ref->load_status = FMD_E_INPUT_LIMIT;
        return FMD_OK;
    }
    char *base = realloc(in->base, in->size + size + 1);
    if (base == NULL) {
        close(fd);
        return FMD_E_NOMEM;
    }
    in->base = base;
    int e = 0;
    ssize_t got = read_upto(fd, base + in->size, size + 1, size, &e);
    close(fd);
    if (got < 0 || (size_t)got > size) {
        /* It failed again, or it keeps growing: report rather than chase it. */
        p->err = got < 0 ? e : EAGAIN;
        p->status = ref->load_status = FMD_E_IO;
        return FMD_OK;
    }
    p->size = size;
    ref->offset = in->size;
    ref->len = (size_t)got;
    base[in->size + (size_t)got] = '\0';
    in->size += (size_t)got + 1;
    return FMD_OK;
}

/* The block for @p total bytes (malloc'ed, so free() and realloc() apply). When @p local is false
 * (NUMA placement: each node's threads must touch their own range first), it is plain malloc
 * memory. Otherwise:
 * - a block of BLOCK_HUGE or more starts on a BLOCK_HUGE boundary and its whole 2 MiB pieces are
 *   advised MADV_HUGEPAGE, so the kernel backs them with huge pages where it can; the tail, less
 *   than 2 MiB, stays in small pages, so the block never holds more memory than it uses
 *   (--max-memory counts on that);
 * - its pages are then made present in one call (MADV_POPULATE_WRITE), instead of one page fault
 *   each when read() first writes them.
 * Both are hints: on a kernel without them (populate needs Linux 5.14) or with transparent huge
 * pages off, the block works as plain pages, faulted in as before. */
static char *alloc_block(size_t total, bool local)
{
    char *p;
    if (!local || total < BLOCK_HUGE) {
        p = malloc(total ? total : 1);
    } else {
        void *q = NULL;
        p = posix_memalign(&q, BLOCK_HUGE, total) == 0 ? q : NULL;
#ifdef MADV_HUGEPAGE
        if (p != NULL)
            (void)madvise(p, total & ~(BLOCK_HUGE - 1), MADV_HUGEPAGE);
#endif
    }
    if (p != NULL && local)
        fmd__io_populate(p, total);
    return p;
}

fmd_status fmd_io_pages_load(fmd_io_batch *b, size_t first, size_t count, size_t max_input_bytes,
                             int nthreads, fmd_io_input *in)
{
    return fmd_io_pages_load_placed(b, first, count, max_input_bytes, nthreads, NULL, in);
}

/* Read page k (of the range) once; records the outcome. */
static long read_one(fmd_io_page *pages, const fmd__io_page_src *srcs, fmd_page_ref *refs,
                     const fmd__io_dir *dirs, char *base, unsigned char *outcome, long k)
{
    outcome[k] = READ_FAILED;
    if (refs[k].load_status != FMD_OK)
        return 0;
    outcome[k] =
        (unsigned char)read_page(&pages[k], &srcs[k], dirs, base + refs[k].offset, &refs[k]);
    return outcome[k] == READ_GREW;
}

fmd_status fmd_io_pages_load_placed(fmd_io_batch *b, size_t first, size_t count,
                                    size_t max_input_bytes, int nthreads,
                                    const fmd_io_placement *pl, fmd_io_input *in)
{
    fmd_status st = FMD_OK;
    unsigned char *outcome = NULL;
    if (in == NULL)
        return FMD_E_USAGE;
    memset(in, 0, sizeof *in);
    if (b == NULL || first > b->n_pages || count > b->n_pages - first)
        return FMD_E_USAGE;
    size_t max = max_input_bytes ? max_input_bytes : FMD_MAX_INPUT_BYTES_DEFAULT;
    fmd_io_page *pages = b->pages + first;
    const fmd__io_page_src *srcs = b->srcs + first;

    in->first = first;
    in->count = count;
    in->refs = malloc((count ? count : 1) * sizeof *in->refs);
    outcome = malloc(count ? count : 1);
    if (in->refs == NULL || outcome == NULL) {
        st = FMD_E_NOMEM;
        goto fail;
    }

    /* Layout: every readable page gets size + 1 bytes (its NUL, or the byte that shows it grew);
     * the others get an empty ref and no space. */
    size_t total = 0;
    for (size_t k = 0; k < count; k++) {
        fmd_io_page *p = &pages[k];
        fmd_page_ref *r = &in->refs[k];
        r->offset = total;
        r->len = 0;
        r->load_status = p->status;
        if (p->status == FMD_OK && p->size > max)
            p->status = r->load_status = FMD_E_INPUT_LIMIT;
        if (r->load_status != FMD_OK)
            continue;
        if (p->size + 1 > SIZE_MAX - total) {
            st = FMD_E_NOMEM;
            goto fail;
        }
        total += p->size + 1;
    }
    /* malloc rather than an arena: one block, untouched until the readers' first touch, so each
     * page's memory lands on the node of the thread that reads it. */
    in->base = alloc_block(total, pl == NULL || pl->n_parts < 2);
    if (in->base == NULL) {
        st = FMD_E_NOMEM;
        goto fail;
    }
    in->size = total;

    char *base = in->base;
    fmd_page_ref *refs = in->refs;
    const fmd__io_dir *dirs = b->dirs;
    const long n = (long)count;
    long grown = 0;
    if (pl == NULL || pl->n_parts < 2) {
#pragma omp parallel for schedule(dynamic, FMD__IO_CHUNK) num_threads(fmd__io_threads(nthreads)) \
    if (n > FMD__IO_CHUNK) default(none) shared(pages, srcs, refs, dirs, base, outcome, n) \
    reduction(+ : grown)
        for (long k = 0; k < n; k++)
            grown += read_one(pages, srcs, refs, dirs, base, outcome, k);
    } else {
        /* NUMA placement: the threads of node p read node p's contiguous range of pages, each a
         * contiguous share of it, so the first touch puts those pages of the block on node p.
         * Pages of a part no thread belongs to are read afterwards by everyone. */
        int nt = fmd__io_threads(nthreads);
        memset(outcome, READ_NOT_YET, count);
#pragma omp parallel num_threads(nt) default(none)                                             \
    shared(pages, srcs, refs, dirs, base, outcome, n, pl, nt) reduction(+ : grown)
        {
            int t = omp_get_thread_num();
            if (pl->start != NULL)
                pl->start(t, pl->userdata);
            int part = pl->thread_part[t];
            int rank = 0, members = 0;
            for (int u = 0; u < nt; u++) {
                if (pl->thread_part[u] == part) {
                    rank += u < t;
                    members++;
                }
            }
            if (part >= 0 && (size_t)part < pl->n_parts) {
                size_t lo = pl->part_first[part], len = pl->part_first[part + 1] - lo;
                size_t a = lo + len * (size_t)rank / (size_t)members;
                size_t z = lo + len * (size_t)(rank + 1) / (size_t)members;
                for (size_t k = a; k < z; k++)
                    grown += read_one(pages, srcs, refs, dirs, base, outcome, (long)k);
            }
#pragma omp barrier
#pragma omp for schedule(dynamic, FMD__IO_CHUNK)
            for (long k = 0; k < n; k++)
                if (outcome[k] == READ_NOT_YET)
                    grown += read_one(pages, srcs, refs, dirs, base, outcome, k);
        }
    }

    for (size_t k = 0; grown != 0 && k < count; k++) {
        if (outcome[k] == READ_GREW)
            FMD_TRY(reread_grown(in, &pages[k], &srcs[k], dirs, max, &in->refs[k]));
    }
    free(outcome);
    return FMD_OK;

fail:
    free(outcome);
    fmd_io_input_destroy(in);
    return st;
}

void fmd_io_input_destroy(fmd_io_input *in)
{
    if (in == NULL)
        return;
    free(in->base);
    free(in->refs);
    memset(in, 0, sizeof *in);
}

/*** One page from a path or a stream ***/

fmd_status fmd_io_fd_read(int fd, size_t max_bytes, fmd_arena *arena, fmd_slice *out, int *err)
{
    if (arena == NULL || out == NULL)
        return FMD_E_USAGE;
    size_t max = max_bytes ? max_bytes : FMD_MAX_INPUT_BYTES_DEFAULT;
    if (max > SIZE_MAX / 2)
        max = SIZE_MAX / 2; /* so that max + 1 and the buffer's doubling cannot overflow */
    fmd_status st = FMD_OK;
    int e0 = 0;
    fmd_buf buf;
    fmd_buf_reset(&buf, arena);
    out->ptr = NULL;
    out->len = 0;

    /* A regular file: size the buffer once, so the read takes one call. */
    struct stat sb;
    size_t hint = 4096;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0)
        hint = (size_t)sb.st_size < max ? (size_t)sb.st_size + 1 : max + 1;
    FMD_TRY(fmd_buf_grow(&buf, hint + 1));
    for (;;) {
        if (buf.cap - buf.len < 2)
            FMD_TRY(fmd_buf_grow(&buf, buf.cap));
        /* Never ask for more than max + 1 bytes in all: enough to tell the page is too big. */
        size_t room = buf.cap - buf.len - 1;
        if (room > max + 1 - buf.len)
            room = max + 1 - buf.len;
        ssize_t r = read(fd, buf.ptr + buf.len, room);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            e0 = errno;
            st = FMD_E_IO;
            goto fail;
        }
        if (r == 0)
            break;
        buf.len += (size_t)r;
        if (buf.len > max) {
            st = FMD_E_INPUT_LIMIT;
            goto fail;
        }
    }
    buf.ptr[buf.len] = '\0';
    out->ptr = buf.ptr;
    out->len = buf.len;
    if (err)
        *err = 0;
    return FMD_OK;

fail:
    if (err)
        *err = e0;
    return st;
}

fmd_status fmd_io_file_read(const char *path, size_t max_bytes, fmd_arena *arena, fmd_slice *out,
                            int *err)
{
    if (path == NULL || arena == NULL || out == NULL)
        return FMD_E_USAGE;
    if (strcmp(path, "-") == 0)
        return fmd_io_fd_read(STDIN_FILENO, max_bytes, arena, out, err);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (err)
            *err = errno;
        out->ptr = NULL;
        out->len = 0;
        return FMD_E_NOINPUT;
    }
    fmd_status st = fmd_io_fd_read(fd, max_bytes, arena, out, err);
    close(fd);
    return st;
}
