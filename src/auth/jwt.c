#include "auth/jwt.h"

#include <assert.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define JWT_B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define JWT_ALG "HS256"
#define JWT_SIG_LEN crypto_auth_hmacsha256_BYTES
#define JWT_B64_32_LEN 43 /* unpadded base64 of 32 bytes: signatures and keys */
#define JWT_INT64_DIGITS 19
/* A segment decodes to 3/4 of its length, and the token cap bounds that. */
#define JWT_SEG_MAX (JWT_TOKEN_MAX / 4 * 3 + 3)
/* What jwt_sign writes is far smaller: header < 80 bytes, payload < 160. */
#define JWT_JSON_OUT_MAX 256

_Static_assert(JWT_KEY_LEN == crypto_auth_hmacsha256_KEYBYTES, "one HMAC key is one keyring key");
_Static_assert(JWT_SIG_LEN == 32, "signatures are compared with crypto_verify_32");
_Static_assert(sizeof(json_int_t) == sizeof(int64_t), "iat/exp travel through json_int_t");
_Static_assert(JWT_KEY_LINE_MAX <= JWT_KEYRING_LINE_MAX, "generated lines must parse");

static bool jwt_kid_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
}

/* The charset keeps kids printable in logs, free of ':' (the keyring
 * separator) and identical once they have been through JSON. */
static bool jwt_kid_valid(const char *kid, size_t len)
{
    if (len == 0 || len > JWT_KID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!jwt_kid_char((unsigned char)kid[i]))
            return false;
    return true;
}

static bool jwt_b64_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* One signature must have exactly one spelling, or a token could be
 * altered without breaking its MAC. libsodium refuses padding, whitespace
 * and nonzero trailing bits, but 1.0.18 (Debian 12) decodes every byte
 * 0x80-0xFF as '_' (found by fuzz_jwt), so the alphabet is checked here
 * first. */
static int jwt_b64_decode(const char *s, size_t len, unsigned char *out, size_t cap, size_t *outlen)
{
    for (size_t i = 0; i < len; i++)
        if (!jwt_b64_char((unsigned char)s[i]))
            return -1;
    return sodium_base642bin(out, cap, s, len, NULL, outlen, NULL, JWT_B64) == 0 ? 0 : -1;
}

/* The segment decoded and parsed as a JSON object, or NULL with *rc set. */
static json_t *jwt_segment_object(const char *seg, size_t len, int *rc)
{
    unsigned char buf[JWT_SEG_MAX];
    size_t n;
    json_error_t e;

    if (jwt_b64_decode(seg, len, buf, sizeof(buf), &n) != 0) {
        *rc = JWT_ERR_FORMAT;
        return NULL;
    }
    /* Duplicate names are refused: {"alg":"none","alg":"HS256"} must not
     * mean one thing to us and another to a proxy or a log reader. */
    json_t *j = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, &e);
    if (j == NULL) {
        *rc = json_error_code(&e) == json_error_out_of_memory ? JWT_ERR_NOMEM : JWT_ERR_FORMAT;
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        *rc = JWT_ERR_FORMAT;
        return NULL;
    }
    return j;
}

static bool jwt_string_is(const json_t *v, const char *want)
{
    size_t n = strlen(want);
    return json_is_string(v) && json_string_length(v) == n && memcmp(json_string_value(v), want, n) == 0;
}

/* The key the header's kid names, or NULL. kids are public, so a plain
 * comparison is fine here; only the MAC needs constant time. */
static const unsigned char *jwt_key_for(const struct jwt_keyring *ring, const json_t *kid)
{
    if (!json_is_string(kid))
        return NULL;
    const char *s = json_string_value(kid);
    size_t n = json_string_length(kid);
    for (size_t i = 0; i < ring->n; i++)
        if (strnlen(ring->keys[i].kid, sizeof(ring->keys[i].kid)) == n && memcmp(ring->keys[i].kid, s, n) == 0)
            return ring->keys[i].key;
    return NULL;
}

/* sub is a string (RFC 7519 makes it a StringOrURI) holding the canonical
 * decimal of a positive int64: no sign, no leading zero, no overflow. */
static int jwt_sub_parse(const json_t *v, int64_t *out)
{
    if (!json_is_string(v))
        return -1;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0 || n > JWT_INT64_DIGITS || s[0] == '0')
        return -1;
    int64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        int d = s[i] - '0';
        if (x > (INT64_MAX - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    *out = x;
    return 0;
}

static int jwt_jti_parse(const json_t *v, char out[JWT_JTI_LEN + 1])
{
    if (!json_is_string(v) || json_string_length(v) != JWT_JTI_LEN)
        return -1;
    const char *s = json_string_value(v);
    for (size_t i = 0; i < JWT_JTI_LEN; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return -1;
    memcpy(out, s, JWT_JTI_LEN);
    out[JWT_JTI_LEN] = '\0';
    return 0;
}

static int jwt_claims_read(const json_t *pl, int64_t now, struct jwt_claims *c)
{
    const json_t *iat = json_object_get(pl, "iat"), *exp = json_object_get(pl, "exp");

    if (jwt_sub_parse(json_object_get(pl, "sub"), &c->sub) != 0)
        return JWT_ERR_CLAIMS;
    if (!json_is_integer(iat) || !json_is_integer(exp))
        return JWT_ERR_CLAIMS;
    c->iat = json_integer_value(iat);
    c->exp = json_integer_value(exp);
    if (jwt_jti_parse(json_object_get(pl, "jti"), c->jti) != 0)
        return JWT_ERR_CLAIMS;
    if (c->exp <= now)
        return JWT_ERR_EXPIRED;
    /* Written so that now + leeway cannot overflow. */
    if (now <= INT64_MAX - JWT_IAT_LEEWAY_S && c->iat > now + JWT_IAT_LEEWAY_S)
        return JWT_ERR_CLAIMS;
    return 0;
}

int jwt_verify(const struct jwt_keyring *ring, const char *token, size_t len, int64_t now, struct jwt_claims *out)
{
    const unsigned char *key;
    unsigned char sig[JWT_SIG_LEN], want[JWT_SIG_LEN];
    size_t sig_n;
    json_t *hdr = NULL, *pl = NULL;
    int rc;

    assert(ring->n <= JWT_KEYS_MAX);
    memset(out, 0, sizeof(*out));
    if (len > JWT_TOKEN_MAX)
        return JWT_ERR_TOO_LONG;
    if (len == 0)
        return JWT_ERR_FORMAT;

    const char *dot1 = memchr(token, '.', len);
    if (dot1 == NULL)
        return JWT_ERR_FORMAT;
    const char *pay = dot1 + 1;
    const char *dot2 = memchr(pay, '.', len - (size_t)(pay - token));
    if (dot2 == NULL)
        return JWT_ERR_FORMAT;
    const char *sigtext = dot2 + 1;
    size_t h_len = (size_t)(dot1 - token), p_len = (size_t)(dot2 - pay);
    size_t s_len = len - (size_t)(sigtext - token);
    if (memchr(sigtext, '.', s_len) != NULL)
        return JWT_ERR_FORMAT;

    hdr = jwt_segment_object(token, h_len, &rc);
    if (hdr == NULL)
        return rc;
    /* The one algorithm is ours to choose, not the token's: "none",
     * "HS512", "hs256" and a missing alg all end here. */
    if (!jwt_string_is(json_object_get(hdr, "alg"), JWT_ALG)) {
        rc = JWT_ERR_ALG;
        goto fail;
    }
    /* RFC 7515 4.1.11: extensions listed in crit must be understood, and
     * we understand none. */
    if (json_object_get(hdr, "crit") != NULL) {
        rc = JWT_ERR_FORMAT;
        goto fail;
    }
    key = jwt_key_for(ring, json_object_get(hdr, "kid"));
    if (key == NULL) {
        rc = JWT_ERR_KID;
        goto fail;
    }
    json_decref(hdr);
    hdr = NULL;

    if (s_len != JWT_B64_32_LEN || jwt_b64_decode(sigtext, s_len, sig, sizeof(sig), &sig_n) != 0 ||
        sig_n != JWT_SIG_LEN) {
        rc = JWT_ERR_SIGNATURE;
        goto fail;
    }
    /* The MAC covers the bytes as received, not a re-encoding of what we
     * parsed, so no two spellings of a header can share one signature. */
    crypto_auth_hmacsha256(want, (const unsigned char *)token, h_len + 1 + p_len, key);
    if (crypto_verify_32(sig, want) != 0) {
        rc = JWT_ERR_SIGNATURE;
        goto fail;
    }

    pl = jwt_segment_object(pay, p_len, &rc);
    if (pl == NULL)
        goto fail;
    rc = jwt_claims_read(pl, now, out);
    if (rc != 0)
        goto fail;
    json_decref(pl);
    return 0;

fail:
    json_decref(hdr);
    json_decref(pl);
    memset(out, 0, sizeof(*out));
    return rc;
}

/* base64url of src[0..n) at out, NUL-terminated; returns the chars written. */
static size_t jwt_b64_put(char *out, const void *src, size_t n)
{
    size_t enc = sodium_base64_ENCODED_LEN(n, JWT_B64);
    sodium_bin2base64(out, enc, src, n, JWT_B64);
    return enc - 1;
}

int jwt_sign(const struct jwt_keyring *ring, int64_t sub, int64_t now, int64_t ttl_s, char *out, size_t cap,
             struct jwt_claims *claims_out)
{
    struct jwt_claims c;
    unsigned char rnd[JWT_JTI_LEN / 2], sig[JWT_SIG_LEN];
    char subtext[JWT_INT64_DIGITS + 1], hjson[JWT_JSON_OUT_MAX], pjson[JWT_JSON_OUT_MAX];
    json_t *h = NULL, *p = NULL;
    int rc;

    assert(ring->n <= JWT_KEYS_MAX);
    memset(&c, 0, sizeof(c));
    if (cap > 0)
        out[0] = '\0';
    if (claims_out != NULL)
        memset(claims_out, 0, sizeof(*claims_out));
    if (ring->n == 0 || !jwt_kid_valid(ring->keys[0].kid, strnlen(ring->keys[0].kid, sizeof(ring->keys[0].kid))))
        return JWT_ERR_KID;
    if (sub <= 0 || ttl_s <= 0 || now > INT64_MAX - ttl_s)
        return JWT_ERR_CLAIMS;

    c.sub = sub;
    c.iat = now;
    c.exp = now + ttl_s;
    randombytes_buf(rnd, sizeof(rnd));
    sodium_bin2hex(c.jti, sizeof(c.jti), rnd, sizeof(rnd));
    snprintf(subtext, sizeof(subtext), "%" PRId64, sub);

    h = json_pack("{s:s, s:s, s:s}", "alg", JWT_ALG, "typ", "JWT", "kid", ring->keys[0].kid);
    p = json_pack("{s:s, s:I, s:I, s:s}", "sub", subtext, "iat", (json_int_t)c.iat, "exp", (json_int_t)c.exp, "jti",
                  c.jti);
    if (h == NULL || p == NULL) {
        rc = JWT_ERR_NOMEM;
        goto fail;
    }
    size_t hn = json_dumpb(h, hjson, sizeof(hjson), JSON_COMPACT);
    size_t pn = json_dumpb(p, pjson, sizeof(pjson), JSON_COMPACT);
    if (hn == 0 || pn == 0) {
        rc = JWT_ERR_NOMEM;
        goto fail;
    }
    /* Cannot happen with a valid kid and int64 claims; json_dumpb would
     * have truncated. */
    if (hn > sizeof(hjson) || pn > sizeof(pjson)) {
        rc = JWT_ERR_TOO_LONG;
        goto fail;
    }

    size_t he = sodium_base64_ENCODED_LEN(hn, JWT_B64) - 1, pe = sodium_base64_ENCODED_LEN(pn, JWT_B64) - 1;
    size_t total = he + 1 + pe + 1 + JWT_B64_32_LEN;
    if (total > JWT_TOKEN_MAX || total >= cap) {
        rc = JWT_ERR_TOO_LONG;
        goto fail;
    }
    size_t pos = jwt_b64_put(out, hjson, hn);
    out[pos++] = '.';
    pos += jwt_b64_put(out + pos, pjson, pn);
    crypto_auth_hmacsha256(sig, (const unsigned char *)out, pos, ring->keys[0].key);
    out[pos++] = '.';
    pos += jwt_b64_put(out + pos, sig, sizeof(sig));
    assert(pos == total);

    json_decref(h);
    json_decref(p);
    if (claims_out != NULL)
        *claims_out = c;
    return 0;

fail:
    json_decref(h);
    json_decref(p);
    if (cap > 0)
        out[0] = '\0';
    return rc;
}

const char *jwt_strerror(int err)
{
    switch (err) {
    case 0:
        return "ok";
    case JWT_ERR_FORMAT:
        return "malformed token";
    case JWT_ERR_ALG:
        return "unsupported algorithm";
    case JWT_ERR_KID:
        return "unknown signing key";
    case JWT_ERR_SIGNATURE:
        return "bad signature";
    case JWT_ERR_EXPIRED:
        return "token expired";
    case JWT_ERR_CLAIMS:
        return "invalid claims";
    case JWT_ERR_TOO_LONG:
        return "token too long";
    case JWT_ERR_NOMEM:
        return "out of memory";
    default:
        return "invalid token";
    }
}

__attribute__((format(printf, 3, 4))) static void jwt_errf(char *err, size_t errcap, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errcap == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errcap, fmt, ap);
    va_end(ap);
}

static bool jwt_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

int jwt_keyring_parse(struct jwt_keyring *ring, const char *text, size_t len, char *err, size_t errcap)
{
    /* Sized for a whole line so that a key of the wrong length decodes and
     * the message can say how long it was. */
    unsigned char key[JWT_KEYRING_LINE_MAX];
    size_t pos = 0, lineno = 0;

    sodium_memzero(ring, sizeof(*ring));
    if (err != NULL && errcap > 0)
        err[0] = '\0';
    if (len > JWT_KEYRING_MAX) {
        jwt_errf(err, errcap, "keyring is larger than %d bytes", JWT_KEYRING_MAX);
        goto fail;
    }
    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl != NULL ? (size_t)(nl - line) : len - pos;
        size_t klen;

        pos += n + (nl != NULL);
        lineno++;
        if (n > JWT_KEYRING_LINE_MAX) {
            jwt_errf(err, errcap, "line %zu: longer than %d chars", lineno, JWT_KEYRING_LINE_MAX);
            goto fail;
        }
        while (n > 0 && jwt_blank(line[n - 1]))
            n--;
        while (n > 0 && jwt_blank(line[0])) {
            line++;
            n--;
        }
        if (n == 0 || line[0] == '#')
            continue;

        const char *colon = memchr(line, ':', n);
        if (colon == NULL) {
            jwt_errf(err, errcap, "line %zu: expected kid:base64url-key", lineno);
            goto fail;
        }
        size_t kid_len = (size_t)(colon - line);
        if (!jwt_kid_valid(line, kid_len)) {
            jwt_errf(err, errcap, "line %zu: kid must be 1-%d chars of A-Z a-z 0-9 . _ -", lineno, JWT_KID_MAX);
            goto fail;
        }
        for (size_t i = 0; i < ring->n; i++) {
            if (strlen(ring->keys[i].kid) == kid_len && memcmp(ring->keys[i].kid, line, kid_len) == 0) {
                jwt_errf(err, errcap, "line %zu: duplicate kid", lineno);
                goto fail;
            }
        }
        if (ring->n == JWT_KEYS_MAX) {
            jwt_errf(err, errcap, "line %zu: more than %d keys", lineno, JWT_KEYS_MAX);
            goto fail;
        }
        if (jwt_b64_decode(colon + 1, n - kid_len - 1, key, sizeof(key), &klen) != 0) {
            jwt_errf(err, errcap, "line %zu: key is not unpadded base64url", lineno);
            goto fail;
        }
        if (klen != JWT_KEY_LEN) {
            jwt_errf(err, errcap, "line %zu: key is %zu bytes, want %d", lineno, klen, JWT_KEY_LEN);
            goto fail;
        }
        /* A zeroed key is a placeholder someone forgot to replace. */
        if (sodium_is_zero(key, JWT_KEY_LEN)) {
            jwt_errf(err, errcap, "line %zu: key is all zeros", lineno);
            goto fail;
        }
        memcpy(ring->keys[ring->n].kid, line, kid_len);
        memcpy(ring->keys[ring->n].key, key, JWT_KEY_LEN);
        ring->n++;
    }
    if (ring->n == 0) {
        jwt_errf(err, errcap, "no keys");
        goto fail;
    }
    sodium_memzero(key, sizeof(key));
    return 0;

fail:
    sodium_memzero(key, sizeof(key));
    sodium_memzero(ring, sizeof(*ring));
    return -1;
}

size_t jwt_key_generate_line(const char *kid, char *buf, size_t cap)
{
    unsigned char key[JWT_KEY_LEN];
    size_t kid_len = kid != NULL ? strnlen(kid, JWT_KID_MAX + 1) : 0;
    size_t len = kid_len + 1 + JWT_B64_32_LEN + 1;

    if (cap > 0)
        buf[0] = '\0';
    if (!jwt_kid_valid(kid, kid_len) || cap < len + 1)
        return 0;
    randombytes_buf(key, sizeof(key));
    memcpy(buf, kid, kid_len);
    buf[kid_len] = ':';
    jwt_b64_put(buf + kid_len + 1, key, sizeof(key));
    sodium_memzero(key, sizeof(key));
    buf[len - 1] = '\n';
    buf[len] = '\0';
    return len;
}
