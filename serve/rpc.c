/* SPDX-License-Identifier: MIT */
/* The wire side of `fastmd serve` (docs/protocol.md): NDJSON lines in, JSON-RPC 2.0 requests
 * parsed by jansson into plain structs (ADR 0001: jansson parses, a hand-written writer writes),
 * pages read from beneath a root (io/beneath.c), responses formatted straight into
 * fmd_bufs and written whole under one lock. No kernel call, no md4c, no printing. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "rpc.h"
#include "fmd_clock.h"
#include "fmd_hash.h"
#include "fmd_io.h"
#include "fmd_json.h"

/* Pages a loading thread takes at a time: a page costs 10 to 150 us of system calls. */
#define LOAD_CHUNK 4

#define PUT_LIT FMD_BUF_PUT_LIT

static void grow_pipe(int fd);

/*** Reading lines ***/

/** First size of the line buffer; it doubles up to the longest line. */
#define READER_CHUNK ((size_t)64 * 1024)
/** Default longest request line: a transformBatch with a whole site inline fits. */
#define READER_MAX_LINE_DEFAULT ((size_t)1 << 30)

struct fmd_rpc_reader {
    int fd;
    size_t max_line;
    char *buf;
    size_t cap, len; /* bytes [start, len) are unread lines */
    size_t start;    /* where the next line starts */
    size_t scanned;  /* bytes after start known to hold no '\n' */
    bool eof;
    size_t total;
    volatile sig_atomic_t *stop; /* non-zero: stop at the next interrupted read */
};

void fmd_rpc_reader_set_stop(fmd_rpc_reader *r, volatile sig_atomic_t *stop)
{
    r->stop = stop;
}

static bool stop_asked(const fmd_rpc_reader *r)
{
    return r->stop != NULL && *r->stop != 0;
}

fmd_status fmd_rpc_reader_create(fmd_rpc_reader **out, int fd, size_t max_line)
{
    *out = NULL;
    fmd_rpc_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        return FMD_E_NOMEM;
    grow_pipe(fd);
    r->fd = fd;
    r->max_line = max_line ? max_line : READER_MAX_LINE_DEFAULT;
    r->cap = READER_CHUNK;
    r->buf = malloc(r->cap);
    if (r->buf == NULL) {
        free(r);
        return FMD_E_NOMEM;
    }
    *out = r;
    return FMD_OK;
}

void fmd_rpc_reader_destroy(fmd_rpc_reader *r)
{
    if (r == NULL)
        return;
    free(r->buf);
    free(r);
}

size_t fmd_rpc_reader_bytes(const fmd_rpc_reader *r)
{
    return r->total;
}

/* Read more bytes at the end of the buffer. Returns 0, or an errno. */
static int fill(fmd_rpc_reader *r)
{
    for (;;) {
        if (stop_asked(r)) { /* a signal asked to stop: as the end of input */
            r->eof = true;
            return 0;
        }
        ssize_t got = read(r->fd, r->buf + r->len, r->cap - r->len);
        if (got > 0) {
            r->len += (size_t)got;
            r->total += (size_t)got;
            return 0;
        }
        if (got == 0) {
            r->eof = true;
            return 0;
        }
        if (errno != EINTR)
            return errno;
    }
}

/* Drop everything up to and including the next '\n' (a line that was too long). */
static fmd_status skip_line(fmd_rpc_reader *r, int *err)
{
    for (;;) {
        char *nl = memchr(r->buf + r->start, '\n', r->len - r->start);
        if (nl != NULL) {
            r->start = (size_t)(nl - r->buf) + 1;
            r->scanned = 0;
            return FMD_E_INPUT_LIMIT;
        }
        r->start = r->len = r->scanned = 0;
        if (r->eof)
            return FMD_E_INPUT_LIMIT;
        int e = fill(r);
        if (e != 0) {
            *err = e;
            return FMD_E_IO;
        }
    }
}

fmd_status fmd_rpc_reader_next(fmd_rpc_reader *r, fmd_slice *line, int *err)
{
    *err = 0;
    for (;;) {
        char *from = r->buf + r->start + r->scanned;
        char *nl = memchr(from, '\n', r->len - r->start - r->scanned);
        size_t end;
        if (nl != NULL) {
            end = (size_t)(nl - r->buf);
        } else {
            r->scanned = r->len - r->start;
            if (r->scanned > r->max_line)
                return skip_line(r, err);
            if (r->eof) {
                if (r->len == r->start)
                    return FMD_E_NOINPUT;
                end = r->len; /* the last line has no newline */
            } else {
                /* Make room: slide the partial line to the front, or grow. */
                if (r->start > 0 && r->start >= r->cap / 2) {
                    memmove(r->buf, r->buf + r->start, r->len - r->start);
                    r->len -= r->start;
                    r->start = 0;
                }
                if (r->len == r->cap) {
                    size_t cap = r->cap * 2;
                    char *nb = realloc(r->buf, cap);
                    if (nb == NULL)
                        return FMD_E_NOMEM;
                    r->buf = nb;
                    r->cap = cap;
                }
                int e = fill(r);
                if (e != 0) {
                    *err = e;
                    return FMD_E_IO;
                }
                continue;
            }
        }
        size_t n = end - r->start;
        if (n > r->max_line) {
            r->start = end < r->len ? end + 1 : end;
            r->scanned = 0;
            return FMD_E_INPUT_LIMIT;
        }
        line->ptr = r->buf + r->start;
        line->len = n > 0 && line->ptr[n - 1] == '\r' ? n - 1 : n;
        r->start = end < r->len ? end + 1 : end;
        r->scanned = 0;
        if (r->start == r->len) /* everything consumed: start again at the front */
            r->start = r->len = 0;
        /* line still points at the bytes: they are only overwritten by the next call's fill. */
        return FMD_OK;
    }
}

fmd_status fmd_rpc_reader_read(fmd_rpc_reader *r, char *dst, size_t n, int *err)
{
    *err = 0;
    /* First what is buffered already. */
    size_t have = r->len - r->start;
    size_t take = have < n ? have : n;
    if (dst != NULL)
        memcpy(dst, r->buf + r->start, take);
    r->start += take;
    r->scanned = 0;
    if (r->start == r->len)
        r->start = r->len = 0;
    size_t done = take;
    /* Then straight from the descriptor (or through the buffer when dropping). */
    while (done < n) {
        if (r->eof || stop_asked(r))
            return FMD_E_NOINPUT;
        char *to = dst != NULL ? dst + done : r->buf;
        size_t want = dst != NULL ? n - done : (n - done < r->cap ? n - done : r->cap);
        ssize_t got = read(r->fd, to, want);
        if (got > 0) {
            done += (size_t)got;
            r->total += (size_t)got;
        } else if (got == 0) {
            r->eof = true;
        } else if (errno != EINTR) {
            *err = errno;
            return FMD_E_IO;
        }
    }
    return FMD_OK;
}

size_t fmd_rpc_reader_max(const fmd_rpc_reader *r)
{
    return r->max_line;
}

/*** Writing messages ***/

/** Parts gathered into one writev(); Linux's IOV_MAX is 1024. */
#define WRITER_IOV 512

struct fmd_rpc_writer {
    int fd;
    pthread_mutex_t mu;
    bool broken;    /* a write failed: the client is gone */
    size_t bytes;   /* under mu */
    double seconds; /* under mu */
};

/* Linux's fcntl to resize a pipe (<fcntl.h> declares it only with _GNU_SOURCE). */
#if defined(__linux__) && !defined(F_SETPIPE_SZ)
#define F_SETPIPE_SZ 1031
#endif
/** Pipe buffer asked for on standard input and output: a batch answer is megabytes, and a 64 KiB
 * pipe would cost a context switch per 64 KiB. Refused (not a pipe, over the system's limit) is
 * fine: the default stays. */
#define PIPE_BYTES (1 << 20)

static void grow_pipe(int fd)
{
#ifdef F_SETPIPE_SZ
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISFIFO(sb.st_mode))
        (void)fcntl(fd, F_SETPIPE_SZ, PIPE_BYTES);
#else
    (void)fd;
#endif
}

fmd_status fmd_rpc_writer_create(fmd_rpc_writer **out, int fd)
{
    *out = NULL;
    fmd_rpc_writer *w = calloc(1, sizeof *w);
    if (w == NULL)
        return FMD_E_NOMEM;
    grow_pipe(fd);
    w->fd = fd;
    pthread_mutex_init(&w->mu, NULL);
    *out = w;
    return FMD_OK;
}

void fmd_rpc_writer_destroy(fmd_rpc_writer *w)
{
    if (w == NULL)
        return;
    pthread_mutex_destroy(&w->mu);
    free(w);
}

fmd_status fmd_rpc_write(fmd_rpc_writer *w, const fmd_slice *parts, size_t n)
{
    struct iovec iov[WRITER_IOV];
    fmd_status st = FMD_OK;
    pthread_mutex_lock(&w->mu);
    if (w->broken) {
        pthread_mutex_unlock(&w->mu);
        return FMD_E_IO;
    }
    double t0 = fmd_clock_now();
    size_t k = 0;
    while (k < n) {
        int cnt = 0;
        while (k < n && cnt < WRITER_IOV) {
            if (parts[k].len != 0) {
                iov[cnt].iov_base = (void *)parts[k].ptr;
                iov[cnt].iov_len = parts[k].len;
                w->bytes += parts[k].len;
                cnt++;
            }
            k++;
        }
        if (cnt > 0 && fmd_io_writev_all(w->fd, iov, cnt) != 0) {
            w->broken = true;
            st = FMD_E_IO;
            break;
        }
    }
    w->seconds += fmd_clock_now() - t0;
    pthread_mutex_unlock(&w->mu);
    return st;
}

void fmd_rpc_writer_counters(fmd_rpc_writer *w, size_t *bytes, double *seconds)
{
    pthread_mutex_lock(&w->mu);
    *bytes = w->bytes;
    *seconds = w->seconds;
    pthread_mutex_unlock(&w->mu);
}

/*** Formatting ***/

/* Append the body of a JSON string (no quotes) holding s[0..n); with @p tmpl, also escaped for a
 * JavaScript template literal (fmd_json_put_body()). */
static fmd_status put_body(fmd_buf *b, const char *s, size_t n, bool tmpl)
{
    return fmd_json_put_body(b, s, n, tmpl ? FMD_JSON_JS_TEMPLATE : 0);
}

size_t fmd_rpc_utf8_cut(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n <= max)
        return n;
    n = max;
    /* s[n] is the first byte left out: back up while it continues the character before it. */
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

fmd_status fmd_rpc_put_string(fmd_buf *b, const char *s, size_t n)
{
    return fmd_json_put_string_or_null(b, s, n);
}

static fmd_status put_cstr(fmd_buf *b, const char *s)
{
    return fmd_rpc_put_string(b, s, s ? strlen(s) : 0);
}

fmd_status fmd_rpc_put_number(fmd_buf *b, double v)
{
    char tmp[64];
    int n;
    if (!isfinite(v))
        v = 0;
    if (v == trunc(v) && fabs(v) < 1e15)
        n = snprintf(tmp, sizeof tmp, "%.0f", v == 0 ? 0.0 : v);
    else
        n = snprintf(tmp, sizeof tmp, "%.6f", v);
    if (n <= 0 || (size_t)n >= sizeof tmp)
        return PUT_LIT(b, "0");
    /* Trim "1.500000" to "1.5". */
    if (memchr(tmp, '.', (size_t)n) != NULL) {
        while (n > 0 && tmp[n - 1] == '0')
            n--;
        if (n > 0 && tmp[n - 1] == '.')
            n--;
    }
    return fmd_buf_append(b, tmp, (size_t)n);
}

fmd_status fmd_rpc_put_response_head(fmd_buf *b, const char *id)
{
    fmd_status st = FMD_OK;
    FMD_TRY(PUT_LIT(b, "{\"jsonrpc\":\"2.0\",\"id\":"));
    FMD_TRY(fmd_buf_puts(b, id ? id : "null"));
    FMD_TRY(PUT_LIT(b, ",\"result\":"));
fail:
    return st;
}

fmd_status fmd_rpc_put_notification_head(fmd_buf *b, const char *method)
{
    fmd_status st = FMD_OK;
    FMD_TRY(PUT_LIT(b, "{\"jsonrpc\":\"2.0\",\"method\":"));
    FMD_TRY(put_cstr(b, method));
    FMD_TRY(PUT_LIT(b, ",\"params\":"));
fail:
    return st;
}

fmd_status fmd_rpc_put_error(fmd_buf *b, const char *id, int code, const char *message,
                             const char *data_json, size_t data_len)
{
    fmd_status st = FMD_OK;
    FMD_TRY(PUT_LIT(b, "{\"jsonrpc\":\"2.0\",\"id\":"));
    FMD_TRY(fmd_buf_puts(b, id ? id : "null"));
    FMD_TRY(PUT_LIT(b, ",\"error\":{\"code\":"));
    char num[24];
    int n = snprintf(num, sizeof num, "%d", code);
    FMD_TRY(fmd_buf_append(b, num, (size_t)n));
    FMD_TRY(PUT_LIT(b, ",\"message\":"));
    FMD_TRY(put_cstr(b, message ? message : ""));
    if (data_json != NULL) {
        FMD_TRY(PUT_LIT(b, ",\"data\":"));
        FMD_TRY(fmd_buf_append(b, data_json, data_len));
    }
    FMD_TRY(PUT_LIT(b, "}}\n"));
fail:
    return st;
}

fmd_status fmd_rpc_put_page_result(fmd_buf *b, const char *file, const fmd_result *r,
                                   unsigned flags)
{
    fmd_status st = FMD_OK;
    if (flags & FMD_RPC_RESULT_CODE) {
        FMD_TRY(PUT_LIT(b, "{\"code\":\"export default `"));
        FMD_TRY(put_body(b, r->html.ptr, r->html.len, true));
        FMD_TRY(PUT_LIT(b, "`;\",\"html\":\""));
    } else {
        FMD_TRY(PUT_LIT(b, "{\"code\":null,\"html\":\""));
    }
    if (!(flags & FMD_RPC_RESULT_HTML_APART))
        FMD_TRY(put_body(b, r->html.ptr, r->html.len, false));
    FMD_TRY(fmd_rpc_put_page_file(b, file));
    FMD_TRY(fmd_rpc_put_page_meta(b, r, NULL, NULL));
fail:
    return st;
}

fmd_status fmd_rpc_put_page_file(fmd_buf *b, const char *file)
{
    fmd_status st = FMD_OK;
    FMD_TRY(PUT_LIT(b, "\",\"map\":null,\"metadata\":{\"file\":"));
    FMD_TRY(put_cstr(b, file));
fail:
    return st;
}

fmd_status fmd_rpc_put_page_meta(fmd_buf *b, const fmd_result *r, size_t *title_at,
                                 size_t *title_end)
{
    fmd_status st = FMD_OK;
    FMD_TRY(PUT_LIT(b, ",\"frontmatter\":"));
    if (r->frontmatter.ptr != NULL && r->frontmatter.len != 0)
        FMD_TRY(fmd_buf_append(b, r->frontmatter.ptr, r->frontmatter.len));
    else
        FMD_TRY(PUT_LIT(b, "null")); /* no front matter, as in the manifest */
    FMD_TRY(PUT_LIT(b, ",\"title\":"));
    if (title_at != NULL)
        *title_at = b->len;
    FMD_TRY(fmd_rpc_put_string(b, r->title.ptr, r->title.len));
    if (title_end != NULL)
        *title_end = b->len;
    FMD_TRY(PUT_LIT(b, ",\"headings\":["));
    for (size_t i = 0; i < r->n_headings; i++) {
        const fmd_heading *h = &r->headings[i];
        FMD_TRY(i == 0 ? PUT_LIT(b, "{\"level\":") : PUT_LIT(b, ",{\"level\":"));
        FMD_TRY(fmd_buf_put_u64(b, (unsigned long long)h->level));
        FMD_TRY(PUT_LIT(b, ",\"text\":\""));
        FMD_TRY(put_body(b, h->text.ptr, h->text.len, false));
        FMD_TRY(PUT_LIT(b, "\",\"id\":\""));
        FMD_TRY(put_body(b, h->id.ptr, h->id.len, false));
        FMD_TRY(PUT_LIT(b, "\"}"));
    }
    /* The manifest's names, then the names serve used before, kept one release as aliases. */
    char counts[200];
    int n = snprintf(counts, sizeof counts,
                     "],\"words\":%zu,\"links\":%zu,\"images\":%zu,\"codeBlocks\":%zu,"
                     "\"wordCount\":%zu,\"linkCount\":%zu,\"imageCount\":%zu,"
                     "\"codeBlockCount\":%zu",
                     (size_t)r->words, (size_t)r->links, (size_t)r->images, (size_t)r->code_blocks,
                     (size_t)r->words, (size_t)r->links, (size_t)r->images, (size_t)r->code_blocks);
    FMD_TRY(fmd_buf_append(b, counts, (size_t)n));
    FMD_TRY(PUT_LIT(b, ",\"hash\":"));
    FMD_TRY(fmd_json_put_hex64(b, r->hash));
    FMD_TRY(PUT_LIT(b, ",\"warnings\":["));
    for (size_t i = 0; i < r->n_warnings; i++) {
        if (i != 0)
            FMD_TRY(fmd_buf_putc(b, ','));
        FMD_TRY(fmd_rpc_put_string(b, r->warnings[i].ptr, r->warnings[i].len));
    }
    FMD_TRY(PUT_LIT(b, "]},\"dependencies\":[]}"));
fail:
    return st;
}

const char *fmd_rpc_page_error_code(const fmd_rpc_item *item, fmd_status status)
{
    if (item != NULL && item->outside)
        return "outside-root";
    return fmd_status_name(status);
}

fmd_status fmd_rpc_put_page_error(fmd_buf *b, const fmd_rpc_item *item, fmd_status load_status,
                                  const fmd_result *r)
{
    fmd_status st = FMD_OK;
    fmd_status status = load_status != FMD_OK ? load_status : r->status;
    bool own = load_status == FMD_OK; /* the kernel's message and position apply */
    FMD_TRY(PUT_LIT(b, "{\"code\":"));
    FMD_TRY(put_cstr(b, fmd_rpc_page_error_code(item, status)));
    FMD_TRY(PUT_LIT(b, ",\"message\":"));
    if (item != NULL && item->outside) {
        FMD_TRY(put_cstr(b, "path leads out of the root"));
    } else if (item != NULL && item->special && !own) {
        FMD_TRY(put_cstr(b, item->err == EISDIR ? "not a regular file: a directory"
                                                : "not a regular file"));
    } else if (own && r->err_message.len != 0) {
        FMD_TRY(fmd_rpc_put_string(b, r->err_message.ptr, r->err_message.len));
    } else {
        char msg[320];
        int e = item != NULL && !own ? item->err : 0;
        char sys[128] = "";
        if (e != 0 && strerror_r(e, sys, sizeof sys) != 0)
            sys[0] = '\0';
        snprintf(msg, sizeof msg, "%s%s%s", fmd_status_str(status), sys[0] ? ": " : "", sys);
        FMD_TRY(put_cstr(b, msg));
    }
    FMD_TRY(PUT_LIT(b, ",\"line\":"));
    if (own && r->err_line != 0)
        FMD_TRY(fmd_buf_put_u64(b, r->err_line));
    else
        FMD_TRY(PUT_LIT(b, "null"));
    FMD_TRY(PUT_LIT(b, ",\"column\":"));
    if (own && r->err_column != 0)
        FMD_TRY(fmd_buf_put_u64(b, r->err_column));
    else
        FMD_TRY(PUT_LIT(b, "null"));
    FMD_TRY(PUT_LIT(b, ",\"file\":"));
    FMD_TRY(put_cstr(b, item ? item->file : NULL));
    FMD_TRY(fmd_buf_putc(b, '}'));
fail:
    return st;
}

/*** Requests ***/

static const char *const method_names[FMD_RPC_METHOD_COUNT] = {
    [FMD_RPC_PING] = "ping",           [FMD_RPC_SHUTDOWN] = "shutdown",
    [FMD_RPC_TRANSFORM] = "transform", [FMD_RPC_TRANSFORM_BATCH] = "transformBatch",
    [FMD_RPC_NORMALIZE] = "normalize", [FMD_RPC_COMPUTE_DIGEST] = "computeDigest",
    [FMD_RPC_CANCEL] = "cancel",       [FMD_RPC_CANCEL_REQUEST] = "$/cancelRequest",
    [FMD_RPC_HEALTH] = "health",       [FMD_RPC_STATS] = "stats",
    [FMD_RPC_OTHER] = "other",         [FMD_RPC_INVALID] = "invalid",
};

const char *fmd_rpc_method_name(fmd_rpc_method m)
{
    return (unsigned)m < FMD_RPC_METHOD_COUNT ? method_names[m] : "invalid";
}

void fmd_rpc_init(void)
{
    /* jansson seeds its hash function on first use; doing it here, before any thread exists,
     * keeps that one write out of the parallel part. */
    json_object_seed(0);
}

void fmd_rpc_request_free(fmd_rpc_request *r)
{
    if (r == NULL)
        return;
    free(r->base);
    free(r->refs);
    free(r->items);
    fmd_arena_destroy(r->arena); /* holds r itself: last */
}

static char *arena_strdup(fmd_arena *a, const char *s, size_t n)
{
    char *d = fmd_arena_alloc(a, n + 1);
    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

fmd_status fmd_rpc_request_fail(fmd_rpc_request *r, int code, const char *message,
                                const char *data_json)
{
    r->error = code;
    r->error_message = arena_strdup(r->arena, message, strlen(message));
    r->error_data = data_json ? arena_strdup(r->arena, data_json, strlen(data_json)) : NULL;
    return r->error_message != NULL && (data_json == NULL || r->error_data != NULL) ? FMD_OK
                                                                                    : FMD_E_NOMEM;
}

/* Parsing context: the request, and the name of the field being read ("params.files[3]"). */
typedef struct pctx {
    fmd_rpc_request *r;
    const fmd_options *defaults;
    fmd_status st; /* FMD_E_NOMEM once an allocation failed */
} pctx;

/* Fail the request with -32602, naming @p field: "<field>: <what>", data {"field": field}. */
static bool bad_param(pctx *c, const char *field, const char *what)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s: %s", field, what);
    fmd_arena *scratch = NULL;
    char data[400];
    data[0] = '\0';
    if (fmd_arena_create(&scratch, 1024) == FMD_OK) {
        fmd_buf b;
        fmd_buf_reset(&b, scratch);
        if (PUT_LIT(&b, "{\"field\":") == FMD_OK && put_cstr(&b, field) == FMD_OK &&
            fmd_buf_putc(&b, '}') == FMD_OK && b.len < sizeof data) {
            memcpy(data, b.ptr, b.len);
            data[b.len] = '\0';
        }
        fmd_arena_destroy(scratch);
    }
    if (fmd_rpc_request_fail(c->r, FMD_RPC_INVALID_PARAMS, msg, data[0] ? data : NULL) != FMD_OK)
        c->st = FMD_E_NOMEM;
    return false;
}

/* Optional boolean field. Returns false after failing the request. */
/* Whether @p s is an etag: 64 lower-case hex digits (a result cache key). */
static bool is_etag(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    return n == 64;
}

static bool opt_bool(pctx *c, const json_t *obj, const char *key, const char *prefix, bool *out)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v))
        return true;
    if (!json_is_boolean(v)) {
        char field[256];
        snprintf(field, sizeof field, "%s.%s", prefix, key);
        return bad_param(c, field, "expected a boolean");
    }
    *out = json_is_true(v);
    return true;
}

/* Optional string field (no NUL inside). *out stays NULL when absent. */
static bool opt_string(pctx *c, const json_t *obj, const char *key, const char *prefix,
                       const char **out, size_t *len)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (len)
        *len = 0;
    if (v == NULL || json_is_null(v))
        return true;
    char field[256];
    snprintf(field, sizeof field, "%s.%s", prefix, key);
    if (!json_is_string(v))
        return bad_param(c, field, "expected a string");
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (memchr(s, '\0', n) != NULL)
        return bad_param(c, field, "must not contain U+0000");
    *out = arena_strdup(c->r->arena, s, n);
    if (*out == NULL) {
        c->st = FMD_E_NOMEM;
        return false;
    }
    if (len)
        *len = n;
    return true;
}

/* Set or clear extension bits from an optional boolean. */
static bool opt_ext(pctx *c, const json_t *obj, const char *key, const char *prefix, unsigned bits,
                    unsigned *ext)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v))
        return true;
    bool on = false;
    if (!opt_bool(c, obj, key, prefix, &on))
        return false;
    *ext = on ? (*ext | bits) : (*ext & ~bits);
    return true;
}

/** The GFM extensions the original sidecar's "gfm" switch stood for (front matter is not one). */
#define GFM_SWITCH_BITS                                                                            \
    (FMD_EXT_TABLES | FMD_EXT_STRIKETHROUGH | FMD_EXT_TASKLISTS | FMD_EXT_AUTOLINKS)

static bool parse_rules(pctx *c, const json_t *rules, fmd_rpc_options *o)
{
    const char *prefix = "params.options.rules";
    if (!json_is_array(rules))
        return bad_param(c, prefix, "expected an array of {pattern, replacement, regex?}");
    size_t n = json_array_size(rules);
    if (n > FMD_RPC_MAX_RULES)
        return bad_param(c, prefix, "too many rules (at most 256)");
    if (n == 0)
        return true;
    fmd_rpc_rule *out = fmd_arena_alloc(c->r->arena, sizeof *out * n);
    if (out == NULL) {
        c->st = FMD_E_NOMEM;
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *rule = json_array_get(rules, i);
        char field[96];
        snprintf(field, sizeof field, "%s[%zu]", prefix, i);
        if (!json_is_object(rule))
            return bad_param(c, field, "expected an object {pattern, replacement, regex?}");
        const char *pat, *rep;
        size_t pat_len, rep_len;
        bool regex = false;
        if (!opt_string(c, rule, "pattern", field, &pat, &pat_len) ||
            !opt_string(c, rule, "replacement", field, &rep, &rep_len) ||
            !opt_bool(c, rule, "regex", field, &regex))
            return false;
        if (pat == NULL) {
            char f2[128];
            snprintf(f2, sizeof f2, "%s.pattern", field);
            return bad_param(c, f2, "required");
        }
        out[i].pattern = (fmd_slice){pat, pat_len};
        out[i].replacement = (fmd_slice){rep ? rep : "", rep_len};
        out[i].regex = regex;
    }
    /* The cache key: the rules as compact JSON with sorted keys, so that the same rules sent
     * twice share one compiled set. */
    char *text = json_dumps(rules, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (text == NULL) {
        c->st = FMD_E_NOMEM;
        return false;
    }
    size_t len = strlen(text);
    o->rules_json.ptr = arena_strdup(c->r->arena, text, len);
    o->rules_json.len = len;
    free(text);
    if (o->rules_json.ptr == NULL) {
        c->st = FMD_E_NOMEM;
        return false;
    }
    o->rules_hash = fmd_fnv1a64(o->rules_json.ptr, len);
    o->rules = out;
    o->n_rules = n;
    return true;
}

/* params.options over the server's defaults: dialect, then gfm, then each extension. */
static bool parse_options(pctx *c, const json_t *params)
{
    fmd_rpc_options *o = &c->r->options;
    o->opt = *c->defaults;
    o->opt.rules = NULL;
    o->retries = 1;
    json_t *opts = json_object_get(params, "options");
    if (opts == NULL || json_is_null(opts))
        return true;
    const char *p = "params.options";
    if (!json_is_object(opts))
        return bad_param(c, p, "expected an object");
    json_t *d = json_object_get(opts, "dialect");
    if (d != NULL && !json_is_null(d)) {
        const char *ds = json_is_string(d) ? json_string_value(d) : NULL;
        unsigned keep = o->opt.extensions & (FMD_EXT_FOOTNOTES | FMD_EXT_SMART);
        /* As fmd_kernel_options_set_dialect() (io does not link the kernel). */
        if (ds != NULL && strcmp(ds, "gfm") == 0) {
            o->opt.dialect = FMD_DIALECT_GFM;
            o->opt.extensions = keep | FMD_EXT_GFM;
        } else if (ds != NULL && strcmp(ds, "commonmark") == 0) {
            o->opt.dialect = FMD_DIALECT_COMMONMARK;
            o->opt.extensions = keep;
        } else {
            return bad_param(c, "params.options.dialect", "expected \"gfm\" or \"commonmark\"");
        }
    }
    unsigned *ext = &o->opt.extensions;
    if (!opt_ext(c, opts, "gfm", p, GFM_SWITCH_BITS, ext) ||
        !opt_ext(c, opts, "tables", p, FMD_EXT_TABLES, ext) ||
        !opt_ext(c, opts, "strikethrough", p, FMD_EXT_STRIKETHROUGH, ext) ||
        !opt_ext(c, opts, "tasklist", p, FMD_EXT_TASKLISTS, ext) ||
        !opt_ext(c, opts, "autolinks", p, FMD_EXT_AUTOLINKS, ext) ||
        !opt_ext(c, opts, "footnotes", p, FMD_EXT_FOOTNOTES, ext) ||
        !opt_ext(c, opts, "smartPunctuation", p, FMD_EXT_SMART, ext) ||
        !opt_ext(c, opts, "frontmatter", p, FMD_EXT_FRONTMATTER, ext) ||
        !opt_bool(c, opts, "headingIds", p, &o->opt.heading_ids) ||
        !opt_bool(c, opts, "xhtml", p, &o->opt.xhtml) ||
        !opt_bool(c, opts, "unsafe", p, &o->opt.unsafe))
        return false;
    if (json_object_get(opts, "idPrefix") != NULL) {
        const char *idp = NULL;
        if (!opt_string(c, opts, "idPrefix", p, &idp, NULL))
            return false;
        if (idp != NULL && !fmd_kernel_id_prefix_valid(idp))
            return bad_param(c, "params.options.idPrefix",
                             "expected at most 64 ASCII letters, digits, '-', '_', '.' and ':'");
        if (idp != NULL)
            o->opt.id_prefix = idp;
    }
    json_t *dl = json_object_get(opts, "deadlineMs");
    if (dl != NULL && !json_is_null(dl)) {
        if (!json_is_integer(dl) || json_integer_value(dl) < 0 ||
            json_integer_value(dl) > FMD_RPC_MAX_DEADLINE_MS)
            return bad_param(c, "params.options.deadlineMs",
                             "expected an integer from 0 (none) to 3600000 milliseconds");
        o->opt.deadline_ms = (unsigned)json_integer_value(dl);
    }
    json_t *rt = json_object_get(opts, "retries");
    if (rt != NULL && !json_is_null(rt)) {
        if (!json_is_integer(rt) || json_integer_value(rt) < 0 ||
            json_integer_value(rt) > FMD_RPC_MAX_RETRIES)
            return bad_param(c, "params.options.retries", "expected an integer from 0 to 10");
        o->retries = (unsigned)json_integer_value(rt);
    }
    json_t *rules = json_object_get(opts, "rules");
    if (rules != NULL && !json_is_null(rules)) {
        o->rules_given = true; /* even [] : no rules, not the server's */
        return parse_rules(c, rules, o);
    }
    return true;
}

/* The pages of a transform (one item: params itself) or a transformBatch (params.files).
 * Inline content is copied into one block, back to back, each page followed by a NUL. */
static bool parse_items(pctx *c, const json_t *params, bool batch)
{
    fmd_rpc_request *r = c->r;
    const json_t *files = params;
    size_t n = 1;
    if (batch) {
        files = json_object_get(params, "files");
        if (files == NULL || json_is_null(files))
            return bad_param(c, "params.files", "required");
        if (!json_is_array(files))
            return bad_param(c, "params.files", "expected an array of {file, content?}");
        n = json_array_size(files);
    }
    r->items = calloc(n ? n : 1, sizeof *r->items);
    r->refs = calloc(n ? n : 1, sizeof *r->refs);
    if (r->items == NULL || r->refs == NULL) {
        c->st = FMD_E_NOMEM;
        return false;
    }
    r->n_items = n;
    size_t total = 0, attached = 0;
    for (size_t k = 0; k < n; k++) {
        const json_t *it = batch ? json_array_get(files, k) : params;
        char field[64];
        if (batch)
            snprintf(field, sizeof field, "params.files[%zu]", k);
        else
            snprintf(field, sizeof field, "params");
        if (!json_is_object(it))
            return bad_param(c, field, "expected an object {file, content?}");
        if (!opt_string(c, it, "file", field, &r->items[k].file, NULL))
            return false;
        if (batch && !opt_string(c, it, "ifNoneMatch", field, &r->items[k].if_none_match, NULL))
            return false;
        if (r->items[k].if_none_match != NULL && !is_etag(r->items[k].if_none_match)) {
            char f2[96];
            snprintf(f2, sizeof f2, "%s.ifNoneMatch", field);
            return bad_param(c, f2, "expected an etag (64 lower-case hex digits)");
        }
        json_t *content = json_object_get(it, "content");
        json_t *cbytes = batch ? json_object_get(it, "contentBytes") : NULL;
        if (cbytes != NULL && !json_is_null(cbytes)) {
            char f2[96];
            snprintf(f2, sizeof f2, "%s.contentBytes", field);
            if (content != NULL && !json_is_null(content))
                return bad_param(c, f2, "give content or contentBytes, not both");
            if (!json_is_integer(cbytes) || json_integer_value(cbytes) < 0)
                return bad_param(c, f2, "expected a byte count (an integer >= 0)");
            r->items[k].has_content = true;
            r->items[k].attached = true;
            r->refs[k].len = (size_t)json_integer_value(cbytes);
            if (r->refs[k].len > r->attach_bytes - attached)
                return bad_param(c, f2, "the items' contentBytes add up to more than params.bytes");
            attached += r->refs[k].len;
            total += r->refs[k].len + 1;
        } else if (content != NULL && !json_is_null(content)) {
            if (!json_is_string(content)) {
                char f2[96];
                snprintf(f2, sizeof f2, "%s.content", field);
                return bad_param(c, f2, "expected a string");
            }
            r->items[k].has_content = true;
            r->refs[k].len = json_string_length(content);
            total += r->refs[k].len + 1;
        } else if (r->items[k].file == NULL) {
            return bad_param(c, field, "\"file\" or \"content\" is required");
        }
        r->refs[k].load_status = FMD_OK;
    }
    if (attached != r->attach_bytes) {
        char why[128];
        snprintf(why, sizeof why, "%zu raw bytes follow, but the items' contentBytes add up to %zu",
                 r->attach_bytes, attached);
        return bad_param(c, "params.bytes", why);
    }
    r->base = malloc(total ? total : 1);
    if (r->base == NULL) {
        c->st = FMD_E_NOMEM;
        return false;
    }
    size_t off = 0;
    for (size_t k = 0; k < n; k++) {
        if (!r->items[k].has_content)
            continue;
        r->refs[k].offset = off;
        if (!r->items[k].attached) { /* attached bytes come in fmd_rpc_read_attachment() */
            const json_t *it = batch ? json_array_get(files, k) : params;
            json_t *content = json_object_get(it, "content");
            memcpy(r->base + off, json_string_value(content), r->refs[k].len);
        }
        off += r->refs[k].len;
        r->base[off++] = '\0';
    }
    r->base_len = off;
    return true;
}

/* mtime in the digest encoding (docs/protocol.md): integers below 2^53 as integers, other
 * numbers in the shortest %.Ng that reads back exactly, strings as they are. */
static bool digest_mtime(pctx *c, const json_t *v, const char *field, fmd_buf *b)
{
    char tmp[64];
    double d;
    if (json_is_string(v)) {
        if (fmd_buf_append(b, json_string_value(v), json_string_length(v)) != FMD_OK)
            goto nomem;
        return true;
    }
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i > -(1LL << 53) && i < (1LL << 53)) {
            int n = snprintf(tmp, sizeof tmp, "%lld", (long long)i);
            if (fmd_buf_append(b, tmp, (size_t)n) != FMD_OK)
                goto nomem;
            return true;
        }
        d = (double)i;
    } else if (json_is_real(v)) {
        d = json_real_value(v);
    } else {
        return bad_param(c, field, "expected a number or a string");
    }
    if (d == trunc(d) && fabs(d) < 9007199254740992.0) {
        int n = snprintf(tmp, sizeof tmp, "%.0f", d == 0 ? 0.0 : d);
        if (fmd_buf_append(b, tmp, (size_t)n) != FMD_OK)
            goto nomem;
        return true;
    }
    int n = 0;
    for (int prec = 1; prec <= 17; prec++) {
        n = snprintf(tmp, sizeof tmp, "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    if (fmd_buf_append(b, tmp, (size_t)n) != FMD_OK)
        goto nomem;
    return true;
nomem:
    c->st = FMD_E_NOMEM;
    return false;
}

static int cmp_slice(const void *a, const void *b)
{
    const fmd_slice *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int d = memcmp(x->ptr, y->ptr, n);
    if (d != 0)
        return d;
    return x->len < y->len ? -1 : x->len > y->len;
}

static bool parse_digest(pctx *c, const json_t *params)
{
    fmd_rpc_request *r = c->r;
    json_t *files = json_object_get(params, "files");
    if (files == NULL || json_is_null(files))
        return bad_param(c, "params.files", "required");
    if (!json_is_array(files))
        return bad_param(c, "params.files", "expected an array of {path, size, mtime}");
    size_t n = json_array_size(files);
    fmd_slice *ent = malloc(sizeof *ent * (n ? n : 1));
    fmd_buf b;
    fmd_buf_reset(&b, r->arena);
    size_t *ends = malloc(sizeof *ends * (n ? n : 1));
    if (ent == NULL || ends == NULL) {
        free(ent);
        free(ends);
        c->st = FMD_E_NOMEM;
        return false;
    }
    bool ok = true;
    /* Encode every entry into one buffer, then sort views of them by their bytes. */
    for (size_t k = 0; k < n && ok; k++) {
        json_t *f = json_array_get(files, k);
        char field[64], f2[80];
        snprintf(field, sizeof field, "params.files[%zu]", k);
        if (!json_is_object(f)) {
            ok = bad_param(c, field, "expected an object {path, size, mtime}");
            break;
        }
        json_t *path = json_object_get(f, "path"), *size = json_object_get(f, "size"),
               *mtime = json_object_get(f, "mtime");
        snprintf(f2, sizeof f2, "%s.path", field);
        if (path == NULL || !json_is_string(path)) {
            ok = bad_param(c, f2, path == NULL ? "required" : "expected a string");
            break;
        }
        if (memchr(json_string_value(path), '\0', json_string_length(path)) != NULL) {
            ok = bad_param(c, f2, "must not contain U+0000"); /* the encoding's separator */
            break;
        }
        snprintf(f2, sizeof f2, "%s.size", field);
        double sz = json_is_integer(size) ? (double)json_integer_value(size)
                    : json_is_real(size)  ? json_real_value(size)
                                          : -1;
        if (size == NULL || sz < 0 || sz != trunc(sz) || sz > 9007199254740992.0) {
            ok = bad_param(c, f2, size == NULL ? "required" : "expected a non-negative integer");
            break;
        }
        snprintf(f2, sizeof f2, "%s.mtime", field);
        if (mtime == NULL) {
            ok = bad_param(c, f2, "required");
            break;
        }
        char num[32];
        int nn = snprintf(num, sizeof num, "%.0f", sz);
        if (fmd_buf_append(&b, json_string_value(path), json_string_length(path)) != FMD_OK ||
            fmd_buf_putc(&b, '\0') != FMD_OK || fmd_buf_append(&b, num, (size_t)nn) != FMD_OK ||
            fmd_buf_putc(&b, '\0') != FMD_OK) {
            c->st = FMD_E_NOMEM;
            ok = false;
            break;
        }
        if (!digest_mtime(c, mtime, f2, &b)) {
            ok = false;
            break;
        }
        if (fmd_buf_putc(&b, '\n') != FMD_OK) {
            c->st = FMD_E_NOMEM;
            ok = false;
            break;
        }
        ends[k] = b.len;
    }
    if (ok) {
        /* Views only now: the buffer may have moved while it grew. */
        for (size_t k = 0; k < n; k++) {
            size_t start = k ? ends[k - 1] : 0;
            ent[k] = (fmd_slice){b.ptr + start, ends[k] - start};
        }
        qsort(ent, n, sizeof *ent, cmp_slice);
        char *out = fmd_arena_alloc(r->arena, b.len ? b.len : 1);
        if (out == NULL) {
            c->st = FMD_E_NOMEM;
            ok = false;
        } else {
            size_t off = 0;
            for (size_t k = 0; k < n; k++) {
                memcpy(out + off, ent[k].ptr, ent[k].len);
                off += ent[k].len;
            }
            r->digest_input = (fmd_slice){out, off};
        }
    }
    free(ent);
    free(ends);
    return ok;
}

static bool is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static bool all_zero(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != '0')
            return false;
    return true;
}

/* params._meta.traceparent (W3C Trace Context, version 00):
 * "00-<32 hex trace id>-<16 hex parent span id>-<2 hex flags>", neither id all zeros. */
static bool parse_trace(pctx *c, const json_t *params)
{
    json_t *meta = json_object_get(params, "_meta");
    if (meta == NULL || json_is_null(meta))
        return true;
    if (!json_is_object(meta))
        return bad_param(c, "params._meta", "expected an object");
    json_t *tp = json_object_get(meta, "traceparent");
    if (tp == NULL || json_is_null(tp))
        return true;
    const char *v = json_is_string(tp) ? json_string_value(tp) : NULL;
    if (v == NULL || json_string_length(tp) != 55 || strncmp(v, "00-", 3) != 0 || v[35] != '-' ||
        v[52] != '-' || !is_hex(v + 3, 32) || !is_hex(v + 36, 16) || !is_hex(v + 53, 2) ||
        all_zero(v + 3, 32) || all_zero(v + 36, 16))
        return bad_param(c, "params._meta.traceparent",
                         "expected a W3C traceparent \"00-<32 hex>-<16 hex>-<2 hex>\"");
    memcpy(c->r->trace_id, v + 3, 32);
    c->r->trace_id[32] = '\0';
    memcpy(c->r->parent_span, v + 36, 16);
    c->r->parent_span[16] = '\0';
    c->r->trace_flags = (unsigned char)strtoul(v + 53, NULL, 16);
    return true;
}

static bool parse_params(pctx *c, const json_t *params)
{
    fmd_rpc_request *r = c->r;
    if (!parse_trace(c, params))
        return false;
    switch (r->method) {
    case FMD_RPC_TRANSFORM:
        r->include_code = true;
        return parse_options(c, params) &&
               opt_bool(c, params, "includeCode", "params", &r->include_code) &&
               parse_items(c, params, false);
    case FMD_RPC_TRANSFORM_BATCH: {
        r->include_code = true;
        r->progress = true;
        size_t idlen = 0;
        if (!parse_options(c, params) ||
            !opt_bool(c, params, "includeCode", "params", &r->include_code) ||
            !opt_bool(c, params, "stream", "params", &r->stream) ||
            !opt_bool(c, params, "frames", "params", &r->frames) ||
            !opt_bool(c, params, "etags", "params", &r->etags) ||
            !opt_bool(c, params, "progress", "params", &r->progress) ||
            !opt_string(c, params, "batchId", "params", &r->batch_id, &idlen))
            return false;
        if (r->batch_id != NULL && (idlen == 0 || idlen > 256))
            return bad_param(c, "params.batchId", "expected 1 to 256 bytes");
        if (r->frames)
            r->stream = true;
        return parse_items(c, params, true);
    }
    case FMD_RPC_NORMALIZE: {
        json_t *v = json_object_get(params, "content");
        r->remove_bom = r->normalize_lf = true;
        if (v == NULL || !json_is_string(v))
            return bad_param(c, "params.content", v == NULL ? "required" : "expected a string");
        r->content.len = json_string_length(v);
        r->content.ptr = arena_strdup(r->arena, json_string_value(v), r->content.len);
        if (r->content.ptr == NULL) {
            c->st = FMD_E_NOMEM;
            return false;
        }
        return opt_bool(c, params, "removeBom", "params", &r->remove_bom) &&
               opt_bool(c, params, "normalizeLf", "params", &r->normalize_lf);
    }
    case FMD_RPC_COMPUTE_DIGEST: return parse_digest(c, params);
    case FMD_RPC_CANCEL:
        if (!opt_string(c, params, "batchId", "params", &r->batch_id, NULL))
            return false;
        if (r->batch_id == NULL)
            return bad_param(c, "params.batchId", "required");
        return true;
    case FMD_RPC_CANCEL_REQUEST: {
        json_t *v = json_object_get(params, "id");
        if (v == NULL || !(json_is_string(v) || json_is_number(v)))
            return bad_param(c, "params.id",
                             v == NULL ? "required" : "expected a string or number");
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (text == NULL) {
            c->st = FMD_E_NOMEM;
            return false;
        }
        r->cancel_id = arena_strdup(r->arena, text, strlen(text));
        free(text);
        if (r->cancel_id == NULL)
            c->st = FMD_E_NOMEM;
        return r->cancel_id != NULL;
    }
    case FMD_RPC_STATS: {
        const char *fmt = NULL;
        if (!opt_string(c, params, "format", "params", &fmt, NULL))
            return false;
        if (fmt != NULL && strcmp(fmt, "json") != 0 && strcmp(fmt, "prometheus") != 0)
            return bad_param(c, "params.format", "expected \"json\" or \"prometheus\"");
        r->prometheus = fmt != NULL && strcmp(fmt, "prometheus") == 0;
        return true;
    }
    default: return true;
    }
}

static fmd_rpc_method lookup_method(const char *name)
{
    for (int m = 0; m < FMD_RPC_OTHER; m++)
        if (strcmp(name, method_names[m]) == 0)
            return (fmd_rpc_method)m;
    return FMD_RPC_OTHER;
}

/*** Ids: echoed exactly as sent, compared by JSON value ***/

/* Skip a JSON string starting at p[i] == '"'; returns the index after its closing quote, or n. */
static size_t skip_string(const char *p, size_t n, size_t i)
{
    for (i++; i < n; i++) {
        if (p[i] == '\\')
            i++;
        else if (p[i] == '"')
            return i + 1;
    }
    return n;
}

/* Skip one JSON value starting at p[i] (after white space); returns the index after it. Only
 * used on a line jansson parsed or is about to parse: it trusts the nesting. */
static size_t skip_value(const char *p, size_t n, size_t i)
{
    if (i < n && p[i] == '"')
        return skip_string(p, n, i);
    if (i < n && (p[i] == '{' || p[i] == '[')) {
        int depth = 0;
        for (; i < n; i++) {
            if (p[i] == '"') {
                i = skip_string(p, n, i) - 1;
            } else if (p[i] == '{' || p[i] == '[') {
                depth++;
            } else if (p[i] == '}' || p[i] == ']') {
                if (--depth == 0)
                    return i + 1;
            }
        }
        return n;
    }
    while (i < n && p[i] != ',' && p[i] != '}' && p[i] != ']' && p[i] != ' ' && p[i] != '\t' &&
           p[i] != '\n' && p[i] != '\r')
        i++;
    return i;
}

static size_t skip_ws(const char *p, size_t n, size_t i)
{
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    return i;
}

/* The raw text [*vs, *ve) of the top-level member "id" of the object on @p p, if there is one
 * (its name written without escapes). */
static bool raw_id(const char *p, size_t n, size_t *vs, size_t *ve)
{
    size_t i = skip_ws(p, n, 0);
    if (i >= n || p[i] != '{')
        return false;
    i++;
    for (;;) {
        i = skip_ws(p, n, i);
        if (i >= n || p[i] != '"')
            return false;
        size_t ks = i;
        i = skip_string(p, n, i);
        bool is_id = i - ks == 4 && memcmp(p + ks, "\"id\"", 4) == 0;
        i = skip_ws(p, n, i);
        if (i >= n || p[i] != ':')
            return false;
        i = skip_ws(p, n, i + 1);
        size_t start = i;
        i = skip_value(p, n, i);
        if (is_id) {
            *vs = start;
            *ve = i;
            return true;
        }
        i = skip_ws(p, n, i);
        if (i >= n || p[i] != ',')
            return false;
        i++;
    }
}

static bool number_start(char c)
{
    return c == '-' || (c >= '0' && c <= '9');
}

/* A JSON number in a canonical form: sign, significant digits, decimal exponent, so that 8, 8.0,
 * 80e-1 and 0.8e1 compare equal, at any size. */
typedef struct num_key {
    bool neg;
    char digits[64]; /* the first 63 significant digits; longer numbers compare by those, and: */
    size_t n_digits; /* the count of all of them */
    long long exp;   /* value = 0.digits x 10^exp */
} num_key;

static void number_key(const char *s, num_key *k)
{
    memset(k, 0, sizeof *k);
    size_t i = 0;
    if (s[i] == '-') {
        k->neg = true;
        i++;
    }
    long long point = 0; /* digits before the decimal point, after leading zeros */
    bool seen = false, frac = false;
    for (; s[i] != '\0'; i++) {
        char c = s[i];
        if (c == '.') {
            frac = true;
            continue;
        }
        if (c < '0' || c > '9')
            break;
        if (!seen && c == '0') {
            if (frac)
                point--;
            continue;
        }
        seen = true;
        if (k->n_digits < sizeof k->digits - 1)
            k->digits[k->n_digits] = c;
        k->n_digits++;
        if (!frac)
            point++;
    }
    long long e = 0;
    if (s[i] == 'e' || s[i] == 'E') {
        i++;
        bool eneg = s[i] == '-';
        if (s[i] == '-' || s[i] == '+')
            i++;
        for (; s[i] >= '0' && s[i] <= '9'; i++)
            if (e < 1000000000000LL)
                e = e * 10 + (s[i] - '0');
        if (eneg)
            e = -e;
    }
    /* Trailing zeros are not significant. */
    size_t kept = k->n_digits < sizeof k->digits - 1 ? k->n_digits : sizeof k->digits - 1;
    while (kept > 0 && k->digits[kept - 1] == '0' && k->n_digits == kept) {
        kept--;
        k->n_digits--;
    }
    k->digits[kept] = '\0';
    if (k->n_digits == 0) { /* zero: no sign, no exponent */
        k->neg = false;
        return;
    }
    k->exp = point + e;
}

bool fmd_rpc_id_equal(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    if (!number_start(a[0]) || !number_start(b[0]))
        return strcmp(a, b) == 0;
    num_key x, y;
    number_key(a, &x);
    number_key(b, &y);
    return x.neg == y.neg && x.n_digits == y.n_digits && x.exp == y.exp &&
           strcmp(x.digits, y.digits) == 0;
}

/* The steps of fmd_rpc_parse(). Each returns FMD_OK or FMD_E_NOMEM; a message that is wrong
 * fails the request instead (r->error set), and the later steps are skipped. */

/* The line as JSON: an object, or the request fails (-32700 not JSON, -32600 not an object). */
static fmd_status parse_root(fmd_rpc_request *r, const char *line, size_t len, json_t **root)
{
    json_error_t je;
    /* Duplicate keys are refused: a request whose meaning depends on which copy wins is
     * ambiguous. NUL is allowed inside strings (page text); names are checked for it. Any value
     * is accepted at the top, so that valid JSON that is not an object ("a string", 42) is an
     * invalid request (-32600), not a parse error. */
    const size_t flags = JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY;
    *root = json_loadb(line, len, flags, &je);
    size_t vs, ve;
    if (*root == NULL && raw_id(line, len, &vs, &ve) && ve > vs && number_start(line[vs])) {
        /* Valid JSON that jansson cannot hold: an id beyond int64 or a double ("1e400"). Parse
         * the line with the id replaced by 0; parse_id() echoes the original text. */
        char *copy = malloc(len);
        if (copy == NULL)
            return FMD_E_NOMEM;
        memcpy(copy, line, vs);
        copy[vs] = '0';
        memcpy(copy + vs + 1, line + ve, len - ve);
        json_error_t je2;
        *root = json_loadb(copy, len - (ve - vs) + 1, flags, &je2);
        free(copy);
    }
    if (*root == NULL) {
        char msg[300], data[128];
        snprintf(msg, sizeof msg, "Parse error: %s", je.text);
        snprintf(data, sizeof data, "{\"line\":%d,\"column\":%d,\"position\":%d}", je.line,
                 je.column, je.position);
        r->id = "null";
        return fmd_rpc_request_fail(r, FMD_RPC_PARSE_ERROR, msg, data);
    }
    if (json_is_array(*root)) {
        r->id = "null";
        return fmd_rpc_request_fail(r, FMD_RPC_INVALID_REQUEST,
                                    "Invalid Request: JSON-RPC batch arrays are not supported; "
                                    "send one request per line, or use transformBatch",
                                    NULL);
    }
    if (!json_is_object(*root)) {
        r->id = "null";
        return fmd_rpc_request_fail(r, FMD_RPC_INVALID_REQUEST,
                                    "Invalid Request: expected a JSON object", NULL);
    }
    return FMD_OK;
}

/* The id, as compact JSON text; NULL when absent (a notification). A number is kept as the
 * client wrote it (big integers, 8.0, 1e400 included). */
static fmd_status parse_id(fmd_rpc_request *r, const json_t *root, const char *line, size_t len)
{
    json_t *id = json_object_get(root, "id");
    if (id == NULL)
        return FMD_OK;
    if (!(json_is_string(id) || json_is_number(id) || json_is_null(id))) {
        r->id = "null";
        return fmd_rpc_request_fail(r, FMD_RPC_INVALID_REQUEST,
                                    "Invalid Request: id: expected a string, a number or null",
                                    NULL);
    }
    size_t vs, ve;
    if (json_is_number(id) && raw_id(line, len, &vs, &ve) && ve > vs && number_start(line[vs])) {
        r->id = arena_strdup(r->arena, line + vs, ve - vs);
        return r->id != NULL ? FMD_OK : FMD_E_NOMEM;
    }
    if (json_is_string(id)) {
        /* Written by the one string writer, which escapes U+2028 and U+2029 (json_dumps does
         * not), so that the echoed id is valid JavaScript too. */
        fmd_buf b;
        fmd_buf_reset(&b, r->arena);
        fmd_status st = fmd_rpc_put_string(&b, json_string_value(id), json_string_length(id));
        if (st == FMD_OK)
            st = fmd_buf_putc(&b, '\0');
        r->id = st == FMD_OK ? b.ptr : NULL;
        return r->id != NULL ? FMD_OK : FMD_E_NOMEM;
    }
    char *text = json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY);
    if (text == NULL)
        return FMD_E_NOMEM;
    r->id = arena_strdup(r->arena, text, strlen(text));
    free(text);
    return r->id != NULL ? FMD_OK : FMD_E_NOMEM;
}

/* "jsonrpc": "2.0" and the method's name. */
static fmd_status parse_method(fmd_rpc_request *r, const json_t *root)
{
    json_t *ver = json_object_get(root, "jsonrpc");
    json_t *method = json_object_get(root, "method");
    bool ver_ok = ver != NULL && json_is_string(ver) && strcmp(json_string_value(ver), "2.0") == 0;
    if (!ver_ok || method == NULL || !json_is_string(method)) {
        if (r->id == NULL)
            r->id = "null"; /* an invalid request is answered even without an id */
        return fmd_rpc_request_fail(r, FMD_RPC_INVALID_REQUEST,
                                    !ver_ok ? "Invalid Request: jsonrpc: expected \"2.0\""
                                            : "Invalid Request: method: expected a string",
                                    NULL);
    }
    r->method_name = arena_strdup(r->arena, json_string_value(method), json_string_length(method));
    if (r->method_name == NULL)
        return FMD_E_NOMEM;
    r->method = lookup_method(r->method_name);
    return FMD_OK;
}

/* params: an object (by name), or absent or null (then *empty holds an empty object the caller
 * releases). */
static fmd_status parse_params_object(pctx *c, json_t *root, json_t **params, json_t **empty)
{
    fmd_rpc_request *r = c->r;
    *params = json_object_get(root, "params");
    if (*params == NULL || json_is_null(*params)) {
        *params = *empty = json_object();
        return *params != NULL ? FMD_OK : FMD_E_NOMEM;
    }
    if (json_is_array(*params)) {
        bad_param(c, "params", "expected an object (by-name parameters)");
        return c->st;
    }
    if (!json_is_object(*params)) {
        if (r->id == NULL)
            r->id = "null";
        return fmd_rpc_request_fail(r, FMD_RPC_INVALID_REQUEST,
                                    "Invalid Request: params: expected an object", NULL);
    }
    return FMD_OK;
}

/* params.bytes: the raw bytes after the line. Known first, so that they are read (and dropped)
 * even when the rest of the request is wrong, and the next line is found. A count that is not a
 * whole number or is over the limit is refused and nothing is read: the sender cannot have meant
 * it, and reading (or dropping) that many bytes would swallow every later request. */
static fmd_status parse_attach_bytes(pctx *c, const json_t *params, size_t max_bytes)
{
    fmd_rpc_request *r = c->r;
    json_t *abytes = json_object_get(params, "bytes");
    if (abytes == NULL || json_is_null(abytes))
        return FMD_OK;
    if (!json_is_integer(abytes) || json_integer_value(abytes) < 0) {
        bad_param(c, "params.bytes",
                  "expected a byte count (an integer >= 0); no raw bytes "
                  "were read: the next line is read as a request");
        return c->st;
    }
    if (max_bytes != 0 && (uint64_t)json_integer_value(abytes) > max_bytes)
        return fmd_rpc_request_fail(r, FMD_RPC_INVALID_REQUEST,
                                    "Invalid Request: params.bytes over --max-line-bytes; no raw "
                                    "bytes were read: the next line is read as a request",
                                    NULL);
    r->attach_bytes = (size_t)json_integer_value(abytes);
    if (r->method != FMD_RPC_TRANSFORM_BATCH) {
        bad_param(c, "params.bytes", "only transformBatch takes raw bytes after its line");
        return c->st;
    }
    return FMD_OK;
}

fmd_status fmd_rpc_parse(const char *line, size_t len, const fmd_options *defaults,
                         size_t max_bytes, fmd_rpc_request **out)
{
    *out = NULL;
    fmd_arena *a = NULL;
    if (fmd_arena_create(&a, 4096) != FMD_OK)
        return FMD_E_NOMEM;
    fmd_rpc_request *r = fmd_arena_alloc(a, sizeof *r);
    if (r == NULL) {
        fmd_arena_destroy(a);
        return FMD_E_NOMEM;
    }
    memset(r, 0, sizeof *r);
    r->arena = a;
    r->method = FMD_RPC_INVALID;
    pctx c = {.r = r, .defaults = defaults, .st = FMD_OK};
    json_t *root = NULL, *params = NULL, *empty = NULL;
    fmd_status st = FMD_OK;
#define STEP(e)                                                                                    \
    do {                                                                                           \
        st = (e);                                                                                  \
        if (st != FMD_OK || r->error != 0)                                                         \
            goto done;                                                                             \
    } while (0)
    STEP(parse_root(r, line, len, &root));
    STEP(parse_id(r, root, line, len));
    STEP(parse_method(r, root));
    STEP(parse_params_object(&c, root, &params, &empty));
    STEP(parse_attach_bytes(&c, params, max_bytes));
#undef STEP
    if (r->method == FMD_RPC_OTHER) {
        char msg[300];
        snprintf(msg, sizeof msg, "Method not found: %.*s",
                 (int)fmd_rpc_utf8_cut(r->method_name, 200), r->method_name);
        st = fmd_rpc_request_fail(r, FMD_RPC_METHOD_NOT_FOUND, msg, NULL);
    } else {
        parse_params(&c, params);
        st = c.st;
    }

done:
    json_decref(empty);
    json_decref(root);
    if (st != FMD_OK) {
        fmd_rpc_request_free(r);
        return st;
    }
    *out = r;
    return FMD_OK;
}

fmd_status fmd_rpc_read_attachment(fmd_rpc_request *r, fmd_rpc_reader *rd, int *err)
{
    *err = 0;
    if (r->attach_bytes == 0)
        return FMD_OK;
    fmd_status st = FMD_OK;
    if (r->error != 0) /* drop them */
        return fmd_rpc_reader_read(rd, NULL, r->attach_bytes, err);
    for (size_t k = 0; k < r->n_items && st == FMD_OK; k++)
        if (r->items[k].attached)
            st = fmd_rpc_reader_read(rd, r->base + r->refs[k].offset, r->refs[k].len, err);
    if (st == FMD_E_NOINPUT)
        fmd_rpc_request_fail(r, FMD_RPC_INVALID_REQUEST,
                             "Invalid Request: the input ended inside the request's raw bytes",
                             NULL);
    return st;
}

/*** Pages read by path, beneath a root ***/

/* @p file relative to the root: an absolute path under one of @p roots (NULL-terminated) loses
 * that prefix; anything else is returned as it is (and an absolute one is then refused). */
static const char *beneath_path(const char *file, const char *const *roots)
{
    if (file == NULL || file[0] != '/' || roots == NULL)
        return file;
    for (size_t i = 0; roots[i] != NULL; i++) {
        size_t n = strlen(roots[i]);
        while (n > 1 && roots[i][n - 1] == '/')
            n--;
        if (n == 1 && roots[i][0] == '/')
            return file[1] != '\0' ? file + 1 : file;
        if (strncmp(file, roots[i], n) == 0 && file[n] == '/' && file[n + 1] != '\0')
            return file + n + 1;
    }
    return file;
}

fmd_status fmd_rpc_load_items(fmd_rpc_request *r, const fmd_io_root *root,
                              const char *const *root_abs, size_t max_input_bytes, unsigned retries,
                              int nthreads, size_t fault_every, double *load_s)
{
    double t0 = fmd_clock_now();
    size_t max = max_input_bytes ? max_input_bytes : FMD_MAX_INPUT_BYTES_DEFAULT;
    size_t n = r->n_items, todo = 0;
    for (size_t k = 0; k < n; k++)
        todo += !r->items[k].has_content && r->refs[k].load_status == FMD_OK;
    if (todo == 0) {
        if (load_s)
            *load_s = 0;
        return FMD_OK;
    }
    size_t *which = malloc(sizeof *which * todo);
    char **bufs = calloc(todo, sizeof *bufs);
    if (which == NULL || bufs == NULL) {
        free(which);
        free(bufs);
        return FMD_E_NOMEM;
    }
    for (size_t k = 0, j = 0; k < n; k++)
        if (!r->items[k].has_content && r->refs[k].load_status == FMD_OK)
            which[j++] = k;
    fmd_rpc_item *items = r->items;
    fmd_page_ref *refs = r->refs;
    int nt = nthreads > 0 ? nthreads : omp_get_max_threads();
    if ((size_t)nt > todo)
        nt = (int)todo;
        /* Each iteration writes only items[k], refs[k] and bufs[j]. */
#pragma omp parallel for num_threads(nt) schedule(dynamic, LOAD_CHUNK) default(none)               \
    shared(which, bufs, items, refs, root, root_abs, todo, max, retries, fault_every)
    for (size_t j = 0; j < todo; j++) {
        size_t k = which[j];
        fmd_status st = FMD_OK;
        size_t len = 0;
        for (unsigned a = 0; a <= retries; a++) {
            items[k].attempts++;
            if (fault_every != 0 && k % fault_every == 0 && a == 0) {
                st = FMD_E_IO; /* the test hook's injected transient failure */
                items[k].err = EIO;
                continue;
            }
            st = fmd_io_root_read(root, beneath_path(items[k].file, root_abs), max, &bufs[j], &len,
                                  &items[k].err, &items[k].outside, &items[k].special);
            if (st != FMD_E_IO && st != FMD_E_NOMEM)
                break; /* success, or a failure that trying again would not change */
        }
        refs[k].load_status = st;
        refs[k].len = st == FMD_OK ? len : 0;
        if (st == FMD_OK)
            items[k].err = 0;
    }
    /* Append the pages to the block, in item order. */
    size_t extra = 0;
    for (size_t j = 0; j < todo; j++)
        if (bufs[j] != NULL)
            extra += refs[which[j]].len + 1;
    fmd_status st = FMD_OK;
    char *base = realloc(r->base, r->base_len + extra + 1);
    if (base == NULL) {
        st = FMD_E_NOMEM;
    } else {
        r->base = base;
        for (size_t j = 0; j < todo; j++) {
            size_t k = which[j];
            if (bufs[j] == NULL)
                continue;
            memcpy(base + r->base_len, bufs[j], refs[k].len + 1);
            refs[k].offset = r->base_len;
            r->base_len += refs[k].len + 1;
        }
    }
    for (size_t j = 0; j < todo; j++)
        free(bufs[j]);
    free(bufs);
    free(which);
    if (load_s)
        *load_s = fmd_clock_now() - t0;
    return st;
}
