/* SPDX-License-Identifier: MIT */
/* Allocation failure on demand, for one test executable linked with
 * -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=aligned_alloc, plus -Wl,--wrap=realloc when
 * FMD_FAULT_WRAP_REALLOC is defined before this header. Include it in one source file of the
 * executable only: it defines the wrappers.
 *
 * Set fail_alloc to k (atomic_store) to make the k-th allocation from now fail; 0 means none. It
 * drops back to 0 when the failure has happened, so `atomic_load(&fail_alloc) == 0` after a call
 * tells whether the call reached the k-th allocation. */
#ifndef FMD_TEST_FAULT_ALLOC_H
#define FMD_TEST_FAULT_ALLOC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

static atomic_int fail_alloc;

/* True for the allocation that must fail. */
static bool trip(void)
{
    int v = atomic_load(&fail_alloc);
    return v > 0 && atomic_fetch_sub(&fail_alloc, 1) == 1;
}

void *__real_malloc(size_t n);
void *__wrap_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__real_aligned_alloc(size_t align, size_t n);
void *__wrap_aligned_alloc(size_t align, size_t n);

void *__wrap_malloc(size_t n)
{
    return trip() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return trip() ? NULL : __real_calloc(n, size);
}

void *__wrap_aligned_alloc(size_t align, size_t n)
{
    return trip() ? NULL : __real_aligned_alloc(align, n);
}

#ifdef FMD_FAULT_WRAP_REALLOC
void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);

void *__wrap_realloc(void *p, size_t n)
{
    return trip() ? NULL : __real_realloc(p, n);
}
#endif

#endif
