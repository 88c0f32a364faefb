/* sqlite_links: the writer's link operations (create, bulk create and
 * import, update, delete, visit-limited redirects, redirect rules), each
 * run inside the batch's transaction and its own SAVEPOINT (sqlite.c).
 * Writer thread only. Codes are unique by the (domain_id, code)
 * constraint: random codes are inserted and retried on conflict, never
 * checked first. */
#include "store/sqlite_internal.h"

#include "core/plan.h"

#include "obs/log.h"
#include "util/base62.h"
#include "util/id.h"

#include <stdlib.h>
#include <string.h>

#define CODE_ATTEMPTS 8 /* random code collisions tolerated per create */
#define W(sql) sqlite_stmt(&s->stmts, s->db, sql)

static const char SQL_INSERT_LINK[] =
    "INSERT INTO links (id, team_id, domain_id, code, url, title, created_at, updated_at, expires_at, max_visits,"
    " redirect_type, created_by, creator_ip, crawlable, note, url_hash, host, valid_since, enabled, password_hash)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?15, lp_url_hash(?5), lp_url_host(?5), ?16, ?17, ?18)";
static const char SQL_SELECT_KEY[] = SQLITE_SELECT_LINK_BY_KEY;
static const char SQL_UPDATE_LINK[] =
    "UPDATE links SET code=?1, url=?2, title=?3, expires_at=?4, max_visits=?5, redirect_type=?6, updated_at=?7,"
    " crawlable=?8, note=?10, url_hash=lp_url_hash(?2), host=lp_url_host(?2), valid_since=?11, enabled=?12,"
    " password_hash=?13 WHERE id=?9";
static const char SQL_DELETE_LINK[] = "DELETE FROM links WHERE id=?";
static const char SQL_CONSUME[] =
    "UPDATE links SET visits=visits+1 WHERE id=? AND (max_visits IS NULL OR visits<max_visits)"
    " RETURNING visits=max_visits";
/* Active = not expired; the team index bounds the scan to the team's links. */
static const char SQL_COUNT_ACTIVE[] =
    "SELECT count(*) FROM links WHERE team_id=? AND (expires_at IS NULL OR expires_at>?)";
static const char SQL_COUNT_ACTIVE_IP[] =
    "SELECT count(*) FROM links WHERE team_id=? AND (expires_at IS NULL OR expires_at>?) AND creator_ip=?";

static int write_redirect_opts(struct sqlite_store *s, const struct link *l); /* forward_query, UTM (issue 4) */
static int set_visit_totals(struct sqlite_store *s, const struct link *l);    /* imports (issue 4) */

static void bind_opt_text(sqlite3_stmt *st, int idx, bool has, const char *v)
{
    if (has)
        sqlite3_bind_text(st, idx, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, idx);
}

static void bind_opt_int(sqlite3_stmt *st, int idx, int64_t v)
{
    if (v == 0)
        sqlite3_bind_null(st, idx);
    else
        sqlite3_bind_int64(st, idx, v);
}

/* STORE_LIMIT when the team (or, for anonymous links, the client) already
 * holds op->max_active links that have not expired. Runs in the writer's
 * transaction, which is what makes the limit exact. */
static int over_limit(struct sqlite_store *s, struct store_op *op, int64_t now)
{
    sqlite3_stmt *c = op->per_ip_limit ? W(SQL_COUNT_ACTIVE_IP) : W(SQL_COUNT_ACTIVE);
    if (c == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(c, 1, op->team_id);
    sqlite3_bind_int64(c, 2, now);
    if (op->per_ip_limit)
        sqlite3_bind_blob(c, 3, op->creator_ip, sizeof(op->creator_ip), SQLITE_STATIC);
    int64_t active = sqlite3_step(c) == SQLITE_ROW ? sqlite3_column_int64(c, 0) : -1;
    sqlite3_reset(c);
    if (active < 0)
        return STORE_ERROR;
    return active >= op->max_active ? STORE_LIMIT : STORE_OK;
}

/* password links (issue 4): what reaches the store is a hash, never a password */
static bool pwhash_ok(const struct link *l)
{
    return l->password_hash[0] == '\0' || strncmp(l->password_hash, "$argon2id$", 10) == 0;
}

static int op_create(struct sqlite_store *s, struct store_op *op, int64_t now)
{
    struct link *l = &op->link;
    if (!pwhash_ok(l))
        return STORE_ERROR;
    if (op->reuse) { /* tags, reuse (issue 4) */
        int rc = sqlite_link_reuse(s, op, now);
        if (rc != 0)
            return rc > 0 ? STORE_OK : rc;
    }
    if (op->max_active > 0) {
        int rc = over_limit(s, op, now);
        if (rc != STORE_OK)
            return rc;
    }
    sqlite3_stmt *st = W(SQL_INSERT_LINK);
    if (st == NULL)
        return STORE_ERROR;
    /* Stamped with the expiry by plan_stamp_new (imports, issue 4, keep the
     * creation time of their file); else, or when the clock went back
     * since, now. */
    if (l->created_at <= 0 || l->created_at > now)
        l->created_at = now;
    if (l->updated_at < l->created_at || l->updated_at > now)
        l->updated_at = now;
    l->team_id = op->team_id;
    l->domain_id = op->domain_id;
    l->visits = 0;
    for (int attempt = 0; attempt < CODE_ATTEMPTS; attempt++) {
        if (op->random_code_len > 0) {
            base62_random_code(l->code, op->random_code_len);
            l->code[op->random_code_len] = '\0';
        }
        l->id = id_next(now);
        sqlite3_bind_int64(st, 1, l->id);
        sqlite3_bind_int64(st, 2, l->team_id);
        sqlite3_bind_int64(st, 3, l->domain_id);
        sqlite3_bind_text(st, 4, l->code, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, l->url, -1, SQLITE_STATIC);
        if (l->has_title)
            sqlite3_bind_text(st, 6, l->title, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 6);
        sqlite3_bind_int64(st, 7, l->created_at);
        sqlite3_bind_int64(st, 8, l->updated_at);
        bind_opt_int(st, 9, l->expires_at);
        bind_opt_int(st, 10, l->max_visits);
        sqlite3_bind_int(st, 11, l->redirect_type);
        bind_opt_int(st, 12, op->created_by);
        if (op->per_ip_limit)
            sqlite3_bind_blob(st, 13, op->creator_ip, sizeof(op->creator_ip), SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 13);
        sqlite3_bind_int(st, 14, l->crawlable);
        bind_opt_text(st, 15, l->has_note, l->note); /* tags and notes (issue 4) */
        bind_opt_int(st, 16, l->valid_since);        /* lifetime (issue 4) */
        sqlite3_bind_int(st, 17, !l->disabled);
        bind_opt_text(st, 18, l->password_hash[0] != '\0', l->password_hash); /* password links (issue 4) */
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc == SQLITE_DONE) {
            if ((op->set & LINK_F_TAGS) && sqlite_link_tags_write(s, l, now) != STORE_OK)
                return STORE_ERROR;
            if (l->visits_total > 0 && set_visit_totals(s, l) != STORE_OK) /* imports (issue 4) */
                return STORE_ERROR;
            /* forward_query and UTM (issue 4) */
            return (op->set & LINK_F_REDIRECT_OPTS) ? write_redirect_opts(s, l) : STORE_OK;
        }
        if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
            continue; /* another node's id in the same millisecond: draw again */
        if (rc == SQLITE_CONSTRAINT_UNIQUE) {
            if (op->random_code_len == 0)
                return STORE_CONFLICT;
            continue;
        }
        log_error("sqlite: insert failed: %s", sqlite3_errmsg(s->db));
        return STORE_ERROR;
    }
    log_error("sqlite: no free code after %d attempts; consider a longer --code-length", CODE_ATTEMPTS);
    return STORE_ERROR;
}

/* ---- bulk creation and imports (issue 4) ---- */

/* An imported link's historical visit count (no raw visits behind it). */
static int set_visit_totals(struct sqlite_store *s, const struct link *l)
{
    sqlite3_stmt *st = W("UPDATE links SET visits_total = ?2, visits_bots = ?3 WHERE id = ?1");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, l->id);
    sqlite3_bind_int64(st, 2, l->visits_total);
    sqlite3_bind_int64(st, 3, l->visits_bots);
    return sqlite_exec_stmt(st) == 0 ? STORE_OK : STORE_ERROR;
}

/* Every item in one transaction, each in a savepoint of its own: a taken
 * code or the plan's limit fails that item only. Dry-run items are rolled
 * back after the checks. */
static int op_bulk(struct sqlite_store *s, struct store_op *op, int64_t now)
{
    struct store_op *one = malloc(sizeof(*one));
    if (one == NULL)
        return STORE_ERROR;
    int rc = STORE_OK;
    for (size_t i = 0; i < op->nbulk && rc == STORE_OK; i++) {
        struct store_bulk_item *it = &op->bulk[i];
        memset(one, 0, sizeof(*one));
        one->kind = STORE_LINK_CREATE;
        one->team_id = op->team_id;
        one->domain_id = it->domain_id;
        one->created_by = op->created_by;
        one->max_active = op->max_active;
        one->set = it->set;
        one->random_code_len = it->random_code_len;
        one->reuse = it->reuse;
        one->link = it->link;
        if (sqlite_exec_stmt(W("SAVEPOINT item")) != 0) {
            rc = STORE_ERROR;
            break;
        }
        it->status = op_create(s, one, now);
        if (it->status == STORE_OK && !one->reused)
            it->status = sqlite_outbox_link(s, HOOK_LINK_CREATED, &one->link, now);
        if (it->status == STORE_ERROR)
            rc = STORE_ERROR;
        bool keep = it->status == STORE_OK && !it->dry_run;
        if ((!keep && sqlite_exec_stmt(W("ROLLBACK TO item")) != 0) || sqlite_exec_stmt(W("RELEASE item")) != 0)
            rc = STORE_ERROR;
        it->link = one->link;
        it->reused = one->reused;
    }
    free(one);
    return rc;
}

static int select_by_key(struct sqlite_store *s, struct store_op *op, struct link *out)
{
    sqlite3_stmt *st = W(SQL_SELECT_KEY);
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, op->team_id);
    sqlite3_bind_int64(st, 2, op->domain_id);
    sqlite3_bind_text(st, 3, op->key_code, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        sqlite_row_to_link(st, out);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? STORE_OK : rc == SQLITE_DONE ? STORE_NOT_FOUND : STORE_ERROR;
}

static int op_update(struct sqlite_store *s, struct store_op *op, int64_t now)
{
    struct link cur;
    int rc = select_by_key(s, op, &cur);
    if (rc != STORE_OK)
        return rc;
    const struct link *in = &op->link;
    if (!pwhash_ok(in))
        return STORE_ERROR;
    if (op->set & LINK_F_SLUG)
        memcpy(cur.code, in->code, sizeof(cur.code));
    if (op->set & LINK_F_URL)
        memcpy(cur.url, in->url, sizeof(cur.url));
    if (op->set & LINK_F_TITLE) {
        cur.has_title = in->has_title;
        memcpy(cur.title, in->title, sizeof(cur.title));
    }
    bool was_active = cur.expires_at == 0 || cur.expires_at > now;
    if (op->set & LINK_F_EXPIRES) {
        cur.expires_at = in->expires_at;
        /* Free plan: a link lives at most six months from its creation
         * (an import: from the import), whatever later changes ask for. */
        int64_t latest = plan_lifetime_start(cur.created_at, id_time_ms(cur.id)) + PLAN_FREE_LIFETIME_MS;
        if (op->max_active > 0 && (cur.expires_at == 0 || cur.expires_at > latest)) {
            cur.expires_at = latest;
            op->set |= LINK_F_CAPPED;
        }
    }
    if (op->set & LINK_F_MAX_VISITS)
        cur.max_visits = in->max_visits;
    if (op->set & LINK_F_REDIRECT)
        cur.redirect_type = in->redirect_type;
    if (op->set & LINK_F_CRAWLABLE)
        cur.crawlable = in->crawlable;
    if (op->set & LINK_F_NOTE) { /* tags and notes (issue 4) */
        cur.has_note = in->has_note;
        memcpy(cur.note, in->note, sizeof(cur.note));
    }
    if (op->set & LINK_F_VALID_SINCE) /* lifetime (issue 4) */
        cur.valid_since = in->valid_since;
    if (op->set & LINK_F_ENABLED)
        cur.disabled = in->disabled;
    if (op->set & LINK_F_PASSWORD) /* password links (issue 4) */
        memcpy(cur.password_hash, in->password_hash, sizeof(cur.password_hash));
    cur.updated_at = now > cur.updated_at ? now : cur.updated_at + 1;
    /* Bringing an expired link back counts against the plan like a new one. */
    if (op->max_active > 0 && !was_active && (cur.expires_at == 0 || cur.expires_at > now)) {
        rc = over_limit(s, op, now);
        if (rc != STORE_OK)
            return rc;
    }

    sqlite3_stmt *st = W(SQL_UPDATE_LINK);
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_text(st, 1, cur.code, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, cur.url, -1, SQLITE_STATIC);
    if (cur.has_title)
        sqlite3_bind_text(st, 3, cur.title, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 3);
    bind_opt_int(st, 4, cur.expires_at);
    bind_opt_int(st, 5, cur.max_visits);
    sqlite3_bind_int(st, 6, cur.redirect_type);
    sqlite3_bind_int64(st, 7, cur.updated_at);
    sqlite3_bind_int(st, 8, cur.crawlable);
    sqlite3_bind_int64(st, 9, cur.id);
    bind_opt_text(st, 10, cur.has_note, cur.note);
    bind_opt_int(st, 11, cur.valid_since); /* lifetime (issue 4) */
    sqlite3_bind_int(st, 12, !cur.disabled);
    bind_opt_text(st, 13, cur.password_hash[0] != '\0', cur.password_hash); /* password links (issue 4) */
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_CONSTRAINT_UNIQUE)
        return STORE_CONFLICT;
    if (rc != SQLITE_DONE) {
        log_error("sqlite: update failed: %s", sqlite3_errmsg(s->db));
        return STORE_ERROR;
    }
    /* forward_query and UTM fields (issue 4) */
    if (op->set & LINK_F_FORWARD_QUERY)
        cur.forward_query = in->forward_query;
    for (int i = 0; i < LINK_UTM_N; i++)
        if (op->set & (LINK_F_UTM << i))
            memcpy(cur.utm[i], in->utm[i], sizeof(cur.utm[i]));
    if ((op->set & LINK_F_REDIRECT_OPTS) && write_redirect_opts(s, &cur) != STORE_OK)
        return STORE_ERROR;
    if (op->set & LINK_F_TAGS) { /* tags and notes (issue 4) */
        cur.ntags = in->ntags;
        memcpy(cur.tags, in->tags, sizeof(cur.tags));
        if (sqlite_link_tags_write(s, &cur, now) != STORE_OK)
            return STORE_ERROR;
    }
    op->link = cur;
    return STORE_OK;
}

/* The link; its statistics go with it (the links_stats_ad trigger,
 * sqlite_schema.h), and visits still in the journal are left out when
 * applied (sqlite_visits.c). */
static int op_delete(struct sqlite_store *s, struct store_op *op)
{
    int rc = select_by_key(s, op, &op->link);
    if (rc != STORE_OK)
        return rc;
    sqlite3_stmt *st = W(SQL_DELETE_LINK);
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, op->link.id);
    return sqlite_exec_stmt(st) == 0 ? STORE_OK : STORE_ERROR;
}

static int op_consume(struct sqlite_store *s, struct store_op *op, int64_t now)
{
    sqlite3_stmt *st = W(SQL_CONSUME);
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, op->link.id);
    int rc = sqlite3_step(st);
    bool reached = rc == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
    while (rc == SQLITE_ROW)
        rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return STORE_ERROR;
    if (sqlite3_changes(s->db) != 1)
        return STORE_REFUSED;
    if (!reached)
        return STORE_OK;
    /* This visit was the last one allowed. */
    struct link l;
    st = W("SELECT " LINK_COLUMNS " FROM links WHERE id=?");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, op->link.id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        sqlite_row_to_link(st, &l);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? sqlite_outbox_link(s, HOOK_LINK_MAX_VISITS_REACHED, &l, now) : STORE_ERROR;
}

/* ---- redirect rules (issue 4) ---- */
static const char SQL_PUT_RULES[] = "UPDATE links SET rules=?, updated_at=max(?, updated_at+1) WHERE id=?";

static int op_rules_put(struct sqlite_store *s, struct store_op *op, int64_t now)
{
    struct link cur;
    int rc = select_by_key(s, op, &cur);
    if (rc != STORE_OK)
        return rc;
    sqlite3_stmt *st = W(SQL_PUT_RULES);
    if (st == NULL)
        return STORE_ERROR;
    if (op->link.rules_len > 0)
        sqlite3_bind_blob(st, 1, op->link.rules, op->link.rules_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 1);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int64(st, 3, cur.id);
    if (sqlite_exec_stmt(st) != 0)
        return STORE_ERROR;
    return select_by_key(s, op, &op->link);
}

/* forward_query and UTM fields (issue 4): written in the create's or the
 * update's transaction, right after its row. */
static const char SQL_PUT_REDIRECT_OPTS[] = "UPDATE links SET forward_query=?, utm_source=?, utm_medium=?,"
                                            " utm_campaign=?, utm_term=?, utm_content=? WHERE id=?";

static int write_redirect_opts(struct sqlite_store *s, const struct link *l)
{
    sqlite3_stmt *st = W(SQL_PUT_REDIRECT_OPTS);
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int(st, 1, l->forward_query);
    for (int i = 0; i < LINK_UTM_N; i++) {
        if (l->utm[i][0] != '\0')
            sqlite3_bind_text(st, 2 + i, l->utm[i], -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 2 + i);
    }
    sqlite3_bind_int64(st, 7, l->id);
    return sqlite_exec_stmt(st) == 0 ? STORE_OK : STORE_ERROR;
}
/* ---- end redirect rules ---- */

int sqlite_link_op(struct sqlite_store *s, struct store_op *op, int64_t now)
{
    int rc;
    switch (op->kind) {
    case STORE_LINK_CREATE:
        rc = op_create(s, op, now);
        if (op->reused) /* tags, reuse (issue 4): nothing was created */
            return rc;
        return rc == STORE_OK ? sqlite_outbox_link(s, HOOK_LINK_CREATED, &op->link, now) : rc;
    case STORE_LINK_UPDATE:
        rc = op_update(s, op, now);
        return rc == STORE_OK ? sqlite_outbox_link(s, HOOK_LINK_UPDATED, &op->link, now) : rc;
    case STORE_LINK_DELETE:
        rc = op_delete(s, op);
        return rc == STORE_OK ? sqlite_outbox_link(s, HOOK_LINK_DELETED, &op->link, now) : rc;
    case STORE_LINK_CONSUME:
        return op_consume(s, op, now);
    case STORE_LINK_RULES_PUT: /* redirect rules (issue 4): a change of the link for webhooks */
        rc = op_rules_put(s, op, now);
        return rc == STORE_OK ? sqlite_outbox_link(s, HOOK_LINK_UPDATED, &op->link, now) : rc;
    case STORE_LINK_BULK: /* bulk creation and imports (issue 4) */
        return op_bulk(s, op, now);
    default:
        return STORE_ERROR;
    }
}
