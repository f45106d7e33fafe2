/* SPDX-License-Identifier: MIT */
/* fastmd's HTML renderer on md4c's parser callbacks (never md4c-html, whose void sink can neither
 * fail nor stop at a limit). One pass writes the HTML into an arena buffer and gathers the page
 * metadata: headings with unique IDs, words, links, images and code blocks. Safe mode drops raw
 * HTML and script-capable URLs here, after entities are resolved, so no later stage has to.
 * No allocation outside the arenas passed in and no state outside the stack of one call. */
#include <assert.h>
#include <limits.h>
#include <md4c.h>
#include <stdint.h>

#include "entity_table.h"
#include "internal.h"

/* Output choices, where the CommonMark spec leaves them to the renderer:
 * - void elements are written in XHTML form as the spec's examples are: <hr />, <br />, <img />.
 * - named entities are decoded to UTF-8 with the WHATWG table (entity_table.h, generated), so
 *   that the text, the URL safety check and the percent-encoding all see the real characters; a
 *   name that is not an HTML5 entity stays literal text ("&amp;madeup;"), as the spec requires.
 *   (Passing "&name;" through as written would not do: md4c reports any &[A-Za-z0-9]+; as an
 *   entity, hrefs need the decoded bytes percent-encoded, and the safety check needs them too.)
 * - metadata: words are runs of non-whitespace in text and code spans (not code blocks, raw
 *   HTML or image alt text), counted across md4c's callback boundaries; a heading's text is its
 *   plain text without raw HTML or image alt text, trimmed.
 * - GFM task items: <li class="task-list-item"><input type="checkbox"
 *   class="task-list-item-checkbox" disabled /> text</li> (with `checked` before `disabled` for
 *   [x]); in a loose list the checkbox goes first inside the item's first paragraph.
 * - GFM table cells carry alignment as the align attribute (<th align="center">), as in the GFM
 *   spec's examples, not as a style attribute.
 * - safe mode writes nothing for raw HTML (blocks and inline), and an empty href/src for a
 *   javascript:, vbscript:, file: or data: URL (data:image/... stays allowed in <img src>). */

/*** Tables ***/

/* Which bytes text and attribute values escape, and to what. Text and attributes share one
 * escape (& < > ") so that the output is valid in both places and matches the spec. */
static const unsigned char esc_class[256] = {['&'] = 1, ['<'] = 2, ['>'] = 3, ['"'] = 4};
static const char *const esc_text[5] = {"", "&amp;", "&lt;", "&gt;", "&quot;"};
static const unsigned char esc_len[5] = {0, 5, 4, 4, 6};

/* URL bytes: 1 kept as is; 2 '&' (kept, HTML-escaped as &amp;); 3 '%' (kept before two hex
 * digits, since the URL is then already encoded, else written %25); 0 percent-encoded (controls,
 * space, " < > [ \ ] ^ ` { | }, DEL and every non-ASCII byte). */
static const unsigned char url_class[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 10 */
    0, 1, 0, 1, 1, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 20 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1, /* 30 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 40 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, /* 50 */
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 60 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, /* 70 */
};

/* Whitespace that separates words in the word count (ASCII only: a no-break space joins). */
static const unsigned char ws_class[256] = {
    [' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\v'] = 1, ['\f'] = 1, ['\r'] = 1};

static const char hex_upper[] = "0123456789ABCDEF";

/** U+FFFD, written for NUL characters and for numeric references to nothing valid. */
#define UTF8_REPLACEMENT "\xEF\xBF\xBD"

/*** Render state ***/

/* The state of one md_parse() call; lives on fmd__kernel_render_html's stack.
 * Invariant: img_depth > 0 exactly while inside an image's alt content; then only plain text
 * is written (into the alt attribute) and every nested span writes nothing. */
typedef struct render_ctx {
    fmd_buf *html;
    fmd_arena *scratch;
    fmd__render_meta *meta;
    size_t max_output;
    bool unsafe;
    bool heading_ids;
    bool in_code_block;
    bool in_word;          /* the last counted text byte belongs to a word */
    bool in_heading;
    unsigned char task_pending; /* 0, or 1/2: an [ ]/[x] checkbox still to be written */
    unsigned img_depth;
    unsigned h_level;
    size_t h_attr_at;      /* offset in html just after "<hN": where id="..." goes */
    size_t headings_cap;
    fmd_buf htext;         /* plain text of the current heading (scratch) */
    fmd_buf tmp;           /* a decoded URL, or a slug being built (scratch) */
    fmd__slug_set *slugs;  /* created at the first heading when heading IDs are on */
} render_ctx;

/*** Output primitives: each returns 0, or 1 after recording why it failed ***/

static int fail(render_ctx *r, fmd_status st)
{
    r->meta->st = st;
    return 1;
}

/* md4c 0.4.8 does not stop at once on every non-zero return: in a table it goes on calling us
 * for the remaining rows. So each callback first checks whether the page has already failed. */
#define STOP_IF_FAILED(r)                                                                          \
    do {                                                                                           \
        if ((r)->meta->st != FMD_OK)                                                               \
            return 1;                                                                              \
    } while (0)

static inline int put(render_ctx *r, const char *s, size_t n)
{
    if (fmd_buf_append(r->html, s, n) != FMD_OK)
        return fail(r, FMD_E_NOMEM);
    return 0;
}

/* Append a string literal: its length is known at compile time (no strlen). */
#define PUT_LIT(r, lit) put((r), (lit), sizeof(lit) - 1)

/* Start a block tag on a fresh line, as the spec's examples do. */
static inline int put_cr(render_ctx *r)
{
    const fmd_buf *b = r->html;
    if (b->len != 0 && b->ptr[b->len - 1] != '\n')
        return put(r, "\n", 1);
    return 0;
}

/* End of every callback: enforce the output limit, so that md4c stops parsing. */
static inline int done(render_ctx *r)
{
    if (r->html->len > r->max_output)
        return fail(r, FMD_E_OUTPUT_LIMIT);
    return 0;
}

/* Append s with & < > " escaped. Copies runs between the special bytes, not single bytes. */
static int put_escaped(render_ctx *r, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned e = esc_class[p[i]];
        if (e == 0)
            continue;
        if (put(r, s + run, i - run) || put(r, esc_text[e], esc_len[e]))
            return 1;
        run = i + 1;
    }
    return put(r, s + run, n - run);
}

static int put_uint(render_ctx *r, unsigned long long v)
{
    if (fmd_buf_put_u64(r->html, v) != FMD_OK)
        return fail(r, FMD_E_NOMEM);
    return 0;
}

/*** Entities ***/

static size_t utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Binary search of the generated table for name[0..n) (no '&', no ';'). */
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

/* Decode the entity s[0..n) as md4c reports it ("&name;", "&#123;" or "&#x1F;") into out.
 * @return the UTF-8 length (1..8), or 0 when it names no HTML5 entity, so that the caller
 * shows it as literal text. References to 0, to surrogates or past U+10FFFF give U+FFFD. */
static size_t decode_entity(const char *s, size_t n, char out[8])
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
        if (v <= 0x10FFFF) /* saturate: md4c bounds the digits, but never overflow */
            v = v * base + d;
    }
    if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        v = 0xFFFD;
    return utf8_encode(v, out);
}

/* The plain text of one piece of an MD_ATTRIBUTE or of a text callback: an entity decoded, a NUL
 * marker as U+FFFD, anything else as is. dec is the caller's buffer for a decoded entity. */
static void piece_text(MD_TEXTTYPE type, const char **s, size_t *n, char dec[8])
{
    if (type == MD_TEXT_ENTITY) {
        size_t k = decode_entity(*s, *n, dec);
        if (k != 0) {
            *s = dec;
            *n = k;
        }
    } else if (type == MD_TEXT_NULLCHAR) {
        *s = UTF8_REPLACEMENT;
        *n = sizeof UTF8_REPLACEMENT - 1;
    }
}

/*** Attributes ***/

/* Append an attribute's text (a title, a code language) decoded and escaped. */
static int put_attr_text(render_ctx *r, const MD_ATTRIBUTE *a)
{
    for (unsigned i = 0; a->substr_offsets[i] < a->size; i++) {
        const char *s = a->text + a->substr_offsets[i];
        size_t n = a->substr_offsets[i + 1] - a->substr_offsets[i];
        char dec[8];
        piece_text(a->substr_types[i], &s, &n, dec);
        if (put_escaped(r, s, n))
            return 1;
    }
    return 0;
}

/* The attribute's plain text: its own bytes when it is one plain piece (no copy), else decoded
 * into r->tmp. */
static int attr_plain(render_ctx *r, const MD_ATTRIBUTE *a, const char **ps, size_t *pn)
{
    if (a->size == 0) {
        *ps = ""; /* md4c may pass a NULL text for an empty destination */
        *pn = 0;
        return 0;
    }
    if (a->substr_types[0] == MD_TEXT_NORMAL && a->substr_offsets[1] == a->size) {
        *ps = a->text;
        *pn = a->size;
        return 0;
    }
    r->tmp.len = 0;
    for (unsigned i = 0; a->substr_offsets[i] < a->size; i++) {
        const char *s = a->text + a->substr_offsets[i];
        size_t n = a->substr_offsets[i + 1] - a->substr_offsets[i];
        char dec[8];
        piece_text(a->substr_types[i], &s, &n, dec);
        if (fmd_buf_append(&r->tmp, s, n) != FMD_OK)
            return fail(r, FMD_E_NOMEM);
    }
    *ps = r->tmp.ptr;
    *pn = r->tmp.len;
    return 0;
}

static bool is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

static bool is_alpha(unsigned char c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

/* Would a browser run or read something local through this URL? The check works as browsers
 * parse: leading C0 controls and spaces are skipped, tabs and newlines anywhere are ignored,
 * the scheme is case-insensitive. Dropped: javascript:, vbscript:, file:, and data: except
 * data:image/... in an <img> (an image never runs script, SVG included).
 * @param s the URL after entity decoding. */
static bool url_is_dangerous(const char *s, size_t n, bool is_image)
{
    char scheme[11]; /* longer schemes than "javascript" are never dropped */
    size_t k = 0, i = 0;
    while (i < n && (unsigned char)s[i] <= 0x20)
        i++;
    for (;; i++) {
        if (i == n)
            return false; /* no scheme: a relative URL */
        unsigned char c = (unsigned char)s[i];
        if (c == '\t' || c == '\n' || c == '\r')
            continue;
        if (c == ':')
            break;
        if (k == sizeof scheme || !is_alpha(c))
            return false; /* the schemes we drop are letters only */
        scheme[k++] = (char)(c | 0x20);
    }
    if ((k == 10 && memcmp(scheme, "javascript", 10) == 0) ||
        (k == 8 && memcmp(scheme, "vbscript", 8) == 0) || (k == 4 && memcmp(scheme, "file", 4) == 0))
        return true;
    if (k != 4 || memcmp(scheme, "data", 4) != 0)
        return false;
    if (!is_image)
        return true;
    static const char image[] = "image/";
    size_t m = 0;
    for (i++; i < n && m < sizeof image - 1; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\t' || c == '\n' || c == '\r')
            continue;
        if ((char)(c | (is_alpha(c) ? 0x20 : 0)) != image[m])
            return true;
        m++;
    }
    return m != sizeof image - 1;
}

/* Append a URL for href/src: percent-encoded where the spec's examples encode (UTF-8 bytes,
 * spaces, quotes, brackets...), '&' HTML-escaped. A URL that is already %-encoded stays so. */
static int put_url_encoded(render_ctx *r, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned cls = url_class[p[i]];
        if (cls == 1 || (cls == 3 && i + 2 < n && is_hex(p[i + 1]) && is_hex(p[i + 2])))
            continue;
        if (put(r, s + run, i - run))
            return 1;
        run = i + 1;
        if (cls == 2) {
            if (PUT_LIT(r, "&amp;"))
                return 1;
        } else {
            char pct[3] = {'%', hex_upper[p[i] >> 4], hex_upper[p[i] & 15]};
            if (put(r, pct, 3))
                return 1;
        }
    }
    return put(r, s + run, n - run);
}

/* Append the value of an href or src attribute (without the quotes). */
static int put_url(render_ctx *r, const MD_ATTRIBUTE *a, bool is_image)
{
    const char *s;
    size_t n;
    if (attr_plain(r, a, &s, &n))
        return 1;
    if (!r->unsafe && url_is_dangerous(s, n, is_image))
        return 0; /* href="": the attribute stays, the link goes nowhere */
    return put_url_encoded(r, s, n);
}

static int put_title(render_ctx *r, const MD_ATTRIBUTE *title)
{
    if (title->size == 0)
        return 0;
    return PUT_LIT(r, " title=\"") || put_attr_text(r, title) || PUT_LIT(r, "\"");
}

/*** Metadata ***/

/* Count the words in s: each start of a run of non-whitespace after whitespace (or after a block
 * or line break, see in_word). Branch-free, so it costs little on every text callback. */
static void count_words(render_ctx *r, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t words = 0;
    unsigned prev_ws = !r->in_word;
    for (size_t i = 0; i < n; i++) {
        unsigned w = ws_class[p[i]];
        words += prev_ws & (w ^ 1u);
        prev_ws = w;
    }
    r->meta->words += words;
    if (n != 0)
        r->in_word = !prev_ws;
}

static int htext_put(render_ctx *r, const char *s, size_t n)
{
    if (fmd_buf_append(&r->htext, s, n) != FMD_OK)
        return fail(r, FMD_E_NOMEM);
    return 0;
}

/* Put ` id="slug"` into the start tag of the heading just closed, at h_attr_at. The slug has no
 * byte that needs escaping: slugify keeps only letters, digits, '-', '_' and non-ASCII text. */
static int insert_heading_id(render_ctx *r, fmd_slice id)
{
    static const char pre[] = " id=\"";
    fmd_buf *b = r->html;
    size_t k = sizeof pre - 1 + id.len + 1;
    if (b->cap - b->len < k && fmd_buf_grow(b, k) != FMD_OK)
        return fail(r, FMD_E_NOMEM);
    char *at = b->ptr + r->h_attr_at;
    memmove(at + k, at, b->len - r->h_attr_at);
    memcpy(at, pre, sizeof pre - 1);
    memcpy(at + sizeof pre - 1, id.ptr, id.len);
    at[k - 1] = '"';
    b->len += k;
    return 0;
}

/* Record the heading just closed: slug and ID (when on), metadata entry, first h1. */
static int finish_heading(render_ctx *r)
{
    const char *t = r->htext.ptr;
    size_t n = r->htext.len;
    while (n != 0 && ws_class[(unsigned char)t[0]]) {
        t++;
        n--;
    }
    while (n != 0 && ws_class[(unsigned char)t[n - 1]])
        n--;

    fmd_slice id = {NULL, 0};
    if (r->heading_ids) {
        if (r->slugs == NULL && (r->slugs = fmd__kernel_slug_set_create(r->scratch)) == NULL)
            return fail(r, FMD_E_NOMEM);
        r->tmp.len = 0;
        if (fmd__kernel_slugify(t, n, &r->tmp) != FMD_OK ||
            fmd__kernel_slug_unique(r->slugs, r->tmp.ptr, r->tmp.len, &id) != FMD_OK)
            return fail(r, FMD_E_NOMEM);
        if (insert_heading_id(r, id))
            return 1;
    }

    fmd__render_meta *m = r->meta;
    bool want_h1 = r->h_level == 1 && m->first_h1.ptr == NULL;
    if (m->n_headings >= FMD_MAX_HEADINGS && !want_h1)
        return 0;
    char *copy = fmd_arena_dup(r->scratch, t, n);
    if (copy == NULL)
        return fail(r, FMD_E_NOMEM);
    fmd_slice text = {copy, n};
    if (want_h1)
        m->first_h1 = text;
    if (m->n_headings >= FMD_MAX_HEADINGS)
        return 0;
    if (m->n_headings == r->headings_cap) {
        size_t cap = r->headings_cap ? r->headings_cap * 2 : 16;
        fmd_heading *h = fmd_arena_grow(r->scratch, m->headings, r->headings_cap * sizeof *h,
                                        cap * sizeof *h);
        if (h == NULL)
            return fail(r, FMD_E_NOMEM);
        m->headings = h;
        r->headings_cap = cap;
    }
    fmd_heading *h = &m->headings[m->n_headings++];
    h->level = (int)r->h_level;
    h->text = text;
    h->id = id;
    return 0;
}

/*** Task list items ***/

/* Write the checkbox of a task item whose content starts now. @p space: text follows. */
static int flush_task(render_ctx *r, bool space)
{
    bool checked = r->task_pending == 2;
    r->task_pending = 0;
    if (checked ? PUT_LIT(r, "<input type=\"checkbox\" class=\"task-list-item-checkbox\" "
                             "checked disabled />")
                : PUT_LIT(r, "<input type=\"checkbox\" class=\"task-list-item-checkbox\" "
                             "disabled />"))
        return 1;
    return space ? PUT_LIT(r, " ") : 0;
}

/*** md4c callbacks ***/

static int put_align(render_ctx *r, const MD_BLOCK_TD_DETAIL *d)
{
    switch (d->align) {
    case MD_ALIGN_LEFT: return PUT_LIT(r, " align=\"left\">");
    case MD_ALIGN_CENTER: return PUT_LIT(r, " align=\"center\">");
    case MD_ALIGN_RIGHT: return PUT_LIT(r, " align=\"right\">");
    default: return PUT_LIT(r, ">");
    }
}

static int enter_block(MD_BLOCKTYPE type, void *detail, void *userdata)
{
    render_ctx *r = userdata;
    STOP_IF_FAILED(r);
    r->in_word = false;
    if (r->task_pending && type != MD_BLOCK_P && flush_task(r, false))
        return 1;
    int rc = 0;
    switch (type) {
    case MD_BLOCK_DOC:
        break;
    case MD_BLOCK_QUOTE:
        rc = put_cr(r) || PUT_LIT(r, "<blockquote>\n");
        break;
    case MD_BLOCK_UL:
        rc = put_cr(r) || PUT_LIT(r, "<ul>\n");
        break;
    case MD_BLOCK_OL: {
        const MD_BLOCK_OL_DETAIL *d = detail;
        rc = put_cr(r);
        if (rc == 0 && d->start == 1)
            rc = PUT_LIT(r, "<ol>\n");
        else if (rc == 0)
            rc = PUT_LIT(r, "<ol start=\"") || put_uint(r, d->start) || PUT_LIT(r, "\">\n");
        break;
    }
    case MD_BLOCK_LI: {
        const MD_BLOCK_LI_DETAIL *d = detail;
        if (d->is_task) {
            rc = PUT_LIT(r, "<li class=\"task-list-item\">");
            r->task_pending = (d->task_mark == 'x' || d->task_mark == 'X') ? 2 : 1;
        } else {
            rc = PUT_LIT(r, "<li>");
        }
        break;
    }
    case MD_BLOCK_HR:
        rc = put_cr(r) || PUT_LIT(r, "<hr />\n");
        break;
    case MD_BLOCK_H: {
        const MD_BLOCK_H_DETAIL *d = detail;
        char tag[3] = {'<', 'h', (char)('0' + d->level)};
        assert(d->level >= 1 && d->level <= 6);
        rc = put_cr(r) || put(r, tag, 3);
        r->h_attr_at = r->html->len;
        r->h_level = d->level;
        r->in_heading = true;
        r->htext.len = 0;
        rc = rc || PUT_LIT(r, ">");
        break;
    }
    case MD_BLOCK_CODE: {
        const MD_BLOCK_CODE_DETAIL *d = detail;
        r->meta->code_blocks++;
        r->in_code_block = true;
        rc = put_cr(r) || PUT_LIT(r, "<pre><code");
        if (rc == 0 && d->lang.size != 0)
            rc = PUT_LIT(r, " class=\"language-") || put_attr_text(r, &d->lang) || PUT_LIT(r, "\"");
        rc = rc || PUT_LIT(r, ">");
        break;
    }
    case MD_BLOCK_HTML:
        if (r->unsafe)
            rc = put_cr(r);
        break;
    case MD_BLOCK_P:
        rc = put_cr(r) || PUT_LIT(r, "<p>");
        if (rc == 0 && r->task_pending)
            rc = flush_task(r, true);
        break;
    case MD_BLOCK_TABLE:
        rc = put_cr(r) || PUT_LIT(r, "<table>\n");
        break;
    case MD_BLOCK_THEAD:
        rc = PUT_LIT(r, "<thead>\n");
        break;
    case MD_BLOCK_TBODY:
        rc = PUT_LIT(r, "<tbody>\n");
        break;
    case MD_BLOCK_TR:
        rc = PUT_LIT(r, "<tr>\n");
        break;
    case MD_BLOCK_TH:
        rc = PUT_LIT(r, "<th") || put_align(r, detail);
        break;
    case MD_BLOCK_TD:
        rc = PUT_LIT(r, "<td") || put_align(r, detail);
        break;
    }
    return rc ? 1 : done(r);
}

static int leave_block(MD_BLOCKTYPE type, void *detail, void *userdata)
{
    render_ctx *r = userdata;
    STOP_IF_FAILED(r);
    (void)detail;
    r->in_word = false;
    int rc = 0;
    switch (type) {
    case MD_BLOCK_DOC:
        break;
    case MD_BLOCK_QUOTE:
        rc = put_cr(r) || PUT_LIT(r, "</blockquote>\n");
        break;
    case MD_BLOCK_UL:
        rc = put_cr(r) || PUT_LIT(r, "</ul>\n");
        break;
    case MD_BLOCK_OL:
        rc = put_cr(r) || PUT_LIT(r, "</ol>\n");
        break;
    case MD_BLOCK_LI:
        rc = (r->task_pending && flush_task(r, false)) || PUT_LIT(r, "</li>\n");
        break;
    case MD_BLOCK_HR:
        break;
    case MD_BLOCK_H: {
        char tag[6] = {'<', '/', 'h', (char)('0' + r->h_level), '>', '\n'};
        r->in_heading = false;
        rc = put(r, tag, sizeof tag) || finish_heading(r);
        break;
    }
    case MD_BLOCK_CODE:
        r->in_code_block = false;
        rc = PUT_LIT(r, "</code></pre>\n");
        break;
    case MD_BLOCK_HTML:
        if (r->unsafe)
            rc = put_cr(r);
        break;
    case MD_BLOCK_P:
        rc = PUT_LIT(r, "</p>\n");
        break;
    case MD_BLOCK_TABLE:
        rc = PUT_LIT(r, "</table>\n");
        break;
    case MD_BLOCK_THEAD:
        rc = PUT_LIT(r, "</thead>\n");
        break;
    case MD_BLOCK_TBODY:
        rc = PUT_LIT(r, "</tbody>\n");
        break;
    case MD_BLOCK_TR:
        rc = PUT_LIT(r, "</tr>\n");
        break;
    case MD_BLOCK_TH:
        rc = PUT_LIT(r, "</th>\n");
        break;
    case MD_BLOCK_TD:
        rc = PUT_LIT(r, "</td>\n");
        break;
    }
    return rc ? 1 : done(r);
}

static int enter_span(MD_SPANTYPE type, void *detail, void *userdata)
{
    render_ctx *r = userdata;
    STOP_IF_FAILED(r);
    if (type == MD_SPAN_A)
        r->meta->links++;
    else if (type == MD_SPAN_IMG)
        r->meta->images++;
    if (r->img_depth != 0) {
        /* Inside alt text only the text counts; a nested image just deepens. */
        r->img_depth += type == MD_SPAN_IMG;
        return 0;
    }
    if (r->task_pending && flush_task(r, true))
        return 1;
    int rc = 0;
    switch (type) {
    case MD_SPAN_EM:
        rc = PUT_LIT(r, "<em>");
        break;
    case MD_SPAN_STRONG:
        rc = PUT_LIT(r, "<strong>");
        break;
    case MD_SPAN_A: {
        const MD_SPAN_A_DETAIL *d = detail;
        rc = PUT_LIT(r, "<a href=\"") || put_url(r, &d->href, false) || PUT_LIT(r, "\"") ||
             put_title(r, &d->title) || PUT_LIT(r, ">");
        break;
    }
    case MD_SPAN_IMG: {
        const MD_SPAN_IMG_DETAIL *d = detail;
        r->img_depth = 1;
        rc = PUT_LIT(r, "<img src=\"") || put_url(r, &d->src, true) || PUT_LIT(r, "\" alt=\"");
        break;
    }
    case MD_SPAN_CODE:
        rc = PUT_LIT(r, "<code>");
        break;
    case MD_SPAN_DEL:
        rc = PUT_LIT(r, "<del>");
        break;
    case MD_SPAN_U:
        rc = PUT_LIT(r, "<u>");
        break;
    default:
        break; /* LaTeX and wiki links are not enabled */
    }
    return rc ? 1 : done(r);
}

static int leave_span(MD_SPANTYPE type, void *detail, void *userdata)
{
    render_ctx *r = userdata;
    STOP_IF_FAILED(r);
    if (r->img_depth != 0) {
        if (type != MD_SPAN_IMG || --r->img_depth != 0)
            return 0;
        const MD_SPAN_IMG_DETAIL *d = detail;
        if (PUT_LIT(r, "\"") || put_title(r, &d->title) || PUT_LIT(r, " />"))
            return 1;
        return done(r);
    }
    int rc = 0;
    switch (type) {
    case MD_SPAN_EM:
        rc = PUT_LIT(r, "</em>");
        break;
    case MD_SPAN_STRONG:
        rc = PUT_LIT(r, "</strong>");
        break;
    case MD_SPAN_A:
        rc = PUT_LIT(r, "</a>");
        break;
    case MD_SPAN_CODE:
        rc = PUT_LIT(r, "</code>");
        break;
    case MD_SPAN_DEL:
        rc = PUT_LIT(r, "</del>");
        break;
    case MD_SPAN_U:
        rc = PUT_LIT(r, "</u>");
        break;
    default:
        break;
    }
    return rc ? 1 : done(r);
}

/* A line break: a tag in the body, a space in alt text and heading text; it ends a word. */
static int put_break(render_ctx *r, bool hard)
{
    r->in_word = false;
    if (r->img_depth != 0)
        return PUT_LIT(r, " ");
    if (r->in_heading && htext_put(r, " ", 1))
        return 1;
    return hard ? PUT_LIT(r, "<br />\n") : PUT_LIT(r, "\n");
}

static int on_text(MD_TEXTTYPE type, const MD_CHAR *text, MD_SIZE size, void *userdata)
{
    render_ctx *r = userdata;
    STOP_IF_FAILED(r);
    const char *s = text;
    size_t n = size;
    char dec[8];
    switch (type) {
    case MD_TEXT_HTML:
        /* Raw HTML: verbatim when unsafe, gone in safe mode; in alt text, always escaped text
         * so that it cannot close the attribute. Never words or heading text. */
        if (r->img_depth != 0)
            return put_escaped(r, s, n) ? 1 : done(r);
        if (r->unsafe) {
            if (r->task_pending && flush_task(r, true))
                return 1;
            return put(r, s, n) ? 1 : done(r);
        }
        return 0;
    case MD_TEXT_BR:
    case MD_TEXT_SOFTBR:
        return put_break(r, type == MD_TEXT_BR) ? 1 : done(r);
    default:
        piece_text(type, &s, &n, dec);
        break;
    }
    if (r->task_pending && flush_task(r, true))
        return 1;
    if (put_escaped(r, s, n))
        return 1;
    if (r->img_depth == 0 && !r->in_code_block) {
        count_words(r, s, n);
        if (r->in_heading && htext_put(r, s, n))
            return 1;
    }
    return done(r);
}

/*** Entry point ***/

fmd_status fmd__kernel_render_html(const char *body, size_t len, const fmd_options *opt,
                                   size_t max_output, fmd_buf *html, fmd_arena *scratch,
                                   fmd__render_meta *meta)
{
    memset(meta, 0, sizeof *meta);
    meta->st = FMD_OK;
    /* page.c refuses pages over the input limit long before 4 GiB; this guards the conversion
     * to md4c's 32-bit MD_SIZE should a caller skip that check. */
    assert(len < UINT_MAX);
    if (len >= UINT_MAX) {
        meta->st = FMD_E_INPUT_LIMIT;
        return meta->st;
    }
    /* md4c 0.4.8 reads past the end of a page that does not end in a newline (an unclosed link
     * destination at the very end: "[a](/x") and may then even render the bytes it finds there,
     * which in a batch are the next page's. A final '\n' changes no CommonMark output, so such a
     * page is parsed from a copy that has one. Most pages end in a newline: no copy. */
    if (len != 0 && body[len - 1] != '\n') {
        char *copy = fmd_arena_alloc(scratch, len + 1);
        if (copy == NULL) {
            meta->st = FMD_E_NOMEM;
            return meta->st;
        }
        memcpy(copy, body, len);
        copy[len] = '\n';
        body = copy;
        len++;
    }

    render_ctx r = {
        .html = html,
        .scratch = scratch,
        .meta = meta,
        .max_output = max_output,
        .unsafe = opt->unsafe,
        .heading_ids = opt->heading_ids,
    };
    fmd_buf_init(&r.htext, scratch);
    fmd_buf_init(&r.tmp, scratch);

    /* Raw HTML is always parsed (so it is never shown as text); safe mode drops it when
     * rendering. Each extension maps to md4c's flags; FMD_EXT_GFM is md4c's GitHub dialect. */
    unsigned ext = opt->extensions;
    MD_PARSER parser = {
        .abi_version = 0,
        .flags = ((ext & FMD_EXT_TABLES) ? MD_FLAG_TABLES : 0u) |
                 ((ext & FMD_EXT_STRIKETHROUGH) ? MD_FLAG_STRIKETHROUGH : 0u) |
                 ((ext & FMD_EXT_TASKLISTS) ? MD_FLAG_TASKLISTS : 0u) |
                 ((ext & FMD_EXT_AUTOLINKS) ? MD_FLAG_PERMISSIVEAUTOLINKS : 0u),
        .enter_block = enter_block,
        .leave_block = leave_block,
        .enter_span = enter_span,
        .leave_span = leave_span,
        .text = on_text,
    };
    int rc = md_parse(body != NULL ? body : "", (MD_SIZE)len, &parser, &r);
    if (rc != 0 && meta->st == FMD_OK)
        meta->st = FMD_E_PARSE;
    return meta->st;
}
