/* SPDX-License-Identifier: MIT */
/* One deadline per page: front matter, custom rules and rendering share the page's deadlineMs,
 * so rules that spend it leave nothing to the renderer. The clock is a fake one
 * (-Wl,--wrap=omp_get_wtime) that only moves when PCRE2 matches (-Wl,--wrap=pcre2_match_8), so
 * the test is exact on any machine: the rules "take" a chosen time and rendering takes none. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "fmd_kernel.h"

/*** The fake clock ***/

static double fake_now = 1000.0; /* seconds; omp_get_wtime() returns this */
static double match_cost;        /* seconds each pcre2_match() call moves the clock */

double __wrap_omp_get_wtime(void);
double __wrap_omp_get_wtime(void)
{
    return fake_now;
}

int __real_pcre2_match_8(const pcre2_code_8 *, PCRE2_SPTR8, PCRE2_SIZE, PCRE2_SIZE, uint32_t,
                         pcre2_match_data_8 *, pcre2_match_context_8 *);
int __wrap_pcre2_match_8(const pcre2_code_8 *, PCRE2_SPTR8, PCRE2_SIZE, PCRE2_SIZE, uint32_t,
                         pcre2_match_data_8 *, pcre2_match_context_8 *);
int __wrap_pcre2_match_8(const pcre2_code_8 *code, PCRE2_SPTR8 subject, PCRE2_SIZE len,
                         PCRE2_SIZE start, uint32_t options, pcre2_match_data_8 *md,
                         pcre2_match_context_8 *mc)
{
    fake_now += match_cost;
    return __real_pcre2_match_8(code, subject, len, start, options, md, mc);
}

/*** Helpers ***/

/* Render "Label: text" with the rule "(\w+):" -> "**$1**:" under a deadline of @p deadline_ms,
 * each pcre2_match() call costing @p cost_s seconds of the fake clock. */
static fmd_status render(unsigned deadline_ms, double cost_s, char *msg, size_t msg_cap,
                         unsigned *calls_s_ms)
{
    static const char page[] = "# Title\n\nLabel: some text\n";
    fmd_rule_spec spec = {"(\\w+):", 6, "**$1**:", 7, true};
    fmd_rules *rules = NULL;
    assert_int_equal(fmd_kernel_rules_create(&spec, 1, &rules, NULL, NULL), FMD_OK);
    fmd_options opt;
    fmd_kernel_options_default(&opt);
    opt.rules = rules;
    opt.deadline_ms = deadline_ms;
    fmd_arena *out = NULL, *scratch = NULL;
    assert_int_equal(fmd_arena_create(&out, 0), FMD_OK);
    assert_int_equal(fmd_arena_create(&scratch, 0), FMD_OK);
    fmd_result res;
    match_cost = cost_s;
    double t0 = fake_now;
    fmd_kernel_page_render(page, sizeof page - 1, &opt, out, scratch, &res);
    match_cost = 0;
    *calls_s_ms = (unsigned)((fake_now - t0) * 1e3 + 0.5);
    snprintf(msg, msg_cap, "%.*s", (int)res.err_message.len,
             res.err_message.ptr ? res.err_message.ptr : "");
    if (res.status == FMD_OK)
        assert_non_null(strstr(res.html.ptr, "<strong>Label</strong>:"));
    fmd_arena_destroy(out);
    fmd_arena_destroy(scratch);
    fmd_kernel_rules_destroy(rules);
    return res.status;
}

/*** Tests ***/

/* Rules that use up the page's deadline fail the page; they do not hand the renderer a fresh
 * allowance of its own. */
static void test_deadline_rules_spend_the_page_deadline(void **state)
{
    (void)state;
    char msg[200];
    unsigned spent = 0;
    assert_int_equal(render(100, 0.060, msg, sizeof msg, &spent), FMD_E_DEADLINE);
    assert_true(spent > 100); /* the rules alone went past it */
    assert_non_null(strstr(msg, "deadline of 100 ms"));
}

/* The same page with rules that leave part of the deadline renders. */
static void test_deadline_rules_within_the_deadline_render(void **state)
{
    (void)state;
    char msg[200];
    unsigned spent = 0;
    assert_int_equal(render(100, 0.020, msg, sizeof msg, &spent), FMD_OK);
    assert_true(spent > 0 && spent < 100);
    assert_int_equal(render(0, 0.060, msg, sizeof msg, &spent), FMD_OK); /* no deadline */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deadline_rules_spend_the_page_deadline),
        cmocka_unit_test(test_deadline_rules_within_the_deadline_render),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
