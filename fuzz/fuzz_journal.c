/* Journal segments from disk: records are walked with journal_next and
 * decoded with journal_decode; whatever decodes must encode back to the
 * same record (a version 1 record to the same body as version 2, whose
 * version byte and CRC differ). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0, prev = 0;
    const uint8_t *body;
    size_t blen;
    static uint8_t again[JOURNAL_RECORD_MAX];
    struct store_visit v;
    int k;
    while ((k = journal_next(data, size, &off, &body, &blen)) == 1) {
        if (off > size || body + blen != data + off)
            abort();
        if (journal_decode(body, blen, &v) == 0) {
            size_t n = journal_encode(&v, again);
            size_t same = body[0] == 1 ? 9 : 0; /* header and version byte */
            if (n != off - prev || memcmp(again + same, data + prev + same, n - same) != 0)
                abort();
        }
        prev = off;
    }
    /* Bodies without the header: the decoder alone. */
    if (journal_decode(data, size, &v) == 0 && v.kind > VISIT_REGULAR_404)
        abort();
    return 0;
}
