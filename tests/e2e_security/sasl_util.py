"""SASL helpers for the security tests: a broker with one SASL_PLAINTEXT listener, a raw SASL
client (PLAIN and SCRAM, RFC 5802, written from the RFC) over RawConn, and the SCRAM credential
APIs (50, 51) in raw protocol, since neither Python client here has them."""
import base64
import hashlib
import hmac
import os

from conftest import RawConn, i8, i32, kbytes, kstr
from e2e_conftest import TAGS, carray, cstr

ADMIN_USER, ADMIN_PW = "admin", "admin-secret"
JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
        'username="admin" password="admin-secret" '
        'user_admin="admin-secret" user_alice="alice-secret";')
MECH_IDS = {"SCRAM-SHA-256": 1, "SCRAM-SHA-512": 2}
HASHES = {"SCRAM-SHA-256": hashlib.sha256, "SCRAM-SHA-512": hashlib.sha512}


def sasl_broker(make_broker, sets=None, **kw):
    base = {"listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS}
    base.update(sets or {})
    return make_broker({"SASL_PLAINTEXT": "SASL_PLAINTEXT"}, sets=base, **kw)


def port_of(b):
    return int(b.address().rsplit(":", 1)[1])


def ck_conf(mech, user, pw):
    return {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": mech,
            "sasl.username": user, "sasl.password": pw}


def kp_conf(mech, user, pw):
    return dict(security_protocol="SASL_PLAINTEXT", sasl_mechanism=mech,
                sasl_plain_username=user, sasl_plain_password=pw)


class SaslError(Exception):
    def __init__(self, code, msg):
        super().__init__("SASL error %d: %s" % (code, msg))
        self.code, self.msg = code, msg


def handshake(c, mech, version=1):
    r = c.request(17, version, kstr(mech))
    err = r.i16()
    mechs = r.array(lambda x: x.str())
    return err, mechs


def authenticate(c, token, version=1):
    """SaslAuthenticate -> (error, message, auth bytes, session lifetime)."""
    if version >= 2:
        r = c.flex_request(36, version, cstr(token) + TAGS)
    else:
        r = c.request(36, version, kbytes(token))
    err, msg, data = r.i16(), r.str(), r.bytes()
    life = r.i64() if version >= 1 else 0
    return err, msg, data, life


def plain_login(c, user, pw, version=1):
    err, _ = handshake(c, "PLAIN")
    assert err == 0
    err, msg, _, life = authenticate(c, b"\0" + user.encode() + b"\0" + pw.encode(), version)
    if err:
        raise SaslError(err, msg)
    return life


class ScramClient:
    def __init__(self, mech, user, pw, nonce=None):
        self.mech, self.user, self.pw = mech, user, pw
        self.h = HASHES[mech]
        self.nonce = nonce or base64.b64encode(os.urandom(18)).decode()
        self.bare = "n=%s,r=%s" % (user.replace("=", "=3D").replace(",", "=2C"), self.nonce)

    def first(self):
        return ("n,," + self.bare).encode()

    def final(self, server_first):
        sf = server_first.decode()
        attrs = dict(kv.split("=", 1) for kv in sf.split(","))
        assert attrs["r"].startswith(self.nonce)
        self.salt, self.iterations = base64.b64decode(attrs["s"]), int(attrs["i"])
        salted = hashlib.pbkdf2_hmac(self.h().name, self.pw.encode(), self.salt, self.iterations)
        ckey = hmac.new(salted, b"Client Key", self.h).digest()
        stored = self.h(ckey).digest()
        without = "c=biws,r=" + attrs["r"]
        am = ",".join([self.bare, sf, without]).encode()
        csig = hmac.new(stored, am, self.h).digest()
        proof = bytes(a ^ b for a, b in zip(ckey, csig))
        skey = hmac.new(salted, b"Server Key", self.h).digest()
        self.expected_v = base64.b64encode(hmac.new(skey, am, self.h).digest()).decode()
        return (without + ",p=" + base64.b64encode(proof).decode()).encode()


def scram_login(c, mech, user, pw, version=1):
    """A whole SCRAM exchange over SaslAuthenticate; raises SaslError. -> (client, lifetime)."""
    err, _ = handshake(c, mech)
    assert err == 0
    sc = ScramClient(mech, user, pw)
    err, msg, server_first, _ = authenticate(c, sc.first(), version)
    if err:
        raise SaslError(err, msg)
    sc.server_first = server_first
    err, msg, server_final, life = authenticate(c, sc.final(server_first), version)
    if err:
        raise SaslError(err, msg)
    assert server_final.decode() == "v=" + sc.expected_v
    return sc, life


def admin_conn(b):
    c = RawConn(port_of(b))
    plain_login(c, ADMIN_USER, ADMIN_PW)
    return c


def salted_password(mech, pw, salt, iterations):
    return hashlib.pbkdf2_hmac(HASHES[mech]().name, pw.encode(), salt, iterations)


def alter_scram(c, upserts=(), deletes=()):
    """upserts: (user, mech name or id, password, iterations[, salt]); deletes: (user, mech).
    -> {user: (error code, message)}."""
    def mid(m):
        return MECH_IDS.get(m, m) if isinstance(m, str) else m

    def up(u):
        user, mech, pw, it = u[:4]
        salt = u[4] if len(u) > 4 else os.urandom(32)
        m = mid(mech)
        name = mech if isinstance(mech, str) else "SCRAM-SHA-256"
        sp = salted_password(name if name in HASHES else "SCRAM-SHA-256", pw, salt, it)
        return cstr(user) + i8(m) + i32(it) + cstr(salt) + cstr(sp) + TAGS

    def de(d):
        return cstr(d[0]) + i8(mid(d[1])) + TAGS

    body = carray(list(deletes), de) + carray(list(upserts), up) + TAGS
    r = c.flex_request(51, 0, body)
    r.i32()

    def res(x):
        out = (x.str(), x.i16(), x.str())
        x.no_tags()
        return out
    results = r.array(res)
    return {u: (e, m) for u, e, m in results}


def describe_scram(c, users=None):
    """-> (top error, {user: (error, [(mech id, iterations)])})."""
    body = carray(None if users is None else list(users), lambda u: cstr(u) + TAGS) + TAGS
    r = c.flex_request(50, 0, body)
    r.i32()
    top, _msg = r.i16(), r.str()

    def info(x):
        out = (x.i8(), x.i32())
        x.no_tags()
        return out

    def res(x):
        user, err, _m = x.str(), x.i16(), x.str()
        infos = x.array(info)
        x.no_tags()
        return user, err, infos
    return top, {u: (e, sorted(i)) for u, e, i in r.array(res)}
