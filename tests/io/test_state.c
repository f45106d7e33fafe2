/* SPDX-License-Identifier: MIT */
/* io/state.c: the lock, records written and read back (state and journal, the journal's record
 * replacing the state's, records of another options digest not current), a torn or edited
 * record ending the file, paths that would leave OUT refused, and the removal of fastmd's own
 * leftovers (and nothing else). Each test works in its own folder under /tmp and removes it. */
#define _GNU_SOURCE
#include <fcntl.h>
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

#include "fmd_io_state.h"
#include "io_test_util.h"

static const char DIGEST[] = "0123456789abcdef0123456789abcdef";
static const char OTHER[] = "ffffffffffffffffffffffffffffffff";

/* The record bytes of page @p path with key character @p k and @p line. */
static char *rec_bytes(const char *path, char k, const char *line, size_t *len)
{
    fmd_io_state_rec r = {.size = 10,
                          .ino = 7,
                          .mtime_ns = 1000,
                          .ctime_ns = 2000,
                          .t0_ns = 5000000000,
                          .flags = FMD_IO_REC_FILE};
    memset(r.key, k, 32);
    r.key[32] = '\0';
    char out[256];
    snprintf(out, sizeof out, "%.*s.html", (int)(strlen(path) - 3), path);
    r.path = path;
    r.path_len = strlen(path);
    r.output = out;
    r.output_len = strlen(out);
    r.line = line;
    r.line_len = strlen(line);
    char *b = fmd_io_state_format(&r, len);
    assert_non_null(b);
    return b;
}

static int open_dir(const char *p)
{
    int fd = open(p, O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    return fd;
}

static void test_state_commit_then_journal_overrides(void **state)
{
    (void)state;
    char root[PATH_MAX];
    tu_mktemp(root);
    int dfd = open_dir(root);
    fmd_io_state *s;
    int err;
    assert_int_equal(fmd_io_state_open(dfd, false, &s, &err), FMD_OK);
    assert_int_equal(fmd_io_state_load(s, DIGEST, &err), FMD_OK);
    size_t n;
    fmd_io_state_records(s, &n);
    assert_int_equal(n, 0);
    assert_false(fmd_io_state_interrupted(s));
    assert_false(fmd_io_state_exact(s)); /* no state file: nothing to leave as it is */
    /* A complete build of b.md and a.md (out of order on purpose). */
    assert_int_equal(fmd_io_state_journal_open(s, DIGEST, &err), FMD_OK);
    size_t l1, l2;
    char *b1 = rec_bytes("b.md", 'b', "{\"path\":\"b.md\"}\n", &l1);
    char *a1 = rec_bytes("a.md", 'a', "{\"path\":\"a.md\"}\n", &l2);
    assert_int_equal(fmd_io_state_journal_add(s, b1, l1), FMD_OK);
    assert_int_equal(fmd_io_state_journal_add(s, a1, l2), FMD_OK);
    assert_int_equal(fmd_io_state_journal_flush(s, false, &err), FMD_OK);
    assert_int_equal(fmd_io_state_commit(s, DIGEST, NULL, NULL, 0, &err), FMD_OK);
    fmd_io_state_close(s);
    assert_int_equal(faccessat(dfd, ".fastmd/journal", F_OK, 0), -1);

    /* An interrupted run: a journal with a new record for a.md, then a torn one. */
    assert_int_equal(fmd_io_state_open(dfd, false, &s, &err), FMD_OK);
    assert_int_equal(fmd_io_state_load(s, DIGEST, &err), FMD_OK);
    const fmd_io_state_rec *v = fmd_io_state_records(s, &n);
    assert_int_equal(n, 2);
    assert_true(fmd_io_state_exact(s)); /* one header, two whole records, no journal */
    /* In file order (b.md was journaled first), each found by its path. */
    assert_string_equal(v[0].path, "b.md");
    const fmd_io_state_rec *ra = fmd_io_state_find(s, "a.md");
    assert_ptr_equal(ra, &v[1]);
    assert_ptr_equal(fmd_io_state_find(s, "b.md"), &v[0]);
    assert_null(fmd_io_state_find(s, "c.md"));
    assert_null(fmd_io_state_find(s, "a.m"));
    assert_string_equal(ra->path, "a.md");
    assert_string_equal(ra->output, "a.html");
    assert_int_equal(ra->key[0], 'a');
    assert_true(ra->flags & FMD_IO_REC_CURRENT);
    assert_true(ra->flags & FMD_IO_REC_FILE);
    assert_int_equal(ra->size, 10);
    assert_int_equal(ra->mtime_ns, 1000);
    assert_int_equal(ra->t0_ns, 5000000000);
    assert_memory_equal(ra->line, "{\"path\":\"a.md\"}\n", ra->line_len);
    assert_int_equal(fmd_io_state_journal_open(s, DIGEST, &err), FMD_OK);
    size_t l3, l4;
    char *a2 = rec_bytes("a.md", 'c', "{\"path\":\"a.md\",\"new\":1}\n", &l3);
    char *c1 = rec_bytes("c.md", 'd', "{\"path\":\"c.md\"}\n", &l4);
    assert_int_equal(fmd_io_state_journal_add(s, a2, l3), FMD_OK);
    assert_int_equal(fmd_io_state_journal_add(s, c1, l4 - 5), FMD_OK); /* torn by a kill */
    assert_int_equal(fmd_io_state_journal_flush(s, true, &err), FMD_OK);
    fmd_io_state_close(s); /* no commit: as if killed */

    assert_int_equal(fmd_io_state_open(dfd, false, &s, &err), FMD_OK);
    assert_int_equal(fmd_io_state_load(s, DIGEST, &err), FMD_OK);
    assert_true(fmd_io_state_interrupted(s));
    assert_false(fmd_io_state_exact(s)); /* a journal replaces a record */
    v = fmd_io_state_records(s, &n);
    assert_int_equal(n, 2); /* a.md (from the journal) and b.md; the torn c.md is ignored */
    assert_int_equal(fmd_io_state_find(s, "a.md")->key[0], 'c'); /* the journal's record */
    assert_non_null(fmd_io_state_find(s, "b.md"));
    assert_null(fmd_io_state_find(s, "c.md"));
    fmd_io_state_close(s);

    /* Under another options digest the records load, but not as current. */
    assert_int_equal(fmd_io_state_open(dfd, false, &s, &err), FMD_OK);
    assert_int_equal(fmd_io_state_load(s, OTHER, &err), FMD_OK);
    v = fmd_io_state_records(s, &n);
    assert_int_equal(n, 2);
    assert_false(v[0].flags & FMD_IO_REC_CURRENT);
    assert_false(v[1].flags & FMD_IO_REC_CURRENT);
    assert_false(fmd_io_state_exact(s));
    fmd_io_state_close(s);
    free(a1);
    free(b1);
    free(a2);
    free(c1);
    close(dfd);
    tu_rm_rf(root);
}

/* An edited record (a byte changed) and a record whose output leaves OUT end the file. */
static void test_state_bad_records_end_the_file(void **state)
{
    (void)state;
    char root[PATH_MAX];
    tu_mktemp(root);
    tu_mkdir(root, ".fastmd");
    size_t l1, l2, l3;
    char *a = rec_bytes("a.md", 'a', "{}\n", &l1);
    char *b = rec_bytes("b.md", 'b', "{}\n", &l2);
    char *evil = rec_bytes("../x.md", 'e', "{}\n", &l3);
    size_t hl = strlen("fastmd-state 1 ") + 32 + 1;
    char *file = malloc(hl + l1 + l2 + l3);
    assert_non_null(file);
    snprintf(file, hl + 1, "fastmd-state 1 %s\n", DIGEST);
    memcpy(file + hl, a, l1);
    memcpy(file + hl + l1, evil, l3);
    memcpy(file + hl + l1 + l3, b, l2);
    tu_write_n(root, ".fastmd/state", file, hl + l1 + l2 + l3);
    int dfd = open_dir(root);
    fmd_io_state *s;
    int err;
    size_t n;
    assert_int_equal(fmd_io_state_open(dfd, false, &s, &err), FMD_OK);
    assert_int_equal(fmd_io_state_load(s, DIGEST, &err), FMD_OK);
    const fmd_io_state_rec *v = fmd_io_state_records(s, &n);
    assert_int_equal(n, 1); /* a.md; "../x.md" stops the reading, b.md after it is not seen */
    assert_string_equal(v[0].path, "a.md");
    assert_false(fmd_io_state_exact(s)); /* the file holds more than was read */
    fmd_io_state_close(s);
    /* One flipped byte in a's line: nothing is read. */
    file[hl + l1 - 20] ^= 1;
    tu_write_n(root, ".fastmd/state", file, hl + l1);
    assert_int_equal(fmd_io_state_open(dfd, false, &s, &err), FMD_OK);
    assert_int_equal(fmd_io_state_load(s, DIGEST, &err), FMD_OK);
    fmd_io_state_records(s, &n);
    assert_int_equal(n, 0);
    fmd_io_state_close(s);
    free(a);
    free(b);
    free(evil);
    free(file);
    close(dfd);
    tu_rm_rf(root);
}

/* The lock: a second holder (another process) fails at once with EWOULDBLOCK. */
static void test_state_lock_is_exclusive(void **state)
{
    (void)state;
    char root[PATH_MAX];
    tu_mktemp(root);
    int dfd = open_dir(root);
    fmd_io_state *s;
    int err;
    assert_int_equal(fmd_io_state_open(dfd, false, &s, &err), FMD_OK);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fmd_io_state *t = NULL;
        int e2 = 0;
        fmd_status st = fmd_io_state_open(dfd, false, &t, &e2);
        _exit(st == FMD_E_IO && e2 == EWOULDBLOCK ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    fmd_io_state_close(s);
    /* Released: it can be taken again. */
    assert_int_equal(fmd_io_state_open(dfd, false, &s, &err), FMD_OK);
    fmd_io_state_close(s);
    close(dfd);
    tu_rm_rf(root);
}

/* Leftovers: fastmd's temporary names anywhere, the manifest's at the top; nothing else. */
static void test_state_remove_leftovers(void **state)
{
    (void)state;
    char root[PATH_MAX], p[PATH_MAX];
    tu_mktemp(root);
    tu_mkdir(root, "a/b");
    tu_write(root, ".fastmd-tmp.123.4", "x");
    tu_write(root, "a/b/.fastmd-tmp.99.1.2", "x");
    tu_write(root, ".manifest.ndjson.tmp.55.1", "x");
    tu_write(root, "a/.manifest.ndjson.tmp.55.1", "not at the top: kept");
    tu_write(root, "a/page.html", "kept");
    tu_write(root, "a/b/fastmd-tmp.1", "kept: no leading dot");
    tu_write(root, "a/b/.page.html.tmp.1.2", "kept: not fastmd's name");
    int dfd = open_dir(root);
    size_t removed = 0;
    assert_int_equal(fmd_io_leftovers_remove(dfd, &removed), FMD_OK);
    assert_int_equal(removed, 3);
    assert_int_equal(access(tu_path(p, root, ".fastmd-tmp.123.4"), F_OK), -1);
    assert_int_equal(access(tu_path(p, root, "a/b/.fastmd-tmp.99.1.2"), F_OK), -1);
    assert_int_equal(access(tu_path(p, root, ".manifest.ndjson.tmp.55.1"), F_OK), -1);
    assert_int_equal(access(tu_path(p, root, "a/.manifest.ndjson.tmp.55.1"), F_OK), 0);
    assert_int_equal(access(tu_path(p, root, "a/page.html"), F_OK), 0);
    assert_int_equal(access(tu_path(p, root, "a/b/fastmd-tmp.1"), F_OK), 0);
    assert_int_equal(access(tu_path(p, root, "a/b/.page.html.tmp.1.2"), F_OK), 0);
    close(dfd);
    tu_rm_rf(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_commit_then_journal_overrides),
        cmocka_unit_test(test_state_bad_records_end_the_file),
        cmocka_unit_test(test_state_lock_is_exclusive),
        cmocka_unit_test(test_state_remove_leftovers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
