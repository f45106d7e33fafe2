/* SPDX-License-Identifier: MIT */
/* The supervisor's and the worker's shared region (fmd_guard.h): an anonymous MAP_SHARED
 * mapping, slots published with release stores, verdicts kept by the supervisor. It never
 * forks, waits or prints: that is cli/'s. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "fmd_guard.h"

static size_t region_bytes(int n_slots)
{
    return sizeof(fmd_guard) + (size_t)n_slots * sizeof(fmd_guard_slot);
}

fmd_status fmd_guard_create(int n_slots, fmd_guard **out)
{
    *out = NULL;
    if (n_slots < 1)
        return FMD_E_USAGE;
    /* Anonymous memory is zeroed; pages are only touched as slots are used. */
    void *p = mmap(NULL, region_bytes(n_slots), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return FMD_E_NOMEM;
    fmd_guard *g = p;
    g->n_slots = n_slots;
    *out = g;
    return FMD_OK;
}

void fmd_guard_destroy(fmd_guard *g)
{
    if (g != NULL)
        munmap(g, region_bytes(g->n_slots));
}

int64_t fmd_guard_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void fmd_guard_begin(fmd_guard *g, int thread, size_t page, const char *path)
{
    if (thread < 0 || thread >= g->n_slots)
        return;
    fmd_guard_slot *s = &g->slots[thread];
    size_t len = strlen(path);
    if (len >= FMD_GUARD_PATH_MAX)
        len = FMD_GUARD_PATH_MAX - 1;
    memcpy(s->path, path, len);
    s->path[len] = '\0';
    atomic_store_explicit(&s->start_ns, fmd_guard_now_ns(), memory_order_relaxed);
    atomic_store_explicit(&s->page, (uint64_t)page + 1, memory_order_release);
}

void fmd_guard_end(fmd_guard *g, int thread)
{
    if (thread >= 0 && thread < g->n_slots)
        atomic_store_explicit(&g->slots[thread].page, 0, memory_order_release);
}

const fmd_guard_page *fmd_guard_find(const fmd_guard *g, const char *path)
{
    for (size_t i = 0; i < g->n_pages; i++)
        if (strncmp(g->pages[i].path, path, FMD_GUARD_PATH_MAX - 1) == 0)
            return &g->pages[i];
    return NULL;
}

fmd_status fmd_guard_note(fmd_guard *g, const char *path, fmd_guard_verdict verdict)
{
    fmd_guard_page *p = (fmd_guard_page *)fmd_guard_find(g, path);
    if (p == NULL) {
        if (g->n_pages == FMD_GUARD_MAX_PAGES)
            return FMD_E_NOMEM;
        p = &g->pages[g->n_pages++];
        memset(p, 0, sizeof *p);
        strncpy(p->path, path, FMD_GUARD_PATH_MAX - 1);
    }
    if (verdict == FMD_GUARD_TIMEOUT) {
        p->verdict = FMD_GUARD_TIMEOUT;
        return FMD_OK;
    }
    p->deaths++;
    p->verdict = p->deaths >= 2 ? FMD_GUARD_CRASHED : FMD_GUARD_SUSPECT;
    return FMD_OK;
}

bool fmd_guard_has_suspects(const fmd_guard *g)
{
    for (size_t i = 0; i < g->n_pages; i++)
        if (g->pages[i].verdict == FMD_GUARD_SUSPECT)
            return true;
    return false;
}

void fmd_guard_clear_suspects(fmd_guard *g)
{
    for (size_t i = 0; i < g->n_pages; i++)
        if (g->pages[i].verdict == FMD_GUARD_SUSPECT)
            g->pages[i].verdict = FMD_GUARD_CLEARED;
}

void fmd_guard_reset_slots(fmd_guard *g)
{
    for (int t = 0; t < g->n_slots; t++)
        atomic_store_explicit(&g->slots[t].page, 0, memory_order_relaxed);
}
