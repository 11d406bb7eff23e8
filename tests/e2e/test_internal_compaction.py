"""__consumer_offsets and __transaction_state as compacted topics: the coordinators write
their tombstones where Kafka does, so that the log cleaner bounds the topics, and the state
comes back the same after a restart."""

from conftest import (SLOW, RawConn, Reader, ck_admin, create_topic, i32, i64, karray, kp_admin,
                      kp_consumer, kstr, unique, wait_until)

FAST = {"group.initial.rebalance.delay.ms": 0, "num.partitions": 1}


def offset_delete(port, group, topic, parts):
    """OffsetDelete v0 -> (error, {partition: error})."""
    with RawConn(port) as rc:
        body = kstr(group) + karray([(topic, parts)],
                                    lambda t: kstr(t[0]) + karray(t[1], i32))
        r = rc.request(47, 0, body)
        err = r.i16()
        r.i32()
        topics = r.array(lambda r: (r.str(), r.array(lambda r: (r.i32(), r.i16()))))
        return err, dict(topics[0][1]) if topics else {}


def simple_commit(bootstrap, group, topic, offsets):
    from kafka import TopicPartition
    from kafka.structs import OffsetAndMetadata
    c = kp_consumer(bootstrap, group_id=group, enable_auto_commit=False)
    c.assign([TopicPartition(topic, p) for p in offsets])
    c.commit({TopicPartition(topic, p): OffsetAndMetadata(o, None) for p, o in offsets.items()})
    c.close()


def groups(bootstrap):
    ad = kp_admin(bootstrap)
    try:
        return {g for g, _ in ad.list_consumer_groups()}
    finally:
        ad.close()


def test_internal_topics_created_as_kafka_creates_them(make_broker):
    """groupMetadataTopicConfigs / transactionTopicConfigs: compacted, segment.bytes from the
    broker keys, compression producer / uncompressed."""
    import confluent_kafka.admin as cka
    b = make_broker(dict(FAST, **{"offsets.topic.segment.bytes": 123456,
                                  "transaction.state.log.segment.bytes": 65432}))
    init_pid(b.port, unique("tx"))  # the coordinators exist from the start; touch one anyway
    a = ck_admin(b.bootstrap)
    want = {"__consumer_offsets": ("123456", "producer"),
            "__transaction_state": ("65432", "uncompressed")}
    for topic, (seg, codec) in want.items():
        res = cka.ConfigResource("topic", topic)
        cfg = a.describe_configs([res])[res].result(10 * SLOW)
        assert cfg["cleanup.policy"].value == "compact"
        assert cfg["segment.bytes"].value == seg
        assert cfg["compression.type"].value == codec


def test_offset_delete_of_last_offset_deletes_group(make_broker):
    """Kafka's cleanupGroupMetadata: an Empty group whose last committed offset is deleted is
    Dead at once; a group that only ever committed offsets (generation 0) has no metadata record,
    so it gets no group tombstone and must not come back from its offset tombstones on replay."""
    b = make_broker(FAST)
    t = create_topic(b.bootstrap, unique("od"), 2)
    g, keep = unique("g"), unique("keep")
    simple_commit(b.bootstrap, g, t, {0: 5, 1: 7})
    simple_commit(b.bootstrap, keep, t, {0: 3})
    assert g in groups(b.bootstrap)
    assert offset_delete(b.port, g, t, [0]) == (0, {0: 0})
    assert g in groups(b.bootstrap)  # one offset left
    assert offset_delete(b.port, g, t, [1]) == (0, {1: 0})
    assert g not in groups(b.bootstrap)
    b.restart()
    gs = groups(b.bootstrap)
    assert g not in gs and keep in gs
    ad = kp_admin(b.bootstrap)
    offs = ad.list_consumer_group_offsets(keep)
    ad.close()
    assert {tp.partition: o.offset for tp, o in offs.items()} == {0: 3}


# ---- with the log cleaner: the internal topics stay bounded and replay after cleaning ----

CLEAN = dict(FAST, **{
    "offsets.topic.num.partitions": 1,
    "offsets.topic.segment.bytes": 65536,
    "transaction.state.log.num.partitions": 1,
    "transaction.state.log.segment.bytes": 16384,
    "log.cleaner.backoff.ms": 100,
})


def commit_many(port, commits):
    """Simple OffsetCommit v2 requests, pipelined: commits = [(group, topic, {part: offset})]."""
    def body(g, t, offs):
        return (kstr(g) + i32(-1) + kstr("") + i64(-1) +
                karray([(t, sorted(offs.items()))],
                       lambda x: kstr(x[0]) + karray(x[1], lambda p: i32(p[0]) + i64(p[1]) +
                                                     kstr(None))))
    with RawConn(port, timeout=30) as rc:
        for i in range(0, len(commits), 500):
            chunk = commits[i:i + 500]
            corrs = [rc.send(8, 2, body(*c)) for c in chunk]
            for corr in corrs:
                got, resp = rc.recv()
                assert got == corr
                r = Reader(resp)
                errs = [e for _, ps in r.array(lambda r: (r.str(), r.array(
                    lambda r: (r.i32(), r.i16())))) for _, e in ps]
                assert errs and set(errs) == {0}, errs


def committed(bootstrap, group):
    ad = kp_admin(bootstrap)
    try:
        return {(tp.topic, tp.partition): o.offset
                for tp, o in ad.list_consumer_group_offsets(group).items()}
    finally:
        ad.close()


def test_consumer_offsets_bounded_by_cleaner(make_broker):
    """50,000 commits to ten keys: the cleaner keeps __consumer_offsets small, and the last
    commits (and a deleted group's absence) survive a restart that replays the cleaned log."""
    b = make_broker(CLEAN)
    t = create_topic(b.bootstrap, unique("co"), 2)
    gs = [unique("g%d" % i) for i in range(5)]
    gone = unique("gone")
    simple_commit(b.bootstrap, gone, t, {0: 1})
    n = 25000  # two partitions per commit: 50,000 offset records
    commit_many(b.port, [(gs[i % 5], t, {0: i, 1: i + 1}) for i in range(n)])
    with RawConn(b.port) as rc:  # DeleteGroups: tombstones for its offset
        r = rc.request(42, 1, karray([gone], kstr))
        r.i32()
        assert r.array(lambda r: (r.str(), r.i16())) == [(gone, 0)]
    # Without cleaning, 25,000 batches of two records would be well over 2 MB.
    wait_until(lambda: b.log_bytes("__consumer_offsets") < 4 * 65536, 120,
               what="__consumer_offsets cleaned (%d bytes)" % b.log_bytes("__consumer_offsets"))
    want = {g: {(t, 0): n - 5 + i, (t, 1): n - 4 + i} for i, g in enumerate(gs)}
    for g in gs:
        assert committed(b.bootstrap, g) == want[g]
    b.restart()
    for g in gs:
        assert committed(b.bootstrap, g) == want[g]
    assert gone not in groups(b.bootstrap)


def init_pid(port, txn_id):
    with RawConn(port) as rc:
        err, pid, epoch = rc.init_producer_id(txn_id, version=1)
    assert err == 0
    return pid, epoch


def test_transaction_state_bounded_by_cleaner(make_broker):
    """Thousands of InitProducerId calls for one transactional id (one record each): the cleaner
    keeps __transaction_state small, and after a restart the id keeps its producer id and epoch."""
    b = make_broker(CLEAN)
    tid = unique("tx")
    pid, epoch = init_pid(b.port, tid)
    with RawConn(b.port, timeout=30) as rc:
        for i in range(0, 3000, 500):
            corrs = [rc.send(22, 1, kstr(tid) + i32(60000)) for _ in range(500)]
            for corr in corrs:
                got, resp = rc.recv()
                assert got == corr
    wait_until(lambda: b.log_bytes("__transaction_state") < 4 * 16384, 120,
               what="__transaction_state cleaned (%d bytes)" % b.log_bytes("__transaction_state"))
    b.restart()
    assert init_pid(b.port, tid) == (pid, epoch + 3001)
