#!/usr/bin/env bash
# crash-records.sh: `kill -9` of the gateway under load, then count the request records that
# survived in its SQLite database: every request answered more than the record writer's flush
# interval (1 s) before the kill must be there. Starts the release gateway (GATEWAY_BIN to
# choose) on a free port with the demo's mock provider and a fresh SQLite file.
#
# Run: load-tests/crash-records.sh [SECONDS] [CONNECTIONS]   (defaults: 5 s, 16 connections)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
BIN=${GATEWAY_BIN:-$ROOT/target/release/llm-gateway}
[[ -x $BIN ]] || (cd "$ROOT" && cargo build --release --bin llm-gateway)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/llm-gw-crash.XXXXXX")
PID=""
cleanup() {
    [[ -n $PID ]] && kill -9 "$PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$WORK/gw.toml" <<TOML
[server]
port = $PORT
[database]
url = "sqlite://$WORK/records.db"
[[providers]]
id = "mock"
provider_type = "mock"
TOML
RUST_LOG=warn "$BIN" -c "$WORK/gw.toml" >"$WORK/gw.log" 2>&1 &
PID=$!
for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
    kill -0 "$PID" 2>/dev/null || { cat "$WORK/gw.log"; exit 1; }
    sleep 0.1
done
echo "binary $BIN; database $WORK/records.db"
python3 "$HERE/crash_records.py" "http://127.0.0.1:$PORT" "$PID" "$WORK/records.db" "${1:-5}" "${2:-16}"
