/* The word scanner: one pass over the user agent, one table lookup per
 * word. The table below is sorted by word (ua_scan_selfcheck checks it, the
 * unit test calls that); a word can name a feature, a class, or both. */
#include "analytics/ua_scan.h"

#include "analytics/ua.h"

#include <stdlib.h>
#include <string.h>

#define WORD_MAX 32 /* longer words are only checked for bot roots */

struct word {
    const char *w;
    uint8_t feat; /* enum ua_feat */
    uint8_t cls;  /* enum ua_cls */
};

/* Sorted by w (strcmp). Browser and OS words first came from the uap-core
 * corpus; the automation words from watching what crawlers, monitors and
 * HTTP libraries send. A word's class applies wherever it appears. */
static const struct word words[] = {
    {"adr", F_ADR, C_NONE},
    {"ahc", F_NONE, C_TOOL},
    {"aiohttp", F_NONE, C_TOOL},
    {"alohabrowser", F_ALOHA, C_NONE},
    {"android", F_ANDROID, C_NONE},
    {"anthropic", F_NONE, C_BOT},
    {"appinsights", F_NONE, C_BOT},
    {"applewebkit", F_APPLEWEBKIT, C_NONE},
    {"arm", F_ARM, C_NONE},
    {"avast", F_AVAST, C_NONE},
    {"avastsecurebrowser", F_AVAST, C_NONE},
    {"axios", F_NONE, C_TOOL},
    {"bada", F_BADA, C_NONE},
    {"baidubrowser", F_BAIDUBROWSER, C_NONE},
    {"bb", F_BB, C_NONE},
    {"biglotron", F_NONE, C_BOT},
    {"binlar", F_NONE, C_BOT},
    {"blackberry", F_BLACKBERRY, C_NONE},
    {"bluesky", F_NONE, C_PREVIEW},
    {"brave", F_BRAVE, C_NONE},
    {"cardyb", F_NONE, C_PREVIEW},
    {"censys", F_NONE, C_BOT},
    {"cfnetwork", F_CFNETWORK, C_NONE},
    {"chrome", F_CHROME, C_NONE},
    {"chromium", F_CHROMIUM, C_NONE},
    {"cldc", F_CLDC, C_NONE},
    {"collapsify", F_NONE, C_BOT},
    {"compatible", F_COMPATIBLE, C_NONE},
    {"contenttabreceiver", F_NONE, C_PREVIEW},
    {"crios", F_CRIOS, C_NONE},
    {"crmo", F_CRMO, C_NONE},
    {"cros", F_CROS, C_NONE},
    {"cubot", F_NONE, C_NONE},
    {"curl", F_NONE, C_TOOL},
    {"dalvik", F_DALVIK, C_NONE},
    {"dareboost", F_NONE, C_BOT},
    {"darwin", F_DARWIN, C_NONE},
    {"datanyze", F_NONE, C_BOT},
    {"ddg", F_DDG, C_NONE},
    {"debian", F_DEBIAN, C_NONE},
    {"discordbot", F_NONE, C_PREVIEW},
    {"duckduckgo", F_DUCKDUCKGO, C_NONE},
    {"edg", F_EDG, C_NONE},
    {"edga", F_EDGA, C_NONE},
    {"edge", F_EDGE, C_NONE},
    {"edgios", F_EDGIOS, C_NONE},
    {"electron", F_ELECTRON, C_NONE},
    {"embedly", F_NONE, C_PREVIEW},
    {"epiphany", F_EPIPHANY, C_NONE},
    {"facebookexternalhit", F_NONE, C_PREVIEW},
    {"favicon", F_NONE, C_BOT},
    {"fban", F_FBAN, C_NONE},
    {"fbav", F_FBAV, C_NONE},
    {"fedora", F_FEDORA, C_NONE},
    {"fennec", F_FENNEC, C_NONE},
    {"firefox", F_FIREFOX, C_NONE},
    {"flipboardproxy", F_NONE, C_PREVIEW},
    {"foregenix", F_NONE, C_BOT},
    {"freebsd", F_FREEBSD, C_NONE},
    {"fxios", F_FXIOS, C_NONE},
    {"gecko", F_GECKO, C_NONE},
    {"google", F_NONE, C_TOOL},
    {"gsa", F_GSA, C_NONE},
    {"gtmetrix", F_NONE, C_BOT},
    {"guzzlehttp", F_NONE, C_TOOL},
    {"hardenize", F_NONE, C_BOT},
    {"heritrix", F_NONE, C_BOT},
    {"honorbrowser", F_HONOR, C_NONE},
    {"hotjar", F_NONE, C_BOT},
    {"httpclient", F_NONE, C_TOOL},
    {"httpie", F_NONE, C_TOOL},
    {"httrack", F_NONE, C_BOT},
    {"huaweibrowser", F_HUAWEIBROWSER, C_NONE},
    {"iceweasel", F_ICEWEASEL, C_NONE},
    {"iemobile", F_IEMOBILE, C_NONE},
    {"iframely", F_NONE, C_PREVIEW},
    {"imgproxy", F_NONE, C_PREVIEW},
    {"inspectiontool", F_NONE, C_BOT},
    {"instagram", F_INSTAGRAM, C_NONE},
    {"ios", F_IOS, C_NONE},
    {"ipad", F_IPAD, C_NONE},
    {"ipd", F_IPH, C_NONE},
    {"iph", F_IPH, C_NONE},
    {"iphone", F_IPHONE, C_NONE},
    {"ipod", F_IPOD, C_NONE},
    {"java", F_NONE, C_TOOL},
    {"juc", F_JUC, C_NONE},
    {"kaios", F_KAIOS, C_NONE},
    {"kakaotalk", F_KAKAOTALK, C_NONE},
    {"kindle", F_KINDLE, C_NONE},
    {"konqueror", F_KONQUEROR, C_NONE},
    {"larbin", F_NONE, C_BOT},
    {"libcurl", F_NONE, C_TOOL},
    {"libwww", F_NONE, C_TOOL},
    {"lighthouse", F_NONE, C_BOT},
    {"line", F_LINE, C_NONE},
    {"linkedinbot", F_NONE, C_PREVIEW},
    {"linkexpander", F_NONE, C_PREVIEW},
    {"linktiger", F_NONE, C_BOT},
    {"linux", F_LINUX, C_NONE},
    {"mac", F_MAC, C_NONE},
    {"macintosh", F_MACINTOSH, C_NONE},
    {"macos", F_MAC_OS, C_NONE},
    {"marketgoo", F_NONE, C_BOT},
    {"masscan", F_NONE, C_BOT},
    {"mastodon", F_NONE, C_PREVIEW},
    {"mattermost", F_NONE, C_PREVIEW},
    {"maxthon", F_MAXTHON, C_NONE},
    {"mechanize", F_NONE, C_TOOL},
    {"mediapartners", F_NONE, C_BOT},
    {"micromessenger", F_MICROMESSENGER, C_NONE},
    {"midori", F_MIDORI, C_NONE},
    {"midp", F_MIDP, C_NONE},
    {"miuibrowser", F_MIUIBROWSER, C_NONE},
    {"mobi", F_MOBI, C_NONE},
    {"mobile", F_MOBILE, C_NONE},
    {"mozilla", F_MOZILLA, C_NONE},
    {"mqqbrowser", F_MQQBROWSER, C_NONE},
    {"msie", F_MSIE, C_NONE},
    {"netbsd", F_NETBSD, C_NONE},
    {"netfront", F_NETFRONT, C_NONE},
    {"newsnow", F_NONE, C_BOT},
    {"nikto", F_NONE, C_BOT},
    {"nintendo", F_NINTENDO, C_NONE},
    {"nmap", F_NONE, C_BOT},
    {"nokia", F_NOKIA, C_NONE},
    {"nutch", F_NONE, C_BOT},
    {"nuzzel", F_NONE, C_PREVIEW},
    {"oculusbrowser", F_OCULUS, C_NONE},
    {"okhttp", F_NONE, C_TOOL},
    {"onebox", F_NONE, C_PREVIEW},
    {"openbsd", F_OPENBSD, C_NONE},
    {"openvas", F_NONE, C_BOT},
    {"opera", F_OPERA, C_NONE},
    {"opios", F_OPIOS, C_NONE},
    {"opr", F_OPR, C_NONE},
    {"opt", F_OPT, C_NONE},
    {"pagerenderer", F_NONE, C_PREVIEW},
    {"palemoon", F_PALEMOON, C_NONE},
    {"perl", F_NONE, C_TOOL},
    {"phantomjs", F_NONE, C_BOT},
    {"php", F_NONE, C_TOOL},
    {"pingdomtms", F_NONE, C_BOT},
    {"pinterest", F_PINTEREST, C_NONE},
    {"playstation", F_PLAYSTATION, C_NONE},
    {"playwright", F_NONE, C_BOT},
    {"postmanruntime", F_NONE, C_TOOL},
    {"powershell", F_NONE, C_TOOL},
    {"presto", F_PRESTO, C_NONE},
    {"ptst", F_NONE, C_BOT},
    {"puffin", F_PUFFIN, C_NONE},
    {"puppeteer", F_NONE, C_BOT},
    {"python", F_NONE, C_TOOL},
    {"qqbrowser", F_QQBROWSER, C_NONE},
    {"quest", F_QUEST, C_NONE},
    {"redditbot", F_NONE, C_PREVIEW},
    {"restsharp", F_NONE, C_TOOL},
    {"rigor", F_NONE, C_BOT},
    {"ruby", F_NONE, C_TOOL},
    {"safari", F_SAFARI, C_NONE},
    {"samsungbrowser", F_SAMSUNGBROWSER, C_NONE},
    {"seamonkey", F_SEAMONKEY, C_NONE},
    {"securityheaders", F_NONE, C_BOT},
    {"selenium", F_NONE, C_BOT},
    {"series", F_SERIES, C_NONE},
    {"silk", F_SILK, C_NONE},
    {"silktide", F_NONE, C_BOT},
    {"sindup", F_NONE, C_BOT},
    {"slackbot", F_NONE, C_PREVIEW},
    {"sleipnir", F_SLEIPNIR, C_NONE},
    {"slurp", F_NONE, C_BOT},
    {"smarttv", F_SMARTTV, C_NONE},
    {"snapchat", F_SNAPCHAT, C_NONE},
    {"sqlmap", F_NONE, C_BOT},
    {"sunos", F_SUNOS, C_NONE},
    {"symbian", F_SYMBIAN, C_NONE},
    {"symbianos", F_SYMBIAN, C_NONE},
    {"symbos", F_SYMBIAN, C_NONE},
    {"tablet", F_TABLET, C_NONE},
    {"telegrambot", F_NONE, C_PREVIEW},
    {"testlocally", F_NONE, C_BOT},
    {"thunderbird", F_THUNDERBIRD, C_NONE},
    {"tizen", F_TIZEN, C_NONE},
    {"touch", F_TOUCH, C_NONE},
    {"trident", F_TRIDENT, C_NONE},
    {"tumblr", F_NONE, C_PREVIEW},
    {"tvos", F_TVOS, C_NONE},
    {"twitterbot", F_NONE, C_PREVIEW},
    {"ubrowser", F_UBROWSER, C_NONE},
    {"ubuntu", F_UBUNTU, C_NONE},
    {"uc", F_UC, C_NONE},
    {"ucbrowser", F_UCBROWSER, C_NONE},
    {"ucmobile", F_UCMOBILE, C_NONE},
    {"ucweb", F_UCWEB, C_NONE},
    {"undici", F_NONE, C_TOOL},
    {"urllib", F_NONE, C_TOOL},
    {"version", F_VERSION, C_NONE},
    {"vivaldi", F_VIVALDI, C_NONE},
    {"vkshare", F_NONE, C_PREVIEW},
    {"watchos", F_WATCHOS, C_NONE},
    {"watchtowr", F_NONE, C_BOT},
    {"waterfox", F_WATERFOX, C_NONE},
    {"wds", F_WINDOWS_PHONE, C_NONE},
    {"webdriver", F_NONE, C_BOT},
    {"webos", F_WEBOS, C_NONE},
    {"wget", F_NONE, C_TOOL},
    {"whale", F_WHALE, C_NONE},
    {"whatsapp", F_NONE, C_PREVIEW},
    {"win", F_WIN, C_NONE},
    {"windows", F_WINDOWS, C_NONE},
    {"windowsce", F_WINDOWS_CE, C_NONE},
    {"winhttp", F_NONE, C_TOOL},
    {"winnt", F_WIN, C_NONE},
    {"wv", F_WV, C_NONE},
    {"xblwp", F_WINDOWS_PHONE, C_NONE},
    {"xbox", F_XBOX, C_NONE},
    {"yabrowser", F_YABROWSER, C_NONE},
    {"yasearchbrowser", F_YASEARCHBROWSER, C_NONE},
    {"zgrab", F_NONE, C_BOT},
    {"zulip", F_NONE, C_PREVIEW},
    {"zunewp", F_WINDOWS_PHONE, C_NONE},
};

#define NWORDS (sizeof(words) / sizeof(words[0]))

/* Roots that mark automation inside a word the table does not know
 * ("Googlebot", "BaiduSpider", "ia_archiver"). ROOT_FIRST has a bit for
 * each root's first letter, so most letters are passed over at once. */
#define R(r, c) {r, sizeof(r) - 1, c}
static const struct {
    const char *root;
    uint8_t len;
    uint8_t cls;
} roots[] = {
    R("agent", C_BOT),    R("analyz", C_BOT),   R("archiv", C_BOT),    R("checker", C_BOT), R("crawl", C_BOT),
    R("feed", C_TOOL),    R("fetch", C_BOT),    R("harvest", C_BOT),   R("headless", C_BOT), R("http", C_TOOL),
    R("indexer", C_BOT),  R("inspect", C_BOT),  R("linkcheck", C_BOT), R("monitor", C_BOT), R("preview", C_PREVIEW),
    R("scan", C_BOT),     R("scrap", C_BOT),    R("spider", C_BOT),    R("sucker", C_BOT),  R("synthetic", C_BOT),
    R("uptime", C_BOT),   R("validator", C_BOT),
};

#define L(c) (1u << ((c) - 'a'))
#define ROOT_FIRST (L('a') | L('c') | L('f') | L('h') | L('i') | L('l') | L('m') | L('p') | L('s') | L('u') | L('v'))

/* w: lower-case letters. The class of the strongest root in w. */
static uint8_t root_class(const char *w, size_t len)
{
    /* "...bot" and "...bots" but not "bottle" or "Botswana" */
    if ((len >= 3 && memcmp(w + len - 3, "bot", 3) == 0) || (len >= 4 && memcmp(w + len - 4, "bots", 4) == 0))
        return C_BOT;
    uint8_t cls = C_NONE;
    for (size_t k = 0; k < len; k++) {
        if (!(ROOT_FIRST & L(w[k])))
            continue;
        for (size_t r = 0; r < sizeof(roots) / sizeof(roots[0]); r++) {
            size_t rl = roots[r].len;
            if (roots[r].root[0] != w[k] || len - k < rl || memcmp(w + k, roots[r].root, rl) != 0)
                continue;
            if (roots[r].cls == C_PREVIEW && !(k >= 9 && memcmp(w + k - 9, "developer", 9) == 0))
                return C_PREVIEW; /* "MozillaDeveloperPreview" is Firefox */
            if (roots[r].cls == C_BOT)
                cls = C_BOT;
            else if (roots[r].cls == C_TOOL && cls == C_NONE)
                cls = C_TOOL;
        }
    }
    return cls;
}

int ua_scan_selfcheck(void)
{
    for (size_t i = 1; i < NWORDS; i++)
        if (strcmp(words[i - 1].w, words[i].w) >= 0)
            return -1;
    for (size_t i = 0; i < NWORDS; i++)
        if (strlen(words[i].w) >= WORD_MAX)
            return -1;
    for (size_t r = 0; r < sizeof(roots) / sizeof(roots[0]); r++)
        if (!(ROOT_FIRST & L(roots[r].root[0])))
            return -1;
    return 0;
}

static const struct word *lookup(const char *w, size_t len)
{
    size_t lo = 0, hi = NWORDS;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *t = words[mid].w;
        int c = (unsigned char)t[0] - (unsigned char)w[0];
        if (c == 0)
            c = strncmp(t, w, len);
        if (c == 0 && t[len] != '\0')
            c = 1; /* the table word is longer */
        if (c == 0)
            return &words[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static bool is_alpha(unsigned char c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alnum(unsigned char c)
{
    return is_alpha(c) || is_digit(c);
}

/* s[p..] reads "host.tld": the part after an e-mail address's '@'. */
static bool email_host(const char *s, size_t n, size_t p)
{
    size_t q = p;
    while (q < n && (is_alnum((unsigned char)s[q]) || s[q] == '-'))
        q++;
    return q > p && q + 1 < n && s[q] == '.' && is_alpha((unsigned char)s[q + 1]);
}

/* Top-level domains of the sites crawlers name ("Siteimprove.com"); the
 * caller wants a letter or digit before the dot, so " .NET CLR" is none. */
static bool tld(const char *w, size_t len)
{
    static const char *const tlds[] = {"com", "net", "org", "io", "ai", "gy", "ly", "info", "dev"};
    for (size_t k = 0; k < sizeof(tlds) / sizeof(tlds[0]); k++)
        if (strlen(tlds[k]) == len && memcmp(tlds[k], w, len) == 0)
            return true;
    return false;
}

/* A version follows s[p]: an optional separator, then a digit. */
static bool version_at(const char *s, size_t n, size_t p)
{
    if (p < n && (s[p] == '/' || s[p] == ' ' || s[p] == ':' || s[p] == '-' || s[p] == '+' || s[p] == '_'))
        p++;
    return p < n && is_digit((unsigned char)s[p]);
}

static void mark(struct ua_scan *sc, enum ua_feat f, size_t end)
{
    if (f == F_NONE)
        return;
    bool v = version_at(sc->s, sc->n, end);
    uint64_t bit = (uint64_t)1 << (f % 64);
    if (sc->at[f] == 0 || (v && !(sc->versioned[f / 64] & bit))) {
        sc->at[f] = (uint16_t)(end + 1);
        if (v)
            sc->versioned[f / 64] |= bit;
    }
    sc->last[f] = (uint16_t)(end + 1);
}

static void count(struct ua_scan *sc, uint8_t cls)
{
    if (cls == C_PREVIEW)
        sc->preview++;
    else if (cls == C_BOT)
        sc->bot++;
    else if (cls == C_TOOL)
        sc->tool++;
}

/* Two-word features: the second word, given the first. */
static enum ua_feat joined(enum ua_feat prev, const char *w, size_t len)
{
#define IS(lit) (len == sizeof(lit) - 1 && memcmp(w, lit, len) == 0)
    switch (prev) {
    case F_OPERA:
        return IS("mini") ? F_OPERA_MINI : IS("mobi") ? F_OPERA_MOBI : IS("tablet") ? F_OPERA_TABLET : F_NONE;
    case F_WINDOWS:
        return IS("phone") ? F_WINDOWS_PHONE : IS("mobile") ? F_WINDOWS_MOBILE : IS("ce") ? F_WINDOWS_CE : F_NONE;
    case F_MAC:
        return IS("os") ? F_MAC_OS : F_NONE;
    case F_UC:
        return IS("browser") ? F_UC_BROWSER : F_NONE;
    default:
        return F_NONE;
    }
#undef IS
}

void ua_scan(const char *s, size_t n, struct ua_scan *sc)
{
    if (n > UA_MAX_LEN)
        n = UA_MAX_LEN; /* offsets must fit the uint16_t fields */
    memset(sc, 0, sizeof(*sc));
    sc->s = s;
    sc->n = n;
    enum ua_feat prev = F_NONE;
    bool prev_http = false;
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (!is_alpha(c)) {
            if (c == '@' && i > 0 && email_host(s, n, i + 1))
                sc->email = true;
            i++;
            continue;
        }
        size_t start = i;
        while (i < n && is_alpha((unsigned char)s[i]))
            i++;
        size_t len = i - start;
        char w[UA_MAX_LEN];
        size_t wl = len < sizeof(w) ? len : sizeof(w);
        for (size_t k = 0; k < wl; k++)
            w[k] = (char)(s[start + k] | 0x20);
        const struct word *e = len < WORD_MAX ? lookup(w, len) : NULL;
        enum ua_feat own = e ? (enum ua_feat)e->feat : F_NONE;
        sc->words++;
        mark(sc, own, i);
        mark(sc, joined(prev, w, wl), i);
        /* Kindle Fire models: "KFTT", "KFOT", "KFTHWI" */
        if (wl >= 4 && wl <= 6 && w[0] == 'k' && w[1] == 'f')
            mark(sc, F_KF, i);
        /* Symbian's "S60", "S60V5", "Series 60" */
        if ((wl == 1 && w[0] == 's') || (wl == 6 && memcmp(w, "series", 6) == 0)) {
            size_t p = i < n && s[i] == ' ' ? i + 1 : i;
            if (p + 1 < n && s[p] == '6' && s[p + 1] == '0')
                mark(sc, F_SYMBIAN, i);
        }
        /* "X11", "http://", "https://", "www." */
        if (wl == 1 && w[0] == 'x' && i + 1 < n && s[i] == '1' && s[i + 1] == '1')
            mark(sc, F_X11, i);
        bool http = (wl == 4 && memcmp(w, "http", 4) == 0) || (wl == 5 && memcmp(w, "https", 5) == 0);
        if (http && i + 2 < n && s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/')
            sc->url = true;
        if (wl == 3 && memcmp(w, "www", 3) == 0 && i < n && s[i] == '.')
            sc->url = true;
        if (tld(w, wl) && start >= 2 && s[start - 1] == '.' && is_alnum((unsigned char)s[start - 2]) &&
            (i == n || !is_alnum((unsigned char)s[i])))
            sc->url = true; /* "Scope3/2.0 (scope3.com)", "rb.gy/oupwis" */
        /* some browser we do not name: "UP.Browser/6.2", "S40OviBrowser/2.2" */
        if (!e && wl >= 7 && memcmp(w + wl - 7, "browser", 7) == 0)
            mark(sc, F_BROWSERISH, i);
        /* "Go-http-client", "Java-http-client" */
        if (prev_http && wl == 6 && memcmp(w, "client", 6) == 0)
            sc->tool++;
        prev_http = http;
        count(sc, e ? e->cls : root_class(w, wl));
        prev = own;
    }
    sc->no_letters = sc->words == 0;
}

int ua_major(const struct ua_scan *sc, enum ua_feat f)
{
    if (sc->at[f] == 0)
        return -1;
    const char *s = sc->s;
    size_t n = sc->n, p = sc->at[f] - 1;
    if (p < n && (s[p] == '/' || s[p] == ' ' || s[p] == ':' || s[p] == '-' || s[p] == '+' || s[p] == '_'))
        p++;
    /* "Opera Mini/att/4.2": one lettered segment before the number */
    if (p < n && is_alpha((unsigned char)s[p])) {
        size_t q = p;
        while (q < n && is_alpha((unsigned char)s[q]))
            q++;
        if (q + 1 < n && s[q] == '/' && is_digit((unsigned char)s[q + 1]))
            p = q + 1;
    }
    if (p >= n || !is_digit((unsigned char)s[p]))
        return -1;
    int v = 0;
    for (int k = 0; p < n && is_digit((unsigned char)s[p]) && k < 9; k++, p++)
        v = v * 10 + (s[p] - '0');
    return v;
}
