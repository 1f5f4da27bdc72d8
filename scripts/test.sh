#!/usr/bin/env bash
# The whole test suite: unit, integration (tests/) and multi-process
# (federation-tests/), on SQLite and on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Build dependencies: the C client libraries diesel links against.
missing=()
for pkg in libpq-dev libsqlite3-dev pkg-config postgresql-client; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]}" >&2
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}"
fi

TEST_POSTGRES_URL="$(scripts/ensure-postgres.sh | tail -n1)"
export TEST_POSTGRES_URL
echo "PostgreSQL for tests: ${TEST_POSTGRES_URL//:*@/:***@}" >&2

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --all-targets --no-fail-fast "$@"
else
  cargo test --all-targets --no-fail-fast "$@"
fi
