/* Unit tests for src/util/ipaddr: literal parsing and printing, CIDR lists,
 * membership, the X-Forwarded-For walk, and anonymisation. Every table row
 * names its input, so a failure says which. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "util/ipaddr.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct ipaddr ip(const char *s)
{
    struct ipaddr a;
    cr_assert_eq(ipaddr_parse(s, strlen(s), &a), 0, "parse \"%s\"", s);
    return a;
}

static const char *fmt(const struct ipaddr *a, char buf[IPADDR_FORMAT_BUF])
{
    ipaddr_format(a, buf, IPADDR_FORMAT_BUF);
    return buf;
}

Test(ipaddr, parse_table)
{
    static const struct {
        const char *in;
        int family; /* 0: refused */
        const char *out;
    } rows[] = {
        {"1.2.3.4", 4, "1.2.3.4"},
        {"0.0.0.0", 4, "0.0.0.0"},
        {"255.255.255.255", 4, "255.255.255.255"},
        {"10.0.0.10", 4, "10.0.0.10"},
        {"::1", 6, "::1"},
        {"::", 6, "::"},
        {"[::1]", 6, "::1"},
        {"2001:db8::1", 6, "2001:db8::1"},
        {"2001:DB8::A", 6, "2001:db8::a"},
        {"2001:0db8:0000:0000:0000:0000:0000:0001", 6, "2001:db8::1"},
        {"1:2:3:4:5:6:7:8", 6, "1:2:3:4:5:6:7:8"},
        {"fe80::1:2:3:4:5", 6, "fe80::1:2:3:4:5"},
        {"::ffff:1.2.3.4", 4, "1.2.3.4"},
        {"[::ffff:1.2.3.4]", 4, "1.2.3.4"},
        {"::FFFF:0102:0304", 4, "1.2.3.4"},
        {"64:ff9b::1.2.3.4", 6, "64:ff9b::102:304"}, /* NAT64 is not mapped */
        {"1:2:3:4:5:6:1.2.3.4", 6, "1:2:3:4:5:6:102:304"},
        {"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", 6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
        {"[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]", 6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
        /* refused */
        {"", 0, NULL},
        {"01.2.3.4", 0, NULL},
        {"1.2.3.04", 0, NULL},
        {"1.2.3", 0, NULL},
        {"1.2.3.", 0, NULL},
        {"1.2.3.4.5", 0, NULL},
        {"256.1.1.1", 0, NULL},
        {"1.2.3.-1", 0, NULL},
        {"0x1.2.3.4", 0, NULL},
        {"1", 0, NULL},
        {" 1.2.3.4", 0, NULL},
        {"1.2.3.4 ", 0, NULL},
        {"1.2.3.4:80", 0, NULL},
        {"1.2.3.4/8", 0, NULL},
        {"[1.2.3.4]", 0, NULL},
        {"[::1]:80", 0, NULL},
        {"[::1", 0, NULL},
        {"::1]", 0, NULL},
        {"[]", 0, NULL},
        {"[", 0, NULL},
        {"fe80::1%eth0", 0, NULL},
        {"fe80::1%25eth0", 0, NULL},
        {"[fe80::1%1]", 0, NULL},
        {":::", 0, NULL},
        {"1::2::3", 0, NULL},
        {"12345::", 0, NULL},
        {"1:2:3:4:5:6:7:8:9", 0, NULL},
        {"1:2:3:4:5:6:7", 0, NULL},
        {"g::1", 0, NULL},
        {"::ffff:01.2.3.4", 0, NULL},
        {"::1.2.3", 0, NULL},
        {"localhost", 0, NULL},
        {"[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255] ", 0, NULL}, /* over the cap */
        {"00000000000000000000000000000000000000000000000000::1", 0, NULL},
    };
    char buf[IPADDR_FORMAT_BUF];
    for (size_t i = 0; i < N(rows); i++) {
        struct ipaddr a;
        memset(&a, 0x5a, sizeof(a));
        int rc = ipaddr_parse(rows[i].in, strlen(rows[i].in), &a);
        if (rows[i].family == 0) {
            cr_expect_eq(rc, -EINVAL, "\"%s\" should be refused", rows[i].in);
            struct ipaddr zero = {0};
            cr_expect_eq(memcmp(&a, &zero, sizeof(a)), 0, "\"%s\": out not zeroed", rows[i].in);
            continue;
        }
        cr_expect_eq(rc, 0, "\"%s\" should parse", rows[i].in);
        cr_expect_eq(a.family, rows[i].family, "\"%s\": family %d", rows[i].in, a.family);
        cr_expect_str_eq(fmt(&a, buf), rows[i].out, "\"%s\" -> \"%s\"", rows[i].in, buf);
        if (a.family == 4) {
            static const uint8_t zero[12] = {0};
            cr_expect_eq(memcmp(a.bytes + 4, zero, 12), 0, "\"%s\": unused bytes not zeroed", rows[i].in);
        }
        /* The printed form parses back to the same address. */
        struct ipaddr b;
        cr_expect_eq(ipaddr_parse(buf, strlen(buf), &b), 0);
        cr_expect_eq(memcmp(&a, &b, sizeof(a)), 0, "\"%s\" round trip", rows[i].in);
    }
}

Test(ipaddr, parse_reads_exactly_len)
{
    struct ipaddr a;
    cr_expect_eq(ipaddr_parse("1.2.3.45", 7, &a), 0);
    cr_expect_eq(memcmp(&a, &(struct ipaddr){.family = 4, .bytes = {1, 2, 3, 4}}, sizeof(a)), 0);
    cr_expect_eq(ipaddr_parse("1.2.3.4\0", 8, &a), -EINVAL); /* an embedded NUL is not the end */
    cr_expect_eq(ipaddr_parse("::1\0junk", 8, &a), -EINVAL);
    cr_expect_eq(ipaddr_parse(NULL, 0, &a), -EINVAL);
}

Test(ipaddr, format_caps)
{
    struct ipaddr a = ip("2001:db8:0:0:1:0:0:1");
    char buf[IPADDR_FORMAT_BUF];
    cr_expect_eq(ipaddr_format(&a, buf, sizeof(buf)), strlen("2001:db8::1:0:0:1"));
    cr_expect_str_eq(buf, "2001:db8::1:0:0:1");

    struct ipaddr v4 = ip("192.168.100.200");
    char small[16];
    cr_expect_eq(ipaddr_format(&v4, small, 16), 15);
    cr_expect_str_eq(small, "192.168.100.200");
    cr_expect_eq(ipaddr_format(&v4, small, 15), 0); /* no room for the NUL */
    cr_expect_str_eq(small, "");
    cr_expect_eq(ipaddr_format(&v4, small, 0), 0);

    struct ipaddr bad = {.family = 5};
    cr_expect_eq(ipaddr_format(&bad, buf, sizeof(buf)), 0);
    cr_expect_str_eq(buf, "");

    struct ipaddr longest = ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    cr_expect_eq(ipaddr_format(&longest, buf, sizeof(buf)), 39);
    /* The widest inet_ntop output ("::ffff:" forms are unmapped before
     * printing, but a hand-built struct may still hold one). */
    struct ipaddr mapped = {.family = 6, .bytes = {[10] = 0xff, 0xff, 255, 255, 255, 255}};
    cr_expect_eq(ipaddr_format(&mapped, buf, sizeof(buf)), strlen("::ffff:255.255.255.255"));
}

Test(ipaddr, from_sockaddr)
{
    struct ipaddr a;
    char buf[IPADDR_FORMAT_BUF];
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(80)};
    inet_pton(AF_INET, "203.0.113.9", &sin.sin_addr);
    cr_expect_eq(ipaddr_from_sockaddr((struct sockaddr *)&sin, &a), 0);
    cr_expect_str_eq(fmt(&a, buf), "203.0.113.9");
    cr_expect_eq(a.family, 4);

    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, "::ffff:203.0.113.9", &sin6.sin6_addr);
    cr_expect_eq(ipaddr_from_sockaddr((struct sockaddr *)&sin6, &a), 0);
    cr_expect_eq(a.family, 4, "a dual-stack socket's mapped peer is IPv4");
    cr_expect_str_eq(fmt(&a, buf), "203.0.113.9");

    inet_pton(AF_INET6, "2001:db8::42", &sin6.sin6_addr);
    cr_expect_eq(ipaddr_from_sockaddr((struct sockaddr *)&sin6, &a), 0);
    cr_expect_eq(a.family, 6);
    cr_expect_str_eq(fmt(&a, buf), "2001:db8::42");

    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    cr_expect_eq(ipaddr_from_sockaddr((struct sockaddr *)&sun, &a), -EAFNOSUPPORT);
    cr_expect_eq(ipaddr_from_sockaddr(NULL, &a), -EINVAL);
}

/* Each block printed as "addr/prefix", joined with single spaces. */
static void list_text(const struct ipaddr_cidr_list *l, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < l->n; i++) {
        char a[IPADDR_FORMAT_BUF];
        int w = snprintf(out + n, cap - n, "%s%s/%u", i ? " " : "", fmt(&l->items[i].addr, a), l->items[i].prefix);
        cr_assert(w > 0 && (size_t)w < cap - n);
        n += (size_t)w;
    }
}

Test(ipaddr, cidr_list_table)
{
    static const struct {
        const char *in;
        const char *want; /* NULL: refused */
    } rows[] = {
        {"10.0.0.0/8, 127.0.0.1, ::1/128", "10.0.0.0/8 127.0.0.1/32 ::1/128"},
        {"10.1.2.3/8", "10.0.0.0/8"},
        {"192.168.1.255/23", "192.168.0.0/23"},
        {"172.16.0.0/12,100.64.0.0/10", "172.16.0.0/12 100.64.0.0/10"},
        {"2001:db8::1/32", "2001:db8::/32"},
        {"2001:db8:ffff:ffff::/33", "2001:db8:8000::/33"},
        {"0.0.0.0/0", "0.0.0.0/0"},
        {"255.255.255.255/0", "0.0.0.0/0"},
        {"::/0", "::/0"},
        {"::ffff:10.0.0.0/104", "10.0.0.0/8"},
        {"::ffff:10.0.0.1", "10.0.0.1/32"},
        {"::ffff:0:0/96", "0.0.0.0/0"},
        {"[::1]/128", "::1/128"},
        {" \t10.0.0.0/8\t ,\t::1 ", "10.0.0.0/8 ::1/128"},
        {"1.2.3.4/32", "1.2.3.4/32"},
        {"", ""},
        {"   ", ""},
        /* refused */
        {"10.0.0.0/33", NULL},
        {"::1/129", NULL},
        {"10.0.0.0/", NULL},
        {"10.0.0.0/-1", NULL},
        {"10.0.0.0/+8", NULL},
        {"10.0.0.0/08", NULL},
        {"10.0.0.0/1000", NULL},
        {"10.0.0.0/8/8", NULL},
        {"10.0.0.0/ 8", NULL},
        {"10.0.0.0 /8", NULL},
        {"/8", NULL},
        {"10.0.0.1,,10.0.0.2", NULL},
        {"10.0.0.1,", NULL},
        {",10.0.0.1", NULL},
        {"10.0.0.1, ,10.0.0.2", NULL},
        {",", NULL},
        {"foo", NULL},
        {"10.0.0.0/8 127.0.0.1", NULL},
        {"01.0.0.0/8", NULL},
        {"::ffff:10.0.0.0/64", NULL},
        {"fe80::/10%eth0", NULL},
        {"10.0.0.0/8;127.0.0.1", NULL},
    };
    for (size_t i = 0; i < N(rows); i++) {
        struct ipaddr_cidr_list l;
        char err[160] = "untouched", text[2048];
        l.n = 99;
        int rc = ipaddr_cidr_list_parse(rows[i].in, strlen(rows[i].in), &l, err, sizeof(err));
        if (rows[i].want == NULL) {
            cr_expect_eq(rc, -EINVAL, "\"%s\" should be refused", rows[i].in);
            cr_expect_eq(l.n, 0, "\"%s\"", rows[i].in);
            cr_expect(strlen(err) > 0 && strcmp(err, "untouched") != 0, "\"%s\": no message", rows[i].in);
            continue;
        }
        cr_expect_eq(rc, 0, "\"%s\": %s", rows[i].in, err);
        list_text(&l, text, sizeof(text));
        cr_expect_str_eq(text, rows[i].want, "\"%s\" -> \"%s\"", rows[i].in, text);
        cr_expect_str_eq(err, "");
    }
}

Test(ipaddr, cidr_list_messages_and_caps)
{
    struct ipaddr_cidr_list l;
    char err[160];
    const char *s = "10.0.0.0/8, 10.0.0.0/33";
    cr_expect_eq(ipaddr_cidr_list_parse(s, strlen(s), &l, err, sizeof(err)), -EINVAL);
    cr_expect_str_eq(err, "item 2 (\"10.0.0.0/33\"): prefix must be a number from 0 to 32");
    s = "1.1.1.1,,2.2.2.2";
    cr_expect_eq(ipaddr_cidr_list_parse(s, strlen(s), &l, err, sizeof(err)), -EINVAL);
    cr_expect_str_eq(err, "item 2 (\"\"): empty item");
    /* A tiny or absent error buffer is fine. */
    char tiny[4];
    cr_expect_eq(ipaddr_cidr_list_parse(s, strlen(s), &l, tiny, sizeof(tiny)), -EINVAL);
    cr_expect_eq(strlen(tiny), 3);
    cr_expect_eq(ipaddr_cidr_list_parse(s, strlen(s), &l, NULL, 0), -EINVAL);

    /* Exactly IPADDR_CIDRS_MAX items, then one more. */
    char text[IPADDR_CIDR_LIST_TEXT_MAX + 2];
    size_t n = 0;
    for (int i = 0; i < IPADDR_CIDRS_MAX; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%s10.0.%d.0/24", i ? "," : "", i);
    cr_expect_eq(ipaddr_cidr_list_parse(text, n, &l, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(l.n, IPADDR_CIDRS_MAX);
    n += (size_t)snprintf(text + n, sizeof(text) - n, ",10.1.0.0/24");
    cr_expect_eq(ipaddr_cidr_list_parse(text, n, &l, err, sizeof(err)), -EINVAL);
    cr_expect_eq(l.n, 0);
    cr_expect(strstr(err, "too many") != NULL, "%s", err);

    /* The longest text: 64 full IPv6 blocks with ", " fit; one byte more
     * than the cap is refused before looking at it. */
    n = 0;
    for (int i = 0; i < IPADDR_CIDRS_MAX; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%sffff:ffff:ffff:ffff:ffff:ffff:255.255.255.%d/128",
                              i ? ", " : "", 100 + i);
    cr_assert_leq(n, IPADDR_CIDR_LIST_TEXT_MAX);
    cr_expect_eq(ipaddr_cidr_list_parse(text, n, &l, err, sizeof(err)), 0, "%s", err);
    memset(text, ' ', sizeof(text));
    cr_expect_eq(ipaddr_cidr_list_parse(text, IPADDR_CIDR_LIST_TEXT_MAX + 1, &l, err, sizeof(err)), -EINVAL);
    cr_expect_eq(ipaddr_cidr_list_parse(text, IPADDR_CIDR_LIST_TEXT_MAX, &l, err, sizeof(err)), 0);
    cr_expect_eq(l.n, 0);
}

static struct ipaddr_cidr_list list(const char *s)
{
    struct ipaddr_cidr_list l;
    char err[160];
    cr_assert_eq(ipaddr_cidr_list_parse(s, strlen(s), &l, err, sizeof(err)), 0, "\"%s\": %s", s, err);
    return l;
}

Test(ipaddr, membership_table)
{
    struct ipaddr_cidr_list l = list("10.0.0.0/8, 192.168.1.0/24, 172.16.0.0/12, 2001:db8::/32, ::1/128, "
                                     "100.64.0.0/10, 1.2.3.4, 11.0.0.0/9, fd00::/7");
    static const struct {
        const char *addr;
        bool in;
    } rows[] = {
        {"10.0.0.0", true},
        {"10.255.255.255", true},
        {"9.255.255.255", false},
        {"11.127.255.255", true},
        {"11.128.0.0", false},
        {"192.168.1.77", true},
        {"192.168.2.1", false},
        {"192.168.0.255", false},
        {"172.16.0.1", true},
        {"172.31.255.255", true},
        {"172.32.0.0", false},
        {"172.15.255.255", false},
        {"100.64.0.0", true},
        {"100.127.255.255", true},
        {"100.128.0.0", false},
        {"1.2.3.4", true},
        {"1.2.3.5", false},
        {"1.2.3.3", false},
        {"2001:db8::", true},
        {"2001:db8:ffff::1", true},
        {"2001:db9::", false},
        {"2001:db7:ffff::", false},
        {"::1", true},
        {"::2", false},
        {"::", false},
        {"fd12::1", true},
        {"fc00::1", true},
        {"fe00::1", false},
        {"::ffff:10.1.2.3", true}, /* mapped: parsed as IPv4 */
        {"::a01:203", false},      /* IPv4-compatible ::10.1.2.3 is IPv6, not 10.1.2.3 */
        {"0.0.0.0", false},
        {"255.255.255.255", false},
    };
    for (size_t i = 0; i < N(rows); i++) {
        struct ipaddr a = ip(rows[i].addr);
        cr_expect_eq(ipaddr_in_list(&l, &a), rows[i].in, "%s", rows[i].addr);
    }

    struct ipaddr_cidr_list any4 = list("0.0.0.0/0");
    cr_expect(ipaddr_in_list(&any4, &(struct ipaddr){.family = 4, .bytes = {8, 8, 8, 8}}));
    struct ipaddr v6 = ip("2001:db8::1");
    cr_expect_not(ipaddr_in_list(&any4, &v6));
    struct ipaddr_cidr_list any6 = list("::/0");
    cr_expect(ipaddr_in_list(&any6, &v6));
    struct ipaddr v4 = ip("1.2.3.4");
    cr_expect_not(ipaddr_in_list(&any6, &v4));
    struct ipaddr_cidr_list none = list("");
    cr_expect_not(ipaddr_in_list(&none, &v4));
    cr_expect_not(ipaddr_in_list(NULL, &v4));
    struct ipaddr nofamily = {0};
    cr_expect_not(ipaddr_in_list(&any4, &nofamily));
}

Test(ipaddr, client_table)
{
    struct ipaddr_cidr_list trusted = list("10.0.0.0/8, 127.0.0.1, ::1, fd00::/8");
    static const struct {
        const char *peer;
        const char *xff; /* NULL: no header */
        const char *want;
    } rows[] = {
        /* an untrusted peer's header is ignored */
        {"1.1.1.1", "2.2.2.2", "1.1.1.1"},
        {"203.0.113.5", "10.0.0.1", "203.0.113.5"},
        {"2001:db8::5", "1.1.1.1", "2001:db8::5"},
        /* no header, or an empty one */
        {"10.0.0.1", NULL, "10.0.0.1"},
        {"10.0.0.1", "", "10.0.0.1"},
        {"10.0.0.1", "   ", "10.0.0.1"},
        {"10.0.0.1", ",,,", "10.0.0.1"},
        /* the first untrusted address from the right */
        {"10.0.0.1", "1.1.1.1, 10.0.0.2", "1.1.1.1"},
        {"10.0.0.1", "1.1.1.1", "1.1.1.1"},
        {"10.0.0.1", "9.9.9.9, 1.1.1.1, 10.0.0.2", "1.1.1.1"}, /* a spoofed left part is not believed */
        {"10.0.0.1", "9.9.9.9, 1.1.1.1, 2.2.2.2", "2.2.2.2"},
        {"127.0.0.1", "1.1.1.1, 2.2.2.2,10.0.0.2", "2.2.2.2"}, /* two header fields joined */
        {"10.0.0.1", "1.1.1.1,10.0.0.2", "1.1.1.1"},
        {"10.0.0.1", "  1.1.1.1  ,\t10.0.0.2 ", "1.1.1.1"},
        {"10.0.0.1", "1.1.1.1,,10.0.0.2,", "1.1.1.1"}, /* empty elements skipped */
        /* all trusted: the leftmost */
        {"10.0.0.1", "10.0.0.3, 10.0.0.2", "10.0.0.3"},
        {"10.0.0.1", "127.0.0.1", "127.0.0.1"},
        /* garbage stops the walk at the last good address */
        {"10.0.0.1", "garbage, 1.1.1.1", "1.1.1.1"},
        {"10.0.0.1", "1.1.1.1, garbage", "10.0.0.1"},
        {"10.0.0.1", "1.1.1.1, garbage, 10.0.0.2", "10.0.0.2"},
        {"10.0.0.1", "1.1.1.1:5555", "10.0.0.1"},
        {"10.0.0.1", "unknown", "10.0.0.1"},
        {"10.0.0.1", "1.1.1.1, 010.0.0.2", "10.0.0.1"},
        {"10.0.0.1", "1.1.1.1 10.0.0.2", "10.0.0.1"},
        {"10.0.0.1", "fe80::1%eth0", "10.0.0.1"},
        {"10.0.0.1", "_hidden, 10.0.0.2", "10.0.0.2"},
        /* IPv6 */
        {"::1", "2001:db8::7", "2001:db8::7"},
        {"::1", "[2001:db8::7]", "2001:db8::7"},
        {"::1", "fd00::2, 2001:db8::1, fd00::3", "2001:db8::1"},
        {"fd00::9", "1.1.1.1, fd00::3", "1.1.1.1"},
        {"::1", "[2001:db8::7]:443", "::1"},
        /* mapped addresses are IPv4 */
        {"10.0.0.1", "::ffff:1.1.1.1", "1.1.1.1"},
        {"10.0.0.1", "5.5.5.5, ::ffff:10.0.0.9", "5.5.5.5"},
    };
    char buf[IPADDR_FORMAT_BUF];
    for (size_t i = 0; i < N(rows); i++) {
        struct ipaddr peer = ip(rows[i].peer);
        const char *x = rows[i].xff;
        struct ipaddr got = ipaddr_client(&peer, &trusted, x, x ? strlen(x) : 0);
        cr_expect_str_eq(fmt(&got, buf), rows[i].want, "peer %s, X-Forwarded-For \"%s\": got %s", rows[i].peer,
                         x ? x : "(none)", buf);
    }

    /* No trusted proxies at all: the peer, whatever the header says. */
    struct ipaddr_cidr_list none = list("");
    struct ipaddr peer = ip("10.0.0.1");
    struct ipaddr got = ipaddr_client(&peer, &none, "1.1.1.1", 7);
    cr_expect_str_eq(fmt(&got, buf), "10.0.0.1");
    /* An embedded NUL is garbage, not an end. */
    got = ipaddr_client(&peer, &trusted, "1.1.1.1\0, 10.0.0.2", 18);
    cr_expect_str_eq(fmt(&got, buf), "10.0.0.2");
}

/* xff = head + ',' + padding + body, sized so that exactly `over` bytes lie
 * left of the IPADDR_XFF_MAX window. */
static size_t build_long_xff(char *out, const char *head, size_t over)
{
    size_t n = (size_t)snprintf(out, IPADDR_XFF_MAX + 64, "%s,", head);
    size_t total = IPADDR_XFF_MAX + over;
    const char *hop = "10.0.0.2,";
    while (total - n > strlen(hop) + 8 + strlen("10.0.0.2")) {
        memcpy(out + n, hop, strlen(hop));
        n += strlen(hop);
    }
    while (total - n > strlen("10.0.0.2")) /* blanks are allowed around entries */
        out[n++] = ' ';
    memcpy(out + n, "10.0.0.2", strlen("10.0.0.2"));
    n += strlen("10.0.0.2");
    cr_assert_eq(n, total);
    return n;
}

Test(ipaddr, client_long_header)
{
    struct ipaddr_cidr_list trusted = list("10.0.0.0/8");
    struct ipaddr peer = ip("10.0.0.1");
    static char xff[IPADDR_XFF_MAX + 64];
    char buf[IPADDR_FORMAT_BUF];

    /* Within the cap, the leftmost entry counts. */
    size_t n = build_long_xff(xff, "21.1.1.1", 0);
    struct ipaddr got = ipaddr_client(&peer, &trusted, xff, n);
    cr_expect_str_eq(fmt(&got, buf), "21.1.1.1");
    /* One byte over: the window starts inside "21.1.1.1", whose tail must
     * not be read as 1.1.1.1. */
    n = build_long_xff(xff, "21.1.1.1", 1);
    got = ipaddr_client(&peer, &trusted, xff, n);
    cr_expect_str_eq(fmt(&got, buf), "10.0.0.2");
    /* Eight over: the window starts just after a comma, at a whole entry. */
    n = build_long_xff(xff, "9.9.9.9,1.1.1.1", 8);
    got = ipaddr_client(&peer, &trusted, xff, n);
    cr_expect_str_eq(fmt(&got, buf), "1.1.1.1");
}

Test(ipaddr, anonymize_table)
{
    static const struct {
        const char *in, *out;
    } rows[] = {
        {"1.2.3.4", "1.2.3.0"},
        {"255.255.255.255", "255.255.255.0"},
        {"10.0.0.0", "10.0.0.0"},
        {"::ffff:198.51.100.77", "198.51.100.0"},
        {"2001:db8:abcd:1234::1", "2001:db8:abcd::"},
        {"2001:db8:abcd:ffff:ffff:ffff:ffff:ffff", "2001:db8:abcd::"},
        {"2001:db8:ab::", "2001:db8:ab::"},
        {"::1", "::"},
    };
    char buf[IPADDR_FORMAT_BUF];
    for (size_t i = 0; i < N(rows); i++) {
        struct ipaddr a = ip(rows[i].in);
        struct ipaddr b = ipaddr_anonymize(&a);
        cr_expect_eq(b.family, a.family);
        cr_expect_str_eq(fmt(&b, buf), rows[i].out, "%s -> %s", rows[i].in, buf);
        struct ipaddr want = ip(rows[i].out);
        cr_expect_eq(memcmp(&b, &want, sizeof(b)), 0, "%s: stray bytes", rows[i].in);
    }
    struct ipaddr junk = {.family = 9, .bytes = {1, 2, 3}};
    struct ipaddr z = ipaddr_anonymize(&junk);
    cr_expect_eq(z.family, 9);
    cr_expect_eq(z.bytes[0], 0);
}

/* The hand-written dotted quad says what inet_ntop says, at every digit
 * count in every position. */
Test(ipaddr, format_v4_as_inet_ntop)
{
    static const uint8_t vals[] = {0, 1, 9, 10, 42, 99, 100, 109, 110, 199, 200, 255};
    struct ipaddr a = {.family = 4};
    char got[IPADDR_FORMAT_BUF], want[INET_ADDRSTRLEN];
    for (size_t i = 0; i < N(vals) * N(vals) * N(vals) * N(vals); i++) {
        size_t k = i;
        for (int j = 0; j < 4; j++, k /= N(vals))
            a.bytes[j] = vals[k % N(vals)];
        cr_assert_not_null(inet_ntop(AF_INET, a.bytes, want, sizeof(want)));
        cr_assert_eq(ipaddr_format(&a, got, sizeof(got)), strlen(want));
        cr_assert_str_eq(got, want);
    }
}
