/* strtab: a set of short strings (at most 255 bytes), one copy of each,
 * so that pointer equality is value equality; each entry carries two
 * counters for the caller (breakdown sums). Used by a visit pass to intern
 * breakdown values and by the tally readers to add them up.
 *
 * The table owns every copy (chunks of STRTAB_CHUNK bytes) and frees them
 * in strtab_free. Not thread-safe: one table per thread at a time. */
#ifndef LP_STORE_STRTAB_H
#define LP_STORE_STRTAB_H

#include <stddef.h>
#include <stdint.h>

#define STRTAB_CHUNK ((size_t)64 << 10)

struct strtab_entry {
    const char *s; /* NUL-terminated copy; NULL: free slot */
    uint64_t hash;
    uint8_t len;
    int64_t total, bots; /* the caller's */
};

struct strtab_chunk;

struct strtab {
    struct strtab_entry *slots; /* cap slots, at most half used */
    size_t cap, n;
    struct strtab_chunk *chunks;
};

/* The entry for s[0..len) (len <= 255), added with zero counters if new;
 * NULL when out of memory. Entries move when the table grows: a pointer
 * to one is good until the next strtab_intern. */
struct strtab_entry *strtab_intern(struct strtab *t, const char *s, size_t len);
/* Frees everything; the table is empty (and reusable) after it. */
void strtab_free(struct strtab *t);
/* FNV-1a of p[0..n). */
uint64_t strtab_hash(const void *p, size_t n);

#endif
