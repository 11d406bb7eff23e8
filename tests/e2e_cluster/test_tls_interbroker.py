"""Inter-broker TLS: brokers whose inter-broker listener is SSL register that listener's
address, and followers fetch from leaders over TLS (replica/peer.c with rn_tls_client_wrap,
the broker's own certificate as the client identity, the leader requiring client
certificates). The test harness keeps a PLAINTEXT listener for its raw Metadata checks.

Certificates come from tests/e2e_security/conftest.py's Certs (openssl CLI)."""
import importlib.util
import os
import sys

import pytest

from conftest import SLOW, RawConn, ck_admin, record_batch, unique, wait_until

_SEC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    "e2e_security", "conftest.py")


def _certs_class():
    spec = importlib.util.spec_from_file_location("sec_conftest_for_cluster", _SEC)
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("sec_conftest_for_cluster", mod)
    spec.loader.exec_module(mod)
    return mod.Certs


def produce_acks_all(port, topic, value, timeout_ms=15000):
    body = RawConn.produce_body(topic, 0, record_batch([(None, value)]), -1, timeout_ms)
    with RawConn(port, timeout=timeout_ms / 1000.0 + 10) as c:
        r = c.request(0, 3, body)
        res = r.array(lambda r: (r.str(), r.array(
            lambda r: (r.i32(), r.i16(), r.i64(), r.i64()))))
    return res[0][1][0][1]


def produce_when_served(port, topic, value, timeout=30.0):
    """produce_acks_all once the leader's own topic table has the topic: Metadata shows the
    stored state, which reaches the leader's table a moment later (slow under ASan).
    UNKNOWN_TOPIC_OR_PARTITION (3) and NOT_LEADER_OR_FOLLOWER (6) appended nothing."""
    import time
    deadline = time.monotonic() + timeout * SLOW
    while True:
        err = produce_acks_all(port, topic, value)
        if err not in (3, 6) or time.monotonic() > deadline:
            return err
        time.sleep(0.1)


def log_content(broker, topic):
    d = broker.partition_dir(topic, 0)
    out = b""
    for f in sorted(os.listdir(d)):
        if f.endswith(".log"):
            with open(os.path.join(d, f), "rb") as fh:
                out += fh.read()
    return out


JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" '
        'password="admin-secret" user_admin="admin-secret";')


@pytest.mark.parametrize("proto", ["SSL", "SASL_SSL"])
def test_followers_replicate_over_tls(make_cluster, tmp_path, proto):
    """SASL_SSL: the sasl slice's inter-broker login runs inside this TLS connection."""
    certs = _certs_class()(tmp_path / "certs")
    c = make_cluster(n=2, start=False)
    from conftest import free_port
    internal = {}
    for b in c.brokers:
        internal[b.node_id] = free_port()
        b.sets.update({
            "listeners": "PLAINTEXT://127.0.0.1:%d,INTERNAL://127.0.0.1:%d" % (
                b.fixed_port, internal[b.node_id]),
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,INTERNAL:" + proto,
            "inter.broker.listener.name": "INTERNAL",
            "listener.name.internal.ssl.client.auth": "required",
            "log.level": "debug",
        })
        if proto == "SASL_SSL":
            b.sets.update({"listener.name.internal.plain.sasl.jaas.config": JAAS,
                           "sasl.mechanism.inter.broker.protocol": "PLAIN"})
        b.sets.update(certs.server_sets("listener.name.internal."))
    c.start(wait=False)
    c.wait_brokers(2)
    md = c.metadata([])
    # Registered: the inter-broker listener's address.
    assert {n: md.brokers[n][1] for n in md.brokers} == internal
    ssl_boot = ",".join("127.0.0.1:%d" % p for p in internal.values())
    import confluent_kafka.admin as cka
    t = unique("itls")
    conf = certs.client_conf("admin")
    if proto == "SASL_SSL":
        conf.update({"security.protocol": "SASL_SSL", "sasl.mechanisms": "PLAIN",
                     "sasl.username": "admin", "sasl.password": "admin-secret"})
    a = ck_admin(ssl_boot, **conf)
    a.create_topics([cka.NewTopic(t, 1, 2, config={"min.insync.replicas": "2"})],
                    operation_timeout=30)[t].result(30 * SLOW)
    st = c.wait_for_isr(t, 0, 2)
    leader = c.broker(st["leader"])
    follower = c.broker([n for n in (1, 2) if n != st["leader"]][0])
    value = b"over-tls-" + os.urandom(8).hex().encode()
    assert produce_when_served(leader.fixed_port, t, value) == 0
    wait_until(lambda: value in log_content(follower, t), timeout=20,
               what="the follower's copy")
    if proto == "SSL":
        # The leader saw the follower's TLS client certificate (the server's, CN=localhost).
        assert "TLS client User:CN=localhost" in leader.stderr()
    else:
        assert "inter-broker connections authenticate with PLAIN as admin" in follower.stderr()
        assert "failed authentication" not in leader.stderr()
    for b in c.brokers:
        assert "handshake failed" not in b.stderr(), b.stderr()[-3000:]
