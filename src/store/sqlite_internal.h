/* sqlite_internal: what the SQLite backend's files share. Not for use
 * outside src/store/. Threading as in sqlite.c: the writer connection and
 * its statements belong to the writer thread; each reader to its thread. */
#ifndef LP_STORE_SQLITE_INTERNAL_H
#define LP_STORE_SQLITE_INTERNAL_H

#include "store/store.h"

#include "store/journal.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>

#define SQLITE_STMT_CACHE 64          /* distinct statements per connection */
#define SQLITE_DB_FILE "linkpulse.db" /* inside the data directory */
#define SQLITE_ACCESS_FILE "access.version" /* ... and store.access_version's counter */
#define SQLITE_VFS_GATHER "lp-gather" /* sqlite_vfs.c */

#define LINK_COLUMNS                                                                                                   \
    "id, team_id, domain_id, code, url, title, created_at, updated_at, expires_at, max_visits, visits, redirect_type," \
    " visits_total, visits_bots, crawlable" /* redirect rules, forward_query, UTM (issue 4) */                         \
    ", rules, forward_query, utm_source, utm_medium, utm_campaign, utm_term, utm_content" /* tags and notes (issue 4)  \
                                                                                           */                          \
    ", note, tags"                                                                        /* lifetime (issue 4) */     \
    ", valid_since, enabled, password_hash" /* domains (issue 4): the link's hostname, NULL on the default domain */   \
    ", (SELECT hostname FROM domains WHERE domains.id = links.domain_id)"

/* One link by the caller's team, domain and code (writer and readers). */
#define SQLITE_SELECT_LINK_BY_KEY "SELECT " LINK_COLUMNS " FROM links WHERE team_id=? AND domain_id=? AND code=?"

/* Prepared statements of one connection, keyed by the address of their SQL
 * text (always a string literal), so a lookup is a pointer compare. */
struct stmt_cache {
    size_t n;
    struct {
        const char *sql;
        sqlite3_stmt *st;
    } items[SQLITE_STMT_CACHE];
};

/* The writer's look at the cores (sqlite_give_way): its scheduler totals
 * at the last look that judged. */
struct sqlite_give_way {
    uint64_t run_ns, wait_ns;
};

struct sqlite_store {
    struct store base;
    char *path;
    sqlite3 *db;
    pthread_t writer;
    sqlite3 *ckpt_db; /* the checkpointer's own connection */
    int ckpt_fd;      /* the database file, for the checkpointer's fdatasync; -1 = none */
    pthread_t checkpointer;
    pthread_cond_t ckpt_cond; /* under lock */
    bool ckpt_wanted, ckpt_stop;
    int ckpt_logged, ckpt_copied; /* under lock: the WAL's frames, and those copied, at the last checkpoint */
    _Atomic bool ckpt_tail;       /* a checkpoint copied the WAL: the writer copies the rest and starts it over */
    _Atomic uint64_t ckpt_count, wal_pages; /* for store_wal_counts */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct store_op **queue; /* ring of STORE_QUEUE_MAX */
    size_t head, count;
    bool stopping;
    uint64_t stop_by_ms;     /* writer thread: when it stops applying visits (0: not stopping) */
    struct store_op **batch; /* writer thread: WRITER_BATCH_MAX */
    struct stmt_cache stmts;
    /* search (issue 4), writer thread: links_fts_queue may hold changes
     * not yet in the index; when it was last drained */
    bool search_pending;
    uint64_t search_drained_ms;
    /* visits (sqlite_visits.c): the journal the sink appends to, the
     * position the writer applied up to (writer thread), its read buffer */
    struct journal *journal;
    struct journal_pos jpos;
    /* a pass cut into slices: the visits of links below done_below, up to
     * end, are applied (done_below 0: none) */
    struct {
        struct journal_pos end;
        int64_t done_below;
    } jslice;
    struct journal_pos jpos_seen; /* under lock: jpos as of the last pass */
    uint64_t backlog_bytes;       /* the journal's cap */
    _Atomic uint64_t visits_applied;
    _Atomic uint64_t visits_paused_ms; /* passes gave way to the request path (sqlite_give_way) */
    bool visits_ready;                 /* under lock: the journal has durable visits to apply */
    unsigned visit_waiters;            /* under lock: threads in store_visits_wait (a pass does not give way) */
    /* writer thread: its own /proc/thread-self/schedstat (-1: none) and
     * what it saw there at the last look that judged (sqlite_give_way) */
    int schedstat_fd;
    struct sqlite_give_way give_way;
    pthread_cond_t idle_cond; /* under lock: a pass finished (store_visits_wait) */
    /* sqlite_webhooks.c: teams with enabled webhooks and the union of their
     * events, sorted by team; writer thread only */
    struct {
        int64_t team_id;
        unsigned events;
    } * hook_teams;
    size_t hook_nteams, hook_cap;
    bool hooks_loaded;
};

struct sqlite_reader {
    struct store_reader_base base;
    sqlite3 *db;
    struct stmt_cache stmts;
};

/* A reset statement for sql on db, prepared on first use; NULL (logged) if
 * it cannot be prepared. Bindings are cleared. */
sqlite3_stmt *sqlite_stmt(struct stmt_cache *c, sqlite3 *db, const char *sql);
void sqlite_stmt_cache_free(struct stmt_cache *c);

/* One step that expects no row: 0 or the SQLite error code. Resets st. */
int sqlite_exec_stmt(sqlite3_stmt *st);
void sqlite_copy_text(char *dst, size_t cap, sqlite3_stmt *st, int col);

/* The writer and the checkpointer call this first: they run at nice
 * SQLITE_BACKGROUND_NICE, below the workers, so when the CPU is short the
 * redirects get it and durable visits wait in the journal until there is
 * CPU to apply them (creations wait too, but they wait for the disk
 * anyway). Raising one's own nice needs no privilege; it is never lowered. */
#define SQLITE_BACKGROUND_NICE 10
void sqlite_background_thread(const char *name);

/* Checkpoints (sqlite_ckpt.c): start after the migrations, with s->lock
 * initialised (0 or -1); stop after the writer thread has ended. */
int sqlite_ckpt_start(struct sqlite_store *s);
void sqlite_ckpt_stop(struct sqlite_store *s);
void sqlite_ckpt_counts(struct store *base, struct store_wal_counts *out);

/* Link operations (sqlite_links.c), run by the writer inside the batch
 * transaction: create, bulk, update, delete, consume, rules put. */
int sqlite_link_op(struct sqlite_store *s, struct store_op *op, int64_t now);

/* Account operations run by the writer inside the batch transaction. */
int sqlite_account_op(struct sqlite_store *s, struct store_op *op, int64_t now);
/* Idempotency around a create: returns 1 when op was answered from the
 * table (replay or mismatch; op->status set), 0 to go on. */
int sqlite_idem_before(struct sqlite_store *s, struct store_op *op, int64_t now);
void sqlite_idem_after(struct sqlite_store *s, struct store_op *op, int64_t now);

/* Visits (sqlite_visits.c), run by the writer. A pass applies the next
 * chunk of the journal in one transaction, or in slices when ops are
 * waiting: 1 when more is waiting, 0 when not, -1 when it failed (the
 * slices it committed stay applied). */
int sqlite_visits_pass(struct sqlite_store *s, int64_t now);
/* Between two slices of a pass (writer thread): whether queued ops or the
 * close deadline want the write lock; then one batch of the queued ops,
 * and true when the pass must stop (the close deadline has passed). */
bool sqlite_writer_wanted(struct sqlite_store *s);
bool sqlite_writer_serve(struct sqlite_store *s);
/* Between two steps of a pass (writer thread, lock not held): sleeps up to
 * ms, or less once ops, a visit waiter or the close want the writer. */
void sqlite_writer_pause(struct sqlite_store *s, uint64_t ms);
/* After a step of a pass, a piece of its preparation, or a pass that left
 * visits waiting (writer thread, no lock held): sleeps if the request
 * path wants the cores. */
void sqlite_visits_give_way(struct sqlite_store *s);
/* One look at the writer's scheduler counters (run_ns, wait_ns: its
 * totals so far), with backlog_bytes in a journal of room_bytes: how long
 * the pass gives way now (0: not at all). Pure but for *g, which keeps
 * the totals of the last look that judged; see YIELD_FACTOR in
 * sqlite_visits.c. */
uint64_t sqlite_give_way(struct sqlite_give_way *g, uint64_t run_ns, uint64_t wait_ns, uint64_t backlog_bytes,
                         uint64_t room_bytes);
int sqlite_visits_purge(struct sqlite_store *s, struct store_op *op);
/* lp_tally_merge and lp_tally on a connection (sqlite_tally.c). */
int sqlite_tally_register(sqlite3 *db);

/* Webhooks (sqlite_webhooks.c). The writer ones run inside its transaction. */
int sqlite_hook_op(struct sqlite_store *s, struct store_op *op, int64_t now);
int sqlite_outbox_link(struct sqlite_store *s, unsigned event, const struct link *l, int64_t now);
int sqlite_outbox_visit(struct sqlite_store *s, const struct store_visit *v, int64_t now);
/* True when a webhook of the team wants visit.created for this (link) visit. */
bool sqlite_outbox_wanted(struct sqlite_store *s, int64_t link_id, int64_t team_id);
int sqlite_outbox_prune(struct sqlite_store *s, int64_t now);
void sqlite_hooks_free(struct sqlite_store *s);
const char *sqlite_hook_event_name(unsigned bit);
int sqlite_hooks_of_team(struct store_reader *r, int64_t team_id, store_hook_cb cb, void *ctx);
int sqlite_hook_get(struct store_reader *r, int64_t team_id, int64_t id, struct store_hook *out);
int sqlite_deliveries_list(struct store_reader *r, int64_t hook_id, int status, int64_t before_id, int limit,
                           store_delivery_cb cb, void *ctx);
int sqlite_deliveries_due(struct store_reader *r, int64_t now, int limit, store_delivery_cb cb, void *ctx);

/* Account reads, installed in the backend table by sqlite.c. */
int sqlite_apikeys_each(struct store_reader *r, store_key_cb cb, void *ctx);
int sqlite_apikey_by_hash(struct store_reader *r, const unsigned char hash[STORE_KEY_HASH_LEN],
                          struct store_apikey *out);
int sqlite_apikeys_of_team(struct store_reader *r, int64_t team_id, store_key_cb cb, void *ctx);
int sqlite_user_by_id(struct store_reader *r, int64_t id, struct store_user *out);
int sqlite_user_by_email(struct store_reader *r, const char *email_lc, struct store_user *out);
int sqlite_users_each(struct store_reader *r, store_user_cb cb, void *ctx);
int sqlite_team_get(struct store_reader *r, int64_t team_id, struct store_team *out);
int sqlite_teams_of_user(struct store_reader *r, int64_t user_id, store_team_cb cb, void *ctx);
int sqlite_member_role(struct store_reader *r, int64_t team_id, int64_t user_id, enum role *out);
int sqlite_members_of_team(struct store_reader *r, int64_t team_id, store_member_cb cb, void *ctx);
int sqlite_stats_series(struct store_reader *r, int64_t link_id, int64_t team_id, bool hourly, int64_t from, int64_t to,
                        store_period_cb cb, void *ctx);
int sqlite_stats_dim(struct store_reader *r, int64_t link_id, const char *dim, int64_t from, int64_t to,
                     bool exclude_bots, store_count_cb cb, void *ctx);
int sqlite_visits_list(struct store_reader *r, int64_t link_id, int64_t before_id, int limit, store_visit_cb cb,
                       void *ctx);
/* Shared with sqlite.c: one row of links into l. */
void sqlite_row_to_link(sqlite3_stmt *st, struct link *l);
int sqlite_top_links(struct store_reader *r, int64_t team_id, int limit, struct link *scratch, store_link_cb cb,
                     void *ctx);

/* The name of the VFS that gathers WAL writes (sqlite_vfs.c), registered
 * on the first call; NULL (the default VFS) if it could not be. Only for a
 * connection at synchronous=FULL. */
const char *sqlite_vfs_gather(void);

/* tags, notes, search and reuse (sqlite_find.c) */
int sqlite_register_functions(sqlite3 *db);
int64_t sqlite_url_hash(const char *url, size_t len);
size_t sqlite_url_host(const char *url, size_t len, const char **host);
/* Newline-joined tag names (NULL: none) into l->tags, sorted without case. */
void sqlite_tags_parse(const char *text, struct link *l);
int sqlite_link_tags_write(struct sqlite_store *s, struct link *l, int64_t now);
/* Moves the batch's queued search-index changes into links_fts; 0 or -1.
 * Called once per transaction, outside any savepoint. */
int sqlite_fts_drain(struct stmt_cache *c, sqlite3 *db);
/* 1 when an active link to the same URL was found (op->link, op->reused), 0 if none. */
int sqlite_link_reuse(struct sqlite_store *s, struct store_op *op, int64_t now);
int sqlite_tag_op(struct sqlite_store *s, struct store_op *op, int64_t now);
/* domains (sqlite_domains.c) */
int sqlite_domain_op(struct sqlite_store *s, struct store_op *op, int64_t now);
int sqlite_domains_each(struct store_reader *r, int64_t team_id, store_domain_cb cb, void *ctx);
int sqlite_links_find(struct store_reader *r, const struct store_link_query *q, struct link *scratch, store_link_cb cb,
                      void *ctx);
int sqlite_links_suggest(struct store_reader *r, int64_t team_id, const char *prefix, int limit, struct link *scratch,
                         store_match_cb cb, void *ctx);
/* The typeahead's code source keeps the best `limit` codes by (code, id)
 * over one index range per domain (sqlite_find.c). */
#define SUGGEST_MAX 50 /* largest limit */
struct suggest_code {
    int64_t id;
    unsigned char len;
    char code[LINK_CODE_MAX]; /* not terminated */
};
struct suggest_codes {
    int n, limit; /* 1 <= limit <= SUGGEST_MAX */
    struct suggest_code items[SUGGEST_MAX];
};
/* Whether (code, id) would be kept. Offered in ascending order, a refusal
 * means no later one would be kept either. */
bool sqlite_suggest_codes_wants(const struct suggest_codes *c, const char *code, size_t len, int64_t id);
/* Keeps a wanted (code, id) in order, dropping the last one when full. */
void sqlite_suggest_codes_add(struct suggest_codes *c, const char *code, size_t len, int64_t id);
int sqlite_tags_of_team(struct store_reader *r, int64_t team_id, const char *only, int limit, store_tag_cb cb,
                        void *ctx);

#endif
