/* SPDX-License-Identifier: MIT */
/* Smart punctuation (FMD_EXT_SMART), the parts the renderer calls: character classes and the
 * flanking rules of cmark's smart mode, the dash arithmetic, and the stack of quote openers that
 * pairs curly quotes. render.c does the writing; nothing here allocates outside the arena of the
 * stack or keeps state outside it. */
#include <stdint.h>

#include "fmd_utf8.h"
#include "internal.h"

/*** Character classes, as cmark's cmark_utf8proc_is_space / _is_punctuation ***/

/* Unicode punctuation outside ASCII (general categories Pc Pd Ps Pe Pi Pf Po), as ranges.
 * Sorted; looked up by binary search. Symbols (S*) are not punctuation here, as in cmark. */
static const uint32_t punct_ranges[][2] = {
    {0x00A1, 0x00A1}, {0x00A7, 0x00A7}, {0x00AB, 0x00AB}, {0x00B6, 0x00B7}, {0x00BB, 0x00BB},
    {0x00BF, 0x00BF}, {0x037E, 0x037E}, {0x0387, 0x0387}, {0x055A, 0x055F}, {0x0589, 0x058A},
    {0x05BE, 0x05BE}, {0x05C0, 0x05C0}, {0x05C3, 0x05C3}, {0x05C6, 0x05C6}, {0x05F3, 0x05F4},
    {0x0609, 0x060A}, {0x060C, 0x060D}, {0x061B, 0x061B}, {0x061E, 0x061F}, {0x066A, 0x066D},
    {0x06D4, 0x06D4}, {0x0964, 0x0965}, {0x0970, 0x0970}, {0x0E4F, 0x0E4F}, {0x0E5A, 0x0E5B},
    {0x10FB, 0x10FB}, {0x1360, 0x1368}, {0x166E, 0x166E}, {0x169B, 0x169C}, {0x16EB, 0x16ED},
    {0x17D4, 0x17D6}, {0x17D8, 0x17DA}, {0x1800, 0x180A}, {0x2010, 0x2027}, {0x2030, 0x2043},
    {0x2045, 0x2051}, {0x2053, 0x205E}, {0x207D, 0x207E}, {0x208D, 0x208E}, {0x2308, 0x230B},
    {0x2329, 0x232A}, {0x2768, 0x2775}, {0x27C5, 0x27C6}, {0x27E6, 0x27EF}, {0x2983, 0x2998},
    {0x29D8, 0x29DB}, {0x29FC, 0x29FD}, {0x2CF9, 0x2CFC}, {0x2CFE, 0x2CFF}, {0x2D70, 0x2D70},
    {0x2E00, 0x2E2E}, {0x2E30, 0x2E4F}, {0x3001, 0x3003}, {0x3008, 0x3011}, {0x3014, 0x301F},
    {0x3030, 0x3030}, {0x303D, 0x303D}, {0x30A0, 0x30A0}, {0x30FB, 0x30FB}, {0xFE10, 0xFE19},
    {0xFE30, 0xFE52}, {0xFE54, 0xFE61}, {0xFE63, 0xFE63}, {0xFE68, 0xFE68}, {0xFE6A, 0xFE6B},
    {0xFF01, 0xFF03}, {0xFF05, 0xFF0A}, {0xFF0C, 0xFF0F}, {0xFF1A, 0xFF1B}, {0xFF1F, 0xFF20},
    {0xFF3B, 0xFF3D}, {0xFF3F, 0xFF3F}, {0xFF5B, 0xFF5B}, {0xFF5D, 0xFF5D}, {0xFF5F, 0xFF65},
};

bool fmd__kernel_smart_is_space(uint32_t cp)
{
    return cp == 9 || cp == 10 || cp == 12 || cp == 13 || cp == 32 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

bool fmd__kernel_smart_is_punct(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
               (cp >= 123 && cp <= 126);
    size_t lo = 0, hi = sizeof punct_ranges / sizeof punct_ranges[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < punct_ranges[mid][0])
            hi = mid;
        else if (cp > punct_ranges[mid][1])
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

/*** UTF-8 neighbours ***/

uint32_t fmd__kernel_utf8_before(const char *lo, const char *p)
{
    if (p <= lo)
        return '\n';
    const unsigned char *s = (const unsigned char *)p;
    const unsigned char *start = (const unsigned char *)lo;
    size_t k = 1;
    while (k < 4 && s - k > start && (s[-(ptrdiff_t)k] & 0xC0) == 0x80)
        k++;
    return fmd__kernel_utf8_at((const char *)(s - k), p);
}

uint32_t fmd__kernel_utf8_at(const char *p, const char *hi)
{
    if (p >= hi)
        return '\n';
    uint32_t cp;
    if (fmd_utf8_decode((const unsigned char *)p, (size_t)(hi - p), &cp) == 0)
        return 0xFFFD;
    return cp;
}

/*** Rules ***/

void fmd__kernel_smart_flanking(uint32_t before, uint32_t after, bool *can_open, bool *can_close)
{
    bool before_space = fmd__kernel_smart_is_space(before);
    bool after_space = fmd__kernel_smart_is_space(after);
    bool before_punct = fmd__kernel_smart_is_punct(before);
    bool after_punct = fmd__kernel_smart_is_punct(after);
    bool left = !after_space && (!after_punct || before_space || before_punct);
    bool right = !before_space && (!before_punct || after_space || after_punct);
    /* A quote right after a link or a parenthesis closes: cmark's special case. */
    *can_open = left && !right && before != ']' && before != ')';
    *can_close = right;
}

void fmd__kernel_smart_dashes(size_t hyphens, size_t *em, size_t *en)
{
    /* cmark's split: all em dashes when divisible by 3, else all en dashes when even, else em
     * dashes followed by one or two en dashes. */
    if (hyphens % 3 == 0) {
        *em = hyphens / 3, *en = 0;
    } else if (hyphens % 2 == 0) {
        *em = 0, *en = hyphens / 2;
    } else if (hyphens % 3 == 2) {
        *em = (hyphens - 2) / 3, *en = 1;
    } else {
        *em = (hyphens - 4) / 3, *en = 2;
    }
}

/*** The stack of quote openers ***/

void fmd__kernel_quotes_init(fmd__quotes *q, fmd_arena *arena)
{
    memset(q, 0, sizeof *q);
    q->arena = arena;
}

void fmd__kernel_quotes_reset(fmd__quotes *q)
{
    q->n = 0;
    q->top[0] = q->top[1] = 0;
    q->n_floors = 0;
    q->hard_floor = 0;
}

/* Grow an array in the arena to hold at least one more element. */
static fmd_status grow(fmd_arena *a, void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return FMD_OK;
    size_t cap2 = *cap ? *cap * 2 : 16;
    void *np = fmd_arena_grow(a, *p, *cap * size, cap2 * size);
    if (np == NULL)
        return FMD_E_NOMEM;
    *p = np;
    *cap = cap2;
    return FMD_OK;
}

fmd_status fmd__kernel_quotes_push(fmd__quotes *q, char kind, size_t html_at, size_t text_at)
{
    void *p = q->open;
    fmd_status st = grow(q->arena, &p, &q->cap, q->n, sizeof *q->open);
    if (st != FMD_OK)
        return st;
    q->open = p;
    size_t k = kind == '"';
    q->open[q->n++] = (fmd__quote){html_at, text_at, q->top[k], kind};
    q->top[k] = q->n;
    return FMD_OK;
}

const fmd__quote *fmd__kernel_quotes_match(fmd__quotes *q, char kind)
{
    size_t k = kind == '"';
    if (q->top[k] == 0 || q->top[k] <= q->hard_floor)
        return NULL; /* none, or only outside the innermost link */
    const fmd__quote *o = &q->open[q->top[k] - 1];
    q->top[k] = o->prev;
    return o;
}

fmd_status fmd__kernel_quotes_enter_span(fmd__quotes *q, bool hard)
{
    void *p = q->floors;
    fmd_status st = grow(q->arena, &p, &q->floors_cap, q->n_floors, sizeof *q->floors);
    if (st != FMD_OK)
        return st;
    q->floors = p;
    q->floors[q->n_floors++] = (fmd__quote_floor){q->n, q->hard_floor};
    if (hard)
        q->hard_floor = q->n;
    return FMD_OK;
}

void fmd__kernel_quotes_leave_span(fmd__quotes *q)
{
    if (q->n_floors == 0)
        return; /* the span began before a reset (a block boundary): nothing to undo */
    fmd__quote_floor f = q->floors[--q->n_floors];
    /* Openers inside the span that found no closer there stay as they are: cmark removes the
     * delimiters between an emphasis opener and its closer, and all of a link's. */
    q->n = f.n;
    for (size_t k = 0; k < 2; k++)
        while (q->top[k] > f.n)
            q->top[k] = q->open[q->top[k] - 1].prev;
    q->hard_floor = f.hard_floor;
}
