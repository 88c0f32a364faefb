/* apikey: API keys as the server sees them. Keys are random strings shown
 * once; only their SHA-256 is stored (they carry 238 bits of entropy, so a
 * slow hash adds nothing). Checking a presented key hashes it and compares
 * it with every loaded hash in constant time, so timing reveals neither
 * which key matched nor how much of it did.
 * A keyset is filled at start-up and read-only afterwards: any thread may
 * call apikey_check concurrently. */
#ifndef LP_AUTH_APIKEY_H
#define LP_AUTH_APIKEY_H

#include <stdbool.h>
#include <stddef.h>

#define APIKEY_HASH_LEN 32
#define APIKEY_MAX_LEN 256     /* longer presented keys are refused unhashed */
#define APIKEYS_MAX 64         /* operator keys held in memory */
#define APIKEY_ADMIN_PREFIX "lpa_"
#define APIKEY_RANDOM_CHARS 40 /* base62: 238 bits */

enum apikey_role { APIKEY_NONE = -1, APIKEY_ADMIN = 0 };

struct apikey_set {
    size_t n;
    struct {
        unsigned char hash[APIKEY_HASH_LEN];
        enum apikey_role role;
    } keys[APIKEYS_MAX];
};

void apikey_hash(const char *key, size_t len, unsigned char out[APIKEY_HASH_LEN]);
/* Writes a new admin key (prefix + random) into out; cap >= 64. */
void apikey_generate(char *out, size_t cap);
/* 0, or -1 when the set is full. */
int apikey_set_add(struct apikey_set *set, const unsigned char hash[APIKEY_HASH_LEN], enum apikey_role role);
/* The role of the presented key, or APIKEY_NONE. */
enum apikey_role apikey_check(const struct apikey_set *set, const char *key, size_t len);

#endif
