"""Issue 15, items 2 and 3 on the pages (AppTest).

Item 2: a visitor who has not signed in sees nothing of the protected project
``harbour`` on any page of the app (the pages are read from app.py, not listed here):
not its documents or their names, speakers, word counts, attributes, codebook, rounds.
The project list in the sidebar may name it.

Item 3: signed in as coder li during an open blind round, the Project, Codebook and
Retrieve pages show nothing of tom's work: not his progress, not his proposed code,
not the codebook events about it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from coding.work import rounds
from coding.team.sessions import open_session
from coding.work.documents import get_document
from coding.team.members import get_member
from tests.conftest import TEAM_TEXTS
from tests.team.test_blind_leaks import LI_CODE, TOM_CODE, blind  # noqa: F401  (the fixture)

REPO = Path(__file__).resolve().parents[2]
PAGES = re.findall(r'st\.Page\("(app_pages/[a-z_]+\.py)"', (REPO / "app.py").read_text())
ROUND = "Quayside round"
# What a visitor must not learn of harbour: document names, speakers, words of the text,
# attribute names and values, code names and definitions, the codebook title, a round.
SECRETS = (*TEAM_TEXTS, "Docker:", "Clerk:", "tally book", "containers", "North Quay", "South Basin", "1970s",
           "cohort", "Gang labour", "Clerical work", "Containerisation", "Job loss", "Community",
           "foreman", "Counting, tallying", ROUND)


def shown(at: AppTest) -> str:
    """Everything the page sent: every element's message (labels, values, options, the
    bytes of tables) and every dataframe's cells."""
    parts: list[str] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    parts += [d.value.to_csv() for d in at.dataframe]
    return "\n".join(parts)


@pytest.fixture
def harbour_app(team, monkeypatch, loopback_server):
    """``harbour_app(page, member=None)``: an AppTest of app.py on harbour, signed in
    through a real session row when ``member`` is given (a protected project takes no
    name alone). A round is open on Docker_01, so rounds have something to leak."""
    monkeypatch.setenv("CODING_DB_URL", team.store.engine.url.render_as_string(hide_password=False))
    with team.store.session() as s:
        p = team.project(s)
        maria = team.member(s, "maria")
        rnd = rounds.open_round(s, p, maria, ROUND, blind=True)
        rounds.assign(s, p, maria, rnd, [get_document(s, p, "Docker_01")], [get_member(s, p, "tom")])

    def make(page: str, member: str | None = None) -> AppTest:
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
        at.session_state["project"] = team.name
        if member:
            with team.store.session() as s:
                at.session_state["auth_session"] = open_session(s, team.member(s, member)).id
        at.switch_page(page)
        return at

    return make


def test_the_pages_are_found():
    assert "app_pages/project.py" in PAGES and "app_pages/codebook_page.py" in PAGES and len(PAGES) >= 9


@pytest.mark.parametrize("page", PAGES)
def test_a_visitor_who_has_not_signed_in_sees_nothing_of_a_protected_project(harbour_app, page):
    at = harbour_app(page)
    at.run()
    assert not at.exception
    text = shown(at)
    leaked = [w for w in SECRETS if w in text]
    assert not leaked, f"{page} shows {leaked} before sign-in"
    assert not at.metric and not at.dataframe
    assert "harbour" in at.sidebar.selectbox(key="common_project").options  # the list may name it
    assert at.sidebar.text_input(key="common_name")  # and it asks who you are


def test_signed_in_the_same_page_shows_the_project(harbour_app):
    """The check above would pass on an empty page: signed in, the secrets are there."""
    at = harbour_app("app_pages/project.py", "li")
    at.run()
    assert not at.exception
    text = shown(at)
    assert "Docker_01" in text and "Containerisation" in text and "North Quay" in text


def test_a_blind_coder_sees_no_other_coders_progress_or_proposal_on_the_project_page(blind, harbour_app):
    at = harbour_app("app_pages/project.py", "li")
    at.run()
    assert not at.exception
    text = shown(at)
    assert TOM_CODE not in text and LI_CODE in text
    progress = next(d.value for d in at.dataframe if "round" in d.value.columns)
    assert "tom" not in progress.columns and "li" in progress.columns
    lead = harbour_app("app_pages/project.py", "maria")
    lead.run()
    assert TOM_CODE in shown(lead)
    assert "tom" in next(d.value for d in lead.dataframe if "round" in d.value.columns).columns


def test_a_blind_coder_sees_no_other_coders_proposal_or_its_events_on_the_codebook_page(blind, harbour_app):
    team, ids = blind
    at = harbour_app("app_pages/codebook_page.py", "li")
    at.run()
    assert not at.exception
    text = shown(at)
    assert TOM_CODE not in text and LI_CODE in text
    changes = next(d.value for d in at.dataframe if "action" in d.value.columns)
    assert set(changes["who"]) <= {"li", "maria", "system"}
    assert TOM_CODE in shown(harbour_app("app_pages/codebook_page.py", "maria").run())


def test_a_blind_coder_sees_no_other_coders_proposal_on_the_retrieve_page(blind, harbour_app):
    at = harbour_app("app_pages/retrieve_page.py", "li")
    at.run()
    assert not at.exception
    text = shown(at)
    assert TOM_CODE not in text and LI_CODE in text
