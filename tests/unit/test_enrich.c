/* Unit tables for the visit enrichment helpers. */
#include "analytics/enrich.h"

#include <criterion/criterion.h>
#include <string.h>

Test(enrich, referrer_host)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"https://www.Example.com/path?q=1", "www.example.com"},
        {"http://example.com", "example.com"},
        {"https://example.com:8443/x", "example.com"},
        {"https://user:pw@example.com/", "example.com"},
        {"https://[2001:db8::1]:443/", "[2001:db8::1]"},
        {"android-app://com.google.android.gm/", ""},
        {"/relative", ""},
        {"", ""},
        {"https://exa mple.com/", ""},
        {"https://t.co#frag", "t.co"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[128];
        enrich_referrer_host(cases[i].in, strlen(cases[i].in), out, sizeof(out));
        cr_expect_str_eq(out, cases[i].want, "case %zu: %s", i, cases[i].in);
    }
}

Test(enrich, language)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"da, en-GB;q=0.8, en;q=0.7", "da"},
        {"en-US,en;q=0.9,fr;q=0.8", "en-us"},
        {"fr;q=0.5, de;q=0.9", "de"},
        {"*", ""},
        {"", ""},
        {"en;q=0", ""},
        {"es;q=1.0", "es"},
        {"x<script>;q=1, it", "it"},
        {"zh-Hant-TW;q=0.95, ja;q=0.9", "zh-hant-tw"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[16];
        enrich_language(cases[i].in, strlen(cases[i].in), out, sizeof(out));
        cr_expect_str_eq(out, cases[i].want, "case %zu: %s", i, cases[i].in);
    }
}

Test(enrich, utm)
{
    char out[5][64];
    const char *q = "utm_source=news%20letter&x=1&utm_medium=e+mail&utm_campaign=launch&utm_term=%ZZ&utm_content=a%0Ab";
    enrich_utm(q, strlen(q), out);
    cr_assert_str_eq(out[0], "news letter");
    cr_assert_str_eq(out[1], "e mail");
    cr_assert_str_eq(out[2], "launch");
    cr_assert_str_eq(out[3], "%ZZ", "a bad escape stays as it is");
    cr_assert_str_eq(out[4], "ab", "control bytes are dropped");
    enrich_utm("", 0, out);
    cr_assert_str_eq(out[0], "");
    char big[300] = "utm_source=";
    memset(big + 11, 'a', 280);
    big[291] = '\0';
    enrich_utm(big, strlen(big), out);
    cr_assert_eq(strlen(out[0]), 63, "truncated to the field size");
}
