"""Raw AlterClientQuotas (49) and DescribeClientQuotas (48) v0 for the quota tests: neither
kafka-python 2.0.2 nor confluent-kafka 2.0.2 has a client quota admin API."""
import struct

from conftest import RawConn, i8, i32, karray, kstr

ALTER, DESCRIBE = 49, 48
EXACT, DEFAULT, ANY = 0, 1, 2
DEFAULT_NAME = None  # an entity part's name for <default>


def f64(v):
    return struct.pack(">d", v)


def _entity(entity):
    """entity: {"user": "alice" | None, "client-id": ...}; None is the <default>."""
    return karray(list(entity.items()), lambda kv: kstr(kv[0]) + kstr(kv[1]))


def alter(port, entries, validate_only=False, client_id="quota-admin"):
    """entries: [(entity, {key: value | None (remove)})] -> [(error_code, message, entity)]."""
    def entry(e):
        entity, ops = e
        body = _entity(entity)
        body += karray(list(ops.items()),
                       lambda kv: kstr(kv[0]) + f64(kv[1] or 0.0) + i8(1 if kv[1] is None else 0))
        return body
    body = karray(entries, entry) + i8(1 if validate_only else 0)
    with RawConn(port) as c:
        r = c.request(ALTER, 0, body)
    r.i32()  # throttle
    out = []
    for _ in range(r.i32()):
        code, msg = r.i16(), r.str()
        ent = {}
        for _ in range(r.i32()):
            t = r.str()
            ent[t] = r.str()
        out.append((code, msg, ent))
    return out


def describe(port, components, strict=False):
    """components: [(entity_type, match_type, match)] -> (error_code, message, entries) with
    entries {(("client-id", "x"), ...): {key: value}}."""
    body = karray(components, lambda c: kstr(c[0]) + i8(c[1]) + kstr(c[2]))
    body += i8(1 if strict else 0)
    with RawConn(port) as c:
        r = c.request(DESCRIBE, 0, body)
    r.i32()
    code, msg = r.i16(), r.str()
    n = r.i32()
    if n < 0:
        return code, msg, None
    entries = {}
    for _ in range(n):
        ent = []
        for _ in range(r.i32()):
            t = r.str()
            ent.append((t, r.str()))
        vals = {}
        for _ in range(r.i32()):
            k = r.str()
            vals[k] = struct.unpack(">d", r._take(8))[0]
        entries[tuple(ent)] = vals
    return code, msg, entries
