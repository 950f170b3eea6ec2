"""Issue 17, item 12: the demo is built processed for suggestions, by the CLI (start.sh runs
``python -m coding demo``) and by the app's "Build the demo study" button (in the background)."""

from __future__ import annotations

from pathlib import Path

from coding.cli.main import main
from coding.suggest import processing as proc
from coding.team.members import Member, get_member
from coding.team.projects import get_project

REPO = Path(__file__).resolve().parents[1]


def _status(store) -> tuple[int, int]:
    with store.session(write=False) as s:
        p = get_project(s, "demo")
        return proc.processing_status(s, p, Member.of(get_member(s, p, "lead")))


def test_the_cli_builds_the_demo_processed_and_a_second_run_parses_nothing(store, db_url, capsys):
    assert main(["--db", db_url, "demo"]) == 0
    assert "8 documents processed for suggestions" in capsys.readouterr().out
    assert _status(store) == (8, 8)
    assert main(["--db", db_url, "demo"]) == 0  # start.sh runs it on every start: cached, nothing parsed
    out = capsys.readouterr()
    assert "already present" in out.out and "processed" not in out.out and "processing" not in out.err


def test_the_app_builds_the_demo_and_processes_it_in_the_background(store, db_url, monkeypatch, loopback_server):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CODING_DB_URL", db_url)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.run()
    at.button(key="project_build_demo").click().run()
    assert not at.exception
    job = proc.background(store, "demo")
    assert job is not None, "no background processing started for the demo"
    assert job.wait(300) and job.error is None
    assert _status(store) == (8, 8)
