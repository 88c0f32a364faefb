/* import_parse on arbitrary bytes in every format (the first byte picks
 * it): no crash, no read past the input, rows within their caps, and the
 * row count it returns is the number of callbacks made. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/import.h"

static int on_row(void *ctx, const struct import_row *r)
{
    size_t *n = ctx;
    (*n)++;
    if (r->ntags > LINK_TAGS_MAX + 1 || r->visits < -2 || r->created_at < 0)
        abort();
    const char *s[] = {r->url, r->code, r->title, r->note};
    for (size_t i = 0; i < 4; i++)
        if (s[i] != NULL && strlen(s[i]) > 64 * 1024)
            abort();
    for (unsigned i = 0; i < r->ntags; i++)
        if (r->tags[i][0] == '\0' || r->tags[i][0] == ' ')
            abort(); /* tags are trimmed and never empty */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    enum import_format f = (enum import_format)(data[0] % 5);
    size_t n = 0;
    char err[160];
    long rows = import_parse(f, (const char *)data + 1, size - 1, on_row, &n, err, sizeof(err));
    if (rows >= 0 && (size_t)rows != n)
        abort();
    if (rows < 0 && (err[0] == '\0' || strlen(err) >= sizeof(err)))
        abort();
    return 0;
}
