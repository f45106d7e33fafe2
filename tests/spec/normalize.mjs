// SPDX-License-Identifier: MIT
// HTML normalisation for the spec runners (run-spec.mjs, run-gfm-spec.mjs): the spec's
// test/normalize.py, reimplemented, so that two renderings compare equal when they differ only in
// ways HTML does not care about. normalize(html) returns the normalised string.

/*** Normalisation, as the spec's test/normalize.py does it ***
 * - whitespace runs collapse to one space outside <pre>; whitespace next to block tags goes;
 * - a newline right after <br> goes;
 * - self-closing tags become open tags (<br /> -> <br>);
 * - tag and attribute names are lower-cased, attributes sorted, values entity-decoded and then
 *   re-escaped (& < > " ');
 * - character references in text are decoded, except that < > & " stay as entities. As in
 *   normalize.py (which uses Python's HTML 4 table), an unknown named reference stays as written.
 * CDATA sections are copied verbatim. */

const BLOCK_TAGS = new Set(['article', 'header', 'aside', 'hgroup', 'blockquote', 'hr', 'iframe',
    'body', 'li', 'map', 'button', 'object', 'canvas', 'ol', 'caption', 'output', 'col', 'p',
    'colgroup', 'pre', 'dd', 'progress', 'div', 'section', 'dl', 'table', 'td', 'dt', 'tbody',
    'embed', 'textarea', 'fieldset', 'tfoot', 'figcaption', 'th', 'figure', 'thead', 'footer', 'tr',
    'form', 'ul', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'video', 'script', 'style']);

// The few named references that occur in renderer output or the spec's expected HTML. Anything
// else is kept as written on both sides, which compares equal.
const NAMED = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0', copy: '\u00a9',
    ouml: '\u00f6', auml: '\u00e4', uuml: '\u00fc', AElig: '\u00c6' };

function codePoint(n) {
    return Number.isInteger(n) && n >= 0 && n <= 0x10ffff ? String.fromCodePoint(n) : null;
}

// A decoded character in text: the four specials as entities, everything else literal.
function outputChar(c, fallback) {
    if (c === null) return fallback;
    return { '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' }[c] ?? c;
}

// Entity-decode an attribute value (Python's html.unescape, for the cases that matter here).
function unescapeAttr(v) {
    return v.replace(/&(#[xX][0-9a-fA-F]+|#[0-9]+|[a-zA-Z][a-zA-Z0-9]*);?/g, (m, ref) => {
        if (ref[0] === '#') {
            const n = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
            return codePoint(n) ?? m;
        }
        return Object.hasOwn(NAMED, ref) && m.endsWith(';') ? NAMED[ref] : m;
    });
}

function escapeAttr(v) {
    return v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
        .replace(/"/g, '&quot;').replace(/'/g, '&#x27;');
}

function parseAttrs(s) {
    const attrs = [];
    const re = /([^\s/>="'][^\s/>=]*)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]*))?/g;
    let m;
    while ((m = re.exec(s)) !== null) {
        let v = m[2];
        if (v === undefined) {
            attrs.push([m[1].toLowerCase(), null]);
            continue;
        }
        if ((v[0] === '"' || v[0] === "'") && v.length >= 2 && v[v.length - 1] === v[0]) v = v.slice(1, -1);
        attrs.push([m[1].toLowerCase(), unescapeAttr(v)]);
    }
    attrs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 :
        (a[1] ?? '') < (b[1] ?? '') ? -1 : (a[1] ?? '') > (b[1] ?? '') ? 1 : 0));
    return attrs;
}

class Normalizer {
    constructor() {
        this.out = '';
        this.last = 'starttag';
        this.lastTag = '';
        this.inPre = false;
    }

    data(d) {
        const afterTag = this.last === 'endtag' || this.last === 'starttag';
        const afterBlock = afterTag && BLOCK_TAGS.has(this.lastTag);
        if (afterTag && this.lastTag === 'br') d = d.replace(/^\n+/, '');
        if (!this.inPre) d = d.replace(/\s+/g, ' ');
        if (afterBlock && !this.inPre) {
            if (this.last === 'starttag') d = d.trimStart();
            else d = d.trim();
        }
        this.out += d;
        this.last = 'data';
    }

    startTag(tag, attrs, selfClosing) {
        if (tag === 'pre') this.inPre = true;
        if (BLOCK_TAGS.has(tag)) this.out = this.out.trimEnd();
        this.out += '<' + tag;
        for (const [k, v] of attrs) this.out += ' ' + k + (v === null ? '' : '="' + escapeAttr(v) + '"');
        this.out += '>';
        this.lastTag = tag;
        this.last = selfClosing ? 'endtag' : 'starttag';
    }

    endTag(tag) {
        if (tag === 'pre') this.inPre = false;
        else if (BLOCK_TAGS.has(tag)) this.out = this.out.trimEnd();
        this.out += '</' + tag + '>';
        this.lastTag = tag;
        this.last = 'endtag';
    }

    other(text, kind) {
        this.out += text;
        this.last = kind;
    }

    // Text between tags: character references are decoded as they are met.
    text(s) {
        const re = /&#(?:([0-9]+)|([xX][0-9a-fA-F]+))(;?)|&([a-zA-Z][-.a-zA-Z0-9]*)(;?)/g;
        let pos = 0, m;
        while ((m = re.exec(s)) !== null) {
            if (m.index > pos) this.data(s.slice(pos, m.index));
            if (m[1] !== undefined || m[2] !== undefined) {
                // Like Python's handle_charref: only a lower-case x marks hex.
                const name = m[1] ?? m[2];
                const n = name[0] === 'x' ? parseInt(name.slice(1), 16) : name[0] === 'X' ? NaN : parseInt(name, 10);
                this.out += outputChar(codePoint(n), '&#' + name + ';');
            } else {
                const c = Object.hasOwn(NAMED, m[4]) ? NAMED[m[4]] : null;
                this.out += outputChar(c, '&' + m[4] + ';');
            }
            this.last = 'ref';
            pos = re.lastIndex;
        }
        if (pos < s.length) this.data(s.slice(pos));
    }
}

export function normalize(html) {
    const n = new Normalizer();
    const chunk = /<!\[CDATA\[[\s\S]*?\]\]>|<!--[\s\S]*?-->|<[^>]*>|[^<]+|</g;
    let rawUntil = null; // inside <script>/<style>: text up to the matching end tag is data
    let m;
    while ((m = chunk.exec(html)) !== null) {
        const c = m[0];
        if (rawUntil !== null) {
            if (c.toLowerCase().startsWith(rawUntil)) {
                rawUntil = null;
            } else {
                n.data(c);
                continue;
            }
        }
        let t;
        if (c.startsWith('<![CDATA[')) {
            n.out += c;
        } else if (c.startsWith('<!--')) {
            n.other(c, 'comment');
        } else if (c.startsWith('<!')) {
            n.other(c, 'decl');
        } else if (c.startsWith('<?')) {
            n.other(c, 'pi');
        } else if ((t = /^<\/\s*([a-zA-Z][^\s>]*)\s*>$/.exec(c)) !== null) {
            n.endTag(t[1].toLowerCase());
        } else if ((t = /^<([a-zA-Z][^\t\n\r\f />\x00]*)([\s\S]*?)(\/?)>$/.exec(c)) !== null) {
            const tag = t[1].toLowerCase();
            n.startTag(tag, parseAttrs(t[2]), t[3] === '/');
            if ((tag === 'script' || tag === 'style') && t[3] !== '/') rawUntil = '</' + tag;
        } else {
            n.text(c);
        }
    }
    return n.out;
}
