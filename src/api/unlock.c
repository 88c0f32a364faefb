/* unlock: the gate in front of a password-protected link (issue 4).
 *   GET/HEAD /{code}            a small HTML form (no JavaScript), 200
 *   POST /{code}                the form: password + csrf -> 303 to the
 *                               target, or the form again with 401
 *   GET /{code} + Authorization: Basic (any user, the link's password)
 *                               -> the redirect, or 401 + WWW-Authenticate
 * CSRF: double submit. The form carries a random token that is also set as
 * an HttpOnly, SameSite=Strict cookie scoped to /{code}; a POST must bring
 * both, equal (compared in constant time). Another site can neither read
 * the token nor make the browser send the cookie with its POST.
 * Wrong passwords: every attempt takes a token from a bucket per (client,
 * link) sized by --rate-auth before any hashing; past it, 429.
 * Verification (argon2id) runs on the job pool, never on the worker loop;
 * the success path is the normal redirect (rules, UTM, max_visits, visit).
 * Runs on the request's worker thread. */
#include "api/api.h"
#include "core/snap.h"

#include "http/server.h"
#include "util/query.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CSRF_BYTES 16
#define CSRF_HEX (2 * CSRF_BYTES)
#define BASIC_MAX 1024 /* base64 characters of a Basic credential */

struct unlock_call {
    struct api_call call; /* first */
    struct link_snap *snap;
    const char *code;
    size_t code_len;
    bool head, post, ok;
    char hash[LINK_PWHASH_MAX + 1];
    char pw[LINK_PASSWORD_MAX + 1];
    size_t pw_len;
};

static const char form_head[] =
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><meta name=\"robots\" content=\"noindex\">"
    "<title>Password required</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:26rem;margin:4rem "
    "auto;padding:0 1rem;color:#222}input,button{font:inherit;padding:.4rem .6rem;margin:.3rem 0;width:100%;"
    "box-sizing:border-box}.err{color:#b00020}</style></head><body><main><h1>This link is protected</h1>"
    "<p>Enter its password to continue.</p>";

/* The form, with a fresh CSRF token in it and in the cookie. */
static void form(struct reqctx *rc, const char *code, size_t len, int status, const char *error)
{
    h2o_req_t *req = rc->req;
    unsigned char raw[CSRF_BYTES];
    char token[CSRF_HEX + 1];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(token, sizeof(token), raw, sizeof(raw));
    char *cookie = h2o_mem_alloc_pool(&req->pool, 128 + len);
    int cl = snprintf(cookie, 128 + len, "lp_unlock=%s; Path=/%.*s; Max-Age=3600; HttpOnly; SameSite=Strict", token,
                      (int)len, code);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_SET_COOKIE, NULL, cookie, (size_t)cl);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-robots-tag"), 0, NULL, H2O_STRLIT("noindex"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("content-security-policy"), 0, NULL,
                          H2O_STRLIT("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                                     "frame-ancestors 'none'"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("referrer-policy"), 0, NULL,
                          H2O_STRLIT("no-referrer"));
    size_t cap = sizeof(form_head) + 512 + len;
    char *body = h2o_mem_alloc_pool(&req->pool, cap);
    /* codes are [A-Za-z0-9_-]: nothing to escape */
    int n = snprintf(body, cap,
                     "%s%s%s%s<form method=\"post\" action=\"/%.*s\"><input type=\"hidden\" name=\"csrf\" "
                     "value=\"%s\"><label>Password<input type=\"password\" name=\"password\" required "
                     "maxlength=\"128\" autocomplete=\"current-password\" autofocus></label>"
                     "<button type=\"submit\">Continue</button></form></main></body></html>\n",
                     form_head, error ? "<p class=\"err\">" : "", error ? error : "", error ? "</p>" : "", (int)len,
                     code, token);
    respond_bytes(rc, status, "text/html; charset=utf-8", body, (size_t)n);
}

static void refuse_basic(struct reqctx *rc)
{
    h2o_add_header(&rc->req->pool, &rc->req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, NULL,
                   H2O_STRLIT("Basic realm=\"linkpulse link\", charset=\"UTF-8\""));
    respond_problem(rc, 401, "unauthorized", "Password required", "this link needs its password", NULL);
}

/* The password of an "Authorization: Basic" header (user part ignored):
 * 1 found, 0 no Basic header, -1 malformed. */
static int basic_password(h2o_req_t *req, char *pw, size_t *pw_len)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    if (i < 0)
        return 0;
    h2o_iovec_t v = req->headers.entries[i].value;
    if (v.len < 6 || strncasecmp(v.base, "basic ", 6) != 0)
        return 0;
    const char *b = v.base + 6;
    size_t n = v.len - 6;
    if (n == 0 || n > BASIC_MAX)
        return -1;
    for (size_t k = 0; k < n; k++) /* libsodium would take bytes >= 0x80: check the alphabet first */
        if (!((b[k] >= 'A' && b[k] <= 'Z') || (b[k] >= 'a' && b[k] <= 'z') || (b[k] >= '0' && b[k] <= '9') ||
              b[k] == '+' || b[k] == '/' || b[k] == '='))
            return -1;
    unsigned char raw[BASIC_MAX];
    size_t rl;
    if (sodium_base642bin(raw, sizeof(raw), b, n, NULL, &rl, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
        return -1;
    unsigned char *colon = memchr(raw, ':', rl);
    size_t pl = colon ? rl - (size_t)(colon + 1 - raw) : 0;
    if (colon == NULL || pl == 0 || pl > LINK_PASSWORD_MAX) {
        sodium_memzero(raw, sizeof(raw));
        return -1;
    }
    memcpy(pw, colon + 1, pl);
    pw[pl] = '\0';
    *pw_len = pl;
    sodium_memzero(raw, sizeof(raw));
    return 1;
}

/* The lp_unlock cookie's value, if it is a token. */
static bool cookie_token(h2o_req_t *req, char out[CSRF_HEX + 1])
{
    for (ssize_t i = -1; (i = h2o_find_header(&req->headers, H2O_TOKEN_COOKIE, i)) >= 0;) {
        h2o_iovec_t v = req->headers.entries[i].value;
        for (size_t k = 0; k + 10 + CSRF_HEX <= v.len; k++) {
            if ((k == 0 || v.base[k - 1] == ' ' || v.base[k - 1] == ';') && memcmp(v.base + k, "lp_unlock=", 10) == 0 &&
                (k + 10 + CSRF_HEX == v.len || v.base[k + 10 + CSRF_HEX] == ';')) {
                memcpy(out, v.base + k + 10, CSRF_HEX);
                out[CSRF_HEX] = '\0';
                return true;
            }
        }
    }
    return false;
}

static void verify_job(struct api_call *call)
{
    struct unlock_call *uc = (struct unlock_call *)call;
    uc->ok = crypto_pwhash_str_verify(uc->hash, uc->pw, uc->pw_len) == 0;
    sodium_memzero(uc->pw, sizeof(uc->pw));
}

static void verified(struct api_call *call, struct reqctx *rc)
{
    struct unlock_call *uc = (struct unlock_call *)call;
    if (!uc->ok) {
        if (uc->post)
            form(rc, uc->code, uc->code_len, 401, "Wrong password. Try again.");
        else
            refuse_basic(rc);
        return;
    }
    if (uc->post) /* the browser then GETs the target */
        uc->snap->redirect_type = 303;
    int64_t now = (int64_t)rc->req->processed_at.at.tv_sec * 1000 + rc->req->processed_at.at.tv_usec / 1000;
    api_redirect_go(rc, uc->snap, uc->code, uc->code_len, uc->head, now);
}

void api_unlock(struct reqctx *rc, struct link_snap *s, const char *code, size_t len, bool head, bool post)
{
    h2o_req_t *req = rc->req;
    struct unlock_call *uc =
        (struct unlock_call *)api_call_new_sized(rc, sizeof(*uc), STORE_LINK_CONSUME /* unused: a job */, verified);
    if (uc == NULL)
        return; /* answered 503 */
    uc->snap = s;
    uc->code = code;
    uc->code_len = len;
    uc->head = head;
    uc->post = post;
    int basic = basic_password(req, uc->pw, &uc->pw_len);
    if (basic < 0) {
        api_call_drop(&uc->call);
        refuse_basic(rc);
        return;
    }
    if (basic == 0 && !post) {
        api_call_drop(&uc->call);
        form(rc, code, len, 200, NULL);
        return;
    }
    if (basic == 0) { /* the form's POST */
        const char *body = req->entity.base ? req->entity.base : "", *v;
        size_t blen = req->entity.base ? req->entity.len : 0, vlen;
        char csrf[CSRF_HEX + 8], cookie[CSRF_HEX + 1];
        long pl = -1;
        bool csrf_ok = query_find(body, blen, "csrf", &v, &vlen) &&
                       query_decode(v, vlen, csrf, sizeof(csrf)) == CSRF_HEX && cookie_token(req, cookie) &&
                       sodium_memcmp(csrf, cookie, CSRF_HEX) == 0;
        if (csrf_ok && query_find(body, blen, "password", &v, &vlen))
            pl = query_decode(v, vlen, uc->pw, sizeof(uc->pw));
        if (!csrf_ok || pl <= 0) {
            sodium_memzero(uc->pw, sizeof(uc->pw));
            api_call_drop(&uc->call);
            form(rc, code, len, csrf_ok ? 400 : 403,
                 csrf_ok ? "Enter the password." : "The form expired or did not come from this page. Try again.");
            return;
        }
        uc->pw_len = (size_t)pl;
    }
    /* every attempt spends from the (client, link) budget, before hashing */
    uint8_t key[24];
    api_client_bucket(rc, key);
    memcpy(key + 16, &s->id, 8);
    if (!api_rate_limit(rc, "unlock:", key, sizeof(key), rc->w->app->cfg->rate_auth)) {
        sodium_memzero(uc->pw, sizeof(uc->pw));
        api_call_drop(&uc->call);
        return;
    }
    if (store_link_resolve(rc->w->reader, rc->domain_id, code, len, &rc->w->scratch) != STORE_OK ||
        rc->w->scratch.password_hash[0] == '\0') {
        /* changed under us: no longer protected (or gone); ask again */
        sodium_memzero(uc->pw, sizeof(uc->pw));
        api_call_drop(&uc->call);
        respond_unavailable(rc, "the link changed; try again");
        return;
    }
    memcpy(uc->hash, rc->w->scratch.password_hash, sizeof(uc->hash));
    api_run_job(&uc->call, verify_job);
}
