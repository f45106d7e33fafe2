/* SPDX-License-Identifier: MIT */
/* Shared between the files of io/ (fmd__io_*): the batch's layout, the directory table, a string
 * set, and the small helpers the loader and writer share. Not installed, not API. */
#ifndef FMD_IO_INTERNAL_H
#define FMD_IO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fmd_arena.h"
#include "fmd_io.h"

/** Parallel loops hand out this many pages at a time: a page costs 10 to 150 us of system calls,
 * so a chunk of 4 keeps the scheduler's atomic increment out of the profile while still balancing
 * a tail of large pages. */
#define FMD__IO_CHUNK 4

/** One directory of the source tree. path is relative to SRC ("" for SRC itself), no trailing '/'.
 * fd is an O_DIRECTORY descriptor, or -1 once the descriptor budget is spent (pages in it are then
 * opened by their full relative path from the root's fd). */
typedef struct fmd__io_dir {
    const char *path;
    size_t path_len;
    int fd;
} fmd__io_dir;

/* What only io/ needs of page i of a batch (b->srcs[i], beside b->pages[i]): where the page is
 * opened from, and what enumeration left in its status, for fmd_io_batch_reset_status(). */
typedef struct fmd__io_page_src {
    uint32_t dir;      /* index of its directory in the batch */
    uint32_t name_off; /* path + name_off is its name inside that directory */
    const char *real;  /* for a page reached through a symlink, its resolved path relative to
                          SRC's (opened component-wise from SRC's descriptor), or NULL */
    fmd_status status0;
    int err0;
} fmd__io_page_src;

struct fmd_io_batch {
    fmd_arena *strings; /* paths, outputs, names, resolved link targets */
    fmd_io_page *pages;
    fmd__io_page_src *srcs; /* one per page, same index, same capacity */
    size_t n_pages, cap_pages;
    fmd_io_warning *warnings;
    size_t n_warnings, cap_warnings;
    fmd__io_dir *dirs; /* dirs[0] is SRC; its fd is the root fd */
    size_t n_dirs, cap_dirs;
    size_t fd_budget; /* directory descriptors we may keep open */
    size_t fds_open;
    char *src_real; /* realpath(SRC), to decide whether a link stays inside */
    size_t src_real_len;
};

/** The thread count a parallel loop uses for a caller's @p nthreads (0: the OpenMP default). */
int fmd__io_threads(int nthreads);

/** How many directory descriptors one table may keep open: a quarter of RLIMIT_NOFILE's soft
 * limit (the rest is left to the other table, the temporary files and the caller), at least 0. */
size_t fmd__io_fd_budget(void);

/** Write @p len bytes to @p fd, looping on short writes and EINTR.
 * @return 0, or the errno (not an fmd_status: only the caller knows whether it means
 * FMD_E_CANTCREATE or FMD_E_IO). */
int fmd__io_write_all(int fd, const void *data, size_t len);

/** fmd_io_file_write_atomic() of several slices written one after the other (the manifest's
 * per-thread pieces), so they need not be joined in memory first. */
fmd_status fmd__io_write_parts_atomic(int dirfd, const char *path, const fmd_slice *parts,
                                      size_t n_parts, int *err);

/** The descriptor of the output directory itself. */
int fmd__io_out_dirfd(const fmd_io_out *o);

/*** A set of byte strings (open addressing, FNV-1a) ***/

/** The strings are not copied: they must outlive the set. value is the caller's. */
typedef struct fmd__io_set_entry {
    const char *key;
    size_t len;
    uint64_t hash;
    uint32_t value;
} fmd__io_set_entry;

typedef struct fmd__io_set {
    fmd__io_set_entry *slots; /* key NULL: empty */
    size_t cap;               /* a power of two, or 0 */
    size_t count;
} fmd__io_set;

/** Find @p key. @return its entry, or NULL. */
fmd__io_set_entry *fmd__io_set_find(const fmd__io_set *s, const char *key, size_t len);

/** Insert @p key with @p value unless it is there.
 * @param found receives the entry (the new one, or the one already there).
 * @param inserted receives whether the key was new.
 * @return FMD_OK or FMD_E_NOMEM (the set is then unchanged). */
fmd_status fmd__io_set_insert(fmd__io_set *s, const char *key, size_t len, uint32_t value,
                              fmd__io_set_entry **found, bool *inserted);

/** Size the set for @p n keys at once, so that inserting them never grows it (each growth is a
 * new table, touched page by page). @return FMD_OK or FMD_E_NOMEM (the set is then unchanged). */
fmd_status fmd__io_set_reserve(fmd__io_set *s, size_t n);

/** Free the slots. */
void fmd__io_set_free(fmd__io_set *s);

/** Make the whole pages inside [p, p + len) present in one call (MADV_POPULATE_WRITE, Linux
 * 5.14), instead of one page fault each at the first write; a hint, ignored where unsupported.
 * Threads: any; the range must be the caller's own, writable memory. */
void fmd__io_populate(void *p, size_t len);

/** Open @p path beneath the directory @p rootfd without openat2: one component at a time, each
 * openat() relative to a directory descriptor already held and with O_NOFOLLOW; ".." pops the
 * walk's own stack (".." at the root is outside), a symbolic link's text is spliced into the rest
 * of the path (an absolute link is outside; more than 40 links is ELOOP). Nothing outside the
 * root can be opened even while links and directories change during the walk.
 * @param flags the open flags of the last component (O_NOFOLLOW is added).
 * @return the descriptor, or -1 with *err set (EXDEV with *outside true when the path leads out).
 * Threads: safe. */
int fmd__io_open_beneath_walk(int rootfd, const char *path, int flags, int *err, bool *outside);

#endif
