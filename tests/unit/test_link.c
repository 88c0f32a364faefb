/* Unit tables for the link field rules of core/link.c: tags and notes. */
#include "core/link.h"

#include <criterion/criterion.h>
#include <string.h>

Test(link, tag_table)
{
    static const struct {
        const char *tag;
        bool ok;
    } cases[] = {
        {"news", true},
        {"Q3 launch", true},
        {"été", true},
        {"a", true},
        {"", false},
        {" lead", false},
        {"trail ", false},
        {"a,b", false},
        {"tab\there", false},
        {"del\x7f", false},
        {"1234567890123456789012345678901234567890123456789012345678901234", true},
        {"12345678901234567890123456789012345678901234567890123456789012345", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *why = link_check_tag(cases[i].tag, strlen(cases[i].tag));
        cr_expect_eq(why == NULL, cases[i].ok, "case %zu (%s): %s", i, cases[i].tag, why ? why : "ok");
    }
}

Test(link, note_rules)
{
    cr_expect_null(link_check_note("line 1\nline 2\ttab", 17));
    cr_expect_null(link_check_note("", 0));
    cr_expect_not_null(link_check_note("bell\a", 5));
    char big[LINK_NOTE_MAX_BYTES + 2];
    memset(big, 'x', sizeof(big));
    cr_expect_null(link_check_note(big, LINK_NOTE_MAX_BYTES));
    cr_expect_not_null(link_check_note(big, LINK_NOTE_MAX_BYTES + 1));
}

Test(link, tag_fold)
{
    char out[16];
    link_tag_fold("MiXeD-É", strlen("MiXeD-É"), out);
    cr_expect_str_eq(out, "mixed-É", "only ASCII letters fold");
}

Test(link, state_with_lifetime)
{
    static struct link l;
    cr_expect_eq(link_state(&l, 1000), LINK_ACTIVE);
    l.valid_since = 2000;
    cr_expect_eq(link_state(&l, 1999), LINK_NOT_YET);
    cr_expect_eq(link_state(&l, 2000), LINK_ACTIVE);
    l.expires_at = 3000;
    cr_expect_eq(link_state(&l, 3000), LINK_EXPIRED);
    l.disabled = true;
    cr_expect_eq(link_state(&l, 2500), LINK_DISABLED, "disabled wins over everything");
    l.disabled = false;
    l.max_visits = 2;
    l.visits = 2;
    cr_expect_eq(link_state(&l, 2500), LINK_EXHAUSTED);
}
