#include "analytics/ua.h"

#include <string.h>

/* Case-insensitive search for an ASCII needle (given in lower case). */
static const char *find_ci(const char *s, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    if (m == 0 || m > n)
        return NULL;
    for (size_t i = 0; i + m <= n; i++) {
        size_t k = 0;
        while (k < m) {
            char c = s[i + k];
            if (c >= 'A' && c <= 'Z')
                c = (char)(c + 32);
            if (c != needle[k])
                break;
            k++;
        }
        if (k == m)
            return s + i;
    }
    return NULL;
}

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

/* Crawlers, monitors, tools and libraries. Browsers never carry these. */
static const char *const bot_tokens[] = {
    "bot",       "crawl",        "spider",      "slurp",        "scrap",       "fetch",        "curl/",
    "wget",      "python",       "go-http",     "okhttp",       "java/",       "libwww",       "httpclient",
    "http-client", "headless",   "phantomjs",   "axios/",       "node-fetch",  "undici",       "perl",
    "ruby",      "php/",         "mediapartners", "lighthouse", "pingdom",     "uptime",       "monitor",
    "scanner",   "check",        "archive",     "ahrefs",       "semrush",     "feed",         "rss",
    "reader",    "validator",    "preview",     "http://",      "https://",    "www.",         ".com",
    "search",    "index",        "analyz",      "grabber",      "harvest",     "extract",      "sitemap",
    "seo",       "proxy",        "+http",       "nutch",        "heritrix",    "teoma",        "ia_archiver",
    "yandex",    "baidu",        "sogou",       "daum",         "naver",       "seznam",       "qwant",
    "petalbot",  "bytespider",   "gptbot",      "claude",       "ccbot",       "anthropic",    "cohere",
    "dataprovider", "netcraft",  "zgrab",       "masscan",      "nmap",        "nikto",        "sqlmap",
    "apache-httpclient", "jakarta", "dart:io",  "cfnetwork",    "postman",     "insomnia",     "powershell",
    "winhttp",   "libcurl",      "aiohttp",     "httpx",        "requests",    "mechanize",    "scrapy",
    "puppeteer", "playwright",   "selenium",    "webdriver",    "cypress",     "electron",     "google-",
    "adsbot",    "duckduck",     "qihoo",       "360spider",    "ezooms",      "linkdex",      "panscient",
    "ips-agent", "daumoa",       "mail.ru",     "sistrix",      "blexbot",     "megaindex",    "linkpad",
    "siteimprove", "w3c",        "ltx71",       "netresearch",  "mj12",        "dotbot",       "rogerbot",
    "facebook",  "lipperhey",    "thumbor",     "wkhtmlto",     "screenshot",  "snapshot",     "capture",
    "client/",   "agent",        "library",     "sdk",          "tool",        "test",         "probe",
};

/* Desktop and mobile browsers name themselves; most also say "Mozilla/5.0". */
static bool looks_like_browser(const char *s, size_t n)
{
    return (n >= 8 && memcmp(s, "Mozilla/", 8) == 0) || (n >= 6 && memcmp(s, "Opera/", 6) == 0);
}

static bool is_bot(const char *s, size_t n, bool *preview)
{
    *preview = false;
    for (size_t i = 0; i < sizeof(preview_tokens) / sizeof(preview_tokens[0]); i++)
        if (find_ci(s, n, preview_tokens[i])) {
            *preview = true;
            return true;
        }
    if (n == 0 || !looks_like_browser(s, n))
        return true; /* tools and libraries rarely pretend to be Mozilla */
    for (size_t i = 0; i < sizeof(bot_tokens) / sizeof(bot_tokens[0]); i++) {
        const char *t = bot_tokens[i];
        if (!find_ci(s, n, t))
            continue;
        /* Tokens that real browsers can contain in a harmless place. */
        if ((strcmp(t, "check") == 0 || strcmp(t, "reader") == 0 || strcmp(t, "agent") == 0 ||
             strcmp(t, "tool") == 0 || strcmp(t, "test") == 0 || strcmp(t, "index") == 0 ||
             strcmp(t, "sdk") == 0 || strcmp(t, "electron") == 0 || strcmp(t, "library") == 0 ||
             strcmp(t, "feed") == 0 || strcmp(t, "capture") == 0 || strcmp(t, "search") == 0 ||
             strcmp(t, "client/") == 0 || strcmp(t, "yandex") == 0 || strcmp(t, "naver") == 0 ||
             strcmp(t, "daum") == 0 || strcmp(t, "sogou") == 0 || strcmp(t, "baidu") == 0 ||
             strcmp(t, "qihoo") == 0 || strcmp(t, "facebook") == 0 || strcmp(t, "google-") == 0 ||
             strcmp(t, "mail.ru") == 0 || strcmp(t, "proxy") == 0 || strcmp(t, "www.") == 0 ||
             strcmp(t, ".com") == 0 || strcmp(t, "cfnetwork") == 0 || strcmp(t, "rss") == 0) &&
            !find_ci(s, n, "bot") && !find_ci(s, n, "spider") && !find_ci(s, n, "crawl"))
            continue;
        return true;
    }
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
    out->bot = is_bot(ua, len, &out->preview);
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
