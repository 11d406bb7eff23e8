"""server.properties (-c), --set overrides, and rejection of unknown keys and bad values."""
import os
import re
import socket
import subprocess

import pytest

from conftest import (RUNNEL_BIN, SLOW, Broker, RawConn, ck_admin, ck_produce, create_topic,
                      unique)


def serve_fails(tmp_path, args, timeout=5.0, one_line=True):
    """Runs `runnel serve ARGS` expecting it to exit non-zero promptly; returns stderr."""
    argv = [RUNNEL_BIN, "serve", "--set", "log.dirs=%s" % (tmp_path / "d"),
            "--set", "listeners=PLAINTEXT://127.0.0.1:0", "--set", "admin.listener=127.0.0.1:0"]
    argv += args
    try:
        r = subprocess.run(argv, capture_output=True, timeout=timeout * SLOW)
    except subprocess.TimeoutExpired:
        pytest.fail("runnel serve %r kept running; expected a config error" % (args,))
    assert r.returncode != 0, "exit 0 for %r" % (args,)
    err = r.stderr.decode(errors="replace")
    lines = [l for l in err.splitlines() if l.strip()]
    if one_line:
        assert len(lines) == 1, "expected a one-line error, got:\n%s" % err
    return lines[-1]


def partitions_of(b, topic):
    ck_produce(b.bootstrap, topic, [(None, b"x")])
    return len(ck_admin(b.bootstrap).list_topics(topic, timeout=5 * SLOW).topics[topic].partitions)


def write_props(path, data_dir, extra=""):
    path.write_text(
        "# Runnel test config\n"
        "! a comment too\n"
        "listeners=PLAINTEXT://127.0.0.1:0\n"
        "admin.listener = 127.0.0.1:0\n"
        "log.dirs=%s\n"
        "num.partitions=5\n"
        "\n"
        "auto.create.topics.enable=true\n" % data_dir + extra)
    return path


def test_properties_file(tmp_path, request):
    props = write_props(tmp_path / "server.properties", tmp_path / "data")
    b = Broker(tmp_path / "data", config_file=props).start()
    try:
        assert partitions_of(b, unique("cf")) == 5
        assert (tmp_path / "data").is_dir()
    finally:
        b.stop_clean()


def test_set_overrides_file(tmp_path):
    props = write_props(tmp_path / "server.properties", tmp_path / "data")
    b = Broker(tmp_path / "data", config_file=props, sets={"num.partitions": 2}).start()
    try:
        assert partitions_of(b, unique("ov")) == 2
    finally:
        b.stop_clean()


def test_file_with_no_effect_kafka_keys_is_accepted(tmp_path):
    """A typical Kafka server.properties carries keys meaningless for one node; they warn."""
    props = write_props(tmp_path / "server.properties", tmp_path / "data",
                        "num.io.threads=8\nsocket.send.buffer.bytes=102400\n"
                        "offsets.topic.replication.factor=1\n")
    b = Broker(tmp_path / "data", config_file=props).start()
    try:
        with RawConn(b.port) as c:
            assert c.api_versions(0)[0] == 0
    finally:
        b.stop_clean()


def test_node_id_in_metadata(make_broker):
    b = make_broker({"node.id": 7})
    md = ck_admin(b.bootstrap).list_topics(timeout=5 * SLOW)
    assert list(md.brokers) == [7] and md.controller_id == 7


def test_advertised_listeners(make_broker):
    b = make_broker({"advertised.listeners": "PLAINTEXT://localhost:19092"})
    with RawConn(b.port) as c:
        brokers, _ = c.metadata_v0([])
    assert [(h, p) for _id, h, p in brokers] == [("localhost", 19092)]


@pytest.mark.parametrize("kv,key", [
    ("no.such.key=1", "no.such.key"),
    ("log.retention.jiffies=5", "log.retention.jiffies"),
])
def test_unknown_key_rejected(tmp_path, kv, key):
    line = serve_fails(tmp_path, ["--set", kv])
    assert key in line


def test_unknown_key_in_file_rejected(tmp_path):
    props = write_props(tmp_path / "server.properties", tmp_path / "data", "bogus.setting=1\n")
    try:
        r = subprocess.run([RUNNEL_BIN, "serve", "-c", str(props)], capture_output=True,
                           timeout=5 * SLOW)
    except subprocess.TimeoutExpired:
        pytest.fail("broker started with an unknown key in its file")
    assert r.returncode != 0
    err = r.stderr.decode()
    assert "bogus.setting" in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("kv,key", [
    ("num.partitions=abc", "num.partitions"),
    ("num.partitions=0", "num.partitions"),
    ("auto.create.topics.enable=maybe", "auto.create.topics.enable"),
    ("log.message.timestamp.type=WallClock", "log.message.timestamp.type"),
    ("message.max.bytes=99999999999", "message.max.bytes"),
    ("log.segment.bytes=-1", "log.segment.bytes"),
    ("listeners=SASL_SSL://127.0.0.1:0", "listeners"),
    ("listeners=PLAINTEXT://127.0.0.1:notaport", "listeners"),
])
def test_bad_value_rejected(tmp_path, kv, key):
    line = serve_fails(tmp_path, ["--set", kv])
    assert key in line


def test_set_without_equals_rejected(tmp_path):
    line = serve_fails(tmp_path, ["--set", "num.partitions"])
    assert "num.partitions" in line


def test_missing_config_file(tmp_path):
    line = serve_fails(tmp_path, ["-c", str(tmp_path / "nope.properties")])
    assert "nope.properties" in line


def test_port_in_use(tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    try:
        port = s.getsockname()[1]
        line = serve_fails(tmp_path, ["--set", "listeners=PLAINTEXT://127.0.0.1:%d" % port],
                           one_line=False)
        assert str(port) in line
    finally:
        s.close()


def test_serve_help():
    r = subprocess.run([RUNNEL_BIN, "serve", "--help"], capture_output=True, timeout=5 * SLOW)
    assert r.returncode == 0
    out = (r.stdout + r.stderr).decode()
    assert "--set" in out and "-c" in out


def test_sigterm_exit_zero_and_sigint(make_broker):
    import signal
    b = make_broker()
    b.stop_clean()
    b.start()
    b.proc.send_signal(signal.SIGINT)
    assert b.proc.wait(10 * SLOW) == 0
    b.proc = None
    b._errf.close()


def test_sigterm_prompt_with_parked_fetch(make_broker):
    """A long-poll Fetch parked for 8 s must not hold up a SIGTERM shutdown."""
    b = make_broker()
    t = create_topic(b.bootstrap, unique("park"), 1)
    c = RawConn(b.port)
    try:
        c.send(1, 4, RawConn.fetch_body(t, 0, 0, max_wait_ms=8000))
        import time
        time.sleep(0.2)
        t0 = time.monotonic()
        b.stop_clean()
        el = time.monotonic() - t0
    finally:
        c.close()
    assert el < 2.0 * SLOW, "SIGTERM took %.1fs with a parked fetch" % el


# ------------------------------------------------------------------ a Kafka server.properties
KAFKA_PROPS = os.path.join(os.path.dirname(__file__), "data", "server.properties")


def props_keys(path):
    keys = []
    for line in open(path):
        line = line.strip()
        if line and line[0] not in "#!":
            keys.append(line.split("=", 1)[0].strip())
    return keys


def no_effect_keys():
    """Exact keys and key prefixes `runnel serve --list-config` marks as accepted, no effect."""
    out = subprocess.run([RUNNEL_BIN, "serve", "--list-config"], capture_output=True,
                         timeout=10 * SLOW).stdout.decode()
    exact, prefixes, used = set(), [], set()
    for line in out.splitlines():
        if line.startswith("Topic configs"):
            break  # the topic keys follow; only broker keys are server.properties keys
        name = line.split()[0] if line.split() else ""
        if "no effect" in line:
            (prefixes.append(name) if name.endswith(".") else exact.add(name))
        elif name.startswith(tuple(prefixes)):
            used.add(name)  # a key of a no-effect family that is read after all
    return exact - used, [p for p in prefixes], used


def test_kafka_server_properties_loads_and_warns_once_per_key(tmp_path):
    """A production-style Kafka server.properties (security, log.cleaner.*, replication, ZooKeeper
    keys) starts the broker; each key Runnel accepts without acting on it warns exactly once
    (also when --set repeats it), keys Runnel implements do not warn, secrets never reach the
    log, and the implemented keys act."""
    b = Broker(tmp_path / "data", config_file=KAFKA_PROPS,
               sets={"log.dirs": tmp_path / "data", "listeners": "PLAINTEXT://127.0.0.1:0",
                     "admin.listener": "127.0.0.1:0", "num.io.threads": 16,
                     "ssl.key.password": "another-secret-1234",
                     # The file enables the AclAuthorizer; this PLAINTEXT client is
                     # User:ANONYMOUS, which no ACL names.
                     "allow.everyone.if.no.acl.found": "true"}).start()
    try:
        assert partitions_of(b, unique("kprops")) == 3  # num.partitions=3 acts
        log = b.stderr()
    finally:
        b.stop_clean()
    exact, prefixes, used = no_effect_keys()
    warned = [l for l in log.splitlines() if "accepted for compatibility" in l]
    keys = props_keys(KAFKA_PROPS)
    compat = [k for k in keys
              if k not in used and (k in exact or any(k.startswith(p) for p in prefixes))]
    # The file is meant to exercise them (fewer as security keys gain an effect).
    assert len(compat) >= 12, compat
    for k in keys:
        n = sum(1 for l in warned if re.search(r"config %s(=| )" % re.escape(k), l))
        assert n == (1 if k in compat else 0), "%s: %d warnings\n%s" % (k, n, "\n".join(warned))
    assert len(warned) == len(compat), "\n".join(warned)
    assert "secret-1234" not in log
