#include "auth/apikey.h"

#include "util/base62.h"

#include <string.h>

void apikey_generate(char *out, size_t cap)
{
    size_t plen = sizeof(APIKEY_ADMIN_PREFIX) - 1;
    if (cap < plen + APIKEY_RANDOM_CHARS + 1) {
        out[0] = '\0';
        return;
    }
    memcpy(out, APIKEY_ADMIN_PREFIX, plen);
    base62_random(out + plen, APIKEY_RANDOM_CHARS);
    out[plen + APIKEY_RANDOM_CHARS] = '\0';
}
