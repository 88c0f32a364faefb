#include "util/base62.h"

#include <assert.h>
#include <sodium.h>

static const char base62_alphabet[62] = BASE62_ALPHABET;

/* 248 = 4 * 62: bytes below it map onto the alphabet exactly four times
 * each, so rejecting the rest removes the modulo bias. Expected cost is
 * 256/248 bytes per char. */
#define BASE62_REJECT_FROM 248
#define BASE62_BATCH 64

void base62_random(char *out, size_t len)
{
    unsigned char buf[BASE62_BATCH];
    size_t have = 0, pos = 0;

    assert(out != NULL || len == 0);
    while (len > 0) {
        if (pos == have) {
            /* Ask for a little more than needed so one draw usually
             * covers the rejects too. */
            have = len + len / 16 + 2;
            if (have > sizeof(buf))
                have = sizeof(buf);
            randombytes_buf(buf, have);
            pos = 0;
        }
        unsigned char b = buf[pos++];
        if (b >= BASE62_REJECT_FROM)
            continue;
        *out++ = base62_alphabet[b % 62];
        len--;
    }
}

/* Link codes are drawn by the writer thousands of times a second: a
 * per-thread pool of kernel randomness makes that one getrandom per 4 KiB
 * instead of one per code. Secrets (keys, webhook secrets) keep using
 * base62_random, whose bytes never sit in a pool. */
#define BASE62_POOL 4096

void base62_random_code(char *out, size_t len)
{
    static _Thread_local unsigned char pool[BASE62_POOL];
    static _Thread_local size_t pos = BASE62_POOL;
    while (len > 0) {
        if (pos == BASE62_POOL) {
            randombytes_buf(pool, sizeof(pool));
            pos = 0;
        }
        unsigned char b = pool[pos];
        pool[pos++] = 0; /* a used byte does not stay in memory */
        if (b >= BASE62_REJECT_FROM)
            continue;
        *out++ = base62_alphabet[b % 62];
        len--;
    }
}

size_t base62_encode_u64(uint64_t v, char *out)
{
    char tmp[BASE62_U64_MAX_LEN];
    size_t n = 0;

    do {
        tmp[n++] = base62_alphabet[v % 62];
        v /= 62;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

static int base62_digit(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 36;
    return -1;
}

int base62_decode_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;

    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        int d = base62_digit((unsigned char)s[i]);
        if (d < 0)
            return -1;
        if (v > (UINT64_MAX - (uint64_t)d) / 62)
            return -1;
        v = v * 62 + (uint64_t)d;
    }
    *out = v;
    return 0;
}
