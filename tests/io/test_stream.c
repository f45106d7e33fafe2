/* SPDX-License-Identifier: MIT */
/* The ordered stream's lanes (io/stream.c): lines put by several threads, each through its own
 * lane of line blocks, in any order, come out in index order with every byte intact, across
 * many blocks, with lines longer than a block's limit, and mixed with malloc'ed puts; the
 * default wake policy writes a group of lines before close; misuse is refused. */
#include "io_test_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "fmd_clock.h"
#include "fmd_io.h"

/* 3000 lines of 1 to ~3000 bytes (about 4.5 MiB: dozens of 128 KiB blocks per lane), and every
 * 500th line 40,000 bytes long, past the 32 KiB a block takes. */
#define N 3000
#define LANES 4

/* Line i's bytes: its index, then a pattern that depends on i, then a newline. */
static size_t make_line(size_t i, char *buf, size_t cap)
{
    size_t len = i % 500 == 499 ? 40000 : 1 + (i * 7919) % 3000;
    assert_true(len < cap);
    int head = snprintf(buf, cap, "%zu:", i);
    for (size_t k = (size_t)head; k + 1 < len; k++)
        buf[k] = (char)('a' + (i + k) % 26);
    if (len > (size_t)head)
        buf[len - 1] = '\n';
    return len > (size_t)head ? len : (size_t)head;
}

typedef struct worker {
    fmd_io_stream *s;
    int lane;
    int fails;
} worker;

/* Lane k puts the lines i with i % LANES == k, from the last to the first; every 10th line
 * goes through fmd_io_stream_put() (a malloc of its own) instead. No asserts in a thread. */
static void *put_lines(void *arg)
{
    worker *w = arg;
    static _Thread_local char buf[40064];
    for (size_t j = N; j-- > 0;) {
        if (j % LANES != (size_t)w->lane)
            continue;
        size_t len = make_line(j, buf, sizeof buf);
        fmd_status st = j % 10 == 3 ? fmd_io_stream_put(w->s, j, buf, len)
                                    : fmd_io_stream_put_lane(w->s, w->lane, j, buf, len);
        if (st != FMD_OK)
            w->fails++;
    }
    return NULL;
}

static void test_stream_lanes_in_order(void **state)
{
    (void)state;
    char dir[PATH_MAX], p[PATH_MAX];
    tu_mktemp(dir);
    tu_path(p, dir, "out.ndjson");
    fmd_io_stream *s = NULL;
    int err = -1;
    assert_int_equal(fmd_io_stream_open_path(&s, p, N, &err), FMD_OK);
    assert_int_equal(fmd_io_stream_set_lanes(s, LANES), FMD_OK);
    worker w[LANES];
    pthread_t tid[LANES];
    for (int k = 0; k < LANES; k++) {
        w[k] = (worker){s, k, 0};
        assert_int_equal(pthread_create(&tid[k], NULL, put_lines, &w[k]), 0);
    }
    for (int k = 0; k < LANES; k++) {
        pthread_join(tid[k], NULL);
        assert_int_equal(w[k].fails, 0);
    }
    assert_int_equal(fmd_io_stream_close(s, &err), FMD_OK);
    assert_int_equal(err, 0);

    size_t len = 0;
    char *text = tu_read(p, &len);
    assert_non_null(text);
    char *want = malloc(40064);
    assert_non_null(want);
    size_t at = 0;
    for (size_t i = 0; i < N; i++) {
        size_t wl = make_line(i, want, 40064);
        if (at + wl > len || memcmp(text + at, want, wl) != 0)
            fail_msg("line %zu (%zu bytes) differs at offset %zu", i, wl, at);
        at += wl;
    }
    assert_int_equal(at, len);
    free(want);
    free(text);
    assert_int_equal(tu_count_names(dir, ".tmp."), 0);
    tu_rm_rf(dir);
}

static void test_stream_lanes_usage(void **state)
{
    (void)state;
    char dir[PATH_MAX], p[PATH_MAX];
    tu_mktemp(dir);
    tu_path(p, dir, "out.ndjson");
    fmd_io_stream *s = NULL;
    assert_int_equal(fmd_io_stream_open_path(&s, p, 2, NULL), FMD_OK);
    /* No lanes yet, then lanes set twice, zero lanes, a lane or an index out of range. */
    assert_int_equal(fmd_io_stream_put_lane(s, 0, 0, "a\n", 2), FMD_E_USAGE);
    assert_int_equal(fmd_io_stream_set_lanes(s, 0), FMD_E_USAGE);
    assert_int_equal(fmd_io_stream_set_lanes(s, 2), FMD_OK);
    assert_int_equal(fmd_io_stream_set_lanes(s, 2), FMD_E_USAGE);
    assert_int_equal(fmd_io_stream_put_lane(s, 2, 0, "a\n", 2), FMD_E_USAGE);
    assert_int_equal(fmd_io_stream_put_lane(s, -1, 0, "a\n", 2), FMD_E_USAGE);
    assert_int_equal(fmd_io_stream_put_lane(s, 0, 2, "a\n", 2), FMD_E_USAGE);
    assert_int_equal(fmd_io_stream_put_lane(s, 1, 1, "b\n", 2), FMD_OK);
    assert_int_equal(fmd_io_stream_put_lane(s, 0, 0, "a\n", 2), FMD_OK);
    assert_int_equal(fmd_io_stream_close(s, NULL), FMD_OK);
    size_t len = 0;
    char *text = tu_read(p, &len);
    assert_non_null(text);
    assert_int_equal(len, 4);
    assert_memory_equal(text, "a\nb\n", 4);
    free(text);
    tu_rm_rf(dir);
}

/* An aborted stream frees lines still waiting in blocks (ASan builds check the leak) and leaves
 * no temporary file. */
static void test_stream_lanes_abort(void **state)
{
    (void)state;
    char dir[PATH_MAX], p[PATH_MAX];
    tu_mktemp(dir);
    tu_path(p, dir, "out.ndjson");
    fmd_io_stream *s = NULL;
    assert_int_equal(fmd_io_stream_open_path(&s, p, 3, NULL), FMD_OK);
    assert_int_equal(fmd_io_stream_set_lanes(s, 1), FMD_OK);
    /* Line 0 is never put: lines 1 and 2 wait in the lane's block. */
    assert_int_equal(fmd_io_stream_put_lane(s, 0, 2, "c\n", 2), FMD_OK);
    assert_int_equal(fmd_io_stream_put_lane(s, 0, 1, "b\n", 2), FMD_OK);
    fmd_io_stream_abort(s);
    assert_int_equal(tu_count_names(dir, ".tmp."), 0);
    tu_rm_rf(dir);
}

/* A sink that counts the lines it got (read by the test thread while the writer runs). */
static fmd_status count_lines(const fmd_slice *lines, const size_t *index, size_t n, void *ud)
{
    (void)lines;
    (void)index;
    atomic_fetch_add((atomic_size_t *)ud, n);
    return FMD_OK;
}

/* Wait until *seen reaches @p want, for at most 10 s (the visible state, not a sleep). */
static size_t wait_seen(atomic_size_t *seen, size_t want)
{
    double t0 = fmd_clock_now();
    while (atomic_load(seen) < want && fmd_clock_now() - t0 < 10.0) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return atomic_load(seen);
}

/* The default wake policy, with nothing but puts to wake the writer: a whole group of 64 lines
 * is written before close (the put of its last line wakes the writer), and so are 10 lines of
 * the next group, once the linger has passed. */
static void test_stream_default_wake(void **state)
{
    (void)state;
    atomic_size_t seen;
    atomic_init(&seen, 0);
    fmd_io_stream_sink sink = {.write = count_lines, .userdata = &seen};
    fmd_io_stream *s = NULL;
    assert_int_equal(fmd_io_stream_open_sink(&s, 100, &sink, NULL), FMD_OK);
    /* Out of order within the group: the last line first. */
    for (size_t k = 64; k-- > 0;)
        assert_int_equal(fmd_io_stream_put(s, k, "x\n", 2), FMD_OK);
    assert_int_equal(wait_seen(&seen, 64), 64);
    for (size_t k = 64; k < 74; k++)
        assert_int_equal(fmd_io_stream_put(s, k, "x\n", 2), FMD_OK);
    assert_int_equal(wait_seen(&seen, 74), 74);
    for (size_t k = 74; k < 100; k++)
        assert_int_equal(fmd_io_stream_put(s, k, "x\n", 2), FMD_OK);
    assert_int_equal(fmd_io_stream_close(s, NULL), FMD_OK);
    assert_int_equal(atomic_load(&seen), 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_lanes_in_order),
        cmocka_unit_test(test_stream_lanes_usage),
        cmocka_unit_test(test_stream_lanes_abort),
        cmocka_unit_test(test_stream_default_wake),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
