/* SPDX-License-Identifier: MIT */
/* The manifest's JSON lines: every field, its type and order, parsed back with jansson; null
 * title and front matter; the spliced front matter object; warnings and the error object; the
 * html option; non-UTF-8 paths; and OUT/manifest.ndjson for a real tree, in path order. */
#include "io_test_util.h"

#include <jansson.h>

#include "fmd_io.h"

static const char *const manifest_keys[] = {
    "path",  "output", "status",     "title", "frontmatter", "headings", "words",
    "links", "images", "codeBlocks", "hash",  "bytesIn",     "bytesOut"};
#define N_KEYS (sizeof manifest_keys / sizeof *manifest_keys)

static fmd_slice sl(const char *s)
{
    fmd_slice x = {s, strlen(s)};
    return x;
}

/* Format one line and parse it back; the line must be one line of valid JSON. */
static json_t *format(const char *path, const char *output, const fmd_result *r,
                      fmd_status io_status, int io_err, unsigned flags)
{
    fmd_arena *a;
    assert_int_equal(fmd_arena_create(&a, 0), FMD_OK);
    fmd_buf b;
    fmd_buf_reset(&b, a);
    assert_int_equal(fmd_io_page_format_json(&b, path, output, r, io_status, io_err, flags),
                     FMD_OK);
    assert_null(memchr(b.ptr, '\n', b.len));
    json_error_t jerr;
    json_t *j = json_loadb(b.ptr, b.len, 0, &jerr);
    if (j == NULL)
        fail_msg("bad JSON (%s): %.*s", jerr.text, (int)b.len, b.ptr);
    assert_true(json_is_object(j));
    fmd_arena_destroy(a);
    return j;
}

/* The keys of @p j are exactly manifest_keys, then @p extra (NULL-terminated), in that order. */
static void assert_keys(json_t *j, const char *const *extra)
{
    void *it = json_object_iter(j);
    for (size_t i = 0; i < N_KEYS; i++, it = json_object_iter_next(j, it)) {
        assert_non_null(it);
        assert_string_equal(json_object_iter_key(it), manifest_keys[i]);
    }
    for (; extra && *extra; extra++, it = json_object_iter_next(j, it)) {
        assert_non_null(it);
        assert_string_equal(json_object_iter_key(it), *extra);
    }
    assert_null(it);
}

static void test_manifest_full_line(void **state)
{
    (void)state;
    fmd_heading h[2] = {{1, sl("Hi \"there\""), sl("hi-there")},
                        {2, sl("Ünïcode\t"), sl("ünïcode")}};
    fmd_slice warn[1] = {sl("line 3: invalid UTF-8 replaced with U+FFFD")};
    fmd_result r = {0};
    r.status = FMD_OK;
    r.html = sl("<h1 id=\"hi-there\">Hi</h1>\n");
    r.title = sl("A \\ title");
    r.frontmatter = sl("{\"title\":\"A \\\\ title\",\"tags\":[\"x\",1],\"n\":null}");
    r.headings = h;
    r.n_headings = 2;
    r.warnings = warn;
    r.n_warnings = 1;
    r.words = 12;
    r.links = 3;
    r.images = 2;
    r.code_blocks = 1;
    r.hash = 0x0123456789abcdefull;
    r.bytes_in = 345;
    json_t *j = format("guide/intro.md", "guide/intro.html", &r, FMD_OK, 0, 0);
    static const char *const extra[] = {"warnings", NULL};
    assert_keys(j, extra);
    assert_string_equal(json_string_value(json_object_get(j, "path")), "guide/intro.md");
    assert_string_equal(json_string_value(json_object_get(j, "output")), "guide/intro.html");
    assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
    assert_string_equal(json_string_value(json_object_get(j, "title")), "A \\ title");
    json_t *fm = json_object_get(j, "frontmatter");
    assert_true(json_is_object(fm));
    assert_string_equal(json_string_value(json_object_get(fm, "title")), "A \\ title");
    assert_int_equal(json_array_size(json_object_get(fm, "tags")), 2);
    assert_true(json_is_null(json_object_get(fm, "n")));
    json_t *hs = json_object_get(j, "headings");
    assert_int_equal(json_array_size(hs), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(hs, 0), "level")), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(hs, 0), "text")),
                        "Hi \"there\"");
    assert_string_equal(json_string_value(json_object_get(json_array_get(hs, 0), "id")),
                        "hi-there");
    assert_string_equal(json_string_value(json_object_get(json_array_get(hs, 1), "text")),
                        "Ünïcode\t");
    assert_int_equal(json_integer_value(json_object_get(j, "words")), 12);
    assert_int_equal(json_integer_value(json_object_get(j, "links")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "images")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "codeBlocks")), 1);
    assert_string_equal(json_string_value(json_object_get(j, "hash")), "0123456789abcdef");
    assert_int_equal(json_integer_value(json_object_get(j, "bytesIn")), 345);
    assert_int_equal(json_integer_value(json_object_get(j, "bytesOut")), r.html.len);
    json_t *w = json_object_get(j, "warnings");
    assert_int_equal(json_array_size(w), 1);
    assert_string_equal(json_string_value(json_array_get(w, 0)), warn[0].ptr);
    json_decref(j);
}

static void test_manifest_nulls_and_no_extras(void **state)
{
    (void)state;
    fmd_result r = {0}; /* no title, no front matter, no headings, no warnings, empty page */
    r.hash = 0xffffffffffffffffull;
    json_t *j = format("empty.md", "empty.html", &r, FMD_OK, 0, 0);
    assert_keys(j, NULL);
    assert_true(json_is_null(json_object_get(j, "title")));
    assert_true(json_is_null(json_object_get(j, "frontmatter")));
    assert_int_equal(json_array_size(json_object_get(j, "headings")), 0);
    assert_string_equal(json_string_value(json_object_get(j, "hash")), "ffffffffffffffff");
    assert_int_equal(json_integer_value(json_object_get(j, "bytesOut")), 0);
    json_decref(j);

    /* An empty title is a title; a NULL path (a JSON-RPC page) is null. */
    r.title.ptr = "";
    j = format(NULL, NULL, &r, FMD_OK, 0, 0);
    assert_string_equal(json_string_value(json_object_get(j, "title")), "");
    assert_true(json_is_null(json_object_get(j, "path")));
    assert_true(json_is_null(json_object_get(j, "output")));
    json_decref(j);
}

static void test_manifest_error_object(void **state)
{
    (void)state;
    fmd_result r = {0};
    r.status = FMD_E_FRONTMATTER;
    r.err_message = sl("did not find expected key");
    r.err_line = 3;
    r.err_column = 7;
    r.html = sl("<p>body</p>\n");
    json_t *j = format("bad.md", "bad.html", &r, FMD_OK, 0, 0);
    static const char *const extra[] = {"error", NULL};
    assert_keys(j, extra);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "error");
    json_t *e = json_object_get(j, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")), "frontmatter");
    assert_string_equal(json_string_value(json_object_get(e, "message")),
                        "did not find expected key");
    assert_int_equal(json_integer_value(json_object_get(e, "line")), 3);
    assert_int_equal(json_integer_value(json_object_get(e, "column")), 7);
    json_decref(j);

    /* No message, no position: the status text and nulls. */
    fmd_result lim = {0};
    lim.status = FMD_E_OUTPUT_LIMIT;
    j = format("big.md", "big.html", &lim, FMD_OK, 0, 0);
    e = json_object_get(j, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")), "output-limit");
    assert_string_equal(json_string_value(json_object_get(e, "message")),
                        fmd_status_str(FMD_E_OUTPUT_LIMIT));
    assert_true(json_is_null(json_object_get(e, "line")));
    assert_true(json_is_null(json_object_get(e, "column")));
    json_decref(j);

    /* A load failure the kernel passed on, with the errno from io. */
    fmd_result nf = {0};
    nf.status = FMD_E_NOINPUT;
    j = format("gone.md", "gone.html", &nf, FMD_E_NOINPUT, ENOENT, 0);
    e = json_object_get(j, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")), "no-input");
    char want[256];
    snprintf(want, sizeof want, "%s: %s", fmd_status_str(FMD_E_NOINPUT), strerror(ENOENT));
    assert_string_equal(json_string_value(json_object_get(e, "message")), want);
    json_decref(j);

    /* Rendered fine, but the write failed: the page is an error. */
    fmd_result ok = {0};
    j = format("w.md", "w.html", &ok, FMD_E_IO, ENOSPC, 0);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "error");
    e = json_object_get(j, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")), "io");
    assert_non_null(strstr(json_string_value(json_object_get(e, "message")), strerror(ENOSPC)));
    json_decref(j);
}

static void test_manifest_html_option_and_odd_paths(void **state)
{
    (void)state;
    fmd_result r = {0};
    r.html = sl("<p>a\nb \xe2\x80\xa8 \"q\"</p>\n");
    json_t *j =
        format("bad\xff\xfename.md", "bad\xff\xfename.html", &r, FMD_OK, 0, FMD_IO_JSON_HTML);
    static const char *const extra[] = {"html", NULL};
    assert_keys(j, extra);
    assert_string_equal(json_string_value(json_object_get(j, "html")), r.html.ptr);
    assert_string_equal(json_string_value(json_object_get(j, "path")),
                        "bad\xef\xbf\xbd\xef\xbf\xbdname.md");
    json_decref(j);
}

static void test_manifest_file_for_a_tree(void **state)
{
    (void)state;
    char src[PATH_MAX], out[PATH_MAX], p[PATH_MAX];
    tu_mktemp(src);
    tu_mktemp(out);
    tu_write(src, "b.md", "b");
    tu_write(src, "a/x.md", "x");
    tu_write(src, "a.md", "a");
    tu_write(src, "a.markdown", "a");
    fmd_io_batch *b;
    assert_int_equal(fmd_io_tree_enumerate(src, 2, &b, NULL), FMD_OK);
    size_t n;
    fmd_io_page *pages = fmd_io_batch_pages(b, &n);
    assert_int_equal(n, 4);
    fmd_result res[4] = {{0}};
    for (size_t i = 0; i < n; i++) {
        res[i].status = pages[i].status; /* what the kernel does with a load status */
        res[i].words = i;
    }
    /* As the engine writes it: one line per page, handed to the ordered stream last page first. */
    fmd_io_out *o;
    assert_int_equal(fmd_io_out_open(out, &o, NULL), FMD_OK);
    fmd_io_stream *stream;
    int err = -1;
    assert_int_equal(fmd_io_stream_open_file(&stream, o, FMD_IO_MANIFEST_NAME, n, &err), FMD_OK);
    fmd_arena *a;
    assert_int_equal(fmd_arena_create(&a, 0), FMD_OK);
    for (size_t k = n; k-- > 0;) {
        fmd_buf line;
        fmd_buf_reset(&line, a);
        assert_int_equal(fmd_io_page_format_json(&line, pages[k].path, pages[k].output, &res[k],
                                                 pages[k].status, pages[k].err, 0),
                         FMD_OK);
        assert_int_equal(fmd_buf_putc(&line, '\n'), FMD_OK);
        assert_int_equal(fmd_io_stream_put(stream, k, line.ptr, line.len), FMD_OK);
    }
    assert_int_equal(fmd_io_stream_close(stream, &err), FMD_OK);
    assert_int_equal(err, 0);

    size_t len = 0;
    char *text = tu_read(tu_path(p, out, FMD_IO_MANIFEST_NAME), &len);
    assert_non_null(text);
    assert_int_equal(text[len - 1], '\n');
    static const char *const order[] = {"a.markdown", "a.md", "a/x.md", "b.md"};
    size_t line = 0;
    for (char *s = text, *nl; (nl = strchr(s, '\n')) != NULL; s = nl + 1, line++) {
        json_error_t jerr;
        json_t *j = json_loadb(s, (size_t)(nl - s), 0, &jerr);
        assert_non_null(j);
        assert_true(line < 4);
        assert_string_equal(json_string_value(json_object_get(j, "path")), order[line]);
        assert_int_equal(json_integer_value(json_object_get(j, "words")), line);
        if (line == 1) {
            json_t *e = json_object_get(j, "error");
            assert_string_equal(json_string_value(json_object_get(e, "code")), "collision");
        } else {
            assert_null(json_object_get(j, "error"));
        }
        json_decref(j);
    }
    assert_int_equal(line, 4);

    fmd_arena_destroy(a);
    free(text);
    assert_int_equal(tu_count_names(out, ".tmp."), 0);
    fmd_io_out_close(o);
    fmd_io_batch_destroy(b);
    tu_rm_rf(src);
    tu_rm_rf(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manifest_full_line),
        cmocka_unit_test(test_manifest_nulls_and_no_extras),
        cmocka_unit_test(test_manifest_error_object),
        cmocka_unit_test(test_manifest_html_option_and_odd_paths),
        cmocka_unit_test(test_manifest_file_for_a_tree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
