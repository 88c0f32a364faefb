/* sqlite_webhooks: webhooks and their outbox in the SQLite backend.
 *
 * The outbox: when a link is created, changed, deleted or reaches its
 * visit limit, and when a visit is recorded, the writer adds one delivery
 * row per subscribed, enabled webhook of the link's team, inside the
 * transaction that makes the change; the event exists exactly when the
 * change does. The delivery worker (events/webhook.c) reads due rows and
 * reports each attempt back through a writer op.
 *
 * The writer keeps, per team with enabled webhooks, the union of their
 * events, so a change in a team without webhooks costs one lookup in a
 * small array; the table is reloaded after any webhook op.
 *
 * Writer functions run on the writer thread inside its transaction; the
 * reads on the reader's thread. */
#include "store/sqlite_internal.h"

#include "obs/log.h"
#include "util/id.h"
#include "util/rfc3339.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define W(sql) sqlite_stmt(&s->stmts, s->db, sql)
#define R(sql) sqlite_stmt(&r->stmts, r->db, sql)
#define DELIVERED_KEPT_MS (7LL * 24 * 3600 * 1000)

#define HOOK_COLUMNS "id, team_id, url, secret, events, enabled, created_by, created_at, updated_at"
#define DELIVERY_COLUMNS                                                                                               \
    "id, webhook_id, team_id, subject, event, payload, status, attempts, next_attempt_at, last_status, last_error,"    \
    " created_at, finished_at"

static const char *const status_names[] = {"pending", "delivered", "dead"};

const char *sqlite_hook_event_name(unsigned bit)
{
    switch (bit) {
    case HOOK_LINK_CREATED:
        return "link.created";
    case HOOK_LINK_UPDATED:
        return "link.updated";
    case HOOK_LINK_DELETED:
        return "link.deleted";
    case HOOK_VISIT_CREATED:
        return "visit.created";
    case HOOK_LINK_MAX_VISITS_REACHED:
        return "link.max_visits_reached";
    default:
        return "unknown";
    }
}

/* ---- the writer's table of teams with webhooks ------------------------------- */

static int load_teams(struct sqlite_store *s)
{
    sqlite3_stmt *st = W("SELECT team_id, events FROM webhooks WHERE enabled=1 ORDER BY team_id");
    if (st == NULL)
        return -1;
    s->hook_nteams = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t team = sqlite3_column_int64(st, 0);
        unsigned ev = (unsigned)sqlite3_column_int(st, 1);
        if (s->hook_nteams > 0 && s->hook_teams[s->hook_nteams - 1].team_id == team) {
            s->hook_teams[s->hook_nteams - 1].events |= ev;
            continue;
        }
        if (s->hook_nteams == s->hook_cap) {
            size_t cap = s->hook_cap ? 2 * s->hook_cap : 16;
            void *p = realloc(s->hook_teams, cap * sizeof(*s->hook_teams));
            if (p == NULL) {
                sqlite3_reset(st);
                return -1;
            }
            s->hook_teams = p;
            s->hook_cap = cap;
        }
        s->hook_teams[s->hook_nteams].team_id = team;
        s->hook_teams[s->hook_nteams++].events = ev;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return -1;
    s->hooks_loaded = true;
    return 0;
}

/* The events some enabled webhook of the team wants (0: none). */
static unsigned team_events(struct sqlite_store *s, int64_t team)
{
    if (!s->hooks_loaded && load_teams(s) != 0)
        return HOOK_EVENTS_ALL; /* unsure: look the hooks up */
    size_t lo = 0, hi = s->hook_nteams;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->hook_teams[mid].team_id < team)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->hook_nteams && s->hook_teams[lo].team_id == team ? s->hook_teams[lo].events : 0;
}

void sqlite_hooks_free(struct sqlite_store *s)
{
    free(s->hook_teams);
}

/* ---- the outbox ------------------------------------------------------------------ */

static json_t *time_json(int64_t ms)
{
    if (ms == 0)
        return json_null();
    char buf[RFC3339_BUF];
    rfc3339_format(ms, buf);
    return json_string(buf);
}

static json_t *id_json(int64_t id)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%lld", (long long)id);
    return json_string(buf);
}

/* One row per subscribed, enabled webhook of team; data is the event's
 * "data" member (borrowed). */
static int emit(struct sqlite_store *s, int64_t team, unsigned event, int64_t subject, json_t *data, int64_t now)
{
    sqlite3_stmt *hooks = W("SELECT id FROM webhooks WHERE team_id=? AND enabled=1 AND (events & ?) != 0");
    sqlite3_stmt *ins = W("INSERT INTO webhook_deliveries (id, webhook_id, team_id, subject, event, payload,"
                          " next_attempt_at, created_at) VALUES (?,?,?,?,?,?,?,?)");
    if (hooks == NULL || ins == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(hooks, 1, team);
    sqlite3_bind_int(hooks, 2, (int)event);
    const char *name = sqlite_hook_event_name(event);
    char subj[24];
    snprintf(subj, sizeof(subj), "%lld", (long long)subject);
    int rc = STORE_OK, step;
    while (rc == STORE_OK && (step = sqlite3_step(hooks)) == SQLITE_ROW) {
        int64_t id = id_next(now);
        json_t *body = json_pack("{s:o, s:s, s:o, s:o, s:O}", "id", id_json(id), "type", name, "created_at",
                                 time_json(now), "team_id", id_json(team), "data", data);
        char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        if (text == NULL)
            rc = STORE_ERROR;
        else {
            sqlite3_bind_int64(ins, 1, id);
            sqlite3_bind_int64(ins, 2, sqlite3_column_int64(hooks, 0));
            sqlite3_bind_int64(ins, 3, team);
            sqlite3_bind_text(ins, 4, subj, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 5, name, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 6, text, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(ins, 7, now);
            sqlite3_bind_int64(ins, 8, now);
            if (sqlite_exec_stmt(ins) != 0)
                rc = STORE_ERROR;
            free(text);
        }
    }
    sqlite3_reset(hooks);
    return rc;
}

int sqlite_outbox_link(struct sqlite_store *s, unsigned event, const struct link *l, int64_t now)
{
    if ((team_events(s, l->team_id) & event) == 0)
        return STORE_OK;
    json_t *link =
        json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:i, s:I, s:I}", "code", l->code, "url", l->url, "title",
                  l->has_title ? json_string(l->title) : json_null(), "created_at", time_json(l->created_at),
                  "updated_at", time_json(l->updated_at), "expires_at", time_json(l->expires_at), "max_visits",
                  l->max_visits ? json_integer(l->max_visits) : json_null(), "redirect_type", l->redirect_type,
                  "visits", (json_int_t)l->visits_total, "domain_id", (json_int_t)l->domain_id);
    json_t *data = json_pack("{s:o}", "link", link);
    int rc = data ? emit(s, l->team_id, event, l->id, data, now) : STORE_ERROR;
    json_decref(data);
    return rc;
}

bool sqlite_outbox_wanted(struct sqlite_store *s, int64_t link_id, int64_t team_id)
{
    return link_id != 0 && (team_events(s, team_id) & HOOK_VISIT_CREATED) != 0;
}

int sqlite_outbox_visit(struct sqlite_store *s, const struct store_visit *v, int64_t now)
{
    if (v->link_id == 0 || (team_events(s, v->team_id) & HOOK_VISIT_CREATED) == 0)
        return STORE_OK;
    const char *p = v->visited_url;
    size_t clen = p[0] == '/' ? strcspn(p + 1, "/?#") : 0;
    json_t *visit =
        json_pack("{s:o, s:s#, s:b, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ts", time_json(v->ts), "code",
                  clen ? p + 1 : "", (int)clen, "bot", v->bot, "device", v->device, "browser", v->browser, "os", v->os,
                  "country", v->country, "city", v->city, "referrer_host", v->referrer_host, "language", v->language);
    json_t *data = json_pack("{s:o}", "visit", visit);
    int rc = data ? emit(s, v->team_id, HOOK_VISIT_CREATED, v->link_id, data, now) : STORE_ERROR;
    json_decref(data);
    return rc;
}

/* ---- webhook and delivery ops ------------------------------------------------------- */

static void row_to_hook(sqlite3_stmt *st, struct store_hook *h)
{
    memset(h, 0, sizeof(*h));
    h->id = sqlite3_column_int64(st, 0);
    h->team_id = sqlite3_column_int64(st, 1);
    sqlite_copy_text(h->url, sizeof(h->url), st, 2);
    sqlite_copy_text(h->secret, sizeof(h->secret), st, 3);
    h->events = (unsigned)sqlite3_column_int(st, 4);
    h->enabled = sqlite3_column_int(st, 5) != 0;
    h->created_by = sqlite3_column_int64(st, 6);
    h->created_at = sqlite3_column_int64(st, 7);
    h->updated_at = sqlite3_column_int64(st, 8);
}

static int select_hook(sqlite3_stmt *st, int64_t team, int64_t id, struct store_hook *out)
{
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, team);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        row_to_hook(st, out);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? STORE_OK : rc == SQLITE_DONE ? STORE_NOT_FOUND : STORE_ERROR;
}
#define SQL_HOOK_BY_ID "SELECT " HOOK_COLUMNS " FROM webhooks WHERE id=? AND (team_id=?2 OR ?2=0)"

static int write_hook(struct sqlite_store *s, const struct store_hook *h, bool insert)
{
    sqlite3_stmt *st = insert ? W("INSERT INTO webhooks (id, team_id, url, secret, events, enabled, created_by,"
                                  " created_at, updated_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)")
                              : W("UPDATE webhooks SET url=?3, secret=?4, events=?5, enabled=?6, updated_at=?9"
                                  " WHERE id=?1 AND team_id=?2");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, h->id);
    sqlite3_bind_int64(st, 2, h->team_id);
    sqlite3_bind_text(st, 3, h->url, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, h->secret, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, (int)h->events);
    sqlite3_bind_int(st, 6, h->enabled);
    if (h->created_by)
        sqlite3_bind_int64(st, 7, h->created_by);
    else
        sqlite3_bind_null(st, 7);
    sqlite3_bind_int64(st, 8, h->created_at);
    sqlite3_bind_int64(st, 9, h->updated_at);
    return sqlite_exec_stmt(st) == 0 ? STORE_OK : STORE_ERROR;
}

int sqlite_hook_op(struct sqlite_store *s, struct store_op *op, int64_t now)
{
    struct store_hook *h = &op->hook;
    struct store_delivery *d = &op->delivery;
    sqlite3_stmt *st;
    int rc;
    switch (op->kind) {
    case STORE_HOOK_CREATE:
        h->id = id_next(now);
        h->team_id = op->team_id;
        h->created_at = h->updated_at = now;
        rc = write_hook(s, h, true);
        break;
    case STORE_HOOK_UPDATE: {
        struct store_hook cur;
        if ((rc = select_hook(W(SQL_HOOK_BY_ID), op->team_id, h->id, &cur)) != STORE_OK)
            return rc;
        if (op->set & HOOK_F_URL)
            memcpy(cur.url, h->url, sizeof(cur.url));
        if (op->set & HOOK_F_SECRET)
            memcpy(cur.secret, h->secret, sizeof(cur.secret));
        if (op->set & HOOK_F_EVENTS)
            cur.events = h->events;
        if (op->set & HOOK_F_ENABLED)
            cur.enabled = h->enabled;
        cur.updated_at = now > cur.updated_at ? now : cur.updated_at + 1;
        *h = cur;
        rc = write_hook(s, h, false);
        break;
    }
    case STORE_HOOK_DELETE:
        if ((rc = select_hook(W(SQL_HOOK_BY_ID), op->team_id, h->id, h)) != STORE_OK)
            return rc;
        st = W("DELETE FROM webhook_deliveries WHERE webhook_id=?");
        if (st == NULL)
            return STORE_ERROR;
        sqlite3_bind_int64(st, 1, h->id);
        if (sqlite_exec_stmt(st) != 0)
            return STORE_ERROR;
        st = W("DELETE FROM webhooks WHERE id=?");
        if (st == NULL)
            return STORE_ERROR;
        sqlite3_bind_int64(st, 1, h->id);
        rc = sqlite_exec_stmt(st) == 0 ? STORE_OK : STORE_ERROR;
        break;
    case STORE_DELIVERY_RESULT:
        st = W("UPDATE webhook_deliveries SET status=?, attempts=?, next_attempt_at=?, last_status=?, last_error=?,"
               " finished_at=? WHERE id=? AND status='pending'");
        if (st == NULL)
            return STORE_ERROR;
        sqlite3_bind_text(st, 1, status_names[d->status], -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, d->attempts);
        sqlite3_bind_int64(st, 3, d->next_attempt_at);
        if (d->last_status)
            sqlite3_bind_int(st, 4, d->last_status);
        else
            sqlite3_bind_null(st, 4);
        if (d->last_error[0])
            sqlite3_bind_text(st, 5, d->last_error, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 5);
        if (d->status != DELIVERY_PENDING)
            sqlite3_bind_int64(st, 6, now);
        else
            sqlite3_bind_null(st, 6);
        sqlite3_bind_int64(st, 7, d->id);
        /* A delivery deleted with its webhook meanwhile: nothing to do. */
        return sqlite_exec_stmt(st) == 0 ? STORE_OK : STORE_ERROR;
    case STORE_DELIVERY_RETRY:
        st = W("UPDATE webhook_deliveries SET status='pending', attempts=0, next_attempt_at=?, finished_at=NULL"
               " WHERE id=? AND webhook_id=? AND team_id=? AND status='dead'");
        if (st == NULL)
            return STORE_ERROR;
        sqlite3_bind_int64(st, 1, now);
        sqlite3_bind_int64(st, 2, d->id);
        sqlite3_bind_int64(st, 3, h->id);
        sqlite3_bind_int64(st, 4, op->team_id);
        if (sqlite_exec_stmt(st) != 0)
            return STORE_ERROR;
        if (sqlite3_changes(s->db) == 1)
            return STORE_OK;
        st = W("SELECT 1 FROM webhook_deliveries WHERE id=? AND webhook_id=? AND team_id=?");
        if (st == NULL)
            return STORE_ERROR;
        sqlite3_bind_int64(st, 1, d->id);
        sqlite3_bind_int64(st, 2, h->id);
        sqlite3_bind_int64(st, 3, op->team_id);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        return rc == SQLITE_ROW ? STORE_REFUSED : STORE_NOT_FOUND; /* not dead / no such delivery */
    default:
        return STORE_ERROR;
    }
    s->hooks_loaded = false; /* the team table changes with every webhook op */
    return rc;
}

int sqlite_outbox_prune(struct sqlite_store *s, int64_t now)
{
    sqlite3_stmt *st = W("DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries"
                         " WHERE status='delivered' AND finished_at<? LIMIT 1000)");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, now - DELIVERED_KEPT_MS);
    return sqlite_exec_stmt(st) == 0 ? STORE_OK : STORE_ERROR;
}

/* ---- reads --------------------------------------------------------------------------- */

int sqlite_hooks_of_team(struct store_reader *base, int64_t team_id, store_hook_cb cb, void *ctx)
{
    struct sqlite_reader *r = (struct sqlite_reader *)base;
    sqlite3_stmt *st = R("SELECT " HOOK_COLUMNS " FROM webhooks WHERE team_id=? ORDER BY id");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, team_id);
    struct store_hook h;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        row_to_hook(st, &h);
        if (cb(ctx, &h) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : STORE_ERROR;
}

int sqlite_hook_get(struct store_reader *base, int64_t team_id, int64_t id, struct store_hook *out)
{
    struct sqlite_reader *r = (struct sqlite_reader *)base;
    return select_hook(R(SQL_HOOK_BY_ID), team_id, id, out);
}

static int each_delivery(sqlite3_stmt *st, store_delivery_cb cb, void *ctx)
{
    struct store_delivery d;
    int rc, n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        memset(&d, 0, sizeof(d));
        d.id = sqlite3_column_int64(st, 0);
        d.hook_id = sqlite3_column_int64(st, 1);
        d.team_id = sqlite3_column_int64(st, 2);
        sqlite_copy_text(d.subject, sizeof(d.subject), st, 3);
        sqlite_copy_text(d.event, sizeof(d.event), st, 4);
        d.payload = (const char *)sqlite3_column_text(st, 5);
        const char *status = (const char *)sqlite3_column_text(st, 6);
        d.status = status && strcmp(status, "delivered") == 0 ? DELIVERY_DELIVERED
                   : status && strcmp(status, "dead") == 0    ? DELIVERY_DEAD
                                                              : DELIVERY_PENDING;
        d.attempts = sqlite3_column_int(st, 7);
        d.next_attempt_at = sqlite3_column_int64(st, 8);
        d.last_status = sqlite3_column_int(st, 9);
        sqlite_copy_text(d.last_error, sizeof(d.last_error), st, 10);
        d.created_at = sqlite3_column_int64(st, 11);
        d.finished_at = sqlite3_column_int64(st, 12);
        n++;
        if (cb(ctx, &d) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? n : STORE_ERROR;
}

int sqlite_deliveries_list(struct store_reader *base, int64_t hook_id, int status, int64_t before_id, int limit,
                           store_delivery_cb cb, void *ctx)
{
    struct sqlite_reader *r = (struct sqlite_reader *)base;
    sqlite3_stmt *st = R("SELECT " DELIVERY_COLUMNS " FROM webhook_deliveries WHERE webhook_id=?1 AND id<?2"
                         " AND (?3 IS NULL OR status=?3) ORDER BY id DESC LIMIT ?4");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, hook_id);
    sqlite3_bind_int64(st, 2, before_id > 0 ? before_id : INT64_MAX);
    if (status >= 0)
        sqlite3_bind_text(st, 3, status_names[status], -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 3);
    sqlite3_bind_int(st, 4, limit);
    return each_delivery(st, cb, ctx);
}

int sqlite_deliveries_due(struct store_reader *base, int64_t now, int limit, store_delivery_cb cb, void *ctx)
{
    struct sqlite_reader *r = (struct sqlite_reader *)base;
    sqlite3_stmt *st = R("SELECT " DELIVERY_COLUMNS " FROM webhook_deliveries d WHERE status='pending'"
                         " AND next_attempt_at<=?1 AND id=(SELECT min(id) FROM webhook_deliveries e"
                         " WHERE e.webhook_id=d.webhook_id AND e.subject=d.subject AND e.status='pending')"
                         " ORDER BY next_attempt_at, id LIMIT ?2");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int(st, 2, limit);
    return each_delivery(st, cb, ctx);
}
