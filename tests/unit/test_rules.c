/* Unit tests for src/core/rules: the Accept-Language parser (q-values,
 * malformed entries), a table of conditions x visitor facts, first-match
 * order, compile errors naming the field path, the compact-form checker,
 * and compile -> JSON -> compile round trips. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/rules.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct link_policy policy = {"s.example", 443};

static size_t compile(const char *json, uint8_t *out)
{
    json_error_t e;
    json_t *j = json_loads(json, 0, &e);
    cr_assert_not_null(j, "json %s: %s", json, e.text);
    char path[RULES_PATH_MAX];
    const char *why = NULL;
    size_t n = 0;
    int rc = rules_compile(j, &policy, out, &n, path, &why);
    cr_assert_eq(rc, 0, "compile %s: %s %s", json, rc ? path : "", why ? why : "");
    cr_assert_eq(rules_check(out, n), 0, "check %s", json);
    json_decref(j);
    return n;
}

Test(rules, accept_language_parse)
{
    struct rules_lang l[RULES_ACCEPT_LANG_MAX];
    const char *h = "fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5";
    size_t n = rules_accept_language(h, strlen(h), l, N(l));
    cr_assert_eq(n, 5);
    cr_assert_eq(l[0].len, 5);
    cr_assert(memcmp(l[0].tag, "fr-CH", 5) == 0);
    cr_assert_eq(l[0].q, 1000);
    cr_assert_eq(l[1].q, 900);
    cr_assert_eq(l[2].q, 800);
    cr_assert_eq(l[4].len, 1);
    cr_assert_eq(l[4].q, 500);

    static const struct {
        const char *h;
        size_t n;
        unsigned q0;
    } rows[] = {
        {"", 0, 0},
        {"en", 1, 1000},
        {"en;q=0", 1, 0},
        {"en;q=0.001", 1, 1},
        {"en;q=1.000", 1, 1000},
        {"en;q=1.001", 0, 0},  /* above 1 */
        {"en;q=0.1234", 0, 0}, /* four decimals */
        {"en;q=2", 0, 0},
        {"en;q=", 0, 0},
        {"en;x=1", 0, 0},       /* unknown parameter */
        {"en ; q=0.5", 1, 500}, /* OWS around ';' */
        {"toolongtag-x", 0, 0}, /* primary subtag over 8 */
        {"e1", 0, 0},           /* digits only after the first subtag */
        {"zh-Hant-TW;Q=0.3", 1, 300},
        {",,en,,", 1, 1000},
        {"en-", 0, 0},
        {"-en", 0, 0},
    };
    for (size_t i = 0; i < N(rows); i++) {
        n = rules_accept_language(rows[i].h, strlen(rows[i].h), l, N(l));
        cr_assert_eq(n, rows[i].n, "\"%s\": %zu entries", rows[i].h, n);
        if (n > 0)
            cr_assert_eq(l[0].q, rows[i].q0, "\"%s\": q %u", rows[i].h, l[0].q);
    }
    /* the cap */
    char big[400] = "";
    for (int i = 0; i < 40; i++)
        strcat(big, "en,");
    cr_assert_eq(rules_accept_language(big, strlen(big), l, N(l)), RULES_ACCEPT_LANG_MAX);
}

Test(rules, language_match)
{
    static const struct {
        const char *h, *tag;
        bool want;
    } rows[] = {
        {"fr", "fr", true},
        {"fr-CA", "fr", true},
        {"FR-ca", "fr-ca", true},
        {"fr", "fr-ca", false},
        {"fra", "fr", false},
        {"en, fr;q=0.1", "fr", true}, /* not only the top language */
        {"en, fr;q=0", "fr", false},  /* q=0: not acceptable */
        {"*", "fr", false},
        {"en-US,en;q=0.9", "fr", false},
        {"de-CH-1996", "de-ch", true},
    };
    for (size_t i = 0; i < N(rows); i++)
        cr_assert_eq(rules_lang_match(rows[i].h, strlen(rows[i].h), rows[i].tag, strlen(rows[i].tag)), rows[i].want,
                     "\"%s\" vs %s", rows[i].h, rows[i].tag);
}

static struct rules_facts facts(void)
{
    struct rules_facts f;
    memset(&f, 0, sizeof(f));
    f.now_ms = 1767225600000; /* 2026-01-01T00:00:00Z */
    f.device = UA_DEVICE_DESKTOP;
    f.os = RULES_OS_WINDOWS;
    f.browser = RULES_BR_FIREFOX;
    return f;
}

Test(rules, condition_table)
{
    struct {
        const char *cond;
        struct rules_facts f;
        bool want;
    } t[40];
    size_t n = 0;
#define ROW(c, mod, w)                                                                                                 \
    do {                                                                                                               \
        t[n].cond = (c);                                                                                               \
        t[n].f = facts();                                                                                              \
        {                                                                                                              \
            struct rules_facts *x = &t[n].f;                                                                           \
            (void)x;                                                                                                   \
            mod;                                                                                                       \
        }                                                                                                              \
        t[n++].want = (w);                                                                                             \
    } while (0)
    ROW("{\"type\":\"device\",\"value\":\"desktop\"}", , true);
    ROW("{\"type\":\"device\",\"value\":\"mobile\"}", , false);
    ROW("{\"type\":\"device\",\"value\":\"mobile\"}", x->device = UA_DEVICE_MOBILE, true);
    ROW("{\"type\":\"device\",\"value\":\"tablet\"}", x->device = UA_DEVICE_TABLET, true);
    ROW("{\"type\":\"device\",\"value\":\"desktop\"}", x->device = UA_DEVICE_BOT, false);
    ROW("{\"type\":\"os\",\"value\":\"windows\"}", , true);
    ROW("{\"type\":\"os\",\"value\":\"ios\"}", x->os = RULES_OS_IOS, true);
    ROW("{\"type\":\"os\",\"value\":\"android\"}", x->os = RULES_OS_IOS, false);
    ROW("{\"type\":\"browser\",\"value\":\"firefox\"}", , true);
    ROW("{\"type\":\"browser\",\"value\":\"chrome\"}", , false);
    ROW("{\"type\":\"language\",\"value\":\"fr\"}", , false); /* no header */
    ROW("{\"type\":\"language\",\"value\":\"fr\"}",
        (x->accept_language = "de, fr-BE;q=0.5", x->accept_language_len = 15), true);
    ROW("{\"type\":\"language\",\"value\":\"pt-BR\"}", (x->accept_language = "pt-br", x->accept_language_len = 5),
        true);
    ROW("{\"type\":\"country\",\"value\":\"gb\"}", memcpy(x->country, "GB", 2), true);
    ROW("{\"type\":\"country\",\"value\":\"GB\"}", memcpy(x->country, "SE", 2), false);
    ROW("{\"type\":\"country\",\"value\":\"GB\"}", , false); /* unknown */
    ROW("{\"type\":\"query\",\"name\":\"ref\"}", (x->query = "a=1&ref", x->query_len = 7), true);
    ROW("{\"type\":\"query\",\"name\":\"ref\"}", (x->query = "a=1&refx=2", x->query_len = 10), false);
    ROW("{\"type\":\"query\",\"name\":\"ref\",\"value\":\"a b\"}", (x->query = "ref=a+b", x->query_len = 7), true);
    ROW("{\"type\":\"query\",\"name\":\"ref\",\"value\":\"a b\"}", (x->query = "ref=a%20b", x->query_len = 9), true);
    ROW("{\"type\":\"query\",\"name\":\"ref\",\"value\":\"x\"}", (x->query = "ref=y&ref=x", x->query_len = 11), true);
    ROW("{\"type\":\"query\",\"name\":\"ref\",\"value\":\"x\"}", (x->query = "ref=xy", x->query_len = 6), false);
    ROW("{\"type\":\"query\",\"name\":\"ref\",\"value\":\"\"}", (x->query = "ref", x->query_len = 3), true);
    ROW("{\"type\":\"before\",\"value\":\"2026-01-01T00:00:00.001Z\"}", , true);
    ROW("{\"type\":\"before\",\"value\":\"2026-01-01T00:00:00Z\"}", , false);
    ROW("{\"type\":\"after\",\"value\":\"2026-01-01T00:00:00Z\"}", , true);
    ROW("{\"type\":\"after\",\"value\":\"2026-01-01T01:00:00+00:30\"}", , false);
    ROW("{\"type\":\"ip\",\"value\":\"10.0.0.0/8\"}", ipaddr_parse("10.9.8.7", 8, &x->ip), true);
    ROW("{\"type\":\"ip\",\"value\":\"10.0.0.0/8\"}", ipaddr_parse("11.9.8.7", 8, &x->ip), false);
    ROW("{\"type\":\"ip\",\"value\":\"2001:db8::/32\"}", ipaddr_parse("2001:db8::1", 11, &x->ip), true);
    ROW("{\"type\":\"ip\",\"value\":\"2001:db8::/32\"}", ipaddr_parse("10.9.8.7", 8, &x->ip), false);
    ROW("{\"type\":\"ip\",\"value\":\"1.2.3.4\"}", ipaddr_parse("1.2.3.4", 7, &x->ip), true);
    ROW("{\"type\":\"ip\",\"value\":\"1.2.3.4\"}", , false); /* unknown address */
#undef ROW
    for (size_t i = 0; i < n; i++) {
        char json[512];
        snprintf(json, sizeof(json), "[{\"url\":\"https://t.example/%zu\",\"conditions\":[%s]}]", i, t[i].cond);
        uint8_t b[RULES_BLOB_MAX];
        size_t bn = compile(json, b);
        const char *url = NULL;
        size_t ul = 0;
        int got = rules_eval(b, bn, &t[i].f, &url, &ul);
        cr_assert_eq(got, t[i].want, "row %zu: %s", i, t[i].cond);
        if (got) {
            char want[64];
            snprintf(want, sizeof(want), "https://t.example/%zu", i);
            cr_assert(ul == strlen(want) && memcmp(url, want, ul) == 0, "row %zu url", i);
        }
    }
}

Test(rules, first_match_and_all_conditions)
{
    uint8_t b[RULES_BLOB_MAX];
    size_t n = compile("[{\"url\":\"https://a.example/\",\"conditions\":[{\"type\":\"os\",\"value\":\"ios\"},"
                       "{\"type\":\"country\",\"value\":\"SE\"}]},"
                       "{\"url\":\"https://b.example/\",\"conditions\":[{\"type\":\"os\",\"value\":\"ios\"}]},"
                       "{\"url\":\"https://c.example/\",\"conditions\":[{\"type\":\"device\",\"value\":\"mobile\"}]}]",
                       b);
    struct rules_facts f = facts();
    const char *u;
    size_t ul;
    cr_assert_eq(rules_eval(b, n, &f, &u, &ul), 0);
    f.os = RULES_OS_IOS;
    f.device = UA_DEVICE_MOBILE;
    cr_assert_eq(rules_eval(b, n, &f, &u, &ul), 1);
    cr_assert(strncmp(u, "https://b.example/", ul) == 0);
    memcpy(f.country, "SE", 2);
    cr_assert_eq(rules_eval(b, n, &f, &u, &ul), 1);
    cr_assert(strncmp(u, "https://a.example/", ul) == 0);
    f.os = RULES_OS_ANDROID;
    cr_assert_eq(rules_eval(b, n, &f, &u, &ul), 1);
    cr_assert(strncmp(u, "https://c.example/", ul) == 0);
    cr_assert_eq(rules_needs(b, n), RULES_NEED_UA | RULES_NEED_COUNTRY);
    cr_assert_eq(rules_eval(b, 0, &f, &u, &ul), 0);
    /* The empty list. */
    n = compile("[]", b);
    cr_assert_eq(rules_eval(b, n, &f, &u, &ul), 0);
    cr_assert_eq(rules_needs(b, n), 0);
}

Test(rules, compile_errors_name_the_path)
{
    static const struct {
        const char *json, *path;
    } rows[] = {
        {"{}", "rules"},
        {"[1]", "rules[0]"},
        {"[{\"conditions\":[{\"type\":\"os\",\"value\":\"ios\"}]}]", "rules[0].url"},
        {"[{\"url\":\"ftp://x\",\"conditions\":[{\"type\":\"os\",\"value\":\"ios\"}]}]", "rules[0].url"},
        {"[{\"url\":\"https://s.example/x\",\"conditions\":[{\"type\":\"os\",\"value\":\"ios\"}]}]", "rules[0].url"},
        {"[{\"url\":\"https://x.example\"}]", "rules[0].conditions"},
        {"[{\"url\":\"https://x.example\",\"conditions\":[]}]", "rules[0].conditions"},
        {"[{\"url\":\"https://x.example\",\"extra\":1,\"conditions\":[]}]", "rules[0].extra"},
        {"[{\"url\":\"https://x.example\",\"conditions\":[{\"type\":\"os\",\"value\":\"ios\"}]},"
         "{\"url\":\"https://x.example\",\"conditions\":[{\"type\":\"planet\",\"value\":\"x\"}]}]",
         "rules[1].conditions[0].type"},
        {"[{\"url\":\"https://x.example\",\"conditions\":[{\"type\":\"os\",\"value\":\"ios\"},"
         "{\"type\":\"device\",\"value\":\"watch\"}]}]",
         "rules[0].conditions[1].value"},
        {"[{\"url\":\"https://x.example\",\"conditions\":[{\"type\":\"os\",\"value\":\"beos\"}]}]",
         "rules[0].conditions[0].value"},
        {"[{\"url\":\"https://x.example\",\"conditions\":[{\"type\":\"browser\",\"value\":\"netscape\"}]}]",
         "rules[0].conditions[0].value"},
        {"[{\"url\":\"https://x.example\",\"conditions\":[{\"type\":\"language\",\"value\":\"f\"}]}]",
         "rules[0].conditions[0].value"},
        {"[{\"url\":\"https://x.example\",\"conditions\":[{\"type\":\"language\",\"value\":\"*\"}]}]",
         "rules[0].conditions[0].value"},
        {"[{\"url\":\"https://x.example\",\"conditions\":[{\"type\":\"country\",\"value\":\"GBR\"}]}]",
         "rules[0].conditions[0].value"},
        {"[{\"url\":\"https://x.example\",\"conditions\":[{\"type\":\"query\",\"value\":\"x\"}]}]",
         "rules[0].conditions[0].name"},
        {"[{\"url\":\"https://x.example\",\"conditions\":[{\"type\":\"query\",\"name\":\"a\",\"value\":1}]}]",
         "rules[0].conditions[0].value"},
        {"[{\"url\":\"https://x.example\",\"conditions\":[{\"type\":\"os\",\"name\":\"a\",\"value\":\"ios\"}]}]",
         "rules[0].conditions[0].name"},
        {"[{\"url\":\"https://x.example\",\"conditions\":[{\"type\":\"before\",\"value\":\"tomorrow\"}]}]",
         "rules[0].conditions[0].value"},
        {"[{\"url\":\"https://x.example\",\"conditions\":[{\"type\":\"ip\",\"value\":\"10.0.0.0/33\"}]}]",
         "rules[0].conditions[0].value"},
        {"[{\"url\":\"https://x.example\",\"conditions\":[{\"type\":\"ip\",\"value\":\"10.0.0.1,10.0.0.2\"}]}]",
         "rules[0].conditions[0].value"},
        {"[{\"url\":\"https://x.example\",\"conditions\":[{\"type\":\"ip\",\"value\":\"1.2.3.4\",\"x\":1}]}]",
         "rules[0].conditions[0].x"},
        {"[{\"url\":\"https://x.example\",\"conditions\":[1,2,3,4,5,6,7,8,9]}]", "rules[0].conditions"},
    };
    for (size_t i = 0; i < N(rows); i++) {
        json_t *j = json_loads(rows[i].json, 0, NULL);
        cr_assert_not_null(j, "row %zu", i);
        uint8_t b[RULES_BLOB_MAX];
        size_t n;
        char path[RULES_PATH_MAX];
        const char *why = NULL;
        cr_assert_eq(rules_compile(j, &policy, b, &n, path, &why), -1, "row %zu accepted", i);
        cr_assert_str_eq(path, rows[i].path, "row %zu", i);
        cr_assert(why != NULL && why[0] != '\0');
        json_decref(j);
    }
    /* Caps: 33 rules; more than 4096 bytes. */
    json_t *many = json_array();
    for (int i = 0; i < 33; i++)
        json_array_append_new(many, json_pack("{s:s, s:[{s:s, s:s}]}", "url", "https://x.example/", "conditions",
                                              "type", "os", "value", "ios"));
    uint8_t b[RULES_BLOB_MAX];
    size_t n;
    char path[RULES_PATH_MAX];
    const char *why;
    cr_assert_eq(rules_compile(many, &policy, b, &n, path, &why), -1);
    cr_assert_str_eq(path, "rules");
    json_decref(many);
    char longurl[1100] = "https://x.example/";
    memset(longurl + strlen(longurl), 'a', 1000);
    longurl[1018] = '\0';
    json_t *big = json_array();
    for (int i = 0; i < 5; i++)
        json_array_append_new(
            big, json_pack("{s:s, s:[{s:s, s:s}]}", "url", longurl, "conditions", "type", "os", "value", "ios"));
    cr_assert_eq(rules_compile(big, &policy, b, &n, path, &why), -1);
    cr_assert_str_eq(path, "rules");
    json_decref(big);
}

Test(rules, json_round_trip_and_check)
{
    const char *src =
        "[{\"url\":\"https://a.example/x?y=1\",\"conditions\":[{\"type\":\"device\",\"value\":\"tablet\"},"
        "{\"type\":\"os\",\"value\":\"macos\"},{\"type\":\"browser\",\"value\":\"samsung\"},"
        "{\"type\":\"language\",\"value\":\"pt-br\"},{\"type\":\"country\",\"value\":\"SE\"},"
        "{\"type\":\"query\",\"name\":\"q\",\"value\":null},{\"type\":\"query\",\"name\":\"q\",\"value\":\"v w\"},"
        "{\"type\":\"before\",\"value\":\"2030-01-02T03:04:05.678Z\"}]},"
        "{\"url\":\"https://b.example/\",\"conditions\":[{\"type\":\"after\",\"value\":\"2020-01-01T00:00:00Z\"},"
        "{\"type\":\"ip\",\"value\":\"2001:db8::/48\"},{\"type\":\"ip\",\"value\":\"10.1.2.3/8\"}]}]";
    uint8_t b[RULES_BLOB_MAX], b2[RULES_BLOB_MAX];
    size_t n = compile(src, b);
    json_t *j = rules_json(b, n);
    char *text = json_dumps(j, JSON_COMPACT);
    size_t n2 = compile(text, b2);
    cr_assert(n == n2 && memcmp(b, b2, n) == 0, "round trip: %s", text);
    cr_assert(strstr(text, "\"10.0.0.0/8\"") != NULL, "%s", text);
    cr_assert(strstr(text, "\"2030-01-02T03:04:05.678Z\"") != NULL, "%s", text);
    free(text);
    json_decref(j);
    cr_assert_eq(rules_needs(b, n), RULES_NEED_UA | RULES_NEED_COUNTRY | RULES_NEED_IP);
    /* Every truncation and every single-byte change the checker can see is
     * refused or still evaluates within bounds (ASan watches). */
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(rules_check(b, i), -1, "prefix %zu accepted", i);
    struct rules_facts f = facts();
    for (size_t i = 0; i < n; i++) {
        uint8_t c[RULES_BLOB_MAX];
        memcpy(c, b, n);
        c[i] ^= 0xff;
        if (rules_check(c, n) == 0) {
            const char *u;
            size_t ul;
            if (rules_eval(c, n, &f, &u, &ul))
                cr_assert(u >= (const char *)c && u + ul <= (const char *)c + n);
        }
    }
    cr_assert_eq(rules_check((const uint8_t *)"\x02\x00", 2), -1); /* unknown version */
}

Test(rules, ua_families)
{
    static const struct {
        const char *ua;
        enum rules_os os;
        enum rules_browser br;
        enum ua_device dev;
    } rows[] = {
        {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
         "Version/17.4 Mobile/15E148 Safari/604.1",
         RULES_OS_IOS, RULES_BR_SAFARI, UA_DEVICE_MOBILE},
        {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
         "Safari/537.36 Edg/124.0.2478.80",
         RULES_OS_WINDOWS, RULES_BR_EDGE, UA_DEVICE_DESKTOP},
        {"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", RULES_OS_LINUX, RULES_BR_FIREFOX,
         UA_DEVICE_DESKTOP},
        {"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 "
         "Chrome/117.0.0.0 Mobile Safari/537.36",
         RULES_OS_ANDROID, RULES_BR_SAMSUNG, UA_DEVICE_MOBILE},
    };
    for (size_t i = 0; i < N(rows); i++) {
        struct ua_info ua;
        ua_parse(rows[i].ua, strlen(rows[i].ua), &ua);
        struct rules_facts f = facts();
        rules_facts_ua(&f, &ua);
        cr_assert_eq(f.os, rows[i].os, "row %zu os (%s)", i, ua.os);
        cr_assert_eq(f.browser, rows[i].br, "row %zu browser (%s)", i, ua.browser);
        cr_assert_eq(f.device, rows[i].dev, "row %zu device", i);
    }
}
