#include "util/id.h"

#include <sodium.h>
#include <stdatomic.h>

static _Atomic int64_t last_id; /* documented global: the process-wide id high-water mark */

/* The random start points come from a per-thread generator seeded once from
 * the system: a getrandom() call per id cost the visit writer a system call
 * per row. Uniqueness never rests on these bits (the counter does that);
 * they only make two nodes unlikely to pick the same start. */
static uint64_t start_bits(void)
{
    static _Thread_local uint64_t state;
    if (state == 0)
        randombytes_buf(&state, sizeof(state));
    state += 0x9E3779B97F4A7C15ull; /* splitmix64 */
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

int64_t id_next(int64_t now_wall_ms)
{
    int64_t ms = now_wall_ms - ID_EPOCH_MS;
    if (ms < 0)
        ms = 0;
    /* Start each millisecond at a random point in the lower half of the
     * 22-bit space, leaving room to count up within the millisecond. */
    int64_t candidate = (ms << 22) | (int64_t)(start_bits() & ((1u << 21) - 1));
    int64_t prev = atomic_load_explicit(&last_id, memory_order_relaxed);
    for (;;) {
        int64_t next = candidate > prev ? candidate : prev + 1;
        if (atomic_compare_exchange_weak_explicit(&last_id, &prev, next, memory_order_relaxed, memory_order_relaxed))
            return next;
    }
}
