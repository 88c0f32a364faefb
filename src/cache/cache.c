/* cache: sharded, byte-bounded link cache. See cache.h for the contract.
 *
 * Layout. A key's 64-bit SipHash picks the shard from its top byte; the low
 * 32 bits (kept in the entry) pick the home slot (multiply-shift, so the
 * table need not be a power of two) and give a 7-bit tag from their lowest
 * bits. Each shard is an open-addressed table with linear probing: an array
 * of entry pointers plus an array of control bytes (0 empty, 0x80|tag
 * full), so a probe reads a byte and follows a pointer only when the tag
 * matches. Each entry is one malloc'd block: header, key, value. Tables
 * grow by half when 3/4 full, so the load stays within [1/2, 3/4] and a
 * slot costs 12-18 bytes per entry; doubling would let it reach 24.
 *
 * Invariants, per shard, whenever its lock is free:
 *   - count <= 3/4 of the slots, so probing always ends on an empty slot;
 *   - every entry sits in the cluster that starts at its home slot (no empty
 *     slot between home and position); deletion shifts entries back instead
 *     of leaving tombstones, which keeps this true;
 *   - bytes == sum over entries of klen + vlen + CACHE_ENTRY_OVERHEAD, and
 *     bytes <= shard_budget;
 *   - gen only grows; it moves on every invalidation and clear.
 *
 * Eviction is CLOCK over the slots: hits set the entry's referenced bit with
 * a relaxed store under the read lock (only if it is clear, so hot entries
 * do not bounce their cache line); the hand, under the write lock, drops
 * expired entries outright, gives referenced ones a second chance and evicts
 * the first one that is not. The scan is capped so the write lock is never
 * held for a sweep of the whole shard.
 *
 * Overhead, measured: 1M-1.5M entries in steps of 100k, 15-byte keys
 * (8-byte domain id + 7-char code), 64-144-byte values (24-byte header + a
 * 40-120-byte URL), glibc 2.36 malloc; heap in use (mallinfo2) and RSS
 * both grew by key + value + 44-49 bytes per entry, the spread being where
 * each count falls between two table growths. At 1M it was 47.5 bytes:
 * 1.91x the raw code + URL bytes. CACHE_ENTRY_OVERHEAD (48) is the charge. */
#include "cache/cache.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Up to this many shards: enough that 64 workers rarely meet on one lock. */
#define CACHE_SHARDS_MAX 256
/* Fewer shards rather than shards smaller than this, so a 3.2 KB snapshot
 * (plus key and overhead) still fits under the 1/8-of-a-shard entry limit
 * even in a tiny cache. */
#define CACHE_SHARD_MIN_BYTES (32 * 1024)
/* An entry may take at most 1/ENTRY_LIMIT_DIV of its shard. */
#define CACHE_ENTRY_LIMIT_DIV 8
#define CACHE_TABLE_MIN_SLOTS 16u
/* Tables stay under 2^31 slots so 32-bit indexes and distances hold. */
#define CACHE_TABLE_MAX_SLOTS (1u << 31)
/* Referenced entries the hand may pass over before it evicts regardless:
 * bounds how long one put holds the shard's write lock. */
#define CACHE_CLOCK_MAX_SCAN 32
#define CACHE_CACHELINE 64

#define CTRL_EMPTY 0
#define CTRL_FULL 0x80
/* vlen value that marks a negative entry (real values are <= 4096). */
#define ENTRY_NEGATIVE UINT16_MAX

struct entry {
    uint64_t expires_ms;
    uint32_t hash; /* low 32 bits of the key's hash: rehash and shifts need no rehashing */
    uint16_t vlen; /* or ENTRY_NEGATIVE */
    uint8_t klen;
    _Atomic uint8_t referenced;
    unsigned char data[]; /* key, then value */
};

static_assert(sizeof(struct entry) == 16, "entry header is counted as 16 bytes in CACHE_ENTRY_OVERHEAD");
static_assert(CACHE_KEY_MAX <= UINT8_MAX, "klen is stored in a byte");
static_assert(CACHE_VALUE_MAX < ENTRY_NEGATIVE, "vlen is stored in 16 bits with one sentinel");

struct shard {
    pthread_rwlock_t lock;
    /* All below guarded by lock. slots and ctrl are one allocation. */
    struct entry **slots;
    uint8_t *ctrl;
    uint32_t nslots; /* 0 while slots == NULL */
    uint32_t count;
    uint32_t hand;
    uint64_t gen;
    size_t bytes;
    uint64_t evictions;
    uint64_t stale_fills_refused;
} __attribute__((aligned(CACHE_CACHELINE))); /* one shard's lock traffic must not hit its neighbour's line */

static_assert(sizeof(struct shard) % CACHE_CACHELINE == 0, "aligned_alloc wants a multiple of the alignment");

struct cache {
    size_t max_bytes;
    size_t shard_budget;
    size_t entry_limit;
    uint64_t ttl_ms;
    uint64_t negative_ttl_ms;
    uint64_t k0, k1;
    unsigned nshards; /* power of two, <= 256: the hash's top byte picks one */
    struct shard *shards;
};

/* ---- SipHash-2-4 (Aumasson & Bernstein); keyed, so collisions cannot be
 * found without the seed. ---- */

static inline uint64_t rotl64(uint64_t x, unsigned b)
{
    return (x << b) | (x >> (64 - b));
}

static inline void sipround(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = rotl64(v[1], 13);
    v[1] ^= v[0];
    v[0] = rotl64(v[0], 32);
    v[2] += v[3];
    v[3] = rotl64(v[3], 16);
    v[3] ^= v[2];
    v[0] += v[3];
    v[3] = rotl64(v[3], 21);
    v[3] ^= v[0];
    v[2] += v[1];
    v[1] = rotl64(v[1], 17);
    v[1] ^= v[2];
    v[2] = rotl64(v[2], 32);
}

static inline uint64_t load_le64(const unsigned char *p)
{
    uint64_t x = 0;
    for (unsigned i = 0; i < 8; i++)
        x |= (uint64_t)p[i] << (8 * i);
    return x;
}

uint64_t cache_siphash24(uint64_t k0, uint64_t k1, const void *in, size_t len)
{
    const unsigned char *p = in;
    const unsigned char *end = p + (len & ~(size_t)7);
    uint64_t v[4] = {
        0x736f6d6570736575ULL ^ k0,
        0x646f72616e646f6dULL ^ k1,
        0x6c7967656e657261ULL ^ k0,
        0x7465646279746573ULL ^ k1,
    };

    for (; p != end; p += 8) {
        uint64_t m = load_le64(p);
        v[3] ^= m;
        sipround(v);
        sipround(v);
        v[0] ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < (len & 7); i++)
        b |= (uint64_t)p[i] << (8 * i);
    v[3] ^= b;
    sipround(v);
    sipround(v);
    v[0] ^= b;
    v[2] ^= 0xff;
    for (int i = 0; i < 4; i++)
        sipround(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* Spreads the 64-bit seed over SipHash's 128-bit key. */
static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* ---- entries ---- */

static inline size_t entry_vlen(const struct entry *e)
{
    return e->vlen == ENTRY_NEGATIVE ? 0 : e->vlen;
}

static inline size_t entry_charge(const struct entry *e)
{
    return (size_t)e->klen + entry_vlen(e) + CACHE_ENTRY_OVERHEAD;
}

static inline bool entry_expired(const struct entry *e, uint64_t now_ms)
{
    return now_ms >= e->expires_ms;
}

static inline uint8_t ctrl_tag(uint32_t hash)
{
    /* The low 7 bits: the slot index comes from the high ones. */
    return (uint8_t)(CTRL_FULL | (hash & 0x7f));
}

static inline uint32_t slot_of(uint32_t hash, uint32_t nslots)
{
    return (uint32_t)(((uint64_t)hash * nslots) >> 32);
}

static inline uint32_t slot_next(uint32_t i, uint32_t nslots)
{
    return i + 1 == nslots ? 0 : i + 1;
}

/* Probe steps from slot a forward to slot b. */
static inline uint32_t slot_dist(uint32_t a, uint32_t b, uint32_t nslots)
{
    return b >= a ? b - a : b + nslots - a;
}

/* ---- one shard's table; every function here wants the shard's lock ---- */

#define NOT_FOUND UINT32_MAX

static uint32_t table_find(const struct shard *s, uint32_t hash, const void *key, size_t klen)
{
    if (!s->slots)
        return NOT_FOUND;
    uint8_t tag = ctrl_tag(hash);
    for (uint32_t i = slot_of(hash, s->nslots);; i = slot_next(i, s->nslots)) {
        uint8_t c = s->ctrl[i];
        if (c == CTRL_EMPTY)
            return NOT_FOUND;
        if (c != tag)
            continue;
        const struct entry *e = s->slots[i];
        if (e->hash == hash && e->klen == klen && memcmp(e->data, key, klen) == 0)
            return i;
    }
}

/* Places e in the first empty slot of its cluster. Room is the caller's. */
static void table_place(struct entry **slots, uint8_t *ctrl, uint32_t nslots, struct entry *e)
{
    uint32_t i = slot_of(e->hash, nslots);
    while (ctrl[i] != CTRL_EMPTY)
        i = slot_next(i, nslots);
    slots[i] = e;
    ctrl[i] = ctrl_tag(e->hash);
}

static int table_resize(struct shard *s, uint32_t nslots)
{
    /* One block: pointers first (aligned), then the control bytes. */
    struct entry **slots = calloc(nslots, sizeof(*slots) + 1);
    if (!slots)
        return -ENOMEM;
    uint8_t *ctrl = (uint8_t *)(slots + nslots);

    if (s->slots) {
        for (uint32_t i = 0; i < s->nslots; i++)
            if (s->ctrl[i] != CTRL_EMPTY)
                table_place(slots, ctrl, nslots, s->slots[i]);
        free(s->slots);
    }
    s->slots = slots;
    s->ctrl = ctrl;
    s->nslots = nslots;
    if (s->hand >= nslots)
        s->hand = 0;
    return 0;
}

/* Makes room in the table for one more entry. */
static int table_reserve(struct shard *s)
{
    if (!s->slots)
        return table_resize(s, CACHE_TABLE_MIN_SLOTS);
    uint64_t nslots = s->nslots;
    if (((uint64_t)s->count + 1) * 4 <= nslots * 3)
        return 0;
    nslots += nslots / 2;
    if (nslots > CACHE_TABLE_MAX_SLOTS)
        return -ENOMEM;
    return table_resize(s, (uint32_t)nslots);
}

/* Unlinks and frees the entry at slot i, then shifts the rest of its
 * cluster back over the hole (an entry moves only if the hole lies between
 * its home and its slot) so lookups never need tombstones. */
static void table_remove_at(struct shard *s, uint32_t i)
{
    struct entry *gone = s->slots[i];
    s->bytes -= entry_charge(gone);
    s->count--;
    free(gone);

    for (uint32_t j = slot_next(i, s->nslots); s->ctrl[j] != CTRL_EMPTY; j = slot_next(j, s->nslots)) {
        uint32_t home = slot_of(s->slots[j]->hash, s->nslots);
        if (slot_dist(home, j, s->nslots) >= slot_dist(i, j, s->nslots)) {
            s->slots[i] = s->slots[j];
            s->ctrl[i] = s->ctrl[j];
            i = j;
        }
    }
    s->slots[i] = NULL;
    s->ctrl[i] = CTRL_EMPTY;
}

/* Frees one entry: the first expired one the hand meets, else the first
 * whose referenced bit is clear (clearing bits as it passes), else, after
 * CACHE_CLOCK_MAX_SCAN second chances, the one under the hand. The shard
 * must hold at least one entry. */
static void shard_evict_one(struct shard *s, uint64_t now_ms)
{
    unsigned passed = 0;

    assert(s->count > 0);
    for (;;) {
        uint32_t i = s->hand;
        if (s->ctrl[i] == CTRL_EMPTY) {
            s->hand = slot_next(i, s->nslots);
            continue;
        }
        struct entry *e = s->slots[i];
        if (entry_expired(e, now_ms)) {
            /* The hand stays: the shift may have moved an unseen entry here. */
            table_remove_at(s, i);
            return;
        }
        if (atomic_load_explicit(&e->referenced, memory_order_relaxed) && passed < CACHE_CLOCK_MAX_SCAN) {
            atomic_store_explicit(&e->referenced, 0, memory_order_relaxed);
            passed++;
            s->hand = slot_next(i, s->nslots);
            continue;
        }
        table_remove_at(s, i);
        s->evictions++;
        return;
    }
}

static void shard_drop_all(struct shard *s)
{
    if (s->slots) {
        for (uint32_t i = 0; i < s->nslots; i++)
            if (s->ctrl[i] != CTRL_EMPTY)
                free(s->slots[i]);
        free(s->slots);
    }
    s->slots = NULL;
    s->ctrl = NULL;
    s->nslots = 0;
    s->count = 0;
    s->hand = 0;
    s->bytes = 0;
}

/* Locks can fail only on misuse (a thread re-locking what it holds) or
 * when 2^30 readers hold one lock at once: programmer errors. */
static inline void shard_rdlock(struct shard *s)
{
    int rc = pthread_rwlock_rdlock(&s->lock);
    assert(rc == 0);
    (void)rc;
}

static inline void shard_wrlock(struct shard *s)
{
    int rc = pthread_rwlock_wrlock(&s->lock);
    assert(rc == 0);
    (void)rc;
}

static inline void shard_unlock(struct shard *s)
{
    pthread_rwlock_unlock(&s->lock);
}

/* ---- the cache ---- */

static inline uint64_t key_hash(const struct cache *c, const void *key, size_t klen)
{
    return cache_siphash24(c->k0, c->k1, key, klen);
}

static inline struct shard *shard_for(const struct cache *c, uint64_t h)
{
    return &c->shards[(h >> 56) & (c->nshards - 1)];
}

struct cache *cache_new(size_t max_bytes, uint32_t ttl_ms, uint32_t negative_ttl_ms, uint64_t hash_seed)
{
    struct cache *c = NULL;
    pthread_rwlockattr_t attr;
    unsigned inited = 0;

    if (max_bytes == 0 || ttl_ms == 0) {
        errno = EINVAL;
        return NULL;
    }
    if (pthread_rwlockattr_init(&attr) != 0)
        return NULL;
    /* glibc prefers readers by default; with 64 workers reading, the one
     * writer thread could wait on a hot shard indefinitely, and every commit
     * queues behind it. Readers wait only while a writer is queued, which
     * is brief. */
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);

    c = calloc(1, sizeof(*c));
    if (!c)
        goto fail;
    c->nshards = CACHE_SHARDS_MAX;
    while (c->nshards > 1 && max_bytes / c->nshards < CACHE_SHARD_MIN_BYTES)
        c->nshards /= 2;
    c->max_bytes = max_bytes;
    c->shard_budget = max_bytes / c->nshards;
    c->entry_limit = c->shard_budget / CACHE_ENTRY_LIMIT_DIV;
    c->ttl_ms = ttl_ms;
    c->negative_ttl_ms = negative_ttl_ms;
    uint64_t st = hash_seed;
    c->k0 = splitmix64(&st);
    c->k1 = splitmix64(&st);

    c->shards = aligned_alloc(CACHE_CACHELINE, c->nshards * sizeof(*c->shards));
    if (!c->shards)
        goto fail;
    memset(c->shards, 0, c->nshards * sizeof(*c->shards));
    for (; inited < c->nshards; inited++)
        if (pthread_rwlock_init(&c->shards[inited].lock, &attr) != 0)
            goto fail;
    pthread_rwlockattr_destroy(&attr);
    return c;

fail:
    pthread_rwlockattr_destroy(&attr);
    if (c) {
        while (inited > 0)
            pthread_rwlock_destroy(&c->shards[--inited].lock);
        free(c->shards);
        free(c);
    }
    errno = ENOMEM;
    return NULL;
}

void cache_free(struct cache *c)
{
    if (!c)
        return;
    for (unsigned i = 0; i < c->nshards; i++) {
        shard_drop_all(&c->shards[i]);
        pthread_rwlock_destroy(&c->shards[i].lock);
    }
    free(c->shards);
    free(c);
}

enum cache_lookup cache_get(struct cache *c, const void *key, size_t klen, uint64_t now_ms, void *buf, size_t bufcap,
                            size_t *vlen, uint64_t *gen)
{
    enum cache_lookup res = CACHE_MISS;

    if (vlen)
        *vlen = 0;
    if (gen)
        *gen = 0;
    if (!key || klen == 0 || klen > CACHE_KEY_MAX)
        return CACHE_MISS; /* never cached; the put will say why */

    uint64_t h = key_hash(c, key, klen);
    struct shard *s = shard_for(c, h);

    shard_rdlock(s);
    uint32_t i = table_find(s, (uint32_t)h, key, klen);
    if (i != NOT_FOUND) {
        struct entry *e = s->slots[i];
        if (entry_expired(e, now_ms)) {
            /* Reads as a miss; a put or the hand reclaims it. */
        } else if (e->vlen == ENTRY_NEGATIVE) {
            res = CACHE_NEGATIVE;
        } else if (e->vlen <= bufcap) {
            /* Copy under the lock: the writer frees entries only under the
             * write lock, so the bytes cannot change beneath us. */
            if (e->vlen)
                memcpy(buf, e->data + e->klen, e->vlen);
            if (vlen)
                *vlen = e->vlen;
            res = CACHE_HIT;
        }
        if (res != CACHE_MISS && !atomic_load_explicit(&e->referenced, memory_order_relaxed))
            atomic_store_explicit(&e->referenced, 1, memory_order_relaxed);
    }
    if (res == CACHE_MISS && gen)
        *gen = s->gen;
    shard_unlock(s);
    return res;
}

int cache_put(struct cache *c, const void *key, size_t klen, const void *value, size_t vlen, uint64_t gen,
              uint64_t now_ms)
{
    if (!key || klen == 0 || (!value && vlen != 0))
        return -EINVAL;
    if (klen > CACHE_KEY_MAX || vlen > CACHE_VALUE_MAX)
        return -E2BIG;
    bool negative = !value;
    uint64_t ttl = negative ? c->negative_ttl_ms : c->ttl_ms;
    if (ttl == 0 || klen + vlen + CACHE_ENTRY_OVERHEAD > c->entry_limit)
        return 1;

    /* Allocate and fill before locking: the write lock stalls readers. */
    struct entry *e = malloc(offsetof(struct entry, data) + klen + vlen);
    if (!e)
        return -ENOMEM;
    uint64_t h = key_hash(c, key, klen);
    e->expires_ms = now_ms > UINT64_MAX - ttl ? UINT64_MAX : now_ms + ttl;
    e->hash = (uint32_t)h;
    e->vlen = negative ? ENTRY_NEGATIVE : (uint16_t)vlen;
    e->klen = (uint8_t)klen;
    atomic_init(&e->referenced, 0); /* earns its second chance by being read */
    memcpy(e->data, key, klen);
    if (vlen)
        memcpy(e->data + klen, value, vlen);

    struct shard *s = shard_for(c, h);
    int rc = 0;
    shard_wrlock(s);
    if (gen != s->gen) {
        s->stale_fills_refused++;
        rc = 1;
        goto out;
    }
    uint32_t i = table_find(s, e->hash, key, klen);
    if (i != NOT_FOUND)
        table_remove_at(s, i);
    size_t charge = entry_charge(e);
    while (s->bytes + charge > c->shard_budget)
        shard_evict_one(s, now_ms);
    rc = table_reserve(s);
    if (rc < 0)
        goto out;
    table_place(s->slots, s->ctrl, s->nslots, e);
    s->count++;
    s->bytes += charge;
    e = NULL;
out:
    shard_unlock(s);
    free(e);
    return rc;
}

void cache_invalidate(struct cache *c, const void *key, size_t klen)
{
    if (!key || klen == 0 || klen > CACHE_KEY_MAX)
        return;
    uint64_t h = key_hash(c, key, klen);
    struct shard *s = shard_for(c, h);

    shard_wrlock(s);
    s->gen++;
    uint32_t i = table_find(s, (uint32_t)h, key, klen);
    if (i != NOT_FOUND)
        table_remove_at(s, i);
    shard_unlock(s);
}

void cache_clear(struct cache *c)
{
    for (unsigned i = 0; i < c->nshards; i++) {
        struct shard *s = &c->shards[i];
        shard_wrlock(s);
        s->gen++;
        shard_drop_all(s);
        shard_unlock(s);
    }
}

void cache_stats(struct cache *c, struct cache_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->max_bytes = c->max_bytes;
    for (unsigned i = 0; i < c->nshards; i++) {
        struct shard *s = &c->shards[i];
        shard_rdlock(s);
        out->entries += s->count;
        out->bytes += s->bytes;
        out->evictions += s->evictions;
        out->stale_fills_refused += s->stale_fills_refused;
        shard_unlock(s);
    }
}

size_t cache_entry_limit(const struct cache *c)
{
    return c->entry_limit;
}

static int shard_check(const struct cache *c, const struct shard *s)
{
    if (!s->slots)
        return s->count == 0 && s->bytes == 0 ? 0 : -EFAULT;
    size_t bytes = 0;
    uint32_t count = 0;

    if (s->nslots < CACHE_TABLE_MIN_SLOTS || (uint64_t)s->count * 4 > (uint64_t)s->nslots * 3 || s->hand >= s->nslots)
        return -EFAULT;
    for (uint32_t i = 0; i < s->nslots; i++) {
        if (s->ctrl[i] == CTRL_EMPTY) {
            if (s->slots[i])
                return -EFAULT;
            continue;
        }
        const struct entry *e = s->slots[i];
        if (!e || s->ctrl[i] != ctrl_tag(e->hash) || e->klen == 0 || e->klen > CACHE_KEY_MAX)
            return -EFAULT;
        if (e->vlen != ENTRY_NEGATIVE && e->vlen > CACHE_VALUE_MAX)
            return -EFAULT;
        uint64_t h = key_hash(c, e->data, e->klen);
        if ((uint32_t)h != e->hash || shard_for(c, h) != s)
            return -EFAULT;
        /* No empty slot between home and here, or lookups would stop short. */
        for (uint32_t j = slot_of(e->hash, s->nslots); j != i; j = slot_next(j, s->nslots))
            if (s->ctrl[j] == CTRL_EMPTY)
                return -EFAULT;
        bytes += entry_charge(e);
        count++;
    }
    if (count != s->count || bytes != s->bytes || bytes > c->shard_budget)
        return -EFAULT;
    return 0;
}

int cache_check(struct cache *c)
{
    int rc = 0;
    for (unsigned i = 0; i < c->nshards && rc == 0; i++) {
        struct shard *s = &c->shards[i];
        shard_rdlock(s);
        rc = shard_check(c, s);
        shard_unlock(s);
    }
    return rc;
}
