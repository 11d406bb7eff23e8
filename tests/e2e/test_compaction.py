"""Compacted topics end to end: the log cleaner converges to one record per key, tombstones go
after delete.retention.ms, a SIGKILL at random points of cleaning loses nothing, idempotence
and transactions survive a clean, keyless records are refused."""
import os
import random
import threading
import time

import pytest

from conftest import (SLOW, RawConn, ck_consumer, ck_producer, create_topic, idempotent_batch,
                      kcat, kp_consume, record_batch, unique, wait_until)

# Fast cleaning: segments roll after 1 s idle, any dirt is worth a clean, the cleaner looks
# every 100 ms.
CLEANER = {"log.cleaner.backoff.ms": 100, "log.cleaner.dedupe.buffer.size": 8 << 20}
TOPIC_CFG = {"cleanup.policy": "compact", "segment.bytes": str(1 << 20), "segment.ms": "1000",
             "min.cleanable.dirty.ratio": "0.01", "delete.retention.ms": "1000"}


def produce_updates(bootstrap, topic, nkeys, rounds, **conf):
    """rounds x nkeys records "k<i>" -> "<i>:<round>"; returns {key: offset of its last}."""
    p = ck_producer(bootstrap, **{"linger.ms": 20, "batch.num.messages": 10000,
                                  "queue.buffering.max.messages": 500000, **conf})
    last = {}
    errors = []

    def cb(err, msg):
        if err is not None:
            errors.append(err)
        elif msg.value().endswith(b":%d" % (rounds - 1)):
            last[msg.key()] = msg.offset()

    for r in range(rounds):
        for k in range(nkeys):
            while True:
                try:
                    p.produce(topic, key=b"k%d" % k, value=b"%d:%d" % (k, r), on_delivery=cb)
                    break
                except BufferError:
                    p.poll(0.01)
        p.poll(0)
    assert p.flush(60 * SLOW) == 0
    assert not errors, errors[:3]
    assert len(last) == nkeys
    return last


def read_all(bootstrap, topic, isolation="read_uncommitted", timeout=30.0):
    """Every record of partition 0 from the log start to the high watermark."""
    import confluent_kafka
    c = ck_consumer(bootstrap, **{"isolation.level": isolation, "enable.partition.eof": True})
    c.assign([confluent_kafka.TopicPartition(topic, 0, confluent_kafka.OFFSET_BEGINNING)])
    out = []
    deadline = time.monotonic() + timeout * SLOW
    try:
        _lo, hi = c.get_watermark_offsets(confluent_kafka.TopicPartition(topic, 0),
                                          timeout=10 * SLOW)
        if hi == 0:
            return out
        while time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() == confluent_kafka.KafkaError._PARTITION_EOF:
                    break
                raise AssertionError("consumer error: %s" % m.error())
            out.append(m)
        else:
            raise AssertionError("no end of partition within %ss" % timeout)
    finally:
        c.close()
    return out


def cleans(broker):
    return broker.metric("runnel_cleaner_cleans_total") or 0


def test_million_updates_converge(make_broker):
    b = make_broker(sets=CLEANER)
    t = create_topic(b.bootstrap, unique("compact"), config={**TOPIC_CFG,
                                                             "compression.type": "producer"})
    nkeys, rounds = 10000, 100
    # A consumer reads the partition from the start while it is written and cleaned: every
    # batch it gets is whole and offsets only grow, also across swaps of the segments it reads.
    stop = threading.Event()
    tail = {"n": 0, "bad": []}

    def tailer():
        import confluent_kafka
        c = ck_consumer(b.bootstrap)
        c.assign([confluent_kafka.TopicPartition(t, 0, confluent_kafka.OFFSET_BEGINNING)])
        prev = -1
        try:
            while not stop.is_set():
                for m in c.consume(num_messages=10000, timeout=0.2):
                    if m.error():
                        tail["bad"].append(str(m.error()))
                        continue
                    if m.offset() <= prev:
                        tail["bad"].append("offset %d after %d" % (m.offset(), prev))
                    prev = m.offset()
                    tail["n"] += 1
        finally:
            c.close()
    th = threading.Thread(target=tailer)
    th.start()
    try:
        last = produce_updates(b.bootstrap, t, nkeys, rounds, **{"compression.codec": "lz4"})
        wait_until(lambda: tail["n"] > 0, 30, what="the tailing consumer to read")
    finally:
        stop.set()
        th.join()
    assert not tail["bad"], tail["bad"][:5]
    # Converged: after the last roll and clean, the log holds about one record per key.
    wait_until(lambda: b.log_bytes(t) < 2 << 20 and cleans(b) > 0, 60,
               what="the log to be compacted (%d bytes)" % b.log_bytes(t))
    seen = {}

    def converged():
        msgs = read_all(b.bootstrap, t)
        seen.clear()
        for m in msgs:
            seen.setdefault(m.key(), []).append(m)
        return len(msgs) == nkeys and all(len(v) == 1 for v in seen.values())
    wait_until(converged, 60, interval=0.5, what="one record per key")
    for k, (m,) in seen.items():
        i = int(k[1:])
        assert m.value() == b"%d:%d" % (i, rounds - 1)
        assert m.offset() == last[k]  # offsets preserved
    text = b.metrics()
    for name in ("kafka_log_logcleaner_max_clean_time_secs",
                 "kafka_log_logcleaner_cleaner_recopy_percent",
                 "kafka_log_logcleaner_max_buffer_utilization_percent",
                 "kafka_log_logcleaner_max_compaction_delay_secs",
                 "kafka_log_logcleanermanager_uncleanable_partitions_count",
                 "kafka_log_logcleanermanager_max_dirty_percent"):
        assert name in text, name
    assert b.metric("kafka_log_logcleanermanager_uncleanable_partitions_count") == 0
    assert os.path.exists(os.path.join(b.data_dir, "cleaner-offset-checkpoint"))
    b.restart()
    assert len(read_all(b.bootstrap, t)) == nkeys


def test_tombstones_disappear(make_broker):
    b = make_broker(sets=CLEANER)
    t = create_topic(b.bootstrap, unique("tomb"), config=TOPIC_CFG)
    p = ck_producer(b.bootstrap)
    for k in range(100):
        p.produce(t, key=b"k%d" % k, value=b"v")
    p.flush(10)
    for k in range(50):
        p.produce(t, key=b"k%d" % k, value=None)
    # A live record last: a log whose tail was all removed ends below the high watermark
    # with no batch to read (as in Kafka), and the consumer would never see its end.
    p.produce(t, key=b"end", value=b"v")
    p.flush(10)

    def only_live():
        keys = sorted(m.key() for m in read_all(b.bootstrap, t))
        return keys == sorted([b"end"] + [b"k%d" % k for k in range(50, 100)])
    wait_until(only_live, 60, interval=0.5, what="tombstoned keys gone")


def test_keyless_record_refused(make_broker):
    import confluent_kafka
    b = make_broker(sets=CLEANER)
    t = create_topic(b.bootstrap, unique("nokey"), config=TOPIC_CFG)
    p = ck_producer(b.bootstrap, **{"message.send.max.retries": 0})
    errs = []
    p.produce(t, value=b"no key", on_delivery=lambda e, m: errs.append(e))
    p.flush(10 * SLOW)
    assert errs and errs[0] is not None
    assert errs[0].code() == confluent_kafka.KafkaError.INVALID_RECORD
    p.produce(t, key=b"k", value=b"v", on_delivery=lambda e, m: errs.append(e))
    p.flush(10 * SLOW)
    assert errs[1] is None


def test_keyless_records_named_in_produce_v8(make_broker):
    """Produce v8 (RecordErrors) names each keyless record by its index in the batch, and the
    partition's ErrorMessage is Kafka's LogValidator wording."""
    b = make_broker(sets=CLEANER)
    t = create_topic(b.bootstrap, unique("nokey8"), config=TOPIC_CFG)
    batch = record_batch([(b"a", b"1"), (None, b"2"), (b"c", b"3"), (None, b"4")])
    with RawConn(b.port) as c:
        r = c.request(0, 8, RawConn.produce_body(t, 0, batch, acks=-1))
        (_name, [(p, err, base, _lat, _lso, rec_errs, msg)]) = r.array(lambda r: (
            r.str(), r.array(lambda r: (r.i32(), r.i16(), r.i64(), r.i64(), r.i64(),
                                        r.array(lambda r: (r.i32(), r.str())), r.str()))))[0]
    assert (p, err, base) == (0, 87, -1)  # INVALID_RECORD, nothing appended
    assert [i for i, _m in rec_errs] == [1, 3], rec_errs
    assert all(m == "Compacted topic cannot accept message without key" for _i, m in rec_errs)
    assert msg == "Compacted topic cannot accept message without key in topic partition " \
        "%s-0" % t, msg


def test_sigkill_during_cleaning(make_broker):
    seed = int(os.environ.get("RUNNEL_COMPACTION_SEED", random.randrange(1 << 30)))
    print("RUNNEL_COMPACTION_SEED=%d" % seed)
    rnd = random.Random(seed)
    # Throttled so that a clean takes long enough to be killed in the middle.
    b = make_broker(sets={**CLEANER, "log.cleaner.io.max.bytes.per.second": 512 << 10})
    t = create_topic(b.bootstrap, unique("kill"), config={**TOPIC_CFG,
                                                          "segment.bytes": str(256 << 10)})
    nkeys = 2000
    expect = {}
    for rnd_i in range(4):
        rounds = rnd.randint(3, 8)
        last = produce_updates(b.bootstrap, t, nkeys, rounds)
        for k, off in last.items():
            expect[k] = (off, rounds - 1)
        # The throttled clean (about 400 KB at 512 KB/s) runs for most of a second once the
        # last segment rolled: kill at a random point after its first .cleaned file appears.
        d = b.partition_dir(t, 0)
        wait_until(lambda: any(f.endswith(".cleaned") for f in os.listdir(d)), 20,
                   interval=0.005, what="a clean in progress")
        time.sleep(rnd.uniform(0, 0.5))
        b.kill()
        b.start()
        msgs = read_all(b.bootstrap, t)
        latest = {}
        for m in msgs:
            latest[m.key()] = m
        assert len(latest) == nkeys, "seed %d: %d keys" % (seed, len(latest))
        for k, (off, r) in expect.items():
            m = latest[k]
            assert (m.offset(), m.value()) == (off, b"%d:%d" % (int(k[1:]), r)), \
                "seed %d: key %r" % (seed, k)
    # And it still converges.
    wait_until(lambda: len(read_all(b.bootstrap, t)) == nkeys, 60, interval=0.5,
               what="one record per key after the kills (seed %d)" % seed)


# ---- idempotence over raw frames ----------------------------------------------------------

def test_idempotent_state_survives_clean(make_broker):
    b = make_broker(sets=CLEANER)
    t = create_topic(b.bootstrap, unique("idem"), config=TOPIC_CFG)
    with RawConn(b.port) as c:
        err, pid, epoch = c.init_producer_id()
        assert err == 0
        seq = 0
        for i in range(3):
            recs = [(b"k%d" % k, b"idem%d" % i) for k in range(10)]
            err, base = c.produce(t, 0, idempotent_batch(recs, pid, epoch, seq))
            assert err == 0
            seq += 10
        last_batch = idempotent_batch([(b"k%d" % k, b"idem2") for k in range(10)], pid, epoch,
                                      seq - 10)
        # Another producer supersedes every record of the idempotent one.
        err, _ = c.produce(t, 0, record_batch([(b"k%d" % k, b"plain") for k in range(10)]))
        assert err == 0
    wait_until(lambda: len(read_all(b.bootstrap, t)) == 10 and cleans(b) > 0, 30,
               interval=0.3, what="the idempotent producer's records cleaned away")
    # The emptied batch (no records, kept for the producer's sequence) and the offset gaps do
    # not trouble the other clients either.
    got = kp_consume(b.bootstrap, t, [0], 10, timeout=10)
    assert sorted(m.value for m in got) == [b"plain"] * 10
    out = kcat("-b", b.bootstrap, "-C", "-t", t, "-p", "0", "-o", "beginning", "-e", "-q",
               "-f", "%o %s\n").stdout.decode().split("\n")
    assert [ln for ln in out if ln] == ["%d plain" % o for o in range(30, 40)]
    b.kill()  # no shutdown snapshot: the state comes back from the log and roll snapshots
    b.start()
    with RawConn(b.port) as c:
        # A retry of its last batch is still recognised as a duplicate...
        err, base = c.produce(t, 0, last_batch)
        assert err == 0 and base == 20
        # ...and the next sequence is accepted, a gap is not.
        err, _ = c.produce(t, 0, idempotent_batch([(b"k0", b"x")], pid, epoch, seq + 1))
        assert err == 45  # OUT_OF_ORDER_SEQUENCE_NUMBER
        err, _ = c.produce(t, 0, idempotent_batch([(b"k0", b"x")], pid, epoch, seq))
        assert err == 0


def test_transactions_visibility_after_clean(make_broker):
    b = make_broker(sets=CLEANER)
    t = create_topic(b.bootstrap, unique("txn"), config=TOPIC_CFG)
    p = ck_producer(b.bootstrap, **{"transactional.id": unique("tx")})
    p.init_transactions(10 * SLOW)
    p.begin_transaction()
    for k in range(10):
        p.produce(t, key=b"k%d" % k, value=b"committed")
    p.commit_transaction(10 * SLOW)
    p.begin_transaction()
    for k in range(5, 15):
        p.produce(t, key=b"k%d" % k, value=b"aborted")
    p.flush(10)
    p.abort_transaction(10 * SLOW)
    p.begin_transaction()
    for k in range(3):
        p.produce(t, key=b"k%d" % k, value=b"second")
    p.commit_transaction(10 * SLOW)
    want = {b"k%d" % k: (b"second" if k < 3 else b"committed") for k in range(10)}
    before = cleans(b)
    wait_until(lambda: cleans(b) > before, 30, what="a clean")

    def visible(iso):
        return {m.key(): m.value() for m in read_all(b.bootstrap, t, isolation=iso)}
    # Wait until a clean covered the transactions' segment; then both isolation levels agree.
    wait_until(lambda: visible("read_uncommitted") == want, 30, interval=0.3,
               what="aborted records cleaned away")
    assert visible("read_committed") == want
    assert len(read_all(b.bootstrap, t, isolation="read_committed")) == 10


def test_tombstones_go_after_restart(make_broker):
    """The delete horizon is in the batches; a restart must not make tombstones immortal."""
    b = make_broker(sets=CLEANER)
    t = create_topic(b.bootstrap, unique("tomb2"), config={**TOPIC_CFG,
                                                           "delete.retention.ms": "5000"})
    p = ck_producer(b.bootstrap)
    for k in range(20):
        p.produce(t, key=b"k%d" % k, value=b"v")
    for k in range(10):
        p.produce(t, key=b"k%d" % k, value=None)
    p.produce(t, key=b"end", value=b"v")
    p.flush(10)
    # First clean: the old values go, the tombstones stay (their horizon is 5 s away).
    wait_until(lambda: len(read_all(b.bootstrap, t)) == 21, 30, interval=0.3,
               what="superseded values cleaned, tombstones kept")
    b.restart()
    wait_until(lambda: len(read_all(b.bootstrap, t)) == 11, 60, interval=0.5,
               what="tombstones gone after the restart")


def test_internal_topics_survive_clean(make_broker):
    """__consumer_offsets and __transaction_state are compacted topics: after the cleaner has
    rewritten them, a restart still replays every group's latest commit."""
    import confluent_kafka
    b = make_broker(sets={**CLEANER, "log.cleaner.min.cleanable.ratio": 0.01,
                          "log.roll.ms": 1000, "offsets.topic.num.partitions": 1,
                          "offsets.topic.segment.bytes": 16384})
    t = create_topic(b.bootstrap, unique("src"), partitions=3)
    p = ck_producer(b.bootstrap)
    for i in range(30):
        p.produce(t, key=b"k", value=b"v%d" % i, partition=i % 3)
    p.flush(10)
    group = unique("g")
    c = ck_consumer(b.bootstrap, **{"group.id": group})
    tps = [confluent_kafka.TopicPartition(t, i) for i in range(3)]
    # One commit of three partitions (one batch of three records), then many commits of
    # partition 0 alone: the cleaner rewrites the first batch with two of its records.
    c.commit(offsets=[confluent_kafka.TopicPartition(t, i, 5 + i) for i in range(3)],
             asynchronous=False)
    for off in range(1, 400):
        c.commit(offsets=[confluent_kafka.TopicPartition(t, 0, off % 10 + 1)],
                 asynchronous=False)
    c.commit(offsets=[confluent_kafka.TopicPartition(t, 0, 3)], asynchronous=False)
    c.close()
    end = b.metric("kafka_log_log_logendoffset", {"topic": "__consumer_offsets",
                                                   "partition": 0})
    assert end >= 400

    def clean_point():
        path = os.path.join(b.data_dir, "cleaner-offset-checkpoint")
        if not os.path.exists(path):
            return 0
        with open(path) as f:
            for line in f.read().splitlines()[2:]:
                name, part, off = line.split()
                if name == "__consumer_offsets" and part == "0":
                    return int(off)
        return 0
    # Cleaned up to the log end: the last commit itself sits in a rewritten segment.
    wait_until(lambda: clean_point() >= end, 30, interval=0.2,
               what="__consumer_offsets cleaned up to %d" % end)
    b.kill()
    b.start()
    c = ck_consumer(b.bootstrap, **{"group.id": group})
    got = c.committed(tps, timeout=10 * SLOW)
    c.close()
    assert [g.offset for g in got] == [3, 6, 7]


@pytest.mark.parametrize("codec", ["none", "gzip"])
def test_cleaned_log_served_to_old_fetch_versions(make_broker, codec):
    """A cleaned partition (batches holding fewer records than their offset range) down-converts
    for Fetch v2 (kafka-python pinned to 0.10.0): each key's latest value at its offset. The
    down-conversion used to validate stored batches as produced ones and refused cleaned ones."""
    import kafka
    b = make_broker(sets=CLEANER)
    t = create_topic(b.bootstrap, unique("oldfetch"), config=TOPIC_CFG)
    conf = {} if codec == "none" else {"compression.codec": codec}
    last = produce_updates(b.bootstrap, t, 20, 50, **conf)
    p = ck_producer(b.bootstrap)
    p.produce(t, key=b"end", value=b"v")  # a live record last (see test_tombstones_disappear)
    p.flush(10)
    wait_until(lambda: len(read_all(b.bootstrap, t)) == 21, 60, interval=0.5,
               what="partition cleaned to one record per key")
    c = kafka.KafkaConsumer(bootstrap_servers=b.bootstrap, api_version=(0, 10, 0),
                            group_id=None, enable_auto_commit=False, fetch_max_wait_ms=100,
                            request_timeout_ms=11000)
    tp = kafka.TopicPartition(t, 0)
    c.assign([tp])
    c.seek(tp, 0)
    got = []
    deadline = time.monotonic() + 15 * SLOW
    try:
        while len(got) < 21 and time.monotonic() < deadline:
            for msgs in c.poll(timeout_ms=200).values():
                got.extend(msgs)
    finally:
        c.close()
    assert len(got) == 21, [(m.offset, m.key) for m in got][:30]
    for m in got[:-1]:
        assert last[m.key] == m.offset
        assert m.value.endswith(b":49")
    assert got[-1].key == b"end"
