"""The writer folds the visit journal into the database in large passes.
API writes that arrive during one are not held for the whole pass: the
pass commits what it has done (a slice, every link below the next one),
runs them, and goes on. A crash between slices loses nothing and counts
nothing twice: after a restart the pass goes on over the same journal
chunk, past the links its slices applied.

The test builds a visit backlog (a redirect flood, then kill -9), copies
the data dir, applies it once without interruption (the reference) and once
with link creations arriving during the pass and a kill -9 after its first
slices, then compares every count, rollup and raw row per link."""
import random
import shutil
import sqlite3
import threading
import time

from conftest import http_request_bytes, pipeline, run_cli, wait_until

LINKS = 3000
FLOOD_CONNS = 4
FLOOD_PER_CONN = 12000
AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "curl/8.4.0",
]


def backlog(srv):
    for line in srv.metrics().splitlines():
        if line.startswith("linkpulse_visits_backlog "):
            return int(float(line.split()[1]))
    raise AssertionError("no linkpulse_visits_backlog metric")


def journal_pos(data):
    db = sqlite3.connect("file:%s?mode=ro" % (data / "linkpulse.db"), uri=True, timeout=5)
    try:
        return db.execute("SELECT seg, off, done_below FROM journal_pos").fetchone()
    finally:
        db.close()


def snapshot(data, link_ids):
    """Every per-link figure the passes write, for the seeded links."""
    db = sqlite3.connect(str(data / "linkpulse.db"))
    try:
        ids = ",".join(str(i) for i in link_ids)
        return {
            "links": db.execute("SELECT id, visits_total, visits_bots FROM links WHERE id IN (%s) ORDER BY id"
                                % ids).fetchall(),
            "days": db.execute("SELECT link_id, t, total, bots, uniques, tally FROM rollup_day WHERE link_id IN (%s)"
                               " ORDER BY link_id, t" % ids).fetchall(),
            "raw": db.execute("SELECT link_id, count(*), sum(bot) FROM visits WHERE link_id IN (%s)"
                              " GROUP BY link_id ORDER BY link_id" % ids).fetchall(),
            "uniques": db.execute("SELECT link_id, t, count(*) FROM uniques_seen WHERE link_id IN (%s)"
                                  " GROUP BY link_id, t ORDER BY link_id, t" % ids).fetchall(),
            "team": db.execute("SELECT team_id, t, total, bots, uniques FROM rollup_team ORDER BY team_id, t")
            .fetchall(),
        }
    finally:
        db.close()


def drain(srv):
    wait_until(lambda: backlog(srv) == 0, timeout=240, interval=0.2, what="the visit backlog applied")


def test_writes_during_a_pass_and_a_crash_between_slices(server_factory, tmp_path):
    ref = server_factory(start=False, name="ref", args=["--visit-flush-ms", "50"])
    codes_file = tmp_path / "codes.txt"
    r = run_cli(["seed", "--data", str(ref.data), "--links", str(LINKS), "--codes-file", str(codes_file)],
                timeout=60)
    assert r.returncode == 0, r.stderr
    codes = codes_file.read_text().split()
    ref.start()

    # A flood over every link, then a crash: the journal keeps a backlog.
    rnd = random.Random(6)
    batches = [[http_request_bytes("GET", "/" + rnd.choice(codes), "x",
                                   headers={"User-Agent": rnd.choice(AGENTS)}) for _ in range(FLOOD_PER_CONN)]
               for _ in range(FLOOD_CONNS)]
    statuses = []
    threads = [threading.Thread(target=lambda b=b: statuses.extend(s for s, _, _ in pipeline(ref, b, timeout=120)))
               for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses.count(302) == FLOOD_CONNS * FLOOD_PER_CONN
    time.sleep(0.3)  # past the flush window: every visit is in the journal
    ref.kill()

    other = server_factory(start=False, name="cut", args=["--visit-flush-ms", "50"])
    shutil.rmtree(other.data)
    shutil.copytree(ref.data, other.data)
    # (The flood's pass may have committed a slice before the crash, when
    # it gave way to the busy machine: then both copies resume it.)
    copied_at = journal_pos(other.data)
    db = sqlite3.connect(str(ref.data / "linkpulse.db"))
    link_ids = [row[0] for row in db.execute("SELECT id FROM links WHERE code IN (%s)" %
                                             ",".join("'%s'" % c for c in codes))]
    db.close()
    assert len(link_ids) == LINKS

    # The reference: the backlog applied in one go.
    ref.start()
    waiting = backlog(ref)
    assert waiting >= 5000, "the flood left too small a backlog to cut a pass: %d" % waiting
    drain(ref)
    ref.stop()
    want = snapshot(ref.data, link_ids)

    # Creations during the pass: the pass commits a slice for them and
    # answers them before it ends (on disk, done_below > 0 after a 201 says
    # so); a kill -9 once slices are on disk.
    # (Its backlog is the reference's: the same files. Not read from
    # /metrics here: a writer that gives way to a busy machine commits a
    # slice first, so the backlog may already have moved.)
    other.start()
    cut = None
    created = []
    for i in range(2000):
        created.append(other.create(url="https://example.com/during-pass/%d" % i)["code"])
        pos = journal_pos(other.data)
        if pos[2] > 0 and pos != copied_at:
            cut = pos
            break
    assert cut is not None, "no slice committed while creations waited (backlog %d)" % waiting
    other.kill()
    assert journal_pos(other.data)[2] > 0, "the crash came after the pass had finished"

    # After the restart the pass goes on past the links its slices applied;
    # the creations it answered are there.
    other.start()
    for code in created:
        assert other.link(code).status_code == 200, code
    drain(other)
    other.stop()
    assert journal_pos(other.data)[2] == 0
    got = snapshot(other.data, link_ids)
    assert sum(t for _, t, _ in got["links"]) == sum(t for _, t, _ in want["links"]) > 0
    for key in want:
        assert got[key] == want[key], "%s differ after a crash between slices" % key
    print("backlog %d visits; %d creations, the last answered mid-pass; cut at link %d" % (waiting, len(created), cut[2]))
