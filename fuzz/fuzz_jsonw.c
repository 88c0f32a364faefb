/* JSON strings written by hand (util/jsonw.h): whatever the bytes, the
 * text is one JSON string that jansson reads back; for UTF-8 it is the
 * input exactly and byte for byte what jansson itself writes. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/jsonw.h"

static char text[6 * 4096 + 2]; /* \u00XX: six bytes per input byte, and the quotes */

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
    if (in != NULL) {
        if (json_string_length(back) != size || memcmp(json_string_value(back), data, size) != 0)
            abort();
        char *j = json_dumps(in, JSON_COMPACT | JSON_ENCODE_ANY);
        if (j == NULL || strlen(j) != w.len || memcmp(j, text, w.len) != 0)
            abort();
        free(j);
        json_decref(in);
    }
    json_decref(back);
    return 0;
}
