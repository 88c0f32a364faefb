/* jwt (and the token formats) on arbitrary bytes. Every input is used
 * five ways:
 *  1. as a presented token, verified against a fixed keyring;
 *  2. as "header\npayload" JSON (or just a payload under a good header),
 *     signed here with the fixed key, so the claim checks that sit behind
 *     the MAC get fuzzed too, and cross-checked against a keyring holding
 *     the same kids with other keys, which must never accept it;
 *  3. as a keyring file: a parsed ring must be sane and must sign tokens
 *     that it verifies;
 *  4. as sub/now/ttl for jwt_sign, whose tokens must always verify;
 *  5. as a kid for jwt_key_generate_line, and as an API key or refresh
 *     token for the well-formedness checks.
 * Any broken invariant aborts. */
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/jwt.h"
#include "auth/token.h"
#include "util/base62.h"

#define FUZZ_NOW INT64_C(1700000000)
#define FUZZ_IN_MAX 4096 /* bigger inputs only go through 1 and 3 */
#define FUZZ_B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define FUZZ_HDR "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k2\"}"

static struct jwt_keyring fuzz_ring;  /* k2 signs, k1 verifies */
static struct jwt_keyring fuzz_other; /* same kids, other keys */

static void fuzz_ring_add(struct jwt_keyring *r, const char *kid, unsigned char base)
{
    memcpy(r->keys[r->n].kid, kid, strlen(kid) + 1);
    for (int i = 0; i < JWT_KEY_LEN; i++)
        r->keys[r->n].key[i] = (unsigned char)(base + i);
    r->n++;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (sodium_init() < 0)
        abort();
    fuzz_ring_add(&fuzz_ring, "k2", 0x20);
    fuzz_ring_add(&fuzz_ring, "k1", 0x00);
    fuzz_ring_add(&fuzz_other, "k2", 0x40);
    fuzz_ring_add(&fuzz_other, "k1", 0x60);
    return 0;
}

static void fuzz_check_rc(int rc)
{
    if (rc > 0 || rc < JWT_ERR_NOMEM || jwt_strerror(rc) == NULL)
        abort();
}

static void fuzz_check_result(int rc, const struct jwt_claims *c, int64_t now)
{
    fuzz_check_rc(rc);
    if (rc != 0) {
        static const struct jwt_claims zero;
        if (memcmp(c, &zero, sizeof(zero)) != 0)
            abort();
        return;
    }
    if (c->sub <= 0 || c->exp <= now || (now <= INT64_MAX - JWT_IAT_LEEWAY_S && c->iat > now + JWT_IAT_LEEWAY_S))
        abort();
    if (strlen(c->jti) != JWT_JTI_LEN || strspn(c->jti, "0123456789abcdef") != JWT_JTI_LEN)
        abort();
}

static void fuzz_verify_raw(const uint8_t *data, size_t size)
{
    struct jwt_claims c;
    int rc = jwt_verify(&fuzz_ring, (const char *)data, size, FUZZ_NOW, &c);

    fuzz_check_result(rc, &c, FUZZ_NOW);
    if (size > JWT_TOKEN_MAX && rc != JWT_ERR_TOO_LONG)
        abort();
}

static size_t fuzz_b64(char *out, const void *bin, size_t n)
{
    size_t enc = sodium_base64_ENCODED_LEN(n, FUZZ_B64);
    sodium_bin2base64(out, enc, bin, n, FUZZ_B64);
    return enc - 1;
}

static void fuzz_verify_signed(const uint8_t *data, size_t size)
{
    static char tok[2 * (FUZZ_IN_MAX / 3 * 4 + 4) + 64];
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    const char *hdr = FUZZ_HDR, *pl = (const char *)data;
    size_t hn = strlen(FUZZ_HDR), pn = size;
    struct jwt_claims c;

    if (size > FUZZ_IN_MAX)
        return;
    const uint8_t *nl = memchr(data, '\n', size);
    if (nl != NULL) {
        hdr = (const char *)data;
        hn = (size_t)(nl - data);
        pl = (const char *)nl + 1;
        pn = size - hn - 1;
    }
    size_t pos = fuzz_b64(tok, hdr, hn);
    tok[pos++] = '.';
    pos += fuzz_b64(tok + pos, pl, pn);
    crypto_auth_hmacsha256(mac, (const unsigned char *)tok, pos, fuzz_ring.keys[0].key);
    tok[pos++] = '.';
    pos += fuzz_b64(tok + pos, mac, sizeof(mac));

    int rc = jwt_verify(&fuzz_ring, tok, pos, FUZZ_NOW, &c);
    fuzz_check_result(rc, &c, FUZZ_NOW);
    /* With the wrong keys, nothing past the MAC may be reached. */
    rc = jwt_verify(&fuzz_other, tok, pos, FUZZ_NOW, &c);
    fuzz_check_result(rc, &c, FUZZ_NOW);
    if (rc != JWT_ERR_FORMAT && rc != JWT_ERR_ALG && rc != JWT_ERR_KID && rc != JWT_ERR_SIGNATURE &&
        rc != JWT_ERR_TOO_LONG && rc != JWT_ERR_NOMEM)
        abort();
}

static bool fuzz_kid_ok(const char *kid)
{
    size_t n = strnlen(kid, JWT_KID_MAX + 1);
    if (n == 0 || n > JWT_KID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strchr(BASE62_ALPHABET "._-", kid[i]) == NULL)
            return false;
    return true;
}

static void fuzz_sign_verify(const struct jwt_keyring *r, int64_t sub, int64_t now, int64_t ttl)
{
    char tok[JWT_TOKEN_MAX + 1];
    struct jwt_claims s, c;
    int rc = jwt_sign(r, sub, now, ttl, tok, sizeof(tok), &s);
    bool valid = sub > 0 && ttl > 0 && now <= INT64_MAX - ttl;

    fuzz_check_rc(rc);
    if (!valid) {
        if (rc != JWT_ERR_CLAIMS || tok[0] != '\0')
            abort();
        return;
    }
    if (rc != 0 || strlen(tok) > JWT_TOKEN_MAX)
        abort();
    rc = jwt_verify(r, tok, strlen(tok), now, &c);
    fuzz_check_result(rc, &c, now);
    if (rc != 0 || c.sub != sub || c.iat != now || c.exp != now + ttl || strcmp(c.jti, s.jti) != 0)
        abort();
    if (jwt_verify(r, tok, strlen(tok), now + ttl, &c) != JWT_ERR_EXPIRED)
        abort();
}

static void fuzz_keyring(const uint8_t *data, size_t size)
{
    struct jwt_keyring r;
    char err[128];
    int rc = jwt_keyring_parse(&r, (const char *)data, size, err, sizeof(err));

    if (rc != jwt_keyring_parse(&r, (const char *)data, size, NULL, 0))
        abort();
    if (rc != 0) {
        if (rc != -1 || r.n != 0 || err[0] == '\0' || strnlen(err, sizeof(err)) == sizeof(err))
            abort();
        return;
    }
    if (err[0] != '\0' || r.n == 0 || r.n > JWT_KEYS_MAX)
        abort();
    for (size_t i = 0; i < r.n; i++) {
        if (!fuzz_kid_ok(r.keys[i].kid) || sodium_is_zero(r.keys[i].key, JWT_KEY_LEN))
            abort();
        for (size_t j = 0; j < i; j++)
            if (strcmp(r.keys[i].kid, r.keys[j].kid) == 0)
                abort();
    }
    fuzz_sign_verify(&r, 42, FUZZ_NOW, 900);
}

static int64_t fuzz_i64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return (int64_t)v;
}

static void fuzz_generate(const uint8_t *data, size_t size)
{
    char kid[JWT_KID_MAX + 9], line[JWT_KEY_LINE_MAX + 1];
    struct jwt_keyring r;
    size_t n = size < sizeof(kid) - 1 ? size : sizeof(kid) - 1;

    memcpy(kid, data, n);
    kid[n] = '\0';
    size_t len = jwt_key_generate_line(kid, line, sizeof(line));
    if ((len != 0) != fuzz_kid_ok(kid))
        abort();
    if (len == 0)
        return;
    if (len != strlen(line) || jwt_keyring_parse(&r, line, len, NULL, 0) != 0 || r.n != 1 ||
        strcmp(r.keys[0].kid, kid) != 0)
        abort();
}

static void fuzz_token_formats(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;

    if (token_apikey_well_formed(s, size)) {
        if (size != TOKEN_APIKEY_LEN || memcmp(s, "lp_", 3) != 0)
            abort();
        for (size_t i = 3; i < size; i++)
            if (data[i] == '\0' || strchr(BASE62_ALPHABET, data[i]) == NULL)
                abort();
    }
    if (token_refresh_well_formed(s, size)) {
        if (size != TOKEN_REFRESH_LEN || memcmp(s, "lpr_", 4) != 0)
            abort();
        for (size_t i = 4; i < size; i++)
            if (data[i] == '\0' || strchr(BASE62_ALPHABET "-_", data[i]) == NULL)
                abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t num[24] = {0};

    fuzz_verify_raw(data, size);
    fuzz_verify_signed(data, size);
    fuzz_keyring(data, size);
    memcpy(num, data, size < sizeof(num) ? size : sizeof(num));
    fuzz_sign_verify(&fuzz_ring, fuzz_i64(num), fuzz_i64(num + 8), fuzz_i64(num + 16));
    fuzz_generate(data, size);
    fuzz_token_formats(data, size);
    return 0;
}
