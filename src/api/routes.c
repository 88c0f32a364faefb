/* routes: the table of every API endpoint and the dispatcher that applies
 * authentication and rate limits before any handler runs. The table is
 * also what `linkpulse routes` prints, so the black-box authorization
 * matrix covers every endpoint, including ones added later. */
#include "api/api.h"

#include "http/server.h"

#include <string.h>

const struct api_route api_routes[] = {
    {"POST", "/api/v1/auth/signup", ROUTE_AUTH, API_AUTH_PUBLIC, api_auth_signup},
    {"POST", "/api/v1/auth/login", ROUTE_AUTH, API_AUTH_PUBLIC, api_auth_login},
    {"POST", "/api/v1/auth/refresh", ROUTE_AUTH, API_AUTH_PUBLIC, api_auth_refresh},
    {"POST", "/api/v1/auth/logout", ROUTE_AUTH, API_AUTH_PUBLIC, api_auth_logout},
    {"GET", "/api/v1/me", ROUTE_ACCOUNT, API_AUTH_REQUIRED, api_me},
    {"GET", "/api/v1/links", ROUTE_LINKS, API_AUTH_REQUIRED, api_links},
    {"POST", "/api/v1/links", ROUTE_LINKS, API_AUTH_ANON_OK, api_links},
    /* tags, search (issue 4): before /links/{code}, which "suggest" would match */
    {"GET", "/api/v1/links/suggest", ROUTE_LINKS, API_AUTH_REQUIRED, api_links_suggest},
    {"GET", "/api/v1/tags", ROUTE_LINKS, API_AUTH_REQUIRED, api_tags_list},
    {"PATCH", "/api/v1/tags/{name}", ROUTE_LINKS, API_AUTH_REQUIRED, api_tag_patch},
    {"DELETE", "/api/v1/tags/{name}", ROUTE_LINKS, API_AUTH_REQUIRED, api_tag_delete},
    /* bulk creation, import, export (issue 4) */
    {"POST", "/api/v1/links/bulk", ROUTE_LINKS, API_AUTH_REQUIRED, api_links_bulk},
    {"POST", "/api/v1/links/import", ROUTE_LINKS, API_AUTH_REQUIRED, api_links_import},
    {"GET", "/api/v1/links/export", ROUTE_LINKS, API_AUTH_REQUIRED, api_links_export},
    {"GET", "/api/v1/links/{code}", ROUTE_LINK, API_AUTH_REQUIRED, api_link_get},
    {"PATCH", "/api/v1/links/{code}", ROUTE_LINK, API_AUTH_REQUIRED, api_link_patch},
    {"DELETE", "/api/v1/links/{code}", ROUTE_LINK, API_AUTH_REQUIRED, api_link_delete},
    {"GET", "/api/v1/links/{code}/stats", ROUTE_STATS, API_AUTH_REQUIRED, api_link_stats},
    {"GET", "/api/v1/links/{code}/visits", ROUTE_STATS, API_AUTH_REQUIRED, api_link_visits},
    /* redirect rules (issue 4) */
    {"GET", "/api/v1/links/{code}/rules", ROUTE_LINK, API_AUTH_REQUIRED, api_link_rules},
    {"PUT", "/api/v1/links/{code}/rules", ROUTE_LINK, API_AUTH_REQUIRED, api_link_rules},
    {"GET", "/api/v1/stats", ROUTE_STATS, API_AUTH_REQUIRED, api_team_stats},
    {"GET", "/api/v1/visits/orphan", ROUTE_STATS, API_AUTH_REQUIRED, api_orphan_visits},
    {"GET", "/api/v1/links/{code}/live", ROUTE_STATS, API_AUTH_REQUIRED, api_link_live},
    {"GET", "/api/v1/live", ROUTE_STATS, API_AUTH_REQUIRED, api_team_live},
    {"GET", "/api/v1/webhooks", ROUTE_ACCOUNT, API_AUTH_REQUIRED, api_hooks_list},
    {"POST", "/api/v1/webhooks", ROUTE_ACCOUNT, API_AUTH_REQUIRED, api_hooks_create},
    {"GET", "/api/v1/webhooks/{id}", ROUTE_ACCOUNT, API_AUTH_REQUIRED, api_hook_get},
    {"PATCH", "/api/v1/webhooks/{id}", ROUTE_ACCOUNT, API_AUTH_REQUIRED, api_hook_patch},
    {"DELETE", "/api/v1/webhooks/{id}", ROUTE_ACCOUNT, API_AUTH_REQUIRED, api_hook_delete},
    {"GET", "/api/v1/webhooks/{id}/deliveries", ROUTE_ACCOUNT, API_AUTH_REQUIRED, api_hook_deliveries},
    {"POST", "/api/v1/webhooks/{id}/deliveries/{delivery_id}/retry", ROUTE_ACCOUNT, API_AUTH_REQUIRED,
     api_delivery_retry},
    {"GET", "/api/v1/teams", ROUTE_ACCOUNT, API_AUTH_REQUIRED, api_teams_list},
    {"POST", "/api/v1/teams", ROUTE_ACCOUNT, API_AUTH_REQUIRED, api_teams_create},
    {"GET", "/api/v1/teams/{id}", ROUTE_ACCOUNT, API_AUTH_REQUIRED, api_team_get},
    {"PATCH", "/api/v1/teams/{id}", ROUTE_ACCOUNT, API_AUTH_REQUIRED, api_team_patch},
    {"GET", "/api/v1/teams/{id}/members", ROUTE_ACCOUNT, API_AUTH_REQUIRED, api_members_list},
    {"POST", "/api/v1/teams/{id}/members", ROUTE_ACCOUNT, API_AUTH_REQUIRED, api_members_add},
    {"PATCH", "/api/v1/teams/{id}/members/{user_id}", ROUTE_ACCOUNT, API_AUTH_REQUIRED, api_member_patch},
    {"DELETE", "/api/v1/teams/{id}/members/{user_id}", ROUTE_ACCOUNT, API_AUTH_REQUIRED, api_member_delete},
    {"GET", "/api/v1/api-keys", ROUTE_ACCOUNT, API_AUTH_REQUIRED, api_keys_list},
    {"POST", "/api/v1/api-keys", ROUTE_ACCOUNT, API_AUTH_REQUIRED, api_keys_create},
    {"DELETE", "/api/v1/api-keys/{id}", ROUTE_ACCOUNT, API_AUTH_REQUIRED, api_key_delete},
    /* domains (issue 4) */
    {"GET", "/api/v1/domains", ROUTE_ACCOUNT, API_AUTH_REQUIRED, api_domains_list},
    {"POST", "/api/v1/domains", ROUTE_ACCOUNT, API_AUTH_REQUIRED, api_domains_create},
    {"GET", "/api/v1/domains/{hostname}", ROUTE_ACCOUNT, API_AUTH_REQUIRED, api_domain_get},
    {"PATCH", "/api/v1/domains/{hostname}", ROUTE_ACCOUNT, API_AUTH_REQUIRED, api_domain_patch},
    {"DELETE", "/api/v1/domains/{hostname}", ROUTE_ACCOUNT, API_AUTH_REQUIRED, api_domain_delete},
    /* QR codes (issue 4) */
    {"GET", "/api/v1/links/{code}/qr", ROUTE_LINK, API_AUTH_REQUIRED, api_link_qr},
};
const size_t api_nroutes = sizeof(api_routes) / sizeof(api_routes[0]);

/* Matches path against pattern, collecting {params}. */
static bool match(const char *pattern, const char *path, size_t plen, h2o_iovec_t *params)
{
    size_t np = 0, i = 0;
    const char *pat = pattern;
    while (*pat != '\0') {
        if (*pat == '{') {
            const char *close = strchr(pat, '}');
            size_t start = i;
            while (i < plen && path[i] != '/')
                i++;
            if (i == start || np == API_PARAMS_MAX)
                return false;
            params[np++] = h2o_iovec_init(path + start, i - start);
            pat = close + 1;
        } else {
            if (i >= plen || path[i] != *pat)
                return false;
            i++;
            pat++;
        }
    }
    return i == plen;
}

void api_dispatch(struct reqctx *rc)
{
    h2o_iovec_t m = rc->req->method;
    h2o_iovec_t params[API_PARAMS_MAX];
    const struct api_route *route = NULL;
    char allow[64] = "";
    size_t alen = 0;
    for (size_t i = 0; i < api_nroutes; i++) {
        if (!match(api_routes[i].pattern, rc->path.base, rc->path.len, params))
            continue;
        rc->route = api_routes[i].metric;
        if (h2o_memis(m.base, m.len, api_routes[i].method, strlen(api_routes[i].method))) {
            route = &api_routes[i];
            break;
        }
        int n = snprintf(allow + alen, sizeof(allow) - alen, "%s%s", alen ? ", " : "", api_routes[i].method);
        if (n > 0 && (size_t)n < sizeof(allow) - alen)
            alen += (size_t)n;
    }
    if (route == NULL) {
        if (alen == 0) {
            respond_problem(rc, 404, "not-found", "Not found", "no API endpoint at this path", NULL);
        } else {
            char *a = h2o_mem_alloc_pool(&rc->req->pool, alen);
            memcpy(a, allow, alen);
            h2o_add_header(&rc->req->pool, &rc->req->res.headers, H2O_TOKEN_ALLOW, NULL, a, alen);
            respond_problem(rc, 405, "method-not-allowed", "Method not allowed", "see the Allow header", NULL);
        }
        return;
    }
    uint8_t bucket[16];
    api_client_bucket(rc, bucket);
    const struct config *cfg = rc->w->app->cfg;
    switch (route->auth) {
    case API_AUTH_PUBLIC:
        /* Before any parsing or hashing: a flood costs one bucket lookup. */
        if (!api_rate_limit(rc, "auth:", bucket, 16, cfg->rate_auth))
            return;
        memset(&rc->principal, 0, sizeof(rc->principal));
        break;
    case API_AUTH_ANON_OK:
        if (api_authenticate(rc, cfg->allow_anonymous) != 0)
            return;
        if (rc->principal.kind == PRINCIPAL_ANONYMOUS &&
            !api_rate_limit(rc, "anon:", bucket, 16, cfg->rate_api_free))
            return;
        break;
    case API_AUTH_REQUIRED:
        if (api_authenticate(rc, false) != 0)
            return;
        break;
    }
    route->handler(rc, params);
}
