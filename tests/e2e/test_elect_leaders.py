"""ElectLeaders and partition reassignments on a single broker, as Kafka with one replica per
partition answers: every partition's only replica already leads (ELECTION_NOT_NEEDED), the
broker itself is the only valid reassignment target, nothing is ever being reassigned.
The cluster behaviour is in tests/e2e_cluster/test_controller.py."""
from conftest import RawConn, create_topic, runnel, unique
from controller_raw import alter_reassignments, elect_leaders, list_reassignments

NONE, UNKNOWN_TOPIC_OR_PARTITION, INVALID_REQUEST = 0, 3, 42
INVALID_REPLICA_ASSIGNMENT, ELECTION_NOT_NEEDED, NO_REASSIGNMENT_IN_PROGRESS = 39, 84, 85


def test_elect_leaders_all_versions(broker):
    t = create_topic(broker.bootstrap, unique("el"), partitions=2)
    with RawConn(broker.port) as c:
        for v in (0, 1, 2):
            for etype in ((0,) if v == 0 else (0, 1)):
                top, res = elect_leaders(c, {t: [0, 1, 7], "no-such-topic-el": [0]},
                                         election_type=etype, version=v)
                assert top == (None if v == 0 else NONE)
                assert {p: e for p, (e, _m) in res[t].items()} == {
                    0: ELECTION_NOT_NEEDED, 1: ELECTION_NOT_NEEDED,
                    7: UNKNOWN_TOPIC_OR_PARTITION}
                assert res[t][7][1]  # a message with the error
                assert res[t][0][1] is None
                assert res["no-such-topic-el"][0][0] == UNKNOWN_TOPIC_OR_PARTITION


def test_elect_leaders_null_means_all(broker):
    """Null topic_partitions: every topic listed, partitions that needed nothing left out."""
    t = create_topic(broker.bootstrap, unique("elall"), partitions=3)
    with RawConn(broker.port) as c:
        top, res = elect_leaders(c, None, election_type=0, version=2)
    assert top == NONE
    assert t in res and res[t] == {}


def test_elect_leaders_bad_election_type(broker):
    t = create_topic(broker.bootstrap, unique("elbad"), partitions=1)
    with RawConn(broker.port) as c:
        top, res = elect_leaders(c, {t: [0]}, election_type=5, version=2)
        assert top == INVALID_REQUEST
        assert res[t][0][0] == INVALID_REQUEST
        # The connection stays usable.
        top, res = elect_leaders(c, {t: [0]}, election_type=0, version=1)
        assert res[t][0][0] == ELECTION_NOT_NEEDED


def test_reassignments_single_broker(broker):
    t = create_topic(broker.bootstrap, unique("ra"), partitions=2)
    me = 1  # node.id defaults to 1
    with RawConn(broker.port) as c:
        top, res = alter_reassignments(c, {(t, 0): [me], (t, 1): [me, me + 1],
                                           ("no-such-topic-ra", 0): [me]})
        assert top == NONE
        assert res[(t, 0)][0] == NONE
        assert res[(t, 1)][0] == INVALID_REPLICA_ASSIGNMENT and res[(t, 1)][1]
        assert res[("no-such-topic-ra", 0)][0] == UNKNOWN_TOPIC_OR_PARTITION
        top, res = alter_reassignments(c, {(t, 0): None})
        assert res[(t, 0)][0] == NO_REASSIGNMENT_IN_PROGRESS
        assert list_reassignments(c) == (NONE, {})
        assert list_reassignments(c, {t: [0, 1]}) == (NONE, {})


def test_reassign_cli_single_broker(broker):
    t = create_topic(broker.bootstrap, unique("racli"), partitions=1)
    b = ["-b", broker.bootstrap]
    r = runnel("topic", "reassign", t, "--partition", "0", "--replicas", "1", *b)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == "Started the reassignment of %s-0.\n" % t
    r = runnel("topic", "reassign", t, "--partition", "0", "--replicas", "1,2", *b)
    assert r.returncode == 1
    assert "INVALID_REPLICA_ASSIGNMENT" in r.stderr.decode()
    r = runnel("topic", "reassign", t, "--partition", "0", "--cancel", *b)
    assert r.returncode == 1
    assert "NO_REASSIGNMENT_IN_PROGRESS" in r.stderr.decode()
    for extra in ([], [t]):
        r = runnel("topic", "reassign", "--list", *extra, *b)
        assert r.returncode == 0, r.stderr
        assert r.stdout.decode() == "No partition reassignments found.\n"
    r = runnel("topic", "reassign", "no-such-topic-racli", "--partition", "0", "--cancel", *b)
    assert r.returncode == 1 and "does not exist" in r.stderr.decode()
    r = runnel("topic", "reassign", t, "--partition", "0", *b)
    assert r.returncode == 2
