"""Produce and consume with confluent-kafka, kafka-python, kcat and raw frames; compare byte for
byte (keys, values, headers, timestamps, offsets)."""
import json
import struct
import threading
import time

import pytest

from conftest import (SLOW, RawConn, ck_consume, ck_consumer, ck_produce, ck_producer,
                      batch_attrs, create_topic, kcat, kp_consume, kp_consumer, kp_producer,
                      parse_batches, raw_fetch_all, record_batch, runnel, unique, wait_until)

NOW = int(time.time() * 1000)
TS0 = NOW - 3_600_000

# (key, value, headers, timestamp) - every shape a record can take
RECORDS = [
    (b"key-0", b"value-0", [("h1", b"v1"), ("h1", b"dup-key"), ("empty", b"")], TS0),
    (None, b"null-key", None, TS0 + 1),
    (b"tombstone", None, None, TS0 + 2),
    (b"", b"", None, TS0 + 3),
    (b"\x00\xff" * 8, bytes(range(256)), [("bin", bytes(range(256)))], TS0 + 4),
    (b"old", b"old timestamp", None, TS0 - 86_400_000),
    (b"nullhdr", b"v", [("nh", None)], TS0 + 6),
    (b"big", b"\xab" * 200_000, [("x", b"y")], TS0 + 7),
]


def norm_headers(h):
    return [(k, None if v is None else bytes(v)) for k, v in (h or [])]


def ck_tuple(m):
    return (m.offset(), m.key(), m.value(), norm_headers(m.headers()), m.timestamp()[1])


def kp_tuple(r):
    return (r.offset, r.key, r.value, norm_headers(r.headers), r.timestamp)


def expected(records, base=0):
    return [(base + i, r[0], r[1], norm_headers(r[2]), r[3]) for i, r in enumerate(records)]


def kp_produce(bootstrap, topic, records, partition=0, **conf):
    p = kp_producer(bootstrap, **conf)
    try:
        futs = []
        for r in records:
            futs.append(p.send(topic, key=r[0], value=r[1], headers=r[2] or None,
                               timestamp_ms=r[3] if len(r) > 3 else None,
                               partition=partition))
        p.flush(timeout=15 * SLOW)
        return [f.get(timeout=10 * SLOW) if conf.get("acks", 1) != 0 else None for f in futs]
    finally:
        p.close(timeout=5)


# ------------------------------------------------------------------------------ round trips
def test_confluent_roundtrip_every_client(broker):
    t = create_topic(broker.bootstrap, unique("rt"), 1)
    msgs = ck_produce(broker.bootstrap, t, RECORDS)
    assert [m.offset() for m in msgs] == list(range(len(RECORDS)))
    exp = expected(RECORDS)

    got = ck_consume(broker.bootstrap, t, [0], len(RECORDS))
    assert [ck_tuple(m) for m in got] == exp
    assert all(m.timestamp()[0] == 1 for m in got)  # TIMESTAMP_CREATE_TIME

    got = kp_consume(broker.bootstrap, t, [0], len(RECORDS))
    kp = [kp_tuple(r) for r in got]
    # kafka-python decodes a null header value as None too
    assert kp == exp
    assert all(r.timestamp_type == 0 for r in got)

    raw, hwm = raw_fetch_all(broker.port, t, 0)
    assert hwm == len(RECORDS)
    assert [(o, k, v, norm_headers(h), ts) for (o, ts, k, v, h) in raw] == exp


def test_kafka_python_roundtrip(broker):
    t = create_topic(broker.bootstrap, unique("kprt"), 1)
    recs = [r for r in RECORDS if not any(v is None for _k, v in (r[2] or []))]
    md = kp_produce(broker.bootstrap, t, recs)
    assert [m.offset for m in md] == list(range(len(recs)))
    got = ck_consume(broker.bootstrap, t, [0], len(recs))
    assert [ck_tuple(m) for m in got] == expected(recs)
    got = kp_consume(broker.bootstrap, t, [0], len(recs))
    assert [kp_tuple(r) for r in got] == expected(recs)


def test_kcat_produce_consume_and_metadata(broker):
    t = create_topic(broker.bootstrap, unique("kc"), 2)
    lines = b"".join(b"k%d:value %d\n" % (i % 3, i) for i in range(20))
    kcat("-b", broker.bootstrap, "-P", "-t", t, "-p", "0", "-K:", "-H", "src=kcat",
         input=lines)
    r = kcat("-b", broker.bootstrap, "-C", "-t", t, "-p", "0", "-o", "beginning", "-e", "-J")
    got = [json.loads(line) for line in r.stdout.decode().splitlines() if line.strip()]
    assert [g["offset"] for g in got] == list(range(20))
    assert [(g["key"], g["payload"]) for g in got] == [("k%d" % (i % 3), "value %d" % i)
                                                      for i in range(20)]
    assert all(g["headers"] == ["src", "kcat"] for g in got)
    # the other clients see the same bytes
    ck = ck_consume(broker.bootstrap, t, [0], 20)
    assert [(m.key(), m.value(), m.headers()) for m in ck] == [
        (b"k%d" % (i % 3), b"value %d" % i, [("src", b"kcat")]) for i in range(20)]
    # kcat -f formatting of records produced by confluent-kafka, with null key/value
    ck_produce(broker.bootstrap, t, [(None, b"nk", [("a", b"b")], TS0, 1),
                                     (b"tk", None, None, TS0 + 5, 1)])
    r = kcat("-b", broker.bootstrap, "-C", "-t", t, "-p", "1", "-o", "beginning", "-e", "-Z",
             "-f", "%p|%o|%k|%s|%T|%h\n")
    assert r.stdout.decode().splitlines() == ["1|0|NULL|nk|%d|a=b" % TS0,
                                              "1|1|tk|NULL|%d|" % (TS0 + 5)]
    # kcat -L
    r = kcat("-b", broker.bootstrap, "-L", "-J")
    md = json.loads(r.stdout)
    topics = {x["topic"]: x for x in md["topics"]}
    assert t in topics and len(topics[t]["partitions"]) == 2
    assert [b["name"] for b in md["brokers"]] == ["127.0.0.1:%d" % broker.port]
    r = kcat("-b", broker.bootstrap, "-L", "-t", t)
    assert ("topic \"%s\" with 2 partitions" % t) in r.stdout.decode()


# ------------------------------------------------------------------------------ acks
@pytest.mark.parametrize("acks", ["0", "1", "all"])
def test_confluent_acks(broker, acks):
    t = create_topic(broker.bootstrap, unique("acks"), 1)
    recs = [(b"k%d" % i, b"acks-%s-%d" % (acks.encode(), i)) for i in range(30)]
    msgs = ck_produce(broker.bootstrap, t, recs, acks=acks)
    if acks != "0":
        assert [m.offset() for m in msgs] == list(range(30))
    got = ck_consume(broker.bootstrap, t, [0], 30)
    assert [(m.key(), m.value()) for m in got] == recs
    assert [m.offset() for m in got] == list(range(30))


@pytest.mark.parametrize("acks", [0, 1, "all"])
def test_kafka_python_acks(broker, acks):
    t = create_topic(broker.bootstrap, unique("kpacks"), 1)
    recs = [(b"k%d" % i, b"kp-acks-%d" % i, None) for i in range(30)]
    md = kp_produce(broker.bootstrap, t, recs, acks=acks)
    if acks != 0:
        assert [m.offset for m in md] == list(range(30))
    got = kp_consume(broker.bootstrap, t, [0], 30)
    assert [(r.key, r.value) for r in got] == [(k, v) for k, v, _h in recs]


def test_acks0_then_acks1_on_same_connection(broker):
    """acks=0 produces get no response; the next request's response must not be confused
    with it (raw, one socket)."""
    t = create_topic(broker.bootstrap, unique("acks0raw"), 1)
    with RawConn(broker.port) as c:
        c.send(0, 3, c.produce_body(t, 0, record_batch([(None, b"a0")]), acks=0))
        corr = c.send(0, 3, c.produce_body(t, 0, record_batch([(None, b"a1")]), acks=1))
        rc, body = c.recv()
        assert rc == corr
        err, hwm, recs = c.fetch(t, 0, 0)
        assert err == 0 and hwm == 2
        assert [r[3] for r in parse_batches(recs)] == [b"a0", b"a1"]


# ------------------------------------------------------------------------------ compression
CODEC_ID = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def check_stored_codec(port, t, codec):
    """The batches are stored and served with the producer's codec (compression.type=producer).
    Kafka refuses Fetch < v10 (76) only on a topic whose compression.type is zstd, so on this
    `producer` topic a v4 fetch gets the zstd batches as stored (test_fetch_versions.py)."""
    with RawConn(port) as c:
        err, hwm, data = c.fetch(t, 0, 0, version=11)
        assert err == 0 and hwm == 300
        attrs = batch_attrs(data)
        assert attrs and all(a & 7 == CODEC_ID[codec] for _b, a in attrs), attrs
        err, _hwm, data = c.fetch(t, 0, 0, version=4)
        assert err == 0 and batch_attrs(data) == attrs[:len(batch_attrs(data))]


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_confluent_compression(broker, codec):
    t = create_topic(broker.bootstrap, unique("cmp-" + codec), 1)
    recs = [(b"key-%d" % i, (b"compressible %05d " % i) * 20,
             [("codec", codec.encode())], TS0 + i) for i in range(300)]
    ck_produce(broker.bootstrap, t, recs, **{"compression.type": codec, "linger.ms": 50})
    got = ck_consume(broker.bootstrap, t, [0], len(recs))
    assert [ck_tuple(m) for m in got] == expected(recs)
    check_stored_codec(broker.port, t, codec)
    if codec != "zstd":  # Fetch v4 (kafka-python) on zstd data is error 76 in Kafka (T12)
        if codec == "snappy":
            pytest.importorskip("snappy")
        if codec == "lz4":
            pytest.importorskip("lz4")
        got = kp_consume(broker.bootstrap, t, [0], len(recs))
        assert [kp_tuple(r) for r in got] == expected(recs)


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_kafka_python_compression(broker, codec):
    mod = {"snappy": "snappy", "lz4": "lz4", "zstd": "zstandard"}.get(codec)
    if mod:
        pytest.importorskip(mod)
    t = create_topic(broker.bootstrap, unique("kpcmp-" + codec), 1)
    recs = [(b"key-%d" % i, (b"kafka-python %05d " % i) * 20, [("c", codec.encode())], TS0 + i)
            for i in range(300)]
    kp_produce(broker.bootstrap, t, recs, compression_type=codec, linger_ms=50)
    got = ck_consume(broker.bootstrap, t, [0], len(recs))
    assert [ck_tuple(m) for m in got] == expected(recs)
    check_stored_codec(broker.port, t, codec)


# ------------------------------------------------------------------------------ volume
def test_large_batches(broker):
    t = create_topic(broker.bootstrap, unique("large"), 1)
    n = 10000
    recs = [(b"%d" % i, b"%08d" % i + b"." * 190) for i in range(n)]
    msgs = ck_produce(broker.bootstrap, t, recs,
                      **{"linger.ms": 50, "batch.num.messages": 10000, "batch.size": 1000000})
    assert [m.offset() for m in msgs] == list(range(n))
    got = ck_consume(broker.bootstrap, t, [0], n, timeout=30)
    assert len(got) == n
    assert all(m.offset() == i and m.value() == recs[i][1] for i, m in enumerate(got))
    # one big record close to the default limits
    big = bytes(range(256)) * 3500  # 896000 bytes
    m = ck_produce(broker.bootstrap, t, [(b"big", big)])[0]
    got = ck_consume(broker.bootstrap, t, [0], 1, offset=m.offset())
    assert got[0].value() == big and got[0].offset() == n


def test_many_partitions(broker):
    np_ = 48
    t = create_topic(broker.bootstrap, unique("many"), np_)
    recs = [(None, b"p%d-%d" % (i % np_, i // np_), None, None, i % np_) for i in range(np_ * 8)]
    ck_produce(broker.bootstrap, t, recs)
    got = ck_consume(broker.bootstrap, t, list(range(np_)), len(recs), timeout=20)
    assert len(got) == len(recs)
    for p in range(np_):
        mine = [m for m in got if m.partition() == p]
        assert [(m.offset(), m.value()) for m in mine] == [(j, b"p%d-%d" % (p, j))
                                                           for j in range(8)]


def test_same_key_same_partition_across_clients(broker):
    from kafka.partitioner.default import murmur2
    nparts = 8
    t = create_topic(broker.bootstrap, unique("keys"), nparts)
    keys = [b"user-%d" % i for i in range(40)]
    want = {k: (murmur2(k) & 0x7FFFFFFF) % nparts for k in keys}
    assert len(set(want.values())) > 3  # the keys spread

    ck = ck_produce(broker.bootstrap, t, [(k, b"ck") for k in keys],
                    partitioner="murmur2_random")
    assert {m.key(): m.partition() for m in ck} == want

    md = kp_produce(broker.bootstrap, t, [(k, b"kp", None) for k in keys], partition=None)
    assert {k: m.partition for k, m in zip(keys, md)} == want

    r = runnel("produce", t, "-b", broker.bootstrap, "-K", ":",
               input=b"".join(k + b":cli\n" for k in keys))
    assert r.returncode == 0, r.stderr
    got = ck_consume(broker.bootstrap, t, list(range(nparts)), 3 * len(keys))
    cli = {m.key(): m.partition() for m in got if m.value() == b"cli"}
    assert cli == want
    # and nothing landed elsewhere
    assert all(want[m.key()] == m.partition() for m in got)


# ------------------------------------------------------------------------------ positions
def test_consume_from_end_only_new(broker):
    import confluent_kafka
    t = create_topic(broker.bootstrap, unique("end"), 1)
    ck_produce(broker.bootstrap, t, [(None, b"old-%d" % i) for i in range(5)])
    c = ck_consumer(broker.bootstrap, **{"enable.partition.eof": True})
    try:
        c.assign([confluent_kafka.TopicPartition(t, 0, confluent_kafka.OFFSET_END)])
        # wait for the offset lookup to resolve (EOF event at offset 5)
        deadline = time.monotonic() + 10 * SLOW
        eof = None
        while eof is None and time.monotonic() < deadline:
            m = c.poll(0.2)
            if m is not None:
                assert m.error() and m.error().code() == \
                    confluent_kafka.KafkaError._PARTITION_EOF, "unexpected %r" % (m.value(),)
                eof = m.offset()
        assert eof == 5
        ck_produce(broker.bootstrap, t, [(None, b"new-%d" % i) for i in range(3)])
        got = []
        deadline = time.monotonic() + 10 * SLOW
        while len(got) < 3 and time.monotonic() < deadline:
            m = c.poll(0.2)
            if m is not None and not m.error():
                got.append((m.offset(), m.value()))
        assert got == [(5 + i, b"new-%d" % i) for i in range(3)]
    finally:
        c.close()

    # kafka-python: seek_to_end resolves through ListOffsets latest
    import kafka
    k = kp_consumer(broker.bootstrap)
    try:
        tp = kafka.TopicPartition(t, 0)
        k.assign([tp])
        k.seek_to_end(tp)
        assert k.position(tp) == 8
        ck_produce(broker.bootstrap, t, [(None, b"newer")])
        recs = []
        deadline = time.monotonic() + 10 * SLOW
        while not recs and time.monotonic() < deadline:
            recs = k.poll(timeout_ms=200).get(tp, [])
        assert [(r.offset, r.value) for r in recs] == [(8, b"newer")]
    finally:
        k.close()


def test_consume_from_offset_mid_batch(broker):
    t = create_topic(broker.bootstrap, unique("mid"), 1)
    with RawConn(broker.port) as c:
        err, base = c.produce(t, 0, record_batch([(b"k%d" % i, b"v%d" % i) for i in range(10)]))
        assert (err, base) == (0, 0)
        err, base = c.produce(t, 0, record_batch([(b"k%d" % i, b"v%d" % i)
                                                  for i in range(10, 15)]))
        assert (err, base) == (0, 10)
        err, hwm, data = c.fetch(t, 0, 4)
        assert err == 0 and hwm == 15
        recs = [(o, v) for (o, _ts, _k, v, _h) in parse_batches(data) if o >= 4]
        assert recs[:6] == [(i, b"v%d" % i) for i in range(4, 10)]
    want = [(i, b"v%d" % i) for i in range(4, 15)]
    got = ck_consume(broker.bootstrap, t, [0], 11, offset=4)
    assert [(m.offset(), m.value()) for m in got] == want
    got = kp_consume(broker.bootstrap, t, [0], 11, offsets=4)
    assert [(r.offset, r.value) for r in got] == want
    r = kcat("-b", broker.bootstrap, "-C", "-t", t, "-p", "0", "-o", "4", "-e", "-f", "%o=%s\n")
    assert r.stdout.decode().splitlines() == ["%d=v%d" % (i, i) for i in range(4, 15)]
    got = ck_consume(broker.bootstrap, t, [0], 2, offset=13)
    assert [m.offset() for m in got] == [13, 14]


def test_offsets_for_times(broker):
    import confluent_kafka
    import kafka
    t = create_topic(broker.bootstrap, unique("times"), 1)
    base = NOW - 100_000
    ck_produce(broker.bootstrap, t, [(None, b"t%d" % i, None, base + i * 1000)
                                     for i in range(10)])
    c = ck_consumer(broker.bootstrap)
    try:
        def off(ts):
            r = c.offsets_for_times([confluent_kafka.TopicPartition(t, 0, ts)],
                                    timeout=10 * SLOW)
            assert r[0].error is None
            return r[0].offset
        assert off(base) == 0
        assert off(base - 50_000) == 0
        assert off(base + 3000) == 3
        assert off(base + 3500) == 4
        assert off(base + 9000) == 9
        assert off(base + 9001) == -1  # beyond the end
        assert off(NOW + 10_000_000) == -1
        lo, hi = c.get_watermark_offsets(confluent_kafka.TopicPartition(t, 0),
                                         timeout=10 * SLOW)
        assert (lo, hi) == (0, 10)
    finally:
        c.close()
    # consume from a timestamp
    got = ck_consume(broker.bootstrap, t, [0], 3, offset=7)
    assert [m.value() for m in got] == [b"t7", b"t8", b"t9"]

    k = kp_consumer(broker.bootstrap)
    try:
        tp = kafka.TopicPartition(t, 0)
        r = k.offsets_for_times({tp: base + 3500})
        assert r[tp].offset == 4 and r[tp].timestamp == base + 4000
        assert k.offsets_for_times({tp: base + 9001})[tp] is None
        assert k.beginning_offsets([tp])[tp] == 0
        assert k.end_offsets([tp])[tp] == 10
    finally:
        k.close()

    r = kcat("-b", broker.bootstrap, "-Q", "-t", "%s:0:%d" % (t, base + 3500))
    assert ("%s [0] offset 4" % t) in r.stdout.decode(), r.stdout
    r = kcat("-b", broker.bootstrap, "-Q", "-t", "%s:0:%d" % (t, base + 99_000))
    assert ("%s [0] offset -1" % t) in r.stdout.decode(), r.stdout

    with RawConn(broker.port) as rc:
        assert rc.list_offsets(t, 0, base + 2000) == (0, base + 2000, 2)
        assert rc.list_offsets(t, 0, base + 99_000)[1:] == (-1, -1)
        assert rc.list_offsets(t, 0, -2)[2] == 0
        assert rc.list_offsets(t, 0, -1)[2] == 10
        assert rc.list_offsets(t, 7, -1)[0] == 3  # no such partition


# ------------------------------------------------------------------------------ LogAppendTime
def check_log_append_time(bootstrap, port, t):
    before = int(time.time() * 1000)
    ck_produce(bootstrap, t, [(b"k", b"v%d" % i, None, 1000 + i) for i in range(5)])
    after = int(time.time() * 1000)
    got = ck_consume(bootstrap, t, [0], 5)
    assert len(got) == 5
    for m in got:
        ttype, ts = m.timestamp()
        assert ttype == 2, "timestamp type %d, want LogAppendTime" % ttype
        assert before - 1000 <= ts <= after + 1000, (before, ts, after)
    got = kp_consume(bootstrap, t, [0], 5)
    assert [r.timestamp_type for r in got] == [1] * 5
    assert all(before - 1000 <= r.timestamp <= after + 1000 for r in got)
    with RawConn(port) as c:
        err, _hwm, data = c.fetch(t, 0, 0)
    assert err == 0 and all(a & 8 for _b, a in batch_attrs(data))


def test_log_append_time_topic(broker):
    t = create_topic(broker.bootstrap, unique("lat"), 1,
                     config={"message.timestamp.type": "LogAppendTime"})
    check_log_append_time(broker.bootstrap, broker.port, t)


def test_log_append_time_broker_default(make_broker):
    b = make_broker({"log.message.timestamp.type": "LogAppendTime"})
    t = create_topic(b.bootstrap, unique("latb"), 1)
    check_log_append_time(b.bootstrap, b.port, t)


# ------------------------------------------------------------------------------ long poll
def test_fetch_long_poll_waits_max_wait(broker):
    t = create_topic(broker.bootstrap, unique("lp"), 1)
    with RawConn(broker.port) as c:
        t0 = time.monotonic()
        err, hwm, data = c.fetch(t, 0, 0, max_wait_ms=1000, min_bytes=1)
        el = time.monotonic() - t0
    assert err == 0 and hwm == 0 and data == b""
    assert 0.85 <= el <= 1.0 + 1.5 * SLOW, "empty fetch returned after %.3fs" % el


def test_fetch_long_poll_woken_by_produce(broker):
    t = create_topic(broker.bootstrap, unique("lpw"), 1)
    res = {}

    def fetcher():
        with RawConn(broker.port) as c:
            t0 = time.monotonic()
            res["r"] = c.fetch(t, 0, 0, max_wait_ms=5000, min_bytes=1)
            res["el"] = time.monotonic() - t0

    th = threading.Thread(target=fetcher)
    th.start()
    time.sleep(0.3)  # let the fetch park (there is nothing observable to poll for)
    with RawConn(broker.port) as c:
        assert c.produce(t, 0, record_batch([(None, b"wake")]))[0] == 0
    th.join(10 * SLOW)
    assert not th.is_alive()
    err, hwm, data = res["r"]
    assert err == 0 and hwm == 1
    assert [r[3] for r in parse_batches(data)] == [b"wake"]
    assert res["el"] < 0.3 + 1.0 * SLOW, "woken after %.3fs (max_wait 5s)" % res["el"]


def test_consumer_latency_with_long_fetch_wait(broker):
    """confluent (fetch.wait.max.ms=3000) and kafka-python (fetch_max_wait_ms=3000) get a new
    record well before max wait: the parked fetch is woken by the produce."""
    import confluent_kafka
    t = create_topic(broker.bootstrap, unique("lpc"), 1)
    c = ck_consumer(broker.bootstrap, **{"fetch.wait.max.ms": 3000})
    try:
        c.assign([confluent_kafka.TopicPartition(t, 0, confluent_kafka.OFFSET_BEGINNING)])
        assert c.poll(0.5) is None  # the consumer's first fetch is parked by now
        t0 = time.monotonic()
        ck_produce(broker.bootstrap, t, [(None, b"ping")], **{"linger.ms": 0})
        got = None
        while got is None and time.monotonic() - t0 < 10 * SLOW:
            m = c.poll(0.05)
            if m is not None and not m.error():
                got = m
        el = time.monotonic() - t0
        assert got is not None and got.value() == b"ping"
        assert el < 1.5 * SLOW, "record arrived after %.2fs" % el
    finally:
        c.close()


# ------------------------------------------------------------------------------ idempotence
def test_idempotent_producer(broker):
    """librdkafka enable.idempotence=true: InitProducerId, sequence numbers; every record once,
    in order (protocol.md §2.5)."""
    t = create_topic(broker.bootstrap, unique("idem"), 2)
    recs = [(b"k%d" % i, b"idem-%d" % i, None, None, i % 2) for i in range(400)]
    msgs = ck_produce(broker.bootstrap, t, recs, **{"enable.idempotence": True, "acks": "all",
                                                    "linger.ms": 2})
    for p in (0, 1):
        assert [m.offset() for m in msgs if m.partition() == p] == list(range(200))
    got = ck_consume(broker.bootstrap, t, [0, 1], 400)
    assert sorted(m.value() for m in got) == sorted(r[1] for r in recs)
    with RawConn(broker.port) as c:
        _err, _hwm, data = c.fetch(t, 0, 0)
    # batches carry the producer id (>= 0) and base sequence 0 for the first batch
    pid, epoch, seq = struct.unpack_from(">qhi", data, 43)
    assert pid >= 0 and epoch >= 0 and seq == 0


def test_headers_many_and_large(broker):
    t = create_topic(broker.bootstrap, unique("hdrs"), 1)
    hdrs = [("h%03d" % i, b"v" * i) for i in range(100)] + [("big", b"\x01" * 50_000)]
    ck_produce(broker.bootstrap, t, [(b"k", b"v", hdrs)])
    got = ck_consume(broker.bootstrap, t, [0], 1)
    assert got[0].headers() == hdrs
    got = kp_consume(broker.bootstrap, t, [0], 1)
    assert got[0].headers == hdrs
