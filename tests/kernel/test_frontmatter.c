/* SPDX-License-Identifier: MIT */
/* fmd__kernel_frontmatter: detection of the block, YAML -> JSON (core schema, aliases, merge
 * keys), the title, errors with page line and column, limits against hostile YAML, silence on
 * stderr and identical results from many threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"

static int setup(void **state)
{
    fmd_arena *a;
    if (fmd_arena_create(&a, 0) != FMD_OK)
        return -1;
    *state = a;
    return 0;
}

static int teardown(void **state)
{
    fmd_arena_destroy(*state);
    return 0;
}

static fmd__frontmatter parse(void **state, const char *page)
{
    fmd__frontmatter fm;
    assert_int_equal(fmd__kernel_frontmatter(page, strlen(page), 0, *state, &fm), FMD_OK);
    return fm;
}

/* Compare a slice with a C string, printing both when they differ. */
static void assert_slice(fmd_slice s, const char *want)
{
    assert_non_null(s.ptr);
    char got[8192];
    assert_true(s.len < sizeof got);
    memcpy(got, s.ptr, s.len);
    got[s.len] = '\0';
    assert_string_equal(got, want);
}

/* Parse "---\n" @p yaml "---\n", expect success and @p json. */
static fmd__frontmatter check_json(void **state, const char *yaml, const char *json)
{
    char page[4096];
    int n = snprintf(page, sizeof page, "---\n%s---\nbody\n", yaml);
    assert_true(n > 0 && (size_t)n < sizeof page);
    fmd__frontmatter fm = parse(state, page);
    if (fm.st != FMD_OK)
        fail_msg("unexpected error \"%.*s\" at %u:%u for:\n%s", (int)fm.err_message.len,
                 fm.err_message.ptr, fm.err_line, fm.err_column, yaml);
    assert_true(fm.present);
    assert_slice(fm.json, json);
    return fm;
}

/* Parse @p page, expect a front matter error whose message contains @p msg, at line:col. */
static fmd__frontmatter check_error(void **state, const char *page, const char *msg, unsigned line,
                                    unsigned col)
{
    fmd__frontmatter fm = parse(state, page);
    assert_true(fm.present);
    assert_int_equal(fm.st, FMD_E_FRONTMATTER);
    assert_null(fm.json.ptr);
    assert_non_null(fm.err_message.ptr);
    char got[512];
    assert_true(fm.err_message.len < sizeof got);
    memcpy(got, fm.err_message.ptr, fm.err_message.len);
    got[fm.err_message.len] = '\0';
    if (strstr(got, msg) == NULL)
        fail_msg("message \"%s\" does not contain \"%s\"", got, msg);
    assert_int_equal(fm.err_line, line);
    assert_int_equal(fm.err_column, col);
    return fm;
}

/*** Detection ***/

static void test_frontmatter_valid_nested(void **state)
{
    static const char page[] = "---\n"
                               "title: Hello\n"
                               "tags: [a, b]\n"
                               "nested:\n"
                               "  n: 1\n"
                               "  f: 2.5\n"
                               "  t: true\n"
                               "  nul: ~\n"
                               "  empty:\n"
                               "  list:\n"
                               "    - x\n"
                               "    - {k: v}\n"
                               "---\n"
                               "# Body\n";
    fmd__frontmatter fm = parse(state, page);
    assert_true(fm.present);
    assert_int_equal(fm.st, FMD_OK);
    assert_slice(fm.json, "{\"title\":\"Hello\",\"tags\":[\"a\",\"b\"],\"nested\":{\"n\":1,"
                          "\"f\":2.5,\"t\":true,\"nul\":null,\"empty\":null,"
                          "\"list\":[\"x\",{\"k\":\"v\"}]}}");
    assert_slice(fm.title, "Hello");
    assert_int_equal(fm.body_offset, strlen(page) - strlen("# Body\n"));
    assert_int_equal(fm.body_line, 14);
}

static void test_frontmatter_absent(void **state)
{
    static const char *const pages[] = {
        "# Title\n\n---\ntitle: x\n---\n", /* a thematic break later on */
        "\n---\ntitle: x\n---\n",          /* not on the first line */
        " ---\ntitle: x\n---\n",
        "----\ntitle: x\n---\n",
        "--- x\ntitle: x\n---\n",
        "---", /* a page that is only a thematic break */
        "--",
        "",
    };
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        fmd__frontmatter fm = parse(state, pages[i]);
        assert_false(fm.present);
        assert_int_equal(fm.st, FMD_OK);
        assert_int_equal(fm.body_offset, 0);
        assert_int_equal(fm.body_line, 1);
        assert_null(fm.json.ptr);
        assert_null(fm.title.ptr);
    }
}

static void test_frontmatter_empty(void **state)
{
    fmd__frontmatter fm = parse(state, "---\n---\nbody");
    assert_true(fm.present);
    assert_int_equal(fm.st, FMD_OK);
    assert_slice(fm.json, "{}");
    assert_null(fm.title.ptr);
    assert_int_equal(fm.body_offset, 8);
    assert_int_equal(fm.body_line, 3);

    fm = parse(state, "---\n# only a comment\n\n---\n");
    assert_slice(fm.json, "{}");
    assert_int_equal(fm.body_offset, strlen("---\n# only a comment\n\n---\n"));

    fm = parse(state, "---\n---"); /* the closing line may end the page */
    assert_slice(fm.json, "{}");
    assert_int_equal(fm.body_offset, 7);
}

static void test_frontmatter_dots_close(void **state)
{
    fmd__frontmatter fm = parse(state, "---\na: 1\n...\nbody\n");
    assert_int_equal(fm.st, FMD_OK);
    assert_slice(fm.json, "{\"a\":1}");
    assert_int_equal(fm.body_offset, 13);
    assert_int_equal(fm.body_line, 4);
}

static void test_frontmatter_trailing_spaces_on_markers(void **state)
{
    fmd__frontmatter fm = parse(state, "---  \na: 1\n--- \t\nbody\n");
    assert_int_equal(fm.st, FMD_OK);
    assert_slice(fm.json, "{\"a\":1}");
    assert_int_equal(fm.body_offset, 17);
}

static void test_frontmatter_dashes_in_body_code_block(void **state)
{
    static const char page[] = "---\ntitle: T\n---\n# Doc\n\n```yaml\n---\nfoo: [\n...\n---\n```\n";
    fmd__frontmatter fm = parse(state, page);
    assert_int_equal(fm.st, FMD_OK);
    assert_slice(fm.json, "{\"title\":\"T\"}");
    assert_slice(fm.title, "T");
    assert_int_equal(fm.body_offset, 17);
    assert_int_equal(fm.body_line, 4);
}

static void test_frontmatter_unclosed(void **state)
{
    fmd__frontmatter fm = check_error(state, "---\ntitle: x\n\nNo closing line, ever.\n",
                                      "front matter opened on line 1 is not closed", 1, 1);
    assert_int_equal(fm.body_offset, 0);
    assert_int_equal(fm.body_line, 1);
    check_error(state, "---\n", "front matter opened on line 1 is not closed", 1, 1);
    check_error(state, "---\ntitle: x\n-----\n", "is not closed", 1, 1);
}

static void test_frontmatter_after_bom_and_crlf(void **state)
{
    static const char raw[] = "\xEF\xBB\xBF---\r\ntitle: W\r\nlist:\r\n  - 1\r\n---\r\nBody\r\n";
    fmd_slice text;
    fmd__norm_report rep;
    assert_int_equal(fmd__kernel_normalize(raw, sizeof raw - 1, *state, &text, &rep), FMD_OK);
    fmd__frontmatter fm;
    assert_int_equal(fmd__kernel_frontmatter(text.ptr, text.len, 0, *state, &fm), FMD_OK);
    assert_true(fm.present);
    assert_int_equal(fm.st, FMD_OK);
    assert_slice(fm.json, "{\"title\":\"W\",\"list\":[1]}");
    assert_slice(fm.title, "W");
    assert_int_equal(text.len - fm.body_offset, 5);
    assert_memory_equal(text.ptr + fm.body_offset, "Body\n", 5);

    /* A lone BOM line before the marker is not front matter: the marker is not first. */
    static const char late[] = "\xEF\xBB\xBF\n---\ntitle: x\n---\n";
    assert_int_equal(fmd__kernel_normalize(late, sizeof late - 1, *state, &text, &rep), FMD_OK);
    assert_int_equal(fmd__kernel_frontmatter(text.ptr, text.len, 0, *state, &fm), FMD_OK);
    assert_false(fm.present);
}

/*** Scalars ***/

static void test_frontmatter_core_schema_scalars(void **state)
{
    static const struct {
        const char *yaml, *json;
    } cases[] = {
        {"0", "0"},
        {"-0", "-0"},
        {"+12", "12"},
        {"-007", "-7"},
        {"007", "7"},
        {"12345678901234567890123", "\"12345678901234567890123\""},
        /* Integers beyond 2^53 and numbers a double cannot hold are strings, as written. */
        {"9007199254740992", "9007199254740992"},
        {"-9007199254740992", "-9007199254740992"},
        {"9007199254740993", "\"9007199254740993\""},
        {"-00009007199254740993", "\"-00009007199254740993\""},
        {"0x20000000000000", "9007199254740992"},
        {"0x20000000000001", "\"0x20000000000001\""},
        {"1e400", "\"1e400\""},
        {"-1e400", "\"-1e400\""},
        {"1.7976931348623157e308", "1.7976931348623157e308"},
        {"1.7976931348623158e308", "\"1.7976931348623158e308\""},
        {"123.456e306", "123.456e306"},
        {"123.456e307", "\"123.456e307\""},
        {"0.001e311", "0.001e311"},
        {"1e-400", "\"1e-400\""},
        {"5e-324", "5e-324"},
        {"2e-324", "\"2e-324\""},
        {"0.00001e-320", "\"0.00001e-320\""},
        {"0.0e99999", "0.0e99999"},
        {"1e99999999999999999999", "\"1e99999999999999999999\""},
        {"12345678901234567890.5", "12345678901234567890.5"},
        {"0x1F", "31"},
        {"0xffffffffffffffff", "\"0xffffffffffffffff\""},
        {"0x10000000000000000", "\"0x10000000000000000\""},
        {"0o17", "15"},
        {"0o8", "\"0o8\""},
        {"0x", "\"0x\""},
        {"2.5", "2.5"},
        {".5", "0.5"},
        {"+.5", "0.5"},
        {"-.5e-3", "-0.5e-3"},
        {"1.", "1"},
        {"1e3", "1e3"},
        {"1.50E+10", "1.50E+10"},
        {"00.10", "0.10"},
        {"1e", "\"1e\""},
        {"1_000", "\"1_000\""},
        {".", "\".\""},
        {"-x", "\"-x\""},
        {"+", "\"+\""},
        {".inf", "\".inf\""},
        {"-.Inf", "\"-.Inf\""},
        {".NaN", "\".NaN\""},
        {".nan5", "\".nan5\""},
        {"true", "true"},
        {"True", "true"},
        {"TRUE", "true"},
        {"false", "false"},
        {"FALSE", "false"},
        {"tRUE", "\"tRUE\""},
        {"yes", "\"yes\""},
        {"off", "\"off\""},
        {"~", "null"},
        {"null", "null"},
        {"Null", "null"},
        {"NULL", "null"},
        {"", "null"},
        {"nULL", "\"nULL\""},
        {"2024-01-15", "\"2024-01-15\""},
        {"2024-01-15T10:00:00Z", "\"2024-01-15T10:00:00Z\""},
        {"12:30", "\"12:30\""},
        {"1.2.3", "\"1.2.3\""},
        {"hello world", "\"hello world\""},
        {"'123'", "\"123\""},
        {"\"1.10\"", "\"1.10\""},
        {"'01234'", "\"01234\""},
        {"\"true\"", "\"true\""},
        {"''", "\"\""},
        {"'~'", "\"~\""},
        {"!!str 5", "\"5\""},
        {"!!str true", "\"true\""},
        {"!!int \"5\"", "5"},
        {"!!bool \"yes\"", "\"yes\""},
        {"! 12", "\"12\""},
        {"!custom 12", "12"},
        {"\"tab\\there \\u00e9 \\x01 \\\" \\\\\"", "\"tab\\there é \\u0001 \\\" \\\\\""},
        {"\"\\u2028\"", "\"\\u2028\""},
        {"|\n  line 1\n  line 2\n", "\"line 1\\nline 2\\n\""},
        {">-\n  folded\n  text\n", "\"folded text\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char yaml[256], json[256];
        snprintf(yaml, sizeof yaml, "v: %s\n", cases[i].yaml);
        snprintf(json, sizeof json, "{\"v\":%s}", cases[i].json);
        check_json(state, yaml, json);
    }
}

static void test_frontmatter_single_quoted_escapes(void **state)
{
    /* Decoded by frontmatter.c itself (libfyaml 0.7.12 leaks on five '' in a row); the
     * expected values are PyYAML's. */
    static const struct {
        const char *yaml, *json;
    } cases[] = {
        {"'it''s'", "\"it's\""},
        {"''''''''''''", "\"'''''\""},
        {"'"
         "''''''''''''''''''''''''''''''''''''''''"
         "'", /* 20 in a row */
         "\"''''''''''''''''''''\""},
        {"'a''  \n  b'", "\"a' b\""},
        {"'a''\n\n  b'", "\"a'\\nb\""},
        {"'a'' \n\n\n b'", "\"a'\\n\\nb\""},
        {"'  lead''s  '", "\"  lead's  \""},
        {"'\n  x''y'", "\" x'y\""},
        {"'x''y\n  '", "\"x'y \""},
        {"'a''\t\n \tb'", "\"a' b\""},
        {"'x''\n  \n  y\n  z  '", "\"x'\\ny z  \""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char yaml[256], json[256];
        snprintf(yaml, sizeof yaml, "v: %s\n", cases[i].yaml);
        snprintf(json, sizeof json, "{\"v\":%s}", cases[i].json);
        check_json(state, yaml, json);
    }
    /* As a key and as the title too. */
    fmd__frontmatter fm = check_json(state, "'k''''''''''': 1\ntitle: 'Don''t panic'\n",
                                     "{\"k'''''\":1,\"title\":\"Don't panic\"}");
    assert_slice(fm.title, "Don't panic");
}

static void test_frontmatter_keys(void **state)
{
    /* Keys are strings as written, whatever they would mean as values. */
    check_json(state, "1: a\ntrue: b\n~: c\n0x10: d\n\"q\": e\n",
               "{\"1\":\"a\",\"true\":\"b\",\"~\":\"c\",\"0x10\":\"d\",\"q\":\"e\"}");
    /* A collection as a key becomes its JSON text. */
    check_json(state, "? [a, 1]\n: v\n? {k: x}\n: w\n",
               "{\"[\\\"a\\\",1]\":\"v\",\"{\\\"k\\\":\\\"x\\\"}\":\"w\"}");
}

/*** Title ***/

static void test_frontmatter_title_rules(void **state)
{
    static const struct {
        const char *yaml, *title; /* title NULL: none */
    } cases[] = {
        {"title: Plain words\n", "Plain words"},
        {"title: \"Quoted \\\"x\\\"\"\n", "Quoted \"x\""},
        {"title: 42\n", "42"},
        {"title: 0x10\n", "0x10"}, /* as written, though the JSON says 16 */
        {"title: 2024-01-15\n", "2024-01-15"},
        {"title: true\n", "true"},
        {"title: [a, b]\n", NULL},
        {"title: {a: 1}\n", NULL},
        {"title: ~\n", NULL},
        {"title:\n", NULL},
        {"title: ''\n", NULL},
        {"Title: Other case\n", NULL},
        {"nested:\n  title: Not top level\n", NULL},
        {"t: &t Anchored\ntitle: *t\n", "Anchored"},
        {"\"title\": Quoted key\n", "Quoted key"},
        {"title: |\n  Block\n", "Block\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char page[256];
        snprintf(page, sizeof page, "---\n%s---\n", cases[i].yaml);
        fmd__frontmatter fm = parse(state, page);
        assert_int_equal(fm.st, FMD_OK);
        if (cases[i].title == NULL) {
            if (fm.title.ptr != NULL)
                fail_msg("case %zu: unexpected title \"%.*s\"", i, (int)fm.title.len, fm.title.ptr);
        } else {
            assert_slice(fm.title, cases[i].title);
        }
    }
    fmd__frontmatter fm = check_json(state, "title: 0x10\n", "{\"title\":16}");
    assert_slice(fm.title, "0x10");
}

/*** Errors ***/

static void test_frontmatter_broken_yaml_position(void **state)
{
    /* Positions are in the page, where the YAML starts on line 2. */
    check_error(state, "---\ntitle: ok\nbad: @x\n---\nbody\n", "cannot start with '@'", 3, 6);
    check_error(state, "---\na: 1\nb: 2\na: 3\n---\n", "duplicate key", 4, 1);
    check_error(state, "---\na: 1\nb: [1, 2]]\n---\n", "closing bracket", 3, 10);
    /* An unclosed bracket is reported where it opens, not where the text runs out. */
    check_error(state, "---\ntitle: ok\ntags: [a, b\nother: 1\n---\n",
                "flow sequence '[' is not closed", 3, 7);
    check_error(state, "---\na: {b: 1\nz: 1\n---\n", "flow mapping '{' is not closed", 2, 4);
    check_error(state, "---\na: [1, [2, 3]\n---\n", "'[' is not closed", 2, 4);
    fmd__frontmatter fm =
        check_error(state, "---\na: 1\nb: \"open\n---\nbody\n", "double-quoted", 3, 5);
    /* The block is closed, so the body still starts after it. */
    assert_int_equal(fm.body_offset, strlen("---\na: 1\nb: \"open\n---\n"));
}

static void test_frontmatter_duplicate_keys(void **state)
{
    /* Small mappings compare every pair, large ones hash: both report the second key. */
    check_error(state, "---\nx:\n  a: 1\n  b: 2\n  a: 3\n---\n", "duplicate key", 5, 3);
    char page[4096];
    size_t n = (size_t)snprintf(page, sizeof page, "---\n");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(page + n, sizeof page - n, "key%d: %d\n", i, i);
    snprintf(page + n, sizeof page - n, "key7: again\n---\n");
    check_error(state, page, "duplicate key", 42, 1);
    /* Keys are compared as the JSON strings they become. */
    check_error(state, "---\n1: a\n\"1\": b\n---\n", "duplicate key", 3, 1);
    check_error(state, "---\nk: &k x\nm: {x: 1, *k : 2}\n---\n", "duplicate key", 3, 11);
    /* A merge key is not a duplicate of anything. */
    check_json(state, "a: &a {p: 1}\nb: {<<: *a, q: 2}\n",
               "{\"a\":{\"p\":1},\"b\":{\"p\":1,\"q\":2}}");
}

static void test_frontmatter_many_keys_linear(void **state)
{
    /* libfyaml's own duplicate check is O(n^2): seconds at this size. */
    enum { KEYS = 20000 };
    size_t cap = (size_t)KEYS * 32 + 16;
    char *page = malloc(cap);
    assert_non_null(page);
    size_t n = (size_t)snprintf(page, cap, "---\n");
    for (int i = 0; i < KEYS; i++)
        n += (size_t)snprintf(page + n, cap - n, "k%d: %d\n", i, i);
    n += (size_t)snprintf(page + n, cap - n, "---\n");
    clock_t t0 = clock();
    fmd__frontmatter fm;
    assert_int_equal(fmd__kernel_frontmatter(page, n, 0, *state, &fm), FMD_OK);
    double s = (double)(clock() - t0) / CLOCKS_PER_SEC;
    free(page);
    assert_int_equal(fm.st, FMD_OK);
    assert_true(fm.json.len > (size_t)KEYS * 8);
    assert_true(s < 5.0);
}

static void test_frontmatter_top_level_not_mapping(void **state)
{
    check_error(state, "---\n- a\n- b\n---\n", "front matter must be a mapping", 2, 1);
    check_error(state, "---\n# comment\n\n  just text\n---\n", "front matter must be a mapping", 4,
                3);
    check_error(state, "---\n[1, 2]\n---\n", "front matter must be a mapping", 2, 1);
}

static void test_frontmatter_quiet_on_stderr(void **state)
{
    /* libfyaml prints diagnostics to stderr unless told otherwise; the kernel must never. */
    fflush(stderr);
    int saved = dup(2);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    assert_true(saved >= 0);
    dup2(fileno(tmp), 2);
    fmd__frontmatter fm = parse(state, "---\na: [1\nb: @\nc: *nope\n---\n");
    fmd__frontmatter fm2 = parse(state, "---\nc: *nope\n---\n");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fseek(tmp, 0, SEEK_END);
    long size = ftell(tmp);
    fclose(tmp);
    assert_int_equal(fm.st, FMD_E_FRONTMATTER);
    assert_int_equal(fm2.st, FMD_E_FRONTMATTER);
    assert_int_equal(size, 0);
}

/*** Aliases and merge keys ***/

static void test_frontmatter_anchors_and_aliases(void **state)
{
    check_json(state, "base: &b {x: 1, y: [1, 2]}\ncopy: *b\nlist: [&s hi, *s, *s]\n",
               "{\"base\":{\"x\":1,\"y\":[1,2]},\"copy\":{\"x\":1,\"y\":[1,2]},"
               "\"list\":[\"hi\",\"hi\",\"hi\"]}");
    /* An alias keeps the scalar's style: a quoted anchor stays a string. */
    check_json(state, "a: &n '5'\nb: *n\nc: &m 5\nd: *m\n",
               "{\"a\":\"5\",\"b\":\"5\",\"c\":5,\"d\":5}");
}

static void test_frontmatter_merge_keys(void **state)
{
    check_json(state, "base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\n  z: 4\n",
               "{\"base\":{\"x\":1,\"y\":2},\"d\":{\"x\":1,\"y\":3,\"z\":4}}");
    /* Earlier mappings in the list win; the mapping's own keys win over all. */
    check_json(state,
               "a: &a {x: a, only_a: 1}\nb: &b {x: b, w: b, only_b: 2}\n"
               "m:\n  w: own\n  <<: [*a, *b]\n",
               "{\"a\":{\"x\":\"a\",\"only_a\":1},\"b\":{\"x\":\"b\",\"w\":\"b\",\"only_b\":2},"
               "\"m\":{\"w\":\"own\",\"x\":\"a\",\"only_a\":1,\"only_b\":2}}");
    /* Merges nest: c merges b, which merges a. */
    check_json(state, "a: &a {p: 1, q: 1}\nb: &b {<<: *a, q: 2}\nc: {<<: *b, r: 3}\n",
               "{\"a\":{\"p\":1,\"q\":1},\"b\":{\"p\":1,\"q\":2},\"c\":{\"p\":1,\"q\":2,\"r\":3}}");
    /* A merged title counts. */
    fmd__frontmatter fm = check_json(state, "d: &d {title: From merge}\n<<: *d\n",
                                     "{\"d\":{\"title\":\"From merge\"},\"title\":\"From merge\"}");
    assert_slice(fm.title, "From merge");
    /* Alias keys compare by the text they point to. */
    check_json(state, "k: &k x\nb: &b {x: 1, y: 1}\nm: {<<: *b, *k : 2}\n",
               "{\"k\":\"x\",\"b\":{\"x\":1,\"y\":1},\"m\":{\"y\":1,\"x\":2}}");
    /* A quoted "<<" is an ordinary key. */
    check_json(state, "\"<<\": 1\n", "{\"<<\":1}");
    check_error(state, "---\n<<: 5\n---\n", "merge key", 2, 5);
}

static void test_frontmatter_bad_aliases(void **state)
{
    check_error(state, "---\na: 1\nb: *nope\n---\n", "not defined", 3, 4);
    check_error(state, "---\na: &x [1, *x]\n---\n", "contains it", 2, 11);
    check_error(state, "---\na: &x {<<: *x}\n---\n", "contains it", 2, 12);
}

static void test_frontmatter_anchor_order(void **state)
{
    /* An alias names the last anchor of its name before it. */
    check_json(state, "a: &x 1\nb: *x\nc: &x [2]\nd: *x\ne: {k: *x}\n",
               "{\"a\":1,\"b\":1,\"c\":[2],\"d\":[2],\"e\":{\"k\":[2]}}");
    check_error(state, "---\na: *x\nb: &x 1\n---\n", "not defined", 2, 4);
}

static void test_frontmatter_many_anchors_and_aliases(void **state)
{
    /* 1000 anchors and 60 000 aliases: fast (libfyaml's own lookup scans every anchor). */
    enum { ANCHORS = 1000, ALIASES = 60000 };
    size_t cap = (size_t)ANCHORS * 24 + (size_t)ALIASES * 8 + 64;
    char *page = malloc(cap);
    assert_non_null(page);
    size_t n = (size_t)snprintf(page, cap, "---\n");
    for (int i = 0; i < ANCHORS; i++)
        n += (size_t)snprintf(page + n, cap - n, "a%d: &x%d %d\n", i, i, i);
    n += (size_t)snprintf(page + n, cap - n, "l: [");
    for (int i = 0; i < ALIASES; i++)
        n += (size_t)snprintf(page + n, cap - n, "*x%d,", i % ANCHORS);
    n += (size_t)snprintf(page + n, cap - n, "0]\n---\n");
    clock_t t0 = clock();
    fmd__frontmatter fm;
    assert_int_equal(fmd__kernel_frontmatter(page, n, 0, *state, &fm), FMD_OK);
    double s = (double)(clock() - t0) / CLOCKS_PER_SEC;
    assert_int_equal(fm.st, FMD_OK);
    assert_true(s < 5.0);

    /* One anchor too many is refused before parsing, at the mark that is one too many. */
    n = (size_t)snprintf(page, cap, "---\n");
    for (int i = 0; i <= 1000; i++)
        n += (size_t)snprintf(page + n, cap - n, "k%d: &x v\n", i);
    snprintf(page + n, cap - n, "---\n");
    check_error(state, page, "more than 1000 anchors", 1002, 8);
    free(page);
    /* '&' inside words and before a space is no anchor mark. */
    fm = check_json(state, "a: R&D\nb: Tom & Jerry\nc: x?a=1&b=2\n",
                    "{\"a\":\"R&D\",\"b\":\"Tom & Jerry\",\"c\":\"x?a=1&b=2\"}");
}

static void test_frontmatter_merge_many_keys(void **state)
{
    enum { KEYS = 10000 };
    size_t cap = (size_t)KEYS * 16 + 64;
    char *page = malloc(cap);
    assert_non_null(page);
    size_t n = (size_t)snprintf(page, cap, "---\nb: &b {");
    for (int i = 0; i < KEYS; i++)
        n += (size_t)snprintf(page + n, cap - n, "k%d: %d, ", i, i);
    n += (size_t)snprintf(page + n, cap - n, "z: 0}\nc: {<<: *b, k1: own}\n---\n");
    fmd__frontmatter fm;
    assert_int_equal(fmd__kernel_frontmatter(page, n, 0, *state, &fm), FMD_OK);
    free(page);
    assert_int_equal(fm.st, FMD_OK);
    char *json = malloc(fm.json.len + 1); /* NUL-terminated, for strstr */
    assert_non_null(json);
    memcpy(json, fm.json.ptr, fm.json.len);
    json[fm.json.len] = '\0';
    /* c holds every key once, k1 with its own value. */
    const char *c = strstr(json, "\"c\":{");
    bool ok = c != NULL && strstr(c, "\"k1\":\"own\"") != NULL && strstr(c, "\"k1\":1,") == NULL &&
              strstr(c, "\"k9999\":9999") != NULL;
    free(json);
    assert_true(ok);
}

static void test_frontmatter_billion_laughs(void **state)
{
    /* 9 levels of 10 aliases each: 10^9 strings if expanded. */
    char yaml[2048];
    size_t n = 0;
    n += (size_t)snprintf(yaml + n, sizeof yaml - n,
                          "---\na: &a [\"lol\",\"lol\",\"lol\",\"lol\","
                          "\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for (char c = 'b'; c <= 'i'; c++) {
        char p = (char)(c - 1);
        n += (size_t)snprintf(yaml + n, sizeof yaml - n,
                              "%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n", c, c, p, p, p,
                              p, p, p, p, p, p, p);
    }
    n += (size_t)snprintf(yaml + n, sizeof yaml - n, "---\n");
    assert_true(n < sizeof yaml);
    clock_t t0 = clock();
    fmd__frontmatter fm = parse(state, yaml);
    double s = (double)(clock() - t0) / CLOCKS_PER_SEC;
    assert_int_equal(fm.st, FMD_E_FRONTMATTER);
    assert_non_null(fm.err_message.ptr);
    assert_true(fm.err_message.len > 20);
    assert_memory_equal(fm.err_message.ptr, "front matter is too large", 25);
    assert_true(s < 2.0);
    /* A few levels are fine. */
    fm = parse(state, "---\na: &a [1,2]\nb: &b [*a,*a]\nc: [*b,*b]\n---\n");
    assert_int_equal(fm.st, FMD_OK);
    assert_slice(fm.json, "{\"a\":[1,2],\"b\":[[1,2],[1,2]],\"c\":[[[1,2],[1,2]],[[1,2],[1,2]]]}");
}

static void test_frontmatter_too_deep(void **state)
{
    char page[512];
    size_t n = (size_t)snprintf(page, sizeof page, "---\na: ");
    for (int i = 0; i < 100; i++)
        page[n++] = '[';
    for (int i = 0; i < 100; i++)
        page[n++] = ']';
    memcpy(page + n, "\n---\n", 6);
    fmd__frontmatter fm = parse(state, page);
    assert_int_equal(fm.st, FMD_E_FRONTMATTER);
    assert_int_equal(fm.err_line, 2);
    /* Aliases can nest deeper than the parser allows: 60 + 60 + ... levels. */
    char yaml[8192];
    n = (size_t)snprintf(yaml, sizeof yaml, "---\na: &a ");
    for (int i = 0; i < 60; i++)
        yaml[n++] = '[';
    for (int i = 0; i < 60; i++)
        yaml[n++] = ']';
    for (char c = 'b'; c <= 'd'; c++) {
        n += (size_t)snprintf(yaml + n, sizeof yaml - n, "\n%c: &%c ", c, c);
        for (int i = 0; i < 60; i++)
            yaml[n++] = '[';
        n += (size_t)snprintf(yaml + n, sizeof yaml - n, "*%c", c - 1);
        for (int i = 0; i < 60; i++)
            yaml[n++] = ']';
    }
    memcpy(yaml + n, "\n---\n", 6);
    check_error(state, yaml, "deeper than 128 levels", 0, 0);
}

/*** Hostile sizes and shapes: refused before libfyaml reads them ***/

/* "---\n" + @p head + @p n copies of @p c + @p tail + "\n---\n# x\n", malloc'd. */
static char *page_of(const char *head, char c, size_t n, const char *tail, size_t *len)
{
    size_t hl = strlen(head), tl = strlen(tail);
    *len = 4 + hl + n + tl + 9;
    char *p = malloc(*len + 1);
    assert_non_null(p);
    memcpy(p, "---\n", 4);
    memcpy(p + 4, head, hl);
    memset(p + 4 + hl, c, n);
    memcpy(p + 4 + hl + n, tail, tl);
    memcpy(p + 4 + hl + n + tl, "\n---\n# x\n", 10);
    return p;
}

static fmd__frontmatter parse_n(void **state, const char *page, size_t len, size_t max)
{
    fmd__frontmatter fm;
    assert_int_equal(fmd__kernel_frontmatter(page, len, max, *state, &fm), FMD_OK);
    return fm;
}

static void assert_message(fmd__frontmatter fm, const char *part)
{
    char got[512];
    snprintf(got, sizeof got, "%.*s", (int)fm.err_message.len,
             fm.err_message.ptr ? fm.err_message.ptr : "");
    if (strstr(got, part) == NULL)
        fail_msg("message \"%s\" does not contain \"%s\"", got, part);
}

static void test_frontmatter_byte_cap(void **state)
{
    /* 18 bytes of YAML: at the limit it parses; one byte under it, it fails at the first byte
     * past the limit (the LF that ends page line 3), and the body still starts after the block. */
    static const char page[] = "---\na: 12345\nbb: 6789\n---\n# x\n";
    fmd__frontmatter fm = parse_n(state, page, strlen(page), 18);
    assert_int_equal(fm.st, FMD_OK);
    fm = parse_n(state, page, strlen(page), 17);
    assert_int_equal(fm.st, FMD_E_FRONTMATTER);
    assert_message(fm, "front matter is 18 bytes, over the limit of 17 bytes");
    assert_int_equal(fm.err_line, 3);
    assert_int_equal(fm.err_column, 9);
    assert_int_equal(fm.body_offset, strlen(page) - strlen("# x\n"));
    assert_null(fm.json.ptr);
    fm = parse_n(state, page, strlen(page), 0); /* 0: the default, 1 MiB */
    assert_int_equal(fm.st, FMD_OK);
    assert_slice(fm.json, "{\"a\":12345,\"bb\":6789}");

    /* 8 MB of "[1,1,1,...]" under the default cap: refused at once, at byte 1 MiB + 1. */
    size_t len;
    char *big = page_of("a: [", '1', (size_t)8 << 20, "]", &len);
    for (size_t i = 9; i < len - 12; i += 2)
        big[i] = ',';
    double t0 = (double)clock() / CLOCKS_PER_SEC;
    fm = parse_n(state, big, len, 0);
    double s = (double)clock() / CLOCKS_PER_SEC - t0;
    assert_int_equal(fm.st, FMD_E_FRONTMATTER);
    assert_message(fm, "over the limit of 1048576 bytes");
    assert_int_equal(fm.err_line, 2);
    assert_int_equal(fm.err_column, 1048577);
    assert_true(s < 0.5);
    free(big);
}

static void test_frontmatter_flow_depth_prescan(void **state)
{
    /* "a: " + a million "[": libfyaml alone takes seconds and hundreds of MB to refuse it. */
    size_t len;
    char *p = page_of("a: ", '[', 1000000, "", &len);
    double t0 = (double)clock() / CLOCKS_PER_SEC;
    fmd__frontmatter fm = parse_n(state, p, len, 0);
    double s = (double)clock() / CLOCKS_PER_SEC - t0;
    assert_int_equal(fm.st, FMD_E_FRONTMATTER);
    assert_message(fm, "deeper than 64 levels");
    assert_int_equal(fm.err_line, 2);
    assert_int_equal(fm.err_column, 4 + 64); /* the bracket that opens level 65 */
    assert_true(s < 0.5);
    free(p);
    /* Mixed "[" and "{" count together; the depth is per flow collection, not per bracket. */
    char yaml[1024];
    size_t n = 0;
    n += (size_t)snprintf(yaml, sizeof yaml, "---\nx: 1\nb: ");
    for (int i = 0; i < 70; i++)
        n += (size_t)snprintf(yaml + n, sizeof yaml - n, i % 2 ? "[" : "{k: ");
    snprintf(yaml + n, sizeof yaml - n, "\n---\n");
    check_error(state, yaml, "deeper than 64 levels", 3, 4 + 32 * 5); /* 32 "{k: " and 32 "[" */
    /* Brackets in quoted scalars, comments, block scalars and block plain scalars are text. */
    char many[80];
    memset(many, '[', 70);
    many[70] = '\0';
    char ok[2048];
    snprintf(ok, sizeof ok,
             "dq: \"%s\\\" %s\"\nsq: '%s'' %s'\nc: 1 # %s\nbs: |\n  %s\n   %s\nps: x%s\n"
             "fl: [\"%s\", '%s']\n",
             many, many, many, many, many, many, many, many, many, many);
    char okpage[2200];
    snprintf(okpage, sizeof okpage, "---\n%s---\n", ok);
    fmd__frontmatter okfm = parse(state, okpage);
    if (okfm.st != FMD_OK)
        fail_msg("unexpected error \"%.*s\" at %u:%u", (int)okfm.err_message.len,
                 okfm.err_message.ptr, okfm.err_line, okfm.err_column);
}

static void test_frontmatter_item_limit(void **state)
{
    /* 70 000 list entries: over the 65 536 items libfyaml may be given (~25 MB of its memory). */
    size_t len;
    char *p = page_of("a: [", '1', 140000, "]", &len);
    for (size_t i = 9; i < len - 12; i += 2)
        p[i] = ',';
    fmd__frontmatter fm = parse_n(state, p, len, 0);
    assert_int_equal(fm.st, FMD_E_FRONTMATTER);
    assert_message(fm, "more than 65536 items");
    assert_int_equal(fm.err_line, 2);
    /* The line, ':' and '[' are three items, so comma 65534 is one too many. */
    assert_int_equal(fm.err_column, 4 + 2 * 65534);
    free(p);
    /* 30 000 entries parse. */
    p = page_of("a: [", '1', 60000, "]", &len);
    for (size_t i = 9; i < len - 12; i += 2)
        p[i] = ',';
    fm = parse_n(state, p, len, 0);
    assert_int_equal(fm.st, FMD_OK);
    free(p);
    /* Comment lines are not items: half a MiB of them parses. */
    p = page_of("a: x\n", '#', (size_t)1 << 19, "\nb: y", &len);
    for (size_t i = 9; i < 9 + ((size_t)1 << 19); i += 2)
        p[i] = '\n';
    fm = parse_n(state, p, len, 0);
    assert_int_equal(fm.st, FMD_OK);
    assert_slice(fm.json, "{\"a\":\"x\",\"b\":\"y\"}");
    free(p);
}

/*** Threads ***/

static void test_frontmatter_parallel_identical(void **state)
{
    (void)state;
    static const char *const pages[] = {
        "---\ntitle: A\ntags: [x, y]\nn: 0x10\n---\n",
        "---\nbase: &b {k: 1}\nc: {<<: *b, j: 2}\n---\n",
        "---\nbad: [\n---\n",
        "---\n- list\n---\n",
        "---\n---\n",
        "no front matter\n",
    };
    enum { N_PAGES = sizeof pages / sizeof pages[0], ROUNDS = 64 };
    char want[N_PAGES][256];
    for (int i = 0; i < N_PAGES; i++) {
        fmd__frontmatter fm = parse(state, pages[i]);
        fmd_slice s = fm.st == FMD_OK ? fm.json : fm.err_message;
        snprintf(want[i], sizeof want[i], "%d|%.*s", (int)fm.st, (int)s.len, s.ptr ? s.ptr : "");
    }
    int mismatches = 0;
#pragma omp parallel num_threads(4) default(none) shared(pages, want) reduction(+ : mismatches)
    {
        fmd_arena *a = NULL;
        if (fmd_arena_create(&a, 0) != FMD_OK) {
            mismatches++;
        } else {
#pragma omp for schedule(dynamic, 1)
            for (int r = 0; r < ROUNDS * N_PAGES; r++) {
                const char *page = pages[r % N_PAGES];
                fmd__frontmatter fm;
                char got[256];
                if (fmd__kernel_frontmatter(page, strlen(page), 0, a, &fm) != FMD_OK) {
                    mismatches++;
                    continue;
                }
                fmd_slice s = fm.st == FMD_OK ? fm.json : fm.err_message;
                snprintf(got, sizeof got, "%d|%.*s", (int)fm.st, (int)s.len, s.ptr ? s.ptr : "");
                if (strcmp(got, want[r % N_PAGES]) != 0)
                    mismatches++;
                fmd_arena_reset(a);
            }
            fmd_arena_destroy(a);
        }
    }
    assert_int_equal(mismatches, 0);
}

/* libfyaml 0.7.12 segfaults on ":\t:" inside an explicit-key block; such blocks are refused with a
 * per-page error before the parser sees them, and ordinary tabs still parse. */
static void test_frontmatter_explicit_key_with_tab_is_refused(void **state)
{
    check_error(state, "---\n? a:\t:\n---\n# x\n", "explicit key", 2, 4);
    check_error(state, "---\nx:\n  ? [a]:\t:\n---\n", "libfyaml 0.7.12", 3, 8);
    check_json(state, "k:\tv\n", "{\"k\":\"v\"}");
    check_json(state, "q: what?\nk:\tv\n", "{\"q\":\"what?\",\"k\":\"v\"}");
}

/*** The fast path against libfyaml ***/

/* Convert @p yaml both ways; when the fast path takes it, json, title and status must be the
 * same bytes as libfyaml's. @return whether the fast path took it. */
static bool same_both_ways(fmd_arena *a, const char *yaml, size_t n)
{
    fmd__frontmatter fast, slow;
    bool used = false;
    memset(&fast, 0, sizeof fast);
    memset(&slow, 0, sizeof slow);
    assert_int_equal(fmd__kernel_frontmatter_yaml(yaml, n, FMD__FM_PATH_FAST, a, &fast, &used),
                     FMD_OK);
    assert_int_equal(fmd__kernel_frontmatter_yaml(yaml, n, FMD__FM_PATH_LIBFYAML, a, &slow, NULL),
                     FMD_OK);
    if (!used) {
        assert_null(fast.json.ptr);
        return false;
    }
    if (fast.st != FMD_OK) {
        /* The fast path reports one error, a repeated key: as libfyaml's path does. */
        if (slow.st != fast.st || slow.err_line != fast.err_line ||
            slow.err_column != fast.err_column || slow.err_message.len != fast.err_message.len ||
            memcmp(slow.err_message.ptr, fast.err_message.ptr, fast.err_message.len) != 0) {
            fprintf(stderr, "yaml:\n%.*s\nfast: %d:%d %.*s\nlibfyaml (st %d): %d:%d %.*s\n", (int)n,
                    yaml, fast.err_line, fast.err_column, (int)fast.err_message.len,
                    fast.err_message.ptr, (int)slow.st, slow.err_line, slow.err_column,
                    (int)slow.err_message.len, slow.err_message.ptr ? slow.err_message.ptr : "");
            fail();
        }
        assert_null(fast.json.ptr);
        return true;
    }
    if (slow.st != FMD_OK || slow.json.len != fast.json.len ||
        memcmp(slow.json.ptr, fast.json.ptr, fast.json.len) != 0 ||
        slow.title.len != fast.title.len || (slow.title.ptr == NULL) != (fast.title.ptr == NULL) ||
        (fast.title.len && memcmp(slow.title.ptr, fast.title.ptr, fast.title.len) != 0)) {
        fprintf(stderr, "yaml:\n%.*s\nfast: %.*s title %.*s\nlibfyaml (st %d): %.*s title %.*s\n",
                (int)n, yaml, (int)fast.json.len, fast.json.ptr, (int)fast.title.len,
                fast.title.ptr ? fast.title.ptr : "", (int)slow.st, (int)slow.json.len,
                slow.json.ptr ? slow.json.ptr : "", (int)slow.title.len,
                slow.title.ptr ? slow.title.ptr : "");
        fail();
    }
    return true;
}

static void test_frontmatter_fast_path_matches_libfyaml(void **state)
{
    fmd_arena *a = *state;
    static const char *const cases[] = {
        "",
        "# only a comment\n\n   \n",
        "title: Hello world\ndate: 2024-01-02\ndraft: false\nweight: 10\n",
        "title: \"Quoted: yes\"\nslug: 'it''s'\nempty:\nnull_word: null\ntilde: ~\n",
        "quoted_item: [a, 'c']\n",
        "tags: [a, b, c]\nlist: []\nspaced: [ x ,y ]\nnums: [1, 2.5, -3, 0x1F, 0o17, .5]\n",
        "aliases:\n  - /old/\n  - \"/older/\"\n  - 'x'\nnext: 1\n",
        "items:\n- a\n- b # comment\n\n- c\nafter: yes\n",
        "title: C# in depth\nurl: http://example.com/a#b\nratio: 1e400\nbig: "
        "12345678901234567890\n",
        "title: ~\n",
        "title: ''\nother: x\n",
        "title: 'null'\n",
        "title: 42\n",
        "title: Über – naïve ✓\n",
        "a: b\n  continued\n",
        "a: b: c\n",
        "a:\n  nested: map\n",
        "a: &x 1\nb: *x\n",
        "a: |\n  block\n",
        "a: \"esc\\n\"\n",
        "a: 1\na: 2\n",
        "a:\tb\n",
        "- top\n",
        "a: [x, [y]]\n",
        "a: [x,]\n",
        "a: 'unclosed\n",
        "a: \"x\" y\n",
        "list:\n  - a\n   - b\n",
        "list:\n  - a\n  -\n",
        "list:\n  - a\n  - b: c\n",
        "key:   # just a comment\n",
        "key: value   \n",
        "k-1.x_y: v\n",
        "a: -1\nb: +2\nc: -.inf\nd: .NaN\ne: 0b1\nf: 1_000\n",
        "a: yes\nb: no\nc: on\nd: True\ne: FALSE\nf: Null\n",
        "a: x:y\nb: x :y\nc: ,lead\n",
        "a: '#not a comment'\nb: x#y\n",
        "params:\n  searchable: false\n  deep:\n    x: [a, \"b c\"]\n    l:\n    - 1\n    - two\n"
        "  back: 2\ntop: 3\n",
        "build:\n  render: always\n\n  # comment\n  list: local\ntitle: T\n",
        "a:\n  title: inner\n",
        "a:\n  b: 1\n c: 2\n",
        "a:\n  b: 1\n    c: 2\n",
        "a:\n  b: 1\n  b: 2\n",
        "a:\n  - x\n  b: 1\n",
        "a:\n    - x\n  - y\n",
        "a:\n  b:\n  - x\n  c:\n- y\n",
        "a:\n  b:\n  c: ~\n",
    };
    size_t taken = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        taken += same_both_ways(a, cases[i], strlen(cases[i]));
    /* The fast path must take the common shapes above, or it saves nothing. */
    assert_true(taken >= 25); /* 25 today */

    /* Generated blocks: lines drawn from pieces the fast path reads and pieces it must refuse,
     * so that both the subset and its edges are compared. */
    static const char *const keys[] = {"title", "a", "b1", "x.y", "tags", "_k", "n-1"};
    static const char *const values[] = {"",
                                         " x",
                                         " 1",
                                         " -2.50",
                                         " 1e3",
                                         " .5",
                                         " 0x10",
                                         " 0o7",
                                         " true",
                                         " ~",
                                         " null",
                                         " 'q'",
                                         " 'it''s'",
                                         " \"d q\"",
                                         " [a, 1]",
                                         " []",
                                         " [ ]",
                                         " a b  ",
                                         " a # c",
                                         " a#b",
                                         " x:y",
                                         " -x",
                                         " - x",
                                         " ?x",
                                         " :x",
                                         " 'a' b",
                                         " [a,",
                                         " 'x",
                                         " 9007199254740993",
                                         " é",
                                         "   # c",
                                         " \"a\\tb\"",
                                         " |",
                                         " &a x",
                                         " *a",
                                         " !t x",
                                         " {a: 1}",
                                         " @x",
                                         " %x"};
    static const char *const tails[] = {"",           "\n- i",  "\n  - i", "\n  - 'j'\n  - 2",
                                        "\n   more",  "\n# c",  "\n\n",    "\n  - [a]",
                                        "\n  sub: 1", "\n- - i"};
    uint64_t seed = 0x9e3779b97f4a7c15u;
    char buf[512];
    size_t gen_taken = 0;
    for (int round = 0; round < 20000; round++) {
        size_t len = 0;
        int lines = 1 + (int)(seed % 4);
        for (int l = 0; l < lines; l++) {
            seed = seed * 6364136223846793005u + 1442695040888963407u;
            const char *k = keys[(seed >> 33) % (sizeof keys / sizeof keys[0])];
            const char *v = values[(seed >> 40) % (sizeof values / sizeof values[0])];
            const char *t =
                tails[(seed >> 52) % 4 == 0 ? (seed >> 20) % (sizeof tails / sizeof tails[0]) : 0];
            int w = snprintf(buf + len, sizeof buf - len, "%s:%s%s\n", k, v, t);
            assert_true(w > 0 && (size_t)w < sizeof buf - len);
            len += (size_t)w;
        }
        gen_taken += same_both_ways(a, buf, len);
        fmd_arena_reset(a);
    }
    assert_true(gen_taken > 400); /* 547 today: most draws hold a refused piece or a repeated key */
}

/* Append @p text to the growing block at *y (capacity *cap, length *n). */
static void append(char **y, size_t *n, size_t *cap, const char *text)
{
    size_t k = strlen(text);
    if (*n + k + 1 > *cap) {
        *cap = 2 * (*n + k + 1);
        *y = realloc(*y, *cap);
        assert_non_null(*y);
    }
    memcpy(*y + *n, text, k + 1);
    *n += k;
}

/* Whether @p s contains @p word. */
static bool slice_has(fmd_slice s, const char *word)
{
    size_t k = strlen(word);
    for (size_t i = 0; s.ptr != NULL && i + k <= s.len; i++)
        if (memcmp(s.ptr + i, word, k) == 0)
            return true;
    return false;
}

/* FNV-1a, the hash the fast path's key table uses, to craft keys that collide in it. */
static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3u;
    return h;
}

/* Blocks far over the old 32 KiB fast-path size: 32 000 keys take the fast path (with the
 * same bytes as libfyaml's); a duplicate among them, a nested mapping of many keys, too many
 * items, and keys crafted to collide in the key table are either the same both ways or left to
 * libfyaml. */
static void test_frontmatter_fast_path_large_blocks(void **state)
{
    fmd_arena *a = *state;
    char *y = NULL;
    size_t n = 0, cap = 0;
    char line[96];
    for (int i = 0; i < 32000; i++) {
        snprintf(line, sizeof line, "k%d: %s\n", i, "xxxxxxxxxxxxxxxxxxxxxxxx");
        append(&y, &n, &cap, line);
    }
    assert_true(n > 1000000);
    assert_true(same_both_ways(a, y, n));
    fmd_arena_reset(a);

    /* The same with one key repeated at the end: libfyaml's "duplicate key" error, which the
     * fast path gives too, at the same place; with two repeated keys, libfyaml's path decides. */
    append(&y, &n, &cap, "k17: again\n");
    fmd__frontmatter fm;
    assert_true(same_both_ways(a, y, n));
    memset(&fm, 0, sizeof fm);
    assert_int_equal(fmd__kernel_frontmatter_yaml(y, n, FMD__FM_PATH_AUTO, a, &fm, NULL), FMD_OK);
    assert_int_equal(fm.st, FMD_E_FRONTMATTER);
    assert_true(slice_has(fm.err_message, "duplicate key"));
    assert_int_equal(fm.err_line, 32002); /* page lines: the YAML starts on line 2 */
    assert_int_equal(fm.err_column, 1);
    fmd_arena_reset(a);
    append(&y, &n, &cap, "k18: again\n");
    assert_false(same_both_ways(a, y, n));
    fmd_arena_reset(a);

    /* Nested mappings with 500 keys each, the same names in each: not duplicates. */
    n = 0;
    for (int m = 0; m < 3; m++) {
        snprintf(line, sizeof line, "m%d:\n", m);
        append(&y, &n, &cap, line);
        for (int i = 0; i < 500; i++) {
            snprintf(line, sizeof line, "  key%d: [a, %d]\n", i, i);
            append(&y, &n, &cap, line);
        }
    }
    append(&y, &n, &cap, "title: Many\n");
    assert_true(same_both_ways(a, y, n));
    fmd_arena_reset(a);

    /* Past the item limit (and the old size cap): refused by both, at the same place. */
    n = 0;
    append(&y, &n, &cap, "a: [");
    for (int i = 0; i < 70000; i++)
        append(&y, &n, &cap, "1,");
    append(&y, &n, &cap, "1]\n");
    assert_false(same_both_ways(a, y, n));
    memset(&fm, 0, sizeof fm);
    assert_int_equal(fmd__kernel_frontmatter_yaml(y, n, FMD__FM_PATH_AUTO, a, &fm, NULL), FMD_OK);
    assert_int_equal(fm.st, FMD_E_FRONTMATTER);
    assert_true(slice_has(fm.err_message, "items"));
    fmd_arena_reset(a);

    /* 400 keys whose hashes agree in their low 12 bits: every one lands in one run of the key
     * table, the probes pass their allowance and the block goes to libfyaml, which reads it. */
    n = 0;
    int found = 0;
    for (unsigned i = 0; found < 400; i++) {
        int k = snprintf(line, sizeof line, "c%u", i);
        if ((fnv1a(line, (size_t)k) & 0xFFF) != 0x5A5)
            continue;
        append(&y, &n, &cap, line);
        append(&y, &n, &cap, ": v\n");
        found++;
    }
    assert_false(same_both_ways(a, y, n));
    memset(&fm, 0, sizeof fm);
    assert_int_equal(fmd__kernel_frontmatter_yaml(y, n, FMD__FM_PATH_AUTO, a, &fm, NULL), FMD_OK);
    assert_int_equal(fm.st, FMD_OK);
    assert_true(fm.json.len > 400 * 6);
    free(y);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_frontmatter_valid_nested),
        T(test_frontmatter_fast_path_matches_libfyaml),
        T(test_frontmatter_fast_path_large_blocks),
        T(test_frontmatter_explicit_key_with_tab_is_refused),
        T(test_frontmatter_absent),
        T(test_frontmatter_empty),
        T(test_frontmatter_dots_close),
        T(test_frontmatter_trailing_spaces_on_markers),
        T(test_frontmatter_dashes_in_body_code_block),
        T(test_frontmatter_unclosed),
        T(test_frontmatter_after_bom_and_crlf),
        T(test_frontmatter_core_schema_scalars),
        T(test_frontmatter_single_quoted_escapes),
        T(test_frontmatter_keys),
        T(test_frontmatter_title_rules),
        T(test_frontmatter_broken_yaml_position),
        T(test_frontmatter_duplicate_keys),
        T(test_frontmatter_many_keys_linear),
        T(test_frontmatter_top_level_not_mapping),
        T(test_frontmatter_quiet_on_stderr),
        T(test_frontmatter_anchors_and_aliases),
        T(test_frontmatter_merge_keys),
        T(test_frontmatter_bad_aliases),
        T(test_frontmatter_anchor_order),
        T(test_frontmatter_many_anchors_and_aliases),
        T(test_frontmatter_merge_many_keys),
        T(test_frontmatter_billion_laughs),
        T(test_frontmatter_too_deep),
        T(test_frontmatter_byte_cap),
        T(test_frontmatter_flow_depth_prescan),
        T(test_frontmatter_item_limit),
        T(test_frontmatter_parallel_identical),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
