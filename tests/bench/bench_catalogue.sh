#!/bin/bash
# Catalogue reads against /healthz on one server holding 100,000 products
# (PRODUCTS to change it). Run by run.sh, or alone as
#   bench_catalogue.sh BANGSOLEH
# Seeds the products with concurrent POSTs (wrk with a Lua script; the
# writer group-commits them), then runs wrk on /healthz and on each listing
# variant, alternating A B A B A B, and prints the medians and the ratios.
# Goal: the plain listing of 20 (newest first) at least 0.5 of /healthz.
set -euo pipefail

if (($# != 1)); then
	echo "usage: $0 BANGSOLEH" >&2
	exit 2
fi
BANGSOLEH=$1
PRODUCTS=${PRODUCTS:-100000}
ROUNDS=3
WRK_THREADS=1
WRK_CONNECTIONS=64
WRK_DURATION=5s
READY_TIMEOUT=200
GOAL=0.5
PASSWORD=bench-password-1

BENCH_NAME=bench_catalogue
. "$(dirname "$0")/lib.sh"
bench_cpus 1

# rps URL: Requests/sec of one wrk run; errors void the figure.
rps() {
	local out
	out=$("${CLIENT_CPU[@]}" wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"$WRK_DURATION" "$1")
	if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then
		echo "$BENCH_NAME: wrk reported errors for $1:" >&2
		echo "$out" >&2
		exit 1
	fi
	awk '/^Requests\/sec:/ { print $2 }' <<<"$out"
}

median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

json_field() {
	sed -n "s/.*\"$1\":\"\\{0,1\\}\\([^,\"}]*\\).*/\\1/p"
}

mkdir "$WORK/data"
echo "$PASSWORD" | BANGSOLEH_AUTH_PASSWORD_COST=10 "$BANGSOLEH" user add --role admin --username admin \
	--data "$WORK/data" >/dev/null 2>&1
start bangsoleh PORT "${SERVER_CPU[@]}" env BANGSOLEH_LOG_LEVEL=warn "$BANGSOLEH" serve \
	--listen 127.0.0.1:0 --data "$WORK/data"
URL="http://127.0.0.1:$PORT"
TOKEN=$(curl -sf "$URL/api/v1/auth/login" -H 'Content-Type: application/json' \
	-d "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}" | json_field token)
STORE=$(curl -sf "$URL/api/v1/admin/merchants" -H "Authorization: Bearer $TOKEN" \
	-H 'Content-Type: application/json' \
	-d '{"name":"Toko Bench","owner_user_id":1,"city":"BANDUNG","postal_code":"40111","criteria":"UMI","nmid":"ID1"}' |
	json_field id)

# The seed: each connection POSTs products until PRODUCTS were answered.
cat >"$WORK/seed.lua" <<EOF
local names = { "Rendang", "Keripik", "Kopi", "Sambal", "Dendeng", "Kue", "Bakso", "Martabak", "Serabi", "Tahu" }
local kinds = { "Sapi", "Ayam", "Balado", "Manis", "Pedas", "Original", "Gurih", "Spesial" }
local cats = { "makanan", "minuman", "kue", "lauk", "sambal", "kopi", "oleh-oleh", "kerajinan", "pakaian", "lainnya" }
local n, done = 0, 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
request = function()
	n = n + 1
	local body = string.format('{"title":"%s %s %d","price":%d,"stock":100,"category":"%s",' ..
		'"description":"Produk UMKM khas Bandung nomor %d"}', names[n % 10 + 1], kinds[n % 8 + 1], n,
		1000 + (n * 7919) % 199000, cats[(n * 31) % 10 + 1], n)
	return wrk.format(nil, "/api/v1/merchants/$STORE/products", nil, body)
end
response = function(status)
	if status ~= 201 then error("status " .. status) end
	done = done + 1
	if done >= $PRODUCTS then wrk.thread:stop() end
end
EOF
t0=$(date +%s.%N)
"${CLIENT_CPU[@]}" wrk -t1 -c64 -d600s -s "$WORK/seed.lua" "$URL" >"$WORK/seed.out"
t1=$(date +%s.%N)
COUNT=0
CURSOR=""
# Count what the store holds through the owner's view (100 a page).
while :; do
	page=$(curl -sf "$URL/api/v1/merchants/$STORE/products?limit=100${CURSOR:+&cursor=$CURSOR}" \
		-H "Authorization: Bearer $TOKEN")
	COUNT=$((COUNT + $(grep -o '"id":' <<<"$page" | wc -l)))
	CURSOR=$(sed -n 's/.*"next_cursor":"\([0-9a-f]*\)".*/\1/p' <<<"$page")
	[[ -z "$CURSOR" ]] && break
done

echo "## Catalogue: listing with $COUNT products against /healthz"
echo
echo "- CPUs: $(nproc), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "- wrk: -t$WRK_THREADS -c$WRK_CONNECTIONS -d$WRK_DURATION$( ((${#CLIENT_CPU[@]})) && echo ', server on CPU 0, wrk on CPU 1')"
awk -v n="$COUNT" -v a="$t0" -v b="$t1" 'BEGIN { printf "- seeded %d products over HTTP in %.1f s (%.0f/s)\n", n, b - a, n / (b - a) }'
echo "- data.mdb: $(du -m "$WORK/data/data.mdb" | cut -f1) MiB"
echo

VARIANTS=(
	"/api/v1/products?limit=20"
	"/api/v1/products?category=kue&sort=price_asc&limit=20"
	"/api/v1/products?min_price=50000&max_price=60000&limit=20"
	"/api/v1/products?q=nomor%2012345"
	"/api/v1/products?q=rend&limit=20"
)
echo "| variant | round | /healthz req/s | variant req/s | ratio |"
echo "|---|---|---|---|---|"
for v in "${VARIANTS[@]}"; do
	H_ALL=()
	V_ALL=()
	for ((r = 1; r <= ROUNDS; r++)); do
		h=$(rps "$URL/healthz")
		x=$(rps "$URL$v")
		H_ALL+=("$h")
		V_ALL+=("$x")
		awk -v v="$v" -v r="$r" -v h="$h" -v x="$x" 'BEGIN { printf "| `%s` | %d | %s | %s | %.2f |\n", v, r, h, x, x / h }'
	done
	awk -v v="$v" -v h="$(median "${H_ALL[@]}")" -v x="$(median "${V_ALL[@]}")" -v goal="$GOAL" 'BEGIN {
		printf "| `%s` | median | %s | %s | %.2f%s |\n", v, h, x, x / h,
			(v == "/api/v1/products?limit=20" ? (x / h >= goal ? " (goal met)" : " (goal NOT met)") : "")
	}'
done
echo
