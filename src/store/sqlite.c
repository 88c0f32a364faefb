/* sqlite: the embedded store backend (see store.h for the contract).
 *
 * Invariants:
 * - One writer connection, used only by the writer thread. Every mutation is
 *   a store_op queued to it; it takes all queued ops (up to WRITER_BATCH_MAX),
 *   runs each inside its own SAVEPOINT so one op's failure (a taken slug)
 *   leaves the others in the batch intact, and commits the batch once.
 *   synchronous=FULL makes that commit durable before any done() is called.
 *   (Syncing on another thread while the writer went on measured slower:
 *   the fsync is what lets the next batch grow, and page writes per link
 *   fall with the batch size; and no faster with batches that kept growing
 *   during the flush, as the clients are a closed loop: docs/PERFORMANCE.md.)
 *   Checkpoints: sqlite_ckpt.c; the link operations: sqlite_links.c; the
 *   writer's connection gathers its WAL writes (sqlite_vfs.c).
 * - Readers each own a connection with query_only set; WAL lets them read
 *   while the writer commits. */
#include "store/sqlite_internal.h"
#include "store/sqlite_schema.h"

#include "obs/log.h"
#include "util/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define STORE_QUEUE_MAX 16384 /* ops waiting for the writer; beyond it submit fails (503) */
#define WRITER_BATCH_MAX 1024 /* ops per transaction */
#define BUSY_TIMEOUT_MS 5000

static const char SQL_SELECT_KEY[] = SQLITE_SELECT_LINK_BY_KEY;

static const struct store_backend sqlite_backend;

/* ---- helpers ---------------------------------------------------------- */

sqlite3_stmt *sqlite_stmt(struct stmt_cache *c, sqlite3 *db, const char *sql)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->items[i].sql == sql) {
            sqlite3_reset(c->items[i].st);
            sqlite3_clear_bindings(c->items[i].st);
            return c->items[i].st;
        }
    }
    if (c->n == SQLITE_STMT_CACHE) {
        log_error("sqlite: statement cache full; raise SQLITE_STMT_CACHE");
        return NULL;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        log_error("sqlite: cannot prepare \"%s\": %s", sql, sqlite3_errmsg(db));
        return NULL;
    }
    c->items[c->n].sql = sql;
    c->items[c->n].st = st;
    c->n++;
    return st;
}

void sqlite_stmt_cache_free(struct stmt_cache *c)
{
    for (size_t i = 0; i < c->n; i++)
        sqlite3_finalize(c->items[i].st);
    c->n = 0;
}

int sqlite_exec_stmt(sqlite3_stmt *st)
{
    if (st == NULL)
        return SQLITE_ERROR;
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : rc;
}

/* A statement by SQL text on the writer's connection. */
#define W(sql) sqlite_stmt(&s->stmts, s->db, sql)
#define R(sql) sqlite_stmt(&r->stmts, r->db, sql)

static int exec_simple(struct sqlite_store *s, const char *sql)
{
    return sqlite_exec_stmt(sqlite_stmt(&s->stmts, s->db, sql)) == 0 ? 0 : -1;
}

void sqlite_copy_text(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t n = t ? (size_t)sqlite3_column_bytes(st, col) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n > 0)
        memcpy(dst, t, n);
    dst[n] = '\0';
}

void sqlite_row_to_link(sqlite3_stmt *st, struct link *l)
{
    l->id = sqlite3_column_int64(st, 0);
    l->team_id = sqlite3_column_int64(st, 1);
    l->domain_id = sqlite3_column_int64(st, 2);
    sqlite_copy_text(l->code, sizeof(l->code), st, 3);
    sqlite_copy_text(l->url, sizeof(l->url), st, 4);
    l->has_title = sqlite3_column_type(st, 5) != SQLITE_NULL;
    sqlite_copy_text(l->title, sizeof(l->title), st, 5);
    l->created_at = sqlite3_column_int64(st, 6);
    l->updated_at = sqlite3_column_int64(st, 7);
    l->expires_at = sqlite3_column_int64(st, 8);
    l->max_visits = sqlite3_column_int64(st, 9);
    l->visits = sqlite3_column_int64(st, 10);
    l->redirect_type = sqlite3_column_int(st, 11);
    l->visits_total = sqlite3_column_int64(st, 12);
    l->visits_bots = sqlite3_column_int64(st, 13);
    l->crawlable = sqlite3_column_int(st, 14) != 0;
    /* redirect rules (issue 4) */
    int rn = sqlite3_column_bytes(st, 15);
    l->rules_len = rn > 0 && rn <= LINK_RULES_MAX ? (uint16_t)rn : 0;
    if (l->rules_len > 0)
        memcpy(l->rules, sqlite3_column_blob(st, 15), l->rules_len);
    l->forward_query = sqlite3_column_int(st, 16) != 0;
    for (int i = 0; i < LINK_UTM_N; i++)
        sqlite_copy_text(l->utm[i], sizeof(l->utm[i]), st, 17 + i);
    /* tags and notes (issue 4) */
    l->has_note = sqlite3_column_type(st, 22) != SQLITE_NULL;
    sqlite_copy_text(l->note, sizeof(l->note), st, 22);
    sqlite_tags_parse((const char *)sqlite3_column_text(st, 23), l);
    l->valid_since = sqlite3_column_int64(st, 24); /* lifetime (issue 4) */
    l->disabled = sqlite3_column_int(st, 25) == 0;
    sqlite_copy_text(l->password_hash, sizeof(l->password_hash), st, 26); /* password links (issue 4) */
    sqlite_copy_text(l->domain, sizeof(l->domain), st, 27);               /* domains (issue 4) */
}

#define WRITER_CACHE_KIB "4096" /* the writer connection's page cache (see store_sqlite_open) */

/* SQLite keeps memory statistics under one process-wide mutex by default,
 * taken on every allocation of every connection: under creation load that
 * lock and unlock were 7% of the writer. Nothing here reads the statistics.
 * The setting must precede the library's initialization (the first open). */
static void sqlite_global_config(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* vfs: NULL for the default one */
static int open_db(const char *path, sqlite3 **db, const char *vfs)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sqlite_global_config);
    int rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, vfs);
    if (rc != SQLITE_OK)
        return -1;
    sqlite3_extended_result_codes(*db, 1);
    if (sqlite_register_functions(*db) != 0)
        return -1;
    sqlite3_busy_timeout(*db, BUSY_TIMEOUT_MS);
    return 0;
}

/* ---- migrations --------------------------------------------------------- */

static int user_version(sqlite3 *db)
{
    sqlite3_stmt *st;
    int version = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return version;
}

/* Runs under BEGIN IMMEDIATE and reads the version inside it, so a server
 * and a CLI command starting together cannot both apply a migration. */
static int migrate(sqlite3 *db, char *err, size_t errcap)
{
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        goto fail_db;
    int version = user_version(db);
    if (version < 0)
        goto fail_rollback;
    if (version > SQLITE_SCHEMA_VERSION) {
        snprintf(err, errcap,
                 "the database schema is version %d, newer than this binary supports (%d): "
                 "run a newer linkpulse, or restore a backup made for this version",
                 version, SQLITE_SCHEMA_VERSION);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    for (int v = version; v < SQLITE_SCHEMA_VERSION; v++) {
        char setv[64];
        snprintf(setv, sizeof(setv), "PRAGMA user_version = %d", v + 1);
        if (sqlite3_exec(db, sqlite_migrations[v], NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(db, setv, NULL, NULL, NULL) != SQLITE_OK) {
            snprintf(err, errcap, "migration %d failed: %s", v + 1, sqlite3_errmsg(db));
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
        log_info("sqlite: applying migration %d", v + 1);
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        goto fail_rollback;
    return 0;

fail_rollback:
    snprintf(err, errcap, "database error: %s", sqlite3_errmsg(db));
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
fail_db:
    snprintf(err, errcap, "database error: %s", sqlite3_errmsg(db));
    return -1;
}

/* ---- the writer --------------------------------------------------------- */

static int run_op(struct sqlite_store *s, struct store_op *op, int64_t now)
{
    int rc;
    switch (op->kind) {
    case STORE_LINK_CREATE:
    case STORE_LINK_UPDATE:
    case STORE_LINK_DELETE:
    case STORE_LINK_CONSUME:
    case STORE_LINK_RULES_PUT: /* redirect rules (issue 4) */
    case STORE_LINK_BULK:      /* bulk creation and imports (issue 4) */
        return sqlite_link_op(s, op, now);
    case STORE_HOOK_CREATE:
    case STORE_HOOK_UPDATE:
    case STORE_HOOK_DELETE:
    case STORE_DELIVERY_RESULT:
    case STORE_DELIVERY_RETRY:
        return sqlite_hook_op(s, op, now);
    case STORE_VISITS_PURGE:
        rc = sqlite_visits_purge(s, op);
        return rc == STORE_OK ? sqlite_outbox_prune(s, now) : rc;
    case STORE_DOMAIN_CREATE: /* domains (issue 4) */
    case STORE_DOMAIN_UPDATE:
    case STORE_DOMAIN_DELETE:
        return sqlite_domain_op(s, op, now);
    case STORE_TAG_RENAME: /* tags (issue 4) */
    case STORE_TAG_DELETE:
        return sqlite_tag_op(s, op, now);
    default:
        return sqlite_account_op(s, op, now);
    }
}

/* search (issue 4): the triggers queue index changes in links_fts_queue;
 * moving them into FTS5 makes a segment, and FTS5 merges segments as they
 * pile up, so draining after every small batch made the merges a third of
 * the writer's time under creation load (stalls of 15-50 ms). A batch of
 * at most SEARCH_DRAIN_IDLE_OPS drains when nothing else waits for the
 * writer (so an idle server's search sees a link as soon as its 201 is
 * sent), any batch at most every SEARCH_DRAIN_MS; the writer drains what
 * is left before it sleeps. A bigger batch means clients are many: under
 * a closed loop of 64 the queue is often empty between two batches, and
 * the batch that found it so drained 1,572 times in 8 s. */
#define SEARCH_DRAIN_MS 500
#define SEARCH_DRAIN_IDLE_OPS 2

static bool search_due(struct sqlite_store *s, size_t n)
{
    pthread_mutex_lock(&s->lock);
    bool idle = s->count == 0 && n <= SEARCH_DRAIN_IDLE_OPS;
    pthread_mutex_unlock(&s->lock);
    return idle || clock_mono_ms() - s->search_drained_ms >= SEARCH_DRAIN_MS;
}

static void search_drained(struct sqlite_store *s, bool drained)
{
    if (drained)
        s->search_drained_ms = clock_mono_ms();
    s->search_pending = !drained;
}

/* Before the writer sleeps: the changes of the batches that skipped it
 * (and, after a start, whatever the last run left). A failure is not
 * retried here, where it would spin. */
static void search_drain_idle(struct sqlite_store *s)
{
    bool ok = exec_simple(s, "BEGIN IMMEDIATE") == 0;
    if (ok && (sqlite_fts_drain(&s->stmts, s->db) != 0 || exec_simple(s, "COMMIT") != 0)) {
        log_error("sqlite: updating the search index failed: %s", sqlite3_errmsg(s->db));
        exec_simple(s, "ROLLBACK");
        ok = false;
    }
    if (ok)
        search_drained(s, true);
    else
        s->search_pending = false; /* the next batch retries */
}

static void run_batch(struct sqlite_store *s, struct store_op **ops, size_t n)
{
    uint64_t t0 = clock_mono_us();
    int64_t now = clock_wall_ms();
    bool ok = exec_simple(s, "BEGIN IMMEDIATE") == 0;
    for (size_t i = 0; ok && i < n; i++) {
        struct store_op *op = ops[i];
        if (exec_simple(s, "SAVEPOINT op") != 0) {
            ok = false;
            break;
        }
        if (op->idem.key[0] == '\0' || sqlite_idem_before(s, op, now) == 0) {
            op->status = run_op(s, op, now);
            if (op->status == STORE_OK && op->idem.key[0] != '\0')
                sqlite_idem_after(s, op, now);
        }
        if (op->status != STORE_OK)
            exec_simple(s, "ROLLBACK TO op");
        exec_simple(s, "RELEASE op");
    }
    bool drain = ok && search_due(s, n);
    if (drain && sqlite_fts_drain(&s->stmts, s->db) != 0) { /* search (issue 4) */
        log_error("sqlite: updating the search index failed: %s", sqlite3_errmsg(s->db));
        ok = false;
    }
    if (ok && exec_simple(s, "COMMIT") != 0)
        ok = false;
    if (ok)
        search_drained(s, drain);
    if (!ok) {
        log_error("sqlite: transaction of %zu ops failed: %s", n, sqlite3_errmsg(s->db));
        exec_simple(s, "ROLLBACK");
        for (size_t i = 0; i < n; i++)
            ops[i]->status = STORE_ERROR;
    }
    if (ok && s->base.access_version != NULL)
        for (size_t i = 0; i < n; i++)
            if (ops[i]->status == STORE_OK && store_op_changes_access(ops[i]->kind)) {
                atomic_fetch_add_explicit(s->base.access_version, 1, memory_order_release);
                break;
            }
    if (s->base.on_batch != NULL)
        s->base.on_batch(s->base.on_batch_ctx, n, clock_mono_us() - t0, ok);
    for (size_t i = 0; i < n; i++)
        ops[i]->done(ops[i]);
}

void sqlite_background_thread(const char *name)
{
    pthread_setname_np(pthread_self(), name);
    if (setpriority(PRIO_PROCESS, (id_t)gettid(), SQLITE_BACKGROUND_NICE) != 0)
        log_warn("sqlite: %s keeps the workers' CPU priority: %s", name, strerror(errno));
}

/* Takes up to WRITER_BATCH_MAX queued ops into s->batch (under lock). */
static size_t take_batch(struct sqlite_store *s)
{
    size_t n = 0;
    while (s->count > 0 && n < WRITER_BATCH_MAX) {
        s->batch[n++] = s->queue[s->head];
        s->head = (s->head + 1) % STORE_QUEUE_MAX;
        s->count--;
    }
    return n;
}

/* Whether the writer must stop applying visits: STORE_CLOSE_APPLY_MS after
 * it first saw stopping set (writer thread, under lock). */
static bool stop_due(struct sqlite_store *s)
{
    if (!s->stopping)
        return false;
    uint64_t now = clock_mono_ms();
    if (s->stop_by_ms == 0)
        s->stop_by_ms = now + STORE_CLOSE_APPLY_MS;
    return now > s->stop_by_ms;
}

bool sqlite_writer_wanted(struct sqlite_store *s)
{
    pthread_mutex_lock(&s->lock);
    bool wanted = s->count > 0 || stop_due(s);
    pthread_mutex_unlock(&s->lock);
    return wanted;
}

void sqlite_writer_pause(struct sqlite_store *s, uint64_t ms)
{
    uint64_t until = clock_mono_ms() + ms;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        uint64_t now = clock_mono_ms();
        if (s->count > 0 || s->visit_waiters > 0 || s->stopping || now >= until)
            break;
        struct timespec ts = clock_deadline_ms(until - now);
        pthread_cond_timedwait(&s->cond, &s->lock, &ts);
    }
    pthread_mutex_unlock(&s->lock);
}

bool sqlite_writer_serve(struct sqlite_store *s)
{
    pthread_mutex_lock(&s->lock);
    size_t n = take_batch(s);
    bool stop = stop_due(s);
    pthread_mutex_unlock(&s->lock);
    if (n > 0)
        run_batch(s, s->batch, n);
    return stop;
}

/* The writer alternates between the queued ops (one group commit) and one
 * pass over the visit journal. A pass that finds ops waiting commits what
 * it has done and runs them (sqlite_writer_serve), so ops wait for a slice
 * of a pass, not the whole of it. After stopping is set it keeps applying
 * durable visits for up to STORE_CLOSE_APPLY_MS. */
static void *writer_main(void *arg)
{
    struct sqlite_store *s = arg;
    sqlite_background_thread("lp-writer");
    s->schedstat_fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC); /* -1: passes never give way */
    s->batch = malloc(WRITER_BATCH_MAX * sizeof(*s->batch));
    if (s->batch == NULL) {
        log_error("sqlite: writer cannot allocate its batch");
        abort(); /* start-up allocation of a few KB: nothing sensible to continue with */
    }
    pthread_mutex_lock(&s->lock);
    for (;;) {
        if (s->count == 0 && !s->visits_ready && !s->stopping && s->search_pending) {
            pthread_mutex_unlock(&s->lock);
            search_drain_idle(s);
            pthread_mutex_lock(&s->lock);
            continue;
        }
        while (s->count == 0 && !s->visits_ready && !s->stopping)
            pthread_cond_wait(&s->cond, &s->lock);
        bool visits = s->visits_ready && !stop_due(s);
        if (s->count == 0 && !visits && s->stopping)
            break;
        size_t n = take_batch(s);
        s->visits_ready = false;
        pthread_mutex_unlock(&s->lock);
        if (n > 0)
            run_batch(s, s->batch, n);
        int more = 0;
        if (visits) {
            more = sqlite_visits_pass(s, clock_wall_ms());
            if (more < 0) { /* a failed pass is retried, but not in a tight loop */
                struct timespec pause = {.tv_sec = 1};
                nanosleep(&pause, NULL);
            } else if (more > 0) {
                sqlite_visits_give_way(s);
            }
        }
        pthread_mutex_lock(&s->lock);
        s->jpos_seen = s->jpos;
        if (more != 0)
            s->visits_ready = true;
        pthread_cond_broadcast(&s->idle_cond);
    }
    pthread_mutex_unlock(&s->lock);
    if (journal_has_after(s->journal, s->jpos))
        log_warn("sqlite: stopping with visits still in the journal; they are applied at the next start");
    free(s->batch);
    s->batch = NULL;
    if (s->schedstat_fd >= 0)
        close(s->schedstat_fd);
    return NULL;
}

static int sqlite_visits_append(struct store *base, const struct store_visit *v)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    int rc = journal_append(s->journal, v);
    return rc == 0 ? STORE_OK : rc == JOURNAL_FULL ? STORE_LIMIT : STORE_ERROR;
}

static int sqlite_visits_sync(struct store *base)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    if (journal_sync(s->journal) != 0)
        return STORE_ERROR;
    pthread_mutex_lock(&s->lock);
    if (!s->visits_ready && journal_has_after(s->journal, s->jpos_seen)) {
        s->visits_ready = true;
        pthread_cond_signal(&s->cond);
    }
    pthread_mutex_unlock(&s->lock);
    return STORE_OK;
}

static void sqlite_visits_counts(struct store *base, struct store_visit_counts *out)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    struct journal_counts jc;
    journal_counts(s->journal, &jc);
    *out = (struct store_visit_counts){.appended = jc.appended,
                                       .durable = jc.durable,
                                       .applied = atomic_load(&s->visits_applied),
                                       .backlog = jc.backlog,
                                       .lost = jc.lost,
                                       .paused_ms = atomic_load(&s->visits_paused_ms)};
}

static int sqlite_visits_wait(struct store *base, unsigned timeout_ms)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    uint64_t until = clock_mono_ms() + timeout_ms;
    pthread_mutex_lock(&s->lock);
    s->visit_waiters++;
    pthread_cond_signal(&s->cond); /* a pass giving way goes on */
    while (s->visits_ready || journal_has_after(s->journal, s->jpos_seen)) {
        if (!s->visits_ready) { /* durable visits the writer was not told about */
            s->visits_ready = true;
            pthread_cond_signal(&s->cond);
        }
        uint64_t now = clock_mono_ms();
        if (now >= until) {
            s->visit_waiters--;
            pthread_mutex_unlock(&s->lock);
            return STORE_ERROR;
        }
        struct timespec ts = clock_deadline_ms(until - now < 100 ? until - now : 100);
        pthread_cond_timedwait(&s->idle_cond, &s->lock, &ts);
    }
    s->visit_waiters--;
    pthread_mutex_unlock(&s->lock);
    return STORE_OK;
}

static int sqlite_submit(struct store *base, struct store_op *op)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    if (s->stopping || s->count == STORE_QUEUE_MAX) {
        rc = STORE_ERROR;
    } else {
        s->queue[(s->head + s->count) % STORE_QUEUE_MAX] = op;
        s->count++;
        pthread_cond_signal(&s->cond);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static size_t sqlite_queue_depth(struct store *base)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    pthread_mutex_lock(&s->lock);
    size_t n = s->count;
    pthread_mutex_unlock(&s->lock);
    return n;
}

static void sqlite_close(struct store *base)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->writer, NULL);
    sqlite_ckpt_stop(s);
    journal_close(s->journal);
    sqlite_hooks_free(s);
    sqlite_stmt_cache_free(&s->stmts);
    sqlite3_close(s->db);
    sqlite3_close(s->ckpt_db);
    if (s->ckpt_fd >= 0)
        close(s->ckpt_fd); /* after the connections: it drops the file's locks */
    if (s->base.access_version != NULL)
        munmap((void *)s->base.access_version, sizeof(uint64_t));
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    pthread_cond_destroy(&s->idle_cond);
    free(s->queue);
    free(s->path);
    free(s);
}

/* The journal resumes where the last committed pass left it. */
static int open_journal(struct sqlite_store *s, const char *dir, char *err, size_t errcap)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT seg, off, end_seg, end_off, done_below FROM journal_pos WHERE id=1", -1, &st,
                           NULL) != SQLITE_OK) {
        snprintf(err, errcap, "database error: %s", sqlite3_errmsg(s->db));
        return -1;
    }
    if (sqlite3_step(st) == SQLITE_ROW) {
        s->jpos = (struct journal_pos){(uint64_t)sqlite3_column_int64(st, 0), (uint64_t)sqlite3_column_int64(st, 1)};
        s->jslice.end =
            (struct journal_pos){(uint64_t)sqlite3_column_int64(st, 2), (uint64_t)sqlite3_column_int64(st, 3)};
        s->jslice.done_below = sqlite3_column_int64(st, 4);
    }
    sqlite3_finalize(st);
    s->jpos_seen = s->jpos;
    if ((s->journal = journal_open(dir, s->jpos, s->backlog_bytes, err, errcap)) == NULL)
        return -1;
    s->visits_ready = journal_has_after(s->journal, s->jpos);
    return 0;
}

/* store.access_version: a counter in SQLITE_ACCESS_FILE, mapped shared so
 * that every process on the data dir bumps and reads the same one. */
static _Atomic uint64_t *map_access_version(const char *dir)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/%s", dir, SQLITE_ACCESS_FILE) >= (int)sizeof(path))
        return NULL;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    struct stat st;
    void *p = MAP_FAILED;
    if (fd >= 0 && fstat(fd, &st) == 0 &&
        (st.st_size >= (off_t)sizeof(uint64_t) || ftruncate(fd, sizeof(uint64_t)) == 0))
        p = mmap(NULL, sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        log_warn("sqlite: cannot map %s (%s): API keys and teams are looked up on every call, and servers see"
                 " this process's changes to them only within 10 s",
                 path, strerror(errno));
    if (fd >= 0)
        close(fd); /* the mapping stays */
    return p == MAP_FAILED ? NULL : p;
}

struct store *store_sqlite_open(const char *dir, unsigned backlog_mb, char *err, size_t errcap)
{
    struct sqlite_store *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    s->base.be = &sqlite_backend;
    s->ckpt_fd = -1;
    s->search_pending = true;
    s->backlog_bytes = (uint64_t)backlog_mb << 20;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errcap, "cannot create data directory %s: %s", dir, strerror(errno));
        goto fail;
    }
    size_t plen = strlen(dir) + sizeof(SQLITE_DB_FILE) + 2;
    s->path = malloc(plen);
    s->queue = calloc(STORE_QUEUE_MAX, sizeof(*s->queue));
    if (s->path == NULL || s->queue == NULL) {
        snprintf(err, errcap, "out of memory");
        goto fail;
    }
    snprintf(s->path, plen, "%s/%s", dir, SQLITE_DB_FILE);
    if (open_db(s->path, &s->db, sqlite_vfs_gather()) != 0) {
        snprintf(err, errcap, "cannot open %s: %s", s->path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    /* temp_store: each op runs in a SAVEPOINT whose journal would otherwise
     * be a temporary file written 4 bytes + a page at a time. cache_size:
     * SQLite 3.40 walks the whole page cache at the end of every
     * transaction in which a B-tree page split (pcache1TruncateUnsafe:
     * 14% of the writer under creation load at 64 MiB, 6% at 16 MiB);
     * 4 MiB holds the indexes' inner pages, and visit passes drained a
     * backlog as fast at 4 MiB as at 64 (32,000 visits/s either way). */
    if (sqlite3_exec(s->db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA temp_store=MEMORY;"
                     " PRAGMA cache_size=-" WRITER_CACHE_KIB "; PRAGMA wal_autocheckpoint=0;"
                     " PRAGMA journal_size_limit=67108864;",
                     NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errcap, "cannot use %s: %s", s->path, sqlite3_errmsg(s->db));
        goto fail;
    }
    if (migrate(s->db, err, errcap) != 0 || open_journal(s, dir, err, errcap) != 0)
        goto fail;
    if (open_db(s->path, &s->ckpt_db, NULL) != 0) {
        snprintf(err, errcap, "cannot open %s for checkpoints", s->path);
        goto fail;
    }
    s->base.access_version = map_access_version(dir);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    pthread_cond_init(&s->idle_cond, NULL);
    if (sqlite_ckpt_start(s) != 0) {
        snprintf(err, errcap, "cannot start the checkpoint thread");
        goto fail_threads;
    }
    if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
        snprintf(err, errcap, "cannot start the writer thread");
        sqlite_ckpt_stop(s);
        goto fail_threads;
    }
    return &s->base;

fail_threads:
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    pthread_cond_destroy(&s->idle_cond);

fail:
    journal_close(s->journal);
    sqlite_stmt_cache_free(&s->stmts);
    if (s->db != NULL)
        sqlite3_close(s->db);
    if (s->ckpt_db != NULL)
        sqlite3_close(s->ckpt_db);
    if (s->ckpt_fd >= 0)
        close(s->ckpt_fd);
    if (s->base.access_version != NULL)
        munmap((void *)s->base.access_version, sizeof(uint64_t));
    free(s->queue);
    free(s->path);
    free(s);
    return NULL;
}

/* ---- readers ------------------------------------------------------------ */

static struct store_reader *sqlite_reader_open(struct store *base)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    struct sqlite_reader *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->base.be = &sqlite_backend;
    if (open_db(s->path, &r->db, NULL) != 0 ||
        sqlite3_exec(r->db, "PRAGMA query_only=1", NULL, NULL, NULL) != SQLITE_OK) {
        store_reader_close((struct store_reader *)r);
        return NULL;
    }
    return (struct store_reader *)r;
}

static void sqlite_reader_close(struct store_reader *base)
{
    struct sqlite_reader *r = (struct sqlite_reader *)base;
    sqlite_stmt_cache_free(&r->stmts);
    sqlite3_close(r->db);
    free(r);
}

static int sqlite_ping(struct store_reader *base)
{
    struct sqlite_reader *r = (struct sqlite_reader *)base;
    sqlite3_stmt *st = R("SELECT count(*) FROM sqlite_schema");
    int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
    if (st)
        sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : STORE_ERROR;
}

static int fetch_one(sqlite3_stmt *st, struct link *out)
{
    if (st == NULL)
        return STORE_ERROR;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        sqlite_row_to_link(st, out);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? STORE_OK : rc == SQLITE_DONE ? STORE_NOT_FOUND : STORE_ERROR;
}

static int sqlite_link_resolve(struct store_reader *base, int64_t domain_id, const char *code, size_t len,
                               struct link *out)
{
    struct sqlite_reader *r = (struct sqlite_reader *)base;
    sqlite3_stmt *st = R("SELECT " LINK_COLUMNS " FROM links WHERE domain_id=? AND code=?");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, domain_id);
    sqlite3_bind_text(st, 2, code, (int)len, SQLITE_STATIC);
    return fetch_one(st, out);
}

static int sqlite_link_get(struct store_reader *base, int64_t team_id, int64_t domain_id, const char *code, size_t len,
                           struct link *out)
{
    struct sqlite_reader *r = (struct sqlite_reader *)base;
    sqlite3_stmt *st = R(SQL_SELECT_KEY);
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, team_id);
    sqlite3_bind_int64(st, 2, domain_id);
    sqlite3_bind_text(st, 3, code, (int)len, SQLITE_STATIC);
    return fetch_one(st, out);
}

static int sqlite_links_list(struct store_reader *base, int64_t team_id, int64_t before_id, int limit,
                             struct link *scratch, store_link_cb cb, void *ctx)
{
    struct sqlite_reader *r = (struct sqlite_reader *)base;
    sqlite3_stmt *st = before_id > 0
                           ? R("SELECT " LINK_COLUMNS " FROM links WHERE team_id=? AND id<? ORDER BY id DESC LIMIT ?")
                           : R("SELECT " LINK_COLUMNS " FROM links WHERE team_id=? ORDER BY id DESC LIMIT ?");
    if (st == NULL)
        return STORE_ERROR;
    int i = 1;
    sqlite3_bind_int64(st, i++, team_id);
    if (before_id > 0)
        sqlite3_bind_int64(st, i++, before_id);
    sqlite3_bind_int(st, i, limit);
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        sqlite_row_to_link(st, scratch);
        n++;
        if (cb(ctx, scratch) != 0)
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? n : STORE_ERROR;
}

/* Crawlers and previews (issue 4): walks the partial index links_crawlable. */
static int sqlite_links_crawlable(struct store_reader *base, int64_t domain_id, int64_t now, int limit,
                                  store_code_cb cb, void *ctx)
{
    struct sqlite_reader *r = (struct sqlite_reader *)base;
    sqlite3_stmt *st = R("SELECT code FROM links WHERE crawlable = 1 AND domain_id=?"
                         " AND (expires_at IS NULL OR expires_at>?2) AND (max_visits IS NULL OR visits<max_visits)"
                         " AND enabled = 1 AND (valid_since IS NULL OR valid_since <= ?2)" /* lifetime (issue 4) */
                         " ORDER BY code LIMIT ?3");
    if (st == NULL)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, domain_id);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int(st, 3, limit);
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        n++;
        if (cb(ctx, (const char *)sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0)) != 0)
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? n : STORE_ERROR;
}

static const struct store_backend sqlite_backend = {
    .name = "sqlite",
    .submit = sqlite_submit,
    .visits_append = sqlite_visits_append,
    .visits_sync = sqlite_visits_sync,
    .visits_counts = sqlite_visits_counts,
    .visits_wait = sqlite_visits_wait,
    .queue_depth = sqlite_queue_depth,
    .wal_counts = sqlite_ckpt_counts,
    .close = sqlite_close,
    .reader_open = sqlite_reader_open,
    .reader_close = sqlite_reader_close,
    .ping = sqlite_ping,
    .link_resolve = sqlite_link_resolve,
    .link_get = sqlite_link_get,
    .links_list = sqlite_links_list,
    .apikeys_each = sqlite_apikeys_each,
    .apikey_by_hash = sqlite_apikey_by_hash,
    .apikeys_of_team = sqlite_apikeys_of_team,
    .user_by_id = sqlite_user_by_id,
    .user_by_email = sqlite_user_by_email,
    .users_each = sqlite_users_each,
    .team_get = sqlite_team_get,
    .teams_of_user = sqlite_teams_of_user,
    .member_role = sqlite_member_role,
    .members_of_team = sqlite_members_of_team,
    .stats_series = sqlite_stats_series,
    .stats_dim = sqlite_stats_dim,
    .visits_list = sqlite_visits_list,
    .top_links = sqlite_top_links,
    .hooks_of_team = sqlite_hooks_of_team,
    .hook_get = sqlite_hook_get,
    .deliveries_list = sqlite_deliveries_list,
    .deliveries_due = sqlite_deliveries_due,
    .links_crawlable = sqlite_links_crawlable, /* crawlers and previews */
    /* tags, search (issue 4) */
    .links_find = sqlite_links_find,
    .links_suggest = sqlite_links_suggest,
    .tags_of_team = sqlite_tags_of_team,
    .domains_each = sqlite_domains_each, /* domains (issue 4) */
};
