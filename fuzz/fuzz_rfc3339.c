/* rfc3339_parse on arbitrary bytes; whatever parses must survive
 * format -> parse with the same milliseconds, and formatting any int64
 * must give a string that parses. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/rfc3339.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char buf[RFC3339_BUF];
    int64_t ms, again;

    if (rfc3339_parse((const char *)data, size, &ms) == 0) {
        if (ms < RFC3339_MIN_MS || ms > RFC3339_MAX_MS)
            abort();
        size_t n = rfc3339_format(ms, buf);
        if (n != strlen(buf) || rfc3339_parse(buf, n, &again) != 0 || again != ms) {
            fprintf(stderr, "round trip: %lld -> \"%s\"\n", (long long)ms, buf);
            abort();
        }
    }
    if (size >= sizeof(int64_t)) {
        int64_t v;
        memcpy(&v, data, sizeof(v));
        size_t n = rfc3339_format(v, buf);
        if (n != 24 || rfc3339_parse(buf, n, &again) != 0)
            abort();
        if (v >= RFC3339_MIN_MS && v <= RFC3339_MAX_MS && again != v)
            abort();
    }
    return 0;
}
