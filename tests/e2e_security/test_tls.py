"""TLS listeners: several listeners side by side, each advertising its own address, the TLS
transport with kcat, confluent-kafka, kafka-python and Python's ssl, mutual TLS (required /
requested / none), certificate principals through ssl.principal.mapping.rules, protocol
versions, large and many records byte-identical, and garbage in place of a handshake."""
import os
import re
import socket
import ssl
import time

import pytest

from conftest import (SLOW, RawConn, ck_admin, ck_consume, ck_produce, kcat, kp_consumer,
                      kp_producer, unique, wait_until, i16, i32, kstr)


def both(certs, **extra):
    """A broker config with PLAINTEXT and SSL listeners and the server's certificate."""
    sets = dict(certs.server_sets())
    sets.update(extra)
    return sets


def kcat_ssl(certs, cn=None, ca=None):
    conf = certs.client_conf(cn, ca=ca or "ca")
    args = []
    for k, v in conf.items():
        args += ["-X", "%s=%s" % (k, v)]
    return args


def advertised(bootstrap, **conf):
    """{broker id: (host, port)} from a Metadata answer of the broker at bootstrap."""
    md = ck_admin(bootstrap, **conf).list_topics(timeout=10 * SLOW)
    return {b.id: (b.host, b.port) for b in md.brokers.values()}


def py_ssl_connect(port, certs, cn=None, ca_file=None, minv=None, maxv=None):
    """A Python ssl connection (handshake done) to the listener, or the ssl error raised."""
    ctx = ssl.create_default_context(cafile=ca_file or certs.ca)
    if cn:
        cert, key = certs.client(cn)
        ctx.load_cert_chain(cert, key)
    if minv:
        ctx.minimum_version = minv
    if maxv:
        ctx.maximum_version = maxv
    raw = socket.create_connection(("127.0.0.1", port), timeout=10 * SLOW)
    try:
        s = ctx.wrap_socket(raw, server_hostname="localhost")
    except Exception:
        raw.close()
        raise
    return s


def api_versions_over(s):
    """ApiVersions v0 over an open (TLS) socket; returns the error code."""
    body = i16(18) + i16(0) + i32(7) + kstr("tls-test")
    s.sendall(i32(len(body)) + body)
    hdr = b""
    while len(hdr) < 4:
        chunk = s.recv(4 - len(hdr))
        assert chunk, "closed before the response"
        hdr += chunk
    n = int.from_bytes(hdr, "big")
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        assert chunk, "closed inside the response"
        data += chunk
    assert int.from_bytes(data[:4], "big") == 7
    return int.from_bytes(data[4:6], "big", signed=True)


def port_of(b, name):
    return int(b.address(name).rsplit(":", 1)[1])


def log_has(b, pattern, timeout=10.0):
    rx = re.compile(pattern)
    return wait_until(lambda: rx.search(b.stderr()), timeout=timeout, what=pattern)


def closes(c, timeout=10.0):
    """True when the peer closes the connection (an alert before the EOF is fine)."""
    c.sock.settimeout(timeout * SLOW)
    try:
        while True:
            if not c.sock.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def fails_quickly(fn):
    """fn() must raise (a refused handshake), not hang."""
    with pytest.raises(Exception):
        fn()


# --------------------------------------------------------------------------------------------
# Listeners
# --------------------------------------------------------------------------------------------
def test_plaintext_and_ssl_side_by_side(make_broker, certs):
    b = make_broker({"PLAINTEXT": "PLAINTEXT", "SSL": "SSL"}, sets=both(certs))
    t = unique("side")
    ck_produce(b.address("PLAINTEXT"), t, [(None, b"plain-%d" % i) for i in range(5)])
    ck_produce(b.address("SSL"), t, [(None, b"tls-%d" % i) for i in range(5)],
               **certs.client_conf())
    got = ck_consume(b.address("SSL"), t, [0], 10, **certs.client_conf())
    assert sorted(m.value() for m in got) == sorted(
        [b"plain-%d" % i for i in range(5)] + [b"tls-%d" % i for i in range(5)])
    got = ck_consume(b.address("PLAINTEXT"), t, [0], 10)
    assert len(got) == 10
    # Each listener advertises itself: clients stay on the protocol they bootstrapped with.
    assert advertised(b.address("PLAINTEXT")) == {1: ("127.0.0.1", port_of(b, "PLAINTEXT"))}
    assert advertised(b.address("SSL"), **certs.client_conf()) == {
        1: ("127.0.0.1", port_of(b, "SSL"))}
    out = kcat("-b", b.address("SSL"), *kcat_ssl(certs), "-L").stdout.decode()
    assert "broker 1 at 127.0.0.1:%d" % port_of(b, "SSL") in out
    # A plaintext client on the TLS port does not get Kafka answers.
    with RawConn(port_of(b, "SSL")) as c:
        c.sendraw(RawConn.frame(18, 0, 1, b""))
        assert c.closed_by_peer(timeout=10)


def test_advertised_listeners_and_coordinator_per_listener(make_broker, certs):
    b = make_broker({"PLAINTEXT": "PLAINTEXT", "SSL": "SSL"}, start=False, sets=both(certs))
    b.sets["advertised.listeners"] = "SSL://localhost:%d" % b.ports["SSL"]
    b.start()
    assert advertised(b.address("PLAINTEXT")) == {1: ("127.0.0.1", b.ports["PLAINTEXT"])}
    assert advertised(b.address("SSL"), **certs.client_conf()) == {
        1: ("localhost", b.ports["SSL"])}
    # A consumer group goes through FindCoordinator: over TLS it must be sent to the SSL port.
    import confluent_kafka
    t = unique("coord")
    ck_produce(b.address("SSL"), t, [(None, b"v%d" % i) for i in range(3)],
               **certs.client_conf())
    c = confluent_kafka.Consumer(dict(certs.client_conf(), **{
        "bootstrap.servers": b.address("SSL"), "group.id": unique("g"),
        "auto.offset.reset": "earliest", "socket.timeout.ms": int(10000 * SLOW)}))
    try:
        c.subscribe([t])
        got = []
        deadline = time.monotonic() + 30 * SLOW
        while len(got) < 3 and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                got.append(m.value())
        assert sorted(got) == [b"v0", b"v1", b"v2"]
        c.commit(asynchronous=False)
    finally:
        c.close()


def test_listener_table_errors(make_broker, certs, tmp_path):
    import subprocess
    from conftest import RUNNEL_BIN
    base = [RUNNEL_BIN, "serve", "--set", "log.dirs=%s" % (tmp_path / "d"),
            "--set", "admin.listener="]
    cases = [
        (["listeners=FOO://127.0.0.1:0"], "no security protocol for listener FOO"),
        (["listeners=SSL://127.0.0.1:0"], "needs ssl.keystore.location"),
        (["listeners=PLAINTEXT://127.0.0.1:0",
          "advertised.listeners=SSL://localhost:1"], "not one of the listeners"),
        (["listeners=PLAINTEXT://127.0.0.1:0,PLAINTEXT://127.0.0.1:0"], "more than once"),
        (["listeners=A://127.0.0.1:0", "listener.security.protocol.map=A:TLS"],
         "unknown security protocol"),
    ]
    for sets, want in cases:
        argv = list(base)
        for s in sets:
            argv += ["--set", s]
        r = subprocess.run(argv, capture_output=True, timeout=10 * SLOW)
        assert r.returncode != 0, sets
        assert want in r.stderr.decode(), (sets, r.stderr)


# --------------------------------------------------------------------------------------------
# Mutual TLS
# --------------------------------------------------------------------------------------------
def test_client_auth_required(make_broker, certs):
    b = make_broker({"SSL": "SSL"}, sets=both(certs, **{"ssl.client.auth": "required",
                                                        "log.level": "debug"}))
    t = unique("req")
    ck_produce(b.address(), t, [(None, b"with-cert")], **certs.client_conf("alice"))
    log_has(b, r"TLS client User:O=Runnel,CN=alice")
    r = kcat("-b", b.address(), *kcat_ssl(certs, "bob"), "-C", "-t", t, "-o", "beginning",
             "-e", "-q")
    assert r.stdout == b"with-cert\n"
    # Without a certificate: no handshake, no metadata.
    r = kcat("-b", b.address(), *kcat_ssl(certs), "-L", "-m", str(int(5 * SLOW)), check=False)
    assert r.returncode != 0
    fails_quickly(lambda: advertised(b.address(), **dict(certs.client_conf(),
                                                          **{"socket.timeout.ms": 3000})))
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        s = py_ssl_connect(port_of(b, "SSL"), certs)
        api_versions_over(s)  # TLS 1.3: the refusal arrives after the client's Finished
    log_has(b, r"tls 127\.0\.0\.1:\d+: handshake failed: .*certificate")
    # Still serving.
    ck_produce(b.address(), t, [(None, b"again")], **certs.client_conf("alice"))


def test_client_auth_requested(make_broker, certs):
    b = make_broker({"SSL": "SSL"}, sets=both(certs, **{"ssl.client.auth": "requested",
                                                        "log.level": "debug"}))
    t = unique("rq")
    ck_produce(b.address(), t, [(None, b"anon")], **certs.client_conf())
    log_has(b, r"TLS client without a certificate: User:ANONYMOUS")
    ck_produce(b.address(), t, [(None, b"carol")], **certs.client_conf("carol"))
    log_has(b, r"TLS client User:O=Runnel,CN=carol")
    # A certificate that does not verify is refused even when only requested.
    fails_quickly(lambda: ck_produce(b.address(), t, [(None, b"x")], flush_timeout=5,
                                     **dict(certs.client_conf("mallory", ca="other-ca"),
                                            **{"message.timeout.ms": 3000})))
    got = ck_consume(b.address(), t, [0], 2, **certs.client_conf())
    assert [m.value() for m in got] == [b"anon", b"carol"]


def test_client_auth_none_ignores_certificates(make_broker, certs):
    b = make_broker({"SSL": "SSL"}, sets=both(certs, **{"log.level": "debug"}))
    ck_produce(b.address(), unique("none"), [(None, b"x")], **certs.client_conf("dave"))
    log_has(b, r"TLS client without a certificate: User:ANONYMOUS")
    assert "CN=dave" not in b.stderr()


def test_unknown_ca_and_expired_certificates_rejected(make_broker, certs):
    b = make_broker({"SSL": "SSL"}, sets=both(certs, **{"ssl.client.auth": "required"}))
    # A client certificate from a CA the broker does not trust.
    r = kcat("-b", b.address(), *kcat_ssl(certs, "eve", ca="other-ca"), "-L", "-m",
             str(int(5 * SLOW)), check=False)
    assert r.returncode != 0
    log_has(b, r"handshake failed: .*(unknown ca|certificate verify failed|unable to get)")
    # An expired client certificate from the trusted CA.
    cert, key = certs.issue("expired-frank", "/CN=frank/O=Runnel", days=-1)
    r = kcat("-b", b.address(), "-X", "security.protocol=SSL", "-X",
             "ssl.ca.location=%s" % certs.ca, "-X", "ssl.certificate.location=%s" % cert,
             "-X", "ssl.key.location=%s" % key, "-L", "-m", str(int(5 * SLOW)), check=False)
    assert r.returncode != 0
    log_has(b, r"handshake failed: .*(expired|certificate verify failed)")
    # The client side: a client that trusts another CA refuses the broker.
    with pytest.raises(ssl.SSLError):
        py_ssl_connect(port_of(b, "SSL"), certs, cn="alice", ca_file=certs.other_ca)
    s = py_ssl_connect(port_of(b, "SSL"), certs, cn="alice")
    assert api_versions_over(s) == 0
    s.close()


def test_per_listener_overrides(make_broker, certs):
    """listener.name.<l>.ssl.* overrides ssl.*: two SSL listeners, one requiring certificates."""
    sets = both(certs, **{"ssl.client.auth": "none",
                          "listener.name.secure.ssl.client.auth": "required",
                          "listener.name.secure.ssl.principal.mapping.rules":
                              "RULE:^O=Runnel,CN=([^,]*)$/$1/L,DEFAULT",
                          "log.level": "debug"})
    b = make_broker({"OPEN": "SSL", "SECURE": "SSL"}, sets=sets)
    t = unique("ovr")
    ck_produce(b.address("OPEN"), t, [(None, b"open")], **certs.client_conf())
    fails_quickly(lambda: advertised(b.address("SECURE"), **dict(
        certs.client_conf(), **{"socket.timeout.ms": 3000})))
    ck_produce(b.address("SECURE"), t, [(None, b"secure")], **certs.client_conf("Grace"))
    log_has(b, r"TLS client User:grace\b")
    assert advertised(b.address("SECURE"), **certs.client_conf("grace")) == {
        1: ("127.0.0.1", port_of(b, "SECURE"))}


def test_principal_mapping_rules(make_broker, certs):
    rules = "RULE:^O=Runnel,CN=svc-([a-z]+)$/$1/U,RULE:^O=Runnel,CN=(.*)$/$1/"
    b = make_broker({"SSL": "SSL"}, sets=both(certs, **{
        "ssl.client.auth": "required", "ssl.principal.mapping.rules": rules,
        "log.level": "debug"}))
    t = unique("map")
    ck_produce(b.address(), t, [(None, b"1")], **certs.client_conf("svc-billing"))
    log_has(b, r"TLS client User:BILLING\b")
    ck_produce(b.address(), t, [(None, b"2")], **certs.client_conf("heidi"))
    log_has(b, r"TLS client User:heidi\b")
    # A subject no rule maps (another O) fails the authentication: the connection closes.
    cert, key = certs.issue("other-org-ivan", "/CN=ivan/O=Elsewhere")
    r = kcat("-b", b.address(), "-X", "security.protocol=SSL", "-X",
             "ssl.ca.location=%s" % certs.ca, "-X", "ssl.certificate.location=%s" % cert,
             "-X", "ssl.key.location=%s" % key, "-L", "-m", str(int(5 * SLOW)), check=False)
    assert r.returncode != 0
    log_has(b, r"no ssl.principal.mapping.rules rule applies .*'O=Elsewhere,CN=ivan'")


def test_bad_tls_configs_refuse_to_start(make_broker, certs):
    import subprocess
    for extra, want in [({"ssl.principal.mapping.rules": "RULE:^CN=(.*)$/$1/X"},
                         "ssl.principal.mapping.rules"),
                        ({"ssl.client.auth": "sometimes"}, "ssl.client.auth"),
                        ({"ssl.keystore.key": certs.ca}, "ssl.keystore.key")]:
        b = make_broker({"SSL": "SSL"}, start=False, sets=both(certs, **extra))
        r = subprocess.run(b.argv(), capture_output=True, timeout=20 * SLOW)
        assert r.returncode != 0, extra
        assert want in r.stderr.decode(), r.stderr


# --------------------------------------------------------------------------------------------
# Protocol versions
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("proto", ["TLSv1.2", "TLSv1.3"])
def test_enabled_protocols(make_broker, certs, proto):
    b = make_broker({"SSL": "SSL"}, sets=both(certs, **{"ssl.enabled.protocols": proto}))
    port = port_of(b, "SSL")
    s = py_ssl_connect(port, certs)
    assert s.version() == proto
    assert api_versions_over(s) == 0
    s.close()
    other = ssl.TLSVersion.TLSv1_3 if proto == "TLSv1.2" else ssl.TLSVersion.TLSv1_2
    with pytest.raises(ssl.SSLError):
        py_ssl_connect(port, certs, minv=other, maxv=other)
    t = unique("ver")
    ck_produce(b.address(), t, [(None, b"v")], **certs.client_conf())
    assert [m.value() for m in ck_consume(b.address(), t, [0], 1, **certs.client_conf())] == [
        b"v"]


# --------------------------------------------------------------------------------------------
# Data over TLS
# --------------------------------------------------------------------------------------------
def test_many_records_and_a_large_one_byte_identical(make_broker, certs):
    b = make_broker({"SSL": "SSL"}, sets=both(certs, **{"message.max.bytes": 4 << 20}))
    t = unique("bulk")
    vals = [os.urandom(1024) for _ in range(1000)]
    big = os.urandom(2 << 20)
    conf = dict(certs.client_conf("alice"), **{"message.max.bytes": 4 << 20})
    ck_produce(b.address(), t, [(b"k%d" % i, v) for i, v in enumerate(vals)] + [(b"big", big)],
               flush_timeout=60, **conf)
    got = ck_consume(b.address(), t, [0], 1001, timeout=60,
                     **dict(certs.client_conf("alice"),
                            **{"fetch.max.bytes": 8 << 20,
                               "max.partition.fetch.bytes": 8 << 20}))
    assert len(got) == 1001
    assert [m.value() for m in got[:1000]] == vals
    assert got[1000].key() == b"big" and got[1000].value() == big
    # kafka-python with ssl_cafile/ssl_certfile/ssl_keyfile reads the same bytes.
    cert, key = certs.client("alice")
    kc = kp_consumer(b.address(), security_protocol="SSL", ssl_cafile=certs.ca,
                     ssl_certfile=cert, ssl_keyfile=key, max_partition_fetch_bytes=8 << 20,
                     fetch_max_bytes=8 << 20)
    import kafka
    tp = kafka.TopicPartition(t, 0)
    kc.assign([tp])
    kc.seek_to_beginning(tp)
    kgot = []
    deadline = time.monotonic() + 60 * SLOW
    while len(kgot) < 1001 and time.monotonic() < deadline:
        for recs in kc.poll(timeout_ms=500).values():
            kgot.extend(r.value for r in recs)
    kc.close()
    assert kgot[:1000] == vals and kgot[1000] == big


def test_kafka_python_produce_over_tls(make_broker, certs):
    b = make_broker({"SSL": "SSL"}, sets=both(certs, **{"ssl.client.auth": "required"}))
    cert, key = certs.client("judy")
    t = unique("kp")
    p = kp_producer(b.address(), security_protocol="SSL", ssl_cafile=certs.ca,
                    ssl_certfile=cert, ssl_keyfile=key)
    for i in range(50):
        p.send(t, b"kp-%d" % i)
    p.flush(timeout=30 * SLOW)
    p.close()
    got = ck_consume(b.address(), t, [0], 50, **certs.client_conf("judy"))
    assert [m.value() for m in got] == [b"kp-%d" % i for i in range(50)]


# --------------------------------------------------------------------------------------------
# Garbage
# --------------------------------------------------------------------------------------------
def test_garbage_before_and_inside_the_handshake(make_broker, certs):
    b = make_broker({"SSL": "SSL", "PLAINTEXT": "PLAINTEXT"}, sets=both(certs))
    port = port_of(b, "SSL")
    # Before: an HTTP request, then random bytes, then a Kafka frame in clear.
    for junk in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", bytes(range(255, -1, -1)) * 16,
                 RawConn.frame(18, 0, 1, b"")):
        with RawConn(port) as c:
            c.sendraw(junk)
            assert closes(c)
    log_has(b, r"tls 127\.0\.0\.1:\d+: handshake failed")
    # Inside: a real ClientHello, the server's flight read, then a forged record.
    ctx = ssl.create_default_context(cafile=certs.ca)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    with RawConn(port) as c:
        c.sendraw(out.read())
        c.sock.settimeout(10 * SLOW)
        assert c.sock.recv(65536)  # ServerHello ...
        c.sendraw(b"\x16\x03\x03\x00\x40" + os.urandom(64))
        assert closes(c)
    # A stalled half-frame of TLS record header, then the client goes away.
    with RawConn(port) as c:
        c.sendraw(b"\x16\x03")
    n = len(re.findall(r"handshake failed", b.stderr()))
    assert n >= 4, b.stderr()
    # Still serving on both listeners.
    t = unique("after")
    ck_produce(b.address("SSL"), t, [(None, b"ok")], **certs.client_conf())
    ck_produce(b.address("PLAINTEXT"), t, [(None, b"ok2")])
    assert len(ck_consume(b.address("SSL"), t, [0], 2, **certs.client_conf())) == 2
