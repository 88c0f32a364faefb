/* geoip: the visitor's country (ISO 3166-1 alpha-2 code) and city (English
 * name) from a MaxMind DB file (GeoIP2/GeoLite2 Country or City, DB-IP lite,
 * anything with MaxMind's "country.iso_code" layout), read with
 * libmaxminddb.
 *
 * geoip_open maps the file read-only and checks it before the server starts
 * (a bad --geoip must stop startup with a clear message, not show up later
 * as visits without countries): the format, then a sample of records found
 * by walking the search tree, each decoded in full (this is what catches
 * corrupt data, which libmaxminddb only notices when it decodes the bad
 * value), and at least one of them must carry a country. A database corrupt
 * outside the sample still opens; its bad records make geoip_lookup
 * return -1, never crash.
 *
 * Threading: geoip_open and geoip_close from one thread (main, at startup
 * and shutdown); geoip_lookup from any number of threads at once, since the
 * mapped database is never written after geoip_open. */
#ifndef LP_ANALYTICS_GEOIP_H
#define LP_ANALYTICS_GEOIP_H

#include <stddef.h>

#include "util/ipaddr.h"

/* Longest city name kept, in bytes with its NUL; longer names are cut at a
 * UTF-8 character boundary. */
#define GEOIP_CITY_MAX 64

struct geoip;

struct geoip_result {
    char country[3];           /* "GB"; "" if unknown */
    char city[GEOIP_CITY_MAX]; /* English name, valid UTF-8; "" if unknown */
};

/* Opens and validates the database at path. NULL, with a message naming
 * the path in err (when errcap > 0), for a missing or unreadable file, a
 * file that is not a MaxMind DB, a corrupt database or one without country
 * data. */
struct geoip *geoip_open(const char *path, char *err, size_t errcap);

/* Unmaps and frees; NULL is fine. */
void geoip_close(struct geoip *g);

/* 0 with out filled (fields "" for an address the database does not know,
 * a private address, or an IPv6 address in an IPv4-only database); -1, with
 * both fields "", when the record for ip cannot be read (corrupt data) or
 * ip's family is neither 4 nor 6. Thread-safe. */
int geoip_lookup(const struct geoip *g, const struct ipaddr *ip, struct geoip_result *out);

#endif
