"""Fetch version rules that depend on the data: zstd needs Fetch v10+ (KIP-110)."""
from conftest import RawConn, ck_consumer, ck_producer, create_topic, unique


def test_zstd_refused_below_fetch_v10(broker):
    t = create_topic(broker.bootstrap, unique("zstd"), 1)
    p = ck_producer(broker.bootstrap, **{"compression.type": "zstd", "linger.ms": 50})
    for i in range(50):
        p.produce(t, value=b"zstd-%d" % i * 20, partition=0)
    assert p.flush(10) == 0
    with RawConn(broker.port) as c:
        err, hwm, data = c.fetch(t, 0, 0)
        # Kafka answers UNSUPPORTED_COMPRESSION_TYPE rather than send data a v4 reader
        # cannot decode (librdkafka #2880).
        assert (err, data) == (76, b"")
        assert hwm == 50
    # Fetch v11 (librdkafka) reads the same data.
    from confluent_kafka import TopicPartition
    cons = ck_consumer(broker.bootstrap)
    cons.assign([TopicPartition(t, 0, 0)])
    got = []
    for _ in range(50):
        m = cons.poll(2.0)
        if m is None:
            break
        assert m.error() is None, m.error()
        got.append(m.value())
        if len(got) == 50:
            break
    cons.close()
    assert got == [b"zstd-%d" % i * 20 for i in range(50)]

