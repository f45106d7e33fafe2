/* SPDX-License-Identifier: MIT */
/* Unit tests of the flags serve owns (fmd_serve_options.h): the defaults, each flag's value and
 * limits, the alerts, and the message of every kind of bad value. */
#define _XOPEN_SOURCE 700 /* mkdtemp */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fmd_serve_options.h"

static char msg[512];

static fmd_status apply(fmd_serve_cfg *cfg, const char *name, const char *value)
{
    msg[0] = '\0';
    return fmd_serve_option_apply(cfg, name, value, msg, sizeof msg);
}

static void test_options_defaults(void **state)
{
    (void)state;
    fmd_serve_cfg cfg;
    memset(&cfg, 0x5a, sizeof cfg);
    fmd_serve_cfg_default(&cfg);
    assert_string_equal(cfg.root_path, ".");
    assert_int_equal(cfg.lanes, 2);
    assert_int_equal(cfg.max_queued, 256);
    assert_int_equal(cfg.cache_bytes, (size_t)256 << 20);
    assert_true(cfg.metrics_s == 10);
    assert_int_equal(cfg.trace_fd, -1);
    assert_int_equal(cfg.in_fd, STDIN_FILENO);
    assert_int_equal(cfg.out_fd, STDOUT_FILENO);
    assert_int_equal(cfg.max_line, 0);
    assert_int_equal(cfg.max_memory, 0);
    assert_null(cfg.metrics_path);
    for (int a = 0; a < FMD_SERVE_ALERT_COUNT; a++)
        assert_true(cfg.alerts[a] == 0);
}

static void test_options_values(void **state)
{
    (void)state;
    fmd_serve_cfg cfg;
    fmd_serve_cfg_default(&cfg);
    assert_int_equal(apply(&cfg, "lanes", "7"), FMD_OK);
    assert_int_equal(cfg.lanes, 7);
    assert_int_equal(apply(&cfg, "max-queued", "1048576"), FMD_OK);
    assert_int_equal(cfg.max_queued, 1u << 20);
    assert_int_equal(apply(&cfg, "stall-seconds", "5"), FMD_OK);
    assert_true(cfg.stall_s == 5);
    assert_int_equal(apply(&cfg, "metrics-interval", "86400"), FMD_OK);
    assert_true(cfg.metrics_s == 86400);
    assert_int_equal(apply(&cfg, "max-line-bytes", "4K"), FMD_OK);
    assert_int_equal(cfg.max_line, 4096);
    assert_int_equal(apply(&cfg, "max-memory", "1G"), FMD_OK);
    assert_int_equal(cfg.max_memory, (size_t)1 << 30);
    assert_int_equal(apply(&cfg, "cache-bytes", "0"), FMD_OK); /* 0 turns the cache off */
    assert_int_equal(cfg.cache_bytes, 0);
    assert_int_equal(apply(&cfg, "cache-dir-bytes", "2M"), FMD_OK);
    assert_int_equal(cfg.cache_dir_bytes, (size_t)2 << 20);
    assert_int_equal(apply(&cfg, "cache-dir", "/var/cache/fastmd"), FMD_OK);
    assert_string_equal(cfg.cache_dir, "/var/cache/fastmd");
    assert_int_equal(apply(&cfg, "warm", "site.ndjson"), FMD_OK);
    assert_string_equal(cfg.warm_path, "site.ndjson");
    assert_int_equal(apply(&cfg, "root", "/srv/docs"), FMD_OK);
    assert_string_equal(cfg.root_path, "/srv/docs");
    assert_int_equal(apply(&cfg, "metrics-file", "m.prom"), FMD_OK);
    assert_string_equal(cfg.metrics_path, "m.prom");
    assert_int_equal(apply(&cfg, "alert", "queue=10"), FMD_OK);
    assert_int_equal(apply(&cfg, "alert", "memory=64M"), FMD_OK);
    assert_int_equal(apply(&cfg, "alert", "failureRate=0.5"), FMD_OK);
    assert_true(cfg.alerts[FMD_SERVE_ALERT_QUEUE] == 10);
    assert_true(cfg.alerts[FMD_SERVE_ALERT_MEMORY] == (double)(64 << 20));
    assert_true(cfg.alerts[FMD_SERVE_ALERT_FAILURE_RATE] == 0.5);
    assert_true(cfg.alerts[FMD_SERVE_ALERT_P99_MS] == 0); /* others stay off */
}

/* @p name = @p value is refused with exactly @p want, and leaves @p cfg as it was. */
static void check_bad(const char *name, const char *value, const char *want)
{
    fmd_serve_cfg cfg, before;
    fmd_serve_cfg_default(&cfg);
    before = cfg;
    assert_int_equal(apply(&cfg, name, value), FMD_E_USAGE);
    assert_string_equal(msg, want);
    assert_memory_equal(&cfg, &before, sizeof cfg);
}

static void test_options_bad_values(void **state)
{
    (void)state;
    check_bad("lanes", "0", "--lanes must be a whole number from 1 to 256, not '0'");
    check_bad("lanes", "257", "--lanes must be a whole number from 1 to 256, not '257'");
    check_bad("max-queued", "-1",
              "--max-queued must be a whole number from 1 to 1048576, not '-1'");
    check_bad("stall-seconds", "1.5",
              "--stall-seconds must be a whole number from 1 to 86400, not '1.5'");
    check_bad("metrics-interval", "",
              "--metrics-interval must be a whole number from 1 to 86400, "
              "not ''");
    check_bad("max-line-bytes", "0", "--max-line-bytes: '0' is not a size");
    check_bad("max-memory", "12Q", "--max-memory: '12Q' is not a size");
    check_bad("cache-bytes", "lots", "--cache-bytes: 'lots' is not a size");
    check_bad("cache-dir-bytes", "0", "--cache-dir-bytes: '0' is not a size");
    check_bad("alert", "queue",
              "--alert 'queue': expected NAME=VALUE, NAME one of queue, p99Ms, "
              "failureRate, memory, stallSeconds");
    check_bad("alert", "disk=1",
              "--alert 'disk=1': expected NAME=VALUE, NAME one of queue, "
              "p99Ms, failureRate, memory, stallSeconds");
    check_bad("alert", "failureRate=2",
              "--alert failureRate=2: the value must be a number above 0 and at most 1");
    check_bad("alert", "p99Ms=0", "--alert p99Ms=0: the value must be a number above 0");
    check_bad("alert", "queue=", "--alert queue=: the value must be a number above 0");
    check_bad("metrics-file", "-",
              "--metrics-file -: standard output carries the JSON-RPC answers; name a file");
    check_bad("threads", "2", "--threads is not an option of serve");
}

static void test_options_metrics_fifo(void **state)
{
    (void)state;
    char dir[] = "/tmp/fmd-serve-opt-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char fifo[64], want[256];
    snprintf(fifo, sizeof fifo, "%s/m.fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    snprintf(want, sizeof want,
             "--metrics-file %s is a FIFO: each rewrite would wait for a new reader; name a "
             "regular file or a device",
             fifo);
    check_bad("metrics-file", fifo, want);
    assert_int_equal(unlink(fifo), 0);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_defaults),
        cmocka_unit_test(test_options_values),
        cmocka_unit_test(test_options_bad_values),
        cmocka_unit_test(test_options_metrics_fifo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
