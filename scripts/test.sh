#!/usr/bin/env bash
# Set everything up and run the whole test suite: on SQLite, then again on a real
# PostgreSQL server (started here), with browser tests in Debian's Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
bash scripts/setup.sh
apt_install chromium
PG_URL=$(bash scripts/postgres.sh)
trap 'bash scripts/postgres.sh stop' EXIT
echo "== tests on SQLite =="
.venv/bin/python -m pytest -q "$@"
echo "== tests on PostgreSQL ($PG_URL) =="
CODING_TEST_DB="$PG_URL" .venv/bin/python -m pytest -q -m "not browser" "$@"
