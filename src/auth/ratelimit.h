/* ratelimit: token-bucket rate limits (login/signup/refresh per client
 * address, API calls per key or user, unknown short codes per address).
 *
 * A bucket holds up to `capacity` tokens, starts full, refills continuously
 * at refill_per_minute and each allowed call takes one token. Capacity and
 * rate come with every call, so routes with different limits share one
 * limiter under different keys (a scope prefix such as "auth:" followed by
 * the 16-byte address); if a key's capacity shrinks between calls its tokens
 * are clamped to the new capacity.
 *
 * struct ratelimiter is an interface: the in-memory limiter here counts per
 * process; a Redis-backed one (many nodes sharing their counts) will sit
 * behind the same ops. Callers fail open when take returns an error: a
 * broken limiter must not lock every user out.
 *
 * The in-memory limiter tracks at most max_keys buckets. When full it drops
 * the least recently used bucket of the shard it needs a slot in; a key
 * whose bucket was dropped starts full again, so eviction can only be
 * generous, never lock anyone out. Size max_keys above the number of
 * clients active within a refill period, or clients that cycle through
 * many keys (addresses) will push others' buckets out.
 *
 * Threading: take and ratelimit_memory_tracked may be called from any
 * thread at once. Buckets are split into shards by key hash, each behind
 * its own mutex, held only to find and update one bucket: no allocation,
 * no system call under it (all buckets are allocated up front). new and
 * free must not race with anything. Hashing uses libsodium's SipHash;
 * callers have called sodium_init().
 *
 * Time is the caller's: now_ms is a monotonic millisecond clock
 * (clock_mono_ms). A bucket's clock never moves backwards: a call with an
 * earlier now_ms than the bucket has seen (threads racing between reading
 * the clock and taking the lock) refills nothing. */
#ifndef LP_AUTH_RATELIMIT_H
#define LP_AUTH_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Keys are opaque bytes, 1 to RATELIMIT_KEY_MAX of them. */
#define RATELIMIT_KEY_MAX 64
/* Upper bound on max_keys: about 120 bytes each, so this is ~2 GB. */
#define RATELIMIT_KEYS_MAX (1u << 24)

struct ratelimit_result {
    bool allowed;
    uint32_t limit;         /* the capacity */
    uint32_t remaining;     /* whole tokens left after this call */
    uint32_t reset_s;       /* seconds until the bucket is full again (rounded up) */
    uint32_t retry_after_s; /* when !allowed: seconds until one token is available (>= 1); else 0 */
};

struct ratelimiter;

struct ratelimiter_ops {
    /* Takes one token from key's bucket if there is one; fills *out either
     * way. 0, or a negative errno: -EINVAL for an empty key or capacity 0,
     * -E2BIG for a key longer than RATELIMIT_KEY_MAX; implementations that
     * talk to a server add their own (-EIO, -ETIMEDOUT). With
     * refill_per_minute 0 a spent bucket never refills: reset_s and
     * retry_after_s are then UINT32_MAX. */
    int (*take)(struct ratelimiter *rl, const void *key, size_t klen, uint32_t capacity, uint32_t refill_per_minute,
                uint64_t now_ms, struct ratelimit_result *out);
    void (*free)(struct ratelimiter *rl);
};

/* Implementations embed this as their first member. */
struct ratelimiter {
    const struct ratelimiter_ops *ops;
};

static inline int ratelimit_take(struct ratelimiter *rl, const void *key, size_t klen, uint32_t capacity,
                                 uint32_t refill_per_minute, uint64_t now_ms, struct ratelimit_result *out)
{
    return rl->ops->take(rl, key, klen, capacity, refill_per_minute, now_ms, out);
}

/* Any implementation; NULL is fine. */
void ratelimit_free(struct ratelimiter *rl);

/* The in-memory limiter. max_keys from 1 to RATELIMIT_KEYS_MAX; hash_seed
 * must be secret and random (randombytes), so that keys cannot be chosen to
 * land in one shard and evict each other. NULL on bad arguments or when out
 * of memory. Memory is reserved up front but only touched as keys arrive. */
struct ratelimiter *ratelimit_memory_new(size_t max_keys, uint64_t hash_seed);

/* Buckets currently held by an in-memory limiter (0 for other kinds). Reads
 * each shard under its lock, so it is exact only when nothing is taking. */
size_t ratelimit_memory_tracked(struct ratelimiter *rl);

#endif
