/* tally blobs from disk: whatever iterates cleanly must re-encode to the
 * same bytes, and merging it with itself must double every count (up to
 * the clamp) and stay a valid tally. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/tally.h"

static struct tally_entry entries[TALLY_NDIMS * TALLY_VALUES_MAX + 24], scratch[TALLY_SCRATCH_ENTRIES];
static uint8_t out[TALLY_BYTES_MAX], merged[2 * 4096 + 1];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    struct tally_iter it;
    size_t n = 0;
    int k = -1;
    if (tally_iter_init(&it, data, size) == 0)
        while ((k = tally_next(&it, &entries[n])) == 1)
            if (++n == sizeof(entries) / sizeof(entries[0]))
                abort(); /* 4 KiB cannot hold that many */
    long m = tally_merge(data, size, data, size, scratch, merged, sizeof(merged));
    if (k != 0) {
        if (m >= 0 && size > 0 && tally_iter_init(&it, data, size) == 0)
            abort(); /* merged a malformed blob */
        return 0;
    }
    long len = tally_encode(entries, n, out, sizeof(out));
    if (size > 0 && (len != (long)size || memcmp(out, data, size) != 0))
        abort(); /* the encoding is canonical */
    if (m < 0)
        abort();
    struct tally_entry e;
    size_t i = 0;
    tally_iter_init(&it, merged, (size_t)m);
    while ((k = tally_next(&it, &e)) == 1) {
        int64_t want = entries[i].total > TALLY_COUNT_MAX / 2 ? TALLY_COUNT_MAX : 2 * entries[i].total;
        if (i >= n || e.total != want)
            abort();
        i++;
    }
    if (k != 0 || i != n)
        abort();
    return 0;
}
