"""The server's settings in .streamlit/config.toml, as Streamlit itself reads them."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_no_garbage_collection_forced_after_every_rerun():
    """runner.postScriptGC (on by default) forced a full collection after every rerun: 41% of a
    rerun's CPU with a long transcript open (issue 19). Read by Streamlit from the repository's
    config, as `streamlit run app.py` reads it."""
    code = ("from streamlit import config\nconfig.get_config_options(force_reparse=True)\n"
            "print(config.get_option('runner.postScriptGC'), config.get_where_defined('runner.postScriptGC'))")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    value, where = r.stdout.split(maxsplit=1)
    assert value == "False" and where.strip().endswith(".streamlit/config.toml")
