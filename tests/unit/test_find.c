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

/* Offers one domain's range (ascending) to the typeahead's code merge, as
 * sqlite_find.c does: stop at the first code not wanted. Returns how many
 * codes of the range were looked at. */
static int offer_range(struct suggest_codes *c, const char *const *codes, const int64_t *ids, int n)
{
    for (int i = 0; i < n; i++) {
        if (!sqlite_suggest_codes_wants(c, codes[i], strlen(codes[i]), ids[i]))
            return i + 1;
        sqlite_suggest_codes_add(c, codes[i], strlen(codes[i]), ids[i]);
    }
    return n;
}

static void expect_kept(const struct suggest_codes *c, const char *const *codes, const int64_t *ids, int n)
{
    cr_assert_eq(c->n, n);
    for (int i = 0; i < n; i++) {
        cr_expect(c->items[i].len == strlen(codes[i]) && memcmp(c->items[i].code, codes[i], c->items[i].len) == 0,
                  "item %d: %.*s, want %s", i, (int)c->items[i].len, c->items[i].code, codes[i]);
        cr_expect_eq(c->items[i].id, ids[i], "item %d", i);
    }
}

Test(find, suggest_codes_merge)
{
    static const char *const d0[] = {"b", "bb", "e", "h"}, *const d1[] = {"a", "d", "g"},
                             *const d2[] = {"B", "bb", "c", "f"};
    static const int64_t i0[] = {10, 11, 12, 13}, i1[] = {20, 21, 22}, i2[] = {30, 9, 31, 32};
    struct suggest_codes c = {.n = 0, .limit = 4};
    cr_expect_eq(offer_range(&c, d0, i0, 4), 4, "not full yet: the whole range is kept");
    cr_expect_eq(offer_range(&c, d1, i1, 3), 3, "g is refused: past the last kept");
    static const char *const k1[] = {"a", "b", "bb", "d"};
    static const int64_t j1[] = {20, 10, 11, 21};
    expect_kept(&c, k1, j1, 4);
    /* bytes order ("B" < "a"); the same code on two domains by id */
    cr_expect_eq(offer_range(&c, d2, i2, 4), 3, "c is refused, f never looked at");
    static const char *const k2[] = {"B", "a", "b", "bb"};
    static const int64_t j2[] = {30, 20, 10, 9};
    expect_kept(&c, k2, j2, 4);
    cr_expect(!sqlite_suggest_codes_wants(&c, "bb", 2, 11), "an equal (code, id) is not better");
    cr_expect(sqlite_suggest_codes_wants(&c, "b", 1, 99));
    cr_expect(!sqlite_suggest_codes_wants(&c, "bbb", 3, 1), "the shorter code comes first");

    struct suggest_codes one = {.n = 0, .limit = 1};
    static const char *const e[] = {"x"};
    static const int64_t ei[] = {1};
    cr_expect_eq(offer_range(&one, d0, i0, 4), 2);
    cr_expect_eq(offer_range(&one, d1, i1, 3), 2);
    expect_kept(&one, d1, i1, 1);
    cr_expect_eq(offer_range(&one, e, ei, 1), 1);
    expect_kept(&one, d1, i1, 1);
    char longer[LINK_CODE_MAX + 2];
    memset(longer, 'A', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    cr_expect(!sqlite_suggest_codes_wants(&c, longer, strlen(longer), 1), "longer than a code can be");
}
