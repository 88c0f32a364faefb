/* json: decoding request bodies and encoding the shared value types. */
#include "api/api.h"

#include "util/rfc3339.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static bool is_json_type(h2o_req_t *req)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
    if (i < 0)
        return false;
    h2o_iovec_t v = req->headers.entries[i].value;
    size_t n = 0;
    while (n < v.len && v.base[n] != ';' && v.base[n] != ' ')
        n++;
    return h2o_lcstris(v.base, n, H2O_STRLIT("application/json")) ||
           (n > 5 && h2o_lcstris(v.base + n - 5, 5, H2O_STRLIT("+json")));
}

json_t *api_read_object(struct reqctx *rc)
{
    h2o_req_t *req = rc->req;
    if (!is_json_type(req)) {
        respond_problem(rc, 415, "unsupported-media-type", "Unsupported media type",
                        "send the body as application/json", NULL);
        return NULL;
    }
    if (req->entity.base == NULL || req->entity.len == 0) {
        respond_invalid(rc, 400, "body", "is required (a JSON object)");
        return NULL;
    }
    json_error_t jerr;
    json_t *obj = json_loadb(req->entity.base, req->entity.len, JSON_REJECT_DUPLICATES, &jerr);
    if (obj == NULL) {
        char reason[256];
        snprintf(reason, sizeof(reason), "is not valid JSON: %s (line %d, column %d)", jerr.text, jerr.line,
                 jerr.column);
        respond_invalid(rc, 400, "body", reason);
        return NULL;
    }
    if (!json_is_object(obj)) {
        json_decref(obj);
        respond_invalid(rc, 400, "body", "must be a JSON object");
        return NULL;
    }
    return obj;
}

json_t *api_time_json(int64_t ms)
{
    if (ms == 0)
        return json_null();
    char buf[RFC3339_BUF];
    size_t n = rfc3339_format(ms, buf);
    return json_stringn(buf, n);
}

json_t *api_id_json(int64_t id)
{
    char buf[24];
    int n = snprintf(buf, sizeof(buf), "%" PRId64, id);
    return json_stringn(buf, (size_t)n);
}

int64_t api_json_id(const json_t *v)
{
    if (json_is_integer(v))
        return json_integer_value(v) > 0 ? json_integer_value(v) : -1;
    if (json_is_string(v))
        return api_parse_id(json_string_value(v), json_string_length(v));
    return -1;
}

bool api_json_str(const json_t *v, char *dst, size_t cap)
{
    if (!json_is_string(v) || json_string_length(v) >= cap)
        return false;
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return true;
}
