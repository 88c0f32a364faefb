/* jsonw: JSON text written straight into a buffer, for the API's answers
 * that carry links (one link, a page of them, an export), where building a
 * jansson tree and serialising it cost a worker more instructions than the
 * rest of the request (docs/PERFORMANCE.md, "The API's JSON").
 *
 * The text is what jansson writes with JSON_COMPACT for the same values:
 * no spaces; '"', '\\' and the control characters escaped (\b \f \n \r \t,
 * else \u00XX in upper case); '/', DEL and UTF-8 as they are. A byte
 * sequence that is not UTF-8 (overlong, a surrogate, past U+10FFFF, cut
 * short) is written as U+FFFD, so the text is always valid JSON.
 *
 * Keys are the caller's literals and are written as they are. The writer
 * puts the commas: after a value or a closing bracket, the next key or
 * value is preceded by one.
 *
 * Memory: the caller owns the buffer. When it is full, reserve (if any) is
 * asked for room; a writer without one, or whose reserve fails, stops
 * writing and sets failed, and the text is then incomplete.
 *
 * Pure; a writer belongs to one thread. */
#ifndef LP_UTIL_JSONW_H
#define LP_UTIL_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jw {
    char *buf;
    size_t len, cap;
    /* Makes room for at least need more bytes (it may move buf and grow
     * cap); 0, or -1 if it cannot. NULL: the buffer is all there is. */
    int (*reserve)(struct jw *w, size_t need);
    void *ctx; /* the reserve's */
    bool failed;
    bool comma; /* a value came last at this level */
};

void jw_init(struct jw *w, char *buf, size_t cap, int (*reserve)(struct jw *w, size_t need), void *ctx);

void jw_obj(struct jw *w);
void jw_obj_end(struct jw *w);
void jw_arr(struct jw *w);
void jw_arr_end(struct jw *w);
void jw_key(struct jw *w, const char *key);
void jw_str(struct jw *w, const char *s, size_t n);
void jw_strz(struct jw *w, const char *s);
void jw_int(struct jw *w, int64_t v);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);

/* s's n bytes as they go between the quotes of a JSON string, written at
 * out while they fit in cap (snprintf's way: nothing past cap); returns
 * their length, so a return above cap means out holds only a part. At
 * most 6 * n. */
size_t jw_escape(char *out, size_t cap, const char *s, size_t n);

/* A value written by someone else (jansson's json_dump_callback, with
 * jw_put as its callback): jw_sep before it, then mark it written. */
void jw_sep(struct jw *w);
int jw_put(const char *s, size_t n, void *w);

#endif
