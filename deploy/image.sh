#!/usr/bin/env bash
# make image: the server and kiosk images, built with buildah from
# deploy/Containerfile without pulling from any registry.
#
#   deploy/image.sh [TAG]     build localhost/termin-server:TAG,
#                             localhost/termin-kiosk:TAG and the demo's
#                             localhost/termin-simulator:TAG (TAG: git describe)
#   deploy/image.sh context   only build the binaries and the context
#                             (.cache/image), print its path
#
# Images are kept in buildah's storage (vfs driver, which works where
# overlay mounts are refused); `buildah --storage-driver vfs images` lists
# them, `buildah push` copies them to a registry or an archive.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
apt_lock_timeout=${APT_LOCK_TIMEOUT:-600}
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

ctx=$top/.cache/image

context() {
	rm -rf "$ctx"
	mkdir -p "$ctx/bin" "$ctx/etc/ssl/certs" "$ctx/usr/share"
	# Static, reproducible binaries: no cgo, no local paths.
	CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$ctx/bin/termin" ./server
	CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$ctx/bin/termin-kiosk" ./kiosk
	CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$ctx/bin/termin-simulator" ./deploy/simulator
	if [ ! -f /etc/ssl/certs/ca-certificates.crt ] || [ ! -d /usr/share/zoneinfo/Europe ]; then
		as_root env DEBIAN_FRONTEND=noninteractive apt-get -o "DPkg::Lock::Timeout=$apt_lock_timeout" install -y -qq ca-certificates tzdata >&2
	fi
	cp /etc/ssl/certs/ca-certificates.crt "$ctx/etc/ssl/certs/"
	cp -rL /usr/share/zoneinfo "$ctx/usr/share/zoneinfo"
	printf 'root:x:0:0:root:/:/sbin/nologin\ntermin:x:65532:65532:termin:/:/sbin/nologin\n' >"$ctx/etc/passwd"
	printf 'root:x:0:\ntermin:x:65532:\n' >"$ctx/etc/group"
}

if [ "${1:-}" = context ]; then
	context >&2
	echo "$ctx"
	exit 0
fi

if ! command -v buildah >/dev/null 2>&1; then
	echo "image: installing buildah" >&2
	as_root env DEBIAN_FRONTEND=noninteractive apt-get -o "DPkg::Lock::Timeout=$apt_lock_timeout" update -qq >&2
	as_root env DEBIAN_FRONTEND=noninteractive apt-get -o "DPkg::Lock::Timeout=$apt_lock_timeout" install -y -qq buildah >&2
fi
tag=${1:-$(git describe --always --dirty 2>/dev/null || echo dev)}
context
for target in server kiosk simulator; do
	buildah --storage-driver vfs bud --quiet --layers=false -f deploy/Containerfile --target "$target" \
		-t "localhost/termin-$target:$tag" "$ctx" >/dev/null
	echo "image: localhost/termin-$target:$tag"
done
