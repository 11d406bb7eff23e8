#!/usr/bin/env python3
"""Unavailability after a leader's SIGKILL, for bench/cluster.sh: an idempotent acks=all
producer (confluent-kafka, linger.ms 0) writes RATE records/s to partition 0 of TOPIC; once
writes flow, the partition's leader (from Metadata) gets SIGKILL, and the time from the kill to
the first acknowledgement of a record produced after it (necessarily from the new leader) is
the unavailability.

  cluster_unavail.py BOOTSTRAP TOPIC --pids 1:PID,2:PID,3:PID [--rate R] [--timeout S]

Prints one JSON object: killed (node id), unavailable_ms, new_leader, acked_before, errors."""
import argparse
import json
import os
import signal
import sys
import threading
import time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient


def leader(admin, topic):
    md = admin.list_topics(topic, timeout=10)
    return md.topics[topic].partitions[0].leader


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bootstrap")
    ap.add_argument("topic")
    ap.add_argument("--pids", required=True)
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()
    pids = {int(k): int(v) for k, v in (x.split(":") for x in a.pids.split(","))}
    admin = AdminClient({"bootstrap.servers": a.bootstrap})
    p = Producer({"bootstrap.servers": a.bootstrap, "enable.idempotence": True, "acks": "all",
                  "linger.ms": 0, "message.timeout.ms": int(a.timeout * 1000),
                  "retry.backoff.ms": 20, "topic.metadata.refresh.interval.ms": 500,
                  "reconnect.backoff.max.ms": 100, "log.connection.close": False})
    lock = threading.Lock()
    state = {"kill_t": None, "first_after": None, "acked": 0, "errors": 0}

    def cb(sent_t):
        def f(err, _msg):
            now = time.monotonic()
            with lock:
                if err is not None:
                    state["errors"] += 1
                    return
                state["acked"] += 1
                k = state["kill_t"]
                if k is not None and sent_t >= k and state["first_after"] is None:
                    state["first_after"] = now
        return f

    start = time.monotonic()
    n = 0
    killed = None
    while True:
        now = time.monotonic()
        if killed is None and state["acked"] >= a.rate:  # about a second of writes acknowledged
            killed = leader(admin, a.topic)
            with lock:
                state["kill_t"] = time.monotonic()
            os.kill(pids[killed], signal.SIGKILL)
        if state["first_after"] is not None or now - start > a.timeout + 10:
            break
        try:
            p.produce(a.topic, value=b"x" * 100, partition=0, on_delivery=cb(time.monotonic()))
            n += 1
        except BufferError:
            pass
        p.poll(0)
        ahead = n / a.rate - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)
    p.flush(a.timeout)
    if state["first_after"] is None:
        print(json.dumps({"killed": killed, "error": "no acknowledgement after the kill"}))
        return 1
    new = None
    try:
        new = leader(admin, a.topic)
    except Exception:  # noqa: BLE001 - reporting only
        pass
    print(json.dumps({"killed": killed, "new_leader": new,
                      "unavailable_ms": round((state["first_after"] - state["kill_t"]) * 1000, 1),
                      "acked_before": state["acked"], "errors": state["errors"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
