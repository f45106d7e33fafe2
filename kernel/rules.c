/* SPDX-License-Identifier: MIT */
/* Custom rules: literal and PCRE2 replacements applied to a page's body before it is parsed.
 * A rule set is compiled once (regular expressions JIT-compiled) and then only read, so every
 * thread of a batch shares it; the match data of a regex rule is made per call. The set owns an
 * arena for its copies of the strings; PCRE2 allocates its compiled code and match data itself
 * (an accepted exception to "malloc only in arenas", like md4c's). No I/O, no global state. */
#include <stdint.h>
#include <stdio.h>

#include <omp.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "fmd_utf8.h"
#include "internal.h"

typedef struct rule {
    const char *pattern;
    size_t pattern_len;
    PCRE2_SPTR replacement;
    size_t replacement_len;
    pcre2_code *code; /* NULL for a literal rule */
} rule;

struct fmd_rules {
    fmd_arena *arena; /* the set itself, the rules and their strings */
    rule *rules;
    size_t n;
};

/*** Compiling ***/

/* Append "rule I: <text>" to msg (when there is one). snprintf writes to memory only. */
static void set_message(fmd_buf *msg, size_t index, const char *text, size_t offset,
                        bool with_offset)
{
    if (msg == NULL)
        return;
    char tmp[320];
    int n = with_offset
                ? snprintf(tmp, sizeof tmp, "rule %zu: %s at offset %zu", index, text, offset)
                : snprintf(tmp, sizeof tmp, "rule %zu: %s", index, text);
    if (n < 0)
        return;
    (void)fmd_buf_append(msg, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Check that every $ reference in a regex rule's replacement is one pcre2_substitute accepts and
 * names a group the pattern has, so that a typo fails at compile time rather than on each page.
 * Forms: $$, $n, ${n}, $name, ${name}, $*MARK, ${*MARK}. @return 0, or 1 + the offset of the
 * bad '$' (with *why set). */
static size_t check_replacement(const pcre2_code *code, const char *s, size_t n, const char **why)
{
    uint32_t groups = 0;
    pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &groups);
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '$')
            continue;
        size_t at = i++;
        if (i < n && s[i] == '$')
            continue;
        bool brace = i < n && s[i] == '{';
        i += brace;
        bool mark = i < n && s[i] == '*';
        i += mark;
        size_t b = i;
        while (i < n && (s[i] == '_' || (s[i] >= '0' && s[i] <= '9') ||
                         ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z')))
            i++;
        size_t e = i;
        if (brace && (i >= n || s[i] != '}')) {
            *why = "unterminated ${ in the replacement";
            return at + 1;
        }
        if (!brace)
            i--; /* the loop's i++ moves past the name */
        if (e == b) {
            *why = "a $ in the replacement names no group (write $$ for a dollar sign)";
            return at + 1;
        }
        if (mark)
            continue; /* $*MARK: a name from a (*MARK) verb, empty when there is none */
        if (s[b] >= '0' && s[b] <= '9') {
            uint64_t v = 0;
            for (size_t k = b; k < e; k++) {
                if (s[k] < '0' || s[k] > '9') {
                    *why = "a group number in the replacement is not a number";
                    return at + 1;
                }
                if (v <= UINT32_MAX)
                    v = v * 10 + (uint64_t)(s[k] - '0');
            }
            if (v > groups) {
                *why = "the replacement refers to a group the pattern does not have";
                return at + 1;
            }
            continue;
        }
        char name[64];
        if (e - b >= sizeof name) {
            *why = "a group name in the replacement is too long";
            return at + 1;
        }
        memcpy(name, s + b, e - b);
        name[e - b] = '\0';
        if (pcre2_substring_number_from_name(code, (PCRE2_SPTR)name) < 0) {
            *why = "the replacement names a group the pattern does not have";
            return at + 1;
        }
    }
    return 0;
}

void fmd_kernel_rules_destroy(fmd_rules *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++)
        pcre2_code_free(r->rules[i].code);
    fmd_arena_destroy(r->arena);
}

size_t fmd_kernel_rules_count(const fmd_rules *r)
{
    return r ? r->n : 0;
}

fmd_status fmd_kernel_rules_create(const fmd_rule_spec *specs, size_t n, fmd_rules **out,
                                   size_t *bad_rule, fmd_buf *msg)
{
    *out = NULL;
    if (n > FMD_MAX_RULES || (specs == NULL && n != 0))
        return FMD_E_USAGE;
    fmd_arena *a;
    fmd_status st = fmd_arena_create(&a, 16 * 1024);
    if (st != FMD_OK)
        return st;
    fmd_rules *set = fmd_arena_alloc(a, sizeof *set);
    rule *rules = fmd_arena_alloc(a, (n ? n : 1) * sizeof *rules);
    if (set == NULL || rules == NULL) {
        fmd_arena_destroy(a);
        return FMD_E_NOMEM;
    }
    set->arena = a;
    set->rules = rules;
    set->n = 0;
    for (size_t i = 0; i < n; i++) {
        const fmd_rule_spec *sp = &specs[i];
        const char *repl = sp->replacement ? sp->replacement : "";
        size_t repl_len = sp->replacement ? sp->replacement_len : 0;
        rule *ru = &rules[i];
        memset(ru, 0, sizeof *ru);
        set->n = i + 1;
        const char *why = NULL;
        if (sp->pattern == NULL || sp->pattern_len == 0)
            why = "the pattern is empty";
        else if (!fmd_utf8_valid(sp->pattern, sp->pattern_len))
            why = "the pattern is not valid UTF-8";
        else if (!fmd_utf8_valid(repl, repl_len))
            why = "the replacement is not valid UTF-8";
        if (why != NULL) {
            set_message(msg, i, why, 0, false);
            st = FMD_E_RULE;
            goto fail;
        }
        ru->pattern = fmd_arena_dup(a, sp->pattern, sp->pattern_len);
        ru->replacement = fmd_arena_dup(a, repl, repl_len);
        if (ru->pattern == NULL || ru->replacement == NULL) {
            st = FMD_E_NOMEM;
            goto fail;
        }
        ru->pattern_len = sp->pattern_len;
        ru->replacement_len = repl_len;
        if (!sp->regex)
            continue;
        int err;
        PCRE2_SIZE off;
        ru->code =
            pcre2_compile((PCRE2_SPTR)ru->pattern, ru->pattern_len, PCRE2_UTF, &err, &off, NULL);
        if (ru->code == NULL) {
            PCRE2_UCHAR text[256];
            if (pcre2_get_error_message(err, text, sizeof text) < 0)
                memcpy(text, "invalid pattern", sizeof "invalid pattern");
            set_message(msg, i, (const char *)text, (size_t)off, true);
            st = err == PCRE2_ERROR_HEAPLIMIT ? FMD_E_NOMEM : FMD_E_RULE;
            goto fail;
        }
        /* Without a JIT (or on a platform PCRE2 has none for) the interpreter runs instead. */
        (void)pcre2_jit_compile(ru->code, PCRE2_JIT_COMPLETE);
        size_t bad = check_replacement(ru->code, repl, repl_len, &why);
        if (bad != 0) {
            set_message(msg, i, why, bad - 1, true);
            st = FMD_E_RULE;
            goto fail;
        }
    }
    *out = set;
    return FMD_OK;

fail:
    if (bad_rule != NULL)
        *bad_rule = set->n - 1;
    fmd_kernel_rules_destroy(set);
    return st;
}

/*** Applying ***/

/* The first occurrence of needle[0..m) (m >= 1) in hay[0..n), or NULL. */
static const char *find(const char *hay, size_t n, const char *needle, size_t m)
{
    const char *p = hay, *end = hay + n;
    while ((size_t)(end - p) >= m) {
        p = memchr(p, needle[0], (size_t)(end - p) - m + 1);
        if (p == NULL)
            return NULL;
        if (memcmp(p, needle, m) == 0)
            return p;
        p++;
    }
    return NULL;
}

static fmd_status apply_literal(const rule *ru, fmd_slice in, size_t max_out, fmd_arena *a,
                                fmd_slice *out)
{
    const char *hit = find(in.ptr, in.len, ru->pattern, ru->pattern_len);
    if (hit == NULL) {
        *out = in;
        return FMD_OK;
    }
    fmd_buf b;
    fmd_buf_reset(&b, a);
    fmd_status st = fmd_buf_grow(&b, in.len < max_out ? in.len : max_out);
    const char *pos = in.ptr, *end = in.ptr + in.len;
    while (st == FMD_OK && hit != NULL) {
        size_t before = (size_t)(hit - pos);
        if (b.len + before + ru->replacement_len > max_out)
            return FMD_E_OUTPUT_LIMIT;
        st = fmd_buf_append(&b, pos, before);
        if (st == FMD_OK)
            st = fmd_buf_append(&b, ru->replacement, ru->replacement_len);
        pos = hit + ru->pattern_len;
        hit = find(pos, (size_t)(end - pos), ru->pattern, ru->pattern_len);
    }
    if (st == FMD_OK && b.len + (size_t)(end - pos) > max_out)
        return FMD_E_OUTPUT_LIMIT;
    if (st == FMD_OK)
        st = fmd_buf_append(&b, pos, (size_t)(end - pos));
    *out = fmd_buf_slice(&b);
    return st;
}

/*** Limits on one regex rule's matching ***/

/** PCRE2's match_limit for one pcre2_match() call on a page of N bytes: FMD_RULE_MATCH_MIN plus
 * FMD_RULE_MATCH_PER_BYTE per byte. PCRE2's default (10 000 000 per call) lets a rule with
 * nested quantifiers, such as "(\w+\s?)+:", spend seconds on every 20-letter run of a 10 KB page;
 * ordinary patterns need a handful of steps per call (the start-of-match optimisations skip most
 * of the text), so this bound fails only runaway backtracking. */
#define FMD_RULE_MATCH_MIN 100000u
#define FMD_RULE_MATCH_PER_BYTE 10u
/** PCRE2's depth_limit (backtracking depth of the interpreter; the JIT ignores it): at least this,
 * plus one per byte. */
#define FMD_RULE_DEPTH_MIN 10000u
/** PCRE2's heap_limit in KiB (the interpreter's backtracking frames; the JIT ignores it): at least
 * this, plus FMD_RULE_HEAP_KIB_PER_KIB KiB per KiB of page. */
#define FMD_RULE_HEAP_MIN_KIB 4096u
#define FMD_RULE_HEAP_KIB_PER_KIB 4u
/** Matches between two reads of the clock for the page deadline. */
#define FMD_RULE_DEADLINE_MATCHES 16u

static uint32_t scaled(size_t base, size_t per, size_t n)
{
    if (n > (UINT32_MAX - base) / (per ? per : 1))
        return UINT32_MAX;
    return (uint32_t)(base + n * per);
}

/* Why a regex rule failed, for the page's message. */
static const char *match_error_text(int rc)
{
    switch (rc) {
    case PCRE2_ERROR_MATCHLIMIT: return "hit the PCRE2 match limit (runaway backtracking)";
    case PCRE2_ERROR_DEPTHLIMIT: return "hit the PCRE2 depth limit";
    case PCRE2_ERROR_HEAPLIMIT: return "hit the PCRE2 heap limit";
    case PCRE2_ERROR_JIT_STACKLIMIT: return "ran out of PCRE2 JIT stack";
    default: return "failed to match (a PCRE2 error)";
    }
}

/* The bytes of the UTF-8 character that starts at s[0] (1 for a stray byte). */
static size_t char_len(unsigned char c)
{
    return c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* Replace every match of @p ru in @p in, one pcre2_match() call per match, so that the page
 * deadline is read between matches and each call is held to the page's limits (@p mc). The
 * replacement of one match is expanded by pcre2_substitute() on that match alone
 * (PCRE2_SUBSTITUTE_MATCHED | PCRE2_SUBSTITUTE_REPLACEMENT_ONLY), so $1, ${name} and $$ mean
 * what they mean to PCRE2. After an empty match the next try is anchored there and must not be
 * empty, else it moves on one character: PCRE2's own global substitution does the same.
 * @p rc_out receives PCRE2's error code when the status is FMD_E_RULE. */
static fmd_status apply_regex(const rule *ru, fmd_slice in, size_t max_out, pcre2_match_context *mc,
                              double deadline, fmd_arena *a, fmd_slice *out, int *rc_out)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(ru->code, NULL);
    if (md == NULL)
        return FMD_E_NOMEM;
    fmd_status st = FMD_OK;
    PCRE2_SPTR subject = (PCRE2_SPTR)(in.len ? in.ptr : "");
    /* No UTF-8 check (it would cost a pass over the page per call): the body is normalised, so
     * valid, and every pattern and replacement was checked at compile time, so every rule's
     * output is valid too. */
    fmd_buf b;
    bool copying = false; /* most pages do not match most rules: no copy is made then */
    size_t pos = 0, copied = 0;
    uint32_t retry = 0; /* PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED after an empty match */
    for (unsigned n = 0;; n++) {
        if (deadline != 0 && n % FMD_RULE_DEADLINE_MATCHES == 0 && n != 0 &&
            omp_get_wtime() > deadline) {
            st = FMD_E_DEADLINE;
            goto done;
        }
        int rc = pcre2_match(ru->code, subject, in.len, pos, PCRE2_NO_UTF_CHECK | retry, md, mc);
        if (rc == PCRE2_ERROR_NOMATCH) {
            if (retry == 0 || pos >= in.len)
                break;
            pos += char_len(subject[pos]); /* the empty match's position gets no second one */
            retry = 0;
            continue;
        }
        if (rc < 0) {
            *rc_out = rc;
            st = rc == PCRE2_ERROR_NOMEMORY ? FMD_E_NOMEM : FMD_E_RULE;
            goto done;
        }
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t s = ov[0], e = ov[1];
        if (s > e || s < copied) { /* \K in a lookaround can do this; PCRE2 refuses it too */
            *rc_out = PCRE2_ERROR_BADSUBSPATTERN;
            st = FMD_E_RULE;
            goto done;
        }
        if (!copying) {
            fmd_buf_reset(&b, a);
            size_t guess = in.len + in.len / 8 + ru->replacement_len + 64;
            FMD_TRY(fmd_buf_grow(&b, guess < max_out ? guess : max_out));
            copying = true;
        }
        if (b.len + (s - copied) > max_out) {
            st = FMD_E_OUTPUT_LIMIT;
            goto done;
        }
        FMD_TRY(fmd_buf_append(&b, in.ptr + copied, s - copied));
        /* Expand the replacement straight into the buffer; PCRE2 says how much room it needs
         * when there is not enough (it writes a NUL too). */
        for (int attempt = 0;; attempt++) {
            PCRE2_SIZE room = b.cap - b.len;
            rc = pcre2_substitute(ru->code, subject, in.len, 0,
                                  PCRE2_SUBSTITUTE_MATCHED | PCRE2_SUBSTITUTE_REPLACEMENT_ONLY |
                                      PCRE2_SUBSTITUTE_OVERFLOW_LENGTH |
                                      PCRE2_SUBSTITUTE_UNSET_EMPTY | PCRE2_NO_UTF_CHECK,
                                  md, mc, ru->replacement, ru->replacement_len,
                                  (PCRE2_UCHAR *)b.ptr + b.len, &room);
            if (rc >= 0) {
                if (b.len + room > max_out) {
                    st = FMD_E_OUTPUT_LIMIT;
                    goto done;
                }
                b.len += room;
                break;
            }
            if (rc != PCRE2_ERROR_NOMEMORY || attempt == 1) {
                *rc_out = rc;
                st = FMD_E_RULE;
                goto done;
            }
            if (room - 1 > max_out - b.len) {
                st = FMD_E_OUTPUT_LIMIT;
                goto done;
            }
            FMD_TRY(fmd_buf_grow(&b, room));
        }
        copied = e;
        pos = e;
        retry = s == e ? PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED : 0;
        if (s == e && e >= in.len)
            break;
    }
    if (!copying) {
        *out = in;
        goto done;
    }
    if (b.len + (in.len - copied) > max_out) {
        st = FMD_E_OUTPUT_LIMIT;
        goto done;
    }
    FMD_TRY(fmd_buf_append(&b, in.ptr + copied, in.len - copied));
    *out = fmd_buf_slice(&b);
done:
fail:
    pcre2_match_data_free(md);
    return st;
}

fmd_status fmd__kernel_rules_apply(const fmd_rules *rules, const char *src, size_t len,
                                   size_t max_out, unsigned deadline_ms, fmd_arena *arena,
                                   fmd_slice *out, size_t *failed, fmd_buf *why)
{
    fmd_slice cur = {src ? src : "", len};
    pcre2_match_context *mc = NULL;
    double deadline = deadline_ms ? omp_get_wtime() + deadline_ms / 1000.0 : 0;
    fmd_status st = FMD_OK;
    for (size_t i = 0; i < rules->n; i++) {
        const rule *ru = &rules->rules[i];
        int rc = 0;
        if (ru->code != NULL && mc == NULL) {
            /* Limits scaled to the page: bounded work per match, whatever the pattern. */
            mc = pcre2_match_context_create(NULL);
            if (mc == NULL)
                return FMD_E_NOMEM;
            pcre2_set_match_limit(mc, scaled(FMD_RULE_MATCH_MIN, FMD_RULE_MATCH_PER_BYTE, len));
            pcre2_set_depth_limit(mc, scaled(FMD_RULE_DEPTH_MIN, 1, len));
            pcre2_set_heap_limit(
                mc, scaled(FMD_RULE_HEAP_MIN_KIB, FMD_RULE_HEAP_KIB_PER_KIB, len / 1024));
        }
        if (deadline != 0 && omp_get_wtime() > deadline)
            st = FMD_E_DEADLINE;
        else
            st = ru->code ? apply_regex(ru, cur, max_out, mc, deadline, arena, &cur, &rc)
                          : apply_literal(ru, cur, max_out, arena, &cur);
        if (st != FMD_OK) {
            if (failed != NULL)
                *failed = i;
            if (why != NULL && (st == FMD_E_RULE || st == FMD_E_DEADLINE)) {
                /* The pattern names the rule, cut at a character boundary. */
                size_t k = ru->pattern_len > 40 ? 40 : ru->pattern_len;
                while (k < ru->pattern_len && k > 0 && (ru->pattern[k] & 0xC0) == 0x80)
                    k--;
                char tmp[240];
                int n = st == FMD_E_RULE
                            ? snprintf(tmp, sizeof tmp,
                                       "custom rule %zu (/%.*s%s/) %s on this "
                                       "page (%zu bytes)",
                                       i, (int)k, ru->pattern, k < ru->pattern_len ? "..." : "",
                                       match_error_text(rc), len)
                            : snprintf(tmp, sizeof tmp,
                                       "custom rule %zu passed the page "
                                       "deadline of %u ms",
                                       i, deadline_ms);
                if (n > 0)
                    (void)fmd_buf_append(why, tmp,
                                         (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
            }
            break;
        }
    }
    pcre2_match_context_free(mc);
    if (st == FMD_OK)
        *out = cur;
    return st;
}
