#!/usr/bin/env bash
# A backup of termin's database: pg_dump in its custom format (compressed,
# restorable table by table) with a SHA-256 checksum beside it.
#
#   deploy/backup.sh [DIR]    DATABASE_URL (or DATABASE_URL_FILE) from the
#                             environment; writes DIR/termin-<UTC time>.dump
#                             and .dump.sha256 (DIR: ./backups)
#
# Redis needs no backup: it holds only holds and counters that the server
# rebuilds from PostgreSQL at start (docs/operations.md). Run it from cron
# or a systemd timer; on Kubernetes, CloudNativePG's Barman Cloud backups
# take its place and this script serves for exports and tests.
set -euo pipefail
pg_tool() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/$1" ] && { echo "$d/$1"; return; }
	done
	command -v "$1" || { echo "backup: $1 not found (Debian package postgresql-client)" >&2; exit 1; }
}
url=${DATABASE_URL:-}
if [ -z "$url" ] && [ -n "${DATABASE_URL_FILE:-}" ]; then
	url=$(tr -d '\r\n' <"$DATABASE_URL_FILE")
fi
[ -n "$url" ] || { echo "backup: set DATABASE_URL or DATABASE_URL_FILE" >&2; exit 2; }
dir=${1:-backups}
mkdir -p "$dir"
name="termin-$(date -u +%Y%m%dT%H%M%SZ).dump"
# Written under a temporary name first: a backup that is there is whole.
umask 077
"$(pg_tool pg_dump)" --format=custom --compress=6 --no-owner --no-privileges --file="$dir/.$name.partial" "$url"
mv "$dir/.$name.partial" "$dir/$name"
(cd "$dir" && sha256sum "$name" >"$name.sha256")
echo "$dir/$name"
