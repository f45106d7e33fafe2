/* SPDX-License-Identifier: MIT */
/* Front matter: find the YAML block between "---" lines at the top of a page, parse it with
 * libfyaml and write it out as one compact JSON object (YAML 1.2 core schema for plain scalars).
 * Every libfyaml object (diagnostics, parser, document) lives for one call only, so this is
 * reentrant; nothing is printed: libfyaml's diagnostics are collected and the first error becomes
 * the page's error, with its line and column in the page. */
#include <libfyaml.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/*** Limits ***/

/** Nesting the JSON writer follows. libfyaml refuses more than 64 levels while parsing, but an
 * alias can put a deep subtree inside another one, and an alias to its own ancestor
 * ("a: &x [*x]") nests forever; this stops both before the C stack runs out. */
#define FMD_FM_MAX_DEPTH 128

/** The work one front matter may cost, counted as JSON bytes written plus nodes visited plus
 * key comparisons (duplicate and merge keys): at least FMD_FM_BUDGET_MIN, plus
 * FMD_FM_BUDGET_PER_BYTE for every byte of YAML. Without aliases the JSON is at most about 5
 * times the YAML ("{a,b}" gives {"a":null,"b":null}), so only alias expansion can reach it: ten
 * nested lists of ten aliases each ("billion laughs") would otherwise write gigabytes from a few
 * hundred bytes. */
#define FMD_FM_BUDGET_MIN ((size_t)1 << 20)
#define FMD_FM_BUDGET_PER_BYTE 8

/** Anchors ("&name") one front matter may define. libfyaml 0.7.12's document builder slows down
 * quadratically when anchor names repeat (40 000 "&x" take 6 s), so a block with more anchor
 * marks than this is refused before it is parsed. */
#define FMD_FM_MAX_ANCHORS 1000

/** Flow collections ("[", "{") nested deeper than this are refused by a linear pre-scan before
 * libfyaml sees the block. libfyaml 0.7.12 refuses more than 64 levels too, but only after it has
 * read every token: "a: " and a million "[" cost it 3 s and 360 MB. Deep block nesting needs no
 * such scan: libfyaml stops at its limit as soon as it gets there (1 MiB of "- - - ..." fails in
 * a few milliseconds). */
#define FMD_FM_MAX_FLOW_DEPTH 64

/** Items (keys, values, list entries, collections) one front matter may hold, estimated before
 * parsing by counting the indicators that separate them: each of "[]{}," anywhere, each "-", "?"
 * or ":" followed by a blank, and each line that is not blank or a comment. libfyaml keeps about
 * 350 bytes per item, so a 1 MiB "[1,1,1,...]" (half a million items) would take 180 MB and a
 * second and a half; this keeps any block near 25 MB. The count ignores quotes, so it is an
 * upper bound that no quoting can hide items from. */
#define FMD_FM_MAX_ITEMS 65536

/** Memory the YAML parser holds per item, for the --max-memory model: 1 MiB of 32 000
 * "key: value" lines (64 000 items) peaks 28 MB above an empty page, 440 bytes an item. */
#define FMD_FM_BYTES_PER_ITEM 448
/** ...plus, per byte of YAML, the parser's copy of the block and its token text. */
#define FMD_FM_BYTES_PER_YAML_BYTE 2

#define STR_(x) #x
#define STR(x) STR_(x)

static const char tag_str[] = "tag:yaml.org,2002:str";
static const char tag_prefix[] = "tag:yaml.org,2002:";

/*** Finding the block ***/

/* Whether the line at @p at (the text ends at @p end) is @p mark ("---" or "...") followed only
 * by spaces or tabs. *next then receives the offset after its LF (or @p end). */
static bool is_marker_line(const char *s, size_t at, size_t end, const char *mark, size_t *next)
{
    if (end - at < 3 || memcmp(s + at, mark, 3) != 0)
        return false;
    size_t i = at + 3;
    while (i < end && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i < end && s[i] != '\n')
        return false;
    *next = i < end ? i + 1 : end;
    return true;
}

/* Find the line that closes a block whose first YAML line starts at @p from (page line 2).
 * @return true with the closing line's start, the offset after it and its 1-based line. */
static bool find_close(const char *s, size_t len, size_t from, size_t *close_at, size_t *after,
                       unsigned *close_line)
{
    unsigned line = 2;
    size_t at = from;
    while (at < len) {
        if ((s[at] == '-' && is_marker_line(s, at, len, "---", after)) ||
            (s[at] == '.' && is_marker_line(s, at, len, "...", after))) {
            *close_at = at;
            *close_line = line;
            return true;
        }
        const char *nl = memchr(s + at, '\n', len - at);
        if (nl == NULL)
            break;
        at = (size_t)(nl - s) + 1;
        line++;
    }
    return false;
}

/*** Scalars: the YAML 1.2 core schema ***/

typedef enum plain_kind {
    PLAIN_STRING,
    PLAIN_NULL,
    PLAIN_TRUE,
    PLAIN_FALSE,
    PLAIN_INT,     /* [-+]?[0-9]+ */
    PLAIN_OCT,     /* 0o[0-7]+ */
    PLAIN_HEX,     /* 0x[0-9a-fA-F]+ */
    PLAIN_FLOAT,   /* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
    PLAIN_SPECIAL, /* [-+]?.inf and .nan: no JSON number can hold them, so they stay strings */
} plain_kind;

static bool is_one_of(const char *s, size_t n, const char *const *words)
{
    for (; *words != NULL; words++) {
        if (strlen(*words) == n && memcmp(s, *words, n) == 0)
            return true;
    }
    return false;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static size_t count_digits(const char *s, size_t i, size_t n, int base)
{
    size_t k = i;
    for (; k < n; k++) {
        char c = s[k];
        bool ok = base == 8    ? (c >= '0' && c <= '7')
                  : base == 16 ? (is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
                               : is_digit(c);
        if (!ok)
            break;
    }
    return k - i;
}

static plain_kind classify_plain(const char *s, size_t n)
{
    static const char *const nulls[] = {"~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", NULL};
    static const char *const infs[] = {".inf",  ".Inf",  ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
                                       "-.Inf", "-.INF", ".nan", ".NaN",  ".NAN",  NULL};
    if (n == 0 || is_one_of(s, n, nulls))
        return PLAIN_NULL;
    char c = s[0];
    /* Everything below starts with a sign, a digit, '.', or is a word above: skip the rest. */
    if (!(is_digit(c) || c == '-' || c == '+' || c == '.' || c == 't' || c == 'T' || c == 'f' ||
          c == 'F'))
        return PLAIN_STRING;
    if (is_one_of(s, n, trues))
        return PLAIN_TRUE;
    if (is_one_of(s, n, falses))
        return PLAIN_FALSE;
    if (n > 2 && s[0] == '0' && s[1] == 'o' && count_digits(s, 2, n, 8) == n - 2)
        return PLAIN_OCT;
    if (n > 2 && s[0] == '0' && s[1] == 'x' && count_digits(s, 2, n, 16) == n - 2)
        return PLAIN_HEX;
    size_t i = (c == '-' || c == '+') ? 1 : 0;
    size_t int_digits = count_digits(s, i, n, 10);
    i += int_digits;
    if (i == n)
        return int_digits > 0 ? PLAIN_INT : PLAIN_STRING;
    size_t frac_digits = 0;
    if (s[i] == '.') {
        frac_digits = count_digits(s, i + 1, n, 10);
        i += 1 + frac_digits;
    }
    if (int_digits == 0 && frac_digits == 0)
        return is_one_of(s, n, infs) ? PLAIN_SPECIAL : PLAIN_STRING;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        size_t exp_digits = count_digits(s, i, n, 10);
        if (exp_digits == 0)
            return PLAIN_STRING;
        i += exp_digits;
    }
    return i == n ? PLAIN_FLOAT : PLAIN_STRING;
}

/* Append a YAML decimal integer or float as a JSON number: no '+', no leading zeros, a digit on
 * both sides of the point ("+007.50e3" -> "7.50e3", ".5" -> "0.5", "1." -> "1"). The digits are
 * copied, never converted, so no precision is lost. */
static fmd_status put_decimal(fmd_buf *b, const char *s, size_t n)
{
    fmd_status st = FMD_OK;
    size_t i = 0;
    if (s[0] == '-' || s[0] == '+') {
        if (s[0] == '-')
            FMD_TRY(fmd_buf_putc(b, '-'));
        i = 1;
    }
    size_t start = i;
    while (i < n && is_digit(s[i]))
        i++;
    size_t lead = start;
    while (lead + 1 < i && s[lead] == '0')
        lead++;
    if (lead == i)
        FMD_TRY(fmd_buf_putc(b, '0')); /* no integer digits: ".5" */
    else
        FMD_TRY(fmd_buf_append(b, s + lead, i - lead));
    if (i < n && s[i] == '.') {
        size_t frac = ++i;
        while (i < n && is_digit(s[i]))
            i++;
        if (i > frac) {
            FMD_TRY(fmd_buf_putc(b, '.'));
            FMD_TRY(fmd_buf_append(b, s + frac, i - frac));
        }
    }
    if (i < n) /* the exponent, already checked: [eE][-+]?[0-9]+ */
        FMD_TRY(fmd_buf_append(b, s + i, n - i));
fail:
    return st;
}

/* Append 0o / 0x digits as a decimal JSON number. @return false when the value is above 2^53
 * (the caller then writes the text as a string). */
static bool put_radix(fmd_buf *b, const char *s, size_t n, unsigned base, fmd_status *st)
{
    unsigned long long v = 0;
    for (size_t i = 2; i < n; i++) {
        char c = s[i];
        unsigned d = is_digit(c)  ? (unsigned)(c - '0')
                     : (c >= 'a') ? (unsigned)(c - 'a' + 10)
                                  : (unsigned)(c - 'A' + 10);
        if (v > (ULLONG_MAX - d) / base)
            return false;
        v = v * base + d;
    }
    if (v > (1ull << 53))
        return false; /* a double would change it (see fits_double()) */
    *st = fmd_buf_put_u64(b, v);
    return true;
}

/* Compare the significant digits @p d (no leading zeros) with the digits @p ref as decimal
 * fractions 0.d and 0.ref: <0, 0 or >0. Trailing zeros do not count. */
static int cmp_digits(const char *d, size_t n, const char *ref)
{
    size_t rn = strlen(ref);
    while (n > 0 && d[n - 1] == '0')
        n--;
    for (size_t i = 0; i < n || i < rn; i++) {
        char a = i < n ? d[i] : '0', b = i < rn ? ref[i] : '0';
        if (a != b)
            return a < b ? -1 : 1;
    }
    return 0;
}

/* Whether the decimal number @p s (PLAIN_INT or PLAIN_FLOAT, as classify_plain() checked it)
 * reads as a double without overflowing to infinity, underflowing to zero, or, for an
 * integer, losing digits (beyond 2^53). Strict JSON parsers refuse 1e400, and one that reads
 * 12345678901234567890 into a double changes it: such numbers are written as strings. */
static bool fits_double(const char *s, size_t n, bool integer)
{
    size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    while (i < n && s[i] == '0')
        i++;
    size_t int_at = i;
    while (i < n && is_digit(s[i]))
        i++;
    size_t int_digits = i - int_at;
    if (integer)
        return int_digits < 16 ||
               (int_digits == 16 && memcmp(s + int_at, "9007199254740992", 16) <= 0);
    /* The significant digits, copied without the point (at most 40 of them are compared), and
     * E: the decimal exponent of the first one. */
    char sig[41];
    size_t n_sig = 0;
    long long e10 = (long long)int_digits - 1;
    for (size_t k = int_at; k < i && n_sig < 40; k++)
        sig[n_sig++] = s[k];
    if (i < n && s[i] == '.') {
        i++;
        for (; i < n && is_digit(s[i]); i++) {
            if (n_sig == 0 && s[i] == '0') {
                e10--; /* 0.001: the first significant digit is further right */
                continue;
            }
            if (n_sig < 40)
                sig[n_sig++] = s[i];
        }
    }
    if (cmp_digits(sig, n_sig, "") == 0)
        return true; /* zero, however written */
    long long exp = 0;
    bool neg = false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        neg = i < n && s[i] == '-';
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        for (; i < n; i++)
            exp = exp > 100000 ? exp : exp * 10 + (s[i] - '0'); /* saturates: far past 308 */
    }
    e10 += neg ? -exp : exp;
    /* DBL_MAX is 1.7976931348623157e308; halfway to the smallest denormal is about
     * 2.4703282292062327e-324 (below it, a parser reads 0). */
    if (e10 > 308 || (e10 == 308 && cmp_digits(sig, n_sig, "17976931348623157") > 0))
        return false;
    if (e10 < -324 || (e10 == -324 && cmp_digits(sig, n_sig, "24703282292062327") <= 0))
        return false;
    return true;
}

/* Append a plain scalar the way the core schema reads it. */
static fmd_status put_plain(fmd_buf *b, const char *s, size_t n)
{
    fmd_status st = FMD_OK;
    plain_kind kind = classify_plain(s, n);
    switch (kind) {
    case PLAIN_NULL: return fmd_buf_append(b, "null", 4);
    case PLAIN_TRUE: return fmd_buf_append(b, "true", 4);
    case PLAIN_FALSE: return fmd_buf_append(b, "false", 5);
    case PLAIN_INT:
    case PLAIN_FLOAT:
        if (fits_double(s, n, kind == PLAIN_INT))
            return put_decimal(b, s, n);
        break;
    case PLAIN_OCT:
        if (put_radix(b, s, n, 8, &st))
            return st;
        break;
    case PLAIN_HEX:
        if (put_radix(b, s, n, 16, &st))
            return st;
        break;
    case PLAIN_STRING:
    case PLAIN_SPECIAL: break;
    }
    return fmd_buf_put_json_string(b, s, n);
}

/* Whether a scalar is read with the core schema: plain ones, and any with an explicit core tag
 * (!!int "5" is 5); "!" and !!str force a string, other tags are ignored. */
static bool resolves(struct fy_node *n)
{
    size_t tl = 0;
    const char *tag = fy_node_get_tag(n, &tl);
    if (tag != NULL && tl != 0) {
        if ((tl == 1 && tag[0] == '!') || (tl == sizeof tag_str - 1 && !memcmp(tag, tag_str, tl)))
            return false;
        size_t pl = sizeof tag_prefix - 1;
        if (tl > pl && memcmp(tag, tag_prefix, pl) == 0) {
            static const char *const core[] = {"null", "bool", "int", "float", NULL};
            if (is_one_of(tag + pl, tl - pl, core))
                return true;
        }
    }
    return fy_node_get_style(n) == FYNS_PLAIN;
}

/*** The JSON writer ***/

/* The keys of one JSON object, in the order they were added, when a merge key (<<) brings in
 * keys from other mappings. A key is in it at most once; slots[] is a hash table of indexes + 1
 * (0: free) into keys[], kept at most half full. */
typedef struct key_set {
    fmd_slice *keys;
    size_t n, cap;
    size_t *slots;
    size_t n_slots; /* a power of two, 2 * cap */
} key_set;

typedef struct walk {
    fmd_buf out;
    size_t budget;                          /* see FMD_FM_BUDGET_MIN */
    size_t work;                            /* nodes visited and key comparisons so far */
    struct fy_node *path[FMD_FM_MAX_DEPTH]; /* the collections being written, outermost first */
    unsigned depth;
    const char *msg;    /* the first YAML fault found while writing, a static string */
    struct fy_node *at; /* where it is */
    const char *title;  /* into the document, copied out at the end */
    size_t title_len;
    const char *yaml; /* the source, for single-quoted scalars (see scalar_text) */
    size_t yaml_len;
    struct fy_document *doc;
    struct anchor_ref *anchors; /* sorted by (name, position); see resolve_alias() */
    size_t n_anchors;
    int anchors_state; /* 0: not built yet, 1: built, -1: use libfyaml's lookup */
} walk;

static bool is_white(char c)
{
    return c == ' ' || c == '\t';
}

/* Decode the @p n source bytes between the quotes of a single-quoted scalar into @p arena:
 * '' is one quote, and line breaks fold as in YAML 1.2 section 7.3.2: trailing white space of
 * a line and leading white space of the next one go, a single line break becomes a space, and
 * each empty line in between becomes a LF instead.
 * Example: "it''s \n  here\n\n  now" -> "it's here\nnow". */
static fmd_status decode_single_quoted(fmd_arena *arena, const char *raw, size_t n, const char **s,
                                       size_t *len)
{
    char *out = fmd_arena_alloc(arena, n); /* decoding never grows the text */
    if (out == NULL)
        return FMD_E_NOMEM;
    size_t o = 0, empty_lines = 0;
    for (size_t at = 0, line = 0;; line++) {
        const char *nl = memchr(raw + at, '\n', n - at);
        size_t end = nl ? (size_t)(nl - raw) : n;
        size_t a = at, b = end;
        if (line > 0)
            while (a < b && is_white(raw[a]))
                a++;
        if (nl != NULL)
            while (b > a && is_white(raw[b - 1]))
                b--;
        if (line > 0) {
            if (a == b && nl != NULL) {
                empty_lines++; /* an empty line in the middle: a LF, unless more follow */
                at = end + 1;
                continue;
            }
            if (empty_lines == 0) {
                out[o++] = ' ';
            } else {
                memset(out + o, '\n', empty_lines);
                o += empty_lines;
            }
            empty_lines = 0;
        }
        for (size_t i = a; i < b; i++) {
            out[o++] = raw[i];
            if (raw[i] == '\'' && i + 1 < b && raw[i + 1] == '\'')
                i++;
        }
        if (nl == NULL)
            break;
        at = end + 1;
    }
    *s = out;
    *len = o;
    return FMD_OK;
}

/* The text of scalar @p n ("" for an empty one, or for NULL).
 * A single-quoted scalar with '' escapes is decoded here from its source: libfyaml 0.7.12 leaks
 * the text it formats for one with five or more '' in a row (and its token iterator miscounts
 * them). @return FMD_OK or FMD_E_NOMEM. */
static fmd_status scalar_text(walk *w, struct fy_node *n, const char **s, size_t *len)
{
    *s = "";
    *len = 0;
    if (n == NULL)
        return FMD_OK;
    if (fy_node_get_style(n) == FYNS_SINGLE_QUOTED) {
        struct fy_token *t = fy_node_get_scalar_token(n);
        const struct fy_mark *a = t ? fy_token_start_mark(t) : NULL;
        const struct fy_mark *b = t ? fy_token_end_mark(t) : NULL;
        if (a != NULL && b != NULL && a->input_pos <= b->input_pos && b->input_pos <= w->yaml_len) {
            const char *raw = w->yaml + a->input_pos;
            size_t rn = b->input_pos - a->input_pos;
            const char *q = memchr(raw, '\'', rn);
            if (q != NULL) /* a quote inside is always an escaped one: '' */
                return decode_single_quoted(w->out.arena, raw, rn, s, len);
        }
    }
    const char *p = fy_node_get_scalar(n, len);
    if (p == NULL)
        *len = 0;
    else
        *s = p;
    return FMD_OK;
}

static fmd_status put_node(walk *w, struct fy_node *n);

/* Record a fault in the YAML (the first one wins). */
static fmd_status fault(walk *w, const char *msg, struct fy_node *at)
{
    if (w->msg == NULL) {
        w->msg = msg;
        w->at = at;
    }
    return FMD_E_FRONTMATTER;
}

static fmd_status spend(walk *w, size_t units, struct fy_node *at)
{
    w->work += units;
    if (w->work > w->budget || w->out.len > w->budget - w->work)
        return fault(w,
                     "front matter is too large once its aliases and merge keys are "
                     "expanded (the limit is 1 MiB plus " STR(
                         FMD_FM_BUDGET_PER_BYTE) " bytes per byte of YAML)",
                     at);
    return FMD_OK;
}

/*** Aliases ***/

/* fy_node_resolve_alias() in libfyaml 0.7.12 compares the alias with every anchor of the
 * document, so N aliases to N anchors cost N^2 (30 s for 40 000). The walker resolves them
 * itself: the anchors sorted by (name, position) once, then a binary search per alias for the
 * last anchor of its name before it (YAML 1.2, section 3.2.2.2). Anchor and alias names are
 * pointers into the source, so a pointer is also a position. */
typedef struct anchor_ref {
    const char *name;
    size_t len;
    struct fy_node *node;
} anchor_ref;

/* Order by name, then by position. */
static int anchor_order(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    if (c != 0)
        return c;
    if (al != bl)
        return al < bl ? -1 : 1;
    return a < b ? -1 : a > b ? 1 : 0; /* same name: pointers into one buffer, so positions */
}

static int anchor_cmp(const void *pa, const void *pb)
{
    const anchor_ref *a = pa, *b = pb;
    return anchor_order(a->name, a->len, b->name, b->len);
}

static bool in_source(const walk *w, const char *s, size_t n)
{
    return s != NULL && s >= w->yaml && n <= w->yaml_len &&
           (size_t)(s - w->yaml) <= w->yaml_len - n;
}

static fmd_status build_anchors(walk *w)
{
    size_t count = 0;
    void *it = NULL;
    struct fy_anchor *a;
    w->anchors_state = -1; /* unless every name is in the source */
    while (fy_document_anchor_iterate(w->doc, &it) != NULL)
        count++;
    anchor_ref *v = fmd_arena_alloc(w->out.arena, count * sizeof *v);
    if (v == NULL)
        return FMD_E_NOMEM;
    it = NULL;
    for (size_t i = 0; i < count && (a = fy_document_anchor_iterate(w->doc, &it)) != NULL; i++) {
        v[i].name = fy_anchor_get_text(a, &v[i].len);
        v[i].node = fy_anchor_node(a);
        if (!in_source(w, v[i].name, v[i].len))
            return FMD_OK;
    }
    qsort(v, count, sizeof *v, anchor_cmp);
    w->anchors = v;
    w->n_anchors = count;
    w->anchors_state = 1;
    return FMD_OK;
}

/* The node alias @p n names, or NULL when no anchor of that name comes before it. */
static fmd_status resolve_alias(walk *w, struct fy_node *n, struct fy_node **target)
{
    *target = NULL;
    if (w->anchors_state == 0) {
        fmd_status st = build_anchors(w);
        if (st != FMD_OK)
            return st;
    }
    size_t len;
    const char *name = fy_node_get_scalar(n, &len);
    if (w->anchors_state < 0 || !in_source(w, name, len)) {
        *target = fy_node_resolve_alias(n);
        return FMD_OK;
    }
    /* The first anchor after (name, position of the alias); the one before it is the answer
     * when it has the same name. */
    size_t lo = 0, hi = w->n_anchors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const anchor_ref *r = &w->anchors[mid];
        if (anchor_order(r->name, r->len, name, len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo > 0 && w->anchors[lo - 1].len == len && memcmp(w->anchors[lo - 1].name, name, len) == 0)
        *target = w->anchors[lo - 1].node;
    return FMD_OK;
}

/* Follow an alias to its anchored node; other nodes come back as they are. */
static fmd_status deref(walk *w, struct fy_node **np)
{
    struct fy_node *n = *np;
    if (n == NULL || !fy_node_is_alias(n))
        return FMD_OK;
    struct fy_node *t;
    fmd_status st = resolve_alias(w, n, &t);
    if (st != FMD_OK)
        return st;
    if (t == NULL)
        return fault(w, "alias to an anchor that is not defined", n);
    for (unsigned i = 0; i < w->depth; i++) {
        if (w->path[i] == t)
            return fault(w, "alias refers to a node that contains it", n);
    }
    *np = t;
    return FMD_OK;
}

static fmd_status push(walk *w, struct fy_node *n)
{
    if (w->depth == FMD_FM_MAX_DEPTH)
        return fault(w, "front matter nests deeper than " STR(FMD_FM_MAX_DEPTH) " levels", n);
    w->path[w->depth++] = n;
    return FMD_OK;
}

static bool is_merge_key(struct fy_node *k)
{
    if (k == NULL || fy_node_get_type(k) != FYNT_SCALAR || fy_node_get_style(k) != FYNS_PLAIN)
        return false;
    size_t n;
    const char *s = fy_node_get_scalar(k, &n);
    return s != NULL && n == 2 && s[0] == '<' && s[1] == '<';
}

/*** Duplicate keys ***/

/* libfyaml 0.7.12 looks for duplicate keys with a linear search per key: O(n^2), a second for
 * 4000 keys. It is told not to (FYPCF_ALLOW_DUPLICATE_KEYS) and this does it in O(n) instead,
 * comparing keys by their text, as their JSON strings would ("1" and 1 are the same key).
 * Mappings up to this size compare every pair; larger ones use a hash table in the arena. */
#define SMALL_MAPPING 8

static uint64_t key_hash(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3u;
    return h;
}

/* The text of the scalar key of @p p, aliases followed; *s NULL for a merge key or a collection
 * (not checked). *k receives the key as written, for the error position. */
static fmd_status pair_key_text(walk *w, struct fy_node_pair *p, struct fy_node **k, const char **s,
                                size_t *n)
{
    fmd_status st;
    struct fy_node *key = fy_node_pair_key(p);
    *k = key;
    *s = NULL;
    *n = 0;
    if (is_merge_key(key))
        return FMD_OK;
    FMD_TRY(deref(w, &key));
    if (key == NULL || fy_node_get_type(key) == FYNT_SCALAR)
        FMD_TRY(scalar_text(w, key, s, n));
fail:
    return st;
}

/* Fail with "duplicate key" when two scalar keys of mapping @p m have the same text. */
static fmd_status check_unique_keys(walk *w, struct fy_node *m)
{
    fmd_status st = FMD_OK;
    int count = fy_node_mapping_item_count(m);
    if (count <= 1)
        return FMD_OK;
    FMD_TRY(spend(w, (size_t)count, m));
    void *it = NULL;
    struct fy_node_pair *p;
    struct fy_node *k;
    const char *s;
    size_t n;
    if (count <= SMALL_MAPPING) {
        fmd_slice seen[SMALL_MAPPING];
        size_t n_seen = 0;
        while ((p = fy_node_mapping_iterate(m, &it)) != NULL && n_seen < SMALL_MAPPING) {
            FMD_TRY(pair_key_text(w, p, &k, &s, &n));
            if (s == NULL)
                continue;
            for (size_t i = 0; i < n_seen; i++) {
                if (seen[i].len == n && memcmp(seen[i].ptr, s, n) == 0)
                    return fault(w, "duplicate key", k);
            }
            seen[n_seen].ptr = s;
            seen[n_seen++].len = n;
        }
        return FMD_OK;
    }
    size_t cap = 16;
    while (cap < 2 * (size_t)count)
        cap *= 2;
    fmd_slice *table = fmd_arena_alloc(w->out.arena, cap * sizeof *table);
    if (table == NULL)
        return FMD_E_NOMEM;
    memset(table, 0, cap * sizeof *table);
    while ((p = fy_node_mapping_iterate(m, &it)) != NULL) {
        FMD_TRY(pair_key_text(w, p, &k, &s, &n));
        if (s == NULL)
            continue;
        size_t i = (size_t)key_hash(s, n) & (cap - 1);
        for (; table[i].ptr != NULL; i = (i + 1) & (cap - 1)) {
            if (table[i].len == n && memcmp(table[i].ptr, s, n) == 0)
                return fault(w, "duplicate key", k);
            FMD_TRY(spend(w, 1, k)); /* crafted collisions end as "too large", not as O(n^2) */
        }
        table[i].ptr = s;
        table[i].len = n;
    }
fail:
    return st;
}

static fmd_status put_scalar(walk *w, struct fy_node *n)
{
    fmd_status st;
    const char *s;
    size_t len;
    FMD_TRY(scalar_text(w, n, &s, &len));
    if (resolves(n))
        return put_plain(&w->out, s, len);
    return fmd_buf_put_json_string(&w->out, s, len);
fail:
    return st;
}

/* A key as a JSON string: a scalar's text as written; a collection's compact JSON as text. */
static fmd_status put_key(walk *w, struct fy_node *k)
{
    fmd_status st;
    FMD_TRY(deref(w, &k));
    if (k == NULL || fy_node_get_type(k) == FYNT_SCALAR) {
        const char *s;
        size_t len;
        FMD_TRY(scalar_text(w, k, &s, &len));
        return fmd_buf_put_json_string(&w->out, s, len);
    }
    size_t mark = w->out.len;
    FMD_TRY(put_node(w, k));
    char *json = fmd_arena_dup(w->out.arena, w->out.ptr + mark, w->out.len - mark);
    if (json == NULL)
        return FMD_E_NOMEM;
    size_t json_len = w->out.len - mark;
    w->out.len = mark;
    return fmd_buf_put_json_string(&w->out, json, json_len);
fail:
    return st;
}

static fmd_status put_pair(walk *w, struct fy_node *k, struct fy_node *v, bool *first, bool root)
{
    fmd_status st;
    if (!*first)
        FMD_TRY(fmd_buf_putc(&w->out, ','));
    *first = false;
    FMD_TRY(deref(w, &k));
    FMD_TRY(put_key(w, k));
    FMD_TRY(fmd_buf_putc(&w->out, ':'));
    if (root && w->title == NULL && k != NULL && fy_node_get_type(k) == FYNT_SCALAR) {
        const char *ks, *ts;
        size_t kl, tl;
        struct fy_node *t = v;
        FMD_TRY(scalar_text(w, k, &ks, &kl));
        if (kl == 5 && memcmp(ks, "title", 5) == 0 && deref(w, &t) == FMD_OK && t != NULL &&
            fy_node_get_type(t) == FYNT_SCALAR) {
            FMD_TRY(scalar_text(w, t, &ts, &tl));
            /* A null title (empty, ~, null) is no title; numbers and words count as written. */
            if (!(resolves(t) && classify_plain(ts, tl) == PLAIN_NULL) && tl != 0) {
                w->title = ts;
                w->title_len = tl;
            }
        }
    }
    FMD_TRY(put_node(w, v));
fail:
    return st;
}

/* Find key @p s in @p ks: *index receives its index, or SIZE_MAX when it is not there, and
 * *slot the hash slot that holds it or would. */
static fmd_status key_find(walk *w, const key_set *ks, const char *s, size_t n, size_t *index,
                           size_t *slot)
{
    *index = SIZE_MAX;
    *slot = 0;
    if (ks->n_slots == 0)
        return FMD_OK;
    size_t i = (size_t)key_hash(s, n) & (ks->n_slots - 1);
    for (; ks->slots[i] != 0; i = (i + 1) & (ks->n_slots - 1)) {
        const fmd_slice *k = &ks->keys[ks->slots[i] - 1];
        if (k->len == n && memcmp(k->ptr, s, n) == 0) {
            *index = ks->slots[i] - 1;
            break;
        }
        fmd_status st = spend(w, 1, NULL); /* crafted collisions end as "too large" */
        if (st != FMD_OK)
            return st;
    }
    *slot = i;
    return FMD_OK;
}

/* Add key @p s, which is not in @p ks yet. */
static fmd_status key_add(walk *w, key_set *ks, const char *s, size_t n)
{
    fmd_status st;
    if (ks->n == ks->cap) {
        /* Double both arrays; the table is rebuilt from the keys. */
        size_t cap = ks->cap ? ks->cap * 2 : 16;
        fmd_slice *keys = fmd_arena_alloc(w->out.arena, cap * sizeof *keys);
        size_t *slots = fmd_arena_alloc(w->out.arena, 2 * cap * sizeof *slots);
        if (keys == NULL || slots == NULL)
            return FMD_E_NOMEM;
        if (ks->n != 0)
            memcpy(keys, ks->keys, ks->n * sizeof *keys);
        memset(slots, 0, 2 * cap * sizeof *slots);
        ks->keys = keys;
        ks->cap = cap;
        ks->slots = slots;
        ks->n_slots = 2 * cap;
        for (size_t i = 0; i < ks->n; i++) {
            size_t j = (size_t)key_hash(keys[i].ptr, keys[i].len) & (ks->n_slots - 1);
            while (slots[j] != 0)
                j = (j + 1) & (ks->n_slots - 1);
            slots[j] = i + 1;
        }
    }
    size_t index, slot;
    FMD_TRY(key_find(w, ks, s, n, &index, &slot));
    ks->keys[ks->n].ptr = s;
    ks->keys[ks->n].len = n;
    ks->slots[slot] = ++ks->n;
fail:
    return st;
}

static fmd_status put_merged(walk *w, struct fy_node *m, key_set *ks, bool *first, bool root);

/* The mappings a merge key's value names: one mapping or a list of them, aliases followed. */
static fmd_status put_merge_value(walk *w, struct fy_node *v, key_set *ks, bool *first, bool root)
{
    fmd_status st;
    FMD_TRY(deref(w, &v));
    if (v != NULL && fy_node_get_type(v) == FYNT_MAPPING)
        return put_merged(w, v, ks, first, root);
    if (v == NULL || fy_node_get_type(v) != FYNT_SEQUENCE)
        return fault(w, "a merge key (<<) needs a mapping or a list of mappings", v);
    FMD_TRY(push(w, v));
    void *it = NULL;
    struct fy_node *item;
    while ((item = fy_node_sequence_iterate(v, &it)) != NULL) {
        FMD_TRY(deref(w, &item));
        if (item == NULL || fy_node_get_type(item) != FYNT_MAPPING)
            return fault(w, "a merge key (<<) needs a mapping or a list of mappings", item);
        FMD_TRY(put_merged(w, item, ks, first, root));
    }
    w->depth--;
fail:
    return st;
}

/* Write the pairs of mapping @p m that no key in @p ks overrides, merging in the mappings its <<
 * keys name, YAML merge style: a mapping's own keys win over merged ones, and earlier merged
 * mappings over later ones. Keys compare by their text, as their JSON strings would.
 * ks[0, n0) are the keys that win over m's; m reserves its own in ks[n0, n1) first, so that a
 * mapping merged in before one of m's own keys cannot take it. */
static fmd_status put_merged(walk *w, struct fy_node *m, key_set *ks, bool *first, bool root)
{
    fmd_status st;
    FMD_TRY(check_unique_keys(w, m));
    FMD_TRY(push(w, m));
    size_t n0 = ks->n;
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(m, &it)) != NULL) {
        struct fy_node *k = fy_node_pair_key(p);
        if (is_merge_key(k))
            continue;
        FMD_TRY(deref(w, &k));
        if (k != NULL && fy_node_get_type(k) != FYNT_SCALAR)
            continue; /* collections as keys are not de-duplicated */
        FMD_TRY(spend(w, 1, k));
        const char *s;
        size_t n, index, slot;
        FMD_TRY(scalar_text(w, k, &s, &n));
        FMD_TRY(key_find(w, ks, s, n, &index, &slot));
        if (index == SIZE_MAX)
            FMD_TRY(key_add(w, ks, s, n));
    }
    size_t n1 = ks->n;
    it = NULL;
    while ((p = fy_node_mapping_iterate(m, &it)) != NULL) {
        struct fy_node *k = fy_node_pair_key(p);
        if (is_merge_key(k)) {
            FMD_TRY(put_merge_value(w, fy_node_pair_value(p), ks, first, root));
            continue;
        }
        FMD_TRY(deref(w, &k));
        if (k == NULL || fy_node_get_type(k) == FYNT_SCALAR) {
            const char *s;
            size_t n, index, slot;
            FMD_TRY(scalar_text(w, k, &s, &n));
            FMD_TRY(key_find(w, ks, s, n, &index, &slot));
            if (index < n0 || index >= n1)
                continue; /* overridden by a key that wins over this mapping */
        }
        FMD_TRY(put_pair(w, k, fy_node_pair_value(p), first, root));
    }
    w->depth--;
fail:
    return st;
}

static fmd_status put_mapping(walk *w, struct fy_node *m)
{
    fmd_status st;
    bool root = w->depth == 0, first = true, merge = false;
    void *it = NULL;
    struct fy_node_pair *p;
    while (!merge && (p = fy_node_mapping_iterate(m, &it)) != NULL)
        merge = is_merge_key(fy_node_pair_key(p));
    FMD_TRY(fmd_buf_putc(&w->out, '{'));
    if (merge) {
        key_set ks = {NULL, 0, 0, NULL, 0};
        FMD_TRY(put_merged(w, m, &ks, &first, root));
    } else {
        FMD_TRY(check_unique_keys(w, m));
        FMD_TRY(push(w, m));
        it = NULL;
        while ((p = fy_node_mapping_iterate(m, &it)) != NULL)
            FMD_TRY(put_pair(w, fy_node_pair_key(p), fy_node_pair_value(p), &first, root));
        w->depth--;
    }
    FMD_TRY(fmd_buf_putc(&w->out, '}'));
fail:
    return st;
}

static fmd_status put_sequence(walk *w, struct fy_node *s)
{
    fmd_status st;
    FMD_TRY(push(w, s));
    FMD_TRY(fmd_buf_putc(&w->out, '['));
    void *it = NULL;
    struct fy_node *item;
    bool first = true;
    while ((item = fy_node_sequence_iterate(s, &it)) != NULL) {
        if (!first)
            FMD_TRY(fmd_buf_putc(&w->out, ','));
        first = false;
        FMD_TRY(put_node(w, item));
    }
    FMD_TRY(fmd_buf_putc(&w->out, ']'));
    w->depth--;
fail:
    return st;
}

static fmd_status put_node(walk *w, struct fy_node *n)
{
    fmd_status st;
    FMD_TRY(spend(w, 1, n));
    FMD_TRY(deref(w, &n));
    if (n == NULL)
        return fmd_buf_append(&w->out, "null", 4);
    switch (fy_node_get_type(n)) {
    case FYNT_SEQUENCE: return put_sequence(w, n);
    case FYNT_MAPPING: return put_mapping(w, n);
    default: return put_scalar(w, n);
    }
fail:
    return st;
}

/*** Errors ***/

static void discard_diag(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
    (void)diag;
    (void)user;
    (void)buf;
    (void)len;
}

/* Where node @p n starts, 1-based within the YAML; 0/0 when unknown. Collections have no token
 * of their own in libfyaml's API, so they report their first scalar. */
static void node_position(struct fy_node *n, unsigned *line, unsigned *col)
{
    *line = 0;
    *col = 0;
    for (int hops = 0; n != NULL && hops < FMD_FM_MAX_DEPTH; hops++) {
        if (fy_node_get_type(n) == FYNT_SCALAR) {
            struct fy_token *t = fy_node_get_scalar_token(n);
            const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
            if (m != NULL && m->line >= 0 && m->column >= 0) {
                *line = (unsigned)m->line + 1;
                /* Alias and quoted scalar tokens start after their '*' or quote. */
                enum fy_node_style style = fy_node_get_style(n);
                bool after_mark = style == FYNS_ALIAS || style == FYNS_SINGLE_QUOTED ||
                                  style == FYNS_DOUBLE_QUOTED;
                *col = (unsigned)m->column + (after_mark && m->column > 0 ? 0 : 1);
            }
            return;
        }
        if (fy_node_get_type(n) == FYNT_SEQUENCE) {
            void *it = NULL;
            n = fy_node_sequence_iterate(n, &it);
        } else {
            void *it = NULL;
            struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);
            n = p ? fy_node_pair_key(p) : NULL;
        }
    }
}

/* Find the first line of @p yaml with content (not blank, not a comment): where the top-level
 * node starts. @return false when there is none (then 1/1). Positions are 1-based. */
static bool content_position(const char *yaml, size_t n, unsigned *line, unsigned *col)
{
    unsigned l = 1;
    size_t at = 0;
    while (at < n) {
        size_t i = at;
        while (i < n && (yaml[i] == ' ' || yaml[i] == '\t'))
            i++;
        if (i < n && yaml[i] != '\n' && yaml[i] != '#') {
            *line = l;
            *col = (unsigned)(i - at) + 1;
            return true;
        }
        const char *nl = memchr(yaml + i, '\n', n - i);
        if (nl == NULL)
            break;
        at = (size_t)(nl - yaml) + 1;
        l++;
    }
    *line = 1;
    *col = 1;
    return false;
}

static bool has_content(const char *yaml, size_t n)
{
    unsigned line, col;
    return content_position(yaml, n, &line, &col);
}

/* Count the marks in @p yaml that may start an anchor: a '&' at the start of a line or after
 * white space or a flow indicator, followed by a name. An upper bound of the anchors (a '&' in
 * a quoted string can look the same), found without parsing.
 * @return false, with the line and column of the first one too many, when there are more than
 * FMD_FM_MAX_ANCHORS. */
static bool anchors_within_limit(const char *yaml, size_t n, unsigned *line, unsigned *col)
{
    size_t count = 0;
    for (const char *p = memchr(yaml, '&', n); p != NULL;
         p = memchr(p + 1, '&', n - (size_t)(p + 1 - yaml))) {
        size_t i = (size_t)(p - yaml);
        char before = i > 0 ? yaml[i - 1] : '\n';
        char after = i + 1 < n ? yaml[i + 1] : ' ';
        if (!strchr(" \t\n[{,:", before) || strchr(" \t\n", after))
            continue;
        if (++count > FMD_FM_MAX_ANCHORS) {
            const char *bol = yaml;
            *line = 1;
            for (const char *q = yaml; q < p; q++) {
                if (*q == '\n') {
                    (*line)++;
                    bol = q + 1;
                }
            }
            *col = (unsigned)(p - bol) + 1;
            return false;
        }
    }
    return true;
}

/* Set fm's error: @p msg copied into @p arena, @p line (within the YAML, 1-based; 0 unknown)
 * moved to the page, where the YAML starts on line 2. */
/* libfyaml 0.7.12 crashes (a segfault in fy_parse_cleanup) on a ':' followed by a tab and a ':'
 * inside an explicit-key block: "? a:\t:", "x:\n  ? [a]:\t:". A crash would end the whole batch,
 * so such a block is refused before libfyaml sees it: a page with a '?' key indicator (a line
 * whose first non-blank is '?' followed by a blank or the line's end) and a ":\t" anywhere.
 * Explicit keys are rare in front matter; the refusal is a per-page error with the position of
 * the ":\t". Remove once the parser is fixed (tests/kernel/test_frontmatter.c pins it). */
static bool explicit_key_with_tab(const char *y, size_t n, unsigned *line, unsigned *col)
{
    bool question = false;
    size_t tab_at = n;
    for (size_t i = 0; i < n; i++) {
        if (y[i] == '?' &&
            (i + 1 == n || y[i + 1] == ' ' || y[i + 1] == '\t' || y[i + 1] == '\n')) {
            size_t j = i;
            while (j > 0 && (y[j - 1] == ' ' || y[j - 1] == '\t'))
                j--;
            if (j == 0 || y[j - 1] == '\n' || y[j - 1] == '-')
                question = true;
        }
        if (y[i] == ':' && i + 1 < n && y[i + 1] == '\t' && tab_at == n)
            tab_at = i;
    }
    if (!question || tab_at == n)
        return false;
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < tab_at; i++) {
        if (y[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
    return true;
}

/*** The pre-scan ***/

/* What one linear pass over the YAML found before libfyaml sees it. Offsets are into the YAML;
 * SIZE_MAX: none. */
typedef struct prescan {
    size_t too_many_at; /* where the item count passes FMD_FM_MAX_ITEMS */
    size_t too_deep_at; /* the "[" or "{" that opens level FMD_FM_MAX_FLOW_DEPTH + 1 */
    size_t unclosed_at; /* the innermost "[" or "{" still open at the end */
    bool counted;       /* too_many_at is known (count_items() ran) */
} prescan;

static bool is_blank_or_end(const char *y, size_t n, size_t i)
{
    return i >= n || y[i] == ' ' || y[i] == '\t' || y[i] == '\n';
}

/* Count items as FMD_FM_MAX_ITEMS describes, ignoring quotes and context. */
static size_t count_items(const char *y, size_t n, size_t *too_many_at)
{
    size_t items = 0;
    bool line_start = true;
    *too_many_at = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        char c = y[i];
        if (line_start && c != ' ' && c != '\t') {
            line_start = false;
            items += c != '\n' && c != '#';
        }
        switch (c) {
        case '\n': line_start = true; break;
        case '[':
        case ']':
        case '{':
        case '}':
        case ',': items++; break;
        case '-':
        case '?':
        case ':': items += is_blank_or_end(y, n, i + 1); break;
        default: break;
        }
        if (items > FMD_FM_MAX_ITEMS) {
            *too_many_at = i;
            break;
        }
    }
    return items;
}

/* Skip a quoted scalar that starts with the quote at y[i]; @return the offset after its closing
 * quote, or n when it is never closed ('' is a quote inside '...', \" one inside "..."). */
static size_t skip_quoted(const char *y, size_t n, size_t i)
{
    char q = y[i];
    for (i++; i < n; i++) {
        if (q == '"' && y[i] == '\\') {
            i++;
        } else if (y[i] == q) {
            if (q == '\'' && i + 1 < n && y[i + 1] == '\'') {
                i++;
                continue;
            }
            return i + 1;
        }
    }
    return n;
}

/* Track the nesting of flow collections outside quoted scalars, comments, block scalars and (in
 * block context) plain scalars, where "[" and "{" are text. A best effort at YAML's lexical
 * rules, enough to find where nesting passes FMD_FM_MAX_FLOW_DEPTH and which bracket is left
 * open; what it misjudges, libfyaml still checks, and the item count bounds libfyaml's work
 * whatever this decides. */
static void scan_flow(const char *y, size_t n, prescan *ps)
{
    size_t open[FMD_FM_MAX_FLOW_DEPTH];
    unsigned depth = 0;
    bool node_start = true;    /* the next non-blank may start a node (a quote, a bracket) */
    bool block_scalar = false; /* a "|" or ">" header was seen on this line */
    size_t line_at = 0;        /* where the current line starts */
    ps->too_deep_at = SIZE_MAX;
    ps->unclosed_at = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        char c = y[i];
        switch (c) {
        case '\n': {
            node_start = true;
            size_t next = i + 1;
            if (block_scalar) {
                /* Skip the scalar's lines: blank ones and those indented more than the header's. */
                size_t indent = 0;
                while (line_at + indent < n && y[line_at + indent] == ' ')
                    indent++;
                while (next < n) {
                    size_t k = next;
                    while (k < n && y[k] == ' ')
                        k++;
                    if (k < n && y[k] != '\n' && k - next <= indent)
                        break;
                    const char *nl = memchr(y + k, '\n', n - k);
                    next = nl ? (size_t)(nl - y) + 1 : n;
                }
                block_scalar = false;
                i = next - 1;
            }
            line_at = next;
            continue;
        }
        case ' ':
        case '\t': continue;
        case '#':
            if (i == 0 || y[i - 1] == ' ' || y[i - 1] == '\t' || y[i - 1] == '\n') {
                const char *nl = memchr(y + i, '\n', n - i);
                i = (nl ? (size_t)(nl - y) : n) - 1; /* the LF is handled as usual */
                continue;
            }
            break;
        case '\'':
        case '"':
            if (node_start) {
                i = skip_quoted(y, n, i) - 1;
                node_start = false;
                continue;
            }
            break;
        case '[':
        case '{':
            if (depth > 0 || node_start) {
                if (depth == FMD_FM_MAX_FLOW_DEPTH) {
                    ps->too_deep_at = i;
                    return;
                }
                open[depth++] = i;
                node_start = true;
                continue;
            }
            break;
        case ']':
        case '}':
            if (depth > 0) {
                depth--;
                node_start = false;
                continue;
            }
            break;
        case ',':
            if (depth > 0) {
                node_start = true;
                continue;
            }
            break;
        case ':':
        case '-':
        case '?':
            if (is_blank_or_end(y, n, i + 1) || (c == ':' && depth > 0)) {
                node_start = true;
                continue;
            }
            break;
        case '|':
        case '>':
            if (node_start && depth == 0) {
                block_scalar = true;
                node_start = false;
                continue;
            }
            break;
        case '&':
        case '!':
            if (node_start) { /* an anchor or a tag: the node follows */
                while (i + 1 < n && !is_blank_or_end(y, n, i + 1))
                    i++;
                continue;
            }
            break;
        default: break;
        }
        node_start = false; /* plain text: a scalar has started */
    }
    if (depth > 0)
        ps->unclosed_at = open[depth - 1];
}

/* Line and column (1-based, within the YAML) of offset @p at. */
static void offset_position(const char *y, size_t at, unsigned *line, unsigned *col)
{
    size_t bol = 0;
    *line = 1;
    for (const char *p = memchr(y, '\n', at); p != NULL;
         p = memchr(p + 1, '\n', at - (size_t)(p + 1 - y))) {
        (*line)++;
        bol = (size_t)(p - y) + 1;
    }
    *col = (unsigned)(at - bol) + 1;
}

static fmd_status set_error(fmd__frontmatter *fm, fmd_arena *arena, const char *msg, unsigned line,
                            unsigned col)
{
    size_t n = strlen(msg);
    char *copy = fmd_arena_dup(arena, msg, n);
    if (copy == NULL)
        return FMD_E_NOMEM;
    fm->st = FMD_E_FRONTMATTER;
    fm->err_message.ptr = copy;
    fm->err_message.len = n;
    fm->err_line = line ? line + 1 : 0;
    fm->err_column = line ? col : 0;
    return FMD_OK;
}

/*** The fast path ***/

/* Most front matter is a flat mapping of short scalars and lists, and libfyaml spends about
 * 85 000 instructions building a document for one. fast_block() reads that common subset in one
 * pass and writes the same JSON the libfyaml path writes; for anything else it gives up before
 * writing a byte that counts, and the block goes to libfyaml. The subset, line by line:
 *   - blank lines and comment lines (a '#' after optional spaces);
 *   - "key: value" at column 0: the key [A-Za-z0-9_][A-Za-z0-9_.-]*, the value a plain scalar
 *     (one line; comments after " #" dropped), a one-line single- or double-quoted scalar (no
 *     backslash escapes), a one-line flow list "[a, b]" of plain scalars, or nothing;
 *   - after "key:" with nothing, a block list: "- item" lines at one indentation, each item a
 *     plain or quoted scalar as above.
 * It gives up on tabs, CR, control characters, invalid UTF-8 and the characters YAML treats as
 * breaks or a BOM, on indicators that start anchors, aliases, tags, block scalars, explicit keys
 * and flow mappings, on ": " inside a plain scalar, on more than one duplicate key (one is
 * reported as the libfyaml path reports it) and on blocks whose pre-scan item count passes
 * FMD_FM_MAX_ITEMS (the libfyaml path refuses those). A block of any size within those limits takes
 * the fast path: 1 MiB of "key: value" lines costs it a few instructions a byte, where libfyaml
 * builds 64 000 nodes. */
/* Blocks up to this size are too small to pass FMD_FM_MAX_ITEMS: no item count needed. */
#define FMD_FM_FAST_UNCOUNTED_BYTES 32768
/* Keys of one mapping compared one by one; past this many, a hash table in the arena. */
#define FMD_FM_FAST_SMALL_KEYS 16
/* Hash probes allowed per key, on average, before the fast path gives up on a mapping (crafted
 * collisions): the libfyaml path, with its work budget, then reads the block. */
#define FMD_FM_FAST_PROBES_PER_KEY 8

/* The parts of one scalar the fast path read: text (into the YAML, or decoded into the arena)
 * and whether it is plain (read with the core schema) or quoted (always a string). */
typedef struct fast_scalar {
    const char *s;
    size_t n;
    bool plain;
} fast_scalar;

/* Whether every byte of @p y is one the fast path can take as text: printable ASCII, LF and
 * valid UTF-8 other than C1 controls, U+2028, U+2029, U+FEFF, U+FFFE and U+FFFF. */
static bool fast_bytes_ok(const char *y, size_t n)
{
    const unsigned char *p = (const unsigned char *)y;
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        if (c < 0x80) {
            if ((c < 0x20 && c != '\n') || c == 0x7F)
                return false;
            i++;
            continue;
        }
        size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
        if (len == 0 || c > 0xF4 || n - i < len)
            return false;
        for (size_t k = 1; k < len; k++)
            if ((p[i + k] & 0xC0) != 0x80)
                return false;
        unsigned c1 = p[i + 1];
        if ((c == 0xC2 && c1 < 0xA0) || (c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0) ||
            (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 >= 0x90))
            return false; /* C1 controls, overlong forms, surrogates, above U+10FFFF */
        if (c == 0xE2 && c1 == 0x80 && (p[i + 2] == 0xA8 || p[i + 2] == 0xA9))
            return false; /* U+2028, U+2029 */
        if (c == 0xEF && ((c1 == 0xBB && p[i + 2] == 0xBF) || (c1 == 0xBF && p[i + 2] >= 0xBE)))
            return false; /* U+FEFF, U+FFFE, U+FFFF */
        i += len;
    }
    return true;
}

static bool fast_key_char(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' ||
           (!first && (c == '.' || c == '-'));
}

/* Whether the line [i, e) holds nothing but spaces and maybe a comment. */
static bool fast_blank(const char *y, size_t i, size_t e)
{
    while (i < e && y[i] == ' ')
        i++;
    return i == e || y[i] == '#';
}

/* Whether what follows a scalar that ended at @p i on a line ending at @p e is nothing, spaces,
 * or spaces and a comment. */
static bool fast_rest_ok(const char *y, size_t i, size_t e)
{
    size_t k = i;
    while (k < e && y[k] == ' ')
        k++;
    return k == e || (y[k] == '#' && k > i);
}

/* Read the plain scalar at y[i] on a line ending at @p e; in a flow list (@p flow) it also ends
 * at ',' or ']'. *end receives where it stops (a ',', ']', comment or the line end).
 * @return false when it is not in the fast subset. */
static bool fast_plain(const char *y, size_t i, size_t e, bool flow, fast_scalar *sc, size_t *end)
{
    char c = y[i];
    if (strchr("?:,[]{}#&*!|>'\"%@`", c) != NULL)
        return false;
    if (c == '-' && (i + 1 == e || y[i + 1] == ' ' || (flow && strchr(",]", y[i + 1]))))
        return false;
    size_t k = i;
    for (; k < e; k++) {
        char d = y[k];
        if (d == ':') {
            if (flow || k + 1 == e || y[k + 1] == ' ')
                return false;
        } else if (d == '#') {
            if (y[k - 1] == ' ')
                break;
            if (flow)
                return false;
        } else if (flow && (d == ',' || d == ']')) {
            break;
        } else if (flow && strchr("[{}'\"", d) != NULL) {
            return false;
        }
    }
    *end = k;
    while (k > i && y[k - 1] == ' ')
        k--;
    sc->s = y + i;
    sc->n = k - i;
    sc->plain = true;
    return k > i;
}

/* Read the one-line quoted scalar that starts with the quote at y[i]. */
static fmd_status fast_quoted(const char *y, size_t i, size_t e, fmd_arena *arena, fast_scalar *sc,
                              size_t *end, bool *ok)
{
    char q = y[i];
    size_t k = i + 1;
    bool doubled = false;
    *ok = false;
    for (; k < e; k++) {
        if (q == '"' && y[k] == '\\')
            return FMD_OK;
        if (y[k] == q) {
            if (q == '\'' && k + 1 < e && y[k + 1] == '\'') {
                doubled = true;
                k++;
                continue;
            }
            break;
        }
    }
    if (k == e)
        return FMD_OK; /* not closed on this line */
    sc->s = y + i + 1;
    sc->n = k - i - 1;
    sc->plain = false;
    *end = k + 1;
    *ok = true;
    if (doubled)
        return decode_single_quoted(arena, y + i + 1, k - i - 1, &sc->s, &sc->n);
    return FMD_OK;
}

/* Read a scalar value (plain or quoted) at y[i] and check the rest of its line. */
static fmd_status fast_scalar_value(const char *y, size_t i, size_t e, fmd_arena *arena,
                                    fast_scalar *sc, bool *ok)
{
    size_t end = e;
    if (y[i] == '"' || y[i] == '\'') {
        fmd_status st = fast_quoted(y, i, e, arena, sc, &end, ok);
        if (st != FMD_OK || !*ok)
            return st;
        *ok = fast_rest_ok(y, end, e);
        return FMD_OK;
    }
    *ok = fast_plain(y, i, e, false, sc, &end);
    return FMD_OK;
}

static fmd_status fast_put_scalar(fmd_buf *out, const fast_scalar *sc)
{
    return sc->plain ? put_plain(out, sc->s, sc->n) : fmd_buf_put_json_string(out, sc->s, sc->n);
}

/* Write the flow list at y[i] ('[') on a line ending at @p e: plain or quoted scalars. */
static fmd_status fast_flow(const char *y, size_t i, size_t e, fmd_arena *arena, fmd_buf *out,
                            bool *ok)
{
    fmd_status st = FMD_OK;
    *ok = false;
    FMD_TRY(fmd_buf_putc(out, '['));
    size_t k = i + 1;
    while (k < e && y[k] == ' ')
        k++;
    if (k < e && y[k] == ']') {
        k++;
    } else {
        for (bool first = true;; first = false) {
            while (k < e && y[k] == ' ')
                k++;
            fast_scalar sc;
            size_t end = e;
            bool item_ok = false;
            if (k < e && (y[k] == '\'' || y[k] == '"')) {
                FMD_TRY(fast_quoted(y, k, e, arena, &sc, &end, &item_ok));
                while (item_ok && end < e && y[end] == ' ')
                    end++;
            } else if (k < e) {
                item_ok = fast_plain(y, k, e, true, &sc, &end);
            }
            if (!item_ok || end == e)
                return FMD_OK;
            if (!first)
                FMD_TRY(fmd_buf_putc(out, ','));
            FMD_TRY(fast_put_scalar(out, &sc));
            k = end + 1;
            if (y[end] == ']')
                break;
            if (y[end] != ',')
                return FMD_OK;
        }
    }
    FMD_TRY(fmd_buf_putc(out, ']'));
    *ok = fast_rest_ok(y, k, e);
fail:
    return st;
}

static size_t fast_eol(const char *y, size_t n, size_t at)
{
    const char *nl = memchr(y + at, '\n', n - at);
    return nl ? (size_t)(nl - y) : n;
}

/* Write the block list whose first "- " line starts at @p at, with its dashes @p indent spaces
 * in, the value of a key @p parent spaces in. *next receives the start of the first line after
 * it. */
static fmd_status fast_list(const char *y, size_t n, size_t at, size_t indent, size_t parent,
                            fmd_arena *arena, fmd_buf *out, size_t *next, bool *ok)
{
    fmd_status st = FMD_OK;
    *ok = false;
    FMD_TRY(fmd_buf_putc(out, '['));
    for (bool first = true; at < n;) {
        size_t e = fast_eol(y, n, at);
        if (fast_blank(y, at, e)) {
            at = e + 1;
            continue;
        }
        size_t i = at;
        while (i < e && y[i] == ' ')
            i++;
        if (i - at != indent || y[i] != '-') {
            if (i - at > parent)
                return FMD_OK; /* a continuation, a nested list or a changed indentation */
            break;             /* the next key */
        }
        if (i + 1 == e || y[i + 1] != ' ')
            return FMD_OK;
        i += 2;
        while (i < e && y[i] == ' ')
            i++;
        if (i == e || y[i] == '#')
            return FMD_OK; /* an empty item */
        fast_scalar sc;
        bool item_ok;
        FMD_TRY(fast_scalar_value(y, i, e, arena, &sc, &item_ok));
        if (!item_ok)
            return FMD_OK;
        if (!first)
            FMD_TRY(fmd_buf_putc(out, ','));
        first = false;
        FMD_TRY(fast_put_scalar(out, &sc));
        at = e < n ? e + 1 : n;
    }
    FMD_TRY(fmd_buf_putc(out, ']'));
    *next = at;
    *ok = true;
fail:
    return st;
}

/* Mappings nested deeper than this go to libfyaml. */
#define FMD_FM_FAST_MAX_DEPTH 8

/* What one fast conversion writes into and keeps while it runs. */
typedef struct fast_ctx {
    const char *y;
    size_t n;
    fmd_arena *arena;
    fmd_buf out;
    fast_scalar title; /* the root's "title", s NULL when none */
    size_t dups;       /* keys that repeat an earlier key of their mapping */
    size_t dup_at;     /* where the first of them starts */
} fast_ctx;

/* The keys of one mapping the fast path is writing, to find a duplicate: the first
 * FMD_FM_FAST_SMALL_KEYS in @p small, compared one by one; all of them, once there are more, in
 * @p slots, an open-addressing table in the arena (a slot with ptr NULL is empty) kept at most
 * half full. Each slice points into the YAML. */
typedef struct fast_keys {
    fmd_slice small[FMD_FM_FAST_SMALL_KEYS];
    size_t n;
    fmd_slice *slots;
    size_t n_slots;
    size_t probes; /* probes spent, against FMD_FM_FAST_PROBES_PER_KEY per key */
} fast_keys;

/* Put @p key in the table @p slots of @p n_slots (a power of two); *probes counts the occupied
 * slots passed. @return false when an equal key is there already. */
static bool fast_slot_put(fmd_slice *slots, size_t n_slots, fmd_slice key, size_t *probes)
{
    size_t i = (size_t)key_hash(key.ptr, key.len) & (n_slots - 1);
    for (; slots[i].ptr != NULL; i = (i + 1) & (n_slots - 1)) {
        if (slots[i].len == key.len && memcmp(slots[i].ptr, key.ptr, key.len) == 0)
            return false;
        ++*probes;
    }
    slots[i] = key;
    return true;
}

/* Add @p key (len bytes at s) to @p ks. *dup true: it is there already (not added). *ok false:
 * too many hash collisions, the block is not for the fast path. */
static fmd_status fast_key_add(fmd_arena *arena, fast_keys *ks, const char *s, size_t len, bool *ok,
                               bool *dup)
{
    fmd_slice key = {s, len};
    *ok = true;
    *dup = false;
    if (ks->n < FMD_FM_FAST_SMALL_KEYS) {
        for (size_t j = 0; j < ks->n; j++)
            if (ks->small[j].len == len && memcmp(ks->small[j].ptr, s, len) == 0) {
                *dup = true;
                return FMD_OK;
            }
        ks->small[ks->n++] = key;
        return FMD_OK;
    }
    if (2 * (ks->n + 1) > ks->n_slots) {
        /* Double the table (the old one stays in the arena until the page ends) and put every
         * key back in. */
        size_t n_slots = ks->n_slots ? 2 * ks->n_slots : 4 * FMD_FM_FAST_SMALL_KEYS;
        fmd_slice *slots = fmd_arena_alloc(arena, n_slots * sizeof *slots);
        if (slots == NULL)
            return FMD_E_NOMEM;
        memset(slots, 0, n_slots * sizeof *slots);
        if (ks->slots == NULL) {
            for (size_t j = 0; j < ks->n; j++)
                (void)fast_slot_put(slots, n_slots, ks->small[j], &ks->probes);
        } else {
            for (size_t j = 0; j < ks->n_slots; j++)
                if (ks->slots[j].ptr != NULL)
                    (void)fast_slot_put(slots, n_slots, ks->slots[j], &ks->probes);
        }
        ks->slots = slots;
        ks->n_slots = n_slots;
    }
    if (!fast_slot_put(ks->slots, ks->n_slots, key, &ks->probes)) {
        *dup = true;
        return FMD_OK;
    }
    ks->n++;
    *ok = ks->probes <= FMD_FM_FAST_PROBES_PER_KEY * ks->n;
    return FMD_OK;
}

/* The start of the next line that is not blank or a comment at or after @p at, or n; *indent
 * receives its indentation. */
static size_t fast_next_content(const fast_ctx *c, size_t at, size_t *indent)
{
    while (at < c->n) {
        size_t e = fast_eol(c->y, c->n, at);
        if (!fast_blank(c->y, at, e))
            break;
        at = e + 1;
    }
    size_t i = at;
    while (i < c->n && c->y[i] == ' ')
        i++;
    *indent = i - at;
    return at < c->n ? at : c->n;
}

/* Write the block mapping whose keys start @p indent spaces in, from the line at @p at, until a
 * line indented less. *next receives where that line starts (or n). */
static fmd_status fast_map(fast_ctx *c, size_t at, size_t indent, unsigned depth, size_t *next,
                           bool *ok)
{
    fmd_status st = FMD_OK;
    const char *y = c->y;
    size_t n = c->n;
    fast_keys keys;
    size_t n_written = 0;
    keys.n = 0;
    keys.slots = NULL;
    keys.n_slots = 0;
    keys.probes = 0;
    *ok = false;
    FMD_TRY(fmd_buf_putc(&c->out, '{'));
    for (;;) {
        size_t ind;
        at = fast_next_content(c, at, &ind);
        if (at == n || ind < indent)
            break;
        if (ind > indent)
            return FMD_OK; /* a continuation line or a changed indentation */
        size_t e = fast_eol(y, n, at);
        size_t k0 = at + ind, k = k0;
        if (!fast_key_char(y[k], true))
            return FMD_OK;
        while (k < e && fast_key_char(y[k], false))
            k++;
        if (k == e || y[k] != ':' || (k + 1 < e && y[k + 1] != ' '))
            return FMD_OK;
        bool key_ok, dup;
        FMD_TRY(fast_key_add(c->arena, &keys, y + k0, k - k0, &key_ok, &dup));
        if (!key_ok)
            return FMD_OK; /* crafted hash collisions: the libfyaml path, with its budget */
        if (dup && c->dups++ == 0)
            c->dup_at = k0; /* reported once the whole block is read: see fast_block() */
        if (n_written++ > 0)
            FMD_TRY(fmd_buf_putc(&c->out, ','));
        FMD_TRY(fmd_buf_put_json_string(&c->out, y + k0, k - k0));
        FMD_TRY(fmd_buf_putc(&c->out, ':'));
        bool is_title = depth == 0 && k - k0 == 5 && memcmp(y + k0, "title", 5) == 0;
        size_t v = k + 1;
        while (v < e && y[v] == ' ')
            v++;
        at = e < n ? e + 1 : n;
        bool item_ok = false;
        if (v == e || y[v] == '#') {
            /* Nothing on the line: a block list, a nested mapping or null. */
            size_t cind;
            size_t cat = fast_next_content(c, at, &cind);
            bool dash = cat < n && y[cat + cind] == '-';
            if (cat < n && dash && cind >= indent) {
                FMD_TRY(fast_list(y, n, cat, cind, indent, c->arena, &c->out, &at, &item_ok));
            } else if (cat < n && cind > indent) {
                if (depth + 1 == FMD_FM_FAST_MAX_DEPTH)
                    return FMD_OK;
                FMD_TRY(fast_map(c, cat, cind, depth + 1, &at, &item_ok));
            } else {
                FMD_TRY(fmd_buf_append(&c->out, "null", 4));
                item_ok = true;
            }
        } else if (y[v] == '[') {
            FMD_TRY(fast_flow(y, v, e, c->arena, &c->out, &item_ok));
        } else {
            fast_scalar sc;
            FMD_TRY(fast_scalar_value(y, v, e, c->arena, &sc, &item_ok));
            if (item_ok)
                FMD_TRY(fast_put_scalar(&c->out, &sc));
            /* A null title (~, null) is no title; numbers and words count as written. */
            if (item_ok && is_title && sc.n != 0 &&
                !(sc.plain && classify_plain(sc.s, sc.n) == PLAIN_NULL))
                c->title = sc;
        }
        if (!item_ok)
            return FMD_OK;
    }
    FMD_TRY(fmd_buf_putc(&c->out, '}'));
    *next = at;
    *ok = true;
fail:
    return st;
}

/* Convert @p y the fast way into fm->json and fm->title. *done false: not in the subset, fm and
 * the arena as they were. */
static fmd_status fast_block(const char *y, size_t n, prescan *ps, fmd_arena *arena,
                             fmd__frontmatter *fm, bool *done)
{
    fmd_status st = FMD_OK;
    fmd_arena_mark mark = fmd_arena_get_mark(arena);
    fast_ctx c = {y, n, arena, {0}, {NULL, 0, false}, 0, 0};
    bool ok = false;
    size_t next = 0;
    *done = false;
    /* The libfyaml path refuses what its pre-scan takes as too deep or too many items, even
     * where that is text in a plain scalar: the same block must fail here too. */
    if (ps->too_deep_at != SIZE_MAX)
        return FMD_OK;
    if (n > FMD_FM_FAST_UNCOUNTED_BYTES && !ps->counted) {
        (void)count_items(y, n, &ps->too_many_at);
        ps->counted = true;
    }
    if (ps->too_many_at != SIZE_MAX)
        return FMD_OK;
    if (!fast_bytes_ok(y, n))
        return FMD_OK;
    fmd_buf_reset(&c.out, arena);
    FMD_TRY(fmd_buf_grow(&c.out, n + 16));
    FMD_TRY(fast_map(&c, 0, 0, 0, &next, &ok));
    if (!ok || next != n || c.dups > 1) {
        fmd_arena_rewind(arena, mark);
        return FMD_OK;
    }
    if (c.dups == 1) {
        /* The block is valid YAML but for one repeated key: the libfyaml path would parse it
         * all, then fail at that key, the later of the two. Say the same, without building the
         * document. (With more than one, which it meets first depends on its walk: it decides.) */
        unsigned line, col;
        fmd_arena_rewind(arena, mark);
        offset_position(y, c.dup_at, &line, &col);
        FMD_TRY(set_error(fm, arena, "duplicate key", line, col));
        *done = true;
        return FMD_OK;
    }
    fm->json = fmd_buf_slice(&c.out);
    if (c.title.s != NULL) {
        char *t = fmd_arena_dup(arena, c.title.s, c.title.n);
        if (t == NULL) {
            st = FMD_E_NOMEM;
            goto fail;
        }
        fm->title.ptr = t;
        fm->title.len = c.title.n;
    }
    *done = true;
    return FMD_OK;

fail:
    fmd_arena_rewind(arena, mark);
    fm->json.ptr = NULL;
    fm->json.len = 0;
    return st;
}

/*** Parsing ***/

/* Parse @p yaml (page line 2 onwards) and fill fm->json and fm->title, or fm's error. @p ps
 * holds scan_flow()'s findings, and count_items()'s where ps->counted. */
static fmd_status parse_block(const char *yaml, size_t n, prescan *ps, fmd_arena *arena,
                              fmd__frontmatter *fm)
{
    fmd_status st = FMD_OK;
    struct fy_diag *diag = NULL;
    struct fy_document *doc = NULL;
    fmd_arena_mark mark = fmd_arena_get_mark(arena);
    walk *w = NULL;

    /* Filled by hand: fy_diag_cfg_default() points at stderr and asks isatty() (a syscall) on
     * every call. fp NULL: never stderr; errors are collected, anything else is discarded. */
    struct fy_diag_cfg dcfg;
    memset(&dcfg, 0, sizeof dcfg);
    dcfg.fp = NULL;
    dcfg.output_fn = discard_diag;
    dcfg.level = FYET_ERROR;
    dcfg.module_mask = ~0u;
    diag = fy_diag_create(&dcfg);
    if (diag == NULL)
        return FMD_E_NOMEM;
    fy_diag_set_collect_errors(diag, true);

    /* Sloppy flow indentation: Hugo (go-yaml) accepts a flow list closed by a "]" in column 1,
     * and the docs corpus has one. Duplicate keys: see check_unique_keys(). */
    struct fy_parse_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.flags = FYPCF_QUIET | FYPCF_JSON_NONE | FYPCF_DEFAULT_VERSION_1_2 |
                FYPCF_SLOPPY_FLOW_INDENTATION | FYPCF_ALLOW_DUPLICATE_KEYS;
    cfg.diag = diag;
    unsigned line, col;
    if (ps->too_deep_at != SIZE_MAX) {
        offset_position(yaml, ps->too_deep_at, &line, &col);
        st = set_error(fm, arena,
                       "front matter nests flow collections ('[', '{') deeper than " STR(
                           FMD_FM_MAX_FLOW_DEPTH) " levels",
                       line, col);
        goto done;
    }
    if (!ps->counted) {
        (void)count_items(yaml, n, &ps->too_many_at);
        ps->counted = true;
    }
    if (ps->too_many_at != SIZE_MAX) {
        offset_position(yaml, ps->too_many_at, &line, &col);
        st = set_error(fm, arena,
                       "front matter has more than " STR(
                           FMD_FM_MAX_ITEMS) " items (keys, values "
                                             "and list entries), too many to parse",
                       line, col);
        goto done;
    }
    if (!anchors_within_limit(yaml, n, &line, &col)) {
        st = set_error(fm, arena,
                       "front matter has more than " STR(FMD_FM_MAX_ANCHORS) " anchors (&name)",
                       line, col);
        goto done;
    }
    if (explicit_key_with_tab(yaml, n, &line, &col)) {
        st = set_error(fm, arena,
                       "front matter combines an explicit key ('?') with a tab after ':', which "
                       "the YAML parser (libfyaml 0.7.12) cannot read safely",
                       line, col);
        goto done;
    }
    doc = n != 0 ? fy_document_build_from_string(&cfg, yaml, n) : NULL;

    struct fy_node *root = doc ? fy_document_root(doc) : NULL;
    if (root == NULL) {
        void *it = NULL;
        struct fy_diag_error *e;
        while ((e = fy_diag_errors_iterate(diag, &it)) != NULL && e->type != FYET_ERROR)
            ;
        if (e != NULL) {
            /* libfyaml's positions are 1-based already. It finds an unclosed bracket only
             * where the text runs out or stops fitting ("missing comma" on a later line):
             * point at the bracket instead, which is the cause. */
            unsigned el = e->line > 0 ? (unsigned)e->line : 0;
            unsigned ec = e->column > 0 ? (unsigned)e->column : 0;
            const char *msg = e->msg ? e->msg : "front matter is not valid YAML";
            if (ps->unclosed_at != SIZE_MAX) {
                offset_position(yaml, ps->unclosed_at, &line, &col);
                if (el > line || (el == line && ec > col)) {
                    el = line;
                    ec = col;
                    msg = yaml[ps->unclosed_at] == '['
                              ? "flow sequence '[' is not closed (no matching ']')"
                              : "flow mapping '{' is not closed (no matching '}')";
                }
            }
            st = set_error(fm, arena, msg, el, ec);
            goto done;
        }
        if (has_content(yaml, n)) {
            /* libfyaml can give up on broken input without a diagnostic: not empty, broken. */
            st = set_error(fm, arena, "front matter is not valid YAML", 0, 0);
            goto done;
        }
        /* No document and no error: nothing but blanks and comments. */
        char *json = fmd_arena_dup(arena, "{}", 2);
        if (json == NULL) {
            st = FMD_E_NOMEM;
            goto done;
        }
        fm->json.ptr = json;
        fm->json.len = 2;
        goto done;
    }
    if (fy_node_get_type(root) != FYNT_MAPPING) {
        content_position(yaml, n, &line, &col);
        st = set_error(fm, arena, "front matter must be a mapping", line, col);
        goto done;
    }

    w = fmd_arena_alloc(arena, sizeof *w); /* path[] is 1 KiB: keep it off the stack */
    if (w == NULL) {
        st = FMD_E_NOMEM;
        goto done;
    }
    memset(w, 0, sizeof *w);
    fmd_buf_reset(&w->out, arena);
    w->yaml = yaml;
    w->yaml_len = n;
    w->doc = doc;
    w->budget = n > (SIZE_MAX - FMD_FM_BUDGET_MIN) / FMD_FM_BUDGET_PER_BYTE
                    ? SIZE_MAX
                    : FMD_FM_BUDGET_MIN + n * FMD_FM_BUDGET_PER_BYTE;
    /* JSON is about as long as its YAML: one allocation usually holds it all. */
    FMD_TRY(fmd_buf_grow(&w->out, n + 16));
    st = put_node(w, root);
    if (st == FMD_E_FRONTMATTER) {
        const char *msg = w->msg ? w->msg : "front matter could not be converted to JSON";
        node_position(w->at, &line, &col);
        fmd_arena_rewind(arena, mark); /* drop the partial JSON */
        st = set_error(fm, arena, msg, line, col);
        goto done;
    }
    if (st != FMD_OK)
        goto fail;
    fm->json = fmd_buf_slice(&w->out);
    if (w->title != NULL) {
        char *t = fmd_arena_dup(arena, w->title, w->title_len);
        if (t == NULL) {
            st = FMD_E_NOMEM;
            goto done;
        }
        fm->title.ptr = t;
        fm->title.len = w->title_len;
    }
    goto done;

fail:
    fmd_arena_rewind(arena, mark);
done:
    fy_document_destroy(doc);
    fy_diag_destroy(diag);
    return st;
}

fmd_status fmd__kernel_frontmatter(const char *src, size_t len, size_t max_bytes, fmd_arena *arena,
                                   fmd__frontmatter *fm)
{
    memset(fm, 0, sizeof *fm);
    fm->body_line = 1;
    fm->st = FMD_OK;

    size_t open_end;
    /* The opening line must be the first, and end with a LF: a page that is only "---" is a
     * thematic break. */
    if (len < 4 || src[0] != '-' || !is_marker_line(src, 0, len, "---", &open_end) ||
        src[open_end - 1] != '\n')
        return FMD_OK;
    fm->present = true;

    size_t close_at, after;
    unsigned close_line;
    if (!find_close(src, len, open_end, &close_at, &after, &close_line)) {
        /* Not front matter after all, but a page error: body_offset 0 keeps the whole page. */
        fmd_status st = set_error(fm, arena, "front matter opened on line 1 is not closed", 0, 0);
        fm->err_line = 1;
        fm->err_column = 1;
        return st;
    }
    fm->body_offset = after;
    fm->body_line = close_line + 1;
    if (max_bytes == 0)
        max_bytes = FMD_MAX_FRONTMATTER_BYTES_DEFAULT;
    if (close_at - open_end > max_bytes) {
        /* Refused unparsed, at the first byte past the limit; the body still renders. */
        char msg[128];
        int k = snprintf(msg, sizeof msg, "front matter is %zu bytes, over the limit of %zu bytes",
                         close_at - open_end, max_bytes);
        if (k < 0)
            msg[0] = '\0';
        unsigned line, col;
        offset_position(src + open_end, max_bytes, &line, &col);
        return set_error(fm, arena, msg, line, col);
    }
    return fmd__kernel_frontmatter_yaml(src + open_end, close_at - open_end, FMD__FM_PATH_AUTO,
                                        arena, fm, NULL);
}

fmd_status fmd__kernel_frontmatter_yaml(const char *yaml, size_t n, fmd__fm_path path,
                                        fmd_arena *arena, fmd__frontmatter *fm, bool *fast_used)
{
    bool done = false;
    /* One flow pre-scan serves both paths; the item count is made once, by whichever needs it. */
    prescan ps;
    scan_flow(yaml, n, &ps);
    ps.too_many_at = SIZE_MAX;
    ps.counted = false;
    if (path != FMD__FM_PATH_LIBFYAML) {
        fmd_status st = fast_block(yaml, n, &ps, arena, fm, &done);
        if (st != FMD_OK)
            return st;
    }
    if (fast_used != NULL)
        *fast_used = done;
    if (done || path == FMD__FM_PATH_FAST)
        return FMD_OK;
    return parse_block(yaml, n, &ps, arena, fm);
}

size_t fmd_kernel_frontmatter_peak_bytes(size_t max_bytes)
{
    if (max_bytes == 0)
        max_bytes = FMD_MAX_FRONTMATTER_BYTES_DEFAULT;
    /* The JSON written is bounded by the work budget (FMD_FM_BUDGET_MIN + per byte). */
    size_t per_byte = FMD_FM_BYTES_PER_YAML_BYTE + FMD_FM_BUDGET_PER_BYTE;
    size_t fixed = (size_t)FMD_FM_MAX_ITEMS * FMD_FM_BYTES_PER_ITEM + FMD_FM_BUDGET_MIN;
    if (max_bytes > (SIZE_MAX - fixed) / per_byte)
        return SIZE_MAX;
    return fixed + max_bytes * per_byte;
}
