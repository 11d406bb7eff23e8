"""__consumer_offsets and __transaction_state as compacted topics: the coordinators write
their tombstones where Kafka does, so that the log cleaner bounds the topics, and the state
comes back the same after a restart."""
from conftest import (RawConn, create_topic, i32, karray, kp_admin, kp_consumer, kstr, unique,
                      wait_until)

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
