#include "util/id.h"

#include <sodium.h>
#include <stdatomic.h>

static _Atomic int64_t last_id; /* documented global: the process-wide id high-water mark */

int64_t id_next(int64_t now_wall_ms)
{
    int64_t ms = now_wall_ms - ID_EPOCH_MS;
    if (ms < 0)
        ms = 0;
    /* Start each millisecond at a random point in the lower half of the
     * 22-bit space, leaving room to count up within the millisecond. */
    int64_t candidate = (ms << 22) | (int64_t)randombytes_uniform(1u << 21);
    int64_t prev = atomic_load_explicit(&last_id, memory_order_relaxed);
    for (;;) {
        int64_t next = candidate > prev ? candidate : prev + 1;
        if (atomic_compare_exchange_weak_explicit(&last_id, &prev, next, memory_order_relaxed, memory_order_relaxed))
            return next;
    }
}
