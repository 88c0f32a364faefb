#include "core/access.h"

#include <string.h>

static enum role required_role(enum access_action a)
{
    switch (a) {
    case ACT_LINK_READ:
    case ACT_TEAM_READ:
        return ROLE_VIEWER;
    case ACT_LINK_WRITE:
        return ROLE_EDITOR;
    case ACT_TEAM_ADMIN:
        return ROLE_ADMIN;
    case ACT_OWN_SECRET:
        return ROLE_VIEWER; /* ownership decides below */
    }
    return ROLE_ADMIN;
}

enum access_decision access_check(const struct principal *p, int64_t resource_team, enum access_action action,
                                  int64_t owner_user)
{
    if (p == NULL || p->kind == PRINCIPAL_ANONYMOUS)
        return ACCESS_UNAUTHENTICATED;
    if (p->kind == PRINCIPAL_OPERATOR)
        return ACCESS_ALLOW;
    if (resource_team <= 0 || p->team_id != resource_team)
        return ACCESS_NOT_FOUND;
    if (p->role < required_role(action))
        return ACCESS_FORBIDDEN;
    if (action == ACT_OWN_SECRET && p->role != ROLE_ADMIN &&
        (p->kind != PRINCIPAL_USER || owner_user == 0 || owner_user != p->user_id))
        return ACCESS_FORBIDDEN;
    return ACCESS_ALLOW;
}

const char *access_role_name(enum role r)
{
    switch (r) {
    case ROLE_ADMIN:
        return "admin";
    case ROLE_EDITOR:
        return "editor";
    case ROLE_VIEWER:
        return "viewer";
    default:
        return "none";
    }
}

enum role access_role_parse(const char *s)
{
    if (strcmp(s, "admin") == 0)
        return ROLE_ADMIN;
    if (strcmp(s, "editor") == 0)
        return ROLE_EDITOR;
    if (strcmp(s, "viewer") == 0)
        return ROLE_VIEWER;
    return ROLE_NONE;
}

const char *access_plan_name(enum plan p)
{
    return p == PLAN_PAID ? "paid" : "free";
}
