/* Unit tests for src/analytics/geoip: lookups in MaxMind's test databases
 * (../shared/testdata/geoip, see its README for the known answers), and
 * the errors for a missing file, a file that is not a database, a corrupt
 * database and one without country data. The last two also use tiny
 * databases written here byte by byte, so the "corrupt record outside the
 * sample geoip_open checks" case can be built on purpose.
 *
 * Paths are relative to the repository root, where `make unit` runs. */
#include <criterion/criterion.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analytics/geoip.h"
#include "util/ipaddr.h"

#define TESTDATA "../shared/testdata/geoip/"
#define CITY_DB TESTDATA "GeoIP2-City-Test.mmdb"
#define COUNTRY_DB TESTDATA "GeoIP2-Country-Test.mmdb"
#define BROKEN_DB TESTDATA "GeoIP2-City-Test-Broken-Double-Format.mmdb"
#define ERR_CAP 512

static struct ipaddr ip(const char *s)
{
    struct ipaddr a;
    cr_assert_eq(ipaddr_parse(s, strlen(s), &a), 0, "parse \"%s\"", s);
    return a;
}

static struct geoip *open_ok(const char *path)
{
    char err[ERR_CAP] = "";
    struct geoip *g = geoip_open(path, err, sizeof(err));
    cr_assert_not_null(g, "geoip_open(%s): %s", path, err);
    return g;
}

static void expect(const struct geoip *g, const char *addr, const char *country, const char *city)
{
    struct ipaddr a = ip(addr);
    struct geoip_result r;
    memset(&r, 'x', sizeof(r)); /* every field must be written */
    cr_assert_eq(geoip_lookup(g, &a, &r), 0, "lookup %s", addr);
    cr_expect_str_eq(r.country, country, "%s: country", addr);
    cr_expect_str_eq(r.city, city, "%s: city", addr);
}

Test(geoip, city_database)
{
    struct geoip *g = open_ok(CITY_DB);
    expect(g, "81.2.69.142", "GB", "London");
    expect(g, "89.160.20.112", "SE", "Linköping");
    expect(g, "175.16.199.0", "CN", "Changchun");
    expect(g, "216.160.83.56", "US", "Milton");
    /* IPv6 entries of the test data: a country, no city. */
    expect(g, "2001:218::", "JP", "");
    expect(g, "2001:218:ffff::1", "JP", "");
    expect(g, "2a02:cf40::1", "NO", "");
    /* Not in the database, private, loopback, documentation: unknown. */
    expect(g, "1.1.1.1", "", "");
    expect(g, "10.0.0.1", "", "");
    expect(g, "192.168.1.1", "", "");
    expect(g, "127.0.0.1", "", "");
    expect(g, "::1", "", "");
    expect(g, "fd00::1", "", "");
    /* ipaddr turns a mapped address into IPv4 before it gets here. */
    expect(g, "::ffff:81.2.69.142", "GB", "London");
    geoip_close(g);
}

Test(geoip, country_database_has_no_city)
{
    struct geoip *g = open_ok(COUNTRY_DB);
    expect(g, "81.2.69.142", "GB", "");
    expect(g, "89.160.20.112", "SE", "");
    expect(g, "2a02:cf40::1", "NO", "");
    expect(g, "10.0.0.1", "", "");
    geoip_close(g);
}

Test(geoip, geolite_databases)
{
    struct geoip *g = open_ok(TESTDATA "GeoLite2-City-Test.mmdb");
    expect(g, "81.2.69.142", "GB", "London");
    geoip_close(g);
    g = open_ok(TESTDATA "GeoLite2-Country-Test.mmdb");
    expect(g, "89.160.20.112", "SE", "");
    geoip_close(g);
}

Test(geoip, bad_family_is_an_error)
{
    struct geoip *g = open_ok(CITY_DB);
    struct ipaddr a = {.family = 0};
    struct geoip_result r;
    memset(&r, 'x', sizeof(r));
    cr_expect_eq(geoip_lookup(g, &a, &r), -1);
    cr_expect_str_eq(r.country, "");
    cr_expect_str_eq(r.city, "");
    geoip_close(g);
}

/* libmaxminddb opens this file and even answers country and (IPv4) city
 * lookups from it; the bad doubles only show when a value is decoded. The
 * full decode of the sampled records in geoip_open must refuse it. */
Test(geoip, broken_database_is_refused)
{
    char err[ERR_CAP] = "";
    struct geoip *g = geoip_open(BROKEN_DB, err, sizeof(err));
    cr_assert_null(g);
    cr_expect(strstr(err, BROKEN_DB) != NULL, "err names the path: %s", err);
    cr_expect(strstr(err, "corrupt") != NULL, "err says corrupt: %s", err);
}

Test(geoip, missing_file)
{
    char err[ERR_CAP] = "";
    const char *path = TESTDATA "no-such-file.mmdb";
    cr_assert_null(geoip_open(path, err, sizeof(err)));
    cr_expect(strstr(err, path) != NULL, "err names the path: %s", err);
    cr_expect(strstr(err, "No such file") != NULL, "err: %s", err);
}

Test(geoip, not_a_database)
{
    char err[ERR_CAP] = "";
    cr_assert_null(geoip_open(TESTDATA "README.md", err, sizeof(err)));
    cr_expect(strstr(err, "README.md") != NULL && strstr(err, "not a MaxMind DB") != NULL, "err: %s", err);
    cr_assert_null(geoip_open(TESTDATA, err, sizeof(err)));
    cr_expect(strstr(err, "not a regular file") != NULL, "err: %s", err);
    cr_assert_null(geoip_open("", err, sizeof(err)));
    cr_expect(err[0] != '\0');
    /* No room for a message is fine too. */
    cr_assert_null(geoip_open(TESTDATA "README.md", NULL, 0));
    char tiny[8];
    cr_assert_null(geoip_open(TESTDATA "README.md", tiny, sizeof(tiny)));
    cr_expect_eq(strlen(tiny), sizeof(tiny) - 1);
}

Test(geoip, close_null)
{
    geoip_close(NULL);
}

/* Lookups from several threads at once give the single-threaded answers
 * (and let ASan/TSan see the shared mapped file). */
#define GEO_THREADS 4
#define GEO_ROUNDS 2000

static void *lookup_loop(void *arg)
{
    const struct geoip *g = arg;
    struct ipaddr gb = ip("81.2.69.142"), no = ip("2a02:cf40::1");
    for (int i = 0; i < GEO_ROUNDS; i++) {
        struct geoip_result r;
        if (geoip_lookup(g, (i & 1) ? &gb : &no, &r) != 0)
            return (void *)1;
        if (strcmp(r.country, (i & 1) ? "GB" : "NO") != 0)
            return (void *)1;
    }
    return NULL;
}

Test(geoip, concurrent_lookups)
{
    struct geoip *g = open_ok(CITY_DB);
    pthread_t t[GEO_THREADS];
    for (int i = 0; i < GEO_THREADS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, lookup_loop, g), 0);
    for (int i = 0; i < GEO_THREADS; i++) {
        void *res;
        pthread_join(t[i], &res);
        cr_expect_null(res, "thread %d", i);
    }
    geoip_close(g);
}

/* ---- Hand-made databases ----------------------------------------------
 * MaxMind DB format 2.0, IPv4, 24-bit records: a search tree of nodes (two
 * big-endian 3-byte records each), 16 zero bytes, the data section, then
 * "\xAB\xCD\xEFMaxMind.com" and the metadata map. A record below
 * node_count is a node, equal to it is empty, above it points at data
 * offset (record - node_count - 16). */

#define MM_MAX 4096

struct mm {
    uint8_t b[MM_MAX];
    size_t n;
};

static void put(struct mm *m, const void *p, size_t n)
{
    cr_assert_leq(m->n + n, sizeof(m->b));
    memcpy(m->b + m->n, p, n);
    m->n += n;
}

static void put_byte(struct mm *m, uint8_t c)
{
    put(m, &c, 1);
}

static void put_str(struct mm *m, const char *s)
{
    size_t n = strlen(s);
    cr_assert_lt(n, 29 + 256);
    if (n < 29) {
        put_byte(m, (uint8_t)(0x40 | n));
    } else { /* size 29 says "29 plus the next byte" */
        put_byte(m, 0x40 | 29);
        put_byte(m, (uint8_t)(n - 29));
    }
    put(m, s, n);
}

static void put_map(struct mm *m, unsigned pairs)
{
    put_byte(m, (uint8_t)(0xe0 | pairs));
}

/* uint16 (type 5) and uint32 (type 6), 4 bytes; uint64 (extended 9). */
static void put_uint(struct mm *m, unsigned type, uint64_t v, unsigned bytes)
{
    if (type <= 7) {
        put_byte(m, (uint8_t)(type << 5 | bytes));
    } else {
        put_byte(m, (uint8_t)bytes);
        put_byte(m, (uint8_t)(type - 7));
    }
    for (unsigned i = bytes; i-- > 0;)
        put_byte(m, (uint8_t)(v >> (8 * i)));
}

static void put_record(struct mm *m, uint32_t v)
{
    put_byte(m, (uint8_t)(v >> 16));
    put_byte(m, (uint8_t)(v >> 8));
    put_byte(m, (uint8_t)v);
}

static void put_metadata(struct mm *m, uint32_t node_count, const char *type)
{
    put(m, "\xab\xcd\xefMaxMind.com", 14);
    put_map(m, 9);
    put_str(m, "node_count");
    put_uint(m, 6, node_count, 4);
    put_str(m, "record_size");
    put_uint(m, 5, 24, 2);
    put_str(m, "ip_version");
    put_uint(m, 5, 4, 2);
    put_str(m, "database_type");
    put_str(m, type);
    put_str(m, "languages");
    put_byte(m, 0x01); /* array (extended type 11) of 1 */
    put_byte(m, 11 - 7);
    put_str(m, "en");
    put_str(m, "description");
    put_map(m, 1);
    put_str(m, "en");
    put_str(m, "LinkPulse unit test");
    put_str(m, "binary_format_major_version");
    put_uint(m, 5, 2, 2);
    put_str(m, "binary_format_minor_version");
    put_uint(m, 5, 0, 2);
    put_str(m, "build_epoch");
    put_uint(m, 9, 1700000000, 8);
}

/* {"country": {"iso_code": code}} */
static void put_country(struct mm *m, const char *code)
{
    put_map(m, 1);
    put_str(m, "country");
    put_map(m, 1);
    put_str(m, "iso_code");
    put_str(m, code);
}

/* {"location": {"latitude": <a double 4 bytes long>}, "country": {...}}:
 * the same fault as MaxMind's broken test database, placed before the
 * country so that looking the country up has to skip over it. */
static void put_broken(struct mm *m)
{
    put_map(m, 2);
    put_str(m, "location");
    put_map(m, 1);
    put_str(m, "latitude");
    put_byte(m, 0x60 | 4);
    put(m, "\x42\x2a\x00\x00", 4);
    put_str(m, "country");
    put_map(m, 1);
    put_str(m, "iso_code");
    put_str(m, "FR");
}

/* {"city": {"names": {"en": "Berlin"}}, "country": {"iso_code": "DE"},
 * "location": {"latitude": <bad double>}}: the bad value comes after
 * everything geoip_lookup reads, so only a full decode finds it. */
static void put_bad_tail(struct mm *m)
{
    put_map(m, 3);
    put_str(m, "city");
    put_map(m, 1);
    put_str(m, "names");
    put_map(m, 1);
    put_str(m, "en");
    put_str(m, "Berlin");
    put_str(m, "country");
    put_map(m, 1);
    put_str(m, "iso_code");
    put_str(m, "DE");
    put_str(m, "location");
    put_map(m, 1);
    put_str(m, "latitude");
    put_byte(m, 0x60 | 4);
    put(m, "\x42\x2a\x00\x00", 4);
}

static char *write_db(const struct mm *m)
{
    char *path = strdup("/tmp/lp-geoip-test-XXXXXX");
    cr_assert_not_null(path);
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, m->b, m->n), (ssize_t)m->n);
    close(fd);
    return path;
}

/* A chain of `nodes` nodes: node i's left record is `left`, its right the
 * next node; the last node's right record is `last`. */
static char *chain_db(uint32_t nodes, const struct mm *left, const struct mm *last, const char *type)
{
    struct mm m = {.n = 0};
    for (uint32_t i = 0; i < nodes; i++) {
        put_record(&m, nodes + 16); /* data offset 0 */
        put_record(&m, i + 1 < nodes ? i + 1 : nodes + 16 + (uint32_t)left->n);
    }
    put(&m, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
    put(&m, left->b, left->n);
    put(&m, last->b, last->n);
    put_metadata(&m, nodes, type);
    return write_db(&m);
}

static struct mm rec(void (*fill)(struct mm *))
{
    struct mm m = {.n = 0};
    fill(&m);
    return m;
}

static void put_de(struct mm *m)
{
    put_country(m, "DE");
}

/* {"country": {"iso_code": country}, "city": {"names": {"en": city}}} */
static struct mm rec_place(const char *country, const char *city)
{
    struct mm m = {.n = 0};
    put_map(&m, 2);
    put_str(&m, "country");
    put_map(&m, 1);
    put_str(&m, "iso_code");
    put_str(&m, country);
    put_str(&m, "city");
    put_map(&m, 1);
    put_str(&m, "names");
    put_map(&m, 1);
    put_str(&m, "en");
    put_str(&m, city);
    return m;
}

static void put_asn(struct mm *m)
{
    put_map(m, 1);
    put_str(m, "autonomous_system_number");
    put_uint(m, 6, 64496, 4);
}

Test(geoip, handmade_database_works)
{
    struct mm de = rec(put_de);
    char *path = chain_db(2, &de, &de, "LinkPulse-Test");
    struct geoip *g = open_ok(path);
    expect(g, "0.0.0.0", "DE", "");
    expect(g, "255.255.255.255", "DE", "");
    /* IPv4-only database: an IPv6 address is unknown, not an error. */
    expect(g, "2001:db8::1", "", "");
    geoip_close(g);
    unlink(path);
    free(path);
}

Test(geoip, database_without_country_is_refused)
{
    struct mm asn = rec(put_asn);
    char *path = chain_db(1, &asn, &asn, "GeoLite2-ASN");
    char err[ERR_CAP] = "";
    cr_assert_null(geoip_open(path, err, sizeof(err)));
    cr_expect(strstr(err, path) != NULL, "err names the path: %s", err);
    cr_expect(strstr(err, "no country data") != NULL && strstr(err, "GeoLite2-ASN") != NULL, "err: %s", err);
    unlink(path);
    free(path);
}

Test(geoip, corrupt_record_in_sample_is_refused)
{
    struct mm de = rec(put_de), broken = rec(put_broken);
    char *path = chain_db(1, &de, &broken, "LinkPulse-Test");
    char err[ERR_CAP] = "";
    cr_assert_null(geoip_open(path, err, sizeof(err)));
    cr_expect(strstr(err, "corrupt") != NULL, "err: %s", err);
    unlink(path);
    free(path);
}

Test(geoip, corrupt_value_past_what_lookups_read_is_refused)
{
    struct mm de = rec(put_de), bad = rec(put_bad_tail);
    char *path = chain_db(1, &de, &bad, "LinkPulse-Test");
    char err[ERR_CAP] = "";
    cr_assert_null(geoip_open(path, err, sizeof(err)));
    cr_expect(strstr(err, "corrupt") != NULL, "err: %s", err);
    unlink(path);
    free(path);
}

/* 20 good leaves before the broken one: more than geoip_open samples, so
 * the database opens, and the lookup that meets the bad record fails
 * cleanly with nothing filled in. */
Test(geoip, corrupt_record_outside_sample_fails_lookup)
{
    struct mm de = rec(put_de), broken = rec(put_broken);
    char *path = chain_db(20, &de, &broken, "LinkPulse-Test");
    struct geoip *g = open_ok(path);
    expect(g, "0.0.0.0", "DE", "");
    expect(g, "255.255.0.0", "DE", ""); /* the 17th leaf: 16 ones, then 0 */
    struct ipaddr bad = ip("255.255.255.255");
    struct geoip_result r;
    memset(&r, 'x', sizeof(r));
    cr_expect_eq(geoip_lookup(g, &bad, &r), -1);
    cr_expect_str_eq(r.country, "");
    cr_expect_str_eq(r.city, "");
    geoip_close(g);
    unlink(path);
    free(path);
}

/* What the database says is not trusted: the code must be two capitals,
 * the city valid UTF-8 without control characters, cut to fit at a
 * character boundary. The left record of each database is fine, so it
 * opens; the right one (255.255.255.255) is the case. */
Test(geoip, names_are_checked_and_cut)
{
    static const struct {
        const char *country, *city;
        const char *want_country, *want_city;
    } rows[] = {
        {"IT", "Roma", "IT", "Roma"},
        {"it", "Roma", "", "Roma"},
        {"ITA", "Roma", "", "Roma"},
        {"I", "Roma", "", "Roma"},
        {"I\xc3", "Roma", "", "Roma"},
        {"AT", "Wien\nX", "AT", ""},
        {"AT", "W\x7fien", "AT", ""},
        {"AT", "W\xffien", "AT", ""},
        {"AT", "W\xc0\xafien", "AT", ""},     /* overlong '/' */
        {"AT", "W\xed\xa0\x80ien", "AT", ""}, /* a UTF-16 surrogate */
        {"AT", "Wien\xc3", "AT", ""},         /* cut short */
        {"AT", "Sankt P\xc3\xb6lten", "AT", "Sankt P\xc3\xb6lten"},
        /* 62 ASCII bytes, then a 2-byte character that would end at 64:
         * dropped whole, not halved. */
        {"AT", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xb6zzz", "AT",
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
        /* 61 ASCII bytes and the same character: 63, which fits. */
        {"AT", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xb6", "AT",
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xb6"},
        {"AT", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "AT",
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
        {"AT", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "AT",
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
        {"AT", "", "AT", ""},
    };
    struct mm de = rec(put_de);
    struct ipaddr right = ip("255.255.255.255");
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct mm place = rec_place(rows[i].country, rows[i].city);
        char *path = chain_db(1, &de, &place, "LinkPulse-Test");
        struct geoip *g = open_ok(path);
        struct geoip_result r;
        cr_expect_eq(geoip_lookup(g, &right, &r), 0, "row %zu", i);
        cr_expect_str_eq(r.country, rows[i].want_country, "row %zu", i);
        cr_expect_str_eq(r.city, rows[i].want_city, "row %zu", i);
        geoip_close(g);
        unlink(path);
        free(path);
    }
}
