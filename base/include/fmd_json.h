/* SPDX-License-Identifier: MIT */
/* The one JSON string writer of fastmd: escaping into an fmd_buf (also for JavaScript template
 * literals), strings that may be null, and 64-bit hashes as quoted hex. libc only.
 * fmd_buf_put_json_string() (declared in fmd_arena.h, for the modules that only need that) is
 * written with it. */
#ifndef FMD_JSON_H
#define FMD_JSON_H

#include <stdint.h>

#include "fmd_arena.h"

/** fmd_json_put_body() flag: also escape the value for a JavaScript template literal. */
#define FMD_JSON_JS_TEMPLATE 1u

/** Append the body of a JSON string holding s[0..n) (no quotes). Escapes '"', '\\', the control
 * characters (as \n, \t, \r, \b, \f, or \u00XX) and U+2028/U+2029 (as \u2028, \u2029, so that the
 * output is also valid JavaScript); other bytes are copied (the caller passes valid UTF-8).
 * With FMD_JSON_JS_TEMPLATE in @p flags, the string's value is escaped once more for a template
 * literal: '\\' -> "\\\\", '`' -> "\\`", "${" -> "\\${" and CR -> "\\r" (a raw CR would read
 * back as LF), so that `export default \`<value>\`` evaluates to s.
 * Example: s = "a\"b\n" gives the 6 bytes a\"b\n.
 * @param s the bytes; may be NULL when @p n is 0.
 * @return FMD_OK or FMD_E_NOMEM (b then holds a prefix of the escaped bytes).
 * Ownership: the bytes go into @p b's arena. Threads: reentrant. */
fmd_status fmd_json_put_body(fmd_buf *b, const char *s, size_t n, unsigned flags);

/** The portable one-byte-at-a-time form of fmd_json_put_body(), with the same contract and the
 * same output bytes. fmd_json_put_body() uses SSE2 where the compiler targets it (x86-64 always)
 * and this otherwise; it is public so that tests can hold the two to the same bytes.
 * @return FMD_OK or FMD_E_NOMEM. Ownership: as fmd_json_put_body(). Threads: reentrant. */
fmd_status fmd_json_put_body_scalar(fmd_buf *b, const char *s, size_t n, unsigned flags);

/** Append s[0..n) as a quoted JSON string, as fmd_buf_put_json_string(), or `null` when @p s is
 * NULL. @return FMD_OK or FMD_E_NOMEM. Threads: reentrant. */
fmd_status fmd_json_put_string_or_null(fmd_buf *b, const char *s, size_t n);

/** Append @p v as a quoted string of 16 lower-case hex digits, most significant first (the
 * canonical big-endian form of an XXH3-64 hash): 0x0123456789abcdef gives "0123456789abcdef".
 * @return FMD_OK or FMD_E_NOMEM. Threads: reentrant. */
fmd_status fmd_json_put_hex64(fmd_buf *b, uint64_t v);

/* Thread safety: reentrant; all state is in the fmd_buf passed in. */

#endif
