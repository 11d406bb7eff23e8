"""The cluster glue end to end (broker/cluster.c, topics_cluster.c, Metadata): 1 etcd + 3 real
brokers; topics created through real admin clients on any broker appear on every broker with
their placement, take writes and reads, grow and go away everywhere; a duplicate node.id is
refused."""
import os
import subprocess

import pytest

from conftest import (SLOW, ClusterBroker, Etcd, RawConn, ck_admin, ck_consume, ck_produce, kp_admin,
                      metadata_v7, unique, wait_until)


def md_on(broker, topics):
    with RawConn(broker.fixed_port) as c:
        return metadata_v7(c, topics)


def test_three_brokers_metadata(cluster):
    md = cluster.metadata([])
    assert sorted(md.brokers) == [1, 2, 3]
    for nid, b in ((b.node_id, b) for b in cluster.brokers):
        assert md.brokers[nid][0] == "127.0.0.1" and md.brokers[nid][1] == b.fixed_port
    assert md.controller in (1, 2, 3)
    # Every broker names the same controller and the same brokers.
    for b in cluster.brokers:
        m = md_on(b, [])
        assert sorted(m.brokers) == [1, 2, 3] and m.controller == md.controller
        assert m.cluster_id == md.cluster_id
    t = cluster.create_topic(unique("basic"), partitions=3, rf=3)
    md = cluster.metadata([t])
    err, parts = md.topics[t]
    assert err == 0 and sorted(parts) == [0, 1, 2]
    assert sorted(parts[p]["leader"] for p in parts) == [1, 2, 3]  # one leader each
    for p in parts.values():
        assert sorted(p["replicas"]) == [1, 2, 3]
        assert sorted(p["isr"]) == [1, 2, 3]
        assert p["offline"] == [] and p["leader_epoch"] >= 0
        assert p["replicas"][0] == p["leader"]  # the preferred leader leads


def test_kafka_python_create_visible_everywhere(cluster):
    from kafka.admin import NewTopic
    t = unique("kp")
    a = kp_admin(cluster.bootstrap)
    try:
        a.create_topics([NewTopic(t, 2, 3)])
    finally:
        a.close()
    for b in cluster.brokers:
        def ok(b=b):
            m = md_on(b, [t])
            err, parts = m.topics.get(t, (None, {}))
            return m if err == 0 and len(parts) == 2 else None
        m = wait_until(ok, 20.0, what="topic on broker %d" % b.node_id)
        for p in m.topics[t][1].values():
            assert sorted(p["replicas"]) == [1, 2, 3]
    # Each broker holds a log for every partition: all three replicate everything.
    for b in cluster.brokers:
        for p in (0, 1):
            assert os.path.isdir(os.path.join(b.data_dir, "%s-%d" % (t, p)))


def test_created_topic_is_in_the_answering_brokers_table(cluster):
    """CreateTopics answers once the answering broker has the topic: Metadata right after it,
    on the same broker, lists it (no UNKNOWN_TOPIC window). Raw, to each broker in turn: admin
    clients send CreateTopics to the controller."""
    for b in cluster.brokers:
        t = unique("now")
        assert create_topics_v4(b.fixed_port, t, 2, 3) == (0, None)
        err, parts = md_on(b, [t]).topics[t]
        assert err == 0 and len(parts) == 2


def test_produce_and_consume_back(cluster):
    t = cluster.create_topic(unique("pc"), partitions=3, rf=3)
    recs = [(b"k%d" % i, b"v%d" % i, None, None, i % 3) for i in range(60)]
    ck_produce(cluster.bootstrap, t, recs, acks="all")
    got = ck_consume(cluster.bootstrap, t, [0, 1, 2], 60, timeout=30.0)
    assert sorted(m.value() for m in got) == sorted(r[1] for r in recs)


def test_rf_above_live_brokers_refused(cluster):
    import confluent_kafka.admin as cka
    from confluent_kafka import KafkaException
    a = ck_admin(cluster.bootstrap)
    t = unique("rf4")
    with pytest.raises(KafkaException) as ei:
        a.create_topics([cka.NewTopic(t, 1, 4)])[t].result(20 * SLOW)
    err = ei.value.args[0]
    assert err.code() == 38  # INVALID_REPLICATION_FACTOR
    assert "only 3 broker(s) are registered" in err.str()


def test_manual_assignment(cluster):
    import confluent_kafka.admin as cka
    from confluent_kafka import KafkaException
    a = ck_admin(cluster.bootstrap)
    t = unique("man")
    a.create_topics([cka.NewTopic(t, 2, replica_assignment=[[3, 1], [2, 3]])])[t].result(20 * SLOW)
    def ok():
        st = cluster.partition(t, 1)
        return st if st and st["leader"] == 2 else None
    wait_until(ok, 20.0, what="assigned leader")
    assert cluster.partition(t, 0)["replicas"] == [3, 1]
    assert cluster.partition(t, 1)["replicas"] == [2, 3]
    assert not os.path.isdir(os.path.join(cluster.broker(2).data_dir, "%s-0" % t))
    bad = unique("man")
    with pytest.raises(KafkaException) as ei:
        a.create_topics([cka.NewTopic(bad, 1, replica_assignment=[[1, 7]])])[bad].result(20 * SLOW)
    assert ei.value.args[0].code() == 39  # INVALID_REPLICA_ASSIGNMENT
    assert "includes broker 7, but no such broker is registered" in ei.value.args[0].str()


def test_create_partitions_placed(cluster):
    import confluent_kafka.admin as cka
    t = cluster.create_topic(unique("grow"), partitions=1, rf=3)
    a = ck_admin(cluster.bootstrap)
    a.create_partitions([cka.NewPartitions(t, 4)])[t].result(20 * SLOW)
    for b in cluster.brokers:
        def ok(b=b):
            err, parts = md_on(b, [t]).topics.get(t, (None, {}))
            return err == 0 and len(parts) == 4
        wait_until(ok, 20.0, what="4 partitions on broker %d" % b.node_id)
    for p in range(4):
        st = cluster.wait_for_isr(t, p, 3)
        assert sorted(st["replicas"]) == [1, 2, 3]


def test_delete_everywhere(cluster):
    t = cluster.create_topic(unique("del"), partitions=2, rf=3)
    a = kp_admin("127.0.0.1:%d" % cluster.broker(3).fixed_port)
    try:
        a.delete_topics([t])
    finally:
        a.close()
    for b in cluster.brokers:
        def gone(b=b):
            err, _ = md_on(b, [t]).topics.get(t, (None, {}))
            return err == 3  # UNKNOWN_TOPIC_OR_PARTITION
        wait_until(gone, 20.0, what="topic gone on broker %d" % b.node_id)
        wait_until(lambda b=b: not any(d.startswith(t + "-") for d in os.listdir(b.data_dir)),
                   20.0, what="partition dirs gone on broker %d" % b.node_id)
    # The name is free again, everywhere.
    cluster.create_topic(t, partitions=1, rf=3)


def test_duplicate_node_id_refused(cluster, tmp_path):
    dup = ClusterBroker(cluster, 2, str(tmp_path / "dup"), {"broker.session.timeout.ms": 2000})
    os.makedirs(dup.data_dir, exist_ok=True)
    p = subprocess.run(dup.argv(), stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=60 * SLOW)
    err = p.stderr.decode() + p.stdout.decode()
    assert p.returncode != 0
    assert "node.id 2 is already used by a live broker" in err
    # The live broker 2 is untouched.
    assert sorted(cluster.metadata([]).brokers) == [1, 2, 3]


def test_wildcard_advertised_host_refused(cluster, tmp_path):
    b = ClusterBroker(cluster, 9, str(tmp_path / "wild"), {})
    # Bound on 127.0.0.1 as always; only the advertised address is the wildcard.
    b.sets["advertised.listeners"] = "PLAINTEXT://0.0.0.0:%d" % b.fixed_port
    os.makedirs(b.data_dir, exist_ok=True)
    p = subprocess.run(b.argv(), stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=60 * SLOW)
    assert p.returncode != 0
    assert "advertised host must be an address" in (p.stderr + p.stdout).decode()


def describe_cluster(port):
    from conftest import TAGS, i8
    with RawConn(port) as c:
        r = c.flex_request(60, 1, i8(0) + i8(1) + TAGS)
        out = dict(throttle=r.i32(), err=r.i16(), msg=r.str(), etype=r.i8(), cluster=r.str(),
                   controller=r.i32(),
                   brokers=r.array(lambda r: (r.i32(), r.str(), r.i32(), r.str(), r.tags())))
        return out


def test_describe_cluster(cluster):
    md = cluster.metadata([])
    for b in cluster.brokers:
        d = describe_cluster(b.fixed_port)
        assert d["err"] == 0 and d["cluster"] == md.cluster_id
        assert d["controller"] == md.controller
        assert [(x[0], x[1], x[2]) for x in d["brokers"]] == \
            [(x.node_id, "127.0.0.1", x.fixed_port) for x in cluster.brokers]


def describe_configs_v0(port, rtype, name, keys):
    """DescribeConfigs v0 on one broker -> (error, {key: value})."""
    from conftest import i8, karray, kstr
    with RawConn(port) as c:
        body = karray([(rtype, name, keys)],
                      lambda x: i8(x[0]) + kstr(x[1]) + karray(x[2], kstr))
        r = c.request(32, 0, body)
        r.i32()
        res = r.array(lambda r: (r.i16(), r.str(), r.i8(), r.str(), r.array(
            lambda r: (r.str(), r.str(), r.i8(), r.i8(), r.i8()))))
        err, _msg, _t, _n, cfgs = res[0]
        return err, {k: v for k, v, _ro, _d, _s in cfgs or []}


def test_topic_config_change_reaches_every_broker(cluster):
    import confluent_kafka.admin as cka
    t = cluster.create_topic(unique("cfg"), partitions=1, rf=3)
    a = ck_admin("127.0.0.1:%d" % cluster.broker(1).fixed_port)
    res = cka.ConfigResource(cka.ConfigResource.Type.TOPIC, t, set_config={"retention.ms": "4321"})
    a.alter_configs([res])[res].result(20 * SLOW)
    for b in cluster.brokers:
        wait_until(lambda b=b: describe_configs_v0(b.fixed_port, 2, t, ["retention.ms"]) ==
                   (0, {"retention.ms": "4321"}), 20.0, what="retention.ms on %d" % b.node_id)


def test_broker_config_change_reaches_every_broker(cluster):
    """The cluster-wide default (broker resource "") altered through broker 1 (AlterConfigs
    v0, raw: the clients refuse an empty broker name) is in force on every broker."""
    from conftest import i8, karray, kstr
    with RawConn(cluster.broker(1).fixed_port) as c:
        body = karray([(4, "", [("log.retention.ms", "7654321")])],
                      lambda x: i8(x[0]) + kstr(x[1]) +
                      karray(x[2], lambda kv: kstr(kv[0]) + kstr(kv[1]))) + i8(0)
        r = c.request(33, 0, body)
        r.i32()
        assert r.array(lambda r: (r.i16(), r.str(), r.i8(), r.str()))[0][0] == 0
    for b in cluster.brokers:
        wait_until(lambda b=b: describe_configs_v0(b.fixed_port, 4, str(b.node_id),
                                                   ["log.retention.ms"]) ==
                   (0, {"log.retention.ms": "7654321"}), 20.0,
                   what="log.retention.ms on %d" % b.node_id)
    # Another broker's id is that broker's to answer, as in Kafka.
    err, _ = describe_configs_v0(cluster.broker(1).fixed_port, 4, "2", ["log.retention.ms"])
    assert err == 42  # INVALID_REQUEST


def test_controlled_shutdown_and_restart(cluster):
    t = cluster.create_topic(unique("cs"), partitions=3, rf=3)
    recs = [(b"k%d" % i, b"v%d" % i, None, None, i % 3) for i in range(30)]
    ck_produce(cluster.bootstrap, t, recs, acks="all")
    b2 = cluster.broker(2)
    assert b2.stop() == 0
    assert "controlled shutdown: leaderships moved" in b2.stderr()
    md = cluster.metadata([t])
    assert sorted(md.brokers) == [1, 3]  # unregistered at once, not after the session
    for p in md.topics[t][1].values():
        assert p["leader"] in (1, 3) and p["error"] == 0
    b2.start()
    assert "topic %s: 3 partition(s), 3 replicated here" % t in b2.stderr()
    for p in range(3):
        cluster.wait_for_isr(t, p, 3)
    got = ck_consume(cluster.bootstrap, t, [0, 1, 2], 30, timeout=30.0)
    assert sorted(m.value() for m in got) == sorted(r[1] for r in recs)


def test_auto_create_uses_default_replication_factor(make_cluster):
    c = make_cluster(3, sets={"default.replication.factor": 2})
    t = unique("auto")
    ck_produce(c.bootstrap, t, [(b"k", b"v", None, None, None)], acks="all")
    st = c.wait_for_isr(t, 0, 2)
    assert len(st["replicas"]) == 2


def read_all(cluster, t, n, timeout=30.0):
    return sorted(m.value() for m in ck_consume(cluster.bootstrap, t, [0], n, timeout=timeout))


def test_stray_log_left_then_replaced_by_a_new_namesake(cluster):
    """A topic deleted while broker 3 is down: broker 3 keeps its directory and says so; the
    topic created again later starts empty on broker 3 too."""
    t = cluster.create_topic(unique("stray"), partitions=1, rf=3)
    ck_produce(cluster.bootstrap, t, [(b"k", b"old%d" % i, None, None, 0) for i in range(5)],
               acks="all")
    b3 = cluster.broker(3)
    assert b3.stop() == 0
    a = kp_admin("127.0.0.1:%d" % cluster.broker(1).fixed_port)
    try:
        a.delete_topics([t])
    finally:
        a.close()
    wait_until(lambda: cluster.metadata([t]).topics[t][0] == 3, 20.0, what="deleted")
    b3.start()
    assert "partition directory %s-0 holds data for a partition the cluster does not place" \
        % t in b3.stderr()
    assert os.path.isdir(os.path.join(b3.data_dir, "%s-0" % t))
    cluster.create_topic(t, partitions=1, rf=3)
    # Broker 3 applies the new topic from its watch, a moment after the create returned.
    wait_until(lambda: "partition %s-0: removed a stale log left by an older topic" % t
               in b3.stderr(), 20.0, what="broker 3 replacing the stale log")
    ck_produce(cluster.bootstrap, t, [(b"k", b"new", None, None, 0)], acks="all")
    assert read_all(cluster, t, 1) == [b"new"]


def test_recreated_while_down_is_told_by_topic_id(make_cluster):
    """Broker 3 SIGKILLed; within its (long) session the topic is deleted and created again
    with broker 3 among its replicas. Back, broker 3 finds its directory's partition.metadata
    naming the old topic id and drops the old data instead of serving it."""
    c = make_cluster(3, sets={"broker.session.timeout.ms": 15000})
    t = c.create_topic(unique("tid"), partitions=1, rf=3)
    ck_produce(c.bootstrap, t, [(b"k", b"old%d" % i, None, None, 0) for i in range(5)],
               acks="all")
    b3 = c.broker(3)
    b3.kill()
    import confluent_kafka.admin as cka
    a = ck_admin("127.0.0.1:%d" % c.broker(1).fixed_port)
    a.delete_topics([t])[t].result(20 * SLOW)
    wait_until(lambda: c.metadata([t]).topics[t][0] == 3, 20.0, what="deleted")
    # Broker 3's lease still holds: it may be named (leader 1, so writes go on meanwhile).
    a.create_topics([cka.NewTopic(t, 1, replica_assignment=[[1, 2, 3]])])[t].result(20 * SLOW)
    ck_produce(c.bootstrap, t, [(b"k", b"new", None, None, 0)], acks=1)
    b3.start(timeout=60.0)  # waits out its old session first
    assert "partition %s-0: the log on disk belongs to an older topic" % t in b3.stderr()
    c.wait_for_isr(t, 0, 3, timeout=60.0)
    assert read_all(c, t, 1) == [b"new"]
    with open(os.path.join(b3.data_dir, "%s-0" % t, "partition.metadata")) as f:
        assert f.read().startswith("version: 0\ntopic_id: ")


def create_topics_v4(port, name, partitions, rf, timeout=60.0):
    """Raw CreateTopics v4 -> (error code, message) of the one topic."""
    from conftest import i8, i16, i32, karray, kstr
    with RawConn(port, timeout=timeout * SLOW) as c:
        body = karray([name], lambda n: kstr(n) + i32(partitions) + i16(rf) + karray([], None) +
                      karray([], None)) + i32(30000) + i8(0)
        r = c.request(19, 4, body)
        r.i32()
        return r.array(lambda r: (r.str(), r.i16(), r.str()))[0][1:]


def test_store_unavailable_is_retriable(cluster):
    """etcd gone: a topic creation answers REQUEST_TIMED_OUT (retriable), the brokers stay up;
    etcd back: the same creation works."""
    cluster.etcd.kill(0)
    t = unique("noetcd")
    err, msg = create_topics_v4(cluster.broker(1).fixed_port, t, 1, 1)
    assert err == 7, msg  # REQUEST_TIMED_OUT
    assert all(b.alive() for b in cluster.brokers)
    cluster.etcd.restart(0)
    cluster.etcd.wait_healthy()
    def created():
        e, _ = create_topics_v4(cluster.broker(1).fixed_port, t, 1, 1)
        return e in (0, 36)  # 36: an earlier try went through after all
    wait_until(created, 60.0, interval=1.0, what="creation with etcd back")
    cluster.wait_brokers(3, timeout=60.0)


def test_metadata_auto_creates_internal_topic_as_its_coordinator(cluster):
    """Metadata asking to auto-create __consumer_offsets gets it made as the group coordinator
    makes it (compacted, offsets.topic.num.partitions), not as an ordinary topic."""
    from conftest import i8, karray, kstr
    with RawConn(cluster.broker(1).fixed_port) as c:
        c.request(3, 7, karray(["__consumer_offsets"], kstr) + i8(1))
    def made():
        err, parts = cluster.metadata(["__consumer_offsets"]).topics["__consumer_offsets"]
        return parts if err == 0 and parts else None
    parts = wait_until(made, 30.0, what="__consumer_offsets")
    assert len(parts) == 50  # offsets.topic.num.partitions
    wait_until(lambda: describe_configs_v0(cluster.broker(2).fixed_port, 2, "__consumer_offsets",
                                           ["cleanup.policy"]) ==
               (0, {"cleanup.policy": "compact"}), 30.0, what="compacted on broker 2")


def test_reassignment_moves_the_log(cluster):
    """A partition moved from brokers [1, 2] to [2, 3]: broker 3 opens a log and copies the data,
    broker 1 detaches and deletes its log once the move is done; the data is all there."""
    import confluent_kafka.admin as cka
    from conftest import runnel
    t = unique("move")
    a = ck_admin(cluster.bootstrap)
    a.create_topics([cka.NewTopic(t, 1, replica_assignment=[[1, 2]])])[t].result(20 * SLOW)
    cluster.wait_for_isr(t, 0, 2)
    recs = [(b"k", b"v%d" % i, None, None, 0) for i in range(20)]
    ck_produce(cluster.bootstrap, t, recs, acks="all")
    d1 = os.path.join(cluster.broker(1).data_dir, "%s-0" % t)
    d3 = os.path.join(cluster.broker(3).data_dir, "%s-0" % t)
    assert os.path.isdir(d1) and not os.path.isdir(d3)
    r = runnel("topic", "reassign", t, "--partition", "0", "--replicas", "2,3",
               "-b", cluster.bootstrap)
    assert r.returncode == 0, r.stderr
    def moved():
        st = cluster.partition(t, 0)
        return st if st and sorted(st["replicas"]) == [2, 3] and \
            sorted(st["isr"]) == [2, 3] else None
    wait_until(moved, 60.0, what="move done")
    wait_until(lambda: not os.path.isdir(d1), 30.0, what="broker 1's log deleted")
    assert os.path.isdir(d3)
    assert "partition %s-0: this broker is now a replica" % t in cluster.broker(3).stderr()
    assert "partition %s-0: this broker is no longer a replica" % t in \
        cluster.broker(1).stderr()
    got = ck_consume(cluster.bootstrap, t, [0], 20, timeout=30.0)
    assert [m.value() for m in got] == [r[1] for r in recs]


def metadata_v0(port, topics):
    from conftest import karray, kstr
    with RawConn(port) as c:
        r = c.request(3, 0, karray(topics, kstr))
        brokers = r.array(lambda r: (r.i32(), r.str(), r.i32()))
        out = {}
        for err, name, parts in r.array(lambda r: (r.i16(), r.str(), r.array(
                lambda r: (r.i16(), r.i32(), r.i32(), r.array(lambda r: r.i32()),
                           r.array(lambda r: r.i32()))))):
            out[name] = (err, {p[1]: p for p in parts})
        return brokers, out


def test_dead_replica_offline_and_v0_filtered(cluster):
    """A replica on a stopped broker: Metadata v7 names it offline (no error, the leader is
    live); v0 leaves it out of replicas and says REPLICA_NOT_AVAILABLE, as Kafka does."""
    import confluent_kafka.admin as cka
    t = unique("off")
    a = ck_admin(cluster.bootstrap)
    a.create_topics([cka.NewTopic(t, 1, replica_assignment=[[1, 2, 3]])])[t].result(20 * SLOW)
    cluster.wait_for_isr(t, 0, 3)
    assert cluster.broker(3).stop() == 0
    def offline():
        st = cluster.partition(t, 0)
        return st if st and st["offline"] == [3] else None
    st = wait_until(offline, 20.0, what="replica 3 offline")
    assert st["error"] == 0 and st["leader"] == 1 and st["replicas"] == [1, 2, 3]
    brokers, topics = metadata_v0(cluster.broker(1).fixed_port, [t])
    assert sorted(b[0] for b in brokers) == [1, 2]
    err, idx, leader, replicas, isr = topics[t][1][0]
    assert (err, leader, replicas) == (9, 1, [1, 2])
    assert 3 not in isr
    cluster.broker(3).start()


def test_taken_port_refused_before_registering(cluster, tmp_path):
    b = ClusterBroker(cluster, 9, str(tmp_path / "taken"), {})
    b.sets["listeners"] = "PLAINTEXT://127.0.0.1:%d" % cluster.broker(1).fixed_port
    os.makedirs(b.data_dir, exist_ok=True)
    p = subprocess.run(b.argv(), stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=60 * SLOW)
    err = (p.stderr + p.stdout).decode()
    assert p.returncode != 0 and "cannot listen on 127.0.0.1" in err
    assert "registered as" not in err  # the cluster never saw a broker 9
    assert sorted(cluster.metadata([]).brokers) == [1, 2, 3]


def test_starting_broker_waits_for_etcd(make_cluster, tmp_path):
    """etcd that is not up yet (a machine booting with its cluster, a loaded one) is waited for
    up to initial.broker.registration.timeout.ms, as Kafka's broker waits for its controllers,
    instead of the broker exiting at once."""
    import threading
    import time
    late = Etcd(tmp_path / "late-etcd", 1)
    c = make_cluster(1, etcd=late, start=False)
    b = c.broker(1)
    starter = threading.Thread(target=lambda: (time.sleep(3.0), late.start()))
    starter.start()
    try:
        b.start(timeout=60.0)
    finally:
        starter.join()
    try:
        assert "etcd does not answer; retrying" in b.stderr()
        assert "broker 1 registered as" in b.stderr()
        c.wait_brokers(1)
        c.stop()
    finally:
        late.stop()
