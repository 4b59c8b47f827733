# Shared by the benchmark scripts (sourced): a scratch folder on disk, the
# programs they start, and CPU placement. The caller sets BENCH_NAME (for
# messages and the folder's name) and READY_TIMEOUT (tenths of a second).

# On disk next to the build, not on a tmpfs: the benchmarks measure fsync.
WORK=$(mktemp -d "${MESON_BUILD_ROOT:-${TMPDIR:-/tmp}}/$BENCH_NAME.XXXXXX")
PIDS=()

bench_cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap bench_cleanup EXIT

# bench_cpus PIN: with PIN=1 and two CPUs or more, servers go on CPU 0 and
# the load generator on CPU 1 (SERVER_CPU and CLIENT_CPU prefix commands).
bench_cpus() {
	if (($(nproc) >= 2)) && [[ "$1" == 1 ]]; then
		SERVER_CPU=(taskset -c 0)
		CLIENT_CPU=(taskset -c 1)
	else
		SERVER_CPU=()
		CLIENT_CPU=()
	fi
}

# start NAME VAR CMD...: starts a program writing to $WORK/NAME.{out,err},
# waits for its `listening on http://127.0.0.1:PORT` line, sets VAR to PORT.
start() {
	local name=$1 var=$2 port="" i
	shift 2
	# Made here, not by the child's redirections, so the first read below never races them.
	: >"$WORK/$name.out"
	: >"$WORK/$name.err"
	"$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
	PIDS+=($!)
	for ((i = 0; i < READY_TIMEOUT; i++)); do
		port=$(sed -n 's|.* listening on http://127\.0\.0\.1:\([0-9][0-9]*\)$|\1|p' "$WORK/$name.out")
		[[ -n "$port" ]] && break
		kill -0 "${PIDS[-1]}" 2>/dev/null || break
		sleep 0.1
	done
	if [[ -z "$port" ]]; then
		echo "$BENCH_NAME: $name did not start; its stderr:" >&2
		tail -n 20 "$WORK/$name.err" >&2
		exit 1
	fi
	printf -v "$var" '%s' "$port"
}

# rps URL [WRK_ARG...]: Requests/sec of one wrk run with the caller's
# WRK_THREADS, WRK_CONNECTIONS and WRK_DURATION (extra arguments: a script,
# a header). Errors (non-2xx or -3xx, socket errors) void the run: a fast
# wrong answer is no figure.
rps() {
	local url=$1 out
	shift
	out=$("${CLIENT_CPU[@]}" wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"$WRK_DURATION" "$@" "$url")
	if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then
		echo "$BENCH_NAME: wrk reported errors for $url:" >&2
		echo "$out" >&2
		exit 1
	fi
	awk '/^Requests\/sec:/ { print $2 }' <<<"$out"
}

# median N...: the middle value (the lower middle of an even count).
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
