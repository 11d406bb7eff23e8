"""Client quotas: AlterClientQuotas / DescribeClientQuotas (raw protocol, see quota_util.py),
and enforcement as Kafka does it: a client over producer_byte_rate or consumer_byte_rate gets
throttle_time_ms in its responses and its connection is muted, never an error, while another
client on the same broker keeps its throughput."""
import json
import threading
import time

from conftest import (SLOW, RawConn, ck_consumer, ck_producer, e2e, i16, i32, karray, kbytes,
                      kstr, metric_value, unique)

create_topic = e2e.create_topic
from quota_util import ANY, DEFAULT, EXACT, alter, describe

MB = 1024 * 1024
INVALID_REQUEST, UNSUPPORTED_VERSION = 42, 35


def port_of(b):
    return int(b.address().rsplit(":", 1)[1])


def test_alter_and_describe_with_kafka_filters(make_broker):
    b = make_broker()
    port = port_of(b)
    res = alter(port, [
        ({"client-id": "app-1"}, {"producer_byte_rate": 2048.0}),
        ({"user": None}, {"consumer_byte_rate": 4096.0}),
        ({"user": "alice", "client-id": None}, {"request_percentage": 25.5}),
        ({"user": "bob", "client-id": "app-1"}, {"producer_byte_rate": 100.0,
                                                 "consumer_byte_rate": 200.0}),
    ])
    assert [r[0] for r in res] == [0, 0, 0, 0], res
    assert res[2][2] == {"user": "alice", "client-id": None}

    code, _, all_ = describe(port, [])
    assert code == 0
    assert all_ == {
        (("client-id", "app-1"),): {"producer_byte_rate": 2048.0},
        (("user", None),): {"consumer_byte_rate": 4096.0},
        (("user", "alice"), ("client-id", None)): {"request_percentage": 25.5},
        (("user", "bob"), ("client-id", "app-1")): {"producer_byte_rate": 100.0,
                                                    "consumer_byte_rate": 200.0},
    }
    # An empty strict filter matches nothing.
    assert describe(port, [], strict=True)[2] == {}
    # Exact client-id: both entities naming it; strict leaves out the one with a user part.
    assert set(describe(port, [("client-id", EXACT, "app-1")])[2]) == {
        (("client-id", "app-1"),), (("user", "bob"), ("client-id", "app-1"))}
    assert set(describe(port, [("client-id", EXACT, "app-1")], strict=True)[2]) == {
        (("client-id", "app-1"),)}
    # The default user only.
    assert set(describe(port, [("user", DEFAULT, None)])[2]) == {(("user", None),)}
    # Any user (the default included) with any client-id (the default included).
    assert set(describe(port, [("user", ANY, None), ("client-id", ANY, None)])[2]) == {
        (("user", "alice"), ("client-id", None)), (("user", "bob"), ("client-id", "app-1"))}
    assert set(describe(port, [("user", ANY, None)], strict=True)[2]) == {(("user", None),)}

    # validate_only stores nothing; remove drops a value, and an entity left empty goes.
    assert alter(port, [({"client-id": "x"}, {"producer_byte_rate": 10.0})],
                 validate_only=True)[0][0] == 0
    assert describe(port, [("client-id", EXACT, "x")])[2] == {}
    assert alter(port, [({"user": "bob", "client-id": "app-1"},
                         {"producer_byte_rate": None})])[0][0] == 0
    assert alter(port, [({"client-id": "app-1"}, {"producer_byte_rate": None})])[0][0] == 0
    got = describe(port, [("client-id", EXACT, "app-1")])[2]
    assert got == {(("user", "bob"), ("client-id", "app-1")): {"consumer_byte_rate": 200.0}}


def test_alter_and_describe_errors(make_broker):
    b = make_broker()
    port = port_of(b)
    res = alter(port, [
        ({"client-id": "a"}, {"no_such_quota": 1.0}),
        ({"client-id": "a"}, {"producer_byte_rate": 1.5}),  # a LONG config
        ({"client-id": "a"}, {"producer_byte_rate": -5.0}),
        ({"group": "g"}, {"producer_byte_rate": 10.0}),
        ({}, {"producer_byte_rate": 10.0}),
        ({"client-id": "ok"}, {"consumer_byte_rate": 10.0}),
    ])
    assert [r[0] for r in res] == [INVALID_REQUEST, INVALID_REQUEST, INVALID_REQUEST,
                                   UNSUPPORTED_VERSION, INVALID_REQUEST, 0], res
    assert all(r[1] for r in res[:5])
    # One bad entry does not stop the good one.
    assert describe(port, [("client-id", ANY, None)])[2] == {
        (("client-id", "ok"),): {"consumer_byte_rate": 10.0}}
    code, msg, entries = describe(port, [("user", ANY, None), ("user", EXACT, "x")])
    assert code == INVALID_REQUEST and msg and entries is None
    assert describe(port, [("group", ANY, None)])[0] == UNSUPPORTED_VERSION
    assert describe(port, [("ip", ANY, None), ("user", ANY, None)])[0] == INVALID_REQUEST


def test_quotas_survive_a_restart(make_broker):
    b = make_broker()
    assert alter(port_of(b), [({"user": "carol"}, {"producer_byte_rate": 5000.0})])[0][0] == 0
    b.stop()
    b.start()
    got = describe(port_of(b), [("user", EXACT, "carol")])[2]
    assert got == {(("user", "carol"),): {"producer_byte_rate": 5000.0}}


class Meter:
    """Acknowledged bytes over time for one client."""

    def __init__(self):
        self.lock = threading.Lock()
        self.events = []  # (monotonic time, bytes)
        self.throttle_max = 0
        self.errors = []

    def add(self, n):
        with self.lock:
            self.events.append((time.monotonic(), n))

    def rate(self, start, seconds):
        """Bytes per second in [start, start + seconds)."""
        with self.lock:
            n = sum(x for t, x in self.events if start <= t < start + seconds)
        return n / seconds

    def first(self):
        with self.lock:
            return self.events[0][0] if self.events else None

    def stats(self, js):
        for br in json.loads(js).get("brokers", {}).values():
            self.throttle_max = max(self.throttle_max, br.get("throttle", {}).get("max", 0))


def produce_for(bootstrap, topic, client_id, meter, seconds, stop, small):
    value = b"v" * (4096 if small else 65536)
    # Kafka's Rate lets a new client send (quota.window.num - 1) windows' worth at once; the
    # requests that follow are throttled one after another, so what goes beyond the quota in
    # the first 10 s grows with the request size (about sqrt(18 s * batch * quota)): small
    # batches, as a producer under a quota would use. Muted requests wait in the socket, so
    # the timeouts are Kafka's defaults rather than the e2e helpers' short ones.
    p = ck_producer(bootstrap, **{"client.id": client_id, "linger.ms": 5,
                                  "batch.size": 16384 if small else 1000000,
                                  "max.in.flight": 5,
                                  "statistics.interval.ms": 500, "stats_cb": meter.stats,
                                  "socket.timeout.ms": int(60000 * SLOW),
                                  "request.timeout.ms": int(30000 * SLOW),
                                  "message.timeout.ms": int(120000 * SLOW)})

    def cb(err, msg):
        if err:
            meter.errors.append(err)
        else:
            meter.add(len(msg.value()))
    end = time.monotonic() + seconds
    while time.monotonic() < end and not stop.is_set():
        # At most ~2 MB outstanding: the quota, not the local queue, sets the pace.
        if len(p) < 128:
            try:
                p.produce(topic, value, on_delivery=cb)
            except BufferError:
                pass
        p.poll(0 if len(p) < 128 else 0.01)
    p.flush(30 * SLOW)


def test_producer_byte_rate_throttles_one_client_only(make_broker):
    b = make_broker()
    topic = create_topic(b.address(), unique("q-produce"))
    assert alter(port_of(b), [({"client-id": "slow-producer"},
                               {"producer_byte_rate": float(MB)})])[0][0] == 0
    slow, fast = Meter(), Meter()
    stop = threading.Event()
    run = 14
    ths = [threading.Thread(target=produce_for,
                            args=(b.address(), topic, cid, m, run, stop, small))
           for cid, m, small in (("slow-producer", slow, True), ("fast-producer", fast, False))]
    for t in ths:
        t.start()
    for t in ths:
        t.join(run + 90 * SLOW)
    assert not slow.errors and not fast.errors, (slow.errors[:3], fast.errors[:3])
    s0, f0 = slow.first(), fast.first()
    assert s0 is not None and f0 is not None
    slow_rate, fast_rate = slow.rate(s0, 10), fast.rate(f0, 10)
    print("slow %.2f MB/s, fast %.2f MB/s, slow throttle max %s ms" %
          (slow_rate / MB, fast_rate / MB, slow.throttle_max))
    assert slow_rate <= 1.2 * MB
    assert slow_rate >= 0.5 * MB  # throttled to about its quota, not starved
    assert fast_rate >= 2.5 * MB  # unaffected: well above the other's quota
    # The client saw throttle_time_ms (librdkafka's per-broker throttle statistics).
    assert slow.throttle_max > 0
    assert fast.throttle_max == 0
    text = b.metrics()
    assert metric_value(text, "kafka_server_produce_byte_rate",
                        {"client_id": "slow-producer"}) is not None
    thr = metric_value(text, "kafka_server_produce_throttle_time_max",
                       {"client_id": "slow-producer"})
    assert thr is not None and thr > 0


def consume_for(bootstrap, topic, client_id, meter, seconds, want):
    meter.started = time.monotonic()
    c = ck_consumer(bootstrap, **{"client.id": client_id, "statistics.interval.ms": 500,
                                  "stats_cb": meter.stats, "socket.timeout.ms": int(60000 * SLOW)})
    c.subscribe([topic])
    got = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end and got < want:
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error():
            meter.errors.append(m.error())
            continue
        got += len(m.value())
        meter.add(len(m.value()))
    c.poll(0.6)  # one more statistics callback
    c.close()


def test_consumer_byte_rate_throttles_one_client_only(make_broker):
    b = make_broker()
    topic = create_topic(b.address(), unique("q-fetch"))
    total = 30 * MB
    value = b"c" * 65536
    p = ck_producer(b.address(), **{"linger.ms": 20})
    for _ in range(total // len(value)):
        while True:
            try:
                p.produce(topic, value)
                break
            except BufferError:
                p.poll(0.05)
    assert p.flush(60 * SLOW) == 0
    assert alter(port_of(b), [({"client-id": "slow-consumer"},
                               {"consumer_byte_rate": float(MB)})])[0][0] == 0
    slow, fast = Meter(), Meter()
    run = 13
    ths = [threading.Thread(target=consume_for, args=(b.address(), topic, cid, m, secs, total))
           for cid, m, secs in (("slow-consumer", slow, run),
                                ("fast-consumer", fast, 60 * SLOW))]
    for t in ths:
        t.start()
    for t in ths:
        t.join(90 * SLOW)
    assert not slow.errors and not fast.errors
    s0 = slow.first()
    assert s0 is not None
    slow_rate = slow.rate(s0, 10)
    # The unthrottled consumer read everything, well above the other's quota.
    with fast.lock:
        fast_bytes = sum(n for _, n in fast.events)
        fast_secs = fast.events[-1][0] - fast.started  # group join included
    print("slow %.2f MB/s, fast %.1f MB in %.1f s, slow throttle max %s" %
          (slow_rate / MB, fast_bytes / MB, fast_secs, slow.throttle_max))
    assert slow_rate <= 1.2 * MB
    assert slow_rate >= 0.5 * MB
    assert fast_bytes == total
    assert fast_bytes / max(fast_secs, 0.001) >= 2.5 * MB
    assert slow.throttle_max > 0
    assert fast.throttle_max == 0


def test_throttled_produce_response_carries_throttle_time(make_broker):
    """Raw Produce v7: a client-id over its quota gets throttle_time_ms > 0 and error 0."""
    b = make_broker()
    topic = create_topic(b.address(), unique("q-raw"))
    assert alter(port_of(b), [({"client-id": "e2e-raw"},
                               {"producer_byte_rate": 1000.0})])[0][0] == 0
    batch = e2e.record_batch([(None, b"x" * 20000)])
    body = kstr(None) + i16(1) + i32(10000) + karray(
        [topic], lambda t: kstr(t) + karray([0], lambda p: i32(p) + kbytes(batch)))
    with RawConn(port_of(b)) as c:
        r = c.request(0, 7, body)
        topics = r.array(lambda r: (r.str(), r.array(
            lambda r: (r.i32(), r.i16(), r.i64(), r.i64(), r.i64()))))
        throttle = r.i32()
    assert topics[0][1][0][1] == 0, topics  # no error for throttling
    # 20 kB against 1000 B/s over the 10 s minimum window: about (2000 - 1000) / 1000 * 10 s.
    assert throttle > 5000, throttle


def test_request_percentage_mutes_a_busy_client(make_broker):
    """request_percentage: handler time per window as a percentage of one thread. A tiny quota
    is used up by a burst of Metadata requests; the connection is then muted (the responses
    still come, no error), and the throttle shows on /metrics."""
    b = make_broker()
    topic = create_topic(b.address(), unique("q-req"))
    assert alter(port_of(b), [({"client-id": "e2e-raw"},
                               {"request_percentage": 0.001})])[0][0] == 0
    body = karray([topic], kstr)  # Metadata v1: one topic
    def throttled():
        return metric_value(b.metrics(), "kafka_server_request_throttle_time_max",
                            {"client_id": "e2e-raw"})
    with RawConn(port_of(b), timeout=30) as c:
        for i in range(300):
            if i % 5 == 4 and throttled():
                break
            r = c.request(3, 1, body)
            r.array(lambda r: (r.i32(), r.str(), r.i32(), r.str()))
            r.i32()  # controller
            assert r.array(lambda r: (r.i16(), r.str(), r.i8(), r.array(
                lambda r: (r.i16(), r.i32(), r.i32(), r.array(lambda r: r.i32()),
                           r.array(lambda r: r.i32())))))[0][0] == 0
    text = b.metrics()
    thr = metric_value(text, "kafka_server_request_throttle_time_max", {"client_id": "e2e-raw"})
    assert thr is not None and 0 < thr <= 1000  # capped at one window, as Kafka's
    assert metric_value(text, "kafka_server_request_request_time",
                        {"client_id": "e2e-raw"}) > 0


def test_runnel_quota_cli(make_broker):
    from conftest import runnel
    b = make_broker()
    bs = b.address()
    r = runnel("quota", "alter", "-b", bs, "--user", "alice", "--client-id", "app",
               "--set", "producer_byte_rate=1048576", "--set", "request_percentage=12.5")
    assert r.returncode == 0, r.stderr
    r = runnel("quota", "alter", "-b", bs, "--client-default", "--set", "consumer_byte_rate=5000")
    assert r.returncode == 0, r.stderr
    # What the CLI set is what the protocol describes.
    assert describe(port_of(b), [])[2] == {
        (("user", "alice"), ("client-id", "app")): {"producer_byte_rate": 1048576.0,
                                                    "request_percentage": 12.5},
        (("client-id", None),): {"consumer_byte_rate": 5000.0}}
    out = runnel("quota", "list", "-b", bs).stdout.decode()
    # kafka-configs.sh --describe's lines.
    assert "user-principal 'alice', client-id 'app'" in out and "producer_byte_rate=1048576" in out
    assert "the default client-id" in out and "consumer_byte_rate=5000" in out
    out = runnel("quota", "list", "-b", bs, "--client-default").stdout.decode()
    assert "alice" not in out and "consumer_byte_rate=5000" in out
    r = runnel("quota", "alter", "-b", bs, "--user", "alice", "--client-id", "app",
               "--delete", "producer_byte_rate")
    assert r.returncode == 0
    out = runnel("quota", "list", "-b", bs, "--user", "alice").stdout.decode()
    assert "producer_byte_rate" not in out and "request_percentage=12.5" in out
    # Broker errors are one line and a failing exit status; so are bad options.
    r = runnel("quota", "alter", "-b", bs, "--user", "alice", "--set", "bogus=1")
    assert r.returncode == 1 and b"Invalid configuration key" in r.stderr
    assert runnel("quota", "alter", "-b", bs, "--set", "producer_byte_rate=1").returncode == 2


def _produce_all(bootstrap, topic, n, size, conf):
    meter = Meter()
    p = ck_producer(bootstrap, **dict(conf, **{"statistics.interval.ms": 200,
                                               "stats_cb": meter.stats,
                                               "socket.timeout.ms": int(60000 * SLOW),
                                               "message.timeout.ms": int(120000 * SLOW)}))

    def cb(err, msg):
        if err:
            meter.errors.append(err)
        else:
            meter.add(len(msg.value()))
    for _ in range(n):
        p.produce(topic, b"u" * size, on_delivery=cb)
        p.poll(0)
    assert p.flush(120 * SLOW) == 0
    end = time.monotonic() + 1.0  # one more statistics interval after the last response
    while time.monotonic() < end:
        p.poll(0.1)
    return meter


def test_user_quota_from_the_certificate_principal(make_broker, certs):
    """users/<name> quotas apply to the authenticated principal's name (here from an mTLS
    certificate through ssl.principal.mapping.rules): alice is throttled, bob on the same
    listener is not, and the metric carries the user tag."""
    sets = {"ssl.client.auth": "required",
            "ssl.principal.mapping.rules": "RULE:^O=Runnel,CN=([^,]*)$/$1/,DEFAULT",
            **certs.server_sets()}
    b = make_broker({"PLAINTEXT": "PLAINTEXT", "SSL": "SSL"}, sets=sets)
    topic = create_topic(b.address("PLAINTEXT"), unique("q-user"))
    assert alter(port_of(b), [({"user": "alice"}, {"producer_byte_rate": 20000.0})])[0][0] == 0
    alice = _produce_all(b.address("SSL"), topic, 300, 1024,
                         dict(certs.client_conf("alice"), **{"client.id": "shared-id"}))
    bob = _produce_all(b.address("SSL"), topic, 300, 1024,
                       dict(certs.client_conf("bob"), **{"client.id": "shared-id"}))
    assert not alice.errors and not bob.errors
    assert alice.throttle_max > 0
    assert bob.throttle_max == 0
    text = b.metrics()
    assert metric_value(text, "kafka_server_produce_throttle_time_max",
                        {"user": "alice", "client_id": ""}) > 0
    assert metric_value(text, "kafka_server_produce_byte_rate", {"user": "bob"}) is None


def test_sasl_user_quotas_with_precedence(make_broker):
    """SASL/PLAIN users: users/alice/clients/<default> (level 2) wins over users/<default>
    (level 6) for alice, so she is throttled; admin falls under the generous user default."""
    from sasl_util import JAAS, ck_conf
    b = make_broker({"PLAINTEXT": "PLAINTEXT", "SASL_PLAINTEXT": "SASL_PLAINTEXT"},
                    sets={"listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS})
    topic = create_topic(b.address("PLAINTEXT"), unique("q-sasl"))
    res = alter(port_of(b), [
        ({"user": "alice", "client-id": None}, {"producer_byte_rate": 20000.0}),
        ({"user": None}, {"producer_byte_rate": 100.0 * MB}),
    ])
    assert [r[0] for r in res] == [0, 0]
    conf = {"client.id": "shared-id"}
    alice = _produce_all(b.address("SASL_PLAINTEXT"), topic, 300, 1024,
                         dict(ck_conf("PLAIN", "alice", "alice-secret"), **conf))
    admin = _produce_all(b.address("SASL_PLAINTEXT"), topic, 300, 1024,
                         dict(ck_conf("PLAIN", "admin", "admin-secret"), **conf))
    assert not alice.errors and not admin.errors
    assert alice.throttle_max > 0
    assert admin.throttle_max == 0
    text = b.metrics()
    # Level 2 measures per (user, client-id); level 6 per user.
    assert metric_value(text, "kafka_server_produce_throttle_time_max",
                        {"user": "alice", "client_id": "shared-id"}) > 0
    assert metric_value(text, "kafka_server_produce_byte_rate",
                        {"user": "admin", "client_id": ""}) > 0


def test_quota_apis_need_cluster_configs_permissions(make_broker, tmp_path):
    """With an authorizer, AlterClientQuotas needs ALTER_CONFIGS and DescribeClientQuotas
    DESCRIBE_CONFIGS on the cluster: without ACLs ANONYMOUS gets CLUSTER_AUTHORIZATION_FAILED
    (31); a super user may."""
    authz = {"authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
             "authorizer.audit.log.file": str(tmp_path / "audit.log")}
    b = make_broker(sets=authz)
    res = alter(port_of(b), [({"client-id": "a"}, {"producer_byte_rate": 10.0}),
                             ({"user": "u"}, {"consumer_byte_rate": 10.0})])
    assert [r[0] for r in res] == [31, 31]
    code, _, entries = describe(port_of(b), [])
    assert code == 31 and entries is None
    b.stop()
    b2 = make_broker(sets=dict(authz, **{"super.users": "User:ANONYMOUS"}))
    assert alter(port_of(b2), [({"client-id": "a"}, {"producer_byte_rate": 10.0})])[0][0] == 0
    assert describe(port_of(b2), [])[2] == {(("client-id", "a"),): {"producer_byte_rate": 10.0}}
