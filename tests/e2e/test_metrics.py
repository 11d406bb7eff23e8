"""Admin HTTP listener: /metrics (Prometheus text) and /health."""
import re
import time

from conftest import (SLOW, RawConn, ck_consume, ck_consumer, ck_produce, create_topic,
                      metric_samples, metric_value, unique, wait_until)


def test_health(broker):
    st, body = broker.http("/health")
    assert st == 200
    st, _ = broker.http("/no-such-page")
    assert st == 404


def test_prometheus_text_is_well_formed(broker):
    text = broker.metrics()
    assert text.endswith("\n")
    types = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _h, _t, name, kind = line.split(" ", 3)
            assert kind in ("counter", "gauge", "histogram", "summary", "untyped"), line
            assert name not in types, "duplicate TYPE for %s" % name
            types[name] = kind
        elif line.startswith("#") or not line:
            continue
        else:
            assert re.match(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_]\w*="[^"]*",?)*\})? '
                            r'(-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$', line), "bad line %r" % line


def test_metrics_after_produce_and_consume(broker):
    t = create_topic(broker.bootstrap, unique("met"), 1)
    recs = [(b"k%d" % i, b"v" * 100) for i in range(37)]
    ck_produce(broker.bootstrap, t, recs, acks="all")
    got = ck_consume(broker.bootstrap, t, [0], 37)
    assert len(got) == 37

    def check():
        text = broker.metrics()
        return text if metric_value(text, "kafka_server_brokertopicmetrics_bytesout_total",
                                    {"topic": t}) else None
    text = wait_until(check, what="bytesout for %s" % t)
    assert metric_value(text, "kafka_server_brokertopicmetrics_messagesin_total",
                        {"topic": t}) == 37
    bytes_in = metric_value(text, "kafka_server_brokertopicmetrics_bytesin_total", {"topic": t})
    assert bytes_in >= 37 * 100
    assert metric_value(text, "kafka_server_brokertopicmetrics_bytesout_total",
                        {"topic": t}) >= 37 * 100
    assert metric_value(text, "kafka_log_log_logendoffset",
                        {"topic": t, "partition": "0"}) == 37
    assert metric_value(text, "runnel_log_unflushed_bytes",
                        {"topic": t, "partition": "0"}) is not None
    for req in ("Produce", "Fetch", "Metadata", "ApiVersions"):
        v = metric_value(text, "kafka_network_requestmetrics_requests_total", {"request": req})
        assert v and v >= 1, "requests_total{request=%s} = %r" % (req, v)
    buckets = metric_samples(text, "runnel_request_latency_seconds_bucket")
    prod = [(lab["le"], v) for lab, v in buckets if lab.get("request") == "Produce"]
    assert prod and prod[-1][0] == "+Inf"
    assert [v for _le, v in prod] == sorted(v for _le, v in prod), "buckets not cumulative"
    assert prod[-1][1] == metric_value(text, "runnel_request_latency_seconds_count",
                                       {"request": "Produce"})
    assert metric_value(text, "runnel_connections") is not None


def test_messages_in_counts_records_not_batches(broker):
    t = create_topic(broker.bootstrap, unique("metb"), 2)
    with RawConn(broker.port) as c:
        from conftest import record_batch
        assert c.produce(t, 0, record_batch([(None, b"a")] * 10))[0] == 0
        assert c.produce(t, 1, record_batch([(None, b"b")] * 5))[0] == 0
    text = broker.metrics()
    assert metric_value(text, "kafka_server_brokertopicmetrics_messagesin_total",
                        {"topic": t}) == 15
    assert metric_value(text, "kafka_log_log_logendoffset", {"topic": t, "partition": "1"}) == 5


def test_connections_gauge(make_broker):
    b = make_broker()
    base = b.metric("runnel_connections")
    assert base is not None
    conns = [RawConn(b.port) for _ in range(5)]
    try:
        for c in conns:
            assert c.api_versions(0)[0] == 0
        assert b.metric("runnel_connections") == base + 5
    finally:
        for c in conns:
            c.close()
    wait_until(lambda: b.metric("runnel_connections") == base, what="connections back")


def test_fsync_latency_after_durable_produce(make_broker):
    b = make_broker({"log.flush.interval.messages": 1})
    t = create_topic(b.bootstrap, unique("fs"), 1)
    ck_produce(b.bootstrap, t, [(None, b"durable-%d" % i) for i in range(10)], acks="all")
    n = wait_until(lambda: b.metric("runnel_fsync_latency_seconds_count"), what="fsyncs")
    assert n >= 1
    assert b.metric("runnel_log_unflushed_bytes", {"topic": t, "partition": "0"}) == 0


def test_fetch_requests_not_busy_looping(make_broker):
    """An idle consumer with fetch.wait.max.ms=500 sends about 2 fetches/s, not hundreds:
    the broker parks empty fetches for max wait."""
    import confluent_kafka
    b = make_broker()
    t = create_topic(b.bootstrap, unique("idle"), 1)
    c = ck_consumer(b.bootstrap, **{"fetch.wait.max.ms": 500})
    try:
        c.assign([confluent_kafka.TopicPartition(t, 0, confluent_kafka.OFFSET_BEGINNING)])
        c.poll(0.5)
        n0 = b.metric("kafka_network_requestmetrics_requests_total", {"request": "Fetch"}) or 0
        t0 = time.monotonic()
        while time.monotonic() - t0 < 2.0:
            assert c.poll(0.2) is None
        n1 = b.metric("kafka_network_requestmetrics_requests_total", {"request": "Fetch"}) or 0
        assert 1 <= n1 - n0 <= 8, "%d fetches in 2s" % (n1 - n0)
    finally:
        c.close()


def test_replication_metrics_on_a_single_broker(broker):
    """Kafka's replication and controller gauges, as a single Kafka broker shows them: it leads
    every partition with a full ISR, is the active controller, fetches from nobody."""
    t = create_topic(broker.bootstrap, unique("rep"), 2)
    text = broker.metrics()
    parts = metric_value(text, "kafka_server_replicamanager_partitioncount")
    assert parts is not None and parts >= 2
    assert metric_value(text, "kafka_server_replicamanager_leadercount") == parts
    for name, want in (("kafka_server_replicamanager_underreplicatedpartitions", 0),
                       ("kafka_server_replicamanager_underminisrpartitioncount", 0),
                       ("kafka_server_replicamanager_isrshrinks_total", 0),
                       ("kafka_server_replicamanager_isrexpands_total", 0),
                       ("kafka_controller_kafkacontroller_activecontrollercount", 1),
                       ("kafka_controller_kafkacontroller_offlinepartitionscount", 0)):
        assert metric_value(text, name) == want, (name, metric_value(text, name))
    assert metric_value(text, "kafka_server_replicafetchermanager_maxlag",
                        {"clientId": "Replica"}) == 0
    assert t
