/* ops: health, readiness and metrics endpoints for operators and probes. */
#include "api/api.h"

#include "events/live.h"
#include "events/webhook.h"

#include "http/server.h"

#define METRICS_BUF (256 * 1024)

void api_healthz(struct reqctx *rc)
{
    respond_bytes(rc, 200, "text/plain; charset=utf-8", "ok\n", 3);
}

void api_readyz(struct reqctx *rc)
{
    if (store_ping(rc->w->reader) != 0 || rc->w->stopping) {
        respond_problem(rc, 503, "unavailable", "Not ready", "the store is not usable or the server is stopping", NULL);
        return;
    }
    respond_bytes(rc, 200, "text/plain; charset=utf-8", "ready\n", 6);
}

void api_metrics(struct reqctx *rc)
{
    struct app *app = rc->w->app;
    struct metrics_worker *workers[CONFIG_WORKERS_MAX];
    for (size_t i = 0; i < app->nworkers; i++)
        workers[i] = &app->workers[i].metrics;
    struct cache_stats cs;
    cache_stats(app->cache, &cs);
    struct live_stats ls;
    live_stats(app->live, &ls);
    struct webhook_stats ws;
    webhooks_stats(app->webhooks, &ws);
    struct store_visit_counts vc;
    store_visits_counts(app->store, &vc);
    struct store_wal_counts wc;
    store_wal_counts(app->store, &wc);
    struct metrics_gauges g = {
        .cache_entries = cs.entries,
        .cache_bytes = cs.bytes,
        .cache_max_bytes = cs.max_bytes,
        .cache_evictions = cs.evictions,
        .cache_stale_fills_refused = cs.stale_fills_refused,
        .writer_queue_depth = store_queue_depth(app->store),
        .store_checkpoints = wc.checkpoints,
        .store_wal_pages = wc.pages,
        .visits_recorded = vc.applied,
        .visits_durable = vc.durable,
        .visits_backlog = vc.backlog,
        .visits_dropped_backlog = sink_dropped(app->sink),
        .visits_lost = vc.lost,
        .visits_paused_ms = vc.paused_ms,
        .live_streams = ls.open,
        .live_events = ls.events,
        .live_sent = ls.sent,
        .live_resets = ls.resets,
        .webhook_delivered = ws.delivered,
        .webhook_failed = ws.failed,
        .webhook_dead = ws.dead,
        .webhook_breaker_opened = ws.breaker_opened,
        .webhook_in_flight = ws.in_flight,
    };
    char *buf = h2o_mem_alloc_pool(&rc->req->pool, METRICS_BUF);
    size_t n = metrics_render(buf, METRICS_BUF, workers, app->nworkers, &app->writer_metrics, &g);
    if (n == 0) {
        respond_problem(rc, 500, "internal", "Internal error", "metrics output exceeded its buffer", NULL);
        return;
    }
    respond_bytes(rc, 200, "text/plain; version=0.0.4; charset=utf-8", buf, n);
}
