"""The admin HTTP listener (/health, /metrics) while many idle connections are open."""
import re
import socket
import subprocess

import pytest

from conftest import SLOW, ck_admin, wait_until

LIMIT_RE = re.compile(r"http admin listening on \S+ \(at most (\d+) connections")


def open_idle(port, n):
    """n TCP connections that never send a byte (a port scanner, a stuck monitor)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.settimeout(5 * SLOW)
            s.connect(("127.0.0.1", port))
            socks.append(s)
    except OSError:
        for s in socks:
            s.close()
        raise
    return socks


def curl(port, path):
    """(status, body) from curl, which gives up after a few seconds."""
    r = subprocess.run(["curl", "-sS", "--max-time", "%d" % (5 * SLOW), "-w", "\n%{http_code}",
                        "http://127.0.0.1:%d%s" % (port, path)], capture_output=True,
                       timeout=30 * SLOW)
    assert r.returncode == 0, "curl %s failed (rc=%d): %s" % (path, r.returncode,
                                                              r.stderr.decode())
    body, _, code = r.stdout.decode().rpartition("\n")
    return int(code), body.strip() if path == "/health" else body


def health_ok(port):
    try:
        return curl(port, "/health")[0] == 200
    except AssertionError:
        return False


def test_answers_with_1000_idle_connections_open(make_broker):
    b = make_broker()
    socks = open_idle(b.admin_port, 1000)
    try:
        assert curl(b.admin_port, "/health") == (200, "ok")
        code, body = curl(b.admin_port, "/metrics")
        assert code == 200 and "# TYPE" in body
        # The Kafka listener is not starved of descriptors either.
        md = ck_admin(b.bootstrap).list_topics(timeout=5 * SLOW)
        assert md.brokers
    finally:
        for s in socks:
            s.close()
    assert curl(b.admin_port, "/health")[0] == 200
    refusals = [l for l in b.stderr().splitlines() if "http admin:" in l]
    assert not refusals, "\n".join(refusals[:5])


def test_refused_connections_do_not_flood_the_log(make_broker):
    """Past its connection limit the listener refuses more, logging a few lines, not one per
    connection; once the idle ones go, it answers again."""
    b = make_broker()
    m = LIMIT_RE.search(b.stderr())
    limit = int(m.group(1)) if m else 1000  # the start-up line states it
    socks = open_idle(b.admin_port, limit)
    extra = []
    try:
        for _ in range(300):
            try:
                extra += open_idle(b.admin_port, 1)
            except OSError:
                break  # the kernel's backlog is full: refused before the listener saw it
        for s in extra:
            s.close()
    finally:
        for s in socks:
            s.close()
    wait_until(lambda: health_ok(b.admin_port), timeout=10,
               what="/health after the idle connections closed")
    lines = [l for l in b.stderr().splitlines() if "http admin:" in l]
    print("\n".join(lines))
    assert m, "start-up line does not state the connection limit"
    assert len(lines) <= 5, "%d log lines for refused connections:\n%s" % (
        len(lines), "\n".join(lines[:10]))
