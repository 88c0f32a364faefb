/* ua_scan: the word scanner under ua_parse (internal to src/analytics).
 *
 * A user agent is read once, left to right, as words: maximal runs of ASCII
 * letters, lower-cased ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1" gives
 * mozilla, iphone, cpu, iphone, os). Each word is looked up in one sorted
 * table that says which feature it is (a browser's product token, an OS or
 * device word) and whether it marks automation. A few features are two
 * words ("Opera Mini", "Windows Phone", "Mac OS"); the scanner joins them.
 * Words not in the table are checked for the generic bot roots ("...bot",
 * "crawl", "spider", ...).
 *
 * The scan keeps, per feature, where it was first seen (preferring an
 * occurrence followed by a version number) and where it was last seen, so
 * the deciders in ua.c and ua_bot.c never search the string again.
 *
 * Pure; no allocation; the input is at most UA_MAX_LEN bytes. */
#ifndef LP_ANALYTICS_UA_SCAN_H
#define LP_ANALYTICS_UA_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ua_feat {
    F_NONE,
    /* browsers and in-app views (product tokens) */
    F_CHROME,
    F_CHROMIUM,
    F_CRMO,
    F_CRIOS,
    F_FIREFOX,
    F_FXIOS,
    F_FENNEC,
    F_SAFARI,
    F_VERSION,
    F_EDGE,
    F_EDG,
    F_EDGA,
    F_EDGIOS,
    F_OPR,
    F_OPT,
    F_OPERA,
    F_OPERA_MINI,   /* "Opera Mini" */
    F_OPERA_MOBI,   /* "Opera Mobi" */
    F_OPERA_TABLET, /* "Opera Tablet" */
    F_OPIOS,
    F_MSIE,
    F_TRIDENT,
    F_IEMOBILE,
    F_UC,           /* "UC" of "UC Browser" */
    F_BRAVE,
    F_GSA,
    F_APPLEWEBKIT,
    F_GECKO,
    F_PRESTO,
    F_MOZILLA,
    F_COMPATIBLE,
    F_WV,
    F_CFNETWORK,
    F_DALVIK,
    /* operating systems */
    F_WINDOWS,
    F_WIN,
    F_WINDOWS_PHONE, /* "Windows Phone" */
    F_WINDOWS_MOBILE,
    F_WINDOWS_CE,
    F_XBOX,
    F_ANDROID,
    F_ADR,
    F_JUC,
    F_LINUX,
    F_X11,
    F_CROS,
    F_MACINTOSH,
    F_MAC,
    F_MAC_OS, /* "Mac OS", "MacOS" */
    F_DARWIN,
    F_IPHONE,
    F_IPAD,
    F_IPOD,
    F_IOS,
    F_IPH, /* UC Browser's "iPh OS", "iPd OS" */
    F_WATCHOS,
    F_TVOS,
    F_UBUNTU,
    F_FEDORA,
    F_DEBIAN,
    F_FREEBSD,
    F_OPENBSD,
    F_NETBSD,
    F_SUNOS,
    F_SYMBIAN,
    F_SERIES, /* "Series 60", "Series40" */
    F_BLACKBERRY,
    F_BB,
    F_KAIOS,
    F_TIZEN,
    F_WEBOS,
    F_BADA,
    F_SILK,
    F_KINDLE,
    F_KF, /* Kindle Fire model codes: KFTT, KFOT, ... */
    F_QUEST,
    F_PLAYSTATION,
    F_NINTENDO,
    F_SMARTTV,
    /* device words */
    F_MOBILE,
    F_MOBI,
    F_TABLET,
    F_TOUCH,
    F_PHONE,
    F_MIDP,
    F_CLDC,
    F_NOKIA,
    F_ARM,
    F_BROWSERISH, /* "Browser", "ObigoInternetBrowser": some browser we do not name */
    /* families named by their own product token (ua.c's named_families) */
    F_FBAN,
    F_FBAV,
    F_INSTAGRAM,
    F_MICROMESSENGER,
    F_SNAPCHAT,
    F_PINTEREST,
    F_KAKAOTALK,
    F_LINE,
    F_UCBROWSER,
    F_UCMOBILE,
    F_UBROWSER,
    F_UC_BROWSER, /* "UC Browser" */
    F_UCWEB,
    F_SAMSUNGBROWSER,
    F_YABROWSER,
    F_YASEARCHBROWSER,
    F_MQQBROWSER,
    F_QQBROWSER,
    F_MIUIBROWSER,
    F_HUAWEIBROWSER,
    F_HONOR,
    F_WHALE,
    F_VIVALDI,
    F_DUCKDUCKGO,
    F_DDG,
    F_PUFFIN,
    F_MAXTHON,
    F_AVAST,
    F_ALOHA,
    F_BAIDUBROWSER,
    F_SLEIPNIR,
    F_OCULUS,
    F_PALEMOON,
    F_SEAMONKEY,
    F_WATERFOX,
    F_ICEWEASEL,
    F_THUNDERBIRD,
    F_KONQUEROR,
    F_MIDORI,
    F_EPIPHANY,
    F_NETFRONT,
    F_ELECTRON,
    F_COUNT
};

/* What a word says about automation. */
enum ua_cls {
    C_NONE,
    C_PREVIEW, /* a link-preview fetcher: bot and preview */
    C_BOT,     /* a crawler, monitor or scanner: always a bot */
    C_TOOL,    /* an HTTP library or tool: a bot unless a browser is named */
};

struct ua_scan {
    const char *s;
    size_t n;
    /* 1 + the offset just past the feature's first word (one followed by a
     * version when there is one); 0 when absent. */
    uint16_t at[F_COUNT];
    uint16_t last[F_COUNT]; /* 1 + the offset past its last word; 0 if absent */
    uint64_t versioned[(F_COUNT + 63) / 64];
    unsigned words;
    unsigned preview, bot, tool; /* counts of words of each class */
    bool url;                    /* "http://", "https://" or "www." */
    bool email;                  /* "name@host.tld" */
    bool no_letters;             /* nothing to read */
};

/* Fills *sc from s[0..n) (n already capped by the caller). */
void ua_scan(const char *s, size_t n, struct ua_scan *sc);

static inline bool ua_has(const struct ua_scan *sc, enum ua_feat f)
{
    return sc->at[f] != 0;
}

/* The major version that follows feature f's first word: "Chrome/120.0" →
 * 120, "MSIE 8.0" → 8, "UCWEB7.0" → 7, "Opera Mini/att/4.2" → 4; -1 when
 * absent or not a number. */
int ua_major(const struct ua_scan *sc, enum ua_feat f);

/* Nonzero when a word table is out of order (checked by the unit test). */
int ua_scan_selfcheck(void);

/* The bot decision, given the parse (ua_bot.c). */
bool ua_bot_decide(const struct ua_scan *sc, bool browser_named, bool os_named, bool *preview);

#endif
