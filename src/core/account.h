/* account: rules for sign-up fields. Pure; thread-safe. Each check returns
 * NULL when the value is acceptable or a short reason for invalid_params. */
#ifndef LP_CORE_ACCOUNT_H
#define LP_CORE_ACCOUNT_H

#include <stddef.h>

#define ACCOUNT_EMAIL_MAX 254
#define ACCOUNT_PASSWORD_MIN 10   /* characters */
#define ACCOUNT_PASSWORD_MAX 1024 /* bytes: hashing cost must not grow with the input */
#define ACCOUNT_NAME_MAX 128

/* Checks an e-mail address and writes its lower-cased form (the identity
 * that must be unique) into lc (capacity ACCOUNT_EMAIL_MAX + 1). */
const char *account_check_email(const char *s, size_t len, char *lc);
const char *account_check_password(const char *s, size_t len);
const char *account_check_name(const char *s, size_t len);

#endif
