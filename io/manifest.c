/* SPDX-License-Identifier: MIT */
/* The JSON line of one page (manifest, NDJSON stream, JSON-RPC results) written by hand into an
 * fmd_buf. Field order is fixed; see fmd_io_page_format_json(). The manifest is these lines,
 * written in page order by the ordered stream (stream.c). */
#include "io_internal.h"

#include <stdlib.h>
#include <string.h>

#include "fmd_json.h"
#include "fmd_utf8.h"

#define PUT_LIT FMD_BUF_PUT_LIT

/* A file name as a JSON string. Names are bytes to the kernel; JSON needs UTF-8, so each invalid
 * byte becomes U+FFFD (a copy is made only then). NULL becomes null. */
static fmd_status put_path(fmd_buf *b, const char *s)
{
    if (s == NULL)
        return PUT_LIT(b, "null");
    size_t n = strlen(s);
    if (fmd_utf8_valid(s, n))
        return fmd_buf_put_json_string(b, s, n);

    char *fixed = malloc(n * 3 + 1); /* each byte becomes at most the 3 bytes of U+FFFD */
    if (fixed == NULL)
        return FMD_E_NOMEM;
    const unsigned char *u = (const unsigned char *)s;
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        size_t l = fmd_utf8_decode(u + i, n - i, NULL);
        if (l == 0) {
            memcpy(fixed + m, "\xEF\xBF\xBD", 3);
            m += 3;
            i++;
        } else {
            memcpy(fixed + m, s + i, l);
            m += l;
            i += l;
        }
    }
    fmd_status st = fmd_buf_put_json_string(b, fixed, m);
    free(fixed);
    return st;
}

static fmd_status put_u64_or_null(fmd_buf *b, unsigned long long v)
{
    return v == 0 ? PUT_LIT(b, "null") : fmd_buf_put_u64(b, v);
}

/* error.message: the kernel's message or the status text, then ": <strerror>" for an errno. */
static fmd_status put_message(fmd_buf *b, fmd_status status, fmd_slice msg, int err)
{
    if (err == 0 && msg.len != 0)
        return fmd_buf_put_json_string(b, msg.ptr, msg.len);
    const char *base = msg.len != 0 ? NULL : fmd_status_str(status);
    char sys[128] = "";
    if (err != 0 && strerror_r(err, sys, sizeof sys) != 0)
        sys[0] = '\0';
    size_t bl = base ? strlen(base) : msg.len, sl = strlen(sys);
    char line[512];
    if (bl + 2 + sl > sizeof line) /* a kernel message this long is passed through as is */
        return fmd_buf_put_json_string(b, base ? base : msg.ptr, bl);
    memcpy(line, base ? base : msg.ptr, bl);
    size_t n = bl;
    if (sl != 0) {
        memcpy(line + n, ": ", 2);
        memcpy(line + n + 2, sys, sl);
        n += 2 + sl;
    }
    return fmd_buf_put_json_string(b, line, n);
}

fmd_status fmd_io_page_format_json(fmd_buf *b, const char *path, const char *output,
                                   const fmd_result *r, fmd_status io_status, int io_err,
                                   unsigned flags)
{
    fmd_status st = FMD_OK;
    /* The page's own failure first; an I/O failure only shows when the page is otherwise fine
     * (or when it is the same failure, e.g. a load error the kernel passed on: then the errno
     * adds the reason). */
    fmd_status status = r->status != FMD_OK ? r->status : io_status;
    int err = status == io_status ? io_err : 0;

    FMD_TRY(PUT_LIT(b, "{\"path\":"));
    FMD_TRY(put_path(b, path));
    FMD_TRY(PUT_LIT(b, ",\"output\":"));
    FMD_TRY(put_path(b, output));
    FMD_TRY(status == FMD_OK ? PUT_LIT(b, ",\"status\":\"ok\",\"title\":")
                             : PUT_LIT(b, ",\"status\":\"error\",\"title\":"));
    FMD_TRY(fmd_json_put_string_or_null(b, r->title.ptr, r->title.len));
    FMD_TRY(PUT_LIT(b, ",\"frontmatter\":"));
    if (r->frontmatter.ptr != NULL && r->frontmatter.len != 0)
        FMD_TRY(fmd_buf_append(b, r->frontmatter.ptr, r->frontmatter.len));
    else
        FMD_TRY(PUT_LIT(b, "null"));
    FMD_TRY(PUT_LIT(b, ",\"headings\":["));
    for (size_t i = 0; i < r->n_headings; i++) {
        const fmd_heading *h = &r->headings[i];
        FMD_TRY(i == 0 ? PUT_LIT(b, "{\"level\":") : PUT_LIT(b, ",{\"level\":"));
        FMD_TRY(fmd_buf_put_u64(b, (unsigned long long)h->level));
        FMD_TRY(PUT_LIT(b, ",\"text\":"));
        FMD_TRY(fmd_buf_put_json_string(b, h->text.ptr, h->text.len));
        FMD_TRY(PUT_LIT(b, ",\"id\":"));
        FMD_TRY(fmd_buf_put_json_string(b, h->id.ptr, h->id.len));
        FMD_TRY(fmd_buf_putc(b, '}'));
    }
    FMD_TRY(PUT_LIT(b, "],\"words\":"));
    FMD_TRY(fmd_buf_put_u64(b, r->words));
    FMD_TRY(PUT_LIT(b, ",\"links\":"));
    FMD_TRY(fmd_buf_put_u64(b, r->links));
    FMD_TRY(PUT_LIT(b, ",\"images\":"));
    FMD_TRY(fmd_buf_put_u64(b, r->images));
    FMD_TRY(PUT_LIT(b, ",\"codeBlocks\":"));
    FMD_TRY(fmd_buf_put_u64(b, r->code_blocks));
    FMD_TRY(PUT_LIT(b, ",\"hash\":"));
    /* A page the kernel failed has no content hash: null, not a hash of zero. */
    FMD_TRY(r->status == FMD_OK ? fmd_json_put_hex64(b, r->hash) : PUT_LIT(b, "null"));
    FMD_TRY(PUT_LIT(b, ",\"bytesIn\":"));
    FMD_TRY(fmd_buf_put_u64(b, r->bytes_in));
    FMD_TRY(PUT_LIT(b, ",\"bytesOut\":"));
    FMD_TRY(fmd_buf_put_u64(b, r->html.len));
    if (r->n_warnings != 0) {
        FMD_TRY(PUT_LIT(b, ",\"warnings\":["));
        for (size_t i = 0; i < r->n_warnings; i++) {
            if (i != 0)
                FMD_TRY(fmd_buf_putc(b, ','));
            FMD_TRY(fmd_buf_put_json_string(b, r->warnings[i].ptr, r->warnings[i].len));
        }
        FMD_TRY(fmd_buf_putc(b, ']'));
    }
    if (status != FMD_OK) {
        /* The kernel's message and position belong to its own failure only. */
        bool own = status == r->status;
        fmd_slice none = {NULL, 0};
        FMD_TRY(PUT_LIT(b, ",\"error\":{\"code\":"));
        const char *code = fmd_status_name(status);
        FMD_TRY(fmd_buf_put_json_string(b, code, strlen(code)));
        FMD_TRY(PUT_LIT(b, ",\"message\":"));
        FMD_TRY(put_message(b, status, own ? r->err_message : none, err));
        FMD_TRY(PUT_LIT(b, ",\"line\":"));
        FMD_TRY(put_u64_or_null(b, own ? r->err_line : 0));
        FMD_TRY(PUT_LIT(b, ",\"column\":"));
        FMD_TRY(put_u64_or_null(b, own ? r->err_column : 0));
        FMD_TRY(fmd_buf_putc(b, '}'));
    }
    if (flags & FMD_IO_JSON_HTML) {
        FMD_TRY(PUT_LIT(b, ",\"html\":"));
        FMD_TRY(fmd_buf_put_json_string(b, r->html.ptr, r->html.len));
    }
    FMD_TRY(fmd_buf_putc(b, '}'));
    return FMD_OK;

fail:
    return st;
}
