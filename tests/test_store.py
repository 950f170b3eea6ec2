"""The store: migrations give the models' schema, foreign keys hold, ids are UUIDs."""

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from coding.projects import create_project
from coding.store.models import Base, Coding, Document


def test_migrating_an_empty_database_gives_the_models_schema(store):
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    assert set(Base.metadata.tables) <= set(inspect(store.engine).get_table_names())


def test_foreign_keys_are_enforced(store):
    with pytest.raises(IntegrityError), store.session() as s:
        s.add(Coding(project_id=str(uuid.uuid4()), document_id="x", code_id="y", coder_id="z", start=0, end=1))
        s.flush()


def test_a_span_must_be_non_empty_at_the_database_level(store):
    with store.session() as s:
        p = create_project(s, "p")
        s.add(Document(project_id=p.id, name="d", text="abc", sha256="0" * 64, length=3))
    with pytest.raises(IntegrityError), store.session() as s:
        s.add(Coding(project_id=p.id, document_id=s.query(Document).one().id, code_id="c", coder_id="k",
                     start=2, end=2))
        s.flush()


def test_objects_get_uuids(store):
    with store.session() as s:
        p = create_project(s, "uuids")
    assert uuid.UUID(p.id).version == 4


def test_default_url_is_a_sqlite_file_under_data(monkeypatch):
    from coding.store.db import DEFAULT_DB_PATH, resolve_url

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
