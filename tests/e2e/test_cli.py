"""The `runnel` client subcommands against the real broker."""
import time

import pytest

from confluent_kafka import TopicPartition

from conftest import (SLOW, ck_admin, ck_consume, ck_consumer, ck_produce, create_topic,
                      free_port, runnel, unique)


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
    (["topic", "alter"], ["--set", "--delete", "-b", "--timeout-ms", "-X"]),
    (["topic", "delete-records"], ["--partition", "--before", "-b", "--timeout-ms", "-X"]),
    (["topic", "log-dirs"], ["--topic-list", "-b", "--timeout-ms", "-X"]),
    (["broker"], ["configs", "--set", "--delete", "--broker-id", "-b", "--timeout-ms"]),
    (["broker", "configs"], ["--set", "--delete", "--default", "--broker-id", "-b",
                             "--timeout-ms", "-X"]),
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
    # The broker-only options are not options of `topic alter`.
    for opt in ("--default", "--broker-id=1"):
        r = runnel("topic", "alter", "x", "--set", "a=b", opt)
        assert r.returncode == 2 and "unknown option" in one_line_error(r)


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
    out = ok(runnel("topic", "create", name, "--if-not-exists", *bs))
    assert out == "Topic %s already exists; nothing done.\n" % name
    fresh = unique("clifresh")
    out = ok(runnel("topic", "create", fresh, "--if-not-exists", *bs))
    assert out == "Created topic %s.\n" % fresh
    assert ok(runnel("topic", "delete", fresh, "--if-exists", *bs)) == "Deleted topic %s.\n" % fresh
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
    out = ok(runnel("topic", "delete", name, "--if-exists", *bs))
    assert out == "Topic %s does not exist; nothing done.\n" % name
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


# ------------------------------------------------------------------------------ bench
def count_to_end(bootstrap, topic, nparts):
    """Committed records of the topic, read until every partition reports its end."""
    import confluent_kafka
    c = ck_consumer(bootstrap, **{"enable.partition.eof": True,
                                  "isolation.level": "read_committed"})
    c.assign([TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING)
              for p in range(nparts)])
    n, ended = 0, set()
    deadline = time.monotonic() + 15 * SLOW
    try:
        while len(ended) < nparts:
            assert time.monotonic() < deadline, "partitions %s never reached their end" % ended
            for m in c.consume(num_messages=500, timeout=0.2):
                if not m.error():
                    n += 1
                elif m.error().code() == confluent_kafka.KafkaError._PARTITION_EOF:
                    ended.add(m.partition())
                else:
                    raise AssertionError("consumer error: %s" % m.error())
    finally:
        c.close()
    return n


def test_bench_produce_creates_topic_and_writes_only_measured_records(broker):
    """--partitions creates the topic before the producer's metadata could auto-create it (the
    session broker auto-creates with num.partitions=3), and no warm-up record is left behind."""
    import json
    t = unique("clibench")
    bs = ["-b", broker.bootstrap]
    r = ok(runnel("bench", "produce", "-t", t, "--partitions", "2", "-s", "10", "-c", "300",
                  "--json", *bs))
    assert json.loads(r.splitlines()[-1])["records"] == 300
    md = ck_admin(broker.bootstrap).list_topics(t, timeout=5 * SLOW)
    assert len(md.topics[t].partitions) == 2
    c = ck_consumer(broker.bootstrap)
    total = sum(c.get_watermark_offsets(TopicPartition(t, p), timeout=5 * SLOW)[1]
                for p in range(2))
    c.close()
    assert total == 300
    # Transactional: init_transactions is the warm-up; the topic holds the measured records.
    ok(runnel("bench", "produce", "-t", t, "--partitions", "2", "-s", "10", "-c", "50",
              "--transactional-id", unique("benchtx"), *bs))
    assert count_to_end(broker.bootstrap, t, 2) == 350
    # An existing topic with another partition count is not silently used.
    line = one_line_error(runnel("bench", "produce", "-t", t, "--partitions", "5", "-c", "1",
                                 *bs))
    assert "2 partitions" in line and "5" in line


def test_broker_id_and_missing_partition_errors(broker):
    """A --broker-id the cluster does not list, and a partition that does not exist, fail at
    once with one line that says so (not after --timeout-ms as "no answer from" the broker)."""
    bs = ["-b", broker.bootstrap, "--timeout-ms", "600000"]
    r = runnel("broker", "configs", "--broker-id", "99", *bs, timeout=20)
    line = one_line_error(r)
    assert r.returncode == 1
    assert line.startswith("runnel broker configs: --broker-id 99: no such broker"), line
    r = runnel("broker", "configs", "--broker-id", "x", *bs)
    assert r.returncode == 2 and "--broker-id expects" in one_line_error(r)
    t = create_topic(broker.bootstrap, unique("clidr"), 1)
    for topic, part in ((t, "5"), (unique("clinosuch"), "0")):
        r = runnel("topic", "delete-records", topic, "-p", part, "--before", "1", *bs,
                   timeout=20)
        line = one_line_error(r)
        assert r.returncode == 1
        assert "no answer" not in line and "leader" in line, line


# ------------------------------------------------------------------------------ bad broker
CLIENT_COMMANDS = [
    ["topic", "list"],
    ["topic", "create", "x"],
    ["topic", "describe", "x"],
    ["topic", "delete", "x"],
    ["consume", "x", "-e"],
    ["consume", "x", "-G", "g"],
    ["produce", "x"],
    ["group", "list"],
    ["group", "describe", "g"],
    ["group", "reset-offsets", "-g", "g", "--all-topics", "--to-earliest"],
    ["bench", "produce", "-t", "x", "-c", "10"],
    ["bench", "consume", "-t", "x", "-c", "10"],
    ["topic", "alter", "x", "--set", "retention.ms=1"],
    ["topic", "delete-records", "x", "-p", "0", "--before", "1"],
    ["topic", "log-dirs"],
    ["broker", "configs"],
    ["broker", "configs", "--set", "log.retention.ms=1"],
]


@pytest.mark.parametrize("args", CLIENT_COMMANDS, ids=lambda a: "-".join(a[:2]))
def test_refused_connection_fails_at_once(args):
    """A refused connection ends every client subcommand at once (not after --timeout-ms, set
    far beyond the process deadline here) with the same one line."""
    port = free_port()
    bs = ["-b", "127.0.0.1:%d" % port, "--timeout-ms", "600000"]
    try:
        r = runnel(*(args + bs), input=b"line\n", timeout=20)
    except __import__("subprocess").TimeoutExpired:
        pytest.fail("runnel %s against a closed port still running after 20 s: it waited for "
                    "its timeout instead of failing on the refused connection" % " ".join(args))
    line = one_line_error(r)
    assert r.returncode == 1
    cmd = "runnel " + " ".join(args[:2] if args[0] in ("topic", "group", "bench", "broker") else args[:1])
    assert line == "%s: cannot connect to 127.0.0.1:%d: Connection refused" % (cmd, port)


@pytest.mark.parametrize("addr,why", [
    ("127.0.0.1:0", "out of range"),
    ("127.0.0.1:65536", "out of range"),
    ("127.0.0.1:99999999999999999999", "out of range"),
    ("127.0.0.1:abc", "not a number"),
    ("127.0.0.1:", "missing port"),
    (":9092", "missing host"),
    ("not an address", "not HOST[:PORT]"),
    ("127.0.0.1:9092,127.0.0.1:x", "not a number"),
    ("[::1", "IPv6"),
])
def test_bootstrap_address_validated(addr, why):
    for args in (["topic", "list"], ["produce", "x"], ["bench", "consume", "-t", "x", "-c", "1"],
                 ["topic", "alter", "x", "--set", "a=b"], ["broker", "configs"],
                 ["topic", "delete-records", "x", "-p", "0", "--before", "1"],
                 ["topic", "log-dirs"]):
        r = runnel(*args, "-b", addr, timeout=10)
        line = one_line_error(r)
        assert r.returncode == 2
        assert "-b" in line and why in line, line


def test_log_dirs_unreachable_broker_same_line(make_broker):
    """log-dirs asks each broker over its own TCP connection (librdkafka has no
    DescribeLogDirs); a broker that the bootstrap server names but that refuses the connection
    is reported in the line every client subcommand prints for a refused bootstrap server."""
    port = free_port()
    b = make_broker({"advertised.listeners": "PLAINTEXT://127.0.0.1:%d" % port})
    r = runnel("topic", "log-dirs", "-b", b.bootstrap, "--timeout-ms", "600000", timeout=20)
    line = one_line_error(r)
    assert r.returncode == 1
    assert line == "runnel topic log-dirs: cannot connect to 127.0.0.1:%d: Connection refused" % port


def test_bootstrap_default_port_is_stated():
    """A -b without a port means 9092 (librdkafka's and kcat's rule), and --help says so."""
    out = ok(runnel("topic", "--help"))
    assert "9092" in out and "PORT" in out
    port = free_port()
    # A valid address without a port is accepted (it is not an option error, exit code 2).
    r = runnel("topic", "list", "-b", "127.0.0.1:%d,localhost" % port, "--timeout-ms", "3000",
               timeout=20)
    assert r.returncode != 2, r.stderr


def test_client_side_size_limit_names_the_setting(broker):
    t = create_topic(broker.bootstrap, unique("clibig"), 1)
    big = b"x" * 2_000_000 + b"\n"
    r = runnel("produce", t, "-b", broker.bootstrap, input=big)
    line = one_line_error(r)
    assert "Broker:" not in line, line
    assert "message.max.bytes" in line and "-X message.max.bytes=" in line, line
    r = runnel("bench", "produce", "-t", t, "-s", "2000000", "-c", "1", "-b", broker.bootstrap)
    assert r.returncode != 0
    err = r.stderr.decode()
    assert "Broker:" not in err and "-X message.max.bytes=" in err, err
    # Raised as told, the client sends it; the broker's own limit (1048588) then answers.
    r = runnel("produce", t, "-b", broker.bootstrap, "-X", "message.max.bytes=2001024",
               input=big)
    line = one_line_error(r)
    assert "Broker: Message size too large" in line and "max.message.bytes" in line, line


@pytest.mark.parametrize("args", [
    ["topic", "list"],
    ["topic", "create", "x"],
    ["consume", "x", "-e"],
    ["produce", "x"],
])
def test_bad_broker_address(args):
    bs = ["-b", "127.0.0.1:%d" % free_port(), "--timeout-ms", "1500"]
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
