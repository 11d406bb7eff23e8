"""Followers end to end (replica/manager.c, fetcher.c, truncate.c): 1 etcd + 3 brokers.

- a follower that was down catches up an RF=3 topic and its log is the leader's, byte for byte;
- unclean history: records written (acks=1) to a leader alone in its ISR, the leader killed, a
  stale replica elected (unclean) and written to, the old leader restarted: it truncates its
  divergent tail by leader epoch and ends identical to the new leader;
- follower-style fetches with a stale or a future epoch, for an unknown partition, from a
  non-replica or to a non-leader get Kafka's errors, and nothing is corrupted.
"""
import os
import struct

from conftest import (RawConn, SLOW, kstr, karray, i8, i16, i32, i64, parse_batches,
                      record_batch, unique, wait_until)

TIMEOUT = 60.0


def log_data(broker, topic, p=0):
    """The partition's .log files on broker's disk, concatenated in offset order."""
    d = broker.partition_dir(topic, p)
    return b"".join(open(os.path.join(d, f), "rb").read()
                    for f in sorted(os.listdir(d)) if f.endswith(".log"))


def batches(data):
    """[(base_offset, leader_epoch, crc)] of the magic-2 batches in data."""
    out, pos = [], 0
    while pos + 12 <= len(data):
        base, length = struct.unpack_from(">qi", data, pos)
        if pos + 12 + length > len(data):
            break
        epoch = struct.unpack_from(">i", data, pos + 12)[0]
        crc = struct.unpack_from(">I", data, pos + 17)[0]
        out.append((base, epoch, crc))
        pos += 12 + length
    return out


def produce(broker, topic, n, tag, acks=1, p=0):
    """n single-record batches through a raw connection to broker (the leader)."""
    with broker.raw() as c:
        for i in range(n):
            err, _base = c.produce(topic, p, record_batch([(b"k", b"%s-%d" % (tag, i))]),
                                   acks=acks)
            assert err == 0, "produce to %d: error %d" % (broker.node_id, err)


def wait_identical(cluster, topic, nodes, p=0, timeout=TIMEOUT):
    """Until the logs of nodes are byte-identical and non-empty; returns the data."""
    def ok():
        datas = [log_data(cluster.broker(n), topic, p) for n in nodes]
        return datas[0] if datas[0] and all(d == datas[0] for d in datas) else None
    try:
        return wait_until(ok, timeout, interval=0.2, what="identical logs on %r" % (nodes,))
    except AssertionError:
        for n in nodes:
            print("broker %d: %r" % (n, batches(log_data(cluster.broker(n), topic, p))[-5:]))
        raise


def values(data):
    return [v for _o, _ts, _k, v, _h in parse_batches(data)]


def test_follower_catches_up(cluster):
    t = cluster.create_topic(unique("catchup"), partitions=1, rf=3)
    leader = cluster.leader_of(t, 0)
    produce(cluster.broker(leader), t, 20, b"before", acks=-1)
    follower = next(n for n in (1, 2, 3) if n != leader)
    cluster.broker(follower).kill()
    cluster.wait_for_isr(t, 0, 2, timeout=TIMEOUT)
    produce(cluster.broker(leader), t, 200, b"while-down", acks=-1)
    cluster.broker(follower).start()
    cluster.wait_for_isr(t, 0, 3, timeout=TIMEOUT)
    data = wait_identical(cluster, t, [1, 2, 3])
    vals = values(data)
    assert len(vals) == 220
    assert vals[0] == b"before-0" and vals[-1] == b"while-down-199"


def test_divergent_tail_truncated(make_cluster):
    c = make_cluster(3, sets={"unclean.leader.election.enable": "true"})
    t = unique("unclean")
    c.create_topic(t, partitions=1, rf=3, config={"unclean.leader.election.enable": "true"})
    old = c.leader_of(t, 0)
    others = [n for n in (1, 2, 3) if n != old]
    produce(c.broker(old), t, 10, b"common", acks=-1)
    wait_identical(c, t, [1, 2, 3])

    # Followers down; the leader, alone in its ISR, takes records nobody else will have.
    for n in others:
        c.broker(n).kill()
    c.wait_for_isr(t, 0, 1, timeout=TIMEOUT)
    produce(c.broker(old), t, 5, b"divergent", acks=1)
    assert values(log_data(c.broker(old), t))[-1] == b"divergent-4"
    c.broker(old).kill()

    # A stale replica comes back alone: elected unclean, it takes other records.
    new = others[0]
    c.broker(new).start()
    assert c.leader_of(t, 0, timeout=TIMEOUT, exclude=(old,)) == new
    produce(c.broker(new), t, 7, b"new-leader", acks=1)

    # The old leader returns as a follower: its divergent tail is cut, then it copies.
    c.broker(old).start()
    c.broker(others[1]).start()
    data = wait_identical(c, t, [1, 2, 3])
    vals = values(data)
    assert b"divergent-0" not in vals
    assert vals == [b"common-%d" % i for i in range(10)] + [b"new-leader-%d" % i for i in range(7)]
    epochs = [e for _b, e, _c in batches(data)]
    assert epochs == sorted(epochs) and epochs[-1] > epochs[0]
    assert "truncating from 15 to 10" in c.broker(old).stderr()


# --- follower-style requests from a test client ----------------------------------------------
def fetch_v11(conn, topic, partition, offset, replica_id, epoch):
    """Fetch v11 as a follower sends it -> (error, high watermark, records)."""
    body = (i32(replica_id) + i32(0) + i32(0) + i32(1 << 20) + i8(0) + i32(0) + i32(-1)
            + karray([topic], lambda t: kstr(t) + karray(
                [partition], lambda p: i32(p) + i32(epoch) + i64(offset) + i64(-1)
                + i32(1 << 20)))
            + karray([], None) + kstr(""))
    r = conn.request(1, 11, body)
    r.i32(), r.i16(), r.i32()  # throttle, error, session
    (_t, parts), = r.array(lambda r: (r.str(), r.array(lambda r: (
        r.i32(), r.i16(), r.i64(), r.i64(), r.i64(),
        r.array(lambda r: (r.i64(), r.i64())), r.i32(), r.bytes()))))
    (_p, err, hw, _lso, _ls, _ab, _pref, recs), = parts
    return err, hw, recs


def ofle_v3(conn, topic, partition, replica_id, current_epoch, epoch):
    """OffsetForLeaderEpoch v3 -> (error, leader_epoch, end_offset)."""
    body = i32(replica_id) + karray([topic], lambda t: kstr(t) + karray(
        [partition], lambda p: i32(p) + i32(current_epoch) + i32(epoch)))
    r = conn.request(23, 3, body)
    r.i32()
    (_t, parts), = r.array(lambda r: (r.str(), r.array(
        lambda r: (r.i16(), r.i32(), r.i32(), r.i64()))))
    (err, _p, le, end), = parts
    return err, le, end


def test_follower_fetch_errors(cluster):
    t = cluster.create_topic(unique("ferr"), partitions=1, rf=3)
    # One leader change first, so that there is an older epoch to be fenced with.
    first = cluster.leader_of(t, 0)
    cluster.broker(first).kill()
    cluster.leader_of(t, 0, timeout=TIMEOUT, exclude=(first,))
    cluster.broker(first).start()
    st = cluster.wait_for_isr(t, 0, 3, timeout=TIMEOUT)
    leader, epoch = st["leader"], st["leader_epoch"]
    assert epoch > 0
    produce(cluster.broker(leader), t, 5, b"x", acks=-1)
    before = wait_identical(cluster, t, [1, 2, 3])
    follower = next(n for n in (1, 2, 3) if n != leader)
    with cluster.broker(leader).raw() as conn:
        err, hw, recs = fetch_v11(conn, t, 0, 0, follower, epoch)
        assert err == 0 and hw == 5 and len(values(recs)) == 5
        assert fetch_v11(conn, t, 0, 0, follower, epoch - 1)[0] == 74  # FENCED_LEADER_EPOCH
        assert fetch_v11(conn, t, 0, 0, follower, epoch + 1)[0] == 75  # UNKNOWN_LEADER_EPOCH
        assert fetch_v11(conn, t, 7, 0, follower, epoch)[0] == 3  # UNKNOWN_TOPIC_OR_PARTITION
        # Not a replica: UNKNOWN_LEADER_EPOCH when it named the epoch (Kafka's
        # followerReplicaOrThrow: maybe a reassignment the leader has not seen), else
        # NOT_LEADER_OR_FOLLOWER.
        assert fetch_v11(conn, t, 0, 0, 77, epoch)[0] == 75
        assert fetch_v11(conn, t, 0, 0, 77, -1)[0] == 6
        assert fetch_v11(conn, t, 0, 10 ** 9, follower, epoch)[0] == 1  # OFFSET_OUT_OF_RANGE
        assert ofle_v3(conn, t, 0, follower, epoch, epoch) == (0, epoch, 5)
        assert ofle_v3(conn, t, 0, follower, epoch + 1, epoch)[0] == 75
    with cluster.broker(follower).raw() as conn:
        assert fetch_v11(conn, t, 0, 0, leader, epoch)[0] == 6  # NOT_LEADER_OR_FOLLOWER
    # Nothing moved or broke: the replicas still agree and take new records.
    assert log_data(cluster.broker(leader), t) == before
    produce(cluster.broker(leader), t, 3, b"after", acks=-1)
    data = wait_identical(cluster, t, [1, 2, 3])
    assert len(values(data)) == 8


# --- throttled reassignment ------------------------------------------------------------------
def test_reassignment_throttled(make_cluster):
    """A replica being added copies at most follower.replication.throttled.rate (one second of
    burst and one fetch of overshoot allowed), then catches up and joins the ISR."""
    import time

    import confluent_kafka.admin as cka
    from conftest import ck_admin
    from controller_raw import alter_reassignments

    rate = 100000
    c = make_cluster(4, broker_sets={4: {"follower.replication.throttled.rate": rate,
                                          "replica.fetch.max.bytes": 16384}})
    t = unique("throttle")
    admin = ck_admin(c.bootstrap)  # kept: the futures die with their client
    fs = admin.create_topics([cka.NewTopic(t, 1, -1, replica_assignment=[[1, 2, 3]])])
    fs[t].result(30 * SLOW)
    c.wait_for_isr(t, 0, 3, timeout=TIMEOUT)
    leader = c.broker(c.leader_of(t, 0))
    with leader.raw() as conn:
        for i in range(50):  # 50 batches of 8 x 1 KiB
            batch = record_batch([(b"k", b"%04d" % i + b"v" * 1020)] * 8)
            assert conn.produce(t, 0, batch, acks=-1)[0] == 0
    total = len(log_data(leader, t))
    assert total > 400000

    t0 = time.monotonic()
    with c.broker(c.controller()).raw() as conn:
        top, res = alter_reassignments(conn, {(t, 0): [1, 2, 3, 4]})
    assert top == 0 and res[(t, 0)][0] == 0, res
    new = c.broker(4)
    slack = rate + 16384 + 16384  # the bucket's burst, one fetch's overshoot, one batch
    while True:
        try:
            have = len(log_data(new, t))
        except FileNotFoundError:
            have = 0
        elapsed = time.monotonic() - t0
        assert have <= rate * elapsed + slack, "%d bytes after %.2f s" % (have, elapsed)
        if have >= total:
            break
        assert elapsed < TIMEOUT * SLOW, "not caught up: %d of %d bytes" % (have, total)
        time.sleep(0.05)
    assert time.monotonic() - t0 >= (total - slack) / rate
    st = c.wait_for_isr(t, 0, 4, timeout=TIMEOUT)
    assert sorted(st["replicas"]) == [1, 2, 3, 4]
    wait_identical(c, t, [1, 2, 3, 4])


def test_many_partitions_several_fetchers(make_cluster):
    """Two topics of 6 partitions each over num.replica.fetchers=3: one Fetch carries many
    partitions of several topics, and each answer reaches its own log."""
    c = make_cluster(3, sets={"num.replica.fetchers": 3})
    ta = c.create_topic(unique("manya"), partitions=6, rf=3)
    tb = c.create_topic(unique("manyb"), partitions=6, rf=3)
    victim = 3
    c.broker(victim).kill()
    for t in (ta, tb):
        for p in range(6):
            leader = c.leader_of(t, p, timeout=TIMEOUT, exclude=(victim,))
            produce(c.broker(leader), t, 5 + p, b"%s-%d" % (t.encode(), p), acks=1, p=p)
    c.broker(victim).start()
    for t in (ta, tb):
        for p in range(6):
            c.wait_for_isr(t, p, 3, timeout=TIMEOUT)
            data = wait_identical(c, t, [1, 2, 3], p=p)
            assert values(data) == [b"%s-%d-%d" % (t.encode(), p, i) for i in range(5 + p)]
