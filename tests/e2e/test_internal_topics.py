"""Internal topics belong to the coordinators."""
import kafka.errors
import pytest

from conftest import RawConn, kp_admin


def test_internal_topics_cannot_be_deleted(broker):
    """The group coordinator holds __consumer_offsets for the broker's lifetime."""
    a = kp_admin(broker.bootstrap)
    try:
        with pytest.raises(kafka.errors.InvalidRequestError):
            a.delete_topics(["__consumer_offsets"])
    finally:
        a.close()
    with RawConn(broker.port) as c:
        err, _apis = c.api_versions(0)
        assert err == 0
