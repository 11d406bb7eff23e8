"""SASL on a SASL_PLAINTEXT listener: PLAIN (JAAS users and stored SCRAM credentials) and
SCRAM-SHA-256/512 with confluent-kafka and kafka-python, failures (error, closed connection,
log line with the address, unknown users indistinguishable), the pre-authentication gate,
the SCRAM credential APIs, a credential changed under a running consumer, and re-authentication
(connections.max.reauth.ms)."""
import re
import threading
import time

import pytest

from conftest import (SLOW, RawConn, ck_consume, ck_consumer, ck_produce, i32, karray, kstr,
                      kp_producer, unique, wait_until)
from e2e_conftest import kp_consume
from sasl_util import (ADMIN_PW, ADMIN_USER, SaslError, ScramClient, admin_conn, alter_scram,
                       authenticate, ck_conf, describe_scram, handshake, kp_conf, plain_login,
                       port_of, sasl_broker, scram_login)

SCRAMS = ["SCRAM-SHA-256", "SCRAM-SHA-512"]


def add_user(b, user, pw, mech="SCRAM-SHA-256", iterations=4096):
    with admin_conn(b) as c:
        res = alter_scram(c, upserts=[(user, mech, pw, iterations)])
    assert res == {user: (0, None)}, res


@pytest.fixture
def sb(make_broker):
    return sasl_broker(make_broker)


@pytest.mark.parametrize("mech", SCRAMS)
def test_scram_confluent_produce_consume(sb, mech):
    add_user(sb, "carol", "carol-pw", mech)
    t = unique("scram")
    conf = ck_conf(mech, "carol", "carol-pw")
    ck_produce(sb.address(), t, [(None, b"v%d" % i) for i in range(10)], **conf)
    got = ck_consume(sb.address(), t, [0], 10, **conf)
    assert [m.value() for m in got] == [b"v%d" % i for i in range(10)]


@pytest.mark.parametrize("mech", SCRAMS)
def test_scram_kafka_python_produce_consume(sb, mech):
    add_user(sb, "dave", "dave-pw", mech)
    t = unique("kpscram")
    conf = kp_conf(mech, "dave", "dave-pw")
    p = kp_producer(sb.address(), **conf)
    for i in range(5):
        p.send(t, b"k%d" % i).get(timeout=15 * SLOW)
    p.close()
    got = kp_consume(sb.address(), t, [0], 5, **conf)
    assert [m.value for m in got] == [b"k%d" % i for i in range(5)]


def test_plain_jaas_users_with_both_clients(sb):
    t = unique("plain")
    ck_produce(sb.address(), t, [(None, b"a")], **ck_conf("PLAIN", "alice", "alice-secret"))
    p = kp_producer(sb.address(), **kp_conf("PLAIN", "alice", "alice-secret"))
    p.send(t, b"b").get(timeout=15 * SLOW)
    p.close()
    got = kp_consume(sb.address(), t, [0], 2, **kp_conf("PLAIN", "alice", "alice-secret"))
    assert [m.value for m in got] == [b"a", b"b"]


def test_plain_checks_stored_scram_credentials(sb):
    add_user(sb, "erin", "erin-pw", "SCRAM-SHA-512")
    t = unique("plainscram")
    ck_produce(sb.address(), t, [(None, b"x")], **ck_conf("PLAIN", "erin", "erin-pw"))
    with RawConn(port_of(sb)) as c:
        with pytest.raises(SaslError):
            plain_login(c, "erin", "wrong")


def failed_lines(b):
    return re.findall(r"failed authentication with 127\.0\.0\.1:\d+ .*", b.stderr())


@pytest.mark.parametrize("mech", ["PLAIN"] + SCRAMS)
def test_wrong_password_and_unknown_user_rejected_alike(sb, mech):
    if mech != "PLAIN":
        add_user(sb, "frank", "frank-pw", mech)
    else:
        add_user(sb, "frank", "frank-pw")
    before = len(failed_lines(sb))
    answers = []
    for user, pw in [("frank", "nope"), ("nobody", "nope")]:
        c = RawConn(port_of(sb))
        with pytest.raises(SaslError) as e:
            if mech == "PLAIN":
                plain_login(c, user, pw)
            else:
                scram_login(c, mech, user, pw)
        assert e.value.code == 58  # SASL_AUTHENTICATION_FAILED
        assert e.value.msg
        answers.append(e.value.msg)
        assert c.closed_by_peer(), "connection left open after a failed authentication"
        c.close()
    assert answers[0] == answers[1], "the message tells known and unknown users apart"
    wait_until(lambda: len(failed_lines(sb)) >= before + 2, what="failure log lines")


@pytest.mark.parametrize("mech", SCRAMS)
def test_unknown_user_gets_stable_plausible_salt(sb, mech):
    add_user(sb, "gina", "gina-pw", mech)

    def server_first(user):
        with RawConn(port_of(sb)) as c:
            assert handshake(c, mech)[0] == 0
            sc = ScramClient(mech, user, "x")
            err, _msg, data, _ = authenticate(c, sc.first())
            assert err == 0
            return dict(kv.split("=", 1) for kv in data.decode().split(","))

    ghost1, ghost2, real = server_first("ghost"), server_first("ghost"), server_first("gina")
    assert ghost1["s"] == ghost2["s"] and ghost1["i"] == ghost2["i"]
    assert server_first("ghost2")["s"] != ghost1["s"]
    assert len(ghost1["s"]) == len(real["s"]) and ghost1["i"] == real["i"] == "4096"


def test_request_before_authentication_closes(sb):
    with RawConn(port_of(sb)) as c:
        # ApiVersions is allowed before authentication.
        r = c.request(18, 0, b"")
        assert r.i16() == 0
        c.send(3, 0, karray(["x"], kstr))
        assert c.closed_by_peer()
    wait_until(lambda: "request before SASL authentication" in sb.stderr(), what="log line")
    with RawConn(port_of(sb)) as c:
        assert handshake(c, "PLAIN")[0] == 0
        c.send(3, 0, karray(["x"], kstr))  # handshake alone is not authentication
        assert c.closed_by_peer()


def test_unsupported_mechanism_lists_enabled_then_closes(make_broker):
    b = sasl_broker(make_broker, sets={"sasl.enabled.mechanisms": "GSSAPI,SCRAM-SHA-512"})
    with RawConn(port_of(b)) as c:
        err, mechs = handshake(c, "PLAIN")
        assert err == 33  # UNSUPPORTED_SASL_MECHANISM
        assert mechs == ["SCRAM-SHA-512"]
        assert c.closed_by_peer()
    assert "GSSAPI is not supported" in b.stderr()


def test_sasl_apis_on_plaintext_listener_are_illegal_state(make_broker):
    b = make_broker()
    with RawConn(port_of(b)) as c:
        err, _ = handshake(c, "PLAIN")
        assert err == 34  # ILLEGAL_SASL_STATE


def test_scram_credential_apis(sb):
    with admin_conn(sb) as c:
        res = alter_scram(c, upserts=[("hal", "SCRAM-SHA-256", "pw1", 4096),
                                      ("hal", "SCRAM-SHA-512", "pw2", 8192),
                                      ("ivy", "SCRAM-SHA-256", "pw", 1000),
                                      ("jo", 3, "pw", 4096),
                                      ("kim", "SCRAM-SHA-256", "pw", 20000),
                                      ("", "SCRAM-SHA-256", "pw", 4096)])
        assert res["hal"] == (0, None)
        assert res["ivy"][0] == 93 and res["kim"][0] == 93 and res[""][0] == 93
        assert res["jo"][0] == 33
        top, d = describe_scram(c)
        assert top == 0 and d == {"hal": (0, [(1, 4096), (2, 8192)])}
        top, d = describe_scram(c, ["hal", "nobody"])
        assert d["hal"][0] == 0 and d["nobody"][0] == 91  # RESOURCE_NOT_FOUND
        top, d = describe_scram(c, ["hal", "hal"])
        assert d["hal"][0] == 92  # DUPLICATE_RESOURCE
        res = alter_scram(c, deletes=[("hal", "SCRAM-SHA-256"), ("lee", "SCRAM-SHA-256")])
        assert res["hal"] == (0, None) and res["lee"][0] == 91
        res = alter_scram(c, upserts=[("mo", "SCRAM-SHA-256", "a", 4096)],
                          deletes=[("mo", "SCRAM-SHA-256")])
        assert res["mo"][0] == 92
        top, d = describe_scram(c)
        assert d == {"hal": (0, [(2, 8192)])}
    wait_until(lambda: re.search(r"audit: .*User:admin.*AlterUserScramCredentials.*"
                                 r"resource=User:hal result=SET\(mechanism=SCRAM-SHA-512\)", sb.stderr()),
               what="audit line for the credential change")
    with RawConn(port_of(sb)) as c:
        scram_login(c, "SCRAM-SHA-512", "hal", "pw2")
    with RawConn(port_of(sb)) as c:
        with pytest.raises(SaslError):
            scram_login(c, "SCRAM-SHA-256", "hal", "pw1")


def test_credential_changed_while_consumer_runs(sb):
    mech = "SCRAM-SHA-256"
    add_user(sb, "nora", "old-pw", mech)
    t = unique("rotate")
    ck_produce(sb.address(), t, [(None, b"before")], **ck_conf("PLAIN", "alice", "alice-secret"))
    import confluent_kafka
    c = ck_consumer(sb.address(), **ck_conf(mech, "nora", "old-pw"))
    c.assign([confluent_kafka.TopicPartition(t, 0, confluent_kafka.OFFSET_BEGINNING)])
    got = []

    def poll_until(n):
        deadline = time.monotonic() + 20 * SLOW
        while len(got) < n and time.monotonic() < deadline:
            m = c.poll(0.2)
            if m is not None and not m.error():
                got.append(m.value())
        return len(got) >= n
    try:
        assert poll_until(1)
        add_user(sb, "nora", "new-pw", mech)
        ck_produce(sb.address(), t, [(None, b"after")],
                   **ck_conf("PLAIN", "alice", "alice-secret"))
        assert poll_until(2), got
        assert got == [b"before", b"after"]
    finally:
        c.close()
    with RawConn(port_of(sb)) as rc:
        with pytest.raises(SaslError):
            scram_login(rc, mech, "nora", "old-pw")
    with RawConn(port_of(sb)) as rc:
        scram_login(rc, mech, "nora", "new-pw")


def test_reauthentication_lifetime_and_expiry(make_broker):
    life_ms = int(1500 * SLOW)
    b = sasl_broker(make_broker, sets={"connections.max.reauth.ms": str(life_ms)})
    add_user(b, "olga", "olga-pw")
    with RawConn(port_of(b)) as c:
        _, life = scram_login(c, "SCRAM-SHA-256", "olga", "olga-pw")
        assert life == life_ms
        # Re-authenticating as the same user on the same connection works ...
        scram_login(c, "SCRAM-SHA-256", "olga", "olga-pw")
        # ... as another user it does not (KIP-368), and the connection closes.
        with pytest.raises(SaslError):
            plain_login(c, "alice", "alice-secret")
        assert c.closed_by_peer()
    with RawConn(port_of(b)) as c:
        plain_login(c, "alice", "alice-secret", version=0)
        assert c.request(18, 0, b"").i16() == 0
        time.sleep(life_ms / 1000.0 + 0.3)  # past the lifetime: the next request closes
        c.send(18, 0, b"")
        assert c.closed_by_peer()
    wait_until(lambda: "SASL session expired" in b.stderr(), what="expiry log line")


def test_confluent_producer_keeps_working_across_session_expiry(make_broker):
    life_ms = int(1000 * SLOW)
    b = sasl_broker(make_broker, sets={"connections.max.reauth.ms": str(life_ms)})
    add_user(b, "pat", "pat-pw", "SCRAM-SHA-512")
    t = unique("reauth")
    conf = ck_conf("SCRAM-SHA-512", "pat", "pat-pw")
    from conftest import ck_producer
    p = ck_producer(b.address(), **conf)
    delivered = []
    deadline = time.monotonic() + 4 * life_ms / 1000.0
    n = 0
    while time.monotonic() < deadline:
        p.produce(t, b"m%d" % n, on_delivery=lambda err, m: delivered.append(err))
        n += 1
        p.flush(10 * SLOW)
        time.sleep(0.1)
    assert p.flush(15 * SLOW) == 0
    assert len(delivered) == n and all(e is None for e in delivered), delivered
    got = ck_consume(b.address(), t, [0], n, **conf)
    assert len(got) == n


def test_credentials_and_fake_salts_survive_restart_and_metrics(make_broker):
    from conftest import metric_value
    b = sasl_broker(make_broker)
    add_user(b, "quinn", "q-pw", "SCRAM-SHA-512")

    def ghost_salt():
        with RawConn(port_of(b)) as c:
            assert handshake(c, "SCRAM-SHA-512")[0] == 0
            err, _m, data, _ = authenticate(c, ScramClient("SCRAM-SHA-512", "ghost", "x").first())
            assert err == 0
            return data.decode().split(",s=", 1)[1]

    before = ghost_salt()
    b.restart()
    with RawConn(port_of(b)) as c:
        scram_login(c, "SCRAM-SHA-512", "quinn", "q-pw")
    with RawConn(port_of(b)) as c:
        with pytest.raises(SaslError):
            scram_login(c, "SCRAM-SHA-512", "quinn", "bad")
    assert ghost_salt() == before, "an unknown user's salt changed across a restart"
    text = b.metrics()
    ok = metric_value(text, "kafka_server_socket_server_metrics_successful_authentication_total")
    bad = metric_value(text, "kafka_server_socket_server_metrics_failed_authentication_total")
    assert ok >= 1 and bad >= 1


def test_out_of_order_and_oversized_exchanges_close(sb):
    with RawConn(port_of(sb)) as c:
        err, msg, _, _ = authenticate(c, b"\0alice\0alice-secret")  # no handshake
        assert err == 34 and msg  # ILLEGAL_SASL_STATE
        assert c.closed_by_peer()
    with RawConn(port_of(sb)) as c:
        assert handshake(c, "SCRAM-SHA-256")[0] == 0
        assert handshake(c, "SCRAM-SHA-256")[0] == 34  # a second one mid-exchange
        assert c.closed_by_peer()
    with RawConn(port_of(sb)) as c:
        assert handshake(c, "SCRAM-SHA-256")[0] == 0
        err, _m, _, _ = authenticate(c, b"n,,n=user,r=" + b"x" * 20000)
        assert err == 58
        assert c.closed_by_peer()
    with RawConn(port_of(sb)) as c:  # raw frames after v0: garbage closes without an answer
        assert handshake(c, "SCRAM-SHA-512", version=0)[0] == 0
        c.sendraw(i32(7) + b"garbage")
        assert c.closed_by_peer()
    with RawConn(port_of(sb)) as c:  # and a good PLAIN one is answered with an empty frame
        assert handshake(c, "PLAIN", version=0)[0] == 0
        tok = b"alice\0alice\0alice-secret"  # kafka-python's authzid = user
        c.sendraw(i32(len(tok)) + tok)
        assert c.recv_exact(4) == b"\0\0\0\0"
        assert c.request(18, 0, b"").i16() == 0
    assert sb.alive()


def test_kafka_python_wrong_password_fails(sb):
    import kafka.errors
    with pytest.raises((kafka.errors.KafkaError, kafka.errors.NoBrokersAvailable)):
        p = kp_producer(sb.address(), api_version_auto_timeout_ms=int(5000 * SLOW),
                        **kp_conf("PLAIN", "alice", "wrong"))
        p.send(unique("t"), b"x").get(timeout=5 * SLOW)
    wait_until(lambda: failed_lines(sb), what="failure log line")


def test_kcat_scram_and_saslauthenticate_v2(sb):
    from conftest import kcat
    add_user(sb, "ruth", "ruth-pw", "SCRAM-SHA-512")
    t = unique("kcat")
    x = ["-b", sb.address(), "-X", "security.protocol=SASL_PLAINTEXT",
         "-X", "sasl.mechanisms=SCRAM-SHA-512", "-X", "sasl.username=ruth",
         "-X", "sasl.password=ruth-pw"]
    kcat(*x, "-P", "-t", t, input=b"one\ntwo\n")
    r = kcat(*x, "-C", "-t", t, "-o", "beginning", "-c", "2", "-e")
    assert r.stdout.split() == [b"one", b"two"]
    bad = kcat(*x[:-1], "sasl.password=nope", "-L", "-m", str(int(3 * SLOW)), check=False)
    assert bad.returncode != 0
    with RawConn(port_of(sb)) as c:  # the flexible version of SaslAuthenticate
        scram_login(c, "SCRAM-SHA-512", "ruth", "ruth-pw", version=2)
        assert c.request(18, 0, b"").i16() == 0


def test_sasl_ssl_and_plaintext_listeners_side_by_side(make_broker, certs):
    from sasl_util import JAAS
    b = make_broker({"SASL_SSL": "SASL_SSL", "PLAINTEXT": "PLAINTEXT"},
                    sets={"listener.name.sasl_ssl.plain.sasl.jaas.config": JAAS,
                          **certs.server_sets()})
    t = unique("saslssl")
    with RawConn(int(b.address("PLAINTEXT").rsplit(":", 1)[1])) as c:
        # PLAINTEXT needs no SASL: the credential API works there at once.
        assert alter_scram(c, upserts=[("sam", "SCRAM-SHA-256", "sam-pw", 4096)]) == \
            {"sam": (0, None)}
    conf = {"security.protocol": "SASL_SSL", "ssl.ca.location": certs.ca,
            "sasl.mechanism": "SCRAM-SHA-256", "sasl.username": "sam", "sasl.password": "sam-pw"}
    ck_produce(b.address("SASL_SSL"), t, [(None, b"tls+sasl")], **conf)
    got = ck_consume(b.address("SASL_SSL"), t, [0], 1, **conf)
    assert [m.value() for m in got] == [b"tls+sasl"]
    got = kp_consume(b.address("SASL_SSL"), t, [0], 1, security_protocol="SASL_SSL",
                     ssl_cafile=certs.ca, sasl_mechanism="PLAIN",
                     sasl_plain_username="alice", sasl_plain_password="alice-secret")
    assert [m.value for m in got] == [b"tls+sasl"]


def test_jaas_config_split_over_lines_in_properties_file(make_broker, tmp_path):
    props = tmp_path / "server.properties"
    props.write_text(
        "# Kafka's documentation splits the JAAS config with backslashes\n"
        "listener.name.sasl_plaintext.plain.sasl.jaas.config="
        "org.apache.kafka.common.security.plain.PlainLoginModule required \\\n"
        "    username=\"admin\" \\\n"
        "    password=\"admin-secret\" \\\n"
        "    user_admin=\"admin-secret\" \\\n"
        "    user_tess=\"tess-secret\";\n"
        "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256\n")
    b = make_broker({"SASL_PLAINTEXT": "SASL_PLAINTEXT"}, args=["--config", str(props)])
    with RawConn(port_of(b)) as c:
        plain_login(c, "tess", "tess-secret")
    with RawConn(port_of(b)) as c:
        assert handshake(c, "SCRAM-SHA-512")[0] == 33
    assert "no effect" not in "".join(l for l in b.stderr().splitlines() if "sasl" in l)


def test_flood_of_failed_logins_bounded_log_and_broker_fine(sb):
    from conftest import metric_value
    n = 200
    t0 = time.monotonic()
    for i in range(n):
        with RawConn(port_of(sb)) as c:
            with pytest.raises(SaslError):
                plain_login(c, "alice", "bad-%d" % i)
    elapsed = time.monotonic() - t0
    failed = metric_value(sb.metrics(),
                          "kafka_server_socket_server_metrics_failed_authentication_total")
    assert failed == n
    lines = len(failed_lines(sb))
    # At most 50 lines a second (plus the summary lines), so the log cannot be flooded.
    assert 0 < lines <= 50 * (int(elapsed) + 2), (lines, elapsed)
    with RawConn(port_of(sb)) as c:
        plain_login(c, "alice", "alice-secret")
    assert sb.alive()


def test_big_frame_before_authentication_closes(make_broker):
    b = sasl_broker(make_broker, sets={"sasl.server.max.receive.size": "4096"})
    with RawConn(port_of(b)) as c:
        c.sendraw(i32(100000) + b"\0" * 64)  # announced, never needed in full
        assert c.closed_by_peer()
    wait_until(lambda: "sasl.server.max.receive.size, before authentication" in b.stderr(),
               what="log line")
    with RawConn(port_of(b)) as c:  # once authenticated the limit is socket.request.max.bytes
        plain_login(c, "alice", "alice-secret")
        r = c.request(3, 0, karray(["x" * 6000], kstr))
        assert r.i32() >= 0  # a Metadata answer: brokers array
