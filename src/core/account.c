#include "core/account.h"

#include <string.h>

const char *account_check_email(const char *s, size_t len, char *lc)
{
    if (len < 3 || len > ACCOUNT_EMAIL_MAX)
        return "must be an e-mail address of at most 254 characters";
    const char *at = memchr(s, '@', len);
    if (at == NULL || at == s || memchr(at + 1, '@', len - (size_t)(at - s) - 1) != NULL)
        return "must be an e-mail address like name@example.com";
    const char *domain = at + 1;
    size_t dlen = len - (size_t)(domain - s);
    if (dlen < 3 || memchr(domain, '.', dlen) == NULL || domain[0] == '.' || domain[dlen - 1] == '.')
        return "must be an e-mail address like name@example.com";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == ',' || c == ';' || c == '"' || c == '\\')
            return "must be an e-mail address like name@example.com";
        lc[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    lc[len] = '\0';
    return NULL;
}

const char *account_check_password(const char *s, size_t len)
{
    if (len > ACCOUNT_PASSWORD_MAX)
        return "must be at most 1024 bytes";
    size_t chars = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            chars++;
    if (chars < ACCOUNT_PASSWORD_MIN)
        return "must be at least 10 characters";
    return NULL;
}

const char *account_check_name(const char *s, size_t len)
{
    if (len == 0 || len > ACCOUNT_NAME_MAX)
        return "must be 1-128 characters";
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return "must not contain control characters";
    return NULL;
}
