"""Code transcripts: select text in the transcript, apply codes, see them highlighted.

The transcript and its code picker are one Custom Components v2 view
(app_pages/transcript_component.py): selecting, and clearing a selection, happen in the
browser; choosing a code sends one request that stores the coding, so a coded passage
costs one rerun. Laid out for a 1366×768 laptop first: transcript and picker fill the
window; the other tools (the clicked coding, suggestions, the codings list, search) are
below them. Every rule (blind rounds, ownership, codable codes, a selection belonging
to the document shown) is enforced by coding/. Session keys are prefixed ``coding_``.

Widget identity never depends on text that changes: the document box shows names
only (progress is shown beside it), so a status or count change cannot make
Streamlit drop the user's choice. Every selection the browser sends carries its
document id, text hash and a one-time id; a selection is applied at most once.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from app_pages.common import require_member, store
from app_pages.memo_widgets import coding_memo_box
from app_pages.plain import md_escape
from app_pages.transcript_component import _current_selection, clear_selection, transcript_view
from coding.suggest.units import LAYERS
from coding.suggest.passages import code_passage, dismiss_passage, more_like_code
from coding.suggest.processing import processing_status
from coding.suggest import suggestions as sg
from coding.codebook.tree import code_tree
from coding.work.codings import (
    BrowserSelection, adjust_coding, apply_to_selection, code_turn, coding_views, recent_code_ids, recode,
    remove_coding, widen,
)
from coding.work.undo import last_redoable_here, last_undoable_here, redo_here, undo_here
from coding.errors import CodingError
from coding.text.offsets import Utf16Map, utf16_map
from coding.team.projects import get_project
from coding.codebook.proposals import create_code_while_coding
from coding.work.rounds import STATUSES, member_progress, open_assignments, progress, set_status
from coding.work.lookups import document_by_id, document_entries, document_head
from coding.work.segmentation import blocks
from coding.team.members import Member

VIEW = "coding_view"
WHOLE_DOCUMENT_LIMIT = 150_000   # characters shown at once; longer documents are paged
BLOCKS_PER_PAGE = 60


@dataclass(frozen=True)
class DocView:
    """Immutable per-document data, cached: a document's text never changes."""

    id: str
    name: str
    sha256: str
    text: str
    map: Utf16Map
    blocks: list[tuple[str, str, int, int, int]]  # id, speaker, start, end, speech start (code points)
    turn_of_block: dict[str, int]


@st.cache_resource(max_entries=32, show_spinner=False)
def doc_view(doc_id: str, sha256: str, _project_name: str, _member: Member) -> DocView:
    """Keyed by id and text hash only (underscored arguments are not hashed): the first
    load checks the member may read the document; the ids come from their own project."""
    with store().session(write=False) as s:
        doc = document_by_id(s, get_project(s, _project_name), _member, doc_id)
        speech = {t.position: t.speech_start for t in doc.turns}
        bl = [(bid, spk, a, b, speech.get(int(bid[1:]), a) if bid.startswith("t") else a)
              for bid, spk, a, b in blocks(doc)]
        return DocView(doc.id, doc.name, doc.sha256, doc.text, utf16_map(doc.sha256, doc.text), bl,
                       {b[0]: int(b[0][1:]) for b in bl if b[0].startswith("t")})


ctx = require_member()
if ctx is None:
    st.stop()
project_name, member = ctx
# Room for the transcript on a laptop screen (less blank space above the title): that CSS is the
# transcript component's (app_pages/transcript_component.py), the page renders no raw HTML.
st.title("Code transcripts")
S = st.session_state


def flash(kind: str, text: str) -> None:
    """Report an outcome on the next run: in the transcript's status line (where the coder
    looks), and errors also above the transcript."""
    S["coding_flash"] = (kind, text)
    S["coding_notice"] = {"text": text, "bad": kind in ("error", "warning"), "nonce": uuid.uuid4().hex}


def _quote(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return f"“{text if len(text) <= n else text[:n - 1] + '…'}”"


def _run(action, ok: str | None = None, *, clear: bool = False) -> bool:
    """Run an engine action in one transaction; report its outcome on the next run."""
    S["coding_ack"] = S.get("coding_ack", 0) + 1   # the view reconciles optimistic highlights
    try:
        # Store.run re-runs the action on a clash with a concurrent writer (it reads the
        # state it changes, so a re-run skips what the other writer already stored).
        result = store().run(lambda s: action(s, get_project(s, project_name)))
        if ok:
            flash("success", ok.format(result=result))
        if clear:
            clear_selection(VIEW)
        return True
    except CodingError as exc:
        flash("error", str(exc))
        return False


def _selection(dv: DocView) -> BrowserSelection | None:
    """The browser's current selection, if it belongs to this document and was not used yet."""
    sel = _current_selection(VIEW)
    if not sel or sel.get("start") is None or sel.get("end", 0) <= sel["start"]:
        return None
    if sel.get("doc") != dv.id or sel.get("nonce") in S.setdefault("coding_used", set()):
        return None
    try:
        return BrowserSelection.from_component(sel)
    except CodingError:
        return None


def _consume() -> None:
    sel = _current_selection(VIEW)
    if sel and sel.get("nonce"):
        S.setdefault("coding_used", set()).add(sel["nonce"])
        S["coding_used_recent"] = [*S.get("coding_used_recent", [])[-19:], sel["nonce"]]
    clear_selection(VIEW)


def apply(dv: DocView, code_ids: list[str], names: str) -> None:
    """Apply codes to the selection the browser shared (page buttons: several codes, a new code)."""
    sel = _selection(dv)
    if sel is None:
        S["coding_ack"] = S.get("coding_ack", 0) + 1
        flash("error", "Select some text in the transcript first, then apply a code.")
        return
    if _run(lambda s, p: apply_to_selection(s, p, member, sel, code_ids, document_id=dv.id),
            _braces(f"Applied {names} to {_quote(sel.text)}.")):
        _consume()


def _once(nonce: str | None) -> bool:
    """True the first time a browser request id is seen (a request delivered twice acts once)."""
    seen = S.setdefault("coding_keys_seen", set())
    if nonce and nonce in seen:
        return False
    if nonce:
        seen.add(nonce)
    return True


def on_apply() -> None:
    """The picker's one request: the selection and the code(s) chosen for it."""
    value = S.get(VIEW) or {}
    req = value.get("apply") if isinstance(value, dict) else None
    if not req:
        return
    S["coding_ack"] = S.get("coding_ack", 0) + 1   # the view reconciles its optimistic highlight
    if not _once(req.get("nonce")):
        return
    ids = [c for c in req.get("codes") or [] if c in tree.info]
    if not ids:
        flash("error", "That code is no longer in the codebook: reload the page.")
        return
    try:
        sel = BrowserSelection.from_component(req.get("sel") or {})
    except CodingError as exc:
        flash("error", str(exc))
        return
    names = ", ".join(tree.info[c].name for c in ids)
    if _run(lambda s, p: apply_to_selection(s, p, member, sel, ids, document_id=dv.id),
            _braces(f"Applied {names} to {_quote(sel.text)}.")):
        _needs_page_after_change()


# --- suggestions (coding/suggest/suggestions.py): codes for the selection, find more like a code ---
def _braces(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def accept_hint(dv: DocView, code_id: str, name: str, note: str) -> None:
    """Accept a suggested code: an ordinary coding (provenance 'suggested') on exactly the
    selection, checked as a typed coding is."""
    sel = _selection(dv)
    if sel is None:
        S["coding_ack"] = S.get("coding_ack", 0) + 1
        flash("error", "Select some text in the transcript first, then accept a suggestion.")
        return
    box: dict = {}

    def act(s, p):
        box["made"] = sg.accept_code_suggestion(s, p, member, sel, code_id, document_id=dv.id, suggestion=note)
    if _run(act):
        flash("success", f"Applied {name} (suggested)." if box.get("made") else
              f"You had already coded exactly this text with {name}.")
        _consume()


def reject_hint(dv: DocView, code_id: str, name: str, note: str) -> None:
    sel = _selection(dv)
    if sel is None:
        flash("error", "The selection is gone: select the text again.")
        return
    if _run(lambda s, p: sg.reject_for_selection(s, p, member, sel, code_id, document_id=dv.id, suggestion=note),
            _braces(f"Noted: {name} does not fit this text.")):
        S.setdefault("coding_sugg_rejected", set()).add((sel.document_id, sel.start, sel.end, code_id))


def code_like(code_id: str, name: str, doc: str, a: int, b: int, score: float) -> None:
    _run(lambda s, p: code_passage(s, p, member, code_id, doc, a, b, suggestion=f"more like {name} ({score:.2f})"),
         _braces(f"Coded the passage with {name} (suggested)."))


def dismiss_like(code_id: str, name: str, doc: str, a: int, b: int) -> None:
    _run(lambda s, p: dismiss_passage(s, p, member, code_id, doc, a, b, suggestion=f"more like {name}"),
         "Dismissed: it will not be offered for this code again.")


WEAK_SUGGESTION = 0.2  # below this probability the panel says that no code fits clearly


def suggestion_panel(dv: DocView, sel: BrowserSelection | None) -> None:
    """Up to five codes for the selection, learnt from the member's own codings (a lead picks
    the layer), each with its score and the coded text it is nearest to."""
    st.markdown("**Suggested codes**")
    layer = "own"
    if member.is_lead:
        layer = st.selectbox("Suggestions learn from", LAYERS, key="coding_sugg_layer",
                             format_func={"own": "my codings", "all": "every coder's codings",
                                          "consensus": "the consensus"}.get)
    if sel is None:
        st.caption("Select text in the transcript, then press “Suggest codes for it” beside it to see which of "
                   "your codes fit it.")
        return
    a, b = dv.map.span_from_utf16(sel.start, sel.end)
    try:
        with store().session(write=False) as s:
            p = get_project(s, project_name)
            done, total = processing_status(s, p, member)
            if done < total:
                st.caption(f"Suggestions need every document processed first ({done} of {total} are): "
                           "press “Process documents” on the Suggestions page.")
                return
            hints = sg.suggest_codes(s, p, member, document_by_id(s, p, member, dv.id), a, b, layer=layer)
            prec = sg.suggestion_precision(s, p, member)
    except CodingError as exc:
        msg = str(exc)
        st.caption(md_escape(msg[0].upper() + msg[1:] + ("." if not msg.endswith(".") else "")))
        return
    gone = S.get("coding_sugg_rejected", set())
    hints = [h for h in hints if (sel.document_id, sel.start, sel.end, h.code_id) not in gone]
    if not hints:
        st.caption("No suggestion for this text (too few content words, or your codes are on it already).")
    elif hints[0].score < WEAK_SUGGESTION:
        st.caption(f"None of your codes fits this text clearly (the best is {hints[0].score:.0%} likely):")
    for n, h in enumerate(hints, 1):
        name = h.path.rsplit("/", 1)[-1]
        note = f"{n}. {h.path} ({h.score:.2f})"
        with st.container(key=f"coding_sugg_box_{h.code_id}"):
            c1, c2, c3 = st.columns([5, 2, 1], vertical_alignment="center", gap="small")
            c1.markdown(f"**{md_escape(name)}** · {h.score:.0%}", help=md_escape(
                f"{h.path}: {h.score:.0%} likely, learnt from your codings"))
            c2.button("Apply", key=f"coding_sugg_accept_{h.code_id}", type="primary", width="stretch",
                      on_click=accept_hint, args=(dv, h.code_id, name, note),
                      help=md_escape(f"Apply {h.path} to the selection (marked 'suggested')"))
            c3.button("✕", key=f"coding_sugg_reject_{h.code_id}", width="stretch",
                      on_click=reject_hint, args=(dv, h.code_id, name, note),
                      help="Not this code for this text (counts against the suggestions' precision)")
            quote = h.evidence.text if len(h.evidence.text) <= 100 else h.evidence.text[:100] + "…"
            st.caption(md_escape(f"like your coding of “{quote}” ({h.evidence.document})"))
    if prec.value is not None:
        st.caption(f"Your suggestions so far: {prec.accepted} accepted, {prec.rejected} rejected "
                   f"(precision {prec.value:.0%}).")


def code_this_turn(dv: DocView, code_ids: list[str], block_id: str | None,
                   sel: BrowserSelection | None = None) -> None:
    if not code_ids:
        flash("error", "Choose the code(s) to apply in “Apply several codes” first.")
        return
    turn = dv.turn_of_block.get(block_id or "")
    if turn is None:
        sel = sel or _selection(dv)
        if sel and sel.document_id == dv.id:
            at = dv.map.from_utf16(sel.start)
            turn = next((dv.turn_of_block[b[0]] for b in dv.blocks
                         if b[0] in dv.turn_of_block and b[2] <= at < b[3]), None)
    if turn is None:
        flash("error", "Click or select inside a speaker turn first.")
        return
    names = ", ".join(tree.info[c].name if c in tree.info else "?" for c in code_ids)
    if _run(lambda s, p: code_turn(s, p, member, document_by_id(s, p, member, dv.id), turn, code_ids),
            _braces(f"Coded the whole turn with {names}.")):
        _consume()


def do_undo(event_id: str | None) -> None:
    if not event_id:
        flash("info", "Nothing to undo on this document.")
        return
    box: dict = {}

    def act(s, p):
        box["r"] = undo_here(s, p, member, dv.id, event_id)   # the last attempt's answer, if re-run
    _run(act)
    if "r" in box:
        flash("success" if box["r"].done else "warning", box["r"].message + ".")


def do_redo(event_id: str | None) -> None:
    if not event_id:
        flash("info", "Nothing to redo.")
        return
    box: dict = {}

    def act(s, p):
        box["r"] = redo_here(s, p, member, dv.id, event_id)
    _run(act)
    if "r" in box:
        flash("success" if box["r"].done else "warning", box["r"].message + ".")


def on_selection() -> None:
    """The browser shares the selection only when something below the transcript needs it
    (suggestions, new boundaries, several codes, a new code): run the page whole."""
    S["coding_full_run"] = True


def on_clicked() -> None:
    value = S.get(VIEW) or {}
    clicked = value.get("clicked") if isinstance(value, dict) else None
    S["coding_focus"] = list((clicked or {}).get("ids") or [])
    S["coding_full_run"] = True   # the clicked coding's tools are below the fragment


with store().session(write=False) as s:
    project = get_project(s, project_name)
    docs = document_entries(s, project, member)
    status = member_progress(s, project, member)
    assigned = open_assignments(s, project, member)
    team = [r for r in progress(s, project, member) if r["open"]] if member.is_lead else []
    tree = code_tree(s, project)
if not docs:
    st.info("No documents yet: import transcripts on the Project page.")
    st.stop()

names = {d.id: d.name for d in docs}
if S.get("coding_doc") not in names:
    S["coding_doc"] = docs[0].id
top_l, top_r = st.columns([3, 2], vertical_alignment="bottom")
# Options are ids and the label is the (unique, stable) name: nothing that changes.
doc_id = top_l.selectbox("Document", list(names), format_func=names.get, key="coding_doc")
mine = status.get(doc_id, "not started")
others = [f"{r['coder']}: {r['status']}" for r in team if r["document"] == names[doc_id]]
top_r.text(f"My progress: {mine}" + (f"\nCoders: {', '.join(others)}" if others else ""))
sha = next(d.sha256 for d in docs if d.id == doc_id)
dv = doc_view(doc_id, sha, project_name, member)
codable = [i for i in tree.infos if i.codable and i.visible_to(member.id, member.is_lead)]


def on_shortcut() -> None:
    """Keys t, u (Ctrl+Z) and r (Ctrl+Shift+Z), and the picker's Undo/Redo."""
    value = S.get(VIEW) or {}
    sc = value.get("shortcut") if isinstance(value, dict) else None
    if not sc:
        return
    S["coding_ack"] = S.get("coding_ack", 0) + 1   # every key press gets an answer the view can see
    if not _once(sc.get("nonce")):
        return  # the same key press delivered twice: act once
    key = sc.get("key")
    if key == "t":
        try:
            sel = BrowserSelection.from_component(sc["sel"]) if sc.get("sel") else None
        except CodingError:
            sel = None
        code_this_turn(dv, S.get("coding_multi") or shared.get("recent", [])[:1], sc.get("block"), sel)
    elif key == "u":
        do_undo(sc.get("target"))
    elif key == "r":
        do_redo(sc.get("target"))
    _needs_page_after_change()


# The transcript and its picker are a fragment: choosing a code, a key, a click on a
# highlight or a change of page reruns only this function (it stores the coding and sends
# the new highlights), not the tabs below. `shared` carries what the fragment read to the
# rest of a full run; on a fragment-only run the tabs keep what they showed, and the
# fragment asks for a full run when they would mislead (see _needs_full_run).
shared: dict = {"full": False}


def _needs_page_after_change() -> None:
    """After a coding changed in a fragment run: rerun the whole page when something shown
    outside the transcript depends on it (the open codings list, the first coding moving
    the document's progress on)."""
    if S.get("coding_tabs") == "Codings here" or status.get(doc_id, "not started") == "not started":
        S["coding_full_run"] = True


@st.fragment
def transcript_area() -> None:
    full = shared["full"]
    if not full and S.pop("coding_full_run", False):
        st.rerun(scope="app")
    S.pop("coding_full_run", None)
    # Always the same number of elements above the transcript, so a message appearing or
    # going away never makes Streamlit mount the transcript view afresh.
    kind_msg = S.pop("coding_flash", None)
    with st.container(key="coding_flash_box"):
        # Successes show in the transcript's status line (the notice): nothing moves the text
        # under the user's mouse. A refusal is also said here, where it stays until the next step.
        if kind_msg and kind_msg[0] not in ("success", "info"):
            getattr(st, kind_msg[0])(md_escape(kind_msg[1]))

    with store().session(write=False) as s:
        p = get_project(s, project_name)
        # The document row without its text: the page has the text cached in DocView.
        all_views = coding_views(s, p, member, document_head(s, p, member, doc_id))
        # Undo and Redo act on this document only, and name the step (code, quoted text).
        undo_step, redo_step = last_undoable_here(s, p, member, doc_id), last_redoable_here(s, p, member, doc_id)
        recent_ids = recent_code_ids(s, p, member)
    recent_now = [c for c in recent_ids if c in tree.info and tree.info[c].codable] or [i.id for i in codable[:9]]
    shared["recent"] = recent_now
    focus = S.get("coding_focus") or []
    if not full and focus and not all(any(v.id == f for v in all_views) for f in focus):
        st.rerun(scope="app")   # the clicked coding shown below is gone (undone): redraw it
    hidden = S.get(f"coding_hide_{doc_id}") or []
    who = S.get(f"coding_who_{doc_id}") or []
    views = [v for v in all_views if v.code_id not in hidden and (not who or v.coder in who)]
    shared.update(all_views=all_views, views=views)

    focus_now = next((v for v in all_views if v.id in focus), None)
    if pages > 1 and focus_now is not None and S.get("coding_focus_paged") != focus_now.id:
        # a coding chosen elsewhere (codings list, Retrieve) opens the part of the transcript holding it
        S["coding_focus_paged"] = focus_now.id
        S[page_key] = next((i // BLOCKS_PER_PAGE + 1 for i, b in enumerate(blocks_all) if b[3] > focus_now.start),
                           1)
    page = 1
    if pages > 1:
        page = st.number_input(f"Part of the transcript (1–{pages}; {BLOCKS_PER_PAGE} turns each, cut at "
                               "turn boundaries)", min_value=1, max_value=pages, value=1, step=1, key=page_key)
    shown = blocks_all[(page - 1) * BLOCKS_PER_PAGE: page * BLOCKS_PER_PAGE] if pages > 1 else blocks_all
    lo, hi = shown[0][2], shown[-1][3]
    highlights = []
    for v in views:
        if not (v.start < hi and v.end > lo):
            continue
        a, b = dv.map.span_to_utf16(v.start, v.end)
        name = v.code_path.rsplit("/", 1)[-1]
        highlights.append({"id": v.id, "start": a, "end": b, "colour": v.colour, "code": v.code_id,
                           "label": name if v.own else f"{name} · {v.coder}",
                           "title": f"{v.code_path} — {v.coder}" + (f"\nMemo: {v.memo}" if v.memo else "")})
    hits = S.get("coding_hits", {}).get(doc_id, [])
    transcript_view(
        key=VIEW,
        blocks=[{"id": bid, "speaker": spk, "text": dv.text[a:b], "base": dv.map.to_utf16(a),
                 "label_end": dv.map.to_utf16(sp) - dv.map.to_utf16(a)}
                for bid, spk, a, b, sp in shown],
        highlights=highlights,
        doc=dv.id,
        sha=dv.sha256,
        marks=[{"start": dv.map.to_utf16(a), "end": dv.map.to_utf16(b)} for a, b in hits if lo <= a and b <= hi],
        focus=(S.get("coding_focus") or [None])[0],
        shortcuts=recent_now,
        picker=picker,
        undo={"id": undo_step.event_id, "label": undo_step.label} if undo_step else None,
        redo={"id": redo_step.event_id, "label": redo_step.label} if redo_step else None,
        ack=S.get("coding_ack", 0),
        notice=S.get("coding_notice"),
        scroll_to=S.get("coding_scroll"),
        select=S.get("coding_select"),
        consumed=S.get("coding_used_recent", []),
        height="fit",
        on_apply=on_apply,
        on_selection=on_selection,
        on_clicked=on_clicked,
        on_shortcut=on_shortcut,
    )


blocks_all = dv.blocks
pages = 1 if len(dv.text) <= WHOLE_DOCUMENT_LIMIT else max(1, -(-len(blocks_all) // BLOCKS_PER_PAGE))
page_key = f"coding_page_{doc_id}"
picker = [{"id": i.id, "name": i.name, "path": i.path, "colour": i.colour, "definition": i.definition,
           "depth": i.depth, "codable": i.codable, "proposed": i.status == "proposed"}
          for i in tree.infos if i.visible_to(member.id, member.is_lead)]
shared["full"] = True
with st.container(key="coding_main"):   # the transcript and its picker first: they fill the window
    transcript_area()
shared["full"] = False
st.caption("Select text with the mouse, then click a code, press 1–9 for a recent code or / to type a code's "
           "name. t codes the whole turn; Ctrl+Z or u undoes your last step on this document, Ctrl+Shift+Z or r "
           "redoes. Click a highlight or a margin label to see its codes here below.")

all_views, views = shared["all_views"], shared["views"]
coders_here = sorted({v.coder for v in all_views})
# on_change="rerun": a tab knows whether it is open, so the codings table is built only when shown.
tab_code, tab_list, tab_find, tab_more = st.tabs(["Clicked coding and more", "Codings here", "Search",
                                                  "Find more"], key="coding_tabs", on_change="rerun")

with tab_list:
    # Options keep the codes/coders hidden before, so a filter never points outside its list.
    st.multiselect("Hide codes in the transcript",
                   sorted({v.code_id for v in all_views} | set(S.get(f"coding_hide_{doc_id}") or []),
                          key=lambda c: tree.info[c].path if c in tree.info else c),
                   key=f"coding_hide_{doc_id}",
                   format_func=lambda c: tree.info[c].path if c in tree.info else "?")
    st.multiselect("Coders", sorted(set(coders_here) | set(S.get(f"coding_who_{doc_id}") or [])),
                   key=f"coding_who_{doc_id}", help="Show only these coders' codings (empty: all you may see)")
with tab_code:
    clicked_col, tools = st.columns([3, 2], gap="medium")
    sel_now = _selection(dv)
    focus_ids = [f for f in S.get("coding_focus") or [] if any(v.id == f for v in all_views)]
    with clicked_col, st.container(key="coding_focus_area"):   # the picker's "below ↓" scrolls here
        st.markdown("**Codes at the clicked place**" if focus_ids else
                    "Click a highlight or a margin label in the transcript to see its codes here.")
        for v in all_views:
            if v.id not in focus_ids:
                continue
            with st.container(border=True, key=f"coding_focus_box_{v.id}"):
                st.text(f"{v.code_path} · {v.coder} · {v.provenance}")
                st.text(dv.text[v.start:v.end][:300])
                if v.own:
                    coding_memo_box(project_name, member, v.id, v.memo)  # saved when the box is left
                    b1, b2, b3, b4 = st.columns(4)
                    b1.button("Sentence", key=f"coding_widen_s_{v.id}", help="Widen to the whole sentence(s)",
                              on_click=_run, args=(lambda s, p, v=v: widen(s, p, member, v.id, "sentence"),
                                                   "Widened to the sentence."), width="stretch")
                    b2.button("Turn", key=f"coding_widen_t_{v.id}", help="Widen to the whole speaker turn",
                              on_click=_run, args=(lambda s, p, v=v: widen(s, p, member, v.id, "turn"),
                                                   "Widened to the turn."), width="stretch")

                    def to_selection(v=v) -> None:
                        sel = _selection(dv)
                        if sel is None:
                            flash("error", "Select the new extent in the transcript first.")
                            return
                        if _run(lambda s, p: adjust_coding(s, p, member, v.id, sel), "Boundaries changed."):
                            _consume()
                    b3.button("To selection", key=f"coding_adjust_{v.id}", width="stretch", on_click=to_selection,
                              help="Move this coding's boundaries to the current selection (shrink or extend)")
                    b4.button("Remove", key=f"coding_remove_{v.id}", type="primary", width="stretch", on_click=_run,
                              args=(lambda s, p, v=v: remove_coding(s, p, member, v.id), "Code removed."))
                    rkey = f"coding_recode_{v.id}"
                    st.selectbox("Change its code to", [i.id for i in codable], index=None, key=rkey,
                                 placeholder="Type a code name…", format_func=lambda c: tree.info[c].path,
                                 on_change=lambda v=v, rkey=rkey: S.get(rkey) and _run(
                                     lambda s, p: recode(s, p, member, v.id, S[rkey]), "Code changed."))
                elif v.memo:
                    st.text(f"Memo: {v.memo}")


with tools:
    with st.container(key="coding_suggestions"):   # the picker's "Suggest codes for it ↓" scrolls here
        suggestion_panel(dv, sel_now)

    with st.expander("New code" + ("" if member.is_lead else " (a proposal for the lead)")):
        parents = [i.id for i in tree.infos if i.status == "active"]
        new_parent = st.selectbox("Under", parents, index=None, key="coding_new_parent",
                                  placeholder="Top level", format_func=lambda c: tree.info[c].path)
        new_name = st.text_input("Name", key="coding_new_name")
        new_def = st.text_area("What it means (definition)", key="coding_new_def", height=68)

        def make_code() -> None:
            box: dict = {}
            def act(s, p):
                box["c"] = create_code_while_coding(s, p, member, S.get("coding_new_name", ""),
                                                    parent_id=S.get("coding_new_parent"),
                                                    definition=S.get("coding_new_def", ""))
            done = _run(act)
            if done:
                S["coding_new_name"] = S["coding_new_def"] = ""
                kind = "Added" if member.is_lead else "Proposed"
                # Apply it to the selection at once when there is one: that is why it was made.
                if _selection(dv) is not None:
                    apply(dv, [box["c"].id], box["c"].name)
                else:
                    flash("success", f"{kind} {box['c'].name}.")
        st.button("Create", key="coding_new_make", on_click=make_code,  # never disabled by the name: one rerun
                  help="Creates the code, and applies it to the text selected in the transcript, if any")
        if not member.is_lead:
            st.caption("You can use it at once in your own codings; the lead accepts, renames, merges or "
                       "rejects it on the Codebook page. Other coders do not see it until then.")

    multi = st.multiselect("Apply several codes", [i.id for i in codable], key="coding_multi",
                           format_func=lambda c: tree.info[c].path)
    c1, c2 = st.columns(2)
    c1.button("Apply", key="coding_apply_multi", disabled=not multi, on_click=apply,
              args=(dv, multi, ", ".join(tree.info[c].name for c in multi)), width="stretch")
    c2.button("Code this turn", key="coding_turn", disabled=not multi, on_click=code_this_turn,
              args=(dv, multi, None), width="stretch")

    current = status.get(doc_id, "not started")
    if doc_id in assigned:
        key = f"coding_status_{doc_id}"
        if S.get(key) not in (None, current):
            S[key] = current  # another action (coding) moved it on
        st.selectbox("My progress on this document (this round)", STATUSES, index=STATUSES.index(current),
                     key=key, on_change=lambda: _run(
                         lambda s, p: set_status(s, p, member, document_by_id(s, p, member, doc_id), S[key]),
                         "Progress saved."))
    else:
        st.caption(f"My progress: {current} (no open round assigns this document to you)")

with tab_list:
    if tab_list.open is False:
        pass   # not shown: a thousand-row table is not built on every coded passage
    elif not views:
        st.caption("No codings to show in this document." if not all_views else "All codings are filtered out.")
    else:
        table = pd.DataFrame([{
            "Code": v.code_path, "Coder": v.coder, "Text": dv.text[v.start:v.end][:160],
            "From": v.start, "To": v.end, "Memo": v.memo, "Colour": v.colour, "id": v.id} for v in views])
        # A colour legend for the codes present (a few rows); the long list stays unstyled:
        # styling a thousand rows costs more than the rest of the page together.
        legend = table.drop_duplicates("Code")[["Code", "Colour"]].sort_values("Code")
        legend["Codings"] = legend["Code"].map(table["Code"].value_counts())
        st.dataframe(legend.style.map(lambda c: f"background-color: {c}; color: {c}", subset=["Colour"]),
                     hide_index=True, width="stretch", key=f"coding_legend_{doc_id}",
                     height=min(38 + 35 * len(legend), 300))
        shown_table = table.drop(columns=["id", "Colour"])
        picked = st.dataframe(shown_table, key=f"coding_list_{doc_id}", hide_index=True, on_select="rerun",
                              selection_mode="single-row", width="stretch",
                              column_config={"Text": st.column_config.TextColumn(width="large")})
        rows = picked.selection.rows if picked and picked.selection else []
        chosen = table.iloc[rows[0]] if rows and rows[0] < len(table) else None
        if chosen is not None and S.get("coding_list_last") != chosen["id"]:
            S["coding_list_last"] = chosen["id"]  # act on a new pick only; a click elsewhere wins after
            if S.get("coding_focus") != [chosen["id"]]:
                S["coding_focus"] = [chosen["id"]]
                if pages > 1:
                    S[page_key] = next(i // BLOCKS_PER_PAGE + 1 for i, b in enumerate(blocks_all)
                                       if b[2] <= int(chosen["From"]) < b[3] or b[2] >= int(chosen["From"]))
                st.rerun()
        st.caption("Pick a row to jump to the coding.")

with tab_find:
    term = st.text_input("Search this transcript (all of it)", key=f"coding_find_{doc_id}")
    found: list[tuple[int, int]] = []
    if term.strip():
        found = [(m.start(), m.end()) for m in re.finditer(re.escape(term.strip()), dv.text, re.IGNORECASE)][:500]
        st.caption(f"{len(found)} hit(s)" + (" (first 500)" if len(found) == 500 else ""))
    if S.get("coding_hits", {}).get(doc_id, []) != found:
        S.setdefault("coding_hits", {})[doc_id] = found
        st.rerun()
    for n, (a, b) in enumerate(found[:100]):
        ctx_a, ctx_b = max(0, a - 60), min(len(dv.text), b + 60)
        c_text, c_go = st.columns([5, 1], vertical_alignment="center")
        around = dv.text[ctx_a:ctx_b].replace("\n", " ")
        c_text.text(("…" if ctx_a else "") + around + ("…" if ctx_b < len(dv.text) else ""))

        def go(a=a, b=b) -> None:
            if pages > 1:
                S[page_key] = next(i // BLOCKS_PER_PAGE + 1 for i, bl in enumerate(blocks_all) if bl[3] > a)
            S["coding_scroll"] = {"at": dv.map.to_utf16(a), "nonce": uuid.uuid4().hex}
            S["coding_select"] = {"start": dv.map.to_utf16(a), "end": dv.map.to_utf16(b), "nonce": uuid.uuid4().hex}
        c_go.button("Select", key=f"coding_hit_{doc_id}_{n}", on_click=go, help="Scroll to this hit and select it "
                    "so you can code it", width="stretch")

with tab_more:
    st.caption("The sentences of this transcript you have not coded that your codings say are most like a "
               "code. Code them or dismiss them one by one (a dismissed one is not offered again).")
    more_code = st.selectbox("Code", [i.id for i in codable], index=None, key="coding_more_code",
                             placeholder="Type a code name…", format_func=lambda c: tree.info[c].path)
    if more_code:
        more_layer = S.get("coding_sugg_layer", "own") if member.is_lead else "own"
        try:
            with store().session(write=False) as s:
                p = get_project(s, project_name)
                like = more_like_code(s, p, member, more_code, document=document_by_id(s, p, member, dv.id),
                                      top=10, layer=more_layer)
        except CodingError as exc:
            st.info(md_escape(str(exc)))
            like = []
        else:
            if not like:
                st.caption("No uncoded sentence here is like this code.")
        more_name = tree.info[more_code].name
        for n, x in enumerate(like):
            q = x.quote
            with st.container(border=True, key=f"coding_more_box_{n}"):
                st.text(q.text)
                m1, m2, m3, m4 = st.columns([2, 2, 1, 3], vertical_alignment="center", gap="small")
                m1.button("Code", key=f"coding_more_code_{q.start}", type="primary", width="stretch",
                          on_click=code_like, args=(more_code, more_name, q.document_id, q.start, q.end, x.score),
                          help=md_escape(f"Code it with {tree.info[more_code].path} (marked 'suggested')"))

                def show(a=q.start, b=q.end) -> None:
                    if pages > 1:
                        S[page_key] = next(i // BLOCKS_PER_PAGE + 1 for i, bl in enumerate(blocks_all) if bl[3] > a)
                    S["coding_scroll"] = {"at": dv.map.to_utf16(a), "nonce": uuid.uuid4().hex}
                    S["coding_select"] = {"start": dv.map.to_utf16(a), "end": dv.map.to_utf16(b),
                                          "nonce": uuid.uuid4().hex}
                m2.button("Show", key=f"coding_more_show_{q.start}", width="stretch", on_click=show,
                          help="Scroll to it and select it in the transcript (to code part of it)")
                m3.button("✕", key=f"coding_more_dismiss_{q.start}", width="stretch", on_click=dismiss_like,
                          args=(more_code, more_name, q.document_id, q.start, q.end),
                          help="Dismiss: not like this code, do not offer it again")
                m4.caption(f"{x.score:.0%} likely" + ("" if x.rank <= 1 else
                                                       f" · {x.rank - 1} other code(s) fit better"))
