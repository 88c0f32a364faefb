/* cache: the in-process link cache on the redirect hot path.
 * It maps a key (domain id prefix + short code, opaque bytes) to an opaque
 * value blob (the caller's serialised link snapshot) or to a negative entry
 * ("no such link"), bounded by bytes, with a TTL per kind and CLOCK
 * (second-chance) eviction.
 *
 * Threading: every function except cache_new/cache_free may be called from
 * any thread at once. The table is split into shards by key hash, each with
 * its own rwlock: cache_get takes only the read lock (recency is a relaxed
 * atomic bit, and a hit copies into the caller's buffer without allocating),
 * so readers never wait on each other, only briefly behind a queued writer
 * on the same shard. cache_put, cache_invalidate and cache_clear take the
 * write lock of one shard at a time; cache_put allocates before locking.
 * cache_free must not race with anything.
 *
 * Lost invalidations: a worker that misses reads the database and then
 * fills. cache_get hands back the shard's generation on a miss; the writer's
 * cache_invalidate bumps it after its commit; a cache_put carrying an older
 * generation is refused, so a value read before the commit never lands after
 * the invalidation. The generation is per shard, so an invalidation also
 * refuses unrelated in-flight fills on that shard (they retry on the next
 * miss); that is the price of not tracking keys.
 *
 * Time is the caller's: now_ms is any monotonic millisecond clock
 * (clock_mono_ms), the same for every call. */
#ifndef LP_CACHE_CACHE_H
#define LP_CACHE_CACHE_H

#include <stddef.h>
#include <stdint.h>

/* Caps on what one entry may hold. Keys are a domain id and a code (≤ 80
 * bytes in practice), values a link snapshot (≤ 3.2 KB). */
#define CACHE_KEY_MAX 128
#define CACHE_VALUE_MAX 4096

/* Bytes charged per entry on top of its key and value (the budget counts
 * klen + vlen + CACHE_ENTRY_OVERHEAD):
 *   16  entry header (expiry, hash, lengths, referenced bit)
 *   16  malloc: glibc's 8-byte chunk header plus, on average, 8 bytes of
 *       rounding up to 16
 *   16  hash-table slot: 9 bytes (pointer + control byte) at a load factor
 *       kept between 1/2 and 3/4, so 12-18 bytes
 * Measured (1M-1.5M entries, 15-byte keys, 64-144-byte values, glibc
 * malloc): 44-49 bytes per entry; see the note at the top of cache.c. */
#define CACHE_ENTRY_OVERHEAD 48

struct cache;

struct cache_stats {
    uint64_t entries;   /* including expired ones not yet reclaimed */
    uint64_t bytes;     /* sum of klen + vlen + CACHE_ENTRY_OVERHEAD */
    uint64_t max_bytes; /* as given to cache_new */
    uint64_t evictions; /* live entries dropped to make room */
    uint64_t stale_fills_refused;
};

enum cache_lookup { CACHE_MISS = 0, CACHE_HIT = 1, CACHE_NEGATIVE = 2 };

/* max_bytes (> 0) bounds the sum charged by the entries. Positive entries
 * live ttl_ms (> 0), negative ones negative_ttl_ms (0: negative entries are
 * not kept). hash_seed must be secret and random (libsodium's randombytes),
 * so that keys cannot be chosen to collide. NULL on bad arguments or when
 * out of memory. */
struct cache *cache_new(size_t max_bytes, uint32_t ttl_ms, uint32_t negative_ttl_ms, uint64_t hash_seed);
void cache_free(struct cache *c);

/* On HIT copies the value into buf (if it fits in bufcap; if not, returns
 * CACHE_MISS) and sets *vlen. On NEGATIVE sets *vlen to 0. On MISS sets
 * *gen for a later cache_put. vlen and gen may be NULL. Never allocates. */
enum cache_lookup cache_get(struct cache *c, const void *key, size_t klen, uint64_t now_ms, void *buf, size_t bufcap,
                            size_t *vlen, uint64_t *gen);

/* Inserts or replaces. value == NULL && vlen == 0 means a negative entry.
 * gen is what cache_get returned on the miss that led to this fill.
 * Returns 0 stored; 1 refused (the generation moved on, the entry is bigger
 * than cache_entry_limit(), or it is negative and negative entries are off);
 * -EINVAL or -E2BIG on bad arguments (key or value too large); -ENOMEM. */
int cache_put(struct cache *c, const void *key, size_t klen, const void *value, size_t vlen, uint64_t gen,
              uint64_t now_ms);

/* Removes the key, and refuses every fill on its shard that started before.
 * Call after the change is committed. */
void cache_invalidate(struct cache *c, const void *key, size_t klen);

/* Drops every entry and refuses in-flight fills; shard by shard, so it is
 * not one atomic step across the whole cache. */
void cache_clear(struct cache *c);

void cache_stats(struct cache *c, struct cache_stats *out);

/* The largest klen + vlen + CACHE_ENTRY_OVERHEAD a put accepts: 1/8 of a
 * shard's budget, so one entry never empties a shard. */
size_t cache_entry_limit(const struct cache *c);

/* Walks every shard and checks the table invariants and the byte count.
 * O(entries); for tests and debugging. 0, or -EFAULT on the first breach. */
int cache_check(struct cache *c);

/* SipHash-2-4 of in[0..len) under the 128-bit key (k0, k1), both read
 * little-endian from the key bytes as in the reference implementation.
 * Exposed for its test vectors. */
uint64_t cache_siphash24(uint64_t k0, uint64_t k1, const void *in, size_t len);

#endif
