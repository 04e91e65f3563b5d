#!/usr/bin/env bash
# Private PostgreSQL and Redis for one checkout: installed from the system's
# packages when missing, started on free loopback ports under a directory of
# our own, stopped by the PIDs we recorded (never by process name).
#
#   deploy/stack.sh start DIR    start both and Mailpit (idempotent); writes DIR/env
#   deploy/stack.sh cluster DIR  also start a 3-master Redis Cluster
#                                (idempotent); adds REDIS_CLUSTER_ADDRS to DIR/env
#   deploy/stack.sh stop DIR     stop what start and cluster started
#   deploy/stack.sh pg-stop DIR  stop only PostgreSQL, keeping its port
#   deploy/stack.sh pg-start DIR start it again on that port (fault tests)
#   deploy/stack.sh status DIR   exit 0 when both answer
#   deploy/stack.sh standby DIR  add a synchronous hot standby of PostgreSQL
#                                (pg_basebackup); adds DATABASE_URL_STANDBY and
#                                the multi-host DATABASE_URL_FAILOVER to DIR/env
#                                (start the stack with STACK_DURABLE=1 for it)
#   deploy/stack.sh pg-kill DIR  kill the PostgreSQL primary (SIGKILL, by PID)
#   deploy/stack.sh pg-promote DIR  promote the standby to primary
#   deploy/stack.sh cluster-ha DIR  a Redis Cluster of 3 masters with one
#                                replica each (fast failover); adds
#                                REDIS_HA_ADDRS to DIR/env
set -euo pipefail

# Seconds apt-get waits for the dpkg lock another installation holds.
apt_lock_timeout=${APT_LOCK_TIMEOUT:-600}

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

pg_bindir() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && { echo "$d"; return; }
	done
	command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)"
}

ensure_installed() {
	local pkgs=()
	command -v redis-server >/dev/null 2>&1 || pkgs+=(redis-server)
	[ -n "$(pg_bindir)" ] || pkgs+=(postgresql)
	[ ${#pkgs[@]} -eq 0 ] && return
	echo "stack: installing ${pkgs[*]}" >&2
	# Another installation may hold the dpkg lock: wait for it instead of
	# failing at once.
	as_root env DEBIAN_FRONTEND=noninteractive apt-get -o "DPkg::Lock::Timeout=$apt_lock_timeout" update -qq >&2
	as_root env DEBIAN_FRONTEND=noninteractive apt-get -o "DPkg::Lock::Timeout=$apt_lock_timeout" install -y -qq "${pkgs[@]}" >&2
}

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Ports come from below the kernel's ephemeral range (32768 up on Linux),
# where outgoing connections would otherwise take them between our check
# and the server's bind; cluster bus ports (port + 10000) stay below too.
port_range=10000-22000

free_port() {
	local p
	for p in $(shuf -i $port_range -n 200); do
		port_is_free "$p" && { echo "$p"; return; }
	done
	echo "stack: no free port found" >&2
	return 1
}

# Development and test instances trade durability for speed; a benchmark
# that compares against PostgreSQL commits sets STACK_DURABLE=1 to get the
# settings of a production database.
pg_durability() {
	[ "${STACK_DURABLE:-}" = 1 ] || echo "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
}

# PostgreSQL refuses to run as root: when we are root the data directory
# belongs to the postgres user and its tools run as that user.
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
	local dir=$1 bin port
	bin=$(pg_bindir)
	mkdir -p "$dir/pg"
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$dir/pg"
		# postgres must be able to reach its data directory through DIR.
		chmod o+x "$dir"
	fi
	if [ ! -f "$dir/pg/data/PG_VERSION" ]; then
		as_pg "$bin/initdb" -D "$dir/pg/data" -U termin -A trust -E UTF8 --locale=C.UTF-8 >"$dir/pg/initdb.log" 2>&1 ||
			as_pg "$bin/initdb" -D "$dir/pg/data" -U termin -A trust -E UTF8 >"$dir/pg/initdb.log" 2>&1 ||
			{ cat "$dir/pg/initdb.log" >&2; return 1; }
	fi
	# A port can still be taken between the check and the bind: try again.
	local attempt
	for attempt in 1 2 3 4 5; do
		port=$(free_port)
		as_pg "$bin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/postgres.log" -w -t 60 start \
			-o "-p $port -k $dir/pg -c listen_addresses=127.0.0.1 $(pg_durability) -c max_connections=300" >/dev/null && break
		[ "$attempt" -lt 5 ] || { tail -20 "$dir/pg/postgres.log" >&2; return 1; }
	done
	echo "$port" >"$dir/pg/port"
	"$bin/psql" -h 127.0.0.1 -p "$port" -U termin -d postgres -qtAc "SELECT 1 FROM pg_database WHERE datname='termin'" | grep -q 1 ||
		"$bin/createdb" -h 127.0.0.1 -p "$port" -U termin termin
}

start_redis() {
	local dir=$1 port
	mkdir -p "$dir/redis"
	local attempt
	for attempt in 1 2 3 4 5; do
		port=$(free_port)
		redis-server --port "$port" --bind 127.0.0.1 --dir "$dir/redis" --save '' --appendonly no \
			--daemonize yes --pidfile "$dir/redis/redis.pid" --logfile "$dir/redis/redis.log" >/dev/null
		for _ in $(seq 50); do
			redis-cli -p "$port" ping >/dev/null 2>&1 && break
			sleep 0.1
		done
		redis-cli -p "$port" ping >/dev/null 2>&1 && break
		[ "$attempt" -lt 5 ] || { tail -20 "$dir/redis/redis.log" >&2; return 1; }
	done
	echo "$port" >"$dir/redis/port"
}

# A cluster node also listens on its bus port, port+10000.
free_cluster_port() {
	local p
	for p in $(shuf -i $port_range -n 200); do
		port_is_free "$p" && port_is_free $((p + 10000)) && { echo "$p"; return; }
	done
	echo "stack: no free port pair found" >&2
	return 1
}

cluster_ok() {
	local dir=$1 p
	[ -f "$dir/cluster/ports" ] || return 1
	for p in $(cat "$dir/cluster/ports"); do
		redis-cli -p "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
	done
}

# start_cluster runs three masters on loopback, each with its own directory
# and nodes.conf under DIR/cluster, joins them into one cluster that covers
# all 16384 hash slots and waits until every node reports cluster_state:ok.
start_cluster() {
	local dir=$1 i p ports=() addrs=()
	stop_cluster "$dir"
	rm -rf "$dir/cluster"
	for i in 1 2 3; do
		mkdir -p "$dir/cluster/n$i"
		p=$(free_cluster_port)
		redis-server --port "$p" --bind 127.0.0.1 --dir "$dir/cluster/n$i" --save '' --appendonly no \
			--cluster-enabled yes --cluster-config-file "$dir/cluster/n$i/nodes.conf" --cluster-node-timeout 5000 \
			--daemonize yes --pidfile "$dir/cluster/n$i/redis.pid" --logfile "$dir/cluster/n$i/redis.log" >/dev/null
		for _ in $(seq 50); do
			redis-cli -p "$p" ping >/dev/null 2>&1 && break
			sleep 0.1
		done
		redis-cli -p "$p" ping >/dev/null || { tail -20 "$dir/cluster/n$i/redis.log" >&2; return 1; }
		ports+=("$p")
		addrs+=("127.0.0.1:$p")
	done
	redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes >"$dir/cluster/create.log" 2>&1 ||
		{ cat "$dir/cluster/create.log" >&2; return 1; }
	echo "${ports[*]}" >"$dir/cluster/ports"
	for _ in $(seq 100); do
		cluster_ok "$dir" && return 0
		sleep 0.1
	done
	echo "stack: redis cluster did not reach cluster_state:ok" >&2
	return 1
}

stop_cluster() {
	local dir=$1 f
	for f in "$dir"/cluster/n*/redis.pid; do
		[ -f "$f" ] || continue
		kill "$(cat "$f")" 2>/dev/null || true
		rm -f "$f"
	done
	rm -f "$dir/cluster/ports"
}

# Mailpit catches every mail the server sends (SMTP) and shows it in a web
# UI with a REST API. It is built once from its Go module into .cache/ of
# this checkout and reused; a private instance per DIR listens on free
# loopback ports and is stopped by its PID. Without it (the build failed,
# STACK_NO_MAILPIT=1) the stack still starts, only without SMTP_ADDR.
mailpit_version=v1.33.1
checkout=$(cd "$(dirname "$0")/.." && pwd)
mailpit_bin="$checkout/.cache/mailpit-$mailpit_version/mailpit"

build_mailpit() {
	[ -x "$mailpit_bin" ] && return 0
	echo "stack: building Mailpit $mailpit_version (once, into .cache/)" >&2
	local tmp
	tmp=$(mktemp -d "$checkout/.cache/mailpit-build.XXXXXX")
	if GOFLAGS= GOBIN="$tmp" go install "github.com/axllent/mailpit@$mailpit_version" >&2; then
		mkdir -p "$(dirname "$mailpit_bin")"
		mv "$tmp/mailpit" "$mailpit_bin"
	fi
	rm -rf "$tmp"
	[ -x "$mailpit_bin" ]
}

mailpit_ok() {
	local dir=$1 smtp http
	[ -f "$dir/mailpit/mailpit.pid" ] && [ -f "$dir/mailpit/ports" ] || return 1
	kill -0 "$(cat "$dir/mailpit/mailpit.pid")" 2>/dev/null || return 1
	read -r smtp http <"$dir/mailpit/ports"
	! port_is_free "$smtp" && ! port_is_free "$http"
}

start_mailpit() {
	local dir=$1 smtp http pid
	[ "${STACK_NO_MAILPIT:-}" = 1 ] && return 0
	mailpit_ok "$dir" && return 0
	stop_mailpit "$dir"
	mkdir -p "$checkout/.cache" "$dir/mailpit"
	build_mailpit || { echo "stack: Mailpit could not be built; starting without a mail catcher" >&2; return 0; }
	local attempt
	for attempt in 1 2 3 4 5; do
		smtp=$(free_port)
		http=$(free_port)
		[ "$smtp" != "$http" ] || continue
		nohup "$mailpit_bin" --smtp "127.0.0.1:$smtp" --listen "127.0.0.1:$http" \
			--database "$dir/mailpit/mailpit.db" --max 10000 --disable-version-check \
			--smtp-auth-accept-any --smtp-auth-allow-insecure --quiet \
			>"$dir/mailpit/mailpit.log" 2>&1 </dev/null &
		pid=$!
		echo "$pid" >"$dir/mailpit/mailpit.pid"
		echo "$smtp $http" >"$dir/mailpit/ports"
		for _ in $(seq 100); do
			mailpit_ok "$dir" && return 0
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		stop_mailpit "$dir"
	done
	tail -20 "$dir/mailpit/mailpit.log" >&2
	echo "stack: Mailpit did not start; starting without a mail catcher" >&2
}

stop_mailpit() {
	local dir=$1 f=$1/mailpit/mailpit.pid smtp="" http=""
	[ -f "$dir/mailpit/ports" ] && read -r smtp http <"$dir/mailpit/ports"
	if [ -f "$f" ]; then
		kill "$(cat "$f")" 2>/dev/null || true
		rm -f "$f"
		# Wait until it has let go of its ports (at most 3 s).
		for _ in $(seq 30); do
			{ [ -z "$smtp" ] || port_is_free "$smtp"; } && { [ -z "$http" ] || port_is_free "$http"; } && break
			sleep 0.1
		done
	fi
	rm -f "$dir/mailpit/ports"
}

# mailpit_env prints the variables clients need: the server's SMTP_ADDR,
# the web UI and REST API base that tests read received mail from, and the
# binary (tests that need a Mailpit of their own, e.g. with chaos, start it).
mailpit_env() {
	local dir=$1 smtp http
	mailpit_ok "$dir" || return 0
	read -r smtp http <"$dir/mailpit/ports"
	cat <<ENV
export SMTP_ADDR=127.0.0.1:$smtp
export SMTP_TLS=none
export MAILPIT_URL=http://127.0.0.1:$http
export MAILPIT_BIN=$mailpit_bin
ENV
}

# start_standby clones the primary with pg_basebackup into DIR/pg-standby,
# starts it as a hot standby streaming as "standby1", and makes the primary
# wait for it on every commit (synchronous_standby_names): a commit the
# primary acknowledged is on the standby too.
start_standby() {
	local dir=$1 bin port primary
	bin=$(pg_bindir)
	primary=$(cat "$dir/pg/port")
	as_pg "$bin/pg_ctl" -D "$dir/pg-standby/data" -m fast -w stop >/dev/null 2>&1 || true
	rm -rf "$dir/pg-standby"
	mkdir -p "$dir/pg-standby"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$dir/pg-standby"
	as_pg "$bin/pg_basebackup" -h 127.0.0.1 -p "$primary" -U termin -D "$dir/pg-standby/data" -R -X stream --checkpoint=fast --no-sync \
		-d "application_name=standby1" >"$dir/pg-standby/basebackup.log" 2>&1 ||
		{ cat "$dir/pg-standby/basebackup.log" >&2; return 1; }
	local attempt
	for attempt in 1 2 3 4 5; do
		port=$(free_port)
		as_pg "$bin/pg_ctl" -D "$dir/pg-standby/data" -l "$dir/pg-standby/postgres.log" -w -t 60 start \
			-o "-p $port -k $dir/pg-standby -c listen_addresses=127.0.0.1 $(pg_durability) -c max_connections=300" >/dev/null && break
		[ "$attempt" -lt 5 ] || { tail -20 "$dir/pg-standby/postgres.log" >&2; return 1; }
	done
	echo "$port" >"$dir/pg-standby/port"
	"$bin/psql" -h 127.0.0.1 -p "$primary" -U termin -d postgres -qtAc \
		"ALTER SYSTEM SET synchronous_standby_names = 'standby1'" -c "SELECT pg_reload_conf()" >/dev/null
	for _ in $(seq 100); do
		[ "$("$bin/psql" -h 127.0.0.1 -p "$primary" -U termin -d postgres -qtAc \
			"SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'")" = sync ] && return 0
		sleep 0.1
	done
	echo "stack: the standby did not become synchronous" >&2
	return 1
}

# pg_kill kills the primary's postmaster outright, as a crash or a lost
# machine would; its backends end when they notice.
pg_kill() {
	local dir=$1 pid
	pid=$(head -1 "$dir/pg/data/postmaster.pid")
	kill -KILL "$pid"
	for _ in $(seq 100); do
		port_is_free "$(cat "$dir/pg/port")" && return 0
		sleep 0.1
	done
}

pg_promote() {
	as_pg "$(pg_bindir)/pg_ctl" -D "$1/pg-standby/data" -w -t 60 promote >/dev/null
}

# start_cluster_ha runs six nodes, three masters with one replica each and
# a short node timeout, so a killed master's replica takes over within
# seconds.
start_cluster_ha() {
	local dir=$1 i p ports=() addrs=()
	stop_cluster_ha "$dir"
	rm -rf "$dir/cluster-ha"
	for i in 1 2 3 4 5 6; do
		mkdir -p "$dir/cluster-ha/n$i"
		p=$(free_cluster_port)
		redis-server --port "$p" --bind 127.0.0.1 --dir "$dir/cluster-ha/n$i" --save '' --appendonly no \
			--cluster-enabled yes --cluster-config-file "$dir/cluster-ha/n$i/nodes.conf" --cluster-node-timeout 1000 --cluster-replica-validity-factor 0 \
			--daemonize yes --pidfile "$dir/cluster-ha/n$i/redis.pid" --logfile "$dir/cluster-ha/n$i/redis.log" >/dev/null
		for _ in $(seq 50); do
			redis-cli -p "$p" ping >/dev/null 2>&1 && break
			sleep 0.1
		done
		redis-cli -p "$p" ping >/dev/null || { tail -20 "$dir/cluster-ha/n$i/redis.log" >&2; return 1; }
		echo "$p" >"$dir/cluster-ha/n$i/port"
		ports+=("$p")
		addrs+=("127.0.0.1:$p")
	done
	redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >"$dir/cluster-ha/create.log" 2>&1 ||
		{ cat "$dir/cluster-ha/create.log" >&2; return 1; }
	echo "${ports[*]}" >"$dir/cluster-ha/ports"
	for _ in $(seq 200); do
		local ok=1
		for p in "${ports[@]}"; do
			redis-cli -p "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || ok=0
		done
		[ "$ok" = 1 ] && return 0
		sleep 0.1
	done
	echo "stack: the redis cluster with replicas did not reach cluster_state:ok" >&2
	return 1
}

stop_cluster_ha() {
	local dir=$1 f
	for f in "$dir"/cluster-ha/n*/redis.pid; do
		[ -f "$f" ] || continue
		kill "$(cat "$f")" 2>/dev/null || true
		rm -f "$f"
	done
	rm -f "$dir/cluster-ha/ports"
}

running() {
	local dir=$1
	[ -f "$dir/pg/port" ] && [ -f "$dir/redis/port" ] || return 1
	"$(pg_bindir)/pg_isready" -q -h 127.0.0.1 -p "$(cat "$dir/pg/port")" || return 1
	redis-cli -p "$(cat "$dir/redis/port")" ping >/dev/null 2>&1
}

write_env() {
	local dir=$1
	cat >"$dir/env" <<ENV
export DATABASE_URL=postgres://termin@127.0.0.1:$(cat "$dir/pg/port")/termin?sslmode=disable
export REDIS_ADDR=127.0.0.1:$(cat "$dir/redis/port")
export PG_BINDIR=$(pg_bindir)
ENV
	if cluster_ok "$dir"; then
		local addrs
		addrs=$(sed 's/\([0-9][0-9]*\)/127.0.0.1:\1/g; s/ /,/g' "$dir/cluster/ports")
		echo "export REDIS_CLUSTER_ADDRS=$addrs" >>"$dir/env"
	fi
	if [ -f "$dir/pg-standby/port" ]; then
		local p1 p2
		p1=$(cat "$dir/pg/port") p2=$(cat "$dir/pg-standby/port")
		cat >>"$dir/env" <<ENV
export DATABASE_URL_STANDBY=postgres://termin@127.0.0.1:$p2/termin?sslmode=disable
export DATABASE_URL_FAILOVER='host=127.0.0.1,127.0.0.1 port=$p1,$p2 user=termin dbname=termin sslmode=disable target_session_attrs=read-write connect_timeout=2'
ENV
	fi
	if [ -f "$dir/cluster-ha/ports" ]; then
		echo "export REDIS_HA_ADDRS=$(sed 's/\([0-9][0-9]*\)/127.0.0.1:\1/g; s/ /,/g' "$dir/cluster-ha/ports")" >>"$dir/env"
	fi
	mailpit_env "$dir" >>"$dir/env"
}

# pg_down and pg_up stop and start PostgreSQL on the port it had, so
# clients reconnect to the same address (fault tests restart it this way).
pg_down() {
	as_pg "$(pg_bindir)/pg_ctl" -D "$1/pg/data" -m fast -w stop >/dev/null
}

pg_up() {
	local dir=$1
	as_pg "$(pg_bindir)/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/postgres.log" -w -t 60 start \
		-o "-p $(cat "$dir/pg/port") -k $dir/pg -c listen_addresses=127.0.0.1 $(pg_durability) -c max_connections=300" >/dev/null ||
		{ tail -20 "$dir/pg/postgres.log" >&2; return 1; }
}

stop_single() {
	local dir=$1
	if [ -f "$dir/pg/data/postmaster.pid" ]; then
		as_pg "$(pg_bindir)/pg_ctl" -D "$dir/pg/data" -m fast -w stop >/dev/null 2>&1 || true
	fi
	if [ -f "$dir/redis/redis.pid" ]; then
		kill "$(cat "$dir/redis/redis.pid")" 2>/dev/null || true
		rm -f "$dir/redis/redis.pid"
	fi
	if [ -f "$dir/pg-standby/data/postmaster.pid" ]; then
		as_pg "$(pg_bindir)/pg_ctl" -D "$dir/pg-standby/data" -m fast -w stop >/dev/null 2>&1 || true
	fi
	rm -f "$dir/pg/port" "$dir/redis/port" "$dir/pg-standby/port"
}

stop() {
	stop_single "$1"
	stop_cluster "$1"
	stop_cluster_ha "$1"
	stop_mailpit "$1"
}

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|cluster|cluster-ha|standby|stop|status|pg-stop|pg-start|pg-kill|pg-promote DIR" >&2; exit 2; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
case $cmd in
start)
	if running "$dir"; then
		start_mailpit "$dir"
		write_env "$dir"
		exit 0
	fi
	stop_single "$dir"
	ensure_installed
	start_postgres "$dir"
	start_redis "$dir"
	start_mailpit "$dir"
	write_env "$dir"
	;;
cluster)
	if ! cluster_ok "$dir"; then
		ensure_installed
		start_cluster "$dir"
	fi
	if [ -f "$dir/pg/port" ] && [ -f "$dir/redis/port" ]; then write_env "$dir"; fi
	;;
stop) stop "$dir" ;;
pg-stop) pg_down "$dir" ;;
pg-start) pg_up "$dir" ;;
status) running "$dir" ;;
standby)
	start_standby "$dir"
	write_env "$dir"
	;;
pg-kill) pg_kill "$dir" ;;
pg-promote) pg_promote "$dir" ;;
cluster-ha)
	ensure_installed
	start_cluster_ha "$dir"
	if [ -f "$dir/pg/port" ] && [ -f "$dir/redis/port" ]; then write_env "$dir"; fi
	;;
*) echo "usage: $0 start|cluster|cluster-ha|standby|stop|status|pg-stop|pg-start|pg-kill|pg-promote DIR" >&2; exit 2 ;;
esac
