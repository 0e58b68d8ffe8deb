#!/usr/bin/env bash
# scaleout.sh: three gateway instances sharing Redis (127.0.0.1:6379) and PostgreSQL
# (127.0.0.1:5432, user postgres) behind a round-robin client. First a key with rpm 1000
# (leases of 10) is flooded: accepted count against the bucket and the bound with three leases,
# and the Redis round trips the leases spared. Then one key with rpm 60 and a budget takes
# REQUESTS requests over DURATION seconds; one instance is killed with `kill -9` halfway.
# Prints the accepted count against the stated bound, the failures, and the spend in
# PostgreSQL against the sum of the cost headers (load-tests/scaleout.py says what is checked).
#
# Run:  load-tests/scaleout.sh            full run: 3000 requests over 60 s
#       load-tests/scaleout.sh --short    CI form (scripts/test.sh): 300 requests over 12 s
# GATEWAY_BIN picks the binary (default: the release build; built when missing).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
BIN=${GATEWAY_BIN:-$ROOT/target/release/llm-gateway}
[[ -x $BIN ]] || (cd "$ROOT" && cargo build --release --bin llm-gateway)

if ! pg_isready -q -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
    echo "scaleout: SKIPPED (no PostgreSQL on 127.0.0.1:5432)"; exit 0
fi
if [[ $(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null) != PONG ]]; then
    echo "scaleout: SKIPPED (no Redis on 127.0.0.1:6379)"; exit 0
fi
if [[ ${1:-} == --short ]]; then
    exec python3 "$HERE/scaleout.py" --bin "$BIN" --requests 300 --duration 12
fi
exec python3 "$HERE/scaleout.py" --bin "$BIN" --requests 3000 --duration 60 --concurrency 16
