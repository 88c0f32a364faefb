/* jwt: the HS256 access tokens the API hands out after login, and the
 * keyring that signs them. Only one shape of token exists, the one
 * jwt_sign writes, so jwt_verify accepts exactly that shape and nothing a
 * JWT library would be lenient about: alg must be "HS256" byte for byte
 * (never "none", never chosen by the token), the kid only picks which of
 * our keys checks the MAC, and the payload is read only after the MAC over
 * the received bytes has been compared in constant time.
 * Rotation: keys[0] signs, every key verifies; to rotate, put a new line at
 * the top of the keyring file and drop the oldest line once tokens signed
 * with it have expired.
 * Threading: a keyring is filled at start-up and read-only afterwards; all
 * functions are reentrant. Their JSON values are local to each call, and
 * jansson seeds its hash on first use with atomic builtins, so any thread
 * may sign and verify concurrently. Callers have called sodium_init(). */
#ifndef LP_AUTH_JWT_H
#define LP_AUTH_JWT_H

#include <stddef.h>
#include <stdint.h>

#define JWT_KID_MAX 32 /* kid: 1-32 chars of [A-Za-z0-9._-] */
#define JWT_KEY_LEN 32 /* HMAC key bytes */
#define JWT_KEYS_MAX 8
#define JWT_TOKEN_MAX 2048       /* longer presented tokens are refused before any work */
#define JWT_IAT_LEEWAY_S 60      /* clock skew allowed for iat in the future */
#define JWT_JTI_LEN 32           /* hex chars of 16 random bytes */
#define JWT_KEYRING_MAX 65536    /* keyring file text */
#define JWT_KEYRING_LINE_MAX 256 /* any line, comments included */
/* "kid:" + 43 base64url chars + "\n", as jwt_key_generate_line writes it */
#define JWT_KEY_LINE_MAX (JWT_KID_MAX + 1 + 43 + 1)

struct jwt_keyring {
    size_t n;
    struct {
        char kid[JWT_KID_MAX + 1];
        unsigned char key[JWT_KEY_LEN];
    } keys[JWT_KEYS_MAX];
}; /* keys[0] signs; all verify */

struct jwt_claims {
    int64_t sub;               /* user id, > 0 */
    int64_t iat, exp;          /* Unix seconds */
    char jti[JWT_JTI_LEN + 1]; /* random hex, for logs/revocation */
};

enum jwt_err {
    JWT_ERR_FORMAT = -1,    /* not three base64url segments of JSON objects; a crit header */
    JWT_ERR_ALG = -2,       /* header alg is not exactly "HS256" */
    JWT_ERR_KID = -3,       /* kid missing or not in the keyring */
    JWT_ERR_SIGNATURE = -4, /* MAC does not match */
    JWT_ERR_EXPIRED = -5,   /* exp <= now */
    JWT_ERR_CLAIMS = -6,    /* sub/iat/exp/jti missing or malformed, iat in the future */
    JWT_ERR_TOO_LONG = -7,  /* token over JWT_TOKEN_MAX, or out too small in jwt_sign */
    JWT_ERR_NOMEM = -8,     /* jansson could not allocate */
};

/* Writes a NUL-terminated compact JWS to out[0..cap):
 * header {"alg":"HS256","typ":"JWT","kid":keys[0].kid},
 * payload {"sub":"<id>","iat":now,"exp":now+ttl_s,"jti":"<32 hex>"}.
 * sub and ttl_s must be positive. 0, or a negative enum jwt_err (then out is
 * "" when cap > 0). claims_out, when not NULL, gets what was signed. */
int jwt_sign(const struct jwt_keyring *ring, int64_t sub, int64_t now, int64_t ttl_s, char *out, size_t cap,
             struct jwt_claims *claims_out);

/* Verifies token[0..len) and decodes it into out (zeroed on failure).
 * Order: length cap, 3 segments, header JSON with alg exactly "HS256"
 * (anything else, or missing, is JWT_ERR_ALG), kid known (JWT_ERR_KID),
 * MAC over the exact received "header.payload" bytes compared in constant
 * time, then the payload: sub a decimal string of a positive int64 without
 * leading zeros, iat and exp integers, jti 32 lowercase hex chars;
 * exp <= now is JWT_ERR_EXPIRED, iat more than JWT_IAT_LEEWAY_S in the future
 * is JWT_ERR_CLAIMS. JSON with duplicate member names is JWT_ERR_FORMAT, so
 * no two parsers can read different values out of one token. */
int jwt_verify(const struct jwt_keyring *ring, const char *token, size_t len, int64_t now, struct jwt_claims *out);

/* A short English reason, never NULL. */
const char *jwt_strerror(int err);

/* Keyring file: one key per line, "kid:base64url-of-32-bytes" (unpadded),
 * first line first in the ring. Blank lines and lines starting with '#'
 * are skipped; CR before LF and spaces or tabs around a line are ignored.
 * Refuses bad base64url, keys that are not 32 bytes or all zero, invalid
 * or duplicate kids, more than JWT_KEYS_MAX keys, and text without keys.
 * Pure. 0, or -1 with a message naming the line (never key material) in
 * err[0..errcap); on failure the ring is wiped and empty. */
int jwt_keyring_parse(struct jwt_keyring *ring, const char *text, size_t len, char *err, size_t errcap);

/* Writes one NUL-terminated line "kid:<43 chars>\n" with a new random key
 * into buf[0..cap), for first start and rotation (the caller puts it at
 * the top of the keyring file). Returns the line's length without the NUL,
 * or 0 when kid is invalid or the line does not fit (JWT_KEY_LINE_MAX + 1
 * bytes always do). */
size_t jwt_key_generate_line(const char *kid, char *buf, size_t cap);

#endif
