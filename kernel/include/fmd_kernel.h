/* SPDX-License-Identifier: MIT */
/* fmd_kernel: the per-page transform (Markdown + front matter -> HTML + metadata) and the OpenMP
 * batch loop over many pages. It does no I/O, reads no environment and holds no mutable global
 * state: everything lives in the arenas and result slots the caller passes in. */
#ifndef FMD_KERNEL_H
#define FMD_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fmd_arena.h"
#include "fmd_status.h"

/*** Limits: each guards against one kind of hostile page ***/

/** A page larger than this is refused before parsing (md4c's sizes are 32-bit, and a huge page
 * would hold one thread for seconds). Option: fmd_options.max_input_bytes. */
#define FMD_MAX_INPUT_BYTES_DEFAULT ((size_t)64 << 20)
/** The smallest output cap: a page may always produce this much HTML. A wide GFM table or
 * repeated reference links can turn 30 KB of Markdown into 160 MB of HTML; this cap stops that.
 * Option: fmd_options.max_output_bytes. */
#define FMD_MAX_OUTPUT_BYTES_DEFAULT ((size_t)16 << 20)
/** ...unless the input times this is larger: big pages may grow proportionally. */
#define FMD_OUTPUT_RATIO_DEFAULT 64
/** Front matter larger than this fails its page (FMD_E_FRONTMATTER) before it is parsed: the YAML
 * parser needs 50 to 350 bytes of memory per byte of YAML, so an 8 MB block would take gigabytes.
 * Option: fmd_options.max_frontmatter_bytes. */
#define FMD_MAX_FRONTMATTER_BYTES_DEFAULT ((size_t)1 << 20)

/** The most memory the front matter of one page can hold while it is parsed, for a block of at
 * most @p max_bytes (0: FMD_MAX_FRONTMATTER_BYTES_DEFAULT): the YAML parser's nodes for as many
 * items as the pre-scan lets through, its copy of the block, and the JSON written. A memory bound
 * counts this once per thread that renders (fmd_engine's --max-memory model).
 * @return bytes. Ownership: none. Threads: reentrant. */
size_t fmd_kernel_frontmatter_peak_bytes(size_t max_bytes);
/** Headings kept in the metadata of one page; later ones still render, with IDs. */
#define FMD_MAX_HEADINGS 4096
/** Warnings kept per page; the count of the rest is reported in the last one. */
#define FMD_MAX_WARNINGS 16
/** Page links (FMD_LINKS_REPORT) kept in the result of one page; later ones are still
 * rewritten, but not reported, so a page of a million links cannot fill memory with them. */
#define FMD_MAX_PAGE_LINKS 4096

/*** Options ***/

typedef enum fmd_dialect {
    FMD_DIALECT_GFM = 0,    /**< CommonMark + tables, strikethrough, task lists, autolinks */
    FMD_DIALECT_COMMONMARK, /**< CommonMark 0.31 with every extension off */
} fmd_dialect;

/** Markdown extensions, fmd_options.extensions. */
enum {
    FMD_EXT_TABLES = 1u << 0,        /**< GFM tables */
    FMD_EXT_STRIKETHROUGH = 1u << 1, /**< ~~del~~ */
    FMD_EXT_TASKLISTS = 1u << 2,     /**< - [ ] / - [x] */
    FMD_EXT_AUTOLINKS = 1u << 3,     /**< www., http(s):// and e-mail autolinks without < > */
    FMD_EXT_FOOTNOTES = 1u << 4,     /**< GFM footnotes [^label] */
    FMD_EXT_SMART = 1u << 5,         /**< smart punctuation: curly quotes, dashes, ellipses */
    /** A YAML block between "---" lines at the top is front matter, not Markdown. Not part of
     * CommonMark (where "---\nFoo\n---" is a rule and a heading), so --dialect commonmark
     * turns it off with the other extensions. */
    FMD_EXT_FRONTMATTER = 1u << 6,
};
/** The extensions of --dialect gfm (the default). */
#define FMD_EXT_GFM                                                                                \
    (FMD_EXT_TABLES | FMD_EXT_STRIKETHROUGH | FMD_EXT_TASKLISTS | FMD_EXT_AUTOLINKS |              \
     FMD_EXT_FRONTMATTER)

/** What the renderer does with relative links to pages ("x.md", "d/x.markdown#a?q"),
 * fmd_options.links. Off (0) by default: `fastmd render` and `serve` write links as given. */
enum {
    FMD_LINKS_REWRITE = 1u << 0, /**< write them as the page's output name: "x.html" */
    FMD_LINKS_REPORT = 1u << 1,  /**< list them in fmd_result.page_links, with their lines */
};

/** A page template for full HTML pages (kernel/template.c); read-only and shareable. */
typedef struct fmd_template fmd_template;

/** A compiled set of custom rules (kernel/rules.c); read-only and shareable between threads. */
typedef struct fmd_rules fmd_rules;

/** What the transform does. Zero-initialised options plus fmd_kernel_options_default() give the
 * defaults: GFM, safe, heading IDs on, default limits. Read-only during a batch. */
typedef struct fmd_options {
    fmd_dialect dialect;    /**< set with fmd_kernel_options_set_dialect(), which sets extensions */
    unsigned extensions;    /**< FMD_EXT_* bits: what the renderer enables */
    bool xhtml;             /**< void elements as <br /> (default true) rather than <br> */
    const fmd_rules *rules; /**< NULL, or custom rules applied to the body before parsing */
    bool unsafe;            /**< pass raw HTML and every URL scheme through */
    bool heading_ids;       /**< add id="slug" to h1..h6 */
    size_t max_input_bytes; /**< 0: FMD_MAX_INPUT_BYTES_DEFAULT */
    size_t max_output_bytes;      /**< 0: max(FMD_MAX_OUTPUT_BYTES_DEFAULT, 64 x input) */
    size_t max_frontmatter_bytes; /**< 0: FMD_MAX_FRONTMATTER_BYTES_DEFAULT */
    /** Do not transform: the "HTML" is the input bytes as they are, nothing else is computed.
     * For measuring the I/O floor of a batch with the same loop, scheduler and writer. */
    bool passthrough;
    /** 0, or the milliseconds rendering one page may take: past that the renderer stops md4c
     * and the page fails with FMD_E_DEADLINE (a transient failure: a retry may pass). Checked
     * every few dozen parser callbacks, so a page overruns by at most a few microseconds. The
     * custom rules share it: one deadline from the page's start, read between matches, and
     * the renderer gets what the rules left. */
    unsigned deadline_ms;
    unsigned links; /**< FMD_LINKS_* bits (default 0: links as written) */
    /** NULL, or the template that turns each page's HTML into a full HTML page (the fragment,
     * title, headings and front matter go into its placeholders). */
    const fmd_template *page_template;
    /** NULL or "", or a prefix for every ID the renderer writes (heading IDs, footnote IDs) and
     * the links to them (footnote references and back-references, the headings' metadata), so
     * that a page's "# config" cannot clobber a site's global `config` through the DOM.
     * @pre fmd_kernel_id_prefix_valid(id_prefix): nothing in it needs escaping. */
    const char *id_prefix;
} fmd_options;

/** The longest --id-prefix, in bytes. */
#define FMD_MAX_ID_PREFIX_BYTES 64

/** Whether @p s (NUL-terminated, not NULL) may be fmd_options.id_prefix: at most
 * FMD_MAX_ID_PREFIX_BYTES of ASCII letters, digits, '-', '_', '.' and ':', which need no escaping
 * in an attribute or a URL fragment. "" is valid (no prefix).
 * Threads: reentrant. */
bool fmd_kernel_id_prefix_valid(const char *s);

/** Fill @p o with the defaults. */
void fmd_kernel_options_default(fmd_options *o);

/** Set the dialect and the extensions that go with it (gfm: FMD_EXT_GFM; commonmark: none).
 * Footnotes and smart punctuation are kept as they were. */
void fmd_kernel_options_set_dialect(fmd_options *o, fmd_dialect d);

/*** Custom rules ***/

/** One custom rule: replace every match of @c pattern with @c replacement. Literal rules
 * replace each non-overlapping occurrence, left to right. Regex rules are PCRE2 patterns (UTF
 * mode) and replace every match (global); the replacement may name groups as $1, ${1}, ${name},
 * and $$ is a dollar sign. Both strings are UTF-8 and need not be NUL-terminated. */
typedef struct fmd_rule_spec {
    const char *pattern;
    size_t pattern_len;
    const char *replacement;
    size_t replacement_len;
    bool regex;
} fmd_rule_spec;

/** The most rules one set may hold. */
#define FMD_MAX_RULES 1024

/** Compile @p n rules (applied in this order, each to the previous one's output, after the
 * front matter is taken off and before the Markdown is parsed). Regular expressions are
 * compiled once here, JIT-compiled where PCRE2 has a JIT, and shared read-only afterwards.
 * @param specs n rules; may be NULL when @p n is 0. @param out receives the set.
 * @param bad_rule NULL, or receives the index of the rule that failed (FMD_E_RULE).
 * @param msg NULL, or a buffer that receives why it failed, e.g. "rule 2: missing closing
 * parenthesis at offset 4" (appended).
 * @return FMD_OK; FMD_E_RULE (an empty or non-UTF-8 pattern, a pattern PCRE2 rejects, a
 * replacement that names a group the pattern lacks); FMD_E_USAGE (n > FMD_MAX_RULES); or
 * FMD_E_NOMEM. *out is NULL on failure.
 * Ownership: free *out with fmd_kernel_rules_destroy(); it copies what it needs from @p specs.
 * Threads: reentrant. The set may then be used by many threads at once (fmd_options.rules):
 * matching allocates its match data per call. */
fmd_status fmd_kernel_rules_create(const fmd_rule_spec *specs, size_t n, fmd_rules **out,
                                   size_t *bad_rule, fmd_buf *msg);

/** Free a rule set; @p r may be NULL. Nothing may be using it. */
void fmd_kernel_rules_destroy(fmd_rules *r);

/** The number of rules in @p r (0 for NULL). */
size_t fmd_kernel_rules_count(const fmd_rules *r);

/*** One page's result ***/

/** A relative link to a page (FMD_LINKS_REPORT): the path part of its destination as written
 * (entities decoded, no percent-decoding; without "?query" or "#anchor"), and the 1-based page
 * line where that destination is written (0: not found, e.g. after custom rules rewrote it). */
typedef struct fmd_page_link {
    fmd_slice target;
    unsigned line;
} fmd_page_link;

typedef struct fmd_heading {
    int level;      /**< 1..6 */
    fmd_slice text; /**< plain text of the heading, UTF-8 */
    fmd_slice id;   /**< the slug (empty when heading IDs are off) */
} fmd_heading;

/** The result of one page. Every slice points into the output arena that rendered it and is valid
 * until that arena is reset. On failure (status != FMD_OK) html still holds what could be
 * rendered (the whole body for a front matter error; nothing for a limit) and err_* say why.
 *
 * Example: a page "---\ntitle: A\n---\n# Hi\n" gives status FMD_OK, html "<h1 id=\"hi\">Hi</h1>\n",
 * title "A", frontmatter "{\"title\":\"A\"}", one heading {1, "Hi", "hi"}, words 1. */
typedef struct fmd_result {
    fmd_status status; /**< FMD_OK, or why the page failed */
    fmd_slice html;
    fmd_slice title;       /**< front matter title, else the first h1, else the first
                                heading of any level; ptr NULL: none (see
                                fmd_title_from_path() in base for the caller's fallback) */
    fmd_slice frontmatter; /**< a JSON object; ptr NULL: the page has no front matter */
    const fmd_heading *headings;
    size_t n_headings;
    const fmd_slice *warnings; /**< human-readable sentences, with line numbers where known */
    size_t n_warnings;
    size_t words, links, images, code_blocks;
    uint64_t hash; /**< XXH3-64, seed 0, of the page's bytes as given */
    size_t bytes_in;
    fmd_slice err_message;         /**< set when status != FMD_OK */
    unsigned err_line, err_column; /**< 1-based; 0 when unknown */
    double render_s;               /**< seconds the batch loop spent on this page (0 outside it) */
    const fmd_page_link *page_links; /**< FMD_LINKS_REPORT: the page's links to pages, in order */
    size_t n_page_links;
} fmd_result;

/** Transform one page.
 * @param src the page's bytes (need not be NUL-terminated); may be NULL when @p len is 0.
 * @param opt the options. @param out the arena the result's bytes go to. @param scratch an arena
 * for temporaries; it is rewound before return, so pass one that nothing else is using.
 * @param res receives the result (always fully written, also on failure).
 * @return res->status: FMD_OK, FMD_E_INPUT_LIMIT, FMD_E_OUTPUT_LIMIT, FMD_E_FRONTMATTER,
 * FMD_E_PARSE, FMD_E_RULE (a custom rule failed to match, e.g. a PCRE2 resource limit),
 * FMD_E_DEADLINE or FMD_E_NOMEM.
 * Ownership: res's slices point into @p out, valid until fmd_arena_reset(out).
 * Threads: reentrant; call it from many threads at once with distinct arenas. */
fmd_status fmd_kernel_page_render(const char *src, size_t len, const fmd_options *opt,
                                  fmd_arena *out, fmd_arena *scratch, fmd_result *res);

/** Rewrite one link destination @p href (entities decoded, not yet percent-encoded) when it is
 * a relative link to a page: its path part ends in ".md" or ".markdown" (as the walk of a tree
 * recognises pages), and it has no scheme ("https:", "mailto:"), does not start with "/" (root
 * or protocol-relative) and is not a bare "#anchor" or "?query". Example: "../a/b.md?x#y"
 * appends "../a/b.html?x#y" to @p out and sets @p target to "../a/b.md".
 * @param target receives the path part, a slice of @p href; ptr NULL when the destination is not
 * a page link (then nothing is appended).
 * @return FMD_OK or FMD_E_NOMEM.
 * Ownership: appends to @p out; @p target points into @p href. Threads: reentrant. */
fmd_status fmd_kernel_link_rewrite(const char *href, size_t n, fmd_buf *out, fmd_slice *target);

/*** Page templates ***/

/** Compile a page template: UTF-8 text in which "{{title}}" (the page title, or "Untitled"),
 * "{{content}}" (the page's HTML, as it is), "{{toc}}" (a <ul> with one <li class="toc-hN">
 * per heading, linking to its id) and "{{fm.KEY}}" (front matter field KEY at the top level: a
 * string, number or boolean, or an array of them joined by ", "; empty when missing, null or an
 * object) are replaced per page. Blanks may pad the name ("{{ title }}"). Every value but
 * content is HTML-escaped. "{{" always opens a placeholder; a template must have {{content}}.
 * @param text, n the template (need not be NUL-terminated). @param arena receives the compiled
 * template. @param msg NULL, or receives why a template is refused, e.g. "line 3, column 7:
 * unknown placeholder (known: title, content, toc, fm.KEY): 'titel'" (appended).
 * @return FMD_OK; FMD_E_USAGE (a malformed template: "{{" without a name or without "}}" on its
 * line, an unknown name, no {{content}}); FMD_E_NOMEM. *out is NULL on failure.
 * Ownership: *out lives in @p arena until it is reset; it copies what it keeps of @p text.
 * Threads: reentrant; the template may then be filled by many threads at once. */
fmd_status fmd_kernel_template_compile(const char *text, size_t n, fmd_arena *arena,
                                       fmd_template **out, fmd_buf *msg);

/** Append page @p res filled into template @p t to @p out.
 * @return FMD_OK or FMD_E_NOMEM. Ownership: appends to @p out. Threads: reentrant. */
fmd_status fmd_kernel_template_fill(const fmd_template *t, const fmd_result *res, fmd_buf *out);

/** XXH3-64 of the text @p t was compiled from (0 for NULL): for a digest of the options.
 * Threads: reentrant. */
uint64_t fmd_kernel_template_hash(const fmd_template *t);

/** The built-in template (`--full-html`): HTML5 with <meta charset="utf-8">, the title, a small
 * inline style, the table of contents and the content; no external resource, no absolute link.
 * Ownership: a static string. Threads: safe. */
const char *fmd_kernel_template_builtin(void);

/** XXH3-128 (seed 0) of @p n bytes at @p p, as 32 lower-case hex digits in the canonical
 * big-endian form (high 64 bits first), plus a NUL. For fastmd serve's computeDigest.
 * Threads: reentrant. */
void fmd_kernel_hash128_format(const void *p, size_t n, char hex[33]);

/** Write the hash as 16 lower-case hex digits, big-endian canonical form, plus a NUL. */
void fmd_kernel_hash_format(uint64_t hash, char hex[17]);

/** The content hash of @p n bytes at @p p (XXH3-64, seed 0): fmd_result.hash of a page with
 * these bytes. Threads: reentrant. */
uint64_t fmd_kernel_hash(const void *p, size_t n);

/*** The batch loop ***/

/** Where a page's bytes are in the input arena: offsets, never pointers, so the arena may move. */
typedef struct fmd_page_ref {
    size_t offset;
    size_t len;
    fmd_status load_status; /**< FMD_OK, or why io/ could not load it (the page is not rendered) */
} fmd_page_ref;

/** Called once by each thread at the start of the parallel region (numa/ binds threads here).
 * @p thread is omp_get_thread_num(). Must be thread-safe. */
typedef struct fmd_thread_hook {
    void (*fn)(int thread, int nthreads, void *userdata);
    void *userdata;
} fmd_thread_hook;

/** Per-thread counters of one batch run. */
typedef struct fmd_thread_stats {
    size_t pages;
    size_t bytes_in;
    double busy_s; /**< time spent rendering pages (and in the sink) */
    double wait_s; /**< time spent waiting in the sink (backpressure) as reported by it */
} fmd_thread_stats;

/** Called on the worker thread right after page @p page is rendered into results[page].
 * This is where io/ writes the page's file or formats its line, in parallel with rendering.
 * Return FMD_OK to go on; another status is stored in results[page].status (the batch goes on).
 * When @p release is set, the page's bytes are reused once fn returns: results[page]'s slices are
 * invalid afterwards (status, counts and hash stay), so per-thread memory stays one page deep.
 * @p wait_s: fn may add the seconds it spent blocked (a full queue) for the thread's statistics. */
typedef struct fmd_page_sink {
    fmd_status (*fn)(size_t page, int thread, fmd_result *res, double *wait_s, void *userdata);
    void *userdata;
    bool release;
    /** NULL, or called on the worker thread just before page @p page is rendered (not for a
     * cancelled page): where a caller publishes the pages in flight. Must be thread-safe. */
    void (*begin)(size_t page, int thread, void *userdata);
} fmd_page_sink;

/** How pages are handed to threads. */
typedef enum fmd_schedule {
    FMD_SCHED_LPT = 0, /**< largest page first, dynamic, adaptive chunk (the default) */
    FMD_SCHED_DYNAMIC, /**< input order, schedule(dynamic, 1): the naive baseline, for measuring */
} fmd_schedule;

/** One run of the batch loop. Zero-initialise, then set what applies. */
typedef struct fmd_batch_run {
    const char *base;          /**< the input arena */
    const fmd_page_ref *pages; /**< n pages, offsets into base */
    size_t n;
    const fmd_options *opt;
    fmd_result *results;         /**< n slots; page i writes only results[i] */
    const fmd_thread_hook *hook; /**< NULL, or called once per thread at the region's start */
    const fmd_page_sink *sink;   /**< NULL, or called after each page */
    /** NULL, or a flag checked between pages: once non-zero, pages not yet started get
     * FMD_E_CANCELLED and are not passed to the sink; pages in flight finish. */
    const _Atomic int *cancel;
    fmd_thread_stats *stats; /**< NULL, or nthreads slots */
    fmd_schedule schedule;
    /** NUMA split (optional): n_parts > 1 splits the pages into contiguous ranges
     * [part_first[k], part_first[k+1]) and thread t takes from part thread_part[t] first, then
     * steals from the others once its own is empty. */
    size_t n_parts;
    const size_t *part_first; /**< n_parts + 1 entries */
    const int *thread_part;   /**< nthreads entries */
    /** > 0: run on at most this many of the batch's threads (a smaller team for this run);
     * 0: on all of them. */
    int max_threads;
} fmd_batch_run;

/** The per-thread arenas of a batch. Results of a run stay valid until the next run or destroy. */
typedef struct fmd_kernel_batch fmd_kernel_batch;

/** Create the state for running batches on @p nthreads threads (>= 1).
 * The arenas are created lazily, inside the parallel region, by the thread that uses them.
 * @return FMD_OK, FMD_E_USAGE (nthreads < 1) or FMD_E_NOMEM.
 * Ownership: free with fmd_kernel_batch_destroy(). */
fmd_status fmd_kernel_batch_create(fmd_kernel_batch **out, int nthreads);
void fmd_kernel_batch_destroy(fmd_kernel_batch *b);

/** The thread count @p b was made for. */
int fmd_kernel_batch_threads(const fmd_kernel_batch *b);

/** Render run->pages into run->results: one OpenMP parallel region, dynamic schedule.
 * A page whose load_status is not FMD_OK gets that status and no HTML (and still goes to the sink).
 * @return FMD_OK (page failures are in the results), FMD_E_USAGE (bad run), or FMD_E_NOMEM.
 * Ownership: results' slices are valid until the next run on @p b or its destroy (unless the
 * sink releases them).
 * Threads: call from one thread, outside a parallel region; it forks its own team. */
fmd_status fmd_kernel_batch_run(fmd_kernel_batch *b, const fmd_batch_run *run);

#endif
