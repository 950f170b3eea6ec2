"""Batch commits (issue 19, item 4): an import's files commit one by one without waiting for
the disk (SQLite synchronous=NORMAL in WAL mode), survive the process being killed, and
every other write still waits for the disk. On harbour, SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from sqlalchemy import select, text

from coding.store import Store
from coding.store.models import Document, Event
from coding.work.documents import import_uploads_committing
from tests.conftest import TEAM

REPO = Path(__file__).resolve().parents[2]
TALK = "Interviewer: Which berth?\n\nDocker: Berth {n}, the night shift.\n"


def _synchronous(s) -> int | None:
    if s.get_bind().dialect.name != "sqlite":
        return None
    return s.execute(text("PRAGMA synchronous")).scalar()


def test_batch_commits_do_not_wait_for_the_disk_and_other_writes_do(team):
    with team.store.session(batch=True) as s:
        assert _synchronous(s) in (None, 1)  # NORMAL
    with team.store.session() as s:
        assert _synchronous(s) in (None, 2)  # FULL, on the same pooled connection
    with team.store.session() as s:
        maria = team.member(s, "maria")
    report = import_uploads_committing(team.store, TEAM, [(f"Night_{n}.txt", TALK.format(n=n).encode())
                                                           for n in range(5)], actor=maria)
    assert report.ok and len(report.imported) == 5
    with team.store.session() as s:  # the next ordinary write waits for the disk again
        assert _synchronous(s) in (None, 2)
        stored = set(s.scalars(select(Document.name).where(Document.name.like("Night_%"))))
        events = s.scalar(select(Event.id).where(Event.action == "document.import",
                                                 Event.payload.like('%Night_4%')))
    assert stored == {f"Night_{n}" for n in range(5)} and events


def test_a_batch_commit_survives_the_process_being_killed(team):
    """Killed right after a batch commit, before any sync: the file is stored."""
    url = team.store.url
    team.store.dispose()
    code = textwrap.dedent(f"""
        import os, signal
        from coding.store import Store
        from coding.team.members import Member, get_member
        from coding.team.projects import get_project
        from coding.work.documents import store_document
        st = Store({url!r}, run_migrations=False)
        with st.session(batch=True) as s:
            p = get_project(s, {TEAM!r})
            store_document(s, p, "Killed_after", "Killed_after.txt", {TALK.format(n=9).encode()!r},
                           actor=Member.of(get_member(s, p, "maria")))
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == -9, r.stderr
    st = Store(url, run_migrations=False)
    try:
        with st.session(write=False) as s:
            doc = s.scalar(select(Document).where(Document.name == "Killed_after"))
            assert doc is not None and "Berth 9" in doc.text
    finally:
        st.dispose()
