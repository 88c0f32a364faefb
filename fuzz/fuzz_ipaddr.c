/* ipaddr on arbitrary bytes. The input is split at '\n' into up to three
 * parts (a missing part is empty): an address, a CIDR list, and an
 * X-Forwarded-For value. Beyond "no crash, no sanitizer report" it checks
 * the promises callers build on:
 *   - a parsed address is canonical (IPv4-mapped turned into IPv4, unused
 *     bytes zero) and survives format -> parse unchanged, bracketed too;
 *   - a parsed CIDR list has in-range prefixes and no host bits, contains
 *     its own blocks, and survives format -> parse unchanged; a refused one
 *     is empty and explains why;
 *   - ipaddr_client returns the peer when the peer is untrusted, and
 *     agrees with a naive reference walk of X-Forwarded-For;
 *   - anonymising is idempotent and keeps the address in its /24 or /48. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/ipaddr.h"

static void fail(const char *what, const char *s, size_t len)
{
    fprintf(stderr, "fuzz_ipaddr: %s: \"%.*s\"\n", what, (int)(len > 200 ? 200 : len), s);
    abort();
}

/* A copy in its own exact-size block, so ASan flags any read past len. */
static char *dup_part(const uint8_t *p, size_t len)
{
    char *c = malloc(len ? len : 1);
    if (c != NULL)
        memcpy(c, p, len);
    return c;
}

static const struct ipaddr zero_addr;

static void check_addr(const struct ipaddr *a, const char *src, size_t len)
{
    char buf[IPADDR_FORMAT_BUF], br[IPADDR_FORMAT_BUF + 2];
    struct ipaddr b;

    if (a->family != 4 && a->family != 6)
        fail("family", src, len);
    if (a->family == 4 && memcmp(a->bytes + 4, zero_addr.bytes, 12) != 0)
        fail("IPv4 with stray bytes", src, len);
    if (a->family == 6 && memcmp(a->bytes, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0)
        fail("IPv4-mapped address not unmapped", src, len);
    size_t n = ipaddr_format(a, buf, sizeof(buf));
    if (n == 0 || n >= sizeof(buf) || strlen(buf) != n)
        fail("format", src, len);
    if (ipaddr_parse(buf, n, &b) != 0 || memcmp(a, &b, sizeof(b)) != 0)
        fail("format -> parse round trip", buf, n);
    if (a->family == 6) {
        int m = snprintf(br, sizeof(br), "[%s]", buf);
        if (ipaddr_parse(br, (size_t)m, &b) != 0 || memcmp(a, &b, sizeof(b)) != 0)
            fail("bracketed round trip", br, (size_t)m);
    }
    /* A shorter buffer is refused cleanly, never truncated. */
    if (ipaddr_format(a, buf, n) != 0 || buf[0] != '\0')
        fail("format into a short buffer", src, len);

    struct ipaddr anon = ipaddr_anonymize(a), again = ipaddr_anonymize(&anon);
    if (memcmp(&anon, &again, sizeof(anon)) != 0)
        fail("anonymize not idempotent", src, len);
    struct ipaddr_cidr_list block = {.n = 1, .items = {{.addr = anon, .prefix = a->family == 4 ? 24 : 48}}};
    if (!ipaddr_in_list(&block, a))
        fail("address outside its anonymised block", src, len);
}

static bool host_bits_clear(const struct ipaddr_cidr *c)
{
    unsigned bits = c->addr.family == 4 ? 32 : 128;
    for (unsigned i = c->prefix; i < bits; i++)
        if (c->addr.bytes[i / 8] & (0x80 >> (i % 8)))
            return false;
    return true;
}

static void check_list(const char *s, size_t len, struct ipaddr_cidr_list *l)
{
    char err[160];
    int rc = ipaddr_cidr_list_parse(s, len, l, err, sizeof(err));
    if (rc != 0) {
        if (l->n != 0 || err[0] == '\0' || strlen(err) >= sizeof(err))
            fail("bad error result", s, len);
        return;
    }
    if (l->n > IPADDR_CIDRS_MAX)
        fail("too many items", s, len);

    static char text[IPADDR_CIDRS_MAX * (IPADDR_FORMAT_BUF + 8)];
    size_t tn = 0;
    for (size_t i = 0; i < l->n; i++) {
        const struct ipaddr_cidr *c = &l->items[i];
        char a[IPADDR_FORMAT_BUF];
        if (c->addr.family != 4 && c->addr.family != 6)
            fail("item family", s, len);
        if (c->prefix > (c->addr.family == 4 ? 32 : 128) || !host_bits_clear(c))
            fail("item prefix or host bits", s, len);
        if (!ipaddr_in_list(l, &c->addr))
            fail("list does not contain its own block", s, len);
        if (ipaddr_format(&c->addr, a, sizeof(a)) == 0)
            fail("item format", s, len);
        tn += (size_t)snprintf(text + tn, sizeof(text) - tn, "%s%s/%u", i ? ", " : "", a, c->prefix);
    }
    struct ipaddr_cidr_list again;
    if (ipaddr_cidr_list_parse(text, tn, &again, err, sizeof(err)) != 0 || again.n != l->n ||
        memcmp(again.items, l->items, l->n * sizeof(l->items[0])) != 0)
        fail("list format -> parse round trip", text, tn);
}

/* The X-Forwarded-For walk written the naive way (split forwards into an
 * array, then scan it backwards), to compare ipaddr_client against. */
static struct ipaddr reference_client(const struct ipaddr *peer, const struct ipaddr_cidr_list *trusted,
                                      const char *xff, size_t len)
{
    static size_t starts[IPADDR_XFF_MAX + 1], lens[IPADDR_XFF_MAX + 1];
    size_t n = 0, lo = 0, start;
    bool cut = false;

    if (!ipaddr_in_list(trusted, peer) || len == 0)
        return *peer;
    if (len > IPADDR_XFF_MAX) {
        lo = len - IPADDR_XFF_MAX;
        cut = xff[lo - 1] != ',';
    }
    start = lo;
    for (size_t i = lo; i <= len; i++) {
        if (i < len && xff[i] != ',')
            continue;
        starts[n] = start;
        lens[n++] = i - start;
        start = i + 1;
    }
    struct ipaddr cur = *peer;
    for (size_t j = n; j-- > 0;) {
        if (j == 0 && cut)
            break;
        const char *e = xff + starts[j];
        size_t el = lens[j];
        while (el > 0 && (*e == ' ' || *e == '\t'))
            e++, el--;
        while (el > 0 && (e[el - 1] == ' ' || e[el - 1] == '\t'))
            el--;
        if (el == 0)
            continue;
        struct ipaddr b;
        if (ipaddr_parse(e, el, &b) != 0)
            break;
        cur = b;
        if (!ipaddr_in_list(trusted, &cur))
            break;
    }
    return cur;
}

static void check_client(const struct ipaddr *peer, const struct ipaddr_cidr_list *trusted, const char *xff, size_t len)
{
    struct ipaddr got = ipaddr_client(peer, trusted, xff, len);
    if (!ipaddr_in_list(trusted, peer) && memcmp(&got, peer, sizeof(got)) != 0)
        fail("header believed from an untrusted peer", xff, len);
    struct ipaddr want = reference_client(peer, trusted, xff, len);
    if (memcmp(&got, &want, sizeof(got)) != 0)
        fail("client address differs from the reference walk", xff, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ipaddr_cidr_list fixed, fuzzed;
    static int ready;
    const uint8_t *part[3] = {data, data + size, data + size};
    size_t plen[3] = {size, 0, 0};

    if (!ready) {
        const char *t = "10.0.0.0/8, 127.0.0.1, ::1, fd00::/8, 192.0.2.0/24, ::ffff:198.51.100.0/120";
        if (ipaddr_cidr_list_parse(t, strlen(t), &fixed, NULL, 0) != 0 || fixed.n != 6)
            fail("fixed trusted list", t, strlen(t));
        ready = 1;
    }
    for (int i = 0; i < 2; i++) {
        const uint8_t *nl = memchr(part[i], '\n', plen[i]);
        if (nl == NULL)
            break;
        part[i + 1] = nl + 1;
        plen[i + 1] = plen[i] - (size_t)(nl + 1 - part[i]);
        plen[i] = (size_t)(nl - part[i]);
    }
    char *addr = dup_part(part[0], plen[0]);
    char *cidrs = dup_part(part[1], plen[1]);
    char *xff = dup_part(part[2], plen[2]);
    if (addr == NULL || cidrs == NULL || xff == NULL)
        goto out;

    struct ipaddr a, peer = {.family = 4, .bytes = {10, 0, 0, 1}};
    memset(&a, 0x5a, sizeof(a));
    if (ipaddr_parse(addr, plen[0], &a) == 0) {
        check_addr(&a, addr, plen[0]);
        peer = a;
    } else if (memcmp(&a, &zero_addr, sizeof(a)) != 0) {
        fail("refused parse left output behind", addr, plen[0]);
    }

    check_list(cidrs, plen[1], &fuzzed);
    check_client(&peer, &fixed, xff, plen[2]);
    check_client(&peer, &fuzzed, xff, plen[2]);
    /* Each part also as a header, with a trusted peer, so the walk runs. */
    struct ipaddr proxy = {.family = 4, .bytes = {127, 0, 0, 1}};
    check_client(&proxy, &fixed, addr, plen[0]);
    check_client(&proxy, &fixed, cidrs, plen[1]);

out:
    free(addr);
    free(cidrs);
    free(xff);
    return 0;
}
