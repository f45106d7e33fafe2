/* SPDX-License-Identifier: MIT */
/* The one JSON string writer (fmd_json.h): every module that writes JSON strings (the manifest,
 * the NDJSON stream, the JSON-RPC server, the front matter) escapes through fmd_json_put_body(). */
#include "fmd_json.h"

#include <stdbool.h>
#include <string.h>

#include "fmd_hash.h"

/* What a byte needs inside a JSON string: 0 nothing, 1 an escape of its own (control characters,
 * '"', '\\'), 2 a look at the next bytes (0xE2: U+2028 and U+2029), 3 only inside a template
 * literal ('`', '$'). The 32 control characters are on one line. */
/* clang-format off */
static const unsigned char esc_class[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    ['"'] = 1, ['\\'] = 1, [0xE2] = 2, ['`'] = 3, ['$'] = 3,
};
/* clang-format on */

/** Input bytes escaped per reservation: each becomes at most 6 output bytes ("\u00XX"). */
#define ESC_CHUNK ((size_t)4096)

fmd_status fmd_json_put_body(fmd_buf *b, const char *s, size_t n, unsigned flags)
{
    /* One pass, into memory reserved a chunk at a time: no append call per escape. */
    static const char hex[] = "0123456789abcdef";
    bool tmpl = (flags & FMD_JSON_JS_TEMPLATE) != 0;
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t chunk = n - i < ESC_CHUNK ? n - i : ESC_CHUNK;
        size_t need = chunk * 6 + 8;
        if (b->cap - b->len < need) {
            fmd_status st = fmd_buf_grow(b, need);
            if (st != FMD_OK)
                return st;
        }
        char *o = b->ptr + b->len;
        size_t end = i + chunk;
        while (i < end) {
            unsigned char c = u[i];
            unsigned cls = esc_class[c];
            if (cls == 0 || (cls == 3 && !tmpl)) {
                *o++ = (char)c;
                i++;
                continue;
            }
            if (cls == 2) {
                if (i + 2 < n && u[i + 1] == 0x80 && (u[i + 2] == 0xA8 || u[i + 2] == 0xA9)) {
                    memcpy(o, u[i + 2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
                    o += 6;
                    i += 3;
                } else {
                    *o++ = (char)c;
                    i++;
                }
                continue;
            }
            i++;
            switch (c) {
            case '"':
                *o++ = '\\';
                *o++ = '"';
                break;
            case '\\':
                if (tmpl) {
                    memcpy(o, "\\\\\\\\", 4);
                    o += 4;
                } else {
                    *o++ = '\\';
                    *o++ = '\\';
                }
                break;
            case '`':
                memcpy(o, "\\\\`", 3);
                o += 3;
                break;
            case '$':
                if (i < n && u[i] == '{') {
                    memcpy(o, "\\\\$", 3);
                    o += 3;
                } else {
                    *o++ = '$';
                }
                break;
            case '\n':
                *o++ = '\\';
                *o++ = 'n';
                break;
            case '\t':
                *o++ = '\\';
                *o++ = 't';
                break;
            case '\r':
                if (tmpl) {
                    memcpy(o, "\\\\r", 3);
                    o += 3;
                } else {
                    *o++ = '\\';
                    *o++ = 'r';
                }
                break;
            case '\b':
                *o++ = '\\';
                *o++ = 'b';
                break;
            case '\f':
                *o++ = '\\';
                *o++ = 'f';
                break;
            default:
                memcpy(o, "\\u00", 4);
                o[4] = hex[c >> 4];
                o[5] = hex[c & 15];
                o += 6;
            }
        }
        b->len = (size_t)(o - b->ptr);
    }
    return FMD_OK;
}

fmd_status fmd_buf_put_json_string(fmd_buf *b, const char *s, size_t n)
{
    fmd_status st = fmd_buf_putc(b, '"');
    if (st == FMD_OK)
        st = fmd_json_put_body(b, s, n, 0);
    if (st == FMD_OK)
        st = fmd_buf_putc(b, '"');
    return st;
}

fmd_status fmd_json_put_string_or_null(fmd_buf *b, const char *s, size_t n)
{
    if (s == NULL)
        return FMD_BUF_PUT_LIT(b, "null");
    return fmd_buf_put_json_string(b, s, n);
}

fmd_status fmd_json_put_hex64(fmd_buf *b, uint64_t v)
{
    char s[19];
    s[0] = '"';
    fmd_hex_u64(v, s + 1);
    s[17] = '"';
    return fmd_buf_append(b, s, 18);
}
