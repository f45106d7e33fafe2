/* SPDX-License-Identifier: MIT */
/* The one JSON string writer (fmd_json.h): every module that writes JSON strings (the manifest,
 * the NDJSON stream, the JSON-RPC server, the front matter) escapes through fmd_json_put_body(). */
#include "fmd_json.h"

#include <stdbool.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

/* Escape the byte at u[i] (esc_class nonzero) into @p o; returns the bytes written and advances
 * *pi past what it consumed (3 bytes for U+2028/9). The caller reserved 6 bytes for it. */
static inline size_t escape_one(const unsigned char *u, size_t *pi, size_t n, char *o, bool tmpl)
{
    size_t i = *pi;
    unsigned char c = u[i];
    unsigned cls = esc_class[c];
    *pi = i + 1;
    if (cls == 0 || (cls == 3 && !tmpl)) {
        *o = (char)c;
        return 1;
    }
    if (cls == 2) {
        if (i + 2 < n && u[i + 1] == 0x80 && (u[i + 2] == 0xA8 || u[i + 2] == 0xA9)) {
            memcpy(o, u[i + 2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
            *pi = i + 3;
            return 6;
        }
        *o = (char)c;
        return 1;
    }
    switch (c) {
    case '"': memcpy(o, "\\\"", 2); return 2;
    case '\\':
        if (tmpl) {
            memcpy(o, "\\\\\\\\", 4);
            return 4;
        }
        memcpy(o, "\\\\", 2);
        return 2;
    case '`': memcpy(o, "\\\\`", 3); return 3;
    case '$':
        if (i + 1 < n && u[i + 1] == '{') {
            memcpy(o, "\\\\$", 3);
            return 3;
        }
        *o = '$';
        return 1;
    case '\n': memcpy(o, "\\n", 2); return 2;
    case '\t': memcpy(o, "\\t", 2); return 2;
    case '\r':
        if (tmpl) {
            memcpy(o, "\\\\r", 3);
            return 3;
        }
        memcpy(o, "\\r", 2);
        return 2;
    case '\b': memcpy(o, "\\b", 2); return 2;
    case '\f': memcpy(o, "\\f", 2); return 2;
    default:
        memcpy(o, "\\u00", 4);
        o[4] = fmd_hex_digits[c >> 4];
        o[5] = fmd_hex_digits[c & 15];
        return 6;
    }
}

/* Make room for escaping @p chunk more input bytes (6 output bytes each, plus slack for a
 * U+2028/9 that starts in the chunk and ends after it). */
static inline fmd_status reserve(fmd_buf *b, size_t chunk)
{
    size_t need = chunk * 6 + 8;
    if (b->cap - b->len < need)
        return fmd_buf_grow(b, need);
    return FMD_OK;
}

fmd_status fmd_json_put_body_scalar(fmd_buf *b, const char *s, size_t n, unsigned flags)
{
    /* One pass, into memory reserved a chunk at a time: no append call per escape. */
    bool tmpl = (flags & FMD_JSON_JS_TEMPLATE) != 0;
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t chunk = n - i < ESC_CHUNK ? n - i : ESC_CHUNK;
        fmd_status st = reserve(b, chunk);
        if (st != FMD_OK)
            return st;
        char *o = b->ptr + b->len;
        size_t end = i + chunk;
        while (i < end) {
            unsigned char c = u[i];
            if (esc_class[c] == 0) {
                *o++ = (char)c;
                i++;
                continue;
            }
            o += escape_one(u, &i, n, o, tmpl);
        }
        b->len = (size_t)(o - b->ptr);
    }
    return FMD_OK;
}

#if defined(__SSE2__)
/* The same bytes as fmd_json_put_body_scalar(), 16 input bytes per step: a step without a byte
 * to escape (most of an HTML page's text) is one load, a few compares and one store. A step with
 * one stores its 16 bytes anyway (the reservation has room: 6 output bytes per input byte), keeps
 * the prefix before the first such byte and escapes that byte in scalar code. */
fmd_status fmd_json_put_body(fmd_buf *b, const char *s, size_t n, unsigned flags)
{
    bool tmpl = (flags & FMD_JSON_JS_TEMPLATE) != 0;
    const unsigned char *u = (const unsigned char *)s;
    const __m128i ctl = _mm_set1_epi8(0x1F), quote = _mm_set1_epi8('"'),
                  bslash = _mm_set1_epi8('\\'), e2 = _mm_set1_epi8((char)0xE2),
                  tick = _mm_set1_epi8('`'), dollar = _mm_set1_epi8('$');
    size_t i = 0;
    while (i < n) {
        size_t chunk = n - i < ESC_CHUNK ? n - i : ESC_CHUNK;
        fmd_status st = reserve(b, chunk);
        if (st != FMD_OK)
            return st;
        char *o = b->ptr + b->len;
        size_t end = i + chunk;
        while (i + 16 <= end) {
            __m128i v = _mm_loadu_si128((const __m128i *)(u + i));
            /* v <= 0x1F, unsigned: min(v, 0x1F) == v. */
            __m128i m = _mm_cmpeq_epi8(_mm_min_epu8(v, ctl), v);
            m = _mm_or_si128(m, _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)));
            m = _mm_or_si128(m, _mm_cmpeq_epi8(v, e2));
            if (tmpl)
                m = _mm_or_si128(m,
                                 _mm_or_si128(_mm_cmpeq_epi8(v, tick), _mm_cmpeq_epi8(v, dollar)));
            _mm_storeu_si128((__m128i *)o, v);
            unsigned bits = (unsigned)_mm_movemask_epi8(m);
            if (bits == 0) {
                i += 16;
                o += 16;
                continue;
            }
            unsigned k = (unsigned)__builtin_ctz(bits);
            i += k;
            o += k;
            o += escape_one(u, &i, n, o, tmpl);
        }
        while (i < end) {
            unsigned char c = u[i];
            if (esc_class[c] == 0) {
                *o++ = (char)c;
                i++;
                continue;
            }
            o += escape_one(u, &i, n, o, tmpl);
        }
        b->len = (size_t)(o - b->ptr);
    }
    return FMD_OK;
}
#else
fmd_status fmd_json_put_body(fmd_buf *b, const char *s, size_t n, unsigned flags)
{
    return fmd_json_put_body_scalar(b, s, n, flags);
}
#endif

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
