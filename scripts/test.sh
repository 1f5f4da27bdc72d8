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

# A real Mastodon client library for the client scenario (federation-tests/clients.rs).
if command -v python3 >/dev/null 2>&1; then
  venv=target/pyclients
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import mastodon' 2>/dev/null; then
    echo "installing Mastodon.py into $venv" >&2
    python3 -m venv "$venv" >&2 || { as_root apt-get install -y -qq python3-venv >&2 && python3 -m venv "$venv" >&2; }
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'Mastodon.py>=2.1,<3' >&2
  fi
  # The SCIM 2.0 compliance checker (tests/api/scim.rs).
  if ! "$venv/bin/python" -c 'import scim2_tester, httpx2' 2>/dev/null; then
    echo "installing scim2-tester into $venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'scim2-tester==0.5.2' 'scim2-client==0.13.2' 'httpx2==2.16.2' >&2
  fi
  MEETFIELD_TEST_PYTHON="$PWD/$venv/bin/python"
  export MEETFIELD_TEST_PYTHON
fi

# A real OpenID provider (npm oidc-provider) for the sign-in tests, started
# once for the whole run; tests find it through MEETFIELD_TEST_OIDC_ISSUER.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "installing Node.js" >&2
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq nodejs npm
fi
oidc_dir=federation-tests/oidc
if [ ! -d "$oidc_dir/node_modules/oidc-provider" ]; then
  echo "installing the OpenID provider into $oidc_dir/node_modules" >&2
  (cd "$oidc_dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
oidc_log="$(mktemp)"
(cd "$oidc_dir" && exec node provider.mjs >"$oidc_log" 2>&1) &
oidc_pid=$!
trap 'kill "$oidc_pid" 2>/dev/null || true; rm -f "$oidc_log"' EXIT
for _ in $(seq 1 100); do
  grep -q '^listening ' "$oidc_log" && break
  kill -0 "$oidc_pid" 2>/dev/null || { cat "$oidc_log" >&2; echo "the OpenID provider did not start" >&2; exit 1; }
  sleep 0.1
done
MEETFIELD_TEST_OIDC_ISSUER="$(sed -n 's/^listening //p' "$oidc_log" | head -n1)"
[ -n "$MEETFIELD_TEST_OIDC_ISSUER" ] || { cat "$oidc_log" >&2; echo "the OpenID provider did not start" >&2; exit 1; }
export MEETFIELD_TEST_OIDC_ISSUER
echo "OpenID provider for tests: $MEETFIELD_TEST_OIDC_ISSUER" >&2

# A real browser for the page tests (tests/api/browser.rs): Debian's
# Chromium and ChromeDriver; the tests start ChromeDriver themselves.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  echo "installing chromium and chromium-driver" >&2
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium chromium-driver >&2
fi

# A real LDAP server (Debian's slapd, a private instance on a loopback port,
# not the system service) for the directory sign-in tests.
if ! command -v slapd >/dev/null 2>&1 || ! command -v ldapadd >/dev/null 2>&1; then
  if [ -x /usr/sbin/slapd ] && [ -x /usr/bin/ldapadd ]; then
    PATH="$PATH:/usr/sbin"
  else
    echo "installing slapd and ldap-utils" >&2
    echo "slapd slapd/no_configuration boolean true" | as_root debconf-set-selections
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq slapd ldap-utils >&2
    PATH="$PATH:/usr/sbin"
  fi
fi
export PATH
ldap_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
ldap_dir="$(mktemp -d)"
MEETFIELD_TEST_LDAP_URL="$(federation-tests/ldap/start.sh "$ldap_dir/slapd" "$ldap_port" | sed -n 's/^listening //p')"
[ -n "$MEETFIELD_TEST_LDAP_URL" ] || { echo "slapd did not start" >&2; exit 1; }
export MEETFIELD_TEST_LDAP_URL
trap 'kill "$oidc_pid" 2>/dev/null || true; rm -f "$oidc_log"; kill "$(cat "$ldap_dir/slapd/slapd.pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$ldap_dir"' EXIT
echo "LDAP server for tests: $MEETFIELD_TEST_LDAP_URL" >&2

TEST_POSTGRES_URL="$(scripts/ensure-postgres.sh | tail -n1)"
export TEST_POSTGRES_URL
echo "PostgreSQL for tests: ${TEST_POSTGRES_URL//:*@/:***@}" >&2

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --lib --bins --tests --no-fail-fast "$@"
else
  cargo test --lib --bins --tests --no-fail-fast "$@"
fi
