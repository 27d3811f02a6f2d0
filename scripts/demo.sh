#!/usr/bin/env bash
# demo.sh builds hearth and runs three federated nodes on 127.0.0.1 in a
# line: A (HTTP port $DEMO_PORT, default 8081), B (the next port, dials A)
# and C (the one after, dials B). DEMO_PORT=0 gives each node any free
# port. Data and logs live under $DEMO_DATA (default ./demo-data); Ctrl-C
# stops all three. It runs $HEARTH_BIN (make demo passes the binary it
# built) or builds bin/hearth itself.
set -euo pipefail
cd "$(dirname "$0")/.."

base=${DEMO_PORT:-8081}
data=${DEMO_DATA:-./demo-data}
case $base in
'' | *[!0-9]*)
	echo "DEMO_PORT must be a port number, not '$base'" >&2
	exit 2
	;;
esac
if [ "$base" != 0 ] && [ "$base" -gt 65533 ]; then
	echo "DEMO_PORT $base leaves no room for three ports" >&2
	exit 2
fi

bin=${HEARTH_BIN:-}
if [ -z "$bin" ]; then
	go build -o bin/hearth ./cmd/hearth
	bin=bin/hearth
fi
mkdir -p "$data/a" "$data/b" "$data/c"

pids=()
stop() {
	trap - INT TERM EXIT
	echo
	echo "stopping nodes..."
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	wait "${pids[@]}" 2>/dev/null || true
}
trap stop INT TERM EXIT

# start NAME HTTPPORT [PEER] starts a node and, from its ready log line,
# sets ADDR to its first libp2p address and URL to its web address.
start() {
	local name=$1 port=$2 peer=${3:-}
	local log="$data/$name.log"
	local args=(serve --data "$data/$name" --http "127.0.0.1:$port"
		--p2p /ip4/127.0.0.1/tcp/0 --p2p /ip4/127.0.0.1/udp/0/quic-v1
		--mdns=false --name "demo-$name")
	[ -n "$peer" ] && args+=(--peer "$peer")
	: >"$log"
	"$bin" "${args[@]}" 2>"$log" &
	pids+=($!)
	# Up to 30 s: a node opens its database and libp2p host in well under
	# a second, but a busy machine can take much longer.
	for _ in $(seq 1 300); do
		if line=$(grep -m1 'msg="hearth ready"' "$log"); then
			ADDR=$(sed -E 's/.* p2p=([^, ]+).*/\1/' <<<"$line")
			URL=$(sed -E 's/.* url=([^ ]+).*/\1/' <<<"$line")
			return 0
		fi
		if ! kill -0 "${pids[-1]}" 2>/dev/null; then break; fi
		sleep 0.1
	done
	echo "node $name did not start:" >&2
	tail -5 "$log" >&2
	exit 1
}

port() { if [ "$base" = 0 ]; then echo 0; else echo $((base + $1)); fi; }

start a "$(port 0)"
A=$ADDR A_URL=$URL
start b "$(port 1)" "$A"
B=$ADDR B_URL=$URL
start c "$(port 2)" "$B"
C_URL=$URL

cat <<MSG

Three Hearth nodes are running (logs in $data/*.log):
  A  $A_URL
  B  $B_URL   (peers with A)
  C  $C_URL   (peers with B)

Sign up on A and on C, create a public room on A, and join it from C:
the room's ID is the end of its address in the browser (…/r/<ID>); on C,
Browse, paste it under Room ID and Join by ID.
Press Ctrl-C to stop.
MSG
wait
