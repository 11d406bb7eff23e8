"""Raw ElectLeaders (43), AlterPartitionReassignments (45) and ListPartitionReassignments (46):
no client of the e2e suite has them (kafka-python 2.0.2, confluent-kafka 1.7.0). Encoders and
decoders only; the connection is a conftest RawConn (tests/e2e or tests/e2e_cluster).
Self-contained (struct only) so both test folders can import it."""
import struct

TAGS = b"\x00"


def _i8(v): return struct.pack(">b", v)
def _i16(v): return struct.pack(">h", v)
def _i32(v): return struct.pack(">i", v)


def _uvarint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _kstr(s):
    b = s.encode()
    return _i16(len(b)) + b


def _cstr(s):
    if s is None:
        return _uvarint(0)
    b = s.encode()
    return _uvarint(len(b) + 1) + b


def _karray(items, enc):
    if items is None:
        return _i32(-1)
    return _i32(len(items)) + b"".join(enc(x) for x in items)


def _carray(items, enc):
    if items is None:
        return _uvarint(0)
    return _uvarint(len(items) + 1) + b"".join(enc(x) for x in items)


# ------------------------------------------------------------------------------ ElectLeaders
def elect_leaders(conn, topic_partitions, election_type=0, version=2, timeout_ms=30000):
    """topic_partitions: {topic: [partition, ...]} or None (every partition).
    -> (top-level error or None for v0, {topic: {partition: (error, message)}})."""
    items = None if topic_partitions is None else sorted(topic_partitions.items())
    flex = version >= 2
    if flex:
        body = _i8(election_type) + _carray(
            items, lambda t: _cstr(t[0]) + _carray(t[1], _i32) + TAGS) + _i32(timeout_ms) + TAGS
        r = conn.flex_request(43, version, body)
    else:
        body = b"" if version == 0 else _i8(election_type)
        body += _karray(items, lambda t: _kstr(t[0]) + _karray(t[1], _i32)) + _i32(timeout_ms)
        r = conn.request(43, version, body)
    r.i32()  # throttle
    top = r.i16() if version >= 1 else None
    out = {}

    def part(r):
        pid, err = r.i32(), r.i16()
        msg = r.str()
        if flex:
            r.no_tags()
        return pid, (err, msg)

    def topic(r):
        name = r.str()
        parts = dict(r.array(part))
        if flex:
            r.no_tags()
        out[name] = parts
    r.array(topic)
    if flex:
        r.no_tags()
    return top, out


# ------------------------------------------------------------------- Partition reassignments
def alter_reassignments(conn, moves, timeout_ms=30000):
    """moves: {(topic, partition): [broker, ...] or None (cancel)}.
    -> (top-level error, {(topic, partition): (error, message)})."""
    by_topic = {}
    for (t, p), reps in sorted(moves.items()):
        by_topic.setdefault(t, []).append((p, reps))
    body = _i32(timeout_ms) + _carray(
        sorted(by_topic.items()),
        lambda t: _cstr(t[0]) + _carray(
            t[1], lambda pr: _i32(pr[0]) + _carray(pr[1], _i32) + TAGS) + TAGS) + TAGS
    r = conn.flex_request(45, 0, body)
    r.i32()
    top = r.i16()
    r.str()
    out = {}

    def part(r, name):
        pid, err, msg = r.i32(), r.i16(), r.str()
        r.no_tags()
        out[(name, pid)] = (err, msg)

    def topic(r):
        name = r.str()
        r.array(lambda rr: part(rr, name))
        r.no_tags()
    r.array(topic)
    r.no_tags()
    return top, out


def list_reassignments(conn, topics=None, timeout_ms=30000):
    """topics: {topic: [partition, ...]} or None (all).
    -> (top-level error, {(topic, partition): (replicas, adding, removing)})."""
    items = None if topics is None else sorted(topics.items())
    body = _i32(timeout_ms) + _carray(
        items, lambda t: _cstr(t[0]) + _carray(t[1], _i32) + TAGS) + TAGS
    r = conn.flex_request(46, 0, body)
    r.i32()
    top = r.i16()
    r.str()
    out = {}

    def part(r, name):
        pid = r.i32()
        reps, adding, removing = r.array(_rd_i32), r.array(_rd_i32), r.array(_rd_i32)
        r.no_tags()
        out[(name, pid)] = (reps, adding, removing)

    def topic(r):
        name = r.str()
        r.array(lambda rr: part(rr, name))
        r.no_tags()
    r.array(topic)
    r.no_tags()
    return top, out


def _rd_i32(r):
    return r.i32()
