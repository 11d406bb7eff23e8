#!/usr/bin/env bash
# Runnel benchmark harness: Runnel, librdkafka's mock cluster and Redis Streams side by side on
# 127.0.0.1, with the machine's own limits (loopback TCP, fdatasync-per-MiB writes) measured in
# the same session, so every result can be read as a ratio. See docs/BENCHMARKS.md.
#
#   bench/run.sh          full run, BENCH_RUNS (default 3) runs per point, medians reported
#   bench/run.sh quick    smoke run: small counts, 1 run, well under 2 minutes
#
# Writes bench/out/results.md (tables), bench/out/results.tsv (one row per measurement) and
# bench/out/raw/ (every command's output). A workload that fails (for example because the broker
# does not implement something yet) is reported as "n/a (reason)" and the others still run.
#
# Environment overrides: RUNNEL (binary), BENCH_RUNS, BENCH_OUT, BENCH_DIR (data/temp dir, on
# the data disk), RUNNEL_PORT, RUNNEL_ADMIN (host:port of the admin HTTP listener), REDIS_PORT,
# IPERF_PORT, BENCH_SKIP (space-separated workload names to skip, e.g. "footprint fio"),
# BENCH_ONLY (space-separated workload names to run, nothing else, e.g. "txn_overhead"),
# TXN_INTERVAL_MS (txn_overhead: transaction length, default 100), CLEANER_COMM (compaction:
# pattern matching the log cleaner threads' names in /proc/PID/task/*/comm, default "clean"),
# COMPACTION_PARTS (compaction: which of "throughput latency memory" to run), CHURN_RATE and
# CHURN_KEYS (compaction latency: keyed records/s written to the other topic, 20000, and keys),
# CLEANER_SETS (compaction latency: extra "k=v ..." broker settings of both modes, e.g.
# "log.cleaner.io.max.bytes.per.second=10485760").
# Workloads: iperf fio produce durable latency consume footprint txn_overhead compaction
# cluster (bench/cluster.sh: 3 brokers + etcd; CLUSTER_PORT, CLUSTER_ADMIN, CLUSTER_ETCD)
# tls (bench/tls.sh: PLAINTEXT, SSL and SASL_PLAINTEXT listeners on one broker; TLS_PORT,
# SASL_PORT).
set -uo pipefail

MODE=${1:-full}
case $MODE in full | quick) ;; *)
	echo "usage: bench/run.sh [quick]" >&2
	exit 2
	;;
esac

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNNEL=${RUNNEL:-$ROOT/build/runnel}
OUT=${BENCH_OUT:-$ROOT/bench/out}
RAW=$OUT/raw
WORK=${BENCH_DIR:-$ROOT/bench/tmp}
RUNNEL_PORT=${RUNNEL_PORT:-19092}
RUNNEL_ADMIN=${RUNNEL_ADMIN:-127.0.0.1:19644}
REDIS_PORT=${REDIS_PORT:-16379}
IPERF_PORT=${IPERF_PORT:-15201}
SKIP=" ${BENCH_SKIP:-} "
ONLY=" ${BENCH_ONLY:-} "
TXN_INTERVAL_MS=${TXN_INTERVAL_MS:-100}
CLEANER_COMM=${CLEANER_COMM:-clean}
COMPACTION_PARTS=${COMPACTION_PARTS:-throughput latency memory}
CLEANER_SETS=${CLEANER_SETS:-}
CLK_TCK=$(getconf CLK_TCK)

# Sizes of each workload: full follows docs/performance.md §4; quick only proves the plumbing.
if [ "$MODE" = quick ]; then
	RUNS=${BENCH_RUNS:-1}
	N100=200000 N1K=50000 REDIS_N100=100000 REDIS_N1K=50000
	LAT_SECS=2 CONSUME_N=100000 TOPICS_10K=100 TAIL_RECORDS=20000
	IPERF_SECS=2 FIO_SIZE=256m
	# Enough for a few 100 ms transactions per run even at ~600k records/s.
	TXN_N=300000
	CLEAN_N=500000 CLEAN_KEYS=10000 CHURN_PREFILL=200000 MEM_KEYS=1000000
	MEM_BUF=8388608
else
	RUNS=${BENCH_RUNS:-3}
	N100=10000000 N1K=3000000 REDIS_N100=2000000 REDIS_N1K=1000000
	LAT_SECS=30 CONSUME_N=4194304 TOPICS_10K=1000 TAIL_RECORDS=1048576
	IPERF_SECS=5 FIO_SIZE=2g
	TXN_N=$N1K
	CLEAN_N=5000000 CLEAN_KEYS=100000 CHURN_PREFILL=2000000 MEM_KEYS=10000000
	MEM_BUF=67108864
fi
CHURN_RATE=${CHURN_RATE:-20000} CHURN_KEYS=${CHURN_KEYS:-10000}
# Every bench command gets a bounded delivery timeout so a stuck broker cannot hang the script.
CLIENT_X=(-X message.timeout.ms=60000)
STEP_TIMEOUT=900

mkdir -p "$RAW" "$WORK"
TSV=$OUT/results.tsv
printf 'section\tworkload\tsystem\tmetric\tunit\trun\tvalue\tload1\tbusy_cores\tnote\n' >"$TSV"
declare -a PIDS=()
CUR_LOAD=- CUR_BUSY=-

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# Before each run: load1 (as the issue asks) and the cores other processes kept busy over a
# short window. load1 also counts this script's own previous run, which decays over minutes, so
# the busy-cores figure is what flags a run disturbed by other work.
BUSY_WINDOW=1
[ "$MODE" = quick ] && BUSY_WINDOW=0.3
cpu_jiffies() { awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat; }
pre_run() {
	local b0 i0 b1 i1
	read -r b0 i0 < <(cpu_jiffies)
	sleep "$BUSY_WINDOW"
	read -r b1 i1 < <(cpu_jiffies)
	CUR_LOAD=$(cut -d' ' -f1 /proc/loadavg)
	CUR_BUSY=$(python3 -c "t=($b1-$b0)+($i1-$i0); print(round(($b1-$b0)/t*$(nproc), 2) if t else 0)")
}
# record SECTION WORKLOAD SYSTEM METRIC UNIT RUN VALUE [NOTE]
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" \
	"$7" "$CUR_LOAD" "$CUR_BUSY" "${8:-}" >>"$TSV"; }
# na SECTION WORKLOAD SYSTEM REASON: the whole point could not be measured.
na() {
	log "n/a: $2 on $3: $4"
	printf '%s\t%s\t%s\t-\t-\t-\tn/a\t-\t-\t%s\n' "$1" "$2" "$3" "$4" >>"$TSV"
}
skipped() { [[ $SKIP == *" $1 "* || ($ONLY =~ [^\ ] && $ONLY != *" $1 "*) ]]; }
now_ns() { date +%s%N; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }
# The last line of a log file, for an n/a reason.
why() { tail -n 1 "$1" 2>/dev/null | tr '\t' ' ' | cut -c1-200; }

stop_pid() {
	local pid=$1 sig=${2:-TERM}
	[ -n "$pid" ] || return 0
	kill -"$sig" "$pid" 2>/dev/null || return 0
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}
cleanup() {
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# Servers under test. Each start function sets <NAME>_PID and <NAME>_BOOT or returns non-zero.

# probe_ready PORT: waits (1 ms steps, 15 s at most) until the port accepts, then sends one
# Metadata request through a fresh client. librdkafka itself waits about 1 s before retrying a
# refused connection, which would swamp start-up times; a client that connects on the first try
# adds only its own start (PROBE_MS, measured against a running broker and reported).
probe_ready() {
	local deadline=$(($(date +%s) + 15))
	until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.001
	done
	"$RUNNEL" topic list -b "127.0.0.1:$1" --timeout-ms 15000 >/dev/null 2>>"$RAW/probe.log"
}
# probe_cost: how long probe_ready takes against a broker that is already up.
probe_cost() {
	local t0
	t0=$(now_ns)
	probe_ready "$1"
	PROBE_MS=$((($(now_ns) - t0) / 1000000))
}

# runnel_start DATADIR [--set k=v ...]: starts the broker and waits for Metadata to answer.
# Sets RUNNEL_PID and READY_MS (exec to first successful Metadata).
runnel_start() {
	local dir=$1
	shift
	[ -x "$RUNNEL" ] || {
		REASON="no binary at $RUNNEL"
		return 1
	}
	mkdir -p "$dir"
	local t0
	t0=$(now_ns)
	"$RUNNEL" serve --set "log.dirs=$dir" \
		--set "listeners=PLAINTEXT://127.0.0.1:$RUNNEL_PORT" \
		--set "admin.listener=$RUNNEL_ADMIN" "$@" >>"$RAW/runnel-serve.log" 2>&1 &
	RUNNEL_PID=$!
	PIDS+=("$RUNNEL_PID")
	if ! probe_ready "$RUNNEL_PORT" || ! kill -0 "$RUNNEL_PID" 2>/dev/null; then
		REASON="broker not ready: $(why "$RAW/runnel-serve.log")"
		stop_pid "$RUNNEL_PID" KILL
		RUNNEL_PID=
		return 1
	fi
	READY_MS=$((($(now_ns) - t0) / 1000000))
	RUNNEL_BOOT=127.0.0.1:$RUNNEL_PORT
	# The broker's own "started in N ms" log line, if it prints one: a second opinion.
	SELF_MS=$(grep -o 'started in [0-9.]* ms' "$RAW/runnel-serve.log" | tail -n 1 | cut -d' ' -f3)
}
runnel_stop() {
	stop_pid "${RUNNEL_PID:-}"
	RUNNEL_PID=
}

# mock_start: one mock broker with the topics every mock workload uses pre-created (the mock
# has no CreateTopics, and auto-created topics get 4 partitions).
mock_start() {
	local log=$RAW/mock.log
	: >"$log"
	"$RUNNEL" mock -t b-1p:1 -t b-16p:16 -t lat:1 -t durlat:1 >"$log" 2>&1 &
	MOCK_PID=$!
	PIDS+=("$MOCK_PID")
	for _ in $(seq 50); do
		MOCK_BOOT=$(sed -n 's/^mock cluster bootstrap: //p' "$log")
		[ -n "$MOCK_BOOT" ] && return 0
		sleep 0.1
	done
	REASON="mock did not start: $(why "$log")"
	return 1
}

# redis_start FSYNC (everysec|always): a fresh AOF-backed redis-server.
redis_start() {
	local dir=$WORK/redis-$1
	rm -rf "$dir" && mkdir -p "$dir"
	redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$dir" --appendonly yes \
		--appendfsync "$1" --save '' --daemonize no --protected-mode yes \
		>"$RAW/redis-$1.log" 2>&1 &
	REDIS_PID=$!
	PIDS+=("$REDIS_PID")
	for _ in $(seq 50); do
		redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	REASON="redis-server did not start: $(why "$RAW/redis-$1.log")"
	return 1
}
redis_stop() {
	stop_pid "${REDIS_PID:-}"
	REDIS_PID=
}

# ---------------------------------------------------------------------------------------------
# Measurement primitives.

# bench_produce SYSTEM SERVER_PID RAWNAME runnel-bench-args...: runs `runnel bench produce
# --json`, records throughput, latency and the server's CPU. Returns non-zero on failure.
bench_produce() {
	local sys=$1 spid=$2 name=$3 sec=$4 wl=$5 run=$6
	shift 6
	local f=$RAW/$name.json c0 c1
	pre_run
	c0=$(cpu_ticks "$spid")
	timeout -k 10 "$STEP_TIMEOUT" "$RUNNEL" bench produce "${CLIENT_X[@]}" --json "$@" \
		>"$f" 2>"$RAW/$name.log"
	local rc=$?
	c1=$(cpu_ticks "$spid")
	if [ $rc -ne 0 ] || ! json "$f" 'd["records"]' >/dev/null 2>&1; then
		REASON="bench produce failed (rc $rc): $(why "$RAW/$name.log")"
		return 1
	fi
	local recs bytes cpu
	recs=$(json "$f" 'd["records"]')
	bytes=$(json "$f" 'd["records"] * d["size"]')
	cpu=$(python3 -c "print(($c1 - $c0) / $CLK_TCK)")
	record "$sec" "$wl" "$sys" msgs_per_sec msg/s "$run" "$(json "$f" 'd["msgs_per_sec"]')"
	record "$sec" "$wl" "$sys" mb_per_sec MB/s "$run" "$(json "$f" 'd["mb_per_sec"]')"
	for p in p50 p99 p999; do
		record "$sec" "$wl" "$sys" "lat_$p" us "$run" "$(json "$f" "d['lat_us']['$p']")"
	done
	record "$sec" "$wl" "$sys" server_cpu_per_M_msgs core-s "$run" \
		"$(python3 -c "print(round($cpu / ($recs / 1e6), 4))")"
	record "$sec" "$wl" "$sys" server_cpu_per_GB core-s "$run" \
		"$(python3 -c "print(round($cpu / ($bytes / 1e9), 4))")"
	log "  $sys $wl run $run: $(json "$f" 'd["msgs_per_sec"]') msg/s, $(json "$f" 'd["mb_per_sec"]') MB/s, p99 $(json "$f" 'd["lat_us"]["p99"]') us, server ${cpu}s CPU (load1 $CUR_LOAD, busy $CUR_BUSY)"
}

# redis_xadd SECTION WORKLOAD RUN SIZE COUNT: redis-benchmark -P 100 XADD of SIZE-byte values.
redis_xadd() {
	local sec=$1 wl=$2 run=$3 size=$4 n=$5 name="redis-$2-r$3" payload c0 c1
	payload=$(head -c "$size" /dev/zero | tr '\0' x)
	redis-cli -p "$REDIS_PORT" del rnbench >/dev/null
	pre_run
	c0=$(cpu_ticks "$REDIS_PID")
	timeout -k 10 "$STEP_TIMEOUT" redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -c 1 -P 100 \
		-n "$n" -q XADD rnbench '*' v "$payload" >"$RAW/$name.log" 2>&1
	c1=$(cpu_ticks "$REDIS_PID")
	local rps
	rps=$(tr '\r' '\n' <"$RAW/$name.log" | grep -o '[0-9.]* requests per second' | tail -n 1 |
		cut -d' ' -f1)
	[ -n "$rps" ] || {
		REASON="redis-benchmark failed: $(why "$RAW/$name.log")"
		return 1
	}
	local cpu
	cpu=$(python3 -c "print(($c1 - $c0) / $CLK_TCK)")
	record "$sec" "$wl" redis msgs_per_sec msg/s "$run" "$rps"
	record "$sec" "$wl" redis mb_per_sec MB/s "$run" "$(python3 -c "print(round($rps * $size / 1e6, 3))")"
	record "$sec" "$wl" redis server_cpu_per_M_msgs core-s "$run" \
		"$(python3 -c "print(round($cpu / ($n / 1e6), 4))")"
	record "$sec" "$wl" redis server_cpu_per_GB core-s "$run" \
		"$(python3 -c "print(round($cpu / ($n * $size / 1e9), 4))")"
	redis-cli -p "$REDIS_PORT" del rnbench >/dev/null
	log "  redis $wl run $run: $rps msg/s (load1 $CUR_LOAD, busy $CUR_BUSY)"
}

# ---------------------------------------------------------------------------------------------
# Workloads. Each is independent: it starts what it needs and reports n/a on failure.

# Throughput matrix: 100 B and 1 KiB, 1 and 16 partitions, acks=1 (or acks=all with a broker
# that fsyncs every message when DURABLE=1).
throughput_runnel() {
	local sec=$1 durable=$2 wl size n parts
	local sets=()
	[ "$durable" = 1 ] && sets=(--set log.flush.interval.messages=1)
	local acks=1
	[ "$durable" = 1 ] && acks=all
	local dir=$WORK/runnel-$sec
	rm -rf "$dir"
	if ! runnel_start "$dir" "${sets[@]}"; then
		for wl in 100B-1p 100B-16p 1KiB-1p 1KiB-16p; do na "$sec" "$wl" runnel "$REASON"; done
		return
	fi
	for wl in 100B-1p 100B-16p 1KiB-1p 1KiB-16p; do
		size=100 n=$N100
		[[ $wl == 1KiB* ]] && size=1024 n=$N1K
		parts=1
		[[ $wl == *16p ]] && parts=16
		for run in $(seq "$RUNS"); do
			local topic=$sec-$wl-r$run
			if ! bench_produce runnel "$RUNNEL_PID" "runnel-$sec-$wl-r$run" "$sec" "$wl" \
				"$run" -b "$RUNNEL_BOOT" -t "$topic" --partitions "$parts" -s "$size" \
				-c "$n" -a "$acks"; then
				na "$sec" "$wl" runnel "$REASON"
				break
			fi
			"$RUNNEL" topic delete "$topic" -b "$RUNNEL_BOOT" >/dev/null 2>&1
		done
	done
	runnel_stop
}

throughput_mock() {
	local sec=$1 wl size n topic
	if ! mock_start; then
		for wl in 100B-1p 100B-16p 1KiB-1p 1KiB-16p; do na "$sec" "$wl" mock "$REASON"; done
		return
	fi
	for wl in 100B-1p 100B-16p 1KiB-1p 1KiB-16p; do
		size=100 n=$N100 topic=b-1p
		[[ $wl == 1KiB* ]] && size=1024 n=$N1K
		[[ $wl == *16p ]] && topic=b-16p
		for run in $(seq "$RUNS"); do
			bench_produce mock "$MOCK_PID" "mock-$sec-$wl-r$run" "$sec" "$wl" "$run" \
				-b "$MOCK_BOOT" -t "$topic" -s "$size" -c "$n" -a 1 ||
				{
					na "$sec" "$wl" mock "$REASON"
					break
				}
		done
	done
	stop_pid "$MOCK_PID"
}

throughput_redis() {
	local sec=$1 fsync=$2
	if ! redis_start "$fsync"; then
		na "$sec" 100B-1p redis "$REASON"
		na "$sec" 1KiB-1p redis "$REASON"
		return
	fi
	for run in $(seq "$RUNS"); do
		redis_xadd "$sec" 100B-1p "$run" 100 "$REDIS_N100" || {
			na "$sec" 100B-1p redis "$REASON"
			break
		}
	done
	for run in $(seq "$RUNS"); do
		redis_xadd "$sec" 1KiB-1p "$run" 1024 "$REDIS_N1K" || {
			na "$sec" 1KiB-1p redis "$REASON"
			break
		}
	done
	redis_stop
}

wl_produce() {
	log "produce throughput, acks=1 (N100=$N100, N1K=$N1K, runs=$RUNS)"
	throughput_runnel produce 0
	throughput_mock produce
	throughput_redis produce everysec
}

wl_durable() {
	log "durable produce: log.flush.interval.messages=1, acks=all"
	throughput_runnel durable 1
	throughput_redis durable always
}

# Latency at a fixed rate: 10k/s 100 B acks=all linger 0 (Runnel default durability and mock),
# and 50k/s 1 KiB against a broker that fsyncs before acking.
latency_point() {
	local sys=$1 spid=$2 boot=$3 wl=$4 topic=$5 size=$6 rate=$7 parts_arg=("${@:8}")
	local n=$((rate * LAT_SECS))
	for run in $(seq "$RUNS"); do
		bench_produce "$sys" "$spid" "$sys-latency-$wl-r$run" latency "$wl" "$run" \
			-b "$boot" -t "$topic" "${parts_arg[@]}" -s "$size" -c "$n" -r "$rate" -a all \
			--linger-ms 0 || {
			na latency "$wl" "$sys" "$REASON"
			return 1
		}
	done
}

wl_latency() {
	log "latency: 10k/s 100 B acks=all linger 0; 50k/s 1 KiB durable ($LAT_SECS s per run)"
	if mock_start; then
		latency_point mock "$MOCK_PID" "$MOCK_BOOT" 10k-100B lat 100 10000
		latency_point mock "$MOCK_PID" "$MOCK_BOOT" 50k-1KiB durlat 1024 50000
		stop_pid "$MOCK_PID"
	else
		na latency 10k-100B mock "$REASON"
	fi
	local dir=$WORK/runnel-latency
	rm -rf "$dir"
	if runnel_start "$dir"; then
		latency_point runnel "$RUNNEL_PID" "$RUNNEL_BOOT" 10k-100B lat 100 10000 --partitions 1
		runnel_stop
	else
		na latency 10k-100B runnel "$REASON"
	fi
	rm -rf "$dir"
	if runnel_start "$dir" --set log.flush.interval.messages=1; then
		latency_point runnel "$RUNNEL_PID" "$RUNNEL_BOOT" 50k-1KiB durlat 1024 50000 \
			--partitions 1
		runnel_stop
	else
		na latency 50k-1KiB runnel "$REASON"
	fi
}

# Catch-up read of CONSUME_N x 1 KiB from one partition whose data is in the page cache.
wl_consume() {
	log "consume: $CONSUME_N x 1 KiB from page cache"
	na consume 4GiB-1p mock "the mock keeps only the last 5 MiB per partition"
	local dir=$WORK/runnel-consume
	rm -rf "$dir"
	if ! runnel_start "$dir"; then
		na consume 4GiB-1p runnel "$REASON"
		return
	fi
	pre_run
	if ! timeout -k 10 "$STEP_TIMEOUT" "$RUNNEL" bench produce "${CLIENT_X[@]}" -b "$RUNNEL_BOOT" \
		-t readback --partitions 1 -s 1024 -c "$CONSUME_N" -a 1 --json \
		>"$RAW/runnel-consume-fill.json" 2>"$RAW/runnel-consume-fill.log"; then
		na consume 4GiB-1p runnel "fill failed: $(why "$RAW/runnel-consume-fill.log")"
		runnel_stop
		return
	fi
	for run in $(seq "$RUNS"); do
		local f=$RAW/runnel-consume-r$run.json c0 c1
		pre_run
		c0=$(cpu_ticks "$RUNNEL_PID")
		timeout -k 10 "$STEP_TIMEOUT" "$RUNNEL" bench consume -b "$RUNNEL_BOOT" -t readback \
			-c "$CONSUME_N" -X fetch.max.bytes=52428800 \
			-X max.partition.fetch.bytes=10485760 --json >"$f" \
			2>"$RAW/runnel-consume-r$run.log"
		local rc=$?
		c1=$(cpu_ticks "$RUNNEL_PID")
		if [ $rc -ne 0 ]; then
			na consume 4GiB-1p runnel "bench consume failed: $(why "$RAW/runnel-consume-r$run.log")"
			break
		fi
		record consume 4GiB-1p runnel msgs_per_sec msg/s "$run" "$(json "$f" 'd["msgs_per_sec"]')"
		record consume 4GiB-1p runnel mb_per_sec MB/s "$run" "$(json "$f" 'd["mb_per_sec"]')"
		record consume 4GiB-1p runnel server_cpu_per_GB core-s "$run" \
			"$(python3 -c "print(round(($c1 - $c0) / $CLK_TCK / ($(json "$f" 'd["bytes"]') / 1e9), 4))")"
		log "  runnel consume run $run: $(json "$f" 'd["mb_per_sec"]') MB/s"
	done
	runnel_stop
}

# Idle RSS, RSS with TOPICS_10K x 10 partitions, start-up, clean restart, SIGKILL recovery.
footprint_partitions() {
	local dir=$1 before=$2 n=$TOPICS_10K
	log "  creating $n topics x 10 partitions"
	seq -f 'fp%04g' 0 $((n - 1)) | xargs -P 4 -I{} "$RUNNEL" topic create {} \
		-b "$RUNNEL_BOOT" --partitions 10 --if-not-exists >/dev/null 2>"$RAW/footprint-create.log"
	local have
	have=$("$RUNNEL" topic list -b "$RUNNEL_BOOT" 2>/dev/null | grep -c '^fp')
	if [ "$have" -lt "$n" ]; then
		na footprint rss_10k_partitions runnel "only $have of $n topics created: $(why "$RAW/footprint-create.log")"
		return 1
	fi
	# Ten keyed records per topic: most of the partitions get a segment, as in a real cluster.
	seq -f 'fp%04g' 0 $((n - 1)) | xargs -P 4 -I{} sh -c \
		'seq 0 9 | sed "s/^/k/;s/$/:v/" | "$1" produce "$2" -b "$3" -K : -a 1' _ "$RUNNEL" {} \
		"$RUNNEL_BOOT" 2>"$RAW/footprint-produce.log" >/dev/null
	sleep 2
	local after
	after=$(rss_kib "$RUNNEL_PID")
	record footprint rss_10k_partitions runnel rss KiB 1 "$after" "$n topics x 10 partitions"
	record footprint rss_10k_partitions runnel rss_per_partition KiB 1 \
		"$(python3 -c "print(round(($after - $before) / ($n * 10), 2))")"
	record footprint rss_10k_partitions runnel fds count 1 "$(ls "/proc/$RUNNEL_PID/fd" | wc -l)"
}

wl_footprint() {
	log "footprint: idle RSS, 10k partitions, start-up, restart, recovery"
	local dir=$WORK/runnel-footprint
	rm -rf "$dir"
	pre_run
	if ! runnel_start "$dir"; then
		na footprint all runnel "$REASON"
		return
	fi
	probe_cost "$RUNNEL_PORT"
	record footprint startup runnel startup_empty ms 1 "$READY_MS" "exec to first Metadata"
	record footprint startup runnel probe_client_cost ms 1 "$PROBE_MS" \
		"the same probe against a running broker; included above"
	[ -n "$SELF_MS" ] && record footprint startup runnel startup_self_reported ms 1 "$SELF_MS"
	sleep 1
	local idle
	idle=$(rss_kib "$RUNNEL_PID")
	record footprint idle runnel idle_rss KiB 1 "$idle"
	if mock_start; then
		sleep 1
		record footprint idle mock idle_rss KiB 1 "$(rss_kib "$MOCK_PID")" "mock + client handle"
		stop_pid "$MOCK_PID"
	fi
	if footprint_partitions "$dir" "$idle"; then
		runnel_stop
		pre_run
		if runnel_start "$dir"; then
			record footprint restart_10k runnel restart ms 1 "$READY_MS" "clean stop, $TOPICS_10K x 10 partitions"
			[ -n "$SELF_MS" ] &&
				record footprint restart_10k runnel restart_self_reported ms 1 "$SELF_MS"
		else
			na footprint restart_10k runnel "$REASON"
		fi
	fi
	runnel_stop
	footprint_recovery
}

# Writes TAIL_RECORDS x 1 KiB without any flush, SIGKILLs the broker and times the restart.
footprint_recovery() {
	local dir=$WORK/runnel-recovery
	rm -rf "$dir"
	if ! runnel_start "$dir"; then
		na footprint recovery runnel "$REASON"
		return
	fi
	if ! timeout -k 10 "$STEP_TIMEOUT" "$RUNNEL" bench produce "${CLIENT_X[@]}" -b "$RUNNEL_BOOT" \
		-t tail --partitions 1 -s 1024 -c "$TAIL_RECORDS" -a 1 --json \
		>"$RAW/recovery-fill.json" 2>"$RAW/recovery-fill.log"; then
		na footprint recovery runnel "fill failed: $(why "$RAW/recovery-fill.log")"
		runnel_stop
		return
	fi
	kill -KILL "$RUNNEL_PID"
	wait "$RUNNEL_PID" 2>/dev/null
	RUNNEL_PID=
	pre_run
	if runnel_start "$dir"; then
		record footprint recovery runnel recovery ms 1 "$READY_MS" \
			"SIGKILL with $((TAIL_RECORDS / 1024)) MiB unflushed"
		[ -n "$SELF_MS" ] &&
			record footprint recovery runnel recovery_self_reported ms 1 "$SELF_MS"
		# Ready must also mean readable to the end: every record must come back.
		local got
		got=$(timeout 120 "$RUNNEL" bench consume -b "$RUNNEL_BOOT" -t tail -c "$TAIL_RECORDS" \
			--timeout-ms 3000 --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["records"])' 2>/dev/null)
		record footprint recovery runnel records_after_recovery count 1 "${got:-0}" \
			"of $TAIL_RECORDS written"
	else
		na footprint recovery runnel "$REASON"
	fi
	runnel_stop
}

# Transactions overhead (issue 4): one broker (default durability), 1 KiB records, 1 partition,
# acks=all, TXN_N records per run in three modes: plain at-least-once, idempotent, and
# transactional with a commit every TXN_INTERVAL_MS (the producer blocks in each commit, which
# flushes its queue and then waits for EndTxn, as Kafka's ProducerPerformance does). The modes
# alternate run by run (a,b,c,a,b,c,...) so that drift on a shared machine (other jobs, page
# cache, segment rolls) hits each of them alike; report.py takes medians and the per-run ratios.
wl_txn_overhead() {
	local sec=txn modes=(plain idempotent transactional) mode run
	local -A dead=()
	log "transactions overhead: $TXN_N x 1 KiB, 1 partition, acks=all; plain, idempotent," \
		"transactional (commit every $TXN_INTERVAL_MS ms), interleaved, runs=$RUNS"
	local dir=$WORK/runnel-txn
	rm -rf "$dir"
	if ! runnel_start "$dir"; then
		for mode in "${modes[@]}"; do na "$sec" "1KiB-1p-$mode" runnel "$REASON"; done
		return
	fi
	for run in $(seq "$RUNS"); do
		for mode in "${modes[@]}"; do
			[ -n "${dead[$mode]:-}" ] && continue
			local wl=1KiB-1p-$mode name=runnel-txn-$mode-r$run topic=txn-$mode-r$run
			local extra=()
			case $mode in
			idempotent) extra=(--idempotence) ;;
			transactional)
				extra=(--transactional-id "bench-txn-r$run"
					--txn-interval-ms "$TXN_INTERVAL_MS")
				;;
			esac
			if ! bench_produce runnel "$RUNNEL_PID" "$name" "$sec" "$wl" "$run" \
				-b "$RUNNEL_BOOT" -t "$topic" --partitions 1 -s 1024 -c "$TXN_N" \
				-a all "${extra[@]}"; then
				na "$sec" "$wl" runnel "$REASON"
				dead[$mode]=1
				continue
			fi
			if [ "$mode" = transactional ]; then
				local f=$RAW/$name.json
				record "$sec" "$wl" runnel txns count "$run" "$(json "$f" 'd["txns"]')"
				record "$sec" "$wl" runnel txns_per_sec txn/s "$run" \
					"$(json "$f" 'round(d["txns"] / d["seconds"], 2)')"
				# commit = flush of the client's queue + EndTxn; endtxn = after the flush.
				for p in p50 p99 max; do
					record "$sec" "$wl" runnel "commit_$p" ms "$run" \
						"$(json "$f" "round(d['commit_us']['$p'] / 1000, 2)")"
					record "$sec" "$wl" runnel "endtxn_$p" ms "$run" \
						"$(json "$f" "round(d['endtxn_us']['$p'] / 1000, 3)")"
				done
				log "    $(json "$f" 'd["txns"]') commits, p50 $(json "$f" 'd["commit_us"]["p50"]') us, EndTxn p50 $(json "$f" 'd["endtxn_us"]["p50"]') us"
			fi
			# Each run writes TXN_N KiB: dropping the topic keeps the disk bounded.
			"$RUNNEL" topic delete "$topic" -b "$RUNNEL_BOOT" >/dev/null 2>&1
		done
	done
	runnel_stop
}

# Compaction (issue 7). Keyed records come from bench/keyed_produce.py (confluent-kafka): runnel
# bench produce sends no keys, and a compacted topic refuses keyless records.
#   throughput  CLEAN_N x 100 B over CLEAN_KEYS keys into a compacted topic with the cleaner
#               off, then a restart with it on: MB/s of dirty log (closed segments) cleaned,
#               from the broker's exec to the last change of the partition's size, and the
#               CPU of the cleaner threads (CLEANER_COMM) per GB cleaned;
#   latency     10k/s 100 B acks=all linger 0 on one topic while another compacted topic gets
#               CHURN_RATE keyed records/s on top of a CHURN_PREFILL backlog, with the cleaner
#               off and on (modes alternate run by run); the cleaner's CPU in the window shows
#               it was working;
#   memory      MEM_KEYS distinct keys with log.cleaner.dedupe.buffer.size=MEM_BUF (several
#               passes): the broker's peak RSS while cleaning minus its idle RSS on the same data
#               with the cleaner off, against the configured buffers.
# Debian's interpreter: the clients (python3-confluent-kafka) live there, as for tests/e2e.
KEYED=(/usr/bin/python3 "$ROOT/bench/keyed_produce.py")

# part_bytes DIR TOPIC [cleanable]: bytes of the partition's .log files (cleanable: all but
# the newest, the active segment the cleaner never touches).
part_bytes() {
	local d=$1/$2-0
	if [ "${3:-}" = cleanable ]; then
		ls "$d"/*.log 2>/dev/null | sort | head -n -1 | xargs -r stat -c %s |
			awk '{s += $1} END {print s + 0}'
	else
		stat -c %s "$d"/*.log 2>/dev/null | awk '{s += $1} END {print s + 0}'
	fi
}
# task_ticks PID: one line per thread, in creation (tid) order: "index comm ticks".
task_ticks() {
	local t i=0
	for t in $(ls /proc/"$1"/task 2>/dev/null | sort -n); do
		printf '%s %s %s\n' "$i" "$(tr ' ' _ <"/proc/$1/task/$t/comm" 2>/dev/null)" \
			"$(awk '{print $14 + $15}' "/proc/$1/task/$t/stat" 2>/dev/null || echo 0)"
		i=$((i + 1))
	done
}
# cleaner_ticks PID: utime + stime of the cleaner threads: those whose name matches
# CLEANER_COMM, else the thread at CLEANER_TASK_IDX (found by compaction_throughput as the
# busiest thread of an otherwise idle broker while it cleans; same binary and settings, so the
# same creation order).
CLEANER_TASK_IDX=
cleaner_ticks() { cleaner_ticks_from <(task_ticks "$1"); }
# cleaner_ticks_from FILE: cleaner_ticks on a saved task_ticks listing.
cleaner_ticks_from() {
	awk -v pat="$CLEANER_COMM" -v idx="$CLEANER_TASK_IDX" '
		tolower($2) ~ tolower(pat) { named += $3; n++ }
		$1 == idx { byidx = $3 }
		END { print (n ? named : byidx + 0) }' "$1"
}
# busiest_task TICKS: index of the busiest thread still named like the binary (unnamed),
# leaving out the main thread (start-up and replay).
busiest_task() {
	awk '$1 > 0 && $2 == "runnel" && $3 > best { best = $3; i = $1 } END { print i }' "$1"
}
# wait_settled DIR TOPIC FROM_BYTES TIMEOUT_S [QUIET_S]: polls the partition's size every 50 ms
# until it is below FROM_BYTES (a clean swapped in) and has not changed for QUIET_S (3) s, which
# must be longer than one pass. Sets SETTLED_NS (time of the last
# change), SETTLED_BYTES and PEAK_RSS (KiB, sampled with the size). Returns 1 on timeout.
wait_settled() {
	local dir=$1 topic=$2 from=$3 deadline=$(($(date +%s) + $4)) quiet=$((${5:-3} * 1000000000))
	local last cur now r
	last=$(part_bytes "$dir" "$topic")
	SETTLED_NS=$(now_ns) PEAK_RSS=0
	while [ "$(date +%s)" -lt "$deadline" ]; do
		sleep 0.05
		r=$(rss_kib "$RUNNEL_PID")
		[ "$r" -gt "$PEAK_RSS" ] && PEAK_RSS=$r
		cur=$(part_bytes "$dir" "$topic")
		now=$(now_ns)
		if [ "$cur" != "$last" ]; then
			last=$cur SETTLED_NS=$now
		elif [ "$cur" -lt "$from" ] && [ $((now - SETTLED_NS)) -ge "$quiet" ]; then
			SETTLED_BYTES=$cur
			return 0
		fi
	done
	REASON="partition not cleaned within $4 s ($last of $from bytes left)"
	return 1
}
# keyed_fill NAME TOPIC args...: keyed_produce.py against the running broker.
keyed_fill() {
	local name=$1 topic=$2
	shift 2
	timeout -k 10 "$STEP_TIMEOUT" "${KEYED[@]}" "$RUNNEL_BOOT" "$topic" "$@" \
		>"$RAW/$name.json" 2>"$RAW/$name.log" || {
		REASON="keyed fill failed: $(why "$RAW/$name.log")"
		return 1
	}
}
# compacted_topic TOPIC SEGMENT_BYTES [--config k=v ...]
compacted_topic() {
	local t=$1 seg=$2
	shift 2
	"$RUNNEL" topic create "$t" -b "$RUNNEL_BOOT" --partitions 1 -c cleanup.policy=compact \
		-c "segment.bytes=$seg" "$@" >>"$RAW/compaction-topics.log" 2>&1 || {
		REASON="cannot create compacted topic $1: $(why "$RAW/compaction-topics.log")"
		return 1
	}
}

compaction_throughput() {
	local wl=clean-100B dir=$WORK/runnel-compaction run
	for run in $(seq "$RUNS"); do
		rm -rf "$dir"
		runnel_start "$dir" --set log.cleaner.enable=false &&
			compacted_topic cdirty 16777216 &&
			keyed_fill "compaction-fill-r$run" cdirty --count "$CLEAN_N" \
				--keys "$CLEAN_KEYS" --size 100 || {
			na compaction "$wl" runnel "$REASON"
			runnel_stop
			return
		}
		runnel_stop
		local total dirty t0 c0 c1 mark
		mark=$(wc -l <"$RAW/runnel-serve.log")
		total=$(part_bytes "$dir" cdirty)
		dirty=$(part_bytes "$dir" cdirty cleanable)
		pre_run
		t0=$(now_ns)
		runnel_start "$dir" --set log.cleaner.backoff.ms=100 || {
			na compaction "$wl" runnel "$REASON"
			return
		}
		if ! wait_settled "$dir" cdirty "$total" "$STEP_TIMEOUT"; then
			na compaction "$wl" runnel "$REASON"
			runnel_stop
			return
		fi
		# A fresh process: its cleaner threads have done nothing but this clean, so their
		# whole CPU time counts (the clean starts before the broker answers Metadata).
		local tasks=$RAW/compaction-tasks-r$run.txt
		task_ticks "$RUNNEL_PID" >"$tasks"
		local how="threads named like $CLEANER_COMM"
		if ! grep -qi -- "$CLEANER_COMM" "$tasks"; then
			CLEANER_TASK_IDX=$(busiest_task "$tasks")
			how="unnamed cleaner: the busiest unnamed thread (#$CLEANER_TASK_IDX) of the idle broker"
		fi
		c0=0
		c1=$(cleaner_ticks_from "$tasks")
		local secs cpu passes
		secs=$(python3 -c "print(($SETTLED_NS - $t0) / 1e9)")
		cpu=$(python3 -c "print(($c1 - $c0) / $CLK_TCK)")
		# The cleaner's own account of its passes over this partition (bytes read / time).
		passes=$(tail -n +"$((mark + 1))" "$RAW/runnel-serve.log" |
			grep "cleaner: cleaned .*cdirty-0" | sed -n 's/.*, \([0-9]*\) -> [0-9]* bytes in \([0-9.]*\) ms$/\1 \2/p' | tail -n 1000)
		[ -n "$passes" ] && record compaction "$wl" runnel cleaner_reported_mb_per_sec MB/s \
			"$run" "$(echo "$passes" | awk '{b += $1; t += $2} END {printf "%.1f", t ? b / 1e3 / t : 0}')" \
			"sum of bytes read / sum of pass times, from its log lines"
		record compaction "$wl" runnel dirty_mb MB "$run" \
			"$(python3 -c "print(round($dirty / 1e6, 1))")" "$CLEAN_N records, $CLEAN_KEYS keys"
		record compaction "$wl" runnel after_mb MB "$run" \
			"$(python3 -c "print(round($SETTLED_BYTES / 1e6, 2))")"
		record compaction "$wl" runnel clean_mb_per_sec MB/s "$run" \
			"$(python3 -c "print(round($dirty / 1e6 / $secs, 1))")"
		record compaction "$wl" runnel cleaner_cpu core-s "$run" "$cpu" "$how"
		record compaction "$wl" runnel cleaner_cpu_per_GB core-s "$run" \
			"$(python3 -c "print(round($cpu / ($dirty / 1e9), 3))")"
		log "  cleaned $dirty dirty bytes to $SETTLED_BYTES in $secs s, cleaner ${cpu}s CPU"
		runnel_stop
	done
}

compaction_latency() {
	local dir=$WORK/runnel-compaction-lat run mode n=$((10000 * LAT_SECS))
	local -A dead=()
	for run in $(seq "$RUNS"); do
		for mode in off on; do
			[ -n "${dead[$mode]:-}" ] && continue
			local wl=10k-100B-cleaner-$mode enable=false extra=() kv
			[ $mode = on ] && enable=true
			for kv in $CLEANER_SETS; do extra+=(--set "$kv"); done
			rm -rf "$dir"
			if ! runnel_start "$dir" --set "log.cleaner.enable=$enable" \
				--set log.cleaner.backoff.ms=100 "${extra[@]}" ||
				! compacted_topic churn 4194304 ||
				! keyed_fill "compaction-prefill-$mode-r$run" churn \
					--count "$CHURN_PREFILL" --keys "$CHURN_KEYS" --size 100; then
				na compaction "$wl" runnel "$REASON"
				dead[$mode]=1
				runnel_stop
				continue
			fi
			"${KEYED[@]}" "$RUNNEL_BOOT" churn --keys "$CHURN_KEYS" --size 100 \
				--rate "$CHURN_RATE" --seconds $((LAT_SECS + 10)) \
				>"$RAW/compaction-churn-$mode-r$run.json" \
				2>"$RAW/compaction-churn-$mode-r$run.log" &
			local churn=$! c0 c1
			PIDS+=("$churn")
			sleep 1
			c0=$(cleaner_ticks "$RUNNEL_PID")
			if ! bench_produce runnel "$RUNNEL_PID" "runnel-compaction-$mode-r$run" \
				compaction "$wl" "$run" -b "$RUNNEL_BOOT" -t lat --partitions 1 -s 100 \
				-c "$n" -r 10000 -a all --linger-ms 0; then
				na compaction "$wl" runnel "$REASON"
				dead[$mode]=1
			else
				c1=$(cleaner_ticks "$RUNNEL_PID")
				record compaction "$wl" runnel cleaner_cpu_in_window core-s "$run" \
					"$(python3 -c "print(($c1 - $c0) / $CLK_TCK)")" \
					"churn $CHURN_RATE keyed records/s on another topic"
			fi
			stop_pid "$churn"
			runnel_stop
		done
	done
}

compaction_memory() {
	local wl=memory-distinct-keys dir=$WORK/runnel-compaction-mem
	rm -rf "$dir"
	runnel_start "$dir" --set log.cleaner.enable=false &&
		compacted_topic cmem 16777216 -c min.cleanable.dirty.ratio=0.01 &&
		keyed_fill compaction-mem-fill cmem --count "$MEM_KEYS" --keys "$MEM_KEYS" \
			--size 10 || {
		na compaction "$wl" runnel "$REASON"
		runnel_stop
		return
	}
	# A second copy of every key, so that the cleaner has something to remove.
	keyed_fill compaction-mem-fill2 cmem --count "$MEM_KEYS" --keys "$MEM_KEYS" --size 10 || {
		na compaction "$wl" runnel "$REASON"
		runnel_stop
		return
	}
	runnel_stop
	local total idle io
	total=$(part_bytes "$dir" cmem)
	# Idle RSS on the same data, cleaner off.
	runnel_start "$dir" --set log.cleaner.enable=false || {
		na compaction "$wl" runnel "$REASON"
		return
	}
	sleep 2
	idle=$(rss_kib "$RUNNEL_PID")
	runnel_stop
	pre_run
	local mark
	mark=$(wc -l <"$RAW/runnel-serve.log")
	runnel_start "$dir" --set "log.cleaner.dedupe.buffer.size=$MEM_BUF" \
		--set log.cleaner.backoff.ms=100 || {
		na compaction "$wl" runnel "$REASON"
		return
	}
	# Passes over 10 M keys take seconds each, and the second copies of the keys are only
	# reached after half of them.
	if ! wait_settled "$dir" cmem "$total" "$STEP_TIMEOUT" 20; then
		na compaction "$wl" runnel "$REASON"
		runnel_stop
		return
	fi
	io=$((2 * 524288)) # log.cleaner.io.buffer.size, default
	record compaction "$wl" runnel distinct_keys count 1 "$MEM_KEYS" \
		"$((total / 1000000)) MB log, two records per key"
	record compaction "$wl" runnel dedupe_buffer KiB 1 $((MEM_BUF / 1024)) \
		"log.cleaner.dedupe.buffer.size"
	record compaction "$wl" runnel rss_idle KiB 1 "$idle" "same data, cleaner off"
	record compaction "$wl" runnel rss_peak KiB 1 "$PEAK_RSS" "sampled every 50 ms"
	record compaction "$wl" runnel rss_delta KiB 1 $((PEAK_RSS - idle))
	record compaction "$wl" runnel rss_delta_vs_buffers x 1 \
		"$(python3 -c "print(round(($PEAK_RSS - $idle) * 1024 / ($MEM_BUF + $io), 3))")" \
		"dedupe buffer + 2 x log.cleaner.io.buffer.size"
	record compaction "$wl" runnel after_mb MB 1 \
		"$(python3 -c "print(round($SETTLED_BYTES / 1e6, 1))")"
	record compaction "$wl" runnel cleaner_passes count 1 \
		"$(tail -n +"$((mark + 1))" "$RAW/runnel-serve.log" | grep -c "cleaner: cleaned .*cmem-0")" \
		"offset map full: one pass per map's worth of keys"
	log "  $MEM_KEYS keys: RSS idle $idle KiB, peak $PEAK_RSS KiB while cleaning (buffer $((MEM_BUF / 1024)) KiB)"
	runnel_stop
}

wl_compaction() {
	log "compaction: cleaner throughput ($CLEAN_N x 100 B, $CLEAN_KEYS keys), latency with and" \
		"without the cleaner ($LAT_SECS s per run), memory at $MEM_KEYS distinct keys"
	"${KEYED[0]}" -c 'import confluent_kafka' 2>/dev/null || {
		na compaction all runnel "python3-confluent-kafka missing (keyed load)"
		return
	}
	local part
	for part in $COMPACTION_PARTS; do "compaction_$part"; done
}

# Machine limits, measured in the same session.
wl_iperf() {
	log "limit: iperf3 loopback, 1 stream, $IPERF_SECS s"
	for run in $(seq "$RUNS"); do
		iperf3 -s -1 -B 127.0.0.1 -p "$IPERF_PORT" >"$RAW/iperf3-server-r$run.log" 2>&1 &
		local spid=$!
		PIDS+=("$spid")
		sleep 0.5
		pre_run
		if ! iperf3 -c 127.0.0.1 -p "$IPERF_PORT" -t "$IPERF_SECS" -J >"$RAW/iperf3-r$run.json" 2>&1; then
			na limits iperf3 limit "iperf3 failed: $(why "$RAW/iperf3-r$run.json")"
			stop_pid "$spid"
			return
		fi
		wait "$spid" 2>/dev/null
		record limits iperf3 limit gbit_per_sec Gbit/s "$run" \
			"$(json "$RAW/iperf3-r$run.json" 'round(d["end"]["sum_received"]["bits_per_second"] / 1e9, 2)')"
	done
}

wl_fio() {
	log "limit: fio buffered sequential write, fdatasync every 1 MiB, $FIO_SIZE"
	for run in $(seq "$RUNS"); do
		local d=$WORK/fio
		rm -rf "$d" && mkdir -p "$d"
		pre_run
		if ! fio --name=w --rw=write --bs=1m --size="$FIO_SIZE" --fdatasync=1 --ioengine=psync \
			--directory="$d" --output-format=json >"$RAW/fio-r$run.json" 2>"$RAW/fio-r$run.log"; then
			na limits fio limit "fio failed: $(why "$RAW/fio-r$run.log")"
			return
		fi
		record limits fio_fdatasync_1MiB limit mb_per_sec MB/s "$run" \
			"$(json "$RAW/fio-r$run.json" 'round(d["jobs"][0]["write"]["bw_bytes"] / 1e6, 1)')"
		rm -rf "$d"
	done
}

# ---------------------------------------------------------------------------------------------

log "mode $MODE, runs $RUNS, binary $RUNNEL, work dir $WORK, output $OUT"
[ -x "$RUNNEL" ] || log "warning: $RUNNEL missing; runnel and mock workloads will be n/a"
{
	echo "date: $(date -Is)"
	echo "mode: $MODE runs: $RUNS"
	echo "kernel: $(uname -r)"
	lscpu | grep -E '^(Model name|CPU\(s\)|Thread|L2|L3)'
	free -g | sed -n 2p
	df -h "$WORK" | tail -n 1
	findmnt -no SOURCE,FSTYPE,OPTIONS -T "$WORK"
	"$RUNNEL" --version 2>&1
	git -C "$ROOT" rev-parse --short HEAD 2>/dev/null
} >"$RAW/machine.txt" 2>&1

# The cluster workload (issue 8) lives in its own file, as does TLS (issue 9).
# shellcheck source=bench/cluster.sh
. "$ROOT/bench/cluster.sh"
# shellcheck source=bench/tls.sh
. "$ROOT/bench/tls.sh"

for wl in iperf fio produce durable latency consume footprint txn_overhead compaction cluster tls; do
	if skipped "$wl"; then
		log "skipping $wl (BENCH_SKIP / BENCH_ONLY)"
		continue
	fi
	pre_run
	"wl_$wl"
done

python3 "$ROOT/bench/report.py" "$TSV" "$RAW/machine.txt" >"$OUT/results.md" &&
	log "wrote $OUT/results.md" || log "report generation failed"
cat "$OUT/results.md"
