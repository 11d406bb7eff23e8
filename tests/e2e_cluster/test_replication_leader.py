"""The leader side of replication with real brokers and etcd: acks=all answered only once every
ISR member has the records, NOT_ENOUGH_REPLICAS below min.insync.replicas, acks=1 by the leader
alone, the ISR shrunk and expanded by the leader, consumers never reading above the high
watermark (and woken when it moves), follower-fetch errors, and KIP-392 preferred replicas.

Records are checked in the brokers' .log files: a follower has a record once its bytes are in
its log (page cache), which is what the leader's acks=all waits for."""
import os
import threading
import time

from conftest import (SLOW, RawConn, i8, i32, i64, karray, kbytes, kstr, parse_batches,
                      record_batch, unique, wait_until)

RACK_AWARE = "org.apache.kafka.common.replica.RackAwareReplicaSelector"

NONE, NOT_LEADER, NOT_ENOUGH, REQUEST_TIMED_OUT = 0, 6, 19, 7
UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_LEADER_EPOCH, FENCED_LEADER_EPOCH = 3, 75, 74


def produce(port, topic, values, acks=-1, timeout_ms=15000, partition=0):
    """Produce v3 of one uncompressed batch -> (error_code, base_offset)."""
    batch = record_batch([(None, v) for v in values])
    body = RawConn.produce_body(topic, partition, batch, acks, timeout_ms)
    with RawConn(port, timeout=timeout_ms / 1000.0 + 10) as c:
        r = c.request(0, 3, body)
        res = r.array(lambda r: (r.str(), r.array(
            lambda r: (r.i32(), r.i16(), r.i64(), r.i64()))))
    (_t, [(_p, err, base, _lat)]) = res[0]
    return err, base


def fetch(port, topic, offset, version=4, replica_id=-1, rack="", max_wait_ms=100,
          current_epoch=-1, timeout=10.0):
    """Fetch v4/v10/v11 -> dict(error, hw, log_start, preferred, records[(offset, value)])."""
    body = i32(replica_id) + i32(max_wait_ms) + i32(1) + i32(1 << 20) + i8(0)
    if version >= 7:
        body += i32(0) + i32(-1)

    def part(p):
        b = i32(p)
        if version >= 9:
            b += i32(current_epoch)
        return b + i64(offset) + i64(-1) + i32(1 << 20)
    body += karray([topic], lambda t: kstr(t) + karray([0], part))
    if version >= 7:
        body += i32(0)
    if version >= 11:
        body += kstr(rack)
    with RawConn(port, timeout=timeout) as c:
        r = c.request(1, version, body)
        r.i32()
        if version >= 7:
            assert r.i16() == 0
            r.i32()

        def rpart(r):
            d = {"partition": r.i32(), "error": r.i16(), "hw": r.i64(), "lso": r.i64()}
            d["log_start"] = r.i64() if version >= 5 else -1
            r.array(lambda r: (r.i64(), r.i64()))
            d["preferred"] = r.i32() if version >= 11 else -1
            recs = r.bytes() or b""
            d["records"] = [(o, v) for (o, _ts, _k, v, _h) in parse_batches(recs)]
            return d
        res = r.array(lambda r: (r.str(), r.array(rpart)))
    return res[0][1][0]


def latest(port, topic, replica_id=-1):
    """ListOffsets v1 latest (-1) -> (error_code, offset)."""
    body = i32(replica_id) + karray([topic], lambda t: kstr(t) + karray(
        [0], lambda p: i32(p) + i64(-1)))
    with RawConn(port) as c:
        r = c.request(2, 1, body)
        res = r.array(lambda r: (r.str(), r.array(
            lambda r: (r.i32(), r.i16(), r.i64(), r.i64()))))
    (_t, [(_p, err, _ts, off)]) = res[0]
    return err, off


def log_content(broker, topic, partition=0):
    """Every byte of the partition's .log files on this broker."""
    d = broker.partition_dir(topic, partition)
    out = b""
    for f in sorted(os.listdir(d)):
        if f.endswith(".log"):
            try:
                with open(os.path.join(d, f), "rb") as fh:
                    out += fh.read()
            except FileNotFoundError:
                pass
    return out


def leader_ready(c, topic, p=0):
    """The leader of topic-p once it answers for it: Metadata names the leader from the stored
    state, which may reach the leader's own topic table a moment later (busy machine)."""
    def ok():
        lead = c.leader_of(topic, p)
        try:
            f = fetch(c.broker(lead).fixed_port, topic, 0)
        except (OSError, ConnectionError):
            return None
        return lead if f["error"] == NONE else None
    return wait_until(ok, 30 * SLOW, interval=0.1, what="leader of %s-%d serving" % (topic, p))


def partition_on(c, node, topic, p=0):
    """topic-p as broker node's Metadata shows it."""
    return c.metadata([topic], node_id=node).topics[topic][1][p]


def isr_on_leader(c, leader, topic, n, p=0):
    """Until the leader itself (still leading) shows n ISR members."""
    def ok():
        st = partition_on(c, leader, topic, p)
        return st if st["leader"] == leader and len(st["isr"]) == n else None
    return wait_until(ok, 60 * SLOW, what="ISR of %d on leader %d" % (n, leader))


def followers(c, topic, p=0):
    st = c.partition(topic, p)
    return [r for r in st["replicas"] if r != st["leader"]]


def test_acks_all_answered_after_every_isr_member_has_it(make_cluster):
    c = make_cluster(3, sets={"replica.lag.time.max.ms": 60000})
    t = c.create_topic(unique("acks"), 1, 3, {"min.insync.replicas": "2"})
    leader = leader_ready(c, t)
    port = c.broker(leader).fixed_port
    for i in range(20):
        v = ("all-%d-%s" % (i, os.urandom(6).hex())).encode()
        err, base = produce(port, t, [v])
        assert (err, base) == (NONE, i)
        for b in c.brokers:  # the whole ISR has it the moment the answer came
            assert v in log_content(b, t), "broker %d lacks offset %d" % (b.node_id, i)
    # A follower stops (not the controller, which must stay to remove it): the answer waits
    # until the ISR no longer counts it, and then the rest of the ISR has the record.
    ctl = c.controller()
    gone = [f for f in followers(c, t) if f != ctl][0]
    other = [f for f in followers(c, t) if f != gone][0]
    c.broker(gone).pause()
    try:
        v = b"while-one-is-stopped"
        err, _ = produce(port, t, [v], timeout_ms=int(30000 * SLOW))
        assert err == NONE
        st = partition_on(c, leader, t)
        assert gone not in st["isr"], "acknowledged while the stopped follower was in the ISR"
        assert v in log_content(c.broker(other), t)
        assert v not in log_content(c.broker(gone), t)
    finally:
        c.broker(gone).resume()
    c.wait_for_isr(t, 0, 3, timeout=60)
    wait_until(lambda: v in log_content(c.broker(gone), t), 30 * SLOW, what="caught up")


def test_not_enough_replicas_and_acks_one_by_the_leader(make_cluster):
    c = make_cluster(3)
    t = c.create_topic(unique("minisr"), 1, 2, {"min.insync.replicas": "2"})
    leader = leader_ready(c, t)
    port = c.broker(leader).fixed_port
    assert produce(port, t, [b"a"]) == (NONE, 0)
    # Any other broker: not the leader.
    other = [b.node_id for b in c.brokers if b.node_id != leader][0]
    wait_until(lambda: produce(c.broker(other).fixed_port, t, [b"x"], acks=1)[0] == NOT_LEADER,
               30 * SLOW, what="NOT_LEADER_OR_FOLLOWER from broker %d" % other)
    (follower,) = followers(c, t)
    c.broker(follower).kill()
    isr_on_leader(c, leader, t, 1)
    # ISR below min.insync.replicas: acks=all refused before the append, acks=1 taken.
    assert produce(port, t, [b"refused"])[0] == NOT_ENOUGH
    err, base = produce(port, t, [b"b"], acks=1)
    assert (err, base) == (NONE, 1)
    assert b"refused" not in log_content(c.broker(leader), t)
    # Alone in the ISR the leader's HW follows its log end: consumers see the record (once
    # the leader's next tick saw the dead follower's registration gone: until then a
    # caught-up live-looking follower holds the HW, as Kafka's maximal-ISR rule does).
    f = wait_until(lambda: (lambda f: f if f["hw"] == 2 else None)(fetch(port, t, 1)),
                   10 * SLOW, what="HW at the log end")
    assert f["error"] == NONE and f["records"] == [(1, b"b")]
    c.broker(follower).restart("sigkill")
    isr_on_leader(c, leader, t, 2)
    assert produce(port, t, [b"c"]) == (NONE, 2)
    assert b"c" in log_content(c.broker(follower), t)


def test_isr_shrink_and_expand_by_the_leader(make_cluster):
    # A long session keeps the stopped broker registered: only the leader's lag rule acts.
    c = make_cluster(3, sets={"replica.lag.time.max.ms": 1500,
                              "broker.session.timeout.ms": 60000})
    t = c.create_topic(unique("isr"), 1, 3)
    leader = leader_ready(c, t)
    port = c.broker(leader).fixed_port
    slow = followers(c, t)[0]
    c.broker(slow).pause()
    try:
        n = [0]

        def shrunk():
            produce(port, t, [b"w%d" % n[0]], acks=1)  # it falls behind only if we write
            n[0] += 1
            st = c.partition(t, 0)
            return st if slow not in st["isr"] else None
        st = wait_until(shrunk, 30 * SLOW, interval=0.2, what="ISR shrink")
        assert st["leader"] == leader and len(st["isr"]) == 2
        assert "shrinking ISR" in c.broker(leader).stderr()
        # acks=all is answered by the two left.
        assert produce(port, t, [b"two"])[0] == NONE
    finally:
        c.broker(slow).resume()
    # Asked of the leader itself: a broker just resumed may still show the old ISR.
    st = wait_until(lambda: (lambda s: s if len(s["isr"]) == 3 else None)(
        partition_on(c, leader, t)), 60 * SLOW, what="ISR back to 3 on the leader")
    assert slow in st["isr"] and st["leader"] == leader
    assert "expanding ISR" in c.broker(leader).stderr()
    assert b"two" in log_content(c.broker(slow), t)


def test_consumers_see_only_replicated_records(make_cluster):
    c = make_cluster(3, sets={"replica.lag.time.max.ms": 120000,
                              "broker.session.timeout.ms": 120000})
    t = c.create_topic(unique("hw"), 1, 3, {"min.insync.replicas": "1"})
    leader = leader_ready(c, t)
    port = c.broker(leader).fixed_port
    assert produce(port, t, [b"first"]) == (NONE, 0)
    fs = followers(c, t)
    for f in fs:
        c.broker(f).pause()
    result = {}
    try:
        assert produce(port, t, [b"second"], acks=1) == (NONE, 1)
        # On the leader's log, but not below the HW: invisible, and not an error.
        f = fetch(port, t, 1)
        assert (f["error"], f["hw"], f["records"]) == (NONE, 1, [])
        assert fetch(port, t, 0)["records"] == [(0, b"first")]
        # ListOffsets latest: the HW for consumers, the log end for replicas (Kafka's rule).
        assert latest(port, t) == (NONE, 1)
        assert latest(port, t, replica_id=77) == (NONE, 2)

        def longpoll():
            t0 = time.monotonic()
            result["f"] = fetch(port, t, 1, max_wait_ms=60000, timeout=90)
            result["s"] = time.monotonic() - t0
        th = threading.Thread(target=longpoll)
        th.start()
        # The parked fetch must stay empty while the followers are stopped.
        assert fetch(port, t, 1)["records"] == []
    finally:
        for f in fs:
            c.broker(f).resume()
    th.join(100)
    assert result["f"]["records"] == [(1, b"second")] and result["f"]["hw"] == 2
    assert result["s"] < 50, "the parked fetch was not woken when the HW moved"


def test_replica_fetch_errors(make_cluster):
    c = make_cluster(3)
    t = c.create_topic(unique("rf"), 1, 2)
    leader = leader_ready(c, t)
    st = c.partition(t, 0)
    port = c.broker(leader).fixed_port
    produce(port, t, [b"r"])
    # A broker id that is no replica: NOT_LEADER_OR_FOLLOWER, or UNKNOWN_LEADER_EPOCH when it
    # names the epoch (Kafka's followerReplicaOrThrow).
    assert fetch(port, t, 0, replica_id=77)["error"] == NOT_LEADER
    f = fetch(port, t, 0, version=11, replica_id=77, current_epoch=st["leader_epoch"])
    assert f["error"] == UNKNOWN_LEADER_EPOCH
    f = fetch(port, t, 0, version=11, replica_id=77, current_epoch=st["leader_epoch"] + 5)
    assert f["error"] == UNKNOWN_LEADER_EPOCH
    assert fetch(port, unique("nosuch"), 0, replica_id=2)["error"] == UNKNOWN_TOPIC_OR_PARTITION
    (follower,) = followers(c, t)
    fport = c.broker(follower).fixed_port
    # A replica fetch at a broker that does not lead the partition; a consumer below v11.
    third = [b.node_id for b in c.brokers if b.node_id not in st["replicas"]][0]
    # (Each broker's topic table may learn the topic a moment after Metadata shows it.)
    for port_, kw in ((fport, {"replica_id": leader}), (fport, {"version": 10}),
                      (c.broker(third).fixed_port, {"version": 11})):
        wait_until(lambda: fetch(port_, t, 0, **kw)["error"] == NOT_LEADER, 30 * SLOW,
                   what="NOT_LEADER_OR_FOLLOWER for %r" % kw)


def test_preferred_read_replica_kip392(make_cluster):
    racks = {1: "ra", 2: "rb", 3: "rc"}
    c = make_cluster(3, sets={"replica.selector.class": RACK_AWARE},
                     broker_sets={i: {"broker.rack": r} for i, r in racks.items()})
    t = c.create_topic(unique("kip392"), 1, 3)
    leader = leader_ready(c, t)
    port = c.broker(leader).fixed_port
    for i in range(3):
        assert produce(port, t, [b"k%d" % i])[0] == NONE
    f_id = followers(c, t)[0]
    # A consumer in the follower's rack is sent there, with no data.
    f = fetch(port, t, 0, version=11, rack=racks[f_id])
    assert f["error"] == NONE and f["preferred"] == f_id and f["records"] == []
    assert f["hw"] == 3
    # In the leader's rack, in no broker's rack, or without a rack: the leader serves.
    for rack in (racks[leader], "nowhere", ""):
        f = fetch(port, t, 0, version=11, rack=rack)
        assert f["preferred"] == -1 and len(f["records"]) == 3
    # The follower serves a v11 consumer up to its own HW.
    fport = c.broker(f_id).fixed_port

    def served():
        f = fetch(fport, t, 0, version=11, rack=racks[f_id])
        return f if f["error"] == NONE and len(f["records"]) == 3 else None
    f = wait_until(served, 30 * SLOW, what="records from the follower")
    assert [v for _o, v in f["records"]] == [b"k0", b"k1", b"k2"] and f["hw"] == 3
    assert f["preferred"] == -1


def test_librdkafka_consumer_reads_from_its_rack(make_cluster):
    """A real client (librdkafka, client.rack) follows PreferredReadReplica to the follower in
    its rack and reads everything there."""
    from conftest import ck_consume, ck_produce, metric_value
    racks = {1: "ra", 2: "rb", 3: "rc"}
    c = make_cluster(3, sets={"replica.selector.class": RACK_AWARE},
                     broker_sets={i: {"broker.rack": r} for i, r in racks.items()})
    t = c.create_topic(unique("rack"), 1, 3)
    leader = leader_ready(c, t)
    f_id = followers(c, t)[0]
    port = c.broker(leader).fixed_port
    for i in range(50):
        assert produce(port, t, [b"v%03d" % i])[0] == NONE
    got = ck_consume(c.bootstrap, t, [0], 50, timeout=60, **{"client.rack": racks[f_id]})
    assert [m.value() for m in got] == [b"v%03d" % i for i in range(50)]
    out = metric_value(c.broker(f_id).metrics(), "kafka_server_brokertopicmetrics_bytesout_total",
                       {"topic": t})
    assert out and out > 0, "the follower in the consumer's rack served nothing"


def test_high_watermarks_checkpointed_every_interval(make_cluster):
    """replica.high.watermark.checkpoint.interval.ms (Kafka's 5 s) governs the
    replication-offset-checkpoint in a cluster; it was the single broker's 60 s."""
    c = make_cluster(3)
    t = c.create_topic(unique("hwck"), 1, 3)
    leader = leader_ready(c, t)
    assert produce(c.broker(leader).fixed_port, t, [b"a", b"b", b"c"])[0] == NONE
    path = os.path.join(c.broker(leader).data_dir, "replication-offset-checkpoint")

    def written():
        try:
            lines = open(path).read().split("\n")
        except OSError:
            return None
        return "%s 0 3" % t in lines
    wait_until(written, 20 * SLOW, interval=0.5, what="HW 3 in replication-offset-checkpoint")
