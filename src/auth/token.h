/* token: the shapes of the secrets LinkPulse hands out besides JWTs, and
 * the hash they are stored under.
 * API keys are "lp_" + 32 base62 random chars (190 bits) + 6 base62 chars
 * of CRC-32 over the 35 chars before them. The checksum is not security:
 * it lets a secret scanner recognise a leaked key from its text alone
 * (prefix + valid checksum), and lets the server refuse a mistyped key
 * without a database lookup. Refresh tokens are "lpr_" + unpadded
 * base64url of 32 random bytes, without a checksum.
 * Only token_hash() of a secret is stored: the secrets are uniformly
 * random with 190+ bits, so a slow password hash would add nothing.
 * Thread-safe: no state here; randomness comes from libsodium, which the
 * caller has initialised with sodium_init(). */
#ifndef LP_AUTH_TOKEN_H
#define LP_AUTH_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#define TOKEN_APIKEY_PREFIX "lp_"
#define TOKEN_APIKEY_RANDOM 32  /* base62 chars */
#define TOKEN_APIKEY_CHECKSUM 6 /* base62 chars; 62^6 > 2^32 */
#define TOKEN_APIKEY_LEN 41     /* 3 + 32 + 6 */
#define TOKEN_APIKEY_DISPLAY 11 /* "lp_" + first 8 random chars: what listings show */

#define TOKEN_REFRESH_PREFIX "lpr_"
#define TOKEN_REFRESH_LEN 47 /* 4 + 43 */

#define TOKEN_HASH_LEN 32

/* Writes a new NUL-terminated API key. */
void token_apikey_generate(char out[TOKEN_APIKEY_LEN + 1]);
/* Prefix, length, charset and checksum of s[0..len); says nothing about
 * whether the key exists. */
bool token_apikey_well_formed(const char *s, size_t len);

/* Writes a new NUL-terminated refresh token. */
void token_refresh_generate(char out[TOKEN_REFRESH_LEN + 1]);
/* Prefix, length and canonical base64url of 32 bytes. */
bool token_refresh_well_formed(const char *s, size_t len);

/* SHA-256 of any secret, for storage and lookup. */
void token_hash(const char *s, size_t len, unsigned char out[TOKEN_HASH_LEN]);

#endif
