"""AppTest of the coding page: sign-in, applying a code through the component's value,
the blind rule, undo, memos."""

import json

from sqlalchemy import select

from coding.codebook import code_tree
from coding.documents import get_document
from coding.offsets import Utf16Map
from coding.projects import Member, get_member, get_project
from coding.rounds import assign, open_round
from coding.store.models import Coding

PAGE = "app_pages/coding_page.py"
DOC = "P02_teacher_School-I_3"  # not in the demo's double-coded sample


def _select(at, doc_text: str, phrase: str) -> tuple[int, int]:
    """Simulate the browser: the component reports a selection in UTF-16 units."""
    cp = doc_text.index(phrase)
    a, b = Utf16Map(doc_text).span_to_utf16(cp, cp + len(phrase))
    at.session_state["coding_view"] = {"selection": {"start": a, "end": b, "text": phrase}}
    return cp, cp + len(phrase)


def _doc(demo_store, name=DOC):
    with demo_store.session() as s:
        p = get_project(s, "demo")
        d = get_document(s, p, name)
        return p, d.id, d.text


def test_sign_in_through_the_sidebar(app_for):
    at = app_for(PAGE, None)
    at.run()
    assert any("Sign in from the sidebar" in i.value for i in at.info)
    at.selectbox(key="common_who").select_index(1)  # members sorted: ana, ben, lead
    at.sidebar.button[0].click().run()
    assert not at.exception
    assert at.session_state["member"].name == "ben"
    assert at.title[0].value == "Code transcripts"


def test_apply_a_code_through_the_component_value(app_for, demo_store):
    p, doc_id, text = _doc(demo_store)
    at = app_for(PAGE, "ana")
    at.run()
    at.selectbox(key="coding_doc").set_value(doc_id).run()
    phrase = next(line for line in text.split("\n") if line.startswith("[")).split(": ", 1)[1][:60]
    span = _select(at, text, phrase)
    with demo_store.session() as s:
        code = code_tree(s, get_project(s, "demo")).resolve("CIC Project/Collaboration between teachers/Feedback")
    at.run()
    assert any("Selection" in m.value and "characters" in m.value for m in at.markdown)
    at.button(key=f"coding_code_{code.id}").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["Applied Feedback."]
    with demo_store.session() as s:
        ana = get_member(s, get_project(s, "demo"), "ana")
        rows = s.scalars(select(Coding).where(Coding.document_id == doc_id, Coding.coder_id == ana.id)).all()
    assert [(r.start, r.end, r.code_id) for r in rows] == [(span[0], span[1], code.id)]
    # the new highlight is sent to the component, in UTF-16 units
    data = json.loads(at.get("bidi_component")[0].proto.json)
    assert any(h["id"] == rows[0].id for h in data["highlights"])
    # the document now shows as in progress for ana
    assert "in progress" in at.selectbox(key="coding_doc").format_func(doc_id)
    # undo removes it
    at.button(key="coding_undo").click().run()
    with demo_store.session() as s:
        assert s.get(Coding, rows[0].id) is None


def test_no_selection_gives_a_clear_message(app_for, demo_store):
    at = app_for(PAGE, "ana")
    at.run()
    recent = [b for b in at.button if b.key and b.key.startswith("coding_recent_")]
    recent[0].click().run()
    assert "Select some text" in at.error[0].value


def test_blind_round_hides_the_other_coder(app_for, demo_store):
    p, doc_id, text = _doc(demo_store)
    with demo_store.session() as s:
        p = get_project(s, "demo")
        lead = Member.of(get_member(s, p, "lead"))
        rnd = open_round(s, p, lead, "Round 2", blind=True)
        d = get_document(s, p, DOC)
        assign(s, p, lead, rnd, [d], [get_member(s, p, "ana"), get_member(s, p, "ben")])
        code = code_tree(s, p).resolve("Synthesis/Aspects to keep")
        from coding.codings import apply_codes
        ben = Member.of(get_member(s, p, "ben"))
        ben_coding = apply_codes(s, p, ben, d, [code.id], 0, 40)[0].id
    at = app_for(PAGE, "ana")
    at.run()
    at.selectbox(key="coding_doc").set_value(doc_id).run()
    ids = {h["id"] for h in json.loads(at.get("bidi_component")[0].proto.json)["highlights"]}
    assert ben_coding not in ids
    # ana marks the assigned document done; the round's progress records it
    at.selectbox(key=f"coding_status_{doc_id}").set_value("done").run()
    from coding.rounds import progress
    with demo_store.session() as s:
        rows = {(r["round"], r["coder"]): r["status"] for r in progress(s, get_project(s, "demo"))
                if r["document"] == DOC}
    assert rows == {("Round 2", "ana"): "done", ("Round 2", "ben"): "in progress"}
    lead_at = app_for(PAGE, "lead")
    lead_at.run()
    lead_at.selectbox(key="coding_doc").set_value(doc_id).run()
    ids = {h["id"] for h in json.loads(lead_at.get("bidi_component")[0].proto.json)["highlights"]}
    assert ben_coding in ids
    # the lead's document list shows each coder's progress in the open round
    assert "ana: done, ben: in progress" in lead_at.selectbox(key="coding_doc").format_func(doc_id)


def test_click_a_highlight_edit_memo_and_remove(app_for, demo_store):
    p, doc_id, text = _doc(demo_store, "P01_principal_School-I_3")
    with demo_store.session() as s:
        ana = get_member(s, get_project(s, "demo"), "ana")
        own = s.scalars(select(Coding).where(Coding.document_id == doc_id, Coding.coder_id == ana.id)
                        .order_by(Coding.start)).first()
    at = app_for(PAGE, "ana")
    at.run()
    at.selectbox(key="coding_doc").set_value(doc_id).run()
    at.session_state["coding_focus"] = [own.id]
    at.run()
    at.text_area(key=f"coding_memo_{own.id}").set_value("boundary checked").run()
    at.button(key=f"coding_save_memo_{own.id}").click().run()
    with demo_store.session() as s:
        assert s.get(Coding, own.id).memo == "boundary checked"
    at.button(key=f"coding_remove_{own.id}").click().run()
    with demo_store.session() as s:
        assert s.get(Coding, own.id) is None
