/* log: the server's own messages (start-up, errors, shutdown) as one JSON
 * line each on stderr, and the per-request access log.
 *
 * The access log never blocks a worker: each worker appends its lines to its
 * own buffer under a mutex that only the log thread also takes, and the log
 * thread swaps the buffer out and writes it every flush_ms, or as soon as a
 * worker's buffer passes LOG_KICK_BYTES (the worker wakes it, once per
 * buffer), so a worker at tens of thousands of requests a second keeps
 * three quarters of its buffer in hand while the log thread comes. When a
 * buffer is full all the same the line is dropped and counted, never waited
 * for.
 * Secrets never reach either log: callers pass paths without query strings
 * and never pass headers. */
#ifndef LP_OBS_LOG_H
#define LP_OBS_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOG_FLUSH_MS 100
#define LOG_WORKER_BUF (1024 * 1024)        /* bytes buffered per worker between flushes */
#define LOG_KICK_BYTES (LOG_WORKER_BUF / 4) /* a buffer this full wakes the log thread */
#define LOG_PATH_MAX 1024                   /* longer paths are truncated in the log */

__attribute__((format(printf, 2, 3))) void log_msg(const char *level, const char *fmt, ...);
#define log_info(...) log_msg("info", __VA_ARGS__)
#define log_warn(...) log_msg("warn", __VA_ARGS__)
#define log_error(...) log_msg("error", __VA_ARGS__)

struct accesslog;

struct accesslog_entry {
    int64_t time_ms;
    const char *request_id;
    size_t request_id_len;
    const char *method;
    size_t method_len;
    const char *path; /* without the query string */
    size_t path_len;
    int status;
    uint64_t duration_us;
    uint64_t bytes_out;
};

/* target: "off", "stderr" or a file path (appended); flush_ms: the longest a
 * line waits in its buffer (LOG_FLUSH_MS in the server). NULL on error
 * (message in err). */
struct accesslog *accesslog_new(const char *target, size_t nworkers, unsigned flush_ms, char *err, size_t errcap);
/* Flushes what is buffered and stops the log thread. */
void accesslog_free(struct accesslog *log);
bool accesslog_enabled(const struct accesslog *log);
/* Called by worker `worker` only. Returns 0, or -1 when the line was dropped. */
int accesslog_write(struct accesslog *log, size_t worker, const struct accesslog_entry *e);

/* Appends s as the inside of a JSON string (no quotes) to buf, escaped as
 * the API's JSON is (util/jsonw.h: bytes that are not UTF-8, such as a raw
 * request path may hold, become U+FFFD, so every line is JSON); returns
 * bytes written, or 0 if it does not fit. Pure. */
size_t log_json_escape(char *buf, size_t cap, const char *s, size_t len);

#endif
