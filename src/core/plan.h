/* plan: what each plan allows. Pure; thread-safe.
 * Free teams: at most PLAN_FREE_ACTIVE_LINKS links that have not expired,
 * each expiring at the latest PLAN_FREE_LIFETIME_MS after creation. Paid
 * teams: unlimited and permanent unless the user sets an expiry. The
 * counting itself happens in the store's writer, inside the transaction
 * that inserts the link, which is what makes the limit exact. */
#ifndef LP_CORE_PLAN_H
#define LP_CORE_PLAN_H

#include "core/access.h"
#include "core/link.h"

#include <stdbool.h>
#include <stdint.h>

#define PLAN_FREE_ACTIVE_LINKS 50
#define PLAN_FREE_LIFETIME_MS (183LL * 24 * 3600 * 1000) /* six months */
#define PLAN_ANON_LIFETIME_MS (7LL * 24 * 3600 * 1000)   /* default expiry of anonymous links */

/* 0 means unlimited. */
int64_t plan_max_active_links(enum plan p);

/* The expiry a new link gets: the requested one (0: none), capped by the
 * plan. *capped tells whether the cap changed it. */
int64_t plan_expiry(enum plan p, int64_t now_ms, int64_t requested, bool *capped);

/* Stamps a new link from one reading of the clock: created_at (unless an
 * import brought its own) and updated_at are now_ms, and expires_at is
 * plan_expiry from the same now_ms, so a default expiry is exactly
 * created_at + the plan's lifetime, the instant a later change is capped
 * to. Returns whether the plan capped the expiry. */
bool plan_stamp_new(enum plan p, int64_t now_ms, int64_t requested, struct link *l);

/* When a link's lifetime began, for the free plan's cap on later changes:
 * its created_at, unless that is more than PLAN_IMPORT_SLACK_MS before
 * `made_ms` (when this instance made the link, from its id): an import that
 * kept an older creation time, whose lifetime counts from the import as its
 * default expiry did. */
#define PLAN_IMPORT_SLACK_MS (60LL * 1000)
int64_t plan_lifetime_start(int64_t created_at_ms, int64_t made_ms);

#endif
