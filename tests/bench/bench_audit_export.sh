#!/usr/bin/env bash
# `bangsoleh audit verify` throughput (goal: 1,000,000 entries/s, issue 7).
#
# usage: tests/bench/bench_audit_export.sh BANGSOLEH [TRANSFERS]
#
# Makes a ledger of TRANSFERS (default 2,000,000) transfers between 10,000
# accounts with `ledger bench --data`, signs a checkpoint of it (the server
# started on that data folder, an admin signed in, POST
# /api/v1/audit/checkpoints, the server stopped), exports the whole log with
# `audit export`, and runs `audit verify` on the export, which prints the
# entries checked per second. Needs curl. Prints the machine and the figures.
set -euo pipefail

BANGSOLEH=$(realpath "$1")
TRANSFERS=${2:-2000000}
BENCH_NAME=bench_audit_export
READY_TIMEOUT=600
# shellcheck source=tests/bench/lib.sh
source "$(dirname "$0")/lib.sh"

PASSWORD=bench-audit-export-password
DATA="$WORK/data"

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)"
"$BANGSOLEH" ledger bench --accounts 10000 --transfers "$TRANSFERS" --data "$DATA" | grep -E 'transfers/s|on disk'

printf '%s\n' "$PASSWORD" | BANGSOLEH_AUTH_PASSWORD_COST=10 \
	"$BANGSOLEH" user add --role admin --username bench --data "$DATA" >/dev/null 2>&1
start bangsoleh PORT env BANGSOLEH_LOG_LEVEL=warn BANGSOLEH_AUTH_PASSWORD_COST=10 \
	"$BANGSOLEH" serve --listen 127.0.0.1:0 --data "$DATA"
TOKEN=$(curl -sf "http://127.0.0.1:$PORT/api/v1/auth/login" -H 'Content-Type: application/json' \
	-d "{\"username\":\"bench\",\"password\":\"$PASSWORD\"}" | sed -n 's/.*"token": *"\([^"]*\)".*/\1/p')
curl -sf -X POST "http://127.0.0.1:$PORT/api/v1/audit/checkpoints" -H "Authorization: Bearer $TOKEN" >/dev/null
kill -TERM "${PIDS[-1]}"
wait "${PIDS[-1]}" || true
PIDS=()

start_ns=$(date +%s%N)
"$BANGSOLEH" audit export --data "$DATA" --from 2000-01-01 --to 2100-01-01 --out "$WORK/export"
echo "export: $(( ($(date +%s%N) - start_ns) / 1000000 )) ms, $(du -sm "$WORK/export" | cut -f1) MiB"
/usr/bin/time -f 'verify: %e s elapsed, %U s user, %S s system, %M KiB peak' \
	"$BANGSOLEH" audit verify "$WORK/export"
