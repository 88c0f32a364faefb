#include "core/plan.h"

int64_t plan_max_active_links(enum plan p)
{
    return p == PLAN_FREE ? PLAN_FREE_ACTIVE_LINKS : 0;
}

int64_t plan_expiry(enum plan p, int64_t now_ms, int64_t requested, bool *capped)
{
    *capped = false;
    if (p == PLAN_PAID)
        return requested;
    int64_t latest = now_ms + PLAN_FREE_LIFETIME_MS;
    if (requested == 0 || requested > latest) {
        *capped = true;
        return latest;
    }
    return requested;
}

bool plan_stamp_new(enum plan p, int64_t now_ms, int64_t requested, struct link *l)
{
    bool capped;
    if (l->created_at == 0)
        l->created_at = now_ms;
    l->updated_at = now_ms;
    l->expires_at = plan_expiry(p, now_ms, requested, &capped);
    return capped;
}

int64_t plan_lifetime_start(int64_t created_at_ms, int64_t made_ms)
{
    return created_at_ms < made_ms - PLAN_IMPORT_SLACK_MS ? made_ms : created_at_ms;
}
