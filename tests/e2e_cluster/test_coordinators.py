"""Group and transaction coordinators in a cluster (issue 8): a broker coordinates the groups
and transactional ids whose internal-topic partition it leads, FindCoordinator answers that
leader, other brokers answer NOT_COORDINATOR, and committed offsets and transactions survive
the coordinator's broker being SIGKILLed (the new leader loads the partition from its log).
"""
import os
import subprocess
import sys
import textwrap
import time

import confluent_kafka as ck
import pytest

from conftest import (SLOW, RawConn, ck_consumer, ck_producer, cstr, i8, i16, i32, i64, karray,
                      kstr, unique, wait_until, TAGS, carray)

NPARTS = 6  # internal topics: enough partitions to spread over three brokers, cheap to create
SETS = {"offsets.topic.num.partitions": NPARTS, "transaction.state.log.num.partitions": NPARTS,
        "group.initial.rebalance.delay.ms": 0, "transaction.state.log.min.isr": 1}


def java_hash(s):
    """Java's String.hashCode: over UTF-16 code units, 32-bit wrap."""
    h = 0
    data = s.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + ((data[i] << 8) | data[i + 1])) & 0xFFFFFFFF
    return h - (1 << 32) if h & 0x80000000 else h


def partition_for(key, n=NPARTS):
    h = java_hash(key)
    return 0 if h == -(1 << 31) else abs(h) % n


def find_coordinator(port, key, key_type=0):
    """FindCoordinator v3 -> (error, node_id, host, port)."""
    with RawConn(port) as c:
        r = c.flex_request(10, 3, cstr(key) + i8(key_type) + TAGS)
        r.i32()  # throttle
        err = r.i16()
        msg_len = r.uvarint() - 1  # nullable compact error message
        if msg_len > 0:
            r._take(msg_len)
        node = r.i32()
        hlen = r.uvarint() - 1
        host = r._take(hlen).decode() if hlen > 0 else ""
        port_ = r.i32()
        return err, node, host, port_


def wait_coordinator(cluster, key, key_type=0, timeout=40.0, exclude=()):
    """(node id, port) of key's coordinator as FindCoordinator answers, not one in exclude."""
    def ok():
        for b in cluster.alive():
            try:
                err, node, _h, port = find_coordinator(b.fixed_port, key, key_type)
            except (OSError, ConnectionError):
                continue
            if err == 0 and node not in exclude:
                return node, port
        return None
    return wait_until(ok, timeout * SLOW, interval=0.2, what="a coordinator for %s" % key)


def heartbeat(port, group):
    """Heartbeat v0 for an unknown member: the coordinator lookup answers first."""
    with RawConn(port) as c:
        r = c.request(12, 0, kstr(group) + i32(1) + kstr("m"))
        return r.i16()


@pytest.fixture
def cl(make_cluster):
    return make_cluster(3, sets=SETS)


def settled_coordinator(cl, group, exclude=()):
    """The coordinator once it answers for the group (leaderships move while a fresh cluster
    balances its leaders: FindCoordinator may name a leader that has not loaded yet)."""
    def ok():
        node, port = wait_coordinator(cl, group, exclude=exclude)
        return (node, port) if heartbeat(port, group) == 25 else None  # UNKNOWN_MEMBER_ID
    return wait_until(ok, 40 * SLOW, interval=0.3, what="coordinator of %s settled" % group)


def test_find_coordinator_is_partition_leader(cl):
    group = unique("g")
    node, port = settled_coordinator(cl, group)
    p = partition_for(group)
    assert cl.leader_of("__consumer_offsets", p) == node
    assert port == cl.broker(node).fixed_port
    # Every broker answers the same coordinator; the others refuse the group's requests.
    for b in cl.brokers:
        err, n2, _h, _p = find_coordinator(b.fixed_port, group)
        assert (err, n2) == (0, node)
        if b.node_id != node:
            assert heartbeat(b.fixed_port, group) == 16  # NOT_COORDINATOR
    tid = unique("tx")
    tnode, _ = wait_coordinator(cl, tid, key_type=1)
    assert cl.leader_of("__transaction_state", partition_for(tid)) == tnode


def commit_some(bootstrap, topic, group, n):
    """A group member consumes n records and commits them synchronously; -> committed map."""
    c = ck_consumer(bootstrap, **{"group.id": group, "session.timeout.ms": 6000})
    c.subscribe([topic])
    got = 0
    deadline = time.monotonic() + 60 * SLOW
    while got < n and time.monotonic() < deadline:
        for m in c.consume(100, 0.2):
            if not m.error():
                got += 1
    assert got >= n
    c.commit(asynchronous=False)
    tps = c.committed(c.assignment(), 20)
    c.close()
    return {(tp.topic, tp.partition): tp.offset for tp in tps}


def test_group_offsets_survive_coordinator_kill(cl):
    topic = cl.create_topic(unique("t"), partitions=3, rf=3)
    p = ck_producer(cl.bootstrap, **{"acks": "all"})
    for i in range(300):
        p.produce(topic, key=b"%d" % i, value=b"v%d" % i, partition=i % 3)
    assert p.flush(30 * SLOW) == 0
    group = unique("g")
    committed = commit_some(cl.bootstrap, topic, group, 300)
    assert sum(committed.values()) == 300
    node, _ = wait_coordinator(cl, group)
    cl.broker(node).kill()
    # The partition's new leader loads the group: its offsets are all there.
    new, _ = settled_coordinator(cl, group, exclude=(node,))
    c = ck_consumer(cl.bootstrap, **{"group.id": group})
    tps = [ck.TopicPartition(topic, i) for i in range(3)]

    def offsets():
        try:
            got = c.committed(tps, 10)
        except ck.KafkaException:
            return None
        return {(tp.topic, tp.partition): tp.offset for tp in got}
    assert wait_until(lambda: offsets() == committed, 40 * SLOW, interval=0.5,
                      what="committed offsets on the new coordinator")
    # The group re-forms on the new coordinator and starts where it left off.
    p.produce(topic, key=b"x", value=b"after", partition=0)
    assert p.flush(30 * SLOW) == 0
    c.subscribe([topic])
    seen = []
    deadline = time.monotonic() + 60 * SLOW
    while not seen and time.monotonic() < deadline:
        seen += [m.value() for m in c.consume(100, 0.2) if not m.error()]
    assert seen == [b"after"]
    c.commit(asynchronous=False)
    c.close()
    committed[(topic, 0)] += 1
    # The first coordinator returns and catches up; then the second one goes too: whoever
    # leads the partition now loads a log that holds both coordinators' commits.
    cl.broker(node).start()
    cl.wait_for_isr("__consumer_offsets", partition_for(group), 3, timeout=60)
    cl.broker(new).kill()
    settled_coordinator(cl, group, exclude=(new,))
    c = ck_consumer(cl.bootstrap, **{"group.id": group})
    assert wait_until(lambda: offsets() == committed, 40 * SLOW, interval=0.5,
                      what="both coordinators' commits after a second failover")
    c.close()


COPIER = textwrap.dedent("""
    import sys, time, confluent_kafka as ck
    bs, src, dst, group, tid, n, nparts = sys.argv[1:8]
    n, nparts = int(n), int(nparts)
    c = ck.Consumer({"bootstrap.servers": bs, "group.id": group, "enable.auto.commit": False,
                     "auto.offset.reset": "earliest", "isolation.level": "read_committed",
                     "session.timeout.ms": 6000, "fetch.wait.max.ms": 50})
    p = ck.Producer({"bootstrap.servers": bs, "transactional.id": tid, "linger.ms": 5,
                     "transaction.timeout.ms": 20000})
    p.init_transactions(60)
    c.subscribe([src])
    tps = [ck.TopicPartition(src, i) for i in range(nparts)]
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        msgs = [m for m in c.consume(200, 0.2) if not m.error()]
        if msgs:
            p.begin_transaction()
            for m in msgs:
                p.produce(dst, key=m.key(), value=m.value(), partition=m.partition())
            p.send_offsets_to_transaction(c.position(c.assignment()),
                                          c.consumer_group_metadata(), 60)
            p.commit_transaction(60)
            print("batch", len(msgs), flush=True)
            continue
        done = sum(max(tp.offset, 0) for tp in c.committed(tps, 20))
        if done >= n:
            print("done", flush=True)
            break
""")


def consume_committed(bootstrap, topic, nparts, n, timeout=60.0):
    c = ck_consumer(bootstrap, **{"isolation.level": "read_committed"})
    c.assign([ck.TopicPartition(topic, i, ck.OFFSET_BEGINNING) for i in range(nparts)])
    out = []
    deadline = time.monotonic() + timeout * SLOW
    quiet = time.monotonic()
    while time.monotonic() < deadline:
        got = [m.value() for m in c.consume(1000, 0.2) if not m.error()]
        out += got
        if got:
            quiet = time.monotonic()
        elif len(out) >= n and time.monotonic() - quiet > 2 * SLOW:
            break
    c.close()
    return out


@pytest.mark.parametrize("victim", ["transaction", "group"])
def test_transactional_copy_survives_coordinator_kill(cl, victim):
    """read_committed consume -> produce in a transaction with send_offsets_to_transaction,
    across partitions led by different brokers; the transaction coordinator's (or the group
    coordinator's) broker is SIGKILLed after some transactions: every input record is in the
    output exactly once."""
    n, nparts = int(os.environ.get("RUNNEL_CLUSTER_TXN_N", "3000")), 3
    src = cl.create_topic(unique("src"), partitions=nparts, rf=3)
    dst = cl.create_topic(unique("dst"), partitions=nparts, rf=3)
    p = ck_producer(cl.bootstrap, **{"enable.idempotence": True, "acks": "all"})
    for i in range(n):
        p.produce(src, key=b"%d" % i, value=b"v%d" % i, partition=i % nparts)
    assert p.flush(60 * SLOW) == 0
    group, tid = unique("g"), unique("tx")
    tnode, _ = wait_coordinator(cl, tid, key_type=1)
    if victim == "group":
        tnode, _ = wait_coordinator(cl, group)
    killed = False
    for attempt in range(6):
        proc = subprocess.Popen([sys.executable, "-c", COPIER, cl.bootstrap, src, dst, group,
                                 tid, str(n), str(nparts)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if not killed:
            # Some transactions in, then the transaction coordinator's broker goes.
            first = proc.stdout.readline()
            assert first.startswith(b"batch"), proc.stderr.read()[-3000:]
            time.sleep(0.5 * SLOW)
            cl.broker(tnode).kill()
            killed = True
        try:
            out, err = proc.communicate(timeout=200 * SLOW)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        if b"done" in out:
            break
        print("copier attempt %d ended without done:\n%s" % (attempt,
                                                             err.decode(errors="replace")[-3000:]))
    else:
        raise AssertionError("the copy never finished")
    wait_coordinator(cl, tid if victim == "transaction" else group,
                     key_type=1 if victim == "transaction" else 0, exclude=(tnode,))
    vals = consume_committed(cl.bootstrap, dst, nparts, n)
    assert len(vals) == n, "%d records in the output, %d distinct" % (len(vals), len(set(vals)))
    assert sorted(vals, key=lambda v: int(v[1:])) == [b"v%d" % i for i in range(n)]


def write_txn_markers_v1(port, pid, epoch, commit, topic, partition, coord_epoch=0):
    body = (carray([0], lambda _x: i64(pid) + i16(epoch) + i8(1 if commit else 0) +
                   carray([topic], lambda t: cstr(t) + carray([partition], i32) + TAGS) +
                   i32(coord_epoch) + TAGS) + TAGS)
    with RawConn(port) as c:
        r = c.flex_request(27, 1, body)
        out = []
        for _ in range(r.uvarint() - 1):
            rpid = r.i64()
            for _t in range(r.uvarint() - 1):
                name = r._take(r.uvarint() - 1).decode()
                for _p in range(r.uvarint() - 1):
                    out.append((rpid, name, r.i32(), r.i16()))
                    r.tags()
                r.tags()
            r.tags()
        return out


def test_write_txn_markers_leader_only(cl):
    topic = cl.create_topic(unique("m"), partitions=1, rf=2)
    leader = cl.leader_of(topic, 0)
    others = [b for b in cl.brokers if b.node_id != leader]
    with RawConn(cl.broker(leader).fixed_port) as c:
        err, pid, epoch = c.init_producer_id()
    assert err == 0
    for b in others:
        assert write_txn_markers_v1(b.fixed_port, pid, epoch, False, topic, 0) == \
            [(pid, topic, 0, 6)]  # NOT_LEADER_OR_FOLLOWER
    # The leader writes it (an ABORT of a producer with nothing open), once replicated.
    assert write_txn_markers_v1(cl.broker(leader).fixed_port, pid, epoch, False, topic, 0) == \
        [(pid, topic, 0, 0)]
    assert write_txn_markers_v1(cl.broker(leader).fixed_port, pid, epoch, False,
                                unique("none"), 0)[0][3] == 3  # UNKNOWN_TOPIC_OR_PARTITION


def init_pid(port, tid):
    with RawConn(port, timeout=30) as c:
        return c.init_producer_id(tid)


def add_partitions_v0(port, tid, pid, epoch, topic, p):
    body = kstr(tid) + i64(pid) + i16(epoch) + karray([topic], lambda t: kstr(t) + karray(
        [p], i32))
    with RawConn(port, timeout=30) as c:
        r = c.request(24, 0, body)
        r.i32()
        res = r.array(lambda r: (r.str(), r.array(lambda r: (r.i32(), r.i16()))))
        return res[0][1][0][1]


def end_txn_v0(port, tid, pid, epoch, commit):
    with RawConn(port, timeout=60) as c:
        r = c.request(26, 0, kstr(tid) + i64(pid) + i16(epoch) + i8(1 if commit else 0))
        r.i32()
        return r.i16()


def test_new_coordinator_resends_markers_of_prepared_transaction(cl):
    """PrepareCommit is durable but a marker cannot be delivered (its partition's only replica
    is down) when the transaction coordinator's broker is SIGKILLed: the broker that takes the
    __transaction_state partition over sends the marker once the partition is back, and the
    transaction completes (its data becomes visible to read_committed)."""
    from conftest import idempotent_batch
    tid = unique("tx")
    coord, cport = wait_coordinator(cl, tid, key_type=1)

    def inited():
        err, pid, epoch = init_pid(cport, tid)
        return (pid, epoch) if err == 0 else None
    pid, epoch = wait_until(inited, 40 * SLOW, interval=0.3, what="InitProducerId")
    topic = cl.create_topic(unique("rf1"), partitions=3, rf=1)
    part, lead = next((p, cl.leader_of(topic, p)) for p in range(3)
                      if cl.leader_of(topic, p) != coord)
    assert add_partitions_v0(cport, tid, pid, epoch, topic, part) == 0
    with RawConn(cl.broker(lead).fixed_port) as c:
        err, _base = c.produce(topic, part, idempotent_batch([(b"k", b"committed")], pid, epoch,
                                                             0, attributes=0x10))
    assert err == 0
    cl.broker(lead).kill()
    # EndTxn: PrepareCommit is written and replicated once the dead broker left the ISR; a
    # retry while the marker is pending answers CONCURRENT_TRANSACTIONS.
    wait_until(lambda: end_txn_v0(cport, tid, pid, epoch, True) in (0, 51), 60 * SLOW,
               interval=0.5, what="EndTxn commit accepted")
    assert init_pid(cport, tid)[0] == 51  # still completing: the marker cannot be written
    cl.broker(coord).kill()
    new, nport = wait_coordinator(cl, tid, key_type=1, exclude=(coord, lead))
    cl.broker(lead).start()

    def completed():
        err, _pid, _epoch = init_pid(nport, tid)
        return err == 0
    wait_until(completed, 90 * SLOW, interval=0.5, what="the takeover completes the commit")
    c = ck_consumer(cl.bootstrap, **{"isolation.level": "read_committed"})
    c.assign([ck.TopicPartition(topic, part, ck.OFFSET_BEGINNING)])
    got = []
    deadline = time.monotonic() + 40 * SLOW
    while not got and time.monotonic() < deadline:
        got += [m.value() for m in c.consume(10, 0.3) if not m.error()]
    c.close()
    assert got == [b"committed"]
