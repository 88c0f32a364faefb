#include "core/link.h"

#include <stdio.h>
#include <string.h>

const char *link_check_url(const struct link_policy *p, const char *raw, size_t len, char *out, size_t *outlen)
{
    int rc = url_normalize(raw, len, out, URL_MAX_LEN + 1, outlen);
    if (rc < 0)
        return url_strerror(rc);
    struct url_parts parts;
    if (url_split(out, *outlen, &parts) != 0)
        return "is not a valid URL";
    if (p != NULL && parts.port == p->self_port && parts.host_len == strlen(p->self_host) &&
        memcmp(parts.host, p->self_host, parts.host_len) == 0)
        return "points at this service's own short links (redirect loop)";
    return NULL;
}

const char *link_check_slug(const char *s, size_t len)
{
    int rc = slug_validate(s, len);
    return rc < 0 ? slug_strerror(rc) : NULL;
}

const char *link_check_title(const char *s, size_t len)
{
    if (len > LINK_TITLE_MAX_BYTES)
        return "must be at most 512 characters";
    size_t chars = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 && c != '\t')
            return "must not contain control characters";
        if ((c & 0xC0) != 0x80)
            chars++;
    }
    if (chars > LINK_TITLE_MAX_CHARS)
        return "must be at most 512 characters";
    return NULL;
}

const char *link_check_expires(int64_t expires_ms, int64_t now_ms)
{
    return expires_ms <= now_ms ? "must be in the future" : NULL;
}

const char *link_check_max_visits(int64_t v)
{
    return v < 1 || v > LINK_MAX_VISITS_CAP ? "must be an integer from 1 to 10^12" : NULL;
}

const char *link_check_redirect_type(int64_t v)
{
    return v == 301 || v == 302 || v == 307 || v == 308 ? NULL : "must be one of 301, 302, 307, 308";
}

enum link_state link_state_at(int64_t expires_at, int64_t max_visits, int64_t visits, int64_t now_ms)
{
    if (expires_at != 0 && now_ms >= expires_at)
        return LINK_EXPIRED;
    if (max_visits != 0 && visits >= max_visits)
        return LINK_EXHAUSTED;
    return LINK_ACTIVE;
}

enum link_state link_state(const struct link *l, int64_t now_ms)
{
    if (l->disabled)
        return LINK_DISABLED;
    if (l->valid_since != 0 && now_ms < l->valid_since)
        return LINK_NOT_YET;
    return link_state_at(l->expires_at, l->max_visits, l->visits, now_ms);
}

int link_policy_from_base_url(struct link_policy *p, const char *base_url)
{
    char norm[URL_MAX_LEN + 1];
    size_t len;
    struct url_parts parts;
    if (url_normalize(base_url, strlen(base_url), norm, sizeof(norm), &len) != 0 ||
        url_split(norm, len, &parts) != 0 || parts.host_len >= sizeof(p->self_host))
        return -1;
    memcpy(p->self_host, parts.host, parts.host_len);
    p->self_host[parts.host_len] = '\0';
    p->self_port = parts.port;
    return 0;
}

/* ---- forward_query and UTM fields (issue 4) ---- */
const char *const link_utm_names[LINK_UTM_N] = {"utm_source", "utm_medium", "utm_campaign", "utm_term",
                                                "utm_content"};

const char *link_check_utm(const char *s, size_t len)
{
    if (len == 0 || len > LINK_UTM_MAX)
        return "must be 1 to 128 bytes, or null";
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return "must not contain control characters";
    return NULL;
}

/* ---- tags and notes (issue 4) ---- */
const char *link_check_tag(const char *s, size_t len)
{
    if (len == 0 || len > LINK_TAG_MAX_BYTES)
        return "each tag must be 1 to 64 bytes";
    if (s[0] == ' ' || s[len - 1] == ' ')
        return "a tag must not start or end with a space";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return "a tag must not contain control characters";
        if (c == ',')
            return "a tag must not contain commas";
    }
    return NULL;
}

const char *link_check_note(const char *s, size_t len)
{
    if (len > LINK_NOTE_MAX_BYTES)
        return "must be at most 4096 bytes";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c == 0x7f)
            return "must not contain control characters other than newlines and tabs";
    }
    return NULL;
}

void link_tag_fold(const char *s, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++)
        out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
    out[len] = '\0';
}
