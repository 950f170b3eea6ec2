#!/usr/bin/env bash
# Set up everything the app needs on a fresh Debian machine with Python 3.11:
# a virtual environment in .venv with the pinned packages. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
PY=${PYTHON:-python3}
if ! "$PY" -c 'import venv, ensurepip' 2>/dev/null; then
  apt_install python3-venv
fi
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements.txt
  echo "$want" > "$stamp"
fi
