"""A wire recorder for the CLI's request encoding: a TCP (optionally TLS) listener on
127.0.0.1 that reads Kafka request frames, records (api_key, version, body) and answers
ApiVersions with the versions it is told to list, SASL PLAIN / SCRAM-SHA-256/512 (a real
server side of RFC 5802, so the CLI's client side is checked), and every other request with a
response body the test gives. It checks what the CLI sends, not how a broker behaves: the
broker's side of these APIs is tested against the real broker."""
import base64
import hashlib
import hmac
import os
import socket
import ssl
import struct
import threading

FLEXIBLE_FROM = {50: 0, 51: 0, 48: 1, 49: 1, 29: 2, 30: 2, 31: 2, 18: 3}


def uvarint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def cstr(s):
    if s is None:
        return b"\x00"
    b = s.encode()
    return uvarint(len(b) + 1) + b


def carray(items):
    return uvarint(len(items) + 1) + b"".join(items)


def nstr(s):
    if s is None:
        return struct.pack(">h", -1)
    b = s.encode()
    return struct.pack(">h", len(b)) + b


class Rd:
    """A cursor over a request body, compact or classic."""

    def __init__(self, data, flex):
        self.d, self.p, self.flex = data, 0, flex

    def take(self, n):
        v = self.d[self.p:self.p + n]
        assert len(v) == n, "short body"
        self.p += n
        return v

    def i8(self): return struct.unpack(">b", self.take(1))[0]
    def i16(self): return struct.unpack(">h", self.take(2))[0]
    def i32(self): return struct.unpack(">i", self.take(4))[0]
    def f64(self): return struct.unpack(">d", self.take(8))[0]
    def bool(self): return self.take(1) != b"\x00"

    def uv(self):
        n = shift = 0
        while True:
            b = self.take(1)[0]
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n

    def str(self):
        if self.flex:
            n = self.uv() - 1
        else:
            n = self.i16()
        return None if n < 0 else self.take(n).decode()

    def bytes(self):
        n = self.uv() - 1 if self.flex else self.i32()
        return None if n < 0 else self.take(n)

    def count(self):
        return self.uv() - 1 if self.flex else self.i32()

    def tags(self):
        if self.flex:
            n = self.uv()
            for _ in range(n):
                self.uv()
                self.take(self.uv())

    def done(self):
        return self.p == len(self.d)


class Scram:
    """The server side of SCRAM for one user."""

    def __init__(self, mech, user, password, iterations=4096):
        self.h = hashlib.sha256 if mech == "SCRAM-SHA-256" else hashlib.sha512
        self.name = self.h().name
        self.mech, self.user, self.iterations = mech, user, iterations
        self.salt = os.urandom(16)
        self.salted = hashlib.pbkdf2_hmac(self.name, password.encode(), self.salt, iterations)

    def hm(self, key, msg):
        return hmac.new(key, msg, self.h).digest()


class Recorder:
    def __init__(self, versions, responses=None, tls=None, sasl=None):
        """versions: {api_key: (min, max)} listed in ApiVersions. responses: {api_key:
        fn(version, body) -> response body}. tls: an ssl.SSLContext (server side). sasl:
        {"PLAIN": {user: password}} or {"SCRAM-SHA-256": Scram(...)}."""
        self.versions = dict(versions)
        if sasl:
            self.versions.setdefault(17, (0, 1))
            self.versions.setdefault(36, (0, 1))
        self.responses = responses or {}
        self.tls, self.sasl = tls, sasl or {}
        self.requests = []  # (api_key, version, client_id, body)
        self.auth = []      # what SASL saw: ("PLAIN", user) or ("SCRAM", user, ok)
        self.errors = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.bootstrap = "127.0.0.1:%d" % self.port
        self.stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def bodies(self, key):
        return [(v, b) for k, v, _, b in self.requests if k == key]

    def close(self):
        self.stop = True
        self.sock.close()

    def _accept(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _read(self, c, n):
        buf = b""
        while len(buf) < n:
            chunk = c.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    def _serve(self, c):
        c.settimeout(30)
        try:
            if self.tls:
                c = self.tls.wrap_socket(c, server_side=True)
            scram = {}
            while True:
                n = struct.unpack(">i", self._read(c, 4))[0]
                frame = self._read(c, n)
                key, ver, corr = struct.unpack(">hhi", frame[:8])
                cl = struct.unpack(">h", frame[8:10])[0]
                client_id = frame[10:10 + max(cl, 0)].decode()
                p = 10 + max(cl, 0)
                flex = key in FLEXIBLE_FROM and ver >= FLEXIBLE_FROM[key]
                if flex:
                    assert frame[p] == 0, "request header v2 tags"
                    p += 1
                body = frame[p:]
                self.requests.append((key, ver, client_id, body))
                resp = self._answer(key, ver, body, scram)
                if resp is None:
                    return
                head = struct.pack(">i", corr) + (b"\x00" if flex else b"")
                c.sendall(struct.pack(">i", len(head) + len(resp)) + head + resp)
        except (EOFError, OSError, ssl.SSLError):
            return
        except Exception as e:  # noqa: BLE001 - recorded for the test to show
            self.errors.append(repr(e))
        finally:
            c.close()

    def _answer(self, key, ver, body, st):
        if key == 18:
            keys = sorted(self.versions.items())
            return struct.pack(">hi", 0, len(keys)) + b"".join(
                struct.pack(">hhh", k, lo, hi) for k, (lo, hi) in keys)
        if key == 17:
            mech = Rd(body, False).str()
            st["mech"] = mech
            offered = list(self.sasl)
            err = 0 if mech in self.sasl else 33
            return struct.pack(">hi", err, len(offered)) + b"".join(nstr(m) for m in offered)
        if key == 36:
            data = Rd(body, False).bytes()
            return self._sasl(st, data)
        fn = self.responses.get(key)
        return fn(ver, body) if fn else None

    def _auth_resp(self, err, msg, data):
        return (struct.pack(">h", err) + nstr(msg) + struct.pack(">i", len(data)) + data +
                struct.pack(">q", 0))

    def _sasl(self, st, data):
        mech = st.get("mech")
        if mech == "PLAIN":
            _, user, pw = data.split(b"\x00")
            good = self.sasl["PLAIN"].get(user.decode()) == pw.decode()
            self.auth.append(("PLAIN", user.decode(), good))
            return self._auth_resp(0 if good else 58, None if good else "bad password", b"")
        s = self.sasl[mech]
        if "first" not in st:
            msg = data.decode()
            assert msg.startswith("n,,"), msg
            st["first"] = msg[3:]
            attrs = dict(kv.split("=", 1) for kv in st["first"].split(","))
            st["user"] = attrs["n"].replace("=2C", ",").replace("=3D", "=")
            st["nonce"] = attrs["r"] + base64.b64encode(os.urandom(12)).decode()
            st["server_first"] = "r=%s,s=%s,i=%d" % (st["nonce"],
                                                     base64.b64encode(s.salt).decode(),
                                                     s.iterations)
            return self._auth_resp(0, None, st["server_first"].encode())
        final = data.decode()
        without, proof = final.rsplit(",p=", 1)
        auth = ",".join([st["first"], st["server_first"], without]).encode()
        ckey = s.hm(s.salted, b"Client Key")
        stored = s.h(ckey).digest()
        sig = s.hm(stored, auth)
        want = bytes(a ^ b for a, b in zip(ckey, sig))
        good = (st["user"] == s.user and base64.b64decode(proof) == want and
                without == "c=biws,r=" + st["nonce"])
        self.auth.append(("SCRAM", st["user"], good))
        if not good:
            return self._auth_resp(58, "Authentication failed during authentication due to "
                                       "invalid credentials with SASL mechanism " + mech, b"")
        ssig = s.hm(s.hm(s.salted, b"Server Key"), auth)
        return self._auth_resp(0, None, b"v=" + base64.b64encode(ssig))
