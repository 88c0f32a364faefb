/* webhook: the delivery worker for webhook events.
 *
 * The store writes every event into an outbox table in the transaction of
 * the change (store/sqlite_webhooks.c). This worker, on its own thread,
 * reads the deliveries that are due (only the oldest pending one per
 * webhook and link, so a link's events arrive in order), POSTs them with
 * libcurl's multi interface (many at once, each with a timeout), and
 * reports every attempt back through a writer op: delivered on a 2xx;
 * otherwise retried after base × 2^(attempt-1) ± 20 %, and after the last
 * attempt marked dead (the API lists and retries dead deliveries).
 *
 * A circuit breaker per webhook: after `breaker_failures` failed attempts
 * in a row it opens and nothing is sent to that webhook for
 * `breaker_cooldown_ms`; then one delivery goes out as a probe (half open):
 * success closes the breaker, failure opens it again. Deliveries held back
 * by an open breaker keep their attempts.
 *
 * Each request carries `LinkPulse-Signature: t=<unix seconds>,v1=<hex
 * HMAC-SHA256(secret, "<t>.<body>")>`, `LinkPulse-Event` and
 * `LinkPulse-Delivery`. Addresses in private, loopback and link-local
 * ranges are refused unless allow_private is set.
 *
 * Nothing here runs on a worker loop or holds the writer: redirects and
 * API calls never wait for a delivery. Pending deliveries live in the
 * database, so a restart resumes them.
 *
 * Threading: webhooks_start/stop from the main thread; everything else on
 * the worker's thread. webhook_sign and webhook_backoff_ms are pure. */
#ifndef LP_EVENTS_WEBHOOK_H
#define LP_EVENTS_WEBHOOK_H

#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct webhook_config {
    unsigned timeout_ms;
    unsigned max_attempts;
    unsigned retry_base_ms;
    unsigned breaker_failures;
    unsigned breaker_cooldown_ms;
    bool allow_private;
};

#define WEBHOOK_SIG_HEX 64

struct webhooks;

struct webhooks *webhooks_start(struct store *store, const struct webhook_config *cfg, char *err, size_t errcap);
/* Stops sending (transfers in flight are abandoned and stay pending). */
void webhooks_stop(struct webhooks *wh);
/* Counters for /metrics (any thread). */
struct webhook_stats {
    uint64_t delivered, failed, dead, breaker_opened, in_flight;
};
void webhooks_stats(struct webhooks *wh, struct webhook_stats *out);

/* hex(HMAC-SHA256(secret, "<ts>.<body>")) into out (WEBHOOK_SIG_HEX + 1). */
void webhook_sign(const char *secret, int64_t ts, const char *body, size_t len, char out[WEBHOOK_SIG_HEX + 1]);
/* The wait before attempt `attempt` + 1 after `attempt` failures (>= 1):
 * base × 2^(attempt-1), times 0.8 + 0.4 × jitter (jitter in [0, 1)),
 * capped at one hour. */
uint64_t webhook_backoff_ms(unsigned base_ms, unsigned attempt, double jitter);

#endif
