#include "util/radix.h"

struct radix_item *radix_sort(struct radix_item *a, struct radix_item *tmp, size_t n)
{
    uint64_t bits = 0; /* every bit set in some key: the rounds stop past the highest */
    for (size_t i = 0; i < n; i++)
        bits |= a[i].key;
    for (unsigned shift = 0; shift < 64 && (bits >> shift) != 0; shift += 8) {
        size_t at[256] = {0};
        for (size_t i = 0; i < n; i++)
            at[(a[i].key >> shift) & 0xff]++;
        size_t sum = 0;
        for (int b = 0; b < 256; b++) {
            size_t c = at[b];
            at[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            tmp[at[(a[i].key >> shift) & 0xff]++] = a[i];
        struct radix_item *t = a;
        a = tmp;
        tmp = t;
    }
    return a;
}
