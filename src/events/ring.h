/* ring: a bounded single-producer / single-consumer queue of
 * variable-length records in one buffer of bytes, lock-free. Each worker
 * pushes its visits into its own ring on the redirect path; the sink
 * thread drains them every few milliseconds. A record takes only the bytes
 * it needs (plus an 8-byte header, rounded up to 8), so the same memory
 * holds several times more short visits than fixed slots sized for the
 * longest one would.
 *
 * The producer reserves room, writes the record in place and commits it:
 * no lock, no allocation, no syscall, never a wait. When there is no room
 * the reservation fails at once and nothing is stored ("drops the
 * newest"): the caller counts the drop and the redirect goes on, because a
 * slow sink must never slow redirects. The consumer reads the oldest
 * record in place and then releases it. A record never wraps around the
 * end of the buffer: one that would is placed at the start, and the bytes
 * it skipped count as used until the consumer passes them. All memory is
 * allocated by ring_new.
 *
 * Threading: exactly one producer thread calls ring_reserve/ring_commit
 * and exactly one consumer thread calls ring_peek/ring_release (they may
 * be different threads, and either role may move to another thread if the
 * hand-over itself synchronises, e.g. pthread_join). ring_size_approx may
 * be called from any thread. ring_new/ring_free while no other thread uses
 * the ring. */
#ifndef LP_EVENTS_RING_H
#define LP_EVENTS_RING_H

#include <stdbool.h>
#include <stddef.h>

/* Smallest and largest buffer. A ring is a per-worker buffer of a few
 * seconds of traffic; more than this is a configuration mistake, not a
 * need. */
#define RING_BYTES_MIN ((size_t)64)
#define RING_BYTES_MAX ((size_t)1 << 30)

struct ring;

/* A ring of bytes bytes (rounded up to a power of two). NULL if bytes is
 * below RING_BYTES_MIN or above RING_BYTES_MAX, or memory runs out. */
struct ring *ring_new(size_t bytes);

/* NULL is fine. Records still queued are discarded. */
void ring_free(struct ring *r);

/* The buffer's size after rounding. Any thread. */
size_t ring_capacity(const struct ring *r);

/* The longest record: half the buffer less its header, so an empty ring
 * takes one at any position. Any thread. */
size_t ring_record_max(const struct ring *r);

/* Producer only. Room for a record of len bytes (8-byte aligned), or NULL,
 * leaving the ring unchanged, when there is no room or len is 0 or above
 * ring_record_max. The record is invisible to the consumer until
 * ring_commit; a second ring_reserve before it replaces the first. */
void *ring_reserve(struct ring *r, size_t len);

/* Producer only. Publishes the record of the last ring_reserve; nothing
 * if that returned NULL. */
void ring_commit(struct ring *r);

/* Consumer only. The oldest committed record and its length in *len, read
 * in place, or NULL when there is none. It stays valid, and is returned
 * again, until ring_release. */
const void *ring_peek(struct ring *r, size_t *len);

/* Consumer only. Frees the record the last ring_peek returned for the
 * producer; nothing if that ring_peek returned NULL. */
void ring_release(struct ring *r);

/* Bytes in use (records, headers and skipped ends), as seen at some moment
 * during the call (exact when neither side is running). Any thread; for
 * metrics and tests. */
size_t ring_size_approx(const struct ring *r);

#endif
