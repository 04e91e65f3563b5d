#!/usr/bin/env bash
# make soak: ten minutes (SOAK_DURATION) of steady mixed load on loopback.
# Starts the demo as `make run` does (deploy/run.sh in a temporary
# directory: private PostgreSQL, Redis and Mailpit, the payment-platform
# simulator, the server with METRICS_ADDR, the simulated counter kiosk) on
# the demo city plus two locations of the soak's open around the clock,
# then deploy/loadgen soak, which sends about SOAK_RPS requests/s (open
# loop) and compares the server's memory, goroutines, descriptors and
# connections between the start and the end. Writes docs/soak.md
# (SOAK_OUT) and exits non-zero on errors or growth. Everything it started
# is stopped by PID at the end, also on Ctrl-C.
#
#   SOAK_DURATION=30s deploy/soak.sh     a short check
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
duration=${SOAK_DURATION:-10m}
rps=${SOAK_RPS:-30}
out=${SOAK_OUT:-$top/docs/soak.md}

# Seconds in a Go duration of hours, minutes and seconds (10m, 1m30s, 20s).
seconds() {
	local d=$1 total=0 n unit
	[[ $d =~ ^([0-9]+[hms])+$ ]] || { echo "soak: SOAK_DURATION $d: want e.g. 10m, 90s or 1m30s" >&2; return 1; }
	while [[ $d =~ ^([0-9]+)([hms])(.*)$ ]]; do
		n=${BASH_REMATCH[1]} unit=${BASH_REMATCH[2]} d=${BASH_REMATCH[3]}
		case $unit in h) total=$((total + n * 3600)) ;; m) total=$((total + n * 60)) ;; s) total=$((total + n)) ;; esac
	done
	echo "$total"
}
duration_s=$(seconds "$duration")

# SOAK_DIR: an empty directory of the caller's instead of a temporary one
# (the deploy test looks for leftover processes in it); kept at the end.
if [ -n "${SOAK_DIR:-}" ]; then
	dir=$(cd "$SOAK_DIR" && pwd)
	remove_dir=
else
	dir=$(mktemp -d /tmp/termin-soak.XXXXXX)
	remove_dir=1
fi
# PostgreSQL runs as its own user when we are root and must reach its
# data directory below this one.
chmod 755 "$dir"
run_pid=
server_pid=
load_pid=
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$load_pid" ] && kill -0 "$load_pid" 2>/dev/null; then
		kill -TERM "$load_pid" 2>/dev/null || true # timeout passes it on to the load generator
		wait "$load_pid" 2>/dev/null || true
	fi
	if [ -n "$run_pid" ] && kill -0 "$run_pid" 2>/dev/null; then
		# run.sh stops the server, the simulators, PostgreSQL, Redis and
		# Mailpit it started, by their PIDs.
		kill -TERM "$run_pid" 2>/dev/null || true
		for _ in $(seq 600); do kill -0 "$run_pid" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$run_pid" 2>/dev/null; then
			echo "soak: run.sh did not stop within a minute; killing it and what it started" >&2
			kill -KILL "$run_pid" 2>/dev/null || true
			[ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null || true
		fi
		wait "$run_pid" 2>/dev/null || true
	fi
	# Whatever run.sh left behind of the stack (it stops it itself).
	"$top/deploy/stack.sh" stop "$dir" >/dev/null 2>&1 || true
	if [ "$rc" -ne 0 ] && [ -f "$dir/run.log" ]; then
		echo "soak: the last errors in the server's log:" >&2
		grep -E '"level":"(ERROR|WARN)"' "$dir/run.log" | tail -20 >&2 || true
	fi
	[ -n "$remove_dir" ] && rm -rf "$dir"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
	local p
	for p in $(shuf -i 22001-32000 -n 200); do # below the ephemeral range
		port_is_free "$p" && { echo "$p"; return; }
	done
	echo "soak: no free port" >&2
	return 1
}

echo "soak: building the load generator ..." >&2
mkdir -p "$dir/bin"
go build -o "$dir/bin/loadgen" ./deploy/loadgen
"$dir/bin/loadgen" soak -demo "$top/server" -write-city "$dir"

http_port=$(free_port)
metrics_port=$(free_port)
paysim_port=$(free_port)
kiosk_port=$(free_port)
ADMIN_API_KEY=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')
export ADMIN_API_KEY
export RUN_DIR=$dir HTTP_ADDR=127.0.0.1:$http_port METRICS_ADDR=127.0.0.1:$metrics_port \
	PAYSIM_ADDR=127.0.0.1:$paysim_port KIOSK_LISTEN=127.0.0.1:$kiosk_port \
	CITY_FILE=$dir/city.json ACCOUNTING_FILE=$dir/accounting.json EXPORT_DIR=$dir/export
# The load comes from many citizens through one loopback address: the
# server reads each one's address from X-Forwarded-For, as behind the
# city's proxy, so the per-client rate limit stays on and sees many.
export CLIENT_IP_HEADER=X-Forwarded-For
# JSON lines into the log, as a city's servers write them.
export LOG_FORMAT=json

echo "soak: starting the demo as make run does (logs in $dir/run.log) ..." >&2
"$top/deploy/run.sh" >"$dir/run.log" 2>&1 &
run_pid=$!
for _ in $(seq 3000); do # building on a busy machine can take minutes
	grep -q "termin is running." "$dir/run.log" && break
	kill -0 "$run_pid" 2>/dev/null || { echo "soak: run.sh ended before the demo was up:" >&2; tail -30 "$dir/run.log" >&2; exit 1; }
	sleep 0.2
done
grep -q "termin is running." "$dir/run.log" || { echo "soak: the demo did not come up within 10 minutes" >&2; exit 1; }
# The server is the child of run.sh that runs $dir/bin/server serve.
for p in /proc/[0-9]*; do
	[ "$(cut -d' ' -f4 "$p/stat" 2>/dev/null)" = "$run_pid" ] || continue
	if [ "$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)" = "$dir/bin/server serve " ]; then
		server_pid=${p#/proc/}
	fi
done
[ -n "$server_pid" ] || { echo "soak: the server's process was not found" >&2; exit 1; }
# shellcheck disable=SC1091
. "$dir/env"

echo "soak: server pid $server_pid, load for $duration ..." >&2
# Bounded: the load's own length, the final checks and a margin. In the
# background with a wait, so a signal to this script runs its trap at once
# (bash runs traps only after a foreground command ends); cleanup stops it.
timeout $((duration_s + 300)) "$dir/bin/loadgen" soak \
	-server "http://$HTTP_ADDR" -paysim "http://$PAYSIM_ADDR" -metrics "http://$METRICS_ADDR/metrics" \
	-server-pid "$server_pid" -db "$DATABASE_URL" -redis "$REDIS_ADDR" -smtp "${SMTP_ADDR:-}" \
	-export-dir "$EXPORT_DIR" -duration "$duration" -rps "$rps" -out "$out" -command "make soak" &
load_pid=$!
wait "$load_pid"
