#!/usr/bin/env python3
"""Connection-setup rates for the tls workload of bench/run.sh, one JSON object on stdout.

  sec_rates.py handshakes PORT CA_FILE SECONDS [--resume] [--procs N]
      New TLS connections per second against an SSL listener: each one is a TCP connect, a
      full handshake (or an abbreviated one offering the last session: --resume) and one
      ApiVersions round trip, which also makes the client read the TLS 1.3 session tickets the
      server sends after the handshake; then the client sends close_notify and closes. "reused" counts the
      connections the server actually resumed, so a broker that never resumes shows 0.
  sec_rates.py scram PORT USER PASSWORD SECONDS [--procs N] [--mechanism M]
      SASL/SCRAM authentications per second against a SASL_PLAINTEXT listener: each one is a
      new TCP connection, SaslHandshake v1 and the two SaslAuthenticate v1 round trips of RFC
      5802, with the server's signature checked. The client caches its PBKDF2 result per (salt,
      iterations), as RFC 5802 allows, so the rate measures the broker, not Python's PBKDF2.

N processes (default 2) run the loop side by side for SECONDS; the rates are summed.
Raw Kafka framing, written from the protocol's message definitions; no client library."""
import base64
import hashlib
import hmac
import json
import multiprocessing
import os
import socket
import ssl
import struct
import sys
import time

HASHES = {"SCRAM-SHA-256": hashlib.sha256, "SCRAM-SHA-512": hashlib.sha512}


def kstr(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def kbytes(b):
    return struct.pack(">i", len(b)) + b


def recv_exact(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise ConnectionError("connection closed by the broker")
        out += chunk
    return out


def request(s, api, version, body, corr):
    """Request header v1 (non-flexible), -> the response body after the correlation id."""
    hdr = struct.pack(">hhi", api, version, corr) + kstr("bench")
    s.sendall(struct.pack(">i", len(hdr) + len(body)) + hdr + body)
    size = struct.unpack(">i", recv_exact(s, 4))[0]
    data = recv_exact(s, size)
    if struct.unpack(">i", data[:4])[0] != corr:
        raise ValueError("correlation id mismatch")
    return data[4:]


def handshake_loop(port, ca, seconds, resume, q):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = False
    session = None
    n = reused = 0
    version = None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        raw = socket.create_connection(("127.0.0.1", port), timeout=30)
        s = ctx.wrap_socket(raw, server_hostname="localhost",
                            session=session if resume else None)
        request(s, 18, 0, b"", n)  # ApiVersions v0
        if s.session_reused:
            reused += 1
        if resume and s.session is not None:
            session = s.session
        version = s.version()
        # close_notify first, as a well-behaved client does: the broker logs a connection cut
        # without it as a warning, and those lines would be measured too.
        try:
            s.unwrap().close()
        except (OSError, ssl.SSLError):
            s.close()
        n += 1
    q.put((n, reused, version))


def scram_loop(port, mech, user, pw, seconds, q):
    h = HASHES[mech]
    cache = {}
    n = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        r = request(s, 17, 1, kstr(mech), 1)  # SaslHandshake v1
        if struct.unpack(">h", r[:2])[0] != 0:
            raise ValueError("SaslHandshake error %d" % struct.unpack(">h", r[:2])[0])
        nonce = base64.b64encode(os.urandom(18)).decode()
        bare = "n=%s,r=%s" % (user, nonce)
        sf = auth(s, ("n,," + bare).encode(), 2).decode()
        attrs = dict(kv.split("=", 1) for kv in sf.split(","))
        if not attrs["r"].startswith(nonce):
            raise ValueError("server nonce does not extend the client's")
        key = (attrs["s"], attrs["i"])
        if key not in cache:
            cache[key] = hashlib.pbkdf2_hmac(h().name, pw.encode(), base64.b64decode(attrs["s"]),
                                             int(attrs["i"]))
        salted = cache[key]
        ckey = hmac.new(salted, b"Client Key", h).digest()
        without = "c=biws,r=" + attrs["r"]
        am = ",".join([bare, sf, without]).encode()
        csig = hmac.new(h(ckey).digest(), am, h).digest()
        proof = bytes(a ^ b for a, b in zip(ckey, csig))
        final = auth(s, (without + ",p=" + base64.b64encode(proof).decode()).encode(), 3)
        skey = hmac.new(salted, b"Server Key", h).digest()
        if final.decode() != "v=" + base64.b64encode(hmac.new(skey, am, h).digest()).decode():
            raise ValueError("server signature mismatch")
        s.close()
        n += 1
    q.put((n, 0, mech))


def auth(s, token, corr):
    r = request(s, 36, 1, kbytes(token), corr)  # SaslAuthenticate v1
    err = struct.unpack(">h", r[:2])[0]
    off = 2
    mlen = struct.unpack(">h", r[off:off + 2])[0]
    off += 2
    msg = r[off:off + mlen].decode() if mlen > 0 else ""
    off += max(mlen, 0)
    if err:
        raise ValueError("SaslAuthenticate error %d: %s" % (err, msg))
    blen = struct.unpack(">i", r[off:off + 4])[0]
    return r[off + 4:off + 4 + blen]


def main(argv):
    procs = 2
    if "--procs" in argv:
        i = argv.index("--procs")
        procs = int(argv[i + 1])
        del argv[i:i + 2]
    mech = "SCRAM-SHA-256"
    if "--mechanism" in argv:
        i = argv.index("--mechanism")
        mech = argv[i + 1]
        del argv[i:i + 2]
    resume = "--resume" in argv
    argv = [a for a in argv if a != "--resume"]
    mode = argv[1]
    q = multiprocessing.Queue()
    if mode == "handshakes":
        port, ca, secs = int(argv[2]), argv[3], float(argv[4])
        target, args = handshake_loop, (port, ca, secs, resume, q)
    elif mode == "scram":
        port, user, pw, secs = int(argv[2]), argv[3], argv[4], float(argv[5])
        target, args = scram_loop, (port, mech, user, pw, secs, q)
    else:
        sys.exit("usage: see the module docstring")
    t0 = time.monotonic()
    def run(*a):
        try:
            target(*a)
        except Exception as e:  # the parent reports it rather than waiting for a result
            q.put((None, 0, "%s: %s" % (type(e).__name__, e)))
    ps = [multiprocessing.Process(target=run, args=args) for _ in range(procs)]
    for p in ps:
        p.start()
    res = [q.get(timeout=secs + 120) for _ in ps]
    for p in ps:
        p.join()
    wall = time.monotonic() - t0
    errs = [r[2] for r in res if r[0] is None]
    if errs:
        sys.exit("sec_rates.py %s: %s" % (mode, errs[0]))
    n = sum(r[0] for r in res)
    print(json.dumps({"mode": mode, "resume": resume, "procs": procs, "count": n,
                      "reused": sum(r[1] for r in res), "seconds": round(wall, 3),
                      "per_sec": round(n / secs, 1), "detail": res[0][2]}))


if __name__ == "__main__":
    main(sys.argv)
