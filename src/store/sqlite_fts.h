/* sqlite_fts: turns a user's search text into an FTS5 MATCH expression for
 * links_fts (sqlite_find.c). Pure; thread-safe. Each whitespace-separated
 * word becomes a quoted string with a prefix star ("word"*), inner quotes
 * doubled, so no input can reach FTS5's query syntax (NEAR, OR, column
 * filters); words are ANDed; words without a letter or digit are dropped. */
#ifndef LP_STORE_SQLITE_FTS_H
#define LP_STORE_SQLITE_FTS_H

#include <stddef.h>

/* The expression into out (NUL-terminated): its length (0: no word), or -1
 * if it does not fit in cap. */
long sqlite_fts_query(const char *in, char *out, size_t cap);

#endif
