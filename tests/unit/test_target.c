/* Unit tests for src/core/target: the Location after the link's UTM values
 * and forward_query (merging, precedence, fragment last). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/target.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

Test(target, utm_query_encoding)
{
    struct link l;
    memset(&l, 0, sizeof(l));
    char out[TARGET_UTM_QUERY_MAX];
    cr_assert_eq(target_utm_query(&l, out), 0);
    strcpy(l.utm[0], "news letter");
    strcpy(l.utm[2], "spring_2026~a&b=c");
    size_t n = target_utm_query(&l, out);
    cr_assert(n == strlen("utm_source=news%20letter&utm_campaign=spring_2026~a%26b%3Dc") &&
                  memcmp(out, "utm_source=news%20letter&utm_campaign=spring_2026~a%26b%3Dc", n) == 0,
              "%.*s", (int)n, out);
    for (int i = 0; i < LINK_UTM_N; i++)
        memset(l.utm[i], 0xff, LINK_UTM_MAX);
    cr_assert_leq(target_utm_query(&l, out), TARGET_UTM_QUERY_MAX);
}

Test(target, build_table)
{
    static const struct {
        const char *url, *utm;
        bool forward;
        const char *visitor, *want;
    } rows[] = {
        {"https://x.example/a", "", false, "q=1", "https://x.example/a"},
        {"https://x.example/a", "", true, "q=1", "https://x.example/a?q=1"},
        {"https://x.example/a", "", true, "", "https://x.example/a"},
        {"https://x.example/a?b=2", "", true, "q=1", "https://x.example/a?b=2&q=1"},
        {"https://x.example/a?q=0&b=2", "", true, "q=1", "https://x.example/a?b=2&q=1"}, /* visitor wins */
        {"https://x.example/a?q=0#top", "", true, "q=1&&r", "https://x.example/a?q=1&r#top"},
        {"https://x.example/a#f?x", "", true, "q=1", "https://x.example/a?q=1#f?x"},
        {"https://x.example/a", "utm_source=nl", false, "q=1", "https://x.example/a?utm_source=nl"},
        {"https://x.example/a?utm_source=own", "utm_source=nl&utm_medium=mail", false, "",
         "https://x.example/a?utm_source=own&utm_medium=mail"}, /* the URL's own value stays */
        {"https://x.example/a", "utm_source=nl&utm_medium=mail", true, "utm_source=tw",
         "https://x.example/a?utm_medium=mail&utm_source=tw"}, /* the visitor's wins */
        {"https://x.example/a?b#c", "utm_term=t", true, "b=9", "https://x.example/a?utm_term=t&b=9#c"},
        {"https://x.example/a?", "", false, "", "https://x.example/a"},
    };
    for (size_t i = 0; i < N(rows); i++) {
        size_t ul = strlen(rows[i].url), tl = strlen(rows[i].utm), vl = strlen(rows[i].visitor);
        size_t cap = target_cap(ul, tl, vl);
        char *out = malloc(cap); /* exact size: ASan sees an overflow */
        size_t n = target_build(out, rows[i].url, ul, rows[i].utm, tl, rows[i].forward, rows[i].visitor, vl);
        cr_assert_leq(n, cap);
        cr_assert(n == strlen(rows[i].want) && memcmp(out, rows[i].want, n) == 0, "row %zu: got %.*s want %s", i,
                  (int)n, out, rows[i].want);
        free(out);
    }
}
