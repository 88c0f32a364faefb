/* url_normalize on arbitrary bytes. Beyond "no crash, no sanitizer report"
 * it checks the promises callers build on: the output is a NUL-terminated
 * string within the cap, normalising it again changes nothing, and
 * url_split accepts it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/url.h"

static void fail(const char *what, const char *out)
{
    fprintf(stderr, "fuzz_url: %s: \"%s\"\n", what, out);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char out[URL_MAX_LEN + 1], again[URL_MAX_LEN + 1];
    size_t outlen, againlen;
    struct url_parts p;

    /* Copy so ASan flags any read past size (libFuzzer's buffer is exact,
     * but this keeps the check if the harness changes). */
    char *in = malloc(size ? size : 1);
    if (in == NULL)
        return 0;
    memcpy(in, data, size);
    int rc = url_normalize(in, size, out, sizeof(out), &outlen);
    free(in);
    if (rc != 0) {
        if (rc < URL_ERR_IDN || out[0] != '\0' || outlen != 0)
            fail("bad error result", out);
        return 0;
    }
    if (outlen > URL_MAX_LEN || strlen(out) != outlen)
        fail("length", out);
    for (size_t i = 0; i < outlen; i++) {
        unsigned char c = (unsigned char)out[i];
        if (c <= 0x20 || c >= 0x7f)
            fail("non-printable or non-ASCII byte in output", out);
    }
    if (url_normalize(out, outlen, again, sizeof(again), &againlen) != 0)
        fail("output does not normalise", out);
    if (againlen != outlen || memcmp(again, out, outlen) != 0)
        fail("not idempotent", out);
    if (url_split(out, outlen, &p) != 0)
        fail("url_split refused output", out);
    if (p.host_len == 0 || p.port == 0 || p.port > 65535 || p.rest_len == 0)
        fail("url_split parts", out);
    return 0;
}
