"""The cluster harness itself: etcd members (single and 3-member: health, leader, kill, restart,
watch) and a smoke test of a 3-broker cluster (skipped until the cluster glue is built)."""
import signal
import subprocess

from conftest import (SLOW, Etcd, ck_consume, ck_produce, unique, wait_until)


def test_etcd_single_member_put_get_restart(etcd):
    assert len(etcd.members) == 1
    etcd.put("/h/a", "1")
    assert etcd.get("/h/a") == "1"
    assert etcd.leader() == 0
    etcd.restart(0)  # SIGKILL, same data dir
    assert etcd.get("/h/a") == "1"
    r = etcd.ctl("get", "/h/a", "--print-value-only")
    assert r.stdout.strip() == "1"


def test_etcd_cluster_leader_kill_and_rejoin(etcd_cluster):
    e = etcd_cluster
    assert len(e.members) == 3 and len(set(m.client_port for m in e.members)) == 3
    e.put("/h/k", "before")
    old = e.leader()
    e.kill(old)
    new = e.leader(timeout=20.0)
    assert new != old
    e.put("/h/k", "during")  # two of three members: still a quorum
    assert e.get("/h/k") == "during"
    e.restart(old)
    e.wait_healthy()
    # The restarted member caught up with what was written while it was away.
    wait_until(lambda: e.members[old].healthy(), 20.0, what="old leader healthy")
    m = e.members[old]
    from conftest import _http_json, b64, unb64
    r = _http_json(m.url + "/v3/kv/range", {"key": b64("/h/k")})
    assert unb64(r["kvs"][0]["value"]) == "during"


def test_etcd_pause_member(etcd_cluster):
    """SIGSTOP of a follower member leaves the quorum working; SIGCONT brings it back."""
    e = etcd_cluster
    lead = e.leader()
    f = (lead + 1) % 3
    e.members[f].pause()
    try:
        e.put("/h/p", "x")
    finally:
        e.members[f].resume()
    wait_until(e.members[f].healthy, 20.0, what="resumed member healthy")


def test_etcd_watch_records_changes(etcd, tmp_path):
    w = etcd.watch("/w/", tmp_path / "watch.json")
    try:
        # The watch starts asynchronously: write until it has seen something.
        n = [0]

        def seen():
            n[0] += 1
            etcd.put("/w/k%d" % n[0], "v%d" % n[0])
            return len(w.events()) >= 2
        wait_until(seen, 10.0, interval=0.2, what="watch events")
        etcd.ctl("del", "/w/k1")
        wait_until(lambda: any(k == "/w/k1" and v is None for _r, k, v in w.events()), 10.0,
                   what="delete event")
    finally:
        w.stop()
    revs = [r for r, _k, _v in w.events()]
    assert revs == sorted(revs)
    assert all(k.startswith("/w/") for _r, k, _v in w.events())


def test_cluster_smoke(cluster):
    """3 brokers on etcd: all registered, a controller, a topic RF=3 with full ISR takes
    writes, and a leader's SIGKILL moves leadership to another in-sync replica."""
    md = cluster.metadata([])
    assert sorted(md.brokers) == [1, 2, 3]
    assert md.controller in (1, 2, 3)
    t = cluster.create_topic(unique("smoke"), partitions=1, rf=3)
    st = cluster.wait_for_isr(t, 0, 3)
    assert sorted(st["replicas"]) == [1, 2, 3]
    ck_produce(cluster.bootstrap, t, [(b"k", b"v%d" % i) for i in range(10)], acks="all")
    leader = cluster.leader_of(t, 0)
    cluster.broker(leader).kill(signal.SIGKILL)
    new = cluster.leader_of(t, 0, exclude=(leader,), timeout=30.0)
    assert new != leader
    ck_produce(cluster.bootstrap, t, [(b"k", b"w%d" % i) for i in range(10)], acks="all")
    got = ck_consume(cluster.bootstrap, t, [0], 20, timeout=20.0)
    assert [m.value() for m in got] == [b"v%d" % i for i in range(10)] + [b"w%d" % i
                                                                          for i in range(10)]
    cluster.broker(leader).start()
    cluster.wait_for_isr(t, 0, 3, timeout=30.0 * SLOW)


def test_etcd_class_ports_distinct(tmp_path):
    e = Etcd(tmp_path, 3)
    ports = [m.client_port for m in e.members] + [m.peer_port for m in e.members]
    assert len(set(ports)) == 6
    assert e.store_uri("/p") == "etcd://%s/p" % e.endpoints


def test_netlab_isolate_and_heal(netlab, tmp_path):
    """Brokers in namespaces answer on their own addresses; isolate() cuts one off from the
    root namespace (and so from its peers and etcd), heal() brings it back. Runs without the
    cluster glue: each broker may run alone here."""
    from conftest import Cluster
    e = Etcd(tmp_path / "etcd", 1, hosts=("127.0.0.1", netlab.gw)).start()
    c = Cluster(tmp_path / "c", e, n=2, netlab=netlab)
    try:
        c.start(wait=False)
        for b in c.brokers:
            assert b.host == netlab.addr[b.node_id]
            with b.raw() as conn:
                assert conn.api_versions()[0] == 0
            st, _ = b.http("/health")
            assert st == 200
        # From inside broker 1's namespace, etcd answers on the gateway address.
        url = "http://%s:%d/health" % (netlab.gw, e.members[0].client_port)
        r = subprocess.run(netlab.wrap(1, ["/usr/bin/python3", "-c",
                                           "import urllib.request as u, sys; sys.stdout.write("
                                           "u.urlopen(%r, timeout=5).read().decode())" % url]),
                           capture_output=True, timeout=20)
        assert b'"health":"true"' in r.stdout, r
        netlab.isolate(1)
        import socket
        try:
            c.broker(1).raw(timeout=1.0)
            raise AssertionError("isolated broker still reachable")
        except (OSError, socket.timeout):
            pass
        with c.broker(2).raw() as conn:
            assert conn.api_versions()[0] == 0
        netlab.heal(1)
        wait_until(lambda: _reachable(c.broker(1)), 10.0, what="healed broker reachable")
    finally:
        for i in list(netlab.isolated):
            netlab.heal(i)
        for b in c.brokers:
            if b.alive():
                b.stop()
        e.stop()


def _reachable(b):
    try:
        with b.raw(timeout=1.0) as conn:
            return conn.api_versions()[0] == 0
    except OSError:
        return False


def test_etcd_watch_replays_history(etcd, tmp_path):
    """watch(rev=1) replays every past revision of a prefix (what the Jepsen checker uses)."""
    for i in range(5):
        etcd.put("/hist/k", "v%d" % i)
    w = etcd.watch("/hist/", tmp_path / "h.json", rev=1)
    try:
        wait_until(lambda: len(w.events()) >= 5, 10.0, what="replayed events")
    finally:
        w.stop()
    assert [v for _r, _k, v in w.events()] == ["v%d" % i for i in range(5)]
