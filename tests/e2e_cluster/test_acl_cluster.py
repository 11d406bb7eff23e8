"""ACLs in a cluster: bindings are security records in etcd, so one created through any broker
is enforced by every broker (each follows the store's watch), and a deletion through another
broker reaches the first."""
from conftest import SLOW, kp_admin, wait_until

AUTHZ = {"authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
         # The brokers talk to each other as User:ANONYMOUS on PLAINTEXT: as in Kafka, that
         # principal needs CLUSTER_ACTION; here it is simply a super user.
         "super.users": "User:ANONYMOUS"}


def bindings(broker):
    from kafka.admin import (ACLFilter, ACLOperation, ACLPermissionType,
                             ACLResourcePatternType, ResourcePatternFilter, ResourceType)
    a = kp_admin("127.0.0.1:%d" % broker.fixed_port)
    try:
        got, _ = a.describe_acls(ACLFilter(None, None, ACLOperation.ANY, ACLPermissionType.ANY,
                                           ResourcePatternFilter(ResourceType.ANY, None,
                                                                 ACLResourcePatternType.ANY)))
    finally:
        a.close()
    return sorted((g.principal, g.resource_pattern.resource_name, g.operation.name) for g in got)


def test_acls_reach_every_broker(make_cluster):
    from kafka.admin import (ACL, ACLFilter, ACLOperation, ACLPermissionType,
                             ACLResourcePatternType, ResourcePattern, ResourcePatternFilter,
                             ResourceType)
    c = make_cluster(n=2, sets=AUTHZ)
    b1, b2 = c.broker(1), c.broker(2)
    a1 = kp_admin("127.0.0.1:%d" % b1.fixed_port)
    try:
        res = a1.create_acls([ACL("User:alice", "*", ACLOperation.WRITE, ACLPermissionType.ALLOW,
                                  ResourcePattern(ResourceType.TOPIC, "orders"))])
        assert res["failed"] == []
    finally:
        a1.close()
    want = [("User:alice", "orders", "WRITE")]
    wait_until(lambda: bindings(b2) == want, timeout=15 * SLOW, what="the ACL on broker 2")
    a2 = kp_admin("127.0.0.1:%d" % b2.fixed_port)
    try:
        out = a2.delete_acls([ACLFilter("User:alice", None, ACLOperation.ANY,
                                        ACLPermissionType.ANY,
                                        ResourcePatternFilter(ResourceType.TOPIC, None,
                                                              ACLResourcePatternType.ANY))])
        assert len(out[0][1]) == 1
    finally:
        a2.close()
    wait_until(lambda: bindings(b1) == [], timeout=15 * SLOW, what="the deletion on broker 1")
