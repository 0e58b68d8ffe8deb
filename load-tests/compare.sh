#!/usr/bin/env bash
# compare.sh: CPU per request, throughput, latency and memory of llm-gateway against nginx as
# a plain reverse proxy, both in front of the same mock upstream.
#
# Run (from anywhere; builds target/release/llm-gateway when missing):
#   load-tests/compare.sh
#   REQUESTS=50000 CONNS=64 THREADS=2 load-tests/compare.sh
#   MODES="oa2an an2oa" load-tests/compare.sh
#   GATEWAY_BIN=/path/to/llm-gateway load-tests/compare.sh
#
# Env (defaults): MODES="json stream oa2an an2oa" (any subset; run in the order given),
#   REQUESTS=20000 measured requests per run, WARMUP=2000 requests before each
#   run, ROUNDS=3 rounds (each runs every mode against every target, in turn, so the targets
#   see the machine in the same states; the summary takes medians over the rounds), CONNS=32 wrk connections, THREADS=2 wrk threads, MAX_DURATION=120s upper bound of one
#   wrk run, GATEWAY_BIN (default target/release/llm-gateway, built with cargo if missing),
#   NGINX_BIN (default: nginx on PATH or /usr/sbin/nginx), KEEP_WORK=1 keeps the temp dir,
#   GATEWAY_EXTRA (TOML appended to the gateway's config; @WORK@ = the temp dir, @PORT@ = the
#   gateway's port), e.g. GATEWAY_EXTRA=$'[database]\nurl = "sqlite://@WORK@/r@PORT@.db"'.
#   GATEWAY_KEY: an API key every request to a gateway presents (declare it in GATEWAY_EXTRA).
#   BASELINE=1 adds a fifth target, gateway-base: one more gateway at RUST_LOG=warn, run by
#   BASELINE_BIN (default GATEWAY_BIN) with BASELINE_EXTRA in place of GATEWAY_EXTRA, measured
#   in the same rounds, and prints gateway-warn / gateway-base: an A/B of two builds or two
#   configs in one sitting (e.g. records on vs off).
#
# Starts, on free 127.0.0.1 ports: `llm-gateway mock-upstream`; one nginx (worker_processes 1,
# nginx.conf.template) with two listeners, access_log off and access_log /dev/null; the gateway
# twice (threads = 1), at RUST_LOG=warn and at RUST_LOG=info (one JSON access line per request,
# stdout to /dev/null). For each mode and each target it runs a wrk warm-up, then a
# count-bounded wrk run, reading utime+stime of the proxy process(es) from /proc/PID/stat
# before and after. Modes:
#   json    POST /v1/chat/completions, model "echo", "stream": false (wrk/chat.lua)
#   stream  POST /v1/chat/completions, model "tokens;n=16", SSE (wrk/chat_stream.lua)
#   oa2an   gateway: Anthropic client, POST /v1/messages, model "oa/tokens;n=16", translated
#           from the OpenAI-format upstream (wrk/messages_stream.lua); nginx: the OpenAI stream
#           the gateway consumes, i.e. POST /v1/chat/completions with the exact body the
#           gateway sends upstream (wrk/chat_stream.lua with BODY_FILE)
#   an2oa   gateway: OpenAI client, POST /v1/chat/completions, model "an/tokens;n=16",
#           translated from the Anthropic-format upstream (wrk/chat_stream.lua); nginx: the
#           Anthropic stream the gateway consumes, POST /v1/messages with the exact body the
#           gateway sends upstream (wrk/messages_stream.lua with BODY_FILE)
# The upstream bodies are taken from the mock's attempt log (GET /_mock/log) after one probe
# request through the gateway, and checked by SHA-256 against the bytes the mock received.
#
# Prints: the idle RSS of every process right after startup, then one table row per run
#   mode, target, requests, req/s, p50 and p99 latency (wrk's histogram, as --latency prints),
#   proxy CPU µs/request = (utime+stime delta in ticks / CLK_TCK) / requests (nginx: master +
#   worker), the kernel's share of that CPU (stime / (utime+stime), in %), proxy RSS (VmRSS
#   after the run; nginx: master + worker), and the mock's CPU
#   µs/request for reference,
# then, for each mode, the gateway/nginx ratio of CPU per request in each round and the ratio of
# the medians over the rounds, and what the access log costs (medians).
# Needs nginx, wrk and curl (python3 optional): installs nginx-light, wrk and curl with apt-get
# when run as root, else prints what to install and exits 2.
# Exits non-zero when a run saw a non-2xx response, a bad body, a socket error or fewer
# responses than asked, or when one of the processes died. All processes are stopped on exit.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

REQUESTS=${REQUESTS:-20000}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-2000}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}
MAX_DURATION=${MAX_DURATION:-120s}
KEEP_WORK=${KEEP_WORK:-0}
BASELINE=${BASELINE:-0}
ALL_MODES="json stream oa2an an2oa"
MODES=${MODES:-$ALL_MODES}
CLK_TCK=$(getconf CLK_TCK)

log() { printf '%s\n' "$*" >&2; }
die() { log "compare.sh: $*"; exit 1; }

for mode in $MODES; do
    [[ " $ALL_MODES " == *" $mode "* ]] || die "unknown mode '$mode' in MODES (known: $ALL_MODES)"
done
[[ -n ${MODES// /} ]] || die "MODES is empty"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer (got '$ROUNDS')"

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
    else
        GATEWAY_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/llm-gateway
    fi
    if [[ ! -x $GATEWAY_BIN ]]; then
        log "building $GATEWAY_BIN (cargo build --release)"
        (cd "$ROOT" && cargo build --release) >&2 || die "cargo build --release failed"
    fi
    BASELINE_BIN=${BASELINE_BIN:-$GATEWAY_BIN}
    [[ -x $BASELINE_BIN ]] || die "BASELINE_BIN=$BASELINE_BIN is not executable"
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

# Sum of stime alone (clock ticks, the kernel's part) over PIDs.
# worker_ticks PID: CPU ticks of the gateway's request workers (the threads pingora names after
# the service, "llm-gateway"); the rest of the process's CPU is its background threads (the
# record writer, the access-log writer, timers), whose threads may come and go.
worker_ticks() {
    local total=0 task s f
    for task in /proc/"$1"/task/*; do
        [[ $(<"$task/comm") == llm-gateway ]] 2>/dev/null || continue
        s=$(<"$task/stat") || continue
        read -ra f <<<"${s##*) }"
        total=$((total + f[11] + f[12]))
    done
    echo "$total"
}

sys_ticks() {
    local total=0 pid s f
    for pid in "$@"; do
        s=$(<"/proc/$pid/stat") || die "process $pid is gone"
        read -ra f <<<"${s##*) }"
        total=$((total + f[12]))
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

read -r MOCK_PORT NGINX_PORT NGINX_LOG_PORT GW_WARN_PORT GW_INFO_PORT GW_BASE_PORT <<<"$(free_ports 6)"

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

gateway_config() {    # gateway_config PORT: load-tests/gateway.toml.template filled in
    sed -e "s#@PORT@#$1#g" -e "s#@MOCK_PORT@#$MOCK_PORT#g" "$HERE/gateway.toml.template"
    # GATEWAY_EXTRA: more config (TOML), @WORK@ standing for this run's temp dir and @PORT@
    # for the gateway's port (e.g. a [database] of its own).
    if [[ -n ${GATEWAY_EXTRA:-} ]]; then
        local extra=${GATEWAY_EXTRA//@WORK@/$WORK}
        printf '%s\n' "${extra//@PORT@/$1}"
    fi
}
gateway_config "$GW_WARN_PORT" >"$WORK/gw-warn.toml"
gateway_config "$GW_INFO_PORT" >"$WORK/gw-info.toml"
if ((BASELINE)); then
    GATEWAY_EXTRA=${BASELINE_EXTRA:-} gateway_config "$GW_BASE_PORT" >"$WORK/gw-base.toml"
    log "baseline gateway on :$GW_BASE_PORT ($BASELINE_BIN, RUST_LOG=warn)"
    RUST_LOG=warn "$BASELINE_BIN" -c "$WORK/gw-base.toml" >"$WORK/gw-base.out" 2>"$WORK/gw-base.err" &
    GW_BASE_PID=$!
    PIDS+=("$GW_BASE_PID:INT")
    wait_health gw-base "$GW_BASE_PID" "http://127.0.0.1:$GW_BASE_PORT/health"
fi

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
        gateway-warn:$GW_WARN_PID gateway-info:$GW_INFO_PID ${GW_BASE_PID:+gateway-base:$GW_BASE_PID}; do
        pid=${name#*:}
        alive "$pid" || { log "FAIL: ${name%%:*} (pid $pid) died"; return 1; }
    done
}

# ------------------------------------------------------------------------------------- runs
# mode_spec MODE SIDE (SIDE: nginx or gateway): what wrk sends, in SPEC_SCRIPT, SPEC_PATH,
# SPEC_MODEL, SPEC_BODY (a body file that replaces the script's own body, or empty) and
# SPEC_KEY (API_KEY for the script, or empty). For oa2an and an2oa, nginx gets the request the
# gateway sends upstream (same path, body and auth header), so both proxies carry the same
# upstream stream; the gateway also translates it into the client's format.
mode_spec() {
    SPEC_BODY="" SPEC_KEY=""
    case $1/$2 in
        json/*) SPEC_SCRIPT=chat.lua SPEC_PATH=/v1/chat/completions SPEC_MODEL=echo ;;
        stream/*) SPEC_SCRIPT=chat_stream.lua SPEC_PATH=/v1/chat/completions SPEC_MODEL="tokens;n=16" ;;
        oa2an/gateway)
            SPEC_SCRIPT=messages_stream.lua SPEC_PATH=/v1/messages SPEC_MODEL="oa/tokens;n=16" ;;
        oa2an/nginx)
            SPEC_SCRIPT=chat_stream.lua SPEC_PATH=/v1/chat/completions SPEC_MODEL="tokens;n=16"
            SPEC_BODY=$WORK/upstream-oa2an.json SPEC_KEY=sk-load-test ;;
        an2oa/gateway)
            SPEC_SCRIPT=chat_stream.lua SPEC_PATH=/v1/chat/completions SPEC_MODEL="an/tokens;n=16" ;;
        an2oa/nginx)
            SPEC_SCRIPT=messages_stream.lua SPEC_PATH=/v1/messages SPEC_MODEL="tokens;n=16"
            SPEC_BODY=$WORK/upstream-an2oa.json SPEC_KEY=sk-load-test ;;
        *) die "mode_spec: unknown $1/$2" ;;
    esac
    # GATEWAY_KEY: the key every request to a gateway presents (with a [key_map] of its own in
    # GATEWAY_EXTRA, e.g. to measure rate limits).
    if [[ $2 == gateway && -n ${GATEWAY_KEY:-} ]]; then
        SPEC_KEY=$GATEWAY_KEY
    fi
}

# run_wrk MODE SIDE URL COUNT OUTFILE [THREADS CONNS]: a count-bounded wrk run, its report in
# OUTFILE. Stops wrk early (SIGINT, so it still reports) when one of our processes dies meanwhile.
WRK_PID=""
run_wrk() {
    local url=$3 count=$4 out=$5 threads=${6:-$THREADS} conns=${7:-$CONNS} rc=0
    mode_spec "$1" "$2"
    env REQUESTS="$count" THREADS="$threads" MODEL="$SPEC_MODEL" BODY_FILE="$SPEC_BODY" \
        API_KEY="$SPEC_KEY" wrk -t"$threads" -c"$conns" -d"$MAX_DURATION" --timeout 10s --latency \
        -s "$HERE/wrk/$SPEC_SCRIPT" "$url$SPEC_PATH" >"$out" 2>&1 &
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

ROWS=()                         # "round mode target requests rps p50_ms p99_ms cpu_us sys_pct rss_mib mock_us bg_us"
declare -A CPU_US=()            # [MODE/TARGET/ROUND] = CPU us per request
declare -A BG_US=()             # [MODE/TARGET/ROUND] = a gateway's background threads' CPU us per request

# measure ROUND MODE TARGET URL PID...: warm-up, measured run, one table row.
measure() {
    local round=$1 mode=$2 target=$3 url=$4
    shift 4
    local pids=("$@") side=gateway
    [[ $target == nginx* ]] && side=nginx
    local base="$WORK/$mode-$target-r$round"

    log "[round $round/$ROUNDS] [$mode] $target: warm-up ($WARMUP requests)"
    run_wrk "$mode" "$side" "$url" "$WARMUP" "$base.warmup.txt" || { log "FAIL: warm-up of $target"; return 1; }
    check_result "$mode" "$target" "$base.warmup.txt" "$WARMUP" || return 1

    log "[round $round/$ROUNDS] [$mode] $target: measured run ($REQUESTS requests, $CONNS connections, $THREADS threads)"
    local t0 m0 t1 m1 s0 s1 w0=0 w1=0
    [[ $side == gateway ]] && w0=$(worker_ticks "${pids[0]}")
    t0=$(cpu_ticks "${pids[@]}")
    s0=$(sys_ticks "${pids[@]}")
    m0=$(cpu_ticks "$MOCK_PID")
    run_wrk "$mode" "$side" "$url" "$REQUESTS" "$base.txt" || { log "FAIL: run of $target"; return 1; }
    t1=$(cpu_ticks "${pids[@]}")
    [[ $side == gateway ]] && w1=$(worker_ticks "${pids[0]}")
    s1=$(sys_ticks "${pids[@]}")
    m1=$(cpu_ticks "$MOCK_PID")
    local rss
    rss=$(rss_kb "${pids[@]}")
    check_result "$mode" "$target" "$base.txt" "$REQUESTS" || FAILED=1

    local n rps p50 p99 cpu mock sys
    n=$(field requests "$base.txt")
    rps=$(field rps "$base.txt")
    p50=$(field p50_us "$base.txt")
    p99=$(field p99_us "$base.txt")
    cpu=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$n" 'BEGIN { printf "%.1f", d / hz * 1e6 / n }')
    mock=$(awk -v d=$((m1 - m0)) -v hz="$CLK_TCK" -v n="$n" 'BEGIN { printf "%.1f", d / hz * 1e6 / n }')
    sys=$(awk -v s=$((s1 - s0)) -v d=$((t1 - t0)) 'BEGIN { printf "%.0f", (d > 0 ? 100 * s / d : 0) }')
    local bg=-
    if [[ $side == gateway ]]; then
        bg=$(awk -v d=$((t1 - t0 - (w1 - w0))) -v hz="$CLK_TCK" -v n="$n" 'BEGIN { printf "%.1f", d / hz * 1e6 / n }')
        BG_US[$mode/$target/$round]=$bg
    fi
    CPU_US[$mode/$target/$round]=$cpu
    ROWS+=("$round $mode $target $n $rps $(awk -v a="$p50" -v b="$p99" 'BEGIN { printf "%.2f %.2f", a / 1000, b / 1000 }') $cpu $sys $(mib "$rss") $mock $bg")
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

# ------------------------------------------------------------------------------------- upstream bodies
# What the gateway is expected to send upstream for the client bodies of
# wrk/messages_stream.lua (oa2an) and wrk/chat_stream.lua (an2oa); used only without python3.
declare -A EXPECTED_UPSTREAM=(
    [oa2an]='{"max_tokens":256,"messages":[{"content":"Count for the load test.","role":"user"}],"model":"tokens;n=16","stream":true,"stream_options":{"include_usage":true}}'
    [an2oa]='{"max_tokens":4096,"messages":[{"content":"Count for the load test.","role":"user"}],"model":"tokens;n=16","stream":true}'
)
declare -A UPSTREAM_NOTE=()

# capture_upstream MODE UPSTREAM_PATH: one probe request through gateway-warn with the mode's
# own wrk script (so the same client body), then the body the mock received for it, from the
# mock's attempt log, into $WORK/upstream-MODE.json (compact JSON, keys in the log's order).
# Its SHA-256 is checked against the one the mock computed over the bytes it received.
capture_upstream() {
    local mode=$1 upath=$2 file=$WORK/upstream-$1.json logged sha same
    log "[$mode] probe: one request through gateway-warn, to copy its upstream request"
    run_wrk "$mode" gateway "http://127.0.0.1:$GW_WARN_PORT" 1 "$WORK/$mode-probe.txt" 1 1 ||
        { log "FAIL: probe request of $mode"; return 1; }
    check_result "$mode" probe "$WORK/$mode-probe.txt" 1 || return 1
    curl -fsS --max-time 5 -o "$WORK/$mode-mock-log.json" "http://127.0.0.1:$MOCK_PORT/_mock/log" ||
        { log "FAIL: GET /_mock/log"; return 1; }
    if command -v python3 >/dev/null 2>&1; then
        logged=$(python3 - "$WORK/$mode-mock-log.json" "$upath" "$file" <<'PY'
import json, sys
log, path, out = sys.argv[1:4]
entries = [e for e in json.load(open(log)) if e.get("path") == path and e.get("body") is not None]
if not entries:
    sys.exit("no logged request to " + path)
with open(out, "w") as f:
    f.write(json.dumps(entries[-1]["body"], separators=(",", ":"), ensure_ascii=False))
print(entries[-1]["body_sha256"])
PY
        ) || { log "FAIL: no request to $upath in the mock's log"; return 1; }
        sha=$(sha256sum "$file" | awk '{print $1}')
        same="same JSON as the gateway's, not byte-identical (key order or spacing)"
        [[ $sha == "$logged" ]] && same="byte-identical to the gateway's (SHA-256)"
    else
        printf '%s' "${EXPECTED_UPSTREAM[$mode]}" >"$file"
        sha=$(sha256sum "$file" | awk '{print $1}')
        same="built-in body, NOT the gateway's (no python3 to copy it; check the mock's log)"
        grep -q "\"body_sha256\":\"$sha\"" "$WORK/$mode-mock-log.json" &&
            same="byte-identical to the gateway's (SHA-256)"
    fi
    UPSTREAM_NOTE[$mode]="POST $upath, $(wc -c <"$file") bytes, $same"
    log "[$mode] nginx baseline request: ${UPSTREAM_NOTE[$mode]}"
}
for mode in $MODES; do
    case $mode in
        oa2an) capture_upstream oa2an /v1/chat/completions || die "cannot copy the oa2an upstream request" ;;
        an2oa) capture_upstream an2oa /v1/messages || die "cannot copy the an2oa upstream request" ;;
    esac
done

echo "llm-gateway vs nginx load comparison, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(uname -sr)"
echo "gateway: $GATEWAY_BIN ($("$GATEWAY_BIN" --version 2>/dev/null | head -n1)), threads = 1"
echo "nginx:   $("$NGINX" -v 2>&1 | sed 's/^nginx version: //'), worker_processes 1; wrk $(wrk -v 2>&1 | awk 'NR==1 {print $2}')"
echo "load:    REQUESTS=$REQUESTS (after WARMUP=$WARMUP) CONNS=$CONNS THREADS=$THREADS ROUNDS=$ROUNDS, wrk and mock on the same machine"
echo "modes:   $MODES"
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
((BASELINE)) && TARGETS+=("gateway-base $GW_BASE_PORT $GW_BASE_PID")
for ((round = 1; round <= ROUNDS; round++)); do
    for mode in $MODES; do
        for spec in "${TARGETS[@]}"; do
            read -r target port pids <<<"$spec"
            check_alive || { FAILED=1; break 3; }
            # shellcheck disable=SC2086  # pids: one or two PIDs
            measure "$round" "$mode" "$target" "http://127.0.0.1:$port" $pids || FAILED=1
        done
    done
done

# ------------------------------------------------------------------------------------- report
table_row() { printf '%-5s %-7s %-13s %9s %10s %9s %9s %12s %6s %9s %12s %10s\n' "$@"; }
echo
table_row round mode target requests "req/s" "p50 ms" "p99 ms" "CPU us/req" "sys %" "RSS MiB" "mock us/req" "bg us/req"
table_row ----- ------- ------------- --------- ---------- --------- --------- ------------ ------ --------- ------------ ----------
for row in "${ROWS[@]}"; do
    # shellcheck disable=SC2086  # a row is twelve space-separated fields
    table_row $row
done
echo
echo "targets: nginx = access_log off; nginx-log = access_log /dev/null (JSON format);"
echo "         gateway-warn = RUST_LOG=warn; gateway-info = RUST_LOG=info (access log to /dev/null)"
echo "CPU us/req = (utime+stime delta of the proxy, /proc/PID/stat, nginx master+worker) / requests;"
echo "sys % = the kernel's share of it (stime / (utime+stime));"
echo "bg us/req = a gateway's CPU outside its request workers (record writer, log writer, timers)"
for mode in $MODES; do
    case $mode in
        oa2an)
            echo "oa2an: gateway = Anthropic client (POST /v1/messages, oa/tokens;n=16) translated from the OpenAI upstream;"
            echo "       nginx = that OpenAI upstream stream passed through: ${UPSTREAM_NOTE[oa2an]:-?}" ;;
        an2oa)
            echo "an2oa: gateway = OpenAI client (POST /v1/chat/completions, an/tokens;n=16) translated from the Anthropic upstream;"
            echo "       nginx = that Anthropic upstream stream passed through: ${UPSTREAM_NOTE[an2oa]:-?}" ;;
    esac
done
echo

# median MODE/TARGET [bg]: the median over the rounds of CPU us per request (with "bg": of the
# background threads' CPU us per request); empty if none.
median() {
    local key=$1 round vals=() v
    for ((round = 1; round <= ROUNDS; round++)); do
        if [[ ${2:-} == bg ]]; then v=${BG_US[$key/$round]:-}; else v=${CPU_US[$key/$round]:-}; fi
        [[ -n $v ]] && vals+=("$v")
    done
    ((${#vals[@]})) || return 0
    printf '%s\n' "${vals[@]}" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.1f\n", m }'
}
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "n/a"; else printf "%.2fx", a / b }'; }
diff_us() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "") print "n/a"; else printf "%+.1f us/req", a - b }'; }
# rounds_ratio MODE GW NGINX: the per-round ratios, space-separated.
rounds_ratio() {
    local round out=()
    for ((round = 1; round <= ROUNDS; round++)); do
        out+=("$(div "${CPU_US[$1/$2/$round]:-}" "${CPU_US[$1/$3/$round]:-}")")
    done
    echo "${out[*]}"
}
echo "median CPU us/req over $ROUNDS round(s):"
for mode in $MODES; do
    printf '  %-6s nginx %s, nginx-log %s, gateway-warn %s, gateway-info %s\n' "$mode:" \
        "$(median "$mode/nginx")" "$(median "$mode/nginx-log")" "$(median "$mode/gateway-warn")" "$(median "$mode/gateway-info")"
done
echo
for mode in $MODES; do
    printf 'CPU per request, %-6s gateway-warn / nginx = %s (rounds: %s), gateway-info / nginx-log = %s (rounds: %s)\n' "$mode:" \
        "$(div "$(median "$mode/gateway-warn")" "$(median "$mode/nginx")")" "$(rounds_ratio "$mode" gateway-warn nginx)" \
        "$(div "$(median "$mode/gateway-info")" "$(median "$mode/nginx-log")")" "$(rounds_ratio "$mode" gateway-info nginx-log)"
done
if ((BASELINE)); then
    echo "gateway-base: $BASELINE_BIN, RUST_LOG=warn, extra config: ${BASELINE_EXTRA:-(none)}"
    for mode in $MODES; do
        printf 'CPU per request, %-6s gateway-warn / gateway-base = %s (medians %s / %s; rounds: %s)\n' "$mode:" \
            "$(div "$(median "$mode/gateway-warn")" "$(median "$mode/gateway-base")")" \
            "$(median "$mode/gateway-warn")" "$(median "$mode/gateway-base")" \
            "$(rounds_ratio "$mode" gateway-warn gateway-base)"
        # The same split into request workers and background threads: where a difference
        # between two configs of one build lies (a record writer's work is background).
        printf '  %-6s request workers %s / %s us/req, background threads %s / %s us/req (medians, warn / base)\n' "$mode:" \
            "$(awk -v a="$(median "$mode/gateway-warn")" -v b="$(median "$mode/gateway-warn" bg)" 'BEGIN { printf "%.1f", a - b }')" \
            "$(awk -v a="$(median "$mode/gateway-base")" -v b="$(median "$mode/gateway-base" bg)" 'BEGIN { printf "%.1f", a - b }')" \
            "$(median "$mode/gateway-warn" bg)" "$(median "$mode/gateway-base" bg)"
    done
fi
for mode in $MODES; do
    printf 'access-log cost (medians), %-6s gateway (info - warn) %s, nginx (log - off) %s\n' "$mode:" \
        "$(diff_us "$(median "$mode/gateway-info")" "$(median "$mode/gateway-warn")")" \
        "$(diff_us "$(median "$mode/nginx-log")" "$(median "$mode/nginx")")"
done

if ((FAILED)); then
    echo
    echo "FAILED: see the messages above (wrk reports in $WORK)"
    exit 1
fi
