#include "analytics/geoip.h"

#include "util/utf8.h"

#include <errno.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

/* geoip_open decodes this many data records in full. Enough to find a
 * record with a country in real databases (the first few IPv4 blocks of
 * GeoLite2 and DB-IP all have one) while keeping open instant. */
#define GEOIP_PROBE_RECORDS 16
/* Search-tree nodes geoip_open visits at most looking for those records. A
 * depth-first walk reaches a leaf every <= 128 nodes, so this is only a
 * guard against a tree made of nothing but empty leaves. */
#define GEOIP_PROBE_NODES_MAX 65536
/* Deepest search tree (IPv6: one level per address bit). */
#define GEOIP_DEPTH_MAX 128

struct geoip {
    MMDB_s db;
};

/* A pending node of the walk and the address bits that lead to it. */
struct walk_item {
    uint32_t node;
    uint16_t depth;
    uint8_t path[16];
};

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t errcap, const char *fmt, ...)
{
    if (err == NULL || errcap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errcap, fmt, ap);
    va_end(ap);
}

/* The valid UTF-8 prefix of s[0..n) that fits in cap - 1 bytes, cut at a
 * character boundary; -1 if s is not valid UTF-8 or holds control
 * characters. City names end up in JSON (jansson refuses invalid UTF-8) and
 * in CSV exports, and libmaxminddb does not check them. */
static ssize_t utf8_fit(const unsigned char *s, size_t n, size_t cap)
{
    size_t keep = 0;
    for (size_t i = 0; i < n;) {
        int len = utf8_seq(s + i, n - i);
        if (len <= 0 || (len == 1 && (s[i] < 0x20 || s[i] == 0x7f)))
            return -1;
        i += (size_t)len;
        if (i < cap)
            keep = i;
    }
    return (ssize_t)keep;
}

/* A string at path under entry, or has_data false when the record has no
 * such key (libmaxminddb says so with LOOKUP_PATH_DOES_NOT_MATCH_DATA, which
 * is not an error here: Country databases have no "city"). MMDB_SUCCESS or
 * the MMDB_* error of corrupt data. */
static int get_string(MMDB_entry_s *entry, MMDB_entry_data_s *d, const char *const *path)
{
    int rc = MMDB_aget_value(entry, d, path);
    if (rc == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR) {
        d->has_data = false;
        return MMDB_SUCCESS;
    }
    if (rc != MMDB_SUCCESS)
        return rc;
    if (d->has_data && d->type != MMDB_DATA_TYPE_UTF8_STRING)
        d->has_data = false; /* a number where a name belongs: unknown, as the type is the database's bug */
    return MMDB_SUCCESS;
}

static const char *const country_path[] = {"country", "iso_code", NULL};
static const char *const city_path[] = {"city", "names", "en", NULL};

/* Fills out from one record; MMDB_SUCCESS or the MMDB_* error. */
static int read_record(MMDB_entry_s *entry, struct geoip_result *out)
{
    MMDB_entry_data_s d;
    int rc = get_string(entry, &d, country_path);
    if (rc != MMDB_SUCCESS)
        return rc;
    /* Only two capital letters: the code is stored and shown as is. */
    if (d.has_data && d.data_size == 2 && d.utf8_string[0] >= 'A' && d.utf8_string[0] <= 'Z' &&
        d.utf8_string[1] >= 'A' && d.utf8_string[1] <= 'Z') {
        memcpy(out->country, d.utf8_string, 2);
        out->country[2] = '\0';
    }
    rc = get_string(entry, &d, city_path);
    if (rc != MMDB_SUCCESS)
        return rc;
    if (d.has_data) {
        ssize_t n = utf8_fit((const unsigned char *)d.utf8_string, d.data_size, sizeof(out->city));
        if (n > 0) {
            memcpy(out->city, d.utf8_string, (size_t)n);
            out->city[n] = '\0';
        }
    }
    return MMDB_SUCCESS;
}

int geoip_lookup(const struct geoip *g, const struct ipaddr *ip, struct geoip_result *out)
{
    out->country[0] = '\0';
    out->city[0] = '\0';
    struct sockaddr_in sin = {.sin_family = AF_INET};
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
    const struct sockaddr *sa;
    if (ip->family == 4) {
        memcpy(&sin.sin_addr, ip->bytes, 4);
        sa = (const struct sockaddr *)&sin;
    } else if (ip->family == 6) {
        /* libmaxminddb refuses these outright; the database just has no
         * data for them. */
        if (g->db.metadata.ip_version == 4)
            return 0;
        memcpy(sin6.sin6_addr.s6_addr, ip->bytes, 16);
        sa = (const struct sockaddr *)&sin6;
    } else {
        return -1;
    }
    int mmdb_err = MMDB_SUCCESS;
    MMDB_lookup_result_s res = MMDB_lookup_sockaddr(&g->db, sa, &mmdb_err);
    if (mmdb_err != MMDB_SUCCESS)
        return -1;
    if (!res.found_entry)
        return 0;
    if (read_record(&res.entry, out) != MMDB_SUCCESS) {
        /* Nothing half-read: a country from a record whose city is corrupt
         * is not to be trusted either. */
        out->country[0] = '\0';
        out->city[0] = '\0';
        return -1;
    }
    return 0;
}

/* The address whose lookup lands on the record reached by path after depth
 * + 1 bits. */
static struct ipaddr path_addr(const MMDB_s *db, const uint8_t path[16])
{
    struct ipaddr a = {.family = db->metadata.ip_version == 4 ? 4 : 6};
    memcpy(a.bytes, path, a.family == 4 ? 4 : 16);
    return a;
}

/* Walks the search tree depth first, lowest addresses first, and checks the
 * first GEOIP_PROBE_RECORDS data records: each must decode in full, one must
 * have a country, and looking that one up by its address through
 * geoip_lookup must give the same answer. 0, or -1 with err set. */
static int probe(struct geoip *g, const char *path, char *err, size_t errcap)
{
    const MMDB_s *db = &g->db;
    struct walk_item stack[GEOIP_DEPTH_MAX + 2];
    size_t top = 0;
    stack[top++] = (struct walk_item){.node = 0, .depth = 0};
    size_t records = 0, visited = 0;
    bool found_country = false;
    struct geoip_result want = {{0}, {0}};
    struct ipaddr want_addr = {0};

    while (top > 0 && records < GEOIP_PROBE_RECORDS && visited < GEOIP_PROBE_NODES_MAX) {
        struct walk_item it = stack[--top];
        visited++;
        MMDB_search_node_s node;
        int rc = MMDB_read_node(db, it.node, &node);
        if (rc != MMDB_SUCCESS) {
            set_err(err, errcap, "%s: corrupt database: %s", path, MMDB_strerror(rc));
            return -1;
        }
        /* Right first onto the stack so the left (lower) half is walked
         * first. */
        for (int bit = 1; bit >= 0; bit--) {
            uint8_t type = bit ? node.right_record_type : node.left_record_type;
            struct walk_item child = it;
            if (bit)
                child.path[it.depth / 8] |= (uint8_t)(0x80u >> (it.depth % 8));
            if (type == MMDB_RECORD_TYPE_EMPTY)
                continue;
            if (type == MMDB_RECORD_TYPE_SEARCH_NODE) {
                if (it.depth + 1 >= db->depth || it.depth + 1 >= GEOIP_DEPTH_MAX || top >= GEOIP_DEPTH_MAX + 2) {
                    set_err(err, errcap, "%s: corrupt database: search tree deeper than an address is long", path);
                    return -1;
                }
                child.node = (uint32_t)(bit ? node.right_record : node.left_record);
                child.depth = (uint16_t)(it.depth + 1);
                stack[top++] = child;
                continue;
            }
            if (type != MMDB_RECORD_TYPE_DATA) {
                set_err(err, errcap, "%s: corrupt database: %s", path, MMDB_strerror(MMDB_CORRUPT_SEARCH_TREE_ERROR));
                return -1;
            }
            if (records >= GEOIP_PROBE_RECORDS)
                continue;
            records++;
            MMDB_entry_s entry = bit ? node.right_record_entry : node.left_record_entry;
            /* Decoding everything is what finds a bad value anywhere in the
             * record; a path lookup only decodes what it passes through. */
            MMDB_entry_data_list_s *list = NULL;
            rc = MMDB_get_entry_data_list(&entry, &list);
            MMDB_free_entry_data_list(list);
            struct geoip_result r = {{0}, {0}};
            if (rc == MMDB_SUCCESS)
                rc = read_record(&entry, &r);
            if (rc != MMDB_SUCCESS) {
                set_err(err, errcap, "%s: corrupt database: %s", path, MMDB_strerror(rc));
                return -1;
            }
            if (!found_country && r.country[0] != '\0') {
                found_country = true;
                want = r;
                want_addr = path_addr(db, child.path);
            }
        }
    }
    if (!found_country) {
        const char *type = db->metadata.database_type != NULL ? db->metadata.database_type : "unknown";
        set_err(err, errcap, "%s: no country data in this database (type \"%s\"); a country or city database is needed",
                path, type);
        return -1;
    }
    struct geoip_result got;
    if (geoip_lookup(g, &want_addr, &got) != 0 || strcmp(got.country, want.country) != 0 ||
        strcmp(got.city, want.city) != 0) {
        set_err(err, errcap, "%s: corrupt database: a test lookup did not find the record it should", path);
        return -1;
    }
    return 0;
}

struct geoip *geoip_open(const char *path, char *err, size_t errcap)
{
    if (path == NULL || path[0] == '\0') {
        set_err(err, errcap, "no database path given");
        return NULL;
    }
    struct geoip *g = calloc(1, sizeof(*g));
    if (g == NULL) {
        set_err(err, errcap, "%s: out of memory", path);
        return NULL;
    }
    /* MMDB_open on a directory or a device fails in mmap with an errno
     * that says nothing useful ("No such device"), so ask first. */
    struct stat st;
    if (stat(path, &st) != 0) {
        set_err(err, errcap, "cannot open %s: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        set_err(err, errcap, "cannot open %s: not a regular file", path);
        goto fail;
    }
    errno = 0;
    int rc = MMDB_open(path, MMDB_MODE_MMAP, &g->db);
    int saved_errno = errno;
    if (rc != MMDB_SUCCESS) {
        if ((rc == MMDB_FILE_OPEN_ERROR || rc == MMDB_IO_ERROR) && saved_errno != 0)
            set_err(err, errcap, "cannot open %s: %s", path, strerror(saved_errno));
        else if (rc == MMDB_INVALID_METADATA_ERROR || rc == MMDB_UNKNOWN_DATABASE_FORMAT_ERROR)
            set_err(err, errcap, "%s: not a MaxMind DB file: %s", path, MMDB_strerror(rc));
        else
            set_err(err, errcap, "%s: cannot open database: %s", path, MMDB_strerror(rc));
        goto fail; /* MMDB_open released what it had */
    }
    if (probe(g, path, err, errcap) != 0) {
        MMDB_close(&g->db);
        goto fail;
    }
    return g;
fail:
    free(g);
    return NULL;
}

void geoip_close(struct geoip *g)
{
    if (g == NULL)
        return;
    MMDB_close(&g->db);
    free(g);
}
