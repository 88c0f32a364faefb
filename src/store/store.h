/* store: the one interface to persistent data. Backends (sqlite.c today,
 * postgres later) fill in struct store_backend; nothing above this header
 * knows which one runs, and handlers never build SQL.
 *
 * Threading:
 * - Writes are asynchronous: store_submit() queues an op and returns; the
 *   backend commits it (SQLite: one writer thread, group commit) and then
 *   calls op->done on its own thread. done must be quick and must hand the
 *   op back to its owner (the worker's loop) without blocking. A done call
 *   means the transaction is durable, or op->status says why it is not.
 * - Reads go through a store_reader, one per thread, never shared.
 * - Every read of team-owned rows takes the caller's team; the only
 *   team-less read is store_link_resolve(), the public redirect lookup. */
#ifndef LP_STORE_STORE_H
#define LP_STORE_STORE_H

#include "core/link.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum store_status {
    STORE_OK = 0,
    STORE_NOT_FOUND = -1,
    STORE_CONFLICT = -2, /* unique code taken */
    STORE_REFUSED = -3,  /* e.g. visit limit reached */
    STORE_ERROR = -4,    /* I/O or database error: nothing was committed */
};

enum store_op_kind {
    STORE_LINK_CREATE,  /* in: team_id, domain_id, link fields, random_code_len or link.code; out: link */
    STORE_LINK_UPDATE,  /* in: team_id, domain_id, key_code, set (enum link_field), link fields; out: link */
    STORE_LINK_DELETE,  /* in: team_id, domain_id, key_code; out: link (the deleted row) */
    STORE_LINK_CONSUME, /* in: link.id; counts one visit if under max_visits, else STORE_REFUSED */
    STORE_APIKEY_ENSURE /* in: key_hash, key_name, key_role; idempotent */
};

#define STORE_KEY_HASH_LEN 32
#define STORE_KEY_NAME_MAX 64

struct store_op {
    enum store_op_kind kind;
    int status; /* enum store_status, set before done() */
    void (*done)(struct store_op *op);
    int64_t team_id;
    int64_t domain_id;
    unsigned set;
    unsigned random_code_len; /* CREATE: 0 = use link.code */
    char key_code[LINK_CODE_MAX + 1];
    unsigned char key_hash[STORE_KEY_HASH_LEN];
    char key_name[STORE_KEY_NAME_MAX + 1];
    char key_role[16];
    struct link link;
};

struct store;
struct store_reader;

/* Called once per row; the link is valid only during the call. */
typedef int (*store_link_cb)(void *ctx, const struct link *link);
typedef int (*store_key_cb)(void *ctx, const unsigned char hash[STORE_KEY_HASH_LEN], const char *role);

struct store_backend {
    const char *name;
    int (*submit)(struct store *s, struct store_op *op);
    size_t (*queue_depth)(struct store *s);
    void (*close)(struct store *s);
    struct store_reader *(*reader_open)(struct store *s);
    void (*reader_close)(struct store_reader *r);
    int (*ping)(struct store_reader *r);
    int (*link_resolve)(struct store_reader *r, int64_t domain_id, const char *code, size_t len, struct link *out);
    int (*link_get)(struct store_reader *r, int64_t team_id, int64_t domain_id, const char *code, size_t len,
                    struct link *out);
    int (*links_list)(struct store_reader *r, int64_t team_id, int64_t before_id, int limit, struct link *scratch,
                      store_link_cb cb, void *ctx);
    int (*apikeys_each)(struct store_reader *r, store_key_cb cb, void *ctx);
};

struct store {
    const struct store_backend *be;
    /* Optional: told about every transaction (size, commit time), on the
     * writer's thread. Set before the first submit. */
    void (*on_batch)(void *ctx, size_t n, uint64_t commit_us, bool ok);
    void *on_batch_ctx;
};

/* Opens (creating if needed) the SQLite store in dir and starts its writer.
 * NULL on failure with a message in err (e.g. a database newer than this
 * binary). */
struct store *store_sqlite_open(const char *dir, char *err, size_t errcap);

static inline int store_submit(struct store *s, struct store_op *op)
{
    return s->be->submit(s, op);
}
/* Commits everything queued, stops the writer and frees the store. */
static inline void store_close(struct store *s)
{
    s->be->close(s);
}
static inline size_t store_queue_depth(struct store *s)
{
    return s->be->queue_depth(s);
}
static inline struct store_reader *store_reader_open(struct store *s)
{
    return s->be->reader_open(s);
}

/* Readers carry their backend so callers need only the reader. */
struct store_reader_base {
    const struct store_backend *be;
};
static inline void store_reader_close(struct store_reader *r)
{
    ((struct store_reader_base *)r)->be->reader_close(r);
}
static inline int store_ping(struct store_reader *r)
{
    return ((struct store_reader_base *)r)->be->ping(r);
}
/* 0 found, STORE_NOT_FOUND, STORE_ERROR. */
static inline int store_link_resolve(struct store_reader *r, int64_t domain_id, const char *code, size_t len,
                                     struct link *out)
{
    return ((struct store_reader_base *)r)->be->link_resolve(r, domain_id, code, len, out);
}
static inline int store_link_get(struct store_reader *r, int64_t team_id, int64_t domain_id, const char *code,
                                 size_t len, struct link *out)
{
    return ((struct store_reader_base *)r)->be->link_get(r, team_id, domain_id, code, len, out);
}
/* Newest first, ids < before_id (0: from the newest). Returns rows or STORE_ERROR. */
static inline int store_links_list(struct store_reader *r, int64_t team_id, int64_t before_id, int limit,
                                   struct link *scratch, store_link_cb cb, void *ctx)
{
    return ((struct store_reader_base *)r)->be->links_list(r, team_id, before_id, limit, scratch, cb, ctx);
}
static inline int store_apikeys_each(struct store_reader *r, store_key_cb cb, void *ctx)
{
    return ((struct store_reader_base *)r)->be->apikeys_each(r, cb, ctx);
}

/* Submits op and blocks until it is done: for start-up and the CLI only,
 * never on a worker loop. Returns op->status. */
int store_submit_wait(struct store *s, struct store_op *op);

#endif
