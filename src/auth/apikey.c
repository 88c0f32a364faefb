#include "auth/apikey.h"

#include "util/base62.h"

#include <sodium.h>
#include <string.h>

void apikey_hash(const char *key, size_t len, unsigned char out[APIKEY_HASH_LEN])
{
    crypto_hash_sha256(out, (const unsigned char *)key, len);
}

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

int apikey_set_add(struct apikey_set *set, const unsigned char hash[APIKEY_HASH_LEN], enum apikey_role role)
{
    if (set->n == APIKEYS_MAX)
        return -1;
    memcpy(set->keys[set->n].hash, hash, APIKEY_HASH_LEN);
    set->keys[set->n].role = role;
    set->n++;
    return 0;
}

enum apikey_role apikey_check(const struct apikey_set *set, const char *key, size_t len)
{
    if (len == 0 || len > APIKEY_MAX_LEN)
        return APIKEY_NONE;
    unsigned char h[APIKEY_HASH_LEN];
    apikey_hash(key, len, h);
    enum apikey_role found = APIKEY_NONE;
    /* No early exit: every stored hash is compared. */
    for (size_t i = 0; i < set->n; i++)
        if (sodium_memcmp(h, set->keys[i].hash, APIKEY_HASH_LEN) == 0)
            found = set->keys[i].role;
    return found;
}
