/* sqlite_find: tags, notes, search, typeahead and reuse for the SQLite store
 * (issue 4).
 *
 * - The SQL functions lp_url_hash(url) and lp_url_host(url) are registered
 *   on every connection (sqlite_register_functions); the schema and the
 *   writer's statements use them, so the hash and the host are computed in
 *   one place.
 * - Writer side (writer thread, inside its transaction): a link's tags
 *   (sqlite_link_tags_write), reuse lookups, tag rename/merge and delete.
 * - Reader side (the calling thread's reader): filtered listing with FTS5
 *   search and keyset cursors, typeahead over four indexed prefix ranges,
 *   the team's tags with counts.
 * sqlite_tags_parse and sqlite_fts_query (sqlite_fts.c) have unit tables. */
#include "store/sqlite_internal.h"
#include "store/sqlite_fts.h"

#include "core/url.h"
#include "obs/log.h"

#include <assert.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- SQL functions ---------------------------------------------------- */

int64_t sqlite_url_hash(const char *url, size_t len)
{
    static const unsigned char key[crypto_shorthash_KEYBYTES]; /* fixed: hashes are stored */
    unsigned char h[crypto_shorthash_BYTES];
    crypto_shorthash(h, (const unsigned char *)url, len, key);
    int64_t v;
    memcpy(&v, h, sizeof(v));
    return v;
}

/* The URL's host without a leading "www." (kept when only a TLD would remain), or 0 bytes. */
size_t sqlite_url_host(const char *url, size_t len, const char **host)
{
    struct url_parts p;
    if (url_split(url, len, &p) != 0 || p.host_len == 0)
        return 0;
    *host = p.host;
    size_t n = p.host_len;
    if (n > 4 && memcmp(*host, "www.", 4) == 0 && memchr(*host + 4, '.', n - 4) != NULL) {
        *host += 4;
        n -= 4;
    }
    return n;
}

static void fn_url_hash(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const char *u = (const char *)sqlite3_value_text(argv[0]);
    if (u == NULL)
        sqlite3_result_null(ctx);
    else
        sqlite3_result_int64(ctx, sqlite_url_hash(u, (size_t)sqlite3_value_bytes(argv[0])));
}

static void fn_url_host(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const char *u = (const char *)sqlite3_value_text(argv[0]), *h = NULL;
    size_t n = u != NULL ? sqlite_url_host(u, (size_t)sqlite3_value_bytes(argv[0]), &h) : 0;
    if (n == 0)
        sqlite3_result_null(ctx);
    else
        sqlite3_result_text(ctx, h, (int)n, SQLITE_TRANSIENT);
}

int sqlite_register_functions(sqlite3 *db)
{
    int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
    if (sqlite3_create_function_v2(db, "lp_url_hash", 1, flags, NULL, fn_url_hash, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_create_function_v2(db, "lp_url_host", 1, flags, NULL, fn_url_host, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite_tally_register(db) != 0)
        return -1;
    return 0;
}

/* ---- pure helpers ----------------------------------------------------- */

static int tag_cmp(const void *a, const void *b)
{
    return strcasecmp(a, b);
}

void sqlite_tags_parse(const char *text, struct link *l)
{
    l->ntags = 0;
    if (text == NULL)
        return;
    const char *p = text;
    while (*p != '\0' && l->ntags < LINK_TAGS_MAX) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n > 0 && n <= LINK_TAG_MAX_BYTES) {
            memcpy(l->tags[l->ntags], p, n);
            l->tags[l->ntags][n] = '\0';
            l->ntags++;
        }
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    qsort(l->tags, l->ntags, sizeof(l->tags[0]), tag_cmp);
}

/* ---- writer ------------------------------------------------------------ */

#define W(sql) sqlite_stmt(&s->stmts, s->db, sql)

/* The tags text of the link in links.id: its tags' names, newline-joined,
 * leaving out tag ?2 (0: none). */
#define TAGS_TEXT                                                                                                      \
    "(SELECT group_concat(name, char(10)) FROM (SELECT t.name AS name FROM link_tags lt JOIN tags t ON t.id = "        \
    "lt.tag_id WHERE lt.link_id = links.id AND t.id <> ?2 ORDER BY t.name_lc))"

static const char SQL_TAG_UPSERT[] =
    "INSERT INTO tags (team_id, name, name_lc, created_at) VALUES (?1, ?2, ?3, ?4)"
    " ON CONFLICT (team_id, name_lc) DO UPDATE SET name_lc = excluded.name_lc RETURNING id";
static const char SQL_LINK_TAGS_CLEAR[] = "DELETE FROM link_tags WHERE link_id = ?1";
static const char SQL_LINK_TAG_ADD[] = "INSERT OR IGNORE INTO link_tags (link_id, tag_id) VALUES (?1, ?2)";
static const char SQL_LINK_TAGS_TEXT[] = "UPDATE links SET tags = " TAGS_TEXT " WHERE id = ?1 RETURNING tags";

int sqlite_link_tags_write(struct sqlite_store *s, struct link *l, int64_t now)
{
    sqlite3_stmt *clear = W(SQL_LINK_TAGS_CLEAR), *up = W(SQL_TAG_UPSERT), *add = W(SQL_LINK_TAG_ADD),
                 *text = W(SQL_LINK_TAGS_TEXT);
    if (clear == NULL || up == NULL || add == NULL || text == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(clear, 1, l->id);
    if (sqlite_exec_stmt(clear) != 0)
        return STORE_ERROR;
    for (unsigned i = 0; i < l->ntags; i++) {
        char folded[LINK_TAG_MAX_BYTES + 1];
        size_t n = strlen(l->tags[i]);
        link_tag_fold(l->tags[i], n, folded);
        sqlite3_bind_int64(up, 1, l->team_id);
        sqlite3_bind_text(up, 2, l->tags[i], (int)n, SQLITE_STATIC);
        sqlite3_bind_text(up, 3, folded, (int)n, SQLITE_STATIC);
        sqlite3_bind_int64(up, 4, now);
        int rc = sqlite3_step(up);
        int64_t tag_id = rc == SQLITE_ROW ? sqlite3_column_int64(up, 0) : 0;
        while (rc == SQLITE_ROW)
            rc = sqlite3_step(up);
        sqlite3_reset(up);
        if (rc != SQLITE_DONE || tag_id == 0)
            return STORE_ERROR;
        sqlite3_bind_int64(add, 1, l->id);
        sqlite3_bind_int64(add, 2, tag_id);
        if (sqlite_exec_stmt(add) != 0)
            return STORE_ERROR;
    }
    /* Read back the canonical spellings (an existing tag keeps its own). */
    sqlite3_bind_int64(text, 1, l->id);
    sqlite3_bind_int64(text, 2, 0);
    int rc = sqlite3_step(text);
    if (rc == SQLITE_ROW)
        sqlite_tags_parse((const char *)sqlite3_column_text(text, 0), l);
    while (rc == SQLITE_ROW)
        rc = sqlite3_step(text);
    sqlite3_reset(text);
    return rc == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

/* The queued index changes of the batch, in order, then an empty queue. */
int sqlite_fts_drain(struct stmt_cache *c, sqlite3 *db)
{
    sqlite3_stmt *any = sqlite_stmt(c, db, "SELECT EXISTS (SELECT 1 FROM links_fts_queue)");
    if (any == NULL)
        return -1;
    int rc = sqlite3_step(any);
    bool pending = rc == SQLITE_ROW && sqlite3_column_int(any, 0) != 0;
    sqlite3_reset(any);
    if (rc != SQLITE_ROW)
        return -1;
    if (!pending)
        return 0;
    sqlite3_stmt *move = sqlite_stmt(c, db,
                                     "INSERT INTO links_fts (links_fts, rowid, code, url, title, tags)"
                                     " SELECT CASE WHEN del THEN 'delete' END, id, code, url, title, tags"
                                     " FROM links_fts_queue ORDER BY seq");
    sqlite3_stmt *clear = sqlite_stmt(c, db, "DELETE FROM links_fts_queue");
    if (move == NULL || clear == NULL || sqlite_exec_stmt(move) != 0 || sqlite_exec_stmt(clear) != 0)
        return -1;
    return 0;
}

static const char SQL_REUSE[] =
    "SELECT " LINK_COLUMNS " FROM links WHERE team_id = ?1 AND url_hash = lp_url_hash(?2) AND url = ?2"
    " AND domain_id = ?3 AND (?4 = '' OR code = ?4) AND (expires_at IS NULL OR expires_at > ?5)"
    " AND (max_visits IS NULL OR visits < max_visits) AND enabled = 1 AND (valid_since IS NULL OR valid_since <= ?5)"
    " ORDER BY id DESC LIMIT 1";

int sqlite_link_reuse(struct sqlite_store *s, struct store_op *op, int64_t now)
{
    sqlite3_stmt *st = W(SQL_REUSE);
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, op->team_id);
    sqlite3_bind_text(st, 2, op->link.url, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, op->domain_id);
    sqlite3_bind_text(st, 4, op->random_code_len > 0 ? "" : op->link.code, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, now);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        sqlite_row_to_link(st, &op->link);
        op->reused = true;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : STORE_ERROR;
}

static const char SQL_TAG_ID[] = "SELECT id FROM tags WHERE team_id = ?1 AND name_lc = ?2";
static const char SQL_TAG_MOVE[] = "INSERT OR IGNORE INTO link_tags (link_id, tag_id)"
                                   " SELECT link_id, ?2 FROM link_tags WHERE tag_id = ?1";
static const char SQL_TAG_UNLINK[] = "DELETE FROM link_tags WHERE tag_id = ?1";
static const char SQL_TAG_DROP[] = "DELETE FROM tags WHERE id = ?1";
static const char SQL_TAG_NAME[] = "SELECT name FROM tags WHERE id = ?1";
static const char SQL_TAG_RENAME[] = "UPDATE tags SET name = ?2, name_lc = ?3 WHERE id = ?1";
/* Rewrites links.tags of the links carrying tag ?1, leaving out tag ?2. */
static const char SQL_TAG_RETEXT[] = "UPDATE links SET tags = " TAGS_TEXT ", updated_at = max(?3, updated_at + 1)"
                                     " WHERE id IN (SELECT link_id FROM link_tags WHERE tag_id = ?1)";

static int64_t tag_id(struct sqlite_store *s, int64_t team_id, const char *name)
{
    char folded[LINK_TAG_MAX_BYTES + 1];
    link_tag_fold(name, strlen(name), folded);
    sqlite3_stmt *st = W(SQL_TAG_ID);
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, team_id);
    sqlite3_bind_text(st, 2, folded, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : rc == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    return id;
}

static int exec2(struct sqlite_store *s, const char *sql, int64_t a, int64_t b)
{
    sqlite3_stmt *st = W(sql);
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, a);
    if (b != INT64_MIN)
        sqlite3_bind_int64(st, 2, b);
    return sqlite_exec_stmt(st);
}

static int retext(struct sqlite_store *s, int64_t tag, int64_t leave_out, int64_t now, int64_t *links)
{
    sqlite3_stmt *st = W(SQL_TAG_RETEXT);
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, tag);
    sqlite3_bind_int64(st, 2, leave_out);
    sqlite3_bind_int64(st, 3, now);
    if (sqlite_exec_stmt(st) != 0)
        return -1;
    *links = sqlite3_changes(s->db);
    return 0;
}

int sqlite_tag_op(struct sqlite_store *s, struct store_op *op, int64_t now)
{
    int64_t from = tag_id(s, op->team_id, op->tag);
    if (from <= 0)
        return from == 0 ? STORE_NOT_FOUND : STORE_ERROR;
    if (op->kind == STORE_TAG_DELETE) {
        if (retext(s, from, from, now, &op->purged) != 0 || exec2(s, SQL_TAG_UNLINK, from, INT64_MIN) != 0 ||
            exec2(s, SQL_TAG_DROP, from, INT64_MIN) != 0)
            return STORE_ERROR;
        return STORE_OK;
    }
    int64_t to = tag_id(s, op->team_id, op->tag_to);
    if (to < 0)
        return STORE_ERROR;
    if (to > 0 && to != from) { /* merge into the existing tag */
        if (exec2(s, SQL_TAG_MOVE, from, to) != 0 || exec2(s, SQL_TAG_UNLINK, from, INT64_MIN) != 0 ||
            exec2(s, SQL_TAG_DROP, from, INT64_MIN) != 0)
            return STORE_ERROR;
        sqlite3_stmt *st = W(SQL_TAG_NAME); /* answer with the spelling the team already has */
        if (st == NULL)
            return STORE_ERROR;
        sqlite3_bind_int64(st, 1, to);
        if (sqlite3_step(st) == SQLITE_ROW)
            sqlite_copy_text(op->tag_to, sizeof(op->tag_to), st, 0);
        sqlite3_reset(st);
    } else { /* a new name, or the same name in another case */
        char folded[LINK_TAG_MAX_BYTES + 1];
        link_tag_fold(op->tag_to, strlen(op->tag_to), folded);
        sqlite3_stmt *st = W(SQL_TAG_RENAME);
        if (st == NULL)
            return STORE_ERROR;
        sqlite3_bind_int64(st, 1, from);
        sqlite3_bind_text(st, 2, op->tag_to, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, folded, -1, SQLITE_STATIC);
        if (sqlite_exec_stmt(st) != 0)
            return STORE_ERROR;
        to = from;
    }
    return retext(s, to, 0, now, &op->purged) == 0 ? STORE_OK : STORE_ERROR;
}

/* ---- readers ----------------------------------------------------------- */

#undef W
#define R(sql) sqlite_stmt(&r->stmts, r->db, sql)

/* Appends to a fixed SQL buffer; the pieces are literals, so overflow is a
 * programming error caught by the size check. */
struct sqlbuf {
    char s[2048];
    size_t n;
    bool overflow;
};

static void sql_add(struct sqlbuf *b, const char *piece)
{
    size_t k = strlen(piece);
    if (b->n + k + 1 > sizeof(b->s)) {
        b->overflow = true;
        return;
    }
    memcpy(b->s + b->n, piece, k + 1);
    b->n += k;
}

#define TITLE_KEY "coalesce(title, '') COLLATE NOCASE"

int sqlite_links_find(struct store_reader *base, const struct store_link_query *q, struct link *scratch,
                      store_link_cb cb, void *ctx)
{
    struct sqlite_reader *r = (struct sqlite_reader *)base;
    struct sqlbuf b = {.n = 0};
    char fts[2 * STORE_SEARCH_MAX + 64];
    bool search = false;
    if (q->search[0] != '\0') {
        long n = sqlite_fts_query(q->search, fts, sizeof(fts));
        if (n < 0)
            return STORE_ERROR;
        if (n == 0)
            return 0; /* only punctuation: nothing can match */
        search = true;
    }
    sql_add(&b, "SELECT " LINK_COLUMNS " FROM links WHERE team_id = ?1");
    if (q->created_from != 0)
        sql_add(&b, " AND created_at >= ?2");
    if (q->created_to != 0)
        sql_add(&b, " AND created_at < ?3");
    if (q->state == LINKS_ACTIVE)
        sql_add(&b, " AND (expires_at IS NULL OR expires_at > ?4) AND (max_visits IS NULL OR visits < max_visits)"
                    " AND enabled = 1 AND (valid_since IS NULL OR valid_since <= ?4)");
    else if (q->state == LINKS_EXPIRED)
        sql_add(&b, " AND (expires_at <= ?4 OR visits >= max_visits)");
    else if (q->state == LINKS_DISABLED)
        sql_add(&b, " AND enabled = 0");
    else if (q->state == LINKS_SCHEDULED)
        sql_add(&b, " AND valid_since > ?4");
    if (q->untagged)
        sql_add(&b, " AND tags IS NULL");
    if (q->by_domain)
        sql_add(&b, " AND domain_id = ?21");
    if (q->ntags > 0) {
        sql_add(&b, " AND id IN (SELECT lt.link_id FROM link_tags lt JOIN tags t ON t.id = lt.tag_id"
                    " WHERE t.team_id = ?1 AND t.name_lc IN (");
        for (unsigned i = 0; i < q->ntags; i++) {
            char p[8];
            snprintf(p, sizeof(p), "%s?%u", i ? ", " : "", 10 + i);
            sql_add(&b, p);
        }
        sql_add(&b, q->tags_all ? ") GROUP BY lt.link_id HAVING count(*) = ?9)" : "))");
    }
    if (search)
        sql_add(&b, " AND id IN (SELECT rowid FROM links_fts WHERE links_fts MATCH ?5)");
    static const char *const after[3][2] = {
        {" AND (created_at, id) > (?7, ?6)", " AND (created_at, id) < (?7, ?6)"},
        {" AND (visits_total, id) > (?7, ?6)", " AND (visits_total, id) < (?7, ?6)"},
        {" AND (" TITLE_KEY " > ?8 OR (" TITLE_KEY " = ?8 AND id > ?6))",
         " AND (" TITLE_KEY " < ?8 OR (" TITLE_KEY " = ?8 AND id < ?6))"},
    };
    static const char *const order[3][2] = {
        {" ORDER BY created_at ASC, id ASC", " ORDER BY created_at DESC, id DESC"},
        {" ORDER BY visits_total ASC, id ASC", " ORDER BY visits_total DESC, id DESC"},
        {" ORDER BY " TITLE_KEY " ASC, id ASC", " ORDER BY " TITLE_KEY " DESC, id DESC"},
    };
    if (q->has_cursor)
        sql_add(&b, after[q->order][q->desc]);
    sql_add(&b, order[q->order][q->desc]);
    sql_add(&b, " LIMIT ?20");
    if (b.overflow)
        return STORE_ERROR;

    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db, b.s, (int)b.n, &st, NULL) != SQLITE_OK) {
        log_error("sqlite: links query: %s", sqlite3_errmsg(r->db));
        return STORE_ERROR;
    }
    sqlite3_bind_int64(st, 1, q->team_id);
    sqlite3_bind_int64(st, 2, q->created_from);
    sqlite3_bind_int64(st, 3, q->created_to);
    sqlite3_bind_int64(st, 4, q->now);
    if (search)
        sqlite3_bind_text(st, 5, fts, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, q->after_id);
    sqlite3_bind_int64(st, 7, q->after_num);
    sqlite3_bind_text(st, 8, q->after_text, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 9, (int)q->ntags);
    for (unsigned i = 0; i < q->ntags; i++)
        sqlite3_bind_text(st, 10 + (int)i, q->tags[i], -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 20, q->limit);
    sqlite3_bind_int64(st, 21, q->domain_id);
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        sqlite_row_to_link(st, scratch);
        n++;
        if (cb(ctx, scratch) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? n : STORE_ERROR;
}

/* Codes are case-sensitive, so they match as typed. Codes are unique per
 * domain, so the code source reads one range of the unique (domain_id, code)
 * index per domain (the default one, then each of the team's) in index
 * order, and keeps the best `limit` codes over all of them (struct
 * suggest_codes): a range stops at the first code that could no longer be
 * kept, or after SUGGEST_CODE_SCAN codes of any team (the default domain is
 * shared by every team, so this bounds the cost in a big instance). Reading
 * the domains in one query instead, ordered by code, sorts every matching
 * code of the instance (~16,000 for one character at 1M links). The kept
 * links are then read by id. */
#define SUGGEST_CODE_SCAN "500"
static const char SQL_SUGGEST_DOMAINS[] = "SELECT id FROM domains WHERE team_id = ?1";
static const char SQL_SUGGEST_CODE[] = "SELECT code, id, team_id FROM links WHERE domain_id = ?1"
                                       " AND code >= ?2 AND code < ?3 ORDER BY code LIMIT " SUGGEST_CODE_SCAN;
/* The code and team again: the link may have changed since its code was read. */
static const char SQL_SUGGEST_LINK[] =
    "SELECT " LINK_COLUMNS " FROM links WHERE id = ?1 AND code = ?2 AND team_id = ?3";
static const char SQL_SUGGEST_TAG[] =
    "SELECT " LINK_COLUMNS " FROM links WHERE id IN (SELECT lt.link_id FROM tags t JOIN link_tags lt"
    " ON lt.tag_id = t.id WHERE t.team_id = ?1 AND t.name_lc >= ?2 AND t.name_lc < ?3 ORDER BY t.name_lc LIMIT ?4)";
static const char SQL_SUGGEST_TITLE[] = "SELECT " LINK_COLUMNS " FROM links WHERE team_id = ?1"
                                        " AND " TITLE_KEY " >= ?2 AND " TITLE_KEY " < ?3"
                                        " ORDER BY " TITLE_KEY " LIMIT ?4";
static const char SQL_SUGGEST_HOST[] = "SELECT " LINK_COLUMNS " FROM links WHERE team_id = ?1"
                                       " AND host >= ?2 AND host < ?3 ORDER BY host, id LIMIT ?4";

/* (code, id) order: codes as SQLite's BINARY collation orders them (bytes,
 * then the shorter first); the same code on two domains by id. */
static int code_cmp(const char *a, size_t alen, int64_t aid, const char *b, size_t blen, int64_t bid)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    if (alen != blen)
        return alen < blen ? -1 : 1;
    return aid < bid ? -1 : aid > bid;
}

bool sqlite_suggest_codes_wants(const struct suggest_codes *c, const char *code, size_t len, int64_t id)
{
    if (len > LINK_CODE_MAX)
        return false;
    if (c->n < c->limit)
        return true;
    const struct suggest_code *last = &c->items[c->n - 1];
    return code_cmp(code, len, id, last->code, last->len, last->id) < 0;
}

void sqlite_suggest_codes_add(struct suggest_codes *c, const char *code, size_t len, int64_t id)
{
    assert(c->limit >= 1 && c->limit <= SUGGEST_MAX && sqlite_suggest_codes_wants(c, code, len, id));
    int i = c->n < c->limit ? c->n++ : c->n - 1; /* full: the last one goes */
    for (; i > 0 && code_cmp(code, len, id, c->items[i - 1].code, c->items[i - 1].len, c->items[i - 1].id) < 0; i--)
        c->items[i] = c->items[i - 1];
    memcpy(c->items[i].code, code, len);
    c->items[i].len = (unsigned char)len;
    c->items[i].id = id;
}

/* The team's codes of one domain in [lo, hi) into c; 0 or STORE_ERROR. */
static int suggest_code_range(struct sqlite_reader *r, int64_t team_id, int64_t domain_id, const char *lo,
                              const char *hi, size_t n, struct suggest_codes *c)
{
    sqlite3_stmt *st = R(SQL_SUGGEST_CODE);
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, domain_id);
    sqlite3_bind_text(st, 2, lo, (int)n, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, hi, (int)n + 4, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *code = (const char *)sqlite3_column_text(st, 0);
        size_t len = (size_t)sqlite3_column_bytes(st, 0);
        int64_t id = sqlite3_column_int64(st, 1);
        if (code == NULL || !sqlite_suggest_codes_wants(c, code, len, id)) {
            rc = SQLITE_DONE; /* the range is in code order: no later code is wanted either */
            break;
        }
        if (sqlite3_column_int64(st, 2) == team_id)
            sqlite_suggest_codes_add(c, code, len, id);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : STORE_ERROR;
}

/* The best codes over the default domain and each of the team's. */
static int suggest_codes(struct sqlite_reader *r, int64_t team_id, const char *lo, const char *hi, size_t n,
                         struct suggest_codes *c)
{
    if (suggest_code_range(r, team_id, 0, lo, hi, n, c) != 0)
        return STORE_ERROR;
    sqlite3_stmt *st = R(SQL_SUGGEST_DOMAINS);
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, team_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (suggest_code_range(r, team_id, sqlite3_column_int64(st, 0), lo, hi, n, c) != 0) {
            rc = SQLITE_ERROR;
            break;
        }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : STORE_ERROR;
}

/* What has been sent so far: the ids (each link once) and whether cb asked
 * to stop. */
struct suggest_sent {
    int64_t ids[SUGGEST_MAX]; /* n < limit <= SUGGEST_MAX before each is added */
    int n, limit;
    bool stop;
    struct link *scratch;
    store_match_cb cb;
    void *ctx;
};

/* Sends each row of st whose link was not sent yet, until `limit` were;
 * 0 or STORE_ERROR. */
static int suggest_send(sqlite3_stmt *st, enum store_match kind, struct suggest_sent *s)
{
    int rc = SQLITE_DONE;
    while (s->n < s->limit && !s->stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        bool dup = false;
        for (int i = 0; i < s->n && !dup; i++)
            dup = s->ids[i] == id;
        if (dup)
            continue;
        s->ids[s->n++] = id;
        sqlite_row_to_link(st, s->scratch);
        s->stop = s->cb(s->ctx, s->scratch, kind) != 0;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : STORE_ERROR;
}

/* Sends the kept codes' links, in code order. */
static int suggest_send_codes(struct sqlite_reader *r, int64_t team_id, const struct suggest_codes *c,
                              struct suggest_sent *s)
{
    sqlite3_stmt *st = R(SQL_SUGGEST_LINK);
    if (st == NULL)
        return STORE_ERROR;
    for (int i = 0; i < c->n && s->n < s->limit && !s->stop; i++) {
        sqlite3_bind_int64(st, 1, c->items[i].id);
        sqlite3_bind_text(st, 2, c->items[i].code, c->items[i].len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, team_id);
        if (suggest_send(st, MATCH_CODE, s) != 0)
            return STORE_ERROR;
    }
    return 0;
}

int sqlite_links_suggest(struct store_reader *base, int64_t team_id, const char *prefix, int limit,
                         struct link *scratch, store_match_cb cb, void *ctx)
{
    struct sqlite_reader *r = (struct sqlite_reader *)base;
    static const char *const sql[] = {NULL, SQL_SUGGEST_TAG, SQL_SUGGEST_TITLE, SQL_SUGGEST_HOST};
    static const enum store_match kind[] = {MATCH_CODE, MATCH_TAG, MATCH_TITLE, MATCH_HOST};
    size_t plen = strlen(prefix);
    if (plen == 0 || plen > STORE_SEARCH_MAX || limit < 1 || limit > SUGGEST_MAX)
        return STORE_ERROR;
    /* lo = the prefix folded; hi = lo followed by the largest code point, so
     * [lo, hi) holds exactly the strings that start with it */
    char lo[STORE_SEARCH_MAX + 1], hi[STORE_SEARCH_MAX + 5];
    link_tag_fold(prefix, plen, lo);
    struct suggest_sent sent = {.n = 0, .limit = limit, .scratch = scratch, .cb = cb, .ctx = ctx};
    /* Each source is read only while fewer than `limit` links were found:
     * the code source alone fills the list for a short code prefix. */
    for (size_t k = 0; k < 4 && sent.n < limit && !sent.stop; k++) {
        const char *p = kind[k] == MATCH_CODE ? prefix : lo; /* codes as typed, the rest folded */
        size_t n = plen;
        if (kind[k] == MATCH_HOST && n > 4 && memcmp(p, "www.", 4) == 0) {
            p += 4;
            n -= 4;
        }
        memcpy(hi, p, n);
        memcpy(hi + n, "\xf4\x8f\xbf\xbf", 5);
        if (kind[k] == MATCH_CODE) {
            struct suggest_codes c = {.n = 0, .limit = limit};
            if (suggest_codes(r, team_id, p, hi, n, &c) != 0 || suggest_send_codes(r, team_id, &c, &sent) != 0)
                return STORE_ERROR;
            continue;
        }
        sqlite3_stmt *st = R(sql[k]);
        if (st == NULL)
            return STORE_ERROR;
        sqlite3_bind_int64(st, 1, team_id);
        sqlite3_bind_text(st, 2, p, (int)n, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, hi, (int)n + 4, SQLITE_STATIC);
        /* The tag source's LIMIT counts (tag, link) rows: with up to
         * LINK_TAGS_MAX matching tags per link, that many times `limit` rows
         * hold `limit` links whenever the team has them. */
        sqlite3_bind_int(st, 4, kind[k] == MATCH_TAG ? limit * LINK_TAGS_MAX : limit);
        if (suggest_send(st, kind[k], &sent) != 0)
            return STORE_ERROR;
    }
    return sent.n;
}

#define TAG_ROW "SELECT t.name, (SELECT count(*) FROM link_tags lt WHERE lt.tag_id = t.id) FROM tags t"
static const char SQL_TAGS_OF_TEAM[] = TAG_ROW " WHERE t.team_id = ?1 ORDER BY t.name_lc LIMIT ?2";
static const char SQL_TAG_OF_TEAM[] = TAG_ROW " WHERE t.team_id = ?1 AND t.name_lc = ?3";

int sqlite_tags_of_team(struct store_reader *base, int64_t team_id, const char *only, int limit, store_tag_cb cb,
                        void *ctx)
{
    struct sqlite_reader *r = (struct sqlite_reader *)base;
    sqlite3_stmt *st = only != NULL ? R(SQL_TAG_OF_TEAM) : R(SQL_TAGS_OF_TEAM);
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, team_id);
    if (only != NULL)
        sqlite3_bind_text(st, 3, only, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int(st, 2, limit);
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        n++;
        if (cb(ctx, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1)) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? n : STORE_ERROR;
}
