/* import: reads the link exports of other shorteners (and our own CSV) into
 * rows of link fields (issue 4). Pure: bytes in, rows out through a
 * callback, no I/O; thread-safe. Nothing here validates a URL or a code:
 * each row goes through the same checks as an API create.
 *
 * Formats (the files each tool writes are described in docs/API.md):
 * - csv:    our own export and hand-made sheets; header row with url
 *           (required), code or slug, title, tags ('|'-separated), note,
 *           created_at (RFC 3339), visits
 * - yourls: the yourls_url table as CSV: keyword, url, title, timestamp
 *           ("YYYY-MM-DD HH:MM:SS", UTC), clicks (ip ignored)
 * - shlink: the web client's CSV export: shortCode, longUrl, title, tags
 *           ('|'), createdAt (ISO 8601), visits (domain, shortUrl ignored)
 * - kutt:   the API's JSON (GET /api/v2/links): {"data": [...]} or an array
 *           of {address, target, description, visit_count, created_at}
 * - bitly:  the API's JSON (GET /v4/groups/{guid}/bitlinks): {"links":
 *           [{id|link, long_url, title, created_at, tags}]}, or a CSV with
 *           link (or bitlink), long_url, title, created_at, tags, clicks
 * Headers match without case; unknown columns are ignored. */
#ifndef LP_CORE_IMPORT_H
#define LP_CORE_IMPORT_H

#include "core/link.h"

#include <stddef.h>
#include <stdint.h>

#define IMPORT_ROWS_MAX 1000000 /* a file with more rows is refused */
#define IMPORT_FIELD_MAX 8192   /* bytes of one field */

enum import_format { IMPORT_CSV, IMPORT_YOURLS, IMPORT_SHLINK, IMPORT_KUTT, IMPORT_BITLY };

/* One row. Strings are NUL-terminated and valid during the callback only;
 * NULL when the file has no such field. tags holds ntags names, cut at the
 * format's separator and trimmed. created_at: Unix ms, 0 when absent;
 * visits: -1 when absent, -2 when not a count. date_bad: the row had a date
 * that did not parse. Our own CSV export guards cells that a spreadsheet
 * would run as a formula (=, +, -, @ first) with a leading '; it is removed. */
struct import_row {
    size_t line; /* 1-based line (CSV) or item number (JSON) */
    const char *url, *code, *title, *note;
    unsigned ntags;
    const char *tags[LINK_TAGS_MAX + 1]; /* one more than a link may hold: the check then says "too many" */
    int64_t created_at;
    int64_t visits;
    bool date_bad;
};

typedef int (*import_row_cb)(void *ctx, const struct import_row *row);

/* "csv", "yourls", ... -> 0 and *out, else -1. */
int import_format_parse(const char *name, size_t len, enum import_format *out);
const char *import_format_name(enum import_format f);

/* Calls cb for each row of data[0..len); a cb returning non-zero stops.
 * Returns the number of rows, or -1 with a reason in err (not CSV, no url
 * column, not the JSON this format exports, too many rows). */
long import_parse(enum import_format f, const char *data, size_t len, import_row_cb cb, void *ctx, char *err,
                  size_t errcap);

#endif
