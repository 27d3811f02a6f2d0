#!/usr/bin/env bash
# bench/run.sh: everything behind `make bench`.
#
# Installs what the suite compares against:
#   - hearth, built from ./cmd/hearth into bench/.bin (skipped if it does
#     not build yet);
#   - the Socket.io 4 peer: npm ci in bench/peers/socketio (package-lock.json
#     is committed);
#   - Centrifugo v6.9.1: go install into bench/.bin.
# Then it runs the peers' end-to-end test and hearth-bench-suite, which
# runs the Go benchmarks (node, store, webui, token, p2p) and the load
# suite, and writes:
#   - $BENCH_DOC (default docs/benchmarks.md) and benchmarks-f.svg beside
#     it: the whole report, with bench/analysis.md included verbatim;
#   - $BENCH_OUT (default bench/out): results.json, gobench.txt (the Go
#     benchmarks' raw output), search.json and logs/ (server logs).
# Extra arguments go to hearth-bench-suite (e.g. -n 100,1000 -idle -1 or
# -go=false); see `go run ./bench/cmd/hearth-bench-suite -h`.
#
# Environment: BENCH_OUT, BENCH_DOC, BENCH_QUICK=1 (N=100,1000, short sweep,
# 2,000 idle connections, F at N=2,000 instead of 10,000, J to 1,000
# members, C with 1,000 users, fewer Go benchmark iterations: a few
# minutes; the report then goes to $BENCH_OUT/benchmarks.md unless
# BENCH_DOC is set, so a quick run never replaces docs/benchmarks.md).
#
# The Hearth users are signed up once (argon2id: minutes for 10,000) into
# a data directory kept in bench/.cache with their refresh tokens; every
# Hearth run starts on a fresh copy of it and signs in by refreshing.
set -euo pipefail

started=$(date +%s)
cd "$(dirname "$0")/.."
root=$PWD
bin=$root/bench/.bin
out=${BENCH_OUT:-$root/bench/out}
if [ "${BENCH_QUICK:-}" = 1 ]; then
	doc=${BENCH_DOC:-$out/benchmarks.md}
else
	doc=${BENCH_DOC:-$root/docs/benchmarks.md}
fi
centrifugo_version=v6.9.1
mkdir -p "$bin" "$out"

# Thousands of sockets on each side: raise the descriptor limit as far as
# we may (children inherit it).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

echo "== building hearth"
hearth=""
if [ -d cmd/hearth ] && go build -o "$bin/hearth" ./cmd/hearth; then
	hearth=$bin/hearth
else
	rm -f "$bin/hearth" # never benchmark a stale build
	echo "hearth does not build yet: benchmarking the peers only" >&2
fi

echo "== installing the Socket.io peer"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "node and npm are needed for the Socket.io peer" >&2
	exit 1
fi
(cd bench/peers/socketio && npm ci --no-audit --no-fund --loglevel=error)

echo "== installing centrifugo $centrifugo_version"
if [ ! -x "$bin/centrifugo" ] || [ "$(cat "$bin/centrifugo.version" 2>/dev/null)" != "$centrifugo_version" ]; then
	GOBIN=$bin go install "github.com/centrifugal/centrifugo/v6@$centrifugo_version"
	echo "$centrifugo_version" > "$bin/centrifugo.version"
fi

echo "== building the load tool"
go build -o "$bin/hearth-bench" ./bench/cmd/hearth-bench
go build -o "$bin/hearth-bench-suite" ./bench/cmd/hearth-bench-suite

echo "== end-to-end check against the real peers"
BENCH_PEERS=1 HEARTH_BIN=$hearth go test -race -count=1 ./bench/...

args=()
if [ "${BENCH_QUICK:-}" = 1 ]; then
	args+=(-quick -n 100,1000 -sweep-max 3200 -idle 2000 -big-n 2000 -big-messages 200
		-j-sizes 100,1000 -c-users 1000 -c-rooms 200 -c-duration 15s)
fi

if [ -n "$hearth" ]; then
	echo "== Hearth bench users (signed up once, then reused from bench/.cache)"
	"$bin/hearth-bench-suite" -root bench -hearth-bin "$hearth" -prepare-users "${args[@]}" "$@"
	# The clock of the run starts here: a first run on a machine signs up
	# ~10,000 users (argon2id, a few minutes) once; the report says how
	# long that took and that later runs reuse them.
	started=$(date +%s)
fi

echo "== running the suite: Go benchmarks, then the load runs"
"$bin/hearth-bench-suite" -root bench -hearth-bin "$hearth" -started "$started" \
	-out "$doc" -json "$out/results.json" -go-out "$out/gobench.txt" \
	-log-dir "$out/logs" "${args[@]}" "$@"

# Full-text search (issue #17, docs/search.md): query p99 over a million
# indexed messages, the index's size and what indexing adds to a send.
# The corpus (sent through the node: tens of minutes the first time) is
# kept in bench/.cache and reused; the section is appended to the report.
echo "== search (bench/searchbench)"
go build -o "$bin/hearth-search-bench" ./bench/cmd/hearth-search-bench
search_quick=()
[ "${BENCH_QUICK:-}" = 1 ] && search_quick=(-quick)
search_started=$(date +%s)
if "$bin/hearth-search-bench" -cache bench/.cache -json "$out/search.json" -command "make bench${BENCH_QUICK:+ (BENCH_QUICK=1)}" \
	"${search_quick[@]}" >"$out/search.md"; then
	{
		echo
		cat "$out/search.md"
		echo
		echo "This part took $(($(date +%s) - search_started)) s. How the index works: docs/search.md."
	} >>"$doc"
else
	echo "the search bench failed; the report has no section for it" >&2
	exit 1
fi

# What end-to-end encryption costs (issue #13): client encrypt and decrypt
# times with real OlmMachines, the extra bytes per send frame, and the
# node's fan-out in a plaintext and an encrypted room. It runs after the
# suite, which writes the report, and appends its section to it.
if [ -n "$hearth" ]; then
	echo "== end-to-end encryption costs (webui/app/e2ee/bench.mjs)"
	[ -d webui/app/node_modules/@matrix-org/matrix-sdk-crypto-wasm ] ||
		(cd webui/app && npm ci --no-audit --no-fund --loglevel=error)
	quick=()
	[ "${BENCH_QUICK:-}" = 1 ] && quick=(--quick)
	e2ee_started=$(date +%s)
	if (cd webui/app && HEARTH_BIN=$hearth node --experimental-websocket e2ee/bench.mjs --out "$out/e2ee.json" "${quick[@]}") >"$out/e2ee.md"; then
		{
			echo
			cat "$out/e2ee.md"
			echo
			echo "Same machine and build as above; this part took $(($(date +%s) - e2ee_started)) s. How to read it: docs/e2ee.md, \"Costs\"."
		} >>"$doc"
	else
		echo "the end-to-end encryption bench failed; the report has no section for it" >&2
		exit 1
	fi
fi
