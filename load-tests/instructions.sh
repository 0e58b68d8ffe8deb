#!/usr/bin/env bash
# instructions.sh: instructions the gateway executes per request, counted by valgrind's
# callgrind, for one or more gateway binaries in one sitting. CPU time on this shared machine
# moves ±15 % between rounds; an instruction count does not depend on what else runs, so it is
# the measure for an A/B of two builds (compare.sh stays the measure against nginx).
#
# Run (from anywhere):
#   load-tests/instructions.sh BIN [BIN...]
#   MODES="json oa2an" N1=200 N2=1200 load-tests/instructions.sh /tmp/before /tmp/after
#
# GATEWAY_EXTRA: TOML appended to every gateway's config (@WORK@: the temp dir, @PORT@: the
#   gateway's port), as in compare.sh.
# Env (defaults): MODES="json stream oa2an an2oa" (as in compare.sh), N1=200 and N2=1200
#   requests. For each binary and mode the gateway runs twice under callgrind (threads = 1,
#   RUST_LOG=warn), once serving N1 requests and once N2 (wrk, 1 thread, 4 connections, after
#   the same 20-request warm-up), and the figure is (Ir(N2) - Ir(N1)) / (N2 - N1): start-up,
#   warm-up and shutdown cancel out. The mock upstream is the first binary's `mock-upstream`.
# Prints one row per binary and mode: instructions per request (all threads of the process).
# PROFILES=DIR keeps each run's callgrind profile there (BIN-MODE-COUNT.callgrind), to see
# where a difference comes from: callgrind_annotate --inclusive=yes FILE.
# Needs valgrind, wrk, curl and python3; exits non-zero when a run fails.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MODES=${MODES:-json stream oa2an an2oa}
N1=${N1:-200}
N2=${N2:-1200}
WARMUP=20

(($# > 0)) || { echo "usage: $0 GATEWAY_BIN [GATEWAY_BIN...]" >&2; exit 2; }
for tool in valgrind wrk curl python3; do
    command -v "$tool" >/dev/null || { echo "instructions.sh: needs $tool" >&2; exit 2; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/llm-gw-ir.XXXXXX")
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_health() { # wait_health URL PID
    local i
    for ((i = 0; i < 600; i++)); do
        kill -0 "$2" 2>/dev/null || { echo "process $2 exited during start-up" >&2; return 1; }
        curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "no answer from $1" >&2
    return 1
}

MOCK_PORT=$(free_port)
"$1" mock-upstream --host 127.0.0.1 --port "$MOCK_PORT" >"$WORK/mock.out" 2>&1 &
PIDS+=($!)
wait_health "http://127.0.0.1:$MOCK_PORT/health" "${PIDS[0]}"

config() { # config PORT: the load tests' gateway config (gateway.toml.template)
    sed -e "s#@PORT@#$1#g" -e "s#@MOCK_PORT@#$MOCK_PORT#g" "$HERE/gateway.toml.template"
    if [[ -n ${GATEWAY_EXTRA:-} ]]; then
        local extra=${GATEWAY_EXTRA//@WORK@/$WORK}
        printf '%s\n' "${extra//@PORT@/$1}"
    fi
}

spec() { # spec MODE: SCRIPT PATH MODEL, as compare.sh sends them to the gateway
    case $1 in
        json) echo "chat.lua /v1/chat/completions echo" ;;
        stream) echo "chat_stream.lua /v1/chat/completions tokens;n=16" ;;
        oa2an) echo "messages_stream.lua /v1/messages oa/tokens;n=16" ;;
        an2oa) echo "chat_stream.lua /v1/chat/completions an/tokens;n=16" ;;
        *) echo "unknown mode $1" >&2; return 1 ;;
    esac
}

load() { # load MODE URL COUNT
    local script path model
    read -r script path model <<<"$(spec "$1")"
    env REQUESTS="$3" THREADS=1 MODEL="$model" wrk -t1 -c4 -d600s --timeout 60s \
        -s "$HERE/wrk/$script" "$2$path" >"$WORK/wrk.out" 2>&1
    grep -q '^RESULT requests=[1-9]' "$WORK/wrk.out" || { cat "$WORK/wrk.out" >&2; return 1; }
    if grep -Eq 'non2xx=[1-9]|badbody=[1-9]' "$WORK/wrk.out"; then
        cat "$WORK/wrk.out" >&2
        return 1
    fi
}

# instructions BIN MODE COUNT: total instructions of one gateway run serving COUNT requests.
instructions() {
    local port pid out
    port=$(free_port)
    config "$port" >"$WORK/gw.toml"
    out="$WORK/callgrind.out"
    rm -f "$out"
    RUST_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$out" \
        "$1" serve --config "$WORK/gw.toml" >"$WORK/gw.out" 2>"$WORK/gw.err" &
    pid=$!
    wait_health "http://127.0.0.1:$port/health" "$pid"
    load "$2" "http://127.0.0.1:$port" "$WARMUP"
    load "$2" "http://127.0.0.1:$port" "$3"
    kill -INT "$pid"
    wait "$pid" || true
    if [[ -n ${PROFILES:-} ]]; then
        mkdir -p "$PROFILES"
        cp "$out" "$PROFILES/$(basename "$1")-$2-$3.callgrind"
    fi
    awk '/^(summary|totals):/ { print $2; exit }' "$out"
}

printf '%-34s %-7s %14s\n' binary mode "instr/request"
for bin in "$@"; do
    for mode in $MODES; do
        a=$(instructions "$bin" "$mode" "$N1")
        b=$(instructions "$bin" "$mode" "$N2")
        printf '%-34s %-7s %14d\n' "$bin" "$mode" $(((b - a) / (N2 - N1)))
    done
done
