"""A rolling restart (SIGTERM: controlled shutdown, then start again, one broker at a time)
under an idempotent acks=all producer: not one delivery error, and every acknowledged record
is in the log exactly once, at its acknowledged offset."""
import threading
import time

from conftest import SLOW, ck_consume, unique


def test_rolling_restart_under_load_no_producer_errors(make_cluster):
    import confluent_kafka
    c = make_cluster(3)
    t = c.create_topic(unique("roll"), 3, 3, {"min.insync.replicas": "2"})
    stop = threading.Event()
    acked, errors = [], []

    def writer():
        p = confluent_kafka.Producer({"bootstrap.servers": c.bootstrap,
                                      "enable.idempotence": True, "acks": "all",
                                      "linger.ms": 5, "message.timeout.ms": 120000})

        def cb(err, msg):
            (errors if err else acked).append(err or (msg.partition(), msg.offset(),
                                                      msg.value()))
        i = 0
        while not stop.is_set():
            try:
                p.produce(t, value=b"%d" % i, partition=i % 3, on_delivery=cb)
                i += 1
            except BufferError:
                pass
            p.poll(0)
            time.sleep(0.005)
        assert p.flush(120 * SLOW) == 0
    th = threading.Thread(target=writer, daemon=True)
    th.start()
    try:
        for node in (1, 2, 3):
            time.sleep(1.0)
            b = c.broker(node)
            assert b.stop() == 0
            assert "controlled shutdown" in b.stderr()
            time.sleep(0.5)  # writes go on against two brokers
            b.start()
            for p in range(3):
                c.wait_for_isr(t, p, 3, timeout=60 * SLOW)
        time.sleep(1.0)
    finally:
        stop.set()
        th.join(180 * SLOW)
    assert not errors, errors[:5]
    assert len(acked) > 100
    got = ck_consume(c.bootstrap, t, [0, 1, 2], len(acked), timeout=60.0 * SLOW)
    seen = {}
    for m in got:
        assert (m.partition(), m.value()) not in seen, "duplicate %r" % (m.value(),)
        seen[(m.partition(), m.value())] = m.offset()
    for part, off, val in acked:
        assert seen.get((part, val)) == off, (part, off, val)
