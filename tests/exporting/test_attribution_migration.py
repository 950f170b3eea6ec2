"""Migration 0010 (issue 16, item 1): projects still holding migration 0005's demo template
``({role} - {school})`` but lacking those attributes get the default ``({speaker}, {document})``;
the demo (which has both) and templates a lead set keep theirs. SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import text

from coding.exporting.excerpts import excerpts
from coding.store.engine import make_engine
from coding.store.models import Base
from coding.store.schema import current_revision, head_revision, migrate
from coding.team.members import Member, get_member
from coding.team.projects import create_project, get_project
from coding.store import Store

OLD, NEW = "({role} - {school})", "({speaker}, {document})"


def _rebuild_at(engine, revision: str, rows: dict[str, list[dict]]) -> None:
    """The schema rebuilt at ``revision`` with ``rows`` (read at head) put back, each with the
    columns that revision has (the models describe head only)."""
    with engine.begin() as c:
        for table in reversed(Base.metadata.sorted_tables):
            c.execute(text(f'DROP TABLE IF EXISTS "{table.name}"' + (" CASCADE" if engine.dialect.name != "sqlite"
                                                                     else "")))
        c.execute(text("DROP TABLE IF EXISTS alembic_version"))
    migrate(engine, revision)
    with engine.begin() as c:
        for table in Base.metadata.sorted_tables:
            if not rows.get(table.name) or table.name not in sa_inspect(c).get_table_names():
                continue
            have = {col["name"] for col in sa_inspect(c).get_columns(table.name)}
            for row in rows[table.name]:
                cols = [k for k in row if k in have]
                c.execute(text(f'INSERT INTO "{table.name}" ({", ".join(chr(34) + k + chr(34) for k in cols)}) '
                               f'VALUES ({", ".join(":" + k for k in cols)})'), {k: row[k] for k in cols})


def test_migration_0010_resets_the_demo_default_where_its_attributes_are_missing(team):
    with team.store.session() as s:
        create_project(s, "own", lead_name="ola", local_mode=True)
    engine = make_engine(team.store.url)
    with engine.begin() as c:
        c.execute(text("UPDATE projects SET attribution_template = :old WHERE name IN ('harbour', 'demo')"),
                  {"old": OLD})
        c.execute(text("UPDATE projects SET attribution_template = '[{site}]' WHERE name = 'own'"))
    with engine.connect() as c:
        rows = {t.name: [dict(r._mapping) for r in c.execute(t.select())] for t in Base.metadata.sorted_tables}
    team.store.dispose()
    _rebuild_at(engine, "0009", rows)
    with engine.begin() as c:  # 0009's server default is still the demo's template
        c.execute(text("INSERT INTO projects (id, name, created_at, codebook_title, codebook_description, "
                       "codebook_version, local_mode) VALUES ('p-raw', 'raw', CURRENT_TIMESTAMP, '', '', 1, :t)"),
                  {"t": True})
        assert c.execute(text("SELECT attribution_template FROM projects WHERE id = 'p-raw'")).scalar() == OLD
    migrate(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as c:
        got = dict(c.execute(text("SELECT name, attribution_template FROM projects")).all())
    engine.dispose()
    assert got == {"demo": OLD, "harbour": NEW, "own": "[{site}]", "raw": NEW}
    st = Store(team.store.url, run_migrations=False)
    try:
        with st.session() as s:  # the demo's quotes keep their attribution
            p = get_project(s, "demo")
            e = excerpts(s, p, Member.of(get_member(s, p, "lead")), documents=["P01_principal_School-I_3"])[0]
            assert e.attribution == "(Principal - School I_3)"
    finally:
        st.dispose()
