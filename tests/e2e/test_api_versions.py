"""The API versions Runnel advertises as Apache Kafka 3.7 does: one raw request per API at its
newest version (flexible encodings written by hand in conftest, so a mistake made the same way
in the generated encoder and decoder still shows), and the clients' version inference."""
from conftest import (TAGS, RawConn, carray, create_topic, cstr, i8, i16, i32, i64, kp_admin,
                      kp_consumer, kp_producer, record_batch, unique)


def advertised(port):
    with RawConn(port) as c:
        err, apis = c.api_versions(0)
    assert err == 0
    return apis


# ---------------------------------------------------------------------------- Produce v8-v10
def produce_v9_body(topic, batch, acks=-1):
    return (cstr(None) + i16(acks) + i32(5000) +
            carray([topic], lambda t: cstr(t) + carray(
                [0], lambda p: i32(p) + cstr(batch) + TAGS) + TAGS) + TAGS)


def test_produce_v8_to_v10(broker):
    t = create_topic(broker.bootstrap, unique("p10"), 1)
    assert advertised(broker.port)[0] == (0, 10)
    with RawConn(broker.port) as c:
        # v8: classic encoding, RecordErrors and ErrorMessage after LogStartOffset.
        r = c.request(0, 8, RawConn.produce_body(t, 0, record_batch([(b"k", b"v8")])))
        (name, [(p, err, base, lat, lso, rec_errs, msg)]) = r.array(lambda r: (r.str(), r.array(
            lambda r: (r.i32(), r.i16(), r.i64(), r.i64(), r.i64(),
                       r.array(lambda r: (r.i32(), r.str())), r.str()))))[0]
        assert (name, p, err, base, lat, lso) == (t, 0, 0, 0, -1, 0)
        assert rec_errs == [] and msg is None
        assert r.i32() == 0 and not r.rest()  # throttle, nothing after
        for v in (9, 10):
            r = c.flex_request(0, v, produce_v9_body(t, record_batch([(b"k", b"v%d" % v)])))

            def part(r):
                out = (r.i32(), r.i16(), r.i64(), r.i64(), r.i64(),
                       r.array(lambda r: (r.i32(), r.str(), r.tags())), r.str())
                assert r.tags() == {}  # CurrentLeader only with NOT_LEADER errors
                return out
            res = r.array(lambda r: (r.str(), r.array(part), r.tags()))
            assert res == [(t, [(0, 0, v - 8, -1, 0, [], None)], {})], res
            assert r.i32() == 0 and r.tags() == {} and r.done()
        # A bad partition: the v9 error path keeps the v8+ shape.
        body = (cstr(None) + i16(-1) + i32(5000) + carray([t], lambda t: cstr(t) + carray(
            [7], lambda p: i32(p) + cstr(record_batch([(b"k", b"x")])) + TAGS) + TAGS) + TAGS)
        r = c.flex_request(0, 9, body)
        res = r.array(lambda r: (r.str(), r.array(lambda r: (
            r.i32(), r.i16(), r.i64(), r.i64(), r.i64(), r.array(lambda r: r.i32()), r.str(),
            r.tags())), r.tags()))
        assert res[0][1][0][:3] == (7, 3, -1), res


def test_kafka_python_infers_2_5(broker):
    """kafka-python's check_version takes the newest release whose probe the broker range holds:
    DescribeAcls v2 -> 2.5 (DescribeClientQuotas v0 -> 2.6 needs the quota APIs)."""
    p = kp_producer(broker.bootstrap)
    try:
        assert tuple(p.config["api_version"]) == (2, 5, 0), p.config["api_version"]
    finally:
        p.close()
    a = kp_admin(broker.bootstrap)
    try:
        assert tuple(a.config["api_version"]) == (2, 5, 0), a.config["api_version"]
    finally:
        a.close()
    c = kp_consumer(broker.bootstrap)
    try:
        assert tuple(c.config["api_version"]) == (2, 5, 0), c.config["api_version"]
    finally:
        c.close()


# ---------------------------------------------------------------------------- Metadata v10-v12
ZERO_ID = bytes(16)


def metadata_v12(c, topics, auto_create=False, ops=False):
    """topics: [(uuid bytes, name|None)] or None (all) -> (cluster_id, [topic tuples])."""
    body = carray(topics, lambda t: t[0] + cstr(t[1]) + TAGS)
    body += i8(1 if auto_create else 0) + i8(1 if ops else 0) + TAGS
    r = c.flex_request(3, 12, body)
    assert r.i32() == 0  # throttle
    brokers = r.array(lambda r: (r.i32(), r.str(), r.i32(), r.str(), r.tags()))
    assert len(brokers) == 1
    cluster, _controller = r.str(), r.i32()

    def part(r):
        out = (r.i16(), r.i32(), r.i32(), r.i32(), r.array(lambda r: r.i32()),
               r.array(lambda r: r.i32()), r.array(lambda r: r.i32()))
        r.tags()
        return out

    def topic(r):
        out = (r.i16(), r.str(), r.uuid(), r.i8(), r.array(part), r.i32())
        r.tags()
        return out
    ts = r.array(topic)
    assert r.tags() == {} and r.done()
    return cluster, ts


def test_metadata_v12_topic_ids(broker):
    t = create_topic(broker.bootstrap, unique("md12"), 2)
    assert advertised(broker.port)[3] == (0, 12)
    with RawConn(broker.port) as c:
        _cl, [(err, name, tid, internal, parts, ops)] = metadata_v12(c, [(ZERO_ID, t)])
        assert (err, name, internal, ops) == (0, t, 0, -2**31)
        assert tid != ZERO_ID and [p[1] for p in parts] == [0, 1]
        # By id: the name comes back; topic operations on request (no authorizer: all 8).
        _cl, [(err, name, tid2, _i, parts, ops)] = metadata_v12(c, [(tid, None)], ops=True)
        assert (err, name, tid2, len(parts), ops) == (0, t, tid, 2, 3576)
        # An unknown id: UNKNOWN_TOPIC_ID, null name.
        bogus = bytes(range(1, 17))
        _cl, [(err, name, tid3, _i, parts, _o)] = metadata_v12(c, [(bogus, None)])
        assert (err, name, tid3, parts) == (100, None, bogus, [])
        # All topics carry their ids too, the same every time (persisted in the store).
        _cl, ts = metadata_v12(c, None)
        assert {x[1]: x[2] for x in ts}[t] == tid


def test_topic_id_survives_restart(make_broker):
    b = make_broker()
    t = create_topic(b.bootstrap, unique("idr"), 1)
    with RawConn(b.port) as c:
        tid = metadata_v12(c, [(ZERO_ID, t)])[1][0][2]
    b.restart()
    with RawConn(b.port) as c:
        assert metadata_v12(c, [(tid, None)])[1][0][:3] == (0, t, tid)


def test_metadata_v12_auto_create(broker):
    name = unique("md12auto")
    with RawConn(broker.port) as c:
        _cl, [(err, n, tid, _i, parts, _o)] = metadata_v12(c, [(ZERO_ID, name)],
                                                            auto_create=True)
        assert (err, n, tid, parts) == (5, name, ZERO_ID, [])
        _cl, [(err, n, tid, _i, parts, _o)] = metadata_v12(c, [(ZERO_ID, name)])
        assert err == 0 and tid != ZERO_ID and len(parts) == 3


# ---------------------------------------------------------------------------- Fetch v13-v16
def fetch_flex(c, version, topic_id, offset, partition=0):
    body = b"" if version >= 15 else i32(-1)  # v15+: ReplicaState (tagged) replaces ReplicaId
    body += i32(100) + i32(1) + i32(1 << 20) + i8(0) + i32(0) + i32(-1)
    body += carray([topic_id], lambda t: t + carray(
        [partition], lambda p: i32(p) + i32(-1) + i64(offset) + i32(-1) + i64(-1) +
        i32(1 << 20) + TAGS) + TAGS)
    body += carray([], None) + cstr("") + TAGS
    r = c.flex_request(1, version, body)
    throttle, err, session = r.i32(), r.i16(), r.i32()
    assert (throttle, err, session) == (0, 0, 0)

    def part(r):
        out = (r.i32(), r.i16(), r.i64(), r.i64(), r.i64(),
               r.array(lambda r: (r.i64(), r.i64(), r.tags())), r.i32(), r.bytes())
        assert r.tags() == {}
        return out
    res = r.array(lambda r: (r.uuid(), r.array(part), r.tags()))
    assert r.tags() == {} and r.done()
    return res


def test_fetch_v13_to_v16_by_topic_id(broker):
    from conftest import parse_batches
    t = create_topic(broker.bootstrap, unique("f16"), 1)
    assert advertised(broker.port)[1] == (0, 16)
    with RawConn(broker.port) as c:
        assert c.produce(t, 0, record_batch([(b"k", b"by-id")]))[0] == 0
        tid = metadata_v12(c, [(ZERO_ID, t)])[1][0][2]
        for v in (13, 14, 15, 16):
            [(rtid, [(p, err, hwm, lso, lstart, aborted, pref, records)], _tags)] = \
                fetch_flex(c, v, tid, 0)
            assert (rtid, p, err, hwm, lso, lstart, aborted, pref) == \
                (tid, 0, 0, 1, 1, 0, None, -1), v
            assert [r[3] for r in parse_batches(records)] == [b"by-id"]
        bogus = bytes(range(1, 17))
        [(rtid, [(p, err, hwm, _l, _s, _a, _p, records)], _t)] = fetch_flex(c, 16, bogus, 0)
        assert (rtid, err, hwm, records) == (bogus, 100, -1, b"")


# ---------------------------------------------------------------------------- group APIs
def test_group_apis_at_newest_versions(make_broker):
    """One classic group lifetime spoken at Kafka 3.7's newest versions: FindCoordinator v4,
    JoinGroup v9 (MEMBER_ID_REQUIRED, then in), SyncGroup v5, Heartbeat v4, OffsetCommit v9,
    OffsetFetch v9 (two groups in one request), DescribeGroups v5, ListGroups v4, LeaveGroup v5,
    DeleteGroups v2."""
    b = make_broker({"group.initial.rebalance.delay.ms": 0})
    t = create_topic(b.bootstrap, unique("g9"), 2)
    g, other = unique("g"), unique("g")
    apis = advertised(b.port)
    assert [apis[k] for k in (8, 9, 10, 11, 12, 13, 14, 15, 16, 42)] == [
        (0, 9), (0, 9), (0, 4), (0, 9), (0, 4), (0, 5), (0, 5), (0, 5), (0, 4), (0, 2)]
    with RawConn(b.port) as c:
        r = c.flex_request(10, 4, i8(0) + carray([g, other], cstr) + TAGS)
        assert r.i32() == 0
        coords = r.array(lambda r: (r.str(), r.i32(), r.str(), r.i32(), r.i16(), r.str(),
                                    r.tags()))
        assert [(k, n, h, p, e) for k, n, h, p, e, _m, _t in coords] == \
            [(k, 1, "127.0.0.1", b.port, 0) for k in (g, other)]
        assert r.tags() == {} and r.done()

        meta = i16(0) + i32(1) + i16(len(t)) + t.encode() + i32(-1)  # subscription v0

        def join(member):
            body = (cstr(g) + i32(6000) + i32(6000) + cstr(member) + cstr(None) +
                    cstr("consumer") + carray(["range"], lambda n: cstr(n) + cstr(meta) + TAGS)
                    + cstr("testing v9") + TAGS)
            r = c.flex_request(11, 9, body)
            out = dict(throttle=r.i32(), err=r.i16(), gen=r.i32(), ptype=r.str(),
                       pname=r.str(), leader=r.str(), skip=r.i8(), member=r.str(),
                       members=r.array(lambda r: (r.str(), r.str(), r.bytes(), r.tags())))
            assert r.tags() == {} and r.done()
            return out
        j = join("")
        assert j["err"] == 79 and j["member"]  # MEMBER_ID_REQUIRED (v4+)
        mid = j["member"]
        j = join(mid)
        assert (j["err"], j["gen"], j["ptype"], j["pname"], j["leader"], j["skip"]) == \
            (0, 1, "consumer", "range", mid, 0), j
        assert [(m[0], m[1], m[2]) for m in j["members"]] == [(mid, None, meta)]

        assignment = i16(0) + i32(1) + i16(len(t)) + t.encode() + i32(2) + i32(0) + i32(1) + \
            i32(-1)
        body = (cstr(g) + i32(1) + cstr(mid) + cstr(None) + cstr("consumer") + cstr("range") +
                carray([mid], lambda m: cstr(m) + cstr(assignment) + TAGS) + TAGS)
        r = c.flex_request(14, 5, body)
        assert (r.i32(), r.i16(), r.str(), r.str(), r.bytes()) == \
            (0, 0, "consumer", "range", assignment)
        assert r.tags() == {} and r.done()

        r = c.flex_request(12, 4, cstr(g) + i32(1) + cstr(mid) + cstr(None) + TAGS)
        assert (r.i32(), r.i16(), r.tags()) == (0, 0, {}) and r.done()

        body = (cstr(g) + i32(1) + cstr(mid) + cstr(None) + carray([t], lambda n: cstr(n) + carray(
            [(0, 5), (1, -2)], lambda p: i32(p[0]) + i64(p[1]) + i32(-1) + cstr("m") + TAGS) +
            TAGS) + TAGS)
        r = c.flex_request(8, 9, body)
        assert r.i32() == 0
        res = r.array(lambda r: (r.str(), r.array(lambda r: (r.i32(), r.i16(), r.tags())),
                                 r.tags()))
        assert res == [(t, [(0, 0, {}), (1, 0, {})], {})], res
        assert r.tags() == {} and r.done()

        body = carray([(g, [t]), (other, None)], lambda x: cstr(x[0]) + cstr(None) + i32(-1) +
                      carray(x[1], lambda n: cstr(n) + carray([0, 1], i32) + TAGS) + TAGS)
        r = c.flex_request(9, 9, body + i8(0) + TAGS)
        assert r.i32() == 0
        groups = r.array(lambda r: (r.str(), r.array(lambda r: (r.str(), r.array(
            lambda r: (r.i32(), r.i64(), r.i32(), r.str(), r.i16(), r.tags())), r.tags())),
            r.i16(), r.tags()))
        assert r.tags() == {} and r.done()
        assert groups == [
            (g, [(t, [(0, 5, -1, "m", 0, {}), (1, -2, -1, "m", 0, {})], {})], 0, {}),
            (other, [], 0, {})], groups

        r = c.flex_request(15, 5, carray([g], cstr) + i8(1) + TAGS)
        assert r.i32() == 0
        [d] = r.array(lambda r: (r.i16(), r.str(), r.str(), r.str(), r.str(), r.array(
            lambda r: (r.str(), r.str(), r.str(), r.str(), r.bytes(), r.bytes(), r.tags())),
            r.i32(), r.tags()))
        assert r.tags() == {} and r.done()
        assert d[:5] == (0, g, "Stable", "consumer", "range"), d
        assert [(m[0], m[1], m[2], m[4], m[5]) for m in d[5]] == \
            [(mid, None, "e2e-raw", meta, assignment)]  # RawConn.frame's client id
        assert d[6] == 328  # READ DELETE DESCRIBE: Kafka's group operations, no authorizer

        r = c.flex_request(16, 4, carray(["Stable"], cstr) + TAGS)
        assert (r.i32(), r.i16()) == (0, 0)
        listed = r.array(lambda r: (r.str(), r.str(), r.str(), r.tags()))
        assert r.tags() == {} and r.done()
        assert (g, "consumer", "Stable", {}) in listed

        r = c.flex_request(13, 5, cstr(g) + carray(
            [mid], lambda m: cstr(m) + cstr(None) + cstr("done") + TAGS) + TAGS)
        assert (r.i32(), r.i16()) == (0, 0)
        assert r.array(lambda r: (r.str(), r.str(), r.i16(), r.tags())) == [(mid, None, 0, {})]
        assert r.tags() == {} and r.done()

        r = c.flex_request(42, 2, carray([g, other], cstr) + TAGS)
        assert r.i32() == 0
        res = r.array(lambda r: (r.str(), r.i16(), r.tags()))
        assert r.tags() == {} and r.done()
        assert res == [(g, 0, {}), (other, 69, {})], res  # other: GROUP_ID_NOT_FOUND


# ---------------------------------------------------------------------------- admin APIs
def create_topics_v7(c, name, partitions, validate_only=False):
    body = carray([name], lambda n: cstr(n) + i32(partitions) + i16(-1) + carray([], None) +
                  carray([("retention.ms", "3600000")],
                         lambda kv: cstr(kv[0]) + cstr(kv[1]) + TAGS) + TAGS)
    r = c.flex_request(19, 7, body + i32(10000) + i8(1 if validate_only else 0) + TAGS)
    assert r.i32() == 0

    def topic(r):
        out = dict(name=r.str(), id=r.uuid(), err=r.i16(), msg=r.str(), parts=r.i32(),
                   rf=r.i16(), configs=r.array(
                       lambda r: (r.str(), r.str(), r.i8(), r.i8(), r.i8(), r.tags())))
        out["tags"] = r.tags()  # TopicConfigErrorCode (tag 0) only when it is not 0
        assert out["tags"] == {}
        return out
    [res] = r.array(topic)
    assert r.tags() == {} and r.done()
    return res


def test_topic_admin_at_newest_versions(broker):
    """CreateTopics v7 (the new topic's id), CreatePartitions v3, DeleteTopics v6 by id."""
    apis = advertised(broker.port)
    assert [apis[k] for k in (19, 20, 37)] == [(0, 7), (0, 6), (0, 3)]
    name = unique("adm7")
    with RawConn(broker.port) as c:
        v = create_topics_v7(c, name, 2, validate_only=True)
        assert (v["err"], v["parts"], v["rf"]) == (0, 2, 1) and v["id"] == ZERO_ID
        res = create_topics_v7(c, name, 2)
        assert (res["name"], res["err"], res["msg"], res["parts"], res["rf"]) == \
            (name, 0, None, 2, 1), res
        assert res["id"] != ZERO_ID
        cfg = {x[0]: x[1] for x in res["configs"]}
        assert cfg["retention.ms"] == "3600000"
        md = metadata_v12(c, [(ZERO_ID, name)])[1][0]
        assert md[2] == res["id"]
        again = create_topics_v7(c, name, 2)
        assert again["err"] == 36  # TOPIC_ALREADY_EXISTS

        body = carray([name], lambda n: cstr(n) + i32(3) + carray(None, None) + TAGS)
        r = c.flex_request(37, 3, body + i32(10000) + i8(0) + TAGS)
        assert r.i32() == 0
        assert r.array(lambda r: (r.str(), r.i16(), r.str(), r.tags())) == \
            [(name, 0, None, {})]
        assert r.tags() == {} and r.done()
        assert len(metadata_v12(c, [(ZERO_ID, name)])[1][0][4]) == 3
        # The grown topic keeps its id (and the id index follows the replaced object).
        assert metadata_v12(c, [(res["id"], None)])[1][0][:2] == (0, name)
        assert len(metadata_v12(c, [(res["id"], None)])[1][0][4]) == 3

        def delete(topics):
            body = carray(topics, lambda x: cstr(x[0]) + x[1] + TAGS) + i32(10000) + TAGS
            r = c.flex_request(20, 6, body)
            assert r.i32() == 0
            res = r.array(lambda r: (r.str(), r.uuid(), r.i16(), r.str(), r.tags()))
            assert r.tags() == {} and r.done()
            return [x[:4] for x in res]
        bogus = bytes(range(1, 17))
        assert delete([(None, bogus)]) == [(None, bogus, 100, None)]  # UNKNOWN_TOPIC_ID
        both = delete([(name, res["id"])])
        assert both[0][2] == 42, both  # INVALID_REQUEST: name and id
        assert delete([(None, res["id"])]) == [(name, res["id"], 0, None)]
        assert metadata_v12(c, [(ZERO_ID, name)])[1][0][0] == 3


# ---------------------------------------------------------------------------- transactions
def test_transaction_apis_at_newest_versions(broker):
    """InitProducerId v4, AddPartitionsToTxn v3 and v4 (batched, VerifyOnly), AddOffsetsToTxn v3,
    TxnOffsetCommit v3, EndTxn v3: a transaction that commits offsets, visible to OffsetFetch v9
    once committed."""
    from conftest import wait_until
    apis = advertised(broker.port)
    assert [apis[k] for k in (22, 24, 25, 26, 28)] == [(0, 4), (0, 4), (0, 3), (0, 3), (0, 3)]
    t = create_topic(broker.bootstrap, unique("txn3"), 2)
    txn, g = unique("tx"), unique("g")
    with RawConn(broker.port) as c:
        r = c.flex_request(22, 4, cstr(txn) + i32(60000) + i64(-1) + i16(-1) + TAGS)
        throttle, err, pid, epoch = r.i32(), r.i16(), r.i64(), r.i16()
        assert (throttle, err) == (0, 0) and pid >= 0 and epoch >= 0
        assert r.tags() == {} and r.done()
        ids = cstr(txn) + i64(pid) + i16(epoch)

        r = c.flex_request(24, 3, ids + carray([t], lambda n: cstr(n) + carray([0], i32) + TAGS)
                         + TAGS)
        assert r.i32() == 0
        assert r.array(lambda r: (r.str(), r.array(lambda r: (r.i32(), r.i16(), r.tags())),
                                  r.tags())) == [(t, [(0, 0, {})], {})]
        assert r.tags() == {} and r.done()

        # v4 (KIP-890): a batch of transactions; VerifyOnly asks without adding.
        def add_v4(parts, verify):
            body = carray([txn], lambda x: cstr(x) + i64(pid) + i16(epoch) +
                          i8(1 if verify else 0) + carray(
                              [t], lambda n: cstr(n) + carray(parts, i32) + TAGS) + TAGS)
            r = c.flex_request(24, 4, body + TAGS)
            assert (r.i32(), r.i16()) == (0, 0)
            [(rid, [(name, res, _tt)], _t)] = r.array(lambda r: (r.str(), r.array(
                lambda r: (r.str(), r.array(lambda r: (r.i32(), r.i16(), r.tags())),
                           r.tags())), r.tags()))
            assert r.tags() == {} and r.done() and (rid, name) == (txn, t)
            return [(p, e) for p, e, _x in res]
        assert add_v4([0, 1], True) == [(0, 0), (1, 48)]  # 1 is not in: INVALID_TXN_STATE
        assert add_v4([1], False) == [(1, 0)]
        assert add_v4([0, 1], True) == [(0, 0), (1, 0)]

        r = c.flex_request(25, 3, ids + cstr(g) + TAGS)
        assert (r.i32(), r.i16(), r.tags()) == (0, 0, {}) and r.done()

        body = (cstr(txn) + cstr(g) + i64(pid) + i16(epoch) + i32(-1) + cstr("") + cstr(None) +
                carray([t], lambda n: cstr(n) + carray(
                    [0], lambda p: i32(p) + i64(7) + i32(-1) + cstr("tx") + TAGS) + TAGS) + TAGS)
        r = c.flex_request(28, 3, body)
        assert r.i32() == 0
        assert r.array(lambda r: (r.str(), r.array(lambda r: (r.i32(), r.i16(), r.tags())),
                                  r.tags())) == [(t, [(0, 0, {})], {})]
        assert r.tags() == {} and r.done()

        r = c.flex_request(26, 3, ids + i8(1) + TAGS)
        assert (r.i32(), r.i16(), r.tags()) == (0, 0, {}) and r.done()

        def committed():
            body = carray([g], lambda x: cstr(x) + cstr(None) + i32(-1) + carray(
                [t], lambda n: cstr(n) + carray([0], i32) + TAGS) + TAGS) + i8(1) + TAGS
            r = c.flex_request(9, 9, body)
            r.i32()
            [(_g, [(_t, [(_p, off, _e, meta, err, _x)], _y)], gerr, _z)] = r.array(
                lambda r: (r.str(), r.array(lambda r: (r.str(), r.array(
                    lambda r: (r.i32(), r.i64(), r.i32(), r.str(), r.i16(), r.tags())),
                    r.tags())), r.i16(), r.tags()))
            return (off, meta, err, gerr)
        wait_until(lambda: committed() == (7, "tx", 0, 0), what="transactional offset visible")


# ---------------------------------------------------------------------------- DescribeCluster
def test_describe_cluster_v1(broker):
    assert advertised(broker.port)[60] == (0, 1)
    with RawConn(broker.port) as c:
        cluster = metadata_v12(c, [])[0]

        def describe(version, ops, endpoint_type=1):
            body = i8(1 if ops else 0) + (i8(endpoint_type) if version >= 1 else b"") + TAGS
            r = c.flex_request(60, version, body)
            out = dict(throttle=r.i32(), err=r.i16(), msg=r.str())
            if version >= 1:
                out["etype"] = r.i8()
            out.update(cluster=r.str(), controller=r.i32(), brokers=r.array(
                lambda r: (r.i32(), r.str(), r.i32(), r.str(), r.tags())), ops=r.i32())
            assert r.tags() == {} and r.done()
            return out
        d = describe(1, True)
        assert (d["err"], d["msg"], d["etype"], d["cluster"], d["controller"]) == \
            (0, None, 1, cluster, 1)
        assert d["brokers"] == [(1, "127.0.0.1", broker.port, None, {})]
        assert d["ops"] == 8096  # Kafka's cluster operations without an authorizer
        assert describe(0, False)["ops"] == -2**31
        assert describe(1, False, endpoint_type=2)["err"] == 114  # MISMATCHED_ENDPOINT_TYPE
        assert describe(1, False, endpoint_type=7)["err"] == 115  # UNSUPPORTED_ENDPOINT_TYPE


def test_topic_ids_index_many_topics(make_broker):
    """Enough topics to grow the topic table several times: every id still finds its topic,
    and a deleted topic's id finds nothing."""
    b = make_broker()
    names = [unique("many") for _ in range(150)]
    with RawConn(b.port) as c:
        body = carray(names, lambda n: cstr(n) + i32(1) + i16(-1) + carray([], None) +
                      carray([], None) + TAGS) + i32(30000) + i8(0) + TAGS
        r = c.flex_request(19, 7, body)
        r.i32()
        created = r.array(lambda r: (r.str(), r.uuid(), r.i16(), r.str(), r.i32(), r.i16(),
                                     r.array(lambda r: (r.str(), r.str(), r.i8(), r.i8(),
                                                        r.i8(), r.tags())), r.tags()))
        assert [x[2] for x in created] == [0] * len(names)
        ids = {x[0]: x[1] for x in created}
        _cl, ts = metadata_v12(c, [(ids[n], None) for n in names])
        assert sorted((x[0], x[1]) for x in ts) == sorted((0, n) for n in names)
        body = carray([names[0]], lambda n: cstr(None) + ids[n] + TAGS) + i32(10000) + TAGS
        r = c.flex_request(20, 6, body)
        r.i32()
        assert r.array(lambda r: (r.str(), r.uuid(), r.i16(), r.str(), r.tags()))[0][2] == 0
        assert metadata_v12(c, [(ids[names[0]], None)])[1][0][0] == 100
        assert metadata_v12(c, [(ids[names[-1]], None)])[1][0][:2] == (0, names[-1])


def test_txn_offsets_of_a_deleted_topic_are_dropped(broker):
    """A transaction's pending offsets for a topic deleted before the commit are not applied:
    deleting a topic deletes its offsets in every group, pending transactional ones too."""
    gone = create_topic(broker.bootstrap, unique("txgone"), 1)
    kept = create_topic(broker.bootstrap, unique("txkept"), 1)
    txn, g = unique("tx"), unique("g")
    with RawConn(broker.port) as c:
        r = c.flex_request(22, 4, cstr(txn) + i32(60000) + i64(-1) + i16(-1) + TAGS)
        _th, err, pid, epoch = r.i32(), r.i16(), r.i64(), r.i16()
        assert err == 0
        ids = cstr(txn) + i64(pid) + i16(epoch)
        r = c.flex_request(25, 3, ids + cstr(g) + TAGS)
        assert (r.i32(), r.i16()) == (0, 0)
        body = (cstr(txn) + cstr(g) + i64(pid) + i16(epoch) + i32(-1) + cstr("") + cstr(None) +
                carray([gone, kept], lambda n: cstr(n) + carray(
                    [0], lambda p: i32(p) + i64(3) + i32(-1) + cstr(None) + TAGS) + TAGS) + TAGS)
        r = c.flex_request(28, 3, body)
        r.i32()
        assert [e for _n, ps, _t in r.array(lambda r: (r.str(), r.array(
            lambda r: (r.i32(), r.i16(), r.tags())), r.tags())) for _p, e, _x in ps] == [0, 0]
        body = carray([gone], lambda n: cstr(n) + ZERO_ID + TAGS) + i32(10000) + TAGS
        r = c.flex_request(20, 6, body)
        r.i32()
        assert r.array(lambda r: (r.str(), r.uuid(), r.i16(), r.str(), r.tags()))[0][2] == 0
        r = c.flex_request(26, 3, ids + i8(1) + TAGS)
        assert (r.i32(), r.i16()) == (0, 0)

    from conftest import wait_until

    def offsets():
        ad = kp_admin(broker.bootstrap)
        try:
            return {(tp.topic, om.offset) for tp, om in ad.list_consumer_group_offsets(g).items()}
        finally:
            ad.close()
    wait_until(lambda: offsets() == {(kept, 3)}, what="only the kept topic's offset")
