"""`runnel dev cluster` (etcd + N brokers, Ctrl-C stops all) and `runnel cluster status`."""
import os
import re
import signal
import socket
import subprocess
import urllib.request

import pytest

from conftest import (RUNNEL_BIN, SLOW, ck_consume, ck_produce, fixed_free_port_range, runnel,
                      unique, wait_until, _http_json)

LINE_RE = re.compile(r"^(etcd|broker (\d+))\s+pid (\d+)\s+127\.0\.0\.1:(\d+)", re.M)


def port_range(n):
    """A base port with base..base+n-1 all free, below the ephemeral range: a range drawn from
    it (bind to port 0) was taken by the other tests' outgoing connections in CI."""
    return fixed_free_port_range(20000, n)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0): look at its state.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class DevCluster:
    def __init__(self, tmp_path, brokers=3, extra=()):
        os.makedirs(str(tmp_path), exist_ok=True)
        self.dir = str(tmp_path / "cluster")
        self.n = brokers
        self.port = port_range(brokers)
        self.admin = port_range(brokers)
        self.etcd_port = port_range(2)
        self.out_path = str(tmp_path / "dev.out")
        self.argv = [RUNNEL_BIN, "dev", "cluster", "--brokers", str(brokers), "--dir", self.dir,
                     "--port", str(self.port), "--admin-port", str(self.admin),
                     "--etcd-port", str(self.etcd_port)] + list(extra)
        self._out = open(self.out_path, "wb")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=subprocess.STDOUT)
        self.pids = {}

    def output(self):
        with open(self.out_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_up(self):
        def up():
            if self.proc.poll() is not None:
                raise AssertionError("dev cluster exited rc=%r:\n%s" % (self.proc.returncode,
                                                                        self.output()))
            return "is up; Ctrl-C stops it" in self.output()
        wait_until(up, 60.0, interval=0.1, what="dev cluster up")
        for m in LINE_RE.finditer(self.output()):
            self.pids[m.group(1)] = int(m.group(3))
        assert len(self.pids) == self.n + 1, self.output()
        return self

    @property
    def bootstrap(self):
        return ",".join("127.0.0.1:%d" % (self.port + i) for i in range(self.n))

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=90.0):
        rc = self.proc.wait(timeout * SLOW)
        self._out.close()
        return rc

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60 * SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        for pid in self.pids.values():
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def dev(tmp_path):
    made = []

    def make(**kw):
        d = DevCluster(tmp_path / ("d%d" % len(made)), **kw)
        made.append(d)
        return d
    yield make
    for d in made:
        d.cleanup()


def test_dev_cluster_starts_and_sigint_stops_everything(dev):
    d = dev(brokers=3).wait_up()
    out = d.output()
    assert "bootstrap: %s" % d.bootstrap in out
    for i in range(1, 4):
        assert os.path.isdir(os.path.join(d.dir, "broker-%d" % i))
        assert os.path.exists(os.path.join(d.dir, "broker-%d.log" % i))
    assert os.path.isdir(os.path.join(d.dir, "etcd"))
    def etcd_healthy():
        try:
            return _http_json("http://127.0.0.1:%d/health" % d.etcd_port,
                              timeout=5.0)["health"] == "true"
        except (OSError, ValueError):
            return False
    wait_until(etcd_healthy, 20.0, interval=0.2, what="the dev cluster's etcd healthy")
    for i in range(3):
        with urllib.request.urlopen("http://127.0.0.1:%d/health" % (d.admin + i),
                                    timeout=10 * SLOW) as r:
            assert r.status == 200
    # Every child runs in a process group of its own: a terminal's Ctrl-C reaches only the
    # supervisor, which then stops the brokers before etcd.
    for pid in d.pids.values():
        assert os.getpgid(pid) == pid
    d.signal(signal.SIGINT)
    assert d.wait() == 0, d.output()
    assert "cluster stopped" in d.output()
    for name, pid in d.pids.items():
        assert not alive(pid), "%s (pid %d) still running" % (name, pid)
    # Brokers first, then etcd: every broker's log ends with its shutdown while etcd was up.
    for i in range(1, 4):
        with open(os.path.join(d.dir, "broker-%d.log" % i), "rb") as f:
            assert b"shutdown complete" in f.read()


def test_dev_cluster_broker_death_leaves_the_others_running(dev):
    """kill -9 of one broker is how a developer watches a failover: the rest keep serving,
    and Ctrl-C afterwards still stops everything with status 0."""
    d = dev(brokers=2).wait_up()
    os.kill(d.pids["broker 2"], signal.SIGKILL)
    wait_until(lambda: "broker 2 (pid %d) killed by signal 9; the other brokers keep running"
               % d.pids["broker 2"] in d.output(), 20.0, interval=0.1, what="death reported")
    assert d.proc.poll() is None, d.output()
    assert alive(d.pids["broker 1"]) and alive(d.pids["etcd"])
    t = unique("dev-after")
    ck_produce("127.0.0.1:%d" % d.port, t, [(None, b"still-here")])
    d.signal(signal.SIGINT)
    assert d.wait() == 0, d.output()
    assert "cluster stopped" in d.output()
    assert not any(alive(p) for p in d.pids.values())


def test_dev_cluster_restart_brings_a_dead_broker_back(dev):
    d = dev(brokers=2, extra=["--restart"]).wait_up()
    old = d.pids["broker 2"]
    os.kill(old, signal.SIGKILL)
    m = wait_until(lambda: re.search(r"broker 2 restarted \(pid (\d+)\)", d.output()), 30.0,
                   interval=0.1, what="broker 2 restarted")
    new = int(m.group(1))
    assert new != old and alive(new)
    wait_until(lambda: _port_open(d.port + 1), 30.0, interval=0.2, what="broker 2 listening")
    d.pids["broker 2 again"] = new
    d.signal(signal.SIGTERM)
    assert d.wait() == 0, d.output()
    assert not alive(new)


def test_dev_cluster_etcd_death_stops_the_rest(dev):
    d = dev(brokers=2).wait_up()
    os.kill(d.pids["etcd"], signal.SIGKILL)
    assert d.wait() == 1
    out = d.output()
    assert re.search(r"etcd \(pid \d+\) killed by signal 9; stopping the cluster", out), out
    for name, pid in d.pids.items():
        assert not alive(pid), "%s still running" % name


def _port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
        return True
    except OSError:
        return False


def test_dev_cluster_sigterm_while_running(dev):
    d = dev(brokers=1).wait_up()
    d.signal(signal.SIGTERM)
    assert d.wait() == 0, d.output()
    assert "terminated, stopping the brokers, then etcd" in d.output()
    assert not any(alive(p) for p in d.pids.values())


def test_dev_cluster_restart_keeps_data(dev, tmp_path):
    """The same --dir again: etcd and the brokers come back on their old data."""
    d = dev(brokers=1).wait_up()
    d.signal(signal.SIGINT)
    assert d.wait() == 0
    again = DevCluster.__new__(DevCluster)
    again.__dict__.update(d.__dict__)
    again.out_path = d.out_path + ".2"
    again._out = open(again.out_path, "wb")
    again.proc = subprocess.Popen(d.argv, stdin=subprocess.DEVNULL, stdout=again._out,
                                  stderr=subprocess.STDOUT)
    again.pids = {}
    try:
        again.wait_up()
        again.signal(signal.SIGINT)
        assert again.wait() == 0, again.output()
    finally:
        again.cleanup()


def test_dev_cluster_bad_options(tmp_path):
    r = runnel("dev", "cluster", "--brokers", "0")
    assert r.returncode == 2 and b"--brokers expects 1-32" in r.stderr
    r = runnel("dev", "cluster", "--bogus")
    assert r.returncode == 2 and b"unknown option" in r.stderr
    r = runnel("dev", "cluster", "--set", "nokey")
    assert r.returncode == 2 and b"KEY=VALUE" in r.stderr
    r = runnel("dev", "cluster", "--port", "2379", "--etcd-port", "2379")
    assert r.returncode == 2 and b"overlap" in r.stderr
    r = runnel("dev", "cluster", "--dir", str(tmp_path / "x"), "--etcd", "/nonexistent/etcd")
    assert r.returncode == 1 and b"etcd not found at /nonexistent/etcd" in r.stderr
    r = runnel("dev", "frobnicate")
    assert r.returncode == 2
    r = runnel("dev", "cluster", "--help")
    assert r.returncode == 0 and b"Ctrl-C" in r.stdout
    r = runnel("--help")
    assert b"dev " in r.stdout and b"cluster " in r.stdout


def test_dev_cluster_failed_broker_start_is_reported(dev):
    """A broker that cannot start (a bad --set) ends the command with exit 1, naming it, and
    nothing is left running."""
    d = dev(brokers=2, extra=["--set", "no.such.key=1"])
    rc = d.wait()
    assert rc == 1
    assert "broker 1 exited with status" in d.output(), d.output()
    # The etcd it started is gone too: no process of the test's dir remains.
    r = subprocess.run(["pgrep", "-f", d.dir], capture_output=True)
    assert r.stdout.strip() == b"", r.stdout


def test_dev_cluster_rf3_topic(dev):
    """Through the dev cluster: a topic with replication factor 3 takes acks=all writes and
    reads them back; `runnel cluster status` shows 3 brokers and a controller and exits 0."""
    d = dev(brokers=3).wait_up()
    md_ok = False
    try:
        r = runnel("cluster", "status", "-b", d.bootstrap)
        md_ok = b"Brokers: 3" in r.stdout
    except subprocess.TimeoutExpired:
        pass
    assert md_ok, "the dev cluster's brokers did not form a cluster:\n%s" % d.output()
    t = unique("dev")
    r = runnel("topic", "create", t, "--partitions", "2", "--replication-factor", "3",
               "-b", d.bootstrap)
    assert r.returncode == 0, r.stderr
    ck_produce(d.bootstrap, t, [(b"k%d" % i, b"v%d" % i) for i in range(50)], acks="all")
    got = ck_consume(d.bootstrap, t, [0, 1], 50, timeout=30.0)
    assert sorted(m.value() for m in got) == sorted(b"v%d" % i for i in range(50))

    def healthy():
        return runnel("cluster", "status", "-b", d.bootstrap).returncode == 0
    wait_until(healthy, 30.0, interval=0.5, what="cluster status exit 0")
    d.signal(signal.SIGINT)
    assert d.wait() == 0, d.output()
    assert not any(alive(p) for p in d.pids.values())
