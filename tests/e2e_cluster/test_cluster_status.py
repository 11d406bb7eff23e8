"""`runnel cluster status`: brokers, controller, under-replicated and offline partitions; exit
status 0 healthy, 2 when something is under-replicated or offline, 1 when no broker answers."""
import re

from conftest import Broker, free_port, runnel, unique, wait_until


def status(bootstrap):
    r = runnel("cluster", "status", "-b", bootstrap)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def sections(out):
    """{"Under-replicated partitions": [topic of each row], "Offline partitions": [...]}."""
    res, cur = {}, None
    for line in out.splitlines():
        m = re.match(r"^(Under-replicated partitions|Offline partitions): \d+$", line)
        if m:
            cur = res.setdefault(m.group(1), [])
        elif cur is not None and line.startswith("  ") and not line.strip().startswith("TOPIC"):
            cur.append(line.split()[0])
        elif not line.startswith("  "):
            cur = None
    return res


def test_status_single_broker(tmp_path):
    b = Broker(tmp_path / "data", sets={"broker.rack": "rack-a"}).start()
    try:
        rc, out, err = status(b.bootstrap)
        assert rc == 0, (out, err)
        assert "Brokers: 1" in out
        assert re.search(r"^Controller: 1$", out, re.M), out
        assert re.search(r"^\s+1\s+127\.0\.0\.1:%d\s" % b.port, out, re.M), out
        assert "Under-replicated partitions: 0" in out
        assert "Offline partitions: 0" in out
        assert re.search(r"^Cluster id: \S{22}$", out, re.M), out
    finally:
        b.stop_clean()


def test_status_refused_and_bad_options():
    port = free_port()
    rc, out, err = status("127.0.0.1:%d" % port)
    assert rc == 1
    assert err.count("\n") == 1 and "cannot connect to 127.0.0.1:%d" % port in err, err
    r = runnel("cluster", "status", "--bogus")
    assert r.returncode == 2 and b"unknown option" in r.stderr
    r = runnel("cluster")
    assert r.returncode == 2 and b"missing action (status)" in r.stderr
    r = runnel("cluster", "status", "--help")
    assert r.returncode == 0 and b"Exit status" in r.stdout and b"2 when" in r.stdout


def test_status_under_replicated_and_offline(make_cluster):
    c = make_cluster(3, broker_sets={1: {"broker.rack": "r1"}, 2: {"broker.rack": "r2"},
                                     3: {"broker.rack": "r3"}})
    t3 = c.create_topic(unique("rf3"), partitions=2, rf=3)
    # RF=1 partitions on broker 3 only go offline when it dies (CreateTopics with an explicit
    # assignment is the glue's; the admin client's replica_assignment sends one).
    import confluent_kafka.admin as cka
    from conftest import ck_admin
    t1 = unique("rf1")
    admin = ck_admin(c.bootstrap)  # kept: a destroyed handle fails its futures
    fs = admin.create_topics([cka.NewTopic(t1, 1, replica_assignment=[[3]])])
    fs[t1].result(30)
    c.wait_for_isr(t1, 0, 1)

    def rc_is(want):
        def f():
            rc, out, _err = status(c.bootstrap)
            return out if rc == want else None
        return f
    out = wait_until(rc_is(0), 30.0, interval=0.5, what="healthy status")
    assert "Brokers: 3" in out
    for i, rack in ((1, "r1"), (2, "r2"), (3, "r3")):
        assert re.search(r"^\s+%d\s+127\.0\.0\.1:%d\s+%s$" % (i, c.broker(i).fixed_port, rack),
                         out, re.M), out
    ctl = c.controller()
    assert re.search(r"^Controller: %d$" % ctl, out, re.M), out

    c.broker(3).kill()
    out = wait_until(rc_is(2), 60.0, interval=0.5, what="status exit 2 after a broker died")

    def listed_ok():
        out = status(c.bootstrap)[1]
        sec = sections(out)
        ok = (t3 in sec.get("Under-replicated partitions", [])
              and t1 in sec.get("Offline partitions", []))
        return out if ok else None
    out = wait_until(listed_ok, 60.0, interval=0.5, what="under-replicated and offline listed")
    assert re.search(r"Under-replicated partitions: [1-9]", out), out
    assert "Offline partitions: 1" in out
    c.broker(3).start()
    wait_until(rc_is(0), 60.0, interval=0.5, what="healthy again after the restart")
