/* JSON strings written by hand (util/jsonw.h): whatever the bytes, the
 * text is one JSON string that jansson reads back; for UTF-8 it is the
 * input exactly and byte for byte what jansson itself writes. And
 * utf8_scrub (util/utf8.h) leaves UTF-8 that jansson accepts, as long as
 * the input or at most 3 bytes shorter, unchanged when it was UTF-8. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/jsonw.h"
#include "util/utf8.h"

static char text[6 * 4096 + 2]; /* \u00XX: six bytes per input byte, and the quotes */
static char scrubbed[4096];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    struct jw w;
    jw_init(&w, text, sizeof(text), NULL, NULL);
    jw_str(&w, (const char *)data, size);
    if (w.failed)
        abort();
    json_t *back = json_loadb(text, w.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!json_is_string(back))
        abort();
    json_t *in = json_stringn((const char *)data, size); /* NULL when the input is not UTF-8 */
    bool utf8 = in != NULL;
    if (utf8) {
        if (json_string_length(back) != size || memcmp(json_string_value(back), data, size) != 0)
            abort();
        char *j = json_dumps(in, JSON_COMPACT | JSON_ENCODE_ANY);
        if (j == NULL || strlen(j) != w.len || memcmp(j, text, w.len) != 0)
            abort();
        free(j);
        json_decref(in);
    }
    json_decref(back);
    memcpy(scrubbed, data, size);
    size_t m = utf8_scrub(scrubbed, size);
    if (m > size || size - m > 3)
        abort();
    json_t *clean = json_stringn(scrubbed, m);
    if (clean == NULL || (utf8 && (m != size || memcmp(scrubbed, data, size) != 0)))
        abort();
    json_decref(clean);
    return 0;
}
