/* id: 64-bit internal ids, time-ordered and made without coordination.
 * Layout: 41 bits of milliseconds since 2024-01-01 | 22 bits that are random
 * per millisecond and then counted up, so ids from one process are strictly
 * increasing and two nodes collide only if they pick the same random start
 * in the same millisecond (the store's primary key catches that; the caller
 * retries). Thread-safe (one atomic; a per-thread generator for the random
 * start, seeded once from the system). */
#ifndef LP_UTIL_ID_H
#define LP_UTIL_ID_H

#include <stdint.h>

#define ID_EPOCH_MS 1704067200000LL /* 2024-01-01T00:00:00Z */

/* A new id > every id this process returned before. */
int64_t id_next(int64_t now_wall_ms);

/* The millisecond an id was made in (ids made in a crowded millisecond may
 * count into the next ones). */
static inline int64_t id_time_ms(int64_t id)
{
    return (id >> 22) + ID_EPOCH_MS;
}

#endif
