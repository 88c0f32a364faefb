/* libFuzzer target: user-agent parsing and the visit enrichment helpers
 * never read or write out of bounds and always return terminated strings. */
#include "analytics/enrich.h"
#include "analytics/ua.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct ua_info u;
    ua_parse(s, size, &u);
    if (memchr(u.browser, '\0', sizeof(u.browser)) == NULL || memchr(u.os, '\0', sizeof(u.os)) == NULL ||
        (u.preview && !u.bot) || (u.bot != (u.device == UA_DEVICE_BOT)))
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
