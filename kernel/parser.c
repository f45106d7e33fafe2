/* SPDX-License-Identifier: MIT */
/* fastmd's Markdown parser: CommonMark 0.31.2 plus the GFM extensions, reported through the
 * md4c-style callbacks of parser.h. Two phases, as the spec describes them: the block structure
 * is built line by line (link reference definitions go to a hash table as paragraphs close),
 * then each paragraph, heading and table cell is parsed for inlines and the tree is reported.
 * Everything lives in the arena passed in; no global mutable state; no I/O. A failure (out of
 * memory, deadline, a callback's stop) unwinds to the entry point with longjmp: nothing needs
 * freeing, since every allocation is in the arena. docs/parser.md gives the linear-time
 * argument. */
#include <assert.h>
#include <omp.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "entity_table.h"
#include "internal.h"
#include "parser.h"

/*** Limits and constants ***/

#define TAB_STOP 4
#define CODE_INDENT 4
/* Loop iterations between two reads of the clock for the deadline. */
#define DEADLINE_TICKS 4096

/*** Block tree ***/

enum { B_DOC, B_QUOTE, B_LIST, B_ITEM, B_PARA, B_HEADING, B_CODE, B_HTML, B_HR, B_TABLE };

/* One line of a leaf block: src[beg..end) preceded by pad spaces (what is left of a tab that a
 * container prefix consumed in part). */
typedef struct mline {
    size_t beg, end;
    unsigned pad;
} mline;

/* A block. Leaf blocks own lines[line0 .. line0 + nlines): only the innermost open block ever
 * receives lines and it is closed before any other block gets one, so each leaf's lines are
 * contiguous in the parser's line array. */
typedef struct blk {
    struct blk *parent, *first, *last, *next;
    size_t line0, nlines;
    size_t start_line;
    const char *text; /* paragraphs and headings: their inline content once closed */
    size_t text_len;
    unsigned char type;
    bool open, last_blank, fenced, setext, ordered, tight, dead;
    char mark; /* list: bullet char, or '.' / ')' */
    char fence_char;
    char task_mark; /* item: ' ', 'x', 'X', or 0 */
    unsigned level; /* heading level; html block kind 1..7 */
    unsigned start; /* ordered list start */
    int marker_offset, padding;
    size_t fence_len;
    int fence_offset;
    size_t info_beg, info_end;
    unsigned ncols;
    unsigned char *align;
} blk;

/* A link reference definition, in a hash table keyed by its normalised label. */
typedef struct refdef {
    const char *label; /* normalised */
    size_t label_len;
    const char *dest, *title; /* decoded */
    size_t dest_len, title_len;
    uint64_t hash;
} refdef;

/*** Inline nodes ***/

enum {
    I_TEXT, /* buf[beg..end) */
    I_ESC,  /* a backslash-escaped character buf[beg..end): a text of its own */
    I_SOFTBR,
    I_BR,
    I_CODE, /* code span content buf[beg..end), not yet normalised */
    I_ENTITY,
    I_HTML,
    I_NUL,
    I_EM,
    I_STRONG,
    I_DEL,
    I_LINK,
    I_IMG,
    I_FNREF /* a footnote reference "[^label]" buf[beg..end), reported as one normal text */
};

/* Inline nodes form a tree by index (0 is "none"): a doubly linked sibling list and parent
 * links, so that wrapping a run of siblings in a span is O(1) and the tree is walked without a
 * stack. Links keep their destination and title in a side table. */
typedef struct inode {
    uint32_t next, prev, first, last, parent;
    uint32_t link; /* I_LINK / I_IMG: index in links; autolink flag in kind data */
    size_t beg, end;
    unsigned char kind;
    bool autolink;
} inode;

typedef struct ilink {
    const char *href, *title;
    size_t href_len, title_len;
} ilink;

/* A run of * _ ~ that may open or close emphasis. */
typedef struct delim {
    uint32_t node;
    int prev, next; /* neighbours in the delimiter stack; -1 for none */
    size_t len, orig_len;
    char c;
    bool can_open, can_close, active;
} delim;

/* A '[' or '![' waiting for its ']'. */
typedef struct bracket {
    uint32_t node;
    int delim_top; /* the delimiter stack's top when it was pushed (-1: empty) */
    size_t pos;    /* just after the bracket in the buffer */
    bool image, bracket_after;
} bracket;

/* A cached search: the first occurrence of something at or after from is at found (or
 * SIZE_MAX: none up to the end). Later searches starting in [from, found] reuse it, so the
 * searches of one paragraph read each byte once however many times they are asked. */
typedef struct scache {
    size_t from, found;
    bool valid;
} scache;

/* The domain scan of an extended www autolink that started at from: it stopped at end, the
 * last two dots it passed are mid_dot and last_dot (SIZE_MAX: none), and us_mid / us_last say
 * whether the segments after them hold an underscore. A later "www." that starts before end
 * scans the same bytes from its second 'w' on, so it is answered from this record: the
 * searches of one paragraph read each byte a bounded number of times. */
typedef struct xdomain {
    size_t from, end, mid_dot, last_dot;
    bool us_mid, us_last, valid;
} xdomain;

/* The trailing punctuation of the extended autolinks that end (before trimming) at end: the
 * walk back from end stops at stop, passing the ')' at parens[0..nparens) (nearest first).
 * Which of those ')' are trimmed depends only on the link's balance of parentheses. */
typedef struct xtrim {
    size_t end, stop;
    size_t *parens;
    size_t nparens, cap;
    bool valid;
} xtrim;

/*** Parser state ***/

typedef struct parser {
    const char *src;
    size_t len;
    fmd_arena *arena;
    const MD_PARSER *cb;
    void *ud;
    unsigned flags;
    jmp_buf fail;
    int rc;
    double deadline;
    unsigned ticks; /* ticks left before the deadline is next looked at */

    blk *root, *tip;
    mline *lines;
    size_t nlines, lines_cap;

    /* The current line: ln[0..lnlen) without its '\n'; peek() gives '\n' past the end. */
    const char *ln;
    size_t lnlen, line_no;
    size_t offset, first_nonspace;
    int column, first_nonspace_column, indent;
    bool blank, partial_tab;
    bool fns_valid; /* first_nonspace holds for this line while offset <= first_nonspace */
    unsigned depth; /* containers open, for FMD_MD_MAX_NESTING */

    /* Link reference definitions. */
    refdef *refs;
    size_t nrefs, refs_cap;
    uint32_t *slots;
    size_t slot_mask;

    /* Inline state, reused from one leaf block to the next. */
    const char *buf;
    size_t blen;
    inode *nodes;
    uint32_t nnodes, nodes_cap;
    ilink *links;
    uint32_t nlinks, links_cap;
    delim *delims;
    int ndelims, delims_cap, dtop;
    bracket *brackets;
    int nbrackets, brackets_cap, link_bottom;
    uint32_t cur_parent; /* the node whose children the scanner appends to (0: top) */
    uint32_t top_first, top_last;
    /* Code spans: ticks_at[k] is ticks_base + the last position of a backtick run of length k
     * (0: none seen on this page; ticks_base is at least 1). ticks_base grows past every
     * earlier buffer's positions, so entries left from earlier buffers read as "before i" and
     * the table is never reset (resetting it per buffer cost a twelfth of the kernel's
     * instructions). Only ticks_at[0..ticks_hi] has been written: a longer run length reads as
     * none, and the entries up to a new, longer run are zeroed when it is first seen, so a
     * page pays for the lengths it has rather than for the whole table. */
    size_t *ticks_at;
    size_t ticks_hi;
    size_t ticks_base;
    bool ticks_scanned;
    size_t ticks_scan_end;
    scache sc_comment, sc_pi, sc_cdata, sc_decl, sc_dq, sc_sq;
    /* Extended autolinks: the caches that keep their searches linear, and the balance of
     * parentheses before each byte (')' minus '('), built on first use in a paragraph. */
    xdomain xdom;
    scache xstop;
    xtrim xtr;
    int32_t *pbal;
    size_t pbal_cap;
    bool pbal_built;
    bool saw_at; /* the scanner met an '@' in this buffer: e-mail autolinks are possible */
    fmd_buf tmp; /* decoded strings, cells without their \| escapes, labels */
} parser;

static _Noreturn void stop(parser *p, int rc)
{
    p->rc = rc;
    longjmp(p->fail, 1);
}

/* Every DEADLINE_TICKS ticks: whether the page's deadline has passed. */
static void tick_check(parser *p)
{
    p->ticks = DEADLINE_TICKS;
    if (p->deadline != 0 && omp_get_wtime() > p->deadline)
        stop(p, FMD_MD_DEADLINE);
}

/* One unit of work in a loop: a countdown, so that the common case is one decrement. */
static inline void tick(parser *p)
{
    if (--p->ticks == 0)
        tick_check(p);
}

static void *alloc(parser *p, size_t n)
{
    void *q = fmd_arena_alloc(p->arena, n ? n : 1);
    if (q == NULL)
        stop(p, FMD_MD_NOMEM);
    return q;
}

/* Grow the array *pp of *cap elements of size sz to hold at least need. */
/* grow()'s reallocation, kept out of line (and out of the callers' register use): the check
 * before it is on every node's path, the reallocation on a few. */
__attribute__((noinline, cold)) static void grow_to(parser *p, void **pp, size_t *cap, size_t need,
                                                    size_t sz)
{
    size_t n = *cap ? *cap * 2 : 64;
    while (n < need)
        n *= 2;
    void *q = fmd_arena_grow(p->arena, *pp, *cap * sz, n * sz);
    if (q == NULL)
        stop(p, FMD_MD_NOMEM);
    *pp = q;
    *cap = n;
}

static inline void grow(parser *p, void **pp, size_t *cap, size_t need, size_t sz)
{
    if (need > *cap)
        grow_to(p, pp, cap, need, sz);
}

static char *dup(parser *p, const char *s, size_t n)
{
    char *d = alloc(p, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/*** Character classes ***/

static inline bool is_sp(char c)
{
    return c == ' ' || c == '\t';
}

static inline bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static inline bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static inline bool is_alpha(char c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static inline bool is_alnum(char c)
{
    return is_alpha(c) || is_digit(c);
}

static inline bool is_xdigit(char c)
{
    return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

static inline bool is_ascii_punct(char c)
{
    return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
           (c >= 123 && c <= 126);
}

static inline char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* Unicode symbols (S*) outside ASCII, for the emphasis rules: CommonMark 0.31 counts them as
 * punctuation. The common blocks, as ranges; sorted. */
static const uint32_t symbol_ranges[][2] = {
    {0x00A2, 0x00A6},   {0x00A8, 0x00A9},   {0x00AC, 0x00AC},   {0x00AE, 0x00B1},
    {0x00B4, 0x00B4},   {0x00B8, 0x00B8},   {0x00D7, 0x00D7},   {0x00F7, 0x00F7},
    {0x02C2, 0x02C5},   {0x02D2, 0x02DF},   {0x02E5, 0x02EB},   {0x02ED, 0x02ED},
    {0x02EF, 0x02FF},   {0x0375, 0x0375},   {0x0384, 0x0385},   {0x03F6, 0x03F6},
    {0x0482, 0x0482},   {0x058D, 0x058F},   {0x0606, 0x0608},   {0x060B, 0x060B},
    {0x060E, 0x060F},   {0x06DE, 0x06DE},   {0x06E9, 0x06E9},   {0x06FD, 0x06FE},
    {0x07F6, 0x07F6},   {0x07FE, 0x07FF},   {0x09F2, 0x09F3},   {0x09FA, 0x09FB},
    {0x0AF1, 0x0AF1},   {0x0B70, 0x0B70},   {0x0BF3, 0x0BFA},   {0x0C7F, 0x0C7F},
    {0x0D4F, 0x0D4F},   {0x0D79, 0x0D79},   {0x0E3F, 0x0E3F},   {0x0F01, 0x0F03},
    {0x0F13, 0x0F13},   {0x0F15, 0x0F17},   {0x0F1A, 0x0F1F},   {0x17DB, 0x17DB},
    {0x1FBD, 0x1FBD},   {0x1FBF, 0x1FC1},   {0x1FCD, 0x1FCF},   {0x1FDD, 0x1FDF},
    {0x1FED, 0x1FEF},   {0x1FFD, 0x1FFE},   {0x2044, 0x2044},   {0x2052, 0x2052},
    {0x207A, 0x207C},   {0x208A, 0x208C},   {0x20A0, 0x20C0},   {0x2100, 0x2101},
    {0x2103, 0x2106},   {0x2108, 0x2109},   {0x2114, 0x2114},   {0x2116, 0x2118},
    {0x211E, 0x2123},   {0x2125, 0x2125},   {0x2127, 0x2127},   {0x2129, 0x2129},
    {0x212E, 0x212E},   {0x213A, 0x213B},   {0x2140, 0x2144},   {0x214A, 0x214D},
    {0x214F, 0x214F},   {0x218A, 0x218B},   {0x2190, 0x2307},   {0x230C, 0x2328},
    {0x232B, 0x2426},   {0x2440, 0x244A},   {0x249C, 0x24E9},   {0x2500, 0x2767},
    {0x2794, 0x27C4},   {0x27C7, 0x27E5},   {0x27F0, 0x2982},   {0x2999, 0x29D7},
    {0x29DC, 0x29FB},   {0x29FE, 0x2B73},   {0x2B76, 0x2B95},   {0x2B97, 0x2BFF},
    {0x2CE5, 0x2CEA},   {0x2E50, 0x2E51},   {0x2E80, 0x2FFF},   {0x3004, 0x3004},
    {0x3012, 0x3013},   {0x3020, 0x3020},   {0x3036, 0x3037},   {0x303E, 0x303F},
    {0x309B, 0x309C},   {0x3190, 0x3191},   {0x3196, 0x319F},   {0x31C0, 0x31E3},
    {0x3200, 0x321E},   {0x322A, 0x3247},   {0x3250, 0x3250},   {0x3260, 0x327F},
    {0x328A, 0x32B0},   {0x32C0, 0x33FF},   {0x4DC0, 0x4DFF},   {0xA490, 0xA4C6},
    {0xA700, 0xA716},   {0xA720, 0xA721},   {0xA789, 0xA78A},   {0xA828, 0xA82B},
    {0xA836, 0xA839},   {0xAA77, 0xAA79},   {0xAB5B, 0xAB5B},   {0xAB6A, 0xAB6B},
    {0xFB29, 0xFB29},   {0xFBB2, 0xFBC2},   {0xFD40, 0xFD4F},   {0xFDCF, 0xFDCF},
    {0xFDFC, 0xFDFF},   {0xFE62, 0xFE62},   {0xFE64, 0xFE66},   {0xFE69, 0xFE69},
    {0xFF04, 0xFF04},   {0xFF0B, 0xFF0B},   {0xFF1C, 0xFF1E},   {0xFF3E, 0xFF3E},
    {0xFF40, 0xFF40},   {0xFF5C, 0xFF5C},   {0xFF5E, 0xFF5E},   {0xFFE0, 0xFFE6},
    {0xFFE8, 0xFFEE},   {0xFFFC, 0xFFFD},   {0x1D000, 0x1D24F}, {0x1D6C1, 0x1D6C1},
    {0x1EEF0, 0x1EEF1}, {0x1F000, 0x1FAFF},
};

static bool is_symbol(uint32_t cp)
{
    size_t lo = 0, hi = sizeof symbol_ranges / sizeof symbol_ranges[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < symbol_ranges[mid][0])
            hi = mid;
        else if (cp > symbol_ranges[mid][1])
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

/* Unicode punctuation as CommonMark 0.31 defines it: general categories P and S. */
static bool is_upunct(uint32_t cp)
{
    return fmd__kernel_smart_is_punct(cp) || (cp >= 0x80 && is_symbol(cp));
}

/*** Entities ***/

static const entity_entry *find_named_entity(const char *name, size_t n)
{
    size_t lo = 0, hi = sizeof entity_table / sizeof entity_table[0];
    if (n > ENTITY_NAME_MAX)
        return NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const entity_entry *e = &entity_table[mid];
        size_t m = e->len < n ? e->len : n;
        int c = memcmp(entity_names + e->off, name, m);
        if (c == 0)
            c = (e->len > n) - (e->len < n);
        if (c == 0)
            return e;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

size_t fmd__kernel_entity_decode(const char *s, size_t n, char out[8])
{
    if (n < 3 || s[0] != '&' || s[n - 1] != ';')
        return 0;
    if (s[1] != '#') {
        const entity_entry *e = find_named_entity(s + 1, n - 2);
        if (e == NULL)
            return 0;
        memcpy(out, e->utf8, e->n);
        return e->n;
    }
    size_t i = 2;
    unsigned base = 10;
    if (s[2] == 'x' || s[2] == 'X') {
        base = 16;
        i = 3;
    }
    if (i >= n - 1)
        return 0;
    uint32_t v = 0;
    for (; i < n - 1; i++) {
        unsigned c = (unsigned char)s[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (base == 16 && (c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (c | 0x20) - 'a' + 10;
        else
            return 0;
        if (v <= 0x10FFFF)
            v = v * base + d;
    }
    if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        v = 0xFFFD;
    return fmd__kernel_utf8_encode(v, out);
}

/* The length of the entity reference at s[0..n) (s[0] == '&'), or 0 when none is there:
 * &#DDDDDDD; (1 to 7 digits), &#xHHHHHH; (1 to 6), or &name; of an HTML5 entity. */
static size_t scan_entity(const char *s, size_t n)
{
    size_t i = 1;
    if (i < n && s[i] == '#') {
        i++;
        size_t max = 7;
        bool hex = false;
        if (i < n && (s[i] == 'x' || s[i] == 'X')) {
            hex = true;
            max = 6;
            i++;
        }
        size_t d0 = i;
        while (i < n && i - d0 < max && (hex ? is_xdigit(s[i]) : is_digit(s[i])))
            i++;
        if (i == d0 || i >= n || s[i] != ';')
            return 0;
        return i + 1;
    }
    size_t a = i;
    while (i < n && i - a <= ENTITY_NAME_MAX && is_alnum(s[i]))
        i++;
    if (i == a || i >= n || s[i] != ';' || !is_alpha(s[a]))
        return 0;
    return find_named_entity(s + a, i - a) ? i + 1 : 0;
}

/* Append s[0..n) to p->tmp with backslash escapes and entities decoded. */
static void put_decoded(parser *p, const char *s, size_t n)
{
    size_t i = 0, run = 0;
    while (i < n) {
        char c = s[i];
        if (c == '\\' && i + 1 < n && is_ascii_punct(s[i + 1])) {
            if (fmd_buf_append(&p->tmp, s + run, i - run) != FMD_OK)
                stop(p, FMD_MD_NOMEM);
            run = i + 1;
            i += 2;
        } else if (c == '&') {
            size_t k = scan_entity(s + i, n - i);
            char dec[8];
            size_t m = k ? fmd__kernel_entity_decode(s + i, k, dec) : 0;
            if (m == 0) {
                i++;
                continue;
            }
            if (fmd_buf_append(&p->tmp, s + run, i - run) != FMD_OK ||
                fmd_buf_append(&p->tmp, dec, m) != FMD_OK)
                stop(p, FMD_MD_NOMEM);
            i += k;
            run = i;
        } else {
            i++;
        }
    }
    if (fmd_buf_append(&p->tmp, s + run, n - run) != FMD_OK)
        stop(p, FMD_MD_NOMEM);
}

/* s[0..n) decoded, in the arena. */
static const char *decoded(parser *p, const char *s, size_t n, size_t *out_n)
{
    bool plain = true;
    for (size_t i = 0; i < n && plain; i++)
        plain = s[i] != '\\' && s[i] != '&';
    if (plain) {
        *out_n = n;
        return s;
    }
    p->tmp.len = 0;
    put_decoded(p, s, n);
    *out_n = p->tmp.len;
    return dup(p, p->tmp.ptr, p->tmp.len);
}

/*** Link labels: normalised by Unicode case folding, for the table of definitions ***/

/* The simple case folding of the common scripts (Latin, Greek, Cyrillic, Armenian, full-width
 * Latin), plus the folds to two letters that the spec's examples need (ß and ẞ to "ss"). */
static size_t fold_cp(uint32_t c, uint32_t out[3])
{
    if (c < 0x80) {
        out[0] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
        return 1;
    }
    if (c == 0xDF || c == 0x1E9E) {
        out[0] = out[1] = 's';
        return 2;
    }
    uint32_t f = c;
    if ((c >= 0xC0 && c <= 0xDE && c != 0xD7))
        f = c + 32;
    else if (c == 0xB5)
        f = 0x3BC;
    else if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177) ||
             (c >= 0x1E00 && c <= 0x1E95) || (c >= 0x1EA0 && c <= 0x1EFF) ||
             (c >= 0x460 && c <= 0x481) || (c >= 0x48A && c <= 0x4BF) || (c >= 0x4D0 && c <= 0x52F))
        f = c | 1;
    else if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E) || (c >= 0x4C1 && c <= 0x4CE))
        f = (c & 1) ? c + 1 : c;
    else if (c == 0x178)
        f = 0xFF;
    else if (c == 0x17F)
        f = 's';
    else if (c >= 0x391 && c <= 0x3AB && c != 0x3A2)
        f = c + 32;
    else if (c == 0x3C2)
        f = 0x3C3;
    else if (c >= 0x410 && c <= 0x42F)
        f = c + 32;
    else if (c >= 0x400 && c <= 0x40F)
        f = c + 80;
    else if (c >= 0x531 && c <= 0x556)
        f = c + 48;
    else if (c >= 0xFF21 && c <= 0xFF3A)
        f = c + 32;
    else if (c >= 0x10A0 && c <= 0x10C5)
        f = c + 7264;
    out[0] = f;
    return 1;
}

/* Normalise label s[0..n) into p->tmp: trimmed, inner white space runs as one space, folded. */
static void normalize_label(parser *p, const char *s, size_t n)
{
    p->tmp.len = 0;
    size_t i = 0;
    bool space = false;
    while (i < n && is_ws(s[i]))
        i++;
    while (i < n) {
        if (is_ws(s[i])) {
            space = true;
            i++;
            continue;
        }
        if (space && p->tmp.len != 0 && fmd_buf_putc(&p->tmp, ' ') != FMD_OK)
            stop(p, FMD_MD_NOMEM);
        space = false;
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            if (fmd_buf_putc(&p->tmp, lower((char)c)) != FMD_OK)
                stop(p, FMD_MD_NOMEM);
            i++;
            continue;
        }
        size_t k = 1;
        while (i + k < n && k < 4 && ((unsigned char)s[i + k] & 0xC0) == 0x80)
            k++;
        uint32_t cp = fmd__kernel_utf8_at(s + i, s + i + k);
        uint32_t f[3];
        size_t m = fold_cp(cp, f);
        for (size_t j = 0; j < m; j++) {
            char u[4];
            size_t ul = fmd__kernel_utf8_encode(f[j], u);
            if (fmd_buf_append(&p->tmp, u, ul) != FMD_OK)
                stop(p, FMD_MD_NOMEM);
        }
        i += k;
    }
}

static refdef *ref_lookup(parser *p, const char *label, size_t n)
{
    if (p->nrefs == 0)
        return NULL;
    normalize_label(p, label, n);
    uint64_t h = fmd__kernel_hash(p->tmp.ptr, p->tmp.len);
    for (size_t i = (size_t)h & p->slot_mask;; i = (i + 1) & p->slot_mask) {
        uint32_t s = p->slots[i];
        if (s == 0)
            return NULL;
        refdef *r = &p->refs[s - 1];
        if (r->hash == h && r->label_len == p->tmp.len &&
            memcmp(r->label, p->tmp.ptr, p->tmp.len) == 0)
            return r;
    }
}

/* Add a definition unless its label is taken (the first definition wins). */
static void ref_add(parser *p, const char *label, size_t n, const char *dest, size_t dn,
                    const char *title, size_t tn)
{
    if ((p->nrefs + 1) * 2 > p->slot_mask + 1) {
        size_t cap = p->slot_mask ? (p->slot_mask + 1) * 2 : 64;
        uint32_t *slots = alloc(p, cap * sizeof *slots);
        memset(slots, 0, cap * sizeof *slots);
        for (size_t k = 0; k < p->nrefs; k++) {
            size_t i = (size_t)p->refs[k].hash & (cap - 1);
            while (slots[i] != 0)
                i = (i + 1) & (cap - 1);
            slots[i] = (uint32_t)(k + 1);
        }
        p->slots = slots;
        p->slot_mask = cap - 1;
    }
    normalize_label(p, label, n);
    if (p->tmp.len == 0)
        return;
    uint64_t h = fmd__kernel_hash(p->tmp.ptr, p->tmp.len);
    size_t i = (size_t)h & p->slot_mask;
    for (;; i = (i + 1) & p->slot_mask) {
        uint32_t s = p->slots[i];
        if (s == 0)
            break;
        refdef *r = &p->refs[s - 1];
        if (r->hash == h && r->label_len == p->tmp.len &&
            memcmp(r->label, p->tmp.ptr, p->tmp.len) == 0)
            return;
    }
    grow(p, (void **)&p->refs, &p->refs_cap, p->nrefs + 1, sizeof *p->refs);
    refdef *r = &p->refs[p->nrefs];
    r->label = dup(p, p->tmp.ptr, p->tmp.len);
    r->label_len = p->tmp.len;
    r->hash = h;
    r->dest = decoded(p, dest, dn, &r->dest_len);
    r->title = title ? decoded(p, title, tn, &r->title_len) : NULL;
    if (title == NULL)
        r->title_len = 0;
    p->slots[i] = (uint32_t)++p->nrefs;
}

/*** Link syntax shared by definitions and inline links ***/

/* Skip spaces, tabs and at most one line ending. */
static size_t skip_ws_nl(const char *s, size_t i, size_t n)
{
    while (i < n && is_sp(s[i]))
        i++;
    if (i < n && s[i] == '\n') {
        i++;
        while (i < n && is_sp(s[i]))
            i++;
    }
    return i;
}

/* A link label "[...]" at s[i]: @return the index just past ']' and the content's bounds, or
 * 0 when there is none (unescaped brackets inside, longer than FMD_MD_MAX_LABEL, or blank). */
static size_t scan_label(const char *s, size_t i, size_t n, size_t *lb, size_t *le)
{
    if (i >= n || s[i] != '[')
        return 0;
    size_t j = i + 1;
    bool nonblank = false;
    while (j < n && j - (i + 1) <= FMD_MD_MAX_LABEL) {
        char c = s[j];
        if (c == '[')
            return 0;
        if (c == ']') {
            if (!nonblank)
                return 0;
            *lb = i + 1;
            *le = j;
            return j + 1;
        }
        if (c == '\\' && j + 1 < n && is_ascii_punct(s[j + 1])) {
            nonblank = true;
            j += 2;
            continue;
        }
        if (!is_ws(c))
            nonblank = true;
        j++;
    }
    return 0;
}

/* A link destination at s[i]: <...> or a run without spaces and with balanced parentheses.
 * @return the index past it (== i for an empty unbracketed one, which is not a destination:
 * the caller decides) and its content's bounds; SIZE_MAX when there is none. */
static size_t scan_dest(const char *s, size_t i, size_t n, size_t *db, size_t *de)
{
    if (i < n && s[i] == '<') {
        size_t j = i + 1;
        while (j < n) {
            char c = s[j];
            if (c == '>') {
                *db = i + 1;
                *de = j;
                return j + 1;
            }
            if (c == '<' || c == '\n')
                return SIZE_MAX;
            if (c == '\\' && j + 1 < n && is_ascii_punct(s[j + 1]))
                j += 2;
            else
                j++;
        }
        return SIZE_MAX;
    }
    size_t j = i;
    int depth = 0;
    while (j < n) {
        unsigned char c = (unsigned char)s[j];
        if (c == '\\' && j + 1 < n && is_ascii_punct(s[j + 1])) {
            j += 2;
            continue;
        }
        if (c == '(') {
            if (++depth > FMD_MD_MAX_PAREN_DEPTH)
                return SIZE_MAX;
        } else if (c == ')') {
            if (depth == 0)
                break;
            depth--;
        } else if (c <= 0x20 || c == 0x7F) {
            break;
        }
        j++;
    }
    if (depth != 0)
        return SIZE_MAX;
    *db = i;
    *de = j;
    return j;
}

/* A link title at s[i]: "...", '...' or (...). @return the index past it and the content's
 * bounds, or SIZE_MAX. */
static size_t scan_title(const char *s, size_t i, size_t n, size_t *tb, size_t *te)
{
    if (i >= n)
        return SIZE_MAX;
    char open = s[i], close = open == '(' ? ')' : open;
    if (open != '"' && open != '\'' && open != '(')
        return SIZE_MAX;
    size_t j = i + 1;
    while (j < n) {
        char c = s[j];
        if (c == '\\' && j + 1 < n && is_ascii_punct(s[j + 1])) {
            j += 2;
            continue;
        }
        if (c == close) {
            *tb = i + 1;
            *te = j;
            return j + 1;
        }
        if (open == '(' && c == '(')
            return SIZE_MAX;
        /* a blank line ends a paragraph, so the title cannot contain one */
        if (c == '\n') {
            size_t k = j + 1;
            while (k < n && is_sp(s[k]))
                k++;
            if (k < n && s[k] == '\n')
                return SIZE_MAX;
        }
        j++;
    }
    return SIZE_MAX;
}

/* A link reference definition at the start of s[0..n). @return its length (through the end of
 * its last line, with the '\n') and records it, or 0. */
static size_t parse_refdef(parser *p, const char *s, size_t n)
{
    size_t lb, le, db, de, tb = 0, te = 0;
    size_t i = scan_label(s, 0, n, &lb, &le);
    if (i == 0 || i >= n || s[i] != ':')
        return 0;
    i = skip_ws_nl(s, i + 1, n);
    size_t j = scan_dest(s, i, n, &db, &de);
    if (j == SIZE_MAX || (j == i && !(i < n && s[i] == '<')))
        return 0;
    /* The definition may end after the destination (at the end of its line) or after a title. */
    size_t k = j;
    while (k < n && is_sp(s[k]))
        k++;
    size_t end_dest = SIZE_MAX;
    if (k >= n || s[k] == '\n')
        end_dest = k < n ? k + 1 : k;
    else if (k == j)
        return 0; /* something right after the destination: no definition */
    size_t t = skip_ws_nl(s, j, n);
    bool title = false;
    size_t end = SIZE_MAX;
    if (t > j && t < n) {
        size_t u = scan_title(s, t, n, &tb, &te);
        if (u != SIZE_MAX) {
            while (u < n && is_sp(s[u]))
                u++;
            if (u >= n || s[u] == '\n') {
                end = u < n ? u + 1 : u;
                title = true;
            }
        }
    }
    if (!title) {
        if (end_dest == SIZE_MAX)
            return 0;
        end = end_dest;
    }
    ref_add(p, s + lb, le - lb, s + db, de - db, title ? s + tb : NULL, te - tb);
    return end;
}

/*** Leaf content: the lines of a paragraph as one buffer ***/

/* The lines lines[l0 .. l0 + n) joined by '\n': the source itself when they follow each other
 * there (the usual case: nothing was stripped between them), else a copy in the arena. */
static const char *join_lines(parser *p, size_t l0, size_t n, size_t *out_len)
{
    if (n == 0) {
        *out_len = 0;
        return "";
    }
    const mline *L = p->lines + l0;
    bool contiguous = true;
    for (size_t i = 1; i < n && contiguous; i++)
        contiguous = L[i].beg == L[i - 1].end + 1;
    if (contiguous) {
        *out_len = L[n - 1].end - L[0].beg;
        return p->src + L[0].beg;
    }
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += L[i].end - L[i].beg + 1;
    char *b = alloc(p, total);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(b + k, p->src + L[i].beg, L[i].end - L[i].beg);
        k += L[i].end - L[i].beg;
        b[k++] = '\n';
    }
    *out_len = total - 1;
    return b;
}

/* Take the link reference definitions off the start of paragraph b (whole lines).
 * @return whether anything is left. */
static bool resolve_refdefs(parser *p, blk *b)
{
    size_t n;
    const char *s = join_lines(p, b->line0, b->nlines, &n);
    size_t pos = 0;
    while (pos < n && s[pos] == '[') {
        tick(p);
        size_t k = parse_refdef(p, s + pos, n - pos);
        if (k == 0)
            break;
        pos += k;
    }
    if (pos != 0) {
        /* drop the lines consumed: pos is at a line start (or the end) */
        size_t acc = 0, dropped = 0;
        while (dropped < b->nlines && acc < pos) {
            const mline *L = &p->lines[b->line0 + dropped];
            acc += L->end - L->beg + 1;
            dropped++;
        }
        b->line0 += dropped;
        b->nlines -= dropped;
        s += pos < n ? pos : n;
        n = pos < n ? n - pos : 0;
    }
    b->text = s;
    b->text_len = n;
    for (size_t i = 0; i < n; i++)
        if (!is_ws(s[i]))
            return true;
    return false;
}

/*** Phase 1: blocks ***/

static inline char peek(const parser *p, size_t i)
{
    return i < p->lnlen ? p->ln[i] : '\n';
}

/* The scan behind find_first_nonspace(), out of line: the common case does not need it. */
static void scan_first_nonspace(parser *p)
{
    p->fns_valid = true;
    /* column is never negative: the remainder needs no signed division. */
    int chars_to_tab = TAB_STOP - (int)((unsigned)p->column % TAB_STOP);
    size_t i = p->offset;
    int col = p->column;
    for (;;) {
        char c = peek(p, i);
        if (c == ' ') {
            i++;
            col++;
            if (--chars_to_tab == 0)
                chars_to_tab = TAB_STOP;
        } else if (c == '\t') {
            i++;
            col += chars_to_tab;
            chars_to_tab = TAB_STOP;
        } else {
            break;
        }
    }
    p->first_nonspace = i;
    p->first_nonspace_column = col;
    p->indent = col - p->column;
    p->blank = peek(p, i) == '\n';
}

static inline void find_first_nonspace(parser *p)
{
    /* While the offset has not passed the first non-space byte found on this line, that byte
     * and its column stay the same (a tab ends at the same tab stop from any column inside
     * it): deep containers then cost O(1) each, not a rescan of the line's indentation. */
    if (p->fns_valid && p->offset <= p->first_nonspace) {
        p->indent = p->first_nonspace_column - p->column;
        p->blank = peek(p, p->first_nonspace) == '\n';
        return;
    }
    scan_first_nonspace(p);
}

/* Advance by count bytes, or by count columns (a tab may then be consumed in part). */
static void advance(parser *p, size_t count, bool columns)
{
    while (count > 0 && p->offset < p->lnlen) {
        char c = p->ln[p->offset];
        if (c == '\t') {
            int chars_to_tab = TAB_STOP - (p->column % TAB_STOP);
            if (columns) {
                p->partial_tab = (size_t)chars_to_tab > count;
                size_t adv = (size_t)chars_to_tab < count ? (size_t)chars_to_tab : count;
                p->column += (int)adv;
                p->offset += p->partial_tab ? 0 : 1;
                count -= adv;
            } else {
                p->partial_tab = false;
                p->column += chars_to_tab;
                p->offset++;
                count--;
            }
        } else {
            p->partial_tab = false;
            p->offset++;
            p->column++;
            count--;
        }
    }
}

static bool can_contain(int parent, int child)
{
    return parent == B_DOC || parent == B_QUOTE || parent == B_ITEM ||
           (parent == B_LIST && child == B_ITEM);
}

static bool accepts_lines(int t)
{
    return t == B_PARA || t == B_HEADING || t == B_CODE || t == B_TABLE;
}

static bool ends_with_blank_line(const blk *b)
{
    while (b != NULL) {
        if (b->last_blank)
            return true;
        b = (b->type == B_LIST || b->type == B_ITEM) ? b->last : NULL;
    }
    return false;
}

static void add_line_at(parser *p, size_t beg, unsigned pad)
{
    grow(p, (void **)&p->lines, &p->lines_cap, p->nlines + 1, sizeof *p->lines);
    size_t base = (size_t)(p->ln - p->src);
    p->lines[p->nlines++] = (mline){base + beg, base + p->lnlen, pad};
}

/* Add the rest of the current line (from offset) to leaf b. */
static void add_line(parser *p, blk *b)
{
    unsigned pad = 0;
    if (p->partial_tab) {
        p->offset++;
        pad = (unsigned)(TAB_STOP - (p->column % TAB_STOP));
    }
    if (b->nlines == 0)
        b->line0 = p->nlines;
    add_line_at(p, p->offset < p->lnlen ? p->offset : p->lnlen, pad);
    b->nlines++;
}

static blk *finalize(parser *p, blk *b)
{
    blk *parent = b->parent;
    b->open = false;
    if (b->type == B_QUOTE || b->type == B_ITEM)
        p->depth--;
    switch (b->type) {
    case B_PARA:
        if (!resolve_refdefs(p, b))
            b->dead = true;
        break;
    case B_CODE:
        if (!b->fenced) {
            /* drop trailing blank lines */
            while (b->nlines != 0) {
                const mline *L = &p->lines[b->line0 + b->nlines - 1];
                bool blank = true;
                for (size_t i = L->beg; i < L->end && blank; i++)
                    blank = is_sp(p->src[i]);
                if (!blank)
                    break;
                b->nlines--;
            }
        }
        break;
    case B_LIST: {
        b->tight = true;
        for (blk *item = b->first; item && b->tight; item = item->next) {
            if (item->last_blank && item->next) {
                b->tight = false;
                break;
            }
            for (blk *sub = item->first; sub; sub = sub->next) {
                if (ends_with_blank_line(sub) && (item->next || sub->next)) {
                    b->tight = false;
                    break;
                }
            }
        }
        break;
    }
    default: break;
    }
    return parent;
}

static blk *add_child(parser *p, blk *parent, int type, size_t start_col)
{
    (void)start_col;
    while (!can_contain(parent->type, type))
        parent = finalize(p, parent);
    blk *b = alloc(p, sizeof *b);
    /* A compound literal rather than memset + stores: the compiler zeroes the rest inline. */
    *b = (blk){
        .type = (unsigned char)type, .open = true, .parent = parent, .start_line = p->line_no};
    if (parent->last)
        parent->last->next = b;
    else
        parent->first = b;
    parent->last = b;
    if (type == B_QUOTE || type == B_ITEM)
        p->depth++;
    return b;
}

/*** Block start scanners, each at position i of the current line ***/

/* ATX heading: 1-6 '#' then a space, tab or the end. @return the level, or 0. */
static int scan_atx(const parser *p, size_t i)
{
    int level = 0;
    while (peek(p, i) == '#' && level < 7) {
        level++;
        i++;
    }
    if (level == 0 || level > 6)
        return 0;
    char c = peek(p, i);
    return (c == ' ' || c == '\t' || c == '\n') ? level : 0;
}

/* Opening code fence: @return its length, or 0. */
static size_t scan_open_fence(const parser *p, size_t i)
{
    char f = peek(p, i);
    if (f != '`' && f != '~')
        return 0;
    size_t k = 0;
    while (peek(p, i + k) == f)
        k++;
    if (k < 3)
        return 0;
    if (f == '`' && memchr(p->ln + i + k, '`', p->lnlen - (i + k)) != NULL)
        return 0;
    return k;
}

/* Closing fence of char f: @return its length when only spaces follow, else 0. */
static size_t scan_close_fence(const parser *p, size_t i, char f)
{
    size_t k = 0;
    while (peek(p, i + k) == f)
        k++;
    if (k < 3)
        return 0;
    size_t j = i + k;
    while (is_sp(peek(p, j)))
        j++;
    return peek(p, j) == '\n' ? k : 0;
}

/* Setext underline: @return 1 for '=', 2 for '-', or 0. */
static int scan_setext(const parser *p, size_t i)
{
    char c = peek(p, i);
    if (c != '=' && c != '-')
        return 0;
    while (peek(p, i) == c)
        i++;
    while (is_sp(peek(p, i)))
        i++;
    return peek(p, i) == '\n' ? (c == '=' ? 1 : 2) : 0;
}

static bool scan_hr(const parser *p, size_t i)
{
    char c = peek(p, i);
    if (c != '*' && c != '-' && c != '_')
        return false;
    int k = 0;
    for (;; i++) {
        char d = peek(p, i);
        if (d == c)
            k++;
        else if (!is_sp(d))
            return d == '\n' && k >= 3;
    }
}

static bool ci_prefix(const char *s, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    if (n < m)
        return false;
    for (size_t i = 0; i < m; i++)
        if (lower(s[i]) != lit[i])
            return false;
    return true;
}

/* The block-level tag names of CommonMark's HTML block type 6, sorted for bsearch. */
static const char *const block_tags[] = {
    "address",  "article",  "aside",    "base",       "basefont", "blockquote", "body",   "caption",
    "center",   "col",      "colgroup", "dd",         "details",  "dialog",     "dir",    "div",
    "dl",       "dt",       "fieldset", "figcaption", "figure",   "footer",     "form",   "frame",
    "frameset", "h1",       "h2",       "h3",         "h4",       "h5",         "h6",     "head",
    "header",   "hr",       "html",     "iframe",     "legend",   "li",         "link",   "main",
    "menu",     "menuitem", "nav",      "noframes",   "ol",       "optgroup",   "option", "p",
    "param",    "search",   "section",  "summary",    "table",    "tbody",      "td",     "tfoot",
    "th",       "thead",    "title",    "tr",         "track",    "ul"};

bool fmd__kernel_html_block_tag(const char *name)
{
    size_t lo = 0, hi = sizeof block_tags / sizeof block_tags[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, block_tags[mid]);
        if (c == 0)
            return true;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return false;
}

static size_t scan_inline_html(parser *p, const char *s, size_t i, size_t n, bool tags_only);

/* HTML block start (kinds 1-7) at s[0..n) (s[0] == '<'). Kind 7 only when !in_para. */
static int scan_html_start(parser *p, const char *s, size_t n, bool in_para)
{
    if (n < 2 || s[0] != '<')
        return 0;
    static const char *const k1[] = {"script", "pre", "style", "textarea"};
    for (size_t t = 0; t < 4; t++) {
        size_t m = strlen(k1[t]);
        if (ci_prefix(s + 1, n - 1, k1[t])) {
            char c = 1 + m < n ? s[1 + m] : '\n';
            if (c == ' ' || c == '\t' || c == '>' || c == '\n')
                return 1;
        }
    }
    if (n >= 4 && memcmp(s, "<!--", 4) == 0)
        return 2;
    if (s[1] == '?')
        return 3;
    if (n >= 9 && memcmp(s, "<![CDATA[", 9) == 0)
        return 5;
    if (s[1] == '!' && n > 2 && is_alpha(s[2]))
        return 4;
    size_t i = 1;
    if (s[i] == '/')
        i++;
    size_t a = i;
    while (i < n && is_alnum(s[i]))
        i++;
    if (i > a && i - a <= 10) {
        char name[12];
        for (size_t k = 0; k < i - a; k++)
            name[k] = lower(s[a + k]);
        name[i - a] = '\0';
        if (fmd__kernel_html_block_tag(name)) {
            char c = i < n ? s[i] : '\n';
            if (c == ' ' || c == '\t' || c == '\n' || c == '>' ||
                (c == '/' && i + 1 < n && s[i + 1] == '>'))
                return 6;
        }
    }
    if (!in_para) {
        size_t k = scan_inline_html(p, s, 0, n, true);
        if (k != 0) {
            while (k < n && is_sp(s[k]))
                k++;
            if (k >= n)
                return 7;
        }
    }
    return 0;
}

static bool ci_find(const char *s, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    for (size_t i = 0; i + m <= n; i++) {
        if (s[i] != '<')
            continue;
        if (ci_prefix(s + i, n - i, lit))
            return true;
    }
    return false;
}

static bool html_end(int kind, const char *s, size_t n)
{
    switch (kind) {
    case 1:
        return ci_find(s, n, "</script>") || ci_find(s, n, "</pre>") || ci_find(s, n, "</style>") ||
               ci_find(s, n, "</textarea>");
    case 2:
        for (size_t i = 0; i + 3 <= n; i++)
            if (s[i] == '-' && s[i + 1] == '-' && s[i + 2] == '>')
                return true;
        return false;
    case 3:
        for (size_t i = 0; i + 2 <= n; i++)
            if (s[i] == '?' && s[i + 1] == '>')
                return true;
        return false;
    case 4: return memchr(s, '>', n) != NULL;
    case 5:
        for (size_t i = 0; i + 3 <= n; i++)
            if (s[i] == ']' && s[i + 1] == ']' && s[i + 2] == '>')
                return true;
        return false;
    default: return false;
    }
}

/* List marker at i: @return its length and fills the list fields of *d, or 0. */
static size_t scan_list_marker(const parser *p, size_t i, bool interrupts_para, blk *d)
{
    char c = peek(p, i);
    size_t start = i;
    if (c == '*' || c == '-' || c == '+') {
        i++;
        char n = peek(p, i);
        if (n != ' ' && n != '\t' && n != '\n')
            return 0;
        d->ordered = false;
        d->mark = c;
        d->start = 1;
    } else if (is_digit(c)) {
        unsigned v = 0;
        int digits = 0;
        do {
            v = v * 10 + (unsigned)(peek(p, i) - '0');
            i++;
            digits++;
        } while (digits < 9 && is_digit(peek(p, i)));
        if (interrupts_para && v != 1)
            return 0;
        c = peek(p, i);
        if (c != '.' && c != ')')
            return 0;
        i++;
        char n = peek(p, i);
        if (n != ' ' && n != '\t' && n != '\n')
            return 0;
        d->ordered = true;
        d->mark = c;
        d->start = v;
    } else {
        return 0;
    }
    if (interrupts_para) {
        /* an empty item cannot interrupt a paragraph */
        size_t j = i;
        while (is_sp(peek(p, j)))
            j++;
        if (peek(p, j) == '\n')
            return 0;
    }
    return i - start;
}

/*** GFM tables ***/

/* Split the row s[0..n) into cells: the bounds of at most max cells, trimmed, without the
 * optional outer pipes. A pipe escaped with '\' does not split. @return the cell count. */
static unsigned split_row(const char *s, size_t n, size_t *cb, size_t *ce, unsigned max)
{
    size_t i = 0;
    while (i < n && is_sp(s[i]))
        i++;
    while (n > i && is_ws(s[n - 1]))
        n--;
    if (i < n && s[i] == '|')
        i++;
    bool trailing = false;
    if (n > i && s[n - 1] == '|') {
        size_t k = n - 1, bs = 0;
        while (k > i && s[k - 1] == '\\') {
            k--;
            bs++;
        }
        if (bs % 2 == 0) {
            n--;
            trailing = true;
        }
    }
    (void)trailing;
    unsigned count = 0;
    size_t cell = i;
    for (size_t j = i;; j++) {
        if (j < n && s[j] == '\\' && j + 1 < n) {
            j++;
            continue;
        }
        if (j >= n || s[j] == '|') {
            size_t a = cell, b = j;
            while (a < b && is_sp(s[a]))
                a++;
            while (b > a && is_sp(s[b - 1]))
                b--;
            if (count < max) {
                cb[count] = a;
                ce[count] = b;
            }
            count++;
            cell = j + 1;
            if (j >= n)
                break;
        }
    }
    return count;
}

/* Is the current line (from first_nonspace) a delimiter row? Fills aligns. @return columns. */
static unsigned scan_delim_row(parser *p, size_t i, unsigned char **aligns)
{
    const char *s = p->ln + i;
    size_t n = i < p->lnlen ? p->lnlen - i : 0;
    /* quick reject: only | - : space tab */
    bool pipe = false, dash = false;
    for (size_t k = 0; k < n; k++) {
        char c = s[k];
        if (c == '|')
            pipe = true;
        else if (c == '-')
            dash = true;
        else if (c != ':' && !is_sp(c))
            return 0;
    }
    if (!dash)
        return 0;
    size_t cb[FMD_MD_MAX_TABLE_COLS], ce[FMD_MD_MAX_TABLE_COLS];
    unsigned cols = split_row(s, n, cb, ce, FMD_MD_MAX_TABLE_COLS);
    if (cols == 0 || cols > FMD_MD_MAX_TABLE_COLS)
        return 0;
    if (cols == 1 && !pipe)
        return 0;
    unsigned char *al = alloc(p, cols);
    for (unsigned k = 0; k < cols; k++) {
        size_t a = cb[k], b = ce[k];
        if (a == b)
            return 0;
        bool left = s[a] == ':', right = s[b - 1] == ':';
        size_t d0 = a + left, d1 = b - right;
        if (d1 <= d0 && !(left && right && d1 == d0))
            return 0;
        if (d1 <= d0)
            return 0;
        for (size_t m = d0; m < d1; m++)
            if (s[m] != '-')
                return 0;
        al[k] = left && right ? MD_ALIGN_CENTER
                : left        ? MD_ALIGN_LEFT
                : right       ? MD_ALIGN_RIGHT
                              : MD_ALIGN_DEFAULT;
    }
    *aligns = al;
    return cols;
}

/* Turn the end of paragraph *container into a table header when the current line is a
 * delimiter row that matches its last line. @return whether it did. */
static bool try_table(parser *p, blk **container)
{
    blk *para = *container;
    unsigned char *al;
    unsigned cols = scan_delim_row(p, p->first_nonspace, &al);
    if (cols == 0)
        return false;
    /* the header is the paragraph's last line, once definitions are taken off */
    if (!resolve_refdefs(p, para) || para->nlines == 0)
        return false;
    const mline *h = &p->lines[para->line0 + para->nlines - 1];
    size_t cb[FMD_MD_MAX_TABLE_COLS], ce[FMD_MD_MAX_TABLE_COLS];
    unsigned hc = split_row(p->src + h->beg, h->end - h->beg, cb, ce, FMD_MD_MAX_TABLE_COLS);
    if (hc != cols)
        return false;
    size_t hline = para->line0 + para->nlines - 1;
    para->nlines--;
    blk *parent = para->parent;
    if (para->nlines == 0) {
        /* the whole paragraph is the header: it becomes the table */
        para->type = B_TABLE;
        para->text = NULL;
    } else {
        finalize(p, para);
        para = add_child(p, parent, B_TABLE, 0);
    }
    para->line0 = hline;
    para->nlines = 1;
    para->ncols = cols;
    para->align = al;
    /* the delimiter row is not a row: it is recorded as an empty marker line */
    *container = para;
    return true;
}

/*** Per-line processing ***/

static void check_html_end(parser *p, blk *b)
{
    const mline *L = &p->lines[b->line0 + b->nlines - 1];
    if (html_end((int)b->level, p->src + L->beg, L->end - L->beg))
        finalize(p, b);
}

static void process_line(parser *p)
{
    p->offset = 0;
    p->column = 0;
    p->blank = false;
    p->partial_tab = false;
    p->fns_valid = false;
    p->line_no++;

    /* 1. Which open blocks does the line continue? */
    blk *container = p->root;
    bool all_matched = true;
    while (container->last != NULL && container->last->open) {
        container = container->last;
        find_first_nonspace(p);
        bool ok = true;
        switch (container->type) {
        case B_QUOTE:
            if (p->indent <= 3 && peek(p, p->first_nonspace) == '>') {
                advance(p, (size_t)p->indent + 1, true);
                if (is_sp(peek(p, p->offset)))
                    advance(p, 1, true);
            } else {
                ok = false;
            }
            break;
        case B_ITEM:
            if (p->indent >= container->marker_offset + container->padding)
                advance(p, (size_t)(container->marker_offset + container->padding), true);
            else if (p->blank && container->first != NULL)
                advance(p, p->first_nonspace - p->offset, false);
            else
                ok = false;
            break;
        case B_CODE:
            if (!container->fenced) {
                if (p->indent >= CODE_INDENT)
                    advance(p, CODE_INDENT, true);
                else if (p->blank)
                    advance(p, p->first_nonspace - p->offset, false);
                else
                    ok = false;
            } else {
                if (p->indent <= 3 && peek(p, p->first_nonspace) == container->fence_char &&
                    scan_close_fence(p, p->first_nonspace, container->fence_char) >=
                        container->fence_len) {
                    finalize(p, container);
                    p->tip = container->parent;
                    return; /* the closing fence ends the line */
                }
                for (int i = container->fence_offset; i > 0 && is_sp(peek(p, p->offset)); i--)
                    advance(p, 1, true);
            }
            break;
        case B_HEADING:
        case B_HR: ok = false; break;
        case B_HTML: ok = !(p->blank && container->level >= 6); break;
        case B_PARA:
        case B_TABLE: ok = !p->blank; break;
        default: break;
        }
        if (!ok) {
            container = container->parent;
            all_matched = false;
            break;
        }
    }
    blk *last_matched = container;

    /* 2. New block starts. */
    bool maybe_lazy = p->tip->type == B_PARA;
    while (container->type != B_CODE && container->type != B_HTML) {
        find_first_nonspace(p);
        bool indented = p->indent >= CODE_INDENT;
        char c = peek(p, p->first_nonspace);
        int lev;
        size_t m;
        blk d;
        bool deep = p->depth >= FMD_MD_MAX_NESTING;
        if (!indented && c == '>' && !deep) {
            advance(p, p->first_nonspace + 1 - p->offset, false);
            if (is_sp(peek(p, p->offset)))
                advance(p, 1, true);
            container = add_child(p, container, B_QUOTE, 0);
        } else if (!indented && c == '#' && (lev = scan_atx(p, p->first_nonspace)) != 0) {
            advance(p, p->first_nonspace + (size_t)lev - p->offset, false);
            container = add_child(p, container, B_HEADING, 0);
            container->level = (unsigned)lev;
        } else if (!indented && (c == '`' || c == '~') &&
                   (m = scan_open_fence(p, p->first_nonspace)) != 0) {
            container = add_child(p, container, B_CODE, 0);
            container->fenced = true;
            container->fence_char = c;
            container->fence_len = m;
            container->fence_offset = (int)(p->first_nonspace - p->offset);
            size_t a = p->first_nonspace + m, b = p->lnlen;
            while (a < b && is_sp(p->ln[a]))
                a++;
            while (b > a && is_sp(p->ln[b - 1]))
                b--;
            container->info_beg = (size_t)(p->ln - p->src) + a;
            container->info_end = (size_t)(p->ln - p->src) + b;
            advance(p, p->lnlen - p->offset, false);
        } else if (!indented && c == '<' &&
                   (lev =
                        scan_html_start(p, p->ln + p->first_nonspace, p->lnlen - p->first_nonspace,
                                        container->type == B_PARA)) != 0) {
            container = add_child(p, container, B_HTML, 0);
            container->level = (unsigned)lev;
        } else if (!indented && container->type == B_PARA && (c == '=' || c == '-') &&
                   (lev = scan_setext(p, p->first_nonspace)) != 0 &&
                   resolve_refdefs(p, container)) {
            container->type = B_HEADING;
            container->setext = true;
            container->level = (unsigned)lev;
            advance(p, p->lnlen - p->offset, false);
        } else if (!indented && !(container->type == B_PARA && !all_matched) &&
                   (c == '*' || c == '-' || c == '_') && scan_hr(p, p->first_nonspace)) {
            container = add_child(p, container, B_HR, 0);
            advance(p, p->lnlen - p->offset, false);
        } else if (!indented && !deep &&
                   (m = scan_list_marker(p, p->first_nonspace, container->type == B_PARA, &d)) !=
                       0) {
            advance(p, p->first_nonspace + m - p->offset, false);
            bool save_tab = p->partial_tab;
            size_t save_off = p->offset;
            int save_col = p->column;
            while (p->column - save_col <= 5 && is_sp(peek(p, p->offset)))
                advance(p, 1, true);
            int i = p->column - save_col;
            if (i >= 5 || i < 1 || peek(p, p->offset) == '\n') {
                d.padding = (int)m + 1;
                p->offset = save_off;
                p->column = save_col;
                p->partial_tab = save_tab;
                if (i > 0)
                    advance(p, 1, true);
            } else {
                d.padding = (int)m + i;
            }
            d.marker_offset = p->indent;
            if (container->type != B_LIST || container->ordered != d.ordered ||
                container->mark != d.mark) {
                container = add_child(p, container, B_LIST, 0);
                container->ordered = d.ordered;
                container->mark = d.mark;
                container->start = d.start;
            }
            container = add_child(p, container, B_ITEM, 0);
            container->ordered = d.ordered;
            container->mark = d.mark;
            container->padding = d.padding;
            container->marker_offset = d.marker_offset;
        } else if (indented && !maybe_lazy && !p->blank) {
            advance(p, CODE_INDENT, true);
            container = add_child(p, container, B_CODE, 0);
        } else if (!indented && container->type == B_PARA && (p->flags & MD_FLAG_TABLES) &&
                   all_matched && try_table(p, &container)) {
            advance(p, p->lnlen - p->offset, false);
            p->tip = container;
            return; /* the delimiter row is not content */
        } else {
            break;
        }
        if (accepts_lines(container->type))
            break;
        maybe_lazy = false;
    }

    /* 3. The rest of the line is text. */
    find_first_nonspace(p);
    if (p->blank && container->last != NULL)
        container->last->last_blank = true;
    int t = container->type;
    container->last_blank =
        p->blank && t != B_QUOTE && t != B_HEADING && t != B_HR &&
        !(t == B_CODE && container->fenced) &&
        !(t == B_ITEM && container->first == NULL && container->start_line == p->line_no);
    for (blk *q = container; q->parent != NULL; q = q->parent)
        q->parent->last_blank = false;

    if (p->tip != last_matched && container == last_matched && !p->blank &&
        p->tip->type == B_PARA) {
        /* a lazy continuation line */
        advance(p, p->first_nonspace - p->offset, false);
        add_line(p, p->tip);
        return;
    }
    while (p->tip != last_matched)
        p->tip = finalize(p, p->tip);
    if (container->type == B_CODE) {
        /* an opening fence's line holds only the fence and its info string */
        if (!(container->fenced && container->start_line == p->line_no))
            add_line(p, container);
    } else if (container->type == B_HTML) {
        add_line(p, container);
        check_html_end(p, container);
        if (!container->open)
            container = container->parent;
    } else if (p->blank) {
        /* nothing */
    } else if (container->type == B_HEADING && !container->setext) {
        advance(p, p->first_nonspace - p->offset, false);
        add_line(p, container);
    } else if (container->type == B_HEADING || container->type == B_HR) {
        /* a setext underline or a thematic break: no text */
    } else if (accepts_lines(container->type)) {
        advance(p, p->first_nonspace - p->offset, false);
        add_line(p, container);
    } else {
        container = add_child(p, container, B_PARA, 0);
        advance(p, p->first_nonspace - p->offset, false);
        add_line(p, container);
    }
    p->tip = container;
}

/* Scan for the next '\n' from s: SSE2 16 bytes at a time where the target has it. */
/* The end of the line at s: its '\n', or end. Inline rather than memchr: lines are short, and
 * the call and memchr's set-up cost more than the scan of a typical line. */
static const char *find_nl(const char *s, const char *end)
{
#if defined(__SSE2__)
    const __m128i nl = _mm_set1_epi8('\n');
    for (; end - s >= 16; s += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
        int bits = _mm_movemask_epi8(_mm_cmpeq_epi8(v, nl));
        if (bits != 0)
            return s + __builtin_ctz((unsigned)bits);
    }
#endif
    while (s < end && *s != '\n')
        s++;
    return s;
}

static void parse_blocks(parser *p)
{
    const char *s = p->src, *end = p->src + p->len;
    while (s < end) {
        tick(p);
        const char *e = find_nl(s, end);
        p->ln = s;
        p->lnlen = (size_t)(e - s);
        process_line(p);
        s = e < end ? e + 1 : end;
    }
    while (p->tip != NULL) {
        blk *t = p->tip;
        p->tip = t->parent;
        if (t->open)
            finalize(p, t);
    }
}

/*** Phase 2: inlines ***/

static uint32_t new_node(parser *p, int kind, size_t beg, size_t end)
{
    size_t cap = p->nodes_cap;
    grow(p, (void **)&p->nodes, &cap, (size_t)p->nnodes + 1, sizeof *p->nodes);
    p->nodes_cap = (uint32_t)cap;
    uint32_t k = p->nnodes++;
    inode *x = &p->nodes[k];
    memset(x, 0, sizeof *x);
    x->kind = (unsigned char)kind;
    x->beg = beg;
    x->end = end;
    return k;
}

/* Append node k to the children of the root (the scanner's list). */
static uint32_t append(parser *p, int kind, size_t beg, size_t end)
{
    uint32_t k = new_node(p, kind, beg, end);
    inode *root = &p->nodes[0];
    p->nodes[k].prev = root->last;
    if (root->last)
        p->nodes[root->last].next = k;
    else
        root->first = k;
    root->last = k;
    return k;
}

static void unlink_node(parser *p, uint32_t k)
{
    inode *x = &p->nodes[k];
    inode *par = &p->nodes[x->parent];
    if (x->prev)
        p->nodes[x->prev].next = x->next;
    else
        par->first = x->next;
    if (x->next)
        p->nodes[x->next].prev = x->prev;
    else
        par->last = x->prev;
    x->next = x->prev = 0;
}

/* Wrap the siblings strictly between a and b (or from a's next to the end of the list when b
 * is 0) in a new node of kind; it takes their place. */
static uint32_t wrap(parser *p, int kind, uint32_t a, uint32_t b)
{
    uint32_t e = new_node(p, kind, 0, 0);
    inode *A = &p->nodes[a];
    uint32_t par = A->parent;
    uint32_t first = A->next;
    uint32_t last = b ? p->nodes[b].prev : p->nodes[par].last;
    inode *E = &p->nodes[e];
    E->parent = par;
    if (first != b && first != 0) {
        E->first = first;
        E->last = last;
        for (uint32_t k = first;; k = p->nodes[k].next) {
            p->nodes[k].parent = e;
            if (k == last)
                break;
        }
        p->nodes[first].prev = 0;
        p->nodes[last].next = 0;
    }
    A->next = e;
    E->prev = a;
    E->next = b;
    if (b)
        p->nodes[b].prev = e;
    else
        p->nodes[par].last = e;
    return e;
}

static void remove_delim(parser *p, int d)
{
    delim *x = &p->delims[d];
    if (x->prev >= 0)
        p->delims[x->prev].next = x->next;
    if (x->next >= 0)
        p->delims[x->next].prev = x->prev;
    else
        p->dtop = x->prev;
    x->active = false;
}

static void process_emphasis(parser *p, int bottom)
{
    int openers_bottom[9];
    for (int k = 0; k < 9; k++)
        openers_bottom[k] = bottom;
    int closer = bottom >= 0 ? p->delims[bottom].next : -1;
    if (bottom < 0) {
        /* the first live delimiter */
        closer = p->dtop;
        while (closer >= 0 && p->delims[closer].prev >= 0)
            closer = p->delims[closer].prev;
    }
    while (closer >= 0) {
        tick(p);
        delim *c = &p->delims[closer];
        if (!c->can_close) {
            closer = c->next;
            continue;
        }
        int idx = c->c == '_'   ? 0
                  : c->c == '*' ? 1 + (c->can_open ? 3 : 0) + (int)(c->orig_len % 3)
                                : 7 + (c->orig_len == 2);
        int opener = c->prev;
        bool found = false;
        while (opener >= 0 && opener != bottom && opener != openers_bottom[idx]) {
            delim *o = &p->delims[opener];
            if (o->can_open && o->c == c->c) {
                if (c->c == '~') {
                    if (o->len == c->len) {
                        found = true;
                        break;
                    }
                } else {
                    bool odd = (c->can_open || o->can_close) &&
                               (o->orig_len + c->orig_len) % 3 == 0 &&
                               !(o->orig_len % 3 == 0 && c->orig_len % 3 == 0);
                    if (!odd) {
                        found = true;
                        break;
                    }
                }
            }
            opener = o->prev;
        }
        if (!found) {
            int old = closer;
            openers_bottom[idx] = c->prev;
            closer = c->next;
            if (!p->delims[old].can_open)
                remove_delim(p, old);
            continue;
        }
        delim *o = &p->delims[opener];
        size_t use = c->c == '~' ? c->len : (c->len >= 2 && o->len >= 2) ? 2 : 1;
        o->len -= use;
        c->len -= use;
        p->nodes[o->node].end -= use;
        p->nodes[c->node].beg += use;
        int kind = c->c == '~' ? I_DEL : use == 2 ? I_STRONG : I_EM;
        wrap(p, kind, o->node, c->node);
        /* the delimiters in between can no longer match */
        for (int d = o->next; d >= 0 && d != closer;) {
            int nx = p->delims[d].next;
            remove_delim(p, d);
            d = nx;
        }
        if (o->len == 0) {
            unlink_node(p, o->node);
            remove_delim(p, opener);
        }
        if (c->len == 0) {
            int nx = c->next;
            unlink_node(p, c->node);
            remove_delim(p, closer);
            closer = nx;
        }
    }
    /* drop every delimiter above bottom */
    while (p->dtop >= 0 && p->dtop != bottom && p->dtop > bottom)
        remove_delim(p, p->dtop);
}

/* Flanking of the run s[i..j) of the buffer. */
static void flanking(parser *p, size_t i, size_t j, bool *left, bool *right)
{
    uint32_t before = fmd__kernel_utf8_before(p->buf, p->buf + i);
    uint32_t after = fmd__kernel_utf8_at(p->buf + j, p->buf + p->blen);
    bool bs = fmd__kernel_smart_is_space(before), as = fmd__kernel_smart_is_space(after);
    bool bp = is_upunct(before), ap = is_upunct(after);
    *left = !as && (!ap || bs || bp);
    *right = !bs && (!bp || as || ap);
}

/* Find the closing backtick run of length k from i. @return its start or SIZE_MAX. */
static size_t find_ticks(parser *p, size_t i, size_t k)
{
    const char *s = p->buf;
    size_t n = p->blen;
    if (k > FMD_MD_MAX_BACKTICKS)
        return SIZE_MAX;
    if (p->ticks_scanned && (k > p->ticks_hi || p->ticks_at[k] < p->ticks_base + i))
        return SIZE_MAX;
    while (i < n) {
        const char *q = memchr(s + i, '`', n - i);
        if (q == NULL)
            break;
        size_t a = (size_t)(q - s), b = a;
        while (b < n && s[b] == '`')
            b++;
        if (b - a <= FMD_MD_MAX_BACKTICKS) {
            if (b - a > p->ticks_hi) {
                memset(p->ticks_at + p->ticks_hi + 1, 0,
                       (b - a - p->ticks_hi) * sizeof *p->ticks_at);
                p->ticks_hi = b - a;
            }
            p->ticks_at[b - a] = p->ticks_base + a;
        }
        if (b - a == k)
            return a;
        i = b;
    }
    p->ticks_scanned = true;
    return SIZE_MAX;
}

/* Cached forward search for the literal lit in the buffer from i. */
static size_t find_cached(parser *p, scache *c, size_t i, const char *lit)
{
    if (c->valid && i >= c->from && (c->found == SIZE_MAX || i <= c->found))
        return c->found;
    size_t m = strlen(lit), n = p->blen, r = SIZE_MAX;
    for (size_t k = i; k + m <= n; k++) {
        const char *q = memchr(p->buf + k, lit[0], n - k);
        if (q == NULL)
            break;
        k = (size_t)(q - p->buf);
        if (k + m <= n && memcmp(p->buf + k, lit, m) == 0) {
            r = k;
            break;
        }
    }
    c->valid = true;
    c->from = i;
    c->found = r;
    return r;
}

/* An HTML tag, comment, processing instruction, declaration or CDATA section at s[i] (s[i] ==
 * '<'). @return its end, or 0. tags_only: open and closing tags only (HTML block kind 7). */
static size_t scan_inline_html(parser *p, const char *s, size_t i, size_t n, bool tags_only)
{
    size_t j = i + 1;
    if (j >= n)
        return 0;
    if (!tags_only && s[j] == '!') {
        if (n - j >= 3 && s[j + 1] == '-' && s[j + 2] == '-') {
            if (n - j >= 4 && s[j + 3] == '>')
                return j + 4;
            if (n - j >= 5 && s[j + 3] == '-' && s[j + 4] == '>')
                return j + 5;
            size_t f = find_cached(p, &p->sc_comment, j + 3, "-->");
            return f == SIZE_MAX ? 0 : f + 3;
        }
        if (n - j >= 8 && memcmp(s + j, "![CDATA[", 8) == 0) {
            size_t f = find_cached(p, &p->sc_cdata, j + 8, "]]>");
            return f == SIZE_MAX ? 0 : f + 3;
        }
        if (n - j >= 2 && is_alpha(s[j + 1])) {
            size_t f = find_cached(p, &p->sc_decl, j + 2, ">");
            return f == SIZE_MAX ? 0 : f + 1;
        }
        return 0;
    }
    if (!tags_only && s[j] == '?') {
        size_t f = find_cached(p, &p->sc_pi, j + 1, "?>");
        return f == SIZE_MAX ? 0 : f + 2;
    }
    bool closing = s[j] == '/';
    if (closing)
        j++;
    if (j >= n || !is_alpha(s[j]))
        return 0;
    while (j < n && (is_alnum(s[j]) || s[j] == '-'))
        j++;
    if (closing) {
        while (j < n && is_ws(s[j]))
            j++;
        return j < n && s[j] == '>' ? j + 1 : 0;
    }
    for (;;) {
        size_t k = j;
        while (k < n && is_ws(s[k]))
            k++;
        if (k >= n)
            return 0;
        if (s[k] == '>')
            return k + 1;
        if (s[k] == '/')
            return k + 1 < n && s[k + 1] == '>' ? k + 2 : 0;
        if (k == j)
            return 0; /* attributes need white space before them */
        char c = s[k];
        if (!(is_alpha(c) || c == '_' || c == ':'))
            return 0;
        k++;
        while (k < n &&
               (is_alnum(s[k]) || s[k] == '_' || s[k] == '.' || s[k] == ':' || s[k] == '-'))
            k++;
        j = k;
        /* optional value */
        while (k < n && is_ws(s[k]))
            k++;
        if (k < n && s[k] == '=') {
            k++;
            while (k < n && is_ws(s[k]))
                k++;
            if (k >= n)
                return 0;
            if (s[k] == '"' || s[k] == '\'') {
                const char *q = memchr(s + k + 1, s[k], n - k - 1);
                if (q == NULL)
                    return 0;
                k = (size_t)(q - s) + 1;
            } else {
                size_t v = k;
                while (k < n && !is_ws(s[k]) && s[k] != '"' && s[k] != '\'' && s[k] != '=' &&
                       s[k] != '<' && s[k] != '>' && s[k] != '`')
                    k++;
                if (k == v)
                    return 0;
            }
            j = k;
        }
    }
}

/* An autolink <scheme:...> or <email> at s[i]. @return its end and sets *email, or 0. */
static size_t scan_autolink(const char *s, size_t i, size_t n, bool *email)
{
    size_t j = i + 1;
    size_t a = j;
    if (j < n && is_alpha(s[j])) {
        j++;
        while (j < n && j - a < 32 && (is_alnum(s[j]) || s[j] == '+' || s[j] == '.' || s[j] == '-'))
            j++;
        if (j - a >= 2 && j < n && s[j] == ':') {
            j++;
            while (j < n && s[j] != '>' && s[j] != '<' && (unsigned char)s[j] > 0x20)
                j++;
            if (j < n && s[j] == '>') {
                *email = false;
                return j + 1;
            }
        }
    }
    /* email */
    j = a;
    while (j < n && (is_alnum(s[j]) || strchr(".!#$%&'*+/=?^_`{|}~-", s[j]) != NULL) &&
           s[j] != '\0')
        j++;
    if (j == a || j >= n || s[j] != '@')
        return 0;
    j++;
    for (;;) {
        size_t l = j;
        if (j >= n || !is_alnum(s[j]))
            return 0;
        while (j < n && (is_alnum(s[j]) || s[j] == '-') && j - l < 63)
            j++;
        if (s[j - 1] == '-')
            return 0;
        if (j < n && s[j] == '.') {
            j++;
            continue;
        }
        break;
    }
    if (j < n && s[j] == '>') {
        *email = true;
        return j + 1;
    }
    return 0;
}

static uint32_t add_link(parser *p, const char *href, size_t hn, const char *title, size_t tn)
{
    size_t cap = p->links_cap;
    grow(p, (void **)&p->links, &cap, (size_t)p->nlinks + 1, sizeof *p->links);
    p->links_cap = (uint32_t)cap;
    p->links[p->nlinks] = (ilink){href, title, hn, tn};
    return p->nlinks++;
}

/*** GFM extended autolinks ***/

/* cmark-gfm's white space: space, \t, \n, \v, \f, \r. */
static inline bool is_cspace(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* A byte that may continue a domain, as cmark-gfm reads one: an ASCII letter or digit, or the
 * first byte of a character that is neither white space nor punctuation (so internationalised
 * hosts pass); a continuation byte never does, which ends the domain one byte into such a
 * character (the bytes after it still join the link as its path). */
static bool host_byte(const char *s, size_t i, size_t n)
{
    unsigned char c = (unsigned char)s[i];
    if (c < 0x80)
        return is_alnum((char)c);
    if ((c & 0xC0) == 0x80)
        return false;
    uint32_t cp = fmd__kernel_utf8_at(s + i, s + n);
    return !fmd__kernel_smart_is_space(cp) && !fmd__kernel_smart_is_punct(cp);
}

/* Scan a domain from d (its first byte is not checked, as in cmark-gfm) into x. */
static void scan_domain(parser *p, size_t d, xdomain *x)
{
    const char *s = p->buf;
    size_t n = p->blen, i, us_cur = 0, us_prev = 0;
    x->from = d;
    x->mid_dot = x->last_dot = SIZE_MAX;
    for (i = d + 1; i + 1 < n; i++) {
        if (s[i] == '\\' && i + 2 < n)
            i++;
        char c = s[i];
        if (c == '_') {
            us_cur++;
        } else if (c == '.') {
            x->mid_dot = x->last_dot;
            x->last_dot = i;
            us_prev = us_cur;
            us_cur = 0;
        } else if (c != '-' && !host_byte(s, i, n)) {
            break;
        }
    }
    x->end = i;
    x->us_mid = us_prev != 0;
    x->us_last = us_cur != 0;
    x->valid = true;
}

/* The end of the valid domain of the extended autolink whose domain starts at d, or 0.
 * www: the domain is "www." and what follows, and needs a dot; else (after "://") it may be
 * a single segment. No underscore in the last two segments. */
static size_t check_domain(parser *p, size_t d, bool www)
{
    xdomain *x = &p->xdom, fresh;
    if (!www) {
        x = &fresh;
        scan_domain(p, d, x);
    } else if (!(x->valid && d >= x->from && d < x->end)) {
        scan_domain(p, d, x);
    }
    /* Answered for d from a scan that started at x->from <= d (see xdomain): when it started
     * before d, d's own segment before its last dot is "ww" when that dot is the www one. */
    bool has_dot = x->last_dot != SIZE_MAX && x->last_dot > d;
    bool us_mid = (x->from == d || (x->mid_dot != SIZE_MAX && x->mid_dot > d)) && x->us_mid;
    if (us_mid || x->us_last || (www && !has_dot))
        return 0;
    return x->end;
}

/* The balance of parentheses (')' minus '(') in buf[0..i). */
static int32_t paren_balance(parser *p, size_t i)
{
    if (!p->pbal_built) {
        grow(p, (void **)&p->pbal, &p->pbal_cap, p->blen + 1, sizeof *p->pbal);
        int32_t b = 0;
        for (size_t k = 0; k < p->blen; k++) {
            p->pbal[k] = b;
            b += p->buf[k] == ')' ? 1 : p->buf[k] == '(' ? -1 : 0;
        }
        p->pbal[p->blen] = b;
        p->pbal_built = true;
    }
    return p->pbal[i];
}

/* The end of the extended autolink that starts at a (a's first byte is not trailing
 * punctuation) and whose domain ends at e: the link runs on to white space or '<', then loses
 * its trailing ?!.,:*_~'" and entity-like "&name;", and its trailing ')' while it has more
 * ')' than '('. @return the end, or 0 for none. */
static size_t autolink_end(parser *p, size_t a, size_t e)
{
    const char *s = p->buf;
    size_t n = p->blen;
    scache *c = &p->xstop;
    size_t t;
    if (c->valid && e >= c->from && e <= c->found) {
        t = c->found;
    } else {
        t = e;
        while (t < n && !is_cspace(s[t]) && s[t] != '<')
            t++;
        c->valid = true;
        c->from = e;
        c->found = t;
    }
    xtrim *x = &p->xtr;
    if (!(x->valid && x->end == t)) {
        x->valid = true;
        x->end = t;
        x->nparens = 0;
        size_t k = t;
        while (k > 0) {
            tick(p);
            char ch = s[k - 1];
            if (ch == ')') {
                grow(p, (void **)&x->parens, &x->cap, x->nparens + 1, sizeof *x->parens);
                x->parens[x->nparens++] = k - 1;
                k--;
            } else if (strchr("?!.,:*_~'\"", ch) != NULL && ch != '\0') {
                k--;
            } else if (ch == ';') {
                size_t m = k >= 2 ? k - 2 : 0;
                while (m > 0 && is_alpha(s[m]))
                    m--;
                if (k >= 2 && m < k - 2 && s[m] == '&')
                    k = m;
                else
                    k--;
            } else {
                break;
            }
        }
        x->stop = k;
    }
    size_t end = x->stop;
    if (x->nparens != 0) {
        int32_t d = paren_balance(p, t) - paren_balance(p, a);
        size_t use = d > 0 ? (size_t)d : 0;
        if (use < x->nparens)
            end = x->parens[use] + 1;
    }
    return end > a ? end : 0;
}

/* An extended www autolink at s[i] ("www." after white space, *, _, ~, ( or at the start).
 * @return its end, or 0. */
static size_t match_www(parser *p, size_t i)
{
    const char *s = p->buf;
    size_t n = p->blen;
    if (n - i < 4 || memcmp(s + i, "www.", 4) != 0)
        return 0;
    if (i > 0 && !is_cspace(s[i - 1]) && strchr("*_~(", s[i - 1]) == NULL)
        return 0;
    size_t e = check_domain(p, i, true);
    return e == 0 ? 0 : autolink_end(p, i, e);
}

/* An extended url autolink around the ':' at s[i]: "http://", "https://" or "ftp://" (any
 * case; the scheme's letters are the ones right before the ':', from lo on) and a valid
 * domain. @return its end and sets *start, or 0. */
static size_t match_url(parser *p, size_t i, size_t lo, size_t *start)
{
    const char *s = p->buf;
    size_t n = p->blen;
    if (n - i < 4 || s[i + 1] != '/' || s[i + 2] != '/')
        return 0;
    size_t a = i;
    while (a > lo && is_alpha(s[a - 1]))
        a--;
    size_t k = i - a;
    bool scheme = (k == 4 && ci_prefix(s + a, k, "http")) ||
                  (k == 5 && ci_prefix(s + a, k, "https")) ||
                  (k == 3 && ci_prefix(s + a, k, "ftp"));
    if (!scheme || !host_byte(s, i + 3, n))
        return 0;
    size_t e = check_domain(p, i + 3, false);
    if (e == 0)
        return 0;
    *start = a;
    return autolink_end(p, i, e);
}

/* Is "proto" (with its ':') right before s[at], with no letter or digit before it (from lo)? */
static bool email_protocol(const char *s, size_t lo, size_t at, const char *proto)
{
    size_t k = strlen(proto);
    if (at - lo < k || memcmp(s + at - k, proto, k) != 0)
        return false;
    return at - lo == k || !is_alnum(s[at - k - 1]);
}

/* Entity-decode s[0..n) only (autolinks keep their backslashes). */
static const char *entities_decoded(parser *p, const char *s, size_t n, size_t *out_n)
{
    if (memchr(s, '&', n) == NULL) {
        *out_n = n;
        return s;
    }
    p->tmp.len = 0;
    size_t run = 0;
    for (size_t i = 0; i < n;) {
        size_t k = s[i] == '&' ? scan_entity(s + i, n - i) : 0;
        char dec[8];
        size_t m = k ? fmd__kernel_entity_decode(s + i, k, dec) : 0;
        if (m == 0) {
            i++;
            continue;
        }
        if (fmd_buf_append(&p->tmp, s + run, i - run) != FMD_OK ||
            fmd_buf_append(&p->tmp, dec, m) != FMD_OK)
            stop(p, FMD_MD_NOMEM);
        i += k;
        run = i;
    }
    if (fmd_buf_append(&p->tmp, s + run, n - run) != FMD_OK)
        stop(p, FMD_MD_NOMEM);
    *out_n = p->tmp.len;
    return dup(p, p->tmp.ptr, p->tmp.len);
}

static void pop_bracket(parser *p)
{
    p->nbrackets--;
    if (p->link_bottom > p->nbrackets)
        p->link_bottom = p->nbrackets;
}

/* ']' at s[i]. @return the position after what it closes. */
static size_t close_bracket(parser *p, size_t i)
{
    const char *s = p->buf;
    size_t n = p->blen;
    if (p->nbrackets == 0) {
        append(p, I_TEXT, i, i + 1);
        return i + 1;
    }
    bracket *b = &p->brackets[p->nbrackets - 1];
    if (!b->image && p->nbrackets - 1 < p->link_bottom) {
        pop_bracket(p);
        append(p, I_TEXT, i, i + 1);
        return i + 1;
    }
    size_t after = i + 1, end = 0;
    const char *href = NULL, *title = NULL;
    size_t hn = 0, tn = 0;
    bool ok = false;
    if (after < n && s[after] == '(') {
        size_t j = skip_ws_nl(s, after + 1, n), db, de, tb, te;
        size_t k = scan_dest(s, j, n, &db, &de);
        if (k != SIZE_MAX) {
            size_t t = skip_ws_nl(s, k, n);
            bool has_title = false;
            if (t > k && t < n && (s[t] == '"' || s[t] == '\'' || s[t] == '(')) {
                size_t u = scan_title(s, t, n, &tb, &te);
                if (u != SIZE_MAX) {
                    has_title = true;
                    t = skip_ws_nl(s, u, n);
                }
            }
            if (t < n && s[t] == ')') {
                ok = true;
                end = t + 1;
                href = decoded(p, s + db, de - db, &hn);
                if (has_title)
                    title = decoded(p, s + tb, te - tb, &tn);
            }
        }
    }
    if (!ok) {
        size_t lb, le;
        size_t k = scan_label(s, after, n, &lb, &le);
        refdef *r = NULL;
        bool tried = false;
        if (k != 0) {
            r = ref_lookup(p, s + lb, le - lb);
            end = k;
            tried = true;
        } else if (!b->bracket_after && i - b->pos <= FMD_MD_MAX_LABEL) {
            bool collapsed = after + 1 < n && s[after] == '[' && s[after + 1] == ']';
            r = ref_lookup(p, s + b->pos, i - b->pos);
            end = collapsed ? after + 2 : after;
            tried = true;
        }
        if (tried && r != NULL) {
            ok = true;
            href = r->dest;
            hn = r->dest_len;
            title = r->title;
            tn = r->title_len;
        }
    }
    if (!ok && (p->flags & MD_FLAG_FOOTNOTES) && s[b->pos] == '^' && i > b->pos + 1) {
        /* A footnote reference, as cmark-gfm reads one: whatever the brackets hold becomes
         * the one text "[^label]" (markup inside is dropped), which the renderer links to its
         * definition or writes as it stands when there is none. Emphasis inside is resolved
         * first so that its delimiters leave the stack. */
        uint32_t opener = b->node;
        process_emphasis(p, b->delim_top);
        inode *o = &p->nodes[opener];
        if (b->image)
            o->beg++; /* the '!' stays a text of its own */
        o->kind = I_FNREF;
        o->end = i + 1;
        if (b->image) {
            uint32_t bang = new_node(p, I_TEXT, o->beg - 1, o->beg);
            inode *bn = &p->nodes[bang], *op = &p->nodes[opener];
            bn->parent = op->parent;
            bn->prev = op->prev;
            bn->next = opener;
            if (op->prev)
                p->nodes[op->prev].next = bang;
            else
                p->nodes[op->parent].first = bang;
            op->prev = bang;
        }
        inode *op = &p->nodes[opener];
        op->next = 0;
        p->nodes[op->parent].last = opener;
        pop_bracket(p);
        return i + 1;
    }
    if (!ok) {
        pop_bracket(p);
        append(p, I_TEXT, i, i + 1);
        return i + 1;
    }
    bool image = b->image;
    uint32_t opener = b->node;
    process_emphasis(p, b->delim_top);
    uint32_t e = wrap(p, image ? I_IMG : I_LINK, opener, 0);
    p->nodes[e].link = add_link(p, href ? href : "", hn, title, tn);
    unlink_node(p, opener);
    pop_bracket(p);
    if (!image)
        p->link_bottom = p->nbrackets;
    return end;
}

static void push_bracket(parser *p, uint32_t node, size_t pos, bool image)
{
    if (p->nbrackets > 0)
        p->brackets[p->nbrackets - 1].bracket_after = true;
    size_t cap = (size_t)p->brackets_cap;
    grow(p, (void **)&p->brackets, &cap, (size_t)p->nbrackets + 1, sizeof *p->brackets);
    p->brackets_cap = (int)cap;
    p->brackets[p->nbrackets++] = (bracket){node, p->dtop, pos, image, false};
}

static void push_delim(parser *p, uint32_t node, char c, size_t len, bool open, bool close)
{
    size_t cap = (size_t)p->delims_cap;
    grow(p, (void **)&p->delims, &cap, (size_t)p->ndelims + 1, sizeof *p->delims);
    p->delims_cap = (int)cap;
    int d = p->ndelims++;
    p->delims[d] = (delim){node, p->dtop, -1, len, len, c, open, close, true};
    if (p->dtop >= 0)
        p->delims[p->dtop].next = d;
    p->dtop = d;
}

/* The bytes that stop the text scanner. */
static const unsigned char special[256] = {
    ['\n'] = 1, ['\\'] = 1, ['`'] = 1, ['*'] = 1, ['_'] = 1, ['['] = 1, [']'] = 1, ['<'] = 1,
    ['&'] = 1,  ['\0'] = 1, ['~'] = 2, ['!'] = 1, [':'] = 4, ['w'] = 4, ['@'] = 4};

#if defined(__SSE2__)
/* Bit k set when byte k of v may be special under mask. It may also be set for a byte that is
 * not (a control byte other than NUL and \n, or '^'): ranges keep the compares few, bytes
 * <= '\n' (unsigned) and '['..'`' (that is [ \ ] ^ _ `). */
static inline unsigned special_bits(__m128i v, unsigned mask)
{
    const __m128i nl = _mm_set1_epi8('\n'), five = _mm_set1_epi8(5);
    __m128i r = _mm_sub_epi8(v, _mm_set1_epi8('['));
    __m128i m = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(v, nl), v),
                             _mm_cmpeq_epi8(_mm_min_epu8(r, five), r));
    m = _mm_or_si128(m, _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('*')),
                                                  _mm_cmpeq_epi8(v, _mm_set1_epi8('<'))),
                                     _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('&')),
                                                  _mm_cmpeq_epi8(v, _mm_set1_epi8('!')))));
    if (mask & 2)
        m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('~')));
    if (mask & 4)
        m = _mm_or_si128(m, _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(':')),
                                                      _mm_cmpeq_epi8(v, _mm_set1_epi8('w'))),
                                         _mm_cmpeq_epi8(v, _mm_set1_epi8('@'))));
    return (unsigned)_mm_movemask_epi8(m);
}
#endif

/* The scanner's last 16-byte block and its special bits (see special_bits), so that the stops
 * that follow one another inside one block do not look at it again. */
typedef struct scan_block {
    size_t at; /* SIZE_MAX: none */
    unsigned bits;
} scan_block;

/* The first byte at or after i that may be special under mask, or n. The vector path may stop
 * at a byte that is not special (see special_bits): the caller's switch treats such a byte as
 * text, so a rare false stop costs a little time, never output. */
static size_t next_special(const char *s, size_t i, size_t n, unsigned mask, scan_block *sb)
{
#if defined(__SSE2__)
    if (i >= sb->at && i - sb->at < 16) {
        unsigned bits = sb->bits & (~0u << (i - sb->at));
        if (bits != 0)
            return sb->at + (size_t)__builtin_ctz(bits);
        i = sb->at + 16;
    }
    for (; i + 16 <= n; i += 16) {
        unsigned bits = special_bits(_mm_loadu_si128((const __m128i *)(const void *)(s + i)), mask);
        if (bits != 0) {
            sb->at = i;
            sb->bits = bits;
            return i + (size_t)__builtin_ctz(bits);
        }
    }
#else
    (void)sb;
#endif
    while (i < n && (special[(unsigned char)s[i]] & mask) == 0)
        i++;
    return i;
}

/* Append an autolink whose text is buf[a..e) and whose destination is prefix + that text. */
static void add_autolink(parser *p, size_t a, size_t e, const char *prefix)
{
    size_t k = strlen(prefix), un = e - a;
    const char *u = p->buf + a;
    if (k != 0) {
        char *h = alloc(p, k + un);
        memcpy(h, prefix, k);
        memcpy(h + k, u, un);
        u = h;
        un += k;
    }
    uint32_t l = append(p, I_LINK, 0, 0);
    p->nodes[l].autolink = true;
    p->nodes[l].link = add_link(p, u, un, NULL, 0);
    uint32_t t = new_node(p, I_TEXT, a, e);
    p->nodes[t].parent = l;
    p->nodes[l].first = p->nodes[l].last = t;
}

static void parse_inlines(parser *p, const char *s, size_t n)
{
    while (n > 0 && is_ws(s[n - 1]))
        n--;
    p->ticks_base += p->blen + 1; /* past every position of the previous buffer */
    p->buf = s;
    p->blen = n;
    p->nnodes = 0;
    new_node(p, I_TEXT, 0, 0); /* node 0: the root */
    p->nlinks = 0;
    p->ndelims = 0;
    p->dtop = -1;
    p->nbrackets = 0;
    p->link_bottom = 0;
    p->ticks_scanned = false;
    p->sc_comment.valid = p->sc_pi.valid = p->sc_cdata.valid = p->sc_decl.valid = false;
    p->xdom.valid = p->xstop.valid = p->xtr.valid = p->pbal_built = p->saw_at = false;
    bool xlinks = (p->flags & MD_FLAG_PERMISSIVEAUTOLINKS) != 0;
    unsigned mask = 1u | ((p->flags & MD_FLAG_STRIKETHROUGH) ? 2u : 0u) | (xlinks ? 4u : 0u);
    size_t i = 0, t0 = 0; /* t0: start of the pending text run */
    scan_block sblk = {SIZE_MAX, 0};
#define FLUSH(upto)                                                                                \
    do {                                                                                           \
        if ((upto) > t0)                                                                           \
            append(p, I_TEXT, t0, (upto));                                                         \
    } while (0)
    while (i < n) {
        tick(p);
        i = next_special(s, i, n, mask, &sblk);
        if (i >= n)
            break;
        char c = s[i];
        switch (c) {
        case '\n': {
            size_t e = i;
            while (e > t0 && (s[e - 1] == ' ' || s[e - 1] == '\t'))
                e--;
            size_t spaces = 0;
            while (i - spaces > t0 && s[i - spaces - 1] == ' ')
                spaces++;
            FLUSH(e);
            append(p, spaces >= 2 ? I_BR : I_SOFTBR, i, i + 1);
            i++;
            while (i < n && is_sp(s[i]))
                i++;
            t0 = i;
            break;
        }
        case '\\':
            if (i + 1 < n && is_ascii_punct(s[i + 1])) {
                FLUSH(i);
                append(p, I_ESC, i + 1, i + 2);
                i += 2;
                t0 = i;
            } else if (i + 1 < n && s[i + 1] == '\n') {
                FLUSH(i);
                append(p, I_BR, i, i + 2);
                i += 2;
                while (i < n && is_sp(s[i]))
                    i++;
                t0 = i;
            } else {
                i++;
            }
            break;
        case '`': {
            size_t k = 1;
            while (i + k < n && s[i + k] == '`')
                k++;
            if (p->ticks_at == NULL) { /* once per page; zeroed up to ticks_hi as it grows */
                p->ticks_at = alloc(p, (FMD_MD_MAX_BACKTICKS + 1) * sizeof *p->ticks_at);
                p->ticks_at[0] = 0;
            }
            size_t f = find_ticks(p, i + k, k);
            if (f == SIZE_MAX) {
                i += k;
                break;
            }
            FLUSH(i);
            append(p, I_CODE, i + k, f);
            i = f + k;
            t0 = i;
            break;
        }
        case '*':
        case '_':
        case '~': {
            size_t k = 1;
            while (i + k < n && s[i + k] == c)
                k++;
            if (c == '~' && k > 2) {
                i += k;
                break;
            }
            bool left, right, open, close;
            flanking(p, i, i + k, &left, &right);
            if (c == '_') {
                uint32_t before = fmd__kernel_utf8_before(s, s + i);
                uint32_t after = fmd__kernel_utf8_at(s + i + k, s + n);
                open = left && (!right || is_upunct(before));
                close = right && (!left || is_upunct(after));
            } else {
                open = left;
                close = right;
            }
            if (!open && !close) {
                i += k; /* plain text: it stays in the pending run */
                break;
            }
            FLUSH(i);
            uint32_t node = append(p, I_TEXT, i, i + k);
            push_delim(p, node, c, k, open, close);
            i += k;
            t0 = i;
            break;
        }
        case '!':
            if (i + 1 < n && s[i + 1] == '[') {
                FLUSH(i);
                uint32_t node = append(p, I_TEXT, i, i + 2);
                push_bracket(p, node, i + 2, true);
                i += 2;
                t0 = i;
            } else {
                i++;
            }
            break;
        case '[': {
            FLUSH(i);
            uint32_t node = append(p, I_TEXT, i, i + 1);
            push_bracket(p, node, i + 1, false);
            i++;
            t0 = i;
            break;
        }
        case ']':
            FLUSH(i);
            i = close_bracket(p, i);
            t0 = i;
            break;
        case '<': {
            bool email = false;
            size_t e = scan_autolink(s, i, n, &email);
            if (e != 0) {
                FLUSH(i);
                size_t un;
                const char *u = entities_decoded(p, s + i + 1, e - i - 2, &un);
                if (email) {
                    char *h = alloc(p, un + 7);
                    memcpy(h, "mailto:", 7);
                    memcpy(h + 7, u, un);
                    u = h;
                    un += 7;
                }
                uint32_t a = append(p, I_LINK, 0, 0);
                p->nodes[a].autolink = true;
                p->nodes[a].link = add_link(p, u, un, NULL, 0);
                uint32_t t = new_node(p, I_TEXT, i + 1, e - 1);
                p->nodes[t].parent = a;
                p->nodes[a].first = p->nodes[a].last = t;
                i = e;
                t0 = i;
                break;
            }
            e = scan_inline_html(p, s, i, n, false);
            if (e != 0) {
                FLUSH(i);
                append(p, I_HTML, i, e);
                i = e;
                t0 = i;
                break;
            }
            i++;
            break;
        }
        case '&': {
            size_t k = scan_entity(s + i, n - i);
            if (k == 0) {
                i++;
                break;
            }
            FLUSH(i);
            append(p, I_ENTITY, i, i + k);
            i += k;
            t0 = i;
            break;
        }
        case 'w':
        case ':': {
            /* Extended autolinks are not looked for inside brackets, as in cmark-gfm. */
            size_t a = i, e = 0;
            if (p->nbrackets == 0)
                e = c == 'w' ? match_www(p, i) : match_url(p, i, t0, &a);
            if (e == 0) {
                i++;
                break;
            }
            FLUSH(a);
            add_autolink(p, a, e, c == 'w' ? "http://" : "");
            i = e;
            t0 = i;
            break;
        }
        case '@': /* only noted: e-mail autolinks are found when the text is reported */
            p->saw_at = true;
            i++;
            break;
        case '\0':
            FLUSH(i);
            append(p, I_NUL, i, i + 1);
            i++;
            t0 = i;
            break;
        default: i++; break;
        }
    }
    FLUSH(n);
#undef FLUSH
    process_emphasis(p, -1);
}

/*** Reporting ***/

#define CB(call)                                                                                   \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ != 0)                                                                              \
            stop(p, rc_);                                                                          \
    } while (0)

static const MD_TEXTTYPE normal_type[1] = {MD_TEXT_NORMAL};

/* An attribute of one normal piece; offs must live as long as the attribute. */
static void set_attr(MD_ATTRIBUTE *a, MD_OFFSET offs[2], const char *s, size_t n)
{
    offs[0] = 0;
    offs[1] = (MD_OFFSET)n;
    a->text = n ? s : "";
    a->size = (MD_SIZE)n;
    a->substr_types = normal_type;
    a->substr_offsets = offs;
}

static void text_cb(parser *p, MD_TEXTTYPE t, const char *s, size_t n)
{
    if (n != 0)
        CB(p->cb->text(t, s, (MD_SIZE)n, p->ud));
}

static void emit_code_span(parser *p, size_t a, size_t b)
{
    const char *s = p->buf;
    bool nonspace = false;
    for (size_t k = a; k < b && !nonspace; k++)
        nonspace = s[k] != ' ' && s[k] != '\n';
    if (nonspace && b - a >= 2 && (s[a] == ' ' || s[a] == '\n') &&
        (s[b - 1] == ' ' || s[b - 1] == '\n')) {
        a++;
        b--;
    }
    CB(p->cb->enter_span(MD_SPAN_CODE, NULL, p->ud));
    while (a < b) {
        const char *q = memchr(s + a, '\n', b - a);
        size_t e = q ? (size_t)(q - s) : b;
        text_cb(p, MD_TEXT_CODE, s + a, e - a);
        if (q) {
            text_cb(p, MD_TEXT_CODE, " ", 1);
            e++;
        }
        a = e;
    }
    CB(p->cb->leave_span(MD_SPAN_CODE, NULL, p->ud));
}

static void span_detail(parser *p, const inode *x, MD_SPAN_A_DETAIL *a, MD_SPAN_IMG_DETAIL *im,
                        MD_OFFSET o1[2], MD_OFFSET o2[2])
{
    const ilink *l = &p->links[x->link];
    if (x->kind == I_LINK) {
        set_attr(&a->href, o1, l->href, l->href_len);
        set_attr(&a->title, o2, l->title ? l->title : "", l->title ? l->title_len : 0);
        a->is_autolink = x->autolink;
    } else {
        set_attr(&im->src, o1, l->href, l->href_len);
        set_attr(&im->title, o2, l->title ? l->title : "", l->title ? l->title_len : 0);
    }
}

static int span_type(int kind)
{
    switch (kind) {
    case I_EM: return MD_SPAN_EM;
    case I_STRONG: return MD_SPAN_STRONG;
    case I_DEL: return MD_SPAN_DEL;
    case I_LINK: return MD_SPAN_A;
    default: return MD_SPAN_IMG;
    }
}

static void enter_or_leave(parser *p, uint32_t k, bool enter)
{
    const inode *x = &p->nodes[k];
    MD_SPAN_A_DETAIL a;
    MD_SPAN_IMG_DETAIL im;
    MD_OFFSET o1[2], o2[2];
    void *detail = NULL;
    if (x->kind == I_LINK || x->kind == I_IMG) {
        span_detail(p, x, &a, &im, o1, o2);
        detail = x->kind == I_LINK ? (void *)&a : (void *)&im;
    }
    MD_SPANTYPE t = (MD_SPANTYPE)span_type(x->kind);
    if (enter)
        CB(p->cb->enter_span(t, detail, p->ud));
    else
        CB(p->cb->leave_span(t, detail, p->ud));
}

static void emit_leaf(parser *p, uint32_t k)
{
    const inode *x = &p->nodes[k];
    const char *s = p->buf;
    switch (x->kind) {
    case I_TEXT:
    case I_ESC:
    case I_FNREF: text_cb(p, MD_TEXT_NORMAL, s + x->beg, x->end - x->beg); break;
    case I_SOFTBR: CB(p->cb->text(MD_TEXT_SOFTBR, "\n", 1, p->ud)); break;
    case I_BR: CB(p->cb->text(MD_TEXT_BR, "\n", 1, p->ud)); break;
    case I_CODE: emit_code_span(p, x->beg, x->end); break;
    case I_ENTITY: text_cb(p, MD_TEXT_ENTITY, s + x->beg, x->end - x->beg); break;
    case I_HTML: text_cb(p, MD_TEXT_HTML, s + x->beg, x->end - x->beg); break;
    case I_NUL: CB(p->cb->text(MD_TEXT_NULLCHAR, s + x->beg, 1, p->ud)); break;
    default: break;
    }
}

static bool is_container(int kind)
{
    return kind >= I_EM && kind <= I_IMG;
}

/* Report the text buf[a..b) outside links, with its e-mail addresses as extended autolinks,
 * as cmark-gfm finds them after the inlines are parsed: local part [A-Za-z0-9.+_-]+ (or a
 * "mailto:" or "xmpp:" before it, which then stays in the link), '@', then letters, digits, '-',
 * '_' and dots followed by a letter or digit (and '/' after xmpp:), with at least one such dot
 * and a letter last. Each byte is read at most twice: the searches back and forward from one
 * '@' stop at the next. */
static void emit_text_emails(parser *p, size_t a, size_t b)
{
    const char *s = p->buf;
    size_t run = a, lo = a, i = a;
    const char *q;
    while (i < b && (q = memchr(s + i, '@', b - i)) != NULL) {
        size_t at = (size_t)(q - s), l = at;
        bool mailto = true, xmpp = false;
        while (l > lo) {
            char c = s[l - 1];
            if (is_alnum(c) || c == '.' || c == '+' || c == '-' || c == '_') {
                l--;
            } else if (c == ':' && mailto && email_protocol(s, lo, l, "mailto:")) {
                l -= 7;
                mailto = false;
            } else if (c == ':' && mailto && email_protocol(s, lo, l, "xmpp:")) {
                l -= 5;
                mailto = false;
                xmpp = true;
            } else {
                break;
            }
        }
        size_t e = at + 1;
        unsigned dots = 0;
        bool second_at = false;
        for (; e < b; e++) {
            char c = s[e];
            if (is_alnum(c) || c == '-' || c == '_' || (c == '/' && xmpp))
                continue;
            if (c == '.' && e + 1 < b && is_alnum(s[e + 1])) {
                dots++;
                continue;
            }
            second_at = c == '@';
            break;
        }
        if (l == at || second_at || e - at < 2 || dots == 0 || !is_alpha(s[e - 1])) {
            i = lo = at + 1;
            continue;
        }
        text_cb(p, MD_TEXT_NORMAL, s + run, l - run);
        size_t un = e - l;
        const char *u = s + l;
        if (mailto) {
            char *h = alloc(p, un + 7);
            memcpy(h, "mailto:", 7);
            memcpy(h + 7, u, un);
            u = h;
            un += 7;
        }
        MD_SPAN_A_DETAIL d;
        MD_OFFSET o1[2], o2[2];
        set_attr(&d.href, o1, u, un);
        set_attr(&d.title, o2, "", 0);
        d.is_autolink = 1;
        CB(p->cb->enter_span(MD_SPAN_A, &d, p->ud));
        text_cb(p, MD_TEXT_NORMAL, s + l, e - l);
        CB(p->cb->leave_span(MD_SPAN_A, &d, p->ud));
        run = lo = i = e;
    }
    text_cb(p, MD_TEXT_NORMAL, s + run, b - run);
}

/* Parse s[0..n) for inlines and report them. */
static void inlines(parser *p, const char *s, size_t n)
{
    parse_inlines(p, s, n);
    if (p->cb->source)
        p->cb->source(p->buf, p->buf + p->blen, p->ud);
    /* With extended autolinks, runs of texts are reported as one (e-mail addresses are found in
     * them); the scanner saw every '@' of their bytes, so without one they go out unscanned. */
    bool emails = (p->flags & MD_FLAG_PERMISSIVEAUTOLINKS) != 0;
    unsigned in_link = 0;
    uint32_t cur = p->nodes[0].first;
    while (cur != 0) {
        tick(p);
        const inode *x = &p->nodes[cur];
        if (is_container(x->kind)) {
            enter_or_leave(p, cur, true);
            in_link += x->kind == I_LINK;
            if (x->first != 0) {
                cur = x->first;
                continue;
            }
            in_link -= x->kind == I_LINK;
            enter_or_leave(p, cur, false);
        } else if (emails && in_link == 0 && x->kind == I_TEXT) {
            /* the run of texts that follow each other in the buffer, as one */
            size_t a = x->beg, b = x->end;
            while (p->nodes[cur].next != 0 && p->nodes[p->nodes[cur].next].kind == I_TEXT &&
                   p->nodes[p->nodes[cur].next].beg == b) {
                cur = p->nodes[cur].next;
                b = p->nodes[cur].end;
            }
            if (p->saw_at)
                emit_text_emails(p, a, b);
            else
                text_cb(p, MD_TEXT_NORMAL, p->buf + a, b - a);
        } else {
            emit_leaf(p, cur);
        }
        while (cur != 0 && p->nodes[cur].next == 0) {
            cur = p->nodes[cur].parent;
            if (cur != 0) {
                in_link -= p->nodes[cur].kind == I_LINK;
                enter_or_leave(p, cur, false);
            }
        }
        if (cur != 0)
            cur = p->nodes[cur].next;
    }
}

/*** Reporting the blocks ***/

static void enter(parser *p, MD_BLOCKTYPE t, void *d)
{
    CB(p->cb->enter_block(t, d, p->ud));
}

static void leave(parser *p, MD_BLOCKTYPE t, void *d)
{
    CB(p->cb->leave_block(t, d, p->ud));
}

static void emit_heading_atx(parser *p, blk *b, MD_BLOCK_H_DETAIL *d)
{
    enter(p, MD_BLOCK_H, d);
    if (b->nlines != 0) {
        const mline *L = &p->lines[b->line0];
        const char *s = p->src + L->beg;
        size_t n = L->end - L->beg;
        while (n > 0 && is_sp(s[n - 1]))
            n--;
        size_t k = n;
        while (k > 0 && s[k - 1] == '#')
            k--;
        if (k != n && (k == 0 || is_sp(s[k - 1]))) {
            n = k;
            while (n > 0 && is_sp(s[n - 1]))
                n--;
        }
        inlines(p, s, n);
    }
    leave(p, MD_BLOCK_H, d);
}

/* A table cell's content with its "\|" turned into "|" (a copy only when there is one). */
static void emit_cell(parser *p, const char *s, size_t n)
{
    const char *q = NULL;
    for (size_t k = 0; k + 1 < n; k++)
        if (s[k] == '\\' && s[k + 1] == '|') {
            q = s + k;
            break;
        }
    if (q == NULL) {
        inlines(p, s, n);
        return;
    }
    char *c = alloc(p, n);
    size_t m = 0;
    for (size_t k = 0; k < n; k++) {
        if (s[k] == '\\' && k + 1 < n && s[k + 1] == '|')
            continue;
        c[m++] = s[k];
    }
    inlines(p, c, m);
}

static void emit_row(parser *p, blk *b, size_t line, bool head)
{
    const mline *L = &p->lines[line];
    const char *s = p->src + L->beg;
    size_t *cb = alloc(p, b->ncols * sizeof *cb), *ce = alloc(p, b->ncols * sizeof *ce);
    unsigned n = split_row(s, L->end - L->beg, cb, ce, b->ncols);
    enter(p, MD_BLOCK_TR, NULL);
    for (unsigned k = 0; k < b->ncols; k++) {
        MD_BLOCK_TD_DETAIL d = {(MD_ALIGN)b->align[k]};
        enter(p, head ? MD_BLOCK_TH : MD_BLOCK_TD, &d);
        if (k < n)
            emit_cell(p, s + cb[k], ce[k] - cb[k]);
        leave(p, head ? MD_BLOCK_TH : MD_BLOCK_TD, &d);
    }
    leave(p, MD_BLOCK_TR, NULL);
}

static void emit_block(parser *p, blk *b, bool tight);

static void emit_children(parser *p, blk *b, bool tight)
{
    for (blk *c = b->first; c; c = c->next)
        emit_block(p, c, tight);
}

/* A task item: its first paragraph starts with "[ ]", "[x]" or "[X]" and white space. */
static void detect_task(parser *p, blk *item, MD_BLOCK_LI_DETAIL *d)
{
    blk *para = item->first;
    if (!(p->flags & MD_FLAG_TASKLISTS) || para == NULL || para->type != B_PARA || para->dead ||
        para->start_line != item->start_line)
        return;
    const char *s = para->text;
    size_t n = para->text_len;
    if (n < 3 || s[0] != '[' || s[2] != ']' || (s[1] != ' ' && s[1] != 'x' && s[1] != 'X'))
        return;
    if (n > 3 && !is_ws(s[3]))
        return;
    d->is_task = 1;
    d->task_mark = s[1];
    size_t k = 3;
    while (k < n && is_ws(s[k]))
        k++;
    para->text = s + k;
    para->text_len = n - k;
}

static void emit_block(parser *p, blk *b, bool tight)
{
    tick(p);
    switch (b->type) {
    case B_DOC:
        enter(p, MD_BLOCK_DOC, NULL);
        emit_children(p, b, false);
        leave(p, MD_BLOCK_DOC, NULL);
        break;
    case B_QUOTE:
        enter(p, MD_BLOCK_QUOTE, NULL);
        emit_children(p, b, false);
        leave(p, MD_BLOCK_QUOTE, NULL);
        break;
    case B_LIST:
        if (b->ordered) {
            MD_BLOCK_OL_DETAIL d = {b->start, b->tight, b->mark};
            enter(p, MD_BLOCK_OL, &d);
            emit_children(p, b, b->tight);
            leave(p, MD_BLOCK_OL, &d);
        } else {
            MD_BLOCK_UL_DETAIL d = {b->tight, b->mark};
            enter(p, MD_BLOCK_UL, &d);
            emit_children(p, b, b->tight);
            leave(p, MD_BLOCK_UL, &d);
        }
        break;
    case B_ITEM: {
        MD_BLOCK_LI_DETAIL d = {0, 0, 0};
        detect_task(p, b, &d);
        enter(p, MD_BLOCK_LI, &d);
        emit_children(p, b, tight);
        leave(p, MD_BLOCK_LI, &d);
        break;
    }
    case B_PARA:
        if (b->dead)
            break;
        if (!tight)
            enter(p, MD_BLOCK_P, NULL);
        inlines(p, b->text, b->text_len);
        if (!tight)
            leave(p, MD_BLOCK_P, NULL);
        break;
    case B_HEADING: {
        MD_BLOCK_H_DETAIL d = {b->level};
        if (b->setext) {
            enter(p, MD_BLOCK_H, &d);
            inlines(p, b->text, b->text_len);
            leave(p, MD_BLOCK_H, &d);
        } else {
            emit_heading_atx(p, b, &d);
        }
        break;
    }
    case B_HR:
        enter(p, MD_BLOCK_HR, NULL);
        leave(p, MD_BLOCK_HR, NULL);
        break;
    case B_CODE: {
        MD_BLOCK_CODE_DETAIL d;
        MD_OFFSET o1[2], o2[2];
        memset(&d, 0, sizeof d);
        size_t in = 0, ln = 0;
        const char *info = "", *lang = "";
        if (b->fenced && b->info_end > b->info_beg) {
            info = decoded(p, p->src + b->info_beg, b->info_end - b->info_beg, &in);
            size_t w = 0;
            while (w < in && !is_ws(info[w]))
                w++;
            lang = info;
            ln = w;
        }
        set_attr(&d.info, o1, info, in);
        set_attr(&d.lang, o2, lang, ln);
        d.fence_char = b->fenced ? b->fence_char : 0;
        enter(p, MD_BLOCK_CODE, &d);
        for (size_t k = 0; k < b->nlines; k++) {
            const mline *L = &p->lines[b->line0 + k];
            if (L->pad)
                text_cb(p, MD_TEXT_CODE, "    ", L->pad);
            text_cb(p, MD_TEXT_CODE, p->src + L->beg, L->end - L->beg);
            text_cb(p, MD_TEXT_CODE, "\n", 1);
        }
        leave(p, MD_BLOCK_CODE, &d);
        break;
    }
    case B_HTML:
        enter(p, MD_BLOCK_HTML, NULL);
        for (size_t k = 0; k < b->nlines; k++) {
            const mline *L = &p->lines[b->line0 + k];
            if (L->pad)
                text_cb(p, MD_TEXT_HTML, "    ", L->pad);
            text_cb(p, MD_TEXT_HTML, p->src + L->beg, L->end - L->beg);
            text_cb(p, MD_TEXT_HTML, "\n", 1);
        }
        leave(p, MD_BLOCK_HTML, NULL);
        break;
    case B_TABLE: {
        MD_BLOCK_TABLE_DETAIL d = {b->ncols, 1, (unsigned)(b->nlines - 1)};
        enter(p, MD_BLOCK_TABLE, &d);
        enter(p, MD_BLOCK_THEAD, NULL);
        emit_row(p, b, b->line0, true);
        leave(p, MD_BLOCK_THEAD, NULL);
        if (b->nlines > 1) {
            enter(p, MD_BLOCK_TBODY, NULL);
            for (size_t k = 1; k < b->nlines; k++)
                emit_row(p, b, b->line0 + k, false);
            leave(p, MD_BLOCK_TBODY, NULL);
        }
        leave(p, MD_BLOCK_TABLE, &d);
        break;
    }
    default: break;
    }
}

/*** Entry point ***/

int fmd__kernel_md_parse(const MD_CHAR *text, size_t size, const MD_PARSER *cb, void *userdata,
                         fmd_arena *arena)
{
    parser p;
    memset(&p, 0, sizeof p);
    p.src = text != NULL ? text : "";
    p.len = size;
    p.arena = arena;
    p.cb = cb;
    p.ud = userdata;
    p.flags = cb->flags;
    p.deadline = cb->deadline;
    p.ticks = DEADLINE_TICKS;
    p.dtop = -1;
    fmd_buf_reset(&p.tmp, arena);
    if (setjmp(p.fail) != 0)
        return p.rc;
    p.root = alloc(&p, sizeof *p.root);
    memset(p.root, 0, sizeof *p.root);
    p.root->type = B_DOC;
    p.root->open = true;
    p.tip = p.root;
    parse_blocks(&p);
    emit_block(&p, p.root, false);
    return 0;
}
