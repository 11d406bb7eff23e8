"""ACLs end to end: the ACL APIs (kafka-python's KafkaAdminClient and raw flexible requests),
SECURITY_DISABLED without an authorizer, and enforcement seen by real clients.

Most tests use the only principal PLAINTEXT has, User:ANONYMOUS: a broker started with
super.users=User:ANONYMOUS creates the ACLs (they are durable security records), then the same
data dir restarts without super users, so the ACLs apply to ANONYMOUS. Per-user ACLs use
principals from client certificates (mutual TLS, ssl.principal.mapping.rules). No test-only
hooks in the broker.
"""
import pytest

from conftest import (SLOW, RawConn, ck_admin, ck_consumer, ck_producer, e2e, i8, i16, i32,
                      kp_admin, unique, wait_until)

AUTHZ = "kafka.security.authorizer.AclAuthorizer"
ANON = "User:ANONYMOUS"

# Kafka error codes.
TOPIC_AUTHZ = 29
GROUP_AUTHZ = 30
CLUSTER_AUTHZ = 31
TXN_AUTHZ = 53
SECURITY_DISABLED = 54
INVALID_REQUEST = 42

# ResourceType / PatternType / AclOperation / AclPermissionType codes.
R_ANY, R_TOPIC, R_GROUP, R_CLUSTER, R_TXN = 1, 2, 3, 4, 5
P_ANY, P_MATCH, P_LITERAL, P_PREFIXED = 1, 2, 3, 4
O_ANY, O_ALL, O_READ, O_WRITE, O_CREATE, O_DELETE, O_ALTER, O_DESCRIBE = 1, 2, 3, 4, 5, 6, 7, 8
O_DESCRIBE_CONFIGS, O_ALTER_CONFIGS = 10, 11
PERM_ANY, PERM_DENY, PERM_ALLOW = 1, 2, 3


def acl(principal, op, perm, rtype, name, pattern="LITERAL", host="*"):
    from kafka.admin import (ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType,
                             ResourcePattern, ResourceType)
    return ACL(principal, host, ACLOperation[op], ACLPermissionType[perm],
               ResourcePattern(ResourceType[rtype], name, ACLResourcePatternType[pattern]))


def acl_filter(rtype="ANY", name=None, pattern="ANY", principal=None, op="ANY", perm="ANY"):
    from kafka.admin import (ACLFilter, ACLOperation, ACLPermissionType,
                             ACLResourcePatternType, ResourcePatternFilter, ResourceType)
    return ACLFilter(principal, None, ACLOperation[op], ACLPermissionType[perm],
                     ResourcePatternFilter(ResourceType[rtype], name,
                                           ACLResourcePatternType[pattern]))


def key(a):
    return (a.resource_pattern.resource_type.name, a.resource_pattern.pattern_type.name,
            a.resource_pattern.resource_name, a.principal, a.host, a.operation.name,
            a.permission_type.name)


def authz_sets(tmp_path, super_users=ANON, **extra):
    sets = {"authorizer.class.name": AUTHZ, "auto.create.topics.enable": "false",
            "authorizer.audit.log.file": str(tmp_path / "audit.log")}
    if super_users is not None:
        sets["super.users"] = super_users
    sets.update(extra)
    return sets


# --------------------------------------------------------------------------------------------
# Raw flexible ACL requests (v3): the generated codec's compact path, written by hand here.
# --------------------------------------------------------------------------------------------
def raw_create_v3(conn, creations):
    def one(c):
        rtype, name, pattern, principal, host, op, perm = c
        return (i8(rtype) + e2e.cstr(name) + i8(pattern) + e2e.cstr(principal) +
                e2e.cstr(host) + i8(op) + i8(perm) + e2e.TAGS)
    r = conn.flex_request(30, 3, e2e.carray(creations, one) + e2e.TAGS)
    r.i32()  # throttle

    def res(rr):
        code = rr.i16()
        msg = rr.str()
        rr.no_tags()
        return code, msg
    out = r.array(res)
    r.no_tags()
    assert r.done()
    return out


def raw_describe_v3(conn, rtype=R_ANY, name=None, pattern=P_ANY, principal=None, host=None,
                    op=O_ANY, perm=PERM_ANY):
    body = (i8(rtype) + e2e.cstr(name) + i8(pattern) + e2e.cstr(principal) + e2e.cstr(host) +
            i8(op) + i8(perm) + e2e.TAGS)
    r = conn.flex_request(29, 3, body)
    r.i32()
    code, msg = r.i16(), r.str()

    def resource(rr):
        t, n, p = rr.i8(), rr.str(), rr.i8()

        def entry(er):
            out = (er.str(), er.str(), er.i8(), er.i8())
            er.no_tags()
            return out
        acls = rr.array(entry)
        rr.no_tags()
        return (t, n, p, acls)
    out = r.array(resource)
    r.no_tags()
    assert r.done()
    return code, msg, out


def raw_delete_v3(conn, filters):
    """filters: [(rtype, name, pattern, principal, host, op, perm)] -> per filter (code, msg,
    [matching (code, msg, rtype, name, pattern, principal, host, op, perm)])."""
    def one(f):
        rtype, name, pattern, principal, host, op, perm = f
        return (i8(rtype) + e2e.cstr(name) + i8(pattern) + e2e.cstr(principal) +
                e2e.cstr(host) + i8(op) + i8(perm) + e2e.TAGS)
    r = conn.flex_request(31, 3, e2e.carray(filters, one) + e2e.TAGS)
    r.i32()

    def match(m):
        out = (m.i16(), m.str(), m.i8(), m.str(), m.i8(), m.str(), m.str(), m.i8(), m.i8())
        m.no_tags()
        return out

    def fres(fr):
        out = (fr.i16(), fr.str(), fr.array(match))
        fr.no_tags()
        return out
    out = r.array(fres)
    r.no_tags()
    assert r.done()
    return out


# --------------------------------------------------------------------------------------------
def test_acl_apis_answer_security_disabled_without_an_authorizer(make_broker):
    from kafka.errors import SecurityDisabledError
    b = make_broker()
    a = kp_admin(b.address())
    try:
        res = a.create_acls([acl(ANON, "READ", "ALLOW", "TOPIC", "t")])
        assert res["succeeded"] == []
        assert len(res["failed"]) == 1
        assert res["failed"][0][1] is SecurityDisabledError, res
        with pytest.raises(SecurityDisabledError):
            a.describe_acls(acl_filter())
        out = a.delete_acls([acl_filter()])
        assert out[0][2] is SecurityDisabledError, out
    finally:
        a.close()
    with RawConn(int(b.address().split(":")[1])) as c:
        assert raw_create_v3(c, [(R_TOPIC, "t", P_LITERAL, ANON, "*", O_READ, PERM_ALLOW)]) == \
            [(SECURITY_DISABLED, "No Authorizer is configured on the broker")]
        code, _, res = raw_describe_v3(c)
        assert code == SECURITY_DISABLED and res == []


def test_unknown_authorizer_class_refuses_to_start(make_broker):
    b = make_broker(sets={"authorizer.class.name": "com.example.NoSuchAuthorizer"},
                    start=False)
    with pytest.raises(BaseException):
        b.start(timeout=5.0)
    assert "unknown authorizer" in b.stderr()


def test_create_describe_delete_acls_with_kafka_python(make_broker, tmp_path):
    b = make_broker(sets=authz_sets(tmp_path))
    a = kp_admin(b.address())
    want = [acl("User:alice", "WRITE", "ALLOW", "TOPIC", "orders"),
            acl("User:alice", "READ", "ALLOW", "TOPIC", "logs.", "PREFIXED"),
            acl("User:bob", "READ", "DENY", "GROUP", "*"),
            acl("User:bob", "WRITE", "ALLOW", "TRANSACTIONAL_ID", "tx", host="127.0.0.1"),
            acl("User:ops", "ALTER", "ALLOW", "CLUSTER", "kafka-cluster")]
    try:
        res = a.create_acls(want)
        assert res["failed"] == [], res
        assert len(res["succeeded"]) == len(want)
        got, err = a.describe_acls(acl_filter())
        assert err.errno == 0
        assert sorted(map(key, got)) == sorted(map(key, want))
        # Filters: resource type, principal, and MATCH (the bindings that apply to a name).
        got, _ = a.describe_acls(acl_filter(rtype="TOPIC"))
        assert {g.resource_pattern.resource_name for g in got} == {"orders", "logs."}
        got, _ = a.describe_acls(acl_filter(principal="User:bob"))
        assert {g.resource_pattern.resource_type.name for g in got} == \
            {"GROUP", "TRANSACTIONAL_ID"}
        got, _ = a.describe_acls(acl_filter(rtype="TOPIC", name="logs.app", pattern="MATCH"))
        assert [key(g) for g in got] == [key(want[1])]
        got, _ = a.describe_acls(acl_filter(rtype="GROUP", name="any-group", pattern="MATCH"))
        assert [key(g) for g in got] == [key(want[2])]
        got, _ = a.describe_acls(acl_filter(rtype="TOPIC", name="logs.app", pattern="LITERAL"))
        assert got == []
        # Creating an existing binding again is not an error and does not duplicate it.
        assert a.create_acls([want[0]])["failed"] == []
        got, _ = a.describe_acls(acl_filter(rtype="TOPIC", name="orders", pattern="LITERAL"))
        assert len(got) == 1
        # Delete: one result per filter, each listing what it removed.
        out = a.delete_acls([acl_filter(rtype="TOPIC"), acl_filter(principal="User:nobody")])
        assert out[0][2].errno == 0
        assert sorted(key(m[0]) for m in out[0][1]) == sorted(map(key, want[:2]))
        assert out[1][1] == []
        got, _ = a.describe_acls(acl_filter())
        assert sorted(map(key, got)) == sorted(map(key, want[2:]))
    finally:
        a.close()
    # Durable: a restart keeps what is left.
    b.stop()
    b.start()
    a = kp_admin(b.address())
    try:
        got, _ = a.describe_acls(acl_filter())
        assert sorted(map(key, got)) == sorted(map(key, want[2:]))
    finally:
        a.close()
    audit = open(tmp_path / "audit.log").read()
    assert "operation=CreateAcls resource=Topic:LITERAL:orders" in audit
    assert "operation=DeleteAcls resource=Topic:PREFIXED:logs." in audit
    assert "principal=User:ANONYMOUS" in audit


def test_acl_apis_flexible_versions_and_invalid_bindings(make_broker, tmp_path):
    b = make_broker(sets=authz_sets(tmp_path))
    with RawConn(int(b.address().split(":")[1])) as c:
        res = raw_create_v3(c, [
            (R_TOPIC, "flex", P_PREFIXED, "User:carol", "10.0.0.1", O_DESCRIBE, PERM_ALLOW),
            (R_CLUSTER, "not-the-cluster", P_LITERAL, "User:carol", "*", O_ALTER, PERM_ALLOW),
            (R_TOPIC, "t", P_MATCH, "User:carol", "*", O_READ, PERM_ALLOW),
            (R_TOPIC, "t", P_LITERAL, "carol", "*", O_READ, PERM_ALLOW),
            (R_TOPIC, "t", P_LITERAL, "User:carol", "*", O_ANY, PERM_ALLOW),
            (R_TOPIC, "", P_LITERAL, "User:carol", "*", O_READ, PERM_ALLOW),
        ])
        assert res[0] == (0, None)
        assert [r[0] for r in res[1:]] == [INVALID_REQUEST] * 5
        assert all(r[1] for r in res[1:])  # each says why
        code, msg, got = raw_describe_v3(c, rtype=R_TOPIC)
        assert (code, msg) == (0, None)
        assert got == [(R_TOPIC, "flex", P_PREFIXED,
                        [("User:carol", "10.0.0.1", O_DESCRIBE, PERM_ALLOW)])]
        code, _, _ = raw_describe_v3(c, op=0)  # UNKNOWN operation in a filter
        assert code == INVALID_REQUEST
        res = raw_delete_v3(c, [
            (R_TOPIC, "flex-app", P_MATCH, None, None, O_ANY, PERM_ANY),  # covered by flex*
            (R_ANY, None, 9, None, None, O_ANY, PERM_ANY),               # unknown pattern
        ])
        assert res[0] == (0, None, [(0, None, R_TOPIC, "flex", P_PREFIXED, "User:carol",
                                     "10.0.0.1", O_DESCRIBE, PERM_ALLOW)])
        assert res[1][0] == INVALID_REQUEST and res[1][2] == []
        assert raw_describe_v3(c) == (0, None, [])


# --------------------------------------------------------------------------------------------
# Enforcement: ACLs made by a super user, then applied to ANONYMOUS after a restart.
# --------------------------------------------------------------------------------------------
def setup_matrix(make_broker, tmp_path, topics, acls, **extra):
    b = make_broker(sets=authz_sets(tmp_path, **extra))
    from confluent_kafka.admin import NewTopic
    ad = ck_admin(b.address())
    fs = ad.create_topics([NewTopic(t, 1, 1) for t in topics])
    for f in fs.values():
        f.result(timeout=15 * SLOW)
    a = kp_admin(b.address())
    try:
        assert a.create_acls(acls)["failed"] == []
    finally:
        a.close()
    b.stop()
    b.sets["super.users"] = ""
    b.start()
    return b


def produce_result(bootstrap, topic, **conf):
    """Delivery error code of one record (0: delivered)."""
    p = ck_producer(bootstrap, **conf)
    out = []
    p.produce(topic, b"v", on_delivery=lambda err, msg: out.append(err))
    p.flush(20 * SLOW)
    assert out, "no delivery report"
    return 0 if out[0] is None else out[0].code()


def consume_result(bootstrap, topic, **conf):
    """Consumes one record from partition 0 by assignment: its value, or the error code."""
    import confluent_kafka
    c = ck_consumer(bootstrap, **conf)
    c.assign([confluent_kafka.TopicPartition(topic, 0, confluent_kafka.OFFSET_BEGINNING)])
    res = []

    def got():
        m = c.poll(0.2)
        if m is None:
            return False
        res.append(m.error().code() if m.error() else m.value())
        return True
    try:
        wait_until(got, timeout=20 * SLOW, what="a record or an error from " + topic)
    finally:
        c.close()
    return res[0]


def test_topic_acls_prefixed_deny_over_allow_and_metadata_filtering(make_broker, tmp_path):
    allowed, ro, pre, secret, denied = ("allowed", "readonly", "pre-a", "pre-secret", "denied")
    b = setup_matrix(make_broker, tmp_path, [allowed, ro, pre, secret, denied], [
        acl(ANON, "ALL", "ALLOW", "TOPIC", allowed),
        acl(ANON, "READ", "ALLOW", "TOPIC", ro),
        acl(ANON, "WRITE", "ALLOW", "TOPIC", "pre-", "PREFIXED"),
        acl(ANON, "READ", "ALLOW", "TOPIC", "pre-", "PREFIXED"),
        acl(ANON, "READ", "DENY", "TOPIC", secret),
        acl("User:alice", "ALL", "ALLOW", "TOPIC", denied),
        # librdkafka's consumer looks its group's coordinator up even when it assigns.
        acl(ANON, "READ", "ALLOW", "GROUP", "*"),
    ])
    bs = b.address()
    # Produce: WRITE per topic (a prefix covers its topics; READ alone does not allow it).
    assert produce_result(bs, allowed) == 0
    assert produce_result(bs, pre) == 0
    assert produce_result(bs, secret) == 0
    assert produce_result(bs, ro) == TOPIC_AUTHZ
    assert produce_result(bs, denied) == TOPIC_AUTHZ
    # Fetch: READ per topic; the DENY on pre-secret wins over the prefixed ALLOW.
    assert consume_result(bs, allowed) == b"v"
    assert consume_result(bs, pre) == b"v"
    assert consume_result(bs, secret) == TOPIC_AUTHZ
    # Metadata: every topic the principal may describe (READ/WRITE imply DESCRIBE), no more.
    md = ck_admin(bs).list_topics(timeout=10 * SLOW)
    visible = {t for t in md.topics if not t.startswith("__")}
    assert visible == {allowed, ro, pre, secret}
    one = ck_admin(bs).list_topics(topic=denied, timeout=10 * SLOW)
    assert one.topics[denied].error.code() == TOPIC_AUTHZ
    # The denials are audited, with the principal, the client and the resource.
    text = b.stderr()
    assert "audit: principal=User:ANONYMOUS client=127.0.0.1:" in text
    assert "operation=Describe resource=Topic:denied result=DENIED" in text
    assert "operation=Write resource=Topic:readonly result=DENIED" in text
    assert "operation=Read resource=Topic:pre-secret result=DENIED" in text
    # ACL APIs need the cluster: DESCRIBE for DescribeAcls, ALTER for Create/DeleteAcls.
    from kafka.errors import ClusterAuthorizationFailedError
    a = kp_admin(bs)
    try:
        with pytest.raises(ClusterAuthorizationFailedError):
            a.describe_acls(acl_filter())
        res = a.create_acls([acl(ANON, "ALL", "ALLOW", "TOPIC", denied)])
        assert res["failed"][0][1] is ClusterAuthorizationFailedError, res
    finally:
        a.close()


def test_group_and_transactional_id_acls(make_broker, tmp_path):
    t = "gt"
    b = setup_matrix(make_broker, tmp_path, [t], [
        acl(ANON, "ALL", "ALLOW", "TOPIC", t),
        acl(ANON, "READ", "ALLOW", "GROUP", "g-ok", "PREFIXED"),
        acl(ANON, "WRITE", "ALLOW", "TRANSACTIONAL_ID", "tx-ok"),
    ])
    bs = b.address()
    import confluent_kafka
    # A transactional producer needs WRITE on its transactional id.
    p = ck_producer(bs, **{"transactional.id": "tx-ok"})
    p.init_transactions(20 * SLOW)
    p.begin_transaction()
    p.produce(t, b"in-txn")
    p.commit_transaction(20 * SLOW)
    bad = ck_producer(bs, **{"transactional.id": "tx-bad"})
    with pytest.raises(confluent_kafka.KafkaException) as ei:
        bad.init_transactions(20 * SLOW)
    assert ei.value.args[0].code() == TXN_AUTHZ
    # A consumer group needs READ on the group (FindCoordinator DESCRIBE is implied).
    c = ck_consumer(bs, **{"group.id": "g-ok-1", "isolation.level": "read_committed"})
    c.subscribe([t])
    got = []

    def record():
        m = c.poll(0.2)
        if m is not None and not m.error():
            got.append(m)
        return bool(got)
    wait_until(record, timeout=30 * SLOW, what="a record through group g-ok-1")
    assert got[0].value() == b"in-txn"
    c.commit(asynchronous=False)
    c.close()
    c = ck_consumer(bs, **{"group.id": "g-bad"})
    c.subscribe([t])
    errs = []

    def group_error():
        m = c.poll(0.2)
        if m is not None and m.error():
            errs.append(m.error().code())
        return bool(errs)
    try:
        wait_until(group_error, timeout=30 * SLOW, what="an error for group g-bad")
    finally:
        c.close()
    assert errs[0] == GROUP_AUTHZ
    assert "operation=Describe resource=Group:g-bad result=DENIED" in b.stderr()


def test_allow_everyone_if_no_acl_found_and_authorized_operations(make_broker, tmp_path):
    open_t, guarded = "open-topic", "guarded"
    b = setup_matrix(make_broker, tmp_path, [open_t, guarded], [
        acl("User:alice", "READ", "ALLOW", "TOPIC", guarded),
    ], **{"allow.everyone.if.no.acl.found": "true"})
    bs = b.address()
    assert produce_result(bs, open_t) == 0          # no ACL on it: everyone
    assert produce_result(bs, guarded) == TOPIC_AUTHZ  # an ACL for someone else
    # Metadata v8 with include_topic_authorized_operations: per principal.
    port = int(bs.split(":")[1])
    with RawConn(port) as c:
        body = (i32(2) + e2e.kstr(open_t) + e2e.kstr(guarded) + i8(0) + i8(1) + i8(1))
        r = c.request(3, 8, body)
        r.i32()  # throttle
        r.array(lambda rr: (rr.i32(), rr.str(), rr.i32(), rr.str()))  # brokers
        r.str()  # cluster id
        r.i32()  # controller
        topics = r.array(lambda rr: (rr.i16(), rr.str(), rr.i8(), rr.array(
            lambda pr: (pr.i16(), pr.i32(), pr.i32(), pr.i32(), pr.array(lambda x: x.i32()),
                        pr.array(lambda x: x.i32()), pr.array(lambda x: x.i32()))),
            rr.i32()))
        cluster_ops = r.i32()
    ops = {name: (err, o) for err, name, _, _, o in topics}
    topic_all = sum(1 << x for x in (3, 4, 5, 6, 7, 8, 10, 11))
    assert ops[open_t] == (0, topic_all)
    assert ops[guarded] == (TOPIC_AUTHZ, 0)
    cluster_all = sum(1 << x for x in (5, 7, 8, 9, 10, 11, 12))
    assert cluster_ops == cluster_all  # no ACL on the cluster: everyone


def test_authorized_operations_without_an_authorizer_are_everything(make_broker):
    b = make_broker()
    port = int(b.address().split(":")[1])
    t = unique("ops")
    from confluent_kafka.admin import NewTopic
    ad = ck_admin(b.address())
    for f in ad.create_topics([NewTopic(t, 1, 1)]).values():
        f.result(timeout=15 * SLOW)
    with RawConn(port) as c:
        r = c.request(3, 8, i32(1) + e2e.kstr(t) + i8(0) + i8(1) + i8(1))
        r.i32()
        r.array(lambda rr: (rr.i32(), rr.str(), rr.i32(), rr.str()))
        r.str()
        r.i32()
        topics = r.array(lambda rr: (rr.i16(), rr.str(), rr.i8(), rr.array(
            lambda pr: (pr.i16(), pr.i32(), pr.i32(), pr.i32(), pr.array(lambda x: x.i32()),
                        pr.array(lambda x: x.i32()), pr.array(lambda x: x.i32()))),
            rr.i32()))
        assert topics[0][4] == sum(1 << x for x in (3, 4, 5, 6, 7, 8, 10, 11))
        assert r.i32() == sum(1 << x for x in (5, 7, 8, 9, 10, 11, 12))


def raw_init_producer_id(port, txn_id):
    with RawConn(port) as c:
        r = c.request(22, 0, e2e.kstr(txn_id) + i32(60000))
        r.i32()
        return r.i16()


def test_admin_and_producer_id_denials(make_broker, tmp_path):
    from confluent_kafka.admin import ConfigResource, NewPartitions, NewTopic
    r = "r-only"
    b = setup_matrix(make_broker, tmp_path, [r], [acl(ANON, "READ", "ALLOW", "TOPIC", r)])
    port = int(b.address().split(":")[1])
    # InitProducerId: a transactional id needs WRITE on it; an idempotent producer
    # IDEMPOTENT_WRITE on the cluster or WRITE on some topic (READ is not enough).
    assert raw_init_producer_id(port, "tx") == TXN_AUTHZ
    assert raw_init_producer_id(port, None) == CLUSTER_AUTHZ
    ad = ck_admin(b.address())

    def code(fut):
        try:
            fut.result(timeout=15 * SLOW)
            return 0
        except Exception as e:  # KafkaException carrying the KafkaError
            return e.args[0].code()
    assert code(ad.create_topics([NewTopic("brand-new", 1, 1)])["brand-new"]) == TOPIC_AUTHZ
    assert code(ad.delete_topics([r])[r]) == TOPIC_AUTHZ
    assert code(ad.create_partitions([NewPartitions(r, 2)])[r]) == TOPIC_AUTHZ
    res = ConfigResource(ConfigResource.Type.TOPIC, r)
    assert code(ad.describe_configs([res])[res]) == TOPIC_AUTHZ  # READ: no DESCRIBE_CONFIGS
    res = ConfigResource(ConfigResource.Type.BROKER, "1")
    assert code(ad.describe_configs([res])[res]) == CLUSTER_AUTHZ
    text = b.stderr()
    assert "operation=Create resource=Topic:brand-new result=DENIED" in text
    assert "operation=IdempotentWrite" not in text  # Kafka checks it without logging
    assert "operation=Write resource=Topic:* result=DENIED" in text


def test_idempotent_producer_with_write_on_a_topic(make_broker, tmp_path):
    t = "idem"
    b = setup_matrix(make_broker, tmp_path, [t], [acl(ANON, "WRITE", "ALLOW", "TOPIC", t)])
    assert produce_result(b.address(), t, **{"enable.idempotence": True}) == 0


# --------------------------------------------------------------------------------------------
# Principals from client certificates (mutual TLS): ACLs per user, changed while running.
# --------------------------------------------------------------------------------------------
RULES = "RULE:^O=Runnel,CN=(.*)$/$1/"


def mtls_broker(make_broker, certs, tmp_path, **extra):
    sets = dict(certs.server_sets())
    sets.update({"ssl.client.auth": "required", "ssl.principal.mapping.rules": RULES})
    sets.update(authz_sets(tmp_path, super_users="User:admin", **extra))
    return make_broker({"SSL": "SSL"}, sets=sets)


def kp_ssl(certs, cn):
    cert, key = certs.client(cn)
    return dict(security_protocol="SSL", ssl_cafile=certs.ca, ssl_certfile=cert,
                ssl_keyfile=key, ssl_check_hostname=False)


def test_acls_per_certificate_principal(make_broker, certs, tmp_path):
    b = mtls_broker(make_broker, certs, tmp_path)
    bs = b.address()
    from confluent_kafka.admin import NewTopic
    admin_conf = certs.client_conf("admin")
    ad = ck_admin(bs, **admin_conf)
    for f in ad.create_topics([NewTopic(t, 1, 1) for t in ("a-orders", "b-orders",
                                                            "team.x", "team.secret")]).values():
        f.result(timeout=15 * SLOW)
    a = kp_admin(bs, **kp_ssl(certs, "admin"))
    try:
        assert a.create_acls([
            acl("User:alice", "WRITE", "ALLOW", "TOPIC", "a-orders"),
            acl("User:bob", "ALL", "ALLOW", "TOPIC", "team.", "PREFIXED"),
            acl("User:bob", "ALL", "DENY", "TOPIC", "team.secret"),
            acl("User:bob", "READ", "ALLOW", "GROUP", "*"),
        ])["failed"] == []
        alice, bob = certs.client_conf("alice"), certs.client_conf("bob")
        # alice may write a-orders, not b-orders; bob has none of them.
        assert produce_result(bs, "a-orders", **alice) == 0
        assert produce_result(bs, "b-orders", **alice) == TOPIC_AUTHZ
        assert produce_result(bs, "a-orders", **bob) == TOPIC_AUTHZ
        # Prefixed ALLOW and a DENY over it for bob.
        assert produce_result(bs, "team.x", **bob) == 0
        assert consume_result(bs, "team.x", **bob) == b"v"
        assert produce_result(bs, "team.secret", **bob) == TOPIC_AUTHZ
        md = ck_admin(bs, **bob).list_topics(timeout=10 * SLOW)
        assert {t for t in md.topics if not t.startswith("__")} == {"team.x"}
        # The super user sees and does everything.
        assert produce_result(bs, "b-orders", **admin_conf) == 0
        # An ACL added while the broker runs acts at once; deleting it takes it away again.
        assert a.create_acls([acl("User:alice", "WRITE", "ALLOW", "TOPIC", "b-orders")])[
            "failed"] == []
        assert produce_result(bs, "b-orders", **alice) == 0
        out = a.delete_acls([acl_filter(rtype="TOPIC", name="b-orders", pattern="LITERAL",
                                        principal="User:alice")])
        assert len(out[0][1]) == 1
        assert produce_result(bs, "b-orders", **alice) == TOPIC_AUTHZ
        # Without ALTER on the cluster alice cannot grant herself anything.
        from kafka.errors import ClusterAuthorizationFailedError
        a2 = kp_admin(bs, **kp_ssl(certs, "alice"))
        try:
            res = a2.create_acls([acl("User:alice", "ALL", "ALLOW", "TOPIC", "*")])
            assert res["failed"][0][1] is ClusterAuthorizationFailedError
        finally:
            a2.close()
    finally:
        a.close()
    text = b.stderr()
    assert "audit: principal=User:alice client=127.0.0.1:" in text
    assert "operation=Describe resource=Topic:b-orders result=DENIED" in text
    assert "principal=User:admin" in open(tmp_path / "audit.log").read()


# --------------------------------------------------------------------------------------------
# Principals from SASL (PLAIN from the JAAS users, SCRAM from stored credentials).
# --------------------------------------------------------------------------------------------
def test_acls_per_sasl_principal(make_broker, tmp_path):
    from sasl_util import ADMIN_PW, admin_conn, alter_scram, ck_conf, kp_conf, sasl_broker
    b = sasl_broker(make_broker, sets=authz_sets(tmp_path, super_users="User:admin"))
    bs = b.address()
    admin = ck_conf("PLAIN", "admin", ADMIN_PW)
    alice = ck_conf("PLAIN", "alice", "alice-secret")
    # The super user adds a SCRAM user (a security change: audited) and the ACLs.
    with admin_conn(b) as c:
        assert alter_scram(c, upserts=[("bob", "SCRAM-SHA-256", "bob-pw", 4096)]) == \
            {"bob": (0, None)}
    bob = ck_conf("SCRAM-SHA-256", "bob", "bob-pw")
    from confluent_kafka.admin import NewTopic
    ad = ck_admin(bs, **admin)
    for f in ad.create_topics([NewTopic(t, 1, 1) for t in ("topic-a", "topic-b")]).values():
        f.result(timeout=15 * SLOW)
    a = kp_admin(bs, **kp_conf("PLAIN", "admin", ADMIN_PW))
    try:
        assert a.create_acls([
            acl("User:alice", "WRITE", "ALLOW", "TOPIC", "topic-a"),
            acl("User:bob", "ALL", "ALLOW", "TOPIC", "topic-", "PREFIXED"),
            acl("User:bob", "WRITE", "DENY", "TOPIC", "topic-a"),
            acl("User:bob", "READ", "ALLOW", "GROUP", "bob-", "PREFIXED"),
            acl("User:bob", "WRITE", "ALLOW", "TRANSACTIONAL_ID", "bob-tx"),
        ])["failed"] == []
    finally:
        a.close()
    assert produce_result(bs, "topic-a", **alice) == 0
    assert produce_result(bs, "topic-b", **alice) == TOPIC_AUTHZ
    assert produce_result(bs, "topic-b", **bob) == 0
    assert produce_result(bs, "topic-a", **bob) == TOPIC_AUTHZ  # DENY over the prefix ALLOW
    assert consume_result(bs, "topic-a", **{**bob, "group.id": "bob-1"}) == b"v"
    assert consume_result(bs, "topic-a", **{**alice, "group.id": "bob-1"}) in (
        TOPIC_AUTHZ, GROUP_AUTHZ)
    # Transactions as bob: his transactional id only.
    import confluent_kafka
    p = ck_producer(bs, **{**bob, "transactional.id": "bob-tx"})
    p.init_transactions(20 * SLOW)
    p.begin_transaction()
    p.produce("topic-b", b"t")
    p.commit_transaction(20 * SLOW)
    bad = ck_producer(bs, **{**bob, "transactional.id": "other-tx"})
    with pytest.raises(confluent_kafka.KafkaException) as ei:
        bad.init_transactions(20 * SLOW)
    assert ei.value.args[0].code() == TXN_AUTHZ
    # Credentials are the cluster's: alice may not change them.
    from sasl_util import plain_login
    with RawConn(int(bs.rsplit(":", 1)[1])) as c:
        plain_login(c, "alice", "alice-secret")
        assert alter_scram(c, upserts=[("alice", "SCRAM-SHA-256", "x", 4096)]) == \
            {"alice": (CLUSTER_AUTHZ, None)}
    text = b.stderr()
    assert ("audit: principal=User:admin client=127.0.0.1:" in text and
            "operation=AlterUserScramCredentials resource=User:bob "
            "result=SET(mechanism=SCRAM-SHA-256)" in text)
    assert "principal=User:alice" in text and "resource=Topic:topic-b result=DENIED" in text
    assert "principal=User:bob" in text and \
        "operation=Write resource=Topic:topic-a result=DENIED" in text
