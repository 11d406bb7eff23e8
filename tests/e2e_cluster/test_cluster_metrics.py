"""Replication and controller metrics on each broker's /metrics in a cluster: one active
controller, leader counts that add up, ISR shrink/expand counters and under-replicated gauges
moving when a follower dies and returns, offline partitions counted by the controller only."""
from conftest import ck_admin, ck_produce, metric_value, unique, wait_until

URP = "kafka_server_replicamanager_underreplicatedpartitions"
LEADERS = "kafka_server_replicamanager_leadercount"
SHRINKS = "kafka_server_replicamanager_isrshrinks_total"
EXPANDS = "kafka_server_replicamanager_isrexpands_total"
ACTIVE = "kafka_controller_kafkacontroller_activecontrollercount"
OFFLINE = "kafka_controller_kafkacontroller_offlinepartitionscount"
UNDER_MIN = "kafka_server_replicamanager_underminisrpartitioncount"
MAXLAG = "kafka_server_replicafetchermanager_maxlag"


def m(b, name, labels=None):
    return metric_value(b.metrics(), name, labels)


def test_cluster_replication_metrics(make_cluster):
    # A long session and a short lag time: a paused follower stays registered, so it is the
    # leader that drops it from the ISR (a shrink, as Kafka counts it: the leader's own
    # AlterPartition; a controller removing a dead broker is not one) and takes it back.
    c = make_cluster(3, sets={"replica.lag.time.max.ms": 1500,
                              "broker.session.timeout.ms": 30000})
    t = c.create_topic(unique("met"), partitions=3, rf=3, config={"min.insync.replicas": "3"})
    ctl = c.controller()

    def one_controller():
        vals = {b.node_id: m(b, ACTIVE) for b in c.brokers}
        return vals if sorted(vals.values()) == [0, 0, 1] and vals[ctl] == 1 else None
    wait_until(one_controller, 30.0, interval=0.2, what="one active controller")

    def leaders_add_up():
        return sum(m(b, LEADERS) for b in c.brokers) >= 3
    wait_until(leaders_add_up, 30.0, interval=0.2, what="leader counts")
    for b in c.brokers:
        assert m(b, MAXLAG, {"clientId": "Replica"}) is not None
        assert m(b, URP) == 0 and m(b, UNDER_MIN) == 0

    lead = c.leader_of(t, 0)
    lb = c.broker(lead)
    victim = next(i for i in (1, 2, 3) if i != lead)
    shrinks0, expands0 = m(lb, SHRINKS), m(lb, EXPANDS)
    c.broker(victim).pause()
    try:
        ck_produce(lb.address, t, [(b"k", b"v%d" % i, None, None, 0) for i in range(20)],
                   acks=1)
        c.wait_for_isr(t, 0, 2, timeout=30.0)
        wait_until(lambda: m(lb, SHRINKS) > shrinks0 and m(lb, URP) >= 1
                   and m(lb, UNDER_MIN) >= 1, 30.0, interval=0.2,
                   what="shrink counted, partition under-replicated and under min ISR")
    finally:
        c.broker(victim).resume()
    c.wait_for_isr(t, 0, 3, timeout=60.0)
    wait_until(lambda: m(lb, URP) == 0 and m(lb, EXPANDS) > expands0, 30.0, interval=0.2,
               what="expand counted, nothing under-replicated")


def test_offline_partitions_counted_by_the_controller_only(make_cluster):
    import confluent_kafka.admin as cka
    c = make_cluster(3)
    ctl = c.controller()
    only = next(i for i in (1, 2, 3) if i != ctl)
    t = unique("off")
    admin = ck_admin(c.bootstrap)  # kept: a destroyed handle fails its futures
    fs = admin.create_topics([cka.NewTopic(t, 1, replica_assignment=[[only]])])
    fs[t].result(30)
    c.wait_for_isr(t, 0, 1)
    c.broker(only).kill()
    wait_until(lambda: m(c.broker(ctl), OFFLINE) >= 1, 30.0, interval=0.2,
               what="offline partition on the controller")
    other = next(i for i in (1, 2, 3) if i not in (ctl, only))
    assert m(c.broker(other), OFFLINE) == 0
    c.broker(only).start()
    wait_until(lambda: m(c.broker(c.controller()), OFFLINE) == 0, 60.0, interval=0.2,
               what="no offline partition after the restart")
