/* qr: see qr.h. */
#include "qr/qr.h"

#include "util/query.h"

#include <math.h>
#include <png.h>
#include <qrencode.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

void qr_opts_default(struct qr_opts *o)
{
    o->format = QR_FORMAT_SVG;
    o->ecc = QR_ECC_M;
    o->size = QR_SIZE_DEFAULT;
    o->margin = QR_MARGIN_DEFAULT;
    memset(o->fg, 0x00, 3);
    memset(o->bg, 0xff, 3);
}

/* A decimal of at most 5 digits, or -1. */
static long parse_small_uint(const char *v, size_t len)
{
    if (len == 0 || len > 5)
        return -1;
    long n = 0;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        n = n * 10 + (v[i] - '0');
    }
    return n;
}

static bool parse_colour(const char *v, size_t len, uint8_t out[3])
{
    if (len == 7 && v[0] == '#') {
        v++;
        len--;
    } else if (len == 9 && v[0] == '%' && v[1] == '2' && v[2] == '3') {
        v += 3;
        len -= 3;
    }
    if (len != 6)
        return false;
    for (int i = 0; i < 3; i++) {
        int hi = query_hex_digit(v[2 * i]), lo = query_hex_digit(v[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi * 16 + lo);
    }
    return true;
}

static double luminance(const uint8_t c[3]);

const char *qr_opts_parse(const char *q, size_t qlen, struct qr_opts *o, const char **param)
{
    const char *v;
    size_t vlen;
    if (query_find(q, qlen, "format", &v, &vlen)) {
        *param = "format";
        if (vlen == 3 && memcmp(v, "svg", 3) == 0)
            o->format = QR_FORMAT_SVG;
        else if (vlen == 3 && memcmp(v, "png", 3) == 0)
            o->format = QR_FORMAT_PNG;
        else
            return "must be svg or png";
    }
    if (query_find(q, qlen, "size", &v, &vlen)) {
        *param = "size";
        long n = parse_small_uint(v, vlen);
        if (n < QR_SIZE_MIN || n > QR_SIZE_MAX)
            return "must be an integer from 16 to 2048 (pixels)";
        o->size = (unsigned)n;
    }
    if (query_find(q, qlen, "margin", &v, &vlen)) {
        *param = "margin";
        long n = parse_small_uint(v, vlen);
        if (n < 0 || n > QR_MARGIN_MAX)
            return "must be an integer from 0 to 16 (modules)";
        o->margin = (unsigned)n;
    }
    if (query_find(q, qlen, "ecc", &v, &vlen)) {
        *param = "ecc";
        static const char levels[] = "LMQH";
        const char *at = vlen == 1 ? memchr(levels, v[0] & ~0x20, 4) : NULL;
        if (at == NULL || v[0] == '\0')
            return "must be one of L, M, Q, H";
        o->ecc = (enum qr_ecc)(at - levels);
    }
    if (query_find(q, qlen, "fg", &v, &vlen)) {
        *param = "fg";
        if (!parse_colour(v, vlen, o->fg))
            return "must be a colour RRGGBB or #RRGGBB (hex)";
    }
    if (query_find(q, qlen, "bg", &v, &vlen)) {
        *param = "bg";
        if (!parse_colour(v, vlen, o->bg))
            return "must be a colour RRGGBB or #RRGGBB (hex)";
    }
    if (luminance(o->fg) >= luminance(o->bg)) {
        *param = "fg";
        return "must be darker than bg (many scanners cannot read light-on-dark codes)";
    }
    if (qr_contrast_x100(o->fg, o->bg) < QR_CONTRAST_MIN_X100) {
        *param = "fg";
        return "has too little contrast with bg (at least 3:1 is needed to scan)";
    }
    *param = NULL;
    return NULL;
}

static double luminance(const uint8_t c[3])
{
    static const double w[3] = {0.2126, 0.7152, 0.0722};
    double l = 0;
    for (int i = 0; i < 3; i++) {
        double s = c[i] / 255.0;
        l += w[i] * (s <= 0.04045 ? s / 12.92 : pow((s + 0.055) / 1.055, 2.4));
    }
    return l;
}

unsigned qr_contrast_x100(const uint8_t a[3], const uint8_t b[3])
{
    double la = luminance(a), lb = luminance(b);
    double hi = la > lb ? la : lb, lo = la > lb ? lb : la;
    return (unsigned)((hi + 0.05) / (lo + 0.05) * 100.0 + 1e-9);
}

/* ---- SVG ------------------------------------------------------------------ */

struct sbuf {
    char *p;
    size_t len, cap;
    bool over;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    if (b->over)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= b->cap - b->len)
        b->over = true;
    else
        b->len += (size_t)n;
}

static int render_svg(const QRcode *c, const struct qr_opts *o, struct qr_image *out)
{
    unsigned w = (unsigned)c->width, n = w + 2 * o->margin;
    /* Per dark run at most "M%u %uh%uv1h-%uz" (< 32 bytes); a row holds at
     * most (w + 1) / 2 runs. */
    size_t cap = 512 + (size_t)32 * ((w + 1) / 2) * w;
    if (cap > QR_OUT_MAX)
        return QR_ERR_ENCODE;
    struct sbuf b = {malloc(cap), 0, cap, false};
    if (b.p == NULL)
        return QR_ERR_NOMEM;
    sb_printf(&b,
              "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" height=\"%u\" viewBox=\"0 0 %u %u\""
              " shape-rendering=\"crispEdges\"><rect width=\"%u\" height=\"%u\" fill=\"#%02x%02x%02x\"/>"
              "<path fill=\"#%02x%02x%02x\" d=\"",
              o->size, o->size, n, n, n, n, o->bg[0], o->bg[1], o->bg[2], o->fg[0], o->fg[1], o->fg[2]);
    for (unsigned y = 0; y < w; y++) {
        const unsigned char *row = c->data + (size_t)y * w;
        for (unsigned x = 0; x < w;) {
            if (!(row[x] & 1)) {
                x++;
                continue;
            }
            unsigned x0 = x;
            while (x < w && (row[x] & 1))
                x++;
            sb_printf(&b, "M%u %uh%uv1h-%uz", x0 + o->margin, y + o->margin, x - x0, x - x0);
        }
    }
    sb_printf(&b, "\"/></svg>\n");
    if (b.over) {
        free(b.p);
        return QR_ERR_ENCODE; /* the bound above is wrong: never on a valid symbol */
    }
    out->data = (unsigned char *)b.p;
    out->len = b.len;
    out->content_type = "image/svg+xml";
    return 0;
}

/* ---- PNG ------------------------------------------------------------------ */

struct pngbuf {
    unsigned char *p;
    size_t len, cap;
};

static void png_write_mem(png_structp png, png_bytep data, png_size_t len)
{
    struct pngbuf *b = png_get_io_ptr(png);
    if (len > QR_OUT_MAX - b->len)
        png_error(png, "image too large");
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len)
            cap *= 2;
        if (cap > QR_OUT_MAX)
            cap = QR_OUT_MAX;
        unsigned char *np = realloc(b->p, cap);
        if (np == NULL)
            png_error(png, "out of memory");
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, len);
    b->len += len;
}

static void png_flush_mem(png_structp png)
{
    (void)png;
}

static int render_png(const QRcode *c, const struct qr_opts *o, struct qr_image *out)
{
    unsigned w = (unsigned)c->width, n = w + 2 * o->margin, size = o->size;
    unsigned scale = size / n, off = (size - scale * n) / 2 + o->margin * scale;
    struct pngbuf buf = {NULL, 0, 0};
    png_bytep row = calloc((size + 7) / 8, 1);
    if (row == NULL)
        return QR_ERR_NOMEM;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (info == NULL) {
        png_destroy_write_struct(&png, NULL);
        free(row);
        return QR_ERR_NOMEM;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(row);
        free(buf.p);
        return QR_ERR_PNG;
    }
    png_set_write_fn(png, &buf, png_write_mem, png_flush_mem);
    png_set_IHDR(png, info, size, size, 1, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_color pal[2] = {{o->bg[0], o->bg[1], o->bg[2]}, {o->fg[0], o->fg[1], o->fg[2]}};
    png_set_PLTE(png, info, pal, 2);
    png_write_info(png, info);
    for (unsigned py = 0; py < size; py++) {
        memset(row, 0, (size + 7) / 8);
        unsigned my = (py - off) / scale; /* wraps above the symbol: then >= w */
        if (py >= off && my < w) {
            const unsigned char *mrow = c->data + (size_t)my * w;
            for (unsigned px = off; px < off + w * scale; px++)
                if (mrow[(px - off) / scale] & 1)
                    row[px >> 3] |= (png_byte)(0x80 >> (px & 7));
        }
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(row);
    out->data = buf.p;
    out->len = buf.len;
    out->content_type = "image/png";
    return 0;
}

/* ---- entry points ---------------------------------------------------------- */

int qr_render(const char *text, size_t len, const struct qr_opts *o, struct qr_image *out)
{
    static const QRecLevel levels[] = {QR_ECLEVEL_L, QR_ECLEVEL_M, QR_ECLEVEL_Q, QR_ECLEVEL_H};
    if (len == 0 || len > QR_TEXT_MAX || memchr(text, '\0', len) != NULL)
        return QR_ERR_TEXT;
    char z[QR_TEXT_MAX + 1];
    memcpy(z, text, len);
    z[len] = '\0';
    /* 8-bit mode: URLs are case-sensitive, so the alphanumeric mode (upper
     * case only) would change them. */
    QRcode *c = QRcode_encodeString8bit(z, 0, levels[o->ecc]);
    if (c == NULL)
        return QR_ERR_ENCODE;
    unsigned n = (unsigned)c->width + 2 * o->margin;
    int rc;
    if (o->size < n) {
        rc = QR_ERR_TOO_SMALL;
    } else {
        out->modules = n;
        rc = o->format == QR_FORMAT_PNG ? render_png(c, o, out) : render_svg(c, o, out);
    }
    QRcode_free(c);
    return rc;
}

void qr_image_free(struct qr_image *img)
{
    free(img->data);
    img->data = NULL;
    img->len = 0;
}

const char *qr_strerror(int err)
{
    switch (err) {
    case QR_ERR_TEXT:
        return "the text to encode is empty or too long";
    case QR_ERR_ENCODE:
        return "the text does not fit in a QR code";
    case QR_ERR_TOO_SMALL:
        return "is too small for this code: each module needs at least one pixel";
    case QR_ERR_NOMEM:
        return "out of memory";
    case QR_ERR_PNG:
        return "the PNG image could not be written";
    default:
        return "unknown error";
    }
}
