#!/usr/bin/env bash
# conn-scale.sh: memory and file descriptors per connection at scale. Starts the mock upstream
# and the gateway (release build; GATEWAY_BIN to choose) on free ports, then for each COUNT
# (default "1000 10000") opens that many idle keep-alive connections, then that many open
# streams (one token a second), and prints the gateway's RSS and fds with them
# (load-tests/conn_scale.py), plus its idle RSS at start.
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
GW_PORT=$(free_port)
"$BIN" mock-upstream --port "$MOCK_PORT" >"$WORK/mock.log" 2>&1 &
PIDS+=($!)
cat >"$WORK/gw.toml" <<TOML
[server]
port = $GW_PORT
[[providers]]
id = "mock"
provider_type = "openai"
endpoint = "http://127.0.0.1:$MOCK_PORT/v1"
api_key = "k"
models = ["tokens;n=2000;delay=1000"]
TOML
RUST_LOG=warn "$BIN" -c "$WORK/gw.toml" >"$WORK/gw.log" 2>&1 &
GW_PID=$!
PIDS+=("$GW_PID")
wait_health "http://127.0.0.1:$GW_PORT/health" "$GW_PID"
echo "binary $BIN; descriptor limit $(ulimit -n)"
echo "idle RSS at start: $(awk '/VmRSS/ {print $2}' "/proc/$GW_PID/status") KiB"
# shellcheck disable=SC2086
python3 "$HERE/conn_scale.py" "http://127.0.0.1:$GW_PORT" "$GW_PID" $COUNTS
