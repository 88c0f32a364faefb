#include "events/live.h"

#include "util/clock.h"
#include "util/rfc3339.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIVE_TEAMS_MAX 4096 /* distinct teams with open streams */

struct live_event {
    uint64_t id;
    int64_t team_id, link_id;
    uint16_t len;
    char text[LIVE_EVENT_MAX];
};

struct offered {
    struct offered *next;
    struct store_visit *visits;
    size_t n;
};

struct team_count {
    int64_t team_id;
    unsigned n;
};

struct live {
    void (*notify)(void *ctx);
    void *notify_ctx;

    pthread_mutex_t lock; /* ring, offered list, team counts */
    struct live_event *ring;
    uint64_t next_id; /* id of the next event; the ring holds [next_id - held, next_id) */
    size_t held;
    struct offered *offered, **offered_tail;
    struct team_count teams[LIVE_TEAMS_MAX];
    size_t nteams;
    /* what open streams watch: link ids, and -team_id for team streams;
     * sorted, with the number of streams on each */
    struct watched {
        int64_t key;
        unsigned n;
    } *watched;
    size_t nwatched, watched_cap;

    _Atomic uint64_t open;
    _Atomic uint64_t wanted_until; /* clock_mono_ms; 0 = never opened */
    _Atomic uint64_t events, sent, resets;
};

struct live *live_new(void (*notify)(void *ctx), void *ctx)
{
    struct live *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return NULL;
    h->ring = malloc(LIVE_RING_EVENTS * sizeof(*h->ring));
    if (h->ring == NULL) {
        free(h);
        return NULL;
    }
    h->notify = notify;
    h->notify_ctx = ctx;
    h->next_id = 1;
    h->offered_tail = &h->offered;
    pthread_mutex_init(&h->lock, NULL);
    return h;
}

void live_free(struct live *h)
{
    if (h == NULL)
        return;
    for (struct offered *o = h->offered, *next; o != NULL; o = next) {
        next = o->next;
        free(o->visits);
        free(o);
    }
    free(h->watched);
    pthread_mutex_destroy(&h->lock);
    free(h->ring);
    free(h);
}

bool live_wanted(struct live *h)
{
    return h != NULL && (atomic_load(&h->open) > 0 || clock_mono_ms() < atomic_load(&h->wanted_until));
}

bool live_offer(struct live *h, struct store_visit *visits, size_t n)
{
    if (!live_wanted(h) || n == 0)
        return false;
    struct offered *o = malloc(sizeof(*o));
    if (o == NULL)
        return false;
    *o = (struct offered){NULL, visits, n};
    pthread_mutex_lock(&h->lock);
    *h->offered_tail = o;
    h->offered_tail = &o->next;
    pthread_mutex_unlock(&h->lock);
    return true;
}

static void set_str(json_t *o, const char *key, const char *v)
{
    json_object_set_new(o, key, v[0] != '\0' ? json_string(v) : json_null());
}

/* The short code is the first segment of the visited path. */
static json_t *code_of(const struct store_visit *v)
{
    const char *p = v->visited_url;
    if (p[0] != '/')
        return json_null();
    size_t n = strcspn(p + 1, "/?#");
    return n > 0 ? json_stringn(p + 1, n) : json_null();
}

/* "id: N\nevent: visit\ndata: {...}\n\n" into e->text; false if it does not fit. */
static bool format_event(struct live_event *e, const struct store_visit *v)
{
    static const char *const utm_keys[5] = {"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"};
    char ts[RFC3339_BUF];
    rfc3339_format(v->ts, ts);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer((json_int_t)e->id));
    json_object_set_new(o, "ts", json_string(ts));
    json_object_set_new(o, "code", code_of(v));
    json_object_set_new(o, "bot", json_boolean(v->bot));
    set_str(o, "device", v->device);
    set_str(o, "browser", v->browser);
    json_object_set_new(o, "browser_major", v->browser_major >= 0 ? json_integer(v->browser_major) : json_null());
    set_str(o, "os", v->os);
    set_str(o, "country", v->country);
    set_str(o, "city", v->city);
    set_str(o, "referrer_host", v->referrer_host);
    set_str(o, "language", v->language);
    for (int i = 0; i < 5; i++)
        if (v->utm[i][0] != '\0')
            json_object_set_new(o, utm_keys[i], json_string(v->utm[i]));
    int head = snprintf(e->text, sizeof(e->text), "id: %llu\nevent: visit\ndata: ", (unsigned long long)e->id);
    size_t room = sizeof(e->text) - (size_t)head - 2;
    size_t n = json_dumpb(o, e->text + head, room, JSON_COMPACT);
    json_decref(o);
    if (n == 0 || n > room)
        return false;
    memcpy(e->text + head + n, "\n\n", 2);
    e->len = (uint16_t)(head + n + 2);
    return true;
}

/* Index of key in the watched set, or where it would go. Under lock. */
static size_t watched_find(const struct live *h, int64_t key)
{
    size_t lo = 0, hi = h->nwatched;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (h->watched[mid].key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool watched(const struct live *h, int64_t key)
{
    size_t i = watched_find(h, key);
    return i < h->nwatched && h->watched[i].key == key;
}

static int watch(struct live *h, int64_t key)
{
    size_t i = watched_find(h, key);
    if (i < h->nwatched && h->watched[i].key == key) {
        h->watched[i].n++;
        return 0;
    }
    if (h->nwatched == h->watched_cap) {
        size_t cap = h->watched_cap ? 2 * h->watched_cap : 64;
        void *p = realloc(h->watched, cap * sizeof(*h->watched));
        if (p == NULL)
            return -1;
        h->watched = p;
        h->watched_cap = cap;
    }
    memmove(h->watched + i + 1, h->watched + i, (h->nwatched - i) * sizeof(*h->watched));
    h->watched[i] = (struct watched){key, 1};
    h->nwatched++;
    return 0;
}

static void unwatch(struct live *h, int64_t key)
{
    size_t i = watched_find(h, key);
    if (i < h->nwatched && h->watched[i].key == key && --h->watched[i].n == 0) {
        memmove(h->watched + i, h->watched + i + 1, (h->nwatched - i - 1) * sizeof(*h->watched));
        h->nwatched--;
    }
}

size_t live_pump(struct live *h)
{
    pthread_mutex_lock(&h->lock);
    struct offered *list = h->offered;
    h->offered = NULL;
    h->offered_tail = &h->offered;
    pthread_mutex_unlock(&h->lock);
    size_t added = 0;
    struct live_event e;
    for (struct offered *o = list, *next; o != NULL; o = next) {
        next = o->next;
        for (size_t i = 0; i < o->n; i++) {
            const struct store_visit *v = &o->visits[i];
            if (v->link_id == 0 || v->kind != VISIT_REDIRECT)
                continue; /* orphan visits belong to no team */
            pthread_mutex_lock(&h->lock);
            bool wanted = watched(h, v->link_id) || watched(h, -v->team_id);
            pthread_mutex_unlock(&h->lock);
            if (!wanted)
                continue;
            e.id = h->next_id; /* only this thread changes next_id */
            e.team_id = v->team_id;
            e.link_id = v->link_id;
            if (!format_event(&e, v))
                continue;
            pthread_mutex_lock(&h->lock);
            memcpy(&h->ring[e.id % LIVE_RING_EVENTS], &e, offsetof(struct live_event, text) + e.len);
            h->next_id++;
            if (h->held < LIVE_RING_EVENTS)
                h->held++;
            pthread_mutex_unlock(&h->lock);
            added++;
        }
        free(o->visits);
        free(o);
    }
    if (added > 0) {
        atomic_fetch_add(&h->events, added);
        h->notify(h->notify_ctx);
    }
    return added;
}

uint64_t live_last_id(struct live *h)
{
    pthread_mutex_lock(&h->lock);
    uint64_t id = h->next_id - 1;
    pthread_mutex_unlock(&h->lock);
    return id;
}

static const char RESET[] = "event: reset\ndata: {}\n\n";

size_t live_read(struct live *h, uint64_t *after, int64_t team_id, int64_t link_id, char *buf, size_t cap,
                 size_t *len)
{
    size_t out = 0, events = 0;
    pthread_mutex_lock(&h->lock);
    uint64_t oldest = h->next_id - h->held, id = *after + 1;
    if (*after >= h->next_id) {
        id = h->next_id; /* an id from before a restart: go on from now */
    } else if (id < oldest) {
        if (cap < sizeof(RESET) - 1) {
            pthread_mutex_unlock(&h->lock);
            *len = 0;
            return 0;
        }
        memcpy(buf, RESET, sizeof(RESET) - 1);
        atomic_fetch_add(&h->resets, 1);
        out = sizeof(RESET) - 1;
        id = oldest;
    }
    for (; id < h->next_id; id++) {
        const struct live_event *e = &h->ring[id % LIVE_RING_EVENTS];
        if (e->team_id == team_id && (link_id <= 0 || e->link_id == link_id)) {
            if (out + e->len > cap)
                break;
            memcpy(buf + out, e->text, e->len);
            out += e->len;
            events++;
        }
    }
    *after = id - 1;
    pthread_mutex_unlock(&h->lock);
    *len = out;
    return events;
}

bool live_scan(struct live *h, uint64_t *after, live_event_fn fn, void *ctx)
{
    pthread_mutex_lock(&h->lock);
    uint64_t oldest = h->next_id - h->held, id = *after + 1;
    bool whole = true;
    if (*after >= h->next_id) {
        id = h->next_id;
    } else if (id < oldest) {
        id = oldest;
        whole = false;
    }
    for (; id < h->next_id; id++) {
        const struct live_event *e = &h->ring[id % LIVE_RING_EVENTS];
        fn(ctx, id, e->team_id, e->link_id, e->text, e->len);
    }
    *after = id - 1;
    pthread_mutex_unlock(&h->lock);
    return whole;
}

int live_stream_open(struct live *h, int64_t team_id, int64_t link_id, unsigned team_max, unsigned global_max)
{
    int rc = -1;
    pthread_mutex_lock(&h->lock);
    size_t i = 0;
    while (i < h->nteams && h->teams[i].team_id != team_id)
        i++;
    if (atomic_load(&h->open) < global_max && (i < h->nteams ? h->teams[i].n < team_max : h->nteams < LIVE_TEAMS_MAX) &&
        watch(h, link_id > 0 ? link_id : -team_id) == 0) {
        if (i == h->nteams)
            h->teams[h->nteams++] = (struct team_count){team_id, 0};
        h->teams[i].n++;
        atomic_fetch_add(&h->open, 1);
        atomic_store(&h->wanted_until, UINT64_MAX);
        rc = 0;
    }
    pthread_mutex_unlock(&h->lock);
    return rc;
}

void live_stream_close(struct live *h, int64_t team_id, int64_t link_id)
{
    pthread_mutex_lock(&h->lock);
    unwatch(h, link_id > 0 ? link_id : -team_id);
    for (size_t i = 0; i < h->nteams; i++) {
        if (h->teams[i].team_id == team_id) {
            if (--h->teams[i].n == 0)
                h->teams[i] = h->teams[--h->nteams];
            break;
        }
    }
    if (atomic_fetch_sub(&h->open, 1) == 1)
        atomic_store(&h->wanted_until, clock_mono_ms() + LIVE_LINGER_MS);
    pthread_mutex_unlock(&h->lock);
}

void live_count(struct live *h, uint64_t sent)
{
    atomic_fetch_add(&h->sent, sent);
}

void live_stats(struct live *h, struct live_stats *out)
{
    out->open = atomic_load(&h->open);
    out->events = atomic_load(&h->events);
    out->sent = atomic_load(&h->sent);
    out->resets = atomic_load(&h->resets);
}
