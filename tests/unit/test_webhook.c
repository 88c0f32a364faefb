/* The pure parts of the webhook worker: the signature (HMAC-SHA256 over
 * "<t>.<body>", checked against values computed independently with
 * Python's hmac module) and the retry schedule (doubling from the base,
 * ±20 % jitter, capped at an hour). */
#include "events/webhook.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <string.h>

Test(webhook, signature_matches_an_independent_hmac)
{
    cr_assert_geq(sodium_init(), 0);
    char out[WEBHOOK_SIG_HEX + 1];
    const char body[] = "{\"a\":1}";
    webhook_sign("whsec_test", 1700000000, body, strlen(body), out);
    cr_assert_str_eq(out, "38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789");
    const char data[] = "what do ya want for nothing?";
    webhook_sign("Jefe", 0, data, strlen(data), out);
    cr_assert_str_eq(out, "37f471929915ccd2cbbe79feb84ffcff4f2bb25e15fc41c2506687331ae179cc");
    webhook_sign("Jefe", 1, data, strlen(data), out);
    cr_assert_str_neq(out, "37f471929915ccd2cbbe79feb84ffcff4f2bb25e15fc41c2506687331ae179cc",
                      "the timestamp is signed too");
}

Test(webhook, backoff_doubles_with_jitter_and_a_cap)
{
    static const struct {
        unsigned base, attempt;
        double jitter;
        uint64_t want;
    } cases[] = {
        {1000, 1, 0.5, 1000},  {1000, 2, 0.5, 2000},       {1000, 3, 0.5, 4000},
        {1000, 4, 0.5, 8000},  {1000, 1, 0.0, 800},        {1000, 1, 0.999999, 1199},
        {100, 3, 0.5, 400},    {1000, 30, 0.5, 3600000},   {1000, 13, 0.0, 3276800},
        {1000, 13, 0.99, 3600000},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        cr_assert_eq(webhook_backoff_ms(cases[i].base, cases[i].attempt, cases[i].jitter), cases[i].want,
                     "case %zu: %llu", i,
                     (unsigned long long)webhook_backoff_ms(cases[i].base, cases[i].attempt, cases[i].jitter));
}
