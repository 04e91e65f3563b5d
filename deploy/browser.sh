#!/usr/bin/env bash
# Tools for the browser and speech tests, installed when missing:
# Chromium and espeak-ng from the system's packages, axe-core from npm into
# .cache/npm of this checkout (git-ignored). Prints shell assignments for
# the tests (eval "$(deploy/browser.sh env)"):
#   TERMIN_AXE_JS   path of axe.min.js
#   TERMIN_CHROMIUM path of the chromium binary
#
#   deploy/browser.sh install   install what is missing (idempotent)
#   deploy/browser.sh env       install, then print the assignments
#   deploy/browser.sh speech    install only espeak-ng (the kiosk's speech)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
axe_version=4.14.0
npm_dir="$top/.cache/npm"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
	echo "browser: installing $*" >&2
	local i
	# Another install may hold the dpkg lock for a while.
	for i in $(seq 60); do
		if as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2; then
			return 0
		fi
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || true
		sleep 5
	done
	return 1
}

install() {
	local pkgs=()
	command -v chromium >/dev/null 2>&1 || pkgs+=(chromium)
	command -v espeak-ng >/dev/null 2>&1 || pkgs+=(espeak-ng)
	# Fonts for the six languages of the kiosk page (Latin, Cyrillic, Arabic).
	[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || pkgs+=(fonts-dejavu-core)
	[ -d /usr/share/fonts/truetype/noto ] || [ -d /usr/share/fonts/opentype/noto ] || pkgs+=(fonts-noto-core)
	[ ${#pkgs[@]} -eq 0 ] || apt_install "${pkgs[@]}"
	if [ ! -f "$npm_dir/node_modules/axe-core/axe.min.js" ]; then
		command -v npm >/dev/null 2>&1 || apt_install npm
		mkdir -p "$npm_dir"
		echo "browser: installing axe-core@$axe_version into .cache/npm" >&2
		npm install --silent --no-audit --no-fund --prefix "$npm_dir" "axe-core@$axe_version" >&2
	fi
}

case "${1:-}" in
install) install ;;
speech) command -v espeak-ng >/dev/null 2>&1 || apt_install espeak-ng ;;
env)
	install
	echo "export TERMIN_AXE_JS='$npm_dir/node_modules/axe-core/axe.min.js'"
	echo "export TERMIN_CHROMIUM='$(command -v chromium)'"
	;;
*)
	echo "usage: deploy/browser.sh install|env" >&2
	exit 2
	;;
esac
