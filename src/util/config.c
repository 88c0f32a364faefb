#include "util/config.h"

#include "core/link.h"
#include "core/url.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char config_usage[] =
    "usage: linkpulse serve [options]\n"
    "       linkpulse --help | --version\n"
    "\n"
    "serve options (each also as an environment variable):\n"
    "  --listen HOST:PORT        address to listen on      LINKPULSE_LISTEN      (127.0.0.1:8080)\n"
    "  --data DIR                data directory (SQLite)   LINKPULSE_DATA        (./data)\n"
    "  --workers N               worker threads, 1-256     LINKPULSE_WORKERS     (number of cores)\n"
    "  --base-url URL            origin of short links     LINKPULSE_BASE_URL    (http://LISTEN)\n"
    "  --cache-mb N              link cache size in MiB    LINKPULSE_CACHE_MB    (64)\n"
    "  --code-length N           random code length, 4-32  LINKPULSE_CODE_LENGTH (7)\n"
    "  --access-log off|stderr|FILE                        LINKPULSE_ACCESS_LOG  (stderr)\n"
    "  --request-timeout-ms N    slow-client timeout       LINKPULSE_REQUEST_TIMEOUT_MS (10000)\n"
    "  --allow-anonymous         shorten without an account LINKPULSE_ALLOW_ANONYMOUS (off)\n"
    "  --trusted-proxies CIDR,.. peers whose X-Forwarded-For is believed  LINKPULSE_TRUSTED_PROXIES (none)\n"
    "  --rate-auth N             login/signup/refresh per IP, link password tries per IP and link,\n"
    "                            per minute                               LINKPULSE_RATE_AUTH (20)\n"
    "  --rate-api-free N         API requests per minute, free teams      LINKPULSE_RATE_API_FREE (600)\n"
    "  --rate-api-paid N         API requests per minute, paid teams      LINKPULSE_RATE_API_PAID (6000)\n"
    "  --rate-miss N             unknown-code lookups per IP per minute   LINKPULSE_RATE_MISS (120)\n"
    "  --tracking on|off         record visit details (off: counts only)  LINKPULSE_TRACKING (on)\n"
    "  --ip-tracking anonymized|full|off                                  LINKPULSE_IP_TRACKING (anonymized)\n"
    "  --respect-dnt             honour DNT: 1 and Sec-GPC: 1             LINKPULSE_RESPECT_DNT (off)\n"
    "  --visits-retention-days N keep raw visits this long (rollups stay) LINKPULSE_VISITS_RETENTION_DAYS (90)\n"
    "  --visit-flush-ms N        visits are synced to the journal this often LINKPULSE_VISIT_FLUSH_MS (200)\n"
    "  --visit-backlog-mb N      journal room for visits not yet applied  LINKPULSE_VISIT_BACKLOG_MB (4096)\n"
    "  --full-referrer           store the whole referrer, not just host  LINKPULSE_FULL_REFERRER (off)\n"
    "  --geoip PATH              MaxMind country/city database            LINKPULSE_GEOIP (none)\n"
    "  --geoip-header NAME       country header from a trusted proxy      LINKPULSE_GEOIP_HEADER (none)\n"
    "  --live-max-streams N      open live visit streams, instance-wide   LINKPULSE_LIVE_MAX_STREAMS (2000)\n"
    "  --live-max-team-streams N open live visit streams per team         LINKPULSE_LIVE_MAX_TEAM_STREAMS (100)\n"
    "  --live-heartbeat-ms N     keep-alive comment on idle streams       LINKPULSE_LIVE_HEARTBEAT_MS (15000)\n"
    "  --webhook-timeout-ms N    one webhook delivery attempt             LINKPULSE_WEBHOOK_TIMEOUT_MS (10000)\n"
    "  --webhook-max-attempts N  attempts before a delivery is dead       LINKPULSE_WEBHOOK_MAX_ATTEMPTS (8)\n"
    "  --webhook-retry-base-ms N first retry delay, doubling, +-20%       LINKPULSE_WEBHOOK_RETRY_BASE_MS (1000)\n"
    "  --webhook-breaker-failures N  failures in a row that open a webhook's breaker (5)\n"
    "  --webhook-breaker-cooldown-ms N  breaker open this long before a probe    (60000)\n"
    "  --webhook-allow-private   deliver to loopback/private addresses    LINKPULSE_WEBHOOK_ALLOW_PRIVATE (off)\n"
    "  --base-url-redirect URL   the bare default domain redirects here   LINKPULSE_BASE_URL_REDIRECT (a page)\n"
    "  --not-found-redirect URL  unknown codes redirect here              LINKPULSE_NOT_FOUND_REDIRECT (404 page)\n"
    "  --expired-redirect URL    expired/used-up links redirect here      LINKPULSE_EXPIRED_REDIRECT (410 page)\n"
    "\n"
    "LINKPULSE_ADMIN_KEY=KEY ensures an admin API key with that value exists.\n";

struct option_def {
    const char *flag;
    const char *env;
    int (*set)(struct config *c, const char *v, char *err, size_t errcap);
    bool boolean; /* may stand alone, meaning "1" */
};

static int parse_uint(const char *v, unsigned long min, unsigned long max, unsigned *out)
{
    if (v[0] < '0' || v[0] > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (errno != 0 || *end != '\0' || n < min || n > max)
        return -1;
    *out = (unsigned)n;
    return 0;
}

static int copy_str(char *dst, size_t cap, const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n >= cap)
        return -1;
    memcpy(dst, v, n + 1);
    return 0;
}

static int set_listen(struct config *c, const char *v, char *err, size_t errcap)
{
    const char *colon = strrchr(v, ':');
    const char *host = v;
    size_t hlen = colon ? (size_t)(colon - v) : 0;
    if (colon == NULL || hlen == 0)
        goto bad;
    if (host[0] == '[') {
        if (hlen < 3 || host[hlen - 1] != ']')
            goto bad;
        host++;
        hlen -= 2;
    } else if (memchr(host, ':', hlen) != NULL) {
        goto bad; /* IPv6 needs brackets */
    }
    if (hlen > CONFIG_HOST_MAX || parse_uint(colon + 1, 1, 65535, &c->listen_port) != 0)
        goto bad;
    for (size_t i = 0; i < hlen; i++) {
        char ch = host[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
              ch == '-' || ch == ':'))
            goto bad;
    }
    memcpy(c->listen_host, host, hlen);
    c->listen_host[hlen] = '\0';
    return 0;
bad:
    snprintf(err, errcap, "--listen: expected HOST:PORT (e.g. 127.0.0.1:8080 or [::1]:8080), got \"%s\"", v);
    return -1;
}

static int set_data(struct config *c, const char *v, char *err, size_t errcap)
{
    if (copy_str(c->data_dir, sizeof(c->data_dir), v) == 0)
        return 0;
    snprintf(err, errcap, "--data: expected a directory path of 1-%d bytes", CONFIG_PATH_MAX - 1);
    return -1;
}

static int set_workers(struct config *c, const char *v, char *err, size_t errcap)
{
    if (parse_uint(v, 1, CONFIG_WORKERS_MAX, &c->workers) == 0)
        return 0;
    snprintf(err, errcap, "--workers: expected an integer from 1 to %d, got \"%s\"", CONFIG_WORKERS_MAX, v);
    return -1;
}

static int set_base_url(struct config *c, const char *v, char *err, size_t errcap)
{
    char norm[URL_MAX_LEN + 1];
    size_t len;
    struct url_parts p;
    if (url_normalize(v, strlen(v), norm, sizeof(norm), &len) != 0 || url_split(norm, len, &p) != 0 ||
        !(p.rest_len == 1 && p.rest[0] == '/') || len >= sizeof(c->base_url)) {
        snprintf(err, errcap, "--base-url: expected an http(s) origin such as https://s.example.com, got \"%s\"", v);
        return -1;
    }
    memcpy(c->base_url, norm, len - 1); /* drop the path "/" */
    c->base_url[len - 1] = '\0';
    return 0;
}

/* domains (issue 4): --base-url-redirect and friends, normalised URLs */
static int set_redirect(char *dst, const char *flag, const char *v, char *err, size_t errcap)
{
    size_t len;
    if (url_normalize(v, strlen(v), dst, CONFIG_REDIRECT_MAX, &len) == 0)
        return 0;
    snprintf(err, errcap, "%s: expected an http(s) URL, got \"%s\"", flag, v);
    return -1;
}
static int set_base_redirect(struct config *c, const char *v, char *err, size_t errcap)
{
    return set_redirect(c->base_url_redirect, "--base-url-redirect", v, err, errcap);
}
static int set_not_found_redirect(struct config *c, const char *v, char *err, size_t errcap)
{
    return set_redirect(c->not_found_redirect, "--not-found-redirect", v, err, errcap);
}
static int set_expired_redirect(struct config *c, const char *v, char *err, size_t errcap)
{
    return set_redirect(c->expired_redirect, "--expired-redirect", v, err, errcap);
}

static int set_cache_mb(struct config *c, const char *v, char *err, size_t errcap)
{
    if (parse_uint(v, 1, CONFIG_CACHE_MB_MAX, &c->cache_mb) == 0)
        return 0;
    snprintf(err, errcap, "--cache-mb: expected an integer from 1 to %d, got \"%s\"", CONFIG_CACHE_MB_MAX, v);
    return -1;
}

static int set_code_length(struct config *c, const char *v, char *err, size_t errcap)
{
    if (parse_uint(v, LINK_CODE_LEN_MIN, LINK_CODE_LEN_MAX, &c->code_length) == 0)
        return 0;
    snprintf(err, errcap, "--code-length: expected an integer from %d to %d, got \"%s\"", LINK_CODE_LEN_MIN,
             LINK_CODE_LEN_MAX, v);
    return -1;
}

static int set_access_log(struct config *c, const char *v, char *err, size_t errcap)
{
    if (copy_str(c->access_log, sizeof(c->access_log), v) == 0)
        return 0;
    snprintf(err, errcap, "--access-log: expected off, stderr or a file path");
    return -1;
}

static int set_timeout(struct config *c, const char *v, char *err, size_t errcap)
{
    if (parse_uint(v, 100, 3600000, &c->request_timeout_ms) == 0)
        return 0;
    snprintf(err, errcap, "--request-timeout-ms: expected an integer from 100 to 3600000, got \"%s\"", v);
    return -1;
}

static int set_anonymous(struct config *c, const char *v, char *err, size_t errcap)
{
    if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "on") == 0) {
        c->allow_anonymous = true;
        return 0;
    }
    if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0 || strcmp(v, "off") == 0) {
        c->allow_anonymous = false;
        return 0;
    }
    snprintf(err, errcap, "--allow-anonymous: expected on or off, got \"%s\"", v);
    return -1;
}

static int parse_bool(const char *v, bool *out)
{
    if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "on") == 0) {
        *out = true;
        return 0;
    }
    if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0 || strcmp(v, "off") == 0) {
        *out = false;
        return 0;
    }
    return -1;
}

#define BOOL_SETTER(fn, field, flag)                                                                                   \
    static int fn(struct config *c, const char *v, char *err, size_t errcap)                                           \
    {                                                                                                                  \
        if (parse_bool(v, &c->field) == 0)                                                                             \
            return 0;                                                                                                  \
        snprintf(err, errcap, flag ": expected on or off, got \"%s\"", v);                                             \
        return -1;                                                                                                     \
    }
BOOL_SETTER(set_tracking, tracking, "--tracking")
BOOL_SETTER(set_dnt, respect_dnt, "--respect-dnt")
BOOL_SETTER(set_full_referrer, full_referrer, "--full-referrer")

static int set_ip_tracking(struct config *c, const char *v, char *err, size_t errcap)
{
    static const char *const modes[] = {"anonymized", "full", "off"};
    for (int i = 0; i < 3; i++)
        if (strcmp(v, modes[i]) == 0) {
            c->ip_tracking = i;
            return 0;
        }
    snprintf(err, errcap, "--ip-tracking: expected anonymized, full or off, got \"%s\"", v);
    return -1;
}

static int set_retention(struct config *c, const char *v, char *err, size_t errcap)
{
    if (parse_uint(v, 1, 36500, &c->retention_days) == 0)
        return 0;
    snprintf(err, errcap, "--visits-retention-days: expected an integer from 1 to 36500, got \"%s\"", v);
    return -1;
}

static int set_flush(struct config *c, const char *v, char *err, size_t errcap)
{
    if (parse_uint(v, 10, 1000, &c->visit_flush_ms) == 0)
        return 0;
    snprintf(err, errcap, "--visit-flush-ms: expected an integer from 10 to 1000, got \"%s\"", v);
    return -1;
}

#define UINT_SETTER(name, field, flag, lo, hi)                                                                         \
    static int name(struct config *c, const char *v, char *err, size_t errcap)                                         \
    {                                                                                                                  \
        if (parse_uint(v, lo, hi, &c->field) == 0)                                                                     \
            return 0;                                                                                                  \
        snprintf(err, errcap, flag ": expected an integer from %u to %u, got \"%s\"", (unsigned)(lo), (unsigned)(hi),  \
                 v);                                                                                                   \
        return -1;                                                                                                     \
    }
UINT_SETTER(set_backlog, visit_backlog_mb, "--visit-backlog-mb", 16, 1048576)
UINT_SETTER(set_live_max, live_max_streams, "--live-max-streams", 1, 100000)
UINT_SETTER(set_live_team_max, live_max_team_streams, "--live-max-team-streams", 1, 100000)
UINT_SETTER(set_live_hb, live_heartbeat_ms, "--live-heartbeat-ms", 100, 300000)
UINT_SETTER(set_wh_timeout, webhook_timeout_ms, "--webhook-timeout-ms", 100, 60000)
UINT_SETTER(set_wh_attempts, webhook_max_attempts, "--webhook-max-attempts", 1, 30)
UINT_SETTER(set_wh_base, webhook_retry_base_ms, "--webhook-retry-base-ms", 10, 600000)
UINT_SETTER(set_wh_failures, webhook_breaker_failures, "--webhook-breaker-failures", 1, 1000)
UINT_SETTER(set_wh_cooldown, webhook_breaker_cooldown_ms, "--webhook-breaker-cooldown-ms", 100, 3600000)
BOOL_SETTER(set_wh_private, webhook_allow_private, "--webhook-allow-private")

static int set_geoip(struct config *c, const char *v, char *err, size_t errcap)
{
    if (copy_str(c->geoip, sizeof(c->geoip), v) == 0)
        return 0;
    snprintf(err, errcap, "--geoip: expected a file path");
    return -1;
}

static int set_geoip_header(struct config *c, const char *v, char *err, size_t errcap)
{
    size_t n = strlen(v);
    bool ok = n > 0 && n < sizeof(c->geoip_header);
    for (size_t i = 0; ok && i < n; i++)
        ok =
            (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '-';
    if (!ok) {
        snprintf(err, errcap, "--geoip-header: expected a header name such as CF-IPCountry, got \"%s\"", v);
        return -1;
    }
    for (size_t i = 0; i <= n; i++) /* h2o keeps header names in lower case */
        c->geoip_header[i] = (v[i] >= 'A' && v[i] <= 'Z') ? (char)(v[i] + 32) : v[i];
    return 0;
}

static int set_trusted(struct config *c, const char *v, char *err, size_t errcap)
{
    char why[160];
    if (ipaddr_cidr_list_parse(v, strlen(v), &c->trusted_proxies, why, sizeof(why)) == 0)
        return 0;
    snprintf(err, errcap, "--trusted-proxies: %s", why);
    return -1;
}

#define RATE_SETTER(fn, field, flag)                                                                                   \
    static int fn(struct config *c, const char *v, char *err, size_t errcap)                                           \
    {                                                                                                                  \
        if (parse_uint(v, 1, 10000000, &c->field) == 0)                                                                \
            return 0;                                                                                                  \
        snprintf(err, errcap, flag ": expected requests per minute from 1 to 10000000, got \"%s\"", v);                \
        return -1;                                                                                                     \
    }
RATE_SETTER(set_rate_auth, rate_auth, "--rate-auth")
RATE_SETTER(set_rate_api_free, rate_api_free, "--rate-api-free")
RATE_SETTER(set_rate_api_paid, rate_api_paid, "--rate-api-paid")
RATE_SETTER(set_rate_miss, rate_miss, "--rate-miss")

static const struct option_def options[] = {
    {"--listen", "LINKPULSE_LISTEN", set_listen, false},
    {"--data", "LINKPULSE_DATA", set_data, false},
    {"--workers", "LINKPULSE_WORKERS", set_workers, false},
    {"--base-url", "LINKPULSE_BASE_URL", set_base_url, false},
    {"--cache-mb", "LINKPULSE_CACHE_MB", set_cache_mb, false},
    {"--code-length", "LINKPULSE_CODE_LENGTH", set_code_length, false},
    {"--access-log", "LINKPULSE_ACCESS_LOG", set_access_log, false},
    {"--request-timeout-ms", "LINKPULSE_REQUEST_TIMEOUT_MS", set_timeout, false},
    {"--allow-anonymous", "LINKPULSE_ALLOW_ANONYMOUS", set_anonymous, true},
    {"--trusted-proxies", "LINKPULSE_TRUSTED_PROXIES", set_trusted, false},
    {"--rate-auth", "LINKPULSE_RATE_AUTH", set_rate_auth, false},
    {"--rate-api-free", "LINKPULSE_RATE_API_FREE", set_rate_api_free, false},
    {"--rate-api-paid", "LINKPULSE_RATE_API_PAID", set_rate_api_paid, false},
    {"--rate-miss", "LINKPULSE_RATE_MISS", set_rate_miss, false},
    {"--tracking", "LINKPULSE_TRACKING", set_tracking, false},
    {"--ip-tracking", "LINKPULSE_IP_TRACKING", set_ip_tracking, false},
    {"--respect-dnt", "LINKPULSE_RESPECT_DNT", set_dnt, true},
    {"--visits-retention-days", "LINKPULSE_VISITS_RETENTION_DAYS", set_retention, false},
    {"--visit-flush-ms", "LINKPULSE_VISIT_FLUSH_MS", set_flush, false},
    {"--visit-backlog-mb", "LINKPULSE_VISIT_BACKLOG_MB", set_backlog, false},
    {"--full-referrer", "LINKPULSE_FULL_REFERRER", set_full_referrer, true},
    {"--geoip", "LINKPULSE_GEOIP", set_geoip, false},
    {"--geoip-header", "LINKPULSE_GEOIP_HEADER", set_geoip_header, false},
    {"--live-max-streams", "LINKPULSE_LIVE_MAX_STREAMS", set_live_max, false},
    {"--live-max-team-streams", "LINKPULSE_LIVE_MAX_TEAM_STREAMS", set_live_team_max, false},
    {"--live-heartbeat-ms", "LINKPULSE_LIVE_HEARTBEAT_MS", set_live_hb, false},
    {"--webhook-timeout-ms", "LINKPULSE_WEBHOOK_TIMEOUT_MS", set_wh_timeout, false},
    {"--webhook-max-attempts", "LINKPULSE_WEBHOOK_MAX_ATTEMPTS", set_wh_attempts, false},
    {"--webhook-retry-base-ms", "LINKPULSE_WEBHOOK_RETRY_BASE_MS", set_wh_base, false},
    {"--webhook-breaker-failures", "LINKPULSE_WEBHOOK_BREAKER_FAILURES", set_wh_failures, false},
    {"--webhook-breaker-cooldown-ms", "LINKPULSE_WEBHOOK_BREAKER_COOLDOWN_MS", set_wh_cooldown, false},
    {"--webhook-allow-private", "LINKPULSE_WEBHOOK_ALLOW_PRIVATE", set_wh_private, true},
    {"--base-url-redirect", "LINKPULSE_BASE_URL_REDIRECT", set_base_redirect, false},
    {"--not-found-redirect", "LINKPULSE_NOT_FOUND_REDIRECT", set_not_found_redirect, false},
    {"--expired-redirect", "LINKPULSE_EXPIRED_REDIRECT", set_expired_redirect, false},
};
#define NOPTIONS (sizeof(options) / sizeof(options[0]))

int config_parse(struct config *c, int argc, char *const *argv, config_getenv_fn getenv_fn, unsigned default_workers,
                 char *err, size_t errcap)
{
    memset(c, 0, sizeof(*c));
    memcpy(c->listen_host, "127.0.0.1", sizeof("127.0.0.1"));
    c->listen_port = 8080;
    memcpy(c->data_dir, "./data", sizeof("./data"));
    c->workers = default_workers < 1 ? 1 : default_workers > CONFIG_WORKERS_MAX ? CONFIG_WORKERS_MAX : default_workers;
    c->cache_mb = 64;
    c->code_length = LINK_CODE_LEN_DEFAULT;
    memcpy(c->access_log, "stderr", sizeof("stderr"));
    c->request_timeout_ms = 10000;
    c->rate_auth = 20;
    c->rate_api_free = 600;
    c->rate_api_paid = 6000;
    c->rate_miss = 120;
    c->tracking = true;
    c->retention_days = 90;
    c->visit_flush_ms = 200;
    c->visit_backlog_mb = 4096; /* STORE_VISIT_BACKLOG_MB */
    c->live_max_streams = 2000;
    c->live_max_team_streams = 100;
    c->live_heartbeat_ms = 15000;
    c->webhook_timeout_ms = 10000;
    c->webhook_max_attempts = 8;
    c->webhook_retry_base_ms = 1000;
    c->webhook_breaker_failures = 5;
    c->webhook_breaker_cooldown_ms = 60000;

    const char *flag_value[NOPTIONS] = {0};
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        const char *eq = strchr(arg, '=');
        size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
        size_t k = 0;
        while (k < NOPTIONS && !(strlen(options[k].flag) == nlen && strncmp(options[k].flag, arg, nlen) == 0))
            k++;
        if (k == NOPTIONS) {
            snprintf(err, errcap, "unknown option \"%s\" (see linkpulse --help)", arg);
            return 2;
        }
        if (eq != NULL) {
            flag_value[k] = eq + 1;
        } else if (options[k].boolean) {
            flag_value[k] = "1";
        } else if (i + 1 < argc) {
            flag_value[k] = argv[++i];
        } else {
            snprintf(err, errcap, "%s: missing value", options[k].flag);
            return 2;
        }
    }
    for (size_t k = 0; k < NOPTIONS; k++) {
        const char *v = flag_value[k];
        if (v == NULL && getenv_fn != NULL)
            v = getenv_fn(options[k].env);
        if (v == NULL)
            continue;
        if (options[k].set(c, v, err, errcap) != 0) {
            if (flag_value[k] == NULL) { /* name the variable the value came from */
                size_t n = strlen(err);
                snprintf(err + n, errcap - n, " (from %s)", options[k].env);
            }
            return 2;
        }
    }
    if (c->base_url[0] == '\0') {
        bool v6 = strchr(c->listen_host, ':') != NULL;
        snprintf(c->base_url, sizeof(c->base_url), "http://%s%s%s:%u", v6 ? "[" : "", c->listen_host, v6 ? "]" : "",
                 c->listen_port);
        char tmp[CONFIG_BASE_URL_MAX];
        memcpy(tmp, c->base_url, sizeof(tmp));
        if (set_base_url(c, tmp, err, errcap) != 0)
            return 2;
    }
    return 0;
}
