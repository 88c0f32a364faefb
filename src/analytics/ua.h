/* ua: user-agent parsing and bot detection, written for this project.
 *
 * A hand-written scanner over token tables (ua_scan.c; no regular
 * expressions, no allocation, no global state) reads the user agent once
 * and a few decision functions name the browser family and major version,
 * the OS family and the device class the way ua-parser's uap-core names
 * them, and say whether the client is a bot. Only the first UA_MAX_LEN bytes
 * are looked at. Pure and thread-safe: it runs on the visit sink thread and
 * on the redirect path (to let link-preview fetchers through without
 * counting a visit), so it costs about a microsecond.
 *
 * Bots: crawlers, monitors, scanners, HTTP libraries and command-line tools
 * (curl, Wget, python-requests, Go-http-client, okhttp, ...), anything that
 * names neither a browser nor an OS, and an empty user agent (real browsers
 * always send one). Link-preview fetchers (Slackbot, Twitterbot,
 * facebookexternalhit, WhatsApp, Discordbot, TelegramBot, LinkedInBot,
 * SkypeUriPreview, ...) are bots and also set preview. In-app browsers
 * (Facebook, Instagram, WeChat, ...) are people, not bots.
 *
 * Measured by tests/unit/test_ua.c on ../shared/testdata/useragents (the
 * figures are in docs and in the test's output):
 * - bot recall: every "instances" string of crawler-user-agents.json;
 * - "mainstream browsers": the cases of uap-core's test_ua.yaml whose
 *   expected family is one of Chrome, Chrome Mobile, Chrome Mobile iOS,
 *   Chrome Mobile WebView, Firefox, Firefox Mobile, Firefox iOS, Safari,
 *   Mobile Safari, Edge, Edge Mobile, Opera, Opera Mobile, Opera Mini,
 *   Samsung Internet, IE, IE Mobile, Yandex Browser, UC Browser, Brave,
 *   Vivaldi: the browsers with a visible share of web traffic, in each of
 *   the forms uap-core names separately. On those: the share flagged as
 *   bots (at most 1%) and the share whose family agrees (at least 95%);
 * - "main OS families": the cases of test_os.yaml whose expected family is
 *   Windows, Mac OS X, iOS, Android, Linux or Chrome OS; the share whose
 *   family agrees (at least 95%).
 *
 * One name differs from uap-core's: an iOS app's web view is "WKWebView"
 * (uap-core's "Mobile Safari UI/WKWebView" does not fit the field). */
#ifndef LP_ANALYTICS_UA_H
#define LP_ANALYTICS_UA_H

#include <stdbool.h>
#include <stddef.h>

#define UA_MAX_LEN 512 /* bytes of a user agent that are looked at */

enum ua_device { UA_DEVICE_UNKNOWN, UA_DEVICE_DESKTOP, UA_DEVICE_MOBILE, UA_DEVICE_TABLET, UA_DEVICE_BOT };

struct ua_info {
    char browser[24];  /* family as uap-core names it: "Chrome", "Mobile Safari", "Samsung Internet", ...;
                          "Other" when unknown */
    int browser_major; /* -1 when unknown */
    char os[16];       /* "Windows", "Mac OS X", "iOS", "Android", "Linux", "Chrome OS", "Ubuntu", ...; "Other" */
    enum ua_device device; /* UA_DEVICE_BOT exactly when bot */
    bool bot;
    bool preview; /* a link-preview fetcher (also a bot) */
};

/* Parses ua[0..len) (ua need not be NUL-terminated; NULL with len 0 is an
 * empty user agent). Always fills *out; the strings are NUL-terminated. */
void ua_parse(const char *ua, size_t len, struct ua_info *out);

/* "desktop", "mobile", "tablet", "bot", "unknown". */
const char *ua_device_name(enum ua_device d);

#endif
