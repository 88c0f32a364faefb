/* qr: QR code images of short links. GET /{code}/qr is public (active
 * links only, like the redirect; cacheable for an hour) and GET
 * /api/v1/links/{code}/qr is the team-scoped twin (any state). Both encode
 * the short URL (base URL + code), never the destination, so a QR stays
 * valid when the link's target changes. Rendering is in qr/qr.h. */
#include "api/api.h"

#include "http/server.h"
#include "qr/qr.h"

#include <string.h>
#include <zlib.h>

#define QR_CACHE_PUBLIC "public, max-age=3600"
#define QR_CACHE_PRIVATE "private, no-cache"

/* A strong validator of the image: it depends only on the encoded text and
 * the options, so it is computed before rendering. */
static size_t make_etag(const char *text, size_t len, const struct qr_opts *o, char out[32])
{
    unsigned char b[16] = {(unsigned char)o->format,
                           (unsigned char)o->ecc,
                           (unsigned char)(o->size >> 8),
                           (unsigned char)o->size,
                           (unsigned char)o->margin,
                           o->fg[0],
                           o->fg[1],
                           o->fg[2],
                           o->bg[0],
                           o->bg[1],
                           o->bg[2]};
    uLong c = crc32(0L, (const Bytef *)text, (uInt)len);
    uLong d = adler32(1L, (const Bytef *)text, (uInt)len);
    c = crc32(c, b, 11);
    d = adler32(d, b, 11);
    return (size_t)snprintf(out, 32, "\"%08lx%08lx\"", c & 0xffffffffUL, d & 0xffffffffUL);
}

static bool etag_matches(h2o_req_t *req, const char *etag, size_t len)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_IF_NONE_MATCH, -1);
    if (i < 0)
        return false;
    h2o_iovec_t v = req->headers.entries[i].value;
    if (h2o_memis(v.base, v.len, H2O_STRLIT("*")))
        return true;
    for (size_t k = 0; k + len <= v.len; k++)
        if (memcmp(v.base + k, etag, len) == 0)
            return true;
    return false;
}

static void send_qr(struct reqctx *rc, const char *code, size_t len, const char *cache_control)
{
    h2o_req_t *req = rc->req;
    struct qr_opts o;
    qr_opts_default(&o);
    const char *param = NULL;
    const char *why = qr_opts_parse(rc->query.base, rc->query.len, &o, &param);
    if (why != NULL) {
        respond_invalid(rc, 400, param, why);
        return;
    }
    char text[API_SHORT_URL_MAX];
    size_t tlen = api_short_url(rc, code, len, text);
    char tag[32];
    size_t taglen = make_etag(text, tlen, &o, tag);
    char *etag = h2o_mem_alloc_pool(&req->pool, taglen);
    memcpy(etag, tag, taglen);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ETAG, NULL, etag, taglen);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, cache_control, strlen(cache_control));
    if (etag_matches(req, etag, taglen)) {
        respond_empty(rc, 304);
        return;
    }
    struct qr_image img;
    int err = qr_render(text, tlen, &o, &img);
    if (err == QR_ERR_TOO_SMALL) {
        respond_invalid(rc, 400, "size", qr_strerror(err));
        return;
    }
    if (err == QR_ERR_NOMEM) {
        respond_unavailable(rc, "out of memory");
        return;
    }
    if (err != 0) {
        respond_problem(rc, 500, "qr", "QR code failed", qr_strerror(err), NULL);
        return;
    }
    char *body = h2o_mem_alloc_pool(&req->pool, img.len);
    memcpy(body, img.data, img.len);
    size_t blen = img.len;
    const char *ctype = img.content_type;
    qr_image_free(&img);
    respond_bytes(rc, 200, ctype, body, blen);
}

void api_link_qr(struct reqctx *rc, const h2o_iovec_t *params)
{
    if (slug_validate(params[0].base, params[0].len) != 0) {
        respond_problem(rc, 404, "not-found", "Link not found", "no link with this code", NULL);
        return;
    }
    if (!api_domain_param(rc)) /* domains (issue 4) */
        return;
    int st = store_link_get(rc->w->reader, rc->principal.team_id, rc->domain_id, params[0].base, params[0].len,
                            &rc->w->scratch);
    if (st == STORE_NOT_FOUND)
        respond_problem(rc, 404, "not-found", "Link not found", "no link with this code", NULL);
    else if (st != STORE_OK)
        respond_unavailable(rc, "the link store cannot be read");
    else if (api_allowed(rc, rc->w->scratch.team_id, ACT_LINK_READ, 0))
        send_qr(rc, rc->w->scratch.code, strlen(rc->w->scratch.code), QR_CACHE_PRIVATE);
}

void api_qr_public(struct reqctx *rc, const char *code, size_t len)
{
    if (api_public_link(rc, code, len))
        send_qr(rc, code, len, QR_CACHE_PUBLIC);
}
