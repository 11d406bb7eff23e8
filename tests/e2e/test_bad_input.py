"""Limits, malformed frames and error codes: the broker answers or closes, and stays up."""
import socket
import struct
import time

import pytest

from conftest import (SLOW, RawConn, ck_producer, create_topic, i16, i32, i64, karray,
                      kbytes, kp_consumer, kstr, record_batch, unique, parse_batches)


def assert_serving(port):
    """A fresh connection still gets ApiVersions answered."""
    with RawConn(port) as c:
        err, apis = c.api_versions(0)
        assert err == 0 and 18 in apis


# ------------------------------------------------------------------------------ sizes
def test_record_larger_than_topic_max_message_bytes(broker):
    import confluent_kafka
    t = create_topic(broker.bootstrap, unique("big"), 1, config={"max.message.bytes": "2000"})
    errs = []
    p = ck_producer(broker.bootstrap, **{"linger.ms": 0})
    p.produce(t, b"x" * 5000, on_delivery=lambda e, m: errs.append(e))
    p.flush(10 * SLOW)  # librdkafka fails a whole batch with 10 (T10): keep them apart
    p.produce(t, b"small", on_delivery=lambda e, m: errs.append(e))
    p.flush(10 * SLOW)
    assert len(errs) == 2
    assert errs[0] is not None and errs[0].code() == confluent_kafka.KafkaError.MSG_SIZE_TOO_LARGE
    assert errs[1] is None  # a separate batch is fine
    with RawConn(broker.port) as c:
        err, _base = c.produce(t, 0, record_batch([(None, b"y" * 3000)]))
        assert err == 10  # MESSAGE_TOO_LARGE
        err, base = c.produce(t, 0, record_batch([(None, b"y" * 100)]))
        assert err == 0 and base == 1
        err, hwm, data = c.fetch(t, 0, 0)
        assert hwm == 2 and [r[3] for r in parse_batches(data)] == [b"small", b"y" * 100]


def test_broker_message_max_bytes(make_broker):
    b = make_broker({"message.max.bytes": 4096})
    t = create_topic(b.bootstrap, unique("mmb"), 1)
    with RawConn(b.port) as c:
        assert c.produce(t, 0, record_batch([(None, b"z" * 8000)]))[0] == 10
        assert c.produce(t, 0, record_batch([(None, b"z" * 1000)])) == (0, 0)
    import kafka.errors
    from conftest import kp_producer
    p = kp_producer(b.bootstrap, max_request_size=10_000_000)
    try:
        with pytest.raises(kafka.errors.MessageSizeTooLargeError):
            p.send(t, b"w" * 8000, partition=0).get(timeout=10 * SLOW)
    finally:
        p.close(timeout=5)


def test_frame_larger_than_socket_request_max_bytes(broker):
    with RawConn(broker.port) as c:
        c.sendraw(i32(104857600 + 1) + i16(18) + i16(0) + i32(1) + kstr("x"))
        assert c.closed_by_peer(), "oversized frame did not close the connection"
    assert_serving(broker.port)


def test_socket_request_max_bytes_setting(make_broker):
    b = make_broker({"socket.request.max.bytes": 2048})
    t = create_topic(b.bootstrap, unique("srmb"), 1)
    with RawConn(b.port) as c:  # under the limit: fine
        assert c.produce(t, 0, record_batch([(None, b"a" * 1000)]))[0] == 0
    with RawConn(b.port) as c:
        c.sendraw(RawConn.frame(0, 3, 1, RawConn.produce_body(
            t, 0, record_batch([(None, b"a" * 4000)]))))
        assert c.closed_by_peer()
    assert_serving(b.port)


@pytest.mark.parametrize("junk", [
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",          # HTTP to the Kafka port: size 1.1 GB
    i32(-7) + b"\x00" * 8,                          # negative size
    i32(0),                                         # empty frame: no header
    i32(3) + b"\x00\x12\x00",                       # too short for a header
    i32(12) + b"\xde\xad\xbe\xef" * 3,                # nonsense header
    i32(12) + i16(18) + i16(0) + i32(1) + i16(200) + b"ab",  # client_id longer than frame
    i32(10) + i16(3) + i16(0) + i32(1) + i16(-1),   # Metadata v0 without its array
])
def test_garbage_closes_connection_broker_survives(broker, junk):
    with RawConn(broker.port) as c:
        c.sendraw(junk)
        assert c.closed_by_peer(), "broker kept the connection after %r" % junk[:20]
    assert_serving(broker.port)


def test_truncated_frame_does_not_block_others(broker):
    a = RawConn(broker.port)
    try:
        a.sendraw(i32(100) + i16(18) + i16(0) + i32(1))  # 8 of 100 bytes, then silence
        assert_serving(broker.port)
        a.sendraw(b"\x00" * 10)  # still incomplete
        assert_serving(broker.port)
    finally:
        a.close()  # peer hangs up mid-frame
    assert_serving(broker.port)


def test_unknown_api_key_closes(broker):
    with RawConn(broker.port) as c:
        c.send(999, 0, b"")
        assert c.closed_by_peer()
    with RawConn(broker.port) as c:
        c.send(3, 99, karray([], kstr))  # known key, unsupported version
        assert c.closed_by_peer()
    with RawConn(broker.port) as c:
        c.send(-1, 0, b"")
        assert c.closed_by_peer()
    assert_serving(broker.port)


def test_api_versions_unsupported_version(broker):
    with RawConn(broker.port) as c:
        corr = c.send(18, 99, b"\x00\x01\x02")  # unparseable body at an unknown version
        rc, body = c.recv()
        assert rc == corr
        err = struct.unpack_from(">h", body)[0]
        assert err == 35
        n = struct.unpack_from(">i", body, 2)[0]
        apis = [struct.unpack_from(">hhh", body, 6 + 6 * i) for i in range(n)]
        av = [a for a in apis if a[0] == 18]
        assert av and av[0][1] == 0 and av[0][2] >= 3, apis
        assert len(body) == 6 + 6 * n, "v0 body expected (no throttle_time)"
        # the connection stays usable
        err, apis = c.api_versions(0)
        assert err == 0


# ------------------------------------------------------------------------------ error codes
def test_produce_to_missing_partition(broker):
    import confluent_kafka
    t = create_topic(broker.bootstrap, unique("nopart"), 1)
    with RawConn(broker.port) as c:
        err, _b = c.produce(t, 5, record_batch([(None, b"x")]))
        assert err == 3  # UNKNOWN_TOPIC_OR_PARTITION
        err, _b = c.produce(t, -1, record_batch([(None, b"x")]))
        assert err == 3
    errs = []
    p = ck_producer(broker.bootstrap, **{"message.timeout.ms": int(3000 * SLOW)})
    p.produce(t, b"x", partition=5, on_delivery=lambda e, m: errs.append(e))
    p.flush(10 * SLOW)
    assert errs and errs[0] is not None
    assert errs[0].code() in (confluent_kafka.KafkaError._UNKNOWN_PARTITION,
                              confluent_kafka.KafkaError.UNKNOWN_TOPIC_OR_PART)


def test_produce_to_unknown_topic_raw_no_autocreate_on_produce(broker):
    """Produce (unlike Metadata) never creates a topic in Kafka."""
    name = unique("rawunk")
    with RawConn(broker.port) as c:
        err, _b = c.produce(name, 0, record_batch([(None, b"x")]))
        assert err == 3


def test_fetch_out_of_range(broker):
    t = create_topic(broker.bootstrap, unique("oor"), 1)
    with RawConn(broker.port) as c:
        assert c.produce(t, 0, record_batch([(None, b"a"), (None, b"b"), (None, b"c")])) == (0, 0)
        assert c.fetch(t, 0, 1000)[0] == 1   # OFFSET_OUT_OF_RANGE
        assert c.fetch(t, 0, 4)[0] == 1
        assert c.fetch(t, 0, -5)[0] == 1
        err, hwm, data = c.fetch(t, 0, 3, max_wait_ms=10)  # == HWM: empty, no error
        assert (err, hwm, data) == (0, 3, b"")
        assert c.fetch(t, 9, 0)[0] == 3   # no such partition
        assert c.fetch(unique("nosuch"), 0, 0)[0] == 3


def test_fetch_out_of_range_kafka_python(broker):
    import kafka
    import kafka.errors
    t = create_topic(broker.bootstrap, unique("oorkp"), 1)
    with RawConn(broker.port) as c:
        assert c.produce(t, 0, record_batch([(None, b"a")]))[0] == 0
    k = kp_consumer(broker.bootstrap, auto_offset_reset="none")
    try:
        tp = kafka.TopicPartition(t, 0)
        k.assign([tp])
        k.seek(tp, 50)
        with pytest.raises(kafka.errors.OffsetOutOfRangeError):
            deadline = time.monotonic() + 10 * SLOW
            while time.monotonic() < deadline:
                k.poll(timeout_ms=200)
    finally:
        k.close()


def test_confluent_consumer_resets_out_of_range(broker):
    """auto.offset.reset=earliest: an out-of-range start position resets to the log start."""
    from conftest import ck_consume
    t = create_topic(broker.bootstrap, unique("oorck"), 1)
    with RawConn(broker.port) as c:
        assert c.produce(t, 0, record_batch([(None, b"a"), (None, b"b")]))[0] == 0
    got = ck_consume(broker.bootstrap, t, [0], 2, offset=77)
    assert [(m.offset(), m.value()) for m in got] == [(0, b"a"), (1, b"b")]


def test_corrupt_batch_crc_rejected(broker):
    t = create_topic(broker.bootstrap, unique("crc"), 1)
    batch = bytearray(record_batch([(None, b"payload")]))
    batch[-3] ^= 0xFF  # flip a byte inside the record, CRC no longer matches
    with RawConn(broker.port) as c:
        err, _b = c.produce(t, 0, bytes(batch))
        assert err in (2, 87), "corrupt batch answered %d" % err  # CORRUPT_MESSAGE/INVALID_RECORD
        err, hwm, _d = c.fetch(t, 0, 0, max_wait_ms=10)
        assert err == 0 and hwm == 0


def test_batch_length_mismatch_rejected(broker):
    t = create_topic(broker.bootstrap, unique("len"), 1)
    batch = record_batch([(None, b"payload")])
    with RawConn(broker.port) as c:
        err, _b = c.produce(t, 0, batch[:-4])  # truncated batch
        assert err in (2, 87, 42)
        assert c.fetch(t, 0, 0, max_wait_ms=10)[1] == 0
    assert_serving(broker.port)


# ------------------------------------------------------------------------------ pipelining
def test_pipelined_requests_answered_in_order(broker):
    t = create_topic(broker.bootstrap, unique("pipe"), 1)
    with RawConn(broker.port) as c:
        frames = []
        kinds = []
        for i in range(50):
            corr = 1000 + i
            if i % 3 == 0:
                frames.append(RawConn.frame(18, 0, corr, b""))
                kinds.append("av")
            elif i % 3 == 1:
                frames.append(RawConn.frame(3, 0, corr, karray([t], kstr)))
                kinds.append("md")
            else:
                frames.append(RawConn.frame(0, 3, corr, RawConn.produce_body(
                    t, 0, record_batch([(None, b"pipe-%d" % i)]))))
                kinds.append("pr")
        c.sendraw(b"".join(frames))
        got = []
        bases = []
        for i in range(50):
            corr, body = c.recv()
            got.append(corr)
            if kinds[i] == "pr":
                r = struct.unpack_from(">i", body)[0]
                assert r == 1
                # topic name, partitions[1]: partition, error, base_offset
                off = 4 + 2 + len(t) + 4
                _p, err, base = struct.unpack_from(">ihq", body, off)
                assert err == 0
                bases.append(base)
        assert got == [1000 + i for i in range(50)]
        assert bases == list(range(len(bases)))
        err, hwm, data = c.fetch(t, 0, 0)
        assert [r[3] for r in parse_batches(data)] == [b"pipe-%d" % i for i in range(50)
                                                       if i % 3 == 2]


def test_many_connections(broker):
    conns = [RawConn(broker.port) for _ in range(100)]
    try:
        for c in conns:
            c.send(18, 0, b"")
        for c in conns:
            corr, body = c.recv()
            assert corr == 1 and struct.unpack_from(">h", body)[0] == 0
    finally:
        for c in conns:
            c.close()
    assert_serving(broker.port)


def test_client_disconnect_with_pending_long_poll(broker):
    t = create_topic(broker.bootstrap, unique("lpdc"), 1)
    c = RawConn(broker.port)
    c.send(1, 4, RawConn.fetch_body(t, 0, 0, max_wait_ms=3000))
    c.close()  # the parked fetch's connection goes away
    with RawConn(broker.port) as c2:
        assert c2.produce(t, 0, record_batch([(None, b"after")]))[0] == 0
    assert_serving(broker.port)
