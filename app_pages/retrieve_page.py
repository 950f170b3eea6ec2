"""Retrieve: coded excerpts by code and filters, matrices, corpus search, exports.

Everything comes from coding.exporting (the excerpts query applies the blind rule:
in an open blind round a coder retrieves only their own codings). Transcript text,
memos and quotes reach the page through st.text and st.dataframe only; names typed
or imported by users go through ``md_escape`` wherever Streamlit renders Markdown.
Selectbox options are ids with a format_func. Keys are prefixed ``retrieve_``.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app_pages.common import require_member, store
from app_pages.downloads import download_button
from app_pages.plain import md_escape
from coding.codebook.tree import visible_code_tree
from coding.work.codings import apply_codes
from coding.work.documents import list_documents
from coding.errors import CodingError
from coding.exporting.excerpts import (DEFAULT_TEMPLATE, excerpt_context, excerpts, project_template,
                                       set_attribution_template)
from coding.exporting.quote_bank import BankOptions
from coding.exporting.quotes import MODE_LABELS, QUOTE_MODES
from coding.exporting.table import GUARD_NOTE, SPLIT_NOTE
from coding.exporting.exports import WHAT_FORMATS, Filters, MatrixSpec, build_matrix, export
from coding.exporting.pseudonyms import Pseudonyms, ner_candidates, parse_pseudonyms
from coding.exporting.search import search_corpus
from coding.team.projects import get_project
from coding.team.members import members
from coding.work.lookups import attribute_values, document_by_id
from coding.work.rounds import list_rounds

S = st.session_state
SHOWN = 30  # excerpts shown with context; the table holds them all

ctx = require_member()
if ctx is None:
    st.stop()
project_name, member = ctx
st.title("Retrieve")

flash = S.pop("retrieve_flash", None)
if flash:
    st.success(flash)

with store().session(write=False) as s:
    project = get_project(s, project_name)
    tree = visible_code_tree(s, project, member)  # another coder's proposals left out
    codes = {i.id: i.path for i in tree.infos}
    docs = {d.id: d.name for d in list_documents(s, project)}
    attr_values = attribute_values(s, project, member)
    people = sorted(c.name for c in members(s, project))
    rounds = [r.name for r in list_rounds(s, project)]
    project_template_text = project_template(project)

# --- filters -----------------------------------------------------------------------------

c1, c2, c3 = st.columns([3, 2, 2])
picked = c1.multiselect("Codes", list(codes), format_func=codes.get, key="retrieve_codes",
                        placeholder="All codes")
descendants = c1.checkbox("Include sub-codes", value=True, key="retrieve_descendants")
layers = ["coder", "consensus", "all", *[f"coder:{n}" for n in people]]
layer_label = {"coder": "Every coder's own codings", "consensus": "Consensus", "all": "All layers",
               **{f"coder:{n}": f"Only {n}" for n in people}}
layer = c2.selectbox("Layer", layers, format_func=layer_label.get, key="retrieve_layer")
chosen_docs = c2.multiselect("Documents", list(docs), format_func=docs.get, key="retrieve_documents",
                             placeholder="All documents")
search = c3.text_input("Text contains", key="retrieve_search")
round_name = c3.selectbox("Round", ["", *rounds], format_func=lambda r: r or "Any round", key="retrieve_round")
provenance = c3.multiselect("Provenance", ["typed", "suggested", "adjudicated", "imported"],
                            key="retrieve_provenance", placeholder="Any provenance")
attributes: dict[str, list[str]] = {}
with st.expander("Participant attributes", expanded=False):
    cols = st.columns(3)
    for i, name in enumerate(sorted(attr_values, key=str.casefold)):
        chosen = cols[i % 3].multiselect(md_escape(name), sorted(attr_values[name], key=str.casefold),
                                         key=f"retrieve_attr_{name}", placeholder="Any")
        if chosen:
            attributes[name] = chosen

filters = Filters(codes=list(picked), include_descendants=descendants, layer=layer,
                  documents=[docs[d] for d in chosen_docs] or None, attributes=attributes,
                  round=round_name or None, provenance=list(provenance) or None, text_search=search or None)

template_warnings: list[str] = []
try:
    with store().session(write=False) as s:
        found = excerpts(s, get_project(s, project_name), member, **filters.kwargs(), warnings=template_warnings)
except CodingError as exc:
    st.error(md_escape(str(exc)), icon=":material/error:")
    found = []
for w in template_warnings:
    st.warning(md_escape(w[0].upper() + w[1:]), icon=":material/warning:")

m1, m2, m3 = st.columns(3)
m1.metric("Excerpts", len(found))
m2.metric("Documents", len({e.document_id for e in found}))
m3.metric("Codes", len({e.code_id for e in found}))

def _pseudonyms() -> Pseudonyms | None:
    raw = S.get("retrieve_pseudonyms", "")
    return parse_pseudonyms(raw, "pseudonym list") if raw.strip() else None


def _export(what: str, fmt: str, ps: Pseudonyms | None, **kw) -> bytes:
    """Built on click (a download's data callable, run on another thread: it gets everything
    it needs as arguments, never from session state), with this page's filters and member."""
    with store().session(write=False) as s:
        return export(s, get_project(s, project_name), member, what, fmt, filters, pseudonyms=ps, **kw).data


try:
    listed, bad = _pseudonyms(), None
except CodingError as exc:
    listed, bad = None, exc

# keyed: the open tab stays open when a flash or warning above it comes or goes
tab_x, tab_m, tab_s, tab_e = st.tabs(["Excerpts", "Matrix", "Search the corpus", "Export"], key="retrieve_tabs")


def excerpt_frame(es) -> pd.DataFrame:
    return pd.DataFrame([{"code": e.code, "document": e.document, "location": e.location, "coder": e.coder,
                          "layer": e.layer, "attribution": e.attribution, "text": e.text, "memo": e.memo,
                          "start": e.start, "end": e.end} for e in es],
                        columns=["code", "text", "attribution", "document", "location", "coder", "layer", "memo",
                                 "start", "end"])


def open_in_coding_page(document_id: str, coding_id: str | None = None) -> None:
    """Open the document on the coding page with the excerpt's coding outlined and scrolled to."""
    S["coding_doc"] = document_id
    if coding_id:
        S["coding_focus"] = [coding_id]
    st.switch_page("app_pages/coding_page.py")


with tab_x:
    if not found:
        st.info("No coded excerpts match these filters.")
    else:
        st.dataframe(excerpt_frame(found), hide_index=True, width="stretch", key="retrieve_table",
                     column_config={"text": st.column_config.TextColumn("text", width="large")})
        st.caption(f"Excerpts with their context (the first {min(SHOWN, len(found))} of {len(found)}):")
        with store().session(write=False) as s:
            p = get_project(s, project_name)
            contexts = [excerpt_context(s, p, member, e, 300) for e in found[:SHOWN]]
        for i, (e, (before, quote, after)) in enumerate(zip(found[:SHOWN], contexts)):
            who = "consensus" if e.layer == "consensus" else e.coder
            where = ", ".join(x for x in (e.document, e.location) if x)
            with st.expander(md_escape(f"{e.code} · {where} {e.attribution} · {who}"), expanded=False):
                st.text(quote)
                if e.memo:
                    st.text(f"Memo: {e.memo}")
                st.caption("Before")
                st.text(("…" if e.start > len(before) else "") + before)
                st.caption("After")
                st.text(after + "…")
                if st.button("Open in the coding page", key=f"retrieve_open_{i}", icon=":material/edit_note:"):
                    open_in_coding_page(e.document_id, e.coding_id)

with tab_m:
    kind = st.radio("Matrix", ["attribute", "cooccurrence", "documents"], horizontal=True, key="retrieve_mx_kind",
                    format_func={"attribute": "Code × attribute", "cooccurrence": "Code × code",
                                 "documents": "Code × document"}.get)
    spec = MatrixSpec(kind=kind)
    if kind == "attribute":
        names = sorted(attr_values, key=str.casefold)
        if names:
            k1, k2, k3 = st.columns(3)
            spec.attribute = k1.selectbox("Attribute", names, format_func=md_escape, key="retrieve_mx_attr",
                                          index=names.index("role") if "role" in names else 0)
            spec.count = k2.radio("Count", ["excerpts", "documents", "participants"], key="retrieve_mx_count",
                                  horizontal=True)
            spec.rollup = k3.checkbox("Count sub-codes for their parent", key="retrieve_mx_rollup")
    elif kind == "cooccurrence":
        spec.mode = st.radio("Codes meet when", ["overlap", "turn"], horizontal=True, key="retrieve_mx_mode",
                             format_func={"overlap": "their spans overlap", "turn": "in the same speaker turn"}.get)
    else:
        spec.rollup = st.checkbox("Count sub-codes for their parent", key="retrieve_mx_rollup_d")
    if kind == "attribute" and not attr_values:
        st.info("No participant attributes yet: import an attributes CSV on the Project page.")
    elif not found:
        st.info("No coded excerpts match these filters.")
    else:
        with store().session(write=False) as s:
            matrix = build_matrix(s, get_project(s, project_name), member, found, spec)
        frame = matrix.frame()
        st.dataframe(frame, width="stretch", key="retrieve_mx_table")
        long = pd.DataFrame(matrix.long())
        heat = alt.Chart(long).mark_rect().encode(
            x=alt.X("column:N", title=None, sort=matrix.columns),
            y=alt.Y("row:N", title=None, sort=matrix.rows),
            color=alt.Color("count:Q", scale=alt.Scale(scheme="blues")),
            tooltip=["row", "column", "count"],
        ).properties(height=22 * len(matrix.rows) + 80)
        text = alt.Chart(long).mark_text(fontSize=11).encode(
            x=alt.X("column:N", sort=matrix.columns), y=alt.Y("row:N", sort=matrix.rows), text="count:Q")
        st.altair_chart(heat + text, width="stretch", key="retrieve_mx_chart")
        st.subheader("Drill down")
        d1, d2 = st.columns(2)
        row = d1.selectbox("Row", matrix.rows, format_func=md_escape, key="retrieve_mx_row")
        col = d2.selectbox("Column", matrix.columns, format_func=md_escape, key="retrieve_mx_col")
        cell = matrix.cells.get((row, col), [])
        st.caption(f"{matrix.count(row, col)} counted; {len(cell)} excerpt(s) behind this cell")
        if cell:
            st.dataframe(excerpt_frame(cell), hide_index=True, width="stretch", key="retrieve_mx_cell")
        fx1, fx2 = st.columns(2)
        for fmt, where in ((("csv", fx1), ("xlsx", fx2)) if bad is None else ()):  # never unpseudonymised by mistake
            download_button(  # prepared on request, kept while these choices stay (app_pages/downloads.py)
                where, f"Download matrix ({fmt.upper()})",
                lambda fmt=fmt, spec=spec, ps=listed: _export("matrix", fmt, ps, matrix=spec),
                file_name=f"{project_name}-matrix.{fmt}", key=f"retrieve_mx_dl_{fmt}",
                basis=(project_name, member.id, filters, spec, listed and listed.mapping))

with tab_s:
    q = st.text_input("Find in every transcript (plain text, any case)", key="retrieve_corpus_q")
    if q.strip():
        try:
            with store().session(write=False) as s:
                hits = search_corpus(s, get_project(s, project_name), member, q)
        except CodingError as exc:
            st.error(md_escape(str(exc)))
            hits = []
        st.caption(f"{len(hits)} hit(s)" + (" (the first 500)" if len(hits) >= 500 else ""))
        if hits:
            st.dataframe(pd.DataFrame([{"document": h.document, "speaker": h.speaker, "before": h.before,
                                        "hit": h.match, "after": h.after, "start": h.start} for h in hits]),
                         hide_index=True, width="stretch", key="retrieve_hits")
            st.subheader("Code a hit")
            h1, h2 = st.columns(2)
            which = h1.selectbox("Hit", range(len(hits)), key="retrieve_hit_pick",
                                 format_func=lambda i: md_escape(f"{i + 1}. {hits[i].document} at {hits[i].start}"))
            codable = [i.id for i in tree.infos if i.codable]
            code_id = h2.selectbox("Code", codable, format_func=codes.get, key="retrieve_hit_code")
            st.text(hits[which].before + "[" + hits[which].match + "]" + hits[which].after)
            if st.button("Code this hit", key="retrieve_hit_apply", type="primary"):
                try:
                    hit = hits[which]
                    def code_hit(s):
                        p = get_project(s, project_name)
                        apply_codes(s, p, member, document_by_id(s, p, member, hit.document_id), [code_id],
                                    hit.start, hit.end)
                    store().run(code_hit)
                    S["retrieve_flash"] = "Coded the hit (widen it on the coding page if needed)."
                    st.rerun()
                except CodingError as exc:
                    st.error(md_escape(str(exc)))


def save_template() -> None:
    """Callback of the lead's template form: the engine checks, stores and logs it."""
    try:
        saved = store().run(lambda s: set_attribution_template(s, get_project(s, project_name), member,
                                                               S.get("retrieve_template", "")))
        S["retrieve_flash"] = md_escape(f"Attribution template saved: {saved}")
    except CodingError as exc:
        S["retrieve_template_error"] = str(exc)


with tab_e:
    if member.is_lead:
        with st.form("retrieve_template_form", border=False):
            t1, t2 = st.columns([4, 1], vertical_alignment="bottom")
            t1.text_input("Attribution template (fields in braces; empty: the default)",
                          value=project_template_text, key="retrieve_template",
                          help=f"Fields: {{document}}, {{speaker}}, {{turn}} and the attribute columns "
                               f"({', '.join('{' + n + '}' for n in sorted(attr_values, key=str.casefold)) or 'none yet'})."
                               f" The default is {DEFAULT_TEMPLATE}. A field a document lacks is left out of its "
                               "quotes, with a warning.")
            t2.form_submit_button("Save template", on_click=save_template, key="retrieve_template_save")
        if err := S.pop("retrieve_template_error", None):
            st.error(md_escape(err))
    else:
        st.caption(md_escape(f"Attribution template: {project_template_text} (each quote is attributed by its "
                             "document, speaker, turn and participant attributes; a lead sets it)."))
    st.text_area("Pseudonyms: one 'real name,pseudonym' per line (applied to the exported files only)",
                 key="retrieve_pseudonyms", height=100, placeholder="José,Teacher A\nEscuela Las Lomas,School II_4")
    if bad is not None:
        st.error(md_escape(str(bad)))
    if st.button("Find names to review (spaCy, English transcripts)", key="retrieve_ner"):
        texts = [e.text for e in found[:2000]]
        S["retrieve_ner_found"] = ner_candidates(texts, "en", known=(listed.mapping if listed else {}))
    if S.get("retrieve_ner_found"):
        st.caption("Names spaCy found that the list does not hold yet: add those to hide.")
        st.dataframe(pd.DataFrame(S["retrieve_ner_found"], columns=["name", "kind", "times"]),
                     hide_index=True, key="retrieve_ner_table")
    st.markdown("**Quote bank**")
    q1, q2 = st.columns([2, 3])
    quote_mode = q1.radio("Quotes", QUOTE_MODES, key="retrieve_quote_mode", format_func=MODE_LABELS.get,
                          help="Two coders' overlapping codings of one code are one passage: merged into their "
                               "union, coders listed. 'Auto' takes the consensus layer in documents a lead "
                               "adjudicated. The file's cover line says which was used.")
    memos = BankOptions(memos=q2.checkbox("Memos (coding memos under each quote, document memos at the end)",
                                          key="retrieve_memos"),
                        toc=q2.checkbox("Table of contents", key="retrieve_toc"),
                        other_codes=q2.checkbox("Other codes on each quote's passage", key="retrieve_other_codes"),
                        variables=q2.checkbox("Document variables (participant attributes) under each quote",
                                              key="retrieve_variables"))
    st.caption(md_escape(GUARD_NOTE + " XLSX: " + SPLIT_NOTE))
    if bad is None:
        st.caption(f"{len(found)} excerpt(s) with the filters above" + ("; pseudonymised" if listed else ""))
        buttons = [("excerpts", f) for f in WHAT_FORMATS["excerpts"]] + [("quotes", "docx")] + \
                  [("codebook", f) for f in WHAT_FORMATS["codebook"]]
        label = {"excerpts": "Excerpts", "quotes": "Quote bank", "codebook": "Codebook appendix"}
        cols = st.columns(4)
        for i, (what, fmt) in enumerate(buttons):
            download_button(  # prepared on request, kept while these choices stay (app_pages/downloads.py)
                cols[i % 4], f"{label[what]} ({fmt.upper()})",
                lambda what=what, fmt=fmt, ps=listed, bank=memos, mode=quote_mode: _export(
                    what, fmt, ps, bank=bank, quotes=mode),
                file_name=f"{project_name}-{what}.{fmt}", key=f"retrieve_dl_{what}_{fmt}",
                basis=(project_name, member.id, filters, listed and listed.mapping, memos, quote_mode,
                       project_template_text))
