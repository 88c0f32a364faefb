#include "store/tally.h"

#include "util/leb128.h"

#include <stdlib.h>
#include <string.h>

static const char *const dim_names[TALLY_NDIMS] = {NULL,      "referrer", "country", "city",
                                                   "browser", "os",       "device",  "kind"};

int tally_dim_of(const char *name)
{
    for (int d = 1; d < TALLY_NDIMS; d++)
        if (strcmp(name, dim_names[d]) == 0)
            return d;
    return -1;
}

static int64_t add_clamped(int64_t a, int64_t b)
{
    return a > TALLY_COUNT_MAX - b ? TALLY_COUNT_MAX : a + b;
}

int tally_entry_cmp(const struct tally_entry *a, const struct tally_entry *b)
{
    if (a->dim != b->dim)
        return a->dim < b->dim ? -1 : 1;
    int c = memcmp(a->name, b->name, a->len < b->len ? a->len : b->len);
    if (c != 0)
        return c;
    return a->len == b->len ? 0 : a->len < b->len ? -1 : 1;
}

static bool entry_valid(const struct tally_entry *e)
{
    if (e->dim >= TALLY_NDIMS || e->len == 0 || e->len > TALLY_NAME_MAX)
        return false;
    return e->dim != TALLY_HOUR || (e->len == 1 && (uint8_t)e->name[0] < 24);
}

int tally_iter_init(struct tally_iter *it, const void *blob, size_t len)
{
    memset(it, 0, sizeof(*it));
    it->p = blob;
    it->end = it->p + len;
    if (len == 0)
        return 0;
    if (it->p[0] != TALLY_VERSION)
        return -1;
    it->p++;
    return 0;
}

static int get_varint(const uint8_t **p, const uint8_t *end, int64_t *out)
{
    uint64_t v;
    if (leb128_get(p, end, &v) != 0 || v > (uint64_t)TALLY_COUNT_MAX)
        return -1;
    *out = (int64_t)v;
    return 0;
}

int tally_next(struct tally_iter *it, struct tally_entry *e)
{
    if (it->p == it->end)
        return 0;
    if (it->end - it->p < 2)
        return -1;
    e->dim = it->p[0];
    e->len = it->p[1];
    if ((size_t)(it->end - it->p - 2) < e->len)
        return -1;
    e->name = (const char *)it->p + 2;
    if (!entry_valid(e))
        return -1;
    it->p += 2 + e->len;
    if (get_varint(&it->p, it->end, &e->total) != 0 || get_varint(&it->p, it->end, &e->bots) != 0 ||
        get_varint(&it->p, it->end, &e->uniques) != 0)
        return -1;
    if (it->have_last && tally_entry_cmp(&it->last, e) >= 0)
        return -1;
    it->last = *e;
    it->have_last = true;
    return 1;
}

static uint64_t count_clamped(int64_t v)
{
    return (uint64_t)(v < 0 ? 0 : v > TALLY_COUNT_MAX ? TALLY_COUNT_MAX : v);
}

static size_t put_varint(uint8_t *p, int64_t v)
{
    return leb128_put(p, count_clamped(v));
}

static size_t varint_len(int64_t v)
{
    return leb128_len(count_clamped(v));
}

static int by_count_desc(const void *pa, const void *pb)
{
    const struct tally_entry *a = pa, *b = pb;
    if (a->total != b->total)
        return a->total > b->total ? -1 : 1;
    return tally_entry_cmp(a, b);
}

static int by_name(const void *pa, const void *pb)
{
    return tally_entry_cmp(pa, pb);
}

size_t tally_sum_entries(struct tally_entry *e, size_t n)
{
    qsort(e, n, sizeof(*e), by_name);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        /* counts may come from SQL (lp_tally): clamped before they are added */
        int64_t total = (int64_t)count_clamped(e[i].total), bots = (int64_t)count_clamped(e[i].bots),
                uniques = (int64_t)count_clamped(e[i].uniques);
        if (m > 0 && tally_entry_cmp(&e[m - 1], &e[i]) == 0) {
            e[m - 1].total = add_clamped(e[m - 1].total, total);
            e[m - 1].bots = add_clamped(e[m - 1].bots, bots);
            e[m - 1].uniques = add_clamped(e[m - 1].uniques, uniques);
        } else {
            e[m] = e[i];
            e[m].total = total;
            e[m].bots = bots;
            e[m].uniques = uniques;
            m++;
        }
    }
    return m;
}

/* Folds one dimension's run (sorted by name, n > TALLY_VALUES_MAX) down to
 * the most counted values plus TALLY_OTHER; returns the new length. */
static size_t fold_run(struct tally_entry *run, size_t n)
{
    static const struct tally_entry other_key = {.len = sizeof(TALLY_OTHER) - 1, .name = TALLY_OTHER};
    qsort(run, n, sizeof(*run), by_count_desc);
    size_t keep = TALLY_VALUES_MAX - 1, other = n;
    for (size_t i = 0; i < keep; i++)
        if (run[i].len == other_key.len && memcmp(run[i].name, TALLY_OTHER, other_key.len) == 0)
            other = i;
    if (other == n) {
        for (size_t i = keep; i < n; i++)
            if (run[i].len == other_key.len && memcmp(run[i].name, TALLY_OTHER, other_key.len) == 0) {
                struct tally_entry t = run[keep];
                run[keep] = run[i];
                run[i] = t;
                break;
            }
        other = keep; /* the "other" entry, or the first folded one renamed */
        run[other].name = TALLY_OTHER;
        run[other].len = other_key.len;
        keep++;
    }
    for (size_t i = keep; i < n; i++) {
        run[other].total = add_clamped(run[other].total, run[i].total);
        run[other].bots = add_clamped(run[other].bots, run[i].bots);
        run[other].uniques = add_clamped(run[other].uniques, run[i].uniques);
    }
    qsort(run, keep, sizeof(*run), by_name);
    return keep;
}

static long put_run(struct tally_entry *run, size_t n, uint8_t *out, size_t cap, size_t pos)
{
    if (n > TALLY_VALUES_MAX)
        n = fold_run(run, n);
    for (size_t i = 0; i < n; i++) {
        const struct tally_entry *e = &run[i];
        if (cap - pos < 2 + (size_t)e->len + varint_len(e->total) + varint_len(e->bots) + varint_len(e->uniques))
            return -1;
        out[pos++] = e->dim;
        out[pos++] = e->len;
        memcpy(out + pos, e->name, e->len);
        pos += e->len;
        pos += put_varint(out + pos, e->total);
        pos += put_varint(out + pos, e->bots);
        pos += put_varint(out + pos, e->uniques);
    }
    return (long)pos;
}

long tally_encode(struct tally_entry *e, size_t n, uint8_t *out, size_t cap)
{
    if (cap < 1)
        return -1;
    out[0] = TALLY_VERSION;
    long pos = 1;
    for (size_t i = 0; i < n; i++)
        if (!entry_valid(&e[i]) || (i > 0 && tally_entry_cmp(&e[i - 1], &e[i]) >= 0))
            return -1;
    for (size_t i = 0; i < n && pos >= 0;) {
        size_t j = i + 1;
        while (j < n && e[j].dim == e[i].dim)
            j++;
        pos = put_run(e + i, j - i, out, cap, (size_t)pos);
        i = j;
    }
    return pos;
}

long tally_merge(const void *a, size_t alen, const void *b, size_t blen, struct tally_entry *scratch, uint8_t *out,
                 size_t cap)
{
    struct tally_iter ia, ib;
    struct tally_entry ea, eb;
    if (tally_iter_init(&ia, a, alen) != 0 || tally_iter_init(&ib, b, blen) != 0 || cap < 1)
        return -1;
    int ra = tally_next(&ia, &ea), rb = tally_next(&ib, &eb);
    out[0] = TALLY_VERSION;
    long pos = 1;
    size_t n = 0;              /* entries of the current dimension in scratch */
    size_t in_a = 0, in_b = 0; /* of them, values a and b brought (each at most TALLY_VALUES_MAX) */
    while (ra > 0 || rb > 0) {
        int c = ra <= 0 ? 1 : rb <= 0 ? -1 : tally_entry_cmp(&ea, &eb);
        struct tally_entry e = c <= 0 ? ea : eb;
        if (c == 0) {
            e.total = add_clamped(ea.total, eb.total);
            e.bots = add_clamped(ea.bots, eb.bots);
            e.uniques = add_clamped(ea.uniques, eb.uniques);
        }
        if (n > 0 && scratch[0].dim != e.dim) {
            if ((pos = put_run(scratch, n, out, cap, (size_t)pos)) < 0)
                return -1;
            n = in_a = in_b = 0;
        }
        in_a += c <= 0;
        in_b += c >= 0;
        if (in_a > TALLY_VALUES_MAX || in_b > TALLY_VALUES_MAX)
            return -1; /* not a tally this module wrote */
        scratch[n++] = e;
        if (c <= 0)
            ra = tally_next(&ia, &ea);
        if (c >= 0)
            rb = tally_next(&ib, &eb);
    }
    if (ra < 0 || rb < 0)
        return -1;
    if (n > 0)
        pos = put_run(scratch, n, out, cap, (size_t)pos);
    return pos;
}
