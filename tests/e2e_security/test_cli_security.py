"""`runnel user`, `runnel acl`, `runnel quota` and the CLI's client security settings.

Two halves: what the CLI puts on the wire (requests recorded by cli_util.Recorder, decoded
here field by field with Kafka's message definitions, including the SCRAM salted password and
a full SCRAM / PLAIN exchange over TLS), and the subcommands end to end against the real broker
once its side of the API is there (skipped otherwise, saying why)."""
import hashlib
import ssl
import struct

import pytest

from conftest import runnel
from cli_util import Recorder, Rd, Scram, carray, cstr

ALL = {50: (0, 0), 51: (0, 0), 48: (0, 1), 49: (0, 1), 29: (0, 3), 30: (0, 3), 31: (0, 3)}


def ok(r):
    assert r.returncode == 0, "rc=%d stderr=%s" % (r.returncode, r.stderr.decode(errors="replace"))
    return r.stdout.decode(errors="replace")


def err_of(r):
    assert r.returncode != 0, r.stdout
    return r.stderr.decode(errors="replace")


@pytest.fixture
def rec():
    made = []

    def make(versions=None, responses=None, **kw):
        r = Recorder(ALL if versions is None else versions, responses, **kw)
        made.append(r)
        return r
    yield make
    for r in made:
        assert not r.errors, r.errors
        r.close()


TAGS = b"\x00"


# ---------------------------------------------------------------------------------- user
def alter_scram_ok(users):
    def fn(ver, body):
        return struct.pack(">i", 0) + carray([cstr(u) + struct.pack(">h", 0) + cstr(None) + TAGS
                                              for u in users]) + TAGS
    return fn


@pytest.mark.parametrize("mech,hname,iters", [("SCRAM-SHA-256", "sha256", None),
                                              ("SCRAM-SHA-512", "sha512", 8192)])
def test_user_add_sends_kafkas_salted_credential(rec, mech, hname, iters):
    r = rec(responses={51: alter_scram_ok(["alice"])})
    args = ["user", "add", "alice", "--mechanism", mech, "-b", r.bootstrap]
    if iters:
        args += ["--iterations", str(iters)]
    out = ok(runnel(*args, input=b"s3cret pass\n"))
    assert "added user 'alice'" in out
    [(ver, body)] = r.bodies(51)
    assert ver == 0
    rd = Rd(body, True)
    assert rd.count() == 0                     # deletions
    assert rd.count() == 1                     # upsertions
    assert rd.str() == "alice"
    assert rd.i8() == (1 if mech == "SCRAM-SHA-256" else 2)
    n = rd.i32()
    assert n == (iters or 4096)
    salt, salted = rd.bytes(), rd.bytes()
    rd.tags()
    rd.tags()
    assert rd.done()
    # Kafka's tools' salt: a random base-36 number, as ASCII; a fresh one each time.
    assert 16 <= len(salt) <= 30 and salt.decode().isalnum()
    assert salted == hashlib.pbkdf2_hmac(hname, b"s3cret pass", salt, n)
    # The password itself never goes on the wire.
    assert all(b"s3cret" not in b for _, _, _, b in r.requests)


def test_user_add_argument_errors(rec):
    r = rec()
    assert "--mechanism" in err_of(runnel("user", "add", "bob", "-b", r.bootstrap, input=b"x\n"))
    assert "SCRAM-SHA-256 or SCRAM-SHA-512" in err_of(
        runnel("user", "add", "bob", "-m", "MD5", "-b", r.bootstrap, input=b"x\n"))
    assert "empty password" in err_of(
        runnel("user", "add", "bob", "-m", "SCRAM-SHA-256", "-b", r.bootstrap, input=b"\n"))
    assert "one NAME" in err_of(runnel("user", "add", "-m", "SCRAM-SHA-256", "-b", r.bootstrap))
    assert not r.bodies(51)


def describe_scram(results):
    def fn(ver, body):
        out = b""
        items = []
        for user, err, creds in results:
            items.append(cstr(user) + struct.pack(">h", err) +
                         cstr("no such user" if err else None) +
                         carray([struct.pack(">bi", m, i) + TAGS for m, i in creds]) + TAGS)
        out = struct.pack(">ih", 0, 0) + cstr(None) + carray(items) + TAGS
        return out
    return fn


def test_user_list_and_delete(rec):
    r = rec(responses={50: describe_scram([("alice", 0, [(1, 4096), (2, 8192)]),
                                           ("bob", 0, [(1, 4096)])]),
                       51: alter_scram_ok(["alice"])})
    out = ok(runnel("user", "list", "-b", r.bootstrap))
    assert ("SCRAM credential configs for user-principal 'alice' are "
            "SCRAM-SHA-256=iterations=4096, SCRAM-SHA-512=iterations=8192") in out
    assert "user-principal 'bob' are SCRAM-SHA-256=iterations=4096" in out
    [(ver, body)] = r.bodies(50)
    rd = Rd(body, True)
    assert rd.count() == -1 and (rd.tags() or True) and rd.done()  # null: every user
    ok(runnel("user", "list", "alice", "bob", "-b", r.bootstrap))
    rd = Rd(r.bodies(50)[-1][1], True)
    assert rd.count() == 2 and rd.str() == "alice"
    # delete without --mechanism: every mechanism the user has, each named.
    out = ok(runnel("user", "delete", "alice", "-b", r.bootstrap))
    assert "deleted user 'alice'" in out
    rd = Rd(r.bodies(51)[-1][1], True)
    assert rd.count() == 2
    got = []
    for _ in range(2):
        got.append((rd.str(), rd.i8()))
        rd.tags()
    assert got == [("alice", 1), ("alice", 2)]
    assert rd.count() == 0
    ok(runnel("user", "delete", "alice", "-m", "SCRAM-SHA-512", "-b", r.bootstrap))
    rd = Rd(r.bodies(51)[-1][1], True)
    assert rd.count() == 1 and rd.str() == "alice" and rd.i8() == 2


def test_user_errors_are_kafkas(rec):
    r = rec(responses={50: describe_scram([("carol", 91, [])])})
    e = err_of(runnel("user", "list", "carol", "-b", r.bootstrap))
    assert "user 'carol': RESOURCE_NOT_FOUND: no such user" in e


def test_broker_without_the_api(rec):
    r = rec(versions={18: (0, 3)})
    for cmd in (["user", "list"], ["quota", "list"], ["acl", "list"]):
        e = err_of(runnel(*cmd, "-b", r.bootstrap))
        assert "does not support" in e, (cmd, e)


# ---------------------------------------------------------------------------------- quota
def test_quota_alter_and_list_encoding(rec):
    def alter(ver, body):
        return struct.pack(">i", 0) + carray([struct.pack(">h", 0) + cstr(None) + carray(
            [cstr("user") + cstr("alice") + TAGS, cstr("client-id") + cstr("c1") + TAGS]) +
            TAGS]) + TAGS

    def describe(ver, body):
        ent = carray([cstr("user") + cstr("alice") + TAGS])
        vals = carray([cstr("producer_byte_rate") + struct.pack(">d", 1048576.0) + TAGS])
        dflt = carray([cstr("user") + cstr(None) + TAGS])
        dvals = carray([cstr("consumer_byte_rate") + struct.pack(">d", 2048.5) + TAGS])
        return (struct.pack(">ih", 0, 0) + cstr(None) +
                carray([ent + vals + TAGS, dflt + dvals + TAGS]) + TAGS)

    r = rec(responses={49: alter, 48: describe})
    out = ok(runnel("quota", "alter", "--user", "alice", "--client-id", "c1", "--set",
                    "producer_byte_rate=1048576", "--delete", "request_percentage",
                    "-b", r.bootstrap))
    assert "Completed updating quota configs for user-principal 'alice', client-id 'c1'" in out
    [(ver, body)] = r.bodies(49)
    assert ver == 1
    rd = Rd(body, True)
    assert rd.count() == 1
    assert rd.count() == 2
    ents = []
    for _ in range(2):
        ents.append((rd.str(), rd.str()))
        rd.tags()
    assert ents == [("user", "alice"), ("client-id", "c1")]
    assert rd.count() == 2
    ops = []
    for _ in range(2):
        ops.append((rd.str(), rd.f64(), rd.bool()))
        rd.tags()
    assert ops == [("producer_byte_rate", 1048576.0, False), ("request_percentage", 0.0, True)]
    rd.tags()
    assert rd.bool() is False and (rd.tags() or True) and rd.done()

    out = ok(runnel("quota", "list", "-b", r.bootstrap))
    assert "Quota configs for user-principal 'alice' are producer_byte_rate=1048576.0" in out
    assert "Quota configs for the default user-principal are consumer_byte_rate=2048.5" in out
    rd = Rd(r.bodies(48)[-1][1], True)
    assert rd.count() == 0 and rd.bool() is False  # no filter: everything
    ok(runnel("quota", "list", "--user-default", "-b", r.bootstrap))
    rd = Rd(r.bodies(48)[-1][1], True)
    assert rd.count() == 1 and rd.str() == "user" and rd.i8() == 1 and rd.str() is None


def test_quota_v0_when_the_broker_lists_only_v0(rec):
    def alter(ver, body):
        assert ver == 0
        return struct.pack(">ii", 0, 1) + struct.pack(">h", 0) + b"\xff\xff" + \
            struct.pack(">i", 1) + struct.pack(">h", 4) + b"user" + struct.pack(">h", 3) + b"bob"
    r = rec(versions={18: (0, 3), 49: (0, 0)}, responses={49: alter})
    ok(runnel("quota", "alter", "--user", "bob", "--set", "consumer_byte_rate=10",
              "-b", r.bootstrap))
    ver, body = r.bodies(49)[0]
    rd = Rd(body, False)
    assert rd.count() == 1 and rd.count() == 1 and rd.str() == "user" and rd.str() == "bob"


def test_quota_argument_errors():
    assert "--user or --client-id" in err_of(runnel("quota", "alter", "--set", "a=1"))
    assert "KEY=NUMBER" in err_of(runnel("quota", "alter", "--user", "u", "--set", "a=x"))
    assert "--set KEY=VALUE or --delete" in err_of(runnel("quota", "alter", "--user", "u"))


# ---------------------------------------------------------------------------------- acl
def test_acl_add_list_remove_encoding(rec):
    def create(ver, body):
        n = Rd(body, ver >= 2).count()
        return struct.pack(">i", 0) + carray([struct.pack(">h", 0) + cstr(None) + TAGS] * n) + \
            TAGS

    def describe(ver, body):
        res = (struct.pack(">b", 2) + cstr("orders") + struct.pack(">b", 3) +
               carray([cstr("User:alice") + cstr("*") + struct.pack(">bb", 4, 3) + TAGS]) + TAGS)
        return struct.pack(">ih", 0, 0) + cstr(None) + carray([res]) + TAGS

    def delete(ver, body):
        m = (struct.pack(">h", 0) + cstr(None) + struct.pack(">b", 5) + cstr("tx-") +
             struct.pack(">b", 4) + cstr("User:bob") + cstr("*") + struct.pack(">bb", 4, 2) +
             TAGS)
        return struct.pack(">i", 0) + carray([struct.pack(">h", 0) + cstr(None) + carray([m]) +
                                              TAGS]) + TAGS

    r = rec(responses={30: create, 29: describe, 31: delete})
    out = ok(runnel("acl", "add", "--allow", "User:alice", "--operation", "WRITE",
                    "--operation", "Describe", "--topic", "orders", "-b", r.bootstrap))
    assert out.count("Added ACL: ALLOW") == 2
    [(ver, body)] = r.bodies(30)
    assert ver == 3
    rd = Rd(body, True)
    assert rd.count() == 2
    got = []
    for _ in range(2):
        got.append((rd.i8(), rd.str(), rd.i8(), rd.str(), rd.str(), rd.i8(), rd.i8()))
        rd.tags()
    assert got == [(2, "orders", 3, "User:alice", "*", 4, 3), (2, "orders", 3, "User:alice",
                                                               "*", 8, 3)]
    # deny, prefixed, transactional id, group, cluster, host
    ok(runnel("acl", "add", "--deny", "User:bob", "--operation", "WRITE", "--transactional-id",
              "tx-", "--prefixed", "--host", "10.0.0.1", "-b", r.bootstrap))
    rd = Rd(r.bodies(30)[-1][1], True)
    assert rd.count() == 1
    assert (rd.i8(), rd.str(), rd.i8(), rd.str(), rd.str(), rd.i8(), rd.i8()) == \
        (5, "tx-", 4, "User:bob", "10.0.0.1", 4, 2)
    ok(runnel("acl", "add", "--allow", "User:c", "--operation", "READ", "--group", "g1",
              "--cluster", "--operation", "IdempotentWrite", "-b", r.bootstrap))
    rd = Rd(r.bodies(30)[-1][1], True)
    assert rd.count() == 4
    seen = set()
    for _ in range(4):
        t, n, _, _, _, op, _ = rd.i8(), rd.str(), rd.i8(), rd.str(), rd.str(), rd.i8(), rd.i8()
        rd.tags()
        seen.add((t, n, op))
    assert seen == {(3, "g1", 3), (3, "g1", 12), (4, "kafka-cluster", 3),
                    (4, "kafka-cluster", 12)}

    out = ok(runnel("acl", "list", "-b", r.bootstrap))
    assert ("Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=orders, "
            "patternType=LITERAL)`:") in out
    assert "(principal=User:alice, host=*, operation=WRITE, permissionType=ALLOW)" in out
    rd = Rd(r.bodies(29)[-1][1], True)   # everything: ANY of each, null strings
    assert (rd.i8(), rd.str(), rd.i8(), rd.str(), rd.str(), rd.i8(), rd.i8()) == \
        (1, None, 1, None, None, 1, 1)
    ok(runnel("acl", "list", "--topic", "orders", "--principal", "User:alice", "-b",
              r.bootstrap))
    rd = Rd(r.bodies(29)[-1][1], True)
    assert (rd.i8(), rd.str(), rd.i8(), rd.str(), rd.str(), rd.i8(), rd.i8()) == \
        (2, "orders", 3, "User:alice", None, 1, 1)

    out = ok(runnel("acl", "remove", "--transactional-id", "tx-", "--prefixed", "-b",
                    r.bootstrap))
    assert "Removed ACL: DENY WRITE on TRANSACTIONAL_ID tx- (PREFIXED) for User:bob" in out
    rd = Rd(r.bodies(31)[-1][1], True)
    assert rd.count() == 1
    assert (rd.i8(), rd.str(), rd.i8(), rd.str(), rd.str(), rd.i8(), rd.i8()) == \
        (5, "tx-", 4, None, None, 1, 1)


def test_acl_v1_without_flexible_versions(rec):
    def create(ver, body):
        assert ver == 1
        return struct.pack(">ii", 0, 1) + struct.pack(">h", 0) + b"\xff\xff"
    r = rec(versions={18: (0, 3), 30: (0, 1)}, responses={30: create})
    ok(runnel("acl", "add", "--allow", "User:a", "--operation", "READ", "--topic", "t",
              "-b", r.bootstrap))
    rd = Rd(r.bodies(30)[0][1], False)
    assert rd.count() == 1 and rd.i8() == 2 and rd.str() == "t" and rd.i8() == 3


def test_acl_argument_errors():
    assert "add needs" in err_of(runnel("acl", "add", "--topic", "t"))
    assert "unknown --operation" in err_of(runnel("acl", "add", "--operation", "FLY"))
    assert "TYPE:NAME" in err_of(runnel("acl", "add", "--allow", "alice"))
    assert "remove needs a resource" in err_of(runnel("acl", "remove", "--allow", "User:a"))


# --------------------------------------------------------------------- raw TLS and SASL
def server_tls(certs):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs.server_cert, certs.server_key)
    return ctx


@pytest.mark.parametrize("mech", ["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"])
def test_raw_requests_over_sasl_ssl(rec, certs, mech, tmp_path):
    sasl = ({"PLAIN": {"admin": "adm,in=pw"}} if mech == "PLAIN"
            else {mech: Scram(mech, "admin", "adm,in=pw")})
    r = rec(responses={50: describe_scram([("alice", 0, [(1, 4096)])])}, tls=server_tls(certs),
            sasl=sasl)
    out = ok(runnel("user", "list", "-b", "localhost:%d" % r.port,
                    "-X", "security.protocol=SASL_SSL", "-X", "ssl.ca.location=" + certs.ca,
                    "-X", "sasl.mechanisms=" + mech, "-X", "sasl.username=admin",
                    "-X", "sasl.password=adm,in=pw"))
    assert "user-principal 'alice'" in out
    assert r.auth and r.auth[-1][1:] == ("admin", True)
    # The same through a Kafka tools' properties file (JAAS line, PEM truststore).
    f = tmp_path / "admin.properties"
    f.write_text("security.protocol=SASL_SSL\nsasl.mechanism=%s\n"
                 "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule "
                 "required username=\"admin\" password=\"adm,in=pw\";\n"
                 "ssl.truststore.type=PEM\nssl.truststore.location=%s\n" % (mech, certs.ca))
    ok(runnel("user", "list", "-b", "127.0.0.1:%d" % r.port, "--command-config", str(f)))
    assert r.auth[-1][1:] == ("admin", True)


def test_raw_sasl_wrong_password_and_mechanism(rec):
    r = rec(responses={50: describe_scram([])},
            sasl={"SCRAM-SHA-256": Scram("SCRAM-SHA-256", "admin", "right")})
    base = ["user", "list", "-b", r.bootstrap, "-X", "security.protocol=SASL_PLAINTEXT",
            "-X", "sasl.username=admin"]
    e = err_of(runnel(*base, "-X", "sasl.mechanisms=SCRAM-SHA-256", "-X", "sasl.password=wrong"))
    assert "SASL authentication failed: SASL_AUTHENTICATION_FAILED" in e
    assert r.auth[-1] == ("SCRAM", "admin", False)
    e = err_of(runnel(*base, "-X", "sasl.mechanisms=SCRAM-SHA-512", "-X", "sasl.password=right"))
    assert "SCRAM-SHA-512 not enabled on the broker (it offers: SCRAM-SHA-256)" in e
    assert not r.bodies(50)


def test_raw_tls_checks_the_broker(rec, certs):
    r = rec(responses={50: describe_scram([])}, tls=server_tls(certs))
    base = ["user", "list", "-X", "security.protocol=SSL"]
    # trusted CA, name in the certificate (IP SAN and DNS name): fine
    ok(runnel(*base, "-b", r.bootstrap, "-X", "ssl.ca.location=" + certs.ca))
    ok(runnel(*base, "-b", "localhost:%d" % r.port, "-X", "ssl.ca.location=" + certs.ca))
    # a CA that did not sign it: refused, saying why
    e = err_of(runnel(*base, "-b", r.bootstrap, "-X", "ssl.ca.location=" + certs.other_ca))
    assert "certificate verify failed" in e
    # PLAINTEXT to a TLS port: no answer, one line
    e = err_of(runnel("user", "list", "-b", r.bootstrap, "--timeout-ms", "3000"))
    assert "ApiVersions" in e or "connection" in e


# ------------------------------------------------------------- against the real broker
JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
        'username="admin" password="admin-secret" '
        'user_admin="admin-secret" user_alice="alice-secret";')
ADMIN = ["-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=PLAIN",
         "-X", "sasl.username=admin", "-X", "sasl.password=admin-secret"]


def sasl_broker(make_broker, sets=None):
    base = {"listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS,
            "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512"}
    base.update(sets or {})
    try:
        return make_broker({"SASL_PLAINTEXT": "SASL_PLAINTEXT"}, sets=base)
    except pytest.fail.Exception as e:
        if "SASL_PLAINTEXT" in str(e):
            pytest.skip("the broker has no SASL listeners on this branch (the sasl slice is "
                        "not merged yet)")
        raise


def skip_unless_supported(r, what):
    e = r.stderr.decode(errors="replace")
    if r.returncode and ("does not support" in e or "SASL handshake" in e):
        pytest.skip("the broker lacks %s on this branch (its slice is not merged yet): %s"
                    % (what, e.strip()))


def scram(mech, user, pw):
    return ["-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=" + mech,
            "-X", "sasl.username=" + user, "-X", "sasl.password=" + pw]


def test_real_user_lifecycle(make_broker):
    b = sasl_broker(make_broker)
    bs = ["-b", b.address()]
    r = runnel("user", "list", *bs, *ADMIN)
    skip_unless_supported(r, "the SCRAM credential APIs")
    assert ok(r).strip() == ""
    for mech in ("SCRAM-SHA-256", "SCRAM-SHA-512"):
        out = ok(runnel("user", "add", "carol", "--mechanism", mech, "--iterations", "8192",
                        *bs, *ADMIN, input=b"carol-pw\n"))
        assert "added user 'carol'" in out
    out = ok(runnel("user", "list", *bs, *ADMIN))
    [line] = [l for l in out.splitlines() if "'carol' are " in l]
    assert sorted(line.split(" are ")[1].split(", ")) == [
        "SCRAM-SHA-256=iterations=8192", "SCRAM-SHA-512=iterations=8192"]
    # The credential the CLI computed logs in, through librdkafka and through the CLI's own
    # raw SCRAM client.
    for mech in ("SCRAM-SHA-256", "SCRAM-SHA-512"):
        ok(runnel("topic", "list", *bs, *scram(mech, "carol", "carol-pw")))
        ok(runnel("user", "list", "carol", *bs, *scram(mech, "carol", "carol-pw")))
    # Durable in the metadata store: still there after a crash and restart.
    b.restart(how="sigkill")
    ok(runnel("user", "list", "carol", *bs, *scram("SCRAM-SHA-512", "carol", "carol-pw")))
    r = runnel("topic", "list", *bs, *scram("SCRAM-SHA-256", "carol", "nope"),
               "--timeout-ms", "5000")
    assert r.returncode != 0
    r = runnel("user", "list", *bs, *scram("SCRAM-SHA-256", "carol", "nope"))
    assert "SASL_AUTHENTICATION_FAILED" in err_of(r)
    # delete one mechanism, then the rest
    ok(runnel("user", "delete", "carol", "--mechanism", "SCRAM-SHA-512", *bs, *ADMIN))
    out = ok(runnel("user", "list", *bs, *ADMIN))
    assert "'carol' are SCRAM-SHA-256=iterations=8192\n" in out
    assert "deleted user 'carol'" in ok(runnel("user", "delete", "carol", *bs, *ADMIN))
    assert ok(runnel("user", "list", *bs, *ADMIN)).strip() == ""
    assert "RESOURCE_NOT_FOUND" in err_of(runnel("user", "list", "carol", *bs, *ADMIN))
    assert "RESOURCE_NOT_FOUND" in err_of(runnel("user", "delete", "carol", *bs, *ADMIN))
    r = runnel("user", "list", *bs, *scram("SCRAM-SHA-256", "carol", "carol-pw"))
    assert "SASL_AUTHENTICATION_FAILED" in err_of(r)


def test_real_acls(make_broker, tmp_path):
    b = sasl_broker(make_broker, sets={
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": "User:admin"})
    bs = ["-b", b.address()]
    r = runnel("acl", "list", *bs, *ADMIN)
    skip_unless_supported(r, "the ACL APIs")
    ok(r)
    ok(runnel("topic", "create", "orders", *bs, *ADMIN))
    ok(runnel("topic", "create", "other", *bs, *ADMIN))
    out = ok(runnel("acl", "add", "--allow", "User:alice", "--operation", "WRITE",
                    "--topic", "orders", *bs, *ADMIN))
    assert "Added ACL: ALLOW WRITE on TOPIC orders (LITERAL) for User:alice" in out
    ok(runnel("acl", "add", "--allow", "User:alice", "--operation", "DESCRIBE",
              "--transactional-id", "tx-", "--prefixed", *bs, *ADMIN))
    out = ok(runnel("acl", "list", *bs, *ADMIN))
    assert "resourceType=TOPIC, name=orders, patternType=LITERAL" in out
    assert "(principal=User:alice, host=*, operation=WRITE, permissionType=ALLOW)" in out
    assert "resourceType=TRANSACTIONAL_ID, name=tx-, patternType=PREFIXED" in out
    out = ok(runnel("acl", "list", "--topic", "orders", *bs, *ADMIN))
    assert "TRANSACTIONAL_ID" not in out and "orders" in out
    b.restart(how="sigkill")  # ACLs are durable
    assert "name=tx-, patternType=PREFIXED" in ok(runnel("acl", "list", *bs, *ADMIN))
    # The ACL acts: alice writes orders, not other.
    alice = ["-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=PLAIN",
             "-X", "sasl.username=alice", "-X", "sasl.password=alice-secret"]
    ok(runnel("produce", "orders", *bs, *alice, input=b"hello\n"))
    # The same principal from a Kafka tools' client properties file.
    f = tmp_path / "alice.properties"
    f.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n"
                 "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule "
                 "required \\\n    username=\"alice\" \\\n    password=\"alice-secret\";\n")
    ok(runnel("produce", "orders", *bs, "--command-config", str(f), input=b"again\n"))
    r = runnel("produce", "other", *bs, "--command-config", str(f), "--timeout-ms", "5000",
               input=b"hello\n")
    assert r.returncode != 0 and b"uthoriz" in r.stderr
    r = runnel("produce", "other", *bs, *alice, "--timeout-ms", "5000", input=b"hello\n")
    assert r.returncode != 0 and b"uthoriz" in r.stderr
    out = ok(runnel("acl", "remove", "--topic", "orders", *bs, *ADMIN))
    assert "Removed ACL: ALLOW WRITE on TOPIC orders (LITERAL) for User:alice" in out
    assert "orders" not in ok(runnel("acl", "list", *bs, *ADMIN))
    assert "No ACL matched" in ok(runnel("acl", "remove", "--topic", "orders", *bs, *ADMIN))


def test_real_acls_without_authorizer_say_security_disabled(make_broker):
    b = make_broker()
    r = runnel("acl", "list", "-b", b.address())
    skip_unless_supported(r, "the ACL APIs")
    assert "SECURITY_DISABLED" in err_of(r)


def test_real_quotas(make_broker):
    b = make_broker()
    bs = ["-b", b.address()]
    r = runnel("quota", "list", *bs)
    skip_unless_supported(r, "the client quota APIs")
    assert ok(r).strip() == ""
    out = ok(runnel("quota", "alter", "--user", "alice", "--set", "producer_byte_rate=1048576",
                    "--set", "consumer_byte_rate=2097152", *bs))
    assert "Completed updating quota configs for user-principal 'alice'" in out
    ok(runnel("quota", "alter", "--user", "alice", "--client-id", "app1", "--set",
              "request_percentage=50", *bs))
    ok(runnel("quota", "alter", "--client-id-default", "--set", "producer_byte_rate=1000", *bs))
    out = ok(runnel("quota", "list", *bs))
    assert "Quota configs for user-principal 'alice' are" in out
    line = [l for l in out.splitlines() if l.endswith("'alice' are " + l.split(" are ")[-1])
            and "client-id" not in l][0]
    assert "producer_byte_rate=1048576.0" in line and "consumer_byte_rate=2097152.0" in line
    assert ("Quota configs for user-principal 'alice', client-id 'app1' are "
            "request_percentage=50.0") in out
    assert "Quota configs for the default client-id are producer_byte_rate=1000.0" in out
    out = ok(runnel("quota", "list", "--user", "alice", *bs))
    assert "'alice' are" in out and "default client-id" not in out
    b.restart(how="sigkill")  # quotas are durable
    assert "request_percentage=50.0" in ok(runnel("quota", "list", *bs))
    ok(runnel("quota", "alter", "--user", "alice", "--delete", "producer_byte_rate", *bs))
    out = ok(runnel("quota", "list", "--user", "alice", "--client-id", "app1", *bs))
    assert "request_percentage=50.0" in out
    out = ok(runnel("quota", "list", "--user", "alice", *bs))
    assert "producer_byte_rate" not in out.split("client-id")[0]
    r = runnel("quota", "alter", "--user", "alice", "--set", "no_such_quota=1", *bs)
    assert "INVALID_REQUEST" in err_of(r) or "no_such_quota" in err_of(r)


def test_user_add_prompts_without_echo_on_a_terminal(rec):
    import os
    import pty
    import select
    import subprocess

    from conftest import RUNNEL_BIN
    r = rec(responses={51: alter_scram_ok(["dave"])})
    master, slave = pty.openpty()
    p = subprocess.Popen([RUNNEL_BIN, "user", "add", "dave", "-m", "SCRAM-SHA-256", "-b",
                          r.bootstrap], stdin=slave, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    seen = b""

    def read_until(pred, timeout=20.0):
        nonlocal seen
        import time
        end = time.time() + timeout
        while not pred() and time.time() < end:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    seen += os.read(master, 1024)
                except OSError:
                    break
    read_until(lambda: b"Password for dave: " in seen)
    assert b"Password for dave: " in seen
    # The prompt turned echo off before it was printed; what is typed now is not shown.
    os.write(master, b"typed-secret\n")
    out, _ = p.communicate(timeout=20)
    read_until(lambda: False, timeout=0.5)
    os.close(master)
    assert p.returncode == 0 and b"added user 'dave'" in out
    assert b"typed-secret" not in seen
    rd = Rd(r.bodies(51)[0][1], True)
    assert rd.count() == 0 and rd.count() == 1 and rd.str() == "dave"
    rd.i8()
    n = rd.i32()
    salt, salted = rd.bytes(), rd.bytes()
    assert salted == hashlib.pbkdf2_hmac("sha256", b"typed-secret", salt, n)


def test_real_tls_listener_with_client_certificates(make_broker, certs, tmp_path):
    """-X and a Kafka tools' properties file (PEM trust and key stores) on an SSL listener that
    requires client certificates: librdkafka subcommands and raw-protocol ones alike."""
    b = make_broker({"SSL": "SSL"}, sets=dict(certs.server_sets(),
                                              **{"ssl.client.auth": "required"}))
    bs = ["-b", b.address()]
    conf = certs.client_conf("cli-user")
    x = []
    for k, v in conf.items():
        x += ["-X", "%s=%s" % (k, v)]
    t = "tls-cli"
    ok(runnel("topic", "create", t, *bs, *x))
    assert t in ok(runnel("topic", "list", *bs, *x))
    ok(runnel("produce", t, *bs, *x, input=b"over tls\n"))
    out = ok(runnel("topic", "log-dirs", "--topic-list", t, *bs, *x))  # raw DescribeLogDirs
    assert t in out
    # Kafka's Java names: a PEM keystore holding the chain and the key, a PEM truststore.
    ks = tmp_path / "keystore.pem"
    ks.write_text(open(conf["ssl.certificate.location"]).read() +
                  open(conf["ssl.key.location"]).read())
    f = tmp_path / "tls.properties"
    f.write_text("security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location=%s\n"
                 "ssl.keystore.type=PEM\nssl.keystore.location=%s\n" % (certs.ca, ks))
    assert "over tls" in ok(runnel("consume", t, "-o", "beginning", "-e", *bs,
                                   "--command-config", str(f)))
    assert t in ok(runnel("topic", "log-dirs", "--topic-list", t, *bs, "--command-config",
                          str(f)))
    # Without a client certificate the raw connection fails in one line.
    r = runnel("topic", "log-dirs", *bs, "-X", "security.protocol=SSL",
               "-X", "ssl.ca.location=" + certs.ca, "--timeout-ms", "5000")
    assert r.returncode != 0
    lines = [l for l in r.stderr.decode().splitlines() if l.strip()]
    assert len(lines) == 1, lines
    # A CA that did not sign the broker's certificate: refused, saying so.
    r = runnel("topic", "log-dirs", *bs, "-X", "security.protocol=SSL",
               "-X", "ssl.ca.location=" + certs.other_ca, "-X",
               "ssl.certificate.location=" + conf["ssl.certificate.location"],
               "-X", "ssl.key.location=" + conf["ssl.key.location"], "--timeout-ms", "5000")
    assert r.returncode != 0
