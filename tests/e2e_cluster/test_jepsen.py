"""Jepsen-style safety test: acknowledged writes survive crashes, pauses, partitions and etcd
leader loss, exactly once and in order, and no two leaders ever accept writes in one epoch.

3 etcd members, 3 brokers (in network namespaces when the machine allows, so a leader can be
cut off), topic `jepsen`: 3 partitions, RF=3, min.insync.replicas=2. Idempotent producers
(confluent-kafka, acks=all) write continuously numbered records (key = writer id, value = its
sequence number, partition = sequence mod 3) and keep every acknowledged (partition, offset).
A nemesis runs one fault at a time, with recovery (every partition led, full ISR) in between:
  kill        SIGKILL a broker, restart it a moment later
  pause       SIGSTOP the leader of a partition for longer than its lease (another leads), then
              SIGCONT; at once a raw acks=1 Produce to it must be refused: its old epoch is over
  partition   cut the leader of a partition off the network (NetLab.isolate) until another
              leads, then heal (skipped where network namespaces are unavailable)
  etcd        SIGKILL the etcd raft leader, restart it
The checker then reads every partition from its leader and verifies: every acknowledged record
at its acknowledged offset; no record twice; each writer's records in order within a
partition; batch leader epochs non-decreasing along each log and each one an epoch etcd
granted; and, from the full history of the partition states in etcd (replayed with
`etcdctl watch --rev 1`), one leader per epoch. Finally the three replicas of each partition
hold the same batches.

RUNNEL_JEPSEN_SEED replays a run (the seed is printed); RUNNEL_JEPSEN_SECONDS sets the nemesis
time (CI: 75 s; at least one round of every fault runs).
"""
import json
import os
import random
import struct
import sys
import threading
import time

import pytest

from conftest import (SLOW, Etcd, i16, i32, kbytes, karray, kstr, parse_batches,
                      record_batch, wait_until)

TOPIC = "jepsen"
PARTITIONS = 3
WRITERS = 2
RATE = 100  # records per second per writer
SEED = int(os.environ.get("RUNNEL_JEPSEN_SEED") or random.SystemRandom().randrange(1 << 30))
SECONDS = float(os.environ.get("RUNNEL_JEPSEN_SECONDS") or 75)
SESSION_MS = 2000  # broker.session.timeout.ms (the default, spelled out: pauses exceed it)

NOT_LEADER_OR_FOLLOWER = 6


def log(msg):
    sys.stderr.write("[jepsen %7.2f] %s\n" % (time.monotonic() - T0, msg))
    sys.stderr.flush()


T0 = time.monotonic()


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------
class Writer(threading.Thread):
    """One idempotent producer writing key=wid, value=seq to partition seq % 3."""

    def __init__(self, wid, bootstrap):
        super().__init__(daemon=True)
        self.wid = wid
        self.bootstrap = bootstrap
        self.acked = []    # (partition, offset, seq)
        self.failed = []   # (seq, error string): not acknowledged, may or may not be in the log
        self.fatal = []
        self.sent = 0
        self.stop_flag = threading.Event()

    def producer(self):
        import confluent_kafka
        return confluent_kafka.Producer({
            "bootstrap.servers": self.bootstrap, "enable.idempotence": True, "acks": "all",
            "linger.ms": 5, "compression.codec": "none", "message.timeout.ms": 60000,
            "socket.timeout.ms": 10000, "retry.backoff.ms": 100,
            "topic.metadata.refresh.interval.ms": 1000, "log.connection.close": False,
            "client.id": "jepsen-" + self.wid})

    def run(self):
        p = self.producer()
        seq = 0
        key = self.wid.encode()
        start = time.monotonic()

        def cb(s):
            def f(err, msg):
                if err is None:
                    self.acked.append((msg.partition(), msg.offset(), s))
                else:
                    self.failed.append((s, str(err)))
                    if err.fatal():
                        self.fatal.append((s, str(err)))
            return f
        while not self.stop_flag.is_set() and not self.fatal:
            try:
                p.produce(TOPIC, key=key, value=b"%d" % seq, partition=seq % PARTITIONS,
                          on_delivery=cb(seq))
                seq += 1
                self.sent = seq
            except BufferError:
                p.poll(0.05)
                continue
            p.poll(0)
            ahead = seq / RATE - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
        left = p.flush(120 * SLOW)
        if left:
            self.failed.append((-1, "%d not delivered at the end" % left))


# --------------------------------------------------------------------------------------------
# Nemesis
# --------------------------------------------------------------------------------------------
class Nemesis:
    def __init__(self, rng, cluster, etcd, lab):
        self.rng = rng
        self.c = cluster
        self.etcd = etcd
        self.lab = lab
        self.history = []
        self.violations = []

    def kinds(self):
        k = ["kill", "pause", "etcd"]
        if self.lab:
            k.append("partition")
        return k

    def op(self, kind):
        log("nemesis: %s" % kind)
        self.history.append((round(time.monotonic() - T0, 2), kind))
        getattr(self, "op_" + kind)()

    def op_kill(self):
        b = self.rng.randint(1, 3)
        self.c.broker(b).kill()
        log("  SIGKILL broker %d" % b)
        time.sleep(self.rng.uniform(0.5, 4.0))
        self.c.broker(b).start()
        log("  restarted broker %d" % b)

    def op_pause(self):
        p = self.rng.randrange(PARTITIONS)
        lead = self.c.leader_of(TOPIC, p)
        old = self.c.partition(TOPIC, p)
        b = self.c.broker(lead)
        b.pause()
        log("  SIGSTOP broker %d (leader of %d in epoch %d)" % (lead, p, old["leader_epoch"]))
        try:
            new = self.c.leader_of(TOPIC, p, exclude=(lead,), timeout=30.0)
            log("  partition %d now led by %d" % (p, new))
            time.sleep(self.rng.uniform(0.2, 2.0))
        finally:
            b.resume()
        # The first thing it may do after SIGCONT: take a write. It must refuse it (its lease is
        # gone, its epoch is over) rather than acknowledge it.
        err = self.probe(b, p)
        log("  SIGCONT broker %d; its answer to an acks=1 write: error %d" % (lead, err))
        if err == 0:
            self.violations.append("broker %d acknowledged an acks=1 write to partition %d right "
                                   "after a pause longer than its lease" % (lead, p))

    def probe(self, b, p):
        batch = record_batch([(b"probe", b"probe-%d" % p)])
        body = (kstr(None) + i16(1) + i32(5000) +
                karray([TOPIC], lambda t: kstr(t) + karray([p], lambda q: i32(q) + kbytes(batch))))
        try:
            with b.raw(timeout=10.0) as conn:
                r = conn.request(0, 3, body)
                res = r.array(lambda r: (r.str(), r.array(
                    lambda r: (r.i32(), r.i16(), r.i64(), r.i64()))))
                return res[0][1][0][1]
        except (OSError, ConnectionError) as e:
            log("  probe: %s" % e)
            return -1

    def op_partition(self):
        p = self.rng.randrange(PARTITIONS)
        lead = self.c.leader_of(TOPIC, p)
        self.lab.isolate(lead)
        log("  isolated broker %d (leader of %d)" % (lead, p))
        try:
            new = self.c.leader_of(TOPIC, p, exclude=(lead,), timeout=30.0)
            log("  partition %d now led by %d" % (p, new))
            time.sleep(self.rng.uniform(0.5, 3.0))
        finally:
            self.lab.heal(lead)
        log("  healed broker %d" % lead)

    def op_etcd(self):
        i = self.etcd.leader()
        self.etcd.kill(i)
        log("  SIGKILL etcd member %d (raft leader)" % i)
        time.sleep(self.rng.uniform(1.0, 4.0))
        self.etcd.restart(i)
        log("  restarted etcd member %d" % i)

    def recover(self):
        """Every broker up and registered, every partition led with its full ISR."""
        self.etcd.wait_healthy(60.0)
        for b in self.c.brokers:
            if not b.alive():
                raise AssertionError("broker %d died:\n%s" % (b.node_id, b.tail()))
        self.c.wait_brokers(3, timeout=60.0)
        for p in range(PARTITIONS):
            self.c.wait_for_isr(TOPIC, p, 3, timeout=90.0)


# --------------------------------------------------------------------------------------------
# Checker
# --------------------------------------------------------------------------------------------
def walk_batches(data):
    """[(base offset, leader epoch, crc, raw batch bytes)] of the whole batches in data."""
    out, pos = [], 0
    while pos + 61 <= len(data):
        base, length, epoch = struct.unpack_from(">qii", data, pos)
        end = pos + 12 + length
        if end > len(data):
            break
        crc = struct.unpack_from(">I", data, pos + 17)[0]
        PRODUCER[base] = struct.unpack_from(">qhi", data, pos + 43)
        out.append((base, epoch, crc, data[pos:end]))
        pos = end
    return out


# Batch base offset -> (producer id, producer epoch, base sequence) of the last batches read, so
# that a duplicate tells a broker that accepted one sequence twice (same id, epoch, sequence)
# from a client that re-sent it under a bumped epoch.
PRODUCER = {}


def read_partition(cluster, p):
    """The partition from its leader up to the high watermark -> [(batch base, epoch, crc,
    [(offset, key, value)])]."""
    lead = cluster.leader_of(TOPIC, p)
    out, offset = [], 0
    with cluster.broker(lead).raw(timeout=30.0) as conn:
        while True:
            err, hwm, recs = conn.fetch(TOPIC, p, offset, max_bytes=4 << 20,
                                        partition_max=4 << 20)
            assert err == 0, "fetch %s-%d@%d from %d: error %d" % (TOPIC, p, offset, lead, err)
            batches = walk_batches(recs)
            if not batches:
                assert offset >= hwm, "no batch at %d below the high watermark %d" % (offset,
                                                                                     hwm)
                return out
            for base, epoch, crc, raw in batches:
                rs = [(o, k, v) for o, _ts, k, v, _h in parse_batches(raw)]
                if rs and rs[-1][0] >= offset:
                    out.append((base, epoch, crc, rs))
                    offset = rs[-1][0] + 1


def epoch_history(etcd, prefix):
    """{partition: [(revision, leader, leader_epoch)]} from the whole history of the partition
    states (etcd keeps every revision: no compaction is configured)."""
    key_prefix = "%s/partitions/%s/" % (prefix, TOPIC)
    r = etcd.ctl("get", key_prefix, "--prefix", "-w", "json")
    last = max(int(kv["mod_revision"]) for kv in json.loads(r.stdout).get("kvs", []))
    w = etcd.watch(key_prefix, os.path.join(etcd.base_dir, "history.json"), rev=1)
    try:
        wait_until(lambda: any(rev >= last for rev, _k, _v in w.events()), 30.0, interval=0.2,
                   what="etcd history replayed up to revision %d" % last)
    finally:
        w.stop()
    hist = {}
    for rev, key, val in w.events():
        if val is None:
            continue
        st = json.loads(val)
        hist.setdefault(int(key.rsplit("/", 1)[1]), []).append(
            (rev, st["leader"], st["leader_epoch"]))
    return hist


def check_logs(logs, acked, hist):
    """The checker proper, on plain data so that a test can feed it broken histories.
    logs: {p: [(base, epoch, crc, [(offset, key, value)])]}; acked: {wid: [(p, offset, seq)]};
    hist: {p: [(revision, leader, leader_epoch)]}. Returns a list of problems."""
    problems = []
    at = {}     # (p, offset) -> (key, value)
    seen = {}   # (wid, seq) -> (p, offset)
    for p, batches in sorted(logs.items()):
        last_epoch = -1
        per_writer = {}
        for base, epoch, _crc, recs in batches:
            if epoch < last_epoch:
                problems.append("partition %d: batch at %d has leader epoch %d after epoch %d"
                                % (p, base, epoch, last_epoch))
            last_epoch = max(last_epoch, epoch)
            for off, key, val in recs:
                at[(p, off)] = (key, val)
                if key == b"probe":
                    continue
                wid, seq = key.decode(), int(val)
                if (wid, seq) in seen:
                    first = seen[(wid, seq)]
                    problems.append("duplicate: %s/%d at %s-%d@%d and %r (producer id, "
                                    "epoch, base sequence of the batches: %r and %r)"
                                    % (wid, seq, TOPIC, p, off, first[:2],
                                       PRODUCER.get(base), PRODUCER.get(first[2])))
                seen[(wid, seq)] = (p, off, base)
                prev = per_writer.get(wid, -1)
                if seq <= prev:
                    problems.append("order: %s/%d at %d-%d after %s/%d" % (wid, seq, p, off, wid,
                                                                          prev))
                per_writer[wid] = seq
    for wid, recs in sorted(acked.items()):
        for p, off, seq in recs:
            if off is None:
                # librdkafka acknowledges without an offset only after DUPLICATE_SEQUENCE_NUMBER
                # or a base offset of -1, neither of which Runnel should answer.
                problems.append("no offset: %s/%d acknowledged without an offset; the log has "
                                "it at %r" % (wid, seq, seen.get((wid, seq))))
                continue
            got = at.get((p, off))
            if got != (wid.encode(), b"%d" % seq):
                problems.append("lost: %s/%d acknowledged at %s-%d@%d, log has %r"
                                % (wid, seq, TOPIC, p, off, got))
    for p, events in sorted(hist.items()):
        leaders = {}
        for _rev, leader, epoch in events:
            if leader >= 0:
                leaders.setdefault(epoch, set()).add(leader)
        for epoch, ls in sorted(leaders.items()):
            if len(ls) > 1:
                problems.append("partition %d: epoch %d had leaders %r" % (p, epoch, sorted(ls)))
        for base, epoch, _crc, _recs in logs.get(p, []):
            if epoch not in leaders:
                problems.append("partition %d: batch at %d written in epoch %d, which etcd never "
                                "gave a leader" % (p, base, epoch))
                break
    return problems


def check(cluster, etcd, writers, nemesis):
    logs = {p: read_partition(cluster, p) for p in range(PARTITIONS)}
    hist = epoch_history(etcd, cluster.prefix)
    problems = list(nemesis.violations)
    problems += check_logs(logs, {w.wid: w.acked for w in writers}, hist)
    for w in writers:
        if w.fatal:
            problems.append("writer %s: fatal producer errors %r" % (w.wid, w.fatal[:3]))
    acked = sum(len(w.acked) for w in writers)
    records = sum(len(r) for b in logs.values() for _b, _e, _c, r in b)
    epochs = {p: sorted({e for _r, _l, e in ev}) for p, ev in hist.items()}
    log("checker: %d acknowledged, %d records in the logs, %d failed sends, epochs per "
        "partition %r" % (acked, records, sum(len(w.failed) for w in writers), epochs))
    return problems, logs, acked


def replicas_agree(cluster, logs):
    """After a clean stop: each broker's files for each partition hold the leader's batches."""
    problems = []
    for p in range(PARTITIONS):
        want = [(base, epoch, crc) for base, epoch, crc, _r in logs[p]]
        for b in cluster.brokers:
            d = b.partition_dir(TOPIC, p)
            data = b"".join(open(os.path.join(d, f), "rb").read()
                            for f in sorted(os.listdir(d)) if f.endswith(".log"))
            have = [(base, epoch, crc) for base, epoch, crc, _raw in walk_batches(data)]
            if have[:len(want)] != want:
                first = next((i for i, (x, y) in enumerate(zip(have, want)) if x != y),
                             min(len(have), len(want)))
                problems.append("partition %d: broker %d's log differs from the leader's at "
                                "batch %d (have %r, want %r)" % (
                                    p, b.node_id, first, have[first:first + 1],
                                    want[first:first + 1]))
    return problems


def test_checker_catches_broken_histories():
    """The checker itself: a clean history passes; each kind of violation is reported."""
    def batch(base, epoch, recs):
        return (base, epoch, 0, [(base + i, k, v) for i, (k, v) in enumerate(recs)])
    good_logs = {0: [batch(0, 0, [(b"w0", b"0"), (b"w1", b"0")]), batch(2, 1, [(b"w0", b"3")])]}
    good_acked = {"w0": [(0, 0, 0), (0, 2, 3)], "w1": [(0, 1, 0)]}
    good_hist = {0: [(5, 1, 0), (9, 2, 1)]}
    assert check_logs(good_logs, good_acked, good_hist) == []

    def only(problems, word):
        assert problems and all(word in x for x in problems), problems
    only(check_logs(good_logs, {"w0": [(0, 3, 4)]}, good_hist), "lost")
    only(check_logs(good_logs, {"w0": [(0, 1, 0)]}, good_hist), "lost")  # another's offset
    dup = {0: good_logs[0] + [batch(3, 1, [(b"w1", b"0")])]}
    assert any("duplicate" in x for x in check_logs(dup, good_acked, good_hist))
    only(check_logs(good_logs, dict(good_acked, w1=[(0, None, 0)]), good_hist), "no offset")
    order = {0: good_logs[0] + [batch(3, 1, [(b"w0", b"1")])]}
    only(check_logs(order, good_acked, good_hist), "order")
    back = {0: good_logs[0] + [batch(3, 0, [(b"w0", b"9")])]}
    only(check_logs(back, good_acked, good_hist), "leader epoch 0 after epoch 1")
    only(check_logs(good_logs, good_acked, {0: good_hist[0] + [(12, 3, 1)]}), "had leaders")
    only(check_logs(good_logs, good_acked, {0: [(5, 1, 0)]}), "never gave a leader")


# --------------------------------------------------------------------------------------------
@pytest.fixture
def jepsen_etcd(maybe_netlab, tmp_path_factory, request):
    hosts = ("127.0.0.1", maybe_netlab.gw) if maybe_netlab else ("127.0.0.1",)
    e = Etcd(tmp_path_factory.mktemp("jepsen-etcd"), 3, hosts=hosts).start()
    yield e
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        sys.stderr.write(e.logs())
    e.stop()


def test_jepsen(maybe_netlab, jepsen_etcd, make_cluster):
    global T0
    T0 = time.monotonic()
    rng = random.Random(SEED)
    lab = maybe_netlab
    log("seed %d (RUNNEL_JEPSEN_SEED=%d replays), nemesis for %.0f s, network partitions %s"
        % (SEED, SEED, SECONDS, "on" if lab else "off (no network namespaces)"))
    c = make_cluster(3, etcd=jepsen_etcd, netlab=lab,
                     sets={"broker.session.timeout.ms": SESSION_MS, "min.insync.replicas": 2,
                           "unclean.leader.election.enable": "false",
                           "offsets.topic.replication.factor": 3})
    c.create_topic(TOPIC, partitions=PARTITIONS, rf=3, config={"min.insync.replicas": "2"})
    writers = [Writer("w%d" % i, c.bootstrap) for i in range(WRITERS)]
    for w in writers:
        w.start()
    wait_until(lambda: all(len(w.acked) > 20 for w in writers), 60.0, interval=0.2,
               what="first acknowledgements")
    nem = Nemesis(rng, c, jepsen_etcd, lab)
    start = time.monotonic()
    rounds = 0
    try:
        while rounds == 0 or time.monotonic() - start < SECONDS:
            kinds = nem.kinds()
            rng.shuffle(kinds)
            for kind in kinds:
                nem.op(kind)
                nem.recover()
                time.sleep(rng.uniform(0.5, 2.0))
                if rounds > 0 and time.monotonic() - start >= SECONDS:
                    break
            rounds += 1
    finally:
        for w in writers:
            w.stop_flag.set()
        for w in writers:
            w.join(180 * SLOW)
        log("nemesis history: %r" % nem.history)
    for w in writers:
        assert not w.is_alive(), "writer %s did not finish" % w.wid
    nem.recover()
    problems, logs, acked = check(c, jepsen_etcd, writers, nem)
    assert acked >= 100 * len(writers), "too few acknowledged writes (%d) to judge" % acked
    # Replicas: same log end everywhere, then compare the files after a clean stop.
    for p in range(PARTITIONS):
        end = logs[p][-1][3][-1][0] + 1 if logs[p] else 0

        def caught_up(p=p, end=end):
            from conftest import metric_value
            return all(metric_value(b.metrics(), "kafka_log_log_logendoffset",
                                    {"topic": TOPIC, "partition": str(p)}) == end
                       for b in c.brokers)
        wait_until(caught_up, 60.0, interval=0.5, what="replicas of %d at %d" % (p, end))
    rcs = c.stop()
    assert rcs == [0, 0, 0], "exit codes after SIGTERM: %r" % rcs
    problems += replicas_agree(c, logs)
    assert not problems, "seed %d: %d problem(s):\n%s" % (SEED, len(problems),
                                                          "\n".join(problems[:40]))
