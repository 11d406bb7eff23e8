"""Brokers of a cluster whose only listener is SASL_PLAINTEXT authenticate to each other (the
replica fetcher, the controller and coordinators connect through replica/peer.c with the login
of the listener's JAAS config): an RF=2 topic with min.insync.replicas=2 accepts acks=all
writes only if the follower's fetcher got in."""
import confluent_kafka
from confluent_kafka.admin import NewTopic

from conftest import SLOW, ck_admin, ck_consume, ck_produce, unique, wait_until

JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
        'username="broker" password="broker-secret" '
        'user_broker="broker-secret" user_alice="alice-secret";')
CONF = {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN",
        "sasl.username": "alice", "sasl.password": "alice-secret"}


def test_sasl_only_cluster_replicates(make_cluster):
    c = make_cluster(n=2, start=False, sets={
        "listener.security.protocol.map": "SASL_PLAINTEXT:SASL_PLAINTEXT",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS,
        "sasl.mechanism.inter.broker.protocol": "PLAIN",
        "min.insync.replicas": 2})
    for b in c.brokers:
        b.sets["listeners"] = "SASL_PLAINTEXT://%s:%d" % (b.host, b.fixed_port)
    c.start(wait=False)
    a = ck_admin(c.bootstrap, **CONF)
    wait_until(lambda: len(a.list_topics(timeout=5 * SLOW).brokers) == 2, timeout=30,
               what="both brokers in Metadata")
    t = unique("sasl-rf2")
    a.create_topics([NewTopic(t, 1, 2)])[t].result(timeout=30 * SLOW)

    def isr_full():
        md = a.list_topics(t, timeout=5 * SLOW).topics[t]
        return md.error is None and 0 in md.partitions and len(md.partitions[0].isrs) == 2
    wait_until(isr_full, timeout=30, what="ISR of 2")
    ck_produce(c.bootstrap, t, [(None, b"r%d" % i) for i in range(5)], acks="all", **CONF)
    got = ck_consume(c.bootstrap, t, [0], 5, **CONF)
    assert [m.value() for m in got] == [b"r%d" % i for i in range(5)]
    for b in c.brokers:
        assert "inter-broker connections authenticate with PLAIN as broker" in b.stderr()
        assert "peer" not in "".join(l for l in b.stderr().splitlines()
                                     if "SASL authentication failed" in l)
    assert confluent_kafka  # the client library the conf above is for
