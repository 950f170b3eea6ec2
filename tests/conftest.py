"""Fixtures: a fresh, migrated database per test, on SQLite or on the PostgreSQL
server named by ``CODING_TEST_DB`` (scripts/test.sh starts one and sets it)."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from coding.store import Store
from coding.store.schema import migrate
from coding.store.engine import make_engine

PG_URL = os.environ.get("CODING_TEST_DB")
REPO = Path(__file__).resolve().parents[1]


def pytest_report_header(config):
    return f"database: {'PostgreSQL ' + PG_URL if PG_URL else 'SQLite (temporary files)'}"


@pytest.fixture(scope="session")
def _template(tmp_path_factory):
    """A migrated empty database that each test clones (migrating once is faster)."""
    if PG_URL:
        name = f"coding_tmpl_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        eng = make_engine(PG_URL.rsplit("/", 1)[0] + "/" + name)
        migrate(eng)
        eng.dispose()
        yield ("pg", admin, name)
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = tmp_path_factory.mktemp("tmpl") / "template.db"
        eng = make_engine(f"sqlite:///{path}")
        migrate(eng)
        eng.dispose()
        yield ("sqlite", None, path)


@pytest.fixture(scope="session")
def _demo_template(_template, tmp_path_factory):
    """The demo study built once per session into a copy of the empty template; tests
    that ask for ``demo_store`` get their own clone of it (building it takes seconds)."""
    from coding.demo import build_demo

    kind, admin, tmpl = _template
    if kind == "pg":
        name = f"coding_demo_{uuid.uuid4().hex[:8]}"
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{tmpl}"'))
        url = PG_URL.rsplit("/", 1)[0] + "/" + name
    else:
        path = tmp_path_factory.mktemp("demo") / "demo.db"
        shutil.copy(tmpl, path)
        url = f"sqlite:///{path}"
    st = Store(url, run_migrations=False)
    with st.session() as s:
        build_demo(s)
    st.dispose()  # no connection may stay open on a template (PostgreSQL) or a copied file
    if kind == "pg":
        yield name
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        yield path


@pytest.fixture
def db_url(_template, tmp_path, request) -> str:
    kind, admin, tmpl = _template
    if "demo_store" in request.fixturenames:
        tmpl = request.getfixturevalue("_demo_template")
    if kind == "pg":
        name = f"coding_t_{uuid.uuid4().hex[:10]}"
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{tmpl}"'))
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        path = tmp_path / "test.db"
        shutil.copy(tmpl, path)
        yield f"sqlite:///{path}"


@pytest.fixture
def store(db_url) -> Store:
    st = Store(db_url, run_migrations=False)
    yield st
    st.dispose()


@pytest.fixture
def demo_store(store) -> Store:
    """A store holding the demo study (``db_url`` cloned it from the session's demo build)."""
    return store


@pytest.fixture
def loopback_server():
    """Streamlit's ``server.address`` set to 127.0.0.1, as on a researcher's own computer:
    the app serves local-mode projects (the demo) only then."""
    from streamlit import config

    before = config.get_option("server.address")
    config.set_option("server.address", "127.0.0.1")
    yield
    config.set_option("server.address", before)


@pytest.fixture
def app_for(demo_store, db_url, monkeypatch, loopback_server):
    """``app_for(page, member_name)``: an AppTest of ``app.py`` on the demo database
    (local mode, served on a loopback address), switched to ``page`` (e.g.
    "app_pages/coding_page.py"), signed in as the member (None: not signed in).
    Run it with ``at.run()``."""
    from streamlit.testing.v1 import AppTest

    from coding.team.accounts import sign_in
    from coding.team.projects import get_project

    monkeypatch.setenv("CODING_DB_URL", db_url)

    def make(page: str, member: str | None = "lead", *, timeout: float = 60) -> AppTest:
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=timeout)
        at.session_state["project"] = "demo"
        if member:
            with demo_store.session() as s:
                at.session_state["member"] = sign_in(s, get_project(s, "demo"), member)
        at.switch_page(page)
        return at

    return make


# --- a real team's project, next to the demo on the same server ----------------------
# Every new test runs on this project rather than the demo: protected (passwords), its own
# attributes (cohort, site: no role/school), its own codebook, and the demo beside it.
TEAM = "harbour"                    # oral history of dock workers; not the demo's study
TEAM_PASSWORDS = {"maria": "Quay-Crane-Lead-7391", "tom": "Tally-Clerk-Coder-4826",
                  "li": "Bollard-Rope-Coder-5517"}
TEAM_TEXTS = {
    "Docker_01": ("Interviewer: When did you start on the docks?\n\n"
                  "Docker: In 1971, straight from school. My father got me a tally book and a hook.\n\n"
                  "Interviewer: What was the work like then?\n\n"
                  "Docker: Gangs of eight under a foreman. Containers came in 1978 and the gangs went.\n"),
    "Docker_02": ("Interviewer: How did the union respond to containers?\n\n"
                  "Docker: The union fought for severance. Most of us took the money and left.\n\n"
                  "Interviewer: And the families?\n\n"
                  "Docker: Wives kept the houses going. The pub closed in 1983.\n"),
    "Clerk_01": ("Interviewer: What did a tally clerk do?\n\n"
                 "Clerk: Counted every bale over the side. Paper, pencil, carbon copies.\n\n"
                 "Interviewer: Did computers change that?\n\n"
                 "Clerk: By 1985 a terminal did my job. I trained the young ones on it, then left.\n"),
}
TEAM_ATTRIBUTES = "document,cohort,site\nDocker_01,1970s,North Quay\nDocker_02,1970s,South Basin\nClerk_01,1980s,North Quay\n"
TEAM_CODEBOOK = """\
codes:
  - name: Work
    codable: false
    children:
      - name: Gang labour
        definition: Work organised in gangs under a foreman.
      - name: Clerical work
        definition: Counting, tallying and paperwork.
  - name: Change
    children:
      - name: Containerisation
        definition: The arrival of containers and what it did to work.
      - name: Job loss
        definition: Losing or leaving the job.
  - name: Community
    definition: Family, neighbourhood and the union.
"""


@pytest.fixture(scope="session")
def _team_template(_demo_template, _template, tmp_path_factory):
    """The demo plus the protected project ``harbour`` (lead maria, coders tom and li with
    passwords, three transcripts with cohort/site attributes, its own codebook), built
    once per session; ``team_store`` clones it."""
    from coding.codebook import tree as codebook
    from coding.work.documents import import_attributes, import_uploads
    from coding.team.projects import add_member, create_project
    from coding.team.members import Member, get_member

    url = copy_database(_demo_template, tmp_path_factory.mktemp("team"), "team")
    st = Store(url, run_migrations=False)
    with st.session() as s:
        p = create_project(s, TEAM, lead_name="maria", lead_password=TEAM_PASSWORDS["maria"])
        maria = Member.of(get_member(s, p, "maria"))
        codebook.import_codebook(s, p, codebook.parse_codebook(TEAM_CODEBOOK, "harbour.yaml"), member=maria)
        import_uploads(s, p, [(f"{n}.txt", t.encode()) for n, t in TEAM_TEXTS.items()], actor=maria)
        import_attributes(s, p, "attributes.csv", TEAM_ATTRIBUTES.encode(), actor=maria)
        for coder in ("tom", "li"):
            add_member(s, p, coder, "coder", actor=maria, password=TEAM_PASSWORDS[coder], temporary=False)
    st.dispose()
    yield template_of(url)
    drop_database(url)


def copy_database(template, tmp_dir: Path, label: str = "t") -> str:
    """A new database copied from ``template`` (a SQLite path or a PostgreSQL database
    name made from ``_template``); returns its URL. Drop it with :func:`drop_database`."""
    if PG_URL:
        name = f"coding_{label}_{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        admin.dispose()
        return PG_URL.rsplit("/", 1)[0] + "/" + name
    path = Path(tmp_dir) / f"{label}-{uuid.uuid4().hex[:6]}.db"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


def drop_database(url: str) -> None:
    if PG_URL:
        admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
        admin.dispose()


def template_of(url: str):
    """What :func:`copy_database` takes to copy the database at ``url`` (disposed first)."""
    return url.rsplit("/", 1)[1] if PG_URL else Path(url[len("sqlite:///"):])  # a Path: SQLite, as _demo_template


@pytest.fixture
def team_store(tmp_path, request) -> Store:
    """A store holding the demo and the protected project ``harbour`` (see ``TEAM``)."""
    url = copy_database(request.getfixturevalue("_team_template"), tmp_path)
    st = Store(url, run_migrations=False)
    yield st
    st.dispose()
    drop_database(url)


@pytest.fixture
def team(team_store):
    """``team.member(s, name)`` (reloaded Member), ``team.project(s)``: shorthands on ``harbour``."""
    from coding.team.projects import get_project
    from coding.team.members import Member, get_member

    class _Team:
        store = team_store
        name = TEAM
        passwords = TEAM_PASSWORDS

        @staticmethod
        def project(s):
            return get_project(s, TEAM)

        @staticmethod
        def member(s, name):
            return Member.of(get_member(s, get_project(s, TEAM), name))

    return _Team()
