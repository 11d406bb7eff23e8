"""A full file system: produces fail with KAFKA_STORAGE_ERROR (56) instead of killing the broker
(index files are written through shared mappings: a store into a page the file system cannot
allocate would raise SIGBUS), acknowledged data stays readable, and producing works again once
space is freed. Needs root for a small tmpfs; skipped otherwise.

Two ways to fill it: a topic whose 100 kB segments roll while the disk fills, and a topic of
many partitions with an index entry per batch, whose second record needs fresh index pages
while its log page exists already (the case that used to end in SIGBUS)."""
import os
import subprocess

import pytest

from conftest import SLOW, ck_consume, ck_producer, create_topic, unique

FS_BYTES = 8 << 20
FREE_BYTES = 1 << 20  # left free by the filler file: a few 100 kB segments
STORAGE_ERROR = 56


@pytest.fixture
def small_fs(tmp_path):
    d = tmp_path / "fs"
    d.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d" % FS_BYTES, "tmpfs", str(d)],
                       capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs: %s" % r.stderr.decode(errors="replace").strip())
    yield d
    subprocess.run(["umount", "-l", str(d)], capture_output=True)


def fill(path, nbytes):
    with open(path, "wb") as f:
        chunk = b"\xa5" * 65536
        left = nbytes
        while left > 0:
            f.write(chunk[:min(left, len(chunk))])
            left -= min(left, len(chunk))


class SyncProducer:
    """One request per record (linger 0, flushed each time) and no retries, so each delivery
    report is the broker's answer to that record."""

    def __init__(self, bootstrap):
        self.p = ck_producer(bootstrap, **{"retries": 0, "acks": "all", "linger.ms": 0,
                                           "message.timeout.ms": int(10000 * SLOW)})

    def send(self, topic, partition, value):
        """-> (error or None, offset)"""
        res = []
        self.p.produce(topic, value=value, partition=partition,
                       on_delivery=lambda err, msg: res.append((err, msg.offset())))
        assert self.p.flush(10 * SLOW) == 0
        return res[0]


def read_all(bootstrap, topic, npart, acked):
    """Checks that partition by partition the log holds exactly the acknowledged records."""
    want = {(p, o): v for (t, p, o), v in acked.items() if t == topic}
    got = ck_consume(bootstrap, topic, list(range(npart)), len(want), timeout=20.0)
    assert {(m.partition(), m.offset()): m.value() for m in got} == want, topic
    for k in range(npart):
        offs = sorted(o for p, o in want if p == k)
        assert offs == list(range(len(offs))), (topic, k)


def test_disk_full_storage_error_then_recovers(make_broker, small_fs):
    filler = small_fs / "filler"
    fill(filler, FS_BYTES - FREE_BYTES)
    b = make_broker({"log.segment.bytes": 100000}, data_dir=small_fs / "data")
    rolling = create_topic(b.bootstrap, unique("roll"), 1)
    NP = 100
    many = create_topic(b.bootstrap, unique("many"), NP, config={"index.interval.bytes": "1"})
    prod = SyncProducer(b.bootstrap)
    acked = {}
    failures = 0

    def send(topic, k, v):
        nonlocal failures
        err, off = prod.send(topic, k, v)
        if err is None:
            acked[(topic, k, off)] = v
        else:
            assert err.code() == STORAGE_ERROR, err
            failures += 1
        return err

    # About 400 kB in 2 kB records: a few rolls.
    for i in range(200):
        assert send(rolling, 0, (b"%06d-" % i) * 300) is None
    for rnd in range(100):
        for k in range(NP):
            send(many, k, b"%d-%d-" % (rnd, k) * 10)
        if failures >= 20:
            break
        send(rolling, 0, b"roll-%d-" % rnd * 300)
    assert failures >= 20, "the file system never filled up (%d acked)" % len(acked)
    assert b.alive(), b.stderr()[-4000:]
    # The storage layer's own warning is rate-limited (one line per 5 s at most).
    assert b.stderr().count("append failed") <= 3, b.stderr()[-4000:]

    read_all(b.bootstrap, rolling, 1, acked)
    read_all(b.bootstrap, many, NP, acked)

    # Space returns: producing works again, on the same partitions.
    os.unlink(filler)
    for i in range(20):
        assert send(rolling, 0, (b"after-%d-" % i) * 100) is None
    for k in range(NP):
        assert send(many, k, b"after-%d" % k) is None
    read_all(b.bootstrap, rolling, 1, acked)
    read_all(b.bootstrap, many, NP, acked)

    b.stop_clean()
    b.start()
    read_all(b.bootstrap, rolling, 1, acked)
    read_all(b.bootstrap, many, NP, acked)
    assert "truncating" not in b.stderr(), b.stderr()[-4000:]
