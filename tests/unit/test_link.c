/* Unit tables for the link field rules of core/link.c: tags and notes. */
#include "core/domain.h"
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

Test(domain, hostname_table)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"s.example.com", "s.example.com"},
        {"S.Example.COM.", "s.example.com"},
        {"xn--bcher-kva.example", "xn--bcher-kva.example"},
        {"a-b.c1.io", "a-b.c1.io"},
        {"localhost", NULL},
        {"1.2.3.4", NULL},
        {"-a.example", NULL},
        {"a-.example", NULL},
        {"a..example", NULL},
        {"a_b.example", NULL},
        {"", NULL},
        {"ex ample.com", NULL},
        {"bücher.example", NULL},
        {"example.123", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[DOMAIN_HOST_MAX + 1];
        const char *why = domain_check_hostname(cases[i].in, strlen(cases[i].in), out);
        if (cases[i].out == NULL)
            cr_expect_not_null(why, "case %zu (%s) accepted", i, cases[i].in);
        else {
            cr_expect_null(why, "case %zu (%s): %s", i, cases[i].in, why);
            if (why == NULL)
                cr_expect_str_eq(out, cases[i].out);
        }
    }
    char big[300];
    memset(big, 'a', sizeof(big));
    memcpy(big + 250, ".com", 4);
    char out[DOMAIN_HOST_MAX + 1];
    cr_expect_not_null(domain_check_hostname(big, 254, out), "over 253 bytes");
}

Test(domain, host_header)
{
    char out[DOMAIN_HOST_MAX + 1];
    cr_expect_eq(domain_host_of("S.Example.com:8080", 18, out), 13);
    cr_expect_str_eq(out, "s.example.com");
    cr_expect_eq(domain_host_of("[::1]:80", 8, out), 0);
    cr_expect_eq(domain_host_of(":80", 3, out), 0);
    cr_expect_eq(domain_host_of("a.example.", 10, out), 9);
}
