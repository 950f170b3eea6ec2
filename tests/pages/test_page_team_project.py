"""Issue 17 on the pages (AppTest), on the protected project ``harbour`` beside the demo:
a lead creates another project from the app (item 2), the Assign form offers the members
added since (item 5), the Agreement page compares a lead who codes (item 4)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from coding.agreement.coders import comparable_coders
from coding.codebook.tree import code_tree
from coding.store.models import Assignment, Coder, Project, SessionToken
from coding.team.members import Member, get_member
from coding.team.projects import create_project, get_project
from coding.team.sessions import open_session
from coding.work.codings import apply_codes
from coding.work.documents import get_document, import_uploads
from coding.work.rounds import open_round

REPO = Path(__file__).resolve().parents[2]
PROJECT = "app_pages/project.py"
NEW_PW = "Ship-Chandler-Lead-2290"


@pytest.fixture
def team_app(team, monkeypatch):
    """``team_app(page, member, project=harbour)``: an AppTest of app.py signed in through a
    real session row (a protected project takes no name alone). No loopback address is set:
    the server counts as reachable from other computers unless a test sets one."""
    monkeypatch.setenv("CODING_DB_URL", team.store.engine.url.render_as_string(hide_password=False))

    def make(page: str, member: str | None, project: str = team.name) -> AppTest:
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
        at.session_state["project"] = project
        if member:
            with team.store.session() as s:
                p = get_project(s, project)
                at.session_state["auth_session"] = open_session(s, Member.of(get_member(s, p, member))).id
        at.switch_page(page)
        return at

    return make


def _button(at, label: str):
    return at.button[[b.label for b in at.button].index(label)]


def _fill_create(at, name: str, pw: str, *, local: bool = False) -> AppTest:
    at.text_input(key="project_new_name").input(name)
    at.text_input(key="project_new_pw").input(pw)
    at.text_input(key="project_new_pw2").input(pw)
    if local:
        at.checkbox(key="project_new_local").check()
    return _button(at, "Create project").click().run()


# --- item 2: a lead creates a project once projects exist --------------------------------

def test_a_signed_in_lead_creates_a_protected_project_and_is_signed_in_to_it(team_app, team):
    at = team_app(PROJECT, "maria")
    at.run()
    assert not at.exception
    assert at.text_input(key="project_new_lead").value == "maria"  # their own name, by default
    _fill_create(at, "Wharf archive", NEW_PW)
    assert not at.exception and not at.error
    with team.store.session() as s:
        p = get_project(s, "Wharf archive")
        (lead,) = s.query(Coder).filter_by(project_id=p.id).all()
        assert (p.local_mode, lead.name, lead.role) == (False, "maria", "lead")
        assert lead.password_hash and NEW_PW not in lead.password_hash
        token = s.get(SessionToken, at.session_state["auth_session"])
        assert token.coder_id == lead.id and token.revoked_at is None
        # harbour's maria is untouched: another account, in another project
        assert get_member(s, team.project(s), "maria").password_hash != lead.password_hash
    assert at.session_state["project"] == "Wharf archive"
    assert "Signed in as **maria** (lead)" in [m.value for m in at.sidebar.markdown]


def test_a_coder_is_offered_no_project_creation_and_the_engine_refuses_one(team_app, team):
    from coding.errors import PermissionDeniedError
    from coding.team.projects import create_project_as

    at = team_app(PROJECT, "tom")
    at.run()
    assert not at.exception
    assert not [t for t in at.text_input if t.key == "project_new_name"]
    with team.store.session() as s, pytest.raises(PermissionDeniedError, match="cannot create projects"):
        create_project_as(s, team.project(s), team.member(s, "tom"), "Tom's own", password=NEW_PW)
    with team.store.session() as s:
        assert s.query(Project).filter_by(name="Tom's own").count() == 0


def test_local_mode_is_offered_only_to_a_request_from_this_computer(team_app, team, loopback_server):
    from streamlit import config

    config.set_option("server.address", "0.0.0.0")  # reachable from other computers
    at = team_app(PROJECT, "maria")
    at.run()
    assert at.checkbox(key="project_new_local").disabled
    # a form filled while the box was offered, submitted after the server stopped being loopback-only
    config.set_option("server.address", "127.0.0.1")
    at = team_app(PROJECT, "maria")
    at.run()
    config.set_option("server.address", "0.0.0.0")
    _fill_create(at, "Solo notes", "", local=True)
    assert not at.exception and at.error  # refused: a password is asked for
    with team.store.session() as s:
        assert s.query(Project).filter_by(name="Solo notes").count() == 0
    config.set_option("server.address", "127.0.0.1")
    at = team_app(PROJECT, "maria")
    at.run()
    assert not at.checkbox(key="project_new_local").disabled
    _fill_create(at, "Solo notes", "", local=True)
    assert not at.exception and not at.error
    with team.store.session() as s:
        assert get_project(s, "Solo notes").local_mode is True


# --- item 5: the Assign form follows the members -----------------------------------------

@pytest.fixture
def wharf(team):
    """A new project of maria's with one transcript and an open round, and no coder yet."""
    with team.store.session() as s:
        p = create_project(s, "Wharf", lead_name="maria", lead_password=NEW_PW)
        maria = Member.of(get_member(s, p, "maria"))
        import_uploads(s, p, [("Crane_01.txt", b"Interviewer: Which crane?\n\nDriver: The big one.\n")], actor=maria)
        open_round(s, p, maria, "Round 1", blind=True)
    return "Wharf"


def test_a_coder_added_after_the_page_loaded_is_offered_and_assigned(team_app, team, wharf):
    at = team_app(PROJECT, "maria", project=wharf)
    at.run()
    assert not at.exception
    at.text_input(key="project_member_name").input("ana")
    at.text_input(key="project_member_pw").input("Rope-Splicer-Coder-6613")
    _button(at, "Add member").click().run()
    assert not at.exception
    (coders,) = [m for m in at.multiselect if m.label == "Coders"]
    assert coders.options[0] == "ana" and coders.value == ["ana"]
    at.multiselect(key="project_assign_docs").set_value(["Crane_01"])
    _button(at, "Assign").click().run()
    assert not at.exception
    assert any("1 assignment added" in s.value for s in at.success)
    with team.store.session() as s:
        p = get_project(s, wharf)
        rows = s.query(Assignment).filter(Assignment.document_id == get_document(s, p, "Crane_01").id).all()
        assert [a.coder_id for a in rows] == [get_member(s, p, "ana").id]


def test_assigning_with_no_coder_chosen_says_so_and_stores_nothing(team_app, team, wharf):
    at = team_app(PROJECT, "maria", project=wharf)
    at.run()
    at.multiselect(key="project_assign_docs").set_value(["Crane_01"])
    (coders,) = [m for m in at.multiselect if m.label == "Coders"]
    coders.set_value([])
    _button(at, "Assign").click().run()
    assert not at.exception
    assert any("nothing was assigned" in e.value for e in at.error)
    assert not any("assignments added" in s.value for s in at.success)
    with team.store.session() as s:
        doc = get_document(s, get_project(s, wharf), "Crane_01")
        assert s.query(Assignment).filter(Assignment.document_id == doc.id).count() == 0


# --- item 4: a lead who codes is a coder of the comparison -------------------------------

def _code(s, who: str, doc: str, quote: str, path: str) -> None:
    p = get_project(s, "harbour")
    d = get_document(s, p, doc)
    start = d.text.index(quote)
    apply_codes(s, p, Member.of(get_member(s, p, who)), d, [code_tree(s, p).resolve(path).id], start,
                start + len(quote))


def test_the_agreement_page_compares_a_lead_who_codes(team_app, team):
    with team.store.session() as s:
        assert "maria" not in comparable_coders(s, team.project(s), team.member(s, "maria"))
        for who in ("maria", "tom"):
            _code(s, who, "Docker_01", "Gangs of eight under a foreman.", "Work/Gang labour")
            _code(s, who, "Docker_02", "The union fought for severance.", "Community")
        assert comparable_coders(s, team.project(s), team.member(s, "maria")) == ["li", "tom", "maria"]
    at = team_app("app_pages/agreement_page.py", "maria")
    at.run()
    assert not at.exception
    box = at.multiselect(key="agreement_coders")
    assert "maria" in box.options
    box.set_value(["maria", "tom"]).run()
    assert not at.exception
    assert not any("at least two" in i.value for i in at.info)
    shown = "\n".join(d.value.to_csv() for d in at.dataframe)
    assert "Gang labour" in shown
