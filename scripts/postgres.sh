#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on 127.0.0.1 for the test suite and print
# its URL. Installs Debian's postgresql when absent. Stop it with `postgres.sh stop`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
PGPORT=${PGPORT:-55432}
PGDIR=${PGDIR:-/tmp/coding-test-pg}
if [ "${1:-}" = "stop" ]; then
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
  [ -n "$bin" ] && [ -d "$PGDIR/data" ] && runuser -u postgres -- "$bin/pg_ctl" -D "$PGDIR/data" -m fast stop >/dev/null 2>&1 || true
  exit 0
fi
apt_install postgresql >&2
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if ! as_pg "$bin/pg_isready" -h 127.0.0.1 -p "$PGPORT" -q 2>/dev/null; then
  rm -rf "$PGDIR"; mkdir -p "$PGDIR"
  [ "$(id -u)" -eq 0 ] && chown postgres "$PGDIR"
  as_pg "$bin/initdb" -D "$PGDIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  as_pg "$bin/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w \
    -o "-h 127.0.0.1 -p $PGPORT -k $PGDIR -c fsync=off -c full_page_writes=off -c synchronous_commit=off" start >/dev/null
fi
echo "postgresql://postgres@127.0.0.1:$PGPORT/postgres"
