/* SPDX-License-Identifier: MIT */
/* GitHub-style heading slugs (fmd__kernel_slugify) and the per-page set that makes them unique
 * (fmd__kernel_slug_unique). Case mapping covers ASCII and the common alphabetic blocks with small
 * arithmetic rules, not a full Unicode table. No allocation outside the arena passed in, and no
 * state outside the set the caller owns. */
#include <stdint.h>

#include "fmd_utf8.h"
#include "internal.h"

/*** Slugify ***/

/** A code point that slug_map() drops. */
#define SLUG_DROP UINT32_MAX

/* Pairs where the even code point is the capital and the next one its small letter. */
static uint32_t even_upper(uint32_t cp)
{
    return (cp & 1) ? cp : cp + 1;
}

/* Pairs where the odd code point is the capital. */
static uint32_t odd_upper(uint32_t cp)
{
    return (cp & 1) ? cp + 1 : cp;
}

/* Latin-1 Supplement, U+0080..U+00FF. */
static uint32_t map_latin1(uint32_t cp)
{
    if (cp < 0xA0)
        return SLUG_DROP; /* C1 controls */
    if (cp < 0xC0) {
        /* Mostly symbols and punctuation (NBSP, currency, quotes, section sign...); keep the
         * letters ª µ º and the numbers ² ³ ¹ ¼ ½ ¾. */
        switch (cp) {
        case 0xAA:
        case 0xB5:
        case 0xBA:
        case 0xB2:
        case 0xB3:
        case 0xB9:
        case 0xBC:
        case 0xBD:
        case 0xBE: return cp;
        default: return SLUG_DROP;
        }
    }
    if (cp == 0xD7 || cp == 0xF7)
        return SLUG_DROP; /* multiplication and division signs */
    if (cp <= 0xDE)
        return cp + 0x20;
    return cp;
}

/* Latin Extended-A, U+0100..U+017F: alternating capital/small pairs with a few exceptions. */
static uint32_t map_latin_ext_a(uint32_t cp)
{
    switch (cp) {
    case 0x130:
        return 'i'; /* İ: JavaScript gives "i" + U+0307; the bare "i" reads better in a URL */
    case 0x131:
    case 0x138:
    case 0x149:
    case 0x17F: return cp;   /* ı ĸ ŉ ſ have no capital in this block */
    case 0x178: return 0xFF; /* Ÿ -> ÿ */
    default: break;
    }
    if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E))
        return odd_upper(cp);
    return even_upper(cp);
}

/* Greek and Coptic, U+0370..U+03FF. */
static uint32_t map_greek(uint32_t cp)
{
    if (cp >= 0x391 && cp <= 0x3A9)
        return cp == 0x3A2 ? cp : cp + 0x20;
    if ((cp >= 0x370 && cp <= 0x373) || cp == 0x376 || (cp >= 0x3D8 && cp <= 0x3EF))
        return even_upper(cp);
    if (cp >= 0x388 && cp <= 0x38A)
        return cp + 0x25;
    if (cp >= 0x3FD)
        return cp - 0x82; /* Ͻ Ͼ Ͽ -> ͻ ͼ ͽ */
    switch (cp) {
    case 0x375:
    case 0x37E:
    case 0x384:
    case 0x385:
    case 0x387:
    case 0x3F6:
        return SLUG_DROP; /* numeral sign, question mark, tonos, ano teleia, reversed lunate */
    case 0x37F: return 0x3F3;
    case 0x386: return 0x3AC;
    case 0x38C: return 0x3CC;
    case 0x38E: return 0x3CD;
    case 0x38F: return 0x3CE;
    case 0x3CF: return 0x3D7;
    case 0x3F4: return 0x3B8;
    case 0x3F7: return 0x3F8;
    case 0x3F9: return 0x3F2;
    case 0x3FA: return 0x3FB;
    default: return cp;
    }
}

/* Cyrillic, U+0400..U+04FF. */
static uint32_t map_cyrillic(uint32_t cp)
{
    if (cp <= 0x40F)
        return cp + 0x50;
    if (cp <= 0x42F)
        return cp + 0x20;
    if (cp <= 0x45F)
        return cp;
    if (cp <= 0x481 || (cp >= 0x48A && cp <= 0x4BF) || cp >= 0x4D0)
        return even_upper(cp);
    if (cp == 0x482)
        return SLUG_DROP; /* thousands sign */
    if (cp == 0x4C0)
        return 0x4CF;
    if (cp >= 0x4C1 && cp <= 0x4CE)
        return odd_upper(cp);
    return cp; /* combining marks U+0483..U+0489 */
}

/* CJK Symbols and Punctuation, U+3000..U+303F: drop all but the letters and numbers in it. */
static uint32_t map_cjk_punct(uint32_t cp)
{
    if ((cp >= 0x3005 && cp <= 0x3007) || (cp >= 0x3021 && cp <= 0x3029) ||
        (cp >= 0x3031 && cp <= 0x3035) || (cp >= 0x3038 && cp <= 0x303C))
        return cp;
    return SLUG_DROP;
}

/* Halfwidth and Fullwidth Forms, U+FF00..U+FFEF: fold the capitals, drop the punctuation. */
static uint32_t map_fullwidth(uint32_t cp)
{
    if (cp >= 0xFF21 && cp <= 0xFF3A)
        return cp + 0x20;
    if ((cp >= 0xFF01 && cp <= 0xFF0F) || (cp >= 0xFF1A && cp <= 0xFF20) ||
        (cp >= 0xFF3B && cp <= 0xFF40) || (cp >= 0xFF5B && cp <= 0xFF65) || cp >= 0xFFE0)
        return SLUG_DROP;
    return cp;
}

/* The slug form of one non-ASCII code point: lower-cased, kept as is, or SLUG_DROP for
 * punctuation, symbols, spaces, format characters and emoji. */
static uint32_t slug_map(uint32_t cp)
{
    if (cp <= 0xFF)
        return map_latin1(cp);
    if (cp <= 0x17F)
        return map_latin_ext_a(cp);
    if (cp >= 0x370 && cp <= 0x3FF)
        return map_greek(cp);
    if (cp >= 0x400 && cp <= 0x4FF)
        return map_cyrillic(cp);
    if (cp >= 0x1E00 && cp <= 0x1EFF) {
        /* Latin Extended Additional (Vietnamese and others) */
        if (cp == 0x1E9E)
            return 0xDF; /* capital sharp s */
        return (cp <= 0x1E95 || cp >= 0x1EA0) ? even_upper(cp) : cp;
    }
    if ((cp >= 0x2000 && cp <= 0x206F)       /* general punctuation, spaces, zero-width format */
        || (cp >= 0x20A0 && cp <= 0x20CF)    /* currency */
        || (cp >= 0x2190 && cp <= 0x2BFF)    /* arrows, maths, technical, shapes, dingbats */
        || (cp >= 0x2E00 && cp <= 0x2E7F)    /* supplemental punctuation */
        || (cp >= 0xFE00 && cp <= 0xFE6F)    /* variation selectors, vertical and small forms */
        || cp == 0xFEFF                      /* zero-width no-break space */
        || (cp >= 0x1F000 && cp <= 0x1FAFF)  /* emoji and pictographs */
        || (cp >= 0xE0000 && cp <= 0xE007F)) /* tags (emoji flag sequences) */
        return SLUG_DROP;
    if (cp >= 0x3000 && cp <= 0x303F)
        return map_cjk_punct(cp);
    if (cp >= 0xFF00 && cp <= 0xFFEF)
        return map_fullwidth(cp);
    return cp;
}

fmd_status fmd__kernel_slugify(const char *text, size_t n, fmd_buf *out)
{
    const unsigned char *s = (const unsigned char *)text;
    fmd_status st = FMD_OK;
    size_t i = 0;
    while (i < n && st == FMD_OK) {
        unsigned char c = s[i];
        if (c < 0x80) {
            /* ASCII: letters and digits (lower-cased), '-' and '_' stay; each whitespace
             * character becomes '-' (no collapsing, as GitHub does); the rest goes. */
            if (c >= 'A' && c <= 'Z')
                st = fmd_buf_putc(out, (char)(c + 32));
            else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')
                st = fmd_buf_putc(out, (char)c);
            else if (c == ' ' || c == '\t' || c == '\n')
                st = fmd_buf_putc(out, '-');
            i++;
            continue;
        }
        uint32_t cp;
        /* An invalid sequence (fmd_utf8_decode gives 0) has its lead byte copied verbatim: the
         * renderer's input is already valid UTF-8, so this only keeps odd test input. */
        size_t len = fmd_utf8_decode(s + i, n - i, &cp);
        if (len == 0) {
            st = fmd_buf_putc(out, (char)c);
            i++;
            continue;
        }
        uint32_t m = slug_map(cp);
        if (m == cp) {
            st = fmd_buf_append(out, s + i, len);
        } else if (m != SLUG_DROP) {
            char enc[4];
            st = fmd_buf_append(out, enc, fmd__kernel_utf8_encode(m, enc));
        }
        i += len;
    }
    return st;
}

/*** The set of slugs of one page ***/

/* Open addressing with linear probing over a power-of-two table, at most half full.
 * Each slot records one slug in use and, for slugs used as a base, the next suffix to try:
 * after "a", "a-1" (a literal heading), the next "a" probes "a-1" (taken), then takes "a-2".
 *
 *   slots: [ {"intro", h, next 2} | {NULL} | {"intro-1", h, next 1} | {NULL} ... ]
 */
typedef struct slug_slot {
    const char *ptr; /* NULL: empty slot */
    size_t len;
    uint64_t hash;
    unsigned long next_suffix;
} slug_slot;

struct fmd__slug_set {
    fmd_arena *arena;
    slug_slot *slots;
    size_t cap; /* a power of two */
    size_t count;
};

#define SLUG_SET_INITIAL 16

static uint64_t slug_hash(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3u;
    }
    return h;
}

fmd__slug_set *fmd__kernel_slug_set_create(fmd_arena *arena)
{
    fmd__slug_set *set = fmd_arena_alloc(arena, sizeof *set);
    slug_slot *slots = fmd_arena_alloc(arena, SLUG_SET_INITIAL * sizeof *slots);
    if (set == NULL || slots == NULL)
        return NULL;
    memset(slots, 0, SLUG_SET_INITIAL * sizeof *slots);
    set->arena = arena;
    set->slots = slots;
    set->cap = SLUG_SET_INITIAL;
    set->count = 0;
    return set;
}

/* The slot holding s, or the empty slot where it would go. */
static slug_slot *slot_find(const fmd__slug_set *set, const char *s, size_t n, uint64_t h)
{
    size_t mask = set->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        slug_slot *sl = &set->slots[i];
        if (sl->ptr == NULL || (sl->hash == h && sl->len == n && memcmp(sl->ptr, s, n) == 0))
            return sl;
    }
}

/* Record s (owned by the arena already, not yet in the set). */
static fmd_status slot_insert(fmd__slug_set *set, const char *s, size_t n, uint64_t h)
{
    if ((set->count + 1) * 2 > set->cap) {
        size_t cap = set->cap * 2;
        slug_slot *slots = fmd_arena_alloc(set->arena, cap * sizeof *slots);
        if (slots == NULL)
            return FMD_E_NOMEM;
        memset(slots, 0, cap * sizeof *slots);
        slug_slot *old = set->slots;
        size_t old_cap = set->cap;
        set->slots = slots;
        set->cap = cap;
        for (size_t i = 0; i < old_cap; i++) {
            if (old[i].ptr != NULL)
                *slot_find(set, old[i].ptr, old[i].len, old[i].hash) = old[i];
        }
    }
    slug_slot *sl = slot_find(set, s, n, h);
    sl->ptr = s;
    sl->len = n;
    sl->hash = h;
    sl->next_suffix = 1;
    set->count++;
    return FMD_OK;
}

fmd_status fmd__kernel_slug_unique(fmd__slug_set *set, const char *slug, size_t n, fmd_slice *out)
{
    static const char fallback[] = "section";
    fmd_status st = FMD_OK;
    if (n == 0) {
        slug = fallback;
        n = sizeof fallback - 1;
    }
    uint64_t h = slug_hash(slug, n);
    slug_slot *base = slot_find(set, slug, n, h);
    if (base->ptr == NULL) {
        char *copy = fmd_arena_dup(set->arena, slug, n);
        if (copy == NULL)
            return FMD_E_NOMEM;
        FMD_TRY(slot_insert(set, copy, n, h));
        out->ptr = copy;
        out->len = n;
        return FMD_OK;
    }

    /* Taken: try base-1, base-2, ... from where this base left off. The candidate buffer is
     * reused for each try and becomes the stored string of the winner. */
    char *cand = fmd_arena_alloc(set->arena, n + 1 + 20);
    if (cand == NULL)
        return FMD_E_NOMEM;
    memcpy(cand, slug, n);
    cand[n] = '-';
    for (;;) {
        unsigned long k = base->next_suffix++;
        char digits[20];
        size_t nd = 0;
        do {
            digits[nd++] = (char)('0' + k % 10);
            k /= 10;
        } while (k != 0);
        for (size_t i = 0; i < nd; i++)
            cand[n + 1 + i] = digits[nd - 1 - i];
        size_t cn = n + 1 + nd;
        uint64_t ch = slug_hash(cand, cn);
        if (slot_find(set, cand, cn, ch)->ptr == NULL) {
            FMD_TRY(slot_insert(set, cand, cn, ch));
            out->ptr = cand;
            out->len = cn;
            return FMD_OK;
        }
    }
fail:
    return st;
}

/*** ID prefix ***/

bool fmd_kernel_id_prefix_valid(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        char c = s[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.' || c == ':';
        if (!ok || n >= FMD_MAX_ID_PREFIX_BYTES)
            return false;
    }
    return true;
}
