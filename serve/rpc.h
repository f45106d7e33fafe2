/* SPDX-License-Identifier: MIT */
/* fmd_rpc: the wire side of `fastmd serve` (docs/protocol.md). Reads NDJSON lines, parses
 * JSON-RPC 2.0 requests with jansson into plain C structs (so nothing outside io/ sees a JSON
 * tree), loads pages named by path from beneath a root directory, formats responses and
 * notifications with the hand-written writer, and writes whole lines under one lock.
 * Like the rest of io/ it never calls the kernel, never includes md4c.h, never prints and never
 * exits. Only the files of serve/ include this header. */
#ifndef FMD_RPC_H
#define FMD_RPC_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fmd_arena.h"
#include "fmd_io.h"
#include "fmd_kernel.h" /* types only: fmd_options, fmd_result, fmd_page_ref */
#include "fmd_status.h"

/*** JSON-RPC error codes (docs/protocol.md, "Errors") ***/

enum {
    FMD_RPC_PARSE_ERROR = -32700,      /**< the line is not JSON */
    FMD_RPC_INVALID_REQUEST = -32600,  /**< JSON, but not a JSON-RPC 2.0 request */
    FMD_RPC_METHOD_NOT_FOUND = -32601, /**< unknown method */
    FMD_RPC_INVALID_PARAMS = -32602,   /**< a field is missing or has the wrong type */
    FMD_RPC_INTERNAL_ERROR = -32603,   /**< out of memory while answering */
    FMD_RPC_OVERLOADED = -32001,       /**< the queue is full (--max-queued) */
    FMD_RPC_PAGE_FAILED = -32002,      /**< transform: the page could not be transformed */
    FMD_RPC_CANCELLED = -32800,        /**< the batch was cancelled (LSP's RequestCancelled) */
};

/** The message of FMD_RPC_INTERNAL_ERROR when memory ran out, the one out-of-memory text. */
#define FMD_RPC_NOMEM_MESSAGE "Internal error: " FMD_NOMEM_TEXT

/*** Reading lines ***/

/** Reads standard input (or any descriptor) one line at a time. */
typedef struct fmd_rpc_reader fmd_rpc_reader;

/** @param fd the descriptor to read (not closed by the reader).
 * @param max_line the longest line accepted, in bytes (without its newline); 0 means 1 GiB.
 * @return FMD_OK or FMD_E_NOMEM. Ownership: free with fmd_rpc_reader_destroy(). */
fmd_status fmd_rpc_reader_create(fmd_rpc_reader **out, int fd, size_t max_line);
void fmd_rpc_reader_destroy(fmd_rpc_reader *r);

/** The next line, without its "\n" (and without a "\r" before it). A last line without a newline
 * is returned before the end of input.
 * @param line receives the line. @param err receives errno when a read fails, else 0.
 * @return FMD_OK; FMD_E_NOINPUT at the end of input; FMD_E_INPUT_LIMIT when the line was longer
 * than max_line (it has been skipped, through its newline); FMD_E_IO; FMD_E_NOMEM.
 * Ownership: line points into the reader, valid until the next call.
 * Threads: one thread at a time. */
fmd_status fmd_rpc_reader_next(fmd_rpc_reader *r, fmd_slice *line, int *err);

/** Read the next @p n raw bytes (the attachment after a request line) into @p dst, or drop them
 * when @p dst is NULL.
 * @return FMD_OK; FMD_E_NOINPUT when the input ends first; FMD_E_IO (errno in @p err).
 * Threads: one thread at a time, as fmd_rpc_reader_next(). */
fmd_status fmd_rpc_reader_read(fmd_rpc_reader *r, char *dst, size_t n, int *err);

/** Make the reader stop at the next interrupted read() once *@p stop is non-zero (as at the
 * end of input). @p stop may be NULL (never). Threads: before the first read. */
void fmd_rpc_reader_set_stop(fmd_rpc_reader *r, volatile sig_atomic_t *stop);

/** The longest line the reader accepts (the limit for a request's raw bytes too). */
size_t fmd_rpc_reader_max(const fmd_rpc_reader *r);

/** Bytes read so far. Threads: the reading thread only. */
size_t fmd_rpc_reader_bytes(const fmd_rpc_reader *r);

/*** Writing messages ***/

/** Writes whole messages to a descriptor under one lock, so that lines written by different
 * threads never interleave. */
typedef struct fmd_rpc_writer fmd_rpc_writer;

/** @return FMD_OK or FMD_E_NOMEM. Ownership: free with fmd_rpc_writer_destroy(); @p fd stays
 * open. */
fmd_status fmd_rpc_writer_create(fmd_rpc_writer **out, int fd);
void fmd_rpc_writer_destroy(fmd_rpc_writer *w);

/** Write the concatenation of @p parts (which must end with a newline) in one go: no other
 * thread's bytes come in between. After a failed write (the client went away) every later call
 * returns FMD_E_IO at once and writes nothing.
 * @return FMD_OK or FMD_E_IO. Threads: safe from any number of threads. */
fmd_status fmd_rpc_write(fmd_rpc_writer *w, const fmd_slice *parts, size_t n);

/** Bytes written so far and seconds spent in write(). Threads: safe. */
void fmd_rpc_writer_counters(fmd_rpc_writer *w, size_t *bytes, double *seconds);

/*** Requests ***/

typedef enum fmd_rpc_method {
    FMD_RPC_PING = 0,
    FMD_RPC_SHUTDOWN,
    FMD_RPC_TRANSFORM,
    FMD_RPC_TRANSFORM_BATCH,
    FMD_RPC_NORMALIZE,
    FMD_RPC_COMPUTE_DIGEST,
    FMD_RPC_CANCEL,
    FMD_RPC_CANCEL_REQUEST, /**< "$/cancelRequest" */
    FMD_RPC_HEALTH,
    FMD_RPC_STATS,
    FMD_RPC_OTHER,   /**< an unknown method (answered with -32601) */
    FMD_RPC_INVALID, /**< no method could be read (the line is not a request) */
    FMD_RPC_METHOD_COUNT
} fmd_rpc_method;

/** The protocol name of @p m ("transformBatch"); "other" and "invalid" for the last two. */
const char *fmd_rpc_method_name(fmd_rpc_method m);

/** One custom rule as the request gave it (compiled by the cli through the kernel). */
typedef struct fmd_rpc_rule {
    fmd_slice pattern;
    fmd_slice replacement;
    bool regex;
} fmd_rpc_rule;

/** Longest rule list accepted in one options object. */
#define FMD_RPC_MAX_RULES 256
/** Largest options.retries. */
#define FMD_RPC_MAX_RETRIES 10
/** Largest options.deadlineMs (an hour). */
#define FMD_RPC_MAX_DEADLINE_MS 3600000

/** A request's options, resolved over the server's defaults. */
typedef struct fmd_rpc_options {
    fmd_options opt;           /**< everything but rules (opt.rules is NULL) */
    const fmd_rpc_rule *rules; /**< n_rules entries, in the request's arena */
    size_t n_rules;
    /** The rules array as compact JSON text: the key of the compiled-rules cache. Empty when
     * there are no rules. */
    fmd_slice rules_json;
    uint64_t rules_hash; /**< FNV-1a 64 of rules_json */
    bool rules_given;    /**< options.rules was present (false: the server's rules) */
    unsigned retries;    /**< options.retries, default 1 */
} fmd_rpc_options;

/** One page of a transform or transformBatch request. */
typedef struct fmd_rpc_item {
    const char *file;  /**< NUL-terminated, or NULL when the item has no "file" */
    bool has_content;  /**< the page was given inline; else it is read from file */
    bool attached;     /**< its content is in the request's attachment (contentBytes) */
    bool outside;      /**< load: the path leads out of the root (load_status FMD_E_NOINPUT) */
    bool special;      /**< load: not a regular file (a directory, a FIFO, ...): FMD_E_NOINPUT */
    int err;           /**< load: errno of a failed open or read, else 0 */
    unsigned attempts; /**< load: reads tried (retries = attempts - 1) */
    /** transformBatch: "ifNoneMatch", the etag of a result the client holds (64 lower-case hex
     * digits), or NULL. */
    const char *if_none_match;
} fmd_rpc_item;

/** One parsed request. Strings are NUL-terminated and live in @c arena; page bytes live in
 * @c base. When @c error is non-zero the request is invalid and only id, method and the error
 * fields are meaningful. */
typedef struct fmd_rpc_request {
    fmd_rpc_method method;
    const char *method_name; /**< as sent; NULL for FMD_RPC_INVALID */
    const char *id;          /**< the id as compact JSON text ("7", "\"a\"", "null"); NULL when
                                  the message has no id (a notification) */
    int error;               /**< 0, or the JSON-RPC error code to answer with */
    const char *error_message;
    const char *error_data; /**< NULL, or a JSON value for error.data */
    double t_read;          /**< set by the caller: when the line was read (for latency) */
    size_t mem_bytes;       /**< set by the caller: bytes counted against --max-memory */
    /** W3C trace context: params._meta.traceparent's trace id (32 lower-case hex digits) and
     * parent span id (16), NUL-terminated; empty when the request gave none. */
    char trace_id[33];
    char parent_span[17];
    unsigned char trace_flags;
    char span_id[17]; /**< this request's span (16 hex digits), made by the server */
    /** params.bytes: raw bytes that follow the request line (its attachment), whatever else is
     * wrong with the request; fmd_rpc_read_attachment() reads them. */
    size_t attach_bytes;

    /* transform, transformBatch */
    fmd_rpc_options options;
    bool include_code; /**< default true */
    /** Pages: n_items entries. Page k's bytes are base + refs[k].offset, refs[k].len long, followed
     * by a NUL; inline content is there after parsing, pages read by path after
     * fmd_rpc_load_items(). refs[k].load_status is FMD_OK until a load fails. */
    fmd_rpc_item *items;
    fmd_page_ref *refs;
    size_t n_items;
    char *base;      /**< malloc'ed block */
    size_t base_len; /**< bytes of base in use */

    /* transformBatch */
    const char *batch_id; /**< NULL when the client gave none */
    bool stream;          /**< default false */
    bool frames;          /**< default false; true implies stream: results go out in batchFrame
                               notifications, each followed by its items' HTML as raw bytes */
    bool progress;        /**< default true */
    bool etags;           /**< default false: each result item carries its "etag" */

    /* normalize */
    fmd_slice content;
    bool remove_bom, normalize_lf; /**< default true, true */

    /* computeDigest: the canonical encoding of docs/protocol.md, sorted, ready to hash */
    fmd_slice digest_input;

    /* cancel: batch_id above; $/cancelRequest: the target request's id as compact JSON */
    const char *cancel_id;

    /* stats */
    bool prometheus;

    fmd_arena *arena; /**< owns everything above but base, refs and items' memory */
} fmd_rpc_request;

/** Parse one line into a request.
 * Errors of the message (not JSON: -32700; not a request: -32600; unknown method: -32601; bad
 * params: -32602, with a message naming the field) are returned in the request, not as a status.
 * @param defaults the server's options, under each request's "options".
 * @param max_bytes the most raw bytes a request may announce (params.bytes); more: -32600, and
 * attach_bytes stays 0: nothing is read, the next line is the next request. 0: no limit.
 * @param out receives the request (also when it carries an error).
 * @return FMD_OK, or FMD_E_NOMEM (then *out is NULL).
 * Ownership: free *out with fmd_rpc_request_free().
 * Threads: reentrant (call fmd_rpc_init() once first). */
fmd_status fmd_rpc_parse(const char *line, size_t len, const fmd_options *defaults,
                         size_t max_bytes, fmd_rpc_request **out);

void fmd_rpc_request_free(fmd_rpc_request *r);

/** Whether two ids (compact JSON text, as fmd_rpc_request.id) are the same JSON value: numbers
 * by value at any size (8, 8.0 and 80e-1 are equal), strings and null by their text.
 * Threads: reentrant. */
bool fmd_rpc_id_equal(const char *a, const char *b);

/** Set up the JSON library's global state (its hash seed) before threads start. */
void fmd_rpc_init(void);

/** Set @p r's error (code, message and optional data JSON), copying the strings into its arena.
 * @return FMD_OK or FMD_E_NOMEM. */
fmd_status fmd_rpc_request_fail(fmd_rpc_request *r, int code, const char *message,
                                const char *data_json);

/*** Pages read by path, beneath a root (fmd_io_root, io/) ***/

/** Read the pages of @p r that have no inline content (refs[k].load_status FMD_OK) from beneath
 * @p root, in parallel, and append them to r->base. An absolute path under one of @p root_abs
 * (the root's absolute names, NULL-terminated; may be NULL) is read relative to the root. A path
 * that is otherwise absolute or leads out of the root (through "..", or a symbolic link) is
 * refused: items[k].outside, load_status FMD_E_NOINPUT. Open uses openat2(RESOLVE_BENEATH); where
 * the kernel lacks it, realpath() and a prefix check. Other failures: FMD_E_NOINPUT (missing, not
 * a regular file), FMD_E_INPUT_LIMIT, FMD_E_IO (tried 1 + @p retries times; items[k].attempts
 * counts them), errno in items[k].err.
 * @param max_input_bytes 0 means FMD_MAX_INPUT_BYTES_DEFAULT.
 * @param nthreads threads for the parallel reads (0: the OpenMP default).
 * @param fault_every test hook: when non-zero, the first read of every item whose index is a
 * multiple of it fails with EIO (transient), to exercise retries. 0 in production.
 * @param load_s receives the seconds spent; may be NULL.
 * @return FMD_OK (item failures are in the items), FMD_E_NOMEM.
 * Threads: call from one thread; it forks its own OpenMP team. */
fmd_status fmd_rpc_load_items(fmd_rpc_request *r, const fmd_io_root *root,
                              const char *const *root_abs, size_t max_input_bytes, unsigned retries,
                              int nthreads, size_t fault_every, double *load_s);

/*** Formatting (append to an fmd_buf; each returns FMD_OK or FMD_E_NOMEM) ***/

/** `{"jsonrpc":"2.0","id":<id>,"result":` (id NULL is written as null). */
fmd_status fmd_rpc_put_response_head(fmd_buf *b, const char *id);
/** `{"jsonrpc":"2.0","method":"<method>","params":` */
fmd_status fmd_rpc_put_notification_head(fmd_buf *b, const char *method);
/** A whole error response line, newline included. @p data_json NULL: no data. */
fmd_status fmd_rpc_put_error(fmd_buf *b, const char *id, int code, const char *message,
                             const char *data_json, size_t data_len);

/** A JSON string (UTF-8 expected; NULL gives null). */
fmd_status fmd_rpc_put_string(fmd_buf *b, const char *s, size_t n);

/** The length of the longest prefix of NUL-terminated @p s of at most @p max bytes that does not
 * end inside a UTF-8 character: for cutting a client's string into a message (%.*s). */
size_t fmd_rpc_utf8_cut(const char *s, size_t max);
/** A number: integers as integers, others with up to 6 decimals. */
fmd_status fmd_rpc_put_number(fmd_buf *b, double v);

/** fmd_rpc_put_page_result() flags. */
enum {
    FMD_RPC_RESULT_CODE = 1u << 0,       /**< write "code" (the HTML as an ES module); else null */
    FMD_RPC_RESULT_HTML_APART = 1u << 1, /**< write "html":"": the HTML travels as frame bytes */
};

/** Read request @p r's attachment (r->attach_bytes raw bytes after its line) from @p rd: into
 * the pages given by contentBytes when the request is valid, else dropped. Call it right after
 * fmd_rpc_parse(), before the next line is read.
 * @return FMD_OK; FMD_E_NOINPUT when the input ends inside it (the request then fails with
 * -32600); FMD_E_IO (errno in @p err). */
fmd_status fmd_rpc_read_attachment(fmd_rpc_request *r, fmd_rpc_reader *rd, int *err);

/** The result of one transformed page:
 * {"code":..,"html":..,"map":null,"metadata":{"file","frontmatter","title","headings",
 *  "wordCount","linkCount","imageCount","codeBlockCount","hash","warnings"},"dependencies":[]}.
 * @param file the item's file or NULL. @param flags FMD_RPC_RESULT_*. */
fmd_status fmd_rpc_put_page_result(fmd_buf *b, const char *file, const fmd_result *r,
                                   unsigned flags);

/** The part of a page result between the HTML and the metadata's "file" value, and that value:
 * ","map":null,"metadata":{"file":"<file>" (fmd_rpc_put_page_result() writes it). */
fmd_status fmd_rpc_put_page_file(fmd_buf *b, const char *file);

/** The rest of a page result after its "file": ,"frontmatter":..,"title":..,"headings":..,
 * the counts, hash and warnings, then }, "dependencies":[]}. It does not depend on the request,
 * so the result cache keeps it formatted. *title_at and *title_end (when not NULL) receive the
 * offsets in @p b around the title's value. */
fmd_status fmd_rpc_put_page_meta(fmd_buf *b, const fmd_result *r, size_t *title_at,
                                 size_t *title_end);

/** The error of one page that failed: {"code":"<name>","message":..,"line":n|null,
 * "column":n|null,"file":..}. The failure is @p item's load failure when it has one, else
 * r->status with the kernel's message and position. */
fmd_status fmd_rpc_put_page_error(fmd_buf *b, const fmd_rpc_item *item, fmd_status load_status,
                                  const fmd_result *r);

/** The stable code of a page failure ("outside-root", "frontmatter", ...). */
const char *fmd_rpc_page_error_code(const fmd_rpc_item *item, fmd_status status);

/* Thread safety: reentrant. The reader belongs to one thread; the writer is locked inside; a
 * request is owned by one thread at a time; the root is read-only once opened. */

#endif
