#!/usr/bin/env python3
"""Keyed load for the compaction workload of bench/run.sh (runnel bench produce sends no keys,
and a compacted topic refuses keyless records, as Kafka does). confluent-kafka (librdkafka),
acks=1, linger.ms 20: the point is to fill a log or keep a cleaner busy, not to measure the
producer.

  keyed_produce.py BOOTSTRAP TOPIC --count N --keys K [--size B] [--rate R] [--seconds S]

Record i gets key "%012d" % (i % K) (K >= N: every key distinct) and a B-byte value. --rate
paces the sends (records/s); --seconds stops after that long instead of after N records.
Prints one JSON object: records, seconds, bytes (values + keys)."""
import argparse
import json
import sys
import time

from confluent_kafka import Producer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bootstrap")
    ap.add_argument("topic")
    ap.add_argument("--count", type=int, default=1 << 62)
    ap.add_argument("--keys", type=int, required=True)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--rate", type=float, default=0)
    ap.add_argument("--seconds", type=float, default=0)
    a = ap.parse_args()
    errors = []
    p = Producer({"bootstrap.servers": a.bootstrap, "linger.ms": 20, "batch.size": 1000000,
                  "queue.buffering.max.messages": 1000000, "acks": 1,
                  "message.timeout.ms": 60000})
    val = b"v" * a.size
    t0 = time.monotonic()
    n = 0

    def report(err, _msg):
        if err is not None and len(errors) < 5:
            errors.append(str(err))

    while n < a.count:
        now = time.monotonic()
        if a.seconds and now - t0 >= a.seconds:
            break
        if a.rate:
            due = t0 + n / a.rate
            if due > now:
                p.poll(min(due - now, 0.05))
                continue
        k = b"%012d" % (n % a.keys)
        try:
            p.produce(a.topic, val, k, on_delivery=report)
        except BufferError:
            p.poll(0.01)
            continue
        n += 1
        if n % 10000 == 0:
            p.poll(0)
    left = p.flush(60)
    dt = time.monotonic() - t0
    if errors or left:
        print("keyed_produce: %d undelivered, errors: %s" % (left, errors), file=sys.stderr)
        sys.exit(1)
    print(json.dumps({"records": n, "seconds": round(dt, 3), "bytes": n * (a.size + 12)}))


if __name__ == "__main__":
    main()
