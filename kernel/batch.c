/* SPDX-License-Identifier: MIT */
/* The batch loop: one OpenMP parallel region per batch. Pages go largest first (LPT) from one
 * queue per NUMA part, in chunks sized by bytes; a thread whose part is empty steals from the
 * others. Each thread renders into arenas it created (and so first touched) itself, and page i
 * writes only results[i]. No I/O: a sink callback lets the caller write each page as it is done. */
#include <omp.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

#include "internal.h"

/*** Layout ***/

/* One thread's state, alone on its cache lines so that threads never share one. */
typedef struct thread_slot {
    alignas(64) fmd_arena *out; /* results' bytes: HTML and metadata */
    fmd_arena *scratch;         /* per-page temporaries, rewound after every page */
    fmd_status st;              /* FMD_E_NOMEM if its arenas could not be made */
    fmd_thread_stats stats;
} thread_slot;

/* One queue: the pages of one NUMA part in LPT order, and the next position to hand out.
 * The counter is the only word threads write together, so it has a cache line of its own.
 * prefix[k] is the bytes of order[0..k): a chunk's end is found by bytes, not by count. */
typedef struct part_queue {
    alignas(64) atomic_size_t next;
    size_t *order;  /* page indexes, largest first */
    size_t *prefix; /* len + 1 entries */
    size_t len;
} part_queue;

/* Output arenas grow in chunks of this size: big enough that a typical page's HTML grows in
 * place, small enough that a thread with few pages does not hold much. */
#define OUT_CHUNK ((size_t)1 << 20)
/* A chunk takes about 1/GUIDE of the bytes still queued per thread (guided by bytes, not pages):
 * large pages go one at a time, the tail of small pages in runs that shrink toward the end. */
#define GUIDE 4
/* ...but no chunk is smaller than this, so tiny pages do not cost one atomic operation each. */
#define MIN_CHUNK_BYTES ((size_t)4096)

struct fmd_kernel_batch {
    int nthreads;
    thread_slot *slots; /* nthreads entries, 64-byte aligned, in ctl */
    fmd_arena *ctl;     /* slots (for the batch's life) */
    fmd_arena *run;     /* queues of one run, reset at the next */
};

fmd_status fmd_kernel_batch_create(fmd_kernel_batch **out, int nthreads)
{
    *out = NULL;
    if (nthreads < 1)
        return FMD_E_USAGE;
    fmd_arena *ctl = NULL;
    if (fmd_arena_create(&ctl, 0) != FMD_OK)
        return FMD_E_NOMEM;
    fmd_kernel_batch *b = fmd_arena_alloc(ctl, sizeof *b);
    /* Arena chunks start on a cache line; pad the allocation so the slots can too. */
    char *raw = fmd_arena_alloc(ctl, sizeof(thread_slot) * (size_t)nthreads + 64);
    if (b == NULL || raw == NULL || fmd_arena_create(&b->run, 0) != FMD_OK) {
        fmd_arena_destroy(ctl);
        return FMD_E_NOMEM;
    }
    b->ctl = ctl;
    b->nthreads = nthreads;
    b->slots = (thread_slot *)(void *)(raw + (64 - (uintptr_t)raw % 64) % 64);
    for (int t = 0; t < nthreads; t++)
        b->slots[t] = (thread_slot){0};
    *out = b;
    return FMD_OK;
}

void fmd_kernel_batch_destroy(fmd_kernel_batch *b)
{
    if (b == NULL)
        return;
    for (int t = 0; t < b->nthreads; t++) {
        fmd_arena_destroy(b->slots[t].out);
        fmd_arena_destroy(b->slots[t].scratch);
    }
    fmd_arena_destroy(b->run);
    fmd_arena_destroy(b->ctl); /* holds b itself: last */
}

int fmd_kernel_batch_threads(const fmd_kernel_batch *b)
{
    return b->nthreads;
}

/*** Queues ***/

/* Size class of a page: floor(log2(len)), so pages within a factor of two share a class. */
static unsigned size_class(size_t len)
{
    return len ? (unsigned)(sizeof(size_t) * 8 - 1) - (unsigned)__builtin_clzl(len) : 0;
}

/* Largest size class first (LPT at a factor-of-two granularity), and input order within a class,
 * so the order is the same on every run and neighbouring pages, which tend to be alike, stay
 * together: an exact largest-first sort scatters them and costs the parser its cache and branch
 * history (15% more time on one thread over the corpus, measured with bench --kernel-only). */
static int before(const fmd_page_ref *pages, size_t a, size_t b)
{
    unsigned ca = size_class(pages[a].len), cb = size_class(pages[b].len);
    return ca > cb || (ca == cb && a < b);
}

static void sift_down(size_t *v, size_t parent, size_t size, const fmd_page_ref *pages)
{
    size_t child;
    while ((child = 2 * parent + 1) < size) {
        /* A max-heap on "comes later", so that the sorted array ends up in `before` order. */
        if (child + 1 < size && before(pages, v[child], v[child + 1]))
            child++;
        if (!before(pages, v[parent], v[child]))
            return;
        size_t tmp = v[parent];
        v[parent] = v[child];
        v[child] = tmp;
        parent = child;
    }
}

/* Heap sort: in place, O(n log n) worst case, no comparator state to pass through qsort. */
static void sort_lpt(size_t *v, size_t n, const fmd_page_ref *pages)
{
    for (size_t i = n / 2; i-- > 0;)
        sift_down(v, i, n, pages);
    for (size_t size = n; size > 1; size--) {
        size_t tmp = v[0];
        v[0] = v[size - 1];
        v[size - 1] = tmp;
        sift_down(v, 0, size - 1, pages);
    }
}

static fmd_status make_queues(fmd_kernel_batch *b, const fmd_batch_run *run, part_queue **out,
                              size_t *n_out)
{
    size_t n_parts = run->n_parts > 1 ? run->n_parts : 1;
    part_queue *q = fmd_arena_alloc(b->run, sizeof *q * n_parts + 64);
    if (q == NULL)
        return FMD_E_NOMEM;
    q = (part_queue *)(void *)((char *)q + (64 - (uintptr_t)q % 64) % 64);
    for (size_t k = 0; k < n_parts; k++) {
        size_t first = n_parts > 1 ? run->part_first[k] : 0;
        size_t last = n_parts > 1 ? run->part_first[k + 1] : run->n;
        if (first > last || last > run->n)
            return FMD_E_USAGE;
        part_queue *p = &q[k];
        atomic_init(&p->next, 0);
        p->len = last - first;
        p->order = fmd_arena_alloc(b->run, sizeof(size_t) * p->len);
        p->prefix = fmd_arena_alloc(b->run, sizeof(size_t) * (p->len + 1));
        if (p->order == NULL || p->prefix == NULL)
            return FMD_E_NOMEM;
        for (size_t i = 0; i < p->len; i++)
            p->order[i] = first + i;
        if (run->schedule == FMD_SCHED_LPT)
            sort_lpt(p->order, p->len, run->pages);
        p->prefix[0] = 0;
        for (size_t i = 0; i < p->len; i++)
            p->prefix[i + 1] = p->prefix[i] + run->pages[p->order[i]].len;
    }
    *out = q;
    *n_out = n_parts;
    return FMD_OK;
}

/* Claim the next chunk [*lo, *hi) of queue q: about 1/GUIDE of the bytes still queued per thread,
 * at least one page. Returns 0 when the queue is empty. Lock-free: a compare-and-swap on q->next.
 */
static int claim(part_queue *q, int nthreads, size_t *lo, size_t *hi)
{
    size_t k = atomic_load_explicit(&q->next, memory_order_relaxed);
    for (;;) {
        if (k >= q->len)
            return 0;
        size_t left = q->prefix[q->len] - q->prefix[k];
        size_t want = left / ((size_t)nthreads * GUIDE);
        if (want < MIN_CHUNK_BYTES)
            want = MIN_CHUNK_BYTES;
        /* The first j > k with prefix[j] - prefix[k] >= want (binary search; at least k + 1). */
        size_t a = k + 1, z = q->len;
        while (a < z) {
            size_t mid = a + (z - a) / 2;
            if (q->prefix[mid] - q->prefix[k] >= want)
                z = mid;
            else
                a = mid + 1;
        }
        if (atomic_compare_exchange_weak_explicit(&q->next, &k, a, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            *lo = k;
            *hi = a;
            return 1;
        }
        /* k now holds the current value: try again from there. */
    }
}

/*** The loop ***/

static void no_render(fmd_result *res, const fmd_page_ref *ref, fmd_status st)
{
    static const fmd_result empty = {0};
    *res = empty;
    res->status = st;
    res->bytes_in = ref->len;
}

/* Render (or fail) page i on this thread and hand it to the sink. */
static void do_page(const fmd_batch_run *run, size_t i, int t, thread_slot *me)
{
    const fmd_page_ref *ref = &run->pages[i];
    fmd_result *res = &run->results[i];
    double t0 = omp_get_wtime();
    fmd_arena_mark mark = fmd_arena_get_mark(me->out);
    if (run->cancel != NULL && atomic_load_explicit(run->cancel, memory_order_relaxed)) {
        no_render(res, ref, FMD_E_CANCELLED);
        return; /* cancelled pages do not reach the sink */
    }
    if (run->sink != NULL && run->sink->begin != NULL)
        run->sink->begin(i, t, run->sink->userdata);
    if (ref->load_status != FMD_OK)
        no_render(res, ref, ref->load_status);
    else if (me->st != FMD_OK)
        no_render(res, ref, me->st);
    else
        fmd_kernel_page_render(run->base + ref->offset, ref->len, run->opt, me->out, me->scratch,
                               res);
    res->render_s = omp_get_wtime() - t0;
    if (run->sink != NULL && run->sink->fn != NULL) {
        double wait = 0;
        fmd_status st = run->sink->fn(i, t, res, &wait, run->sink->userdata);
        if (st != FMD_OK && res->status == FMD_OK)
            res->status = st;
        me->stats.wait_s += wait;
        if (run->sink->release && me->out != NULL) {
            fmd_arena_rewind(me->out, mark);
            res->html = (fmd_slice){NULL, 0};
            res->title = res->frontmatter = res->err_message = (fmd_slice){NULL, 0};
            res->headings = NULL;
            res->warnings = NULL;
        }
    }
    me->stats.busy_s += omp_get_wtime() - t0;
    me->stats.pages++;
    me->stats.bytes_in += ref->len;
}

static void thread_start(thread_slot *me)
{
    me->st = FMD_OK;
    me->stats = (fmd_thread_stats){0};
    /* Created here, by the thread that fills them, so first touch places them on its node. */
    if (me->out == NULL && fmd_arena_create(&me->out, OUT_CHUNK) != FMD_OK)
        me->st = FMD_E_NOMEM;
    if (me->scratch == NULL && fmd_arena_create(&me->scratch, 0) != FMD_OK)
        me->st = FMD_E_NOMEM;
    if (me->out != NULL)
        fmd_arena_reset(me->out);
    if (me->scratch != NULL)
        fmd_arena_reset(me->scratch);
}

fmd_status fmd_kernel_batch_run(fmd_kernel_batch *b, const fmd_batch_run *run)
{
    if (run == NULL || run->opt == NULL ||
        (run->n != 0 && (run->pages == NULL || run->results == NULL)))
        return FMD_E_USAGE;
    if (run->n_parts > 1 && (run->part_first == NULL || run->thread_part == NULL))
        return FMD_E_USAGE;
    fmd_arena_reset(b->run);
    part_queue *queues = NULL;
    size_t n_parts = 1;
    fmd_status st = make_queues(b, run, &queues, &n_parts);
    if (st != FMD_OK)
        return st;

    int nthreads = b->nthreads;
    if (run->max_threads > 0 && run->max_threads < nthreads)
        nthreads = run->max_threads;
    thread_slot *slots = b->slots;
    const fmd_thread_hook *hook = run->hook;
    size_t n = run->n;

    if (run->schedule == FMD_SCHED_DYNAMIC) {
        /* The naive baseline: input order, one page at a time, OpenMP's own dynamic schedule. */
#pragma omp parallel num_threads(nthreads) default(none) shared(slots, hook, run, n, nthreads)
        {
            int t = omp_get_thread_num();
            if (hook != NULL && hook->fn != NULL)
                hook->fn(t, nthreads, hook->userdata);
            thread_start(&slots[t]);
#pragma omp for schedule(dynamic, 1)
            for (size_t i = 0; i < n; i++)
                do_page(run, i, t, &slots[t]);
        }
    } else {
#pragma omp parallel num_threads(nthreads) default(none)                                           \
    shared(slots, hook, run, queues, n_parts, nthreads)
        {
            int t = omp_get_thread_num();
            if (hook != NULL && hook->fn != NULL)
                hook->fn(t, nthreads, hook->userdata);
            thread_slot *me = &slots[t];
            thread_start(me);
            /* Own part first, then steal from the next parts in turn. */
            size_t home = n_parts > 1 ? (size_t)run->thread_part[t] % n_parts : 0;
            for (size_t step = 0; step < n_parts; step++) {
                part_queue *q = &queues[(home + step) % n_parts];
                size_t lo, hi;
                while (claim(q, nthreads, &lo, &hi))
                    for (size_t k = lo; k < hi; k++)
                        do_page(run, q->order[k], t, me);
            }
        }
    }

    if (run->stats != NULL)
        for (int t = 0; t < nthreads; t++)
            run->stats[t] = slots[t].stats;
    return FMD_OK; /* a thread without arenas failed its pages with FMD_E_NOMEM: data, not a fault
                    */
}
