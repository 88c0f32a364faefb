/* sqlite_vfs: the writer's VFS gathers a commit's WAL writes into few
 * calls of at most 64 KiB, and what it commits reads back the same from
 * another connection on the default VFS, from a reopened database, and
 * from inside a transaction bigger than its page cache (frames spilled to
 * the WAL and read again). Under the gathering VFS sits a counting one,
 * registered as the default before the gathering VFS is first asked for. */
#include "store/sqlite_internal.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- a default VFS that counts the WAL's writes ---- */

static sqlite3_vfs counting_vfs;
static sqlite3_vfs *unix_vfs;
static sqlite3_io_methods counting_methods;
static int (*unix_write)(sqlite3_file *, const void *, int, sqlite3_int64);
static int wal_writes, wal_write_max;

static int count_write(sqlite3_file *f, const void *data, int n, sqlite3_int64 off)
{
    wal_writes++;
    if (n > wal_write_max)
        wal_write_max = n;
    return unix_write(f, data, n, off);
}

/* The file is the unix VFS's own; only a WAL's methods are swapped. */
static int count_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
    (void)vfs;
    int rc = unix_vfs->xOpen(unix_vfs, name, f, flags, out);
    if (rc == SQLITE_OK && (flags & SQLITE_OPEN_WAL) && f->pMethods != NULL) {
        if (unix_write == NULL) {
            counting_methods = *f->pMethods;
            unix_write = counting_methods.xWrite;
            counting_methods.xWrite = count_write;
        }
        f->pMethods = &counting_methods;
    }
    return rc;
}

static const char *gather;
static char dir[64], path[96];

static void setup(void)
{
    if (unix_vfs == NULL) {
        unix_vfs = sqlite3_vfs_find(NULL);
        counting_vfs = *unix_vfs;
        counting_vfs.zName = "counting";
        counting_vfs.xOpen = count_open;
        cr_assert_eq(sqlite3_vfs_register(&counting_vfs, 1), SQLITE_OK);
        gather = sqlite_vfs_gather();
    }
    cr_assert_not_null(gather);
    snprintf(dir, sizeof(dir), "/tmp/lp-vfs-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/t.db", dir);
}

static void teardown(void)
{
    char f[128];
    static const char *const sfx[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(f, sizeof(f), "%s%s", path, sfx[i]);
        unlink(f);
    }
    rmdir(dir);
}

static sqlite3 *open_with(const char *vfs, const char *pragmas)
{
    sqlite3 *db;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, pragmas, NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
    return db;
}

#define WRITER_PRAGMAS "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0;"

static void exec(sqlite3 *db, const char *sql)
{
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
}

static sqlite3_int64 one_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    sqlite3_int64 v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* One transaction of n rows of 3,000 bytes each (about a page per row);
 * the WAL writes it made. */
static int commit_rows(sqlite3 *db, int from, int n)
{
    char sql[200];
    snprintf(sql, sizeof(sql),
             "WITH RECURSIVE s(v) AS (SELECT %d UNION ALL SELECT v + 1 FROM s WHERE v < %d)"
             " INSERT INTO t SELECT v, randomblob(3000) FROM s",
             from, from + n - 1);
    wal_writes = wal_write_max = 0;
    exec(db, sql);
    return wal_writes;
}

TestSuite(vfs, .init = setup, .fini = teardown);

Test(vfs, a_commit_is_written_in_few_large_calls)
{
    sqlite3 *plain = open_with("counting", WRITER_PRAGMAS);
    exec(plain, "CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)");
    int plain_writes = commit_rows(plain, 1, 100);
    sqlite3_close(plain);
    /* the default VFS: a header and a page for each of ~100 frames */
    cr_assert_geq(plain_writes, 200, "the default VFS made %d writes", plain_writes);

    sqlite3 *db = open_with(gather, WRITER_PRAGMAS);
    int writes = commit_rows(db, 101, 100);
    /* ~100 frames of 4,120 bytes: ~412 KB, so 7 calls of 64 KiB */
    cr_assert_leq(writes, 10, "the gathering VFS made %d writes", writes);
    cr_assert_leq(wal_write_max, 64 * 1024);
    cr_assert_eq(one_int(db, "SELECT count(*) FROM t"), 200);
    sqlite3_close(db);
}

Test(vfs, what_it_commits_others_read_and_a_reopen_keeps)
{
    sqlite3 *db = open_with(gather, WRITER_PRAGMAS);
    exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)");
    commit_rows(db, 1, 50);
    sqlite3 *reader = open_with(NULL, "PRAGMA query_only=1");
    cr_assert_eq(one_int(reader, "SELECT count(*) FROM t"), 50);
    commit_rows(db, 51, 7);
    cr_assert_eq(one_int(reader, "SELECT count(*) FROM t"), 57);
    cr_assert_eq(one_int(reader, "SELECT sum(length(b)) FROM t"), 57 * 3000);
    sqlite3_close(reader);
    sqlite3_close(db);

    db = open_with(NULL, "PRAGMA query_only=1");
    cr_assert_eq(one_int(db, "SELECT count(*) FROM t"), 57);
    cr_assert_eq(one_int(db, "SELECT max(id) FROM t"), 57);
    sqlite3_close(db);
}

Test(vfs, a_transaction_bigger_than_the_cache_reads_its_spilled_frames)
{
    /* 16 pages of cache against ~600 pages written: the pager spills
     * frames to the WAL mid-transaction and reads them back */
    sqlite3 *db = open_with(gather, WRITER_PRAGMAS " PRAGMA cache_size=16;");
    exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)");
    exec(db, "BEGIN");
    exec(db, "WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < 600)"
             " INSERT INTO t SELECT v, zeroblob(3000) FROM s");
    exec(db, "UPDATE t SET b = randomblob(3000) WHERE id % 2 = 0");
    cr_assert_eq(one_int(db, "SELECT count(*) FROM t WHERE b = zeroblob(3000)"), 300);
    exec(db, "COMMIT");
    cr_assert_eq(one_int(db, "SELECT count(*) FROM t WHERE b = zeroblob(3000)"), 300);
    sqlite3_close(db);

    db = open_with(NULL, "PRAGMA query_only=1");
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    cr_assert_eq(one_int(db, "SELECT count(*) FROM t WHERE b = zeroblob(3000)"), 300);
    cr_assert_eq(one_int(db, "SELECT count(*) FROM t"), 600);
    sqlite3_close(db);
}
