"""End-to-end fixtures: the real `runnel` binary, raw Kafka frames, client factories.

The binary comes from $RUNNEL_BIN (ctest sets it), else build/runnel under the repo root.
Everything talks to 127.0.0.1 only. Brokers listen on port 0 and we parse the chosen ports
from their stderr.
"""
import os
import re
import signal
import socket
import struct
import subprocess
import time
import urllib.request
import uuid

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RUNNEL_BIN = os.environ.get("RUNNEL_BIN") or os.path.join(REPO, "build", "runnel")

# Under ASan everything is ~3x slower; scale waits with this.
SLOW = float(os.environ.get("RUNNEL_E2E_SLOW", "1"))
if "asan" in RUNNEL_BIN.lower():
    SLOW = max(SLOW, 3.0)

KAFKA_RE = re.compile(r"listening on 127\.0\.0\.1:(\d+)")
ADMIN_RE = re.compile(r"admin HTTP listener on 127\.0\.0\.1:(\d+)")


def unique(prefix="t"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def wait_until(pred, timeout=5.0, interval=0.02, what="condition"):
    """Polls pred() until truthy; returns its value or raises AssertionError."""
    deadline = time.monotonic() + timeout * SLOW
    last = None
    while True:
        last = pred()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s (last=%r)" % (what, last))
        time.sleep(interval)


# --------------------------------------------------------------------------------------------
# Broker process
# --------------------------------------------------------------------------------------------
class Broker:
    # The address it listens on and the log lines that name its ports (a cluster test's broker
    # in a network namespace listens elsewhere: tests/e2e_cluster/conftest.py).
    host = "127.0.0.1"
    kafka_re = KAFKA_RE
    admin_re = ADMIN_RE

    def __init__(self, data_dir, sets=None, config_file=None, args=None, node_id=None):
        self.data_dir = str(data_dir)
        os.makedirs(self.data_dir, exist_ok=True)
        self.sets = dict(sets or {})
        self.config_file = config_file
        self.extra_args = list(args or [])
        self.proc = None
        self.port = None
        self.admin_port = None
        self.stderr_path = None
        self.starts = 0
        self.exit_codes = []

    @property
    def bootstrap(self):
        return "%s:%d" % (self.host, self.port)

    def argv(self):
        argv = [RUNNEL_BIN, "serve"]
        if self.config_file:
            argv += ["-c", str(self.config_file)]
        base = {"log.dirs": self.data_dir,
                "listeners": "PLAINTEXT://127.0.0.1:0",
                "admin.listener": "127.0.0.1:0"}
        if self.config_file:
            base = {}  # the file decides; only explicit `sets` are added
        base.update(self.sets)
        for k, v in base.items():
            argv += ["--set", "%s=%s" % (k, v)]
        return argv + self.extra_args

    def start(self, timeout=5.0):
        if not os.path.exists(RUNNEL_BIN):
            pytest.fail("runnel binary not found at %s (set RUNNEL_BIN)" % RUNNEL_BIN)
        self.starts += 1
        self.stderr_path = os.path.join(os.path.dirname(self.data_dir.rstrip("/")),
                                        "broker-%s-%d.stderr" % (os.path.basename(self.data_dir),
                                                                 self.starts))
        self._errf = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                     stdout=self._errf, stderr=self._errf)
        deadline = time.monotonic() + timeout * SLOW
        self.port = self.admin_port = None
        while time.monotonic() < deadline:
            text = self.stderr()
            m = self.kafka_re.search(text)
            a = self.admin_re.search(text)
            if m and a:
                self.port = int(m.group(1))
                self.admin_port = int(a.group(1))
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.01)
        rc = self.proc.poll()
        if rc is None:
            self.proc.kill()
            self.proc.wait()
        pytest.fail("broker did not start (rc=%r, argv=%r); stderr:\n%s"
                    % (rc, self.argv(), self.stderr()[-6000:]))

    def stderr(self):
        if not self.stderr_path or not os.path.exists(self.stderr_path):
            return ""
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=15.0):
        """SIGTERM and wait; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout * SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.exit_codes.append("hung")
                self._errf.close()
                self.proc = None
                raise AssertionError("broker did not exit within %ss of SIGTERM; stderr:\n%s"
                                     % (timeout, self.stderr()[-4000:]))
        rc = self.proc.returncode
        self.exit_codes.append(rc)
        self._errf.close()
        self.proc = None
        return rc

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        if self.proc is not None:
            self.exit_codes.append(self.proc.returncode)
            self._errf.close()
        self.proc = None

    def stop_clean(self):
        """SIGTERM; asserts exit code 0 (showing the broker's stderr otherwise)."""
        path = self.stderr_path
        rc = self.stop()
        if rc != 0:
            with open(path, "rb") as f:
                err = f.read().decode("utf-8", "replace")
            raise AssertionError("exit code %r after SIGTERM; stderr:\n%s" % (rc, err[-6000:]))
        return rc

    def restart(self, how="clean"):
        """Stops the broker with stop_clean ("clean") or kill ("sigkill"), then starts it."""
        if how == "clean":
            self.stop_clean()
        else:
            assert how == "sigkill", how
            self.kill()
        return self.start()

    # admin HTTP
    def http(self, path, timeout=5.0):
        url = "http://%s:%d%s" % (self.host, self.admin_port, path)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace")

    def metrics(self):
        st, body = self.http("/metrics")
        assert st == 200, "GET /metrics -> %s" % st
        return body

    def metric(self, name, labels=None):
        """Value of one Prometheus sample (labels: dict, matched exactly) or None."""
        return metric_value(self.metrics(), name, labels)

    def log_bytes(self, topic, partition=0):
        """Bytes of the partition's .log files (a file swapped or deleted meanwhile: 0)."""
        d = self.partition_dir(topic, partition)
        total = 0
        for f in os.listdir(d):
            if f.endswith(".log"):
                try:
                    total += os.path.getsize(os.path.join(d, f))
                except FileNotFoundError:
                    pass
        return total

    def partition_dir(self, topic, partition):
        return os.path.join(self.data_dir, "%s-%d" % (topic, partition))


def parse_labels(s):
    out = {}
    for m in re.finditer(r'(\w+)="((?:[^"\\]|\\.)*)"', s or ""):
        out[m.group(1)] = m.group(2)
    return out


def metric_samples(text, name):
    """[(labels dict, float)] for every sample of metric `name`."""
    res = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)", line)
        if m and m.group(1) == name:
            res.append((parse_labels(m.group(2)), float(m.group(3))))
    return res


def metric_value(text, name, labels=None):
    """First sample of `name` whose labels include all of `labels` (None if absent)."""
    for lab, v in metric_samples(text, name):
        if all(lab.get(k) == str(val) for k, val in (labels or {}).items()):
            return v
    return None


def _check_clean_exit(b, request):
    """Stops a broker at teardown; a non-zero exit or a crash fails the test's teardown."""
    if b.proc is None:
        return
    if b.proc.poll() is not None:
        rc = b.proc.returncode
        b.kill()
        pytest.fail("broker died during the test (rc=%r); stderr:\n%s" % (rc, b.stderr()[-6000:]))
    rc = b.stop()
    if rc != 0:
        pytest.fail("broker exit code %r after SIGTERM; stderr:\n%s" % (rc, b.stderr()[-6000:]))


@pytest.fixture(scope="session")
def broker(tmp_path_factory, request):
    """One broker shared by most tests. Tests use unique topic names."""
    d = tmp_path_factory.mktemp("session-broker") / "data"
    b = Broker(d, sets={"num.partitions": 3}).start()
    yield b
    _check_clean_exit(b, request)


@pytest.fixture
def make_broker(tmp_path, request):
    """Factory for function-scoped brokers (restart/kill/config tests)."""
    made = []

    def make(sets=None, data_dir=None, start=True, **kw):
        b = Broker(data_dir or (tmp_path / ("data%d" % len(made))), sets=sets, **kw)
        made.append(b)
        return b.start() if start else b

    yield make
    for b in made:
        _check_clean_exit(b, request)


@pytest.fixture(autouse=True)
def _broker_alive_after(request):
    """After every test that used the session broker, it must still be alive."""
    yield
    if "broker" in request.fixturenames:
        b = request.getfixturevalue("broker")
        if b.proc is not None and b.proc.poll() is not None:
            pytest.fail("session broker died (rc=%r); stderr:\n%s"
                        % (b.proc.returncode, b.stderr()[-6000:]))


@pytest.fixture
def topic():
    return unique("t")


_GIVEN_FIXED = set()


def fixed_free_port(base):
    """A free port in [base, base + 12000), below Linux's ephemeral range (32768-60999): a port
    bound once and released inside that range can be taken by any outgoing connection on a busy
    machine before the broker binds it. Each pytest-xdist worker draws from its own slice of
    1500, so two workers never hand out the same port before either binds it."""
    import random
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    slot = int(worker[2:]) % 8 if worker[2:].isdigit() else 0
    lo = base + slot * 1500
    for _ in range(200):
        port = random.randrange(lo, lo + 1500)
        if port in _GIVEN_FIXED:
            continue  # handed out already, maybe not bound yet
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            _GIVEN_FIXED.add(port)
            return port
        except OSError:
            continue
        finally:
            s.close()
    return free_port()


def fixed_free_port_range(base, n):
    """The first of n consecutive free ports from this worker's slice (see fixed_free_port),
    for commands that number their listeners PORT, PORT+1, ..."""
    import random
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    slot = int(worker[2:]) % 8 if worker[2:].isdigit() else 0
    lo = base + slot * 1500
    for _ in range(200):
        first = random.randrange(lo, lo + 1500 - n)
        ports = range(first, first + n)
        if any(p in _GIVEN_FIXED for p in ports):
            continue
        socks = []
        try:
            for p in ports:
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", p))
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
        _GIVEN_FIXED.update(ports)
        return first
    raise AssertionError("no %d consecutive free ports in %d-%d" % (n, lo, lo + 1500))


def free_port():
    """A local port nothing listens on (bound once, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --------------------------------------------------------------------------------------------
# Raw Kafka protocol helper (struct based; classic and flexible encodings)
# --------------------------------------------------------------------------------------------
def i8(v): return struct.pack(">b", v)
def i16(v): return struct.pack(">h", v)
def i32(v): return struct.pack(">i", v)
def i64(v): return struct.pack(">q", v)


def kstr(s):
    if s is None:
        return i16(-1)
    b = s.encode() if isinstance(s, str) else s
    return i16(len(b)) + b


def kbytes(b):
    if b is None:
        return i32(-1)
    return i32(len(b)) + b


def karray(items, enc):
    if items is None:
        return i32(-1)
    return i32(len(items)) + b"".join(enc(x) for x in items)


def uvarint(n):
    """Unsigned varint (LEB128), the length prefix of every compact field."""
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def read_uvarint(buf, pos):
    """-> (value, position after it)."""
    shift = 0
    res = 0
    while True:
        b = buf[pos]
        pos += 1
        res |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return res, pos


def zigzag_varint(n):
    return uvarint((n << 1) ^ (n >> 63))


def read_zigzag(buf, pos):
    res, pos = read_uvarint(buf, pos)
    return (res >> 1) ^ -(res & 1), pos


# Flexible versions (KIP-482): compact strings/bytes/arrays carry length+1 as an unsigned
# varint (0 for null) and every struct ends in a tag buffer. Written by hand, once, so a
# mistake made the same way in the generated encoder and decoder still shows in a test.
TAGS = b"\x00"  # an empty tag buffer


def cstr(s):
    """Compact nullable string (str) or compact nullable bytes (bytes)."""
    if s is None:
        return uvarint(0)
    b = s.encode() if isinstance(s, str) else s
    return uvarint(len(b) + 1) + b


def carray(items, enc):
    if items is None:
        return uvarint(0)
    return uvarint(len(items) + 1) + b"".join(enc(x) for x in items)


_CRC32C = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC32C.append(_c)


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def record_batch(records, base_ts=None, attributes=0):
    """Magic-2 batch, uncompressed. records: [(key, value, headers[(k, v)], ts|None)]."""
    if base_ts is None:
        base_ts = int(time.time() * 1000)
    body = b""
    max_ts = base_ts
    for i, r in enumerate(records):
        key, value = r[0], r[1]
        headers = r[2] if len(r) > 2 else []
        ts = r[3] if len(r) > 3 and r[3] is not None else base_ts
        max_ts = max(max_ts, ts)
        rec = i8(0) + zigzag_varint(ts - base_ts) + zigzag_varint(i)
        rec += zigzag_varint(-1) if key is None else zigzag_varint(len(key)) + key
        rec += zigzag_varint(-1) if value is None else zigzag_varint(len(value)) + value
        rec += zigzag_varint(len(headers))
        for hk, hv in headers:
            hk = hk.encode() if isinstance(hk, str) else hk
            rec += zigzag_varint(len(hk)) + hk
            rec += zigzag_varint(-1) if hv is None else zigzag_varint(len(hv)) + hv
        body += zigzag_varint(len(rec)) + rec
    after_crc = (i16(attributes) + i32(len(records) - 1) + i64(base_ts) + i64(max_ts) + i64(-1)
                 + i16(-1) + i32(-1) + i32(len(records)) + body)
    crc = crc32c(after_crc)
    after_len = i32(0) + i8(2) + struct.pack(">I", crc) + after_crc
    return i64(0) + i32(len(after_len)) + after_len


def idempotent_batch(records, pid, epoch, seq, attributes=0):
    """record_batch(records) from producer (pid, epoch) starting at sequence seq."""
    b = bytearray(record_batch(records, attributes=attributes))
    struct.pack_into(">qhi", b, 43, pid, epoch, seq)
    struct.pack_into(">I", b, 17, crc32c(bytes(b[21:])))  # the CRC covers the producer fields
    return bytes(b)


def parse_batches(data):
    """Parses magic-2 uncompressed batches -> [(offset, ts, key, value, headers)]."""
    out = []
    pos = 0
    while pos + 12 <= len(data):
        base, length = struct.unpack_from(">qi", data, pos)
        end = pos + 12 + length
        if end > len(data):
            break  # truncated trailing batch
        magic = data[pos + 16]
        assert magic == 2, "magic %d" % magic
        attrs, last_delta, base_ts, max_ts = struct.unpack_from(">hiqq", data, pos + 21)
        count = struct.unpack_from(">i", data, pos + 57)[0]
        assert attrs & 7 == 0, "parse_batches handles uncompressed batches only"
        p = pos + 61
        for _ in range(count):
            ln, p = read_zigzag(data, p)
            rend = p + ln
            p += 1
            tsd, p = read_zigzag(data, p)
            od, p = read_zigzag(data, p)
            kl, p = read_zigzag(data, p)
            key = None if kl < 0 else bytes(data[p:p + kl])
            p += max(kl, 0)
            vl, p = read_zigzag(data, p)
            val = None if vl < 0 else bytes(data[p:p + vl])
            p += max(vl, 0)
            nh, p = read_zigzag(data, p)
            hdrs = []
            for _h in range(nh):
                hl, p = read_zigzag(data, p)
                hk = bytes(data[p:p + hl]).decode()
                p += hl
                hvl, p = read_zigzag(data, p)
                hv = None if hvl < 0 else bytes(data[p:p + hvl])
                p += max(hvl, 0)
                hdrs.append((hk, hv))
            ts = max_ts if attrs & 8 else base_ts + tsd
            out.append((base + od, ts, key, val, hdrs))
            p = rend
        pos = end
    return out


def batch_attrs(data):
    """[(base offset, attributes)] of each whole batch in a Fetch response's records (a
    truncated trailing batch is left out, as parse_batches does)."""
    res = []
    pos = 0
    while pos + 61 <= len(data):
        base, length = struct.unpack_from(">qi", data, pos)
        if pos + 12 + length > len(data):
            break
        res.append((base, struct.unpack_from(">h", data, pos + 21)[0]))
        pos += 12 + length
    return res


class Reader:
    def __init__(self, data):
        self.d = data
        self.p = 0

    def _u(self, fmt):
        v = struct.unpack_from(fmt, self.d, self.p)[0]
        self.p += struct.calcsize(fmt)
        return v

    def i8(self): return self._u(">b")
    def i16(self): return self._u(">h")
    def i32(self): return self._u(">i")
    def i64(self): return self._u(">q")

    # Lengths (negative: null); FlexReader reads them as compact lengths instead.
    def _str_len(self): return self.i16()
    def _bytes_len(self): return self.i32()
    def _array_len(self): return self.i32()

    def _take(self, n):
        b = self.d[self.p:self.p + n]
        self.p += n
        return b

    def str(self):
        n = self._str_len()
        return None if n < 0 else self._take(n).decode()

    def bytes(self):
        n = self._bytes_len()
        return None if n < 0 else self._take(n)

    def array(self, fn):
        n = self._array_len()
        return None if n < 0 else [fn(self) for _ in range(n)]

    def rest(self):
        return self.d[self.p:]

    def done(self):
        return self.p == len(self.d)


class FlexReader(Reader):
    """A flexible-version body: str/bytes/array are the compact forms (a flexible version
    has no classic ones), plus uuid and tag buffers."""

    def uvarint(self):
        v, self.p = read_uvarint(self.d, self.p)
        return v

    def _compact_len(self):
        return self.uvarint() - 1

    _str_len = _bytes_len = _array_len = _compact_len

    def uuid(self):
        return self._take(16)

    def tags(self):
        """Reads a tag buffer -> {tag: raw bytes}."""
        out = {}
        for _ in range(self.uvarint()):
            tag, size = self.uvarint(), self.uvarint()
            out[tag] = self._take(size)
        return out

    def no_tags(self):
        """Reads a tag buffer that must be empty."""
        tags = self.tags()
        assert tags == {}, "unexpected tagged fields %r" % tags


class RawConn:
    """A raw TCP connection speaking request header v1 / response header v0."""

    def __init__(self, port, timeout=5.0, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=timeout * SLOW)
        self.corr = 0

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    @staticmethod
    def frame(api_key, version, corr, body, client_id="e2e-raw", flexible=False):
        """Request header v1, or v2 (v1 then a tag buffer) for a flexible version."""
        hdr = i16(api_key) + i16(version) + i32(corr) + kstr(client_id)
        if flexible:
            hdr += TAGS
        payload = hdr + body
        return i32(len(payload)) + payload

    def send(self, api_key, version, body, corr=None, flexible=False):
        if corr is None:
            self.corr += 1
            corr = self.corr
        self.sock.sendall(self.frame(api_key, version, corr, body, flexible=flexible))
        return corr

    def sendraw(self, data):
        self.sock.sendall(data)

    def recv_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("connection closed after %d/%d bytes" % (len(buf), n))
            buf += chunk
        return bytes(buf)

    def recv(self):
        """-> (correlation_id, body bytes after the v0 response header)."""
        size = struct.unpack(">i", self.recv_exact(4))[0]
        data = self.recv_exact(size)
        return struct.unpack_from(">i", data)[0], data[4:]

    def request(self, api_key, version, body):
        corr = self.send(api_key, version, body)
        rc, resp = self.recv()
        assert rc == corr, "correlation id %d != %d" % (rc, corr)
        return Reader(resp)

    def flex_request(self, api_key, version, body):
        """A flexible version: request header v2; response header v1 (correlation id and an
        empty tag buffer) -> FlexReader over the body."""
        corr = self.send(api_key, version, body, flexible=True)
        rc, resp = self.recv()
        assert rc == corr, "correlation id %d != %d" % (rc, corr)
        r = FlexReader(resp)
        r.no_tags()
        return r

    def closed_by_peer(self, timeout=3.0):
        """True if the peer closes (EOF or reset) within timeout without sending data."""
        self.sock.settimeout(timeout * SLOW)
        try:
            data = self.sock.recv(65536)
            return data == b""
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    # -- encoders/decoders for a few APIs ------------------------------------------------------
    def api_versions(self, version=0):
        r = self.request(18, version, b"")
        err = r.i16()
        apis = r.array(lambda r: (r.i16(), r.i16(), r.i16()))
        return err, {k: (lo, hi) for k, lo, hi in (apis or [])}

    def init_producer_id(self, txn_id=None, version=0, timeout_ms=60000):
        """InitProducerId v0/v1 -> (error_code, producer_id, epoch)."""
        r = self.request(22, version, kstr(txn_id) + i32(timeout_ms))
        r.i32()  # throttle
        return r.i16(), r.i64(), r.i16()

    def metadata_v0(self, topics):
        r = self.request(3, 0, karray(topics, kstr))
        brokers = r.array(lambda r: (r.i32(), r.str(), r.i32()))
        tps = r.array(lambda r: (r.i16(), r.str(), r.array(
            lambda r: (r.i16(), r.i32(), r.i32(), r.array(lambda r: r.i32()),
                       r.array(lambda r: r.i32())))))
        return brokers, {t[1]: (t[0], t[2]) for t in tps}

    @staticmethod
    def produce_body(topic, partition, batch, acks=1, timeout_ms=5000):
        return (kstr(None) + i16(acks) + i32(timeout_ms) +
                karray([topic], lambda t: kstr(t) + karray(
                    [partition], lambda p: i32(p) + kbytes(batch))))

    def produce(self, topic, partition, batch, acks=1, version=3):
        r = self.request(0, version, self.produce_body(topic, partition, batch, acks))
        res = r.array(lambda r: (r.str(), r.array(
            lambda r: (r.i32(), r.i16(), r.i64(), r.i64() if version >= 2 else None,
                       r.i64() if version >= 5 else None))))
        (_t, [(p, err, base, _lat, _ls)]) = res[0]
        return err, base

    @staticmethod
    def fetch_body(topic, partition, offset, max_wait_ms=100, min_bytes=1,
                   max_bytes=1 << 20, partition_max=1 << 20, version=4, current_epoch=-1):
        assert version in (4, 10, 11)
        body = i32(-1) + i32(max_wait_ms) + i32(min_bytes) + i32(max_bytes) + i8(0)
        if version >= 7:
            body += i32(0) + i32(-1)  # session id, epoch: no fetch session

        def part(p):
            b = i32(p)
            if version >= 9:
                b += i32(current_epoch)  # current leader epoch (-1: unknown)
            b += i64(offset)
            if version >= 5:
                b += i64(-1)  # log start offset (followers only)
            return b + i32(partition_max)
        body += karray([topic], lambda t: kstr(t) + karray([partition], part))
        if version >= 7:
            body += i32(0)  # forgotten topics
        if version >= 11:
            body += kstr("")  # rack id
        return body

    def fetch(self, topic, partition, offset, version=4, **kw):
        """Fetch (v4, v10 or v11) -> (error_code, high_watermark, records bytes)."""
        r = self.request(1, version, self.fetch_body(topic, partition, offset, version=version,
                                                     **kw))
        r.i32()  # throttle
        if version >= 7:
            top_err = r.i16()
            r.i32()  # session id
            assert top_err == 0, "top-level fetch error %d" % top_err

        def part(r):
            p, err, hwm, lso = r.i32(), r.i16(), r.i64(), r.i64()
            if version >= 5:
                r.i64()  # log start offset
            ab = r.array(lambda r: (r.i64(), r.i64()))
            if version >= 11:
                r.i32()  # preferred read replica
            return p, err, hwm, lso, ab, r.bytes()
        res = r.array(lambda r: (r.str(), r.array(part)))
        (_t, [(p, err, hwm, lso, _ab, records)]) = res[0]
        return err, hwm, records

    def list_offsets(self, topic, partition, ts):
        """ListOffsets v1 -> (error_code, timestamp, offset)."""
        body = i32(-1) + karray([topic], lambda t: kstr(t) + karray(
            [partition], lambda p: i32(p) + i64(ts)))
        r = self.request(2, 1, body)
        res = r.array(lambda r: (r.str(), r.array(
            lambda r: (r.i32(), r.i16(), r.i64(), r.i64()))))
        (_t, [(p, err, rts, off)]) = res[0]
        return err, rts, off


def raw_fetch_all(port, topic, partition, offset=0):
    """Fetch v4 from offset to the end -> ([(offset, ts, key, value, headers)], hwm)."""
    out = []
    with RawConn(port) as c:
        while True:
            err, hwm, recs = c.fetch(topic, partition, offset)
            assert err == 0, "fetch error %d" % err
            got = [r for r in parse_batches(recs) if r[0] >= offset]
            if not got:
                return out, hwm
            out.extend(got)
            offset = got[-1][0] + 1


def earliest_offset(port, topic, partition=0):
    """ListOffsets v1 EARLIEST (-2): the log start offset."""
    with RawConn(port) as c:
        err, _ts, off = c.list_offsets(topic, partition, -2)
    assert err == 0, "list_offsets error %d" % err
    return off


@pytest.fixture
def raw(broker):
    conns = []

    def connect(port=None):
        c = RawConn(port or broker.port)
        conns.append(c)
        return c

    yield connect
    for c in conns:
        c.close()


# --------------------------------------------------------------------------------------------
# Client factories
# --------------------------------------------------------------------------------------------
def ck_producer(bootstrap, **conf):
    import confluent_kafka
    base = {"bootstrap.servers": bootstrap, "linger.ms": 5,
            "message.timeout.ms": int(10000 * SLOW), "socket.timeout.ms": int(10000 * SLOW), "log.connection.close": False}
    base.update(conf)
    return confluent_kafka.Producer(base)


def ck_consumer(bootstrap, **conf):
    import confluent_kafka
    base = {"bootstrap.servers": bootstrap, "group.id": unique("g"),
            "enable.auto.commit": False, "auto.offset.reset": "earliest",
            "enable.partition.eof": False, "fetch.wait.max.ms": 100,
            "socket.timeout.ms": int(10000 * SLOW), "log.connection.close": False}
    base.update(conf)
    return confluent_kafka.Consumer(base)


def ck_admin(bootstrap, **conf):
    import confluent_kafka.admin
    base = {"bootstrap.servers": bootstrap, "socket.timeout.ms": int(10000 * SLOW), "log.connection.close": False}
    base.update(conf)
    return confluent_kafka.admin.AdminClient(base)


def ck_produce(bootstrap, topic, records, flush_timeout=15.0, **conf):
    """Produces records [(key, value, headers|None, ts|None, partition|None)];
    returns the list of delivered Message objects in the order produced; asserts no error."""
    p = ck_producer(bootstrap, **conf)
    delivered = {}

    def cb(i):
        def f(err, msg):
            delivered[i] = (err, msg)
        return f

    for i, r in enumerate(records):
        key, value = r[0], r[1]
        kw = {}
        if len(r) > 2 and r[2] is not None:
            kw["headers"] = r[2]
        if len(r) > 3 and r[3] is not None:
            kw["timestamp"] = r[3]
        if len(r) > 4 and r[4] is not None:
            kw["partition"] = r[4]
        while True:
            try:
                p.produce(topic, value=value, key=key, on_delivery=cb(i), **kw)
                break
            except BufferError:
                p.poll(0.05)
    left = p.flush(flush_timeout * SLOW)
    assert left == 0, "%d messages not delivered" % left
    errs = [(i, e) for i, (e, _m) in sorted(delivered.items()) if e is not None]
    assert not errs, "delivery errors: %r" % errs[:5]
    assert len(delivered) == len(records)
    return [delivered[i][1] for i in range(len(records))]


def ck_consume(bootstrap, topic, partitions, count, offset=None, timeout=10.0, **conf):
    """Assigns `partitions` (list of int) at `offset` (default OFFSET_BEGINNING), polls until
    `count` records arrived (or timeout) and returns them."""
    import confluent_kafka
    c = ck_consumer(bootstrap, **conf)
    if offset is None:
        offset = confluent_kafka.OFFSET_BEGINNING
    c.assign([confluent_kafka.TopicPartition(topic, p, offset) for p in partitions])
    out = []
    deadline = time.monotonic() + timeout * SLOW
    try:
        while len(out) < count and time.monotonic() < deadline:
            for m in c.consume(num_messages=max(1, count - len(out)), timeout=0.2):
                if m.error():
                    if m.error().code() == confluent_kafka.KafkaError._PARTITION_EOF:
                        continue
                    raise AssertionError("consumer error: %s" % m.error())
                out.append(m)
    finally:
        c.close()
    return out


def kp_producer(bootstrap, **conf):
    import kafka
    base = dict(bootstrap_servers=bootstrap, request_timeout_ms=int(10000 * SLOW),
                linger_ms=5)
    base.update(conf)
    return kafka.KafkaProducer(**base)


def kp_consumer(bootstrap, **conf):
    import kafka
    base = dict(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                auto_offset_reset="earliest", consumer_timeout_ms=int(3000 * SLOW),
                fetch_max_wait_ms=100, request_timeout_ms=int(11000 * SLOW))
    base.update(conf)
    return kafka.KafkaConsumer(**base)


def kp_admin(bootstrap, **conf):
    import kafka
    base = dict(bootstrap_servers=bootstrap, request_timeout_ms=int(10000 * SLOW))
    base.update(conf)
    return kafka.KafkaAdminClient(**base)


def kp_consume(bootstrap, topic, partitions, count, offsets=None, timeout=10.0, **conf):
    import kafka
    c = kp_consumer(bootstrap, **conf)
    tps = [kafka.TopicPartition(topic, p) for p in partitions]
    c.assign(tps)
    if offsets is None:
        c.seek_to_beginning(*tps)
    else:
        for tp in tps:
            c.seek(tp, offsets)
    out = []
    deadline = time.monotonic() + timeout * SLOW
    try:
        while len(out) < count and time.monotonic() < deadline:
            batch = c.poll(timeout_ms=200, max_records=count - len(out))
            for tp in sorted(batch, key=lambda t: t.partition):
                out.extend(batch[tp])
    finally:
        c.close()
    return out


def create_topic(bootstrap, name, partitions=1, config=None, timeout=10.0):
    """Creates a topic with confluent-kafka's admin API and waits for it in Metadata."""
    import confluent_kafka.admin as cka
    a = ck_admin(bootstrap)
    fs = a.create_topics([cka.NewTopic(name, partitions, 1, config=config or {})],
                         operation_timeout=timeout)
    fs[name].result(timeout * SLOW)

    def visible():
        md = a.list_topics(name, timeout=5 * SLOW)
        t = md.topics.get(name)
        return t is not None and t.error is None and len(t.partitions) == partitions
    wait_until(visible, timeout, what="topic %s in metadata" % name)
    return name


def kcat(*args, input=None, timeout=20.0, check=True):
    r = subprocess.run(["kcat"] + list(args), input=input, capture_output=True,
                       timeout=timeout * SLOW)
    if check and r.returncode != 0:
        raise AssertionError("kcat %r rc=%d stderr=%s" % (args, r.returncode,
                                                         r.stderr.decode(errors="replace")))
    return r


def runnel(*args, input=None, timeout=20.0):
    return subprocess.run([RUNNEL_BIN] + list(args), input=input, capture_output=True,
                          timeout=timeout * SLOW)
