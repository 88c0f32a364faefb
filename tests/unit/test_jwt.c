/* jwt: sign/verify round trip and time boundaries, then every way a token
 * can be forged or mangled (alg confusion, tampering, wrong or unknown
 * keys, rotation, size cap, garbage), then the keyring file format. Hostile
 * tokens are crafted here with a real HMAC so that each check is reached
 * on its own and not masked by an earlier one. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/jwt.h"

#define NOW INT64_C(1700000000)
#define TTL 900
#define JTI "0123456789abcdef0123456789abcdef"
#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define HDR_OK "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k2\"}"
/* A payload that verifies at NOW; the tables below vary one field. */
#define PL_OK "{\"sub\":\"42\",\"iat\":1700000000,\"exp\":1700000900,\"jti\":\"" JTI "\"}"

static void setup(void)
{
    cr_assert_geq(sodium_init(), 0);
}

TestSuite(jwt, .init = setup);

static void ring_add(struct jwt_keyring *r, const char *kid, unsigned char fill)
{
    cr_assert_lt(r->n, JWT_KEYS_MAX);
    snprintf(r->keys[r->n].kid, sizeof(r->keys[r->n].kid), "%s", kid);
    memset(r->keys[r->n].key, fill, JWT_KEY_LEN);
    r->n++;
}

/* keys[0] = k2 (signs), keys[1] = k1 */
static struct jwt_keyring test_ring(void)
{
    struct jwt_keyring r = {0};
    ring_add(&r, "k2", 0x22);
    ring_add(&r, "k1", 0x11);
    return r;
}

static size_t b64(char *out, size_t cap, const void *bin, size_t n)
{
    size_t enc = sodium_base64_ENCODED_LEN(n, B64);
    cr_assert_leq(enc, cap);
    sodium_bin2base64(out, enc, bin, n, B64);
    return enc - 1;
}

/* b64(h) "." b64(p) "." then, with a key, the real HMAC of what precedes
 * it, else sig verbatim. Returns the length; out is NUL-terminated. */
static size_t craft_n(char *out, size_t cap, const char *h, size_t hn, const char *p, size_t pn,
                      const unsigned char *key, const char *sig)
{
    size_t pos = b64(out, cap, h, hn);
    cr_assert_lt(pos + 1, cap);
    out[pos++] = '.';
    pos += b64(out + pos, cap - pos, p, pn);
    cr_assert_lt(pos + 1, cap);
    if (key != NULL) {
        unsigned char mac[crypto_auth_hmacsha256_BYTES];
        crypto_auth_hmacsha256(mac, (const unsigned char *)out, pos, key);
        out[pos++] = '.';
        pos += b64(out + pos, cap - pos, mac, sizeof(mac));
    } else {
        out[pos++] = '.';
        cr_assert_lt(pos + strlen(sig), cap);
        memcpy(out + pos, sig, strlen(sig) + 1);
        pos += strlen(sig);
    }
    return pos;
}

static size_t craft(char *out, size_t cap, const char *h, const char *p, const unsigned char *key, const char *sig)
{
    return craft_n(out, cap, h, strlen(h), p, strlen(p), key, sig);
}

/* Decodes segment i (0 header, 1 payload) of a token into out as a string. */
static void segment(const char *tok, int i, char *out, size_t cap)
{
    const char *s = tok;
    for (; i > 0; i--)
        s = strchr(s, '.') + 1;
    const char *e = strchr(s, '.');
    size_t n;
    cr_assert_eq(sodium_base642bin((unsigned char *)out, cap - 1, s, (size_t)(e - s), NULL, &n, NULL, B64), 0);
    out[n] = '\0';
}

Test(jwt, round_trip)
{
    struct jwt_keyring r = test_ring();
    struct jwt_claims signed_c, got;
    char tok[JWT_TOKEN_MAX + 1], json[512];

    cr_assert_eq(jwt_sign(&r, 42, NOW, TTL, tok, sizeof(tok), &signed_c), 0);
    cr_assert_eq(signed_c.sub, 42);
    cr_assert_eq(signed_c.iat, NOW);
    cr_assert_eq(signed_c.exp, NOW + TTL);
    cr_assert_eq(strlen(signed_c.jti), JWT_JTI_LEN);
    cr_assert_eq(strspn(signed_c.jti, "0123456789abcdef"), JWT_JTI_LEN);

    segment(tok, 0, json, sizeof(json));
    cr_assert_str_eq(json, HDR_OK);
    segment(tok, 1, json, sizeof(json));
    char want[256];
    snprintf(want, sizeof(want), "{\"sub\":\"42\",\"iat\":%lld,\"exp\":%lld,\"jti\":\"%s\"}", (long long)NOW,
             (long long)(NOW + TTL), signed_c.jti);
    cr_assert_str_eq(json, want);

    cr_assert_eq(jwt_verify(&r, tok, strlen(tok), NOW, &got), 0);
    cr_assert_eq(got.sub, 42);
    cr_assert_eq(got.iat, NOW);
    cr_assert_eq(got.exp, NOW + TTL);
    cr_assert_str_eq(got.jti, signed_c.jti);
}

Test(jwt, round_trip_extremes)
{
    struct jwt_keyring r = test_ring();
    struct jwt_claims c;
    char tok[JWT_TOKEN_MAX + 1];

    cr_assert_eq(jwt_sign(&r, INT64_MAX, NOW, TTL, tok, sizeof(tok), NULL), 0);
    cr_assert_eq(jwt_verify(&r, tok, strlen(tok), NOW, &c), 0);
    cr_assert_eq(c.sub, INT64_MAX);
    cr_assert_eq(jwt_sign(&r, 1, INT64_MAX - 1, 1, tok, sizeof(tok), NULL), 0);
    cr_assert_eq(jwt_verify(&r, tok, strlen(tok), INT64_MAX - 1, &c), 0);
    cr_assert_eq(c.exp, INT64_MAX);
    cr_assert_eq(jwt_sign(&r, 7, INT64_MIN, TTL, tok, sizeof(tok), NULL), 0);
    cr_assert_eq(jwt_verify(&r, tok, strlen(tok), INT64_MIN, &c), 0);
    cr_assert_eq(c.iat, INT64_MIN);
}

Test(jwt, jti_differs)
{
    struct jwt_keyring r = test_ring();
    struct jwt_claims a, b;
    char tok[JWT_TOKEN_MAX + 1];

    cr_assert_eq(jwt_sign(&r, 1, NOW, TTL, tok, sizeof(tok), &a), 0);
    cr_assert_eq(jwt_sign(&r, 1, NOW, TTL, tok, sizeof(tok), &b), 0);
    cr_assert_str_neq(a.jti, b.jti);
}

Test(jwt, expiry_boundary)
{
    struct jwt_keyring r = test_ring();
    struct jwt_claims c;
    char tok[JWT_TOKEN_MAX + 1];

    cr_assert_eq(jwt_sign(&r, 42, NOW, 60, tok, sizeof(tok), NULL), 0);
    cr_assert_eq(jwt_verify(&r, tok, strlen(tok), NOW + 59, &c), 0);
    cr_assert_eq(jwt_verify(&r, tok, strlen(tok), NOW + 60, &c), JWT_ERR_EXPIRED); /* exp == now */
    cr_assert_eq(c.sub, 0, "claims are zeroed on failure");
    cr_assert_eq(jwt_verify(&r, tok, strlen(tok), NOW + 86400, &c), JWT_ERR_EXPIRED);
}

Test(jwt, iat_in_future)
{
    struct jwt_keyring r = test_ring();
    struct jwt_claims c;
    char tok[JWT_TOKEN_MAX + 1];

    cr_assert_eq(jwt_sign(&r, 42, NOW + 60, TTL, tok, sizeof(tok), NULL), 0);
    cr_assert_eq(jwt_verify(&r, tok, strlen(tok), NOW, &c), 0, "60 s of skew is allowed");
    cr_assert_eq(jwt_sign(&r, 42, NOW + 61, TTL, tok, sizeof(tok), NULL), 0);
    cr_assert_eq(jwt_verify(&r, tok, strlen(tok), NOW, &c), JWT_ERR_CLAIMS);
    cr_assert_eq(jwt_verify(&r, tok, strlen(tok), INT64_MAX - 10, &c), JWT_ERR_EXPIRED);
}

Test(jwt, tampered_payload)
{
    struct jwt_keyring r = test_ring();
    struct jwt_claims c;
    char tok[JWT_TOKEN_MAX + 1], forged[JWT_TOKEN_MAX + 1], json[512], pl[512];

    cr_assert_eq(jwt_sign(&r, 42, NOW, TTL, tok, sizeof(tok), NULL), 0);
    segment(tok, 1, json, sizeof(json));
    /* sub "42" -> "1": an attacker promoting themselves to user 1 */
    char *p = strstr(json, "\"42\"");
    cr_assert_not_null(p);
    snprintf(pl, sizeof(pl), "%.*s\"1\"%s", (int)(p - json), json, p + 4);
    segment(tok, 0, json, sizeof(json));
    craft(forged, sizeof(forged), json, pl, NULL, strrchr(tok, '.') + 1);
    cr_assert_eq(jwt_verify(&r, forged, strlen(forged), NOW, &c), JWT_ERR_SIGNATURE);

    /* One flipped bit anywhere before the signature. */
    size_t sig_at = (size_t)(strrchr(tok, '.') - tok);
    for (size_t i = 0; i < sig_at; i++) {
        if (tok[i] == '.')
            continue;
        memcpy(forged, tok, strlen(tok) + 1);
        forged[i] = forged[i] == 'A' ? 'B' : 'A';
        int rc = jwt_verify(&r, forged, strlen(forged), NOW, &c);
        cr_assert_neq(rc, 0, "flip at %zu accepted", i);
    }
}

Test(jwt, signature_malleability)
{
    struct jwt_keyring r = test_ring();
    struct jwt_claims c;
    char tok[JWT_TOKEN_MAX + 1];
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    cr_assert_eq(jwt_sign(&r, 42, NOW, TTL, tok, sizeof(tok), NULL), 0);
    size_t n = strlen(tok);
    /* The last char carries 4 signature bits and 2 zero bits: setting the
     * zero bits must not give a second valid spelling. */
    int idx = (int)(strchr(alpha, tok[n - 1]) - alpha);
    for (int low = 1; low < 4; low++) {
        tok[n - 1] = alpha[idx ^ low];
        cr_assert_eq(jwt_verify(&r, tok, n, NOW, &c), JWT_ERR_SIGNATURE);
    }
    tok[n - 1] = alpha[idx];
    cr_assert_eq(jwt_verify(&r, tok, n, NOW, &c), 0);
    /* padding, a trailing newline, a truncated signature */
    char t2[JWT_TOKEN_MAX + 2];
    snprintf(t2, sizeof(t2), "%s=", tok);
    cr_assert_eq(jwt_verify(&r, t2, n + 1, NOW, &c), JWT_ERR_SIGNATURE);
    snprintf(t2, sizeof(t2), "%s\n", tok);
    cr_assert_eq(jwt_verify(&r, t2, n + 1, NOW, &c), JWT_ERR_SIGNATURE);
    cr_assert_eq(jwt_verify(&r, tok, n - 1, NOW, &c), JWT_ERR_SIGNATURE);
}

/* Every byte outside the base64url alphabet, in every position, is
 * refused: libsodium 1.0.18 alone would read 0x80-0xFF as '_', which gave
 * each signature containing '_' a second spelling. */
Test(jwt, segment_alphabet)
{
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    struct jwt_keyring r = test_ring();
    struct jwt_claims c;
    char tok[JWT_TOKEN_MAX + 1], bad[JWT_TOKEN_MAX + 1];
    int tries = 0;

    do {
        cr_assert_lt(tries++, 1000);
        cr_assert_eq(jwt_sign(&r, 42, NOW, TTL, tok, sizeof(tok), NULL), 0);
    } while (strchr(strrchr(tok, '.'), '_') == NULL);

    size_t n = strlen(tok), dot1 = (size_t)(strchr(tok, '.') - tok), dot2 = (size_t)(strrchr(tok, '.') - tok);
    for (size_t pos = 0; pos < n; pos++) {
        if (pos == dot1 || pos == dot2)
            continue;
        for (int b = 1; b < 256; b++) {
            if (b == '.' || memchr(alpha, b, sizeof(alpha) - 1) != NULL)
                continue;
            memcpy(bad, tok, n + 1);
            bad[pos] = (char)b;
            int want = pos < dot1 ? JWT_ERR_FORMAT : JWT_ERR_SIGNATURE;
            cr_assert_eq(jwt_verify(&r, bad, n, NOW, &c), want, "byte 0x%02x at %zu of %s", b, pos, tok);
        }
    }
}

Test(jwt, alg_none)
{
    struct jwt_keyring r = test_ring();
    struct jwt_claims c;
    char tok[JWT_TOKEN_MAX + 1];

    craft(tok, sizeof(tok), "{\"alg\":\"none\"}", PL_OK, NULL, "");
    cr_assert_eq(jwt_verify(&r, tok, strlen(tok), NOW, &c), JWT_ERR_ALG);
    craft(tok, sizeof(tok), "{\"alg\":\"none\",\"typ\":\"JWT\",\"kid\":\"k2\"}", PL_OK, NULL, "");
    cr_assert_eq(jwt_verify(&r, tok, strlen(tok), NOW, &c), JWT_ERR_ALG);
    craft(tok, sizeof(tok), "{\"alg\":\"None\",\"kid\":\"k2\"}", PL_OK, NULL, "");
    cr_assert_eq(jwt_verify(&r, tok, strlen(tok), NOW, &c), JWT_ERR_ALG);
}

/* Each header is signed with the right key, so only the alg check can
 * refuse it. */
static const char *const bad_alg_headers[] = {
    "{\"alg\":\"HS512\",\"kid\":\"k2\"}",   "{\"alg\":\"HS384\",\"kid\":\"k2\"}",
    "{\"alg\":\"RS256\",\"kid\":\"k2\"}",   "{\"alg\":\"ES256\",\"kid\":\"k2\"}",
    "{\"alg\":\"hs256\",\"kid\":\"k2\"}",   "{\"alg\":\"Hs256\",\"kid\":\"k2\"}",
    "{\"alg\":\"HS256 \",\"kid\":\"k2\"}",  "{\"alg\":\" HS256\",\"kid\":\"k2\"}",
    "{\"alg\":\"HS2560\",\"kid\":\"k2\"}",  "{\"alg\":\"HS25\",\"kid\":\"k2\"}",
    "{\"alg\":\"\",\"kid\":\"k2\"}",        "{\"alg\":null,\"kid\":\"k2\"}",
    "{\"alg\":256,\"kid\":\"k2\"}",         "{\"alg\":true,\"kid\":\"k2\"}",
    "{\"alg\":[\"HS256\"],\"kid\":\"k2\"}", "{\"alg\":{\"HS256\":1},\"kid\":\"k2\"}",
    "{\"ALG\":\"HS256\",\"kid\":\"k2\"}",   "{\"kid\":\"k2\"}",
    "{\"typ\":\"JWT\",\"kid\":\"k2\"}",     "{}",
};

Test(jwt, alg_table)
{
    struct jwt_keyring r = test_ring();
    struct jwt_claims c;
    char tok[JWT_TOKEN_MAX + 1];

    for (size_t i = 0; i < sizeof(bad_alg_headers) / sizeof(bad_alg_headers[0]); i++) {
        craft(tok, sizeof(tok), bad_alg_headers[i], PL_OK, r.keys[0].key, NULL);
        cr_assert_eq(jwt_verify(&r, tok, strlen(tok), NOW, &c), JWT_ERR_ALG, "header %s", bad_alg_headers[i]);
    }
    /* The control: the same construction with alg HS256 passes. */
    craft(tok, sizeof(tok), HDR_OK, PL_OK, r.keys[0].key, NULL);
    cr_assert_eq(jwt_verify(&r, tok, strlen(tok), NOW, &c), 0);
    craft(tok, sizeof(tok), "{\"kid\":\"k2\",\"alg\":\"HS256\"}", PL_OK, r.keys[0].key, NULL);
    cr_assert_eq(jwt_verify(&r, tok, strlen(tok), NOW, &c), 0, "member order does not matter");
}

Test(jwt, duplicate_members)
{
    struct jwt_keyring r = test_ring();
    struct jwt_claims c;
    char tok[JWT_TOKEN_MAX + 1];

    craft(tok, sizeof(tok), "{\"alg\":\"none\",\"alg\":\"HS256\",\"kid\":\"k2\"}", PL_OK, r.keys[0].key, NULL);
    cr_assert_eq(jwt_verify(&r, tok, strlen(tok), NOW, &c), JWT_ERR_FORMAT);
    craft(tok, sizeof(tok), "{\"alg\":\"HS256\",\"alg\":\"none\",\"kid\":\"k2\"}", PL_OK, r.keys[0].key, NULL);
    cr_assert_eq(jwt_verify(&r, tok, strlen(tok), NOW, &c), JWT_ERR_FORMAT);
    craft(tok, sizeof(tok), "{\"alg\":\"HS256\",\"kid\":\"k1\",\"kid\":\"k2\"}", PL_OK, r.keys[0].key, NULL);
    cr_assert_eq(jwt_verify(&r, tok, strlen(tok), NOW, &c), JWT_ERR_FORMAT);
    craft(tok, sizeof(tok), HDR_OK,
          "{\"sub\":\"1\",\"sub\":\"42\",\"iat\":1700000000,\"exp\":1700000900,\"jti\":\"" JTI "\"}", r.keys[0].key,
          NULL);
    cr_assert_eq(jwt_verify(&r, tok, strlen(tok), NOW, &c), JWT_ERR_FORMAT);
}

/* Without JSON_ALLOW_NUL jansson refuses \u0000, so "HS256\0" or "k2\0"
 * are malformed before they reach the alg and kid comparisons (which would
 * refuse them too: they compare lengths). */
Test(jwt, nul_in_strings)
{
    struct jwt_keyring r = test_ring();
    struct jwt_claims c;
    char tok[JWT_TOKEN_MAX + 1];

    craft(tok, sizeof(tok), "{\"alg\":\"HS256\\u0000\",\"kid\":\"k2\"}", PL_OK, r.keys[0].key, NULL);
    cr_assert_eq(jwt_verify(&r, tok, strlen(tok), NOW, &c), JWT_ERR_FORMAT);
    craft(tok, sizeof(tok), "{\"alg\":\"HS256\",\"kid\":\"k2\\u0000\"}", PL_OK, r.keys[0].key, NULL);
    cr_assert_eq(jwt_verify(&r, tok, strlen(tok), NOW, &c), JWT_ERR_FORMAT);
}

Test(jwt, crit_refused)
{
    struct jwt_keyring r = test_ring();
    struct jwt_claims c;
    char tok[JWT_TOKEN_MAX + 1];

    craft(tok, sizeof(tok), "{\"alg\":\"HS256\",\"kid\":\"k2\",\"crit\":[\"exp\"]}", PL_OK, r.keys[0].key, NULL);
    cr_assert_eq(jwt_verify(&r, tok, strlen(tok), NOW, &c), JWT_ERR_FORMAT);
}

Test(jwt, wrong_key_same_kid)
{
    struct jwt_keyring r = test_ring(), other = {0};
    struct jwt_claims c;
    char tok[JWT_TOKEN_MAX + 1];

    ring_add(&other, "k2", 0x99);
    cr_assert_eq(jwt_sign(&other, 42, NOW, TTL, tok, sizeof(tok), NULL), 0);
    cr_assert_eq(jwt_verify(&r, tok, strlen(tok), NOW, &c), JWT_ERR_SIGNATURE);
    /* the k1 key under the k2 name */
    craft(tok, sizeof(tok), HDR_OK, PL_OK, r.keys[1].key, NULL);
    cr_assert_eq(jwt_verify(&r, tok, strlen(tok), NOW, &c), JWT_ERR_SIGNATURE);
}

Test(jwt, unknown_kid)
{
    struct jwt_keyring r = test_ring(), other = {0};
    struct jwt_claims c;
    char tok[JWT_TOKEN_MAX + 1];
    static const char *const hdrs[] = {
        "{\"alg\":\"HS256\",\"kid\":\"k3\"}",
        "{\"alg\":\"HS256\",\"kid\":\"K2\"}",
        "{\"alg\":\"HS256\",\"kid\":\"k\"}",
        "{\"alg\":\"HS256\",\"kid\":\"k22\"}",
        "{\"alg\":\"HS256\",\"kid\":\"\"}",
        "{\"alg\":\"HS256\",\"kid\":2}",
        "{\"alg\":\"HS256\",\"kid\":null}",
        "{\"alg\":\"HS256\",\"kid\":[\"k2\"]}",
        "{\"alg\":\"HS256\"}",
    };

    ring_add(&other, "k3", 0x33);
    cr_assert_eq(jwt_sign(&other, 42, NOW, TTL, tok, sizeof(tok), NULL), 0);
    cr_assert_eq(jwt_verify(&r, tok, strlen(tok), NOW, &c), JWT_ERR_KID);
    for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
        craft(tok, sizeof(tok), hdrs[i], PL_OK, r.keys[0].key, NULL);
        cr_assert_eq(jwt_verify(&r, tok, strlen(tok), NOW, &c), JWT_ERR_KID, "header %s", hdrs[i]);
    }
}

Test(jwt, rotation)
{
    struct jwt_keyring old = {0}, cur = test_ring();
    struct jwt_claims c;
    char tok_old[JWT_TOKEN_MAX + 1], tok_new[JWT_TOKEN_MAX + 1], json[256];

    ring_add(&old, "k1", 0x11);
    cr_assert_eq(jwt_sign(&old, 42, NOW, TTL, tok_old, sizeof(tok_old), NULL), 0);
    /* after rotation k1 is keys[1]: its tokens still verify */
    cr_assert_eq(jwt_verify(&cur, tok_old, strlen(tok_old), NOW, &c), 0);
    cr_assert_eq(c.sub, 42);
    /* new tokens are signed by keys[0] */
    cr_assert_eq(jwt_sign(&cur, 43, NOW, TTL, tok_new, sizeof(tok_new), NULL), 0);
    segment(tok_new, 0, json, sizeof(json));
    cr_assert(strstr(json, "\"kid\":\"k2\"") != NULL);
    cr_assert_eq(jwt_verify(&cur, tok_new, strlen(tok_new), NOW, &c), 0);
    /* a server that has not loaded k2 yet */
    cr_assert_eq(jwt_verify(&old, tok_new, strlen(tok_new), NOW, &c), JWT_ERR_KID);
    /* k1 retired */
    struct jwt_keyring retired = {0};
    ring_add(&retired, "k2", 0x22);
    cr_assert_eq(jwt_verify(&retired, tok_old, strlen(tok_old), NOW, &c), JWT_ERR_KID);
}

/* A validly signed token of exactly `want` bytes, padded with an extra
 * header member; returns 0 when the padding arithmetic found one. */
static int token_of_length(const struct jwt_keyring *r, size_t want, char *out, size_t cap)
{
    char hdr[JWT_TOKEN_MAX];
    /* base64 lengths skip 4k+1, so also pad the payload's jti-free
     * sibling member by 0-2 chars to reach every total. */
    for (size_t pp = 0; pp < 3; pp++) {
        char pl[256];
        snprintf(pl, sizeof(pl),
                 "{\"sub\":\"42\",\"iat\":1700000000,\"exp\":1700000900,\"jti\":\"" JTI "\",\"x\":\"%.*s\"}", (int)pp,
                 "yy");
        for (size_t pad = 0; pad < 1600; pad++) {
            int n = snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"kid\":\"k2\",\"x\":\"%*s\"}", (int)pad, "");
            cr_assert_lt((size_t)n, sizeof(hdr));
            size_t len = craft(out, cap, hdr, pl, r->keys[0].key, NULL);
            if (len == want)
                return 0;
            if (len > want)
                break;
        }
    }
    return -1;
}

Test(jwt, length_cap)
{
    struct jwt_keyring r = test_ring();
    struct jwt_claims c;
    static char tok[JWT_TOKEN_MAX * 2];

    cr_assert_eq(token_of_length(&r, JWT_TOKEN_MAX, tok, sizeof(tok)), 0);
    cr_assert_eq(jwt_verify(&r, tok, JWT_TOKEN_MAX, NOW, &c), 0, "2048 bytes is allowed");
    cr_assert_eq(token_of_length(&r, JWT_TOKEN_MAX + 1, tok, sizeof(tok)), 0);
    cr_assert_eq(jwt_verify(&r, tok, JWT_TOKEN_MAX + 1, NOW, &c), JWT_ERR_TOO_LONG, "even when validly signed");

    memset(tok, 'a', sizeof(tok));
    cr_assert_eq(jwt_verify(&r, tok, JWT_TOKEN_MAX + 1, NOW, &c), JWT_ERR_TOO_LONG);
    cr_assert_eq(jwt_verify(&r, tok, sizeof(tok), NOW, &c), JWT_ERR_TOO_LONG);
    cr_assert_eq(jwt_verify(&r, tok, SIZE_MAX, NOW, &c), JWT_ERR_TOO_LONG, "refused before reading");
    cr_assert_eq(jwt_verify(&r, tok, JWT_TOKEN_MAX, NOW, &c), JWT_ERR_FORMAT);
}

struct garbage_case {
    const char *in;
    size_t len; /* 0: strlen(in) */
    int rc;
};

/* Tokens that need no key: structure and header failures. */
/* clang-format off */
static const struct garbage_case garbage_cases[] = {
    {"", 0, JWT_ERR_FORMAT},
    {".", 0, JWT_ERR_FORMAT},
    {"..", 0, JWT_ERR_FORMAT},                 /* empty header: not JSON */
    {"...", 0, JWT_ERR_FORMAT},
    {"a", 0, JWT_ERR_FORMAT},
    {"a.b", 0, JWT_ERR_FORMAT},
    {"a.b.c.d", 0, JWT_ERR_FORMAT},
    {"a.b.c.", 0, JWT_ERR_FORMAT},
    {"eyJhbGciOiJIUzI1NiJ9", 0, JWT_ERR_FORMAT},          /* {"alg":"HS256"} alone */
    {"eyJhbGciOiJIUzI1NiJ9.e30", 0, JWT_ERR_FORMAT},
    {"!!!!.e30.AAAA", 0, JWT_ERR_FORMAT},                  /* bad base64 */
    {"eyJhbGciOiJIUzI1NiJ9=.e30.x", 0, JWT_ERR_FORMAT},    /* padding */
    {"eyJhbGciOiJIUzI1NiJ9 .e30.x", 0, JWT_ERR_FORMAT},
    {"eyJhbGciOiJIUzI1NiJ9\n.e30.x", 0, JWT_ERR_FORMAT},
    {"eyJhbGciOiJIUzI1NiJ+.e30.x", 0, JWT_ERR_FORMAT},     /* '+' is base64, not base64url */
    {"eyJhbGciOiJIUzI1NiJ/.e30.x", 0, JWT_ERR_FORMAT},
    {"e.e30.x", 0, JWT_ERR_FORMAT},                        /* 1 char: 6 bits */
    {"eyJhbGciOiJIUzI1NiJ9\0.e30.x", 21, JWT_ERR_FORMAT},
    {"aGVsbG8.e30.x", 0, JWT_ERR_FORMAT},                  /* hello */
    {"WzFd.e30.x", 0, JWT_ERR_FORMAT},                     /* [1] */
    {"WyJIUzI1NiJd.e30.x", 0, JWT_ERR_FORMAT},             /* ["HS256"] */
    {"IkhTMjU2Ig.e30.x", 0, JWT_ERR_FORMAT},               /* "HS256" */
    {"bnVsbA.e30.x", 0, JWT_ERR_FORMAT},                   /* null */
    {"MQ.e30.x", 0, JWT_ERR_FORMAT},                       /* 1 */
    {"e30g.e30.x", 0, JWT_ERR_ALG},                        /* "{} ": trailing space is fine JSON */
    {"e319.e30.x", 0, JWT_ERR_FORMAT},                     /* {}} trailing garbage */
    {"eyJhbGciOiJIUzI1NiIsImtpZCI6Imsy.e30.x", 0, JWT_ERR_FORMAT}, /* truncated JSON */
    {"_-_-.e30.x", 0, JWT_ERR_FORMAT},                     /* not UTF-8 */
    {"e30.e30.x", 0, JWT_ERR_ALG},                         /* {} */
    {"eyJhbGciOiJub25lIn0.e30.", 0, JWT_ERR_ALG},
    {"eyJhbGciOiJIUzI1NiJ9.e30.x", 0, JWT_ERR_KID},        /* no kid */
    {"eyJhbGciOiJIUzI1NiIsImtpZCI6ImsyIn0.e30.", 0, JWT_ERR_SIGNATURE},  /* kid k2, empty signature */
    {"eyJhbGciOiJIUzI1NiIsImtpZCI6ImsyIn0.e30.x", 0, JWT_ERR_SIGNATURE},
    {"eyJhbGciOiJIUzI1NiIsImtpZCI6ImsyIn0.e30.!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!", 0, JWT_ERR_SIGNATURE},
    {"eyJhbGciOiJIUzI1NiIsImtpZCI6ImsyIn0.e30.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 0, JWT_ERR_SIGNATURE},
    {"eyJhbGciOiJIUzI1NiIsImtpZCI6ImsyIn0..AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 0, JWT_ERR_SIGNATURE},
};
/* clang-format on */

Test(jwt, garbage_table)
{
    struct jwt_keyring r = test_ring();
    struct jwt_claims c;

    for (size_t i = 0; i < sizeof(garbage_cases) / sizeof(garbage_cases[0]); i++) {
        const struct garbage_case *g = &garbage_cases[i];
        size_t len = g->len ? g->len : strlen(g->in);
        /* a heap copy of exactly len bytes, so ASan sees any overread */
        char *copy = malloc(len ? len : 1);
        cr_assert_not_null(copy);
        memcpy(copy, g->in, len);
        memset(&c, 0xAA, sizeof(c));
        int rc = jwt_verify(&r, copy, len, NOW, &c);
        cr_assert_eq(rc, g->rc, "case %zu \"%s\": got %d (%s), want %d", i, g->in, rc, jwt_strerror(rc), g->rc);
        cr_assert_eq(c.sub, 0);
        free(copy);
    }
    cr_assert_eq(jwt_verify(&r, NULL, 0, NOW, &c), JWT_ERR_FORMAT);
}

struct payload_case {
    const char *json;
    int rc;
};

/* Payloads under a valid header and a valid MAC: only the claim checks
 * stand between them and acceptance. */
/* clang-format off */
#define IE "\"iat\":1700000000,\"exp\":1700000900"
#define J ",\"jti\":\"" JTI "\""
static const struct payload_case payload_cases[] = {
    {PL_OK, 0},
    {"{\"sub\":\"1\"," IE J "}", 0},
    {"{\"sub\":\"9223372036854775807\"," IE J "}", 0},
    {"{\"jti\":\"" JTI "\",\"exp\":1700000900,\"iat\":1700000000,\"sub\":\"42\",\"extra\":[1,{}]}", 0},
    {"{\"sub\":\"9223372036854775808\"," IE J "}", JWT_ERR_CLAIMS},     /* INT64_MAX + 1 */
    {"{\"sub\":\"99999999999999999999\"," IE J "}", JWT_ERR_CLAIMS},
    {"{\"sub\":\"18446744073709551658\"," IE J "}", JWT_ERR_CLAIMS},    /* wraps to 42 in u64 */
    {"{\"sub\":\"0\"," IE J "}", JWT_ERR_CLAIMS},
    {"{\"sub\":\"-5\"," IE J "}", JWT_ERR_CLAIMS},
    {"{\"sub\":\"-9223372036854775808\"," IE J "}", JWT_ERR_CLAIMS},
    {"{\"sub\":\"+5\"," IE J "}", JWT_ERR_CLAIMS},
    {"{\"sub\":\"042\"," IE J "}", JWT_ERR_CLAIMS},
    {"{\"sub\":\" 42\"," IE J "}", JWT_ERR_CLAIMS},
    {"{\"sub\":\"42 \"," IE J "}", JWT_ERR_CLAIMS},
    {"{\"sub\":\"42a\"," IE J "}", JWT_ERR_CLAIMS},
    {"{\"sub\":\"4.2\"," IE J "}", JWT_ERR_CLAIMS},
    {"{\"sub\":\"0x2a\"," IE J "}", JWT_ERR_CLAIMS},
    {"{\"sub\":\"42\\u0000\"," IE J "}", JWT_ERR_FORMAT},  /* jansson refuses \u0000 */
    {"{\"sub\":\"\"," IE J "}", JWT_ERR_CLAIMS},
    {"{\"sub\":42," IE J "}", JWT_ERR_CLAIMS},
    {"{\"sub\":42.0," IE J "}", JWT_ERR_CLAIMS},
    {"{\"sub\":null," IE J "}", JWT_ERR_CLAIMS},
    {"{\"sub\":[\"42\"]," IE J "}", JWT_ERR_CLAIMS},
    {"{" IE J "}", JWT_ERR_CLAIMS},
    {"{\"sub\":\"42\",\"exp\":1700000900" J "}", JWT_ERR_CLAIMS},
    {"{\"sub\":\"42\",\"iat\":1700000000" J "}", JWT_ERR_CLAIMS},
    {"{\"sub\":\"42\",\"iat\":1700000000.0,\"exp\":1700000900" J "}", JWT_ERR_CLAIMS},
    {"{\"sub\":\"42\",\"iat\":1700000000,\"exp\":\"1700000900\"" J "}", JWT_ERR_CLAIMS},
    {"{\"sub\":\"42\",\"iat\":1700000000,\"exp\":1.7e10" J "}", JWT_ERR_CLAIMS},
    {"{\"sub\":\"42\",\"iat\":1700000000,\"exp\":true" J "}", JWT_ERR_CLAIMS},
    {"{\"sub\":\"42\"," IE "}", JWT_ERR_CLAIMS},
    {"{\"sub\":\"42\"," IE ",\"jti\":\"0123456789ABCDEF0123456789abcdef\"}", JWT_ERR_CLAIMS},
    {"{\"sub\":\"42\"," IE ",\"jti\":\"0123456789abcdef\"}", JWT_ERR_CLAIMS},
    {"{\"sub\":\"42\"," IE ",\"jti\":1}", JWT_ERR_CLAIMS},
    {"{\"sub\":\"42\",\"iat\":1700000000,\"exp\":1700000000" J "}", JWT_ERR_EXPIRED},
    {"{\"sub\":\"42\",\"iat\":1700000000,\"exp\":-9223372036854775808" J "}", JWT_ERR_EXPIRED},
    {"{\"sub\":\"42\",\"iat\":1700000061,\"exp\":1700000900" J "}", JWT_ERR_CLAIMS},
    {"{\"sub\":\"42\",\"iat\":9223372036854775807,\"exp\":9223372036854775807" J "}", JWT_ERR_CLAIMS},
    {"{\"sub\":\"42\",\"iat\":1700000060,\"exp\":1700000900" J "}", 0},
    {"{\"sub\":\"42\",\"iat\":-9223372036854775808,\"exp\":1700000900" J "}", 0},
    {"{\"sub\":\"42\",\"iat\":1700000000,\"exp\":99999999999999999999" J "}", JWT_ERR_FORMAT}, /* jansson: too big */
    {"[\"42\",1700000000,1700000900]", JWT_ERR_FORMAT},
    {"\"42\"", JWT_ERR_FORMAT},
    {"not json", JWT_ERR_FORMAT},
    {"", JWT_ERR_FORMAT},
    {"{\"sub\":\"42\"," IE J "} x", JWT_ERR_FORMAT},
};
/* clang-format on */

Test(jwt, payload_table)
{
    struct jwt_keyring r = test_ring();
    struct jwt_claims c;
    char tok[JWT_TOKEN_MAX + 1];

    for (size_t i = 0; i < sizeof(payload_cases) / sizeof(payload_cases[0]); i++) {
        craft(tok, sizeof(tok), HDR_OK, payload_cases[i].json, r.keys[0].key, NULL);
        int rc = jwt_verify(&r, tok, strlen(tok), NOW, &c);
        cr_assert_eq(rc, payload_cases[i].rc, "payload %s: got %d (%s)", payload_cases[i].json, rc, jwt_strerror(rc));
        if (rc != 0)
            cr_assert_eq(c.sub, 0);
    }
}

Test(jwt, sign_errors)
{
    struct jwt_keyring r = test_ring(), empty = {0}, badkid = {0};
    struct jwt_claims c;
    char tok[JWT_TOKEN_MAX + 1];

    cr_assert_eq(jwt_sign(&r, 0, NOW, TTL, tok, sizeof(tok), &c), JWT_ERR_CLAIMS);
    cr_assert_eq(jwt_sign(&r, -1, NOW, TTL, tok, sizeof(tok), &c), JWT_ERR_CLAIMS);
    cr_assert_eq(jwt_sign(&r, 1, NOW, 0, tok, sizeof(tok), &c), JWT_ERR_CLAIMS);
    cr_assert_eq(jwt_sign(&r, 1, NOW, -5, tok, sizeof(tok), &c), JWT_ERR_CLAIMS);
    cr_assert_eq(jwt_sign(&r, 1, INT64_MAX, 1, tok, sizeof(tok), &c), JWT_ERR_CLAIMS);
    cr_assert_eq(jwt_sign(&empty, 1, NOW, TTL, tok, sizeof(tok), &c), JWT_ERR_KID);
    ring_add(&badkid, "a:b", 1);
    cr_assert_eq(jwt_sign(&badkid, 1, NOW, TTL, tok, sizeof(tok), &c), JWT_ERR_KID);
    memset(badkid.keys[0].kid, 'a', sizeof(badkid.keys[0].kid)); /* unterminated */
    cr_assert_eq(jwt_sign(&badkid, 1, NOW, TTL, tok, sizeof(tok), &c), JWT_ERR_KID);
    cr_assert_eq(jwt_sign(&r, 1, NOW, TTL, NULL, 0, NULL), JWT_ERR_TOO_LONG);

    /* out exactly large enough, and one byte short */
    cr_assert_eq(jwt_sign(&r, 1, NOW, TTL, tok, sizeof(tok), NULL), 0);
    size_t need = strlen(tok) + 1;
    char small[JWT_TOKEN_MAX];
    cr_assert_eq(jwt_sign(&r, 1, NOW, TTL, small, need, &c), 0);
    cr_assert_eq(strlen(small), need - 1);
    memset(small, 'x', sizeof(small));
    cr_assert_eq(jwt_sign(&r, 1, NOW, TTL, small, need - 1, &c), JWT_ERR_TOO_LONG);
    cr_assert_eq(small[0], '\0');
    cr_assert_eq(c.sub, 0);
}

Test(jwt, strerror_total)
{
    for (int e = -20; e <= 5; e++) {
        cr_assert_not_null(jwt_strerror(e));
        cr_assert_gt(strlen(jwt_strerror(e)), 0);
    }
    cr_assert_str_eq(jwt_strerror(JWT_ERR_EXPIRED), "token expired");
}

/* keyring file ------------------------------------------------------- */

#define KEY_A "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8" /* bytes 0..31 */
#define KEY_B "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8" /* bytes 32..63 */
#define KEY_31 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg"
#define KEY_33 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g"
#define KEY_0 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define KEY_FF "__________________________________________8" /* 32 x 0xff */

struct keyring_case {
    const char *text;
    size_t n;         /* keys on success */
    const char *kid0; /* kid of keys[0] on success */
    const char *err;  /* substring of the message on failure */
};

/* clang-format off */
static const struct keyring_case keyring_cases[] = {
    {"k1:" KEY_A, 1, "k1", NULL},
    {"k1:" KEY_A "\n", 1, "k1", NULL},
    {"k2:" KEY_B "\nk1:" KEY_A "\n", 2, "k2", NULL},
    {"# LinkPulse JWT keys, newest first\n\n  k2:" KEY_B "  \r\n\t\r\n#old\nk1:" KEY_A "\r\n", 2, "k2", NULL},
    {"2024-06.main_key-1:" KEY_A, 1, "2024-06.main_key-1", NULL},
    {"abcdefghijklmnopqrstuvwxyz012345:" KEY_A, 1, "abcdefghijklmnopqrstuvwxyz012345", NULL}, /* 32 */
    {"a:" KEY_A "\nb:" KEY_B "\nc:" KEY_A "\nd:" KEY_A "\ne:" KEY_A "\nf:" KEY_A "\ng:" KEY_A "\nh:" KEY_A, 8, "a", NULL},
    {"", 0, NULL, "no keys"},
    {"\n\n   \n", 0, NULL, "no keys"},
    {"# nothing here\n", 0, NULL, "no keys"},
    {"a:" KEY_A "\nb:" KEY_B "\nc:" KEY_A "\nd:" KEY_A "\ne:" KEY_A "\nf:" KEY_A "\ng:" KEY_A "\nh:" KEY_A "\ni:" KEY_A,
     0, NULL, "line 9: more than 8 keys"},
    {"k1:" KEY_A "\nk1:" KEY_B, 0, NULL, "line 2: duplicate kid"},
    {"k1:" KEY_31, 0, NULL, "31 bytes"},
    {"k1:" KEY_33, 0, NULL, "33 bytes"},
    {"k1:", 0, NULL, "0 bytes"},
    {"k1:" KEY_A "=", 0, NULL, "base64url"},
    {"k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+", 0, NULL, "base64url"},   /* '+' */
    {"k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh/", 0, NULL, "base64url"},
    {"k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh!", 0, NULL, "base64url"},
    {"k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9", 0, NULL, "base64url"},   /* nonzero trailing bits */
    {"k1:AAECAwQFBgcICQoLDA0O DxAREhMUFRYXGBkaGxwdHh8", 0, NULL, "base64url"},
    {"k1:" KEY_0, 0, NULL, "all zeros"},
    {"k1:" KEY_FF, 1, "k1", NULL},
    {"k1:_____\xb7____________________________________8", 0, NULL, "base64url"}, /* libsodium reads 0xb7 as '_' */
    {"k1 " KEY_A, 0, NULL, "expected kid:"},
    {":" KEY_A, 0, NULL, "kid must be"},
    {"k 1:" KEY_A, 0, NULL, "kid must be"},
    {"k1 :" KEY_A, 0, NULL, "kid must be"},
    {"k/1:" KEY_A, 0, NULL, "kid must be"},
    {"k\xc3\xa9:" KEY_A, 0, NULL, "kid must be"},
    {"abcdefghijklmnopqrstuvwxyz0123456:" KEY_A, 0, NULL, "kid must be"}, /* 33 */
    {"k1:" KEY_A "\n\ngarbage\n", 0, NULL, "line 3: expected"},
    {"k1:" KEY_A ":" KEY_A, 0, NULL, "base64url"},
};
/* clang-format on */

Test(jwt, keyring_parse_table)
{
    for (size_t i = 0; i < sizeof(keyring_cases) / sizeof(keyring_cases[0]); i++) {
        const struct keyring_case *k = &keyring_cases[i];
        struct jwt_keyring r;
        char err[128] = "stale";
        memset(&r, 0xAA, sizeof(r));
        int rc = jwt_keyring_parse(&r, k->text, strlen(k->text), err, sizeof(err));
        if (k->err == NULL) {
            cr_assert_eq(rc, 0, "case %zu: %s", i, err);
            cr_assert_str_empty(err);
            cr_assert_eq(r.n, k->n, "case %zu", i);
            cr_assert_str_eq(r.keys[0].kid, k->kid0, "case %zu", i);
        } else {
            cr_assert_eq(rc, -1, "case %zu accepted", i);
            cr_assert(strstr(err, k->err) != NULL, "case %zu: message \"%s\", want \"%s\"", i, err, k->err);
            cr_assert_eq(r.n, 0);
            cr_assert(sodium_is_zero((const unsigned char *)&r, sizeof(r)), "case %zu: ring not wiped", i);
        }
    }
}

Test(jwt, keyring_parse_contents)
{
    struct jwt_keyring r;
    const char *text = "k2:" KEY_B "\nk1:" KEY_A "\n";

    cr_assert_eq(jwt_keyring_parse(&r, text, strlen(text), NULL, 0), 0);
    cr_assert_eq(r.n, 2);
    cr_assert_str_eq(r.keys[0].kid, "k2");
    cr_assert_str_eq(r.keys[1].kid, "k1");
    for (int i = 0; i < JWT_KEY_LEN; i++) {
        cr_assert_eq(r.keys[0].key[i], 32 + i);
        cr_assert_eq(r.keys[1].key[i], i);
    }
    /* len, not NUL, ends the text */
    cr_assert_eq(jwt_keyring_parse(&r, text, 3 + 43, NULL, 0), 0);
    cr_assert_eq(r.n, 1);
    cr_assert_eq(jwt_keyring_parse(&r, text, 3 + 42, NULL, 0), -1);
    cr_assert_eq(jwt_keyring_parse(&r, NULL, 0, NULL, 0), -1);

    /* caps: a long comment line, and a file over JWT_KEYRING_MAX */
    static char big[JWT_KEYRING_MAX + 2];
    memset(big, '#', sizeof(big));
    char err[16];
    cr_assert_eq(jwt_keyring_parse(&r, big, JWT_KEYRING_LINE_MAX + 1, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "line 1: longer ", "message truncated to errcap");
    cr_assert_eq(jwt_keyring_parse(&r, big, JWT_KEYRING_LINE_MAX, NULL, 0), -1, "only a comment: no keys");
    for (size_t i = 0; i < sizeof(big); i += 2)
        big[i] = '\n';
    cr_assert_eq(jwt_keyring_parse(&r, big, JWT_KEYRING_MAX + 1, NULL, 0), -1);
}

Test(jwt, keyring_drives_sign_and_verify)
{
    struct jwt_keyring r, old;
    struct jwt_claims c;
    char tok[JWT_TOKEN_MAX + 1];
    const char *t_old = "k1:" KEY_A "\n", *t_new = "k2:" KEY_B "\nk1:" KEY_A "\n";

    cr_assert_eq(jwt_keyring_parse(&old, t_old, strlen(t_old), NULL, 0), 0);
    cr_assert_eq(jwt_keyring_parse(&r, t_new, strlen(t_new), NULL, 0), 0);
    cr_assert_eq(jwt_sign(&old, 5, NOW, TTL, tok, sizeof(tok), NULL), 0);
    cr_assert_eq(jwt_verify(&r, tok, strlen(tok), NOW, &c), 0);
    cr_assert_eq(c.sub, 5);
}

Test(jwt, key_generate_line)
{
    char buf[JWT_KEY_LINE_MAX + 1], buf2[JWT_KEY_LINE_MAX + 1], text[2 * JWT_KEY_LINE_MAX + 1];
    struct jwt_keyring r;
    char err[128];

    size_t n = jwt_key_generate_line("2025-01", buf, sizeof(buf));
    cr_assert_eq(n, 7 + 1 + 43 + 1);
    cr_assert_eq(strlen(buf), n);
    cr_assert_eq(buf[n - 1], '\n');
    cr_assert_eq(strncmp(buf, "2025-01:", 8), 0);
    cr_assert_eq(jwt_keyring_parse(&r, buf, n, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(r.n, 1);
    cr_assert_str_eq(r.keys[0].kid, "2025-01");

    /* rotation: the new line goes on top */
    cr_assert_eq(jwt_key_generate_line("2025-02", buf2, sizeof(buf2)), n);
    cr_assert_neq(memcmp(buf + 8, buf2 + 8, 43), 0);
    snprintf(text, sizeof(text), "%s%s", buf2, buf);
    cr_assert_eq(jwt_keyring_parse(&r, text, strlen(text), err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(r.n, 2);
    cr_assert_str_eq(r.keys[0].kid, "2025-02");

    /* the longest kid fits JWT_KEY_LINE_MAX exactly */
    const char *kid32 = "abcdefghijklmnopqrstuvwxyz012345";
    cr_assert_eq(jwt_key_generate_line(kid32, buf, sizeof(buf)), JWT_KEY_LINE_MAX);
    cr_assert_eq(jwt_key_generate_line(kid32, buf, JWT_KEY_LINE_MAX), 0, "no room for the NUL");
    cr_assert_str_empty(buf);
    cr_assert_eq(jwt_key_generate_line("abcdefghijklmnopqrstuvwxyz0123456", buf, sizeof(buf)), 0); /* 33 */
    cr_assert_eq(jwt_key_generate_line("", buf, sizeof(buf)), 0);
    cr_assert_eq(jwt_key_generate_line("a:b", buf, sizeof(buf)), 0);
    cr_assert_eq(jwt_key_generate_line("a b", buf, sizeof(buf)), 0);
    cr_assert_eq(jwt_key_generate_line(NULL, buf, sizeof(buf)), 0);
    cr_assert_eq(jwt_key_generate_line("k", NULL, 0), 0);
}
