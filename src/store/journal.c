#include "store/journal.h"

#include "obs/log.h"
#include "util/crc32c.h"
#include "util/io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define JOURNAL_VERSION 2 /* 2: CRC-32C; 1 (still read): zlib's CRC-32 */
#define JOURNAL_VERSION_ZLIB 1
#define JOURNAL_BUF_BYTES ((size_t)1 << 20) /* appends are encoded into buffers of a megabyte */
#define JOURNAL_BUFS_MAX 64                 /* buffers waiting for the syncer, at most: ~350,000 visits */
#define JOURNAL_SPARES_KEPT 8               /* past a stall, the buffers beyond these are freed */
#define SEGMENTS_MAX 4096                   /* 256 GiB of 64 MiB segments: far past any backlog cap */
#define HEADER 8
#define UNIQUE_BYTES sizeof(((struct store_visit *)0)->unique)
#define F_BOT 1
#define F_DETAIL 2
#define F_UNIQUE 4

/* ---- record codec -------------------------------------------------------------- */

#define TEXT(f)                                                                                                        \
    {                                                                                                                  \
        offsetof(struct store_visit, f), sizeof(((struct store_visit *)0)->f)                                          \
    }
static const struct {
    size_t off, size;
} texts[] = {TEXT(ip),     TEXT(country), TEXT(city),        TEXT(referrer_host), TEXT(referrer), TEXT(browser),
             TEXT(os),     TEXT(device),  TEXT(language),    TEXT(utm[0]),        TEXT(utm[1]),   TEXT(utm[2]),
             TEXT(utm[3]), TEXT(utm[4]),  TEXT(visited_url), TEXT(target_url)};
#define NTEXTS (sizeof(texts) / sizeof(texts[0]))

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_i64(uint8_t *p, int64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)((uint64_t)v >> (8 * i));
}

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int64_t get_i64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return (int64_t)v;
}

size_t journal_encode(const struct store_visit *v, uint8_t *out)
{
    uint8_t *p = out + HEADER;
    *p++ = JOURNAL_VERSION;
    put_i64(p, v->ts);
    put_i64(p + 8, v->link_id);
    put_i64(p + 16, v->team_id);
    put_i64(p + 24, v->domain_id);
    p += 32;
    *p++ = (uint8_t)v->kind;
    *p++ = (uint8_t)((v->bot ? F_BOT : 0) | (v->detail ? F_DETAIL : 0) | (v->has_unique ? F_UNIQUE : 0));
    put_u16(p, (uint16_t)(int16_t)(v->browser_major < -1 ? -1 : v->browser_major > 32767 ? 32767 : v->browser_major));
    p += 2;
    if (v->has_unique) {
        memcpy(p, v->unique, sizeof(v->unique));
        p += sizeof(v->unique);
    }
    if (v->detail)
        for (size_t i = 0; i < NTEXTS; i++) {
            const char *s = (const char *)v + texts[i].off;
            size_t n = strnlen(s, texts[i].size - 1);
            put_u16(p, (uint16_t)n);
            memcpy(p + 2, s, n);
            p += 2 + n;
        }
    size_t body = (size_t)(p - out) - HEADER;
    put_u32(out, (uint32_t)body);
    put_u32(out + 4, crc32c(0, out + HEADER, body));
    return HEADER + body;
}

/* The check of a body (at least one byte) by its version's CRC. */
static uint32_t body_crc(const uint8_t *body, size_t n)
{
    return body[0] == JOURNAL_VERSION_ZLIB ? (uint32_t)crc32(0L, body, (uInt)n) : crc32c(0, body, n);
}

int journal_step(const uint8_t *buf, size_t len, size_t *off, const uint8_t **body, size_t *body_len)
{
    if (*off > len || len - *off < HEADER)
        return 0;
    const uint8_t *h = buf + *off;
    uint32_t n = get_u32(h);
    if (n == 0 || n > JOURNAL_RECORD_MAX - HEADER)
        return -1;
    if (len - *off - HEADER < n)
        return 0;
    *body = h + HEADER;
    *body_len = n;
    *off += HEADER + n;
    return 1;
}

int journal_next(const uint8_t *buf, size_t len, size_t *off, const uint8_t **body, size_t *body_len)
{
    size_t at = *off;
    int k = journal_step(buf, len, &at, body, body_len);
    if (k != 1)
        return k;
    if (get_u32(buf + *off + 4) != body_crc(*body, *body_len))
        return -1;
    *off = at;
    return 1;
}

_Static_assert(NTEXTS == JOURNAL_TEXTS, "enum journal_text follows texts[]");

int journal_view(const uint8_t *body, size_t len, struct journal_view *v)
{
    const uint8_t *p = body, *end = body + len;
    if (len < 1 + 32 + 4 || (*p != JOURNAL_VERSION && *p != JOURNAL_VERSION_ZLIB))
        return -1;
    p++;
    v->ts = get_i64(p);
    v->link_id = get_i64(p + 8);
    v->team_id = get_i64(p + 16);
    v->domain_id = get_i64(p + 24);
    p += 32;
    uint8_t kind = *p++, flags = *p++;
    if (kind > VISIT_REGULAR_404 || (flags & ~(F_BOT | F_DETAIL | F_UNIQUE)) != 0)
        return -1;
    v->kind = (enum store_visit_kind)kind;
    v->bot = flags & F_BOT;
    v->detail = flags & F_DETAIL;
    v->has_unique = flags & F_UNIQUE;
    v->browser_major = (int16_t)get_u16(p);
    p += 2;
    if (v->browser_major < -1)
        return -1;
    v->unique = NULL;
    if (v->has_unique) {
        if ((size_t)(end - p) < UNIQUE_BYTES)
            return -1;
        v->unique = p;
        p += UNIQUE_BYTES;
    }
    for (size_t i = 0; i < NTEXTS; i++) {
        v->text[i].len = 0;
        v->text[i].s = "";
        if (!v->detail)
            continue;
        if (end - p < 2)
            return -1;
        size_t n = get_u16(p);
        p += 2;
        if (n >= texts[i].size || (size_t)(end - p) < n || memchr(p, '\0', n) != NULL)
            return -1;
        v->text[i].s = (const char *)p;
        v->text[i].len = (uint16_t)n;
        p += n;
    }
    return p == end ? 0 : -1;
}

int journal_decode(const uint8_t *body, size_t len, struct store_visit *v)
{
    struct journal_view jv;
    memset(v, 0, sizeof(*v));
    if (journal_view(body, len, &jv) != 0)
        return -1;
    v->ts = jv.ts;
    v->link_id = jv.link_id;
    v->team_id = jv.team_id;
    v->domain_id = jv.domain_id;
    v->kind = jv.kind;
    v->bot = jv.bot;
    v->detail = jv.detail;
    v->has_unique = jv.has_unique;
    v->browser_major = jv.browser_major;
    if (jv.has_unique)
        memcpy(v->unique, jv.unique, sizeof(v->unique));
    for (size_t i = 0; i < NTEXTS; i++)
        memcpy((char *)v + texts[i].off, jv.text[i].s, jv.text[i].len); /* the memset left the NUL */
    return 0;
}

/* ---- segments ------------------------------------------------------------------ */

struct segment {
    uint64_t seq;
    uint64_t len; /* durable bytes */
    bool closed;  /* no more appends: the consumer moves on at its end */
};

struct journal {
    char *dir;
    uint64_t backlog_max;
    pthread_mutex_t lock; /* guards segs, nsegs, the counters' durable side */
    struct segment *segs; /* oldest first; the last one is the appender's */
    size_t nsegs;
    /* appender, under alock (held to encode a record, allocate a buffer or
     * hand buffers over, never for I/O): records go into cur; a full cur waits in
     * full[] (oldest first) until the syncer takes it. Every buffer is cur,
     * in full[], spare, or being written by the syncer. */
    pthread_mutex_t alock;
    struct jbuf {
        uint8_t *data;
        size_t len;
        uint64_t records;
    } cur, full[JOURNAL_BUFS_MAX];
    size_t nfull;
    uint8_t *spare[JOURNAL_BUFS_MAX];
    size_t nspare, nbufs;
    /* syncer: the current segment and the buffers it is writing */
    int fd;
    uint64_t written; /* bytes of the current segment written (not all durable) */
    struct jbuf taken[JOURNAL_BUFS_MAX];
    /* syncer: what the sync in progress (or the failed one) covers */
    struct {
        bool active, rotated, dir_synced;
        int fd;            /* the segment synced; closed after it when rotated */
        uint64_t seq, len; /* its length once synced */
        uint64_t records;
    } pend;
    /* consumer */
    int rfd;
    uint64_t rseq;
    struct journal_pos released; /* under lock */
    /* counters */
    _Atomic uint64_t appended, durable, backlog, backlog_bytes, lost;
};

static void seg_path(const struct journal *j, uint64_t seq, char *out, size_t cap)
{
    snprintf(out, cap, "%s/visits-%020" PRIu64 ".journal", j->dir, seq);
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Scans a segment left by an earlier run: its whole valid records from the
 * start, counted from `from` on; cuts off whatever follows them. */
static int recover_segment(struct journal *j, uint64_t seq, uint64_t from, struct segment *out, uint64_t *records)
{
    char path[4096];
    seg_path(j, seq, path, sizeof(path));
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -1;
    uint8_t *chunk = malloc(JOURNAL_BUF_BYTES);
    if (chunk == NULL) {
        close(fd);
        return -1;
    }
    uint64_t pos = 0, n = 0;
    size_t have = 0;
    ssize_t r;
    bool corrupt = false;
    while (!corrupt && (r = pread(fd, chunk + have, JOURNAL_BUF_BYTES - have, (off_t)(pos + have))) > 0) {
        have += (size_t)r;
        size_t off = 0;
        const uint8_t *body;
        size_t blen;
        int k;
        while ((k = journal_next(chunk, have, &off, &body, &blen)) == 1)
            n += pos + off > from;
        corrupt = k < 0;
        memmove(chunk, chunk + off, have - off);
        pos += off;
        have -= off;
    }
    free(chunk);
    struct stat sb;
    int rc = fstat(fd, &sb);
    if (rc == 0 && (uint64_t)sb.st_size > pos) {
        log_warn("journal: %s: cutting %" PRIu64 " bytes of a torn or corrupt tail", path, (uint64_t)sb.st_size - pos);
        rc = ftruncate(fd, (off_t)pos) == 0 && fsync(fd) == 0 ? 0 : -1;
    }
    close(fd);
    *out = (struct segment){.seq = seq, .len = pos, .closed = true};
    *records = n;
    return rc;
}

/* The appender's new segment; its name is made durable now (sync_dir) or
 * by the syncer before anything in it counts as durable. */
static int open_segment(struct journal *j, uint64_t seq, bool sync_dir)
{
    char path[4096];
    seg_path(j, seq, path, sizeof(path));
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || (sync_dir && fsync_dir(j->dir) != 0)) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    j->fd = fd;
    j->written = 0;
    return 0;
}

struct journal *journal_open(const char *dir, struct journal_pos applied, uint64_t backlog_max, char *err,
                             size_t errcap)
{
    struct journal *j = calloc(1, sizeof(*j));
    uint64_t *seqs = calloc(SEGMENTS_MAX, sizeof(*seqs));
    size_t nseqs = 0;
    DIR *d = NULL;
    if (j == NULL || seqs == NULL || (j->dir = strdup(dir)) == NULL ||
        (j->segs = calloc(SEGMENTS_MAX, sizeof(*j->segs))) == NULL) {
        snprintf(err, errcap, "out of memory");
        goto fail;
    }
    j->fd = j->rfd = -1;
    j->backlog_max = backlog_max;
    j->released = applied;
    pthread_mutex_init(&j->lock, NULL);
    pthread_mutex_init(&j->alock, NULL);
    if ((d = opendir(dir)) == NULL) {
        snprintf(err, errcap, "cannot read %s: %s", dir, strerror(errno));
        goto fail;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint64_t seq;
        char tail[16];
        if (sscanf(de->d_name, "visits-%20" SCNu64 ".%15s", &seq, tail) != 2 || strcmp(tail, "journal") != 0)
            continue;
        if (nseqs == SEGMENTS_MAX - 1) {
            snprintf(err, errcap, "%s holds more than %d journal segments", dir, SEGMENTS_MAX - 1);
            goto fail;
        }
        seqs[nseqs++] = seq;
    }
    qsort(seqs, nseqs, sizeof(*seqs), cmp_u64);
    uint64_t next = applied.seg + 1;
    for (size_t i = 0; i < nseqs; i++) {
        char path[4096];
        seg_path(j, seqs[i], path, sizeof(path));
        if (seqs[i] < applied.seg) { /* applied and released, but not yet deleted */
            unlink(path);
            continue;
        }
        uint64_t records;
        if (recover_segment(j, seqs[i], seqs[i] == applied.seg ? applied.off : 0, &j->segs[j->nsegs], &records) != 0) {
            snprintf(err, errcap, "cannot recover %s: %s", path, strerror(errno));
            goto fail;
        }
        j->backlog += records;
        j->backlog_bytes += j->segs[j->nsegs].len - (seqs[i] == applied.seg ? applied.off : 0);
        j->nsegs++;
        next = seqs[i] + 1;
    }
    if (j->backlog > 0)
        log_info("journal: %" PRIu64 " visits wait to be applied", (uint64_t)j->backlog);
    if (open_segment(j, next, true) != 0) {
        snprintf(err, errcap, "cannot create a journal segment in %s: %s", dir, strerror(errno));
        goto fail;
    }
    j->segs[j->nsegs++] = (struct segment){.seq = next};
    closedir(d);
    free(seqs);
    return j;
fail:
    if (d != NULL)
        closedir(d);
    free(seqs);
    journal_close(j);
    return NULL;
}

void journal_close(struct journal *j)
{
    if (j == NULL)
        return;
    if (j->fd >= 0)
        close(j->fd);
    if (j->pend.active && j->pend.rotated)
        close(j->pend.fd);
    if (j->rfd >= 0)
        close(j->rfd);
    if (j->segs != NULL) {
        pthread_mutex_destroy(&j->lock);
        pthread_mutex_destroy(&j->alock);
    }
    free(j->segs);
    free(j->cur.data);
    for (size_t i = 0; i < j->nfull; i++)
        free(j->full[i].data);
    for (size_t i = 0; i < j->nspare; i++)
        free(j->spare[i]);
    free(j->dir);
    free(j);
}

/* ---- appender ------------------------------------------------------------------ */

/* Under alock: a buffer for cur. 0, JOURNAL_FULL when all JOURNAL_BUFS_MAX
 * wait for the syncer, -1 when none can be allocated. */
static int take_spare(struct journal *j)
{
    if (j->nspare > 0) {
        j->cur.data = j->spare[--j->nspare];
        return 0;
    }
    if (j->nbufs == JOURNAL_BUFS_MAX)
        return JOURNAL_FULL;
    if ((j->cur.data = malloc(JOURNAL_BUF_BYTES)) == NULL)
        return -1;
    j->nbufs++;
    return 0;
}

int journal_append(struct journal *j, const struct store_visit *v)
{
    if (atomic_load(&j->backlog_bytes) + JOURNAL_RECORD_MAX > j->backlog_max)
        return JOURNAL_FULL;
    pthread_mutex_lock(&j->alock);
    if (j->cur.data != NULL && JOURNAL_BUF_BYTES - j->cur.len < JOURNAL_RECORD_MAX) {
        j->full[j->nfull++] = j->cur;
        j->cur = (struct jbuf){0};
    }
    int rc = j->cur.data != NULL ? 0 : take_spare(j);
    if (rc == 0) {
        size_t n = journal_encode(v, j->cur.data + j->cur.len);
        j->cur.len += n;
        j->cur.records++;
        atomic_fetch_add(&j->appended, 1);
        atomic_fetch_add(&j->backlog, 1);
        atomic_fetch_add(&j->backlog_bytes, n);
    }
    pthread_mutex_unlock(&j->alock);
    return rc;
}

/* Syncer: takes every buffer the appender filled (and the one it is
 * filling), writes them to the current segment with no lock held, and
 * hands them back; pend covers what they held. Past JOURNAL_SEGMENT_BYTES
 * appends move on to a new segment, so pend's segment is complete. 1, 0
 * when there is nothing to sync, -1 when the write failed (the segment is
 * cut back to whole records; those visits are lost, logged). */
static int write_unsynced(struct journal *j)
{
    size_t n = 0;
    pthread_mutex_lock(&j->alock);
    for (size_t i = 0; i < j->nfull; i++)
        j->taken[n++] = j->full[i];
    j->nfull = 0;
    if (j->cur.len > 0) {
        j->taken[n++] = j->cur;
        j->cur = (struct jbuf){0};
    }
    pthread_mutex_unlock(&j->alock);
    if (n == 0)
        return 0;
    uint64_t before = j->written, records = 0, bytes = 0;
    size_t done = 0;
    while (done < n && io_write_all(j->fd, j->taken[done].data, j->taken[done].len) == 0) {
        j->written += j->taken[done].len;
        done++;
    }
    int err = errno;
    for (size_t i = 0; i < n; i++) {
        records += j->taken[i].records;
        bytes += j->taken[i].len;
    }
    size_t kept = 0;
    pthread_mutex_lock(&j->alock);
    while (kept < n && j->nspare < JOURNAL_SPARES_KEPT)
        j->spare[j->nspare++] = j->taken[kept++].data;
    j->nbufs -= n - kept;
    pthread_mutex_unlock(&j->alock);
    for (size_t i = kept; i < n; i++)
        free(j->taken[i].data);
    if (done < n) {
        log_error("journal: write failed, %" PRIu64 " visits lost: %s", records, strerror(err));
        if (ftruncate(j->fd, (off_t)before) != 0 || lseek(j->fd, (off_t)before, SEEK_SET) < 0)
            log_error("journal: cannot cut a failed write back: %s", strerror(errno));
        j->written = before;
        atomic_fetch_sub(&j->backlog, records);
        atomic_fetch_sub(&j->backlog_bytes, bytes);
        atomic_fetch_add(&j->lost, records);
        return -1;
    }
    pthread_mutex_lock(&j->lock);
    uint64_t seq = j->segs[j->nsegs - 1].seq;
    bool room = j->nsegs < SEGMENTS_MAX;
    pthread_mutex_unlock(&j->lock);
    memset(&j->pend, 0, sizeof(j->pend));
    j->pend.active = true;
    j->pend.fd = j->fd;
    j->pend.seq = seq;
    j->pend.len = j->written;
    j->pend.records = records;
    if (j->written >= JOURNAL_SEGMENT_BYTES && room) {
        if (open_segment(j, seq + 1, false) == 0)
            j->pend.rotated = true;
        else
            log_error("journal: cannot start a new segment: %s", strerror(errno));
    }
    return 1;
}

int journal_sync(struct journal *j)
{
    if (!j->pend.active) {
        int taken = write_unsynced(j);
        if (taken <= 0)
            return taken;
    }
    /* A new segment's name must be durable before anything in it is. */
    if (j->pend.rotated && !j->pend.dir_synced) {
        if (fsync_dir(j->dir) != 0) {
            log_error("journal: cannot sync the data directory: %s", strerror(errno));
            return -1;
        }
        j->pend.dir_synced = true;
    }
    if (fdatasync(j->pend.fd) != 0) {
        log_error("journal: fdatasync failed: %s", strerror(errno));
        return -1;
    }
    pthread_mutex_lock(&j->lock);
    size_t i = j->nsegs - 1;
    while (j->segs[i].seq != j->pend.seq)
        i--;
    j->segs[i].len = j->pend.len;
    if (j->pend.rotated) {
        j->segs[i].closed = true;
        j->segs[j->nsegs++] = (struct segment){.seq = j->pend.seq + 1};
    }
    atomic_fetch_add(&j->durable, j->pend.records);
    pthread_mutex_unlock(&j->lock);
    if (j->pend.rotated)
        close(j->pend.fd);
    j->pend.active = false;
    return 0;
}

/* ---- consumer ------------------------------------------------------------------ */

/* The segment holding pos, moving pos past closed segments it has finished;
 * copies its state into *out. False when pos is past every durable byte. */
static bool locate(struct journal *j, struct journal_pos *pos, struct segment *out)
{
    bool found = false;
    pthread_mutex_lock(&j->lock);
    for (size_t i = 0; i < j->nsegs; i++) {
        struct segment *s = &j->segs[i];
        if (s->seq < pos->seg)
            continue;
        if (s->seq > pos->seg)
            *pos = (struct journal_pos){s->seq, 0};
        if (pos->off < s->len) {
            *out = *s;
            found = true;
            break;
        }
        if (!s->closed)
            break;
    }
    pthread_mutex_unlock(&j->lock);
    return found;
}

bool journal_has_after(struct journal *j, struct journal_pos pos)
{
    struct segment s;
    return locate(j, &pos, &s);
}

long journal_read(struct journal *j, struct journal_pos pos, uint8_t *buf, size_t cap, struct journal_pos *next)
{
    struct segment s;
    *next = pos;
    if (!locate(j, &pos, &s))
        return 0;
    *next = pos;
    if (j->rfd < 0 || j->rseq != s.seq) {
        if (j->rfd >= 0)
            close(j->rfd);
        char path[4096];
        seg_path(j, s.seq, path, sizeof(path));
        if ((j->rfd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
            log_error("journal: cannot open %s: %s", path, strerror(errno));
            return -1;
        }
        j->rseq = s.seq;
    }
    size_t want = s.len - pos.off < cap ? (size_t)(s.len - pos.off) : cap, have = 0;
    while (have < want) {
        ssize_t r = pread(j->rfd, buf + have, want - have, (off_t)(pos.off + have));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            log_error("journal: read of segment %" PRIu64 " failed: %s", s.seq, r < 0 ? strerror(errno) : "short");
            return -1;
        }
        have += (size_t)r;
    }
    size_t off = 0;
    const uint8_t *body;
    size_t blen;
    int k;
    while ((k = journal_next(buf, have, &off, &body, &blen)) == 1)
        ;
    if (k < 0) {
        /* Durable bytes that fail their check: the disk lost them. Skip to
         * the segment's end rather than stop recording visits for good. */
        log_error("journal: segment %" PRIu64 " is corrupt at offset %" PRIu64 "; skipping the rest of it", s.seq,
                  pos.off + off);
        *next = (struct journal_pos){s.seq, s.len};
        return (long)off;
    }
    next->off = pos.off + off;
    return (long)off;
}

void journal_release(struct journal *j, struct journal_pos pos, uint64_t records)
{
    uint64_t bytes = 0, gone[64];
    size_t ngone = 0;
    pthread_mutex_lock(&j->lock);
    for (size_t i = 0; i < j->nsegs; i++) {
        const struct segment *s = &j->segs[i];
        if (s->seq < j->released.seg || s->seq > pos.seg)
            continue;
        uint64_t from = s->seq == j->released.seg ? j->released.off : 0;
        uint64_t to = s->seq == pos.seg ? pos.off : s->len;
        bytes += to > from ? to - from : 0;
    }
    /* Closed segments wholly before pos go (a few at a time is plenty: a
     * pass reads within one segment). */
    while (ngone < j->nsegs - 1 && ngone < 64 && j->segs[ngone].closed && j->segs[ngone].seq < pos.seg) {
        gone[ngone] = j->segs[ngone].seq;
        ngone++;
    }
    memmove(j->segs, j->segs + ngone, (j->nsegs - ngone) * sizeof(*j->segs));
    j->nsegs -= ngone;
    j->released = pos;
    pthread_mutex_unlock(&j->lock);
    for (size_t i = 0; i < ngone; i++) {
        char path[4096];
        seg_path(j, gone[i], path, sizeof(path));
        if (j->rfd >= 0 && j->rseq == gone[i]) {
            close(j->rfd);
            j->rfd = -1;
        }
        if (unlink(path) != 0)
            log_warn("journal: cannot delete %s: %s", path, strerror(errno));
    }
    atomic_fetch_sub(&j->backlog, records);
    atomic_fetch_sub(&j->backlog_bytes, bytes);
}

void journal_counts(struct journal *j, struct journal_counts *out)
{
    out->appended = atomic_load(&j->appended);
    out->durable = atomic_load(&j->durable);
    out->backlog = atomic_load(&j->backlog);
    out->backlog_bytes = atomic_load(&j->backlog_bytes);
    out->lost = atomic_load(&j->lost);
}
