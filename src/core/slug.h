/* slug: the rules for custom short codes chosen by users ("/my-launch").
 * A slug is 1-64 chars of [A-Za-z0-9_-], compared case-sensitively as a
 * code, but it may not be one of the words the router and the dashboard
 * claim for themselves, in any letter case. Pure functions; thread-safe. */
#ifndef LP_CORE_SLUG_H
#define LP_CORE_SLUG_H

#include <stdbool.h>
#include <stddef.h>

#define SLUG_MAX_LEN 64

enum slug_err {
    SLUG_ERR_EMPTY = -1,
    SLUG_ERR_TOO_LONG = -2,
    SLUG_ERR_CHARS = -3,
    SLUG_ERR_RESERVED = -4,
};

/* 0, or a negative enum slug_err. */
int slug_validate(const char *s, size_t len);

/* True when s[0..len) is a reserved word, ignoring ASCII case. */
bool slug_is_reserved(const char *s, size_t len);

/* A short reason for API errors, to follow the field name ("slug ..."). */
const char *slug_strerror(int err);

#endif
