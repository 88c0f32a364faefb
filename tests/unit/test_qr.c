/* qr: the query-option table, contrast, and the rendered images' shape
 * (decoding them is the e2e test's job: zbarimg). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qr/qr.h"

struct opt_case {
    const char *query;
    const char *param; /* NULL: accepted */
    enum qr_format format;
    unsigned size, margin;
    enum qr_ecc ecc;
    uint32_t fg, bg;
};

/* clang-format off */
static const struct opt_case opt_cases[] = {
    {"", NULL, QR_FORMAT_SVG, 256, 4, QR_ECC_M, 0x000000, 0xffffff},
    {"format=png", NULL, QR_FORMAT_PNG, 256, 4, QR_ECC_M, 0x000000, 0xffffff},
    {"format=svg&size=16&margin=0", NULL, QR_FORMAT_SVG, 16, 0, QR_ECC_M, 0x000000, 0xffffff},
    {"size=2048&margin=16&ecc=H", NULL, QR_FORMAT_SVG, 2048, 16, QR_ECC_H, 0x000000, 0xffffff},
    {"ecc=l", NULL, QR_FORMAT_SVG, 256, 4, QR_ECC_L, 0x000000, 0xffffff},
    {"ecc=Q", NULL, QR_FORMAT_SVG, 256, 4, QR_ECC_Q, 0x000000, 0xffffff},
    {"fg=123456&bg=%23FFFFEE", NULL, QR_FORMAT_SVG, 256, 4, QR_ECC_M, 0x123456, 0xffffee},
    {"fg=#0a0B0c", NULL, QR_FORMAT_SVG, 256, 4, QR_ECC_M, 0x0a0b0c, 0xffffff},
    {"team_id=5&x=y", NULL, QR_FORMAT_SVG, 256, 4, QR_ECC_M, 0x000000, 0xffffff},
    {"fg=1a237e&bg=fff8e1", NULL, QR_FORMAT_SVG, 256, 4, QR_ECC_M, 0x1a237e, 0xfff8e1},
    {"fg=ffffff&bg=000000", "fg", QR_FORMAT_SVG, 0, 0, QR_ECC_M, 0, 0}, /* light on dark */
    {"format=gif", "format", QR_FORMAT_SVG, 0, 0, QR_ECC_M, 0, 0},
    {"format=", "format", QR_FORMAT_SVG, 0, 0, QR_ECC_M, 0, 0},
    {"format=SVG", "format", QR_FORMAT_SVG, 0, 0, QR_ECC_M, 0, 0},
    {"size=15", "size", QR_FORMAT_SVG, 0, 0, QR_ECC_M, 0, 0},
    {"size=2049", "size", QR_FORMAT_SVG, 0, 0, QR_ECC_M, 0, 0},
    {"size=", "size", QR_FORMAT_SVG, 0, 0, QR_ECC_M, 0, 0},
    {"size=-1", "size", QR_FORMAT_SVG, 0, 0, QR_ECC_M, 0, 0},
    {"size=256px", "size", QR_FORMAT_SVG, 0, 0, QR_ECC_M, 0, 0},
    {"size=000000256", "size", QR_FORMAT_SVG, 0, 0, QR_ECC_M, 0, 0},
    {"size=99999", "size", QR_FORMAT_SVG, 0, 0, QR_ECC_M, 0, 0},
    {"margin=17", "margin", QR_FORMAT_SVG, 0, 0, QR_ECC_M, 0, 0},
    {"margin=a", "margin", QR_FORMAT_SVG, 0, 0, QR_ECC_M, 0, 0},
    {"ecc=X", "ecc", QR_FORMAT_SVG, 0, 0, QR_ECC_M, 0, 0},
    {"ecc=", "ecc", QR_FORMAT_SVG, 0, 0, QR_ECC_M, 0, 0},
    {"ecc=MM", "ecc", QR_FORMAT_SVG, 0, 0, QR_ECC_M, 0, 0},
    {"fg=12345", "fg", QR_FORMAT_SVG, 0, 0, QR_ECC_M, 0, 0},
    {"fg=1234567", "fg", QR_FORMAT_SVG, 0, 0, QR_ECC_M, 0, 0},
    {"fg=gggggg", "fg", QR_FORMAT_SVG, 0, 0, QR_ECC_M, 0, 0},
    {"bg=#12", "bg", QR_FORMAT_SVG, 0, 0, QR_ECC_M, 0, 0},
    {"bg=red", "bg", QR_FORMAT_SVG, 0, 0, QR_ECC_M, 0, 0},
    {"fg=ffffff", "fg", QR_FORMAT_SVG, 0, 0, QR_ECC_M, 0, 0},              /* white on white */
    {"fg=777777&bg=888888", "fg", QR_FORMAT_SVG, 0, 0, QR_ECC_M, 0, 0},    /* 1.2:1 */
    {"fg=000000&bg=000000", "fg", QR_FORMAT_SVG, 0, 0, QR_ECC_M, 0, 0},
};
/* clang-format on */

static uint32_t rgb(const uint8_t c[3])
{
    return (uint32_t)c[0] << 16 | (uint32_t)c[1] << 8 | c[2];
}

Test(qr, options_table)
{
    for (size_t i = 0; i < sizeof(opt_cases) / sizeof(opt_cases[0]); i++) {
        const struct opt_case *t = &opt_cases[i];
        struct qr_opts o;
        qr_opts_default(&o);
        const char *param = NULL;
        const char *why = qr_opts_parse(t->query, strlen(t->query), &o, &param);
        if (t->param == NULL) {
            cr_expect_null(why, "%s: refused (%s: %s)", t->query, param, why);
            cr_expect_eq(o.format, t->format, "%s", t->query);
            cr_expect_eq(o.size, t->size, "%s", t->query);
            cr_expect_eq(o.margin, t->margin, "%s", t->query);
            cr_expect_eq(o.ecc, t->ecc, "%s", t->query);
            cr_expect_eq(rgb(o.fg), t->fg, "%s: fg %06x", t->query, rgb(o.fg));
            cr_expect_eq(rgb(o.bg), t->bg, "%s: bg %06x", t->query, rgb(o.bg));
        } else {
            cr_expect_not_null(why, "%s: accepted", t->query);
            cr_expect(param != NULL && strcmp(param, t->param) == 0, "%s: names %s, want %s", t->query,
                      param ? param : "(null)", t->param);
        }
    }
}

Test(qr, contrast)
{
    uint8_t black[3] = {0, 0, 0}, white[3] = {255, 255, 255}, grey[3] = {0x76, 0x76, 0x76};
    cr_expect_eq(qr_contrast_x100(black, white), 2100);
    cr_expect_eq(qr_contrast_x100(white, black), 2100);
    cr_expect_eq(qr_contrast_x100(white, white), 100);
    /* #767676 on white is the classic 4.54:1 */
    cr_expect_eq(qr_contrast_x100(grey, white), 454);
}

static const char url[] = "https://s.example.com/AbC123x";

Test(qr, svg_shape)
{
    struct qr_opts o;
    qr_opts_default(&o);
    o.fg[0] = 0x12, o.fg[1] = 0x34, o.fg[2] = 0x56;
    struct qr_image img;
    cr_assert_eq(qr_render(url, strlen(url), &o, &img), 0);
    char *s = strndup((char *)img.data, img.len);
    cr_expect_str_eq(img.content_type, "image/svg+xml");
    cr_expect(strncmp(s, "<svg ", 5) == 0);
    cr_expect_not_null(strstr(s, "width=\"256\" height=\"256\""));
    cr_expect_not_null(strstr(s, "shape-rendering=\"crispEdges\""));
    cr_expect_not_null(strstr(s, "fill=\"#123456\""));
    cr_expect_not_null(strstr(s, "fill=\"#ffffff\""));
    char vb[64];
    snprintf(vb, sizeof(vb), "viewBox=\"0 0 %u %u\"", img.modules, img.modules);
    cr_expect_not_null(strstr(s, vb), "%s", vb);
    /* one path; the top-left finder pattern starts at the margin */
    cr_expect_null(strstr(strstr(s, "<path") + 1, "<path"));
    cr_expect_not_null(strstr(s, "d=\"M4 4h7v1h-7z"));
    free(s);
    qr_image_free(&img);
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

Test(qr, png_exact_size_and_palette)
{
    static const unsigned sizes[] = {QR_SIZE_MIN + 30, 100, 256, 333, QR_SIZE_MAX};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        struct qr_opts o;
        qr_opts_default(&o);
        o.format = QR_FORMAT_PNG;
        o.size = sizes[i];
        o.margin = 1;
        o.bg[2] = 0xee;
        struct qr_image img;
        cr_assert_eq(qr_render(url, strlen(url), &o, &img), 0, "size %u", sizes[i]);
        cr_expect_str_eq(img.content_type, "image/png");
        cr_assert_gt(img.len, 8 + 25);
        cr_expect_eq(memcmp(img.data, "\x89PNG\r\n\x1a\n", 8), 0);
        cr_expect_eq(memcmp(img.data + 12, "IHDR", 4), 0);
        cr_expect_eq(be32(img.data + 16), sizes[i]);
        cr_expect_eq(be32(img.data + 20), sizes[i]);
        cr_expect_eq(img.data[24], 1); /* bit depth */
        cr_expect_eq(img.data[25], 3); /* palette */
        cr_expect_not_null(memmem(img.data, img.len, "PLTE\xff\xff\xee\x00\x00\x00", 10), "palette bg, fg");
        cr_expect_leq(img.len, QR_OUT_MAX);
        qr_image_free(&img);
    }
}

Test(qr, ecc_levels_grow_the_symbol)
{
    unsigned prev = 0;
    for (int e = QR_ECC_L; e <= QR_ECC_H; e++) {
        struct qr_opts o;
        qr_opts_default(&o);
        o.ecc = (enum qr_ecc)e;
        o.margin = 0;
        const char *text = "https://links.example.org/a-fairly-long-custom-slug-for-the-test";
        struct qr_image img;
        cr_assert_eq(qr_render(text, strlen(text), &o, &img), 0);
        cr_expect_geq(img.modules, prev, "ecc %d", e);
        prev = img.modules;
        qr_image_free(&img);
    }
    cr_expect_gt(prev, 21u); /* H needs more than version 1 for this text */
}

Test(qr, errors)
{
    struct qr_opts o;
    qr_opts_default(&o);
    struct qr_image img;
    cr_expect_eq(qr_render("", 0, &o, &img), QR_ERR_TEXT);
    cr_expect_eq(qr_render("a\0b", 3, &o, &img), QR_ERR_TEXT);
    static char big[QR_TEXT_MAX + 2];
    memset(big, 'a', sizeof(big) - 1);
    cr_expect_eq(qr_render(big, QR_TEXT_MAX + 1, &o, &img), QR_ERR_TEXT);
    /* 2048 bytes fit in 8-bit mode only at ECC L */
    o.ecc = QR_ECC_H;
    cr_expect_eq(qr_render(big, QR_TEXT_MAX, &o, &img), QR_ERR_ENCODE);
    /* 16 px cannot hold 21 + 8 modules */
    qr_opts_default(&o);
    o.size = QR_SIZE_MIN;
    cr_expect_eq(qr_render(url, strlen(url), &o, &img), QR_ERR_TOO_SMALL);
    o.format = QR_FORMAT_PNG;
    cr_expect_eq(qr_render(url, strlen(url), &o, &img), QR_ERR_TOO_SMALL);
    cr_expect_str_neq(qr_strerror(QR_ERR_TOO_SMALL), "unknown error");
}

Test(qr, largest_symbol_fits_the_caps)
{
    static char big[QR_TEXT_MAX + 1];
    for (size_t i = 0; i < QR_TEXT_MAX; i++)
        big[i] = (char)('a' + (i * 7) % 26);
    for (int f = 0; f < 2; f++) {
        struct qr_opts o;
        qr_opts_default(&o);
        o.ecc = QR_ECC_L;
        o.size = QR_SIZE_MAX;
        o.margin = QR_MARGIN_MAX;
        o.format = (enum qr_format)f;
        struct qr_image img;
        cr_assert_eq(qr_render(big, QR_TEXT_MAX, &o, &img), 0, "format %d", f);
        cr_expect_leq(img.len, QR_OUT_MAX);
        qr_image_free(&img);
    }
}
