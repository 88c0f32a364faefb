/* qr_opts_parse on arbitrary query strings, then qr_render of arbitrary
 * text with the accepted options: the parser either names a parameter or
 * yields options within the documented ranges, and rendering either fails
 * with a known error or yields an image within QR_OUT_MAX.
 * Input: query bytes, a NUL, then the text to encode. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qr/qr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *q = (const char *)data;
    const char *nul = memchr(data, '\0', size);
    size_t qlen = nul ? (size_t)(nul - q) : size;
    struct qr_opts o;
    qr_opts_default(&o);
    const char *param = NULL;
    const char *why = qr_opts_parse(q, qlen, &o, &param);
    if (why != NULL) {
        if (param == NULL)
            abort();
        return 0;
    }
    if (o.size < QR_SIZE_MIN || o.size > QR_SIZE_MAX || o.margin > QR_MARGIN_MAX || o.ecc > QR_ECC_H ||
        (o.format != QR_FORMAT_SVG && o.format != QR_FORMAT_PNG) || qr_contrast_x100(o.fg, o.bg) < QR_CONTRAST_MIN_X100)
        abort();
    if (nul == NULL)
        return 0;
    if (o.size > 256)
        o.size = 256; /* keeps each run fast; sizes are covered by the unit tests */
    struct qr_image img;
    int rc = qr_render(nul + 1, size - qlen - 1, &o, &img);
    if (rc == 0) {
        if (img.len == 0 || img.len > QR_OUT_MAX)
            abort();
        if (o.format == QR_FORMAT_PNG ? memcmp(img.data, "\x89PNG", 4) != 0 : memcmp(img.data, "<svg ", 5) != 0)
            abort();
        qr_image_free(&img);
    } else if (rc != QR_ERR_TEXT && rc != QR_ERR_ENCODE && rc != QR_ERR_TOO_SMALL) {
        abort();
    }
    return 0;
}
