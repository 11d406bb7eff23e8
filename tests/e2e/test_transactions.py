"""Transactions end to end with confluent-kafka (librdkafka): commit/abort visibility for
read_committed and read_uncommitted consumers, zombie fencing, timeouts of a SIGKILLed
producer, transactional offset commits, and an exactly-once copy loop across broker SIGKILLs.
(kafka-python 2.0.2 does not hide control records, so it is not used here.)"""
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import (SLOW, RawConn, ck_consumer, ck_producer, create_topic, i32,
                      idempotent_batch, kstr, unique)

ck = pytest.importorskip("confluent_kafka")


def txn_producer(bootstrap, txn_id, **conf):
    c = {"transactional.id": txn_id, "transaction.timeout.ms": int(10000 * SLOW)}
    c.update(conf)
    p = ck_producer(bootstrap, **c)
    p.init_transactions(15 * SLOW)
    return p


def consume_all(bootstrap, topic, isolation, expect_at_least=0, timeout=6.0, partitions=(0,)):
    """Values read from the beginning until nothing new arrives for a while."""
    c = ck_consumer(bootstrap, **{"isolation.level": isolation})
    c.assign([ck.TopicPartition(topic, p, ck.OFFSET_BEGINNING) for p in partitions])
    out = []
    deadline = time.monotonic() + timeout * SLOW
    quiet_since = time.monotonic()
    try:
        while time.monotonic() < deadline:
            msgs = c.consume(num_messages=1000, timeout=0.2)
            got = [m for m in msgs if not m.error()]
            out += [m.value() for m in got]
            if got:
                quiet_since = time.monotonic()
            elif len(out) >= expect_at_least and time.monotonic() - quiet_since > 0.8 * SLOW:
                break
    finally:
        c.close()
    return out


def test_commit_and_abort_visibility(broker):
    t = create_topic(broker.bootstrap, unique("txv"), 1)
    p = txn_producer(broker.bootstrap, unique("tx"))
    p.begin_transaction()
    for i in range(10):
        p.produce(t, value=b"c1-%d" % i)
    p.commit_transaction(10 * SLOW)
    p.begin_transaction()
    for i in range(5):
        p.produce(t, value=b"a-%d" % i)
    p.flush(10 * SLOW)
    p.abort_transaction(10 * SLOW)
    p.begin_transaction()
    for i in range(3):
        p.produce(t, value=b"c2-%d" % i)
    p.commit_transaction(10 * SLOW)
    committed = [b"c1-%d" % i for i in range(10)] + [b"c2-%d" % i for i in range(3)]
    assert consume_all(broker.bootstrap, t, "read_committed", 13) == committed
    both = consume_all(broker.bootstrap, t, "read_uncommitted", 18)
    assert both == committed[:10] + [b"a-%d" % i for i in range(5)] + committed[10:]
    # Markers take offsets: 10 + 1 + 5 + 1 + 3 + 1.
    lo, hi = ck_consumer(broker.bootstrap).get_watermark_offsets(ck.TopicPartition(t, 0),
                                                                 timeout=5 * SLOW)
    assert (lo, hi) == (0, 21)


def test_open_transaction_holds_lso(broker):
    t = create_topic(broker.bootstrap, unique("txl"), 1)
    plain = ck_producer(broker.bootstrap)
    plain.produce(t, value=b"before")
    plain.flush(10 * SLOW)
    p = txn_producer(broker.bootstrap, unique("tx"))
    p.begin_transaction()
    p.produce(t, value=b"open")
    p.flush(10 * SLOW)
    plain.produce(t, value=b"after")
    plain.flush(10 * SLOW)
    # read_committed stops at the open transaction; read_uncommitted sees everything.
    assert consume_all(broker.bootstrap, t, "read_committed", 1, timeout=3) == [b"before"]
    assert consume_all(broker.bootstrap, t, "read_uncommitted", 3) == [b"before", b"open",
                                                                       b"after"]
    c = ck_consumer(broker.bootstrap, **{"isolation.level": "read_committed"})
    lo, hi = c.get_watermark_offsets(ck.TopicPartition(t, 0), timeout=5 * SLOW)
    c.close()
    assert hi == 1  # ListOffsets latest with read_committed = LSO
    p.commit_transaction(10 * SLOW)
    assert consume_all(broker.bootstrap, t, "read_committed", 3) == [b"before", b"open",
                                                                     b"after"]


def test_zombie_fencing(broker):
    t = create_topic(broker.bootstrap, unique("txz"), 1)
    tid = unique("tx")
    old = txn_producer(broker.bootstrap, tid)
    old.begin_transaction()
    old.produce(t, value=b"zombie")
    old.flush(10 * SLOW)
    new = txn_producer(broker.bootstrap, tid)  # fences old, aborts its transaction
    new.begin_transaction()
    new.produce(t, value=b"new")
    new.commit_transaction(10 * SLOW)
    # The zombie still believes in its transaction: its next produce or commit is fenced.
    with pytest.raises(ck.KafkaException) as ei:
        old.produce(t, value=b"zombie2")
        old.commit_transaction(10 * SLOW)
    err = ei.value.args[0]
    assert err.fatal() or "fenc" in str(err).lower() or "epoch" in str(err).lower(), str(err)
    assert consume_all(broker.bootstrap, t, "read_committed", 1) == [b"new"]


def test_produce_outside_transaction_refused(broker):
    """A transactional batch to a partition the transaction did not add: INVALID_TXN_STATE."""
    t = create_topic(broker.bootstrap, unique("txr"), 1)
    tid = unique("tx")
    with RawConn(broker.port) as c:
        r = c.request(22, 0, kstr(tid) + i32(60000))
        assert r.i32() == 0 and r.i16() == 0
        pid, epoch = r.i64(), r.i16()
        b = idempotent_batch([(None, b"x")], pid, epoch, 0, attributes=0x10)  # transactional
        assert c.produce(t, 0, b)[0] == 48  # INVALID_TXN_STATE


def test_invalid_timeout(broker):
    with RawConn(broker.port) as c:
        r = c.request(22, 0, kstr(unique("tx")) + i32(900001))
        assert r.i32() == 0 and r.i16() == 50  # INVALID_TRANSACTION_TIMEOUT


KILLED_PRODUCER = textwrap.dedent("""
    import sys, time, confluent_kafka
    p = confluent_kafka.Producer({"bootstrap.servers": sys.argv[1],
                                  "transactional.id": sys.argv[2],
                                  "transaction.timeout.ms": int(sys.argv[4])})
    p.init_transactions(15)
    p.begin_transaction()
    for i in range(5):
        p.produce(sys.argv[3], value=b"dead-%d" % i)
    p.flush(10)
    print("ready", flush=True)
    time.sleep(60)
""")


def start_killed_producer(bootstrap, tid, topic, timeout_ms):
    proc = subprocess.Popen([sys.executable, "-c", KILLED_PRODUCER, bootstrap, tid, topic,
                             str(timeout_ms)], stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"ready"
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_sigkilled_producer_aborted_by_timeout(make_broker):
    b = make_broker(sets={"transaction.abort.timed.out.transaction.cleanup.interval.ms": 200})
    t = create_topic(b.bootstrap, unique("txk"), 1)
    start_killed_producer(b.bootstrap, unique("tx"), t, 1500)
    plain = ck_producer(b.bootstrap)
    plain.produce(t, value=b"later")
    plain.flush(10 * SLOW)
    # Held back by the open transaction until the coordinator aborts it (~1.5 s).
    t0 = time.monotonic()
    assert consume_all(b.bootstrap, t, "read_committed", 1, timeout=10) == [b"later"]
    assert time.monotonic() - t0 < 8 * SLOW


def test_sigkilled_producer_aborted_by_next_init(broker):
    t = create_topic(broker.bootstrap, unique("txn"), 1)
    tid = unique("tx")
    start_killed_producer(broker.bootstrap, tid, t, 600000)
    p = txn_producer(broker.bootstrap, tid)
    p.begin_transaction()
    p.produce(t, value=b"next")
    p.commit_transaction(10 * SLOW)
    assert consume_all(broker.bootstrap, t, "read_committed", 1) == [b"next"]
    assert len(consume_all(broker.bootstrap, t, "read_uncommitted", 6)) == 6


def committed_offset(bootstrap, group, topic):
    c = ck_consumer(bootstrap, **{"group.id": group})
    try:
        r = c.committed([ck.TopicPartition(topic, 0)], timeout=10 * SLOW)
        return r[0].offset
    finally:
        c.close()


def test_send_offsets_visible_after_commit(broker):
    src = create_topic(broker.bootstrap, unique("txo"), 1)
    group = unique("g")
    p = txn_producer(broker.bootstrap, unique("tx"))
    cons = ck_consumer(broker.bootstrap, **{"group.id": group})
    meta = cons.consumer_group_metadata()
    p.begin_transaction()
    p.send_offsets_to_transaction([ck.TopicPartition(src, 0, 42)], meta, 10 * SLOW)
    assert committed_offset(broker.bootstrap, group, src) < 0  # not yet visible
    p.commit_transaction(10 * SLOW)
    assert committed_offset(broker.bootstrap, group, src) == 42
    p.begin_transaction()
    p.send_offsets_to_transaction([ck.TopicPartition(src, 0, 99)], meta, 10 * SLOW)
    p.abort_transaction(10 * SLOW)
    assert committed_offset(broker.bootstrap, group, src) == 42  # dropped on abort
    cons.close()


COPIER = textwrap.dedent("""
    import sys, time, confluent_kafka as ck
    bs, src, dst, group, tid, n = sys.argv[1:7]
    c = ck.Consumer({"bootstrap.servers": bs, "group.id": group, "enable.auto.commit": False,
                     "auto.offset.reset": "earliest", "isolation.level": "read_committed",
                     "session.timeout.ms": 6000, "fetch.wait.max.ms": 50})
    p = ck.Producer({"bootstrap.servers": bs, "transactional.id": tid, "linger.ms": 5,
                     "transaction.timeout.ms": 10000})
    p.init_transactions(30)
    c.subscribe([src])
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        msgs = [m for m in c.consume(500, 0.2) if not m.error()]
        if msgs:
            p.begin_transaction()
            for m in msgs:
                p.produce(dst, key=m.key(), value=m.value())
            p.send_offsets_to_transaction(c.position(c.assignment()),
                                          c.consumer_group_metadata(), 30)
            p.commit_transaction(30)
        pos = c.position(c.assignment()) if c.assignment() else []
        if pos and pos[0].offset < 0:
            # Nothing consumed yet in this run (an earlier run may have copied everything
            # before the broker was killed): the committed offset tells where we are.
            pos = c.committed(c.assignment(), 10)
        if pos and pos[0].offset >= int(n):
            print("done", flush=True)
            break
""")


@pytest.mark.parametrize("n", [int(os.environ.get("RUNNEL_TXN_COPY_N", "5000"))])
def test_exactly_once_copy_across_broker_kills(make_broker, n):
    b = make_broker(sets={"group.initial.rebalance.delay.ms": 0})
    src = create_topic(b.bootstrap, unique("src"), 1)
    dst = create_topic(b.bootstrap, unique("dst"), 1)
    p = ck_producer(b.bootstrap, **{"enable.idempotence": True})
    for i in range(n):
        p.produce(src, key=b"%d" % i, value=b"v%d" % i)
    p.flush(30 * SLOW)
    group, tid = unique("g"), unique("tx")
    # Kill points are random (the seed is printed, RUNNEL_TXN_COPY_SEED replays a run);
    # RUNNEL_TXN_COPY_N=100000 RUNNEL_TXN_COPY_KILLS=5 is the full-size run.
    seed = int(os.environ.get("RUNNEL_TXN_COPY_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    want_kills = int(os.environ.get("RUNNEL_TXN_COPY_KILLS", "2"))
    print("exactly-once copy: n=%d kills=%d seed=%d" % (n, want_kills, seed))
    kills = 0
    for attempt in range(want_kills + 4):
        proc = subprocess.Popen([sys.executable, "-c", COPIER, b.bootstrap, src, dst, group,
                                 tid, str(n)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if kills < want_kills:
            # Let it copy part of the way, then SIGKILL the broker under it and restart.
            time.sleep(rng.uniform(0.5, 2.0) * SLOW)
            b.kill()
            proc.kill()
            proc.wait()
            b.start()
            kills += 1
            continue
        out, err = proc.communicate(timeout=100 * SLOW)
        if b"done" in out:
            break
        print(err.decode(errors="replace")[-3000:])
    vals = consume_all(b.bootstrap, dst, "read_committed", n, timeout=20)
    assert len(vals) == n
    assert sorted(vals, key=lambda v: int(v[1:])) == [b"v%d" % i for i in range(n)]
