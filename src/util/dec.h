/* dec: unsigned integers in decimal, by hand. snprintf("%u") costs about
 * 900 instructions a number (callgrind), and the access log, the rate-limit
 * headers of every 404 and the visit sink's addresses write numbers per
 * request. Pure; thread-safe. */
#ifndef LP_UTIL_DEC_H
#define LP_UTIL_DEC_H

#include <stddef.h>
#include <stdint.h>

#define DEC_U64_MAX 20 /* digits of UINT64_MAX; no NUL is written */

/* Writes v's digits at out (room for DEC_U64_MAX); returns how many. */
static inline size_t dec_u64(char *out, uint64_t v)
{
    char tmp[DEC_U64_MAX];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

#endif
