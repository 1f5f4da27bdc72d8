#!/usr/bin/env bash
# Idle resident memory of a release `meetfield serve` on a fresh SQLite database.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
dir="$(mktemp -d)"
port=18931
(cd "$dir" && MEETFIELD_BIND="127.0.0.1:$port" MEETFIELD_LOG=warn "$OLDPWD/target/release/meetfield" serve) &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done
for _ in $(seq 1 20); do curl -fsS "http://127.0.0.1:$port/health" >/dev/null; done
sleep 1
grep -E 'VmRSS|VmHWM' /proc/$pid/status
