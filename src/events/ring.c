/* Invariants:
 *
 * - head counts bytes ever committed, tail bytes ever released. Only the
 *   producer stores head, only the consumer stores tail. They are never
 *   reduced modulo the capacity; the offset of counter c is c & mask.
 *   Unsigned wraparound of the counters is harmless: the capacity is a
 *   power of two no larger than SIZE_MAX / 2 + 1, so head - tail and
 *   c & mask stay right across the wrap.
 * - 0 <= head - tail <= cap. Bytes [tail, head) hold records the consumer
 *   has not released; the rest belong to the producer.
 * - Every record starts at a multiple of 8 with an 8-byte header whose
 *   first 4 bytes are its length; it takes HDR + round8(len) bytes and
 *   never runs past the end of the buffer. When it would, the producer
 *   writes RING_SKIP where its header would have gone and puts it at
 *   offset 0; head moves past both in one store, so the consumer never
 *   sees a skip without the record after it. Since offsets are multiples
 *   of 8, at least 8 bytes are left before the end: a skip always fits.
 * - A record of at most ring_record_max bytes takes at most cap / 2, so an
 *   empty ring takes it at any offset, skip included.
 * - Hand-over: the producer writes a record, then stores head with
 *   release; the consumer loads head with acquire before reading it. The
 *   consumer reads a record, then stores tail with release; the producer
 *   loads tail with acquire before overwriting those bytes. Each side's own
 *   counter is read relaxed: nobody else writes it.
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
#define HDR ((size_t)8)
#define RING_SKIP UINT32_MAX

struct ring {
    /* Written by the producer. */
    alignas(RING_CACHE_LINE) _Atomic size_t head;
    size_t tail_cache;
    size_t pending; /* head once the reserved record is committed (head itself if none is) */
    /* Written by the consumer. */
    alignas(RING_CACHE_LINE) _Atomic size_t tail;
    size_t head_cache;
    size_t next_tail; /* tail once the peeked record is released (tail itself if none is) */
    /* Set by ring_new, read-only afterwards. */
    alignas(RING_CACHE_LINE) size_t cap;
    size_t mask;
    unsigned char *buf;
};

static inline size_t round8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

static inline void put_u32(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, sizeof(v));
}

static inline uint32_t get_u32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

struct ring *ring_new(size_t bytes)
{
    if (bytes < RING_BYTES_MIN || bytes > RING_BYTES_MAX)
        return NULL;
    size_t cap = RING_BYTES_MIN;
    while (cap < bytes)
        cap <<= 1;
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
    r->buf = malloc(cap);
    if (r->buf == NULL) {
        free(r);
        return NULL;
    }
    /* Fault every page in now rather than on the redirect path during the
     * first lap (calloc would not: large blocks come lazily from mmap). */
    memset(r->buf, 0, cap);
    return r;
}

void ring_free(struct ring *r)
{
    if (r == NULL)
        return;
    free(r->buf);
    free(r);
}

size_t ring_capacity(const struct ring *r)
{
    return r->cap;
}

size_t ring_record_max(const struct ring *r)
{
    return r->cap / 2 - HDR;
}

void *ring_reserve(struct ring *r, size_t len)
{
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    r->pending = head;
    if (len == 0 || len > ring_record_max(r))
        return NULL;
    size_t pos = head & r->mask;
    size_t need = HDR + round8(len);
    size_t skip = r->cap - pos < need ? r->cap - pos : 0;
    if (head - r->tail_cache + skip + need > r->cap) {
        r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (head - r->tail_cache + skip + need > r->cap)
            return NULL;
    }
    if (skip != 0) {
        put_u32(r->buf + pos, RING_SKIP);
        pos = 0;
    }
    put_u32(r->buf + pos, (uint32_t)len);
    r->pending = head + skip + need;
    return r->buf + pos + HDR;
}

void ring_commit(struct ring *r)
{
    atomic_store_explicit(&r->head, r->pending, memory_order_release);
}

const void *ring_peek(struct ring *r, size_t *len)
{
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    r->next_tail = tail;
    if (tail == r->head_cache) {
        r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
        if (tail == r->head_cache)
            return NULL;
    }
    assert(r->head_cache - tail <= r->cap);
    size_t pos = tail & r->mask;
    uint32_t n = get_u32(r->buf + pos);
    if (n == RING_SKIP) {
        tail += r->cap - pos;
        pos = 0;
        n = get_u32(r->buf);
    }
    assert(n > 0 && n <= ring_record_max(r));
    r->next_tail = tail + HDR + round8(n);
    *len = n;
    return r->buf + pos + HDR;
}

void ring_release(struct ring *r)
{
    atomic_store_explicit(&r->tail, r->next_tail, memory_order_release);
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
