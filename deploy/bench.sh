#!/usr/bin/env bash
# make bench: the rush benchmark, (a) the rush and (b) the search storm
# during a rush (deploy/loadgen/storm.go). Starts private PostgreSQL and Redis in a
# temporary directory, the server (rate limit and proof of work off, pprof
# on a loopback port) on the bench city, the PostgreSQL row-lock baseline,
# then deploy/loadgen, which prints a table and writes docs/benchmarks.md
# and docs/bench-latency.png. Everything it started is stopped by PID at
# the end; the whole run is bounded by BENCH_TIMEOUT seconds.
#
#   deploy/bench.sh [loadgen flags...]   e.g. -clients 100 -attempts 5000
#   a small check of the storm: -attempts 2000 -storm-rate 1000 -storm-duration 3s -storm-steps 500,1000 -storm-step 2s
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
dir=$(mktemp -d /tmp/termin-bench.XXXXXX)
children=()
cleanup() {
	trap - EXIT INT TERM
	for pid in "${children[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${children[@]}"; do wait "$pid" 2>/dev/null || true; done
	"$top/deploy/stack.sh" stop "$dir" || true
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
	local p
	for p in $(shuf -i 22001-32000 -n 200); do  # below the ephemeral range
		port_is_free "$p" && { echo "$p"; return; }
	done
	echo "bench: no free port" >&2
	return 1
}
wait_port() {
	local pid=$1 port=$2
	for _ in $(seq 150); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || { echo "bench: process $pid exited" >&2; return 1; }
		sleep 0.1
	done
	echo "bench: nothing listens on $port" >&2
	return 1
}

echo "bench: starting PostgreSQL and Redis in $dir ..." >&2
# A free port can be taken between choosing and binding it on a busy
# machine; one more try picks other ports.
# PostgreSQL runs as in production (fsync and synchronous commit on): the
# baseline's holds and our confirms are commits, and a commit on a real
# database waits for the disk.
export STACK_DURABLE=1
"$top/deploy/stack.sh" start "$dir" >&2 || {
	"$top/deploy/stack.sh" stop "$dir"
	"$top/deploy/stack.sh" start "$dir" >&2
}
# shellcheck disable=SC1091
. "$dir/env"

echo "bench: building ..." >&2
go build -o "$dir/bin/" ./server ./deploy/loadgen ./deploy/loadgen/pglock

"$dir/bin/server" migrate
CITY_FILE="$top/deploy/loadgen/benchcity.json" "$dir/bin/server" seed
"$PG_BINDIR/psql" "$DATABASE_URL" -qc "CREATE DATABASE pglock" >/dev/null
pglock_db=${DATABASE_URL%/termin*}/pglock?sslmode=disable

http_port=$(free_port)
pprof_port=$(free_port)
SECRET_KEY=bench "$dir/bin/server" serve -http "127.0.0.1:$http_port" -pprof "127.0.0.1:$pprof_port" \
	-rate-limit 0 -pow-auto 0 -one-hold=false -warm-days 3 -log-level warn 2>"$dir/server.log" &
children+=($!)
wait_port "$!" "$http_port"

# The baseline's slot is the same as the server's: tomorrow 10:00 in Berlin.
start=$(TZ=Europe/Berlin date -d "tomorrow 10:00" +%Y-%m-%dT%H:%M:%S%:z)
base_port=$(free_port)
"$dir/bin/pglock" -http "127.0.0.1:$base_port" -db "$pglock_db" -start "$start" -capacity 500 2>"$dir/pglock.log" &
children+=($!)
wait_port "$!" "$base_port"

timeout "${BENCH_TIMEOUT:-300}" "$dir/bin/loadgen" \
	-ours "http://127.0.0.1:$http_port" -db "$DATABASE_URL" \
	-baseline "http://127.0.0.1:$base_port" -baseline-db "$pglock_db" \
	-redis "$REDIS_ADDR" -pprof "http://127.0.0.1:$pprof_port" \
	-out "$top/docs" -command "make bench" "$@"

# Scenario (c), a release through the waiting room: a second server on the
# same database and Redis with a waiting room at release-hall and a
# release 20 s from its start; loadgen -scenario release spreads the
# arrivals around it and adds its section to docs/benchmarks.md.
# RELEASE_FLAGS adds loadgen flags, e.g. "-arrivals 1000" for a small run.
release_rate=${RELEASE_RATE:-500}
release_bits=${RELEASE_POW_BITS:-8}
release_at=$(date -u -d "+20 seconds" +%Y-%m-%dT%H:%M:%SZ)
room_port=$(free_port)
# Each browser of the load generator sends its own termin_browser cookie,
# so the one live hold per browser stays on, as in production.
SECRET_KEY=bench "$dir/bin/server" serve -http "127.0.0.1:$room_port" \
	-rate-limit 0 -pow-auto 0 -warm-days 3 -log-level warn \
	-waiting-room-locations release-hall -waiting-room-releases "$release_at" -waiting-room-early 2m \
	-waiting-room-rate "$release_rate" -waiting-room-burst "$release_rate" -waiting-room-pow-bits "$release_bits" \
	-waiting-room-holds 3 2>"$dir/room-server.log" &
children+=($!)
wait_port "$!" "$room_port"
# shellcheck disable=SC2086
timeout "${BENCH_TIMEOUT:-300}" "$dir/bin/loadgen" -scenario release \
	-ours "http://127.0.0.1:$room_port" -db "$DATABASE_URL" \
	-admission-rate "$release_rate" -room-pow-bits "$release_bits" \
	-out "$top/docs" -command "make bench" ${RELEASE_FLAGS:-}
