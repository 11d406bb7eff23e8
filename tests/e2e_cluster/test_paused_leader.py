"""A leader paused past its lease (SIGSTOP), replaced, then resumed must rejoin the ISR as a
follower, round after round, under a continuous idempotent acks=all producer.

Regression: a broker that became leader and was paused before writing a batch in its epoch kept
that epoch at the head of its epoch cache; the new leader answered its fetches with a diverging
epoch ending exactly at its log end, the follower's truncation to its own log end did nothing,
and it fetched, backed off and fetched again forever, never rejoining the ISR."""
import threading
import time

from conftest import SLOW, unique, wait_until


def test_paused_leaders_rejoin_the_isr(make_cluster):
    import confluent_kafka
    c = make_cluster(3, sets={"replica.lag.time.max.ms": 3000})
    t = c.create_topic(unique("pause"), 1, 3, {"min.insync.replicas": "2"})
    stop = threading.Event()
    errors = []

    def writer():
        p = confluent_kafka.Producer({"bootstrap.servers": c.bootstrap,
                                      "enable.idempotence": True, "acks": "all",
                                      "linger.ms": 5})
        i = 0
        while not stop.is_set():
            try:
                p.produce(t, value=b"%d" % i, partition=0,
                          on_delivery=lambda e, m: errors.append(e) if e else None)
                i += 1
            except BufferError:
                pass
            p.poll(0)
            time.sleep(0.01)
        p.flush(60 * SLOW)
    th = threading.Thread(target=writer, daemon=True)
    th.start()
    try:
        for _ in range(10):
            c.wait_for_isr(t, 0, 3, timeout=60 * SLOW)
            leader = c.leader_of(t, 0)
            c.broker(leader).pause()
            try:
                wait_until(lambda: c.partition(t, 0)["leader"] not in (leader, -1),
                           30 * SLOW, what="a new leader")
            finally:
                c.broker(leader).resume()
        c.wait_for_isr(t, 0, 3, timeout=60 * SLOW)
    finally:
        stop.set()
        th.join(90 * SLOW)
    assert not [e for e in errors if e.fatal()], errors
