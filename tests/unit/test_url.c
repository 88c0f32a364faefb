/* url: one table of inputs with their exact normalised output or error,
 * then the length limits (built at run time) and url_split. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/url.h"

struct url_case {
    const char *in;
    size_t len; /* 0: strlen(in); set for inputs with an embedded NUL */
    int rc;
    const char *out; /* expected output when rc == 0 */
};

/* clang-format off */
#define OK(i, o) {(i), 0, 0, (o)}
#define BAD(i, e) {(i), 0, (e), NULL}

static const struct url_case url_cases[] = {
    /* scheme and host case */
    OK("http://example.com/", "http://example.com/"),
    OK("HTTP://EXAMPLE.COM/Path", "http://example.com/Path"),
    OK("HtTpS://ExAmPle.CoM", "https://example.com/"),
    OK("https://example.com?q=1", "https://example.com/?q=1"),
    OK("https://example.com#frag", "https://example.com/#frag"),
    OK("  https://example.com/x  ", "https://example.com/x"),
    OK("\t\n https://example.com/ \r\n", "https://example.com/"),
    OK("http://localhost/", "http://localhost/"),
    OK("http://a-b.example/", "http://a-b.example/"),
    OK("http://xn--bcher-kva.example/", "http://xn--bcher-kva.example/"),
    /* IDN */
    OK("http://bücher.example/", "http://xn--bcher-kva.example/"),
    OK("http://BÜCHER.example/", "http://xn--bcher-kva.example/"),
    OK("https://münchen.de/straße", "https://xn--mnchen-3ya.de/stra%C3%9Fe"),
    OK("http://例え.テスト/", "http://xn--r8jz45g.xn--zckzah/"),
    OK("http://faß.de/", "http://xn--fa-hia.de/"),
    OK("http://example\xe3\x80\x82" "com/", "http://example.com/"), /* U+3002 ideographic full stop */
    OK("http://\xef\xbd\x85xample.com/", "http://example.com/"), /* fullwidth e */
    /* ports */
    OK("http://example.com:80/", "http://example.com/"),
    OK("https://example.com:443/", "https://example.com/"),
    OK("http://example.com:443/", "http://example.com:443/"),
    OK("https://example.com:80/", "https://example.com:80/"),
    OK("https://example.com:8443/a", "https://example.com:8443/a"),
    OK("http://example.com:/", "http://example.com/"),
    OK("http://example.com:0080/", "http://example.com/"),
    OK("http://example.com:08080", "http://example.com:8080/"),
    OK("http://example.com:1/", "http://example.com:1/"),
    OK("http://example.com:65535/", "http://example.com:65535/"),
    /* IP literals */
    OK("http://[::1]/", "http://[::1]/"),
    OK("http://[2001:DB8::1]:8080/x", "http://[2001:db8::1]:8080/x"),
    OK("https://[::1]:443", "https://[::1]/"),
    OK("http://[2001:db8:0:0:0:0:0:1]/", "http://[2001:db8::1]/"),
    OK("http://[::ffff:1.2.3.4]/", "http://[::ffff:1.2.3.4]/"),
    OK("http://192.168.0.1:8080/", "http://192.168.0.1:8080/"),
    OK("http://1.2.3.4./", "http://1.2.3.4/"),
    /* trailing dot */
    OK("http://example.com./", "http://example.com/"),
    OK("http://Example.COM.:8080", "http://example.com:8080/"),
    /* path, query, fragment */
    OK("http://example.com/a b", "http://example.com/a%20b"),
    OK("http://example.com/<script>\"x\"", "http://example.com/%3Cscript%3E%22x%22"),
    OK("http://example.com/a\\b^c`d{e|f}", "http://example.com/a%5Cb%5Ec%60d%7Be%7Cf%7D"),
    OK("http://example.com/%7e%2F?x=%zz%", "http://example.com/%7e%2F?x=%zz%"),
    OK("http://example.com/a/../b/./c", "http://example.com/a/../b/./c"),
    OK("http://example.com/über?q=ä#ö", "http://example.com/%C3%BCber?q=%C3%A4#%C3%B6"),
    OK("http://example.com/p@x?y=a:b&z=[1]#f?/", "http://example.com/p@x?y=a:b&z=[1]#f?/"),
    OK("http://example.com/\xff\x80", "http://example.com/%FF%80"),
    OK("http://example.com?", "http://example.com/?"),
    OK("http://example.com#", "http://example.com/#"),

    /* empty */
    BAD("", URL_ERR_EMPTY),
    BAD("   \t \r\n", URL_ERR_EMPTY),
    /* schemes */
    BAD("javascript:alert(1)", URL_ERR_SCHEME),
    BAD("JavaScript://example.com/%0aalert(1)", URL_ERR_SCHEME),
    BAD("data:text/html,<b>x</b>", URL_ERR_SCHEME),
    BAD("file:///etc/passwd", URL_ERR_SCHEME),
    BAD("ftp://example.com/", URL_ERR_SCHEME),
    BAD("mailto:a@example.com", URL_ERR_SCHEME),
    BAD("httpx://example.com/", URL_ERR_SCHEME),
    BAD("http+s://example.com/", URL_ERR_SCHEME),
    BAD("localhost:8080", URL_ERR_SCHEME), /* RFC 3986 reads "localhost" as the scheme */
    /* relative */
    BAD("//x.com", URL_ERR_RELATIVE),
    BAD("/relative", URL_ERR_RELATIVE),
    BAD("example.com", URL_ERR_RELATIVE),
    BAD("example.com/path", URL_ERR_RELATIVE),
    BAD("http:example.com", URL_ERR_RELATIVE),
    BAD("http:/example.com", URL_ERR_RELATIVE),
    BAD("http:\\\\example.com", URL_ERR_RELATIVE),
    BAD("1http://x.com", URL_ERR_RELATIVE),
    BAD("?q=1", URL_ERR_RELATIVE),
    /* userinfo */
    BAD("http://user@example.com/", URL_ERR_USERINFO),
    BAD("http://user:pass@example.com/", URL_ERR_USERINFO),
    BAD("http://@example.com/", URL_ERR_USERINFO),
    BAD("https://good.com:443@evil.com/", URL_ERR_USERINFO),
    /* host */
    BAD("http:///x", URL_ERR_HOST),
    BAD("http://", URL_ERR_HOST),
    BAD("http://?q", URL_ERR_HOST),
    BAD("http://:80/", URL_ERR_HOST),
    BAD("http://./", URL_ERR_HOST),
    BAD("http://exa_mple.com/", URL_ERR_HOST),
    BAD("http://exa%6dple.com/", URL_ERR_HOST),
    BAD("http://exa mple.com/", URL_ERR_HOST),
    BAD("http://-example.com/", URL_ERR_HOST),
    BAD("http://example-.com/", URL_ERR_HOST),
    BAD("http://example..com/", URL_ERR_HOST),
    BAD("http://example.com../", URL_ERR_HOST),
    BAD("http://.example.com/", URL_ERR_HOST),
    BAD("http://[::1/", URL_ERR_HOST),
    BAD("http://[zz::1]/", URL_ERR_HOST),
    BAD("http://[::1]x/", URL_ERR_HOST),
    BAD("http://[]/", URL_ERR_HOST),
    BAD("http://[fe80::1%25eth0]/", URL_ERR_HOST),
    BAD("http://[1.2.3.4]/", URL_ERR_HOST),
    BAD("http://::1/", URL_ERR_HOST),
    BAD("http://127.1/", URL_ERR_HOST),
    BAD("http://0x7f.0.0.1/", URL_ERR_HOST),
    BAD("http://example.0x1f/", URL_ERR_HOST),
    BAD("http://256.1.1.1/", URL_ERR_HOST),
    BAD("http://01.2.3.4/", URL_ERR_HOST),
    BAD("http://2130706433/", URL_ERR_HOST),
    BAD("http://evil.com\\@good.com/", URL_ERR_HOST),
    BAD("http://evil.com\\path", URL_ERR_HOST),
    BAD("http://example.com\xef\xbc\x9a" "80/", URL_ERR_HOST), /* fullwidth colon maps to ':' */
    BAD("http://\xef\xbc\x8f" "evil.com/", URL_ERR_HOST),       /* fullwidth solidus maps to '/' */
    BAD("http://a.\xc3\xbc_b.com/", URL_ERR_HOST),
    /* port */
    BAD("http://example.com:0/", URL_ERR_PORT),
    BAD("http://example.com:65536/", URL_ERR_PORT),
    BAD("http://example.com:abc/", URL_ERR_PORT),
    BAD("http://example.com:-1/", URL_ERR_PORT),
    BAD("http://example.com:+80/", URL_ERR_PORT),
    BAD("http://example.com:99999999999999999999/", URL_ERR_PORT),
    BAD("http://example.com:80:80/", URL_ERR_PORT),
    BAD("http://[::1]:0/", URL_ERR_PORT),
    /* control characters */
    BAD("http://exa\x01mple.com/", URL_ERR_CHARS),
    BAD("http://example.com/a\tb", URL_ERR_CHARS),
    BAD("http://example.com/a\nb", URL_ERR_CHARS),
    BAD("http://example.com/a\rb", URL_ERR_CHARS),
    BAD("java\tscript:alert(1)", URL_ERR_CHARS),
    BAD("http://example.com/\x7f", URL_ERR_CHARS),
    {"http://example.com/\0x", 21, URL_ERR_CHARS, NULL},
    {"\0", 1, URL_ERR_CHARS, NULL},
    /* IDN */
    BAD("http://\xff.com/", URL_ERR_IDN),
    BAD("http://b\xc3\xbc\xc3" "cher.com/", URL_ERR_IDN),
    BAD("http://\xc3\xbc-.com/", URL_ERR_IDN),
    BAD("http://-\xc3\xbc.com/", URL_ERR_IDN),
    BAD("http://\xc3\xbc%41.com/", URL_ERR_IDN),
    BAD("http://\xed\xa0\x80.com/", URL_ERR_IDN), /* UTF-8 encoded surrogate */
};
/* clang-format on */

/* clang-format off */
static const char *err_name(int rc)
{
    switch (rc) {
    case 0: return "OK";
    case URL_ERR_EMPTY: return "EMPTY";
    case URL_ERR_TOO_LONG: return "TOO_LONG";
    case URL_ERR_SCHEME: return "SCHEME";
    case URL_ERR_RELATIVE: return "RELATIVE";
    case URL_ERR_USERINFO: return "USERINFO";
    case URL_ERR_HOST: return "HOST";
    case URL_ERR_PORT: return "PORT";
    case URL_ERR_CHARS: return "CHARS";
    case URL_ERR_IDN: return "IDN";
    default: return "?";
    }
}
/* clang-format on */

Test(url, table)
{
    static char out[URL_MAX_LEN + 1];
    size_t n = sizeof(url_cases) / sizeof(url_cases[0]);

    cr_assert_geq(n, 50);
    for (size_t i = 0; i < n; i++) {
        const struct url_case *c = &url_cases[i];
        size_t len = c->len ? c->len : strlen(c->in);
        size_t outlen = 12345;
        int rc = url_normalize(c->in, len, out, sizeof(out), &outlen);

        cr_expect_eq(rc, c->rc, "case %zu \"%s\": got %s, want %s", i, c->in, err_name(rc), err_name(c->rc));
        if (rc != c->rc)
            continue;
        if (rc == 0) {
            cr_expect_str_eq(out, c->out, "case %zu \"%s\"", i, c->in);
            cr_expect_eq(outlen, strlen(out), "case %zu", i);
            /* idempotent: normalising the output changes nothing */
            static char again[URL_MAX_LEN + 1];
            size_t againlen;
            cr_expect_eq(url_normalize(out, outlen, again, sizeof(again), &againlen), 0, "case %zu", i);
            cr_expect_str_eq(again, out, "case %zu", i);
        } else {
            cr_expect_str_eq(out, "", "case %zu leaves out empty", i);
            cr_expect_eq(outlen, 0, "case %zu", i);
        }
    }
}

/* "http://example.com/" followed by path bytes up to total bytes. */
static char *make_url(size_t total, char fill)
{
    static const char prefix[] = "http://example.com/";
    char *s = malloc(total + 1);
    cr_assert_not_null(s);
    memcpy(s, prefix, sizeof(prefix) - 1);
    memset(s + sizeof(prefix) - 1, fill, total - (sizeof(prefix) - 1));
    s[total] = '\0';
    return s;
}

Test(url, max_len)
{
    static char out[URL_MAX_LEN + 1];
    size_t outlen;
    char *s = make_url(URL_MAX_LEN, 'a');

    cr_expect_eq(url_normalize(s, URL_MAX_LEN, out, sizeof(out), &outlen), 0);
    cr_expect_eq(outlen, URL_MAX_LEN);
    cr_expect_str_eq(out, s);
    free(s);

    s = make_url(URL_MAX_LEN + 1, 'a');
    cr_expect_eq(url_normalize(s, URL_MAX_LEN + 1, out, sizeof(out), &outlen), URL_ERR_TOO_LONG);
    cr_expect_str_eq(out, "");
    free(s);
}

Test(url, max_len_counts_raw_input)
{
    static char out[URL_MAX_LEN + 1];
    size_t outlen;
    char *s = make_url(URL_MAX_LEN, 'a');
    char *padded = malloc(URL_MAX_LEN + 2);

    cr_assert_not_null(padded);
    padded[0] = ' ';
    memcpy(padded + 1, s, URL_MAX_LEN + 1);
    cr_expect_eq(url_normalize(padded, URL_MAX_LEN + 1, out, sizeof(out), &outlen), URL_ERR_TOO_LONG);
    free(padded);
    free(s);
}

Test(url, output_growth_over_limit)
{
    static char out[URL_MAX_LEN + 1];
    size_t outlen;
    /* 19 + 1024 spaces = 1043 input bytes, 19 + 3072 output bytes */
    char *s = make_url(19 + 1024, ' ');
    s[19 + 1023] = 'x';
    cr_expect_eq(url_normalize(s, strlen(s), out, sizeof(out), &outlen), URL_ERR_TOO_LONG);
    free(s);

    /* exactly at the limit after escaping: 19 + 3 * 1017 + 2 = 3072 */
    s = make_url(19 + 1017 + 2, ' ');
    s[19 + 1017] = 'y';
    s[19 + 1018] = 'z';
    cr_expect_eq(url_normalize(s, strlen(s), out, sizeof(out), &outlen), 0);
    cr_expect_eq(outlen, URL_MAX_LEN);
    free(s);
}

Test(url, host_limits)
{
    static char out[URL_MAX_LEN + 1];
    char in[600];
    size_t outlen;
    char label63[64], label64[65];

    memset(label63, 'a', 63);
    label63[63] = '\0';
    memset(label64, 'b', 64);
    label64[64] = '\0';

    snprintf(in, sizeof(in), "http://%s.com/", label63);
    cr_expect_eq(url_normalize(in, strlen(in), out, sizeof(out), &outlen), 0);
    cr_expect_str_eq(out, in);
    snprintf(in, sizeof(in), "http://%s.com/", label64);
    cr_expect_eq(url_normalize(in, strlen(in), out, sizeof(out), &outlen), URL_ERR_HOST);

    /* 4 * 63 + 1 = 253 chars: the longest name; one more is refused */
    snprintf(in, sizeof(in), "http://%s.%s.%s.%s/", label63, label63, label63, label63 + 2);
    cr_expect_eq(url_normalize(in, strlen(in), out, sizeof(out), &outlen), 0, "%s", in);
    snprintf(in, sizeof(in), "http://%s.%s.%s.%s./", label63, label63, label63, label63 + 2);
    cr_expect_eq(url_normalize(in, strlen(in), out, sizeof(out), &outlen), 0, "trailing dot not counted");
    snprintf(in, sizeof(in), "http://%s.%s.%s.%s/", label63, label63, label63, label63 + 1);
    cr_expect_eq(url_normalize(in, strlen(in), out, sizeof(out), &outlen), URL_ERR_HOST);
}

Test(url, input_is_not_read_past_len)
{
    static char out[URL_MAX_LEN + 1];
    size_t outlen;
    const char *s = "http://example.com/abc";

    cr_expect_eq(url_normalize(s, 18, out, sizeof(out), &outlen), 0);
    cr_expect_str_eq(out, "http://example.com/");
    cr_expect_eq(url_normalize(s, 21, out, sizeof(out), &outlen), 0);
    cr_expect_str_eq(out, "http://example.com/ab");
}

Test(url, strerror)
{
    for (int e = URL_ERR_IDN; e <= 0; e++) {
        const char *m = url_strerror(e);
        cr_expect_not_null(m);
        cr_expect_gt(strlen(m), 0);
    }
    cr_expect_str_eq(url_strerror(URL_ERR_SCHEME), "only http and https URLs are allowed");
    cr_expect_str_eq(url_strerror(URL_ERR_TOO_LONG), "URL is longer than 3072 bytes");
    cr_expect_not_null(url_strerror(-100));
}

struct split_case {
    const char *url;
    int rc;
    const char *scheme, *host;
    unsigned port;
    const char *rest;
};

static const struct split_case split_cases[] = {
    {"https://example.com/", 0, "https", "example.com", 443, "/"},
    {"http://example.com/a?b#c", 0, "http", "example.com", 80, "/a?b#c"},
    {"http://example.com:8080/x", 0, "http", "example.com", 8080, "/x"},
    {"https://[::1]/", 0, "https", "::1", 443, "/"},
    {"http://[2001:db8::1]:8443/p", 0, "http", "2001:db8::1", 8443, "/p"},
    {"http://1.2.3.4?q", 0, "http", "1.2.3.4", 80, "?q"},
    {"https://a.b#f", 0, "https", "a.b", 443, "#f"},
    {"http://example.com", 0, "http", "example.com", 80, ""},
    {"ftp://example.com/", -1, NULL, NULL, 0, NULL},
    {"HTTP://example.com/", -1, NULL, NULL, 0, NULL},
    {"http:/example.com/", -1, NULL, NULL, 0, NULL},
    {"http:///x", -1, NULL, NULL, 0, NULL},
    {"http://:80/", -1, NULL, NULL, 0, NULL},
    {"http://x.com:0/", -1, NULL, NULL, 0, NULL},
    {"http://x.com:70000/", -1, NULL, NULL, 0, NULL},
    {"http://x.com:/", -1, NULL, NULL, 0, NULL},
    {"http://[::1/", -1, NULL, NULL, 0, NULL},
    {"http://[::1]x/", -1, NULL, NULL, 0, NULL},
    {"", -1, NULL, NULL, 0, NULL},
};

Test(url, split)
{
    for (size_t i = 0; i < sizeof(split_cases) / sizeof(split_cases[0]); i++) {
        const struct split_case *c = &split_cases[i];
        struct url_parts p;
        int rc = url_split(c->url, strlen(c->url), &p);

        cr_expect_eq(rc, c->rc, "split case %zu \"%s\"", i, c->url);
        if (rc != 0 || c->rc != 0)
            continue;
        cr_expect(p.scheme_len == strlen(c->scheme) && memcmp(p.scheme, c->scheme, p.scheme_len) == 0,
                  "split case %zu scheme", i);
        cr_expect(p.host_len == strlen(c->host) && memcmp(p.host, c->host, p.host_len) == 0, "split case %zu host %.*s",
                  i, (int)p.host_len, p.host);
        cr_expect_eq(p.port, c->port, "split case %zu port", i);
        cr_expect(p.rest_len == strlen(c->rest) && memcmp(p.rest, c->rest, p.rest_len) == 0, "split case %zu rest", i);
    }
}

Test(url, split_every_good_table_output)
{
    static char out[URL_MAX_LEN + 1];

    for (size_t i = 0; i < sizeof(url_cases) / sizeof(url_cases[0]); i++) {
        const struct url_case *c = &url_cases[i];
        size_t outlen;
        struct url_parts p;
        if (c->rc != 0)
            continue;
        cr_assert_eq(url_normalize(c->in, strlen(c->in), out, sizeof(out), &outlen), 0);
        cr_expect_eq(url_split(out, outlen, &p), 0, "case %zu \"%s\"", i, out);
        cr_expect_gt(p.host_len, 0);
        cr_expect(p.rest_len > 0 && (p.rest[0] == '/' || p.rest[0] == '?' || p.rest[0] == '#'));
    }
}
