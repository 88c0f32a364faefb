/* tally: the visit counters of one link for one UTC day, packed into one
 * blob (rollup_day.tally in the SQLite store): per hour of the day (total,
 * bots, visitors first seen that day in that hour) and per value of each
 * breakdown (referrer host, country, city, browser, OS, device; the kind of
 * an orphan visit). One row per (link, day), instead of one per hour and
 * one per breakdown value, makes a visit cost one B-tree write for all its
 * rollups: with visits spread over a million links, the number of rows a
 * batch touches is what bounds how fast visits are recorded.
 *
 * Format, version 1: the byte 0x01, then entries in strictly increasing
 * (dim, name) order (names compared as bytes, shorter first on a tie):
 *   dim      1 byte, enum tally_dim
 *   length   1 byte, 1..TALLY_NAME_MAX
 *   name     `length` bytes; for TALLY_HOUR one byte 0..23
 *   total, bots, uniques   unsigned LEB128 varints, each < 2^62
 * A dimension holds at most TALLY_VALUES_MAX values per day: past that,
 * the least counted ones are added up under TALLY_OTHER.
 *
 * Pure functions: no allocation, no I/O, any thread. Blobs from disk are
 * untrusted; tally_next validates everything it reads. */
#ifndef LP_STORE_TALLY_H
#define LP_STORE_TALLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tally_dim {
    TALLY_HOUR,
    TALLY_REFERRER,
    TALLY_COUNTRY,
    TALLY_CITY,
    TALLY_BROWSER,
    TALLY_OS,
    TALLY_DEVICE,
    TALLY_KIND,
    TALLY_NDIMS
};

#define TALLY_VERSION 1
#define TALLY_NAME_MAX 200
#define TALLY_VALUES_MAX 1000
#define TALLY_COUNT_MAX (((int64_t)1 << 62) - 1)
#define TALLY_OTHER "other"
/* Largest encoding: every dimension full (the hours: 24 values). */
#define TALLY_ENTRY_BYTES_MAX (2 + TALLY_NAME_MAX + 3 * 9)
#define TALLY_BYTES_MAX (1 + ((TALLY_NDIMS - 1) * TALLY_VALUES_MAX + 24) * TALLY_ENTRY_BYTES_MAX)
/* Entries tally_merge may need to hold at once for one dimension. */
#define TALLY_SCRATCH_ENTRIES (2 * TALLY_VALUES_MAX + 1)

struct tally_entry {
    uint8_t dim;
    uint8_t len;
    const char *name; /* not NUL-terminated; points into a blob or the caller's memory */
    int64_t total, bots, uniques;
};

struct tally_iter {
    const uint8_t *p, *end;
    struct tally_entry last;
    bool have_last;
};

/* The dimension called `name` ("referrer", "country", "city", "browser",
 * "os", "device", "kind"), or -1. */
int tally_dim_of(const char *name);

/* 0, or -1 when blob is not a version-1 tally. An empty blob (len 0) is
 * an empty tally. */
int tally_iter_init(struct tally_iter *it, const void *blob, size_t len);
/* 1 and the next entry, 0 at the end, -1 when the rest is malformed. */
int tally_next(struct tally_iter *it, struct tally_entry *e);

/* Orders entries by (dim, name). */
int tally_entry_cmp(const struct tally_entry *a, const struct tally_entry *b);

/* Sorts e[0..n) by tally_entry_cmp and adds up equal entries into one,
 * counts clamped to [0, TALLY_COUNT_MAX] (negative ones count 0); returns
 * how many are left (ready for tally_encode). */
size_t tally_sum_entries(struct tally_entry *e, size_t n);

/* Encodes e[0..n) — sorted by tally_entry_cmp, no two equal — into out,
 * first folding each dimension down to TALLY_VALUES_MAX values (which may
 * reorder and rewrite e). Counts are clamped to TALLY_COUNT_MAX. Returns
 * the length, or -1 when out (cap bytes; TALLY_BYTES_MAX always fits) is
 * too small or an entry is invalid. */
long tally_encode(struct tally_entry *e, size_t n, uint8_t *out, size_t cap);

/* Adds the counts of tallies a and b into out (cap bytes). scratch holds
 * TALLY_SCRATCH_ENTRIES entries. Returns the length, or -1 when a or b is
 * malformed or out is too small. */
long tally_merge(const void *a, size_t alen, const void *b, size_t blen, struct tally_entry *scratch, uint8_t *out,
                 size_t cap);

#endif
