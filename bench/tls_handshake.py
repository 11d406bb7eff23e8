#!/usr/bin/python3
"""New TLS connections per second against one listener, with and without session resumption.

    tls_handshake.py HOST:PORT CAFILE SECONDS [resume]

Each connection does the whole TLS handshake and closes cleanly (close_notify, so the session
stays resumable). With `resume`, every connection offers the session (TLS 1.3 ticket) of the
last full handshake. Prints one JSON object: conns, secs, conns_per_sec,
resumed (connections the server resumed). The client is Python's ssl (OpenSSL underneath): its
own handshake work is on the same machine, so the rate is a lower bound for the broker alone."""
import json
import socket
import ssl
import sys
import time


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    ctx = ssl.create_default_context(cafile=sys.argv[2])
    ctx.check_hostname = False
    secs = float(sys.argv[3])
    resume = len(sys.argv) > 4 and sys.argv[4] == "resume"
    session, conns, resumed = None, 0, 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < secs:
        raw = socket.create_connection((host, int(port)), timeout=10)
        s = ctx.wrap_socket(raw, server_hostname="localhost",
                            session=session if resume else None)
        if resume and not s.session_reused:
            # A TLS 1.3 ticket arrives after the handshake: a read with a short timeout
            # takes it (the broker sends nothing unasked). OpenSSL's stateless tickets can be
            # offered again, so this is needed only when a resumption did not happen.
            s.settimeout(0.05)
            try:
                s.recv(1)
            except (socket.timeout, ssl.SSLError, BlockingIOError):
                pass
            session = s.session
        resumed += 1 if s.session_reused else 0
        conns += 1
        try:
            s.unwrap()
        except (OSError, ssl.SSLError):
            pass
        s.close()
    dt = time.monotonic() - t0
    print(json.dumps({"conns": conns, "secs": round(dt, 3),
                      "conns_per_sec": round(conns / dt, 1), "resumed": resumed}))


if __name__ == "__main__":
    main()
