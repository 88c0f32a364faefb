/* slug_validate (and base62_decode_u64, the other short-code parser) on
 * arbitrary bytes, cross-checked against the rules stated in the headers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/slug.h"
#include "util/base62.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    int rc = slug_validate(s, size);

    if (slug_strerror(rc) == NULL)
        abort();
    if (rc == 0) {
        if (size < 1 || size > SLUG_MAX_LEN || slug_is_reserved(s, size))
            abort();
        for (size_t i = 0; i < size; i++)
            if (strchr(BASE62_ALPHABET "_-", data[i]) == NULL || data[i] == '\0')
                abort();
    } else if (rc != SLUG_ERR_EMPTY && rc != SLUG_ERR_TOO_LONG && rc != SLUG_ERR_CHARS && rc != SLUG_ERR_RESERVED) {
        abort();
    }

    uint64_t v;
    if (base62_decode_u64(s, size, &v) == 0) {
        char buf[BASE62_U64_MAX_LEN];
        uint64_t back;
        size_t n = base62_encode_u64(v, buf);
        if (base62_decode_u64(buf, n, &back) != 0 || back != v)
            abort();
        /* the encoding is the input without its leading zeros */
        size_t z = 0;
        while (z + 1 < size && s[z] == '0')
            z++;
        if (n != size - z || memcmp(buf, s + z, n) != 0)
            abort();
    }
    return 0;
}
