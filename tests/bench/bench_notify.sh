#!/bin/bash
# Verified payment notifications per second, committed to the ledger, over
# HTTP. Run as
#   bench_notify.sh BANGSOLEH SANDBOX BENCH_NOTIFY
# (`ninja -C build bench_notify`, and at the end of tests/bench/run.sh).
#
# The sandbox provider and the server (log level warn) on loopback; N
# in-store charges made through the API (BENCH_NOTIFY_CHARGES, default
# 20000); one signed Midtrans settlement notification per charge; wrk fires
# them with 256 connections (NOTIFY_CONNECTIONS) at the webhook endpoint, in
# order, until each was applied once. The server and wrk share both CPUs;
# NOTIFY_PIN=1 pins the server to CPU 0 and wrk to CPU 1 instead. Prints notifications applied per second (first request to
# last applied answer) and the latency percentiles, then checks that every
# payment is paid, that the merchant holds exactly N payments, and
# `bangsoleh ledger verify`. Goal: >= 20,000 notifications/s.
set -euo pipefail

if (($# != 3)); then
	echo "usage: $0 BANGSOLEH SANDBOX BENCH_NOTIFY" >&2
	exit 2
fi
BANGSOLEH=$1
SANDBOX=$2
HELPER=$3

CHARGES=${BENCH_NOTIFY_CHARGES:-20000}
WRK_CONNECTIONS=${NOTIFY_CONNECTIONS:-256}
WRK_LIMIT=${BENCH_NOTIFY_LIMIT:-20s} # wrk's -d: the run itself ends with the last answer, wrk after this
READY_TIMEOUT=200 # tenths of a second to wait for a ready line
PASSWORD=bench-password-1
GOAL=20000

BENCH_NAME=bench_notify
. "$(dirname "$0")/lib.sh"
bench_cpus "${NOTIFY_PIN:-0}"

# wrk's script (one thread): the prepared requests in order, round and
# round; the run ends when every notification was applied (the last ones'
# duplicates in flight are answered "duplicate"). It is timed from the first
# request to the last applied answer with clock_gettime through LuaJIT's FFI,
# as wrk's own duration is always its -d limit. (wrk calls request() once
# before the run to check it; the round trip makes that one go out too.)
cat >"$WORK/notify.lua" <<'LUA'
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock, bench_timespec *ts);
]]
local ts = ffi.new("bench_timespec")
local function now()
	ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
	return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
end

local reqs, n, i = {}, 0, 0
applied, answered, first, last = 0, 0, 0, 0
local threads = {}

function setup(thread)
	table.insert(threads, thread)
end

function init(args)
	local headers = { ["Content-Type"] = "application/json" }
	for line in io.lines(args[1]) do
		n = n + 1
		reqs[n] = wrk.format("POST", "/api/v1/webhooks/payments/sandbox", headers, line)
	end
end

function request()
	-- Until the first answer, the run is starting: its start is the newest of these.
	if answered == 0 then
		first = now()
	end
	i = i % n + 1
	return reqs[i]
end

function response(status, headers, body)
	answered = answered + 1
	if status == 200 and body:find('"applied"', 1, true) then
		applied = applied + 1
		if applied == n then
			last = now()
			wrk.thread:stop()
		end
	end
end

function done(summary, latency, requests)
	local t = threads[1]
	-- last stays 0 when not every notification was applied within -d.
	local secs = t:get("last") - t:get("first")
	io.write(string.format("applied %d (%d answers) in %.3f s: %.0f notifications/s\n",
		t:get("applied"), t:get("answered"), secs, secs > 0 and t:get("applied") / secs or 0))
	io.write(string.format("latency ms: p50 %.2f p90 %.2f p99 %.2f max %.2f\n",
		latency:percentile(50) / 1000, latency:percentile(90) / 1000,
		latency:percentile(99) / 1000, latency.max / 1000))
end
LUA

SERVER_PORT=$("$HELPER" port)
start sandbox SB_PORT "$SANDBOX" --listen 127.0.0.1:0 \
	--notify-midtrans "http://127.0.0.1:$SERVER_PORT/api/v1/webhooks/payments/sandbox"
mkdir "$WORK/data"
printf '%s\n' "$PASSWORD" | BANGSOLEH_AUTH_PASSWORD_COST=10 "$BANGSOLEH" user add --role admin \
	--username admin --data "$WORK/data" >/dev/null
start bangsoleh PORT env BANGSOLEH_LOG_LEVEL=warn BANGSOLEH_AUTH_PASSWORD_COST=10 \
	BANGSOLEH_PAYMENT_BASE_URL="http://127.0.0.1:$SB_PORT" \
	"${SERVER_CPU[@]}" "$BANGSOLEH" serve --listen "127.0.0.1:$SERVER_PORT" --data "$WORK/data"
SERVER_PID=${PIDS[-1]}

echo "## Payment notifications: verified, applied and committed per second"
echo
echo "- $CHARGES in-store charges (UMI, Rp150,000), one signed settlement notification each"
echo "- wrk -t1 -c$WRK_CONNECTIONS on POST /api/v1/webhooks/payments/sandbox$( ((${#CLIENT_CPU[@]})) && echo ', server on CPU 0, wrk on CPU 1')"
echo
echo '```'
"$HELPER" prepare "127.0.0.1:$PORT" admin "$PASSWORD" "$CHARGES" "$WORK/notes.txt"
OUT=$("${CLIENT_CPU[@]}" wrk -t1 -c"$WRK_CONNECTIONS" -d"$WRK_LIMIT" --latency -s "$WORK/notify.lua" \
	"http://127.0.0.1:$PORT" -- "$WORK/notes.txt")
if grep -qE 'Non-2xx|Socket errors' <<<"$OUT"; then
	echo "bench_notify: wrk reported errors:" >&2
	echo "$OUT" >&2
	exit 1
fi
grep -E '^(applied|latency ms)' <<<"$OUT"
"$HELPER" verify "127.0.0.1:$PORT" admin "$PASSWORD" "$WORK/notes.txt"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
"$BANGSOLEH" ledger verify --data "$WORK/data" | tail -n 1
echo '```'
echo
awk -v rate="$(sed -n 's/^applied .* s: \([0-9]*\) notifications.*/\1/p' <<<"$OUT")" \
	-v goal="$GOAL" 'BEGIN {
	printf "Notifications/s: %d (goal >= %d: %s)\n", rate, goal, (rate >= goal ? "met" : "NOT met")
}'
