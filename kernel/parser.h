/* SPDX-License-Identifier: MIT */
/* fastmd's own Markdown parser (CommonMark 0.31.2 + GFM tables, strikethrough, task lists and
 * extended autolinks): its event API. The events are those of md4c's callback interface (same
 * type names, same order, same details) so that the renderer in render.c runs on either parser;
 * FMD_OWN_PARSER picks one at build time. Only render.c and the parser include this header, and
 * never together with <md4c.h>. */
#ifndef FMD_KERNEL_PARSER_H
#define FMD_KERNEL_PARSER_H

#include <stddef.h>

#include "fmd_arena.h"

typedef char MD_CHAR;
typedef unsigned MD_SIZE;
typedef unsigned MD_OFFSET;

/** Block types, entered and left in document order. */
typedef enum MD_BLOCKTYPE {
    MD_BLOCK_DOC = 0,
    MD_BLOCK_QUOTE,
    MD_BLOCK_UL, /**< detail: MD_BLOCK_UL_DETAIL */
    MD_BLOCK_OL, /**< detail: MD_BLOCK_OL_DETAIL */
    MD_BLOCK_LI, /**< detail: MD_BLOCK_LI_DETAIL */
    MD_BLOCK_HR,
    MD_BLOCK_H,     /**< detail: MD_BLOCK_H_DETAIL */
    MD_BLOCK_CODE,  /**< detail: MD_BLOCK_CODE_DETAIL; its text comes as MD_TEXT_CODE lines */
    MD_BLOCK_HTML,  /**< its text comes as MD_TEXT_HTML lines */
    MD_BLOCK_P,     /**< not reported inside the items of a tight list */
    MD_BLOCK_TABLE, /**< detail: MD_BLOCK_TABLE_DETAIL */
    MD_BLOCK_THEAD,
    MD_BLOCK_TBODY, /**< only when the table has body rows */
    MD_BLOCK_TR,
    MD_BLOCK_TH, /**< detail: MD_BLOCK_TD_DETAIL */
    MD_BLOCK_TD  /**< detail: MD_BLOCK_TD_DETAIL */
} MD_BLOCKTYPE;

/** Span (inline) types. */
typedef enum MD_SPANTYPE {
    MD_SPAN_EM,
    MD_SPAN_STRONG,
    MD_SPAN_A,   /**< detail: MD_SPAN_A_DETAIL */
    MD_SPAN_IMG, /**< detail: MD_SPAN_IMG_DETAIL; its content is the alt text */
    MD_SPAN_CODE,
    MD_SPAN_DEL,
    MD_SPAN_LATEXMATH,
    MD_SPAN_LATEXMATH_DISPLAY,
    MD_SPAN_WIKILINK,
    MD_SPAN_U
} MD_SPANTYPE;

/** Text types. Normal text points into the document (or into the parser's copy of one block's
 * lines, see fmd__md_parser.source), so that the renderer may look at the bytes around it; a
 * backslash-escaped character always starts a text of its own, without its backslash. */
typedef enum MD_TEXTTYPE {
    MD_TEXT_NORMAL = 0,
    MD_TEXT_NULLCHAR, /**< a NUL byte in the input, to be written as U+FFFD */
    MD_TEXT_BR,       /**< hard line break */
    MD_TEXT_SOFTBR,   /**< soft line break */
    MD_TEXT_ENTITY,   /**< "&name;", "&#123;" or "&#x1F;" as written: a valid reference */
    MD_TEXT_CODE,     /**< inside a code block or code span */
    MD_TEXT_HTML,     /**< raw HTML, block or inline */
    MD_TEXT_LATEXMATH
} MD_TEXTTYPE;

typedef enum MD_ALIGN {
    MD_ALIGN_DEFAULT = 0,
    MD_ALIGN_LEFT,
    MD_ALIGN_CENTER,
    MD_ALIGN_RIGHT
} MD_ALIGN;

/** A string made of typed pieces: piece i is text[substr_offsets[i] .. substr_offsets[i + 1])
 * of type substr_types[i]; the last offset is size. This parser decodes escapes and entities
 * itself, so its attributes are always one MD_TEXT_NORMAL piece (or none when size is 0). */
typedef struct MD_ATTRIBUTE {
    const MD_CHAR *text;
    MD_SIZE size;
    const MD_TEXTTYPE *substr_types;
    const MD_OFFSET *substr_offsets;
} MD_ATTRIBUTE;

typedef struct MD_BLOCK_UL_DETAIL {
    int is_tight;
    MD_CHAR mark;
} MD_BLOCK_UL_DETAIL;

typedef struct MD_BLOCK_OL_DETAIL {
    unsigned start;
    int is_tight;
    MD_CHAR mark_delimiter;
} MD_BLOCK_OL_DETAIL;

typedef struct MD_BLOCK_LI_DETAIL {
    int is_task;
    MD_CHAR task_mark; /**< ' ', 'x' or 'X' */
    MD_OFFSET task_mark_offset;
} MD_BLOCK_LI_DETAIL;

typedef struct MD_BLOCK_H_DETAIL {
    unsigned level;
} MD_BLOCK_H_DETAIL;

typedef struct MD_BLOCK_CODE_DETAIL {
    MD_ATTRIBUTE info;
    MD_ATTRIBUTE lang;  /**< the info string's first word */
    MD_CHAR fence_char; /**< 0 for an indented code block */
} MD_BLOCK_CODE_DETAIL;

typedef struct MD_BLOCK_TABLE_DETAIL {
    unsigned col_count;
    unsigned head_row_count;
    unsigned body_row_count;
} MD_BLOCK_TABLE_DETAIL;

typedef struct MD_BLOCK_TD_DETAIL {
    MD_ALIGN align;
} MD_BLOCK_TD_DETAIL;

typedef struct MD_SPAN_A_DETAIL {
    MD_ATTRIBUTE href;
    MD_ATTRIBUTE title;
    int is_autolink;
} MD_SPAN_A_DETAIL;

typedef struct MD_SPAN_IMG_DETAIL {
    MD_ATTRIBUTE src;
    MD_ATTRIBUTE title;
} MD_SPAN_IMG_DETAIL;

/* Extensions (CommonMark alone when none is set). */
#define MD_FLAG_PERMISSIVEAUTOLINKS                                                                \
    0x0100u /**< GFM extended autolinks (www., http(s)://, mail)                                   \
             */
#define MD_FLAG_TABLES 0x0200u
#define MD_FLAG_STRIKETHROUGH 0x0400u
#define MD_FLAG_TASKLISTS 0x0800u
/** GFM footnote references: "[^label]" (not a link) is reported as that one normal text, with
 * any markup inside it dropped, for the renderer to link to the definition. */
#define MD_FLAG_FOOTNOTES 0x1000u

/** The callbacks. Each returns 0 to go on; any other value stops the parse at once, and
 * fmd__kernel_md_parse returns it. */
typedef struct MD_PARSER {
    unsigned abi_version; /**< 0 */
    unsigned flags;       /**< MD_FLAG_* */
    int (*enter_block)(MD_BLOCKTYPE type, void *detail, void *userdata);
    int (*leave_block)(MD_BLOCKTYPE type, void *detail, void *userdata);
    int (*enter_span)(MD_SPANTYPE type, void *detail, void *userdata);
    int (*leave_span)(MD_SPANTYPE type, void *detail, void *userdata);
    int (*text)(MD_TEXTTYPE type, const MD_CHAR *text, MD_SIZE size, void *userdata);
    /** Optional: called before the inline content of each paragraph, heading or table cell with
     * the bytes its normal texts point into, so that the renderer knows the text around them. */
    void (*source)(const MD_CHAR *beg, const MD_CHAR *end, void *userdata);
    /** 0, or the omp_get_wtime() after which the parse stops with FMD_MD_DEADLINE. */
    double deadline;
} MD_PARSER;

/** fmd__kernel_md_parse's return value when the deadline passed. */
#define FMD_MD_DEADLINE (-2)
/** fmd__kernel_md_parse's return value when the arena ran out of memory. */
#define FMD_MD_NOMEM (-1)

/*** Limits: each bounds work or stack on hostile input, with a defined behaviour past it ***/

/** The most nested containers (block quotes and list items) a line may open. A marker that
 * would open a deeper one is paragraph text. Bounds the per-line container walk. */
#define FMD_MD_MAX_NESTING 128
/** The longest link label, in bytes, as the spec sets it: a longer "[...]" is no reference. */
#define FMD_MD_MAX_LABEL 999
/** The longest backtick run that opens or closes a code span; a longer run is literal text.
 * Keeps the table of runs seen per length small. */
#define FMD_MD_MAX_BACKTICKS 1000
/** Link destinations nest balanced parentheses at most this deep, as cmark allows. */
#define FMD_MD_MAX_PAREN_DEPTH 32
/** The most table columns; cells past it are dropped (as are cells past the header's count). */
#define FMD_MD_MAX_TABLE_COLS 1000
/** The most nested inline spans (emphasis, links, images) emitted; deeper ones are flattened
 * into their parent so that emitting them needs no deeper stack. */
#define FMD_MD_MAX_SPAN_NESTING 256

/** Parse the Markdown @p text[0..size) and report it through @p parser's callbacks.
 * @pre @p text need not end with a newline nor be NUL-terminated; it is never read past size.
 * @param arena holds the parser's block tree, lines, inline nodes and decoded strings.
 * @return 0, a callback's non-zero value, FMD_MD_NOMEM or FMD_MD_DEADLINE.
 * Ownership: strings passed to callbacks live until fmd_arena_reset(arena) or the document.
 * Threads: reentrant; all state is on the stack of the call and in @p arena. */
int fmd__kernel_md_parse(const MD_CHAR *text, size_t size, const MD_PARSER *parser, void *userdata,
                         fmd_arena *arena);

#endif
