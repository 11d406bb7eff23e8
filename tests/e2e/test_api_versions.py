"""The API versions Runnel advertises as Apache Kafka 3.7 does: one raw request per API at its
newest version (flexible encodings written by hand here, so a mistake made the same way in the
generated encoder and decoder still shows), and the clients' version inference."""
import struct

from conftest import (RawConn, create_topic, i8, i16, i32, i64, kp_admin, kp_consumer,
                      kp_producer, record_batch, unique)


# ---------------------------------------------------------------------------- flexible frames
def uvarint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def cstr(s):
    """Compact nullable string."""
    if s is None:
        return b"\x00"
    b = s.encode() if isinstance(s, str) else s
    return uvarint(len(b) + 1) + b


def carray(items, enc):
    if items is None:
        return b"\x00"
    return uvarint(len(items) + 1) + b"".join(enc(x) for x in items)


TAGS = b"\x00"  # an empty tag buffer


class FlexReader:
    def __init__(self, data):
        self.d, self.p = data, 0

    def _u(self, fmt):
        v = struct.unpack_from(fmt, self.d, self.p)[0]
        self.p += struct.calcsize(fmt)
        return v

    def i8(self): return self._u(">b")
    def i16(self): return self._u(">h")
    def i32(self): return self._u(">i")
    def i64(self): return self._u(">q")

    def uvarint(self):
        n = shift = 0
        while True:
            b = self.d[self.p]
            self.p += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n

    def str(self):
        n = self.uvarint() - 1
        if n < 0:
            return None
        s = self.d[self.p:self.p + n].decode()
        self.p += n
        return s

    def bytes(self):
        n = self.uvarint() - 1
        if n < 0:
            return None
        b = self.d[self.p:self.p + n]
        self.p += n
        return b

    def uuid(self):
        b = self.d[self.p:self.p + 16]
        self.p += 16
        return b

    def array(self, fn):
        n = self.uvarint() - 1
        if n < 0:
            return None
        return [fn(self) for _ in range(n)]

    def tags(self):
        """Skips a tag buffer; returns {tag: raw bytes}."""
        out = {}
        for _ in range(self.uvarint()):
            tag, size = self.uvarint(), self.uvarint()
            out[tag] = self.d[self.p:self.p + size]
            self.p += size
        return out

    def done(self):
        return self.p == len(self.d)


def flex_request(conn, api_key, version, body):
    """Request header v2 (classic client id + tags); response header v1 (corr + tags)."""
    conn.corr += 1
    hdr = i16(api_key) + i16(version) + i32(conn.corr) + i16(3) + b"e2e" + TAGS
    conn.sendraw(i32(len(hdr) + len(body)) + hdr + body)
    corr, resp = conn.recv()
    assert corr == conn.corr
    r = FlexReader(resp)
    assert r.tags() == {}
    return r


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
            r = flex_request(c, 0, v, produce_v9_body(t, record_batch([(b"k", b"v%d" % v)])))

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
        r = flex_request(c, 0, 9, body)
        res = r.array(lambda r: (r.str(), r.array(lambda r: (
            r.i32(), r.i16(), r.i64(), r.i64(), r.i64(), r.array(lambda r: r.i32()), r.str(),
            r.tags())), r.tags()))
        assert res[0][1][0][:3] == (7, 3, -1), res


def test_kafka_python_infers_2_4(broker):
    """kafka-python's check_version takes the newest release whose probe the broker range holds:
    Produce v8 -> 2.4 (DescribeAcls v2 -> 2.5 needs ACL APIs Runnel does not have)."""
    p = kp_producer(broker.bootstrap)
    try:
        assert tuple(p.config["api_version"]) == (2, 4, 0), p.config["api_version"]
    finally:
        p.close()
    a = kp_admin(broker.bootstrap)
    try:
        assert tuple(a.config["api_version"]) == (2, 4, 0), a.config["api_version"]
    finally:
        a.close()
    c = kp_consumer(broker.bootstrap)
    try:
        assert tuple(c.config["api_version"]) == (2, 4, 0), c.config["api_version"]
    finally:
        c.close()


# ---------------------------------------------------------------------------- Metadata v10-v12
ZERO_ID = bytes(16)


def metadata_v12(c, topics, auto_create=False, ops=False):
    """topics: [(uuid bytes, name|None)] or None (all) -> (cluster_id, [topic tuples])."""
    body = carray(topics, lambda t: t[0] + cstr(t[1]) + TAGS)
    body += i8(1 if auto_create else 0) + i8(1 if ops else 0) + TAGS
    r = flex_request(c, 3, 12, body)
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
    r = flex_request(c, 1, version, body)
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
    assert advertised(broker.port)[1] == (4, 16)
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
