"""Live certificate rotation on a TLS listener: a Kubernetes-style secret update (the ..data
symlink swapped to a new directory) and Kafka's dynamic listener configs (AlterConfigs on
listener.name.ssl.ssl.keystore.*). New connections get the new certificate, connections
already open keep working, a broken new file is reported and the old certificate kept."""
import os
import socket
import ssl
import struct

import pytest

from conftest import kp_admin, ck_admin, ck_consumer, ck_produce, unique, wait_until, SLOW


def issue(certs, version, subject=None):
    """A server certificate for localhost / 127.0.0.1 (subject: default names the version)."""
    return certs.issue(unique("srv-v%d" % version),
                       subject or "/CN=localhost/O=Runnel v%d" % version,
                       san="IP:127.0.0.1,DNS:localhost")


def serial_of(path):
    """The certificate's serial as Python's ssl reports it (upper-case hex)."""
    return ssl._ssl._test_decode_cert(path)["serialNumber"]


class Secret:
    """A directory laid out as kubelet lays out a secret volume: tls.crt and tls.key are
    symlinks through ..data to a timestamped directory; an update writes a new directory and
    renames a new ..data symlink over the old one (one atomic step)."""

    def __init__(self, base):
        self.base = str(base)
        os.makedirs(self.base)
        self.n = 0

    def write(self, cert_pem, key_pem):
        self.n += 1
        d = "..v%d" % self.n
        os.makedirs(os.path.join(self.base, d))
        for name, data in (("tls.crt", cert_pem), ("tls.key", key_pem)):
            with open(os.path.join(self.base, d, name), "wb") as f:
                f.write(data)
        tmp = os.path.join(self.base, "..data_tmp")
        os.symlink(d, tmp)
        os.replace(tmp, os.path.join(self.base, "..data"))
        for name in ("tls.crt", "tls.key"):
            link = os.path.join(self.base, name)
            if not os.path.islink(link):
                os.symlink(os.path.join("..data", name), link)

    def write_files(self, cert_path, key_path):
        with open(cert_path, "rb") as c, open(key_path, "rb") as k:
            self.write(c.read(), k.read())

    @property
    def cert(self):
        return os.path.join(self.base, "tls.crt")

    @property
    def key(self):
        return os.path.join(self.base, "tls.key")


def tls_connect(address, cafile):
    host, port = address.split(":")
    ctx = ssl.create_default_context(cafile=cafile)
    sock = socket.create_connection((host, int(port)), timeout=10 * SLOW)
    return ctx.wrap_socket(sock, server_hostname="localhost")


def peer_serial(address, cafile):
    """The serial of the certificate a new connection is shown."""
    with tls_connect(address, cafile) as s:
        return s.getpeercert()["serialNumber"]


def api_versions(sock, corr):
    """ApiVersions v0 over an open socket; returns the response's correlation id."""
    payload = struct.pack(">hhih", 18, 0, corr, 4) + b"rota"
    sock.sendall(struct.pack(">i", len(payload)) + payload)
    head = b""
    while len(head) < 4:
        chunk = sock.recv(4 - len(head))
        assert chunk, "connection closed"
        head += chunk
    size = struct.unpack(">i", head)[0]
    body = b""
    while len(body) < size:
        chunk = sock.recv(size - len(body))
        assert chunk, "connection closed"
        body += chunk
    return struct.unpack_from(">i", body)[0]


def tls_sets(certs, cert, key):
    return {"ssl.keystore.type": "PEM", "ssl.keystore.certificate.chain": cert,
            "ssl.keystore.key": key, "ssl.truststore.type": "PEM",
            "ssl.truststore.location": certs.ca}


def consume_until(c, want, out):
    def more():
        for m in c.consume(num_messages=want - len(out), timeout=0.2):
            assert m.error() is None, m.error()
            out.append(m.value())
        return len(out) >= want
    wait_until(more, timeout=30, what="%d records" % want)


def test_secret_symlink_swap_during_running_consumer(make_broker, certs, tmp_path):
    import confluent_kafka
    c1, k1 = issue(certs, 1)
    c2, k2 = issue(certs, 2)
    secret = Secret(tmp_path / "secret")
    secret.write_files(c1, k1)
    b = make_broker({"SSL": "SSL"}, sets=tls_sets(certs, secret.cert, secret.key))
    addr, conf = b.address("SSL"), certs.client_conf()
    assert peer_serial(addr, certs.ca) == serial_of(c1)

    t = unique("rot")
    ck_produce(addr, t, [(None, b"before-%d" % i) for i in range(50)], **conf)
    consumer = ck_consumer(addr, **conf)
    established = tls_connect(addr, certs.ca)
    try:
        consumer.assign([confluent_kafka.TopicPartition(t, 0, confluent_kafka.OFFSET_BEGINNING)])
        got = []
        consume_until(consumer, 50, got)
        assert api_versions(established, 1) == 1

        secret.write_files(c2, k2)
        wait_until(lambda: peer_serial(addr, certs.ca) == serial_of(c2), timeout=20,
                   what="new connections to see the rotated certificate")
        assert "certificates reloaded" in b.stderr()
        ctx = {"context": "listener SSL"}
        assert b.metric("runnel_tls_certificate_reloads_total", ctx) >= 1
        assert b.metric("runnel_tls_certificate_not_after_seconds", ctx) > 0

        # The running consumer and a connection opened before the swap carry on.
        ck_produce(addr, t, [(None, b"after-%d" % i) for i in range(50)], **conf)
        consume_until(consumer, 100, got)
        assert got == [b"before-%d" % i for i in range(50)] + [b"after-%d" % i for i in range(50)]
        assert api_versions(established, 2) == 2
        assert established.getpeercert()["serialNumber"] == serial_of(c1)
    finally:
        established.close()
        consumer.close()
    # The watcher thread takes no signal: SIGTERM still shuts the broker down cleanly.
    b.stop_clean()


def test_broken_new_secret_keeps_old_certificate(make_broker, certs, tmp_path):
    c1, k1 = issue(certs, 1)
    c2, k2 = issue(certs, 2)
    _, k3 = issue(certs, 3)
    secret = Secret(tmp_path / "secret")
    secret.write_files(c1, k1)
    b = make_broker({"SSL": "SSL"}, sets=tls_sets(certs, secret.cert, secret.key))
    addr = b.address("SSL")

    secret.write(b"-----BEGIN CERTIFICATE-----\ngarbage\n", open(k1, "rb").read())
    wait_until(lambda: "keeping the previous certificates" in b.stderr(), timeout=20,
               what="the broken certificate to be reported")
    line = [ln for ln in b.stderr().splitlines() if "keeping the previous" in ln][-1]
    assert "tls.crt" in line and "WARN" in line
    assert peer_serial(addr, certs.ca) == serial_of(c1)
    assert b.metric("runnel_tls_certificate_reload_failures_total",
                    {"context": "listener SSL"}) >= 1

    # A certificate with another certificate's key: refused the same way.
    secret.write_files(c2, k3)
    wait_until(lambda: b.stderr().count("keeping the previous certificates") >= 2, timeout=20,
               what="the mismatched key to be reported")
    assert peer_serial(addr, certs.ca) == serial_of(c1)

    secret.write_files(c2, k2)
    wait_until(lambda: peer_serial(addr, certs.ca) == serial_of(c2), timeout=20,
               what="the good certificate to be taken")
    assert b.alive()


def node_id(admin):
    return next(iter(admin.list_topics(timeout=10 * SLOW).brokers))


def alter(admin, nid, sets):
    from confluent_kafka.admin import ConfigResource
    res = ConfigResource("broker", str(nid), set_config=sets)
    for f in admin.alter_configs([res], request_timeout=10 * SLOW).values():
        f.result(timeout=15 * SLOW)


def test_alter_configs_rotates_listener_keystore(make_broker, certs):
    import confluent_kafka
    # Kafka lets a dynamic keystore change only keep the subject and the SANs (by default).
    c1, k1 = issue(certs, 1, "/CN=localhost/O=Runnel")
    c2, k2 = issue(certs, 2, "/CN=localhost/O=Runnel")
    c3, k3 = issue(certs, 3, "/CN=impostor/O=Runnel")
    b = make_broker({"SSL": "SSL", "PLAINTEXT": "PLAINTEXT"}, sets=tls_sets(certs, c1, k1))
    addr = b.address("SSL")
    admin = ck_admin(b.address("PLAINTEXT"))
    nid = node_id(admin)
    established = tls_connect(addr, certs.ca)
    try:
        prefix = "listener.name.ssl."
        alter(admin, nid, {prefix + "ssl.keystore.certificate.chain": c2,
                           prefix + "ssl.keystore.key": k2})
        wait_until(lambda: peer_serial(addr, certs.ca) == serial_of(c2), timeout=10,
                   what="AlterConfigs to install the new keystore")
        assert api_versions(established, 7) == 7

        # Refusals keep what is there: Kafka's per-listener rule, a missing file.
        for sets, why in (({"ssl.keystore.location": c1}, "per-listener"),
                          ({prefix + "ssl.keystore.certificate.chain": c2 + ".missing",
                            prefix + "ssl.keystore.key": k2}, "missing"),
                          ({prefix + "ssl.keystore.certificate.chain": c3,
                            prefix + "ssl.keystore.key": k3}, "DistinguishedName")):
            with pytest.raises(confluent_kafka.KafkaException) as e:
                alter(admin, nid, sets)
            err = e.value.args[0]
            assert err.code() == confluent_kafka.KafkaError.INVALID_REQUEST, err
            assert why in err.str(), err
            assert peer_serial(addr, certs.ca) == serial_of(c2)
        # The cluster default level (resource name ""; librdkafka refuses to send it).
        from kafka.admin import ConfigResource, ConfigResourceType
        kp = kp_admin(b.address("PLAINTEXT"))
        try:
            r = kp.alter_configs([ConfigResource(ConfigResourceType.BROKER, "", configs={
                prefix + "ssl.keystore.certificate.chain": c1, prefix + "ssl.keystore.key": k1})])
            (code, msg, _, _), = [x[:4] for x in r.resources]
            assert code == 42 and "broker id must be specified" in msg, (code, msg)
        finally:
            kp.close()
        assert peer_serial(addr, certs.ca) == serial_of(c2)

        # AlterConfigs replaces the whole set: without the keys the static keystore is back.
        alter(admin, nid, {})
        wait_until(lambda: peer_serial(addr, certs.ca) == serial_of(c1), timeout=10,
                   what="the static keystore after the override is removed")

        # Stored with the broker's dynamic configs: a restart comes back with them.
        alter(admin, nid, {prefix + "ssl.keystore.certificate.chain": c2,
                           prefix + "ssl.keystore.key": k2})
    finally:
        established.close()
    b.restart()
    assert peer_serial(addr, certs.ca) == serial_of(c2)
