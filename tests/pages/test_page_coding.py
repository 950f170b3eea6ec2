"""AppTest of the coding page: sign-in, applying a code through the component's one
request (the ``apply`` trigger, as the browser sends it), the blind rule, undo, memos."""

import hashlib
import json
import re
import uuid

from sqlalchemy import select

from coding.codebook.tree import code_tree
from coding.work.documents import get_document
from coding.text.offsets import Utf16Map
from coding.team.projects import get_project
from coding.team.members import Member, get_member
from coding.work.rounds import assign, open_round
from coding.store.models import Coding

PAGE = "app_pages/coding_page.py"


def _plain(markdown: str) -> str:
    """What a Markdown string escaped with md_escape shows."""
    return re.sub(r"\\(.)", r"\1", markdown)
DOC = "P02_teacher_School-I_3"  # not in the demo's double-coded sample


def _select(at, doc_text: str, phrase: str, doc_id: str | None = None, sha: str | None = None,
            nonce: str | None = None) -> tuple[int, int]:
    """Simulate the browser: the component reports a selection in UTF-16 units, with the
    document it was made on (id, text hash) and a one-time id."""
    import hashlib
    import uuid

    cp = doc_text.index(phrase)
    a, b = Utf16Map(doc_text).span_to_utf16(cp, cp + len(phrase))
    at.session_state["coding_view"] = {"selection": {
        "start": a, "end": b, "text": phrase, "doc": doc_id or at.session_state["coding_doc"],
        "sha": sha or hashlib.sha256(doc_text.encode()).hexdigest(), "nonce": nonce or uuid.uuid4().hex}}
    return cp, cp + len(phrase)


def _sel(doc_text: str, phrase: str, doc_id: str, at: int | None = None) -> dict:
    """A selection as the browser sends it with a chosen code (UTF-16 offsets, document id,
    text hash, one-time id)."""
    cp = doc_text.index(phrase) if at is None else at
    a, b = Utf16Map(doc_text).span_to_utf16(cp, cp + len(phrase))
    return {"start": a, "end": b, "text": phrase, "doc": doc_id,
            "sha": hashlib.sha256(doc_text.encode()).hexdigest(), "nonce": uuid.uuid4().hex}


def _trigger(at, event: str, value: dict) -> None:
    """Send the component's trigger ``event`` as the browser does (callbacks run, one rerun)."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    comp = at.get("bidi_component")[0]
    states = at._tree.get_widget_states()
    states.widgets.append(WidgetState(id=f"$$STREAMLIT_INTERNAL_KEY_{comp.proto.id}__events",
                                      json_trigger_value=json.dumps([{"event": event, "value": value}])))
    at._run(states)


def _apply(at, code_id: str, sel: dict, nonce: str | None = None) -> None:
    _trigger(at, "apply", {"codes": [code_id], "sel": sel, "how": "click", "nonce": nonce or uuid.uuid4().hex})


def _view(at) -> dict:
    return json.loads(at.get("bidi_component")[0].proto.json)


def _key(at, key: str) -> None:
    """Press u or r as the browser does: it names the step the page showed."""
    step = _view(at)["undo" if key == "u" else "redo"]
    _trigger(at, "shortcut", {"key": key, "block": None, "target": step["id"] if step else None,
                              "sel": None, "nonce": uuid.uuid4().hex})


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
    cp = text.index(phrase)
    span = (cp, cp + len(phrase))
    with demo_store.session() as s:
        code = code_tree(s, get_project(s, "demo")).resolve("CIC Project/Collaboration between teachers/Feedback")
    _apply(at, code.id, _sel(text, phrase, doc_id))
    assert not at.exception
    assert _view(at)["notice"]["text"].startswith(f"Applied Feedback to “{phrase[:20]}")
    with demo_store.session() as s:
        ana = get_member(s, get_project(s, "demo"), "ana")
        rows = s.scalars(select(Coding).where(Coding.document_id == doc_id, Coding.coder_id == ana.id)).all()
    assert [(r.start, r.end, r.code_id) for r in rows] == [(span[0], span[1], code.id)]
    # the new highlight is sent to the component, in UTF-16 units
    data = json.loads(at.get("bidi_component")[0].proto.json)
    assert any(h["id"] == rows[0].id for h in data["highlights"])
    # the document now shows as in progress for ana, and the box still shows the document
    assert at.selectbox(key="coding_doc").value == doc_id
    assert any("My progress: in progress" in t.value for t in at.text)
    # undo removes it, and says what it undid
    assert _view(at)["undo"]["label"].startswith(f"applying Feedback to “{phrase[:20]}")
    _key(at, "u")
    with demo_store.session() as s:
        assert s.get(Coding, rows[0].id) is None
    assert _view(at)["notice"]["text"].startswith(f"Undid applying Feedback to “{phrase[:20]}")


def test_an_incomplete_selection_gives_a_clear_message(app_for, demo_store):
    p, doc_id, text = _doc(demo_store)
    before = _codings_of(demo_store, "ana")
    at = app_for(PAGE, "ana")
    at.run()
    at.selectbox(key="coding_doc").set_value(doc_id).run()
    _apply(at, _code(demo_store), {"doc": doc_id})
    assert "select the text again" in _plain(at.error[0].value)
    assert _codings_of(demo_store, "ana") == before


def test_blind_round_hides_the_other_coder(app_for, demo_store):
    p, doc_id, text = _doc(demo_store)
    with demo_store.session() as s:
        p = get_project(s, "demo")
        lead = Member.of(get_member(s, p, "lead"))
        rnd = open_round(s, p, lead, "Round 2", blind=True)
        d = get_document(s, p, DOC)
        assign(s, p, lead, rnd, [d], [get_member(s, p, "ana"), get_member(s, p, "ben")])
        code = code_tree(s, p).resolve("Synthesis/Aspects to keep")
        from coding.work.codings import apply_codes
        ben = Member.of(get_member(s, p, "ben"))
        ben_coding = apply_codes(s, p, ben, d, [code.id], 0, 40)[0].id
    at = app_for(PAGE, "ana")
    at.run()
    at.selectbox(key="coding_doc").set_value(doc_id).run()
    ids = {h["id"] for h in json.loads(at.get("bidi_component")[0].proto.json)["highlights"]}
    assert ben_coding not in ids
    # ana marks the assigned document done; the round's progress records it
    at.selectbox(key=f"coding_status_{doc_id}").set_value("done").run()
    from coding.work.rounds import progress
    with demo_store.session() as s:
        p = get_project(s, "demo")
        rows = {(r["round"], r["coder"]): r["status"] for r in progress(s, p, get_member(s, p, "lead"))
                if r["document"] == DOC}
    assert rows == {("Round 2", "ana"): "done", ("Round 2", "ben"): "in progress"}
    lead_at = app_for(PAGE, "lead")
    lead_at.run()
    lead_at.selectbox(key="coding_doc").set_value(doc_id).run()
    ids = {h["id"] for h in json.loads(lead_at.get("bidi_component")[0].proto.json)["highlights"]}
    assert ben_coding in ids
    # the lead sees each coder's progress in the open round beside the document box
    assert any("ana: done, ben: in progress" in t.value for t in lead_at.text)


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


def _round_for(demo_store, *names):
    """Open a blind round assigning DOC (and P01) to ana and ben, so statuses change as they code."""
    with demo_store.session() as s:
        p = get_project(s, "demo")
        lead = Member.of(get_member(s, p, "lead"))
        rnd = open_round(s, p, lead, "Round 2", blind=True)
        docs = [get_document(s, p, n) for n in (names or (DOC,))]
        assign(s, p, lead, rnd, docs, [get_member(s, p, "ana"), get_member(s, p, "ben")])


def _codings_of(demo_store, who: str) -> list[tuple[str, int, int]]:
    with demo_store.session() as s:
        m = get_member(s, get_project(s, "demo"), who)
        return [(c.document_id, c.start, c.end) for c in s.scalars(
            select(Coding).where(Coding.coder_id == m.id, Coding.layer == "coder").order_by(Coding.created_at))]


def _code(demo_store, path="CIC Project/Collaboration between teachers/Feedback"):
    with demo_store.session() as s:
        return code_tree(s, get_project(s, "demo")).resolve(path).id


def test_document_box_keeps_the_document_while_its_progress_changes(app_for, demo_store):
    """Issue 7.1: the box jumped to the first document when its label changed
    ("not started" -> "in progress", or after marking done) and the next coding landed there."""
    _round_for(demo_store)
    p, doc_id, text = _doc(demo_store)
    code = _code(demo_store)
    before = _codings_of(demo_store, "ana")
    at = app_for(PAGE, "ana")
    at.run()
    at.selectbox(key="coding_doc").set_value(doc_id).run()
    lines = [ln.split(": ", 1)[1] for ln in text.split("\n") if ln.startswith("[") and ": " in ln]
    spans = []
    for line, n in ((lines[1], 50), (lines[3], 40)):
        cp = text.index(line[:n])
        spans.append((cp, cp + n))
        _apply(at, code, _sel(text, line[:n], doc_id))
        assert at.selectbox(key="coding_doc").value == doc_id
    span1, span2 = spans
    at.selectbox(key=f"coding_status_{doc_id}").set_value("done").run()
    assert at.selectbox(key="coding_doc").value == doc_id
    cp = text.index(lines[5][:30])
    span3 = (cp, cp + 30)
    _apply(at, code, _sel(text, lines[5][:30], doc_id))
    assert not at.exception
    assert at.selectbox(key="coding_doc").value == doc_id
    new = _codings_of(demo_store, "ana")[len(before):]
    assert new == [(doc_id, *span1), (doc_id, *span2), (doc_id, *span3)]


def test_a_selection_from_another_document_is_never_applied(app_for, demo_store):
    p, doc_id, text = _doc(demo_store)
    _, other_id, other_text = _doc(demo_store, "P01_principal_School-I_3")
    before = _codings_of(demo_store, "ana")
    at = app_for(PAGE, "ana")
    at.run()
    at.selectbox(key="coding_doc").set_value(doc_id).run()
    # the browser still holds a selection made on P01 (same offsets exist in P02)
    _apply(at, _code(demo_store), _sel(other_text, other_text[200:260], other_id, at=200))
    assert "belongs to another document" in _plain(at.error[0].value)
    assert _codings_of(demo_store, "ana") == before


def test_a_request_delivered_twice_stores_once(app_for, demo_store):
    """Issue 7.4: one choice of a code stores one coding, however often the request arrives;
    a shared selection already used is not applied again by a page button."""
    p, doc_id, text = _doc(demo_store)
    code, other = _code(demo_store), _code(demo_store, "Synthesis/Aspects to keep")
    before = _codings_of(demo_store, "ana")
    at = app_for(PAGE, "ana")
    at.run()
    at.selectbox(key="coding_doc").set_value(doc_id).run()
    sel = _sel(text, text[300:340], doc_id, at=300)
    _apply(at, code, sel, nonce="req-1")
    _apply(at, code, sel, nonce="req-1")
    assert len(_codings_of(demo_store, "ana")) == len(before) + 1
    # the shared selection (state) used by "Apply several codes" is used once
    _select(at, text, text[500:540], nonce="sel-1")
    at.run()
    at.multiselect(key="coding_multi").set_value([other]).run()
    at.button(key="coding_apply_multi").click().run()
    _select(at, text, text[500:540], nonce="sel-1")   # the browser re-sends its last state value
    at.run()
    at.button(key="coding_apply_multi").click().run()
    assert "Select some text" in _plain(at.error[0].value)
    assert len(_codings_of(demo_store, "ana")) == len(before) + 2


def test_memo_is_stored_with_one_click_after_typing(app_for, demo_store):
    """Issue 7.3: typing then clicking Save once (one rerun carries both) lost the memo."""
    p, doc_id, text = _doc(demo_store, "P01_principal_School-I_3")
    with demo_store.session() as s:
        ana = get_member(s, get_project(s, "demo"), "ana")
        own = s.scalars(select(Coding).where(Coding.document_id == doc_id, Coding.coder_id == ana.id)
                        .order_by(Coding.start)).first()
    at = app_for(PAGE, "ana")
    at.run()
    at.selectbox(key="coding_doc").set_value(doc_id)
    at.session_state["coding_focus"] = [own.id]
    at.run()
    at.text_area(key=f"coding_memo_{own.id}").input("typed, then saved at once")
    at.button(key=f"coding_save_memo_{own.id}").click().run()
    with demo_store.session() as s:
        assert s.get(Coding, own.id).memo == "typed, then saved at once"


def test_undo_names_its_event_and_acts_once(app_for, demo_store):
    """Issue 7.5: one key press undid two actions. The Undo button names the event it undoes."""
    p, doc_id, text = _doc(demo_store)
    code = _code(demo_store)
    at = app_for(PAGE, "ana")
    at.run()
    at.selectbox(key="coding_doc").set_value(doc_id).run()
    for a, b in ((100, 140), (400, 440)):
        _apply(at, code, _sel(text, text[a:b], doc_id, at=a))
    n = len(_codings_of(demo_store, "ana"))
    _key(at, "u")
    assert len(_codings_of(demo_store, "ana")) == n - 1
    # the same request again (a stale page, a repeated key) undoes nothing more
    from coding.work.codings import undo
    with demo_store.session() as s:
        p = get_project(s, "demo")
        ana = Member.of(get_member(s, p, "ana"))
        from coding.store.models import Event
        last_undo = s.scalars(select(Event).where(Event.action == "undo").order_by(Event.seq.desc())).first()
        again = undo(s, p, ana, json.loads(last_undo.payload)["undid"])
    assert not again.done and "already undone" in again.message
    assert len(_codings_of(demo_store, "ana")) == n - 1
    # redo puts it back, and says what it re-applied
    at.run()
    _key(at, "r")
    assert len(_codings_of(demo_store, "ana")) == n
    assert _view(at)["notice"]["text"].startswith("Redid applying Feedback to “")
