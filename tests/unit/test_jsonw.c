/* Unit tests for src/util/jsonw: the text is jansson's JSON_COMPACT text
 * for the same values, byte for byte; bytes that are not UTF-8 become
 * U+FFFD; commas land between values at every level; a full buffer stops
 * the writer without writing past it. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/jsonw.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static char out[4096];

static const char *str_of(const char *s, size_t n)
{
    struct jw w;
    jw_init(&w, out, sizeof(out) - 1, NULL, NULL);
    jw_str(&w, s, n);
    cr_assert(!w.failed);
    out[w.len] = '\0';
    return out;
}

/* What jansson writes for the same (valid UTF-8) string. */
static char *jansson_of(const char *s, size_t n)
{
    json_t *v = json_stringn(s, n);
    cr_assert_not_null(v, "not UTF-8 for jansson");
    char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    return t;
}

Test(jsonw, strings_escape_as_jansson_does)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"", "\"\""},
        {"plain", "\"plain\""},
        {"a\"b\\c", "\"a\\\"b\\\\c\""},
        {"\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\""},
        {"\x01\x1f", "\"\\u0001\\u001F\""},
        {"https://example.com/a?b=c&d", "\"https://example.com/a?b=c&d\""},
        {"\x7f", "\"\x7f\""},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x97", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x97\""},
    };
    for (size_t i = 0; i < N(cases); i++) {
        cr_assert_str_eq(str_of(cases[i].in, strlen(cases[i].in)), cases[i].want, "case %zu", i);
        char *j = jansson_of(cases[i].in, strlen(cases[i].in));
        cr_assert_str_eq(out, j, "case %zu differs from jansson", i);
        free(j);
    }
}

Test(jsonw, every_ascii_byte_and_nul_as_jansson)
{
    char all[128];
    for (int c = 0; c < 128; c++)
        all[c] = (char)c;
    str_of(all, sizeof(all));
    char *j = jansson_of(all, sizeof(all));
    cr_assert_str_eq(out, j);
    free(j);
}

Test(jsonw, bytes_that_are_not_utf8_become_fffd)
{
#define R "\xef\xbf\xbd"
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"\x80", "\"" R "\""},                                        /* a continuation byte alone */
        {"a\xc0\xafz", "\"a" R R "z\""},                              /* overlong '/' */
        {"\xe0\x80\xaf", "\"" R R R "\""},                            /* overlong, three bytes */
        {"\xed\xa0\x80", "\"" R R R "\""},                            /* a surrogate */
        {"\xf4\x90\x80\x80", "\"" R R R R "\""},                      /* past U+10FFFF */
        {"\xf5\x80\x80\x80", "\"" R R R R "\""},                      /* no such lead byte */
        {"ok\xe2\x82", "\"ok" R R "\""},                              /* cut short at the end */
        {"\xe2\x82z", "\"" R R "z\""},                                /* cut short before ASCII */
        {"\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""},                 /* U+10FFFF itself */
        {"\xed\x9f\xbf\xee\x80\x80", "\"\xed\x9f\xbf\xee\x80\x80\""}, /* around the surrogates */
    };
#undef R
    for (size_t i = 0; i < N(cases); i++) {
        cr_assert_str_eq(str_of(cases[i].in, strlen(cases[i].in)), cases[i].want, "case %zu", i);
        json_t *v = json_loads(out, JSON_DECODE_ANY, NULL);
        cr_assert_not_null(v, "case %zu is not JSON", i);
        json_decref(v);
    }
}

Test(jsonw, values_nest_with_commas_between)
{
    struct jw w;
    jw_init(&w, out, sizeof(out) - 1, NULL, NULL);
    jw_obj(&w);
    jw_key(&w, "a");
    jw_int(&w, 0);
    jw_key(&w, "b");
    jw_arr(&w);
    jw_int(&w, INT64_MIN);
    jw_int(&w, INT64_MAX);
    jw_int(&w, -1);
    jw_obj(&w);
    jw_obj_end(&w);
    jw_arr(&w);
    jw_arr_end(&w);
    jw_null(&w);
    jw_arr_end(&w);
    jw_key(&w, "c");
    jw_obj(&w);
    jw_key(&w, "t");
    jw_bool(&w, true);
    jw_key(&w, "f");
    jw_bool(&w, false);
    jw_obj_end(&w);
    jw_key(&w, "d");
    jw_strz(&w, "x");
    jw_obj_end(&w);
    cr_assert(!w.failed);
    out[w.len] = '\0';
    cr_assert_str_eq(out, "{\"a\":0,\"b\":[-9223372036854775808,9223372036854775807,-1,{},[],null],"
                          "\"c\":{\"t\":true,\"f\":false},\"d\":\"x\"}");
    json_t *v = json_loads(out, 0, NULL);
    cr_assert_not_null(v);
    cr_assert_eq(json_integer_value(json_array_get(json_object_get(v, "b"), 0)), INT64_MIN);
    json_decref(v);
}

Test(jsonw, another_writers_value_takes_its_comma)
{
    struct jw w;
    jw_init(&w, out, sizeof(out) - 1, NULL, NULL);
    jw_arr(&w);
    jw_int(&w, 1);
    json_t *v = json_pack("{s:i}", "k", 2);
    jw_sep(&w);
    cr_assert_eq(json_dump_callback(v, jw_put, &w, JSON_COMPACT), 0);
    json_decref(v);
    jw_int(&w, 3);
    jw_arr_end(&w);
    out[w.len] = '\0';
    cr_assert_str_eq(out, "[1,{\"k\":2},3]");
}

Test(jsonw, a_full_fixed_buffer_stops_the_writer)
{
    char small[16];
    memset(small, '#', sizeof(small));
    struct jw w;
    jw_init(&w, small, 8, NULL, NULL);
    jw_strz(&w, "far longer than eight bytes");
    cr_assert(w.failed);
    cr_assert_leq(w.len, 8);
    for (size_t i = 8; i < sizeof(small); i++)
        cr_assert_eq(small[i], '#', "wrote past the buffer at %zu", i);
    jw_int(&w, 1); /* stays failed, writes nothing */
    cr_assert(w.failed);
    cr_assert_leq(w.len, 8);
    cr_assert_eq(jw_put("x", 1, &w), -1);
}

static int grow(struct jw *w, size_t need)
{
    int *calls = w->ctx;
    (*calls)++;
    size_t cap = w->cap ? w->cap * 2 : 1;
    while (cap - w->len < need)
        cap *= 2;
    char *b = realloc(w->buf, cap);
    if (b == NULL)
        return -1;
    w->buf = b;
    w->cap = cap;
    return 0;
}

static int refuse(struct jw *w, size_t need)
{
    (void)w;
    (void)need;
    return -1;
}

Test(jsonw, reserve_grows_the_buffer_and_a_refusal_stops_it)
{
    int calls = 0;
    struct jw w;
    jw_init(&w, NULL, 0, grow, &calls);
    jw_arr(&w);
    for (int i = 0; i < 200; i++)
        jw_strz(&w, "a\n\"b\"");
    jw_arr_end(&w);
    cr_assert(!w.failed);
    cr_assert_gt(calls, 1);
    json_t *v = json_loadb(w.buf, w.len, 0, NULL);
    cr_assert_not_null(v);
    cr_assert_eq(json_array_size(v), 200);
    cr_assert_str_eq(json_string_value(json_array_get(v, 199)), "a\n\"b\"");
    json_decref(v);
    free(w.buf);

    char buf[4];
    jw_init(&w, buf, sizeof(buf), refuse, NULL);
    jw_strz(&w, "longer");
    cr_assert(w.failed);
    cr_assert_leq(w.len, sizeof(buf));
}
