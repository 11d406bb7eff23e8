"""The `runnel` client subcommands against the real broker."""
import socket
import time

import pytest

from conftest import (SLOW, ck_admin, ck_consume, ck_produce, create_topic, runnel, unique)


def ok(r):
    assert r.returncode == 0, "rc=%d stderr=%s" % (r.returncode, r.stderr.decode(errors="replace"))
    return r.stdout.decode(errors="replace")


def one_line_error(r):
    assert r.returncode != 0
    err = r.stderr.decode(errors="replace")
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1, "expected one line on stderr, got:\n%s" % err
    return lines[0]


# ------------------------------------------------------------------------------ help
def test_top_level_help():
    out = ok(runnel("--help"))
    for cmd in ("serve", "topic", "produce", "consume"):
        assert cmd in out


@pytest.mark.parametrize("cmd,opts", [
    (["topic"], ["create", "list", "describe", "delete", "--partitions", "--config",
                 "--bootstrap-server"]),
    (["produce"], ["--key-separator", "-K", "--header", "--compression", "--acks", "-b"]),
    (["consume"], ["--offset", "--from-timestamp", "--count", "--exit-at-end", "--print-key",
                   "--print-headers", "--print-partition", "--print-offset", "--format", "-b"]),
    (["serve"], ["--set", "-c"]),
])
def test_subcommand_help(cmd, opts):
    r = runnel(*(cmd + ["--help"]))
    out = ok(r) + r.stderr.decode()
    for o in opts:
        assert o in out, "%s --help does not mention %s" % (cmd[0], o)


def test_unknown_command_and_option():
    one_line_error(runnel("frobnicate"))
    one_line_error(runnel("consume", "t", "--no-such-option"))
    one_line_error(runnel("topic", "explode", "x"))


# ------------------------------------------------------------------------------ topic admin
def test_topic_create_list_describe_delete(broker):
    name = unique("clitopic")
    bs = ["-b", broker.bootstrap]
    out = ok(runnel("topic", "create", name, "--partitions", "4", "--config",
                    "retention.ms=3600000", "--config", "cleanup.policy=delete", *bs))
    assert name in out
    assert name in ok(runnel("topic", "list", *bs)).split()
    desc = ok(runnel("topic", "describe", name, *bs))
    assert "PartitionCount: 4" in desc
    assert "retention.ms=3600000" in desc
    assert sum(1 for l in desc.splitlines() if "Partition: " in l and "Leader: " in l) == 4
    md = ck_admin(broker.bootstrap).list_topics(name, timeout=5 * SLOW)
    assert len(md.topics[name].partitions) == 4
    # duplicate create fails with one line, --if-not-exists succeeds
    line = one_line_error(runnel("topic", "create", name, *bs))
    assert "exist" in line.lower()
    ok(runnel("topic", "create", name, "--if-not-exists", *bs))
    # grow
    ok(runnel("topic", "add-partitions", name, "--partitions", "6", *bs))
    assert "PartitionCount: 6" in ok(runnel("topic", "describe", name, *bs))
    # delete
    ok(runnel("topic", "delete", name, *bs))
    deadline = time.monotonic() + 5 * SLOW
    while name in ok(runnel("topic", "list", *bs)).split():
        assert time.monotonic() < deadline, "topic still listed after delete"
        time.sleep(0.05)
    one_line_error(runnel("topic", "delete", name, *bs))
    ok(runnel("topic", "delete", name, "--if-exists", *bs))
    one_line_error(runnel("topic", "describe", name, *bs))


def test_topic_create_invalid(broker):
    bs = ["-b", broker.bootstrap]
    one_line_error(runnel("topic", "create", "bad name", *bs))
    one_line_error(runnel("topic", "create", unique("rf"), "--replication-factor", "3", *bs))
    one_line_error(runnel("topic", "create", unique("cfg"), "--config", "retention.ms=soon",
                          *bs))


# ------------------------------------------------------------------------------ produce/consume
def test_produce_then_consume(broker):
    t = create_topic(broker.bootstrap, unique("clipc"), 1)
    bs = ["-b", broker.bootstrap]
    lines = [b"k%d:value %d" % (i, i) for i in range(10)]
    ok(runnel("produce", t, "-K", ":", "-H", "src=cli", "-H", "n=1", *bs,
              input=b"\n".join(lines) + b"\n"))
    out = ok(runnel("consume", t, "-o", "beginning", "-e", "--print-key", *bs))
    assert out.splitlines() == ["k%d\tvalue %d" % (i, i) for i in range(10)]
    # the other clients agree
    got = ck_consume(broker.bootstrap, t, [0], 10)
    assert [(m.key(), m.value(), m.headers()) for m in got] == [
        (b"k%d" % i, b"value %d" % i, [("src", b"cli"), ("n", b"1")]) for i in range(10)]
    out = ok(runnel("consume", t, "-o", "beginning", "-e", "--print-headers",
                    "--print-partition", "--print-offset", *bs))
    first = out.splitlines()[0].split("\t")
    assert "Partition:0" in first and "Offset:0" in first and "src:cli,n:1" in first
    assert first[-1] == "value 0"
    # -o OFFSET, -c N
    out = ok(runnel("consume", t, "-o", "7", "-e", *bs))
    assert out.splitlines() == ["value 7", "value 8", "value 9"]
    out = ok(runnel("consume", t, "-o", "beginning", "-c", "3", *bs))
    assert out.splitlines() == ["value 0", "value 1", "value 2"]
    out = ok(runnel("consume", t, "-o", "-2", "-e", *bs))
    assert out.splitlines() == ["value 8", "value 9"]
    out = ok(runnel("consume", t, "-o", "beginning", "-e", "-f", "%o|%k|%s|%S\n", *bs))
    assert out.splitlines()[3] == "3|k3|value 3|7"


def test_consume_from_timestamp(broker):
    t = create_topic(broker.bootstrap, unique("clits"), 1)
    base = int(time.time() * 1000) - 60_000
    ck_produce(broker.bootstrap, t, [(None, b"v%d" % i, None, base + i * 1000)
                                     for i in range(6)])
    out = ok(runnel("consume", t, "-s", str(base + 2500), "-e", "-f", "%o %T %s\n",
                    "-b", broker.bootstrap))
    assert out.splitlines() == ["%d %d v%d" % (i, base + i * 1000, i) for i in range(3, 6)]


def test_produce_compression_and_partition(broker):
    t = create_topic(broker.bootstrap, unique("cliz"), 3)
    for codec in ("gzip", "snappy", "lz4", "zstd"):
        ok(runnel("produce", t, "-p", "2", "-z", codec, "-b", broker.bootstrap,
                  input=b"".join(b"%s-%d\n" % (codec.encode(), i) for i in range(20))))
    got = ck_consume(broker.bootstrap, t, [0, 1, 2], 80)
    assert {m.partition() for m in got} == {2}
    assert [m.value() for m in got] == [b"%s-%d" % (c.encode(), i)
                                        for c in ("gzip", "snappy", "lz4", "zstd")
                                        for i in range(20)]


def test_produce_keyed_lines_match_murmur2(broker):
    from kafka.partitioner.default import murmur2
    t = create_topic(broker.bootstrap, unique("clik"), 6)
    keys = [b"key-%d" % i for i in range(30)]
    ok(runnel("produce", t, "-K", "=", "-b", broker.bootstrap,
              input=b"".join(k + b"=v\n" for k in keys)))
    got = ck_consume(broker.bootstrap, t, list(range(6)), 30)
    assert {m.key(): m.partition() for m in got} == {
        k: (murmur2(k) & 0x7FFFFFFF) % 6 for k in keys}


# ------------------------------------------------------------------------------ bad broker
def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.parametrize("args", [
    ["topic", "list"],
    ["topic", "create", "x"],
    ["consume", "x", "-e"],
    ["produce", "x"],
])
def test_bad_broker_address(args):
    bs = ["-b", "127.0.0.1:%d" % closed_port(), "--timeout-ms", "1500"]
    t0 = time.monotonic()
    try:
        r = runnel(*(args + bs), input=b"line\n", timeout=8)
    except __import__("subprocess").TimeoutExpired:
        pytest.fail("runnel %s with an unreachable broker and --timeout-ms 1500 still running "
                    "after 8s" % " ".join(args))
    el = time.monotonic() - t0
    line = one_line_error(r)
    assert line.strip()
    assert el < 10 * SLOW, "took %.1fs to give up" % el


def test_unparseable_broker_address():
    one_line_error(runnel("topic", "list", "-b", "not an address", "--timeout-ms", "1000"))
