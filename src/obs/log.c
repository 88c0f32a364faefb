#include "obs/log.h"

#include "util/rfc3339.h"
#include "util/clock.h"
#include "util/dec.h"
#include "util/io.h"
#include "util/jsonw.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void log_msg(const char *level, const char *fmt, ...)
{
    char msg[1024], esc[2048], ts[RFC3339_BUF];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    size_t n = log_json_escape(esc, sizeof(esc), msg, strlen(msg));
    rfc3339_format(clock_wall_ms(), ts);
    fprintf(stderr, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"%.*s\"}\n", ts, level, (int)n, esc);
}

size_t log_json_escape(char *buf, size_t cap, const char *s, size_t len)
{
    size_t n = jw_escape(buf, cap, s, len);
    return n <= cap ? n : 0;
}

struct logbuf {
    pthread_mutex_t lock;
    char *data;
    size_t len;
    bool kicked; /* this buffer has woken the log thread since its last swap */
};

struct accesslog {
    int fd;
    bool own_fd;
    size_t nworkers;
    struct logbuf *bufs;
    char *spare; /* the log thread's half of the double buffer */
    pthread_t thread;
    unsigned flush_ms;
    pthread_mutex_t wake_lock; /* guards stopping and kicked */
    pthread_cond_t wake_cond;  /* wakes the log thread: a kick or stop */
    bool stopping;
    bool kicked;
};

static void flush_all(struct accesslog *log)
{
    for (size_t i = 0; i < log->nworkers; i++) {
        struct logbuf *b = &log->bufs[i];
        pthread_mutex_lock(&b->lock);
        char *full = b->data;
        size_t len = b->len;
        b->data = log->spare;
        b->len = 0;
        b->kicked = false;
        pthread_mutex_unlock(&b->lock);
        log->spare = full;
        if (len > 0)
            (void)io_write_all(log->fd, full, len); /* nowhere left to report it; the access log is best effort */
    }
}

static void *log_thread(void *arg)
{
    struct accesslog *log = arg;
    pthread_setname_np(pthread_self(), "lp-accesslog");
    pthread_mutex_lock(&log->wake_lock);
    while (!log->stopping) {
        struct timespec until = clock_deadline_ms(log->flush_ms);
        while (!log->kicked && !log->stopping)
            if (pthread_cond_timedwait(&log->wake_cond, &log->wake_lock, &until) != 0)
                break; /* timed out */
        log->kicked = false;
        pthread_mutex_unlock(&log->wake_lock);
        flush_all(log);
        pthread_mutex_lock(&log->wake_lock);
    }
    pthread_mutex_unlock(&log->wake_lock);
    flush_all(log);
    return NULL;
}

struct accesslog *accesslog_new(const char *target, size_t nworkers, unsigned flush_ms, char *err, size_t errcap)
{
    struct accesslog *log = calloc(1, sizeof(*log));
    if (log == NULL)
        goto fail_nomem;
    log->fd = -1;
    log->flush_ms = flush_ms;
    if (strcmp(target, "off") == 0)
        return log;
    if (strcmp(target, "stderr") == 0) {
        log->fd = STDERR_FILENO;
    } else {
        log->fd = open(target, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (log->fd < 0) {
            snprintf(err, errcap, "cannot open access log %s: %s", target, strerror(errno));
            free(log);
            return NULL;
        }
        log->own_fd = true;
    }
    log->nworkers = nworkers;
    log->bufs = calloc(nworkers, sizeof(*log->bufs));
    log->spare = malloc(LOG_WORKER_BUF);
    if (log->bufs == NULL || log->spare == NULL)
        goto fail_nomem;
    for (size_t i = 0; i < nworkers; i++) {
        pthread_mutex_init(&log->bufs[i].lock, NULL);
        if ((log->bufs[i].data = malloc(LOG_WORKER_BUF)) == NULL)
            goto fail_nomem;
    }
    pthread_mutex_init(&log->wake_lock, NULL);
    pthread_cond_init(&log->wake_cond, NULL);
    if (pthread_create(&log->thread, NULL, log_thread, log) != 0)
        goto fail_nomem;
    return log;

fail_nomem:
    snprintf(err, errcap, "out of memory starting the access log");
    if (log != NULL) {
        if (log->own_fd)
            close(log->fd);
        for (size_t i = 0; log->bufs != NULL && i < nworkers; i++)
            free(log->bufs[i].data);
        free(log->bufs);
        free(log->spare);
        free(log);
    }
    return NULL;
}

void accesslog_free(struct accesslog *log)
{
    if (log == NULL)
        return;
    if (log->fd >= 0) {
        pthread_mutex_lock(&log->wake_lock);
        log->stopping = true;
        pthread_cond_signal(&log->wake_cond);
        pthread_mutex_unlock(&log->wake_lock);
        pthread_join(log->thread, NULL);
        for (size_t i = 0; i < log->nworkers; i++) {
            pthread_mutex_destroy(&log->bufs[i].lock);
            free(log->bufs[i].data);
        }
        free(log->bufs);
        free(log->spare);
        if (log->own_fd)
            close(log->fd);
    }
    free(log);
}

bool accesslog_enabled(const struct accesslog *log)
{
    return log != NULL && log->fd >= 0;
}

/* Appends for the access-log line: the line is built by hand because
 * snprintf's format interpretation was a visible share of a redirect. */
static char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}
#define PUT_LIT(p, lit) put((p), (lit), sizeof(lit) - 1)

static char *put_u64(char *p, unsigned long long v)
{
    return p + dec_u64(p, v);
}

int accesslog_write(struct accesslog *log, size_t worker, const struct accesslog_entry *e)
{
    /* Every part is capped, so the line always fits. */
    char line[256 + RFC3339_BUF + 6 * 128 + 6 * 10 + 6 * LOG_PATH_MAX], *p = line;
    p = PUT_LIT(p, "{\"time\":\"");
    p += rfc3339_format(e->time_ms, p);
    p = PUT_LIT(p, "\",\"request_id\":\"");
    p += log_json_escape(p, 6 * 128 + 1, e->request_id, e->request_id_len < 128 ? e->request_id_len : 128);
    p = PUT_LIT(p, "\",\"method\":\"");
    p += log_json_escape(p, 6 * 10 + 1, e->method, e->method_len < 10 ? e->method_len : 10);
    p = PUT_LIT(p, "\",\"path\":\"");
    p += log_json_escape(p, 6 * LOG_PATH_MAX + 1, e->path, e->path_len < LOG_PATH_MAX ? e->path_len : LOG_PATH_MAX);
    p = PUT_LIT(p, "\",\"status\":");
    p = put_u64(p, e->status >= 0 ? (unsigned long long)e->status : 0);
    p = PUT_LIT(p, ",\"duration_us\":");
    p = put_u64(p, (unsigned long long)e->duration_us);
    p = PUT_LIT(p, ",\"bytes_out\":");
    p = put_u64(p, (unsigned long long)e->bytes_out);
    p = PUT_LIT(p, "}\n");
    size_t n = (size_t)(p - line);
    struct logbuf *b = &log->bufs[worker];
    int rc = 0;
    bool kick = false;
    pthread_mutex_lock(&b->lock);
    if (b->len + n <= LOG_WORKER_BUF) {
        memcpy(b->data + b->len, line, n);
        b->len += n;
        kick = b->len >= LOG_KICK_BYTES && !b->kicked;
        b->kicked |= kick;
    } else {
        rc = -1;
    }
    pthread_mutex_unlock(&b->lock);
    if (kick) {
        pthread_mutex_lock(&log->wake_lock);
        log->kicked = true;
        pthread_cond_signal(&log->wake_cond);
        pthread_mutex_unlock(&log->wake_lock);
    }
    return rc;
}
