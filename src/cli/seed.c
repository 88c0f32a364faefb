/* seed: `linkpulse seed`, benchmark data in a data directory without a
 * million HTTP calls (see store_sqlite_seed). Single-threaded; main thread. */
#include "cli/cli.h"

#include "store/store.h"
#include "util/clock.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEED_LINKS_MAX 100000000ull
#define SEED_VISITS_MAX 10000000000ull

static int bad(const char *msg)
{
    fprintf(stderr, "linkpulse seed: %s\n\n%s", msg, cli_usage);
    return 2;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > max)
        return -1;
    *out = v;
    return 0;
}

int cli_seed(int argc, char **argv)
{
    const char *data = getenv("LINKPULSE_DATA") ? getenv("LINKPULSE_DATA") : "./data";
    const char *codes = NULL;
    struct store_seed spec = {.team_id = 1, .code_len = 7, .seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t n;
        if (v == NULL)
            return bad("every option takes a value");
        i++;
        if (strcmp(a, "--data") == 0)
            data = v;
        else if (strcmp(a, "--codes-file") == 0)
            codes = v;
        else if (strcmp(a, "--visits-link") == 0)
            spec.visits_code = v;
        else if (strcmp(a, "--links") == 0 && parse_u64(v, SEED_LINKS_MAX, &n) == 0)
            spec.links = n;
        else if (strcmp(a, "--visits") == 0 && parse_u64(v, SEED_VISITS_MAX, &n) == 0)
            spec.visits = n;
        else if (strcmp(a, "--team") == 0 && parse_u64(v, INT64_MAX, &n) == 0 && n > 0)
            spec.team_id = (int64_t)n;
        else if (strcmp(a, "--seed") == 0 && parse_u64(v, UINT64_MAX, &n) == 0)
            spec.seed = n;
        else if (strcmp(a, "--code-length") == 0 && parse_u64(v, 32, &n) == 0 && n >= 4)
            spec.code_len = (unsigned)n;
        else
            return bad("bad option or value");
    }
    if (spec.visits_code != NULL && (strlen(spec.visits_code) == 0 || strlen(spec.visits_code) > 32))
        return bad("--visits-link: a code of 1-32 characters");
    FILE *out = NULL;
    if (codes != NULL && (out = fopen(codes, "w")) == NULL) {
        fprintf(stderr, "linkpulse seed: cannot write %s: %s\n", codes, strerror(errno));
        return 1;
    }
    spec.codes_out = out;
    char err[512];
    struct store_seed_result res;
    uint64_t t0 = clock_mono_ms();
    int rc = store_sqlite_seed(data, &spec, &res, err, sizeof(err));
    if (out != NULL && fclose(out) != 0 && rc == 0) {
        snprintf(err, sizeof(err), "cannot write %s", codes);
        rc = -1;
    }
    if (rc != 0) {
        fprintf(stderr, "linkpulse %s\n", err);
        return 1;
    }
    printf("{\"links\": %" PRIu64 ", \"visits\": %" PRIu64 ", \"bots\": %" PRId64 ", \"seconds\": %.2f}\n", res.links,
           res.visits, res.bots, (double)(clock_mono_ms() - t0) / 1000.0);
    return 0;
}
