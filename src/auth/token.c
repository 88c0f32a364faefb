#include "auth/token.h"

#include "util/base62.h"

#include <sodium.h>
#include <stdint.h>
#include <string.h>

#define TOKEN_APIKEY_PREFIX_LEN (sizeof(TOKEN_APIKEY_PREFIX) - 1)
#define TOKEN_APIKEY_BODY (TOKEN_APIKEY_PREFIX_LEN + TOKEN_APIKEY_RANDOM) /* what the checksum covers */
#define TOKEN_REFRESH_PREFIX_LEN (sizeof(TOKEN_REFRESH_PREFIX) - 1)
#define TOKEN_REFRESH_BYTES 32
#define TOKEN_B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING

_Static_assert(TOKEN_APIKEY_BODY + TOKEN_APIKEY_CHECKSUM == TOKEN_APIKEY_LEN, "API key layout");
_Static_assert(TOKEN_APIKEY_PREFIX_LEN + 8 == TOKEN_APIKEY_DISPLAY, "display prefix");
_Static_assert(TOKEN_REFRESH_PREFIX_LEN + 43 == TOKEN_REFRESH_LEN, "refresh token layout");
_Static_assert(TOKEN_HASH_LEN == crypto_hash_sha256_BYTES, "token_hash is SHA-256");

/* CRC-32 as zlib computes it (reflected, polynomial 0xEDB88320), so a
 * scanner can check keys with any stock crc32(); test_token compares the
 * two. Bitwise: it runs over 35 bytes per key, so a table would only cost
 * cache. */
static uint32_t token_crc32(const char *s, size_t len)
{
    uint32_t crc = 0xFFFFFFFFu;

    for (size_t i = 0; i < len; i++) {
        crc ^= (unsigned char)s[i];
        for (int b = 0; b < 8; b++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return crc ^ 0xFFFFFFFFu;
}

/* The checksum of the first TOKEN_APIKEY_BODY chars, base62, left-padded
 * with '0' to a fixed width so each key has one spelling. */
static void token_apikey_checksum(const char *body, char out[TOKEN_APIKEY_CHECKSUM])
{
    char digits[BASE62_U64_MAX_LEN];
    size_t n = base62_encode_u64(token_crc32(body, TOKEN_APIKEY_BODY), digits);
    size_t pad = TOKEN_APIKEY_CHECKSUM - n;

    memset(out, '0', pad);
    memcpy(out + pad, digits, n);
}

void token_apikey_generate(char out[TOKEN_APIKEY_LEN + 1])
{
    memcpy(out, TOKEN_APIKEY_PREFIX, TOKEN_APIKEY_PREFIX_LEN);
    base62_random(out + TOKEN_APIKEY_PREFIX_LEN, TOKEN_APIKEY_RANDOM);
    token_apikey_checksum(out, out + TOKEN_APIKEY_BODY);
    out[TOKEN_APIKEY_LEN] = '\0';
}

static bool token_base62_char(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool token_apikey_well_formed(const char *s, size_t len)
{
    char want[TOKEN_APIKEY_CHECKSUM];

    if (len != TOKEN_APIKEY_LEN || memcmp(s, TOKEN_APIKEY_PREFIX, TOKEN_APIKEY_PREFIX_LEN) != 0)
        return false;
    for (size_t i = TOKEN_APIKEY_PREFIX_LEN; i < len; i++)
        if (!token_base62_char((unsigned char)s[i]))
            return false;
    /* A plain memcmp: the checksum is derived from the presented text, so
     * its timing leaks nothing the presenter does not already hold. */
    token_apikey_checksum(s, want);
    return memcmp(want, s + TOKEN_APIKEY_BODY, TOKEN_APIKEY_CHECKSUM) == 0;
}

void token_refresh_generate(char out[TOKEN_REFRESH_LEN + 1])
{
    unsigned char rnd[TOKEN_REFRESH_BYTES];

    randombytes_buf(rnd, sizeof(rnd));
    memcpy(out, TOKEN_REFRESH_PREFIX, TOKEN_REFRESH_PREFIX_LEN);
    sodium_bin2base64(out + TOKEN_REFRESH_PREFIX_LEN, TOKEN_REFRESH_LEN - TOKEN_REFRESH_PREFIX_LEN + 1, rnd,
                      sizeof(rnd), TOKEN_B64);
    sodium_memzero(rnd, sizeof(rnd));
}

bool token_refresh_well_formed(const char *s, size_t len)
{
    unsigned char bin[TOKEN_REFRESH_BYTES];
    size_t n;

    if (len != TOKEN_REFRESH_LEN || memcmp(s, TOKEN_REFRESH_PREFIX, TOKEN_REFRESH_PREFIX_LEN) != 0)
        return false;
    /* libsodium 1.0.18 decodes every byte 0x80-0xFF as '_' (found by
     * fuzz_jwt), so the alphabet is checked here; libsodium then refuses
     * nonzero trailing bits, so only the one spelling of 32 bytes passes. */
    for (size_t i = TOKEN_REFRESH_PREFIX_LEN; i < len; i++)
        if (!token_base62_char((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
            return false;
    int rc = sodium_base642bin(bin, sizeof(bin), s + TOKEN_REFRESH_PREFIX_LEN, len - TOKEN_REFRESH_PREFIX_LEN, NULL, &n,
                               NULL, TOKEN_B64);
    sodium_memzero(bin, sizeof(bin));
    return rc == 0 && n == TOKEN_REFRESH_BYTES;
}

void token_hash(const char *s, size_t len, unsigned char out[TOKEN_HASH_LEN])
{
    crypto_hash_sha256(out, (const unsigned char *)s, len);
}
