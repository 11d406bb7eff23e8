"""ApiVersions negotiation and topic administration with all three clients and raw frames."""
import pytest

from conftest import (TAGS, FlexReader, RawConn, SLOW, ck_admin, ck_produce, create_topic, cstr,
                      kcat, kp_admin, kp_producer, unique, wait_until)


def ck_errcode(fut, timeout=10.0):
    """Waits on an admin future; returns the KafkaError code (0 on success)."""
    from confluent_kafka import KafkaException
    try:
        fut.result(timeout * SLOW)
        return 0
    except KafkaException as e:
        return e.args[0].code()


# ------------------------------------------------------------------------------ ApiVersions
def test_api_versions_v0_raw(broker):
    with RawConn(broker.port) as c:
        err, apis = c.api_versions(0)
    assert err == 0
    # protocol.md §1/T2/T3: these ranges are what the three clients need.
    assert apis[0][0] == 0 and apis[0][1] >= 7, "Produce range %r" % (apis.get(0),)
    assert apis[1][0] <= 4 and apis[1][1] >= 10, "Fetch range %r" % (apis.get(1),)
    assert apis[2][0] <= 1 and apis[2][1] >= 1, "ListOffsets range %r" % (apis.get(2),)
    assert apis[3][0] == 0 and apis[3][1] >= 4, "Metadata range %r" % (apis.get(3),)
    assert apis[18][0] == 0 and apis[18][1] >= 3, "ApiVersions range %r" % (apis.get(18),)
    for k in (19, 20, 32, 37):  # CreateTopics, DeleteTopics, DescribeConfigs, CreatePartitions
        assert k in apis, "API key %d not advertised" % k


# Apache Kafka 3.7's ranges (clients/src/main/resources/common/message/*Request.json) for every
# API Runnel serves: Produce and Fetch from 0 (legacy sets are converted); the other minimums
# stay at 0 (protocol.md §1: librdkafka enables features by overlap).
KAFKA_37 = {0: (0, 10), 1: (0, 16), 2: (0, 8), 21: (0, 2), 23: (0, 4), 32: (0, 4), 33: (0, 2),
            35: (0, 4), 44: (0, 1), 3: (0, 12), 8: (0, 9), 9: (0, 9), 10: (0, 4), 11: (0, 9),
            12: (0, 4), 13: (0, 5), 14: (0, 5), 15: (0, 5), 16: (0, 4), 18: (0, 3), 19: (0, 7),
            20: (0, 6), 22: (0, 4), 24: (0, 4), 25: (0, 3), 26: (0, 3), 27: (0, 1), 28: (0, 3),
            37: (0, 3), 42: (0, 2), 43: (0, 2), 45: (0, 0), 46: (0, 0), 47: (0, 0), 60: (0, 1)}


def test_api_versions_are_kafka_3_7(broker):
    with RawConn(broker.port) as c:
        _err, apis = c.api_versions(0)
        err3, apis3 = c.api_versions(2)
    assert err3 == 0 and apis3 == apis
    got = {k: apis.get(k) for k in KAFKA_37}
    assert got == KAFKA_37


def test_api_versions_v3_flexible_raw(broker):
    """librdkafka sends ApiVersions v3 (flexible request header v2 + tagged fields); the
    response uses header v0 and a compact array."""
    with RawConn(broker.port) as c:
        corr = c.send(18, 3, cstr("e2e") + cstr("1.0") + TAGS, flexible=True)
        rc, resp = c.recv()  # header v0: no tag buffer, even at v3
    assert rc == corr
    r = FlexReader(resp)
    assert r.i16() == 0
    # a compact array of api keys: 3 x i16 and a tag buffer each
    keys = [k for k, _lo, _hi, _t in r.array(lambda r: (r.i16(), r.i16(), r.i16(), r.tags()))]
    assert len(keys) >= 5
    assert 18 in keys and 0 in keys and 1 in keys


def test_kafka_python_infers_broker_2_4(broker):
    """Produce v8 in the range makes kafka-python's check_version infer 2.4 (2.5 would need
    DescribeAcls v2). Before issue 7 it inferred 2.3 (Fetch v11)."""
    p = kp_producer(broker.bootstrap)
    try:
        assert tuple(p.config["api_version"]) >= (2, 4), p.config["api_version"]
    finally:
        p.close()
    a = kp_admin(broker.bootstrap)
    try:
        assert tuple(a.config["api_version"]) >= (2, 4), a.config["api_version"]
        assert a._client.check_version() >= (2, 4)
    finally:
        a.close()


def test_librdkafka_negotiates_api_versions(broker, topic):
    """With api.version.request=true librdkafka must get a usable answer: zstd needs Produce v7
    and Fetch v10, which it only uses after a successful ApiVersions exchange."""
    msgs = ck_produce(broker.bootstrap, topic, [(b"k", b"zstd-needs-v7")],
                      **{"compression.type": "zstd", "api.version.request": True})
    assert msgs[0].offset() == 0


# ------------------------------------------------------------------------------ create/list/...
def test_create_list_describe_delete_confluent(broker):
    import confluent_kafka.admin as cka
    name = unique("adm")
    a = ck_admin(broker.bootstrap)
    fs = a.create_topics([cka.NewTopic(name, 4, 1, config={"retention.ms": "123456789",
                                                             "cleanup.policy": "delete"})],
                         operation_timeout=10)
    assert ck_errcode(fs[name]) == 0
    md = a.list_topics(timeout=5 * SLOW)
    assert name in md.topics
    t = md.topics[name]
    assert t.error is None
    assert sorted(t.partitions) == [0, 1, 2, 3]
    node_ids = set(md.brokers)
    assert len(node_ids) == 1
    for p in t.partitions.values():
        assert p.leader in node_ids
        assert p.replicas == [p.leader] and p.isrs == [p.leader]
    assert md.controller_id in node_ids
    b = md.brokers[p.leader]
    assert (b.host, b.port) == ("127.0.0.1", broker.port)

    res = cka.ConfigResource("topic", name)
    cfg = a.describe_configs([res])[res].result(10 * SLOW)
    assert cfg["retention.ms"].value == "123456789"
    assert cfg["cleanup.policy"].value == "delete"
    assert "segment.bytes" in cfg and int(cfg["segment.bytes"].value) > 0

    assert ck_errcode(a.delete_topics([name], operation_timeout=10)[name]) == 0
    wait_until(lambda: name not in a.list_topics(timeout=5 * SLOW).topics, what="topic gone")


def test_create_list_describe_delete_kafka_python(broker):
    from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
    name = unique("kpadm")
    a = kp_admin(broker.bootstrap)
    try:
        a.create_topics([NewTopic(name, 2, 1, topic_configs={"retention.bytes": "1048576"})],
                        timeout_ms=10000)
        assert name in a.list_topics()
        desc = {d["topic"]: d for d in a.describe_topics([name])}
        assert desc[name]["error_code"] == 0
        assert sorted(p["partition"] for p in desc[name]["partitions"]) == [0, 1]
        resp = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
        entries = {}
        for r in resp:
            for (err, _msg, _rtype, rname, configs) in r.resources:
                assert err == 0
                assert rname == name
                for c in configs:
                    entries[c[0]] = c[1]
        assert entries.get("retention.bytes") == "1048576", entries
        a.delete_topics([name], timeout_ms=10000)
        wait_until(lambda: name not in a.list_topics(), what="topic deleted")
    finally:
        a.close()


def test_topic_create_cli_visible_to_clients(broker):
    name = unique("cli")
    from conftest import runnel
    r = runnel("topic", "create", name, "--partitions", "3", "--config", "retention.ms=60000",
               "-b", broker.bootstrap)
    assert r.returncode == 0, r.stderr
    md = kcat("-b", broker.bootstrap, "-L", "-t", name, "-J")
    import json
    j = json.loads(md.stdout)
    ts = [t for t in j["topics"] if t["topic"] == name]
    assert ts and len(ts[0]["partitions"]) == 3


def test_duplicate_topic(broker):
    import confluent_kafka
    import confluent_kafka.admin as cka
    import kafka.errors
    from kafka.admin import NewTopic
    name = create_topic(broker.bootstrap, unique("dup"), 1)
    a = ck_admin(broker.bootstrap)
    fs = a.create_topics([cka.NewTopic(name, 1, 1)], operation_timeout=10)
    assert ck_errcode(fs[name]) == confluent_kafka.KafkaError.TOPIC_ALREADY_EXISTS
    kp = kp_admin(broker.bootstrap)
    try:
        with pytest.raises(kafka.errors.TopicAlreadyExistsError):
            kp.create_topics([NewTopic(name, 1, 1)], timeout_ms=10000)
    finally:
        kp.close()


@pytest.mark.parametrize("bad", ["bad name", "bad/name", "ü-topic", ".", "..", "x" * 250, ""])
def test_invalid_topic_name(broker, bad):
    import confluent_kafka
    import confluent_kafka.admin as cka
    a = ck_admin(broker.bootstrap)
    try:
        fs = a.create_topics([cka.NewTopic(bad, 1, 1)], operation_timeout=10)
    except (ValueError, confluent_kafka.KafkaException):
        pytest.skip("client rejects %r locally" % bad)
    assert ck_errcode(fs[bad]) == confluent_kafka.KafkaError.TOPIC_EXCEPTION
    assert bad not in a.list_topics(timeout=5 * SLOW).topics


def test_invalid_topic_name_kafka_python(broker):
    import kafka.errors
    from kafka.admin import NewTopic
    kp = kp_admin(broker.bootstrap)
    try:
        with pytest.raises(kafka.errors.InvalidTopicError):
            kp.create_topics([NewTopic("no spaces allowed", 1, 1)], timeout_ms=10000)
    finally:
        kp.close()


def test_replication_factor_3_rejected(broker):
    import confluent_kafka
    import confluent_kafka.admin as cka
    import kafka.errors
    from kafka.admin import NewTopic
    name = unique("rf3")
    a = ck_admin(broker.bootstrap)
    fs = a.create_topics([cka.NewTopic(name, 1, 3)], operation_timeout=10)
    assert ck_errcode(fs[name]) == confluent_kafka.KafkaError.INVALID_REPLICATION_FACTOR
    kp = kp_admin(broker.bootstrap)
    try:
        with pytest.raises(kafka.errors.InvalidReplicationFactorError):
            kp.create_topics([NewTopic(name, 1, 3)], timeout_ms=10000)
    finally:
        kp.close()
    assert name not in a.list_topics(timeout=5 * SLOW).topics


@pytest.mark.parametrize("cfg", [{"retention.ms": "not-a-number"},
                                 {"cleanup.policy": "shred"},
                                 {"no.such.topic.config": "1"},
                                 {"message.timestamp.type": "WallClock"}])
def test_invalid_topic_config(broker, cfg):
    import confluent_kafka
    import confluent_kafka.admin as cka
    name = unique("badcfg")
    a = ck_admin(broker.bootstrap)
    fs = a.create_topics([cka.NewTopic(name, 1, 1, config=cfg)], operation_timeout=10)
    assert ck_errcode(fs[name]) == confluent_kafka.KafkaError.INVALID_CONFIG
    assert name not in a.list_topics(timeout=5 * SLOW).topics


def test_invalid_partition_count(broker):
    import confluent_kafka
    import confluent_kafka.admin as cka
    name = unique("p0")
    a = ck_admin(broker.bootstrap)
    fs = a.create_topics([cka.NewTopic(name, 0, 1)], operation_timeout=10)
    assert ck_errcode(fs[name]) == confluent_kafka.KafkaError.INVALID_PARTITIONS


def test_create_partitions_grows_topic(broker):
    import confluent_kafka
    import confluent_kafka.admin as cka
    name = create_topic(broker.bootstrap, unique("grow"), 1)
    a = ck_admin(broker.bootstrap)
    fs = a.create_partitions([cka.NewPartitions(name, 3)], operation_timeout=10)
    assert ck_errcode(fs[name]) == 0
    wait_until(lambda: len(a.list_topics(name, timeout=5).topics[name].partitions) == 3,
               what="3 partitions")
    # the new partitions are usable
    msgs = ck_produce(broker.bootstrap, name, [(None, b"p%d" % p, None, None, p)
                                                for p in range(3)])
    assert [m.partition() for m in msgs] == [0, 1, 2]
    # shrinking is refused
    fs = a.create_partitions([cka.NewPartitions(name, 2)], operation_timeout=10)
    assert ck_errcode(fs[name]) == confluent_kafka.KafkaError.INVALID_PARTITIONS
    # kafka-python grows it further
    from kafka.admin import NewPartitions
    kp = kp_admin(broker.bootstrap)
    try:
        kp.create_partitions({name: NewPartitions(5)}, timeout_ms=10000)
    finally:
        kp.close()
    wait_until(lambda: len(a.list_topics(name, timeout=5).topics[name].partitions) == 5,
               what="5 partitions")


def test_delete_unknown_topic(broker):
    import confluent_kafka
    a = ck_admin(broker.bootstrap)
    name = unique("nosuch")
    assert (ck_errcode(a.delete_topics([name], operation_timeout=10)[name])
            == confluent_kafka.KafkaError.UNKNOWN_TOPIC_OR_PART)


def test_deleted_topic_data_is_gone(broker):
    """Delete then re-create with the same name: the new topic starts empty at offset 0."""
    import confluent_kafka.admin as cka
    name = create_topic(broker.bootstrap, unique("recreate"), 1)
    ck_produce(broker.bootstrap, name, [(None, b"old%d" % i) for i in range(5)])
    a = ck_admin(broker.bootstrap)
    assert ck_errcode(a.delete_topics([name], operation_timeout=10)[name]) == 0
    wait_until(lambda: name not in a.list_topics(timeout=5).topics, what="deleted")
    wait_until(lambda: not __import__("os").path.exists(broker.partition_dir(name, 0)),
               what="partition dir removed")
    assert ck_errcode(a.create_topics([cka.NewTopic(name, 1, 1)])[name]) == 0
    with RawConn(broker.port) as c:
        err, _ts, off = c.list_offsets(name, 0, -1)
    assert err == 0 and off == 0


# ------------------------------------------------------------------------------ auto-create
def test_auto_create_on_produce_uses_num_partitions(broker):
    name = unique("auto")
    msgs = ck_produce(broker.bootstrap, name, [(b"k", b"v")])
    assert msgs[0].error() is None
    a = ck_admin(broker.bootstrap)
    md = a.list_topics(name, timeout=5 * SLOW)
    assert len(md.topics[name].partitions) == 3  # session broker: num.partitions=3


def test_auto_create_kafka_python_producer(broker):
    name = unique("kpauto")
    p = kp_producer(broker.bootstrap)
    try:
        md = p.send(name, b"hello").get(timeout=10 * SLOW)
        assert md.topic == name and md.offset == 0
    finally:
        p.close()


def test_auto_create_via_metadata_v0(broker):
    """Kafka answers the Metadata request that creates a topic with LEADER_NOT_AVAILABLE and no
    partitions; the partitions come in the next request (clients retry on 5)."""
    name = unique("mdv0")
    with RawConn(broker.port) as c:
        _b, topics = c.metadata_v0([name])
        assert topics[name] == (5, []), topics[name]

        def ok():
            _b, topics = c.metadata_v0([name])
            err, parts = topics[name]
            return err == 0 and len(parts) == 3
        wait_until(ok, what="auto-created topic in Metadata v0")
        brokers, _ = c.metadata_v0([name])
        assert brokers and brokers[0][1] == "127.0.0.1" and brokers[0][2] == broker.port


def test_auto_create_kcat_producer(broker):
    name = unique("kcatauto")
    kcat("-b", broker.bootstrap, "-P", "-t", name, input=b"one\ntwo\n")
    out = kcat("-b", broker.bootstrap, "-C", "-t", name, "-e", "-f", "%s\n").stdout
    assert sorted(out.decode().split()) == ["one", "two"]


def test_auto_create_disabled(make_broker):
    import confluent_kafka
    b = make_broker({"auto.create.topics.enable": "false"})
    name = unique("noauto")
    with RawConn(b.port) as c:
        _b, topics = c.metadata_v0([name])
        assert topics[name][0] == 3  # UNKNOWN_TOPIC_OR_PARTITION
        _b, topics = c.metadata_v0([name])
        assert topics[name][0] == 3
    p = confluent_kafka.Producer({"bootstrap.servers": b.bootstrap,
                                  "message.timeout.ms": int(3000 * SLOW),
                                  "topic.metadata.propagation.max.ms": 500})
    errs = []
    p.produce(name, b"x", on_delivery=lambda e, m: errs.append(e))
    p.flush(10 * SLOW)
    assert len(errs) == 1 and errs[0] is not None
    assert errs[0].code() in (confluent_kafka.KafkaError.UNKNOWN_TOPIC_OR_PART,
                              confluent_kafka.KafkaError._UNKNOWN_TOPIC), errs[0]
    a = ck_admin(b.bootstrap)
    assert name not in a.list_topics(timeout=5).topics
    assert not __import__("os").path.exists(b.partition_dir(name, 0))
    # explicit creation still works
    create_topic(b.bootstrap, name, 1)


def test_metadata_null_vs_empty_topics(broker):
    """T4: Metadata v0 empty list = all topics; v1+ null = all, empty = none."""
    from conftest import i32, karray, kstr
    name = create_topic(broker.bootstrap, unique("mdnull"), 2)

    def v1(body):
        with RawConn(broker.port) as c:
            r = c.request(3, 1, body)
        brokers = r.array(lambda r: (r.i32(), r.str(), r.i32(), r.str()))
        controller = r.i32()
        topics = r.array(lambda r: (r.i16(), r.str(), r.i8(), r.array(
            lambda r: (r.i16(), r.i32(), r.i32(), r.array(lambda r: r.i32()),
                       r.array(lambda r: r.i32())))))
        return brokers, controller, {t[1]: t for t in topics}

    brokers, controller, topics = v1(i32(-1))
    assert name in topics and len(topics[name][3]) == 2
    assert controller == brokers[0][0]
    _b, _c, topics = v1(karray([], kstr))
    assert topics == {}
    _b, _c, topics = v1(karray([name], kstr))
    assert list(topics) == [name] and topics[name][0] == 0 and topics[name][2] == 0
    with RawConn(broker.port) as c:
        _b, topics = c.metadata_v0([])
    assert name in topics
