#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, every shipped config checked by
# `llm-gateway check-config`, unit tests, property tests, and the integration tests (real
# gateway + mock upstream over sockets, including the official OpenAI and Anthropic Python SDKs
# and the README's examples; storage tests on SQLite and, when one answers on 127.0.0.1:5432,
# PostgreSQL; shared limits and budgets on Redis when one answers on 127.0.0.1:6379), and the
# short scale-out test (load-tests/scaleout.sh --short: three instances on Redis and
# PostgreSQL). Installs (as root) or names what a fresh Debian/Ubuntu machine lacks. Prints how long each phase took.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/prereqs.sh

# phase NAME COMMAND...: runs COMMAND and prints how long it took.
phase() {
  local name=$1 start=$SECONDS
  shift
  "$@"
  echo "phase $name: $((SECONDS - start)) s"
}

check_configs() {
  for f in conf/*.toml; do
    "${CARGO_TARGET_DIR:-target}/debug/llm-gateway" check-config "$f"
  done
}

module_deps() {
  python3 scripts/module-deps.py >/dev/null || { scripts/module-deps.py; echo "module import cycle (docs/architecture.md, Layout)"; exit 1; }
}

run_tests() {
  if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --all-targets --no-fail-fast
    cargo test --doc
  else
    cargo test --all-targets --no-fail-fast
  fi
}

phase prerequisites ensure_build_tools
phase test-tools ensure_test_tools
phase python-sdks ensure_python_sdks
phase browser ensure_browser
phase postgres ensure_postgres
phase redis ensure_redis
pg_test_database
phase fmt cargo fmt --all -- --check
phase clippy cargo clippy --all-targets -- -D warnings
phase module-deps module_deps
phase build cargo build --bins
phase check-config check_configs
phase tests run_tests
phase scaleout env GATEWAY_BIN="${CARGO_TARGET_DIR:-target}/debug/llm-gateway" load-tests/scaleout.sh --short
echo "all tests passed"
