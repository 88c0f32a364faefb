/* radix: a stable LSD radix sort of (u64 key, u32 value) pairs, for the
 * visit pass's order of up to 262,144 visits by link: one byte of the key
 * per round, only as many rounds as the largest key has bytes (three at
 * a million links), no comparisons. Pure; the caller owns both arrays. */
#ifndef LP_UTIL_RADIX_H
#define LP_UTIL_RADIX_H

#include <stddef.h>
#include <stdint.h>

struct radix_item {
    uint64_t key;
    uint32_t val;
};

/* Sorts a[0..n) by key, keeping the input order of equal keys; tmp has
 * room for n items. Returns the array that holds the result (a or tmp). */
struct radix_item *radix_sort(struct radix_item *a, struct radix_item *tmp, size_t n);

#endif
