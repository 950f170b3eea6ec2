"""The store: migrations give the models' schema, foreign keys hold, ids are UUIDs,
database errors leave as CodingErrors, files are private, migration 0002 keeps data."""

import json
import os
import stat
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from coding.errors import CodingError, ConflictError, StorageDataError
from coding.team.projects import create_project
from coding.store.schema import migrate
from coding.store.engine import make_engine
from coding.store.models import Base, Coder, Coding, Document


def test_migrating_an_empty_database_gives_the_models_schema(store):
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    assert set(Base.metadata.tables) <= set(inspect(store.engine).get_table_names())


def test_foreign_keys_are_enforced_and_reported_as_a_conflict(store):
    with pytest.raises(ConflictError, match="deleted, merged or is still in use.*Reload"), store.session() as s:
        s.add(Coding(project_id=str(uuid.uuid4()), document_id="x", code_id="y", coder_id="z", start=0, end=1))
        s.flush()


def test_a_span_must_be_non_empty_at_the_database_level(store):
    with store.session() as s:
        p = create_project(s, "p", lead_name="lead", local_mode=True)
        s.add(Document(project_id=p.id, name="d", text="abc", sha256="0" * 64, length=3))
    with pytest.raises(CodingError, match="refused|deleted"), store.session() as s:
        s.add(Coding(project_id=p.id, document_id=s.query(Document).one().id, code_id="c", coder_id="k",
                     start=2, end=2))
        s.flush()
    with store.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM codings")).scalar() == 0


@pytest.mark.parametrize("bad", ["role", "long"])
def test_a_refused_value_leaves_as_a_clear_error_not_a_raw_one(store, bad):
    if bad == "long" and store.engine.dialect.name == "sqlite":
        pytest.skip("SQLite does not enforce VARCHAR lengths")
    with pytest.raises(StorageDataError, match="database refused a value.*Shorten or clean"), store.session() as s:
        p = create_project(s, "p", lead_name="lead", local_mode=True)
        s.add(Coder(project_id=p.id, name="x" * (500 if bad == "long" else 3),
                    role="boss" if bad == "role" else "coder"))
        s.flush()
    with store.session() as s:
        assert s.query(Coder).count() == 0


def test_objects_get_uuids(store):
    with store.session() as s:
        p = create_project(s, "uuids", lead_name="lead", local_mode=True)
    assert uuid.UUID(p.id).version == 4


def test_default_url_is_a_sqlite_file_under_data(monkeypatch):
    from coding.store.engine import DEFAULT_DB_PATH, resolve_url

    monkeypatch.delenv("CODING_DB_URL", raising=False)
    assert resolve_url() == f"sqlite:///{DEFAULT_DB_PATH}"
    assert DEFAULT_DB_PATH.parent.name == "data"
    monkeypatch.setenv("CODING_DB_URL", "sqlite:////tmp/x.db")
    assert resolve_url() == "sqlite:////tmp/x.db"
    assert resolve_url("postgresql://u@h/db") == "postgresql://u@h/db"


def test_an_unreachable_server_gives_a_clear_error():
    from coding.store import Store, StoreError

    with pytest.raises(StoreError, match="cannot open the database.*Check the URL"):
        Store("postgresql://nobody@127.0.0.1:1/none")


def test_a_new_sqlite_database_and_its_folder_are_private(tmp_path):
    from coding.store import Store

    st = Store(f"sqlite:///{tmp_path}/team/coding.db")
    with st.session() as s:
        create_project(s, "private", lead_name="lead", local_mode=True)
    st.dispose()
    assert stat.S_IMODE(os.stat(tmp_path / "team").st_mode) == 0o700
    for f in (tmp_path / "team").iterdir():
        assert stat.S_IMODE(os.stat(f).st_mode) == 0o600, f


def test_the_default_data_folder_is_private(monkeypatch):
    from coding.store.engine import DEFAULT_DB_PATH, resolve_url

    monkeypatch.delenv("CODING_DB_URL", raising=False)
    resolve_url()
    assert stat.S_IMODE(os.stat(DEFAULT_DB_PATH.parent).st_mode) == 0o700


def _fill_at_0001(c) -> None:
    now = "2024-01-01 00:00:00+00"
    c.execute(text("INSERT INTO projects VALUES ('p', 'p', :n, '', '', 1, true)"), {"n": now})
    c.execute(text("INSERT INTO coders VALUES ('k', 'p', 'k', 'coder', NULL, :n)"), {"n": now})
    c.execute(text("INSERT INTO documents (id, project_id, name, text, sha256, length, language, source_filename, "
                   "source_format, source_encoding, imported_at) "
                   "VALUES ('d', 'p', 'd', 'abcdef', '0', 6, 'en', '', 'txt', 'utf-8', :n)"), {"n": now})
    c.execute(text("INSERT INTO codes VALUES ('top', 'p', NULL, 0, 'Top', '', '', '', '', '#000000', true)"))
    c.execute(text("INSERT INTO codes VALUES ('sub', 'p', 'top', 0, 'Sub', '', '', '', '', '#000000', true)"))
    for i, memo in enumerate(("first", "second", "")):  # the same coding stored three times
        c.execute(text("INSERT INTO codings VALUES (:id, 'p', 'd', 'sub', 'k', 0, 3, :m, 'typed', 'coder', :t)"),
                  {"id": f"dup{i}", "m": memo, "t": f"2024-01-01 00:00:0{i}+00"})
    c.execute(text("INSERT INTO codings VALUES ('one', 'p', 'd', 'top', 'k', 1, 3, '', 'typed', 'coder', :n)"),
              {"n": now})


def test_migration_0002_keeps_data_folds_duplicates_into_an_event_and_restricts_deletes(db_url):
    engine = make_engine(db_url)
    with engine.begin() as c:  # back to an empty schema at 0001 (the fixture database is at head)
        for table in reversed(Base.metadata.sorted_tables):
            c.execute(text(f'DROP TABLE IF EXISTS "{table.name}" CASCADE' if engine.dialect.name != "sqlite"
                           else f'DROP TABLE IF EXISTS "{table.name}"'))
        c.execute(text("DROP TABLE IF EXISTS alembic_version"))
    migrate(engine, "0001")
    with engine.begin() as c:
        _fill_at_0001(c)
    migrate(engine)
    with engine.connect() as c:
        # Rebuilding tables on SQLite cascaded nothing: both codes and the kept codings remain.
        assert c.execute(text("SELECT id, parent_id, status FROM codes ORDER BY id")).all() == [
            ("sub", "top", "active"), ("top", None, "active")]
        assert c.execute(text("SELECT id, memo FROM codings ORDER BY id")).all() == [
            ("dup0", "first\n\nsecond"), ("one", "")]
        ev = c.execute(text("SELECT action, object_id, payload FROM events")).one()
        assert ev[:2] == ("coding.dedupe", "dup0")
        assert [r["id"] for r in json.loads(ev[2])["removed"]] == ["dup1", "dup2"]
    with pytest.raises(Exception, match="(?i)foreign key"), engine.begin() as c:
        c.execute(text("DELETE FROM codes WHERE id = 'sub'"))  # RESTRICT, no silent cascade
    with pytest.raises(Exception, match="(?i)unique"), engine.begin() as c:
        c.execute(text("INSERT INTO codings VALUES ('again', 'p', 'd', 'top', 'k', 1, 3, '', 'typed', 'coder', "
                       "'2024-01-02 00:00:00+00')"))
    with engine.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c), Base.metadata)
    assert diff == []
    engine.dispose()
