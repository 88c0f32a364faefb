/* server: workers, listeners, routing and the request limits.
 * See server.h for the threading rules. */
#include "http/server.h"

#include "api/api.h"
#include "http/respond.h"
#include "util/clock.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ACCEPT_BATCH 16 /* connections taken per readiness event */
#define REQUEST_ID_MAX 128

/* ---- routing -------------------------------------------------------------- */

static bool is_code_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static void set_request_id(struct reqctx *rc)
{
    h2o_req_t *req = rc->req;
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-request-id"), -1);
    if (i >= 0) {
        h2o_iovec_t v = req->headers.entries[i].value;
        bool ok = v.len > 0 && v.len <= REQUEST_ID_MAX;
        for (size_t k = 0; ok && k < v.len; k++)
            ok = v.base[k] > 0x20 && v.base[k] < 0x7f;
        if (ok) {
            rc->request_id = v;
            return;
        }
    }
    static const char hex[] = "0123456789abcdef";
    uint64_t id = rc->w->reqid_base + rc->w->reqid_seq++;
    char *buf = h2o_mem_alloc_pool(&req->pool, 16);
    for (int k = 15; k >= 0; k--, id >>= 4)
        buf[k] = hex[id & 15];
    rc->request_id = h2o_iovec_init(buf, 16);
}

/* Limits h2o does not answer in problem+json itself. */
static bool over_limits(struct reqctx *rc)
{
    h2o_req_t *req = rc->req;
    if (req->path.len > HTTP_TARGET_MAX_BYTES) {
        respond_problem(rc, 414, "uri-too-long", "Request target too long", "the request target exceeds 8 KiB", NULL);
        return true;
    }
    size_t hbytes = 0;
    for (size_t i = 0; i < req->headers.size; i++)
        hbytes += req->headers.entries[i].name->len + req->headers.entries[i].value.len + 4;
    if (hbytes > HTTP_HEADERS_MAX_BYTES) {
        respond_problem(rc, 431, "headers-too-large", "Request headers too large",
                        "the request headers exceed 16 KiB in total", NULL);
        return true;
    }
    /* bulk creation and imports (issue 4) take bigger bodies */
    bool upload = h2o_memis(rc->path.base, rc->path.len, H2O_STRLIT("/api/v1/links/bulk")) ||
                  h2o_memis(rc->path.base, rc->path.len, H2O_STRLIT("/api/v1/links/import"));
    if (req->entity.base != NULL && req->entity.len > (upload ? HTTP_UPLOAD_MAX_BYTES : HTTP_BODY_MAX_BYTES)) {
        respond_problem(rc, 413, "payload-too-large", "Request body too large",
                        upload ? "the request body exceeds 8 MiB" : "the request body exceeds 64 KiB", NULL);
        return true;
    }
    return false;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    struct reqctx *rc = h2o_mem_alloc_pool(&req->pool, sizeof(*rc));
    rc->req = req;
    rc->w = worker_of(req);
    rc->route = ROUTE_OTHER;
    rc->client_ip_set = false;
    rc->domain_id = 0; /* domains (issue 4) */
    rc->domain = NULL;
    size_t plen = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    rc->path = h2o_iovec_init(req->path.base, plen);
    rc->query = req->query_at != SIZE_MAX ? h2o_iovec_init(req->path.base + plen + 1, req->path.len - plen - 1)
                                          : h2o_iovec_init("", 0);
    set_request_id(rc);
    if (over_limits(rc))
        return 0;

    const char *p = rc->path.base;
    size_t n = rc->path.len;
    /* The redirect path first: one segment of code characters. */
    if (n >= 2 && n <= 1 + LINK_CODE_MAX && p[0] == '/') {
        size_t k = 1;
        while (k < n && is_code_char(p[k]))
            k++;
        if (k == n) {
            if (h2o_memis(p, n, H2O_STRLIT("/healthz"))) {
                rc->route = ROUTE_HEALTH;
                api_healthz(rc);
            } else if (h2o_memis(p, n, H2O_STRLIT("/readyz"))) {
                rc->route = ROUTE_HEALTH;
                api_readyz(rc);
            } else if (h2o_memis(p, n, H2O_STRLIT("/metrics"))) {
                rc->route = ROUTE_METRICS;
                api_metrics(rc);
            } else {
                rc->route = ROUTE_REDIRECT;
                api_host_domain(rc);
                api_redirect(rc, p + 1, n - 1);
            }
            return 0;
        }
    }
    if (n >= 5 && memcmp(p, "/api/", 5) == 0) {
        api_dispatch(rc);
        return 0;
    }
    /* QR codes, crawlers and previews (issue 4): /{code}/qr, /{code}+ and
     * /robots.txt; after /api/ so that no API path is taken for a code. */
    api_host_domain(rc); /* domains (issue 4): the Host picks the domain of what follows */
    if (h2o_memis(p, n, H2O_STRLIT("/robots.txt"))) {
        api_robots(rc);
        return 0;
    }
    if (n >= 3 && n <= 4 + LINK_CODE_MAX && p[0] == '/') {
        size_t k = 1;
        while (k < n && is_code_char(p[k]))
            k++;
        if (k > 1 && k + 1 == n && p[k] == '+') {
            api_preview(rc, p + 1, k - 1);
            return 0;
        }
        if (k > 1 && k + 3 == n && memcmp(p + k, "/qr", 3) == 0) {
            api_qr_public(rc, p + 1, k - 1);
            return 0;
        }
    }
    /* Orphan visits: the bare domain, and paths that cannot be a code. */
    api_capture(rc, n == 1 ? VISIT_BASE_URL : VISIT_REGULAR_404, NULL);
    const char *to = api_domain_redirect(rc, n == 1 ? DOMAIN_BASE_URL : DOMAIN_NOT_FOUND);
    if (to != NULL)
        respond_redirect(rc, 302, to, strlen(to));
    else
        respond_page(rc, 404);
    return 0;
}

/* ---- workers --------------------------------------------------------------- */

static void on_accept(h2o_socket_t *listener, const char *err)
{
    if (err != NULL)
        return;
    struct worker *w = listener->data;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
        if (sock == NULL)
            return;
        h2o_accept(&w->accept_ctx, sock);
    }
}

static void on_control(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    struct worker *w = (struct worker *)((char *)receiver - offsetof(struct worker, control));
    while (!h2o_linklist_is_empty(messages))
        h2o_linklist_unlink(messages->next);
    if (w->stopping)
        return;
    w->stopping = true;
    w->stop_deadline = clock_mono_ms() + HTTP_SHUTDOWN_GRACE_MS;
    if (w->listener != NULL) {
        h2o_socket_read_stop(w->listener);
        h2o_socket_close(w->listener);
        w->listener = NULL;
    }
    api_live_stop(w);
    h2o_context_request_shutdown(&w->ctx);
}

static bool has_connections(struct worker *w)
{
    return !h2o_linklist_is_empty(&w->ctx.http1._conns) || !h2o_linklist_is_empty(&w->ctx.http2._conns);
}

/* The worker's h2o objects are made on its own thread: h2o keeps socket
 * buffer pools per thread, and a socket made on another thread would share
 * that thread's pool with every worker. */
static void worker_setup(struct worker *w)
{
    w->loop = h2o_evloop_create();
    h2o_context_init(&w->ctx, w->loop, &w->app->h2o);
    w->queue = h2o_multithread_create_queue(w->loop);
    h2o_multithread_register_receiver(w->queue, &w->ops_done, api_ops_done);
    h2o_multithread_register_receiver(w->queue, &w->control, on_control);
    api_live_worker_init(w);
    w->accept_ctx.ctx = &w->ctx;
    w->accept_ctx.hosts = w->app->h2o.hosts;
    w->listener = h2o_evloop_socket_create(w->loop, w->listen_fd, H2O_SOCKET_FLAG_DONT_READ);
    w->listener->data = w;
    h2o_socket_read_start(w->listener, on_accept);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    char name[16];
    snprintf(name, sizeof(name), "lp-worker-%zu", w->index);
    pthread_setname_np(pthread_self(), name);
    worker_setup(w);
    h2o_barrier_wait(&w->app->started);
    for (;;) {
        h2o_evloop_run(w->loop, w->stopping ? 10 : INT32_MAX);
        /* Leave once every store op is back and answered, and the open
         * connections have closed or had their grace period to flush. */
        if (w->stopping && w->ops_pending == 0 && (!has_connections(w) || clock_mono_ms() >= w->stop_deadline))
            break;
    }
    return NULL;
}

static int bind_listener(const struct config *cfg, char *err, size_t errcap)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *res;
    char port[8];
    snprintf(port, sizeof(port), "%u", cfg->listen_port);
    int rc = getaddrinfo(cfg->listen_host, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errcap, "cannot resolve listen address %s: %s", cfg->listen_host, gai_strerror(rc));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int on = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 4096) != 0) {
        snprintf(err, errcap, "cannot listen on %s:%u: %s", cfg->listen_host, cfg->listen_port, strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

static int worker_init(struct app *app, struct worker *w, size_t index, char *err, size_t errcap)
{
    w->index = index;
    w->app = app;
    w->listen_fd = bind_listener(app->cfg, err, errcap);
    if (w->listen_fd < 0)
        return -1;
    w->reader = store_reader_open(app->store);
    if (w->reader == NULL) {
        snprintf(err, errcap, "cannot open a store reader");
        return -1;
    }
    randombytes_buf(&w->reqid_base, sizeof(w->reqid_base));
    return 0;
}

int server_start(struct app *app, char *err, size_t errcap)
{
    h2o_config_init(&app->h2o);
    app->h2o.server_name = h2o_iovec_init(H2O_STRLIT("linkpulse"));
    /* h2o answers bodies above this itself; up to it we answer 413 in problem+json. */
    app->h2o.max_request_entity_size = 2 * HTTP_UPLOAD_MAX_BYTES;
    app->h2o.http1.req_timeout = app->cfg->request_timeout_ms;
    app->h2o.http2.idle_timeout = app->cfg->request_timeout_ms;
    h2o_hostconf_t *host = h2o_config_register_host(&app->h2o, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    h2o_handler_t *handler = h2o_create_handler(path, sizeof(*handler));
    handler->on_req = on_req;

    app->workers = calloc(app->cfg->workers, sizeof(*app->workers));
    if (app->workers == NULL) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < app->cfg->workers; i++) {
        if (worker_init(app, &app->workers[i], i, err, errcap) != 0)
            return -1; /* the process exits on this path; nothing to unwind */
        app->nworkers = i + 1;
    }
    /* Return only when every worker can take messages (server_stop posts to them). */
    h2o_barrier_init(&app->started, app->nworkers + 1);
    for (size_t i = 0; i < app->nworkers; i++)
        h2o_multithread_create_thread(&app->workers[i].thread, NULL, worker_main, &app->workers[i]);
    h2o_barrier_wait(&app->started);
    return 0;
}

void server_stop(struct app *app)
{
    for (size_t i = 0; i < app->nworkers; i++)
        h2o_multithread_send_message(&app->workers[i].control, &app->workers[i].stop_msg);
    for (size_t i = 0; i < app->nworkers; i++)
        pthread_join(app->workers[i].thread, NULL);
    for (size_t i = 0; i < app->nworkers; i++) {
        struct worker *w = &app->workers[i];
        store_reader_close(w->reader);
        free(w->robots);     /* crawlers and previews */
        api_domains_free(w); /* domains (issue 4) */
        h2o_multithread_unregister_receiver(w->queue, &w->ops_done);
        h2o_multithread_unregister_receiver(w->queue, &w->control);
        h2o_multithread_unregister_receiver(w->queue, &w->live_rx);
        free(w->live_w);
        h2o_multithread_destroy_queue(w->queue);
        /* The h2o context is not disposed: libh2o 2.2.5 asserts on timeouts
         * still armed at exit, and the process ends right after this. */
    }
}
