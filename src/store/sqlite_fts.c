/* sqlite_fts: the FTS5 query for a search text (see sqlite_fts.h). Pure;
 * thread-safe; no SQLite calls, so the fuzz target links it alone. */
#include "store/sqlite_fts.h"

#include <stdbool.h>

static bool word_char(unsigned char c)
{
    return c >= 0x80 || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

long sqlite_fts_query(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    const char *p = in;
    while (*p != '\0') {
        if (*p == ' ' || *p == '\t') {
            p++;
            continue;
        }
        const char *w = p;
        bool has_token = false;
        while (*p != '\0' && *p != ' ' && *p != '\t')
            has_token |= word_char((unsigned char)*p++);
        if (!has_token)
            continue; /* punctuation only: FTS5 would find no token in it */
        /* "word"* with inner quotes doubled: FTS5 tokenizes the string, so
         * punctuation inside (example.com) makes a phrase, and * makes its
         * last token a prefix */
        if (o + (o > 0) + 1 > cap)
            return -1;
        if (o > 0)
            out[o++] = ' ';
        out[o++] = '"';
        for (; w < p; w++) {
            if (o + 2 + 2 > cap)
                return -1;
            if (*w == '"')
                out[o++] = '"';
            out[o++] = *w;
        }
        out[o++] = '"';
        out[o++] = '*';
    }
    if (o >= cap)
        return -1;
    out[o] = '\0';
    return (long)o;
}
