#!/usr/bin/env bash
# conn-scale.sh: memory and file descriptors per connection at scale. Starts the mock upstream
# and, for each measurement, a fresh gateway (release build; GATEWAY_BIN to choose) on free
# ports; for each COUNT (default "1000 10000") opens that many idle keep-alive connections,
# then (on another fresh gateway) that many open streams (one token a second), and prints the
# gateway's RSS at start, RSS and fds with them, and KiB per connection (conn_scale.py).
#
# Run: load-tests/conn-scale.sh [COUNT...]
# 10,000 streams hold 20,000 sockets in the gateway (client side and upstream side): the script
# raises its soft descriptor limit to the hard one; both processes inherit it.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
BIN=${GATEWAY_BIN:-$ROOT/target/release/llm-gateway}
COUNTS=${*:-1000 10000}
[[ -x $BIN ]] || (cd "$ROOT" && cargo build --release --bin llm-gateway)
ulimit -n "$(ulimit -Hn)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/llm-gw-conns.XXXXXX")
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_health() {
    for _ in $(seq 100); do
        curl -fsS "$1" >/dev/null 2>&1 && return 0
        kill -0 "$2" 2>/dev/null || { echo "process $2 exited" >&2; return 1; }
        sleep 0.1
    done
    echo "no answer from $1" >&2
    return 1
}

MOCK_PORT=$(free_port)
"$BIN" mock-upstream --port "$MOCK_PORT" >"$WORK/mock.log" 2>&1 &
PIDS+=($!)
echo "binary $BIN; descriptor limit $(ulimit -n)"

# measure MODE COUNT: one measurement on a fresh gateway.
measure() {
    local port pid
    port=$(free_port)
    cat >"$WORK/gw.toml" <<TOML
[server]
port = $port
[[providers]]
id = "mock"
provider_type = "openai"
endpoint = "http://127.0.0.1:$MOCK_PORT/v1"
api_key = "k"
models = ["tokens;n=300;delay=1000"]
TOML
    RUST_LOG=warn "$BIN" -c "$WORK/gw.toml" >"$WORK/gw.log" 2>&1 &
    pid=$!
    wait_health "http://127.0.0.1:$port/health" "$pid"
    python3 "$HERE/conn_scale.py" "http://127.0.0.1:$port" "$pid" "$1" "$2"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
}

for count in $COUNTS; do
    for mode in idle stream; do
        measure "$mode" "$count"
    done
done
