/* sink: visit capture off the redirect path.
 *
 * A worker that answers a redirect (or an orphan 404/410) fills a struct
 * visit_head, points a struct visit_text at the request's headers, and
 * pushes both into its own ring (events/ring.h): no lock, no allocation, no syscall; if the
 * ring is full the event is dropped and counted, and the redirect goes on.
 * The sink thread drains the rings every SINK_IDLE_MS (continuously under
 * load), enriches each event (user agent, bot, country and city,
 * anonymised IP, referrer host, language, UTM, unique-visitor hash) and
 * appends it to the store's visit journal (store_visits_append). Every
 * flush_ms (or once SINK_SYNC_VISITS wait) the sink's syncer thread syncs
 * the journal (store_visits_sync): that is when a visit becomes durable,
 * so a crash loses at most one flush window (plus a sync still in
 * progress). The sink only encodes visits into the journal's buffers; the
 * syncer writes them and waits on the disk, so neither a slow write (the
 * kernel throttling dirty pages) nor a slow fdatasync stops the rings
 * being drained, until the journal's buffers are full (see journal.h).
 * The store folds durable visits into raw rows and rollups on its own
 * thread, in batches as large as its backlog; the sink never waits for it.
 * When the backlog is at the store's cap the visit is dropped and counted
 * (sink_dropped). Synced visits are offered to the live hub
 * (events/live.h) by the syncer; the sink thread pumps the hub on every
 * pass. It also asks the store, now and then, to delete raw visits older
 * than the retention period, SINK_PURGE_BATCH at a time.
 *
 * Threading: sink_push from worker `worker` only (one producer per ring);
 * everything else on the sink thread, except the syncs (the syncer
 * thread; the two hand over under the sink's lock); sink_new and sink_free
 * from main.
 * sink_free drains and syncs what is left, so after a clean shutdown every
 * redirect is in the journal (and store_close applies it). */
#ifndef LP_EVENTS_SINK_H
#define LP_EVENTS_SINK_H

#include "analytics/geoip.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>

struct live;

#define VISIT_UA_MAX 256
#define VISIT_TEXT_MAX 256
#define VISIT_LANG_MAX 64
/* Per worker: ~50,000 visits of a request without headers (~150 bytes
 * each), ~24,000 of a browser's (~350 bytes); at 40k visits/s per worker,
 * 0.6 to 1.2 s of a stalled sink. */
#define SINK_RING_BYTES ((size_t)8 << 20)
#define SINK_LIVE_MAX 4096     /* visits kept for live streams between syncs (a full set syncs early) */
#define SINK_SYNC_VISITS 16384 /* so many appended since the last sync sync early (~3 MB of journal) */
#define SINK_IDLE_MS 10        /* ring polling interval while traffic is light */
#define SINK_BUSY_EVENTS 256   /* a drain that took this many polls again at once */
#define SINK_PURGE_BATCH 10000 /* raw visits one purge op deletes at most (the store's limit) */

enum visit_flags {
    VISIT_F_NO_DETAIL = 1, /* tracking off for this request: counts only */
    VISIT_F_SECURE = 2,
};

/* A visit's fixed fields: what a worker fills in, and how its record in
 * the ring starts. The *_len fields are set by sink_push. */
struct visit_head {
    int64_t ts;
    int64_t link_id;
    int64_t team_id;
    int64_t domain_id; /* domains (issue 4) */
    uint8_t kind;      /* enum store_visit_kind */
    uint8_t flags;
    uint8_t ip[16];  /* IPv4-mapped for IPv4 */
    char country[2]; /* from a trusted proxy's header; 0 if none */
    uint16_t ua_len, ref_len, url_len, lang_len, target_len;
};

/* A visit's text as the worker finds it in the request: pointers into the
 * request, not copied, at their full length (NULL with length 0 when
 * absent). sink_push copies each up to its cap. */
struct visit_text {
    const char *ua, *ref, *url, *lang, *target; /* url: path and query visited */
    size_t ua_len, ref_len, url_len, lang_len, target_len;
};

/* A visit as the sink thread takes it out of a ring. Strings are not
 * NUL-terminated; h's *_len fields say how much is there. */
struct visit_event {
    struct visit_head h;
    char ua[VISIT_UA_MAX];
    char ref[VISIT_TEXT_MAX];
    char url[VISIT_TEXT_MAX];
    char lang[VISIT_LANG_MAX];
    char target[VISIT_TEXT_MAX];
};

enum sink_ip_mode { SINK_IP_ANONYMIZED, SINK_IP_FULL, SINK_IP_OFF };

struct sink_config {
    unsigned flush_ms;
    unsigned retention_days;
    enum sink_ip_mode ip_mode;
    bool full_referrer;
    struct live *live; /* committed visits go here for live streams; NULL: none */
};

struct sink;

struct sink *sink_new(struct store *store, size_t nworkers, const struct sink_config *cfg, const struct geoip *geo);
/* Flushes everything (see above), stops the thread, frees. */
void sink_free(struct sink *s);
/* Worker `worker` only: copies head and text (each string up to its cap)
 * into the worker's ring; false when it is full (the caller counts a
 * drop). */
bool sink_push(struct sink *s, size_t worker, const struct visit_head *head, const struct visit_text *text);
/* Visits dropped because the store's backlog was full (any thread). */
uint64_t sink_dropped(const struct sink *s);

#endif
