/* live: the hub behind the Server-Sent Events streams of recorded visits
 * (GET /api/v1/links/{code}/live and /api/v1/live, src/api/live.c).
 *
 * After the store commits a batch of visits, the sink hands the batch to
 * the hub (live_offer, on the writer's thread: a pointer handed over, no
 * copying or formatting there). The sink thread then formats each visit
 * once into its SSE text (live_pump) in a ring of the last LIVE_RING_EVENTS
 * events, numbered by a process-wide increasing id, and calls the notify
 * callback, which wakes the workers that hold streams. Each worker copies
 * the events its streams want (by team or link) out of the ring under a
 * short lock (live_read). Redirects never touch the hub.
 *
 * Only visits that an open stream watches (its link, or its team) are
 * formatted and kept, so the ring holds seconds of the watched traffic,
 * not milliseconds of everything. Nothing is offered while nobody
 * listens: the hub keeps events from the first stream opening until
 * LIVE_LINGER_MS after the last one closed, and a client that reconnects
 * with Last-Event-ID within that time (to a link or team that another
 * stream still watches) misses nothing still in the ring.
 *
 * Threading: live_offer from any thread; live_pump from one thread (the
 * sink); live_read, live_stream_open/close and the counters from any
 * thread. */
#ifndef LP_EVENTS_LIVE_H
#define LP_EVENTS_LIVE_H

#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LIVE_RING_EVENTS 8192 /* recent events kept for Last-Event-ID */
#define LIVE_EVENT_MAX 1024   /* bytes of one formatted event */
#define LIVE_LINGER_MS (5 * 60 * 1000)

struct live;

struct live_stats {
    uint64_t open;    /* streams open now */
    uint64_t events;  /* events formatted */
    uint64_t sent;    /* events written to streams (workers add to it) */
    uint64_t resets;  /* `event: reset` sent: a stream missed events */
};

/* notify(ctx) is called on the pumping thread after new events land. */
struct live *live_new(void (*notify)(void *ctx), void *ctx);
void live_free(struct live *h);

/* True while someone listens (or did recently): only then offer visits. */
bool live_wanted(struct live *h);
/* Takes ownership of visits[0..n) (malloc'd) when it returns true; false
 * means the caller keeps (and frees) them. */
bool live_offer(struct live *h, struct store_visit *visits, size_t n);
/* Formats what was offered into the ring and notifies; returns events added. */
size_t live_pump(struct live *h);

/* A stream opens on a team's visits (link_id 0) or one link's. Accounting
 * with caps: 0, or -1 when the team (team_max) or the instance
 * (global_max) has as many streams open as allowed. The hub formats only
 * the visits some open stream watches. */
int live_stream_open(struct live *h, int64_t team_id, int64_t link_id, unsigned team_max, unsigned global_max);
void live_stream_close(struct live *h, int64_t team_id, int64_t link_id);

/* The id of the newest event (0 before the first). */
uint64_t live_last_id(struct live *h);

/* Copies, in id order, the events after *after for team_id (and link_id
 * when > 0) into buf (cap bytes), whole events only, and advances *after
 * to the last event looked at (matching or not), so the next call goes on
 * from there; it stops early when buf is full. When events after *after
 * have already left the ring (a resume from too far back, or a reader too
 * slow for the traffic), an `event: reset` comes first: the client missed
 * events. Sets *len to the bytes written; returns the events copied. */
size_t live_read(struct live *h, uint64_t *after, int64_t team_id, int64_t link_id, char *buf, size_t cap,
                 size_t *len);

/* Calls fn for every event after *after, in id order, under the hub's
 * lock (fn must be quick and must not call the hub), and advances *after
 * to the newest. Returns false when events after *after had already left
 * the ring (fn was called for those still there). For the worker that
 * hands each new event to the streams that want it, one pass per worker
 * whatever the number of streams. */
typedef void (*live_event_fn)(void *ctx, uint64_t id, int64_t team_id, int64_t link_id, const char *text,
                              size_t len);
bool live_scan(struct live *h, uint64_t *after, live_event_fn fn, void *ctx);

void live_count(struct live *h, uint64_t sent);
void live_stats(struct live *h, struct live_stats *out);

#endif
