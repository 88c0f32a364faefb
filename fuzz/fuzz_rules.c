/* rules on arbitrary bytes, two ways:
 *   - as a compact form: rules_check decides; whatever it accepts must
 *     evaluate, report its needs and turn into JSON without reading out of
 *     bounds, a winning URL lies inside the input, and compiling its JSON
 *     reaches a fixed point after one trip (URLs get normalised once);
 *   - as an Accept-Language value: entries stay inside the header, have
 *     q <= 1000, and a parsed tag matches itself (lower-cased).
 * The input is copied into an exact-size block so ASan sees any overread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rules.h"

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_rules: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *b = malloc(size ? size : 1);
    if (b == NULL)
        return 0;
    memcpy(b, data, size);

    if (rules_check(b, size) == 0) {
        struct rules_facts f;
        memset(&f, 0, sizeof(f));
        f.device = UA_DEVICE_MOBILE;
        f.os = RULES_OS_IOS;
        f.browser = RULES_BR_SAFARI;
        f.country[0] = 'S';
        f.country[1] = 'E';
        f.query = "a=1&b";
        f.query_len = 5;
        f.accept_language = "fr-CH, en;q=0.5";
        f.accept_language_len = 15;
        f.ip.family = 4;
        f.ip.bytes[0] = 10;
        const char *u;
        size_t ul;
        if (rules_eval(b, size, &f, &u, &ul) && (u < (const char *)b || u + ul > (const char *)b + size || ul == 0))
            fail("url outside the compact form");
        (void)rules_needs(b, size);
        json_t *j = rules_json(b, size);
        if (j == NULL)
            fail("json");
        struct link_policy p = {"s.example", 443};
        uint8_t out[RULES_BLOB_MAX];
        size_t n;
        char path[RULES_PATH_MAX];
        const char *why;
        /* URLs not in normal form legitimately change; everything else must
         * survive the trip unchanged. */
        if (rules_compile(j, &p, out, &n, path, &why) == 0) {
            uint8_t again[RULES_BLOB_MAX];
            size_t n2;
            json_t *j2 = rules_json(out, n);
            if (rules_compile(j2, &p, again, &n2, path, &why) != 0 || n2 != n || memcmp(again, out, n) != 0)
                fail("compile(json(x)) is not a fixed point");
            json_decref(j2);
        }
        json_decref(j);
    }

    struct rules_lang l[RULES_ACCEPT_LANG_MAX];
    size_t n = rules_accept_language((const char *)b, size, l, RULES_ACCEPT_LANG_MAX);
    if (n > RULES_ACCEPT_LANG_MAX)
        fail("too many entries");
    for (size_t i = 0; i < n; i++) {
        if (l[i].tag < (const char *)b || l[i].tag + l[i].len > (const char *)b + size || l[i].len == 0)
            fail("entry outside the header");
        if (l[i].q > 1000)
            fail("q above 1");
        char t[RULES_LANG_MAX + 1];
        if (l[i].len > RULES_LANG_MAX)
            fail("tag too long");
        for (size_t k = 0; k < l[i].len; k++)
            t[k] = (char)(l[i].tag[k] >= 'A' && l[i].tag[k] <= 'Z' ? l[i].tag[k] + 32 : l[i].tag[k]);
        if (l[i].q > 0 && !(l[i].len == 1 && t[0] == '*') && !rules_lang_match((const char *)b, size, t, l[i].len))
            fail("an accepted tag does not match itself");
    }
    free(b);
    return 0;
}
