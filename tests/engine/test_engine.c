/* SPDX-License-Identifier: MIT */
/* The pipeline as a library (engine/): windows, the loader queue, ordered output for any thread
 * count, the page-message and progress callbacks, a sink that cannot open its output, and the
 * rules file. Pages live in a temporary tree under /tmp that each test removes. */
#define _XOPEN_SOURCE 700 /* nftw, mkdtemp */
#include <ftw.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fmd_engine.h"

/*** A temporary tree ***/

typedef struct tree {
    char root[64];
    char src[96];
} tree;

static void tree_make(tree *t)
{
    strcpy(t->root, "/tmp/fmd-engine-XXXXXX");
    assert_non_null(mkdtemp(t->root));
    snprintf(t->src, sizeof t->src, "%s/src", t->root);
    assert_int_equal(mkdir(t->src, 0777), 0);
}

static void tree_put(const tree *t, const char *rel, const char *text, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", t->src, rel);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    mkdir(path, 0777); /* may exist */
    *slash = '/';
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void tree_remove(const tree *t)
{
    assert_int_equal(nftw(t->root, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static size_t count_lines(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += s[i] == '\n';
    return n;
}

/*** Placement: a synthetic topology, so that nothing depends on the host or gets bound ***/

static void placement_open(fmd_placement *pl, int threads)
{
    memset(pl, 0, sizeof *pl);
    fmd_numa_source src = {.kind = FMD_NUMA_SOURCE_SYNTHETIC, .spec = "pack:1 core:4 pu:1"};
    int err = 0;
    /* A build without hwloc has no synthetic topologies: an unbound plan over no topology. */
    if (fmd_numa_topology_create(&pl->topo, &src, &err) != FMD_OK)
        pl->topo = NULL;
    fmd_numa_plan_opts po = {.threads = threads, .no_bind = true};
    assert_int_equal(fmd_numa_plan_create(&pl->plan, pl->topo, &po), FMD_OK);
    pl->hook.fn = fmd_numa_thread_hook;
    pl->hook.userdata = pl->plan;
}

static void placement_close(fmd_placement *pl)
{
    fmd_numa_plan_destroy(pl->plan);
    fmd_numa_topology_destroy(pl->topo);
}

static void cfg_init(fmd_engine_cfg *cfg, const char *src)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->src = src;
    fmd_kernel_options_default(&cfg->opt);
    cfg->schedule = FMD_SCHED_LPT;
    cfg->queue_size = 1;
}

/* Run with @p threads into an NDJSON file under the tree; return the file's bytes. */
static char *run_ndjson(const tree *t, fmd_engine_cfg *cfg, int threads, const char *name,
                        fmd_engine_result *r, size_t *len)
{
    char out[160];
    snprintf(out, sizeof out, "%s/%s", t->root, name);
    cfg->ndjson_path = out;
    fmd_placement pl;
    placement_open(&pl, threads);
    fmd_status st = fmd_engine_run(cfg, &pl, r);
    placement_close(&pl);
    assert_int_equal(st, FMD_OK);
    cfg->ndjson_path = NULL;
    return slurp(out, len);
}

static void put_pages(const tree *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char rel[64], text[256];
        snprintf(rel, sizeof rel, "%s/page%02zu.md", i % 2 ? "odd" : "even", i);
        int len = snprintf(text, sizeof text, "---\ntitle: Page %zu\n---\n# Heading %zu\n\n%.*s\n",
                           i, i, (int)(i * 7 % 120),
                           "Some *words* and `code` repeated. "
                           "Some *words* and `code` repeated. Some *words* and `code` repeated. "
                           "Some *words* and `code` repeated.");
        tree_put(t, rel, text, (size_t)len);
    }
}

/*** Tests ***/

/* Output bytes are the same for 1 and 3 threads, one line per page, in input order. */
static void test_engine_ndjson_same_for_any_thread_count(void **state)
{
    (void)state;
    tree t;
    tree_make(&t);
    put_pages(&t, 24);
    fmd_engine_cfg cfg;
    cfg_init(&cfg, t.src);
    fmd_engine_result r1, r3;
    size_t len1, len3;
    char *one = run_ndjson(&t, &cfg, 1, "one.ndjson", &r1, &len1);
    char *three = run_ndjson(&t, &cfg, 3, "three.ndjson", &r3, &len3);
    assert_int_equal(r1.pages, 24);
    assert_int_equal(r3.pages, 24);
    assert_int_equal(r3.failed, 0);
    assert_int_equal(r3.nthreads, 3);
    assert_int_equal(count_lines(three, len3), 24);
    assert_int_equal(len1, len3);
    assert_memory_equal(one, three, len1);
    /* Input order is the walk's: "even/" before "odd/". */
    assert_true(strstr(three, "even/page00.md") < strstr(three, "odd/page01.md"));
    free(one);
    free(three);
    fmd_engine_result_destroy(&r1);
    fmd_engine_result_destroy(&r3);
    tree_remove(&t);
}

/* A memory bound cuts the batch into windows that the loader fills ahead of the renderer; the
 * output is the same as with one window. */
static void test_engine_windows_bound_the_batch(void **state)
{
    (void)state;
    tree t;
    tree_make(&t);
    size_t big = (size_t)700 << 10; /* two of these do not fit the smallest window (1 MiB) */
    char *text = malloc(big);
    assert_non_null(text);
    for (size_t i = 0; i < big; i++)
        text[i] = i % 64 == 63 ? '\n' : "abcdefgh"[i % 8];
    tree_put(&t, "a.md", text, big);
    tree_put(&t, "b.md", text, big);
    tree_put(&t, "c.md", text, big);
    free(text);
    fmd_engine_cfg cfg;
    cfg_init(&cfg, t.src);
    fmd_engine_result whole, windowed;
    size_t len_whole, len_win;
    char *a = run_ndjson(&t, &cfg, 2, "whole.ndjson", &whole, &len_whole);
    cfg.max_memory = 1; /* as small as can be: every window is the smallest */
    cfg.queue_size = 2;
    char *b = run_ndjson(&t, &cfg, 2, "windowed.ndjson", &windowed, &len_win);
    assert_int_equal(whole.windows, 1);
    assert_int_equal(windowed.windows, 3);
    assert_int_equal(windowed.pages, 3);
    assert_int_equal(windowed.bytes_in, 3 * big);
    assert_int_equal(len_whole, len_win);
    assert_memory_equal(a, b, len_whole);
    free(a);
    free(b);
    fmd_engine_result_destroy(&whole);
    fmd_engine_result_destroy(&windowed);
    tree_remove(&t);
}

typedef struct seen {
    size_t messages; /* page messages asked for */
    char last_name[256];
    size_t progress_final; /* final progress calls */
    size_t final_done, final_total;
} seen;

/* The memory model counts the front matter each rendering thread may be parsing: its YAML costs
 * the parser many times its bytes, apart from the page's own bytes in the window. With a front
 * matter cap of 64 MiB and two threads, the least memory a run needs is more than twice what one
 * such parse may hold (the rest of the model is a few MB here). */
static void test_engine_memory_counts_front_matter(void **state)
{
    (void)state;
    tree t;
    tree_make(&t);
    tree_put(&t, "a.md", "---\ntitle: A\n---\n# A\n", strlen("---\ntitle: A\n---\n# A\n"));
    fmd_engine_cfg cfg;
    cfg_init(&cfg, t.src);
    cfg.max_memory = 1;
    fmd_engine_result small, big;
    size_t len;
    free(run_ndjson(&t, &cfg, 2, "small.ndjson", &small, &len));
    cfg.opt.max_frontmatter_bytes = (size_t)64 << 20;
    free(run_ndjson(&t, &cfg, 2, "big.ndjson", &big, &len));
    size_t peak_small = fmd_kernel_frontmatter_peak_bytes(0);
    size_t peak_big = fmd_kernel_frontmatter_peak_bytes((size_t)64 << 20);
    /* The default cap's parse is counted: 1 MiB of 64 000 items measured 28 MB. */
    assert_true(peak_small >= (size_t)28 << 20);
    assert_true(peak_big > peak_small);
    assert_true(small.memory_needed >= 2 * peak_small);
    assert_true(big.memory_needed >= 2 * peak_big);
    assert_true(big.memory_needed - small.memory_needed >=
                2 * (peak_big - peak_small) - (8u << 20));
    fmd_engine_result_destroy(&small);
    fmd_engine_result_destroy(&big);
    tree_remove(&t);
}

static char *on_message(const char *name, fmd_status load_status, int err, const fmd_result *res,
                        void *userdata)
{
    (void)load_status;
    (void)err;
    seen *s = userdata;
    s->messages++; /* one page only in this test: no race */
    snprintf(s->last_name, sizeof s->last_name, "%s", name);
    char *text = malloc(32);
    snprintf(text, 32, "status %d\n", (int)res->status);
    return text;
}

static void on_progress(size_t done, size_t total, double elapsed_s, bool final, void *userdata)
{
    (void)elapsed_s;
    seen *s = userdata;
    if (final) {
        s->progress_final++;
        s->final_done = done;
        s->final_total = total;
    }
}

/* A page that fails is counted, and its message comes through the callback; progress ends with
 * every page done. */
static void test_engine_messages_and_progress(void **state)
{
    (void)state;
    tree t;
    tree_make(&t);
    put_pages(&t, 5);
    const char broken[] = "---\ntitle: [unclosed\n---\n# x\n";
    tree_put(&t, "broken.md", broken, sizeof broken - 1);
    fmd_engine_cfg cfg;
    cfg_init(&cfg, t.src);
    seen s = {0};
    cfg.message = on_message;
    cfg.progress = on_progress;
    cfg.userdata = &s;
    fmd_engine_result r;
    size_t len;
    char *out = run_ndjson(&t, &cfg, 2, "out.ndjson", &r, &len);
    assert_int_equal(r.pages, 6);
    assert_int_equal(r.failed, 1);
    assert_int_equal(s.messages, 1);
    assert_non_null(strstr(s.last_name, "/src/broken.md"));
    size_t with_message = 0;
    for (size_t i = 0; i < r.pages; i++)
        with_message += r.messages[i] != NULL;
    assert_int_equal(with_message, 1);
    assert_int_equal(s.progress_final, 1);
    assert_int_equal(s.final_done, 6);
    assert_int_equal(s.final_total, 6);
    assert_int_equal(count_lines(out, len), 6);
    free(out);
    fmd_engine_result_destroy(&r);
    tree_remove(&t);
}

/* An output directory that cannot be made fails the batch, says what, and leaks nothing. */
static void test_engine_sink_cannot_open_output(void **state)
{
    (void)state;
    tree t;
    tree_make(&t);
    put_pages(&t, 3);
    char file[128], out[160];
    snprintf(file, sizeof file, "%s/a-file", t.root);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(out, sizeof out, "%s/below", file); /* beneath a regular file */
    fmd_engine_cfg cfg;
    cfg_init(&cfg, t.src);
    cfg.out_dir = out;
    fmd_placement pl;
    placement_open(&pl, 2);
    fmd_engine_result r;
    fmd_status st = fmd_engine_run(&cfg, &pl, &r);
    placement_close(&pl);
    assert_int_not_equal(st, FMD_OK);
    assert_int_equal(r.st, st);
    assert_string_equal(r.what, out);
    assert_int_not_equal(r.err, 0);
    fmd_engine_result_destroy(&r);
    tree_remove(&t);
}

/* A source that does not exist fails at enumeration. */
static void test_engine_missing_source(void **state)
{
    (void)state;
    fmd_engine_cfg cfg;
    cfg_init(&cfg, "/nonexistent/fastmd-engine-test");
    cfg.ndjson_path = "/nonexistent/never-written.ndjson";
    fmd_placement pl;
    placement_open(&pl, 1);
    fmd_engine_result r;
    fmd_status st = fmd_engine_run(&cfg, &pl, &r);
    placement_close(&pl);
    assert_int_equal(st, FMD_E_NOINPUT);
    assert_string_equal(r.what, cfg.src);
    fmd_engine_result_destroy(&r);
}

/* Count the entries under @p dir (recursively) whose name starts with @p prefix. */
static size_t count_named_rec(const char *dir, const char *prefix);

/* A page is rendered in windows, the loader queue running up to queue_size windows ahead: with
 * queue sizes 1 and 3 and windows of one page each, every page is written once, in order. */
static void test_engine_loader_queue_sizes(void **state)
{
    (void)state;
    tree t;
    tree_make(&t);
    size_t big = (size_t)600 << 10; /* more than half the smallest window: one page each */
    char *text = malloc(big);
    assert_non_null(text);
    for (size_t i = 0; i < big; i++)
        text[i] = i % 50 == 49 ? '\n' : "word "[i % 5];
    char rel[32];
    for (int i = 0; i < 6; i++) {
        snprintf(rel, sizeof rel, "p%d.md", i);
        tree_put(&t, rel, text, big - (size_t)i);
    }
    free(text);
    fmd_engine_cfg cfg;
    cfg_init(&cfg, t.src);
    cfg.max_memory = 1;
    fmd_engine_result r1, r3;
    size_t l1, l3;
    cfg.queue_size = 1;
    char *a = run_ndjson(&t, &cfg, 2, "q1.ndjson", &r1, &l1);
    cfg.queue_size = 3;
    char *b = run_ndjson(&t, &cfg, 3, "q3.ndjson", &r3, &l3);
    assert_int_equal(r1.windows, 6);
    assert_int_equal(r3.windows, 6);
    assert_int_equal(r1.done, 6);
    assert_int_equal(r3.done, 6);
    assert_int_equal(count_lines(a, l1), 6);
    assert_int_equal(l1, l3);
    assert_memory_equal(a, b, l1);
    /* In path order: p0 first, p5 last. */
    assert_non_null(strstr(a, "\"path\":\"p0.md\""));
    assert_true(strstr(a, "\"path\":\"p0.md\"") < strstr(a, "\"path\":\"p5.md\""));
    free(a);
    free(b);
    fmd_engine_result_destroy(&r1);
    fmd_engine_result_destroy(&r3);
    tree_remove(&t);
}

/* A page whose file cannot be written (its output directory is taken by a regular file) fails
 * alone: its manifest line says error, the other pages are written, the batch goes on. */
static void test_engine_sink_page_write_fails(void **state)
{
    (void)state;
    tree t;
    tree_make(&t);
    put_pages(&t, 4); /* even/page00.md, odd/page01.md, ... */
    char out[160], blocker[200];
    snprintf(out, sizeof out, "%s/out", t.root);
    assert_int_equal(mkdir(out, 0777), 0);
    snprintf(blocker, sizeof blocker, "%s/odd", out);
    FILE *f = fopen(blocker, "w"); /* "odd" is a file: no page under it can be written */
    assert_non_null(f);
    fclose(f);
    for (int pool = 0; pool < 2; pool++) {
        fmd_engine_cfg cfg;
        cfg_init(&cfg, t.src);
        cfg.out_dir = out;
        cfg.writer_pool = pool == 1;
        fmd_placement pl;
        placement_open(&pl, 2);
        fmd_engine_result r;
        fmd_status st = fmd_engine_run(&cfg, &pl, &r);
        placement_close(&pl);
        assert_int_equal(st, FMD_OK);
        assert_int_equal(r.pages, 4);
        assert_int_equal(r.failed, 2);
        char man[200];
        snprintf(man, sizeof man, "%s/manifest.ndjson", out);
        size_t len;
        char *m = slurp(man, &len);
        assert_int_equal(count_lines(m, len), 4);
        const char *odd = strstr(m, "\"path\":\"odd/page01.md\"");
        assert_non_null(odd);
        const char *eol = strchr(odd, '\n');
        const char *err = strstr(odd, "\"status\":\"error\"");
        assert_true(err != NULL && err < eol);
        free(m);
        char page[220];
        snprintf(page, sizeof page, "%s/even/page00.html", out);
        assert_int_equal(access(page, F_OK), 0);
        assert_int_equal(count_named_rec(out, "tmp."), 0);
        fmd_engine_result_destroy(&r);
    }
    tree_remove(&t);
}

static void cancel_on_message(const _Atomic int *flag)
{
    atomic_store((_Atomic int *)flag, 1);
}

typedef struct cancel_ctx {
    _Atomic int flag;
} cancel_ctx;

/* The first page message (a broken page, first in path order) cancels the run. */
static char *cancel_message(const char *name, fmd_status load_status, int err,
                            const fmd_result *res, void *userdata)
{
    (void)name;
    (void)load_status;
    (void)err;
    (void)res;
    cancel_ctx *c = userdata;
    cancel_on_message(&c->flag);
    return NULL;
}

/* Cancelled before any page: nothing is rendered or written, no manifest appears, nothing is
 * left behind. Cancelled from the first page (in windows of one page): later windows are never
 * loaded, the run says FMD_E_CANCELLED and how many pages were done. */
static void test_engine_cancel(void **state)
{
    (void)state;
    tree t;
    tree_make(&t);
    size_t big = (size_t)600 << 10;
    char *text = malloc(big);
    assert_non_null(text);
    for (size_t i = 0; i < big; i++)
        text[i] = i % 50 == 49 ? '\n' : "word "[i % 5];
    const char broken[] = "---\ntitle: [unclosed\n---\n# x\n";
    tree_put(&t, "a-broken.md", broken, sizeof broken - 1);
    char rel[32];
    for (int i = 0; i < 5; i++) {
        snprintf(rel, sizeof rel, "p%d.md", i);
        tree_put(&t, rel, text, big);
    }
    free(text);
    char out[160], man[200];
    snprintf(out, sizeof out, "%s/out", t.root);
    snprintf(man, sizeof man, "%s/manifest.ndjson", out);

    for (int mode = 0; mode < 2; mode++) {
        cancel_ctx c = {0};
        fmd_engine_cfg cfg;
        cfg_init(&cfg, t.src);
        cfg.out_dir = out;
        cfg.cancel = &c.flag;
        cfg.max_memory = 1; /* one page per window */
        cfg.message = cancel_message;
        cfg.userdata = &c;
        fmd_placement pl;
        placement_open(&pl, 2);
        fmd_engine_result r;
        fmd_engine *e = NULL;
        assert_int_equal(fmd_engine_open(&cfg, &pl, &r, &e), FMD_OK);
        if (mode == 0)
            atomic_store(&c.flag, 1);
        fmd_status st = fmd_engine_render(e);
        fmd_engine_close(e);
        placement_close(&pl);
        assert_int_equal(st, FMD_E_CANCELLED);
        assert_true(r.cancelled);
        assert_int_equal(r.pages, 6);
        if (mode == 0)
            assert_int_equal(r.done, 0);
        else
            assert_true(r.done >= 1 && r.done < 6);
        assert_int_equal(access(man, F_OK), -1); /* no manifest: the run is not complete */
        assert_int_equal(count_named_rec(out, "tmp."), 0);
        assert_int_equal(count_named_rec(out, "manifest"), 0);
        fmd_engine_result_destroy(&r);
    }
    tree_remove(&t);
}

static size_t count_named_rec(const char *dir, const char *prefix)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "find '%s' -name '*%s*' 2>/dev/null | wc -l", dir, prefix);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    unsigned long n = 99;
    assert_int_equal(fscanf(p, "%lu", &n), 1);
    pclose(p);
    return (size_t)n;
}

/* The rules file: what is wrong, and where. */
static void test_engine_rules_load(void **state)
{
    (void)state;
    tree t;
    tree_make(&t);
    char path[160], msg[256];
    snprintf(path, sizeof path, "%s/rules.json", t.root);
    fmd_rules *rules = NULL;
    assert_int_equal(fmd_engine_rules_load(path, &rules, msg, sizeof msg), FMD_E_NOINPUT);
    const char *cases[] = {"{\"a\": 1}", "[{\"pattern\": 1}]",
                           "[{\"pattern\": \"(\", "
                           "\"replacement\": \"x\", \"regex\": true}]",
                           "[1,"};
    const fmd_status want[] = {FMD_E_USAGE, FMD_E_USAGE, FMD_E_RULE, FMD_E_USAGE};
    const char *says[] = {"expected a JSON array", "rule 0 needs", "rule 0", ":1:"};
    for (size_t k = 0; k < 4; k++) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(cases[k], f);
        fclose(f);
        assert_int_equal(fmd_engine_rules_load(path, &rules, msg, sizeof msg), want[k]);
        assert_null(rules);
        assert_non_null(strstr(msg, says[k]));
    }
    FILE *f = fopen(path, "w");
    fputs("[{\"pattern\": \"px\", \"replacement\": \"pixels\"}]", f);
    fclose(f);
    assert_int_equal(fmd_engine_rules_load(path, &rules, msg, sizeof msg), FMD_OK);
    assert_non_null(rules);
    fmd_kernel_rules_destroy(rules);
    tree_remove(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_ndjson_same_for_any_thread_count),
        cmocka_unit_test(test_engine_windows_bound_the_batch),
        cmocka_unit_test(test_engine_memory_counts_front_matter),
        cmocka_unit_test(test_engine_messages_and_progress),
        cmocka_unit_test(test_engine_sink_cannot_open_output),
        cmocka_unit_test(test_engine_missing_source),
        cmocka_unit_test(test_engine_rules_load),
        cmocka_unit_test(test_engine_loader_queue_sizes),
        cmocka_unit_test(test_engine_sink_page_write_fails),
        cmocka_unit_test(test_engine_cancel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
