"""Suggestions: emergent themes from the text the signed-in member has not coded yet, keyphrases
per document or participant group, and the uncoded sentences most like a code.

Every rule (the blind rule, who may add or only propose a code) lives in
coding/suggest/suggestions.py; this page gathers choices and shows results. Transcript
text reaches the page through st.text and st.dataframe only; names in labels
and messages through ``md_escape``. Session keys are prefixed ``sugg_``.
"""

from __future__ import annotations

import uuid

import pandas as pd
import streamlit as st

from app_pages.common import report, require_member, store
from app_pages.plain import md_escape
from coding.suggest.themes import (
    apply_to_quotes, code_from_theme, decide_proposed_code, dismiss_theme, emergent_themes, proposed_codes,
)
from coding.suggest.passages import _project_document, code_passage, dismiss_passage, more_like_code
from coding.suggest.keyphrases import keyphrase_groupings, keyphrases
from coding.suggest import suggestions as sg
from coding.codebook.tree import code_tree
from coding.errors import CodingError
from coding.text.offsets import Utf16Map
from coding.team.projects import get_project

ctx = require_member()
if ctx is None:
    st.stop()
project_name, member = ctx
st.title("Suggestions")
st.caption("Computed on this computer from the transcripts and your own codings only; nothing leaves the "
           "machine. Themes: candidate codes in the text you have not coded. Keyphrases: what sets each "
           "document or participant group apart. More like a code: uncoded sentences that fit a code.")

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
# Parsing runs in a background thread of the server (coding/suggest/processing.py), started after an
# import on the Project page or here; each document is cached in its own transaction, so
# leaving the page or cancelling keeps whole documents only, and the next run goes on.
from coding.suggest import processing as proc  # noqa: E402


@st.fragment(run_every=1.0)
def processing_progress(job: proc.Background) -> None:
    """The running job's progress, polled every second; the whole page reruns when it ends."""
    if job.done:
        st.rerun()
    n, of, current = job.progress()
    with st.status(f"Processing documents for suggestions: {n} of {of}", expanded=True, state="running"):
        st.progress(n / max(of, 1))
        if current:
            st.text(f"Parsing {current}")
        if job.cancelled:
            st.text("Cancelling after this document…")
        elif st.button("Cancel", key="sugg_process_cancel"):
            job.cancel()
            st.rerun()


status = run(lambda s, p: proc.processing_status(s, p, member), write=False)
if status is None:
    st.stop()
done, total = status
job = proc.background(store(), project_name)
if job is not None and not job.done:
    processing_progress(job)
    st.stop()
st.text(f"Documents processed for suggestions: {done} of {total}")
if done < total:
    if job is not None and job.error is not None:
        shown = job.error if isinstance(job.error, CodingError) else CodingError(f"processing stopped: {job.error}")
        report(shown)
    elif job is not None and job.cancelled:
        st.info("Processing was cancelled; the documents parsed so far are kept. Press 'Process documents' "
                "to go on.")
    if st.button("Process documents", key="sugg_process", type="primary"):
        try:
            proc.start_background(store(), project_name, member)
        except CodingError as exc:
            report(exc)
        else:
            st.rerun()
    st.stop()

# --- options and themes ---------------------------------------------------------------
# --- keyphrases and "find more like a code" -----------------------------------------------
def keyphrase_view() -> None:
    """Words and phrases that set each document or participant group apart (no codings used)."""
    groupings = run(lambda s, p: keyphrase_groupings(s, p, member), write=False) or ["document"]
    k1, k2 = st.columns([2, 1])
    by = k1.selectbox("One group per", groupings, key="sugg_kp_by",
                      format_func=lambda g: "document" if g == "document" else f"value of '{g}'")
    top = k2.number_input("Phrases per group", 3, 30, 10, key="sugg_kp_top")
    st.caption("Ranked by how much more often a group uses a word or phrase than the others do "
               "(log-odds ratio with an informative Dirichlet prior, Monroe et al. 2008; z-scores). "
               "Computed from the text only: nobody's codings change it.")
    groups = run(lambda s, p: keyphrases(s, p, member, by=by, top=int(top)), write=False)
    if groups is None:
        return
    if not groups:
        st.info("No groups: no document has a value for this attribute.")
        return
    overview = [{"group": g.group, **({} if by == "document" else {"documents": g.documents}),
                 "sentences": g.sentences, "keyphrases": ", ".join(k.text for k in g.phrases)} for g in groups]
    st.dataframe(pd.DataFrame(overview), hide_index=True, width="stretch", key="sugg_kp_overview",
                 column_config={"keyphrases": st.column_config.TextColumn(width="large")})
    st.caption("Open a group to see how often each phrase occurs and an example sentence.")
    for g in groups:
        docs = "" if by == "document" else f"{g.documents} document{'s' if g.documents != 1 else ''}, "
        with st.expander(md_escape(f"{g.group} · {docs}{g.sentences} sentences")):
            if not g.phrases:
                st.text("Nothing stands out: this group's words are as frequent elsewhere.")
                continue
            st.dataframe(pd.DataFrame([{"phrase": k.text, "z": round(k.score, 1), "here": k.count,
                                        "elsewhere": k.rest, "example": k.example.text,
                                        "from": f"{k.example.document} {k.example.attribution}".strip()}
                                       for k in g.phrases]),
                         hide_index=True, width="stretch",
                         column_config={"example": st.column_config.TextColumn(width="large")})


def show_in_transcript(document_id: str, start: int, end: int) -> None:
    """Open the coding page on the document, scrolled to ``[start, end)`` and with it selected."""
    text = run(lambda s, p: _project_document(s, p, document_id).text, write=False)
    if text is None:
        return
    u16 = Utf16Map(text)
    st.session_state["coding_doc"] = document_id
    st.session_state["coding_scroll"] = {"at": u16.to_utf16(start), "nonce": uuid.uuid4().hex}
    st.session_state["coding_select"] = {"start": u16.to_utf16(start), "end": u16.to_utf16(end),
                                         "nonce": uuid.uuid4().hex}
    st.switch_page("app_pages/coding_page.py")


def more_view() -> None:
    """The uncoded sentences of the project most like a code, to code or dismiss one by one."""
    codes = run(lambda s, p: [(i.id, i.path) for i in code_tree(s, p).infos
                              if i.codable and i.visible_to(member.id, member.is_lead)], write=False) or []
    paths = dict(codes)
    m1, m2 = st.columns([3, 1])
    code_id = m1.selectbox("Code", list(paths), index=None, key="sugg_more_code", placeholder="Type a code name…",
                           format_func=paths.get)
    layer = "own"
    if member.is_lead:
        layer = m2.radio("Learn from", ["own", "all", "consensus"], key="sugg_more_layer")
    st.caption("Sentences you have not coded, in every document, ranked by how well they match the "
               "passages you coded with this code. Code one (an ordinary coding, marked 'suggested') or "
               "dismiss it; a dismissed sentence is not offered for this code again.")
    prec = run(lambda s, p: sg.suggestion_precision(s, p, member, model="more"), write=False)
    if prec is not None and prec.value is not None:
        st.caption(f"So far: {prec.accepted} coded, {prec.rejected} dismissed (precision {prec.value:.0%}).")
    if not code_id:
        return
    found = run(lambda s, p: more_like_code(s, p, member, code_id, top=10, layer=layer), write=False)
    if found is None:
        return
    if not found:
        st.info("No uncoded sentence is like this code.")
    for n, x in enumerate(found):
        q = x.quote
        with st.container(border=True, key=f"sugg_more_box_{n}"):
            st.text(q.text)
            b1, b2, b4, b3 = st.columns([1, 1, 1, 5], vertical_alignment="center")
            if b4.button("Show", key=f"sugg_more_{q.document_id}_{q.start}_show",
                         help="Open it in the coding page, selected, to read around it or code part of it"):
                show_in_transcript(q.document_id, q.start, q.end)
            b3.caption(md_escape(f"{q.attribution} · {q.document}, characters {q.start}–{q.end} · "
                                 f"score {x.score:.2f}"))
            key = f"sugg_more_{q.document_id}_{q.start}"
            if b1.button("Code it", key=f"{key}_code", type="primary"):
                made = run(lambda s, p: code_passage(s, p, member, code_id, q.document_id, q.start, q.end,
                                                     suggestion=f"more like {paths[code_id]} ({x.score:.2f})"))
                if made is not None:
                    st.session_state["sugg_flash"] = f"Coded it with {md_escape(paths[code_id])}."
                    st.rerun()
            if b2.button("Dismiss", key=f"{key}_dismiss"):
                if run(lambda s, p: dismiss_passage(s, p, member, code_id, q.document_id, q.start, q.end,
                                                    suggestion=f"more like {paths[code_id]}") or True):
                    st.session_state["sugg_flash"] = "Dismissed: it will not be offered for this code again."
                    st.rerun()


def themes_view() -> None:
    """Candidate themes from the text the member has not coded, with actions."""
    c1, c2 = st.columns(2)
    unit = c1.radio("Unit of text", ["sentence", "turn"], horizontal=True, key="sugg_unit")
    layer = "own"
    if member.is_lead:
        layer = c2.radio("Learn from", ["own", "all", "consensus"], horizontal=True, key="sugg_layer",
                         help="own: your codings; all: every coder's; consensus: the adjudicated layer")
    if st.button("Find themes", key="sugg_find", type="primary") or "sugg_themes" in st.session_state:
        if st.session_state.get("sugg_for") != (unit, layer) or "sugg_themes" not in st.session_state:
            with st.spinner("Finding themes…"):
                themes = run(lambda s, p: [t for t in emergent_themes(s, p, member, unit=unit, layer=layer)],
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
            theme_box(t, themes, paths, unit)


def theme_box(t, themes, paths: dict, unit: str) -> None:
    """One candidate code: its name, why it was found, its quotes to tick, and what to do with them."""
    flag = f" (restates {t.nearest_code})" if t.restates else ""
    with st.expander(md_escape(f"{t.rank}. {t.name}{flag}"), expanded=t.rank == 1):
        if t.restates:
            st.warning(md_escape(f"This says what the code {t.nearest_code} already says (similarity "
                                 f"{t.nearest_score:.2f}): apply that code rather than a new one."))
        near = (f"nearest existing code: {t.nearest_code} (similarity {t.nearest_score:.2f})" if t.nearest_code
                else "no existing code is near")
        st.text(f"{t.units} units in {t.documents} documents, {t.participants} participants; {near}")
        if t.nearest_note:
            st.caption(md_escape(t.nearest_note))
        if t.why:
            st.text("Why found: its quotes also speak of " + ", ".join(t.why))
        key = f"sugg_{t.rank}"
        st.caption("Tick the quotes that fit; only those are coded.")
        chosen = []
        for i, q in enumerate(t.quotes):
            c1, c2 = st.columns([1, 14], vertical_alignment="top")
            if c1.checkbox(f"quote {i + 1}", key=f"{key}_q{i}", label_visibility="collapsed"):
                chosen.append(i)
            c2.text(q.text)
            c2.caption(md_escape(f"{q.document} {q.attribution}".strip()))
        qs = [(t.quotes[i].document_id, t.quotes[i].start, t.quotes[i].end) for i in chosen]
        a1, a2 = st.columns(2)
        with a1.form(f"{key}_create"):
            name = st.text_input("New code name", value=t.name, key=f"{key}_name")
            parent = st.selectbox("Place under", [None, *paths], key=f"{key}_parent",
                                  format_func=lambda cid: "(top level)" if cid is None else paths[cid])
            definition = st.text_area("Definition", value=t.draft_definition(), key=f"{key}_def")
            label = "Add code" if member.is_lead else "Propose code"
            label += f" and code {len(chosen)} ticked quote{'s' if len(chosen) != 1 else ''}" if chosen else ""
            if st.form_submit_button(label):
                got = run(lambda s, p: code_from_theme(s, p, member, name, qs, parent_id=parent,
                                                       definition=definition, suggestion=t.title))
                if got is not None:
                    st.session_state["sugg_flash"] = (
                        (f"Added the code {md_escape(name)}" if member.is_lead else
                         f"Proposed the code {md_escape(name)} (a lead accepts or rejects it)")
                        + (f"; coded {len(got[1])} quotes with it." if got[1] else "."))
                    st.session_state.pop("sugg_themes", None)
                    st.rerun()
        with a2:
            target = st.selectbox("Apply a code to the ticked quotes", list(paths), key=f"{key}_code",
                                  index=list(paths).index(t.nearest_code_id) if t.nearest_code_id in paths else 0,
                                  format_func=lambda cid: paths[cid]) if paths else None
            if st.button("Apply", key=f"{key}_apply", disabled=not (target and chosen)):
                made = run(lambda s, p: apply_to_quotes(s, p, member, target, qs, suggestion=t.title))
                if made is not None:
                    st.session_state["sugg_flash"] = f"Coded {len(made)} quotes with {md_escape(paths[target])}."
                    st.session_state.pop("sugg_themes", None)
                    st.rerun()
            if st.button("Dismiss theme", key=f"{key}_dismiss"):
                # the action returns nothing: True marks success (run gives None on a refusal)
                if run(lambda s, p: dismiss_theme(s, p, member, list(t.label), unit=unit) or True):
                    st.session_state["sugg_themes"] = [x for x in themes if x.rank != t.rank]
                    st.session_state["sugg_flash"] = "Dismissed; it will not be suggested to you again."
                    st.rerun()


view = st.radio("View", ["Themes", "Keyphrases", "More like a code"], horizontal=True, key="sugg_view",
                help="Themes: candidate new codes from the text you have not coded. Keyphrases: what sets each "
                     "document or participant group apart. More like a code: uncoded sentences like a code.")
{"Themes": themes_view, "Keyphrases": keyphrase_view, "More like a code": more_view}[view]()


# --- proposals (leads decide) -----------------------------------------------------------
proposals = run(lambda s, p: [(c.id, c.name, c.definition) for c in proposed_codes(s, p, member)],
                write=False) or []
if proposals:
    st.subheader("Proposed codes")
    for cid, name, definition in proposals:
        st.text(f"{name}: {definition}")
        if member.is_lead:
            b1, b2 = st.columns(2)
            for col, accept, word in ((b1, True, "Accept"), (b2, False, "Reject")):
                if col.button(f"{word} {md_escape(name)}", key=f"sugg_{word}_{cid}"):
                    if run(lambda s, p, cid=cid, accept=accept: decide_proposed_code(s, p, member, cid, accept)
                           or True):
                        st.session_state["sugg_flash"] = f"{word}ed the code {md_escape(name)}."
                        st.rerun()
