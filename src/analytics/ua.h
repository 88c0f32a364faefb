/* ua: user-agent parsing and bot detection, written for this project.
 *
 * A hand-written scanner over fixed token tables (no regular expressions,
 * no allocation): the browser family and major version, the OS family and
 * the device class, named as ua-parser's uap-core names them, plus a bot
 * flag. Bots are crawlers, monitors, HTTP libraries and command-line tools,
 * an empty user agent, and link-preview fetchers (Slackbot, Twitterbot,
 * facebookexternalhit, WhatsApp, Discordbot, ...), which also set preview.
 * Only the first UA_MAX_LEN bytes are looked at.
 *
 * Its accuracy is measured in tests/unit/test_ua.c against the corpora in
 * ../shared/testdata/useragents ("mainstream" browser families and "main"
 * OS families are listed there).
 *
 * Pure; thread-safe. */
#ifndef LP_ANALYTICS_UA_H
#define LP_ANALYTICS_UA_H

#include <stdbool.h>
#include <stddef.h>

#define UA_MAX_LEN 512

enum ua_device { UA_DEVICE_UNKNOWN, UA_DEVICE_DESKTOP, UA_DEVICE_MOBILE, UA_DEVICE_TABLET, UA_DEVICE_BOT };

struct ua_info {
    char browser[24]; /* "Chrome", "Mobile Safari", ...; "Other" when unknown */
    int browser_major; /* -1 unknown */
    char os[16];       /* "Windows", "Mac OS X", "iOS", "Android", "Linux", ...; "Other" */
    enum ua_device device;
    bool bot;
    bool preview; /* a link-preview fetcher (also a bot) */
};

void ua_parse(const char *ua, size_t len, struct ua_info *out);
/* "desktop", "mobile", "tablet", "bot", "unknown". */
const char *ua_device_name(enum ua_device d);

#endif
