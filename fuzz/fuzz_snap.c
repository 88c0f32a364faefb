/* packed link snapshots (core/snap.h), as the cache would hand them back:
 * whatever unpacks must pack to the same bytes (the form is canonical),
 * and unpacking never reads or writes past its buffers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/snap.h"

static _Alignas(8) char unpacked[SNAP_MAX];
static uint8_t packed[SNAP_PACKED_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > SNAP_PACKED_MAX)
        return 0;
    size_t n = snap_unpack(unpacked, sizeof(unpacked), data, size);
    if (n == 0)
        return 0;
    const struct link_snap *s = (const struct link_snap *)unpacked;
    if (n != sizeof(*s) + s->url_len + s->rules_len + s->utm_len)
        abort();
    size_t m = snap_pack(packed, s);
    if (m != size || memcmp(packed, data, size) != 0)
        abort(); /* the packed form is canonical */
    return 0;
}
