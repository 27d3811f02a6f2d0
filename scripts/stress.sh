#!/usr/bin/env bash
# stress.sh runs the Go test suite round after round while every core is
# kept busy by a CPU burner, so that a test which only passes on an idle
# machine fails here, for the person who wrote it, and not later in CI or
# on a colleague's busy laptop. `make test-stress` runs it.
#
# Each round is `go test -race -count=1 -cpu $STRESS_CPU -shuffle=on` over
# $STRESS_PKGS, then their fuzz targets as make test runs them (make
# test-fuzz), and the browser suite with STRESS_E2E=1. The first failing
# round stops the run and prints the failing tests and the shuffle seed.
#
#   STRESS_TIME    start no new round after this long (e.g. 20m, 2h; 0: no
#                  limit, then set STRESS_ROUNDS); default 20m
#   STRESS_ROUNDS  stop after this many passing rounds; default 0 (no limit)
#   STRESS_LOAD    CPU burners to run beside the tests; default: one per core
#   STRESS_CPU     the -cpu list (GOMAXPROCS values); default 1,2
#   STRESS_PKGS    packages; default ./...
#   STRESS_RUN     a -run pattern; default: every test
#   STRESS_FUZZ    1: run the packages' fuzz targets each round, 0: not;
#                  default 1, or 0 with STRESS_RUN (a run narrowed to some
#                  tests is not about the fuzz targets)
#   STRESS_E2E     1: also run the browser tests (make test-e2e) each round
#
# Run it under `nice` on a shared machine: the burners and the tests then
# compete with each other, not with everyone else's work.
set -euo pipefail
cd "$(dirname "$0")/.."

time_limit=${STRESS_TIME:-20m}
rounds=${STRESS_ROUNDS:-0}
load=${STRESS_LOAD:-$(nproc)}
cpus=${STRESS_CPU:-1,2}
pkgs=${STRESS_PKGS:-./...}
run=${STRESS_RUN:-}
fuzz=${STRESS_FUZZ:-$([ -n "$run" ] && echo 0 || echo 1)}
e2e=${STRESS_E2E:-0}
go=${GO:-go}

# seconds converts 90s, 20m, 2h or a bare number of seconds.
seconds() {
	case $1 in
	*h) echo $((${1%h} * 3600)) ;;
	*m) echo $((${1%m} * 60)) ;;
	*s) echo "${1%s}" ;;
	*) echo "$1" ;;
	esac
}
limit=$(seconds "$time_limit")
if [ "$limit" = 0 ] && [ "$rounds" = 0 ]; then
	echo "stress: STRESS_TIME=0 needs STRESS_ROUNDS" >&2
	exit 2
fi

logdir=$(mktemp -d "${TMPDIR:-/tmp}/hearth-stress.XXXXXX")
burners=()
stop() {
	for pid in "${burners[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait "${burners[@]}" 2>/dev/null || true
}
trap stop EXIT
trap 'exit 130' INT TERM

for _ in $(seq 1 "$load"); do
	# A shell loop with no system calls: pure CPU, no memory, no disk.
	bash -c 'while :; do :; done' &
	burners+=($!)
done

args=(-race -count=1 -cpu "$cpus" -shuffle=on -timeout 30m)
[ -n "$run" ] && args+=(-run "$run")
echo "stress: $load burner(s), go test ${args[*]} $pkgs$([ "$fuzz" = 1 ] && echo ' + make test-fuzz')$([ "$e2e" = 1 ] && echo ' + make test-e2e'), logs in $logdir"
if [ "$e2e" = 1 ]; then
	make --no-print-directory build deps-ui deps-browser >/dev/null
fi

start=$SECONDS
passed=0
while :; do
	round=$((passed + 1))
	log="$logdir/round-$round.log"
	t0=$SECONDS
	if ! "$go" test "${args[@]}" $pkgs >"$log" 2>&1; then
		echo "stress: round $round FAILED after $((SECONDS - t0))s ($passed passed before it); log: $log"
		grep -E -e '^(--- FAIL|FAIL|panic:|-test.shuffle)' -e 'DATA RACE' "$log" | head -40 || true
		exit 1
	fi
	if [ "$fuzz" = 1 ]; then
		if ! make --no-print-directory test-fuzz FUZZPKGS="$pkgs" >"$log.fuzz" 2>&1; then
			echo "stress: round $round FAILED in the fuzz targets ($passed passed before it); log: $log.fuzz"
			grep -E -A4 '^--- FAIL' "$log.fuzz" | head -40 || true
			exit 1
		fi
	fi
	if [ "$e2e" = 1 ]; then
		if ! (cd webui/app && HEARTH_BIN="$PWD/../../bin/hearth" HEARTH_E2E_REQUIRED=1 npm run --silent e2e) >"$log.e2e" 2>&1; then
			echo "stress: round $round FAILED in the browser tests ($passed passed before it); log: $log.e2e"
			grep -E '^not ok|# (fail|pass)|Error' "$log.e2e" | head -40 || true
			exit 1
		fi
	fi
	passed=$round
	echo "stress: round $round passed in $((SECONDS - t0))s"
	if [ "$rounds" != 0 ] && [ "$passed" -ge "$rounds" ]; then break; fi
	if [ "$limit" != 0 ] && [ $((SECONDS - start)) -ge "$limit" ]; then break; fi
done
echo "stress: $passed round(s) passed in a row in $((SECONDS - start))s under $load burner(s)"
