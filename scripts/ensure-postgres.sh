#!/usr/bin/env bash
# Finds or starts a local PostgreSQL for the test suite and prints the URL to
# use (last line of output). Installs the server with apt only if it is absent.
set -euo pipefail

URL="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

can_connect() { psql "$1" -XAtqc 'SELECT 1' >/dev/null 2>&1; }

if can_connect "$URL"; then echo "$URL"; exit 0; fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "installing PostgreSQL" >&2
  as_root apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql postgresql-client >&2
fi

version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1 || true)"
if [ -z "$version" ]; then
  version="$(ls /usr/lib/postgresql | sort -V | tail -n1)"
  as_root pg_createcluster "$version" main >&2
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "starting PostgreSQL $version" >&2
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
  for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
fi

if can_connect "$URL"; then echo "$URL"; exit 0; fi

# A stock Debian cluster wants a password over TCP: give the postgres role one.
if [ "$(id -u)" = 0 ]; then
  runuser -u postgres -- psql -XAtqc "ALTER USER postgres PASSWORD 'meetfield'" >&2
  URL="postgres://postgres:meetfield@127.0.0.1:5432/postgres"
  if can_connect "$URL"; then echo "$URL"; exit 0; fi
fi

echo "error: cannot reach PostgreSQL at $URL; set TEST_POSTGRES_URL" >&2
exit 1
