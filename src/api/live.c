/* live: Server-Sent Events streams of recorded visits.
 *   GET /api/v1/links/{code}/live   visits of one link
 *   GET /api/v1/live                visits of every link of the team
 *
 * A stream lives on the worker whose connection opened it, in that
 * worker's list, and is touched only on that worker's thread. The hub
 * (events/live.h) wakes the worker with one message per batch of new
 * events; the worker copies what each stream wants out of the hub's ring
 * into the stream's pending buffer and writes it when the previous write
 * has gone out (h2o calls proceed). A slow client is held back by its
 * LIVE_STREAM_BUF pending bytes and reads on from the ring as it drains;
 * if the ring overtakes it, it gets an `event: reset`. Idle streams get a
 * comment every --live-heartbeat-ms. On shutdown every stream ends at
 * once.
 *
 * Memory: two LIVE_STREAM_BUF buffers per stream, freed with the request
 * (pool dispose), whichever way it ends. */
#include "api/api.h"

#include "events/live.h"
#include "http/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIVE_STREAM_BUF (16 * 1024)
#define LIVE_BUCKETS 1024 /* the worker's index of streams by link / team */

/* A worker's view of the hub: the newest event it has handed out, and its
 * streams indexed by what they watch, so each new event costs one lookup
 * however many streams are open. */
struct live_worker {
    uint64_t scanned;
    h2o_linklist_t buckets[LIVE_BUCKETS];
};
#define LIVE_RETRY_MS 3000 /* reconnect delay suggested to EventSource clients */

struct live_stream {
    h2o_generator_t gen; /* first: h2o hands it back to proceed/stop */
    h2o_req_t *req;
    struct worker *w;
    h2o_linklist_t link;   /* in w->live_streams */
    h2o_linklist_t bucket; /* in the worker's index, by link (or team for team streams) */
    int64_t team_id, link_id;
    uint64_t last_id; /* newest hub event already looked at */
    char *pending, *sending;
    size_t plen;
    bool in_flight;  /* h2o_send done, proceed not yet called */
    bool behind;     /* reads the ring itself (resuming, or too slow for the pushes) */
    bool ending;     /* send the final chunk at the next chance */
    bool done;       /* final chunk sent, or h2o stopped us */
};

static size_t append(struct live_stream *st, const char *s, size_t n)
{
    if (st->plen + n > LIVE_STREAM_BUF)
        return 0;
    memcpy(st->pending + st->plen, s, n);
    st->plen += n;
    return n;
}

static void flush(struct live_stream *st)
{
    if (st->done || st->in_flight)
        return;
    if (st->ending) {
        st->done = true;
        h2o_send(st->req, NULL, 0, H2O_SEND_STATE_FINAL);
        return;
    }
    if (st->plen == 0)
        return;
    char *b = st->sending;
    st->sending = st->pending;
    st->pending = b;
    h2o_iovec_t iov = h2o_iovec_init(st->sending, st->plen);
    st->plen = 0;
    st->in_flight = true;
    h2o_send(st->req, &iov, 1, H2O_SEND_STATE_IN_PROGRESS);
}

/* A stream that is behind copies its events from the hub's ring while
 * there is room, then writes; once it has caught up with what its worker
 * has scanned, the worker pushes new events to it again. If the ring has
 * moved past it, the hub starts with an `event: reset`. */
static void deliver(struct live_stream *st)
{
    struct live *hub = st->w->app->live;
    if (st->behind && !st->done && !st->ending) {
        size_t len;
        size_t n = live_read(hub, &st->last_id, st->team_id, st->link_id, st->pending + st->plen,
                             LIVE_STREAM_BUF - st->plen, &len);
        st->plen += len;
        live_count(hub, n);
        if (st->last_id >= st->w->live_w->scanned)
            st->behind = false;
    }
    flush(st);
}

static void on_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
    (void)req;
    struct live_stream *st = (struct live_stream *)gen;
    st->in_flight = false;
    deliver(st);
}

static void on_stop(h2o_generator_t *gen, h2o_req_t *req)
{
    (void)req;
    struct live_stream *st = (struct live_stream *)gen;
    st->done = true;
}

static void on_dispose(void *p)
{
    struct live_stream *st = p;
    if (h2o_linklist_is_linked(&st->link)) {
        h2o_linklist_unlink(&st->link);
        if (h2o_linklist_is_linked(&st->bucket))
            h2o_linklist_unlink(&st->bucket);
        atomic_fetch_sub(&st->w->live_nstreams, 1);
        live_stream_close(st->w->app->live, st->team_id, st->link_id);
    }
    free(st->pending);
    free(st->sending);
}

/* Last-Event-ID (header, or ?last_event_id= for EventSource polyfills):
 * the id after which to resume; -1 when absent, -2 when malformed. */
static int64_t resume_from(struct reqctx *rc)
{
    h2o_req_t *req = rc->req;
    h2o_iovec_t v = {NULL, 0};
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("last-event-id"), -1);
    if (i >= 0) {
        v = req->headers.entries[i].value;
    } else {
        const char *q = rc->query.base;
        size_t n = rc->query.len;
        static const char key[] = "last_event_id=";
        for (size_t k = 0; k + sizeof(key) - 1 <= n; k++) {
            if ((k == 0 || q[k - 1] == '&') && memcmp(q + k, key, sizeof(key) - 1) == 0) {
                size_t s = k + sizeof(key) - 1, e = s;
                while (e < n && q[e] != '&')
                    e++;
                v = h2o_iovec_init(q + s, e - s);
                break;
            }
        }
        if (v.base == NULL)
            return -1;
    }
    if (v.len == 0 || v.len > 18)
        return -2;
    int64_t id = 0;
    for (size_t k = 0; k < v.len; k++) {
        if (v.base[k] < '0' || v.base[k] > '9')
            return -2;
        id = id * 10 + (v.base[k] - '0');
    }
    return id;
}

static size_t bucket_of(int64_t team_id, int64_t link_id)
{
    uint64_t k = link_id > 0 ? (uint64_t)link_id : (uint64_t)team_id * 0x9E3779B97F4A7C15ull;
    k ^= k >> 31;
    k *= 0xBF58476D1CE4E5B9ull;
    return (size_t)((k ^ (k >> 29)) % LIVE_BUCKETS);
}

static void hb_arm(struct worker *w)
{
    if (!h2o_timeout_is_linked(&w->live_hb_entry))
        h2o_timeout_link(w->loop, &w->live_hb, &w->live_hb_entry);
}

static void open_stream(struct reqctx *rc, int64_t team_id, int64_t link_id)
{
    struct worker *w = rc->w;
    const struct config *cfg = w->app->cfg;
    int64_t from = resume_from(rc);
    if (from == -2) {
        respond_invalid(rc, 400, "Last-Event-ID", "must be a non-negative integer event id");
        return;
    }
    if (w->stopping) {
        respond_unavailable(rc, "the server is shutting down");
        return;
    }
    if (live_stream_open(w->app->live, team_id, link_id, cfg->live_max_team_streams, cfg->live_max_streams) != 0) {
        h2o_add_header(&rc->req->pool, &rc->req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("10"));
        respond_problem(rc, 429, "too-many-streams", "Too many live streams",
                        "this team or this server has as many live streams open as allowed", NULL);
        return;
    }
    struct live_stream *st = h2o_mem_alloc_shared(&rc->req->pool, sizeof(*st), on_dispose);
    memset(st, 0, sizeof(*st));
    st->gen.proceed = on_proceed;
    st->gen.stop = on_stop;
    st->req = rc->req;
    st->w = w;
    st->team_id = team_id;
    st->link_id = link_id;
    st->pending = malloc(LIVE_STREAM_BUF);
    st->sending = malloc(LIVE_STREAM_BUF);
    h2o_linklist_insert(&w->live_streams, &st->link);
    atomic_fetch_add(&w->live_nstreams, 1);
    if (st->pending == NULL || st->sending == NULL) {
        /* dispose (with the request) unlinks and frees */
        respond_unavailable(rc, "out of memory");
        return;
    }
    /* Starts behind: catches up from `from` (or from now) by itself. */
    st->behind = true;
    st->last_id = from >= 0 ? (uint64_t)from : live_last_id(w->app->live);
    h2o_linklist_insert(&w->live_w->buckets[bucket_of(team_id, link_id)], &st->bucket);
    h2o_req_t *req = rc->req;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-accel-buffering"), 0, NULL,
                          H2O_STRLIT("no"));
    respond_stream_start(rc, &st->gen, "text/event-stream; charset=utf-8");
    char hello[64];
    int n = snprintf(hello, sizeof(hello), "retry: %d\n: connected\n\n", LIVE_RETRY_MS);
    append(st, hello, (size_t)n);
    hb_arm(w);
    deliver(st);
}

void api_link_live(struct reqctx *rc, const h2o_iovec_t *params)
{
    if (api_find_link(rc, params[0]))
        open_stream(rc, rc->w->scratch.team_id, rc->w->scratch.id);
}

void api_team_live(struct reqctx *rc, const h2o_iovec_t *params)
{
    (void)params;
    if (api_allowed(rc, rc->principal.team_id, ACT_LINK_READ, 0))
        open_stream(rc, rc->principal.team_id, 0);
}

/* ---- worker side ---------------------------------------------------------- */

#define EACH_STREAM(w, st, next)                                                                                       \
    for (h2o_linklist_t *n_ = (w)->live_streams.next, *next = n_->next; n_ != &(w)->live_streams;                    \
         n_ = next, next = n_->next)                                                                                   \
        for (struct live_stream *st = H2O_STRUCT_FROM_MEMBER(struct live_stream, link, n_); st != NULL; st = NULL)

static void push(struct live_stream *st, uint64_t id, const char *text, size_t len, uint64_t *sent)
{
    if (st->behind || st->done || st->ending || id <= st->last_id)
        return;
    if (st->plen + len > LIVE_STREAM_BUF) {
        st->behind = true; /* it reads on from the ring when its writes drain */
        return;
    }
    memcpy(st->pending + st->plen, text, len);
    st->plen += len;
    st->last_id = id;
    (*sent)++;
}

struct scan_ctx {
    struct live_worker *lw;
    uint64_t sent;
};

/* Under the hub's lock: hand one new event to the streams that watch its
 * link or its team. */
static void on_event(void *arg, uint64_t id, int64_t team_id, int64_t link_id, const char *text, size_t len)
{
    struct scan_ctx *c = arg;
    h2o_linklist_t *b = &c->lw->buckets[bucket_of(team_id, link_id)];
    for (h2o_linklist_t *n = b->next; n != b; n = n->next) {
        struct live_stream *st = H2O_STRUCT_FROM_MEMBER(struct live_stream, bucket, n);
        if (st->link_id == link_id && st->team_id == team_id)
            push(st, id, text, len, &c->sent);
    }
    b = &c->lw->buckets[bucket_of(team_id, 0)];
    for (h2o_linklist_t *n = b->next; n != b; n = n->next) {
        struct live_stream *st = H2O_STRUCT_FROM_MEMBER(struct live_stream, bucket, n);
        if (st->link_id == 0 && st->team_id == team_id)
            push(st, id, text, len, &c->sent);
    }
}

static void on_events(h2o_multithread_receiver_t *rx, h2o_linklist_t *messages)
{
    struct worker *w = H2O_STRUCT_FROM_MEMBER(struct worker, live_rx, rx);
    while (!h2o_linklist_is_empty(messages))
        h2o_linklist_unlink(messages->next);
    atomic_store(&w->live_notified, false);
    struct scan_ctx c = {w->live_w, 0};
    uint64_t before = w->live_w->scanned;
    bool whole = live_scan(w->app->live, &w->live_w->scanned, on_event, &c);
    live_count(w->app->live, c.sent);
    EACH_STREAM(w, st, next)
    {
        if (!whole && !st->behind) {
            /* This worker fell behind the ring: let each stream find out. */
            st->behind = true;
            if (st->last_id < before)
                st->last_id = before;
        }
        deliver(st);
    }
}

static void on_heartbeat(h2o_timeout_entry_t *entry)
{
    struct worker *w = H2O_STRUCT_FROM_MEMBER(struct worker, live_hb_entry, entry);
    static const char hb[] = ": hb\n\n";
    EACH_STREAM(w, st, next)
    {
        if (!st->in_flight && st->plen == 0)
            append(st, hb, sizeof(hb) - 1);
        flush(st);
    }
    if (!h2o_linklist_is_empty(&w->live_streams))
        hb_arm(w);
}

void api_live_worker_init(struct worker *w)
{
    w->live_w = malloc(sizeof(*w->live_w));
    if (w->live_w == NULL)
        abort(); /* start-up allocation on the worker's thread: nothing sensible to continue with */
    w->live_w->scanned = live_last_id(w->app->live);
    for (size_t i = 0; i < LIVE_BUCKETS; i++)
        h2o_linklist_init_anchor(&w->live_w->buckets[i]);
    h2o_linklist_init_anchor(&w->live_streams);
    h2o_multithread_register_receiver(w->queue, &w->live_rx, on_events);
    h2o_timeout_init(w->loop, &w->live_hb, w->app->cfg->live_heartbeat_ms);
    w->live_hb_entry.cb = on_heartbeat;
}

void api_live_stop(struct worker *w)
{
    EACH_STREAM(w, st, next)
    {
        st->ending = true;
        flush(st);
    }
    if (h2o_timeout_is_linked(&w->live_hb_entry))
        h2o_timeout_unlink(&w->live_hb_entry);
}

void api_live_notify(void *arg)
{
    struct app *app = arg;
    for (size_t i = 0; i < app->nworkers; i++) {
        struct worker *w = &app->workers[i];
        if (atomic_load(&w->live_nstreams) > 0 && !atomic_exchange(&w->live_notified, true))
            h2o_multithread_send_message(&w->live_rx, &w->live_msg);
    }
}
