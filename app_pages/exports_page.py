"""Exports: the segment table for SPSS/R, the framework matrix and coded documents as Word
files (issue 16, item 8), as the CLI's ``export segments|framework|document`` writes them.

Files come from coding.exporting.coded_exports.export_coded, built on click (a download's
data callable gets everything as arguments, never from session state), as the signed-in
member sees the project: in an open blind round a coder exports only their own codings.
Names typed or imported by users go through ``md_escape`` wherever Streamlit renders
Markdown. Keys are prefixed ``exports_``.
"""

from __future__ import annotations

import streamlit as st

from app_pages.common import require_member, store
from app_pages.downloads import download_button
from app_pages.plain import md_escape
from coding.codebook.tree import visible_code_tree
from coding.errors import CodingError
from coding.exporting.coded_exports import CODED_FORMATS, export_coded
from coding.exporting.excerpts import excerpts
from coding.exporting.exports import Filters
from coding.team.members import members
from coding.team.projects import get_project
from coding.team.visibility import visibility
from coding.work.documents import list_documents
from coding.work.lookups import attribute_values

ctx = require_member()
if ctx is None:
    st.stop()
project_name, member = ctx
st.title("Exports")

with store().session(write=False) as s:
    project = get_project(s, project_name)
    tree = visible_code_tree(s, project, member)  # another coder's proposals left out
    codes = [i.path for i in tree.infos]
    docs = [d.name for d in list_documents(s, project)]
    attr_values = attribute_values(s, project, member)
    people = sorted(c.name for c in members(s, project))
    restricted = visibility(s, member).restricted

if restricted:
    st.info("A blind round is open: your files hold only your own codings on its documents until a lead "
            "reveals it.", icon=":material/visibility_off:")

# --- filters -----------------------------------------------------------------------------

c1, c2 = st.columns([3, 2])
picked = c1.multiselect("Codes", codes, key="exports_codes", placeholder="All codes")
descendants = c1.checkbox("Include sub-codes", value=True, key="exports_descendants")
layers = ["coder", "consensus", "all", *[f"coder:{n}" for n in people]]
layer_label = {"coder": "Every coder's own codings", "consensus": "Consensus", "all": "All layers",
               **{f"coder:{n}": f"Only {n}" for n in people}}
layer = c2.selectbox("Layer", layers, format_func=layer_label.get, key="exports_layer")
chosen_docs = c2.multiselect("Documents", docs, key="exports_documents", placeholder="All documents")
attributes: dict[str, list[str]] = {}
if attr_values:
    with st.expander("Participant attributes", expanded=False):
        cols = st.columns(3)
        for i, name in enumerate(sorted(attr_values, key=str.casefold)):
            chosen = cols[i % 3].multiselect(md_escape(name), sorted(attr_values[name], key=str.casefold),
                                             key=f"exports_attr_{name}", placeholder="Any")
            if chosen:
                attributes[name] = chosen
filters = Filters(codes=list(picked), include_descendants=descendants, layer=layer,
                  documents=list(chosen_docs) or None, attributes=attributes)

try:
    with store().session(write=False) as s:
        found = excerpts(s, get_project(s, project_name), member, **(filters.kwargs() | {"template": ""}))
except CodingError as exc:
    st.error(md_escape(str(exc)), icon=":material/error:")
    st.stop()
m1, m2, m3 = st.columns(3)
m1.metric("Codings", len(found))
m2.metric("Documents coded", len({e.document_id for e in found}))
m3.metric("Coders", len({e.coder for e in found}))


def _file(what: str, fmt: str, filters: Filters, names: str = "paths") -> bytes:
    """Built on click, on another thread: everything it needs comes as arguments."""
    with store().session(write=False) as s:
        return export_coded(s, get_project(s, project_name), member, what, fmt, filters, names=names).data


SECTIONS = {
    "segments": ("Segment table", "One row per coded segment (document, attributes, coder, offsets, text) and one "
                                  "0/1 column per code: read it into SPSS, R or Stata. A column sums to the "
                                  "code's codings."),
    "framework": ("Framework matrix", "A row per document, a column per code, each cell the coded text behind it "
                                      "with its coder (NVivo's Framework Matrix). The Word file has a section "
                                      "per document."),
    "document": ("Coded documents", "Each coded document as a Word file, every coding a comment in the margin "
                                    "(its code path, by its coder) on exactly the text it codes."),
}
for what, (heading, text) in SECTIONS.items():
    st.subheader(heading)
    st.caption(text)
    names = "paths"
    if what == "segments" and st.checkbox(
            "Column names SPSS, Stata and R accept (the XLSX gets a Variables sheet mapping each to its code path)",
            key="exports_spss_names"):
        names = "spss"
    cols = st.columns(4)
    for i, fmt in enumerate(CODED_FORMATS[what]):
        download_button(  # prepared on request, kept while the filters stay (app_pages/downloads.py)
            cols[i], f"{heading} ({fmt.upper()})",
            lambda what=what, fmt=fmt, f=filters, n=names: _file(what, fmt, f, n),
            file_name=f"{project_name}-{what if what != 'document' else 'documents'}.{fmt}",
            key=f"exports_dl_{what}_{fmt}", basis=(project_name, member.id, filters, names), disabled=not found)
if not found:
    st.info("No coding matches these filters: widen them to export.")
