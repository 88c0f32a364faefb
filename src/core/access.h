/* access: the one place that decides whether a caller may touch a resource.
 * Pure; thread-safe. Every handler that reads or changes team data asks
 * access_check first, and the store's team-scoped reads take the team the
 * principal was resolved to, so a forgotten check still cannot cross teams.
 *
 * Order of the decision: authenticated at all (401), then tenant (another
 * team's resource is 404, so existence does not leak), then role (403),
 * then ownership (403) for resources that belong to one user. */
#ifndef LP_CORE_ACCESS_H
#define LP_CORE_ACCESS_H

#include <stdbool.h>
#include <stdint.h>

enum role { ROLE_NONE = 0, ROLE_VIEWER = 1, ROLE_EDITOR = 2, ROLE_ADMIN = 3 };

enum principal_kind {
    PRINCIPAL_ANONYMOUS, /* no credentials */
    PRINCIPAL_OPERATOR,  /* the instance's admin keys: every team */
    PRINCIPAL_USER,      /* a signed-in user acting in one of their teams */
    PRINCIPAL_KEY,       /* a team API key */
};

enum plan { PLAN_FREE = 0, PLAN_PAID = 1 };

struct principal {
    enum principal_kind kind;
    int64_t user_id; /* USER, and KEY when the key was made by a user */
    int64_t key_id;  /* KEY and OPERATOR */
    int64_t team_id; /* the team this request acts in */
    enum role role;  /* in team_id */
    enum plan plan;  /* of team_id */
};

enum access_action {
    ACT_LINK_READ,   /* links and their stats */
    ACT_LINK_WRITE,  /* create, change, delete links */
    ACT_TEAM_READ,   /* team details and member list */
    ACT_TEAM_ADMIN,  /* members, roles, API keys, plan */
    ACT_OWN_SECRET,  /* a user-owned secret (an API key): owner or team admin */
};

enum access_decision {
    ACCESS_ALLOW = 0,
    ACCESS_UNAUTHENTICATED = -1, /* 401 */
    ACCESS_NOT_FOUND = -2,       /* 404: another team's resource */
    ACCESS_FORBIDDEN = -3,       /* 403: the role does not allow it */
};

/* resource_team: the team that owns the resource (for a new link: the team
 * it would go to). owner_user: the user a resource belongs to, 0 if none. */
enum access_decision access_check(const struct principal *p, int64_t resource_team, enum access_action action,
                                  int64_t owner_user);

const char *access_role_name(enum role r);
/* ROLE_NONE for anything but "admin", "editor", "viewer". */
enum role access_role_parse(const char *s);
const char *access_plan_name(enum plan p);

#endif
