#!/usr/bin/env bash
# Builds and starts the gateway on conf/demo.toml: an in-process mock provider, no network,
# no API keys. Then try: curl localhost:8930/v1/chat/completions -H 'Content-Type: application/json' \
#   -d '{"model":"echo","messages":[{"role":"user","content":"Hello!"}]}'
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/prereqs.sh
ensure_build_tools
cargo build --release
exec "${CARGO_TARGET_DIR:-target}/release/llm-gateway" --config conf/demo.toml "$@"
