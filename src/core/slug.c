#include "core/slug.h"

#include <string.h>

/* Paths the router serves before "/{code}" and names a visitor could take
 * for ours. The entries with a '.' cannot pass the charset today; they stay
 * so that widening the charset cannot open them up. */
static const char *const slug_reserved[] = {
    "api",         "app",      "healthz",   "readyz", "livez",  "metrics", "robots.txt", "favicon.ico", "static",
    "assets",      "admin",    "dashboard", "login",  "logout", "signup",  "auth",       "docs",        "well-known",
    ".well-known", "problems", "qr",        "status", "www",    "s",       "u",
    "suggest", "bulk", "import", "export", /* /api/v1/links/... (issue 4) */
};

#define SLUG_STR_(x) #x
#define SLUG_STR(x) SLUG_STR_(x)

static bool slug_char_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static unsigned char slug_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

bool slug_is_reserved(const char *s, size_t len)
{
    for (size_t i = 0; i < sizeof(slug_reserved) / sizeof(slug_reserved[0]); i++) {
        const char *w = slug_reserved[i];
        if (strlen(w) != len)
            continue;
        size_t j = 0;
        while (j < len && slug_lower((unsigned char)s[j]) == (unsigned char)w[j])
            j++;
        if (j == len)
            return true;
    }
    return false;
}

int slug_validate(const char *s, size_t len)
{
    if (len == 0)
        return SLUG_ERR_EMPTY;
    if (len > SLUG_MAX_LEN)
        return SLUG_ERR_TOO_LONG;
    for (size_t i = 0; i < len; i++)
        if (!slug_char_ok((unsigned char)s[i]))
            return SLUG_ERR_CHARS;
    if (slug_is_reserved(s, len))
        return SLUG_ERR_RESERVED;
    return 0;
}

const char *slug_strerror(int err)
{
    switch (err) {
    case 0:
        return "is valid";
    case SLUG_ERR_EMPTY:
        return "must not be empty";
    case SLUG_ERR_TOO_LONG:
        return "must be at most " SLUG_STR(SLUG_MAX_LEN) " characters";
    case SLUG_ERR_CHARS:
        return "must be 1-" SLUG_STR(SLUG_MAX_LEN) " characters of A-Z a-z 0-9 _ -";
    case SLUG_ERR_RESERVED:
        return "is a reserved word";
    default:
        return "is not a valid slug";
    }
}
