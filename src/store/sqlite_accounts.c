/* sqlite_accounts: users, teams, memberships, API keys, refresh tokens and
 * idempotency keys in the SQLite backend. The writer runs the ops inside its
 * batch transaction (see sqlite.c); the reads run on a worker's reader.
 *
 * Invariants kept here, inside the writer's transaction:
 * - a team always keeps at least one admin (demoting or removing the last
 *   one is refused);
 * - a refresh token is used once: presenting it again revokes its whole
 *   family (every token descended from the same login);
 * - an idempotency key maps to one request hash and one response. */
#include "store/sqlite_internal.h"

#include "obs/log.h"
#include "util/id.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define W(sql) sqlite_stmt(&s->stmts, s->db, sql)
#define R(sql) sqlite_stmt(&r->stmts, r->db, sql)
#define IDEM_TTL_MS (24LL * 3600 * 1000)

static enum plan plan_of(const unsigned char *t)
{
    return t != NULL && strcmp((const char *)t, "paid") == 0 ? PLAN_PAID : PLAN_FREE;
}

static void bind_opt(sqlite3_stmt *st, int i, int64_t v)
{
    if (v == 0)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, v);
}

/* 0 / the status for a failed step. */
static int step_done(sqlite3_stmt *st)
{
    int rc = sqlite_exec_stmt(st);
    if (rc == 0)
        return STORE_OK;
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return STORE_CONFLICT;
    return STORE_ERROR;
}

/* ---- writer ops ---------------------------------------------------------- */

static int insert_team(struct sqlite_store *s, struct store_team *t, bool personal, int64_t now)
{
    sqlite3_stmt *st = W("INSERT INTO teams (id, name, plan, personal, created_at) VALUES (?,?,?,?,?)");
    if (st == NULL)
        return STORE_ERROR;
    t->id = id_next(now);
    t->created_at = now;
    t->personal = personal;
    sqlite3_bind_int64(st, 1, t->id);
    sqlite3_bind_text(st, 2, t->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, access_plan_name(t->plan), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, personal);
    sqlite3_bind_int64(st, 5, now);
    return step_done(st);
}

static int insert_member(struct sqlite_store *s, int64_t team, int64_t user, enum role role, int64_t now)
{
    sqlite3_stmt *st = W("INSERT INTO memberships (team_id, user_id, role, created_at) VALUES (?,?,?,?)"
                         " ON CONFLICT (team_id, user_id) DO UPDATE SET role=excluded.role");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, team);
    sqlite3_bind_int64(st, 2, user);
    sqlite3_bind_text(st, 3, access_role_name(role), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now);
    return step_done(st);
}

static int insert_refresh(struct sqlite_store *s, int64_t user, int64_t family, const unsigned char *hash,
                          int64_t expires, int64_t now);

static int op_user_create(struct sqlite_store *s, struct store_op *op, int64_t now)
{
    struct store_user *u = &op->user;
    snprintf(op->team.name, sizeof(op->team.name), "Personal");
    op->team.plan = PLAN_FREE;
    int rc = insert_team(s, &op->team, true, now);
    if (rc != STORE_OK)
        return rc;
    sqlite3_stmt *st = W("INSERT INTO users (id, email, email_lc, name, password_hash, personal_team_id, created_at)"
                         " VALUES (?,?,?,?,?,?,?)");
    if (st == NULL)
        return STORE_ERROR;
    u->id = id_next(now);
    u->personal_team_id = op->team.id;
    u->created_at = now;
    sqlite3_bind_int64(st, 1, u->id);
    sqlite3_bind_text(st, 2, u->email, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, u->email_lc, -1, SQLITE_STATIC);
    if (u->name[0])
        sqlite3_bind_text(st, 4, u->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, u->password_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, u->personal_team_id);
    sqlite3_bind_int64(st, 7, now);
    if ((rc = step_done(st)) != STORE_OK)
        return rc;
    op->team.role = ROLE_ADMIN;
    if ((rc = insert_member(s, op->team.id, u->id, ROLE_ADMIN, now)) != STORE_OK)
        return rc;
    /* The first session of the new account, in the same transaction. */
    if (op->refresh.expires_at != 0)
        rc = insert_refresh(s, u->id, 0, op->refresh.hash, op->refresh.expires_at, now);
    return rc;
}

static int op_user_disable(struct sqlite_store *s, struct store_op *op, int64_t now)
{
    sqlite3_stmt *st = W("SELECT id FROM users WHERE email_lc=?");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_text(st, 1, op->user.email_lc, -1, SQLITE_STATIC);
    int found = sqlite3_step(st) == SQLITE_ROW;
    if (found)
        op->user.id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (!found)
        return STORE_NOT_FOUND;
    st = W("UPDATE users SET disabled_at=? WHERE id=? AND disabled_at IS NULL");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, op->user.id);
    if (sqlite_exec_stmt(st) != 0)
        return STORE_ERROR;
    st = W("UPDATE refresh_tokens SET revoked_at=? WHERE user_id=? AND revoked_at IS NULL");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, op->user.id);
    return step_done(st);
}

static int op_team_create(struct sqlite_store *s, struct store_op *op, int64_t now)
{
    op->team.plan = PLAN_FREE;
    int rc = insert_team(s, &op->team, false, now);
    if (rc != STORE_OK || op->user.id == 0)
        return rc;
    op->team.role = ROLE_ADMIN;
    return insert_member(s, op->team.id, op->user.id, ROLE_ADMIN, now);
}

static int op_team_set_plan(struct sqlite_store *s, struct store_op *op)
{
    sqlite3_stmt *st;
    if (op->team.id == 0) {
        st = W("SELECT id FROM teams WHERE name=? LIMIT 2");
        if (st == NULL)
            return STORE_ERROR;
        sqlite3_bind_text(st, 1, op->team.name, -1, SQLITE_STATIC);
        int n = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            op->team.id = sqlite3_column_int64(st, 0);
            n++;
        }
        sqlite3_reset(st);
        if (n == 0)
            return STORE_NOT_FOUND;
        if (n > 1)
            return STORE_CONFLICT; /* ambiguous name: ask for the id */
    }
    st = W("UPDATE teams SET plan=?, name=coalesce(nullif(?, ''), name) WHERE id=?");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_text(st, 1, access_plan_name(op->team.plan), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, op->team.name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, op->team.id);
    if (sqlite_exec_stmt(st) != 0)
        return STORE_ERROR;
    return sqlite3_changes(s->db) == 1 ? STORE_OK : STORE_NOT_FOUND;
}

/* Admins of the team other than user. */
static int64_t other_admins(struct sqlite_store *s, int64_t team, int64_t user)
{
    sqlite3_stmt *st = W("SELECT count(*) FROM memberships WHERE team_id=? AND role='admin' AND user_id<>?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, team);
    sqlite3_bind_int64(st, 2, user);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    return n;
}

static int current_role(struct sqlite_store *s, int64_t team, int64_t user, enum role *role)
{
    sqlite3_stmt *st = W("SELECT role FROM memberships WHERE team_id=? AND user_id=?");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, team);
    sqlite3_bind_int64(st, 2, user);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *role = access_role_parse((const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? STORE_OK : rc == SQLITE_DONE ? STORE_NOT_FOUND : STORE_ERROR;
}

static int op_member_put(struct sqlite_store *s, struct store_op *op, int64_t now)
{
    struct store_member *m = &op->member;
    sqlite3_stmt *st = op->user.id != 0 ? W("SELECT id, email, name FROM users WHERE id=? AND disabled_at IS NULL")
                                        : W("SELECT id, email, name FROM users WHERE email_lc=? AND disabled_at IS NULL");
    if (st == NULL)
        return STORE_ERROR;
    if (op->user.id != 0)
        sqlite3_bind_int64(st, 1, op->user.id);
    else
        sqlite3_bind_text(st, 1, op->user.email_lc, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        m->user_id = sqlite3_column_int64(st, 0);
        sqlite_copy_text(m->email, sizeof(m->email), st, 1);
        sqlite_copy_text(m->name, sizeof(m->name), st, 2);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? STORE_NOT_FOUND : STORE_ERROR;
    enum role cur;
    rc = current_role(s, op->team_id, m->user_id, &cur);
    if (rc == STORE_ERROR)
        return rc;
    if (rc == STORE_OK && cur == ROLE_ADMIN && op->role != ROLE_ADMIN && other_admins(s, op->team_id, m->user_id) == 0)
        return STORE_REFUSED;
    m->role = op->role;
    m->created_at = now;
    return insert_member(s, op->team_id, m->user_id, op->role, now);
}

static int op_member_delete(struct sqlite_store *s, struct store_op *op)
{
    enum role cur;
    int rc = current_role(s, op->team_id, op->user.id, &cur);
    if (rc != STORE_OK)
        return rc;
    if (cur == ROLE_ADMIN && other_admins(s, op->team_id, op->user.id) == 0)
        return STORE_REFUSED;
    sqlite3_stmt *st = W("DELETE FROM memberships WHERE team_id=? AND user_id=?");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, op->team_id);
    sqlite3_bind_int64(st, 2, op->user.id);
    return step_done(st);
}

static int op_apikey_create(struct sqlite_store *s, struct store_op *op, int64_t now, bool operator_key)
{
    struct store_apikey *k = &op->key;
    sqlite3_stmt *st = operator_key ? W("INSERT OR IGNORE INTO api_keys (id, team_id, user_id, name, key_hash, role,"
                                        " created_at, display, expires_at) VALUES (?,?,?,?,?,?,?,?,?)")
                                    : W("INSERT INTO api_keys (id, team_id, user_id, name, key_hash, role,"
                                        " created_at, display, expires_at) VALUES (?,?,?,?,?,?,?,?,?)");
    if (st == NULL)
        return STORE_ERROR;
    k->id = id_next(now);
    k->created_at = now;
    sqlite3_bind_int64(st, 1, k->id);
    bind_opt(st, 2, operator_key ? 0 : op->team_id);
    bind_opt(st, 3, k->user_id);
    sqlite3_bind_text(st, 4, k->name, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 5, k->hash, STORE_KEY_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, operator_key ? "operator" : access_role_name(k->role), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, now);
    sqlite3_bind_text(st, 8, k->display, -1, SQLITE_STATIC);
    bind_opt(st, 9, k->expires_at);
    return step_done(st);
}

static int op_apikey_revoke(struct sqlite_store *s, struct store_op *op, int64_t now)
{
    sqlite3_stmt *st =
        op->key.id != 0
            ? W("UPDATE api_keys SET revoked_at=? WHERE id=? AND (team_id=? OR ?=0) AND revoked_at IS NULL")
            : W("UPDATE api_keys SET revoked_at=? WHERE display=? AND (team_id=? OR ?=0) AND revoked_at IS NULL");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, now);
    if (op->key.id != 0)
        sqlite3_bind_int64(st, 2, op->key.id);
    else
        sqlite3_bind_text(st, 2, op->key.display, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, op->team_id);
    sqlite3_bind_int64(st, 4, op->team_id);
    if (sqlite_exec_stmt(st) != 0)
        return STORE_ERROR;
    return sqlite3_changes(s->db) >= 1 ? STORE_OK : STORE_NOT_FOUND;
}

static int op_apikey_touch(struct sqlite_store *s, struct store_op *op, int64_t now)
{
    sqlite3_stmt *st = W("UPDATE api_keys SET last_used_at=? WHERE id=?");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, op->key.id);
    return step_done(st);
}

static int insert_refresh(struct sqlite_store *s, int64_t user, int64_t family, const unsigned char *hash,
                          int64_t expires, int64_t now)
{
    sqlite3_stmt *st = W("INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, created_at, expires_at)"
                         " VALUES (?,?,?,?,?,?)");
    if (st == NULL)
        return STORE_ERROR;
    int64_t id = id_next(now);
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, user);
    sqlite3_bind_int64(st, 3, family != 0 ? family : id);
    sqlite3_bind_blob(st, 4, hash, STORE_KEY_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, now);
    sqlite3_bind_int64(st, 6, expires);
    return step_done(st);
}

static int revoke_family(struct sqlite_store *s, int64_t family, int64_t now)
{
    sqlite3_stmt *st = W("UPDATE refresh_tokens SET revoked_at=? WHERE family_id=? AND revoked_at IS NULL");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, family);
    return step_done(st);
}

static int op_refresh_rotate(struct sqlite_store *s, struct store_op *op, int64_t now, bool revoke_only)
{
    sqlite3_stmt *st = W("SELECT t.user_id, t.family_id, t.expires_at, t.used_at, t.revoked_at, u.disabled_at"
                         " FROM refresh_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash=?");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_blob(st, 1, op->refresh.hash, STORE_KEY_HASH_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int64_t user = 0, family = 0, expires = 0;
    bool used = false, revoked = false, disabled = false;
    if (rc == SQLITE_ROW) {
        user = sqlite3_column_int64(st, 0);
        family = sqlite3_column_int64(st, 1);
        expires = sqlite3_column_int64(st, 2);
        used = sqlite3_column_type(st, 3) != SQLITE_NULL;
        revoked = sqlite3_column_type(st, 4) != SQLITE_NULL;
        disabled = sqlite3_column_type(st, 5) != SQLITE_NULL;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? STORE_NOT_FOUND : STORE_ERROR;
    op->user.id = user;
    if (revoke_only)
        return revoke_family(s, family, now);
    if (used && !revoked) {
        /* A used token came back: someone holds a copy. End the family;
         * the revocation must commit, so this is not an error status. */
        op->refresh.reused = true;
        return revoke_family(s, family, now);
    }
    if (used || revoked || disabled || expires <= now)
        return STORE_REFUSED;
    st = W("UPDATE refresh_tokens SET used_at=? WHERE token_hash=?");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_blob(st, 2, op->refresh.hash, STORE_KEY_HASH_LEN, SQLITE_STATIC);
    if ((rc = step_done(st)) != STORE_OK)
        return rc;
    return insert_refresh(s, user, family, op->refresh.new_hash, op->refresh.expires_at, now);
}

int sqlite_account_op(struct sqlite_store *s, struct store_op *op, int64_t now)
{
    switch (op->kind) {
    case STORE_APIKEY_ENSURE:
        return op_apikey_create(s, op, now, true);
    case STORE_USER_CREATE:
        return op_user_create(s, op, now);
    case STORE_USER_DISABLE:
        return op_user_disable(s, op, now);
    case STORE_TEAM_CREATE:
        return op_team_create(s, op, now);
    case STORE_TEAM_SET_PLAN:
        return op_team_set_plan(s, op);
    case STORE_MEMBER_PUT:
        return op_member_put(s, op, now);
    case STORE_MEMBER_DELETE:
        return op_member_delete(s, op);
    case STORE_APIKEY_CREATE:
        return op_apikey_create(s, op, now, false);
    case STORE_APIKEY_REVOKE:
        return op_apikey_revoke(s, op, now);
    case STORE_APIKEY_TOUCH:
        return op_apikey_touch(s, op, now);
    case STORE_REFRESH_CREATE:
        return insert_refresh(s, op->user.id, 0, op->refresh.hash, op->refresh.expires_at, now);
    case STORE_REFRESH_ROTATE:
        return op_refresh_rotate(s, op, now, false);
    case STORE_REFRESH_REVOKE:
        return op_refresh_rotate(s, op, now, true);
    default:
        return STORE_ERROR;
    }
}

/* ---- idempotency ----------------------------------------------------------- */

int sqlite_idem_before(struct sqlite_store *s, struct store_op *op, int64_t now)
{
    sqlite3_stmt *st = W("SELECT request_hash, status, response, created_at FROM idempotency_keys"
                         " WHERE principal=? AND key=?");
    if (st == NULL) {
        op->status = STORE_ERROR;
        return 1;
    }
    sqlite3_bind_text(st, 1, op->idem.principal, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, op->idem.key, -1, SQLITE_STATIC);
    int answered = 0;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 3) > now - IDEM_TTL_MS) {
        answered = 1;
        if (sqlite3_column_bytes(st, 0) != 32 || memcmp(sqlite3_column_blob(st, 0), op->idem.request_hash, 32) != 0) {
            op->status = STORE_IDEM_MISMATCH;
        } else {
            size_t n = (size_t)sqlite3_column_bytes(st, 2);
            op->idem.response = malloc(n + 1);
            if (op->idem.response == NULL) {
                op->status = STORE_ERROR;
            } else {
                memcpy(op->idem.response, sqlite3_column_blob(st, 2), n);
                op->idem.response_len = n;
                op->idem.status = sqlite3_column_int(st, 1);
                op->idem.replayed = true;
                op->status = STORE_OK;
            }
        }
    }
    sqlite3_reset(st);
    return answered;
}

void sqlite_idem_after(struct sqlite_store *s, struct store_op *op, int64_t now)
{
    char *buf = malloc(STORE_IDEM_RESPONSE_MAX);
    int status = 0;
    size_t n = buf && op->idem.render ? op->idem.render(op, buf, STORE_IDEM_RESPONSE_MAX, &status) : 0;
    sqlite3_stmt *st = W("INSERT OR REPLACE INTO idempotency_keys (principal, key, request_hash, status, response,"
                         " created_at) VALUES (?,?,?,?,?,?)");
    sqlite3_stmt *old = W("DELETE FROM idempotency_keys WHERE created_at<?");
    if (n > 0 && st != NULL) {
        sqlite3_bind_text(st, 1, op->idem.principal, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, op->idem.key, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 3, op->idem.request_hash, 32, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, status);
        sqlite3_bind_blob(st, 5, buf, (int)n, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, now);
        if (sqlite_exec_stmt(st) != 0)
            op->status = STORE_ERROR; /* a key that cannot be remembered must not be acknowledged */
    }
    if (old != NULL) {
        sqlite3_bind_int64(old, 1, now - IDEM_TTL_MS);
        sqlite_exec_stmt(old);
    }
    free(buf);
}

/* ---- reads --------------------------------------------------------------- */

#define KEY_COLUMNS                                                                                                    \
    "id, team_id, user_id, name, display, role, created_at, expires_at, last_used_at, revoked_at, key_hash"

static void row_to_key(sqlite3_stmt *st, struct store_apikey *k)
{
    memset(k, 0, sizeof(*k));
    k->id = sqlite3_column_int64(st, 0);
    k->team_id = sqlite3_column_int64(st, 1);
    k->user_id = sqlite3_column_int64(st, 2);
    sqlite_copy_text(k->name, sizeof(k->name), st, 3);
    sqlite_copy_text(k->display, sizeof(k->display), st, 4);
    const char *role = (const char *)sqlite3_column_text(st, 5);
    k->operator_key = k->team_id == 0;
    k->role = k->operator_key ? ROLE_ADMIN : access_role_parse(role ? role : "");
    k->created_at = sqlite3_column_int64(st, 6);
    k->expires_at = sqlite3_column_int64(st, 7);
    k->last_used_at = sqlite3_column_int64(st, 8);
    k->revoked_at = sqlite3_column_int64(st, 9);
    if (sqlite3_column_bytes(st, 10) == STORE_KEY_HASH_LEN)
        memcpy(k->hash, sqlite3_column_blob(st, 10), STORE_KEY_HASH_LEN);
}

static int each_key(sqlite3_stmt *st, store_key_cb cb, void *ctx)
{
    if (st == NULL)
        return STORE_ERROR;
    struct store_apikey k;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        row_to_key(st, &k);
        if (cb(ctx, &k) != 0)
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : STORE_ERROR;
}

int sqlite_apikeys_each(struct store_reader *base, store_key_cb cb, void *ctx)
{
    struct sqlite_reader *r = (struct sqlite_reader *)base;
    return each_key(R("SELECT " KEY_COLUMNS " FROM api_keys WHERE team_id IS NULL AND revoked_at IS NULL"), cb, ctx);
}

int sqlite_apikeys_of_team(struct store_reader *base, int64_t team_id, store_key_cb cb, void *ctx)
{
    struct sqlite_reader *r = (struct sqlite_reader *)base;
    sqlite3_stmt *st = R("SELECT " KEY_COLUMNS " FROM api_keys WHERE team_id=? ORDER BY id DESC");
    if (st != NULL)
        sqlite3_bind_int64(st, 1, team_id);
    return each_key(st, cb, ctx);
}

int sqlite_apikey_by_hash(struct store_reader *base, const unsigned char hash[STORE_KEY_HASH_LEN],
                          struct store_apikey *out)
{
    struct sqlite_reader *r = (struct sqlite_reader *)base;
    sqlite3_stmt *st = R("SELECT " KEY_COLUMNS " FROM api_keys WHERE key_hash=?");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_blob(st, 1, hash, STORE_KEY_HASH_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        row_to_key(st, out);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? STORE_OK : rc == SQLITE_DONE ? STORE_NOT_FOUND : STORE_ERROR;
}

#define USER_COLUMNS "id, email, email_lc, name, password_hash, personal_team_id, disabled_at, created_at"

static void row_to_user(sqlite3_stmt *st, struct store_user *u)
{
    memset(u, 0, sizeof(*u));
    u->id = sqlite3_column_int64(st, 0);
    sqlite_copy_text(u->email, sizeof(u->email), st, 1);
    sqlite_copy_text(u->email_lc, sizeof(u->email_lc), st, 2);
    sqlite_copy_text(u->name, sizeof(u->name), st, 3);
    sqlite_copy_text(u->password_hash, sizeof(u->password_hash), st, 4);
    u->personal_team_id = sqlite3_column_int64(st, 5);
    u->disabled_at = sqlite3_column_int64(st, 6);
    u->created_at = sqlite3_column_int64(st, 7);
}

static int one_user(sqlite3_stmt *st, struct store_user *out)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        row_to_user(st, out);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? STORE_OK : rc == SQLITE_DONE ? STORE_NOT_FOUND : STORE_ERROR;
}

int sqlite_user_by_id(struct store_reader *base, int64_t id, struct store_user *out)
{
    struct sqlite_reader *r = (struct sqlite_reader *)base;
    sqlite3_stmt *st = R("SELECT " USER_COLUMNS " FROM users WHERE id=?");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, id);
    return one_user(st, out);
}

int sqlite_user_by_email(struct store_reader *base, const char *email_lc, struct store_user *out)
{
    struct sqlite_reader *r = (struct sqlite_reader *)base;
    sqlite3_stmt *st = R("SELECT " USER_COLUMNS " FROM users WHERE email_lc=?");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_text(st, 1, email_lc, -1, SQLITE_STATIC);
    return one_user(st, out);
}

int sqlite_users_each(struct store_reader *base, store_user_cb cb, void *ctx)
{
    struct sqlite_reader *r = (struct sqlite_reader *)base;
    sqlite3_stmt *st = R("SELECT " USER_COLUMNS " FROM users ORDER BY id");
    if (st == NULL)
        return STORE_ERROR;
    struct store_user u;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        row_to_user(st, &u);
        if (cb(ctx, &u) != 0)
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : STORE_ERROR;
}

static void row_to_team(sqlite3_stmt *st, struct store_team *t)
{
    memset(t, 0, sizeof(*t));
    t->id = sqlite3_column_int64(st, 0);
    sqlite_copy_text(t->name, sizeof(t->name), st, 1);
    t->plan = plan_of(sqlite3_column_text(st, 2));
    t->personal = sqlite3_column_int(st, 3) != 0;
    t->created_at = sqlite3_column_int64(st, 4);
    if (sqlite3_column_count(st) > 5)
        t->role = access_role_parse((const char *)sqlite3_column_text(st, 5));
}

int sqlite_team_get(struct store_reader *base, int64_t team_id, struct store_team *out)
{
    struct sqlite_reader *r = (struct sqlite_reader *)base;
    sqlite3_stmt *st = R("SELECT id, name, plan, personal, created_at FROM teams WHERE id=?");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, team_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        row_to_team(st, out);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? STORE_OK : rc == SQLITE_DONE ? STORE_NOT_FOUND : STORE_ERROR;
}

int sqlite_teams_of_user(struct store_reader *base, int64_t user_id, store_team_cb cb, void *ctx)
{
    struct sqlite_reader *r = (struct sqlite_reader *)base;
    sqlite3_stmt *st = R("SELECT t.id, t.name, t.plan, t.personal, t.created_at, m.role FROM memberships m"
                         " JOIN teams t ON t.id = m.team_id WHERE m.user_id=? ORDER BY t.id");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, user_id);
    struct store_team t;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        row_to_team(st, &t);
        if (cb(ctx, &t) != 0)
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : STORE_ERROR;
}

int sqlite_member_role(struct store_reader *base, int64_t team_id, int64_t user_id, enum role *out)
{
    struct sqlite_reader *r = (struct sqlite_reader *)base;
    sqlite3_stmt *st = R("SELECT role FROM memberships WHERE team_id=? AND user_id=?");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, team_id);
    sqlite3_bind_int64(st, 2, user_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = access_role_parse((const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? STORE_OK : rc == SQLITE_DONE ? STORE_NOT_FOUND : STORE_ERROR;
}

int sqlite_members_of_team(struct store_reader *base, int64_t team_id, store_member_cb cb, void *ctx)
{
    struct sqlite_reader *r = (struct sqlite_reader *)base;
    sqlite3_stmt *st = R("SELECT u.id, u.email, u.name, m.role, m.created_at FROM memberships m"
                         " JOIN users u ON u.id = m.user_id WHERE m.team_id=? ORDER BY m.created_at, u.id");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, team_id);
    struct store_member m;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        memset(&m, 0, sizeof(m));
        m.user_id = sqlite3_column_int64(st, 0);
        sqlite_copy_text(m.email, sizeof(m.email), st, 1);
        sqlite_copy_text(m.name, sizeof(m.name), st, 2);
        m.role = access_role_parse((const char *)sqlite3_column_text(st, 3));
        m.created_at = sqlite3_column_int64(st, 4);
        if (cb(ctx, &m) != 0)
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : STORE_ERROR;
}
