/* ipaddr: client addresses. Parsing and printing IPv4/IPv6 literals, lists
 * of CIDR blocks (--trusted-proxies), choosing the client address of a
 * request behind trusted proxies (X-Forwarded-For), and the truncated form
 * kept for analytics.
 *
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is always turned into the
 * IPv4 address, wherever it comes from (text, sockaddr of a dual-stack
 * socket), so one client has one form and one rate-limit key.
 *
 * Pure functions on caller-owned memory: no allocation, no globals, no
 * locale; thread-safe. */
#ifndef LP_UTIL_IPADDR_H
#define LP_UTIL_IPADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;

/* Longest literal ipaddr_parse looks at: a full IPv6 address with an IPv4
 * tail, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" (45), in brackets. */
#define IPADDR_TEXT_MAX 47
/* Room for ipaddr_format's output and its NUL (INET6_ADDRSTRLEN). */
#define IPADDR_FORMAT_BUF 46
#define IPADDR_CIDRS_MAX 64
/* Longest text ipaddr_cidr_list_parse accepts: 64 items of up to 49 bytes
 * ("<IPv6 literal>/128") with ", " between them fits. */
#define IPADDR_CIDR_LIST_TEXT_MAX 4096
/* ipaddr_client reads at most this many bytes from the right end of
 * X-Forwarded-For; the entry cut by the window counts as unparseable. The
 * useful part (the entries written by trusted proxies) is at the right. */
#define IPADDR_XFF_MAX 8192

/* family is 4 or 6; an IPv4 address sits in bytes[0..3]. The parsers and
 * ipaddr_from_sockaddr zero the bytes an address does not use, so two
 * results compare equal with memcmp exactly when they are the same
 * address. */
struct ipaddr {
    uint8_t family;
    uint8_t bytes[16];
};

/* addr has no bits set past prefix (the parser masks them). */
struct ipaddr_cidr {
    struct ipaddr addr;
    uint8_t prefix;
};

struct ipaddr_cidr_list {
    size_t n;
    struct ipaddr_cidr items[IPADDR_CIDRS_MAX];
};

/* Parses exactly s[0..len): "1.2.3.4", "::1", "[::1]". Dotted quads must
 * have four decimal parts without leading zeros ("01.2.3.4" is refused: some
 * parsers read it as octal); no zone ids ("fe80::1%eth0"), no ports, no
 * surrounding space. 0, or -EINVAL (and *out zeroed). */
int ipaddr_parse(const char *s, size_t len, struct ipaddr *out);

/* AF_INET or AF_INET6 (sa must point at a whole sockaddr_in/sockaddr_in6).
 * 0, -EINVAL on NULL, -EAFNOSUPPORT for other families. */
int ipaddr_from_sockaddr(const struct sockaddr *sa, struct ipaddr *out);

/* Writes the inet_ntop form ("1.2.3.4", "2001:db8::1") and its NUL; returns
 * its length. 0 (and buf[0] = '\0' when cap > 0) if cap is too small or the
 * family is not 4 or 6; IPADDR_FORMAT_BUF is always enough. */
size_t ipaddr_format(const struct ipaddr *a, char *buf, size_t cap);

/* Parses a comma-separated list, spaces and tabs allowed around items:
 * "10.0.0.0/8, 127.0.0.1, ::1/128". A bare address is /32 or /128; bits set
 * past the prefix are cleared ("10.1.2.3/8" is 10.0.0.0/8). An empty (or
 * all-blank) string is the empty list; an empty item inside a list is an
 * error, as are a bad prefix, more than IPADDR_CIDRS_MAX items and text
 * longer than IPADDR_CIDR_LIST_TEXT_MAX. An IPv4-mapped block
 * (::ffff:10.0.0.0/104) becomes the IPv4 one (10.0.0.0/8); a mapped block
 * shorter than /96 is refused. 0, or -EINVAL with out->n = 0 and a message
 * naming the item in err (when errcap > 0). */
int ipaddr_cidr_list_parse(const char *s, size_t len, struct ipaddr_cidr_list *out, char *err, size_t errcap);

/* Whether a falls in one of l's blocks. IPv4 addresses only match IPv4
 * blocks, IPv6 only IPv6. */
bool ipaddr_in_list(const struct ipaddr_cidr_list *l, const struct ipaddr *a);

/* The client address of a request. If peer is not in trusted, the header is
 * ignored (anyone can send one) and peer is returned. Otherwise
 * X-Forwarded-For (several header fields joined with ',') is walked from the
 * right, each entry being what a proxy saw as its peer: trusted addresses
 * are skipped and the first untrusted one is returned; if every entry is
 * trusted, the leftmost; the walk stops at the first entry that does not
 * parse (a port, "unknown", garbage) and returns the last good address
 * (or peer). Empty list elements are skipped (RFC 9110 section 5.6.1);
 * spaces and tabs around entries are ignored. xff may be NULL when
 * xff_len is 0. */
struct ipaddr ipaddr_client(const struct ipaddr *peer, const struct ipaddr_cidr_list *trusted, const char *xff,
                            size_t xff_len);

/* The address with the host part zeroed: IPv4 to its /24, IPv6 to its /48.
 * Anything else becomes all zeros with the same family. */
struct ipaddr ipaddr_anonymize(const struct ipaddr *a);

#endif
