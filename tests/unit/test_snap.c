/* Unit tests for src/core/snap (the packed link snapshots the cache holds)
 * and src/util/leb128: every field survives pack and unpack, the packed
 * form is short and canonical, and what is not a packed snapshot is
 * refused. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/snap.h"
#include "util/leb128.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static _Alignas(8) char unpacked[SNAP_MAX], again[SNAP_MAX];
static uint8_t packed[SNAP_PACKED_MAX], repacked[SNAP_PACKED_MAX];

static struct link *plain_link(void)
{
    static struct link l;
    memset(&l, 0, sizeof(l));
    l.id = 1000000;
    l.team_id = 3;
    l.redirect_type = 302;
    l.crawlable = false;
    strcpy(l.url, "https://docs.example.com/guides/getting-started?ref=newsletter");
    return &l;
}

/* Packs l's snapshot, unpacks it again, and checks the round trip; returns
 * the packed size. */
static size_t round_trip(const struct link *l)
{
    size_t n = snap_of_link(unpacked, l);
    size_t pn = snap_pack(packed, (const struct link_snap *)unpacked);
    cr_assert_leq(pn, SNAP_PACKED_MAX);
    size_t m = snap_unpack(again, sizeof(again), packed, pn);
    cr_assert_eq(m, n);
    cr_assert(memcmp(again, unpacked, n) == 0, "unpacked snapshot differs");
    cr_assert_eq(snap_pack(repacked, (const struct link_snap *)again), pn);
    cr_assert(memcmp(repacked, packed, pn) == 0);
    return pn;
}

Test(snap, plain_link_is_small)
{
    struct link *l = plain_link();
    size_t url = strlen(l->url);
    size_t pn = round_trip(l);
    const struct link_snap *s = (const struct link_snap *)again;
    cr_assert_eq(s->id, 1000000);
    cr_assert_eq(s->team_id, 3);
    cr_assert_eq(s->redirect_type, 302);
    cr_assert_eq(s->url_len, url);
    cr_assert(memcmp(s + 1, l->url, url) == 0);
    cr_assert(!s->crawlable && !s->forward_query && !s->disabled && !s->locked);
    cr_assert_eq(s->expires_at + s->max_visits + s->valid_since + s->rules_len + s->utm_len, 0);
    /* flags 1, type 2, id 3, team 1, URL length 1 */
    cr_assert_eq(pn, 8 + url, "packed %zu bytes for a %zu-byte URL", pn, url);
}

Test(snap, every_field_round_trips)
{
    struct link *l = plain_link();
    l->id = INT64_MAX;
    l->team_id = 0;
    l->expires_at = 1796083200000;
    l->max_visits = 1;
    l->valid_since = -86400000; /* before 1970: any int64 survives */
    l->redirect_type = 308;
    l->crawlable = true;
    l->forward_query = true;
    l->disabled = true;
    strcpy(l->password_hash, "$argon2id$v=19$...");
    l->rules_len = 3;
    memcpy(l->rules, "\x01\x02\x03", 3);
    strcpy(l->utm[0], "news letter");
    round_trip(l);
    const struct link_snap *s = (const struct link_snap *)again;
    cr_assert(s->id == INT64_MAX && s->team_id == 0 && s->expires_at == 1796083200000 && s->max_visits == 1 &&
              s->valid_since == -86400000 && s->redirect_type == 308);
    cr_assert(s->crawlable && s->forward_query && s->disabled && s->locked);
    cr_assert_eq(s->rules_len, 3);
    cr_assert_eq(s->utm_len, strlen("utm_source=news%20letter"));
    const char *tail = (const char *)(s + 1) + s->url_len;
    cr_assert(memcmp(tail, "\x01\x02\x03utm_source=news%20letter", 3 + s->utm_len) == 0);
}

Test(snap, each_optional_field_alone)
{
    for (int f = 0; f < 5; f++) {
        struct link *l = plain_link();
        switch (f) {
        case 0:
            l->expires_at = 1;
            break;
        case 1:
            l->max_visits = 500;
            break;
        case 2:
            l->valid_since = 1796083200000;
            break;
        case 3:
            l->rules_len = 1;
            l->rules[0] = 7;
            break;
        case 4:
            strcpy(l->utm[4], "x");
            break;
        }
        round_trip(l);
    }
}

Test(snap, largest_snapshot)
{
    struct link *l = plain_link();
    memset(l->url, 'u', URL_MAX_LEN);
    l->url[URL_MAX_LEN] = '\0';
    l->rules_len = LINK_RULES_MAX;
    memset(l->rules, 0xab, LINK_RULES_MAX);
    for (int i = 0; i < LINK_UTM_N; i++) {
        memset(l->utm[i], '&', LINK_UTM_MAX);
        l->utm[i][LINK_UTM_MAX] = '\0';
    }
    l->id = l->team_id = l->expires_at = l->max_visits = l->valid_since = -1;
    round_trip(l);
}

Test(snap, refuses_what_is_not_a_packed_snapshot)
{
    struct link *l = plain_link();
    l->max_visits = 9;
    snap_of_link(unpacked, l);
    size_t pn = snap_pack(packed, (const struct link_snap *)unpacked);
    cr_assert_gt(snap_unpack(again, sizeof(again), packed, pn), 0);
    /* every truncation, and one byte too many */
    for (size_t k = 0; k < pn; k++)
        cr_assert_eq(snap_unpack(again, sizeof(again), packed, k), 0, "truncated to %zu", k);
    packed[pn] = 'x';
    cr_assert_eq(snap_unpack(again, sizeof(again), packed, pn + 1), 0);
    /* too small a buffer */
    cr_assert_eq(snap_unpack(again, sizeof(struct link_snap) + 3, packed, pn), 0);
    static const struct {
        const char *why;
        uint8_t bytes[16];
        size_t n;
    } rows[] = {
        {"empty", {0}, 0},
        {"URL length past URL_MAX_LEN", {0, 0xae, 2, 1, 1, 0x81, 0x18}, 7},
        {"optional field present but zero", {1 << 4, 0xae, 2, 1, 1, 0, 0}, 7},
        {"rules and UTM both zero", {1 << 7, 0xae, 2, 1, 1, 0, 0, 0, 'u'}, 9},
        {"redundant zero byte in a varint", {0, 0xae, 2, 0x81, 0, 1, 0, 'u'}, 8},
        {"redirect type past 16 bits", {0, 0x80, 0x80, 4, 1, 1, 0, 'u'}, 8},
    };
    for (size_t i = 0; i < N(rows); i++)
        cr_assert_eq(snap_unpack(again, sizeof(again), rows[i].bytes, rows[i].n), 0, "%s", rows[i].why);
    static const uint8_t ok[] = {0, 0xae, 2, 1, 1, 1, 'u'};
    cr_assert_gt(snap_unpack(again, sizeof(again), ok, sizeof(ok)), 0);
}

Test(leb128, table)
{
    static const struct {
        uint64_t v;
        size_t n;
        uint8_t bytes[LEB128_MAX];
    } rows[] = {
        {0, 1, {0}},
        {127, 1, {0x7f}},
        {128, 2, {0x80, 1}},
        {302, 2, {0xae, 2}},
        {1000000, 3, {0xc0, 0x84, 0x3d}},
        {UINT64_MAX, 10, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1}},
    };
    for (size_t i = 0; i < N(rows); i++) {
        uint8_t buf[LEB128_MAX];
        cr_assert_eq(leb128_put(buf, rows[i].v), rows[i].n);
        cr_assert_eq(leb128_len(rows[i].v), rows[i].n);
        cr_assert(memcmp(buf, rows[i].bytes, rows[i].n) == 0);
        const uint8_t *p = rows[i].bytes;
        uint64_t v;
        cr_assert_eq(leb128_get(&p, rows[i].bytes + rows[i].n, &v), 0);
        cr_assert(v == rows[i].v && p == rows[i].bytes + rows[i].n);
        p = rows[i].bytes;
        cr_assert_eq(leb128_get(&p, rows[i].bytes + rows[i].n - 1, &v), -1, "truncated");
    }
    static const uint8_t overlong[] = {0x80, 0}, too_big[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2},
                         eleven[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0};
    const uint8_t *p = overlong;
    uint64_t v;
    cr_assert_eq(leb128_get(&p, overlong + sizeof(overlong), &v), -1);
    p = too_big;
    cr_assert_eq(leb128_get(&p, too_big + sizeof(too_big), &v), -1);
    p = eleven;
    cr_assert_eq(leb128_get(&p, eleven + sizeof(eleven), &v), -1);
}
