/* server: the HTTP front. N worker threads, each with its own h2o evloop,
 * its own SO_REUSEPORT listener, its own store reader and metrics; they
 * share only the read-mostly app (config, cache, keys) and the store's
 * submit queue.
 *
 * Threading: everything in struct worker belongs to its thread, except
 * `metrics` (read by /metrics on any worker, see obs/metrics.h) and the
 * multithread receivers (the store's writer thread posts finished ops
 * there). server_stop() is called from the main thread. */
#ifndef LP_HTTP_SERVER_H
#define LP_HTTP_SERVER_H

#include "auth/jwt.h"
#include "auth/ratelimit.h"
#include "cache/cache.h"
#include "events/sink.h"
#include "core/link.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "store/store.h"
#include "util/config.h"

#include <h2o.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#define HTTP_HEADERS_MAX_BYTES (16 * 1024) /* 431 above this */
#define HTTP_TARGET_MAX_BYTES (8 * 1024)   /* 414 above this */
#define HTTP_BODY_MAX_BYTES (64 * 1024)    /* 413 above this */
#define HTTP_UPLOAD_MAX_BYTES (8 * 1024 * 1024) /* bulk creation and imports (issue 4): 413 above this */
#define HTTP_SHUTDOWN_GRACE_MS 1000        /* open connections get this long to flush after SIGTERM */

struct worker;

/* Process-wide state, written before the workers start and read-only after
 * (the cache and the store are thread-safe objects). */
struct app {
    const struct config *cfg;
    struct store *store;
    struct cache *cache;
    struct jwt_keyring jwt;
    struct ratelimiter *limiter;
    struct geoip *geo;  /* NULL without --geoip */
    struct sink *sink;
    struct live *live; /* visits for live streams (events/live.h) */
    struct webhooks *webhooks; /* the delivery worker (events/webhook.h) */
    struct link_policy policy;
    struct accesslog *alog;
    struct metrics_writer writer_metrics;
    h2o_globalconf_t h2o;
    struct worker *workers;
    size_t nworkers;
    h2o_barrier_t started;
    _Atomic uint64_t domains_gen; /* domains (issue 4): bumped after each change; workers reload */
};

/* What a worker last looked up about a caller (api/principal.c): an API
 * key, a team's plan, an active user, a membership. Each is good while
 * the store's access_version is still stamp.version. */
#define WORKER_ACCESS_MEMOS 8 /* of each kind; the slot from the key's hash or the ids */
struct memo_stamp {
    uint64_t version, at_ms; /* at_ms: clock_mono_ms of the lookup */
    bool set;
};
struct key_memo {
    struct memo_stamp stamp;
    unsigned char hash[STORE_KEY_HASH_LEN];
    int64_t id, team_id, expires_at, last_used_at;
    enum role role;
    bool operator_key;
};
struct team_memo {
    struct memo_stamp stamp;
    int64_t id;
    enum plan plan;
};
struct user_memo {
    struct memo_stamp stamp;
    int64_t id, personal_team_id; /* not disabled */
};
struct member_memo {
    struct memo_stamp stamp;
    int64_t team_id, user_id;
    enum role role;
};

struct worker {
    size_t index;
    struct app *app;
    pthread_t thread;
    int listen_fd;
    h2o_evloop_t *loop;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_socket_t *listener;
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t ops_done; /* finished store ops, from the writer */
    h2o_multithread_receiver_t control;  /* stop requests, from the main thread */
    h2o_multithread_message_t stop_msg;
    struct store_reader *reader;
    struct metrics_worker metrics;
    uint64_t reqid_base, reqid_seq;
    size_t ops_pending;  /* store ops submitted and not yet back */
    bool stopping;
    uint64_t stop_deadline; /* clock_mono_ms */
    struct link scratch; /* one row at a time for reads on this worker */
    /* Live streams (src/api/live.c) held by this worker's connections. */
    h2o_linklist_t live_streams;
    struct live_worker *live_w;        /* the worker's stream index (api/live.c) */
    _Atomic size_t live_nstreams;      /* read by the sink thread */
    _Atomic bool live_notified;        /* live_msg is on its way */
    h2o_multithread_receiver_t live_rx; /* "new events", from the sink thread */
    h2o_multithread_message_t live_msg;
    h2o_timeout_t live_hb;
    h2o_timeout_entry_t live_hb_entry;
    /* Crawlers and previews (issue 4): this worker's copy of /robots.txt
     * (malloc'd), rebuilt when older than API_ROBOTS_TTL_MS. */
    char *robots;
    size_t robots_len;
    uint64_t robots_at; /* clock_mono_ms */
    /* domains (issue 4): this worker's hostname table (api/domains.c) and
     * the app->domains_gen it was loaded at */
    struct domain_table *domains;
    uint64_t domains_gen;
    struct key_memo key_memo[WORKER_ACCESS_MEMOS];
    struct team_memo team_memo[WORKER_ACCESS_MEMOS];
    struct user_memo user_memo[WORKER_ACCESS_MEMOS];
    struct member_memo member_memo[WORKER_ACCESS_MEMOS];
};

/* Binds every worker's listener (so a taken port fails before anything
 * starts) and starts the workers. 0, or -1 with a message in err. */
int server_start(struct app *app, char *err, size_t errcap);
/* Stops accepting, lets requests in flight finish, joins the workers. */
void server_stop(struct app *app);

/* The worker that runs the given h2o context. */
static inline struct worker *worker_of(h2o_req_t *req)
{
    return (struct worker *)((char *)req->conn->ctx - offsetof(struct worker, ctx));
}

#endif
