"""Consumer groups under load and faults, with real clients and the `runnel group` CLI.

Members that must die without saying goodbye run as separate processes (WORKER below) that report
their rebalance callbacks, assignments and records as JSON lines; the test kills them with
SIGKILL, so only the coordinator's session timeout can remove them. Brokers start with
group.initial.rebalance.delay.ms=0 and clients use the smallest session timeout the broker
accepts (6 s), so the suite stays fast.
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import (SLOW, ck_admin, ck_consumer, ck_produce, create_topic, free_port, kp_admin,
                      kp_consumer, metric_samples, metric_value, runnel, unique, wait_until)

FAST = {"group.initial.rebalance.delay.ms": 0}
SESSION_MS = 6000

# A group member in its own process. argv: client (kp|ck) bootstrap group topic name opts-json.
# Every line on stdout is one JSON event: assign/revoke (rebalance callbacks, partition lists),
# assignment (the current assignment whenever it changes), recs ([partition, offset, value]).
# Records are reported before their offsets are committed (synchronously), so a record the
# test never saw was never committed: at-least-once is checkable from the outside.
WORKER = r'''
import json, signal, sys, time
client, bootstrap, group, topic, name = sys.argv[1:6]
opts = json.loads(sys.argv[6])
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))

def emit(**kw):
    kw["t"] = time.monotonic()
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()

last = None
if client == "kp":
    import kafka
    conf = dict(bootstrap_servers=bootstrap, group_id=group, client_id=name,
                enable_auto_commit=False, auto_offset_reset="earliest",
                session_timeout_ms=6000, heartbeat_interval_ms=300, max_poll_interval_ms=10000,
                request_timeout_ms=15000, fetch_max_wait_ms=100, metadata_max_age_ms=5000)
    conf.update(opts)
    c = kafka.KafkaConsumer(**conf)

    class Listener(kafka.ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            emit(ev="revoke", parts=sorted(tp.partition for tp in revoked))

        def on_partitions_assigned(self, assigned):
            emit(ev="assign", parts=sorted(tp.partition for tp in assigned))
    c.subscribe([topic], listener=Listener())
    while not stop:
        batch = c.poll(timeout_ms=100)
        recs = [[r.partition, r.offset, r.value.decode()] for rs in batch.values() for r in rs]
        if recs:
            emit(ev="recs", recs=recs)
            try:
                c.commit()
            except Exception as e:
                emit(ev="commit_error", err=repr(e))
        a = sorted(tp.partition for tp in c.assignment())
        if a != last:
            emit(ev="assignment", parts=a)
            last = a
else:
    import confluent_kafka as ck
    conf = {"bootstrap.servers": bootstrap, "group.id": group, "client.id": name,
            "enable.auto.commit": False, "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000, "heartbeat.interval.ms": 300,
            "max.poll.interval.ms": 10000, "fetch.wait.max.ms": 100,
            "topic.metadata.refresh.interval.ms": 5000, "log.connection.close": False}
    conf.update(opts)
    c = ck.Consumer(conf)

    def on_assign(cons, parts):
        emit(ev="assign", parts=sorted(p.partition for p in parts))

    def on_revoke(cons, parts):
        emit(ev="revoke", parts=sorted(p.partition for p in parts))
    c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
    while not stop:
        msgs = c.consume(num_messages=200, timeout=0.1)
        recs = [[m.partition(), m.offset(), m.value().decode()] for m in msgs if not m.error()]
        if recs:
            emit(ev="recs", recs=recs)
            try:
                c.commit(asynchronous=False)
            except Exception as e:
                emit(ev="commit_error", err=repr(e))
        a = sorted(p.partition for p in c.assignment())
        if a != last:
            emit(ev="assignment", parts=a)
            last = a
c.close()
emit(ev="closed")
'''


class Worker:
    """One group member process and the events it reported so far."""

    def __init__(self, client, bootstrap, group, topic, name, logdir, **opts):
        self.name = name
        self.events = []
        self.lock = threading.Lock()
        self.errpath = os.path.join(str(logdir), "worker-%s.stderr" % name)
        self.errf = open(self.errpath, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WORKER, client, bootstrap, group, topic, name,
             json.dumps(opts)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=self.errf)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            with self.lock:
                self.events.append(ev)

    def snapshot(self):
        with self.lock:
            return list(self.events)

    def mark(self):
        return len(self.snapshot())

    def since(self, mark, kind=None):
        """Events after mark; of one kind, only those naming partitions (librdkafka may call
        a rebalance callback with an empty list)."""
        return [e for e in self.snapshot()[mark:]
                if kind is None or (e["ev"] == kind and e.get("parts"))]

    def assignment(self):
        """The last reported assignment (set), None before the first report or after death."""
        if self.proc.poll() is not None:
            return None
        a = [e for e in self.snapshot() if e["ev"] == "assignment"]
        return set(a[-1]["parts"]) if a else None

    def values(self):
        return {r[2] for e in self.snapshot() if e["ev"] == "recs" for r in e["recs"]}

    def records(self):
        return [tuple(r) for e in self.snapshot() if e["ev"] == "recs" for r in e["recs"]]

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self, timeout=20.0):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout * SLOW)
            except subprocess.TimeoutExpired:
                self.kill()
        self.reader.join(5)
        self.errf.close()

    def stderr(self):
        with open(self.errpath, "rb") as f:
            return f.read().decode("utf-8", "replace")[-3000:]


@pytest.fixture
def workers(tmp_path):
    made = []

    def start(*args, **opts):
        w = Worker(*args, logdir=tmp_path, **opts)
        made.append(w)
        return w

    yield start
    for w in made:
        w.stop()


def partitioned(ws, nparts):
    """True when every worker in ws owns a non-empty set of partitions, no two share one and
    together they own all nparts: a finished rebalance, as the members themselves see it."""
    sets = [w.assignment() for w in ws]
    if any(not s for s in sets):
        return False
    if sum(len(s) for s in sets) != nparts:
        return False
    return set().union(*sets) == set(range(nparts))


def wait_partitioned(ws, nparts, timeout, what):
    try:
        wait_until(lambda: partitioned(ws, nparts), timeout, interval=0.05, what=what)
    except AssertionError:
        detail = "; ".join("%s=%r" % (w.name, w.assignment()) for w in ws)
        errs = "\n".join("--- %s\n%s" % (w.name, w.stderr()) for w in ws)
        raise AssertionError("%s: %s\n%s" % (what, detail, errs[-6000:]))
    return {w.name: w.assignment() for w in ws}


def produce_wave(b, topic, nparts, start, count):
    recs = [(None, b"v%d" % i, None, None, i % nparts) for i in range(start, start + count)]
    ck_produce(b.bootstrap, topic, recs)
    return {"v%d" % i for i in range(start, start + count)}


def wait_all_consumed(ws, expected, timeout):
    def done():
        got = set()
        for w in ws:
            got |= w.values()
        return expected <= got
    try:
        wait_until(done, timeout, interval=0.05, what="every record consumed")
    except AssertionError:
        got = set()
        for w in ws:
            got |= w.values()
        raise AssertionError("%d of %d records never consumed, e.g. %r"
                             % (len(expected - got), len(expected), sorted(expected - got)[:10]))


# --------------------------------------------------------------------------------------------
# Three members, a fourth joins, one is SIGKILLed
# --------------------------------------------------------------------------------------------
def join_and_kill(b, workers, client, **opts):
    """Runs the scenario; returns (workers, victim, assignments before/after join and kill,
    event marks) for client-specific checks."""
    t = create_topic(b.bootstrap, unique("grp"), 6)
    g = unique("g")
    expected = produce_wave(b, t, 6, 0, 120)
    ws = [workers(client, b.bootstrap, g, t, "%s-%d" % (client, i), **opts) for i in range(3)]
    before_join = wait_partitioned(ws, 6, 30, "3 members own the 6 partitions")

    marks = [w.mark() for w in ws]
    ws.append(workers(client, b.bootstrap, g, t, "%s-3" % client, **opts))
    after_join = wait_partitioned(ws, 6, 20, "4 members own the 6 partitions")
    expected |= produce_wave(b, t, 6, 120, 120)

    victim = ws[1]
    survivors = [w for w in ws if w is not victim]
    kill_marks = [w.mark() for w in survivors]
    victim.kill()
    killed_at = time.monotonic()
    expected |= produce_wave(b, t, 6, 240, 120)
    # The victim's session must time out; then one rebalance hands its partitions out.
    after_kill = wait_partitioned(survivors, 6, (SESSION_MS + 6000) / 1000.0,
                                  "survivors own every partition after the kill")
    took = time.monotonic() - killed_at
    assert took < (SESSION_MS + 6000) / 1000.0 * SLOW, took
    assert before_join[victim.name] <= set().union(*(after_kill[w.name] for w in survivors))
    wait_all_consumed(ws, expected, 20)
    return ws, victim, before_join, after_join, after_kill, marks, kill_marks


def test_kafka_python_join_and_sigkill(make_broker, workers):
    b = make_broker(FAST)
    ws, victim, _bj, _aj, after_kill, _m, _km = join_and_kill(b, workers, "kp")
    # Three survivors of six partitions under range: two each.
    assert sorted(len(s) for s in after_kill.values()) == [2, 2, 2], after_kill
    assert victim.proc.returncode == -signal.SIGKILL


def test_confluent_cooperative_sticky(make_broker, workers):
    b = make_broker(FAST)
    ws, victim, before_join, after_join, after_kill, marks, kill_marks = join_and_kill(
        b, workers, "ck", **{"partition.assignment.strategy": "cooperative-sticky"})
    moved = 0
    for w, m in zip(ws[:3], marks):
        old, new = before_join[w.name], after_join[w.name]
        # Incremental: a join only takes partitions away from existing members ...
        assert new <= old, (w.name, old, new)
        # ... and only those are revoked; with the eager protocol every partition would be.
        revoked = set()
        for e in w.since(m, "revoke"):
            revoked |= set(e["parts"])
        assert revoked == old - new, (w.name, old, new, revoked)
        moved += len(old - new)
    assert moved == len(after_join[ws[3].name]) > 0
    survivors = [w for w in ws if w is not victim]
    for w, m in zip(survivors, kill_marks):
        # Losing a member only hands out its partitions: survivors keep all of theirs.
        assert after_join[w.name] <= after_kill[w.name], (w.name, after_join, after_kill)
        assert w.since(m, "revoke") == [], (w.name, w.since(m, "revoke"))


def test_confluent_static_membership_restart(make_broker, workers):
    b = make_broker(FAST)
    t = create_topic(b.bootstrap, unique("grp"), 6)
    g = unique("g")
    expected = produce_wave(b, t, 6, 0, 60)

    def start(i):
        return workers("ck", b.bootstrap, g, t, "st-%d" % i,
                       **{"group.instance.id": "%s-inst-%d" % (g, i)})
    # The first member becomes the leader and stays leader; restart a follower.
    ws = [start(0)]
    wait_partitioned(ws, 6, 30, "first static member owns everything")
    ws += [start(1), start(2)]
    before = wait_partitioned(ws, 6, 30, "3 static members own the 6 partitions")
    wait_all_consumed(ws, expected, 15)

    others = [ws[0], ws[2]]
    marks = [w.mark() for w in others]
    ws[1].kill()
    killed_at = time.monotonic()
    old = ws[1]
    ws[1] = start(1)
    wait_until(lambda: ws[1].assignment() == before["st-1"], 15,
               what="restarted static member gets its partitions back")
    assert time.monotonic() - killed_at < SESSION_MS / 1000.0, \
        "rejoin took longer than the session timeout; the test proves nothing"
    expected |= produce_wave(b, t, 6, 60, 60)
    wait_all_consumed(ws + [old], expected, 15)
    # No rebalance for the others: no callbacks, same assignment.
    for w, m in zip(others, marks):
        assert w.since(m, "revoke") == [] and w.since(m, "assign") == [], \
            (w.name, w.since(m))
        assert w.assignment() == before[w.name]
    # The replaced member is gone, not counted twice.
    out = cli_ok(b, "describe", g)
    summary = parse_tables(out)[0][0]
    assert summary["MEMBERS"] == "3" and summary["STATE"] == "Stable", out


# --------------------------------------------------------------------------------------------
# kcat -G
# --------------------------------------------------------------------------------------------
def test_kcat_balanced_consumers(make_broker, tmp_path):
    b = make_broker(FAST)
    t = create_topic(b.bootstrap, unique("grp"), 4)
    g = unique("g")
    outs, procs = [], []
    for i in range(2):
        f = open(tmp_path / ("kcat%d.out" % i), "wb+")
        outs.append(f)
        procs.append(subprocess.Popen(
            ["kcat", "-b", b.bootstrap, "-G", g, "-q", "-u", "-f", "%p %o %s\\n",
             "-X", "auto.offset.reset=earliest", "-X", "session.timeout.ms=6000",
             "-X", "heartbeat.interval.ms=300", "-X", "fetch.wait.max.ms=100", t],
            stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.DEVNULL))

    def assigned():
        r = runnel("group", "describe", g, "-b", b.bootstrap)
        if r.returncode != 0:
            return False
        tabs = parse_tables(r.stdout.decode())
        rows = tabs[1] if len(tabs) > 1 else []
        owners = {row["CONSUMER-ID"] for row in rows if row["PARTITION"] != "-"}
        return tabs[0][0]["STATE"] == "Stable" and len(owners) == 2 and len(rows) == 4
    try:
        wait_until(assigned, 30, interval=0.1, what="two kcat members own 4 partitions")
        ck_produce(b.bootstrap, t, [(None, b"k%d" % i, None, None, i % 4) for i in range(80)])

        def lines():
            # Read through a new file description: seeking the one kcat writes through would
            # move kcat's own write offset and make it overwrite earlier lines.
            res = []
            for f in outs:
                with open(f.name, "rb") as r:
                    res.append([ln.split() for ln in r.read().decode().splitlines()
                                if len(ln.split()) == 3])
            return res
        wait_until(lambda: sum(len(x) for x in lines()) >= 80, 20, what="kcat consumed 80")
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(15 * SLOW)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    per = lines()
    vals = [v for x in per for (_p, _o, v) in x]
    assert sorted(vals) == sorted("k%d" % i for i in range(80)), "duplicates or losses"
    parts = [{int(p) for (p, _o, _v) in x} for x in per]
    assert parts[0] and parts[1] and not parts[0] & parts[1], parts
    # kcat commits on close: nothing left to consume.
    desc = parse_tables(cli_ok(b, "describe", g))
    assert desc[0][0]["TOTAL-LAG"] == "0" and desc[0][0]["MEMBERS"] == "0", desc
    assert sorted(int(r["CURRENT-OFFSET"]) for r in desc[1]) == [20, 20, 20, 20], desc


# --------------------------------------------------------------------------------------------
# Broker restart while a member is consuming
# --------------------------------------------------------------------------------------------
def assigned(c, n):
    """Polls confluent consumer c once (records are dropped); True once it owns n partitions."""
    c.poll(0.1)
    return len(c.assignment()) == n


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_broker_restart_resumes_from_commits(make_broker, how):
    import confluent_kafka
    # A fixed port, so the member lives through the restart like one of a real deployment.
    port = free_port()
    b = make_broker(dict(FAST, listeners="PLAINTEXT://127.0.0.1:%d" % port))
    t = create_topic(b.bootstrap, unique("grp"), 2)
    g = unique("g")
    ck_produce(b.bootstrap, t, [(None, b"a%d" % i, None, None, i % 2) for i in range(40)])
    c = ck_consumer(b.bootstrap, **{"group.id": g, "session.timeout.ms": SESSION_MS,
                                    "heartbeat.interval.ms": 300,
                                    "reconnect.backoff.max.ms": 300})
    c.subscribe([t])
    seen = []  # (partition, offset, value) in delivery order

    def consume(done, timeout=15.0):
        deadline = time.monotonic() + timeout * SLOW
        while not done() and time.monotonic() < deadline:
            m = c.poll(0.1)
            if m is not None and not m.error():
                seen.append((m.partition(), m.offset(), m.value()))
        assert done(), "consumed only %d records" % len(seen)

    def count(p):
        return sum(1 for q, _o, _v in seen if q == p)
    try:
        consume(lambda: count(0) >= 5 and count(1) >= 5)
        c.commit(asynchronous=False)
        committed = {tp.partition: tp.offset
                     for tp in c.committed([confluent_kafka.TopicPartition(t, p)
                                            for p in (0, 1)], timeout=10 * SLOW)}
        assert committed == {p: count(p) for p in (0, 1)}, committed
        n = len(seen)
        consume(lambda: len(seen) >= n + 6)  # the uncommitted window
        position = {p: count(p) for p in (0, 1)}
        mark = len(seen)

        if how == "sigterm":
            b.stop_clean()
        else:
            b.kill()
        b.start()
        # The commits are on disk: a fresh client sees them before the member does anything.
        other = ck_consumer(b.bootstrap, **{"group.id": g})
        got = other.committed([confluent_kafka.TopicPartition(t, p) for p in (0, 1)],
                              timeout=10 * SLOW)
        other.close()
        assert {tp.partition: tp.offset for tp in got} == committed
        ck_produce(b.bootstrap, t, [(None, b"b%d" % i, None, None, i % 2) for i in range(20)])
        want = {b"a%d" % i for i in range(40)} | {b"b%d" % i for i in range(20)}
        deadline = time.monotonic() + 30 * SLOW
        while not want <= {v for _p, _o, v in seen} and time.monotonic() < deadline:
            m = c.poll(0.1)
            if m is not None and not m.error():
                seen.append((m.partition(), m.offset(), m.value()))
        assert want <= {v for _p, _o, v in seen}, "records lost across the restart"
    finally:
        c.close()
    for p in (0, 1):
        after = [off for q, off, _v in seen[mark:] if q == p]
        # Resumed either at the committed offset (after a rebalance) or where it was: never
        # earlier, and with no gap from there on.
        assert after[0] in (committed[p], position[p]), (p, after[:3], committed, position)
        assert after == list(range(after[0], after[0] + len(after))), (p, after)
    # The member never committed after the restart, so a consumer of the group starts exactly at
    # the commits made before it: the uncommitted window is re-delivered, nothing older. (It
    # assigns rather than joins: the old member may still hold its session, as in Kafka.)
    c2 = ck_consumer(b.bootstrap, **{"group.id": g})
    c2.assign([confluent_kafka.TopicPartition(t, p) for p in (0, 1)])
    got = []
    want = sum(30 - committed[p] for p in (0, 1))
    deadline = time.monotonic() + 20 * SLOW
    try:
        while len(got) < want and time.monotonic() < deadline:
            m = c2.poll(0.1)
            if m is not None and not m.error():
                got.append((m.partition(), m.offset()))
    finally:
        c2.close()
    for p in (0, 1):
        assert [o for q, o in got if q == p] == list(range(committed[p], 30)), (p, committed)


# --------------------------------------------------------------------------------------------
# Commits: metadata, simple (generation -1) commits
# --------------------------------------------------------------------------------------------
def test_commit_metadata_round_trips(make_broker):
    import kafka
    import kafka.errors
    from kafka.structs import OffsetAndMetadata
    b = make_broker(FAST)
    t = create_topic(b.bootstrap, unique("grp"), 3)
    g = unique("g")
    meta = {0: "ünïcödé ☃ " + "x" * 3000, 1: "", 2: '{"json": [1, 2, "three"]}'}
    kc = kp_consumer(b.bootstrap, group_id=g)
    tps = {p: kafka.TopicPartition(t, p) for p in meta}
    kc.assign(list(tps.values()))
    kc.commit({tps[p]: OffsetAndMetadata(p + 1, meta[p]) for p in meta})
    with pytest.raises(kafka.errors.OffsetMetadataTooLargeError):
        kc.commit({tps[0]: OffsetAndMetadata(9, "y" * 5000)})
    kc.close()

    def check():
        kc2 = kp_consumer(b.bootstrap, group_id=g)
        for p in meta:
            om = kc2.committed(tps[p], metadata=True)
            assert (om.offset, om.metadata) == (p + 1, meta[p]), (p, om.offset)
        kc2.close()
        ad = kp_admin(b.bootstrap)
        offs = ad.list_consumer_group_offsets(g)
        ad.close()
        assert {tp.partition: (om.offset, om.metadata) for tp, om in offs.items()} == \
            {p: (p + 1, meta[p]) for p in meta}
    check()
    b.restart()
    check()


def test_simple_commits_generation_minus_one(make_broker):
    import confluent_kafka
    from confluent_kafka import TopicPartition as TP
    b = make_broker(FAST)
    t = create_topic(b.bootstrap, unique("grp"), 2)
    ck_produce(b.bootstrap, t, [(None, b"s%d" % i, None, None, i % 2) for i in range(10)])
    g = unique("g")
    c = ck_consumer(b.bootstrap, **{"group.id": g})
    c.assign([TP(t, 0, confluent_kafka.OFFSET_BEGINNING), TP(t, 1, confluent_kafka.OFFSET_BEGINNING)])
    got = []
    deadline = time.monotonic() + 10 * SLOW
    while len(got) < 10 and time.monotonic() < deadline:
        m = c.poll(0.1)
        if m is not None and not m.error():
            got.append(m)
    assert len(got) == 10
    res = c.commit(offsets=[TP(t, 0, 4), TP(t, 1, 2)], asynchronous=False)
    assert all(tp.error is None for tp in res), res
    c.commit(asynchronous=False)  # the positions: 5 and 5
    assert [tp.offset for tp in c.committed([TP(t, 0), TP(t, 1)], timeout=10 * SLOW)] == [5, 5]

    # A group of only commits: Empty, no members, lag from the commits.
    desc = parse_tables(cli_ok(b, "describe", g))
    assert desc[0][0]["STATE"] == "Empty" and desc[0][0]["MEMBERS"] == "0"
    assert [(r["PARTITION"], r["CURRENT-OFFSET"], r["CONSUMER-ID"]) for r in desc[1]] == \
        [("0", "5", "-"), ("1", "5", "-")]

    # Once the group has members, a generation -1 commit is refused (Kafka: UNKNOWN_MEMBER_ID)
    # and the members' offsets stand.
    member = ck_consumer(b.bootstrap, **{"group.id": g, "session.timeout.ms": SESSION_MS,
                                         "heartbeat.interval.ms": 300})
    member.subscribe([t])
    try:
        wait_until(lambda: assigned(member, 2), 20, what="member owns both partitions")
        with pytest.raises(confluent_kafka.KafkaException) as ei:
            c.commit(offsets=[TP(t, 0, 1)], asynchronous=False)
        assert ei.value.args[0].code() == confluent_kafka.KafkaError.UNKNOWN_MEMBER_ID, ei.value
    finally:
        member.close()
        c.close()
    other = ck_consumer(b.bootstrap, **{"group.id": g})
    offs = other.committed([TP(t, 0), TP(t, 1)], timeout=10 * SLOW)
    other.close()
    assert [tp.offset for tp in offs] == [5, 5]


def test_negative_commit_is_stored(make_broker):
    """An admin "reset to earliest" commits -2 (OFFSET_BEGINNING): Kafka stores it and
    OffsetFetch returns it, so the group's next consumer starts from the beginning whatever its
    auto.offset.reset says. Before, a negative commit erased the stored offset (-1 = none), so
    the consumer fell back to latest. The value also survives a restart (replay)."""
    import confluent_kafka
    import kafka
    from kafka.structs import OffsetAndMetadata
    b = make_broker(FAST)
    t = create_topic(b.bootstrap, unique("grp"), 1)
    ck_produce(b.bootstrap, t, [(None, b"n%d" % i) for i in range(6)])
    g = unique("g")
    tp = kafka.TopicPartition(t, 0)
    kc = kp_consumer(b.bootstrap, group_id=g)
    kc.assign([tp])
    kc.commit({tp: OffsetAndMetadata(4, "")})
    kc.commit({tp: OffsetAndMetadata(-2, "reset")})
    kc.close()

    def stored():
        ad = kp_admin(b.bootstrap)
        offs = ad.list_consumer_group_offsets(g)
        ad.close()
        return {p.partition: (om.offset, om.metadata) for p, om in offs.items()}
    assert stored() == {0: (-2, "reset")}
    b.restart()
    assert stored() == {0: (-2, "reset")}
    assert committed_offsets(b, g, t, [0]) == [confluent_kafka.OFFSET_BEGINNING]

    c = ck_consumer(b.bootstrap, **{"group.id": g, "auto.offset.reset": "latest"})
    c.subscribe([t])
    got = []
    deadline = time.monotonic() + 20 * SLOW
    try:
        while len(got) < 6 and time.monotonic() < deadline:
            m = c.poll(0.1)
            if m is not None and not m.error():
                got.append(m.offset())
    finally:
        c.close()
    assert got == list(range(6))


def test_delete_topic_deletes_its_offsets(make_broker):
    """Deleting a topic deletes its committed offsets in every group, durably (Kafka's
    handleDeletedPartitions writes tombstones); a group left Empty without offsets goes; a
    group that still has members or other offsets stays, and `runnel group describe` of it
    works although its member's assignment names the topic that is gone."""
    import kafka
    from confluent_kafka import TopicPartition as TP
    from kafka.structs import OffsetAndMetadata
    b = make_broker(FAST)
    gone = create_topic(b.bootstrap, unique("gone"), 2)
    kept = create_topic(b.bootstrap, unique("kept"), 1)
    ck_produce(b.bootstrap, gone, [(None, b"x%d" % i, None, None, i % 2) for i in range(6)])
    ck_produce(b.bootstrap, kept, [(None, b"y%d" % i) for i in range(4)])
    only_gone, both, live = unique("g"), unique("g"), unique("g")
    for g, tps in ((only_gone, [TP(gone, 0, 2), TP(gone, 1, 1)]),
                   (both, [TP(gone, 0, 3), TP(kept, 0, 4)])):
        c = ck_consumer(b.bootstrap, **{"group.id": g})
        res = c.commit(offsets=tps, asynchronous=False)
        assert all(tp.error is None for tp in res), res
        c.close()
    # The live member is kafka-python: librdkafka 2.0.2 can hang in close() once a topic it
    # consumed was deleted (toppars of the gone topic keep a reference).
    member = kp_consumer(b.bootstrap, group_id=live, session_timeout_ms=SESSION_MS,
                         heartbeat_interval_ms=300)
    member.subscribe([gone, kept])

    def owns(n):
        member.poll(timeout_ms=100)
        return len(member.assignment()) == n
    try:
        wait_until(lambda: owns(3), 20, what="member owns three partitions")
        member.commit({kafka.TopicPartition(gone, 1): OffsetAndMetadata(3, ""),
                       kafka.TopicPartition(kept, 0): OffsetAndMetadata(2, "")})
        a = ck_admin(b.bootstrap)
        a.delete_topics([gone], operation_timeout=10)[gone].result(10 * SLOW)

        def offsets(g):
            ad = kp_admin(b.bootstrap)
            offs = ad.list_consumer_group_offsets(g)
            ad.close()
            return {(tp.topic, tp.partition): om.offset for tp, om in offs.items()}
        wait_until(lambda: offsets(live) == {(kept, 0): 2}, 10, what="offsets of %s" % gone)
        assert offsets(both) == {(kept, 0): 4}
        assert offsets(only_gone) == {}
        groups = cli_ok(b, "list").split()
        assert both in groups and live in groups and only_gone not in groups, groups
        summary, rows = parse_tables(cli_ok(b, "describe", live))
        assert summary[0]["MEMBERS"] == "1", summary
        assert [(r["TOPIC"], r["CURRENT-OFFSET"]) for r in rows if r["TOPIC"] == kept] == \
            [(kept, "2")], rows
        summary, rows = parse_tables(cli_ok(b, "describe", both))
        assert [(r["TOPIC"], r["PARTITION"], r["CURRENT-OFFSET"]) for r in rows] == \
            [(kept, "0", "4")], rows
    finally:
        member.close()
    b.restart()
    assert committed_offsets(b, both, kept, [0]) == [4]
    ad = kp_admin(b.bootstrap)
    assert {tp.topic for tp in ad.list_consumer_group_offsets(both)} == {kept}
    assert ad.list_consumer_group_offsets(only_gone) == {}
    ad.close()


# --------------------------------------------------------------------------------------------
# runnel group
# --------------------------------------------------------------------------------------------
def parse_tables(out):
    """Blank-line separated whitespace tables -> [[{header: cell}]]."""
    tables = []
    for block in out.strip("\n").split("\n\n"):
        lines = [ln.split() for ln in block.splitlines() if ln.strip()]
        if lines:
            tables.append([dict(zip(lines[0], row)) for row in lines[1:]])
    return tables


def cli(b, *args):
    return runnel("group", *args, "-b", b.bootstrap)


def cli_ok(b, *args):
    r = cli(b, *args)
    assert r.returncode == 0, "runnel group %r rc=%d stderr=%s" % (
        args, r.returncode, r.stderr.decode(errors="replace"))
    return r.stdout.decode()


def cli_err(b, *args, rc=1, bootstrap=True):
    r = cli(b, *args) if bootstrap else runnel("group", *args)
    err = r.stderr.decode(errors="replace")
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert r.returncode == rc, "rc=%d (want %d) stderr=%s" % (r.returncode, rc, err)
    assert len(lines) == 1, "expected one line on stderr, got:\n%s" % err
    assert r.stdout == b"", r.stdout
    return lines[0]


def committed_offsets(b, g, t, parts):
    import confluent_kafka
    c = ck_consumer(b.bootstrap, **{"group.id": g})
    res = c.committed([confluent_kafka.TopicPartition(t, p) for p in parts], timeout=10 * SLOW)
    c.close()
    return [tp.offset for tp in res]


def test_cli_help():
    r = runnel("--help")
    assert r.returncode == 0 and b"group" in r.stdout
    r = runnel("group", "--help")
    out = r.stdout.decode()
    assert r.returncode == 0
    for w in ("list", "describe", "delete", "reset-offsets", "--topic", "--to-earliest",
              "--to-latest", "--to-offset", "--to-datetime", "--execute", "--all-topics",
              "--bootstrap-server", "-X"):
        assert w in out, w


def test_cli_usage_errors():
    assert "missing action" in cli_err(None, rc=2, bootstrap=False)
    assert "unknown action" in cli_err(None, "explode", rc=2, bootstrap=False)
    assert "missing GROUP" in cli_err(None, "describe", rc=2, bootstrap=False)
    cli_err(None, "list", "--nope", rc=2, bootstrap=False)
    cli_err(None, "reset-offsets", "g", "--to-earliest", rc=2, bootstrap=False)
    cli_err(None, "reset-offsets", "g", "--topic", "t", rc=2, bootstrap=False)
    cli_err(None, "reset-offsets", "g", "--topic", "t", "--to-earliest", "--to-latest", rc=2,
            bootstrap=False)
    assert "--to-datetime" in cli_err(None, "reset-offsets", "g", "--topic", "t",
                                      "--to-datetime", "yesterday", rc=2, bootstrap=False)
    assert "--topic" in cli_err(None, "reset-offsets", "g", "--topic", "t:x", "--to-latest",
                                "-b", "127.0.0.1:1", rc=2, bootstrap=False)
    cli_err(None, "describe", "g", "--execute", rc=2, bootstrap=False)
    # An unreachable broker: one line naming the cause, exit 1, the same shape as every
    # client subcommand (test_cli.py).
    for args in (["list"], ["describe", "g"], ["delete", "g"],
                 ["reset-offsets", "g", "--topic", "t", "--to-latest"]):
        line = cli_err(None, *args, "-b", "127.0.0.1:1", "--timeout-ms", "500",
                       bootstrap=False)
        assert line == "runnel group %s: cannot connect to 127.0.0.1:1: Connection refused" \
            % args[0], line


def test_cli_list_describe_delete_reset(make_broker):
    import confluent_kafka
    from confluent_kafka import TopicPartition as TP
    b = make_broker(FAST)
    t = create_topic(b.bootstrap, unique("grp"), 2)
    base = 1672531200000  # 2023-01-01T00:00:00Z; record i of partition 0 is i seconds later
    ck_produce(b.bootstrap, t, [(None, b"p0-%d" % i, None, base + i * 1000, 0) for i in range(10)]
               + [(None, b"p1-%d" % i, None, base + i * 1000, 1) for i in range(6)])
    g = unique("g")
    c = ck_consumer(b.bootstrap, **{"group.id": g, "client.id": "cli-test-client",
                                    "session.timeout.ms": SESSION_MS,
                                    "heartbeat.interval.ms": 300})
    c.subscribe([t])
    try:
        wait_until(lambda: assigned(c, 2), 20, what="member owns both partitions")
        c.commit(offsets=[TP(t, 0, 7), TP(t, 1, 6)], asynchronous=False)
        assert g in cli_ok(b, "list").split()
        assert {"GROUP": g, "STATE": "Stable"} in parse_tables(cli_ok(b, "list", "--state"))[0]
        summary, rows = parse_tables(cli_ok(b, "describe", g))
        assert summary == [{"GROUP": g, "COORDINATOR": "1", "STATE": "Stable",
                            "PROTOCOL": "range", "MEMBERS": "1", "TOTAL-LAG": "3"}], summary
        mid = rows[0]["CONSUMER-ID"]
        assert mid.startswith("cli-test-client")
        assert rows == [
            {"GROUP": g, "TOPIC": t, "PARTITION": "0", "CURRENT-OFFSET": "7",
             "LOG-END-OFFSET": "10", "LAG": "3", "CONSUMER-ID": mid, "HOST": "/127.0.0.1",
             "CLIENT-ID": "cli-test-client"},
            {"GROUP": g, "TOPIC": t, "PARTITION": "1", "CURRENT-OFFSET": "6",
             "LOG-END-OFFSET": "6", "LAG": "0", "CONSUMER-ID": mid, "HOST": "/127.0.0.1",
             "CLIENT-ID": "cli-test-client"}], rows
        # Refused while the member is in, with the broker's error / Kafka's rule.
        assert "not empty" in cli_err(b, "delete", g).lower()
        line = cli_err(b, "reset-offsets", g, "--topic", t, "--to-earliest", "--execute")
        assert "active member" in line and "Stable" in line
        assert committed_offsets(b, g, t, [0, 1]) == [7, 6]
    finally:
        c.close()

    wait_until(lambda: "Empty" in cli_ok(b, "list", "--state"), 10, what="group Empty")
    r = cli(b, "describe", g)
    summary, rows = parse_tables(r.stdout.decode())
    assert summary[0]["STATE"] == "Empty" and summary[0]["MEMBERS"] == "0"
    assert summary[0]["PROTOCOL"] == "-" and summary[0]["TOTAL-LAG"] == "3"
    assert "has no active members" in r.stderr.decode()
    assert [(x["PARTITION"], x["CURRENT-OFFSET"], x["LAG"], x["CONSUMER-ID"], x["HOST"],
             x["CLIENT-ID"]) for x in rows] == [("0", "7", "3", "-", "-", "-"),
                                                ("1", "6", "0", "-", "-", "-")]

    def plan(*args):
        r = cli(b, "reset-offsets", g, *args)
        assert r.returncode == 0, r.stderr
        tab = parse_tables(r.stdout.decode())[0]
        assert all(x["GROUP"] == g and x["TOPIC"] == t for x in tab)
        return r, [(int(x["PARTITION"]), int(x["NEW-OFFSET"])) for x in tab]

    # Dry runs change nothing.
    r, p = plan("--topic", t, "--to-earliest")
    assert p == [(0, 0), (1, 0)] and b"--execute" in r.stderr
    assert plan("--topic", t, "--to-latest")[1] == [(0, 10), (1, 6)]
    assert plan("--topic", t + ":1", "--to-offset", "4")[1] == [(1, 4)]
    assert plan("--topic", t, "--to-offset", "99")[1] == [(0, 10), (1, 6)]  # clamped
    assert plan("--topic", t + ":0", "--to-datetime", "2023-01-01T00:00:04.500Z")[1] == [(0, 5)]
    assert plan("--topic", t + ":0", "--to-datetime", "2023-01-01T01:00:03+01:00")[1] == [(0, 3)]
    assert plan("--topic", t, "--to-datetime", "2022-12-31T00:00:00Z")[1] == [(0, 0), (1, 0)]
    assert plan("--topic", t, "--to-datetime", "2099-01-01T00:00:00Z")[1] == [(0, 10), (1, 6)]
    assert plan("--all-topics", "--to-earliest", "--dry-run")[1] == [(0, 0), (1, 0)]
    assert committed_offsets(b, g, t, [0, 1]) == [7, 6]

    # --execute commits.
    assert plan("--topic", t + ":0", "--to-offset", "3", "--execute")[1] == [(0, 3)]
    assert committed_offsets(b, g, t, [0, 1]) == [3, 6]
    assert plan("--topic", t, "--to-datetime", "2023-01-01T00:00:02Z", "--execute")[1] == \
        [(0, 2), (1, 2)]
    assert committed_offsets(b, g, t, [0, 1]) == [2, 2]
    assert plan("--all-topics", "--to-latest", "--execute")[1] == [(0, 10), (1, 6)]
    assert parse_tables(cli_ok(b, "describe", g))[0][0]["TOTAL-LAG"] == "0"
    # A consumer of the group starts where the reset put it.
    ck_produce(b.bootstrap, t, [(None, b"new", None, None, 1)])
    c = ck_consumer(b.bootstrap, **{"group.id": g})
    c.subscribe([t])
    m = wait_until(lambda: (lambda m: m if m is not None and not m.error() else None)(
        c.poll(0.2)), 20, what="first record after reset")
    c.close()
    assert (m.partition(), m.offset(), m.value()) == (1, 6, b"new")

    # Errors: one line, exit 1.
    assert "does not exist" in cli_err(b, "reset-offsets", g, "--topic", "nope-" + t,
                                       "--to-latest")
    assert "no partition 5" in cli_err(b, "reset-offsets", g, "--topic", t + ":0,5",
                                       "--to-latest")
    missing = unique("nogroup")
    assert "does not exist" in cli_err(b, "describe", missing)
    assert "does not exist" in cli_err(b, "delete", missing)

    # Resetting a group that does not exist yet creates its offsets, as in Kafka.
    g2 = unique("g")
    plan_new = cli_ok(b, "reset-offsets", g2, "--topic", t, "--to-offset", "1", "--execute")
    assert [x["NEW-OFFSET"] for x in parse_tables(plan_new)[0]] == ["1", "1"]
    assert committed_offsets(b, g2, t, [0, 1]) == [1, 1]
    assert parse_tables(cli_ok(b, "describe", g2))[0][0]["TOTAL-LAG"] == str(9 + 6)

    out = cli_ok(b, "delete", g, g2)
    assert out.count("was successful") == 2
    names = cli_ok(b, "list").split()
    assert g not in names and g2 not in names
    assert "does not exist" in cli_err(b, "describe", g)
    assert committed_offsets(b, g, t, [0, 1]) == [confluent_kafka.OFFSET_INVALID] * 2


# --------------------------------------------------------------------------------------------
# Lag metrics on /metrics
# --------------------------------------------------------------------------------------------
def test_lag_metrics(make_broker):
    from confluent_kafka import TopicPartition as TP
    b = make_broker(FAST)
    t = create_topic(b.bootstrap, unique("grp"), 2)
    N, M = 10, 6
    ck_produce(b.bootstrap, t, [(None, b"m%d" % i, None, None, 0) for i in range(N)]
               + [(None, b"q", None, None, 1)] * 4)
    g = unique("g")
    c = ck_consumer(b.bootstrap, **{"group.id": g, "session.timeout.ms": SESSION_MS,
                                    "heartbeat.interval.ms": 300})
    c.subscribe([t])
    lab = {"consumergroup": g, "topic": t, "partition": 0}
    lab1 = dict(lab, partition=1)
    try:
        wait_until(lambda: assigned(c, 2), 20, what="member owns both partitions")
        c.commit(offsets=[TP(t, 0, M), TP(t, 1, 4)], asynchronous=False)
        wait_until(lambda: b.metric("kafka_consumergroup_lag", lab) == N - M, 5,
                   what="lag N-M")
        text = b.metrics()
        assert metric_value(text, "kafka_consumergroup_current_offset", lab) == M
        assert metric_value(text, "kafka_consumergroup_lag", lab1) == 0
        assert metric_value(text, "kafka_consumergroup_current_offset", lab1) == 4
        assert metric_value(text, "kafka_consumergroup_members", {"consumergroup": g}) == 1
        assert metric_value(text, "kafka_consumergroup_lag_seconds", lab) >= 0
    finally:
        c.close()
    # A group without members keeps its series, and lag follows the log end.
    wait_until(lambda: b.metric("kafka_consumergroup_members", {"consumergroup": g}) == 0, 10,
               what="members 0 after close")
    assert b.metric("kafka_consumergroup_lag", lab) == N - M
    ck_produce(b.bootstrap, t, [(None, b"more", None, None, 0)] * 5)
    wait_until(lambda: b.metric("kafka_consumergroup_lag", lab) == N - M + 5, 5,
               what="lag grows with the log end")
    assert b.metric("kafka_consumergroup_current_offset", lab) == M
    # The CLI reads the same numbers.
    desc = parse_tables(cli_ok(b, "describe", g))
    assert desc[0][0]["TOTAL-LAG"] == str(N - M + 5)
    assert [r["LAG"] for r in desc[1]] == [str(N - M + 5), "0"]


def test_lag_series_are_capped(make_broker):
    import kafka
    from kafka.structs import OffsetAndMetadata
    b = make_broker(dict(FAST, **{"runnel.metrics.max.group.series": 3}))
    t = create_topic(b.bootstrap, unique("grp"), 4)
    for _ in range(2):
        kc = kp_consumer(b.bootstrap, group_id=unique("g"))
        tps = [kafka.TopicPartition(t, p) for p in range(4)]
        kc.assign(tps)
        kc.commit({tp: OffsetAndMetadata(0, "") for tp in tps})
        kc.close()
    text = b.metrics()
    assert 0 < len(metric_samples(text, "kafka_consumergroup_lag")) <= 3
    assert len(metric_samples(text, "kafka_consumergroup_current_offset")) <= 3
