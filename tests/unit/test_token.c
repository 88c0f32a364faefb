/* token: API key and refresh token formats (shape, uniqueness, checksum
 * cross-checked against zlib's CRC-32, single-character corruption) and
 * token_hash against the FIPS 180-2 vector. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "auth/token.h"
#include "util/base62.h"

#define N_KEYS 10000
#define N_FLIP_KEYS 50

static void setup(void)
{
    cr_assert_geq(sodium_init(), 0);
}

TestSuite(token, .init = setup);

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool all_in(const char *s, size_t len, const char *alphabet)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] == '\0' || strchr(alphabet, s[i]) == NULL)
            return false;
    return true;
}

Test(token, apikey_shape_and_uniqueness)
{
    char **keys = calloc(N_KEYS, sizeof(char *));
    cr_assert_not_null(keys);

    for (int i = 0; i < N_KEYS; i++) {
        keys[i] = malloc(TOKEN_APIKEY_LEN + 1);
        cr_assert_not_null(keys[i]);
        token_apikey_generate(keys[i]);
        const char *k = keys[i];
        cr_assert_eq(strlen(k), TOKEN_APIKEY_LEN);
        cr_assert_eq(strncmp(k, "lp_", 3), 0);
        cr_assert(all_in(k + 3, TOKEN_APIKEY_LEN - 3, BASE62_ALPHABET), "%s", k);
        cr_assert(token_apikey_well_formed(k, TOKEN_APIKEY_LEN), "%s", k);
        /* The checksum, recomputed independently with zlib. */
        uint64_t sum;
        cr_assert_eq(base62_decode_u64(k + 35, 6, &sum), 0);
        cr_assert_eq(sum, crc32(0, (const Bytef *)k, 35), "%s", k);
    }
    qsort(keys, N_KEYS, sizeof(char *), cmp_str);
    for (int i = 1; i < N_KEYS; i++)
        cr_assert_str_neq(keys[i - 1], keys[i]);
    for (int i = 0; i < N_KEYS; i++)
        free(keys[i]);
    free(keys);
}

/* Any one character replaced by any other byte is caught: in the prefix
 * by the prefix check, elsewhere by the charset or by the CRC, which
 * detects every error confined to 32 consecutive bits. */
Test(token, apikey_single_char_corruption)
{
    char k[TOKEN_APIKEY_LEN + 1], bad[TOKEN_APIKEY_LEN + 1];

    for (int n = 0; n < N_FLIP_KEYS; n++) {
        token_apikey_generate(k);
        for (size_t pos = 0; pos < TOKEN_APIKEY_LEN; pos++) {
            for (int c = 0; c < 256; c++) {
                if (c == (unsigned char)k[pos])
                    continue;
                memcpy(bad, k, sizeof(bad));
                bad[pos] = (char)c;
                cr_assert(!token_apikey_well_formed(bad, TOKEN_APIKEY_LEN), "%s: pos %zu to 0x%02x accepted", k, pos,
                          c);
            }
        }
    }
}

Test(token, apikey_transposition)
{
    char k[TOKEN_APIKEY_LEN + 1];

    for (int n = 0; n < N_FLIP_KEYS; n++) {
        token_apikey_generate(k);
        for (size_t pos = 3; pos + 1 < TOKEN_APIKEY_LEN; pos++) {
            if (k[pos] == k[pos + 1])
                continue;
            char t = k[pos];
            k[pos] = k[pos + 1];
            k[pos + 1] = t;
            cr_assert(!token_apikey_well_formed(k, TOKEN_APIKEY_LEN), "swap at %zu accepted", pos);
            k[pos + 1] = k[pos];
            k[pos] = t;
        }
    }
}

/* A fixed key built by hand: "lp_" + 32 'A' + CRC computed by zlib. */
static void known_key(char out[TOKEN_APIKEY_LEN + 1])
{
    char digits[BASE62_U64_MAX_LEN];

    memcpy(out, "lp_", 3);
    memset(out + 3, 'A', 32);
    size_t n = base62_encode_u64(crc32(0, (const Bytef *)out, 35), digits);
    memset(out + 35, '0', 6 - n);
    memcpy(out + 35 + 6 - n, digits, n);
    out[TOKEN_APIKEY_LEN] = '\0';
}

Test(token, apikey_wrong_prefix_length)
{
    char k[TOKEN_APIKEY_LEN + 2];

    known_key(k);
    cr_assert(token_apikey_well_formed(k, TOKEN_APIKEY_LEN), "%s", k);
    cr_assert(!token_apikey_well_formed(k, TOKEN_APIKEY_LEN - 1));
    cr_assert(!token_apikey_well_formed(k, 0));
    cr_assert(!token_apikey_well_formed(NULL, 0));
    k[TOKEN_APIKEY_LEN] = 'A';
    k[TOKEN_APIKEY_LEN + 1] = '\0';
    cr_assert(!token_apikey_well_formed(k, TOKEN_APIKEY_LEN + 1));

    static const char *const bad[] = {
        "",
        "lp_",
        "lpa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* admin key prefix, 41 chars */
        "LP_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "lp-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "lpr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "xx_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert(!token_apikey_well_formed(bad[i], strlen(bad[i])), "%s", bad[i]);

    /* Same body and checksum value, checksum not zero-padded: refused. */
    char digits[BASE62_U64_MAX_LEN], unpadded[TOKEN_APIKEY_LEN + 1];
    memset(k + 3, '0', 32);
    uint32_t crc = 0;
    /* find a body whose CRC encodes in fewer than 6 digits */
    for (int tries = 0; tries < 1000000; tries++) {
        base62_random(k + 3, 32);
        crc = (uint32_t)crc32(0, (const Bytef *)k, 35);
        if (base62_encode_u64(crc, digits) < 6)
            break;
    }
    size_t n = base62_encode_u64(crc, digits);
    cr_assert_lt(n, 6);
    memcpy(unpadded, k, 35);
    memcpy(unpadded + 35, digits, n);
    unpadded[35 + n] = '\0';
    cr_assert(!token_apikey_well_formed(unpadded, strlen(unpadded)));
}

Test(token, apikey_display_prefix)
{
    char k[TOKEN_APIKEY_LEN + 1];

    token_apikey_generate(k);
    cr_assert_eq(TOKEN_APIKEY_DISPLAY, 11);
    cr_assert(all_in(k + 3, TOKEN_APIKEY_DISPLAY - 3, BASE62_ALPHABET));
}

#define B64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

Test(token, refresh_shape_and_uniqueness)
{
    char **toks = calloc(N_KEYS, sizeof(char *));
    cr_assert_not_null(toks);

    for (int i = 0; i < N_KEYS; i++) {
        toks[i] = malloc(TOKEN_REFRESH_LEN + 1);
        cr_assert_not_null(toks[i]);
        token_refresh_generate(toks[i]);
        cr_assert_eq(strlen(toks[i]), TOKEN_REFRESH_LEN);
        cr_assert_eq(strncmp(toks[i], "lpr_", 4), 0);
        cr_assert(all_in(toks[i] + 4, TOKEN_REFRESH_LEN - 4, B64URL), "%s", toks[i]);
        cr_assert(token_refresh_well_formed(toks[i], TOKEN_REFRESH_LEN), "%s", toks[i]);
        cr_assert(!token_apikey_well_formed(toks[i], TOKEN_REFRESH_LEN));
    }
    qsort(toks, N_KEYS, sizeof(char *), cmp_str);
    for (int i = 1; i < N_KEYS; i++)
        cr_assert_str_neq(toks[i - 1], toks[i]);
    for (int i = 0; i < N_KEYS; i++)
        free(toks[i]);
    free(toks);
}

Test(token, refresh_ill_formed)
{
    char t[TOKEN_REFRESH_LEN + 2];
    static const char alpha[] = B64URL;

    token_refresh_generate(t);
    cr_assert(token_refresh_well_formed(t, TOKEN_REFRESH_LEN));
    cr_assert(!token_refresh_well_formed(t, TOKEN_REFRESH_LEN - 1));
    cr_assert(!token_refresh_well_formed(NULL, 0));

    /* the last char holds 4 bits and 2 zero bits: no second spelling */
    int idx = (int)(strchr(alpha, t[TOKEN_REFRESH_LEN - 1]) - alpha);
    for (int low = 1; low < 4; low++) {
        t[TOKEN_REFRESH_LEN - 1] = alpha[idx ^ low];
        cr_assert(!token_refresh_well_formed(t, TOKEN_REFRESH_LEN));
    }
    t[TOKEN_REFRESH_LEN - 1] = alpha[idx];

    static const char *const bad_chars = "+/=. \n\0!";
    for (size_t i = 0; i < 8; i++) {
        char c2[TOKEN_REFRESH_LEN + 1];
        memcpy(c2, t, sizeof(c2));
        c2[10] = bad_chars[i];
        cr_assert(!token_refresh_well_formed(c2, TOKEN_REFRESH_LEN), "char 0x%02x", bad_chars[i]);
    }
    char c3[TOKEN_REFRESH_LEN + 1];
    memcpy(c3, t, sizeof(c3));
    c3[0] = 'L';
    cr_assert(!token_refresh_well_formed(c3, TOKEN_REFRESH_LEN));
    memcpy(c3, "lp__", 4);
    cr_assert(!token_refresh_well_formed(c3, TOKEN_REFRESH_LEN));
    /* padded form of the same 32 bytes */
    memcpy(t + TOKEN_REFRESH_LEN, "=", 2);
    cr_assert(!token_refresh_well_formed(t, TOKEN_REFRESH_LEN + 1));
}

/* Any byte outside the base64url alphabet in any position is refused;
 * libsodium 1.0.18 alone reads 0x80-0xFF as '_'. */
Test(token, refresh_alphabet)
{
    static const char alpha[] = B64URL;
    char t[TOKEN_REFRESH_LEN + 1], bad[TOKEN_REFRESH_LEN + 1];

    token_refresh_generate(t);
    for (size_t pos = 4; pos < TOKEN_REFRESH_LEN; pos++) {
        for (int b = 0; b < 256; b++) {
            if (b != 0 && memchr(alpha, b, sizeof(alpha) - 1) != NULL)
                continue;
            memcpy(bad, t, sizeof(bad));
            bad[pos] = (char)b;
            cr_assert(!token_refresh_well_formed(bad, TOKEN_REFRESH_LEN), "byte 0x%02x at %zu", b, pos);
        }
    }
}

Test(token, hash_known_vectors)
{
    static const unsigned char abc[TOKEN_HASH_LEN] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
        0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
    };
    static const unsigned char empty[TOKEN_HASH_LEN] = {
        0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
        0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
    };
    unsigned char h[TOKEN_HASH_LEN];

    token_hash("abc", 3, h);
    cr_assert_arr_eq(h, abc, TOKEN_HASH_LEN);
    token_hash("", 0, h);
    cr_assert_arr_eq(h, empty, TOKEN_HASH_LEN);
    token_hash("abcd", 3, h); /* len, not NUL, ends the input */
    cr_assert_arr_eq(h, abc, TOKEN_HASH_LEN);
}
