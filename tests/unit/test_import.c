/* Unit tables for core/import.c: CSV edge cases, the formats' columns,
 * dates as the tools write them, JSON shapes, refusals. */
#include "core/import.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

struct got {
    size_t n;
    char url[8][128], code[8][64], title[8][64], tags[8][128];
    int64_t created[8], visits[8];
    bool date_bad[8];
};

static int collect(void *ctx, const struct import_row *r)
{
    struct got *g = ctx;
    if (g->n == 8)
        return 1;
    size_t i = g->n++;
    snprintf(g->url[i], sizeof(g->url[i]), "%s", r->url ? r->url : "-");
    snprintf(g->code[i], sizeof(g->code[i]), "%s", r->code ? r->code : "-");
    snprintf(g->title[i], sizeof(g->title[i]), "%s", r->title ? r->title : "-");
    size_t o = 0;
    for (unsigned t = 0; t < r->ntags; t++)
        o += (size_t)snprintf(g->tags[i] + o, sizeof(g->tags[i]) - o, "%s%s", t ? "/" : "", r->tags[t]);
    g->created[i] = r->created_at;
    g->visits[i] = r->visits;
    g->date_bad[i] = r->date_bad;
    return 0;
}

static long parse(enum import_format f, const char *text, struct got *g, char *err)
{
    memset(g, 0, sizeof(*g));
    return import_parse(f, text, strlen(text), collect, g, err, 160);
}

Test(import, csv_quoting_and_line_ends)
{
    struct got g;
    char err[160];
    const char *t = "\xef\xbb\xbfURL,Title,Tags,Extra\r\n"
                    "https://a.example/,\"Hello, \"\"world\"\"\",x| y ,ignored\r\n"
                    "\r\n"
                    "\"https://b.example/\",\"two\nlines\",,\n"
                    "https://c.example/";
    cr_assert_eq(parse(IMPORT_CSV, t, &g, err), 3, "%s", err);
    cr_expect_str_eq(g.url[0], "https://a.example/");
    cr_expect_str_eq(g.title[0], "Hello, \"world\"");
    cr_expect_str_eq(g.tags[0], "x/y");
    cr_expect_str_eq(g.title[1], "two\nlines");
    cr_expect_str_eq(g.url[2], "https://c.example/");
    cr_expect_str_eq(g.title[2], "-");
}

Test(import, csv_refusals)
{
    struct got g;
    char err[160];
    cr_expect_eq(parse(IMPORT_CSV, "", &g, err), -1);
    cr_expect_eq(parse(IMPORT_CSV, "title,code\nx,y\n", &g, err), -1, "no url column");
    cr_expect(strstr(err, "url") != NULL, "%s", err);
    cr_expect_eq(parse(IMPORT_CSV, "url\n\"https://a.example/\n", &g, err), -1, "unclosed quote");
    cr_expect_eq(parse(IMPORT_CSV, "url\n\"https://a\"x\n", &g, err), -1, "text after a closing quote");
    cr_expect_eq(parse(IMPORT_YOURLS, "shortCode,longUrl\na,b\n", &g, err), -1, "a Shlink file read as YOURLS");
}

Test(import, dates_and_counts)
{
    struct got g;
    char err[160];
    const char *t = "keyword,url,timestamp,clicks\n"
                    "a,https://x/,2019-07-14 08:15:00,15\n"
                    "b,https://x/,2019-07-14T08:15:00+0200,0\n"
                    "c,https://x/,2019-07-14,x\n"
                    "d,https://x/,yesterday,\n";
    cr_assert_eq(parse(IMPORT_YOURLS, t, &g, err), 4, "%s", err);
    cr_expect_eq(g.created[0], 1563092100000LL);
    cr_expect_eq(g.visits[0], 15);
    cr_expect_eq(g.created[1], 1563092100000LL - 2 * 3600 * 1000);
    cr_expect_eq(g.visits[1], 0);
    cr_expect_eq(g.created[2], 1563062400000LL);
    cr_expect_eq(g.visits[2], -2, "not a count");
    cr_expect(g.date_bad[3]);
    cr_expect_eq(g.visits[3], -1, "absent");
}

Test(import, shlink_and_bitly_columns)
{
    struct got g;
    char err[160];
    cr_assert_eq(parse(IMPORT_SHLINK,
                       "createdAt,shortCode,longUrl,tags,visits\n2022-05-10T09:00:00+02:00,s1,"
                       "https://x/,a|b,3\n",
                       &g, err),
                 1, "%s", err);
    cr_expect_str_eq(g.code[0], "s1");
    cr_expect_str_eq(g.tags[0], "a/b");
    cr_assert_eq(parse(IMPORT_BITLY, "long_url,link,tags\nhttps://x/,https://bit.ly/abc?x=1,a;b\n", &g, err), 1);
    cr_expect_str_eq(g.code[0], "abc", "the code is the short link's path");
    cr_expect_str_eq(g.tags[0], "a/b");
}

Test(import, json_shapes)
{
    struct got g;
    char err[160];
    cr_assert_eq(parse(IMPORT_KUTT,
                       "[{\"address\":\"k\",\"target\":\"https://x/\",\"visit_count\":4,"
                       "\"created_at\":\"2021-02-03T04:05:06.000Z\",\"description\":\"\"}]",
                       &g, err),
                 1, "%s", err);
    cr_expect_str_eq(g.code[0], "k");
    cr_expect_eq(g.visits[0], 4);
    cr_expect_str_eq(g.title[0], "-", "an empty description is no title");
    cr_assert_eq(parse(IMPORT_BITLY,
                       " {\"links\":[{\"id\":\"bit.ly/q\",\"long_url\":\"https://x/\","
                       "\"tags\":[\"t1\",5,\" t2 \",\"\",\"  \"]}]}",
                       &g, err),
                 1, "%s", err);
    cr_expect_str_eq(g.code[0], "q");
    cr_expect_str_eq(g.tags[0], "t1/t2", "trimmed, and empty ones left out, as in the CSVs");
    cr_expect_eq(parse(IMPORT_KUTT, "{\"links\": []}", &g, err), -1, "not Kutt's shape");
    cr_expect_eq(parse(IMPORT_KUTT, "{", &g, err), -1);
    cr_expect_eq(parse(IMPORT_KUTT, "[1, 2]", &g, err), 2, "non-objects are rows without fields");
}

Test(import, format_names)
{
    enum import_format f;
    cr_expect_eq(import_format_parse("shlink", 6, &f), 0);
    cr_expect_eq(f, IMPORT_SHLINK);
    cr_expect_eq(import_format_parse("csvx", 4, &f), -1);
    cr_expect_str_eq(import_format_name(IMPORT_BITLY), "bitly");
}
