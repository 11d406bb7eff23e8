"""Idempotent producer (issue 4, protocol.md §2.5): InitProducerId, sequence checks, dedup of
retries, also across broker restarts, and librdkafka through a proxy that cuts connections."""
import select
import socket
import threading
import time

import pytest

from conftest import (SLOW, TAGS, RawConn, ck_producer, create_topic, cstr, i16, i32, i64,
                      idempotent_batch, raw_fetch_all, record_batch, unique)

OUT_OF_ORDER = 45
INVALID_EPOCH = 47
TXN_ID_AUTH_FAILED = 53


def idem_batch(values, pid, epoch, seq):
    """A magic-2 batch of `values` from producer (pid, epoch) starting at sequence seq."""
    return idempotent_batch([(None, v) for v in values], pid, epoch, seq)


def fetch_values(port, topic, partition):
    """[(offset, value)] of the whole partition."""
    return [(r[0], r[3]) for r in raw_fetch_all(port, topic, partition)[0]]


def test_init_producer_id_versions(broker):
    with RawConn(broker.port) as c:
        err, apis = c.api_versions()
        assert apis[22] == (0, 4)
        e1, p1, ep1 = c.init_producer_id()
        e2, p2, ep2 = c.init_producer_id(version=1)
        assert (e1, e2, ep1, ep2) == (0, 0, 0, 0)
        assert p1 >= 0 and p2 > p1
    # v3 (flexible: request header v2, compact null transactional id, tag buffers) naming the
    # current (pid, epoch), as a producer recovering with KIP-360 does
    with RawConn(broker.port) as c:
        r = c.flex_request(22, 3, cstr(None) + i32(60000) + i64(p2) + i16(0) + TAGS)
        r.i32()
        assert r.i16() == 0
        pid3, epoch3 = r.i64(), r.i16()
        # As Kafka: a non-transactional producer gets a fresh id at epoch 0 (KIP-360 recovery).
        assert pid3 > p2 and epoch3 == 0


def test_transactional_id_gets_epochs(broker):
    """With a transactional id the transaction coordinator answers (test_transactions.py):
    the same producer id, the next epoch on each init."""
    tid = unique("tx")
    with RawConn(broker.port) as c:
        err, pid, epoch = c.init_producer_id(txn_id=tid)
        assert (err, epoch) == (0, 0) and pid >= 0
        assert c.init_producer_id(txn_id=tid) == (0, pid, 1)


def test_duplicate_gap_and_epoch(broker):
    t = create_topic(broker.bootstrap, unique("idem-raw"), 1)
    with RawConn(broker.port) as c:
        _e, pid, epoch = c.init_producer_id()
        b0 = idem_batch([b"a", b"b"], pid, epoch, 0)
        assert c.produce(t, 0, b0) == (0, 0)
        # the exact retry: success with the original base offset, nothing appended
        assert c.produce(t, 0, b0) == (0, 0)
        assert c.produce(t, 0, idem_batch([b"c"], pid, epoch, 2)) == (0, 2)
        assert c.produce(t, 0, b0) == (0, 0)
        # a gap
        err, _ = c.produce(t, 0, idem_batch([b"x"], pid, epoch, 5))
        assert err == OUT_OF_ORDER
        # a higher epoch must restart at 0; then the old epoch is fenced
        err, _ = c.produce(t, 0, idem_batch([b"y"], pid, epoch + 1, 3))
        assert err == OUT_OF_ORDER
        assert c.produce(t, 0, idem_batch([b"d"], pid, epoch + 1, 0)) == (0, 3)
        err, _ = c.produce(t, 0, idem_batch([b"z"], pid, epoch, 3))
        assert err == INVALID_EPOCH
        # batches without a producer id are untouched by all this
        assert c.produce(t, 0, record_batch([(None, b"e")])) == (0, 4)
    assert fetch_values(broker.port, t, 0) == [(0, b"a"), (1, b"b"), (2, b"c"), (3, b"d"),
                                               (4, b"e")]


@pytest.mark.parametrize("how", ["clean", "sigkill"])
def test_duplicate_across_restart(make_broker, how):
    b = make_broker()
    t = create_topic(b.bootstrap, unique("idem-rs"), 1)
    with RawConn(b.port) as c:
        _e, pid, epoch = c.init_producer_id()
        assert c.produce(t, 0, idem_batch([b"a"], pid, epoch, 0)) == (0, 0)
        last = idem_batch([b"b", b"c"], pid, epoch, 1)
        assert c.produce(t, 0, last) == (0, 1)
    b.restart(how)
    with RawConn(b.port) as c:
        assert c.produce(t, 0, last) == (0, 1)
        assert c.produce(t, 0, idem_batch([b"a"], pid, epoch, 0)) == (0, 0)
        err, _ = c.produce(t, 0, idem_batch([b"x"], pid, epoch, 9))
        assert err == OUT_OF_ORDER
        assert c.produce(t, 0, idem_batch([b"d"], pid, epoch, 3)) == (0, 3)
        # producer ids are never handed out twice, not even after SIGKILL
        _e, pid2, _ep = c.init_producer_id()
        assert pid2 > pid
    assert [v for _o, v in fetch_values(b.port, t, 0)] == [b"a", b"b", b"c", b"d"]


class CuttingProxy:
    """127.0.0.1 TCP proxy that, a limited number of times, cuts a connection mid-request
    (forwarding half a chunk to the broker) or swallows a response and cuts: once armed, every
    `every`-th chunk of each direction, `cuts` times per direction, so every run sees both."""

    def __init__(self, cuts=4, every=7):
        self.target_port = None  # set before start()
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        self.max_cuts = cuts
        self.every = every
        self.chunks = {"request": 0, "response": 0}
        self.lock = threading.Lock()
        self.cuts = {"request": 0, "response": 0}
        self.stopping = False
        self.armed = False  # cuts only once set (the admin client does not retry CreateTopics)
        self.threads = []

    def start(self):
        th = threading.Thread(target=self._accept, daemon=True)
        th.start()
        self.threads.append(th)
        return self

    def stop(self):
        self.stopping = True
        self.lsock.close()

    def _cut_now(self, direction):
        with self.lock:
            if not self.armed or self.cuts[direction] == self.max_cuts:
                return False
            self.chunks[direction] += 1
            if self.chunks[direction] % self.every == 0:
                self.cuts[direction] += 1
                return True
        return False

    def _accept(self):
        while not self.stopping:
            try:
                cs, _ = self.lsock.accept()
            except OSError:
                return
            try:
                bs = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                cs.close()
                continue
            th = threading.Thread(target=self._pump, args=(cs, bs), daemon=True)
            th.start()
            self.threads.append(th)

    def _pump(self, cs, bs):
        try:
            while not self.stopping:
                r, _, _ = select.select([cs, bs], [], [], 0.5)
                for s in r:
                    data = s.recv(65536)
                    if not data:
                        return
                    if s is cs:
                        if len(data) > 8 and self._cut_now("request"):
                            bs.sendall(data[:len(data) // 2])
                            return
                        bs.sendall(data)
                    else:
                        if self._cut_now("response"):
                            return
                        cs.sendall(data)
        except OSError:
            pass
        finally:
            cs.close()
            bs.close()


def test_confluent_idempotent_through_cutting_proxy(make_broker):
    """Every delivered message exactly once, in produce order per partition, although
    connections are cut mid-request and responses are lost (retries of appended batches)."""
    proxy = CuttingProxy()
    proxy_port = proxy.port
    # clients learn the broker's address from Metadata: it must be the proxy's
    b = make_broker(sets={"advertised.listeners": "PLAINTEXT://127.0.0.1:%d" % proxy_port})
    proxy.target_port = b.port
    proxy.start()
    bootstrap = "127.0.0.1:%d" % proxy_port
    t = unique("idem-proxy")
    try:
        create_topic(bootstrap, t, 2)
        proxy.armed = True
        p = ck_producer(bootstrap, **{
            "enable.idempotence": True, "acks": "all", "linger.ms": 2,
            "batch.num.messages": 50, "message.timeout.ms": int(60000 * SLOW),
            "retry.backoff.ms": 20, "reconnect.backoff.ms": 10,
            "reconnect.backoff.max.ms": 200, "socket.timeout.ms": int(5000 * SLOW)})
        n = 3000
        results = {}
        errors = []

        def cb(err, msg):
            if err is not None:
                errors.append(err)
            else:
                results[msg.value()] = (msg.partition(), msg.offset())
        for i in range(n):
            while True:
                try:
                    p.produce(t, value=b"m%05d" % i, partition=i % 2, on_delivery=cb)
                    break
                except BufferError:
                    p.poll(0.05)
            if i % 100 == 0:
                p.poll(0)
                time.sleep(0.01)  # spread the load so cuts hit many requests
        assert p.flush(90 * SLOW) == 0
        assert not errors, errors[:5]
        assert len(results) == n
    finally:
        proxy.stop()
    print("proxy cuts", proxy.cuts)
    assert proxy.cuts["request"] > 0 and proxy.cuts["response"] > 0
    for part in (0, 1):
        recs = fetch_values(b.port, t, part)
        values = [v for _o, v in recs]
        assert [o for o, _v in recs] == list(range(len(recs)))
        expect = [b"m%05d" % i for i in range(part, n, 2)]
        assert len(values) == len(set(values)), "duplicates in partition %d" % part
        assert values == expect, "partition %d: not exactly once in order" % part
        for off, v in recs:
            assert results[v] == (part, off)
