# Sourced by scripts/test.sh and scripts/demo.sh: makes sure a fresh Debian/Ubuntu machine
# with only a Rust toolchain has what the build and the tests need, installing it with
# apt-get when running as root, and otherwise saying exactly what to install.

apt_install() {
  # apt_install <package>...: installs with apt-get as root, or explains and fails.
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "prereqs: installing $* with apt-get" >&2
    if [ -z "${LLMGW_APT_UPDATED:-}" ]; then
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
      export LLMGW_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
  else
    echo "prereqs: missing $*. Install it first, e.g.: sudo apt-get install $*" >&2
    exit 1
  fi
}

# The oldest Rust the crate builds with (Cargo.toml `rust-version`: let-chains need 1.88).
MIN_RUST_MINOR=88

ensure_build_tools() {
  command -v cargo >/dev/null 2>&1 || { echo "prereqs: cargo not found; install Rust from https://rustup.rs" >&2; exit 1; }
  local minor
  minor=$(rustc --version | sed -n 's/^rustc 1\.\([0-9]*\).*/\1/p')
  if [ -z "$minor" ] || [ "$minor" -lt "$MIN_RUST_MINOR" ]; then
    echo "prereqs: Rust 1.$MIN_RUST_MINOR or newer is needed ($(rustc --version)); run: rustup update stable" >&2
    exit 1
  fi
  for tool in fmt clippy; do
    cargo "$tool" --version >/dev/null 2>&1 || {
      echo "prereqs: cargo $tool is missing; run: rustup component add rustfmt clippy" >&2
      exit 1
    }
  done
  # pingora-core builds zlib-ng (libz-ng-sys) with cmake and ring/zstd with a C compiler.
  command -v cmake >/dev/null 2>&1 || apt_install cmake
  command -v cc >/dev/null 2>&1 || apt_install build-essential
}

ensure_test_tools() {
  # The README's curl examples are run by the test suite.
  command -v curl >/dev/null 2>&1 || apt_install curl
}

ensure_browser() {
  # Headless Chromium and its driver for the portal's browser tests (never a browser download).
  { command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; } || apt_install chromium chromium-driver
}

ensure_python_sdks() {
  # A virtualenv in .venv with the official OpenAI and Anthropic SDKs for the SDK tests.
  command -v python3 >/dev/null 2>&1 || apt_install python3 python3-venv python3-pip
  # A venv an interrupted or failed run left half made (no python, or no pip) is made again.
  if [ -d .venv ] && ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
    echo "prereqs: .venv is incomplete; making it again" >&2
    rm -rf .venv
  fi
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv 2>/dev/null || { rm -rf .venv; apt_install python3-venv && python3 -m venv .venv; }
  fi
  if ! .venv/bin/python -c "import openai, anthropic, selenium, openapi_spec_validator, schemathesis" >/dev/null 2>&1; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r tests/sdk/requirements.txt
  fi
  export LLMGW_PYTHON="$PWD/.venv/bin/python"
}

pg_up() {
  pg_isready -q -h 127.0.0.1 -p 5432 >/dev/null 2>&1
}

ensure_postgres() {
  # The storage tests run against PostgreSQL on 127.0.0.1:5432 (trust auth) when one answers:
  # started here when it is installed but down. Without one, those tests are skipped, and
  # scripts/test.sh says so.
  command -v pg_isready >/dev/null 2>&1 || return 0
  pg_up && return 0
  if [ "$(id -u)" = "0" ]; then
    local version
    for version in $(ls /etc/postgresql 2>/dev/null); do
      pg_ctlcluster "$version" main start >/dev/null 2>&1 || true
    done
    pg_up || service postgresql start >/dev/null 2>&1 || true
  fi
  local i
  for i in $(seq 50); do
    pg_up && return 0
    sleep 0.2
  done
  return 0
}

redis_up() {
  [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]
}

ensure_redis() {
  # The shared-limits tests and load-tests/scaleout.sh use Redis on 127.0.0.1:6379: started
  # here (keeping nothing on disk) when it is installed but down. Without one, those tests
  # say they are SKIPPED.
  command -v redis-server >/dev/null 2>&1 || { echo "Redis: not installed: the shared-limits tests are SKIPPED"; return 0; }
  redis_up && return 0
  mkdir -p /tmp/llmgw-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp/llmgw-redis --logfile /tmp/llmgw-redis/redis.log >/dev/null 2>&1 || true
  local i
  for i in $(seq 50); do
    redis_up && return 0
    sleep 0.1
  done
  echo "Redis: could not be started on 127.0.0.1:6379: the shared-limits tests are SKIPPED"
}

pg_test_database() {
  # A fresh PostgreSQL database for this run (LLMGW_TEST_DATABASE_URL; each test makes its own
  # schema in it), dropped when the run ends; or a clear line that the tests skip PostgreSQL.
  if pg_up && command -v psql >/dev/null 2>&1; then
    LLMGW_TEST_DB="llmgw_test_$(date +%s)_$$"
    if psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $LLMGW_TEST_DB" postgres >/dev/null 2>&1; then
      export LLMGW_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$LLMGW_TEST_DB"
      trap 'psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $LLMGW_TEST_DB WITH (FORCE)" postgres >/dev/null 2>&1 || true' EXIT
      echo "PostgreSQL: the storage tests use database $LLMGW_TEST_DB (dropped at the end)"
      return 0
    fi
  fi
  echo "PostgreSQL: none reachable at 127.0.0.1:5432 (user postgres): the PostgreSQL storage tests are SKIPPED (SQLite ones run)"
}
