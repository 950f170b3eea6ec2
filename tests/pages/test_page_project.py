"""AppTest: the Project page on the demo study."""

import re

from streamlit.testing.v1 import AppTest

from app_pages.plain import md_escape
from coding.codebook.tree import code_tree
from coding.work.codings import apply_codes
from coding.work.documents import get_document
from coding.team.projects import add_member, get_project
from coding.team.members import Member, get_member
from coding.work.rounds import assign, open_round
from coding.store.models import Coding

PAGE = "app_pages/project.py"
PLAN = "CIC Project/Collaboration between teachers/Joint planning"
IMG = "![t](http://example.invalid/pixel.png)"


def plain(markdown: str) -> str:
    """What a backslash-escaped Markdown string shows."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")  # md_escape's invisible word joiners


def table(at, *columns: str):
    """The first dataframe on the page with these columns (a read-only dataframe has no key in AppTest)."""
    return next(d.value for d in at.dataframe if set(columns) <= set(d.value.columns))


def markdown_sources(at) -> list[str]:
    """Every string the page hands to Streamlit's Markdown: bodies, labels, radio options."""
    out = []
    for kind in ("markdown", "caption", "title", "header", "subheader", "success", "error", "warning", "info"):
        out += [e.value for e in getattr(at, kind)]
    for kind in ("button", "checkbox", "expander", "text_input", "text_area", "selectbox", "multiselect",
                 "radio", "metric", "color_picker", "tabs"):
        out += [e.label for e in getattr(at, kind)]
    return out + [o for r in at.radio for o in r.options]


def test_project_page_lists_documents_with_attributes_and_the_codebook(app_for):
    at = app_for("app_pages/project.py", "lead")
    at.run()
    assert not at.exception
    df = at.dataframe[0].value
    assert len(df) == 8
    row = df[df["document"] == "P07_directora_Escuela-II_5"].iloc[0]
    assert row["role"] == "Principal" and row["school"] == "School II_5" and row["language"] == "es"
    tree = table(at, "code", "path")
    assert "Collaboration between teachers" in {c.strip() for c in tree["code"]}
    assert "folder" in set(tree["kind"])
    assert at.metric[0].value == "8"


def test_codebook_tree_is_a_table_indented_by_depth_not_markdown(app_for):
    at = app_for(PAGE, "lead")
    at.run()
    assert not at.exception
    tree = table(at, "code", "path").set_index("path")
    em = "\u2003"
    assert tree.loc["CIC Project", "code"] == "CIC Project"
    assert tree.loc["CIC Project/Collaboration between teachers", "code"] == em * 2 + "Collaboration between teachers"
    assert tree.loc[PLAN, "code"] == em * 4 + "Joint planning"
    # no code name reaches Markdown (where leading spaces made grey code blocks)
    assert [e.label for e in at.expander] == ["Create another project"] and not at.code
    assert not [m for m in markdown_sources(at) if "Joint planning" in m]


def _blind_round_on_p02(demo_store):
    with demo_store.session() as s:
        p = get_project(s, "demo")
        lead = Member.of(get_member(s, p, "lead"))
        rnd = open_round(s, p, lead, "Round 2", blind=True)
        assign(s, p, lead, rnd, [get_document(s, p, "P02_teacher_School-I_3")],
               [get_member(s, p, "ana"), get_member(s, p, "ben")])
        return code_tree(s, p).resolve(PLAN).id


def _shown_counts(at):
    tree = table(at, "code", "path").set_index("path")
    return at.metric[3].value, dict(tree["codings"])


def test_a_coders_counts_do_not_move_when_the_other_coder_codes_in_an_open_blind_round(app_for, demo_store):
    plan = _blind_round_on_p02(demo_store)
    ben_before = app_for(PAGE, "ben")
    ben_before.run()
    lead_before = app_for(PAGE, "lead")
    lead_before.run()
    with demo_store.session() as s:
        p = get_project(s, "demo")
        ana = Member.of(get_member(s, p, "ana"))
        apply_codes(s, p, ana, get_document(s, p, "P02_teacher_School-I_3"), [plan], 0, 10)
    with demo_store.session() as s:
        assert s.query(Coding).filter_by(coder_id=ana.id, code_id=plan, start=0, end=10).count() == 1
    ben_after = app_for(PAGE, "ben")
    ben_after.run()
    lead_after = app_for(PAGE, "lead")
    lead_after.run()
    assert not ben_after.exception and not lead_after.exception
    assert _shown_counts(ben_after) == _shown_counts(ben_before)
    total, codes = _shown_counts(lead_after)
    assert int(total.replace(",", "")) == int(_shown_counts(lead_before)[0].replace(",", "")) + 1
    assert codes[PLAN] == _shown_counts(lead_before)[1][PLAN] + 1


def test_names_reach_the_page_as_plain_text(app_for, demo_store):
    from coding.store.models import Code

    with demo_store.session() as s:
        p = get_project(s, "demo")
        # The engine refuses '/' in a code name; a codebook from elsewhere may hold one anyway.
        s.get(Code, code_tree(s, p).resolve(PLAN).id).name = IMG
        lead = Member.of(get_member(s, p, "lead"))
        add_member(s, p, "**B**", "coder", actor=lead)
        add_member(s, p, IMG, "coder", actor=lead)
        p.codebook_title = "The *CIC* codebook :red[v2]"
    at = app_for(PAGE, "**B**")
    at.run()
    assert not at.exception
    assert f"Signed in as **{md_escape('**B**')}** (coder)" in [m.value for m in at.sidebar.markdown]
    assert [plain(h.value) for h in at.subheader if "CIC" in h.value] == ["Codebook: The *CIC* codebook :red[v2]"]
    assert IMG in {c.strip() for c in table(at, "code", "path")["code"]}
    lead_at = app_for(PAGE, "lead")
    lead_at.run()
    lead_at.text_input(key="project_member_name").input(":red[x] [y](http://example.invalid)")
    lead_at.button[[b.label for b in lead_at.button].index("Add member")].click().run()
    assert [plain(m.value) for m in lead_at.success] == ["Added :red[x] [y](http://example.invalid) as coder."]
    for page in (at, lead_at):
        for text in markdown_sources(page):
            assert "![" not in text and "**B**" not in text and ":red[" not in text and "](" not in text, text


def test_after_assigning_the_progress_table_shows_the_new_assignments(app_for):
    at = app_for(PAGE, "lead")
    at.run()
    at.text_input(key="project_round_name").input("Round 2")
    at.button[[b.label for b in at.button].index("Open round")].click().run()
    at.multiselect(key="project_assign_docs").select("P02_teacher_School-I_3")
    at.button[[b.label for b in at.button].index("Assign")].click().run()
    assert not at.exception
    prog = table(at, "round", "document")
    assert set(prog[prog["round"] == "Round 2"]["document"]) == {"P02_teacher_School-I_3"}


def test_empty_database_offers_the_demo(db_url, monkeypatch):
    from pathlib import Path

    monkeypatch.setenv("CODING_DB_URL", db_url)
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception
    at.button(key="project_build_demo").click().run()
    assert not at.exception
    from coding.work.documents import list_documents
    from coding.store import Store

    built = Store(db_url, run_migrations=False)
    try:
        with built.session() as s:
            assert len(list_documents(s, get_project(s, "demo"))) == 8
    finally:
        built.dispose()
    assert not at.dataframe  # nothing of a project before sign-in (issue 15)


def test_lead_opens_a_round_assigns_and_reveals(app_for, demo_store):
    from coding.team.projects import get_project
    from coding.work.rounds import list_rounds, progress

    at = app_for("app_pages/project.py", "lead")
    at.run()
    at.text_input(key="project_round_name").input("Round 2")
    at.button[[b.label for b in at.button].index("Open round")].click().run()
    assert not at.exception
    at.multiselect(key="project_assign_docs").select("P02_teacher_School-I_3")
    at.button[[b.label for b in at.button].index("Assign")].click().run()
    assert "2 assignments added in Round 2." in [plain(s.value) for s in at.success]
    with demo_store.session() as s:
        p = get_project(s, "demo")
        assert {(r["round"], r["document"], r["coder"]) for r in progress(s, p, get_member(s, p, "lead"))
                if r["round"] == "Round 2"} == {
            ("Round 2", "P02_teacher_School-I_3", "ana"), ("Round 2", "P02_teacher_School-I_3", "ben")}
    at.button[[b.label for b in at.button].index("Reveal this round")].click().run()
    with demo_store.session() as s:
        assert {r.name: r.status for r in list_rounds(s, get_project(s, "demo"))}["Round 2"] == "revealed"


def test_coder_sees_no_lead_forms(app_for):
    at = app_for("app_pages/project.py", "ana")
    at.run()
    labels = [b.label for b in at.button]
    assert "Open round" not in labels and "Import" not in labels


def test_creating_a_project_asks_for_the_leads_password_or_local_mode(db_url, monkeypatch):
    from pathlib import Path

    from coding.store import Store
    from coding.store.models import Coder, Project

    monkeypatch.setenv("CODING_DB_URL", db_url)
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"), default_timeout=60)
    at.run()
    at.text_input(key="project_new_name").input("Study *2*")
    at.text_input(key="project_new_lead").input("Dr. [Lee](http://example.invalid)")
    at.button[[b.label for b in at.button].index("Create project")].click().run()
    assert not at.exception
    assert "needs a password" in plain(at.error[0].value)
    assert "](" not in at.error[0].value  # the lead's name is escaped in the message
    store = Store(db_url, run_migrations=False)
    try:
        with store.session() as s:
            assert s.query(Project).count() == 0
        at.text_input(key="project_new_pw").input("quiet harbour lantern 47")
        at.text_input(key="project_new_pw2").input("quiet harbour lantern 47")
        at.button[[b.label for b in at.button].index("Create project")].click().run()
        assert not at.exception
        with store.session() as s:
            (p,) = s.query(Project).all()
            (lead,) = s.query(Coder).filter_by(project_id=p.id).all()
            assert (p.name, p.local_mode, lead.name, lead.role) == ("Study *2*", False, "Dr. [Lee](http://example.invalid)",
                                                                     "lead")
            assert lead.password_hash and "quiet" not in lead.password_hash
    finally:
        store.dispose()


def _create(at, name: str, pw: str, pw2: str, *, local: bool = False):
    at.text_input(key="project_new_name").input(name)
    at.text_input(key="project_new_lead").input("pat")
    at.text_input(key="project_new_pw").input(pw)
    at.text_input(key="project_new_pw2").input(pw2)
    if local:
        at.checkbox(key="project_new_local").check()
    return at.button[[b.label for b in at.button].index("Create project")].click().run()


def test_creating_a_project_asks_for_the_password_twice_and_signs_the_creator_in(db_url, monkeypatch,
                                                                                  loopback_server):
    from pathlib import Path

    from coding.store import Store
    from coding.store.models import Project, SessionToken

    monkeypatch.setenv("CODING_DB_URL", db_url)
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"), default_timeout=60)
    at.run()
    _create(at, "Study", "quiet harbour lantern 47", "quiet harbour lantern 48")
    assert not at.exception
    assert "The two passwords differ" in plain(at.error[0].value)
    store = Store(db_url, run_migrations=False)
    try:
        with store.session() as s:
            assert s.query(Project).count() == 0
        _create(at, "Study", "quiet harbour lantern 47", "quiet harbour lantern 47")
        assert not at.exception and not at.error
        with store.session() as s:
            (p,) = s.query(Project).all()
            lead = get_member(s, p, "pat")
            (token,) = s.query(SessionToken).all()
            assert token.coder_id == lead.id and token.revoked_at is None
        assert at.session_state["member"].id == lead.id and at.session_state["project"] == "Study"
        assert "Signed in as **pat** (lead)" in [m.value for m in at.sidebar.markdown]
    finally:
        store.dispose()


def test_local_mode_is_refused_when_the_server_is_reachable_from_other_computers(db_url, monkeypatch):
    from pathlib import Path

    from streamlit import config

    from coding.store import Store
    from coding.store.models import Project

    monkeypatch.setenv("CODING_DB_URL", db_url)
    before = config.get_option("server.address")
    store = Store(db_url, run_migrations=False)
    try:
        for address in ("0.0.0.0", None):
            config.set_option("server.address", address)
            at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"), default_timeout=60)
            at.run()
            assert at.checkbox(key="project_new_local").disabled
        # a form filled while the box was offered, submitted after the server stopped being loopback-only
        config.set_option("server.address", "127.0.0.1")
        at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"), default_timeout=60)
        at.run()
        config.set_option("server.address", "0.0.0.0")
        _create(at, "Solo", "", "", local=True)
        assert not at.exception and at.error  # refused: the box no longer counts, a password is asked for
        with store.session() as s:
            assert s.query(Project).count() == 0
        config.set_option("server.address", "127.0.0.1")
        at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"), default_timeout=60)
        at.run()
        assert not at.checkbox(key="project_new_local").disabled
        _create(at, "Solo", "", "", local=True)
        assert not at.exception and not at.error
        with store.session() as s:
            assert [(p.name, p.local_mode) for p in s.query(Project)] == [("Solo", True)]
    finally:
        config.set_option("server.address", before)
        store.dispose()


def test_a_lead_imports_uploads_one_commit_each_with_warnings_shown_as_text(app_for, demo_store):
    """A good file, a UTF-8 file with one stray byte (stored with a warning) and an empty
    file (refused): the two good ones are stored, the warning and error read as plain text."""
    from coding.work.documents import list_documents

    at = app_for(PAGE, "lead")
    at.run()
    at.file_uploader(key="project_files").set_value([
        ("Good_1.txt", "Teacher: we planned *together*.\n".encode(), "text/plain"),
        ("Odd_[x](y).txt", "Teacher: caf\u00e9 ".encode() + b"\xff" + b" **bold** ok\n", "text/plain"),
        ("Empty.txt", b"", "text/plain"),
    ])
    at.button[[b.label for b in at.button].index("Import")].click().run()
    assert not at.exception
    with demo_store.session() as s:
        texts = {d.name: d.text for d in list_documents(s, get_project(s, "demo"))}
    assert texts["Good_1"] == "Teacher: we planned *together*.\n"
    assert texts["Odd_[x](y)"].startswith("Teacher: caf\u00e9 ") and "Empty" not in texts
    [warning] = at.warning
    assert "Odd_[x](y)" in plain(warning.value) and "](" not in warning.value
    assert any("Empty.txt" in plain(e.value) for e in at.error)


def test_the_app_says_when_the_database_cannot_be_opened(tmp_path, monkeypatch, loopback_server):
    """A database the workbench cannot use (here: a schema from a newer version) is named
    on the page with what to do, not hidden behind a generic error."""
    from sqlalchemy import text

    from coding.store.schema import migrate
    from coding.store.engine import make_engine

    url = f"sqlite:///{tmp_path / 'newer.db'}"
    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as c:
        c.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    monkeypatch.setenv("CODING_DB_URL", url)
    from pathlib import Path

    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception
    assert at.error and "Upgrade the workbench" in at.error[0].value.replace("\\", "")
