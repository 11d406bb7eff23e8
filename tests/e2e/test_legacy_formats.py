"""Old clients: magic 0/1 message sets on Produce v0-v2 (converted to v2 batches on append) and
Fetch v0-v3 (v2 batches converted down: magic 0 for v0-v1, magic 1 for v2-v3), as Kafka 3.x
serves them. Raw frames for exact bytes, kafka-python pinned to old api_versions for the real
thing (it sends Produce v1/v2 and Fetch v1/v2 then, never ApiVersions), confluent-kafka for
"a modern client reads what an old one wrote" and back.
"""
import gzip
import struct
import time
import zlib

import pytest

lz4 = pytest.importorskip("lz4")  # python3-lz4 and python3-snappy, as the other codec tests
pytest.importorskip("lz4.frame")
snappy = pytest.importorskip("snappy")

from conftest import (RawConn, Reader, create_topic, ck_consume, ck_produce, i16, i32, i64, i8,
                      karray, kbytes, kstr, metric_value, unique)

NONE, GZIP, SNAPPY, LZ4 = 0, 1, 2, 3
CODECS = {"none": NONE, "gzip": GZIP, "snappy": SNAPPY, "lz4": LZ4}
LAT = 0x08

# Kafka error codes
CORRUPT_MESSAGE, UNSUPPORTED_VERSION, INVALID_RECORD = 2, 35, 87


# ---- XXH32 (magic 0 lz4 carries Kafka 0.8/0.9's wrong frame header checksum) --------------
def _xxh32(data, seed=0):
    P1, P2, P3, P4, P5 = 2654435761, 2246822519, 3266489917, 668265263, 374761393
    M = 0xFFFFFFFF

    def rotl(x, r):
        return ((x << r) | (x >> (32 - r))) & M

    n, p = len(data), 0
    if n >= 16:
        v = [(seed + P1 + P2) & M, (seed + P2) & M, seed, (seed - P1) & M]
        while p + 16 <= n:
            for i in range(4):
                lane = struct.unpack_from("<I", data, p + 4 * i)[0]
                v[i] = (rotl((v[i] + lane * P2) & M, 13) * P1) & M
            p += 16
        h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & M
    else:
        h = (seed + P5) & M
    h = (h + n) & M
    while p + 4 <= n:
        h = (rotl((h + struct.unpack_from("<I", data, p)[0] * P3) & M, 17) * P4) & M
        p += 4
    while p < n:
        h = (rotl((h + data[p] * P5) & M, 11) * P1) & M
        p += 1
    h ^= h >> 15
    h = (h * P2) & M
    h ^= h >> 13
    h = (h * P3) & M
    h ^= h >> 16
    return h


def _lz4_hc_pos(frame):
    flg = frame[4]
    return 6 + (8 if flg & 0x08 else 0) + (4 if flg & 0x01 else 0)


def lz4_old_kafka(frame):
    """kafka-python's lz4_encode_old_kafka: no content size, checksum over magic+descriptor."""
    f = bytearray(frame)
    assert not f[4] & 0x08
    pos = _lz4_hc_pos(f)
    f[pos] = (_xxh32(bytes(f[:pos])) >> 8) & 0xFF
    return bytes(f)


def lz4_fix_hc(frame):
    f = bytearray(frame)
    pos = _lz4_hc_pos(f)
    f[pos] = (_xxh32(bytes(f[4:pos])) >> 8) & 0xFF
    return bytes(f)


def compress(codec, data, magic):
    if codec == GZIP:
        return gzip.compress(data)
    if codec == SNAPPY:  # xerial framing, as Java and kafka-python write it
        block = snappy.compress(data)
        return b"\x82SNAPPY\x00" + i32(1) + i32(1) + i32(len(block)) + block
    if codec == LZ4:
        f = lz4.frame.compress(data, content_checksum=False, store_size=False,
                               block_linked=False)
        return lz4_old_kafka(f) if magic == 0 else f
    return data


def decompress(codec, data, magic):
    if codec == GZIP:
        return gzip.decompress(data)
    if codec == SNAPPY:
        if data.startswith(b"\x82SNAPPY\x00"):
            out, p = b"", 16
            while p < len(data):
                n = struct.unpack_from(">i", data, p)[0]
                out += snappy.decompress(data[p + 4:p + 4 + n])
                p += 4 + n
            return out
        return snappy.decompress(data)
    if codec == LZ4:
        if magic == 0:
            # Kafka writes magic 0 with the broken checksum: it must be the broken one.
            assert data == lz4_old_kafka(lz4_fix_hc(data)), "magic 0 lz4 header checksum"
            data = lz4_fix_hc(data)
        return lz4.frame.decompress(data)
    return data


# ---- Legacy messages ---------------------------------------------------------------------
def message(magic, offset, key, value, ts=-1, attr=0):
    body = i8(magic) + i8(attr) + (i64(ts) if magic == 1 else b"") + kbytes(key) + kbytes(value)
    crc = zlib.crc32(body) & 0xFFFFFFFF
    return i64(offset) + i32(len(body) + 4) + struct.pack(">I", crc) + body


def message_set(magic, records, codec=NONE, wrapper_ts=None, attr=0):
    """records: [(key, value, ts)]. Compressed: one wrapper, inner offsets 0..n-1 (relative,
    as a magic 1 producer writes them; magic 0 producers write them the same way)."""
    plain = b"".join(message(magic, i, k, v, ts, attr if not codec else 0)
                     for i, (k, v, ts) in enumerate(records))
    if codec == NONE:
        return plain
    ts = wrapper_ts if wrapper_ts is not None else max(r[2] for r in records)
    return message(magic, len(records) - 1, None, compress(codec, plain, magic), ts,
                   codec | attr)


def parse_messages(data, deep=True):
    """-> [(offset, magic, attr, ts, key, value)] with absolute offsets; a trailing partial
    message is ignored (as clients do). Checks every CRC."""
    out, p = [], 0
    while p + 12 <= len(data):
        off, size = struct.unpack_from(">qi", data, p)
        if p + 12 + size > len(data):
            break
        crc = struct.unpack_from(">I", data, p + 12)[0]
        body = data[p + 16:p + 12 + size]
        assert zlib.crc32(body) & 0xFFFFFFFF == crc, "bad CRC at %d" % off
        r = Reader(body)
        magic, attr = r.i8(), r.i8() & 0xFF
        ts = r.i64() if magic == 1 else None
        key, value = r.bytes(), r.bytes()
        assert r.p == len(body)
        codec = attr & 7
        if codec and deep:
            inner = parse_messages(decompress(codec, value, magic), deep=False)
            assert all(m[2] & 7 == 0 and m[1] == magic for m in inner)
            last_rel = inner[-1][0]
            for m in inner:
                absolute = off - last_rel + m[0] if magic == 1 else m[0]
                its = ts if (magic == 1 and attr & LAT) else m[3]
                out.append((absolute, magic, attr, its, m[4], m[5]))
        else:
            out.append((off, magic, attr, ts, key, value))
        p += 12 + size
    return out


# ---- Raw requests ------------------------------------------------------------------------
def produce(conn, version, topic, partition, records):
    """Produce v0-v3 -> (error, base_offset, log_append_time or None)."""
    body = (kstr(None) if version >= 3 else b"") + i16(1) + i32(5000) + karray(
        [topic], lambda t: kstr(t) + karray([partition], lambda p: i32(p) + kbytes(records)))
    r = conn.request(0, version, body)
    res = r.array(lambda r: (r.str(), r.array(
        lambda r: (r.i32(), r.i16(), r.i64(), r.i64() if version >= 2 else None))))
    if version >= 1:
        r.i32()  # throttle time, after the responses
    (_t, [(_p, err, base, lat)]) = res[0]
    return err, base, lat


def fetch(conn, version, topic, partition, offset, partition_max=1 << 20, max_bytes=1 << 20):
    """Fetch v0-v3 -> (error, high watermark, records bytes)."""
    body = i32(-1) + i32(100) + i32(1) + (i32(max_bytes) if version >= 3 else b"")
    body += karray([topic], lambda t: kstr(t) + karray(
        [partition], lambda p: i32(p) + i64(offset) + i32(partition_max)))
    r = conn.request(1, version, body)
    if version >= 1:
        r.i32()  # throttle time
    res = r.array(lambda r: (r.str(), r.array(
        lambda r: (r.i32(), r.i16(), r.i64(), r.bytes()))))
    (_t, [(_p, err, hwm, records)]) = res[0]
    return err, hwm, records or b""


def fetch_all(conn, version, topic, partition, upto, **kw):
    out, off = [], 0
    deadline = time.monotonic() + 10
    while off < upto and time.monotonic() < deadline:
        err, _hwm, data = fetch(conn, version, topic, partition, off, **kw)
        assert err == 0, "fetch v%d error %d" % (version, err)
        msgs = [m for m in parse_messages(data) if m[0] >= off]
        if msgs:
            out.extend(msgs)
            off = msgs[-1][0] + 1
    return out


def _whole_messages(data):
    p = 0
    while p + 12 <= len(data):
        p += 12 + struct.unpack_from(">i", data, p + 8)[0]
    return p == len(data)


def records(n, ts0=1700000000000):
    return [(None if i % 4 == 3 else b"k%d" % i, b"value-%d" % i, ts0 + i) for i in range(n)]


# ---- Tests -------------------------------------------------------------------------------
@pytest.mark.parametrize("ts_byte", [0x00, 0x10])
def test_magic_checked_first(broker, raw, ts_byte):
    """A magic 1 set whose timestamp byte sits where a v2 header has its transactional bit:
    before the fix the broker read v2 fields first and answered INVALID_TXN_STATE or
    UNSUPPORTED_FOR_MESSAGE_FORMAT depending on that byte. Now Produce v2 stores it, and
    Produce v3 refuses it as Kafka does (INVALID_RECORD: v3+ carries magic 2 only)."""
    t = unique("lg")
    create_topic(broker.bootstrap, t)
    ts = 0x0000018b00000000 | (ts_byte << 24)  # byte 22 of the set = byte 4 of the timestamp
    ms = message_set(1, [(b"k", b"v" * 64, ts)])  # > 61 bytes: a "v2 header" is all there
    assert ms[22] == ts_byte
    c = raw()
    assert produce(c, 2, t, 0, ms)[:2] == (0, 0)
    assert produce(c, 3, t, 0, ms)[0] == INVALID_RECORD
    assert produce(c, 1, t, 0, message_set(0, [(b"k0", b"v0", -1)]))[:2] == (0, 1)
    got = fetch_all(c, 2, t, 0, 2)
    assert [(m[0], m[3], m[4], m[5]) for m in got] == [(0, ts, b"k", b"v" * 64),
                                                        (1, -1, b"k0", b"v0")]


@pytest.mark.parametrize("codec", list(CODECS))
@pytest.mark.parametrize("magic", [0, 1])
def test_raw_round_trip(broker, raw, magic, codec):
    """A magic-0 (Produce v1) or magic-1 (Produce v2) producer's set, every codec, read back
    by every old Fetch version and by confluent-kafka (v2 batches)."""
    t = unique("lg")
    create_topic(broker.bootstrap, t)
    c = raw()
    recs = records(30)
    pv = 1 if magic == 0 else 2
    err, base, lat = produce(c, pv, t, 0, message_set(magic, recs[:20], CODECS[codec]))
    assert (err, base) == (0, 0)
    if pv == 2:
        assert lat == -1  # CreateTime topic
    assert produce(c, pv, t, 0, message_set(magic, recs[20:], CODECS[codec]))[:2] == (0, 20)
    want_ts = [(-1 if magic == 0 else r[2]) for r in recs]
    for fv in (0, 1, 2, 3):
        got = fetch_all(c, fv, t, 0, 30)
        fmagic = 0 if fv <= 1 else 1
        assert [m[0] for m in got] == list(range(30))
        assert all(m[1] == fmagic for m in got)
        assert [(m[4], m[5]) for m in got] == [(r[0], r[1]) for r in recs]
        if fmagic == 1:
            assert [m[3] for m in got] == want_ts
    msgs = ck_consume(broker.bootstrap, t, [0], 30)
    assert [(m.offset(), m.key(), m.value()) for m in msgs] == \
        [(i, r[0], r[1]) for i, r in enumerate(recs)]
    if magic == 1:
        assert [m.timestamp()[1] for m in msgs] == want_ts
    # Kafka's BrokerTopicMetrics Produce/FetchMessageConversionsPerSec, as counters.
    text = broker.metrics()
    assert metric_value(text, "kafka_server_brokertopicmetrics_producemessageconversions_total",
                        {"topic": t}) == 30
    assert metric_value(text, "kafka_server_brokertopicmetrics_fetchmessageconversions_total",
                        {"topic": t}) >= 4 * 30


def test_bad_legacy_sets(broker, raw):
    """Kafka's errors for broken legacy sets; nothing is appended."""
    t = unique("lg")
    create_topic(broker.bootstrap, t)
    c = raw()
    bad_crc = bytearray(message_set(1, records(2)))
    bad_crc[-1] ^= 1
    assert produce(c, 2, t, 0, bytes(bad_crc))[0] == CORRUPT_MESSAGE
    inner = message_set(1, records(2), GZIP)
    nested = message(1, 0, None, gzip.compress(inner), 0, GZIP)
    assert produce(c, 2, t, 0, nested)[0] == INVALID_RECORD
    two = message_set(1, records(2), GZIP) * 2
    assert produce(c, 2, t, 0, two)[0] == INVALID_RECORD
    assert produce(c, 2, t, 0, message_set(1, records(3))[:-5])[0] == CORRUPT_MESSAGE
    err, hwm, _ = fetch(c, 2, t, 0, 0)
    assert (err, hwm) == (0, 0)


def _kp_producer(bootstrap, api_version, codec):
    import kafka
    return kafka.KafkaProducer(bootstrap_servers=bootstrap, api_version=api_version,
                               compression_type=None if codec == "none" else codec,
                               linger_ms=5, request_timeout_ms=10000)


def _kp_read(bootstrap, api_version, t, n):
    """kafka-python pinned to an old release: (0, 9) fetches with v1, (0, 10, 0) with v2."""
    import kafka
    c = kafka.KafkaConsumer(bootstrap_servers=bootstrap, api_version=api_version,
                            group_id=None, enable_auto_commit=False,
                            fetch_max_wait_ms=100, request_timeout_ms=11000)
    tp = kafka.TopicPartition(t, 0)
    c.assign([tp])
    c.seek(tp, 0)  # no ListOffsets: only the fetch path is under test here
    out = []
    deadline = time.monotonic() + 15
    try:
        while len(out) < n and time.monotonic() < deadline:
            for msgs in c.poll(timeout_ms=200, max_records=n - len(out)).values():
                out.extend(msgs)
    finally:
        c.close()
    return out


@pytest.mark.parametrize("codec", list(CODECS))
@pytest.mark.parametrize("api_version", [(0, 9), (0, 10, 0)])
def test_kafka_python_pinned(broker, api_version, codec):
    """kafka-python pinned to 0.9 (Produce v1, magic 0) or 0.10.0 (Produce v2, magic 1) writes;
    kafka-python on Fetch v2 and confluent-kafka read it back."""
    if api_version == (0, 9) and codec == "lz4":
        pytest.skip("kafka-python's magic 0 lz4 needs the xxhash module (not packaged); the "
                    "raw test covers that codec")
    t = unique("lg")
    create_topic(broker.bootstrap, t)
    p = _kp_producer(broker.bootstrap, api_version, codec)
    futs = [p.send(t, key=b"k%d" % i, value=b"v%d" % i, partition=0,
                   timestamp_ms=1700000000000 + i) for i in range(25)]
    p.flush(10)
    assert [f.get(5).offset for f in futs] == list(range(25))
    p.close()
    got = _kp_read(broker.bootstrap, (0, 10, 0), t, 25)
    assert [(m.offset, m.key, m.value) for m in got] == \
        [(i, b"k%d" % i, b"v%d" % i) for i in range(25)]
    want_ts = [-1 if api_version == (0, 9) else 1700000000000 + i for i in range(25)]
    assert [m.timestamp for m in got] == want_ts
    msgs = ck_consume(broker.bootstrap, t, [0], 25)
    assert [(m.offset(), m.value()) for m in msgs] == [(i, b"v%d" % i) for i in range(25)]


@pytest.mark.parametrize("codec", list(CODECS))
def test_old_reader_of_modern_writer(broker, codec):
    """confluent-kafka (v2 batches, headers) writes; kafka-python on Fetch v2 (magic 1) and on
    Fetch v1 (magic 0) reads the same records, headers dropped as Kafka drops them."""
    t = unique("lg")
    create_topic(broker.bootstrap, t)

    def val(i):  # compressible: librdkafka sends a batch uncompressed if that is smaller
        return b"v%d-" % i + b"x" * 200
    ck_produce(broker.bootstrap, t,
               [(b"k%d" % i, val(i), [("h", b"x")], 1700000000000 + i, 0)
                for i in range(40)], **{"compression.type": codec, "linger.ms": 50})
    for av in ((0, 10, 0), (0, 9)):
        if av == (0, 9) and codec == "lz4":
            continue  # kafka-python needs xxhash for magic 0 lz4; raw test below covers it
        got = _kp_read(broker.bootstrap, av, t, 40)
        assert [(m.offset, m.key, m.value) for m in got] == \
            [(i, b"k%d" % i, val(i)) for i in range(40)]
        if av == (0, 10, 0):
            assert [m.timestamp for m in got] == [1700000000000 + i for i in range(40)]
    with RawConn(broker.port) as c:
        for fv in (0, 3):
            got = fetch_all(c, fv, t, 0, 40)
            assert [(m[0], m[5]) for m in got] == [(i, val(i)) for i in range(40)]
            if codec != "none":
                assert all(m[2] & 7 == CODECS[codec] for m in got)


def test_downconversion_disabled(make_broker):
    """message.downconversion.enable=false (topic) or log.message.downconversion.enable=false
    (broker): Fetch v0-v3 gets UNSUPPORTED_VERSION, Fetch v4+ is untouched."""
    b = make_broker(sets={"log.message.downconversion.enable": "false"})
    t1, t2 = unique("lg"), unique("lg")
    create_topic(b.bootstrap, t1)
    create_topic(b.bootstrap, t2, config={"message.downconversion.enable": "true"})
    with RawConn(b.port) as c:
        for t in (t1, t2):
            assert produce(c, 2, t, 0, message_set(1, records(3)))[:2] == (0, 0)
        for fv in (0, 1, 2, 3):
            err, hwm, data = fetch(c, fv, t1, 0, 0)
            assert (err, hwm, data) == (UNSUPPORTED_VERSION, -1, b"")
            assert len(fetch_all(c, fv, t2, 0, 3)) == 3
        err, hwm, data = c.fetch(t1, 0, 0, version=4)
        assert (err, hwm) == (0, 3) and data[16] == 2
    b2 = make_broker()
    t3 = unique("lg")
    create_topic(b2.bootstrap, t3, config={"message.downconversion.enable": "false"})
    with RawConn(b2.port) as c:
        assert fetch(c, 2, t3, 0, 0)[0] == UNSUPPORTED_VERSION


def test_log_append_time(broker, raw):
    """A LogAppendTime topic: the legacy set's timestamps are replaced, Produce v2 answers
    log_append_time, Fetch v2 shows magic 1 LogAppendTime messages; a producer claiming
    LogAppendTime on such a topic gets INVALID_TIMESTAMP as in Kafka."""
    t = unique("lg")
    create_topic(broker.bootstrap, t, config={"message.timestamp.type": "LogAppendTime"})
    c = raw()
    before = int(time.time() * 1000)
    for codec in (NONE, GZIP):
        err, _base, lat = produce(c, 2, t, 0, message_set(1, records(3, ts0=5), codec))
        assert err == 0 and lat >= before
    got = fetch_all(c, 2, t, 0, 6)
    assert len(got) == 6
    assert all(m[2] & LAT and m[3] >= before for m in got)
    err = produce(c, 2, t, 0, message_set(1, records(1), attr=LAT))[0]
    assert err == 32  # INVALID_TIMESTAMP
    msgs = ck_consume(broker.bootstrap, t, [0], 6)
    import confluent_kafka
    assert all(m.timestamp()[0] == confluent_kafka.TIMESTAMP_LOG_APPEND_TIME for m in msgs)


def test_transaction_markers_dropped(broker, raw):
    """Control batches are not sent to old fetch versions; a fetch that lands on a marker
    reads on to the data after it instead of answering nothing forever."""
    import confluent_kafka
    t = unique("lg")
    create_topic(broker.bootstrap, t)
    p = confluent_kafka.Producer({"bootstrap.servers": broker.bootstrap,
                                  "transactional.id": unique("tx")})
    p.init_transactions(10)
    p.begin_transaction()
    for i in range(3):
        p.produce(t, value=b"tx%d" % i, partition=0)
    p.commit_transaction(10)
    c = raw()
    assert produce(c, 2, t, 0, message_set(1, [(None, b"after", 7)]))[:2] == (0, 4)
    got = fetch_all(c, 2, t, 0, 5)
    assert [(m[0], m[5]) for m in got] == [(0, b"tx0"), (1, b"tx1"), (2, b"tx2"), (4, b"after")]
    err, _hwm, data = fetch(c, 1, t, 0, 3)  # offset 3 is the COMMIT marker
    assert err == 0
    assert [(m[0], m[5]) for m in parse_messages(data)] == [(4, b"after")]


def test_fetch_size_limits(broker, raw):
    """Converted data respects partition_max_bytes (whole messages), and the first message is
    returned whole even when larger."""
    t = unique("lg")
    create_topic(broker.bootstrap, t)
    c = raw()
    big = [(b"k%d" % i, bytes([65 + i]) * 300, 10 + i) for i in range(10)]
    assert produce(c, 2, t, 0, message_set(1, big))[0] == 0
    err, _hwm, data = fetch(c, 2, t, 0, 0, partition_max=1010)  # 336 bytes each
    msgs = parse_messages(data)
    assert err == 0 and len(data) <= 1010 and [m[0] for m in msgs] == [0, 1, 2]
    assert _whole_messages(data)
    err, _hwm, data = fetch(c, 3, t, 0, 5, partition_max=10, max_bytes=10)
    assert err == 0 and [m[0] for m in parse_messages(data)] == [5]



KAFKA_GO_SRC = "/usr/share/gocode/src/github.com/segmentio/kafka-go"


@pytest.fixture(scope="session")
def kafka_go(tmp_path_factory):
    """tests/e2e/kafkago built against Debian's segmentio/kafka-go 0.2.1 (skip without it:
    apt install golang-go golang-github-segmentio-kafka-go-dev)."""
    import os
    import shutil
    import subprocess
    if not shutil.which("go") or not os.path.isdir(KAFKA_GO_SRC):
        pytest.skip("needs golang-go and golang-github-segmentio-kafka-go-dev")
    d = tmp_path_factory.mktemp("kafkago")
    env = dict(os.environ, GOPATH="/usr/share/gocode", GO111MODULE="off",
               GOCACHE=str(d / "cache"), GOFLAGS="")
    src = os.path.join(os.path.dirname(__file__), "kafkago")
    r = subprocess.run(["go", "build", "-o", str(d / "kafkago"), "."], cwd=src, env=env,
                       capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return str(d / "kafkago")


def _kafka_go(binary, broker, t, codec, mode, n):
    import subprocess
    r = subprocess.run([binary, broker.bootstrap, t, codec, mode, str(n)], capture_output=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return [tuple(line.split("\t")) for line in r.stdout.decode().splitlines()]


@pytest.mark.parametrize("codec", list(CODECS))
def test_segmentio_kafka_go(broker, kafka_go, codec):
    """Debian 12's segmentio/kafka-go 0.2.1 (Produce v2 magic 1, Fetch v2, no ApiVersions)
    round-trips its own records, and reads what confluent-kafka wrote; confluent-kafka reads
    what it wrote."""
    t = unique("lg")
    create_topic(broker.bootstrap, t)
    _kafka_go(kafka_go, broker, t, codec, "write", 20)
    want = [(str(i), "k%d" % i, "v%d" % i, str(1700000000000 + i)) for i in range(20)]
    assert _kafka_go(kafka_go, broker, t, codec, "read", 20) == want
    msgs = ck_consume(broker.bootstrap, t, [0], 20)
    assert [(m.offset(), m.key(), m.value(), m.timestamp()[1]) for m in msgs] == \
        [(i, b"k%d" % i, b"v%d" % i, 1700000000000 + i) for i in range(20)]
    t2 = unique("lg")
    create_topic(broker.bootstrap, t2)
    ck_produce(broker.bootstrap, t2, [(b"k%d" % i, b"v%d" % i, None, 1700000000000 + i, 0)
                                      for i in range(20)], **{"compression.type": codec})
    assert _kafka_go(kafka_go, broker, t2, codec, "read", 20) == want
