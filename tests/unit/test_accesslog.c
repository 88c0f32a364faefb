/* The access log's buffers and log thread (obs/log.c): a worker's buffer
 * that passes LOG_KICK_BYTES wakes the log thread long before its timer, on
 * every buffer, and the lines reach the file whole and in order. The timer
 * is set to a minute here, so only a wake-up can explain a flush. */
#include "obs/log.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PATH_BYTES 200 /* every line is longer than this */
/* Enough lines to pass the wake-up mark, and few enough to fit a buffer
 * (a line is the path plus well under PATH_BYTES of the rest). */
#define BATCH (LOG_KICK_BYTES / PATH_BYTES + 1)
_Static_assert(BATCH * 2 * PATH_BYTES < LOG_WORKER_BUF, "a batch fits one buffer");

static off_t file_size(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    return st.st_size;
}

/* Polls for up to 5 s; the file's size once it has grown past was, or was. */
static off_t wait_growth(const char *path, off_t was)
{
    for (int i = 0; i < 5000 && file_size(path) == was; i++)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    return file_size(path);
}

static void write_batch(struct accesslog *log, size_t first)
{
    static char path[PATH_BYTES];
    memset(path, 'a', sizeof(path));
    path[0] = '/';
    for (size_t i = first; i < first + BATCH; i++) {
        char id[16];
        int n = snprintf(id, sizeof(id), "%08zu", i);
        struct accesslog_entry e = {
            .time_ms = 1700000000000LL,
            .request_id = id,
            .request_id_len = (size_t)n,
            .method = "GET",
            .method_len = 3,
            .path = path,
            .path_len = sizeof(path),
            .status = 302,
            .duration_us = 12,
            .bytes_out = 100,
        };
        cr_assert_eq(accesslog_write(log, 0, &e), 0, "line %zu dropped", i);
    }
}

Test(accesslog, a_buffer_past_the_mark_wakes_the_log_thread_every_time)
{
    char path[] = "/tmp/lp-accesslog-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    char err[256];
    struct accesslog *log = accesslog_new(path, 1, 60 * 1000, err, sizeof(err));
    cr_assert_not_null(log, "%s", err);

    /* Each batch passes the mark at least once after the last swap (the
     * wait below makes sure that swap happened), so each must be followed
     * by a flush; what is left below the mark goes out with the next. */
    enum { ROUNDS = 6 };
    off_t size = 0;
    for (size_t r = 0; r < ROUNDS; r++) {
        write_batch(log, r * BATCH);
        off_t now = wait_growth(path, size);
        cr_assert_gt(now, size, "round %zu: nothing was flushed within 5 s", r);
        size = now;
    }
    accesslog_free(log); /* flushes the rest */

    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    char line[4096];
    size_t n = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        char want[64];
        snprintf(want, sizeof(want), "\"request_id\":\"%08zu\"", n);
        cr_expect_not_null(strstr(line, want), "line %zu out of order: %.60s", n, line);
        cr_expect_eq(line[strlen(line) - 1], '\n', "line %zu is whole", n);
        n++;
    }
    fclose(f);
    cr_expect_eq(n, ROUNDS * BATCH);
    unlink(path);
}
