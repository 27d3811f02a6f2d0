#!/usr/bin/env bash
# demo.sh builds hearth and runs three federated nodes on 127.0.0.1:
# A (http://127.0.0.1:8081), B (8082, dials A) and C (8083, dials B).
# Data lives under ./demo-data; Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."

go build -o bin/hearth ./cmd/hearth
mkdir -p demo-data/a demo-data/b demo-data/c

pids=()
stop() {
	trap - INT TERM EXIT
	echo
	echo "stopping nodes..."
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	wait "${pids[@]}" 2>/dev/null || true
}
trap stop INT TERM EXIT

# start NAME HTTPPORT [PEER] starts a node and sets ADDR to its first
# libp2p address, read from its ready log line.
start() {
	local name=$1 port=$2 peer=${3:-}
	local log="demo-data/$name.log"
	local args=(serve --data "demo-data/$name" --http "127.0.0.1:$port"
		--p2p /ip4/127.0.0.1/tcp/0 --p2p /ip4/127.0.0.1/udp/0/quic-v1
		--mdns=false --name "demo-$name")
	[ -n "$peer" ] && args+=(--peer "$peer")
	: >"$log"
	bin/hearth "${args[@]}" 2>"$log" &
	pids+=($!)
	for _ in $(seq 1 100); do
		if line=$(grep -m1 'msg="hearth ready"' "$log"); then
			ADDR=$(sed -E 's/.* p2p=([^, ]+).*/\1/' <<<"$line")
			return 0
		fi
		sleep 0.1
	done
	echo "node $name did not start; see $log" >&2
	exit 1
}

start a 8081
A=$ADDR
start b 8082 "$A"
B=$ADDR
start c 8083 "$B"

cat <<MSG

Three Hearth nodes are running (logs in demo-data/*.log):
  A  http://127.0.0.1:8081
  B  http://127.0.0.1:8082   (peers with A)
  C  http://127.0.0.1:8083   (peers with B)

Sign up on each, create a public room on A, and join it from C by its ID.
Press Ctrl-C to stop.
MSG
wait
