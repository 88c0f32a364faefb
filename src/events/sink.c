#include "events/sink.h"

#include "analytics/enrich.h"
#include "analytics/ua.h"
#include "events/live.h"
#include "events/ring.h"
#include "obs/log.h"
#include "util/clock.h"
#include "util/ipaddr.h"

#include <pthread.h>
#include <stdio.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS (24LL * 3600 * 1000)
#define PURGE_EVERY_MS (60 * 1000)
#define UNIQUES_KEPT_MS (2 * DAY_MS) /* a day's hashes outlive their salt by a day, then go */

struct sink {
    struct store *store;
    const struct geoip *geo;
    struct sink_config cfg;
    size_t nrings;
    struct ring **rings;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;      /* wakes the sink thread: stop */
    pthread_cond_t done_cond; /* wakes sink_free: an op finished */
    bool stopping;
    _Atomic uint64_t recorded;
    _Atomic size_t inflight; /* ops submitted, not yet done */
    int64_t salt_day;
    unsigned char salt[crypto_generichash_KEYBYTES];
    struct visit_event *scratch; /* SINK_BATCH_MAX events popped from the rings */
    struct visits_op *pending;   /* the batch being filled, or NULL */
    uint64_t pending_since;      /* monotonic ms when it got its first visit */
    uint64_t next_purge;
};

struct visits_op {
    struct store_op op; /* first */
    struct sink *sink;
};

static void copy_str(char *dst, size_t cap, const char *src, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* A new random salt each day; the old one is forgotten, so yesterday's
 * hashes cannot be linked to today's. */
static const unsigned char *salt_for(struct sink *s, int64_t ts)
{
    int64_t day = ts / DAY_MS;
    if (day != s->salt_day) {
        randombytes_buf(s->salt, sizeof(s->salt));
        s->salt_day = day;
    }
    return s->salt;
}

static void enrich(struct sink *s, const struct visit_event *ev, struct store_visit *v)
{
    memset(v, 0, sizeof(*v));
    v->ts = ev->ts;
    v->link_id = ev->link_id;
    v->team_id = ev->team_id;
    v->domain_id = ev->domain_id;
    v->kind = (enum store_visit_kind)ev->kind;
    v->browser_major = -1;
    struct ua_info ua;
    ua_parse(ev->ua, ev->ua_len, &ua);
    v->bot = ua.bot;
    v->detail = !(ev->flags & VISIT_F_NO_DETAIL);
    if (!v->detail)
        return;
    copy_str(v->browser, sizeof(v->browser), ua.browser, strlen(ua.browser));
    v->browser_major = ua.browser_major;
    copy_str(v->os, sizeof(v->os), ua.os, strlen(ua.os));
    const char *device = ua_device_name(ua.device);
    copy_str(v->device, sizeof(v->device), device, strlen(device));

    struct ipaddr ip = {.family = 6};
    memcpy(ip.bytes, ev->ip, 16);
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(ev->ip, v4mapped, 12) == 0) {
        ip.family = 4;
        memset(ip.bytes, 0, 16);
        memcpy(ip.bytes, ev->ip + 12, 4);
    }
    if (ev->country[0] != 0) {
        v->country[0] = ev->country[0];
        v->country[1] = ev->country[1];
    } else if (s->geo != NULL) {
        struct geoip_result g;
        if (geoip_lookup(s->geo, &ip, &g) == 0) {
            copy_str(v->country, sizeof(v->country), g.country, strlen(g.country));
            copy_str(v->city, sizeof(v->city), g.city, strlen(g.city));
        }
    }
    if (s->cfg.ip_mode != SINK_IP_OFF) {
        struct ipaddr shown = s->cfg.ip_mode == SINK_IP_FULL ? ip : ipaddr_anonymize(&ip);
        ipaddr_format(&shown, v->ip, sizeof(v->ip));
    }
    /* Unique visitor: keyed hash of (IP, UA, link) under today's salt. */
    crypto_generichash_state h;
    crypto_generichash_init(&h, salt_for(s, ev->ts), crypto_generichash_KEYBYTES, sizeof(v->unique));
    crypto_generichash_update(&h, ev->ip, 16);
    crypto_generichash_update(&h, (const unsigned char *)ev->ua, ev->ua_len);
    crypto_generichash_update(&h, (const unsigned char *)&ev->link_id, sizeof(ev->link_id));
    crypto_generichash_final(&h, v->unique, sizeof(v->unique));
    v->has_unique = true;

    enrich_referrer_host(ev->ref, ev->ref_len, v->referrer_host, sizeof(v->referrer_host));
    if (s->cfg.full_referrer)
        copy_str(v->referrer, sizeof(v->referrer), ev->ref, ev->ref_len);
    enrich_language(ev->lang, ev->lang_len, v->language, sizeof(v->language));
    const char *q = memchr(ev->url, '?', ev->url_len);
    if (q != NULL)
        enrich_utm(q + 1, (size_t)(ev->url + ev->url_len - q - 1), v->utm);
    copy_str(v->visited_url, sizeof(v->visited_url), ev->url, ev->url_len);
    copy_str(v->target_url, sizeof(v->target_url), ev->target, ev->target_len);
}

static void op_done(struct store_op *op)
{
    struct visits_op *vo = (struct visits_op *)op;
    struct sink *s = vo->sink;
    if (op->kind == STORE_VISITS_INSERT) {
        if (op->status == STORE_OK)
            atomic_fetch_add(&s->recorded, op->nvisits);
        else
            log_error("sink: %zu visits could not be recorded", op->nvisits);
        /* Committed visits go on to live streams, if anyone listens. */
        if (op->status != STORE_OK || !live_offer(s->cfg.live, op->visits, op->nvisits))
            free(op->visits);
    } else if (op->status == STORE_OK && op->purged > 0) {
        log_info("retention: deleted %lld raw visits", (long long)op->purged);
        if (op->purged == 1000) /* more to go: come back soon */
            s->next_purge = 0;
    }
    free(vo);
    pthread_mutex_lock(&s->lock);
    atomic_fetch_sub(&s->inflight, 1);
    /* Not s->cond: waking the sink on every commit made it drain at once
     * and submit a tiny batch, so batches shrank to one fsync's worth. */
    pthread_cond_broadcast(&s->done_cond);
    pthread_mutex_unlock(&s->lock);
}

static void submit(struct sink *s, struct visits_op *vo)
{
    vo->sink = s;
    vo->op.done = op_done;
    atomic_fetch_add(&s->inflight, 1);
    if (store_submit(s->store, &vo->op) != 0) {
        /* Queue full or closing: these visits are lost, and said so. */
        atomic_fetch_sub(&s->inflight, 1);
        log_warn("sink: store queue refused %zu visits; dropping them", vo->op.nvisits);
        free(vo->op.visits);
        free(vo);
    }
}

/* Hands the batch being filled to the store (if it holds anything). */
static void flush_pending(struct sink *s)
{
    struct visits_op *vo = s->pending;
    if (vo == NULL || vo->op.nvisits == 0)
        return;
    s->pending = NULL;
    submit(s, vo);
}

/* The batch being filled, allocated when the first visit arrives. */
static struct visits_op *pending(struct sink *s)
{
    if (s->pending != NULL)
        return s->pending;
    struct visits_op *vo = calloc(1, sizeof(*vo));
    struct store_visit *rows = malloc(SINK_BATCH_MAX * sizeof(*rows));
    if (vo == NULL || rows == NULL) {
        free(vo);
        free(rows);
        return NULL;
    }
    vo->op.kind = STORE_VISITS_INSERT;
    vo->op.visits = rows;
    s->pending = vo;
    s->pending_since = clock_mono_ms();
    return vo;
}

/* True when the store has SINK_INFLIGHT_MAX batches of ours: the sink
 * then stops taking from the rings, so a store that falls behind costs
 * dropped (and counted) visits, never unbounded memory. On the final
 * drain (wait) it waits for a commit instead. */
static bool store_busy(struct sink *s, bool wait)
{
    if (atomic_load(&s->inflight) < SINK_INFLIGHT_MAX)
        return false;
    if (!wait)
        return true;
    pthread_mutex_lock(&s->lock);
    while (atomic_load(&s->inflight) >= SINK_INFLIGHT_MAX)
        pthread_cond_wait(&s->done_cond, &s->lock);
    pthread_mutex_unlock(&s->lock);
    return false;
}

/* Takes what every ring holds now, enriching it into the pending batch;
 * a full batch goes to the store at once. Returns how many events were
 * taken. Draining (often) and committing (once per flush window, or per
 * full batch) are separate so that rings never wait for a commit and
 * commits are never smaller than the traffic makes them. */
static size_t drain(struct sink *s, bool wait)
{
    size_t total = 0;
    for (size_t i = 0; i < s->nrings; i++) {
        for (;;) {
            struct visits_op *vo = pending(s);
            if (vo == NULL) {
                size_t lost = ring_pop_many(s->rings[i], s->scratch, SINK_BATCH_MAX);
                if (lost > 0)
                    log_error("sink: out of memory; %zu visits lost", lost);
                break;
            }
            if (vo->op.nvisits == SINK_BATCH_MAX) {
                if (store_busy(s, wait))
                    return total;
                flush_pending(s);
                continue;
            }
            size_t n = ring_pop_many(s->rings[i], s->scratch, SINK_BATCH_MAX - vo->op.nvisits);
            if (n == 0)
                break;
            for (size_t k = 0; k < n; k++)
                enrich(s, &s->scratch[k], &vo->op.visits[vo->op.nvisits + k]);
            vo->op.nvisits += n;
            total += n;
        }
    }
    return total;
}

static void maybe_purge(struct sink *s)
{
    uint64_t now = clock_mono_ms();
    if (now < s->next_purge)
        return;
    s->next_purge = now + PURGE_EVERY_MS;
    struct visits_op *vo = calloc(1, sizeof(*vo));
    if (vo == NULL)
        return;
    int64_t wall = clock_wall_ms();
    vo->op.kind = STORE_VISITS_PURGE;
    vo->op.before = wall - (int64_t)s->cfg.retention_days * DAY_MS;
    vo->op.uniques_before = wall - UNIQUES_KEPT_MS;
    submit(s, vo);
}

/* Rings are drained every SINK_IDLE_MS while quiet and continuously while
 * busy, so a ring (SINK_RING_RECORDS per worker) never fills at the rates
 * one machine serves; the pending batch is committed every flush_ms. */
static void *sink_main(void *arg)
{
    struct sink *s = arg;
    pthread_setname_np(pthread_self(), "lp-sink");
    unsigned idle_ms = s->cfg.flush_ms < SINK_IDLE_MS ? s->cfg.flush_ms : SINK_IDLE_MS;
    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        pthread_mutex_unlock(&s->lock);
        size_t taken = drain(s, false);
        if (s->pending != NULL && clock_mono_ms() - s->pending_since >= s->cfg.flush_ms && !store_busy(s, false))
            flush_pending(s);
        maybe_purge(s);
        if (s->cfg.live != NULL)
            live_pump(s->cfg.live);
        pthread_mutex_lock(&s->lock);
        if (s->stopping || (taken >= SINK_BUSY_EVENTS && atomic_load(&s->inflight) < SINK_INFLIGHT_MAX))
            continue;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += (long)idle_ms * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&s->cond, &s->lock, &until);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

struct sink *sink_new(struct store *store, size_t nworkers, const struct sink_config *cfg, const struct geoip *geo)
{
    struct sink *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->store = store;
    s->geo = geo;
    s->cfg = *cfg;
    s->nrings = nworkers;
    s->salt_day = -1;
    s->next_purge = clock_mono_ms() + 1000;
    s->rings = calloc(nworkers, sizeof(*s->rings));
    s->scratch = malloc(SINK_BATCH_MAX * sizeof(*s->scratch));
    if (s->rings == NULL || s->scratch == NULL)
        goto fail;
    for (size_t i = 0; i < nworkers; i++)
        if ((s->rings[i] = ring_new(SINK_RING_RECORDS, sizeof(struct visit_event))) == NULL)
            goto fail;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    pthread_cond_init(&s->done_cond, NULL);
    if (pthread_create(&s->thread, NULL, sink_main, s) != 0)
        goto fail;
    return s;
fail:
    for (size_t i = 0; s->rings != NULL && i < nworkers; i++)
        ring_free(s->rings[i]);
    free(s->rings);
    free(s->scratch);
    free(s);
    return NULL;
}

void sink_free(struct sink *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    while (drain(s, true) > 0) /* the workers have stopped: this is everything */
        ;
    flush_pending(s);
    if (s->pending != NULL) { /* allocated, never filled */
        free(s->pending->op.visits);
        free(s->pending);
    }
    pthread_mutex_lock(&s->lock);
    while (atomic_load(&s->inflight) > 0)
        pthread_cond_wait(&s->done_cond, &s->lock);
    pthread_mutex_unlock(&s->lock);
    for (size_t i = 0; i < s->nrings; i++)
        ring_free(s->rings[i]);
    free(s->rings);
    free(s->scratch);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    pthread_cond_destroy(&s->done_cond);
    free(s);
}

bool sink_push(struct sink *s, size_t worker, const struct visit_event *ev)
{
    return ring_push(s->rings[worker], ev);
}

uint64_t sink_recorded(const struct sink *s)
{
    return atomic_load(&((struct sink *)s)->recorded);
}
