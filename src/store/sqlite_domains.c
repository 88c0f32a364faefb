/* sqlite_domains: a team's short domains in the SQLite store (issue 4).
 * Writer side (inside its transaction): create, change the redirects,
 * delete (refused while links use the domain). Reader side: the domains
 * of a team, or of every team (each worker's hostname table). */
#include "store/sqlite_internal.h"

#include <string.h>

#define W(sql) sqlite_stmt(&s->stmts, s->db, sql)
#define DOMAIN_COLUMNS                                                                                                 \
    "id, team_id, hostname, base_url_redirect, not_found_redirect, expired_redirect, created_at, updated_at"

static void row_to_domain(sqlite3_stmt *st, struct store_domain *d)
{
    d->id = sqlite3_column_int64(st, 0);
    d->team_id = sqlite3_column_int64(st, 1);
    sqlite_copy_text(d->hostname, sizeof(d->hostname), st, 2);
    for (int i = 0; i < DOMAIN_REDIRECTS; i++)
        sqlite_copy_text(d->redirect[i], sizeof(d->redirect[i]), st, 3 + i);
    d->created_at = sqlite3_column_int64(st, 6);
    d->updated_at = sqlite3_column_int64(st, 7);
}

static void bind_redirects(sqlite3_stmt *st, int first, const struct store_domain *d)
{
    for (int i = 0; i < DOMAIN_REDIRECTS; i++) {
        if (d->redirect[i][0] != '\0')
            sqlite3_bind_text(st, first + i, d->redirect[i], -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, first + i);
    }
}

static int select_domain(struct sqlite_store *s, int64_t team_id, const char *hostname, struct store_domain *out)
{
    sqlite3_stmt *st = W("SELECT " DOMAIN_COLUMNS " FROM domains WHERE team_id = ?1 AND hostname = ?2");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, team_id);
    sqlite3_bind_text(st, 2, hostname, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        row_to_domain(st, out);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? STORE_OK : rc == SQLITE_DONE ? STORE_NOT_FOUND : STORE_ERROR;
}

static int create(struct sqlite_store *s, struct store_op *op, int64_t now)
{
    struct store_domain *d = &op->domain;
    sqlite3_stmt *st = W("INSERT INTO domains (team_id, hostname, base_url_redirect, not_found_redirect,"
                         " expired_redirect, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, op->team_id);
    sqlite3_bind_text(st, 2, d->hostname, -1, SQLITE_STATIC);
    bind_redirects(st, 3, d);
    sqlite3_bind_int64(st, 6, now);
    int rc = sqlite_exec_stmt(st);
    if (rc == SQLITE_CONSTRAINT_UNIQUE)
        return STORE_CONFLICT;
    if (rc != 0)
        return STORE_ERROR;
    d->id = sqlite3_last_insert_rowid(s->db);
    d->team_id = op->team_id;
    d->created_at = d->updated_at = now;
    return STORE_OK;
}

static int update(struct sqlite_store *s, struct store_op *op, int64_t now)
{
    struct store_domain cur;
    int rc = select_domain(s, op->team_id, op->domain.hostname, &cur);
    if (rc != STORE_OK)
        return rc;
    for (int i = 0; i < DOMAIN_REDIRECTS; i++)
        if (op->set & (1u << i))
            memcpy(cur.redirect[i], op->domain.redirect[i], sizeof(cur.redirect[i]));
    cur.updated_at = now > cur.updated_at ? now : cur.updated_at + 1;
    sqlite3_stmt *st = W("UPDATE domains SET base_url_redirect = ?2, not_found_redirect = ?3, expired_redirect = ?4,"
                         " updated_at = ?5 WHERE id = ?1");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, cur.id);
    bind_redirects(st, 2, &cur);
    sqlite3_bind_int64(st, 5, cur.updated_at);
    if (sqlite_exec_stmt(st) != 0)
        return STORE_ERROR;
    op->domain = cur;
    return STORE_OK;
}

static int delete (struct sqlite_store *s, struct store_op *op)
{
    int rc = select_domain(s, op->team_id, op->domain.hostname, &op->domain);
    if (rc != STORE_OK)
        return rc;
    sqlite3_stmt *st = W("SELECT EXISTS (SELECT 1 FROM links WHERE domain_id = ?1)");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, op->domain.id);
    rc = sqlite3_step(st);
    bool used = rc == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return STORE_ERROR;
    if (used)
        return STORE_REFUSED;
    st = W("DELETE FROM domains WHERE id = ?1");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, op->domain.id);
    return sqlite_exec_stmt(st) == 0 ? STORE_OK : STORE_ERROR;
}

int sqlite_domain_op(struct sqlite_store *s, struct store_op *op, int64_t now)
{
    switch (op->kind) {
    case STORE_DOMAIN_CREATE:
        return create(s, op, now);
    case STORE_DOMAIN_UPDATE:
        return update(s, op, now);
    default:
        return delete (s, op);
    }
}

#undef W
#define R(sql) sqlite_stmt(&r->stmts, r->db, sql)

int sqlite_domains_each(struct store_reader *base, int64_t team_id, store_domain_cb cb, void *ctx)
{
    struct sqlite_reader *r = (struct sqlite_reader *)base;
    sqlite3_stmt *st = team_id >= 0 ? R("SELECT " DOMAIN_COLUMNS " FROM domains WHERE team_id = ?1 ORDER BY hostname")
                                    : R("SELECT " DOMAIN_COLUMNS " FROM domains ORDER BY hostname");
    if (st == NULL)
        return STORE_ERROR;
    if (team_id >= 0)
        sqlite3_bind_int64(st, 1, team_id);
    struct store_domain d;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        row_to_domain(st, &d);
        if (cb(ctx, &d) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : STORE_ERROR;
}
