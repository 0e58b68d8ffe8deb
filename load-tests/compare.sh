#!/usr/bin/env bash
# compare.sh: CPU per request, throughput, latency and memory of llm-gateway against nginx as
# a plain reverse proxy, both in front of the same mock upstream.
#
# Run (from anywhere; builds target/release/llm-gateway when missing):
#   load-tests/compare.sh
#   REQUESTS=50000 CONNS=64 THREADS=2 load-tests/compare.sh
#   GATEWAY_BIN=/path/to/llm-gateway load-tests/compare.sh
#
# Env (defaults): REQUESTS=20000 measured requests per run, WARMUP=2000 requests before each
#   run, CONNS=32 wrk connections, THREADS=2 wrk threads, MAX_DURATION=120s upper bound of one
#   wrk run, GATEWAY_BIN (default target/release/llm-gateway, built with cargo if missing),
#   NGINX_BIN (default: nginx on PATH or /usr/sbin/nginx), KEEP_WORK=1 keeps the temp dir.
#
# Starts, on free 127.0.0.1 ports: `llm-gateway mock-upstream`; one nginx (worker_processes 1,
# nginx.conf.template) with two listeners, access_log off and access_log /dev/null; the gateway
# twice (threads = 1), at RUST_LOG=warn and at RUST_LOG=info (one JSON access line per request,
# stdout to /dev/null). For each mode {json: model "echo"; stream: model "tokens;n=16", SSE}
# and each target it runs a wrk warm-up, then a count-bounded wrk run (wrk/chat*.lua), reading
# utime+stime of the proxy process(es) from /proc/PID/stat before and after.
#
# Prints: the idle RSS of every process right after startup, then one table row per run
#   mode, target, requests, req/s, p50 and p99 latency (wrk's histogram, as --latency prints),
#   proxy CPU µs/request = (utime+stime delta in ticks / CLK_TCK) / requests (nginx: master +
#   worker), proxy RSS (VmRSS after the run; nginx: master + worker), and the mock's CPU
#   µs/request for reference,
# then, for each mode, the gateway/nginx ratio of CPU per request and what the access log costs.
# Needs nginx, wrk and curl (python3 optional): installs nginx-light, wrk and curl with apt-get
# when run as root, else prints what to install and exits 2.
# Exits non-zero when a run saw a non-2xx response, a bad body, a socket error or fewer
# responses than asked, or when one of the processes died. All processes are stopped on exit.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

REQUESTS=${REQUESTS:-20000}
WARMUP=${WARMUP:-2000}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}
MAX_DURATION=${MAX_DURATION:-120s}
KEEP_WORK=${KEEP_WORK:-0}
CLK_TCK=$(getconf CLK_TCK)

log() { printf '%s\n' "$*" >&2; }
die() { log "compare.sh: $*"; exit 1; }

# ------------------------------------------------------------------------------------- tools
find_nginx() {
    if [[ -n ${NGINX_BIN:-} ]]; then [[ -x $NGINX_BIN ]] && echo "$NGINX_BIN"
    elif command -v nginx >/dev/null 2>&1; then command -v nginx
    elif [[ -x /usr/sbin/nginx ]]; then echo /usr/sbin/nginx
    fi
}

ensure_tools() {
    local missing=()
    if [[ -n ${NGINX_BIN:-} && ! -x $NGINX_BIN ]]; then die "NGINX_BIN=$NGINX_BIN is not executable"; fi
    [[ -n $(find_nginx) ]] || missing+=(nginx-light)
    command -v wrk >/dev/null 2>&1 || missing+=(wrk)
    command -v curl >/dev/null 2>&1 || missing+=(curl)
    ((${#missing[@]} == 0)) && return 0
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        log "installing ${missing[*]} with apt-get"
        if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >&2; then
            die "apt-get install ${missing[*]} failed"
        fi
    else
        log "compare.sh needs: ${missing[*]}"
        log "install them, e.g. on Debian/Ubuntu: sudo apt-get install -y ${missing[*]}"
        exit 2
    fi
    if [[ -z $(find_nginx) ]] || ! command -v wrk >/dev/null || ! command -v curl >/dev/null; then
        die "still missing a tool after apt-get install"
    fi
}

ensure_gateway() {
    if [[ -n ${GATEWAY_BIN:-} ]]; then
        [[ -x $GATEWAY_BIN ]] || die "GATEWAY_BIN=$GATEWAY_BIN is not executable"
        return
    fi
    GATEWAY_BIN=$ROOT/target/release/llm-gateway
    if [[ ! -x $GATEWAY_BIN ]]; then
        log "building $GATEWAY_BIN (cargo build --release)"
        (cd "$ROOT" && cargo build --release) >&2 || die "cargo build --release failed"
    fi
}

# ------------------------------------------------------------------------------------- helpers
# N distinct free TCP ports on 127.0.0.1 (all bound at once, so they differ).
free_ports() {
    local n=$1
    if command -v python3 >/dev/null 2>&1; then
        python3 - "$n" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
        return
    fi
    local ports=() p tries=0
    while ((${#ports[@]} < n)); do
        ((++tries < 500)) || die "no free port found"
        p=$((20000 + RANDOM % 40000))
        [[ " ${ports[*]} " == *" $p "* ]] && continue
        # Nothing answers a connect: treat as free.
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then ports+=("$p"); fi
    done
    echo "${ports[*]}"
}

# alive PID: the process exists and is not a zombie.
alive() {
    local state
    [[ -r /proc/$1/stat ]] || return 1
    state=$(<"/proc/$1/stat") || return 1
    state=${state##*) }
    [[ ${state%% *} != Z ]]
}

# Sum of utime+stime (clock ticks) over PIDs, from /proc/PID/stat fields 14 and 15.
cpu_ticks() {
    local total=0 pid s f
    for pid in "$@"; do
        s=$(<"/proc/$pid/stat") || die "process $pid is gone"
        read -ra f <<<"${s##*) }"    # f[0] is field 3 (state): utime = f[11], stime = f[12]
        total=$((total + f[11] + f[12]))
    done
    echo "$total"
}

# Sum of VmRSS (kB) over PIDs.
rss_kb() {
    local total=0 pid kb
    for pid in "$@"; do
        kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status") || die "process $pid is gone"
        total=$((total + ${kb:-0}))
    done
    echo "$total"
}

mib() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }

# wait_health NAME PID URL: poll URL until it answers 2xx (at most ~20 s), or die.
wait_health() {
    local name=$1 pid=$2 url=$3 i
    for ((i = 0; i < 200; i++)); do
        alive "$pid" || { tail -n 20 "$WORK/$name.err" >&2 || true; die "$name (pid $pid) exited during startup"; }
        if curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    tail -n 20 "$WORK/$name.err" >&2 || true
    die "$name did not answer $url within 20 s"
}

# The nginx worker PID(s) of the master.
nginx_workers() {
    local pids
    pids=$(pgrep -P "$NGINX_PID" 2>/dev/null || ps -o pid= --ppid "$NGINX_PID" || true)
    echo "$pids" | xargs
}

# ------------------------------------------------------------------------------------- cleanup
PIDS=()                         # "PID:SIGNAL" of every process we started
WORK=""
FAILED=0

cleanup() {
    local rc=$? pid i
    trap - EXIT INT TERM
    if [[ -n ${WRK_PID:-} ]]; then kill -INT "$WRK_PID" 2>/dev/null || true; fi
    # The gateway (Pingora) stops at once on SIGINT (SIGTERM is graceful); nginx and the mock
    # stop at once on SIGTERM.
    for pid in "${PIDS[@]}"; do kill "-${pid#*:}" "${pid%%:*}" 2>/dev/null || true; done
    for ((i = 0; i < 50; i++)); do
        local left=0
        for pid in "${PIDS[@]}"; do alive "${pid%%:*}" && left=1; done
        ((left)) || break
        sleep 0.1
    done
    for pid in "${PIDS[@]}"; do
        if alive "${pid%%:*}"; then kill -KILL "${pid%%:*}" 2>/dev/null || true; fi
    done
    wait 2>/dev/null || true
    if [[ -n $WORK && -d $WORK ]]; then
        if [[ $KEEP_WORK == 1 || $rc != 0 ]]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------------------------- start
ensure_tools
ensure_gateway
NGINX=$(find_nginx)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/llm-gw-load.XXXXXX")
chmod 711 "$WORK"    # nginx workers run as "nobody" when started by root
mkdir -p "$WORK/tmp"

read -r MOCK_PORT NGINX_PORT NGINX_LOG_PORT GW_WARN_PORT GW_INFO_PORT <<<"$(free_ports 5)"

log "mock upstream on :$MOCK_PORT"
"$GATEWAY_BIN" mock-upstream --host 127.0.0.1 --port "$MOCK_PORT" >"$WORK/mock.out" 2>"$WORK/mock.err" &
MOCK_PID=$!
PIDS+=("$MOCK_PID:TERM")
wait_health mock "$MOCK_PID" "http://127.0.0.1:$MOCK_PORT/health"

sed -e "s#@WORKDIR@#$WORK#g" -e "s#@MOCK_PORT@#$MOCK_PORT#g" \
    -e "s#@PORT_NOLOG@#$NGINX_PORT#g" -e "s#@PORT_LOG@#$NGINX_LOG_PORT#g" \
    "$HERE/nginx.conf.template" >"$WORK/nginx.conf"
log "nginx on :$NGINX_PORT (access_log off) and :$NGINX_LOG_PORT (access_log /dev/null)"
"$NGINX" -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf" >"$WORK/nginx.out" 2>"$WORK/nginx.err" &
NGINX_PID=$!
PIDS+=("$NGINX_PID:TERM")
wait_health nginx "$NGINX_PID" "http://127.0.0.1:$NGINX_PORT/health"
wait_health nginx "$NGINX_PID" "http://127.0.0.1:$NGINX_LOG_PORT/health"
NGINX_WORKER=$(nginx_workers)
[[ -n $NGINX_WORKER && $NGINX_WORKER != *" "* ]] || die "expected one nginx worker, got '$NGINX_WORKER'"

gateway_config() {    # gateway_config PORT
    cat <<EOF
[server]
host = "127.0.0.1"
port = $1
threads = 1

[[providers]]
id = "mock"
provider_type = "openai"
endpoint = "http://127.0.0.1:$MOCK_PORT/v1"
api_key = "sk-load-test"
models = ["echo", "tokens;n=16"]
EOF
}
gateway_config "$GW_WARN_PORT" >"$WORK/gw-warn.toml"
gateway_config "$GW_INFO_PORT" >"$WORK/gw-info.toml"

log "gateway on :$GW_WARN_PORT (RUST_LOG=warn) and :$GW_INFO_PORT (RUST_LOG=info, stdout to /dev/null)"
RUST_LOG=warn "$GATEWAY_BIN" -c "$WORK/gw-warn.toml" >"$WORK/gw-warn.out" 2>"$WORK/gw-warn.err" &
GW_WARN_PID=$!
PIDS+=("$GW_WARN_PID:INT")
RUST_LOG=info "$GATEWAY_BIN" -c "$WORK/gw-info.toml" >/dev/null 2>"$WORK/gw-info.err" &
GW_INFO_PID=$!
PIDS+=("$GW_INFO_PID:INT")
wait_health gw-warn "$GW_WARN_PID" "http://127.0.0.1:$GW_WARN_PORT/health"
wait_health gw-info "$GW_INFO_PID" "http://127.0.0.1:$GW_INFO_PORT/health"

IDLE_GW_WARN=$(rss_kb "$GW_WARN_PID")
IDLE_GW_INFO=$(rss_kb "$GW_INFO_PID")
IDLE_NGINX=$(rss_kb "$NGINX_PID" "$NGINX_WORKER")
IDLE_MOCK=$(rss_kb "$MOCK_PID")

# Every process we depend on is still there (nginx: same worker, not a respawned one).
check_alive() {
    local name pid
    for name in mock:$MOCK_PID nginx-master:$NGINX_PID nginx-worker:$NGINX_WORKER \
        gateway-warn:$GW_WARN_PID gateway-info:$GW_INFO_PID; do
        pid=${name#*:}
        alive "$pid" || { log "FAIL: ${name%%:*} (pid $pid) died"; return 1; }
    done
}

# ------------------------------------------------------------------------------------- runs
# run_wrk SCRIPT MODEL URL COUNT OUTFILE: a count-bounded wrk run, its report in OUTFILE.
# Stops wrk early (SIGINT, so it still reports) when one of our processes dies meanwhile.
WRK_PID=""
run_wrk() {
    local script=$1 model=$2 url=$3 count=$4 out=$5 rc=0
    env REQUESTS="$count" THREADS="$THREADS" MODEL="$model" wrk -t"$THREADS" -c"$CONNS" \
        -d"$MAX_DURATION" --timeout 10s --latency -s "$HERE/wrk/$script" "$url/v1/chat/completions" \
        >"$out" 2>&1 &
    WRK_PID=$!
    while alive "$WRK_PID"; do
        if ! check_alive; then
            kill -INT "$WRK_PID" 2>/dev/null || true
            break
        fi
        sleep 0.5
    done
    wait "$WRK_PID" || rc=$?
    WRK_PID=""
    if ((rc != 0)) || ! grep -q '^RESULT ' "$out" 2>/dev/null; then
        cat "$out" >&2 2>/dev/null || true
        return 1
    fi
}

# field KEY FILE: the value of KEY=... on the RESULT line.
field() { awk -v k="$1" '$1 == "RESULT" { for (i = 2; i <= NF; i++) if (index($i, k "=") == 1) print substr($i, length(k) + 2) }' "$2"; }

ROWS=()                         # "mode target requests rps p50_ms p99_ms cpu_us rss_mib mock_us"
declare -A CPU_US=()

# measure MODE TARGET URL PID...: warm-up, measured run, one table row.
measure() {
    local mode=$1 target=$2 url=$3
    shift 3
    local pids=("$@") script=chat.lua model=echo
    if [[ $mode == stream ]]; then script=chat_stream.lua model="tokens;n=16"; fi
    local base="$WORK/$mode-$target"

    log "[$mode] $target: warm-up ($WARMUP requests)"
    run_wrk "$script" "$model" "$url" "$WARMUP" "$base.warmup.txt" || { log "FAIL: warm-up of $target"; return 1; }
    check_result "$mode" "$target" "$base.warmup.txt" "$WARMUP" || return 1

    log "[$mode] $target: measured run ($REQUESTS requests, $CONNS connections, $THREADS threads)"
    local t0 m0 t1 m1
    t0=$(cpu_ticks "${pids[@]}")
    m0=$(cpu_ticks "$MOCK_PID")
    run_wrk "$script" "$model" "$url" "$REQUESTS" "$base.txt" || { log "FAIL: run of $target"; return 1; }
    t1=$(cpu_ticks "${pids[@]}")
    m1=$(cpu_ticks "$MOCK_PID")
    local rss
    rss=$(rss_kb "${pids[@]}")
    check_result "$mode" "$target" "$base.txt" "$REQUESTS" || FAILED=1

    local n rps p50 p99 cpu mock
    n=$(field requests "$base.txt")
    rps=$(field rps "$base.txt")
    p50=$(field p50_us "$base.txt")
    p99=$(field p99_us "$base.txt")
    cpu=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$n" 'BEGIN { printf "%.1f", d / hz * 1e6 / n }')
    mock=$(awk -v d=$((m1 - m0)) -v hz="$CLK_TCK" -v n="$n" 'BEGIN { printf "%.1f", d / hz * 1e6 / n }')
    CPU_US[$mode/$target]=$cpu
    ROWS+=("$mode $target $n $rps $(awk -v a="$p50" -v b="$p99" 'BEGIN { printf "%.2f %.2f", a / 1000, b / 1000 }') $cpu $(mib "$rss") $mock")
    check_alive || FAILED=1
}

# check_result MODE TARGET FILE EXPECTED: no non-2xx, bad body, socket error or short count.
check_result() {
    local mode=$1 target=$2 file=$3 want=$4 k v bad=0
    for k in non2xx badbody errors_connect errors_read errors_write errors_timeout; do
        v=$(field "$k" "$file")
        if [[ ${v:-x} != 0 ]]; then log "FAIL: [$mode] $target: $k=$v (see $file)"; bad=1; fi
    done
    v=$(field requests "$file")
    if ((${v:-0} < want)); then log "FAIL: [$mode] $target: $v responses, expected $want"; bad=1; fi
    return "$bad"
}

echo "llm-gateway vs nginx load comparison, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(uname -sr)"
echo "gateway: $GATEWAY_BIN ($("$GATEWAY_BIN" --version 2>/dev/null | head -n1)), threads = 1"
echo "nginx:   $("$NGINX" -v 2>&1 | sed 's/^nginx version: //'), worker_processes 1; wrk $(wrk -v 2>&1 | awk 'NR==1 {print $2}')"
echo "load:    REQUESTS=$REQUESTS (after WARMUP=$WARMUP) CONNS=$CONNS THREADS=$THREADS, wrk and mock on the same machine"
echo
echo "idle RSS right after startup: gateway(warn) $(mib "$IDLE_GW_WARN") MiB, gateway(info) $(mib "$IDLE_GW_INFO") MiB," \
    "nginx(master+worker) $(mib "$IDLE_NGINX") MiB, mock $(mib "$IDLE_MOCK") MiB"
echo

# target name, port, PIDs whose CPU and RSS count
TARGETS=(
    "nginx $NGINX_PORT $NGINX_PID $NGINX_WORKER"
    "nginx-log $NGINX_LOG_PORT $NGINX_PID $NGINX_WORKER"
    "gateway-warn $GW_WARN_PORT $GW_WARN_PID"
    "gateway-info $GW_INFO_PORT $GW_INFO_PID"
)
for mode in json stream; do
    for spec in "${TARGETS[@]}"; do
        read -r target port pids <<<"$spec"
        check_alive || { FAILED=1; break 2; }
        # shellcheck disable=SC2086  # pids: one or two PIDs
        measure "$mode" "$target" "http://127.0.0.1:$port" $pids || FAILED=1
    done
done

# ------------------------------------------------------------------------------------- report
table_row() { printf '%-7s %-13s %9s %10s %9s %9s %12s %9s %12s\n' "$@"; }
echo
table_row mode target requests "req/s" "p50 ms" "p99 ms" "CPU us/req" "RSS MiB" "mock us/req"
table_row ------- ------------- --------- ---------- --------- --------- ------------ --------- ------------
for row in "${ROWS[@]}"; do
    # shellcheck disable=SC2086  # a row is nine space-separated fields
    table_row $row
done
echo
echo "targets: nginx = access_log off; nginx-log = access_log /dev/null (JSON format);"
echo "         gateway-warn = RUST_LOG=warn; gateway-info = RUST_LOG=info (access log to /dev/null)"
echo "CPU us/req = (utime+stime delta of the proxy, /proc/PID/stat, nginx master+worker) / requests"
echo

ratio() { awk -v a="${CPU_US[$1]:-}" -v b="${CPU_US[$2]:-}" 'BEGIN { if (a == "" || b == "" || b == 0) print "n/a"; else printf "%.2fx", a / b }'; }
delta() { awk -v a="${CPU_US[$1]:-}" -v b="${CPU_US[$2]:-}" 'BEGIN { if (a == "" || b == "") print "n/a"; else printf "%+.1f us/req", a - b }'; }
for mode in json stream; do
    printf 'CPU per request, %-6s gateway-warn / nginx = %s, gateway-info / nginx-log = %s\n' "$mode:" \
        "$(ratio "$mode/gateway-warn" "$mode/nginx")" "$(ratio "$mode/gateway-info" "$mode/nginx-log")"
done
for mode in json stream; do
    printf 'access-log cost, %-6s gateway (info - warn) %s, nginx (log - off) %s\n' "$mode:" \
        "$(delta "$mode/gateway-info" "$mode/gateway-warn")" "$(delta "$mode/nginx-log" "$mode/nginx")"
done

if ((FAILED)); then
    echo
    echo "FAILED: see the messages above (wrk reports in $WORK)"
    exit 1
fi
