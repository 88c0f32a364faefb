"""What was acknowledged survives: restarts, and SIGTERM in the middle of writes."""

import signal
import threading
import time

import requests

from conftest import HTTP_TIMEOUT, unique, wait_until


def test_restart_keeps_links_and_visit_counts(server):
    a = server.create(url="https://example.com/keep-a")
    b = server.create(url="https://example.com/keep-b", slug=unique("keep"), title="B",
                      redirect_type=308)
    c = server.create(url="https://example.com/keep-c", max_visits=5)
    gone = server.create(url="https://example.com/gone")
    assert server.api("DELETE", "/api/v1/links/" + gone["code"]).status_code == 204
    for _ in range(2):
        assert server.get("/" + c["code"]).status_code == 302

    server.restart()

    for link in (a, b, c):
        r = server.link(link["code"])
        assert r.status_code == 200, r.text
        got = r.json()
        # visits were 0 at creation; the restart flushed the two redirects of c
        want_visits = 2 if link is c else 0
        assert got.pop("visits")["total"] == want_visits
        link = dict(link)
        link.pop("visits", None)
        assert got == link
    assert server.link(gone["code"]).status_code == 404
    assert server.get("/" + gone["code"]).status_code == 404
    r = server.get("/" + b["code"])
    assert r.status_code == 308 and r.headers["Location"] == b["url"]
    # 2 of 5 visits used before the restart: exactly 3 remain
    for _ in range(3):
        assert server.get("/" + c["code"]).status_code == 302
    assert server.get("/" + c["code"]).status_code == 410
    listed = {i["code"] for i in server.list_all()}
    assert listed == {a["code"], b["code"], c["code"]}


def test_sigterm_during_create_burst(server):
    acked = {}  # code -> url
    statuses = []
    lock = threading.Lock()
    stop = threading.Event()

    def creator(n):
        i = 0
        with requests.Session() as sess:
            while not stop.is_set():
                url = "https://example.com/burst/%d/%d" % (n, i)
                i += 1
                try:
                    r = sess.post(server.url("/api/v1/links"), json={"url": url},
                                  headers=server.auth(), timeout=HTTP_TIMEOUT)
                except requests.RequestException:
                    return  # the server is gone or going
                with lock:
                    statuses.append(r.status_code)
                    if r.status_code == 201:
                        acked[r.json()["code"]] = url

    threads = [threading.Thread(target=creator, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    server.send_signal(signal.SIGTERM)
    rc = server.wait_exit()
    stop.set()
    for t in threads:
        t.join(timeout=HTTP_TIMEOUT + 5)
    assert rc == 0, "exit %s after SIGTERM\nstderr:\n%s" % (rc, server.stderr()[-6000:])
    bad = [s for s in statuses if s not in (201, 503)]
    assert not bad, "unexpected statuses during shutdown: %s" % sorted(set(bad))
    assert len(acked) > 10, "burst produced only %d links" % len(acked)

    server.start()
    stored = {i["code"]: i["url"] for i in server.list_all()}
    lost = {c: u for c, u in acked.items() if stored.get(c) != u}
    assert not lost, "%d acknowledged links lost or changed, e.g. %s" % (
        len(lost), list(lost.items())[:5])
    some = next(iter(acked))
    r = server.get("/" + some)
    assert r.status_code == 302 and r.headers["Location"] == acked[some]


def metric(s, name):
    for line in s.metrics().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError("no metric " + name)


def test_checkpoints_copy_the_wal_into_the_database(server):
    """The checkpoint thread copies the write-ahead log into the database by
    itself (here on its 5-second round, the WAL being small). Until it read
    the database first, SQLite 3.40 ignored its checkpoints, and only the
    writer's emergency copy at 128 MiB of WAL ever ran."""
    s = server
    for _ in range(3):
        s.create()
    assert metric(s, "linkpulse_store_wal_pages") > 0
    wait_until(lambda: metric(s, "linkpulse_store_checkpoints_total") >= 1, timeout=15,
               what="a checkpoint by the checkpoint thread")
    # Idle, the thread still looks every 5 s, but a look that copies
    # nothing new is not a checkpoint (it once counted each look).
    copies = metric(s, "linkpulse_store_checkpoints_total")
    time.sleep(6)
    assert metric(s, "linkpulse_store_checkpoints_total") == copies


def test_writer_and_checkpointer_yield_the_cpu_to_the_workers(server):
    """Under CPU pressure the redirects win: the store's writer and
    checkpoint threads run at nice 10, the workers and the sink at 0."""
    import os
    nice = {}
    task = "/proc/%d/task" % server.proc.pid
    for tid in os.listdir(task):
        with open("%s/%s/comm" % (task, tid)) as f:
            name = f.read().strip()
        with open("%s/%s/stat" % (task, tid)) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        nice.setdefault(name, set()).add(int(fields[16]))  # field 19 of stat: nice
    assert nice.get("lp-writer") == {10} and nice.get("lp-checkpoint") == {10}, nice
    assert nice.get("lp-worker-0") == {0} and nice.get("lp-sink") == {0}, nice


def test_wal_starts_over_under_sustained_writes(server):
    """Under writes without a pause the write-ahead log passes the checkpoint
    threshold (8,192 pages), the checkpoint thread copies it in a round or
    two, the writer copies the last frames after its next commit, and the
    transaction after that writes the log from its start again: the page
    count falls back while the writes go on, after a few copies (not one
    per commit), and long before the writer's emergency copy at four
    times the threshold."""
    s = server
    stop = threading.Event()
    failures = []

    def writer(n):
        batch = 0
        with requests.Session() as sess:
            while not stop.is_set():
                body = {"links": [{"url": "https://example.com/wal/%d/%d/%d" % (n, batch, k)}
                                  for k in range(250)]}
                r = sess.post(s.url("/api/v1/links/bulk"), json=body, headers=s.auth(), timeout=HTTP_TIMEOUT)
                if r.status_code != 200 or any(i["status"] != 201 for i in r.json()["items"]):
                    failures.append(r.text[:300])
                    return
                batch += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    high = 0
    try:
        deadline = time.time() + 90
        while time.time() < deadline and not failures:
            pages = metric(s, "linkpulse_store_wal_pages")
            high = max(high, pages)
            if high >= 8192 and pages < 8192:
                break
            time.sleep(0.02)
        else:
            raise AssertionError("the WAL did not start over within 90 s (high %s, %s)" % (high, failures))
        copies = metric(s, "linkpulse_store_checkpoints_total")
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=HTTP_TIMEOUT + 5)
    assert high < 2 * 8192, high
    assert 1 <= copies <= 9, copies  # at most 8 rounds by the thread, and the writer's copy
