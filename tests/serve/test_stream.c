/* SPDX-License-Identifier: MIT */
/* io/stream.c with a sink, as serve's batches use it: lines put in any order by many threads reach
 * the sink in index order, empty slots are skipped, the tick runs while the stream is open and
 * once at the end, a failing sink stops later calls, and the wake policy's puts wake the writer
 * (the whole run stays far below the poll interval it would otherwise need). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fmd_clock.h"
#include "fmd_io.h"

#define N 2000
#define THREADS 4

typedef struct sink_state {
    size_t seen[N]; /* indexes in the order the sink got them */
    size_t n_seen;
    size_t calls;
    size_t ticks, last_ticks;
    bool order_ok;     /* each line's text names its index */
    size_t fail_after; /* 0: never fail */
    /* n_seen as published by the writer thread after each call (release), for a thread that
     * polls while the stream is still open: reading n_seen itself there would be a data race. */
    atomic_size_t n_published;
} sink_state;

static fmd_status sink_write(const fmd_slice *lines, const size_t *index, size_t n, void *ud)
{
    sink_state *st = ud;
    st->calls++;
    for (size_t k = 0; k < n; k++) {
        char want[32];
        int len = snprintf(want, sizeof want, "line %zu\n", index[k]);
        if (lines[k].len != (size_t)len || memcmp(lines[k].ptr, want, (size_t)len) != 0)
            st->order_ok = false;
        st->seen[st->n_seen++] = index[k];
    }
    atomic_store_explicit(&st->n_published, st->n_seen, memory_order_release);
    if (st->fail_after != 0 && st->n_seen >= st->fail_after)
        return FMD_E_IO;
    return FMD_OK;
}

static void sink_tick(bool last, void *ud)
{
    sink_state *st = ud;
    if (last)
        st->last_ticks++;
    else
        st->ticks++;
}

typedef struct worker {
    fmd_io_stream *s;
    int k;
    int fails; /* puts that did not return FMD_OK */
} worker;

/* Thread k puts the indexes i with i % THREADS == k, from the highest down; every 7th is an
 * empty slot. */
static void *put_lines(void *arg)
{
    worker *w = arg;
    for (long i = N - 1; i >= 0; i--) {
        if (i % THREADS != w->k)
            continue;
        fmd_status st;
        if (i % 7 == 3) {
            st = fmd_io_stream_put_owned(w->s, (size_t)i, NULL, 0);
        } else {
            char line[32];
            int len = snprintf(line, sizeof line, "line %ld\n", i);
            st = fmd_io_stream_put(w->s, (size_t)i, line, (size_t)len);
        }
        if (st != FMD_OK)
            w->fails++;
    }
    return NULL;
}

static void run(sink_state *st, const fmd_io_stream_wake *wake, fmd_status want_close)
{
    fmd_io_stream *s = NULL;
    fmd_io_stream_sink sink = {
        .write = sink_write, .tick = sink_tick, .tick_s = 0.001, .userdata = st};
    assert_int_equal(fmd_io_stream_open_sink(&s, N, &sink, wake), FMD_OK);
    pthread_t t[THREADS];
    worker w[THREADS];
    for (int k = 0; k < THREADS; k++) {
        w[k] = (worker){s, k, 0};
        assert_int_equal(pthread_create(&t[k], NULL, put_lines, &w[k]), 0);
    }
    for (int k = 0; k < THREADS; k++) {
        pthread_join(t[k], NULL);
        assert_int_equal(w[k].fails, 0);
    }
    assert_int_equal(fmd_io_stream_close(s, NULL), want_close);
}

static void test_stream_sink_order(void **state)
{
    (void)state;
    fmd_io_stream_wake wakes[2] = {{0, 0}, {64, 0.002}};
    for (int w = 0; w < 2; w++) {
        sink_state *st = calloc(1, sizeof *st);
        assert_non_null(st);
        st->order_ok = true;
        run(st, &wakes[w], FMD_OK);
        assert_true(st->order_ok);
        size_t expect = 0;
        for (size_t i = 0; i < N; i++)
            expect += i % 7 != 3;
        assert_int_equal(st->n_seen, expect);
        for (size_t k = 1; k < st->n_seen; k++)
            assert_true(st->seen[k - 1] < st->seen[k]);
        assert_int_equal(st->last_ticks, 1);
        assert_true(st->calls >= 1);
        free(st);
    }
}

static void test_stream_sink_failure_stops_calls(void **state)
{
    (void)state;
    sink_state *st = calloc(1, sizeof *st);
    assert_non_null(st);
    st->order_ok = true;
    st->fail_after = 1;
    run(st, NULL, FMD_E_IO);
    assert_int_equal(st->calls, 1);
    assert_int_equal(st->last_ticks, 1);
    free(st);
}

static void test_stream_sink_usage(void **state)
{
    (void)state;
    fmd_io_stream *s = NULL;
    fmd_io_stream_sink none = {0};
    assert_int_equal(fmd_io_stream_open_sink(&s, 1, &none, NULL), FMD_E_USAGE);
    fmd_io_stream_sink no_interval = {.write = sink_write, .tick = sink_tick};
    assert_int_equal(fmd_io_stream_open_sink(&s, 1, &no_interval, NULL), FMD_E_USAGE);
    assert_null(s);
}

/* With a group wake policy and a long linger, the put of the awaited line wakes the writer: 64
 * lines put one by one, 1 ms apart, are all written long before 64 lingers would pass. */
static void test_stream_sink_wake(void **state)
{
    (void)state;
    sink_state *st = calloc(1, sizeof *st);
    assert_non_null(st);
    st->order_ok = true;
    fmd_io_stream *s = NULL;
    fmd_io_stream_sink sink = {.write = sink_write, .userdata = st};
    fmd_io_stream_wake wake = {.group = 8, .linger_s = 5.0};
    assert_int_equal(fmd_io_stream_open_sink(&s, 64, &sink, &wake), FMD_OK);
    double t0 = fmd_clock_now();
    for (size_t i = 0; i < 64; i++) {
        char line[32];
        int len = snprintf(line, sizeof line, "line %zu\n", i);
        assert_int_equal(fmd_io_stream_put(s, i, line, (size_t)len), FMD_OK);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    /* The last group (56..63) is complete: its last put woke the writer. */
    while (atomic_load_explicit(&st->n_published, memory_order_acquire) < 64 &&
           fmd_clock_now() - t0 < 4.0) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(atomic_load_explicit(&st->n_published, memory_order_acquire), 64);
    assert_true(fmd_clock_now() - t0 < 4.0);
    assert_int_equal(fmd_io_stream_close(s, NULL), FMD_OK);
    assert_true(st->order_ok);
    free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_sink_order),
        cmocka_unit_test(test_stream_sink_failure_stops_calls),
        cmocka_unit_test(test_stream_sink_usage),
        cmocka_unit_test(test_stream_sink_wake),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
