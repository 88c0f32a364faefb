/* Invariants:
 *
 * - head counts records ever pushed, tail records ever popped. Only the
 *   producer stores head, only the consumer stores tail. They are never
 *   reduced modulo the capacity; the slot of counter c is c & mask.
 *   Unsigned wraparound of the counters is harmless: the capacity is a
 *   power of two no larger than SIZE_MAX / 2 + 1, so head - tail and
 *   c & mask stay right across the wrap.
 * - 0 <= head - tail <= cap. Slots [tail, head) hold records the consumer
 *   has not read; the rest belong to the producer.
 * - Hand-over: the producer writes a slot, then stores head with release;
 *   the consumer loads head with acquire before reading the slot. The
 *   consumer reads slots, then stores tail with release; the producer loads
 *   tail with acquire before overwriting them. Each side's own counter is
 *   read relaxed: nobody else writes it.
 * - Each side keeps a private copy of the other's counter (tail_cache,
 *   head_cache) and reloads the shared one only when the copy says full or
 *   empty, so in steady state a push touches no cache line the consumer
 *   writes, and a pop none the producer writes.
 */
#include "events/ring.h"

#include <assert.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Keeps the producer's and the consumer's fields on different cache lines,
 * so one side's stores do not invalidate the other's line. 128, not 64:
 * Intel's adjacent-line prefetcher fetches 64-byte lines in pairs, and
 * Apple's cores have 128-byte lines. */
#define RING_CACHE_LINE 128

struct ring {
    /* Written by the producer. */
    alignas(RING_CACHE_LINE) _Atomic size_t head;
    size_t tail_cache;
    /* Written by the consumer. */
    alignas(RING_CACHE_LINE) _Atomic size_t tail;
    size_t head_cache;
    /* Set by ring_new, read-only afterwards. */
    alignas(RING_CACHE_LINE) size_t cap;
    size_t mask;
    size_t record_size;
    unsigned char *slots;
};

static inline unsigned char *slot(const struct ring *r, size_t counter)
{
    return r->slots + (counter & r->mask) * r->record_size;
}

struct ring *ring_new(size_t capacity, size_t record_size)
{
    if (capacity == 0 || record_size == 0 || capacity > RING_CAPACITY_MAX)
        return NULL;
    size_t cap = 1;
    while (cap < capacity)
        cap <<= 1;
    if (record_size > RING_BYTES_MAX / cap)
        return NULL;
    /* aligned_alloc wants a multiple of the alignment; alignas makes
     * sizeof(struct ring) one. */
    struct ring *r = aligned_alloc(RING_CACHE_LINE, sizeof(*r));
    if (r == NULL)
        return NULL;
    memset(r, 0, sizeof(*r));
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    r->cap = cap;
    r->mask = cap - 1;
    r->record_size = record_size;
    r->slots = malloc(cap * record_size);
    if (r->slots == NULL) {
        free(r);
        return NULL;
    }
    /* Fault every page in now rather than on the redirect path during the
     * first lap (calloc would not: large blocks come lazily from mmap). */
    memset(r->slots, 0, cap * record_size);
    return r;
}

void ring_free(struct ring *r)
{
    if (r == NULL)
        return;
    free(r->slots);
    free(r);
}

size_t ring_capacity(const struct ring *r)
{
    return r->cap;
}

bool ring_push(struct ring *r, const void *record)
{
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    if (head - r->tail_cache >= r->cap) {
        r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (head - r->tail_cache >= r->cap)
            return false;
    }
    memcpy(slot(r, head), record, r->record_size);
    atomic_store_explicit(&r->head, head + 1, memory_order_release);
    return true;
}

size_t ring_pop_many(struct ring *r, void *buf, size_t max)
{
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t avail = r->head_cache - tail;
    if (avail < max) {
        r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
        avail = r->head_cache - tail;
    }
    assert(avail <= r->cap);
    size_t n = avail < max ? avail : max;
    if (n == 0)
        return 0;
    /* At most two runs: up to the end of the slots, then from the start. */
    size_t first = r->cap - (tail & r->mask);
    if (first > n)
        first = n;
    memcpy(buf, slot(r, tail), first * r->record_size);
    if (n > first)
        memcpy((unsigned char *)buf + first * r->record_size, r->slots, (n - first) * r->record_size);
    atomic_store_explicit(&r->tail, tail + n, memory_order_release);
    return n;
}

size_t ring_size_approx(const struct ring *r)
{
    /* tail first, with acquire: the consumer had seen a head at least this
     * far before storing this tail, so the head read next is not behind
     * it. The consumer may move on in between, hence the clamp. */
    size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    size_t n = head - tail;
    return n > r->cap ? r->cap : n;
}
