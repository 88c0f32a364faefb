/* libFuzzer target: user-agent parsing and the visit enrichment helpers
 * never read or write out of bounds and always return terminated strings.
 * ua_parse also keeps its own promises: preview implies bot, the device is
 * "bot" exactly for bots, the result depends only on the first UA_MAX_LEN
 * bytes, and the same input gives the same answer. */
#include "analytics/enrich.h"
#include "analytics/ua.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_ua(const struct ua_info *u)
{
    if (memchr(u->browser, '\0', sizeof(u->browser)) == NULL || memchr(u->os, '\0', sizeof(u->os)) == NULL)
        abort();
    if (u->browser[0] == '\0' || u->os[0] == '\0')
        abort(); /* "Other" at least */
    if ((u->preview && !u->bot) || (u->bot != (u->device == UA_DEVICE_BOT)))
        abort();
    if (u->browser_major < -1 || (unsigned)u->device > UA_DEVICE_BOT)
        abort();
    if (ua_device_name(u->device) == NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct ua_info u, again, capped;
    ua_parse(s, size, &u);
    check_ua(&u);
    ua_parse(s, size, &again);
    if (memcmp(&u, &again, sizeof(u)) != 0)
        abort();
    ua_parse(s, size < UA_MAX_LEN ? size : UA_MAX_LEN, &capped);
    if (memcmp(&u, &capped, sizeof(u)) != 0)
        abort();

    char host[128], lang[16], utm[5][64];
    enrich_referrer_host(s, size, host, sizeof(host));
    enrich_language(s, size, lang, sizeof(lang));
    enrich_utm(s, size, utm);
    if (strlen(host) >= sizeof(host) || strlen(lang) >= sizeof(lang))
        abort();
    for (int i = 0; i < 5; i++)
        if (strlen(utm[i]) >= sizeof(utm[i]))
            abort();
    return 0;
}
