/* SPDX-License-Identifier: MIT */
/* fmd_io_state: the build state kept in OUT/.fastmd/ (what an incremental build compares with,
 * what a resumed build trusts, which outputs fastmd itself wrote), its journal, the lock that
 * makes one build the only writer of OUT, and the removal of fastmd's own leftovers. Files only:
 * the keys are computed by the caller; io/ never parses Markdown. */
#ifndef FMD_IO_STATE_H
#define FMD_IO_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fmd_status.h"

/** The state folder inside OUT. */
#define FMD_IO_STATE_DIR ".fastmd"
/** Every temporary file fastmd makes starts with this, so that a later run can recognise and
 * remove what a killed run left behind. */
#define FMD_IO_TMP_PREFIX ".fastmd-tmp."

/** fmd_io_state_rec flags. */
enum {
    FMD_IO_REC_FILE = 1u << 0,    /**< the page has an HTML file in OUT (status ok) */
    FMD_IO_REC_FAILED = 1u << 1,  /**< the page failed (its manifest line says why); no file */
    FMD_IO_REC_CURRENT = 1u << 8, /**< loaded: recorded under the options digest asked for */
};

/** One page as a build recorded it.
 *
 * On disk, one record is a header line, the three strings back to back, and a check line:
 *
 *   R <key> <size> <mtime_ns> <ino> <ctime_ns> <t0_ns> <flags> <path_len> <output_len> <line_len>\n
 *   <path><output><line><16 hex digits: a 64-bit multiply-xor check of every byte before them>\n
 *
 * Example: "R 0123..ef 12 1733400000000000000 42 1733400000000000000 1733400001000000000 1 4 6
 * 120\na.mda.html{...}\n9f..\n". A record whose check does not match (a write torn by a kill)
 * ends the file: it and everything after it are ignored. */
typedef struct fmd_io_state_rec {
    char key[33];       /**< 32 hex digits and a NUL */
    uint64_t size, ino; /**< the page's stat data when its bytes were hashed */
    int64_t mtime_ns, ctime_ns;
    int64_t t0_ns;    /**< wall-clock time the run that hashed it started (racy check) */
    unsigned flags;   /**< FMD_IO_REC_* */
    const char *path; /**< relative to SRC, NUL-terminated */
    size_t path_len;
    const char *output; /**< relative to OUT, NUL-terminated */
    size_t output_len;
    const char *line; /**< the page's manifest line, newline included (not NUL-terminated) */
    size_t line_len;
    const char *raw; /**< loaded records: the record's bytes on disk */
    size_t raw_len;
} fmd_io_state_rec;

/** The state folder of one OUT, locked. Opaque. */
typedef struct fmd_io_state fmd_io_state;

/** How long a build without --wait retries a held lock before it reports it busy: long enough for
 * the worker of a build killed with SIGKILL to die and release it, short enough to read as "at
 * once" to a user. */
#define FMD_IO_LOCK_GRACE_MS 1000

/** Create OUT/.fastmd/ (relative to @p out_dirfd) and take an exclusive flock on its "lock"
 * file, held until fmd_io_state_close(). With @p wait false a lock held by another process fails
 * after FMD_IO_LOCK_GRACE_MS; with @p wait true it waits.
 * @param err receives errno on failure, else 0.
 * @return FMD_OK; FMD_E_IO with *err EWOULDBLOCK when another build holds the lock;
 * FMD_E_CANTCREATE when the folder or lock file cannot be made; FMD_E_NOMEM.
 * Ownership: close with fmd_io_state_close(). Threads: call from one thread. */
fmd_status fmd_io_state_open(int out_dirfd, bool wait, fmd_io_state **out, int *err);

/** fmd_io_state_open() on the folder @p name under @p parent_dirfd instead of OUT/.fastmd/ (a
 * shard's state: OUT/.fastmd/shard-K-of-N/). Same returns, ownership and threads. */
fmd_status fmd_io_state_open_at(int parent_dirfd, const char *name, bool wait, fmd_io_state **out,
                                int *err);

/** Read OUT/.fastmd/state and then OUT/.fastmd/journal (what a killed or interrupted run
 * finished) into records in file order, one per path (the last one read: a journal record
 * replaces the state's), indexed by path for fmd_io_state_find(). Records written under @p digest
 * get FMD_IO_REC_CURRENT. Missing files are no error; a file that does not parse is read up to its
 * first bad record.
 * @return FMD_OK, FMD_E_NOMEM, FMD_E_IO (a read failed; err says why). Threads: one thread. */
fmd_status fmd_io_state_load(fmd_io_state *s, const char *digest, int *err);

/** The loaded records. Ownership: owned by @p s, valid until fmd_io_state_close(). */
const fmd_io_state_rec *fmd_io_state_records(const fmd_io_state *s, size_t *n);

/** The loaded record of page @p path (relative to SRC), or NULL. A hash lookup.
 * Ownership: owned by @p s, valid until fmd_io_state_close(). Threads: any, after the load. */
const fmd_io_state_rec *fmd_io_state_find(const fmd_io_state *s, const char *path);

/** Whether a journal was found by fmd_io_state_load(): the last run did not finish. */
bool fmd_io_state_interrupted(const fmd_io_state *s);

/** Whether OUT/.fastmd/state, as fmd_io_state_load() read it, is exactly the loaded records: no
 * journal was found, the file has one header naming the digest asked for, every record in it is
 * whole and checks, and no path appears twice. A build that would carry every record over
 * unchanged may then leave the file as it is. Threads: any, after the load. */
bool fmd_io_state_exact(const fmd_io_state *s);

/** Start this run's part of the journal: open OUT/.fastmd/journal for appending (an earlier
 * run's records stay) and append a header naming @p digest.
 * @return FMD_OK, FMD_E_CANTCREATE, FMD_E_IO. Threads: one thread, before any add. */
fmd_status fmd_io_state_journal_open(fmd_io_state *s, const char *digest, int *err);

/** Format @p rec (raw ignored) as its on-disk record.
 * @return a malloc'ed buffer of *len bytes, or NULL when out of memory. Threads: reentrant. */
char *fmd_io_state_format(const fmd_io_state_rec *rec, size_t *len);

/** Append record bytes (from fmd_io_state_format()) to the journal. Buffered: they reach the
 * file when the buffer passes 64 KiB and at fmd_io_state_journal_flush(). No fsync.
 * @return FMD_OK, or the first write failure (FMD_E_IO), kept for flush to report too.
 * Threads: safe from many threads at once. */
fmd_status fmd_io_state_journal_add(fmd_io_state *s, const char *bytes, size_t len);

/** Write what is buffered; with @p sync, fsync the journal too.
 * @return FMD_OK or FMD_E_IO. Threads: one thread, while no add runs. */
fmd_status fmd_io_state_journal_flush(fmd_io_state *s, bool sync, int *err);

/** Write OUT/.fastmd/state: a header naming @p digest, then @p n records given as their bytes
 * (parts[i], lens[i]: the records this run carried over without reading their pages), then the
 * records this run journaled (read back from the journal, after fmd_io_state_journal_flush()),
 * through a temporary file renamed into place (not fsync'ed: see docs/builds.md); then remove the
 * journal.
 * After this the build is complete. Records need not be in path order.
 * @return FMD_OK, FMD_E_CANTCREATE, FMD_E_IO. Threads: one thread. */
fmd_status fmd_io_state_commit(fmd_io_state *s, const char *digest, const char *const *parts,
                               const size_t *lens, size_t n, int *err);

/** Release the lock and free @p s (NULL: nothing). The journal, if any, stays. */
void fmd_io_state_close(fmd_io_state *s);

/** Remove fastmd's own leftovers under @p out_dirfd, recursively (symbolic links not followed):
 * files whose name starts with FMD_IO_TMP_PREFIX, and ".manifest.ndjson.tmp.*" at the top.
 * Nothing else is touched. @param removed receives the count.
 * @return FMD_OK, FMD_E_NOMEM. Unreadable directories are skipped. Threads: one thread. */
fmd_status fmd_io_leftovers_remove(int out_dirfd, size_t *removed);

/* Thread safety: all state is in the fmd_io_state; journal_add is the only call that may run on
 * many threads at once. */

#endif
