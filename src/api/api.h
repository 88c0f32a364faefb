/* api: request handlers. Each decodes its request, asks core whether the
 * values are acceptable, calls the store (reads directly on the worker's
 * reader, writes asynchronously through the writer) and encodes the reply
 * through http/respond.h. Handlers run on the request's worker thread and
 * never touch sockets.
 *
 * Asynchronous writes: api_submit() hands a store op to the writer and
 * returns; the reply is sent from api_ops_done() on the same worker once the
 * op is committed. If the client disconnects meanwhile, the op still
 * completes and its result is dropped. */
#ifndef LP_API_API_H
#define LP_API_API_H

#include "http/respond.h"
#include "store/store.h"

#include <h2o.h>

/* The team every request authenticated with an operator key acts in. */
#define API_INSTANCE_TEAM 1

struct api_call;
typedef void (*api_reply_fn)(struct api_call *call, struct reqctx *rc);

/* One store op in flight for one request. Owned by the worker from submit
 * until api_ops_done() frees it. */
struct api_call {
    h2o_multithread_message_t msg; /* first: the writer posts it back */
    struct worker *w;
    struct reqctx *rc;   /* NULL once the client has gone */
    struct api_call **guard; /* in the request pool; cleared when the call ends */
    api_reply_fn reply;
    struct store_op op;
};

struct api_call *api_call_new(struct reqctx *rc, enum store_op_kind kind, api_reply_fn reply);
/* Queues call->op; on a full queue replies 503 itself and frees the call. */
void api_submit(struct api_call *call);
/* The worker's receiver for finished ops (registered by the server). */
void api_ops_done(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages);

/* The cache key of a link: domain id then code. Returns its length. */
size_t api_cache_key(char *buf, int64_t domain_id, const char *code, size_t code_len);
#define API_CACHE_KEY_MAX (8 + LINK_CODE_MAX)

void api_links(struct reqctx *rc);                                 /* /api/v1/links */
void api_link(struct reqctx *rc, const char *code, size_t len);    /* /api/v1/links/{code} */
void api_redirect(struct reqctx *rc, const char *code, size_t len); /* /{code} */
void api_healthz(struct reqctx *rc);
void api_readyz(struct reqctx *rc);
void api_metrics(struct reqctx *rc);

#endif
