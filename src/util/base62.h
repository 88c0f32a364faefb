/* base62: short codes and compact integers in [0-9A-Za-z].
 * base62_random() makes the random part of short codes; the encode/decode
 * pair turns 64-bit numbers into at most 11 URL-safe characters and back.
 * Thread-safe: no state here; randomness comes from libsodium, which the
 * caller has initialised with sodium_init() before any thread starts. */
#ifndef LP_UTIL_BASE62_H
#define LP_UTIL_BASE62_H

#include <stddef.h>
#include <stdint.h>

#define BASE62_ALPHABET "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#define BASE62_U64_MAX_LEN 11 /* 62^10 < 2^64 <= 62^11 */

/* Fills out[0..len) with uniformly random alphabet characters; no NUL. */
void base62_random(char *out, size_t len);
/* The same for public short codes, from a per-thread pool of randomness
 * (one getrandom per 4 KiB): cheap enough for every link the writer makes. */
void base62_random_code(char *out, size_t len);

/* Writes v (most significant digit first, "0" for 0) to out, which has room
 * for BASE62_U64_MAX_LEN chars; no NUL. Returns the number of chars. */
size_t base62_encode_u64(uint64_t v, char *out);

/* Parses s[0..len). 0, or -1 when empty, on a non-alphabet char, or when
 * the value does not fit in 64 bits. */
int base62_decode_u64(const char *s, size_t len, uint64_t *out);

#endif
