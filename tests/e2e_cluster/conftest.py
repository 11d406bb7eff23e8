"""Cluster fixtures: real etcd (1 or 3 members) and N real `runnel serve` brokers on 127.0.0.1.

Builds on tests/e2e/conftest.py (loaded under the module name `e2e_conftest`, so the two
conftest files never collide in sys.modules): Broker, RawConn, the client factories and
wait_until (scaled by SLOW under ASan) are that file's. Everything a cluster test needs is
re-exported here, so a test in this folder writes `from conftest import RawConn, Cluster, ...`.

Ports are chosen up front (free_port) rather than 0, because a broker registers its port in
etcd and a restarted broker must come back where clients and peers expect it.

    def test_x(cluster):                 # 3 brokers on a 1-member etcd, already started
        t = cluster.create_topic("t", partitions=3, rf=3)
        cluster.wait_for_isr(t, 0, 3)
        cluster.broker(cluster.leader_of(t, 0)).kill()

    def test_y(make_cluster, etcd_cluster):   # 3 etcd members, own broker settings
        c = make_cluster(n=3, etcd=etcd_cluster, sets={"min.insync.replicas": 2})
"""
import base64
import importlib.util
import json
import os
import re
import shutil
import socket
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))
_E2E = os.path.join(os.path.dirname(_HERE), "e2e")
if _E2E not in sys.path:
    sys.path.append(_E2E)  # for tests/e2e/data and anything importing from there
_spec = importlib.util.spec_from_file_location("e2e_conftest", os.path.join(_E2E, "conftest.py"))
e2e = importlib.util.module_from_spec(_spec)
sys.modules["e2e_conftest"] = e2e
_spec.loader.exec_module(e2e)

# Re-exports (helpers only: the e2e fixtures stay in their own folder).
REPO = e2e.REPO
RUNNEL_BIN = e2e.RUNNEL_BIN
SLOW = e2e.SLOW
Broker = e2e.Broker
RawConn = e2e.RawConn
Reader = e2e.Reader
FlexReader = e2e.FlexReader


def free_port():
    """A free port that stays fixed across a broker's restarts (see e2e.fixed_free_port)."""
    return e2e.fixed_free_port(20000)


def fixed_free_port_range(base, n):
    return e2e.fixed_free_port_range(base, n)


unique = e2e.unique
wait_until = e2e.wait_until
metric_value = e2e.metric_value
metric_samples = e2e.metric_samples
record_batch = e2e.record_batch
idempotent_batch = e2e.idempotent_batch
parse_batches = e2e.parse_batches
batch_attrs = e2e.batch_attrs
raw_fetch_all = e2e.raw_fetch_all
earliest_offset = e2e.earliest_offset
ck_producer = e2e.ck_producer
ck_consumer = e2e.ck_consumer
ck_admin = e2e.ck_admin
ck_produce = e2e.ck_produce
ck_consume = e2e.ck_consume
kp_producer = e2e.kp_producer
kp_consumer = e2e.kp_consumer
kp_admin = e2e.kp_admin
kp_consume = e2e.kp_consume
kcat = e2e.kcat
runnel = e2e.runnel
i8, i16, i32, i64 = e2e.i8, e2e.i16, e2e.i32, e2e.i64
kstr, kbytes, karray = e2e.kstr, e2e.kbytes, e2e.karray
cstr, carray, uvarint, TAGS = e2e.cstr, e2e.carray, e2e.uvarint, e2e.TAGS

ETCD_BIN = os.environ.get("RUNNEL_ETCD") or "/usr/bin/etcd"
ETCDCTL_BIN = shutil.which("etcdctl") or "/usr/bin/etcdctl"

# Brokers that register nothing in etcd within 10 s fail the test (their stderr shows why).
# RUNNEL_CLUSTER_REQUIRED=0 skips such a test instead, for a build without the cluster glue.
CLUSTER_REQUIRED = os.environ.get("RUNNEL_CLUSTER_REQUIRED", "1") != "0"


def sigstop(proc, timeout=10.0):
    """SIGSTOP that returns once every thread of proc has stopped. The kernel stops a process
    asynchronously: the thread the signal wakes must first run to stop the others, and on a
    loaded machine the others keep running meanwhile (a follower paused this way was seen
    fetching a record produced after its pause)."""
    proc.send_signal(signal.SIGSTOP)
    deadline = time.monotonic() + timeout
    task = "/proc/%d/task" % proc.pid
    while time.monotonic() < deadline:
        try:
            states = []
            for tid in os.listdir(task):
                with open("%s/%s/stat" % (task, tid)) as f:
                    states.append(f.read().rsplit(")", 1)[1].split()[0])
        except OSError:
            return  # exited meanwhile
        if all(s in ("T", "t", "Z", "X") for s in states):
            return
        time.sleep(0.001)
    raise AssertionError("pid %d did not stop within %.0f s" % (proc.pid, timeout))


def _tail(path, n=8000):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - n))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _http_json(url, body=None, timeout=2.0):
    """GET (body None) or POST JSON -> parsed JSON; raises OSError/ValueError on failure.
    timeout is scaled by SLOW."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")
    with urllib.request.urlopen(req, timeout=timeout * SLOW) as r:
        return json.loads(r.read().decode())


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def unb64(s):
    return base64.b64decode(s).decode("utf-8", "replace")


# --------------------------------------------------------------------------------------------
# etcd
# --------------------------------------------------------------------------------------------
class EtcdMember:
    """One etcd process; its data dir survives kill/restart, so it rejoins as itself."""

    def __init__(self, name, base_dir, client_port, peer_port, initial_cluster, token,
                 hosts=("127.0.0.1",)):
        self.name = name
        self.hosts = tuple(hosts)
        self.dir = os.path.join(str(base_dir), name)
        self.client_port = client_port
        self.peer_port = peer_port
        self.initial_cluster = initial_cluster
        self.token = token
        self.proc = None
        self.starts = 0
        self.log_path = None

    @property
    def endpoint(self):
        return "127.0.0.1:%d" % self.client_port

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.client_port

    def argv(self):
        peer = "http://127.0.0.1:%d" % self.peer_port
        listen = ",".join("http://%s:%d" % (h, self.client_port) for h in self.hosts)
        return [ETCD_BIN, "--name", self.name, "--data-dir", os.path.join(self.dir, "data"),
                "--listen-client-urls", listen, "--advertise-client-urls", self.url,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", self.initial_cluster, "--initial-cluster-state", "new",
                "--initial-cluster-token", self.token,
                # Loopback and a busy 2-core machine: tolerate scheduling hiccups rather than
                # elect on every stall, but still elect within a few seconds of a kill.
                "--heartbeat-interval", "100", "--election-timeout", str(int(1000 * SLOW)),
                "--log-level", "warn", "--logger", "zap"]

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        self.starts += 1
        self.log_path = os.path.join(self.dir, "etcd-%d.log" % self.starts)
        self._logf = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                     stdout=self._logf, stderr=self._logf)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def _reap(self):
        if self.proc is not None:
            self.proc.wait()
            self._logf.close()
        self.proc = None

    def kill(self, sig=signal.SIGKILL):
        if self.alive():
            self.proc.send_signal(sig)
            if self.paused:
                self.proc.send_signal(signal.SIGCONT)
                self.paused = False
        self._reap()

    def stop(self, timeout=10.0):
        if self.alive():
            if self.paused:
                self.resume()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout * SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._reap()

    paused = False

    def pause(self):
        sigstop(self.proc)
        self.paused = True

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)
        self.paused = False

    def serving(self):
        """Running and not stopped: a request to it gets an answer."""
        return self.alive() and not self.paused

    def healthy(self):
        """/health says true (this member sees a leader and can serve a quorum read)."""
        try:
            return _http_json(self.url + "/health", timeout=1.0).get("health") == "true"
        except (OSError, ValueError):
            return False

    def status(self):
        """/v3/maintenance/status -> dict (member_id, leader, raftTerm...) or None."""
        try:
            return _http_json(self.url + "/v3/maintenance/status", {}, timeout=1.0)
        except (OSError, ValueError):
            return None

    def log(self):
        return _tail(self.log_path) if self.log_path else ""


class Etcd:
    """An etcd cluster of n members on free 127.0.0.1 ports (n=1: a single node)."""

    def __init__(self, base_dir, n=1, hosts=("127.0.0.1",)):
        """hosts: the addresses its client ports listen on (127.0.0.1, plus a NetLab's
        gateway when brokers run in network namespaces)."""
        self.base_dir = str(base_dir)
        token = unique("etcd")
        ports = [(free_port(), free_port()) for _ in range(n)]
        initial = ",".join("m%d=http://127.0.0.1:%d" % (i, pp) for i, (_c, pp) in enumerate(ports))
        self.members = [EtcdMember("m%d" % i, self.base_dir, cp, pp, initial, token, hosts)
                        for i, (cp, pp) in enumerate(ports)]

    @property
    def endpoints(self):
        """"127.0.0.1:p1,127.0.0.1:p2,..." as metadata.store=etcd://<endpoints>/prefix wants."""
        return ",".join(m.endpoint for m in self.members)

    def store_uri(self, prefix, host="127.0.0.1"):
        eps = ",".join("%s:%d" % (host, m.client_port) for m in self.members)
        return "etcd://%s/%s" % (eps, prefix.strip("/"))

    def start(self, timeout=20.0):
        for m in self.members:
            if not m.alive():
                m.start()
        self.wait_healthy(timeout)
        return self

    def wait_healthy(self, timeout=20.0):
        def ok():
            for m in self.members:
                if m.proc is not None and m.proc.poll() is not None:
                    raise AssertionError("etcd %s exited rc=%r:\n%s"
                                         % (m.name, m.proc.returncode, m.log()))
            return all(m.healthy() for m in self.members if m.serving())
        wait_until(ok, timeout, interval=0.1, what="etcd healthy")

    def member(self, i):
        return self.members[i]

    def leader(self, timeout=10.0):
        """Index of the member that is raft leader now (waits for one)."""
        def find():
            for i, m in enumerate(self.members):
                if not m.serving():
                    continue
                st = m.status()
                if st and st.get("leader") and st["leader"] == st.get("header", {}).get("member_id"):
                    return i + 1
            return None
        return wait_until(find, timeout, interval=0.1, what="an etcd leader") - 1

    def kill(self, i, sig=signal.SIGKILL):
        self.members[i].kill(sig)

    def restart(self, i, timeout=20.0):
        m = self.members[i]
        m.kill()
        m.start()
        wait_until(m.healthy, timeout, interval=0.1, what="etcd %s healthy again" % m.name)

    def _alive_endpoint(self):
        for m in self.members:
            if m.serving():
                return m
        raise AssertionError("no etcd member serving")

    def ctl(self, *args, timeout=10.0, check=True):
        """etcdctl (v3 API) against every member's endpoint -> CompletedProcess (text)."""
        env = dict(os.environ, ETCDCTL_API="3")
        r = subprocess.run([ETCDCTL_BIN, "--endpoints", self.endpoints,
                            "--dial-timeout", "2s", "--command-timeout", "5s"] + list(args),
                           capture_output=True, text=True, timeout=timeout * SLOW, env=env)
        if check and r.returncode != 0:
            raise AssertionError("etcdctl %r rc=%d: %s" % (args, r.returncode, r.stderr))
        return r

    def get_prefix(self, prefix):
        """{key: value} of every key under prefix (through the JSON gateway)."""
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        for m in self.members:
            if not m.serving():
                continue
            try:
                r = _http_json(m.url + "/v3/kv/range", {"key": b64(prefix), "range_end": b64(end)},
                               timeout=10.0)
            except (OSError, ValueError):
                continue
            return {unb64(kv["key"]): unb64(kv.get("value", "")) for kv in r.get("kvs", [])}
        raise AssertionError("no etcd member answered a range read")

    def get(self, key):
        return self.get_prefix(key).get(key)

    def put(self, key, value):
        m = self._alive_endpoint()
        _http_json(m.url + "/v3/kv/put", {"key": b64(key), "value": b64(value)}, timeout=10.0)

    def watch(self, prefix, path, rev=None):
        """Starts `etcdctl watch --prefix <prefix> -w json` writing to path -> EtcdWatch.
        rev: replay from that revision (1: the whole history; nothing is compacted here)."""
        return EtcdWatch(self, prefix, path, rev)

    def stop(self):
        for m in self.members:
            m.stop()

    def logs(self):
        return "\n".join("--- etcd %s ---\n%s" % (m.name, m.log()) for m in self.members)


class EtcdWatch:
    """A background `etcdctl watch` of one prefix; events() parses what it wrote so far."""

    def __init__(self, etcd, prefix, path, rev=None):
        self.path = str(path)
        self._out = open(self.path, "wb")
        env = dict(os.environ, ETCDCTL_API="3")
        extra = ["--rev", str(rev)] if rev else []
        self.proc = subprocess.Popen([ETCDCTL_BIN, "--endpoints", etcd.endpoints, "watch",
                                      "--prefix", prefix, "-w", "json"] + extra,
                                     stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=subprocess.DEVNULL, env=env)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait()
        self._out.close()

    def events(self):
        """[(revision, key, value or None for a delete)] in etcd's order. The json writer emits
        one JSON object per watch response (possibly spanning lines); a raw_decode loop reads them
        back to back."""
        with open(self.path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        dec = json.JSONDecoder()
        pos, out = 0, []
        while True:
            while pos < len(text) and text[pos] in " \r\n\t":
                pos += 1
            if pos >= len(text):
                break
            try:
                obj, pos = dec.raw_decode(text, pos)
            except ValueError:
                break  # a response still being written
            for ev in obj.get("Events") or []:
                kv = ev.get("kv", {})
                key = unb64(kv.get("key", ""))
                val = None if ev.get("type") == 1 else unb64(kv.get("value", ""))
                out.append((int(kv.get("mod_revision", 0)), key, val))
        return out


# --------------------------------------------------------------------------------------------
# Network namespaces (for partitions)
# --------------------------------------------------------------------------------------------
def _ip(*args, check=True):
    r = subprocess.run(["ip"] + list(args), capture_output=True, text=True, timeout=10)
    if check and r.returncode != 0:
        raise AssertionError("ip %s: %s" % (" ".join(args), r.stderr.strip()))
    return r


class NetLab:
    """One network namespace per broker, each joined by a veth pair to a bridge of its own in
    the root namespace: 10.213.K.1 on the bridge (etcd listens there too), 10.213.K.(10+i) for
    broker i. The bridge has no uplink and nothing forwards or NATs it, so no packet leaves the
    machine. isolate(i) takes broker i's link down: it can reach nobody (peers, etcd, clients)
    and nobody reaches it, until heal(i). Needs root and iproute2 (`available()`)."""

    def __init__(self, n):
        self.tag = unique("x")[-6:]
        used = _ip("-4", "addr").stdout
        k = next(k for k in range(17, 250) if ("10.213.%d." % k) not in used)
        self.gw = "10.213.%d.1" % k
        self.bridge = "rnb" + self.tag
        self.n = n
        self.ns = {i: "rn%s-%d" % (self.tag, i) for i in range(1, n + 1)}
        self.addr = {i: "10.213.%d.%d" % (k, 10 + i) for i in range(1, n + 1)}
        self.isolated = set()
        self._up = False

    @staticmethod
    def available():
        if os.geteuid() != 0 or not shutil.which("ip"):
            return False
        name = unique("rnprobe")[-12:]
        r = _ip("netns", "add", name, check=False)
        if r.returncode != 0:
            return False
        _ip("netns", "del", name, check=False)
        return True

    def _veth(self, i):
        return "rv%s%d" % (self.tag, i), "rp%s%d" % (self.tag, i)

    def setup(self):
        self._up = True
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", self.gw + "/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for i, ns in self.ns.items():
            host, peer = self._veth(i)
            _ip("netns", "add", ns)
            _ip("link", "add", host, "type", "veth", "peer", "name", peer)
            _ip("link", "set", peer, "netns", ns)
            _ip("link", "set", host, "master", self.bridge)
            _ip("link", "set", host, "up")
            _ip("-n", ns, "addr", "add", self.addr[i] + "/24", "dev", peer)
            _ip("-n", ns, "link", "set", peer, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        return self

    def isolate(self, i):
        _ip("link", "set", self._veth(i)[0], "down")
        self.isolated.add(i)

    def heal(self, i):
        _ip("link", "set", self._veth(i)[0], "up")
        self.isolated.discard(i)

    def wrap(self, i, argv):
        """argv run inside broker i's namespace (`ip netns exec` execs it: same pid)."""
        return ["ip", "netns", "exec", self.ns[i]] + list(argv)

    def teardown(self):
        if not self._up:
            return
        for i, ns in self.ns.items():
            _ip("link", "del", self._veth(i)[0], check=False)
            _ip("netns", "del", ns, check=False)
        _ip("link", "del", self.bridge, check=False)
        self._up = False


# --------------------------------------------------------------------------------------------
# Brokers in a cluster
# --------------------------------------------------------------------------------------------
class ClusterBroker(Broker):
    """A `runnel serve` with node.id, fixed ports and metadata.store=etcd://...; the e2e Broker
    does the process handling (start waits for both listeners, stop/kill/restart)."""

    def __init__(self, cluster, node_id, data_dir, sets, host="127.0.0.1"):
        super().__init__(data_dir, sets=sets)
        self.cluster = cluster
        self.node_id = node_id
        self.host = host
        self.fixed_port = free_port()
        h = re.escape(host)
        self.kafka_re = re.compile(r"listening on %s:(\d+)" % h)
        self.admin_re = re.compile(r"admin HTTP listener on %s:(\d+)" % h)

    def argv(self):
        base = {"node.id": self.node_id,
                "metadata.store": self.cluster.store_uri,
                "log.dirs": self.data_dir,
                "listeners": "PLAINTEXT://%s:%d" % (self.host, self.fixed_port),
                "admin.listener": "%s:0" % self.host}  # the port is read back from the log
        base.update(self.sets)
        argv = [RUNNEL_BIN, "serve"]
        for k, v in base.items():
            argv += ["--set", "%s=%s" % (k, v)]
        argv += self.extra_args
        if self.cluster.netlab:
            argv = self.cluster.netlab.wrap(self.node_id, argv)
        return argv

    @property
    def address(self):
        return "%s:%d" % (self.host, self.fixed_port)

    def raw(self, timeout=5.0):
        """A RawConn to this broker."""
        return RawConn(self.fixed_port, timeout=timeout, host=self.host)

    DUPLICATE = "already used by a live broker"

    def start(self, timeout=20.0):
        """Starts and waits for both listeners (joining a cluster waits for etcd: registration,
        cache load). A broker SIGKILLed a moment ago still has its registration in etcd until
        its lease runs out (broker.session.timeout.ms, at least etcd's minimum TTL) and refuses
        to start meanwhile, as a duplicate node.id; like a supervisor, this starts it again
        until the old lease is gone (self.duplicate_retries counts those attempts)."""
        deadline = time.monotonic() + 30.0 * SLOW
        while True:
            try:
                return super().start(timeout=timeout)
            except pytest.fail.Exception:
                if self.DUPLICATE not in self.stderr() or time.monotonic() > deadline:
                    raise
                if self.proc is not None:
                    self.proc.wait()
                    self.exit_codes.append(self.proc.returncode)
                    self._errf.close()
                    self.proc = None
                self.duplicate_retries = getattr(self, "duplicate_retries", 0) + 1
                time.sleep(0.3)

    def pause(self):
        """SIGSTOP: the process stands still (its lease runs out; others take over)."""
        sigstop(self.proc)
        self.paused = True

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)
        self.paused = False

    def kill(self, sig=signal.SIGKILL):
        if sig != signal.SIGKILL and self.alive():
            self.proc.send_signal(sig)
        if getattr(self, "paused", False) and self.alive():
            self.proc.send_signal(signal.SIGCONT)  # so SIGKILL's wait() returns at once
            self.paused = False
        super().kill()

    def restart(self, how="clean"):
        """how: "clean" (SIGTERM, exit 0 asserted) or "sigkill"; then starts on the same ports."""
        return super().restart(how)

    def tail(self, n=6000):
        return self.stderr()[-n:]


class Cluster:
    """n brokers (node ids 1..n) on one etcd under a cluster prefix of their own."""

    def __init__(self, base_dir, etcd, n=3, sets=None, broker_sets=None, prefix=None,
                 netlab=None):
        """netlab: a set-up NetLab (brokers in its namespaces; etcd must listen on its gw)."""
        self.base_dir = str(base_dir)
        self.etcd = etcd
        self.netlab = netlab
        self.prefix = "/" + (prefix or unique("rn")).strip("/")
        self.store_uri = etcd.store_uri(self.prefix, netlab.gw if netlab else "127.0.0.1")
        self.brokers = []
        for i in range(1, n + 1):
            s = {"broker.session.timeout.ms": 2000}  # the documented default, spelled out
            s.update(sets or {})
            s.update((broker_sets or {}).get(i, {}))
            d = os.path.join(self.base_dir, "broker-%d" % i, "data")
            host = netlab.addr[i] if netlab else "127.0.0.1"
            self.brokers.append(ClusterBroker(self, i, d, s, host))

    # -- processes --------------------------------------------------------------------------
    def broker(self, node_id):
        """The broker with this node id (1-based, as Kafka's ids)."""
        return self.brokers[node_id - 1]

    def start(self, wait=True):
        for b in self.brokers:
            if not b.alive():
                b.start()
        if wait:
            self.wait_brokers(len(self.brokers))
        return self

    def alive(self):
        return [b for b in self.brokers if b.alive()]

    @property
    def bootstrap(self):
        """Every broker's address (clients pick one that answers)."""
        return ",".join(b.address for b in self.brokers)

    def any_broker(self, exclude=()):
        """A live broker that is neither paused nor isolated (nor in exclude)."""
        cut = self.netlab.isolated if self.netlab else set()
        for b in self.brokers:
            if (b.alive() and not getattr(b, "paused", False) and b.node_id not in exclude
                    and b.node_id not in cut):
                return b
        raise AssertionError("no broker reachable")

    def stop(self, timeout=40.0):
        """SIGTERM every broker at once (a controlled shutdown each); returns their exit codes.
        The last one has nowhere to move its leaderships and waits out its controlled-shutdown
        timeout (15 s), hence the long wait."""
        for b in self.brokers:
            if b.alive():
                if getattr(b, "paused", False):
                    b.resume()
                b.proc.send_signal(signal.SIGTERM)
        return [b.stop(timeout=timeout) for b in self.brokers]

    # -- metadata ---------------------------------------------------------------------------
    def metadata(self, topics=None, node_id=None):
        """Raw Metadata v7 from one live broker (node_id, or any reachable one) ->
        ClusterMetadata (brokers, controller, per partition leader/epoch/replicas/isr/offline).
        topics None: all topics."""
        b = self.broker(node_id) if node_id else self.any_broker()
        with b.raw() as c:
            return metadata_v7(c, topics)

    def _try_metadata(self, topics=None):
        try:
            return self.metadata(topics)
        except (OSError, ConnectionError, AssertionError, IndexError, UnicodeDecodeError):
            return None

    def wait_brokers(self, n, timeout=30.0):
        """Until Metadata lists n brokers and a controller."""
        def ok():
            md = self._try_metadata([])
            return md if md and len(md.brokers) == n and md.controller >= 0 else None
        return wait_until(ok, timeout, interval=0.1, what="%d brokers and a controller" % n)

    def controller(self, timeout=30.0):
        def ok():
            md = self._try_metadata([])
            return md.controller if md and md.controller >= 0 else None
        return wait_until(ok, timeout, interval=0.1, what="a controller")

    def partition(self, topic, p):
        md = self._try_metadata([topic])
        if not md or topic not in md.topics:
            return None
        err, parts = md.topics[topic]
        return parts.get(p) if err == 0 else None

    def leader_of(self, topic, p, timeout=30.0, exclude=()):
        """The node id leading topic-p, waiting until there is one not in exclude."""
        def ok():
            st = self.partition(topic, p)
            if st and st["error"] == 0 and st["leader"] >= 0 and st["leader"] not in exclude:
                return st["leader"]
            return None
        return wait_until(ok, timeout, interval=0.1, what="a leader of %s-%d" % (topic, p))

    def wait_for_isr(self, topic, p, n, timeout=30.0):
        """Until topic-p has a leader and exactly n ISR members; returns the partition dict."""
        def ok():
            st = self.partition(topic, p)
            return st if st and st["leader"] >= 0 and len(st["isr"]) == n else None
        return wait_until(ok, timeout, interval=0.1, what="ISR of %s-%d at %d" % (topic, p, n))

    def create_topic(self, name, partitions=1, rf=3, config=None, timeout=30.0):
        """CreateTopics through confluent-kafka's admin client; waits until every partition has a
        leader and its full ISR in Metadata."""
        import confluent_kafka.admin as cka
        a = ck_admin(self.bootstrap)
        fs = a.create_topics([cka.NewTopic(name, partitions, rf, config=config or {})],
                             operation_timeout=timeout)
        fs[name].result(timeout * SLOW)
        for p in range(partitions):
            self.wait_for_isr(name, p, rf, timeout)
        return name

    def wait_until(self, pred, timeout=30.0, interval=0.1, what="condition"):
        return wait_until(pred, timeout, interval=interval, what=what)

    def logs(self, n=6000):
        out = []
        for b in self.brokers:
            out.append("--- broker %d (%s) ---\n%s" % (b.node_id, b.stderr_path, b.tail(n)))
        return "\n".join(out)


class ClusterMetadata:
    def __init__(self, brokers, cluster_id, controller, topics):
        self.brokers = brokers        # {node_id: (host, port, rack)}
        self.cluster_id = cluster_id
        self.controller = controller  # -1: none
        self.topics = topics          # {name: (error, {p: {error, leader, leader_epoch, ...}})}

    def __repr__(self):
        return "ClusterMetadata(brokers=%r, controller=%r, topics=%r)" % (
            self.brokers, self.controller, self.topics)


def metadata_v7(conn, topics=None):
    """Metadata v7 (the last classic-encoding version: racks, controller id, leader epochs,
    offline replicas) over a RawConn."""
    body = karray(None if topics is None else list(topics), kstr) + i8(0)  # no auto-create
    r = conn.request(3, 7, body)
    r.i32()  # throttle
    brokers = {}
    for nid, host, port, rack in r.array(lambda r: (r.i32(), r.str(), r.i32(), r.str())):
        brokers[nid] = (host, port, rack)
    cluster_id = r.str()
    controller = r.i32()
    out = {}

    def part(r):
        return {"error": r.i16(), "partition": r.i32(), "leader": r.i32(),
                "leader_epoch": r.i32(), "replicas": r.array(lambda r: r.i32()),
                "isr": r.array(lambda r: r.i32()), "offline": r.array(lambda r: r.i32())}
    for err, name, _internal, parts in r.array(
            lambda r: (r.i16(), r.str(), r.i8(), r.array(part))):
        out[name] = (err, {p["partition"]: p for p in parts or []})
    return ClusterMetadata(brokers, cluster_id, controller, out)


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------
def _fail_with_logs(request, what):
    rep = getattr(request.node, "rep_call", None)
    return rep is not None and rep.failed


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keeps each phase's report on the item so fixtures can print logs after a failure."""
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def _need_etcd():
    if not os.path.exists(ETCD_BIN):
        pytest.fail("etcd not found at %s (apt-get install etcd-server, or make test installs it)"
                    % ETCD_BIN)


def _etcd_fixture(tmp_path_factory, request, n):
    _need_etcd()
    e = Etcd(tmp_path_factory.mktemp("etcd%d" % n), n).start()
    yield e
    if _fail_with_logs(request, "etcd"):
        sys.stderr.write(e.logs())
    e.stop()


@pytest.fixture
def etcd(tmp_path_factory, request):
    """A single-member etcd for this test."""
    yield from _etcd_fixture(tmp_path_factory, request, 1)


@pytest.fixture
def etcd_cluster(tmp_path_factory, request):
    """A 3-member etcd cluster for this test (member(i).kill(), restart(i), leader())."""
    yield from _etcd_fixture(tmp_path_factory, request, 3)


def _teardown_cluster(c, request):
    failed = _fail_with_logs(request, "cluster")
    if c.netlab:
        for i in list(c.netlab.isolated):
            c.netlab.heal(i)  # a controlled shutdown needs etcd
    died = [b for b in c.brokers if b.proc is not None and b.proc.poll() is not None]
    for b in c.brokers:
        if getattr(b, "paused", False) and b.alive():
            b.resume()
    rcs = {}
    for b in c.brokers:
        if b.alive():
            b.proc.send_signal(signal.SIGTERM)  # all at once: a cluster shutting down
    for b in c.brokers:
        if b.proc is not None:
            try:
                rcs[b.node_id] = b.stop(timeout=40.0)
            except AssertionError as e:
                rcs[b.node_id] = str(e)
    if failed:
        sys.stderr.write(c.logs(20000))
        return
    if died:
        pytest.fail("broker(s) %r died during the test:\n%s"
                    % ([b.node_id for b in died], c.logs()))
    bad = {k: v for k, v in rcs.items() if v != 0}
    if bad:
        pytest.fail("broker exit codes after SIGTERM %r:\n%s" % (bad, c.logs()))


@pytest.fixture
def make_cluster(tmp_path, request):
    """Factory: make_cluster(n=3, etcd=None (then the `etcd` fixture: one member), sets={...}
    for all, broker_sets={node_id: {...}}, start=True, netlab=None) -> Cluster. Teardown stops every broker
    with SIGTERM and fails the test if one died or exited non-zero; broker stderr is printed when
    the test failed."""
    made = []

    def make(n=3, etcd=None, sets=None, broker_sets=None, start=True, prefix=None, netlab=None):
        c = Cluster(tmp_path / ("cluster%d" % len(made)), etcd or request.getfixturevalue("etcd"),
                    n, sets, broker_sets, prefix, netlab)
        made.append(c)
        if start:
            c.start(wait=False)
            _skip_without_glue(c)
            c.wait_brokers(n)
        return c

    yield make
    for c in made:
        _teardown_cluster(c, request)


def _skip_without_glue(c, timeout=10.0):
    """Skips the test when the brokers never registered in etcd (no cluster glue yet)."""
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        if c.etcd.get_prefix(c.prefix + "/brokers/"):
            return
        if any(b.proc.poll() is not None for b in c.brokers):
            return  # a broker died: the teardown reports it with its stderr
        time.sleep(0.1)
    if not CLUSTER_REQUIRED:
        pytest.skip("no broker registered under %s in etcd within %ss: the cluster glue "
                    "(metadata.store=etcd) is not in this build" % (c.prefix, timeout))
    raise AssertionError("no broker registered under %s in etcd within %ss:\n%s"
                         % (c.prefix, timeout, c.logs()))


@pytest.fixture
def netlab():
    """A NetLab of 3 namespaces (skips the test without root/iproute2). Request it before
    make_cluster so its teardown comes after the brokers stopped."""
    if not NetLab.available():
        pytest.skip("network namespaces unavailable (needs root and iproute2)")
    lab = NetLab(3).setup()
    yield lab
    lab.teardown()


@pytest.fixture
def maybe_netlab():
    """A NetLab, or None where namespaces are unavailable (the test then runs on loopback)."""
    lab = NetLab(3).setup() if NetLab.available() else None
    yield lab
    if lab:
        lab.teardown()


@pytest.fixture
def cluster(make_cluster):
    """Three brokers on a single-member etcd, started, every broker registered."""
    return make_cluster(3)
