/* SPDX-License-Identifier: MIT */
/* fmd_io: the file side of a batch. Enumerates a source tree, loads every page into one input
 * block with parallel reads, writes HTML files atomically and in parallel, and formats the
 * manifest's JSON lines. It uses the kernel's types (fmd_result, fmd_page_ref) but never calls the
 * kernel, never includes md4c.h, never prints and never exits: every failure comes back as an
 * fmd_status plus a copy of errno. */
#ifndef FMD_IO_H
#define FMD_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fmd_arena.h"
#include "fmd_kernel.h" /* types only: fmd_result, fmd_page_ref; io does not link the kernel */
#include "fmd_status.h"

/*** Enumeration ***/

/** One page of a batch, as enumeration found it and as loading and writing left it.
 *
 * Example: SRC/guide/intro.markdown gives path "guide/intro.markdown", output "guide/intro.html".
 * SRC/..md gives path "..md", output "..html".
 *
 * Invariants: path and output are NUL-terminated, relative, '/'-separated, never start with '/'
 * and never contain "." or ".." components (they mirror real directory entries). Pages of a batch
 * are sorted by path in byte order (strcmp). status is FMD_OK until something fails for this page;
 * the first failure sticks. */
typedef struct fmd_io_page {
    const char *path;   /**< relative to SRC */
    const char *output; /**< relative to OUT: path with ".md" / ".markdown" replaced by ".html" */
    size_t size;        /**< bytes, from the one stat done at enumeration */
    fmd_status status;  /**< FMD_OK, or FMD_E_COLLISION / FMD_E_NOINPUT (enumeration),
                             FMD_E_INPUT_LIMIT / FMD_E_NOINPUT / FMD_E_IO (loading),
                             FMD_E_CANTCREATE / FMD_E_IO (writing) */
    int err;            /**< errno copied right after the failing call; 0 when none applies */
    /** From the same stat as size (the target's, for a page reached through a link): what an
     * incremental build compares with its state to skip a page without reading it. */
    int64_t mtime_ns, ctime_ns;
    uint64_t ino;
} fmd_io_page;

/** Why enumeration skipped part of the tree. None of these stops the batch. */
typedef enum fmd_io_warning_kind {
    FMD_IO_WARN_UNREADABLE_DIR, /**< a directory could not be opened or read (see err) */
    FMD_IO_WARN_LINK_OUTSIDE,   /**< a symbolic link leads out of SRC: not followed */
    FMD_IO_WARN_LINK_BROKEN,    /**< a symbolic link named like a page leads nowhere (see err) */
    FMD_IO_WARN_CYCLE,          /**< a directory link leads back to one of its ancestors */
    FMD_IO_WARN_SPECIAL,        /**< named like a page but a FIFO, socket or device (or a link to
                                     one): not read */
    FMD_IO_WARN_NAME_CASE,      /**< ends in ".md" or ".markdown" in another case (".MD"): not a
                                     page, skipped */
    FMD_IO_WARN_NAME_UTF8,      /**< a page whose path is not valid UTF-8: kept in the batch with
                                     status FMD_E_UTF8 (err EILSEQ), refused rather than renamed */
} fmd_io_warning_kind;

/** One thing enumeration skipped, for the cli to print. */
typedef struct fmd_io_warning {
    fmd_io_warning_kind kind;
    const char *path; /**< relative to SRC ("" is SRC itself) */
    int err;          /**< errno copy, 0 when the kind says it all */
} fmd_io_warning;

/** A fixed English phrase for @p kind ("symbolic link leads out of the source tree").
 * @return a static string, never NULL. Threads: reentrant. */
const char *fmd_io_warning_str(fmd_io_warning_kind kind);

/** The pages of one batch, the directories they were found in (kept open as descriptors for the
 * whole batch) and the warnings of the walk. Opaque; read it through the accessors. */
typedef struct fmd_io_batch fmd_io_batch;

/** Walk the tree under @p src and collect every page: each regular file whose name ends in ".md" or
 * ".markdown" (names such as "..md" and ".md" included). Everything is walked, hidden files and
 * directories (".git" too) included: fastmd has no ignore rules. Other files are ignored; FIFOs,
 * sockets and devices named like pages, and names ending in ".MD" or another case of the
 * extensions, are skipped with a warning each. A page whose path is not valid UTF-8 is refused:
 * it keeps its place with status FMD_E_UTF8 (a warning too), so that the manifest never carries
 * a path that does not name the file.
 *
 * Symbolic links are followed only when their target (realpath) lies inside SRC; a link leading
 * out, a dangling link named like a page, and a directory link leading back to one of its own
 * ancestors (a cycle) are skipped with a warning. A directory reached through two different links
 * is walked under each name: paths, not inodes, identify pages, so the result does not depend on
 * readdir's order. A page found through a link is named by the link and read from its target.
 *
 * Cost: one getdents pass per directory and one fstatat per page (the size), done in parallel on
 * @p nthreads threads after the walk; files are told apart by d_type, so non-pages cost no stat.
 * Each directory's descriptor stays open until fmd_io_batch_destroy(), up to a quarter of
 * RLIMIT_NOFILE; beyond that, pages are opened by their path relative to SRC instead.
 *
 * Two pages with the same output path (a.markdown and a.md, or a page whose output names a
 * directory of other pages' outputs): the later one in path order gets status FMD_E_COLLISION.
 * A page that vanished or could not be stat'ed between readdir and the size pass keeps its place
 * with FMD_E_NOINPUT and the errno.
 *
 * @param src the source directory (relative to the working directory, or absolute).
 * @param nthreads threads for the size pass; 0 means omp_get_max_threads().
 * @param out receives the batch (NULL on failure).
 * @param err receives the errno of a batch-level failure, 0 otherwise; may be NULL.
 * @return FMD_OK; FMD_E_NOINPUT when @p src is missing, not a directory or cannot be opened;
 * FMD_E_NOMEM; FMD_E_USAGE when an argument is NULL. Unreadable subdirectories are warnings.
 * Ownership: the caller owns *out; free it with fmd_io_batch_destroy().
 * Threads: call from one thread; it forks its own team for the size pass. */
fmd_status fmd_io_tree_enumerate(const char *src, int nthreads, fmd_io_batch **out, int *err);

/** Close the batch's directory descriptors and free it. @p b may be NULL. */
void fmd_io_batch_destroy(fmd_io_batch *b);

/** The pages, sorted by path. @param n receives the count.
 * Ownership: owned by @p b, valid until fmd_io_batch_destroy(b). Loading and writing update the
 * status and err of the pages they touch. */
fmd_io_page *fmd_io_batch_pages(fmd_io_batch *b, size_t *n);

/** The warnings of the walk, in walk order. @param n receives the count.
 * Ownership: owned by @p b, valid until fmd_io_batch_destroy(b). */
const fmd_io_warning *fmd_io_batch_warnings(const fmd_io_batch *b, size_t *n);

/** Give every page back the status and err enumeration left it with, forgetting what loading and
 * writing recorded (to run the same batch again, as `fastmd bench` does). */
void fmd_io_batch_reset_status(fmd_io_batch *b);

/** Sum of the sizes of the pages whose status is FMD_OK: what loading them all would take. */
size_t fmd_io_batch_bytes(const fmd_io_batch *b);

/*** Loading ***/

/** Pages [first, first + count) of a batch, loaded into one block.
 *
 * Layout: page k (batch page first + k) has its bytes at base + refs[k].offset, refs[k].len long,
 * followed by one NUL byte (so a page is also a C string, though the kernel does not need it).
 * Pages are back to back in order. A page that was not read (load_status != FMD_OK) has len 0.
 * Example: pages "ab" and "" (empty) give base "ab\0\0", refs {0, 2, OK}, {3, 0, OK}. */
typedef struct fmd_io_input {
    char *base;         /**< the block: malloc'ed; see fmd_io_pages_load() for its pages */
    size_t size;        /**< bytes of the block in use */
    fmd_page_ref *refs; /**< count entries */
    size_t first;       /**< batch index of refs[0] */
    size_t count;
} fmd_io_input;

/** Load pages [first, first + count) of @p b: size them all, allocate one block for all of them,
 * then fill it with parallel reads (OpenMP, dynamic schedule). Each page costs openat (relative to
 * its directory's descriptor), one read of its known size + 1 byte, and close. The block's pages
 * are made present before the reads, in one madvise(MADV_POPULATE_WRITE) where the kernel has it,
 * and a block of 2 MiB or more starts on a 2 MiB boundary with its whole 2 MiB pieces advised
 * MADV_HUGEPAGE (fmd_io_pages_load_placed() with several parts does neither: first touch places).
 * A page whose status is already a failure is not read and keeps that status as load_status. A page
 * larger than @p max_input_bytes gets FMD_E_INPUT_LIMIT and no byte is read. A page that cannot be
 * opened gets FMD_E_NOINPUT, one whose read fails FMD_E_IO, both with the errno in page.err. A
 * page that shrank since enumeration is loaded at its new length; one that grew is re-read at its
 * new size after the parallel pass (the block is then reallocated: offsets stay valid), and gets
 * FMD_E_IO with err EAGAIN only if it keeps changing.
 * @param max_input_bytes 0 means FMD_MAX_INPUT_BYTES_DEFAULT.
 * @param nthreads 0 means omp_get_max_threads().
 * @param in receives the block (zeroed on failure).
 * @return FMD_OK (page failures are in in->refs and in the pages), FMD_E_NOMEM, or FMD_E_USAGE
 * when the range is outside the batch.
 * Ownership: the caller owns in's memory; free it with fmd_io_input_destroy(). It does not depend
 * on
 * @p b staying alive.
 * Threads: call from one thread; it forks its own team. Page i's fields are written only by the
 * iteration that reads page i. */
fmd_status fmd_io_pages_load(fmd_io_batch *b, size_t first, size_t count, size_t max_input_bytes,
                             int nthreads, fmd_io_input *in);

/** Where loader threads run and which pages each reads first (NUMA placement of the block). */
typedef struct fmd_io_placement {
    /** NULL, or called first on each loader thread with its number (cli binds it to a core). */
    void (*start)(int thread, void *userdata);
    void *userdata;
    size_t n_parts;           /**< parts (NUMA nodes); fewer than 2 means no placement */
    const size_t *part_first; /**< n_parts + 1 page indexes, relative to the loaded range */
    const int *thread_part;   /**< the part of each of the nthreads loader threads */
} fmd_io_placement;

/** fmd_io_pages_load(), with the pages of part p read, and so first touched, by the threads of
 * part p: each takes a contiguous share of its part's range, then everyone reads what is left
 * (the pages of parts that have no thread). Same bytes and statuses as fmd_io_pages_load().
 * @param pl NULL or n_parts < 2: as fmd_io_pages_load(). @p nthreads must match thread_part.
 * Threads: as fmd_io_pages_load(); pl->start runs on each loader thread. */
fmd_status fmd_io_pages_load_placed(fmd_io_batch *b, size_t first, size_t count,
                                    size_t max_input_bytes, int nthreads,
                                    const fmd_io_placement *pl, fmd_io_input *in);

/** Free the block and refs of @p in and zero it. @p in may be NULL or already freed. */
void fmd_io_input_destroy(fmd_io_input *in);

/** Read all of @p fd (a file, a pipe, a terminal) into @p arena, for `fastmd render`.
 * Regular files are sized with one fstat and read in one call; streams grow a buffer.
 * @param max_bytes 0 means FMD_MAX_INPUT_BYTES_DEFAULT; reading stops after max_bytes + 1 bytes.
 * @param out receives the bytes, NUL-terminated (the NUL is not counted in out->len).
 * @param err receives errno when a read fails, else 0; may be NULL.
 * @return FMD_OK, FMD_E_INPUT_LIMIT, FMD_E_IO, FMD_E_NOMEM, FMD_E_USAGE (NULL arena or out).
 * Ownership: out->ptr is in @p arena, valid until it is reset; @p fd stays open.
 * Threads: reentrant. */
fmd_status fmd_io_fd_read(int fd, size_t max_bytes, fmd_arena *arena, fmd_slice *out, int *err);

/** Read the file @p path ("-" means standard input) with fmd_io_fd_read().
 * @return as fmd_io_fd_read(), plus FMD_E_NOINPUT when @p path cannot be opened.
 * Ownership and threads: as fmd_io_fd_read(). */
fmd_status fmd_io_file_read(const char *path, size_t max_bytes, fmd_arena *arena, fmd_slice *out,
                            int *err);

/*** Writing ***/

/** An output directory being written to: its descriptor, and the descriptors of the
 * subdirectories created so far (each created once, whatever the number of pages in it). */
typedef struct fmd_io_out fmd_io_out;

/** Create @p dir (and its missing parents, like mkdir -p) and open it.
 * @param out receives the handle (NULL on failure).
 * @param err receives the errno of a failure, else 0; may be NULL.
 * @return FMD_OK, FMD_E_CANTCREATE, FMD_E_NOMEM, FMD_E_USAGE.
 * Ownership: the caller frees *out with fmd_io_out_close(). Threads: reentrant. */
fmd_status fmd_io_out_open(const char *dir, fmd_io_out **out, int *err);

/** Close every descriptor of @p o and free it. @p o may be NULL. */
void fmd_io_out_close(fmd_io_out *o);

/** The descriptor of the output directory itself (owned by @p o). Threads: reentrant. */
int fmd_io_out_fd(const fmd_io_out *o);

/** Remove the file @p path (relative to OUT, no leading '/') if it is there: an output of a page
 * that failed or whose source is gone. A directory is never removed.
 * @return FMD_OK (removed, or not there), FMD_E_IO (err says why), FMD_E_USAGE.
 * Threads: safe from many threads at once for distinct paths. */
fmd_status fmd_io_out_remove(const fmd_io_out *o, const char *path, int *err);

/** Whether a page with this result has HTML to write: FMD_OK, and the failures whose body is still
 * rendered (FMD_E_FRONTMATTER, FMD_E_UTF8). Load errors, limits, FMD_E_PARSE, FMD_E_NOMEM and
 * FMD_E_CANCELLED have none. Threads: reentrant. */
bool fmd_io_result_has_html(const fmd_result *r);

/** Create and open, once each, the output directories of pages [first, first + count) of @p b
 * whose status is FMD_OK (mkdirat; EEXIST is fine; an existing symlink to a directory is
 * followed). A directory that cannot be created is recorded, not returned: its pages fail with
 * FMD_E_CANTCREATE when written. A directory is created even if all its pages later fail.
 * @return FMD_OK, FMD_E_NOMEM, FMD_E_USAGE (range).
 * Threads: call from one thread, and not while fmd_io_page_write() runs on @p o. */
fmd_status fmd_io_out_prepare(fmd_io_out *o, const fmd_io_batch *b, size_t first, size_t count);

/** Write page @p i of @p b with the HTML of @p r, atomically: as an unnamed file (O_TMPFILE)
 * linked into place, or, where that is not possible (the file exists), to
 * ".fastmd-tmp.<pid>.<i>" in its directory (O_CREAT | O_EXCL), written fully, closed and renamed
 * over <name>, so no reader ever sees half a page. On any failure the temporary file is
 * unlinked, and so is an older file at the page's output path (a failed page has no HTML in
 * OUT). Files are not fsync'ed: the rename makes them atomic to readers, not durable across a
 * power loss. A page without HTML (status not FMD_OK, or fmd_io_result_has_html() false) is
 * skipped. A kill mid-write can leave a ".fastmd-tmp." file behind, which
 * fmd_io_leftovers_remove() recognises.
 * @pre fmd_io_out_prepare() covered page @p i.
 * @return FMD_OK (written or skipped); FMD_E_CANTCREATE (directory or temporary file) or
 * FMD_E_IO (write, close, rename), both also recorded with errno in the page; FMD_E_USAGE.
 * Threads: safe from many threads at once for distinct pages (this is how the kernel's page sink
 * writes pages while others render). */
fmd_status fmd_io_page_write(const fmd_io_out *o, fmd_io_batch *b, size_t i, const fmd_result *r);

/** Write the HTML of pages [first, first + count) of @p b under @p o: results[k] belongs to batch
 * page first + k. fmd_io_out_prepare() (serial), then fmd_io_page_write() for each page in
 * parallel (OpenMP, dynamic schedule).
 * @param nthreads 0 means omp_get_max_threads().
 * @return FMD_OK when every page with HTML was written, FMD_E_IO when some were not (see the
 * pages' status and err), FMD_E_NOMEM, FMD_E_USAGE when the range is outside the batch.
 * Ownership: reads @p results; keeps nothing.
 * Threads: call from one thread; it forks its own team. */
fmd_status fmd_io_pages_write(fmd_io_out *o, fmd_io_batch *b, size_t first, size_t count,
                              const fmd_result *results, int nthreads);

/** Write @p len bytes of @p data to @p path atomically: to a temporary file in the same directory
 * (created O_EXCL, retried under another name if one exists), then renameat() over @p path.
 * On failure the temporary file is removed and @p path is untouched.
 * @param dirfd the directory @p path is relative to, or AT_FDCWD.
 * @param err receives errno on failure, else 0; may be NULL.
 * @return FMD_OK, FMD_E_CANTCREATE (the temporary file cannot be created), FMD_E_IO (write, close
 * or rename failed), FMD_E_USAGE (NULL path, or the path names a directory).
 * Threads: reentrant; two threads writing the same path get distinct temporary files and the last
 * rename wins. */
fmd_status fmd_io_file_write_atomic(int dirfd, const char *path, const void *data, size_t len,
                                    int *err);

/** fmd_io_file_write_atomic() relative to the output directory of @p o (for "manifest.ndjson",
 * a --summary-json file, ...). The directories in @p path must exist. */
fmd_status fmd_io_out_write_file(fmd_io_out *o, const char *path, const void *data, size_t len,
                                 int *err);

/*** Output paths named by the user ***/

/** How an output path is written (fmd_io_target_classify()). */
typedef enum fmd_io_target_kind {
    FMD_IO_TARGET_REPLACE, /**< missing or a regular file: a temporary file renamed over it */
    FMD_IO_TARGET_THROUGH, /**< a device, FIFO, socket or symbolic link: written in place */
    FMD_IO_TARGET_STDOUT,  /**< "-": standard output, written in place */
} fmd_io_target_kind;

/** Decide how @p path (relative to @p dirfd, or AT_FDCWD) is written. fastmd renames only over
 * regular files: a device (/dev/null, /dev/full), a FIFO, a socket or a symbolic link is never
 * replaced, only written through (a link keeps pointing where it did; its target is written).
 * @param kind receives the decision. @param err receives errno on failure, else 0; may be NULL.
 * @return FMD_OK; FMD_E_CANTCREATE when @p path is a directory (err EISDIR) or cannot be
 * examined (a missing parent directory: ENOENT is fine only for the last component, which is
 * then created); FMD_E_USAGE for a NULL or empty path. Threads: reentrant. */
fmd_status fmd_io_target_classify(int dirfd, const char *path, fmd_io_target_kind *kind, int *err);

/** Open @p path for writing in place (FMD_IO_TARGET_THROUGH): no rename, no O_TRUNC on a device;
 * a regular file reached through a link is truncated first.
 * @param fd receives the descriptor (the caller closes it, and checks close()'s result).
 * @return FMD_OK, FMD_E_CANTCREATE (open failed), FMD_E_IO (truncate failed). */
fmd_status fmd_io_target_open_through(int dirfd, const char *path, int *fd, int *err);

/** Write @p len bytes to @p path as fmd_io_target_classify() decides: atomically
 * (fmd_io_file_write_atomic()) for a new or regular file, in place for anything else, to standard
 * output for "-". Every write error is reported, ENOSPC on /dev/full included.
 * @return FMD_OK, FMD_E_CANTCREATE (see above), FMD_E_IO (a write or close failed; err says why),
 * FMD_E_USAGE. Threads: reentrant. */
fmd_status fmd_io_output_write(int dirfd, const char *path, const void *data, size_t len, int *err);

/*** JSON lines: the manifest, the NDJSON stream, the JSON-RPC results ***/

/** fmd_io_page_format_json() flags. */
enum {
    FMD_IO_JSON_HTML = 1 << 0, /**< add "html": the page's HTML as a string, as the last field */
};

/** Append one page's result as a JSON object on one line (no newline) to @p b:
 *
 *   {"path":..,"output":..,"status":"ok"|"error","title":string|null,"frontmatter":object|null,
 *    "headings":[{"level":n,"text":..,"id":..}],"words":n,"links":n,"images":n,"codeBlocks":n,
 *    "hash":"16 hex digits","bytesIn":n,"bytesOut":n[,"warnings":[..]]
 *    [,"error":{"code":..,"message":..,"line":n|null,"column":n|null}][,"html":..]}
 *
 * frontmatter is r->frontmatter spliced in as is (the kernel makes it a JSON object); hash is
 * r->hash as big-endian hex; bytesOut is r->html.len. warnings appears only when there are some,
 * error only when the status is not FMD_OK. The status is r->status, or @p io_status when r->status
 * is FMD_OK (a page rendered fine but not written). error.code is fmd_status_name(), error.message
 * r->err_message or fmd_status_str(), followed by ": strerror(io_err)" when io_err applies;
 * line and column are null when 0. Paths that are not valid UTF-8 have each bad byte replaced
 * with U+FFFD.
 * @param path the page's path, or NULL (written as null). @param output its output path or NULL.
 * @param r the page's result (slices valid). @param io_status FMD_OK or an I/O failure of the
 * page (load or write); @param io_err its errno or 0. @param flags FMD_IO_JSON_*.
 * @return FMD_OK or FMD_E_NOMEM (the buffer then holds a partial line: rewind it to its old len).
 * Ownership: appends to @p b; keeps nothing. Threads: reentrant. */
fmd_status fmd_io_page_format_json(fmd_buf *b, const char *path, const char *output,
                                   const fmd_result *r, fmd_status io_status, int io_err,
                                   unsigned flags);

/** The manifest's file name inside OUT. */
#define FMD_IO_MANIFEST_NAME "manifest.ndjson"

/*** The ordered stream: lines handed in any order, written in index order ***/

/** n lines, indexed 0..n-1, handed in by any thread in any order and written by the stream's own
 * writer thread in index order as soon as each prefix is complete, many lines per writev(). The
 * manifest and the NDJSON output of `build --ndjson` go through it, so the rendering threads never
 * wait for the file and the file never waits for the slowest page of the whole batch. */
typedef struct fmd_io_stream fmd_io_stream;

/** Open a stream into @p name inside the output directory @p o: the lines go to a temporary file
 * there, renamed to @p name by fmd_io_stream_close(), so no reader sees a partial file; when
 * @p name exists and is not a regular file (fmd_io_target_classify()), it is written in place.
 * @param n the number of lines that will be put. @param err receives errno on failure, else 0.
 * @return FMD_OK, FMD_E_CANTCREATE, FMD_E_NOMEM.
 * Ownership: close or abort the stream; it does not keep @p o (its descriptor is duplicated).
 * Threads: call from one thread; it starts the writer thread. */
fmd_status fmd_io_stream_open_file(fmd_io_stream **out, fmd_io_out *o, const char *name, size_t n,
                                   int *err);

/** Open a stream into @p path (relative to the working directory; temporary file + rename as
 * above), or into standard output when @p path is "-", or in place when @p path is a device, a
 * FIFO, a socket or a symbolic link (fmd_io_target_classify(): never renamed over).
 * @return FMD_OK, FMD_E_CANTCREATE (also when @p path is a directory: err EISDIR), FMD_E_NOMEM. */
fmd_status fmd_io_stream_open_path(fmd_io_stream **out, const char *path, size_t n, int *err);

/** Where the lines of a stream opened with fmd_io_stream_open_sink() go. write receives @p n
 * lines (those put with bytes; empty ones are skipped) in index order, with their indexes, from
 * the stream's writer thread; the bytes are freed after it returns. A status other than FMD_OK
 * stops later calls (the lines are then dropped) and is returned by fmd_io_stream_close(). tick,
 * when not NULL, is called on the writer thread about every tick_s seconds while the stream is
 * open, and once more with @p last true after the last line is written. */
typedef fmd_status (*fmd_io_stream_write_fn)(const fmd_slice *lines, const size_t *index, size_t n,
                                             void *userdata);
typedef void (*fmd_io_stream_tick_fn)(bool last, void *userdata);
typedef struct fmd_io_stream_sink {
    fmd_io_stream_write_fn write; /**< required */
    fmd_io_stream_tick_fn tick;   /**< may be NULL */
    double tick_s;                /**< > 0 when tick is set */
    void *userdata;
} fmd_io_stream_sink;

/** When the writer wakes: the put of the line it waits for wakes it (it never polls), and it
 * writes when the next G = group lines are all in, or when the next one is in and linger_s has
 * passed, so that it wakes at most once per G lines or per linger and no line waits longer than
 * the linger. group 0 means 64 lines, linger_s 0 means 50 ms (the defaults, also of the file
 * streams); group 1 wakes it for every line in order. */
typedef struct fmd_io_stream_wake {
    size_t group;
    double linger_s;
} fmd_io_stream_wake;

/** Open a stream whose lines go to @p sink (see fmd_io_stream_sink), with wake policy @p wake
 * (NULL: the default). @return FMD_OK, FMD_E_NOMEM, FMD_E_USAGE (no write function, or a tick
 * without an interval). Ownership: close or abort the stream; @p sink and @p wake are copied.
 * Threads: call from one thread; it starts the writer thread, which alone calls the sink. */
fmd_status fmd_io_stream_open_sink(fmd_io_stream **out, size_t n, const fmd_io_stream_sink *sink,
                                   const fmd_io_stream_wake *wake);

/** Hand in line @p index (its bytes, newline included; copied). Each index exactly once.
 * @return FMD_OK, FMD_E_NOMEM, FMD_E_USAGE (index >= n).
 * Threads: from any number of threads at once, with distinct indexes. */
fmd_status fmd_io_stream_put(fmd_io_stream *s, size_t index, const char *line, size_t len);

/** Let @p n_lanes threads put lines with fmd_io_stream_put_lane(), lane k being used by one
 * thread at a time (a rendering thread's number). Call once, before any put.
 * @return FMD_OK, FMD_E_NOMEM, or FMD_E_USAGE (n_lanes < 1, or lanes already set).
 * Ownership: the lanes are the stream's. Threads: from the thread that opened the stream. */
fmd_status fmd_io_stream_set_lanes(fmd_io_stream *s, int n_lanes);

/** As fmd_io_stream_put() (copied), but into lane @p lane's current block of lines rather than a
 * malloc of its own: one allocation per 128 KiB of lines, and blocks are reused once their lines
 * are written. A line longer than 32 KiB is copied as fmd_io_stream_put() does.
 * @return FMD_OK, FMD_E_NOMEM, FMD_E_USAGE (index >= n, or no such lane).
 * Threads: from any number of threads at once, each with its own lane and distinct indexes. */
fmd_status fmd_io_stream_put_lane(fmd_io_stream *s, int lane, size_t index, const char *line,
                                  size_t len);

/** As fmd_io_stream_put(), but the stream takes @p line (malloc'ed) instead of copying it, and
 * frees it once written. @p line NULL puts an empty slot: nothing is written for @p index. */
fmd_status fmd_io_stream_put_owned(fmd_io_stream *s, size_t index, char *line, size_t len);

/** Wait until every line is written, close the file and rename it into place, then free @p s.
 * Every index must have been put. @param err receives errno on failure, else 0.
 * @return FMD_OK, or FMD_E_IO when a write, close or rename failed (the temporary file is then
 * removed and the old file, if any, is left alone). */
fmd_status fmd_io_stream_close(fmd_io_stream *s, int *err);

/** Stop the writer, remove the temporary file and free @p s (after a batch-level failure). */
void fmd_io_stream_abort(fmd_io_stream *s);

/*** The writer pool: files created off the rendering threads ***/

/** Writer threads that create the output files of rendered pages handed to them through a bounded
 * queue, then pass each page's manifest line on to the ordered stream. Writer k calls the start
 * callback first, with k: cli binds it to the core of rendering thread k, so that the pool adds
 * no cores to the run but lets rendering proceed while a writer sleeps in the kernel. */
typedef struct fmd_io_writer fmd_io_writer;
typedef void (*fmd_io_writer_start_fn)(int index, void *userdata);

/** Start @p nthreads writers for pages of @p b going under @p o (fmd_io_out_prepare()d), with
 * their lines going to @p stream (or dropped when it is NULL). At most @p queue_cap pages, and
 * (when @p max_bytes is not 0) at most max_bytes of HTML, wait at once; then push blocks.
 * @return FMD_OK, FMD_E_USAGE, FMD_E_NOMEM. Ownership: finish it with fmd_io_writer_close().
 * Threads: call from one thread. */
fmd_status fmd_io_writer_open(fmd_io_writer **out, fmd_io_out *o, fmd_io_batch *b,
                              fmd_io_stream *stream, int nthreads, size_t queue_cap,
                              size_t max_bytes, fmd_io_writer_start_fn on_start, void *userdata);

/** Queue page @p page: its HTML (malloc'ed, or NULL for a page without a file) and its manifest
 * line (malloc'ed, as fmd_io_page_format_json() wrote it for a written page, newline included).
 * The pool takes both. If the file cannot be written, the page's status records why and the line
 * is rewritten with status "error" and an error object. Blocks while the queue is full, adding
 * the seconds waited to *wait_s (may be NULL).
 * @return FMD_OK. Threads: from any number of threads at once, distinct pages. */
fmd_status fmd_io_writer_push(fmd_io_writer *w, size_t page, char *html, size_t html_len,
                              char *line, size_t line_len, double *wait_s);

/** Wait until every queued page is written and its line handed on, stop the threads, free @p w.
 * @return FMD_OK, or FMD_E_NOMEM if a line could not be handed on. */
fmd_status fmd_io_writer_close(fmd_io_writer *w);

/*** Writing whole buffers ***/

struct iovec;
/** Write iov[0..cnt) to @p fd fully, retrying short writes and EINTR (@p iov is consumed).
 * @return 0 or the errno of the failing writev(). Threads: safe (one fd per caller). */
int fmd_io_writev_all(int fd, struct iovec *iov, int cnt);

/*** Pages read by path, beneath a root (beneath.c) ***/

/** A directory that paths are resolved beneath. */
typedef struct fmd_io_root fmd_io_root;

/** Open @p dir as the root. @param err receives errno on failure.
 * @return FMD_OK, FMD_E_NOINPUT, FMD_E_NOMEM.
 * Ownership: free with fmd_io_root_close(). Threads: the root is read-only afterwards. */
fmd_status fmd_io_root_open(const char *dir, fmd_io_root **out, int *err);
/** Close @p root (NULL: nothing). */
void fmd_io_root_close(fmd_io_root *root);

/** Read the regular file @p path from beneath @p root whole. A path that is absolute or leads out
 * of the root (through "..", or a symbolic link) is refused with *outside set; openat2
 * (RESOLVE_BENEATH) where the kernel has it, else a walk one component at a time that never lets
 * the kernel follow a link (safe while links change under it). A FIFO or other
 * non-regular file sets *special (*err EISDIR for a directory).
 * @return FMD_OK, FMD_E_NOINPUT, FMD_E_INPUT_LIMIT (over @p max bytes), FMD_E_IO, FMD_E_NOMEM;
 * errno in *err.
 * Ownership: *buf is malloc'ed (NUL after its *len bytes); the caller frees it.
 * Threads: safe, from any number of threads on one root. */
fmd_status fmd_io_root_read(const fmd_io_root *root, const char *path, size_t max, char **buf,
                            size_t *len, int *err, bool *outside, bool *special);

/* Thread safety: reentrant. All state is in the fmd_io_batch, fmd_io_input and fmd_io_out passed
 * in; there is no global state. One batch or output handle must not be used by two calls at once;
 * the parallel functions fork their own OpenMP team and must be called from outside a parallel
 * region (or they run on one thread). */

#endif
