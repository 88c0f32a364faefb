#include "events/sink.h"

#include "analytics/enrich.h"
#include "analytics/ua.h"
#include "events/live.h"
#include "events/ring.h"
#include "obs/log.h"
#include "util/clock.h"
#include "util/ipaddr.h"
#include "util/utf8.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stddef.h>
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
    pthread_t thread, syncer;
    pthread_mutex_t lock;
    pthread_cond_t cond;      /* wakes the sink thread: stop */
    pthread_cond_t sync_cond; /* wakes the syncer: a sync asked for, or stop */
    pthread_cond_t done_cond; /* wakes sink_free: the purge op finished */
    bool stopping;
    bool purging;             /* a purge op is with the store (under lock) */
    _Atomic uint64_t dropped; /* visits the store's backlog had no room for */
    int64_t salt_day;
    unsigned char salt[crypto_shorthash_siphashx24_KEYBYTES];
    struct visit_event ev;    /* the one being recorded, copied out of its ring */
    struct store_visit visit; /* the one being enriched */
    struct store_visit *live; /* visits since the last sync, for live streams (NULL: nobody listens) */
    size_t nlive;
    size_t unsynced;    /* visits appended since the last sync */
    uint64_t last_sync; /* monotonic ms */
    /* handed to the syncer (under lock) */
    bool sync_asked;
    struct store_visit *sync_live; /* offered to live streams once synced */
    size_t sync_nlive;
    _Atomic uint64_t next_purge;
    struct store_op purge;
};

static void copy_str(char *dst, size_t cap, const char *src, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void scrub(char *s)
{
    s[utf8_scrub(s, strlen(s))] = '\0';
}

/* A new random salt each day; the old one is forgotten, so yesterday's
 * hashes cannot be linked to today's. Days only move forward: a visit
 * stamped just before midnight that is drained just after it gets today's
 * salt rather than bringing back a new "yesterday". */
static const unsigned char *salt_for(struct sink *s, int64_t ts)
{
    int64_t day = ts / DAY_MS;
    if (day > s->salt_day) {
        randombytes_buf(s->salt, sizeof(s->salt));
        s->salt_day = day;
    }
    return s->salt;
}

static void enrich(struct sink *s, const struct visit_event *ev, struct store_visit *v)
{
    memset(v, 0, sizeof(*v));
    v->ts = ev->h.ts;
    v->link_id = ev->h.link_id;
    v->team_id = ev->h.team_id;
    v->domain_id = ev->h.domain_id;
    v->kind = (enum store_visit_kind)ev->h.kind;
    v->browser_major = -1;
    struct ua_info ua;
    ua_parse(ev->ua, ev->h.ua_len, &ua);
    v->bot = ua.bot;
    v->detail = !(ev->h.flags & VISIT_F_NO_DETAIL);
    if (!v->detail)
        return;
    copy_str(v->browser, sizeof(v->browser), ua.browser, strlen(ua.browser));
    v->browser_major = ua.browser_major;
    copy_str(v->os, sizeof(v->os), ua.os, strlen(ua.os));
    const char *device = ua_device_name(ua.device);
    copy_str(v->device, sizeof(v->device), device, strlen(device));

    struct ipaddr ip = {.family = 6};
    memcpy(ip.bytes, ev->h.ip, 16);
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(ev->h.ip, v4mapped, 12) == 0) {
        ip.family = 4;
        memset(ip.bytes, 0, 16);
        memcpy(ip.bytes, ev->h.ip + 12, 4);
    }
    if (ev->h.country[0] != 0) {
        v->country[0] = ev->h.country[0];
        v->country[1] = ev->h.country[1];
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
    /* Unique visitor: a keyed hash (SipHash-128, a PRF: without the day's
     * salt the hash tells nothing) of (IP, UA, link) under today's salt.
     * Orphan visits have no link to be unique for. */
    if (ev->h.link_id != 0) {
        _Static_assert(sizeof(v->unique) == crypto_shorthash_siphashx24_BYTES, "the hash fills unique");
        unsigned char in[16 + VISIT_UA_MAX + sizeof(ev->h.link_id)];
        size_t ua_len = ev->h.ua_len < VISIT_UA_MAX ? ev->h.ua_len : VISIT_UA_MAX;
        memcpy(in, ev->h.ip, 16);
        memcpy(in + 16, ev->ua, ua_len);
        memcpy(in + 16 + ua_len, &ev->h.link_id, sizeof(ev->h.link_id));
        crypto_shorthash_siphashx24(v->unique, in, 16 + ua_len + sizeof(ev->h.link_id), salt_for(s, ev->h.ts));
        v->has_unique = true;
    }

    enrich_referrer_host(ev->ref, ev->h.ref_len, v->referrer_host, sizeof(v->referrer_host));
    if (s->cfg.full_referrer)
        copy_str(v->referrer, sizeof(v->referrer), ev->ref, ev->h.ref_len);
    enrich_language(ev->lang, ev->h.lang_len, v->language, sizeof(v->language));
    const char *q = memchr(ev->url, '?', ev->h.url_len);
    if (q != NULL)
        enrich_utm(q + 1, (size_t)(ev->url + ev->h.url_len - q - 1), v->utm);
    copy_str(v->visited_url, sizeof(v->visited_url), ev->url, ev->h.url_len);
    copy_str(v->target_url, sizeof(v->target_url), ev->target, ev->h.target_len);
    /* The request's bytes, cut at byte caps, need not be UTF-8; what is
     * kept is made so here, once, for every reader of the visit (JSON
     * answers, webhooks and live streams through jansson, which refuses
     * anything else; exports). */
    scrub(v->referrer);
    scrub(v->referrer_host);
    scrub(v->language);
    scrub(v->visited_url);
    scrub(v->target_url);
    for (size_t i = 0; i < sizeof(v->utm) / sizeof(v->utm[0]); i++)
        scrub(v->utm[i]);
}

static void purge_done(struct store_op *op)
{
    struct sink *s = (struct sink *)((char *)op - offsetof(struct sink, purge));
    if (op->status == STORE_OK && op->purged > 0) {
        log_info("purge: deleted %lld raw visits (past retention, or of deleted links)", (long long)op->purged);
        if (op->purged == SINK_PURGE_BATCH) /* more to go: come back soon */
            atomic_store(&s->next_purge, 0);
    }
    pthread_mutex_lock(&s->lock);
    s->purging = false;
    pthread_cond_broadcast(&s->done_cond);
    pthread_mutex_unlock(&s->lock);
}

static void maybe_purge(struct sink *s)
{
    uint64_t now = clock_mono_ms();
    if (now < atomic_load(&s->next_purge))
        return;
    pthread_mutex_lock(&s->lock);
    bool busy = s->purging;
    s->purging = true;
    pthread_mutex_unlock(&s->lock);
    if (busy)
        return;
    atomic_store(&s->next_purge, now + PURGE_EVERY_MS);
    int64_t wall = clock_wall_ms();
    s->purge = (struct store_op){.kind = STORE_VISITS_PURGE, .done = purge_done};
    s->purge.before = wall - (int64_t)s->cfg.retention_days * DAY_MS;
    s->purge.uniques_before = wall - UNIQUES_KEPT_MS;
    if (store_submit(s->store, &s->purge) != 0) {
        pthread_mutex_lock(&s->lock);
        s->purging = false;
        pthread_mutex_unlock(&s->lock);
    }
}

/* Makes what the handed-over visits cover durable, then shows them to live
 * streams. Under lock; drops it while syncing. A failed sync stays asked
 * for (the journal retries what it could not sync). */
static bool sync_handed(struct sink *s)
{
    struct store_visit *live = s->sync_live;
    size_t n = s->sync_nlive;
    s->sync_live = NULL;
    pthread_mutex_unlock(&s->lock);
    bool ok = store_visits_sync(s->store) == STORE_OK;
    if (!ok)
        log_error("sink: the visit journal could not be synced; retrying after a flush window");
    if (!ok || live == NULL || !live_offer(s->cfg.live, live, n))
        free(live); /* after a failure live streams skip this window */
    pthread_mutex_lock(&s->lock);
    s->sync_asked = !ok;
    return ok;
}

static void *syncer_main(void *arg)
{
    struct sink *s = arg;
    pthread_setname_np(pthread_self(), "lp-vsync");
    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        if (!s->sync_asked) {
            pthread_cond_wait(&s->sync_cond, &s->lock);
        } else if (!sync_handed(s)) {
            struct timespec until = clock_deadline_ms(s->cfg.flush_ms);
            pthread_cond_timedwait(&s->sync_cond, &s->lock, &until);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* Hands what was appended since the last sync to the syncer, unless it is
 * still busy with the previous one (then a later pass tries again). */
static void sync_now(struct sink *s)
{
    if (!s->unsynced)
        return;
    pthread_mutex_lock(&s->lock);
    if (!s->sync_asked) {
        s->sync_asked = true;
        s->sync_live = s->live;
        s->sync_nlive = s->nlive;
        s->live = NULL;
        s->nlive = 0;
        s->unsynced = 0;
        s->last_sync = clock_mono_ms();
        pthread_cond_signal(&s->sync_cond);
    }
    pthread_mutex_unlock(&s->lock);
}

static void record(struct sink *s, const struct visit_event *ev)
{
    enrich(s, ev, &s->visit);
    int rc = store_visits_append(s->store, &s->visit);
    if (rc != STORE_OK) {
        atomic_fetch_add(&s->dropped, 1);
        return;
    }
    s->unsynced++;
    if (s->cfg.live == NULL || !live_wanted(s->cfg.live))
        return;
    if (s->live == NULL && (s->live = malloc(SINK_LIVE_MAX * sizeof(*s->live))) == NULL)
        return;
    if (s->nlive < SINK_LIVE_MAX)
        s->live[s->nlive++] = s->visit;
}

/* A visit in a ring: struct visit_head, then the strings' bytes back to
 * back. ~150 bytes for a request without headers, ~350 for a browser's,
 * against sizeof(struct visit_event) (~1.1 KB). */
static const unsigned char *get(const unsigned char *p, char *dst, size_t n)
{
    memcpy(dst, p, n);
    return p + n;
}

static void visit_decode(const unsigned char *p, size_t len, struct visit_event *ev)
{
    const unsigned char *start = p;
    memcpy(&ev->h, p, sizeof(ev->h));
    p += sizeof(ev->h);
    p = get(p, ev->ua, ev->h.ua_len);
    p = get(p, ev->ref, ev->h.ref_len);
    p = get(p, ev->url, ev->h.url_len);
    p = get(p, ev->lang, ev->h.lang_len);
    p = get(p, ev->target, ev->h.target_len);
    assert(p == start + len);
    (void)start; /* read only by the assert */
    (void)len;
}

/* Takes what every ring holds now into the journal; returns how many. */
static size_t drain(struct sink *s)
{
    size_t total = 0;
    for (size_t i = 0; i < s->nrings; i++) {
        const void *rec;
        size_t len;
        while ((rec = ring_peek(s->rings[i], &len)) != NULL) {
            visit_decode(rec, len, &s->ev);
            ring_release(s->rings[i]);
            record(s, &s->ev);
            total++;
            /* live streams show at most SINK_LIVE_MAX per window; the
             * journal's buffers are written by the syncer */
            if (s->nlive == SINK_LIVE_MAX || s->unsynced >= SINK_SYNC_VISITS)
                sync_now(s);
        }
    }
    return total;
}

/* Rings are drained every SINK_IDLE_MS while quiet and continuously while
 * busy, so a ring (SINK_RING_BYTES per worker) never fills at the rates
 * one machine serves; the journal is synced every flush_ms. */
static void *sink_main(void *arg)
{
    struct sink *s = arg;
    pthread_setname_np(pthread_self(), "lp-sink");
    unsigned idle_ms = s->cfg.flush_ms < SINK_IDLE_MS ? s->cfg.flush_ms : SINK_IDLE_MS;
    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        pthread_mutex_unlock(&s->lock);
        size_t taken = drain(s);
        if (clock_mono_ms() - s->last_sync >= s->cfg.flush_ms)
            sync_now(s);
        maybe_purge(s);
        if (s->cfg.live != NULL)
            live_pump(s->cfg.live);
        pthread_mutex_lock(&s->lock);
        if (s->stopping || taken >= SINK_BUSY_EVENTS)
            continue;
        struct timespec until = clock_deadline_ms(idle_ms);
        pthread_cond_timedwait(&s->cond, &s->lock, &until);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static void stop_threads(struct sink *s, bool sink_thread)
{
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_broadcast(&s->cond);
    pthread_cond_broadcast(&s->sync_cond);
    pthread_mutex_unlock(&s->lock);
    if (sink_thread)
        pthread_join(s->thread, NULL);
    pthread_join(s->syncer, NULL);
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
    s->last_sync = clock_mono_ms();
    s->rings = calloc(nworkers, sizeof(*s->rings));
    if (s->rings == NULL)
        goto fail;
    for (size_t i = 0; i < nworkers; i++)
        if ((s->rings[i] = ring_new(SINK_RING_BYTES)) == NULL)
            goto fail;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    pthread_cond_init(&s->done_cond, NULL);
    pthread_cond_init(&s->sync_cond, NULL);
    if (pthread_create(&s->syncer, NULL, syncer_main, s) != 0)
        goto fail;
    if (pthread_create(&s->thread, NULL, sink_main, s) != 0) {
        stop_threads(s, false);
        goto fail;
    }
    return s;
fail:
    for (size_t i = 0; s->rings != NULL && i < nworkers; i++)
        ring_free(s->rings[i]);
    free(s->rings);
    free(s);
    return NULL;
}

void sink_free(struct sink *s)
{
    if (s == NULL)
        return;
    stop_threads(s, true);
    drain(s);                                    /* the workers have stopped: this is everything */
    if (store_visits_sync(s->store) != STORE_OK) /* covers a sync the syncer had not done */
        log_error("sink: the visit journal could not be synced at shutdown");
    free(s->sync_live);
    pthread_mutex_lock(&s->lock);
    while (s->purging)
        pthread_cond_wait(&s->done_cond, &s->lock);
    pthread_mutex_unlock(&s->lock);
    for (size_t i = 0; i < s->nrings; i++)
        ring_free(s->rings[i]);
    free(s->rings);
    free(s->live);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    pthread_cond_destroy(&s->done_cond);
    pthread_cond_destroy(&s->sync_cond);
    free(s);
}

static uint16_t capped(size_t len, size_t cap)
{
    return (uint16_t)(len < cap ? len : cap);
}

static unsigned char *put(unsigned char *p, const char *src, size_t n)
{
    if (n > 0)
        memcpy(p, src, n);
    return p + n;
}

bool sink_push(struct sink *s, size_t worker, const struct visit_head *head, const struct visit_text *text)
{
    struct visit_head h = *head;
    h.ua_len = capped(text->ua_len, VISIT_UA_MAX);
    h.ref_len = capped(text->ref_len, VISIT_TEXT_MAX);
    h.url_len = capped(text->url_len, VISIT_TEXT_MAX);
    h.lang_len = capped(text->lang_len, VISIT_LANG_MAX);
    h.target_len = capped(text->target_len, VISIT_TEXT_MAX);
    struct ring *r = s->rings[worker];
    unsigned char *p =
        ring_reserve(r, sizeof(h) + (size_t)h.ua_len + h.ref_len + h.url_len + h.lang_len + h.target_len);
    if (p == NULL)
        return false;
    memcpy(p, &h, sizeof(h));
    p = put(p + sizeof(h), text->ua, h.ua_len);
    p = put(p, text->ref, h.ref_len);
    p = put(p, text->url, h.url_len);
    p = put(p, text->lang, h.lang_len);
    put(p, text->target, h.target_len);
    ring_commit(r);
    return true;
}

uint64_t sink_dropped(const struct sink *s)
{
    return atomic_load(&((struct sink *)s)->dropped);
}
