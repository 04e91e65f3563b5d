#!/usr/bin/env bash
# make run: private PostgreSQL and Redis under .run/, migrations, the demo
# city, the server and a counter kiosk on simulated hardware, in the
# foreground. Ctrl-C, SIGTERM to this script and SIGTERM to its whole
# process group each stop everything this script started. RUN_DIR moves
# .run/ elsewhere (the deploy tests run it in a directory of their own).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
run=${RUN_DIR:-$top/.run}
mkdir -p "$run/bin" "$run/log"
run=$(cd "$run" && pwd)

if [ -f "$run/run.pid" ] && kill -0 "$(cat "$run/run.pid")" 2>/dev/null; then
	echo "termin is already running in this checkout (pid $(cat "$run/run.pid"))." >&2
	echo "Stop it with Ctrl-C in its terminal or: kill $(cat "$run/run.pid")" >&2
	exit 1
fi
echo $$ >"$run/run.pid"

children=()
cleaning=
# A stop often brings a second signal: `make run` passes its own SIGTERM on
# to this script after the process group's has reached it, and Ctrl-C may
# be pressed twice. Once the cleanup has begun, signals are ignored and a
# signal that arrives before that resumes it instead of ending the shell
# half-way, which left PostgreSQL and Redis (they run in sessions of their
# own) behind.
cleanup() {
	cleaning=1
	trap '' INT TERM
	trap - EXIT
	for pid in "${children[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${children[@]}"; do wait "$pid" 2>/dev/null || true; done
	"$top/deploy/stack.sh" stop "$run" || echo "stopping PostgreSQL and Redis under $run failed" >&2
	rm -f "$run/run.pid"
	echo "termin stopped."
}
# A requested stop is a clean exit.
stop() {
	trap '' INT TERM
	if [ -n "$cleaning" ]; then
		return 0
	fi
	cleanup
	exit 0
}
trap cleanup EXIT
trap stop INT TERM

echo "Starting PostgreSQL and Redis under .run/ ..."
"$top/deploy/stack.sh" start "$run"
# shellcheck disable=SC1091
. "$run/env"

# The kiosk speaks with espeak-ng once its help key is pressed.
"$top/deploy/browser.sh" speech
echo "Building ..."
go build -o "$run/bin/" ./server
# The payment-platform simulator and the simulated kiosk hardware live in
# a development binary of their own; the release binaries carry neither.
go build -o "$run/bin/simulator" ./deploy/simulator

export HTTP_ADDR=${HTTP_ADDR:-127.0.0.1:8080}
# Logs for a terminal; a city's servers keep the default, JSON lines.
export LOG_FORMAT=${LOG_FORMAT:-text}
# The admin API key of this run: the simulated kiosk registers itself with
# it, and it is printed below for curl.
if [ -z "${ADMIN_API_KEY:-}" ]; then
	ADMIN_API_KEY=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')
fi
export ADMIN_API_KEY
KIOSK_LISTEN=${KIOSK_LISTEN:-127.0.0.1:8090}
# Online payment against the payment-platform simulator, postings into
# .run/export for the finance system.
export PAYSIM_ADDR=${PAYSIM_ADDR:-127.0.0.1:8091}
export PAYMENT_PLATFORM=${PAYMENT_PLATFORM:-epay21}
if [ "$PAYMENT_PLATFORM" != epay21 ] || [ "${PAYMENT_INTERFACE:-}" = xbezahldienste ]; then
	export PAYMENT_URL=${PAYMENT_URL:-http://$PAYSIM_ADDR/xbezahldienste}
else
	export PAYMENT_URL=${PAYMENT_URL:-http://$PAYSIM_ADDR/epay21/service/v11/ePay21Service.asmx}
fi
export PAYMENT_USER=${PAYMENT_USER:-termin} PAYMENT_PASSWORD=${PAYMENT_PASSWORD:-simulator}
# The simulator speaks the platforms' wire only: no pushes, no refund
# call (refunds go to the finance work list). PAYSIM_EXTENSIONS=1 and a
# NOTIFY_SECRET switch its pushed notifications on.
# Mail: the stack's env exports SMTP_ADDR and SMTP_TLS=none for Mailpit, so
# every mail the server sends lands there. The manage links in mails need
# a secret that outlives a restart: one per checkout, kept in .run/.
if [ -z "${SECRET_KEY:-}" ]; then
	[ -s "$run/secret" ] || (umask 077; head -c 32 /dev/urandom | base64 | tr '+/' '-_' >"$run/secret")
	SECRET_KEY=$(cat "$run/secret")
fi
export SECRET_KEY
export MAIL_FROM=${MAIL_FROM:-Stadt Koblenz <termine@koblenz.example>}
export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://$HTTP_ADDR}
export EXPORT_DIR=${EXPORT_DIR:-$run/export}
"$run/bin/server" migrate
# The demo staff accounts (demo passwords, printed below) are made or
# reset by every seed of this demo; a city's own setup never sets this.
DEMO_ACCOUNTS=1 "$run/bin/server" seed >"$run/demo-accounts.txt"

"$run/bin/simulator" payment >"$run/log/paysim.log" 2>&1 &
children+=($!)
"$run/bin/server" serve &
server_pid=$!
children+=($server_pid)
for _ in $(seq 100); do
	(exec 3<>"/dev/tcp/${HTTP_ADDR%:*}/${HTTP_ADDR##*:}") 2>/dev/null && break
	kill -0 "$server_pid" 2>/dev/null || { echo "the server did not start" >&2; exit 1; }
	sleep 0.1
done

# A counter kiosk at the Bürgeramt on a simulated printer and scanner. Its
# device token stays in .run/kiosk/state; a fresh database (new .run/)
# means a new registration.
mkdir -p "$run/kiosk/state" "$run/kiosk/tickets"
if [ -f "$run/kiosk/state/token" ] && ! curl -fsS -o /dev/null -H "Authorization: Bearer $(cat "$run/kiosk/state/token")" \
	"http://$HTTP_ADDR/api/v1/kiosk/config" 2>/dev/null; then
	rm -f "$run/kiosk/state/token" "$run/kiosk/state/server-config.json"
fi
"$run/bin/simulator" kiosk -server "http://$HTTP_ADDR" -mode counter -listen "$KIOSK_LISTEN" \
	-state-dir "$run/kiosk/state" -sim-tickets "$run/kiosk/tickets" -sim-location buergeramt-koblenz \
	-ticket-qr "http://$HTTP_ADDR/warten/{location}/{number}" >"$run/log/kiosk.log" 2>&1 &
kiosk_pid=$!
children+=($kiosk_pid)
for _ in $(seq 100); do
	(exec 3<>"/dev/tcp/${KIOSK_LISTEN%:*}/${KIOSK_LISTEN##*:}") 2>/dev/null && break
	kill -0 "$kiosk_pid" 2>/dev/null || { echo "the kiosk did not start:" >&2; cat "$run/log/kiosk.log" >&2; exit 1; }
	sleep 0.1
done

mail_line="off (Mailpit did not start; booking mails wait in the outbox)"
if [ -n "${MAILPIT_URL:-}" ]; then
	mail_line="Mailpit $MAILPIT_URL (every mail the server sends, SMTP $SMTP_ADDR)"
fi
cat <<MSG

termin is running.
  citizens     http://$HTTP_ADDR/   (book an appointment or a pool ticket)
  API          http://$HTTP_ADDR/api/v1/locations
  kiosk page   http://$KIOSK_LISTEN/   (counter kiosk, Bürgeramt Koblenz)
  kiosk sim    http://$KIOSK_LISTEN/sim/   (scan a code, paper out, unplug; tickets as PNG in .run/kiosk/tickets/)
  staff pages  http://$HTTP_ADDR/intern   (log in with a demo account below)
  desk         http://$HTTP_ADDR/intern/schalter   (call numbers: the demo desk account)
  call display http://$HTTP_ADDR/display/buergeramt-koblenz   (the waiting room's screen, no login)
  admin key    ADMIN_API_KEY=$ADMIN_API_KEY   (API bootstrap, every role)
  health       http://$HTTP_ADDR/healthz  http://$HTTP_ADDR/readyz
  payment      simulator http://$PAYSIM_ADDR/sim/payments (pay pages under /pay/), platform $PAYMENT_PLATFORM
  exports      $EXPORT_DIR (files for the finance system)
  PostgreSQL   $DATABASE_URL
  Redis        $REDIS_ADDR
  mail         $mail_line
$(cat "$run/demo-accounts.txt")
Press Ctrl-C to stop.

MSG
wait "$server_pid"
