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

#include "core/access.h"
#include "core/link.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum store_status {
    STORE_OK = 0,
    STORE_NOT_FOUND = -1,
    STORE_CONFLICT = -2,      /* a unique value (code, email) is taken */
    STORE_REFUSED = -3,       /* a rule refused it: visit limit reached, last admin, expired token */
    STORE_ERROR = -4,         /* I/O or database error: nothing was committed */
    STORE_LIMIT = -5,         /* the team's plan allows no more active links */
    STORE_IDEM_MISMATCH = -6, /* idempotency key reused with another request */
};

enum store_op_kind {
    STORE_LINK_CREATE,    /* in: team_id, domain_id, link fields, random_code_len or link.code, max_active; out: link */
    STORE_LINK_UPDATE,    /* in: team_id, domain_id, key_code, set (enum link_field), link fields; out: link */
    STORE_LINK_DELETE,    /* in: team_id, domain_id, key_code; out: link (the deleted row) */
    STORE_LINK_CONSUME,   /* in: link.id; counts one visit if under max_visits, else STORE_REFUSED */
    STORE_APIKEY_ENSURE,  /* in: key (operator key); idempotent */
    STORE_USER_CREATE,    /* in: user (email, email_lc, name, password_hash); out: user.id, personal team */
    STORE_USER_DISABLE,   /* in: user.email_lc; revokes the user's refresh tokens too */
    STORE_TEAM_CREATE,    /* in: team.name, user.id (creator, 0 for operators); out: team */
    STORE_TEAM_SET_PLAN,  /* in: team.id or team.name, team.plan */
    STORE_MEMBER_PUT,     /* in: team_id, user.email_lc or user.id, role; out: member */
    STORE_MEMBER_DELETE,  /* in: team_id, user.id */
    STORE_APIKEY_CREATE,  /* in: team_id, key; out: key.id, key.created_at */
    STORE_APIKEY_REVOKE,  /* in: team_id (0: any), key.id or key.display */
    STORE_APIKEY_TOUCH,   /* in: key.id: records last use */
    STORE_REFRESH_CREATE, /* in: user.id, refresh.hash, refresh.expires_at: a new token family */
    STORE_REFRESH_ROTATE, /* in: refresh.hash (presented), refresh.new_hash, expires; out: user.id, refresh.reused */
    STORE_REFRESH_REVOKE, /* in: refresh.hash: revokes its whole family */
    STORE_VISITS_PURGE,   /* in: before, uniques_before (Unix ms): deletes up to 10,000 raw visits, older ones
                             first, then those of deleted links; out: purged */
    STORE_HOOK_CREATE,    /* in: team_id, hook; out: hook (id, times) */
    STORE_HOOK_UPDATE,    /* in: team_id, hook.id, set (enum store_hook_field), hook fields; out: hook */
    STORE_HOOK_DELETE,    /* in: team_id, hook.id: the hook and its deliveries */
    STORE_DELIVERY_RESULT, /* in: delivery (id, status, attempts, next_attempt_at, last_status, last_error) */
    STORE_DELIVERY_RETRY,  /* in: team_id, hook.id, delivery.id: a dead delivery goes back to pending */
    /* redirect rules (issue 4) */
    STORE_LINK_RULES_PUT, /* in: team_id, domain_id, key_code, link.rules/rules_len (0: none); out: link */
    /* tags (issue 4) */
    STORE_TAG_RENAME, /* in: team_id, tag, tag_to: renames, or merges into an existing tag; out: purged = links */
    STORE_TAG_DELETE, /* in: team_id, tag: removes it from every link; out: purged = links */
    /* domains (issue 4) */
    STORE_DOMAIN_CREATE, /* in: team_id, domain; out: domain (id, times); STORE_CONFLICT if the hostname is taken */
    STORE_DOMAIN_UPDATE, /* in: team_id, domain.hostname, set (bit i: redirect[i]), domain.redirect; out: domain */
    STORE_DOMAIN_DELETE, /* in: team_id, domain.hostname; STORE_REFUSED while links use it */
    /* bulk creation and imports (issue 4) */
    STORE_LINK_BULK, /* in: team_id, domain_id, created_by, max_active, bulk[nbulk]; out: each item's status, link */
};

/* ---- domains (issue 4) ---- */
enum store_domain_redirect { DOMAIN_BASE_URL, DOMAIN_NOT_FOUND, DOMAIN_EXPIRED, DOMAIN_REDIRECTS };
struct store_domain {
    int64_t id, team_id, created_at, updated_at;
    char hostname[DOMAIN_HOST_MAX + 1];
    char redirect[DOMAIN_REDIRECTS][URL_MAX_LEN + 1]; /* "" = the built-in page */
};
typedef int (*store_domain_cb)(void *ctx, const struct store_domain *d);

/* One link of a STORE_LINK_BULK op: what LINK_CREATE takes, and its result.
 * created_at != 0 (imports) keeps that creation time. */
struct store_bulk_item {
    struct link link;
    int64_t domain_id; /* domains (issue 4) */
    unsigned set;
    unsigned random_code_len;
    bool reuse, reused;
    bool dry_run; /* imports: checked (code free, plan) but rolled back */
    int status;   /* enum store_status */
};

/* ---- tags, notes, search and reuse (issue 4) ---- */
enum store_link_order { LINKS_BY_CREATED, LINKS_BY_VISITS, LINKS_BY_TITLE };
enum store_link_state { LINKS_ANY_STATE, LINKS_ACTIVE, LINKS_EXPIRED, LINKS_DISABLED, LINKS_SCHEDULED };
#define STORE_FILTER_TAGS_MAX 10
#define STORE_SEARCH_MAX 200 /* bytes of a search text */

/* A filtered, ordered page of a team's links. The keyset cursor is the
 * (sort key, id) of the last row of the previous page; rows come strictly
 * after it in the order, so pages stay stable while links are added. */
struct store_link_query {
    int64_t team_id;
    int64_t now;
    int64_t created_from, created_to; /* Unix ms, 0: open; from <= created_at < to */
    enum store_link_state state;
    enum store_link_order order;
    bool desc;
    bool tags_all;  /* a link must carry every tag in tags[], else any of them */
    bool untagged;  /* only links without tags */
    bool by_domain; /* domains (issue 4): only links of domain_id */
    int64_t domain_id;
    unsigned ntags;
    char tags[STORE_FILTER_TAGS_MAX][LINK_TAG_MAX_BYTES + 1]; /* folded (link_tag_fold) */
    char search[STORE_SEARCH_MAX + 1]; /* words, each matched as a prefix in code, URL, title, tags */
    bool has_cursor;
    int64_t after_id;
    int64_t after_num;                         /* LINKS_BY_CREATED: created_at; LINKS_BY_VISITS: visits */
    char after_text[LINK_TITLE_MAX_BYTES + 1]; /* LINKS_BY_TITLE ("" for untitled links) */
    int limit;
};

/* Which field of a link a typeahead prefix matched. */
enum store_match { MATCH_CODE, MATCH_TAG, MATCH_TITLE, MATCH_HOST };
typedef int (*store_match_cb)(void *ctx, const struct link *link, enum store_match match);
typedef int (*store_tag_cb)(void *ctx, const char *name, int64_t links);

/* Webhook events (bits of store_hook.events). */
enum store_hook_event {
    HOOK_LINK_CREATED = 1u << 0,
    HOOK_LINK_UPDATED = 1u << 1,
    HOOK_LINK_DELETED = 1u << 2,
    HOOK_VISIT_CREATED = 1u << 3,
    HOOK_LINK_MAX_VISITS_REACHED = 1u << 4,
};
#define HOOK_EVENTS_ALL 0x1fu
enum store_hook_field { HOOK_F_URL = 1, HOOK_F_EVENTS = 2, HOOK_F_ENABLED = 4, HOOK_F_SECRET = 8 };
#define STORE_HOOK_SECRET_MAX 128
#define STORE_DELIVERY_ERROR_MAX 200

struct store_hook {
    int64_t id;
    int64_t team_id;
    int64_t created_by;
    int64_t created_at, updated_at;
    unsigned events;
    bool enabled;
    char url[URL_MAX_LEN + 1];
    char secret[STORE_HOOK_SECRET_MAX + 1];
};

enum store_delivery_status { DELIVERY_PENDING, DELIVERY_DELIVERED, DELIVERY_DEAD };

/* One event for one webhook. payload is a NUL-terminated JSON document
 * owned by whoever filled the struct (reads: valid during the callback). */
struct store_delivery {
    int64_t id;
    int64_t hook_id;
    int64_t team_id;
    int64_t created_at, next_attempt_at, finished_at;
    int attempts;
    int last_status; /* HTTP status of the last attempt, 0 if none answered */
    enum store_delivery_status status;
    char subject[24];
    char event[32];
    char last_error[STORE_DELIVERY_ERROR_MAX + 1];
    const char *payload;
};

#define STORE_KEY_HASH_LEN 32
#define STORE_KEY_NAME_MAX 64
#define STORE_EMAIL_MAX 254
#define STORE_NAME_MAX 128
#define STORE_PWHASH_MAX 128
#define STORE_KEY_DISPLAY_MAX 16
#define STORE_IDEM_KEY_MAX 255
#define STORE_IDEM_PRINCIPAL_MAX 48
#define STORE_IDEM_RESPONSE_MAX (16 * 1024)

struct store_op;

struct store_user {
    int64_t id;
    int64_t personal_team_id;
    int64_t created_at;
    int64_t disabled_at; /* 0: active */
    char email[STORE_EMAIL_MAX + 1];
    char email_lc[STORE_EMAIL_MAX + 1];
    char name[STORE_NAME_MAX + 1];
    char password_hash[STORE_PWHASH_MAX + 1];
};

struct store_team {
    int64_t id;
    int64_t created_at;
    enum plan plan;
    bool personal;
    enum role role; /* the listing user's role, in teams_of_user */
    char name[STORE_NAME_MAX + 1];
};

struct store_member {
    int64_t user_id;
    int64_t created_at;
    enum role role;
    char email[STORE_EMAIL_MAX + 1];
    char name[STORE_NAME_MAX + 1];
};

struct store_apikey {
    int64_t id;
    int64_t team_id; /* 0 for operator keys */
    int64_t user_id; /* who made it, 0 if an operator */
    int64_t created_at, expires_at, last_used_at, revoked_at;
    bool operator_key;
    enum role role;
    unsigned char hash[STORE_KEY_HASH_LEN];
    char name[STORE_KEY_NAME_MAX + 1];
    char display[STORE_KEY_DISPLAY_MAX + 1];
};

struct store_refresh {
    unsigned char hash[STORE_KEY_HASH_LEN];
    unsigned char new_hash[STORE_KEY_HASH_LEN];
    int64_t expires_at;
    bool reused; /* ROTATE: the token was already used; its family is now revoked */
};

/* Idempotency: when key[0] != 0 on a create, the writer looks the key up in
 * the same transaction; a replay copies the first response into response;
 * otherwise, after a successful op, it asks render() for the response to
 * remember (secrets left out) and stores it with the request's hash. */
struct store_idem {
    char principal[STORE_IDEM_PRINCIPAL_MAX + 1];
    char key[STORE_IDEM_KEY_MAX + 1];
    unsigned char request_hash[32];
    bool replayed;
    int status;
    size_t response_len;
    char *response; /* malloc'd, owned by the op's owner */
    size_t (*render)(struct store_op *op, char *buf, size_t cap, int *status);
};

enum store_visit_kind { VISIT_REDIRECT, VISIT_INVALID_SHORT_URL, VISIT_BASE_URL, VISIT_REGULAR_404 };
#define STORE_VISIT_KINDS 4

/* "redirect", "invalid_short_url", "base_url", "regular_404" (as in Shlink). */
const char *store_visit_kind_name(enum store_visit_kind k);
/* The kind called name; VISIT_REDIRECT for an unknown one. */
enum store_visit_kind store_visit_kind_of(const char *name);

#define STORE_VISIT_TEXT 256
#define STORE_CLOSE_APPLY_MS 30000 /* store_close: longest it applies a visit backlog */

/* One enriched visit, as the sink hands it to the store. Strings are
 * NUL-terminated and empty when unknown. detail == false keeps only the
 * counts (tracking off, or Do-Not-Track honoured). */
struct store_visit {
    int64_t ts;      /* Unix ms */
    int64_t link_id; /* 0 for orphan visits */
    int64_t team_id;
    int64_t domain_id;
    enum store_visit_kind kind;
    bool bot;
    bool detail;
    bool has_unique;
    unsigned char unique[16]; /* salted hash of (IP, UA, link), salt rotates daily */
    int browser_major;
    char ip[48];
    char country[3];
    char city[64];
    char referrer_host[128];
    char referrer[STORE_VISIT_TEXT];
    char browser[24];
    char os[16];
    char device[8];
    char language[16];
    char utm[5][64]; /* source, medium, campaign, term, content */
    char visited_url[STORE_VISIT_TEXT];
    char target_url[STORE_VISIT_TEXT];
};

struct store_op {
    enum store_op_kind kind;
    int status; /* enum store_status, set before done() */
    void (*done)(struct store_op *op);
    int64_t team_id;
    int64_t domain_id;
    unsigned set;
    unsigned random_code_len;     /* CREATE: 0 = use link.code */
    int64_t max_active;           /* LINK_CREATE: plan limit on active links, 0 = none */
    int64_t created_by;           /* LINK_CREATE: user id, 0 for keys and operators */
    unsigned char creator_ip[16]; /* LINK_CREATE: anonymous links count per IP */
    bool per_ip_limit;
    enum role role;
    char key_code[LINK_CODE_MAX + 1];
    struct link link;
    struct store_user user;
    struct store_team team;
    struct store_member member;
    struct store_apikey key;
    struct store_refresh refresh;
    struct store_idem idem;
    int64_t before, uniques_before; /* VISITS_PURGE */
    int64_t purged;                 /* VISITS_PURGE: rows deleted */
    struct store_hook hook;
    struct store_delivery delivery;
    /* tags, reuse (issue 4) */
    bool reuse;  /* LINK_CREATE: return an active link of the team with the same URL (and code, if given) */
    bool reused; /* LINK_CREATE: out: link is that existing link; nothing was written */
    char tag[LINK_TAG_MAX_BYTES + 1], tag_to[LINK_TAG_MAX_BYTES + 1];
    /* bulk creation and imports (issue 4): owned by the op's owner */
    struct store_bulk_item *bulk;
    size_t nbulk;
    struct store_domain domain; /* domains (issue 4) */
};

struct store;
struct store_reader;

/* Called once per row; the link is valid only during the call. */
typedef int (*store_link_cb)(void *ctx, const struct link *link);
typedef int (*store_key_cb)(void *ctx, const struct store_apikey *key);
typedef int (*store_team_cb)(void *ctx, const struct store_team *team);
typedef int (*store_member_cb)(void *ctx, const struct store_member *member);
typedef int (*store_user_cb)(void *ctx, const struct store_user *user);

/* One rollup period (an hour or a day starting at t, Unix ms). */
struct store_period {
    int64_t t, total, bots, uniques;
};
typedef int (*store_period_cb)(void *ctx, const struct store_period *p);
typedef int (*store_count_cb)(void *ctx, const char *name, int64_t count);
typedef int (*store_visit_cb)(void *ctx, int64_t id, const struct store_visit *v);
typedef int (*store_hook_cb)(void *ctx, const struct store_hook *h);
typedef int (*store_delivery_cb)(void *ctx, const struct store_delivery *d);
/* Crawlers and previews (issue 4). */
typedef int (*store_code_cb)(void *ctx, const char *code, size_t len);

struct store_visit_counts {
    uint64_t appended;  /* visits taken by store_visits_append since start */
    uint64_t durable;   /* of them, made durable by store_visits_sync */
    uint64_t applied;   /* visits in the rollups and raw rows since start */
    uint64_t backlog;   /* durable or appended visits not applied yet (from earlier runs too) */
    uint64_t lost;      /* taken, then lost to a failed write of the journal */
    uint64_t paused_ms; /* the writer held back from applying them: the cores were wanted for requests */
};

/* The embedded store's write-ahead log, for /metrics. */
struct store_wal_counts {
    uint64_t checkpoints; /* checkpoints that copied pages into the database, since start */
    uint64_t pages;       /* pages in the log after the last commit */
};

struct store_backend {
    const char *name;
    int (*submit)(struct store *s, struct store_op *op);
    int (*visits_append)(struct store *s, const struct store_visit *v);
    int (*visits_sync)(struct store *s);
    void (*visits_counts)(struct store *s, struct store_visit_counts *out);
    int (*visits_wait)(struct store *s, unsigned timeout_ms);
    size_t (*queue_depth)(struct store *s);
    void (*wal_counts)(struct store *s, struct store_wal_counts *out);
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
    int (*apikey_by_hash)(struct store_reader *r, const unsigned char hash[STORE_KEY_HASH_LEN],
                          struct store_apikey *out);
    int (*apikeys_of_team)(struct store_reader *r, int64_t team_id, store_key_cb cb, void *ctx);
    int (*user_by_id)(struct store_reader *r, int64_t id, struct store_user *out);
    int (*user_by_email)(struct store_reader *r, const char *email_lc, struct store_user *out);
    int (*users_each)(struct store_reader *r, store_user_cb cb, void *ctx);
    int (*team_get)(struct store_reader *r, int64_t team_id, struct store_team *out);
    int (*teams_of_user)(struct store_reader *r, int64_t user_id, store_team_cb cb, void *ctx);
    int (*member_role)(struct store_reader *r, int64_t team_id, int64_t user_id, enum role *out);
    int (*members_of_team)(struct store_reader *r, int64_t team_id, store_member_cb cb, void *ctx);
    int (*stats_series)(struct store_reader *r, int64_t link_id, int64_t team_id, bool hourly, int64_t from, int64_t to,
                        store_period_cb cb, void *ctx);
    int (*stats_dim)(struct store_reader *r, int64_t link_id, const char *dim, int64_t from, int64_t to,
                     bool exclude_bots, store_count_cb cb, void *ctx);
    int (*visits_list)(struct store_reader *r, int64_t link_id, int64_t before_id, int limit, store_visit_cb cb,
                       void *ctx);
    int (*top_links)(struct store_reader *r, int64_t team_id, int limit, struct link *scratch, store_link_cb cb,
                     void *ctx);
    int (*hooks_of_team)(struct store_reader *r, int64_t team_id, store_hook_cb cb, void *ctx);
    int (*hook_get)(struct store_reader *r, int64_t team_id, int64_t id, struct store_hook *out);
    int (*deliveries_list)(struct store_reader *r, int64_t hook_id, int status, int64_t before_id, int limit,
                           store_delivery_cb cb, void *ctx);
    int (*deliveries_due)(struct store_reader *r, int64_t now, int limit, store_delivery_cb cb, void *ctx);
    /* crawlers and previews (issue 4) */
    int (*links_crawlable)(struct store_reader *r, int64_t domain_id, int64_t now, int limit, store_code_cb cb,
                           void *ctx);
    /* tags, search (issue 4) */
    int (*links_find)(struct store_reader *r, const struct store_link_query *q, struct link *scratch, store_link_cb cb,
                      void *ctx);
    int (*links_suggest)(struct store_reader *r, int64_t team_id, const char *prefix, int limit, struct link *scratch,
                         store_match_cb cb, void *ctx);
    int (*tags_of_team)(struct store_reader *r, int64_t team_id, const char *only, int limit, store_tag_cb cb,
                        void *ctx);
    /* domains (issue 4): team_id < 0 for every team's */
    int (*domains_each)(struct store_reader *r, int64_t team_id, store_domain_cb cb, void *ctx);
};

struct store {
    const struct store_backend *be;
    /* Bumped after each commit of an op that store_op_changes_access, by
     * whichever process made it (the server or a CLI command on the same
     * data dir): a counter in a small file of the data dir, mapped shared.
     * What the API remembers of keys, teams, users and memberships is good
     * while it has not moved. NULL when the file could not be mapped:
     * nothing is remembered. */
    _Atomic uint64_t *access_version;
    /* Optional: told about every transaction (size, commit time), on the
     * writer's thread. Set before the first submit. */
    void (*on_batch)(void *ctx, size_t n, uint64_t commit_us, bool ok);
    void *on_batch_ctx;
};

/* Visits durable in the journal but not yet applied may take this much
 * disk (MiB; ~25 million visits); past it new visits are dropped and
 * counted. It absorbs a load the writer cannot follow, then drains. */
#define STORE_VISIT_BACKLOG_MB 4096

/* Opens (creating if needed) the SQLite store in dir and starts its writer;
 * backlog_mb caps the visit journal's backlog. NULL on failure with a
 * message in err (e.g. a database newer than this binary). */
struct store *store_sqlite_open(const char *dir, unsigned backlog_mb, char *err, size_t errcap);

/* Whether a committed op of this kind may change what a caller's
 * credentials resolve to: keys, teams' plans, users, memberships. */
bool store_op_changes_access(enum store_op_kind kind);

static inline int store_submit(struct store *s, struct store_op *op)
{
    return s->be->submit(s, op);
}
/* Commits everything queued, applies the durable visits (for up to
 * STORE_CLOSE_APPLY_MS; the rest is applied at the next start), stops the
 * writer and frees the store. */
static inline void store_close(struct store *s)
{
    s->be->close(s);
}
/* Visits. One thread (the sink) appends enriched visits, and syncs once
 * per flush window: a visit is durable when the sync that follows its
 * append returns. The backend applies durable visits (raw rows, rollups,
 * link counters, visit webhooks) on its own schedule, in batches as large
 * as its backlog, and exactly once even across crashes. append: STORE_OK,
 * STORE_LIMIT when the backlog is at its cap (the visit is not taken; the
 * caller counts a drop), STORE_ERROR. sync: STORE_OK or STORE_ERROR; it
 * may run on another thread than append (one of each), and append does not
 * wait for it. */
static inline int store_visits_append(struct store *s, const struct store_visit *v)
{
    return s->be->visits_append(s, v);
}
static inline int store_visits_sync(struct store *s)
{
    return s->be->visits_sync(s);
}
/* Any thread. */
static inline void store_visits_counts(struct store *s, struct store_visit_counts *out)
{
    s->be->visits_counts(s, out);
}
/* Any thread. */
static inline void store_wal_counts(struct store *s, struct store_wal_counts *out)
{
    s->be->wal_counts(s, out);
}
/* Blocks until every durable visit is applied, or timeout_ms passes
 * (STORE_ERROR). For tests, tools and shutdown; never on a worker loop. */
static inline int store_visits_wait(struct store *s, unsigned timeout_ms)
{
    return s->be->visits_wait(s, timeout_ms);
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
#define STORE_R(r) (((struct store_reader_base *)(r))->be)
/* tags, search (issue 4). Rows or STORE_ERROR; cb returning non-zero stops. */
static inline int store_links_find(struct store_reader *r, const struct store_link_query *q, struct link *scratch,
                                   store_link_cb cb, void *ctx)
{
    return STORE_R(r)->links_find(r, q, scratch, cb, ctx);
}
/* The team's links whose code, tag, title or URL host starts with prefix
 * (without case), best first: exact code, codes, tags, titles, hosts. */
static inline int store_links_suggest(struct store_reader *r, int64_t team_id, const char *prefix, int limit,
                                      struct link *scratch, store_match_cb cb, void *ctx)
{
    return STORE_R(r)->links_suggest(r, team_id, prefix, limit, scratch, cb, ctx);
}
/* domains (issue 4): the team's domains (team_id < 0: all), by hostname. 0 or STORE_ERROR. */
static inline int store_domains_each(struct store_reader *r, int64_t team_id, store_domain_cb cb, void *ctx)
{
    return STORE_R(r)->domains_each(r, team_id, cb, ctx);
}
/* The team's tags, by name without case, with how many links carry each;
 * only (folded, or NULL for all) picks one tag. */
static inline int store_tags_of_team(struct store_reader *r, int64_t team_id, const char *only, int limit,
                                     store_tag_cb cb, void *ctx)
{
    return STORE_R(r)->tags_of_team(r, team_id, only, limit, cb, ctx);
}
/* Operator keys (team 0), not revoked. */
static inline int store_apikeys_each(struct store_reader *r, store_key_cb cb, void *ctx)
{
    return STORE_R(r)->apikeys_each(r, cb, ctx);
}
/* Any key, revoked or not: the caller checks revoked_at and expires_at. */
static inline int store_apikey_by_hash(struct store_reader *r, const unsigned char hash[STORE_KEY_HASH_LEN],
                                       struct store_apikey *out)
{
    return STORE_R(r)->apikey_by_hash(r, hash, out);
}
static inline int store_apikeys_of_team(struct store_reader *r, int64_t team_id, store_key_cb cb, void *ctx)
{
    return STORE_R(r)->apikeys_of_team(r, team_id, cb, ctx);
}
static inline int store_user_by_id(struct store_reader *r, int64_t id, struct store_user *out)
{
    return STORE_R(r)->user_by_id(r, id, out);
}
static inline int store_user_by_email(struct store_reader *r, const char *email_lc, struct store_user *out)
{
    return STORE_R(r)->user_by_email(r, email_lc, out);
}
static inline int store_users_each(struct store_reader *r, store_user_cb cb, void *ctx)
{
    return STORE_R(r)->users_each(r, cb, ctx);
}
static inline int store_team_get(struct store_reader *r, int64_t team_id, struct store_team *out)
{
    return STORE_R(r)->team_get(r, team_id, out);
}
static inline int store_teams_of_user(struct store_reader *r, int64_t user_id, store_team_cb cb, void *ctx)
{
    return STORE_R(r)->teams_of_user(r, user_id, cb, ctx);
}
/* STORE_NOT_FOUND when the user is not a member. */
static inline int store_member_role(struct store_reader *r, int64_t team_id, int64_t user_id, enum role *out)
{
    return STORE_R(r)->member_role(r, team_id, user_id, out);
}
static inline int store_members_of_team(struct store_reader *r, int64_t team_id, store_member_cb cb, void *ctx)
{
    return STORE_R(r)->members_of_team(r, team_id, cb, ctx);
}

/* Rollup periods of one link (link_id > 0), or summed over a team's links
 * (link_id == 0, team_id > 0), or of orphan visits (both 0); from <= t < to. */
static inline int store_stats_series(struct store_reader *r, int64_t link_id, int64_t team_id, bool hourly,
                                     int64_t from, int64_t to, store_period_cb cb, void *ctx)
{
    return STORE_R(r)->stats_series(r, link_id, team_id, hourly, from, to, cb, ctx);
}
/* Daily breakdown of one link by dim ("referrer", "country", "city",
 * "browser", "os", "device"; "kind" for orphans), largest first. */
static inline int store_stats_dim(struct store_reader *r, int64_t link_id, const char *dim, int64_t from, int64_t to,
                                  bool exclude_bots, store_count_cb cb, void *ctx)
{
    return STORE_R(r)->stats_dim(r, link_id, dim, from, to, exclude_bots, cb, ctx);
}
/* Raw visits of a link (0: orphan visits), newest first, ids < before_id. */
static inline int store_visits_list(struct store_reader *r, int64_t link_id, int64_t before_id, int limit,
                                    store_visit_cb cb, void *ctx)
{
    return STORE_R(r)->visits_list(r, link_id, before_id, limit, cb, ctx);
}
static inline int store_top_links(struct store_reader *r, int64_t team_id, int limit, struct link *scratch,
                                  store_link_cb cb, void *ctx)
{
    return STORE_R(r)->top_links(r, team_id, limit, scratch, cb, ctx);
}

/* Benchmark data (`linkpulse seed`, src/store/sqlite_seed.c): `links`
 * random links of team_id with codes of code_len written one per line to
 * codes_out (if not NULL); and, if visits_code is set, one more link with
 * that code carrying `visits` visits as rollups. For a stopped service. */
struct store_seed {
    uint64_t links;
    int64_t team_id;
    unsigned code_len;
    uint64_t seed;   /* same seed, same data */
    void *codes_out; /* FILE * */
    const char *visits_code;
    uint64_t visits;
};
struct store_seed_result {
    uint64_t links, visits;
    int64_t bots;
};
int store_sqlite_seed(const char *dir, const struct store_seed *spec, struct store_seed_result *res, char *err,
                      size_t errcap);

/* Webhooks of a team (secrets included: the API leaves them out). */
static inline int store_hooks_of_team(struct store_reader *r, int64_t team_id, store_hook_cb cb, void *ctx)
{
    return STORE_R(r)->hooks_of_team(r, team_id, cb, ctx);
}
/* team_id 0: any team (the delivery worker). STORE_NOT_FOUND if absent. */
static inline int store_hook_get(struct store_reader *r, int64_t team_id, int64_t id, struct store_hook *out)
{
    return STORE_R(r)->hook_get(r, team_id, id, out);
}
/* A hook's deliveries, newest first, ids < before_id (0: newest); status
 * -1 for all. */
static inline int store_deliveries_list(struct store_reader *r, int64_t hook_id, int status, int64_t before_id,
                                        int limit, store_delivery_cb cb, void *ctx)
{
    return STORE_R(r)->deliveries_list(r, hook_id, status, before_id, limit, cb, ctx);
}
/* Pending deliveries due at `now` that are first in line for their
 * (webhook, subject), oldest first. */
static inline int store_deliveries_due(struct store_reader *r, int64_t now, int limit, store_delivery_cb cb, void *ctx)
{
    return STORE_R(r)->deliveries_due(r, now, limit, cb, ctx);
}

/* Crawlers and previews (issue 4): codes of the crawlable links of a domain
 * that are active at now (not expired, visits left), in code order, at most
 * limit. A public read like store_link_resolve: codes only, no team data.
 * Returns rows or STORE_ERROR. */
static inline int store_links_crawlable(struct store_reader *r, int64_t domain_id, int64_t now, int limit,
                                        store_code_cb cb, void *ctx)
{
    return STORE_R(r)->links_crawlable(r, domain_id, now, limit, cb, ctx);
}

/* Submits op and blocks until it is done: for start-up and the CLI only,
 * never on a worker loop. Returns op->status. */
int store_submit_wait(struct store *s, struct store_op *op);

#endif
