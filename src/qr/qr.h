/* qr: QR code images of short URLs. Pure apart from malloc: the options
 * parser reads a query string into struct qr_opts (or names the bad
 * parameter), and qr_render() encodes text with libqrencode and draws it as
 * SVG (written here: one path, crisp edges) or PNG (libpng, 1-bit palette,
 * written to memory). Thread-safe (libqrencode is built with pthreads).
 *
 * Geometry: the symbol is width modules plus margin quiet modules on each
 * side; every module is the same whole number of pixels (no blurring), and
 * PNG images are padded with background to exactly size x size. */
#ifndef LP_QR_QR_H
#define LP_QR_QR_H

#include <stddef.h>
#include <stdint.h>

#define QR_SIZE_MIN 16
#define QR_SIZE_MAX 2048
#define QR_SIZE_DEFAULT 256
#define QR_MARGIN_MAX 16
#define QR_MARGIN_DEFAULT 4
#define QR_TEXT_MAX 2048             /* bytes encoded; a version-40 L symbol holds 2953 */
#define QR_OUT_MAX (2 * 1024 * 1024) /* any image larger than this is refused */
/* The foreground must be darker than the background (light-on-dark codes
 * defeat many scanners, zbar among them) and differ this much (WCAG contrast ratio x100),
 * or scanners misread the code. */
#define QR_CONTRAST_MIN_X100 300

enum qr_format { QR_FORMAT_SVG, QR_FORMAT_PNG };
enum qr_ecc { QR_ECC_L, QR_ECC_M, QR_ECC_Q, QR_ECC_H };

struct qr_opts {
    enum qr_format format;
    enum qr_ecc ecc;
    unsigned size;   /* pixels, QR_SIZE_MIN..QR_SIZE_MAX */
    unsigned margin; /* modules, 0..QR_MARGIN_MAX */
    uint8_t fg[3], bg[3];
};

void qr_opts_default(struct qr_opts *o);

/* Reads format, size, margin, ecc, fg and bg from a raw query string
 * ("a=1&b=2"). Returns NULL, or a reason with *param set to the name of the
 * first bad parameter. Colours: RRGGBB, #RRGGBB or %23RRGGBB. */
const char *qr_opts_parse(const char *query, size_t len, struct qr_opts *o, const char **param);

/* WCAG 2 contrast ratio of two sRGB colours, x100 (100..2100). */
unsigned qr_contrast_x100(const uint8_t a[3], const uint8_t b[3]);

struct qr_image {
    unsigned char *data; /* malloc'd; free with qr_image_free */
    size_t len;
    const char *content_type;
    unsigned modules; /* symbol width plus both margins */
};

enum qr_error {
    QR_ERR_TEXT = -1,      /* empty or longer than QR_TEXT_MAX */
    QR_ERR_ENCODE = -2,    /* libqrencode could not encode it */
    QR_ERR_TOO_SMALL = -3, /* size gives less than one pixel per module */
    QR_ERR_NOMEM = -4,
    QR_ERR_PNG = -5,
};

/* 0 and *out, or a negative enum qr_error (nothing to free). */
int qr_render(const char *text, size_t len, const struct qr_opts *o, struct qr_image *out);
void qr_image_free(struct qr_image *img);
const char *qr_strerror(int err);

#endif
