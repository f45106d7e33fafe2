/* SPDX-License-Identifier: MIT */
/* serve/rpc.c, the wire side of fastmd serve, without the server: the line reader (lines split
 * across reads, CRLF, a last line without newline, a line over the limit), the JSON string and
 * template-literal escaping (read back with jansson), request parsing (errors and their codes,
 * options over defaults, inline pages in one block) and the digest's canonical encoding. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "rpc.h"

/*** The reader ***/

static void test_rpc_reader_lines(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    /* Written before reading: the pipe holds it all. Lines of every kind, one too long. */
    const char *input = "first\nsecond\r\n\n"
                        "0123456789abcdefXYZ\nafter\nlast";
    assert_int_equal(write(fds[1], input, strlen(input)), (ssize_t)strlen(input));
    close(fds[1]);
    fmd_rpc_reader *r = NULL;
    assert_int_equal(fmd_rpc_reader_create(&r, fds[0], 16), FMD_OK);
    fmd_slice line;
    int err;
    const char *want[] = {"first", "second", ""};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(fmd_rpc_reader_next(r, &line, &err), FMD_OK);
        assert_int_equal(line.len, strlen(want[i]));
        assert_memory_equal(line.ptr, want[i], line.len);
    }
    assert_int_equal(fmd_rpc_reader_next(r, &line, &err), FMD_E_INPUT_LIMIT);
    assert_int_equal(fmd_rpc_reader_next(r, &line, &err), FMD_OK);
    assert_int_equal(line.len, 5);
    assert_memory_equal(line.ptr, "after", 5);
    assert_int_equal(fmd_rpc_reader_next(r, &line, &err), FMD_OK);
    assert_memory_equal(line.ptr, "last", 4);
    assert_int_equal(fmd_rpc_reader_next(r, &line, &err), FMD_E_NOINPUT);
    assert_int_equal(fmd_rpc_reader_bytes(r), strlen(input));
    fmd_rpc_reader_destroy(r);
    close(fds[0]);
}

/* A line much larger than the reader's first buffer, split over many reads. */
static void test_rpc_reader_long_line(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    size_t n = 300 * 1000;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        char chunk[1000];
        memset(chunk, 'x', sizeof chunk);
        for (size_t i = 0; i < n / sizeof chunk; i++)
            if (write(fds[1], chunk, sizeof chunk) != (ssize_t)sizeof chunk)
                _exit(1);
        if (write(fds[1], "\nend\n", 5) != 5)
            _exit(1);
        _exit(0);
    }
    close(fds[1]);
    fmd_rpc_reader *r = NULL;
    assert_int_equal(fmd_rpc_reader_create(&r, fds[0], 0), FMD_OK);
    fmd_slice line;
    int err;
    assert_int_equal(fmd_rpc_reader_next(r, &line, &err), FMD_OK);
    assert_int_equal(line.len, n);
    assert_int_equal(line.ptr[0], 'x');
    assert_int_equal(line.ptr[n - 1], 'x');
    assert_int_equal(fmd_rpc_reader_next(r, &line, &err), FMD_OK);
    assert_memory_equal(line.ptr, "end", 3);
    assert_int_equal(fmd_rpc_reader_next(r, &line, &err), FMD_E_NOINPUT);
    fmd_rpc_reader_destroy(r);
    close(fds[0]);
}

/*** Escaping ***/

/* Parse @p text (one JSON value) with jansson and return the string it holds (caller frees). */
static char *json_string_of(const char *text, size_t len, size_t *out_len)
{
    json_error_t je;
    json_t *v = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    assert_non_null(v);
    assert_true(json_is_string(v));
    *out_len = json_string_length(v);
    char *s = malloc(*out_len + 1);
    memcpy(s, json_string_value(v), *out_len + 1);
    json_decref(v);
    return s;
}

static void test_rpc_string_escapes(void **state)
{
    (void)state;
    fmd_arena *a = NULL;
    assert_int_equal(fmd_arena_create(&a, 0), FMD_OK);
    /* Every byte below 0x20, quotes, backslashes, U+2028/U+2029, and bytes that only a template
     * literal cares about. */
    char src[64];
    size_t n = 0;
    for (int c = 1; c < 0x20; c++)
        src[n++] = (char)c;
    static const char tail[] = "\"\\`${}\xE2\x80\xA8\xE2\x80\xA9\xC3\xA9";
    memcpy(src + n, tail, sizeof tail - 1);
    n += sizeof tail - 1;
    fmd_buf b;
    fmd_buf_reset(&b, a);
    assert_int_equal(fmd_rpc_put_string(&b, src, n), FMD_OK);
    assert_null(memchr(b.ptr, '\n', b.len));
    for (size_t i = 0; i < b.len; i++) /* U+2028 and U+2029 never appear raw */
        assert_false((unsigned char)b.ptr[i] == 0xE2 && i + 1 < b.len &&
                     (unsigned char)b.ptr[i + 1] == 0x80);
    size_t got_len;
    char *got = json_string_of(b.ptr, b.len, &got_len);
    assert_int_equal(got_len, n);
    assert_memory_equal(got, src, n);
    free(got);
    fmd_arena_destroy(a);
}

static void test_rpc_module_code(void **state)
{
    (void)state;
    fmd_arena *a = NULL;
    assert_int_equal(fmd_arena_create(&a, 0), FMD_OK);
    fmd_result r = {0};
    const char *html = "<p>a `b` ${c} $d \\e\r\n\"f\"</p>\n";
    r.html = (fmd_slice){html, strlen(html)};
    fmd_buf b;
    fmd_buf_reset(&b, a);
    assert_int_equal(fmd_rpc_put_page_result(&b, "x.md", &r, FMD_RPC_RESULT_CODE), FMD_OK);
    json_error_t je;
    json_t *v = json_loadb(b.ptr, b.len, 0, &je);
    assert_non_null(v);
    const char *code = json_string_value(json_object_get(v, "code"));
    /* The template literal's text: every \, ` and ${ escaped, CR as \r; the rest as is. */
    assert_string_equal(code, "export default `<p>a \\`b\\` \\${c} $d \\\\e\\r\n\"f\"</p>\n`;");
    assert_string_equal(json_string_value(json_object_get(v, "html")), html);
    json_t *m = json_object_get(v, "metadata");
    assert_string_equal(json_string_value(json_object_get(m, "file")), "x.md");
    assert_true(json_is_null(json_object_get(m, "frontmatter"))); /* none: null, as the manifest */
    assert_true(json_is_null(json_object_get(v, "map")));
    json_decref(v);
    fmd_arena_destroy(a);
}

/* With FMD_RPC_RESULT_HTML_APART the result says "html":"" (its bytes travel after a batchFrame
 * line) and "code" is null; the rest is as with the HTML inline. */
static void test_rpc_result_html_apart(void **state)
{
    (void)state;
    fmd_arena *a = NULL;
    assert_int_equal(fmd_arena_create(&a, 0), FMD_OK);
    fmd_result r = {0};
    const char *html = "<h1 id=\"t\">T \"q\"</h1>\n";
    r.html = (fmd_slice){html, strlen(html)};
    r.title = (fmd_slice){"T", 1};
    r.words = 2;
    fmd_buf inline_b, apart_b;
    fmd_buf_reset(&inline_b, a);
    assert_int_equal(fmd_rpc_put_page_result(&inline_b, "x.md", &r, 0), FMD_OK);
    fmd_buf_reset(&apart_b, a);
    assert_int_equal(fmd_rpc_put_page_result(&apart_b, "x.md", &r, FMD_RPC_RESULT_HTML_APART),
                     FMD_OK);
    json_error_t je;
    json_t *vi = json_loadb(inline_b.ptr, inline_b.len, 0, &je);
    json_t *va = json_loadb(apart_b.ptr, apart_b.len, 0, &je);
    assert_non_null(vi);
    assert_non_null(va);
    assert_string_equal(json_string_value(json_object_get(vi, "html")), html);
    assert_string_equal(json_string_value(json_object_get(va, "html")), "");
    assert_true(json_is_null(json_object_get(va, "code")));
    /* Everything else is the same. */
    json_object_set_new(va, "html", json_string(html));
    assert_true(json_equal(vi, va));
    json_decref(vi);
    json_decref(va);
    fmd_arena_destroy(a);
}

/*** Requests ***/

static fmd_rpc_request *parse_line(const char *line, size_t len)
{
    fmd_options d = {0};
    d.extensions = FMD_EXT_GFM;
    fmd_rpc_request *r = NULL;
    assert_int_equal(fmd_rpc_parse(line, len, &d, 1 << 20, &r), FMD_OK);
    assert_non_null(r);
    return r;
}

static fmd_rpc_request *parse(const char *line)
{
    fmd_options d = {0};
    d.extensions = FMD_EXT_GFM | FMD_EXT_FOOTNOTES | FMD_EXT_SMART;
    d.heading_ids = true;
    d.xhtml = true;
    fmd_rpc_request *r = NULL;
    assert_int_equal(fmd_rpc_parse(line, strlen(line), &d, 0, &r), FMD_OK);
    assert_non_null(r);
    return r;
}

static void expect_error(const char *line, int code, const char *id, const char *msg_part)
{
    fmd_rpc_request *r = parse(line);
    assert_int_equal(r->error, code);
    if (id == NULL)
        assert_null(r->id);
    else
        assert_string_equal(r->id, id);
    if (msg_part != NULL)
        assert_non_null(strstr(r->error_message, msg_part));
    fmd_rpc_request_free(r);
}

static void test_rpc_parse_errors(void **state)
{
    (void)state;
    expect_error("nope", FMD_RPC_PARSE_ERROR, "null", "Parse error");
    expect_error("{\"a\":1,\"a\":2}", FMD_RPC_PARSE_ERROR, "null", NULL);
    expect_error("[]", FMD_RPC_INVALID_REQUEST, "null", "batch");
    expect_error("7", FMD_RPC_INVALID_REQUEST, "null", NULL);
    expect_error("{\"jsonrpc\":\"2.0\",\"id\":3}", FMD_RPC_INVALID_REQUEST, "3", "method");
    expect_error("{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"ping\"}", FMD_RPC_INVALID_REQUEST,
                 "null", "id");
    expect_error("{\"jsonrpc\":\"2.0\",\"id\":\"q\",\"method\":\"x\"}", FMD_RPC_METHOD_NOT_FOUND,
                 "\"q\"", "x");
    expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"transformBatch\","
                 "\"params\":{\"files\":[{\"file\":\"a\"},{\"content\":3}]}}",
                 FMD_RPC_INVALID_PARAMS, "1", "params.files[1].content");
    expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"transform\","
                 "\"params\":{\"content\":\"x\",\"options\":{\"tables\":1}}}",
                 FMD_RPC_INVALID_PARAMS, "1", "params.options.tables");
    expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"transform\","
                 "\"params\":{\"content\":\"x\",\"options\":{\"retries\":11}}}",
                 FMD_RPC_INVALID_PARAMS, "1", "params.options.retries");
    /* A notification keeps id NULL: it is never answered. */
    expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"x\"}", FMD_RPC_METHOD_NOT_FOUND, NULL, NULL);
}

/* frames: true asks for batchFrame results, and implies stream; a non-boolean is refused. */
static void test_rpc_parse_frames(void **state)
{
    (void)state;
    fmd_rpc_request *r = parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"transformBatch\","
                               "\"params\":{\"frames\":true,\"files\":[{\"content\":\"x\"}]}}");
    assert_int_equal(r->error, 0);
    assert_true(r->frames);
    assert_true(r->stream);
    fmd_rpc_request_free(r);
    expect_error("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"transformBatch\","
                 "\"params\":{\"frames\":1,\"files\":[]}}",
                 FMD_RPC_INVALID_PARAMS, "2", "params.frames");
}

/* Inline pages as raw bytes after the line: params.bytes and per item contentBytes. The bytes are
 * read into the pages' places in base (each followed by a NUL), the next line is found after
 * them, a wrong request still has its bytes dropped, and input that ends inside them fails the
 * request. */
static void test_rpc_attachment(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    const char *head1 = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"transformBatch\",\"params\":"
                        "{\"bytes\":13,\"files\":[{\"file\":\"a.md\",\"contentBytes\":6},"
                        "{\"file\":\"b.md\"},{\"file\":\"c.md\",\"content\":\"J\"},"
                        "{\"file\":\"d.md\",\"contentBytes\":7}]}}\n";
    const char *bytes1 = "# A\n\n\x00\xF0\x9F\x8E\x89\n{\n"; /* NUL, 4-byte UTF-8, newlines */
    const char *head2 = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"transformBatch\",\"params\":"
                        "{\"bytes\":4,\"files\":[{\"contentBytes\":3}]}}\n";
    const char *input3 = "\n{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"transformBatch\",\"params\":"
                         "{\"bytes\":9,\"files\":[{\"contentBytes\":9}]}}\nshort";
    assert_int_equal(write(fds[1], head1, strlen(head1)), (ssize_t)strlen(head1));
    assert_int_equal(write(fds[1], bytes1, 13), 13);
    assert_int_equal(write(fds[1], head2, strlen(head2)), (ssize_t)strlen(head2));
    assert_int_equal(write(fds[1], "abcd", 4), 4);
    assert_int_equal(write(fds[1], input3, strlen(input3)), (ssize_t)strlen(input3));
    close(fds[1]);
    fmd_rpc_reader *rd = NULL;
    assert_int_equal(fmd_rpc_reader_create(&rd, fds[0], 0), FMD_OK);
    fmd_slice line;
    int err;

    assert_int_equal(fmd_rpc_reader_next(rd, &line, &err), FMD_OK);
    fmd_rpc_request *r = parse_line(line.ptr, line.len);
    assert_int_equal(r->error, 0);
    assert_int_equal(r->attach_bytes, 13);
    assert_true(r->items[0].attached && r->items[3].attached);
    assert_false(r->items[1].has_content || r->items[2].attached);
    assert_int_equal(fmd_rpc_read_attachment(r, rd, &err), FMD_OK);
    assert_int_equal(r->refs[0].len, 6);
    assert_memory_equal(r->base + r->refs[0].offset, "# A\n\n\x00", 7);
    assert_memory_equal(r->base + r->refs[2].offset, "J", 2);
    assert_int_equal(r->refs[3].len, 7);
    assert_memory_equal(r->base + r->refs[3].offset, "\xF0\x9F\x8E\x89\n{\n", 8);
    fmd_rpc_request_free(r);

    /* contentBytes add up to 3, not 4: -32602, and the 4 bytes are dropped all the same. */
    assert_int_equal(fmd_rpc_reader_next(rd, &line, &err), FMD_OK);
    r = parse_line(line.ptr, line.len);
    assert_int_equal(r->error, FMD_RPC_INVALID_PARAMS);
    assert_non_null(strstr(r->error_message, "params.bytes"));
    assert_int_equal(r->attach_bytes, 4);
    assert_int_equal(fmd_rpc_read_attachment(r, rd, &err), FMD_OK);
    fmd_rpc_request_free(r);

    /* The next line is read after them; then the input ends inside the raw bytes. */
    assert_int_equal(fmd_rpc_reader_next(rd, &line, &err), FMD_OK);
    assert_int_equal(line.len, 0);
    assert_int_equal(fmd_rpc_reader_next(rd, &line, &err), FMD_OK);
    r = parse_line(line.ptr, line.len);
    assert_int_equal(r->error, 0);
    assert_int_equal(fmd_rpc_read_attachment(r, rd, &err), FMD_E_NOINPUT);
    assert_int_equal(r->error, FMD_RPC_INVALID_REQUEST);
    fmd_rpc_request_free(r);
    assert_int_equal(fmd_rpc_reader_next(rd, &line, &err), FMD_E_NOINPUT);
    fmd_rpc_reader_destroy(rd);
    close(fds[0]);

    /* Over the limit (parse_line's 1 MiB): -32600 before anything is allocated, and nothing is
     * read: the next line is the next request. */
    const char *huge = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"transformBatch\",\"params\":"
                       "{\"bytes\":1000000000000,\"files\":[{\"contentBytes\":1000000000000}]}}";
    r = parse_line(huge, strlen(huge));
    assert_int_equal(r->error, FMD_RPC_INVALID_REQUEST);
    assert_non_null(strstr(r->error_message, "--max-line-bytes"));
    assert_int_equal(r->attach_bytes, 0);
    fmd_rpc_request_free(r);

    /* Raw bytes only after transformBatch; content and contentBytes not both. */
    expect_error("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ping\",\"params\":{\"bytes\":2}}",
                 FMD_RPC_INVALID_PARAMS, "4", "params.bytes");
    r = parse("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\",\"params\":{\"bytes\":2}}");
    assert_int_equal(r->attach_bytes, 2); /* still known, so that they are dropped */
    fmd_rpc_request_free(r);
    expect_error("{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"transformBatch\",\"params\":"
                 "{\"bytes\":1,\"files\":[{\"content\":\"x\",\"contentBytes\":1}]}}",
                 FMD_RPC_INVALID_PARAMS, "6", "params.files[0].contentBytes");
}

static void test_rpc_parse_batch(void **state)
{
    (void)state;
    fmd_rpc_request *r = parse(
        "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"transformBatch\","
        "\"params\":{\"batchId\":\"b\",\"stream\":true,"
        "\"files\":[{\"file\":\"a.md\",\"content\":\"# A\\u0000\"},{\"file\":\"b.md\"},"
        "{\"content\":\"\"}],\"options\":{\"dialect\":\"commonmark\",\"tables\":true,"
        "\"smartPunctuation\":false,\"rules\":[{\"replacement\":\"y\",\"pattern\":\"x\"}]}}}");
    assert_int_equal(r->error, 0);
    assert_int_equal(r->method, FMD_RPC_TRANSFORM_BATCH);
    assert_string_equal(r->batch_id, "b");
    assert_true(r->stream);
    assert_false(r->frames);
    assert_true(r->progress);
    assert_true(r->include_code);
    assert_int_equal(r->n_items, 3);
    /* Inline pages are back to back in one block, each followed by a NUL; NUL inside is kept. */
    assert_true(r->items[0].has_content);
    assert_int_equal(r->refs[0].len, 4);
    assert_memory_equal(r->base + r->refs[0].offset, "# A\0", 5);
    assert_false(r->items[1].has_content);
    assert_string_equal(r->items[1].file, "b.md");
    assert_null(r->items[2].file);
    assert_int_equal(r->refs[2].len, 0);
    /* commonmark clears the GFM extensions (front matter too), keeps footnotes; tables back on,
     * smart off. */
    unsigned ext = r->options.opt.extensions;
    assert_int_equal(ext, FMD_EXT_TABLES | FMD_EXT_FOOTNOTES);
    assert_int_equal(r->options.opt.dialect, FMD_DIALECT_COMMONMARK);
    assert_int_equal(r->options.retries, 1);
    assert_int_equal(r->options.n_rules, 1);
    assert_memory_equal(r->options.rules[0].pattern.ptr, "x", 1);
    assert_false(r->options.rules[0].regex);
    /* The cache key has sorted keys: the same rules written another way share it. */
    static const char key[] = "[{\"pattern\":\"x\",\"replacement\":\"y\"}]";
    assert_int_equal(r->options.rules_json.len, sizeof key - 1);
    assert_memory_equal(r->options.rules_json.ptr, key, sizeof key - 1);
    fmd_rpc_request_free(r);
}

static void test_rpc_digest_encoding(void **state)
{
    (void)state;
    fmd_rpc_request *r =
        parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"computeDigest\",\"params\":{\"files\":["
              "{\"path\":\"b.md\",\"size\":10,\"mtime\":1.7e12},"
              "{\"path\":\"a.md\",\"size\":3,\"mtime\":1700000000123.5},"
              "{\"path\":\"a\",\"size\":0,\"mtime\":\"2024-01-02\"},"
              "{\"path\":\"c\",\"size\":1.0,\"mtime\":-0.0},"
              "{\"path\":\"d\",\"size\":1,\"mtime\":0.1}]}}");
    assert_int_equal(r->error, 0);
    static const char want[] = "a\0"
                               "0\0"
                               "2024-01-02\n"
                               "a.md\0"
                               "3\0"
                               "1700000000123.5\n"
                               "b.md\0"
                               "10\0"
                               "1700000000000\n"
                               "c\0"
                               "1\0"
                               "0\n"
                               "d\0"
                               "1\0"
                               "0.1\n";
    assert_int_equal(r->digest_input.len, sizeof want - 1);
    assert_memory_equal(r->digest_input.ptr, want, sizeof want - 1);
    fmd_rpc_request_free(r);
}

/* Ids: any valid JSON number is accepted and echoed as written; equality is by value. */
static void test_rpc_ids(void **state)
{
    (void)state;
    const char *big = "{\"jsonrpc\":\"2.0\",\"id\":123456789012345678901234567890,"
                      "\"method\":\"ping\"}";
    fmd_rpc_request *r = parse(big);
    assert_int_equal(r->error, 0);
    assert_string_equal(r->id, "123456789012345678901234567890");
    fmd_rpc_request_free(r);
    r = parse("{\"id\" : 1e400 , \"jsonrpc\":\"2.0\",\"method\":\"ping\"}");
    assert_int_equal(r->error, 0);
    assert_string_equal(r->id, "1e400");
    fmd_rpc_request_free(r);
    r = parse("{\"jsonrpc\":\"2.0\",\"params\":{\"id\":1},\"id\":8.0,\"method\":\"ping\"}");
    assert_string_equal(r->id, "8.0");
    fmd_rpc_request_free(r);
    /* Still a parse error when the big number is elsewhere: nothing else is guessed. */
    r = parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"x\":1e400}}");
    assert_int_equal(r->error, FMD_RPC_PARSE_ERROR);
    fmd_rpc_request_free(r);

    assert_true(fmd_rpc_id_equal("8", "8.0"));
    assert_true(fmd_rpc_id_equal("8", "80e-1"));
    assert_true(fmd_rpc_id_equal("8", "0.8E+1"));
    assert_true(fmd_rpc_id_equal("0", "-0.0"));
    assert_true(fmd_rpc_id_equal("100", "1e2"));
    assert_true(fmd_rpc_id_equal("0.008", "8e-3"));
    assert_true(
        fmd_rpc_id_equal("123456789012345678901234567890", "1.2345678901234567890123456789e29"));
    assert_false(fmd_rpc_id_equal("8", "9"));
    assert_false(fmd_rpc_id_equal("8", "-8"));
    assert_false(fmd_rpc_id_equal("8", "80"));
    assert_false(fmd_rpc_id_equal("8", "\"8\""));
    assert_true(fmd_rpc_id_equal("\"a\"", "\"a\""));
    assert_false(fmd_rpc_id_equal("\"a\"", "\"b\""));
    assert_false(fmd_rpc_id_equal("null", "0"));
}

int main(void)
{
    fmd_rpc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rpc_reader_lines),
        cmocka_unit_test(test_rpc_reader_long_line),
        cmocka_unit_test(test_rpc_string_escapes),
        cmocka_unit_test(test_rpc_module_code),
        cmocka_unit_test(test_rpc_parse_errors),
        cmocka_unit_test(test_rpc_parse_batch),
        cmocka_unit_test(test_rpc_result_html_apart),
        cmocka_unit_test(test_rpc_parse_frames),
        cmocka_unit_test(test_rpc_attachment),
        cmocka_unit_test(test_rpc_digest_encoding),
        cmocka_unit_test(test_rpc_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
