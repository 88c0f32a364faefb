#include "store/store.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

struct waiter {
    struct store_op op; /* first: done() gets &op */
    struct store_op *user;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool finished;
};

static void wake(struct store_op *op)
{
    struct waiter *w = (struct waiter *)op;
    pthread_mutex_lock(&w->lock);
    w->finished = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

int store_submit_wait(struct store *s, struct store_op *op)
{
    struct waiter wait = {.op = *op};
    struct waiter *w = &wait;
    w->op.done = wake;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    int rc = store_submit(s, &w->op);
    if (rc == 0) {
        pthread_mutex_lock(&w->lock);
        while (!w->finished)
            pthread_cond_wait(&w->cond, &w->lock);
        pthread_mutex_unlock(&w->lock);
        *op = w->op;
        rc = op->status;
    }
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    return rc;
}

static const char *const kind_names[STORE_VISIT_KINDS] = {"redirect", "invalid_short_url", "base_url", "regular_404"};

const char *store_visit_kind_name(enum store_visit_kind k)
{
    return (unsigned)k < STORE_VISIT_KINDS ? kind_names[k] : kind_names[0];
}

enum store_visit_kind store_visit_kind_of(const char *name)
{
    for (int k = 0; name != NULL && k < STORE_VISIT_KINDS; k++)
        if (strcmp(name, kind_names[k]) == 0)
            return (enum store_visit_kind)k;
    return VISIT_REDIRECT;
}

bool store_op_changes_access(enum store_op_kind kind)
{
    switch (kind) { /* every kind, no default: a new one must be decided here */
    case STORE_APIKEY_ENSURE:
    case STORE_USER_CREATE:
    case STORE_USER_DISABLE:
    case STORE_TEAM_CREATE:
    case STORE_TEAM_SET_PLAN:
    case STORE_MEMBER_PUT:
    case STORE_MEMBER_DELETE:
    case STORE_APIKEY_CREATE:
    case STORE_APIKEY_REVOKE:
        return true;
    case STORE_LINK_CREATE:
    case STORE_LINK_UPDATE:
    case STORE_LINK_DELETE:
    case STORE_LINK_CONSUME:
    case STORE_APIKEY_TOUCH: /* last_used_at only */
    case STORE_REFRESH_CREATE:
    case STORE_REFRESH_ROTATE:
    case STORE_REFRESH_REVOKE:
    case STORE_VISITS_PURGE:
    case STORE_HOOK_CREATE:
    case STORE_HOOK_UPDATE:
    case STORE_HOOK_DELETE:
    case STORE_DELIVERY_RESULT:
    case STORE_DELIVERY_RETRY:
    case STORE_LINK_RULES_PUT:
    case STORE_TAG_RENAME:
    case STORE_TAG_DELETE:
    case STORE_DOMAIN_CREATE:
    case STORE_DOMAIN_UPDATE:
    case STORE_DOMAIN_DELETE:
    case STORE_LINK_BULK:
        return false;
    }
    return true;
}
