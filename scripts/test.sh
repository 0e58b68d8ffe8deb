#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, every shipped config checked by
# `llm-gateway check-config`, unit tests, property tests, and the integration tests (real
# gateway + mock upstream over sockets, including the official OpenAI Python SDK).
# Installs (as root) or names what a fresh Debian/Ubuntu machine lacks.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/prereqs.sh
ensure_build_tools
ensure_test_tools
ensure_python_sdks

cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
python3 scripts/module-deps.py >/dev/null || { scripts/module-deps.py; echo "module import cycle (docs/architecture.md, Layout)"; exit 1; }
cargo build --bins
for f in conf/*.toml; do
  "${CARGO_TARGET_DIR:-target}/debug/llm-gateway" check-config "$f"
done
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --all-targets --no-fail-fast
  cargo test --doc
else
  cargo test --all-targets --no-fail-fast
fi
echo "all tests passed"
