"""Security fixtures: brokers with several listeners (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL),
certificates made at test time with the openssl CLI, and the e2e helpers re-exported.

Builds on tests/e2e/conftest.py (loaded as `e2e_conftest`, as tests/e2e_cluster does).

    def test_x(make_broker, certs):
        b = make_broker({"SSL": "SSL", "PLAINTEXT": "PLAINTEXT"},
                        sets={"ssl.client.auth": "required", **certs.server_sets()})
        p = ck_producer(b.address("SSL"), **certs.client_conf("alice"))

Each slice (TLS, SASL, ACLs, quotas, CLI) keeps its own helpers in its test module or in a
<slice>_util.py next to it, so this file stays small.
"""
import importlib.util
import os
import re
import socket
import subprocess
import sys

import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))
_E2E = os.path.join(os.path.dirname(_HERE), "e2e")
if _E2E not in sys.path:
    sys.path.append(_E2E)
_spec = importlib.util.spec_from_file_location("e2e_conftest", os.path.join(_E2E, "conftest.py"))
e2e = importlib.util.module_from_spec(_spec)
sys.modules["e2e_conftest"] = e2e
_spec.loader.exec_module(e2e)

REPO = e2e.REPO
RUNNEL_BIN = e2e.RUNNEL_BIN
SLOW = e2e.SLOW
Broker = e2e.Broker
RawConn = e2e.RawConn
unique = e2e.unique
wait_until = e2e.wait_until
metric_value = e2e.metric_value
ck_producer = e2e.ck_producer
ck_consumer = e2e.ck_consumer
ck_admin = e2e.ck_admin
ck_produce = e2e.ck_produce
ck_consume = e2e.ck_consume
kp_producer = e2e.kp_producer
kp_consumer = e2e.kp_consumer
kp_admin = e2e.kp_admin
kcat = e2e.kcat
runnel = e2e.runnel
i8, i16, i32, i64 = e2e.i8, e2e.i16, e2e.i32, e2e.i64
kstr, kbytes, karray = e2e.kstr, e2e.kbytes, e2e.karray


def free_port():
    """A fixed free port (see e2e.fixed_free_port); 8000-19999, apart from the cluster tests'."""
    return e2e.fixed_free_port(8000)


# --------------------------------------------------------------------------------------------
# Certificates
# --------------------------------------------------------------------------------------------
def _openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


class Certs:
    """A CA, a server certificate for 127.0.0.1/localhost, and client certificates on demand,
    all PEM, in one directory. other_ca is a second CA nothing trusts."""

    def __init__(self, d):
        self.dir = str(d)
        os.makedirs(self.dir, exist_ok=True)
        self.ca = self._ca("ca", "Runnel Test CA")
        self.other_ca = self._ca("other-ca", "Untrusted CA")
        self.server_cert, self.server_key = self.issue("server", "/CN=localhost",
                                                       san="IP:127.0.0.1,DNS:localhost")

    def _ca(self, name, cn):
        key, crt = name + ".key", name + ".pem"
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt,
                 "-days", "30", "-subj", "/CN=" + cn, cwd=self.dir)
        return os.path.join(self.dir, crt)

    def issue(self, name, subject, san=None, ca="ca", days=30, start=None):
        """Signs a new key's certificate with ca ("ca" or "other-ca"); returns (cert, key).
        days < 0 with start gives an already expired one (openssl x509 -not_before is not in
        OpenSSL 3.0, so expiry is made with a CA-signed cert whose end date is in the past
        through `openssl ca` in the TLS tests when needed)."""
        key, csr, crt = name + ".key", name + ".csr", name + ".pem"
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
                 "-subj", subject, cwd=self.dir)
        ext = name + ".ext"
        with open(os.path.join(self.dir, ext), "w") as f:
            f.write("basicConstraints=CA:FALSE\n")
            if san:
                f.write("subjectAltName=%s\n" % san)
        _openssl("x509", "-req", "-in", csr, "-CA", ca + ".pem", "-CAkey", ca + ".key",
                 "-CAcreateserial", "-out", crt, "-days", str(days), "-extfile", ext,
                 cwd=self.dir)
        return os.path.join(self.dir, crt), os.path.join(self.dir, key)

    def client(self, cn, ca="ca"):
        return self.issue("client-" + re.sub(r"[^A-Za-z0-9_-]", "_", cn) + "-" + ca,
                          "/CN=%s/O=Runnel" % cn, ca=ca)

    def server_sets(self, prefix=""):
        """Broker configs with Kafka's names for the server side (prefix: a listener's
        'listener.name.ssl.' override prefix)."""
        return {prefix + "ssl.keystore.type": "PEM",
                prefix + "ssl.keystore.certificate.chain": self.server_cert,
                prefix + "ssl.keystore.key": self.server_key,
                prefix + "ssl.truststore.type": "PEM",
                prefix + "ssl.truststore.location": self.ca}

    def client_conf(self, cn=None, ca="ca"):
        """librdkafka (confluent-kafka, kcat -X) settings for an SSL connection, with a client
        certificate when cn is given."""
        conf = {"security.protocol": "SSL", "ssl.ca.location": self.ca}
        if cn:
            cert, key = self.client(cn, ca=ca)
            conf.update({"ssl.certificate.location": cert, "ssl.key.location": key})
        return conf


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    return Certs(tmp_path_factory.mktemp("certs"))


# --------------------------------------------------------------------------------------------
# A broker with several listeners
# --------------------------------------------------------------------------------------------
class SecBroker(Broker):
    """`runnel serve` with listeners NAME://127.0.0.1:<fixed port> for each name in protocols
    (name -> security protocol), listener.security.protocol.map set from it. address(name)
    is the bootstrap for one listener."""

    def __init__(self, data_dir, protocols, sets=None, args=None):
        super().__init__(data_dir, sets=sets, args=args)
        self.protocols = dict(protocols)
        self.ports = {name: free_port() for name in self.protocols}
        first = next(iter(self.protocols))
        self.kafka_re = re.compile(r"listening on 127\.0\.0\.1:(%d)" % self.ports[first])

    def argv(self):
        listeners = ",".join("%s://127.0.0.1:%d" % (n, p) for n, p in self.ports.items())
        pmap = ",".join("%s:%s" % (n, p) for n, p in self.protocols.items())
        base = {"log.dirs": self.data_dir, "listeners": listeners,
                "listener.security.protocol.map": pmap, "admin.listener": "127.0.0.1:0"}
        base.update(self.sets)
        argv = [RUNNEL_BIN, "serve"]
        for k, v in base.items():
            argv += ["--set", "%s=%s" % (k, v)]
        return argv + self.extra_args

    def address(self, name=None):
        name = name or next(iter(self.protocols))
        return "127.0.0.1:%d" % self.ports[name]


@pytest.fixture
def make_broker(tmp_path):
    made = []

    def make(protocols=None, sets=None, args=None, start=True):
        b = SecBroker(tmp_path / ("broker-%d" % len(made)), protocols or {"PLAINTEXT": "PLAINTEXT"},
                      sets=sets, args=args)
        made.append(b)
        if start:
            b.start()
        return b
    yield make
    for b in made:
        try:
            b.stop()
        except AssertionError:
            pass
