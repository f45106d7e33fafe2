/* SPDX-License-Identifier: MIT */
/* The fixture the renderer's unit tests share (test_render, test_footnotes, test_smart): an output
 * and a scratch arena per test, and the last render's metadata, status and length. Include after
 * cmocka.h and internal.h. */
#ifndef FMD_TEST_RENDER_ENV_H
#define FMD_TEST_RENDER_ENV_H

#include <stdlib.h>

typedef struct env {
    fmd_arena *out;
    fmd_arena *scratch;
    fmd__render_meta meta;
    fmd_status st;
    size_t len; /* bytes of HTML, without the NUL a helper may add */
} env;

static int env_setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    if (e == NULL || fmd_arena_create(&e->out, 0) != FMD_OK ||
        fmd_arena_create(&e->scratch, 0) != FMD_OK)
        return -1;
    *state = e;
    return 0;
}

static int env_teardown(void **state)
{
    env *e = *state;
    fmd_arena_destroy(e->out);
    fmd_arena_destroy(e->scratch);
    free(e);
    return 0;
}

#endif
