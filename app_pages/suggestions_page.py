"""Suggestions: emergent themes from the text the signed-in member has not coded yet.

Every rule (the blind rule, who may add or only propose a code) lives in
coding/suggestions.py; this page gathers choices and shows results. Transcript
text reaches the page through st.text and st.dataframe only; names in labels
and messages through ``md_escape``. Session keys are prefixed ``sugg_``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.common import report, require_member, store
from app_pages.plain import md_escape
from coding import suggestions as sg
from coding.codebook import code_tree
from coding.errors import CodingError
from coding.projects import get_project

ctx = require_member()
if ctx is None:
    st.stop()
project_name, member = ctx
st.title("Suggestions")
st.caption("Candidate themes from the sentences or turns you have not coded yet, computed on this "
           "computer from your own codings only. Nothing leaves the machine.")

flash = st.session_state.pop("sugg_flash", None)
if flash:
    st.success(flash)


def run(action, *, write: bool = True):
    """Run an engine action in one transaction (a write is re-run on a clash with another
    writer; ``write=False`` for a pure read); show its refusal and return None on failure."""
    try:
        return store().run(lambda s: action(s, get_project(s, project_name)), write=write)
    except CodingError as exc:
        report(exc)
        return None


# --- processing -----------------------------------------------------------------------
status = run(lambda s, p: sg.processing_status(s, p, member), write=False)
if status is None:
    st.stop()
done, total = status
st.text(f"Documents processed for suggestions: {done} of {total}")
if done < total:
    if st.button("Process documents", key="sugg_process", type="primary"):
        bar = st.progress(0.0, text="Parsing documents…")

        def progress(n: int, of: int, name: str) -> None:
            bar.progress(n / max(of, 1), text=md_escape(f"{n} of {of} {name}"))

        # Each document is written in its own transaction: leaving the page mid-way
        # (which stops this script) keeps whole documents only, and the next run goes on.
        try:
            rep = sg.process_documents(store(), project_name, member, progress=progress)
        except CodingError as exc:
            report(exc)
        else:
            st.session_state["sugg_flash"] = f"Processed {rep.parsed} documents ({rep.cached} were cached)."
            st.rerun()
    st.stop()

# --- options and themes ---------------------------------------------------------------
c1, c2 = st.columns(2)
unit = c1.radio("Unit of text", ["sentence", "turn"], horizontal=True, key="sugg_unit")
layer = "own"
if member.is_lead:
    layer = c2.radio("Learn from", ["own", "all", "consensus"], horizontal=True, key="sugg_layer",
                     help="own: your codings; all: every coder's; consensus: the adjudicated layer")
if st.button("Find themes", key="sugg_find", type="primary") or "sugg_themes" in st.session_state:
    if st.session_state.get("sugg_for") != (unit, layer) or "sugg_themes" not in st.session_state:
        with st.spinner("Finding themes…"):
            themes = run(lambda s, p: [t for t in sg.emergent_themes(s, p, member, unit=unit, layer=layer)],
                         write=False)
        if themes is None:
            st.stop()
        st.session_state["sugg_themes"] = themes
        st.session_state["sugg_for"] = (unit, layer)

themes = st.session_state.get("sugg_themes")
codes = run(lambda s, p: [(i.id, i.path) for i in code_tree(s, p).infos if i.codable], write=False) or []
paths = dict(codes)

if themes is not None:
    if not themes:
        st.info("No themes: too little uncoded text with recurring words.")
    for t in themes:
        with st.expander(md_escape(f"{t.rank}. {t.title}"), expanded=t.rank == 1):
            near = (f"nearest existing code: {t.nearest_code} (similarity {t.nearest_score:.2f})"
                    if t.nearest_code else "no existing code is near")
            st.text(f"{t.units} units in {t.documents} documents, {t.participants} participants; {near}")
            st.dataframe(pd.DataFrame([{"#": i + 1, "quote": q.text, "attribution": q.attribution,
                                        "document": q.document, "speaker": q.speaker or ""}
                                       for i, q in enumerate(t.quotes)]),
                         hide_index=True, use_container_width=True)
            key = f"sugg_{t.rank}"
            chosen = st.multiselect("Quotes to code", list(range(1, len(t.quotes) + 1)),
                                    default=list(range(1, len(t.quotes) + 1)), key=f"{key}_quotes")
            a1, a2 = st.columns(2)
            with a1.form(f"{key}_create"):
                name = st.text_input("New code name", value=t.label[0] if t.label else "", key=f"{key}_name")
                parent = st.selectbox("Place under", [None, *paths], key=f"{key}_parent",
                                      format_func=lambda cid: "(top level)" if cid is None else paths[cid])
                definition = st.text_area("Definition", value=t.draft_definition(), key=f"{key}_def")
                label = "Add code" if member.is_lead else "Propose code"
                if st.form_submit_button(label):
                    code = run(lambda s, p: sg.create_code_from_theme(
                        s, p, member, name, parent_id=parent, definition=definition,
                        example=t.quotes[0].text if t.quotes else ""))
                    if code is not None:
                        st.session_state["sugg_flash"] = (
                            f"Added the code {md_escape(name)}." if member.is_lead else
                            f"Proposed the code {md_escape(name)}; a lead accepts or rejects it.")
                        st.rerun()
            with a2:
                target = st.selectbox("Apply a code to the chosen quotes", list(paths), key=f"{key}_code",
                                      index=list(paths).index(t.nearest_code_id) if t.nearest_code_id in paths else 0,
                                      format_func=lambda cid: paths[cid]) if paths else None
                if st.button("Apply", key=f"{key}_apply", disabled=not (target and chosen)):
                    qs = [(t.quotes[i - 1].document_id, t.quotes[i - 1].start, t.quotes[i - 1].end) for i in chosen]
                    made = run(lambda s, p: sg.apply_to_quotes(s, p, member, target, qs, suggestion=t.title))
                    if made is not None:
                        st.session_state["sugg_flash"] = f"Coded {len(made)} quotes with {md_escape(paths[target])}."
                        st.session_state.pop("sugg_themes", None)
                        st.rerun()
                if st.button("Dismiss theme", key=f"{key}_dismiss"):
                    # the action returns nothing: True marks success (run gives None on a refusal)
                    if run(lambda s, p: sg.dismiss_theme(s, p, member, list(t.label), unit=unit) or True):
                        st.session_state["sugg_themes"] = [x for x in themes if x.rank != t.rank]
                        st.session_state["sugg_flash"] = "Dismissed; it will not be suggested to you again."
                        st.rerun()

# --- proposals (leads decide) -----------------------------------------------------------
proposals = run(lambda s, p: [(c.id, c.name, c.definition) for c in sg.proposed_codes(s, p, member)],
                write=False) or []
if proposals:
    st.subheader("Proposed codes")
    for cid, name, definition in proposals:
        st.text(f"{name}: {definition}")
        if member.is_lead:
            b1, b2 = st.columns(2)
            for col, accept, word in ((b1, True, "Accept"), (b2, False, "Reject")):
                if col.button(f"{word} {md_escape(name)}", key=f"sugg_{word}_{cid}"):
                    if run(lambda s, p, cid=cid, accept=accept: sg.decide_proposed_code(s, p, member, cid, accept)
                           or True):
                        st.session_state["sugg_flash"] = f"{word}ed the code {md_escape(name)}."
                        st.rerun()
