"""The cluster glue end to end: 1 etcd + 3 brokers; topics created, listed, produced to,
consumed from and deleted through real clients on any broker."""
import pytest

from conftest import (RawConn, SLOW, ck_admin, ck_consume, ck_produce, kp_admin, unique,
                      wait_until, metadata_v7)


def test_three_brokers_metadata(cluster):
    md = cluster.metadata([])
    assert sorted(md.brokers) == [1, 2, 3]
    assert md.controller in (1, 2, 3)
    t = cluster.create_topic(unique("basic"), partitions=3, rf=3)
    md = cluster.metadata([t])
    err, parts = md.topics[t]
    assert err == 0 and sorted(parts) == [0, 1, 2]
    leaders = sorted(parts[p]["leader"] for p in parts)
    assert leaders == [1, 2, 3]  # spread: one each
    for p in parts.values():
        assert sorted(p["replicas"]) == [1, 2, 3]
        assert sorted(p["isr"]) == [1, 2, 3]
