/* config: `linkpulse serve` settings from flags and LINKPULSE_* environment
 * variables (a flag wins over its variable). Parsing is pure: it reads only
 * its arguments and the getenv callback, so tests drive it with tables.
 * The resulting struct is filled once at start-up and read-only after. */
#ifndef LP_UTIL_CONFIG_H
#define LP_UTIL_CONFIG_H

#include "util/ipaddr.h"

#include <stdbool.h>
#include <stddef.h>

#define CONFIG_PATH_MAX 1024
#define CONFIG_HOST_MAX 255
#define CONFIG_BASE_URL_MAX 512
#define CONFIG_REDIRECT_MAX 3073 /* a normalised URL (core/url.h) and its NUL */
#define CONFIG_WORKERS_MAX 256
#define CONFIG_CACHE_MB_MAX (1024 * 1024)

struct config {
    char listen_host[CONFIG_HOST_MAX + 1]; /* without brackets for IPv6 */
    unsigned listen_port;
    char data_dir[CONFIG_PATH_MAX];
    unsigned workers;
    char base_url[CONFIG_BASE_URL_MAX]; /* no trailing slash */
    unsigned cache_mb;
    unsigned code_length;
    char access_log[CONFIG_PATH_MAX]; /* "off", "stderr" or a path */
    unsigned request_timeout_ms;
    bool allow_anonymous;
    struct ipaddr_cidr_list trusted_proxies;
    unsigned rate_auth;     /* login/signup/refresh per client IP per minute */
    unsigned rate_api_free; /* API requests per principal per minute, free teams */
    unsigned rate_api_paid;
    unsigned rate_miss; /* unknown-code redirects per client IP per minute */
    bool tracking;      /* record visit details (off: totals only) */
    int ip_tracking;    /* 0 anonymized, 1 full, 2 off (enum sink_ip_mode) */
    bool respect_dnt;   /* DNT: 1 / Sec-GPC: 1 turn details off for that request */
    unsigned retention_days;
    unsigned visit_flush_ms;
    unsigned visit_backlog_mb; /* journal bytes for visits not yet applied, MiB */
    bool full_referrer;
    char geoip[CONFIG_PATH_MAX];    /* MaxMind database, "" for none */
    char geoip_header[64];          /* country header set by a trusted proxy, "" for none */
    unsigned live_max_streams;      /* open live (SSE) streams on this instance */
    unsigned live_max_team_streams; /* ... per team */
    unsigned live_heartbeat_ms;     /* comment line on idle streams this often */
    unsigned webhook_timeout_ms;    /* one delivery attempt */
    unsigned webhook_max_attempts;  /* then the delivery is dead */
    unsigned webhook_retry_base_ms; /* first retry delay, doubling */
    unsigned webhook_breaker_failures;
    unsigned webhook_breaker_cooldown_ms;
    bool webhook_allow_private; /* deliver to loopback/private addresses */
    /* domains (issue 4): what the default domain answers instead of the
     * built-in pages, "" for the page: the bare domain, an unknown code,
     * an expired or used-up link */
    char base_url_redirect[CONFIG_REDIRECT_MAX];
    char not_found_redirect[CONFIG_REDIRECT_MAX];
    char expired_redirect[CONFIG_REDIRECT_MAX];
};

typedef const char *(*config_getenv_fn)(const char *name);

/* Parses the arguments after "serve". Returns 0; or 2 with a message naming
 * the flag in err (the exit status for bad usage). default_workers is the
 * number of cores. */
int config_parse(struct config *c, int argc, char *const *argv, config_getenv_fn getenv_fn, unsigned default_workers,
                 char *err, size_t errcap);

/* The usage text for --help. */
extern const char config_usage[];

#endif
