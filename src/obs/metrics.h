/* metrics: Prometheus counters and histograms without shared writes.
 * Each worker owns a struct metrics_worker and is its only writer; the
 * writer thread owns struct metrics_writer. Counters are atomics bumped with
 * relaxed load+store (no lock prefix: there is one writer per counter), so
 * /metrics, run on any worker, reads them without locks or torn values.
 * metrics_render() sums the per-thread structs at read time. */
#ifndef LP_OBS_METRICS_H
#define LP_OBS_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef _Atomic uint64_t metric_t;

static inline void metric_add(metric_t *m, uint64_t n)
{
    atomic_store_explicit(m, atomic_load_explicit(m, memory_order_relaxed) + n, memory_order_relaxed);
}
static inline uint64_t metric_get(metric_t *m)
{
    return atomic_load_explicit(m, memory_order_relaxed);
}

/* Routes as labelled in linkpulse_http_requests_total. */
enum metrics_route {
    ROUTE_REDIRECT,
    ROUTE_LINKS,      /* /api/v1/links */
    ROUTE_LINK,       /* /api/v1/links/{code} */
    ROUTE_AUTH,       /* /api/v1/auth/... */
    ROUTE_ACCOUNT,    /* /api/v1/me, teams, api-keys */
    ROUTE_STATS,      /* stats and visits */
    ROUTE_HEALTH,     /* /healthz, /readyz */
    ROUTE_METRICS,
    ROUTE_OTHER,
    ROUTE_COUNT
};

/* The statuses LinkPulse sends; anything else is counted under "other". */
#define METRICS_STATUSES 200, 201, 204, 301, 302, 307, 308, 400, 401, 403, 404, 405, 409, 410, 413, 414, 415, 422, 429, 431, 500, 503
enum { METRICS_STATUS_SLOTS = 23 };

/* Histogram upper bounds; the last bucket is +Inf. */
#define METRICS_LATENCY_BOUNDS_US 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000
enum { METRICS_LATENCY_BUCKETS = 14 };
#define METRICS_BATCH_BOUNDS 1, 2, 4, 8, 16, 32, 64, 128, 256, 512
enum { METRICS_BATCH_BUCKETS = 11 };

struct metrics_hist_latency {
    metric_t buckets[METRICS_LATENCY_BUCKETS];
    metric_t sum_us, count;
};

struct metrics_worker {
    metric_t requests[ROUTE_COUNT][METRICS_STATUS_SLOTS];
    struct metrics_hist_latency latency;
    metric_t cache_hits, cache_negative_hits, cache_misses;
    metric_t access_log_dropped;
    metric_t visits_dropped;
};

struct metrics_writer {
    metric_t batch_buckets[METRICS_BATCH_BUCKETS];
    metric_t batch_sum, batch_count;
    struct metrics_hist_latency commit;
    metric_t commit_failures;
};

void metrics_observe_request(struct metrics_worker *m, enum metrics_route route, int status, uint64_t duration_us);
void metrics_observe_latency(struct metrics_hist_latency *h, uint64_t us);
void metrics_observe_batch(struct metrics_writer *m, size_t batch, uint64_t commit_us);

/* Extra gauges that live in other modules, gathered by the caller. */
struct metrics_gauges {
    uint64_t cache_entries, cache_bytes, cache_max_bytes, cache_evictions, cache_stale_fills_refused;
    uint64_t writer_queue_depth, store_checkpoints, store_wal_pages;
    uint64_t visits_recorded, visits_durable, visits_backlog, visits_dropped_backlog, visits_lost;
    uint64_t visits_paused_ms;
    uint64_t live_streams, live_events, live_sent, live_resets;
    uint64_t webhook_delivered, webhook_failed, webhook_dead, webhook_breaker_opened, webhook_in_flight;
};

/* Renders the Prometheus text format into buf; returns the length, or 0 when
 * cap is too small. */
size_t metrics_render(char *buf, size_t cap, struct metrics_worker *const *workers, size_t nworkers,
                      struct metrics_writer *writer, const struct metrics_gauges *g);

#endif
