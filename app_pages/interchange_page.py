"""Exchange: import a REFI-QDA project or codebook (NVivo, ATLAS.ti, MAXQDA, QualCoder), or a
codebook CSV of Taguette or QualCoder, and export this project as .qdpx or its codebook as .qdc.

An import is first checked and summarised without storing anything (a dry run, once
per file); the lead then stores it. Exports are built only when asked for (a button),
then offered for download. Every rule (who may import, the blind rule on exports, positions,
safety limits) lives in coding/interchange. Names and messages reach the page as text
only. Session keys are prefixed ``exchange_``.
"""

from __future__ import annotations

import hashlib

import streamlit as st

from app_pages.common import require_member, store
from app_pages.downloads import download_button
from app_pages.plain import md_escape
from coding.errors import CodingError
from coding.interchange import TOOLS, export_qdc, export_qdpx
from coding.team.projects import get_project
from coding.team.members import members
from coding.work.staged_import import import_qdc_staged, import_qdpx_staged, imports_in_progress

ctx = require_member()
if ctx is None:
    st.stop()
project_name, member = ctx
st.title("Exchange (REFI-QDA)")
st.caption("Exchange projects and codebooks with NVivo, ATLAS.ti, MAXQDA and QualCoder.")


def _import(data: bytes, filename: str, *, lenient: bool, dry_run: bool, progress=None):
    """The import's report. It is worked out on a copy of the project (a dry run stops
    there), then stored out of sight in short transactions and moved in at once, so
    coders keep coding meanwhile (coding.work.staged_import)."""
    qdc = filename.lower().endswith((".qdc", ".csv"))  # a codebook: REFI-QDA, or Taguette's/QualCoder's CSV
    run = import_qdc_staged if qdc else import_qdpx_staged
    return run(store(), project_name, member, data, filename, lenient=lenient, dry_run=dry_run, progress=progress)


def _show(report) -> None:
    for line in report.lines():
        st.text(line)
    for w in report.warnings:
        st.warning(md_escape(w))
    if report.problems:
        st.text("Skipped (--lenient):\n" + "\n".join(report.problems[:50]))


st.subheader("Import")
with store().session(write=False) as s:
    running = imports_in_progress(s, get_project(s, project_name), member)
for job in running:
    state = "stalled (it will be removed)" if job.stalled else f"{job.rows_done:,} of {job.rows_total:,} rows stored"
    st.info(f"An import is being stored: {md_escape(job.label)} by {md_escape(job.by)}, {state}. Nothing of it "
            "is visible until it is complete.", icon="⏳")
if member.is_lead:
    up = st.file_uploader("A REFI-QDA project (.qdpx) or codebook (.qdc), or a codebook CSV exported by Taguette "
                          "or QualCoder (.csv)", type=["qdpx", "qdc", "csv"], key="exchange_upload")
    lenient = st.checkbox("Import what is valid and report the rest (lenient)", key="exchange_lenient")
    if up is not None:
        data = up.getvalue()
        # The dry run is done once per file, project and option, not on every redraw.
        key = (project_name, up.name, hashlib.sha256(data).hexdigest(), lenient)
        if st.session_state.get("exchange_summary_key") != key:
            try:
                st.session_state["exchange_summary"] = _import(data, up.name, lenient=lenient, dry_run=True)
            except CodingError as exc:
                st.session_state["exchange_summary"] = exc
            st.session_state["exchange_summary_key"] = key
        summary = st.session_state["exchange_summary"]
        done = st.session_state.get("exchange_done")
        if done is not None and done[0] == key:
            st.success("Imported.")
            _show(done[1])
        elif isinstance(summary, CodingError):
            st.error(md_escape(str(summary)))
        else:
            st.text("Summary before importing (nothing is stored yet):")
            _show(summary)
            if st.button("Import into this project", key="exchange_do_import", type="primary"):
                bar = st.progress(0.0, text="Storing the import…")
                try:
                    report = _import(data, up.name, lenient=lenient, dry_run=False, progress=lambda done, total:
                                     bar.progress(done / total, text=f"Storing the import: {done:,} of {total:,} rows"))
                except CodingError as exc:
                    st.error(md_escape(str(exc)))
                else:
                    st.session_state["exchange_done"] = (key, report)
                    if not up.name.lower().endswith((".qdc", ".csv")):  # new documents: parse them for suggestions
                        from coding.suggest.processing import start_background

                        start_background(store(), project_name, member)
                    st.rerun()
else:
    st.info("Only a lead imports projects and codebooks (they add members and codes).")

st.subheader("Export")
with store().session(write=False) as s:
    names = [c.name for c in members(s, get_project(s, project_name))]
layers = {"Whole project (every coder and the consensus)": "project", "Every coder's own codings": "coders",
          "Consensus only": "consensus", **{f"Only {n}": f"coder:{n}" for n in names}}
layer_label = st.selectbox("What to export", list(layers), key="exchange_layer")
tool_label = st.selectbox("Positions and line endings for", ["The standard (QualCoder and others)",
                                                             *(TOOLS[t] for t in TOOLS)], key="exchange_tool")
tool = next((t for t, label in TOOLS.items() if label == tool_label), None)
# Exports are built on request only (a whole project is large), for the choice made.
choice = (project_name, member.id, layers[layer_label], tool)
if st.button("Prepare the export files", key="exchange_build"):
    try:
        with store().session(write=False) as s:
            project = get_project(s, project_name)
            qdpx = export_qdpx(s, project, member, layer=layers[layer_label], for_tool=tool)
            try:
                qdc = export_qdc(s, project, member)
            except CodingError:  # no codes yet: no codebook to offer
                qdc = None
    except CodingError as exc:
        st.session_state.pop("exchange_built", None)
        st.error(md_escape(str(exc)))
    else:
        st.session_state["exchange_built"] = (choice, qdpx, qdc)
built = st.session_state.get("exchange_built")
if built is not None and built[0] == choice:
    _, qdpx, qdc = built
    download_button(st, f"Download project (.qdpx, {len(qdpx):,} bytes)", qdpx, file_name=f"{project_name}.qdpx",
                    mime="application/zip", key="exchange_dl_qdpx")  # no rerun on click (app_pages/downloads.py)
    if qdc is not None:
        download_button(st, "Download codebook (.qdc)", qdc, file_name=f"{project_name}.qdc",
                        mime="application/xml", key="exchange_dl_qdc")
elif built is not None:
    st.caption("The choice changed since the files were prepared: prepare them again.")
