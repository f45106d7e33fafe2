/* SPDX-License-Identifier: MIT */
/* serve/rpc.c's request parsing, field by field: each malformed parameter of each method is
 * answered with -32602 naming the field, and the well-formed forms (dialects, rules, digests of
 * every mtime kind, cancellation by id, stats formats, a trace context) parse. Then every
 * allocation of parsing such requests fails in turn (malloc, calloc and the arena's
 * aligned_alloc, through -Wl,--wrap): each failure is FMD_E_NOMEM with no request, never a
 * crash or a request half filled. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc.h"

#include "fault_alloc.h" /* fail_alloc: the k-th allocation from now fails (0: none) */

/*** Helpers ***/

#define RQ(method, params)                                                                         \
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"" method "\",\"params\":" params "}"

static fmd_status parse_st(const char *line, fmd_rpc_request **r)
{
    fmd_options d = {0};
    d.extensions = FMD_EXT_GFM;
    *r = NULL;
    return fmd_rpc_parse(line, strlen(line), &d, 1 << 20, r);
}

typedef struct bad {
    const char *line;
    const char *field; /* in the error message */
} bad;

static const bad bads[] = {
    {RQ("transform", "{\"content\":\"x\",\"options\":7}"), "params.options"},
    {RQ("transform", "{\"content\":\"x\",\"options\":{\"dialect\":\"md\"}}"),
     "params.options.dialect"},
    {RQ("transform", "{\"content\":\"x\",\"options\":{\"dialect\":3}}"), "params.options.dialect"},
    {RQ("transform", "{\"content\":\"x\",\"options\":{\"deadlineMs\":-1}}"),
     "params.options.deadlineMs"},
    {RQ("transform", "{\"content\":\"x\",\"options\":{\"rules\":{}}}"), "params.options.rules"},
    {RQ("transform", "{\"content\":\"x\",\"options\":{\"rules\":[7]}}"), "params.options.rules[0]"},
    {RQ("transform", "{\"content\":\"x\",\"options\":{\"rules\":[{\"replacement\":\"b\"}]}}"),
     "params.options.rules[0].pattern"},
    {RQ("transform", "{\"content\":\"x\",\"options\":{\"rules\":[{\"pattern\":\"a\","
                     "\"replacement\":5}]}}"),
     "params.options.rules[0].replacement"},
    {RQ("transform", "{\"content\":\"x\",\"options\":{\"rules\":[{\"pattern\":\"a\\u0000\","
                     "\"replacement\":\"b\"}]}}"),
     "params.options.rules[0].pattern"},
    {RQ("transform", "{\"content\":\"x\",\"options\":{\"rules\":[{\"pattern\":\"a\","
                     "\"replacement\":\"b\",\"regex\":\"yes\"}]}}"),
     "params.options.rules[0].regex"},
    {RQ("transform", "{\"content\":\"x\",\"includeCode\":1}"), "params.includeCode"},
    {RQ("transform", "{\"file\":7}"), "params.file"},
    {RQ("transform", "{}"), "params"},
    {RQ("transform", "[1]"), "params"},
    {RQ("transformBatch", "{}"), "params.files"},
    {RQ("transformBatch", "{\"files\":{}}"), "params.files"},
    {RQ("transformBatch", "{\"files\":[7]}"), "params.files[0]"},
    {RQ("transformBatch", "{\"files\":[{}]}"), "params.files[0]"},
    {RQ("transformBatch", "{\"files\":[{\"content\":\"a\",\"contentBytes\":1}]}"),
     "params.files[0]"},
    {RQ("transformBatch", "{\"bytes\":4,\"files\":[{\"contentBytes\":-1}]}"),
     "params.files[0].contentBytes"},
    {RQ("transformBatch", "{\"bytes\":4,\"files\":[{\"contentBytes\":3},{\"contentBytes\":3}]}"),
     "params.files[1].contentBytes"},
    {RQ("transformBatch", "{\"batchId\":\"\",\"files\":[{\"content\":\"a\"}]}"), "params.batchId"},
    {RQ("transformBatch", "{\"stream\":\"no\",\"files\":[{\"content\":\"a\"}]}"), "params.stream"},
    {RQ("transformBatch", "{\"progress\":0,\"files\":[{\"content\":\"a\"}]}"), "params.progress"},
    {RQ("normalize", "{}"), "params.content"},
    {RQ("normalize", "{\"content\":1}"), "params.content"},
    {RQ("normalize", "{\"content\":\"a\",\"removeBom\":\"x\"}"), "params.removeBom"},
    {RQ("computeDigest", "{}"), "params.files"},
    {RQ("computeDigest", "{\"files\":1}"), "params.files"},
    {RQ("computeDigest", "{\"files\":[1]}"), "params.files[0]"},
    {RQ("computeDigest", "{\"files\":[{\"size\":1,\"mtime\":1}]}"), "params.files[0].path"},
    {RQ("computeDigest", "{\"files\":[{\"path\":1,\"size\":1,\"mtime\":1}]}"),
     "params.files[0].path"},
    {RQ("computeDigest", "{\"files\":[{\"path\":\"a\\u0000b\",\"size\":1,\"mtime\":1}]}"),
     "params.files[0].path"},
    {RQ("computeDigest", "{\"files\":[{\"path\":\"a\",\"mtime\":1}]}"), "params.files[0].size"},
    {RQ("computeDigest", "{\"files\":[{\"path\":\"a\",\"size\":1}]}"), "params.files[0].mtime"},
    {RQ("computeDigest", "{\"files\":[{\"path\":\"a\",\"size\":1,\"mtime\":[]}]}"),
     "params.files[0].mtime"},
    {RQ("cancel", "{}"), "params.batchId"},
    {RQ("cancel", "{\"batchId\":4}"), "params.batchId"},
    {RQ("$/cancelRequest", "{}"), "params.id"},
    {RQ("$/cancelRequest", "{\"id\":[1]}"), "params.id"},
    {RQ("stats", "{\"format\":\"xml\"}"), "params.format"},
    {RQ("stats", "{\"format\":1}"), "params.format"},
    {RQ("ping", "{\"_meta\":3}"), "params._meta"},
    {RQ("ping", "{\"_meta\":{\"traceparent\":\"00-x\"}}"), "params._meta.traceparent"},
    {RQ("ping", "{\"_meta\":{\"traceparent\":\"00-00000000000000000000000000000000-"
                "0123456789abcdef-01\"}}"),
     "params._meta.traceparent"},
    {RQ("ping", "{\"_meta\":{\"traceparent\":\"00-0123456789abcdef0123456789abcdef-"
                "0000000000000000-01\"}}"),
     "params._meta.traceparent"},
};

/* Requests that parse, for the allocation sweep. */
static const char *const goods[] = {
    RQ("transform", "{\"content\":\"# a\",\"options\":{\"dialect\":\"commonmark\","
                    "\"deadlineMs\":100,\"retries\":2,\"rules\":[{\"pattern\":\"a\","
                    "\"replacement\":\"b\"},{\"pattern\":\"c+\",\"replacement\":\"d\","
                    "\"regex\":true}]},\"includeCode\":false}"),
    RQ("transform", "{\"content\":\"x\",\"options\":{\"dialect\":\"gfm\"}}"),
    RQ("transformBatch", "{\"batchId\":\"b1\",\"frames\":true,\"files\":[{\"content\":\"a\","
                         "\"file\":\"a.md\"},{\"file\":\"b.md\"}],"
                         "\"_meta\":{\"traceparent\":\"00-0123456789abcdef0123456789abcdef-"
                         "0123456789abcdef-01\"}}"),
    RQ("normalize", "{\"content\":\"\\ufeffa\\r\\n\",\"removeBom\":false}"),
    RQ("computeDigest", "{\"files\":[{\"path\":\"b\",\"size\":1,\"mtime\":1.5},"
                        "{\"path\":\"a\",\"size\":2,\"mtime\":\"2024-01-01\"},"
                        "{\"path\":\"c\",\"size\":3,\"mtime\":9007199254740993},"
                        "{\"path\":\"d\",\"size\":4,\"mtime\":-0.0},"
                        "{\"path\":\"e\",\"size\":5,\"mtime\":3}]}"),
    RQ("$/cancelRequest", "{\"id\":\"q\"}"),
    RQ("$/cancelRequest", "{\"id\":42}"),
    RQ("cancel", "{\"batchId\":\"b1\"}"),
    RQ("stats", "{\"format\":\"prometheus\"}"),
    "{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"method\":\"ping\"}",
};

/*** Tests ***/

static void test_rpc_params_refused(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        fmd_rpc_request *r = NULL;
        assert_int_equal(parse_st(bads[i].line, &r), FMD_OK);
        assert_non_null(r);
        if (r->error != FMD_RPC_INVALID_PARAMS || r->error_message == NULL ||
            strstr(r->error_message, bads[i].field) == NULL)
            fail_msg("%s\n-> error %d: %s (want %s)", bads[i].line, r->error,
                     r->error_message ? r->error_message : "(none)", bads[i].field);
        assert_string_equal(r->id, "1");
        fmd_rpc_request_free(r);
    }
}

static void test_rpc_params_accepted(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof goods / sizeof goods[0]; i++) {
        fmd_rpc_request *r = NULL;
        assert_int_equal(parse_st(goods[i], &r), FMD_OK);
        if (r->error != 0)
            fail_msg("%s\n-> error %d: %s", goods[i], r->error, r->error_message);
        fmd_rpc_request_free(r);
    }
    /* What the fields set. */
    fmd_rpc_request *r = NULL;
    assert_int_equal(parse_st(goods[0], &r), FMD_OK);
    assert_int_equal(r->method, FMD_RPC_TRANSFORM);
    assert_false(r->include_code);
    fmd_rpc_request_free(r);
    assert_int_equal(parse_st(goods[2], &r), FMD_OK);
    assert_true(r->frames);
    assert_true(r->stream);
    assert_string_equal(r->batch_id, "b1");
    assert_string_equal(r->trace_id, "0123456789abcdef0123456789abcdef");
    assert_string_equal(r->parent_span, "0123456789abcdef");
    assert_int_equal(r->trace_flags, 1);
    fmd_rpc_request_free(r);
    assert_int_equal(parse_st(goods[6], &r), FMD_OK);
    assert_string_equal(r->cancel_id, "42");
    fmd_rpc_request_free(r);
    assert_int_equal(parse_st(goods[8], &r), FMD_OK);
    assert_true(r->prometheus);
    fmd_rpc_request_free(r);
}

/* The k-th allocation fails, for k = 1, 2, ... until the request parses as without failures:
 * every earlier try is FMD_E_NOMEM with no request, or, for a refused request, the same error
 * without its data. */
static void sweep(const char *line, int want_error)
{
    int nomem = 0;
    bool done = false;
    for (int k = 1; k < 10000 && !done; k++) {
        fmd_rpc_request *r = NULL;
        atomic_store(&fail_alloc, k);
        fmd_status st = parse_st(line, &r);
        bool tripped = atomic_load(&fail_alloc) == 0;
        atomic_store(&fail_alloc, 0);
        if (tripped && st == FMD_OK && want_error != 0 && r != NULL && r->error == want_error) {
            /* The error's data ({"field": ...}) is built in a scratch arena of its own; without
             * it the error is still answered, with its message. */
            fmd_rpc_request_free(r);
        } else if (tripped) {
            if (st != FMD_E_NOMEM || r != NULL)
                fail_msg("%s\nallocation %d failed: status %d, request %p", line, k, (int)st,
                         (void *)r);
            nomem++;
        } else {
            assert_int_equal(st, FMD_OK);
            assert_non_null(r);
            assert_int_equal(r->error, want_error);
            fmd_rpc_request_free(r);
            done = true;
        }
    }
    assert_true(done);
    assert_true(nomem > 0);
}

static void test_rpc_params_allocation_failures(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof goods / sizeof goods[0]; i++)
        sweep(goods[i], 0);
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++)
        sweep(bads[i].line, FMD_RPC_INVALID_PARAMS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rpc_params_refused),
        cmocka_unit_test(test_rpc_params_accepted),
        cmocka_unit_test(test_rpc_params_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
