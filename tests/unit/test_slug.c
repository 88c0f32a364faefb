/* slug: the charset and length table, then every reserved word in several
 * letter cases. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/slug.h"

struct slug_case {
    const char *in;
    size_t len; /* 0: strlen(in) */
    int rc;
};

/* clang-format off */
static const struct slug_case slug_cases[] = {
    {"a", 0, 0},
    {"Z", 0, 0},
    {"0", 0, 0},
    {"_", 0, 0},
    {"-", 0, 0},
    {"my-launch", 0, 0},
    {"My_Launch_2026", 0, 0},
    {"abcABC123_-", 0, 0},
    {"0123456789012345678901234567890123456789012345678901234567890123", 0, 0}, /* 64 */
    {"apis", 0, 0},
    {"xapi", 0, 0},
    {"ss", 0, 0},
    {"admin-panel", 0, 0},
    {"well_known", 0, 0},
    {"qr-code", 0, 0},
    {"", 0, SLUG_ERR_EMPTY},
    {"01234567890123456789012345678901234567890123456789012345678901234", 0, SLUG_ERR_TOO_LONG}, /* 65 */
    {"a/b", 0, SLUG_ERR_CHARS},
    {"/", 0, SLUG_ERR_CHARS},
    {"a.b", 0, SLUG_ERR_CHARS},
    {".", 0, SLUG_ERR_CHARS},
    {"..", 0, SLUG_ERR_CHARS},
    {"a b", 0, SLUG_ERR_CHARS},
    {" a", 0, SLUG_ERR_CHARS},
    {"a ", 0, SLUG_ERR_CHARS},
    {"caf\xc3\xa9", 0, SLUG_ERR_CHARS},     /* café */
    {"\xe4\xbe\x8b", 0, SLUG_ERR_CHARS},    /* 例 */
    {"\xef\xbd\x81", 0, SLUG_ERR_CHARS},    /* fullwidth a */
    {"a%20b", 0, SLUG_ERR_CHARS},
    {"a?b", 0, SLUG_ERR_CHARS},
    {"a#b", 0, SLUG_ERR_CHARS},
    {"a+b", 0, SLUG_ERR_CHARS},
    {"a~b", 0, SLUG_ERR_CHARS},
    {"a:b", 0, SLUG_ERR_CHARS},
    {"a@b", 0, SLUG_ERR_CHARS},
    {"a\\b", 0, SLUG_ERR_CHARS},
    {"a\tb", 0, SLUG_ERR_CHARS},
    {"a\nb", 0, SLUG_ERR_CHARS},
    {"a\0b", 3, SLUG_ERR_CHARS},
    {"robots.txt", 0, SLUG_ERR_CHARS}, /* reserved, but the charset refuses it first */
    {".well-known", 0, SLUG_ERR_CHARS},
    {"api", 0, SLUG_ERR_RESERVED},
    {"API", 0, SLUG_ERR_RESERVED},
    {"s", 0, SLUG_ERR_RESERVED},
    {"U", 0, SLUG_ERR_RESERVED},
    {"well-known", 0, SLUG_ERR_RESERVED},
};
/* clang-format on */

Test(slug, table)
{
    for (size_t i = 0; i < sizeof(slug_cases) / sizeof(slug_cases[0]); i++) {
        const struct slug_case *c = &slug_cases[i];
        size_t len = c->len ? c->len : strlen(c->in);
        cr_expect_eq(slug_validate(c->in, len), c->rc, "case %zu \"%s\"", i, c->in);
    }
}

Test(slug, len_is_respected)
{
    cr_expect_eq(slug_validate("api/x", 3), SLUG_ERR_RESERVED);
    cr_expect_eq(slug_validate("abc/", 3), 0);
    cr_expect_eq(slug_validate("abc", 0), SLUG_ERR_EMPTY);
    cr_expect(!slug_is_reserved("api", 2));
    cr_expect(!slug_is_reserved("api", 0));
}

static const char *const reserved[] = {
    "api",         "app",      "healthz",   "readyz", "livez",  "metrics", "robots.txt", "favicon.ico", "static",
    "assets",      "admin",    "dashboard", "login",  "logout", "signup",  "auth",       "docs",        "well-known",
    ".well-known", "problems", "qr",        "status", "www",    "s",       "u",
};

static void upper(char *dst, const char *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (src[i] >= 'a' && src[i] <= 'z') ? (char)(src[i] - 32) : src[i];
}

Test(slug, every_reserved_word_in_every_case)
{
    char buf[SLUG_MAX_LEN + 1];

    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        const char *w = reserved[i];
        size_t n = strlen(w);
        int want = strchr(w, '.') ? SLUG_ERR_CHARS : SLUG_ERR_RESERVED;

        cr_assert_lt(n, sizeof(buf));
        cr_expect(slug_is_reserved(w, n), "\"%s\"", w);
        cr_expect_eq(slug_validate(w, n), want, "\"%s\"", w);

        upper(buf, w, n);
        cr_expect(slug_is_reserved(buf, n), "\"%.*s\"", (int)n, buf);
        cr_expect_eq(slug_validate(buf, n), want, "\"%.*s\"", (int)n, buf);

        /* only the first letter upper-case: "Api", "Well-known" */
        memcpy(buf, w, n);
        upper(buf, w, 1);
        cr_expect(slug_is_reserved(buf, n), "\"%.*s\"", (int)n, buf);

        /* a longer or shorter word is not reserved */
        memcpy(buf, w, n);
        buf[n] = 'x';
        cr_expect(!slug_is_reserved(buf, n + 1), "\"%.*s\"", (int)n + 1, buf);
        if (n > 1)
            cr_expect(!slug_is_reserved(w, n - 1), "\"%.*s\"", (int)n - 1, w);
    }
}

Test(slug, strerror)
{
    cr_expect_str_eq(slug_strerror(SLUG_ERR_CHARS), "must be 1-64 characters of A-Z a-z 0-9 _ -");
    cr_expect_str_eq(slug_strerror(SLUG_ERR_RESERVED), "is a reserved word");
    cr_expect_str_eq(slug_strerror(SLUG_ERR_TOO_LONG), "must be at most 64 characters");
    cr_expect_str_eq(slug_strerror(SLUG_ERR_EMPTY), "must not be empty");
    cr_expect_not_null(slug_strerror(-99));
}
