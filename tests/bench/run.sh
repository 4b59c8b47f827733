#!/bin/bash
# Benchmarks: bangsoleh's HTTP path against a bare evhttp server, then the
# store. Run by `ninja -C build bench` as
#   run.sh BANGSOLEH HELLO_SERVER BENCH_STORE SANDBOX BENCH_NOTIFY BENCH_ORDERS
# Prints plain text meant to be pasted into docs/benchmarks.md.
#
# HTTP: wrk on GET /api/v1/ping (bangsoleh) and on hello_server (same reply,
# no router, logging or metrics), alternating A B A B A B so drift in the
# machine hits both alike; the servers share CPU 0 and wrk runs on CPU 1
# when there are two CPUs or more. Goal: bangsoleh/bare >= 0.8.
set -euo pipefail

if (($# != 6)); then
	echo "usage: $0 BANGSOLEH HELLO_SERVER BENCH_STORE SANDBOX BENCH_NOTIFY BENCH_ORDERS" >&2
	exit 2
fi
BANGSOLEH=$1
HELLO=$2
BENCH_STORE=$3
SANDBOX=$4
BENCH_NOTIFY=$5
BENCH_ORDERS=$6

ROUNDS=3          # A B pairs
WRK_THREADS=1
WRK_CONNECTIONS=64
WRK_DURATION=5s
READY_TIMEOUT=200 # tenths of a second to wait for a server's ready line
GOAL=0.8

BENCH_NAME=bench
. "$(dirname "$0")/lib.sh"
bench_cpus 1

echo "## Machine"
echo
echo "- CPUs: $(nproc), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "- Kernel: $(uname -srm)"
echo "- Bench folder filesystem: $(stat -f -c %T "$WORK")"
echo "- wrk: -t$WRK_THREADS -c$WRK_CONNECTIONS -d$WRK_DURATION$( ((${#CLIENT_CPU[@]})) && echo ', servers on CPU 0, wrk on CPU 1')"
echo

mkdir "$WORK/data"
# Warnings and errors only: the per-request access log stays off the hot path.
start bangsoleh A_PORT "${SERVER_CPU[@]}" env BANGSOLEH_LOG_LEVEL=warn "$BANGSOLEH" serve \
	--listen 127.0.0.1:0 --data "$WORK/data"
start hello B_PORT "${SERVER_CPU[@]}" "$HELLO" 0
A_URL="http://127.0.0.1:$A_PORT/api/v1/ping"
B_URL="http://127.0.0.1:$B_PORT/"

echo "## HTTP: GET /api/v1/ping vs bare evhttp"
echo
echo "| round | bangsoleh req/s | bare evhttp req/s |"
echo "|---|---|---|"
A_ALL=()
B_ALL=()
for ((r = 1; r <= ROUNDS; r++)); do
	a=$(rps "$A_URL")
	b=$(rps "$B_URL")
	A_ALL+=("$a")
	B_ALL+=("$b")
	echo "| $r | $a | $b |"
done
A_MED=$(median "${A_ALL[@]}")
B_MED=$(median "${B_ALL[@]}")
echo "| median | $A_MED | $B_MED |"
echo
awk -v a="$A_MED" -v b="$B_MED" -v goal="$GOAL" 'BEGIN {
	ratio = a / b
	printf "Ratio bangsoleh/bare: %.2f (goal >= %.1f: %s)\n", ratio, goal, (ratio >= goal ? "met" : "NOT met")
}'
echo

echo "## Store"
echo
mkdir "$WORK/store"
"$BENCH_STORE" --dir "$WORK/store"
echo

# The ledger benchmark: 10,000 accounts, 5,000,000 transfers in batches of
# 8189, then the verifier over the result. LEDGER_ROUNDS runs show the spread.
echo "## Ledger"
echo
for ((r = 1; r <= ${LEDGER_ROUNDS:-3}; r++)); do
	echo "### round $r"
	echo
	echo '```'
	(cd "$WORK" && "$BANGSOLEH" ledger bench --verify 2>&1 | grep -v '^{')
	echo '```'
	echo
done

# Verified payment notifications per second, HTTP in (bench_notify.sh).
"$(dirname "$0")/bench_notify.sh" "$BANGSOLEH" "$SANDBOX" "$BENCH_NOTIFY"

# Courier status webhooks per second, HTTP in (bench_courier.sh).
"$(dirname "$0")/bench_courier.sh" "$BANGSOLEH" "$SANDBOX" "$BENCH_NOTIFY"

# Catalogue listings with 100,000 products against /healthz (bench_catalogue.sh).
"$(dirname "$0")/bench_catalogue.sh" "$BANGSOLEH"

# Orders end to end, checkout to completion, through the HTTP API (bench_orders.sh).
"$(dirname "$0")/bench_orders.sh" "$BANGSOLEH" "$SANDBOX" "$BENCH_ORDERS" "$BENCH_NOTIFY"
