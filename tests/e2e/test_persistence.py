"""Durability across clean restarts and SIGKILL, segment rolling and retention."""
import os
import struct
import re
import threading
import time

import pytest

from conftest import (SLOW, RawConn, ck_admin, ck_consume, ck_produce, ck_producer, record_batch,
                      create_topic, earliest_offset, kcat, kp_consume, unique, wait_until)


def ck_tuple(m):
    return (m.partition(), m.offset(), m.key(), m.value(), m.headers(), m.timestamp())


def test_clean_restart_keeps_everything(make_broker):
    b = make_broker({"num.partitions": 2})
    t = create_topic(b.bootstrap, unique("restart"), 2,
                     config={"retention.ms": "604800000", "segment.bytes": "65536"})
    ts0 = int(time.time() * 1000) - 10_000
    recs = [(b"k%d" % i if i % 5 else None,
             (b"value-%d-" % i) * (i % 7 + 1) if i % 11 else None,
             [("i", b"%d" % i), ("bin", bytes([i % 256]) * 3)] if i % 3 else None,
             ts0 + i, i % 2) for i in range(400)]
    ck_produce(b.bootstrap, t, recs[:200], **{"compression.type": "lz4"})
    ck_produce(b.bootstrap, t, recs[200:])
    before = ck_consume(b.bootstrap, t, [0, 1], len(recs))
    assert len(before) == len(recs)
    before = sorted(ck_tuple(m) for m in before)

    b.restart()
    after = sorted(ck_tuple(m) for m in ck_consume(b.bootstrap, t, [0, 1], len(recs)))
    assert after == before
    # topic config survives too
    import confluent_kafka.admin as cka
    res = cka.ConfigResource("topic", t)
    adm = ck_admin(b.bootstrap)
    cfg = adm.describe_configs([res])[res].result(10 * SLOW)
    assert cfg["segment.bytes"].value == "65536"
    # and the log continues at the right offsets
    m = ck_produce(b.bootstrap, t, [(None, b"after-restart", None, None, 0)])[0]
    assert m.offset() == 200
    kp = kp_consume(b.bootstrap, t, [0], 201)
    assert [r.offset for r in kp] == list(range(201))
    assert kp[-1].value == b"after-restart"
    # restart log line reports the topic
    b.restart()
    # The line comes after the listener lines start() waits for: poll for it.
    wait_until(lambda: re.search(r"[1-9]\d* topic\(s\)", b.stderr()), 10,
               what="the restart's topic count log line")


def test_restart_empty_and_auto_created(make_broker):
    b = make_broker()
    t = unique("autorestart")
    ck_produce(b.bootstrap, t, [(None, b"x")])
    b.restart()
    md = ck_admin(b.bootstrap).list_topics(timeout=5 * SLOW)
    assert t in md.topics
    got = ck_consume(b.bootstrap, t, [0], 1)
    assert [m.value() for m in got] == [b"x"]


def drop_caches():
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


@pytest.mark.parametrize("flush", ["default", "every-message"])
def test_sigkill_under_load_keeps_acked(make_broker, flush):
    sets = {"log.flush.interval.messages": 1} if flush == "every-message" else {}
    b = make_broker(sets)
    t = create_topic(b.bootstrap, unique("kill"), 1)
    acked = []  # (offset, value) in delivery order
    failed = []
    stop = threading.Event()
    produced = [0]

    def run():
        p = ck_producer(b.bootstrap, **{"acks": "all", "linger.ms": 2,
                                        "message.send.max.retries": 0,
                                        "enable.idempotence": False,
                                        "message.timeout.ms": int(4000 * SLOW),
                                        "socket.timeout.ms": int(3000 * SLOW),
                                        "reconnect.backoff.max.ms": 200})

        def cb(err, msg):
            if err is None:
                acked.append((msg.offset(), msg.value()))
            else:
                failed.append(err.code())
        i = 0
        while not stop.is_set():
            try:
                p.produce(t, value=b"seq-%08d-" % i + b"p" * 90, on_delivery=cb)
                i += 1
                produced[0] = i
            except BufferError:
                p.poll(0.01)
            if i % 50 == 0:
                p.poll(0)
        p.flush(8 * SLOW)

    th = threading.Thread(target=run)
    th.start()
    try:
        wait_until(lambda: len(acked) >= 3000, timeout=20, interval=0.005, what="3000 acks")
    finally:
        b.kill()
    stop.set()
    th.join(30 * SLOW)
    assert not th.is_alive()
    n_acked = len(acked)
    assert n_acked >= 3000
    dropped = drop_caches()
    b.start()
    assert b.alive()

    got = ck_consume(b.bootstrap, t, [0], n_acked, timeout=20)
    # read to the end, not just n_acked: unacked-but-written records may follow
    import confluent_kafka
    c = confluent_kafka.Consumer({"bootstrap.servers": b.bootstrap, "group.id": unique("g")})
    lo, hi = c.get_watermark_offsets(confluent_kafka.TopicPartition(t, 0), timeout=10 * SLOW)
    c.close()
    assert lo == 0 and hi >= n_acked
    if hi > len(got):
        got = ck_consume(b.bootstrap, t, [0], hi, timeout=20)
    log = [(m.offset(), m.value()) for m in got]
    assert [o for o, _v in log] == list(range(hi)), "offsets not dense after recovery"
    by_off = dict(log)
    missing = [(o, v[:12]) for o, v in acked if by_off.get(o) != v]
    assert not missing, ("%d of %d acknowledged records lost or changed after SIGKILL "
                         "(flush=%s, drop_caches=%s), first: %r"
                         % (len(missing), n_acked, flush, dropped, missing[:3]))
    values = [v for _o, v in log]
    assert len(values) == len(set(values)), "duplicates with retries disabled"
    seqs = [int(v[4:12]) for v in values]
    assert seqs == sorted(seqs), "records out of order"
    # recovery leaves a writable log
    m = ck_produce(b.bootstrap, t, [(None, b"after-kill")])[0]
    assert m.offset() == hi


def test_sigkill_idle_then_restart_repeatedly(make_broker):
    """SIGKILL with nothing in flight, three times; every record stays readable."""
    b = make_broker()
    t = create_topic(b.bootstrap, unique("kill3"), 1)
    total = 0
    for round_ in range(3):
        ck_produce(b.bootstrap, t, [(None, b"r%d-%d" % (round_, i)) for i in range(50)],
                   acks="all")
        total += 50
        b.kill()
        b.start()
        got = ck_consume(b.bootstrap, t, [0], total)
        assert [m.value() for m in got] == [b"r%d-%d" % (r, i) for r in range(round_ + 1)
                                            for i in range(50)]


# ------------------------------------------------------------------------------ segments
SEG_RE = re.compile(r"^(\d{20})\.(log|index|timeindex)$")


def segment_files(d):
    files = {}
    for f in os.listdir(d):
        m = SEG_RE.match(f)
        if m:
            files.setdefault(int(m.group(1)), set()).add(m.group(2))
    return files


def test_segments_roll(make_broker):
    b = make_broker({"log.segment.bytes": 4096})
    t = create_topic(b.bootstrap, unique("roll"), 1)
    recs = [(b"k%d" % i, b"v" * 200 + b"%d" % i) for i in range(100)]
    # one record per batch, so segments can roll between them
    ck_produce(b.bootstrap, t, recs, **{"linger.ms": 0, "batch.num.messages": 1})
    d = b.partition_dir(t, 0)
    segs = segment_files(d)
    assert len(segs) >= 4, "segments: %r" % sorted(segs)
    assert min(segs) == 0
    for base, kinds in segs.items():
        assert {"log", "index", "timeindex"} <= kinds, (base, kinds)
    for base in segs:
        size = os.path.getsize(os.path.join(d, "%020d.log" % base))
        assert size <= 4096 + 400, "segment %d is %d bytes" % (base, size)
    bases = sorted(segs)
    assert bases == sorted(set(bases)) and all(0 <= x < 100 for x in bases)
    got = ck_consume(b.bootstrap, t, [0], 100)
    assert [(m.key(), m.value()) for m in got] == recs
    # reads across segment boundaries from a middle offset, and after a restart
    for base in bases[1:3]:
        got = ck_consume(b.bootstrap, t, [0], 100 - base, offset=base)
        assert [m.offset() for m in got] == list(range(base, 100))
    b.restart()
    assert segment_files(d).keys() == segs.keys()
    got = ck_consume(b.bootstrap, t, [0], 100)
    assert [(m.key(), m.value()) for m in got] == recs
    r = kcat("-b", b.bootstrap, "-C", "-t", t, "-o", str(bases[-1]), "-e", "-f", "%o\n")
    assert r.stdout.decode().split() == [str(o) for o in range(bases[-1], 100)]


def test_topic_segment_bytes_and_time_index(make_broker):
    """Per-topic segment.bytes, and timestamp lookups that span several segments."""
    b = make_broker()
    t = create_topic(b.bootstrap, unique("segt"), 1, config={"segment.bytes": "2048"})
    base = int(time.time() * 1000) - 500_000
    ck_produce(b.bootstrap, t, [(None, b"x" * 150, None, base + i * 100) for i in range(60)],
               **{"linger.ms": 0, "batch.num.messages": 1})
    assert len(segment_files(b.partition_dir(t, 0))) >= 3
    with RawConn(b.port) as c:
        for i in (0, 7, 23, 41, 59):
            assert c.list_offsets(t, 0, base + i * 100 - 50) == (0, base + i * 100, i)
        assert c.list_offsets(t, 0, base + 6000)[2] == -1


def test_retention_bytes_deletes_old_segments(make_broker):
    b = make_broker({"log.retention.check.interval.ms": 1000})
    t = create_topic(b.bootstrap, unique("retb"), 1,
                     config={"segment.bytes": "2048", "retention.bytes": "4096"})
    ck_produce(b.bootstrap, t, [(None, b"%04d" % i + b"r" * 200) for i in range(100)],
               **{"linger.ms": 0, "batch.num.messages": 1})
    d = b.partition_dir(t, 0)
    start = wait_until(lambda: earliest_offset(b.port, t), timeout=8, what="log start to advance")
    assert 0 < start < 100
    with RawConn(b.port) as c:
        assert c.list_offsets(t, 0, -1)[2] == 100
        err, _hwm, _d = c.fetch(t, 0, 0)
        assert err == 1  # OFFSET_OUT_OF_RANGE below the log start
    # segment files go once the log start has moved past them
    wait_until(lambda: min(segment_files(d)) == earliest_offset(b.port, t), timeout=3,
               what="old segment files removed")
    start = earliest_offset(b.port, t)
    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d) if f.endswith(".log"))
    assert size <= 4096 + 2048 + 400
    got = ck_consume(b.bootstrap, t, [0], 100 - start)
    assert got[0].offset() == start and got[-1].offset() == 99
    assert got[0].value().startswith(b"%04d" % start)
    metric = b.metric("kafka_log_log_logstartoffset", {"topic": t, "partition": "0"})
    assert metric == start


def test_retention_ms_deletes_old_segments(make_broker):
    b = make_broker({"log.retention.check.interval.ms": 1000})
    t = create_topic(b.bootstrap, unique("retms"), 1,
                     config={"segment.bytes": "2048", "retention.ms": "60000"})
    old = int(time.time() * 1000) - 3_600_000
    ck_produce(b.bootstrap, t, [(None, b"o" * 200, None, old + i) for i in range(30)],
               **{"linger.ms": 0, "batch.num.messages": 1})
    now = int(time.time() * 1000)
    ck_produce(b.bootstrap, t, [(None, b"n" * 200, None, now) for i in range(5)],
               **{"linger.ms": 0, "batch.num.messages": 1})
    start = wait_until(lambda: earliest_offset(b.port, t), timeout=8, what="log start to advance")
    assert 0 < start <= 30, start
    # recent records are kept
    got = ck_consume(b.bootstrap, t, [0], 35 - start)
    assert [m.value()[:1] for m in got][-5:] == [b"n"] * 5
    # the log start survives a restart
    b.restart()
    assert earliest_offset(b.port, t) == start


def test_broker_retention_default(make_broker):
    """Broker-level log.retention.ms applies to topics without their own retention.ms."""
    b = make_broker({"log.retention.check.interval.ms": 1000, "log.retention.ms": 60000,
                     "log.segment.bytes": 2048})
    t = create_topic(b.bootstrap, unique("retdef"), 1)
    old = int(time.time() * 1000) - 3_600_000
    ck_produce(b.bootstrap, t, [(None, b"o" * 200, None, old) for i in range(30)],
               **{"linger.ms": 0, "batch.num.messages": 1})
    ck_produce(b.bootstrap, t, [(None, b"new")])
    start = wait_until(lambda: earliest_offset(b.port, t), timeout=8, what="log start to advance")
    assert 0 < start <= 30


def test_torn_tail_and_bad_index_recovered(make_broker):
    """After SIGKILL, a partial batch at the end of the active segment (a torn write) is cut
    off, a damaged index is rebuilt, and every complete record is served; the log continues at
    the next offset."""
    b = make_broker({"log.segment.bytes": 8192})
    t = create_topic(b.bootstrap, unique("torn"), 1)
    recs = [(b"k%d" % i, b"torn-%d-" % i + b"t" * 150) for i in range(80)]
    ck_produce(b.bootstrap, t, recs, **{"linger.ms": 0, "batch.num.messages": 1})
    b.kill()
    d = b.partition_dir(t, 0)
    segs = sorted(segment_files(d))
    assert len(segs) >= 2
    last = os.path.join(d, "%020d.log" % segs[-1])
    with open(last, "ab") as f:  # the first 30 bytes of a would-be next batch
        f.write(struct.pack(">qi", 80, 500) + b"\x00" * 18)
    first_index = os.path.join(d, "%020d.index" % segs[0])
    with open(first_index, "r+b") as f:  # a mangled, odd-sized index
        f.write(b"\xff" * 13)
        f.truncate(13)
    b.start()
    got = ck_consume(b.bootstrap, t, [0], 80)
    assert [(m.offset(), m.key(), m.value()) for m in got] == [
        (i, k, v) for i, (k, v) in enumerate(recs)]
    for start in (1, 17, 40):  # index lookups in the repaired segment
        got = ck_consume(b.bootstrap, t, [0], 80 - start, offset=start)
        assert got[0].offset() == start and len(got) == 80 - start
    m = ck_produce(b.bootstrap, t, [(None, b"next")])[0]
    assert m.offset() == 80
    b.restart()
    got = ck_consume(b.bootstrap, t, [0], 81)
    assert [m.offset() for m in got] == list(range(81)) and got[-1].value() == b"next"


def test_corrupt_record_in_middle_of_segment_after_kill(make_broker):
    """A flipped byte inside the last batch (CRC mismatch) after SIGKILL: recovery keeps the
    valid prefix and never serves the corrupt batch."""
    b = make_broker()
    t = create_topic(b.bootstrap, unique("crcrec"), 1)
    with RawConn(b.port) as c:
        for i in range(5):
            assert c.produce(t, 0, record_batch([(None, b"rec-%d" % i + b"z" * 64)]))[0] == 0
    b.kill()
    log = os.path.join(b.partition_dir(t, 0), "%020d.log" % 0)
    size = os.path.getsize(log)
    with open(log, "r+b") as f:
        f.seek(size - 10)
        byte = f.read(1)
        f.seek(size - 10)
        f.write(bytes([byte[0] ^ 0x55]))
    b.start()
    got = ck_consume(b.bootstrap, t, [0], 5, timeout=1.5)
    assert [m.value()[:5] for m in got] == [b"rec-%d" % i for i in range(4)]
    with RawConn(b.port) as c:
        assert c.list_offsets(t, 0, -1)[2] == 4
        assert c.produce(t, 0, record_batch([(None, b"again")])) == (0, 4)
