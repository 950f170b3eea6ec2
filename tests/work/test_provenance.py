"""Provenance of codings made from suggestions is 'suggested' (DESIGN.md): migration 0008
renames the old 'suggestion' rows and replaces the database check, on SQLite and PostgreSQL."""

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select, text

from coding.codebook.tree import code_tree, import_codebook, load_codebook_file
from coding.work.codings import PROVENANCE_SUGGESTED, PROVENANCES, apply_codes
from coding.work.documents import import_uploads, list_documents
from coding.errors import CodingError
from coding.team.projects import add_member, create_project
from coding.team.members import Member, get_member
from coding.store import Store
from coding.store.schema import current_revision, head_revision, migrate
from coding.store.engine import make_engine
from coding.store.models import Base, Coding

REPO = Path(__file__).resolve().parents[2]
TEXT = "Teacher: We planned together every Tuesday. Then we observed a colleague teach it.\n"
PLAN = "CIC Project/Collaboration between teachers/Joint planning"


def _back_to(engine, revision: str) -> None:
    """An empty schema at ``revision`` (the fixture database is at head)."""
    with engine.begin() as c:
        for table in reversed(Base.metadata.sorted_tables):
            c.execute(text(f'DROP TABLE IF EXISTS "{table.name}" CASCADE' if engine.dialect.name != "sqlite"
                           else f'DROP TABLE IF EXISTS "{table.name}"'))
        c.execute(text("DROP TABLE IF EXISTS alembic_version"))
    migrate(engine, revision)


def test_the_name_is_the_designs():
    assert PROVENANCE_SUGGESTED == "suggested" and PROVENANCE_SUGGESTED in PROVENANCES
    assert "suggestion" not in PROVENANCES


def _copy_rows_into(engine, revision: str, rows: dict[str, list[dict]]) -> None:
    """Rebuild the schema at ``revision`` and put ``rows`` (table -> rows read at head) back,
    each with the columns that revision has: the models describe head only."""
    _back_to(engine, revision)
    with engine.begin() as c:
        for table in Base.metadata.sorted_tables:
            if not rows.get(table.name):
                continue
            have = {col["name"] for col in sa_inspect(c).get_columns(table.name)}
            for row in rows.get(table.name, []):
                cols = [k for k in row if k in have]
                c.execute(text(f'INSERT INTO "{table.name}" ({", ".join(chr(34) + k + chr(34) for k in cols)}) '
                               f'VALUES ({", ".join(":" + k for k in cols)})'), {k: row[k] for k in cols})


def test_migration_0008_renames_suggestion_rows_and_replaces_the_check(db_url):
    engine = make_engine(db_url)
    st = Store(db_url, run_migrations=False)  # at head: the project made by the services
    with st.session() as s:
        p = create_project(s, "old", lead_name="lead", local_mode=True)
        lead = Member.of(get_member(s, p, "lead"))
        import_codebook(s, p, load_codebook_file(REPO / "codebooks" / "cic.yaml"), member=lead)
        import_uploads(s, p, [("T1.txt", TEXT.encode())], actor=lead)
        ana = add_member(s, p, "ana", "coder", actor=lead)
        doc = list_documents(s, p)[0]
        code = code_tree(s, p).resolve(PLAN).id
        ids = (p.id, doc.id, ana.id)
    st.dispose()
    with engine.connect() as c:
        rows = {t.name: [dict(r._mapping) for r in c.execute(t.select())] for t in Base.metadata.sorted_tables
                if t.name not in ("codings", "events")}
    _copy_rows_into(engine, "0007", rows)  # 0008 changes only the check; later revisions add columns
    with engine.begin() as c:
        for i, prov in enumerate(("suggestion", "typed", "suggestion", "imported")):
            c.execute(text('INSERT INTO codings (id, project_id, document_id, code_id, coder_id, start, "end", '
                           "memo, provenance, layer, created_at) VALUES (:id, :p, :d, :code, :coder, :start, :end, '', "
                           ":prov, 'coder', CURRENT_TIMESTAMP)"),
                      {"id": f"c{i}", "p": ids[0], "d": ids[1], "code": code, "coder": ids[2], "start": i,
                       "end": i + 5, "prov": prov})
    with pytest.raises(Exception, match="(?i)check"), engine.begin() as c:  # 0007 refuses the new name
        c.execute(text("UPDATE codings SET provenance = 'suggested' WHERE id = 'c1'"))

    migrate(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as c:
        assert c.execute(text("SELECT id, provenance FROM codings ORDER BY id")).all() == [
            ("c0", "suggested"), ("c1", "typed"), ("c2", "suggested"), ("c3", "imported")]
        diff = compare_metadata(MigrationContext.configure(c), Base.metadata)
    assert diff == []
    with pytest.raises(Exception, match="(?i)check"), engine.begin() as c:  # the old name is gone for good
        c.execute(text("UPDATE codings SET provenance = 'suggestion' WHERE id = 'c1'"))
    with engine.begin() as c:
        c.execute(text("UPDATE codings SET provenance = 'suggested' WHERE id = 'c1'"))
        assert c.execute(text("SELECT count(*) FROM codings WHERE provenance = 'suggested'")).scalar() == 3
        # nothing else of the table was lost in the SQLite rebuild: span and layer checks still hold
    with pytest.raises(Exception, match="(?i)check"), engine.begin() as c:
        c.execute(text("UPDATE codings SET layer = 'other' WHERE id = 'c1'"))
    with pytest.raises(Exception, match="(?i)check"), engine.begin() as c:
        c.execute(text('UPDATE codings SET "end" = start WHERE id = \'c1\''))
    engine.dispose()


def test_an_unknown_provenance_is_refused_by_name(store):
    with store.session() as s:
        p = create_project(s, "p", lead_name="lead", local_mode=True)
        lead = Member.of(get_member(s, p, "lead"))
        import_codebook(s, p, load_codebook_file(REPO / "codebooks" / "cic.yaml"), member=lead)
        import_uploads(s, p, [("T1.txt", TEXT.encode())], actor=lead)
        ana = Member.of(add_member(s, p, "ana", "coder", actor=lead))
        doc = list_documents(s, p)[0]
        code = code_tree(s, p).resolve(PLAN).id
        with pytest.raises(CodingError, match="provenance 'suggestion' is unknown: use one of typed, suggested"):
            apply_codes(s, p, ana, doc, [code], 9, 20, provenance="suggestion")
        made = apply_codes(s, p, ana, doc, [code], 9, 20, provenance=PROVENANCE_SUGGESTED)
    with store.session(write=False) as s:
        assert [c.provenance for c in s.scalars(select(Coding).where(Coding.id == made[0].id))] == ["suggested"]
