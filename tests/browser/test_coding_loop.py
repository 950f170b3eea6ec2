"""The coding loop in a real Chromium, the way coders work (issue 7): mouse drags,
switching documents between codings, coding after marking a document done, a memo saved
with one click and read back after a reload, keys after a mouse selection, undo pressed
twice quickly, a 50,000-character transcript, two coders at once in a blind round, and an
optimistic highlight that never outlives a refusal. After each step the test reads the
database: what is stored is what matters, not what the page says."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from coding.codebook.tree import code_tree, import_codebook, load_codebook_file
from coding.work.documents import import_uploads, list_documents
from coding.team.projects import add_member, create_project, get_project
from coding.team.members import Member, get_member
from coding.work.rounds import assign, open_round
from coding.store import Store
from coding.store.models import Coding, Document, Event

from .coding_helpers import (
    PASSWORDS, REPO, block_of, choose, code_in_picker, drag, long_transcript, settle, sign_in, wait_selection,
)
from .conftest import run_streamlit

pytestmark = pytest.mark.browser

SHORT = ("Interviewer: How did the planning go?\n\n"
         "Teacher: We planned the fractions lesson together 👏 every Tuesday, and José observed it.\n\n"
         "Interviewer: ¿Y la retroalimentación?\n\n"
         "Teacher: La señora Núñez nos dio comentarios muy útiles después de cada clase.\n")
# B is not the first document in the box, and has the same layout as A: a coding that
# landed on the wrong one would still look plausible.
DOCS = {"A_first": SHORT, "B_second": SHORT.replace("fractions", "geometry"),
        "C_third": SHORT.replace("Tuesday", "Thursday"), "D_long": long_transcript()}
FEEDBACK = "CIC Project/Collaboration between teachers/Feedback"
OBSERVATION = "CIC Project/Collaboration between teachers/Peer observation"


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('loop') / 'loop.db'}"
    store = Store(url)
    with store.session() as s:
        p = create_project(s, "study", lead_name="lead", lead_password=PASSWORDS["lead"])
        lead = Member.of(get_member(s, p, "lead"))
        import_codebook(s, p, load_codebook_file(REPO / "codebooks" / "cic.yaml"), member=lead)
        import_uploads(s, p, [(f"{n}.txt", t.encode()) for n, t in DOCS.items()], actor=lead)
        for who in ("ana", "ben"):
            add_member(s, p, who, "coder", actor=lead, password=PASSWORDS[who], temporary=False)
        rnd = open_round(s, p, lead, "Round 1", blind=True)
        assign(s, p, lead, rnd, list_documents(s, p), [get_member(s, p, "ana"), get_member(s, p, "ben")])
        tree = code_tree(s, p)
        codes = {"feedback": tree.resolve(FEEDBACK).id, "obs": tree.resolve(OBSERVATION).id}
    with run_streamlit(REPO / "app.py", env={"CODING_DB_URL": url}) as app_url:
        yield store, app_url, codes
    store.dispose()


def stored(store, who: str) -> list[tuple[str, str, str]]:
    """(document name, code id, exact stored text) of every coding of `who`, oldest first."""
    with store.session() as s:
        p = get_project(s, "study")
        m = get_member(s, p, who)
        rows = s.execute(select(Document.name, Document.text, Coding.code_id, Coding.start, Coding.end)
                         .join(Coding, Coding.document_id == Document.id)
                         .where(Coding.coder_id == m.id).order_by(Coding.created_at)).all()
    return [(name, code, text[a:b]) for name, text, code, a, b in rows]


def code_button(page, code_id: str):
    return code_in_picker(page, code_id)


def apply_by_mouse(page, store, who, doc_text, phrase, code_id, *, end_phrase=None):
    """Drag over `phrase` (or from it to `end_phrase`), click the code, wait until stored."""
    before = len(stored(store, who))
    a = block_of(doc_text, phrase)
    b = block_of(doc_text, end_phrase) if end_phrase else a
    drag(page, a, phrase, b, end_phrase or phrase)
    wait_selection(page, phrase)
    n = answered(page)
    code_button(page, code_id).click()
    wait_answered(page, n + 1)
    for _ in range(50):
        if len(stored(store, who)) > before:
            break
        page.wait_for_timeout(100)
    return stored(store, who)[before:]


def open_doc(page, store, name: str) -> None:
    """Pick a document in the box and wait until the transcript shows it."""
    with store.session() as s:
        doc_id = s.scalar(select(Document.id).where(Document.name == name))
    choose(page, "coding_doc", name)
    page.wait_for_selector(f".cwtv-root[data-doc='{doc_id}'] .cwtv-block [data-s]", timeout=30_000)
    settle(page)


def answered(page) -> int:
    """How many optimistic highlights the view has reconciled with the server's answer."""
    return page.evaluate("() => { const r = document.querySelector('.cwtv-root'); return r ? "
                         "Number(r.getAttribute('data-confirmed') || 0) + Number(r.getAttribute('data-refused') || 0)"
                         " : 0; }")


def wait_answered(page, n: int) -> None:
    page.wait_for_function(f"() => {{ const r = document.querySelector('.cwtv-root'); return r && "
                           f"Number(r.getAttribute('data-confirmed') || 0) + "
                           f"Number(r.getAttribute('data-refused') || 0) >= {n}; }}", timeout=15_000)
    settle(page)


def shown_document(page) -> str:
    return page.locator(".st-key-coding_doc input").input_value()


def test_switching_documents_and_marking_done_never_moves_a_coding(browser, study):
    """Issue 7.1: coding B, then selecting again, made the box jump to A and stored there."""
    store, url, codes = study
    ctx = browser.new_context(viewport={"width": 1500, "height": 1000})
    page = ctx.new_page()
    sign_in(page, url, "ana")
    open_doc(page, store, "B_second")
    b_text = DOCS["B_second"]
    assert apply_by_mouse(page, store, "ana", b_text, "geometry lesson", codes["feedback"]) == [
        ("B_second", codes["feedback"], "geometry lesson")]
    assert "B_second" in shown_document(page)
    # the label would have changed from "not started" to "in progress" here: select again
    assert apply_by_mouse(page, store, "ana", b_text, "señora Núñez", codes["obs"]) == [
        ("B_second", codes["obs"], "señora Núñez")]
    assert "B_second" in shown_document(page)
    # switch to C between codings, then back
    open_doc(page, store, "C_third")
    assert apply_by_mouse(page, store, "ana", DOCS["C_third"], "every Thursday", codes["feedback"]) == [
        ("C_third", codes["feedback"], "every Thursday")]
    open_doc(page, store, "B_second")
    with store.session() as s:
        b_id = s.scalar(select(Document.id).where(Document.name == "B_second"))
    choose(page, f"coding_status_{b_id}", "done")
    settle(page)
    assert "B_second" in shown_document(page)
    # a selection across two turns, after marking done
    assert apply_by_mouse(page, store, "ana", b_text, "José observed", codes["obs"], end_phrase="¿Y la") == [
        ("B_second", codes["obs"], "José observed it.\n\nInterviewer: ¿Y la")]
    assert "B_second" in shown_document(page)
    ctx.close()


def test_memo_saved_with_one_click_survives_a_reload(browser, study):
    store, url, codes = study
    ctx = browser.new_context(viewport={"width": 1500, "height": 1000})
    page = ctx.new_page()
    sign_in(page, url, "ana")
    open_doc(page, store, "C_third")
    [(_, _, text)] = apply_by_mouse(page, store, "ana", DOCS["C_third"], "muy útiles", codes["feedback"])
    page.locator(".cwtv-root [data-hl]", has_text="muy útiles").first.click()
    memo = page.locator("textarea[aria-label='Memo']").first
    memo.wait_for(timeout=15_000)
    memo.fill("Feedback after every class, not only observed ones")
    page.get_by_role("button", name="Save memo").first.click()   # once, straight from the text box
    settle(page)
    with store.session() as s:
        memos = [c.memo for c in s.scalars(select(Coding).join(Document).where(Document.name == "C_third"))
                 if DOCS["C_third"][c.start:c.end] == "muy útiles"]
    assert memos == ["Feedback after every class, not only observed ones"]
    page.reload()
    sign_in(page, url, "ana")
    open_doc(page, store, "C_third")
    page.locator(".cwtv-root [data-hl]", has_text="muy útiles").first.click()
    page.locator("textarea[aria-label='Memo']").first.wait_for(timeout=15_000)
    assert page.locator("textarea[aria-label='Memo']").first.input_value() == memos[0]
    ctx.close()


def test_keys_after_a_mouse_selection_and_undo_pressed_twice(browser, study):
    """Issue 7.5: focus left the transcript after each rerun; one `u` undid two actions."""
    store, url, codes = study
    ctx = browser.new_context(viewport={"width": 1500, "height": 1000})
    page = ctx.new_page()
    sign_in(page, url, "ben")
    open_doc(page, store, "A_first")
    # a first coding by mouse makes Feedback the recent code for key 1
    apply_by_mouse(page, store, "ben", SHORT, "planning go", codes["feedback"])
    before = len(stored(store, "ben"))
    for phrase in ("fractions lesson", "every Tuesday", "comentarios muy"):
        drag(page, block_of(SHORT, phrase), phrase, block_of(SHORT, phrase), phrase)
        wait_selection(page, phrase)
        n = answered(page)
        page.keyboard.press("1")   # no click in between: focus must still be in the transcript
        wait_answered(page, n + 1)
    got = stored(store, "ben")[before:]
    assert [t for _, _, t in got] == ["fractions lesson", "every Tuesday", "comentarios muy"]
    page.keyboard.press("u")
    page.keyboard.press("u")
    settle(page)
    page.wait_for_timeout(500)
    settle(page)
    with store.session() as s:
        ben = get_member(s, get_project(s, "study"), "ben")
        undos = [json.loads(e.payload)["undid"] for e in s.scalars(
            select(Event).where(Event.actor_id == ben.id, Event.action == "undo"))]
    assert len(undos) == len(set(undos)) and 1 <= len(undos) <= 2   # never the same event twice
    assert [t for _, _, t in stored(store, "ben")[before:]] == [t for _, _, t in got][:3 - len(undos)]
    ctx.close()


def test_long_transcript_coding_deep_inside(browser, study):
    store, url, codes = study
    text = DOCS["D_long"]
    assert len(text) >= 50_000
    ctx = browser.new_context(viewport={"width": 1500, "height": 1000})
    page = ctx.new_page()
    sign_in(page, url, "ana")
    open_doc(page, store, "D_long")
    last = text.count("\n\n")
    page.wait_for_selector(f".cwtv-root .cwtv-block[data-block='t{last}']", timeout=30_000)
    for phrase in (f"Turn {last // 2} ends here", f"Turn {last - 1} ends"):
        assert apply_by_mouse(page, store, "ana", text, phrase, codes["obs"]) == [("D_long", codes["obs"], phrase)]
    ctx.close()


def test_two_coders_at_once_in_a_blind_round(browser, study):
    store, url, codes = study
    ctx_a = browser.new_context(viewport={"width": 1500, "height": 1000})
    ctx_b = browser.new_context(viewport={"width": 1500, "height": 1000})
    pa, pb = ctx_a.new_page(), ctx_b.new_page()
    sign_in(pa, url, "ana")
    sign_in(pb, url, "ben")
    for pg in (pa, pb):
        open_doc(pg, store, "C_third")
    text = DOCS["C_third"]
    assert apply_by_mouse(pa, store, "ana", text, "fractions lesson together", codes["obs"])[0][2] == \
        "fractions lesson together"
    assert apply_by_mouse(pb, store, "ben", text, "planning go", codes["obs"])[0][2] == "planning go"
    for pg in (pa, pb):
        pg.reload()
    sign_in(pa, url, "ana")
    sign_in(pb, url, "ben")
    for pg in (pa, pb):
        open_doc(pg, store, "C_third")
    marked = "() => [...document.querySelectorAll('.cwtv-root [data-hl]')].map(e => e.textContent).join('|')"
    assert "fractions lesson together" in pa.evaluate(marked) and "planning go" not in pa.evaluate(marked)
    assert "planning go" in pb.evaluate(marked) and "fractions lesson together" not in pb.evaluate(marked)
    assert pa.get_by_text("· ben").count() == 0 and pb.get_by_text("· ana").count() == 0
    ctx_a.close()
    ctx_b.close()


def test_optimistic_highlight_is_removed_when_the_server_refuses(browser, study):
    """The highlight is drawn at the click; when the code became a folder meanwhile, the
    server refuses, the provisional highlight goes and the view says so."""
    from coding.codebook.edits import add_code

    store, url, codes = study
    with store.session() as s:
        p = get_project(s, "study")
        lead = Member.of(get_member(s, p, "lead"))
        doomed = add_code(s, p, lead, None, "Soon a folder").id
    ctx = browser.new_context(viewport={"width": 1500, "height": 1000})
    page = ctx.new_page()
    sign_in(page, url, "ben")
    open_doc(page, store, "B_second")
    drag(page, "t3", "comentarios", "t3", "útiles")
    wait_selection(page, "comentarios muy útiles")
    from coding.codebook.edits import edit_code
    with store.session() as s:
        edit_code(s, get_project(s, "study"), lead, doomed, codable=False)
    before = len(stored(store, "ben"))
    code_button(page, doomed).click()
    assert page.evaluate("() => document.querySelector('.cwtv-root').getAttribute('data-pending')") == "1"
    page.wait_for_function("() => document.querySelector('.cwtv-root').getAttribute('data-refused') === '1'",
                           timeout=15_000)
    # the provisional colour is gone; the selection stays, to choose another code
    assert page.evaluate("() => [...CSS.highlights.keys()].filter(k => k.startsWith('cwtv-pending'))") == []
    assert page.evaluate("() => document.querySelector('.cwtv-root').__cwtv.sel.text") == "comentarios muy útiles"
    assert "Not stored" in page.locator(".cwtv-status").inner_text()
    assert len(stored(store, "ben")) == before
    ctx.close()
