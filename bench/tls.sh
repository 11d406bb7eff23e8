#!/usr/bin/env bash
# The tls workload of bench/run.sh (issue 9): one broker with a PLAINTEXT, an SSL and a
# SASL_PLAINTEXT listener side by side, certificates made here with the openssl CLI. Sourced by
# run.sh, which provides record/na/pre_run/bench_produce/log and the sizes; run alone it runs
# just this workload through run.sh:
#
#   bench/tls.sh [quick]      = BENCH_ONLY=tls bench/run.sh [quick]
#
# Measures, on the same broker, plaintext and TLS interleaved run by run:
#   produce    TLS_N x 1 KiB, acks=1, 1 partition, over PLAINTEXT and over SSL: msgs/s, MB/s
#              and the broker's CPU (utime + stime from /proc/PID/stat) per GB;
#   consume    TLS_CONSUME_N x 1 KiB catch-up read of one partition in the page cache, over
#              both listeners; which TLS path the reads took: the transport's path as /metrics
#              shows it if it does (a "tls" series), else "user-space TLS" unless the kernel
#              offers kTLS (the "tls" TCP ULP) and the broker says it used it;
#   handshakes new TLS connections/s for TLS_RATE_SECS against the SSL listener, full
#              handshakes and resumed sessions (bench/sec_rates.py, Python's ssl module, 2
#              client processes), and the broker's CPU per connection;
#   scram      SCRAM-SHA-256 authentications/s on the SASL_PLAINTEXT listener, a new connection
#              each (bench/sec_rates.py, raw protocol), user made with `runnel user add`.
# Ports: RUNNEL_PORT (PLAINTEXT), TLS_PORT (19093, SSL), SASL_PORT (19094, SASL_PLAINTEXT).

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	BENCH_ONLY=tls exec "$(dirname "$0")/run.sh" "$@"
fi

TLS_PORT=${TLS_PORT:-19093}
SASL_PORT=${SASL_PORT:-19094}
if [ "$MODE" = quick ]; then
	TLS_N=50000 TLS_CONSUME_N=100000 TLS_RATE_SECS=2
else
	# About 1 GB per produce run and 1 GiB per consume run.
	TLS_N=1000000 TLS_CONSUME_N=1048576 TLS_RATE_SECS=10
fi
SEC_RATES=(/usr/bin/python3 "$ROOT/bench/sec_rates.py")
TLS_USER=bench TLS_PASSWORD=bench-secret

# tls_certs DIR: a CA and a server certificate for 127.0.0.1/localhost, PEM, as the security
# tests make them.
tls_certs() {
	local d=$1
	mkdir -p "$d"
	(
		cd "$d" &&
			openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 \
				-subj "/CN=Runnel Bench CA" &&
			openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
				-subj /CN=localhost &&
			printf 'basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' \
				>server.ext &&
			openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
				-out server.pem -days 30 -extfile server.ext
	) >"$RAW/tls-certs.log" 2>&1 || {
		REASON="openssl could not make certificates: $(why "$RAW/tls-certs.log")"
		return 1
	}
}

# tls_metrics: the broker's /metrics text.
tls_metrics() {
	python3 -c "
import sys, urllib.request as u
print(u.urlopen('http://%s/metrics' % sys.argv[1], timeout=5).read().decode())" "$RUNNEL_ADMIN"
}

# tls_path: which path the TLS reads took, from /metrics if it names one, else from what the
# kernel offers.
tls_path() {
	local m
	# Series names only (a label value such as a topic name must not count).
	m=$(tls_metrics 2>/dev/null | grep -v '^#' | sed 's/[{ ].*//' | grep -i 'tls')
	if echo "$m" | grep -qi 'ktls'; then
		if tls_metrics 2>/dev/null | grep -v '^#' | grep -i '^[^{ ]*ktls' | grep -q ' [1-9][0-9.e+]*$'; then
			echo "kTLS (from /metrics)"
		else
			echo "user-space TLS (from /metrics)"
		fi
	elif ! grep -qw tls /proc/sys/net/ipv4/tcp_available_ulp 2>/dev/null; then
		echo "user-space TLS (/metrics names no TLS path; the kernel offers no tls ULP, so no kTLS)"
	else
		echo "user-space TLS (/metrics names no TLS path)"
	fi
}

# tls_consume WL RUN BOOT X...: one catch-up read of secread, recorded under WL.
tls_consume() {
	local wl=$1 run=$2 boot=$3 f=$RAW/tls-$1-r$2.json c0 c1 rc
	shift 3
	pre_run
	c0=$(cpu_ticks "$RUNNEL_PID")
	timeout -k 10 "$STEP_TIMEOUT" "$RUNNEL" bench consume -b "$boot" -t secread \
		-c "$TLS_CONSUME_N" -X fetch.max.bytes=52428800 -X max.partition.fetch.bytes=10485760 \
		"$@" --json >"$f" 2>"$RAW/tls-$wl-r$run.log"
	rc=$?
	c1=$(cpu_ticks "$RUNNEL_PID")
	if [ $rc -ne 0 ] || ! json "$f" 'd["bytes"]' >/dev/null 2>&1; then
		REASON="bench consume failed (rc $rc): $(why "$RAW/tls-$wl-r$run.log")"
		return 1
	fi
	local note=""
	[[ $wl == *ssl ]] && note=$TLS_PATH
	record tls "$wl" runnel msgs_per_sec msg/s "$run" "$(json "$f" 'd["msgs_per_sec"]')"
	record tls "$wl" runnel mb_per_sec MB/s "$run" "$(json "$f" 'd["mb_per_sec"]')" "$note"
	record tls "$wl" runnel server_cpu_per_GB core-s "$run" \
		"$(python3 -c "print(round(($c1 - $c0) / $CLK_TCK / ($(json "$f" 'd["bytes"]') / 1e9), 4))")"
	log "  $wl run $run: $(json "$f" 'd["mb_per_sec"]') MB/s, server $(python3 -c "print(($c1 - $c0) / $CLK_TCK)")s CPU"
}

# tls_rate WL RUN sec_rates-args...: one sec_rates.py measurement, recorded under WL.
tls_rate() {
	local wl=$1 run=$2 f=$RAW/tls-$1-r$2.json c0 c1 rc
	shift 2
	pre_run
	c0=$(cpu_ticks "$RUNNEL_PID")
	timeout -k 10 "$STEP_TIMEOUT" "${SEC_RATES[@]}" "$@" >"$f" 2>"$RAW/tls-$wl-r$run.log"
	rc=$?
	c1=$(cpu_ticks "$RUNNEL_PID")
	if [ $rc -ne 0 ] || ! json "$f" 'd["count"]' >/dev/null 2>&1; then
		REASON="sec_rates.py failed (rc $rc): $(why "$RAW/tls-$wl-r$run.log")"
		return 1
	fi
	local n
	n=$(json "$f" 'd["count"]')
	record tls "$wl" runnel per_sec 1/s "$run" "$(json "$f" 'd["per_sec"]')" \
		"$(json "$f" 'd["detail"]'), $(json "$f" 'd["procs"]') client processes"
	record tls "$wl" runnel server_cpu_per_conn core-ms "$run" \
		"$(python3 -c "print(round(($c1 - $c0) / $CLK_TCK * 1000 / max($n, 1), 3))")"
	[[ $wl == handshake* ]] && record tls "$wl" runnel resumed_fraction x "$run" \
		"$(json "$f" 'round(d["reused"] / max(d["count"], 1), 3)')"
	log "  $wl run $run: $(json "$f" 'd["per_sec"]')/s ($n, $(json "$f" 'd["reused"]') resumed), server $(python3 -c "print(($c1 - $c0) / $CLK_TCK)")s CPU"
}

wl_tls() {
	log "tls: 1 KiB produce ($TLS_N) and consume ($TLS_CONSUME_N) over PLAINTEXT and SSL on" \
		"one broker, TLS connections/s and SCRAM-SHA-256 authentications/s ($TLS_RATE_SECS s)"
	local certs=$WORK/tls-certs dir=$WORK/runnel-tls all="produce-1KiB consume-1KiB handshakes scram"
	local w
	if ! tls_certs "$certs"; then
		for w in $all; do na tls "$w" runnel "$REASON"; done
		return
	fi
	rm -rf "$dir"
	if ! runnel_start "$dir" \
		--set "listeners=PLAINTEXT://127.0.0.1:$RUNNEL_PORT,SSL://127.0.0.1:$TLS_PORT,SASL_PLAINTEXT://127.0.0.1:$SASL_PORT" \
		--set listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT \
		--set ssl.keystore.type=PEM --set "ssl.keystore.certificate.chain=$certs/server.pem" \
		--set "ssl.keystore.key=$certs/server.key"; then
		for w in $all; do na tls "$w" runnel "$REASON"; done
		return
	fi
	local plain=$RUNNEL_BOOT tls=127.0.0.1:$TLS_PORT
	local ssl_x=(-X security.protocol=SSL -X "ssl.ca.location=$certs/ca.pem")
	local -A dead=()
	local run mode
	for run in $(seq "$RUNS"); do
		for mode in plaintext ssl; do
			w=produce-1KiB-$mode
			[ -n "${dead[$w]:-}" ] && continue
			local boot=$plain x=()
			[ $mode = ssl ] && boot=$tls x=("${ssl_x[@]}")
			if ! bench_produce runnel "$RUNNEL_PID" "tls-$w-r$run" tls "$w" "$run" "${x[@]}" \
				-b "$boot" -t "tls-$w-r$run" --partitions 1 -s 1024 -c "$TLS_N" -a 1; then
				na tls "$w" runnel "$REASON"
				dead[$w]=1
			fi
			"$RUNNEL" topic delete "tls-$w-r$run" -b "$plain" >/dev/null 2>&1
		done
	done
	if ! timeout -k 10 "$STEP_TIMEOUT" "$RUNNEL" bench produce "${CLIENT_X[@]}" -b "$plain" \
		-t secread --partitions 1 -s 1024 -c "$TLS_CONSUME_N" -a 1 --json \
		>"$RAW/tls-consume-fill.json" 2>"$RAW/tls-consume-fill.log"; then
		na tls consume-1KiB runnel "fill failed: $(why "$RAW/tls-consume-fill.log")"
	else
		# A first read over TLS, so that /metrics has seen a TLS connection read from.
		"$RUNNEL" bench consume -b "$tls" "${ssl_x[@]}" -t secread -c 1000 --json \
			>/dev/null 2>&1
		TLS_PATH=$(tls_path)
		tls_metrics >"$RAW/tls-metrics.txt" 2>&1
		log "  consume over SSL: $TLS_PATH"
		for run in $(seq "$RUNS"); do
			for mode in plaintext ssl; do
				w=consume-1KiB-$mode
				[ -n "${dead[$w]:-}" ] && continue
				local boot=$plain x=()
				[ $mode = ssl ] && boot=$tls x=("${ssl_x[@]}")
				tls_consume "$w" "$run" "$boot" "${x[@]}" || {
					na tls "$w" runnel "$REASON"
					dead[$w]=1
				}
			done
		done
	fi
	for run in $(seq "$RUNS"); do
		for mode in full resumed; do
			w=handshakes-$mode
			[ -n "${dead[$w]:-}" ] && continue
			local resume=()
			[ $mode = resumed ] && resume=(--resume)
			tls_rate "$w" "$run" handshakes "$TLS_PORT" "$certs/ca.pem" "$TLS_RATE_SECS" \
				"${resume[@]}" || {
				na tls "$w" runnel "$REASON"
				dead[$w]=1
			}
		done
	done
	if ! printf '%s\n' "$TLS_PASSWORD" | "$RUNNEL" user add "$TLS_USER" \
		--mechanism SCRAM-SHA-256 -b "$plain" >"$RAW/tls-user-add.log" 2>&1; then
		na tls scram-sha-256 runnel "runnel user add failed: $(why "$RAW/tls-user-add.log")"
	else
		for run in $(seq "$RUNS"); do
			tls_rate scram-sha-256 "$run" scram "$SASL_PORT" "$TLS_USER" "$TLS_PASSWORD" \
				"$TLS_RATE_SECS" || {
				na tls scram-sha-256 runnel "$REASON"
				break
			}
		done
	fi
	runnel_stop
}
