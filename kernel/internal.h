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
    bool changed;                /**< the output differs from the input */
    size_t invalid_utf8;         /**< number of invalid sequences replaced with U+FFFD */
    unsigned first_invalid_line; /**< 1-based line of the first one; 0 if none */
    size_t nul_bytes;            /**< NUL bytes replaced with U+FFFD */
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
    bool present;          /**< the page starts with a "---" line (also when the block is
                                broken or not closed) */
    size_t body_offset;    /**< where the Markdown body starts in the page */
    unsigned body_line;    /**< 1-based line number of the body's first line */
    fmd_slice json;        /**< the block as a JSON object (in the arena passed in); {} when empty;
                                ptr NULL when !present or st != FMD_OK */
    fmd_slice title;       /**< the value of a string/scalar "title" key; ptr NULL when none */
    fmd_status st;         /**< FMD_OK or FMD_E_FRONTMATTER */
    fmd_slice err_message; /**< when st != FMD_OK: what is wrong (in the arena) */
    unsigned err_line, err_column; /**< 1-based, relative to the page; 0 when unknown */
} fmd__frontmatter;

/** Find a YAML block delimited by "---" lines at the very top of @p src (already normalised:
 * LF only, no BOM) and convert it to a JSON object.
 * The closing line is "---" or "...". A block that is never closed, or YAML that does not parse,
 * or a top level that is not a mapping, gives st = FMD_E_FRONTMATTER with the line and column of
 * the fault; body_offset then still skips the block when it is closed, and is 0 when it is not.
 * Scalars map as YAML 1.2's core schema: null/~/empty -> null, true/false, integers and floats
 * -> numbers, everything else (quoted scalars always) -> strings. Keys are strings. Numbers a
 * double cannot hold (overflow, underflow to zero, integers beyond 2^53) are strings as written.
 * A block of more than @p max_bytes (0: FMD_MAX_FRONTMATTER_BYTES_DEFAULT), or one that a linear
 * pre-scan finds too deep in flow collections or with too many items, fails unparsed.
 * @param arena receives json, title and err_message.
 * @return FMD_OK, or FMD_E_NOMEM (a YAML error is reported in fm->st, not here).
 * Threads: reentrant (libfyaml parsers are per call). */
fmd_status fmd__kernel_frontmatter(const char *src, size_t len, size_t max_bytes, fmd_arena *arena,
                                   fmd__frontmatter *fm);

/** Which converter fmd__kernel_frontmatter_yaml() may use. */
typedef enum fmd__fm_path {
    FMD__FM_PATH_AUTO,     /**< the fast path, and libfyaml for what it does not take */
    FMD__FM_PATH_FAST,     /**< the fast path only: nothing happens for what it does not take */
    FMD__FM_PATH_LIBFYAML, /**< libfyaml only */
} fmd__fm_path;

/** Convert the YAML between the markers (@p yaml, @p n bytes, page line 2 onwards) into fm's
 * json, title or error, as fmd__kernel_frontmatter() does once it has found the block; @p path
 * picks the converter (tests and benchmarks compare the two). Only json, title, st, err_message
 * and the error position of @p fm are written; the caller clears it first.
 * @param fast_used when not NULL, receives whether the fast path converted the block.
 * @return FMD_OK or FMD_E_NOMEM.
 * Ownership: results in @p arena. Threads: reentrant. */
fmd_status fmd__kernel_frontmatter_yaml(const char *yaml, size_t n, fmd__fm_path path,
                                        fmd_arena *arena, fmd__frontmatter *fm, bool *fast_used);

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

/*** links.c ***/

/** The state of link rewriting and reporting for one page. Lives in a scratch arena. */
typedef struct fmd__links fmd__links;

/** Create it for the Markdown @p body (what the renderer parses) whose first line is page line
 * @p line0. @p mode: FMD_LINKS_* bits. @return the state, or NULL when out of memory. */
fmd__links *fmd__kernel_links_create(unsigned mode, const char *body, size_t len, unsigned line0,
                                     fmd_arena *scratch);

/** The renderer's hook for one link destination: *s, *n (decoded) is replaced by its rewritten
 * form when it is a page link and FMD_LINKS_REWRITE is on (valid until the next call), and the
 * link is recorded when FMD_LINKS_REPORT is on. @p raw, @p raw_n: the destination as the parser
 * saw it (to find its line). @return FMD_OK or FMD_E_NOMEM. */
fmd_status fmd__kernel_links_href(fmd__links *lk, const char *raw, size_t raw_n, const char **s,
                                  size_t *n);

/** Copy the recorded links into @p out as res->page_links. @p lk may be NULL.
 * @return FMD_OK or FMD_E_NOMEM. */
fmd_status fmd__kernel_links_copy(const fmd__links *lk, fmd_arena *out, fmd_result *res);

/*** render.c ***/

/** Metadata gathered while rendering. Slices point into the scratch arena. */
typedef struct fmd__render_meta {
    fmd_heading *headings; /**< up to FMD_MAX_HEADINGS */
    size_t n_headings;
    fmd_slice first_h1; /**< plain text of the first h1; ptr NULL if none */
    size_t words, links, images, code_blocks;
    fmd__links *page_links; /**< input: NULL, or where the renderer rewrites and records links */
    fmd_status st; /**< FMD_OK, FMD_E_OUTPUT_LIMIT, FMD_E_DEADLINE, FMD_E_INPUT_LIMIT (len >=
                      UINT_MAX), FMD_E_NOMEM or FMD_E_PARSE */
} fmd__render_meta;

/** Render the Markdown @p body (normalised) as HTML, appending to @p html, and gather metadata.
 * Stops (through md4c's callback return value) once html->len exceeds @p max_output.
 * @param scratch holds temporaries and the metadata's strings.
 * @return meta->st. Threads: reentrant. */
fmd_status fmd__kernel_render_html(const char *body, size_t len, const fmd_options *opt,
                                   size_t max_output, fmd_buf *html, fmd_arena *scratch,
                                   fmd__render_meta *meta);

/*** footnotes.c ***/

/** The longest footnote label, in bytes (as for link labels). A longer "[^...]" is text; the bound
 * also keeps the renderer's look-ahead for the closing ']' linear in the page. */
#define FMD_FOOTNOTE_LABEL_MAX 999

/** md4c parses each footnote as a document of its own, so the page's link reference definitions
 * are copied before each footnote that may use them. With many footnotes and many definitions
 * that work grows as their product; the copies for one page stop at this many times the page's
 * size plus FMD_FOOTNOTE_REFDEFS_SLACK, and later footnotes render without them (their
 * reference-style links stay text). */
#define FMD_FOOTNOTE_REFDEFS_RATIO 4
#define FMD_FOOTNOTE_REFDEFS_SLACK ((size_t)64 << 10)

/** One footnote definition, "[^label]: text" with its indented continuation. */
typedef struct fmd__footnote {
    fmd_slice label; /**< as written in the definition: the ids fn-LABEL / fnref-LABEL use it */
    fmd_slice body;  /**< its Markdown, continuation lines without their 4 columns of indent */
    uint64_t key;    /**< hash of the ASCII-case-folded label */
    unsigned number; /**< 0 while unreferenced; else its number, in order of first reference */
    unsigned refs;   /**< references rendered so far (each gets a back-reference) */
} fmd__footnote;

/** The definitions of one page, in the scratch arena. Labels match ASCII case-insensitively.
 * Invariant: order[0..n_order) are the indices of the referenced definitions by number, and
 * defs[order[k]].number == k + 1. */
typedef struct fmd__footnotes {
    fmd__footnote *defs;
    size_t n;
    uint32_t *slots; /**< open addressing by key: index + 1, 0 for empty */
    size_t mask;
    size_t *order; /**< n entries */
    size_t n_order;
    fmd_slice refdefs; /**< the page's one-line link reference definitions, for footnote_doc */
} fmd__footnotes;

/** Take the footnote definitions out of the Markdown @p body (normalised, LF only): top-level
 * "[^label]:" lines (at most 3 spaces in) with their indented continuation and lazy lines, not
 * inside fenced or indented code or HTML blocks. The first definition of a label wins.
 * @param rest receives the body without them: @p body itself when there are none (no copy),
 * else a copy in @p scratch. @param fn receives the table (n == 0 when none).
 * @return FMD_OK or FMD_E_NOMEM. Threads: reentrant. */
fmd_status fmd__kernel_footnotes_extract(const char *body, size_t len, fmd_arena *scratch,
                                         fmd__footnotes *fn, fmd_slice *rest);

/** The definition of @p label (ASCII case-insensitive), or NULL. */
fmd__footnote *fmd__kernel_footnote_find(const fmd__footnotes *fn, const char *label, size_t n);

/** Is s[0..n) the start of a footnote reference "[^label]"? @return its length (label + 3) and
 * sets *label_len, or 0. The label is 1..FMD_FOOTNOTE_LABEL_MAX bytes, without ']', '[' or white
 * space. */
size_t fmd__kernel_footnote_ref(const char *s, size_t n, size_t *label_len);

/** The Markdown document to render for definition @p d: its body, preceded by the page's link
 * reference definitions when the body may use one (md4c parses it as a document of its own) and
 * they fit in *@p budget bytes, which they are taken from.
 * @param doc receives the body itself or a copy in @p scratch. @return FMD_OK or FMD_E_NOMEM. */
fmd_status fmd__kernel_footnote_doc(const fmd__footnotes *fn, const fmd__footnote *d,
                                    size_t *budget, fmd_arena *scratch, fmd_slice *doc);

/*** smart.c ***/

/** cmark's white space for the flanking rules: \t \n \f \r, space and Unicode Zs. */
bool fmd__kernel_smart_is_space(uint32_t cp);
/** cmark's punctuation: ASCII punctuation and symbols, and Unicode P* outside ASCII. */
bool fmd__kernel_smart_is_punct(uint32_t cp);
/** The code point that ends just before @p p, not looking before @p lo; '\n' at @p lo. */
uint32_t fmd__kernel_utf8_before(const char *lo, const char *p);
/** The code point at @p p, not reading past @p hi; '\n' at @p hi, U+FFFD when malformed. */
uint32_t fmd__kernel_utf8_at(const char *p, const char *hi);
/** cmark's rule for a ' or " between @p before and @p after: it may open a quotation (left
 * flanking only, and not right after ']' or ')') or close one (right flanking). */
void fmd__kernel_smart_flanking(uint32_t before, uint32_t after, bool *can_open, bool *can_close);
/** How a run of @p hyphens (>= 2) hyphens turns into em and en dashes, as cmark does it. */
void fmd__kernel_smart_dashes(size_t hyphens, size_t *em, size_t *en);

/** A quote that may open a quotation, waiting for its closer. */
typedef struct fmd__quote {
    size_t html_at; /**< offset of its 3 UTF-8 bytes in the HTML buffer */
    size_t text_at; /**< offset in the heading text buffer, or SIZE_MAX */
    size_t prev;    /**< 1 + index of the opener of the same kind below it that was unpaired
                         when it was pushed; 0 for none */
    char kind;      /**< '\'' or '"' */
} fmd__quote;

/** Where a span began: the stack height and the hard floor then. */
typedef struct fmd__quote_floor {
    size_t n, hard_floor;
} fmd__quote_floor;

/** The openers of one block's inline content (cmark's delimiter stack, quotes only). A closer
 * pairs with the nearest unpaired opener of its kind above the hard floor (the innermost link or
 * image: quotes pair inside link text only); leaving any span drops the openers it pushed.
 * Invariant: top[k] is 1 + the index of the topmost unpaired opener of kind k (0: none), and
 * following prev from it visits exactly the unpaired openers of that kind, so a closer costs
 * O(1) however many openers of the other kind wait (cmark's openers_bottom, per kind). */
typedef struct fmd__quotes {
    fmd_arena *arena;
    fmd__quote *open;
    size_t n, cap;
    size_t top[2]; /**< [0] for ', [1] for " */
    fmd__quote_floor *floors;
    size_t n_floors, floors_cap;
    size_t hard_floor;
} fmd__quotes;

void fmd__kernel_quotes_init(fmd__quotes *q, fmd_arena *arena);
/** Forget every opener and span (at a block boundary). */
void fmd__kernel_quotes_reset(fmd__quotes *q);
/** @return FMD_OK or FMD_E_NOMEM. */
fmd_status fmd__kernel_quotes_push(fmd__quotes *q, char kind, size_t html_at, size_t text_at);
/** Pair a closer of @p kind: @return its opener (now matched), or NULL. */
const fmd__quote *fmd__kernel_quotes_match(fmd__quotes *q, char kind);
/** A span starts; @p hard for links and images. @return FMD_OK or FMD_E_NOMEM. */
fmd_status fmd__kernel_quotes_enter_span(fmd__quotes *q, bool hard);
void fmd__kernel_quotes_leave_span(fmd__quotes *q);

/*** rules.c ***/

/** Apply the custom rules @p rules to @p src in order, each to the previous one's output.
 * Each regex rule runs one pcre2_match() per match, under a match context whose match, depth
 * and heap limits grow with @p len, and the deadline is read between matches.
 * @pre @p src is valid UTF-8 (fmd__kernel_normalize's output is): PCRE2 does not check it again.
 * @param max_out the largest output allowed. @param deadline_ms 0, or the milliseconds the rules
 * may take, counted from this call (omp_get_wtime(), as the renderer counts).
 * @param out receives @p src itself when no rule changed anything, else a copy in @p arena.
 * @param failed receives the index of the failing rule when the status is not FMD_OK.
 * @param why NULL, or a buffer that receives a sentence naming the rule (its index and the start
 * of its pattern) and the limit it hit, for FMD_E_RULE and FMD_E_DEADLINE.
 * @return FMD_OK, FMD_E_OUTPUT_LIMIT (the text grew past @p max_out), FMD_E_RULE (a match error,
 * such as PCRE2's match, depth, heap or JIT stack limit), FMD_E_DEADLINE or FMD_E_NOMEM.
 * Threads: reentrant; @p rules is only read (match data and context are per call). */
fmd_status fmd__kernel_rules_apply(const fmd_rules *rules, const char *src, size_t len,
                                   size_t max_out, unsigned deadline_ms, fmd_arena *arena,
                                   fmd_slice *out, size_t *failed, fmd_buf *why);

/*** text.c: the per-byte loops of the renderer ***/

/** Append @p s with &, <, > and " escaped as &amp; &lt; &gt; &quot;. @return FMD_OK / FMD_E_NOMEM.
 */
fmd_status fmd__kernel_escape_html(fmd_buf *out, const char *s, size_t n);

/** Count the words that start in @p s: runs of bytes other than ASCII whitespace (space, \t, \n,
 * \v, \f, \r). @p in_word says whether the byte before @p s was inside a word (a run that
 * continues across calls is counted once) and is updated to say so of the last byte. */
size_t fmd__kernel_count_words(const char *s, size_t n, bool *in_word);

/** Append @p s escaped as fmd__kernel_escape_html() does and, when @p in_word is not NULL, add
 * the words that start in it to @p words, as fmd__kernel_count_words() counts them: both in one
 * pass over the text. [@p lo, @p hi) is memory that may be read and that holds the text (the
 * buffer the text points into), or @p lo is NULL: it lets a short text, or the end of a long one,
 * be looked at in one 16-byte load, which never leaves that range.
 * @return FMD_OK / FMD_E_NOMEM. */
fmd_status fmd__kernel_escape_text(fmd_buf *out, const char *s, size_t n, const char *lo,
                                   const char *hi, bool *in_word, size_t *words);

/** Encode @p cp (a Unicode scalar value, not a surrogate) as UTF-8 into @p out.
 * @return the number of bytes, 1 to 4. */
size_t fmd__kernel_utf8_encode(uint32_t cp, char out[4]);

/*** parser.c: character references (the renderer decodes md4c's with it too) ***/

/** Decode the character reference s[0..n) ("&name;", "&#123;", "&#x1F;") into @p out.
 * @return the UTF-8 length (1..8), or 0 when it is not a valid reference (an unknown name).
 * References to 0, to surrogates or past U+10FFFF give U+FFFD. The one copy of the
 * WHATWG table lookup. Threads: reentrant. */
size_t fmd__kernel_entity_decode(const char *s, size_t n, char out[8]);

/** Whether @p name (lower case, NUL-terminated) is one of CommonMark's HTML block type 6 tag
 * names ("div", "table", ...): the one table the parser and the footnote pre-pass share.
 * Threads: reentrant (the table is constant). */
bool fmd__kernel_html_block_tag(const char *name);

/*** hash.c ***/

/** XXH3-64 with seed 0. */
uint64_t fmd__kernel_hash(const void *p, size_t n);

#endif
