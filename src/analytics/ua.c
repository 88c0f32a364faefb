/* ua_parse: the scan (ua_scan.c) read by three small deciders, in the
 * order uap-core resolves ambiguity: a UA names several products ("Edg/"
 * also says Chrome and Safari; Chrome says Safari; Opera Mini says MSIE), so
 * the most specific product wins. */
#include "analytics/ua.h"

#include "analytics/ua_scan.h"

#include <string.h>

static void set(char *dst, size_t cap, const char *v)
{
    size_t n = strlen(v);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static bool any(const struct ua_scan *sc, const enum ua_feat *fs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ua_has(sc, fs[i]))
            return true;
    return false;
}
#define ANY(sc, ...) any((sc), (const enum ua_feat[]){__VA_ARGS__}, sizeof((enum ua_feat[]){__VA_ARGS__}) / sizeof(enum ua_feat))

/* Whether feature a's first word comes before feature b's last word. */
static bool before(const struct ua_scan *sc, enum ua_feat a, enum ua_feat b)
{
    return sc->at[a] && sc->last[b] && sc->at[a] < sc->last[b];
}

static bool versioned(const struct ua_scan *sc, enum ua_feat f)
{
    return (sc->versioned[f / 64] >> (f % 64)) & 1;
}

/* ---- OS ---------------------------------------------------------------- */

static bool ios_device(const struct ua_scan *sc)
{
    return ANY(sc, F_IPHONE, F_IPAD, F_IPOD, F_IPH);
}

/* CFNetwork/Darwin clients: iOS apps, except on a Mac ("(x86_64)",
 * "(i386)", "(MacBookPro11,1)"). */
static bool darwin_is_mac(const struct ua_scan *sc)
{
    return memmem(sc->s, sc->n, "x86_64", 6) || memmem(sc->s, sc->n, "i386", 4) || memmem(sc->s, sc->n, "Mac", 3);
}

static const char *os_family(const struct ua_scan *sc)
{
    if (ua_has(sc, F_WATCHOS))
        return "WatchOS";
    if (ua_has(sc, F_TVOS))
        return "tvOS";
    if (ua_has(sc, F_WINDOWS_PHONE))
        return "Windows Phone";
    if (ua_has(sc, F_WINDOWS_MOBILE))
        return "Windows Mobile";
    /* Citrix Workspace on a Chromebook: "(X11; Windows aarch64 10718.88.2)" */
    if (before(sc, F_X11, F_WINDOWS) && !ua_has(sc, F_ANDROID))
        return "Chrome OS";
    /* iOS browsers say so even when asking for the desktop site */
    if (ios_device(sc) || ANY(sc, F_IOS, F_CRIOS, F_FXIOS, F_EDGIOS, F_OPIOS))
        return "iOS";
    if (ANY(sc, F_ANDROID, F_ADR, F_JUC, F_SILK, F_KF, F_QUEST))
        return "Android";
    if (ua_has(sc, F_KINDLE))
        return "Kindle";
    if (ua_has(sc, F_CFNETWORK))
        return darwin_is_mac(sc) ? "Mac OS X" : "iOS";
    if (ANY(sc, F_MACINTOSH, F_MAC_OS, F_DARWIN))
        return "Mac OS X";
    if (ua_has(sc, F_MAC))
        return "Mac OS";
    if (ANY(sc, F_WINDOWS, F_WIN, F_WINDOWS_CE))
        return "Windows";
    if (ua_has(sc, F_CROS))
        return "Chrome OS";
    if (ua_has(sc, F_SYMBIAN))
        return "Symbian OS";
    if (ua_has(sc, F_BADA))
        return "Bada";
    if (ANY(sc, F_BLACKBERRY, F_BB))
        return "BlackBerry OS";
    if (ua_has(sc, F_KAIOS))
        return "KaiOS";
    if (ua_has(sc, F_TIZEN))
        return "Tizen";
    if (ua_has(sc, F_WEBOS))
        return "webOS";
    if (ua_has(sc, F_UBUNTU))
        return "Ubuntu";
    if (ua_has(sc, F_FEDORA))
        return "Fedora";
    if (ua_has(sc, F_DEBIAN))
        return "Debian";
    if (ua_has(sc, F_FREEBSD))
        return "FreeBSD";
    if (ua_has(sc, F_OPENBSD))
        return "OpenBSD";
    if (ua_has(sc, F_NETBSD))
        return "NetBSD";
    if (ua_has(sc, F_SUNOS))
        return "Solaris";
    if (ua_has(sc, F_FIREFOX) && ANY(sc, F_MOBILE, F_TABLET))
        return "Firefox OS"; /* "(Mobile; rv:15.0) Gecko/15.0 Firefox/15.0" */
    if (ANY(sc, F_LINUX, F_X11))
        return "Linux";
    return "Other";
}

/* ---- browser ----------------------------------------------------------- */

/* Families named by their own product token, most specific first: in-app
 * views, then browsers built on Chrome, Safari or Firefox that add their
 * token to the engine's. */
static const struct {
    uint8_t feat;
    bool need_version; /* a common word, a product only as "Word/1.2" */
    const char *name;
} named_families[] = {
    {F_FBAV, false, "Facebook"},
    {F_FBAN, false, "Facebook"},
    {F_INSTAGRAM, false, "Instagram"},
    {F_MICROMESSENGER, false, "WeChat Browser"},
    {F_SNAPCHAT, true, "Snapchat"},
    {F_PINTEREST, false, "Pinterest"},
    {F_KAKAOTALK, true, "KakaoTalk"},
    {F_LINE, true, "LINE"},
    {F_GSA, true, "Google"},
    {F_UCBROWSER, false, "UC Browser"},
    {F_UCMOBILE, false, "UC Browser"},
    {F_UBROWSER, false, "UC Browser"},
    {F_UC_BROWSER, false, "UC Browser"},
    {F_UCWEB, false, "UC Browser"},
    {F_SAMSUNGBROWSER, false, "Samsung Internet"},
    {F_YABROWSER, false, "Yandex Browser"},
    {F_YASEARCHBROWSER, false, "Yandex Browser"},
    {F_MQQBROWSER, false, "QQ Browser Mobile"},
    {F_QQBROWSER, false, "QQ Browser"},
    {F_MIUIBROWSER, false, "MiuiBrowser"},
    {F_HUAWEIBROWSER, false, "Huawei Browser"},
    {F_HONOR, false, "Honor Browser"},
    {F_WHALE, true, "Whale"},
    {F_VIVALDI, false, "Vivaldi"},
    {F_BRAVE, false, "Brave"},
    {F_DUCKDUCKGO, false, "DuckDuckGo Mobile"},
    {F_DDG, true, "DuckDuckGo Mobile"},
    {F_PUFFIN, false, "Puffin"},
    {F_MAXTHON, false, "Maxthon"},
    {F_AVAST, false, "Avast Secure Browser"},
    {F_ALOHA, false, "Aloha Browser"},
    {F_BAIDUBROWSER, false, "Baidu Browser"},
    {F_SLEIPNIR, false, "Sleipnir"},
    {F_OCULUS, false, "Oculus Browser"},
    {F_SILK, true, "Amazon Silk"},
    {F_PALEMOON, false, "Pale Moon"},
    {F_SEAMONKEY, false, "SeaMonkey"},
    {F_WATERFOX, false, "Waterfox"},
    {F_ICEWEASEL, false, "Iceweasel"},
    {F_THUNDERBIRD, false, "Thunderbird"},
    {F_KONQUEROR, false, "Konqueror"},
    {F_MIDORI, false, "Midori"},
    {F_EPIPHANY, true, "Epiphany"},
    {F_NETFRONT, false, "NetFront"},
    {F_ELECTRON, true, "Electron"},
};

struct family {
    const char *name;
    int major;
};

static struct family named(const struct ua_scan *sc)
{
    for (size_t i = 0; i < sizeof(named_families) / sizeof(named_families[0]); i++) {
        enum ua_feat f = named_families[i].feat;
        if (!ua_has(sc, f) || (named_families[i].need_version && !versioned(sc, f)))
            continue;
        struct family r = {named_families[i].name, ua_major(sc, f)};
        if (f == F_FBAN)
            r.major = ua_major(sc, F_FBAV);
        else if (f == F_BRAVE && r.major < 0 && before(sc, F_BRAVE, F_CHROME))
            r.major = ua_major(sc, F_CHROME); /* "Brave Chrome/80.0" */
        else if (f == F_UCWEB && versioned(sc, F_UCBROWSER))
            r.major = ua_major(sc, F_UCBROWSER);
        return r;
    }
    return (struct family){NULL, -1};
}

/* Internet Explorer's real version is its engine's: "MSIE 7.0; Trident/7.0"
 * is IE 11 in compatibility view. */
static int ie_major(const struct ua_scan *sc)
{
    int t = ua_major(sc, F_TRIDENT);
    if (t >= 4)
        return t + 4 > 11 ? 11 : t + 4;
    return ua_major(sc, F_MSIE);
}

static struct family opera(const struct ua_scan *sc)
{
    if (ua_has(sc, F_OPERA_MINI))
        return (struct family){"Opera Mini", ua_major(sc, F_OPERA_MINI)};
    if (ua_has(sc, F_OPIOS))
        return (struct family){"Opera Mini", ua_major(sc, F_OPIOS)};
    /* Presto-era Opera says "Opera/9.80 ... Version/12.16" */
    int presto = ua_has(sc, F_VERSION) ? ua_major(sc, F_VERSION) : ua_major(sc, F_OPERA);
    if (ua_has(sc, F_OPERA_MOBI))
        return (struct family){"Opera Mobile", ua_has(sc, F_OPR) ? ua_major(sc, F_OPR) : presto};
    if (ua_has(sc, F_OPERA_TABLET))
        return (struct family){"Opera Tablet", presto};
    if (ua_has(sc, F_OPR))
        return (struct family){ANY(sc, F_ANDROID) && ua_has(sc, F_MOBILE) ? "Opera Mobile" : "Opera",
                               ua_major(sc, F_OPR)};
    if (ua_has(sc, F_OPT))
        return (struct family){"Opera Touch", ua_major(sc, F_OPT)};
    if (versioned(sc, F_OPERA))
        return (struct family){"Opera", presto};
    return (struct family){NULL, -1};
}

static struct family browser_family(const struct ua_scan *sc)
{
    struct family r = named(sc);
    if (r.name)
        return r;
    r = opera(sc);
    if (r.name)
        return r;
    if (ANY(sc, F_EDGA, F_EDGIOS))
        return (struct family){"Edge Mobile", ua_major(sc, ua_has(sc, F_EDGA) ? F_EDGA : F_EDGIOS)};
    if (ua_has(sc, F_EDG))
        return (struct family){"Edge", ua_major(sc, F_EDG)};
    if (versioned(sc, F_EDGE))
        return (struct family){ANY(sc, F_WINDOWS_PHONE, F_MOBILE, F_ANDROID) ? "Edge Mobile" : "Edge",
                               ua_major(sc, F_EDGE)};
    if (ua_has(sc, F_IEMOBILE))
        return (struct family){"IE Mobile", ua_major(sc, F_IEMOBILE)};
    if (ANY(sc, F_MSIE, F_TRIDENT))
        return (struct family){"IE", ie_major(sc)};
    if (ua_has(sc, F_CRIOS))
        return (struct family){"Chrome Mobile iOS", ua_major(sc, F_CRIOS)};
    if (ua_has(sc, F_FXIOS))
        return (struct family){"Firefox iOS", ua_major(sc, F_FXIOS)};
    if (ua_has(sc, F_CRMO))
        return (struct family){"Chrome Mobile", ua_major(sc, F_CRMO)};
    if (versioned(sc, F_CHROMIUM))
        return (struct family){"Chromium", ua_major(sc, F_CHROMIUM)};
    if (versioned(sc, F_CHROME)) {
        int major = ua_major(sc, F_CHROME);
        /* Android's WebView: "; wv)" or a "Version/4.0" before Chrome's token */
        if (ua_has(sc, F_ANDROID) && (ua_has(sc, F_WV) || before(sc, F_VERSION, F_CHROME)))
            return (struct family){"Chrome Mobile WebView", major};
        /* "Chrome/120.0 Mobile Safari": a phone; Android tablets omit Mobile */
        return (struct family){before(sc, F_CHROME, F_MOBILE) ? "Chrome Mobile" : "Chrome", major};
    }
    if (ua_has(sc, F_FENNEC))
        return (struct family){"Fennec", ua_major(sc, F_FENNEC)};
    if (versioned(sc, F_FIREFOX)) {
        int major = ua_major(sc, F_FIREFOX);
        /* "Firefox/4.0b4" */
        size_t p = sc->at[F_FIREFOX];
        while (p < sc->n && ((sc->s[p] >= '0' && sc->s[p] <= '9') || sc->s[p] == '.'))
            p++;
        if (p + 1 < sc->n && (sc->s[p] == 'a' || sc->s[p] == 'b') && sc->s[p + 1] >= '0' && sc->s[p + 1] <= '9')
            return (struct family){sc->s[p] == 'a' ? "Firefox Alpha" : "Firefox Beta", major};
        if (ANY(sc, F_ANDROID, F_MOBILE, F_TABLET))
            return (struct family){"Firefox Mobile", major};
        return (struct family){"Firefox", major};
    }
    if (ios_device(sc) && ua_has(sc, F_SAFARI))
        return (struct family){"Mobile Safari", ua_major(sc, F_VERSION)};
    if (ua_has(sc, F_ANDROID) && ua_has(sc, F_VERSION) && ua_has(sc, F_APPLEWEBKIT))
        return (struct family){"Android", ua_major(sc, F_ANDROID)}; /* the stock browser */
    if (ua_has(sc, F_SAFARI) && (ua_has(sc, F_APPLEWEBKIT) || ua_has(sc, F_CFNETWORK))) {
        /* Safari's own fetches ("Safari/9537.71 CFNetwork/673.0.2") carry only the build */
        int major = ua_has(sc, F_VERSION) ? ua_major(sc, F_VERSION) : -1;
        if (major < 0 && ua_has(sc, F_CFNETWORK))
            major = ua_major(sc, F_SAFARI);
        return (struct family){"Safari", major};
    }
    if (ios_device(sc) && ua_has(sc, F_APPLEWEBKIT))
        return (struct family){"WKWebView", ua_major(sc, F_VERSION)};
    return (struct family){"Other", -1};
}

/* ---- device ------------------------------------------------------------ */

static enum ua_device device_class(const struct ua_scan *sc, const char *os)
{
    if (ANY(sc, F_IPAD, F_TABLET, F_OPERA_TABLET, F_KF, F_SILK, F_KINDLE))
        return UA_DEVICE_TABLET;
    bool android = ANY(sc, F_ANDROID, F_ADR, F_JUC);
    /* Android browsers on tablets leave out "Mobile" */
    if (android && ua_has(sc, F_MOZILLA) && !ANY(sc, F_MOBILE, F_MOBI, F_PHONE, F_WINDOWS_PHONE, F_OPERA_MINI))
        return UA_DEVICE_TABLET;
    if (android || ANY(sc, F_IPHONE, F_IPOD, F_IPH, F_MOBILE, F_MOBI, F_IEMOBILE, F_WINDOWS_PHONE, F_WINDOWS_MOBILE,
                       F_WINDOWS_CE, F_OPERA_MINI, F_OPIOS, F_MIDP, F_CLDC, F_SYMBIAN, F_BLACKBERRY, F_BB, F_KAIOS,
                       F_NOKIA, F_SERIES, F_BADA, F_UCWEB, F_UC_BROWSER, F_WATCHOS))
        return UA_DEVICE_MOBILE;
    if (strcmp(os, "iOS") == 0)
        return UA_DEVICE_MOBILE; /* an app's own requests; iPads say so */
    static const char *const desktops[] = {"Windows", "Mac OS X", "Mac OS", "Linux", "Chrome OS", "Ubuntu",
                                           "Fedora", "Debian", "FreeBSD", "OpenBSD", "NetBSD", "Solaris"};
    for (size_t i = 0; i < sizeof(desktops) / sizeof(desktops[0]); i++)
        if (strcmp(os, desktops[i]) == 0)
            return UA_DEVICE_DESKTOP;
    return UA_DEVICE_UNKNOWN;
}

/* ---- entry points ------------------------------------------------------ */

void ua_parse(const char *ua, size_t len, struct ua_info *out)
{
    if (ua == NULL)
        len = 0;
    if (len > UA_MAX_LEN)
        len = UA_MAX_LEN;
    struct ua_scan sc;
    ua_scan(ua, len, &sc);

    const char *os = os_family(&sc);
    struct family b = browser_family(&sc);
    memset(out, 0, sizeof(*out));
    set(out->os, sizeof(out->os), os);
    set(out->browser, sizeof(out->browser), b.name);
    out->browser_major = b.major;
    out->bot = ua_bot_decide(&sc, strcmp(b.name, "Other") != 0, strcmp(os, "Other") != 0, &out->preview);
    out->device = out->bot ? UA_DEVICE_BOT : device_class(&sc, os);
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
