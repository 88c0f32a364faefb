/* url: the rules for link targets. url_normalize() is the one gate every
 * target URL passes before it is stored: absolute http(s) only, no
 * credentials, a host that DNS could hold (IDN converted to punycode) or
 * an IP literal, and a path whose bytes a browser will send as we stored
 * them. Normalising is idempotent, so stored URLs compare byte for byte.
 * Pure functions (libidn2 is reentrant); thread-safe. */
#ifndef LP_CORE_URL_H
#define LP_CORE_URL_H

#include <stddef.h>

/* The service's stated limit; applies to the input and to the output. */
#define URL_MAX_LEN 3072
#define URL_HOST_MAX_LEN 253 /* DNS name, without the trailing dot */
#define URL_LABEL_MAX_LEN 63

enum url_err {
    URL_ERR_EMPTY = -1,
    URL_ERR_TOO_LONG = -2,
    URL_ERR_SCHEME = -3,
    URL_ERR_RELATIVE = -4,
    URL_ERR_USERINFO = -5,
    URL_ERR_HOST = -6,
    URL_ERR_PORT = -7,
    URL_ERR_CHARS = -8,
    URL_ERR_IDN = -9,
};

struct url_parts {
    const char *scheme; /* "http" or "https" */
    size_t scheme_len;
    const char *host; /* IPv6 literals without their brackets */
    size_t host_len;
    unsigned port; /* effective port, 80/443 when default */
    const char *rest;
    size_t rest_len; /* path+query+fragment, starts with '/', '?' or '#', or empty */
};

/* Normalises `in` into `out` (NUL-terminated, at most URL_MAX_LEN bytes +
 * NUL). outcap must be >= URL_MAX_LEN + 1. 0, or a negative enum url_err;
 * on error out holds an empty string. */
int url_normalize(const char *in, size_t len, char *out, size_t outcap, size_t *outlen);

/* Splits an already-normalised URL; pointers into `url`. 0 or -1. */
int url_split(const char *url, size_t len, struct url_parts *parts);

/* A short reason for API errors, e.g. "only http and https URLs are allowed". */
const char *url_strerror(int err);

#endif
