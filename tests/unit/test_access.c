/* The access decision table: tenant first, then role, then ownership. */
#include "core/access.h"
#include "core/plan.h"

#include <criterion/criterion.h>

#define TEAM_A 10
#define TEAM_B 20

static struct principal user(enum role r)
{
    return (struct principal){.kind = PRINCIPAL_USER, .user_id = 7, .team_id = TEAM_A, .role = r};
}

Test(access, decision_table)
{
    static const struct {
        enum principal_kind kind;
        enum role role;
        int64_t team;
        enum access_action action;
        int64_t owner;
        enum access_decision want;
    } cases[] = {
        /* anonymous never passes */
        {PRINCIPAL_ANONYMOUS, ROLE_ADMIN, TEAM_A, ACT_LINK_READ, 0, ACCESS_UNAUTHENTICATED},
        /* operator passes everywhere */
        {PRINCIPAL_OPERATOR, ROLE_NONE, TEAM_B, ACT_TEAM_ADMIN, 0, ACCESS_ALLOW},
        /* another team: 404 whatever the role or action */
        {PRINCIPAL_USER, ROLE_ADMIN, TEAM_B, ACT_LINK_READ, 0, ACCESS_NOT_FOUND},
        {PRINCIPAL_USER, ROLE_VIEWER, TEAM_B, ACT_LINK_WRITE, 0, ACCESS_NOT_FOUND},
        {PRINCIPAL_KEY, ROLE_ADMIN, TEAM_B, ACT_TEAM_ADMIN, 0, ACCESS_NOT_FOUND},
        {PRINCIPAL_USER, ROLE_ADMIN, 0, ACT_LINK_READ, 0, ACCESS_NOT_FOUND},
        /* roles in the own team */
        {PRINCIPAL_USER, ROLE_VIEWER, TEAM_A, ACT_LINK_READ, 0, ACCESS_ALLOW},
        {PRINCIPAL_USER, ROLE_VIEWER, TEAM_A, ACT_TEAM_READ, 0, ACCESS_ALLOW},
        {PRINCIPAL_USER, ROLE_VIEWER, TEAM_A, ACT_LINK_WRITE, 0, ACCESS_FORBIDDEN},
        {PRINCIPAL_USER, ROLE_VIEWER, TEAM_A, ACT_TEAM_ADMIN, 0, ACCESS_FORBIDDEN},
        {PRINCIPAL_USER, ROLE_EDITOR, TEAM_A, ACT_LINK_WRITE, 0, ACCESS_ALLOW},
        {PRINCIPAL_USER, ROLE_EDITOR, TEAM_A, ACT_TEAM_ADMIN, 0, ACCESS_FORBIDDEN},
        {PRINCIPAL_USER, ROLE_ADMIN, TEAM_A, ACT_TEAM_ADMIN, 0, ACCESS_ALLOW},
        {PRINCIPAL_KEY, ROLE_EDITOR, TEAM_A, ACT_LINK_WRITE, 0, ACCESS_ALLOW},
        {PRINCIPAL_KEY, ROLE_VIEWER, TEAM_A, ACT_LINK_WRITE, 0, ACCESS_FORBIDDEN},
        /* ownership: own secret yes, someone else's only as admin */
        {PRINCIPAL_USER, ROLE_VIEWER, TEAM_A, ACT_OWN_SECRET, 7, ACCESS_ALLOW},
        {PRINCIPAL_USER, ROLE_EDITOR, TEAM_A, ACT_OWN_SECRET, 8, ACCESS_FORBIDDEN},
        {PRINCIPAL_USER, ROLE_EDITOR, TEAM_A, ACT_OWN_SECRET, 0, ACCESS_FORBIDDEN},
        {PRINCIPAL_USER, ROLE_ADMIN, TEAM_A, ACT_OWN_SECRET, 8, ACCESS_ALLOW},
        {PRINCIPAL_USER, ROLE_ADMIN, TEAM_B, ACT_OWN_SECRET, 7, ACCESS_NOT_FOUND},
        /* a key never owns anything, even what its maker owns */
        {PRINCIPAL_KEY, ROLE_VIEWER, TEAM_A, ACT_OWN_SECRET, 7, ACCESS_FORBIDDEN},
        {PRINCIPAL_KEY, ROLE_ADMIN, TEAM_A, ACT_OWN_SECRET, 8, ACCESS_ALLOW},
        /* no role at all (not a member) */
        {PRINCIPAL_USER, ROLE_NONE, TEAM_A, ACT_LINK_READ, 0, ACCESS_FORBIDDEN},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct principal p = user(cases[i].role);
        p.kind = cases[i].kind;
        cr_expect_eq(access_check(&p, cases[i].team, cases[i].action, cases[i].owner), cases[i].want, "case %zu", i);
    }
    cr_assert_eq(access_check(NULL, TEAM_A, ACT_LINK_READ, 0), ACCESS_UNAUTHENTICATED);
}

Test(access, role_names_round_trip)
{
    for (enum role r = ROLE_VIEWER; r <= ROLE_ADMIN; r++)
        cr_assert_eq(access_role_parse(access_role_name(r)), r);
    cr_assert_eq(access_role_parse("owner"), ROLE_NONE);
    cr_assert_eq(access_role_parse("Admin"), ROLE_NONE);
}

Test(plan, limits_and_expiry)
{
    bool capped;
    int64_t now = 1800000000000LL;
    cr_assert_eq(plan_max_active_links(PLAN_FREE), 50);
    cr_assert_eq(plan_max_active_links(PLAN_PAID), 0);
    cr_assert_eq(plan_expiry(PLAN_PAID, now, 0, &capped), 0);
    cr_assert(!capped);
    cr_assert_eq(plan_expiry(PLAN_FREE, now, 0, &capped), now + PLAN_FREE_LIFETIME_MS);
    cr_assert(capped);
    cr_assert_eq(plan_expiry(PLAN_FREE, now, now + 1000, &capped), now + 1000, "an earlier expiry is kept");
    cr_assert(!capped);
    cr_assert_eq(plan_expiry(PLAN_FREE, now, now + PLAN_FREE_LIFETIME_MS + 1, &capped), now + PLAN_FREE_LIFETIME_MS);
    cr_assert(capped);
}

Test(plan, stamp_new)
{
    int64_t now = 1800000000000LL;
    struct link l = {0};
    cr_assert(plan_stamp_new(PLAN_FREE, now, 0, &l), "the default expiry is the plan's cap");
    cr_assert_eq(l.created_at, now);
    cr_assert_eq(l.updated_at, now);
    cr_assert_eq(l.expires_at, l.created_at + PLAN_FREE_LIFETIME_MS, "exactly from the same instant");
    struct link imported = {.created_at = 1740823200000LL};
    cr_assert(!plan_stamp_new(PLAN_FREE, now, now + 1000, &imported));
    cr_assert_eq(imported.created_at, 1740823200000LL, "an import keeps its file's creation time");
    cr_assert_eq(imported.updated_at, now);
    cr_assert_eq(imported.expires_at, now + 1000);
    struct link paid = {0};
    cr_assert(!plan_stamp_new(PLAN_PAID, now, 0, &paid));
    cr_assert_eq(paid.expires_at, 0);
}

Test(plan, lifetime_start_table)
{
    static const struct {
        int64_t created, made, want;
    } cases[] = {
        {1800000000000LL, 1800000000000LL, 1800000000000LL}, /* made in the request that stamped it */
        {1800000000000LL, 1800000000007LL, 1800000000000LL}, /* committed a few ms later */
        {1800000000000LL, 1800000060000LL, 1800000000000LL}, /* a minute: still its creation */
        {1800000000000LL, 1800000060001LL, 1800000060001LL}, /* older: an import, counts from then */
        {1740823200000LL, 1800000000000LL, 1800000000000LL}, /* imported with a 2025 date */
        {1800000000005LL, 1800000000000LL, 1800000000005LL}, /* a clock that went back */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        cr_assert_eq(plan_lifetime_start(cases[i].created, cases[i].made), cases[i].want, "case %zu", i);
}

#include "core/account.h"

#include <string.h>

Test(account, email_table)
{
    static const struct {
        const char *in, *lc; /* lc NULL: refused */
    } cases[] = {
        {"a@b.co", "a@b.co"},
        {"Alice@Example.COM", "alice@example.com"},
        {"first.last+tag@sub.example.org", "first.last+tag@sub.example.org"},
        {"", NULL},
        {"ab", NULL},
        {"no-at.example.com", NULL},
        {"@example.com", NULL},
        {"a@@example.com", NULL},
        {"a@b@example.com", NULL},
        {"a@localhost", NULL},
        {"a@.example.com", NULL},
        {"a@example.com.", NULL},
        {"a b@example.com", NULL},
        {"a@exa\tmple.com", NULL},
        {"\"a\"@example.com", NULL},
        {"<a@example.com>", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char lc[ACCOUNT_EMAIL_MAX + 1];
        const char *why = account_check_email(cases[i].in, strlen(cases[i].in), lc);
        if (cases[i].lc == NULL) {
            cr_expect_not_null(why, "%s accepted", cases[i].in);
        } else {
            cr_expect_null(why, "%s refused: %s", cases[i].in, why);
            if (why == NULL)
                cr_expect_str_eq(lc, cases[i].lc);
        }
    }
    char big[300], lc[ACCOUNT_EMAIL_MAX + 1];
    memset(big, 'a', sizeof(big));
    memcpy(big + 250, "@example.com", 12);
    cr_assert_not_null(account_check_email(big, 262, lc), "longer than 254");
}

Test(account, password_and_name)
{
    cr_assert_not_null(account_check_password("short", 5));
    cr_assert_not_null(account_check_password("ninechars", 9));
    cr_assert_null(account_check_password("tencharsok", 10));
    cr_assert_not_null(account_check_password("éééééééé", 16), "8 characters in 16 bytes");
    cr_assert_null(account_check_password("éééééééééé", 20));
    static char huge[1100];
    memset(huge, 'x', sizeof(huge));
    cr_assert_not_null(account_check_password(huge, sizeof(huge)));
    cr_assert_null(account_check_name("Ada", 3));
    cr_assert_not_null(account_check_name("", 0));
    cr_assert_not_null(account_check_name("a\nb", 3));
}
