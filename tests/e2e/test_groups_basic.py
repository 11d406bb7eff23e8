"""Consumer groups, smoke level: kafka-python and confluent-kafka in one group, committed
offsets across a broker restart, kcat -G, the admin APIs and lag metrics."""
import struct
import time

from conftest import (RawConn, SLOW, ck_consumer, ck_produce, create_topic, i16, i32, karray,
                      kcat, kp_admin, kp_consumer, kstr, unique, wait_until)

FAST = {"group.initial.rebalance.delay.ms": 0, "num.partitions": 1}


def test_two_clients_share_a_topic(make_broker):
    """Each consumer polls in its own thread: kafka-python blocks in poll() while it joins,
    and librdkafka needs its application to poll to take an assignment."""
    import threading
    b = make_broker(FAST)
    t = create_topic(b.bootstrap, unique("grp"), 4)
    ck_produce(b.bootstrap, t, [(None, b"v%d" % i, None, None, i % 4) for i in range(40)])
    g = unique("g")
    seen, assigned, stop = set(), {}, threading.Event()

    def kp():
        c = kp_consumer(b.bootstrap, group_id=g, heartbeat_interval_ms=300,
                        session_timeout_ms=6000, max_poll_interval_ms=10000)
        c.subscribe([t])
        while not stop.is_set():
            for recs in c.poll(timeout_ms=100).values():
                seen.update(r.value for r in recs)
            assigned["kp"] = {p.partition for p in c.assignment()}
        c.close()

    def ck():
        c = ck_consumer(b.bootstrap, **{"group.id": g, "heartbeat.interval.ms": 300,
                                        "session.timeout.ms": 6000})
        c.subscribe([t])
        while not stop.is_set():
            m = c.poll(0.1)
            if m is not None and not m.error():
                seen.add(m.value())
            assigned["ck"] = {p.partition for p in c.assignment()}
        c.close()

    def balanced():
        ka, ca = assigned.get("kp"), assigned.get("ck")
        return len(seen) == 40 and ka and ca and not (ka & ca) and ka | ca == {0, 1, 2, 3}

    threads = [threading.Thread(target=f) for f in (kp, ck)]
    for th in threads:
        th.start()
    try:
        wait_until(balanced, 25, interval=0.1, what="both consumers assigned, all consumed")
    finally:
        stop.set()
        for th in threads:
            th.join(30)


def test_commit_survives_restart(make_broker):
    import kafka
    from kafka.structs import OffsetAndMetadata
    b = make_broker(FAST)
    t = create_topic(b.bootstrap, unique("grp"), 2)
    ck_produce(b.bootstrap, t, [(None, b"a%d" % i, None, None, i % 2) for i in range(10)])
    g = unique("g")
    c = ck_consumer(b.bootstrap, **{"group.id": g})
    c.subscribe([t])
    got = []
    deadline = time.monotonic() + 15 * SLOW
    while len(got) < 10 and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is not None and not m.error():
            got.append(m.value())
    assert len(got) == 10
    c.commit(asynchronous=False)
    c.close()
    # a simple (group-less) commit with metadata from kafka-python, another group
    g2 = unique("g")
    kc = kp_consumer(b.bootstrap, group_id=g2)
    tp = kafka.TopicPartition(t, 1)
    kc.assign([tp])
    kc.commit({tp: OffsetAndMetadata(3, "meta-data")})
    kc.close()

    b.restart()
    ck_produce(b.bootstrap, t, [(None, b"b%d" % i, None, None, i % 2) for i in range(4)])
    c = ck_consumer(b.bootstrap, **{"group.id": g})
    c.subscribe([t])
    got = []
    deadline = time.monotonic() + 15 * SLOW
    while len(got) < 4 and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is not None and not m.error():
            got.append(m.value())
    extra = c.poll(0.5)
    c.close()
    assert sorted(got) == [b"b0", b"b1", b"b2", b"b3"], got
    assert extra is None or extra.error()

    kc = kp_consumer(b.bootstrap, group_id=g2)
    om = kc.committed(tp, metadata=True)
    kc.close()
    assert om.offset == 3 and om.metadata == "meta-data"
    assert b.metric("kafka_consumergroup_current_offset",
                    {"consumergroup": g2, "topic": t, "partition": 1}) == 3
    # 5 + 2 records in partition 1, committed 3
    assert b.metric("kafka_consumergroup_lag",
                    {"consumergroup": g2, "topic": t, "partition": 1}) == 4
    assert b.metric("kafka_consumergroup_lag_seconds",
                    {"consumergroup": g2, "topic": t, "partition": 1}) >= 0
    assert b.metric("kafka_consumergroup_members", {"consumergroup": g}) == 0


def test_kcat_balanced_consumer(make_broker):
    b = make_broker(FAST)
    t = create_topic(b.bootstrap, unique("grp"), 3)
    ck_produce(b.bootstrap, t, [(None, b"k%d" % i, None, None, i % 3) for i in range(30)])
    r = kcat("-b", b.bootstrap, "-G", unique("g"), "-o", "beginning", "-e", "-q",
             "-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=500", t)
    lines = r.stdout.decode().split()
    assert sorted(lines) == sorted("k%d" % i for i in range(30))


def test_admin_list_describe_delete(make_broker):
    b = make_broker(FAST)
    t = create_topic(b.bootstrap, unique("grp"), 1)
    ck_produce(b.bootstrap, t, [(None, b"x", None, None, 0)])
    g = unique("g")
    c = ck_consumer(b.bootstrap, **{"group.id": g})
    c.subscribe([t])
    wait_until(lambda: c.poll(0.2) is not None and c.assignment(), 15, what="assignment")
    c.commit(asynchronous=False)
    ad = kp_admin(b.bootstrap)
    assert (g, "consumer") in ad.list_consumer_groups()
    d = ad.describe_consumer_groups([g])[0]
    assert d.state == "Stable" and d.protocol_type == "consumer" and len(d.members) == 1
    offs = ad.list_consumer_group_offsets(g)
    assert offs[next(iter(offs))].offset == 1
    with RawConn(b.port) as rc:  # DeleteGroups v1 while the member is in: NON_EMPTY_GROUP
        r = rc.request(42, 1, karray([g], kstr))
        r.i32()
        assert r.array(lambda r: (r.str(), r.i16())) == [(g, 68)]
    c.close()
    wait_until(lambda: ad.describe_consumer_groups([g])[0].state == "Empty", 10,
               what="group Empty after close")
    with RawConn(b.port) as rc:
        r = rc.request(42, 1, karray([g, unique("nope")], kstr))
        r.i32()
        res = r.array(lambda r: (r.str(), r.i16()))
        assert res[0] == (g, 0) and res[1][1] == 69
    assert (g, "consumer") not in ad.list_consumer_groups()
    ad.close()


def test_join_errors_raw(make_broker):
    b = make_broker(FAST)
    with RawConn(b.port) as rc:
        proto = karray([("range", b"\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff")],
                       lambda p: kstr(p[0]) + struct.pack(">i", len(p[1])) + p[1])
        # v4 with an empty member id: MEMBER_ID_REQUIRED and an id to rejoin with
        body = kstr("rg") + i32(10000) + i32(10000) + kstr("") + kstr("consumer") + proto
        r = rc.request(11, 4, body)
        r.i32()
        err, gen, pname, leader, mid = r.i16(), r.i32(), r.str(), r.str(), r.str()
        assert err == 79 and gen == -1 and mid.startswith("e2e-raw-")
        # v2 never asks for a member id
        body = kstr("rg2") + i32(10000) + i32(10000) + kstr("") + kstr("consumer") + proto
        r = rc.request(11, 2, body)
        r.i32()
        assert r.i16() == 0 and r.i32() == 1
        # heartbeat from an unknown member, and with a session timeout out of range
        r = rc.request(12, 1, kstr("rg2") + i32(1) + kstr("nobody"))
        r.i32()
        assert r.i16() == 25
        body = kstr("rg3") + i32(10) + i32(10000) + kstr("") + kstr("consumer") + proto
        r = rc.request(11, 2, body)
        r.i32()
        assert r.i16() == 26
    assert i16  # keep the import list honest
