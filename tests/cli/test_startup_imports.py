"""Start-up: a command imports only what it needs (issue 19). ``--help`` loads neither the
store (SQLAlchemy, Alembic) nor spaCy or scikit-learn; a command on a database that is
at the current schema loads no Alembic; a database that is behind is still migrated."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from coding.store import Store
from coding.store.schema import current_revision, head_revision, migrate
from coding.store.engine import make_engine
from tests.conftest import PG_URL, TEAM, TEAM_PASSWORDS

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("alembic", "sqlalchemy", "spacy", "sklearn")


def _modules_after(argv: list[str], *, env: dict | None = None) -> tuple[int, list[str], str]:
    """Run ``coding.cli.main.main(argv)`` in a fresh interpreter; its exit code, which of
    HEAVY it imported, and what it printed."""
    code = ("import json, sys\nimport coding.cli.main as m\n"
            f"try:\n    rc = m.main({argv!r})\nexcept SystemExit as e:\n    rc = e.code\n"
            f"print(json.dumps([rc, [x for x in {HEAVY!r} if x in sys.modules]]))\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                       env={**os.environ, **(env or {})})
    assert r.returncode == 0, r.stderr
    rc, loaded = json.loads(r.stdout.strip().splitlines()[-1])
    return rc, loaded, r.stdout


def test_help_imports_no_store_and_no_nlp():
    rc, loaded, out = _modules_after(["--help"])
    assert rc == 0 and "usage: python -m coding" in out
    assert loaded == []
    rc, loaded, out = _modules_after(["export", "--help"])  # the parsers that offer engine constants
    assert rc == 0 and "--provenance" in out and loaded == []


def test_command_on_a_current_database_imports_no_alembic(team_store):
    url = team_store.url
    team_store.dispose()
    rc, loaded, out = _modules_after(["--db", url, "--as", "maria", "documents", TEAM, "--json"],
                                     env={"CODING_PASSWORD": TEAM_PASSWORDS["maria"]})
    assert rc == 0, out
    assert {d["name"] for d in json.loads("\n".join(out.splitlines()[:-1]))} == {"Docker_01", "Docker_02", "Clerk_01"}
    assert "sqlalchemy" in loaded and "alembic" not in loaded and "spacy" not in loaded and "sklearn" not in loaded


def test_head_read_from_the_files_is_alembics_head():
    from coding.store.schema import _scripts

    assert head_revision() == _scripts().get_current_head()


def test_a_database_behind_is_still_migrated(team_store):
    """The short cut for a current database must not skip a migration: step the harbour's
    database back one revision and open it again."""
    from coding.store.schema import _scripts

    from alembic import command
    from alembic.config import Config

    from coding.store.schema import MIGRATIONS

    engine = team_store.engine
    before = _scripts().get_revision(head_revision()).down_revision
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, before)
    assert current_revision(engine) == before
    if PG_URL:
        migrate(engine)  # PostgreSQL is migrated only by the migrate command
    else:
        st = Store(team_store.url)
        assert st.backup is not None
        st.dispose()
    assert current_revision(make_engine(team_store.url)) == head_revision()


def test_parser_constants_are_the_engines():
    """The parser takes its choices from light modules; they must stay the engine's own."""
    from coding.interchange import TOOLS
    from coding.text.offsets import REFI_TOOLS
    from coding.work import codings, provenance

    assert set(REFI_TOOLS) == set(TOOLS)
    assert codings.PROVENANCES is provenance.PROVENANCES
