/* SPDX-License-Identifier: MIT */
/* Page templates: a full HTML page around a rendered fragment. A template is text with
 * placeholders, {{title}}, {{content}}, {{toc}} and {{fm.KEY}}, compiled once into segments and
 * filled per page from its result. Everything but {{content}} is HTML-escaped. Pure: no I/O, no
 * global state; the compiled template is read-only and shared by every thread. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/*** Compiling ***/

typedef enum seg_kind {
    SEG_TEXT,    /* literal template text */
    SEG_TITLE,   /* the page title, escaped */
    SEG_CONTENT, /* the page's HTML, as it is */
    SEG_TOC,     /* a list of links to the page's headings */
    SEG_FM,      /* a front matter field, escaped */
} seg_kind;

typedef struct seg {
    seg_kind kind;
    fmd_slice text; /* SEG_TEXT: the text; SEG_FM: the key */
} seg;

/* A compiled template: the segments in order. Example: "<h1>{{ title }}</h1>{{content}}" is
 * {TEXT "<h1>"} {TITLE} {TEXT "</h1>"} {CONTENT}. Lives in the arena it was compiled into. */
struct fmd_template {
    seg *segs;
    size_t n;
    uint64_t hash; /* of the template's text */
};

/* The built-in template of --full-html: valid HTML5, UTF-8, no external resource, and only
 * relative links (the table of contents' #anchors), so that it works from file://. */
static const char builtin[] =
    "<!DOCTYPE html>\n"
    "<html>\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>{{title}}</title>\n"
    "<style>\n"
    "body{max-width:46rem;margin:2rem auto;padding:0 1rem;font:16px/1.5 system-ui,sans-serif}\n"
    "nav.toc{border-left:3px solid #ccc;padding-left:1rem;font-size:.9rem}\n"
    "pre{overflow:auto;background:#f4f4f4;padding:.5rem}img{max-width:100%}\n"
    "</style>\n"
    "</head>\n"
    "<body>\n"
    "<nav class=\"toc\">{{toc}}</nav>\n"
    "<main>\n"
    "{{content}}</main>\n"
    "</body>\n"
    "</html>\n";

uint64_t fmd_kernel_template_hash(const fmd_template *t)
{
    return t != NULL ? t->hash : 0;
}

const char *fmd_kernel_template_builtin(void)
{
    return builtin;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Append "line L, column C: " and @p why to @p msg (when not NULL). */
static void say(fmd_buf *msg, unsigned line, unsigned col, const char *why, const char *name,
                size_t name_len)
{
    if (msg == NULL)
        return;
    char head[64];
    int k = snprintf(head, sizeof head, "line %u, column %u: ", line, col);
    if (k > 0 && fmd_buf_append(msg, head, (size_t)k) == FMD_OK &&
        fmd_buf_puts(msg, why) == FMD_OK && name != NULL) {
        (void)(FMD_BUF_PUT_LIT(msg, " '") == FMD_OK &&
               fmd_buf_append(msg, name, name_len > 64 ? 64 : name_len) == FMD_OK &&
               FMD_BUF_PUT_LIT(msg, "'") == FMD_OK);
    }
}

/* Append one segment, growing the array (in the arena) by doubling. */
static fmd_status push(fmd_arena *a, fmd_template *t, size_t *cap, seg s)
{
    if (t->n == *cap) {
        size_t nc = *cap ? 2 * *cap : 8;
        seg *v = fmd_arena_alloc(a, nc * sizeof *v);
        if (v == NULL)
            return FMD_E_NOMEM;
        if (t->n != 0)
            memcpy(v, t->segs, t->n * sizeof *v);
        t->segs = v;
        *cap = nc;
    }
    t->segs[t->n++] = s;
    return FMD_OK;
}

static bool is_key_byte(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

fmd_status fmd_kernel_template_compile(const char *text, size_t n, fmd_arena *arena,
                                       fmd_template **out, fmd_buf *msg)
{
    *out = NULL;
    if (text == NULL)
        text = "";
    fmd_template *t = fmd_arena_alloc(arena, sizeof *t);
    if (t == NULL)
        return FMD_E_NOMEM;
    t->segs = NULL;
    t->n = 0;
    t->hash = fmd__kernel_hash(text, n);
    size_t cap = 0;
    bool has_content = false;
    unsigned line = 1;
    size_t line_start = 0, lit = 0, i = 0;
    fmd_status st;
    while (i < n) {
        if (text[i] == '\n') {
            line++;
            line_start = ++i;
            continue;
        }
        if (text[i] != '{' || i + 1 >= n || text[i + 1] != '{') {
            i++;
            continue;
        }
        unsigned col = (unsigned)(i - line_start) + 1;
        /* A placeholder: "{{", optional blanks, a name, optional blanks, "}}" on one line. */
        size_t j = i + 2;
        while (j < n && is_space(text[j]))
            j++;
        size_t name = j;
        while (j < n && is_key_byte(text[j]))
            j++;
        size_t name_end = j;
        while (j < n && is_space(text[j]))
            j++;
        if (j + 1 >= n || text[j] != '}' || text[j + 1] != '}') {
            if (name_end == name)
                say(msg, line, col, "'{{' is not followed by a placeholder name", NULL, 0);
            else if (j < n && text[j] != '\n' && text[j] != '}')
                say(msg, line, col, "a placeholder name may hold only A-Z a-z 0-9 _ - . in",
                    text + name, name_end - name + 1);
            else
                say(msg, line, col, "no closing '}}' on the line of placeholder", text + name,
                    name_end - name);
            return FMD_E_USAGE;
        }
        size_t len = name_end - name;
        const char *s = text + name;
        seg g = {SEG_TEXT, {NULL, 0}};
        if (len == 5 && memcmp(s, "title", 5) == 0)
            g.kind = SEG_TITLE;
        else if (len == 7 && memcmp(s, "content", 7) == 0)
            g.kind = SEG_CONTENT;
        else if (len == 3 && memcmp(s, "toc", 3) == 0)
            g.kind = SEG_TOC;
        else if (len > 3 && memcmp(s, "fm.", 3) == 0) {
            g.kind = SEG_FM;
            g.text.ptr = s + 3;
            g.text.len = len - 3;
        } else {
            say(msg, line, col,
                len == 0 ? "empty placeholder"
                         : "unknown placeholder (known: title, content, "
                           "toc, fm.KEY):",
                len == 0 ? NULL : s, len);
            return FMD_E_USAGE;
        }
        if (i > lit) {
            seg lt = {SEG_TEXT, {text + lit, i - lit}};
            if ((st = push(arena, t, &cap, lt)) != FMD_OK)
                return st;
        }
        if ((st = push(arena, t, &cap, g)) != FMD_OK)
            return st;
        has_content |= g.kind == SEG_CONTENT;
        i = lit = j + 2;
    }
    if (!has_content) {
        say(msg, line, 1, "the template has no {{content}} placeholder", NULL, 0);
        return FMD_E_USAGE;
    }
    if (n > lit) {
        seg lt = {SEG_TEXT, {text + lit, n - lit}};
        if ((st = push(arena, t, &cap, lt)) != FMD_OK)
            return st;
    }
    /* The key slices point into the caller's text: copy what the template keeps. */
    for (size_t k = 0; k < t->n; k++) {
        if (t->segs[k].text.len == 0)
            continue;
        char *c = fmd_arena_dup(arena, t->segs[k].text.ptr, t->segs[k].text.len);
        if (c == NULL)
            return FMD_E_NOMEM;
        t->segs[k].text.ptr = c;
    }
    *out = t;
    return FMD_OK;
}

/*** Front matter fields: a look-up in the compact JSON object the kernel made ***/

/* The end of the JSON string whose opening quote is at s[i]: the index just past its closing
 * quote, or n when it is not closed. */
static size_t skip_string(const char *s, size_t i, size_t n)
{
    for (i++; i < n; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"')
            return i + 1;
    }
    return n;
}

/* The end of the JSON value that starts at s[i]. */
static size_t skip_value(const char *s, size_t i, size_t n)
{
    if (i < n && s[i] == '"')
        return skip_string(s, i, n);
    size_t depth = 0;
    for (; i < n; i++) {
        char c = s[i];
        if (c == '"') {
            i = skip_string(s, i, n) - 1;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return i;
            if (--depth == 0)
                return i + 1;
        } else if (c == ',' && depth == 0) {
            return i;
        }
    }
    return n;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        return (c | 0x20) - 'a' + 10;
    return -1;
}

static unsigned hex4(const char *s)
{
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexval(s[k]);
        v = (v << 4) | (unsigned)(h < 0 ? 0 : h);
    }
    return v;
}

/* Append the JSON string s[i..end) (quotes included) decoded and HTML-escaped. */
static fmd_status put_string(fmd_buf *out, const char *s, size_t i, size_t end)
{
    fmd_status st = FMD_OK;
    size_t run = i + 1;
    end--; /* the closing quote */
    for (size_t k = i + 1; k < end && st == FMD_OK; k++) {
        if (s[k] != '\\')
            continue;
        st = fmd__kernel_escape_html(out, s + run, k - run);
        if (st != FMD_OK || k + 1 >= end)
            break;
        char c = s[++k], one[4];
        size_t len = 1;
        switch (c) {
        case 'n': one[0] = '\n'; break;
        case 't': one[0] = '\t'; break;
        case 'r': one[0] = '\r'; break;
        case 'b': one[0] = '\b'; break;
        case 'f': one[0] = '\f'; break;
        case 'u': {
            uint32_t cp = k + 4 < end ? hex4(s + k + 1) : 0xFFFD;
            k += k + 4 < end ? 4 : 0;
            if (cp >= 0xD800 && cp < 0xDC00 && k + 6 < end && s[k + 1] == '\\' && s[k + 2] == 'u') {
                uint32_t lo = hex4(s + k + 3);
                if (lo >= 0xDC00 && lo < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    k += 6;
                }
            }
            if (cp >= 0xD800 && cp < 0xE000)
                cp = 0xFFFD;
            len = fmd__kernel_utf8_encode(cp, one);
            break;
        }
        default: one[0] = c; break; /* \" \\ \/ */
        }
        st = fmd__kernel_escape_html(out, one, len);
        run = k + 1;
    }
    if (st == FMD_OK && end > run)
        st = fmd__kernel_escape_html(out, s + run, end - run);
    return st;
}

/* Append a scalar JSON value s[i..end): strings decoded, numbers and booleans as written, null
 * as nothing. */
static fmd_status put_scalar(fmd_buf *out, const char *s, size_t i, size_t end)
{
    if (s[i] == '"')
        return put_string(out, s, i, end);
    if (end - i == 4 && memcmp(s + i, "null", 4) == 0)
        return FMD_OK;
    return fmd__kernel_escape_html(out, s + i, end - i);
}

/* Append the value of top-level key @p key of the JSON object @p fm: a scalar as put_scalar
 * does, an array's scalars joined by ", ", nothing for an object or a missing key. */
static fmd_status put_field(fmd_buf *out, fmd_slice fm, fmd_slice key)
{
    const char *s = fm.ptr;
    size_t n = fm.len, i = 1;
    if (s == NULL || n < 2 || s[0] != '{')
        return FMD_OK;
    while (i < n && s[i] == '"') {
        size_t kend = skip_string(s, i, n);
        /* The kernel's JSON keys are escaped only for quotes, backslashes and controls: compare
         * the raw bytes, which equal the key for every key a template can name. */
        bool match = kend - i - 2 == key.len && memcmp(s + i + 1, key.ptr, key.len) == 0;
        size_t v = kend + 1; /* past ':' */
        if (v >= n)
            return FMD_OK;
        size_t vend = skip_value(s, v, n);
        if (match) {
            if (s[v] == '{')
                return FMD_OK;
            if (s[v] != '[')
                return put_scalar(out, s, v, vend);
            size_t k = v + 1, items = 0;
            while (k < vend - 1 && s[k] != ']') {
                size_t e = skip_value(s, k, vend - 1);
                if (s[k] != '{' && s[k] != '[') {
                    fmd_status st = FMD_OK;
                    if (items++ != 0)
                        st = FMD_BUF_PUT_LIT(out, ", ");
                    if (st == FMD_OK)
                        st = put_scalar(out, s, k, e);
                    if (st != FMD_OK)
                        return st;
                }
                k = e + (e < vend - 1 && s[e] == ',');
            }
            return FMD_OK;
        }
        i = vend + 1; /* past ',' */
    }
    return FMD_OK;
}

/*** Filling ***/

/* The table of contents: one list item per heading, with its level as a class, linking to its
 * id (no link when heading ids are off). Flat, so that any heading order gives valid HTML. */
static fmd_status put_toc(fmd_buf *out, const fmd_result *res)
{
    if (res->n_headings == 0)
        return FMD_OK;
    fmd_status st = FMD_BUF_PUT_LIT(out, "<ul>\n");
    for (size_t i = 0; i < res->n_headings && st == FMD_OK; i++) {
        const fmd_heading *h = &res->headings[i];
        char open[40];
        int k = snprintf(open, sizeof open, "<li class=\"toc-h%d\">", h->level);
        st = fmd_buf_append(out, open, (size_t)k);
        if (st == FMD_OK && h->id.len != 0) {
            st = FMD_BUF_PUT_LIT(out, "<a href=\"#");
            if (st == FMD_OK)
                st = fmd__kernel_escape_html(out, h->id.ptr, h->id.len);
            if (st == FMD_OK)
                st = FMD_BUF_PUT_LIT(out, "\">");
        }
        if (st == FMD_OK)
            st = fmd__kernel_escape_html(out, h->text.ptr, h->text.len);
        if (st == FMD_OK && h->id.len != 0)
            st = FMD_BUF_PUT_LIT(out, "</a>");
        if (st == FMD_OK)
            st = FMD_BUF_PUT_LIT(out, "</li>\n");
    }
    if (st == FMD_OK)
        st = FMD_BUF_PUT_LIT(out, "</ul>\n");
    return st;
}

fmd_status fmd_kernel_template_fill(const fmd_template *t, const fmd_result *res, fmd_buf *out)
{
    fmd_status st = FMD_OK;
    for (size_t i = 0; i < t->n && st == FMD_OK; i++) {
        const seg *g = &t->segs[i];
        switch (g->kind) {
        case SEG_TEXT: st = fmd_buf_append(out, g->text.ptr, g->text.len); break;
        case SEG_CONTENT: st = fmd_buf_append(out, res->html.ptr, res->html.len); break;
        case SEG_TITLE:
            st = res->title.ptr != NULL
                     ? fmd__kernel_escape_html(out, res->title.ptr, res->title.len)
                     : FMD_BUF_PUT_LIT(out, "Untitled");
            break;
        case SEG_TOC: st = put_toc(out, res); break;
        case SEG_FM: st = put_field(out, res->frontmatter, g->text); break;
        }
    }
    return st;
}
