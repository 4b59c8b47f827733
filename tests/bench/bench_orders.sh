#!/bin/bash
# Marketplace orders end to end through the HTTP API, per second. Run as
#   bench_orders.sh BANGSOLEH SANDBOX BENCH_ORDERS BENCH_NOTIFY
# (`ninja -C build bench_orders`, and at the end of tests/bench/run.sh);
# BENCH_NOTIFY only names a free port for the server.
#
# The sandbox provider and the server (log level warn, a fresh data folder
# on disk) on loopback, nothing pinned: the client, the server and the
# sandbox share both CPUs. bench_orders makes the stores, products and
# shoppers, then runs ORDERS orders (BENCH_ORDERS_N, default 10000) with
# CONCURRENCY in flight (ORDERS_CONCURRENCY, default 32): checkout, pay at
# the sandbox until the order reads paid, confirm, ship, deliver, receive.
# It prints orders/s, each step's p50/p99/max, and checks every order
# completed and escrow at zero; then the server is stopped and
# `bangsoleh ledger verify` run on its data. Each check prints PASS or FAIL;
# the script exits 1 when one failed.
set -euo pipefail

if (($# != 4)); then
	echo "usage: $0 BANGSOLEH SANDBOX BENCH_ORDERS BENCH_NOTIFY" >&2
	exit 2
fi
BANGSOLEH=$1
SANDBOX=$2
CLIENT=$3
PORT_HELPER=$4

ORDERS=${BENCH_ORDERS_N:-10000}
CONCURRENCY=${ORDERS_CONCURRENCY:-32}
READY_TIMEOUT=200 # tenths of a second to wait for a ready line
PASSWORD=bench-password-1

BENCH_NAME=bench_orders
. "$(dirname "$0")/lib.sh"

# The sandbox must know where to send its notifications before the server
# starts, and the server where the sandbox is: the server's port comes first.
SERVER_PORT=$("$PORT_HELPER" port)
start sandbox SB_PORT "$SANDBOX" --listen 127.0.0.1:0 \
	--notify-midtrans "http://127.0.0.1:$SERVER_PORT/api/v1/webhooks/payments/sandbox"
mkdir "$WORK/data"
printf '%s\n' "$PASSWORD" | BANGSOLEH_AUTH_PASSWORD_COST=10 "$BANGSOLEH" user add --role admin \
	--username admin --data "$WORK/data" >/dev/null 2>"$WORK/user-add.err"
start bangsoleh PORT env BANGSOLEH_LOG_LEVEL=warn BANGSOLEH_AUTH_PASSWORD_COST=10 \
	BANGSOLEH_PAYMENT_BASE_URL="http://127.0.0.1:$SB_PORT" \
	"$BANGSOLEH" serve --listen "127.0.0.1:$SERVER_PORT" --data "$WORK/data"
SERVER_PID=${PIDS[-1]}

echo "## Orders end to end"
echo
echo "- $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(uname -sr)"
echo "- $ORDERS orders, $CONCURRENCY in flight; server, sandbox and client not pinned"
echo
echo '```'
STATUS=0
"$CLIENT" "$PORT" "$SB_PORT" admin "$PASSWORD" "$ORDERS" "$CONCURRENCY" || STATUS=1
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || STATUS=1
if "$BANGSOLEH" ledger verify --data "$WORK/data" >"$WORK/verify.out" 2>&1; then
	echo "check: ledger verify: PASS ($(tail -n 1 "$WORK/verify.out"))"
else
	echo "check: ledger verify: FAIL"
	tail -n 20 "$WORK/verify.out"
	STATUS=1
fi
echo '```'
exit "$STATUS"
