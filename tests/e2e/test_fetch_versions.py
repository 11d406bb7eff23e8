"""Fetch version rules for zstd (KIP-110): Kafka refuses Fetch below v10 on a topic whose
compression.type is zstd, and serves zstd batches a producer chose on other topics as stored."""
from conftest import RawConn, ck_consumer, ck_producer, create_topic, unique


def test_zstd_refused_below_fetch_v10_on_zstd_topics(broker):
    t = create_topic(broker.bootstrap, unique("zstd"), 1, config={"compression.type": "zstd"})
    p = ck_producer(broker.bootstrap, **{"compression.type": "zstd", "linger.ms": 50})
    for i in range(50):
        p.produce(t, value=b"zstd-%d" % i * 20, partition=0)
    assert p.flush(10) == 0
    with RawConn(broker.port) as c:
        err, hwm, data = c.fetch(t, 0, 0)
        # Kafka answers UNSUPPORTED_COMPRESSION_TYPE for a zstd topic (librdkafka #2880).
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



def test_zstd_batches_served_below_v10_on_producer_topics(broker):
    t = create_topic(broker.bootstrap, unique("zstdp"), 1)
    p = ck_producer(broker.bootstrap, **{"compression.type": "zstd", "linger.ms": 50})
    for i in range(10):
        p.produce(t, value=b"z-%d" % i, partition=0)
    assert p.flush(10) == 0
    with RawConn(broker.port) as c:
        err, hwm, data = c.fetch(t, 0, 0)
    # compression.type=producer: Kafka sends the batches as stored, zstd or not.
    assert err == 0 and hwm == 10 and data[21 + 1] & 7 == 4
