/* leb128: unsigned LEB128 varints (7 bits a byte, low first, the high bit
 * set on every byte but the last), as in DWARF and protobuf. Used where
 * small numbers are stored many times: rollup tallies (store/tally.h) and
 * the link snapshots the cache holds (core/snap.h). Pure; thread-safe. */
#ifndef LP_UTIL_LEB128_H
#define LP_UTIL_LEB128_H

#include <stddef.h>
#include <stdint.h>

#define LEB128_MAX 10 /* bytes of UINT64_MAX */

/* Writes v at p (room for LEB128_MAX); returns how many bytes. */
static inline size_t leb128_put(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Bytes leb128_put would write for v. */
static inline size_t leb128_len(uint64_t v)
{
    size_t n = 1;
    for (; v >= 0x80; v >>= 7)
        n++;
    return n;
}

/* Reads one varint from *p (not past end) into *out and advances *p.
 * Only the shortest form is accepted: -1 when the input ends inside the
 * number, when it has a redundant zero byte last, or when it does not fit
 * 64 bits. */
static inline int leb128_get(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*p == end)
            return -1;
        uint8_t b = *(*p)++;
        if (shift == 63 && b > 1)
            return -1;
        v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            if (b == 0 && shift > 0)
                return -1;
            *out = v;
            return 0;
        }
    }
    return -1;
}

#endif
