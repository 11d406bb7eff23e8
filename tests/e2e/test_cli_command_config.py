"""Client settings on every `runnel` subcommand: -X KEY=VALUE and --command-config FILE (Kafka
tools' properties files), against a PLAINTEXT broker."""
import subprocess

import pytest

from conftest import RUNNEL_BIN, SLOW, create_topic, runnel, unique, wait_until


def ok(r):
    assert r.returncode == 0, "rc=%d stderr=%s" % (r.returncode, r.stderr.decode(errors="replace"))
    return r.stdout.decode(errors="replace")


def write(tmp_path, text, name="client.properties"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def member_client_ids(bootstrap, group):
    r = runnel("group", "describe", group, "-b", bootstrap)
    return r.stdout.decode(errors="replace") if r.returncode == 0 else ""


def run_consumer_and_see_client_id(broker, args, client_id):
    """Starts `runnel consume -G` with args, waits until the group shows a member with
    client_id (from `runnel group describe`), then stops it."""
    t = create_topic(broker.bootstrap, unique("cc"), 1)
    g = unique("ccg")
    p = subprocess.Popen([RUNNEL_BIN, "consume", t, "-G", g] + args,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: client_id in member_client_ids(broker.bootstrap, g), timeout=30 * SLOW,
                   what="a member with client id %s" % client_id)
    finally:
        p.terminate()
        _, err = p.communicate(timeout=20 * SLOW)
    return err.decode(errors="replace")


def test_command_config_sets_client_id(broker, tmp_path):
    cid = unique("cfg-client")
    f = write(tmp_path, "# Kafka tools' file\n! another comment\n\n"
                        "client.id = %s\nsecurity.protocol=PLAINTEXT\n" % cid)
    run_consumer_and_see_client_id(broker, ["-b", broker.bootstrap, "--command-config", f], cid)


def test_x_wins_over_command_config(broker, tmp_path):
    f = write(tmp_path, "client.id=from-file\n")
    cid = unique("from-x")
    run_consumer_and_see_client_id(
        broker, ["-b", broker.bootstrap, "--command-config", f, "-X", "client.id=" + cid], cid)


def test_command_config_bootstrap_and_unknown_keys(broker, tmp_path):
    # bootstrap.servers from the file is used when -b is not given; Java-only keys that
    # librdkafka does not know are skipped with a warning (as Kafka's tools warn).
    f = write(tmp_path, "bootstrap.servers=%s\nsasl.kerberos.kinit.cmd.java=x\n"
                        "ssl.truststore.type=PEM\n" % broker.bootstrap)
    t = unique("ccb")
    r = runnel("topic", "create", t, "--command-config", f)
    ok(r)
    assert "ignored" in r.stderr.decode()
    assert t in ok(runnel("topic", "list", "--command-config", f))
    # -b wins over the file's bootstrap.servers, wherever it is on the line.
    bad = write(tmp_path, "bootstrap.servers=127.0.0.1:1\n", "bad.properties")
    assert t in ok(runnel("topic", "list", "--command-config", bad, "-b", broker.bootstrap))
    r = runnel("topic", "list", "--command-config", bad, "--timeout-ms", "3000")
    assert r.returncode == 1 and b"127.0.0.1:1" in r.stderr


@pytest.mark.parametrize("cmd", [
    ["topic", "list"], ["produce", "t"], ["consume", "t"], ["group", "list"],
    ["broker", "configs"], ["cluster", "status"], ["bench", "produce"], ["user", "list"],
    ["acl", "list"], ["quota", "list"], ["topic", "log-dirs"],
])
def test_every_subcommand_takes_the_client_settings(cmd, tmp_path):
    r = runnel(*(cmd + ["--help"]))
    out = r.stdout.decode() + r.stderr.decode()
    assert "--command-config" in out and "-X" in out, cmd
    # A missing file is one clear line and exit code 2, before any connection.
    r = runnel(*(cmd + ["--command-config", str(tmp_path / "nope.properties")]))
    assert r.returncode == 2, (cmd, r.stderr)
    assert b"nope.properties: No such file or directory" in r.stderr


def test_bad_command_config_lines(tmp_path):
    f = write(tmp_path, "client.id=x\njust-a-word\n")
    r = runnel("topic", "list", "--command-config", f)
    assert r.returncode == 2 and b":2: not KEY=VALUE" in r.stderr
    f = write(tmp_path, "ssl.truststore.location=/etc/kafka/trust.jks\n", "jks.properties")
    r = runnel("topic", "list", "--command-config", f)
    assert r.returncode == 2 and b"JKS truststore" in r.stderr
    f = write(tmp_path, "sasl.jaas.config=com.example.Login required;\n", "jaas.properties")
    r = runnel("topic", "list", "--command-config", f)
    assert r.returncode == 2 and b"sasl.jaas.config" in r.stderr
    # A value librdkafka refuses is an error, naming the file.
    f = write(tmp_path, "security.protocol=CARRIER_PIGEON\n", "proto.properties")
    r = runnel("topic", "list", "--command-config", f)
    assert r.returncode == 2 and b"proto.properties: bad property security.protocol" in r.stderr
