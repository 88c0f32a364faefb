#include "core/snap.h"

#include "util/leb128.h"

#include <string.h>

enum {
    F_CRAWLABLE = 1 << 0,
    F_FORWARD_QUERY = 1 << 1,
    F_DISABLED = 1 << 2,
    F_LOCKED = 1 << 3,
    F_EXPIRES = 1 << 4,     /* expires_at follows */
    F_MAX_VISITS = 1 << 5,  /* max_visits follows */
    F_VALID_SINCE = 1 << 6, /* valid_since follows */
    F_EXTRA = 1 << 7,       /* rules_len and utm_len follow (not both zero) */
};

size_t snap_of_link(void *buf, const struct link *l)
{
    struct link_snap s = {.id = l->id,
                          .team_id = l->team_id,
                          .expires_at = l->expires_at,
                          .max_visits = l->max_visits,
                          .valid_since = l->valid_since,
                          .redirect_type = (uint16_t)l->redirect_type,
                          .url_len = (uint16_t)strlen(l->url),
                          .rules_len = l->rules_len,
                          .crawlable = l->crawlable,
                          .forward_query = l->forward_query,
                          .disabled = l->disabled,
                          .locked = l->password_hash[0] != '\0'};
    char *p = (char *)buf + sizeof(s);
    memcpy(p, l->url, s.url_len);
    memcpy(p + s.url_len, l->rules, s.rules_len);
    s.utm_len = (uint16_t)target_utm_query(l, p + s.url_len + s.rules_len);
    memcpy(buf, &s, sizeof(s));
    return sizeof(s) + s.url_len + s.rules_len + s.utm_len;
}

size_t snap_pack(uint8_t *out, const struct link_snap *s)
{
    uint8_t flags = (s->crawlable ? F_CRAWLABLE : 0) | (s->forward_query ? F_FORWARD_QUERY : 0) |
                    (s->disabled ? F_DISABLED : 0) | (s->locked ? F_LOCKED : 0) | (s->expires_at != 0 ? F_EXPIRES : 0) |
                    (s->max_visits != 0 ? F_MAX_VISITS : 0) | (s->valid_since != 0 ? F_VALID_SINCE : 0) |
                    (s->rules_len != 0 || s->utm_len != 0 ? F_EXTRA : 0);
    size_t n = 0;
    out[n++] = flags;
    n += leb128_put(out + n, s->redirect_type);
    n += leb128_put(out + n, (uint64_t)s->id);
    n += leb128_put(out + n, (uint64_t)s->team_id);
    n += leb128_put(out + n, s->url_len);
    if (flags & F_EXPIRES)
        n += leb128_put(out + n, (uint64_t)s->expires_at);
    if (flags & F_MAX_VISITS)
        n += leb128_put(out + n, (uint64_t)s->max_visits);
    if (flags & F_VALID_SINCE)
        n += leb128_put(out + n, (uint64_t)s->valid_since);
    if (flags & F_EXTRA) {
        n += leb128_put(out + n, s->rules_len);
        n += leb128_put(out + n, s->utm_len);
    }
    size_t tail = (size_t)s->url_len + s->rules_len + s->utm_len;
    memcpy(out + n, s + 1, tail);
    return n + tail;
}

/* One varint that must be nonzero (an optional field, present) or may be
 * zero, at most max. */
static bool get_field(const uint8_t **p, const uint8_t *end, uint64_t max, bool nonzero, uint64_t *out)
{
    return leb128_get(p, end, out) == 0 && *out <= max && (!nonzero || *out != 0);
}

size_t snap_unpack(void *buf, size_t cap, const uint8_t *in, size_t n)
{
    const uint8_t *p = in, *end = in + n;
    if (p == end)
        return 0;
    uint8_t flags = *p++;
    uint64_t rt, id, team, url_len, expires = 0, max_visits = 0, since = 0, rules_len = 0, utm_len = 0;
    if (!get_field(&p, end, UINT16_MAX, false, &rt) || !get_field(&p, end, UINT64_MAX, false, &id) ||
        !get_field(&p, end, UINT64_MAX, false, &team) || !get_field(&p, end, URL_MAX_LEN, false, &url_len))
        return 0;
    if ((flags & F_EXPIRES) && !get_field(&p, end, UINT64_MAX, true, &expires))
        return 0;
    if ((flags & F_MAX_VISITS) && !get_field(&p, end, UINT64_MAX, true, &max_visits))
        return 0;
    if ((flags & F_VALID_SINCE) && !get_field(&p, end, UINT64_MAX, true, &since))
        return 0;
    if ((flags & F_EXTRA) && (!get_field(&p, end, LINK_RULES_MAX, false, &rules_len) ||
                              !get_field(&p, end, TARGET_UTM_QUERY_MAX, false, &utm_len) || rules_len + utm_len == 0))
        return 0;
    size_t tail = (size_t)(url_len + rules_len + utm_len);
    if ((size_t)(end - p) != tail || cap < sizeof(struct link_snap) + tail)
        return 0;
    struct link_snap s = {.id = (int64_t)id,
                          .team_id = (int64_t)team,
                          .expires_at = (int64_t)expires,
                          .max_visits = (int64_t)max_visits,
                          .valid_since = (int64_t)since,
                          .redirect_type = (uint16_t)rt,
                          .url_len = (uint16_t)url_len,
                          .rules_len = (uint16_t)rules_len,
                          .utm_len = (uint16_t)utm_len,
                          .crawlable = (flags & F_CRAWLABLE) != 0,
                          .forward_query = (flags & F_FORWARD_QUERY) != 0,
                          .disabled = (flags & F_DISABLED) != 0,
                          .locked = (flags & F_LOCKED) != 0};
    memcpy(buf, &s, sizeof(s));
    memcpy((char *)buf + sizeof(s), p, tail);
    return sizeof(s) + tail;
}
