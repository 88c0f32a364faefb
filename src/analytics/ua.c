#include "analytics/ua.h"

#include <string.h>

static const char *find(const char *s, size_t n, const char *needle)
{
    return memmem(s, n, needle, strlen(needle));
}

/* Link-preview fetchers: they show the link to people, but are not people. */
static const char *const preview_tokens[] = {
    "slackbot", "slack-imgproxy", "twitterbot", "facebookexternalhit", "facebookcatalog", "whatsapp",
    "discordbot", "telegrambot", "linkedinbot", "skypeuripreview", "pinterest", "redditbot", "embedly",
    "iframely", "vkshare", "bingpreview", "snapchat", "mastodon", "bluesky", "google-pagerenderer",
    "outbrain", "quora link preview", "yahoo! slurp", "applebot", "viber", "line-poker", "kakaotalk-scrap",
};

/* Crawlers, monitors, tools and libraries. A weak token can also appear in a
 * real browser's user agent, so it counts only next to bot/spider/crawl. */
struct bot_token {
    const char *text; /* lower case */
    bool weak;
};
static const struct bot_token bot_tokens[] = {
    {"bot", false},
    {"crawl", false},
    {"spider", false},
    {"slurp", false},
    {"scrap", false},
    {"fetch", false},
    {"curl/", false},
    {"wget", false},
    {"python", false},
    {"go-http", false},
    {"okhttp", false},
    {"java/", false},
    {"libwww", false},
    {"httpclient", false},
    {"http-client", false},
    {"headless", false},
    {"phantomjs", false},
    {"axios/", false},
    {"node-fetch", false},
    {"undici", false},
    {"perl", false},
    {"ruby", false},
    {"php/", false},
    {"mediapartners", false},
    {"lighthouse", false},
    {"pingdom", false},
    {"uptime", false},
    {"monitor", false},
    {"scanner", false},
    {"check", true},
    {"archive", false},
    {"ahrefs", false},
    {"semrush", false},
    {"feed", true},
    {"rss", true},
    {"reader", true},
    {"validator", false},
    {"preview", false},
    {"http://", false},
    {"https://", false},
    {"www.", true},
    {".com", true},
    {"search", true},
    {"index", true},
    {"analyz", false},
    {"grabber", false},
    {"harvest", false},
    {"extract", false},
    {"sitemap", false},
    {"seo", false},
    {"proxy", true},
    {"+http", false},
    {"nutch", false},
    {"heritrix", false},
    {"teoma", false},
    {"ia_archiver", false},
    {"yandex", true},
    {"baidu", true},
    {"sogou", true},
    {"daum", true},
    {"naver", true},
    {"seznam", false},
    {"qwant", false},
    {"petalbot", false},
    {"bytespider", false},
    {"gptbot", false},
    {"claude", false},
    {"ccbot", false},
    {"anthropic", false},
    {"cohere", false},
    {"dataprovider", false},
    {"netcraft", false},
    {"zgrab", false},
    {"masscan", false},
    {"nmap", false},
    {"nikto", false},
    {"sqlmap", false},
    {"apache-httpclient", false},
    {"jakarta", false},
    {"dart:io", false},
    {"cfnetwork", true},
    {"postman", false},
    {"insomnia", false},
    {"powershell", false},
    {"winhttp", false},
    {"libcurl", false},
    {"aiohttp", false},
    {"httpx", false},
    {"requests", false},
    {"mechanize", false},
    {"scrapy", false},
    {"puppeteer", false},
    {"playwright", false},
    {"selenium", false},
    {"webdriver", false},
    {"cypress", false},
    {"electron", true},
    {"google-", true},
    {"adsbot", false},
    {"duckduck", false},
    {"qihoo", true},
    {"360spider", false},
    {"ezooms", false},
    {"linkdex", false},
    {"panscient", false},
    {"ips-agent", false},
    {"daumoa", false},
    {"mail.ru", true},
    {"sistrix", false},
    {"blexbot", false},
    {"megaindex", false},
    {"linkpad", false},
    {"siteimprove", false},
    {"w3c", false},
    {"ltx71", false},
    {"netresearch", false},
    {"mj12", false},
    {"dotbot", false},
    {"rogerbot", false},
    {"facebook", true},
    {"lipperhey", false},
    {"thumbor", false},
    {"wkhtmlto", false},
    {"screenshot", false},
    {"snapshot", false},
    {"capture", true},
    {"client/", true},
    {"agent", true},
    {"library", true},
    {"sdk", true},
    {"tool", true},
    {"test", true},
    {"probe", false},
};

/* Desktop and mobile browsers name themselves; most also say "Mozilla/5.0". */
static bool looks_like_browser(const char *s, size_t n)
{
    return (n >= 8 && memcmp(s, "Mozilla/", 8) == 0) || (n >= 6 && memcmp(s, "Opera/", 6) == 0);
}

/* lc: the user agent in lower case (n bytes). */
static bool is_bot(const char *s, const char *lc, size_t n, bool *preview)
{
    *preview = false;
    for (size_t i = 0; i < sizeof(preview_tokens) / sizeof(preview_tokens[0]); i++)
        if (find(lc, n, preview_tokens[i])) {
            *preview = true;
            return true;
        }
    if (n == 0 || !looks_like_browser(s, n))
        return true; /* tools and libraries rarely pretend to be Mozilla */
    bool strong_context = find(lc, n, "bot") || find(lc, n, "spider") || find(lc, n, "crawl");
    for (size_t i = 0; i < sizeof(bot_tokens) / sizeof(bot_tokens[0]); i++)
        if ((!bot_tokens[i].weak || strong_context) && find(lc, n, bot_tokens[i].text))
            return true;
    return false;
}

static int major_after(const char *s, size_t n, const char *token)
{
    const char *p = find(s, n, token);
    if (p == NULL)
        return -1;
    p += strlen(token);
    const char *end = s + n;
    if (p >= end || *p < '0' || *p > '9')
        return -1;
    int v = 0;
    while (p < end && *p >= '0' && *p <= '9' && v < 100000)
        v = v * 10 + (*p++ - '0');
    return v;
}

static void set(char *dst, size_t cap, const char *v)
{
    size_t n = strlen(v);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

struct family {
    const char *token;   /* found in the UA */
    const char *version; /* where the major version follows */
    const char *desktop; /* family name on desktops */
    const char *mobile;  /* family name on phones and tablets */
};

/* Most specific first: Edge and Opera also say Chrome; Chrome says Safari. */
static const struct family families[] = {
    {"EdgA/", "EdgA/", "Edge Mobile", "Edge Mobile"},
    {"EdgiOS/", "EdgiOS/", "Edge Mobile", "Edge Mobile"},
    {"Edg/", "Edg/", "Edge", "Edge"},
    {"Edge/", "Edge/", "Edge", "Edge Mobile"},
    {"OPR/", "OPR/", "Opera", "Opera Mobile"},
    {"OPT/", "OPT/", "Opera Touch", "Opera Touch"},
    {"Opera Mini/", "Opera Mini/", "Opera Mini", "Opera Mini"},
    {"SamsungBrowser/", "SamsungBrowser/", "Samsung Internet", "Samsung Internet"},
    {"YaBrowser/", "YaBrowser/", "Yandex Browser", "Yandex Browser"},
    {"UCBrowser/", "UCBrowser/", "UC Browser", "UC Browser"},
    {"Vivaldi/", "Vivaldi/", "Vivaldi", "Vivaldi"},
    {"Brave/", "Brave/", "Brave", "Brave"},
    {"MiuiBrowser/", "MiuiBrowser/", "MiuiBrowser", "MiuiBrowser"},
    {"HuaweiBrowser/", "HuaweiBrowser/", "HuaweiBrowser", "HuaweiBrowser"},
    {"DuckDuckGo/", "DuckDuckGo/", "DuckDuckGo Mobile", "DuckDuckGo Mobile"},
    {"CriOS/", "CriOS/", "Chrome Mobile iOS", "Chrome Mobile iOS"},
    {"FxiOS/", "FxiOS/", "Firefox iOS", "Firefox iOS"},
    {"Firefox/", "Firefox/", "Firefox", "Firefox Mobile"},
    {"Chrome/", "Chrome/", "Chrome", "Chrome Mobile"},
    {"Chromium/", "Chromium/", "Chromium", "Chromium"},
    {"Trident/", "rv:", "IE", "IE Mobile"},
    {"MSIE ", "MSIE ", "IE", "IE Mobile"},
    {"Opera/", "Version/", "Opera", "Opera Mobile"},
};

static void parse_os(const char *s, size_t n, struct ua_info *o)
{
    if (find(s, n, "Windows Phone"))
        set(o->os, sizeof(o->os), "Windows Phone");
    else if (find(s, n, "Windows"))
        set(o->os, sizeof(o->os), "Windows");
    else if (find(s, n, "iPhone") || find(s, n, "iPad") || find(s, n, "iPod"))
        set(o->os, sizeof(o->os), "iOS");
    else if (find(s, n, "Android"))
        set(o->os, sizeof(o->os), "Android");
    else if (find(s, n, "CrOS"))
        set(o->os, sizeof(o->os), "Chrome OS");
    else if (find(s, n, "Mac OS X") || find(s, n, "Macintosh"))
        set(o->os, sizeof(o->os), "Mac OS X");
    else if (find(s, n, "Ubuntu"))
        set(o->os, sizeof(o->os), "Ubuntu");
    else if (find(s, n, "Fedora"))
        set(o->os, sizeof(o->os), "Fedora");
    else if (find(s, n, "FreeBSD"))
        set(o->os, sizeof(o->os), "FreeBSD");
    else if (find(s, n, "Linux") || find(s, n, "X11"))
        set(o->os, sizeof(o->os), "Linux");
    else
        set(o->os, sizeof(o->os), "Other");
}

static void parse_browser(const char *s, size_t n, bool mobile, struct ua_info *o)
{
    bool ios = strcmp(o->os, "iOS") == 0;
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        const struct family *f = &families[i];
        if (!find(s, n, f->token))
            continue;
        /* Android's WebView says Chrome but is an app's view, not the browser. */
        if (strcmp(f->token, "Chrome/") == 0 && find(s, n, "; wv)")) {
            set(o->browser, sizeof(o->browser), "Chrome Mobile WebView");
        } else {
            set(o->browser, sizeof(o->browser), mobile ? f->mobile : f->desktop);
        }
        o->browser_major = major_after(s, n, f->version);
        return;
    }
    if (find(s, n, "Safari/") && find(s, n, "Version/")) {
        set(o->browser, sizeof(o->browser), ios ? "Mobile Safari" : "Safari");
        o->browser_major = major_after(s, n, "Version/");
    } else if (ios && find(s, n, "AppleWebKit/")) {
        set(o->browser, sizeof(o->browser), "Mobile Safari UI/WKWebView");
    } else {
        set(o->browser, sizeof(o->browser), "Other");
    }
}

void ua_parse(const char *ua, size_t len, struct ua_info *out)
{
    if (len > UA_MAX_LEN)
        len = UA_MAX_LEN;
    memset(out, 0, sizeof(*out));
    out->browser_major = -1;
    parse_os(ua, len, out);
    bool tablet = find(ua, len, "iPad") || find(ua, len, "Tablet") ||
                  (find(ua, len, "Android") && !find(ua, len, "Mobile"));
    bool mobile = !tablet && (find(ua, len, "Mobile") || find(ua, len, "iPhone") || find(ua, len, "iPod") ||
                              find(ua, len, "Android") || find(ua, len, "Opera Mini"));
    parse_browser(ua, len, mobile || tablet, out);
    char lc[UA_MAX_LEN];
    for (size_t i = 0; i < len; i++)
        lc[i] = (ua[i] >= 'A' && ua[i] <= 'Z') ? (char)(ua[i] + 32) : ua[i];
    out->bot = is_bot(ua, lc, len, &out->preview);
    out->device = out->bot ? UA_DEVICE_BOT : tablet ? UA_DEVICE_TABLET : mobile ? UA_DEVICE_MOBILE : UA_DEVICE_DESKTOP;
}

const char *ua_device_name(enum ua_device d)
{
    switch (d) {
    case UA_DEVICE_DESKTOP:
        return "desktop";
    case UA_DEVICE_MOBILE:
        return "mobile";
    case UA_DEVICE_TABLET:
        return "tablet";
    case UA_DEVICE_BOT:
        return "bot";
    default:
        return "unknown";
    }
}
