/* principal: who is calling, in which team, and whether they may call this
 * often. Every API route goes through api_authenticate (see routes.c), so a
 * handler always finds rc->principal resolved and checked.
 *
 * Credentials, tried in this order:
 *   Authorization: Bearer <JWT>          a user (access token, 15 minutes)
 *   Authorization: Bearer <key> / X-Api-Key: <key>
 *                                        a team API key (lp_...) or an
 *                                        operator key; looked up by SHA-256
 * The team is the key's own, or for users ?team_id= (else their personal
 * team), resolved through their membership: a team they are not in is 404.
 *
 * Each worker remembers the API keys, teams' plans, active users and
 * memberships it looked up lately (struct key_memo and the others in
 * http/server.h): a key's two SQLite lookups were a quarter of a
 * creation's instructions on the worker, and a user's call made three. A
 * memo is used only while the store's access_version has not moved since
 * it was read (any process that commits a change to keys, teams, users or
 * memberships bumps it), so a revoked key, a disabled user or a removed
 * member is refused by the next request, and for at most ACCESS_MEMO_MS.
 * A key's expiry and a token's are checked on every use. */
#include "api/api.h"

#include "auth/apikey.h"
#include "auth/token.h"
#include "http/server.h"
#include "util/clock.h"
#include "util/query.h"

#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define KEY_TOUCH_INTERVAL_MS (60 * 1000) /* last_used_at is kept to this precision */
#define ACCESS_MEMO_MS (10 * 1000)        /* a memo's longest life, should a bump be lost with its process */

void api_client_ip(struct reqctx *rc)
{
    if (rc->client_ip_set)
        return;
    rc->client_ip_set = true;
    h2o_req_t *req = rc->req;
    struct sockaddr_storage ss;
    struct ipaddr peer = {0}, client;
    if (req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss) == 0 ||
        ipaddr_from_sockaddr((struct sockaddr *)&ss, &peer) != 0)
        peer.family = 4; /* 0.0.0.0: no peer (cannot happen on TCP) */
    const struct ipaddr_cidr_list *trusted = &rc->w->app->cfg->trusted_proxies;
    rc->peer_trusted = trusted->n > 0 && ipaddr_in_list(trusted, &peer);
    if (!rc->peer_trusted) {
        client = peer;
    } else {
        /* Several X-Forwarded-For fields are one list in order; join them
         * whole (headers are capped at 16 KiB): the right end, written by
         * our own proxies, must never be the part that is cut. */
        size_t total = 0;
        for (ssize_t i = -1; (i = h2o_find_header(&req->headers, H2O_TOKEN_X_FORWARDED_FOR, i)) != -1;)
            total += req->headers.entries[i].value.len + 1;
        char *xff = h2o_mem_alloc_pool(&req->pool, total + 1);
        size_t n = 0;
        for (ssize_t i = -1; (i = h2o_find_header(&req->headers, H2O_TOKEN_X_FORWARDED_FOR, i)) != -1;) {
            h2o_iovec_t v = req->headers.entries[i].value;
            if (n > 0)
                xff[n++] = ',';
            memcpy(xff + n, v.base, v.len);
            n += v.len;
        }
        client = ipaddr_client(&peer, trusted, xff, n);
    }
    memset(rc->client_ip, 0, 16);
    if (client.family == 4) {
        rc->client_ip[10] = rc->client_ip[11] = 0xff;
        memcpy(rc->client_ip + 12, client.bytes, 4);
    } else {
        memcpy(rc->client_ip, client.bytes, 16);
    }
}

void api_client_bucket(struct reqctx *rc, uint8_t out[16])
{
    api_client_ip(rc);
    memcpy(out, rc->client_ip, 16);
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(out, v4mapped, 12) != 0)
        memset(out + 8, 0, 8); /* one IPv6 client usually holds a whole /64 */
}

bool api_rate_limit(struct reqctx *rc, const char *scope, const void *id, size_t idlen, uint32_t per_minute)
{
    char key[64];
    size_t sl = strlen(scope);
    if (sl + idlen > sizeof(key))
        idlen = sizeof(key) - sl;
    memcpy(key, scope, sl);
    memcpy(key + sl, id, idlen);
    struct ratelimit_result r;
    if (ratelimit_take(rc->w->app->limiter, key, sl + idlen, per_minute, per_minute, clock_mono_ms(), &r) != 0)
        return true; /* a limiter failure must not lock everyone out */
    respond_ratelimit_headers(rc, r.limit, r.remaining, r.reset_s, r.allowed ? 0 : r.retry_after_s);
    if (!r.allowed) {
        char detail[96];
        snprintf(detail, sizeof(detail), "rate limit of %u requests per minute exceeded; retry in %u s", per_minute,
                 r.retry_after_s);
        respond_problem(rc, 429, "rate-limited", "Too many requests", detail, NULL);
    }
    return r.allowed;
}

bool api_miss_allowed(struct reqctx *rc)
{
    uint8_t bucket[16];
    api_client_bucket(rc, bucket);
    return api_rate_limit(rc, "miss:", bucket, sizeof(bucket), rc->w->app->cfg->rate_miss);
}

/* The 503 of a lookup that failed in the store. Every lookup here says
 * STORE_NOT_FOUND (the caller's 401 or 404) or fails; nothing else is the
 * caller's doing. */
static const char UNREADABLE[] = "the store cannot be read; try again";

static h2o_iovec_t presented_credential(h2o_req_t *req)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    if (i >= 0) {
        h2o_iovec_t v = req->headers.entries[i].value;
        if (v.len > 7 && h2o_lcstris(v.base, 7, H2O_STRLIT("bearer ")))
            return h2o_iovec_init(v.base + 7, v.len - 7);
        return h2o_iovec_init(NULL, 0);
    }
    i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-api-key"), -1);
    return i >= 0 ? req->headers.entries[i].value : h2o_iovec_init(NULL, 0);
}

static void unauthorized(struct reqctx *rc, const char *detail)
{
    h2o_add_header(&rc->req->pool, &rc->req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, NULL,
                   H2O_STRLIT("Bearer realm=\"linkpulse\""));
    respond_problem(rc, 401, "unauthorized", "Authentication required", detail, NULL);
}

static void touch_done(struct store_op *op)
{
    free(op);
}

/* Records the key's use at most once a minute, without waiting for it. */
static void touch_key(struct worker *w, struct key_memo *k)
{
    int64_t now = clock_wall_ms();
    if (now - k->last_used_at < KEY_TOUCH_INTERVAL_MS)
        return;
    struct store_op *op = calloc(1, sizeof(*op));
    if (op == NULL)
        return;
    op->kind = STORE_APIKEY_TOUCH;
    op->key.id = k->id;
    op->done = touch_done;
    if (store_submit(w->app->store, op) != 0)
        free(op);
    else
        k->last_used_at = now;
}

/* The stamp a lookup made now gets: the store's access_version, read
 * before the lookup, so that a change committed meanwhile leaves the memo
 * stale, not wrong. Unset when the version cannot be read (no memos). */
static struct memo_stamp memo_now(struct worker *w)
{
    _Atomic uint64_t *v = w->app->store->access_version;
    struct memo_stamp now = {.at_ms = clock_mono_ms(), .set = v != NULL};
    if (v != NULL)
        now.version = atomic_load_explicit(v, memory_order_acquire);
    return now;
}

static bool memo_valid(const struct memo_stamp *m, const struct memo_stamp *now)
{
    return m->set && m->version == now->version && now->at_ms - m->at_ms < ACCESS_MEMO_MS;
}

/* The key with this hash, from the worker's memo or the store, in *out:
 * STORE_OK, STORE_NOT_FOUND (none, or revoked) or STORE_ERROR. */
static int find_key(struct worker *w, const unsigned char hash[STORE_KEY_HASH_LEN], struct key_memo **out)
{
    struct key_memo *m = &w->key_memo[hash[0] % WORKER_ACCESS_MEMOS];
    struct memo_stamp now = memo_now(w);
    if (!memo_valid(&m->stamp, &now) || crypto_verify_32(m->hash, hash) != 0) {
        struct store_apikey k;
        int st = store_apikey_by_hash(w->reader, hash, &k);
        if (st != STORE_OK)
            return st;
        if (crypto_verify_32(hash, k.hash) != 0 || k.revoked_at != 0)
            return STORE_NOT_FOUND;
        *m = (struct key_memo){.stamp = now,
                               .id = k.id,
                               .team_id = k.team_id,
                               .expires_at = k.expires_at,
                               .last_used_at = k.last_used_at,
                               .role = k.role,
                               .operator_key = k.operator_key};
        memcpy(m->hash, k.hash, sizeof(m->hash));
    }
    *out = m;
    return STORE_OK;
}

/* by_key and by_jwt: STORE_OK, STORE_NOT_FOUND (refused) or STORE_ERROR. */
static int by_key(struct reqctx *rc, h2o_iovec_t cred)
{
    struct principal *p = &rc->principal;
    unsigned char hash[STORE_KEY_HASH_LEN];
    if (cred.len > APIKEY_MAX_LEN)
        return STORE_NOT_FOUND;
    /* Team keys carry a checksum: a malformed one is refused without a lookup. */
    if (cred.len >= 3 && memcmp(cred.base, TOKEN_APIKEY_PREFIX, 3) == 0 &&
        !token_apikey_well_formed(cred.base, cred.len))
        return STORE_NOT_FOUND;
    token_hash(cred.base, cred.len, hash);
    struct key_memo *k;
    int st = find_key(rc->w, hash, &k);
    if (st != STORE_OK)
        return st;
    if (k->expires_at != 0 && k->expires_at <= clock_wall_ms())
        return STORE_NOT_FOUND;
    touch_key(rc->w, k);
    p->key_id = k->id;
    if (k->operator_key) {
        p->kind = PRINCIPAL_OPERATOR;
        p->team_id = API_INSTANCE_TEAM;
        p->role = ROLE_ADMIN;
    } else {
        p->kind = PRINCIPAL_KEY;
        p->team_id = k->team_id;
        p->role = k->role; /* user_id stays 0: a key never owns what its maker owns */
    }
    return STORE_OK;
}

/* The user with this id, from the worker's memo or the store, in *out:
 * STORE_OK, STORE_NOT_FOUND (none, or disabled) or STORE_ERROR. */
static int active_user(struct worker *w, int64_t id, struct user_memo **out)
{
    struct user_memo *m = &w->user_memo[(uint64_t)id % WORKER_ACCESS_MEMOS];
    struct memo_stamp now = memo_now(w);
    if (!memo_valid(&m->stamp, &now) || m->id != id) {
        struct store_user u;
        int st = store_user_by_id(w->reader, id, &u);
        if (st != STORE_OK)
            return st;
        if (u.disabled_at != 0)
            return STORE_NOT_FOUND;
        *m = (struct user_memo){.stamp = now, .id = u.id, .personal_team_id = u.personal_team_id};
    }
    *out = m;
    return STORE_OK;
}

static int by_jwt(struct reqctx *rc, h2o_iovec_t cred)
{
    struct jwt_claims claims;
    if (jwt_verify(&rc->w->app->jwt, cred.base, cred.len, clock_wall_ms() / 1000, &claims) != 0)
        return STORE_NOT_FOUND;
    struct user_memo *u;
    int st = active_user(rc->w, claims.sub, &u);
    if (st != STORE_OK)
        return st;
    rc->principal.kind = PRINCIPAL_USER;
    rc->principal.user_id = u->id;
    rc->principal.team_id = u->personal_team_id;
    rc->principal.role = ROLE_ADMIN; /* of the personal team; re-resolved if another team is picked */
    return STORE_OK;
}

/* The team's plan, from the worker's memo or the store: STORE_OK,
 * STORE_NOT_FOUND or STORE_ERROR. */
static int team_plan(struct worker *w, int64_t team_id, enum plan *out)
{
    struct team_memo *m = &w->team_memo[(uint64_t)team_id % WORKER_ACCESS_MEMOS];
    struct memo_stamp now = memo_now(w);
    if (!memo_valid(&m->stamp, &now) || m->id != team_id) {
        struct store_team t;
        int st = store_team_get(w->reader, team_id, &t);
        if (st != STORE_OK)
            return st;
        *m = (struct team_memo){.stamp = now, .id = team_id, .plan = t.plan};
    }
    *out = m->plan;
    return STORE_OK;
}

/* The user's role in the team, from the worker's memo or the store:
 * STORE_OK, STORE_NOT_FOUND (not a member) or STORE_ERROR. */
static int member_role(struct worker *w, int64_t team_id, int64_t user_id, enum role *out)
{
    struct member_memo *m = &w->member_memo[((uint64_t)team_id ^ (uint64_t)user_id) % WORKER_ACCESS_MEMOS];
    struct memo_stamp now = memo_now(w);
    if (!memo_valid(&m->stamp, &now) || m->team_id != team_id || m->user_id != user_id) {
        enum role role;
        int st = store_member_role(w->reader, team_id, user_id, &role);
        if (st != STORE_OK)
            return st;
        *m = (struct member_memo){.stamp = now, .team_id = team_id, .user_id = user_id, .role = role};
    }
    *out = m->role;
    return STORE_OK;
}

int api_select_team(struct reqctx *rc, int64_t team_id)
{
    struct principal *p = &rc->principal;
    enum plan plan;
    int st = team_id > 0 ? team_plan(rc->w, team_id, &plan) : STORE_NOT_FOUND;
    if (st == STORE_OK) {
        switch (p->kind) {
        case PRINCIPAL_OPERATOR:
            break;
        case PRINCIPAL_KEY:
            st = team_id == p->team_id ? STORE_OK : STORE_NOT_FOUND;
            break;
        case PRINCIPAL_USER:
            st = member_role(rc->w, team_id, p->user_id, &p->role);
            break;
        case PRINCIPAL_ANONYMOUS:
            st = STORE_NOT_FOUND;
            break;
        }
    }
    if (st == STORE_OK) {
        p->team_id = team_id;
        p->plan = plan;
        return 0;
    }
    if (st == STORE_NOT_FOUND)
        respond_problem(rc, 404, "not-found", "Team not found", "no team with this id is visible to you",
                        problem_param(NULL, "team_id", "is not one of your teams"));
    else
        respond_unavailable(rc, UNREADABLE);
    return -1;
}

int64_t api_parse_id(const char *s, size_t len)
{
    if (len == 0 || len > 19)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v > 0 ? v : -1;
}

int api_authenticate(struct reqctx *rc, bool anonymous_ok)
{
    struct principal *p = &rc->principal;
    memset(p, 0, sizeof(*p));
    h2o_iovec_t cred = presented_credential(rc->req);
    if (cred.len == 0) {
        if (anonymous_ok)
            return 0; /* PRINCIPAL_ANONYMOUS */
        unauthorized(rc, "send an access token or API key as 'Authorization: Bearer ...' (or 'X-Api-Key: ...')");
        return -1;
    }
    bool is_jwt = memchr(cred.base, '.', cred.len) != NULL;
    int st = is_jwt ? by_jwt(rc, cred) : by_key(rc, cred);
    if (st == STORE_NOT_FOUND) {
        unauthorized(rc, is_jwt ? "the access token is invalid or expired" : "the API key is not valid");
        return -1;
    }
    if (st != STORE_OK) {
        respond_unavailable(rc, UNREADABLE);
        return -1;
    }
    const char *v;
    size_t vlen;
    int64_t team = p->team_id;
    if (query_find(rc->query.base, rc->query.len, "team_id", &v, &vlen)) {
        team = api_parse_id(v, vlen);
        if (team < 0) {
            respond_invalid(rc, 400, "team_id", "must be a team id");
            return -1;
        }
    }
    if (api_select_team(rc, team) != 0)
        return -1;
    if (p->kind == PRINCIPAL_OPERATOR)
        return 0; /* operators are not rate limited */
    const struct config *cfg = rc->w->app->cfg;
    int64_t who = p->kind == PRINCIPAL_KEY ? p->key_id : p->user_id;
    return api_rate_limit(rc, p->kind == PRINCIPAL_KEY ? "api:k:" : "api:u:", &who, sizeof(who),
                          p->plan == PLAN_PAID ? cfg->rate_api_paid : cfg->rate_api_free)
               ? 0
               : -1;
}

void api_lookup_failed(struct reqctx *rc, int st, const char *title, const char *detail)
{
    if (st == STORE_NOT_FOUND)
        respond_problem(rc, 404, "not-found", title, detail, NULL);
    else
        respond_unavailable(rc, UNREADABLE);
}

bool api_allowed(struct reqctx *rc, int64_t resource_team, enum access_action action, int64_t owner)
{
    switch (access_check(&rc->principal, resource_team, action, owner)) {
    case ACCESS_ALLOW:
        return true;
    case ACCESS_UNAUTHENTICATED:
        unauthorized(rc, "this endpoint needs an access token or API key");
        return false;
    case ACCESS_NOT_FOUND:
        respond_problem(rc, 404, "not-found", "Not found", "no such resource", NULL);
        return false;
    case ACCESS_FORBIDDEN:
        break;
    }
    respond_problem(rc, 403, "forbidden", "Forbidden", "your role in this team does not allow this", NULL);
    return false;
}
