#include "core/import.h"

#include "util/rfc3339.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CSV_FIELDS_MAX 64
#define CSV_RECORD_MAX (64 * 1024)

static const char *const format_names[] = {"csv", "yourls", "shlink", "kutt", "bitly"};

int import_format_parse(const char *name, size_t len, enum import_format *out)
{
    for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++)
        if (strlen(format_names[i]) == len && memcmp(format_names[i], name, len) == 0) {
            *out = (enum import_format)i;
            return 0;
        }
    return -1;
}

const char *import_format_name(enum import_format f)
{
    return format_names[f];
}

/* ---- fields shared by every format ---- */

/* Dates as the tools write them: RFC 3339, "YYYY-MM-DD HH:MM:SS" (UTC),
 * "+0000" offsets without a colon, a bare date. */
static bool parse_date(const char *s, int64_t *out)
{
    char buf[48];
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    if (n < 10 || n > 40)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (n == 10) { /* a date */
        memcpy(buf + 10, "T00:00:00Z", 11);
        n += 10;
    } else if (n == 19) { /* no zone: UTC */
        memcpy(buf + 19, "Z", 2);
        n++;
    } else if (n > 5 && (buf[n - 5] == '+' || buf[n - 5] == '-') && buf[n - 3] != ':') { /* +0000 */
        memmove(buf + n - 1, buf + n - 2, 3);
        buf[n - 2] = ':';
        n++;
    }
    int64_t ms;
    if (rfc3339_parse(buf, n, &ms) != 0 || ms <= 0)
        return false;
    *out = ms;
    return true;
}

static bool parse_count(const char *s, int64_t *out)
{
    int64_t v = 0;
    size_t i = 0;
    while (s[i] == ' ')
        i++;
    if (s[i] < '0' || s[i] > '9')
        return false;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        if (v > (INT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (s[i] - '0');
    }
    while (s[i] == ' ')
        i++;
    if (s[i] != '\0')
        return false;
    *out = v;
    return true;
}

/* The tag in t without its leading and trailing spaces: where it starts
 * (returned) and its length (*n; 0 for none). */
static const char *tag_trim(const char *t, size_t *n)
{
    while (*t == ' ')
        t++;
    *n = strlen(t);
    while (*n > 0 && t[*n - 1] == ' ')
        (*n)--;
    return t;
}

/* Cuts s (modified in place) at any of seps into row->tags, trimmed. */
static void split_tags(char *s, const char *seps, struct import_row *row)
{
    char *save = NULL;
    for (char *t = strtok_r(s, seps, &save); t != NULL; t = strtok_r(NULL, seps, &save)) {
        size_t n;
        t += tag_trim(t, &n) - t; /* the trimmed tag starts within t, which is ours to cut */
        t[n] = '\0';
        if (n > 0 && row->ntags <= LINK_TAGS_MAX)
            row->tags[row->ntags++] = t;
    }
}

/* The code of a short link "https://bit.ly/abc?x" or "bit.ly/abc": "abc". */
static const char *code_of_link(const char *link, char *buf, size_t cap)
{
    const char *end = link + strcspn(link, "?#");
    while (end > link && end[-1] == '/')
        end--;
    const char *start = end;
    while (start > link && start[-1] != '/')
        start--;
    size_t n = (size_t)(end - start);
    if (n == 0 || n >= cap || start == link) /* no '/': not a short link */
        return NULL;
    memcpy(buf, start, n);
    buf[n] = '\0';
    return buf;
}

/* ---- CSV (RFC 4180: quotes, doubled quotes, CRLF or LF, a leading BOM) ---- */

struct csv {
    const char *p, *end;
    size_t line;
};

/* The next record's fields, unquoted into buf; its field count, 0 at the
 * end of the data, -1 if malformed or too big. */
static int csv_record(struct csv *c, char *buf, char **fields)
{
    if (c->p >= c->end)
        return 0;
    size_t o = 0;
    int nf = 0;
    fields[nf++] = buf;
    bool quoted = false, was_quoted = false;
    c->line++;
    while (c->p < c->end) {
        char ch = *c->p++;
        if (quoted) {
            if (ch == '"') {
                if (c->p < c->end && *c->p == '"') {
                    c->p++;
                } else {
                    quoted = false;
                    continue;
                }
            } else if (ch == '\n') {
                c->line++;
            }
        } else if (ch == '"' && !was_quoted && (o == 0 || buf[o - 1] == '\0')) {
            quoted = was_quoted = true;
            continue;
        } else if (ch == ',' || ch == '\n' || ch == '\r') {
            if (ch == '\r' && c->p < c->end && *c->p == '\n')
                c->p++;
            if (o + 1 > CSV_RECORD_MAX)
                return -1;
            buf[o++] = '\0';
            if (ch != ',')
                return nf;
            if (nf == CSV_FIELDS_MAX)
                return -1;
            fields[nf++] = buf + o;
            was_quoted = false;
            continue;
        } else if (was_quoted) {
            return -1; /* text after a closing quote */
        }
        if (ch == '\0' || o + 2 > CSV_RECORD_MAX)
            return -1;
        buf[o++] = ch;
    }
    if (quoted)
        return -1; /* an unclosed quote */
    buf[o] = '\0';
    return nf;
}

enum role { R_NONE, R_URL, R_CODE, R_TITLE, R_TAGS, R_NOTE, R_CREATED, R_VISITS, R_LINK };

struct alias {
    const char *name;
    enum role role;
};

static const struct alias csv_aliases[] = {
    {"url", R_URL},   {"code", R_CODE},          {"slug", R_CODE},     {"title", R_TITLE},         {"tags", R_TAGS},
    {"note", R_NOTE}, {"created_at", R_CREATED}, {"visits", R_VISITS}, {"visits_total", R_VISITS}, {NULL, R_NONE},
};
static const struct alias yourls_aliases[] = {
    {"keyword", R_CODE},      {"url", R_URL},       {"title", R_TITLE},
    {"timestamp", R_CREATED}, {"clicks", R_VISITS}, {NULL, R_NONE},
};
static const struct alias shlink_aliases[] = {
    {"shortcode", R_CODE},    {"longurl", R_URL},   {"title", R_TITLE}, {"tags", R_TAGS},
    {"createdat", R_CREATED}, {"visits", R_VISITS}, {NULL, R_NONE},
};
static const struct alias bitly_aliases[] = {
    {"link", R_LINK},           {"bitlink", R_LINK},    {"long_url", R_URL}, {"title", R_TITLE},
    {"created_at", R_CREATED},  {"created", R_CREATED}, {"tags", R_TAGS},    {"clicks", R_VISITS},
    {"total_clicks", R_VISITS}, {NULL, R_NONE},
};

/* Our export writes '=x as =x's guard against spreadsheet formulas. */
static char *unguard(char *v)
{
    return v[0] == '\'' && strchr("=+-@", v[1]) != NULL && v[1] != '\0' ? v + 1 : v;
}

static long parse_csv(enum import_format f, const char *data, size_t len, import_row_cb cb, void *ctx, char *err,
                      size_t errcap)
{
    const struct alias *aliases = f == IMPORT_YOURLS   ? yourls_aliases
                                  : f == IMPORT_SHLINK ? shlink_aliases
                                  : f == IMPORT_BITLY  ? bitly_aliases
                                                       : csv_aliases;
    const char *seps = f == IMPORT_BITLY ? "|,;" : "|,";
    struct csv c = {data, data + len, 0};
    if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
        c.p += 3;
    char *buf = malloc(CSV_RECORD_MAX + 1);
    if (buf == NULL) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    char *fields[CSV_FIELDS_MAX];
    enum role roles[CSV_FIELDS_MAX];
    long rows = -1;
    int nh = csv_record(&c, buf, fields);
    if (nh <= 0) {
        snprintf(err, errcap, nh == 0 ? "the file is empty" : "line 1 is not a CSV header");
        goto out;
    }
    bool has_url = false;
    for (int i = 0; i < nh; i++) {
        roles[i] = R_NONE;
        for (const struct alias *a = aliases; a->name != NULL; a++)
            if (strcasecmp(fields[i], a->name) == 0)
                roles[i] = a->role;
        has_url |= roles[i] == R_URL;
    }
    if (!has_url) {
        snprintf(err, errcap, "the header has no %s column (a %s export?)",
                 f == IMPORT_SHLINK  ? "longUrl"
                 : f == IMPORT_BITLY ? "long_url"
                                     : "url",
                 import_format_name(f));
        goto out;
    }
    rows = 0;
    for (;;) {
        size_t line = c.line + 1;
        int nf = csv_record(&c, buf, fields);
        if (nf == 0)
            break;
        if (nf < 0) {
            snprintf(err, errcap, "line %zu is not valid CSV (quotes, or a record over 64 KiB)", line);
            rows = -1;
            break;
        }
        if (nf == 1 && fields[0][0] == '\0')
            continue; /* a blank line */
        if (++rows > IMPORT_ROWS_MAX) {
            snprintf(err, errcap, "more than %d rows", IMPORT_ROWS_MAX);
            rows = -1;
            break;
        }
        struct import_row row = {.line = line, .visits = -1};
        char codebuf[LINK_CODE_MAX + 2];
        for (int i = 0; i < nf && i < nh; i++) {
            char *v = fields[i];
            if (v[0] == '\0')
                continue;
            switch (roles[i]) {
            case R_URL:
                row.url = v;
                break;
            case R_CODE:
                row.code = v;
                break;
            case R_LINK:
                if (row.code == NULL)
                    row.code = code_of_link(v, codebuf, sizeof(codebuf));
                break;
            case R_TITLE:
                row.title = unguard(v);
                break;
            case R_NOTE:
                row.note = unguard(v);
                break;
            case R_TAGS:
                split_tags(unguard(v), seps, &row);
                break;
            case R_CREATED:
                row.date_bad = !parse_date(v, &row.created_at);
                break;
            case R_VISITS:
                if (!parse_count(v, &row.visits))
                    row.visits = -2;
                break;
            default:
                break;
            }
        }
        if (cb(ctx, &row) != 0)
            break;
    }
out:
    free(buf);
    return rows;
}

/* ---- JSON (kutt, bitly) ---- */

/* A non-empty string member, or NULL (empty means absent, as in CSV). */
static const char *str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) && json_string_length(v) > 0 ? json_string_value(v) : NULL;
}

static long parse_json(enum import_format f, const char *data, size_t len, import_row_cb cb, void *ctx, char *err,
                       size_t errcap)
{
    json_error_t jerr;
    json_t *doc = json_loadb(data, len, 0, &jerr);
    if (doc == NULL) {
        snprintf(err, errcap, "not JSON: %s (line %d)", jerr.text, jerr.line);
        return -1;
    }
    json_t *items = json_is_array(doc) ? doc : json_object_get(doc, f == IMPORT_KUTT ? "data" : "links");
    if (!json_is_array(items)) {
        snprintf(err, errcap,
                 f == IMPORT_KUTT ? "expected Kutt's {\"data\": [...]} or an array of links"
                                  : "expected Bitly's {\"links\": [...]} or an array of bitlinks");
        json_decref(doc);
        return -1;
    }
    if (json_array_size(items) > IMPORT_ROWS_MAX) {
        snprintf(err, errcap, "more than %d rows", IMPORT_ROWS_MAX);
        json_decref(doc);
        return -1;
    }
    size_t i;
    json_t *it;
    long rows = 0;
    json_array_foreach(items, i, it)
    {
        struct import_row row = {.line = i + 1, .visits = -1};
        char codebuf[LINK_CODE_MAX + 2];
        rows++;
        if (json_is_object(it)) {
            const char *created = str(it, "created_at");
            if (created != NULL)
                row.date_bad = !parse_date(created, &row.created_at);
            if (f == IMPORT_KUTT) {
                row.code = str(it, "address");
                row.url = str(it, "target");
                row.title = str(it, "description");
                json_t *vc = json_object_get(it, "visit_count");
                row.visits = json_is_integer(vc) && json_integer_value(vc) >= 0 ? json_integer_value(vc)
                             : vc != NULL                                       ? -2
                                                                                : -1;
            } else {
                const char *link = str(it, "id") ? str(it, "id") : str(it, "link");
                row.code = link ? code_of_link(link, codebuf, sizeof(codebuf)) : NULL;
                row.url = str(it, "long_url");
                row.title = str(it, "title");
                json_t *tags = json_object_get(it, "tags");
                size_t k;
                json_t *t;
                json_array_foreach(tags, k, t)
                {
                    size_t n;
                    const char *v = json_is_string(t) ? tag_trim(json_string_value(t), &n) : NULL;
                    /* trimmed as the CSV's are: the document is ours, so the string is set to the tag */
                    if (v != NULL && n > 0 && row.ntags <= LINK_TAGS_MAX && json_string_setn(t, v, n) == 0)
                        row.tags[row.ntags++] = json_string_value(t);
                }
            }
        }
        if (cb(ctx, &row) != 0)
            break;
    }
    json_decref(doc);
    return rows;
}

long import_parse(enum import_format f, const char *data, size_t len, import_row_cb cb, void *ctx, char *err,
                  size_t errcap)
{
    if (f == IMPORT_KUTT)
        return parse_json(f, data, len, cb, ctx, err, errcap);
    if (f == IMPORT_BITLY) {
        size_t i = 0;
        while (i < len && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t'))
            i++;
        if (i < len && (data[i] == '{' || data[i] == '['))
            return parse_json(f, data, len, cb, ctx, err, errcap);
    }
    return parse_csv(f, data, len, cb, ctx, err, errcap);
}
