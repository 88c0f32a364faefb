/* jsonw: JSON text written straight into a buffer (see jsonw.h). */
#include "util/jsonw.h"

#include "util/dec.h"
#include "util/utf8.h"

#include <string.h>

void jw_init(struct jw *w, char *buf, size_t cap, int (*reserve)(struct jw *w, size_t need), void *ctx)
{
    *w = (struct jw){.buf = buf, .cap = cap, .reserve = reserve, .ctx = ctx};
}

static bool room(struct jw *w, size_t n)
{
    if (w->failed)
        return false;
    if (w->cap - w->len >= n)
        return true;
    if (w->reserve == NULL || w->reserve(w, n) != 0 || w->cap - w->len < n) {
        w->failed = true;
        return false;
    }
    return true;
}

static void put(struct jw *w, const char *s, size_t n)
{
    if (room(w, n)) {
        memcpy(w->buf + w->len, s, n);
        w->len += n;
    }
}

static void put1(struct jw *w, char c)
{
    if (room(w, 1))
        w->buf[w->len++] = c;
}

int jw_put(const char *s, size_t n, void *w)
{
    put(w, s, n);
    return ((struct jw *)w)->failed ? -1 : 0;
}

void jw_sep(struct jw *w)
{
    if (w->comma)
        put1(w, ',');
    w->comma = true;
}

static void open_bracket(struct jw *w, char c)
{
    jw_sep(w);
    put1(w, c);
    w->comma = false;
}

static void close_bracket(struct jw *w, char c)
{
    put1(w, c);
    w->comma = true;
}

void jw_obj(struct jw *w)
{
    open_bracket(w, '{');
}

void jw_obj_end(struct jw *w)
{
    close_bracket(w, '}');
}

void jw_arr(struct jw *w)
{
    open_bracket(w, '[');
}

void jw_arr_end(struct jw *w)
{
    close_bracket(w, ']');
}

void jw_key(struct jw *w, const char *key)
{
    jw_sep(w);
    put1(w, '"');
    put(w, key, strlen(key));
    put(w, "\":", 2);
    w->comma = false;
}

/* Writes n bytes at out + o while they fit in cap; returns o + n. */
static size_t emit(char *out, size_t cap, size_t o, const char *s, size_t n)
{
    if (o <= cap && n <= cap - o)
        memcpy(out + o, s, n);
    return o + n;
}

size_t jw_escape(char *out, size_t cap, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0, i = 0;
    while (i < n) {
        size_t run = i; /* bytes written as they are: printable ASCII but '"' and '\\' */
        while (run < n && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\')
            run++;
        o = emit(out, cap, o, s + i, run - i);
        i = run;
        if (i == n)
            break;
        unsigned char c = p[i];
        if (c >= 0x80) {
            int len = utf8_seq(p + i, n - i);
            if (len <= 0) {
                o = emit(out, cap, o, "\xEF\xBF\xBD", 3); /* U+FFFD for the byte that starts no sequence */
                i++;
            } else {
                o = emit(out, cap, o, s + i, (size_t)len);
                i += (size_t)len;
            }
            continue;
        }
        /* c is a control character, '"' or '\\' here: the two-character escapes JSON has, as
         * jansson writes them, and \u00XX for the rest */
        static const char brief[0x5d] = {
            ['"'] = '"', ['\\'] = '\\', ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};
        char esc[6] = {'\\', brief[c] ? brief[c] : 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        o = emit(out, cap, o, esc, brief[c] ? 2 : 6);
        i++;
    }
    return o;
}

void jw_str(struct jw *w, const char *s, size_t n)
{
    jw_sep(w);
    put1(w, '"');
    if (w->failed)
        return;
    size_t need = jw_escape(w->buf + w->len, w->cap - w->len, s, n);
    if (need > w->cap - w->len) { /* did not fit: make room for all of it and write it again */
        if (!room(w, need))
            return;
        jw_escape(w->buf + w->len, w->cap - w->len, s, n);
    }
    w->len += need;
    put1(w, '"');
}

void jw_strz(struct jw *w, const char *s)
{
    jw_str(w, s, strlen(s));
}

void jw_int(struct jw *w, int64_t v)
{
    char d[1 + DEC_U64_MAX];
    size_t n = 0;
    uint64_t u = (uint64_t)v;
    if (v < 0) {
        d[n++] = '-';
        u = 0 - u;
    }
    n += dec_u64(d + n, u);
    jw_sep(w);
    put(w, d, n);
}

void jw_bool(struct jw *w, bool v)
{
    jw_sep(w);
    if (v)
        put(w, "true", 4);
    else
        put(w, "false", 5);
}

void jw_null(struct jw *w)
{
    jw_sep(w);
    put(w, "null", 4);
}
