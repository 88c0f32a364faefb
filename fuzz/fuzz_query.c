/* The query-string helpers (query_find_nth, query_decode) and the FTS5
 * search expression builder on arbitrary bytes, checked against what their
 * headers promise. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_fts.h"
#include "util/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *q = (const char *)data;
    const char *v;
    size_t vlen;
    for (unsigned n = 0; n < 4 && query_find_nth(q, size, "q", n, &v, &vlen); n++) {
        if (v < q || v + vlen > q + size)
            abort();
        char out[256];
        long d = query_decode(v, vlen, out, sizeof(out));
        if (d >= 0 && ((size_t)d > vlen || (size_t)d >= sizeof(out) || strlen(out) != (size_t)d))
            abort(); /* decoding never grows, never embeds a NUL */
    }
    /* the search text as the API hands it over: NUL-terminated, no NUL inside */
    char text[512];
    size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
    memcpy(text, data, n);
    text[n] = '\0';
    char fts[1200];
    long f = sqlite_fts_query(text, fts, sizeof(fts));
    if (f < 0)
        abort(); /* 2 x 511 + 3 per word always fits in 1200 */
    if ((size_t)f != strlen(fts))
        abort();
    /* every word is "..."* with inner quotes doubled: outside the words
     * there are only single spaces */
    size_t i = 0;
    while (i < (size_t)f) {
        if (fts[i] != '"')
            abort();
        i++;
        for (;;) {
            if (i >= (size_t)f)
                abort();
            if (fts[i] == '"' && i + 1 < (size_t)f && fts[i + 1] == '"') {
                i += 2;
                continue;
            }
            if (fts[i] == '"')
                break;
            i++;
        }
        if (i + 1 >= (size_t)f + 0 || fts[i + 1] != '*')
            abort();
        i += 2;
        if (i < (size_t)f && fts[i++] != ' ')
            abort();
    }
    return 0;
}
