/* SPDX-License-Identifier: MIT */
/* GFM footnotes (FMD_EXT_FOOTNOTES), the part before md4c: md4c 0.4.8 knows no footnotes and would
 * read "[^x]: text" as a link reference definition, so a pre-pass over the body takes the
 * definitions out (skipping fenced and indented code and HTML blocks) and keeps them in a table
 * for the renderer, which turns references into links and renders each used definition after the
 * page. Everything lives in the scratch arena passed in; no state outside it. */
#include <stdint.h>

#include "internal.h"

/*** Lines ***/

/* One line of the body: [beg, end) without its '\n'; next is where the following line starts. */
typedef struct line {
    size_t beg, end, next;
    size_t indent; /* columns of leading white space (tabs to the next multiple of 4) */
    size_t first;  /* offset of the first byte that is not a space or tab */
    bool blank;
} line;

static void get_line(const char *s, size_t len, size_t pos, line *l)
{
    const char *nl = memchr(s + pos, '\n', len - pos);
    l->beg = pos;
    l->end = nl ? (size_t)(nl - s) : len;
    l->next = nl ? l->end + 1 : len;
    size_t col = 0, i = pos;
    for (; i < l->end && (s[i] == ' ' || s[i] == '\t'); i++)
        col = s[i] == '\t' ? (col + 4) & ~(size_t)3 : col + 1;
    l->indent = col;
    l->first = i;
    l->blank = i == l->end;
}

/* A fence opening at s[p..e): 3+ backticks (no backtick in the info string) or 3+ tildes.
 * @return the fence length (0 when it is not one), with its character in *c. */
static size_t fence_open(const char *s, size_t p, size_t e, char *c)
{
    if (p >= e || (s[p] != '`' && s[p] != '~'))
        return 0;
    size_t n = 0;
    while (p + n < e && s[p + n] == s[p])
        n++;
    if (n < 3)
        return 0;
    if (s[p] == '`' && memchr(s + p + n, '`', e - p - n) != NULL)
        return 0;
    *c = s[p];
    return n;
}

/* Does s[p..e) (after the indentation) close a fence of @p n characters @p c? */
static bool fence_close_at(const char *s, size_t p, size_t e, char c, size_t n)
{
    size_t k = 0;
    while (p + k < e && s[p + k] == c)
        k++;
    if (k < n)
        return false;
    for (p += k; p < e; p++)
        if (s[p] != ' ' && s[p] != '\t')
            return false;
    return true;
}

static bool is_label_byte(unsigned char c)
{
    return c != ']' && c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '\0';
}

size_t fmd__kernel_footnote_ref(const char *s, size_t n, size_t *label_len)
{
    if (n < 4 || s[0] != '[' || s[1] != '^')
        return 0;
    size_t max = n - 2 < FMD_FOOTNOTE_LABEL_MAX + 1 ? n - 2 : FMD_FOOTNOTE_LABEL_MAX + 1;
    size_t k = 0;
    /* A '[' would open a bracket of its own, so a reference never spans one. */
    while (k < max && is_label_byte((unsigned char)s[2 + k]) && s[2 + k] != '[')
        k++;
    if (k == 0 || k > FMD_FOOTNOTE_LABEL_MAX || 2 + k >= n || s[2 + k] != ']')
        return 0;
    *label_len = k;
    return k + 3;
}

/* A definition's first line, "[^label]:" after at most 3 spaces (cmark-gfm's scanner:
 * '[^' [^\] \r\n\x00\t]+ ']:' [ \t]*). Sets the label and where the content starts. */
static bool def_start(const char *s, const line *l, fmd_slice *label, size_t *content)
{
    if (l->indent >= 4)
        return false;
    size_t p = l->first, e = l->end;
    if (e - p < 5 || s[p] != '[' || s[p + 1] != '^')
        return false;
    size_t k = 0;
    while (p + 2 + k < e && k <= FMD_FOOTNOTE_LABEL_MAX &&
           is_label_byte((unsigned char)s[p + 2 + k]))
        k++;
    if (k == 0 || k > FMD_FOOTNOTE_LABEL_MAX || p + 3 + k >= e || s[p + 2 + k] != ']' ||
        s[p + 3 + k] != ':')
        return false;
    label->ptr = s + p + 2;
    label->len = k;
    size_t c = p + 4 + k;
    while (c < e && (s[c] == ' ' || s[c] == '\t'))
        c++;
    *content = c;
    return true;
}

static bool is_ascii_alpha(unsigned char c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

/* Case-insensitive prefix test of s[p..e) against the lower-case @p lit. */
static bool iprefix(const char *s, size_t p, size_t e, const char *lit)
{
    size_t n = strlen(lit);
    if (e - p < n)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[p + i];
        if ((is_ascii_alpha(c) ? (c | 0x20) : c) != (unsigned char)lit[i])
            return false;
    }
    return true;
}

/** How an HTML block ends: at a line containing a marker (types 1-5) or at a blank line. */
enum { HTML_NONE = 0, HTML_SCRIPT, HTML_COMMENT, HTML_PI, HTML_DECL, HTML_CDATA, HTML_BLANK };

/* The CommonMark HTML block type a line starts (with at most 3 spaces), or HTML_NONE.
 * Type 7 (any other tag alone on its line) cannot interrupt a paragraph, so it counts only
 * when !para. */
static int html_start(const char *s, const line *l, bool para)
{
    if (l->indent >= 4)
        return HTML_NONE;
    size_t p = l->first, e = l->end;
    if (p >= e || s[p] != '<')
        return HTML_NONE;
    static const char *const raw[] = {"<script", "<pre", "<style", "<textarea"};
    for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++) {
        size_t n = strlen(raw[i]);
        if (iprefix(s, p, e, raw[i]) &&
            (p + n == e || s[p + n] == ' ' || s[p + n] == '\t' || s[p + n] == '>'))
            return HTML_SCRIPT;
    }
    if (iprefix(s, p, e, "<!--"))
        return HTML_COMMENT;
    if (iprefix(s, p, e, "<?"))
        return HTML_PI;
    if (iprefix(s, p, e, "<![cdata["))
        return HTML_CDATA;
    if (e - p >= 3 && s[p + 1] == '!' && is_ascii_alpha((unsigned char)s[p + 2]))
        return HTML_DECL;
    size_t t = p + 1 + (p + 1 < e && s[p + 1] == '/');
    size_t k = 0;
    char name[16];
    while (t + k < e && k < sizeof name - 1 &&
           (is_ascii_alpha((unsigned char)s[t + k]) || (s[t + k] >= '0' && s[t + k] <= '9'))) {
        name[k] = (char)(s[t + k] | (is_ascii_alpha((unsigned char)s[t + k]) ? 0x20 : 0));
        k++;
    }
    name[k] = '\0';
    if (k == 0)
        return HTML_NONE;
    size_t after = t + k;
    bool ends_name = after == e || s[after] == ' ' || s[after] == '\t' || s[after] == '>' ||
                     (s[after] == '/' && after + 1 < e && s[after + 1] == '>');
    if (ends_name && fmd__kernel_html_block_tag(name))
        return HTML_BLANK;
    if (para)
        return HTML_NONE;
    /* Type 7: one complete open or closing tag and nothing else on the line. Approximated as
     * no other '<' before the first '>', and only white space after it. */
    const char *gt = memchr(s + after, '>', e - after);
    if (gt == NULL || memchr(s + after, '<', (size_t)(gt - (s + after))) != NULL)
        return HTML_NONE;
    for (size_t i = (size_t)(gt - s) + 1; i < e; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return HTML_NONE;
    return HTML_BLANK;
}

/* Does the line contain the end marker of HTML block @p type (1-5)? */
static bool html_end(const char *s, const line *l, int type)
{
    static const char *const script_ends[] = {"</script>", "</pre>", "</style>", "</textarea>"};
    for (size_t p = l->beg; p < l->end; p++) {
        switch (type) {
        case HTML_SCRIPT:
            for (size_t i = 0; i < 4; i++)
                if (iprefix(s, p, l->end, script_ends[i]))
                    return true;
            break;
        case HTML_COMMENT:
            if (iprefix(s, p, l->end, "-->"))
                return true;
            break;
        case HTML_PI:
            if (iprefix(s, p, l->end, "?>"))
                return true;
            break;
        case HTML_DECL:
            if (s[p] == '>')
                return true;
            break;
        case HTML_CDATA:
            if (iprefix(s, p, l->end, "]]>"))
                return true;
            break;
        default: return true;
        }
    }
    return false;
}

/* A thematic break: 3 or more of one of * - _ and nothing else but spaces. */
static bool thematic(const char *s, const line *l)
{
    char c = s[l->first];
    if (l->indent >= 4 || (c != '*' && c != '-' && c != '_'))
        return false;
    size_t k = 0;
    for (size_t i = l->first; i < l->end; i++) {
        if (s[i] == c)
            k++;
        else if (s[i] != ' ' && s[i] != '\t')
            return false;
    }
    return k >= 3;
}

/* An ATX heading: 1 to 6 '#' and then a space, a tab or the end of the line. */
static bool atx(const char *s, const line *l)
{
    size_t p = l->first, k = 0;
    if (l->indent >= 4)
        return false;
    while (p + k < l->end && s[p + k] == '#')
        k++;
    return k >= 1 && k <= 6 && (p + k == l->end || s[p + k] == ' ' || s[p + k] == '\t');
}

/* ATX heading, thematic break, block quote or list item: blocks that end a paragraph, so also
 * the lazy continuation of a definition. */
static bool interrupts(const char *s, const line *l)
{
    if (l->indent >= 4 || l->blank)
        return false;
    size_t p = l->first, e = l->end;
    char c = s[p];
    if (c == '>' || atx(s, l) || thematic(s, l))
        return true;
    if ((c == '*' || c == '-' || c == '+') && p + 1 < e && (s[p + 1] == ' ' || s[p + 1] == '\t'))
        return true; /* a bullet item with content */
    return c == '1' && p + 2 < e && (s[p + 1] == '.' || s[p + 1] == ')') &&
           (s[p + 2] == ' ' || s[p + 2] == '\t'); /* an ordered item starting at 1 */
}

/* An ATX heading, a thematic break or (after a paragraph line) a setext underline: a block of
 * one line, after which no paragraph is open. */
static bool one_line_block(const char *s, const line *l, bool para)
{
    if (l->indent >= 4)
        return false;
    if (atx(s, l) || thematic(s, l))
        return true;
    size_t p = l->first, e = l->end;
    if (!para || s[p] != '=')
        return false;
    while (p < e && s[p] == '=')
        p++;
    while (p < e && (s[p] == ' ' || s[p] == '\t'))
        p++;
    return p == e;
}

/*** Link reference definitions, copied into each footnote's document ***/

/* Is s[p..e) a link reference definition on one line: "[label]: dest" with an optional title in
 * quotes or parentheses on the same line? Conservative: what it accepts, md4c accepts too. */
static bool refdef_line(const char *s, size_t p, size_t e)
{
    if (p >= e || s[p] != '[' || (p + 1 < e && s[p + 1] == '^'))
        return false;
    size_t i = p + 1, k = 0;
    bool nonspace = false;
    for (; i < e && s[i] != ']'; i++, k++) {
        if (s[i] == '[')
            return false;
        if (s[i] == '\\' && i + 1 < e)
            i++, k++;
        if (s[i] != ' ' && s[i] != '\t')
            nonspace = true;
    }
    if (i + 1 >= e || s[i + 1] != ':' || k == 0 || k > FMD_FOOTNOTE_LABEL_MAX || !nonspace)
        return false;
    for (i += 2; i < e && (s[i] == ' ' || s[i] == '\t'); i++)
        ;
    if (i == e)
        return false; /* the destination is on the next line: not handled */
    if (s[i] == '<') {
        for (i++; i < e && s[i] != '>'; i++) {
            if (s[i] == '<')
                return false;
            if (s[i] == '\\' && i + 1 < e)
                i++;
        }
        if (i == e)
            return false;
        i++;
    } else {
        int depth = 0;
        size_t d = i;
        for (; i < e && s[i] != ' ' && s[i] != '\t'; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c < 0x20 || c == 0x7F)
                return false;
            if (c == '\\' && i + 1 < e)
                i++;
            else if (c == '(')
                depth++;
            else if (c == ')' && --depth < 0)
                return false;
        }
        if (depth != 0 || i == d)
            return false;
    }
    size_t sp = i;
    for (; i < e && (s[i] == ' ' || s[i] == '\t'); i++)
        ;
    if (i == e)
        return true;
    if (i == sp)
        return false; /* the title must be separated from the destination */
    char close = s[i] == '"' ? '"' : s[i] == '\'' ? '\'' : s[i] == '(' ? ')' : 0;
    if (close == 0)
        return false;
    for (i++; i < e && s[i] != close; i++) {
        if (close == ')' && s[i] == '(')
            return false;
        if (s[i] == '\\' && i + 1 < e)
            i++;
    }
    if (i == e)
        return false;
    for (i++; i < e; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return false;
    return true;
}

/*** The table of definitions ***/

static unsigned char fold(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

/* FNV-1a of the ASCII-case-folded label. */
static uint64_t label_hash(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= fold((unsigned char)s[i]);
        h *= 0x100000001b3ull;
    }
    return h;
}

static bool label_eq(const char *a, size_t an, const char *b, size_t bn)
{
    if (an != bn)
        return false;
    for (size_t i = 0; i < an; i++)
        if (fold((unsigned char)a[i]) != fold((unsigned char)b[i]))
            return false;
    return true;
}

fmd__footnote *fmd__kernel_footnote_find(const fmd__footnotes *fn, const char *label, size_t n)
{
    if (fn->n == 0)
        return NULL;
    uint64_t h = label_hash(label, n);
    for (size_t i = (size_t)h & fn->mask;; i = (i + 1) & fn->mask) {
        uint32_t slot = fn->slots[i];
        if (slot == 0)
            return NULL;
        fmd__footnote *d = &fn->defs[slot - 1];
        if (d->key == h && label_eq(d->label.ptr, d->label.len, label, n))
            return d;
    }
}

/* Add a definition (duplicates are dropped by build_index). */
static fmd_status add_def(fmd__footnotes *fn, size_t *cap, fmd_arena *a, fmd_slice label,
                          fmd_slice body)
{
    uint64_t h = label_hash(label.ptr, label.len);
    if (fn->n == *cap) {
        size_t cap2 = *cap ? *cap * 2 : 8;
        fmd__footnote *d = fmd_arena_grow(a, fn->defs, *cap * sizeof *d, cap2 * sizeof *d);
        if (d == NULL)
            return FMD_E_NOMEM;
        fn->defs = d;
        *cap = cap2;
    }
    fn->defs[fn->n++] = (fmd__footnote){label, body, h, 0, 0};
    return FMD_OK;
}

/* Index the definitions by label: open addressing, at most half full. A later definition of a
 * label already indexed is left out, so that the first one wins, as in cmark-gfm (it stays in
 * defs, unreachable, and is never rendered). */
static fmd_status build_index(fmd__footnotes *fn, fmd_arena *a)
{
    size_t cap = 16;
    while (cap < fn->n * 2)
        cap *= 2;
    fn->slots = fmd_arena_alloc(a, cap * sizeof *fn->slots);
    fn->order = fmd_arena_alloc(a, fn->n * sizeof *fn->order);
    if (fn->slots == NULL || fn->order == NULL)
        return FMD_E_NOMEM;
    memset(fn->slots, 0, cap * sizeof *fn->slots);
    fn->mask = cap - 1;
    for (size_t k = 0; k < fn->n; k++) {
        const fmd__footnote *d = &fn->defs[k];
        size_t i = (size_t)d->key & fn->mask;
        bool dup = false;
        for (; fn->slots[i] != 0 && !dup; i = (i + 1) & fn->mask) {
            const fmd__footnote *o = &fn->defs[fn->slots[i] - 1];
            dup = o->key == d->key &&
                  label_eq(o->label.ptr, o->label.len, d->label.ptr, d->label.len);
        }
        if (!dup)
            fn->slots[i] = (uint32_t)(k + 1);
    }
    return FMD_OK;
}

/*** The pre-pass ***/

/* Append line @p l without its first 4 columns of indentation (a tab that straddles column 4
 * leaves its remaining columns as spaces), plus '\n'. */
static fmd_status put_dedented(fmd_buf *b, const char *s, const line *l)
{
    size_t col = 0, i = l->beg;
    fmd_status st = FMD_OK;
    while (i < l->end && col < 4 && (s[i] == ' ' || s[i] == '\t')) {
        col = s[i] == '\t' ? (col + 4) & ~(size_t)3 : col + 1;
        i++;
    }
    for (; col > 4 && st == FMD_OK; col--)
        st = fmd_buf_putc(b, ' ');
    if (st == FMD_OK)
        st = fmd_buf_append(b, s + i, l->end - i);
    if (st == FMD_OK)
        st = fmd_buf_putc(b, '\n');
    return st;
}

/* Could the line start a block of its own, so that it is no lazy continuation line? */
static bool starts_block(const char *s, const line *l)
{
    fmd_slice label;
    size_t content;
    char c;
    return interrupts(s, l) || def_start(s, l, &label, &content) ||
           (l->indent < 4 && fence_open(s, l->first, l->end, &c) != 0) ||
           html_start(s, l, true) != HTML_NONE;
}

/* Read the definition whose first line is @p first; its Markdown goes to @p body.
 * @return where the definition ends: the start of the first line that is not part of it (blank
 * lines after it are not). */
static size_t read_def(const char *s, size_t len, const line *first, size_t content, fmd_buf *body,
                       fmd_status *st)
{
    char fc = 0;
    size_t fence = 0; /* the length of a fence open inside the definition */
    *st = fmd_buf_append(body, s + content, first->end - content);
    if (*st == FMD_OK)
        *st = fmd_buf_putc(body, '\n');
    if (content < first->end)
        fence = fence_open(s, content, first->end, &fc);
    bool lazy_ok = content < first->end && fence == 0; /* a paragraph is open */
    size_t pos = first->next, blank_from = SIZE_MAX;
    while (pos < len && *st == FMD_OK) {
        line l;
        get_line(s, len, pos, &l);
        if (l.blank) {
            if (blank_from == SIZE_MAX)
                blank_from = pos;
            pos = l.next;
            continue;
        }
        if (l.indent >= 4) {
            /* Continuation: the blank lines before it, then the line without 4 columns. */
            for (size_t b = blank_from; b != SIZE_MAX && b < pos && *st == FMD_OK; b++)
                if (s[b] == '\n')
                    *st = fmd_buf_putc(body, '\n');
            blank_from = SIZE_MAX;
            if (*st != FMD_OK || (*st = put_dedented(body, s, &l)) != FMD_OK)
                return pos;
            /* Follow fences in the dedented text, so that a code line is never lazy text. */
            size_t inner = l.indent - 4;
            if (fence != 0) {
                if (inner < 4 && fence_close_at(s, l.first, l.end, fc, fence))
                    fence = 0;
            } else if (inner < 4) {
                fence = fence_open(s, l.first, l.end, &fc);
            }
            lazy_ok = fence == 0 && inner < 4;
            pos = l.next;
            continue;
        }
        if (blank_from != SIZE_MAX || !lazy_ok || starts_block(s, &l))
            break;
        /* A lazy continuation line of the definition's paragraph. */
        if ((*st = fmd_buf_append(body, s + l.first, l.end - l.first)) != FMD_OK ||
            (*st = fmd_buf_putc(body, '\n')) != FMD_OK)
            return pos;
        pos = l.next;
    }
    return blank_from != SIZE_MAX ? blank_from : pos;
}

/* Is there a "[^" anywhere? Pages without one skip the pre-pass. */
static bool has_caret_bracket(const char *s, size_t len)
{
    for (const char *p = s, *e = s + len; (p = memchr(p, '[', (size_t)(e - p))) != NULL; p++)
        if (p + 1 < e && p[1] == '^')
            return true;
    return false;
}

fmd_status fmd__kernel_footnotes_extract(const char *s, size_t len, fmd_arena *scratch,
                                         fmd__footnotes *fn, fmd_slice *rest)
{
    memset(fn, 0, sizeof *fn);
    rest->ptr = s;
    rest->len = len;
    if (len == 0 || !has_caret_bracket(s, len))
        return FMD_OK;

    fmd_status st = FMD_OK;
    fmd_buf main, refs;
    fmd_buf_reset(&main, scratch);
    fmd_buf_reset(&refs, scratch);
    size_t defs_cap = 0, kept = 0; /* s[kept..) is not yet copied to main */
    bool extracted = false;
    int html = HTML_NONE;
    char fc = 0;
    size_t fence = 0;
    bool para = false, refrun = false;

    for (size_t pos = 0; pos < len;) {
        line l;
        get_line(s, len, pos, &l);
        size_t next = l.next;
        if (fence != 0) {
            if (l.indent < 4 && fence_close_at(s, l.first, l.end, fc, fence))
                fence = 0;
        } else if (html != HTML_NONE) {
            if (html == HTML_BLANK ? l.blank : html_end(s, &l, html))
                html = HTML_NONE;
            para = false;
        } else if (l.blank) {
            para = refrun = false;
        } else if (l.indent >= 4 && !para) {
            /* indented code */
        } else {
            fmd_slice label;
            size_t content;
            if (def_start(s, &l, &label, &content)) {
                /* A definition that starts with another ("[^1]: [^2]: text") is empty, and the
                 * inner one is a definition of its own, as cmark-gfm nests them. */
                line inner = l;
                inner.indent = 0;
                inner.first = content;
                fmd_slice label2;
                size_t content2;
                while (content < l.end && def_start(s, &inner, &label2, &content2)) {
                    fmd_slice empty = {"", 0};
                    if ((st = add_def(fn, &defs_cap, scratch, label, empty)) != FMD_OK)
                        return st;
                    label = label2;
                    content = inner.first = content2;
                }
                fmd_buf body;
                fmd_buf_reset(&body, scratch);
                next = read_def(s, len, &l, content, &body, &st);
                if (st != FMD_OK)
                    return st;
                if (!extracted)
                    fmd_buf_reset(&main, scratch);
                extracted = true;
                if ((st = fmd_buf_append(&main, s + kept, pos - kept)) != FMD_OK)
                    return st;
                kept = next;
                if ((st = add_def(fn, &defs_cap, scratch, label, fmd_buf_slice(&body))) != FMD_OK)
                    return st;
                para = refrun = false;
            } else if (l.indent < 4 && (fence = fence_open(s, l.first, l.end, &fc)) != 0) {
                para = refrun = false;
            } else if ((html = html_start(s, &l, para)) != HTML_NONE) {
                if (html != HTML_BLANK && html_end(s, &l, html))
                    html = HTML_NONE; /* opened and closed on one line */
                para = refrun = false;
            } else if (one_line_block(s, &l, para)) {
                para = refrun = false;
            } else {
                /* Paragraph text (or a block quote or list line, which behave alike here). */
                bool ref = (!para || refrun) && l.indent < 4 && refdef_line(s, l.first, l.end);
                if (ref && ((st = fmd_buf_append(&refs, s + l.first, l.end - l.first)) != FMD_OK ||
                            (st = fmd_buf_putc(&refs, '\n')) != FMD_OK))
                    return st;
                refrun = ref;
                para = true;
            }
        }
        pos = next;
    }
    if (!extracted)
        return FMD_OK;
    if ((st = fmd_buf_append(&main, s + kept, len - kept)) != FMD_OK)
        return st;
    if ((st = build_index(fn, scratch)) != FMD_OK)
        return st;
    fn->refdefs = fmd_buf_slice(&refs);
    rest->ptr = main.ptr ? main.ptr : "";
    rest->len = main.len;
    return FMD_OK;
}

fmd_status fmd__kernel_footnote_doc(const fmd__footnotes *fn, const fmd__footnote *d,
                                    size_t *budget, fmd_arena *scratch, fmd_slice *doc)
{
    /* Link reference definitions of the page go first, so that the definition's links resolve:
     * alone in their paragraph, they render nothing. Only when the body could use one. */
    bool refs = fn->refdefs.len != 0 && fn->refdefs.len <= *budget &&
                memchr(d->body.ptr, ']', d->body.len) != NULL;
    if (!refs) {
        *doc = d->body;
        return FMD_OK;
    }
    *budget -= fn->refdefs.len;
    size_t n = fn->refdefs.len + 1 + d->body.len;
    char *p = fmd_arena_alloc(scratch, n);
    if (p == NULL)
        return FMD_E_NOMEM;
    memcpy(p, fn->refdefs.ptr, fn->refdefs.len);
    p[fn->refdefs.len] = '\n';
    memcpy(p + fn->refdefs.len + 1, d->body.ptr, d->body.len);
    doc->ptr = p;
    doc->len = n;
    return FMD_OK;
}
