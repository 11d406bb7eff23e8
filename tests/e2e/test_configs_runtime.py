"""Configs at run time: DescribeConfigs (sources, synonyms, Kafka 3.7's topic key set),
AlterConfigs and IncrementalAlterConfigs for topics and dynamic broker keys, validation,
validate_only, persistence over a restart, effects without a restart (retention, compression),
and the zstd rule for Fetch below v10."""
import os
import time

import pytest

from conftest import (SLOW, TAGS, RawConn, batch_attrs, carray, create_topic, ck_admin,
                      ck_consume, ck_produce, cstr, earliest_offset, i8, i16, i32, karray, kcat,
                      kp_admin, kp_consume, kp_producer, kstr, record_batch, unique, wait_until)

# Apache Kafka 3.7's topic configs (LogConfig.configNames at 3.7).
KAFKA_37_TOPIC_KEYS = {
    "cleanup.policy", "compression.type", "delete.retention.ms", "file.delete.delay.ms",
    "flush.messages", "flush.ms", "follower.replication.throttled.replicas",
    "index.interval.bytes", "leader.replication.throttled.replicas", "local.retention.bytes",
    "local.retention.ms", "max.compaction.lag.ms", "max.message.bytes",
    "message.downconversion.enable", "message.format.version",
    "message.timestamp.after.max.ms", "message.timestamp.before.max.ms",
    "message.timestamp.difference.max.ms", "message.timestamp.type",
    "min.cleanable.dirty.ratio", "min.compaction.lag.ms", "min.insync.replicas", "preallocate",
    "remote.storage.enable", "retention.bytes", "retention.ms", "segment.bytes",
    "segment.index.bytes", "segment.jitter.ms", "segment.ms", "unclean.leader.election.enable",
}

TOPIC, BROKER = 2, 4
DYN_TOPIC, DYN_BROKER, DYN_DEFAULT, STATIC, DEFAULT = 1, 2, 3, 4, 5
SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3


def nstr(s):
    return kstr(s)


def describe_raw(conn, rtype, name, keys=None, synonyms=True, docs=True, version=3):
    """DescribeConfigs v1-v3 -> (error, message, {name: entry dict})."""
    body = karray([(rtype, name)], lambda r: i8(r[0]) + kstr(r[1]) + (
        i32(-1) if keys is None else karray(keys, kstr)))
    body += i8(1 if synonyms else 0)
    if version >= 3:
        body += i8(1 if docs else 0)
    r = conn.request(32, version, body)
    r.i32()

    def entry(r):
        e = {"name": r.str(), "value": r.str(), "read_only": r.i8(), "source": r.i8(),
             "sensitive": r.i8()}
        e["synonyms"] = r.array(lambda r: (r.str(), r.str(), r.i8()))
        if version >= 3:
            e["type"] = r.i8()
            e["doc"] = r.str()
        return e

    res = r.array(lambda r: (r.i16(), r.str(), r.i8(), r.str(), r.array(entry)))
    err, msg, _t, _n, entries = res[0]
    return err, msg, {e["name"]: e for e in (entries or [])}


def incremental_raw(conn, rtype, name, ops, validate_only=False):
    """IncrementalAlterConfigs v0; ops = [(key, op, value)] -> (error, message)."""
    body = karray([(rtype, name)], lambda r: i8(r[0]) + kstr(r[1]) + karray(
        ops, lambda o: kstr(o[0]) + i8(o[1]) + nstr(o[2])))
    body += i8(1 if validate_only else 0)
    r = conn.request(44, 0, body)
    r.i32()
    res = r.array(lambda r: (r.i16(), r.str(), r.i8(), r.str()))
    return res[0][0], res[0][1]


def alter_raw(conn, rtype, name, cfg, validate_only=False):
    """AlterConfigs v0; cfg = {key: value} -> (error, message)."""
    body = karray([(rtype, name)], lambda r: i8(r[0]) + kstr(r[1]) + karray(
        sorted(cfg.items()), lambda kv: kstr(kv[0]) + nstr(kv[1])))
    body += i8(1 if validate_only else 0)
    r = conn.request(33, 0, body)
    r.i32()
    res = r.array(lambda r: (r.i16(), r.str(), r.i8(), r.str()))
    return res[0][0], res[0][1]


def ck_describe(a, rtype, name):
    import confluent_kafka.admin as cka
    res = cka.ConfigResource(rtype, name)
    return a.describe_configs([res])[res].result(10 * SLOW)


def ck_alter(a, rtype, name, cfg, validate_only=False):
    import confluent_kafka.admin as cka
    res = cka.ConfigResource(rtype, name, set_config=cfg)
    return a.alter_configs([res], validate_only=validate_only)[res].result(10 * SLOW)


def test_topic_key_set_sources_and_synonyms(broker, raw):
    name = create_topic(broker.bootstrap, unique("keys"), config={"retention.ms": "123456"})
    a = ck_admin(broker.bootstrap)
    cfg = ck_describe(a, "topic", name)
    assert set(cfg) == KAFKA_37_TOPIC_KEYS
    r = cfg["retention.ms"]
    assert r.value == "123456" and r.source == DYN_TOPIC and not r.is_default
    assert [(s.name, s.value, s.source) for s in r.synonyms.values()] == [
        ("retention.ms", "123456", DYN_TOPIC), ("log.retention.hours", "168", DEFAULT)]
    seg = cfg["segment.bytes"]
    assert seg.source == DEFAULT and seg.is_default and seg.value == "1073741824"
    thr = cfg["leader.replication.throttled.replicas"]
    assert thr.value == "" and thr.source == DEFAULT and list(thr.synonyms) == []
    # v3: types and documentation, v1 without documentation.
    err, _m, e = describe_raw(raw(), TOPIC, name, version=3)
    assert err == 0 and set(e) == KAFKA_37_TOPIC_KEYS
    assert e["retention.ms"]["type"] == 5 and e["cleanup.policy"]["type"] == 7  # LONG, LIST
    assert e["compression.type"]["type"] == 2 and e["preallocate"]["type"] == 1
    assert e["retention.ms"]["doc"]
    err, _m, e = describe_raw(raw(), TOPIC, name, keys=["segment.ms"], docs=False, version=3)
    assert list(e) == ["segment.ms"] and e["segment.ms"]["doc"] is None
    assert e["segment.ms"]["synonyms"] == [("log.roll.hours", "168", DEFAULT)]
    err, msg, _e = describe_raw(raw(), TOPIC, unique("nosuch"))
    assert err == 3  # UNKNOWN_TOPIC_OR_PARTITION


def test_static_broker_value_is_source_4(make_broker, raw):
    b = make_broker(sets={"log.retention.hours": "5", "compression.type": "lz4"})
    name = create_topic(b.bootstrap, unique("static"))
    c = RawConn(b.port)
    err, _m, e = describe_raw(c, TOPIC, name)
    assert e["retention.ms"]["value"] == str(5 * 3600000)
    assert e["retention.ms"]["source"] == STATIC
    assert e["retention.ms"]["synonyms"] == [("log.retention.hours", "5", STATIC),
                                             ("log.retention.hours", "168", DEFAULT)]
    assert e["compression.type"]["value"] == "lz4"
    err, _m, e = describe_raw(c, BROKER, "1", keys=["log.dirs", "log.retention.ms"])
    assert err == 0
    assert e["log.dirs"]["read_only"] == 1 and e["log.dirs"]["source"] == STATIC
    assert e["log.retention.ms"]["read_only"] == 0
    err, msg, _e = describe_raw(c, BROKER, "7")
    assert err == 42 and "Unexpected broker id" in msg
    c.close()


def test_alter_roundtrip_confluent_and_restart(make_broker):
    b = make_broker()
    name = create_topic(b.bootstrap, unique("alter"))
    a = ck_admin(b.bootstrap)
    ck_alter(a, "topic", name, {"retention.ms": "3600000", "cleanup.policy": "compact,delete"})
    cfg = ck_describe(a, "topic", name)
    assert cfg["retention.ms"].value == "3600000" and cfg["retention.ms"].source == DYN_TOPIC
    assert cfg["cleanup.policy"].value == "compact,delete"
    # AlterConfigs replaces the whole set: retention.ms goes back to the default.
    ck_alter(a, "topic", name, {"segment.ms": "7200000"})
    cfg = ck_describe(a, "topic", name)
    assert cfg["retention.ms"].source == DEFAULT and cfg["retention.ms"].value == "604800000"
    assert cfg["cleanup.policy"].value == "delete"
    assert cfg["segment.ms"].value == "7200000"
    b.restart()
    a = ck_admin(b.bootstrap)
    cfg = ck_describe(a, "topic", name)
    assert cfg["segment.ms"].value == "7200000" and cfg["segment.ms"].source == DYN_TOPIC
    assert cfg["retention.ms"].source == DEFAULT


def test_alter_roundtrip_kafka_python(broker):
    from kafka.admin import ConfigResource, ConfigResourceType
    name = create_topic(broker.bootstrap, unique("kpalter"))
    a = kp_admin(broker.bootstrap)
    try:
        resp = a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, name,
                                               configs={"retention.bytes": "999999",
                                                        "max.message.bytes": "2000000"})])
        assert [r[0] for r in resp.resources] == [0], resp
        got = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
        entries = {c[0]: c for r in got for res in r.resources for c in res[4]}
        assert entries["retention.bytes"][1] == "999999"
        assert entries["max.message.bytes"][1] == "2000000"
        resp = a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, name,
                                               configs={"retention.bytes": "-7x"})])
        err, msg = resp.resources[0][0], resp.resources[0][1]
        assert err == 40 and "retention.bytes" in msg
    finally:
        a.close()


@pytest.mark.parametrize("cfg,key", [({"retention.ms": "-5"}, "retention.ms"),
                                     ({"segment.bytes": "abc"}, "segment.bytes"),
                                     ({"cleanup.policy": "shred"}, "cleanup.policy"),
                                     ({"min.cleanable.dirty.ratio": "1.5"},
                                      "min.cleanable.dirty.ratio"),
                                     ({"compression.type": "brotli"}, "compression.type"),
                                     ({"no.such.key": "1"}, "no.such.key")])
def test_invalid_config_named(broker, cfg, key):
    import confluent_kafka
    name = create_topic(broker.bootstrap, unique("bad"))
    a = ck_admin(broker.bootstrap)
    with pytest.raises(confluent_kafka.KafkaException) as ei:
        ck_alter(a, "topic", name, cfg)
    err = ei.value.args[0]
    assert err.code() == confluent_kafka.KafkaError.INVALID_CONFIG
    assert key in err.str()
    assert ck_describe(a, "topic", name)["retention.ms"].source == DEFAULT


def test_validate_only_changes_nothing(broker, raw):
    import confluent_kafka
    name = create_topic(broker.bootstrap, unique("vo"))
    a = ck_admin(broker.bootstrap)
    ck_alter(a, "topic", name, {"retention.ms": "1000"}, validate_only=True)
    assert ck_describe(a, "topic", name)["retention.ms"].source == DEFAULT
    with pytest.raises(confluent_kafka.KafkaException):
        ck_alter(a, "topic", name, {"retention.ms": "x"}, validate_only=True)
    c = raw()
    assert incremental_raw(c, TOPIC, name, [("segment.ms", SET, "1000")], True) == (0, None)
    assert alter_raw(c, BROKER, "1", {"log.retention.ms": "1000"}, True) == (0, None)
    _e, _m, e = describe_raw(c, TOPIC, name)
    assert e["segment.ms"]["source"] == DEFAULT and e["retention.ms"]["source"] == DEFAULT


def test_incremental_append_subtract_delete(broker, raw):
    name = create_topic(broker.bootstrap, unique("inc"))
    c = raw()

    def value(key):
        return describe_raw(c, TOPIC, name, keys=[key])[2][key]

    assert incremental_raw(c, TOPIC, name, [("cleanup.policy", APPEND, "compact")]) == (0, None)
    v = value("cleanup.policy")
    assert v["value"] == "delete,compact" and v["source"] == DYN_TOPIC
    assert incremental_raw(c, TOPIC, name, [("cleanup.policy", SUBTRACT, "delete"),
                                            ("retention.ms", SET, "5000")]) == (0, None)
    assert value("cleanup.policy")["value"] == "compact"
    assert value("retention.ms")["value"] == "5000"
    # Incremental edits leave the other keys alone; DELETE returns a key to its default.
    assert incremental_raw(c, TOPIC, name, [("cleanup.policy", DELETE, None)]) == (0, None)
    assert value("cleanup.policy")["value"] == "delete"
    assert value("cleanup.policy")["source"] == DEFAULT
    assert value("retention.ms")["value"] == "5000"
    err, msg = incremental_raw(c, TOPIC, name, [("retention.ms", APPEND, "1")])
    assert err == 40 and "retention.ms" in msg
    err, msg = incremental_raw(c, TOPIC, name, [("segment.ms", SET, "0")])
    assert err == 40 and "segment.ms" in msg
    err, msg = incremental_raw(c, TOPIC, name, [("segment.ms", SET, "9"), ("segment.ms", SET, "8")])
    assert err == 42
    err, _m = incremental_raw(c, TOPIC, unique("gone"), [("segment.ms", SET, "1000")])
    assert err == 3
    assert incremental_raw(c, TOPIC, name,
                           [("leader.replication.throttled.replicas", APPEND, "0:1")]) == (0, None)
    assert value("leader.replication.throttled.replicas")["value"] == "0:1"


def test_dynamic_broker_configs_act_and_persist(make_broker):
    b = make_broker()
    plain = create_topic(b.bootstrap, unique("plain"))
    own = create_topic(b.bootstrap, unique("own"), config={"retention.ms": "1000000"})
    c = RawConn(b.port)
    assert incremental_raw(c, BROKER, "1", [("log.retention.ms", SET, "7200000")]) == (0, None)
    assert incremental_raw(c, BROKER, "", [("log.segment.bytes", SET, "2097152")]) == (0, None)
    _e, _m, e = describe_raw(c, TOPIC, plain)
    assert e["retention.ms"]["value"] == "7200000"
    assert e["retention.ms"]["source"] == DYN_BROKER
    assert e["retention.ms"]["synonyms"][0] == ("log.retention.ms", "7200000", DYN_BROKER)
    assert e["segment.bytes"]["value"] == "2097152"
    assert e["segment.bytes"]["source"] == DYN_DEFAULT
    _e, _m, e = describe_raw(c, TOPIC, own)
    assert e["retention.ms"]["value"] == "1000000" and e["retention.ms"]["source"] == DYN_TOPIC
    _e, _m, e = describe_raw(c, BROKER, "1", keys=["log.retention.ms", "log.retention.hours"])
    assert e["log.retention.ms"]["value"] == "7200000"
    assert e["log.retention.ms"]["source"] == DYN_BROKER
    assert e["log.retention.hours"]["source"] == DYN_BROKER  # Kafka: head of the chain
    err, _m, e = describe_raw(c, BROKER, "")
    assert err == 0 and list(e) == ["log.segment.bytes"]
    assert e["log.segment.bytes"]["source"] == DYN_DEFAULT
    err, msg = incremental_raw(c, BROKER, "1", [("log.dirs", SET, "/tmp/x")])
    assert err == 42 and "log.dirs" in msg
    err, msg = incremental_raw(c, BROKER, "1", [("log.retention.ms", SET, "soon")])
    assert err == 42 and "log.retention.ms" in msg
    c.close()
    b.restart()
    c = RawConn(b.port)
    _e, _m, e = describe_raw(c, TOPIC, plain)
    assert e["retention.ms"]["value"] == "7200000" and e["retention.ms"]["source"] == DYN_BROKER
    assert e["segment.bytes"]["source"] == DYN_DEFAULT
    assert incremental_raw(c, BROKER, "1", [("log.retention.ms", DELETE, None)]) == (0, None)
    _e, _m, e = describe_raw(c, TOPIC, plain)
    assert e["retention.ms"]["value"] == "604800000" and e["retention.ms"]["source"] == DEFAULT
    c.close()


def _segments(b, topic):
    d = b.partition_dir(topic, 0)
    return sorted(f for f in os.listdir(d) if f.endswith(".log"))


def _fill_old_segments(b, topic, n=40):
    old = int(time.time() * 1000) - 3600 * 1000
    ck_produce(b.bootstrap, topic, [(None, b"x" * 200, None, old, 0) for _ in range(n)],
               **{"linger.ms": 0, "batch.num.messages": 1})
    wait_until(lambda: len(_segments(b, topic)) >= 3, what="several segments")


def test_retention_lowered_at_run_time_deletes_segments(make_broker):
    b = make_broker(sets={"log.retention.check.interval.ms": "1000"})
    name = create_topic(b.bootstrap, unique("ret"), config={"segment.bytes": "1024"})
    _fill_old_segments(b, name)
    assert earliest_offset(b.port, name) == 0
    a = ck_admin(b.bootstrap)
    ck_alter(a, "topic", name, {"segment.bytes": "1024", "retention.ms": "600000"})
    wait_until(lambda: earliest_offset(b.port, name) > 0, timeout=10, what="old segments deleted")
    start = earliest_offset(b.port, name)
    out = kcat("-b", b.bootstrap, "-C", "-t", name, "-p", "0", "-o", "beginning", "-e", "-q",
               "-f", "%o\n").stdout.decode().split()
    assert out and int(out[0]) == start

    # A broker default lowered at run time reaches a topic without an override.
    other = create_topic(b.bootstrap, unique("ret2"), config={"segment.bytes": "1024"})
    _fill_old_segments(b, other)
    with RawConn(b.port) as c:
        assert incremental_raw(c, BROKER, "1", [("log.retention.ms", SET, "600000")]) == (0, None)
    wait_until(lambda: earliest_offset(b.port, other) > 0, timeout=10, what="broker default acts")


def _batch_codecs(port, topic, version=4):
    with RawConn(port) as c:
        err, _hwm, data = c.fetch(topic, 0, 0, version=version)
    assert err == 0, err
    return [attrs & 7 for _base, attrs in batch_attrs(data)]


def test_compression_type_recompresses_on_append(broker):
    name = create_topic(broker.bootstrap, unique("gz"), config={"compression.type": "gzip"})
    with RawConn(broker.port) as c:
        err, _base = c.produce(name, 0, record_batch([(b"k1", b"v1"), (b"k2", b"v2")]))
        assert err == 0
    ck_produce(broker.bootstrap, name, [(b"k3", b"v3")], **{"compression.codec": "lz4"})
    assert _batch_codecs(broker.port, name) == [1, 1]  # gzip, whatever the producer sent
    a = ck_admin(broker.bootstrap)
    ck_alter(a, "topic", name, {"compression.type": "uncompressed"})
    ck_produce(broker.bootstrap, name, [(b"k4", b"v4")], **{"compression.codec": "snappy"})
    assert _batch_codecs(broker.port, name) == [1, 1, 0]
    got = ck_consume(broker.bootstrap, name, [0], 4)
    assert [(m.key(), m.value(), m.offset()) for m in got] == [
        (b"k1", b"v1", 0), (b"k2", b"v2", 1), (b"k3", b"v3", 2), (b"k4", b"v4", 3)]


def test_kafka_python_reads_back_its_zstd(broker):
    name = create_topic(broker.bootstrap, unique("zstd"))
    p = kp_producer(broker.bootstrap, compression_type="zstd")
    for i in range(20):
        p.send(name, key=b"k%d" % i, value=b"value-%d" % i, partition=0)
    p.flush(10 * SLOW)
    p.close()
    assert _batch_codecs(broker.port, name, version=10)[0] == 4
    got = kp_consume(broker.bootstrap, name, [0], 20)
    assert [m.value for m in got] == [b"value-%d" % i for i in range(20)]


def test_fetch_below_v10_refused_only_for_zstd_topics(broker):
    name = create_topic(broker.bootstrap, unique("zt"), config={"compression.type": "zstd"})
    ck_produce(broker.bootstrap, name, [(b"k", b"v")])
    assert _batch_codecs(broker.port, name, version=10) == [4]
    with RawConn(broker.port) as c:
        err, _hwm, _data = c.fetch(name, 0, 0, version=4)
    assert err == 76  # UNSUPPORTED_COMPRESSION_TYPE


def test_cli_topic_alter_describe_and_broker_configs(broker, raw):
    from conftest import runnel
    b = ["-b", broker.bootstrap]
    name = create_topic(broker.bootstrap, unique("cli"))
    r = runnel("topic", "alter", name, "--set", "retention.ms=1000", "--set",
               "cleanup.policy=compact", *b)
    assert r.returncode == 0, r.stderr
    r = runnel("topic", "alter", name, "--set", "segment.ms=5000", "--delete", "cleanup.policy", *b)
    assert r.returncode == 0, r.stderr
    _e, _m, e = describe_raw(raw(), TOPIC, name)
    assert e["retention.ms"]["value"] == "1000" and e["retention.ms"]["source"] == DYN_TOPIC
    assert e["segment.ms"]["value"] == "5000"
    assert e["cleanup.policy"]["source"] == DEFAULT
    out = runnel("topic", "describe", name, *b).stdout.decode()
    assert "retention.ms=1000\t(DYNAMIC_TOPIC_CONFIG)" in out
    assert "cleanup.policy=delete\t(DEFAULT_CONFIG)" in out
    r = runnel("topic", "alter", name, "--set", "retention.ms=-9", *b)
    assert r.returncode == 1 and b"retention.ms" in r.stderr and b"Invalid value" in r.stderr
    r = runnel("broker", "configs", "--set", "log.segment.bytes=2097152", *b)
    assert r.returncode == 0, r.stderr
    out = runnel("broker", "configs", *b).stdout.decode()
    assert "log.segment.bytes=2097152\t(DYNAMIC_BROKER_CONFIG)" in out
    assert "log.dirs=" in out and "read-only" in out
    _e, _m, e = describe_raw(raw(), TOPIC, name, keys=["segment.bytes"])
    assert e["segment.bytes"]["value"] == "2097152"
    r = runnel("broker", "configs", "--set", "log.dirs=/x", *b)
    assert r.returncode == 1 and b"log.dirs" in r.stderr
    r = runnel("broker", "configs", "--delete", "log.segment.bytes", *b)
    assert r.returncode == 0, r.stderr
    _e, _m, e = describe_raw(raw(), TOPIC, name, keys=["segment.bytes"])
    assert e["segment.bytes"]["source"] == DEFAULT


def test_list_config_marks_dynamic_and_no_effect():
    from conftest import runnel
    out = runnel("serve", "--list-config").stdout.decode()
    lines = {l.split()[0]: l for l in out.splitlines() if l.strip()}
    assert "(dynamic)" in lines["log.retention.ms"]
    assert "(dynamic)" not in lines["log.dirs"]
    for k in KAFKA_37_TOPIC_KEYS:
        assert k in lines, k
    assert "no effect" in lines["leader.replication.throttled.replicas"]
    assert "no effect" in lines["remote.storage.enable"]
    assert "no effect" not in lines["retention.ms"]


def test_flexible_versions_describe_v4_incremental_v1(broker):
    name = create_topic(broker.bootstrap, unique("flex"))
    body = carray([name], lambda n: i8(TOPIC) + cstr(n) + carray(
        [("cleanup.policy", APPEND, "compact")], lambda o: cstr(o[0]) + i8(o[1]) + cstr(o[2])
        + TAGS) + TAGS) + i8(0) + TAGS
    with RawConn(broker.port) as c:
        r = c.flex_request(44, 1, body)
    r.i32()
    res = r.array(lambda r: (r.i16(), r.str(), r.i8(), r.str(), r.no_tags()))
    assert res[0][:2] == (0, None) and res[0][3] == name
    body = carray([name], lambda n: i8(TOPIC) + cstr(n) + carray(
        ["cleanup.policy"], cstr) + TAGS) + i8(1) + i8(1) + TAGS
    with RawConn(broker.port) as c:
        r = c.flex_request(32, 4, body)
    r.i32()

    def entry(r):
        e = (r.str(), r.str(), r.i8(), r.i8(), r.i8(),
             r.array(lambda r: (r.str(), r.str(), r.i8(), r.no_tags())), r.i8(), r.str())
        r.no_tags()
        return e

    res = r.array(lambda r: (r.i16(), r.str(), r.i8(), r.str(), r.array(entry), r.no_tags()))
    err, _msg, _t, rname, entries, _ = res[0]
    assert err == 0 and rname == name
    (ename, value, _ro, source, _sens, syns, ctype, doc) = entries[0]
    assert (ename, value, source, ctype) == ("cleanup.policy", "delete,compact", DYN_TOPIC, 7)
    assert syns[0][:3] == ("cleanup.policy", "delete,compact", DYN_TOPIC) and doc


def test_broker_configs_through_both_admin_clients(make_broker):
    from kafka.admin import ConfigResource, ConfigResourceType
    b = make_broker()
    name = create_topic(b.bootstrap, unique("bk"))
    a = ck_admin(b.bootstrap)
    ck_alter(a, "broker", "1", {"log.retention.bytes": "123456789"})
    cfg = ck_describe(a, "broker", "1")
    e = cfg["log.retention.bytes"]
    assert e.value == "123456789" and e.source == DYN_BROKER and not e.is_read_only
    assert cfg["log.dirs"].is_read_only
    assert ck_describe(a, "topic", name)["retention.bytes"].value == "123456789"
    kp = kp_admin(b.bootstrap)
    try:
        resp = kp.alter_configs([ConfigResource(ConfigResourceType.BROKER, "1",
                                                configs={"log.retention.bytes": "987654321"})])
        assert [r[0] for r in resp.resources] == [0], resp
        got = kp.describe_configs([ConfigResource(ConfigResourceType.BROKER, "1")])
        entries = {c[0]: c for r in got for res in r.resources for c in res[4]}
        assert entries["log.retention.bytes"][1] == "987654321"
        resp = kp.alter_configs([ConfigResource(ConfigResourceType.BROKER, "1",
                                                configs={"num.partitions": "9"})])
        assert resp.resources[0][0] == 42 and "num.partitions" in resp.resources[0][1]
    finally:
        kp.close()
    assert ck_describe(a, "topic", name)["retention.bytes"].value == "987654321"


def test_compaction_lags_must_be_ordered(broker):
    import confluent_kafka
    import confluent_kafka.admin as cka
    a = ck_admin(broker.bootstrap)
    bad = unique("lag")
    fs = a.create_topics([cka.NewTopic(bad, 1, 1, config={"min.compaction.lag.ms": "10",
                                                           "max.compaction.lag.ms": "5"})])
    with pytest.raises(confluent_kafka.KafkaException) as ei:
        fs[bad].result(10 * SLOW)
    assert ei.value.args[0].code() == confluent_kafka.KafkaError.INVALID_CONFIG
    name = create_topic(broker.bootstrap, unique("lag"), config={"max.compaction.lag.ms": "5"})
    with pytest.raises(confluent_kafka.KafkaException) as ei:
        ck_alter(a, "topic", name, {"max.compaction.lag.ms": "5", "min.compaction.lag.ms": "6"})
    assert "min.compaction.lag.ms" in ei.value.args[0].str()


def test_create_topics_v5_config_sources(make_broker):
    b = make_broker(sets={"log.retention.hours": "5"})
    with RawConn(b.port) as c:
        _err, apis = c.api_versions()
    if apis[19][1] < 5:
        pytest.skip("CreateTopics v5 not advertised yet (the ApiVersions work raises it)")
    name = unique("ct5")

    body = carray([name], lambda n: cstr(n) + i32(1) + i16(1) + carray([], None) + carray(
        [("segment.ms", "60000")], lambda kv: cstr(kv[0]) + cstr(kv[1]) + TAGS) +
        TAGS) + i32(10000) + i8(0) + TAGS
    with RawConn(b.port) as c:
        r = c.flex_request(19, 5, body)
    r.i32()

    def cfg(r):
        e = (r.str(), r.str(), r.i8(), r.i8(), r.i8())
        r.tags()
        return e

    def topic(r):
        t = (r.str(), r.i16(), r.str(), r.i32(), r.i16(), r.array(cfg))
        r.tags()
        return t

    (tname, err, _msg, nparts, _rf, configs), = r.array(topic)
    assert (tname, err, nparts) == (name, 0, 1)
    src = {c[0]: (c[1], c[3]) for c in configs}
    assert src["segment.ms"] == ("60000", DYN_TOPIC)
    assert src["retention.ms"] == (str(5 * 3600000), STATIC)
    assert src["cleanup.policy"] == ("delete", DEFAULT)
    assert set(src) == KAFKA_37_TOPIC_KEYS


def test_broker_compression_default_reaches_topics_at_once(make_broker):
    b = make_broker()
    name = create_topic(b.bootstrap, unique("bz"))
    with RawConn(b.port) as c:
        assert incremental_raw(c, BROKER, "", [("compression.type", SET, "gzip")]) == (0, None)
        err, _base = c.produce(name, 0, record_batch([(b"k", b"v")]))
        assert err == 0
        # An empty key list describes every key, as a null one does.
        err, _m, e = describe_raw(c, TOPIC, name, keys=[])
        assert err == 0 and set(e) == KAFKA_37_TOPIC_KEYS
        assert e["compression.type"]["value"] == "gzip"
        assert e["compression.type"]["source"] == DYN_DEFAULT
    assert _batch_codecs(b.port, name) == [1]


def test_altered_configs_survive_sigkill(make_broker):
    b = make_broker()
    name = create_topic(b.bootstrap, unique("kill"))
    with RawConn(b.port) as c:
        assert alter_raw(c, TOPIC, name, {"retention.ms": "4242", "segment.bytes": "65536"}) == (
            0, None)
        assert incremental_raw(c, BROKER, "1", [("log.cleaner.threads", SET, "2")]) == (0, None)
    b.kill()
    b.start()
    with RawConn(b.port) as c:
        _e, _m, e = describe_raw(c, TOPIC, name)
        assert e["retention.ms"]["value"] == "4242" and e["segment.bytes"]["value"] == "65536"
        _e, _m, e = describe_raw(c, BROKER, "1", keys=["log.cleaner.threads"])
        assert e["log.cleaner.threads"]["value"] == "2"
        assert e["log.cleaner.threads"]["source"] == DYN_BROKER
