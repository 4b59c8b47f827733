#!/bin/bash
# Catalogue reads against /healthz on one server holding 100,000 products
# (PRODUCTS to change it). Run by run.sh, or alone as
#   bench_catalogue.sh BANGSOLEH
# Seeds the products with concurrent POSTs (wrk with a Lua script; the
# writer group-commits them), then for each listing variant runs wrk on
# /healthz, on the variant repeated (the rendered-page cache answers after
# the first request) and on the variant rendered every time (a min_price or
# max_price that changes per request and selects the same products, cycling
# through more queries than the cache keeps), alternating within each round;
# then the plain listing with If-None-Match (304). Prints every round, the
# medians and the ratios.
# BASELINE=/path/to/another/bangsoleh adds a column: that build serving a
# copy of the same store (mdb_copy), the variant repeated, in the same rounds.
# Goal: the plain listing of 20 (newest first, repeated) at least 0.5 of /healthz.
set -euo pipefail

if (($# != 1)); then
	echo "usage: $0 BANGSOLEH" >&2
	exit 2
fi
BANGSOLEH=$1
PRODUCTS=${PRODUCTS:-100000}
BASELINE=${BASELINE:-}
ROUNDS=3
WRK_THREADS=1
WRK_CONNECTIONS=64
WRK_DURATION=5s
READY_TIMEOUT=200
GOAL=0.5
PASSWORD=bench-password-1
BUST_QUERIES=1000   # distinct queries of a "rendered" run: more than the cache's 256 pages

BENCH_NAME=bench_catalogue
. "$(dirname "$0")/lib.sh"
bench_cpus 1

json_field() {
	sed -n "s/.*\"$1\":\"\\{0,1\\}\\([^,\"}]*\\).*/\\1/p"
}

mkdir "$WORK/data"
for role in admin merchant; do
	echo "$PASSWORD" | BANGSOLEH_AUTH_PASSWORD_COST=10 "$BANGSOLEH" user add --role "$role" --username "$role" \
		--data "$WORK/data" >/dev/null 2>&1
done
start bangsoleh PORT "${SERVER_CPU[@]}" env BANGSOLEH_LOG_LEVEL=warn "$BANGSOLEH" serve \
	--listen 127.0.0.1:0 --data "$WORK/data"
URL="http://127.0.0.1:$PORT"
TOKEN=$(curl -sf "$URL/api/v1/auth/login" -H 'Content-Type: application/json' \
	-d "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}" | json_field token)
# The store's owner must be a merchant's account.
OWNER=$(curl -sf "$URL/api/v1/auth/login" -H 'Content-Type: application/json' \
	-d "{\"username\":\"merchant\",\"password\":\"$PASSWORD\"}" | json_field token)
OWNER=$(curl -sf "$URL/api/v1/me" -H "Authorization: Bearer $OWNER" | json_field id)
STORE=$(curl -sf "$URL/api/v1/admin/merchants" -H "Authorization: Bearer $TOKEN" \
	-H 'Content-Type: application/json' \
	-d "{\"name\":\"Toko Bench\",\"owner_user_id\":$OWNER,\"city\":\"BANDUNG\",\"postal_code\":\"40111\",\"criteria\":\"UMI\",\"nmid\":\"ID1\"}" |
	json_field id)

# The seed: 64 connections POST products in 10 s runs until PRODUCTS are in
# (the sum of the category counts); numbering goes on from run to run. Each
# description holds one of 300 words varian000..varian299: a word a few
# hundred products share, for the search variant.
cat >"$WORK/seed.lua" <<EOF
local names = { "Rendang", "Keripik", "Kopi", "Sambal", "Dendeng", "Kue", "Bakso", "Martabak", "Serabi", "Tahu" }
local kinds = { "Sapi", "Ayam", "Balado", "Manis", "Pedas", "Original", "Gurih", "Spesial" }
local cats = { "makanan", "minuman", "kue", "lauk", "sambal", "kopi", "oleh-oleh", "kerajinan", "pakaian", "lainnya" }
local n = tonumber(os.getenv("SEED_FROM"))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
request = function()
	n = n + 1
	local body = string.format('{"title":"%s %s %d","price":%d,"stock":100,"category":"%s",' ..
		'"description":"Produk UMKM khas Bandung nomor %d varian%03d"}', names[n % 10 + 1], kinds[n % 8 + 1],
		n, 1000 + (n * 7919) % 199000, cats[(n * 31) % 10 + 1], n, n % 300)
	return wrk.format(nil, "/api/v1/merchants/$STORE/products", nil, body)
end
EOF
count_products() {
	curl -sf "$URL/api/v1/categories" | grep -o '"count":[0-9]*' | awk -F: '{ s += $2 } END { print s + 0 }'
}
t0=$(date +%s.%N)
COUNT=0
while ((COUNT < PRODUCTS)); do
	out=$(SEED_FROM=$((COUNT * 2)) "${CLIENT_CPU[@]}" wrk -t1 -c64 -d10s -s "$WORK/seed.lua" "$URL")
	if grep -qE 'Non-2xx' <<<"$out"; then
		echo "$BENCH_NAME: seeding failed:" >&2
		echo "$out" >&2
		exit 1
	fi
	COUNT=$(count_products)
done
t1=$(date +%s.%N)

# The "rendered" runs: the variant's path with its %d (or %04d) replaced by a
# number that goes round BUST_QUERIES values, one per request.
cat >"$WORK/bust.lua" <<EOF
local path, i = os.getenv("BUST_PATH"), 0
request = function()
	i = (i + 1) % $BUST_QUERIES
	return wrk.format(nil, string.format(path, i))
end
EOF

if [[ -n "$BASELINE" ]]; then
	mkdir "$WORK/base-data"
	mdb_copy "$WORK/data" "$WORK/base-data"
	start baseline BASE_PORT "${SERVER_CPU[@]}" env BANGSOLEH_LOG_LEVEL=warn "$BASELINE" serve \
		--listen 127.0.0.1:0 --data "$WORK/base-data"
fi

echo "## Catalogue: listing with $COUNT products against /healthz"
echo
echo "- CPUs: $(nproc), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "- wrk: -t$WRK_THREADS -c$WRK_CONNECTIONS -d$WRK_DURATION$( ((${#CLIENT_CPU[@]})) && echo ', server on CPU 0, wrk on CPU 1')"
awk -v n="$COUNT" -v a="$t0" -v b="$t1" 'BEGIN { printf "- seeded %d products over HTTP in %.1f s (%.0f/s)\n", n, b - a, n / (b - a) }'
echo "- data.mdb: $(du -m "$WORK/data/data.mdb" | cut -f1) MiB"
echo "- \`q=varian123\`: about $((COUNT / 300)) products"
echo "- load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "Ratios to /healthz of the same round. repeated: the same URL; rendered: each request"
echo "builds its page${BASELINE:+; baseline: $BASELINE, the same URL}."
echo

# path|the same selection with a number that changes per request (prices start at 1,000)
VARIANTS=(
	"/api/v1/products?limit=20|/api/v1/products?limit=20&min_price=%d"
	"/api/v1/products?category=kue&sort=price_asc&limit=20|/api/v1/products?category=kue&sort=price_asc&limit=20&min_price=%d"
	"/api/v1/products?min_price=50000&max_price=60000&limit=20|/api/v1/products?min_price=50000&max_price=6%04d&limit=20"
	"/api/v1/products?q=varian123&limit=20|/api/v1/products?q=varian123&limit=20&min_price=%d"
	"/api/v1/products?q=rend&limit=20|/api/v1/products?q=rend&limit=20&min_price=%d"
)
# ratio H X: X / H to two places.
ratio() {
	awk -v h="$1" -v x="$2" 'BEGIN { printf "%.2f", x / h }'
}
# row CELL...: one table row.
row() {
	printf '| %s ' "$@"
	echo "|"
}
echo "| variant | round | /healthz req/s | repeated req/s | ratio | rendered req/s | ratio${BASELINE:+ | baseline req/s | ratio} |"
echo "|---|---|---|---|---|---|---${BASELINE:+|---|---}|"
for spec in "${VARIANTS[@]}"; do
	v=${spec%%|*}
	H=() R=() RQ=() X=() XQ=() B=() BQ=()
	for ((r = 1; r <= ROUNDS; r++)); do
		H+=("$(rps "$URL/healthz")")
		R+=("$(rps "$URL$v")")
		RQ+=("$(ratio "${H[-1]}" "${R[-1]}")")
		X+=("$(BUST_PATH=${spec#*|} rps "$URL" -s "$WORK/bust.lua")")
		XQ+=("$(ratio "${H[-1]}" "${X[-1]}")")
		if [[ -n "$BASELINE" ]]; then
			B+=("$(rps "http://127.0.0.1:$BASE_PORT$v")")
			BQ+=("$(ratio "${H[-1]}" "${B[-1]}")")
		fi
		row "\`$v\`" "$r" "${H[-1]}" "${R[-1]}" "${RQ[-1]}" "${X[-1]}" "${XQ[-1]}" \
			${BASELINE:+"${B[-1]}" "${BQ[-1]}"}
	done
	# The medians of the figures and of the rounds' own ratios.
	row "\`$v\`" median "$(median "${H[@]}")" "$(median "${R[@]}")" "$(median "${RQ[@]}")" \
		"$(median "${X[@]}")" "$(median "${XQ[@]}")" ${BASELINE:+"$(median "${B[@]}")" "$(median "${BQ[@]}")"}
	if [[ "$v" == "/api/v1/products?limit=20" ]]; then
		PLAIN=$(median "${RQ[@]}")
	fi
done
echo

# The conditional request: the client holds the page's tag and gets 304.
ETAG=$(curl -sfI "$URL/api/v1/products?limit=20" | tr -d '\r' | sed -n 's/^[Ee][Tt][Aa][Gg]: *//p')
echo "| \`products?limit=20\` with If-None-Match (304) | round | /healthz req/s | req/s | ratio |"
echo "|---|---|---|---|---|"
H=() X=() XQ=()
for ((r = 1; r <= ROUNDS; r++)); do
	H+=("$(rps "$URL/healthz")")
	X+=("$(rps "$URL/api/v1/products?limit=20" -H "If-None-Match: $ETAG")")
	XQ+=("$(ratio "${H[-1]}" "${X[-1]}")")
	row 304 "$r" "${H[-1]}" "${X[-1]}" "${XQ[-1]}"
done
row 304 median "$(median "${H[@]}")" "$(median "${X[@]}")" "$(median "${XQ[@]}")"
echo
echo "- load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v q="$PLAIN" -v goal="$GOAL" 'BEGIN {
	printf "- goal (plain listing repeated, median of the rounds, at least %.1f of /healthz): %.2f, %s\n", goal, q,
		(q >= goal ? "met" : "NOT met")
}'
echo
