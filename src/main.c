/* main: the command line. `linkpulse serve` wires the modules together:
 * config → access log → store (+ migrations) → operator key → cache →
 * workers, then waits for SIGTERM/SIGINT and takes them down in reverse,
 * committing every queued write before it exits. */
#include "api/api.h"
#include "auth/apikey.h"
#include "auth/token.h"
#include "cache/cache.h"
#include "cli/cli.h"
#include "events/live.h"
#include "events/webhook.h"
#include "http/server.h"
#include "obs/log.h"
#include "store/store.h"
#include "util/config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CACHE_TTL_MS (10 * 60 * 1000)    /* invalidation is explicit; the TTL bounds staleness across nodes */
#define CACHE_NEGATIVE_TTL_MS (30 * 1000) /* creates invalidate too; this only bounds memory for scans */
#define ADMIN_KEY_MIN 16
#define RATELIMIT_KEYS (1u << 18) /* clients tracked at once; an evicted one starts with a full bucket */
#define JOB_THREADS 2             /* password hashing (argon2id, 64 MiB each) */

static void observe_batch(void *ctx, size_t n, uint64_t commit_us, bool ok)
{
    struct metrics_writer *m = ctx;
    if (ok)
        metrics_observe_batch(m, n, commit_us);
    else
        metric_add(&m->commit_failures, 1);
}

static int count_key(void *ctx, const struct store_apikey *key)
{
    (void)key;
    (*(size_t *)ctx)++;
    return 0;
}

static int ensure_key(struct store *store, const char *key, const char *name)
{
    struct store_op op = {.kind = STORE_APIKEY_ENSURE};
    token_hash(key, strlen(key), op.key.hash);
    snprintf(op.key.name, sizeof(op.key.name), "%s", name);
    snprintf(op.key.display, sizeof(op.key.display), "%.8s", key);
    return store_submit_wait(store, &op);
}

/* LINKPULSE_ADMIN_KEY, or on first start a new operator key shown once. */
static int setup_admin_key(struct app *app)
{
    const char *env = getenv("LINKPULSE_ADMIN_KEY");
    if (env != NULL) {
        size_t n = strlen(env);
        if (n < ADMIN_KEY_MIN || n > APIKEY_MAX_LEN) {
            fprintf(stderr, "linkpulse: LINKPULSE_ADMIN_KEY must be %d to %d characters\n", ADMIN_KEY_MIN,
                    APIKEY_MAX_LEN);
            return 2;
        }
        if (ensure_key(app->store, env, "LINKPULSE_ADMIN_KEY") != STORE_OK)
            return 1;
    }
    struct store_reader *r = store_reader_open(app->store);
    if (r == NULL)
        return 1;
    size_t keys = 0;
    int rc = store_apikeys_each(r, count_key, &keys);
    store_reader_close(r);
    if (rc != 0)
        return 1;
    if (keys > 0)
        return 0;
    char key[64], path[CONFIG_PATH_MAX + 16];
    apikey_generate(key, sizeof(key));
    snprintf(path, sizeof(path), "%s/admin.key", app->cfg->data_dir);
    if (cli_write_secret_file(path, key) != 0 || ensure_key(app->store, key, "generated at first start") != STORE_OK)
        return 1;
    printf("\nLinkPulse admin API key (shown once; also saved to %s):\n\n    %s\n\n"
           "Shorten a first link:\n\n"
           "    curl -s -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' \\\n"
           "         -d '{\"url\": \"https://example.com/\"}' %s/api/v1/links\n\n",
           path, key, key, app->cfg->base_url);
    fflush(stdout);
    sodium_memzero(key, sizeof(key));
    return 0;
}

static int serve(int argc, char **argv)
{
    struct config cfg;
    char err[512];
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int rc = config_parse(&cfg, argc, argv, (config_getenv_fn)getenv, cores > 0 ? (unsigned)cores : 1, err,
                          sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "linkpulse: %s\n", err);
        return rc;
    }
    /* Signals are taken by sigwait() below; every thread inherits the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    static struct app app; /* documented global: lives for the whole process */
    app.cfg = &cfg;
    if (link_policy_from_base_url(&app.policy, cfg.base_url) != 0) {
        fprintf(stderr, "linkpulse: --base-url: cannot use %s\n", cfg.base_url);
        return 2;
    }
    app.alog = accesslog_new(cfg.access_log, cfg.workers, LOG_FLUSH_MS, err, sizeof(err));
    if (app.alog == NULL) {
        fprintf(stderr, "linkpulse: --access-log: %s\n", err);
        return 1;
    }
    app.store = store_sqlite_open(cfg.data_dir, cfg.visit_backlog_mb, err, sizeof(err));
    if (app.store == NULL) {
        fprintf(stderr, "linkpulse: %s\n", err);
        return 1;
    }
    app.store->on_batch = observe_batch;
    app.store->on_batch_ctx = &app.writer_metrics;
    if ((rc = setup_admin_key(&app)) != 0)
        return rc;
    if (cli_load_jwt_keys(cfg.data_dir, &app.jwt, err, sizeof(err)) != 0) {
        fprintf(stderr, "linkpulse: %s\n", err);
        return 1;
    }
    uint64_t seed;
    randombytes_buf(&seed, sizeof(seed));
    app.limiter = ratelimit_memory_new(RATELIMIT_KEYS, seed ^ 0x5bd1e995u);
    if (app.limiter == NULL || api_jobs_start(JOB_THREADS) != 0) {
        fprintf(stderr, "linkpulse: cannot start the rate limiter or the job pool\n");
        return 1;
    }
    app.cache = cache_new((size_t)cfg.cache_mb << 20, CACHE_TTL_MS, CACHE_NEGATIVE_TTL_MS, seed);
    if (app.cache == NULL) {
        fprintf(stderr, "linkpulse: cannot allocate the link cache\n");
        return 1;
    }
    if (cfg.geoip[0] != '\0' && (app.geo = geoip_open(cfg.geoip, err, sizeof(err))) == NULL) {
        fprintf(stderr, "linkpulse: --geoip: %s\n", err);
        return 1;
    }
    app.live = live_new(api_live_notify, &app);
    if (app.live == NULL) {
        fprintf(stderr, "linkpulse: cannot allocate the live event hub\n");
        return 1;
    }
    struct sink_config sc = {.live = app.live,
                             .flush_ms = cfg.visit_flush_ms,
                             .retention_days = cfg.retention_days,
                             .ip_mode = (enum sink_ip_mode)cfg.ip_tracking,
                             .full_referrer = cfg.full_referrer};
    app.sink = sink_new(app.store, cfg.workers, &sc, app.geo);
    if (app.sink == NULL) {
        fprintf(stderr, "linkpulse: cannot start the visit sink\n");
        return 1;
    }
    struct webhook_config wc = {.timeout_ms = cfg.webhook_timeout_ms,
                                .max_attempts = cfg.webhook_max_attempts,
                                .retry_base_ms = cfg.webhook_retry_base_ms,
                                .breaker_failures = cfg.webhook_breaker_failures,
                                .breaker_cooldown_ms = cfg.webhook_breaker_cooldown_ms,
                                .allow_private = cfg.webhook_allow_private};
    if ((app.webhooks = webhooks_start(app.store, &wc, err, sizeof(err))) == NULL) {
        fprintf(stderr, "linkpulse: %s\n", err);
        return 1;
    }
    if (server_start(&app, err, sizeof(err)) != 0) {
        fprintf(stderr, "linkpulse: %s\n", err);
        return 1;
    }
    log_info("linkpulse %s listening on %s:%u (base URL %s, %u workers, data in %s)", LINKPULSE_VERSION,
             cfg.listen_host, cfg.listen_port, cfg.base_url, cfg.workers, cfg.data_dir);

    int sig = 0;
    sigwait(&sigs, &sig);
    log_info("received %s: finishing requests in flight", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    server_stop(&app);
    sink_free(app.sink); /* every visit of every answered redirect reaches the store */
    live_free(app.live);
    webhooks_stop(app.webhooks); /* pending deliveries stay in the outbox for the next start */
    api_jobs_stop();
    store_close(app.store);
    geoip_close(app.geo);
    ratelimit_free(app.limiter);
    cache_free(app.cache);
    log_info("stopped cleanly");
    accesslog_free(app.alog);
    free(app.workers);
    return 0;
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0) {
        fprintf(stderr, "linkpulse: libsodium failed to initialise\n");
        return 1;
    }
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0)) {
        fputs(config_usage, stdout);
        fputs("\n", stdout);
        fputs(cli_usage, stdout);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("linkpulse %s\n", LINKPULSE_VERSION);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "serve") == 0)
        return serve(argc - 2, argv + 2);
    if (argc >= 2 && cli_is_command(argv[1]))
        return cli_main(argc - 1, argv + 1);
    if (argc >= 2)
        fprintf(stderr, "linkpulse: unknown command or option \"%s\"\n\n", argv[1]);
    fputs(config_usage, stderr);
    return 2;
}
