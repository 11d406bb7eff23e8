#!/usr/bin/env bash
# The cluster workload of bench/run.sh (issue 8): 3 brokers and one etcd sharing this machine.
# Sourced by run.sh, which provides record/na/pre_run/bench_produce/log and the sizes; run alone
# it runs just this workload through run.sh:
#
#   bench/cluster.sh [quick]      = BENCH_ONLY=cluster bench/run.sh [quick]
#
# Measures, on the same three brokers (metadata.store=etcd, default settings otherwise):
#   ratio      1 KiB acks=all into 3 partitions with RF=3 against RF=1 (runs interleaved);
#   latency    p50/p99 at 10,000 records/s, 100 B, acks=all, linger 0, 1 partition, RF=3 and 1;
#   unavail    a partition leader's SIGKILL: from the kill to the first acknowledgement of a
#              record sent after it (bench/cluster_unavail.py), then the broker restarts;
#   catchup    a follower stopped while CATCHUP_N x 1 KiB are written, then restarted: MB/s from
#              its exec until its log end equals the leader's (both from /metrics);
#   rss        per-broker RSS, idle, empty and then with RSS_TOPICS x 10 partitions at RF=3
#              (1,000 partitions in a full run), every ISR full.
# Brokers are started here rather than through `runnel dev cluster`, which stops the whole
# cluster when a broker dies: these measurements kill brokers on purpose.
# Ports: CLUSTER_PORT (29092) + i - 1, CLUSTER_ADMIN (29644) + i - 1, CLUSTER_ETCD (22379) and
# the next one for etcd's peer port.

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	BENCH_ONLY=cluster exec "$(dirname "$0")/run.sh" "$@"
fi

CLUSTER_PORT=${CLUSTER_PORT:-29092}
CLUSTER_ADMIN=${CLUSTER_ADMIN:-29644}
CLUSTER_ETCD=${CLUSTER_ETCD:-22379}
ETCD_BIN=${ETCD_BIN:-/usr/bin/etcd}
if [ "$MODE" = quick ]; then
	CL_N1K=20000 CATCHUP_N=20000 RSS_TOPICS=10
else
	CL_N1K=1000000 CATCHUP_N=1000000 RSS_TOPICS=100
fi
UNAVAIL=(/usr/bin/python3 "$ROOT/bench/cluster_unavail.py")
declare -a CB_PID=()
ETCD_PID=
CL_DIR=
CL_BOOT=127.0.0.1:$CLUSTER_PORT,127.0.0.1:$((CLUSTER_PORT + 1)),127.0.0.1:$((CLUSTER_PORT + 2))

# bench_produce measures the server CPU of one pid; "cluster" as that pid means the three
# brokers together (their pids change as brokers restart).
eval "$(declare -f cpu_ticks | sed '1s/^cpu_ticks/cl_single_cpu_ticks/')"
cpu_ticks() {
	if [ "$1" != cluster ]; then
		cl_single_cpu_ticks "$1"
		return
	fi
	local t=0 i
	for i in 1 2 3; do t=$((t + $(cl_single_cpu_ticks "${CB_PID[$i]:-0}"))); done
	echo "$t"
}

cl_etcd_start() {
	local peer=http://127.0.0.1:$((CLUSTER_ETCD + 1)) client=http://127.0.0.1:$CLUSTER_ETCD
	[ -x "$ETCD_BIN" ] || {
		REASON="no etcd at $ETCD_BIN (etcd-server)"
		return 1
	}
	"$ETCD_BIN" --name bench --data-dir "$CL_DIR/etcd" --listen-client-urls "$client" \
		--advertise-client-urls "$client" --listen-peer-urls "$peer" \
		--initial-advertise-peer-urls "$peer" --initial-cluster "bench=$peer" \
		>>"$RAW/cluster-etcd.log" 2>&1 &
	ETCD_PID=$!
	PIDS+=("$ETCD_PID")
	for _ in $(seq 100); do
		python3 -c "import urllib.request as u; exit(b'\"true\"' not in u.urlopen('$client/health', timeout=1).read())" 2>/dev/null && return 0
		sleep 0.1
	done
	REASON="etcd not healthy: $(why "$RAW/cluster-etcd.log")"
	return 1
}

# cl_broker_start I: starts broker I (1-3) and waits for its port. Sets CB_PID[I].
cl_broker_start() {
	local i=$1 port=$((CLUSTER_PORT + $1 - 1))
	mkdir -p "$CL_DIR/broker-$i"
	"$RUNNEL" serve --set "node.id=$i" --set "metadata.store=etcd://127.0.0.1:$CLUSTER_ETCD/bench" \
		--set "listeners=PLAINTEXT://127.0.0.1:$port" \
		--set "admin.listener=127.0.0.1:$((CLUSTER_ADMIN + i - 1))" \
		--set "log.dirs=$CL_DIR/broker-$i" >>"$RAW/cluster-broker-$i.log" 2>&1 &
	CB_PID[$i]=$!
	PIDS+=("${CB_PID[$i]}")
	local deadline=$(($(date +%s) + 30))
	until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
		kill -0 "${CB_PID[$i]}" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ] || {
			REASON="broker $i did not start: $(why "$RAW/cluster-broker-$i.log")"
			return 1
		}
		sleep 0.01
	done
}

# cl_healthy [TIMEOUT_S]: until `runnel cluster status` lists 3 brokers and exits 0 (every
# partition led with its full ISR).
cl_healthy() {
	local deadline=$(($(date +%s) + ${1:-120})) out
	while [ "$(date +%s)" -lt "$deadline" ]; do
		out=$("$RUNNEL" cluster status -b "$CL_BOOT" 2>&1) && [[ $out == *"Brokers: 3"* ]] &&
			return 0
		sleep 0.5
	done
	REASON="cluster not healthy: $(printf '%s\n' "$out" |
		grep -E '^(Controller|Brokers|Under-replicated partitions|Offline partitions|runnel)' |
		tr '\n' ' ' | cut -c1-200)"
	return 1
}

cl_up() {
	CL_DIR=$WORK/cluster
	rm -rf "$CL_DIR" && mkdir -p "$CL_DIR"
	cl_etcd_start || return 1
	local i
	for i in 1 2 3; do cl_broker_start "$i" || return 1; done
	cl_healthy 60
}

cl_down() {
	local i
	for i in 1 2 3; do [ -n "${CB_PID[$i]:-}" ] && kill -TERM "${CB_PID[$i]}" 2>/dev/null; done
	for i in 1 2 3; do
		stop_pid "${CB_PID[$i]:-}"
		CB_PID[$i]=
	done
	stop_pid "$ETCD_PID"
	ETCD_PID=
}

# cl_topic NAME PARTITIONS RF: creates the topic and waits until every ISR is full.
cl_topic() {
	"$RUNNEL" topic create "$1" --partitions "$2" --replication-factor "$3" -b "$CL_BOOT" \
		>/dev/null 2>"$RAW/cluster-topic.log" || {
		REASON="topic create $1 failed: $(why "$RAW/cluster-topic.log")"
		return 1
	}
	cl_healthy 60
}

# cl_leader TOPIC: node id leading partition 0.
cl_leader() {
	/usr/bin/python3 -c "
import sys
from confluent_kafka.admin import AdminClient
md = AdminClient({'bootstrap.servers': sys.argv[1]}).list_topics(sys.argv[2], timeout=10)
print(md.topics[sys.argv[2]].partitions[0].leader)" "$CL_BOOT" "$1"
}

# cl_metric I NAME TOPIC: broker I's sample of NAME for partition 0 of TOPIC (empty if none).
cl_metric() {
	python3 -c "
import re, sys, urllib.request as u
t = u.urlopen('http://127.0.0.1:%s/metrics' % sys.argv[1], timeout=5).read().decode()
m = re.search(r'^%s\{topic=\"%s\",partition=\"0\"\} (\S+)$' % (sys.argv[2], re.escape(sys.argv[3])), t, re.M)
print(int(float(m.group(1))) if m else '')" "$((CLUSTER_ADMIN + $1 - 1))" "$2" "$3" 2>/dev/null
}

cl_ratio() {
	local run rf
	local -A dead=()
	for run in $(seq "$RUNS"); do
		for rf in 1 3; do
			local wl=1KiB-3p-rf$rf topic=cl-rf$rf-r$run
			[ -n "${dead[$rf]:-}" ] && continue
			if ! cl_topic "$topic" 3 "$rf" ||
				! bench_produce runnel cluster "cluster-$wl-r$run" cluster "$wl" \
					"$run" -b "$CL_BOOT" -t "$topic" --partitions 3 -s 1024 -c "$CL_N1K" \
					-a all; then
				na cluster "$wl" runnel "$REASON"
				dead[$rf]=1
			fi
			"$RUNNEL" topic delete "$topic" -b "$CL_BOOT" >/dev/null 2>&1
		done
	done
}

cl_latency() {
	local rf run
	for rf in 3 1; do
		local wl=10k-100B-rf$rf topic=cl-lat-rf$rf
		cl_topic "$topic" 1 "$rf" || {
			na cluster "$wl" runnel "$REASON"
			continue
		}
		for run in $(seq "$RUNS"); do
			bench_produce runnel cluster "cluster-latency-$wl-r$run" cluster "$wl" \
				"$run" -b "$CL_BOOT" -t "$topic" --partitions 1 -s 100 \
				-c $((10000 * LAT_SECS)) -r 10000 -a all --linger-ms 0 || {
				na cluster "$wl" runnel "$REASON"
				break
			}
		done
	done
}

cl_unavail() {
	local run
	for run in $(seq "$RUNS"); do
		local topic=cl-avail-r$run f=$RAW/cluster-unavail-r$run.json
		cl_topic "$topic" 1 3 || {
			na cluster leader-sigkill runnel "$REASON"
			return
		}
		pre_run
		timeout -k 10 "$STEP_TIMEOUT" "${UNAVAIL[@]}" "$CL_BOOT" "$topic" \
			--pids "1:${CB_PID[1]},2:${CB_PID[2]},3:${CB_PID[3]}" >"$f" \
			2>"$RAW/cluster-unavail-r$run.log"
		local killed
		killed=$(json "$f" 'd["killed"]' 2>/dev/null)
		if json "$f" 'd["unavailable_ms"]' >/dev/null 2>&1; then
			record cluster leader-sigkill runnel unavailable_ms ms "$run" \
				"$(json "$f" 'd["unavailable_ms"]')" "kill to first ack of a later record"
			log "  unavailability run $run: $(json "$f" 'd["unavailable_ms"]') ms (killed $killed)"
		else
			na cluster leader-sigkill runnel "$(why "$f") $(why "$RAW/cluster-unavail-r$run.log")"
		fi
		if [[ $killed =~ ^[123]$ ]]; then
			wait "${CB_PID[$killed]}" 2>/dev/null
			cl_broker_start "$killed" && cl_healthy 120 || {
				na cluster leader-sigkill runnel "no recovery: $REASON"
				return
			}
		fi
	done
}

cl_catchup() {
	local run
	for run in $(seq "$RUNS"); do
		local topic=cl-catchup-r$run lead f
		cl_topic "$topic" 1 3 || {
			na cluster follower-catchup runnel "$REASON"
			return
		}
		lead=$(cl_leader "$topic")
		f=$((lead % 3 + 1))
		stop_pid "${CB_PID[$f]}"
		local before
		before=$(part_bytes "$CL_DIR/broker-$f" "$topic")
		timeout -k 10 "$STEP_TIMEOUT" "$RUNNEL" bench produce "${CLIENT_X[@]}" -b "$CL_BOOT" \
			-t "$topic" -s 1024 -c "$CATCHUP_N" -a all --json \
			>"$RAW/cluster-catchup-fill-r$run.json" 2>"$RAW/cluster-catchup-fill-r$run.log"
		local want t0 t1 have=
		want=$(cl_metric "$lead" kafka_log_log_logendoffset "$topic")
		pre_run
		t0=$(now_ns)
		cl_broker_start "$f" || {
			na cluster follower-catchup runnel "$REASON"
			return
		}
		local deadline=$(($(date +%s) + 600))
		while [ "$(date +%s)" -lt "$deadline" ]; do
			have=$(cl_metric "$f" kafka_log_log_logendoffset "$topic")
			[ -n "$have" ] && [ -n "$want" ] && [ "$have" -ge "$want" ] && break
			sleep 0.05
		done
		t1=$(now_ns)
		if [ -z "$want" ] || [ "${have:-0}" -lt "$want" ]; then
			na cluster follower-catchup runnel "follower at ${have:-?} of ${want:-?}"
			return
		fi
		local bytes
		bytes=$(($(part_bytes "$CL_DIR/broker-$f" "$topic") - before))
		record cluster follower-catchup runnel mb_per_sec MB/s "$run" \
			"$(python3 -c "print(round($bytes / (($t1 - $t0) / 1e9) / 1e6, 1))")" \
			"exec of the follower to its log end = the leader's"
		record cluster follower-catchup runnel seconds s "$run" \
			"$(python3 -c "print(round(($t1 - $t0) / 1e9, 2))")"
		log "  catch-up run $run: $bytes bytes in $(((t1 - t0) / 1000000)) ms"
		"$RUNNEL" topic delete "$topic" -b "$CL_BOOT" >/dev/null 2>&1
		cl_healthy 120 || true
	done
}

cl_rss() {
	local i
	sleep 2
	for i in 1 2 3; do record cluster rss runnel idle_rss_empty KiB "$i" "$(rss_kib "${CB_PID[$i]}")"; done
	log "  creating $RSS_TOPICS topics x 10 partitions, RF=3"
	seq -f 'clrss%04g' 0 $((RSS_TOPICS - 1)) | xargs -P 4 -I{} "$RUNNEL" topic create {} \
		-b "$CL_BOOT" --partitions 10 --replication-factor 3 >/dev/null \
		2>"$RAW/cluster-rss-create.log"
	if ! cl_healthy 600; then
		na cluster rss runnel "$REASON"
		return
	fi
	sleep 5
	for i in 1 2 3; do
		record cluster rss runnel "idle_rss_$((RSS_TOPICS * 10))_partitions" KiB "$i" \
			"$(rss_kib "${CB_PID[$i]}")" "one sample per broker"
	done
}

wl_cluster() {
	log "cluster: 3 brokers + etcd on this machine (ratio, latency, unavailability, catch-up, RSS)"
	if ! cl_up; then
		for w in ratio latency leader-sigkill follower-catchup rss; do
			na cluster "$w" runnel "$REASON"
		done
		cl_down
		return
	fi
	cl_ratio
	cl_latency
	cl_unavail
	cl_catchup
	cl_rss
	cl_down
}
