#!/usr/bin/env bash
# Restores a backup of deploy/backup.sh into an empty database, after
# checking its checksum.
#
#   deploy/restore.sh FILE.dump    DATABASE_URL (or DATABASE_URL_FILE) names
#                                  the target, which must hold no tables yet
#
# Then start the server on it: it applies newer migrations, if any, and
# rebuilds Redis from the restored bookings.
set -euo pipefail
pg_tool() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/$1" ] && { echo "$d/$1"; return; }
	done
	command -v "$1" || { echo "restore: $1 not found (Debian package postgresql-client)" >&2; exit 1; }
}
file=${1:?usage: deploy/restore.sh FILE.dump}
url=${DATABASE_URL:-}
if [ -z "$url" ] && [ -n "${DATABASE_URL_FILE:-}" ]; then
	url=$(tr -d '\r\n' <"$DATABASE_URL_FILE")
fi
[ -n "$url" ] || { echo "restore: set DATABASE_URL or DATABASE_URL_FILE" >&2; exit 2; }
[ -f "$file.sha256" ] || { echo "restore: $file.sha256 is missing" >&2; exit 1; }
(cd "$(dirname "$file")" && sha256sum --check --quiet "$(basename "$file").sha256") ||
	{ echo "restore: $file does not match its checksum: refusing" >&2; exit 1; }
tables=$("$(pg_tool psql)" --no-psqlrc --tuples-only --no-align --dbname="$url" \
	-c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
if [ "$tables" != 0 ]; then
	echo "restore: the target database already has $tables tables: restore into an empty one" >&2
	exit 1
fi
# One transaction: a restore that fails leaves the database empty.
"$(pg_tool pg_restore)" --no-owner --no-privileges --exit-on-error --single-transaction --dbname="$url" "$file"
echo "restore: $file restored"
