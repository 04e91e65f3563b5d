#!/usr/bin/env bash
# make test: throw-away PostgreSQL, Redis and a three-master Redis Cluster in
# a temporary directory, then every test against them, then everything
# stopped and removed.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
dir=$(mktemp -d /tmp/termin-test.XXXXXX)
cleanup() {
	"$top/deploy/stack.sh" stop "$dir" || true
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$top/deploy/stack.sh" start "$dir"
"$top/deploy/stack.sh" cluster "$dir"
# shellcheck disable=SC1091
. "$dir/env"
# Headless Chromium, axe-core and espeak-ng for the kiosk page's browser
# and speech tests.
eval "$("$top/deploy/browser.sh" env)"
export TERMIN_REQUIRE_SERVICES=1
go vet ./...
go test -race -count=1 -timeout 20m "$@" ./...
