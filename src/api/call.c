/* call: the life of one asynchronous store op (see api.h). */
#include "api/api.h"

#include "http/server.h"

#include "auth/token.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define JOBS_QUEUE_MAX 1024 /* blocking jobs waiting for a pool thread */
#define IDEM_PRINCIPAL_FMT_MAX STORE_IDEM_PRINCIPAL_MAX

size_t api_cache_key(char *buf, int64_t domain_id, const char *code, size_t code_len)
{
    size_t n = leb128_put((uint8_t *)buf, (uint64_t)domain_id);
    memcpy(buf + n, code, code_len);
    return n + code_len;
}

static void on_request_gone(void *p)
{
    struct api_call **guard = p;
    if (*guard != NULL)
        (*guard)->rc = NULL;
}

struct api_call *api_call_new(struct reqctx *rc, enum store_op_kind kind, api_reply_fn reply)
{
    return api_call_new_sized(rc, sizeof(struct api_call), kind, reply);
}

struct api_call *api_call_new_sized(struct reqctx *rc, size_t size, enum store_op_kind kind, api_reply_fn reply)
{
    struct api_call *call = calloc(1, size);
    if (call == NULL) {
        respond_unavailable(rc, "out of memory");
        return NULL;
    }
    call->w = rc->w;
    call->rc = rc;
    call->reply = reply;
    call->op.kind = kind;
    call->guard = h2o_mem_alloc_shared(&rc->req->pool, sizeof(*call->guard), on_request_gone);
    *call->guard = call;
    return call;
}

static void call_free(struct api_call *call)
{
    if (call->cleanup != NULL)
        call->cleanup(call);
    free(call->op.idem.response);
    free(call);
}

void api_call_drop(struct api_call *call)
{
    *call->guard = NULL;
    call_free(call);
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
    if (op->status == STORE_OK && !op->idem.replayed &&
        (op->kind == STORE_LINK_CREATE || op->kind == STORE_LINK_UPDATE || op->kind == STORE_LINK_DELETE ||
         op->kind == STORE_LINK_RULES_PUT /* redirect rules (issue 4) */)) {
        struct cache *cache = call->w->app->cache;
        invalidate(cache, op->domain_id, op->link.code);
        if (op->kind == STORE_LINK_UPDATE && strcmp(op->key_code, op->link.code) != 0)
            invalidate(cache, op->domain_id, op->key_code);
    }
    if (op->kind == STORE_LINK_BULK) /* bulk creation and imports (issue 4): codes that may be cached as unknown */
        for (size_t i = 0; i < op->nbulk; i++)
            if (op->bulk[i].status == STORE_OK && !op->bulk[i].dry_run && !op->bulk[i].reused)
                invalidate(call->w->app->cache, op->domain_id, op->bulk[i].link.code);
    h2o_multithread_send_message(&call->w->ops_done, &call->msg);
}

/* Replays and mismatches of an Idempotency-Key are answered here, for every
 * kind of create alike. */
static bool idem_answered(struct api_call *call, struct reqctx *rc)
{
    struct store_idem *idem = &call->op.idem;
    if (call->op.status == STORE_IDEM_MISMATCH) {
        respond_problem(rc, 422, "idempotency-key-reused", "Idempotency-Key reused",
                        "this Idempotency-Key was used with a different request in the last 24 hours",
                        problem_param(NULL, "Idempotency-Key", "was used with a different request"));
        return true;
    }
    if (!idem->replayed)
        return false;
    char *body = h2o_mem_alloc_pool(&rc->req->pool, idem->response_len);
    memcpy(body, idem->response, idem->response_len);
    h2o_add_header_by_str(&rc->req->pool, &rc->req->res.headers, H2O_STRLIT("idempotent-replayed"), 0, NULL,
                          H2O_STRLIT("true"));
    respond_bytes(rc, idem->status, idem->status >= 400 ? "application/problem+json" : "application/json", body,
                  idem->response_len);
    return true;
}

int api_idem_attach(struct reqctx *rc, struct store_op *op,
                    size_t (*render)(struct store_op *op, char *buf, size_t cap, int *status))
{
    h2o_req_t *req = rc->req;
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("idempotency-key"), -1);
    if (i < 0)
        return 0;
    h2o_iovec_t v = req->headers.entries[i].value;
    bool ok = v.len > 0 && v.len <= STORE_IDEM_KEY_MAX;
    for (size_t k = 0; ok && k < v.len; k++)
        ok = v.base[k] >= 0x20 && v.base[k] < 0x7f;
    if (!ok) {
        respond_invalid(rc, 400, "Idempotency-Key", "must be 1-255 printable ASCII characters");
        return -1;
    }
    struct store_idem *idem = &op->idem;
    memcpy(idem->key, v.base, v.len);
    idem->key[v.len] = '\0';
    const struct principal *p = &rc->principal;
    if (p->kind == PRINCIPAL_ANONYMOUS) {
        char hex[33];
        sodium_bin2hex(hex, sizeof(hex), rc->client_ip, 16);
        snprintf(idem->principal, sizeof(idem->principal), "a:%s", hex);
    } else {
        /* The caller, not the team: a team switch in the body is part of the request. */
        snprintf(idem->principal, sizeof(idem->principal), "%c:%lld",
                 p->kind == PRINCIPAL_USER ? 'u' : p->kind == PRINCIPAL_KEY ? 'k' : 'o',
                 (long long)(p->kind == PRINCIPAL_USER ? p->user_id : p->key_id));
    }
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)req->method.base, req->method.len);
    crypto_hash_sha256_update(&st, (const unsigned char *)" ", 1);
    crypto_hash_sha256_update(&st, (const unsigned char *)req->path.base, req->path.len);
    crypto_hash_sha256_update(&st, (const unsigned char *)"\n", 1);
    if (req->entity.base != NULL)
        crypto_hash_sha256_update(&st, (const unsigned char *)req->entity.base, req->entity.len);
    crypto_hash_sha256_final(&st, idem->request_hash);
    idem->render = render;
    return 0;
}

void api_submit(struct api_call *call)
{
    call->op.done = op_committed;
    call->w->ops_pending++;
    if (store_submit(call->w->app->store, &call->op) == 0)
        return;
    call->w->ops_pending--;
    struct reqctx *rc = call->rc;
    api_call_drop(call);
    respond_unavailable(rc, "the store is not accepting writes (queue full or shutting down)");
}

bool api_resubmit(struct api_call *call, api_reply_fn reply)
{
    call->reply = reply;
    call->op.done = op_committed;
    call->op.status = STORE_OK;
    *call->guard = call;
    call->w->ops_pending++;
    if (store_submit(call->w->app->store, &call->op) == 0) {
        call->resubmitted = true;
        return true;
    }
    call->w->ops_pending--;
    *call->guard = NULL;
    return false;
}

void api_ops_done(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    while (!h2o_linklist_is_empty(messages)) {
        h2o_multithread_message_t *msg = H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
        h2o_linklist_unlink(&msg->link);
        struct api_call *call = (struct api_call *)msg;
        call->w->ops_pending--;
        call->resubmitted = false;
        if (call->rc != NULL) {
            *call->guard = NULL;
            if (!idem_answered(call, call->rc))
                call->reply(call, call->rc);
        }
        if (!call->resubmitted) /* else the store has it again */
            call_free(call);
    }
}

/* ---- the blocking-work pool ------------------------------------------------ */

struct job {
    struct api_call *call;
    void (*fn)(struct api_call *call);
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct job queue[JOBS_QUEUE_MAX];
    size_t head, count, nthreads;
    bool stopping;
    pthread_t threads[8];
} jobs = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER}; /* documented global: the pool */

static void *job_thread(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "lp-jobs");
    pthread_mutex_lock(&jobs.lock);
    for (;;) {
        while (jobs.count == 0 && !jobs.stopping)
            pthread_cond_wait(&jobs.cond, &jobs.lock);
        if (jobs.count == 0)
            break;
        struct job j = jobs.queue[jobs.head];
        jobs.head = (jobs.head + 1) % JOBS_QUEUE_MAX;
        jobs.count--;
        pthread_mutex_unlock(&jobs.lock);
        j.fn(j.call);
        h2o_multithread_send_message(&j.call->w->ops_done, &j.call->msg);
        pthread_mutex_lock(&jobs.lock);
    }
    pthread_mutex_unlock(&jobs.lock);
    return NULL;
}

int api_jobs_start(size_t threads)
{
    if (threads > sizeof(jobs.threads) / sizeof(jobs.threads[0]))
        threads = sizeof(jobs.threads) / sizeof(jobs.threads[0]);
    for (size_t i = 0; i < threads; i++) {
        if (pthread_create(&jobs.threads[i], NULL, job_thread, NULL) != 0)
            return -1;
        jobs.nthreads = i + 1;
    }
    return 0;
}

void api_jobs_stop(void)
{
    pthread_mutex_lock(&jobs.lock);
    jobs.stopping = true;
    pthread_cond_broadcast(&jobs.cond);
    pthread_mutex_unlock(&jobs.lock);
    for (size_t i = 0; i < jobs.nthreads; i++)
        pthread_join(jobs.threads[i], NULL);
}

void api_run_job(struct api_call *call, void (*fn)(struct api_call *call))
{
    call->w->ops_pending++;
    pthread_mutex_lock(&jobs.lock);
    bool queued = !jobs.stopping && jobs.count < JOBS_QUEUE_MAX;
    if (queued) {
        jobs.queue[(jobs.head + jobs.count) % JOBS_QUEUE_MAX] = (struct job){call, fn};
        jobs.count++;
        pthread_cond_signal(&jobs.cond);
    }
    pthread_mutex_unlock(&jobs.lock);
    if (queued)
        return;
    call->w->ops_pending--;
    struct reqctx *rc = call->rc;
    api_call_drop(call);
    respond_unavailable(rc, "too many requests are waiting");
}
