"""The security fixtures themselves: a PLAINTEXT broker from make_broker answers a producer,
and the certificates verify against their CA."""
import subprocess

from conftest import ck_produce, unique


def test_plaintext_listener_from_make_broker(make_broker):
    b = make_broker()
    t = unique("smoke")
    ck_produce(b.address(), t, [(None, b"x")])


def test_certificates_chain_to_the_ca(certs):
    cert, _ = certs.client("alice")
    r = subprocess.run(["openssl", "verify", "-CAfile", certs.ca, cert], capture_output=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(["openssl", "verify", "-CAfile", certs.other_ca, cert], capture_output=True)
    assert r.returncode != 0
