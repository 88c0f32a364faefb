/* sqlite_ckpt: checkpoints of the writer's WAL, off the writer's path.
 *
 * A checkpoint thread with its own connection copies the WAL into the
 * database (PASSIVE: it never blocks the writer or the readers) once the
 * writer's WAL hook says the WAL holds CHECKPOINT_PAGES, and every
 * CHECKPOINT_EVERY_S anyway. SQLite's automatic checkpoints are off: with
 * them the commit that crossed the threshold did the copy, and its
 * requests saw it as a latency spike.
 *
 * A WAL starts over (is written again from its first frame, so it stops
 * growing) only when a write transaction begins with every frame copied.
 * Under steady writes a background copy is never quite done when the next
 * commit comes. So the thread copies again what was committed during its
 * last copy, until at most CHECKPOINT_TAIL_PAGES are left (a round or two),
 * and then leaves those to the writer, which copies them right after its
 * next commit; the transaction after that starts the WAL over. The thread
 * is not woken again until then: when every commit above the threshold
 * woke it, it ran 25 rounds a second under creation load, and raced the
 * writer's copy for the checkpoint lock (the loser's copy did nothing).
 * Past four times the threshold the writer copies whatever is left, so
 * the WAL stays bounded even when the thread falls behind.
 *
 * SQLite flushes the database only after a copy that reaches the WAL's
 * last frame, and under steady writes that is the writer's tail copy: it
 * then flushed all ~32 MiB the thread had copied, 40 ms on the benchmark
 * VM under creation load, three times a second, stalling every request the
 * writer held. So the thread flushes the database itself after each of its
 * rounds (fdatasync on a descriptor of its own), and the writer's copy
 * flushes only the tail's pages: 5-8 ms.
 *
 * Threading: the hook runs on the writer thread; the thread uses only its
 * own connection; they share ckpt_wanted/ckpt_stop and what the last
 * checkpoint saw (ckpt_logged/ckpt_copied) under s->lock, and
 * ckpt_tail and wal_pages as atomics. */
#include "store/sqlite_internal.h"

#include "obs/log.h"
#include "util/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define CHECKPOINT_PAGES 8192     /* WAL pages (32 MiB) that wake the checkpointer */
#define CHECKPOINT_TAIL_PAGES 512 /* ... and the most it leaves to the writer to copy */
#define CHECKPOINT_ROUNDS 8       /* ... in at most this many copies a wake */
#define CHECKPOINT_EVERY_S 5      /* ... and it looks at least this often */

/* After the thread's copies: the pages they wrote reach the disk here, not
 * in the writer's tail copy (see the top of the file). A failure is only logged:
 * whether the WAL may start over is decided by SQLite's own sync of the
 * file, and Linux reports a write-back error to every description of the
 * file open when it happened, SQLite's included. */
static void flush_copies(struct sqlite_store *s)
{
    if (s->ckpt_fd >= 0 && fdatasync(s->ckpt_fd) != 0)
        log_warn("sqlite: flushing the checkpointed database failed: %s", strerror(errno));
}

/* One PASSIVE checkpoint on db; true when it copied every frame. SQLite
 * reports the frames copied since the WAL started over, so a copy is new
 * (counted, and with flush, the thread's, followed by a flush of the
 * database) when that number moved since the last look, or the WAL
 * started over: an idle server's look every CHECKPOINT_EVERY_S copies
 * nothing. A copy held back by a reader leaves its pages dirty too, so
 * partial copies count. *logged_out (when not NULL) is the WAL's frame
 * count it saw. */
static bool checkpoint(struct sqlite_store *s, sqlite3 *db, bool flush, int *logged_out)
{
    int logged = 0, copied = 0;
    int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &logged, &copied);
    if (rc != SQLITE_OK) {
        if (rc != SQLITE_BUSY)
            log_warn("sqlite: checkpoint failed: %s", sqlite3_errmsg(db));
        return false;
    }
    pthread_mutex_lock(&s->lock);
    bool fresh = copied > 0 && (copied != s->ckpt_copied || logged < s->ckpt_logged);
    s->ckpt_copied = copied;
    s->ckpt_logged = logged;
    pthread_mutex_unlock(&s->lock);
    if (fresh) {
        atomic_fetch_add(&s->ckpt_count, 1);
        if (flush)
            flush_copies(s);
    }
    if (logged_out != NULL)
        *logged_out = logged;
    return logged > 0 && copied == logged;
}

static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int pages)
{
    (void)name;
    struct sqlite_store *s = arg;
    atomic_store(&s->wal_pages, (uint64_t)pages);
    if (atomic_exchange(&s->ckpt_tail, false) || pages >= 4 * CHECKPOINT_PAGES) {
        checkpoint(s, db, false, NULL);
    } else if (pages >= CHECKPOINT_PAGES) {
        pthread_mutex_lock(&s->lock);
        s->ckpt_wanted = true;
        pthread_cond_signal(&s->ckpt_cond);
        pthread_mutex_unlock(&s->lock);
    }
    return SQLITE_OK;
}

static void *checkpoint_main(void *arg)
{
    struct sqlite_store *s = arg;
    sqlite_background_thread("lp-checkpoint");
    /* SQLite 3.40 checkpoints nothing (and reports -1 frames) on a
     * connection that has not read the database, for it has not opened the
     * WAL yet: one read opens it. */
    if (sqlite3_exec(s->ckpt_db, "SELECT 1 FROM sqlite_master LIMIT 1", NULL, NULL, NULL) != SQLITE_OK)
        log_warn("sqlite: the checkpointer cannot read the database: %s", sqlite3_errmsg(s->ckpt_db));
    pthread_mutex_lock(&s->lock);
    while (!s->ckpt_stop) {
        struct timespec until = clock_deadline_ms(CHECKPOINT_EVERY_S * 1000);
        while (!s->ckpt_wanted && !s->ckpt_stop)
            if (pthread_cond_timedwait(&s->ckpt_cond, &s->lock, &until) != 0)
                break; /* now and then anyway, so a quiet WAL is folded in too */
        if (s->ckpt_stop)
            break;
        s->ckpt_wanted = false;
        pthread_mutex_unlock(&s->lock);
        bool all = false;
        for (int round = 0, logged = 0, before = -1; round < CHECKPOINT_ROUNDS && logged != before; round++) {
            before = logged;
            all = checkpoint(s, s->ckpt_db, true, &logged);
            if (!all || atomic_load(&s->wal_pages) <= (uint64_t)logged + CHECKPOINT_TAIL_PAGES)
                break;
        }
        pthread_mutex_lock(&s->lock);
        if (all) {
            atomic_store(&s->ckpt_tail, true);
            s->ckpt_wanted = false;
        }
    }
    pthread_mutex_unlock(&s->lock);
    /* The last word: fold the whole WAL in (the writer has stopped). */
    sqlite3_wal_checkpoint_v2(s->ckpt_db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    return NULL;
}

int sqlite_ckpt_start(struct sqlite_store *s)
{
    /* Kept open until the store closes: closing any descriptor of the file
     * drops the process's POSIX locks on it, SQLite's included. */
    s->ckpt_fd = open(s->path, O_RDONLY | O_CLOEXEC);
    if (s->ckpt_fd < 0)
        log_warn("sqlite: the checkpointer cannot open %s (the writer flushes its copies): %s", s->path,
                 strerror(errno));
    pthread_cond_init(&s->ckpt_cond, NULL);
    sqlite3_wal_hook(s->db, on_wal_commit, s);
    if (pthread_create(&s->checkpointer, NULL, checkpoint_main, s) == 0)
        return 0;
    sqlite3_wal_hook(s->db, NULL, NULL);
    pthread_cond_destroy(&s->ckpt_cond);
    return -1;
}

void sqlite_ckpt_stop(struct sqlite_store *s)
{
    pthread_mutex_lock(&s->lock);
    s->ckpt_stop = true;
    pthread_cond_signal(&s->ckpt_cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->checkpointer, NULL);
    pthread_cond_destroy(&s->ckpt_cond);
}

void sqlite_ckpt_counts(struct store *base, struct store_wal_counts *out)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    *out = (struct store_wal_counts){.checkpoints = atomic_load(&s->ckpt_count), .pages = atomic_load(&s->wal_pages)};
}
