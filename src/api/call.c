/* call: the life of one asynchronous store op (see api.h). */
#include "api/api.h"

#include "http/server.h"

#include <stdlib.h>
#include <string.h>

size_t api_cache_key(char *buf, int64_t domain_id, const char *code, size_t code_len)
{
    memcpy(buf, &domain_id, 8);
    memcpy(buf + 8, code, code_len);
    return 8 + code_len;
}

static void on_request_gone(void *p)
{
    struct api_call **guard = p;
    if (*guard != NULL)
        (*guard)->rc = NULL;
}

struct api_call *api_call_new(struct reqctx *rc, enum store_op_kind kind, api_reply_fn reply)
{
    struct api_call *call = calloc(1, sizeof(*call));
    if (call == NULL)
        return NULL;
    call->w = rc->w;
    call->rc = rc;
    call->reply = reply;
    call->op.kind = kind;
    call->guard = h2o_mem_alloc_shared(&rc->req->pool, sizeof(*call->guard), on_request_gone);
    *call->guard = call;
    return call;
}

static void invalidate(struct cache *cache, int64_t domain_id, const char *code)
{
    char key[API_CACHE_KEY_MAX];
    size_t n = strlen(code);
    if (n == 0)
        return;
    cache_invalidate(cache, key, api_cache_key(key, domain_id, code, n));
}

/* On the writer's thread, right after the commit: make the change visible to
 * the very next redirect, then hand the call back to its worker. */
static void op_committed(struct store_op *op)
{
    struct api_call *call = (struct api_call *)((char *)op - offsetof(struct api_call, op));
    if (op->status == STORE_OK && op->kind != STORE_LINK_CONSUME && op->kind != STORE_APIKEY_ENSURE) {
        struct cache *cache = call->w->app->cache;
        invalidate(cache, op->domain_id, op->link.code);
        if (op->kind == STORE_LINK_UPDATE && strcmp(op->key_code, op->link.code) != 0)
            invalidate(cache, op->domain_id, op->key_code);
    }
    h2o_multithread_send_message(&call->w->ops_done, &call->msg);
}

void api_submit(struct api_call *call)
{
    call->op.done = op_committed;
    call->w->ops_pending++;
    if (store_submit(call->w->app->store, &call->op) == 0)
        return;
    call->w->ops_pending--;
    *call->guard = NULL;
    respond_problem(call->rc, 503, "unavailable", "Service unavailable",
                    "the store is not accepting writes (queue full or shutting down)", NULL);
    free(call);
}

void api_ops_done(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    while (!h2o_linklist_is_empty(messages)) {
        h2o_multithread_message_t *msg = H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
        h2o_linklist_unlink(&msg->link);
        struct api_call *call = (struct api_call *)msg;
        call->w->ops_pending--;
        if (call->rc != NULL) {
            *call->guard = NULL;
            call->reply(call, call->rc);
        }
        free(call);
    }
}
