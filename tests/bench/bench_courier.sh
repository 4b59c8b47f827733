#!/bin/bash
# Courier status webhooks applied per second, committed, over HTTP. Run as
#   bench_courier.sh BANGSOLEH SANDBOX BENCH_NOTIFY
# (`ninja -C build bench_courier`, and at the end of tests/bench/run.sh).
#
# Measured like the payment notifications (bench_notify.sh, whose wrk
# script this one runs with the courier webhook's path): the sandbox (its
# courier API with --ship-step-ms 0, so parcels move only when told) and the
# server (log level warn) on loopback. BENCH_NOTIFY's ship-prepare makes
# SHIPMENTS real shipments through the API: checkouts of one order from
# each of 10 stores with a jne/reg rate, paid at the sandbox, confirmed; the
# server's sweep sends them to the sandbox (32 a second: preparing 2,000
# takes about a minute). Then five order.status webhooks per shipment
# (allocated, picking_up, picked, dropping_off, delivered: each one moves
# the shipment, picked and delivered move its order too), written step by
# step so a shipment's steps arrive in order; wrk fires them with 256
# connections (COURIER_CONNECTIONS) until each was applied once. Prints
# webhooks applied per second (first request to last applied answer) and
# the latency percentiles, checks every shipment and order is delivered and
# `bangsoleh ledger verify`. Goal: >= 10,000 webhooks/s.
set -euo pipefail

if (($# != 3)); then
	echo "usage: $0 BANGSOLEH SANDBOX BENCH_NOTIFY" >&2
	exit 2
fi
BANGSOLEH=$1
SANDBOX=$2
HELPER=$3

SHIPMENTS=${BENCH_COURIER_SHIPMENTS:-2000} # rounded down to whole checkouts of 10
WRK_CONNECTIONS=${COURIER_CONNECTIONS:-256}
WRK_LIMIT=${BENCH_COURIER_LIMIT:-20s}
READY_TIMEOUT=200 # tenths of a second to wait for a ready line
PASSWORD=bench-password-1
HOOK=/api/v1/webhooks/couriers/sandbox
TOKEN=sandbox-courier-token # courier.webhook_token's default
GOAL=10000

BENCH_NAME=bench_courier
. "$(dirname "$0")/lib.sh"
bench_cpus "${COURIER_PIN:-0}"

# bench_notify.sh's wrk script, aimed at the courier webhook.
sed -n "/^cat >\"\$WORK\/notify.lua\" <<'LUA'\$/,/^LUA\$/{//!p}" "$(dirname "$0")/bench_notify.sh" |
	sed "s|\"/api/v1/webhooks/payments/sandbox\"|\"$HOOK?token=$TOKEN\"|" >"$WORK/courier.lua"
if ! grep -q "$HOOK" "$WORK/courier.lua" || ! grep -q '^function response' "$WORK/courier.lua"; then
	echo "$BENCH_NAME: bench_notify.sh's wrk script was not found" >&2
	exit 1
fi

SERVER_PORT=$("$HELPER" port)
start sandbox SB_PORT "$SANDBOX" --listen 127.0.0.1:0 \
	--notify-midtrans "http://127.0.0.1:$SERVER_PORT/api/v1/webhooks/payments/sandbox" \
	--notify-biteship "http://127.0.0.1:$SERVER_PORT$HOOK?token=$TOKEN" --ship-step-ms 0
mkdir "$WORK/data"
printf '%s\n' "$PASSWORD" | BANGSOLEH_AUTH_PASSWORD_COST=10 "$BANGSOLEH" user add --role admin \
	--username admin --data "$WORK/data" >/dev/null
start bangsoleh PORT env BANGSOLEH_LOG_LEVEL=warn BANGSOLEH_AUTH_PASSWORD_COST=10 \
	BANGSOLEH_PAYMENT_BASE_URL="http://127.0.0.1:$SB_PORT" \
	"${SERVER_CPU[@]}" "$BANGSOLEH" serve --listen "127.0.0.1:$SERVER_PORT" --data "$WORK/data" \
	--set courier.gateway=sandbox --set "courier.base_url=http://127.0.0.1:$SB_PORT"
SERVER_PID=${PIDS[-1]}

CHECKOUTS=$((SHIPMENTS / 10))
echo "## Courier webhooks: applied and committed per second"
echo
echo "- $((CHECKOUTS * 10)) shipments made through the API (checkouts of 10 stores, paid, confirmed, sent to the sandbox), five order.status webhooks each: $((CHECKOUTS * 50)) webhooks"
echo "- wrk -t1 -c$WRK_CONNECTIONS on POST $HOOK$( ((${#CLIENT_CPU[@]})) && echo ', server on CPU 0, wrk on CPU 1')"
echo
echo '```'
"$HELPER" ship-prepare "127.0.0.1:$PORT" "$SB_PORT" admin "$PASSWORD" "$CHECKOUTS" "$WORK/hooks.txt" "$WORK/ships.txt"
OUT=$("${CLIENT_CPU[@]}" wrk -t1 -c"$WRK_CONNECTIONS" -d"$WRK_LIMIT" --latency -s "$WORK/courier.lua" \
	"http://127.0.0.1:$PORT" -- "$WORK/hooks.txt")
if grep -qE 'Non-2xx|Socket errors' <<<"$OUT"; then
	echo "$BENCH_NAME: wrk reported errors:" >&2
	echo "$OUT" >&2
	exit 1
fi
grep -E '^(applied|latency ms)' <<<"$OUT" | sed 's/notifications/webhooks/'
"$HELPER" ship-verify "127.0.0.1:$PORT" admin "$PASSWORD" "$WORK/ships.txt"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
"$BANGSOLEH" ledger verify --data "$WORK/data" | tail -n 1
echo '```'
echo
awk -v rate="$(sed -n 's/^applied .* s: \([0-9]*\) notifications.*/\1/p' <<<"$OUT")" \
	-v goal="$GOAL" 'BEGIN {
	printf "Courier webhooks/s: %d (goal >= %d: %s)\n", rate, goal, (rate >= goal ? "met" : "NOT met")
}'
