#!/usr/bin/env bash
# The TLS workload of bench/run.sh (issue 9): one broker with a PLAINTEXT and an SSL listener,
# measured side by side in the same run. Sourced by run.sh (record/na/pre_run/bench_produce/log
# and the sizes); run alone it runs just this workload through run.sh:
#
#   bench/tls.sh [quick]      = BENCH_ONLY=tls bench/run.sh [quick]
#
#   produce    1 KiB acks=1 into 1 partition, plaintext and TLS interleaved run by run;
#   consume    the same CONSUME_N x 1 KiB read back from page cache over each listener;
#   handshake  new TLS connections per second for HANDSHAKE_SECS, full handshakes and with
#              session resumption (bench/tls_handshake.py, Python's ssl as the client).
# The certificate is RSA 2048 (the common production choice; ECDSA would be cheaper). Which
# path a fetch takes (kTLS sendfile or user-space TLS) depends on the kernel's tls module and is
# written into the notes. Ports: RUNNEL_PORT (plaintext) and TLS_PORT (19093).

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	BENCH_ONLY=tls exec "$(dirname "$0")/run.sh" "$@"
fi

TLS_PORT=${TLS_PORT:-19093}
if [ "$MODE" = quick ]; then
	HANDSHAKE_SECS=2
else
	HANDSHAKE_SECS=10
fi

tls_certs() {
	TLS_CERTS=$WORK/tls-certs
	rm -rf "$TLS_CERTS" && mkdir -p "$TLS_CERTS" || return 1
	(
		cd "$TLS_CERTS" &&
			openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
				-subj /CN=bench-ca &&
			openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
				-subj /CN=localhost &&
			printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >san.ext &&
			openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
				-days 2 -extfile san.ext -out server.crt &&
			cat server.crt server.key >server.pem
	) >>"$RAW/tls-certs.log" 2>&1
}

tls_path_note() {
	if [ -d /sys/module/tls ]; then
		TLS_PATH="kernel tls module loaded: kTLS possible"
	else
		TLS_PATH="user-space TLS: the kernel tls module is not loaded, no kTLS"
	fi
}

# tls_consume RUN SYSTEM-SUFFIX BOOT [librdkafka -X ...]
tls_consume() {
	local run=$1 suf=$2 boot=$3
	shift 3
	local f=$RAW/tls-consume-$suf-r$run.json c0 c1
	pre_run
	c0=$(cpu_ticks "$RUNNEL_PID")
	timeout -k 10 "$STEP_TIMEOUT" "$RUNNEL" bench consume -b "$boot" -t tls-readback \
		-c "$CONSUME_N" -X fetch.max.bytes=52428800 -X max.partition.fetch.bytes=10485760 \
		"$@" --json >"$f" 2>"$RAW/tls-consume-$suf-r$run.log"
	local rc=$?
	c1=$(cpu_ticks "$RUNNEL_PID")
	if [ $rc -ne 0 ] || ! json "$f" 'd["bytes"]' >/dev/null 2>&1; then
		na tls "consume-1KiB-$suf" runnel "bench consume failed: $(why "$RAW/tls-consume-$suf-r$run.log")"
		return 1
	fi
	local note=
	[ "$suf" = tls ] && note=$TLS_PATH
	record tls "consume-1KiB-$suf" runnel msgs_per_sec msg/s "$run" "$(json "$f" 'd["msgs_per_sec"]')" "$note"
	record tls "consume-1KiB-$suf" runnel mb_per_sec MB/s "$run" "$(json "$f" 'd["mb_per_sec"]')"
	record tls "consume-1KiB-$suf" runnel server_cpu_per_GB core-s "$run" \
		"$(python3 -c "print(round(($c1 - $c0) / $CLK_TCK / ($(json "$f" 'd["bytes"]') / 1e9), 4))")"
	log "  consume over $suf run $run: $(json "$f" 'd["mb_per_sec"]') MB/s"
}

tls_handshakes() {
	local run=$1 mode
	for mode in full resume; do
		local f=$RAW/tls-handshake-$mode-r$run.json c0 c1
		pre_run
		c0=$(cpu_ticks "$RUNNEL_PID")
		if ! timeout -k 10 120 python3 "$ROOT/bench/tls_handshake.py" "127.0.0.1:$TLS_PORT" \
			"$TLS_CERTS/ca.pem" "$HANDSHAKE_SECS" "$mode" >"$f" 2>"$RAW/tls-handshake-$mode-r$run.log"; then
			na tls "handshake-$mode" runnel "tls_handshake.py failed: $(why "$RAW/tls-handshake-$mode-r$run.log")"
			continue
		fi
		c1=$(cpu_ticks "$RUNNEL_PID")
		record tls "handshake-$mode" runnel conns_per_sec conn/s "$run" "$(json "$f" 'd["conns_per_sec"]')"
		record tls "handshake-$mode" runnel resumed_pct % "$run" \
			"$(json "$f" 'round(100 * d["resumed"] / max(d["conns"], 1), 1)')"
		record tls "handshake-$mode" runnel server_cpu_ms_per_conn ms "$run" \
			"$(python3 -c "print(round(($c1 - $c0) / $CLK_TCK * 1000 / max($(json "$f" 'd["conns"]'), 1), 3))")"
		log "  handshakes ($mode) run $run: $(json "$f" 'd["conns_per_sec"]') conn/s"
	done
}

wl_tls() {
	log "tls: 1 KiB produce/consume over TLS against plaintext, new TLS connections/s"
	tls_path_note
	if ! tls_certs; then
		na tls produce-1KiB-tls runnel "openssl failed: $(why "$RAW/tls-certs.log")"
		return
	fi
	local dir=$WORK/runnel-tls
	rm -rf "$dir"
	if ! runnel_start "$dir" \
		--set "listeners=PLAINTEXT://127.0.0.1:$RUNNEL_PORT,SSL://127.0.0.1:$TLS_PORT" \
		--set "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL" \
		--set ssl.keystore.type=PEM --set "ssl.keystore.location=$TLS_CERTS/server.pem"; then
		na tls produce-1KiB-tls runnel "$REASON"
		return
	fi
	local plain=127.0.0.1:$RUNNEL_PORT tls=127.0.0.1:$TLS_PORT
	local -a TLSX=(-X security.protocol=SSL -X "ssl.ca.location=$TLS_CERTS/ca.pem")
	for run in $(seq "$RUNS"); do
		bench_produce runnel "$RUNNEL_PID" "tls-produce-plaintext-r$run" tls produce-1KiB-plaintext \
			"$run" -b "$plain" -t "tls-plain-$run" --partitions 1 -s 1024 -c "$N1K" -a 1 ||
			na tls produce-1KiB-plaintext runnel "$REASON"
		bench_produce runnel "$RUNNEL_PID" "tls-produce-tls-r$run" tls produce-1KiB-tls \
			"$run" -b "$tls" "${TLSX[@]}" -t "tls-tls-$run" --partitions 1 -s 1024 -c "$N1K" -a 1 ||
			na tls produce-1KiB-tls runnel "$REASON"
	done
	if timeout -k 10 "$STEP_TIMEOUT" "$RUNNEL" bench produce "${CLIENT_X[@]}" -b "$plain" \
		-t tls-readback --partitions 1 -s 1024 -c "$CONSUME_N" -a 1 --json \
		>"$RAW/tls-consume-fill.json" 2>"$RAW/tls-consume-fill.log"; then
		for run in $(seq "$RUNS"); do
			tls_consume "$run" plaintext "$plain"
			tls_consume "$run" tls "$tls" "${TLSX[@]}"
		done
	else
		na tls consume-1KiB-tls runnel "fill failed: $(why "$RAW/tls-consume-fill.log")"
	fi
	for run in $(seq "$RUNS"); do
		tls_handshakes "$run"
	done
	runnel_stop
}
