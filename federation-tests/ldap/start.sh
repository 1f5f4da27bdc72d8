#!/usr/bin/env bash
# A private OpenLDAP server for Meetfield's LDAP tests: its own config and
# database under DIR, listening on 127.0.0.1:PORT (not the system service).
# Directory: dc=example,dc=org, admin cn=admin,dc=example,dc=org / secret,
# people under ou=people, groups (groupOfNames, memberOf filled by the
# memberof overlay) under ou=groups: staff, it-admins, comms.
# Prints `listening ldap://127.0.0.1:PORT` once it answers; slapd's pid is
# in DIR/slapd.pid.
set -euo pipefail
dir="$1"
port="$2"
here="$(cd "$(dirname "$0")" && pwd)"
rm -rf "$dir"
mkdir -p "$dir/slapd.d" "$dir/db"
sed -e "s|@DB@|$dir/db|g" -e "s|@PID@|$dir/slapd.pid|g" "$here/config.ldif" > "$dir/config.ldif"
slapadd -n0 -F "$dir/slapd.d" -l "$dir/config.ldif" >/dev/null
slapd -h "ldap://127.0.0.1:$port/" -F "$dir/slapd.d"
for _ in $(seq 1 100); do
  if ldapwhoami -x -H "ldap://127.0.0.1:$port/" >/dev/null 2>&1; then break; fi
  sleep 0.1
done
ldapadd -x -H "ldap://127.0.0.1:$port/" -D cn=admin,dc=example,dc=org -w secret -f "$here/directory.ldif" >/dev/null
# A test process that started us may ask us to go when it goes.
if [ -n "${WATCH_PID:-}" ]; then
  (while kill -0 "$WATCH_PID" 2>/dev/null; do sleep 1; done; kill "$(cat "$dir/slapd.pid")" 2>/dev/null; rm -rf "$dir") >/dev/null 2>&1 &
fi
echo "listening ldap://127.0.0.1:$port"
