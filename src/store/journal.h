/* journal: the SQLite store's visit journal, a write-ahead log of enriched
 * visits in segment files (DATA/visits-<n>.journal).
 *
 * Why: a visit must be durable within the flush window, but folding it
 * into rollups costs B-tree writes on rows spread over every link, which
 * is cheap per visit only in large batches. The journal separates the two:
 * the sink appends visits (encoded into megabyte buffers in memory) and
 * syncs once per flush window (its syncer thread writes the buffers out
 * and makes one fdatasync of sequential bytes), which is what makes them
 * durable; the writer thread folds durable visits into the
 * database in passes as large as the backlog, and stores the journal
 * position it reached in the same transaction, so after a crash each
 * visit is applied exactly once. Segments wholly applied are deleted.
 *
 * Record: u32 body length, u32 CRC of the body, body (little-endian):
 *   u8 version (2: the CRC is CRC-32C; 1, written before, zlib's CRC-32
 *   and otherwise the same), i64 ts, link_id, team_id, domain_id, u8 kind,
 *   u8 flags (1 bot, 2 detail, 4 has_unique), i16 browser_major,
 *   [16] unique (if has_unique), and if detail the text fields of struct
 *   store_visit, each as u16 length + bytes (no NUL, shorter than the
 *   field). A torn or corrupt tail is cut off when the journal is opened.
 *
 * Threading: one appender thread (journal_append) and one syncer thread
 * (journal_sync; it may be the appender's). The appender makes no system
 * call: the syncer writes and syncs without holding what appends need, so
 * appends go on meanwhile, into up to 64 buffers (~350,000 visits); past
 * that they are refused (JOURNAL_FULL) until a sync frees some. One
 * consumer thread (journal_read, journal_release); the counters from any
 * thread; open/close while none of them runs. The record codec
 * (journal_encode, _next, _step, _view, _decode) is pure (any thread). */
#ifndef LP_STORE_JOURNAL_H
#define LP_STORE_JOURNAL_H

#include "store/store.h"

#include <stddef.h>
#include <stdint.h>

#define JOURNAL_RECORD_MAX 4096                    /* bytes of one record, header included */
#define JOURNAL_SEGMENT_BYTES ((uint64_t)64 << 20) /* a segment is closed past this */
#define JOURNAL_FULL 1                             /* journal_append: the backlog or the buffers are full */

struct journal_pos {
    uint64_t seg, off;
};

struct journal_counts {
    uint64_t appended; /* records appended since open */
    uint64_t durable;  /* of them, synced */
    uint64_t backlog;  /* durable or buffered records not yet released by the consumer */
    uint64_t backlog_bytes;
    uint64_t lost; /* appended records a failed write lost */
};

struct journal;

/* Opens the journal in dir, resuming after `applied` (the position the
 * consumer last released, as stored with the data it applied): deletes
 * older segments, cuts torn tails, counts the backlog, and starts a new
 * segment for appends. backlog_max caps the bytes waiting to be applied.
 * NULL with a message in err on failure. */
struct journal *journal_open(const char *dir, struct journal_pos applied, uint64_t backlog_max, char *err,
                             size_t errcap);
void journal_close(struct journal *j);

/* Appender. 0, JOURNAL_FULL (the visit is not taken: the backlog is at its
 * cap, or every buffer waits for a sync), or -1 (out of memory). */
int journal_append(struct journal *j, const struct store_visit *v);
/* Makes every record appended before the call durable and readable; 0, or
 * -1: a failed fdatasync is retried by the next call; the records of a
 * failed write are lost (counted in journal_counts.lost). */
int journal_sync(struct journal *j);

/* Consumer. Copies durable records that follow pos into buf (cap bytes,
 * at least JOURNAL_RECORD_MAX): returns the number of bytes (0 when there
 * is nothing new) and sets *next to the position after the last whole
 * record copied. Records never span segments. -1 on I/O error. */
long journal_read(struct journal *j, struct journal_pos pos, uint8_t *buf, size_t cap, struct journal_pos *next);
/* The consumer has made everything before pos durable elsewhere: older
 * segments are deleted and the backlog shrinks by `records`. */
void journal_release(struct journal *j, struct journal_pos pos, uint64_t records);
/* True when durable records follow pos. */
bool journal_has_after(struct journal *j, struct journal_pos pos);

void journal_counts(struct journal *j, struct journal_counts *out);

/* Record codec. journal_encode writes the whole record (header included)
 * and returns its length (at most JOURNAL_RECORD_MAX). journal_next walks
 * records in buf[0..len) from *off: 1 with the body, 0 when no whole
 * record is left, -1 when the record at *off is corrupt. journal_step is
 * journal_next without the CRC, for bytes journal_read returned (it has
 * checked them). journal_decode fills v from a body; 0 or -1. */
size_t journal_encode(const struct store_visit *v, uint8_t *out);
/* The text fields of a record, in their order in the body. */
enum journal_text {
    JT_IP,
    JT_COUNTRY,
    JT_CITY,
    JT_REFERRER_HOST,
    JT_REFERRER,
    JT_BROWSER,
    JT_OS,
    JT_DEVICE,
    JT_LANGUAGE,
    JT_UTM, /* five: source, medium, campaign, term, content */
    JT_VISITED_URL = JT_UTM + 5,
    JT_TARGET_URL,
    JOURNAL_TEXTS
};
/* A record read in place: the texts point into the body (not
 * NUL-terminated; "" and 0 when empty or not a detail record) and unique
 * at its 16 bytes (NULL without one). journal_view checks what
 * journal_decode checks (0 or -1) and copies nothing. */
struct journal_view {
    int64_t ts, link_id, team_id, domain_id;
    enum store_visit_kind kind;
    bool bot, detail, has_unique;
    int browser_major;
    const uint8_t *unique;
    struct {
        const char *s;
        uint16_t len;
    } text[JOURNAL_TEXTS];
};
int journal_view(const uint8_t *body, size_t len, struct journal_view *v);
int journal_next(const uint8_t *buf, size_t len, size_t *off, const uint8_t **body, size_t *body_len);
int journal_step(const uint8_t *buf, size_t len, size_t *off, const uint8_t **body, size_t *body_len);
int journal_decode(const uint8_t *body, size_t len, struct store_visit *v);

#endif
