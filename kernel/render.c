/* SPDX-License-Identifier: MIT */
/* fastmd's HTML renderer on md4c's parser callbacks (never md4c-html, whose void sink can neither
 * fail nor stop at a limit). One pass writes the HTML into an arena buffer and gathers the page
 * metadata: headings with unique IDs, words, links, images and code blocks. Safe mode drops raw
 * HTML and script-capable URLs here, after entities are resolved, so no later stage has to.
 * No allocation outside the arenas passed in and no state outside the stack of one call. */
#include <assert.h>
#include <limits.h>
#if FMD_OWN_PARSER
#include "parser.h"
#else
#include <md4c.h>
#endif
#include <omp.h>
#include <stdint.h>

#include "internal.h"

/* Output choices, where the CommonMark spec leaves them to the renderer:
 * - void elements are written in XHTML form as the spec's examples are: <hr />, <br />, <img />
 *   (opt->xhtml, the default), or in HTML5 form, <hr>, <br>, <img ...>, when it is off.
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
 *   javascript:, vbscript:, file: or data: URL (data:image/... stays allowed in <img src>).
 * - footnotes (FMD_EXT_FOOTNOTES) and smart punctuation (FMD_EXT_SMART) use cmark-gfm's markup
 *   and rules, so that its output is the reference (docs/cmark-gfm-comparison.md lists where
 *   fastmd differs, and why). Both work on md4c's text callbacks and look at the source bytes
 *   around a text, which md4c passes as pointers into the document it parses. */

/*** Tables ***/

/* Text and attribute values share one escape (& < > ", in kernel/text.c) so that the output is
 * valid in both places and matches the spec. */

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

/* Bytes of normal text that footnotes or smart punctuation look at; render_ctx.special says
 * which classes are on. */
enum { SPEC_REF = 1, SPEC_QUOTE = 2, SPEC_DASH = 4, SPEC_DOT = 8 };
static const unsigned char special_class[256] = {
    ['['] = SPEC_REF, ['"'] = SPEC_QUOTE, ['\''] = SPEC_QUOTE, ['-'] = SPEC_DASH, ['.'] = SPEC_DOT};

/** U+FFFD, written for NUL characters and for numeric references to nothing valid. */
#define UTF8_REPLACEMENT "\xEF\xBF\xBD"

/* Smart punctuation. The four quotes share their first two bytes, so that an opener can be
 * turned from ’ into ‘ in place once its closer is seen: only the third byte differs. */
#define LSQUO "\xE2\x80\x98"
#define RSQUO "\xE2\x80\x99"
#define LDQUO "\xE2\x80\x9C"
#define RDQUO "\xE2\x80\x9D"
#define NDASH "\xE2\x80\x93"
#define MDASH "\xE2\x80\x94"
#define HELLIP "\xE2\x80\xA6"

/*** Render state ***/

/* The state of one page's md_parse() calls (the page, then each footnote); lives on
 * fmd__kernel_render_html's stack.
 * Invariant: img_depth > 0 exactly while inside an image's alt content; then only plain text
 * is written (into the alt attribute) and every nested span writes nothing.
 * Invariant: ref_at != NULL only between text callbacks that split one footnote reference (md4c
 * does at a backslash escape: "[^a\*b]" comes as "[^a", "*b]"); ref_pieces then holds the
 * pieces seen so far, and any callback that does not continue it first writes them as text. */
typedef struct render_ctx {
    fmd_buf *html;
    fmd_arena *scratch;
    fmd__render_meta *meta;
    size_t max_output;
    double deadline; /* omp_get_wtime() after which the page fails; 0: none */
    unsigned ticks;  /* callbacks since the deadline was last checked */
    bool unsafe;
    bool heading_ids;
    fmd_slice id_prefix; /* written before every ID and every link to one; may be empty */
    bool in_code_block;
    bool in_word; /* the last counted text byte belongs to a word */
    bool in_heading;
    unsigned char task_pending; /* 0, or 1/2: an [ ]/[x] checkbox still to be written */
    unsigned img_depth;
    unsigned h_level;
    size_t h_attr_at; /* offset in html just after "<hN": where id="..." goes */
    size_t headings_cap;
    fmd_buf htext;        /* plain text of the current heading (scratch) */
    fmd_buf tmp;          /* a decoded URL, or a slug being built (scratch) */
    fmd__slug_set *slugs; /* created at the first heading when heading IDs are on */
    bool xhtml;           /* void elements end in " />" (else ">") */
    /* Footnotes and smart punctuation; special == 0 when both are off (or footnotes are on
     * but the page defines none), and then none of the rest is used. */
    unsigned special;      /* SPEC_* classes looked at in normal text */
    unsigned depth;        /* blocks open; the document is depth 1 */
    MD_BLOCKTYPE last_top; /* the last block closed at depth 2 (a child of the document) */
    bool smart;
    bool in_autolink;          /* inside <https://...> or a permissive autolink: text stays as is */
    bool link_first;           /* in a link whose first callback has not come yet */
    fmd_buf href;              /* a copy of that link's destination as md4c gave it (scratch) */
    const char *doc, *doc_end; /* the document md4c is parsing now (with fastmd's parser: the
                                  text of the block whose inlines are being reported) */
    size_t doc_len;            /* the length of the document being parsed */
    fmd__footnotes *fn;
    const char *ref_at;    /* a reference split across text callbacks: its '[' in the source, */
    const char *ref_end;   /* just past its ']', */
    const char *ref_next;  /* and the end of the last piece of it seen */
    fmd_slice *ref_pieces; /* those pieces (scratch) */
    size_t ref_n, ref_cap;
    fmd__quotes quotes;
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

/* The end of a void element's tag: <br /> in XHTML form, <br> in HTML5 form. */
#define PUT_VOID_END(r) ((r)->xhtml ? PUT_LIT((r), " />") : PUT_LIT((r), ">"))

/* Start a block tag on a fresh line, as the spec's examples do. */
static inline int put_cr(render_ctx *r)
{
    const fmd_buf *b = r->html;
    if (b->len != 0 && b->ptr[b->len - 1] != '\n')
        return put(r, "\n", 1);
    return 0;
}

/* End of every callback: enforce the output limit, so that md4c stops parsing. */
/* Callbacks between two reads of the clock for the deadline. */
#define DEADLINE_TICKS 64

static inline int done(render_ctx *r)
{
    if (r->html->len > r->max_output)
        return fail(r, FMD_E_OUTPUT_LIMIT);
    if (r->deadline != 0 && ++r->ticks >= DEADLINE_TICKS) {
        r->ticks = 0;
        if (omp_get_wtime() > r->deadline)
            return fail(r, FMD_E_DEADLINE);
    }
    return 0;
}

/* Append s with & < > " escaped. Copies runs between the special bytes, not single bytes. */
static int put_escaped(render_ctx *r, const char *s, size_t n)
{
    /* kernel/text.c scans 16 bytes at a time: most text has nothing to escape. */
    if (fmd__kernel_escape_html(r->html, s, n) != FMD_OK)
        return fail(r, FMD_E_NOMEM);
    return 0;
}

static int put_uint(render_ctx *r, unsigned long long v)
{
    if (fmd_buf_put_u64(r->html, v) != FMD_OK)
        return fail(r, FMD_E_NOMEM);
    return 0;
}

/*** Entities ***/

/* The plain text of one piece of an MD_ATTRIBUTE or of a text callback: an entity decoded, a NUL
 * marker as U+FFFD, anything else as is. dec is the caller's buffer for a decoded entity. */
static void piece_text(MD_TEXTTYPE type, const char **s, size_t *n, char dec[8])
{
    if (type == MD_TEXT_ENTITY) {
        size_t k = fmd__kernel_entity_decode(*s, *n, dec);
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
        (k == 8 && memcmp(scheme, "vbscript", 8) == 0) ||
        (k == 4 && memcmp(scheme, "file", 4) == 0))
        return true;
    if (k != 4 || memcmp(scheme, "data", 4) != 0)
        return false;
    if (!is_image)
        return true;
    /* The allowance is checked on the form that is written: a TAB or newline here would be
     * written percent-encoded ("data:%09image/..."), which is not "data:image/", so it is not
     * skipped but refused. */
    static const char image[] = "image/";
    size_t m = 0;
    for (i++; i < n && m < sizeof image - 1; i++, m++) {
        unsigned char c = (unsigned char)s[i];
        if ((char)(c | (is_alpha(c) ? 0x20 : 0)) != image[m])
            return true;
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
    if (!is_image && r->meta->page_links != NULL &&
        fmd__kernel_links_href(r->meta->page_links, a->text, a->size, &s, &n) != FMD_OK)
        return fail(r, FMD_E_NOMEM);
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
    r->meta->words += fmd__kernel_count_words(s, n, &r->in_word);
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
        if (r->id_prefix.len != 0) { /* unique before the prefix: the same slugs as without */
            char *p = fmd_arena_alloc(r->scratch, r->id_prefix.len + id.len);
            if (p == NULL)
                return fail(r, FMD_E_NOMEM);
            memcpy(p, r->id_prefix.ptr, r->id_prefix.len);
            memcpy(p + r->id_prefix.len, id.ptr, id.len);
            id = (fmd_slice){p, r->id_prefix.len + id.len};
        }
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
        fmd_heading *h =
            fmd_arena_grow(r->scratch, m->headings, r->headings_cap * sizeof *h, cap * sizeof *h);
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
    if ((checked ? PUT_LIT(r, "<input type=\"checkbox\" class=\"task-list-item-checkbox\" "
                              "checked disabled")
                 : PUT_LIT(r, "<input type=\"checkbox\" class=\"task-list-item-checkbox\" "
                              "disabled")) ||
        PUT_VOID_END(r))
        return 1;
    return space ? PUT_LIT(r, " ") : 0;
}

/*** Footnote references and smart punctuation, in normal text ***/

static bool in_doc(const render_ctx *r, const char *p)
{
    return (uintptr_t)p >= (uintptr_t)r->doc && (uintptr_t)p < (uintptr_t)r->doc_end;
}

/* Was the character at p (the first of a text callback) backslash-escaped? md4c starts a new
 * text callback at an escaped character, so only a callback's first byte can be one; an odd run
 * of backslashes before it in the source says it is. */
static bool escaped(const render_ctx *r, const char *p)
{
    if (!in_doc(r, p))
        return false;
    size_t k = 0;
    while (p - k > r->doc && p[-(ptrdiff_t)k - 1] == '\\')
        k++;
    return (k & 1) != 0;
}

/* Text that is written as it is (escaped), and into the heading's plain text. */
static int emit(render_ctx *r, const char *s, size_t n)
{
    if (n == 0)
        return 0;
    if (put_escaped(r, s, n))
        return 1;
    return (r->in_heading && r->img_depth == 0) ? htext_put(r, s, n) : 0;
}

/* A replacement character (smart punctuation): needs no escaping. */
static int emit_raw(render_ctx *r, const char *s, size_t n)
{
    if (put(r, s, n))
        return 1;
    return (r->in_heading && r->img_depth == 0) ? htext_put(r, s, n) : 0;
}

/* The ID prefix (fmd_options.id_prefix): no byte of it needs escaping. */
static int put_id_prefix(render_ctx *r)
{
    return r->id_prefix.len != 0 && put(r, r->id_prefix.ptr, r->id_prefix.len);
}

/* Write footnote reference at[0..k) ("[^label]", its definition known): numbered at its first
 * reference, with an id of its own for each so that each gets a back-reference. In alt text
 * (an image's description) it writes nothing and does not count. */
static int put_ref(render_ctx *r, const char *at, size_t k)
{
    fmd__footnotes *fn = r->fn;
    fmd__footnote *d = fmd__kernel_footnote_find(fn, at + 2, k - 3);
    assert(d != NULL);
    if (r->img_depth != 0 || d == NULL)
        return 0;
    if (d->number == 0) {
        fn->order[fn->n_order++] = (size_t)(d - fn->defs);
        d->number = (unsigned)fn->n_order;
    }
    d->refs++;
    if (PUT_LIT(r, "<sup class=\"footnote-ref\"><a href=\"#") || put_id_prefix(r) ||
        PUT_LIT(r, "fn-") || put_url_encoded(r, d->label.ptr, d->label.len) ||
        PUT_LIT(r, "\" id=\"") || put_id_prefix(r) || PUT_LIT(r, "fnref-") ||
        put_url_encoded(r, d->label.ptr, d->label.len))
        return 1;
    if (d->refs > 1 && (PUT_LIT(r, "-") || put_uint(r, d->refs)))
        return 1;
    return PUT_LIT(r, "\" data-footnote-ref>") || put_uint(r, d->number) ||
           PUT_LIT(r, "</a></sup>");
}

/* A quote mark at s[i] (of a text s[0..n)): curly by cmark's rules. An opener is written as ’ or
 * “ and remembered; its closer, if one comes, makes it ‘ or “ (a single quote that never opens
 * a pair is an apostrophe). */
static int put_quote(render_ctx *r, const char *s, size_t i, size_t n)
{
    bool doc = in_doc(r, s);
    uint32_t before = fmd__kernel_utf8_before(doc ? r->doc : s, s + i);
    uint32_t after = fmd__kernel_utf8_at(s + i + 1, doc ? r->doc_end : s + n);
    bool can_open, can_close;
    fmd__kernel_smart_flanking(before, after, &can_open, &can_close);
    char kind = s[i];
    bool text = r->in_heading && r->img_depth == 0;
    if (can_close) {
        const fmd__quote *o = fmd__kernel_quotes_match(&r->quotes, kind);
        if (o != NULL) {
            char third = kind == '\'' ? LSQUO[2] : LDQUO[2];
            r->html->ptr[o->html_at + 2] = third;
            if (o->text_at != SIZE_MAX)
                r->htext.ptr[o->text_at + 2] = third;
        }
    } else if (can_open) {
        if (fmd__kernel_quotes_push(&r->quotes, kind, r->html->len,
                                    text ? r->htext.len : SIZE_MAX) != FMD_OK)
            return fail(r, FMD_E_NOMEM);
    }
    if (kind == '\'')
        return emit_raw(r, RSQUO, 3);
    return can_close ? emit_raw(r, RDQUO, 3) : emit_raw(r, LDQUO, 3);
}

/* Remember a piece of a split reference, to write as text should it not complete. */
static int push_ref_piece(render_ctx *r, const char *s, size_t n)
{
    if (r->ref_n == r->ref_cap) {
        size_t cap = r->ref_cap ? r->ref_cap * 2 : 8;
        fmd_slice *p =
            fmd_arena_grow(r->scratch, r->ref_pieces, r->ref_cap * sizeof *p, cap * sizeof *p);
        if (p == NULL)
            return fail(r, FMD_E_NOMEM);
        r->ref_pieces = p;
        r->ref_cap = cap;
    }
    r->ref_pieces[r->ref_n++] = (fmd_slice){s, n};
    return 0;
}

/* Normal text when footnotes or smart punctuation are on: references, quotes, dashes and
 * ellipses are replaced, the runs between them written as they are. @p first_is_text: s[0] is
 * a '[' already known not to start a reference. */
static int put_text_special(render_ctx *r, const char *s, size_t n, bool first_is_text)
{
    size_t i = 0, run = 0;
    unsigned mask = r->in_autolink ? 0u : r->special;
    if (r->ref_at != NULL) {
        /* More of a reference that began in an earlier callback (on_text_x checked that this
         * piece continues it). */
        if (s + n < r->ref_end) {
            r->ref_next = s + n;
            return push_ref_piece(r, s, n);
        }
        const char *at = r->ref_at;
        r->ref_at = NULL;
        if (put_ref(r, at, (size_t)(r->ref_end - at)))
            return 1;
        i = run = (size_t)(r->ref_end - s);
    }
    if (mask == 0)
        i = n;
    for (; i < n; i++) {
        /* The tight loop: most bytes are none of [ " ' - . */
        while (i < n && (special_class[(unsigned char)s[i]] & mask) == 0)
            i++;
        if (i == n)
            break;
        unsigned cls = special_class[(unsigned char)s[i]] & mask;
        if (i == 0 && (first_is_text || escaped(r, s)))
            continue;
        if (cls == SPEC_REF) {
            const char *end = in_doc(r, s) ? r->doc_end : s + n;
            size_t label, k = fmd__kernel_footnote_ref(s + i, (size_t)(end - (s + i)), &label);
            if (k == 0 || fmd__kernel_footnote_find(r->fn, s + i + 2, label) == NULL)
                continue; /* not a reference to a defined footnote: text */
            if (emit(r, s + run, i - run))
                return 1;
            if (i + k > n) {
                /* md4c split the text inside the reference: wait for the rest. */
                r->ref_at = s + i;
                r->ref_end = s + i + k;
                r->ref_next = s + n;
                r->ref_n = 0;
                return push_ref_piece(r, s + i, n - i);
            }
            if (put_ref(r, s + i, k))
                return 1;
            i += k - 1;
        } else if (cls == SPEC_QUOTE) {
            if (emit(r, s + run, i - run) || put_quote(r, s, i, n))
                return 1;
        } else if (cls == SPEC_DASH) {
            size_t k = 1, em, en;
            while (i + k < n && s[i + k] == '-')
                k++;
            if (k == 1)
                continue;
            if (emit(r, s + run, i - run))
                return 1;
            fmd__kernel_smart_dashes(k, &em, &en);
            for (; em != 0; em--)
                if (emit_raw(r, MDASH, 3))
                    return 1;
            for (; en != 0; en--)
                if (emit_raw(r, NDASH, 3))
                    return 1;
            i += k - 1;
        } else {
            if (i + 2 >= n || s[i + 1] != '.' || s[i + 2] != '.')
                continue;
            if (emit(r, s + run, i - run) || emit_raw(r, HELLIP, 3))
                return 1;
            i += 2;
        }
        run = i + 1;
    }
    return emit(r, s + run, n - run);
}

/* A reference split across text callbacks was not completed: its pieces were text after all.
 * Called first by every callback that does not continue it. (A piece holds no '[', so writing
 * it starts no other reference.) */
static int flush_ref(render_ctx *r)
{
    r->ref_at = NULL;
    for (size_t k = 0; k < r->ref_n; k++)
        if (put_text_special(r, r->ref_pieces[k].ptr, r->ref_pieces[k].len, k == 0))
            return 1;
    return 0;
}

/* Does the text s[0..n) continue the pending reference? It must come later in the source,
 * inside the reference, with nothing but the backslashes of escapes skipped in between. */
static bool continues_ref(const render_ctx *r, const char *s)
{
    if (!in_doc(r, s) || s < r->ref_next || s >= r->ref_end)
        return false;
    for (const char *p = r->ref_next; p < s; p++)
        if (*p != '\\')
            return false;
    return true;
}

#define FLUSH_REF(r)                                                                               \
    do {                                                                                           \
        if ((r)->ref_at != NULL && flush_ref(r))                                                   \
            return 1;                                                                              \
    } while (0)

/* Is the link whose first text is s[0..n) an autolink (<https://...>, www.x, a@b)? md4c gives
 * its text as one piece, equal to the destination or to it without "http://" or "mailto:". */
static bool is_autolink(const render_ctx *r, const char *s, size_t n)
{
    const char *h = r->href.ptr;
    size_t hn = r->href.len;
    if (n == 0)
        return false;
    if (hn == n)
        return memcmp(h, s, n) == 0;
    if (hn == n + 7 && (memcmp(h, "http://", 7) == 0 || memcmp(h, "mailto:", 7) == 0))
        return memcmp(h + 7, s, n) == 0;
    return false;
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
    case MD_BLOCK_DOC: break;
    case MD_BLOCK_QUOTE: rc = put_cr(r) || PUT_LIT(r, "<blockquote>\n"); break;
    case MD_BLOCK_UL: rc = put_cr(r) || PUT_LIT(r, "<ul>\n"); break;
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
        rc = put_cr(r) || PUT_LIT(r, "<hr") || PUT_VOID_END(r) || PUT_LIT(r, "\n");
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
    case MD_BLOCK_TABLE: rc = put_cr(r) || PUT_LIT(r, "<table>\n"); break;
    case MD_BLOCK_THEAD: rc = PUT_LIT(r, "<thead>\n"); break;
    case MD_BLOCK_TBODY: rc = PUT_LIT(r, "<tbody>\n"); break;
    case MD_BLOCK_TR: rc = PUT_LIT(r, "<tr>\n"); break;
    case MD_BLOCK_TH: rc = PUT_LIT(r, "<th") || put_align(r, detail); break;
    case MD_BLOCK_TD: rc = PUT_LIT(r, "<td") || put_align(r, detail); break;
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
    case MD_BLOCK_DOC: break;
    case MD_BLOCK_QUOTE: rc = put_cr(r) || PUT_LIT(r, "</blockquote>\n"); break;
    case MD_BLOCK_UL: rc = put_cr(r) || PUT_LIT(r, "</ul>\n"); break;
    case MD_BLOCK_OL: rc = put_cr(r) || PUT_LIT(r, "</ol>\n"); break;
    case MD_BLOCK_LI:
        rc = (r->task_pending && flush_task(r, false)) || PUT_LIT(r, "</li>\n");
        break;
    case MD_BLOCK_HR: break;
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
    case MD_BLOCK_P: rc = PUT_LIT(r, "</p>\n"); break;
    case MD_BLOCK_TABLE: rc = PUT_LIT(r, "</table>\n"); break;
    case MD_BLOCK_THEAD: rc = PUT_LIT(r, "</thead>\n"); break;
    case MD_BLOCK_TBODY: rc = PUT_LIT(r, "</tbody>\n"); break;
    case MD_BLOCK_TR: rc = PUT_LIT(r, "</tr>\n"); break;
    case MD_BLOCK_TH: rc = PUT_LIT(r, "</th>\n"); break;
    case MD_BLOCK_TD: rc = PUT_LIT(r, "</td>\n"); break;
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
    case MD_SPAN_EM: rc = PUT_LIT(r, "<em>"); break;
    case MD_SPAN_STRONG: rc = PUT_LIT(r, "<strong>"); break;
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
    case MD_SPAN_CODE: rc = PUT_LIT(r, "<code>"); break;
    case MD_SPAN_DEL: rc = PUT_LIT(r, "<del>"); break;
    case MD_SPAN_U: rc = PUT_LIT(r, "<u>"); break;
    default: break; /* LaTeX and wiki links are not enabled */
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
        if (PUT_LIT(r, "\"") || put_title(r, &d->title) || PUT_VOID_END(r))
            return 1;
        return done(r);
    }
    int rc = 0;
    switch (type) {
    case MD_SPAN_EM: rc = PUT_LIT(r, "</em>"); break;
    case MD_SPAN_STRONG: rc = PUT_LIT(r, "</strong>"); break;
    case MD_SPAN_A: rc = PUT_LIT(r, "</a>"); break;
    case MD_SPAN_CODE: rc = PUT_LIT(r, "</code>"); break;
    case MD_SPAN_DEL: rc = PUT_LIT(r, "</del>"); break;
    case MD_SPAN_U: rc = PUT_LIT(r, "</u>"); break;
    default: break;
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
    if (!hard)
        return PUT_LIT(r, "\n");
    return PUT_LIT(r, "<br") || PUT_VOID_END(r) || PUT_LIT(r, "\n");
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
    case MD_TEXT_SOFTBR: return put_break(r, type == MD_TEXT_BR) ? 1 : done(r);
    default: piece_text(type, &s, &n, dec); break;
    }
    if (r->task_pending && flush_task(r, true))
        return 1;
    if (r->img_depth != 0 || r->in_code_block)
        return put_escaped(r, s, n) ? 1 : done(r);
    /* Escaped and counted in one pass; the block's text around s may be read in whole blocks. */
    if (fmd__kernel_escape_text(r->html, s, n, r->doc, r->doc_end, &r->in_word, &r->meta->words) !=
        FMD_OK)
        return fail(r, FMD_E_NOMEM);
    if (r->in_heading && htext_put(r, s, n))
        return 1;
    return done(r);
}

/*** Callbacks with footnotes or smart punctuation on ***/

/* These wrap the callbacks above with what the features need, so that with both features off
 * (the default) md4c calls the plain ones and the renderer does not pay for them. */

static int enter_block_x(MD_BLOCKTYPE type, void *detail, void *userdata)
{
    render_ctx *r = userdata;
    STOP_IF_FAILED(r);
    FLUSH_REF(r);
    r->depth++;
    if (r->smart)
        fmd__kernel_quotes_reset(&r->quotes);
    return enter_block(type, detail, userdata);
}

static int leave_block_x(MD_BLOCKTYPE type, void *detail, void *userdata)
{
    render_ctx *r = userdata;
    STOP_IF_FAILED(r);
    FLUSH_REF(r);
    if (r->depth-- == 2)
        r->last_top = type;
    if (r->smart)
        fmd__kernel_quotes_reset(&r->quotes);
    return leave_block(type, detail, userdata);
}

static int enter_span_x(MD_SPANTYPE type, void *detail, void *userdata)
{
    render_ctx *r = userdata;
    STOP_IF_FAILED(r);
    FLUSH_REF(r);
    r->link_first = type == MD_SPAN_A;
    if (type == MD_SPAN_A) {
        /* md4c may free the destination when this callback returns: keep a copy. */
        const MD_SPAN_A_DETAIL *d = detail;
        r->href.len = 0;
        if (fmd_buf_append(&r->href, d->href.text, d->href.size) != FMD_OK)
            return fail(r, FMD_E_NOMEM);
    }
    /* Links and images bound the quotes that pair; every span drops its unpaired openers. */
    if (r->smart && fmd__kernel_quotes_enter_span(&r->quotes, type == MD_SPAN_A ||
                                                                  type == MD_SPAN_IMG) != FMD_OK)
        return fail(r, FMD_E_NOMEM);
    return enter_span(type, detail, userdata);
}

static int leave_span_x(MD_SPANTYPE type, void *detail, void *userdata)
{
    render_ctx *r = userdata;
    STOP_IF_FAILED(r);
    FLUSH_REF(r);
    if (type == MD_SPAN_A)
        r->in_autolink = r->link_first = false;
    if (r->smart)
        fmd__kernel_quotes_leave_span(&r->quotes);
    return leave_span(type, detail, userdata);
}

static int on_text_x(MD_TEXTTYPE type, const MD_CHAR *text, MD_SIZE size, void *userdata)
{
    render_ctx *r = userdata;
    STOP_IF_FAILED(r);
    const char *s = text;
    size_t n = size;
    if (r->ref_at != NULL && (type != MD_TEXT_NORMAL || !continues_ref(r, s)) && flush_ref(r))
        return 1;
    if (r->link_first) {
        r->link_first = false;
        r->in_autolink = type == MD_TEXT_NORMAL && is_autolink(r, s, n);
    }
    if (type != MD_TEXT_NORMAL)
        return on_text(type, text, size, userdata);
    if (r->task_pending && flush_task(r, true))
        return 1;
    if (r->img_depth == 0)
        count_words(r, s, n);
    return put_text_special(r, s, n, false) ? 1 : done(r);
}

#if FMD_OWN_PARSER
/* fastmd's parser reports the bytes that a block's texts point into: the source, or its copy of
 * the block's lines. The look-arounds of smart punctuation and footnote references stay in it. */
static void on_source(const MD_CHAR *beg, const MD_CHAR *end, void *userdata)
{
    render_ctx *r = userdata;
    r->doc = beg;
    r->doc_end = end;
}
#endif

/*** The footnotes section ***/

/* Parse one document (the page or a footnote) with the callbacks. */
static int parse_doc(render_ctx *r, const MD_PARSER *parser, const char *doc, size_t len)
{
    r->doc = doc;
    r->doc_end = doc + len;
    r->depth = 0;
    r->last_top = MD_BLOCK_DOC;
    r->doc_len = len;
#if FMD_OWN_PARSER
    return fmd__kernel_md_parse(doc, len, parser, r, r->scratch);
#else
    return md_parse(doc, (MD_SIZE)len, parser, r);
#endif
}

/* The back-references of @p d, space-separated: the k-th points at fnref-LABEL-k. */
static int put_backrefs(render_ctx *r, const fmd__footnote *d)
{
    for (unsigned k = 1; k <= d->refs; k++) {
        if ((k > 1 && PUT_LIT(r, " ")) || PUT_LIT(r, "<a href=\"#") || put_id_prefix(r) ||
            PUT_LIT(r, "fnref-") || put_url_encoded(r, d->label.ptr, d->label.len))
            return 1;
        if (k > 1 && (PUT_LIT(r, "-") || put_uint(r, k)))
            return 1;
        if (PUT_LIT(r, "\" class=\"footnote-backref\" data-footnote-backref "
                       "aria-label=\"Back to content\">\xE2\x86\xA9"))
            return 1;
        if (k > 1 &&
            (PUT_LIT(r, "<sup class=\"footnote-ref\">") || put_uint(r, k) || PUT_LIT(r, "</sup>")))
            return 1;
        if (PUT_LIT(r, "</a>"))
            return 1;
    }
    return 0;
}

/* After the page: render each referenced definition, in order of number. A definition may
 * reference footnotes not yet numbered, so the list grows while it is rendered, and the number
 * of back-references is known only at the end: each body goes to a buffer of its own first,
 * then the section is written as cmark-gfm writes it, the back-references inside the last
 * paragraph when the definition ends with one, else after its last block. */
static int render_footnotes(render_ctx *r, const MD_PARSER *parser)
{
    fmd__footnotes *fn = r->fn;
    fmd_buf *page = r->html;
    size_t max = r->max_output, used = page->len;
    fmd_buf *bodies = fmd_arena_alloc(r->scratch, fn->n * sizeof *bodies);
    bool *ends_in_p = fmd_arena_alloc(r->scratch, fn->n * sizeof *ends_in_p);
    if (bodies == NULL || ends_in_p == NULL)
        return fail(r, FMD_E_NOMEM);
    int rc = 0;
    size_t page_len = r->doc_len; /* the page's body, parsed just now */
    size_t budget = page_len > (SIZE_MAX - FMD_FOOTNOTE_REFDEFS_SLACK) / FMD_FOOTNOTE_REFDEFS_RATIO
                        ? SIZE_MAX
                        : page_len * FMD_FOOTNOTE_REFDEFS_RATIO + FMD_FOOTNOTE_REFDEFS_SLACK;
    for (size_t k = 0; k < fn->n_order && rc == 0; k++) {
        const fmd__footnote *d = &fn->defs[fn->order[k]];
        fmd_slice doc;
        if (fmd__kernel_footnote_doc(fn, d, &budget, r->scratch, &doc) != FMD_OK) {
            rc = fail(r, FMD_E_NOMEM);
            break;
        }
        fmd_buf_reset(&bodies[k], r->scratch);
        r->html = &bodies[k];
        r->max_output = max > used ? max - used : 0;
        rc = parse_doc(r, parser, doc.ptr, doc.len);
        ends_in_p[k] = r->last_top == MD_BLOCK_P && bodies[k].len >= 5 &&
                       memcmp(bodies[k].ptr + bodies[k].len - 5, "</p>\n", 5) == 0;
        used += bodies[k].len;
    }
    r->html = page;
    r->max_output = max;
    if (rc != 0)
        return rc;
    if (put_cr(r) || PUT_LIT(r, "<section class=\"footnotes\" data-footnotes>\n<ol>\n"))
        return 1;
    for (size_t k = 0; k < fn->n_order; k++) {
        const fmd__footnote *d = &fn->defs[fn->order[k]];
        const fmd_buf *b = &bodies[k];
        if (PUT_LIT(r, "<li id=\"") || put_id_prefix(r) || PUT_LIT(r, "fn-") ||
            put_url_encoded(r, d->label.ptr, d->label.len) || PUT_LIT(r, "\">\n"))
            return 1;
        if (ends_in_p[k]) {
            if (put(r, b->ptr, b->len - 5) || PUT_LIT(r, " ") || put_backrefs(r, d) ||
                PUT_LIT(r, "</p>\n"))
                return 1;
        } else {
            if (put(r, b->ptr, b->len) || put_cr(r) || put_backrefs(r, d) || PUT_LIT(r, "\n"))
                return 1;
        }
        if (PUT_LIT(r, "</li>\n") || done(r))
            return 1;
    }
    return PUT_LIT(r, "</ol>\n</section>\n") ? 1 : done(r);
}

/*** Entry point ***/

fmd_status fmd__kernel_render_html(const char *body, size_t len, const fmd_options *opt,
                                   size_t max_output, fmd_buf *html, fmd_arena *scratch,
                                   fmd__render_meta *meta)
{
    fmd__links *page_links = meta->page_links; /* the one input field */
    memset(meta, 0, sizeof *meta);
    meta->page_links = page_links;
    meta->st = FMD_OK;
    /* page.c refuses pages over the input limit long before 4 GiB; this guards the conversion
     * to md4c's 32-bit MD_SIZE should a caller skip that check. */
    assert(len < UINT_MAX);
    if (len >= UINT_MAX) {
        meta->st = FMD_E_INPUT_LIMIT;
        return meta->st;
    }
    /* Footnote definitions leave the body before md4c sees it (it would take them for link
     * reference definitions); they are rendered after the page. */
    fmd__footnotes fn;
    bool have_fn = false;
    if (opt->extensions & FMD_EXT_FOOTNOTES) {
        fmd_slice rest;
        if (fmd__kernel_footnotes_extract(body != NULL ? body : "", len, scratch, &fn, &rest) !=
            FMD_OK) {
            meta->st = FMD_E_NOMEM;
            return meta->st;
        }
        body = rest.ptr;
        len = rest.len;
        have_fn = fn.n != 0;
    }
    /* md4c 0.4.8 reads past the end of a page that does not end in a newline (an unclosed link
     * destination at the very end: "[a](/x") and may then even render the bytes it finds there,
     * which in a batch are the next page's. A final '\n' changes no CommonMark output, so such a
     * page is parsed from a copy that has one. Most pages end in a newline: no copy. */
    if (!FMD_OWN_PARSER && len != 0 && body[len - 1] != '\n') {
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
        .deadline = opt->deadline_ms ? omp_get_wtime() + opt->deadline_ms / 1000.0 : 0,
        .unsafe = opt->unsafe,
        .heading_ids = opt->heading_ids,
        .id_prefix = {opt->id_prefix, opt->id_prefix != NULL ? strlen(opt->id_prefix) : 0},
        .xhtml = opt->xhtml,
        .smart = (opt->extensions & FMD_EXT_SMART) != 0,
        .fn = have_fn ? &fn : NULL,
    };
    r.special = (r.smart ? (unsigned)(SPEC_QUOTE | SPEC_DASH | SPEC_DOT) : 0u) |
                (have_fn ? (unsigned)SPEC_REF : 0u);
    fmd_buf_reset(&r.htext, scratch);
    fmd_buf_reset(&r.tmp, scratch);
    fmd_buf_reset(&r.href, scratch);
    if (r.smart)
        fmd__kernel_quotes_init(&r.quotes, scratch);

    /* Raw HTML is always parsed (so it is never shown as text); safe mode drops it when
     * rendering. Each extension maps to md4c's flags; FMD_EXT_GFM is md4c's GitHub dialect. */
    unsigned ext = opt->extensions;
    MD_PARSER parser = {
        .abi_version = 0,
        .flags = ((ext & FMD_EXT_TABLES) ? MD_FLAG_TABLES : 0u) |
                 ((ext & FMD_EXT_STRIKETHROUGH) ? MD_FLAG_STRIKETHROUGH : 0u) |
                 ((ext & FMD_EXT_TASKLISTS) ? MD_FLAG_TASKLISTS : 0u) |
                 ((ext & FMD_EXT_AUTOLINKS) ? MD_FLAG_PERMISSIVEAUTOLINKS : 0u)
#if FMD_OWN_PARSER
                 | ((ext & FMD_EXT_FOOTNOTES) ? MD_FLAG_FOOTNOTES : 0u)
#endif
            ,
        .enter_block = r.special ? enter_block_x : enter_block,
        .leave_block = r.special ? leave_block_x : leave_block,
        .enter_span = r.special ? enter_span_x : enter_span,
        .leave_span = r.special ? leave_span_x : leave_span,
        .text = r.special ? on_text_x : on_text,
#if FMD_OWN_PARSER
        .source = on_source,
        .deadline = r.deadline,
#endif
    };
    int rc = parse_doc(&r, &parser, body != NULL ? body : "", len);
    if (rc == 0 && have_fn && fn.n_order != 0)
        rc = render_footnotes(&r, &parser);
#if FMD_OWN_PARSER
    if (rc == FMD_MD_DEADLINE && meta->st == FMD_OK)
        meta->st = FMD_E_DEADLINE;
    if (rc == FMD_MD_NOMEM && meta->st == FMD_OK)
        meta->st = FMD_E_NOMEM;
#endif
    if (rc != 0 && meta->st == FMD_OK)
        meta->st = FMD_E_PARSE;
    return meta->st;
}
