"""Code transcripts: select text in the transcript, apply codes, see them highlighted.

The transcript is a Custom Components v2 view (app_pages/transcript_component.py);
every rule (blind rounds, ownership, codable codes) is enforced by coding/.
Session keys are prefixed ``coding_``.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
from sqlalchemy import select

from app_pages.common import require_member, store
from app_pages.transcript_component import _current_selection, clear_selection, transcript_view
from coding.codebook import code_tree
from coding.codings import (
    apply_codes, code_turn, coding_views, recent_code_ids, remove_coding, set_memo, undo_last, widen,
)
from coding.errors import CodingError
from coding.offsets import Utf16Map
from coding.projects import get_project
from coding.rounds import STATUSES, member_progress, open_assignments, progress, set_status
from coding.segmentation import blocks
from coding.store.models import Document

VIEW = "coding_view"
BLOCKS_PER_PAGE = 30


@dataclass(frozen=True)
class DocView:
    """Immutable per-document data, cached: a document's text never changes."""

    id: str
    name: str
    text: str
    map: Utf16Map
    blocks: list[tuple[str, str, int, int]]  # id, speaker, start, end (code points)
    turn_of_block: dict[str, int]


@st.cache_resource(max_entries=32, show_spinner=False)
def doc_view(doc_id: str, sha256: str) -> DocView:
    with store().session() as s:
        doc = s.get(Document, doc_id)
        bl = blocks(doc)
        return DocView(doc.id, doc.name, doc.text, Utf16Map(doc.text), bl,
                       {b[0]: int(b[0][1:]) for b in bl if b[0].startswith("t")})


ctx = require_member()
if ctx is None:
    st.stop()
project_name, member = ctx
st.title("Code transcripts")


def flash(kind: str, text: str) -> None:
    st.session_state["coding_flash"] = (kind, text)


def _run(action, ok: str | None = None, *, clear: bool = False) -> None:
    """Run an engine action in one transaction; report its outcome on the next run."""
    try:
        with store().session() as s:
            project = get_project(s, project_name)
            result = action(s, project)
        if ok:
            flash("success", ok.format(result=result))
        if clear:
            clear_selection(VIEW)
    except CodingError as exc:
        flash("error", str(exc))


def _selection(dv: DocView) -> tuple[int, int] | None:
    sel = _current_selection(VIEW)
    if not sel or sel.get("start") is None or sel["end"] <= sel["start"]:
        return None
    return dv.map.span_from_utf16(int(sel["start"]), int(sel["end"]))


def apply(dv: DocView, code_ids: list[str], names: str) -> None:
    span = _selection(dv)
    if span is None:
        flash("error", "Select some text in the transcript first, then apply a code.")
        return

    def act(s, project):
        return apply_codes(s, project, member, s.get(Document, dv.id), code_ids, *span)
    _run(act, f"Applied {names}.", clear=True)


def code_this_turn(dv: DocView, code_ids: list[str], block_id: str | None) -> None:
    if not code_ids:
        flash("error", "Choose the code(s) to apply in “Apply several codes” first.")
        return
    turn = dv.turn_of_block.get(block_id or "")
    if turn is None:
        span = _selection(dv)
        if span:
            turn = next((dv.turn_of_block[b[0]] for b in dv.blocks
                         if b[0] in dv.turn_of_block and b[2] <= span[0] < b[3]), None)
    if turn is None:
        flash("error", "Click or select inside a speaker turn first.")
        return
    _run(lambda s, p: code_turn(s, p, member, s.get(Document, dv.id), turn, code_ids),
         "Coded the whole turn.", clear=True)


def on_clicked() -> None:
    value = st.session_state.get(VIEW) or {}
    clicked = value.get("clicked") if isinstance(value, dict) else None
    st.session_state["coding_focus"] = list((clicked or {}).get("ids") or [])


with store().session() as s:
    project = get_project(s, project_name)
    docs = list(s.execute(select(Document.id, Document.name, Document.sha256)
                          .where(Document.project_id == project.id).order_by(Document.name)))
    status = member_progress(s, project, member)
    assigned = open_assignments(s, project, member)
    team = [r for r in progress(s, project) if r["open"]] if member.is_lead else []
    tree = code_tree(s, project)
    recent = recent_code_ids(s, project, member)
if not docs:
    st.info("No documents yet: import transcripts on the Project page.")
    st.stop()

labels = {d.id: f"{d.name} — me: {status.get(d.id, 'not started')}" for d in docs}
if member.is_lead:  # the lead follows every coder's progress in the open rounds
    for d in docs:
        others = [f"{r['coder']}: {r['status']}" for r in team if r["document"] == d.name]
        if others:
            labels[d.id] += " · " + ", ".join(others)
doc_id = st.selectbox("Document", [d.id for d in docs], format_func=labels.get, key="coding_doc")
sha = next(d.sha256 for d in docs if d.id == doc_id)
dv = doc_view(doc_id, sha)
codable = [i for i in tree.infos if i.codable]
recent = [c for c in recent if c in tree.info and tree.info[c].codable] or [i.id for i in codable[:9]]


def on_shortcut() -> None:
    value = st.session_state.get(VIEW) or {}
    sc = value.get("shortcut") if isinstance(value, dict) else None
    if not sc:
        return
    key = sc.get("key")
    if key and key.isdigit() and 0 < int(key) <= len(recent):
        code = tree.info[recent[int(key) - 1]]
        apply(dv, [code.id], code.name)
    elif key == "t":
        code_this_turn(dv, st.session_state.get("coding_multi") or recent[:1], sc.get("block"))
    elif key == "u":
        _run(lambda s, p: undo_last(s, p, member) or "nothing", "Undid: {result}.")


kind_msg = st.session_state.pop("coding_flash", None)
if kind_msg:
    getattr(st, kind_msg[0])(kind_msg[1])

pages = max(1, -(-len(dv.blocks) // BLOCKS_PER_PAGE))
left, right = st.columns([3, 2], gap="medium")
with left:
    page = 1
    if pages > 1:
        page = st.number_input(f"Page of turns (1–{pages}; {BLOCKS_PER_PAGE} per page)", min_value=1,
                               max_value=pages, value=1, step=1, key=f"coding_page_{doc_id}")
    shown = dv.blocks[(page - 1) * BLOCKS_PER_PAGE: page * BLOCKS_PER_PAGE]
    lo, hi = shown[0][2], shown[-1][3]
    with store().session() as s:
        p = get_project(s, project_name)
        views = [v for v in coding_views(s, p, member, s.get(Document, doc_id)) if v.start < hi and v.end > lo]
    highlights = []
    for v in views:
        a, b = dv.map.span_to_utf16(v.start, v.end)
        name = v.code_path.rsplit("/", 1)[-1]
        who = "" if v.own else f" ({v.coder})"
        highlights.append({"id": v.id, "start": a, "end": b, "colour": v.colour, "label": name + who,
                           "title": f"{v.code_path} — {v.coder}" + (f"\nMemo: {v.memo}" if v.memo else "")})
    transcript_view(
        key=VIEW,
        blocks=[{"id": bid, "speaker": spk, "text": dv.text[a:b], "base": dv.map.to_utf16(a)}
                for bid, spk, a, b in shown],
        highlights=highlights,
        focus=(st.session_state.get("coding_focus") or [None])[0],
        shortcuts=[tree.info[c].name for c in recent],
        height=640,
        on_clicked=on_clicked,
        on_shortcut=on_shortcut,
    )
    st.caption("Select text with the mouse, then click a code. Keys in the transcript: 1–9 apply a "
               "recent code, t codes the whole turn, u undoes. Click a highlight to see its codes.")

with right:
    span = _selection(dv)
    if span:
        st.markdown(f"**Selection** · characters {span[0]:,}–{span[1]:,}")
        excerpt = dv.text[span[0]:span[1]]
        st.text(excerpt if len(excerpt) <= 400 else excerpt[:400] + " …")
    else:
        st.markdown("**Selection** · none: select text in the transcript")

    st.markdown("**Recent codes**")
    cols = st.columns(3)
    for i, cid in enumerate(recent):
        info = tree.info[cid]
        cols[i % 3].button(f"{i + 1} · {info.name}", key=f"coding_recent_{cid}", help=info.path,
                           on_click=apply, args=(dv, [cid], info.name), width="stretch")

    query = st.text_input("Find a code", key="coding_search", placeholder="name or words of its definition")
    q = query.strip().casefold()
    matches = [i for i in codable if not q or q in i.path.casefold() or q in i.definition.casefold()]
    with st.container(height=260, key="coding_tree"):
        for info in tree.infos:
            if info.codable and info not in matches:
                continue
            if not info.codable:
                if not q:
                    st.markdown(f"{'  ' * info.depth}**{info.name}**")
                continue
            st.button(f"{'· ' * info.depth}{info.name}", key=f"coding_code_{info.id}", help=info.definition or info.path,
                      on_click=apply, args=(dv, [info.id], info.name))

    multi = st.multiselect("Apply several codes", [i.id for i in codable], key="coding_multi",
                           format_func=lambda c: tree.info[c].path)
    c1, c2, c3 = st.columns(3)
    c1.button("Apply", key="coding_apply_multi", disabled=not multi, on_click=apply,
              args=(dv, multi, ", ".join(tree.info[c].name for c in multi)), width="stretch")
    c2.button("Code this turn", key="coding_turn", disabled=not multi, on_click=code_this_turn,
              args=(dv, multi, None), width="stretch")
    c3.button("Undo", key="coding_undo", width="stretch",
              on_click=_run, args=(lambda s, p: undo_last(s, p, member) or "nothing", "Undid: {result}."))

    focus_ids = [f for f in st.session_state.get("coding_focus") or [] if any(v.id == f for v in views)]
    if focus_ids:
        st.markdown("**Codes at the clicked place**")
        for v in views:
            if v.id not in focus_ids:
                continue
            with st.container(border=True, key=f"coding_focus_box_{v.id}"):
                st.markdown(f"**{v.code_path}** · {v.coder} · {v.provenance}")
                st.text(dv.text[v.start:v.end][:300])
                if v.own:
                    memo = st.text_area("Memo", value=v.memo, key=f"coding_memo_{v.id}", height=80)
                    b1, b2, b3, b4 = st.columns(4)
                    b1.button("Save memo", key=f"coding_save_memo_{v.id}", on_click=_run,
                              args=(lambda s, p, v=v, memo=memo: set_memo(s, p, member, v.id, memo), "Memo saved."))
                    b2.button("Sentence", key=f"coding_widen_s_{v.id}", help="Widen to the whole sentence(s)",
                              on_click=_run, args=(lambda s, p, v=v: widen(s, p, member, v.id, "sentence"),
                                                   "Widened to the sentence."))
                    b3.button("Turn", key=f"coding_widen_t_{v.id}", help="Widen to the whole speaker turn",
                              on_click=_run, args=(lambda s, p, v=v: widen(s, p, member, v.id, "turn"),
                                                   "Widened to the turn."))
                    b4.button("Remove", key=f"coding_remove_{v.id}", type="primary", on_click=_run,
                              args=(lambda s, p, v=v: remove_coding(s, p, member, v.id), "Code removed."))
                elif v.memo:
                    st.text(f"Memo: {v.memo}")

    current = status.get(doc_id, "not started")
    if doc_id in assigned:
        key = f"coding_status_{doc_id}"
        if st.session_state.get(key) not in (None, current):
            st.session_state[key] = current  # another action (coding) moved it on
        st.selectbox("My progress on this document (this round)", STATUSES, index=STATUSES.index(current),
                     key=key, on_change=lambda: _run(
                         lambda s, p: set_status(s, p, member, s.get(Document, doc_id), st.session_state[key]),
                         "Progress saved."))
    else:
        st.caption(f"My progress: {current} (no open round assigns this document to you)")
