#include "events/webhook.h"

#include "obs/log.h"
#include "util/clock.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WH_PARALLEL 32     /* transfers at once */
#define WH_POLL_MS 100     /* the due list is read this often */
#define WH_BREAKERS 1024   /* webhooks with breaker state */
#define WH_BACKOFF_CAP_MS (3600ULL * 1000)
#define WH_USER_AGENT "LinkPulse-Webhook/1"

enum breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };

struct breaker {
    int64_t hook_id;
    unsigned failures; /* in a row */
    enum breaker_state state;
    uint64_t open_until; /* clock_mono_ms */
    bool probing;        /* the half-open probe is in flight */
};

struct transfer {
    bool used;
    bool settling; /* result submitted, op not yet committed */
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    struct store_delivery d; /* payload not kept (body holds it) */
    char err[CURL_ERROR_SIZE];
};

struct result_op {
    struct store_op op; /* first */
    struct webhooks *wh;
    size_t slot;
};

struct webhooks {
    struct store *store;
    struct store_reader *reader;
    struct webhook_config cfg;
    CURLM *multi;
    pthread_t thread;
    _Atomic bool stopping;
    struct transfer slots[WH_PARALLEL];
    struct breaker breakers[WH_BREAKERS];
    size_t nbreakers;
    /* slots whose result op has committed, handed back by the writer */
    pthread_mutex_t lock;
    size_t settled[WH_PARALLEL];
    size_t nsettled;
    _Atomic uint64_t delivered, failed, dead, opened, in_flight;
    _Atomic size_t results_pending; /* result ops not yet back from the writer */
};

void webhook_sign(const char *secret, int64_t ts, const char *body, size_t len, char out[WEBHOOK_SIG_HEX + 1])
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    char prefix[24];
    int n = snprintf(prefix, sizeof(prefix), "%lld.", (long long)ts);
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)prefix, (unsigned long long)n);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(out, WEBHOOK_SIG_HEX + 1, mac, sizeof(mac));
}

uint64_t webhook_backoff_ms(unsigned base_ms, unsigned attempt, double jitter)
{
    double d = base_ms;
    for (unsigned i = 1; i < attempt && d < (double)WH_BACKOFF_CAP_MS; i++)
        d *= 2;
    d *= 0.8 + 0.4 * jitter;
    return d > (double)WH_BACKOFF_CAP_MS ? WH_BACKOFF_CAP_MS : (uint64_t)d;
}

/* ---- SSRF guard ---------------------------------------------------------------- */

static bool private_v4(const unsigned char *a)
{
    return a[0] == 0 || a[0] == 10 || a[0] == 127 || (a[0] == 169 && a[1] == 254) ||
           (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
           (a[0] == 100 && (a[1] & 0xc0) == 64) || a[0] >= 224;
}

static bool private_addr(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return private_v4((const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr);
    if (sa->sa_family != AF_INET6)
        return true;
    const unsigned char *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char zero[15] = {0};
    if (memcmp(b, mapped, 12) == 0)
        return private_v4(b + 12);
    return (memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1)) || (b[0] & 0xfe) == 0xfc ||
           (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || b[0] == 0xff;
}

static curl_socket_t open_socket(void *ctx, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct webhooks *wh = ctx;
    if (purpose != CURLSOCKTYPE_IPCXN || (!wh->cfg.allow_private && private_addr(&a->addr)))
        return CURL_SOCKET_BAD;
    return socket(a->family, a->socktype, a->protocol);
}

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n;
}

/* ---- breakers -------------------------------------------------------------------- */

static struct breaker *breaker_of(struct webhooks *wh, int64_t hook_id)
{
    for (size_t i = 0; i < wh->nbreakers; i++)
        if (wh->breakers[i].hook_id == hook_id)
            return &wh->breakers[i];
    if (wh->nbreakers == WH_BREAKERS) {
        /* Forget a closed one; an open breaker is never dropped. */
        for (size_t i = 0; i < wh->nbreakers; i++)
            if (wh->breakers[i].state == BREAKER_CLOSED && !wh->breakers[i].probing) {
                wh->breakers[i] = wh->breakers[--wh->nbreakers];
                break;
            }
        if (wh->nbreakers == WH_BREAKERS)
            return NULL;
    }
    struct breaker *b = &wh->breakers[wh->nbreakers++];
    *b = (struct breaker){.hook_id = hook_id};
    return b;
}

/* May a delivery to this webhook start now? Moves open -> half open. */
static bool breaker_allows(struct webhooks *wh, int64_t hook_id, uint64_t now)
{
    struct breaker *b = breaker_of(wh, hook_id);
    if (b == NULL)
        return true;
    if (b->state == BREAKER_OPEN && now >= b->open_until)
        b->state = BREAKER_HALF_OPEN;
    if (b->state == BREAKER_CLOSED)
        return true;
    if (b->state == BREAKER_HALF_OPEN && !b->probing) {
        b->probing = true;
        return true;
    }
    return false;
}

static void breaker_record(struct webhooks *wh, int64_t hook_id, bool ok, uint64_t now)
{
    struct breaker *b = breaker_of(wh, hook_id);
    if (b == NULL)
        return;
    b->probing = false;
    if (ok) {
        b->failures = 0;
        b->state = BREAKER_CLOSED;
        return;
    }
    b->failures++;
    if (b->state == BREAKER_HALF_OPEN || b->failures >= wh->cfg.breaker_failures) {
        if (b->state != BREAKER_OPEN)
            atomic_fetch_add(&wh->opened, 1);
        b->state = BREAKER_OPEN;
        b->open_until = now + wh->cfg.breaker_cooldown_ms;
        log_warn("webhooks: breaker open for webhook %lld after %u failures; next probe in %u ms",
                 (long long)hook_id, b->failures, wh->cfg.breaker_cooldown_ms);
    }
}

/* ---- transfers --------------------------------------------------------------------- */

static void slot_free(struct transfer *t)
{
    if (t->easy != NULL)
        curl_easy_cleanup(t->easy);
    curl_slist_free_all(t->headers);
    free(t->body);
    memset(t, 0, sizeof(*t));
}

static bool busy_subject(struct webhooks *wh, const struct store_delivery *d)
{
    for (size_t i = 0; i < WH_PARALLEL; i++) {
        const struct transfer *t = &wh->slots[i];
        if (t->used && (t->d.id == d->id || (t->d.hook_id == d->hook_id && strcmp(t->d.subject, d->subject) == 0)))
            return true;
    }
    return false;
}

static int add_header(struct transfer *t, const char *name, const char *value)
{
    char line[256];
    snprintf(line, sizeof(line), "%s: %s", name, value);
    struct curl_slist *l = curl_slist_append(t->headers, line);
    if (l == NULL)
        return -1;
    t->headers = l;
    return 0;
}

static void start(struct webhooks *wh, const struct store_delivery *d, const struct store_hook *h)
{
    struct transfer *t = NULL;
    for (size_t i = 0; i < WH_PARALLEL && t == NULL; i++)
        if (!wh->slots[i].used)
            t = &wh->slots[i];
    if (t == NULL)
        return;
    memset(t, 0, sizeof(*t));
    t->used = true;
    t->d = *d;
    t->d.payload = NULL;
    size_t len = strlen(d->payload);
    t->body = malloc(len + 1);
    t->easy = curl_easy_init();
    if (t->body == NULL || t->easy == NULL) {
        slot_free(t);
        return;
    }
    memcpy(t->body, d->payload, len + 1);
    int64_t ts = clock_wall_ms() / 1000;
    char sig[WEBHOOK_SIG_HEX + 1], id[24];
    webhook_sign(h->secret, ts, t->body, len, sig);
    char signature[32 + WEBHOOK_SIG_HEX];
    snprintf(signature, sizeof(signature), "t=%lld,v1=%s", (long long)ts, sig);
    snprintf(id, sizeof(id), "%lld", (long long)d->id);
    if (add_header(t, "Content-Type", "application/json") != 0 || add_header(t, "LinkPulse-Event", d->event) != 0 ||
        add_header(t, "LinkPulse-Delivery", id) != 0 || add_header(t, "LinkPulse-Signature", signature) != 0) {
        slot_free(t);
        return;
    }
    sodium_memzero(sig, sizeof(sig));
    sodium_memzero(signature, sizeof(signature));
    CURL *e = t->easy;
    curl_easy_setopt(e, CURLOPT_URL, h->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, WH_USER_AGENT);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)wh->cfg.timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)wh->cfg.timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->err);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, wh);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    if (curl_multi_add_handle(wh->multi, e) != CURLM_OK) {
        slot_free(t);
        return;
    }
    atomic_fetch_add(&wh->in_flight, 1);
}

static void result_done(struct store_op *op)
{
    struct result_op *ro = (struct result_op *)op;
    struct webhooks *wh = ro->wh;
    if (op->status != STORE_OK)
        log_error("webhooks: recording the result of delivery %lld failed", (long long)op->delivery.id);
    pthread_mutex_lock(&wh->lock);
    wh->settled[wh->nsettled++] = ro->slot;
    pthread_mutex_unlock(&wh->lock);
    free(ro);
    atomic_fetch_sub(&wh->results_pending, 1); /* last touch of wh: webhooks_stop waits for it */
}

/* A transfer ended: record the attempt (the slot stays busy until the
 * record is committed, so the delivery is not read as due meanwhile). */
static void finish(struct webhooks *wh, struct transfer *t, CURLcode cc)
{
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(wh->multi, t->easy);
    atomic_fetch_sub(&wh->in_flight, 1);
    bool ok = cc == CURLE_OK && status >= 200 && status < 300;
    uint64_t now = clock_mono_ms();
    breaker_record(wh, t->d.hook_id, ok, now);
    struct result_op *ro = calloc(1, sizeof(*ro));
    if (ro == NULL) {
        slot_free(t); /* stays pending; sent again */
        return;
    }
    struct store_delivery *d = &ro->op.delivery;
    *d = t->d;
    d->attempts = t->d.attempts + 1;
    d->last_status = (int)status;
    if (ok) {
        d->status = DELIVERY_DELIVERED;
        atomic_fetch_add(&wh->delivered, 1);
    } else {
        if (cc != CURLE_OK)
            snprintf(d->last_error, sizeof(d->last_error), "%.200s", t->err[0] ? t->err : curl_easy_strerror(cc));
        else
            snprintf(d->last_error, sizeof(d->last_error), "HTTP %ld", status);
        atomic_fetch_add(&wh->failed, 1);
        if ((unsigned)d->attempts >= wh->cfg.max_attempts) {
            d->status = DELIVERY_DEAD;
            atomic_fetch_add(&wh->dead, 1);
        } else {
            d->status = DELIVERY_PENDING;
            double jitter = (double)randombytes_uniform(1000000) / 1e6;
            d->next_attempt_at = clock_wall_ms() + (int64_t)webhook_backoff_ms(wh->cfg.retry_base_ms,
                                                                                (unsigned)d->attempts, jitter);
        }
    }
    ro->op.kind = STORE_DELIVERY_RESULT;
    ro->op.done = result_done;
    ro->wh = wh;
    ro->slot = (size_t)(t - wh->slots);
    curl_easy_cleanup(t->easy);
    t->easy = NULL;
    t->settling = true;
    atomic_fetch_add(&wh->results_pending, 1);
    if (store_submit(wh->store, &ro->op) != 0) {
        atomic_fetch_sub(&wh->results_pending, 1);
        free(ro);
        slot_free(t); /* the attempt is not recorded; it will be made again */
    }
}

struct due_ctx {
    struct webhooks *wh;
    uint64_t now;
};

static int on_due(void *arg, const struct store_delivery *d)
{
    struct due_ctx *c = arg;
    struct webhooks *wh = c->wh;
    if (busy_subject(wh, d))
        return 0;
    struct store_hook h;
    if (store_hook_get(wh->reader, 0, d->hook_id, &h) != STORE_OK || !h.enabled)
        return 0; /* disabled: its deliveries wait */
    if (!breaker_allows(wh, d->hook_id, c->now))
        return 0;
    start(wh, d, &h);
    return atomic_load(&wh->in_flight) >= WH_PARALLEL ? 1 : 0;
}

static void *webhook_main(void *arg)
{
    struct webhooks *wh = arg;
    pthread_setname_np(pthread_self(), "lp-webhooks");
    uint64_t next_scan = 0;
    while (!atomic_load(&wh->stopping)) {
        size_t settled[WH_PARALLEL], n;
        pthread_mutex_lock(&wh->lock);
        n = wh->nsettled;
        memcpy(settled, wh->settled, n * sizeof(settled[0]));
        wh->nsettled = 0;
        pthread_mutex_unlock(&wh->lock);
        for (size_t i = 0; i < n; i++)
            slot_free(&wh->slots[settled[i]]);
        uint64_t now = clock_mono_ms();
        if (now >= next_scan) {
            next_scan = now + WH_POLL_MS;
            struct due_ctx c = {wh, now};
            if (atomic_load(&wh->in_flight) < WH_PARALLEL)
                store_deliveries_due(wh->reader, clock_wall_ms(), WH_PARALLEL * 2, on_due, &c);
        }
        int running;
        curl_multi_perform(wh->multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(wh->multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE)
                continue;
            struct transfer *t;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
            finish(wh, t, m->data.result);
        }
        curl_multi_poll(wh->multi, NULL, 0, WH_POLL_MS / 2, NULL);
    }
    return NULL;
}

struct webhooks *webhooks_start(struct store *store, const struct webhook_config *cfg, char *err, size_t errcap)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errcap, "libcurl failed to initialise");
        return NULL;
    }
    struct webhooks *wh = calloc(1, sizeof(*wh));
    if (wh == NULL) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    wh->store = store;
    wh->cfg = *cfg;
    pthread_mutex_init(&wh->lock, NULL);
    wh->reader = store_reader_open(store);
    wh->multi = curl_multi_init();
    if (wh->reader == NULL || wh->multi == NULL || pthread_create(&wh->thread, NULL, webhook_main, wh) != 0) {
        snprintf(err, errcap, "cannot start the webhook worker");
        if (wh->reader != NULL)
            store_reader_close(wh->reader);
        if (wh->multi != NULL)
            curl_multi_cleanup(wh->multi);
        pthread_mutex_destroy(&wh->lock);
        free(wh);
        return NULL;
    }
    return wh;
}

void webhooks_stop(struct webhooks *wh)
{
    if (wh == NULL)
        return;
    atomic_store(&wh->stopping, true);
    curl_multi_wakeup(wh->multi);
    pthread_join(wh->thread, NULL);
    for (size_t i = 0; i < WH_PARALLEL; i++) {
        struct transfer *t = &wh->slots[i];
        if (t->easy != NULL)
            curl_multi_remove_handle(wh->multi, t->easy);
    }
    /* Result ops still at the writer (it runs until after us) report
     * into wh: wait for them. */
    while (atomic_load(&wh->results_pending) > 0)
        usleep(1000);
    for (size_t i = 0; i < WH_PARALLEL; i++)
        slot_free(&wh->slots[i]);
    curl_multi_cleanup(wh->multi);
    store_reader_close(wh->reader);
    pthread_mutex_destroy(&wh->lock);
    free(wh);
    curl_global_cleanup();
}

void webhooks_stats(struct webhooks *wh, struct webhook_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (wh == NULL)
        return;
    out->delivered = atomic_load(&wh->delivered);
    out->failed = atomic_load(&wh->failed);
    out->dead = atomic_load(&wh->dead);
    out->breaker_opened = atomic_load(&wh->opened);
    out->in_flight = atomic_load(&wh->in_flight);
}
