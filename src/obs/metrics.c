#include "obs/metrics.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static const int statuses[] = {METRICS_STATUSES};
static const uint64_t latency_bounds[] = {METRICS_LATENCY_BOUNDS_US};
static const uint64_t batch_bounds[] = {METRICS_BATCH_BOUNDS};
static const char *const route_names[ROUTE_COUNT] = {"redirect", "links",  "link",    "auth", "account",
                                                     "stats",    "health", "metrics", "other"};

_Static_assert(sizeof(statuses) / sizeof(statuses[0]) + 1 == METRICS_STATUS_SLOTS, "status slots");
_Static_assert(sizeof(latency_bounds) / sizeof(latency_bounds[0]) + 1 == METRICS_LATENCY_BUCKETS, "latency buckets");
_Static_assert(sizeof(batch_bounds) / sizeof(batch_bounds[0]) + 1 == METRICS_BATCH_BUCKETS, "batch buckets");

static size_t status_slot(int status)
{
    for (size_t i = 0; i < METRICS_STATUS_SLOTS - 1; i++)
        if (statuses[i] == status)
            return i;
    return METRICS_STATUS_SLOTS - 1;
}

void metrics_observe_latency(struct metrics_hist_latency *h, uint64_t us)
{
    size_t i = 0;
    while (i < METRICS_LATENCY_BUCKETS - 1 && us > latency_bounds[i])
        i++;
    metric_add(&h->buckets[i], 1);
    metric_add(&h->sum_us, us);
    metric_add(&h->count, 1);
}

void metrics_observe_request(struct metrics_worker *m, enum metrics_route route, int status, uint64_t duration_us)
{
    metric_add(&m->requests[route][status_slot(status)], 1);
    metrics_observe_latency(&m->latency, duration_us);
}

void metrics_observe_batch(struct metrics_writer *m, size_t batch, uint64_t commit_us)
{
    size_t i = 0;
    while (i < METRICS_BATCH_BUCKETS - 1 && batch > batch_bounds[i])
        i++;
    metric_add(&m->batch_buckets[i], 1);
    metric_add(&m->batch_sum, batch);
    metric_add(&m->batch_count, 1);
    metrics_observe_latency(&m->commit, commit_us);
}

struct out {
    char *buf;
    size_t cap, len;
    bool overflow;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
    if (o->overflow)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len) {
        o->overflow = true;
        return;
    }
    o->len += (size_t)n;
}

static void put_seconds_hist(struct out *o, const char *name, const char *help, struct metrics_hist_latency *const *h,
                             size_t n)
{
    put(o, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cum = 0, sum = 0, count = 0;
    for (size_t b = 0; b < METRICS_LATENCY_BUCKETS; b++) {
        for (size_t i = 0; i < n; i++)
            cum += metric_get(&h[i]->buckets[b]);
        if (b < METRICS_LATENCY_BUCKETS - 1)
            put(o, "%s_bucket{le=\"%g\"} %llu\n", name, (double)latency_bounds[b] / 1e6, (unsigned long long)cum);
        else
            put(o, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
    }
    for (size_t i = 0; i < n; i++) {
        sum += metric_get(&h[i]->sum_us);
        count += metric_get(&h[i]->count);
    }
    put(o, "%s_sum %.6f\n%s_count %llu\n", name, (double)sum / 1e6, name, (unsigned long long)count);
}

static void put_counter(struct out *o, const char *name, const char *help, uint64_t v)
{
    put(o, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name, (unsigned long long)v);
}

static void put_gauge(struct out *o, const char *name, const char *help, uint64_t v)
{
    put(o, "# HELP %s %s\n# TYPE %s gauge\n%s %llu\n", name, help, name, name, (unsigned long long)v);
}

#define SUM_WORKERS(field)                                                                                             \
    ({                                                                                                                 \
        uint64_t s_ = 0;                                                                                               \
        for (size_t i_ = 0; i_ < nworkers; i_++)                                                                       \
            s_ += metric_get(&workers[i_]->field);                                                                     \
        s_;                                                                                                            \
    })

size_t metrics_render(char *buf, size_t cap, struct metrics_worker *const *workers, size_t nworkers,
                      struct metrics_writer *writer, const struct metrics_gauges *g)
{
    struct out o = {buf, cap, 0, false};
    enum { MAX_WORKERS_RENDERED = 256 };
    struct metrics_hist_latency *lat[MAX_WORKERS_RENDERED] = {0};
    if (nworkers > MAX_WORKERS_RENDERED)
        nworkers = MAX_WORKERS_RENDERED;

    put(&o, "# HELP linkpulse_http_requests_total HTTP requests answered, by route and status.\n"
            "# TYPE linkpulse_http_requests_total counter\n");
    for (size_t r = 0; r < ROUTE_COUNT; r++) {
        for (size_t s = 0; s < METRICS_STATUS_SLOTS; s++) {
            uint64_t v = SUM_WORKERS(requests[r][s]);
            if (v == 0)
                continue;
            if (s < METRICS_STATUS_SLOTS - 1)
                put(&o, "linkpulse_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n", route_names[r], statuses[s],
                    (unsigned long long)v);
            else
                put(&o, "linkpulse_http_requests_total{route=\"%s\",status=\"other\"} %llu\n", route_names[r],
                    (unsigned long long)v);
        }
    }
    for (size_t i = 0; i < nworkers; i++)
        lat[i] = &workers[i]->latency;
    put_seconds_hist(&o, "linkpulse_http_request_duration_seconds", "Time from request start to response.", lat,
                     nworkers);

    put_counter(&o, "linkpulse_cache_hits_total", "Link cache lookups answered from memory (incl. negative).",
                SUM_WORKERS(cache_hits) + SUM_WORKERS(cache_negative_hits));
    put_counter(&o, "linkpulse_cache_negative_hits_total", "Cache hits for codes known not to exist.",
                SUM_WORKERS(cache_negative_hits));
    put_counter(&o, "linkpulse_cache_misses_total", "Link cache lookups that went to the store.",
                SUM_WORKERS(cache_misses));
    put_counter(&o, "linkpulse_cache_evictions_total", "Entries evicted to stay within --cache-mb.",
                g->cache_evictions);
    put_counter(&o, "linkpulse_cache_stale_fills_refused_total",
                "Cache fills dropped because the key was invalidated during the load.", g->cache_stale_fills_refused);
    put_gauge(&o, "linkpulse_cache_entries", "Entries in the link cache.", g->cache_entries);
    put_gauge(&o, "linkpulse_cache_bytes", "Bytes accounted to the link cache.", g->cache_bytes);
    put_gauge(&o, "linkpulse_cache_max_bytes", "Link cache budget (--cache-mb).", g->cache_max_bytes);
    put_counter(&o, "linkpulse_access_log_dropped_total",
                "Access log lines dropped because the log writer fell behind.", SUM_WORKERS(access_log_dropped));

    put_counter(&o, "linkpulse_visits_dropped_total",
                "Visits dropped: a worker's ring was full, the store's visit backlog was, or a journal write failed.",
                SUM_WORKERS(visits_dropped) + g->visits_dropped_backlog + g->visits_lost);
    put_counter(
        &o, "linkpulse_visits_dropped_backlog_total",
        "Of the visits dropped, those the visit journal had no room for (--visit-backlog-mb, or every buffer waiting "
        "for its syncer).",
        g->visits_dropped_backlog);
    put_counter(&o, "linkpulse_visits_durable_total", "Visits made durable in the visit journal.", g->visits_durable);
    put_counter(&o, "linkpulse_visits_recorded_total", "Visits applied to the statistics (rollups, raw visits).",
                g->visits_recorded);
    put_gauge(&o, "linkpulse_visits_backlog", "Visits in the journal waiting to be applied.", g->visits_backlog);
    put(&o,
        "# HELP linkpulse_visits_paused_seconds_total Time the writer held back from applying visits because "
        "requests wanted the cores.\n# TYPE linkpulse_visits_paused_seconds_total counter\n"
        "linkpulse_visits_paused_seconds_total %.3f\n",
        (double)g->visits_paused_ms / 1000);
    put_gauge(&o, "linkpulse_live_streams", "Live visit streams (SSE) open.", g->live_streams);
    put_counter(&o, "linkpulse_live_events_total", "Visits formatted for live streams.", g->live_events);
    put_counter(&o, "linkpulse_live_events_sent_total", "Visit events written to live streams.", g->live_sent);
    put_counter(&o, "linkpulse_live_resets_total", "Live streams told they missed events (event: reset).",
                g->live_resets);
    put(&o,
        "# HELP linkpulse_webhook_deliveries_total Webhook delivery attempts by result (dead: gave up).\n"
        "# TYPE linkpulse_webhook_deliveries_total counter\n"
        "linkpulse_webhook_deliveries_total{result=\"delivered\"} %llu\n"
        "linkpulse_webhook_deliveries_total{result=\"failed\"} %llu\n",
        (unsigned long long)g->webhook_delivered, (unsigned long long)g->webhook_failed);
    put(&o, "linkpulse_webhook_deliveries_total{result=\"dead\"} %llu\n", (unsigned long long)g->webhook_dead);
    put_counter(&o, "linkpulse_webhook_breaker_opened_total", "Webhook circuit breakers opened.",
                g->webhook_breaker_opened);
    put_gauge(&o, "linkpulse_webhook_in_flight", "Webhook deliveries being sent.", g->webhook_in_flight);

    put(&o, "# HELP linkpulse_writer_batch_size Store operations committed per transaction (group commit).\n"
            "# TYPE linkpulse_writer_batch_size histogram\n");
    uint64_t cum = 0;
    for (size_t b = 0; b < METRICS_BATCH_BUCKETS; b++) {
        cum += metric_get(&writer->batch_buckets[b]);
        if (b < METRICS_BATCH_BUCKETS - 1)
            put(&o, "linkpulse_writer_batch_size_bucket{le=\"%llu\"} %llu\n", (unsigned long long)batch_bounds[b],
                (unsigned long long)cum);
        else
            put(&o, "linkpulse_writer_batch_size_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    }
    put(&o, "linkpulse_writer_batch_size_sum %llu\nlinkpulse_writer_batch_size_count %llu\n",
        (unsigned long long)metric_get(&writer->batch_sum), (unsigned long long)metric_get(&writer->batch_count));
    struct metrics_hist_latency *commit = &writer->commit;
    put_seconds_hist(&o, "linkpulse_writer_commit_seconds", "Duration of one durable group commit.", &commit, 1);
    put_counter(&o, "linkpulse_writer_commit_failures_total", "Transactions that failed to commit.",
                metric_get(&writer->commit_failures));
    put_gauge(&o, "linkpulse_writer_queue_depth", "Store operations waiting for the writer.", g->writer_queue_depth);
    put_counter(&o, "linkpulse_store_checkpoints_total",
                "Checkpoints that copied write-ahead log pages into the database.", g->store_checkpoints);
    put_gauge(&o, "linkpulse_store_wal_pages", "Pages in the write-ahead log after the last commit.",
              g->store_wal_pages);
    return o.overflow ? 0 : o.len;
}
