/* apikey: the instance's operator keys ("lpa_" + 40 base62 characters,
 * 238 bits). Like team keys (auth/token.h) they are shown once and stored
 * only as SHA-256; the server looks a presented key up by that hash.
 * Thread-safe (libsodium's randomness). */
#ifndef LP_AUTH_APIKEY_H
#define LP_AUTH_APIKEY_H

#include <stddef.h>

#define APIKEY_MAX_LEN 256     /* longer presented credentials are refused unhashed */
#define APIKEY_ADMIN_PREFIX "lpa_"
#define APIKEY_RANDOM_CHARS 40

/* Writes a new operator key into out; cap >= 64. */
void apikey_generate(char *out, size_t cap);

#endif
