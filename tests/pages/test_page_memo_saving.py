"""Issue 17, item 7 on the pages (AppTest, harbour): a memo is stored when the member
leaves its box, without pressing Save; a refused save says "Not saved" and keeps the
typed text; a memo changed elsewhere replaces a box nobody is editing. The browser
sends a text area's text when focus leaves it, which AppTest's ``input`` stands for."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from coding.codebook.tree import code_tree
from coding.store.models import Coding, Event, Memo
from coding.team.projects import remove_member
from coding.team.sessions import open_session
from coding.work.codings import apply_codes, remove_coding, set_memo
from coding.work.documents import get_document
from coding.work.memos import document_memo, save_document_memo

REPO = Path(__file__).resolve().parents[2]
CODING, MEMOS = "app_pages/coding_page.py", "app_pages/memos_page.py"


@pytest.fixture
def harbour(team, monkeypatch, loopback_server):
    """``(make, coding_id, doc_ids)``: ``make(page, member)`` an AppTest of app.py on harbour
    signed in through a session row; tom's coding on Docker_01 carries the memo 'first reading'."""
    monkeypatch.setenv("CODING_DB_URL", team.store.engine.url.render_as_string(hide_password=False))
    with team.store.session() as s:
        p, tom = team.project(s), team.member(s, "tom")
        doc = get_document(s, p, "Docker_01")
        gang = code_tree(s, p).resolve("Work/Gang labour").id
        [c] = apply_codes(s, p, tom, doc, [gang], 0, 20)
        set_memo(s, p, tom, c.id, "first reading")
        doc_ids = {n: get_document(s, p, n).id for n in ("Docker_01", "Docker_02")}
        coding_id = c.id

    def make(page: str, member: str = "tom") -> AppTest:
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
        at.session_state["project"] = team.name
        with team.store.session() as s:
            at.session_state["auth_session"] = open_session(s, team.member(s, member)).id
        at.switch_page(page)
        return at

    return make, coding_id, doc_ids


def _coding_page(make, coding_id, doc_id) -> AppTest:
    at = make(CODING)
    at.run()
    at.selectbox(key="coding_doc").set_value(doc_id)
    at.session_state["coding_focus"] = [coding_id]
    at.run()
    assert not at.exception
    return at


def _memo(team, coding_id) -> str | None:
    with team.store.session() as s:
        c = s.get(Coding, coding_id)
        return None if c is None else c.memo


def _doc_memo(team, name: str, who: str = "tom") -> str | None:
    with team.store.session() as s:
        p = team.project(s)
        memo = document_memo(s, p, team.member(s, who), get_document(s, p, name))
        return memo.text if memo else None


def test_a_coding_memo_is_stored_when_the_box_is_left(team, harbour):
    make, coding_id, docs = harbour
    at = _coding_page(make, coding_id, docs["Docker_01"])
    box = at.text_area(key=f"coding_memo_{coding_id}")
    assert box.value == "first reading"
    box.input("the gang's foreman decides, not the union").run()  # no Save pressed
    assert not at.exception
    assert _memo(team, coding_id) == "the gang's foreman decides, not the union"
    assert "Memo saved." in [m.value for m in at.success]
    with team.store.session() as s:
        assert [e.actor for e in s.scalars(select(Event).where(Event.action == "coding.memo"))] == ["tom", "tom"]


def test_a_refused_coding_memo_says_not_saved_and_what_was_typed(team, harbour):
    make, coding_id, docs = harbour
    at = _coding_page(make, coding_id, docs["Docker_01"])
    with team.store.session() as s:  # tom's other tab removes the coding while he writes here
        remove_coding(s, team.project(s), team.member(s, "tom"), coding_id)
    at.text_area(key=f"coding_memo_{coding_id}").input("half a thought on the foreman").run()
    assert not at.exception
    errors = [e.value.replace("\\", "") for e in at.error]  # md_escape'd
    assert any(e.startswith("Memo not saved:") and "may have been removed" in e
               and "half a thought on the foreman" in e for e in errors), errors
    assert "Memo saved." not in [m.value for m in at.success]
    with team.store.session() as s:
        assert s.get(Coding, coding_id) is None
        assert s.scalar(select(Memo).where(Memo.text.contains("half a thought"))) is None


def test_a_member_removed_while_writing_stores_nothing(team, harbour):
    make, coding_id, docs = harbour
    at = _coding_page(make, coding_id, docs["Docker_01"])
    with team.store.session() as s:  # the lead removes tom while he writes
        remove_member(s, team.project(s), team.member(s, "maria"), "tom")
    at.text_area(key=f"coding_memo_{coding_id}").input("after removal").run()
    assert not at.exception
    assert _memo(team, coding_id) == "first reading"


def test_a_document_memo_typed_then_left_by_switching_documents_is_stored(team, harbour):
    make, _, docs = harbour
    at = make(MEMOS)
    at.run()
    at.selectbox(key="memos_doc").set_value(docs["Docker_01"]).run()
    at.text_area(key=f"memos_doc_text_{docs['Docker_01']}").input("Talks about the tally book at length.")
    at.selectbox(key="memos_doc").set_value(docs["Docker_02"]).run()  # left without Save
    assert not at.exception
    assert _doc_memo(team, "Docker_01") == "Talks about the tally book at length."
    assert _doc_memo(team, "Docker_02") is None
    # back on Docker_01, the box holds what is stored
    at.selectbox(key="memos_doc").set_value(docs["Docker_01"]).run()
    assert at.text_area(key=f"memos_doc_text_{docs['Docker_01']}").value == "Talks about the tally book at length."


def test_emptying_a_document_memo_removes_it(team, harbour):
    make, _, docs = harbour
    with team.store.session() as s:
        p = team.project(s)
        save_document_memo(s, p, team.member(s, "tom"), get_document(s, p, "Docker_01"), "keep me?")
    at = make(MEMOS)
    at.run()
    at.selectbox(key="memos_doc").set_value(docs["Docker_01"]).run()
    at.text_area(key=f"memos_doc_text_{docs['Docker_01']}").input("").run()
    assert not at.exception
    assert [m.value for m in at.success] == ["Memo removed."] and not at.error
    assert _doc_memo(team, "Docker_01") is None
    # an empty box with no memo behind it stores nothing and says nothing
    at.selectbox(key="memos_doc").set_value(docs["Docker_02"]).run()
    at.text_area(key=f"memos_doc_text_{docs['Docker_02']}").input("  ").run()
    assert not at.error and not at.success and _doc_memo(team, "Docker_02") is None


def test_a_memo_changed_elsewhere_replaces_a_box_not_being_edited(team, harbour):
    make, _, docs = harbour
    at = make(MEMOS)
    at.run()
    at.selectbox(key="memos_doc").set_value(docs["Docker_01"]).run()
    key = f"memos_doc_text_{docs['Docker_01']}"
    at.text_area(key=key).input("from this tab").run()
    with team.store.session() as s:  # tom's other tab saves a newer text
        p = team.project(s)
        save_document_memo(s, p, team.member(s, "tom"), get_document(s, p, "Docker_01"), "from the other tab")
    at.run()
    assert at.text_area(key=key).value == "from the other tab"
    with team.store.session() as s:
        texts = [m.text for m in s.scalars(select(Memo).where(Memo.document_id == docs["Docker_01"]))]
    assert texts == ["from the other tab"]
