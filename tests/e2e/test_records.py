"""Records and logs: DeleteRecords, DescribeLogDirs, OffsetForLeaderEpoch, ListOffsets v0..v8.

confluent-kafka 1.7.0's AdminClient has neither delete_records nor describe_log_dirs, and
kafka-python 2.0.2's KafkaAdminClient has neither either: DeleteRecords goes through librdkafka
(rd_kafka_DeleteRecords, behind `runnel topic delete-records`), through kafka-python's own
protocol classes and connection (KafkaAdminClient._send_request_to_node with request structs
built from kafka.protocol types) and raw frames; DescribeLogDirs through kafka-python the same
way and raw frames.
"""
import os
import struct
import time

import pytest

from conftest import (SLOW, TAGS, RawConn, carray, ck_produce, create_topic, cstr, i32, i64, i8,
                      karray, kp_admin, kstr, record_batch, runnel, unique, wait_until)

OFFSET_OUT_OF_RANGE = 1
UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_TOPIC_EXCEPTION = 17
POLICY_VIOLATION = 44
FENCED_LEADER_EPOCH = 74
UNKNOWN_LEADER_EPOCH = 75


def produce_n(conn, topic, partition, n, ts=None):
    """n single-record batches; returns the base offsets."""
    bases = []
    for i in range(n):
        t = None if ts is None else ts[i]
        err, base = conn.produce(topic, partition, record_batch([(b"k", b"v%d" % i)], base_ts=t))
        assert err == 0
        bases.append(base)
    return bases


# ------------------------------------------------------------------------------ DeleteRecords
def delete_records(conn, topic, parts, version=1, timeout_ms=5000):
    """parts: [(partition, offset)] -> {partition: (error, low_watermark)}."""
    if version >= 2:
        body = carray([topic], lambda t: cstr(t) + carray(
            parts, lambda p: i32(p[0]) + i64(p[1]) + TAGS) + TAGS) + i32(timeout_ms) + TAGS
        r = conn.flex_request(21, version, body)
        r.i32()
        res = r.array(lambda r: (r.str(), r.array(
            lambda r: (r.i32(), r.i64(), r.i16(), r.tags())), r.tags()))
    else:
        body = karray([topic], lambda t: kstr(t) + karray(
            parts, lambda p: i32(p[0]) + i64(p[1]))) + i32(timeout_ms)
        r = conn.request(21, version, body)
        r.i32()
        res = r.array(lambda r: (r.str(), r.array(lambda r: (r.i32(), r.i64(), r.i16()))))
    assert res[0][0] == topic
    return {p[0]: (p[2], p[1]) for p in res[0][1]}


def list_offsets(conn, topic, partition, ts, version=1, current_leader_epoch=-1, isolation=0):
    """ListOffsets v1..v8 -> (error, timestamp, offset, leader_epoch or None)."""
    def part(p):
        b = i32(p)
        if version >= 4:
            b += i32(current_leader_epoch)
        return b + i64(ts) + (TAGS if version >= 6 else b"")
    if version >= 6:
        body = i32(-1) + i8(isolation) + carray(
            [topic], lambda t: cstr(t) + carray([partition], part) + TAGS) + TAGS
        r = conn.flex_request(2, version, body)
        r.i32()
        res = r.array(lambda r: (r.str(), r.array(
            lambda r: (r.i32(), r.i16(), r.i64(), r.i64(), r.i32(), r.tags())), r.tags()))
    else:
        body = i32(-1) + (i8(isolation) if version >= 2 else b"") + karray(
            [topic], lambda t: kstr(t) + karray([partition], part))
        r = conn.request(2, version, body)
        if version >= 2:
            r.i32()
        res = r.array(lambda r: (r.str(), r.array(
            lambda r: (r.i32(), r.i16(), r.i64(), r.i64(),
                       r.i32() if version >= 4 else None))))
    p = res[0][1][0]
    return p[1], p[2], p[3], p[4]


def list_offsets_v0(conn, topic, partition, ts, max_num, replica_id=-1):
    body = i32(replica_id) + karray([topic], lambda t: kstr(t) + karray(
        [partition], lambda p: i32(p) + i64(ts) + i32(max_num)))
    r = conn.request(2, 0, body)
    res = r.array(lambda r: (r.str(), r.array(
        lambda r: (r.i32(), r.i16(), r.array(lambda r: r.i64())))))
    p = res[0][1][0]
    return p[1], p[2]


def test_delete_records_raw(broker):
    t = unique("dr")
    create_topic(broker.bootstrap, t, partitions=2)
    with RawConn(broker.port) as c:
        produce_n(c, t, 0, 10)
        produce_n(c, t, 1, 3)
        # v0, v1 and flexible v2 all answer; the start only moves forward.
        assert delete_records(c, t, [(0, 4)], version=0) == {0: (0, 4)}
        assert delete_records(c, t, [(0, 2)], version=1) == {0: (0, 4)}
        assert delete_records(c, t, [(0, 6), (1, -1)], version=2) == {0: (0, 6), 1: (0, 3)}
        # above the high watermark, below -1, unknown partition
        got = delete_records(c, t, [(0, 11), (0, -2), (7, 1)])
        assert got[0] == (OFFSET_OUT_OF_RANGE, -1) and got[7] == (UNKNOWN_TOPIC_OR_PARTITION, -1)
        assert delete_records(c, unique("nope"), [(0, 1)]) == {0: (UNKNOWN_TOPIC_OR_PARTITION, -1)}
        assert delete_records(c, "__consumer_offsets", [(0, 0)]) == \
            {0: (INVALID_TOPIC_EXCEPTION, -1)}
        # ListOffsets earliest and Fetch's log start follow; a fetch below gets
        # OFFSET_OUT_OF_RANGE, one at the start gets the records from there.
        assert list_offsets(c, t, 0, -2)[2] == 6
        assert c.fetch(t, 0, 5)[0] == OFFSET_OUT_OF_RANGE
        err, hwm, recs = c.fetch(t, 0, 6)
        assert err == 0 and hwm == 10 and recs
        assert struct.unpack_from(">q", recs)[0] == 6
        # to the end: nothing left to read, and produce goes on after it
        assert delete_records(c, t, [(0, -1)]) == {0: (0, 10)}
        assert c.fetch(t, 0, 9)[0] == OFFSET_OUT_OF_RANGE
        assert produce_n(c, t, 0, 1) == [10]
        assert list_offsets(c, t, 0, -2)[2] == 10


def test_delete_records_compacted_topic_refused(broker):
    t = unique("drc")
    create_topic(broker.bootstrap, t, config={"cleanup.policy": "compact"})
    with RawConn(broker.port) as c:
        assert delete_records(c, t, [(0, 0)]) == {0: (POLICY_VIOLATION, -1)}
    t2 = unique("drcd")
    create_topic(broker.bootstrap, t2, config={"cleanup.policy": "compact,delete"})
    with RawConn(broker.port) as c:
        assert delete_records(c, t2, [(0, 0)]) == {0: (0, 0)}


@pytest.mark.parametrize("how", ["clean", "sigkill"])
def test_delete_records_survives_restart(make_broker, how):
    """The new log start is checkpointed before DeleteRecords answers: a SIGKILL right after
    the answer keeps it, as does a clean restart. The first segment stays (it is the active
    one), so only the checkpoint can remember the start."""
    b = make_broker()
    t = unique("drr")
    create_topic(b.bootstrap, t)
    with RawConn(b.port) as c:
        produce_n(c, t, 0, 8)
        assert delete_records(c, t, [(0, 5)]) == {0: (0, 5)}
    b.restart(how)
    with RawConn(b.port) as c:
        assert list_offsets(c, t, 0, -2)[2] == 5
        assert list_offsets(c, t, 0, -1)[2] == 8
        assert c.fetch(t, 0, 4)[0] == OFFSET_OUT_OF_RANGE
        assert c.fetch(t, 0, 5)[0] == 0


# ------------------------------------------------------- kafka-python's protocol and connection
def kp_classes():
    """DeleteRecords v1 and DescribeLogDirs v1 in kafka-python's own protocol types (2.0.2 has
    the API keys but no classes, and no admin methods for them)."""
    from kafka.protocol.api import Request, Response
    from kafka.protocol.types import Array, Boolean, Int16, Int32, Int64, Schema, String

    class DeleteRecordsResponse_v1(Response):
        API_KEY = 21
        API_VERSION = 1
        SCHEMA = Schema(
            ('throttle_time_ms', Int32),
            ('topics', Array(('name', String('utf-8')), ('partitions', Array(
                ('partition_index', Int32), ('low_watermark', Int64), ('error_code', Int16))))))

    class DeleteRecordsRequest_v1(Request):
        API_KEY = 21
        API_VERSION = 1
        RESPONSE_TYPE = DeleteRecordsResponse_v1
        SCHEMA = Schema(
            ('topics', Array(('name', String('utf-8')), ('partitions', Array(
                ('partition_index', Int32), ('offset', Int64))))),
            ('timeout_ms', Int32))

    class DescribeLogDirsResponse_v1(Response):
        API_KEY = 35
        API_VERSION = 1
        SCHEMA = Schema(
            ('throttle_time_ms', Int32),
            ('results', Array(
                ('error_code', Int16), ('log_dir', String('utf-8')),
                ('topics', Array(('name', String('utf-8')), ('partitions', Array(
                    ('partition_index', Int32), ('partition_size', Int64),
                    ('offset_lag', Int64), ('is_future_key', Boolean))))))))

    class DescribeLogDirsRequest_v1(Request):
        API_KEY = 35
        API_VERSION = 1
        RESPONSE_TYPE = DescribeLogDirsResponse_v1
        SCHEMA = Schema(('topics', Array(('topic', String('utf-8')),
                                         ('partitions', Array(Int32)))))

    return DeleteRecordsRequest_v1, DescribeLogDirsRequest_v1


def kp_send(admin, req):
    node = admin._client.cluster.brokers().pop().nodeId
    f = admin._send_request_to_node(node, req)
    admin._wait_for_futures([f])
    return f.value


def test_delete_records_kafka_python(broker):
    t = unique("drkp")
    create_topic(broker.bootstrap, t, partitions=2)
    with RawConn(broker.port) as c:
        produce_n(c, t, 0, 6)
    DeleteRecords, _ = kp_classes()
    a = kp_admin(broker.bootstrap)
    try:
        resp = kp_send(a, DeleteRecords(topics=[(t, [(0, 4), (1, 1), (5, 0)])],
                                        timeout_ms=5000))
    finally:
        a.close()
    [(name, parts)] = resp.topics
    assert name == t
    assert sorted(parts) == [(0, 4, 0), (1, -1, OFFSET_OUT_OF_RANGE),
                             (5, -1, UNKNOWN_TOPIC_OR_PARTITION)]
    with RawConn(broker.port) as c:
        assert list_offsets(c, t, 0, -2)[2] == 4


def test_delete_records_cli(broker):
    """`runnel topic delete-records` goes through librdkafka's rd_kafka_DeleteRecords."""
    t = unique("drcli")
    create_topic(broker.bootstrap, t, partitions=2)
    ck_produce(broker.bootstrap, t, [(None, b"x%d" % i, None, None, i % 2) for i in range(10)])
    bs = ["-b", broker.bootstrap]
    r = runnel("topic", "delete-records", t, "--partition", "0", "--before", "3", *bs)
    assert r.returncode == 0, r.stderr
    assert "partition: %s-0\tlow_watermark: 3" % t in r.stdout.decode()
    r = runnel("topic", "delete-records", t, "-p", "0", "-p", "1", "--before", "end", *bs)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "%s-0\tlow_watermark: 5" % t in out and "%s-1\tlow_watermark: 5" % t in out
    # above the high watermark: the broker's error, exit code 1
    r = runnel("topic", "delete-records", t, "--partition", "1", "--before", "99", *bs)
    assert r.returncode == 1
    assert "%s-1\terror:" % t in r.stdout.decode() and "out of range" in \
        r.stdout.decode().lower()
    # usage errors and help
    r = runnel("topic", "delete-records", t, *bs)
    assert r.returncode == 2 and b"--partition and --before are required" in r.stderr
    r = runnel("topic", "delete-records", t, "-p", "0", "--before", "x", *bs)
    assert r.returncode == 2 and b"--before expects an offset" in r.stderr
    r = runnel("topic", "delete-records", "--help")
    assert r.returncode == 0 and b"--before OFFSET" in r.stdout
    assert b"delete-records TOPIC" in runnel("topic", "--help").stdout
    with RawConn(broker.port) as c:
        assert list_offsets(c, t, 0, -2)[2] == 5
        assert list_offsets(c, t, 1, -2)[2] == 5


# ------------------------------------------------------------------------ OffsetForLeaderEpoch
def offset_for_leader_epoch(conn, topic, partition, epoch, version=3, current=-1):
    """-> (error, leader_epoch or None, end_offset)."""
    def part(p):
        b = i32(p)
        if version >= 2:
            b += i32(current)
        return b + i32(epoch) + (TAGS if version >= 4 else b"")
    if version >= 4:
        body = i32(-1) + carray([topic], lambda t: cstr(t) + carray([partition], part) +
                                TAGS) + TAGS
        r = conn.flex_request(23, version, body)
        r.i32()
        res = r.array(lambda r: (r.str(), r.array(
            lambda r: (r.i16(), r.i32(), r.i32(), r.i64(), r.tags())), r.tags()))
    else:
        body = (i32(-1) if version >= 3 else b"") + karray(
            [topic], lambda t: kstr(t) + karray([partition], part))
        r = conn.request(23, version, body)
        if version >= 2:
            r.i32()
        res = r.array(lambda r: (r.str(), r.array(
            lambda r: (r.i16(), r.i32(), r.i32() if version >= 1 else None, r.i64()))))
    assert res[0][0] == topic
    p = res[0][1][0]
    assert p[1] == partition
    return p[0], p[2], p[3]


def test_offset_for_leader_epoch(make_broker):
    """Every broker start is a new leader epoch (as a Kafka controller's election); the
    leader-epoch cache answers each epoch's end offset, across a clean restart and a SIGKILL."""
    b = make_broker()
    t = unique("ofle")
    create_topic(b.bootstrap, t)
    with RawConn(b.port) as c:
        produce_n(c, t, 0, 3)  # 0..2 at epoch 0
        assert offset_for_leader_epoch(c, t, 0, 0) == (0, 0, 3)
    b.restart()
    with RawConn(b.port) as c:
        produce_n(c, t, 0, 2)  # 3..4 at epoch 1
        assert offset_for_leader_epoch(c, t, 0, 1) == (0, 1, 5)
    b.kill()
    b.start()
    with RawConn(b.port) as c:
        produce_n(c, t, 0, 1)  # 5 at epoch 2
        for v in range(5):
            want_epoch = (lambda e: None if v == 0 else e)
            assert offset_for_leader_epoch(c, t, 0, 0, version=v) == (0, want_epoch(0), 3), v
            assert offset_for_leader_epoch(c, t, 0, 1, version=v) == (0, want_epoch(1), 5), v
            assert offset_for_leader_epoch(c, t, 0, 2, version=v) == (0, want_epoch(2), 6), v
            # unknown (newer than any) and undefined epochs
            assert offset_for_leader_epoch(c, t, 0, 7, version=v) == (0, want_epoch(-1), -1)
            assert offset_for_leader_epoch(c, t, 0, -1, version=v) == (0, want_epoch(-1), -1)
        # fencing on current_leader_epoch (v2+)
        for v in (2, 3, 4):
            assert offset_for_leader_epoch(c, t, 0, 1, version=v, current=1)[0] == \
                FENCED_LEADER_EPOCH
            assert offset_for_leader_epoch(c, t, 0, 1, version=v, current=3)[0] == \
                UNKNOWN_LEADER_EPOCH
            assert offset_for_leader_epoch(c, t, 0, 1, version=v, current=2) == (0, 1, 5)
        assert offset_for_leader_epoch(c, t, 3, 0)[0] == UNKNOWN_TOPIC_OR_PARTITION
        assert offset_for_leader_epoch(c, unique("nope"), 0, 0)[0] == \
            UNKNOWN_TOPIC_OR_PARTITION
        # DeleteRecords into epoch 1: epochs below it end at the new start
        assert delete_records(c, t, [(0, 4)]) == {0: (0, 4)}
        assert offset_for_leader_epoch(c, t, 0, 0) == (0, 0, 4)
        assert offset_for_leader_epoch(c, t, 0, 1) == (0, 1, 5)


# ---------------------------------------------------------------------------------- ListOffsets
def test_list_offsets_versions_and_epochs(make_broker):
    b = make_broker()
    t = unique("lo")
    create_topic(b.bootstrap, t)
    with RawConn(b.port) as c:
        # one batch of 3 records (ts 1000, 5000, 3000) then ts 5000 again and 2000: the
        # maximum 5000 first appears at offset 1, inside the first batch
        batch = record_batch([(None, b"a", [], 1000), (None, b"b", [], 5000),
                              (None, b"c", [], 3000)], base_ts=1000)
        assert c.produce(t, 0, batch) == (0, 0)
        produce_n(c, t, 0, 2, ts=[5000, 2000])  # 3, 4
        for v in range(1, 9):
            assert list_offsets(c, t, 0, -1, version=v)[:3] == (0, -1, 5), v
            assert list_offsets(c, t, 0, -2, version=v)[:3] == (0, -1, 0), v
            assert list_offsets(c, t, 0, 2500, version=v)[:3] == (0, 5000, 1), v
            assert list_offsets(c, t, 0, 9000, version=v)[:3] == (0, -1, -1), v
        assert list_offsets(c, t, 0, -3, version=7) == (0, 5000, 1, 0)
        assert list_offsets(c, t, 0, -4, version=8) == (0, -1, 0, 0)
        assert list_offsets(c, t, 0, -1, version=8) == (0, -1, 5, 0)
    b.restart()  # epoch 1
    with RawConn(b.port) as c:
        produce_n(c, t, 0, 1, ts=[7000])  # 5 at epoch 1
        # the epoch of the batch found, not the current one; latest: the current one
        assert list_offsets(c, t, 0, 2500, version=4) == (0, 5000, 1, 0)
        assert list_offsets(c, t, 0, 6000, version=6) == (0, 7000, 5, 1)
        assert list_offsets(c, t, 0, -1, version=5) == (0, -1, 6, 1)
        assert list_offsets(c, t, 0, -2, version=5) == (0, -1, 0, 0)
        assert list_offsets(c, t, 0, -3, version=7) == (0, 7000, 5, 1)
        # fencing (v4+)
        assert list_offsets(c, t, 0, -1, version=4, current_leader_epoch=0)[0] == \
            FENCED_LEADER_EPOCH
        assert list_offsets(c, t, 0, -1, version=6, current_leader_epoch=2)[0] == \
            UNKNOWN_LEADER_EPOCH
        assert list_offsets(c, t, 0, -1, version=6, current_leader_epoch=1)[:3] == (0, -1, 6)
        # a partition named twice: INVALID_REQUEST for both
        body = i32(-1) + i8(0) + karray([t], lambda t: kstr(t) + karray(
            [0, 0], lambda p: i32(p) + i64(-1)))
        r = c.request(2, 2, body)
        r.i32()
        res = r.array(lambda r: (r.str(), r.array(lambda r: (r.i32(), r.i16(), r.i64(),
                                                              r.i64()))))
        assert [p[1] for p in res[0][1]] == [42, 42]
        assert list_offsets(c, unique("nope"), 0, -1)[0] == UNKNOWN_TOPIC_OR_PARTITION


def test_list_offsets_v0(make_broker):
    """ListOffsets v0 (Burrow 1.2.1): MaxNumOffsets segment start offsets by mtime, newest
    first, the log end first of all."""
    b = make_broker(sets={"log.segment.bytes": 1024})
    t = unique("lo0")
    create_topic(b.bootstrap, t)
    with RawConn(b.port) as c:
        for i in range(30):
            c.produce(t, 0, record_batch([(None, b"x" * 100)]))
        before = list_offsets_v0(c, t, 0, -1, 100)
        err, offs = before
        assert err == 0 and offs[0] == 30 and offs[-1] == 0 and len(offs) > 3
        assert offs == sorted(offs, reverse=True)
        assert list_offsets_v0(c, t, 0, -1, 1) == (0, [30])
        assert list_offsets_v0(c, t, 0, -2, 1) == (0, [0])
        assert list_offsets_v0(c, t, 0, -2, 5) == (0, [0])
        assert list_offsets_v0(c, t, 0, 0, 5) == (0, [])  # nothing modified before 1970
        now = int(time.time() * 1000) + 3600 * 1000
        assert list_offsets_v0(c, t, 0, now, 2) == (0, offs[:2])
        # the log start caps the segments below it
        start = offs[2] + 1
        assert delete_records(c, t, [(0, start)])[0][0] == 0
        err, after = list_offsets_v0(c, t, 0, -1, 100)
        assert err == 0 and after[-1] == start and min(after) == start
        assert list_offsets_v0(c, t, 0, -2, 1) == (0, [start])
        assert list_offsets_v0(c, unique("nope"), 0, -1, 1)[0] == UNKNOWN_TOPIC_OR_PARTITION


def test_list_offsets_v0_kafka_python(broker):
    """kafka-python pinned to 0.10.0 sends ListOffsets v0 for beginning/end offsets."""
    import kafka
    t = unique("lo0kp")
    create_topic(broker.bootstrap, t)
    with RawConn(broker.port) as c:
        produce_n(c, t, 0, 7)
        assert delete_records(c, t, [(0, 2)]) == {0: (0, 2)}
    cons = kafka.KafkaConsumer(bootstrap_servers=broker.bootstrap, api_version=(0, 10, 0),
                               request_timeout_ms=int(11000 * SLOW))
    try:
        tp = kafka.TopicPartition(t, 0)
        assert cons.end_offsets([tp]) == {tp: 7}
        assert cons.beginning_offsets([tp]) == {tp: 2}
    finally:
        cons.close()


# ------------------------------------------------------------------------------ DescribeLogDirs
def describe_log_dirs(conn, topics, version=1):
    """topics: None (all) or [(topic, [partitions])] ->
    (top error or None, [(error, dir, {topic: {p: (size, lag, future)}}, total, usable)])."""
    if version >= 2:
        body = carray(topics, lambda t: cstr(t[0]) + carray(t[1], i32) + TAGS) + TAGS
        r = conn.flex_request(35, version, body)
        r.i32()
        top = r.i16() if version >= 3 else None

        def result(r):
            err, d = r.i16(), r.str()
            ts = r.array(lambda r: (r.str(), r.array(
                lambda r: (r.i32(), r.i64(), r.i64(), r.i8(), r.tags())), r.tags()))
            total = r.i64() if version >= 4 else None
            usable = r.i64() if version >= 4 else None
            r.tags()
            return err, d, ts, total, usable
        res = r.array(result)
    else:
        body = karray(topics, lambda t: kstr(t[0]) + karray(t[1], i32))
        r = conn.request(35, version, body)
        r.i32()
        top = None
        res = r.array(lambda r: (r.i16(), r.str(), r.array(lambda r: (r.str(), r.array(
            lambda r: (r.i32(), r.i64(), r.i64(), r.i8())))), None, None))
    out = []
    for err, d, ts, total, usable in res:
        out.append((err, d, {t[0]: {p[0]: (p[1], p[2], p[3]) for p in t[1]} for t in ts},
                    total, usable))
    return top, out


def test_describe_log_dirs_raw(make_broker):
    b = make_broker()
    t, t2 = unique("ld"), unique("ld2")
    create_topic(b.bootstrap, t, partitions=3)
    create_topic(b.bootstrap, t2)
    with RawConn(b.port) as c:
        produce_n(c, t, 0, 5)
        produce_n(c, t, 2, 1)
        sizes = {p: sum(os.path.getsize(os.path.join(b.partition_dir(t, p), f))
                        for f in os.listdir(b.partition_dir(t, p)) if f.endswith(".log"))
                 for p in range(3)}
        assert sizes[0] > sizes[2] > 0 and sizes[1] == 0
        for v in range(5):
            top, res = describe_log_dirs(c, None, version=v)
            assert top == (0 if v >= 3 else None)
            [(err, d, topics, total, usable)] = res
            assert err == 0 and d == os.path.realpath(b.data_dir)
            assert topics[t] == {p: (sizes[p], 0, 0) for p in range(3)}, v
            assert t2 in topics
            if v >= 4:
                st = os.statvfs(b.data_dir)
                assert total == st.f_blocks * st.f_frsize
                assert 0 < usable <= total
            else:
                assert total is None
            # a subset; unknown topics and partitions are just absent
            _, [(_e, _d, sub, _t, _u)] = describe_log_dirs(
                c, [(t, [2, 0, 9]), (unique("nope"), [0])], version=v)
            assert sub == {t: {0: (sizes[0], 0, 0), 2: (sizes[2], 0, 0)}}
            _, [(_e, _d, none, _t, _u)] = describe_log_dirs(c, [], version=v)
            assert none == {}


def test_describe_log_dirs_kafka_python(broker):
    t = unique("ldkp")
    create_topic(broker.bootstrap, t, partitions=2)
    with RawConn(broker.port) as c:
        produce_n(c, t, 1, 3)
    _, DescribeLogDirs = kp_classes()
    a = kp_admin(broker.bootstrap)
    try:
        resp = kp_send(a, DescribeLogDirs(topics=[(t, [0, 1])]))
        every = kp_send(a, DescribeLogDirs(topics=None))
    finally:
        a.close()
    [(err, d, topics)] = resp.results
    assert err == 0 and d == os.path.realpath(broker.data_dir)
    [(name, parts)] = topics
    assert name == t
    got = {p[0]: p[1:] for p in parts}
    assert got[0] == (0, 0, False) and got[1][0] > 0 and got[1][1:] == (0, False)
    assert t in {name for name, _ in every.results[0][2]}


def test_delete_records_past_open_transaction(broker):
    """DeleteRecords may cut into an open transaction: the last stable offset (ListOffsets
    read_committed latest, Fetch's LSO) stays at least at the new log start, as Kafka's."""
    from conftest import ck_producer
    t = unique("drtxn")
    create_topic(broker.bootstrap, t)
    p = ck_producer(broker.bootstrap, **{"transactional.id": unique("tx"),
                                         "transaction.timeout.ms": int(10000 * SLOW)})
    p.init_transactions(10 * SLOW)
    p.begin_transaction()
    for i in range(3):
        p.produce(t, value=b"x%d" % i, partition=0)
    assert p.flush(10 * SLOW) == 0
    with RawConn(broker.port) as c:
        assert list_offsets(c, t, 0, -1, version=2, isolation=1)[2] == 0
        assert delete_records(c, t, [(0, 2)]) == {0: (0, 2)}
        assert list_offsets(c, t, 0, -1, version=2, isolation=1)[2] == 2
        assert list_offsets(c, t, 0, -1, version=2, isolation=0)[2] == 3
    p.abort_transaction(10 * SLOW)
    with RawConn(broker.port) as c:
        assert list_offsets(c, t, 0, -1, version=2, isolation=1)[2] == 4


def test_fetch_log_start_offset_follows(broker):
    t = unique("drfetch")
    create_topic(broker.bootstrap, t)
    with RawConn(broker.port) as c:
        produce_n(c, t, 0, 5)
        assert delete_records(c, t, [(0, 3)]) == {0: (0, 3)}
        r = c.request(1, 11, RawConn.fetch_body(t, 0, 3, version=11))
        r.i32()
        assert r.i16() == 0
        r.i32()
        [(_name, [(p, err, hwm, _lso, log_start)])] = r.array(lambda r: (r.str(), r.array(
            lambda r: (r.i32(), r.i16(), r.i64(), r.i64(), r.i64()))))
        assert (err, hwm, log_start) == (0, 5, 3)


def test_fetch_fenced_by_leader_epoch(make_broker):
    """Fetch v9+ with a current leader epoch (KIP-320): an older one is FENCED_LEADER_EPOCH, a
    newer one UNKNOWN_LEADER_EPOCH, the partition's own (Metadata's) or -1 reads."""
    b = make_broker()
    t = unique("fetchfence")
    create_topic(b.bootstrap, t)
    with RawConn(b.port) as c:
        produce_n(c, t, 0, 2)
    b.restart()  # a new leader epoch: 1
    with RawConn(b.port) as c:
        for epoch, want in ((0, FENCED_LEADER_EPOCH), (2, UNKNOWN_LEADER_EPOCH), (1, 0),
                            (-1, 0)):
            r = c.request(1, 11, RawConn.fetch_body(t, 0, 0, version=11, current_epoch=epoch))
            r.i32()
            assert r.i16() == 0
            r.i32()
            [(_name, [(_p, err)])] = r.array(lambda r: (r.str(), r.array(
                lambda r: (r.i32(), r.i16()))))
            assert err == want, (epoch, err)


def test_api_versions_ranges(broker):
    """The ranges of this slice's APIs are Kafka 3.7's."""
    with RawConn(broker.port) as c:
        err, apis = c.api_versions()
    assert err == 0
    assert apis[2] == (0, 8)    # ListOffsets
    assert apis[21] == (0, 2)   # DeleteRecords
    assert apis[23] == (0, 4)   # OffsetForLeaderEpoch
    assert apis[35] == (0, 4)   # DescribeLogDirs


def test_delete_records_removes_whole_segments(make_broker):
    """Segments wholly below the new start go in the next maintenance pass (off the event
    loop, as Kafka's retention thread); DescribeLogDirs' size follows."""
    b = make_broker(sets={"log.segment.bytes": 1024})
    t = unique("drseg")
    create_topic(b.bootstrap, t)
    d = b.partition_dir(t, 0)

    def bases():
        return sorted(int(f[:-4]) for f in os.listdir(d) if f.endswith(".log"))
    with RawConn(b.port) as c:
        for i in range(30):
            c.produce(t, 0, record_batch([(None, b"y" * 100)]))
        before = bases()
        assert len(before) > 4
        start = before[3] + 1  # inside the fourth segment
        _, [(_e, _d, t0, _, _)] = describe_log_dirs(c, [(t, [0])])
        assert delete_records(c, t, [(0, start)]) == {0: (0, start)}
        wait_until(lambda: bases()[0] == before[3], timeout=10, what="segments below the start")
        assert bases() == before[3:]
        _, [(_e, _d, t1, _, _)] = describe_log_dirs(c, [(t, [0])])
        assert t1[t][0][0] < t0[t][0][0]
        assert list_offsets(c, t, 0, -2)[2] == start
        assert c.fetch(t, 0, start - 1)[0] == OFFSET_OUT_OF_RANGE
    b.kill()
    b.start()
    with RawConn(b.port) as c:
        assert list_offsets(c, t, 0, -2)[2] == start


def test_log_dirs_cli(broker):
    """`runnel topic log-dirs` prints what kafka-log-dirs.sh --describe prints."""
    import json
    t, t2 = unique("ldcli"), unique("ldcli2")
    create_topic(broker.bootstrap, t, partitions=2)
    create_topic(broker.bootstrap, t2)
    with RawConn(broker.port) as c:
        produce_n(c, t, 1, 4)
    bs = ["-b", broker.bootstrap]
    r = runnel("topic", "log-dirs", "--topic-list", t, *bs)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert lines[0] == "Querying brokers for log directories information"
    assert lines[1].startswith("Received log directory information from brokers ")
    doc = json.loads(lines[2])
    assert doc["version"] == 1
    [b] = doc["brokers"]
    [d] = b["logDirs"]
    assert d["logDir"] == os.path.realpath(broker.data_dir) and d["error"] is None
    parts = {p["partition"]: p for p in d["partitions"]}
    assert set(parts) == {"%s-0" % t, "%s-1" % t}
    assert parts["%s-0" % t]["size"] == 0 and parts["%s-1" % t]["size"] > 0
    assert parts["%s-1" % t]["offsetLag"] == 0 and parts["%s-1" % t]["isFuture"] is False
    r = runnel("topic", "log-dirs", *bs)
    assert r.returncode == 0
    every = json.loads(r.stdout.decode().splitlines()[2])
    names = {p["partition"] for p in every["brokers"][0]["logDirs"][0]["partitions"]}
    assert "%s-0" % t2 in names and "%s-1" % t in names
    r = runnel("topic", "log-dirs", "-b", "127.0.0.1:1", "--timeout-ms", "1000")
    assert r.returncode == 1 and len(r.stderr.decode().strip().splitlines()) == 1


def test_consumers_after_delete_records(broker):
    """Clients reading from before the new start get OFFSET_OUT_OF_RANGE and reset to the
    log start (librdkafka with auto.offset.reset=earliest, kafka-python seek_to_beginning)."""
    from conftest import ck_consume, kp_consume
    t = unique("drcons")
    create_topic(broker.bootstrap, t)
    ck_produce(broker.bootstrap, t, [(None, b"v%d" % i, None, None, 0) for i in range(10)])
    with RawConn(broker.port) as c:
        assert delete_records(c, t, [(0, 6)]) == {0: (0, 6)}
    got = ck_consume(broker.bootstrap, t, [0], 4, offset=2)
    assert [(m.offset(), m.value()) for m in got] == [(i, b"v%d" % i) for i in range(6, 10)]
    got = kp_consume(broker.bootstrap, t, [0], 4)
    assert [(m.offset, m.value) for m in got] == [(i, b"v%d" % i) for i in range(6, 10)]
