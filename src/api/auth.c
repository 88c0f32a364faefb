/* auth: sign-up, log-in, token refresh, log-out and /me.
 *
 * Passwords are hashed with argon2id (libsodium's crypto_pwhash_str) on the
 * blocking-work pool, never on a worker loop. Access tokens are HS256 JWTs
 * (ACCESS_TTL_S); refresh tokens are random, stored as SHA-256 and rotated
 * on every use (see sqlite_accounts.c for reuse detection). The routes are
 * rate limited per client IP before this file runs (routes.c), so a flood
 * of log-ins hashes nothing. */
#include "api/api.h"

#include "auth/token.h"
#include "core/account.h"
#include "http/server.h"
#include "util/clock.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define ACCESS_TTL_S (15 * 60)
#define REFRESH_TTL_MS (7LL * 24 * 3600 * 1000)

/* The plaintext password rides along with the call only until it is hashed
 * or verified, then it is wiped. */
struct pw_call {
    struct api_call call; /* first */
    size_t pw_len;
    char pw[ACCOUNT_PASSWORD_MAX + 1];
    char refresh[TOKEN_REFRESH_LEN + 1];
    bool verified;
};

static json_t *user_json(const struct store_user *u)
{
    return json_pack("{s:o, s:s, s:o, s:o, s:o}", "id", api_id_json(u->id), "email", u->email, "name",
                     u->name[0] ? json_string(u->name) : json_null(), "personal_team_id",
                     api_id_json(u->personal_team_id), "created_at", api_time_json(u->created_at));
}

/* The token pair for user; refresh is the plaintext of a token the caller has
 * committed. NULL if signing fails. */
static json_t *tokens_json(struct reqctx *rc, int64_t user_id, const char *refresh)
{
    char jwt[JWT_TOKEN_MAX];
    if (jwt_sign(&rc->w->app->jwt, user_id, clock_wall_ms() / 1000, ACCESS_TTL_S, jwt, sizeof(jwt), NULL) != 0)
        return NULL;
    return json_pack("{s:s, s:s, s:i, s:s}", "access_token", jwt, "token_type", "Bearer", "expires_in", ACCESS_TTL_S,
                     "refresh_token", refresh);
}

/* The answer to a successful sign-up, log-in or refresh. */
static void respond_session(struct reqctx *rc, int status, const struct store_user *u, const char *refresh)
{
    json_t *body = tokens_json(rc, u->id, refresh);
    if (body == NULL) {
        respond_problem(rc, 500, "internal", "Internal error", "the access token could not be signed", NULL);
        return;
    }
    json_object_set_new(body, "user", user_json(u));
    respond_json(rc, status, body);
}

static void new_refresh(struct pw_call *pc, struct store_op *op)
{
    token_refresh_generate(pc->refresh);
    token_hash(pc->refresh, strlen(pc->refresh), op->refresh.hash);
    op->refresh.expires_at = clock_wall_ms() + REFRESH_TTL_MS;
}

static struct pw_call *pw_call_new(struct reqctx *rc, enum store_op_kind kind, api_reply_fn reply)
{
    return (struct pw_call *)api_call_new_sized(rc, sizeof(struct pw_call), kind, reply);
}

/* The second leg of sign-up and log-in: the writer stores the user (for a
 * sign-up) and the first refresh token of a new session. */
static void submit_session(struct reqctx *rc, enum store_op_kind kind, api_reply_fn reply, const struct store_user *u)
{
    struct pw_call *next = pw_call_new(rc, kind, reply);
    if (next == NULL)
        return; /* answered 503 */
    next->call.op.user = *u;
    new_refresh(next, &next->call.op);
    api_submit(&next->call);
}

static void pw_call_free(struct pw_call *pc)
{
    sodium_memzero(pc->pw, sizeof(pc->pw));
    api_call_drop(&pc->call);
}

/* Reads "email" and "password" (and optionally "name") from the body. */
static json_t *read_credentials(struct reqctx *rc, struct pw_call *pc, bool signup)
{
    json_t *obj = api_read_object(rc);
    if (obj == NULL)
        return NULL;
    json_t *errs = NULL;
    struct store_user *u = &pc->call.op.user;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        const char *why = NULL;
        if (strcmp(key, "email") == 0) {
            if (!json_is_string(v))
                why = "must be a string";
            else if ((why = account_check_email(json_string_value(v), json_string_length(v), u->email_lc)) == NULL)
                memcpy(u->email, json_string_value(v), json_string_length(v) + 1);
        } else if (strcmp(key, "password") == 0) {
            if (!json_is_string(v))
                why = "must be a string";
            else if (signup && (why = account_check_password(json_string_value(v), json_string_length(v))) != NULL)
                ;
            else if (json_string_length(v) > ACCOUNT_PASSWORD_MAX)
                why = "must be at most 1024 bytes";
            else {
                pc->pw_len = json_string_length(v);
                memcpy(pc->pw, json_string_value(v), pc->pw_len);
            }
        } else if (signup && strcmp(key, "name") == 0) {
            if (!json_is_string(v) ||
                (why = account_check_name(json_string_value(v), json_string_length(v))) != NULL)
                why = why ? why : "must be a string";
            else
                memcpy(u->name, json_string_value(v), json_string_length(v) + 1);
        } else {
            why = "is not a known field";
        }
        if (why != NULL)
            errs = problem_param(errs, key, why);
    }
    if (json_object_get(obj, "email") == NULL)
        errs = problem_param(errs, "email", "is required");
    if (json_object_get(obj, "password") == NULL)
        errs = problem_param(errs, "password", "is required");
    json_decref(obj);
    if (errs != NULL) {
        respond_problem(rc, 422, "validation", "Invalid field value", "one or more fields are invalid", errs);
        return NULL;
    }
    return json_true();
}

/* ---- sign-up ------------------------------------------------------------- */

static void signup_done(struct api_call *call, struct reqctx *rc)
{
    struct pw_call *pc = (struct pw_call *)call;
    if (call->op.status == STORE_CONFLICT) {
        respond_problem(rc, 409, "conflict", "E-mail already registered", "an account with this e-mail exists",
                        problem_param(NULL, "email", "is already registered"));
        return;
    }
    if (call->op.status != STORE_OK)
        respond_unavailable(rc, "the account could not be created");
    else
        respond_session(rc, 201, &call->op.user, pc->refresh);
}

static void signup_hash(struct api_call *call)
{
    struct pw_call *pc = (struct pw_call *)call;
    if (crypto_pwhash_str(call->op.user.password_hash, pc->pw, pc->pw_len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        call->op.status = STORE_ERROR;
    sodium_memzero(pc->pw, sizeof(pc->pw));
}

static void signup_hashed(struct api_call *call, struct reqctx *rc)
{
    if (call->op.status != STORE_OK) {
        respond_unavailable(rc, "the password could not be hashed");
        return;
    }
    submit_session(rc, STORE_USER_CREATE, signup_done, &call->op.user);
}

void api_auth_signup(struct reqctx *rc, const h2o_iovec_t *params)
{
    struct pw_call *pc = pw_call_new(rc, STORE_USER_CREATE, signup_hashed);
    if (pc == NULL)
        return; /* answered 503 */
    if (read_credentials(rc, pc, true) == NULL) {
        pw_call_free(pc);
        return;
    }
    struct store_user existing;
    if (store_user_by_email(rc->w->reader, pc->call.op.user.email_lc, &existing) == STORE_OK) {
        pw_call_free(pc);
        respond_problem(rc, 409, "conflict", "E-mail already registered", "an account with this e-mail exists",
                        problem_param(NULL, "email", "is already registered"));
        return;
    }
    api_run_job(&pc->call, signup_hash);
}

/* ---- log-in ----------------------------------------------------------------- */

static void login_done(struct api_call *call, struct reqctx *rc)
{
    struct pw_call *pc = (struct pw_call *)call;
    if (call->op.status != STORE_OK)
        respond_unavailable(rc, "the session could not be created");
    else
        respond_session(rc, 200, &call->op.user, pc->refresh);
}

/* A fixed hash to verify against when the e-mail is unknown, so that an
 * unknown address costs the same time as a wrong password. */
static char equaliser_hash[crypto_pwhash_STRBYTES];
static pthread_once_t equaliser_once = PTHREAD_ONCE_INIT; /* documented global: made once */

static void make_equaliser(void)
{
    if (crypto_pwhash_str(equaliser_hash, "linkpulse-timing-equaliser", 26, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        equaliser_hash[0] = '\0'; /* verify then fails fast; only timing equalisation is lost */
}

static void login_verify(struct api_call *call)
{
    struct pw_call *pc = (struct pw_call *)call;
    const struct store_user *u = &call->op.user;
    if (u->id == 0) {
        pthread_once(&equaliser_once, make_equaliser);
        int spent = crypto_pwhash_str_verify(equaliser_hash, pc->pw, pc->pw_len); /* for the time it takes */
        (void)spent;
        pc->verified = false;
    } else {
        pc->verified = crypto_pwhash_str_verify(u->password_hash, pc->pw, pc->pw_len) == 0;
    }
    sodium_memzero(pc->pw, sizeof(pc->pw));
}

static void login_verified(struct api_call *call, struct reqctx *rc)
{
    struct pw_call *pc = (struct pw_call *)call;
    if (!pc->verified || call->op.user.disabled_at != 0) {
        respond_problem(rc, 401, "unauthorized", "Authentication failed", "wrong e-mail or password", NULL);
        return;
    }
    submit_session(rc, STORE_REFRESH_CREATE, login_done, &call->op.user);
}

void api_auth_login(struct reqctx *rc, const h2o_iovec_t *params)
{
    struct pw_call *pc = pw_call_new(rc, STORE_REFRESH_CREATE, login_verified);
    if (pc == NULL)
        return; /* answered 503 */
    if (read_credentials(rc, pc, false) == NULL) {
        pw_call_free(pc);
        return;
    }
    struct store_user *u = &pc->call.op.user;
    char email_lc[sizeof(u->email_lc)];
    memcpy(email_lc, u->email_lc, sizeof(email_lc));
    int st = store_user_by_email(rc->w->reader, email_lc, u);
    if (st == STORE_ERROR) {
        pw_call_free(pc);
        respond_unavailable(rc, "the account store cannot be read");
        return;
    }
    if (st == STORE_NOT_FOUND)
        u->id = 0;
    api_run_job(&pc->call, login_verify);
}

/* ---- refresh and log-out --------------------------------------------------- */

static bool read_refresh(struct reqctx *rc, struct pw_call *pc)
{
    json_t *obj = api_read_object(rc);
    if (obj == NULL)
        return false;
    json_t *v = json_object_get(obj, "refresh_token");
    bool ok = json_is_string(v) && json_object_size(obj) == 1;
    if (ok)
        token_hash(json_string_value(v), json_string_length(v), pc->call.op.refresh.hash);
    json_decref(obj);
    if (!ok)
        respond_problem(rc, 422, "validation", "Invalid field value", "send {\"refresh_token\": \"...\"}",
                        problem_param(NULL, "refresh_token", "is required and must be a string"));
    return ok;
}

static void refreshed(struct api_call *call, struct reqctx *rc)
{
    struct pw_call *pc = (struct pw_call *)call;
    if (call->op.status == STORE_OK && call->op.refresh.reused) {
        respond_problem(rc, 401, "token-reused", "Refresh token reused",
                        "this refresh token was already used; every session of this log-in has been revoked", NULL);
        return;
    }
    if (call->op.status == STORE_ERROR) {
        respond_unavailable(rc, "the token could not be refreshed");
        return;
    }
    if (call->op.status != STORE_OK) {
        respond_problem(rc, 401, "unauthorized", "Authentication failed",
                        "the refresh token is invalid, expired or revoked", NULL);
        return;
    }
    struct store_user u;
    if (store_user_by_id(rc->w->reader, call->op.user.id, &u) != STORE_OK)
        respond_unavailable(rc, "the account cannot be read");
    else
        respond_session(rc, 200, &u, pc->refresh);
}

void api_auth_refresh(struct reqctx *rc, const h2o_iovec_t *params)
{
    struct pw_call *pc = pw_call_new(rc, STORE_REFRESH_ROTATE, refreshed);
    if (pc == NULL)
        return; /* answered 503 */
    if (!read_refresh(rc, pc)) {
        pw_call_free(pc);
        return;
    }
    token_refresh_generate(pc->refresh);
    token_hash(pc->refresh, strlen(pc->refresh), pc->call.op.refresh.new_hash);
    pc->call.op.refresh.expires_at = clock_wall_ms() + REFRESH_TTL_MS;
    api_submit(&pc->call);
}

static void logged_out(struct api_call *call, struct reqctx *rc)
{
    if (call->op.status == STORE_ERROR)
        respond_unavailable(rc, "the session could not be revoked");
    else
        respond_empty(rc, 204); /* also for unknown tokens: nothing to reveal */
}

void api_auth_logout(struct reqctx *rc, const h2o_iovec_t *params)
{
    struct pw_call *pc = pw_call_new(rc, STORE_REFRESH_REVOKE, logged_out);
    if (pc == NULL)
        return; /* answered 503 */
    if (!read_refresh(rc, pc)) {
        pw_call_free(pc);
        return;
    }
    api_submit(&pc->call);
}

/* ---- me --------------------------------------------------------------------- */

static int add_team(void *ctx, const struct store_team *t)
{
    json_array_append_new(ctx, json_pack("{s:o, s:s, s:s, s:b, s:s}", "id", api_id_json(t->id), "name", t->name,
                                         "plan", access_plan_name(t->plan), "personal", t->personal, "role",
                                         access_role_name(t->role)));
    return 0;
}

void api_me(struct reqctx *rc, const h2o_iovec_t *params)
{
    const struct principal *p = &rc->principal;
    json_t *body;
    if (p->kind == PRINCIPAL_USER) {
        struct store_user u;
        if (store_user_by_id(rc->w->reader, p->user_id, &u) != STORE_OK) {
            respond_unavailable(rc, "the account cannot be read");
            return;
        }
        json_t *teams = json_array();
        if (store_teams_of_user(rc->w->reader, u.id, add_team, teams) != 0) {
            json_decref(teams);
            respond_unavailable(rc, "the account cannot be read");
            return;
        }
        body = json_pack("{s:s, s:o, s:o}", "kind", "user", "user", user_json(&u), "teams", teams);
    } else {
        body = json_pack("{s:s, s:o, s:o, s:s}", "kind", p->kind == PRINCIPAL_OPERATOR ? "operator" : "api_key",
                         "key_id", api_id_json(p->key_id), "team_id", api_id_json(p->team_id), "role",
                         access_role_name(p->role));
    }
    respond_json(rc, 200, body);
}
