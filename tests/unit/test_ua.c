/* The user-agent parser and bot detector, measured on the corpora in
 * ../shared/testdata/useragents (or $LINKPULSE_TESTDATA, either the
 * testdata directory or its useragents directory):
 *
 * - bot recall: every "instances" string of crawler-user-agents.json must
 *   be flagged; asserted >= 95%;
 * - "mainstream browsers": the uap-core test_ua.yaml cases whose expected
 *   family is in MAINSTREAM below: the browsers with a visible share of web
 *   traffic (Chrome, Safari, Edge, Firefox, Samsung Internet, Opera, UC
 *   Browser, Yandex, IE, Brave, Vivaldi), in each form uap-core names
 *   separately (desktop, Android, iOS, WebView, Mini). Asserted: at most 1%
 *   of them flagged as bots, at least 95% with the same family (the major
 *   version is printed and held to 90%);
 * - "main OS families": the test_os.yaml cases whose expected family is in
 *   MAIN_OS; asserted >= 95% with the same family.
 *
 * The figures are printed to stderr ("ua corpus: ...") for docs to quote.
 * Then a table of hand-picked cases: each link-preview fetcher, tools,
 * phones against tablets, desktop browsers and their versions. */
#include "analytics/ua.h"
#include "analytics/ua_scan.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const MAINSTREAM[] = {
    "Chrome",         "Chrome Mobile", "Chrome Mobile iOS", "Chrome Mobile WebView", "Firefox",          "Firefox Mobile",
    "Firefox iOS",    "Safari",        "Mobile Safari",     "Edge",                  "Edge Mobile",      "Opera",
    "Opera Mobile",   "Opera Mini",    "Samsung Internet",  "IE",                    "IE Mobile",        "Yandex Browser",
    "UC Browser",     "Brave",         "Vivaldi",
};
static const char *const MAIN_OS[] = {"Windows", "Mac OS X", "iOS", "Android", "Linux", "Chrome OS"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static bool in(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

static FILE *open_data(const char *name)
{
    char path[1024];
    const char *base = getenv("LINKPULSE_TESTDATA");
    if (base && *base) {
        snprintf(path, sizeof(path), "%s/useragents/%s", base, name);
        FILE *f = fopen(path, "r");
        if (f == NULL) {
            snprintf(path, sizeof(path), "%s/%s", base, name);
            f = fopen(path, "r");
        }
        cr_assert_not_null(f, "LINKPULSE_TESTDATA=%s: cannot open %s", base, name);
        return f;
    }
    snprintf(path, sizeof(path), "../shared/testdata/useragents/%s", name);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "cannot open %s (run from the repository root or set LINKPULSE_TESTDATA)", path);
    return f;
}

/* ---- a line-based reader for uap-core's test files -------------------- */

/* The scalar after "key:" on this line, unquoted: 'single' ('' is a quote),
 * "double" (backslash escapes), or plain (to the end of the line, trimmed).
 * False when the line holds another key. */
static bool yaml_value(const char *line, const char *key, char *out, size_t cap)
{
    const char *p = line;
    while (*p == ' ')
        p++;
    if (*p == '-' && p[1] == ' ')
        p += 2; /* "  - user_agent_string: ..." opens a case */
    size_t kl = strlen(key);
    if (strncmp(p, key, kl) != 0 || p[kl] != ':')
        return false;
    p += kl + 1;
    while (*p == ' ')
        p++;
    size_t o = 0;
    if (*p == '\'' || *p == '"') {
        char q = *p++;
        for (; *p && *p != '\n' && o + 1 < cap; p++) {
            if (q == '\'' && *p == '\'') {
                if (p[1] != '\'')
                    break;
                p++;
            } else if (q == '"' && *p == '"') {
                break;
            } else if (q == '"' && *p == '\\' && p[1]) {
                p++;
            }
            out[o++] = *p;
        }
    } else {
        for (; *p && *p != '\n' && *p != '\r' && o + 1 < cap; p++)
            out[o++] = *p;
        while (o > 0 && out[o - 1] == ' ')
            o--;
    }
    out[o] = '\0';
    return true;
}

struct yaml_case {
    char ua[2048];
    char family[64];
    char major[32];
};

/* Calls fn for every case of a uap-core file once its fields are read. */
static int each_case(const char *file, void (*fn)(const struct yaml_case *c, void *ctx), void *ctx)
{
    FILE *f = open_data(file);
    static char line[8192], ua[sizeof(((struct yaml_case *)0)->ua)];
    static struct yaml_case c;
    bool open = false;
    int cases = 0;
    while (fgets(line, sizeof(line), f)) {
        if (yaml_value(line, "user_agent_string", ua, sizeof(ua))) {
            if (open) {
                fn(&c, ctx);
                cases++;
            }
            open = true;
            memcpy(c.ua, ua, sizeof(c.ua));
            c.family[0] = c.major[0] = '\0';
        } else if (open) {
            yaml_value(line, "family", c.family, sizeof(c.family));
            yaml_value(line, "major", c.major, sizeof(c.major));
        }
    }
    if (open) {
        fn(&c, ctx);
        cases++;
    }
    fclose(f);
    return cases;
}

struct stats {
    int cases, bots, family_ok, major_ok;
};

static void browser_case(const struct yaml_case *c, void *ctx)
{
    struct stats *s = ctx;
    if (!in(c->family, MAINSTREAM, COUNT(MAINSTREAM)))
        return;
    struct ua_info u;
    ua_parse(c->ua, strlen(c->ua), &u);
    int major = c->major[0] ? atoi(c->major) : -1;
    s->cases++;
    s->bots += u.bot;
    s->family_ok += strcmp(u.browser, c->family) == 0;
    s->major_ok += u.browser_major == major;
    if (u.bot || strcmp(u.browser, c->family) != 0)
        fprintf(stderr, "ua mainstream miss: expected %s, got %s%s: %s\n", c->family, u.browser,
                u.bot ? " (bot)" : "", c->ua);
}

static void os_case(const struct yaml_case *c, void *ctx)
{
    struct stats *s = ctx;
    if (!in(c->family, MAIN_OS, COUNT(MAIN_OS)))
        return;
    struct ua_info u;
    ua_parse(c->ua, strlen(c->ua), &u);
    s->cases++;
    s->family_ok += strcmp(u.os, c->family) == 0;
    if (strcmp(u.os, c->family) != 0)
        fprintf(stderr, "ua main OS: expected %s got %s: %s\n", c->family, u.os, c->ua);
}

static double pct(int a, int b)
{
    return b ? 100.0 * a / b : 0.0;
}

Test(ua, corpus_figures)
{
    json_error_t err;
    FILE *f = open_data("crawler-user-agents.json");
    json_t *crawlers = json_loadf(f, 0, &err);
    fclose(f);
    cr_assert_not_null(crawlers, "crawler-user-agents.json: %s", err.text);
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

    struct stats b = {0}, os = {0};
    int ua_cases = each_case("uap_test_ua.yaml", browser_case, &b);
    int os_cases = each_case("uap_test_os.yaml", os_case, &os);
    fprintf(stderr,
            "ua corpus: crawler instances flagged %d/%d (%.2f%%); mainstream browsers flagged as bots %d/%d "
            "(%.2f%%); mainstream browser family agrees %d/%d (%.2f%%), major %d/%d (%.2f%%); main OS family "
            "agrees %d/%d (%.2f%%)\n",
            flagged, instances, pct(flagged, instances), b.bots, b.cases, pct(b.bots, b.cases), b.family_ok, b.cases,
            pct(b.family_ok, b.cases), b.major_ok, b.cases, pct(b.major_ok, b.cases), os.family_ok, os.cases,
            pct(os.family_ok, os.cases));

    /* the corpora were read whole (README: 1,601 browser cases, 2,116 instances) */
    cr_assert_eq(ua_cases, 1601);
    cr_assert_eq(instances, 2116);
    cr_assert_gt(os_cases, 400);
    cr_assert_gt(b.cases, 100);
    cr_assert_gt(os.cases, 300);

    cr_expect_geq(pct(flagged, instances), 95.0, "crawler recall %.2f%%", pct(flagged, instances));
    cr_expect_leq(pct(b.bots, b.cases), 1.0, "mainstream false bots %.2f%%", pct(b.bots, b.cases));
    cr_expect_geq(pct(b.family_ok, b.cases), 95.0, "mainstream family %.2f%%", pct(b.family_ok, b.cases));
    cr_expect_geq(pct(b.major_ok, b.cases), 90.0, "mainstream major %.2f%%", pct(b.major_ok, b.cases));
    cr_expect_geq(pct(os.family_ok, os.cases), 95.0, "main OS family %.2f%%", pct(os.family_ok, os.cases));
}

/* ---- hand-picked cases ------------------------------------------------ */

#define ANY_MAJOR (-2)

static const struct {
    const char *ua, *browser, *os; /* NULL: not checked */
    int major;                     /* ANY_MAJOR: not checked */
    enum ua_device device;
    bool bot, preview;
} cases[] = {
    /* desktop browsers */
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
     "Safari/537.36",
     "Chrome", "Windows", 120, UA_DEVICE_DESKTOP, false, false},
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
     "Safari/537.36 Edg/120.0.2210.61",
     "Edge", "Windows", 120, UA_DEVICE_DESKTOP, false, false},
    {"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox", "Linux", 121,
     UA_DEVICE_DESKTOP, false, false},
    {"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0", "Firefox", "Ubuntu", 115,
     UA_DEVICE_DESKTOP, false, false},
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 "
     "Safari/605.1.15",
     "Safari", "Mac OS X", 17, UA_DEVICE_DESKTOP, false, false},
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
     "Safari/537.36 OPR/105.0.0.0",
     "Opera", "Mac OS X", 105, UA_DEVICE_DESKTOP, false, false},
    {"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
     "Safari/537.36",
     "Chrome", "Chrome OS", 120, UA_DEVICE_DESKTOP, false, false},
    {"Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko", "IE", "Windows", 11, UA_DEVICE_DESKTOP,
     false, false},
    /* phones against tablets */
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.1 Mobile/15E148 Safari/604.1",
     "Mobile Safari", "iOS", 17, UA_DEVICE_MOBILE, false, false},
    {"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 "
     "Mobile/15E148 Safari/604.1",
     "Mobile Safari", "iOS", 16, UA_DEVICE_TABLET, false, false},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "CriOS/120.0.6099.101 Mobile/15E148 Safari/604.1",
     "Chrome Mobile iOS", "iOS", 120, UA_DEVICE_MOBILE, false, false},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "FxiOS/120.0 Mobile/15E148 Safari/605.1.15",
     "Firefox iOS", "iOS", 120, UA_DEVICE_MOBILE, false, false},
    {"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.43 "
     "Mobile Safari/537.36",
     "Chrome Mobile", "Android", 120, UA_DEVICE_MOBILE, false, false},
    {"Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 "
     "Safari/537.36",
     "Chrome", "Android", 119, UA_DEVICE_TABLET, false, false},
    {"Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
     "SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
     "Samsung Internet", "Android", 23, UA_DEVICE_MOBILE, false, false},
    {"Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0", "Firefox Mobile", "Android", 121,
     UA_DEVICE_MOBILE, false, false},
    {"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile "
     "Safari/537.36 EdgA/120.0.0.0",
     "Edge Mobile", "Android", 120, UA_DEVICE_MOBILE, false, false},
    {"Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230805.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Version/4.0 Chrome/116.0.5845.163 Mobile Safari/537.36",
     "Chrome Mobile WebView", "Android", 116, UA_DEVICE_MOBILE, false, false},
    /* in-app browsers are people */
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Mobile/15E148 Instagram 309.0.0.28.111 (iPhone14,5; iOS 17_1; en_US; en; scale=3.00; 1170x2532; 536988435)",
     "Instagram", "iOS", 309, UA_DEVICE_MOBILE, false, false},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Mobile/15E148 [FBAN/FBIOS;FBAV/440.0.0.31.105;FBBV/537021735;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS]",
     "Facebook", "iOS", 440, UA_DEVICE_MOBILE, false, false},
    /* link-preview fetchers */
    {"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", NULL, NULL, ANY_MAJOR, UA_DEVICE_BOT, true, true},
    {"Slack-ImgProxy (+https://api.slack.com/robots)", NULL, NULL, ANY_MAJOR, UA_DEVICE_BOT, true, true},
    {"Twitterbot/1.0", NULL, NULL, ANY_MAJOR, UA_DEVICE_BOT, true, true},
    {"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", NULL, NULL, ANY_MAJOR,
     UA_DEVICE_BOT, true, true},
    {"WhatsApp/2.23.20.0 A", NULL, NULL, ANY_MAJOR, UA_DEVICE_BOT, true, true},
    {"Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", NULL, NULL, ANY_MAJOR, UA_DEVICE_BOT, true,
     true},
    {"TelegramBot (like TwitterBot)", NULL, NULL, ANY_MAJOR, UA_DEVICE_BOT, true, true},
    {"LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)", NULL, NULL, ANY_MAJOR,
     UA_DEVICE_BOT, true, true},
    {"Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5 skype-url-preview@microsoft.com", NULL, NULL,
     ANY_MAJOR, UA_DEVICE_BOT, true, true},
    {"Mozilla/5.0 (compatible; redditbot/1.0; +http://www.reddit.com/feedback)", NULL, NULL, ANY_MAJOR,
     UA_DEVICE_BOT, true, true},
    {"Mastodon/4.2.1 (http.rb/5.1.1; +https://mastodon.social/) Bot", NULL, NULL, ANY_MAJOR, UA_DEVICE_BOT, true,
     true},
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 "
     "Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0",
     NULL, NULL, ANY_MAJOR, UA_DEVICE_BOT, true, true}, /* iMessage */
    /* crawlers and tools */
    {"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", NULL, NULL, ANY_MAJOR,
     UA_DEVICE_BOT, true, false},
    {"Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.6099.71 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
     "Chrome Mobile", "Android", 120, UA_DEVICE_BOT, true, false},
    {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 "
     "Safari/537.36",
     NULL, "Linux", ANY_MAJOR, UA_DEVICE_BOT, true, false},
    {"curl/8.4.0", "Other", "Other", -1, UA_DEVICE_BOT, true, false},
    {"Wget/1.21.4", NULL, NULL, ANY_MAJOR, UA_DEVICE_BOT, true, false},
    {"python-requests/2.31.0", NULL, NULL, ANY_MAJOR, UA_DEVICE_BOT, true, false},
    {"Go-http-client/1.1", NULL, NULL, ANY_MAJOR, UA_DEVICE_BOT, true, false},
    {"okhttp/4.12.0", NULL, NULL, ANY_MAJOR, UA_DEVICE_BOT, true, false},
    {"axios/1.6.2", NULL, NULL, ANY_MAJOR, UA_DEVICE_BOT, true, false},
    {"Java/17.0.2", NULL, NULL, ANY_MAJOR, UA_DEVICE_BOT, true, false},
    {"PostmanRuntime/7.36.0", NULL, NULL, ANY_MAJOR, UA_DEVICE_BOT, true, false},
    {"", "Other", "Other", -1, UA_DEVICE_BOT, true, false},
    {"-", "Other", "Other", -1, UA_DEVICE_BOT, true, false},
};

Test(ua, table)
{
    for (size_t i = 0; i < COUNT(cases); i++) {
        struct ua_info u;
        ua_parse(cases[i].ua, strlen(cases[i].ua), &u);
        const char *ua = cases[i].ua;
        cr_expect_eq(u.bot, cases[i].bot, "bot: %s", ua);
        cr_expect_eq(u.preview, cases[i].preview, "preview: %s", ua);
        cr_expect_eq(u.device, cases[i].device, "device %s: %s", ua_device_name(u.device), ua);
        if (cases[i].browser)
            cr_expect_str_eq(u.browser, cases[i].browser, "browser: %s", ua);
        if (cases[i].os)
            cr_expect_str_eq(u.os, cases[i].os, "os: %s", ua);
        if (cases[i].major != ANY_MAJOR)
            cr_expect_eq(u.browser_major, cases[i].major, "major %d: %s", u.browser_major, ua);
    }
}

Test(ua, device_names)
{
    cr_expect_str_eq(ua_device_name(UA_DEVICE_DESKTOP), "desktop");
    cr_expect_str_eq(ua_device_name(UA_DEVICE_MOBILE), "mobile");
    cr_expect_str_eq(ua_device_name(UA_DEVICE_TABLET), "tablet");
    cr_expect_str_eq(ua_device_name(UA_DEVICE_BOT), "bot");
    cr_expect_str_eq(ua_device_name(UA_DEVICE_UNKNOWN), "unknown");
    cr_expect_str_eq(ua_device_name((enum ua_device)42), "unknown");
}

Test(ua, tables_sorted)
{
    cr_assert_eq(ua_scan_selfcheck(), 0, "a word table in ua_scan.c is out of order");
}

Test(ua, null_and_unterminated_input)
{
    struct ua_info u;
    ua_parse(NULL, 0, &u);
    cr_expect(u.bot);
    cr_expect_str_eq(u.browser, "Other");
    cr_expect_str_eq(u.os, "Other");

    /* only len bytes are read: "curl" past the end does not count */
    static const char buf[] = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0curl/8.4.0";
    ua_parse(buf, strlen(buf) - strlen("curl/8.4.0"), &u);
    cr_expect(!u.bot);
    cr_expect_str_eq(u.browser, "Firefox");
    cr_expect_eq(u.browser_major, 121);
}

Test(ua, capped_at_max_len)
{
    /* a browser UA padded past UA_MAX_LEN with a bot token at the end: the
     * token is never seen, the browser still is */
    static char big[4096];
    const char *head = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                       "Chrome/120.0.0.0 Safari/537.36 ";
    size_t hl = strlen(head);
    memcpy(big, head, hl);
    memset(big + hl, ' ', sizeof(big) - hl);
    memcpy(big + sizeof(big) - 10, "Googlebot", 9);
    struct ua_info u;
    ua_parse(big, sizeof(big), &u);
    cr_expect(!u.bot);
    cr_expect_str_eq(u.browser, "Chrome");
    cr_expect_eq(u.browser_major, 120);

    /* the same token inside the cap is seen */
    memcpy(big + UA_MAX_LEN - 10, "Googlebot", 9);
    ua_parse(big, sizeof(big), &u);
    cr_expect(u.bot);

    /* long words and runs of digits stay in bounds */
    memset(big, 'a', sizeof(big));
    ua_parse(big, sizeof(big), &u);
    cr_expect(strlen(u.browser) < sizeof(u.browser) && strlen(u.os) < sizeof(u.os));
    memcpy(big, "Chrome/", 7);
    memset(big + 7, '9', sizeof(big) - 7);
    ua_parse(big, sizeof(big), &u);
    cr_expect_geq(u.browser_major, -1);
}
