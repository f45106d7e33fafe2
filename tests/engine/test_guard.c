/* SPDX-License-Identifier: MIT */
/* The supervisor's and the worker's shared region (engine/guard.c): what a thread writes into
 * its slot is seen by the other process after a fork, verdicts go suspect -> crashed on a second
 * death (or timeout, or cleared after a lone retry), long paths are cut to one verdict, the table
 * of verdicts is bounded, and out-of-range threads are ignored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fmd_guard.h"

static void test_guard_create_usage(void **state)
{
    (void)state;
    int not_a_guard = 0;
    fmd_guard *g = (fmd_guard *)(void *)&not_a_guard; /* must be set to NULL */
    assert_int_equal(fmd_guard_create(0, &g), FMD_E_USAGE);
    assert_null(g);
    fmd_guard_destroy(NULL);
}

/* A child writes its slots and verdict requests; the parent reads them after the child is gone,
 * as the supervisor does after a worker died. */
static void test_guard_slots_survive_the_writer(void **state)
{
    (void)state;
    fmd_guard *g = NULL;
    assert_int_equal(fmd_guard_create(4, &g), FMD_OK);
    int64_t before = fmd_guard_now_ns();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fmd_guard_begin(g, 0, 7, "a/page.md");
        fmd_guard_begin(g, 1, 8, "b.md");
        fmd_guard_end(g, 1);
        fmd_guard_begin(g, 4, 9, "ignored.md"); /* no such slot */
        fmd_guard_begin(g, -1, 9, "ignored.md");
        fmd_guard_end(g, 9);
        atomic_store(&g->cancel, 1);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(atomic_load(&g->slots[0].page), 8); /* 1 + page index */
    assert_string_equal(g->slots[0].path, "a/page.md");
    assert_true(atomic_load(&g->slots[0].start_ns) >= before);
    assert_int_equal(atomic_load(&g->slots[1].page), 0);
    assert_int_equal(atomic_load(&g->slots[2].page), 0);
    assert_int_equal(atomic_load(&g->cancel), 1);
    fmd_guard_reset_slots(g);
    assert_int_equal(atomic_load(&g->slots[0].page), 0);
    fmd_guard_destroy(g);
}

static void test_guard_verdicts(void **state)
{
    (void)state;
    fmd_guard *g = NULL;
    assert_int_equal(fmd_guard_create(1, &g), FMD_OK);
    assert_null(fmd_guard_find(g, "x.md"));
    assert_false(fmd_guard_has_suspects(g));
    assert_int_equal(fmd_guard_note(g, "x.md", FMD_GUARD_SUSPECT), FMD_OK);
    assert_int_equal(fmd_guard_find(g, "x.md")->verdict, FMD_GUARD_SUSPECT);
    assert_true(fmd_guard_has_suspects(g));
    assert_int_equal(fmd_guard_note(g, "x.md", FMD_GUARD_SUSPECT), FMD_OK);
    assert_int_equal(fmd_guard_find(g, "x.md")->verdict, FMD_GUARD_CRASHED);
    assert_int_equal(fmd_guard_find(g, "x.md")->deaths, 2);
    assert_false(fmd_guard_has_suspects(g));
    assert_int_equal(fmd_guard_note(g, "slow.md", FMD_GUARD_TIMEOUT), FMD_OK);
    assert_int_equal(fmd_guard_find(g, "slow.md")->verdict, FMD_GUARD_TIMEOUT);
    assert_int_equal(fmd_guard_find(g, "slow.md")->deaths, 0);
    assert_int_equal(fmd_guard_note(g, "once.md", FMD_GUARD_SUSPECT), FMD_OK);
    fmd_guard_clear_suspects(g);
    assert_int_equal(fmd_guard_find(g, "once.md")->verdict, FMD_GUARD_CLEARED);
    assert_int_equal(fmd_guard_find(g, "x.md")->verdict, FMD_GUARD_CRASHED);
    fmd_guard_destroy(g);
}

/* Two paths longer than a slot keeps, equal in their first FMD_GUARD_PATH_MAX - 1 bytes, share
 * one verdict; the table holds FMD_GUARD_MAX_PAGES pages, then refuses. */
static void test_guard_limits(void **state)
{
    (void)state;
    fmd_guard *g = NULL;
    assert_int_equal(fmd_guard_create(1, &g), FMD_OK);
    char *a = malloc(FMD_GUARD_PATH_MAX + 10), *b = malloc(FMD_GUARD_PATH_MAX + 10);
    assert_non_null(a);
    assert_non_null(b);
    memset(a, 'p', FMD_GUARD_PATH_MAX + 9);
    a[FMD_GUARD_PATH_MAX + 9] = '\0';
    memcpy(b, a, FMD_GUARD_PATH_MAX + 10);
    b[FMD_GUARD_PATH_MAX + 5] = 'q';
    fmd_guard_begin(g, 0, 0, a);
    assert_int_equal(strlen(g->slots[0].path), FMD_GUARD_PATH_MAX - 1);
    assert_int_equal(fmd_guard_note(g, a, FMD_GUARD_SUSPECT), FMD_OK);
    assert_int_equal(fmd_guard_note(g, b, FMD_GUARD_SUSPECT), FMD_OK);
    assert_int_equal(g->n_pages, 1);
    assert_int_equal(fmd_guard_find(g, b)->verdict, FMD_GUARD_CRASHED);
    free(a);
    free(b);
    for (int i = 1; i < FMD_GUARD_MAX_PAGES; i++) {
        char p[32];
        snprintf(p, sizeof p, "p%d.md", i);
        assert_int_equal(fmd_guard_note(g, p, FMD_GUARD_TIMEOUT), FMD_OK);
    }
    assert_int_equal(g->n_pages, FMD_GUARD_MAX_PAGES);
    assert_int_equal(fmd_guard_note(g, "one-more.md", FMD_GUARD_TIMEOUT), FMD_E_NOMEM);
    assert_int_equal(fmd_guard_note(g, "p1.md", FMD_GUARD_SUSPECT), FMD_OK); /* known: fine */
    fmd_guard_destroy(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guard_create_usage),
        cmocka_unit_test(test_guard_slots_survive_the_writer),
        cmocka_unit_test(test_guard_verdicts),
        cmocka_unit_test(test_guard_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
