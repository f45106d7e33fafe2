/* SPDX-License-Identifier: MIT */
/* Functions shared between the files of kernel/ (fmd__kernel_*). Not installed, not API.
 * page.c strings them together: normalise -> front matter -> render -> metadata -> hash. */
#ifndef FMD_KERNEL_INTERNAL_H
#define FMD_KERNEL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fmd_arena.h"
#include "fmd_kernel.h"

/*** normalize.c ***/

/** What normalisation found. */
typedef struct fmd__norm_report {
    bool changed;          /**< the output differs from the input */
    size_t invalid_utf8;   /**< number of invalid sequences replaced with U+FFFD */
    unsigned first_invalid_line; /**< 1-based line of the first one; 0 if none */
    size_t nul_bytes;      /**< NUL bytes replaced with U+FFFD */
} fmd__norm_report;

/** Strip a leading UTF-8 BOM, turn CRLF and lone CR into LF, replace NUL and invalid UTF-8
 * (maximal subparts, as in Unicode 15 section 3.9 / WHATWG) with U+FFFD.
 * @param out receives the normalised text: @p src itself (no copy) when nothing changes,
 * else a copy in @p scratch.
 * @return FMD_OK or FMD_E_NOMEM. Threads: reentrant. */
fmd_status fmd__kernel_normalize(const char *src, size_t len, fmd_arena *scratch, fmd_slice *out,
                                 fmd__norm_report *rep);

/*** frontmatter.c ***/

/** Outcome of front matter detection and parsing. */
typedef struct fmd__frontmatter {
    bool present;        /**< the page starts with a "---" line (also when the block is
                              broken or not closed) */
    size_t body_offset;  /**< where the Markdown body starts in the page */
    unsigned body_line;  /**< 1-based line number of the body's first line */
    fmd_slice json;      /**< the block as a JSON object (in the arena passed in); {} when empty;
                              ptr NULL when !present or st != FMD_OK */
    fmd_slice title;     /**< the value of a string/scalar "title" key; ptr NULL when none */
    fmd_status st;       /**< FMD_OK or FMD_E_FRONTMATTER */
    fmd_slice err_message; /**< when st != FMD_OK: what is wrong (in the arena) */
    unsigned err_line, err_column; /**< 1-based, relative to the page; 0 when unknown */
} fmd__frontmatter;

/** Find a YAML block delimited by "---" lines at the very top of @p src (already normalised:
 * LF only, no BOM) and convert it to a JSON object.
 * The closing line is "---" or "...". A block that is never closed, or YAML that does not parse,
 * or a top level that is not a mapping, gives st = FMD_E_FRONTMATTER with the line and column of
 * the fault; body_offset then still skips the block when it is closed, and is 0 when it is not.
 * Scalars map as YAML 1.2's core schema: null/~/empty -> null, true/false, integers and floats
 * -> numbers, everything else (quoted scalars always) -> strings. Keys are strings.
 * @param arena receives json, title and err_message.
 * @return FMD_OK, or FMD_E_NOMEM (a YAML error is reported in fm->st, not here).
 * Threads: reentrant (libfyaml parsers are per call). */
fmd_status fmd__kernel_frontmatter(const char *src, size_t len, fmd_arena *arena,
                                   fmd__frontmatter *fm);

/*** slug.c ***/

/** Append the GitHub-style slug of @p text to @p out: lower-cased (ASCII and the common
 * alphabetic Unicode blocks), punctuation and symbols removed, each space turned into '-'.
 * Letters, digits, '-', '_' and other non-ASCII letters are kept. @return FMD_OK / FMD_E_NOMEM. */
fmd_status fmd__kernel_slugify(const char *text, size_t n, fmd_buf *out);

/** A set of slugs already used in one page, to make them unique. Lives in a scratch arena. */
typedef struct fmd__slug_set fmd__slug_set;

/** Create an empty set in @p arena. @return the set or NULL when out of memory. */
fmd__slug_set *fmd__kernel_slug_set_create(fmd_arena *arena);

/** Make @p slug unique within @p set, GitHub style ("intro", "intro-1", "intro-2"), record it
 * and return it as a slice in the set's arena (@p out). An empty slug becomes "section".
 * @return FMD_OK or FMD_E_NOMEM. */
fmd_status fmd__kernel_slug_unique(fmd__slug_set *set, const char *slug, size_t n, fmd_slice *out);

/*** render.c ***/

/** Metadata gathered while rendering. Slices point into the scratch arena. */
typedef struct fmd__render_meta {
    fmd_heading *headings;   /**< up to FMD_MAX_HEADINGS */
    size_t n_headings;
    fmd_slice first_h1;      /**< plain text of the first h1; ptr NULL if none */
    size_t words, links, images, code_blocks;
    fmd_status st; /**< FMD_OK, FMD_E_OUTPUT_LIMIT, FMD_E_INPUT_LIMIT (len >= UINT_MAX),
                        FMD_E_NOMEM or FMD_E_PARSE */
} fmd__render_meta;

/** Render the Markdown @p body (normalised) as HTML, appending to @p html, and gather metadata.
 * Stops (through md4c's callback return value) once html->len exceeds @p max_output.
 * @param scratch holds temporaries and the metadata's strings.
 * @return meta->st. Threads: reentrant. */
fmd_status fmd__kernel_render_html(const char *body, size_t len, const fmd_options *opt,
                                   size_t max_output, fmd_buf *html, fmd_arena *scratch,
                                   fmd__render_meta *meta);

/*** hash.c ***/

/** XXH3-64 with seed 0. */
uint64_t fmd__kernel_hash(const void *p, size_t n);

#endif
