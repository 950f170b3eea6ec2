#!/usr/bin/env bash
# Set everything up, build the demo study (once), and open the app.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m coding demo
exec .venv/bin/python -m streamlit run app.py --browser.gatherUsageStats false "$@"
