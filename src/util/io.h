/* io: a whole buffer to a file descriptor, past short writes and EINTR.
 * Thread-safe (the caller owns fd). */
#ifndef LP_UTIL_IO_H
#define LP_UTIL_IO_H

#include <errno.h>
#include <stddef.h>
#include <unistd.h>

/* 0 when all n bytes were written, else -1 with errno set (ENOSPC for a
 * write that took nothing); how much of it reached fd is then unknown. */
static inline int io_write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = ENOSPC;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

#endif
