/* ratelimit: the in-memory token-bucket limiter. See ratelimit.h for the
 * contract.
 *
 * Arithmetic. Tokens are counted in units of 1/60000 token. A rate of r
 * tokens per minute (60000 ms) is then exactly r units per millisecond, so a
 * refill is elapsed_ms * r units with no rounding at all: no drift however
 * often a key is polled, and no fractional token is ever lost or invented.
 * A full bucket is capacity * 60000 units (< 2^48 for any uint32_t
 * capacity), and the refill is computed so that it never multiplies more
 * than the time needed to fill the bucket: a huge jump of now_ms fills the
 * bucket without overflowing.
 *
 * Layout. A key's keyed 64-bit SipHash picks the shard from its top bits
 * and the chain from its low bits. Each shard owns a fixed array of
 * buckets, allocated zeroed at creation (so the kernel maps pages only as
 * buckets are first used), handed out in order until the shard is full and
 * then reused in place by evicting the least recently used one. Buckets are
 * linked by 32-bit indexes into a hash chain and into the LRU list; nothing
 * is allocated or freed after ratelimit_memory_new.
 *
 * Invariants, per shard, whenever its lock is free:
 *   - buckets[0..used) are exactly the live buckets; used <= cap;
 *   - each live bucket is on the chain of heads[hash & mask] once, and on
 *     the LRU list once (head: most recently used);
 *   - units <= 60000 * (the capacity given by the last call on that key);
 *   - last_ms is the largest now_ms seen for that key. */
#include "auth/ratelimit.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define RL_SHARDS_MAX 64
/* Fewer shards rather than shards smaller than this: eviction is LRU within
 * a shard, which tracks global LRU less well the smaller shards get. */
#define RL_SHARD_MIN_KEYS 64
#define RL_UNITS_PER_TOKEN UINT64_C(60000) /* ms per minute: see the top of the file */
#define RL_CACHELINE 64
#define NIL UINT32_MAX

static_assert(RATELIMIT_KEYS_MAX < NIL, "bucket indexes are 32-bit with one sentinel");
static_assert(RATELIMIT_KEY_MAX <= UINT8_MAX, "klen is stored in a byte");

struct bucket {
    uint64_t units;
    uint64_t last_ms;
    uint32_t hash; /* low 32 bits of the key's hash */
    uint32_t chain;
    uint32_t lru_prev, lru_next;
    uint8_t klen;
    unsigned char key[RATELIMIT_KEY_MAX];
};

struct shard {
    pthread_mutex_t lock;
    /* All below guarded by lock, except the pointers and sizes, which are
     * fixed after creation. */
    struct bucket *buckets;
    uint32_t *heads;
    uint32_t mask; /* heads has mask + 1 entries, a power of two >= cap */
    uint32_t cap;
    uint32_t used;
    uint32_t lru_head, lru_tail;
    /* Whether lock was initialised: memory_free also cleans up after a
     * ratelimit_memory_new that failed half-way. */
    bool lock_made;
} __attribute__((aligned(RL_CACHELINE))); /* neighbouring shards' locks must not share a line */

static_assert(sizeof(struct shard) % RL_CACHELINE == 0, "aligned_alloc wants a multiple of the alignment");

struct memory_limiter {
    struct ratelimiter base; /* first: the interface pointer is this one */
    unsigned char sipkey[crypto_shorthash_siphash24_KEYBYTES];
    unsigned nshards;     /* power of two, <= RL_SHARDS_MAX */
    unsigned shard_shift; /* 64 - log2(nshards); unused when nshards == 1 */
    struct shard *shards;
};

static const struct ratelimiter_ops memory_ops;

/* Spreads the 64-bit seed over SipHash's 128-bit key. */
static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t key_hash(const struct memory_limiter *m, const void *key, size_t klen)
{
    unsigned char h[crypto_shorthash_siphash24_BYTES];
    crypto_shorthash_siphash24(h, key, klen, m->sipkey);
    uint64_t x = 0;
    for (unsigned i = 0; i < sizeof(h); i++)
        x |= (uint64_t)h[i] << (8 * i);
    return x;
}

static inline uint64_t div_ceil(uint64_t a, uint64_t b)
{
    return a / b + (a % b != 0);
}

static inline uint32_t clamp_u32(uint64_t v)
{
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* Whole seconds (rounded up) until `units` more have refilled at rate. */
static uint32_t seconds_to_refill(uint64_t units, uint32_t rate)
{
    if (units == 0)
        return 0;
    if (rate == 0)
        return UINT32_MAX;
    return clamp_u32(div_ceil(div_ceil(units, rate), 1000));
}

/* ---- lists (caller holds the shard lock) ---- */

static void lru_unlink(struct shard *s, uint32_t i)
{
    struct bucket *b = &s->buckets[i];
    if (b->lru_prev != NIL)
        s->buckets[b->lru_prev].lru_next = b->lru_next;
    else
        s->lru_head = b->lru_next;
    if (b->lru_next != NIL)
        s->buckets[b->lru_next].lru_prev = b->lru_prev;
    else
        s->lru_tail = b->lru_prev;
}

static void lru_push_front(struct shard *s, uint32_t i)
{
    struct bucket *b = &s->buckets[i];
    b->lru_prev = NIL;
    b->lru_next = s->lru_head;
    if (s->lru_head != NIL)
        s->buckets[s->lru_head].lru_prev = i;
    else
        s->lru_tail = i;
    s->lru_head = i;
}

static void chain_unlink(struct shard *s, uint32_t i)
{
    uint32_t *p = &s->heads[s->buckets[i].hash & s->mask];
    while (*p != i) {
        assert(*p != NIL);
        p = &s->buckets[*p].chain;
    }
    *p = s->buckets[i].chain;
}

static uint32_t find(const struct shard *s, uint32_t hash, const void *key, size_t klen)
{
    for (uint32_t i = s->heads[hash & s->mask]; i != NIL; i = s->buckets[i].chain) {
        const struct bucket *b = &s->buckets[i];
        if (b->hash == hash && b->klen == klen && memcmp(b->key, key, klen) == 0)
            return i;
    }
    return NIL;
}

/* A slot for a new key: the next never-used bucket, else the least recently
 * used one (dropping a bucket only ever gives its key a full one). */
static uint32_t claim(struct shard *s)
{
    if (s->used < s->cap)
        return s->used++;
    uint32_t i = s->lru_tail;
    lru_unlink(s, i);
    chain_unlink(s, i);
    return i;
}

/* ---- the bucket ---- */

static void refill(struct bucket *b, uint64_t full, uint32_t rate, uint64_t now_ms)
{
    if (now_ms > b->last_ms) {
        uint64_t elapsed = now_ms - b->last_ms;
        if (b->units < full && rate > 0) {
            uint64_t deficit = full - b->units;
            /* Compare before multiplying: elapsed may be anything. */
            if (elapsed >= div_ceil(deficit, rate))
                b->units = full;
            else
                b->units += elapsed * rate;
        }
        b->last_ms = now_ms;
    }
    if (b->units > full)
        b->units = full; /* the capacity for this key went down */
}

static int memory_take(struct ratelimiter *rl, const void *key, size_t klen, uint32_t capacity,
                       uint32_t refill_per_minute, uint64_t now_ms, struct ratelimit_result *out)
{
    struct memory_limiter *m = (struct memory_limiter *)rl;

    if (out == NULL || key == NULL || klen == 0 || capacity == 0)
        return -EINVAL;
    if (klen > RATELIMIT_KEY_MAX)
        return -E2BIG;

    uint64_t h = key_hash(m, key, klen);
    struct shard *s = &m->shards[m->nshards == 1 ? 0 : h >> m->shard_shift];
    uint32_t h32 = (uint32_t)h;
    uint64_t full = capacity * RL_UNITS_PER_TOKEN;
    bool allowed;
    uint64_t units;

    pthread_mutex_lock(&s->lock);
    uint32_t i = find(s, h32, key, klen);
    if (i == NIL) {
        i = claim(s);
        struct bucket *b = &s->buckets[i];
        b->units = full;
        b->last_ms = now_ms;
        b->hash = h32;
        b->klen = (uint8_t)klen;
        memcpy(b->key, key, klen);
        b->chain = s->heads[h32 & s->mask];
        s->heads[h32 & s->mask] = i;
    } else {
        lru_unlink(s, i);
        refill(&s->buckets[i], full, refill_per_minute, now_ms);
    }
    lru_push_front(s, i);
    struct bucket *b = &s->buckets[i];
    allowed = b->units >= RL_UNITS_PER_TOKEN;
    if (allowed)
        b->units -= RL_UNITS_PER_TOKEN;
    units = b->units;
    pthread_mutex_unlock(&s->lock);

    out->allowed = allowed;
    out->limit = capacity;
    out->remaining = (uint32_t)(units / RL_UNITS_PER_TOKEN);
    out->reset_s = seconds_to_refill(full - units, refill_per_minute);
    out->retry_after_s = 0;
    if (!allowed) {
        uint32_t r = seconds_to_refill(RL_UNITS_PER_TOKEN - units, refill_per_minute);
        out->retry_after_s = r > 0 ? r : 1;
    }
    return 0;
}

/* ---- lifetime ---- */

static void memory_free(struct ratelimiter *rl)
{
    struct memory_limiter *m = (struct memory_limiter *)rl;
    if (m->shards != NULL) {
        for (unsigned i = 0; i < m->nshards; i++) {
            struct shard *s = &m->shards[i];
            if (s->lock_made)
                pthread_mutex_destroy(&s->lock);
            free(s->buckets);
            free(s->heads);
        }
        free(m->shards);
    }
    sodium_memzero(m->sipkey, sizeof(m->sipkey));
    free(m);
}

static const struct ratelimiter_ops memory_ops = {
    .take = memory_take,
    .free = memory_free,
};

static int shard_init(struct shard *s, uint32_t cap)
{
    uint32_t nheads = 1;
    while (nheads < cap)
        nheads <<= 1;
    if (pthread_mutex_init(&s->lock, NULL) != 0)
        return -ENOMEM;
    s->lock_made = true;
    s->buckets = calloc(cap, sizeof(*s->buckets));
    s->heads = malloc((size_t)nheads * sizeof(*s->heads));
    if (s->buckets == NULL || s->heads == NULL)
        return -ENOMEM;
    memset(s->heads, 0xff, (size_t)nheads * sizeof(*s->heads)); /* all NIL */
    s->mask = nheads - 1;
    s->cap = cap;
    s->lru_head = s->lru_tail = NIL;
    return 0;
}

struct ratelimiter *ratelimit_memory_new(size_t max_keys, uint64_t hash_seed)
{
    if (max_keys == 0 || max_keys > RATELIMIT_KEYS_MAX)
        return NULL;
    struct memory_limiter *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return NULL;
    m->base.ops = &memory_ops;
    uint64_t st = hash_seed;
    uint64_t k[2] = {splitmix64(&st), splitmix64(&st)};
    memcpy(m->sipkey, k, sizeof(m->sipkey));
    sodium_memzero(k, sizeof(k));

    unsigned log2n = 6;
    static_assert(RL_SHARDS_MAX == 1 << 6, "log2n starts at log2(RL_SHARDS_MAX)");
    while (log2n > 0 && max_keys / ((size_t)1 << log2n) < RL_SHARD_MIN_KEYS)
        log2n--;
    m->nshards = 1u << log2n;
    m->shard_shift = 64 - log2n;
    m->shards = aligned_alloc(RL_CACHELINE, m->nshards * sizeof(*m->shards));
    if (m->shards == NULL)
        goto fail;
    memset(m->shards, 0, m->nshards * sizeof(*m->shards));
    /* The remainder goes to the first shards, so the caps add up to max_keys. */
    size_t base = max_keys / m->nshards, rem = max_keys % m->nshards;
    for (unsigned i = 0; i < m->nshards; i++)
        if (shard_init(&m->shards[i], (uint32_t)(base + (i < rem))) != 0)
            goto fail;
    return &m->base;

fail:
    memory_free(&m->base);
    return NULL;
}

void ratelimit_free(struct ratelimiter *rl)
{
    if (rl != NULL)
        rl->ops->free(rl);
}

size_t ratelimit_memory_tracked(struct ratelimiter *rl)
{
    if (rl == NULL || rl->ops != &memory_ops)
        return 0;
    struct memory_limiter *m = (struct memory_limiter *)rl;
    size_t n = 0;
    for (unsigned i = 0; i < m->nshards; i++) {
        pthread_mutex_lock(&m->shards[i].lock);
        n += m->shards[i].used;
        pthread_mutex_unlock(&m->shards[i].lock);
    }
    return n;
}
