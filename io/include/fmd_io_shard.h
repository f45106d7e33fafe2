/* SPDX-License-Identifier: MIT */
/* fmd_io_shard: one build split across machines (`fastmd build --shard K/N`, `fastmd merge`).
 * The partition of a sorted page list into N contiguous ranges balanced by bytes, the narrowing
 * of a batch to one range, each shard's folder OUT/.fastmd/shard-K-of-N/ (its lock, state,
 * journal, partial manifest and "done" record), and the merge of N finished shards into the one
 * OUT/manifest.ndjson. Files only: it never parses Markdown and never prints. */
#ifndef FMD_IO_SHARD_H
#define FMD_IO_SHARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fmd_io.h"
#include "fmd_status.h"

/** The most shards one build may be split into. */
#define FMD_IO_SHARD_MAX 65536u

/** What one page weighs in the partition beyond its bytes: the fixed cost of a page (open, read,
 * create its file, rename it, its manifest line), in bytes of rendering that cost as much.
 * Without it a shard of many tiny pages would do far more than its share of file operations. */
#define FMD_IO_SHARD_PAGE_BYTES 2048u

/** The pages of shard @p k of @p n: a contiguous range [*first, *first + *count) of the page list
 * (sorted by path), balanced by weight (size + FMD_IO_SHARD_PAGE_BYTES).
 *
 * Rule: with W the total weight and P_i the weight of the pages before page i, page i belongs to
 * shard 1 + floor(n * (2 P_i + w_i) / (2 W)) (its midpoint's share), at most n. The shard number
 * never decreases along the list, so the shards are contiguous and in order, and together they
 * hold every page exactly once; each shard's weight is within one page's weight of W / n. A
 * shard may be empty (more shards than pages). The result depends only on the sizes, in order.
 *
 * Example: sizes {0, 0, 0, 0} (weights 2048 each), n = 2: pages 0-1 are shard 1, 2-3 shard 2.
 *
 * @param sizes the pages' sizes in bytes, in page-list order (may be NULL when @p n_pages is 0).
 * @pre 1 <= k <= n <= FMD_IO_SHARD_MAX.
 * @return FMD_OK, or FMD_E_USAGE when k or n is out of range.
 * Threads: reentrant (pure). */
fmd_status fmd_io_shard_range(const size_t *sizes, size_t n_pages, unsigned k, unsigned n,
                              size_t *first, size_t *count);

/** Keep pages [first, first + count) of @p b and drop the others, so that loading and writing
 * index the kept pages from 0. Their paths and outputs stay where they were (pointers taken
 * before stay valid until fmd_io_batch_destroy(b)).
 * @return FMD_OK, or FMD_E_USAGE when the range is not inside the batch.
 * Threads: one thread, while nothing else uses @p b. */
fmd_status fmd_io_batch_keep(fmd_io_batch *b, size_t first, size_t count);

/** One shard's folder, OUT/.fastmd/shard-K-of-N/, entered: a shared flock is held on
 * OUT/.fastmd/lock (so that shards run side by side, while a plain build or a merge, which take
 * it exclusively, wait for or refuse them). Opaque. */
typedef struct fmd_io_shard fmd_io_shard;

/** Create OUT/.fastmd/ and OUT/.fastmd/shard-K-of-N/ (relative to @p out_dirfd) and take the
 * shared lock on OUT/.fastmd/lock (waiting for it with @p wait, else failing at once).
 * @return FMD_OK; FMD_E_IO with *err EWOULDBLOCK when a plain build or a merge holds OUT;
 * FMD_E_CANTCREATE; FMD_E_USAGE (k, n out of range); FMD_E_NOMEM.
 * Ownership: close with fmd_io_shard_close(). Threads: one thread. */
fmd_status fmd_io_shard_open(int out_dirfd, unsigned k, unsigned n, bool wait, fmd_io_shard **out,
                             int *err);

/** The descriptor of OUT/.fastmd/ (the parent for fmd_io_state_open_at()).
 * Ownership: owned by @p s. */
int fmd_io_shard_parent_fd(const fmd_io_shard *s);

/** "shard-K-of-N", the folder's name inside OUT/.fastmd/. Ownership: owned by @p s. */
const char *fmd_io_shard_name(const fmd_io_shard *s);

/** ".fastmd/shard-K-of-N/manifest.ndjson": the shard's partial manifest, relative to OUT.
 * Ownership: owned by @p s. */
const char *fmd_io_shard_manifest(const fmd_io_shard *s);

/** What a finished shard records in OUT/.fastmd/shard-K-of-N/done, for the merge to check. */
typedef struct fmd_io_shard_info {
    unsigned k, n;
    char version[64];        /**< fastmd's version */
    char digest[33];         /**< the options digest (docs/builds.md) */
    char list[33];           /**< a hash of every path and size in SRC: all shards saw one SRC */
    uint64_t pages;          /**< pages in this shard */
    uint64_t all_pages;      /**< pages in SRC */
    uint64_t manifest_bytes; /**< size of the partial manifest (filled by publish) */
} fmd_io_shard_info;

/** Remove the shard's "done" record: from now until fmd_io_shard_publish(), the shard is not
 * finished. @return FMD_OK or FMD_E_IO. Threads: one thread. */
fmd_status fmd_io_shard_unpublish(fmd_io_shard *s, int *err);

/** Write the shard's "done" record from @p info (its manifest_bytes is taken from the partial
 * manifest on disk), atomically. Call once the shard's manifest and state are in place.
 * @return FMD_OK, FMD_E_NOINPUT (no partial manifest), FMD_E_CANTCREATE, FMD_E_IO.
 * Threads: one thread. */
fmd_status fmd_io_shard_publish(fmd_io_shard *s, const fmd_io_shard_info *info, int *err);

/** Remove the temporary files of the shard's partial manifest (".manifest.ndjson.tmp.*") that a
 * killed run of this shard left in its folder. Call only while holding the shard's own state
 * (fmd_io_state_open_at() on its folder): then no other run of this shard is writing one.
 * @param removed incremented by the count removed.
 * @return FMD_OK, or FMD_E_IO when the folder cannot be read.
 * Threads: one thread. */
fmd_status fmd_io_shard_leftovers_remove(fmd_io_shard *s, size_t *removed);

/** Release the shared lock and free @p s (NULL: nothing). */
void fmd_io_shard_close(fmd_io_shard *s);

/** Why a merge was refused. */
typedef enum fmd_io_merge_problem {
    FMD_IO_MERGE_OK = 0,
    FMD_IO_MERGE_NO_SHARDS,  /**< OUT/.fastmd/ holds no shard folder */
    FMD_IO_MERGE_COUNTS,     /**< shard folders of several counts N and no count chosen */
    FMD_IO_MERGE_MISSING,    /**< shard `shard` of N has no folder */
    FMD_IO_MERGE_UNFINISHED, /**< shard `shard` has not finished (no valid "done" record) */
    FMD_IO_MERGE_VERSION,    /**< shard `shard` was built by another fastmd version than shard 1 */
    FMD_IO_MERGE_OPTIONS,    /**< shard `shard` was built with other options than shard 1 */
    FMD_IO_MERGE_SOURCE,     /**< shard `shard` saw another SRC (other paths or sizes) */
    FMD_IO_MERGE_DAMAGED,    /**< shard `shard`'s partial manifest is not the one it recorded */
    FMD_IO_MERGE_LOCKED,     /**< a build holds OUT (its lock): try again when it is done */
} fmd_io_merge_problem;

/** The outcome of a merge, for messages. */
typedef struct fmd_io_merge_result {
    fmd_io_merge_problem problem;
    unsigned n;       /**< the shard count merged (or found) */
    unsigned shard;   /**< the shard at fault, 1-based; 0 when none */
    char counts[128]; /**< FMD_IO_MERGE_COUNTS: the counts found, "2, 3" */
    char found[64];   /**< VERSION / OPTIONS: what the shard at fault has */
    char want[64];    /**< and what shard 1 has */
    uint64_t pages;   /**< lines in the merged manifest */
    uint64_t bytes;   /**< its size */
    size_t leftovers; /**< temporary files of killed builds removed */
    int err;          /**< errno of an I/O failure */
    const char *what; /**< the file an I/O failure is about */
} fmd_io_merge_result;

/** Check that shards 1..N of OUT all finished, with one fastmd version, one options digest and
 * one SRC, then write OUT/manifest.ndjson as their partial manifests one after the other (each is
 * in path order and the shards are consecutive ranges, so this is the manifest a single build
 * writes), atomically. Takes OUT/.fastmd/lock exclusively while it works (no shard and no build
 * runs meanwhile), and removes the temporary files killed builds left in OUT and in the shard
 * folders of the count merged.
 * @param n the shard count to merge, or 0: the one count whose folders OUT/.fastmd/ holds.
 * @param wait wait for running builds instead of failing with FMD_IO_MERGE_LOCKED.
 * @return FMD_OK; FMD_E_NOINPUT (NO_SHARDS, MISSING, UNFINISHED; OUT missing), FMD_E_USAGE
 * (COUNTS, VERSION, OPTIONS, SOURCE, DAMAGED), FMD_E_IO (LOCKED, or a read or write failed:
 * r->what, r->err), FMD_E_CANTCREATE, FMD_E_NOMEM. r->problem says which.
 * Threads: one thread. */
fmd_status fmd_io_shard_merge(const char *out_dir, unsigned n, bool wait, fmd_io_merge_result *r);

/* Thread safety: reentrant. All state is in the fmd_io_shard or the call's own variables. */

#endif
