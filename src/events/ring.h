/* ring: a bounded single-producer / single-consumer queue of fixed-size
 * records, lock-free. Each worker pushes its visits into its own ring on
 * the redirect path; the sink thread drains them every few milliseconds.
 *
 * A push is a memcpy and two atomic operations: no lock, no allocation, no
 * syscall, never a wait. When the ring is full the push fails at once and
 * the record is not stored ("drops the newest"): the caller counts the drop
 * and the redirect goes on, because a slow sink must never slow redirects.
 * All memory is allocated by ring_new.
 *
 * Threading: exactly one producer thread calls ring_push and exactly one
 * consumer thread calls ring_pop_many (they may be different threads, and
 * either role may move to another thread if the hand-over itself
 * synchronises, e.g. pthread_join). ring_size_approx may be called from any
 * thread. ring_new/ring_free while no other thread uses the ring. */
#ifndef LP_EVENTS_RING_H
#define LP_EVENTS_RING_H

#include <stdbool.h>
#include <stddef.h>

/* Largest capacity, in records, and largest total size of the records.
 * A ring is a per-worker buffer of a few seconds of traffic; more than
 * this is a configuration mistake, not a need. */
#define RING_CAPACITY_MAX ((size_t)1 << 24)
#define RING_BYTES_MAX ((size_t)1 << 30)

struct ring;

/* capacity records (rounded up to a power of two) of record_size bytes
 * each. NULL if capacity or record_size is 0, the ring would exceed
 * RING_CAPACITY_MAX or RING_BYTES_MAX, or memory runs out. */
struct ring *ring_new(size_t capacity, size_t record_size);

/* NULL is fine. Records still queued are discarded. */
void ring_free(struct ring *r);

/* The capacity after rounding. Any thread. */
size_t ring_capacity(const struct ring *r);

/* Producer only. Copies record_size bytes from record; false, leaving the
 * ring unchanged, when it is full. */
bool ring_push(struct ring *r, const void *record);

/* Consumer only. Copies up to max records, oldest first, into buf (room
 * for max * record_size bytes); returns how many. */
size_t ring_pop_many(struct ring *r, void *buf, size_t max);

/* Records queued, as seen at some moment during the call (exact when
 * neither side is running). Any thread; for metrics and tests. */
size_t ring_size_approx(const struct ring *r);

#endif
