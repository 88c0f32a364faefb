/* Unit table for config_parse: flags, environment, precedence, bad values. */
#include "util/config.h"

#include <criterion/criterion.h>
#include <string.h>

static const char *env_none(const char *name)
{
    (void)name;
    return NULL;
}

static const char *env_some(const char *name)
{
    if (strcmp(name, "LINKPULSE_WORKERS") == 0)
        return "3";
    if (strcmp(name, "LINKPULSE_CACHE_MB") == 0)
        return "16";
    return NULL;
}

static const char *env_bad(const char *name)
{
    return strcmp(name, "LINKPULSE_WORKERS") == 0 ? "many" : NULL;
}

static int parse(struct config *c, config_getenv_fn env, char *err, size_t cap, int argc, ...)
{
    char *argv[16];
    va_list ap;
    va_start(ap, argc);
    for (int i = 0; i < argc; i++)
        argv[i] = va_arg(ap, char *);
    va_end(ap);
    return config_parse(c, argc, argv, env, 2, err, cap);
}

Test(config, defaults)
{
    struct config c;
    char err[256];
    cr_assert_eq(parse(&c, env_none, err, sizeof(err), 0), 0);
    cr_assert_str_eq(c.listen_host, "127.0.0.1");
    cr_assert_eq(c.listen_port, 8080);
    cr_assert_str_eq(c.data_dir, "./data");
    cr_assert_eq(c.workers, 2);
    cr_assert_eq(c.cache_mb, 64);
    cr_assert_eq(c.code_length, 7);
    cr_assert_str_eq(c.base_url, "http://127.0.0.1:8080");
    cr_assert_str_eq(c.access_log, "stderr");
    cr_assert_eq(c.visit_backlog_mb, 4096);
}

Test(config, flags_both_forms)
{
    struct config c;
    char err[256];
    cr_assert_eq(parse(&c, env_none, err, sizeof(err), 9, "--listen", "[::1]:9000", "--workers=4", "--base-url",
                       "HTTPS://S.Example.com/", "--code-length", "9", "--access-log", "off"),
                 0, "%s", err);
    cr_assert_str_eq(c.listen_host, "::1");
    cr_assert_eq(c.listen_port, 9000);
    cr_assert_eq(c.workers, 4);
    cr_assert_str_eq(c.base_url, "https://s.example.com");
    cr_assert_eq(c.code_length, 9);
    cr_assert_str_eq(c.access_log, "off");
    cr_assert_eq(parse(&c, env_none, err, sizeof(err), 2, "--visit-backlog-mb", "64"), 0, "%s", err);
    cr_assert_eq(c.visit_backlog_mb, 64);
}

Test(config, default_base_url_follows_listen)
{
    struct config c;
    char err[256];
    cr_assert_eq(parse(&c, env_none, err, sizeof(err), 2, "--listen", "[::1]:9000"), 0);
    cr_assert_str_eq(c.base_url, "http://[::1]:9000");
}

Test(config, env_and_precedence)
{
    struct config c;
    char err[256];
    cr_assert_eq(parse(&c, env_some, err, sizeof(err), 0), 0);
    cr_assert_eq(c.workers, 3);
    cr_assert_eq(c.cache_mb, 16);
    cr_assert_eq(parse(&c, env_some, err, sizeof(err), 2, "--workers", "5"), 0);
    cr_assert_eq(c.workers, 5, "a flag wins over its variable");
}

Test(config, bad_values_name_the_flag)
{
    static const struct {
        const char *flag, *value;
    } cases[] = {
        {"--workers", "0"},
        {"--workers", "abc"},
        {"--workers", "257"},
        {"--workers", "-1"},
        {"--workers", "2x"},
        {"--listen", "nonsense"},
        {"--listen", ":80"},
        {"--listen", "host:0"},
        {"--listen", "host:65536"},
        {"--listen", "::1:80"},
        {"--cache-mb", "-1"},
        {"--cache-mb", "0"},
        {"--code-length", "3"},
        {"--code-length", "33"},
        {"--base-url", "ftp://x"},
        {"--base-url", "http://x/y"},
        {"--base-url", "relative"},
        {"--request-timeout-ms", "5"},
        {"--data", ""},
        {"--visit-backlog-mb", "15"},
        {"--visit-backlog-mb", "1048577"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct config c;
        char err[256] = "";
        int rc = parse(&c, env_none, err, sizeof(err), 2, cases[i].flag, cases[i].value);
        cr_expect_eq(rc, 2, "%s %s accepted", cases[i].flag, cases[i].value);
        cr_expect(strstr(err, cases[i].flag) != NULL, "error for %s does not name it: %s", cases[i].flag, err);
    }
}

Test(config, unknown_and_missing)
{
    struct config c;
    char err[256];
    cr_assert_eq(parse(&c, env_none, err, sizeof(err), 1, "--nope"), 2);
    cr_assert(strstr(err, "--nope") != NULL);
    cr_assert_eq(parse(&c, env_none, err, sizeof(err), 1, "--workers"), 2);
    cr_assert(strstr(err, "missing value") != NULL);
}

Test(config, bad_env_names_the_variable)
{
    struct config c;
    char err[256];
    cr_assert_eq(parse(&c, env_bad, err, sizeof(err), 0), 2);
    cr_assert(strstr(err, "LINKPULSE_WORKERS") != NULL, "%s", err);
}
