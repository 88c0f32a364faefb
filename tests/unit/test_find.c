/* Unit tables for the pure helpers of store/sqlite_find.c: the FTS5 query
 * built from a search text, the tags column, URL host and hash. */
#include "store/sqlite_fts.h"
#include "store/sqlite_internal.h"

#include <criterion/criterion.h>
#include <string.h>

Test(find, fts_query_table)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"spring", "\"spring\"*"},
        {"  spring   sale ", "\"spring\"* \"sale\"*"},
        {"example.com", "\"example.com\"*"},
        {"say \"hi\"", "\"say\"* \"\"\"hi\"\"\"*"},
        {"\" - ++", ""},
        {"", ""},
        {"été", "\"été\"*"},
        {"a*b OR c", "\"a*b\"* \"OR\"* \"c\"*"},
        {"NEAR(a b)", "\"NEAR(a\"* \"b)\"*"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[128];
        long n = sqlite_fts_query(cases[i].in, out, sizeof(out));
        cr_expect_eq(n, (long)strlen(cases[i].out), "case %zu: %ld", i, n);
        if (n >= 0)
            cr_expect_str_eq(out, cases[i].out, "case %zu", i);
    }
    char small[8];
    cr_expect_eq(sqlite_fts_query("abcdefgh", small, sizeof(small)), -1, "does not fit");
    cr_expect_eq(sqlite_fts_query("abc", small, sizeof(small)), 6);
}

Test(find, tags_parse)
{
    static struct link l;
    sqlite_tags_parse("beta\nAlpha\ngamma", &l);
    cr_assert_eq(l.ntags, 3);
    cr_expect_str_eq(l.tags[0], "Alpha");
    cr_expect_str_eq(l.tags[1], "beta");
    cr_expect_str_eq(l.tags[2], "gamma");
    sqlite_tags_parse(NULL, &l);
    cr_expect_eq(l.ntags, 0);
    sqlite_tags_parse("one\n\ntwo\n", &l);
    cr_expect_eq(l.ntags, 2, "empty names are skipped");
}

Test(find, url_host_and_hash)
{
    const char *h = NULL;
    const char *u = "https://www.example.com/path?q=1";
    size_t n = sqlite_url_host(u, strlen(u), &h);
    cr_assert_eq(n, strlen("example.com"));
    cr_expect(memcmp(h, "example.com", n) == 0);
    u = "https://www.com/";
    n = sqlite_url_host(u, strlen(u), &h);
    cr_expect(n == strlen("www.com") && memcmp(h, "www.com", n) == 0, "a host that is only www. keeps it");
    const char *a = "https://example.com/a", *b = "https://example.com/b";
    cr_expect_eq(sqlite_url_hash(a, strlen(a)), sqlite_url_hash(a, strlen(a)), "stable");
    cr_expect_neq(sqlite_url_hash(a, strlen(a)), sqlite_url_hash(b, strlen(b)));
}
