/* The live hub (src/events/live.c): nothing is kept while nobody listens;
 * offered visits become numbered SSE events in order; reads filter by team
 * and link, stop at whole events when the buffer is full and go on from
 * there; a reader the ring has overtaken gets `event: reset` first; an id
 * from a previous process carries on from now; stream caps per team and
 * per instance. */
#include "events/live.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int notified;
static void on_notify(void *ctx)
{
    (void)ctx;
    notified++;
}

static struct store_visit *visits(size_t n, int64_t team, int64_t link)
{
    struct store_visit *v = calloc(n, sizeof(*v));
    cr_assert_not_null(v);
    for (size_t i = 0; i < n; i++) {
        v[i].ts = 1767225600000LL + (int64_t)i;
        v[i].team_id = team;
        v[i].link_id = link;
        v[i].kind = VISIT_REDIRECT;
        v[i].detail = true;
        v[i].browser_major = -1;
        snprintf(v[i].visited_url, sizeof(v[i].visited_url), "/code%lld?x=1", (long long)link);
        strcpy(v[i].country, "SE");
    }
    return v;
}

static void offer(struct live *h, size_t n, int64_t team, int64_t link)
{
    struct store_visit *v = visits(n, team, link);
    cr_assert(live_offer(h, v, n));
    live_pump(h);
}

Test(live, nothing_is_kept_while_nobody_listens)
{
    struct live *h = live_new(on_notify, NULL);
    struct store_visit *v = visits(3, 1, 10);
    cr_assert_not(live_wanted(h));
    cr_assert_not(live_offer(h, v, 3), "the caller keeps the visits");
    free(v);
    cr_assert_eq(live_last_id(h), 0);
    live_free(h);
}

Test(live, events_are_numbered_filtered_and_resumable)
{
    struct live *h = live_new(on_notify, NULL);
    cr_assert_eq(live_stream_open(h, 1, 0, 10, 10), 0);
    cr_assert_eq(live_stream_open(h, 2, 0, 10, 10), 0);
    notified = 0;
    offer(h, 2, 1, 10);
    offer(h, 1, 2, 20); /* another team */
    offer(h, 1, 1, 11);
    cr_assert_eq(notified, 3);
    cr_assert_eq(live_last_id(h), 4);

    char buf[8192];
    size_t len;
    uint64_t after = 0;
    cr_assert_eq(live_read(h, &after, 1, 0, buf, sizeof(buf), &len), 3);
    cr_assert_eq(after, 4);
    buf[len] = '\0';
    cr_assert(strncmp(buf, "id: 1\nevent: visit\ndata: {", 26) == 0, "%s", buf);
    cr_assert_not_null(strstr(buf, "\"code\":\"code10\""));
    cr_assert_not_null(strstr(buf, "\"country\":\"SE\""));
    cr_assert_null(strstr(buf, "code20"), "another team's visit leaked");

    after = 0;
    cr_assert_eq(live_read(h, &after, 1, 11, buf, sizeof(buf), &len), 1, "one link only");
    after = 4;
    cr_assert_eq(live_read(h, &after, 1, 0, buf, sizeof(buf), &len), 0, "nothing new");
    cr_assert_eq(len, 0);
    after = 1000; /* from a previous process */
    cr_assert_eq(live_read(h, &after, 1, 0, buf, sizeof(buf), &len), 0);
    cr_assert_eq(after, 4, "carries on from now");
    live_stream_close(h, 1, 0);
    live_stream_close(h, 2, 0);
    live_free(h);
}

Test(live, only_watched_visits_are_kept)
{
    struct live *h = live_new(on_notify, NULL);
    cr_assert_eq(live_stream_open(h, 1, 10, 10, 10), 0); /* link 10 of team 1 only */
    offer(h, 3, 1, 11);
    cr_assert_eq(live_last_id(h), 0, "nobody watches link 11");
    offer(h, 2, 1, 10);
    cr_assert_eq(live_last_id(h), 2);
    cr_assert_eq(live_stream_open(h, 1, 0, 10, 10), 0); /* now the whole team */
    offer(h, 1, 1, 11);
    cr_assert_eq(live_last_id(h), 3);
    live_stream_close(h, 1, 0);
    offer(h, 1, 1, 11);
    cr_assert_eq(live_last_id(h), 3, "the team stream is gone");
    live_stream_close(h, 1, 10);
    live_free(h);
}

Test(live, a_full_buffer_stops_at_whole_events)
{
    struct live *h = live_new(on_notify, NULL);
    cr_assert_eq(live_stream_open(h, 1, 0, 10, 10), 0);
    offer(h, 5, 1, 10);
    char buf[8192];
    size_t one, len;
    uint64_t after = 0;
    cr_assert_eq(live_read(h, &after, 1, 0, buf, sizeof(buf), &one), 5);
    one /= 5; /* the events are the same size */
    after = 0;
    cr_assert_eq(live_read(h, &after, 1, 0, buf, 2 * one + one / 2, &len), 2);
    cr_assert_eq(len, 2 * one);
    cr_assert_eq(after, 2);
    cr_assert_eq(live_read(h, &after, 1, 0, buf, sizeof(buf), &len), 3, "goes on from where it stopped");
    live_stream_close(h, 1, 0);
    live_free(h);
}

Test(live, overtaken_readers_get_a_reset)
{
    struct live *h = live_new(on_notify, NULL);
    cr_assert_eq(live_stream_open(h, 1, 0, 10, 10), 0);
    offer(h, LIVE_RING_EVENTS + 10, 1, 10);
    static char buf[LIVE_RING_EVENTS * LIVE_EVENT_MAX];
    size_t len;
    uint64_t after = 3;
    size_t n = live_read(h, &after, 1, 0, buf, sizeof(buf), &len);
    cr_assert_eq(n, LIVE_RING_EVENTS);
    cr_assert(strncmp(buf, "event: reset\n", 13) == 0);
    cr_assert(strstr(buf, "id: 11\n") != NULL, "the oldest kept event follows");
    struct live_stats st;
    live_stats(h, &st);
    cr_assert_eq(st.resets, 1);
    cr_assert_eq(st.events, LIVE_RING_EVENTS + 10);
    live_stream_close(h, 1, 0);
    live_free(h);
}

Test(live, stream_caps)
{
    struct live *h = live_new(on_notify, NULL);
    cr_assert_eq(live_stream_open(h, 1, 0, 2, 3), 0);
    cr_assert_eq(live_stream_open(h, 1, 0, 2, 3), 0);
    cr_assert_eq(live_stream_open(h, 1, 0, 2, 3), -1, "team cap");
    cr_assert_eq(live_stream_open(h, 2, 0, 2, 3), 0);
    cr_assert_eq(live_stream_open(h, 3, 0, 2, 3), -1, "instance cap");
    live_stream_close(h, 1, 0);
    cr_assert_eq(live_stream_open(h, 3, 0, 2, 3), 0);
    struct live_stats st;
    live_stats(h, &st);
    cr_assert_eq(st.open, 3);
    live_stream_close(h, 1, 0);
    live_stream_close(h, 2, 0);
    live_stream_close(h, 3, 0);
    cr_assert(live_wanted(h), "lingers after the last stream closes");
    live_free(h);
}
